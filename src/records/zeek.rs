//! Zeek's TSV conn.log, as Zeek's ASCII writer writes it: `#separator` (escaped as `\xNN`),
//! `#set_separator`, `#empty_field`, `#unset_field`, `#path`, `#open`, `#fields`, `#types`,
//! rows, `#close`; several header blocks in one file (rotated logs concatenated), each with
//! its own columns, in any order. Strings escape the separators and non-printable bytes as
//! `\xNN`, and a string equal to the unset or empty marker has its first byte escaped, so an
//! unescaped `-` is always unset.

use std::net::IpAddr;

use super::values::{Parsed, Partial, decimal_ns, shown};
use crate::flow::IcmpErrors;

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
    /// Where each separator of the row being read is (reused from row to row).
    seps: Vec<usize>,
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
            seps: Vec::new(),
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
fn text(s: &[u8]) -> String {
    // Cells are short: the standard library's byte search and `from_utf8` beat the
    // vectorised `memchr` and the lossy conversion's chunk iterator (their set-up was
    // about 9 % of the reader's time).
    if !s.contains(&b'\\')
        && let Ok(t) = std::str::from_utf8(s)
    {
        return t.to_owned();
    }
    String::from_utf8_lossy(&unescape(s)).into_owned()
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

/// A time cell at `at` in `row`: read in place when plain, else as [`time`] reads it.
#[inline]
fn time_at(name: &str, row: &[u8], at: std::ops::Range<usize>) -> Result<i64, String> {
    match super::fast::secs_ns_at(row, at.clone()) {
        Some(ns) => Ok(ns),
        None => time(name, row.get(at).unwrap_or_default()),
    }
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
    fn string(&self, s: &[u8], row: Option<&str>, at: std::ops::Range<usize>) -> String {
        if is(s, &self.empty) {
            String::new()
        } else if let Some(t) = row.and_then(|r| r.get(at)) {
            t.to_owned()
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
    pub fn row(&mut self, line: &[u8]) -> Result<Parsed, String> {
        if !self.fields {
            return Err("a row before any #fields line".into());
        }
        // Zeek escapes what is not printable, so a row is text; bytes that are not UTF-8 are
        // replaced in the strings they are in (and make a number or an address wrong). The
        // separator is ASCII, so it never falls inside a character.
        separators(line, self.sep, &mut self.seps);
        let n = self.seps.len() + 1;
        if n != self.cols.len() {
            return Err(format!(
                "{n} fields where #fields names {}",
                self.cols.len()
            ));
        }
        self.fill(line)
    }

    /// Fills a record from a row whose separators are in `self.seps`, one a column.
    fn fill(&self, line: &[u8]) -> Result<Parsed, String> {
        let mut p = Partial::default();
        let mut icmp: Option<IcmpErrors> = None;
        // Most rows are UTF-8 without an escape: checked once for the row, their string cells
        // are taken as they are (checking each cell cost more than the whole row).
        let row = match memchr::memchr(b'\\', line) {
            None => std::str::from_utf8(line).ok(),
            Some(_) => None,
        };
        let mut start = 0;
        for (k, &(col, name)) in self.cols.iter().enumerate() {
            let end = self.seps.get(k).copied().unwrap_or(line.len());
            let cell = line.get(start..end).unwrap_or_default();
            let at = start..end;
            start = end + 1;
            if col == Col::Ignored || is(cell, &self.unset) {
                continue;
            }
            match col {
                Col::Ts => p.ts_ns = Some(time_at(name, line, at)?),
                Col::Uid => p.uid = self.string(cell, row, at),
                Col::OrigH => p.orig_h = Some(ip(name, cell)?),
                Col::OrigP => p.orig_p = Some(small(name, cell, "port")?),
                Col::RespH => p.resp_h = Some(ip(name, cell)?),
                Col::RespP => p.resp_p = Some(small(name, cell, "port")?),
                Col::Proto => p.proto = Some(super::values::transport_bytes(cell)?),
                Col::Service => {
                    p.service = self
                        .set(cell)
                        .iter()
                        .find_map(|s| super::values::service(&text(s.as_bytes())))
                }
                Col::Duration => p.duration_ns = time_at(name, line, at)?,
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
                Col::SynSynack => p.syn_synack_ns = Some(time_at(name, line, at)?),
                Col::SynackAck => p.synack_ack_ns = Some(time_at(name, line, at)?),
                Col::Rtt => p.rtt_ns = Some(time_at(name, line, at)?),
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
                Col::Ignored => {}
            }
        }
        // flowaudit writes icmp_errors 0 with unset type and code when none quoted the flow.
        p.icmp_errors = icmp.filter(|e| e.count > 0);
        p.finish()
    }
}

/// Puts in `out` where each `sep` byte of `line` is, in order.
///
/// Eight bytes at a time: each 8-byte word is compared with the separator in every byte lane
/// at once (no carry crosses a lane, so the lanes found are exactly the separators), and the
/// positions are taken from the lane mask. A byte-by-byte scan mispredicted its end-of-cell
/// branch at every cell; this is what most of the row's time was.
fn separators(line: &[u8], sep: u8, out: &mut Vec<usize>) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let splat = u64::from_ne_bytes([sep; 8]);
    out.clear();
    let mut words = line.chunks_exact(8);
    let mut base = 0;
    let lanes = |word: u64, base: usize, out: &mut Vec<usize>| {
        let x = word ^ splat;
        // A lane is zero exactly when adding 0x7f to its low seven bits leaves its top bit
        // clear and its own top bit is clear.
        let mut mask = !(((x & LOW7) + LOW7) | x | LOW7);
        while mask != 0 {
            out.push(base + (mask.trailing_zeros() / 8) as usize);
            mask &= mask - 1;
        }
    };
    for w in words.by_ref() {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        lanes(u64::from_le_bytes(b), base, out);
        base += 8;
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        // The last bytes, padded with a byte that is not the separator.
        let mut b = [!sep; 8];
        b[..rest.len()].copy_from_slice(rest);
        lanes(u64::from_le_bytes(b), base, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(line: &[u8], sep: u8) -> Vec<usize> {
        line.iter()
            .enumerate()
            .filter(|&(_, &b)| b == sep)
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn separators_at_every_lane_and_length() {
        let mut out = Vec::new();
        for len in 0..40 {
            for at in 0..len {
                let mut line = vec![b'a'; len];
                line[at] = b'\t';
                separators(&line, b'\t', &mut out);
                assert_eq!(out, [at], "{len} {at}");
            }
        }
        // Bytes one away from the separator, and with the top bit set, are not it.
        let line = b"\x08\x0a\x89\x09\x00\xff\t\t";
        separators(line, b'\t', &mut out);
        assert_eq!(out, [3, 6, 7]);
        separators(b"\x80\x00\x01", 0, &mut out);
        assert_eq!(out, [1]);
    }

    proptest! {
        #[test]
        fn separators_as_a_scan_finds_them(
            line in proptest::collection::vec(any::<u8>(), 0..80),
            sep in any::<u8>(),
        ) {
            let mut out = vec![99];
            separators(&line, sep, &mut out);
            prop_assert_eq!(out, naive(&line, sep));
        }
    }
}
