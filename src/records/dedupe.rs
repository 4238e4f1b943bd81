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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::flow::FlowRecord;

/// Clock difference tolerated between two sensors' records of one connection.
pub const SKEW_NS: i64 = 1_000_000_000;

struct Held {
    rec: FlowRecord,
    input: usize,
}

/// Merges duplicate records across inputs (see the module's documentation).
pub struct Dedupe {
    hold_ns: i64,
    held: HashMap<u64, Held>,
    by_cid: HashMap<String, Vec<u64>>,
    release: BinaryHeap<Reverse<(i64, u64)>>,
    next_seq: u64,
    /// Records merged into another (each duplicate counts once).
    pub merged: u64,
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
            held: HashMap::new(),
            by_cid: HashMap::new(),
            release: BinaryHeap::new(),
            next_seq: 0,
            merged: 0,
        }
    }

    /// Records held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// A record of input `input`: merged into a held duplicate, or held.
    pub fn add(&mut self, rec: FlowRecord, input: usize) {
        if let Some(seqs) = self.by_cid.get(&rec.community_id) {
            let (a0, a1) = (rec.ts_ns, end_ns(&rec));
            let dup = seqs.iter().copied().find(|s| {
                self.held.get(s).is_some_and(|h| {
                    h.input != input
                        && h.rec.proto == rec.proto
                        && h.rec.ts_ns <= a1.saturating_add(SKEW_NS)
                        && a0 <= end_ns(&h.rec).saturating_add(SKEW_NS)
                })
            });
            if let Some(seq) = dup
                && let Some(h) = self.held.get_mut(&seq)
            {
                self.merged += 1;
                let new_wins =
                    (evidence(&rec), Reverse(input)) > (evidence(&h.rec), Reverse(h.input));
                let before = end_ns(&h.rec);
                if new_wins {
                    h.input = input;
                    h.rec = rec;
                }
                let after = end_ns(&h.rec);
                if after != before {
                    self.release
                        .push(Reverse((after.saturating_add(self.hold_ns), seq)));
                }
                return;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let release = end_ns(&rec).saturating_add(self.hold_ns);
        self.by_cid
            .entry(rec.community_id.clone())
            .or_default()
            .push(seq);
        self.release.push(Reverse((release, seq)));
        self.held.insert(seq, Held { rec, input });
    }

    /// The clock is at `now_ns`: records whose end plus the hold time is before it go to `out`,
    /// each with its input.
    pub fn advance(&mut self, now_ns: i64, out: &mut Vec<(FlowRecord, usize)>) {
        while let Some(&Reverse((release, seq))) = self.release.peek() {
            if release >= now_ns {
                break;
            }
            self.release.pop();
            self.take(seq, release, out);
        }
    }

    /// The inputs ended: every held record goes to `out`, in order of release.
    pub fn finish(&mut self, out: &mut Vec<(FlowRecord, usize)>) {
        while let Some(Reverse((release, seq))) = self.release.pop() {
            self.take(seq, release, out);
        }
    }

    /// Releases held record `seq`, if `release` is still its time.
    fn take(&mut self, seq: u64, release: i64, out: &mut Vec<(FlowRecord, usize)>) {
        let current = self
            .held
            .get(&seq)
            .is_some_and(|h| end_ns(&h.rec).saturating_add(self.hold_ns) == release);
        if !current {
            return;
        }
        let Some(h) = self.held.remove(&seq) else {
            return;
        };
        if let Some(seqs) = self.by_cid.get_mut(&h.rec.community_id) {
            seqs.retain(|&s| s != seq);
            if seqs.is_empty() {
                self.by_cid.remove(&h.rec.community_id);
            }
        }
        out.push((h.rec, h.input));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{ConnState, Proto};

    const S: i64 = 1_000_000_000;

    fn rec(cid: &str, ts: i64, dur: i64, pkts: u64) -> FlowRecord {
        FlowRecord {
            ts_ns: ts * S,
            uid: format!("C{cid}{ts}"),
            orig_h: "10.0.0.1".parse().unwrap(),
            orig_p: 1025,
            resp_h: "10.0.0.2".parse().unwrap(),
            resp_p: 80,
            proto: Proto::Tcp,
            duration_ns: dur * S,
            orig_bytes: 0,
            resp_bytes: 0,
            conn_state: ConnState::SF,
            missed_bytes: 0,
            history: String::new(),
            orig_pkts: pkts,
            orig_ip_bytes: 0,
            resp_pkts: 0,
            resp_ip_bytes: 0,
            vlan: Vec::new(),
            community_id: cid.to_string(),
            direction_inferred: true,
            syn_synack_ns: None,
            synack_ack_ns: None,
            rtt_ns: None,
            icmp_errors: None,
            evicted: false,
            service: None,
            tunnel: None,
            tunnel_parents: Vec::new(),
            bad_checksums: 0,
            rejected: None,
        }
    }

    #[test]
    fn overlapping_records_of_two_inputs_merge_and_the_best_is_kept() {
        let mut d = Dedupe::new(10 * S);
        let mut with_rtt = rec("1:a", 100, 5, 3);
        with_rtt.rtt_ns = Some(1000);
        d.add(rec("1:a", 100, 5, 9), 1);
        d.add(with_rtt, 0);
        // Same input: never merged; other time: not a duplicate; other id: not one.
        d.add(rec("1:a", 101, 1, 1), 0);
        d.add(rec("1:a", 200, 1, 1), 1);
        d.add(rec("1:b", 100, 5, 1), 0);
        assert_eq!(d.merged, 1);
        let mut out = Vec::new();
        d.advance(112 * S, &mut out);
        assert!(out.is_empty(), "held until end + hold");
        d.advance(115 * S + 1, &mut out);
        let got: Vec<_> = out
            .iter()
            .map(|(r, i)| (r.uid.as_str(), r.orig_pkts, *i))
            .collect();
        assert_eq!(
            got,
            [("C1:a101", 1, 0), ("C1:a100", 3, 0), ("C1:b100", 1, 0)]
        );
        assert_eq!(out[1].0.rtt_ns, Some(1000));
        d.finish(&mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(d.held(), 0);
    }

    #[test]
    fn a_told_direction_beats_more_packets_and_ties_go_to_the_earlier_input() {
        let mut d = Dedupe::new(0);
        let mut a = rec("x", 10, 1, 1);
        a.direction_inferred = false;
        d.add(rec("x", 10, 1, 5), 0);
        d.add(a, 1);
        d.add(rec("y", 10, 1, 5), 3);
        d.add(rec("y", 10, 1, 5), 2);
        let mut out = Vec::new();
        d.finish(&mut out);
        let got: Vec<_> = out.iter().map(|(r, i)| (r.orig_pkts, *i)).collect();
        assert_eq!(got, [(1, 1), (5, 2)]);
        assert_eq!(d.merged, 2);
    }
}
