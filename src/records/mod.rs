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
pub mod netflow;
pub mod pair;
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
use std::io::{self, BufRead, BufReader, Read};

use crate::flow::FlowRecord;

pub use evidence::{InputEvidence, Limit};
pub use half::{HalfFlow, Initiator, tcp_flags};
#[doc(hidden)]
pub use json::scanner_agrees;
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

impl Source for Reader {
    fn next_item(&mut self) -> Result<Option<Item>, RecordsError> {
        Reader::next_item(self)
    }
    fn stats(&self) -> &ReadStats {
        &self.stats
    }
    fn format_name(&self) -> &'static str {
        self.format.name()
    }
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

/// One line read.
enum Got {
    Line,
    TooLong,
    Eof,
}

/// Reads flow records from one input, line by line.
pub struct Reader {
    file: String,
    input: Box<dyn BufRead + Send>,
    format: Format,
    tsv: zeek::Tsv,
    vpc: vpc::Vpc,
    line: Vec<u8>,
    line_no: u64,
    /// The line read to recognise the format, not yet processed.
    pending: bool,
    stats: ReadStats,
    done: bool,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("file", &self.file)
            .field("format", &self.format)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Reader {
    /// Opens `input` (named `file` in errors): gzip or not, then the format, from the first
    /// line that is not blank.
    pub fn open<R: Read + Send + 'static>(
        file: impl Into<String>,
        input: R,
    ) -> Result<Reader, RecordsError> {
        Reader::open_as(file, input, None)
    }

    /// As [`Reader::open`], with the format given (`--from`) instead of recognised: lines
    /// that are not of it are malformed.
    pub fn open_as<R: Read + Send + 'static>(
        file: impl Into<String>,
        mut input: R,
        format: Option<Format>,
    ) -> Result<Reader, RecordsError> {
        let file = file.into();
        let io = |source| RecordsError::Io {
            file: file.clone(),
            source,
        };
        let mut magic = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match input.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        }
        let head = io::Cursor::new(magic[..got].to_vec()).chain(input);
        let input: Box<dyn BufRead + Send> = if magic[..got] == [0x1f, 0x8b] {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::read::MultiGzDecoder::new(head),
            ))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, head))
        };
        let mut r = Reader {
            file,
            input,
            format: Format::ZeekTsv,
            tsv: zeek::Tsv::default(),
            vpc: vpc::Vpc::default(),
            line: Vec::with_capacity(1024),
            line_no: 0,
            pending: false,
            stats: ReadStats::default(),
            done: false,
        };
        loop {
            match r.read_line().map_err(|e| r.io(e))? {
                Got::Eof => return Err(r.unknown("no line in it".into())),
                Got::TooLong => {
                    return Err(
                        r.unknown(format!("its first line is longer than {MAX_LINE} bytes"))
                    );
                }
                Got::Line if r.line.iter().all(u8::is_ascii_whitespace) => {
                    r.stats.lines += 1;
                    r.stats.blank += 1;
                }
                Got::Line => break,
            }
        }
        r.format = if let Some(f) = format {
            f
        } else if r.line.starts_with(b"#separator ") {
            Format::ZeekTsv
        } else if r.line.first() == Some(&b'{') && eve::probe(&r.line) {
            Format::SuricataEve
        } else if r.line.first() == Some(&b'{') {
            match json::probe(&r.line) {
                Some(true) => Format::FlowauditJson,
                Some(false) => Format::ZeekJson,
                None => {
                    return Err(r.unknown(
                        "its first line is not a connection record (a JSON object with ts, id.orig_h, proto and conn_state or orig_ip_bytes; Zeek's other logs are not read), nor an EVE event (event_type and timestamp)".into(),
                    ));
                }
            }
        } else if vpc::probe(&r.line) {
            Format::VpcFlowLog
        } else {
            return Err(r.unknown(format!(
                "its first line is neither `#separator`, a JSON object, a VPC flow log header nor a version-2 VPC flow log line: {}",
                values::shown(&r.line)
            )));
        };
        r.pending = true;
        Ok(r)
    }

    fn io(&self, source: io::Error) -> RecordsError {
        RecordsError::Io {
            file: self.file.clone(),
            source,
        }
    }

    fn unknown(&self, why: String) -> RecordsError {
        RecordsError::UnknownFormat {
            file: self.file.clone(),
            why,
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// Reads the next line into `self.line` (without its `\n` or `\r\n`), at most [`MAX_LINE`]
    /// bytes kept.
    fn read_line(&mut self) -> io::Result<Got> {
        self.line.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            any = true;
            let (take, end) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
            if !too_long && self.line.len() + take <= MAX_LINE {
                self.line.extend_from_slice(&buf[..take]);
            } else {
                too_long = true;
                self.line.clear();
            }
            self.input.consume(if end { take + 1 } else { take });
            if end {
                break;
            }
        }
        if !any {
            return Ok(Got::Eof);
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(if too_long { Got::TooLong } else { Got::Line })
    }

    /// The next item; `Ok(None)` at the end of the input. After an error, nothing more.
    pub fn next_item(&mut self) -> Result<Option<Item>, RecordsError> {
        while !self.done {
            if self.pending {
                self.pending = false;
            } else {
                match self.read_line() {
                    Ok(Got::Line) => {}
                    Ok(Got::TooLong) => {
                        self.line_no += 1;
                        self.stats.lines += 1;
                        let n = self.line_no;
                        self.stats
                            .malformed(n, format!("longer than {MAX_LINE} bytes"));
                        continue;
                    }
                    Ok(Got::Eof) => {
                        self.done = true;
                        break;
                    }
                    Err(e) => {
                        self.done = true;
                        return Err(self.io(e));
                    }
                }
            }
            self.line_no += 1;
            self.stats.lines += 1;
            if self.line.iter().all(u8::is_ascii_whitespace) {
                self.stats.blank += 1;
                continue;
            }
            let parsed = match self.format {
                Format::ZeekTsv if self.line.first() == Some(&b'#') => {
                    self.stats.headers += 1;
                    match self.tsv.header(&self.line) {
                        zeek::Header::Ok => {}
                        zeek::Header::Missing(column) => {
                            self.done = true;
                            return Err(RecordsError::MissingColumn {
                                file: self.file.clone(),
                                line: self.line_no,
                                column,
                            });
                        }
                        zeek::Header::NotConn(path) => {
                            self.done = true;
                            return Err(self.unknown(format!(
                                "line {}: #path is {}, not conn: flowaudit reads Zeek's conn.log, not its other logs",
                                self.line_no,
                                values::shown(path.as_bytes())
                            )));
                        }
                    }
                    continue;
                }
                Format::ZeekTsv => self.tsv.row(&self.line),
                Format::ZeekJson | Format::FlowauditJson => json::line(&self.line),
                Format::SuricataEve => eve::line(&self.line),
                Format::VpcFlowLog if vpc::is_header(&self.line) => {
                    match self.vpc.header(&self.line) {
                        Ok(()) => {
                            self.stats.headers += 1;
                            continue;
                        }
                        Err(message) => Err(message),
                    }
                }
                Format::VpcFlowLog => self.vpc.row(&self.line),
            };
            match parsed {
                Ok(values::Parsed::Record(r)) => {
                    self.stats.record(r.ts_ns);
                    return Ok(Some(Item::Flow(r)));
                }
                Ok(values::Parsed::Half(h)) => {
                    self.stats.record(h.start_ns);
                    return Ok(Some(Item::Half(h)));
                }
                Ok(values::Parsed::Pair { orig, resp }) => {
                    let item = Item::Pair { orig, resp };
                    self.stats.record(item.start_ns());
                    return Ok(Some(item));
                }
                Ok(values::Parsed::Skip(why)) => {
                    *self.stats.skipped.entry(why).or_insert(0) += 1;
                }
                Err(message) => {
                    let n = self.line_no;
                    self.stats.malformed(n, message);
                }
            }
        }
        Ok(None)
    }
}

impl Iterator for Reader {
    type Item = Result<Item, RecordsError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}
