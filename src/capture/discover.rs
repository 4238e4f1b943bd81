//! Discovery: turns the FILE|DIR|- arguments into capture inputs, walking directories and
//! telling captures from other files by their first bytes.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::layout::{PcapMagic, describe_head, field, sniff};
use super::pcapng::PcapngReader;
use super::stdin::peek_stdin;
use super::{CaptureError, Format, Input, read_up_to};

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

/// Expands FILE|DIR|- arguments into capture inputs sorted by first packet timestamp.
///
/// A directory means every capture file below it (recursively, visited in sorted path order),
/// detected by content (magic number), not by name: non-capture files inside a directory are
/// skipped and counted. Symbolic links to files are followed; symbolic links to directories are
/// not (they could loop). A file named explicitly that is not a capture, or cannot be opened, is
/// an error for that input (returned in the error list; the other inputs still proceed). `-` is
/// standard input: it cannot be peeked for a timestamp, so it sorts first; it may appear at most
/// once. Its first 4 bytes are read here to learn its format and are replayed by
/// [`Reader::open`](super::Reader::open).
///
/// Inputs with no packets sort first too (first_ts_ns None). Ties keep argument order.
/// Damage after the magic number is not looked for here: it is reported by the
/// [`Reader`](super::Reader).
pub fn discover(args: &[PathBuf]) -> Discovery {
    discover_with(args, &mut peek_stdin)
}

pub(super) fn discover_with(
    args: &[PathBuf],
    peek: &mut dyn FnMut() -> io::Result<Vec<u8>>,
) -> Discovery {
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
