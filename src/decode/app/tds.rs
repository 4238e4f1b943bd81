//! MS-TDS (Tabular Data Stream, SQL Server): the 8-byte packet header (MS-TDS 2.2.3.1) and the
//! PRELOGIN message (2.2.6.5), whose ENCRYPTION option says whether the session will be
//! encrypted.

use super::{AppHint, Hint, Reader, Stop, TDS_NO_ENCRYPTION, Verdict, check};

mod field {
    use super::super::super::Field;
    /// Packet type: 0x12 PRELOGIN, 0x04 tabular result (the server's PRELOGIN answer), ...
    pub const TYPE: usize = 0;
    /// Status bits: 0x01 end of message, 0x02 ignore, 0x08 reset connection, 0x10 reset
    /// connection keeping the transaction state.
    pub const STATUS: usize = 1;
    /// Packet length, header included, bytes (big-endian).
    pub const LENGTH: Field = 2..4;
    /// Window: unused, 0 (after the server process id, 2 bytes, and the packet number, 1).
    pub const WINDOW: usize = 7;
    /// Header length, bytes.
    pub const LEN: usize = 8;
}

/// Packet types a client or server sends (MS-TDS 2.2.3.1.1): SQL batch, pre-TDS7 login, RPC,
/// tabular result, attention, bulk load, federated authentication token, transaction manager
/// request, TDS7 login, SSPI, PRELOGIN.
const TYPES: [u8; 11] = [
    0x01, 0x02, 0x03, 0x04, 0x06, 0x07, 0x08, 0x0e, 0x10, 0x11, 0x12,
];
const PRELOGIN: u8 = 0x12;
const TABULAR_RESULT: u8 = 0x04;
/// Status bits defined, and the end-of-message bit among them.
const STATUS_BITS: u8 = 0x01 | 0x02 | 0x08 | 0x10;
const EOM: u8 = 0x01;
/// Smallest packet size a client can negotiate, bytes.
const MIN_PACKET: usize = 512;

/// PRELOGIN option tokens: VERSION (which must come first), ENCRYPTION, ..., the last one
/// defined (NONCEOPT), and the terminator.
const VERSION: u8 = 0x00;
const ENCRYPTION: u8 = 0x01;
const LAST_OPTION: u8 = 0x08;
const TERMINATOR: u8 = 0xff;
/// Most options read before the terminator.
const MAX_OPTIONS: usize = 16;

/// A TDS packet.
pub(super) fn recognise(p: &[u8]) -> Verdict {
    let ty = Reader::at(p, field::TYPE).u8()?;
    check(TYPES.contains(&ty))?;
    let status = Reader::at(p, field::STATUS).u8()?;
    check(status & !STATUS_BITS == 0)?;
    let len = usize::from(Reader::at(p, field::LENGTH.start).be16()?);
    // A packet that does not end its message fills the negotiated packet size (512 at least).
    let min = if status & EOM == 0 {
        MIN_PACKET
    } else {
        field::LEN
    };
    check(len >= min)?;
    check(Reader::at(p, field::WINDOW).u8()? == 0)?;
    let other = AppHint::of(Hint::TdsOther, 0);
    match ty {
        PRELOGIN => {
            // TLS handshake records travel in PRELOGIN packets before LOGIN7.
            let mut d = Reader::at(p, field::LEN);
            if d.u8()? == 0x16 && d.u8()? == 0x03 {
                return Ok(other);
            }
            prelogin(p, len, false)
        }
        TABULAR_RESULT => match prelogin(p, len, true) {
            Err(Stop::No) => Ok(other),
            v => v,
        },
        _ => Ok(other),
    }
}

/// PRELOGIN option tokens (token, offset, length; offsets from the data's start) to the
/// terminator, in a packet of `len` bytes; then the ENCRYPTION option's value.
fn prelogin(p: &[u8], len: usize, response: bool) -> Verdict {
    let data = len - field::LEN;
    let mut r = Reader::at(p, field::LEN);
    let mut encryption = None;
    for i in 0.. {
        let token = r.u8()?;
        if token == TERMINATOR {
            check(i >= 1)?;
            break;
        }
        check(token <= LAST_OPTION && (i > 0 || token == VERSION) && i < MAX_OPTIONS)?;
        let off = usize::from(r.be16()?);
        let n = usize::from(r.be16()?);
        check(off + n <= data)?;
        if token == ENCRYPTION {
            check(n == 1)?;
            encryption = Some(off);
        }
    }
    // The options' data lies after the token list.
    let version = match encryption {
        Some(off) => {
            let options = r.pos() - field::LEN;
            check(off >= options)?;
            let v = Reader::at(p, field::LEN + off).u8()?;
            check(v & 0x7f <= 3)?;
            u16::from(v)
        }
        None => TDS_NO_ENCRYPTION,
    };
    Ok(AppHint {
        extra: u16::from(response),
        ..AppHint::of(Hint::TdsPrelogin, version)
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{hint, tcp, with};
    use super::super::*;

    /// FreeTDS 1.3.17 `tsql`'s PRELOGIN: ENCRYPTION off.
    #[rustfmt::skip]
    pub(crate) const PRELOGIN_TSQL: &[u8] = &[
        0x12, 0x01, 0x00, 0x3a, 0x00, 0x00, 0x00, 0x00, // PRELOGIN, status 0x01, 58 bytes, spid 0, packet 0, window 0
        0x00, 0x00, 0x1a, 0x00, 0x06, // VERSION: offset 26, length 6
        0x01, 0x00, 0x20, 0x00, 0x01, // ENCRYPTION: offset 32, length 1
        0x02, 0x00, 0x21, 0x00, 0x0c, // INSTOPT: offset 33, length 12
        0x03, 0x00, 0x2d, 0x00, 0x04, // THREADID: offset 45, length 4
        0x04, 0x00, 0x31, 0x00, 0x01, // MARS: offset 49, length 1
        0xff, // terminator
        0x09, 0x00, 0x00, 0x00, 0x00, 0x00, // VERSION 090000000000
        0x00, // ENCRYPTION off (0)
        0x4d, 0x53, 0x53, 0x51, 0x4c, 0x53, 0x65, 0x72, 0x76, 0x65, // INSTOPT 4d5353514c53657276657200
        0x72, 0x00,
        0xa1, 0x60, 0x00, 0x00, // THREADID a1600000
        0x00, // MARS 00
    ];

    /// Impacket 0.10 `mssqlclient.py`'s PRELOGIN: ENCRYPTION off, no MARS.
    #[rustfmt::skip]
    pub(crate) const PRELOGIN_IMPACKET: &[u8] = &[
        0x12, 0x01, 0x00, 0x34, 0x00, 0x00, 0x00, 0x00, // PRELOGIN, status 0x01, 52 bytes, spid 0, packet 0, window 0
        0x00, 0x00, 0x15, 0x00, 0x06, // VERSION: offset 21, length 6
        0x01, 0x00, 0x1b, 0x00, 0x01, // ENCRYPTION: offset 27, length 1
        0x02, 0x00, 0x1c, 0x00, 0x0c, // INSTOPT: offset 28, length 12
        0x03, 0x00, 0x28, 0x00, 0x04, // THREADID: offset 40, length 4
        0xff, // terminator
        0x08, 0x00, 0x01, 0x55, 0x00, 0x00, // VERSION 080001550000
        0x00, // ENCRYPTION off (0)
        0x4d, 0x53, 0x53, 0x51, 0x4c, 0x53, 0x65, 0x72, 0x76, 0x65, // INSTOPT 4d5353514c53657276657200
        0x72, 0x00,
        0x71, 0xfb, 0x00, 0x00, // THREADID 71fb0000
    ];

    /// A PRELOGIN answer laid out as SQL Server's (MS-TDS 2.2.6.5: VERSION 15.0.2000, ENCRYPTION on,
    /// INSTOPT, THREADID, MARS), sent by the test listener that FreeTDS talked to.
    #[rustfmt::skip]
    pub(crate) const PRELOGIN_RESPONSE: &[u8] = &[
        0x04, 0x01, 0x00, 0x2b, 0x00, 0x00, 0x01, 0x00, // tabular result, status 0x01, 43 bytes, spid 0, packet 1, window 0
        0x00, 0x00, 0x1a, 0x00, 0x06, // VERSION: offset 26, length 6
        0x01, 0x00, 0x20, 0x00, 0x01, // ENCRYPTION: offset 32, length 1
        0x02, 0x00, 0x21, 0x00, 0x01, // INSTOPT: offset 33, length 1
        0x03, 0x00, 0x22, 0x00, 0x00, // THREADID: offset 34, length 0
        0x04, 0x00, 0x22, 0x00, 0x01, // MARS: offset 34, length 1
        0xff, // terminator
        0x0f, 0x00, 0x07, 0xd0, 0x00, 0x00, // VERSION 0f0007d00000
        0x01, // ENCRYPTION on (1)
        0x00, // INSTOPT 00
        0x00, // MARS 00
    ];

    /// FreeTDS after the answer above said ENCRYPTION on: its TLS ClientHello inside a PRELOGIN
    /// packet (the first 48 bytes of the 525-byte segment).
    #[rustfmt::skip]
    pub(crate) const PRELOGIN_TLS: &[u8] = &[
        0x12, 0x01, 0x02, 0x0d, 0x00, 0x00, 0x00, 0x00, // PRELOGIN, status 0x01, 525 bytes, spid 0, packet 0, window 0
        0x16, 0x03, 0x01, 0x02, 0x00, // TLS record: handshake, version 3.1, 512 bytes
        0x01, 0x00, 0x01, 0xfc, // ClientHello, 508 bytes
        0x03, 0x03, 0xee, 0xa8, 0xf2, 0xfc, 0x37, 0xcb, 0x12, 0xc2, // version, random, ...
        0xf5, 0x37, 0x5b, 0x19, 0x31, 0xfa, 0xca, 0x7b, 0xb3, 0xb9,
        0x84, 0xb9, 0x56, 0x27, 0xdc, 0x70, 0x40, 0x2c, 0x87, 0xcb,
        0xbc,
    ];

    #[test]
    fn encryption_option() {
        assert_eq!(tcp(PRELOGIN_TSQL), hint(Hint::TdsPrelogin, 0));
        for v in 0..=3u8 {
            let h = tcp(&with(PRELOGIN_RESPONSE, &[(40, v)]));
            assert_eq!(
                (h.hint, h.version, h.extra),
                (Hint::TdsPrelogin, u16::from(v), 1)
            );
        }
        // TDS 8's client-certificate bit.
        assert_eq!(tcp(&with(PRELOGIN_TSQL, &[(40, 0x81)])).version, 0x81);
    }

    #[test]
    fn encryption_value_out_of_range() {
        assert_eq!(tcp(&with(PRELOGIN_TSQL, &[(40, 4)])).hint, Hint::None);
        // In a tabular result it is then not a PRELOGIN answer.
        assert_eq!(
            tcp(&with(PRELOGIN_RESPONSE, &[(40, 4)])),
            hint(Hint::TdsOther, 0)
        );
    }

    #[test]
    fn no_encryption_option() {
        // The ENCRYPTION token (at 13) turned into TRACEID (5).
        let h = tcp(&with(PRELOGIN_TSQL, &[(13, 5)]));
        assert_eq!((h.hint, h.version), (Hint::TdsPrelogin, TDS_NO_ENCRYPTION));
    }

    #[test]
    fn encryption_length_not_1() {
        assert_eq!(tcp(&with(PRELOGIN_TSQL, &[(17, 2)])).hint, Hint::None);
    }

    #[test]
    fn first_option_not_version() {
        assert_eq!(tcp(&with(PRELOGIN_TSQL, &[(8, 2)])).hint, Hint::None);
        // A tabular result starting with another token: not a PRELOGIN answer.
        let mut loginack = PRELOGIN_RESPONSE.to_vec();
        loginack[8] = 0xad;
        assert_eq!(tcp(&loginack), hint(Hint::TdsOther, 0));
    }

    #[test]
    fn unknown_option_token() {
        assert_eq!(tcp(&with(PRELOGIN_TSQL, &[(18, 0x09)])).hint, Hint::None);
    }

    #[test]
    fn option_past_the_packet() {
        // INSTOPT's offset (at 19..21) 0x40 + 12 bytes > 50 data bytes.
        assert_eq!(tcp(&with(PRELOGIN_TSQL, &[(20, 0x40)])).hint, Hint::None);
    }

    #[test]
    fn encryption_value_inside_the_token_list() {
        assert_eq!(tcp(&with(PRELOGIN_TSQL, &[(16, 0x04)])).hint, Hint::None);
    }

    #[test]
    fn header_window_not_0() {
        assert_eq!(tcp(&with(PRELOGIN_TSQL, &[(7, 1)])).hint, Hint::None);
    }

    #[test]
    fn header_status_undefined_bit() {
        assert_eq!(tcp(&with(PRELOGIN_TSQL, &[(1, 0x04)])).hint, Hint::None);
        assert_eq!(
            tcp(&with(PRELOGIN_TSQL, &[(1, 0x09)])),
            hint(Hint::TdsPrelogin, 0)
        );
    }

    #[test]
    fn header_unknown_type() {
        for ty in [0x05, 0x09, 0x0f, 0x13] {
            assert_ne!(
                tcp(&with(PRELOGIN_TSQL, &[(0, ty)])).hint,
                Hint::TdsPrelogin,
                "{ty}"
            );
            assert_ne!(
                tcp(&with(PRELOGIN_TSQL, &[(0, ty)])).hint,
                Hint::TdsOther,
                "{ty}"
            );
        }
    }

    #[test]
    fn header_length_shorter_than_the_header() {
        assert_eq!(tcp(&with(PRELOGIN_TSQL, &[(3, 7)])).hint, Hint::None);
    }

    #[test]
    fn other_packet_types() {
        // SQL batch (0x01), TDS7 login (0x10), attention (0x06).
        for ty in [0x01, 0x10, 0x06] {
            assert_eq!(
                tcp(&with(PRELOGIN_TSQL, &[(0, ty)])),
                hint(Hint::TdsOther, 0),
                "{ty}"
            );
        }
    }

    #[test]
    fn prelogin_cut_before_its_encryption_value() {
        assert_eq!(tcp(&PRELOGIN_TSQL[..40]).hint, Hint::Short);
        assert_eq!(tcp(&PRELOGIN_TSQL[..41]), hint(Hint::TdsPrelogin, 0));
        assert_eq!(tcp(&PRELOGIN_TSQL[..8]).hint, Hint::Short);
    }

    #[test]
    fn tls_inside_prelogin() {
        assert_eq!(tcp(PRELOGIN_TLS), hint(Hint::TdsOther, 0));
        assert_eq!(tcp(&PRELOGIN_TLS[..10]), hint(Hint::TdsOther, 0));
    }

    #[test]
    fn tds_is_tcp_only() {
        assert_ne!(recognise(PRELOGIN_TSQL, false).hint, Hint::TdsPrelogin);
    }
}
