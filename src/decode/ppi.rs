//! PPI, the Per-Packet Information header (LINKTYPE_PPI 192): a little-endian header naming the
//! link type of the frame behind it (802.11 in practice), and typed fields of which only
//! 802.11-common is read, for its FCS-present flag.
//!
//! Format: "Per-Packet Information Header Specification" v1.0.10 (CACE Technologies), sections
//! 3 (packet header), 4 (field header) and 4.1.2 (802.11-common: flags at byte 8, 0x0001 = FCS
//! present); checked against Wireshark's `epan/dissectors/packet-ppi.c`.

use super::{Frame, Layer, Packet, Reason, Skip, le16, le32, linktype, wrapped};

mod field {
    use super::super::Field;
    /// Version (0).
    pub const VERSION: usize = 0;
    /// Flags: bit 0, fields are 32-bit aligned.
    pub const FLAGS: usize = 1;
    /// Header length, fields included, bytes (little-endian).
    pub const LENGTH: Field = 2..4;
    /// DLT_* number of the frame that follows (little-endian).
    pub const DLT: Field = 4..8;
    /// Fixed header length, bytes.
    pub const LEN: usize = 8;

    /// A field header, then the field's data.
    pub mod item {
        use super::Field;
        /// Field type (little-endian).
        pub const TYPE: Field = 0..2;
        /// Data length, bytes (little-endian).
        pub const LENGTH: Field = 2..4;
        /// Field header length, bytes.
        pub const LEN: usize = 4;
        /// 802.11-common: its flags word (little-endian) within the field data.
        pub const COMMON_FLAGS: Field = 8..10;
    }
}

/// Flags: fields padded to 4-byte boundaries.
const FLAG_ALIGNED: u8 = 0x01;
/// Field type 802.11-common.
const TYPE_80211_COMMON: u16 = 2;
/// 802.11-common flags: the frame ends with an FCS.
const COMMON_FCS: u16 = 0x0001;
/// FCS length, bytes.
const FCS_LEN: usize = 4;

/// Decodes a PPI header and the frame behind it.
pub(super) fn ppi(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, field::LEN, Layer::Ppi)?;
    if h[field::VERSION] != 0 {
        return Err(Skip::Malformed(Layer::Ppi, Reason::BadVersion));
    }
    let len = le16(h, field::LENGTH) as usize;
    if len < field::LEN {
        return Err(Skip::Malformed(Layer::Ppi, Reason::BadHeaderLength));
    }
    let aligned = h[field::FLAGS] & FLAG_ALIGNED != 0;
    let dlt = le32(h, field::DLT);
    let h = frame.header(0, len, Layer::Ppi)?;
    let mut fcs = 0;
    let mut at = field::LEN;
    while at + field::item::LEN <= len {
        let (t, l) = (field::item::TYPE, field::item::LENGTH);
        let kind = le16(h, at + t.start..at + t.end);
        let data = at + field::item::LEN;
        let end = data + le16(h, at + l.start..at + l.end) as usize;
        if end > len {
            return Err(Skip::Malformed(Layer::Ppi, Reason::BadHeaderLength));
        }
        let flags = field::item::COMMON_FLAGS;
        if kind == TYPE_80211_COMMON && end - data >= flags.end {
            let flags = le16(h, data + flags.start..data + flags.end);
            if flags & COMMON_FCS != 0 {
                fcs = FCS_LEN;
            }
        }
        at = if aligned {
            end.next_multiple_of(4)
        } else {
            end
        };
    }
    wrapped(frame, wire, len, linktype::linktype_for_dlt(dlt), fcs)
}

#[cfg(test)]
mod tests {
    use super::super::ieee80211::tests::{snap_ipv4_tcp, wlan};
    use super::super::*;

    fn decode192(f: &[u8]) -> Result<Packet, Skip> {
        decode(linktype::PPI, f, f.len() as u32)
    }

    /// A PPI header for DLT `dlt` with one 802.11-common field of flags `flags`.
    fn ppi(dlt: u32, flags: u16) -> Vec<u8> {
        let mut v = vec![0, 0, 32, 0];
        v.extend(dlt.to_le_bytes());
        v.extend(2u16.to_le_bytes());
        v.extend(20u16.to_le_bytes());
        v.extend([0u8; 8]); // TSF timer
        v.extend(flags.to_le_bytes());
        v.extend([0u8; 10]); // rate, channel, FHSS, signal, noise
        v
    }

    #[test]
    fn wlan_behind_ppi_with_and_without_fcs() {
        for (flags, tail) in [(0u16, &[][..]), (1, &[1u8, 2, 3, 4][..])] {
            let mut f = ppi(105, flags);
            f.extend(wlan(0x08, 0x01, &[]));
            let mut body = snap_ipv4_tcp();
            body[10..12].copy_from_slice(&[0, 0]); // zero IPv4 total length: the frame's
            f.extend(body);
            f.extend(tail);
            assert_eq!(decode192(&f).unwrap().ip_len, 40, "flags {flags}");
        }
    }

    #[test]
    fn other_inner_link_types() {
        let mut f = ppi(1, 0);
        f.extend(testutil::eth_tcp(0));
        assert!(decode192(&f).is_ok());
        // PPI inside PPI is not followed.
        let mut f = ppi(192, 0);
        f.extend(ppi(105, 0));
        assert_eq!(decode192(&f).unwrap_err(), Skip::UnsupportedLinkType(192));
    }

    #[test]
    fn bad_headers() {
        let mut f = ppi(105, 0);
        f[0] = 1;
        assert_eq!(
            decode192(&f).unwrap_err(),
            Skip::Malformed(Layer::Ppi, Reason::BadVersion)
        );
        let mut f = ppi(105, 0);
        f[10] = 40; // field longer than the header
        assert_eq!(
            decode192(&f).unwrap_err(),
            Skip::Malformed(Layer::Ppi, Reason::BadHeaderLength)
        );
        let mut f = ppi(105, 0);
        f[2] = 7;
        assert_eq!(
            decode192(&f).unwrap_err(),
            Skip::Malformed(Layer::Ppi, Reason::BadHeaderLength)
        );
        assert_eq!(
            decode(linktype::PPI, &ppi(105, 0)[..20], 100).unwrap_err(),
            Skip::Truncated(Layer::Ppi)
        );
    }
}
