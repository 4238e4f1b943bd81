//! [`Reader`]: one input's lines, gzip or not, in the format recognised from its first line,
//! read into [`Item`]s.
//!
//! A line that lies whole in the input's buffer is read where it is; only a line cut by the
//! buffer's end (or longer than it) is copied, so that memory follows one line and the bytes
//! are not moved twice.

use std::io::{self, BufRead, BufReader, Read};

use super::{
    Format, Item, MAX_LINE, ReadStats, RecordsError, Source, eve, json, values, vpc, zeek,
};

/// The input's buffer: lines of a few hundred bytes are read where they lie in it.
const BUFFER: usize = 1 << 16;

/// One line copied out of the input.
enum Got {
    Line,
    TooLong,
    Eof,
}

/// Reads flow records from one input, line by line.
pub struct Reader {
    input: Box<dyn BufRead + Send>,
    /// The last line copied out of the input (see [`read_line`]).
    line: Vec<u8>,
    /// `line` holds the line read to recognise the format, not yet taken.
    pending: bool,
    done: bool,
    lines: Lines,
}

/// What reads the lines: the format's state and the statistics.
struct Lines {
    file: String,
    format: Format,
    tsv: zeek::Tsv,
    vpc: vpc::Vpc,
    line_no: u64,
    stats: ReadStats,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("file", &self.lines.file)
            .field("format", &self.lines.format)
            .field("stats", &self.lines.stats)
            .finish()
    }
}

impl Source for Reader {
    fn next_item(&mut self) -> Result<Option<Item>, RecordsError> {
        Reader::next_item(self)
    }
    fn stats(&self) -> &ReadStats {
        &self.lines.stats
    }
    fn format_name(&self) -> &'static str {
        self.lines.format.name()
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
                BUFFER,
                flate2::read::MultiGzDecoder::new(head),
            ))
        } else {
            Box::new(BufReader::with_capacity(BUFFER, head))
        };
        let mut r = Reader {
            input,
            line: Vec::with_capacity(1024),
            pending: false,
            done: false,
            lines: Lines {
                file,
                format: Format::ZeekTsv,
                tsv: zeek::Tsv::default(),
                vpc: vpc::Vpc::default(),
                line_no: 0,
                stats: ReadStats::default(),
            },
        };
        let l = &mut r.lines;
        loop {
            match read_line(&mut *r.input, &mut r.line).map_err(|e| l.io(e))? {
                Got::Eof => return Err(l.unknown("no line in it".into())),
                Got::TooLong => {
                    return Err(
                        l.unknown(format!("its first line is longer than {MAX_LINE} bytes"))
                    );
                }
                Got::Line if blank(&r.line) => {
                    l.line_no += 1;
                    l.stats.lines += 1;
                    l.stats.blank += 1;
                }
                Got::Line => break,
            }
        }
        let line = &r.line;
        l.format = if let Some(f) = format {
            f
        } else if line.starts_with(b"#separator ") {
            Format::ZeekTsv
        } else if line.first() == Some(&b'{') && eve::probe(line) {
            Format::SuricataEve
        } else if line.first() == Some(&b'{') {
            match json::probe(line) {
                Some(true) => Format::FlowauditJson,
                Some(false) => Format::ZeekJson,
                None => {
                    return Err(l.unknown(
                        "its first line is not a connection record (a JSON object with ts, id.orig_h, proto and conn_state or orig_ip_bytes; Zeek's other logs are not read), nor an EVE event (event_type and timestamp)".into(),
                    ));
                }
            }
        } else if vpc::probe(line) {
            Format::VpcFlowLog
        } else {
            return Err(l.unknown(format!(
                "its first line is neither `#separator`, a JSON object, a VPC flow log header nor a version-2 VPC flow log line: {}",
                values::shown(line)
            )));
        };
        r.pending = true;
        Ok(r)
    }

    pub fn file(&self) -> &str {
        &self.lines.file
    }

    pub fn format(&self) -> Format {
        self.lines.format
    }

    pub fn stats(&self) -> &ReadStats {
        &self.lines.stats
    }

    /// The next item; `Ok(None)` at the end of the input. After an error, nothing more.
    pub fn next_item(&mut self) -> Result<Option<Item>, RecordsError> {
        // The item is handed on as `next_line` built it (not unpacked and packed again: a
        // record is 400 bytes, and each repacking was a copy).
        while !self.done {
            let got = self.next_line();
            match &got {
                Ok(None) => continue,
                Ok(Some(_)) => {}
                Err(_) => self.done = true,
            }
            return got;
        }
        Ok(None)
    }

    /// Takes the next line: its item, or `Ok(None)` for a line that gives none and at the end
    /// of the input (which sets `done`). A line that lies whole in the input's buffer is taken
    /// where it is; one cut by the buffer's end is copied into `line` first.
    fn next_line(&mut self) -> Result<Option<Item>, RecordsError> {
        if self.pending {
            self.pending = false;
            return self.lines.take(&self.line);
        }
        match self.input.fill_buf() {
            Ok(buf) => {
                if let Some(end) = memchr::memchr(b'\n', buf)
                    && let Some(line) = buf.get(..end)
                    && line.len() <= MAX_LINE
                {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let got = self.lines.take(line);
                    self.input.consume(end + 1);
                    return got;
                }
            }
            // The copying read below tries again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(self.lines.io(e)),
        }
        match read_line(&mut *self.input, &mut self.line) {
            Ok(Got::Line) => self.lines.take(&self.line),
            Ok(Got::TooLong) => {
                let l = &mut self.lines;
                l.line_no += 1;
                l.stats.lines += 1;
                l.stats
                    .malformed(l.line_no, format!("longer than {MAX_LINE} bytes"));
                Ok(None)
            }
            Ok(Got::Eof) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => Err(self.lines.io(e)),
        }
    }
}

impl Iterator for Reader {
    type Item = Result<Item, RecordsError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

/// Whether a line holds nothing but white space.
fn blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Copies the next line of `input` into `line` (without its `\n` or `\r\n`), at most
/// [`MAX_LINE`] bytes kept.
fn read_line(input: &mut dyn BufRead, line: &mut Vec<u8>) -> io::Result<Got> {
    line.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let buf = match input.fill_buf() {
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
        if !too_long && line.len() + take <= MAX_LINE {
            line.extend_from_slice(&buf[..take]);
        } else {
            too_long = true;
            line.clear();
        }
        input.consume(if end { take + 1 } else { take });
        if end {
            break;
        }
    }
    if !any {
        return Ok(Got::Eof);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(if too_long { Got::TooLong } else { Got::Line })
}

impl Lines {
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

    /// Takes one line: an item, nothing (a header, a blank, skipped or malformed line:
    /// counted), or an error that ends the input.
    fn take(&mut self, line: &[u8]) -> Result<Option<Item>, RecordsError> {
        self.line_no += 1;
        self.stats.lines += 1;
        if blank(line) {
            self.stats.blank += 1;
            return Ok(None);
        }
        let parsed = match self.format {
            Format::ZeekTsv if line.first() == Some(&b'#') => {
                self.stats.headers += 1;
                return match self.tsv.header(line) {
                    zeek::Header::Ok => Ok(None),
                    zeek::Header::Missing(column) => Err(RecordsError::MissingColumn {
                        file: self.file.clone(),
                        line: self.line_no,
                        column,
                    }),
                    zeek::Header::NotConn(path) => Err(self.unknown(format!(
                        "line {}: #path is {}, not conn: flowaudit reads Zeek's conn.log, not its other logs",
                        self.line_no,
                        values::shown(path.as_bytes())
                    ))),
                };
            }
            Format::ZeekTsv => self.tsv.row(line),
            Format::ZeekJson => json::line(line),
            Format::FlowauditJson => json::own_line(line),
            Format::SuricataEve => eve::line(line),
            Format::VpcFlowLog if vpc::is_header(line) => match self.vpc.header(line) {
                Ok(()) => {
                    self.stats.headers += 1;
                    return Ok(None);
                }
                Err(message) => Err(message),
            },
            Format::VpcFlowLog => self.vpc.row(line),
        };
        match parsed {
            Ok(values::Parsed::Record(r)) => {
                self.stats.record(r.ts_ns);
                Ok(Some(Item::Flow(r)))
            }
            Ok(values::Parsed::Half(h)) => {
                self.stats.record(h.start_ns);
                Ok(Some(Item::Half(h)))
            }
            Ok(values::Parsed::Pair { orig, resp }) => {
                let item = Item::Pair { orig, resp };
                self.stats.record(item.start_ns());
                Ok(Some(item))
            }
            Ok(values::Parsed::Skip(why)) => {
                *self.stats.skipped.entry(why).or_insert(0) += 1;
                Ok(None)
            }
            Err(message) => {
                self.stats.malformed(self.line_no, message);
                Ok(None)
            }
        }
    }
}
