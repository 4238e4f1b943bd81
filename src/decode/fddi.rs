//! FDDI (LINKTYPE_FDDI 10): frame control and two addresses, then 802.2 LLC/SNAP.
//!
//! Format: ANSI X3.139 frame layout as libpcap's `pcap-linktype(7)` and Wireshark's
//! `epan/dissectors/packet-fddi.c` read it (13-byte header: frame control, destination,
//! source; LLC frames have frame control 0x50-0x57 asynchronous or 0xd0-0xd7 synchronous).

use super::ethernet::{VlanStack, ether_payload};
use super::{Frame, Layer, Packet, Skip, llc};

mod field {
    use super::super::Field;
    /// Frame control: frame class, address length, format.
    pub const FC: usize = 0;
    /// Destination address.
    pub const _DST: Field = 1..7;
    /// Source address.
    pub const _SRC: Field = 7..13;
    /// Header length, bytes.
    pub const LEN: usize = 13;
}

/// Frame-control bits that mark an LLC frame (ignoring the synchronous bit and priority).
const FC_LLC_MASK: u8 = 0x70;
const FC_LLC: u8 = 0x50;

/// Decodes an FDDI frame.
pub(super) fn fddi(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, field::LEN, Layer::Fddi)?;
    let fc = h[field::FC];
    if fc & FC_LLC_MASK != FC_LLC || fc & 0x08 != 0 {
        // SMT, MAC and token frames, and the reserved frame-control values.
        return Err(Skip::NotIpLink(Layer::Fddi, u32::from(fc)));
    }
    let (off, et) = llc::snap(frame, field::LEN)?;
    ether_payload(frame, wire, off, et, &mut VlanStack::default())
}

#[cfg(test)]
mod tests {
    use super::super::ieee80211::tests::snap_ipv4_tcp;
    use super::super::*;

    #[test]
    fn llc_snap_ipv4_and_smt() {
        let mut f = vec![0x50];
        f.extend([0x02; 12]);
        f.extend(snap_ipv4_tcp());
        assert!(decode(linktype::FDDI, &f, f.len() as u32).is_ok());
        f[0] = 0x41; // SMT
        assert_eq!(
            decode(linktype::FDDI, &f, f.len() as u32).unwrap_err(),
            Skip::NotIpLink(Layer::Fddi, 0x41)
        );
        assert_eq!(
            decode(linktype::FDDI, &f[..12], 100).unwrap_err(),
            Skip::Truncated(Layer::Fddi)
        );
    }
}
