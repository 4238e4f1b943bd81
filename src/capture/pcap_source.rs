//! pcap files and streams, read by libpcap.
//!
//! libpcap does not say where in the file a record is: the byte offset of every record is
//! tracked here (24-byte file header, then record header plus captured bytes per record), so
//! that an error names the record that is damaged.
//!
//! # Records longer than the snaplen
//!
//! libpcap silently cuts a pcap record longer than the file's snaplen down to the snaplen, which
//! would throw the byte offsets off. Such a record is reported as corrupt instead: in a file, a
//! record that comes back as long as the snaplen has its header read again through a second
//! handle; on standard input, the thread that feeds libpcap checks every record header on the
//! way and stops before a bad one (see `stdin`).

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::thread;

use super::ffi::Libpcap;
use super::filter::{PacketFilter, compile, note_linktype};
use super::layout::{MAX_SNAPLEN, NS_PER_SEC, PcapMagic, describe_head, field};
use super::stdin::{Verdict, pump};
use super::{CaptureError, Fault, PacketSource, RawPacket, corrupt, pcap_message, read_up_to};

/// Describes a record that claims more bytes than the file allows.
pub(super) fn too_long(claimed: u32, snaplen: u32) -> String {
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

/// A pcap input read by libpcap.
pub(super) struct PcapSource {
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
    pub(super) fn open_file(
        path: &Path,
        shown: &str,
        filter: Option<&str>,
    ) -> Result<Self, CaptureError> {
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
    pub(super) fn open_stream(
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

impl PacketSource for PcapSource {
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, Fault> {
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

    fn offset(&self) -> u64 {
        self.place.offset
    }

    fn link_types(&self) -> &[u32] {
        &self.link_types
    }
}

/// Timestamp of a frame from libpcap, ns (the capture was opened with nanosecond precision, so
/// `tv_usec` holds nanoseconds).
// time_t and suseconds_t are i64 on 64-bit Linux but may be narrower elsewhere.
#[allow(clippy::useless_conversion)]
pub(super) fn pcap_ts_ns(header: &pcap::PacketHeader) -> i64 {
    let sec = i64::from(header.ts.tv_sec);
    let frac = i64::from(header.ts.tv_usec);
    sec.saturating_mul(NS_PER_SEC).saturating_add(frac)
}
