//! Reassembly stage: IPv4 and IPv6 fragments back into their datagrams, between decode and flow.
//!
//! The decoder hands every fragment over as [`crate::decode::Transport::Fragment`], with where
//! its data lies in the frame; the stage copies those bytes into the datagram's buffer, and when
//! the last missing piece comes, decodes the datagram's transport header from the reassembled bytes
//! ([`crate::decode::reassembled`]) and returns the packet: one packet of its flow, whose IP length
//! is the whole datagram's and whose time is the time of the fragment that completed it (as tshark
//! and Zeek count it). The flow stage never sees a fragment. One reassembler serves one input
//! ([`crate::stats::Tally`]); its clock is that input's packet times.
//!
//! Bounds (defaults in [`Config::default`]):
//!
//! - **Timeout.** A datagram still incomplete more than 30 s (IPv4) or 60 s (IPv6) after its first
//!   fragment is dropped: Linux's `ipfrag_time` and `ip6frag_time`, and RFC 8200's 60 s. Zeek's
//!   `frag_timeout` is 0 (never), which resists evasion but lets state grow; a bound is kept here.
//! - **Pending datagrams**: at most 4,096; a new one past the cap first drops the oldest.
//! - **Buffered bytes**: the buffers of pending datagrams and the free ones kept for reuse hold
//!   at most 16 MiB (Linux's `ipfrag_high_thresh` is 4 MiB per network namespace; an auditor sees
//!   many hosts' traffic); past it free buffers are let go, then the oldest pending datagrams are
//!   dropped. Each pending datagram also costs a fixed ~1.2 KB (key, range sets).
//! - **Pieces**: a datagram's held data is at most `ranges::MAX_PIECES` disjoint ranges;
//!   a fragment that would make more is rejected.
//!
//! Fragments are refused (counted as rejected) when they would make a datagram longer than the
//! 65,535 bytes its length field can say (the "ping of death"), when they carry no data but say
//! more follow, or past the piece limit. Overlaps and duplicates follow [`policy`]. Every
//! fragment and datagram is counted in [`FragStats`]: reassembled, or incomplete (timed out,
//! evicted, or still pending at the end of the input).
//!
//! Memory: buffers come from a [`pool::Pool`] and go back to it, so that once the pool holds what
//! the traffic needs, no packet allocates; only pending datagrams hold bytes.

mod key;
mod policy;
mod pool;
mod ranges;
#[cfg(test)]
mod tests;

use hashbrown::HashMap;

use crate::decode::{Fragment, Packet, Settings, Skip};
pub use crate::stats::FragStats;
use key::Key;
use policy::Datagram;
pub use pool::MAX_DATAGRAM;
use pool::Pool;
pub use ranges::MAX_PIECES;

/// The bounds of one reassembler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Most datagrams pending at once.
    pub max_pending: usize,
    /// Most bytes held in buffers, pending or free (at least 128 KiB is used).
    pub max_bytes: usize,
    /// How long an IPv4 datagram may wait for its missing fragments after its first, ns.
    pub timeout_v4_ns: i64,
    /// The same for IPv6, ns.
    pub timeout_v6_ns: i64,
    /// How what a datagram carries is decoded (it can carry a tunnel; its transport checksum is
    /// verified when these say so).
    pub decode: Settings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_pending: 4096,
            max_bytes: 16 << 20,
            timeout_v4_ns: 30_000_000_000,
            timeout_v6_ns: 60_000_000_000,
            decode: Settings::DEFAULT,
        }
    }
}

/// A datagram put back together: what its transport header decoded to (a packet, or why not) and
/// how many frames it took.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    pub result: Result<Packet, Skip>,
    pub frames: u32,
}

/// No slot.
const NIL: u32 = u32::MAX;

/// A slab slot: a pending datagram, linked in its IP version's list in arrival order.
#[derive(Debug)]
struct Slot {
    dg: Datagram,
    key: Key,
    prev: u32,
    next: u32,
}

/// A list of pending datagrams in arrival order: the oldest first.
#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List {
    head: NIL,
    tail: NIL,
};

/// Why a pending datagram was given up.
#[derive(Clone, Copy)]
enum End {
    TimedOut,
    Evicted,
    Unfinished,
}

/// One input's reassembler.
#[derive(Debug)]
pub struct Reassembler {
    cfg: Config,
    index: HashMap<Key, u32>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// Pending datagrams by IP version (IPv4, IPv6): each list's times only grow (when the
    /// input's do), so the head is the next to time out.
    lists: [List; 2],
    pool: Pool,
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new(Config::default())
    }
}

impl Reassembler {
    pub fn new(cfg: Config) -> Reassembler {
        let cfg = Config {
            max_pending: cfg.max_pending.max(1),
            max_bytes: cfg.max_bytes.max(2 * (MAX_DATAGRAM + 1)),
            ..cfg
        };
        Reassembler {
            cfg,
            index: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            lists: [EMPTY; 2],
            pool: Pool::new(cfg.max_bytes),
        }
    }

    /// Datagrams pending now.
    pub fn pending(&self) -> usize {
        self.index.len()
    }

    /// Bytes held in buffers now, pending or free.
    pub fn held_bytes(&self) -> usize {
        self.pool.held()
    }

    /// Takes fragment `f` of packet `p`, captured at `ts` in `frame`: the datagram's packet when
    /// this fragment completes it. Counts it in `st`.
    pub fn fragment(
        &mut self,
        ts: i64,
        p: &Packet,
        f: &Fragment,
        frame: &[u8],
        st: &mut FragStats,
    ) -> Option<Done> {
        let slot = self.add(ts, p, f, frame, st)?;
        let dg = self.dg(slot)?;
        let (payload, len) = dg.payload();
        let result = crate::decode::reassembled(
            &dg.base,
            dg.proto,
            dg.hdr_len,
            payload,
            len,
            &self.cfg.decode,
        );
        let frames = dg.frames;
        self.close(slot);
        Some(Done { result, frames })
    }

    /// Adds a fragment; the slot of its datagram when it is complete (still open, for the caller
    /// to read and close).
    fn add(
        &mut self,
        ts: i64,
        p: &Packet,
        f: &Fragment,
        frame: &[u8],
        st: &mut FragStats,
    ) -> Option<u32> {
        st.fragments += 1;
        self.expire(ts, st);
        // The IP length field bounds the datagram: IPv4's total length covers the header, IPv6's
        // payload length the extension headers before the Fragment header.
        let hdr = f.hdr_len.saturating_sub(if p.v6 { 40 } else { 0 });
        let limit = (MAX_DATAGRAM as u32).saturating_sub(hdr);
        if f.offset + f.len > limit || (f.len == 0 && f.more) {
            st.rejected += 1;
            return None;
        }
        let data = frame.get(f.start as usize..f.end as usize).unwrap_or(&[]);
        let data = &data[..data.len().min(f.len as usize)];
        let key = Key::of(p, f);
        let slot = match self.index.get(&key) {
            Some(&s) => s,
            None => self.open(key, p, f, ts, st),
        };
        let captured = data.len() as u32;
        let Some(need) = self
            .dg(slot)
            .filter(|dg| dg.fits(f, captured))
            .map(|dg| dg.span(f, captured).2 as usize)
        else {
            st.rejected += 1;
            return None;
        };
        if !self.reserve(slot, need, st) {
            st.rejected += 1;
            return None;
        }
        let Slot { dg, .. } = self.slots.get_mut(slot as usize).and_then(Option::as_mut)?;
        let class = dg.add(f, data);
        st.duplicates += class.duplicate as u64;
        st.overlaps += class.overlap as u64;
        st.inconsistent += class.inconsistent as u64;
        if !dg.complete() {
            return None;
        }
        st.reassembled += 1;
        st.reassembled_fragments += dg.frames as u64;
        Some(slot)
    }

    /// Gives up the datagrams whose time is over at packet time `now`: more than the timeout after
    /// their first fragment.
    #[inline]
    pub fn expire(&mut self, now: i64, st: &mut FragStats) {
        if self.index.is_empty() {
            return;
        }
        for v in 0..2 {
            let timeout = if v == 1 {
                self.cfg.timeout_v6_ns
            } else {
                self.cfg.timeout_v4_ns
            };
            while let Some(first) = self.dg(self.lists[v].head).map(|d| d.first_ts) {
                if now.saturating_sub(first) <= timeout {
                    break;
                }
                self.give_up(self.lists[v].head, End::TimedOut, st);
            }
        }
    }

    /// The end of the input: the datagrams still pending are counted as unfinished.
    pub fn finish(&mut self, st: &mut FragStats) {
        for v in 0..2 {
            while self.lists[v].head != NIL {
                self.give_up(self.lists[v].head, End::Unfinished, st);
            }
        }
    }

    fn dg(&self, slot: u32) -> Option<&Datagram> {
        self.slots
            .get(slot as usize)
            .and_then(Option::as_ref)
            .map(|s| &s.dg)
    }

    /// A new pending datagram for `key`, past the cap after dropping the oldest.
    fn open(&mut self, key: Key, p: &Packet, f: &Fragment, ts: i64, st: &mut FragStats) -> u32 {
        while self.index.len() >= self.cfg.max_pending {
            match self.oldest(NIL) {
                Some(s) => self.give_up(s, End::Evicted, st),
                None => break,
            }
        }
        let buf = self.pool.take();
        let slot = Slot {
            dg: Datagram::new(*p, f, buf, ts),
            key,
            prev: NIL,
            next: NIL,
        };
        let s = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(slot);
                s
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, s);
        // Append to its version's list.
        let v = key.v6 as usize;
        let tail = self.lists[v].tail;
        if let Some(Some(t)) = self.slots.get_mut(tail as usize) {
            t.next = s;
        } else {
            self.lists[v].head = s;
        }
        if let Some(Some(n)) = self.slots.get_mut(s as usize) {
            n.prev = tail;
        }
        self.lists[v].tail = s;
        s
    }

    /// The pending datagram whose first fragment came first, other than `except`.
    fn oldest(&self, except: u32) -> Option<u32> {
        let mut best: Option<(i64, u32)> = None;
        for list in &self.lists {
            let mut s = list.head;
            if s == except
                && let Some(Some(slot)) = self.slots.get(s as usize)
            {
                s = slot.next;
            }
            if let Some(dg) = self.dg(s)
                && best.is_none_or(|(t, _)| dg.first_ts < t)
            {
                best = Some((dg.first_ts, s));
            }
        }
        best.map(|(_, s)| s)
    }

    /// Makes `slot`'s buffer hold at least `need` bytes within the byte budget, dropping the oldest
    /// other datagrams if it must.
    fn reserve(&mut self, slot: u32, need: usize, st: &mut FragStats) -> bool {
        let (cap, len) = match self.dg(slot) {
            Some(dg) => (dg.buf.capacity(), dg.buf.len()),
            None => return false,
        };
        if need <= len {
            return true;
        }
        let want = Pool::want(cap, need);
        let extra = want - cap;
        while !self.pool.room(extra) {
            match self.oldest(slot) {
                Some(s) => self.give_up(s, End::Evicted, st),
                None => return false,
            }
        }
        let Self { slots, pool, .. } = self;
        match slots.get_mut(slot as usize).and_then(Option::as_mut) {
            Some(s) => {
                pool.grow(&mut s.dg.buf, want, need);
                true
            }
            None => false,
        }
    }

    /// Counts a pending datagram as given up, and drops it.
    fn give_up(&mut self, slot: u32, why: End, st: &mut FragStats) {
        let Some(dg) = self.dg(slot) else { return };
        st.incomplete_fragments += dg.frames as u64;
        match why {
            End::TimedOut => st.timed_out += 1,
            End::Evicted => st.evicted += 1,
            End::Unfinished => st.unfinished += 1,
        }
        self.close(slot);
    }

    /// Drops a pending datagram: out of the index and its list, its buffer back to the pool.
    fn close(&mut self, slot: u32) {
        let Some(s) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.index.remove(&s.key);
        let v = s.key.v6 as usize;
        match self.slots.get_mut(s.prev as usize) {
            Some(Some(p)) => p.next = s.next,
            _ => self.lists[v].head = s.next,
        }
        match self.slots.get_mut(s.next as usize) {
            Some(Some(n)) => n.prev = s.prev,
            _ => self.lists[v].tail = s.prev,
        }
        self.pool.give(s.dg.buf);
        self.free.push(slot);
    }
}
