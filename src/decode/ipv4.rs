//! IPv4 (RFC 791): header, length checks and fragments.

use super::ip::{self, FragHdr, Ip};
use super::{Addr, Frame, Layer, Packet, Reason, Skip, VlanStack, be16};

mod field {
    use super::super::Field;
    /// Version (4 bits) and header length in 32-bit words (4 bits).
    pub const VER_IHL: usize = 0;
    /// Total length of the packet, header included, bytes.
    pub const LENGTH: Field = 2..4;
    /// Identification: the datagram a fragment belongs to.
    pub const IDENT: Field = 4..6;
    /// Flags (3 bits: reserved, don't fragment, more fragments) and fragment offset in 8-byte
    /// units (13 bits).
    pub const FLG_OFF: Field = 6..8;
    /// The more-fragments flag in [`FLG_OFF`].
    pub const MF: u16 = 0x2000;
    /// The fragment offset bits in [`FLG_OFF`], 8-byte units.
    pub const OFFSET: u16 = 0x1fff;
    /// Protocol of the payload.
    pub const PROTOCOL: usize = 9;
    /// Source address.
    pub const SRC: Field = 12..16;
    /// Destination address.
    pub const DST: Field = 16..20;
    /// Header length without options, bytes.
    pub const MIN_LEN: usize = 20;
}

/// Decodes the IPv4 packet at `off` and its transport header.
pub(super) fn ipv4(
    frame: &Frame<'_>,
    wire: usize,
    off: usize,
    vlan: VlanStack,
) -> Result<Packet, Skip> {
    let ip = parse(frame, wire, off)?;
    ip::transport(frame, ip, vlan)
}

/// Reads the IPv4 header at `off` (`wire`: the frame's length on the wire).
pub(super) fn parse<'a>(frame: &Frame<'a>, wire: usize, off: usize) -> Result<Ip<'a>, Skip> {
    let h = frame.header(off, field::MIN_LEN, Layer::Ipv4)?;
    if h[field::VER_IHL] >> 4 != 4 {
        return Err(Skip::Malformed(Layer::Ipv4, Reason::BadVersion));
    }
    let ihl = ((h[field::VER_IHL] & 0x0f) as usize) * 4;
    if ihl < field::MIN_LEN {
        return Err(Skip::Malformed(Layer::Ipv4, Reason::BadHeaderLength));
    }
    let h = frame.header(off, ihl, Layer::Ipv4)?;
    let on_wire = wire.saturating_sub(off);
    let total = match be16(h, field::LENGTH) as usize {
        // A zero total length is what segmentation offload leaves in captures taken on the
        // sending host: the frame's own length is the packet's.
        0 => on_wire,
        t if t < ihl => return Err(Skip::Malformed(Layer::Ipv4, Reason::BadTotalLength)),
        // A packet cannot be longer than the frame that carried it (shorter is fine: padding).
        t if t > on_wire => return Err(Skip::Malformed(Layer::Ipv4, Reason::BadTotalLength)),
        t => t,
    };
    // A fragment (offset or more-fragments set; offset 0 without MF is a whole packet) goes to
    // reassembly with its data.
    let flg_off = be16(h, field::FLG_OFF);
    let frag = (flg_off & (field::MF | field::OFFSET) != 0).then(|| FragHdr {
        id: be16(h, field::IDENT) as u32,
        offset: (flg_off & field::OFFSET) as u32 * 8,
        more: flg_off & field::MF != 0,
        hdr_len: ihl as u32,
        data_off: off + ihl,
    });
    let captured = &h[ihl..h.len().min(total)];
    let dst = Addr::v4(&h[field::DST]);
    Ok(Ip {
        v6: false,
        src: Addr::v4(&h[field::SRC]),
        dst,
        // Source-route options are not read: the checksum is taken over the header's
        // destination.
        pseudo_dst: dst,
        proto: h[field::PROTOCOL],
        ip_len: total as u32,
        l4_len: (total - ihl) as u32,
        l4: captured,
        frag,
        bad_header: frame.settings.verify && !super::checksum::ipv4_header_ok(&h[..ihl]),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn ipv4_bad_version_and_ihl() {
        let mut f = eth_tcp(0);
        f[14] = 0x55; // version 5
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv4, Reason::BadVersion)
        );
        f[14] = 0x43; // IHL 3 words: shorter than the fixed header
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv4, Reason::BadHeaderLength)
        );
    }

    #[test]
    fn ipv4_total_length_checks() {
        let mut f = eth_tcp(0);
        f[16..18].copy_from_slice(&10u16.to_be_bytes()); // total 10 < header 20
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv4, Reason::BadTotalLength)
        );
        f[16..18].copy_from_slice(&500u16.to_be_bytes()); // longer than the frame
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv4, Reason::BadTotalLength)
        );
        f[16..18].copy_from_slice(&0u16.to_be_bytes()); // offload: frame length is used
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.ip_len, 40);
    }

    #[test]
    fn ipv4_fragments_go_to_reassembly() {
        let mut f = eth_tcp(4);
        f[18..20].copy_from_slice(&0x1234u16.to_be_bytes()); // identification
        f[20..22].copy_from_slice(&0x0001u16.to_be_bytes()); // offset 8 bytes, last fragment
        let want = Fragment {
            id: 0x1234,
            offset: 8,
            more: false,
            proto: ipproto::TCP,
            hdr_len: 20,
            len: 24,
            start: 34,
            end: 58,
        };
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert!(matches!(p.transport, Transport::Fragment(g) if g == want));
        assert_eq!(p.ip_len, 44);
        // First fragment: MF set, offset 0; its data is handed on too, cut by the snaplen.
        f[20..22].copy_from_slice(&0x2000u16.to_be_bytes());
        let p = decode(linktype::ETHERNET, &f[..40], f.len() as u32).unwrap();
        let want = Fragment {
            offset: 0,
            more: true,
            end: 40,
            ..want
        };
        assert!(matches!(p.transport, Transport::Fragment(g) if g == want));
        // Offset 0 without MF (DF or not) is a whole packet.
        f[20..22].copy_from_slice(&0x0000u16.to_be_bytes());
        assert!(matches!(
            decode(linktype::ETHERNET, &f, f.len() as u32)
                .unwrap()
                .transport,
            Transport::Tcp(_)
        ));
    }

    #[test]
    fn other_ip_protocols() {
        let mut f = eth(ethertype::IPV4);
        f.extend(ipv4_hdr(50, 24)); // ESP
        f.extend([0, 0, 0x08, 0x00]);
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::IpProto(50)
        );
    }
}
