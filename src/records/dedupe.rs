//! One connection seen by several sensors is one flow: records of different inputs with the
//! same Community ID whose times overlap (within [`SKEW_NS`]) are merged into one.
//!
//! Each record is held until the clock passes its end plus the hold time (the most one input
//! can lag another), then released; a duplicate arriving while it is held is merged into it.
//! Memory follows the records ending within the hold time, never the input's length. Records
//! of one input are never merged with each other (one sensor does not see a connection twice).
//!
//! The record kept is the one with the most evidence: a handshake RTT (a packet capture) first,
//! then a direction that was not inferred, then the most packets; ties go to the earlier input.
//!
//! Held records sit in a slab (a vector whose free slots are reused), found through an index of
//! slab numbers keyed by a 64-bit hash of the Community ID. Records whose Community IDs hash
//! alike are chained in the order they were first held, and a duplicate must have the very same
//! Community ID, so a hash collision never merges two flows. Records are released in order of
//! their release time (end plus the hold time), ties in the order they were first held: a queue
//! in that order takes the records that come in order of their end (what the merge of inputs
//! hands over), a heap the others. Once the slab, index and queues have grown to the records
//! held, a record costs one allocation: its packed form ([`super::packed`]), a few dozen bytes
//! where the record itself is 400 plus its strings, so that many sensors' records held for
//! the merge window take a fraction of the memory.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::packed;
use crate::flow::{FlowRecord, Proto};

/// Clock difference tolerated between two sensors' records of one connection.
pub const SKEW_NS: i64 = 1_000_000_000;

/// No slot (the end of a chain).
const NIL: usize = usize::MAX;

/// A held record: packed, with what a duplicate is told by and what picks the record kept.
struct Kept {
    packed: Box<[u8]>,
    proto: Proto,
    start_ns: i64,
    end_ns: i64,
    evidence: (bool, bool, u64),
}

impl Kept {
    /// `rec`, packed through `scratch`.
    fn of(rec: &FlowRecord, scratch: &mut Vec<u8>) -> Kept {
        packed::pack(rec, scratch);
        Kept {
            packed: scratch.as_slice().into(),
            proto: rec.proto,
            start_ns: rec.ts_ns,
            end_ns: end_ns(rec),
            evidence: evidence(rec),
        }
    }
}

struct Held {
    rec: Kept,
    input: usize,
    /// When it was first held: the tie-break of release times, and what tells a release entry
    /// of this record from one of an earlier record in the same slot.
    seq: u64,
    /// Hash of `rec.community_id`.
    hash: u64,
    /// Its release time: the end of `rec` plus the hold time.
    release: i64,
    /// The next slot whose Community ID has the same hash (held later), or [`NIL`].
    next: usize,
}

/// A release entry: (release time, seq, slot). Entries go stale when a merge changes the
/// record's end, or once the record is released; a stale entry is skipped.
type Due = (i64, u64, usize);

/// Merges duplicate records across inputs (see the module's documentation).
pub struct Dedupe {
    hold_ns: i64,
    slots: Vec<Option<Held>>,
    free: Vec<usize>,
    /// The first slot of each chain, by hash.
    index: HashTable<usize>,
    hasher: DefaultHashBuilder,
    /// How a Community ID is hashed (replaced in tests to make collisions).
    hash_fn: fn(&DefaultHashBuilder, &str) -> u64,
    /// Release entries pushed in order (each no earlier than the one before).
    in_order: VecDeque<Due>,
    /// The other release entries.
    late: BinaryHeap<Reverse<Due>>,
    next_seq: u64,
    held: usize,
    /// Where a record is packed before it is held.
    scratch: Vec<u8>,
    /// The most records held at once (0: no limit).
    max_held: usize,
    pub stats: MergeStats,
}

/// What the merge of duplicates did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeStats {
    /// Records merged into another (each duplicate counts once).
    pub merged: u64,
    /// Records released before their hold time ended, the merge being full: a duplicate of
    /// one of them that comes later is not merged.
    pub released_early: u64,
}

fn end_ns(r: &FlowRecord) -> i64 {
    r.ts_ns.saturating_add(r.duration_ns)
}

/// The evidence a record carries, larger is better.
fn evidence(r: &FlowRecord) -> (bool, bool, u64) {
    (
        r.rtt_ns.is_some(),
        !r.direction_inferred,
        r.orig_pkts.saturating_add(r.resp_pkts),
    )
}

impl Dedupe {
    pub fn new(hold_ns: i64) -> Self {
        Dedupe {
            hold_ns: hold_ns.max(0),
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            hash_fn: |h, cid| h.hash_one(cid),
            in_order: VecDeque::new(),
            late: BinaryHeap::new(),
            next_seq: 0,
            held: 0,
            scratch: Vec::new(),
            max_held: 0,
            stats: MergeStats::default(),
        }
    }

    /// At most `max_held` records held at once (0: no limit): when a record is to be held and
    /// that many are, the record due first is released at once (counted in
    /// [`MergeStats::released_early`]), as a full flow table ends the flow idle the longest.
    pub fn with_limit(mut self, max_held: usize) -> Self {
        self.max_held = max_held;
        self
    }

    /// Records held now.
    pub fn held(&self) -> usize {
        self.held
    }

    /// A record of input `input`: merged into a held duplicate, or held. When the merge is
    /// full, the record due first goes to `out` to make room (see [`Dedupe::with_limit`]).
    pub fn add(&mut self, rec: FlowRecord, input: usize, mut out: impl FnMut(FlowRecord, usize)) {
        let hash = (self.hash_fn)(&self.hasher, &rec.community_id);
        let slots = &self.slots;
        let head = self
            .index
            .find(hash, |&s| slots[s].as_ref().is_some_and(|h| h.hash == hash))
            .copied();
        // The first held duplicate in the order held, and the chain's last slot.
        let (a0, a1) = (rec.ts_ns, end_ns(&rec));
        let mut dup = NIL;
        let mut last = NIL;
        let mut s = head.unwrap_or(NIL);
        while let Some(h) = self.slots.get(s).and_then(Option::as_ref) {
            if h.input != input
                && h.rec.proto == rec.proto
                && h.rec.start_ns <= a1.saturating_add(SKEW_NS)
                && a0 <= h.rec.end_ns.saturating_add(SKEW_NS)
                && packed::community_id(&h.rec.packed) == rec.community_id.as_bytes()
            {
                dup = s;
                break;
            }
            last = s;
            s = h.next;
        }
        if let Some(h) = self.slots.get_mut(dup).and_then(Option::as_mut) {
            self.stats.merged += 1;
            if (evidence(&rec), Reverse(input)) > (h.rec.evidence, Reverse(h.input)) {
                h.rec = Kept::of(&rec, &mut self.scratch);
                h.input = input;
                let release = a1.saturating_add(self.hold_ns);
                if release != h.release {
                    h.release = release;
                    let due = (release, h.seq, dup);
                    self.push_due(due);
                }
            }
            return;
        }
        if self.max_held > 0 && self.held >= self.max_held {
            while let Some(due) = self.pop_due(None) {
                if self.take(due, &mut out) {
                    self.stats.released_early += 1;
                    break;
                }
            }
            // The record released may have been the chain's last.
            last = self.chain_last(hash);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let release = a1.saturating_add(self.hold_ns);
        let held = Held {
            rec: Kept::of(&rec, &mut self.scratch),
            input,
            seq,
            hash,
            release,
            next: NIL,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s] = Some(held);
                s
            }
            None => {
                self.slots.push(Some(held));
                self.slots.len() - 1
            }
        };
        match self.slots.get_mut(last).and_then(Option::as_mut) {
            Some(h) => h.next = slot,
            None => {
                let slots = &self.slots;
                self.index
                    .insert_unique(hash, slot, |&s| slots[s].as_ref().map_or(0, |h| h.hash));
            }
        }
        self.held += 1;
        self.push_due((release, seq, slot));
    }

    /// The last slot of the chain of `hash`, or [`NIL`] when there is none.
    fn chain_last(&self, hash: u64) -> usize {
        let slots = &self.slots;
        let mut s = self
            .index
            .find(hash, |&s| slots[s].as_ref().is_some_and(|h| h.hash == hash))
            .copied()
            .unwrap_or(NIL);
        let mut last = NIL;
        while let Some(h) = slots.get(s).and_then(Option::as_ref) {
            last = s;
            s = h.next;
        }
        last
    }

    fn push_due(&mut self, due: Due) {
        match self.in_order.back() {
            Some(&back) if due < back => self.late.push(Reverse(due)),
            _ => self.in_order.push_back(due),
        }
    }

    /// The earliest release entry, if it is before `before`, taken off its queue.
    fn pop_due(&mut self, before: Option<i64>) -> Option<Due> {
        let a = self.in_order.front().copied();
        let b = self.late.peek().map(|&Reverse(d)| d);
        let first = match (a, b) {
            (Some(a), Some(b)) => a.min(b),
            (Some(d), None) | (None, Some(d)) => d,
            (None, None) => return None,
        };
        if before.is_some_and(|t| first.0 >= t) {
            return None;
        }
        if a == Some(first) {
            self.in_order.pop_front();
        } else {
            self.late.pop();
        }
        Some(first)
    }

    /// The clock is at `now_ns`: records whose end plus the hold time is before it go to `out`,
    /// each with its input, one at a time (unpacked as it goes).
    pub fn advance(&mut self, now_ns: i64, mut out: impl FnMut(FlowRecord, usize)) {
        while let Some(due) = self.pop_due(Some(now_ns)) {
            self.take(due, &mut out);
        }
    }

    /// The inputs ended: every held record goes to `out`, in order of release, one at a time
    /// (all of them unpacked at once would be the largest memory of the run).
    pub fn finish(&mut self, mut out: impl FnMut(FlowRecord, usize)) {
        while let Some(due) = self.pop_due(None) {
            self.take(due, &mut out);
        }
    }

    /// Releases the record of a release entry, unless the entry is stale: whether it did.
    fn take(&mut self, (release, seq, slot): Due, out: &mut impl FnMut(FlowRecord, usize)) -> bool {
        let current = self
            .slots
            .get(slot)
            .and_then(Option::as_ref)
            .is_some_and(|h| h.seq == seq && h.release == release);
        if !current {
            return false;
        }
        let Some(h) = self.slots.get_mut(slot).and_then(Option::take) else {
            return false;
        };
        self.free.push(slot);
        self.held -= 1;
        // Unlink it from its chain (chains are short: the records of one Community ID).
        let slots = &mut self.slots;
        if let Ok(mut first) = self.index.find_entry(h.hash, |&s| {
            s == slot || slots[s].as_ref().is_some_and(|o| o.hash == h.hash)
        }) {
            if *first.get() == slot {
                if h.next == NIL {
                    first.remove();
                } else {
                    *first.get_mut() = h.next;
                }
            } else {
                let mut s = *first.get();
                while let Some(o) = slots.get_mut(s).and_then(Option::as_mut) {
                    if o.next == slot {
                        o.next = h.next;
                        break;
                    }
                    s = o.next;
                }
            }
        }
        out(packed::unpack(&h.rec.packed), h.input);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// Where a merge without a limit releases records early: nowhere.
    fn keep(_: FlowRecord, _: usize) {
        panic!("released early without a limit");
    }

    fn rec(cid: &str, ts: i64, dur: i64, pkts: u64) -> FlowRecord {
        FlowRecord {
            ts_ns: ts * S,
            uid: compact_str::format_compact!("C{cid}{ts}"),
            duration_ns: dur * S,
            orig_pkts: pkts,
            community_id: cid.into(),
            ..FlowRecord::blank()
        }
    }

    #[test]
    fn overlapping_records_of_two_inputs_merge_and_the_best_is_kept() {
        let mut d = Dedupe::new(10 * S);
        let mut with_rtt = rec("1:a", 100, 5, 3);
        with_rtt.rtt_ns = Some(1000);
        d.add(rec("1:a", 100, 5, 9), 1, keep);
        d.add(with_rtt, 0, keep);
        // Same input: never merged; other time: not a duplicate; other id: not one.
        d.add(rec("1:a", 101, 1, 1), 0, keep);
        d.add(rec("1:a", 200, 1, 1), 1, keep);
        d.add(rec("1:b", 100, 5, 1), 0, keep);
        assert_eq!(d.stats.merged, 1);
        let mut out = Vec::new();
        d.advance(112 * S, |r, i| out.push((r, i)));
        assert!(out.is_empty(), "held until end + hold");
        d.advance(115 * S + 1, |r, i| out.push((r, i)));
        let got: Vec<_> = out
            .iter()
            .map(|(r, i)| (r.uid.as_str(), r.orig_pkts, *i))
            .collect();
        assert_eq!(
            got,
            [("C1:a101", 1, 0), ("C1:a100", 3, 0), ("C1:b100", 1, 0)]
        );
        assert_eq!(out[1].0.rtt_ns, Some(1000));
        d.finish(|r, i| out.push((r, i)));
        assert_eq!(out.len(), 4);
        assert_eq!(d.held(), 0);
    }

    #[test]
    fn a_told_direction_beats_more_packets_and_ties_go_to_the_earlier_input() {
        let mut d = Dedupe::new(0);
        let mut a = rec("x", 10, 1, 1);
        a.direction_inferred = false;
        d.add(rec("x", 10, 1, 5), 0, keep);
        d.add(a, 1, keep);
        d.add(rec("y", 10, 1, 5), 3, keep);
        d.add(rec("y", 10, 1, 5), 2, keep);
        let mut out = Vec::new();
        d.finish(|r, i| out.push((r, i)));
        let got: Vec<_> = out.iter().map(|(r, i)| (r.orig_pkts, *i)).collect();
        assert_eq!(got, [(1, 1), (5, 2)]);
        assert_eq!(d.stats.merged, 2);
    }

    #[test]
    fn records_whose_community_ids_hash_alike_are_never_merged() {
        let mut d = Dedupe::new(0);
        // Every Community ID has the same 64-bit hash: one chain holds them all.
        d.hash_fn = |_, _| 7;
        d.add(rec("1:a", 100, 5, 1), 0, keep);
        d.add(rec("1:b", 100, 5, 2), 1, keep);
        d.add(rec("1:c", 100, 9, 3), 1, keep);
        assert_eq!(
            d.stats.merged, 0,
            "same hash, other Community ID: other flows"
        );
        assert_eq!(d.held(), 3);
        // Each duplicate finds its own flow past the others of the chain.
        d.add(rec("1:b", 100, 5, 4), 0, keep);
        d.add(rec("1:a", 100, 5, 5), 1, keep);
        assert_eq!(d.stats.merged, 2);
        let mut out = Vec::new();
        // "1:a" and "1:b" end first: released from the head and middle of the chain.
        d.advance(105 * S + 1, |r, i| out.push((r, i)));
        let got: Vec<_> = out
            .iter()
            .map(|(r, i)| (r.uid.as_str(), r.orig_pkts, *i))
            .collect();
        assert_eq!(got, [("C1:a100", 5, 1), ("C1:b100", 4, 0)]);
        // The chain's last record is still found, and another "1:a" is held anew.
        d.add(rec("1:c", 101, 1, 6), 0, keep);
        d.add(rec("1:a", 106, 1, 7), 0, keep);
        assert_eq!((d.stats.merged, d.held()), (3, 2));
        out.clear();
        d.finish(|r, i| out.push((r, i)));
        let got: Vec<_> = out
            .iter()
            .map(|(r, i)| (r.uid.as_str(), r.orig_pkts, *i))
            .collect();
        // "1:c" took the better record's end: it goes first.
        assert_eq!(got, [("C1:c101", 6, 0), ("C1:a106", 7, 0)]);
        assert_eq!(d.held(), 0);
    }

    /// The merge as it was first written (a map of Community IDs to the records held, a heap
    /// of release times): what the slab must do exactly.
    struct Reference {
        hold_ns: i64,
        held: std::collections::HashMap<u64, (FlowRecord, usize)>,
        by_cid: std::collections::HashMap<crate::flow::Text, Vec<u64>>,
        release: BinaryHeap<Reverse<(i64, u64)>>,
        next_seq: u64,
        merged: u64,
        /// The most records held (0: no limit), and those released early to keep to it.
        max_held: usize,
        released_early: u64,
    }

    impl Reference {
        fn add(&mut self, rec: FlowRecord, input: usize, out: &mut Vec<(FlowRecord, usize)>) {
            if let Some(seqs) = self.by_cid.get(&rec.community_id) {
                let (a0, a1) = (rec.ts_ns, end_ns(&rec));
                let dup = seqs.iter().copied().find(|s| {
                    self.held.get(s).is_some_and(|(h, i)| {
                        *i != input
                            && h.proto == rec.proto
                            && h.ts_ns <= a1.saturating_add(SKEW_NS)
                            && a0 <= end_ns(h).saturating_add(SKEW_NS)
                    })
                });
                if let Some(seq) = dup
                    && let Some((h, i)) = self.held.get_mut(&seq)
                {
                    self.merged += 1;
                    let before = end_ns(h);
                    if (evidence(&rec), Reverse(input)) > (evidence(h), Reverse(*i)) {
                        *i = input;
                        *h = rec;
                    }
                    let after = end_ns(h);
                    if after != before {
                        self.release
                            .push(Reverse((after.saturating_add(self.hold_ns), seq)));
                    }
                    return;
                }
            }
            if self.max_held > 0 && self.held.len() >= self.max_held {
                let before = out.len();
                self.pop(None, Some(1), out);
                self.released_early += (out.len() - before) as u64;
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.by_cid
                .entry(rec.community_id.clone())
                .or_default()
                .push(seq);
            self.release
                .push(Reverse((end_ns(&rec).saturating_add(self.hold_ns), seq)));
            self.held.insert(seq, (rec, input));
        }

        /// Releases what is due before `now_ns` (everything: None), at most `most` records.
        fn pop(
            &mut self,
            now_ns: Option<i64>,
            most: Option<usize>,
            out: &mut Vec<(FlowRecord, usize)>,
        ) {
            let mut n = 0;
            while let Some(&Reverse((release, seq))) = self.release.peek() {
                if now_ns.is_some_and(|t| release >= t) || most == Some(n) {
                    break;
                }
                self.release.pop();
                let current = self
                    .held
                    .get(&seq)
                    .is_some_and(|(h, _)| end_ns(h).saturating_add(self.hold_ns) == release);
                if !current {
                    continue;
                }
                let Some((h, i)) = self.held.remove(&seq) else {
                    continue;
                };
                if let Some(seqs) = self.by_cid.get_mut(&h.community_id) {
                    seqs.retain(|&s| s != seq);
                    if seqs.is_empty() {
                        self.by_cid.remove(&h.community_id);
                    }
                }
                out.push((h, i));
                n += 1;
            }
        }
    }

    /// Without a limit, and with limits that release records early (the reference releases
    /// the record due first when full, as the merge must).
    #[test]
    fn releases_and_merges_as_the_first_implementation_did() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for round in 0..40 {
            let hold = (round % 4) as i64 * S;
            let max_held = [0, 0, 3, 6, 1][round % 5];
            let mut d = Dedupe::new(hold).with_limit(max_held);
            if round % 2 == 1 {
                // Few hashes for many Community IDs: long chains with collisions.
                d.hash_fn = |_, cid| cid.len() as u64 % 3;
            }
            let mut r = Reference {
                hold_ns: hold,
                held: Default::default(),
                by_cid: Default::default(),
                release: BinaryHeap::new(),
                next_seq: 0,
                merged: 0,
                max_held,
                released_early: 0,
            };
            let (mut got, mut want) = (Vec::new(), Vec::new());
            let mut clock = 0i64;
            for n in 0..600u64 {
                // Mostly in order of their end, some late; ends equal often.
                clock += rnd(3) as i64 * S / 2;
                let dur = rnd(4) as i64 * S / 2;
                let end = if rnd(5) == 0 {
                    clock - rnd(6) as i64 * S
                } else {
                    clock
                };
                let mut a = rec(
                    &format!("1:{}", "k".repeat(1 + rnd(9) as usize)),
                    0,
                    0,
                    rnd(4),
                );
                a.ts_ns = end - dur;
                a.duration_ns = dur;
                a.uid = compact_str::format_compact!("C{n}");
                a.direction_inferred = rnd(3) != 0;
                if rnd(6) == 0 {
                    a.rtt_ns = Some(1);
                }
                if rnd(4) == 0 {
                    a.proto = crate::flow::Proto::Udp;
                }
                let input = rnd(3) as usize;
                d.add(a.clone(), input, |r, i| got.push((r, i)));
                r.add(a, input, &mut want);
                assert_eq!(d.held(), r.held.len());
                assert!(max_held == 0 || d.held() <= max_held);
                if rnd(4) == 0 {
                    d.advance(clock, |r, i| got.push((r, i)));
                    r.pop(Some(clock), None, &mut want);
                }
            }
            d.finish(|r, i| got.push((r, i)));
            r.pop(None, None, &mut want);
            let ids = |v: &[(FlowRecord, usize)]| -> Vec<(String, usize)> {
                v.iter().map(|(a, i)| (a.uid.to_string(), *i)).collect()
            };
            assert_eq!(ids(&got), ids(&want), "round {round}");
            assert_eq!(d.stats.merged, r.merged, "round {round}");
            assert_eq!(d.stats.released_early, r.released_early, "round {round}");
            assert!(d.stats.merged > 0, "round {round}: duplicates were made");
            assert_eq!(d.stats.released_early > 0, max_held > 0, "round {round}");
            assert_eq!(d.held(), 0);
        }
    }
}
