//! IEEE 802.2 LLC and the SNAP header (RFC 1042) that carries an EtherType behind it: the payload
//! of 802.11 data frames, FDDI frames and Linux cooked captures of protocol 0x0004.
//!
//! Format: IEEE 802.2 (DSAP, SSAP, control) and RFC 1042 section "IEEE 802.2 SNAP" (OUI and
//! EtherType); Wireshark's `epan/dissectors/packet-llc.c` for the OUIs whose protocol id is an
//! EtherType.

use super::{Frame, Layer, Skip, be16};

mod field {
    use super::super::Field;
    /// Destination service access point.
    pub const DSAP: usize = 0;
    /// Source service access point.
    pub const SSAP: usize = 1;
    /// Control (0x03: unnumbered information).
    pub const CONTROL: usize = 2;
    /// LLC header length (unnumbered frames), bytes.
    pub const LEN: usize = 3;
    /// SNAP organisationally unique identifier.
    pub const OUI: Field = 3..6;
    /// SNAP protocol id: an EtherType under the OUIs below.
    pub const PID: Field = 6..8;
    /// LLC and SNAP header length, bytes.
    pub const SNAP_LEN: usize = 8;
}

/// The SAP of SNAP.
const SAP_SNAP: u8 = 0xaa;
/// Unnumbered information.
const CONTROL_UI: u8 = 0x03;
/// RFC 1042 encapsulation: the protocol id is an EtherType.
const OUI_RFC1042: u32 = 0x00_0000;
/// IEEE 802.1H bridge tunnel: also an EtherType.
const OUI_BRIDGE_TUNNEL: u32 = 0x00_00f8;

/// Reads the LLC/SNAP header at `off`; returns the offset of the payload and its EtherType.
/// Other LLC frames count as [`Skip::NotIpLink`] with their SAPs (DSAP << 8 | SSAP), SNAP with
/// another OUI with `0x1000000 | OUI`.
pub(super) fn snap(frame: &Frame<'_>, off: usize) -> Result<(usize, u16), Skip> {
    let h = frame.header(off, field::LEN, Layer::Llc)?;
    let (dsap, ssap) = (h[field::DSAP], h[field::SSAP]);
    if dsap != SAP_SNAP || ssap != SAP_SNAP || h[field::CONTROL] != CONTROL_UI {
        return Err(Skip::NotIpLink(
            Layer::Llc,
            u32::from(dsap) << 8 | u32::from(ssap),
        ));
    }
    let h = frame.header(off, field::SNAP_LEN, Layer::Llc)?;
    let oui = u32::from_be_bytes([0, h[field::OUI.start], h[4], h[5]]);
    match oui {
        OUI_RFC1042 | OUI_BRIDGE_TUNNEL => Ok((off + field::SNAP_LEN, be16(h, field::PID))),
        other => Err(Skip::NotIpLink(Layer::Llc, 0x100_0000 | other)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    fn frame(data: &[u8], cut: bool) -> Frame<'_> {
        Frame::new(data, cut)
    }

    #[test]
    fn snap_rfc1042_and_bridge_tunnel() {
        let f = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45];
        assert_eq!(snap(&frame(&f, false), 0), Ok((8, 0x0800)));
        let f = [0xaa, 0xaa, 0x03, 0, 0, 0xf8, 0x86, 0xdd];
        assert_eq!(snap(&frame(&f, false), 0), Ok((8, 0x86dd)));
    }

    #[test]
    fn other_llc_and_oui_are_not_ip() {
        // Spanning tree: SAP 0x42.
        let f = [0x42, 0x42, 0x03, 0, 0, 0, 0, 0];
        assert_eq!(
            snap(&frame(&f, false), 0),
            Err(Skip::NotIpLink(Layer::Llc, 0x4242))
        );
        // Cisco OUI (CDP).
        let f = [0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0x00];
        assert_eq!(
            snap(&frame(&f, false), 0),
            Err(Skip::NotIpLink(Layer::Llc, 0x100_000c))
        );
        // SNAP SAPs with a numbered control field.
        let f = [0xaa, 0xaa, 0x00, 0, 0, 0, 0x08, 0x00];
        assert_eq!(
            snap(&frame(&f, false), 0),
            Err(Skip::NotIpLink(Layer::Llc, 0xaaaa))
        );
    }

    #[test]
    fn cut_and_short_headers() {
        let f = [0xaa, 0xaa, 0x03, 0, 0, 0];
        assert_eq!(snap(&frame(&f, true), 0), Err(Skip::Truncated(Layer::Llc)));
        assert_eq!(
            snap(&frame(&f[..2], false), 0),
            Err(Skip::Malformed(Layer::Llc, Reason::TooShort))
        );
    }
}
