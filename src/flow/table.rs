//! The flow table: the flows open now, their index, their expiry and eviction.
//!
//! Flows sit in a slab (a vector whose free slots are reused), found through an index of slab
//! numbers keyed by the flow key's hash. Each flow has one entry in one of three expiry queues,
//! by what ends it when idle: an open TCP flow (the TCP idle timeout), a UDP flow (the UDP idle
//! timeout) and a closed TCP flow (the linger). An entry's deadline is never later than its
//! flow's real one (its last packet time plus its queue's timeout); entries are brought up to
//! date only when they reach the front, so a packet costs no queue work. In the open-TCP and UDP
//! queues the deadline order is the last-packet-time order, so their fronts are the TCP and UDP
//! flows idle the longest; the third queue's front is the flow due to end first (closed flows and
//! attempts end at their close or first SYN plus a delay). Eviction takes the front idle the
//! longest of the three.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use hashbrown::HashTable;

use super::app;
use super::history::bit;
use super::key::{FlowKey, TunnelTable, VlanTable};
use super::record::{self, FlowRecord, IcmpErrors};
use super::state::{Ext, Flow, NO_EXT, NO_SIDE, NONE};
use super::tcp::{self, TcpState};
use super::{FlowConfig, FlowSink, IcmpAttach, NS, ServerPorts, Text};
use crate::decode::{
    Addr, Checksum, ChecksumMode, Icmp, Packet, Sni, Tcp, Transport, TunnelKind, Udp, VlanStack,
    ipproto, tcpflags,
};

/// Expiry queue of open TCP flows.
const Q_TCP: usize = 0;
/// Expiry queue of UDP flows.
const Q_UDP: usize = 1;
/// Expiry queue of TCP flows due soon: closed, connection attempts, never advanced.
const Q_CLOSED: usize = 2;

/// Zeek's `tcp_attempt_delay`: a connection attempt with no reply ends this long after the
/// client's first SYN (ns).
pub const ATTEMPT_NS: i64 = 5 * NS;

/// A TCP flow no packet of which advanced either endpoint (all had bad checksums) ends at
/// Zeek's first expiry check that finds it idle for `tcp_connection_linger` (5 s): the checks
/// come `tcp_SYN_timeout` (5 s) after it began, then every `tcp_session_timer` (6 s) (ns).
pub const EMPTY_NS: i64 = 11 * NS;

/// An expiry entry: deadline (ns), slab slot, and the tag the flow had when it was queued
/// (a flow's entries other than its own are stale and dropped when met).
type Entry = Reverse<(i64, u32, u32)>;

/// What the table did, for the statistics and the report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TableStats {
    /// Flows ended (records handed on).
    pub flows: u64,
    pub tcp: u64,
    pub udp: u64,
    /// Flows ended early because the table was full.
    pub evicted: u64,
    /// The most flows open at once.
    pub peak_open: u64,
    /// Packets whose VLAN stack found no number of its own (see [`VlanTable`]).
    pub vlan_overflow: u64,
    /// Packets that came through a tunnel.
    pub tunnelled: u64,
}

/// Most outer flow uids kept for one flow inside a UDP tunnel.
pub const MAX_PARENTS: usize = 4;

/// The outer UDP flow a tunnelled packet came in: its slot, and its first packet time and
/// duplicate number (a later flow in the same slot differs in them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outer {
    slot: u32,
    first_ns: i64,
    dup: u8,
}

/// The outer flows a flow inside a UDP tunnel came in: their uids (in the order met, at most
/// [`MAX_PARENTS`]) and the last one, so that a packet in the same outer flow costs a compare.
#[derive(Debug, Default)]
struct Parents {
    last: Option<Outer>,
    uids: Vec<Text>,
}

/// The IP layer of a UDP datagram, as its flow counts it: a packet's, or a UDP tunnel's outer
/// layer.
#[derive(Clone, Copy)]
struct Datagram {
    v6: bool,
    src: Addr,
    dst: Addr,
    /// IP bytes of the datagram.
    ip_len: u32,
    /// Its UDP checksum is wrong and checksums are verified.
    bad: bool,
}

/// A vector whose released slots are reused: a slot's number stays its item's while it lives.
struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Stores `item` in a released slot, or a new one; returns the slot.
    fn insert(&mut self, item: T) -> u32 {
        match self.free.pop() {
            Some(s) => {
                self.items[s as usize] = item;
                s
            }
            None => {
                self.items.push(item);
                (self.items.len() - 1) as u32
            }
        }
    }
    /// The slot may be reused (its item stays readable until then).
    fn release(&mut self, slot: u32) {
        self.free.push(slot);
    }
    /// Slots in use.
    fn live(&self) -> usize {
        self.items.len() - self.free.len()
    }
    /// Slots ever made.
    fn len(&self) -> usize {
        self.items.len()
    }
}

impl<T> std::ops::Index<u32> for Slab<T> {
    type Output = T;
    #[inline]
    fn index(&self, slot: u32) -> &T {
        &self.items[slot as usize]
    }
}

impl<T> std::ops::IndexMut<u32> for Slab<T> {
    #[inline]
    fn index_mut(&mut self, slot: u32) -> &mut T {
        &mut self.items[slot as usize]
    }
}

/// One flow's bytes in the current second (with `seconds` on).
#[derive(Debug, Clone, Copy)]
struct Second {
    sec: i64,
    bytes: u64,
}

const NO_SECOND: Second = Second {
    sec: i64::MIN,
    bytes: 0,
};

/// The flow table.
pub struct FlowTable<'a> {
    cfg: FlowConfig,
    servers: &'a dyn ServerPorts,
    /// Slab slot of each open flow, by key hash.
    index: HashTable<u32>,
    slab: Slab<Flow>,
    /// Flows' extensions (see [`Ext`]), by [`Flow::ext`].
    exts: Slab<Ext>,
    queues: [BinaryHeap<Entry>; 3],
    next_tag: u32,
    vlans: VlanTable,
    /// The last VLAN stack numbered, and its number (most captures carry one or two stacks).
    last_vlan: (VlanStack, u16),
    icmp_errors: HashMap<u32, IcmpErrors>,
    /// Tunnel contexts of the open flows.
    tunnels: TunnelTable,
    /// UDP flows that carried a tunnel, by slot: the tunnel's kind.
    carriers: HashMap<u32, TunnelKind>,
    /// Flows inside a UDP tunnel, by slot: the outer flows their packets came in.
    parents: HashMap<u32, Parents>,
    /// TLS flows, by slot: the server name their ClientHello asked for.
    snis: HashMap<u32, Text>,
    /// Per slot, with `seconds` on: the flow's bytes in the current second.
    seconds: Vec<Second>,
    /// Slots with bytes in the current second.
    this_second: Vec<u32>,
    /// Latest packet time seen (the table's clock).
    now_ns: i64,
    pub icmp: IcmpAttach,
    stats: TableStats,
}

impl<'a> FlowTable<'a> {
    /// An empty table; `servers` steers direction inference when no handshake tells it.
    pub fn new(cfg: FlowConfig, servers: &'a dyn ServerPorts) -> FlowTable<'a> {
        FlowTable {
            cfg,
            servers,
            index: HashTable::new(),
            slab: Slab::default(),
            exts: Slab::default(),
            queues: Default::default(),
            next_tag: 1,
            vlans: VlanTable::default(),
            last_vlan: (VlanStack::default(), 0),
            icmp_errors: HashMap::new(),
            tunnels: TunnelTable::default(),
            carriers: HashMap::new(),
            parents: HashMap::new(),
            snis: HashMap::new(),
            seconds: Vec::new(),
            this_second: Vec::new(),
            now_ns: NONE,
            icmp: IcmpAttach::default(),
            stats: TableStats::default(),
        }
    }

    /// Flows open now.
    pub fn open(&self) -> usize {
        self.slab.live()
    }

    pub fn stats(&self) -> TableStats {
        TableStats {
            vlan_overflow: self.vlans.overflow,
            ..self.stats
        }
    }

    /// Takes one decoded packet captured at `ts_ns`; flows that end meanwhile go to `sink`.
    pub fn packet(&mut self, ts_ns: i64, p: &Packet, sink: &mut dyn FlowSink) {
        // i64::MIN marks "no time" inside a flow; no capture format can produce it.
        let ts = ts_ns.max(NONE + 1);
        if ts > self.now_ns {
            self.advance(ts, sink);
        }
        // A tunnelled packet: its outer UDP datagrams count in their own flows first, and the
        // packet is keyed with its tunnel context.
        let (tunnel, outer) = if p.encap.is_empty() {
            (0, None)
        } else {
            match self.enter_tunnels(ts, p, sink) {
                Some(entered) => entered,
                // An outer datagram with a bad checksum under --checksums drop: as in Zeek,
                // what it carries is not looked at.
                None => return,
            }
        };
        let vlan = self.vlan_number(&p.vlan);
        let slot = match p.transport {
            Transport::Tcp(t) => self.tcp_segment(ts, p, vlan, tunnel, &t, sink),
            Transport::Udp(u) => {
                let ip = Datagram {
                    v6: p.v6,
                    src: p.src,
                    dst: p.dst,
                    ip_len: p.ip_len,
                    bad: p.csum.bad_l4() && self.cfg.checksums.verifies(),
                };
                let slot = self.udp_datagram(ts, ip, vlan, tunnel, &u, sink);
                // A tunnel's datagram whose payload was no flow packet: a tunnel endpoint's flow.
                if let Some(k) = p.encap.carrier {
                    self.carriers.entry(slot).or_insert(k);
                }
                Some(slot)
            }
            Transport::Icmp(i) => {
                self.icmp_error(vlan, tunnel, &i);
                None
            }
            // Fragments end in the reassembly stage, which hands on whole datagrams.
            Transport::Fragment(_) => None,
        };
        if let Some(slot) = slot
            && self.cfg.seconds
        {
            self.count_second(slot, ts, p.ip_len, sink);
        }
        if let (Some(slot), Some(outer)) = (slot, outer) {
            self.note_parent(slot, outer);
        }
        if tunnel != 0 {
            self.tunnels.release(tunnel);
        }
    }

    /// The tunnel layers of `p`, outer first: each UDP tunnel's datagram counts in its outer
    /// flow (keyed with the layers around it), and each layer enters its context. Returns the
    /// innermost context, held once for the packet, and when the innermost tunnel is a UDP one,
    /// the outer flow that carried the packet; None when an outer datagram's UDP checksum is bad
    /// under `--checksums drop` (Zeek's UDP analyzer forwards nothing then): that datagram
    /// counted in its flow as a bad one, and nothing inside it counts.
    fn enter_tunnels(
        &mut self,
        ts: i64,
        p: &Packet,
        sink: &mut dyn FlowSink,
    ) -> Option<(u32, Option<Outer>)> {
        self.stats.tunnelled += 1;
        let mut ctx = 0;
        let mut carrier = None;
        for layer in p.encap.layers() {
            let vlan = self.vlan_number(&layer.vlan);
            let parent = if layer.kind.over_udp() {
                let bad = layer.csum.bad_l4() && self.cfg.checksums.verifies();
                let ip = Datagram {
                    v6: layer.v6,
                    src: layer.src,
                    dst: layer.dst,
                    ip_len: layer.ip_len,
                    bad,
                };
                let u = Udp {
                    src_port: layer.src_port,
                    dst_port: layer.dst_port,
                    payload_len: layer.payload_len,
                    app: Default::default(),
                };
                let slot = self.udp_datagram(ts, ip, vlan, ctx, &u, sink);
                if self.cfg.seconds {
                    self.count_second(slot, ts, layer.ip_len, sink);
                }
                self.carriers.entry(slot).or_insert(layer.kind);
                if bad && self.cfg.checksums == ChecksumMode::Drop {
                    if ctx != 0 {
                        self.tunnels.release(ctx);
                    }
                    return None;
                }
                Some(slot)
            } else {
                None
            };
            let next = self
                .tunnels
                .enter(ctx, layer, vlan, self.vlans.ids(vlan), ts);
            carrier = parent.map(|slot| {
                let f = &self.slab[slot];
                Outer {
                    slot,
                    first_ns: f.first_ns,
                    dup: f.dup,
                }
            });
            // The packet's hold moves inwards: the inner context holds the outer one.
            if ctx != 0 {
                self.tunnels.release(ctx);
            }
            ctx = next;
        }
        Some((ctx, carrier))
    }

    /// Notes that the packet just counted in the flow in `slot` came in the outer flow `outer`:
    /// the first time, that flow's uid joins the flow's parents.
    fn note_parent(&mut self, slot: u32, outer: Outer) {
        let p = self.parents.entry(slot).or_default();
        if p.last == Some(outer) {
            return;
        }
        p.last = Some(outer);
        if p.uids.len() >= MAX_PARENTS {
            return;
        }
        let o = &self.slab[outer.slot];
        // The outer flow may have been evicted to make room for this one (a full table).
        if o.tag == 0 || o.first_ns != outer.first_ns || o.dup != outer.dup {
            return;
        }
        let around = self
            .tunnels
            .get(o.key.tunnel)
            .map_or(&b""[..], |c| c.uid.as_bytes());
        let uid = super::ids::uid_with(
            &o.key,
            self.vlans.ids(o.key.vlan),
            around,
            o.first_ns,
            o.dup as u32,
        );
        if !p.uids.contains(&uid) {
            p.uids.push(uid);
        }
    }

    /// A TCP segment: its flow's slot.
    fn tcp_segment(
        &mut self,
        ts: i64,
        p: &Packet,
        vlan: u16,
        tunnel: u32,
        t: &Tcp,
        sink: &mut dyn FlowSink,
    ) -> Option<u32> {
        let (mut key, src_lo) = FlowKey::new(
            ipproto::TCP,
            p.v6,
            vlan,
            p.src,
            t.src_port,
            p.dst,
            t.dst_port,
        );
        key.tunnel = tunnel;
        let slot = self.lookup(key, src_lo, ts, sink, |f, x, side| {
            tcp::starts_new(f, x, side, t)
        });
        let bad = p.csum.bad_l4() && self.cfg.checksums.verifies();
        let f = &mut self.slab[slot];
        let side = f.side_of(src_lo);
        if f.ext == NO_EXT {
            if !bad && tcp::bare_attempt(f, side, t, p.csum != Checksum::Cut) {
                let first = f.counts[0].pkts + f.counts[1].pkts == 0;
                tcp::count_attempt(f, ts, p.ip_len, t);
                if first {
                    // Its end is now the attempt's, nearer than its entry says.
                    self.enqueue(slot);
                }
                return Some(slot);
            }
            self.attach_ext(slot);
        }
        let f = &mut self.slab[slot];
        let x = &mut self.exts[f.ext];
        let (was_closed, had_attempt) = (x.closed(), x.attempt_ns != NONE);
        if bad {
            x.bad_checksums = x.bad_checksums.saturating_add(1);
        }
        let dropped = bad && self.cfg.checksums == ChecksumMode::Drop;
        let mut keep = app::Keep::Nothing;
        if dropped {
            // Zeek: the connection exists (or was reused), but the segment changes nothing.
            tcp::bad_checksum(f, x, side, ts);
        } else {
            tcp::segment(f, x, side, ts, p.ip_len, t, p.csum != Checksum::Cut);
            let syn = t.flags & tcpflags::SYN != 0;
            if syn {
                x.app.syn(side, t.flags & tcpflags::ACK != 0);
            }
            if t.payload_len > 0 && t.flags & tcpflags::RST == 0 && x.app.wants(side) {
                let data = t.seq.wrapping_add(u32::from(syn));
                let at_start = data == x.tcp[side].start_seq.wrapping_add(1);
                keep = x.app.payload(side, &t.app, true, at_start);
            }
        }
        // A close, an attempt or a flow no packet moved ends nearer than its entry says.
        if (x.closed() && !was_closed) || (x.attempt_ns != NONE && !had_attempt) || dropped {
            self.enqueue(slot);
        }
        if keep == app::Keep::Sni {
            self.keep_sni(slot, &p.sni);
        }
        Some(slot)
    }

    /// A UDP datagram: its flow's slot.
    fn udp_datagram(
        &mut self,
        ts: i64,
        p: Datagram,
        vlan: u16,
        tunnel: u32,
        u: &Udp,
        sink: &mut dyn FlowSink,
    ) -> u32 {
        let (mut key, src_lo) = FlowKey::new(
            ipproto::UDP,
            p.v6,
            vlan,
            p.src,
            u.src_port,
            p.dst,
            u.dst_port,
        );
        key.tunnel = tunnel;
        let slot = self.lookup(key, src_lo, ts, sink, |_, _, _| false);
        if self.slab[slot].ext == NO_EXT {
            self.attach_ext(slot);
        }
        let f = &mut self.slab[slot];
        let x = &mut self.exts[f.ext];
        let side = f.side_of(src_lo);
        if p.bad {
            x.bad_checksums = x.bad_checksums.saturating_add(1);
            if self.cfg.checksums == ChecksumMode::Drop {
                // Zeek counts the datagram's packet and IP bytes, then stops: no payload
                // bytes, no D/d, no later last time; C/c at the 1st, 10th, 100th...
                f.count(side, ts, p.ip_len, 0, false);
                let e = &mut x.tcp[side];
                e.bad_csum = e.bad_csum.saturating_add(1);
                if tcp::is_power_of_ten(e.bad_csum) {
                    x.history.add(side, b'C', f.behind(ts));
                }
                return slot;
            }
        }
        let later = f.count(side, ts, p.ip_len, u.payload_len, true);
        x.history.age(later);
        x.udp_times(side, ts);
        // Zeek's UDP history: D/d once per direction.
        x.history.check(side, bit::DATA, b'D', f.behind(ts));
        if u.payload_len > 0 && x.app.wants(side) {
            // A datagram's hints carry no server name (no recogniser reads one over UDP).
            x.app.payload(side, &u.app, false, true);
        }
        slot
    }

    /// An ICMP error: attached to the open flow whose packet it quotes, if any.
    fn icmp_error(&mut self, vlan: u16, tunnel: u32, i: &Icmp) {
        let Some(q) = i.quoted else { return };
        let (mut key, _) = FlowKey::new(q.proto, q.v6, vlan, q.src, q.src_port, q.dst, q.dst_port);
        key.tunnel = tunnel;
        let Some(slot) = self.find(&key) else {
            self.icmp.unmatched += 1;
            return;
        };
        let e = self.icmp_errors.entry(slot).or_insert(IcmpErrors {
            count: 0,
            last_type: 0,
            last_code: 0,
        });
        e.count = e.count.saturating_add(1);
        e.last_type = i.icmp_type;
        e.last_code = i.code;
        self.slab[slot].has_icmp = true;
        self.icmp.attached += 1;
    }

    /// Ends every open flow (the end of the input), by first packet time.
    pub fn finish(&mut self, sink: &mut dyn FlowSink) -> TableStats {
        for slot in self.open_slots() {
            self.end(slot, false, sink);
        }
        self.stats()
    }

    /// The slots of the open flows by first packet time (flows that began at the same time by
    /// key).
    fn open_slots(&self) -> Vec<u32> {
        let slab = &self.slab;
        let mut open: Vec<(i64, u32)> = self.index.iter().map(|&s| (slab[s].first_ns, s)).collect();
        open.sort_unstable();
        for run in open.chunk_by_mut(|a, b| a.0 == b.0) {
            if run.len() > 1 {
                run.sort_unstable_by_key(|&(_, s)| slab[s].key);
            }
        }
        open.into_iter().map(|(_, s)| s).collect()
    }

    /// The record each open flow would have if it ended now, by first packet time, leaving the
    /// table as it is (for a report of the flows so far while a capture runs).
    pub fn open_records(&self, each: &mut dyn FnMut(&FlowRecord)) {
        for slot in self.open_slots() {
            let f = &self.slab[slot];
            let x = match f.ext {
                NO_EXT => tcp::materialize(&mut f.clone()),
                e => self.exts[e],
            };
            let icmp = f
                .has_icmp
                .then(|| self.icmp_errors.get(&slot).copied())
                .flatten();
            let mut r = record::build(f, &x, self.vlans.ids(f.key.vlan), icmp, self.servers, false);
            self.app_fields(&mut r, slot, &x);
            self.tunnel_fields(&mut r, slot);
            each(&r);
        }
    }

    /// The clock moves to `now_ns` without a packet (a live capture's timer while the link is
    /// quiet): flows whose deadline has passed end. A time at or before the table's clock does
    /// nothing.
    pub fn tick(&mut self, now_ns: i64, sink: &mut dyn FlowSink) {
        if now_ns > self.now_ns && self.now_ns != NONE {
            self.advance(now_ns, sink);
        }
    }

    fn vlan_number(&mut self, stack: &VlanStack) -> u16 {
        if stack.is_empty() {
            return 0;
        }
        if *stack == self.last_vlan.0 {
            return self.last_vlan.1;
        }
        let n = self.vlans.number(stack);
        self.last_vlan = (*stack, n);
        n
    }

    fn find(&self, key: &FlowKey) -> Option<u32> {
        let slab = &self.slab;
        self.index
            .find(key.hash(), |&s| slab[s].key == *key)
            .copied()
    }

    /// The slot of the flow for `key`, creating one when there is none, or when the current one
    /// has been idle past its timeout or `starts_new` says this packet begins a new connection
    /// (the current one then ends).
    #[inline]
    fn lookup(
        &mut self,
        key: FlowKey,
        src_lo: bool,
        ts: i64,
        sink: &mut dyn FlowSink,
        starts_new: impl Fn(&Flow, Option<&Ext>, usize) -> bool,
    ) -> u32 {
        let hash = key.hash();
        if let Some(slot) = self.find(&key) {
            let f = &self.slab[slot];
            let (_, end) = self.deadline(f);
            let x = (f.ext != NO_EXT).then(|| &self.exts[f.ext]);
            if ts < end && !starts_new(f, x, f.side_of(src_lo)) {
                return slot;
            }
            // The key's flow ended: a new one takes its place.
            let dup = if f.first_ns == ts {
                f.dup.saturating_add(1)
            } else {
                0
            };
            self.end(slot, false, sink);
            let new = self.create(key, src_lo, ts, hash, sink);
            self.slab[new].dup = dup;
            return new;
        }
        self.create(key, src_lo, ts, hash, sink)
    }

    fn create(
        &mut self,
        key: FlowKey,
        src_lo: bool,
        ts: i64,
        hash: u64,
        sink: &mut dyn FlowSink,
    ) -> u32 {
        if self.cfg.max_flows > 0 && self.open() >= self.cfg.max_flows {
            self.evict(sink);
        }
        let slot = self.slab.insert(Flow::new(key, src_lo, ts));
        self.tunnels.hold(key.tunnel);
        if self.cfg.seconds {
            self.seconds.resize(self.slab.len(), NO_SECOND);
            self.seconds[slot as usize] = NO_SECOND;
        }
        let slab = &self.slab;
        self.index
            .insert_unique(hash, slot, |&s| slab[s].key.hash());
        self.enqueue(slot);
        let open = self.open() as u64;
        self.stats.peak_open = self.stats.peak_open.max(open);
        slot
    }

    /// Gives the flow in `slot` its extension: what its packets so far made of it.
    fn attach_ext(&mut self, slot: u32) {
        let f = &mut self.slab[slot];
        let x = if f.counts[0].pkts + f.counts[1].pkts > 0 {
            tcp::materialize(f)
        } else {
            Ext::default()
        };
        f.ext = self.exts.insert(x);
    }

    /// The expiry queue the flow belongs in and the packet time at which it ends if no packet
    /// comes (Zeek's timers): an open TCP flow its idle timeout after its last packet; a UDP
    /// flow the same with the UDP timeout; a closed TCP flow (its close complete) the linger
    /// after the close; a connection attempt (the client's SYNs, no reply) Zeek's
    /// `tcp_attempt_delay` after its first SYN; a TCP flow whose packets all had bad checksums
    /// (under `--checksums drop`: no endpoint ever moved) at Zeek's first expiry check after
    /// it, [`EMPTY_NS`] after its first packet.
    fn deadline(&self, f: &Flow) -> (usize, i64) {
        if f.key.proto != ipproto::TCP {
            return (Q_UDP, f.last_ns.saturating_add(self.cfg.udp_idle_ns));
        }
        let idle = f.last_ns.saturating_add(self.cfg.tcp_idle_ns);
        let short = if f.ext == NO_EXT {
            // A bare attempt (or a flow about to get its first packet).
            if f.syn_side == NO_SIDE {
                return (Q_TCP, idle);
            }
            f.first_ns.saturating_add(ATTEMPT_NS)
        } else {
            let x = &self.exts[f.ext];
            if x.closed() {
                x.closed_ns.saturating_add(self.cfg.linger_ns)
            } else if x.attempt_ns != NONE && tcp::attempt_pending(f, x) {
                x.attempt_ns.saturating_add(ATTEMPT_NS)
            } else if x.tcp[0].state == TcpState::Inactive && x.tcp[1].state == TcpState::Inactive {
                f.first_ns.saturating_add(EMPTY_NS)
            } else {
                return (Q_TCP, idle);
            }
        };
        (Q_CLOSED, short.min(idle))
    }

    /// Gives the flow a new own entry in the queue it belongs in (its older entries go stale).
    fn enqueue(&mut self, slot: u32) {
        let tag = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1).max(1);
        let f = &mut self.slab[slot];
        f.tag = tag;
        let (q, deadline) = self.deadline(&self.slab[slot]);
        self.queues[q].push(Reverse((deadline, slot, tag)));
        // A flow that closes leaves a stale entry in the open-TCP queue, due only when its idle
        // timeout would have been. When stale entries outnumber the flows, they go: the queues
        // stay proportional to the flows open, whatever the rate of short connections.
        let entries: usize = self.queues.iter().map(BinaryHeap::len).sum();
        if entries > 2 * self.open() + 4096 {
            let slab = &self.slab;
            for queue in &mut self.queues {
                queue.retain(|&Reverse((_, s, t))| slab[s].tag == t);
            }
        }
    }

    /// Brings queue `q`'s front up to date: drops stale entries and moves entries whose flow
    /// had packets since. Afterwards the front (if any) is its flow's own, exact entry.
    fn settle(&mut self, q: usize) {
        while let Some(&Reverse((deadline, slot, tag))) = self.queues[q].peek() {
            let f = &self.slab[slot];
            if f.tag != tag {
                self.queues[q].pop();
                continue;
            }
            let (real_q, real) = self.deadline(f);
            if real_q == q && real == deadline {
                return;
            }
            self.queues[q].pop();
            self.queues[real_q].push(Reverse((real, slot, tag)));
        }
    }

    /// The clock moves to `ts`: the second that was current is over, and flows whose deadline
    /// has passed end, earliest deadline first.
    fn advance(&mut self, ts: i64, sink: &mut dyn FlowSink) {
        let old = self.now_ns;
        self.now_ns = ts;
        if old == NONE {
            sink.open(ts);
        }
        if old != NONE && ts.div_euclid(NS) != old.div_euclid(NS) {
            if self.cfg.seconds {
                self.close_second(sink);
            }
            sink.clock(ts);
        }
        loop {
            // Every queue whose front may be due is settled before any is chosen from: settling
            // one can move a due entry into another (only exact entries are pushed, so a
            // settled front stays exact).
            let mut due = false;
            for q in 0..3 {
                if self.front_due(q, ts).is_some() {
                    self.settle(q);
                    due = true;
                }
            }
            if !due {
                break;
            }
            let mut next: Option<(i64, u32, usize)> = None;
            for q in 0..3 {
                if let Some((d, slot)) = self.front_due(q, ts)
                    && next.is_none_or(|(nd, ns, _)| (d, slot) < (nd, ns))
                {
                    next = Some((d, slot, q));
                }
            }
            let Some((_, slot, q)) = next else { break };
            self.queues[q].pop();
            self.end(slot, false, sink);
        }
    }

    /// The front entry of queue `q` (deadline, slot) if it is due at `ts`. A front entry due
    /// after `ts` needs no look at its flow: an entry is never later than its flow's real
    /// deadline.
    #[inline]
    fn front_due(&self, q: usize, ts: i64) -> Option<(i64, u32)> {
        match self.queues[q].peek() {
            Some(&Reverse((d, slot, _))) if d <= ts => Some((d, slot)),
            _ => None,
        }
    }

    /// Ends the flow idle the longest among the three queues' fronts (the table is full): the
    /// open TCP or UDP flow idle the longest, or the closed flow or attempt due to end first.
    fn evict(&mut self, sink: &mut dyn FlowSink) {
        // Settling a queue moves entries into the others; it only ever pushes exact entries, so
        // once all three are settled every front is exact (settling and looking in one pass
        // missed a flow moved into a queue already looked at, and the table outgrew its cap).
        for q in 0..3 {
            self.settle(q);
        }
        let mut oldest: Option<(i64, u32, usize)> = None;
        for q in 0..3 {
            if let Some(&Reverse((_, slot, _))) = self.queues[q].peek() {
                let last = self.slab[slot].last_ns;
                if oldest.is_none_or(|(l, s, _)| (last, slot) < (l, s)) {
                    oldest = Some((last, slot, q));
                }
            }
        }
        if let Some((_, slot, q)) = oldest {
            self.queues[q].pop();
            self.stats.evicted += 1;
            self.end(slot, true, sink);
        }
    }

    /// Ends the flow in `slot`: its last second and its record go to the sink, and the slot is
    /// freed. Its expiry entries go stale.
    fn end(&mut self, slot: u32, evicted: bool, sink: &mut dyn FlowSink) {
        let x = match self.slab[slot].ext {
            NO_EXT => tcp::materialize(&mut self.slab[slot]),
            e => {
                self.exts.release(e);
                self.exts[e]
            }
        };
        let f = &self.slab[slot];
        if self.cfg.seconds {
            let s = &mut self.seconds[slot as usize];
            if s.bytes > 0 {
                let b = record::second(f, self.servers, s.sec, s.bytes);
                s.bytes = 0;
                sink.second(&b);
            }
        }
        let icmp = if f.has_icmp {
            self.icmp_errors.remove(&slot)
        } else {
            None
        };
        let mut r = record::build(
            f,
            &x,
            self.vlans.ids(f.key.vlan),
            icmp,
            self.servers,
            evicted,
        );
        self.app_fields(&mut r, slot, &x);
        if !self.snis.is_empty() {
            self.snis.remove(&slot);
        }
        self.tunnel_fields(&mut r, slot);
        if !self.carriers.is_empty() {
            self.carriers.remove(&slot);
        }
        if !self.parents.is_empty() {
            self.parents.remove(&slot);
        }
        let f = &self.slab[slot];
        self.tunnels.release(f.key.tunnel);
        self.stats.flows += 1;
        match r.proto {
            super::Proto::Tcp => self.stats.tcp += 1,
            super::Proto::Udp => self.stats.udp += 1,
        }
        let hash = f.key.hash();
        if let Ok(e) = self.index.find_entry(hash, |&s| s == slot) {
            e.remove();
        }
        let f = &mut self.slab[slot];
        f.tag = 0;
        f.ext = NO_EXT;
        self.slab.release(slot);
        sink.flow(&r);
    }

    /// Keeps `sni`, a ClientHello's server name, as the name of the flow in `slot`.
    fn keep_sni(&mut self, slot: u32, sni: &Sni) {
        if !sni.is_empty() {
            self.snis
                .insert(slot, Text::from(String::from_utf8_lossy(sni.bytes())));
        }
    }

    /// The application-protocol fields of the record of the flow in `slot`, from its
    /// extension `x`.
    fn app_fields(&self, r: &mut FlowRecord, slot: u32, x: &Ext) {
        let (service, status, tls) = x.app.outcome(r.proto, self.snis.get(&slot));
        r.service = service;
        r.service_status = status;
        r.tls = tls;
    }

    /// The tunnel fields of the record of the flow in `slot`: the tunnel it came through, or the
    /// tunnel it carried.
    fn tunnel_fields(&self, r: &mut FlowRecord, slot: u32) {
        let f = &self.slab[slot];
        if let Some(c) = self.tunnels.get(f.key.tunnel) {
            let parents = self.parents.get(&slot).map_or(&[][..], |p| &p.uids);
            record::set_tunnel(r, f, self.vlans.ids(f.key.vlan), c, parents);
        }
        if let Some(k) = self.carriers.get(&slot) {
            r.service = Text::from(k.name());
            r.service_status = crate::flow::ServiceStatus::Known;
        }
    }

    /// Adds a packet's IP bytes to its flow's current second. A packet from a second already
    /// over (out of time order) is handed on at once as a second of its own.
    fn count_second(&mut self, slot: u32, ts: i64, ip_len: u32, sink: &mut dyn FlowSink) {
        let sec = ts.div_euclid(NS);
        if sec < self.now_ns.div_euclid(NS) {
            let b = record::second(&self.slab[slot], self.servers, sec, ip_len.into());
            sink.second(&b);
            return;
        }
        let s = &mut self.seconds[slot as usize];
        if s.sec == sec && s.bytes > 0 {
            s.bytes += u64::from(ip_len);
        } else {
            *s = Second {
                sec,
                bytes: ip_len.into(),
            };
            self.this_second.push(slot);
        }
    }

    /// The current second is over: each flow's bytes in it go to the sink.
    fn close_second(&mut self, sink: &mut dyn FlowSink) {
        let slots = std::mem::take(&mut self.this_second);
        for &slot in &slots {
            let s = self.seconds[slot as usize];
            if s.bytes == 0 || self.slab[slot].tag == 0 {
                continue;
            }
            let b = record::second(&self.slab[slot], self.servers, s.sec, s.bytes);
            self.seconds[slot as usize].bytes = 0;
            sink.second(&b);
        }
        self.this_second = slots;
        self.this_second.clear();
    }
}

#[cfg(test)]
mod tunnel_tests {
    use super::*;
    use crate::decode::{Encap, Tunnel, TunnelKind};
    use crate::flow::{FlowRecord, NoServerPorts};

    fn a(last: u8) -> Addr {
        Addr::v4(&[10, 0, 0, last])
    }

    /// A UDP datagram `src`:5000 -> `dst`:53 (or back, when `src` is the higher) inside VXLAN `vni` between VTEPs .101 and .102 (the outer
    /// datagram from 49000 + vni to 4789).
    fn vxlan_udp(vni: u32, src: u8, dst: u8) -> Packet {
        let mut encap = Encap::default();
        encap.push_outer(Tunnel {
            kind: TunnelKind::Vxlan,
            src: a(101),
            dst: a(102),
            id: Some(vni),
            src_port: 49000 + vni as u16,
            dst_port: 4789,
            ip_len: 100,
            payload_len: 72,
            ..Tunnel::default()
        });
        Packet {
            vlan: VlanStack::default(),
            v6: false,
            src: a(src),
            dst: a(dst),
            ip_len: 28 + 10,
            transport: Transport::Udp(Udp {
                src_port: if src < dst { 5000 } else { 53 },
                dst_port: if src < dst { 53 } else { 5000 },
                payload_len: 10,
                app: Default::default(),
            }),
            encap,
            sni: Default::default(),
            csum: Default::default(),
        }
    }

    /// An outer VXLAN datagram whose UDP checksum is bad: under `count` it is counted bad in
    /// the outer flow and its inner packet counts as any other; under `drop` (Zeek's UDP
    /// analyzer forwards nothing from a bad datagram) only the outer flow counts it, with `C`.
    #[test]
    fn a_bad_outer_udp_checksum_is_counted_or_stops_the_packet() {
        let run = |mode: ChecksumMode| {
            let servers = NoServerPorts;
            let cfg = FlowConfig {
                checksums: mode,
                ..FlowConfig::default()
            };
            let mut t = FlowTable::new(cfg, &servers);
            let mut out: Vec<FlowRecord> = Vec::new();
            let mut bad = vxlan_udp(1, 1, 2);
            let mut e = Encap::default();
            e.push_outer(Tunnel {
                csum: Checksum::BadL4,
                ..bad.encap.layers()[0]
            });
            bad.encap = e;
            t.packet(NS, &vxlan_udp(1, 1, 2), &mut out);
            t.packet(NS + 1, &bad, &mut out);
            t.finish(&mut out);
            assert_eq!(t.tunnels.live(), 0);
            out.iter()
                .map(|r| {
                    (
                        !r.service.is_empty(),
                        r.orig_pkts,
                        r.bad_checksums,
                        r.history.to_string(),
                    )
                })
                .collect::<Vec<_>>()
        };
        // The inner flow, then the outer one (service vxlan): two datagrams each, one bad.
        assert_eq!(
            run(ChecksumMode::Count),
            [
                (false, 2, 0, "D".to_string()),
                (true, 2, 1, "D".to_string())
            ]
        );
        assert_eq!(
            run(ChecksumMode::Drop),
            [
                (false, 1, 0, "D".to_string()),
                (true, 2, 1, "DC".to_string())
            ]
        );
        // Not verified: nothing bad.
        assert_eq!(
            run(ChecksumMode::Ignore),
            [
                (false, 2, 0, "D".to_string()),
                (true, 2, 0, "D".to_string())
            ]
        );
    }

    #[test]
    fn contexts_follow_the_open_flows() {
        let servers = NoServerPorts;
        let mut t = FlowTable::new(FlowConfig::default(), &servers);
        let mut out: Vec<FlowRecord> = Vec::new();
        t.packet(NS, &vxlan_udp(1, 1, 2), &mut out);
        t.packet(NS + 1, &vxlan_udp(2, 1, 2), &mut out);
        t.packet(NS + 2, &vxlan_udp(1, 2, 1), &mut out);
        // Two inner flows (one per VNI) and two outer flows.
        assert_eq!(t.open(), 4);
        assert_eq!(t.tunnels.live(), 2);
        assert_eq!(t.carriers.len(), 2);
        assert_eq!(t.parents.len(), 2);
        // Past the UDP idle timeout every flow ends, and with them the contexts.
        t.tick(200 * NS, &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(t.open(), 0);
        assert_eq!(t.tunnels.live(), 0);
        assert!(t.carriers.is_empty() && t.parents.is_empty());
        let inner: Vec<_> = out.iter().filter(|r| r.tunnel.is_some()).collect();
        assert_eq!(inner.len(), 2);
        assert_ne!(inner[0].uid, inner[1].uid);
        for r in &inner {
            let outer: Vec<_> = out
                .iter()
                .filter(|o| r.tunnel_parents.contains(&o.uid))
                .collect();
            assert_eq!(outer.len(), 1);
            assert_eq!(outer[0].service, "vxlan");
        }
        // A VNI 1 inner flow got both its packets; the outer flow of VNI 1 two datagrams.
        let vni1 = inner
            .iter()
            .find(|r| r.tunnel.unwrap().id == Some(1))
            .unwrap();
        assert_eq!(vni1.orig_pkts + vni1.resp_pkts, 2);
    }

    #[test]
    fn eviction_of_the_outer_flow_keeps_the_books() {
        // A table of 1 flow: the inner flow's creation evicts the outer flow just counted.
        let servers = NoServerPorts;
        let cfg = FlowConfig {
            max_flows: 1,
            ..FlowConfig::default()
        };
        let mut t = FlowTable::new(cfg, &servers);
        let mut out: Vec<FlowRecord> = Vec::new();
        for i in 0..10 {
            t.packet(NS + i, &vxlan_udp(1, 1, 2), &mut out);
        }
        t.finish(&mut out);
        assert_eq!(t.tunnels.live(), 0);
        assert!(t.carriers.is_empty() && t.parents.is_empty());
        let pkts: u64 = out.iter().map(|r| r.orig_pkts + r.resp_pkts).sum();
        assert_eq!(pkts, 20, "every datagram counted once outer, once inner");
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// A packet inside up to three tunnel layers drawn from a few kinds, endpoints and ids.
        fn packet(layers: &[(u8, u8, u8, u8)], inner: (u8, u8, bool)) -> Packet {
            const KINDS: [TunnelKind; 4] = [
                TunnelKind::Vxlan,
                TunnelKind::Gre,
                TunnelKind::Gtpu,
                TunnelKind::Ip,
            ];
            let mut encap = Encap::default();
            for &(k, s, d, id) in layers.iter().rev() {
                let kind = KINDS[k as usize % KINDS.len()];
                encap.push_outer(Tunnel {
                    kind,
                    src: a(100 + s % 3),
                    dst: a(100 + d % 3),
                    id: Some(u32::from(id % 3)),
                    src_port: if kind.over_udp() {
                        40000 + u16::from(s % 2)
                    } else {
                        0
                    },
                    dst_port: if kind.over_udp() { 4789 } else { 0 },
                    ip_len: 100,
                    payload_len: 72,
                    ..Tunnel::default()
                });
            }
            let (s, d, tcp) = inner;
            let transport = if tcp {
                Transport::Tcp(crate::decode::Tcp {
                    src_port: 40000 + u16::from(s % 2),
                    dst_port: 80,
                    seq: 1,
                    ack: 1,
                    flags: s & 0x17,
                    window: 100,
                    payload_len: 0,
                    app: Default::default(),
                })
            } else {
                Transport::Udp(Udp {
                    src_port: 5000,
                    dst_port: 53,
                    payload_len: 1,
                    app: Default::default(),
                })
            };
            Packet {
                vlan: VlanStack::default(),
                v6: false,
                src: a(s % 3),
                dst: a(d % 3),
                ip_len: 40,
                transport,
                encap,
                sni: Default::default(),
                csum: Default::default(),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]
            /// Arbitrary tunnelled packets and times, a table of 3 flows at most: no panic, every
            /// packet counted (inner once, each UDP layer once), and at the end no context, carrier
            /// mark or parent list is left.
            #[test]
            fn tunnel_books_balance(
                pkts in proptest::collection::vec(
                    (
                        proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 0..4),
                        any::<(u8, u8, bool)>(),
                        0i64..200,
                    ),
                    1..60,
                ),
            ) {
                let servers = NoServerPorts;
                let cfg = FlowConfig { max_flows: 3, ..FlowConfig::default() };
                let mut t = FlowTable::new(cfg, &servers);
                let mut out: Vec<FlowRecord> = Vec::new();
                let mut expect = 0u64;
                let mut ts = NS;
                for (layers, inner, dt) in &pkts {
                    let p = packet(&layers[..layers.len().min(3)], *inner);
                    expect += 1 + p.encap.layers().iter().filter(|l| l.kind.over_udp()).count() as u64;
                    ts += dt * NS;
                    t.packet(ts, &p, &mut out);
                }
                t.finish(&mut out);
                let got: u64 = out.iter().map(|r| r.orig_pkts + r.resp_pkts).sum();
                prop_assert_eq!(got, expect);
                prop_assert_eq!(t.tunnels.live(), 0);
                prop_assert!(t.carriers.is_empty() && t.parents.is_empty());
            }
        }
    }
}
