//! GTP-U version 1 (3GPP TS 29.281): the user-plane tunnel of mobile cores, over UDP port 2152.
//! Only G-PDUs (message type 255) carry a user packet; extension headers are skipped.

use super::tunnel::Inner;
use super::{Frame, Layer, Reason, Skip, be16, be32};

mod field {
    use super::super::Field;
    /// Version (3 bits, 1), protocol type (1, 1 for GTP), reserved (1), extension header E (1),
    /// sequence number S (1), N-PDU number PN (1).
    pub const FLAGS: usize = 0;
    /// Message type (255: G-PDU).
    pub const MSG_TYPE: usize = 1;
    /// Length of what follows the first 8 bytes, bytes.
    pub const LENGTH: Field = 2..4;
    /// Tunnel endpoint id of the receiver.
    pub const TEID: Field = 4..8;
    /// Mandatory header length, bytes.
    pub const LEN: usize = 8;
    /// Sequence number (2), N-PDU number (1), next extension header type (1): present when any
    /// of E, S or PN is set, bytes.
    pub const OPT_LEN: usize = 4;
    /// Next extension header type, in the optional part and at the end of each extension.
    pub const NEXT_EXT: usize = 11;
}

/// Flag bits of [`field::FLAGS`].
mod flag {
    pub const VERSION_1: u8 = 0x20;
    pub const VERSION_MASK: u8 = 0xe0;
    pub const PT: u8 = 0x10;
    pub const OPTIONAL: u8 = 0x07;
}

/// The G-PDU message type.
const G_PDU: u8 = 0xff;
/// Most extension headers followed.
const MAX_EXT: usize = 16;

/// Reads the GTP-U header at the start of `sub`: the TEID and where the user packet starts.
pub(super) fn gtpu(sub: &Frame<'_>) -> Result<(Option<u32>, Inner), Skip> {
    let h = sub.header(0, field::LEN, Layer::Gtpu)?;
    let flags = h[field::FLAGS];
    if flags & flag::VERSION_MASK != flag::VERSION_1 || flags & flag::PT == 0 {
        return Err(Skip::Malformed(Layer::Gtpu, Reason::BadVersion));
    }
    if h[field::MSG_TYPE] != G_PDU {
        return Err(Skip::Malformed(Layer::Gtpu, Reason::UnknownPayload));
    }
    let end = field::LEN + be16(h, field::LENGTH) as usize;
    let teid = be32(h, field::TEID);
    let mut off = field::LEN;
    if flags & flag::OPTIONAL != 0 {
        let o = sub.header(0, field::LEN + field::OPT_LEN, Layer::Gtpu)?;
        off += field::OPT_LEN;
        let mut next = o[field::NEXT_EXT];
        let mut n = 0;
        while next != 0 {
            n += 1;
            if n > MAX_EXT {
                return Err(Skip::Malformed(Layer::Gtpu, Reason::TooManyHeaders));
            }
            // Length in 4-byte units, the length byte and the next type included.
            let e = sub.header(off, 1, Layer::Gtpu)?;
            let len = e[0] as usize * 4;
            if len == 0 {
                return Err(Skip::Malformed(Layer::Gtpu, Reason::BadHeaderLength));
            }
            let e = sub.header(off, len, Layer::Gtpu)?;
            next = e[len - 1];
            off += len;
        }
    }
    if off > end {
        return Err(Skip::Malformed(Layer::Gtpu, Reason::BadTotalLength));
    }
    Ok((Some(teid), Inner::Ip(off)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    fn ip_tcp() -> Vec<u8> {
        let mut v = ipv4_hdr(ipproto::TCP, 40);
        v.extend(tcp_hdr(tcpflags::SYN));
        v
    }

    fn gtp(flags: u8, msg: u8, opt: &[u8], inner: &[u8]) -> Vec<u8> {
        let len = (opt.len() + inner.len()) as u16;
        let mut h = vec![flags, msg];
        h.extend(len.to_be_bytes());
        h.extend([0x00, 0x0a, 0x0b, 0x0c]); // TEID
        h.extend(opt);
        h
    }

    #[test]
    fn gtpu_plain_g_pdu() {
        let inner = ip_tcp();
        let f = udp_tunnel(2152, &gtp(0x30, 0xff, &[], &inner), &inner);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
        let t = p.encap.layers()[0];
        assert_eq!((t.kind, t.id), (TunnelKind::Gtpu, Some(0x000a_0b0c)));
    }

    #[test]
    fn gtpu_extension_headers() {
        // E set: sequence, N-PDU, next type 0x85 (PDU session container), one 4-byte extension,
        // then no more.
        let opt = [0, 1, 0, 0x85, 1, 0x10, 0x05, 0x00];
        let inner = ip_tcp();
        let f = udp_tunnel(2152, &gtp(0x34, 0xff, &opt, &inner), &inner);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
    }

    #[test]
    fn gtpu_not_a_g_pdu_bad_version_bad_extension() {
        let inner = ip_tcp();
        for h in [
            gtp(0x30, 0x01, &[], &inner),                          // echo request
            gtp(0x50, 0xff, &[], &inner),                          // version 2
            gtp(0x34, 0xff, &[0, 1, 0, 0x85, 0, 0, 0, 0], &inner), // zero-length extension
        ] {
            let f = udp_tunnel(2152, &h, &inner);
            let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
            assert!(p.encap.is_empty());
            assert_eq!(p.encap.carrier, None);
        }
        // A G-PDU whose payload has no readable IP header (version 5; an IPv4 header cut
        // short) is not believed, as Zeek's GTPv1 analyzer does not confirm it: plain UDP. One
        // with a readable IP header and a broken TCP header inside is GTP-U (service gtpv1).
        let mut cut = ip_tcp();
        cut.truncate(12);
        let mut v5 = ip_tcp();
        v5[0] = 0x55;
        let mut bad_tcp = ip_tcp();
        bad_tcp[20 + 12] = 0x10; // TCP data offset 1 word
        for (payload, carrier) in [(v5, None), (cut, None), (bad_tcp, Some(TunnelKind::Gtpu))] {
            let f = udp_tunnel(2152, &gtp(0x30, 0xff, &[], &payload), &payload);
            let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
            assert!(p.encap.is_empty());
            assert!(matches!(p.transport, Transport::Udp(_)));
            assert_eq!(p.encap.carrier, carrier, "{payload:?}");
        }
        let sub = Frame::new(
            &[0x34, 0xff, 0, 8, 0, 0, 0, 1, 0, 1, 0, 0x85, 0, 0, 0, 0],
            false,
        );
        assert_eq!(
            super::gtpu(&sub).err(),
            Some(Skip::Malformed(Layer::Gtpu, Reason::BadHeaderLength))
        );
    }
}
