//! One open flow: what the table keeps of it until it ends.

use super::app::AppState;
use super::history::History;
use super::key::FlowKey;
use super::tcp::Endpoint;

/// Absent time (ns).
pub const NONE: i64 = i64::MIN;

/// What one side of a flow sent. Side 0 is the sender of the flow's first packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub pkts: u64,
    /// Sum of IP lengths.
    pub ip_bytes: u64,
    /// Transport payload bytes, every packet as seen (retransmissions included).
    pub payload: u64,
}

/// Indexes into [`Flow::times`] for a TCP flow.
pub mod tcp_time {
    /// Last client SYN time at or before the first SYN/ACK.
    pub const SYN: usize = 0;
    /// First SYN/ACK time.
    pub const SYNACK_FIRST: usize = 1;
    /// Last SYN/ACK time at or before the client's first ACK.
    pub const SYNACK_LAST: usize = 2;
    /// The client's first ACK after the SYN/ACK.
    pub const ACK: usize = 3;
}

/// Indexes into [`Flow::times`] for a UDP flow.
pub mod udp_time {
    /// Earliest packet of side 0 and side 1.
    pub const FIRST: usize = 0;
    /// Earliest packet of side 0 and side 1 sent at or after the other side's first packet.
    pub const FIRST_AFTER_PEER: usize = 2;
}

/// "No side" in the one-byte side fields.
pub const NO_SIDE: u8 = 2;

/// What a flow keeps beyond its [`Flow`] core: handshake times, TCP endpoint states and
/// history. A TCP flow that has seen nothing but one side's pure SYNs with one sequence number
/// (a connection attempt, a scan, a SYN flood) does not need it yet: everything it would hold
/// follows from the core ([`super::tcp::materialize`]), so it is made only when another packet
/// comes. 248 bytes.
#[derive(Debug, Clone, Copy)]
pub struct Ext {
    /// Handshake times (TCP, [`tcp_time`]) or first packet times (UDP, [`udp_time`]).
    pub times: [i64; 4],
    /// Zeek's per-endpoint TCP bookkeeping (unused for UDP).
    pub tcp: [Endpoint; 2],
    pub history: History,
    /// TCP: when the connection's close became complete (Zeek's ConnectionClosed); it ends
    /// `tcp_close_delay` (the linger) later ([`NONE`]: not closed).
    pub closed_ns: i64,
    /// TCP: the client's first SYN, when it started Zeek's attempt timer ([`NONE`]: none).
    pub attempt_ns: i64,
    /// TCP: bytes acknowledged but never seen, both directions (Zeek's `missed_bytes`).
    pub missed_bytes: u64,
    /// Packets with a wrong checksum (`--checksums count|drop`), both directions.
    pub bad_checksums: u32,
    /// What the application protocol is, as far as the first payloads told.
    pub app: AppState,
}

impl Default for Ext {
    fn default() -> Self {
        Ext {
            times: [NONE; 4],
            tcp: [Endpoint::default(); 2],
            history: History::default(),
            closed_ns: NONE,
            attempt_ns: NONE,
            missed_bytes: 0,
            bad_checksums: 0,
            app: AppState::default(),
        }
    }
}

impl Ext {
    /// Closed as Zeek completes a close: a RST, FIN both ways, or a FIN from one side while
    /// the other had sent nothing (a half-duplex capture). The flow then ends a linger later.
    pub fn closed(&self) -> bool {
        self.closed_ns != NONE
    }

    /// A UDP packet's first-packet times.
    pub fn udp_times(&mut self, side: usize, ts: i64) {
        use udp_time::*;
        let other_first = self.times[FIRST + 1 - side];
        let first = &mut self.times[FIRST + side];
        if *first == NONE || ts < *first {
            *first = ts;
        }
        let after = &mut self.times[FIRST_AFTER_PEER + side];
        if other_first != NONE && ts >= other_first && (*after == NONE || ts < *after) {
            *after = ts;
        }
    }
}

/// "No extension" in [`Flow::ext`].
pub const NO_EXT: u32 = u32::MAX;

/// A flow being built: its core. 128 bytes.
#[derive(Debug, Clone)]
pub struct Flow {
    pub key: FlowKey,
    pub first_ns: i64,
    pub last_ns: i64,
    pub counts: [Counts; 2],
    /// The flow's [`Ext`] in the table's extension slab ([`NO_EXT`]: none yet).
    pub ext: u32,
    /// The initial sequence number of the side that sent the first pure SYN.
    pub isn: u32,
    /// Which expiry entry of the table is this flow's own (see the table's expiry queues).
    pub tag: u32,
    /// Side 0 (first sender) is the key's lower endpoint.
    pub side0_lo: bool,
    /// Side that sent the earliest packet by timestamp (differs from side 0 only when the
    /// capture is out of time order).
    pub earliest_side: u8,
    /// Side that sent the first pure SYN ([`NO_SIDE`]: none).
    pub syn_side: u8,
    /// Side that received the first SYN/ACK ([`NO_SIDE`]: none).
    pub synack_rcvd_side: u8,
    /// Flows of the same key that began at the same time before this one (for distinct uids).
    pub dup: u8,
    /// ICMP errors quoted this flow (they are kept beside the table).
    pub has_icmp: bool,
}

impl Flow {
    pub fn new(key: FlowKey, side0_lo: bool, ts: i64) -> Flow {
        Flow {
            key,
            first_ns: ts,
            last_ns: ts,
            counts: [Counts::default(); 2],
            ext: NO_EXT,
            isn: 0,
            tag: 0,
            side0_lo,
            earliest_side: 0,
            syn_side: NO_SIDE,
            synack_rcvd_side: NO_SIDE,
            dup: 0,
            has_icmp: false,
        }
    }

    /// The side a packet from the key's lower end (`src_lo`) or higher end came from.
    #[inline]
    pub fn side_of(&self, src_lo: bool) -> usize {
        usize::from(src_lo != self.side0_lo)
    }

    /// The client side as known so far: the pure-SYN sender, else the SYN/ACK receiver.
    pub fn known_client(&self) -> Option<usize> {
        if self.syn_side != NO_SIDE {
            Some(self.syn_side as usize)
        } else if self.synack_rcvd_side != NO_SIDE {
            Some(self.synack_rcvd_side as usize)
        } else {
            None
        }
    }

    /// How long before the flow's last packet `ts` is (0 for a packet in time order).
    #[inline]
    pub fn behind(&self, ts: i64) -> i64 {
        self.last_ns.saturating_sub(ts)
    }

    /// Counts one packet from `side` sent at `ts`; returns how much later the flow's last
    /// packet time moved (for [`History::age`]). With `live` false the last time stays (Zeek
    /// does not move it for a TCP segment after both sides closed, nor for a UDP datagram
    /// with a bad checksum).
    pub fn count(&mut self, side: usize, ts: i64, ip_len: u32, payload: u32, live: bool) -> i64 {
        let c = &mut self.counts[side];
        c.pkts += 1;
        c.ip_bytes += ip_len as u64;
        c.payload += payload as u64;
        // Packets out of time order widen the flow's span instead of breaking it.
        if ts < self.first_ns {
            self.first_ns = ts;
            self.earliest_side = side as u8;
        }
        if ts > self.last_ns && live {
            let d = ts.saturating_sub(self.last_ns);
            self.last_ns = ts;
            return d;
        }
        0
    }
}

#[cfg(test)]
mod size {
    /// The flow table's memory is this per open flow, plus its index and expiry entries.
    #[test]
    fn flow_size() {
        assert_eq!(std::mem::size_of::<super::Flow>(), 128);
        assert_eq!(std::mem::size_of::<super::Ext>(), 248);
    }
}
