//! GRE (RFC 2784, keys and sequence numbers RFC 2890): the header before a tunnel's payload,
//! and what the protocol type says the payload is (IP, transparent Ethernet bridging, MPLS,
//! ERSPAN).

use super::ethernet::ethertype;
use super::tunnel::{Inner, TunnelKind};
use super::{Frame, Layer, Reason, Skip, be16, be32, erspan};

mod field {
    use super::super::Field;
    /// Flags (C R K S s, 5 bits), recursion control (3), ack present A (1), flags (4), version
    /// (3).
    pub const FLAGS_VER: Field = 0..2;
    /// Protocol type of the payload (an EtherType).
    pub const PROTOCOL: Field = 2..4;
    /// Header length without optional fields, bytes.
    pub const MIN_LEN: usize = 4;
    /// One optional field (checksum + offset, key, sequence number), bytes.
    pub const OPT_LEN: usize = 4;
}

/// Flag bits of [`field::FLAGS_VER`].
mod flag {
    /// Checksum present.
    pub const C: u16 = 0x8000;
    /// Routing present (RFC 1701; obsolete).
    pub const R: u16 = 0x4000;
    /// Key present.
    pub const K: u16 = 0x2000;
    /// Sequence number present.
    pub const S: u16 = 0x1000;
    /// Version bits.
    pub const VERSION: u16 = 0x0007;
}

/// GRE protocol types beyond the plain EtherTypes.
pub mod proto {
    /// Transparent Ethernet bridging: an Ethernet frame (gretap).
    pub const TEB: u16 = 0x6558;
    /// ERSPAN type I and II.
    pub const ERSPAN_2: u16 = 0x88be;
    /// ERSPAN type III.
    pub const ERSPAN_3: u16 = 0x22eb;
}

/// Reads the GRE header at the start of `sub`: the tunnel kind (GRE or the ERSPAN type), its
/// key or ERSPAN session id, and where the payload starts.
pub(super) fn gre(sub: &Frame<'_>) -> Result<(TunnelKind, Option<u32>, Inner), Skip> {
    let h = sub.header(0, field::MIN_LEN, Layer::Gre)?;
    let flags = be16(h, field::FLAGS_VER);
    // Version 1 is PPTP's enhanced GRE (PPP inside), not decoded; routing is obsolete.
    if flags & flag::VERSION != 0 {
        return Err(Skip::Malformed(Layer::Gre, Reason::BadVersion));
    }
    if flags & flag::R != 0 {
        return Err(Skip::Malformed(Layer::Gre, Reason::UnknownPayload));
    }
    let proto = be16(h, field::PROTOCOL);
    let mut off = field::MIN_LEN;
    if flags & flag::C != 0 {
        off += field::OPT_LEN;
    }
    let key = if flags & flag::K != 0 {
        let h = sub.header(off, field::OPT_LEN, Layer::Gre)?;
        off += field::OPT_LEN;
        Some(be32(h, 0..4))
    } else {
        None
    };
    let seq = flags & flag::S != 0;
    if seq {
        off += field::OPT_LEN;
    }
    sub.header(off, 0, Layer::Gre)?;
    Ok(match proto {
        proto::TEB => (TunnelKind::Gre, key, Inner::Ethernet(off)),
        // Type I has no sequence number and no ERSPAN header: the mirrored frame follows.
        proto::ERSPAN_2 if !seq => (TunnelKind::Erspan1, None, Inner::Ethernet(off)),
        proto::ERSPAN_2 => {
            let (session, inner) = erspan::type2(sub, off)?;
            (TunnelKind::Erspan2, Some(session), Inner::Ethernet(inner))
        }
        proto::ERSPAN_3 => {
            let (session, inner) = erspan::type3(sub, off)?;
            (TunnelKind::Erspan3, Some(session), inner)
        }
        ethertype::IPV4 | ethertype::IPV6 | ethertype::MPLS_UNICAST | ethertype::MPLS_MULTICAST => {
            (TunnelKind::Gre, key, Inner::EtherType(off, proto))
        }
        // Not an EtherType (0: a keepalive): counted as a GRE packet, as before GRE was decoded.
        other if other < ethertype::MIN_ETHERTYPE => {
            return Err(Skip::IpProto(super::ipproto::GRE));
        }
        other => return Err(Skip::NotIp(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    /// Ethernet / IPv4 (protocol 47) / `gre` / IPv4 / TCP SYN.
    fn gre_frame(gre: &[u8]) -> Vec<u8> {
        let mut inner = ipv4_hdr(ipproto::TCP, 40);
        inner.extend(tcp_hdr(tcpflags::SYN));
        let mut f = eth(ethertype::IPV4);
        f.extend(ipv4_hdr(
            ipproto::GRE,
            (20 + gre.len() + inner.len()) as u16,
        ));
        f.extend(gre);
        f.extend(inner);
        f
    }

    #[test]
    fn gre_plain_ipv4() {
        let f = gre_frame(&[0, 0, 0x08, 0x00]);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
        let t = p.encap.layers()[0];
        assert_eq!((t.kind, t.id, t.ip_len), (TunnelKind::Gre, None, 64));
    }

    #[test]
    fn gre_checksum_key_and_sequence() {
        // C, K and S: checksum+offset, key 0x01020304, sequence 7.
        let f = gre_frame(&[0xb0, 0, 0x08, 0x00, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 7]);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
        assert_eq!(p.encap.layers()[0].id, Some(0x0102_0304));
    }

    #[test]
    fn gre_transparent_ethernet_bridging() {
        let mut inner = eth(ethertype::VLAN);
        inner.extend([0, 7, 0x08, 0x00]); // inner VLAN 7
        inner.extend(ipv4_hdr(ipproto::TCP, 40));
        inner.extend(tcp_hdr(tcpflags::SYN));
        let mut f = eth(ethertype::IPV4);
        f.extend(ipv4_hdr(ipproto::GRE, (20 + 4 + inner.len()) as u16));
        f.extend([0, 0, 0x65, 0x58]);
        f.extend(&inner);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.vlan.ids(), &[7]);
        assert!(p.encap.layers()[0].vlan.is_empty());
    }

    #[test]
    fn gre_mpls_payload() {
        let mut g = vec![0, 0, 0x88, 0x47, 0x00, 0x01, 0x01, 64]; // label 16, bottom of stack
        let mut inner = ipv4_hdr(ipproto::TCP, 40);
        inner.extend(tcp_hdr(tcpflags::SYN));
        g.extend(inner);
        let mut f = eth(ethertype::IPV4);
        f.extend(ipv4_hdr(ipproto::GRE, (20 + g.len()) as u16));
        f.extend(g);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
        assert_eq!(p.encap.layers()[0].kind, TunnelKind::Gre);
    }

    #[test]
    fn gre_version_1_routing_and_other_payloads() {
        let f = gre_frame(&[0x30, 0x01, 0x88, 0x0b]); // PPTP
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Gre, Reason::BadVersion)
        );
        let f = gre_frame(&[0x40, 0, 0x08, 0x00]); // routing present
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Gre, Reason::UnknownPayload)
        );
        let f = gre_frame(&[0, 0, 0, 0]); // a keepalive: no payload protocol
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::IpProto(ipproto::GRE)
        );
        let f = gre_frame(&[0, 0, 0x08, 0x06]); // ARP
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::NotIp(0x0806)
        );
    }

    #[test]
    fn gre_cut_and_short() {
        let f = gre_frame(&[0x20, 0, 0x08, 0x00, 0, 0, 0, 1]);
        // Cut by the snaplen inside the key.
        assert_eq!(
            decode(linktype::ETHERNET, &f[..14 + 20 + 6], f.len() as u32).unwrap_err(),
            Skip::Truncated(Layer::Gre)
        );
        // A packet whose length field ends inside the key.
        let mut g = f[..14 + 20 + 6].to_vec();
        g[16..18].copy_from_slice(&26u16.to_be_bytes());
        assert_eq!(
            decode(linktype::ETHERNET, &g, g.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Gre, Reason::TooShort)
        );
    }
}
