//! Bandwidth per (client host, rule) from per-second bytes, in a sliding window.
//!
//! Each (client host, rule) keeps the seconds of its last `window` seconds (counted back from
//! the newest second it has seen) that carried bytes, plus running totals: IP bytes, active
//! seconds and the peak second among final seconds. A second leaves the window (becomes final)
//! when a second `window` or more later arrives.
//!
//! Bytes come two ways:
//! - one second at a time (packets): a second that arrives after it left the window is added
//!   to the oldest second the window still holds;
//! - a flow record's bytes spread over its duration ([`Spread`]): kept as the record (a few
//!   words), not as its seconds, so that a client's memory follows its records in the window,
//!   not the seconds they cover (a 2-minute record is 120 seconds). The seconds of a record
//!   that are already final when it arrives (the start of a record longer than the window)
//!   become final seconds of their own: they are not added to another second, so a peak is
//!   never overstated, but bytes of other records in those seconds are not summed with them.
//!   At most [`MAX_SPREADS`] records are kept as records; older ones are laid out into the
//!   per-second window.
//!
//! Memory: O(window + MAX_SPREADS) per (client host, rule), whatever the input's length.

use std::collections::VecDeque;

use super::groups::Seen;
use super::timeline::PeakTimeline;
use crate::flow::{FlowRecord, Spread};

/// Records a usage keeps whole before the oldest is laid out second by second.
pub const MAX_SPREADS: usize = 8;

/// A record's bytes not yet final: its seconds from `from` on.
#[derive(Debug, Clone)]
struct Open {
    spread: Spread,
    from: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// The flows (from their records).
    pub seen: Seen,
    /// IP bytes both ways, every second together.
    pub ip_bytes: u64,
    /// Open seconds with bytes: (second, bytes), ascending.
    window: VecDeque<(i64, u64)>,
    /// Records whose seconds from `from` on are open, oldest first.
    spreads: Vec<Open>,
    /// The newest second with bytes (None before any).
    newest: Option<i64>,
    /// Final seconds with traffic.
    active: u64,
    /// The busiest final second's bytes.
    peak: u64,
    /// The busiest final second (None before any).
    peak_sec: Option<i64>,
    /// Final seconds over time, for the report's picture.
    timeline: PeakTimeline,
    /// Its over_bandwidth finding was raised (see `Auditor::raising`).
    pub raised: bool,
    /// Waiting in the auditor's list of usages the next clock tick checks.
    pub touched: bool,
}

impl Usage {
    pub fn note(&mut self, r: &FlowRecord) {
        self.seen.note(r);
    }

    /// The first open second when `newest` is the newest: seconds before it are final.
    fn open_from(newest: i64, window: usize) -> i64 {
        newest.saturating_sub(window as i64 - 1)
    }

    /// `bytes` carried in second `sec`; `window` >= 1.
    pub fn add_bytes(&mut self, sec: i64, bytes: u64, window: usize) {
        if bytes == 0 {
            return;
        }
        self.ip_bytes += bytes;
        let Some(newest) = self.newest else {
            self.newest = Some(sec);
            self.window.push_back((sec, bytes));
            return;
        };
        if sec > newest {
            self.advance(sec, window);
            self.window.push_back((sec, bytes));
            return;
        }
        // A late second: into its place if the window still holds it, else into the oldest
        // second held.
        let sec = if sec < Self::open_from(newest, window) {
            self.window.front().map_or(sec, |f| f.0)
        } else {
            sec
        };
        match self.window.binary_search_by_key(&sec, |e| e.0) {
            Ok(i) => self.window[i].1 += bytes,
            Err(i) => self.window.insert(i, (sec, bytes)),
        }
    }

    /// A record's bytes spread over its seconds; `window` >= 1.
    pub fn add_spread(&mut self, spread: Spread, window: usize) {
        if spread.total == 0 {
            return;
        }
        self.ip_bytes += spread.total;
        if self.newest.is_none_or(|n| spread.last() > n) {
            self.advance(spread.last(), window);
        }
        let from = Self::open_from(self.newest.unwrap_or(spread.last()), window);
        // Seconds already final: final seconds of their own.
        if spread.first() < from {
            self.finalize_range(&spread, spread.first(), from.min(spread.last() + 1) - 1);
        }
        if spread.last() >= from {
            if self.spreads.len() == MAX_SPREADS {
                let oldest = self.spreads.remove(0);
                self.lay_out(&oldest);
            }
            self.spreads.push(Open {
                spread,
                from: spread.first().max(from),
            });
        }
    }

    /// Puts a record's open seconds into the per-second window.
    fn lay_out(&mut self, o: &Open) {
        let mut merged = VecDeque::with_capacity(self.window.len() + 8);
        let mut old = std::mem::take(&mut self.window).into_iter().peekable();
        for sec in o.from..=o.spread.last() {
            let bytes = o.spread.bytes(sec);
            if bytes == 0 {
                continue;
            }
            while let Some(&(s, b)) = old.peek() {
                if s >= sec {
                    break;
                }
                merged.push_back((s, b));
                old.next();
            }
            match old.peek() {
                Some(&(s, b)) if s == sec => {
                    merged.push_back((s, b + bytes));
                    old.next();
                }
                _ => merged.push_back((sec, bytes)),
            }
        }
        merged.extend(old);
        self.window = merged;
    }

    /// `newest` is the newest second: every open second before the window ending there
    /// becomes final.
    fn advance(&mut self, newest: i64, window: usize) {
        self.newest = Some(newest);
        let keep_from = Self::open_from(newest, window);
        if self.spreads.is_empty() {
            while let Some(&(s, b)) = self.window.front() {
                if s >= keep_from {
                    break;
                }
                self.finalize(s, b);
                self.window.pop_front();
            }
            return;
        }
        let (mut active, mut peak, mut peak_sec) = (self.active, self.peak, self.peak_sec);
        let mut timeline = std::mem::take(&mut self.timeline);
        self.walk(keep_from, |sec, bytes| {
            active += 1;
            if bytes > peak {
                (peak, peak_sec) = (bytes, Some(sec));
            }
            timeline.add(sec, bytes);
        });
        (self.active, self.peak, self.peak_sec) = (active, peak, peak_sec);
        self.timeline = timeline;
        while self.window.front().is_some_and(|e| e.0 < keep_from) {
            self.window.pop_front();
        }
        self.spreads.retain_mut(|o| {
            o.from = o.from.max(keep_from);
            o.spread.last() >= keep_from
        });
        // Memory follows the records open now, not the most ever open at once.
        if self.spreads.capacity() > 2 * self.spreads.len() + 2 {
            self.spreads.shrink_to(self.spreads.len() + 1);
        }
    }

    /// Each open second before `below` that has bytes, ascending, with its bytes: the
    /// per-second window's and every kept record's share together.
    fn walk(&self, below: i64, mut f: impl FnMut(i64, u64)) {
        let mut next = [0i64; MAX_SPREADS];
        for (n, o) in next.iter_mut().zip(&self.spreads) {
            *n = o.from;
        }
        let mut w = 0;
        loop {
            let mut sec = self.window.get(w).map_or(i64::MAX, |e| e.0);
            for (j, o) in self.spreads.iter().enumerate() {
                if next[j] <= o.spread.last() {
                    sec = sec.min(next[j]);
                }
            }
            if sec == i64::MAX || sec >= below {
                return;
            }
            let mut bytes = 0;
            if let Some(&(s, b)) = self.window.get(w)
                && s == sec
            {
                bytes += b;
                w += 1;
            }
            for (n, o) in next.iter_mut().zip(&self.spreads) {
                if *n == sec {
                    bytes += o.spread.bytes(sec);
                    *n += 1;
                }
            }
            if bytes > 0 {
                f(sec, bytes);
            }
        }
    }

    /// Seconds `lo..=hi` of a record, final, in the order [`Usage::finalize`] would take them
    /// one by one: its first and last second on their own, the seconds between in bulk (see
    /// [`Spread::between`]), so that the work does not follow the duration a record claims.
    fn finalize_range(&mut self, sp: &Spread, lo: i64, hi: i64) {
        let (first, last) = (sp.first(), sp.last());
        let edge = |u: &mut Self, sec: i64| {
            let bytes = sp.bytes(sec);
            if bytes > 0 {
                u.finalize(sec, bytes);
            }
        };
        if lo == first {
            edge(self, first);
        }
        let (a, b) = (
            lo.max(first.saturating_add(1)),
            hi.min(last.saturating_sub(1)),
        );
        if a <= b {
            let (count, most, at) = sp.between(a, b);
            self.finalize_many(count, at, most);
            if count > 0 {
                self.timeline.add_range(a, b, most);
            }
        }
        if hi == last && last != first {
            edge(self, last);
        }
    }

    fn finalize(&mut self, sec: i64, bytes: u64) {
        self.finalize_many(1, sec, bytes);
        self.timeline.add(sec, bytes);
    }

    /// `count` final seconds with bytes, the most of them `bytes`, first at `sec`.
    fn finalize_many(&mut self, count: u64, sec: i64, bytes: u64) {
        self.active += count;
        if count > 0 && bytes > self.peak {
            self.peak = bytes;
            self.peak_sec = Some(sec);
        }
    }

    /// The newest second that carried bytes, if any is still open.
    pub fn newest_second(&self) -> Option<i64> {
        self.newest
            .filter(|_| !self.window.is_empty() || !self.spreads.is_empty())
    }

    /// The busiest second before `before` (final, or still open but complete since the clock
    /// is past it), when its bytes are over `budget_kbps`.
    pub fn peak_over(&self, budget_kbps: f64, before: i64) -> Option<i64> {
        let over = |bytes: u64| bytes as f64 * 8.0 / 1000.0 > budget_kbps;
        let mut open: Option<(i64, u64)> = None;
        self.walk(before, |sec, bytes| {
            if open.is_none_or(|(_, b)| bytes > b) {
                open = Some((sec, bytes));
            }
        });
        let best = match open {
            Some((o, b)) if b > self.peak || self.peak_sec.is_none() => Some((o, b)),
            _ => self.peak_sec.map(|s| (s, self.peak)),
        };
        best.filter(|&(_, b)| over(b)).map(|(s, _)| s)
    }

    /// The busiest second of each stretch of time, once every second is final (see
    /// [`PeakTimeline`]).
    pub fn timeline(&self) -> PeakTimeline {
        let mut t = self.timeline.clone();
        self.walk(i64::MAX, |sec, bytes| t.add(sec, bytes));
        t
    }

    /// Active seconds and the busiest second's bytes, once every second is final.
    pub fn active_and_peak(&self) -> (u64, u64) {
        let (mut active, mut peak) = (self.active, self.peak);
        self.walk(i64::MAX, |_, bytes| {
            active += 1;
            peak = peak.max(bytes);
        });
        (active, peak)
    }

    #[cfg(test)]
    pub fn open_seconds(&self) -> Vec<(i64, u64)> {
        let mut v = Vec::new();
        self.walk(i64::MAX, |s, b| v.push((s, b)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_rolls_over_and_keeps_totals() {
        let mut u = Usage::default();
        for s in 100..120 {
            u.add_bytes(s, 10 + (s as u64 - 100), 8);
        }
        // Seconds 112..=119 are open; 100..=111 final.
        assert_eq!(u.open_seconds().len(), 8);
        assert_eq!(u.open_seconds()[0], (112, 22));
        assert_eq!((u.active, u.peak), (12, 21));
        assert_eq!(u.active_and_peak(), (20, 29));
        assert_eq!(u.ip_bytes, (10..30).sum::<u64>());
        // A jump far ahead finalizes everything open: memory stays at the window.
        u.add_bytes(1_000_000_000, 5, 8);
        assert_eq!(u.open_seconds(), vec![(1_000_000_000, 5)]);
        assert_eq!(u.active_and_peak(), (21, 29));
    }

    #[test]
    fn late_seconds_land_in_place_or_in_the_oldest_open_second() {
        let mut u = Usage::default();
        u.add_bytes(10, 100, 8);
        u.add_bytes(12, 100, 8);
        // Out of order but inside the window: its own second.
        u.add_bytes(11, 50, 8);
        u.add_bytes(10, 25, 8);
        assert_eq!(u.open_seconds(), vec![(10, 125), (11, 50), (12, 100)]);
        // Second 20 closes 10, 11 and 12 (the window is 13..=20 after it).
        u.add_bytes(20, 1, 8);
        assert_eq!(u.open_seconds(), vec![(20, 1)]);
        assert_eq!((u.active, u.peak), (3, 125));
        u.add_bytes(14, 7, 8);
        // Second 12 is final: a late byte count for it goes to the oldest open second (14).
        u.add_bytes(12, 1000, 8);
        assert_eq!(u.open_seconds(), vec![(14, 1007), (20, 1)]);
        assert_eq!(u.active_and_peak(), (5, 1007));
        assert_eq!(u.ip_bytes, 125 + 50 + 100 + 1 + 7 + 1000);
    }

    fn spread(start_ns: i64, dur_ns: i64, total: u64) -> Spread {
        Spread::new(start_ns, dur_ns, total)
    }

    /// The same records, kept whole or laid out second by second as packets would give them:
    /// the same open seconds, active seconds and peak, whenever no second is late.
    fn same_as_per_second(records: &[(i64, i64, u64)], window: usize) {
        let (mut whole, mut seconds) = (Usage::default(), Usage::default());
        for &(start, dur, total) in records {
            let sp = spread(start, dur, total);
            whole.add_spread(sp, window);
            for sec in sp.first()..=sp.last() {
                seconds.add_bytes(sec, sp.bytes(sec), window);
            }
            assert!(whole.spreads.len() <= MAX_SPREADS);
            assert!(whole.window.len() <= window);
            assert_eq!(whole.open_seconds(), seconds.open_seconds(), "{records:?}");
            assert_eq!(
                (whole.active, whole.peak, whole.peak_sec),
                (seconds.active, seconds.peak, seconds.peak_sec)
            );
            for before in [i64::MIN, sp.first(), sp.last(), i64::MAX] {
                for budget in [0.0, 8.0, 800.0] {
                    assert_eq!(
                        whole.peak_over(budget, before),
                        seconds.peak_over(budget, before)
                    );
                }
            }
        }
        assert_eq!(whole.active_and_peak(), seconds.active_and_peak());
        assert_eq!(whole.ip_bytes, seconds.ip_bytes);
    }

    #[test]
    fn records_kept_whole_give_the_seconds_they_cover() {
        // Overlapping records of one client, in order of their end, each shorter than the
        // window; more of them than are kept whole, so the oldest are laid out.
        let s = 1_000_000_000;
        let records: Vec<(i64, i64, u64)> = (0..40)
            .map(|i| {
                (
                    100 * s + i * s / 3,
                    (i % 7) * s + 250_000_000,
                    1000 + 37 * i as u64,
                )
            })
            .collect();
        same_as_per_second(&records, 8);
        same_as_per_second(&records, 360);
        // A zero-length record, and one of no bytes.
        same_as_per_second(&[(5 * s, 0, 10), (5 * s + 1, 0, 0), (6 * s, 2 * s, 9)], 8);
    }

    #[test]
    fn the_final_start_of_a_long_record_is_seconds_of_its_own() {
        let s = 1_000_000_000;
        let mut u = Usage::default();
        u.add_spread(spread(100 * s, s, 5000), 8);
        // 20 seconds of 100 bytes each, ending at second 120: seconds 101..=112 are before
        // the window (113..=120) that second 120 opens, and second 100's 5000 bytes are not
        // added to any of them.
        u.add_spread(spread(101 * s, 20 * s, 2000), 8);
        assert_eq!(
            u.open_seconds(),
            (113..=120).map(|sec| (sec, 100)).collect::<Vec<_>>()
        );
        assert_eq!(u.active_and_peak(), (21, 5000));
        assert_eq!(u.peak_sec, Some(100));
        // Late: a record that ended before the window is final as it arrives.
        u.add_spread(spread(90 * s, s, 7000), 8);
        assert_eq!(u.active_and_peak(), (22, 7000));
        assert_eq!(u.ip_bytes, 14_000);
    }

    /// The same seconds finalized one by one.
    fn finalized_one_by_one(sp: &Spread, lo: i64, hi: i64) -> (u64, u64, Option<i64>) {
        let mut u = Usage::default();
        for sec in lo..=hi {
            let bytes = sp.bytes(sec);
            if bytes > 0 {
                u.finalize(sec, bytes);
            }
        }
        (u.active, u.peak, u.peak_sec)
    }

    #[test]
    fn a_record_of_any_claimed_duration_is_final_at_once() {
        let s = 1_000_000_000;
        // Longer than the window by far: every second but the last eight is final on
        // arrival, taken in bulk; the same as one by one.
        for (dur, total) in [
            (100_000 * s + 123, 7_654_321u64),
            (100_000 * s, 99_999),
            (100_000 * s - 1, 3),
            (3 * s, 1),
            (2 * s + 1, 10),
        ] {
            let sp = spread(42 * s + 500_000_000, dur, total);
            let mut u = Usage::default();
            u.add_spread(sp, 8);
            let from = Usage::open_from(sp.last(), 8);
            let want = finalized_one_by_one(&sp, sp.first(), from - 1);
            assert_eq!((u.active, u.peak, u.peak_sec), want, "{sp:?}");
            let open: u64 = u.open_seconds().iter().map(|&(_, b)| b).sum();
            let closed: u64 = (sp.first()..from).map(|sec| sp.bytes(sec)).sum();
            assert_eq!(open + closed, total);
        }
        // A duration no capture could have (about 292 years): as prompt as any other.
        let mut u = Usage::default();
        u.add_spread(spread(0, i64::MAX, u64::MAX), 8);
        assert!(u.active > 0 && u.peak > 0);
    }

    proptest::proptest! {
        #[test]
        fn final_ranges_in_bulk_as_one_by_one(
            start in -5_000_000_000i64..5_000_000_000,
            dur in 0i64..300_000_000_000,
            total in proptest::prop_oneof![0u64..50, 0u64..u64::MAX],
            lo_off in 0i64..400,
            len in 0i64..400,
        ) {
            let sp = spread(start, dur, total);
            let lo = (sp.first() + lo_off).min(sp.last());
            let hi = (lo + len).min(sp.last());
            let mut u = Usage::default();
            u.finalize_range(&sp, lo, hi);
            proptest::prop_assert_eq!((u.active, u.peak, u.peak_sec), finalized_one_by_one(&sp, lo, hi));
        }

        #[test]
        fn any_records_in_end_order_give_the_seconds_they_cover(
            mut records in proptest::collection::vec((0i64..200_000_000_000, 0i64..7_000_000_000, 0u64..100_000), 1..60),
        ) {
            // In order of their end, as the records reach the audit; each shorter than the
            // window, so no second is late.
            records.sort_by_key(|&(start, dur, _)| start + dur);
            same_as_per_second(&records, 8);
        }
    }
}
