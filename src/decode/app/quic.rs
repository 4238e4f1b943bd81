//! QUIC (RFC 9000 section 17.2, RFC 8999): the long header, over UDP.
//!
//! The version must be one that is deployed or reserved: QUIC v1 and v2 (RFC 9369), the IETF
//! drafts (0xff0000xx), the versions reserved to exercise negotiation (0x?a?a?a?a), Google's
//! Q0xx/T0xx on the long header, and mvfst's (0xfaceb00x); 0 is a Version Negotiation packet.
//! Without that check a quarter of all DNS queries (those whose ID starts 0xc0 or more) would
//! read as a long header.

use super::{AppHint, Hint, Reader, Verdict, check};

mod field {
    use super::super::super::Field;
    /// Header form (0x80: long), fixed bit (0x40), type and type-specific bits.
    pub const FIRST: usize = 0;
    /// Version (0: Version Negotiation).
    pub const VERSION: Field = 1..5;
    /// Destination connection ID length, bytes (at most 20 in QUIC v1 and v2).
    pub const DCID_LEN: usize = 5;
}

/// Longest connection ID, bytes.
const MAX_CID: u8 = 20;

/// A version this recogniser knows (see the module's doc).
fn known(v: u32) -> bool {
    matches!(v, 0x0000_0001 | 0x6b33_43cf)
        || v >> 8 == 0x00ff_0000
        || v & 0x0f0f_0f0f == 0x0a0a_0a0a
        || matches!(v >> 16, 0x5130 | 0x5430)
        || v >> 4 == 0x0fac_eb00
}

/// A long-header packet.
pub(super) fn recognise(p: &[u8]) -> Verdict {
    let first = Reader::at(p, field::FIRST).u8()?;
    check(first & 0x80 != 0)?;
    let version = Reader::at(p, field::VERSION.start).be32()?;
    // Version Negotiation leaves the fixed bit to chance; every other packet sets it.
    check(if version == 0 {
        true
    } else {
        first & 0x40 != 0 && known(version)
    })?;
    let mut r = Reader::at(p, field::DCID_LEN);
    let dcid = r.u8()?;
    check(dcid <= MAX_CID)?;
    r.skip(usize::from(dcid))?;
    let scid = r.u8()?;
    check(scid <= MAX_CID)?;
    r.skip(usize::from(scid))?;
    if version == 0 {
        // At least one supported version follows.
        check(r.be32()? != 0)?;
    }
    Ok(AppHint {
        extra: version as u16,
        ..AppHint::of(Hint::QuicLong, (version >> 16) as u16)
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{tcp, udp, with};
    use super::super::*;
    use super::known;

    /// aioquic 1.2 client's Initial (QUIC v1; the first 48 bytes of the 1200-byte datagram).
    #[rustfmt::skip]
    pub(crate) const INITIAL: &[u8] = &[
        0xc6, // long header, fixed bit 1, type 0
        0x00, 0x00, 0x00, 0x01, // version 0x00000001
        0x08, // DCID length 8
        0xc3, 0xf5, 0x92, 0xa2, 0x49, 0x91, 0x0b, 0x79, // DCID
        0x08, // SCID length 8
        0xad, 0x60, 0x37, 0x8b, 0xd4, 0xf1, 0x83, 0x31, // SCID
        0x00, 0x41, 0xfd, 0x62, 0x52, 0xe1, 0x80, 0x48, 0xf0, 0x3b, // token length, length, packet number...
        0x8d, 0x09, 0xf6, 0xf5, 0x0c, 0x26, 0x76, 0xa1, 0x93, 0xb4,
        0x0e, 0x60, 0xf6, 0x3e, 0x49,
    ];

    /// aioquic server's Initial in answer (the first 48 bytes of 1200).
    #[rustfmt::skip]
    pub(crate) const SERVER_INITIAL: &[u8] = &[
        0xc7, // long header, fixed bit 1, type 0
        0x00, 0x00, 0x00, 0x01, // version 0x00000001
        0x08, // DCID length 8
        0xad, 0x60, 0x37, 0x8b, 0xd4, 0xf1, 0x83, 0x31, // DCID
        0x08, // SCID length 8
        0x98, 0xb4, 0x0d, 0x8b, 0x40, 0x9a, 0x03, 0xb2, // SCID
        0x00, 0x40, 0x97, 0xec, 0x44, 0xb5, 0x87, 0xf0, 0x63, 0x77, // token length, length, packet number...
        0x20, 0x2b, 0x0d, 0x14, 0x7e, 0x92, 0x53, 0xde, 0xa2, 0xe8,
        0x74, 0x85, 0xdf, 0x58, 0xde,
    ];

    /// aioquic client offering the reserved version 0x1a2a3a4a first (the first 48 bytes of 1200).
    #[rustfmt::skip]
    pub(crate) const GREASE_INITIAL: &[u8] = &[
        0xc6, // long header, fixed bit 1, type 0
        0x1a, 0x2a, 0x3a, 0x4a, // version 0x1a2a3a4a
        0x08, // DCID length 8
        0xe2, 0x43, 0x02, 0xe9, 0xd8, 0x58, 0xa0, 0xed, // DCID
        0x08, // SCID length 8
        0xa5, 0xdf, 0x00, 0x10, 0x54, 0x13, 0x84, 0x83, // SCID
        0x00, 0x41, 0xfd, 0x83, 0x45, 0xa0, 0x64, 0xd1, 0xdb, 0x03, // token length, length, packet number...
        0xf1, 0x87, 0x2b, 0xeb, 0xb2, 0x99, 0x94, 0xaf, 0x81, 0x20,
        0xbe, 0x6d, 0x3d, 0xa7, 0x37,
    ];

    /// aioquic server's Version Negotiation in answer to GREASE_INITIAL: v1 and v2.
    #[rustfmt::skip]
    pub(crate) const VERSION_NEGOTIATION: &[u8] = &[
        0x8b, // long header, fixed bit 0, type 0
        0x00, 0x00, 0x00, 0x00, // version 0x00000000
        0x08, // DCID length 8
        0xa5, 0xdf, 0x00, 0x10, 0x54, 0x13, 0x84, 0x83, // DCID
        0x08, // SCID length 8
        0xe2, 0x43, 0x02, 0xe9, 0xd8, 0x58, 0xa0, 0xed, // SCID
        0x00, 0x00, 0x00, 0x01, 0x6b, 0x33, 0x43, 0xcf, // supported versions: 0x00000001, 0x6b3343cf
    ];

    #[test]
    fn versions_in_two_halves() {
        let h = udp(INITIAL);
        assert_eq!((h.hint, h.version, h.extra), (Hint::QuicLong, 0, 1));
        let h = udp(GREASE_INITIAL);
        assert_eq!((h.version, h.extra), (0x1a2a, 0x3a4a));
        let h = udp(VERSION_NEGOTIATION);
        assert_eq!((h.hint, h.version, h.extra), (Hint::QuicLong, 0, 0));
        // QUIC v2.
        let h = udp(&with(
            INITIAL,
            &[(1, 0x6b), (2, 0x33), (3, 0x43), (4, 0xcf)],
        ));
        assert_eq!(
            (h.hint, h.version, h.extra),
            (Hint::QuicLong, 0x6b33, 0x43cf)
        );
    }

    #[test]
    fn known_versions() {
        for v in [
            1,
            0x6b33_43cf,
            0xff00_001d,
            0x0a1a_2a3a,
            0xfaea_faea,
            0x5130_3530,
            0xface_b002,
        ] {
            assert!(known(v), "{v:#x}");
        }
        for v in [0, 2, 0x1234_5678, 0xff01_0000, 0x0a1a_2a3b] {
            assert!(!known(v), "{v:#x}");
        }
    }

    #[test]
    fn unknown_version() {
        assert_ne!(udp(&with(INITIAL, &[(4, 0x02)])).hint, Hint::QuicLong);
    }

    #[test]
    fn fixed_bit_clear() {
        assert_ne!(udp(&with(INITIAL, &[(0, 0x86)])).hint, Hint::QuicLong);
        // Version Negotiation may clear it (VERSION_NEGOTIATION does) or set it.
        assert_eq!(
            udp(&with(VERSION_NEGOTIATION, &[(0, 0xcb)])).hint,
            Hint::QuicLong
        );
    }

    #[test]
    fn short_header_is_not_long() {
        assert_ne!(udp(&with(INITIAL, &[(0, 0x46)])).hint, Hint::QuicLong);
    }

    #[test]
    fn connection_id_longer_than_20() {
        assert_ne!(udp(&with(INITIAL, &[(5, 21)])).hint, Hint::QuicLong);
        // SCID length at 6 + 8.
        assert_ne!(udp(&with(INITIAL, &[(14, 21)])).hint, Hint::QuicLong);
    }

    #[test]
    fn connection_id_past_the_captured_bytes() {
        assert_eq!(udp(&INITIAL[..10]).hint, Hint::Short);
        assert_eq!(udp(&INITIAL[..14]).hint, Hint::Short);
    }

    #[test]
    fn version_negotiation_without_a_version() {
        // Its only listed version zeroed.
        let v = with(VERSION_NEGOTIATION, &[(26, 0)]);
        let v = &v[..27 - 4 + 4];
        assert_ne!(udp(v).hint, Hint::QuicLong);
    }

    #[test]
    fn quic_is_udp_only() {
        assert_ne!(tcp(INITIAL).hint, Hint::QuicLong);
    }
}
