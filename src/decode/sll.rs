//! Linux cooked captures: SLL (v1) and SLL2 (v2), the pseudo link layer of the "any" device.
//!
//! The protocol field is an EtherType, except where the device's ARPHRD_* type or a value below
//! 0x0600 says otherwise, as Wireshark's `epan/dissectors/packet-sll.c` reads it: radiotap
//! devices (803) carry radiotap and 802.11, GRE devices (778, 823) a GRE payload whose protocol
//! is a GRE protocol type (0x6558: an Ethernet frame), netlink devices (824) netlink messages;
//! Linux protocol 0x0004 is 802.2 LLC, 0x0007 PPP in HDLC-like framing, the others (802.3 raw
//! IPX 0x0001, CAN 0x000c, ...) carry no IP.

use super::ethernet::{self, VlanStack, ether_payload};
use super::{Frame, Layer, Packet, Skip, be16, llc, ppp, radiotap};

mod field {
    use super::super::Field;
    /// SLL (v1), 16 bytes.
    pub mod sll {
        use super::Field;
        /// Packet type (to us, broadcast, multicast, to another host, sent by us).
        pub const _PKTTYPE: Field = 0..2;
        /// ARPHRD_* device type.
        pub const HATYPE: Field = 2..4;
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
        pub const HATYPE: Field = 8..10;
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

/// ARPHRD_* device types whose frames are not EtherType-tagged packets.
mod arphrd {
    pub const IPGRE: u16 = 778;
    pub const IEEE80211_RADIOTAP: u16 = 803;
    pub const IP6GRE: u16 = 823;
    pub const NETLINK: u16 = 824;
}

/// Linux protocol numbers (protocol field values below 0x0600).
mod linux_proto {
    /// 802.2 LLC.
    pub const P_802_2: u16 = 0x0004;
    /// PPP in HDLC-like framing.
    pub const P_PPPHDLC: u16 = 0x0007;
}

/// GRE protocol type of transparent Ethernet bridging: an Ethernet frame.
const GRE_TEB: u16 = 0x6558;

/// Added to an ARPHRD_* type in [`Skip::NotIpLink`], to tell it from a Linux protocol number.
pub const HATYPE_FLAG: u32 = 0x1_0000;

/// Decodes an SLL (v1) frame.
pub(super) fn sll(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, field::sll::LEN, Layer::LinuxSll)?;
    let protocol = be16(h, field::sll::PROTOCOL);
    let hatype = be16(h, field::sll::HATYPE);
    payload(
        frame,
        wire,
        field::sll::LEN,
        hatype,
        protocol,
        Layer::LinuxSll,
    )
}

/// Decodes an SLL2 frame.
pub(super) fn sll2(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, field::sll2::LEN, Layer::LinuxSll2)?;
    let protocol = be16(h, field::sll2::PROTOCOL);
    let hatype = be16(h, field::sll2::HATYPE);
    payload(
        frame,
        wire,
        field::sll2::LEN,
        hatype,
        protocol,
        Layer::LinuxSll2,
    )
}

/// Decodes what follows a cooked header at `off`, by device type and protocol.
fn payload(
    frame: &Frame<'_>,
    wire: usize,
    off: usize,
    hatype: u16,
    protocol: u16,
    layer: Layer,
) -> Result<Packet, Skip> {
    match hatype {
        arphrd::IEEE80211_RADIOTAP => {
            let (inner, wire) = frame.inner(off, wire, 0);
            return radiotap::radiotap(&inner, wire);
        }
        arphrd::NETLINK => return Err(Skip::NotIpLink(layer, HATYPE_FLAG | u32::from(hatype))),
        arphrd::IPGRE | arphrd::IP6GRE if protocol == GRE_TEB => {
            let (inner, wire) = frame.inner(off, wire, 0);
            return ethernet::ethernet(&inner, wire);
        }
        _ => {}
    }
    if protocol < ethernet::ethertype::MIN_ETHERTYPE {
        return match protocol {
            linux_proto::P_802_2 => {
                let (off, et) = llc::snap(frame, off)?;
                ether_payload(frame, wire, off, et, &mut VlanStack::default())
            }
            linux_proto::P_PPPHDLC => ppp::ppp(frame, wire, off),
            other => Err(Skip::NotIpLink(layer, u32::from(other))),
        };
    }
    ether_payload(frame, wire, off, protocol, &mut VlanStack::default())
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

    /// An SLL (v1) header of device type `hatype` and protocol `protocol`.
    fn sll_hdr(hatype: u16, protocol: u16) -> Vec<u8> {
        let mut v = vec![0, 0];
        v.extend(hatype.to_be_bytes());
        v.extend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        v.extend(protocol.to_be_bytes());
        v
    }

    #[test]
    fn sll_non_ethernet_device_types() {
        // Radiotap device: radiotap, then 802.11 QoS data.
        let mut f = sll_hdr(803, 0x0003);
        f.extend([0, 0, 8, 0, 0, 0, 0, 0]);
        f.extend(super::super::ieee80211::tests::wlan(0x88, 0x01, &[0, 0]));
        f.extend(super::super::ieee80211::tests::snap_ipv4_tcp());
        assert!(decode(linktype::LINUX_SLL, &f, f.len() as u32).is_ok());
        // GRE device: IPv4 under its GRE protocol type, and an Ethernet frame (TEB).
        let mut f = sll_hdr(778, 0x0800);
        f.extend(ipv4_tcp());
        assert!(decode(linktype::LINUX_SLL, &f, f.len() as u32).is_ok());
        let mut f = sll_hdr(778, 0x6558);
        f.extend(eth(0x0800));
        f.extend(ipv4_tcp());
        assert!(decode(linktype::LINUX_SLL, &f, f.len() as u32).is_ok());
        // Netlink device: counted by device type.
        let f = sll_hdr(824, 0x0000);
        assert_eq!(
            decode(linktype::LINUX_SLL, &f, 16).unwrap_err(),
            Skip::NotIpLink(Layer::LinuxSll, super::HATYPE_FLAG | 824)
        );
    }

    #[test]
    fn sll_linux_protocols() {
        // 802.2 LLC/SNAP.
        let mut f = sll_hdr(1, 0x0004);
        f.extend(super::super::ieee80211::tests::snap_ipv4_tcp());
        assert!(decode(linktype::LINUX_SLL, &f, f.len() as u32).is_ok());
        // PPP in HDLC-like framing.
        let mut f = sll_hdr(512, 0x0007);
        f.extend([0xff, 0x03, 0x00, 0x21]);
        f.extend(ipv4_tcp());
        assert!(decode(linktype::LINUX_SLL, &f, f.len() as u32).is_ok());
        // CAN: counted by protocol.
        let f = sll_hdr(280, 0x000c);
        assert_eq!(
            decode(linktype::LINUX_SLL, &f, 16).unwrap_err(),
            Skip::NotIpLink(Layer::LinuxSll, 0x000c)
        );
    }
}
