//! AYIYA ("Anything In Anything"): IP in UDP over port 5072, behind a header with an identity
//! and a signature of announced lengths. Only "forward" messages (opcode 1) carry a packet.

use super::ethernet::ethertype;
use super::tunnel::Inner;
use super::{Frame, Layer, Reason, Skip, ipproto};

mod field {
    /// Identity length as a power of two (4 bits), identity type (4).
    pub const ID_LEN: usize = 0;
    /// Signature length in 4-byte units (4 bits), hash method (4).
    pub const SIG_LEN: usize = 1;
    /// Authentication method (4 bits), opcode (4).
    pub const OPCODE: usize = 2;
    /// Protocol of the payload (4: IPv4, 41: IPv6).
    pub const NEXT_HEADER: usize = 3;
    /// Fixed header length (the last 4 bytes: epoch time), bytes.
    pub const LEN: usize = 8;
}

/// The forward opcode.
const FORWARD: u8 = 1;

/// Reads the AYIYA header at the start of `sub`: where the IP packet starts.
pub(super) fn ayiya(sub: &Frame<'_>) -> Result<Inner, Skip> {
    let h = sub.header(0, field::LEN, Layer::Ayiya)?;
    let len =
        field::LEN + (1usize << (h[field::ID_LEN] >> 4)) + (h[field::SIG_LEN] >> 4) as usize * 4;
    if h[field::OPCODE] & 0x0f != FORWARD {
        return Err(Skip::Malformed(Layer::Ayiya, Reason::UnknownPayload));
    }
    let et = match h[field::NEXT_HEADER] {
        ipproto::IPIP => ethertype::IPV4,
        ipproto::IPV6 => ethertype::IPV6,
        _ => return Err(Skip::Malformed(Layer::Ayiya, Reason::UnknownPayload)),
    };
    // The header must fit, and a packet follow it.
    sub.header(0, len + 1, Layer::Ayiya)?;
    Ok(Inner::EtherType(len, et))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    /// Identity 16 bytes (2^4), signature 20 bytes (5 words), forward, next header `next`.
    fn hdr(opcode: u8, next: u8) -> Vec<u8> {
        let mut v = vec![0x41, 0x52, 0x10 | opcode, next, 0, 0, 0, 0];
        v.extend([0x11; 16 + 20]);
        v
    }

    #[test]
    fn ayiya_forward_ipv6() {
        let mut inner = ipv6_hdr(ipproto::TCP, 20);
        inner.extend(tcp_hdr(tcpflags::SYN));
        let f = udp_tunnel(5072, &hdr(1, 41), &inner);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert!(p.v6);
        assert_eq!(p.encap.layers()[0].kind, TunnelKind::Ayiya);
    }

    #[test]
    fn ayiya_not_forward_other_protocol_empty() {
        let mut inner = ipv4_hdr(ipproto::TCP, 40);
        inner.extend(tcp_hdr(tcpflags::SYN));
        for (h, payload) in [
            (hdr(2, 4), &inner[..]), // echo
            (hdr(1, 6), &inner[..]), // TCP straight in AYIYA: not followed
            (hdr(1, 4), &[][..]),    // nothing after the header
        ] {
            let f = udp_tunnel(5072, &h, payload);
            let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
            assert!(p.encap.is_empty());
        }
        let h = hdr(1, 4);
        assert_eq!(
            super::ayiya(&Frame::new(&h[..20], false)).err(),
            Some(Skip::Malformed(Layer::Ayiya, Reason::TooShort))
        );
    }
}
