//! Pairing one-directional records ([`HalfFlow`]s: NetFlow, IPFIX, EVE `netflow` events, VPC
//! flow logs) into bidirectional [`FlowRecord`]s, and turning a record's two directions
//! ([`Item::Pair`]) into one.
//!
//! Halves are kept in a table keyed by observation point, protocol and the two endpoints. A half
//! joins the open entry of its key (adding to its direction: an exporter's active timeout splits
//! a long connection into several records) unless the entry has been idle longer than the
//! protocol's idle timeout, or, for TCP, the same direction already closed (FIN or RST) and the
//! new half opens again (SYN): then the entry ends and a new one starts. An entry ends when the
//! clock (the latest record time read) passes its last packet plus the idle timeout (the
//! linger time once TCP closed both ways or was reset), so memory follows the connections open
//! within that time, not the input's length.
//!
//! **Direction**: the exporter's word ([`Initiator`]) first; then TCP flags: the side that sent
//! SYN without ACK, or the only side that sent SYN, is the client; else the inference flowaudit
//! uses for packets (rules' server ports, Zeek's likely server ports, the first sender), and the
//! record says `direction_inferred`.
//!
//! **State** (an approximation, named so in the README): records carry the OR of each
//! direction's TCP flags, not their order. `conn_state` is what those sets allow: S0 (client
//! SYN, no answer), REJ (client SYN, answered by RST only), RSTOS0, SH, S1 (SYN both ways), SF
//! (and FIN both ways), S2/S3 (one FIN), RSTO/RSTR (a RST after establishment), SHR/RSTRH (only
//! the responder's SYN), OTH otherwise (no flags: established when both sides sent). `history`
//! lists the flag letters each side sent in Zeek's letters (S h A a F f R r), in that fixed
//! order, not the order they were sent. Payload byte counts (`orig_bytes`, `resp_bytes`) are
//! unknown (0); `orig_ip_bytes`/`resp_ip_bytes` are the records' octets.
//!
//! **Sampling**: a half sampled 1 in N has its packets and bytes multiplied by N.

use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;

use super::Item;
use super::half::{HalfFlow, Initiator, tcp_flags};
use crate::decode::{Addr, ipproto};
use crate::flow::record::infer_client;
use crate::flow::{ConnState, FlowRecord, Proto, ServerPorts, Text, community_id, udp_conn_state};

/// What keys a half: its observation point, protocol and endpoints (lower endpoint first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    observer: u64,
    proto: Proto,
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
    vlan: Option<u16>,
}

/// One direction's totals in an entry.
#[derive(Debug, Clone, Copy, Default)]
struct Side {
    pkts: u64,
    ip_bytes: u64,
    flags: Option<u8>,
    start_ns: i64,
    end_ns: i64,
    /// Halves added.
    halves: u32,
    initiator: Initiator,
    rejected: Option<&'static str>,
    /// [`super::half::service_code`] of the first service a half gave (0: none).
    service: u8,
}

impl Side {
    fn add(&mut self, h: &HalfFlow) {
        let n = u64::from(h.sampling.max(1));
        if self.halves == 0 {
            self.start_ns = h.start_ns;
            self.end_ns = h.end_ns;
        } else {
            self.start_ns = self.start_ns.min(h.start_ns);
            self.end_ns = self.end_ns.max(h.end_ns);
        }
        self.halves += 1;
        self.pkts = self.pkts.saturating_add(h.pkts.saturating_mul(n));
        self.ip_bytes = self.ip_bytes.saturating_add(h.ip_bytes.saturating_mul(n));
        if let Some(f) = h.tcp_flags {
            self.flags = Some(self.flags.unwrap_or(0) | f);
        }
        if h.initiator != Initiator::Unknown {
            self.initiator = h.initiator;
        }
        self.rejected = self.rejected.or(h.rejected);
        if self.service == 0 {
            self.service = super::half::service_code(h.service);
        }
    }

    fn has(&self, bit: u8) -> bool {
        self.flags.is_some_and(|f| f & bit != 0)
    }

    fn closed(&self) -> bool {
        self.has(tcp_flags::FIN) || self.has(tcp_flags::RST)
    }
}

/// An open entry: side 0 is the `lo` endpoint sending, side 1 the `hi` endpoint.
#[derive(Debug, Clone)]
struct Entry {
    sides: [Side; 2],
    flow_id: Option<u64>,
    /// Order of creation, for deterministic output.
    seq: u64,
}

impl Entry {
    /// TCP closed both ways (FIN from each side), or reset.
    fn closed(&self) -> bool {
        let [a, b] = &self.sides;
        a.has(tcp_flags::RST)
            || b.has(tcp_flags::RST)
            || (a.has(tcp_flags::FIN) && b.has(tcp_flags::FIN))
    }

    fn end_ns(&self) -> i64 {
        self.sides
            .iter()
            .filter(|s| s.halves > 0)
            .map(|s| s.end_ns)
            .max()
            .unwrap_or(i64::MIN)
    }
}

/// Counters of the pairing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairStats {
    /// Halves read.
    pub halves: u64,
    /// Records made of halves (one or both directions).
    pub records: u64,
    /// Of them, records with both directions.
    pub paired: u64,
    /// Records whose direction was inferred (no exporter word, no telling TCP flags).
    pub direction_inferred: u64,
    /// Halves whose packets and bytes were scaled by a sampling rate.
    pub sampled: u64,
    /// TCP records made without any TCP flags (their failure cannot be told).
    pub tcp_without_flags: u64,
    /// Halves left out because a record of both directions with the same exporter flow id
    /// was read (Suricata writes a flow's `netflow` events beside its `flow` event).
    pub same_flow_id: u64,
    /// Entries ended early, the table being full ([`Pairer::with_limit`]): a later half of
    /// such a connection starts a new record.
    pub evicted: u64,
}

/// Pairs halves into flow records (see the module's documentation).
pub struct Pairer<'s> {
    tcp_idle_ns: i64,
    linger_ns: i64,
    udp_idle_ns: i64,
    servers: &'s dyn ServerPorts,
    open: HashMap<Key, Entry>,
    /// (Reverse of) deadline and seq: entries by when they end; stale ones are skipped.
    deadlines: BinaryHeap<std::cmp::Reverse<(i64, u64)>>,
    /// The key of each open entry, by seq.
    keys: HashMap<u64, Key>,
    /// Exporter flow ids of records of both directions read, with when they may be forgotten
    /// (their end plus the idle timeout).
    pair_ids: HashMap<u64, i64>,
    /// The key of each open entry that has an exporter flow id.
    by_flow_id: HashMap<u64, Key>,
    /// `pair_ids` by when they may be forgotten.
    forget: BinaryHeap<std::cmp::Reverse<(i64, u64)>>,
    next_seq: u64,
    /// The most entries open at once, and the most flow ids of `pair_ids` (0: no limit).
    max_open: usize,
    pub stats: PairStats,
}

impl<'s> Pairer<'s> {
    /// `linger_ns`: how long a closed TCP connection's entry stays for late halves.
    pub fn new(
        tcp_idle_ns: i64,
        udp_idle_ns: i64,
        linger_ns: i64,
        servers: &'s dyn ServerPorts,
    ) -> Self {
        Pairer {
            tcp_idle_ns: tcp_idle_ns.max(1),
            linger_ns: linger_ns.max(1),
            udp_idle_ns: udp_idle_ns.max(1),
            servers,
            open: HashMap::new(),
            deadlines: BinaryHeap::new(),
            keys: HashMap::new(),
            pair_ids: HashMap::new(),
            by_flow_id: HashMap::new(),
            forget: BinaryHeap::new(),
            next_seq: 0,
            max_open: 0,
            stats: PairStats::default(),
        }
    }

    /// At most `max_open` entries open at once (0: no limit): when a half would open one more,
    /// the entry due to end first ends at once, its record marked evicted (as a full flow table
    /// ends the flow idle the longest) and counted in [`PairStats::evicted`]. The flow ids
    /// of records of both directions are kept to as many, the first to be forgotten going.
    pub fn with_limit(mut self, max_open: usize) -> Self {
        self.max_open = max_open;
        self
    }

    /// Entries open now.
    pub fn open(&self) -> usize {
        self.open.len()
    }

    fn idle(&self, proto: Proto) -> i64 {
        match proto {
            Proto::Tcp => self.tcp_idle_ns,
            Proto::Udp => self.udp_idle_ns,
        }
    }

    /// When an entry ends: its last packet plus the idle timeout, or plus the linger time
    /// once the TCP connection closed.
    fn deadline(&self, proto: Proto, e: &Entry) -> i64 {
        let wait = if proto == Proto::Tcp && e.closed() {
            self.linger_ns
        } else {
            self.idle(proto)
        };
        e.end_ns().saturating_add(wait)
    }

    /// Adds one item: a half joins its entry (records that end on the way go to `out`); a pair
    /// becomes a record at once; a flow record passes through.
    pub fn add(&mut self, item: Item, out: &mut Vec<FlowRecord>) {
        match item {
            Item::Flow(r) => out.push(r),
            Item::Pair { orig, resp } => {
                self.stats.halves += 2;
                if let Some(id) = orig.flow_id.or(resp.flow_id) {
                    // Halves of the same flow read before it are the same connection.
                    if let Some(&key) = self.by_flow_id.get(&id)
                        && let Some(e) = self.close(&key)
                    {
                        self.stats.same_flow_id +=
                            e.sides.iter().map(|s| u64::from(s.halves)).sum::<u64>();
                    }
                    let forget = orig
                        .end_ns
                        .max(resp.end_ns)
                        .saturating_add(self.idle(orig.proto));
                    if self.max_open > 0
                        && self.pair_ids.len() >= self.max_open
                        && !self.pair_ids.contains_key(&id)
                    {
                        self.forget_first(None);
                    }
                    self.pair_ids.insert(id, forget);
                    self.forget.push(std::cmp::Reverse((forget, id)));
                }
                let mut e = Entry {
                    sides: [Side::default(); 2],
                    flow_id: orig.flow_id.or(resp.flow_id),
                    seq: 0,
                };
                self.count_sampled(&orig);
                self.count_sampled(&resp);
                e.sides[0].add(&orig);
                if resp.pkts > 0 {
                    e.sides[1].add(&resp);
                }
                let r = self.record(
                    &e,
                    [(orig.src, orig.src_port), (orig.dst, orig.dst_port)],
                    orig.proto,
                    orig.vlan,
                );
                out.push(r);
            }
            Item::Half(h) => self.half(h, out),
        }
    }

    fn count_sampled(&mut self, h: &HalfFlow) {
        if h.sampling > 1 {
            self.stats.sampled += 1;
        }
    }

    fn half(&mut self, h: HalfFlow, out: &mut Vec<FlowRecord>) {
        self.stats.halves += 1;
        if h.flow_id.is_some_and(|id| self.pair_ids.contains_key(&id)) {
            self.stats.same_flow_id += 1;
            return;
        }
        self.count_sampled(&h);
        let a = (h.src, h.src_port);
        let b = (h.dst, h.dst_port);
        let (lo, hi, side) = if a <= b { (a, b, 0) } else { (b, a, 1) };
        let key = Key {
            observer: h.observer,
            proto: h.proto,
            lo,
            hi,
            vlan: h.vlan,
        };
        let idle = self.idle(h.proto);
        if let Some(e) = self.open.get(&key) {
            let s = &e.sides[side];
            let stale = h.start_ns > e.end_ns().saturating_add(idle);
            let reopened = h.proto == Proto::Tcp
                && s.halves > 0
                && s.closed()
                && h.tcp_flags.is_some_and(|f| f & tcp_flags::SYN != 0)
                && h.start_ns > s.end_ns;
            let other_id = e.flow_id.is_some() && h.flow_id.is_some() && e.flow_id != h.flow_id;
            if (stale || reopened || other_id)
                && let Some(e) = self.close(&key)
            {
                out.push(self.record(&e, [lo, hi], key.proto, key.vlan));
            }
        }
        if self.max_open > 0 && self.open.len() >= self.max_open && !self.open.contains_key(&key) {
            // The table is full: the entry due first ends now.
            if let Some((k, e)) = self.pop_due(None) {
                let mut r = self.record(&e, [k.lo, k.hi], k.proto, k.vlan);
                r.evicted = true;
                self.stats.evicted += 1;
                out.push(r);
            }
        }
        let seq = self.next_seq;
        let e = self.open.entry(key).or_insert_with(|| Entry {
            sides: [Side::default(); 2],
            flow_id: None,
            seq,
        });
        if e.seq == seq {
            self.next_seq += 1;
            self.keys.insert(seq, key);
        }
        e.sides[side].add(&h);
        if e.flow_id.is_none()
            && let Some(id) = h.flow_id
        {
            e.flow_id = Some(id);
            self.by_flow_id.insert(id, key);
        }
        let seq = e.seq;
        let deadline = match self.open.get(&key) {
            Some(e) => self.deadline(key.proto, e),
            None => return,
        };
        self.deadlines.push(std::cmp::Reverse((deadline, seq)));
    }

    /// Removes an open entry and what indexes it.
    fn close(&mut self, key: &Key) -> Option<Entry> {
        let e = self.open.remove(key)?;
        self.keys.remove(&e.seq);
        if let Some(id) = e.flow_id {
            self.by_flow_id.remove(&id);
        }
        Some(e)
    }

    /// The clock is at `now_ns`: entries idle past their timeout end, in order of deadline.
    pub fn advance(&mut self, now_ns: i64, out: &mut Vec<FlowRecord>) {
        while self.forget_first(Some(now_ns)) {}
        while let Some((key, e)) = self.pop_due(Some(now_ns)) {
            out.push(self.record(&e, [key.lo, key.hi], key.proto, key.vlan));
        }
    }

    /// Forgets the flow id to be forgotten first, if that is before `before` (None: whenever):
    /// whether there was one.
    fn forget_first(&mut self, before: Option<i64>) -> bool {
        while let Some(&std::cmp::Reverse((forget, id))) = self.forget.peek() {
            if before.is_some_and(|t| forget >= t) {
                return false;
            }
            self.forget.pop();
            if self.pair_ids.get(&id) == Some(&forget) {
                self.pair_ids.remove(&id);
                return true;
            }
        }
        false
    }

    /// The open entry due to end first, if its deadline is before `before` (None: whenever),
    /// closed (stale deadlines on the way are dropped).
    fn pop_due(&mut self, before: Option<i64>) -> Option<(Key, Entry)> {
        while let Some(&std::cmp::Reverse((deadline, seq))) = self.deadlines.peek() {
            if before.is_some_and(|t| deadline >= t) {
                return None;
            }
            self.deadlines.pop();
            let Some(&key) = self.keys.get(&seq) else {
                continue;
            };
            let current = self
                .open
                .get(&key)
                .is_some_and(|e| self.deadline(key.proto, e) == deadline);
            if current && let Some(e) = self.close(&key) {
                return Some((key, e));
            }
        }
        None
    }

    /// The input ended: every open entry ends, in order of creation.
    pub fn finish(&mut self, out: &mut Vec<FlowRecord>) {
        let mut rest: Vec<(Key, Entry)> = self.open.drain().collect();
        rest.sort_by_key(|(_, e)| e.seq);
        self.deadlines.clear();
        self.keys.clear();
        self.by_flow_id.clear();
        for (key, e) in rest {
            out.push(self.record(&e, [key.lo, key.hi], key.proto, key.vlan));
        }
    }

    /// The record of an entry whose side 0 is sent by `ends[0]`.
    fn record(
        &mut self,
        e: &Entry,
        ends: [(IpAddr, u16); 2],
        proto: Proto,
        vlan: Option<u16>,
    ) -> FlowRecord {
        let (client, inferred) = client_side(e, ends, proto, self.servers);
        let (o, r) = (&e.sides[client], &e.sides[1 - client]);
        let (oe, re) = (ends[client], ends[1 - client]);
        self.stats.records += 1;
        if o.halves > 0 && r.halves > 0 {
            self.stats.paired += 1;
        }
        if inferred {
            self.stats.direction_inferred += 1;
        }
        if proto == Proto::Tcp && o.flags.is_none() && r.flags.is_none() {
            self.stats.tcp_without_flags += 1;
        }
        let present: Vec<&Side> = [o, r].into_iter().filter(|s| s.halves > 0).collect();
        let ts_ns = present.iter().map(|s| s.start_ns).min().unwrap_or(0);
        let end_ns = present.iter().map(|s| s.end_ns).max().unwrap_or(ts_ns);
        let (conn_state, history) = match proto {
            Proto::Tcp => tcp_state(o, r),
            Proto::Udp => (udp_conn_state(o.pkts > 0, r.pkts > 0), udp_history(o, r)),
        };
        let n = match proto {
            Proto::Tcp => ipproto::TCP,
            Proto::Udp => ipproto::UDP,
        };
        let v6 = oe.0.is_ipv6();
        let cid = community_id(n, v6, &addr(oe.0), oe.1, &addr(re.0), re.1);
        // The client's half's service, else the server's.
        let service = super::half::service_of(if o.service != 0 { o.service } else { r.service });
        let uid = match e.flow_id {
            Some(id) => compact_str::format_compact!("F{id}"),
            None => uid(proto, oe, re, ts_ns, vlan),
        };
        FlowRecord {
            ts_ns,
            uid,
            orig_h: oe.0,
            orig_p: oe.1,
            resp_h: re.0,
            resp_p: re.1,
            proto,
            duration_ns: end_ns.saturating_sub(ts_ns).max(0),
            orig_bytes: 0,
            resp_bytes: 0,
            conn_state,
            missed_bytes: 0,
            history,
            orig_pkts: o.pkts,
            orig_ip_bytes: o.ip_bytes,
            resp_pkts: r.pkts,
            resp_ip_bytes: r.ip_bytes,
            vlan: vlan.into_iter().collect(),
            community_id: cid,
            direction_inferred: inferred,
            syn_synack_ns: None,
            synack_ack_ns: None,
            rtt_ns: None,
            icmp_errors: None,
            evicted: false,
            service: Text::from(service.unwrap_or_default()),
            service_status: match service {
                None => crate::flow::ServiceStatus::NotInSource,
                Some(super::half::APP_UNKNOWN) => crate::flow::ServiceStatus::Unknown,
                Some(_) => crate::flow::ServiceStatus::Known,
            },
            tls: None,
            tunnel: None,
            tunnel_parents: Vec::new(),
            bad_checksums: 0,
            rejected: o.rejected.or(r.rejected),
        }
    }
}

fn addr(ip: IpAddr) -> Addr {
    match ip {
        IpAddr::V4(a) => Addr::v4(&a.octets()),
        IpAddr::V6(a) => Addr::v6(&a.octets()),
    }
}

/// A deterministic uid for a paired record: `C` and 96 bits of SHA-256 over the endpoints and
/// the first packet's time, as the packet path makes them.
fn uid(proto: Proto, o: (IpAddr, u16), r: (IpAddr, u16), ts_ns: i64, vlan: Option<u16>) -> Text {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"records");
    h.update([proto as u8]);
    for (ip, port) in [o, r] {
        match ip {
            IpAddr::V4(a) => h.update(a.octets()),
            IpAddr::V6(a) => h.update(a.octets()),
        }
        h.update(port.to_be_bytes());
    }
    h.update(ts_ns.to_be_bytes());
    if let Some(v) = vlan {
        h.update(v.to_be_bytes());
    }
    crate::flow::ids::uid_text(&h.finalize())
}

/// Which side (0 or 1) is the client, and whether that was inferred.
fn client_side(
    e: &Entry,
    ends: [(IpAddr, u16); 2],
    proto: Proto,
    servers: &dyn ServerPorts,
) -> (usize, bool) {
    let [s0, s1] = &e.sides;
    for (i, s) in [s0, s1].into_iter().enumerate() {
        match s.initiator {
            Initiator::Source if s.halves > 0 => return (i, false),
            Initiator::Destination if s.halves > 0 => return (1 - i, false),
            _ => {}
        }
    }
    if proto == Proto::Tcp {
        let syn_only = |s: &Side| s.has(tcp_flags::SYN) && !s.has(tcp_flags::ACK);
        match (syn_only(s0), syn_only(s1)) {
            (true, false) => return (0, false),
            (false, true) => return (1, false),
            _ => {}
        }
        match (s0.has(tcp_flags::SYN), s1.has(tcp_flags::SYN)) {
            (true, false) => return (0, false),
            (false, true) => return (1, false),
            _ => {}
        }
    }
    // The first sender is side `first`; inference as for packets.
    let first = match (s0.halves > 0, s1.halves > 0) {
        (true, true) => usize::from(s1.start_ns < s0.start_ns),
        (false, true) => 1,
        _ => 0,
    };
    let c = infer_client(proto, ends[first].1, ends[1 - first].1, servers);
    (if c == 0 { first } else { 1 - first }, true)
}

/// TCP conn_state and history from each side's OR'ed flags (see the module's documentation).
fn tcp_state(o: &Side, r: &Side) -> (ConnState, Text) {
    use tcp_flags::{ACK, FIN, RST, SYN};
    let mut history = Text::default();
    for (bit, oc, rc) in [
        (SYN, 'S', 'h'),
        (ACK, 'A', 'a'),
        (FIN, 'F', 'f'),
        (RST, 'R', 'r'),
    ] {
        if o.has(bit) {
            history.push(oc);
        }
        if r.has(bit) {
            history.push(rc);
        }
    }
    if o.flags.is_none() && r.flags.is_none() {
        return (ConnState::OTH, history);
    }
    let (osyn, rsyn) = (o.has(SYN), r.has(SYN));
    let state = if osyn && rsyn {
        match (o.has(FIN), r.has(FIN), o.has(RST), r.has(RST)) {
            (_, _, true, _) => ConnState::RSTO,
            (_, _, _, true) => ConnState::RSTR,
            (true, true, _, _) => ConnState::SF,
            (true, false, _, _) => ConnState::S2,
            (false, true, _, _) => ConnState::S3,
            _ => ConnState::S1,
        }
    } else if osyn {
        if r.pkts > 0 && r.has(RST) {
            ConnState::REJ
        } else if r.pkts > 0 {
            ConnState::OTH
        } else if o.has(RST) {
            ConnState::RSTOS0
        } else if o.has(FIN) {
            ConnState::SH
        } else {
            ConnState::S0
        }
    } else if rsyn && o.pkts == 0 {
        if r.has(RST) {
            ConnState::RSTRH
        } else {
            ConnState::SHR
        }
    } else {
        ConnState::OTH
    };
    (state, history)
}

/// UDP has no flags: Zeek's history letter D/d for each side that sent.
fn udp_history(o: &Side, r: &Side) -> Text {
    let mut h = Text::default();
    if o.pkts > 0 {
        h.push('D');
    }
    if r.pkts > 0 {
        h.push('d');
    }
    h
}

#[cfg(test)]
mod tests;
