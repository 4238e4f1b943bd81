//! Flow stage: rebuilds bidirectional TCP/UDP flows from decoded packets.
//!
//! A flow is keyed by protocol, both endpoints and the VLAN stack. TCP endpoints follow Zeek's
//! endpoint state machine (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET)
//! and the flow's `conn_state` is one pure function of the two endpoint states ([`conn_state`]),
//! as in Zeek's `conn/main.zeek`. The history string uses Zeek's letters.
//!
//! Flows end by idle timeout (a packet later than the timeout after the flow's last one starts a
//! new flow), by port reuse (a new SYN on a 4-tuple whose connection closed, or a SYN with a new
//! initial sequence number from the same client), or with the capture.
//!
//! The hot path ([`FlowTable::packet`]) allocates only when it creates a flow; records (with
//! their strings) are built once per flow by [`FlowTable::finish`].

use std::net::IpAddr;

use sha1::{Digest, Sha1};

use crate::decode::{Addr, Packet, Transport, VlanStack, ipproto, tcpflags};

/// Nanoseconds per second.
pub const NS: i64 = 1_000_000_000;

/// Flow-table settings.
#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    /// A TCP flow idle for longer than this ends; the next packet starts a new flow (ns).
    pub tcp_idle_ns: i64,
    /// Same for UDP (ns).
    pub udp_idle_ns: i64,
}

impl Default for FlowConfig {
    /// Zeek's defaults: `tcp_inactivity_timeout` 5 min, `udp_inactivity_timeout` 1 min.
    fn default() -> Self {
        FlowConfig {
            tcp_idle_ns: 300 * NS,
            udp_idle_ns: 60 * NS,
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

/// ICMP errors that quoted a flow's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpErrors {
    pub count: u32,
    pub last_type: u8,
    pub last_code: u8,
}

/// One finished flow, oriented client (orig) -> server (resp), named as Zeek's conn.log.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    /// Time of the first packet, ns since the epoch.
    pub ts_ns: i64,
    /// Deterministic Zeek-style id: `C` + base62 of a hash of the flow's key and first time.
    pub uid: String,
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub proto: Proto,
    /// Last packet time minus first packet time, ns.
    pub duration_ns: i64,
    /// Payload bytes the client sent, every packet as seen (retransmissions included).
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    /// Zeek's conn_state code.
    pub conn_state: ConnState,
    /// Zeek's history letters, upper case for the client.
    pub history: String,
    pub orig_pkts: u64,
    /// Sum of IP lengths of the client's packets.
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
    /// VLAN ids, outer first.
    pub vlan: Vec<u16>,
    /// Community ID v1, seed 0.
    pub community_id: String,
    /// True when no handshake told the direction and it was inferred.
    pub direction_inferred: bool,
    /// TCP: first SYN/ACK time minus the last client SYN before it, ns.
    pub syn_synack_ns: Option<i64>,
    /// TCP: the client's first ACK after the SYN/ACK minus the last SYN/ACK before it, ns.
    pub synack_ack_ns: Option<i64>,
    /// TCP: syn_synack + synack_ack; UDP: first reply minus first request, ns.
    pub rtt_ns: Option<i64>,
    pub icmp_errors: Option<IcmpErrors>,
    /// True when the flow was ended early because the flow table was full (`--max-flows`):
    /// a later packet of the same connection starts a new record.
    pub evicted: bool,
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
    /// A flow ended: its record.
    fn flow(&mut self, r: &FlowRecord);
    /// A second of one flow's traffic is over (only when [`FlowConfig::seconds`] is on).
    fn second(&mut self, _b: &SecondBytes) {}
}

/// Zeek's TCP endpoint states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

impl TcpState {
    /// Zeek's "inactive" for conn_state: nothing, or only mid-stream traffic, seen.
    fn inactive(self) -> bool {
        matches!(self, TcpState::Inactive | TcpState::Partial)
    }
}

/// Zeek's conn_state codes (`conn/main.zeek`), one meaning each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnState {
    /// Connection attempt seen, no reply.
    S0,
    /// Connection established, not terminated.
    S1,
    /// Normal establishment and termination.
    SF,
    /// Connection attempt rejected.
    REJ,
    /// Established, the originator attempted to close, no reply from the responder.
    S2,
    /// Established, the responder attempted to close, no reply from the originator.
    S3,
    /// Established, the originator aborted (sent a RST).
    RSTO,
    /// Established, the responder aborted.
    RSTR,
    /// The originator sent a SYN followed by a RST; no SYN/ACK from the responder.
    RSTOS0,
    /// The responder sent a SYN/ACK followed by a RST; no SYN from the (purported) originator.
    RSTRH,
    /// The originator sent a SYN followed by a FIN; no SYN/ACK from the responder.
    SH,
    /// The responder sent a SYN/ACK followed by a FIN; no SYN from the originator.
    SHR,
    /// No SYN seen, just midstream traffic (or another pattern Zeek does not name).
    OTH,
}

impl ConnState {
    /// Every state, in declaration order.
    pub const ALL: [ConnState; 13] = [
        ConnState::S0,
        ConnState::S1,
        ConnState::SF,
        ConnState::REJ,
        ConnState::S2,
        ConnState::S3,
        ConnState::RSTO,
        ConnState::RSTR,
        ConnState::RSTOS0,
        ConnState::RSTRH,
        ConnState::SH,
        ConnState::SHR,
        ConnState::OTH,
    ];
    /// The code as conn.log writes it.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }
}

impl std::fmt::Display for ConnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Zeek's `conn_state` for TCP, from the two endpoint states, the payload sizes and the history.
pub fn conn_state(
    os: TcpState,
    rs: TcpState,
    orig_size: u64,
    resp_size: u64,
    history: &str,
) -> ConnState {
    use TcpState::*;
    if rs == Reset {
        if os == SynSent || os == SynAckSent || (os == Reset && orig_size == 0 && resp_size == 0) {
            ConnState::REJ
        } else if os.inactive() {
            ConnState::RSTRH
        } else {
            ConnState::RSTR
        }
    } else if os == Reset {
        if rs.inactive() {
            if syn_then_rst(history) {
                ConnState::RSTOS0
            } else {
                ConnState::OTH
            }
        } else {
            ConnState::RSTO
        }
    } else if rs == Closed && os == Closed {
        ConnState::SF
    } else if os == Closed {
        if rs.inactive() { ConnState::SH } else { ConnState::S2 }
    } else if rs == Closed {
        if os.inactive() { ConnState::SHR } else { ConnState::S3 }
    } else if os == SynSent && rs == Inactive {
        ConnState::S0
    } else if os == Established && rs == Established {
        ConnState::S1
    } else {
        ConnState::OTH
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` on the history: the client's SYN, then its RST, with no
/// handshake, ACK, FIN, gap, inconsistency or multi-flag packet from it in between.
fn syn_then_rst(h: &str) -> bool {
    let h = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

/// Zeek's `conn_state` for UDP: who sent anything.
pub fn udp_conn_state(orig_sent: bool, resp_sent: bool) -> ConnState {
    match (orig_sent, resp_sent) {
        (true, true) => ConnState::SF,
        (true, false) => ConnState::S0,
        (false, true) => ConnState::SHR,
        (false, false) => ConnState::OTH,
    }
}

/// A flow's key: protocol, both endpoints (lower one first) and the VLAN stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    lo: Addr,
    hi: Addr,
    lo_port: u16,
    hi_port: u16,
    proto: u8,
    v6: bool,
    vlan: VlanStack,
}

impl FlowKey {
    /// The key of a packet from (src, sport) to (dst, dport), and whether src is the lower end.
    fn new(
        proto: u8,
        v6: bool,
        vlan: VlanStack,
        src: Addr,
        sport: u16,
        dst: Addr,
        dport: u16,
    ) -> (FlowKey, bool) {
        let src_lo = (src, sport) <= (dst, dport);
        let (lo, lo_port, hi, hi_port) = if src_lo {
            (src, sport, dst, dport)
        } else {
            (dst, dport, src, sport)
        };
        (
            FlowKey {
                lo,
                hi,
                lo_port,
                hi_port,
                proto,
                v6,
                vlan,
            },
            src_lo,
        )
    }
}

/// Absent time (ns).
const NONE: i64 = i64::MIN;

/// History letter bits per endpoint (Zeek records these at most once per direction, or once
/// per distinct sequence number for S, H, F, R).
mod hist {
    pub const SYN: u8 = 1;
    pub const SYNACK: u8 = 2;
    pub const ACK: u8 = 4;
    pub const DATA: u8 = 8;
    pub const FIN: u8 = 16;
    pub const RST: u8 = 32;
    pub const FIN_RST: u8 = 64;
    pub const MULTI: u8 = 128;
}

/// The most history letters kept per flow; later letters are dropped (Zeek's strings stay short
/// too: most letters appear once per direction).
const HISTORY_CAP: usize = 32;

/// One side of a flow. Side 0 is the sender of the flow's first packet.
#[derive(Debug, Clone, Copy)]
struct Side {
    pkts: u64,
    ip_bytes: u64,
    payload: u64,
    first_ns: i64,
    /// Earliest packet from this side sent at or after the other side's first packet.
    first_after_peer_ns: i64,
    tcp: Endpoint,
}

/// Zeek's per-endpoint TCP bookkeeping.
#[derive(Debug, Clone, Copy)]
struct Endpoint {
    state: TcpState,
    prev_state: TcpState,
    hist_bits: u8,
    last_syn_seq: u32,
    last_fin_seq: u32,
    last_rst_seq: u32,
    start_seq: u32,
    /// One past the highest sequence number sent so far.
    last_seq: u32,
    /// Retransmissions and zero windows seen (history records the 1st, 10th, 100th...).
    rxmit: u32,
    win0: u32,
    /// Sequence number of this side's first pure SYN (None: no SYN sent).
    isn: Option<u32>,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            pkts: 0,
            ip_bytes: 0,
            payload: 0,
            first_ns: NONE,
            first_after_peer_ns: NONE,
            tcp: Endpoint {
                state: TcpState::Inactive,
                prev_state: TcpState::Inactive,
                hist_bits: 0,
                last_syn_seq: 0,
                last_fin_seq: 0,
                last_rst_seq: 0,
                start_seq: 0,
                last_seq: 0,
                rxmit: 0,
                win0: 0,
                isn: None,
            },
        }
    }
}

impl Endpoint {
    fn set_state(&mut self, s: TcpState) {
        self.prev_state = self.state;
        self.state = s;
    }
}

/// A flow being built.
#[derive(Debug, Clone)]
struct Flow {
    key: FlowKey,
    /// Side 0 (first sender) is the key's lower endpoint.
    side0_lo: bool,
    /// Side that sent the earliest packet by timestamp (differs from side 0 only when the
    /// capture is out of time order).
    earliest_side: u8,
    first_ns: i64,
    last_ns: i64,
    sides: [Side; 2],
    /// Side that sent the first pure SYN.
    syn_side: Option<u8>,
    /// Side that received the first SYN/ACK.
    synack_rcvd_side: Option<u8>,
    /// Last client SYN time at or before the first SYN/ACK.
    syn_ns: i64,
    synack_first_ns: i64,
    /// Last SYN/ACK time at or before the client's first ACK.
    synack_last_ns: i64,
    ack_ns: i64,
    icmp: Option<IcmpErrors>,
    /// History letters in order: ASCII upper case, with 0x80 set when side 1 sent it.
    history: [u8; HISTORY_CAP],
    history_len: u8,
    /// Packet times of the last `RECENT` history letters (the last one last), so that a packet
    /// captured a little out of time order puts its letter back in time order.
    recent_ts: [i64; RECENT],
}

/// How many of the latest history letters an out-of-order packet's letter can move before.
const RECENT: usize = 4;

impl Flow {
    fn new(key: FlowKey, side0_lo: bool, ts: i64) -> Flow {
        Flow {
            key,
            side0_lo,
            earliest_side: 0,
            first_ns: ts,
            last_ns: ts,
            sides: [Side::default(); 2],
            syn_side: None,
            synack_rcvd_side: None,
            syn_ns: NONE,
            synack_first_ns: NONE,
            synack_last_ns: NONE,
            ack_ns: NONE,
            icmp: None,
            history: [0; HISTORY_CAP],
            history_len: 0,
            recent_ts: [NONE; RECENT],
        }
    }

    /// The client side as known so far: the pure-SYN sender, else the SYN/ACK receiver.
    fn known_client(&self) -> Option<u8> {
        self.syn_side.or(self.synack_rcvd_side)
    }

    /// Closed for port-reuse purposes: FIN both ways, or a RST from either side.
    fn closed(&self) -> bool {
        let (a, b) = (self.sides[0].tcp.state, self.sides[1].tcp.state);
        (a == TcpState::Closed && b == TcpState::Closed)
            || a == TcpState::Reset
            || b == TcpState::Reset
    }

    /// Appends a history letter for a packet from `side` at `ts`; a packet earlier than the
    /// latest letters' packets (out of time order) goes before them.
    fn add_history(&mut self, side: usize, letter: u8, ts: i64) {
        let len = self.history_len as usize;
        if len >= HISTORY_CAP {
            return;
        }
        let later = (0..RECENT.min(len))
            .take_while(|&k| self.recent_ts[RECENT - 1 - k] > ts)
            .count();
        let pos = len - later;
        self.history.copy_within(pos..len, pos + 1);
        self.history[pos] = letter | if side == 1 { 0x80 } else { 0 };
        self.history_len += 1;
        // The window of recent times slides by one, with `ts` at its place among them; a
        // letter put before all of them leaves the window as it was.
        if later < RECENT {
            let old = self.recent_ts;
            let mut w = [NONE; RECENT];
            let split = RECENT - later;
            w[..split - 1].copy_from_slice(&old[1..split]);
            w[split - 1] = ts;
            w[split..].copy_from_slice(&old[split..]);
            self.recent_ts = w;
        }
    }

    /// Zeek's CheckHistory: records `letter` the first time `bit` is seen from `side`; returns
    /// whether it had been seen before.
    fn check_history(&mut self, side: usize, bit: u8, letter: u8, ts: i64) -> bool {
        let seen = self.sides[side].tcp.hist_bits & bit != 0;
        if !seen {
            self.sides[side].tcp.hist_bits |= bit;
            self.add_history(side, letter, ts);
        }
        seen
    }

    fn count(&mut self, side: usize, ts: i64, ip_len: u32, payload: u32) {
        let other_first = self.sides[1 - side].first_ns;
        let s = &mut self.sides[side];
        s.pkts += 1;
        s.ip_bytes += ip_len as u64;
        s.payload += payload as u64;
        if s.first_ns == NONE || ts < s.first_ns {
            s.first_ns = ts;
        }
        if other_first != NONE
            && ts >= other_first
            && (s.first_after_peer_ns == NONE || ts < s.first_after_peer_ns)
        {
            s.first_after_peer_ns = ts;
        }
        // Packets out of time order widen the flow's span instead of breaking it.
        if ts < self.first_ns {
            self.first_ns = ts;
            self.earliest_side = side as u8;
        }
        self.last_ns = self.last_ns.max(ts);
    }
}

/// Hash of a flow key: a few multiply-xorshift rounds over its words. Offline captures are not
/// chosen to collide with it, and this is the hot path.
fn key_hash(k: &FlowKey) -> u64 {
    #[inline]
    fn word(b: &[u8; 16], i: usize) -> u64 {
        u64::from_le_bytes([
            b[i],
            b[i + 1],
            b[i + 2],
            b[i + 3],
            b[i + 4],
            b[i + 5],
            b[i + 6],
            b[i + 7],
        ])
    }
    #[inline]
    fn mix(h: u64, w: u64) -> u64 {
        (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
    }
    let mut h = 0x243f_6a88_85a3_08d3u64;
    h = mix(h, word(&k.lo.bytes, 0));
    h = mix(h, word(&k.lo.bytes, 8));
    h = mix(h, word(&k.hi.bytes, 0));
    h = mix(h, word(&k.hi.bytes, 8));
    h = mix(
        h,
        (k.lo_port as u64) << 32 | (k.hi_port as u64) << 16 | (k.proto as u64) << 8 | k.v6 as u64,
    );
    if !k.vlan.is_empty() {
        for &id in k.vlan.ids() {
            h = mix(h, id as u64 | 1 << 16);
        }
    }
    // Final avalanche (murmur3's fmix64) so the low bits index the table well.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// Counters of what the flow table did with ICMP errors.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IcmpAttach {
    /// ICMP errors attached to a flow.
    pub attached: u64,
    /// ICMP errors quoting a TCP/UDP packet of no known flow.
    pub unmatched: u64,
}

/// Flows live in fixed-size chunks: the store never moves a flow, so it grows without the
/// copy (and the doubled peak memory) of a reallocating vector.
const CHUNK_BITS: usize = 14;
const CHUNK: usize = 1 << CHUNK_BITS;

#[derive(Default)]
struct Store {
    chunks: Vec<Vec<Flow>>,
    len: usize,
}

impl Store {
    #[inline]
    fn get(&self, i: usize) -> &Flow {
        &self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
    #[inline]
    fn get_mut(&mut self, i: usize) -> &mut Flow {
        &mut self.chunks[i >> CHUNK_BITS][i & (CHUNK - 1)]
    }
    fn push(&mut self, f: Flow) -> usize {
        if self.len & (CHUNK - 1) == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(last) = self.chunks.last_mut() {
            last.push(f);
        }
        self.len += 1;
        self.len - 1
    }
}

/// One slot of the open-addressing index: the key's hash (0: empty) and the flow it points to.
/// The key itself is compared in the flow, which the packet updates anyway: one cache line
/// per lookup in the index, none for a key copy.
#[derive(Clone, Copy, Default)]
struct Slot {
    hash: u64,
    flow: u32,
}

/// Current flow of each key, by linear probing; kept at most half full.
struct Index {
    slots: Vec<Slot>,
    used: usize,
}

impl Index {
    fn with_capacity(n: usize) -> Index {
        Index {
            slots: vec![Slot::default(); n.next_power_of_two().max(1024)],
            used: 0,
        }
    }

    /// The slot holding `key`, or the empty slot where it would go.
    #[inline]
    fn probe(&self, hash: u64, key: &FlowKey, store: &Store) -> (usize, bool) {
        let mask = self.slots.len() - 1;
        let mut pos = hash as usize & mask;
        loop {
            let s = self.slots[pos];
            if s.hash == 0 {
                return (pos, false);
            }
            if s.hash == hash && store.get(s.flow as usize).key == *key {
                return (pos, true);
            }
            pos = (pos + 1) & mask;
        }
    }

    fn insert_at(&mut self, pos: usize, hash: u64, flow: u32) {
        self.slots[pos] = Slot { hash, flow };
        self.used += 1;
        if self.used * 2 > self.slots.len() {
            self.rebuild(self.slots.len() * 2, |_| true);
        }
    }

    /// Re-inserts the slots that `keep` accepts into a table of `cap` slots.
    fn rebuild(&mut self, cap: usize, keep: impl Fn(Slot) -> bool) {
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); cap]);
        self.used = 0;
        let mask = cap - 1;
        for s in old.into_iter().filter(|s| s.hash != 0 && keep(*s)) {
            let mut pos = s.hash as usize & mask;
            while self.slots[pos].hash != 0 {
                pos = (pos + 1) & mask;
            }
            self.slots[pos] = s;
            self.used += 1;
        }
    }
}

/// The flow table.
pub struct FlowTable {
    cfg: FlowConfig,
    index: Index,
    /// Every flow, in creation order.
    store: Store,
    /// Latest packet time seen (the table's clock).
    now_ns: i64,
    next_sweep_ns: i64,
    pub icmp: IcmpAttach,
}

/// How often, in capture time, idle flows are dropped from the index (ns).
const SWEEP_EVERY_NS: i64 = 10 * NS;

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> FlowTable {
        FlowTable {
            cfg,
            index: Index::with_capacity(1 << 16),
            store: Store::default(),
            now_ns: NONE,
            next_sweep_ns: NONE,
            icmp: IcmpAttach::default(),
        }
    }

    /// Number of flows so far.
    pub fn len(&self) -> usize {
        self.store.len
    }

    pub fn is_empty(&self) -> bool {
        self.store.len == 0
    }

    /// Takes one decoded packet captured at `ts_ns`.
    pub fn packet(&mut self, ts_ns: i64, p: &Packet) {
        // i64::MIN marks "no time" inside a flow; no capture format can produce it.
        let ts_ns = ts_ns.max(NONE + 1);
        if ts_ns > self.now_ns {
            self.now_ns = ts_ns;
            if self.next_sweep_ns == NONE {
                self.next_sweep_ns = ts_ns.saturating_add(SWEEP_EVERY_NS);
            } else if ts_ns >= self.next_sweep_ns {
                self.sweep();
                self.next_sweep_ns = ts_ns.saturating_add(SWEEP_EVERY_NS);
            }
        }
        match p.transport {
            Transport::Tcp(t) => {
                let (key, src_lo) = FlowKey::new(
                    ipproto::TCP,
                    p.v6,
                    p.vlan,
                    p.src,
                    t.src_port,
                    p.dst,
                    t.dst_port,
                );
                let pure_syn =
                    t.flags & (tcpflags::SYN | tcpflags::ACK | tcpflags::RST) == tcpflags::SYN;
                let idle = self.cfg.tcp_idle_ns;
                let idx = self.lookup(key, src_lo, ts_ns, idle, |f, side| {
                    // A new connection on the same 4-tuple: a SYN after the old one closed, or a
                    // SYN with a new initial sequence number from the side that opened it.
                    pure_syn
                        && (f.closed()
                            || matches!(f.sides[side].tcp.isn, Some(isn) if isn != t.seq && f.syn_side == Some(side as u8)))
                });
                let f = self.store.get_mut(idx);
                let side = if src_lo == f.side0_lo { 0 } else { 1 };
                tcp_packet(f, side, ts_ns, p.ip_len, &t);
            }
            Transport::Udp(u) => {
                let (key, src_lo) = FlowKey::new(
                    ipproto::UDP,
                    p.v6,
                    p.vlan,
                    p.src,
                    u.src_port,
                    p.dst,
                    u.dst_port,
                );
                let idle = self.cfg.udp_idle_ns;
                let idx = self.lookup(key, src_lo, ts_ns, idle, |_, _| false);
                let f = self.store.get_mut(idx);
                let side = if src_lo == f.side0_lo { 0 } else { 1 };
                f.count(side, ts_ns, p.ip_len, u.payload_len);
                // Zeek's UDP history: D/d once per direction.
                f.check_history(side, hist::DATA, b'D', ts_ns);
            }
            Transport::Icmp(i) => {
                let Some(q) = i.quoted else { return };
                let (key, _) =
                    FlowKey::new(q.proto, q.v6, p.vlan, q.src, q.src_port, q.dst, q.dst_port);
                match self.index.probe(key_hash(&key) | 1, &key, &self.store) {
                    (pos, true) => {
                        let idx = self.index.slots[pos].flow as usize;
                        let f = self.store.get_mut(idx);
                        let count = f.icmp.map_or(0, |e| e.count).saturating_add(1);
                        f.icmp = Some(IcmpErrors {
                            count,
                            last_type: i.icmp_type,
                            last_code: i.code,
                        });
                        self.icmp.attached += 1;
                    }
                    (_, false) => self.icmp.unmatched += 1,
                }
            }
        }
    }

    /// The flow for `key`, creating one when there is none, the current one has been idle
    /// longer than `idle`, or `starts_new` says this packet begins a new connection.
    #[inline]
    fn lookup(
        &mut self,
        key: FlowKey,
        src_lo: bool,
        ts: i64,
        idle: i64,
        starts_new: impl Fn(&Flow, usize) -> bool,
    ) -> usize {
        // Hash 0 marks an empty slot: keys never hash to it.
        let hash = key_hash(&key) | 1;
        let (pos, found) = self.index.probe(hash, &key, &self.store);
        if found {
            let idx = self.index.slots[pos].flow as usize;
            let f = self.store.get(idx);
            let side = if src_lo == f.side0_lo { 0 } else { 1 };
            if ts.saturating_sub(f.last_ns) <= idle && !starts_new(f, side) {
                return idx;
            }
            // The key's flow ended: the index points to the new one from now on.
            let new = self.store.push(Flow::new(key, src_lo, ts));
            self.index.slots[pos].flow = new as u32;
            return new;
        }
        let new = self.store.push(Flow::new(key, src_lo, ts));
        self.index.insert_at(pos, hash, new as u32);
        new
    }

    /// Drops flows idle past their timeout from the index (they stay in the store).
    fn sweep(&mut self) {
        let now = self.now_ns;
        let (tcp, udp) = (self.cfg.tcp_idle_ns, self.cfg.udp_idle_ns);
        let store = &self.store;
        let cap = self.index.slots.len();
        self.index.rebuild(cap, |s| {
            let f = store.get(s.flow as usize);
            let idle = if f.key.proto == ipproto::TCP {
                tcp
            } else {
                udp
            };
            now.saturating_sub(f.last_ns) <= idle
        });
    }

    /// Ends every flow: their records, sorted by first packet time (ties in creation order),
    /// built one at a time as the iterator is read.
    pub fn finish(self, servers: &dyn ServerPorts) -> Records<'_> {
        let mut order: Vec<(i64, u32)> = (0..self.store.len)
            .map(|i| (self.store.get(i).first_ns, i as u32))
            .collect();
        order.sort_unstable();
        Records {
            store: self.store,
            order,
            pos: 0,
            run_start: 0,
            servers,
        }
    }
}

/// The records of a finished flow table, in order (see [`FlowTable::finish`]).
pub struct Records<'a> {
    store: Store,
    order: Vec<(i64, u32)>,
    pos: usize,
    /// Start of the run of flows with the same first time as the current one.
    run_start: usize,
    servers: &'a dyn ServerPorts,
}

impl Iterator for Records<'_> {
    type Item = FlowRecord;

    fn next(&mut self) -> Option<FlowRecord> {
        let &(ts, idx) = self.order.get(self.pos)?;
        if self.order[self.run_start].0 != ts {
            self.run_start = self.pos;
        }
        let f = self.store.get(idx as usize);
        // Flows with the same key and first time (possible only in odd captures) get distinct
        // uids through a counter.
        let dup = self.order[self.run_start..self.pos]
            .iter()
            .filter(|(_, j)| self.store.get(*j as usize).key == f.key)
            .count() as u32;
        self.pos += 1;
        Some(record(f, self.servers, dup))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.order.len() - self.pos;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Records<'_> {}

/// Applies one TCP segment from `side` to the flow, as Zeek's TCP analyzer does.
fn tcp_packet(f: &mut Flow, side: usize, ts: i64, ip_len: u32, t: &crate::decode::Tcp) {
    let syn = t.flags & tcpflags::SYN != 0;
    let ack = t.flags & tcpflags::ACK != 0;
    let fin = t.flags & tcpflags::FIN != 0;
    let rst = t.flags & tcpflags::RST != 0;
    let len = t.payload_len;
    f.count(side, ts, ip_len, len);
    let peer = 1 - side;

    // Who is the client: the first pure SYN's sender, else the first SYN/ACK's receiver.
    if syn && !ack && !rst {
        if f.syn_side.is_none() {
            f.syn_side = Some(side as u8);
        }
        if f.sides[side].tcp.isn.is_none() {
            f.sides[side].tcp.isn = Some(t.seq);
        }
    }
    if syn && ack && !rst && f.synack_rcvd_side.is_none() {
        f.synack_rcvd_side = Some(peer as u8);
    }
    let is_orig = f.known_client().map_or(side == 0, |c| c as usize == side);

    // Handshake timing, robust to packets a little out of time order.
    if syn && !ack && !rst && f.syn_side == Some(side as u8) {
        if f.synack_first_ns == NONE || ts <= f.synack_first_ns {
            f.syn_ns = f.syn_ns.max(ts);
        }
    } else if syn && ack && !rst && f.syn_side != Some(side as u8) {
        if f.synack_first_ns == NONE || ts < f.synack_first_ns {
            f.synack_first_ns = ts;
        }
        if f.ack_ns == NONE || ts <= f.ack_ns {
            f.synack_last_ns = f.synack_last_ns.max(ts);
        }
    } else if ack
        && !syn
        && !rst
        && is_orig
        && f.synack_first_ns != NONE
        && ts >= f.synack_first_ns
        && (f.ack_ns == NONE || ts < f.ack_ns)
    {
        f.ack_ns = ts;
    }

    // Sequence bookkeeping (Zeek's init_endpoint).
    let seg_len = len
        .wrapping_add(syn as u32)
        .wrapping_add(fin as u32)
        .wrapping_sub(if rst { len } else { 0 });
    let seq_end = t.seq.wrapping_add(seg_len);
    {
        let e = &mut f.sides[side].tcp;
        match e.state {
            TcpState::Inactive => {
                if syn {
                    e.start_seq = t.seq;
                    e.last_seq = seq_end;
                } else {
                    // Mid-stream: number as though a SYN preceded this segment, and do not take
                    // the first segment for a retransmission.
                    e.start_seq = t.seq.wrapping_sub(1);
                    e.last_seq = t.seq;
                }
            }
            // A SYN with a new sequence number restarts the numbering.
            TcpState::SynSent
            | TcpState::SynAckSent
            | TcpState::Established
            | TcpState::Partial
                if syn && t.seq != e.start_seq =>
            {
                e.start_seq = t.seq;
                e.last_seq = seq_end;
            }
            _ => {}
        }
    }

    // History letters (Zeek's update_history).
    let bits = syn as u8 + fin as u8 + rst as u8;
    if bits > 1 {
        if fin && rst {
            f.check_history(side, hist::FIN_RST, b'I', ts);
        } else {
            f.check_history(side, hist::MULTI, b'Q', ts);
        }
    } else if bits == 1 {
        if syn {
            let (bit, letter) = if ack {
                (hist::SYNACK, b'H')
            } else {
                (hist::SYN, b'S')
            };
            if f.check_history(side, bit, letter, ts) && t.seq != f.sides[side].tcp.last_syn_seq {
                f.add_history(side, letter, ts);
            }
            f.sides[side].tcp.last_syn_seq = t.seq;
        }
        if fin {
            let fin_seq = t.seq.wrapping_add(len);
            if f.check_history(side, hist::FIN, b'F', ts)
                && fin_seq != f.sides[side].tcp.last_fin_seq
            {
                f.add_history(side, b'F', ts);
            }
            f.sides[side].tcp.last_fin_seq = fin_seq;
        }
        if rst {
            if f.check_history(side, hist::RST, b'R', ts) && t.seq != f.sides[side].tcp.last_rst_seq
            {
                f.add_history(side, b'R', ts);
            }
            f.sides[side].tcp.last_rst_seq = t.seq;
        }
    } else if len > 0 {
        f.check_history(side, hist::DATA, b'D', ts);
    } else if ack {
        f.check_history(side, hist::ACK, b'A', ts);
    }

    // Zero window (Zeek's update_window): not with or after a RST, nor after the peer's FIN.
    if t.window == 0
        && !rst
        && f.sides[peer].tcp.state != TcpState::Closed
        && f.sides[side].tcp.state != TcpState::Reset
    {
        let e = &mut f.sides[side].tcp;
        e.win0 = e.win0.saturating_add(1);
        if is_power_of_ten(e.win0) {
            f.add_history(side, b'W', ts);
        }
    }

    // Retransmissions (Zeek's update_last_seq).
    {
        let e = &mut f.sides[side].tcp;
        let delta = seq_end.wrapping_sub(e.last_seq) as i32;
        const TOO_LARGE: i32 = 1 << 20;
        let mut rxmit = false;
        if (syn || rst) && !(-TOO_LARGE..=TOO_LARGE).contains(&delta) {
            // An outlandish jump on a SYN or RST: not trusted.
        } else if fin && e.last_seq == e.start_seq.wrapping_add(1) {
            e.last_seq = seq_end;
        } else if e.state == TcpState::Reset {
            // Nothing after a RST is trusted.
        } else if delta > 0 {
            e.last_seq = seq_end;
        } else if len > 0 {
            rxmit = true;
        }
        if rxmit {
            e.rxmit = e.rxmit.saturating_add(1);
            if is_power_of_ten(e.rxmit) {
                f.add_history(side, b'T', ts);
            }
        }
    }

    update_state(f, side, is_orig, syn, ack, fin, rst, len, t.seq);
}

/// Zeek's logarithmic history entries: the 1st, 10th, 100th... occurrence is recorded.
fn is_power_of_ten(n: u32) -> bool {
    let mut p = 1u32;
    loop {
        if n == p {
            return true;
        }
        match p.checked_mul(10) {
            Some(q) if q <= n => p = q,
            _ => return false,
        }
    }
}

/// Zeek's endpoint state machine (TCPSessionAdapter::UpdateStateMachine) for a segment from
/// `side`.
#[allow(clippy::too_many_arguments)]
fn update_state(
    f: &mut Flow,
    side: usize,
    is_orig: bool,
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
    len: u32,
    seq: u32,
) {
    use TcpState::*;
    let peer = 1 - side;
    let (mut e, mut p) = (f.sides[side].tcp, f.sides[peer].tcp);
    match e.state {
        Inactive => {
            if syn {
                if is_orig && !ack && p.state == Established && p.hist_bits & hist::SYNACK != 0 {
                    // The client's SYN captured after the server's SYN/ACK (out of time order):
                    // the handshake is complete, not a new attempt.
                    e.set_state(Established);
                } else if is_orig {
                    e.set_state(if ack { SynAckSent } else { SynSent });
                } else {
                    // A SYN/ACK answering the client's SYN (or a reversed or simultaneous open):
                    // both ends are now established.
                    if !ack && p.state == SynAckSent && seq == e.start_seq {
                        p.set_state(Established);
                    }
                    if p.state == SynSent {
                        p.set_state(Established);
                    }
                    e.set_state(Established);
                }
            }
            if fin {
                e.set_state(Closed);
            }
            if rst {
                e.set_state(Reset);
            }
            if e.state == Inactive {
                if !is_orig && len == 0 && p.state == SynSent {
                    // Some stacks ACK a SYN before answering it: not yet a partial connection.
                } else if ack && p.state == Established {
                    // The SYN was missed but the SYN/ACK and this ACK were seen.
                    e.set_state(Established);
                } else {
                    e.set_state(Partial);
                }
            }
        }
        SynSent | SynAckSent => {
            if fin {
                e.set_state(Closed);
            }
            if rst {
                e.set_state(Reset);
            }
        }
        Established | Partial => {
            if syn && e.state == Partial && p.state == Inactive && !ack {
                e.set_state(SynSent);
            }
            if fin && !rst {
                e.set_state(Closed);
                // A FIN after the peer's FIN-then-RST was a normal close.
                if p.state == Reset && p.prev_state == Closed {
                    p.set_state(Closed);
                }
            }
            if rst {
                e.set_state(Reset);
            }
        }
        Closed => {
            // After both FINs a RST changes nothing.
            if rst && p.state != Closed {
                e.set_state(Reset);
            }
        }
        Reset => {}
    }
    f.sides[side].tcp = e;
    f.sides[peer].tcp = p;
}

/// Builds the record of a finished flow.
fn record(f: &Flow, servers: &dyn ServerPorts, dup: u32) -> FlowRecord {
    let proto = if f.key.proto == ipproto::TCP {
        Proto::Tcp
    } else {
        Proto::Udp
    };
    // Ports of side 0 and side 1.
    let (p0, p1) = if f.side0_lo {
        (f.key.lo_port, f.key.hi_port)
    } else {
        (f.key.hi_port, f.key.lo_port)
    };
    let (client, inferred) = match f.known_client() {
        Some(c) => (c as usize, false),
        None => (infer_client(proto, p0, p1, servers), true),
    };
    let server = 1 - client;
    let (side0_addr, side1_addr) = if f.side0_lo {
        (f.key.lo, f.key.hi)
    } else {
        (f.key.hi, f.key.lo)
    };
    let addr = |s: usize| if s == 0 { side0_addr } else { side1_addr };
    let port = |s: usize| if s == 0 { p0 } else { p1 };
    let (c, s) = (&f.sides[client], &f.sides[server]);

    let mut history = String::with_capacity(f.history_len as usize + 1);
    // Zeek marks a flow whose originator is not the first packet's sender with '^' (the first
    // by time: a capture out of order does not flip a flow).
    if client != f.earliest_side as usize {
        history.push('^');
    }
    for &h in &f.history[..f.history_len as usize] {
        let from = if h & 0x80 != 0 { 1 } else { 0 };
        let letter = (h & 0x7f) as char;
        history.push(if from == client {
            letter
        } else {
            letter.to_ascii_lowercase()
        });
    }

    let (conn_state, syn_synack, synack_ack, rtt) = match proto {
        Proto::Tcp => {
            let st = conn_state(c.tcp.state, s.tcp.state, c.payload, s.payload, &history);
            let syn_synack =
                (f.syn_ns != NONE && f.synack_first_ns != NONE && f.syn_ns <= f.synack_first_ns)
                    .then(|| f.synack_first_ns.saturating_sub(f.syn_ns));
            let synack_ack = if f.ack_ns != NONE && f.synack_first_ns != NONE {
                let from = if f.synack_last_ns != NONE && f.synack_last_ns <= f.ack_ns {
                    f.synack_last_ns
                } else {
                    f.synack_first_ns
                };
                Some(f.ack_ns.saturating_sub(from))
            } else {
                None
            };
            let rtt = match (syn_synack, synack_ack) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            };
            (st, syn_synack, synack_ack, rtt)
        }
        Proto::Udp => {
            let st = udp_conn_state(c.pkts > 0, s.pkts > 0);
            // The first reply: the server's first packet at or after the client's first one.
            let reply = if s.first_ns != NONE && c.first_ns != NONE && s.first_ns >= c.first_ns {
                s.first_ns
            } else {
                s.first_after_peer_ns
            };
            let rtt =
                (reply != NONE && c.first_ns != NONE).then(|| reply.saturating_sub(c.first_ns));
            (st, None, None, rtt)
        }
    };

    let v6 = f.key.v6;
    let (ca, cp, sa, sp) = (addr(client), port(client), addr(server), port(server));
    FlowRecord {
        ts_ns: f.first_ns,
        uid: uid(&f.key, f.first_ns, dup),
        orig_h: ca.to_ip(v6),
        orig_p: cp,
        resp_h: sa.to_ip(v6),
        resp_p: sp,
        proto,
        duration_ns: f.last_ns.saturating_sub(f.first_ns),
        orig_bytes: c.payload,
        resp_bytes: s.payload,
        conn_state,
        history,
        orig_pkts: c.pkts,
        orig_ip_bytes: c.ip_bytes,
        resp_pkts: s.pkts,
        resp_ip_bytes: s.ip_bytes,
        vlan: f.key.vlan.ids().to_vec(),
        community_id: community_id(f.key.proto, v6, &ca, cp, &sa, sp),
        direction_inferred: inferred,
        syn_synack_ns: syn_synack,
        synack_ack_ns: synack_ack,
        rtt_ns: rtt,
        icmp_errors: f.icmp,
        evicted: false,
    }
}

/// The client side when no handshake says: a server port of the rules on one side wins (the
/// more specific one when both are); else a well-known port (< 1024) on exactly one side is the
/// server; else the first sender (side 0) is the client, as in Zeek.
fn infer_client(proto: Proto, p0: u16, p1: u16, servers: &dyn ServerPorts) -> usize {
    match (
        servers.server_port_rank(proto, p0),
        servers.server_port_rank(proto, p1),
    ) {
        (Some(_), None) => return 1,
        (None, Some(_)) => return 0,
        (Some(a), Some(b)) if a < b => return 1,
        (Some(a), Some(b)) if b < a => return 0,
        _ => {}
    }
    let (w0, w1) = (p0 < 1024, p1 < 1024);
    if w0 != w1 {
        return if w0 { 1 } else { 0 };
    }
    0
}

/// Community ID v1 (seed 0) of a flow: base64 of the SHA-1 of seed, ordered addresses,
/// protocol, a zero pad byte and ordered ports (https://github.com/corelight/community-id-spec).
///
/// ```
/// use flowaudit::decode::Addr;
/// use flowaudit::flow::community_id;
/// // The specification's example: TCP 128.232.110.120:34855 -> 66.35.250.204:80.
/// let (a, b) = (Addr::v4(&[128, 232, 110, 120]), Addr::v4(&[66, 35, 250, 204]));
/// assert_eq!(community_id(6, false, &a, 34855, &b, 80), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
/// ```
pub fn community_id(proto: u8, v6: bool, a: &Addr, ap: u16, b: &Addr, bp: u16) -> String {
    let (aw, bw) = (a.wire(v6), b.wire(v6));
    // The spec orders the endpoints by address, then port.
    let ((sa, sp), (da, dp)) = if (aw, ap) <= (bw, bp) {
        ((aw, ap), (bw, bp))
    } else {
        ((bw, bp), (aw, ap))
    };
    let mut h = Sha1::new();
    h.update(0u16.to_be_bytes());
    h.update(sa);
    h.update(da);
    h.update([proto, 0]);
    h.update(sp.to_be_bytes());
    h.update(dp.to_be_bytes());
    let digest = h.finalize();
    let mut s = String::with_capacity(30);
    s.push_str("1:");
    base64(&digest, &mut s);
    s
}

fn base64(data: &[u8], out: &mut String) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
}

/// A deterministic Zeek-style uid: `C` and 96 bits of SHA-256 over the flow's key, its first
/// packet time and a duplicate counter, in base62. The same capture always gives the same uids.
fn uid(key: &FlowKey, first_ns: i64, dup: u32) -> String {
    use sha2::Sha256;
    let mut h = Sha256::new();
    h.update([key.proto, key.v6 as u8]);
    h.update(key.lo.bytes);
    h.update(key.hi.bytes);
    h.update(key.lo_port.to_be_bytes());
    h.update(key.hi_port.to_be_bytes());
    for id in key.vlan.ids() {
        h.update(id.to_be_bytes());
    }
    h.update(first_ns.to_be_bytes());
    h.update(dup.to_be_bytes());
    let d = h.finalize();
    let mut n = u128::from_be_bytes([
        0, 0, 0, 0, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11],
    ]);
    const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut digits = [b'0'; 17];
    for d in digits.iter_mut().rev() {
        *d = B62[(n % 62) as usize];
        n /= 62;
    }
    let mut s = String::with_capacity(18);
    s.push('C');
    s.extend(digits.iter().map(|&c| c as char));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Tcp, Udp};
    use tcpflags::*;

    fn a(last: u8) -> Addr {
        Addr::v4(&[10, 0, 0, last])
    }

    fn tcp(src: u8, sport: u16, dst: u8, dport: u16, flags: u8, seq: u32, len: u32) -> Packet {
        Packet {
            vlan: VlanStack::default(),
            v6: false,
            src: a(src),
            dst: a(dst),
            ip_len: 40 + len,
            transport: Transport::Tcp(Tcp {
                src_port: sport,
                dst_port: dport,
                seq,
                ack: 1,
                flags,
                window: 1000,
                payload_len: len,
            }),
        }
    }

    /// Client 10.0.0.1:40000 -> server 10.0.0.2:80 packets.
    fn c(flags: u8, seq: u32, len: u32) -> Packet {
        tcp(1, 40000, 2, 80, flags, seq, len)
    }
    fn s(flags: u8, seq: u32, len: u32) -> Packet {
        tcp(2, 80, 1, 40000, flags, seq, len)
    }

    fn run(pkts: &[(i64, Packet)]) -> Vec<FlowRecord> {
        let mut t = FlowTable::new(FlowConfig::default());
        for (ts, p) in pkts {
            t.packet(*ts, p);
        }
        t.finish(&NoServerPorts).collect()
    }

    const MS: i64 = 1_000_000;

    #[test]
    fn full_connection_is_sf() {
        let r = run(&[
            (0, c(SYN, 100, 0)),
            (10 * MS, s(SYN | ACK, 500, 0)),
            (11 * MS, c(ACK, 101, 0)),
            (12 * MS, c(ACK | PSH, 101, 10)),
            (13 * MS, s(ACK | PSH, 501, 20)),
            (14 * MS, c(FIN | ACK, 111, 0)),
            (15 * MS, s(FIN | ACK, 521, 0)),
            (16 * MS, c(ACK, 112, 0)),
        ]);
        assert_eq!(r.len(), 1);
        let f = &r[0];
        assert_eq!(f.conn_state, ConnState::SF);
        assert_eq!(f.history, "ShADdFf");
        assert_eq!(
            (f.orig_pkts, f.resp_pkts, f.orig_bytes, f.resp_bytes),
            (5, 3, 10, 20)
        );
        assert_eq!(f.syn_synack_ns, Some(10 * MS));
        assert_eq!(f.synack_ack_ns, Some(MS));
        assert_eq!(f.rtt_ns, Some(11 * MS));
        assert!(!f.direction_inferred);
        assert_eq!(f.duration_ns, 16 * MS);
    }

    #[test]
    fn conn_states() {
        let cases: Vec<(&str, &str, Vec<Packet>)> = vec![
            ("S0", "S", vec![c(SYN, 1, 0), c(SYN, 1, 0)]),
            ("REJ", "Sr", vec![c(SYN, 1, 0), s(RST | ACK, 0, 0)]),
            (
                "S1",
                "ShAD",
                vec![c(SYN, 1, 0), s(SYN | ACK, 9, 0), c(ACK, 2, 0), c(ACK, 2, 5)],
            ),
            ("RSTOS0", "SR", vec![c(SYN, 1, 0), c(RST, 2, 0)]),
            ("RSTRH", "^hr", vec![s(SYN | ACK, 9, 0), s(RST, 10, 0)]),
            ("SH", "SF", vec![c(SYN, 1, 0), c(FIN, 2, 0)]),
            ("SHR", "^hf", vec![s(SYN | ACK, 9, 0), s(FIN | ACK, 10, 0)]),
            (
                "OTH",
                "Dd",
                vec![
                    tcp(1, 50000, 2, 40001, ACK, 5, 3),
                    tcp(2, 40001, 1, 50000, ACK, 7, 3),
                ],
            ),
            (
                "S2",
                "ShAFa",
                vec![
                    c(SYN, 1, 0),
                    s(SYN | ACK, 9, 0),
                    c(ACK, 2, 0),
                    c(FIN | ACK, 2, 0),
                    s(ACK, 10, 0),
                ],
            ),
            (
                "RSTO",
                "ShADR",
                vec![
                    c(SYN, 1, 0),
                    s(SYN | ACK, 9, 0),
                    c(ACK, 2, 0),
                    c(ACK, 2, 4),
                    c(RST, 6, 0),
                ],
            ),
            (
                "RSTR",
                "ShADr",
                vec![
                    c(SYN, 1, 0),
                    s(SYN | ACK, 9, 0),
                    c(ACK, 2, 0),
                    c(ACK, 2, 4),
                    s(RST, 10, 0),
                ],
            ),
        ];
        for (state, history, pkts) in cases {
            let timed: Vec<_> = pkts
                .into_iter()
                .enumerate()
                .map(|(i, p)| (i as i64 * MS, p))
                .collect();
            let r = run(&timed);
            assert_eq!(r.len(), 1, "{state}");
            assert_eq!(
                (r[0].conn_state.name(), r[0].history.as_str()),
                (state, history),
                "{state}"
            );
        }
    }

    #[test]
    fn port_reuse_after_close_starts_new_flow() {
        let r = run(&[
            (0, c(SYN, 100, 0)),
            (MS, s(SYN | ACK, 500, 0)),
            (2 * MS, c(ACK, 101, 0)),
            (3 * MS, c(FIN | ACK, 101, 0)),
            (4 * MS, s(FIN | ACK, 501, 0)),
            (5 * MS, c(ACK, 102, 0)),
            (NS, c(SYN, 9000, 0)),
            (NS + MS, s(RST | ACK, 0, 0)),
            (2 * NS, c(SYN, 9500, 0)),
        ]);
        let states: Vec<_> = r.iter().map(|f| f.conn_state.name()).collect();
        assert_eq!(states, ["SF", "REJ", "S0"]);
        assert_ne!(r[0].uid, r[1].uid);
    }

    #[test]
    fn syn_retransmission_is_same_flow_and_timed_from_last_syn() {
        let r = run(&[
            (0, c(SYN, 100, 0)),
            (NS, c(SYN, 100, 0)),
            (NS + 10 * MS, s(SYN | ACK, 500, 0)),
            (NS + 10 * MS + 200_000, c(ACK, 101, 0)),
        ]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].syn_synack_ns, Some(10 * MS));
        assert_eq!(r[0].synack_ack_ns, Some(200_000));
    }

    #[test]
    fn out_of_order_synack_first() {
        // The SYN/ACK record comes first but the SYN is 20 us earlier.
        let r = run(&[
            (20_000, s(SYN | ACK, 500, 0)),
            (0, c(SYN, 100, 0)),
            (40_000, c(ACK, 101, 0)),
        ]);
        assert_eq!(r.len(), 1);
        let f = &r[0];
        assert_eq!(f.ts_ns, 0);
        assert_eq!(f.orig_p, 40000);
        assert_eq!(f.syn_synack_ns, Some(20_000));
        assert_eq!(f.synack_ack_ns, Some(20_000));
        assert_eq!(f.duration_ns, 40_000);
        // Letters in time order, and no flip: the client sent the earliest packet.
        assert_eq!(f.history, "ShA");
    }

    #[test]
    fn idle_timeout_splits() {
        let u = |src: u8, sp: u16, dst: u8, dp: u16| Packet {
            vlan: VlanStack::default(),
            v6: false,
            src: a(src),
            dst: a(dst),
            ip_len: 38,
            transport: Transport::Udp(Udp {
                src_port: sp,
                dst_port: dp,
                payload_len: 10,
            }),
        };
        let r = run(&[
            (0, u(1, 5000, 2, 53)),
            (800_000, u(2, 53, 1, 5000)),
            (61 * NS, u(1, 5000, 2, 53)),
        ]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].rtt_ns, Some(800_000));
        assert_eq!(r[0].conn_state, ConnState::SF);
        assert_eq!(r[1].conn_state, ConnState::S0);
        assert!(r[0].direction_inferred);
    }

    #[test]
    fn inferred_direction_well_known_port() {
        // First packet from the server side (443): the client is the other side, flipped.
        let r = run(&[
            (0, tcp(2, 443, 1, 50123, ACK | PSH, 10, 100)),
            (MS, tcp(1, 50123, 2, 443, ACK, 20, 0)),
        ]);
        assert_eq!(r[0].orig_p, 50123);
        assert!(r[0].direction_inferred);
        assert_eq!(r[0].history, "^dA");
        assert_eq!(r[0].conn_state, ConnState::OTH);
    }

    #[test]
    fn retransmission_letters_are_logarithmic() {
        let mut pkts = vec![
            (0, c(SYN, 100, 0)),
            (MS, s(SYN | ACK, 500, 0)),
            (2 * MS, c(ACK, 101, 0)),
        ];
        for i in 0..12 {
            pkts.push((3 * MS + i, c(ACK, 101, 10)));
        }
        let r = run(&pkts);
        // The first data segment is new; the next 11 are retransmissions: T at the 1st and 10th.
        assert_eq!(r[0].history, "ShADTT");
    }

    #[test]
    fn packet_earlier_than_the_last_four_letters() {
        // Regression: a data packet older than the packets of the last four history letters
        // used to underflow the window of recent letter times.
        let r = run(&[
            (10 * MS, c(SYN, 100, 0)),
            (11 * MS, s(SYN | ACK, 500, 0)),
            (12 * MS, c(ACK, 101, 0)),
            (13 * MS, s(FIN | ACK, 501, 0)),
            (MS, c(ACK | PSH, 101, 10)),
        ]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].history, "DShAf");
        assert_eq!(r[0].ts_ns, MS);
    }

    #[test]
    fn community_id_reference_vectors() {
        // From the community-id-spec baseline (tcp 128.232.110.120:34855 -> 66.35.250.204:80).
        let s = Addr::v4(&[128, 232, 110, 120]);
        let d = Addr::v4(&[66, 35, 250, 204]);
        assert_eq!(
            community_id(6, false, &s, 34855, &d, 80),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            community_id(6, false, &d, 80, &s, 34855),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
    }

    #[test]
    fn uid_shape_and_determinism() {
        let (k, _) = FlowKey::new(6, false, VlanStack::default(), a(1), 1, a(2), 2);
        let u = uid(&k, 5, 0);
        assert_eq!(u.len(), 18);
        assert!(u.starts_with('C'));
        assert_eq!(u, uid(&k, 5, 0));
        assert_ne!(u, uid(&k, 5, 1));
    }
}
