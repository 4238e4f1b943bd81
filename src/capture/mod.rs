//! Capture stage: finds capture files, opens them, and yields raw frames in file order.
//!
//! The only module that touches libpcap (live capture and BPF filters, through the pcap crate);
//! `ffi` is the only module of the crate with `unsafe` code.
//!
//! # Formats
//!
//! Both formats are read by this module's own readers, which name the byte offset of a damaged
//! record or block in their errors.
//!
//! * **pcap** (libpcap savefiles, magic `a1b2c3d4`, `a1b23c4d` or the "patched" `a1b2cd34`, in
//!   either byte order) by `pcap_file`, through one large buffer whose slices are the frames
//!   handed out; it gives the frames, timestamps (in ns whatever the file stores) and link type
//!   libpcap gives.
//! * **pcapng** by `pcapng`, because libpcap cannot read a pcapng file whose interfaces have
//!   different link types.
//! * **standard input** (`-`): the first four bytes decide; the reader of that format reads
//!   them and then the rest of standard input (`stdin`), so `tcpdump -w - | flowaudit flows -`
//!   works.
//!
//! A BPF expression given with `--filter` is compiled by libpcap and run here on every frame,
//! for both formats (`filter`).
//!
//! # Parts
//!
//! * `discover`: expands the arguments into [`Input`]s, sniffing each file's format.
//! * [`Reader`] (`reader`): reads one input, whatever its format, through a `PacketSource`
//!   (`source`), the interface every kind of input implements.
//! * `pcap_file` and `pcapng`: the two sources.
//! * `stdin`: the first bytes of standard input, kept for the reader.
//! * `layout`: the on-disk layout shared by the readers (byte ranges, magic numbers, byte order).
//! * `filter`: BPF filters. `ffi`: the `unsafe` registration of a live capture with tokio.

mod discover;
mod ffi;
mod filter;
mod layout;
pub mod live;
mod pcap_file;
mod pcapng;
mod reader;
pub mod savefile;
mod source;
mod stdin;
#[cfg(test)]
mod tests;

pub use discover::{Discovery, discover};

/// Standard input from its first byte: what discovery took to look at it, then the rest (for
/// a reader of another kind of input, such as flow records).
pub fn stdin_from_start() -> std::io::Result<impl std::io::Read + Send> {
    use std::io::Read as _;
    let head = stdin::take_stdin_head()?;
    Ok(std::io::Cursor::new(head).chain(std::io::stdin()))
}
pub use filter::check_filter;
pub use reader::Reader;
pub(crate) use source::PacketSource;

use std::io::{self, Read};
use std::path::PathBuf;

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

/// One capture input, found by [`discover()`].
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
    #[error(
        "no permission to capture on {interface} ({message}): run flowaudit as root, or grant it the capture capability once with `sudo setcap cap_net_raw,cap_net_admin=eip {exe}`"
    )]
    Permission {
        interface: String,
        message: String,
        /// The flowaudit executable, for the `setcap` line.
        exe: String,
    },
    #[error(
        "no interface named '{interface}'; the interfaces are: {known} (`flowaudit interfaces` lists them with their addresses and state)"
    )]
    NoInterface { interface: String, known: String },
}

/// A problem found while reading, before the path is attached (the [`Reader`] attaches it).
#[derive(Debug)]
pub(crate) enum Fault {
    Corrupt { offset: u64, what: String },
    Io { offset: u64, error: io::Error },
}

impl Fault {
    pub(crate) fn into_error(self, path: &str) -> CaptureError {
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

/// The pcapng reader's buffer: 64 KiB, small enough to stay in the core's cache between the
/// kernel's copy and the decoder.
const READ_BUFFER: usize = 1 << 16;

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

/// Message of a libpcap error without the crate's "libpcap error: " prefix.
fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(message) => message.clone(),
        pcap::Error::InvalidInputString => "it contains a NUL byte".to_string(),
        other => other.to_string(),
    }
}
