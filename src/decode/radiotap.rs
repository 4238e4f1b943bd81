//! Radiotap (LINKTYPE_IEEE802_11_RADIOTAP 127, and Linux cooked captures of ARPHRD 803): the
//! radio header before an 802.11 frame. Only its length and its flags field are read: the flags
//! say whether the frame ends with an FCS and whether the 802.11 body is padded.
//!
//! Format: the radiotap specification at radiotap.org ("Radiotap header", fields "TSFT" (bit 0,
//! 8 bytes, 8-byte aligned) and "Flags" (bit 1, 1 byte: 0x10 FCS at end, 0x20 data pad)),
//! checked against Wireshark's `epan/dissectors/packet-ieee80211-radiotap.c`.

use super::{Frame, Layer, Packet, Reason, Skip, ieee80211, le16, le32};

mod field {
    use super::super::Field;
    /// Version (0).
    pub const VERSION: usize = 0;
    /// Padding.
    pub const _PAD: usize = 1;
    /// Header length, fields included, bytes (little-endian).
    pub const LENGTH: Field = 2..4;
    /// First presence bitmap (little-endian); bit 31: another bitmap follows.
    pub const PRESENT: Field = 4..8;
    /// Fixed header length, bytes.
    pub const LEN: usize = 8;
    /// One presence bitmap, bytes.
    pub const PRESENT_LEN: usize = 4;
    /// The TSFT field, bytes (aligned to 8 from the header's start).
    pub const TSFT_LEN: usize = 8;
}

/// Presence bits.
const PRESENT_TSFT: u32 = 1 << 0;
const PRESENT_FLAGS: u32 = 1 << 1;
const PRESENT_EXT: u32 = 1 << 31;
/// Flags: the frame ends with a 4-byte FCS.
const FLAG_FCS: u8 = 0x10;
/// Flags: padding between the 802.11 header and body, to a 4-byte boundary.
const FLAG_DATAPAD: u8 = 0x20;
/// FCS length, bytes.
const FCS_LEN: usize = 4;

/// Decodes a radiotap header and the 802.11 frame behind it.
pub(super) fn radiotap(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, field::LEN, Layer::Radiotap)?;
    if h[field::VERSION] != 0 {
        return Err(Skip::Malformed(Layer::Radiotap, Reason::BadVersion));
    }
    let len = le16(h, field::LENGTH) as usize;
    if len < field::LEN {
        return Err(Skip::Malformed(Layer::Radiotap, Reason::BadHeaderLength));
    }
    let h = frame.header(0, len, Layer::Radiotap)?;
    let present = le32(h, field::PRESENT);
    // Fields start after the last presence bitmap.
    let mut word = field::PRESENT.start;
    let mut bits = present;
    while bits & PRESENT_EXT != 0 {
        word += field::PRESENT_LEN;
        if word + field::PRESENT_LEN > len {
            return Err(Skip::Malformed(Layer::Radiotap, Reason::BadHeaderLength));
        }
        bits = le32(h, word..word + field::PRESENT_LEN);
    }
    let mut flags = 0;
    if present & PRESENT_FLAGS != 0 {
        let mut at = word + field::PRESENT_LEN;
        if present & PRESENT_TSFT != 0 {
            at = at.next_multiple_of(field::TSFT_LEN) + field::TSFT_LEN;
        }
        match h[..len].get(at) {
            Some(&f) => flags = f,
            None => return Err(Skip::Malformed(Layer::Radiotap, Reason::BadHeaderLength)),
        }
    }
    let fcs = if flags & FLAG_FCS != 0 { FCS_LEN } else { 0 };
    let (inner, wire) = frame.inner(len, wire, fcs);
    ieee80211::ieee80211(&inner, wire, flags & FLAG_DATAPAD != 0)
}

#[cfg(test)]
mod tests {
    use super::super::ieee80211::tests::{snap_ipv4_tcp, wlan};
    use super::super::*;

    fn decode127(f: &[u8]) -> Result<Packet, Skip> {
        decode(linktype::IEEE802_11_RADIOTAP, f, f.len() as u32)
    }

    #[test]
    fn flags_after_tsft_with_fcs() {
        // TSFT and flags present; flags = FCS.
        let mut f = vec![0, 0, 17, 0, 0x03, 0, 0, 0];
        f.extend([0u8; 8]); // TSFT
        f.push(0x10); // flags: FCS at end
        f.extend(wlan(0x08, 0x02, &[]));
        let mut body = snap_ipv4_tcp();
        // A zero IPv4 total length takes the frame's length: the FCS must not count.
        body[8 + 2..8 + 4].copy_from_slice(&[0, 0]);
        f.extend(body);
        f.extend([0xde, 0xad, 0xbe, 0xef]);
        let p = decode127(&f).unwrap();
        assert_eq!(p.ip_len, 40);
    }

    #[test]
    fn extended_bitmap_and_datapad() {
        // Two presence bitmaps, flags present in the first: datapad.
        let mut f = vec![0, 0, 13, 0, 0x02, 0, 0, 0x80, 0, 0, 0, 0, 0x20];
        f.extend(wlan(0x88, 0x02, &[0, 0])); // QoS data: 26-byte header, padded to 28
        f.extend([0, 0]);
        f.extend(snap_ipv4_tcp());
        assert!(decode127(&f).is_ok());
    }

    #[test]
    fn bad_headers() {
        let mut f = vec![1, 0, 8, 0, 0, 0, 0, 0];
        f.extend(wlan(0x08, 0x02, &[]));
        assert_eq!(
            decode127(&f).unwrap_err(),
            Skip::Malformed(Layer::Radiotap, Reason::BadVersion)
        );
        f[0] = 0;
        f[2] = 4;
        assert_eq!(
            decode127(&f).unwrap_err(),
            Skip::Malformed(Layer::Radiotap, Reason::BadHeaderLength)
        );
        // Flags present but the header ends before them.
        let f = [0, 0, 8, 0, 0x02, 0, 0, 0];
        assert_eq!(
            decode127(&f).unwrap_err(),
            Skip::Malformed(Layer::Radiotap, Reason::BadHeaderLength)
        );
        // The extension bit set on the last bitmap the header holds.
        let f = [0, 0, 8, 0, 0, 0, 0, 0x80];
        assert_eq!(
            decode127(&f).unwrap_err(),
            Skip::Malformed(Layer::Radiotap, Reason::BadHeaderLength)
        );
        let f = [0, 0, 30, 0, 0, 0, 0, 0];
        assert_eq!(
            decode(linktype::IEEE802_11_RADIOTAP, &f, 100).unwrap_err(),
            Skip::Truncated(Layer::Radiotap)
        );
    }
}
