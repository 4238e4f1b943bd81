//! Capture stage: finds capture files, opens them, and yields raw frames in file order.
//!
//! The only module that touches libpcap.
//!
//! # Formats
//!
//! * **pcap** (libpcap savefiles, magic `a1b2c3d4`, `a1b23c4d` or the "patched" `a1b2cd34`, in
//!   either byte order) are read by libpcap itself, opened with nanosecond precision so that
//!   timestamps come back in ns whatever the file stores. The byte offset of every record is
//!   tracked here (24-byte file header, then record header plus captured bytes per record), so that
//!   an error names the record that is damaged.
//! * **pcapng** is read by `PcapngReader` in this module, because libpcap cannot read a pcapng
//!   file whose interfaces have different link types. With libpcap 1.10, a file made by
//!   `mergecap -F pcapng` from an Ethernet capture and a raw-IP capture opens, but reading stops at
//!   the first packet of the second interface with `an interface has a type 101 different from the
//!   type of the first interface` (the test `libpcap_refuses_mixed_link_type_pcapng` keeps that
//!   claim checked).
//! * **standard input** (`-`): the first four bytes decide. pcapng is read by `PcapngReader` from
//!   the stream; pcap is handed to libpcap through an OS pipe that a thread fills with the peeked
//!   bytes followed by the rest of standard input, so `tcpdump -w - | flowaudit flows -` works.
//!
//! # Filters
//!
//! A BPF expression (tcpdump syntax) is compiled by libpcap once per link type and run here on
//! every frame, for both formats, so that the byte offset keeps counting the frames it rejects.
//! The program sees the captured bytes as the whole frame, so `len`, `greater` and `less` compare
//! against the captured length. An expression that libpcap cannot compile for a link type (`ether
//! host` on raw IP, say) matches no frame of that link type; one that does not compile for
//! Ethernet is rejected up front by [`check_filter`].
//!
//! # Records longer than the snaplen
//!
//! libpcap silently cuts a pcap record longer than the file's snaplen down to the snaplen, which
//! would throw the byte offsets off. Such a record is reported as corrupt instead: in a file, a
//! record that comes back as long as the snaplen has its header read again through a second
//! handle; on standard input, the thread that feeds libpcap checks every record header on the
//! way and stops before a bad one.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;

use std::ptr::NonNull;

use pcap::{BpfProgram, Capture, Linktype};

/// One frame as stored in a capture.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// Capture timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// The captured bytes (at most the snaplen).
    pub data: &'a [u8],
    /// The frame's length on the wire, bytes (>= data.len() unless the capture is broken).
    pub wire_len: u32,
    /// Link type of the interface the frame was captured on (LINKTYPE_* / DLT_* number).
    pub linktype: u32,
}

/// Container format of a capture file, decided by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap,
    Pcapng,
}

/// One capture input, found by [`discover`].
#[derive(Debug, Clone)]
pub struct Input {
    /// The path as the user will see it in messages; `-` is standard input.
    pub path: PathBuf,
    pub format: Format,
    /// File size in bytes (None for standard input).
    pub size: Option<u64>,
    /// Timestamp of the first packet, ns (None: stdin or no packets).
    pub first_ts_ns: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {message}")]
    Open { path: String, message: String },
    #[error(
        "{path}: not a pcap or pcapng capture ({found}); give flowaudit .pcap or .pcapng files"
    )]
    NotACapture { path: String, found: String },
    #[error(
        "{path}: at byte {offset}: {what}; the capture is read up to there (`head -c {offset}` keeps its undamaged part)"
    )]
    Corrupt {
        path: String,
        offset: u64,
        what: String,
    },
    #[error("invalid --filter '{expr}': {message}")]
    Filter { expr: String, message: String },
}

/// Byte ranges of the on-disk structures, relative to the start of the structure.
// The whole layout is written down, including fields this module does not read.
#[allow(dead_code)]
mod field {
    pub type Field = core::ops::Range<usize>;

    /// Classic pcap: a 24-byte file header, then one record header plus captured bytes per frame.
    pub mod pcap {
        use super::Field;

        /// File header: magic number in the writer's byte order (a1b2c3d4: µs, a1b23c4d: ns,
        /// a1b2cd34: µs with 24-byte record headers).
        pub const MAGIC: Field = 0..4;
        /// File header: format major version (2), u16.
        pub const VERSION_MAJOR: Field = 4..6;
        /// File header: format minor version (4), u16.
        pub const VERSION_MINOR: Field = 6..8;
        /// File header: time zone correction, seconds (always 0), i32.
        pub const THISZONE: Field = 8..12;
        /// File header: timestamp accuracy (always 0), u32.
        pub const SIGFIGS: Field = 12..16;
        /// File header: snapshot length, the most bytes stored per frame (0: no limit), u32.
        pub const SNAPLEN: Field = 16..20;
        /// File header: link type of every frame (LINKTYPE_*), u32.
        pub const LINKTYPE: Field = 20..24;
        /// Length of the file header, bytes.
        pub const FILE_HEADER_LEN: usize = 24;

        /// Record header: timestamp, whole seconds since the Unix epoch, i32.
        pub const TS_SEC: Field = 0..4;
        /// Record header: timestamp, fraction of the second in µs or ns (see MAGIC), u32.
        pub const TS_FRAC: Field = 4..8;
        /// Record header: bytes of the frame stored after this header, u32.
        pub const CAPLEN: Field = 8..12;
        /// Record header: length of the frame on the wire, bytes, u32.
        pub const ORIG_LEN: Field = 12..16;
        /// Length of a record header, bytes.
        pub const RECORD_HEADER_LEN: usize = 16;
        /// Length of a record header in the "patched" format (ifindex, protocol, pkt_type
        /// and padding follow ORIG_LEN), bytes.
        pub const PATCHED_RECORD_HEADER_LEN: usize = 24;
    }

    /// pcapng: a sequence of blocks. Offsets are from the start of the block.
    pub mod pcapng {
        use super::Field;

        /// Every block: block type, u32.
        pub const BLOCK_TYPE: Field = 0..4;
        /// Every block: total length of the block including both length fields, bytes, u32.
        /// The same value is repeated in the last 4 bytes of the block.
        pub const BLOCK_LEN: Field = 4..8;
        /// Length of the block type and leading length, bytes.
        pub const BLOCK_HEADER_LEN: usize = 8;
        /// Length of the trailing length field, bytes.
        pub const BLOCK_TRAILER_LEN: usize = 4;
        /// Smallest possible block (header and trailer, empty body), bytes.
        pub const MIN_BLOCK_LEN: usize = 12;

        /// Section Header Block: byte-order magic 1a2b3c4d in the section's byte order.
        pub const SHB_BYTE_ORDER: Field = 8..12;
        /// Section Header Block: major version (1), u16.
        pub const SHB_VERSION_MAJOR: Field = 12..14;
        /// Section Header Block: minor version (0 or 2), u16.
        pub const SHB_VERSION_MINOR: Field = 14..16;
        /// Section Header Block: length of the section after this block, bytes (-1: unknown), i64.
        pub const SHB_SECTION_LEN: Field = 16..24;
        /// Smallest Section Header Block, bytes.
        pub const SHB_MIN_LEN: usize = 28;

        /// Interface Description Block: link type (LINKTYPE_*), u16.
        pub const IDB_LINKTYPE: Field = 8..10;
        /// Interface Description Block: reserved, u16.
        pub const IDB_RESERVED: Field = 10..12;
        /// Interface Description Block: snapshot length (0: no limit), bytes, u32.
        pub const IDB_SNAPLEN: Field = 12..16;
        /// Interface Description Block: start of the options.
        pub const IDB_OPTIONS: usize = 16;
        /// Smallest Interface Description Block, bytes.
        pub const IDB_MIN_LEN: usize = 20;

        /// Enhanced Packet Block: interface id, index into the section's interfaces, u32.
        pub const EPB_INTERFACE: Field = 8..12;
        /// Enhanced Packet Block: timestamp, upper 32 bits, in the interface's units.
        pub const EPB_TS_HIGH: Field = 12..16;
        /// Enhanced Packet Block: timestamp, lower 32 bits, in the interface's units.
        pub const EPB_TS_LOW: Field = 16..20;
        /// Enhanced Packet Block: bytes of the frame stored in the block, u32.
        pub const EPB_CAPLEN: Field = 20..24;
        /// Enhanced Packet Block: length of the frame on the wire, bytes, u32.
        pub const EPB_ORIG_LEN: Field = 24..28;
        /// Enhanced Packet Block: start of the frame bytes (padded to 4, then options).
        pub const EPB_DATA: usize = 28;

        /// Obsolete Packet Block: interface id, u16.
        pub const PB_INTERFACE: Field = 8..10;
        /// Obsolete Packet Block: drops count, frames, u16.
        pub const PB_DROPS: Field = 10..12;
        /// Obsolete Packet Block: timestamp, upper 32 bits, in the interface's units.
        pub const PB_TS_HIGH: Field = 12..16;
        /// Obsolete Packet Block: timestamp, lower 32 bits, in the interface's units.
        pub const PB_TS_LOW: Field = 16..20;
        /// Obsolete Packet Block: bytes of the frame stored in the block, u32.
        pub const PB_CAPLEN: Field = 20..24;
        /// Obsolete Packet Block: length of the frame on the wire, bytes, u32.
        pub const PB_ORIG_LEN: Field = 24..28;
        /// Obsolete Packet Block: start of the frame bytes.
        pub const PB_DATA: usize = 28;

        /// Smallest Enhanced or obsolete Packet Block, bytes.
        pub const PACKET_BLOCK_MIN_LEN: usize = 32;

        /// Simple Packet Block: length of the frame on the wire, bytes, u32.
        pub const SPB_ORIG_LEN: Field = 8..12;
        /// Simple Packet Block: start of the frame bytes (captured length = the smallest of
        /// ORIG_LEN, the interface's snaplen and the room in the block).
        pub const SPB_DATA: usize = 12;
        /// Smallest Simple Packet Block, bytes.
        pub const SPB_MIN_LEN: usize = 16;

        /// Option: option code, u16.
        pub const OPT_CODE: Field = 0..2;
        /// Option: length of the value, bytes (the value is padded to 4), u16.
        pub const OPT_LEN: Field = 2..4;
        /// Option: start of the value.
        pub const OPT_VALUE: usize = 4;
    }
}

/// The magic numbers at the start of each format, as they appear in the file.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// pcapng block types.
const BLOCK_SHB: u32 = 0x0A0D_0D0A;
const BLOCK_IDB: u32 = 1;
const BLOCK_PB: u32 = 2;
const BLOCK_SPB: u32 = 3;
const BLOCK_EPB: u32 = 6;

/// pcapng option codes.
const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// Largest frame libpcap accepts for most link types, bytes; stands in for a snaplen of 0.
const MAX_SNAPLEN: u32 = 262_144;

/// Largest pcapng block this module reads into memory, bytes. Blocks it only skips may be longer.
const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

/// DLT_EN10MB, the link type filters are checked against up front.
const DLT_EN10MB: i32 = 1;

const NS_PER_SEC: i64 = 1_000_000_000;

/// Byte order of a pcap file or a pcapng section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    /// Reads a u16 at `at`; 0 if `bytes` is too short (callers check lengths first).
    fn u16(self, bytes: &[u8], at: Range<usize>) -> u16 {
        let Some(b) = bytes.get(at).and_then(|b| <[u8; 2]>::try_from(b).ok()) else {
            return 0;
        };
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    /// Reads a u32 at `at`; 0 if `bytes` is too short (callers check lengths first).
    fn u32(self, bytes: &[u8], at: Range<usize>) -> u32 {
        let Some(b) = bytes.get(at).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
            return 0;
        };
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// Reads an i32 at `at`; 0 if `bytes` is too short.
    fn i32(self, bytes: &[u8], at: Range<usize>) -> i32 {
        i32::from_ne_bytes(self.u32(bytes, at).to_ne_bytes())
    }

    /// Reads an i64 at `at`; 0 if `bytes` is too short.
    fn i64(self, bytes: &[u8], at: Range<usize>) -> i64 {
        let Some(b) = bytes.get(at).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
            return 0;
        };
        match self {
            Endian::Little => i64::from_le_bytes(b),
            Endian::Big => i64::from_be_bytes(b),
        }
    }
}

/// What the first bytes of a pcap file say.
#[derive(Debug, Clone, Copy)]
struct PcapMagic {
    endian: Endian,
    /// The fraction field of a record timestamp counts ns (else µs).
    nanos: bool,
    /// Length of each record header, bytes.
    record_header_len: usize,
}

impl PcapMagic {
    fn sniff(head: &[u8]) -> Option<PcapMagic> {
        let (endian, nanos, record_header_len) = match head.get(field::pcap::MAGIC)? {
            [0xd4, 0xc3, 0xb2, 0xa1] => (Endian::Little, false, field::pcap::RECORD_HEADER_LEN),
            [0xa1, 0xb2, 0xc3, 0xd4] => (Endian::Big, false, field::pcap::RECORD_HEADER_LEN),
            [0x4d, 0x3c, 0xb2, 0xa1] => (Endian::Little, true, field::pcap::RECORD_HEADER_LEN),
            [0xa1, 0xb2, 0x3c, 0x4d] => (Endian::Big, true, field::pcap::RECORD_HEADER_LEN),
            [0x34, 0xcd, 0xb2, 0xa1] => (
                Endian::Little,
                false,
                field::pcap::PATCHED_RECORD_HEADER_LEN,
            ),
            [0xa1, 0xb2, 0xcd, 0x34] => {
                (Endian::Big, false, field::pcap::PATCHED_RECORD_HEADER_LEN)
            }
            _ => return None,
        };
        Some(PcapMagic {
            endian,
            nanos,
            record_header_len,
        })
    }

    /// Timestamp of a record header, ns, computed the way libpcap does (signed 32-bit fields).
    fn record_ts_ns(self, record: &[u8]) -> i64 {
        let sec = i64::from(self.endian.i32(record, field::pcap::TS_SEC));
        let frac = i64::from(self.endian.i32(record, field::pcap::TS_FRAC));
        let frac_ns = if self.nanos { frac } else { frac * 1000 };
        sec * NS_PER_SEC + frac_ns
    }
}

/// Decides the format from the first four bytes; None: not a capture.
fn sniff(head: &[u8]) -> Option<Format> {
    if head.get(0..4) == Some(&PCAPNG_MAGIC[..]) {
        Some(Format::Pcapng)
    } else if PcapMagic::sniff(head).is_some() {
        Some(Format::Pcap)
    } else {
        None
    }
}

/// What a non-capture starts with, for the NotACapture message.
fn describe_head(head: &[u8]) -> String {
    if head.is_empty() {
        return "it is empty".to_string();
    }
    format!("starts with {}", hex(&head[..head.len().min(4)]))
}

/// Reads until `dst` is full or the source ends; returns the number of bytes read.
fn read_up_to(src: &mut impl Read, dst: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < dst.len() {
        match src.read(&mut dst[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Appends up to `n` bytes from `src` to `buf`; returns the number appended (< n: end of input).
/// Grows `buf` only as data arrives, so a length field that lies costs no more than the file.
fn append_up_to(src: &mut impl Read, buf: &mut Vec<u8>, n: usize) -> io::Result<usize> {
    src.take(n as u64).read_to_end(buf)
}

/// Message of a libpcap error without the crate's "libpcap error: " prefix.
fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(message) => message.clone(),
        pcap::Error::InvalidInputString => "it contains a NUL byte".to_string(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// discover

/// Result of [`discover`].
#[derive(Debug, Default)]
pub struct Discovery {
    /// Captures to read, sorted by first packet timestamp (None first, ties in argument order).
    pub inputs: Vec<Input>,
    /// One error per argument (or file found in a directory) that cannot be used.
    pub errors: Vec<CaptureError>,
    /// Files found inside a directory that are not captures (skipped, not errors).
    pub skipped_non_captures: Vec<PathBuf>,
}

/// Bytes already taken from standard input by [`discover`], for [`Reader::open`] to replay.
static STDIN_HEAD: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// Reads the first 4 bytes of standard input and keeps them for [`Reader::open`].
fn peek_stdin() -> io::Result<Vec<u8>> {
    let mut head = [0u8; 4];
    let n = read_up_to(&mut io::stdin().lock(), &mut head)?;
    let head = head[..n].to_vec();
    *STDIN_HEAD.lock().unwrap_or_else(|e| e.into_inner()) = Some(head.clone());
    Ok(head)
}

/// The bytes [`discover`] took from standard input, or the first 4 bytes if it did not run.
fn take_stdin_head() -> io::Result<Vec<u8>> {
    let kept = STDIN_HEAD.lock().unwrap_or_else(|e| e.into_inner()).take();
    match kept {
        Some(head) => Ok(head),
        None => {
            let mut head = [0u8; 4];
            let n = read_up_to(&mut io::stdin().lock(), &mut head)?;
            Ok(head[..n].to_vec())
        }
    }
}

/// Expands FILE|DIR|- arguments into capture inputs sorted by first packet timestamp.
///
/// A directory means every capture file below it (recursively, visited in sorted path order),
/// detected by content (magic number), not by name: non-capture files inside a directory are
/// skipped and counted. Symbolic links to files are followed; symbolic links to directories are
/// not (they could loop). A file named explicitly that is not a capture, or cannot be opened, is
/// an error for that input (returned in the error list; the other inputs still proceed). `-` is
/// standard input: it cannot be peeked for a timestamp, so it sorts first; it may appear at most
/// once. Its first 4 bytes are read here to learn its format and are replayed by
/// [`Reader::open`].
///
/// Inputs with no packets sort first too (first_ts_ns None). Ties keep argument order.
/// Damage after the magic number is not looked for here: it is reported by the [`Reader`].
pub fn discover(args: &[PathBuf]) -> Discovery {
    discover_with(args, &mut peek_stdin)
}

fn discover_with(args: &[PathBuf], peek: &mut dyn FnMut() -> io::Result<Vec<u8>>) -> Discovery {
    let mut found = Discovery::default();
    let mut stdin_seen = false;
    for arg in args {
        if arg.as_os_str() == "-" {
            // Standard input can be consumed once only.
            if stdin_seen {
                found.errors.push(CaptureError::Open {
                    path: "-".to_string(),
                    message: "standard input can be read only once; give `-` at most once"
                        .to_string(),
                });
                continue;
            }
            stdin_seen = true;
            match peek() {
                Ok(head) => match sniff(&head) {
                    Some(format) => found.inputs.push(Input {
                        path: arg.clone(),
                        format,
                        size: None,
                        first_ts_ns: None,
                    }),
                    None => found.errors.push(CaptureError::NotACapture {
                        path: "-".to_string(),
                        found: describe_head(&head),
                    }),
                },
                Err(e) => found.errors.push(CaptureError::Open {
                    path: "-".to_string(),
                    message: format!("cannot read standard input: {e}"),
                }),
            }
            continue;
        }
        match fs::metadata(arg) {
            Err(e) => found.errors.push(CaptureError::Open {
                path: arg.display().to_string(),
                message: format!("cannot open: {e}"),
            }),
            Ok(meta) if meta.is_dir() => walk(arg, &mut found),
            Ok(_) => match probe(arg) {
                Ok(Probe::Capture(input)) => found.inputs.push(input),
                // Named explicitly: the user expects a capture, so this is an error.
                Ok(Probe::NotCapture(head)) => found.errors.push(CaptureError::NotACapture {
                    path: arg.display().to_string(),
                    found: describe_head(&head),
                }),
                Err(e) => found.errors.push(e),
            },
        }
    }
    // Stable: equal keys keep argument order; None (stdin, no packets) sorts before Some.
    found.inputs.sort_by_key(|input| input.first_ts_ns);
    found
}

/// Visits `dir` recursively in sorted path order, adding captures and skipping the rest.
fn walk(dir: &Path, found: &mut Discovery) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            found.errors.push(CaptureError::Open {
                path: dir.display().to_string(),
                message: format!("cannot list directory: {e}"),
            });
            return;
        }
    };
    let mut children = Vec::new();
    for entry in entries {
        match entry.and_then(|e| Ok((e.path(), e.file_type()?))) {
            Ok(child) => children.push(child),
            Err(e) => found.errors.push(CaptureError::Open {
                path: dir.display().to_string(),
                message: format!("cannot list directory: {e}"),
            }),
        }
    }
    children.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, kind) in children {
        let is_file = if kind.is_symlink() {
            // Follow links to files only: a link to a directory could make a loop.
            fs::metadata(&path).map(|m| m.is_file()).unwrap_or(false)
        } else if kind.is_dir() {
            walk(&path, found);
            continue;
        } else {
            kind.is_file()
        };
        if !is_file {
            continue;
        }
        match probe(&path) {
            Ok(Probe::Capture(input)) => found.inputs.push(input),
            // Found inside a directory: not a capture means not ours; skip it and count it.
            Ok(Probe::NotCapture(_)) => found.skipped_non_captures.push(path),
            Err(e) => found.errors.push(e),
        }
    }
}

enum Probe {
    Capture(Input),
    /// Not a capture; holds the first bytes (up to 4).
    NotCapture(Vec<u8>),
}

/// Opens a file, decides its format and finds its first timestamp.
fn probe(path: &Path) -> Result<Probe, CaptureError> {
    let open_error = |e: io::Error| CaptureError::Open {
        path: path.display().to_string(),
        message: format!("cannot open: {e}"),
    };
    let mut file = File::open(path).map_err(open_error)?;
    let size = file.metadata().map_err(open_error)?.len();
    // The pcap file header and the longest first record header.
    let mut head = [0u8; field::pcap::FILE_HEADER_LEN + field::pcap::PATCHED_RECORD_HEADER_LEN];
    let n = read_up_to(&mut file, &mut head).map_err(open_error)?;
    let head = &head[..n];
    let Some(format) = sniff(head) else {
        return Ok(Probe::NotCapture(head.iter().take(4).copied().collect()));
    };
    let first_ts_ns = match format {
        Format::Pcap => PcapMagic::sniff(head).and_then(|magic| {
            let record = head.get(field::pcap::FILE_HEADER_LEN..)?;
            // A file too short for one whole record header has no first timestamp.
            (record.len() >= magic.record_header_len).then(|| magic.record_ts_ns(record))
        }),
        Format::Pcapng => {
            let file = File::open(path).map_err(open_error)?;
            let mut reader = PcapngReader::new(Box::new(file), None, 8 * 1024);
            // A file damaged before its first packet has no first timestamp; the Reader reports
            // the damage when it gets there.
            match reader.next_meta() {
                Ok(Some(meta)) => Some(meta.ts_ns),
                Ok(None) | Err(_) => None,
            }
        }
    };
    Ok(Probe::Capture(Input {
        path: path.to_path_buf(),
        format,
        size: Some(size),
        first_ts_ns,
    }))
}

// ---------------------------------------------------------------------------------------------
// filters

/// Checks a BPF expression up front (compiles it for Ethernet with libpcap); error ->
/// CaptureError::Filter.
pub fn check_filter(expr: &str) -> Result<(), CaptureError> {
    compile(expr, DLT_EN10MB)
        .map(drop)
        .map_err(|message| CaptureError::Filter {
            expr: expr.to_string(),
            message,
        })
}

/// Compiles `expr` for a DLT_* link type.
fn compile(expr: &str, dlt: i32) -> Result<BpfProgram, String> {
    let dead = Capture::dead(Linktype(dlt)).map_err(|e| pcap_message(&e))?;
    dead.compile(expr, true).map_err(|e| pcap_message(&e))
}

/// The DLT_* number libpcap's filter compiler knows a LINKTYPE_* number by. Only a few differ.
fn dlt_for_linktype(linktype: u32) -> i32 {
    match linktype {
        100 => 11, // LINKTYPE_ATM_RFC1483 -> DLT_ATM_RFC1483
        101 => 12, // LINKTYPE_RAW -> DLT_RAW
        102 => 15, // LINKTYPE_SLIP_BSDOS -> DLT_SLIP_BSDOS
        103 => 16, // LINKTYPE_PPP_BSDOS -> DLT_PPP_BSDOS
        other => i32::try_from(other).unwrap_or(-1),
    }
}

/// The filter as it applies to the frames of one link type.
enum PacketFilter {
    /// No filter: every frame passes.
    All,
    /// Frames pass when the program accepts them.
    Program(BpfProgram),
    /// The expression has no meaning for this link type: no frame passes.
    Nothing,
}

impl PacketFilter {
    fn new(expr: Option<&str>, compiled: impl FnOnce(&str) -> Result<BpfProgram, String>) -> Self {
        match expr {
            None => PacketFilter::All,
            Some(expr) => match compiled(expr) {
                Ok(program) => PacketFilter::Program(program),
                Err(_) => PacketFilter::Nothing,
            },
        }
    }

    fn matches(&self, data: &[u8]) -> bool {
        match self {
            PacketFilter::All => true,
            PacketFilter::Program(program) => program.filter(data),
            PacketFilter::Nothing => false,
        }
    }
}

/// Appends `linktype` to `seen` unless it is there already.
fn note_linktype(seen: &mut Vec<u32>, linktype: u32) {
    if seen.last() != Some(&linktype) && !seen.contains(&linktype) {
        seen.push(linktype);
    }
}

// ---------------------------------------------------------------------------------------------
// Reader

/// A problem found while reading, before the path is attached.
#[derive(Debug)]
enum Fault {
    Corrupt { offset: u64, what: String },
    Io { offset: u64, error: io::Error },
}

impl Fault {
    fn into_error(self, path: &str) -> CaptureError {
        match self {
            Fault::Corrupt { offset, what } => CaptureError::Corrupt {
                path: path.to_string(),
                offset,
                what,
            },
            Fault::Io { offset, error } => CaptureError::Open {
                path: path.to_string(),
                message: format!("read error at byte {offset}: {error}"),
            },
        }
    }
}

fn corrupt(offset: u64, what: impl Into<String>) -> Fault {
    Fault::Corrupt {
        offset,
        what: what.into(),
    }
}

/// Reads the frames of one input, in file order.
pub struct Reader {
    path: String,
    source: Source,
    /// Set after the end of the input or an error: nothing more will be read.
    done: bool,
}

enum Source {
    Pcap(Box<PcapSource>),
    Pcapng(Box<PcapngReader>),
}

impl Reader {
    /// Opens one input. `filter`: optional BPF expression (tcpdump syntax) applied to every
    /// packet; an expression that does not compile for Ethernet is a Filter error.
    pub fn open(input: &Input, filter: Option<&str>) -> Result<Reader, CaptureError> {
        if let Some(expr) = filter {
            check_filter(expr)?;
        }
        let path = input.path.display().to_string();
        if input.path.as_os_str() == "-" {
            let head = take_stdin_head().map_err(|e| CaptureError::Open {
                path: path.clone(),
                message: format!("cannot read standard input: {e}"),
            })?;
            return open_stream(path, head, Box::new(io::stdin()), filter);
        }
        let source = match input.format {
            Format::Pcap => {
                Source::Pcap(Box::new(PcapSource::open_file(&input.path, &path, filter)?))
            }
            Format::Pcapng => {
                let file = File::open(&input.path).map_err(|e| CaptureError::Open {
                    path: path.clone(),
                    message: format!("cannot open: {e}"),
                })?;
                Source::Pcapng(Box::new(PcapngReader::new(
                    Box::new(file),
                    filter,
                    READ_BUFFER,
                )))
            }
        };
        Ok(Reader {
            path,
            source,
            done: false,
        })
    }

    /// Next frame that passes the filter; Ok(None) at a clean end of file.
    ///
    /// A corrupt or truncated file is Err(CaptureError::Corrupt{path, offset, what}) where offset
    /// is the byte offset in the file of the record (pcap) or block (pcapng) that is damaged.
    /// After an Err the reader is finished (next returns Ok(None)).
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let next = match &mut self.source {
            Source::Pcap(source) => source.next(),
            Source::Pcapng(source) => source.next(),
        };
        match next {
            Ok(Some(packet)) => Ok(Some(packet)),
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(fault) => {
                self.done = true;
                Err(fault.into_error(&self.path))
            }
        }
    }

    /// Bytes of the input consumed so far (for a progress bar).
    pub fn offset(&self) -> u64 {
        match &self.source {
            Source::Pcap(source) => source.place.offset,
            Source::Pcapng(source) => source.offset,
        }
    }

    /// Link types of the frames read so far in this input (frames the filter rejected
    /// included), in order of appearance, deduplicated.
    pub fn link_types(&self) -> &[u32] {
        match &self.source {
            Source::Pcap(source) => &source.link_types,
            Source::Pcapng(source) => &source.link_types,
        }
    }
}

/// Opens a stream whose first bytes `head` were already taken from it; `rest` is the remainder.
fn open_stream(
    path: String,
    head: Vec<u8>,
    rest: Box<dyn Read + Send>,
    filter: Option<&str>,
) -> Result<Reader, CaptureError> {
    let Some(format) = sniff(&head) else {
        return Err(CaptureError::NotACapture {
            path,
            found: describe_head(&head),
        });
    };
    let source = match format {
        Format::Pcapng => Source::Pcapng(Box::new(PcapngReader::new(
            Box::new(Cursor::new(head).chain(rest)),
            filter,
            READ_BUFFER,
        ))),
        Format::Pcap => Source::Pcap(Box::new(PcapSource::open_stream(
            &path, head, rest, filter,
        )?)),
    };
    Ok(Reader {
        path,
        source,
        done: false,
    })
}

// ---------------------------------------------------------------------------------------------
// pcap through libpcap

/// Describes a record that claims more bytes than the file allows.
fn too_long(claimed: u32, snaplen: u32) -> String {
    let limit = if snaplen == 0 {
        format!("{MAX_SNAPLEN}-byte maximum")
    } else {
        format!("{snaplen}-byte snaplen")
    };
    format!("record header says {claimed} captured bytes, more than the {limit}")
}

/// Where the pcap reader is in the file, kept here because libpcap does not say.
struct PcapPlace {
    /// Byte offset of the next record.
    offset: u64,
    magic: PcapMagic,
    /// The file header's snaplen, bytes (0: none given). 0 for standard input, whose records
    /// the pump checks.
    snaplen: u32,
    /// A second handle on the file, to read record headers libpcap has already parsed (None
    /// for standard input).
    shadow: Option<BufReader<File>>,
    /// Position of `shadow` in the file.
    shadow_pos: u64,
}

impl PcapPlace {
    /// The largest captured length a record may claim, bytes.
    fn limit(&self) -> u32 {
        if self.snaplen == 0 {
            MAX_SNAPLEN
        } else {
            self.snaplen
        }
    }

    /// Reads up to `dst.len()` bytes at `offset` through the shadow handle.
    fn shadow_read(&mut self, offset: u64, dst: &mut [u8]) -> Option<usize> {
        let shadow = self.shadow.as_mut()?;
        let delta = offset
            .checked_sub(self.shadow_pos)
            .and_then(|d| i64::try_from(d).ok());
        let moved = match delta {
            // Forward moves stay inside the buffer when they can: no system call.
            Some(delta) => shadow.seek_relative(delta).is_ok(),
            None => shadow.seek(SeekFrom::Start(offset)).is_ok(),
        };
        if !moved {
            self.shadow = None;
            return None;
        }
        match read_up_to(shadow, dst) {
            Ok(n) => {
                self.shadow_pos = offset + n as u64;
                Some(n)
            }
            Err(_) => {
                self.shadow = None;
                None
            }
        }
    }

    /// Accounts for a record libpcap returned with `caplen` bytes.
    fn record(&mut self, caplen: u32) -> Result<(), Fault> {
        let at = self.offset;
        // libpcap cuts a record longer than the file's snaplen (when it is not 0) down to the
        // snaplen without a word. A record that comes back that long may have been cut: read
        // its header to know. (With snaplen 0, libpcap refuses a record over its maximum.)
        if self.snaplen != 0 && caplen >= self.snaplen {
            let mut header = [0u8; field::pcap::PATCHED_RECORD_HEADER_LEN];
            let want = self.magic.record_header_len;
            if self.shadow_read(at, &mut header[..want]) == Some(want) {
                let claimed = self.magic.endian.u32(&header, field::pcap::CAPLEN);
                // Reject: more bytes than the file header allows per frame.
                if claimed > caplen {
                    return Err(corrupt(at, too_long(claimed, self.snaplen)));
                }
            }
        }
        self.offset = at + self.magic.record_header_len as u64 + u64::from(caplen);
        Ok(())
    }

    /// Explains an error libpcap reported for the record at the current offset.
    fn diagnose(&mut self, libpcap: &str) -> Fault {
        let at = self.offset;
        let want = self.magic.record_header_len;
        let mut header = [0u8; field::pcap::PATCHED_RECORD_HEADER_LEN];
        if let Some(got) = self.shadow_read(at, &mut header[..want]) {
            if got < want {
                return corrupt(
                    at,
                    format!(
                        "file ends in the middle of a record header: {got} of {want} bytes \
                         (libpcap: {libpcap})"
                    ),
                );
            }
            let claimed = self.magic.endian.u32(&header, field::pcap::CAPLEN);
            // Reject: more bytes than the file header allows per frame.
            if claimed > self.limit() {
                let what = too_long(claimed, self.snaplen);
                return corrupt(at, format!("{what} (libpcap: {libpcap})"));
            }
            let file_len = self
                .shadow
                .as_ref()
                .and_then(|s| s.get_ref().metadata().ok())
                .map(|m| m.len());
            if let Some(file_len) = file_len {
                let present = file_len.saturating_sub(at + want as u64);
                if present < u64::from(claimed) {
                    return corrupt(
                        at,
                        format!(
                            "file ends in the middle of a packet record: {present} of {claimed} \
                             bytes (libpcap: {libpcap})"
                        ),
                    );
                }
            }
        } else if libpcap.contains("truncated") {
            return corrupt(
                at,
                format!("file ends in the middle of a packet record (libpcap: {libpcap})"),
            );
        }
        corrupt(at, format!("libpcap cannot read this record: {libpcap}"))
    }
}

/// A libpcap offline handle reading through a stdio stream with a large buffer.
///
/// libpcap reads pcap files with `fread` on a `FILE` whose buffer is, by default, the file
/// system's block size (4 KiB): one `read` system call per 4 KiB, 670,000 of them for a 2.7 GB
/// capture, which costs more than decoding. The pcap crate opens files without a way to change
/// that, so this handle opens the `FILE` itself, gives it a 64 KiB buffer with `setvbuf`, and
/// hands it to `pcap_fopen_offline_with_tstamp_precision`. 64 KiB, not more: the buffer must
/// stay in the core's cache while the decoder reads what the kernel copied into it (on the
/// benchmark capture, 64 KiB takes 1.6 s, 128 KiB 2.6 s and 1 MiB 2.5 s). Packets are read with
/// `pcap_next_ex`, exactly as the crate does.
struct Libpcap {
    handle: NonNull<ffi::PcapT>,
    /// The stdio buffer; must outlive the `FILE`, which `pcap_close` closes.
    _buffer: Box<[u8]>,
}

// SAFETY: the handle is used by one thread at a time (it is owned and moved, never shared).
unsafe impl Send for Libpcap {}

mod ffi {
    use std::ffi::{c_char, c_int, c_uint};

    /// libpcap's `pcap_t` (opaque).
    #[repr(C)]
    pub struct PcapT {
        _opaque: [u8; 0],
    }
    /// C's `FILE` (opaque).
    #[repr(C)]
    pub struct File {
        _opaque: [u8; 0],
    }
    /// `PCAP_TSTAMP_PRECISION_NANO`.
    pub const PRECISION_NANO: c_uint = 1;
    /// `_IOFBF`: full buffering.
    pub const IOFBF: c_int = 0;
    /// `PCAP_ERRBUF_SIZE`.
    pub const ERRBUF_SIZE: usize = 256;

    unsafe extern "C" {
        pub fn fdopen(fd: c_int, mode: *const c_char) -> *mut File;
        pub fn setvbuf(stream: *mut File, buf: *mut c_char, mode: c_int, size: usize) -> c_int;
        pub fn fclose(stream: *mut File) -> c_int;
        pub fn pcap_fopen_offline_with_tstamp_precision(
            fp: *mut File,
            precision: c_uint,
            errbuf: *mut c_char,
        ) -> *mut PcapT;
        /// `header` is a `struct pcap_pkthdr`, laid out as the pcap crate's `PacketHeader`.
        pub fn pcap_next_ex(
            p: *mut PcapT,
            header: *mut *mut pcap::PacketHeader,
            data: *mut *const u8,
        ) -> c_int;
        pub fn pcap_geterr(p: *mut PcapT) -> *mut c_char;
        pub fn pcap_datalink(p: *mut PcapT) -> c_int;
        pub fn pcap_close(p: *mut PcapT);
    }
}

/// The stdio buffer given to libpcap's `FILE` (see [`Libpcap`]), and the pcapng reader's
/// buffer: 64 KiB, small enough to stay in the core's cache between the kernel's copy and the
/// decoder.
const READ_BUFFER: usize = 1 << 16;

impl Libpcap {
    /// Takes over `fd` (closed with the handle, or on error).
    fn from_fd(fd: std::os::fd::OwnedFd) -> Result<Libpcap, String> {
        use std::os::fd::IntoRawFd;
        let raw = fd.into_raw_fd();
        // SAFETY: `raw` is an open descriptor we own; fdopen takes it over on success.
        let fp = unsafe { ffi::fdopen(raw, c"rb".as_ptr()) };
        if fp.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: fdopen failed, so `raw` is still ours to close.
            drop(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) });
            return Err(format!("cannot open the stream: {e}"));
        }
        let mut buffer = vec![0u8; READ_BUFFER].into_boxed_slice();
        // SAFETY: `fp` is a fresh stream with no I/O done yet; `buffer` lives as long as the
        // handle, which closes the stream before dropping it. A failure leaves the default
        // buffer, which is only slower.
        unsafe {
            ffi::setvbuf(fp, buffer.as_mut_ptr().cast(), ffi::IOFBF, buffer.len());
        }
        let mut errbuf = [0 as std::ffi::c_char; ffi::ERRBUF_SIZE];
        // SAFETY: `fp` is valid; `errbuf` has PCAP_ERRBUF_SIZE bytes.
        let p = unsafe {
            ffi::pcap_fopen_offline_with_tstamp_precision(
                fp,
                ffi::PRECISION_NANO,
                errbuf.as_mut_ptr(),
            )
        };
        match NonNull::new(p) {
            Some(handle) => Ok(Libpcap {
                handle,
                _buffer: buffer,
            }),
            None => {
                // SAFETY: libpcap did not take the stream over; it is ours to close.
                unsafe { ffi::fclose(fp) };
                // SAFETY: libpcap wrote a NUL-terminated message into errbuf.
                let msg = unsafe { std::ffi::CStr::from_ptr(errbuf.as_ptr()) };
                Err(msg.to_string_lossy().into_owned())
            }
        }
    }

    /// The link type (a DLT_* number).
    fn datalink(&self) -> i32 {
        // SAFETY: the handle is open.
        unsafe { ffi::pcap_datalink(self.handle.as_ptr()) }
    }

    /// The next record, borrowed until the next call; errors as the pcap crate reports them.
    fn next_packet(&mut self) -> Result<(&pcap::PacketHeader, &[u8]), pcap::Error> {
        let mut header: *mut pcap::PacketHeader = std::ptr::null_mut();
        let mut data: *const u8 = std::ptr::null();
        // SAFETY: the handle is open; libpcap sets both pointers when it returns 1.
        let r = unsafe { ffi::pcap_next_ex(self.handle.as_ptr(), &mut header, &mut data) };
        match r {
            1 if !header.is_null() && !data.is_null() => {
                // SAFETY: on success the header and `caplen` bytes of data stay valid until
                // the next call on this handle, which needs `&mut self`.
                let h = unsafe { &*header };
                let d = unsafe { std::slice::from_raw_parts(data, h.caplen as usize) };
                Ok((h, d))
            }
            // PCAP_ERROR_BREAK: no more packets in an offline capture.
            -2 => Err(pcap::Error::NoMorePackets),
            _ => {
                // SAFETY: pcap_geterr returns the handle's NUL-terminated message buffer.
                let msg =
                    unsafe { std::ffi::CStr::from_ptr(ffi::pcap_geterr(self.handle.as_ptr())) };
                Err(pcap::Error::PcapError(msg.to_string_lossy().into_owned()))
            }
        }
    }
}

impl Drop for Libpcap {
    fn drop(&mut self) {
        // SAFETY: the handle is open and not used after this; pcap_close closes the FILE
        // before `_buffer` is dropped.
        unsafe { ffi::pcap_close(self.handle.as_ptr()) }
    }
}

/// A pcap input read by libpcap.
struct PcapSource {
    capture: Libpcap,
    filter: PacketFilter,
    /// libpcap's link type for the file (a DLT_* number).
    linktype: u32,
    place: PcapPlace,
    /// The last accepted frame, when a filter is set (see `next`).
    copy: Vec<u8>,
    /// What the thread feeding a stream into libpcap's pipe found wrong, if anything.
    verdict: Option<Verdict>,
    link_types: Vec<u32>,
}

impl PcapSource {
    fn open_file(path: &Path, shown: &str, filter: Option<&str>) -> Result<Self, CaptureError> {
        let open_error = |e: io::Error| CaptureError::Open {
            path: shown.to_string(),
            message: format!("cannot open: {e}"),
        };
        let mut file = File::open(path).map_err(open_error)?;
        let mut header = [0u8; field::pcap::FILE_HEADER_LEN];
        let n = read_up_to(&mut file, &mut header).map_err(open_error)?;
        let Some(magic) = PcapMagic::sniff(&header[..n]) else {
            return Err(CaptureError::NotACapture {
                path: shown.to_string(),
                found: describe_head(&header[..n.min(4)]),
            });
        };
        // Reject: no room for the snaplen and link type.
        if n < field::pcap::FILE_HEADER_LEN {
            return Err(CaptureError::Corrupt {
                path: shown.to_string(),
                offset: 0,
                what: format!(
                    "file ends in the middle of the {}-byte pcap file header: {n} bytes",
                    field::pcap::FILE_HEADER_LEN
                ),
            });
        }
        let snaplen = magic.endian.u32(&header, field::pcap::SNAPLEN);
        // libpcap reads the file from its start through a descriptor of its own.
        let fd = std::os::fd::OwnedFd::from(File::open(path).map_err(open_error)?);
        let capture = Libpcap::from_fd(fd).map_err(|e| CaptureError::Corrupt {
            path: shown.to_string(),
            offset: 0,
            what: format!("libpcap cannot read the file header: {e}"),
        })?;
        let shadow = File::open(path).ok().map(BufReader::new);
        Ok(Self::new(
            capture,
            filter,
            PcapPlace {
                offset: field::pcap::FILE_HEADER_LEN as u64,
                magic,
                snaplen,
                shadow,
                shadow_pos: 0,
            },
            None,
        ))
    }

    /// libpcap reads the stream through a pipe that a thread fills with `head`, then `rest`
    /// (see [`pump`]).
    fn open_stream(
        shown: &str,
        head: Vec<u8>,
        rest: Box<dyn Read + Send>,
        filter: Option<&str>,
    ) -> Result<Self, CaptureError> {
        let Some(magic) = PcapMagic::sniff(&head) else {
            return Err(CaptureError::NotACapture {
                path: shown.to_string(),
                found: describe_head(&head),
            });
        };
        let io_error = |e: io::Error| CaptureError::Open {
            path: shown.to_string(),
            message: format!("cannot set up the pipe to libpcap: {e}"),
        };
        let (pipe_out, pipe_in) = io::pipe().map_err(io_error)?;
        let verdict = Verdict::default();
        let found = Arc::clone(&verdict);
        thread::Builder::new()
            .name("flowaudit-stdin".to_string())
            .spawn(move || pump(head, rest, pipe_in, &found))
            .map_err(io_error)?;
        let capture = Libpcap::from_fd(std::os::fd::OwnedFd::from(pipe_out)).map_err(|e| {
            CaptureError::Corrupt {
                path: shown.to_string(),
                offset: 0,
                what: format!("libpcap cannot read the file header: {e}"),
            }
        })?;
        Ok(Self::new(
            capture,
            filter,
            PcapPlace {
                offset: field::pcap::FILE_HEADER_LEN as u64,
                magic,
                snaplen: 0,
                shadow: None,
                shadow_pos: 0,
            },
            Some(verdict),
        ))
    }

    fn new(
        capture: Libpcap,
        filter: Option<&str>,
        place: PcapPlace,
        verdict: Option<Verdict>,
    ) -> Self {
        let linktype = u32::try_from(capture.datalink()).unwrap_or_default();
        // Compiled for the capture's link type.
        let filter = PacketFilter::new(filter, |expr| compile(expr, linktype as i32));
        PcapSource {
            capture,
            filter,
            linktype,
            place,
            copy: Vec::new(),
            verdict,
            link_types: Vec::new(),
        }
    }

    fn next(&mut self) -> Result<Option<RawPacket<'_>>, Fault> {
        let PcapSource {
            capture,
            filter,
            linktype,
            place,
            copy,
            verdict,
            link_types,
        } = self;
        let linktype = *linktype;
        if let PacketFilter::All = filter {
            // No filter: hand out libpcap's buffer as it is.
            return match capture.next_packet() {
                Ok((header, data)) => {
                    place.record(header.caplen)?;
                    note_linktype(link_types, linktype);
                    Ok(Some(RawPacket {
                        ts_ns: pcap_ts_ns(header),
                        data,
                        wire_len: header.len,
                        linktype,
                    }))
                }
                Err(e) => Self::end(e, place, verdict.as_ref()),
            };
        }
        // With a filter, rejected frames are read in a loop. A frame borrowed from libpcap
        // cannot be returned from inside that loop, so the accepted one is copied out.
        let (ts_ns, wire_len) = loop {
            match capture.next_packet() {
                Ok((header, data)) => {
                    place.record(header.caplen)?;
                    note_linktype(link_types, linktype);
                    if filter.matches(data) {
                        copy.clear();
                        copy.extend_from_slice(data);
                        break (pcap_ts_ns(header), header.len);
                    }
                }
                Err(e) => return Self::end(e, place, verdict.as_ref()),
            }
        };
        Ok(Some(RawPacket {
            ts_ns,
            data: copy,
            wire_len,
            linktype,
        }))
    }

    /// Turns the error that ended libpcap's reading into a clean end or a Fault.
    fn end(
        e: pcap::Error,
        place: &mut PcapPlace,
        verdict: Option<&Verdict>,
    ) -> Result<Option<RawPacket<'static>>, Fault> {
        // The pump records what it found before it closes the pipe, so by the time libpcap
        // has seen the end of the pipe, the verdict is in.
        let found = verdict.and_then(|v| v.lock().unwrap_or_else(|e| e.into_inner()).take());
        match (e, found) {
            (pcap::Error::NoMorePackets, None) => Ok(None),
            (pcap::Error::NoMorePackets, Some(fault)) => Err(fault),
            (other, Some(Fault::Corrupt { offset, what })) => Err(corrupt(
                offset,
                format!("{what} (libpcap: {})", pcap_message(&other)),
            )),
            (_, Some(fault)) => Err(fault),
            (other, None) => Err(place.diagnose(&pcap_message(&other))),
        }
    }
}

/// What the stream pump found wrong, for the reader to report.
type Verdict = Arc<Mutex<Option<Fault>>>;

/// Why the pump stopped early.
enum PumpStop {
    /// libpcap's end of the pipe is closed: the reader is gone, nothing to report.
    Closed,
    Fault(Fault),
}

/// Feeds a pcap stream (its first bytes `head`, then `rest`) to libpcap through `pipe`, record
/// by record, keeping count of offsets. It stops before a record that claims more bytes than the
/// snaplen, which libpcap would silently cut short (losing the offsets), and records in
/// `verdict` what stopped it, before closing the pipe. Its output is flushed whenever its input
/// has nothing more buffered, so the frames of a live capture are not held back.
fn pump(head: Vec<u8>, rest: Box<dyn Read + Send>, pipe: io::PipeWriter, verdict: &Verdict) {
    let mut src = BufReader::with_capacity(64 * 1024, Cursor::new(head).chain(rest));
    let mut dst = io::BufWriter::with_capacity(64 * 1024, pipe);
    if let Err(PumpStop::Fault(fault)) = pump_records(&mut src, &mut dst) {
        *verdict.lock().unwrap_or_else(|e| e.into_inner()) = Some(fault);
    }
    // Dropping `dst` flushes the rest and closes the pipe: libpcap sees the end.
}

fn pump_records(src: &mut BufReader<impl Read>, dst: &mut impl Write) -> Result<(), PumpStop> {
    use field::pcap::*;
    let failed_read = |offset| move |error| PumpStop::Fault(Fault::Io { offset, error });
    let send =
        |dst: &mut dyn Write, bytes: &[u8]| dst.write_all(bytes).map_err(|_| PumpStop::Closed);
    let mut header = [0u8; FILE_HEADER_LEN];
    let n = read_up_to(src, &mut header).map_err(failed_read(0))?;
    send(dst, &header[..n])?;
    let Some(magic) = PcapMagic::sniff(&header) else {
        return Ok(());
    };
    // A short file header is libpcap's to report.
    if n < FILE_HEADER_LEN {
        return Ok(());
    }
    let snaplen = magic.endian.u32(&header, SNAPLEN);
    let want = magic.record_header_len;
    let mut record = [0u8; PATCHED_RECORD_HEADER_LEN];
    let mut offset = FILE_HEADER_LEN as u64;
    loop {
        // About to wait for input: let libpcap have what came so far.
        if src.buffer().is_empty() {
            dst.flush().map_err(|_| PumpStop::Closed)?;
        }
        let got = read_up_to(src, &mut record[..want]).map_err(failed_read(offset))?;
        // Accept: the stream ends between records.
        if got == 0 {
            return Ok(());
        }
        // Reject: the stream ends inside a record header (libpcap gets it too, and agrees).
        if got < want {
            send(dst, &record[..got])?;
            return Err(PumpStop::Fault(corrupt(
                offset,
                format!("file ends in the middle of a record header: {got} of {want} bytes"),
            )));
        }
        let caplen = magic.endian.u32(&record, CAPLEN);
        // Reject: more bytes than the snaplen (libpcap would cut the record short and say
        // nothing); libpcap never sees this record. With snaplen 0, libpcap judges.
        if snaplen != 0 && caplen > snaplen {
            return Err(PumpStop::Fault(corrupt(offset, too_long(caplen, snaplen))));
        }
        send(dst, &record[..want])?;
        let copied = forward(src, dst, u64::from(caplen)).map_err(failed_read(offset))?;
        match copied {
            Some(copied) if copied < u64::from(caplen) => {
                // Reject: the stream ends inside the frame (libpcap gets it too, and agrees).
                return Err(PumpStop::Fault(corrupt(
                    offset,
                    format!(
                        "file ends in the middle of a packet record: {copied} of {caplen} bytes"
                    ),
                )));
            }
            Some(_) => {}
            None => return Err(PumpStop::Closed),
        }
        offset += want as u64 + u64::from(caplen);
    }
}

/// Copies up to `n` bytes from `src` to `dst`: the number copied (< n: end of input), None if
/// `dst` is closed.
fn forward(
    src: &mut BufReader<impl Read>,
    dst: &mut impl Write,
    n: u64,
) -> io::Result<Option<u64>> {
    use io::BufRead;
    let mut left = n;
    while left > 0 {
        let chunk = match src.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        let take = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if dst.write_all(&chunk[..take]).is_err() {
            return Ok(None);
        }
        src.consume(take);
        left -= take as u64;
    }
    Ok(Some(n - left))
}

/// Timestamp of a frame from libpcap, ns (the capture was opened with nanosecond precision, so
/// `tv_usec` holds nanoseconds).
// time_t and suseconds_t are i64 on 64-bit Linux but may be narrower elsewhere.
#[allow(clippy::useless_conversion)]
fn pcap_ts_ns(header: &pcap::PacketHeader) -> i64 {
    let sec = i64::from(header.ts.tv_sec);
    let frac = i64::from(header.ts.tv_usec);
    sec.saturating_mul(NS_PER_SEC).saturating_add(frac)
}

// ---------------------------------------------------------------------------------------------
// pcapng

/// Units of an interface's timestamps (if_tsresol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsResol {
    /// 10^-n seconds.
    Decimal(u8),
    /// 2^-n seconds.
    Binary(u8),
}

impl TsResol {
    /// Decodes the if_tsresol byte: high bit clear = 10^-n, set = 2^-n.
    fn from_option(byte: u8) -> TsResol {
        if byte & 0x80 == 0 {
            TsResol::Decimal(byte)
        } else {
            TsResol::Binary(byte & 0x7f)
        }
    }

    /// Converts a timestamp in these units, plus `offset_s` seconds, to ns since the epoch.
    /// Integer math only; the result saturates at the ends of i64.
    fn to_ns(self, ts: u64, offset_s: i64) -> i64 {
        let ts = u128::from(ts);
        let ns: u128 = match self {
            TsResol::Decimal(n) if n <= 9 => ts * 10u128.pow(9 - u32::from(n)),
            // Finer than ns: divide; a divisor beyond u128 leaves nothing.
            TsResol::Decimal(n) => match 10u128.checked_pow(u32::from(n) - 9) {
                Some(divisor) => ts / divisor,
                None => 0,
            },
            // n <= 127, and ts * 10^9 < 2^94: neither the shift nor the product overflows.
            TsResol::Binary(n) => (ts * 1_000_000_000) >> n,
        };
        let total = ns as i128 + i128::from(offset_s) * i128::from(NS_PER_SEC);
        i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX })
    }
}

/// An interface of the current section (from its Interface Description Block).
struct Interface {
    /// LINKTYPE_* number as written in the file.
    linktype: u32,
    /// Snapshot length, bytes (0: no limit).
    snaplen: u32,
    resol: TsResol,
    /// if_tsoffset: seconds added to every timestamp.
    offset_s: i64,
    filter: PacketFilter,
}

/// Where a frame is in the block buffer, and what is known about it.
#[derive(Debug)]
struct Meta {
    data: Range<usize>,
    ts_ns: i64,
    wire_len: u32,
    linktype: u32,
}

/// Reads pcapng from any byte stream.
///
/// Sections (either byte order, several per file) with their interfaces; Enhanced, Simple and
/// obsolete Packet Blocks; every other block type is checked for framing and skipped. A Simple
/// Packet Block carries no timestamp: its frame gets the timestamp of the previous frame in the
/// file (0, the epoch, if there is none). One buffer holds the current block; it grows to the
/// largest block read and is reused, so reading a frame does not allocate.
struct PcapngReader {
    src: BufReader<Box<dyn Read + Send>>,
    /// Bytes consumed: the offset of the next block.
    offset: u64,
    /// The current block, from its type field on.
    buf: Vec<u8>,
    /// Byte order of the current section.
    endian: Endian,
    /// A Section Header Block has been read.
    in_section: bool,
    interfaces: Vec<Interface>,
    /// Timestamp of the previous frame, ns (for Simple Packet Blocks).
    last_ts_ns: i64,
    filter: Option<String>,
    link_types: Vec<u32>,
}

impl PcapngReader {
    fn new(src: Box<dyn Read + Send>, filter: Option<&str>, buffer: usize) -> PcapngReader {
        PcapngReader {
            src: BufReader::with_capacity(buffer, src),
            offset: 0,
            buf: Vec::new(),
            endian: Endian::Little,
            in_section: false,
            interfaces: Vec::new(),
            last_ts_ns: 0,
            filter: filter.map(str::to_string),
            link_types: Vec::new(),
        }
    }

    fn next(&mut self) -> Result<Option<RawPacket<'_>>, Fault> {
        let Some(meta) = self.next_meta()? else {
            return Ok(None);
        };
        Ok(Some(RawPacket {
            ts_ns: meta.ts_ns,
            data: self.buf.get(meta.data).unwrap_or_default(),
            wire_len: meta.wire_len,
            linktype: meta.linktype,
        }))
    }

    /// Reads blocks up to the next frame that passes the filter.
    fn next_meta(&mut self) -> Result<Option<Meta>, Fault> {
        loop {
            let start = self.offset;
            let Some((block_type, len)) = self.read_block(start)? else {
                return Ok(None);
            };
            self.offset = start + u64::from(len);
            match block_type {
                BLOCK_SHB => self.section(start)?,
                BLOCK_IDB => self.interface(start)?,
                BLOCK_EPB | BLOCK_PB | BLOCK_SPB => {
                    if let Some(meta) = self.packet(start, block_type)? {
                        return Ok(Some(meta));
                    }
                }
                // Name resolution, statistics, decryption secrets, custom and unknown blocks.
                _ => {}
            }
        }
    }

    fn io(&self, at: u64) -> impl FnOnce(io::Error) -> Fault {
        move |error| Fault::Io { offset: at, error }
    }

    /// Reads one block whose first byte is at `start` and checks its framing. The blocks this
    /// reader uses end up whole in `buf`; the others are skipped, with only their first 8 bytes
    /// in `buf`. Returns (block type, total length), or None at a clean end of file.
    fn read_block(&mut self, start: u64) -> Result<Option<(u32, u32)>, Fault> {
        use field::pcapng::*;
        self.buf.clear();
        let got =
            append_up_to(&mut self.src, &mut self.buf, BLOCK_HEADER_LEN).map_err(self.io(start))?;
        if got == 0 {
            // Accept: the file ends between two blocks.
            if self.in_section {
                return Ok(None);
            }
            // Reject: not even a Section Header Block.
            return Err(corrupt(start, "file is empty: no section header block"));
        }
        // Reject: the file ends inside the block header.
        if got < BLOCK_HEADER_LEN {
            return Err(corrupt(
                start,
                format!("file ends in the middle of a block header: {got} of 8 bytes"),
            ));
        }
        let is_shb = self.buf.get(BLOCK_TYPE) == Some(&PCAPNG_MAGIC[..]);
        if is_shb {
            // The byte-order magic decides how to read the length, so read it first.
            let got = append_up_to(&mut self.src, &mut self.buf, 4).map_err(self.io(start))?;
            if got < 4 {
                return Err(corrupt(
                    start,
                    format!(
                        "file ends in the middle of a section header block: {} of 12 or more \
                         bytes",
                        BLOCK_HEADER_LEN + got
                    ),
                ));
            }
            self.endian = match self.buf.get(SHB_BYTE_ORDER) {
                Some([0x1a, 0x2b, 0x3c, 0x4d]) => Endian::Big,
                Some([0x4d, 0x3c, 0x2b, 0x1a]) => Endian::Little,
                // Reject: neither byte order.
                _ => {
                    return Err(corrupt(
                        start,
                        format!(
                            "section header block has byte-order magic {}, not 1a 2b 3c 4d in \
                             either byte order",
                            hex(self.buf.get(SHB_BYTE_ORDER).unwrap_or_default())
                        ),
                    ));
                }
            };
        } else if !self.in_section {
            // Reject: every other block belongs to a section.
            return Err(corrupt(
                start,
                format!(
                    "file does not start with a section header block (block type {:#x})",
                    self.endian.u32(&self.buf, BLOCK_TYPE)
                ),
            ));
        }
        let block_type = self.endian.u32(&self.buf, BLOCK_TYPE);
        let len = self.endian.u32(&self.buf, BLOCK_LEN);
        let min = if is_shb { SHB_MIN_LEN } else { MIN_BLOCK_LEN };
        // Reject: too short to hold its own header and trailer.
        if (len as usize) < min {
            return Err(corrupt(
                start,
                format!("block length {len} is less than the {min}-byte minimum"),
            ));
        }
        // Reject: blocks are padded to 32 bits.
        if !len.is_multiple_of(4) {
            return Err(corrupt(
                start,
                format!("block length {len} is not a multiple of 4"),
            ));
        }
        let wanted = matches!(
            block_type,
            BLOCK_SHB | BLOCK_IDB | BLOCK_PB | BLOCK_SPB | BLOCK_EPB
        );
        let trailer = if wanted {
            // Reject: more than this reader holds in memory for one block.
            if len > MAX_BLOCK_LEN {
                return Err(corrupt(
                    start,
                    format!(
                        "block length {len} is more than the {MAX_BLOCK_LEN} bytes flowaudit \
                         reads for one block"
                    ),
                ));
            }
            let missing = len as usize - self.buf.len();
            let got =
                append_up_to(&mut self.src, &mut self.buf, missing).map_err(self.io(start))?;
            // Reject: the file ends inside the block.
            if got < missing {
                return Err(corrupt(
                    start,
                    format!(
                        "file ends in the middle of a block: {} of {len} bytes",
                        self.buf.len()
                    ),
                ));
            }
            self.endian
                .u32(&self.buf, len as usize - BLOCK_TRAILER_LEN..len as usize)
        } else {
            let body = u64::from(len) - (BLOCK_HEADER_LEN + BLOCK_TRAILER_LEN) as u64;
            let skipped = io::copy(&mut (&mut self.src).take(body), &mut io::sink())
                .map_err(self.io(start))?;
            let mut trailer = [0u8; BLOCK_TRAILER_LEN];
            let got = if skipped == body {
                read_up_to(&mut self.src, &mut trailer).map_err(self.io(start))?
            } else {
                0
            };
            // Reject: the file ends inside the block.
            if skipped < body || got < BLOCK_TRAILER_LEN {
                return Err(corrupt(
                    start,
                    format!(
                        "file ends in the middle of a block: {} of {len} bytes",
                        BLOCK_HEADER_LEN as u64 + skipped + got as u64
                    ),
                ));
            }
            self.endian.u32(&trailer, 0..BLOCK_TRAILER_LEN)
        };
        // Reject: the two copies of the length disagree.
        if trailer != len {
            return Err(corrupt(
                start,
                format!(
                    "block length at the end of the block ({trailer}) differs from the one at \
                     the start ({len})"
                ),
            ));
        }
        Ok(Some((block_type, len)))
    }

    /// A Section Header Block is in `buf`: start a new section.
    fn section(&mut self, start: u64) -> Result<(), Fault> {
        use field::pcapng::*;
        let major = self.endian.u16(&self.buf, SHB_VERSION_MAJOR);
        let minor = self.endian.u16(&self.buf, SHB_VERSION_MINOR);
        // Reject: a different major version may lay blocks out differently.
        if major != 1 {
            return Err(corrupt(
                start,
                format!(
                    "section header block says pcapng version {major}.{minor}; flowaudit reads \
                     version 1"
                ),
            ));
        }
        // Interface ids count from 0 again in every section.
        self.in_section = true;
        self.interfaces.clear();
        Ok(())
    }

    /// An Interface Description Block is in `buf`: define the section's next interface.
    fn interface(&mut self, start: u64) -> Result<(), Fault> {
        use field::pcapng::*;
        let len = self.buf.len();
        // Reject: no room for the link type and snaplen.
        if len < IDB_MIN_LEN {
            return Err(corrupt(
                start,
                format!(
                    "interface description block is {len} bytes, less than its \
                     {IDB_MIN_LEN}-byte minimum"
                ),
            ));
        }
        let endian = self.endian;
        let linktype = u32::from(endian.u16(&self.buf, IDB_LINKTYPE));
        let snaplen = endian.u32(&self.buf, IDB_SNAPLEN);
        let mut resol = TsResol::Decimal(6);
        let mut offset_s = 0;
        let end = len - BLOCK_TRAILER_LEN;
        let mut at = IDB_OPTIONS;
        while at + OPT_VALUE <= end {
            let code = endian.u16(&self.buf, at + OPT_CODE.start..at + OPT_CODE.end);
            let value_len =
                usize::from(endian.u16(&self.buf, at + OPT_LEN.start..at + OPT_LEN.end));
            // Accept: opt_endofopt ends the list (whatever padding follows).
            if code == OPT_ENDOFOPT {
                break;
            }
            let value_start = at + OPT_VALUE;
            let value_end = value_start + value_len;
            // Reject: the option runs past the end of the block.
            if value_end > end {
                return Err(corrupt(
                    start,
                    format!(
                        "interface description block option {code} is {value_len} bytes, \
                         more than the {} bytes left in the block",
                        end - value_start
                    ),
                ));
            }
            let value = self.buf.get(value_start..value_end).unwrap_or_default();
            match code {
                // Accept: if_tsresol is one byte.
                OPT_IF_TSRESOL if value_len >= 1 => {
                    resol = TsResol::from_option(value.first().copied().unwrap_or(6));
                }
                // Accept: if_tsoffset is a signed 64-bit number of seconds.
                OPT_IF_TSOFFSET if value_len == 8 => offset_s = endian.i64(value, 0..8),
                // Names, descriptions, addresses, filters...: not needed here.
                _ => {}
            }
            at = value_start + value_len.next_multiple_of(4);
        }
        let filter = PacketFilter::new(self.filter.as_deref(), |expr| {
            compile(expr, dlt_for_linktype(linktype))
        });
        self.interfaces.push(Interface {
            linktype,
            snaplen,
            resol,
            offset_s,
            filter,
        });
        Ok(())
    }

    /// A packet block is in `buf`: describe its frame, or None if the filter rejects it.
    fn packet(&mut self, start: u64, block_type: u32) -> Result<Option<Meta>, Fault> {
        use field::pcapng::*;
        let endian = self.endian;
        let buf = &self.buf;
        let len = buf.len();
        let body_end = len - BLOCK_TRAILER_LEN;
        let defined = self.interfaces.len();
        let (interface, data, ts_ns, wire_len) = if block_type == BLOCK_SPB {
            // Reject: no room for the original length.
            if len < SPB_MIN_LEN {
                return Err(corrupt(
                    start,
                    format!("simple packet block is {len} bytes, less than its 16-byte minimum"),
                ));
            }
            // Reject: a Simple Packet Block belongs to interface 0, which must exist.
            let Some(interface) = self.interfaces.first() else {
                return Err(corrupt(
                    start,
                    "simple packet block, but the section defines no interface",
                ));
            };
            let wire_len = endian.u32(buf, SPB_ORIG_LEN);
            let room = body_end - SPB_DATA;
            // Captured length: the frame, cut to the snaplen, within the block.
            let mut caplen = (wire_len as usize).min(room);
            if interface.snaplen != 0 {
                caplen = caplen.min(interface.snaplen as usize);
            }
            let data = SPB_DATA..SPB_DATA + caplen;
            (interface, data, self.last_ts_ns, wire_len)
        } else {
            let (name, id, ts_high, ts_low, caplen, wire_len, data_start) =
                if block_type == BLOCK_EPB {
                    (
                        "enhanced packet block",
                        endian.u32(buf, EPB_INTERFACE),
                        endian.u32(buf, EPB_TS_HIGH),
                        endian.u32(buf, EPB_TS_LOW),
                        endian.u32(buf, EPB_CAPLEN),
                        endian.u32(buf, EPB_ORIG_LEN),
                        EPB_DATA,
                    )
                } else {
                    (
                        "packet block",
                        u32::from(endian.u16(buf, PB_INTERFACE)),
                        endian.u32(buf, PB_TS_HIGH),
                        endian.u32(buf, PB_TS_LOW),
                        endian.u32(buf, PB_CAPLEN),
                        endian.u32(buf, PB_ORIG_LEN),
                        PB_DATA,
                    )
                };
            // Reject: no room for the fixed fields.
            if len < PACKET_BLOCK_MIN_LEN {
                return Err(corrupt(
                    start,
                    format!(
                        "{name} is {len} bytes, less than its {PACKET_BLOCK_MIN_LEN}-byte minimum"
                    ),
                ));
            }
            // Reject: the interface must have been described earlier in the section.
            let Some(interface) = self.interfaces.get(id as usize) else {
                return Err(corrupt(
                    start,
                    format!(
                        "{name} names interface {id}, but the section defines {defined} \
                         interface(s) before it"
                    ),
                ));
            };
            let room = body_end - data_start;
            // Reject: the frame must fit in the block.
            if caplen as usize > room {
                return Err(corrupt(
                    start,
                    format!(
                        "{name} says {caplen} captured bytes, but the block has room for {room}"
                    ),
                ));
            }
            let ts = (u64::from(ts_high) << 32) | u64::from(ts_low);
            let ts_ns = interface.resol.to_ns(ts, interface.offset_s);
            let data = data_start..data_start + caplen as usize;
            (interface, data, ts_ns, wire_len)
        };
        self.last_ts_ns = ts_ns;
        note_linktype(&mut self.link_types, interface.linktype);
        if !interface
            .filter
            .matches(buf.get(data.clone()).unwrap_or_default())
        {
            return Ok(None);
        }
        Ok(Some(Meta {
            data,
            ts_ns,
            wire_len,
            linktype: interface.linktype,
        }))
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    // -----------------------------------------------------------------------------------------
    // fixtures: temp files, frames and file builders

    /// A file or directory under the temp dir, removed when dropped.
    struct Temp(PathBuf);

    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
            let _ = fs::remove_file(&self.0);
        }
    }

    fn temp_path(tag: &str) -> PathBuf {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        std::env::temp_dir().join(format!(
            "flowaudit-capture-{}-{}-{tag}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
    }

    fn temp_file(tag: &str, bytes: &[u8]) -> Temp {
        let path = temp_path(tag);
        fs::write(&path, bytes).expect("write temp file");
        Temp(path)
    }

    fn input(path: &Path, format: Format) -> Input {
        Input {
            path: path.to_path_buf(),
            format,
            size: None,
            first_ts_ns: None,
        }
    }

    /// A frame as read, with the reader's offset right after it.
    #[derive(Debug, PartialEq)]
    struct Frame {
        ts_ns: i64,
        data: Vec<u8>,
        wire_len: u32,
        linktype: u32,
        offset_after: u64,
    }

    /// Reads to the end; returns the frames and the error that stopped the reader, if any.
    fn drain(reader: &mut Reader) -> (Vec<Frame>, Option<CaptureError>) {
        let mut frames = Vec::new();
        loop {
            match reader.next_packet() {
                Ok(Some(p)) => {
                    let (ts_ns, data, wire_len, linktype) =
                        (p.ts_ns, p.data.to_vec(), p.wire_len, p.linktype);
                    frames.push(Frame {
                        ts_ns,
                        data,
                        wire_len,
                        linktype,
                        offset_after: reader.offset(),
                    });
                }
                Ok(None) => return (frames, None),
                Err(e) => {
                    // A reader that failed is finished.
                    assert!(matches!(reader.next_packet(), Ok(None)));
                    return (frames, Some(e));
                }
            }
        }
    }

    /// Writes `bytes` to a temp file and reads it to the end.
    fn read_bytes(
        bytes: &[u8],
        format: Format,
        filter: Option<&str>,
    ) -> (Vec<Frame>, Option<CaptureError>, Vec<u32>) {
        let file = temp_file("read", bytes);
        let mut reader = Reader::open(&input(&file.0, format), filter).expect("open");
        let (frames, error) = drain(&mut reader);
        (frames, error, reader.link_types().to_vec())
    }

    fn expect_corrupt(error: Option<CaptureError>) -> (u64, String) {
        match error {
            Some(CaptureError::Corrupt { offset, what, .. }) => (offset, what),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    /// IPv4 + TCP from 10.0.0.1:49152 to 10.0.0.2:`dport`, SYN, no payload: 40 bytes.
    fn ip_tcp(dport: u16) -> Vec<u8> {
        #[rustfmt::skip]
        let mut frame = vec![
            0x45, 0x00, 0x00, 0x28, // IPv4, IHL 5, total length 40
            0x00, 0x00, 0x40, 0x00, // id 0, DF
            0x40, 0x06, 0x00, 0x00, // TTL 64, protocol TCP, checksum (unchecked)
            10, 0, 0, 1,            // source
            10, 0, 0, 2,            // destination
            0xc0, 0x00,             // source port 49152
        ];
        frame.extend(dport.to_be_bytes()); // destination port
        #[rustfmt::skip]
        frame.extend([
            0, 0, 0, 0,             // sequence number
            0, 0, 0, 0,             // acknowledgment number
            0x50, 0x02, 0xff, 0xff, // data offset 5, SYN, window
            0, 0, 0, 0,             // checksum, urgent pointer
        ]);
        frame
    }

    /// Ethernet + [`ip_tcp`]: 54 bytes.
    fn eth_tcp(dport: u16) -> Vec<u8> {
        #[rustfmt::skip]
        let mut frame = vec![
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
            0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
            0x08, 0x00,                         // IPv4
        ];
        frame.extend(ip_tcp(dport));
        frame
    }

    /// Builds classic pcap files, little-endian, µs.
    fn pcap_file(snaplen: u32, linktype: u32, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(0xa1b2_c3d4u32.to_le_bytes()); // magic
        out.extend(2u16.to_le_bytes()); // version major
        out.extend(4u16.to_le_bytes()); // version minor
        out.extend([0; 8]); // thiszone, sigfigs
        out.extend(snaplen.to_le_bytes());
        out.extend(linktype.to_le_bytes());
        for &(sec, usec, data) in records {
            out.extend(sec.to_le_bytes());
            out.extend(usec.to_le_bytes());
            out.extend((data.len() as u32).to_le_bytes()); // caplen
            out.extend((data.len() as u32).to_le_bytes()); // orig_len
            out.extend(data);
        }
        out
    }

    /// Builds pcapng blocks in one byte order.
    #[derive(Clone, Copy)]
    struct Ng(Endian);

    impl Ng {
        fn u16(self, v: u16) -> [u8; 2] {
            match self.0 {
                Endian::Little => v.to_le_bytes(),
                Endian::Big => v.to_be_bytes(),
            }
        }

        fn u32(self, v: u32) -> [u8; 4] {
            match self.0 {
                Endian::Little => v.to_le_bytes(),
                Endian::Big => v.to_be_bytes(),
            }
        }

        /// Type, total length, body padded to 4, total length again.
        fn block(self, block_type: u32, body: &[u8]) -> Vec<u8> {
            let padded = body.len().next_multiple_of(4);
            let total = (12 + padded) as u32;
            let mut out = Vec::new();
            out.extend(self.u32(block_type));
            out.extend(self.u32(total));
            out.extend(body);
            out.resize(8 + padded, 0);
            out.extend(self.u32(total));
            out
        }

        fn shb(self) -> Vec<u8> {
            let mut body = Vec::new();
            body.extend(self.u32(0x1a2b_3c4d)); // byte-order magic
            body.extend(self.u16(1)); // major version
            body.extend(self.u16(0)); // minor version
            body.extend([0xff; 8]); // section length -1: unknown
            self.block(BLOCK_SHB, &body)
        }

        fn option(self, code: u16, value: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend(self.u16(code));
            out.extend(self.u16(value.len() as u16));
            out.extend(value);
            out.resize(4 + value.len().next_multiple_of(4), 0);
            out
        }

        /// `options` are [`Ng::option`]s; opt_endofopt is added when there are any.
        fn idb(self, linktype: u16, snaplen: u32, options: &[Vec<u8>]) -> Vec<u8> {
            let mut body = Vec::new();
            body.extend(self.u16(linktype));
            body.extend(self.u16(0)); // reserved
            body.extend(self.u32(snaplen));
            for option in options {
                body.extend(option);
            }
            if !options.is_empty() {
                body.extend(self.option(OPT_ENDOFOPT, &[]));
            }
            self.block(BLOCK_IDB, &body)
        }

        fn epb(self, interface: u32, ts: u64, data: &[u8], wire_len: u32) -> Vec<u8> {
            let mut body = Vec::new();
            body.extend(self.u32(interface));
            body.extend(self.u32((ts >> 32) as u32));
            body.extend(self.u32(ts as u32));
            body.extend(self.u32(data.len() as u32)); // captured length
            body.extend(self.u32(wire_len));
            body.extend(data);
            self.block(BLOCK_EPB, &body)
        }

        fn pb(self, interface: u16, ts: u64, data: &[u8], wire_len: u32) -> Vec<u8> {
            let mut body = Vec::new();
            body.extend(self.u16(interface));
            body.extend(self.u16(0)); // drops count
            body.extend(self.u32((ts >> 32) as u32));
            body.extend(self.u32(ts as u32));
            body.extend(self.u32(data.len() as u32)); // captured length
            body.extend(self.u32(wire_len));
            body.extend(data);
            self.block(BLOCK_PB, &body)
        }

        fn spb(self, wire_len: u32, data: &[u8]) -> Vec<u8> {
            let mut body = Vec::new();
            body.extend(self.u32(wire_len));
            body.extend(data);
            self.block(BLOCK_SPB, &body)
        }
    }

    const LE: Ng = Ng(Endian::Little);
    const BE: Ng = Ng(Endian::Big);

    fn concat(blocks: &[Vec<u8>]) -> Vec<u8> {
        blocks.concat()
    }

    /// Offsets after each of `blocks`.
    fn ends(blocks: &[Vec<u8>]) -> Vec<u64> {
        blocks
            .iter()
            .scan(0u64, |end, b| {
                *end += b.len() as u64;
                Some(*end)
            })
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // pcap through libpcap

    #[rustfmt::skip]
    const PCAP_US_LE: &[u8] = &[
        // file header
        0xd4, 0xc3, 0xb2, 0xa1, // magic a1b2c3d4 little-endian: µs timestamps
        0x02, 0x00, 0x04, 0x00, // version 2.4
        0x00, 0x00, 0x00, 0x00, // thiszone 0
        0x00, 0x00, 0x00, 0x00, // sigfigs 0
        0xff, 0xff, 0x00, 0x00, // snaplen 65535
        0x01, 0x00, 0x00, 0x00, // linktype 1, Ethernet
        // record 1, byte 24
        0x00, 0xe1, 0xf5, 0x05, // ts_sec 100000000
        0x40, 0xe2, 0x01, 0x00, // ts_usec 123456
        0x04, 0x00, 0x00, 0x00, // caplen 4
        0x3c, 0x00, 0x00, 0x00, // orig_len 60
        0xde, 0xad, 0xbe, 0xef, // frame
        // record 2, byte 44
        0x01, 0xe1, 0xf5, 0x05, // ts_sec 100000001
        0x00, 0x00, 0x00, 0x00, // ts_usec 0
        0x02, 0x00, 0x00, 0x00, // caplen 2
        0x02, 0x00, 0x00, 0x00, // orig_len 2
        0xca, 0xfe,             // frame
        // end, byte 62
    ];

    #[test]
    fn pcap_microsecond_little_endian() {
        let (frames, error, link_types) = read_bytes(PCAP_US_LE, Format::Pcap, None);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            frames,
            vec![
                Frame {
                    ts_ns: 100_000_000_123_456_000,
                    data: vec![0xde, 0xad, 0xbe, 0xef],
                    wire_len: 60,
                    linktype: 1,
                    offset_after: 44,
                },
                Frame {
                    ts_ns: 100_000_001_000_000_000,
                    data: vec![0xca, 0xfe],
                    wire_len: 2,
                    linktype: 1,
                    offset_after: 62,
                },
            ]
        );
        assert_eq!(link_types, [1]);
    }

    #[rustfmt::skip]
    const PCAP_NS_BE: &[u8] = &[
        // file header
        0xa1, 0xb2, 0x3c, 0x4d, // magic a1b23c4d big-endian: ns timestamps
        0x00, 0x02, 0x00, 0x04, // version 2.4
        0x00, 0x00, 0x00, 0x00, // thiszone 0
        0x00, 0x00, 0x00, 0x00, // sigfigs 0
        0x00, 0x00, 0x01, 0x00, // snaplen 256
        0x00, 0x00, 0x00, 0x65, // linktype 101, raw IP
        // record 1, byte 24
        0x5f, 0x5e, 0x10, 0x00, // ts_sec 1600000000
        0x3b, 0x9a, 0xc9, 0xff, // ts_nsec 999999999
        0x00, 0x00, 0x00, 0x03, // caplen 3
        0x00, 0x00, 0x00, 0x05, // orig_len 5
        0x45, 0x00, 0x00,       // frame
        // end, byte 43
    ];

    #[test]
    fn pcap_nanosecond_big_endian() {
        let (frames, error, link_types) = read_bytes(PCAP_NS_BE, Format::Pcap, None);
        assert!(error.is_none(), "{error:?}");
        // libpcap reports LINKTYPE_RAW (101) as DLT_RAW (12).
        assert_eq!(
            frames,
            vec![Frame {
                ts_ns: 1_600_000_000_999_999_999,
                data: vec![0x45, 0, 0],
                wire_len: 5,
                linktype: 12,
                offset_after: 43,
            }]
        );
        assert_eq!(link_types, [12]);
    }

    #[test]
    fn pcap_truncated_file_header() {
        let file = temp_file("short.pcap", &PCAP_US_LE[..10]);
        let error = Reader::open(&input(&file.0, Format::Pcap), None).err();
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 0);
        assert_eq!(
            what,
            "file ends in the middle of the 24-byte pcap file header: 10 bytes"
        );
    }

    #[test]
    fn pcap_truncated_record_header() {
        let mut bytes = PCAP_US_LE.to_vec();
        bytes.extend([0x02, 0xe1, 0xf5]); // 3 bytes of a third record header
        let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
        assert_eq!(frames.len(), 2);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 62);
        assert!(
            what.starts_with(
                "file ends in the middle of a record header: 3 of 16 bytes (libpcap: "
            ),
            "{what}"
        );
    }

    #[test]
    fn pcap_truncated_packet_data() {
        let full = vec![0x5a; 1514];
        let mut bytes = pcap_file(65535, 1, &[(1, 0, &[1, 2, 3, 4]), (2, 0, &full)]);
        // Keep 700 of the 1514 bytes of the second record.
        bytes.truncate(24 + 16 + 4 + 16 + 700);
        let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
        assert_eq!(frames.len(), 1);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 44);
        assert_eq!(
            what,
            "file ends in the middle of a packet record: 700 of 1514 bytes (libpcap: truncated \
             dump file; tried to read 1514 captured bytes, only got 700)"
        );
    }

    #[test]
    fn pcap_caplen_larger_than_snaplen() {
        // libpcap itself would cut this record to 64 bytes and go on.
        let long = [0x11; 100];
        let bytes = pcap_file(64, 1, &[(1, 0, &[1, 2]), (2, 0, &long), (3, 0, &[3])]);
        let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
        assert_eq!(frames.len(), 1);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 24 + 16 + 2);
        assert_eq!(
            what,
            "record header says 100 captured bytes, more than the 64-byte snaplen"
        );
    }

    #[test]
    fn pcap_records_as_long_as_the_snaplen_are_fine() {
        let exact = [0x11; 64];
        let bytes = pcap_file(64, 1, &[(1, 0, &exact), (2, 0, &exact)]);
        let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].offset_after, bytes.len() as u64);
    }

    #[test]
    fn pcap_huge_caplen() {
        let mut bytes = pcap_file(262_144, 1, &[(1, 0, &[1, 2])]);
        bytes.extend(pcap_file(0, 0, &[(2, 0, &[0; 8])])[24..].iter()); // second record
        // Its caplen field (8 bytes into the record header) becomes 0xffffffff.
        bytes[24 + 16 + 2 + 8..24 + 16 + 2 + 12].copy_from_slice(&[0xff; 4]);
        let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
        assert_eq!(frames.len(), 1);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 42);
        assert_eq!(
            what,
            "record header says 4294967295 captured bytes, more than the 262144-byte snaplen \
             (libpcap: invalid packet capture length 4294967295, bigger than snaplen of 262144)"
        );
    }

    #[test]
    fn pcap_bad_magic_named_to_reader() {
        let file = temp_file("zip", b"PK\x03\x04rest of a zip file, long enough");
        let error = Reader::open(&input(&file.0, Format::Pcap), None).err();
        assert!(
            matches!(&error, Some(CaptureError::NotACapture { found, .. }) if found == "starts with 50 4b 03 04"),
            "{error:?}"
        );
    }

    // -----------------------------------------------------------------------------------------
    // pcapng

    #[rustfmt::skip]
    const PCAPNG_MINIMAL: &[u8] = &[
        // Section Header Block, byte 0
        0x0a, 0x0d, 0x0d, 0x0a, // block type
        0x1c, 0x00, 0x00, 0x00, // block length 28
        0x4d, 0x3c, 0x2b, 0x1a, // byte-order magic: little-endian
        0x01, 0x00, 0x00, 0x00, // version 1.0
        0xff, 0xff, 0xff, 0xff, // section length -1
        0xff, 0xff, 0xff, 0xff,
        0x1c, 0x00, 0x00, 0x00, // block length 28
        // Interface Description Block, byte 28
        0x01, 0x00, 0x00, 0x00, // block type 1
        0x14, 0x00, 0x00, 0x00, // block length 20
        0x01, 0x00, 0x00, 0x00, // linktype 1 Ethernet, reserved
        0x00, 0x00, 0x00, 0x00, // snaplen 0: none
        0x14, 0x00, 0x00, 0x00, // block length 20
        // Enhanced Packet Block, byte 48
        0x06, 0x00, 0x00, 0x00, // block type 6
        0x24, 0x00, 0x00, 0x00, // block length 36
        0x00, 0x00, 0x00, 0x00, // interface 0
        0x00, 0x00, 0x00, 0x00, // timestamp high
        0x40, 0x42, 0x0f, 0x00, // timestamp low: 1000000 µs
        0x03, 0x00, 0x00, 0x00, // captured length 3
        0x40, 0x00, 0x00, 0x00, // original length 64
        0xaa, 0xbb, 0xcc, 0x00, // frame and 1 byte of padding
        0x24, 0x00, 0x00, 0x00, // block length 36
        // end, byte 84
    ];

    #[test]
    fn pcapng_minimal_hand_written() {
        let (frames, error, link_types) = read_bytes(PCAPNG_MINIMAL, Format::Pcapng, None);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            frames,
            vec![Frame {
                ts_ns: 1_000_000_000,
                data: vec![0xaa, 0xbb, 0xcc],
                wire_len: 64,
                linktype: 1,
                offset_after: 84,
            }]
        );
        assert_eq!(link_types, [1]);
        // The builder the other tests use writes the same bytes.
        let built = concat(&[
            LE.shb(),
            LE.idb(1, 0, &[]),
            LE.epb(0, 1_000_000, &[0xaa, 0xbb, 0xcc], 64),
        ]);
        assert_eq!(built, PCAPNG_MINIMAL);
    }

    #[test]
    fn pcapng_interfaces_with_different_link_types_and_resolutions() {
        let blocks = vec![
            LE.shb(),
            // interface 0: Ethernet, default resolution (µs)
            LE.idb(1, 0, &[]),
            // interface 1: raw IP, ns
            LE.idb(101, 65535, &[LE.option(OPT_IF_TSRESOL, &[9])]),
            // interface 2: Ethernet, 2^-10 s, timestamps offset by 1e9 s
            LE.idb(
                1,
                0,
                &[
                    LE.option(OPT_IF_TSRESOL, &[0x80 | 10]),
                    LE.option(OPT_IF_TSOFFSET, &1_000_000_000i64.to_le_bytes()),
                ],
            ),
            LE.epb(0, 1_700_000_000_123_456, &eth_tcp(80), 54),
            LE.epb(1, 1_700_000_000_123_456_789, &ip_tcp(80), 40),
            LE.epb(2, (5 << 10) | 512, &eth_tcp(443), 54),
        ];
        let ends = ends(&blocks);
        let (frames, error, link_types) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            frames,
            vec![
                Frame {
                    ts_ns: 1_700_000_000_123_456_000,
                    data: eth_tcp(80),
                    wire_len: 54,
                    linktype: 1,
                    offset_after: ends[4],
                },
                Frame {
                    ts_ns: 1_700_000_000_123_456_789,
                    data: ip_tcp(80),
                    wire_len: 40,
                    linktype: 101,
                    offset_after: ends[5],
                },
                Frame {
                    // 5.5 s + 1e9 s
                    ts_ns: 1_000_000_005_500_000_000,
                    data: eth_tcp(443),
                    wire_len: 54,
                    linktype: 1,
                    offset_after: ends[6],
                },
            ]
        );
        assert_eq!(link_types, [1, 101]);
    }

    #[test]
    fn pcapng_sections_of_opposite_byte_order() {
        let blocks = vec![
            LE.shb(),
            LE.idb(1, 0, &[]),
            LE.epb(0, 1_000_000, &eth_tcp(80), 54),
            // A new section defines its interfaces afresh: interface 0 is now raw IP.
            BE.shb(),
            BE.idb(101, 0, &[BE.option(OPT_IF_TSRESOL, &[9])]),
            BE.epb(0, 2_000_000_000, &ip_tcp(80), 40),
        ];
        let ends = ends(&blocks);
        let (frames, error, link_types) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            frames,
            vec![
                Frame {
                    ts_ns: 1_000_000_000,
                    data: eth_tcp(80),
                    wire_len: 54,
                    linktype: 1,
                    offset_after: ends[2],
                },
                Frame {
                    ts_ns: 2_000_000_000,
                    data: ip_tcp(80),
                    wire_len: 40,
                    linktype: 101,
                    offset_after: ends[5],
                },
            ]
        );
        assert_eq!(link_types, [1, 101]);
    }

    #[test]
    fn pcapng_interfaces_do_not_carry_over_sections() {
        let blocks = vec![
            LE.shb(),
            LE.idb(1, 0, &[]),
            LE.idb(1, 0, &[]),
            BE.shb(),
            BE.idb(1, 0, &[]),
            BE.epb(1, 0, &eth_tcp(80), 54),
        ];
        let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        assert!(frames.is_empty());
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, ends(&blocks)[4]);
        assert_eq!(
            what,
            "enhanced packet block names interface 1, but the section defines 1 interface(s) \
             before it"
        );
    }

    #[test]
    fn pcapng_simple_packet_block_reuses_previous_timestamp() {
        let frame = eth_tcp(80);
        let blocks = vec![
            LE.shb(),
            LE.idb(1, 20, &[]), // snaplen 20
            LE.epb(0, 7_000_000, &frame[..20], 54),
            LE.spb(54, &frame[..20]),
        ];
        let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].ts_ns, 7_000_000_000);
        assert_eq!(frames[1].data, &frame[..20]);
        assert_eq!(frames[1].wire_len, 54);
        assert_eq!(frames[1].offset_after, ends(&blocks)[3]);
    }

    #[test]
    fn pcapng_simple_packet_block_shorter_than_its_padding() {
        // 3-byte frame: the block holds 4 bytes (padding), the frame is 3.
        let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), LE.spb(3, &[1, 2, 3])];
        let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames[0].data, [1, 2, 3]);
        assert_eq!(frames[0].ts_ns, 0);
    }

    #[test]
    fn pcapng_simple_packet_block_without_interface() {
        let blocks = vec![LE.shb(), LE.spb(3, &[1, 2, 3])];
        let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 28);
        assert_eq!(
            what,
            "simple packet block, but the section defines no interface"
        );
    }

    #[test]
    fn pcapng_obsolete_packet_block() {
        let blocks = vec![
            BE.shb(),
            BE.idb(1, 0, &[]),
            BE.idb(101, 0, &[]),
            BE.pb(1, 3_000_001, &ip_tcp(22), 40),
        ];
        let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            frames,
            vec![Frame {
                ts_ns: 3_000_001_000,
                data: ip_tcp(22),
                wire_len: 40,
                linktype: 101,
                offset_after: ends(&blocks)[3],
            }]
        );
    }

    #[test]
    fn pcapng_other_blocks_are_skipped() {
        let blocks = vec![
            LE.shb(),
            LE.block(4, &[0, 0, 0, 0]), // Name Resolution Block (just opt_endofrecord)
            LE.idb(1, 0, &[]),
            LE.epb(0, 1, &[1], 1),
            LE.block(5, &[0; 12]),                // Interface Statistics Block
            LE.block(0x0a, &[0; 20]),             // Decryption Secrets Block
            LE.block(0x0000_0bad, &[1, 2, 3, 4]), // custom block
            LE.block(0x4000_0bad, &[]),           // custom block, not to be copied
            LE.block(0x1234_5678, &[9; 100]),     // unknown
            LE.epb(0, 2, &[2], 1),
        ];
        let ends = ends(&blocks);
        let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        assert!(error.is_none(), "{error:?}");
        let offsets: Vec<u64> = frames.iter().map(|f| f.offset_after).collect();
        assert_eq!(offsets, [ends[3], ends[9]]);
    }

    #[test]
    fn pcapng_block_length_not_multiple_of_4() {
        let mut epb = LE.epb(0, 1, &[1, 2, 3, 4], 4);
        epb[4..8].copy_from_slice(&34u32.to_le_bytes());
        let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), epb];
        let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 48);
        assert_eq!(what, "block length 34 is not a multiple of 4");
    }

    #[test]
    fn pcapng_block_length_too_small() {
        let mut epb = LE.epb(0, 1, &[1, 2, 3, 4], 4);
        epb[4..8].copy_from_slice(&8u32.to_le_bytes());
        let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), epb];
        let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 48);
        assert_eq!(what, "block length 8 is less than the 12-byte minimum");
    }

    #[test]
    fn pcapng_trailing_length_mismatch() {
        let mut epb = LE.epb(0, 1, &[1, 2, 3, 4], 4);
        let end = epb.len();
        epb[end - 4..].copy_from_slice(&40u32.to_le_bytes());
        let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), LE.epb(0, 0, &[0], 1), epb];
        let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        assert_eq!(frames.len(), 1);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, ends(&blocks)[2]);
        assert_eq!(
            what,
            "block length at the end of the block (40) differs from the one at the start (36)"
        );
    }

    #[test]
    fn pcapng_trailing_length_mismatch_in_skipped_block() {
        let mut unknown = LE.block(0x1234, &[0; 8]);
        unknown[16..20].copy_from_slice(&0u32.to_le_bytes()); // trailing length
        let blocks = vec![LE.shb(), unknown];
        let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 28);
        assert_eq!(
            what,
            "block length at the end of the block (0) differs from the one at the start (20)"
        );
    }

    #[test]
    fn pcapng_enhanced_packet_block_with_undefined_interface() {
        let blocks = vec![
            LE.shb(),
            LE.idb(1, 0, &[]),
            LE.idb(1, 0, &[]),
            LE.epb(2, 1, &[1], 1),
        ];
        let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 68);
        assert_eq!(
            what,
            "enhanced packet block names interface 2, but the section defines 2 interface(s) \
             before it"
        );
    }

    #[test]
    fn pcapng_caplen_beyond_block() {
        let mut epb = LE.epb(0, 1, &[1, 2, 3, 4], 4);
        epb[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), epb];
        let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 48);
        assert_eq!(
            what,
            "enhanced packet block says 4294967295 captured bytes, but the block has room for 4"
        );
    }

    #[test]
    fn pcapng_truncated_block() {
        let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), LE.epb(0, 1, &eth_tcp(80), 54)];
        let mut bytes = concat(&blocks);
        bytes.truncate(48 + 50);
        let (_, error, _) = read_bytes(&bytes, Format::Pcapng, None);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 48);
        assert_eq!(what, "file ends in the middle of a block: 50 of 88 bytes");
    }

    #[test]
    fn pcapng_truncated_block_header() {
        let mut bytes = concat(&[LE.shb(), LE.idb(1, 0, &[])]);
        bytes.extend([6, 0, 0]);
        let (_, error, _) = read_bytes(&bytes, Format::Pcapng, None);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 48);
        assert_eq!(
            what,
            "file ends in the middle of a block header: 3 of 8 bytes"
        );
    }

    #[test]
    fn pcapng_bad_byte_order_magic() {
        let mut bytes = LE.shb();
        bytes[8..12].copy_from_slice(&[1, 2, 3, 4]);
        let (_, error, _) = read_bytes(&bytes, Format::Pcapng, None);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 0);
        assert_eq!(
            what,
            "section header block has byte-order magic 01 02 03 04, not 1a 2b 3c 4d in either \
             byte order"
        );
    }

    #[test]
    fn pcapng_idb_option_past_the_end() {
        let mut idb = LE.idb(1, 0, &[LE.option(OPT_IF_TSRESOL, &[9])]);
        idb[18..20].copy_from_slice(&200u16.to_le_bytes()); // if_tsresol length
        let (_, error, _) = read_bytes(&concat(&[LE.shb(), idb]), Format::Pcapng, None);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 28);
        assert_eq!(
            what,
            "interface description block option 9 is 200 bytes, more than the 8 bytes left in \
             the block"
        );
    }

    #[test]
    fn pcapng_every_truncation() {
        let blocks = vec![
            LE.shb(),
            LE.idb(1, 0, &[LE.option(OPT_IF_TSRESOL, &[9])]),
            LE.epb(0, 1, &eth_tcp(80), 54),
            LE.block(5, &[0; 12]),
            LE.spb(54, &eth_tcp(81)),
            BE.shb(),
            BE.idb(101, 0, &[]),
            BE.pb(0, 2, &ip_tcp(82), 40),
            BE.epb(0, 3, &ip_tcp(83), 40),
        ];
        let packet_blocks = [2, 4, 7, 8];
        let ends = ends(&blocks);
        let bytes = concat(&blocks);
        for cut in 0..=bytes.len() {
            let mut reader = PcapngReader::new(
                Box::new(Cursor::new(bytes[..cut].to_vec())),
                Some("tcp"),
                64,
            );
            let mut frames = 0;
            let result = loop {
                match reader.next_meta() {
                    Ok(Some(_)) => frames += 1,
                    other => break other,
                }
            };
            // Frames come from whole blocks only.
            let whole = packet_blocks
                .iter()
                .filter(|&&i| ends[i] <= cut as u64)
                .count();
            assert_eq!(frames, whole, "cut at {cut}");
            let boundary = cut > 0 && ends.contains(&(cut as u64));
            match result {
                Ok(None) => assert!(boundary, "clean end at {cut}"),
                Err(Fault::Corrupt { offset, .. }) => {
                    assert!(!boundary, "error at block boundary {cut}");
                    // The offset is the start of the block the cut falls in.
                    let start = ends.iter().copied().filter(|&e| e <= cut as u64).max();
                    assert_eq!(offset, start.unwrap_or(0), "cut at {cut}");
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    /// Reads pcapng from memory to the end, checking that it neither loops nor overreaches.
    fn survive(bytes: Vec<u8>, filter: Option<&str>) {
        let len = bytes.len() as u64;
        let mut reader = PcapngReader::new(Box::new(Cursor::new(bytes)), filter, 64);
        let mut frames = 0u64;
        loop {
            match reader.next_meta() {
                Ok(Some(meta)) => {
                    frames += 1;
                    // Every frame costs a block of 12 bytes or more.
                    assert!(frames * 12 <= len);
                    assert!(meta.data.end <= reader.buf.len());
                }
                Ok(None) => break,
                Err(Fault::Corrupt { offset, .. }) => {
                    assert!(offset <= len);
                    break;
                }
                Err(Fault::Io { error, .. }) => panic!("I/O error from memory: {error}"),
            }
            assert!(reader.offset <= len);
        }
    }

    proptest! {
        #[test]
        fn pcapng_reader_survives_arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            survive(bytes, None);
        }

        #[test]
        fn pcapng_reader_survives_arbitrary_blocks_in_a_section(
            tail in proptest::collection::vec(any::<u8>(), 0..600),
            big_endian in any::<bool>(),
        ) {
            let ng = if big_endian { BE } else { LE };
            let mut bytes = concat(&[ng.shb(), ng.idb(1, 0, &[])]);
            bytes.extend(tail);
            survive(bytes, Some("tcp port 80"));
        }

        #[test]
        fn pcapng_reader_survives_damaged_files(
            hits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = concat(&[
                LE.shb(),
                LE.idb(1, 0, &[LE.option(OPT_IF_TSRESOL, &[0x85])]),
                LE.idb(101, 0, &[LE.option(OPT_IF_TSOFFSET, &[1; 8])]),
                LE.epb(0, 1, &eth_tcp(80), 54),
                LE.spb(54, &eth_tcp(80)),
                LE.pb(1, 2, &ip_tcp(80), 40),
                LE.block(5, &[0; 12]),
            ]);
            for (at, byte) in hits {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            let cut = cut.index(bytes.len() + 1);
            bytes.truncate(cut);
            survive(bytes, Some("tcp port 80"));
        }
    }

    #[test]
    fn timestamp_units() {
        assert_eq!(TsResol::Decimal(6).to_ns(1_500_000, 0), 1_500_000_000);
        assert_eq!(TsResol::Decimal(9).to_ns(42, 0), 42);
        assert_eq!(TsResol::Decimal(0).to_ns(3, 0), 3_000_000_000);
        assert_eq!(TsResol::Decimal(12).to_ns(123_456, 0), 123);
        assert_eq!(TsResol::Decimal(127).to_ns(u64::MAX, 0), 0);
        assert_eq!(TsResol::Binary(0).to_ns(2, 0), 2_000_000_000);
        assert_eq!(TsResol::Binary(10).to_ns(1536, 0), 1_500_000_000);
        assert_eq!(TsResol::Binary(127).to_ns(u64::MAX, 0), 0);
        assert_eq!(TsResol::Decimal(6).to_ns(0, -2), -2_000_000_000);
        assert_eq!(TsResol::Decimal(0).to_ns(u64::MAX, 0), i64::MAX);
        assert_eq!(TsResol::Decimal(6).to_ns(0, i64::MIN), i64::MIN);
        assert_eq!(TsResol::from_option(9), TsResol::Decimal(9));
        assert_eq!(TsResol::from_option(0x8a), TsResol::Binary(10));
    }

    /// libpcap cannot read a pcapng file whose interfaces have different link types, which is
    /// why pcapng has its own reader here.
    #[test]
    fn libpcap_refuses_mixed_link_type_pcapng() {
        let bytes = concat(&[
            LE.shb(),
            LE.idb(1, 0, &[]),
            LE.idb(101, 0, &[]),
            LE.epb(0, 1, &eth_tcp(80), 54),
            LE.epb(1, 2, &ip_tcp(80), 40),
        ]);
        let file = temp_file("mixed.pcapng", &bytes);
        let mut capture = Capture::from_file(&file.0).expect("libpcap opens the file");
        // It stops at the second interface description, before the first frame.
        let refused = capture.next_packet().err().map(|e| pcap_message(&e));
        assert_eq!(
            refused.as_deref(),
            Some("an interface has a type 101 different from the type of the first interface")
        );
        // This module reads both frames.
        let (frames, error, link_types) = read_bytes(&bytes, Format::Pcapng, None);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames.len(), 2);
        assert_eq!(link_types, [1, 101]);
    }

    // -----------------------------------------------------------------------------------------
    // filters

    #[test]
    fn filter_on_pcap() {
        let bytes = pcap_file(65535, 1, &[(1, 0, &eth_tcp(443)), (2, 0, &eth_tcp(80))]);
        let (frames, error, link_types) = read_bytes(&bytes, Format::Pcap, Some("tcp port 80"));
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].data, eth_tcp(80));
        assert_eq!(frames[0].ts_ns, 2_000_000_000);
        // Offsets count the rejected record too.
        assert_eq!(frames[0].offset_after, bytes.len() as u64);
        assert_eq!(link_types, [1]);
    }

    #[test]
    fn filter_on_pcapng() {
        let blocks = vec![
            LE.shb(),
            LE.idb(1, 0, &[]),
            LE.idb(101, 0, &[]),
            LE.epb(0, 1, &eth_tcp(80), 54),
            LE.epb(0, 2, &eth_tcp(443), 54),
            LE.epb(1, 3, &ip_tcp(443), 40),
            LE.epb(1, 4, &ip_tcp(80), 40),
            LE.spb(54, &eth_tcp(8080)),
        ];
        let ends = ends(&blocks);
        let (frames, error, link_types) =
            read_bytes(&concat(&blocks), Format::Pcapng, Some("tcp port 80"));
        assert!(error.is_none(), "{error:?}");
        let got: Vec<(Vec<u8>, u64)> = frames
            .into_iter()
            .map(|f| (f.data, f.offset_after))
            .collect();
        assert_eq!(got, [(eth_tcp(80), ends[3]), (ip_tcp(80), ends[6])]);
        assert_eq!(link_types, [1, 101]);
    }

    #[test]
    fn filter_without_meaning_for_a_link_type_matches_nothing_there() {
        let blocks = vec![
            LE.shb(),
            LE.idb(1, 0, &[]),
            LE.idb(101, 0, &[]),
            LE.epb(0, 1, &eth_tcp(80), 54),
            LE.epb(1, 2, &ip_tcp(80), 40),
        ];
        let (frames, error, _) = read_bytes(
            &concat(&blocks),
            Format::Pcapng,
            Some("ether dst 00:11:22:33:44:55"),
        );
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].linktype, 1);
    }

    #[test]
    fn bad_filter() {
        let error = check_filter("tcp port").unwrap_err();
        assert!(
            matches!(&error, CaptureError::Filter { expr, message } if expr == "tcp port" && !message.is_empty()),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .starts_with("invalid --filter 'tcp port': ")
        );
        assert!(check_filter("tcp port 80").is_ok());
        assert!(matches!(
            check_filter("tcp\0"),
            Err(CaptureError::Filter { .. })
        ));
        for (bytes, format) in [(PCAP_US_LE, Format::Pcap), (PCAPNG_MINIMAL, Format::Pcapng)] {
            let file = temp_file("filtered", bytes);
            let error = Reader::open(&input(&file.0, format), Some("port eighty")).err();
            assert!(
                matches!(&error, Some(CaptureError::Filter { expr, .. }) if expr == "port eighty"),
                "{error:?}"
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // streams (standard input)

    /// Opens `bytes` the way standard input is opened: 4 bytes peeked, the rest streamed.
    fn stream(bytes: &[u8], filter: Option<&str>) -> Result<Reader, CaptureError> {
        let cut = bytes.len().min(4);
        open_stream(
            "-".to_string(),
            bytes[..cut].to_vec(),
            Box::new(Cursor::new(bytes[cut..].to_vec())),
            filter,
        )
    }

    #[test]
    fn stream_pcap_through_libpcap() {
        let bytes = pcap_file(65535, 1, &[(1, 0, &eth_tcp(443)), (2, 0, &eth_tcp(80))]);
        let mut reader = stream(&bytes, None).expect("open");
        let (frames, error) = drain(&mut reader);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].offset_after, bytes.len() as u64);

        let mut reader = stream(&bytes, Some("tcp port 80")).expect("open");
        let (frames, error) = drain(&mut reader);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].data, eth_tcp(80));
    }

    #[test]
    fn stream_pcap_truncated_packet_data() {
        let mut bytes = pcap_file(65535, 1, &[(1, 0, &eth_tcp(443)), (2, 0, &eth_tcp(80))]);
        bytes.truncate(bytes.len() - 10);
        let mut reader = stream(&bytes, None).expect("open");
        let (frames, error) = drain(&mut reader);
        assert_eq!(frames.len(), 1);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 24 + 16 + 54);
        assert_eq!(
            what,
            "file ends in the middle of a packet record: 44 of 54 bytes (libpcap: truncated dump \
             file; tried to read 54 captured bytes, only got 44)"
        );
    }

    #[test]
    fn stream_pcap_truncated_record_header() {
        let mut bytes = PCAP_US_LE.to_vec();
        bytes.extend([0x02, 0xe1, 0xf5]);
        let mut reader = stream(&bytes, None).expect("open");
        let (frames, error) = drain(&mut reader);
        assert_eq!(frames.len(), 2);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 62);
        assert_eq!(
            what,
            "file ends in the middle of a record header: 3 of 16 bytes (libpcap: truncated dump \
             file; tried to read 16 header bytes, only got 3)"
        );
    }

    #[test]
    fn stream_pcap_caplen_larger_than_snaplen() {
        // libpcap alone would cut the 100-byte record to 64 bytes and go on.
        let long = [0x11; 100];
        let bytes = pcap_file(64, 1, &[(1, 0, &[1, 2]), (2, 0, &long), (3, 0, &[3])]);
        let mut reader = stream(&bytes, None).expect("open");
        let (frames, error) = drain(&mut reader);
        assert_eq!(frames.len(), 1);
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 42);
        assert_eq!(
            what,
            "record header says 100 captured bytes, more than the 64-byte snaplen"
        );
    }

    #[test]
    fn stream_pcap_truncated_file_header() {
        let error = stream(&PCAP_US_LE[..10], None).err();
        let (offset, what) = expect_corrupt(error);
        assert_eq!(offset, 0);
        assert!(
            what.starts_with("libpcap cannot read the file header: "),
            "{what}"
        );
    }

    #[test]
    fn stream_reader_dropped_early_does_not_hang() {
        let frame = eth_tcp(80);
        let records: Vec<(u32, u32, &[u8])> = (0..5000).map(|i| (i, 0, &frame[..])).collect();
        let bytes = pcap_file(65535, 1, &records); // more than a pipe holds
        let mut reader = stream(&bytes, None).expect("open");
        assert!(matches!(reader.next_packet(), Ok(Some(_))));
        drop(reader);
    }

    #[test]
    fn stream_pcapng() {
        let mut reader = stream(PCAPNG_MINIMAL, None).expect("open");
        let (frames, error) = drain(&mut reader);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].offset_after, 84);
    }

    #[test]
    fn stream_not_a_capture() {
        for (bytes, found) in [
            (&b"hello world"[..], "starts with 68 65 6c 6c"),
            (&b""[..], "it is empty"),
        ] {
            let error = stream(bytes, None).err();
            assert!(
                matches!(&error, Some(CaptureError::NotACapture { path, found: f }) if path == "-" && f == found),
                "{error:?}"
            );
        }
    }

    #[test]
    fn reader_is_send() {
        fn send<T: Send>() {}
        send::<Reader>();
    }

    // -----------------------------------------------------------------------------------------
    // discover

    fn no_stdin() -> io::Result<Vec<u8>> {
        panic!("standard input read")
    }

    #[test]
    fn discover_orders_by_first_packet_not_by_name() {
        let dir = Temp(temp_path("order"));
        fs::create_dir(&dir.0).expect("mkdir");
        // a.pcap starts later than b.pcapng.
        let a = dir.0.join("a.pcap");
        let a_bytes = pcap_file(65535, 1, &[(200, 5, &[1])]);
        fs::write(&a, &a_bytes).expect("write");
        let b = dir.0.join("b.pcapng");
        fs::write(&b, PCAPNG_MINIMAL).expect("write"); // first packet at 1 s
        let found = discover_with(&[a.clone(), b.clone()], &mut no_stdin);
        assert!(found.errors.is_empty(), "{:?}", found.errors);
        let got: Vec<_> = found
            .inputs
            .iter()
            .map(|i| (i.path.clone(), i.format, i.size, i.first_ts_ns))
            .collect();
        assert_eq!(
            got,
            [
                (b, Format::Pcapng, Some(84), Some(1_000_000_000)),
                (
                    a,
                    Format::Pcap,
                    Some(a_bytes.len() as u64),
                    Some(200_000_005_000)
                ),
            ]
        );
    }

    #[test]
    fn discover_walks_directories_by_content() {
        let dir = Temp(temp_path("tree"));
        fs::create_dir_all(dir.0.join("sub")).expect("mkdir");
        fs::write(dir.0.join("notes.txt"), "not a capture\n").expect("write");
        fs::write(dir.0.join("empty"), "").expect("write");
        let capture = dir.0.join("sub").join("capture.bin"); // no telling extension
        fs::write(&capture, pcap_file(65535, 1, &[(5, 0, &[1])])).expect("write");
        let ng = dir.0.join("a.pcapng");
        fs::write(&ng, PCAPNG_MINIMAL).expect("write");
        let found = discover_with(std::slice::from_ref(&dir.0), &mut no_stdin);
        assert!(found.errors.is_empty(), "{:?}", found.errors);
        let paths: Vec<_> = found.inputs.iter().map(|i| i.path.clone()).collect();
        assert_eq!(paths, [ng, capture]);
        assert_eq!(
            found.skipped_non_captures,
            [dir.0.join("empty"), dir.0.join("notes.txt")]
        );
    }

    #[test]
    fn discover_puts_empty_captures_first_in_argument_order() {
        let full = temp_file("full.pcap", &pcap_file(65535, 1, &[(1, 0, &[1])]));
        let empty1 = temp_file("empty1.pcap", &pcap_file(65535, 1, &[]));
        let empty2 = temp_file("empty2.pcapng", &concat(&[LE.shb(), LE.idb(1, 0, &[])]));
        let args = [full.0.clone(), empty2.0.clone(), empty1.0.clone()];
        let found = discover_with(&args, &mut no_stdin);
        assert!(found.errors.is_empty(), "{:?}", found.errors);
        let got: Vec<_> = found
            .inputs
            .iter()
            .map(|i| (i.path.clone(), i.first_ts_ns))
            .collect();
        assert_eq!(
            got,
            [
                (empty2.0.clone(), None),
                (empty1.0.clone(), None),
                (full.0.clone(), Some(1_000_000_000)),
            ]
        );
    }

    #[test]
    fn discover_reports_bad_explicit_inputs() {
        let zip = temp_file("archive.pcap", b"PK\x03\x04\x14\x00\x00\x00");
        let good = temp_file("good.pcap", PCAP_US_LE);
        let missing = temp_path("missing.pcap");
        let args = [zip.0.clone(), missing.clone(), good.0.clone()];
        let found = discover_with(&args, &mut no_stdin);
        assert_eq!(found.inputs.len(), 1);
        assert_eq!(found.inputs[0].path, good.0);
        let messages: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages[0],
            format!(
                "{}: not a pcap or pcapng capture (starts with 50 4b 03 04); give flowaudit \
                 .pcap or .pcapng files",
                zip.0.display()
            )
        );
        assert!(
            messages[1].starts_with(&format!("{}: cannot open: ", missing.display())),
            "{}",
            messages[1]
        );
        assert_eq!(messages.len(), 2);
    }

    #[test]
    fn discover_keeps_damaged_captures_for_the_reader() {
        let short = temp_file("short.pcap", &PCAP_US_LE[..10]);
        let found = discover_with(std::slice::from_ref(&short.0), &mut no_stdin);
        assert!(found.errors.is_empty());
        assert_eq!(found.inputs.len(), 1);
        assert_eq!(found.inputs[0].first_ts_ns, None);
        assert!(matches!(
            Reader::open(&found.inputs[0], None),
            Err(CaptureError::Corrupt { offset: 0, .. })
        ));
    }

    #[test]
    fn discover_reads_stdin_once() {
        let late = temp_file("late.pcap", PCAP_US_LE);
        let mut peeks = 0;
        let mut peek = || {
            peeks += 1;
            Ok(PCAPNG_MAGIC.to_vec())
        };
        let args = [late.0.clone(), PathBuf::from("-"), PathBuf::from("-")];
        let found = discover_with(&args, &mut peek);
        assert_eq!(peeks, 1);
        let got: Vec<_> = found
            .inputs
            .iter()
            .map(|i| (i.path.clone(), i.format, i.size))
            .collect();
        assert_eq!(
            got,
            [
                (PathBuf::from("-"), Format::Pcapng, None),
                (late.0.clone(), Format::Pcap, Some(62)),
            ]
        );
        assert_eq!(
            found
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["-: standard input can be read only once; give `-` at most once"]
        );

        let found = discover_with(&[PathBuf::from("-")], &mut || Ok(b"GET ".to_vec()));
        assert!(found.inputs.is_empty());
        assert_eq!(
            found.errors[0].to_string(),
            "-: not a pcap or pcapng capture (starts with 47 45 54 20); give flowaudit .pcap or \
             .pcapng files"
        );
    }
}
