//! Ethernet II and the EtherType chain behind it: 802.1Q/802.1ad VLAN tag stacks (QinQ), Cisco
//! FabricPath, 802.1ah backbone I-TAGs and MACsec SecTAGs, then MPLS, PPPoE or IP.

use std::fmt;

use super::{Frame, Layer, Packet, Skip, be16, fabricpath, ipv4, ipv6, macsec, mpls, pbb, pppoe};

/// EtherType values this decoder follows.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86dd;
    pub const MPLS_UNICAST: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    pub const PPPOE_DISCOVERY: u16 = 0x8863;
    pub const PPPOE_SESSION: u16 = 0x8864;
    pub const QINQ: u16 = 0x88a8;
    pub const LLDP: u16 = 0x88cc;
    /// MACsec (IEEE 802.1AE).
    pub const MACSEC: u16 = 0x88e5;
    /// Provider backbone bridging I-TAG (IEEE 802.1ah).
    pub const PBB_ITAG: u16 = 0x88e7;
    /// Cisco FabricPath.
    pub const FABRICPATH: u16 = 0x8903;
    /// Pre-standard QinQ tag types still seen on switches.
    pub const QINQ_OLD1: u16 = 0x9100;
    pub const QINQ_OLD2: u16 = 0x9200;
    /// Values below this are 802.3 length fields (the frame carries LLC, not an EtherType).
    pub const MIN_ETHERTYPE: u16 = 0x0600;
}

/// Deepest VLAN tag stack kept in a flow key; deeper tags are decoded and skipped.
pub const MAX_VLANS: usize = 8;

/// The VLAN ids of a frame, outer tag first.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VlanStack {
    len: u8,
    ids: [u16; MAX_VLANS],
}

impl VlanStack {
    /// Appends an inner tag; tags past [`MAX_VLANS`] are not kept.
    pub fn push(&mut self, id: u16) {
        if (self.len as usize) < MAX_VLANS {
            self.ids[self.len as usize] = id;
            self.len += 1;
        }
    }
    /// The ids, outer first.
    pub fn ids(&self) -> &[u16] {
        &self.ids[..self.len as usize]
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for VlanStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

mod field {
    use super::super::Field;
    /// Destination MAC address.
    pub const _DST: Field = 0..6;
    /// Source MAC address.
    pub const _SRC: Field = 6..12;
    /// EtherType, or an 802.3 length below 0x0600.
    pub const ETHERTYPE: Field = 12..14;
    /// Header length, bytes.
    pub const LEN: usize = 14;

    /// One 802.1Q / 802.1ad tag, after the Ethernet addresses.
    pub mod vlan {
        use super::Field;
        /// Priority (3 bits), drop eligible (1 bit), VLAN id (12 bits).
        pub const TCI: Field = 0..2;
        /// EtherType of what follows the tag.
        pub const ETHERTYPE: Field = 2..4;
        /// Tag length, bytes.
        pub const LEN: usize = 4;
    }
}

/// Ethernet header length, bytes (an MPLS pseudowire carries one too).
pub(super) const HEADER_LEN: usize = field::LEN;

/// The EtherType of the Ethernet header at `off`.
#[inline]
pub(super) fn header(frame: &Frame<'_>, off: usize) -> Result<u16, Skip> {
    let h = frame.header(off, field::LEN, Layer::Ethernet)?;
    Ok(be16(h, field::ETHERTYPE))
}

/// Decodes an Ethernet frame.
pub(super) fn ethernet(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let et = header(frame, 0)?;
    let mut vlan = VlanStack::default();
    ether_payload(frame, wire, field::LEN, et, &mut vlan)
}

/// Follows an EtherType chain (VLAN tags, FabricPath, PBB, MACsec, MPLS labels, PPPoE) from
/// `off` to the IP header.
pub(super) fn ether_payload(
    frame: &Frame<'_>,
    wire: usize,
    mut off: usize,
    mut et: u16,
    vlan: &mut VlanStack,
) -> Result<Packet, Skip> {
    loop {
        match et {
            ethertype::IPV4 => return ipv4::ipv4(frame, wire, off, *vlan),
            ethertype::IPV6 => return ipv6::ipv6(frame, wire, off, *vlan),
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD1 | ethertype::QINQ_OLD2 => {
                // Tags of any depth are followed; the flow key keeps the first MAX_VLANS.
                let h = frame.header(off, field::vlan::LEN, Layer::Vlan)?;
                vlan.push(be16(h, field::vlan::TCI) & 0x0fff);
                et = be16(h, field::vlan::ETHERTYPE);
                off += field::vlan::LEN;
            }
            ethertype::MPLS_UNICAST | ethertype::MPLS_MULTICAST => {
                (off, et) = mpls::labels(frame, off)?;
            }
            ethertype::PPPOE_SESSION => {
                (off, et) = pppoe::session(frame, off)?;
            }
            ethertype::FABRICPATH => {
                (off, et) = fabricpath::tag(frame, off)?;
            }
            ethertype::PBB_ITAG => {
                (off, et) = pbb::itag(frame, off)?;
            }
            ethertype::MACSEC => {
                (off, et) = macsec::sectag(frame, off)?;
            }
            other => return Err(Skip::NotIp(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn ethernet_ipv4_tcp() {
        let f = eth_tcp(10);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert!(!p.v6);
        assert_eq!(p.src.to_ip(false).to_string(), "10.0.0.1");
        assert_eq!(p.dst.to_ip(false).to_string(), "10.0.0.2");
        assert_eq!(p.ip_len, 50);
        let t = tcp_of(&p);
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.ack),
            (40000, 80, 1000, 2000)
        );
        assert_eq!(t.flags, tcpflags::ACK | tcpflags::PSH);
        assert_eq!(t.window, 64240);
        assert_eq!(t.payload_len, 10);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        // A 40-byte IP packet padded to the 60-byte Ethernet minimum.
        let mut f = eth_tcp(0);
        f.extend([0u8; 6]);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.ip_len, 40);
        assert_eq!(tcp_of(&p).payload_len, 0);
    }

    #[test]
    fn vlan_qinq_stack_outer_first() {
        let mut f = eth(ethertype::QINQ);
        f.extend([0x00, 200, 0x81, 0x00]); // 802.1ad tag 200, then 802.1Q
        f.extend([0x20, 100, 0x08, 0x00]); // PCP 1, VLAN 100, then IPv4
        f.extend(ipv4_hdr(6, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.vlan.ids(), &[200, 100]);
    }

    #[test]
    fn non_ip_frames() {
        let mut f = eth(ethertype::ARP);
        f.extend([0u8; 28]);
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::NotIp(ethertype::ARP)
        );
    }
}
