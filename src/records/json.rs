//! JSON lines: Zeek's JSON conn.log (`LogAscii::use_json`) and flowaudit's own records
//! (`flows`, `--flows-out`), which use the same names. One object per line, read into a typed,
//! borrowing struct (no `serde_json::Value` per line); times are read from the number's text
//! (`RawValue`), never through a float. Fields flowaudit adds (`community_id`,
//! `direction_inferred`, `syn_synack`, `synack_ack`, `rtt`, `icmp_errors`, `evicted`,
//! `bad_checksums`, `tunnel`) are read where present; unknown fields (`local_orig`, `rule`,
//! `verdict`, ...) are ignored.
//!
//! Lines are first read by a hand-written scanner ([`scan`]) of flat JSON objects with these
//! names, in any order, which gives serde's result for every line it accepts and declines
//! (None) anything it does not read whole: unknown fields with an object or array value, keys
//! with escapes, duplicate fields, any value of a type serde would refuse. Declined lines go
//! through serde, so what a line turns into, and every error message, is serde's. The
//! scanner makes no `serde_json` call per line and allocates only the record's strings.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::fast::digit_run;
use super::values::{
    Parsed, Partial, conn_state, conn_state_bytes, decimal_ns, service, service_status, shown,
    tls_version, transport, transport_bytes,
};
use crate::flow::{IcmpErrors, Text, TunnelInfo};

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    ts: Option<&'a RawValue>,
    #[serde(borrow)]
    uid: Option<Cow<'a, str>>,
    #[serde(rename = "id.orig_h", borrow)]
    orig_h: Option<Cow<'a, str>>,
    #[serde(rename = "id.orig_p")]
    orig_p: Option<u16>,
    #[serde(rename = "id.resp_h", borrow)]
    resp_h: Option<Cow<'a, str>>,
    #[serde(rename = "id.resp_p")]
    resp_p: Option<u16>,
    #[serde(borrow)]
    proto: Option<Cow<'a, str>>,
    #[serde(borrow)]
    service: Option<Cow<'a, str>>,
    #[serde(borrow)]
    duration: Option<&'a RawValue>,
    orig_bytes: Option<u64>,
    resp_bytes: Option<u64>,
    #[serde(borrow)]
    conn_state: Option<Cow<'a, str>>,
    missed_bytes: Option<u64>,
    #[serde(borrow)]
    history: Option<Cow<'a, str>>,
    orig_pkts: Option<u64>,
    orig_ip_bytes: Option<u64>,
    resp_pkts: Option<u64>,
    resp_ip_bytes: Option<u64>,
    #[serde(borrow)]
    tunnel_parents: Option<Vec<Cow<'a, str>>>,
    /// Zeek's vlan-logging: a number; flowaudit's: an array, outer first.
    #[serde(borrow)]
    vlan: Option<&'a RawValue>,
    inner_vlan: Option<u16>,
    #[serde(borrow)]
    community_id: Option<Cow<'a, str>>,
    direction_inferred: Option<bool>,
    #[serde(borrow)]
    syn_synack: Option<&'a RawValue>,
    #[serde(borrow)]
    synack_ack: Option<&'a RawValue>,
    #[serde(borrow)]
    rtt: Option<&'a RawValue>,
    icmp_errors: Option<Icmp>,
    evicted: Option<bool>,
    bad_checksums: Option<u32>,
    #[serde(borrow)]
    tunnel: Option<Tunnel<'a>>,
    #[serde(borrow)]
    rejected: Option<Cow<'a, str>>,
    #[serde(borrow)]
    service_status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tls_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tls_client_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tls_sni: Option<Cow<'a, str>>,
    tls_sni_cut: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Icmp {
    count: u32,
    last_type: u8,
    last_code: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tunnel<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    src: Cow<'a, str>,
    #[serde(borrow)]
    dst: Cow<'a, str>,
    id: Option<u32>,
    depth: u8,
}

/// The names that tell which JSON format a line is.
#[derive(Deserialize)]
struct Probe {
    ts: Option<serde::de::IgnoredAny>,
    #[serde(rename = "id.orig_h")]
    orig_h: Option<serde::de::IgnoredAny>,
    proto: Option<serde::de::IgnoredAny>,
    conn_state: Option<serde::de::IgnoredAny>,
    orig_ip_bytes: Option<serde::de::IgnoredAny>,
    direction_inferred: Option<serde::de::IgnoredAny>,
}

/// Which JSON format `line` is: `Some(true)` for flowaudit's records (they have
/// `direction_inferred`), `Some(false)` for Zeek's conn.log, None for neither. A connection
/// record has `ts`, `id.orig_h`, `proto` and `conn_state` or `orig_ip_bytes` (Zeek leaves out
/// unset fields, never those two both): Zeek's other logs (dns.log has ts, the id fields, proto
/// and even an rtt) are not connections.
pub(super) fn probe(line: &[u8]) -> Option<bool> {
    let p: Probe = serde_json::from_slice(line).ok()?;
    let conn = p.ts.is_some()
        && p.orig_h.is_some()
        && p.proto.is_some()
        && (p.conn_state.is_some() || p.orig_ip_bytes.is_some());
    conn.then_some(p.direction_inferred.is_some())
}

fn time(name: &str, v: &RawValue) -> Result<i64, String> {
    decimal_ns(v.get().as_bytes()).ok_or_else(|| {
        format!(
            "{name}: {} is not a time in seconds",
            shown(v.get().as_bytes())
        )
    })
}

fn opt_time(name: &str, v: Option<&RawValue>) -> Result<Option<i64>, String> {
    match v {
        Some(v) if v.get() != "null" => time(name, v).map(Some),
        _ => Ok(None),
    }
}

fn ip(name: &str, s: &str) -> Result<IpAddr, String> {
    s.parse()
        .map_err(|_| format!("{name}: {} is not an IP address", shown(s.as_bytes())))
}

/// Reads one line of flowaudit's own JSON: by its layout ([`super::json_layout`]) when it has
/// it, else as [`line`] reads any line.
pub(super) fn own_line(bytes: &[u8]) -> Result<Parsed, String> {
    if let Some(p) = super::json_layout::layout(bytes)
        && let Ok(parsed) = p.finish()
    {
        return Ok(parsed);
    }
    line(bytes)
}

/// Reads one JSON line into a record: the scanner when it reads the line whole (the records
/// flowaudit and Zeek write), serde otherwise (and for every line that is not a record, so
/// that errors are serde's).
pub(super) fn line(bytes: &[u8]) -> Result<Parsed, String> {
    if let Some(p) = scan(bytes)
        && let Ok(parsed) = p.finish()
    {
        return Ok(parsed);
    }
    line_serde(bytes)
}

/// Reads one JSON line into a record through serde.
pub(super) fn line_serde(bytes: &[u8]) -> Result<Parsed, String> {
    let l: Line<'_> = serde_json::from_slice(bytes).map_err(|e| format!("not a record: {e}"))?;
    let mut p = Partial {
        ts_ns: opt_time("ts", l.ts)?,
        uid: l.uid.map(|c| Text::from(c.as_ref())).unwrap_or_default(),
        orig_h: l
            .orig_h
            .as_deref()
            .map(|s| ip("id.orig_h", s))
            .transpose()?,
        orig_p: l.orig_p,
        resp_h: l
            .resp_h
            .as_deref()
            .map(|s| ip("id.resp_h", s))
            .transpose()?,
        resp_p: l.resp_p,
        proto: l.proto.as_deref().map(transport).transpose()?,
        service: l.service.as_deref().map(service).unwrap_or_default(),
        service_status: l
            .service_status
            .as_deref()
            .map(service_status)
            .transpose()?,
        tls_version: l
            .tls_version
            .as_deref()
            .map(|v| tls_version("tls_version", v))
            .transpose()?,
        tls_client_version: l
            .tls_client_version
            .as_deref()
            .map(|v| tls_version("tls_client_version", v))
            .transpose()?,
        tls_sni: l
            .tls_sni
            .map(|c| Text::from(c.as_ref()))
            .unwrap_or_default(),
        tls_sni_cut: l.tls_sni_cut.unwrap_or(false),
        duration_ns: opt_time("duration", l.duration)?.unwrap_or(0),
        orig_bytes: l.orig_bytes.unwrap_or(0),
        resp_bytes: l.resp_bytes.unwrap_or(0),
        conn_state: l.conn_state.as_deref().map(conn_state).transpose()?,
        missed_bytes: l.missed_bytes.unwrap_or(0),
        history: l
            .history
            .map(|c| Text::from(c.as_ref()))
            .unwrap_or_default(),
        orig_pkts: l.orig_pkts.unwrap_or(0),
        orig_ip_bytes: l.orig_ip_bytes.unwrap_or(0),
        resp_pkts: l.resp_pkts.unwrap_or(0),
        resp_ip_bytes: l.resp_ip_bytes.unwrap_or(0),
        tunnel_parents: l
            .tunnel_parents
            .unwrap_or_default()
            .into_iter()
            .map(|c| Text::from(c.as_ref()))
            .collect(),
        vlan: Vec::new(),
        inner_vlan: l.inner_vlan,
        community_id: l.community_id.map(|c| Text::from(c.as_ref())),
        direction_inferred: l.direction_inferred,
        syn_synack_ns: opt_time("syn_synack", l.syn_synack)?,
        synack_ack_ns: opt_time("synack_ack", l.synack_ack)?,
        rtt_ns: opt_time("rtt", l.rtt)?,
        icmp_errors: l.icmp_errors.map(|e| IcmpErrors {
            count: e.count,
            last_type: e.last_type,
            last_code: e.last_code,
        }),
        evicted: l.evicted.unwrap_or(false),
        bad_checksums: l.bad_checksums.unwrap_or(0),
        tunnel: None,
        rejected: l.rejected.as_deref().map(rejected),
    };
    if let Some(v) = l.vlan {
        p.vlan = match v.get().as_bytes().first() {
            Some(b'[') => serde_json::from_str(v.get()),
            Some(b'n') => Ok(Vec::new()),
            _ => serde_json::from_str::<u16>(v.get()).map(|id| vec![id]),
        }
        .map_err(|_| {
            format!(
                "vlan: {} is not a VLAN id or a list of them",
                shown(v.get().as_bytes())
            )
        })?;
    }
    if let Some(t) = l.tunnel {
        p.tunnel = Some(TunnelInfo {
            kind: super::values::tunnel_kind(&t.kind).ok_or_else(|| {
                format!(
                    "tunnel.type: {} is no tunnel kind",
                    shown(t.kind.as_bytes())
                )
            })?,
            src: ip("tunnel.src", &t.src)?,
            dst: ip("tunnel.dst", &t.dst)?,
            id: t.id,
            depth: t.depth,
        });
    }
    p.finish()
}

/// A position in a line, for the scanner.
struct Scan<'a> {
    b: &'a [u8],
    /// The line as text: the scanner reads only lines that are UTF-8 (serde refuses the
    /// others, with its error), checked once, so strings are taken without checking each.
    text: &'a str,
    i: usize,
}

/// The value of a hexadecimal digit.
fn hex(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

/// Four hexadecimal digits, as a `\u` escape has them.
fn hex4(b: &[u8]) -> Option<u32> {
    match b {
        [a, b, c, d] => Some(hex(*a)? << 12 | hex(*b)? << 8 | hex(*c)? << 4 | hex(*d)?),
        _ => None,
    }
}

/// The text of a JSON string's contents (between its quotes) into `out`: escapes decoded,
/// UTF-8 checked; None where serde would refuse it (an unknown escape, a lone surrogate).
fn unescape_into(raw: &str, escaped: bool, out: &mut impl std::fmt::Write) -> Option<()> {
    if !escaped {
        return out.write_str(raw).ok();
    }
    let raw = raw.as_bytes();
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&c) = raw.get(i) {
        if c != b'\\' {
            bytes.push(c);
            i += 1;
            continue;
        }
        let e = *raw.get(i + 1)?;
        i += 2;
        let ch = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(raw.get(i..i + 4)?)?;
                i += 4;
                let code = match hi {
                    0xD800..=0xDBFF => {
                        if raw.get(i..i + 2)? != b"\\u" {
                            return None;
                        }
                        let lo = hex4(raw.get(i + 2..i + 6)?)?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return None;
                        }
                        i += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => hi,
                };
                char::from_u32(code)?
            }
            _ => return None,
        };
        let mut buf = [0; 4];
        bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    out.write_str(std::str::from_utf8(&bytes).ok()?).ok()
}

impl<'a> Scan<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    fn word(&mut self, w: &[u8]) -> bool {
        if self.b.get(self.i..self.i + w.len()) == Some(w) {
            self.i += w.len();
            true
        } else {
            false
        }
    }

    /// `null`, consumed.
    #[inline]
    fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.word(b"null")
    }

    /// A value that may be null.
    #[inline]
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null() {
            Some(None)
        } else {
            f(self).map(Some)
        }
    }

    /// A string's raw contents and whether it has escapes (not yet checked); None for a raw
    /// control character, which JSON does not allow in a string. Plain runs are passed over
    /// by [`next_special`].
    #[inline]
    fn raw_str(&mut self) -> Option<(&'a str, bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            self.i = next_special(self.b, self.i)?;
            match self.b[self.i] {
                b'"' => {
                    // Quotes are ASCII: `start` and `i` are on character boundaries.
                    let raw = self.text.get(start..self.i)?;
                    self.i += 1;
                    return Some((raw, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                _ => return None,
            }
        }
    }

    /// The key of one of the next fields in flowaudit's order (`next` and the two after it,
    /// as a record leaves out up to two fields in a row), when the line has it here exactly as
    /// flowaudit writes it: its bit, with the key and colon consumed. None leaves the scanner
    /// where it was, for the general path.
    #[inline]
    fn expected_key(&mut self, next: usize) -> Option<u32> {
        self.ws();
        let rest = self.b.get(self.i..)?;
        let k = KEYS
            .get(next..KEYS.len().min(next + 3))?
            .iter()
            .position(|key| starts_with(rest, key))?;
        self.i += KEYS[next + k].len();
        u32::try_from(next + k).ok()
    }

    /// A short code (`tcp`, `SF`) as its raw bytes; None (declined) when it has an escape,
    /// which the general reader takes.
    #[inline]
    fn code(&mut self) -> Option<&'a [u8]> {
        match self.raw_str()? {
            (raw, false) => Some(raw.as_bytes()),
            (_, true) => None,
        }
    }

    /// A string, into `out`.
    fn string_into(&mut self, out: &mut Text) -> Option<()> {
        let (raw, escaped) = self.raw_str()?;
        out.clear();
        unescape_into(raw, escaped, out)
    }

    /// A string that is only looked at (an address, a code): borrowed when it has no escape.
    fn str_cow(&mut self) -> Option<Cow<'a, str>> {
        let (raw, escaped) = self.raw_str()?;
        if !escaped {
            return Some(Cow::Borrowed(raw));
        }
        let mut s = String::new();
        unescape_into(raw, true, &mut s)?;
        Some(Cow::Owned(s))
    }

    /// A number's text, checked against JSON's grammar.
    fn number(&mut self) -> Option<&'a [u8]> {
        self.ws();
        let b = self.b;
        let start = self.i;
        let mut i = start;
        let digits = |i: &mut usize| {
            let s = *i;
            while let Some(b'0'..=b'9') = b.get(*i) {
                *i += 1;
            }
            *i > s
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        self.i = i;
        b.get(start..i)
    }

    /// An unsigned integer (no sign, fraction or exponent, as serde reads one into an integer
    /// type), of type T.
    #[inline]
    fn uint<T: TryFrom<u64>>(&mut self) -> Option<T> {
        self.ws();
        // Digits read as they are checked (one pass), when the number is plain digits with no
        // leading zero and fits; anything else goes through the grammar check below.
        if let Some((n, end)) = plain_uint(self.b, self.i) {
            self.i = end;
            return T::try_from(n).ok();
        }
        let t = self.number()?;
        // `number` never starts with `+`; a `-`, `.` or exponent is no digit.
        T::try_from(super::fast::count(t)?).ok()
    }

    /// Seconds, read from the number's text.
    #[inline]
    fn time(&mut self) -> Option<i64> {
        self.ws();
        // Read as it is checked (one pass) when the number is plain; anything else goes
        // through the grammar check and the general reader.
        if let Some((ns, end)) = plain_secs(self.b, self.i) {
            self.i = end;
            return Some(ns);
        }
        decimal_ns(self.number()?)
    }

    fn boolean(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' if self.word(b"true") => Some(true),
            b'f' if self.word(b"false") => Some(false),
            _ => None,
        }
    }

    fn ip(&mut self) -> Option<IpAddr> {
        let (raw, escaped) = self.raw_str()?;
        if escaped {
            return None;
        }
        super::fast::ip(raw.as_bytes())
    }

    /// A value of a field the records do not have: a string, number or literal (an object
    /// or array is declined).
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                let mut s = Text::default();
                self.string_into(&mut s)
            }
            b'n' => self.null().then_some(()),
            b't' | b'f' => self.boolean().map(drop),
            _ => self.number().map(drop),
        }
    }

    /// After a member: `,` (more follow: true) or `}` (the end: false).
    #[inline]
    fn next_member(&mut self) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(true)
            }
            b'}' => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// The members of an object, each key (unescaped) handed to `member` with the value
    /// still to read; a key `member` sees twice is declined (serde refuses duplicate fields).
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let (key, escaped) = self.raw_str()?;
            if escaped {
                return None;
            }
            self.eat(b':')?;
            member(self, key.as_bytes())?;
            if !self.next_member()? {
                return Some(());
            }
        }
    }

    /// An array, each element read by `element`.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `icmp_errors`' object: exactly `count`, `last_type` and `last_code`.
    fn icmp(&mut self) -> Option<IcmpErrors> {
        let (mut count, mut last_type, mut last_code) = (None, None, None);
        self.object(|s, key| {
            let slot = match key {
                b"count" => &mut count,
                b"last_type" => &mut last_type,
                b"last_code" => &mut last_code,
                _ => return None,
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(s.uint::<u32>()?);
            Some(())
        })?;
        Some(IcmpErrors {
            count: count?,
            last_type: u8::try_from(last_type?).ok()?,
            last_code: u8::try_from(last_code?).ok()?,
        })
    }

    /// `tunnel`'s object: `type`, `src`, `dst`, `depth` and optionally `id`, nothing else.
    fn tunnel(&mut self) -> Option<TunnelInfo> {
        let (mut kind, mut src, mut dst, mut id, mut depth) = (None, None, None, None, None);
        self.object(|s, key| {
            match key {
                b"type" if kind.is_none() => {
                    kind = Some(super::values::tunnel_kind(&s.str_cow()?)?)
                }
                b"src" if src.is_none() => src = Some(s.ip()?),
                b"dst" if dst.is_none() => dst = Some(s.ip()?),
                b"id" if id.is_none() => id = Some(s.opt(Self::uint::<u32>)?),
                b"depth" if depth.is_none() => depth = Some(s.uint::<u8>()?),
                _ => return None,
            }
            Some(())
        })?;
        Some(TunnelInfo {
            kind: kind?,
            src: src?,
            dst: dst?,
            id: id.flatten(),
            depth: depth?,
        })
    }
}

/// The top bit of each byte lane of `word` (little-endian) that holds a quote, a backslash or
/// a control character (below 0x20): where a JSON string's plain run ends. Exact: no carry
/// crosses a lane (the largest lane sum is 0x7f + 0x7f).
#[inline]
pub(super) fn specials(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const TOP: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let quote = zero(word ^ 0x2222_2222_2222_2222);
    let backslash = zero(word ^ 0x5c5c_5c5c_5c5c_5c5c);
    // Below 0x20: adding 0x60 to the low seven bits leaves the top bit clear, and the byte's
    // own top bit is clear.
    let control = !(((word & LOW7) + 0x6060_6060_6060_6060) | word) & TOP;
    quote | backslash | control
}

/// A JSON number at `b[i..]` that is plain digits (1 to 19, no leading zero) with no
/// fraction, exponent or further digit after them: its value and where it ends. None for
/// any other number, which the grammar check reads.
#[inline(always)]
pub(super) fn plain_uint(b: &[u8], i: usize) -> Option<(u64, usize)> {
    let (n, len) = digit_run(b, i, 19);
    if len == 0 || (len > 1 && b[i] == b'0') {
        return None;
    }
    number_ends(b, i + len).then_some((n, i + len))
}

/// A JSON number at `b[i..]` that is seconds in plain form (1 to 18 digits with no leading
/// zero, then none or 1 to 9 decimals) with no exponent or further digit after it: as ns,
/// exactly, and where it ends. None for any other number.
#[inline(always)]
pub(super) fn plain_secs(b: &[u8], i: usize) -> Option<(i64, usize)> {
    let (ns, end) = super::fast::secs_prefix(b, i, b.len())?;
    if b[i] == b'0' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    number_ends(b, end).then_some((ns, end))
}

/// Whether a number read up to `b[i]` ends there: no digit, fraction or exponent follows.
#[inline(always)]
fn number_ends(b: &[u8], i: usize) -> bool {
    !matches!(b.get(i), Some(b'0'..=b'9' | b'.' | b'e' | b'E'))
}

/// Where the first quote, backslash or control character at or after `b[i]` is (None: none
/// before the line's end): a JSON string's plain run ends there. Eight bytes at a time while
/// eight are left (see [`specials`]), which halved the time strings took against a
/// byte-by-byte loop whose branches mispredicted at every string's end.
#[inline(always)]
pub(super) fn next_special(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(w) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        let mask = specials(u64::from_le_bytes(word));
        if mask != 0 {
            return Some(i + (mask.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let k = b
        .get(i..)?
        .iter()
        .position(|&c| matches!(c, b'"' | b'\\' | 0..=0x1f))?;
    Some(i + k)
}

/// Whether `rest` starts with `key` (4 to 24 bytes, as every key of [`KEYS`] is), compared a
/// word at a time, overlapping, without a call to `memcmp` (which was 8 % of the time).
#[inline]
pub(super) fn starts_with(rest: &[u8], key: &[u8]) -> bool {
    let n = key.len();
    let Some(r) = rest.get(..n) else {
        return false;
    };
    let w8 = |s: &[u8], i: usize| s.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok());
    let w4 = |s: &[u8], i: usize| s.get(i..i + 4).and_then(|w| <[u8; 4]>::try_from(w).ok());
    match n {
        4..8 => w4(r, 0) == w4(key, 0) && w4(r, n - 4) == w4(key, n - 4),
        8..=16 => w8(r, 0) == w8(key, 0) && w8(r, n - 8) == w8(key, n - 8),
        17..=24 => {
            w8(r, 0) == w8(key, 0) && w8(r, 8) == w8(key, 8) && w8(r, n - 8) == w8(key, n - 8)
        }
        _ => r == key,
    }
}

/// Each field's key as flowaudit writes it, quoted and followed by its colon, by bit: the key
/// the scanner expects next is compared whole first.
pub(super) const KEYS: [&[u8]; 36] = [
    b"\"ts\":",
    b"\"uid\":",
    b"\"id.orig_h\":",
    b"\"id.orig_p\":",
    b"\"id.resp_h\":",
    b"\"id.resp_p\":",
    b"\"proto\":",
    b"\"service\":",
    b"\"duration\":",
    b"\"orig_bytes\":",
    b"\"resp_bytes\":",
    b"\"conn_state\":",
    b"\"missed_bytes\":",
    b"\"history\":",
    b"\"orig_pkts\":",
    b"\"orig_ip_bytes\":",
    b"\"resp_pkts\":",
    b"\"resp_ip_bytes\":",
    b"\"tunnel_parents\":",
    b"\"vlan\":",
    b"\"inner_vlan\":",
    b"\"community_id\":",
    b"\"direction_inferred\":",
    b"\"syn_synack\":",
    b"\"synack_ack\":",
    b"\"rtt\":",
    b"\"icmp_errors\":",
    b"\"evicted\":",
    b"\"bad_checksums\":",
    b"\"tunnel\":",
    b"\"rejected\":",
    b"\"service_status\":",
    b"\"tls_version\":",
    b"\"tls_client_version\":",
    b"\"tls_sni\":",
    b"\"tls_sni_cut\":",
];

/// The field a key names, by its bit (its place in [`KEYS`]; the scanner declines a line that
/// has one twice), for keys not found where [`Scan::expected_key`] looked.
fn field_bit(key: &[u8]) -> Option<u32> {
    // Each of KEYS is the name quoted and followed by a colon.
    let at = KEYS
        .iter()
        .position(|k| k.get(1..k.len().saturating_sub(2)) == Some(key))?;
    u32::try_from(at).ok()
}

/// A record's `rejected` reason as flowaudit writes it: the VPC reason it knows, or any other
/// text as "rejected" (the reason is not kept: reasons are a fixed set).
pub(super) fn rejected(s: &str) -> &'static str {
    if s == super::vpc::REJECTED {
        super::vpc::REJECTED
    } else {
        "rejected"
    }
}

/// Reads a JSON line as serde would into a [`Partial`], or declines it (None): see the
/// module's documentation.
pub(super) fn scan(bytes: &[u8]) -> Option<Partial> {
    let mut s = Scan {
        b: bytes,
        text: std::str::from_utf8(bytes).ok()?,
        i: 0,
    };
    let mut p = Partial::default();
    let mut seen: u64 = 0;
    // The field expected next: the one after the last, in flowaudit's order.
    let mut next = 0;
    s.eat(b'{')?;
    if s.peek()? == b'}' {
        s.i += 1;
    } else {
        loop {
            let bit = match s.expected_key(next) {
                Some(bit) => bit,
                None => {
                    let (key, escaped) = s.raw_str()?;
                    if escaped {
                        return None;
                    }
                    s.eat(b':')?;
                    match field_bit(key.as_bytes()) {
                        Some(bit) => bit,
                        None => {
                            s.skip()?;
                            if !s.next_member()? {
                                break;
                            }
                            continue;
                        }
                    }
                }
            };
            // serde refuses a duplicate field.
            if seen & (1u64 << bit) != 0 {
                return None;
            }
            seen |= 1u64 << bit;
            next = bit as usize + 1;
            member(&mut s, bit, &mut p)?;
            if !s.next_member()? {
                break;
            }
        }
    }
    s.ws();
    (s.i == bytes.len()).then_some(p)
}

/// Reads the value of the field `bit` (see [`field_bit`]) into `p`.
#[inline]
fn member(s: &mut Scan<'_>, bit: u32, p: &mut Partial) -> Option<()> {
    match bit {
        0 => p.ts_ns = s.opt(Scan::time)?,
        1 => {
            if !s.null() {
                s.string_into(&mut p.uid)?;
            }
        }
        2 => p.orig_h = s.opt(Scan::ip)?,
        3 => p.orig_p = s.opt(Scan::uint::<u16>)?,
        4 => p.resp_h = s.opt(Scan::ip)?,
        5 => p.resp_p = s.opt(Scan::uint::<u16>)?,
        6 => p.proto = s.opt(Scan::code)?.map(transport_bytes).transpose().ok()?,
        7 => {
            p.service = s
                .opt(Scan::str_cow)?
                .map(|t| service(&t))
                .unwrap_or_default()
        }
        8 => p.duration_ns = s.opt(Scan::time)?.unwrap_or(0),
        9 => p.orig_bytes = s.opt(Scan::uint::<u64>)?.unwrap_or(0),
        10 => p.resp_bytes = s.opt(Scan::uint::<u64>)?.unwrap_or(0),
        11 => p.conn_state = s.opt(Scan::code)?.map(conn_state_bytes).transpose().ok()?,
        12 => p.missed_bytes = s.opt(Scan::uint::<u64>)?.unwrap_or(0),
        13 => {
            if !s.null() {
                s.string_into(&mut p.history)?;
            }
        }
        14 => p.orig_pkts = s.opt(Scan::uint::<u64>)?.unwrap_or(0),
        15 => p.orig_ip_bytes = s.opt(Scan::uint::<u64>)?.unwrap_or(0),
        16 => p.resp_pkts = s.opt(Scan::uint::<u64>)?.unwrap_or(0),
        17 => p.resp_ip_bytes = s.opt(Scan::uint::<u64>)?.unwrap_or(0),
        18 => {
            p.tunnel_parents.clear();
            if !s.null() {
                let parents = &mut p.tunnel_parents;
                s.array(|s| {
                    let mut t = Text::default();
                    s.string_into(&mut t)?;
                    parents.push(t);
                    Some(())
                })?;
            }
        }
        19 => {
            p.vlan.clear();
            match s.peek()? {
                b'n' => {
                    if !s.null() {
                        return None;
                    }
                }
                b'[' => {
                    let vlan = &mut p.vlan;
                    s.array(|s| {
                        vlan.push(s.uint::<u16>()?);
                        Some(())
                    })?;
                }
                _ => p.vlan.push(s.uint::<u16>()?),
            }
        }
        20 => p.inner_vlan = s.opt(Scan::uint::<u16>)?,
        21 => p.community_id = s.opt(Scan::str_cow)?.map(|c| Text::from(c.as_ref())),
        22 => p.direction_inferred = s.opt(Scan::boolean)?,
        23 => p.syn_synack_ns = s.opt(Scan::time)?,
        24 => p.synack_ack_ns = s.opt(Scan::time)?,
        25 => p.rtt_ns = s.opt(Scan::time)?,
        26 => p.icmp_errors = s.opt(Scan::icmp)?,
        27 => p.evicted = s.opt(Scan::boolean)?.unwrap_or(false),
        28 => p.bad_checksums = s.opt(Scan::uint::<u32>)?.unwrap_or(0),
        29 => p.tunnel = s.opt(Scan::tunnel)?,
        30 => p.rejected = s.opt(Scan::str_cow)?.as_deref().map(rejected),
        31 => {
            p.service_status = s
                .opt(Scan::str_cow)?
                .map(|t| service_status(&t))
                .transpose()
                .ok()?
        }
        32 => {
            p.tls_version = s
                .opt(Scan::str_cow)?
                .map(|t| tls_version("tls_version", &t))
                .transpose()
                .ok()?
        }
        33 => {
            p.tls_client_version = s
                .opt(Scan::str_cow)?
                .map(|t| tls_version("tls_client_version", &t))
                .transpose()
                .ok()?
        }
        34 => {
            p.tls_sni.clear();
            if !s.null() {
                s.string_into(&mut p.tls_sni)?;
            }
        }
        _ => p.tls_sni_cut = s.opt(Scan::boolean)?.unwrap_or(false),
    }
    Some(())
}

/// Checks the fast readers against serde on one line: when the layout reader or the scanner
/// reads the line, the record (or the error) is serde's. `Ok(true)`: one of them read it;
/// `Ok(false)`: both declined (serde reads such lines). For the fuzz target and the tests.
#[doc(hidden)]
pub fn scanner_agrees(line: &[u8]) -> Result<bool, String> {
    let layout = super::json_layout::layout(line);
    let scanned = scan(line);
    if layout.is_none() && scanned.is_none() {
        return Ok(false);
    }
    let slow = line_serde(line);
    for (name, p) in [("layout", layout), ("scanner", scanned)] {
        if let Some(p) = p {
            let fast = p.finish();
            if fast != slow {
                return Err(format!("{name}: {fast:?}\nserde: {slow:?}"));
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
pub(super) mod tests {
    use std::net::IpAddr;

    use proptest::prelude::*;

    use super::scanner_agrees;
    use crate::flow::{ConnState, FlowRecord, IcmpErrors, Proto, TunnelInfo};
    use crate::report::records::{AuditFields, Verdicted, json_line};

    fn agrees(line: &[u8]) -> bool {
        match scanner_agrees(line) {
            Ok(scanned) => scanned,
            Err(e) => panic!("{}\n{e}", String::from_utf8_lossy(line)),
        }
    }

    /// Every JSON line among the fixtures (the `flows` output each synthetic capture must give)
    /// is read by the scanner, to the record serde reads.
    #[test]
    fn fixture_lines_scan_as_serde_reads_them() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files = vec![root];
        let mut lines = 0;
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let name = p.to_string_lossy();
            if !(name.ends_with(".jsonl") || name.ends_with(".json")) {
                continue;
            }
            let text = std::fs::read(&p).unwrap();
            for line in text.split(|&b| b == b'\n') {
                if line.first() == Some(&b'{') && super::probe(line).is_some() {
                    assert!(
                        agrees(line),
                        "{name}: declined {}",
                        String::from_utf8_lossy(line)
                    );
                    lines += 1;
                }
            }
        }
        assert!(lines > 20, "{lines} record lines in the fixtures");
    }

    /// Lines the scanner must decline or read exactly as serde: every shape of value, escape,
    /// whitespace and mistake.
    #[test]
    fn hand_written_lines_agree() {
        let base = r#""ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"tcp""#;
        let read = |extra: &str| format!("{{{base}{extra}}}");
        // (extra members, whether the scanner reads the line)
        let cases: &[(&str, bool)] = &[
            ("", true),
            (r#","history":"ShADadFf","community_id":"1:abc=""#, true),
            (r#","history":"a\"b\\c\/d\b\f\n\r\t""#, true),
            (r#","history":"\u0041\u00e9\u20ac\ud83d\ude00""#, true),
            (r#","history":"\ud83d""#, false),
            (r#","history":"\ude00""#, false),
            (r#","history":"\ud83d\u0041""#, false),
            (r#","history":"\x41""#, false),
            (r#","history":"\u00G1""#, false),
            ("\u{2c}\"history\":\"a\u{1}b\"", false),
            (r#","history":"é→😀""#, true),
            (r#","history":null,"uid":null"#, false),
            (r#","history":null"#, true),
            (r#","history":5"#, false),
            (r#","orig_pkts":5,"resp_pkts":0,"orig_bytes":null"#, true),
            (r#","orig_pkts":05"#, false),
            (r#","orig_pkts":5.0"#, false),
            (r#","orig_pkts":5e0"#, false),
            (r#","orig_pkts":-5"#, false),
            (r#","orig_pkts":+5"#, false),
            (r#","orig_pkts":18446744073709551615"#, true),
            (r#","orig_pkts":18446744073709551616"#, false),
            (r#","orig_pkts":"5""#, false),
            (r#","bad_checksums":4294967296"#, false),
            (
                r#","duration":0.06685185432434082,"rtt":1e-3,"syn_synack":-0.5"#,
                true,
            ),
            (r#","rtt":1.e3"#, false),
            (r#","rtt":.5"#, false),
            (r#","rtt":"0.5""#, false),
            (r#","rtt":true"#, false),
            (r#","rtt":1e99999999999"#, false),
            (r#","vlan":[]"#, true),
            (r#","vlan":[1, 2 ,3]"#, true),
            (r#","vlan":7,"inner_vlan":8"#, true),
            (r#","vlan":null"#, true),
            (r#","vlan":[1,]"#, false),
            (r#","vlan":[65536]"#, false),
            (r#","vlan":"7""#, false),
            (r#","tunnel_parents":["Ca","C\"b"]"#, true),
            (r#","tunnel_parents":[]"#, true),
            (r#","tunnel_parents":null"#, true),
            (r#","tunnel_parents":[1]"#, false),
            (
                r#","icmp_errors":{"count":1,"last_type":3,"last_code":1}"#,
                true,
            ),
            (
                r#","icmp_errors":{"last_code":1,"count":1,"last_type":3}"#,
                true,
            ),
            (r#","icmp_errors":{"count":1,"last_type":3}"#, false),
            (
                r#","icmp_errors":{"count":1,"last_type":3,"last_code":1,"x":1}"#,
                false,
            ),
            (
                r#","icmp_errors":{"count":1,"last_type":300,"last_code":1}"#,
                false,
            ),
            (r#","icmp_errors":null"#, true),
            (
                r#","tunnel":{"type":"vxlan","src":"192.0.2.1","dst":"192.0.2.2","id":42,"depth":1}"#,
                true,
            ),
            (
                r#","tunnel":{"type":"gre","src":"::1","dst":"::2","depth":2}"#,
                true,
            ),
            (
                r#","tunnel":{"type":"gre","src":"::1","dst":"::2","id":null,"depth":2}"#,
                true,
            ),
            (
                r#","tunnel":{"type":"gre","src":"::1","dst":"::2","id":1,"id":2,"depth":2}"#,
                false,
            ),
            (
                r#","tunnel":{"type":"nope","src":"::1","dst":"::2","depth":2}"#,
                false,
            ),
            (r#","tunnel":{"type":"gre","src":"::1","depth":2}"#, false),
            (
                r#","service":"dns,vxlan","conn_state":"SF","direction_inferred":true"#,
                true,
            ),
            (r#","conn_state":"XX""#, false),
            (
                r#","conn_state":null,"service":null,"direction_inferred":null"#,
                true,
            ),
            (r#","evicted":true,"evicted":false"#, false),
            (r#","ts":2"#, false),
            (r#","t\u0073":2"#, false),
            (
                r#","rule":"r","verdict":"allowed","finding":null,"also":null,"n":-1.5e3,"b":false"#,
                true,
            ),
            (r#","rule":"r","rule":"s""#, true),
            (r#","local_orig":{"a":1}"#, false),
            (r#","local_orig":[1]"#, false),
            (r#","local_orig":"\q""#, false),
            (r#","local_orig":nul"#, false),
            (r#","local_orig":tru"#, false),
            (r#","id.orig_h":"10.0.0.01""#, false),
            (r#","x":1 , "y" : 2 "#, true),
            (",", false),
            (r#","x""#, false),
            (r#","x":"#, false),
        ];
        for &(extra, scanned) in cases {
            let line = read(extra);
            assert_eq!(agrees(line.as_bytes()), scanned, "{line}");
        }
        let line = read("");
        for other in [
            format!(" \t{line} \r"),
            format!("{line}x"),
            format!("{line},"),
            format!("[{line}]"),
            "{}".to_string(),
            "{\"proto\":\"icmp\"}".to_string(),
            "{\"ts\":1,\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":1,\"id.resp_h\":\"::1\",\"id.resp_p\":2,\"proto\":\"udp\"}".to_string(),
            line.replacen("1.5", "1.5 ", 1).replacen(":", " : ", 3),
            line[..line.len() - 1].to_string(),
        ] {
            // Either way the record (or error) is serde's.
            agrees(other.as_bytes());
        }
        assert!(agrees(format!(" \t{line} \r").as_bytes()));
        assert!(agrees(b"{\"proto\":\"icmp\"}"));
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9]{0,18}",
            any::<String>(),
            "[\\\\\"/\\x00-\\x1f\\x7f é→😀a]{0,8}",
        ]
    }

    fn addr() -> impl Strategy<Value = IpAddr> {
        any::<IpAddr>()
    }

    fn nanos() -> impl Strategy<Value = i64> {
        prop_oneof![0i64..4_000_000_000_000_000_000, -1_000_000_000_000i64..0]
    }

    prop_compose! {
        pub(in crate::records) fn record()(
            ts_ns in nanos(),
            uid in text(),
            (orig_h, resp_h) in (addr(), addr()),
            (orig_p, resp_p) in (any::<u16>(), any::<u16>()),
            tcp in any::<bool>(),
            duration_ns in nanos(),
            counts in proptest::array::uniform8(any::<u64>()),
            state in 0..ConnState::ALL.len(),
            history in text(),
            vlan in proptest::collection::vec(any::<u16>(), 0..3),
            community_id in text(),
            flags in proptest::array::uniform2(any::<bool>()),
            times in proptest::array::uniform3(proptest::option::of(nanos())),
            icmp in proptest::option::of((any::<u32>(), any::<u8>(), any::<u8>())),
            service in prop_oneof![Just(""), Just("vxlan"), Just("geneve"), Just("ssl"), Just("smtp,ssl")],
            status in 0..crate::flow::ServiceStatus::ALL.len(),
            tls in proptest::option::of((proptest::option::of(any::<u16>()), proptest::option::of(any::<u16>()), text(), any::<bool>())),
            tunnel in proptest::option::of((addr(), addr(), proptest::option::of(any::<u32>()), any::<u8>())),
            tunnel_parents in proptest::collection::vec(text(), 0..3),
            bad_checksums in any::<u32>(),
            rejected in proptest::option::of(Just(super::super::vpc::REJECTED)),
        ) -> FlowRecord {
            FlowRecord {
                ts_ns,
                uid: uid.into(),
                orig_h,
                orig_p,
                resp_h,
                resp_p,
                proto: if tcp { Proto::Tcp } else { Proto::Udp },
                duration_ns,
                orig_bytes: counts[0],
                resp_bytes: counts[1],
                conn_state: ConnState::ALL[state],
                missed_bytes: counts[2],
                history: history.into(),
                orig_pkts: counts[3],
                orig_ip_bytes: counts[4],
                resp_pkts: counts[5],
                resp_ip_bytes: counts[6],
                vlan,
                community_id: community_id.into(),
                direction_inferred: flags[0],
                syn_synack_ns: times[0],
                synack_ack_ns: times[1],
                rtt_ns: times[2],
                icmp_errors: icmp.map(|(count, last_type, last_code)| IcmpErrors { count, last_type, last_code }),
                evicted: flags[1],
                service: service.into(),
                // A record says "known" exactly when it names a service.
                service_status: if service.is_empty() {
                    match crate::flow::ServiceStatus::ALL[status] {
                        crate::flow::ServiceStatus::Known => crate::flow::ServiceStatus::Unknown,
                        s => s,
                    }
                } else {
                    crate::flow::ServiceStatus::Known
                },
                // TLS versions are written by name: only those with one read back.
                tls: tls.map(|(v, cv, sni, sni_cut)| crate::flow::TlsInfo {
                    version: v.map(|v| [0x0300, 0x0301, 0x0302, 0x0303, 0x0304][usize::from(v % 5)]),
                    client_version: cv.map(|v| [0x0002, 0x0301, 0x0303, 0x0304, 0x7f1c][usize::from(v % 5)]),
                    sni: sni.into(),
                    sni_cut,
                }).filter(|t| t.version.is_some() || t.client_version.is_some() || !t.sni.is_empty() || t.sni_cut),
                tunnel: tunnel.map(|(src, dst, id, depth)| TunnelInfo { kind: "geneve", src, dst, id, depth }),
                tunnel_parents: tunnel_parents.into_iter().map(crate::flow::Text::from).collect(),
                bad_checksums,
                rejected,
            }
        }
    }

    pub(in crate::records) fn line(r: &FlowRecord, judged: Option<(bool, bool)>) -> Vec<u8> {
        let mut out = Vec::new();
        let v = judged.map(|(rule, audit)| Verdicted {
            rule: rule.then_some("r\"ule"),
            verdict: "allowed",
            audit: audit.then_some(AuditFields {
                finding: Some("failed"),
                also: None,
                reversed: None,
            }),
        });
        json_line(&mut out, r, v);
        out.pop();
        out
    }

    /// The word-at-a-time helpers give what a byte-by-byte look gives.
    #[test]
    fn word_helpers_are_exact() {
        for b in 0..=255u8 {
            for lane in 0..8 {
                let mut w = [b'a'; 8];
                w[lane] = b;
                let want = matches!(b, b'"' | b'\\' | 0..=0x1f);
                let mask = super::specials(u64::from_le_bytes(w));
                assert_eq!(mask, u64::from(want) << (lane * 8 + 7), "{b:#x} {lane}");
            }
        }
        for key in super::KEYS {
            assert!(super::starts_with(key, key));
            let mut longer = key.to_vec();
            longer.extend_from_slice(b"5,");
            assert!(super::starts_with(&longer, key));
            assert!(!super::starts_with(&key[..key.len() - 1], key));
            for i in 0..key.len() {
                let mut other = longer.clone();
                other[i] ^= 1;
                assert!(!super::starts_with(&other, key), "{i}");
            }
        }
    }

    proptest! {
        /// flowaudit's lines, with every optional field present or absent, any text in the
        /// strings (escaped as flowaudit escapes it), with or without a judgement: the scanner
        /// reads each, to serde's record.
        #[test]
        fn written_records_scan_as_serde_reads_them(
            r in record(),
            judged in proptest::option::of((any::<bool>(), any::<bool>())),
        ) {
            let l = line(&r, judged);
            prop_assert!(agrees(&l), "declined {}", String::from_utf8_lossy(&l));
        }

        /// The same lines with a byte changed, removed or added: whatever the scanner reads is
        /// what serde reads.
        #[test]
        fn edited_lines_agree(
            r in record(),
            at in any::<prop::sample::Index>(),
            edit in 0..3u8,
            byte in prop_oneof![any::<u8>(), Just(b'"'), Just(b'\\'), Just(b','), Just(b' '), Just(b'0'), Just(b'n')],
        ) {
            let mut l = line(&r, Some((true, true)));
            let i = at.index(l.len());
            match edit {
                0 => l[i] = byte,
                1 => { l.remove(i); }
                _ => l.insert(i, byte),
            }
            agrees(&l);
        }
    }
}
