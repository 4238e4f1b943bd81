//! Flow stage: rebuilds bidirectional TCP/UDP flows from decoded packets and hands each one on
//! as soon as it ends.
//!
//! A flow is keyed by protocol, both endpoints and the VLAN stack ([`key`]). TCP endpoints follow
//! Zeek's endpoint state machine and the flow's `conn_state` is one pure function of the two
//! endpoint states ([`tcp::conn_state`]), as in Zeek's `conn/main.zeek`; the history string uses
//! Zeek's letters ([`history`]).
//!
//! The table ([`table`]) holds only the flows open now. A flow ends, and its record goes to the
//! [`FlowSink`]:
//! - when it has been closed (FIN both ways, or a RST) for longer than the linger (Zeek's
//!   `tcp_close_delay`, 5 s) of packet time: packets until then still count in it;
//! - when it has been idle longer than its protocol's timeout (packet time; the flow's next
//!   packet would start a new flow);
//! - when a new connection takes its 4-tuple (a SYN after the close, or a SYN with a new initial
//!   sequence number from the side that opened it);
//! - when the table is full (`max_flows`): the flow idle the longest is ended early and its
//!   record marked `evicted`;
//! - at the end of the input.
//!
//! Records are handed on in the order flows end: by the packet time at which they end (their
//! deadline; flows due at the same time in the order of their slots in the table, which the
//! input alone decides), a flow ended by a packet (reuse, eviction) when that packet comes; at
//! the end of the input the flows still open end together, by first packet time. The same
//! input always gives the same order.
//!
//! Memory follows the flows open at once, never the length of the input. The hot path
//! ([`FlowTable::packet`]) allocates only when the table grows; records (with their strings) are
//! built once per flow, when it ends.

pub mod app;
pub mod history;
pub mod ids;
pub mod key;
pub mod record;
pub mod service;
pub mod state;
pub mod table;
pub mod tcp;

use std::net::IpAddr;

use crate::decode::ChecksumMode;

pub use ids::community_id;
pub use record::{FlowRecord, IcmpErrors, Spread, TunnelInfo};
pub use service::{ServiceStatus, TlsInfo};
pub use table::{FlowTable, TableStats};
pub use tcp::{ConnState, TcpState, conn_state, udp_conn_state};

/// Text a record carries (uid, history, Community ID, tunnel parents): held in the record
/// itself up to 24 bytes, on the heap beyond. A uid (18 bytes) and most histories fit, so
/// building or reading a record allocates nothing for them.
pub type Text = compact_str::CompactString;

/// Nanoseconds per second.
pub const NS: i64 = 1_000_000_000;

/// Flow-table settings.
#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    /// A TCP flow idle for longer than this ends; the next packet starts a new flow (ns).
    pub tcp_idle_ns: i64,
    /// Same for UDP (ns).
    pub udp_idle_ns: i64,
    /// A TCP flow closed (FIN both ways, or a RST) ends this long after its last packet (ns).
    pub linger_ns: i64,
    /// The most flows open at once; past it the flow idle the longest is ended early
    /// (0: no limit).
    pub max_flows: usize,
    /// Hand each flow's bytes per second of packet time to the sink ([`FlowSink::second`]).
    pub seconds: bool,
    /// What is done with packets whose checksum is wrong (`--checksums`).
    pub checksums: ChecksumMode,
}

/// The default cap on open flows: about 400 MiB of flow table at the cost measured per flow,
/// so that a flood stays well under 512 MiB.
pub const DEFAULT_MAX_FLOWS: usize = 1_000_000;

impl Default for FlowConfig {
    /// Zeek's defaults: `tcp_inactivity_timeout` 5 min, `udp_inactivity_timeout` 1 min,
    /// `tcp_close_delay` 5 s.
    fn default() -> Self {
        FlowConfig {
            tcp_idle_ns: 300 * NS,
            udp_idle_ns: 60 * NS,
            linger_ns: 5 * NS,
            max_flows: DEFAULT_MAX_FLOWS,
            seconds: false,
            checksums: ChecksumMode::Ignore,
        }
    }
}

/// Transport protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// Tells direction inference which ports are server ports (the rules' ports, when there are
/// rules). A port named here wins over the well-known-port and first-sender heuristics.
pub trait ServerPorts {
    /// None when `port` is not a server port; otherwise how specific the naming is (lower is
    /// stronger: 1 for a port named alone, the range's size for a port inside a range).
    fn server_port_rank(&self, proto: Proto, port: u16) -> Option<u32>;
}

/// No server ports known: only the built-in heuristics apply.
pub struct NoServerPorts;

impl ServerPorts for NoServerPorts {
    fn server_port_rank(&self, _: Proto, _: u16) -> Option<u32> {
        None
    }
}

/// The IP bytes (both directions) one flow carried in one second of packet time, handed to the
/// sinks once that second is over (or the flow ends). With the flow's endpoints as known at
/// that moment, so that a per-second bandwidth can be charged to a client and a rule while the
/// flow is still open. A flow's seconds add up to its `orig_ip_bytes + resp_ip_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondBytes {
    pub proto: Proto,
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    /// As in [`FlowRecord::direction_inferred`], at the time of this second.
    pub direction_inferred: bool,
    /// Whole seconds since the epoch (packet time).
    pub sec: i64,
    pub ip_bytes: u64,
}

/// Where ended flows go: the record writer, the auditor, `--flows-out`.
pub trait FlowSink {
    /// The first packet's time, before any flow ends.
    fn open(&mut self, _first_ns: i64) {}
    /// A flow ended: its record.
    fn flow(&mut self, r: &FlowRecord);
    /// A second of one flow's traffic is over (only when [`FlowConfig::seconds`] is on).
    fn second(&mut self, _b: &SecondBytes) {}
    /// A flow record whose bytes are known only as a start, a duration and a total (flow
    /// records, not packets), before the record itself: a sink that judges seconds takes its
    /// [`Spread`]. Nothing by default: laying a record out second by second would cost its
    /// duration (any length a log claims), not its size.
    fn spread(&mut self, _r: &FlowRecord) {}
    /// The table's clock (packet time, or a live capture's timer) entered a new second.
    fn clock(&mut self, _now_ns: i64) {}
    /// The input paused (a live capture waiting for packets): what is buffered goes out, so
    /// that readers of the outputs see each line soon after it is made. Write errors are kept
    /// for the sink's own end.
    fn flush(&mut self) {}
}

/// A sink that keeps every record: for tests and small inputs only.
impl FlowSink for Vec<FlowRecord> {
    fn flow(&mut self, r: &FlowRecord) {
        self.push(r.clone());
    }
}

/// Counters of what the flow table did with ICMP errors.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IcmpAttach {
    /// ICMP errors attached to a flow.
    pub attached: u64,
    /// ICMP errors quoting a TCP/UDP packet of no open flow.
    pub unmatched: u64,
}

#[cfg(test)]
mod tests;
