//! Linux netfilter NFLOG (LINKTYPE_NFLOG 239): a 4-byte header (address family, version,
//! resource id), then type-length-value attributes; NFULA_PAYLOAD holds the IP packet.
//!
//! Format: libpcap's `pcap/nflog.h` and the tcpdump.org LINKTYPE_NFLOG page (TLV length and
//! type in the capturing host's byte order, length counting the 4-byte TLV header, TLVs padded
//! to 4 bytes, type 9 NFULA_PAYLOAD), and Wireshark's `epan/dissectors/packet-nflog.c`, which
//! also masks the type with 0x7fff and guesses the byte order when the file does not say.

use super::{Frame, Layer, Opaque, Packet, Reason, Skip, VlanStack, be16, ipv4, ipv6, le16};

mod field {
    use super::super::Field;
    /// Address family: AF_INET (2) or AF_INET6 (10).
    pub const FAMILY: usize = 0;
    /// Version (0).
    pub const VERSION: usize = 1;
    /// Resource id: the NFLOG group, network byte order.
    pub const _RESOURCE_ID: Field = 2..4;
    /// Header length, bytes.
    pub const LEN: usize = 4;

    /// One TLV.
    pub mod tlv {
        use super::Field;
        /// Length, the 4-byte TLV header included, bytes (host byte order).
        pub const LENGTH: Field = 0..2;
        /// Type, low 15 bits (host byte order).
        pub const TYPE: Field = 2..4;
        /// TLV header length, bytes; TLVs are padded to a multiple of it.
        pub const LEN: usize = 4;
    }
}

/// The TLV holding the packet.
const NFULA_PAYLOAD: u16 = 9;
/// Linux address families.
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// Decodes an NFLOG record.
pub(super) fn nflog(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, field::LEN, Layer::Nflog)?;
    let family = h[field::FAMILY];
    if h[field::VERSION] != 0 {
        return Err(Skip::Malformed(Layer::Nflog, Reason::BadVersion));
    }
    if family != AF_INET && family != AF_INET6 {
        return Err(Skip::NotIpFamily(u32::from(family)));
    }
    let mut off = field::LEN;
    // TLV types are small numbers: read the wrong way round, the first one is 0x100 or more.
    let mut big_endian = None;
    loop {
        if off >= frame.data.len() && !frame.cut {
            return Err(Skip::Opaque(Layer::Nflog, Opaque::NoPayload));
        }
        let t = frame.header(off, field::tlv::LEN, Layer::Nflog)?;
        let be = *big_endian.get_or_insert(le16(t, field::tlv::TYPE) & 0x7fff > 0xff);
        let read = |r| if be { be16(t, r) } else { le16(t, r) };
        let len = read(field::tlv::LENGTH) as usize;
        if len < field::tlv::LEN {
            return Err(Skip::Malformed(Layer::Nflog, Reason::BadHeaderLength));
        }
        if read(field::tlv::TYPE) & 0x7fff == NFULA_PAYLOAD {
            let start = off + field::tlv::LEN;
            // The packet ends where the TLV says, or with the frame.
            let on_wire = wire.saturating_sub(start);
            let trailer = on_wire.saturating_sub(len - field::tlv::LEN);
            let (inner, wire) = frame.inner(start, wire, trailer);
            let vlan = VlanStack::default();
            return if family == AF_INET {
                ipv4::ipv4(&inner, wire, 0, vlan)
            } else {
                ipv6::ipv6(&inner, wire, 0, vlan)
            };
        }
        if off + len > frame.data.len() && !frame.cut {
            // A TLV that runs past the record.
            return Err(Skip::Malformed(Layer::Nflog, Reason::BadHeaderLength));
        }
        off += len.next_multiple_of(field::tlv::LEN);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    /// A TLV of type `t` holding `value`, in little- or big-endian order, padded.
    fn tlv(t: u16, value: &[u8], be: bool) -> Vec<u8> {
        let len = (4 + value.len()) as u16;
        let mut v = if be {
            [len.to_be_bytes(), t.to_be_bytes()].concat()
        } else {
            [len.to_le_bytes(), t.to_le_bytes()].concat()
        };
        v.extend(value);
        v.resize(v.len().next_multiple_of(4), 0);
        v
    }

    fn record(family: u8, be: bool, packet: &[u8]) -> Vec<u8> {
        let mut f = vec![family, 0, 0, 5];
        f.extend(tlv(1, &[0x08, 0x00, 3, 0], be)); // NFULA_PACKET_HDR
        f.extend(tlv(10, b"flowaudit\0", be)); // NFULA_PREFIX, padded
        f.extend(tlv(9, packet, be));
        f
    }

    #[test]
    fn payload_in_both_byte_orders() {
        let mut pkt = ipv4_hdr(ipproto::TCP, 43);
        pkt.extend(tcp_hdr(tcpflags::SYN));
        pkt.extend([1, 2, 3]); // 43 bytes: the TLV is padded by 1
        for be in [false, true] {
            let f = record(2, be, &pkt);
            let p = decode(linktype::NFLOG, &f, f.len() as u32).unwrap();
            assert_eq!(tcp_of(&p).payload_len, 3);
            assert_eq!(p.ip_len, 43);
        }
        let mut pkt = ipv6_hdr(ipproto::TCP, 20);
        pkt.extend(tcp_hdr(tcpflags::SYN));
        let f = record(10, false, &pkt);
        assert!(decode(linktype::NFLOG, &f, f.len() as u32).unwrap().v6);
    }

    #[test]
    fn zero_total_length_takes_the_tlv_length() {
        let mut pkt = ipv4_hdr(ipproto::TCP, 0);
        pkt.extend(tcp_hdr(tcpflags::SYN));
        pkt.push(7); // 41 bytes, padded to 44 in the record
        let f = record(2, false, &pkt);
        let p = decode(linktype::NFLOG, &f, f.len() as u32).unwrap();
        assert_eq!(p.ip_len, 41);
    }

    #[test]
    fn other_family_no_payload_and_bad_tlv() {
        let f = [7u8, 0, 0, 1];
        assert_eq!(
            decode(linktype::NFLOG, &f, 4).unwrap_err(),
            Skip::NotIpFamily(7)
        );
        let f = [2u8, 1, 0, 1];
        assert_eq!(
            decode(linktype::NFLOG, &f, 4).unwrap_err(),
            Skip::Malformed(Layer::Nflog, Reason::BadVersion)
        );
        let mut f = vec![2u8, 0, 0, 1];
        f.extend(tlv(10, b"x\0", false));
        assert_eq!(
            decode(linktype::NFLOG, &f, f.len() as u32).unwrap_err(),
            Skip::Opaque(Layer::Nflog, Opaque::NoPayload)
        );
        let f = [2u8, 0, 0, 1, 2, 0, 9, 0];
        assert_eq!(
            decode(linktype::NFLOG, &f, 8).unwrap_err(),
            Skip::Malformed(Layer::Nflog, Reason::BadHeaderLength)
        );
        let f = [2u8, 0, 0, 1, 12, 0, 10, 0, 0, 0, 0, 0];
        assert_eq!(
            decode(linktype::NFLOG, &f, 12).unwrap_err(),
            Skip::Malformed(Layer::Nflog, Reason::BadHeaderLength)
        );
        let f = [2u8, 0, 0, 1, 8, 0];
        assert_eq!(
            decode(linktype::NFLOG, &f, 60).unwrap_err(),
            Skip::Truncated(Layer::Nflog)
        );
    }
}
