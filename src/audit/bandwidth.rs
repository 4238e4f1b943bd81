//! Bandwidth per (client host, rule) from per-second packet bytes, in a sliding window.
//!
//! Each (client host, rule) keeps the seconds of its last `window` seconds (counted back from
//! the newest second it has seen) that carried bytes, plus running totals: IP bytes, active
//! seconds and the peak second among final seconds. A second leaves the window (becomes final)
//! when a second `window` or more later arrives; one that arrives after it left is added to the
//! oldest second the window still holds. Memory: O(window) per (client host, rule), whatever
//! the capture's length.

use std::collections::VecDeque;

use super::groups::Seen;
use crate::flow::FlowRecord;

#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// The flows (from their records).
    pub seen: Seen,
    /// IP bytes both ways, every second together.
    pub ip_bytes: u64,
    /// Open seconds with traffic: (second, bytes), ascending.
    window: VecDeque<(i64, u64)>,
    /// Final seconds with traffic.
    active: u64,
    /// The busiest final second's bytes.
    peak: u64,
    /// The busiest final second (None before any).
    peak_sec: Option<i64>,
    /// Its over_bandwidth finding was raised (see `Auditor::raising`).
    pub raised: bool,
    /// Waiting in the auditor's list of usages the next clock tick checks.
    pub touched: bool,
}

impl Usage {
    pub fn note(&mut self, r: &FlowRecord) {
        self.seen.note(r);
    }

    /// `bytes` carried in second `sec`; `window` >= 1.
    pub fn add_bytes(&mut self, sec: i64, bytes: u64, window: usize) {
        if bytes == 0 {
            return;
        }
        self.ip_bytes += bytes;
        let Some(&(newest, _)) = self.window.back() else {
            self.window.push_back((sec, bytes));
            return;
        };
        if sec > newest {
            let keep_from = sec.saturating_sub(window as i64 - 1);
            while let Some(&(s, b)) = self.window.front() {
                if s >= keep_from {
                    break;
                }
                self.finalize(s, b);
                self.window.pop_front();
            }
            self.window.push_back((sec, bytes));
            return;
        }
        // A late second: into its place if the window still holds it, else into the oldest
        // second held.
        let oldest_open = newest.saturating_sub(window as i64 - 1);
        let sec = if sec < oldest_open {
            self.window.front().map_or(sec, |f| f.0)
        } else {
            sec
        };
        match self.window.binary_search_by_key(&sec, |e| e.0) {
            Ok(i) => self.window[i].1 += bytes,
            Err(i) => self.window.insert(i, (sec, bytes)),
        }
    }

    fn finalize(&mut self, sec: i64, bytes: u64) {
        self.active += 1;
        if bytes > self.peak {
            self.peak = bytes;
            self.peak_sec = Some(sec);
        }
    }

    /// The newest second that carried bytes, if any is still open.
    pub fn newest_second(&self) -> Option<i64> {
        self.window.back().map(|e| e.0)
    }

    /// The busiest second before `before` (final, or still open but complete since the clock
    /// is past it), when its bytes are over `budget_kbps`.
    pub fn peak_over(&self, budget_kbps: f64, before: i64) -> Option<i64> {
        let over = |bytes: u64| bytes as f64 * 8.0 / 1000.0 > budget_kbps;
        let open = self
            .window
            .iter()
            .filter(|e| e.0 < before)
            .max_by_key(|e| (e.1, std::cmp::Reverse(e.0)));
        let best = match open {
            Some(&(o, b)) if b > self.peak || self.peak_sec.is_none() => Some((o, b)),
            _ => self.peak_sec.map(|s| (s, self.peak)),
        };
        best.filter(|&(_, b)| over(b)).map(|(s, _)| s)
    }

    /// Active seconds and the busiest second's bytes, once every second is final.
    pub fn active_and_peak(&self) -> (u64, u64) {
        let open = self.window.len() as u64;
        let peak = self.window.iter().map(|e| e.1).fold(self.peak, u64::max);
        (self.active + open, peak)
    }

    #[cfg(test)]
    pub fn open_seconds(&self) -> Vec<(i64, u64)> {
        self.window.iter().copied().collect()
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
}
