//! VXLAN (RFC 7348): an 8-byte header with a 24-bit network identifier (VNI) before an
//! Ethernet frame, over UDP port 4789 (and the ports the decoder settings add).

use super::tunnel::Inner;
use super::{Frame, Layer, Reason, Skip, be32};

mod field {
    use super::super::Field;
    /// Flags: I (0x08) says the VNI is valid; the others are reserved.
    pub const FLAGS: usize = 0;
    /// VNI (24 bits) and a reserved byte.
    pub const VNI: Field = 4..8;
    /// Header length, bytes.
    pub const LEN: usize = 8;
}

/// The I flag of [`field::FLAGS`].
const FLAG_I: u8 = 0x08;

/// Reads the VXLAN header at the start of `sub`: the VNI and where the Ethernet frame starts.
pub(super) fn vxlan(sub: &Frame<'_>) -> Result<(Option<u32>, Inner), Skip> {
    let h = sub.header(0, field::LEN, Layer::Vxlan)?;
    if h[field::FLAGS] & FLAG_I == 0 {
        return Err(Skip::Malformed(Layer::Vxlan, Reason::UnknownPayload));
    }
    let vni = be32(h, field::VNI) >> 8;
    Ok((Some(vni), Inner::Ethernet(field::LEN)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn vxlan_vni_and_inner_tcp() {
        let f = udp_tunnel(4789, &[0x08, 0, 0, 0, 0, 0, 42, 0], &eth_tcp(3));
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).payload_len, 3);
        let t = p.encap.layers()[0];
        assert_eq!((t.kind, t.id), (TunnelKind::Vxlan, Some(42)));
        assert_eq!((t.src_port, t.dst_port), (50000, 4789));
        assert_eq!(t.ip_len as usize, f.len() - 14);
        assert_eq!(t.payload_len as usize, f.len() - 14 - 28);
    }

    #[test]
    fn vxlan_other_port_only_when_configured() {
        let f = udp_tunnel(8472, &[0x08, 0, 0, 0, 0, 0, 42, 0], &eth_tcp(3));
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert!(p.encap.is_empty());
        let cfg = Settings {
            tunnels: TunnelConfig::with_vxlan_ports(&[8472]).unwrap(),
            ..Settings::DEFAULT
        };
        let p = decode_with(linktype::ETHERNET, &f, f.len() as u32, &cfg).unwrap();
        assert_eq!(p.encap.layers()[0].kind, TunnelKind::Vxlan);
    }

    #[test]
    fn vxlan_without_i_flag_or_short_is_the_outer_datagram() {
        let f = udp_tunnel(4789, &[0, 0, 0, 0, 0, 0, 42, 0], &eth_tcp(3));
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert!(p.encap.is_empty());
        assert!(matches!(p.transport, Transport::Udp(u) if u.dst_port == 4789));
        let f = udp_tunnel(4789, &[0x08, 0, 0], &[]);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert!(p.encap.is_empty());
    }

    #[test]
    fn vxlan_non_ip_inner_is_the_outer_datagram() {
        let mut arp = eth(ethertype::ARP);
        arp.extend([0; 28]);
        let f = udp_tunnel(4789, &[0x08, 0, 0, 0, 0, 0, 42, 0], &arp);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert!(p.encap.is_empty());
        assert_eq!(p.encap.carrier, Some(TunnelKind::Vxlan));
        assert!(matches!(p.transport, Transport::Udp(u) if u.dst_port == 4789));
    }
}
