//! NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export messages read into
//! [`Item`]s: one [`HalfFlow`] per flow record ([`Item::Half`]), both directions of an RFC 5103
//! biflow record as one [`Item::Pair`].
//!
//! A [`Collector`] takes one export message at a time, whatever carried it: a UDP datagram
//! received by a [`Listener`], a datagram found in a capture of the export traffic
//! ([`ExportReader`]), or a message of an RFC 5655 IPFIX file ([`IpfixFile`]). It keeps what
//! later messages need: the v9 and IPFIX templates (and options templates) of each exporter
//! and observation domain ([`templates`], at most [`MAX_TEMPLATES`] of them, the oldest
//! defined dropped first), and what options data said about each exporter (sampling, system
//! init time; at most [`MAX_SCOPES`] exporters and domains).
//!
//! # What each version carries
//!
//! * **v5**: fixed 48-byte IPv4 records: addresses, ports, protocol, packets, octets (IP
//!   bytes), the OR of the TCP flags, first and last packet as sysUptime milliseconds
//!   (converted with the header's `unix_secs`, `unix_nsecs` and `sys_uptime`, to the
//!   millisecond), and the header's sampling interval. The observation domain is the header's
//!   engine type and id.
//! * **v9**: what its templates name, of: IPv4 or IPv6 addresses (8, 12, 27, 28), ports (7,
//!   11), protocol (4), packets and octets (2, 1; 86, 85 when the delta counts are missing),
//!   TCP flags (6), VLAN (58), first and last switched (22, 21; sysUptime milliseconds, as v5),
//!   and sampling (34, 50) from options data or the record. The domain is the source id.
//! * **IPFIX**: the same elements, and times as flowStart/End Seconds (150, 151),
//!   Milliseconds (152, 153), Microseconds and Nanoseconds (154-157, NTP format),
//!   DeltaMicroseconds (158, 159, before the export time) or SysUpTime (22, 21, after
//!   `systemInitTimeMilliseconds` (160) of the record or of the exporter's options data);
//!   sampling from options data (samplingInterval 34, samplerRandomInterval 50,
//!   samplingPacketInterval 305 with samplingPacketSpace 306); RFC 5103 biflows (reverse
//!   elements, enterprise 29305) with `biflowDirection` (239) naming the initiator; enterprise
//!   and variable-length elements are read over and ignored.
//!
//! # What they cannot carry
//!
//! * No handshake RTT: a record has counts and first/last times, not packets.
//! * TCP state only from the OR of each direction's TCP flags: an approximation (a SYN and
//!   a FIN were seen, not in which order nor whether they were answered).
//! * Sampled exports count 1 in `sampling` packets: [`HalfFlow::sampling`] carries the rate,
//!   and counts are scaled when halves are paired; what was not sampled is not there at all.
//!   The rate is the record's own sampling element, else the last one the exporter's options
//!   data gave for the domain (one rate per exporter and domain: options data per selector
//!   or sampler id (48, 302) are not told apart), else the v5 header's, else 1.
//! * Times are as precise as the exporter wrote them (v5/v9: milliseconds).
//! * A record without any time element is given the message's export time.
//! * ICMP and other protocols are no TCP/UDP flows: counted as skipped with their reason.
//!
//! # Errors
//!
//! A message that cannot be read (cut header, a count larger than the data, a set longer
//! than the message, a template of length 0, a field longer than its set, ...) is counted
//! malformed with its number (and byte offset in a file) in [`ReadStats`], and the collector
//! goes on with the next one: what the message yielded is dropped whole (templates it defined
//! before the fault are kept). A data set whose template is not known (yet) is counted in
//! [`Counts::unknown_template_sets`], not an error: over UDP the templates come periodically.

mod exports;
mod file;
mod ipfix;
mod listen;
mod record;
pub mod templates;
mod v5;
mod v9;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use super::{HalfFlow, Item, ReadStats};

pub use exports::{ExportReader, ExportStats};
pub use file::IpfixFile;
pub use listen::{ListenStats, Listener};
pub use templates::MAX_TEMPLATES;

/// Exporters and observation domains whose options data (sampling, system init time) is
/// kept; past that, the state of the smallest (exporter, domain) is dropped.
pub const MAX_SCOPES: usize = 1024;

/// Why a flow record is skipped.
pub const SKIP_ICMP: &str = super::SKIP_ICMP;
pub const SKIP_PROTO: &str = "other IP protocol: flow records are TCP or UDP";
pub const SKIP_NO_PROTO: &str = "no protocol: the record names no IP protocol";
pub const SKIP_NO_ADDR: &str = "no addresses: the record names no source and destination";
pub const SKIP_MIXED: &str = "addresses of two IP versions";
pub const SKIP_NO_INIT: &str =
    "sysUpTime times without systemInitTimeMilliseconds: the record's time is unknown";

/// The NetFlow/IPFIX versions, by the first two bytes of a message.
pub const V5: u16 = 5;
pub const V9: u16 = 9;
pub const IPFIX: u16 = 10;

/// Why a message cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetflowError {
    #[error("{what}: {have} bytes, {need} needed")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("version {0} is not NetFlow v5, v9 or IPFIX (10)")]
    Version(u16),
    #[error("v5 count {count} is larger than the data: {fit} records fit")]
    Count { count: u16, fit: usize },
    #[error("IPFIX message length {length} but {have} bytes")]
    Length { length: usize, have: usize },
    #[error("set {set_id} at byte {at}: length {length} {why}")]
    SetLength {
        set_id: u16,
        at: usize,
        length: usize,
        why: &'static str,
    },
    #[error("template {id}: {why}")]
    Template { id: u16, why: &'static str },
    #[error("data set {set_id}: record {record}: a variable-length field is longer than the set")]
    FieldPastSet { set_id: u16, record: usize },
    #[error("cannot read: {0}")]
    Io(String),
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: String, message: String },
}

/// What one message held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageStats {
    pub version: u16,
    /// Flow records that became items (a biflow record is one).
    pub records: u64,
    /// Of them, RFC 5103 biflows ([`Item::Pair`]).
    pub pairs: u64,
    /// Flow records that are no TCP/UDP flow, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// Templates and options templates defined (again).
    pub templates: u64,
    /// Templates refused: more than [`templates::MAX_FIELDS`] fields.
    pub templates_refused: u64,
    /// Templates withdrawn (IPFIX).
    pub withdrawn: u64,
    /// Options data records read (sampling, system init time).
    pub options_records: u64,
    /// Data sets whose template is not known, and their bytes.
    pub unknown_template_sets: u64,
    pub unknown_template_bytes: u64,
    /// Sets with a reserved id (v9 2-255, IPFIX 0, 1, 4-255), read over.
    pub reserved_sets: u64,
}

/// What the collector has seen, besides the [`ReadStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Messages read without fault, by version.
    pub v5: u64,
    pub v9: u64,
    pub ipfix: u64,
    pub pairs: u64,
    pub templates: u64,
    pub templates_refused: u64,
    pub withdrawn: u64,
    /// Templates dropped because [`MAX_TEMPLATES`] were kept.
    pub templates_evicted: u64,
    pub options_records: u64,
    pub unknown_template_sets: u64,
    pub unknown_template_bytes: u64,
    pub reserved_sets: u64,
}

/// What options data said about one exporter and observation domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Scope {
    /// 1 in `sampling` packets counted; 0: not said.
    sampling: u32,
    /// IPFIX systemInitTimeMilliseconds: ms since the epoch.
    sys_init_ms: Option<u64>,
}

/// Reads export messages into items, keeping templates and options data between them.
#[derive(Debug, Default)]
pub struct Collector {
    templates: templates::Cache,
    scopes: BTreeMap<(SocketAddr, u32), Scope>,
    stats: ReadStats,
    counts: Counts,
    /// Messages given so far (the next one's number is this + 1).
    messages: u64,
}

impl Collector {
    pub fn new() -> Collector {
        Collector::default()
    }

    /// Records read, skipped and malformed: `lines` counts messages, `records` and `skipped`
    /// the flow records in them, `malformed` the messages that could not be read (with their
    /// 1-based number in `first_malformed`).
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Templates kept now.
    pub fn templates(&self) -> usize {
        self.templates.len()
    }

    /// Reads one export message from `exporter`, appending its items to `out`. A message that
    /// cannot be read is counted malformed (and returned as the error); `out` is left as it
    /// was.
    pub fn message(
        &mut self,
        exporter: SocketAddr,
        bytes: &[u8],
        out: &mut Vec<Item>,
    ) -> Result<MessageStats, NetflowError> {
        self.message_at(exporter, bytes, None, out)
    }

    /// [`Collector::message`] for a message at byte `offset` of a file, named in the
    /// malformed message's text.
    pub(crate) fn message_at(
        &mut self,
        exporter: SocketAddr,
        bytes: &[u8],
        offset: Option<u64>,
        out: &mut Vec<Item>,
    ) -> Result<MessageStats, NetflowError> {
        self.messages += 1;
        self.stats.lines += 1;
        let mark = out.len();
        let mut ms = MessageStats::default();
        let got = match version(bytes) {
            Err(e) => Err(e),
            Ok(V5) => v5::message(self, exporter, bytes, &mut ms, out),
            Ok(V9) => v9::message(self, exporter, bytes, &mut ms, out),
            Ok(IPFIX) => ipfix::message(self, exporter, bytes, &mut ms, out),
            Ok(v) => Err(NetflowError::Version(v)),
        };
        if let Err(e) = got {
            out.truncate(mark);
            self.malformed(offset, &e);
            return Err(e);
        }
        for item in &out[mark..] {
            self.stats.record(item.start_ns());
        }
        for (why, n) in &ms.skipped {
            *self.stats.skipped.entry(why).or_insert(0) += n;
        }
        let c = &mut self.counts;
        match ms.version {
            V5 => c.v5 += 1,
            V9 => c.v9 += 1,
            _ => c.ipfix += 1,
        }
        c.pairs += ms.pairs;
        c.templates += ms.templates;
        c.templates_refused += ms.templates_refused;
        c.withdrawn += ms.withdrawn;
        c.options_records += ms.options_records;
        c.unknown_template_sets += ms.unknown_template_sets;
        c.unknown_template_bytes += ms.unknown_template_bytes;
        c.reserved_sets += ms.reserved_sets;
        c.templates_evicted = self.templates.evicted();
        Ok(ms)
    }

    /// Counts a message (at byte `offset` of a file) that could not be read, without reading
    /// it: a file whose next message header is broken.
    pub(crate) fn count_malformed(&mut self, offset: Option<u64>, e: &NetflowError) {
        self.messages += 1;
        self.stats.lines += 1;
        self.malformed(offset, e);
    }

    fn malformed(&mut self, offset: Option<u64>, e: &NetflowError) {
        let n = self.messages;
        let at = offset.map_or(String::new(), |o| format!(" (byte {o})"));
        self.stats.malformed(n, format!("message {n}{at}: {e}"));
    }

    fn scope(&self, exporter: SocketAddr, domain: u32) -> Scope {
        self.scopes
            .get(&(exporter, domain))
            .copied()
            .unwrap_or_default()
    }

    fn set_scope(&mut self, exporter: SocketAddr, domain: u32, scope: Scope) {
        let key = (exporter, domain);
        if !self.scopes.contains_key(&key) && self.scopes.len() >= MAX_SCOPES {
            self.scopes.pop_first();
        }
        self.scopes.insert(key, scope);
    }
}

/// The version field of a message.
pub fn version(bytes: &[u8]) -> Result<u16, NetflowError> {
    match bytes {
        [a, b, ..] => Ok(u16::from_be_bytes([*a, *b])),
        _ => Err(NetflowError::Truncated {
            what: "version",
            need: 2,
            have: bytes.len(),
        }),
    }
}

/// Whether `bytes` start as a NetFlow v5, v9 or IPFIX message.
pub fn looks_like_export(bytes: &[u8]) -> bool {
    matches!(version(bytes), Ok(V5 | V9 | IPFIX))
}

/// The observation point of an exporter's domain: FNV-1a (64 bits) of the exporter's IP
/// address (16 bytes, IPv4 mapped into IPv6) and the domain (4 bytes, big-endian). The port
/// is left out: an exporter that restarts from another port is the same point.
pub fn observer(exporter: IpAddr, domain: u32) -> u64 {
    let ip = match exporter {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in ip.iter().chain(domain.to_be_bytes().iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Big-endian integers of a slice known to be long enough (every caller checked the length).
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `b`, checked to hold at least `len` bytes, or a Truncated error naming `what`.
fn need<'a>(b: &'a [u8], len: usize, what: &'static str) -> Result<&'a [u8], NetflowError> {
    if b.len() < len {
        Err(NetflowError::Truncated {
            what,
            need: len,
            have: b.len(),
        })
    } else {
        Ok(b)
    }
}

/// The half of a flow record, for the submodules.
type Half = HalfFlow;
