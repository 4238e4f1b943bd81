//! Report stage: writes flow records (JSON lines or Zeek TSV, [`records`]), capture statistics
//! and audit reports ([`audit`]).
//!
//! Output is deterministic: records arrive in the order flows end (itself a function of the
//! input), times come from packets, and every value is formatted by hand so that a given
//! capture always gives the same bytes.

pub mod records;

pub use records::{FlowFormat, RecordWriter, Verdicted};

use std::io::{self, Write};

use crate::decode::linktype;
use crate::flow::{IcmpAttach, TableStats};
use crate::stats::{InputSummary, Stats, ethertype_name, ip_proto_name};

/// Seconds with exactly six decimals (rounded to the microsecond), as Zeek prints times.
pub struct Secs(pub i64);

impl std::fmt::Display for Secs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (negative, whole, micros) = split_secs(self.0);
        let sign = if negative { "-" } else { "" };
        write!(f, "{sign}{whole}.{micros:06}")
    }
}

/// A time or duration (ns) rounded half away from zero to whole microseconds, as sign, whole
/// seconds and microseconds: what [`Secs`] prints.
pub(crate) fn split_secs(ns: i64) -> (bool, u64, u32) {
    let us = if ns >= 0 {
        ns.saturating_add(500) / 1000
    } else {
        ns.saturating_sub(500) / 1000
    };
    let abs = us.unsigned_abs();
    (us < 0, abs / 1_000_000, (abs % 1_000_000) as u32)
}

/// Civil date (UTC) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn split_utc(ns: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let secs = ns.div_euclid(1_000_000_000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    (
        y,
        m,
        d,
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        ns.rem_euclid(1_000_000_000) / 1000,
    )
}

/// Zeek's `#open`/`#close` date format, UTC.
pub fn zeek_date(ns: i64) -> String {
    let (y, m, d, hh, mm, ss, _) = split_utc(ns);
    format!("{y:04}-{m:02}-{d:02}-{hh:02}-{mm:02}-{ss:02}")
}

/// A UTC time for file names: `20261129T101500Z` (basic ISO 8601, to the second).
pub fn file_stamp(ns: i64) -> String {
    let (y, m, d, hh, mm, ss, _) = split_utc(ns);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

/// ISO 8601 UTC with microseconds, for human-readable messages.
pub fn iso_time(ns: i64) -> String {
    let (y, m, d, hh, mm, ss, us) = split_utc(ns);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{us:06}Z")
}

/// Flow-record statistics on standard error: per input what was read and what was wrong with
/// it (malformed lines with their line numbers, the first few), then the flows made.
pub fn write_records_stats(
    w: &mut dyn Write,
    inputs: &[crate::records::InputEvidence],
    flows: u64,
    merge: crate::records::dedupe::MergeStats,
) -> io::Result<()> {
    for e in inputs {
        let s = &e.stats;
        write!(
            w,
            "read {}: {}, {} records from {} lines",
            e.path.display(),
            e.format,
            s.records,
            s.lines
        )?;
        if s.skipped_total() > 0 {
            write!(w, ", {} skipped", s.skipped_total())?;
        }
        if e.pairing.halves > 0 {
            write!(
                w,
                "; {} one-way records made {} flows ({} with both ways)",
                e.pairing.halves, e.pairing.records, e.pairing.paired
            )?;
        }
        writeln!(w)?;
        if s.malformed > 0 {
            writeln!(w, "  {} malformed lines skipped:", s.malformed)?;
            for m in &s.first_malformed {
                writeln!(w, "    line {}: {}", m.line, m.message)?;
            }
        }
    }
    write!(
        w,
        "flows: {flows} from records ({} duplicates merged",
        merge.merged
    )?;
    if merge.released_early > 0 {
        write!(
            w,
            "; {} records left the merge early, it being full (--max-flows)",
            merge.released_early
        )?;
    }
    writeln!(w, ")")
}

/// Writes the capture statistics (what was read, what became flows, what did not and why).
pub fn write_stats(
    w: &mut dyn Write,
    inputs: &[InputSummary],
    stats: &Stats,
    flows: &TableStats,
    icmp: &IcmpAttach,
) -> io::Result<()> {
    let first = inputs.iter().filter_map(|i| i.first_ts_ns).min();
    let last = inputs.iter().filter_map(|i| i.last_ts_ns).max();
    let mut lts: Vec<u32> = inputs
        .iter()
        .flat_map(|i| i.link_types.iter().copied())
        .collect();
    lts.sort_unstable();
    lts.dedup();
    let lts: Vec<String> = lts
        .iter()
        .map(|&l| format!("{} ({l})", linktype::name(l)))
        .collect();
    let n = inputs.len();
    let (verb, what) = if inputs.iter().any(|i| i.live.is_some()) {
        ("captured on", "interface")
    } else {
        ("read", "capture")
    };
    write!(
        w,
        "{verb} {n} {what}{}: {} packets, {} bytes",
        if n == 1 { "" } else { "s" },
        stats.packets,
        stats.wire_bytes
    )?;
    if let (Some(a), Some(b)) = (first, last) {
        write!(w, ", {} to {}", iso_time(a), iso_time(b))?;
    }
    if !lts.is_empty() {
        write!(w, "; link types {}", lts.join(", "))?;
    }
    writeln!(w)?;
    for i in inputs {
        if let Some(l) = &i.live {
            writeln!(
                w,
                "capture {}: {} packets received by filter, {} packets dropped by kernel, {} packets dropped by interface",
                i.path
                    .display()
                    .to_string()
                    .trim_start_matches("interface "),
                l.received,
                l.dropped,
                l.if_dropped
            )?;
            if l.dropped + l.if_dropped > 0 {
                writeln!(
                    w,
                    "warning: {} lost {} packets: the evidence is incomplete (a larger --buffer-size, a smaller --snaplen or a --filter can help)",
                    i.path.display(),
                    l.dropped + l.if_dropped
                )?;
            }
        }
    }
    writeln!(
        w,
        "flows: {} ({} tcp, {} udp) from {} packets ({} tcp, {} udp)",
        flows.tcp + flows.udp,
        flows.tcp,
        flows.udp,
        stats.tcp_packets + stats.udp_packets,
        stats.tcp_packets,
        stats.udp_packets
    )?;
    if flows.tunnelled > 0 {
        writeln!(
            w,
            "tunnels: {} packets came through tunnels (flows keyed with their tunnel; a UDP tunnel's datagrams also count in its endpoints' flow)",
            flows.tunnelled
        )?;
    }
    if flows.evicted > 0 {
        writeln!(
            w,
            "evicted: {} flows ended early because the flow table was full (at most {} open; see --max-flows)",
            flows.evicted, flows.peak_open
        )?;
    }
    let f = &stats.frag;
    if f.fragments > 0 {
        writeln!(
            w,
            "ip fragments: {} frames; {} in {} datagrams reassembled ({} tcp/udp packets), {} in {} \
             incomplete ({} timed out, {} evicted, {} at the end of the input), {} rejected; \
             {} duplicates, {} overlaps, {} inconsistent",
            f.fragments,
            f.reassembled_fragments,
            f.reassembled,
            f.flow_packets,
            f.incomplete_fragments,
            f.incomplete(),
            f.timed_out,
            f.evicted,
            f.unfinished,
            f.rejected,
            f.duplicates,
            f.overlaps,
            f.inconsistent
        )?;
    }
    let [bad_ip, bad_tcp, bad_udp] = stats.bad_checksums;
    if bad_ip + bad_tcp + bad_udp + stats.checksum_unverified > 0 {
        writeln!(
            w,
            "bad checksums: ipv4 header {bad_ip}, tcp {bad_tcp}, udp {bad_udp}; not verifiable (cut by the snaplen) {}",
            stats.checksum_unverified
        )?;
    }
    writeln!(w, "not in a flow: {} packets", stats.not_in_flows())?;
    let mut line = |label: &str, items: Vec<String>| -> io::Result<()> {
        if items.is_empty() {
            Ok(())
        } else {
            writeln!(w, "  {label}: {}", items.join(", "))
        }
    };
    let mut non_ip: Vec<String> = stats
        .not_ip
        .iter()
        .map(|(e, c)| format!("{} {c}", ethertype_name(*e)))
        .collect();
    non_ip.extend(
        stats
            .not_ip_ppp
            .iter()
            .map(|(p, c)| format!("ppp 0x{p:04x} {c}")),
    );
    non_ip.extend(
        stats
            .not_ip_family
            .iter()
            .map(|(f, c)| format!("address family {f} {c}")),
    );
    line("non-ip", non_ip)?;
    line(
        "link layer, no ip",
        stats
            .link_skips()
            .into_iter()
            .map(|(what, c)| format!("{what} {c}"))
            .collect(),
    )?;
    let mut icmp_items = Vec::new();
    if stats.icmp_packets > 0 {
        icmp_items.push(format!("icmp {}", stats.icmp_packets));
    }
    if stats.icmpv6_packets > 0 {
        icmp_items.push(format!("icmpv6 {}", stats.icmpv6_packets));
    }
    if icmp.attached + icmp.unmatched > 0 {
        icmp_items.push(format!(
            "errors attached to a flow {}, errors quoting no known flow {}",
            icmp.attached, icmp.unmatched
        ));
    }
    line("icmp", icmp_items)?;
    line(
        "other ip protocols",
        (0..256usize)
            .filter(|&p| stats.ip_proto[p] > 0)
            .map(|p| format!("{} {}", ip_proto_name(p as u8), stats.ip_proto[p]))
            .collect(),
    )?;
    if stats.fragments_in_no_packet() > 0 {
        line(
            "ip fragments in no packet",
            vec![format!(
                "{} (incomplete {}, rejected {})",
                stats.fragments_in_no_packet(),
                stats.frag.incomplete_fragments,
                stats.frag.rejected
            )],
        )?;
    }
    line(
        "truncated by snaplen",
        stats
            .truncated_by_layer()
            .map(|(l, c)| format!("{} {c}", l.name()))
            .collect(),
    )?;
    line(
        "malformed",
        stats
            .malformed_by_layer()
            .map(|(l, r, c)| format!("{} {} {c}", l.name(), r.name()))
            .collect(),
    )?;
    line(
        "unsupported link type",
        stats
            .unsupported_link
            .iter()
            .map(|(l, c)| format!("{l} {c}"))
            .collect(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_rounds_to_microseconds() {
        assert_eq!(
            Secs(1_700_000_000_000_000_000).to_string(),
            "1700000000.000000"
        );
        assert_eq!(Secs(12_345_500).to_string(), "0.012346");
        assert_eq!(Secs(9_000).to_string(), "0.000009");
        assert_eq!(Secs(-1_500).to_string(), "-0.000002");
    }

    #[test]
    fn dates() {
        assert_eq!(
            zeek_date(1_700_000_000 * 1_000_000_000),
            "2023-11-14-22-13-20"
        );
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            iso_time(951_782_400_123_456_000),
            "2000-02-29T00:00:00.123456Z"
        );
    }
}

pub mod audit;
pub mod html;

/// `flowaudit interfaces`: one line per interface: name, state, addresses, description.
pub fn write_interfaces(
    w: &mut dyn Write,
    list: &[crate::capture::live::InterfaceInfo],
) -> io::Result<()> {
    let state = |i: &crate::capture::live::InterfaceInfo| {
        let mut s = vec![if i.up { "up" } else { "down" }];
        if i.running {
            s.push("running");
        }
        if i.loopback {
            s.push("loopback");
        }
        s.join(",")
    };
    let width = list.iter().map(|i| i.name.len()).max().unwrap_or(0);
    let swidth = list.iter().map(|i| state(i).len()).max().unwrap_or(0);
    for i in list {
        let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
        write!(
            w,
            "{:width$}  {:swidth$}  {}",
            audit::escape(&i.name),
            state(i),
            if addrs.is_empty() {
                "-".to_string()
            } else {
                addrs.join(" ")
            }
        )?;
        if let Some(d) = &i.description {
            write!(w, "  ({})", audit::escape(d))?;
        }
        writeln!(w)?;
    }
    Ok(())
}
