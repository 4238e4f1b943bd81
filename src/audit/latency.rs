//! Round-trip distributions in bounded memory.
//!
//! A group keeps its first [`EXACT`] round trips as they are (exact nearest-rank percentiles,
//! 512 bytes at most); beyond, an HdrHistogram with 3 significant digits takes over: at most
//! 1/1024 (< 0.1 %) relative error. Its counters are 8 bytes each: 2,048 of them (16 KiB) for
//! round trips up to 2 µs, and 1,024 more (8 KiB) per doubling of the largest round trip
//! beyond: about 168 KiB for round trips up to 1 s, 200 KiB up to 1 min. The maximum is kept
//! exactly beside it.

use hdrhistogram::Histogram;

/// Round trips kept exactly before the histogram takes over.
pub const EXACT: usize = 64;

/// Measured round trips (ns) of one group.
#[derive(Debug, Clone, Default)]
pub struct Rtts {
    n: u64,
    max: i64,
    /// Every round trip, while there are at most [`EXACT`].
    exact: Vec<i64>,
    hist: Option<Box<Histogram<u64>>>,
}

fn histogram() -> Box<Histogram<u64>> {
    // Auto-resizing, from 1 ns: 3 significant digits at every magnitude.
    Box::new(Histogram::new(3).expect("3 significant digits is a valid histogram"))
}

/// Records a round trip, growing the histogram as needed (a negative one, from packets out of
/// time order, as 0).
fn record(h: &mut Histogram<u64>, rtt: i64) {
    let v = rtt.max(0) as u64;
    if h.record(v).is_err() {
        // Beyond what the histogram can grow to (2^63 ns): kept at its largest value.
        h.saturating_record(v);
    }
}

impl Rtts {
    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn add(&mut self, rtt: i64) {
        self.max = if self.n == 0 { rtt } else { self.max.max(rtt) };
        self.n += 1;
        if let Some(h) = &mut self.hist {
            record(h, rtt);
        } else if self.exact.len() < EXACT {
            self.exact.push(rtt);
        } else {
            let mut h = histogram();
            for &v in &self.exact {
                record(&mut h, v);
            }
            record(&mut h, rtt);
            self.exact = Vec::new();
            self.hist = Some(h);
        }
    }

    pub fn merge(&mut self, other: &Rtts) {
        if other.n == 0 {
            return;
        }
        match (&mut self.hist, &other.hist) {
            (Some(h), Some(o)) => {
                // Both auto-resize: adding cannot fail for lack of range.
                let _ = h.add(&**o);
                self.max = self.max.max(other.max);
                self.n += other.n;
            }
            (None, Some(o)) => {
                let mut h = o.clone();
                for &v in &self.exact {
                    record(&mut h, v);
                }
                self.max = if self.n == 0 {
                    other.max
                } else {
                    self.max.max(other.max)
                };
                self.n += other.n;
                self.exact = Vec::new();
                self.hist = Some(h);
            }
            (_, None) => {
                for &v in &other.exact {
                    self.add(v);
                }
            }
        }
    }

    /// True while the percentiles are exact.
    pub fn exact(&self) -> bool {
        self.hist.is_none()
    }

    /// The exact maximum.
    pub fn max(&self) -> i64 {
        self.max
    }

    /// Nearest-rank percentile `p` (1-100): exact while [`Rtts::exact`], else the highest value
    /// equivalent to the true one in the histogram (at most 0.1 % above it), capped at the
    /// exact maximum.
    pub fn percentile(&self, p: usize) -> i64 {
        let Some(h) = &self.hist else {
            let mut v = self.exact.clone();
            v.sort_unstable();
            return super::percentile(&v, p);
        };
        let rank = (p as u64 * self.n).div_ceil(100).max(1);
        let mut seen = 0u64;
        for v in h.iter_recorded() {
            seen += v.count_at_value();
            if seen >= rank {
                return (v.value_iterated_to() as i64).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (SplitMix64).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    fn exact_percentile(v: &[i64], p: usize) -> i64 {
        let mut s = v.to_vec();
        s.sort_unstable();
        super::super::percentile(&s, p)
    }

    #[test]
    fn small_groups_are_exact() {
        let mut r = Rtts::default();
        for v in [120_526_000, 122_417_000, 95_000_000] {
            r.add(v);
        }
        assert!(r.exact());
        assert_eq!(r.percentile(50), 120_526_000);
        assert_eq!(r.percentile(95), 122_417_000);
        assert_eq!(r.max(), 122_417_000);
    }

    #[test]
    fn histogram_within_a_thousandth_of_nearest_rank() {
        let mut rng = Rng(42);
        for round in 0..40 {
            let n = 65 + (rng.next() % 5000) as usize;
            // Log-uniform from 1 µs to 10 s, plus some exact duplicates.
            let values: Vec<i64> = (0..n)
                .map(|_| {
                    let e = (rng.next() % 1_000_000) as f64 / 1_000_000.0 * 7.0;
                    (1_000.0 * 10f64.powf(e)) as i64
                })
                .collect();
            let mut r = Rtts::default();
            for &v in &values {
                r.add(v);
            }
            assert!(!r.exact());
            assert_eq!(r.len(), n as u64);
            for p in [1, 50, 90, 95, 99, 100] {
                let want = exact_percentile(&values, p);
                let got = r.percentile(p);
                let err = (got - want) as f64 / want as f64;
                assert!(
                    (0.0..=0.001).contains(&err),
                    "round {round} n {n} p{p}: {got} vs {want} ({err})"
                );
            }
            assert_eq!(r.max(), *values.iter().max().unwrap());
        }
    }

    #[test]
    fn merging_keeps_counts_and_the_exact_max() {
        let mut rng = Rng(7);
        let mut all = Vec::new();
        let mut total = Rtts::default();
        for part in 0..6 {
            let mut r = Rtts::default();
            // Parts of 10 (exact) and 200 (histogram) values.
            for _ in 0..(if part % 2 == 0 { 10 } else { 200 }) {
                let v = 50_000 + (rng.next() % 200_000_000) as i64;
                all.push(v);
                r.add(v);
            }
            total.merge(&r);
        }
        assert_eq!(total.len(), all.len() as u64);
        assert_eq!(total.max(), *all.iter().max().unwrap());
        for p in [50, 95] {
            let want = exact_percentile(&all, p);
            let err = (total.percentile(p) - want) as f64 / want as f64;
            assert!((0.0..=0.001).contains(&err), "p{p} {err}");
        }
    }
}
