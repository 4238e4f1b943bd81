//! Linux cooked captures: SLL (v1) and SLL2 (v2), the pseudo link layer of the "any" device.

use super::ethernet::{VlanStack, ether_payload};
use super::{Frame, Layer, Packet, Skip, be16};

mod field {
    use super::super::Field;
    /// SLL (v1), 16 bytes.
    pub mod sll {
        use super::Field;
        /// Packet type (to us, broadcast, multicast, to another host, sent by us).
        pub const _PKTTYPE: Field = 0..2;
        /// ARPHRD_* device type.
        pub const _HATYPE: Field = 2..4;
        /// Link-layer address length, bytes.
        pub const _HALEN: Field = 4..6;
        /// Link-layer address, padded to 8 bytes.
        pub const _ADDR: Field = 6..14;
        /// Protocol: an EtherType for Ethernet-like devices.
        pub const PROTOCOL: Field = 14..16;
        /// Header length, bytes.
        pub const LEN: usize = 16;
    }
    /// SLL2 (v2), 20 bytes.
    pub mod sll2 {
        use super::Field;
        /// Protocol: an EtherType.
        pub const PROTOCOL: Field = 0..2;
        /// Reserved (zero).
        pub const _RESERVED: Field = 2..4;
        /// Interface index.
        pub const _IFINDEX: Field = 4..8;
        /// ARPHRD_* device type.
        pub const _HATYPE: Field = 8..10;
        /// Packet type.
        pub const _PKTTYPE: usize = 10;
        /// Link-layer address length, bytes.
        pub const _HALEN: usize = 11;
        /// Link-layer address, padded to 8 bytes.
        pub const _ADDR: Field = 12..20;
        /// Header length, bytes.
        pub const LEN: usize = 20;
    }
}

/// Decodes an SLL (v1) frame.
pub(super) fn sll(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, field::sll::LEN, Layer::LinuxSll)?;
    let et = be16(h, field::sll::PROTOCOL);
    ether_payload(frame, wire, field::sll::LEN, et, &mut VlanStack::default())
}

/// Decodes an SLL2 frame.
pub(super) fn sll2(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, field::sll2::LEN, Layer::LinuxSll2)?;
    let et = be16(h, field::sll2::PROTOCOL);
    ether_payload(frame, wire, field::sll2::LEN, et, &mut VlanStack::default())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    /// An IPv4/TCP SYN packet, 40 bytes.
    fn ipv4_tcp() -> Vec<u8> {
        let mut v = ipv4_hdr(ipproto::TCP, 40);
        v.extend(tcp_hdr(tcpflags::SYN));
        v
    }

    #[test]
    fn sll_ipv4_and_cut_header() {
        let mut f = vec![
            0x00, 0x00, 0x00, 0x01, 0x00, 0x06, // to us; ARPHRD_ETHER; 6-byte address
            2, 0, 0, 0, 0, 1, 0, 0, // address, padded to 8
            0x08, 0x00, // IPv4
        ];
        f.extend(ipv4_tcp());
        let p = decode(linktype::LINUX_SLL, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
        assert_eq!(
            decode(linktype::LINUX_SLL, &f[..10], f.len() as u32).unwrap_err(),
            Skip::Truncated(Layer::LinuxSll)
        );
        assert_eq!(
            decode(linktype::LINUX_SLL, &f[..10], 10).unwrap_err(),
            Skip::Malformed(Layer::LinuxSll, Reason::TooShort)
        );
    }

    #[test]
    fn sll2_vlan_ipv4_and_not_ip() {
        let mut f = vec![
            0x81, 0x00, 0x00, 0x00, // 802.1Q; reserved
            0x00, 0x00, 0x00, 0x02, // interface index 2
            0x00, 0x01, 0x00, 0x06, // ARPHRD_ETHER; to us; 6-byte address
            2, 0, 0, 0, 0, 1, 0, 0, // address, padded to 8
        ];
        f.extend([0x00, 42, 0x08, 0x00]); // VLAN 42, then IPv4
        f.extend(ipv4_tcp());
        let p = decode(linktype::LINUX_SLL2, &f, f.len() as u32).unwrap();
        assert_eq!(p.vlan.ids(), &[42]);
        f[0..2].copy_from_slice(&ethertype::ARP.to_be_bytes());
        assert_eq!(
            decode(linktype::LINUX_SLL2, &f, f.len() as u32).unwrap_err(),
            Skip::NotIp(ethertype::ARP)
        );
    }
}
