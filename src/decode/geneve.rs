//! GENEVE (RFC 8926): a header with a 24-bit VNI and variable options (skipped) before an
//! Ethernet frame or an IP packet, over UDP port 6081.

use super::tunnel::Inner;
use super::{Frame, Layer, Reason, Skip, be16, be32};

mod field {
    use super::super::Field;
    /// Version (2 bits, 0) and options length in 4-byte units (6 bits).
    pub const VER_OPTLEN: usize = 0;
    /// Protocol type of the payload (an EtherType; 0x6558 for Ethernet).
    pub const PROTOCOL: Field = 2..4;
    /// VNI (24 bits) and a reserved byte.
    pub const VNI: Field = 4..8;
    /// Header length without options, bytes.
    pub const LEN: usize = 8;
}

/// Transparent Ethernet bridging: the payload is an Ethernet frame.
const PROTO_ETHERNET: u16 = 0x6558;

/// Reads the GENEVE header at the start of `sub`: the VNI and where the payload starts.
pub(super) fn geneve(sub: &Frame<'_>) -> Result<(Option<u32>, Inner), Skip> {
    let h = sub.header(0, field::LEN, Layer::Geneve)?;
    if h[field::VER_OPTLEN] >> 6 != 0 {
        return Err(Skip::Malformed(Layer::Geneve, Reason::BadVersion));
    }
    let len = field::LEN + (h[field::VER_OPTLEN] & 0x3f) as usize * 4;
    sub.header(0, len, Layer::Geneve)?;
    let vni = Some(be32(h, field::VNI) >> 8);
    // A valid header makes the datagram GENEVE whatever it carries (Zeek confirms the analyzer
    // before it forwards the payload): a payload that is no IP packet (ARP, another EtherType,
    // nothing) leaves the datagram a GENEVE endpoints' flow.
    match be16(h, field::PROTOCOL) {
        PROTO_ETHERNET => Ok((vni, Inner::Ethernet(len))),
        et => Ok((vni, Inner::EtherType(len, et))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn geneve_options_skipped() {
        // Options length 2 words: one 8-byte option.
        let hdr = [
            0x02, 0, 0x65, 0x58, 0, 0x01, 0x00, 0, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        let f = udp_tunnel(6081, &hdr, &eth_tcp(0));
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
        let t = p.encap.layers()[0];
        assert_eq!((t.kind, t.id), (TunnelKind::Geneve, Some(256)));
    }

    #[test]
    fn geneve_ip_payload() {
        let mut inner = ipv4_hdr(ipproto::TCP, 40);
        inner.extend(tcp_hdr(tcpflags::SYN));
        let f = udp_tunnel(6081, &[0, 0, 0x08, 0x00, 0, 0, 9, 0], &inner);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.encap.layers()[0].id, Some(9));
    }

    #[test]
    fn geneve_bad_version_options_past_end_other_payload() {
        // Not GENEVE: the datagram is plain UDP.
        for hdr in [
            vec![0x40, 0, 0x65, 0x58, 0, 0, 9, 0], // version 1
            vec![0x3f, 0, 0x65, 0x58, 0, 0, 9, 0], // 252 bytes of options
        ] {
            let f = udp_tunnel(6081, &hdr, &[]);
            let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
            assert!(p.encap.is_empty(), "{hdr:?}");
            assert_eq!(p.encap.carrier, None, "{hdr:?}");
        }
        // GENEVE carrying no IP packet (ARP; nothing at all): the datagram is the tunnel's, its
        // flow a GENEVE endpoints' flow (Zeek's service `geneve`).
        for (hdr, payload) in [
            (vec![0x00, 0, 0x08, 0x06, 0, 0, 9, 0], vec![0u8; 28]), // ARP
            (vec![0x00, 0, 0x65, 0x58, 0, 0, 9, 0], vec![]),        // empty
        ] {
            let f = udp_tunnel(6081, &hdr, &payload);
            let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
            assert!(p.encap.is_empty(), "{hdr:?}");
            assert_eq!(p.encap.carrier, Some(TunnelKind::Geneve), "{hdr:?}");
            assert!(matches!(p.transport, Transport::Udp(_)));
        }
        let sub = Frame::new(&[0x40, 0, 0x65, 0x58, 0, 0, 9, 0], false);
        assert_eq!(
            super::geneve(&sub).err(),
            Some(Skip::Malformed(Layer::Geneve, Reason::BadVersion))
        );
    }
}
