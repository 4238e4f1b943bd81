//! Classic pcap files and streams, read by this module from any byte stream (a file, standard
//! input, bytes in memory).
//!
//! The input is read through one buffer of [`BUFFER`] bytes with large `read` calls. Record
//! headers are parsed where they lie in the buffer and every frame is handed out as a slice of
//! it: no record is copied, nothing is allocated per frame. When a record runs past the end of
//! what the buffer holds, the bytes of that partial record (less than one record) move to the
//! front and the rest of the buffer is filled from the input.
//!
//! # As libpcap reads it
//!
//! flowaudit read these files with libpcap before; this reader gives the same frames, link type
//! and timestamps (a test compares both on every committed pcap fixture):
//!
//! * the six magics of [`PcapMagic`] (µs or ns, either byte order, the "patched" 24-byte record
//!   header);
//! * format versions 2.0 to 2.4 and 543.0; before 2.3 (and in 543.0) the captured and wire
//!   lengths are stored the other way round, and in 2.3 they are when the captured length is
//!   the larger;
//! * the link type is the DLT_* number libpcap maps the file's LINKTYPE_* number to
//!   ([`dlt_of_file`]), after libpcap's mask (`LT_LINKTYPE`: the upper 6 bits hold the FCS
//!   length and a reserved bit, which libpcap sets aside);
//! * the snapshot length is the file header's, or 262144 bytes when that is 0 or more; 14 more
//!   for Ethernet in the patched format (libpcap assumes a cooked capture given a fake Ethernet
//!   header);
//! * in a file of the other byte order than this machine's, the TLV headers of NFLOG frames are
//!   turned to this machine's order, as libpcap does.
//!
//! # Checks
//!
//! Every way a file can be damaged is a [`Fault`] naming the byte offset of the record (or the
//! file header) and what is wrong with it: a file header shorter than 24 bytes or of a version
//! no reader knows, a file ending inside a record header or a record, a record longer than the
//! snapshot length. libpcap cuts a record longer than the snaplen down to it without a word
//! (unless it is longer than 262144 bytes) and goes on, which hides a damaged file; this reader
//! stops there instead.
//!
//! Where this reader differs from libpcap on purpose: libpcap allows records up to 128 MiB for
//! D-Bus (231), 8 MiB for EBHSCR (279) and 1 MiB for USBPcap (249), none of which flowaudit
//! decodes; here 262144 bytes is the limit for every link type, so that the buffer has a fixed
//! size. libpcap also turns the headers of Linux USB frames (189, 220) to this machine's byte
//! order; flowaudit does not decode them, and hands them out as stored.

use std::io::{self, Read};

use super::filter::{PacketFilter, compile, note_linktype};
use super::layout::{Endian, MAX_SNAPLEN, PcapMagic, describe_head, field};
use super::{CaptureError, Fault, PacketSource, RawPacket, corrupt};

/// Size of the read buffer, bytes: the reader's memory, whatever the input's length. On the
/// benchmark capture (2.7 GB, 10 alternating runs of each size on a loaded 2-core machine), 1 MiB
/// gave the shortest median time (2.59 s); 256 KiB 2.99 s, 2 MiB 2.90 s, 4 MiB more still, with
/// more time in the kernel.
pub(super) const BUFFER: usize = 1 << 20;

/// The longest record a file may hold: patched header, then the largest snapshot (262144 + 14).
const MAX_RECORD: usize = field::pcap::PATCHED_RECORD_HEADER_LEN + MAX_SNAPLEN as usize + 14;

const _: () = assert!(BUFFER >= MAX_RECORD);

/// libpcap's `LT_LINKTYPE` (1.10): the bits of the file header's link-type field that hold the
/// link type. The upper 6: FCS length (4 bits), whether it is given (1 bit), reserved (1 bit),
/// which libpcap keeps apart (`pcap_datalink_ext`) and flowaudit does not use.
const LT_LINKTYPE_MASK: u32 = 0x03ff_ffff;

/// DLT_EN10MB.
const DLT_EN10MB: u32 = 1;
/// DLT_NFLOG.
const DLT_NFLOG: u32 = 239;
/// LINKTYPE_ATM_CLIP, and the DLT_ATM_CLIP libpcap maps it to on Linux.
const LINKTYPE_ATM_CLIP: u32 = 106;
const DLT_ATM_CLIP: u32 = 19;

/// The link type libpcap reports for a file whose header's link-type field is `field`: the
/// DLT_* number of its LINKTYPE_* number (libpcap's `linktype_to_dlt(LT_LINKTYPE(field))`).
/// Only a few differ: those of the registry (raw IP 101 is DLT_RAW 12, ...) and ATM CLIP, which
/// flowaudit does not decode.
pub(super) fn dlt_of_file(field: u32) -> u32 {
    let linktype = field & LT_LINKTYPE_MASK;
    if linktype == LINKTYPE_ATM_CLIP {
        return DLT_ATM_CLIP;
    }
    u32::try_from(crate::decode::linktype::dlt_for_linktype(linktype)).unwrap_or(linktype)
}

/// Describes a record that claims more bytes than the file allows.
pub(super) fn too_long(claimed: u32, snaplen: u32) -> String {
    let limit = if snaplen == 0 {
        format!("{MAX_SNAPLEN}-byte maximum")
    } else {
        format!("{snaplen}-byte snaplen")
    };
    format!("record header says {claimed} captured bytes, more than the {limit}")
}

/// Where the captured and wire lengths are in a record header (libpcap's `lengths_swapped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lengths {
    /// As the layout says (version 2.4).
    InPlace,
    /// The other way round (before 2.3, and 543.0).
    Swapped,
    /// The other way round when the captured length comes out larger than the wire length
    /// (2.3).
    MaybeSwapped,
}

/// A pcap input read by this module.
pub(super) struct PcapFile {
    src: Box<dyn Read + Send>,
    /// The read buffer; `buf[start..end]` holds input not yet handed out.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// The input has ended (a read returned 0).
    eof: bool,
    /// Byte offset in the input of `buf[start]`: the next record.
    offset: u64,
    magic: PcapMagic,
    lengths: Lengths,
    /// The most bytes a record may hold (libpcap's snapshot length).
    snapshot: u32,
    /// The file header's snaplen, for messages (0: none given, or more than the maximum).
    snaplen: u32,
    /// libpcap's link type for the file (a DLT_* number).
    linktype: u32,
    /// NFLOG TLV headers must be turned to this machine's byte order.
    swap_nflog: bool,
    filter: PacketFilter,
    link_types: Vec<u32>,
}

impl PcapFile {
    /// Reads the file header from `src`; `shown` names the input in errors.
    pub(super) fn open(
        shown: &str,
        src: Box<dyn Read + Send>,
        filter: Option<&str>,
    ) -> Result<Self, CaptureError> {
        let mut reader = PcapFile {
            src,
            buf: vec![0u8; BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
            magic: PcapMagic {
                endian: Endian::Little,
                nanos: false,
                record_header_len: field::pcap::RECORD_HEADER_LEN,
            },
            lengths: Lengths::InPlace,
            snapshot: MAX_SNAPLEN,
            snaplen: 0,
            linktype: 0,
            swap_nflog: false,
            filter: PacketFilter::All,
            link_types: Vec::new(),
        };
        reader.file_header(filter).map_err(|e| match e {
            Opened::NotPcap(found) => CaptureError::NotACapture {
                path: shown.to_string(),
                found,
            },
            Opened::Fault(fault) => fault.into_error(shown),
        })?;
        Ok(reader)
    }

    fn file_header(&mut self, filter: Option<&str>) -> Result<(), Opened> {
        use field::pcap::*;
        self.fill(FILE_HEADER_LEN).map_err(Opened::Fault)?;
        let head = &self.buf[..self.end];
        let Some(magic) = PcapMagic::sniff(head) else {
            return Err(Opened::NotPcap(describe_head(&head[..head.len().min(4)])));
        };
        // Reject: no room for the version, snaplen and link type.
        if head.len() < FILE_HEADER_LEN {
            return Err(Opened::Fault(corrupt(
                0,
                format!(
                    "file ends in the middle of the {FILE_HEADER_LEN}-byte pcap file header: {} \
                     bytes",
                    head.len()
                ),
            )));
        }
        let major = magic.endian.u16(head, VERSION_MAJOR);
        let minor = magic.endian.u16(head, VERSION_MINOR);
        self.lengths = match (major, minor) {
            (2, 0..=2) | (543, 0) => Lengths::Swapped,
            (2, 3) => Lengths::MaybeSwapped,
            (2, 4) => Lengths::InPlace,
            // Reject: libpcap reads versions 2.0 to 2.4 and DG/UX's 543.0, nothing else.
            _ => {
                return Err(Opened::Fault(corrupt(
                    0,
                    format!(
                        "pcap file header says format version {major}.{minor}; the versions \
                         are 2.0 to 2.4 (and 543.0)"
                    ),
                )));
            }
        };
        let snaplen = magic.endian.u32(head, SNAPLEN);
        self.linktype = dlt_of_file(magic.endian.u32(head, LINKTYPE));
        // libpcap's pcap_adjust_snapshot: 0 or more than the maximum is the maximum.
        (self.snaplen, self.snapshot) = if snaplen == 0 || snaplen > MAX_SNAPLEN {
            (0, MAX_SNAPLEN)
        } else {
            (snaplen, snaplen)
        };
        if magic.record_header_len == PATCHED_RECORD_HEADER_LEN && self.linktype == DLT_EN10MB {
            self.snapshot += 14;
        }
        let native = if cfg!(target_endian = "little") {
            Endian::Little
        } else {
            Endian::Big
        };
        self.swap_nflog = self.linktype == DLT_NFLOG && magic.endian != native;
        self.magic = magic;
        self.start = FILE_HEADER_LEN;
        self.offset = FILE_HEADER_LEN as u64;
        let dlt = i32::try_from(self.linktype).unwrap_or(-1);
        self.filter = PacketFilter::new(filter, |expr| compile(expr, dlt));
        Ok(())
    }

    /// Reads until the buffer holds at least `want` bytes (at most one record) from `start` on,
    /// or the input ends. What is left of the buffer (part of one record) moves to its front
    /// first, so that every read can fill the rest of it.
    #[cold]
    fn fill(&mut self, want: usize) -> Result<(), Fault> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < want && !self.eof {
            let free = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.src.read(free) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    return Err(Fault::Io {
                        offset: self.offset,
                        error,
                    });
                }
            }
        }
        Ok(())
    }

    /// Parses the next record; Ok(None) at a clean end. Returns where its frame is in the
    /// buffer, its timestamp and its wire length, and moves past it.
    #[inline]
    fn next_record(&mut self) -> Result<Option<(usize, usize, i64, u32)>, Fault> {
        let want = self.magic.record_header_len;
        if self.end - self.start < want {
            self.fill(want)?;
            let got = self.end - self.start;
            // Accept: the input ends between records.
            if got == 0 {
                return Ok(None);
            }
            // Reject: the input ends inside a record header.
            if got < want {
                return Err(corrupt(
                    self.offset,
                    format!("file ends in the middle of a record header: {got} of {want} bytes"),
                ));
            }
        }
        let header = self
            .buf
            .get(self.start..self.start + want)
            .unwrap_or_default();
        let endian = self.magic.endian;
        let mut caplen = endian.u32(header, field::pcap::CAPLEN);
        let mut wire_len = endian.u32(header, field::pcap::ORIG_LEN);
        let ts_ns = self.magic.record_ts_ns(header);
        match self.lengths {
            Lengths::InPlace => {}
            Lengths::MaybeSwapped if caplen <= wire_len => {}
            Lengths::Swapped | Lengths::MaybeSwapped => {
                std::mem::swap(&mut caplen, &mut wire_len);
            }
        }
        // Reject: more bytes than the file allows per frame (libpcap cuts a record longer than
        // the snaplen short and says nothing, which would lose the record boundaries).
        if caplen > self.snapshot {
            return Err(corrupt(self.offset, too_long(caplen, self.snaplen)));
        }
        let record = want + caplen as usize;
        if self.end - self.start < record {
            self.fill(record)?;
            let present = (self.end - self.start).saturating_sub(want);
            // Reject: the input ends inside the frame.
            if present < caplen as usize {
                return Err(corrupt(
                    self.offset,
                    format!(
                        "file ends in the middle of a packet record: {present} of {caplen} bytes"
                    ),
                ));
            }
        }
        let data = self.start + want;
        self.start += record;
        self.offset += record as u64;
        Ok(Some((data, self.start, ts_ns, wire_len)))
    }
}

/// Why a pcap input could not be opened.
enum Opened {
    /// It does not start with a pcap magic: what it starts with.
    NotPcap(String),
    Fault(Fault),
}

impl PacketSource for PcapFile {
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, Fault> {
        let linktype = self.linktype;
        let (data, ts_ns, wire_len) = loop {
            let Some((from, to, ts_ns, wire_len)) = self.next_record()? else {
                return Ok(None);
            };
            note_linktype(&mut self.link_types, linktype);
            if self.swap_nflog {
                swap_nflog_tlvs(self.buf.get_mut(from..to).unwrap_or_default(), wire_len);
            }
            if let PacketFilter::All = self.filter {
                break (from..to, ts_ns, wire_len);
            }
            if self
                .filter
                .matches(self.buf.get(from..to).unwrap_or_default())
            {
                break (from..to, ts_ns, wire_len);
            }
        };
        Ok(Some(RawPacket {
            ts_ns,
            data: self.buf.get(data).unwrap_or_default(),
            wire_len,
            linktype,
        }))
    }

    fn offset(&self) -> u64 {
        self.offset
    }

    fn link_types(&self) -> &[u32] {
        &self.link_types
    }
}

/// NFLOG frame: the 4-byte header (family, version, resource id) before the TLVs.
const NFLOG_HEADER_LEN: usize = 4;
/// NFLOG TLV header: length (u16, header included), then type (u16), in the capturing host's
/// byte order.
const NFLOG_TLV_HEADER_LEN: usize = 4;

/// Turns the TLV headers of an NFLOG frame written on a host of the other byte order to this
/// machine's, as libpcap's `swap_nflog_header` does: TLV by TLV (lengths rounded up to 4), while
/// a whole TLV is captured and within the wire length.
fn swap_nflog_tlvs(frame: &mut [u8], wire_len: u32) {
    let caplen = frame.len();
    let wire_len = wire_len as usize;
    // Accept unchanged: too short for any TLV, or an NFLOG version libpcap does not know.
    if caplen < NFLOG_HEADER_LEN || wire_len < NFLOG_HEADER_LEN || frame.get(1) != Some(&0) {
        return;
    }
    let mut at = NFLOG_HEADER_LEN;
    let mut wire_left = wire_len - NFLOG_HEADER_LEN;
    while let Some(tlv) = frame.get_mut(at..at + NFLOG_TLV_HEADER_LEN) {
        tlv.swap(0, 1);
        tlv.swap(2, 3);
        let length = usize::from(u16::from_ne_bytes([tlv[0], tlv[1]]));
        let size = length.next_multiple_of(4);
        let cap_left = caplen - at;
        // Stop: a TLV shorter than its header, or not all there.
        if size < NFLOG_TLV_HEADER_LEN || cap_left < size || wire_left < size {
            return;
        }
        wire_left -= size;
        at += size;
    }
}
