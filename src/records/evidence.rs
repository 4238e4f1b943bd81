//! What reading one record input found, and what its format cannot show: the evidence an
//! audit report gives per input.

use std::path::PathBuf;

use super::ReadStats;
use super::pair::PairStats;

/// What reading one input found.
#[derive(Debug, Clone)]
pub struct InputEvidence {
    pub path: PathBuf,
    pub format: &'static str,
    pub size: Option<u64>,
    /// SHA-256 of the file, when asked for and readable (None for standard input).
    pub sha256: Option<String>,
    pub stats: ReadStats,
    /// Pairing of its one-directional records.
    pub pairing: PairStats,
    /// Records that carried a handshake RTT (flowaudit's own records, where it was measured).
    pub with_rtt: u64,
    /// Why reading stopped early, if it did.
    pub error: Option<String>,
}

/// A check the audit could not make, or made only approximately, for an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The finding kind or measure concerned.
    pub what: &'static str,
    /// `not evaluated` or `approximated`.
    pub how: &'static str,
    pub why: String,
}

/// Formats whose records are one direction of a flow, or flags OR'ed over a record.
fn flag_based(format: &str) -> bool {
    !matches!(format, "zeek-tsv" | "zeek-json" | "flowaudit-json" | "pcap")
}

impl InputEvidence {
    /// What the audit could not judge, or judged approximately, from this input.
    pub fn limits(&self) -> Vec<Limit> {
        let mut v = Vec::new();
        let records = self.stats.records;
        // flowaudit's own records carry the RTT of every flow it measured; a log with none at
        // all cannot show latency.
        if self.format != "pcap" && records > 0 && self.with_rtt == 0 {
            v.push(Limit {
                what: "over_latency",
                how: "not evaluated",
                why: format!("{} records carry no handshake RTT", self.format),
            });
        }
        v.push(Limit {
            what: "over_bandwidth peak",
            how: "approximated",
            why: "records give a start and an end only: each record's IP bytes are spread evenly over its duration".into(),
        });
        if flag_based(self.format) {
            v.push(Limit {
                what: "failed (TCP state)",
                how: "approximated",
                why: "from the OR of each direction's TCP flags, not their order".into(),
            });
        }
        if self.pairing.tcp_without_flags > 0 {
            v.push(Limit {
                what: "failed (TCP)",
                how: "not evaluated",
                why: format!(
                    "{} TCP records carry no TCP flags: whether they were answered cannot be told",
                    self.pairing.tcp_without_flags
                ),
            });
        }
        if self.pairing.direction_inferred > 0 {
            v.push(Limit {
                what: "direction",
                how: "approximated",
                why: format!(
                    "{} of {} paired records had no exporter direction nor telling TCP flags: inferred from ports (direction_inferred)",
                    self.pairing.direction_inferred, self.pairing.records
                ),
            });
        }
        if self.pairing.evicted > 0 {
            v.push(Limit {
                what: "pairing",
                how: "approximated",
                why: format!(
                    "{} flows ended early, the pairing table being full (--max-flows): a later record of such a connection is in a new flow (evicted)",
                    self.pairing.evicted
                ),
            });
        }
        if self.pairing.sampled > 0 {
            v.push(Limit {
                what: "packets and bytes",
                how: "approximated",
                why: format!(
                    "{} sampled records: counts scaled by the sampling rate",
                    self.pairing.sampled
                ),
            });
        }
        v
    }
}
