//! IEEE 802.1ah provider backbone bridging (I-TAG, EtherType 0x88e7): the I-TAG, then the
//! customer's destination and source MAC addresses and EtherType. The backbone VLAN tag (B-TAG,
//! 0x88a8) before it is an ordinary tag of the VLAN stack.
//!
//! Format: IEEE Std 802.1Q-2018 section 9.7 (I-TAG: priority, drop eligible, use customer
//! addresses, reserved, 24-bit I-SID, then C-DA and C-SA), as Wireshark's
//! `epan/dissectors/packet-ieee8021ah.c` reads it.

use super::{Frame, Layer, Skip, be16};

mod field {
    use super::super::Field;
    /// I-PCP, I-DEI, UCA, reserved (1 byte), I-SID (3 bytes).
    pub const _ITAG: Field = 0..4;
    /// Customer destination and source MAC addresses.
    pub const _CUSTOMER_ADDRS: Field = 4..16;
    /// Customer EtherType.
    pub const ETHERTYPE: Field = 16..18;
    /// Length after the I-TAG EtherType, bytes.
    pub const LEN: usize = 18;
}

/// Reads the I-TAG and customer header at `off` (after the 0x88e7 EtherType); returns the
/// customer payload's offset and EtherType.
pub(super) fn itag(frame: &Frame<'_>, off: usize) -> Result<(usize, u16), Skip> {
    let h = frame.header(off, field::LEN, Layer::Pbb)?;
    Ok((off + field::LEN, be16(h, field::ETHERTYPE)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn backbone_tag_itag_customer_vlan() {
        let mut f = eth(0x88a8);
        f.extend([0x00, 0x64, 0x88, 0xe7]); // B-TAG VLAN 100, then I-TAG
        f.extend([0x00, 0x01, 0x00, 0x01]); // I-SID 65537
        f.extend([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]); // customer addresses
        f.extend([0x81, 0x00, 0x00, 0x0a, 0x08, 0x00]); // C-TAG VLAN 10, IPv4
        f.extend(ipv4_hdr(ipproto::TCP, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.vlan.ids(), &[100, 10]);
        assert_eq!(
            decode(linktype::ETHERNET, &f[..30], f.len() as u32).unwrap_err(),
            Skip::Truncated(Layer::Pbb)
        );
    }
}
