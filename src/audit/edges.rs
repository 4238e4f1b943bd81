//! What the flows each rule judged showed, finding or not: failed attempts, the round-trip
//! distribution, the busiest second of a client host, and how many flows its `service`,
//! `tls_min` and `sni` could judge. The matrix of a report reads these
//! per edge (client role -> server role) beside the rules' budgets.
//!
//! Memory per rule: the round trips as [`Rtts`] keeps them (at most about 200 KiB) and
//! [`RTT_BINS`] counters, whatever the number of flows.

use super::content::Checks;
use super::latency::Rtts;

/// Bins of the round-trip distribution: [`BINS_PER_DECADE`] a decade from 1 µs; the first bin
/// also takes anything shorter, the last anything longer (up to 10^8 µs = 100 s and beyond).
pub const RTT_BINS: usize = 40;
/// Bins per factor of ten.
pub const BINS_PER_DECADE: usize = 5;

/// The lower edge of bin `k`, in µs: 10^(k / [`BINS_PER_DECADE`]).
pub fn bin_floor_us(k: usize) -> f64 {
    10f64.powf(k as f64 / BINS_PER_DECADE as f64)
}

/// The bin of a round trip of `ns` nanoseconds.
pub fn bin_of(ns: i64) -> usize {
    let us = ns.max(0) as f64 / 1000.0;
    if us < 1.0 {
        return 0;
    }
    ((us.log10() * BINS_PER_DECADE as f64).floor() as usize).min(RTT_BINS - 1)
}

/// Round trips of a rule's established flows, as a report shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct RttSummary {
    /// Flows with a measured round trip.
    pub measured: u64,
    pub p50_ns: i64,
    pub p95_ns: i64,
    /// Exact.
    pub max_ns: i64,
    /// The percentiles are exact (nearest rank) rather than from the histogram (< 0.1 % off).
    pub exact: bool,
    /// Flows per bin (see [`RTT_BINS`]).
    pub bins: Vec<u64>,
}

/// What the flows one rule judged showed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleStats {
    /// Flows the rule allowed or discouraged that never established (attempts that failed).
    pub failed: u64,
    /// Established flows with a round trip (None when there were none).
    pub rtt: Option<RttSummary>,
    /// The client hosts with the busiest seconds (at most [`TOP_HOSTS`], busiest first; ties
    /// by address), each with its traffic over time: rules with a bandwidth budget only, where
    /// the audit counts bytes per second. The first holds the rule's busiest second.
    pub top_hosts: Vec<HostPeaks>,
    /// Rules with `service`, `tls_min` or `sni`: the flows judged against them, and those that
    /// could not be, by reason (empty for other rules).
    pub checks: Checks,
}

/// Client hosts a rule keeps the traffic over time of, for the report's pictures.
pub const TOP_HOSTS: usize = 6;

/// One client host's busiest second on a rule, and its busiest second per stretch of time.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPeaks {
    pub client: std::net::IpAddr,
    /// kbit/s.
    pub peak_kbps: f64,
    /// (first second, seconds, busiest second's kbit/s), in time order (see
    /// [`super::timeline::PeakTimeline`]).
    pub timeline: Vec<(i64, i64, f64)>,
}

/// A rule's figures while flows come in.
#[derive(Debug, Clone, Default)]
pub struct RuleAcc {
    failed: u64,
    rtts: Rtts,
    bins: Vec<u64>,
    checks: Checks,
}

impl RuleAcc {
    pub fn failed(&mut self) {
        self.failed += 1;
    }

    /// The rule's content checks so far, to count a flow in.
    pub fn checks(&mut self) -> &mut Checks {
        &mut self.checks
    }

    pub fn rtt(&mut self, ns: i64) {
        self.rtts.add(ns);
        if self.bins.is_empty() {
            self.bins = vec![0; RTT_BINS];
        }
        self.bins[bin_of(ns)] += 1;
    }

    /// The figures, without the bandwidth (see [`RuleStats::top_hosts`]).
    pub fn finish(&self) -> RuleStats {
        let rtt = (self.rtts.len() > 0).then(|| RttSummary {
            measured: self.rtts.len(),
            p50_ns: self.rtts.percentile(50),
            p95_ns: self.rtts.percentile(95),
            max_ns: self.rtts.max(),
            exact: self.rtts.exact(),
            bins: self.bins.clone(),
        });
        RuleStats {
            failed: self.failed,
            rtt,
            top_hosts: Vec::new(),
            checks: self.checks.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_five_a_decade_from_one_microsecond() {
        assert_eq!(bin_of(-5), 0);
        assert_eq!(bin_of(999), 0);
        assert_eq!(bin_of(1_000), 0);
        // 10^(1/5) µs = 1.585 µs: the second bin starts there.
        assert_eq!(bin_of(1_584), 0);
        assert_eq!(bin_of(1_585), 1);
        assert_eq!(bin_of(10_000), 5);
        assert_eq!(bin_of(100_000_000), 5 * BINS_PER_DECADE); // 100 ms
        assert_eq!(bin_of(i64::MAX), RTT_BINS - 1);
        assert!((bin_floor_us(10) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_rule_counts_failures_and_summarises_round_trips() {
        let mut a = RuleAcc::default();
        assert_eq!(a.finish(), RuleStats::default());
        a.failed();
        for ms in [120, 100, 130] {
            a.rtt(ms * 1_000_000);
        }
        let s = a.finish();
        assert_eq!(s.failed, 1);
        let r = s.rtt.unwrap();
        assert_eq!(
            (r.measured, r.p50_ns, r.p95_ns, r.max_ns, r.exact),
            (3, 120_000_000, 130_000_000, 130_000_000, true)
        );
        // 100 ms is bin 25; 120 and 130 ms are in it too (the next starts at 158.5 ms).
        assert_eq!(r.bins[25], 3);
        assert_eq!(r.bins.iter().sum::<u64>(), 3);
    }
}
