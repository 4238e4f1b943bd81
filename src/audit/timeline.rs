//! A client host's traffic over time in bounded memory, for the report's pictures: at most
//! [`BUCKETS`] buckets of equal length (a power of two seconds), each the busiest second in it.
//! When a second falls outside, neighbouring buckets merge pairwise (the length doubles) until
//! it fits, so the whole span is kept whatever its length; a second before the first bucket
//! adds buckets in front.
//!
//! Memory: 64 bytes in the usage itself, no allocation: every (client host, rule) with a
//! bandwidth budget has one, and there may be hundreds of thousands of them. Each bucket's
//! bytes are kept as a 16-bit logarithm ([`encode`]): 0.07 % at most off, enough for a
//! picture (the report's figures come from the exact counts beside it).

/// Buckets at most.
pub const BUCKETS: usize = 24;

/// `bytes` as 1024 × log2(1 + bytes), rounded: monotonic (the larger of two codes is the
/// code of the larger count), 0 for 0.
pub fn encode(bytes: u64) -> u16 {
    ((bytes as f64 + 1.0).log2() * 1024.0)
        .round()
        .min(f64::from(u16::MAX)) as u16
}

/// What [`encode`] gave `code` for (within 0.07 %).
pub fn decode(code: u16) -> u64 {
    (2f64.powf(f64::from(code) / 1024.0) - 1.0).round() as u64
}

/// The busiest second of each bucket of a host's seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeakTimeline {
    /// First second of bucket 0.
    origin: i64,
    /// Seconds a bucket: 1 << `shift`.
    shift: u8,
    /// Buckets in use.
    len: u8,
    /// Busiest second's bytes per bucket ([`encode`]d).
    peaks: [u16; BUCKETS],
}

impl PeakTimeline {
    /// A second that carried `bytes`.
    pub fn add(&mut self, sec: i64, bytes: u64) {
        let k = self.fit(sec);
        self.peaks[k] = self.peaks[k].max(encode(bytes));
    }

    /// Seconds `first..=last`, each with at most `bytes` (a record's seconds between its first
    /// and last, which carry its bytes evenly).
    pub fn add_range(&mut self, first: i64, last: i64, bytes: u64) {
        if last < first {
            return;
        }
        self.fit(first);
        self.fit(last);
        // Fitting `last` may have merged buckets, never moved `first` out.
        let (a, b) = (self.fit(first), self.fit(last));
        let v = encode(bytes);
        for p in &mut self.peaks[a..=b] {
            *p = (*p).max(v);
        }
    }

    /// The buckets: (first second, seconds, busiest second's bytes), in time order.
    pub fn buckets(&self) -> impl Iterator<Item = (i64, i64, u64)> + '_ {
        self.peaks[..usize::from(self.len)]
            .iter()
            .enumerate()
            .map(|(k, &p)| {
                (
                    self.origin
                        .saturating_add((k as i64).saturating_mul(self.width())),
                    self.width(),
                    decode(p),
                )
            })
    }

    /// Seconds a bucket.
    fn width(&self) -> i64 {
        1i64 << self.shift
    }

    /// The bucket that holds `sec`, made to exist.
    fn fit(&mut self, sec: i64) -> usize {
        if self.len == 0 {
            self.origin = sec;
            self.shift = 0;
            self.len = 1;
            self.peaks = [0; BUCKETS];
            return 0;
        }
        loop {
            let len = usize::from(self.len);
            let k = sec.saturating_sub(self.origin).div_euclid(self.width());
            if k < 0 {
                let need = usize::try_from(k.unsigned_abs()).unwrap_or(usize::MAX);
                if need <= BUCKETS - len {
                    self.peaks.copy_within(0..len, need);
                    self.peaks[..need].fill(0);
                    self.len += need as u8;
                    self.origin -= need as i64 * self.width();
                    return 0;
                }
            } else if (k as u64) < BUCKETS as u64 {
                let k = k as usize;
                if k >= len {
                    self.len = k as u8 + 1;
                }
                return k;
            }
            self.coarsen();
        }
    }

    /// Merges neighbouring buckets pairwise: twice the length, half the buckets.
    fn coarsen(&mut self) {
        let len = usize::from(self.len);
        let half = len.div_ceil(2);
        for j in 0..half {
            let b = self.peaks.get(2 * j + 1).filter(|_| 2 * j + 1 < len);
            self.peaks[j] = self.peaks[2 * j].max(b.copied().unwrap_or(0));
        }
        self.peaks[half..].fill(0);
        self.len = half as u8;
        // 2^62 s covers any two seconds of i64 nanoseconds.
        self.shift = (self.shift + 1).min(62);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(t: &PeakTimeline) -> Vec<(i64, i64, u64)> {
        t.buckets().collect()
    }

    #[test]
    fn seconds_keep_their_own_bucket_while_they_fit() {
        let mut t = PeakTimeline::default();
        assert_eq!(all(&t), []);
        t.add(100, 5);
        t.add(102, 7);
        t.add(102, 3);
        // Small counts come back exactly.
        assert_eq!(all(&t), [(100, 1, 5), (101, 1, 0), (102, 1, 7)]);
        // Before the first: buckets in front.
        t.add(98, 9);
        assert_eq!(
            all(&t),
            [
                (98, 1, 9),
                (99, 1, 0),
                (100, 1, 5),
                (101, 1, 0),
                (102, 1, 7)
            ]
        );
    }

    #[test]
    fn a_long_span_merges_buckets_and_keeps_every_peak() {
        let mut t = PeakTimeline::default();
        for s in 0..1000 {
            t.add(s, (s % 97) as u64);
        }
        let b = all(&t);
        // 1000 seconds in at most 24 buckets: 64 s each.
        assert!(b.len() <= BUCKETS);
        assert!(b.iter().all(|&(_, w, _)| w == 64));
        assert_eq!(b[0].0, 0);
        // The busiest second overall (96 bytes) is in the timeline, and each bucket holds its
        // own seconds' busiest.
        assert_eq!(b.iter().map(|x| x.2).max(), Some(96));
        for &(from, w, peak) in &b {
            let want = (from..(from + w).min(1000))
                .map(|s| (s % 97) as u64)
                .max()
                .unwrap();
            assert_eq!(peak, want, "bucket from {from}");
        }
        // Far before: merged again until it fits.
        t.add(-100_000, 1);
        let b = all(&t);
        assert!(b.len() <= BUCKETS);
        assert_eq!(b.first().map(|x| x.2), Some(1));
        assert_eq!(b.iter().map(|x| x.2).max(), Some(96));
    }

    #[test]
    fn a_range_sets_each_of_its_buckets() {
        let mut t = PeakTimeline::default();
        t.add(10, 50);
        t.add_range(8, 12, 20);
        assert_eq!(
            all(&t),
            [
                (8, 1, 20),
                (9, 1, 20),
                (10, 1, 50),
                (11, 1, 20),
                (12, 1, 20)
            ]
        );
        t.add_range(5, 4, 99);
        assert_eq!(all(&t).len(), 5);
    }

    #[test]
    fn the_encoding_keeps_order_and_is_close() {
        assert_eq!((encode(0), decode(0)), (0, 0));
        let mut last = 0;
        for bytes in [
            1u64,
            2,
            3,
            10,
            999,
            1000,
            1001,
            65_535,
            1 << 20,
            12_345_678_901,
            u64::MAX,
        ] {
            let c = encode(bytes);
            assert!(c >= last, "{bytes}");
            last = c;
            let back = decode(c) as f64;
            assert!(
                (back - bytes as f64).abs() <= bytes as f64 * 0.0007 + 0.5,
                "{bytes} -> {back}"
            );
        }
        assert!(encode(1000) < encode(1001));
    }

    #[test]
    fn extreme_seconds_and_bytes_do_not_break_it() {
        let mut t = PeakTimeline::default();
        t.add(-9_300_000_000, u64::MAX);
        t.add(9_300_000_000, 1);
        t.add_range(-9_300_000_000, 9_300_000_000, 2);
        let b = all(&t);
        assert!(b.len() <= BUCKETS);
        // u64::MAX bytes: the largest code, about 2^64.
        assert!(b[0].2 > 1 << 63);
    }

    proptest::proptest! {
        /// Against the seconds kept whole: every second falls in a bucket, and each bucket is
        /// the busiest of its seconds (as encoded), whatever the order they come in.
        #[test]
        fn each_bucket_is_the_busiest_of_its_seconds(
            adds in proptest::collection::vec((-5_000i64..5_000, 0u64..1_000_000), 1..200),
        ) {
            let mut t = PeakTimeline::default();
            for &(sec, bytes) in &adds {
                t.add(sec, bytes);
            }
            let b = all(&t);
            proptest::prop_assert!(!b.is_empty() && b.len() <= BUCKETS);
            let (from, to) = (b[0].0, b[b.len() - 1].0 + b[0].1);
            for &(sec, _) in &adds {
                proptest::prop_assert!(from <= sec && sec < to, "{} outside {}..{}", sec, from, to);
            }
            for &(start, w, peak) in &b {
                let most = adds
                    .iter()
                    .filter(|a| start <= a.0 && a.0 < start + w)
                    .map(|a| a.1)
                    .max();
                proptest::prop_assert_eq!(peak, most.map_or(0, |m| decode(encode(m))));
            }
        }
    }
}
