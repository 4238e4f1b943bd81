//! Cisco FabricPath (EtherType 0x8903): outer hierarchical MAC addresses (read as the Ethernet
//! addresses), the EtherType, a 2-byte forwarding tag and TTL, then the classical Ethernet
//! frame with its own addresses and EtherType.
//!
//! Format: Wireshark's `epan/dissectors/packet-cisco-fp-mim.c` (16-byte header, or 20 with an
//! 802.1ad tag before the FabricPath EtherType; the inner frame is Ethernet without FCS).

use super::{Frame, Layer, Skip, be16};

mod field {
    use super::super::Field;
    /// Forwarding tag (10 bits) and TTL (6 bits).
    pub const _FTAG_TTL: Field = 0..2;
    /// Inner destination and source MAC addresses.
    pub const _INNER_ADDRS: Field = 2..14;
    /// Inner EtherType.
    pub const ETHERTYPE: Field = 14..16;
    /// Length after the FabricPath EtherType, bytes.
    pub const LEN: usize = 16;
}

/// Reads the FabricPath tag and inner Ethernet header at `off` (after the 0x8903 EtherType);
/// returns the inner payload's offset and EtherType.
pub(super) fn tag(frame: &Frame<'_>, off: usize) -> Result<(usize, u16), Skip> {
    let h = frame.header(off, field::LEN, Layer::FabricPath)?;
    Ok((off + field::LEN, be16(h, field::ETHERTYPE)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn inner_frame_and_cut() {
        let mut f = eth(0x8903);
        f.extend([0x00, 0x3f]); // FTag 0, TTL 63
        f.extend(eth(0x0800));
        f.extend(ipv4_hdr(ipproto::TCP, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        assert!(decode(linktype::ETHERNET, &f, f.len() as u32).is_ok());
        assert_eq!(
            decode(linktype::ETHERNET, &f[..20], f.len() as u32).unwrap_err(),
            Skip::Truncated(Layer::FabricPath)
        );
    }
}
