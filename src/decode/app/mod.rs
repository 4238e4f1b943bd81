//! Application-protocol recognisers: what application message the payload of one TCP segment or
//! UDP datagram begins with, from its bytes alone.
//!
//! Stateless and port-blind: [`recognise`] sees the captured payload bytes of one packet and
//! nothing else (no flow, no reassembly, no port), so the same bytes always give the same
//! [`AppHint`]. It runs on every payload-bearing packet in the reader thread, so it is built to
//! be cheap on what most packets carry, data in the middle of a stream:
//!
//! - the first payload byte picks the few recognisers that can start with it (a TLS record type,
//!   a TPKT version, a BER tag, a NetBIOS message type, a letter of a text protocol); each checks
//!   its fixed magic first, so typical mid-stream bytes are turned away in a handful of
//!   comparisons;
//! - DNS, whose first bytes are a random ID (over UDP) or a length (over TCP), is tried last for
//!   every first byte, and only when the others said no (not when one of them was cut short);
//!   its header (opcode, question count, counts, rcode) turns random bytes away by the sixth
//!   byte.
//!
//! Each protocol has its own file, in the style of the layer decoders beside this folder: a
//! `mod field` of byte ranges for its fixed header (one doc line per field, with its unit), the
//! code that reads it in place through a bounds-checked [`Reader`], and tests from annotated
//! byte arrays of real messages. Nothing allocates, nothing is `unsafe`, and no input panics:
//! every read is checked against the captured length.
//!
//! A recogniser answers with a verdict (an [`AppHint`]), or stops: [`Stop::No`] when the bytes
//! cannot be its message, [`Stop::Short`] when the captured bytes end before it could decide
//! and what was there fits. The dispatch returns the first verdict; when there is none, it says
//! [`Hint::Short`] if some recogniser was cut short, else [`Hint::None`]. One exception keeps a
//! cut message useful: a TLS ClientHello is decided once its legacy version is read, and a
//! capture that ends before its extensions have all been read says so with [`SNI_CUT`].
//!
//! What the bytes alone cannot tell apart is reported as its most common owner: an FTP server's
//! `220 ` greeting has the shape of an SMTP one ([`Hint::SmtpBanner`]), and a CLDAP message (LDAP
//! over UDP) is an [`Hint::LdapRequest`] or [`Hint::LdapResponse`] like one over TCP.

mod dns;
mod http;
mod kerberos;
mod ldap;
mod quic;
mod rdp;
mod smb;
mod smtp;
mod ssh;
mod tds;
#[cfg(test)]
mod tests;
mod tls;

/// What a packet's payload begins with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Hint {
    /// No payload, or bytes no recogniser knows.
    #[default]
    None,
    /// The captured bytes end before any recogniser could decide, and they could still be the
    /// start of one of the protocols below.
    Short,
    /// TLS handshake record holding a ClientHello.
    TlsClientHello,
    /// TLS handshake record holding a ServerHello (a HelloRetryRequest too).
    TlsServerHello,
    /// TLS alert record.
    TlsAlert,
    /// Another valid TLS record: ChangeCipherSpec, application data, heartbeat, another
    /// handshake message (or an encrypted one).
    TlsOther,
    /// SSL 2.0 CLIENT-HELLO, or a TLS ClientHello in the SSL 2.0-compatible format.
    Ssl2ClientHello,
    /// HTTP/1.x request line.
    HttpRequest,
    /// HTTP/1.x status line.
    HttpResponse,
    /// HTTP/2 client connection preface.
    Http2Preface,
    /// SSH protocol version exchange line.
    SshBanner,
    /// SMB1 message over NetBIOS session service framing.
    Smb1,
    /// SMB2/SMB3 message.
    Smb2,
    /// SMB3 transform header (an encrypted message).
    Smb3Transform,
    /// SMTP server greeting (`220`).
    SmtpBanner,
    /// SMTP client `EHLO` or `HELO`.
    SmtpHelo,
    /// MS-TDS PRELOGIN, the client's or the server's answer.
    TdsPrelogin,
    /// Another MS-TDS packet (a PRELOGIN carrying a TLS handshake too).
    TdsOther,
    /// DNS query.
    DnsQuery,
    /// DNS response.
    DnsResponse,
    /// QUIC long-header packet (version negotiation included).
    QuicLong,
    /// RDP X.224 Connection Request.
    RdpRequest,
    /// RDP X.224 Connection Confirm.
    RdpConfirm,
    /// LDAP request.
    LdapRequest,
    /// LDAP response.
    LdapResponse,
    /// Kerberos AS-REQ or TGS-REQ.
    KrbRequest,
    /// Kerberos AS-REP, TGS-REP or KRB-ERROR.
    KrbReply,
}

/// A recogniser's verdict on one payload. 12 bytes or less.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppHint {
    pub hint: Hint,
    /// By hint: TLS ClientHello: the highest version offered (supported_versions extension,
    /// GREASE values 0x?a?a ignored, else the legacy client_version; the legacy one too when the
    /// capture ends before supported_versions was read), e.g. 0x0304; ServerHello: the version
    /// chosen (supported_versions if present, else server_version); TlsAlert/TlsOther: the
    /// record version; Ssl2ClientHello: the version it offers (0x0002, or 0x0300/0x0301... in a
    /// v2-compatible hello); Smb2: the dialect (response: DialectRevision; request: the highest
    /// dialect listed; 0 for other commands); Smb1: 0x0100; SshBanner: 0x0200 for "SSH-2.0-",
    /// 0x0163 for "SSH-1.99-", 0x0105 for "SSH-1.5-"; QuicLong: the high 16 bits of the version;
    /// RdpRequest: requestedProtocols (low 16 bits; 0 without an RDP_NEG_REQ), RdpConfirm:
    /// selectedProtocol (low 16 bits; 0 without an RDP_NEG_RSP, [`RDP_NEG_FAILURE`] for a
    /// negotiation failure); TdsPrelogin: the ENCRYPTION option value (0 off, 1 on, 2 not
    /// supported, 3 required; [`TDS_NO_ENCRYPTION`] absent). Others 0.
    pub version: u16,
    /// QuicLong: the low 16 bits of the version; Smb2: 1 for a response; TdsPrelogin: 1 for the
    /// server's response (TDS type 0x04), 0 for the client's (type 0x12); TlsAlert: the alert
    /// description ([`ALERT_ENCRYPTED`] when the alert is encrypted); TlsClientHello: flags
    /// [`SNI_CUT`]. Others 0.
    pub extra: u16,
    /// TlsClientHello: where the first host_name of the server_name extension lies in the
    /// payload, when all of it was captured: offset from the payload's first byte, and length
    /// (0: none). A name longer than 255 bytes or past offset 65535 is reported as [`SNI_CUT`]
    /// instead.
    pub name_off: u16,
    pub name_len: u8,
}

/// TlsClientHello flag: a server_name extension is announced but its name lies past the
/// captured bytes, or the hello is cut before the extensions were all read, so whether there is
/// one is unknown.
pub const SNI_CUT: u16 = 1;

/// TlsAlert extra of an alert record longer than the 2 bytes of a plaintext alert: its level and
/// description are encrypted.
pub const ALERT_ENCRYPTED: u16 = 0xffff;

/// RdpConfirm version of an RDP_NEG_FAILURE.
pub const RDP_NEG_FAILURE: u16 = 0xffff;

/// TdsPrelogin version when the PRELOGIN has no ENCRYPTION option.
pub const TDS_NO_ENCRYPTION: u16 = 0xffff;

impl AppHint {
    /// A verdict with its version; extra and name zero.
    const fn of(hint: Hint, version: u16) -> AppHint {
        AppHint {
            hint,
            version,
            extra: 0,
            name_off: 0,
            name_len: 0,
        }
    }

    /// The server name's bytes in `payload` (the one this hint was made from), if there is one.
    pub fn name<'a>(&self, payload: &'a [u8]) -> Option<&'a [u8]> {
        if self.name_len == 0 {
            return None;
        }
        let start = usize::from(self.name_off);
        payload.get(start..start + usize::from(self.name_len))
    }
}

/// What the payload of a TCP segment (`tcp`) or a UDP datagram begins with.
pub fn recognise(payload: &[u8], tcp: bool) -> AppHint {
    let Some(&first) = payload.first() else {
        return AppHint::default();
    };
    let verdict = if tcp {
        over_tcp(first, payload)
    } else {
        over_udp(first, payload)
    };
    match verdict {
        Ok(h) => h,
        Err(Stop::Short) => AppHint::of(Hint::Short, 0),
        Err(Stop::No) => AppHint::default(),
    }
}

/// The recognisers a TCP payload starting with `first` can be, most specific first; DNS (whose
/// first byte is the high byte of a length) last.
#[inline]
fn over_tcp(first: u8, p: &[u8]) -> Verdict {
    let specific = match first {
        // NetBIOS session message, Kerberos record mark, DNS length.
        0x00 => or(smb::recognise(p), || kerberos::over_tcp(p)),
        // TPKT version 3 (and reserved byte 0), else a TDS RPC packet.
        0x03 => match rdp::recognise(p) {
            Err(Stop::No) => tds::recognise(p),
            v => v,
        },
        0x01..=0x12 => tds::recognise(p),
        0x14..=0x18 => tls::record(p),
        0x30 => ldap::recognise(p),
        0x80..=0xff => tls::sslv2(p),
        b'S' => or(ssh::recognise(p), || http::request(p)),
        b'H' => or(http::response(p), || or(smtp::helo(p), || http::request(p))),
        b'P' => or(http::preface(p), || http::request(p)),
        b'E' => or(smtp::helo(p), || http::request(p)),
        b'e' | b'h' => smtp::helo(p),
        b'A'..=b'Z' => http::request(p),
        b'2' => smtp::banner(p),
        _ => Err(Stop::No),
    };
    or_dns(specific, || dns::over_tcp(p))
}

/// The recognisers a UDP payload starting with `first` can be; DNS (whose first byte is part of
/// a random ID) last.
#[inline]
fn over_udp(first: u8, p: &[u8]) -> Verdict {
    let specific = match first {
        0x30 => ldap::recognise(p),
        0x6a..=0x6d | 0x7e => kerberos::over_udp(p),
        0x80..=0xff => quic::recognise(p),
        _ => Err(Stop::No),
    };
    or_dns(specific, || dns::over_udp(p))
}

/// The first verdict of `a` and `b` (`b` tried only when `a` has none); without one, Short if
/// either was cut short.
#[inline]
fn or(a: Verdict, b: impl FnOnce() -> Verdict) -> Verdict {
    match a {
        Ok(h) => Ok(h),
        Err(first) => match b() {
            Ok(h) => Ok(h),
            Err(Stop::Short) => Err(Stop::Short),
            Err(Stop::No) => Err(first),
        },
    }
}

/// The verdict of the recognisers with a magic, else DNS's: DNS, which has none, is asked only
/// when they all said No, so that a message they could still be (Short) is not taken for DNS.
#[inline]
fn or_dns(specific: Verdict, dns: impl FnOnce() -> Verdict) -> Verdict {
    match specific {
        Err(Stop::No) => dns(),
        v => v,
    }
}

/// Why a recogniser gave no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The captured bytes end before it could decide, and what was there fits its message.
    Short,
    /// The bytes are not its message.
    No,
}

/// A recogniser's answer.
type Verdict = Result<AppHint, Stop>;

/// `Ok(())` when `cond` holds, else [`Stop::No`].
#[inline]
fn check(cond: bool) -> Result<(), Stop> {
    if cond { Ok(()) } else { Err(Stop::No) }
}

/// A read position in a payload: every read checks the captured length and stops with
/// [`Stop::Short`] past it.
#[derive(Debug, Clone, Copy)]
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, at: 0 }
    }

    /// A reader that starts at `at`.
    fn at(b: &'a [u8], at: usize) -> Reader<'a> {
        Reader { b, at }
    }

    /// The next `n` bytes.
    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], Stop> {
        let end = self.at.checked_add(n).ok_or(Stop::No)?;
        let s = self.b.get(self.at..end).ok_or(Stop::Short)?;
        self.at = end;
        Ok(s)
    }

    /// The next `N` bytes, as an array.
    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Stop> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline]
    fn u8(&mut self) -> Result<u8, Stop> {
        Ok(self.array::<1>()?[0])
    }

    #[inline]
    fn be16(&mut self) -> Result<u16, Stop> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    #[inline]
    fn le16(&mut self) -> Result<u16, Stop> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    #[inline]
    fn be24(&mut self) -> Result<u32, Stop> {
        let [a, b, c] = self.array()?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    #[inline]
    fn be32(&mut self) -> Result<u32, Stop> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    #[inline]
    fn le32(&mut self) -> Result<u32, Stop> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Skips `n` bytes (Short when they were not all captured).
    #[inline]
    fn skip(&mut self, n: usize) -> Result<(), Stop> {
        self.take(n).map(|_| ())
    }

    /// The next byte must be `want`.
    #[inline]
    fn expect(&mut self, want: u8) -> Result<(), Stop> {
        check(self.u8()? == want)
    }

    /// The next bytes must be `want`: [`Stop::No`] at the first byte that differs, Short when the
    /// captured bytes end first.
    #[inline]
    fn literal(&mut self, want: &[u8]) -> Result<(), Stop> {
        for &w in want {
            self.expect(w)?;
        }
        Ok(())
    }

    /// A BER definite length (short form, or long form of 1 to 4 bytes); the indefinite form
    /// and non-minimal long forms of more than 4 bytes are not a message's.
    #[inline]
    fn ber_len(&mut self) -> Result<usize, Stop> {
        let first = self.u8()?;
        if first < 0x80 {
            return Ok(usize::from(first));
        }
        let n = first & 0x7f;
        check((1..=4).contains(&n))?;
        let mut len = 0usize;
        for _ in 0..n {
            len = (len << 8) | usize::from(self.u8()?);
        }
        Ok(len)
    }

    /// Bytes read so far.
    #[inline]
    fn pos(&self) -> usize {
        self.at
    }
}

/// A printable US-ASCII byte (space to tilde).
#[inline]
fn printable(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

/// Reads a text line of printable bytes from `r` to its CR LF (or a bare LF, which some
/// implementations send), at most `max` bytes before it: the line's length. A byte that is
/// neither printable nor the line end is [`Stop::No`], and so is a line longer than `max`; a line
/// cut by the capture is [`Stop::Short`].
fn line(r: &mut Reader<'_>, max: usize) -> Result<usize, Stop> {
    let start = r.pos();
    loop {
        let b = r.u8()?;
        if b == b'\n' {
            return Ok(r.pos() - 1 - start);
        }
        if b == b'\r' {
            r.expect(b'\n')?;
            return Ok(r.pos() - 2 - start);
        }
        check(printable(b) && r.pos() - start <= max)?;
    }
}
