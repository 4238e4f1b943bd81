//! Standard input (`-`).
//!
//! [`discover`](fn@super::discover) reads the first four bytes of standard input to learn its
//! format, and keeps them here for [`Reader::open`](super::Reader::open) to replay. pcapng is
//! then read by the pcapng reader from the stream; pcap is handed to libpcap through an OS pipe
//! that a thread fills with the kept bytes followed by the rest of standard input (the pump
//! below), so `tcpdump -w - | flowaudit flows -` works. The pump checks every record header on
//! the way, because libpcap would silently cut a record longer than the snaplen.

use std::io::{self, BufReader, Cursor, Read, Write};
use std::sync::{Arc, Mutex};

use super::layout::{PcapMagic, field};
use super::pcap_source::too_long;
use super::{Fault, corrupt, read_up_to};

/// Bytes already taken from standard input by [`discover`](fn@super::discover), for
/// [`Reader::open`](super::Reader::open) to replay.
static STDIN_HEAD: Mutex<Option<Vec<u8>>> = Mutex::new(None);

/// Reads the first 4 bytes of standard input and keeps them for
/// [`Reader::open`](super::Reader::open).
pub(super) fn peek_stdin() -> io::Result<Vec<u8>> {
    let mut head = [0u8; 4];
    let n = read_up_to(&mut io::stdin().lock(), &mut head)?;
    let head = head[..n].to_vec();
    *STDIN_HEAD.lock().unwrap_or_else(|e| e.into_inner()) = Some(head.clone());
    Ok(head)
}

/// The bytes [`discover`](fn@super::discover) took from standard input, or the first 4 bytes if
/// it did not run.
pub(super) fn take_stdin_head() -> io::Result<Vec<u8>> {
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

/// What the stream pump found wrong, for the reader to report.
pub(super) type Verdict = Arc<Mutex<Option<Fault>>>;

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
pub(super) fn pump(
    head: Vec<u8>,
    rest: Box<dyn Read + Send>,
    pipe: io::PipeWriter,
    verdict: &Verdict,
) {
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
