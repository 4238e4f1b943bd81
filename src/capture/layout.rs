//! The on-disk layout the readers share: where the fields of a pcap file are, the magic numbers
//! that tell the formats apart, and byte order.

use std::fmt::Write as _;
use std::ops::Range;

use super::Format;

/// Byte ranges of the on-disk structures, relative to the start of the structure (pcapng's are
/// in `pcapng`).
// The whole layout is written down, including fields this module does not read.
#[allow(dead_code)]
pub(super) mod field {
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
}

/// The magic number at the start of a pcapng file, as it appears in the file (pcap's are in
/// [`PcapMagic::sniff`]).
pub(super) const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Largest frame libpcap accepts for most link types, bytes; stands in for a snaplen of 0.
pub(super) const MAX_SNAPLEN: u32 = 262_144;

pub(super) const NS_PER_SEC: i64 = 1_000_000_000;

/// Byte order of a pcap file or a pcapng section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endian {
    Little,
    Big,
}

impl Endian {
    /// Reads a u16 at `at`; 0 if `bytes` is too short (callers check lengths first).
    pub(super) fn u16(self, bytes: &[u8], at: Range<usize>) -> u16 {
        let Some(b) = bytes.get(at).and_then(|b| <[u8; 2]>::try_from(b).ok()) else {
            return 0;
        };
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    /// Reads a u32 at `at`; 0 if `bytes` is too short (callers check lengths first).
    pub(super) fn u32(self, bytes: &[u8], at: Range<usize>) -> u32 {
        let Some(b) = bytes.get(at).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
            return 0;
        };
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// Reads an i32 at `at`; 0 if `bytes` is too short.
    pub(super) fn i32(self, bytes: &[u8], at: Range<usize>) -> i32 {
        i32::from_ne_bytes(self.u32(bytes, at).to_ne_bytes())
    }

    /// Reads an i64 at `at`; 0 if `bytes` is too short.
    pub(super) fn i64(self, bytes: &[u8], at: Range<usize>) -> i64 {
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
pub(super) struct PcapMagic {
    pub(super) endian: Endian,
    /// The fraction field of a record timestamp counts ns (else µs).
    pub(super) nanos: bool,
    /// Length of each record header, bytes.
    pub(super) record_header_len: usize,
}

impl PcapMagic {
    pub(super) fn sniff(head: &[u8]) -> Option<PcapMagic> {
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
    pub(super) fn record_ts_ns(self, record: &[u8]) -> i64 {
        let sec = i64::from(self.endian.i32(record, field::pcap::TS_SEC));
        let frac = i64::from(self.endian.i32(record, field::pcap::TS_FRAC));
        let frac_ns = if self.nanos { frac } else { frac * 1000 };
        sec * NS_PER_SEC + frac_ns
    }
}

/// Decides the format from the first four bytes; None: not a capture.
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    if head.get(0..4) == Some(&PCAPNG_MAGIC[..]) {
        Some(Format::Pcapng)
    } else if PcapMagic::sniff(head).is_some() {
        Some(Format::Pcap)
    } else {
        None
    }
}

/// What a non-capture starts with, for the NotACapture message.
pub(super) fn describe_head(head: &[u8]) -> String {
    if head.is_empty() {
        return "it is empty".to_string();
    }
    format!("starts with {}", hex(&head[..head.len().min(4)]))
}

/// Bytes as lowercase hex pairs separated by spaces.
pub(super) fn hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}
