//! The pcapng reader.
//!
//! pcapng is read here rather than by libpcap because libpcap cannot read a pcapng file whose
//! interfaces have different link types. With libpcap 1.10, a file made by `mergecap -F pcapng`
//! from an Ethernet capture and a raw-IP capture opens, but reading stops at the first packet of
//! the second interface with `an interface has a type 101 different from the type of the first
//! interface` (the test `libpcap_refuses_mixed_link_type_pcapng` keeps that claim checked).

use std::io::{self, BufReader, Read};
use std::ops::Range;

use super::filter::{PacketFilter, compile, dlt_for_linktype, note_linktype};
use super::layout::{Endian, NS_PER_SEC, PCAPNG_MAGIC, hex};
use super::{Fault, PacketSource, RawPacket, corrupt, read_up_to};

/// Byte ranges of the pcapng structures, relative to the start of the structure.
// The whole layout is written down, including fields this module does not read.
#[allow(dead_code)]
mod field {
    pub type Field = core::ops::Range<usize>;

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

/// pcapng block types.
pub(super) const BLOCK_SHB: u32 = 0x0A0D_0D0A;
pub(super) const BLOCK_IDB: u32 = 1;
pub(super) const BLOCK_PB: u32 = 2;
pub(super) const BLOCK_SPB: u32 = 3;
pub(super) const BLOCK_EPB: u32 = 6;

/// pcapng option codes.
pub(super) const OPT_ENDOFOPT: u16 = 0;
pub(super) const OPT_IF_TSRESOL: u16 = 9;
pub(super) const OPT_IF_TSOFFSET: u16 = 14;

/// Largest pcapng block this module reads into memory, bytes. Blocks it only skips may be longer.
const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

/// Appends up to `n` bytes from `src` to `buf`; returns the number appended (< n: end of input).
/// Grows `buf` only as data arrives, so a length field that lies costs no more than the file.
fn append_up_to(src: &mut impl Read, buf: &mut Vec<u8>, n: usize) -> io::Result<usize> {
    src.take(n as u64).read_to_end(buf)
}

/// Units of an interface's timestamps (if_tsresol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TsResol {
    /// 10^-n seconds.
    Decimal(u8),
    /// 2^-n seconds.
    Binary(u8),
}

impl TsResol {
    /// Decodes the if_tsresol byte: high bit clear = 10^-n, set = 2^-n.
    pub(super) fn from_option(byte: u8) -> TsResol {
        if byte & 0x80 == 0 {
            TsResol::Decimal(byte)
        } else {
            TsResol::Binary(byte & 0x7f)
        }
    }

    /// Converts a timestamp in these units, plus `offset_s` seconds, to ns since the epoch.
    /// Integer math only; the result saturates at the ends of i64.
    pub(super) fn to_ns(self, ts: u64, offset_s: i64) -> i64 {
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
pub(super) struct Meta {
    pub(super) data: Range<usize>,
    pub(super) ts_ns: i64,
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
pub(super) struct PcapngReader {
    src: BufReader<Box<dyn Read + Send>>,
    /// Bytes consumed: the offset of the next block.
    pub(super) offset: u64,
    /// The current block, from its type field on.
    pub(super) buf: Vec<u8>,
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
    pub(super) fn new(
        src: Box<dyn Read + Send>,
        filter: Option<&str>,
        buffer: usize,
    ) -> PcapngReader {
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

    /// Reads blocks up to the next frame that passes the filter.
    pub(super) fn next_meta(&mut self) -> Result<Option<Meta>, Fault> {
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

impl PacketSource for PcapngReader {
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, Fault> {
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

    fn offset(&self) -> u64 {
        self.offset
    }

    fn link_types(&self) -> &[u32] {
        &self.link_types
    }
}
