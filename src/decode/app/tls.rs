//! TLS (RFC 8446, RFC 5246): the record header; inside a handshake record the ClientHello
//! (highest version offered, first server name) and the ServerHello (version chosen); alerts;
//! and the SSL 2.0 CLIENT-HELLO (RFC 6101 appendix E, RFC 5246 appendix E.2).
//!
//! A record is TLS when its header is (type 20 to 24, version 3.0 to 3.3, a length a record can
//! have); inside it, a hello that does not parse (an encrypted Finished whose first byte happens
//! to be 1, say) is [`Hint::TlsOther`], a valid record of another kind.

use super::super::be16;
use super::{ALERT_ENCRYPTED, AppHint, Hint, Reader, SNI_CUT, Stop, Verdict, check};

mod field {
    use super::super::super::Field;
    /// Content type: 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data, 24
    /// heartbeat.
    pub const TYPE: usize = 0;
    /// Record version (legacy_record_version), e.g. 0x0303.
    pub const VERSION: Field = 1..3;
    /// Length of the record's fragment, bytes.
    pub const LENGTH: Field = 3..5;
    /// Record header length, bytes.
    pub const LEN: usize = 5;
    /// Handshake message type (in a handshake record): 1 client_hello, 2 server_hello.
    pub const HS_TYPE: usize = 5;
    /// Handshake message length, bytes (24 bits).
    pub const HS_LENGTH: Field = 6..9;
    /// ClientHello legacy client_version, ServerHello legacy server_version.
    pub const HELLO_VERSION: Field = 9..11;
    /// Random, 32 bytes.
    pub const RANDOM: Field = 11..43;
}

/// Record content types.
const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const HEARTBEAT: u8 = 24;

/// Handshake message types.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;

/// Extension types.
const SERVER_NAME: u16 = 0;
const SUPPORTED_VERSIONS: u16 = 43;

/// ServerName name_type of a host name.
const HOST_NAME: u8 = 0;

/// Largest record fragment: 2^14 bytes of plaintext plus 2048 of cipher expansion (TLS 1.2).
const MAX_FRAGMENT: usize = (1 << 14) + 2048;

/// A hello's body before its extensions: version (2), random (32), session id length (1).
const HELLO_MIN: usize = 2 + 32 + 1;

/// A GREASE version (RFC 8701): 0x?a?a with both bytes equal.
fn grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// A TLS record (the payload's first byte is 20 to 24).
pub(super) fn record(p: &[u8]) -> Verdict {
    let ty = Reader::at(p, field::TYPE).u8()?;
    check((CHANGE_CIPHER_SPEC..=HEARTBEAT).contains(&ty))?;
    let mut v = Reader::at(p, field::VERSION.start);
    v.expect(3)?;
    check(v.u8()? <= 3)?;
    let version = be16(p, field::VERSION);
    let len = usize::from(Reader::at(p, field::LENGTH.start).be16()?);
    check(len <= MAX_FRAGMENT)?;
    // The fragment, after the header.
    let mut r = Reader::at(p, field::LEN);
    let other = AppHint::of(Hint::TlsOther, version);
    match ty {
        CHANGE_CIPHER_SPEC => {
            check(len == 1)?;
            r.expect(1)?;
            Ok(other)
        }
        ALERT => {
            check(len >= 2)?;
            if len > 2 {
                // Encrypted: level and description are not readable.
                return Ok(AppHint {
                    extra: ALERT_ENCRYPTED,
                    ..AppHint::of(Hint::TlsAlert, version)
                });
            }
            let level = r.u8()?;
            check(level == 1 || level == 2)?;
            Ok(AppHint {
                extra: u16::from(r.u8()?),
                ..AppHint::of(Hint::TlsAlert, version)
            })
        }
        HANDSHAKE => {
            check(len >= 1)?;
            let hello = match Reader::at(p, field::HS_TYPE).u8()? {
                CLIENT_HELLO => client_hello(p, len),
                SERVER_HELLO => server_hello(p, len),
                _ => return Ok(other),
            };
            // A record that is TLS but a hello that does not parse: another handshake message
            // (an encrypted one).
            match hello {
                Err(Stop::No) => Ok(other),
                v => v,
            }
        }
        _ => Ok(other),
    }
}

/// The hello's end in the payload, from the handshake length (which must leave room for a
/// hello and fit in the record of `rec_len` bytes).
fn hello_end(p: &[u8], rec_len: usize) -> Result<usize, Stop> {
    let mut r = Reader::at(p, field::HS_LENGTH.start);
    let hs_len = r.be24()? as usize;
    check(hs_len >= HELLO_MIN && hs_len + 4 <= rec_len)?;
    Ok(field::HS_LENGTH.end + hs_len)
}

/// The hello's legacy version (3.0 to 3.3).
fn hello_version(p: &[u8]) -> Result<u16, Stop> {
    let v = Reader::at(p, field::HELLO_VERSION.start).be16()?;
    check((0x0300..=0x0303).contains(&v))?;
    Ok(v)
}

/// Reads past the random, the session id, and (`cipher_list`: a ClientHello's list, else one
/// suite) the cipher suites and compression methods, staying inside `end`.
fn hello_fixed(r: &mut Reader<'_>, end: usize, cipher_list: bool) -> Result<(), Stop> {
    debug_assert_eq!(r.pos(), field::RANDOM.start);
    within(r, 32 + 1, end)?;
    r.skip(32)?;
    let sid = usize::from(r.u8()?);
    check(sid <= 32)?;
    within(r, sid, end)?;
    r.skip(sid)?;
    if cipher_list {
        let suites = usize::from(r.be16()?);
        check(suites >= 2 && suites % 2 == 0)?;
        within(r, suites + 1, end)?;
        r.skip(suites)?;
        let methods = usize::from(r.u8()?);
        check(methods >= 1)?;
        within(r, methods, end)?;
        r.skip(methods)
    } else {
        within(r, 3, end)?;
        r.skip(3)
    }
}

/// The next `n` bytes end at or before `end`.
fn within(r: &Reader<'_>, n: usize, end: usize) -> Result<(), Stop> {
    check(r.pos() + n <= end)
}

/// The extensions block: its end, which must be the hello's (no extensions: `end` itself).
fn extensions_end(r: &mut Reader<'_>, end: usize) -> Result<usize, Stop> {
    if r.pos() == end {
        return Ok(end);
    }
    within(r, 2, end)?;
    let total = usize::from(r.be16()?);
    check(r.pos() + total == end)?;
    Ok(end)
}

/// A ClientHello in a handshake record of `rec_len` bytes: decided once its legacy version is
/// read, then told more of as far as the captured bytes go.
fn client_hello(p: &[u8], rec_len: usize) -> Verdict {
    let end = hello_end(p, rec_len)?;
    let mut hello = AppHint::of(Hint::TlsClientHello, hello_version(p)?);
    let mut sni_known = false;
    match client_hello_rest(p, end, &mut hello, &mut sni_known) {
        Ok(()) => Ok(hello),
        // The capture ends inside the hello: what was read stands.
        Err(Stop::Short) if p.len() < end => {
            if !sni_known {
                hello.extra |= SNI_CUT;
            }
            Ok(hello)
        }
        Err(_) => Err(Stop::No),
    }
}

/// The ClientHello after its legacy version, to `end`: fills in the version offered and the
/// server name; `sni_known` once whether there is a name has been settled.
fn client_hello_rest(
    p: &[u8],
    end: usize,
    hello: &mut AppHint,
    sni_known: &mut bool,
) -> Result<(), Stop> {
    let mut r = Reader::at(p, field::RANDOM.start);
    hello_fixed(&mut r, end, true)?;
    let ext_end = extensions_end(&mut r, end)?;
    while r.pos() < ext_end {
        within(&r, 4, ext_end)?;
        let ty = r.be16()?;
        let len = usize::from(r.be16()?);
        within(&r, len, ext_end)?;
        let data_end = r.pos() + len;
        match ty {
            SERVER_NAME if !*sni_known => {
                server_name(Reader::at(p, r.pos()), data_end, hello)?;
                *sni_known = true;
            }
            SUPPORTED_VERSIONS => {
                let mut v = Reader::at(p, r.pos());
                let n = usize::from(v.u8()?);
                check(n >= 2 && n % 2 == 0 && 1 + n == len)?;
                let mut best = 0u16;
                for _ in 0..n / 2 {
                    let offered = v.be16()?;
                    if !grease(offered) {
                        best = best.max(offered);
                    }
                }
                if best != 0 {
                    hello.version = best;
                }
            }
            _ => {}
        }
        r = Reader::at(p, data_end);
    }
    // Past the extensions, the capture may end: the hello is read.
    Ok(())
}

/// The server_name extension's data, from `r` to `end`: records the first host_name's span in
/// `hello` (none for a zero-length name; [`SNI_CUT`] for one too long to report).
fn server_name(mut r: Reader<'_>, end: usize, hello: &mut AppHint) -> Result<(), Stop> {
    within(&r, 2, end)?;
    let list = usize::from(r.be16()?);
    check(list >= 3 && r.pos() + list == end)?;
    while r.pos() < end {
        within(&r, 3, end)?;
        let ty = r.u8()?;
        let len = usize::from(r.be16()?);
        within(&r, len, end)?;
        let at = r.pos();
        if ty == HOST_NAME {
            if len == 0 {
                return Ok(());
            }
            r.skip(len)?;
            match (u16::try_from(at), u8::try_from(len)) {
                (Ok(off), Ok(n)) => {
                    hello.name_off = off;
                    hello.name_len = n;
                }
                _ => hello.extra |= SNI_CUT,
            }
            return Ok(());
        }
        r.skip(len)?;
    }
    Ok(())
}

/// A ServerHello in a handshake record of `rec_len` bytes: Short until the version chosen is
/// known (its supported_versions extension, or the end of its extensions).
fn server_hello(p: &[u8], rec_len: usize) -> Verdict {
    let end = hello_end(p, rec_len)?;
    let legacy = hello_version(p)?;
    let mut r = Reader::at(p, field::RANDOM.start);
    let found = (|| {
        hello_fixed(&mut r, end, false)?;
        let ext_end = extensions_end(&mut r, end)?;
        while r.pos() < ext_end {
            within(&r, 4, ext_end)?;
            let ty = r.be16()?;
            let len = usize::from(r.be16()?);
            within(&r, len, ext_end)?;
            if ty == SUPPORTED_VERSIONS {
                check(len == 2)?;
                return r.be16();
            }
            r.skip(len)?;
        }
        Ok(legacy)
    })();
    match found {
        Ok(v) => Ok(AppHint::of(Hint::TlsServerHello, v)),
        // Cut by the capture inside the hello; a length that runs past a whole hello is not one.
        Err(Stop::Short) if p.len() < end => Err(Stop::Short),
        Err(_) => Err(Stop::No),
    }
}

/// An SSL 2.0 CLIENT-HELLO with a two-byte record header (the payload's first byte has its high
/// bit set): the version it offers.
pub(super) fn sslv2(p: &[u8]) -> Verdict {
    let mut r = Reader::new(p);
    // Record length (15 bits), then MSG-CLIENT-HELLO.
    let len = usize::from(r.be16()? & 0x7fff);
    r.expect(1)?;
    let version = r.be16()?;
    check(version == 0x0002 || (0x0300..=0x0303).contains(&version))?;
    let ciphers = usize::from(r.be16()?);
    let session = usize::from(r.be16()?);
    let challenge = usize::from(r.be16()?);
    // Cipher specs are 3 bytes each; a session id is 16 bytes; the challenge 16 to 32.
    check(ciphers >= 3 && ciphers % 3 == 0)?;
    check(session == 0 || session == 16)?;
    check((16..=32).contains(&challenge))?;
    check(len == 9 + ciphers + session + challenge)?;
    Ok(AppHint::of(Hint::Ssl2ClientHello, version))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{hint, samples, tcp, with};
    use super::super::*;
    use super::{SERVER_NAME, SUPPORTED_VERSIONS, grease};

    /// curl 7.88.1 (OpenSSL 3.0) to `openssl s_server`, `--tlsv1.3`, server name
    /// audit.example.test: offers TLS 1.3 (supported_versions), legacy version 3.3.
    #[rustfmt::skip]
    pub(crate) const CLIENT_HELLO_13: &[u8] = &[
        0x16, 0x03, 0x01, 0x02, 0x00, // record: handshake (22), version 3.1, 512 bytes
        0x01, 0x00, 0x01, 0xfc, // ClientHello (1), 508 bytes
        0x03, 0x03, // legacy version 3.3
        0x4c, 0x38, 0x60, 0x29, 0x1b, 0x87, 0xde, 0xf7, 0xe2, 0x34, // random, 32 bytes
        0x00, 0x57, 0xa4, 0xe8, 0x49, 0xa8, 0x42, 0x1a, 0xe0, 0xca,
        0xa8, 0xa8, 0xb1, 0x77, 0x02, 0xaa, 0x03, 0xe5, 0x92, 0xda,
        0xf8, 0xc5,
        0x20, 0x08, 0x21, 0x03, 0x00, 0x34, 0xf3, 0x10, 0x85, 0x90, 0xf7, 0xe1, // session id, 32 bytes
        0x6a, 0xe2, 0x5b, 0x1b, 0xe3, 0x6f, 0xb0, 0xf9, 0x72, 0x94, 0x5f, 0x2f,
        0x11, 0xce, 0x4c, 0xcb, 0x8d, 0x74, 0xa3, 0xcb, 0x37,
        0x00, 0x08, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01, 0x00, 0xff, // cipher suites, 8 bytes
        0x01, 0x00, // compression methods: 1 (null)
        0x01, 0xab, // extensions, 427 bytes
        0x00, 0x00, 0x00, 0x17, // extension server_name (0), 23 bytes
        0x00, 0x15, // server_name_list, 21 bytes
        0x00, 0x00, 0x12, // host_name (0), 18 bytes:
        0x61, 0x75, 0x64, 0x69, 0x74, 0x2e, 0x65, 0x78, 0x61, 0x6d, // "audit.example.test"
        0x70, 0x6c, 0x65, 0x2e, 0x74, 0x65, 0x73, 0x74,
        0x00, 0x0b, 0x00, 0x04, // extension ec_point_formats (11), 4 bytes
        0x03, 0x00, 0x01, 0x02,
        0x00, 0x0a, 0x00, 0x16, // extension supported_groups (10), 22 bytes
        0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19,
        0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03,
        0x01, 0x04,
        0x00, 0x10, 0x00, 0x0e, // extension application_layer_protocol_negotiation (16), 14 bytes
        0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70,
        0x2f, 0x31, 0x2e, 0x31,
        0x00, 0x16, 0x00, 0x00, // extension encrypt_then_mac (22), 0 bytes
        0x00, 0x17, 0x00, 0x00, // extension extended_master_secret (23), 0 bytes
        0x00, 0x31, 0x00, 0x00, // extension post_handshake_auth (49), 0 bytes
        0x00, 0x0d, 0x00, 0x1e, // extension signature_algorithms (13), 30 bytes
        0x00, 0x1c, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
        0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04,
        0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01,
        0x00, 0x2b, 0x00, 0x03, // extension supported_versions (43), 3 bytes
        0x02, 0x03, 0x04, // versions: 0x0304
        0x00, 0x2d, 0x00, 0x02, // extension psk_key_exchange_modes (45), 2 bytes
        0x01, 0x01,
        0x00, 0x33, 0x00, 0x26, // extension key_share (51), 38 bytes
        0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0xb5, 0xb8, 0x31, 0x74,
        0x18, 0x8a, 0xad, 0x8a, 0xa2, 0xed, 0x46, 0xd4, 0x30, 0xed,
        0xed, 0x3d, 0xd3, 0xd3, 0x4e, 0xb0, 0x66, 0x77, 0x33, 0xd5,
        0x81, 0xca, 0xd4, 0xb1, 0xa1, 0xf5, 0xcc, 0x04,
        0x00, 0x15, 0x00, 0xf3, // extension padding (21), 243 bytes
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00,
    ];

    /// curl 7.88.1, `--tls-max 1.2`, server name audit.example.test: no supported_versions,
    /// legacy version 3.3.
    #[rustfmt::skip]
    pub(crate) const CLIENT_HELLO_12: &[u8] = &[
        0x16, 0x03, 0x01, 0x00, 0xe0, // record: handshake (22), version 3.1, 224 bytes
        0x01, 0x00, 0x00, 0xdc, // ClientHello (1), 220 bytes
        0x03, 0x03, // legacy version 3.3
        0x15, 0x75, 0x0b, 0x25, 0x7a, 0x7d, 0xa2, 0x67, 0x8d, 0x2d, // random, 32 bytes
        0x43, 0xa2, 0xd0, 0x08, 0xb0, 0xa9, 0xc4, 0x0c, 0xb3, 0x0f,
        0xbb, 0x91, 0x48, 0xd6, 0xf1, 0x08, 0x68, 0x11, 0x05, 0x78,
        0x0d, 0x8b,
        0x00, // session id, 0 bytes
        0x00, 0x38, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, // cipher suites, 56 bytes
        0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e,
        0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27,
        0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09,
        0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
        0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff,
        0x01, 0x00, // compression methods: 1 (null)
        0x00, 0x7b, // extensions, 123 bytes
        0x00, 0x00, 0x00, 0x17, // extension server_name (0), 23 bytes
        0x00, 0x15, // server_name_list, 21 bytes
        0x00, 0x00, 0x12, // host_name (0), 18 bytes:
        0x61, 0x75, 0x64, 0x69, 0x74, 0x2e, 0x65, 0x78, 0x61, 0x6d, // "audit.example.test"
        0x70, 0x6c, 0x65, 0x2e, 0x74, 0x65, 0x73, 0x74,
        0x00, 0x0b, 0x00, 0x04, // extension ec_point_formats (11), 4 bytes
        0x03, 0x00, 0x01, 0x02,
        0x00, 0x0a, 0x00, 0x0c, // extension supported_groups (10), 12 bytes
        0x00, 0x0a, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19,
        0x00, 0x18,
        0x00, 0x10, 0x00, 0x0e, // extension application_layer_protocol_negotiation (16), 14 bytes
        0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70,
        0x2f, 0x31, 0x2e, 0x31,
        0x00, 0x16, 0x00, 0x00, // extension encrypt_then_mac (22), 0 bytes
        0x00, 0x17, 0x00, 0x00, // extension extended_master_secret (23), 0 bytes
        0x00, 0x0d, 0x00, 0x2a, // extension signature_algorithms (13), 42 bytes
        0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
        0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04,
        0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01,
        0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02,
        0x06, 0x02,
    ];

    /// curl 7.88.1 to https://127.0.0.1:4433/ (an address: no server_name), TLS 1.3.
    #[rustfmt::skip]
    pub(crate) const CLIENT_HELLO_NO_SNI: &[u8] = &[
        0x16, 0x03, 0x01, 0x02, 0x00, // record: handshake (22), version 3.1, 512 bytes
        0x01, 0x00, 0x01, 0xfc, // ClientHello (1), 508 bytes
        0x03, 0x03, // legacy version 3.3
        0x7b, 0xb5, 0x0c, 0xdc, 0x32, 0x72, 0xdb, 0x48, 0xfc, 0x89, // random, 32 bytes
        0x11, 0x2e, 0x44, 0x9a, 0x94, 0x75, 0x68, 0x6f, 0x1e, 0x39,
        0x94, 0xc6, 0x0f, 0x94, 0x1c, 0x22, 0x43, 0x1c, 0xd4, 0x43,
        0xac, 0x9c,
        0x20, 0xd5, 0x30, 0x5d, 0xdc, 0x3d, 0x0b, 0x40, 0x6f, 0xf0, 0x96, 0xf5, // session id, 32 bytes
        0xa6, 0x13, 0x0d, 0xd7, 0x44, 0x1e, 0xc9, 0xad, 0xe7, 0x9a, 0xcf, 0xa8,
        0xc1, 0xdd, 0xa5, 0x7d, 0xee, 0xca, 0x8c, 0x8d, 0x5f,
        0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, // cipher suites, 62 bytes
        0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
        0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28,
        0x00, 0x6b, 0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a,
        0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33,
        0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c, 0x00, 0x35,
        0x00, 0x2f, 0x00, 0xff,
        0x01, 0x00, // compression methods: 1 (null)
        0x01, 0x75, // extensions, 373 bytes
        0x00, 0x0b, 0x00, 0x04, // extension ec_point_formats (11), 4 bytes
        0x03, 0x00, 0x01, 0x02,
        0x00, 0x0a, 0x00, 0x16, // extension supported_groups (10), 22 bytes
        0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19,
        0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03,
        0x01, 0x04,
        0x00, 0x10, 0x00, 0x0e, // extension application_layer_protocol_negotiation (16), 14 bytes
        0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70,
        0x2f, 0x31, 0x2e, 0x31,
        0x00, 0x16, 0x00, 0x00, // extension encrypt_then_mac (22), 0 bytes
        0x00, 0x17, 0x00, 0x00, // extension extended_master_secret (23), 0 bytes
        0x00, 0x31, 0x00, 0x00, // extension post_handshake_auth (49), 0 bytes
        0x00, 0x0d, 0x00, 0x2a, // extension signature_algorithms (13), 42 bytes
        0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
        0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04,
        0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01,
        0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02,
        0x06, 0x02,
        0x00, 0x2b, 0x00, 0x09, // extension supported_versions (43), 9 bytes
        0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, // versions: 0x0304, 0x0303, 0x0302, 0x0301
        0x00, 0x2d, 0x00, 0x02, // extension psk_key_exchange_modes (45), 2 bytes
        0x01, 0x01,
        0x00, 0x33, 0x00, 0x26, // extension key_share (51), 38 bytes
        0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x55, 0x65, 0xb2, 0xe1,
        0xaf, 0x11, 0x52, 0x5b, 0xa7, 0x8c, 0x37, 0x46, 0x5b, 0x61,
        0xf6, 0x16, 0xbd, 0x6f, 0x60, 0xf6, 0x48, 0xef, 0xad, 0xc6,
        0x8e, 0x64, 0x52, 0x45, 0x95, 0x2c, 0xfb, 0x02,
        0x00, 0x15, 0x00, 0xc6, // extension padding (21), 198 bytes
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// `openssl s_server`'s ServerHello to CLIENT_HELLO_13: TLS 1.3 chosen in supported_versions
    /// (the segment's first record; ChangeCipherSpec and encrypted records follow it).
    #[rustfmt::skip]
    pub(crate) const SERVER_HELLO_13: &[u8] = &[
        0x16, 0x03, 0x03, 0x00, 0x7a, // record: handshake (22), version 3.3, 122 bytes
        0x02, 0x00, 0x00, 0x76, // ServerHello (2), 118 bytes
        0x03, 0x03, // legacy version 3.3
        0x17, 0x2e, 0x8a, 0x23, 0x82, 0x20, 0x56, 0x62, 0xd8, 0x1c, // random, 32 bytes
        0xbd, 0x99, 0xca, 0x51, 0x04, 0x2e, 0x26, 0x82, 0x58, 0x06,
        0xbe, 0x2a, 0xdd, 0xad, 0x4a, 0xc0, 0xea, 0x91, 0xae, 0xcb,
        0xd1, 0x20,
        0x20, 0x08, 0x21, 0x03, 0x00, 0x34, 0xf3, 0x10, 0x85, 0x90, 0xf7, 0xe1, // session id, 32 bytes
        0x6a, 0xe2, 0x5b, 0x1b, 0xe3, 0x6f, 0xb0, 0xf9, 0x72, 0x94, 0x5f, 0x2f,
        0x11, 0xce, 0x4c, 0xcb, 0x8d, 0x74, 0xa3, 0xcb, 0x37,
        0x13, 0x02, // cipher suite 0x1302
        0x00, // compression method: null
        0x00, 0x2e, // extensions, 46 bytes
        0x00, 0x2b, 0x00, 0x02, // extension supported_versions (43), 2 bytes
        0x03, 0x04, // selected: 0x0304
        0x00, 0x33, 0x00, 0x24, // extension key_share (51), 36 bytes
        0x00, 0x1d, 0x00, 0x20, 0x7e, 0x98, 0xdc, 0x78, 0x47, 0x75,
        0xb1, 0x45, 0xaf, 0xae, 0xe4, 0xf1, 0x29, 0xb8, 0x86, 0x7c,
        0x5b, 0xec, 0x73, 0xd5, 0x47, 0x8c, 0x8b, 0x1f, 0xaa, 0x36,
        0x32, 0x28, 0xa6, 0x65, 0xd1, 0x3f,
    ];

    /// `openssl s_server`'s ServerHello to CLIENT_HELLO_12: server_version 3.3, no
    /// supported_versions (the segment's first record; Certificate and the rest follow it).
    #[rustfmt::skip]
    pub(crate) const SERVER_HELLO_12: &[u8] = &[
        0x16, 0x03, 0x03, 0x00, 0x5d, // record: handshake (22), version 3.3, 93 bytes
        0x02, 0x00, 0x00, 0x59, // ServerHello (2), 89 bytes
        0x03, 0x03, // legacy version 3.3
        0x7f, 0xaa, 0xd6, 0x23, 0x05, 0x31, 0x13, 0x3b, 0x9a, 0x1d, // random, 32 bytes
        0x3c, 0x25, 0x1d, 0x33, 0x24, 0x44, 0xd1, 0x48, 0x04, 0x9a,
        0x0d, 0x44, 0xb3, 0xf5, 0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52,
        0x44, 0x01,
        0x20, 0xdf, 0x5e, 0x06, 0xaa, 0xfe, 0x67, 0x85, 0xc3, 0x2e, 0x2b, 0x15, // session id, 32 bytes
        0x88, 0x28, 0xa2, 0xe8, 0xd0, 0x8e, 0x23, 0x12, 0xe5, 0x7f, 0xe1, 0x71,
        0xaa, 0x0c, 0xa9, 0x5c, 0x5b, 0x11, 0x86, 0x56, 0x9e,
        0xc0, 0x2c, // cipher suite 0xc02c
        0x00, // compression method: null
        0x00, 0x11, // extensions, 17 bytes
        0xff, 0x01, 0x00, 0x01, // extension renegotiation_info (65281), 1 bytes
        0x00,
        0x00, 0x0b, 0x00, 0x04, // extension ec_point_formats (11), 4 bytes
        0x03, 0x00, 0x01, 0x02,
        0x00, 0x17, 0x00, 0x00, // extension extended_master_secret (23), 0 bytes
    ];

    /// curl's alert when it does not trust the self-signed certificate (TLS 1.2, before
    /// ChangeCipherSpec, so in the clear).
    #[rustfmt::skip]
    pub(crate) const ALERT_UNKNOWN_CA: &[u8] = &[
        0x15, 0x03, 0x03, 0x00, 0x02, // record: alert (21), version 3.3, 2 bytes
        0x02, 0x30, // fatal (2), unknown_ca (48)
    ];

    /// `openssl s_server`'s close_notify after a TLS 1.2 session: encrypted (AES-GCM).
    #[rustfmt::skip]
    pub(crate) const ALERT_ENCRYPTED_12: &[u8] = &[
        0x15, 0x03, 0x03, 0x00, 0x1a, // record: alert (21), version 3.3, 26 bytes
        0x99, 0x3e, 0xfd, 0x14, 0x67, 0x4f, 0xec, 0xa0, 0xae, 0x36, // encrypted: nonce, close_notify, tag
        0xde, 0x41, 0xf6, 0x7f, 0x73, 0xcf, 0xb1, 0xec, 0x86, 0x0b,
        0x10, 0x78, 0x80, 0x0f, 0xf2, 0x3e,
    ];

    /// curl's TLS 1.3 middlebox-compatibility ChangeCipherSpec, then its encrypted Finished.
    #[rustfmt::skip]
    pub(crate) const CHANGE_CIPHER_SPEC: &[u8] = &[
        0x14, 0x03, 0x03, 0x00, 0x01, // record: change_cipher_spec (20), version 3.3, 1 byte
        0x01, // change_cipher_spec
        0x17, 0x03, 0x03, 0x00, 0x45, // record: application_data (23), version 3.3, 69 bytes
        0x39, 0x2d, 0x84, 0x5e, 0x6f, 0x68, 0x0b, 0xec, 0x11, 0xe2, // encrypted Finished
        0x2d, 0x93, 0xdf, 0x14, 0xf3, 0xc5, 0x35, 0x55, 0x9a, 0xf8,
        0xe4, 0x3f, 0x47, 0x81, 0xc4, 0xf4, 0x34, 0xbc, 0x61, 0x58,
        0x5b, 0x39, 0x41, 0x56, 0xad, 0xc9, 0xa9, 0xf3, 0x75, 0xa0,
        0xe2, 0x7d, 0x01, 0x44, 0x42, 0xd9, 0xc5, 0xcd, 0xce, 0x6e,
        0xfa, 0xb2, 0x1a, 0xd8, 0x7b, 0x8c, 0xf4, 0xa4, 0xdc, 0x4a,
        0xe9, 0xdf, 0x30, 0x02, 0x6d, 0x85, 0xd9, 0xf2, 0x4a,
    ];

    /// A TLS 1.3 application_data record (`openssl s_server`, after the response).
    #[rustfmt::skip]
    pub(crate) const APPLICATION_DATA: &[u8] = &[
        0x17, 0x03, 0x03, 0x00, 0x13, // record: application_data (23), version 3.3, 19 bytes
        0x5c, 0x3f, 0x05, 0x62, 0x5c, 0x69, 0x48, 0xa8, 0x94, 0x3a, // ciphertext
        0x99, 0xdf, 0x9b, 0x4a, 0xd9, 0xeb, 0x21, 0xfa, 0x7e,
    ];

    /// An SSL 2.0 CLIENT-HELLO as RFC 6101 appendix E.1 lays it out (no capture: no client
    /// here still sends one): 2-byte header, 3 cipher specs, no session id, a 16-byte challenge.
    pub(crate) const SSL2_HELLO: &[u8] = &[
        0x80, 0x22, // header: 2-byte form, 34 bytes
        0x01, // MSG-CLIENT-HELLO
        0x00, 0x02, // version 2
        0x00, 0x09, // cipher specs, 9 bytes
        0x00, 0x00, // session id, 0 bytes
        0x00, 0x10, // challenge, 16 bytes
        0x07, 0x00, 0xc0, // SSL_CK_DES_192_EDE3_CBC_WITH_MD5
        0x05, 0x00, 0x80, // SSL_CK_IDEA_128_CBC_WITH_MD5
        0x03, 0x00, 0x80, // SSL_CK_RC2_128_CBC_WITH_MD5
        0x5a, 0x2e, 0x91, 0x0c, 0x33, 0x7d, 0xe4, 0x08, // challenge
        0x61, 0x9b, 0x1f, 0xc4, 0x70, 0x2a, 0xd3, 0x56,
    ];

    /// A TLS 1.0 ClientHello in the SSL 2.0-compatible format (RFC 5246 appendix E.2), as
    /// OpenSSL 0.9.8 sent it by default: 3-byte TLS suites in v2 cipher specs, a 32-byte
    /// challenge.
    pub(crate) const SSL2_COMPAT_HELLO: &[u8] = &[
        0x80, 0x3b, // header: 2-byte form, 59 bytes
        0x01, // MSG-CLIENT-HELLO
        0x03, 0x01, // version 3.1 (TLS 1.0)
        0x00, 0x12, // cipher specs, 18 bytes
        0x00, 0x00, // session id, 0 bytes
        0x00, 0x20, // challenge, 32 bytes
        0x00, 0x00, 0x39, // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
        0x00, 0x00, 0x35, // TLS_RSA_WITH_AES_256_CBC_SHA
        0x00, 0x00, 0x33, // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
        0x00, 0x00, 0x2f, // TLS_RSA_WITH_AES_128_CBC_SHA
        0x00, 0x00, 0x0a, // TLS_RSA_WITH_3DES_EDE_CBC_SHA
        0x00, 0x00, 0xff, // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
        0x4b, 0x12, 0x9c, 0x3e, 0x08, 0xd1, 0x77, 0x20, // challenge
        0x95, 0x6a, 0xf3, 0x41, 0x0e, 0xbc, 0x2d, 0x68, //
        0xc7, 0x13, 0x5f, 0xa0, 0x39, 0xe2, 0x84, 0x1b, //
        0x66, 0xd9, 0x0a, 0x7f, 0xb3, 0x25, 0x4e, 0x90, //
    ];

    /// A ClientHello of CLIENT_HELLO_12's fixed part (version, random, suites) with these
    /// extensions (type, data), in one record.
    fn client_hello(exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let fixed = &CLIENT_HELLO_12[9..104];
        let mut ext = Vec::new();
        for (ty, data) in exts {
            ext.extend(ty.to_be_bytes());
            ext.extend((data.len() as u16).to_be_bytes());
            ext.extend(data);
        }
        let mut body = fixed.to_vec();
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        let mut v = vec![0x16, 0x03, 0x01];
        v.extend(((body.len() + 4) as u16).to_be_bytes());
        v.extend([1, 0]);
        v.extend((body.len() as u16).to_be_bytes());
        v.extend(body);
        v
    }

    /// server_name extension data with one entry of this type and name.
    fn sni(ty: u8, name: &[u8]) -> Vec<u8> {
        let mut v = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        v.push(ty);
        v.extend((name.len() as u16).to_be_bytes());
        v.extend(name);
        v
    }

    /// supported_versions extension data (ClientHello form).
    fn versions(vs: &[u16]) -> Vec<u8> {
        let mut v = vec![(vs.len() * 2) as u8];
        for x in vs {
            v.extend(x.to_be_bytes());
        }
        v
    }

    #[test]
    fn client_hellos_name_and_version() {
        for (p, version) in [(CLIENT_HELLO_13, 0x0304), (CLIENT_HELLO_12, 0x0303)] {
            let h = tcp(p);
            assert_eq!(
                (h.hint, h.version, h.extra),
                (Hint::TlsClientHello, version, 0)
            );
            let at = usize::from(h.name_off);
            assert_eq!(&p[at..at + usize::from(h.name_len)], b"audit.example.test");
            assert_eq!(h.name(p), Some(&b"audit.example.test"[..]));
        }
        let h = tcp(CLIENT_HELLO_NO_SNI);
        assert_eq!((h.version, h.extra, h.name_len), (0x0304, 0, 0));
        assert_eq!(h.name(CLIENT_HELLO_NO_SNI), None);
    }

    #[test]
    fn built_client_hello_matches_the_capture() {
        // The builder's hello with the capture's server_name reads like the capture.
        let v = client_hello(&[(SERVER_NAME, sni(0, b"audit.example.test"))]);
        assert_eq!(tcp(&v).name(&v), Some(&b"audit.example.test"[..]));
        assert_eq!(tcp(&v).version, 0x0303);
    }

    #[test]
    fn grease_versions_are_ignored() {
        let v = client_hello(&[(SUPPORTED_VERSIONS, versions(&[0x7a7a, 0x0304, 0x0303]))]);
        assert_eq!(tcp(&v).version, 0x0304);
        // GREASE above every real version.
        let v = client_hello(&[(SUPPORTED_VERSIONS, versions(&[0xfafa, 0x0303]))]);
        assert_eq!(tcp(&v).version, 0x0303);
        // Only GREASE: the legacy version.
        let v = client_hello(&[(SUPPORTED_VERSIONS, versions(&[0x1a1a]))]);
        assert_eq!(tcp(&v).version, 0x0303);
        // In the capture: 0x0304 (the first listed) turned into GREASE leaves 0x0303.
        let at = 5 + CLIENT_HELLO_NO_SNI
            .windows(6)
            .position(|w| w == [0x00, 0x2b, 0x00, 0x09, 0x08, 0x03])
            .unwrap();
        let v = with(CLIENT_HELLO_NO_SNI, &[(at, 0x4a), (at + 1, 0x4a)]);
        assert_eq!(tcp(&v).version, 0x0303);
        assert!(grease(0x0a0a) && grease(0xfafa) && !grease(0x0a1a) && !grease(0x0304));
    }

    #[test]
    fn server_name_cut_by_the_capture() {
        let h = tcp(CLIENT_HELLO_13);
        let end = usize::from(h.name_off) + usize::from(h.name_len);
        // Cut inside the name, and right before it.
        for n in [end - 1, usize::from(h.name_off)] {
            let cut = tcp(&CLIENT_HELLO_13[..n]);
            assert_eq!(
                (cut.hint, cut.extra, cut.name_len, cut.name_off),
                (Hint::TlsClientHello, SNI_CUT, 0, 0)
            );
        }
        // The whole name captured: reported even though the rest of the hello is cut.
        let cut = tcp(&CLIENT_HELLO_13[..end]);
        assert_eq!(
            (cut.extra, cut.name(&CLIENT_HELLO_13[..end])),
            (0, h.name(CLIENT_HELLO_13))
        );
    }

    #[test]
    fn hello_cut_before_its_extensions_is_sni_cut() {
        // Right after the legacy version: decided, with the legacy version.
        let h = tcp(&CLIENT_HELLO_13[..11]);
        assert_eq!(
            (h.hint, h.version, h.extra),
            (Hint::TlsClientHello, 0x0303, SNI_CUT)
        );
        // One byte less: not decided yet.
        assert_eq!(tcp(&CLIENT_HELLO_13[..10]).hint, Hint::Short);
        // CLIENT_HELLO_NO_SNI cut among its extensions: whether there is a name is unknown.
        assert_eq!(tcp(&CLIENT_HELLO_NO_SNI[..150]).extra, SNI_CUT);
        // Cut inside its last extension's data (padding): every extension type was read, so
        // there is no name.
        let n = CLIENT_HELLO_NO_SNI.len() - 3;
        assert_eq!(tcp(&CLIENT_HELLO_NO_SNI[..n]).extra, 0);
    }

    #[test]
    fn zero_length_host_name_is_no_name() {
        let v = client_hello(&[(SERVER_NAME, sni(0, b""))]);
        let h = tcp(&v);
        assert_eq!((h.hint, h.extra, h.name_len), (Hint::TlsClientHello, 0, 0));
    }

    #[test]
    fn other_name_types_are_not_a_host_name() {
        let v = client_hello(&[(SERVER_NAME, sni(1, b"audit.example.test"))]);
        let h = tcp(&v);
        assert_eq!((h.hint, h.extra, h.name_len), (Hint::TlsClientHello, 0, 0));
    }

    #[test]
    fn name_longer_than_255_is_sni_cut() {
        let long = [b'a'; 256];
        let v = client_hello(&[(SERVER_NAME, sni(0, &long))]);
        let h = tcp(&v);
        assert_eq!(
            (h.hint, h.extra, h.name_len),
            (Hint::TlsClientHello, SNI_CUT, 0)
        );
        let v = client_hello(&[(SERVER_NAME, sni(0, &long[..255]))]);
        assert_eq!(tcp(&v).name(&v), Some(&long[..255]));
    }

    #[test]
    fn first_host_name_only() {
        // A second server_name extension does not replace the first's name.
        let v = client_hello(&[
            (SERVER_NAME, sni(0, b"first.test")),
            (SERVER_NAME, sni(0, b"second.test")),
        ]);
        assert_eq!(tcp(&v).name(&v), Some(&b"first.test"[..]));
    }

    #[test]
    fn hello_without_extensions() {
        let mut v = CLIENT_HELLO_12[..104].to_vec();
        let body = (104 - 9) as u16;
        v[3..5].copy_from_slice(&(body + 4).to_be_bytes());
        v[7..9].copy_from_slice(&body.to_be_bytes());
        assert_eq!(tcp(&v), hint(Hint::TlsClientHello, 0x0303));
    }

    #[test]
    fn extension_running_past_the_hello_is_not_a_hello() {
        // server_name's length (bytes 108..110 of CLIENT_HELLO_12) past the extensions.
        let v = with(CLIENT_HELLO_12, &[(108, 0x01), (109, 0x00)]);
        assert_eq!(tcp(&v), hint(Hint::TlsOther, 0x0301));
        // The name's own length past its list.
        let v = with(CLIENT_HELLO_12, &[(113, 0x00), (114, 0x40)]);
        assert_eq!(tcp(&v), hint(Hint::TlsOther, 0x0301));
    }

    #[test]
    fn extensions_length_not_the_hellos() {
        let v = with(CLIENT_HELLO_12, &[(105, CLIENT_HELLO_12[105] - 1)]);
        assert_eq!(tcp(&v), hint(Hint::TlsOther, 0x0301));
    }

    #[test]
    fn handshake_length_past_the_record() {
        let v = with(CLIENT_HELLO_12, &[(8, CLIENT_HELLO_12[8] + 1)]);
        assert_eq!(tcp(&v), hint(Hint::TlsOther, 0x0301));
    }

    #[test]
    fn session_id_longer_than_32() {
        let v = with(CLIENT_HELLO_12, &[(43, 33)]);
        assert_eq!(tcp(&v), hint(Hint::TlsOther, 0x0301));
    }

    #[test]
    fn odd_cipher_suites_length() {
        let v = with(CLIENT_HELLO_12, &[(45, 0x37)]);
        assert_eq!(tcp(&v), hint(Hint::TlsOther, 0x0301));
    }

    #[test]
    fn hello_version_out_of_range() {
        for v in [[0x03, 0x04], [0x02, 0x00], [0x7f, 0x1c]] {
            let p = with(CLIENT_HELLO_12, &[(9, v[0]), (10, v[1])]);
            assert_eq!(tcp(&p), hint(Hint::TlsOther, 0x0301), "{v:?}");
            let p = with(SERVER_HELLO_12, &[(9, v[0]), (10, v[1])]);
            assert_eq!(tcp(&p), hint(Hint::TlsOther, 0x0303), "{v:?}");
        }
    }

    #[test]
    fn record_type_out_of_range() {
        for ty in [0x13, 0x19] {
            assert_eq!(tcp(&with(APPLICATION_DATA, &[(0, ty)])).hint, Hint::None);
        }
    }

    #[test]
    fn record_version_out_of_range() {
        assert_eq!(tcp(&with(APPLICATION_DATA, &[(1, 2)])).hint, Hint::None);
        assert_eq!(tcp(&with(APPLICATION_DATA, &[(2, 4)])).hint, Hint::None);
    }

    #[test]
    fn record_longer_than_tls_allows() {
        // 2^14 + 2048 is the most; one more is not TLS.
        let at_max = with(APPLICATION_DATA, &[(3, 0x48), (4, 0x00)]);
        assert_eq!(tcp(&at_max), hint(Hint::TlsOther, 0x0303));
        assert_eq!(
            tcp(&with(APPLICATION_DATA, &[(3, 0x48), (4, 0x01)])).hint,
            Hint::None
        );
    }

    #[test]
    fn change_cipher_spec_must_be_one_byte_of_1() {
        assert_eq!(tcp(&with(CHANGE_CIPHER_SPEC, &[(4, 2)])).hint, Hint::None);
        assert_eq!(tcp(&with(CHANGE_CIPHER_SPEC, &[(5, 2)])).hint, Hint::None);
    }

    #[test]
    fn alert_level_and_length() {
        assert_eq!(tcp(&with(ALERT_UNKNOWN_CA, &[(5, 3)])).hint, Hint::None);
        assert_eq!(tcp(&with(ALERT_UNKNOWN_CA, &[(4, 1)])).hint, Hint::None);
        let warning = tcp(&with(ALERT_UNKNOWN_CA, &[(5, 1), (6, 0)]));
        assert_eq!((warning.hint, warning.extra), (Hint::TlsAlert, 0));
    }

    #[test]
    fn server_hello_supported_versions_must_be_2_bytes() {
        let ext = SERVER_HELLO_13
            .windows(4)
            .position(|w| w == [0x00, 0x2b, 0x00, 0x02])
            .unwrap();
        let v = with(SERVER_HELLO_13, &[(ext + 3, 3)]);
        assert_eq!(tcp(&v), hint(Hint::TlsOther, 0x0303));
        // Cut before it: not known yet.
        assert_eq!(tcp(&SERVER_HELLO_13[..ext + 5]).hint, Hint::Short);
    }

    #[test]
    fn encrypted_handshake_starting_like_a_hello() {
        // A TLS 1.2 encrypted Finished whose first ciphertext byte is 1 or 2: another
        // handshake record.
        let mut v = vec![0x16, 0x03, 0x03, 0x00, 0x28];
        v.extend([0x01, 0x9f, 0x3c, 0x77, 0x12, 0x80, 0x03, 0x03]);
        v.extend([0x5a; 32]);
        assert_eq!(tcp(&v), hint(Hint::TlsOther, 0x0303));
        v[5] = 0x02;
        assert_eq!(tcp(&v), hint(Hint::TlsOther, 0x0303));
        v[5] = 0x14;
        assert_eq!(tcp(&v), hint(Hint::TlsOther, 0x0303));
    }

    #[test]
    fn tls_is_tcp_only() {
        for (name, p, over_tcp, want) in samples() {
            if over_tcp && name.starts_with("tls") {
                assert_ne!(recognise(p, false).hint, want.hint, "{name}");
            }
        }
    }

    #[test]
    fn sslv2_wrong_message_type() {
        assert_eq!(tcp(&with(SSL2_HELLO, &[(2, 4)])).hint, Hint::None);
    }

    #[test]
    fn sslv2_wrong_version() {
        assert_eq!(tcp(&with(SSL2_HELLO, &[(4, 3)])).hint, Hint::None);
        assert_eq!(tcp(&with(SSL2_COMPAT_HELLO, &[(4, 4)])).hint, Hint::None);
    }

    #[test]
    fn sslv2_cipher_specs_not_a_multiple_of_3() {
        assert_eq!(
            tcp(&with(SSL2_HELLO, &[(6, 10), (1, 0x23)])).hint,
            Hint::None
        );
    }

    #[test]
    fn sslv2_challenge_out_of_range() {
        assert_eq!(
            tcp(&with(SSL2_HELLO, &[(10, 8), (1, 0x1a)])).hint,
            Hint::None
        );
        assert_eq!(tcp(&with(SSL2_HELLO, &[(8, 8)])).hint, Hint::None);
    }

    #[test]
    fn sslv2_length_not_its_parts() {
        assert_eq!(tcp(&with(SSL2_HELLO, &[(1, 0x21)])).hint, Hint::None);
    }
}
