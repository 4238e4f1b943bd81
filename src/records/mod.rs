//! Flow records other tools (and other flowaudit runs) already wrote, read back into
//! [`FlowRecord`]s: Zeek's conn.log (TSV as Zeek's ASCII writer writes it, or JSON lines) and
//! flowaudit's own JSON lines (`flows`, `--flows-out`); Suricata EVE JSON ([`eve`]: `flow` and
//! `netflow` events) and AWS VPC flow logs ([`vpc`]) into [`Item::Pair`]s and [`Item::Half`]s.
//! The input may be gzip-compressed
//! (recognised by its magic bytes, concatenated members included); the format is recognised by
//! content. Reading is line by line: memory follows one line (at most [`MAX_LINE`] bytes),
//! never the input's length.
//!
//! A line that cannot be read is counted with its line number ([`ReadStats`]), and reading
//! goes on; records that are not TCP/UDP flows (Zeek's `icmp`) are counted as skipped with
//! their reason. Only an unreadable input, an input in no known format, or a Zeek log without a
//! column a flow record needs is an error ([`RecordsError`]).

pub mod dedupe;
pub mod eve;
mod evidence;
mod fast;
mod half;
mod json;
mod json_layout;
pub mod netflow;
mod packed;
pub mod pair;
mod reader;
mod values;
pub mod vpc;
mod zeek;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_eve;
#[cfg(test)]
mod tests_vpc;

use std::collections::BTreeMap;
use std::io;

use crate::flow::FlowRecord;

pub use evidence::{InputEvidence, Limit};
pub use half::{HalfFlow, Initiator, tcp_flags};
#[doc(hidden)]
pub use json::scanner_agrees;
pub use reader::Reader;
pub use values::{SKIP_ICMP, SKIP_OTHER, direction_inferred};
pub use zeek::REQUIRED;

/// The longest line read; a longer one is counted malformed and skipped.
pub const MAX_LINE: usize = 1 << 20;
/// Malformed lines kept with their message (the others are only counted).
pub const KEEP_MALFORMED: usize = 5;

/// What a source yields: a bidirectional flow record, or one direction of a flow (paired with
/// the other direction later).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Item {
    Flow(FlowRecord),
    /// One direction of a flow, to be paired with the other by 5-tuple and time.
    Half(HalfFlow),
    /// Both directions of one flow, as one record of the source has them (Suricata EVE `flow`
    /// events, IPFIX RFC 5103 biflows): `orig` is the first direction (src = the client when
    /// the source says so in `orig.initiator`; otherwise TCP flags and inference decide),
    /// `resp` the other (zero packets when there was none).
    Pair {
        orig: HalfFlow,
        resp: HalfFlow,
    },
}

impl Item {
    /// The time of the item's first packet, ns since the epoch.
    pub fn start_ns(&self) -> i64 {
        match self {
            Item::Flow(r) => r.ts_ns,
            Item::Half(h) => h.start_ns,
            Item::Pair { orig, resp } if resp.pkts > 0 => orig.start_ns.min(resp.start_ns),
            Item::Pair { orig, .. } => orig.start_ns,
        }
    }
}

/// One input in one format: what the records pipeline reads.
pub trait Source: Send {
    /// The next item; `Ok(None)` at the end. After an error, nothing more.
    fn next_item(&mut self) -> Result<Option<Item>, RecordsError>;
    /// What was read so far.
    fn stats(&self) -> &ReadStats;
    /// The format's name, as `--from` and the report spell it.
    fn format_name(&self) -> &'static str;
}

/// A record format, recognised by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Zeek's TSV conn.log (`#separator`, `#fields`, `#types`, rows).
    ZeekTsv,
    /// Zeek's JSON conn.log: one object a line.
    ZeekJson,
    /// flowaudit's JSON lines (`flows`, `--flows-out`).
    FlowauditJson,
    /// Suricata's EVE JSON: one object a line with `event_type` and `timestamp`.
    SuricataEve,
    /// AWS VPC flow logs: the default version-2 format, or a custom one with its header line.
    VpcFlowLog,
}

impl Format {
    /// Every format, in the order `--from` lists them.
    pub const ALL: [Format; 5] = [
        Format::ZeekTsv,
        Format::ZeekJson,
        Format::FlowauditJson,
        Format::SuricataEve,
        Format::VpcFlowLog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::ZeekTsv => "zeek-tsv",
            Format::ZeekJson => "zeek-json",
            Format::FlowauditJson => "flowaudit-json",
            Format::SuricataEve => "suricata-eve",
            Format::VpcFlowLog => "aws-vpc",
        }
    }
}

/// Why an input cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{file}: neither a capture (pcap, pcapng) nor a flow-record log (Zeek conn.log TSV or JSON, flowaudit JSON lines, Suricata EVE JSON, AWS VPC flow log): {why}"
    )]
    UnknownFormat { file: String, why: String },
    #[error(
        "{file}: line {line}: the Zeek log has no `{column}` column, which a flow record needs"
    )]
    MissingColumn {
        file: String,
        line: u64,
        column: &'static str,
    },
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// 1-based line number in the (decompressed) input.
    pub line: u64,
    pub message: String,
}

/// What reading an input found. Every line read is in exactly one of `records`, `skipped`,
/// `malformed`, `headers` and `blank`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub lines: u64,
    pub records: u64,
    /// Records that are no TCP/UDP flow, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    pub malformed: u64,
    /// The first [`KEEP_MALFORMED`] malformed lines.
    pub first_malformed: Vec<Malformed>,
    /// Header lines: Zeek's `#...`, a VPC flow log's field names.
    pub headers: u64,
    pub blank: u64,
    /// Time of the earliest and latest record (`ts`), ns since the epoch.
    pub first_ts_ns: Option<i64>,
    pub last_ts_ns: Option<i64>,
}

impl ReadStats {
    /// Lines that were skipped records.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// What every line-based reader's statistics hold (the fuzz targets and tests check it):
    /// every line read is in exactly one of records, skipped, malformed, headers and blank; the
    /// malformed lines kept are the first few, in line order, each a line that was read; the
    /// first time is not after the last.
    pub fn consistency(&self) -> Result<(), String> {
        let counted =
            self.records + self.skipped_total() + self.malformed + self.headers + self.blank;
        if self.lines != counted {
            return Err(format!("a line counted in no category or in two: {self:?}"));
        }
        if self.first_malformed.len() as u64 != self.malformed.min(KEEP_MALFORMED as u64) {
            return Err(format!("not the first malformed lines kept: {self:?}"));
        }
        if !self
            .first_malformed
            .windows(2)
            .all(|w| w[0].line < w[1].line)
            || !self
                .first_malformed
                .iter()
                .all(|m| m.line >= 1 && m.line <= self.lines)
        {
            return Err(format!("malformed lines out of order or range: {self:?}"));
        }
        if let (Some(a), Some(b)) = (self.first_ts_ns, self.last_ts_ns)
            && a > b
        {
            return Err(format!("first time after the last: {self:?}"));
        }
        Ok(())
    }

    /// A record (or half) starting at `ts_ns` was read.
    pub fn record(&mut self, ts_ns: i64) {
        self.records += 1;
        self.first_ts_ns = Some(self.first_ts_ns.map_or(ts_ns, |t| t.min(ts_ns)));
        self.last_ts_ns = Some(self.last_ts_ns.map_or(ts_ns, |t| t.max(ts_ns)));
    }

    /// A line (or message) at `line` could not be read.
    pub fn malformed(&mut self, line: u64, message: String) {
        self.malformed += 1;
        if self.first_malformed.len() < KEEP_MALFORMED {
            self.first_malformed.push(Malformed { line, message });
        }
    }
}
