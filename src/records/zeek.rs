//! Zeek's TSV conn.log, as Zeek's ASCII writer writes it: `#separator` (escaped as `\xNN`),
//! `#set_separator`, `#empty_field`, `#unset_field`, `#path`, `#open`, `#fields`, `#types`,
//! rows, `#close`; several header blocks in one file (rotated logs concatenated), each with
//! its own columns, in any order. Strings escape the separators and non-printable bytes as
//! `\xNN`, and a string equal to the unset or empty marker has its first byte escaped, so an
//! unescaped `-` is always unset.

use std::net::IpAddr;

use super::fast::{digit_run, secs_prefix};
use super::values::{Parsed, Partial, decimal_ns, shown};
use crate::flow::{IcmpErrors, Text};

/// The columns flowaudit reads; others are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Ts,
    Uid,
    OrigH,
    OrigP,
    RespH,
    RespP,
    Proto,
    Service,
    Duration,
    OrigBytes,
    RespBytes,
    ConnState,
    MissedBytes,
    History,
    OrigPkts,
    OrigIpBytes,
    RespPkts,
    RespIpBytes,
    TunnelParents,
    Vlan,
    InnerVlan,
    CommunityId,
    DirectionInferred,
    SynSynack,
    SynackAck,
    Rtt,
    IcmpErrors,
    IcmpLastType,
    IcmpLastCode,
    Evicted,
    BadChecksums,
    ServiceStatus,
    TlsVersion,
    TlsClientVersion,
    TlsSni,
    TlsSniCut,
    Ignored,
}

/// Column names, as conn.log and flowaudit's own TSV spell them (`vlan` and `inner_vlan` are
/// Zeek's `policy/protocols/conn/vlan-logging.zeek`; `community_id` its
/// `policy/protocols/conn/community-id-logging.zeek`).
const NAMES: &[(&str, Col)] = &[
    ("ts", Col::Ts),
    ("uid", Col::Uid),
    ("id.orig_h", Col::OrigH),
    ("id.orig_p", Col::OrigP),
    ("id.resp_h", Col::RespH),
    ("id.resp_p", Col::RespP),
    ("proto", Col::Proto),
    ("service", Col::Service),
    ("duration", Col::Duration),
    ("orig_bytes", Col::OrigBytes),
    ("resp_bytes", Col::RespBytes),
    ("conn_state", Col::ConnState),
    ("missed_bytes", Col::MissedBytes),
    ("history", Col::History),
    ("orig_pkts", Col::OrigPkts),
    ("orig_ip_bytes", Col::OrigIpBytes),
    ("resp_pkts", Col::RespPkts),
    ("resp_ip_bytes", Col::RespIpBytes),
    ("tunnel_parents", Col::TunnelParents),
    ("vlan", Col::Vlan),
    ("inner_vlan", Col::InnerVlan),
    ("community_id", Col::CommunityId),
    ("direction_inferred", Col::DirectionInferred),
    ("syn_synack", Col::SynSynack),
    ("synack_ack", Col::SynackAck),
    ("rtt", Col::Rtt),
    ("icmp_errors", Col::IcmpErrors),
    ("icmp_last_type", Col::IcmpLastType),
    ("icmp_last_code", Col::IcmpLastCode),
    ("evicted", Col::Evicted),
    ("bad_checksums", Col::BadChecksums),
    ("service_status", Col::ServiceStatus),
    ("tls_version", Col::TlsVersion),
    ("tls_client_version", Col::TlsClientVersion),
    ("tls_sni", Col::TlsSni),
    ("tls_sni_cut", Col::TlsSniCut),
];

/// The columns a flow record cannot do without.
pub const REQUIRED: [&str; 6] = [
    "ts",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
];

/// What a header line did.
pub(super) enum Header {
    /// A meta line (`#separator`, `#open`, ...) or a `#fields` line with every required column.
    Ok,
    /// A `#fields` line without this required column.
    Missing(&'static str),
    /// A `#path` other than `conn`: another Zeek log (dns, http, ...), whose rows are not
    /// connections even when they have the same id columns.
    NotConn(String),
}

/// The state of a TSV log: the current header block's markers and columns.
pub(super) struct Tsv {
    /// The column separator: one ASCII character (Zeek's is a tab).
    sep: u8,
    set_sep: String,
    empty: Vec<u8>,
    unset: Vec<u8>,
    cols: Vec<(Col, &'static str)>,
    /// A `#fields` line has been read.
    fields: bool,
}

impl Default for Tsv {
    fn default() -> Self {
        Tsv {
            sep: b'\t',
            set_sep: ",".into(),
            empty: b"(empty)".to_vec(),
            unset: b"-".to_vec(),
            cols: Vec::new(),
            fields: false,
        }
    }
}

/// Zeek's escapes: `\xNN` is the byte NN, `\\` a backslash; anything else is as written.
pub(super) fn unescape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if let Some(&[b'x', h, l]) = b.get(i + 1..i + 4)
                && let (Some(h), Some(l)) = (hex(h), hex(l))
            {
                out.push(h << 4 | l);
                i += 4;
                continue;
            }
            if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// A string cell (already known not to be unset), unescaped; bytes that are not UTF-8 are
/// replaced (U+FFFD), as they can only come from Zeek's `\xNN` escapes of binary data (or a
/// damaged line).
fn text(s: &[u8]) -> Text {
    // Cells are short: the standard library's byte search and `from_utf8` beat the
    // vectorised `memchr` and the lossy conversion's chunk iterator (their set-up was
    // about 9 % of the reader's time).
    if !s.contains(&b'\\')
        && let Ok(t) = std::str::from_utf8(s)
    {
        return Text::from(t);
    }
    Text::from_utf8_lossy(&unescape(s))
}

fn count(name: &str, s: &[u8]) -> Result<u64, String> {
    super::fast::count(s).ok_or_else(|| format!("{name}: {} is not a count", shown(s)))
}

fn small<T: TryFrom<u64>>(name: &str, s: &[u8], what: &str) -> Result<T, String> {
    T::try_from(count(name, s)?).map_err(|_| format!("{name}: {} is not a {what}", shown(s)))
}

fn time(name: &str, s: &[u8]) -> Result<i64, String> {
    decimal_ns(s).ok_or_else(|| format!("{name}: {} is not a time in seconds", shown(s)))
}

fn ip(name: &str, s: &[u8]) -> Result<IpAddr, String> {
    super::fast::ip(s).ok_or_else(|| format!("{name}: {} is not an IP address", shown(s)))
}

fn boolean(name: &str, s: &[u8]) -> Result<bool, String> {
    match s {
        b"T" => Ok(true),
        b"F" => Ok(false),
        _ => Err(format!("{name}: {} is not T or F", shown(s))),
    }
}

/// Whether a cell is a marker (`-`, `(empty)`): the one-byte case, which most cells are
/// compared against, without a call to `memcmp`.
#[inline]
fn is(cell: &[u8], marker: &[u8]) -> bool {
    match (cell, marker) {
        ([c], [m]) => c == m,
        _ => cell == marker,
    }
}

impl Tsv {
    /// Reads a line that starts with `#`.
    pub fn header(&mut self, line: &[u8]) -> Header {
        if let Some(v) = line.strip_prefix(b"#separator ") {
            // The separator is written escaped (`\x09`); Zeek's is one byte. Only an ASCII
            // one is taken (rows are split as text).
            if let [b] = unescape(v).as_slice()
                && b.is_ascii()
            {
                self.sep = *b;
            }
            return Header::Ok;
        }
        let (name, value) = match line.iter().position(|&b| b == self.sep) {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &[][..]),
        };
        match name {
            b"#set_separator" => self.set_sep = String::from_utf8_lossy(&unescape(value)).into(),
            b"#empty_field" => self.empty = unescape(value),
            b"#unset_field" => self.unset = unescape(value),
            b"#path" if value != b"conn" => {
                return Header::NotConn(String::from_utf8_lossy(&unescape(value)).into_owned());
            }
            b"#fields" => {
                self.cols = value
                    .split(|&b| b == self.sep)
                    .map(|n| {
                        NAMES
                            .iter()
                            .find(|(name, _)| name.as_bytes() == n)
                            .map_or((Col::Ignored, ""), |&(name, c)| (c, name))
                    })
                    .collect();
                self.fields = true;
                for (req, col) in REQUIRED.iter().zip([
                    Col::Ts,
                    Col::OrigH,
                    Col::OrigP,
                    Col::RespH,
                    Col::RespP,
                    Col::Proto,
                ]) {
                    if !self.cols.iter().any(|&(c, _)| c == col) {
                        return Header::Missing(req);
                    }
                }
            }
            _ => {}
        }
        Header::Ok
    }

    /// A string cell: Zeek writes an empty string as the empty marker (and escapes a string
    /// that is the marker itself). `row` is the row's text when it is UTF-8 without escapes,
    /// and `at` the cell's place in it: the cell is then taken as it is.
    fn string(&self, s: &[u8], row: Option<&str>, at: std::ops::Range<usize>) -> Text {
        if is(s, &self.empty) {
            Text::default()
        } else if let Some(t) = row.and_then(|r| r.get(at)) {
            Text::from(t)
        } else {
            text(s)
        }
    }

    /// The elements of a set or vector cell, as text: none when unset or empty.
    fn set(&self, s: &[u8]) -> Vec<String> {
        if is(s, &self.unset) || is(s, &self.empty) || s.is_empty() {
            return Vec::new();
        }
        let sep = if self.set_sep.is_empty() {
            ","
        } else {
            self.set_sep.as_str()
        };
        String::from_utf8_lossy(s)
            .split(sep)
            .map(str::to_owned)
            .collect()
    }

    /// Reads a row into a record.
    ///
    /// Cells are read where they lie in the row, one after the other: a count or a time is
    /// read digit by digit up to its end, which must be the separator (or the row's end);
    /// any other cell, and a number in another form, is found by the next separator and
    /// read whole. This found the separators in a pass of its own before, which cost more
    /// than reading the numbers.
    pub fn row(&mut self, line: &[u8]) -> Result<Parsed, String> {
        if !self.fields {
            return Err("a row before any #fields line".into());
        }
        self.fill(line)
            .map_err(|e| self.miscounted(line).unwrap_or(e))
    }

    /// The error of a row whose fields are not one a column: when a cell cannot be read,
    /// this is what is wrong with the row.
    fn miscounted(&self, line: &[u8]) -> Option<String> {
        let n = memchr::memchr_iter(self.sep, line).count() + 1;
        (n != self.cols.len())
            .then(|| format!("{n} fields where #fields names {}", self.cols.len()))
    }

    /// Whether the cell at `line[start..]` is the unset marker when that is one byte (`-`),
    /// as most unset cells are: passed over without a look at its column.
    #[inline]
    fn unset_at(&self, line: &[u8], start: usize) -> bool {
        match self.unset.as_slice() {
            [m] => line.get(start) == Some(m) && line.get(start + 1).is_none_or(|&b| b == self.sep),
            _ => false,
        }
    }

    /// Reads the cell of `col` at `line[start..]` in place when it is a count or a time in
    /// its plain form (digits; digits, a point and digits) and the column is one such
    /// values are read into: where the cell stops, with its value in `p`. None for every
    /// other cell (left to [`Tsv::cell`]). An ignored column's cell is passed over.
    #[inline]
    fn in_place(&self, col: Col, line: &[u8], start: usize, p: &mut Partial) -> Option<usize> {
        match col {
            Col::Ts | Col::Duration | Col::SynSynack | Col::SynackAck | Col::Rtt => {
                let (ns, stop) = secs_prefix(line, start, line.len())?;
                match col {
                    Col::Ts => p.ts_ns = Some(ns),
                    Col::Duration => p.duration_ns = ns,
                    Col::SynSynack => p.syn_synack_ns = Some(ns),
                    Col::SynackAck => p.synack_ack_ns = Some(ns),
                    _ => p.rtt_ns = Some(ns),
                }
                Some(stop)
            }
            Col::OrigP
            | Col::RespP
            | Col::OrigBytes
            | Col::RespBytes
            | Col::MissedBytes
            | Col::OrigPkts
            | Col::OrigIpBytes
            | Col::RespPkts
            | Col::RespIpBytes => {
                let (n, len) = digit_run(line, start, 19);
                if len == 0 {
                    return None;
                }
                match col {
                    Col::OrigP => p.orig_p = Some(u16::try_from(n).ok()?),
                    Col::RespP => p.resp_p = Some(u16::try_from(n).ok()?),
                    Col::OrigBytes => p.orig_bytes = n,
                    Col::RespBytes => p.resp_bytes = n,
                    Col::MissedBytes => p.missed_bytes = n,
                    Col::OrigPkts => p.orig_pkts = n,
                    Col::OrigIpBytes => p.orig_ip_bytes = n,
                    Col::RespPkts => p.resp_pkts = n,
                    _ => p.resp_ip_bytes = n,
                }
                Some(start + len)
            }
            Col::Ignored => Some(cell_end(line, start, self.sep)),
            _ => None,
        }
    }

    /// Fills a record from a row (see [`Tsv::row`]).
    fn fill(&self, line: &[u8]) -> Result<Parsed, String> {
        let mut p = Partial::default();
        let mut icmp: Option<IcmpErrors> = None;
        // Most rows are UTF-8 without an escape: checked once for the row, their string cells
        // are taken as they are (checking each cell cost more than the whole row).
        let row = match memchr::memchr(b'\\', line) {
            None => std::str::from_utf8(line).ok(),
            Some(_) => None,
        };
        let last = self.cols.len().saturating_sub(1);
        let mut start = 0;
        for (k, &(col, name)) in self.cols.iter().enumerate() {
            let end = if self.unset_at(line, start) {
                start + 1
            } else {
                match self.in_place(col, line, start, &mut p) {
                    Some(end) if line.get(end).is_none_or(|&b| b == self.sep) => end,
                    _ => {
                        let end = cell_end(line, start, self.sep);
                        self.cell(col, name, line, start..end, row, &mut p, &mut icmp)?;
                        end
                    }
                }
            };
            if (k == last) != (end == line.len()) {
                return Err("the row ends before its last column or goes on after it".into());
            }
            start = end + 1;
        }
        // flowaudit writes icmp_errors 0 with unset type and code when none quoted the flow.
        p.icmp_errors = icmp.filter(|e| e.count > 0);
        p.finish()
    }

    /// Reads the cell `line[at]` of `col` into `p` (ICMP errors into `icmp`). `row` is the
    /// row as text when it is UTF-8 without escapes.
    #[allow(clippy::too_many_arguments)]
    fn cell(
        &self,
        col: Col,
        name: &'static str,
        line: &[u8],
        at: std::ops::Range<usize>,
        row: Option<&str>,
        p: &mut Partial,
        icmp: &mut Option<IcmpErrors>,
    ) -> Result<(), String> {
        let cell = line.get(at.clone()).unwrap_or_default();
        // Ignored columns are passed over before this (`in_place`).
        if is(cell, &self.unset) {
            return Ok(());
        }
        match col {
            Col::Ts => p.ts_ns = Some(time(name, cell)?),
            Col::Uid => p.uid = self.string(cell, row, at),
            Col::OrigH => p.orig_h = Some(ip(name, cell)?),
            Col::OrigP => p.orig_p = Some(small(name, cell, "port")?),
            Col::RespH => p.resp_h = Some(ip(name, cell)?),
            Col::RespP => p.resp_p = Some(small(name, cell, "port")?),
            Col::Proto => p.proto = Some(super::values::transport_bytes(cell)?),
            Col::Service => p.service = super::values::service(&text(cell)),
            Col::Duration => p.duration_ns = time(name, cell)?,
            Col::OrigBytes => p.orig_bytes = count(name, cell)?,
            Col::RespBytes => p.resp_bytes = count(name, cell)?,
            Col::ConnState => p.conn_state = Some(super::values::conn_state_bytes(cell)?),
            Col::MissedBytes => p.missed_bytes = count(name, cell)?,
            Col::History => p.history = self.string(cell, row, at),
            Col::OrigPkts => p.orig_pkts = count(name, cell)?,
            Col::OrigIpBytes => p.orig_ip_bytes = count(name, cell)?,
            Col::RespPkts => p.resp_pkts = count(name, cell)?,
            Col::RespIpBytes => p.resp_ip_bytes = count(name, cell)?,
            Col::TunnelParents => {
                p.tunnel_parents = self.set(cell).iter().map(|s| text(s.as_bytes())).collect()
            }
            Col::Vlan => {
                p.vlan = self
                    .set(cell)
                    .iter()
                    .map(|v| small(name, v.as_bytes(), "VLAN id"))
                    .collect::<Result<_, _>>()?
            }
            Col::InnerVlan => p.inner_vlan = Some(small(name, cell, "VLAN id")?),
            Col::CommunityId => p.community_id = Some(self.string(cell, row, at)),
            Col::DirectionInferred => p.direction_inferred = Some(boolean(name, cell)?),
            Col::SynSynack => p.syn_synack_ns = Some(time(name, cell)?),
            Col::SynackAck => p.synack_ack_ns = Some(time(name, cell)?),
            Col::Rtt => p.rtt_ns = Some(time(name, cell)?),
            Col::IcmpErrors => {
                let n: u32 = small(name, cell, "count")?;
                if n > 0 {
                    icmp.get_or_insert(IcmpErrors {
                        count: 0,
                        last_type: 0,
                        last_code: 0,
                    })
                    .count = n;
                }
            }
            Col::IcmpLastType | Col::IcmpLastCode => {
                let v: u8 = small(name, cell, "byte")?;
                let e = icmp.get_or_insert(IcmpErrors {
                    count: 0,
                    last_type: 0,
                    last_code: 0,
                });
                if col == Col::IcmpLastType {
                    e.last_type = v;
                } else {
                    e.last_code = v;
                }
            }
            Col::Evicted => p.evicted = boolean(name, cell)?,
            Col::BadChecksums => p.bad_checksums = small(name, cell, "count")?,
            Col::ServiceStatus => {
                p.service_status = Some(super::values::service_status(&text(cell))?)
            }
            Col::TlsVersion => p.tls_version = Some(super::values::tls_version(name, &text(cell))?),
            Col::TlsClientVersion => {
                p.tls_client_version = Some(super::values::tls_version(name, &text(cell))?)
            }
            Col::TlsSni => p.tls_sni = self.string(cell, row, at),
            Col::TlsSniCut => p.tls_sni_cut = boolean(name, cell)?,
            Col::Ignored => {}
        }
        Ok(())
    }
}

/// Where the cell that starts at `line[start]` ends: the next `sep` byte, or the row's end.
///
/// Eight bytes at a time: each 8-byte word is compared with the separator in every byte lane
/// at once (no carry crosses a lane, so the lanes found are exactly the separators). A
/// byte-by-byte scan mispredicted its end-of-cell branch at every cell.
#[inline]
fn cell_end(line: &[u8], start: usize, sep: u8) -> usize {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let splat = u64::from_ne_bytes([sep; 8]);
    let mut i = start;
    while let Some(w) = line.get(i..i + 8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        let x = u64::from_le_bytes(b) ^ splat;
        // A lane is zero exactly when adding 0x7f to its low seven bits leaves its top bit
        // clear and its own top bit is clear.
        let mask = !(((x & LOW7) + LOW7) | x | LOW7);
        if mask != 0 {
            return i + (mask.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = line.get(i) {
        if b == sep {
            return i;
        }
        i += 1;
    }
    line.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(line: &[u8], start: usize, sep: u8) -> usize {
        line.iter()
            .enumerate()
            .skip(start)
            .find(|&(_, &b)| b == sep)
            .map_or(line.len(), |(i, _)| i)
    }

    #[test]
    fn cell_ends_at_every_lane_and_length() {
        for len in 0..40 {
            for at in 0..len {
                let mut line = vec![b'a'; len];
                line[at] = b'\t';
                for start in 0..=at {
                    assert_eq!(cell_end(&line, start, b'\t'), at, "{len} {at} {start}");
                }
                assert_eq!(cell_end(&line, at + 1, b'\t'), len, "{len} {at}");
            }
        }
        // Bytes one away from the separator, and with the top bit set, are not it.
        let line = b"\x08\x0a\x89\x09\x00\xff\t\t";
        assert_eq!(cell_end(line, 0, b'\t'), 3);
        assert_eq!(cell_end(line, 4, b'\t'), 6);
        assert_eq!(cell_end(line, 7, b'\t'), 7);
        assert_eq!(cell_end(b"\x80\x00\x01", 0, 0), 1);
    }

    proptest! {
        #[test]
        fn cell_end_as_a_scan_finds_it(
            line in proptest::collection::vec(any::<u8>(), 0..80),
            start in any::<prop::sample::Index>(),
            sep in any::<u8>(),
        ) {
            let start = start.index(line.len() + 1);
            prop_assert_eq!(cell_end(&line, start, sep), naive(&line, start, sep));
        }
    }
}
