//! Report stage: writes flow records (JSON lines or Zeek TSV) and capture statistics.
//!
//! Output is deterministic: records arrive sorted, times come from packets, and every value is
//! formatted by hand so that a given capture always gives the same bytes.

use std::io::{self, Write};

use crate::decode::linktype;
use crate::engine::InputSummary;
use crate::flow::{FlowRecord, IcmpAttach};
use crate::stats::{Stats, ethertype_name, ip_proto_name};

/// Seconds with exactly six decimals (rounded to the microsecond), as Zeek prints times.
pub struct Secs(pub i64);

impl std::fmt::Display for Secs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Round half away from zero to whole microseconds, then split.
        let us = if self.0 >= 0 {
            self.0.saturating_add(500) / 1000
        } else {
            self.0.saturating_sub(500) / 1000
        };
        let sign = if us < 0 { "-" } else { "" };
        let us = us.unsigned_abs();
        write!(f, "{sign}{}.{:06}", us / 1_000_000, us % 1_000_000)
    }
}

struct OptSecs(Option<i64>);

impl std::fmt::Display for OptSecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ns) => Secs(ns).fmt(f),
            None => f.write_str("null"),
        }
    }
}

/// Output format of flow records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowFormat {
    /// One JSON object per line per flow, with conn.log's field names.
    Json,
    /// A Zeek TSV conn.log.
    Zeek,
}

/// How many flows of each protocol were written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlowCounts {
    pub tcp: u64,
    pub udp: u64,
}

impl FlowCounts {
    /// Counts one flow.
    pub fn add(&mut self, proto: crate::flow::Proto) {
        match proto {
            crate::flow::Proto::Tcp => self.tcp += 1,
            crate::flow::Proto::Udp => self.udp += 1,
        }
    }
}

/// A flow's verdict under the rules, for `flows --rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdicted<'a> {
    /// The rule that judged the flow, if any.
    pub rule: Option<&'a str>,
    /// allowed, discouraged, denied, reversed or unexpected.
    pub verdict: &'static str,
}

/// Judges each record as it is written (`flows --rules`).
pub type Judge<'a, 'r> = &'a mut dyn FnMut(&FlowRecord) -> Verdicted<'r>;

/// Writes flow records as they come (sorted by the flow stage) in `format`; `first_ts_ns` and
/// `last_ts_ns` are the capture's span, for the Zeek header and footer. With `judge`, each
/// record gains `rule` and `verdict`.
pub fn write_flows(
    w: &mut dyn Write,
    format: FlowFormat,
    records: impl Iterator<Item = FlowRecord>,
    first_ts_ns: Option<i64>,
    last_ts_ns: Option<i64>,
    mut judge: Option<Judge<'_, '_>>,
) -> io::Result<FlowCounts> {
    let mut counts = FlowCounts::default();
    if format == FlowFormat::Zeek {
        write_zeek_header(w, first_ts_ns, judge.is_some())?;
    }
    for r in records {
        counts.add(r.proto);
        let v = judge.as_mut().map(|j| j(&r));
        match format {
            FlowFormat::Json => write_json_line(w, &r, v)?,
            FlowFormat::Zeek => write_zeek_row(w, &r, v)?,
        }
    }
    if format == FlowFormat::Zeek {
        writeln!(w, "#close\t{}", zeek_date(last_ts_ns.unwrap_or(0)))?;
    }
    Ok(counts)
}

/// Writes one flow as a JSON object on one line, with conn.log's field names.
pub fn write_json_line(
    w: &mut dyn Write,
    r: &FlowRecord,
    v: Option<Verdicted<'_>>,
) -> io::Result<()> {
    write!(
        w,
        "{{\"ts\":{},\"uid\":\"{}\",\"id.orig_h\":\"{}\",\"id.orig_p\":{},\"id.resp_h\":\"{}\",\"id.resp_p\":{},\"proto\":\"{}\",\"duration\":{},\"orig_bytes\":{},\"resp_bytes\":{},\"conn_state\":\"{}\",\"history\":\"{}\",\"orig_pkts\":{},\"orig_ip_bytes\":{},\"resp_pkts\":{},\"resp_ip_bytes\":{},\"vlan\":[",
        Secs(r.ts_ns),
        r.uid,
        r.orig_h,
        r.orig_p,
        r.resp_h,
        r.resp_p,
        r.proto.name(),
        Secs(r.duration_ns),
        r.orig_bytes,
        r.resp_bytes,
        r.conn_state,
        r.history,
        r.orig_pkts,
        r.orig_ip_bytes,
        r.resp_pkts,
        r.resp_ip_bytes,
    )?;
    for (i, v) in r.vlan.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write!(w, "{v}")?;
    }
    write!(
        w,
        "],\"community_id\":\"{}\",\"direction_inferred\":{},\"syn_synack\":{},\"synack_ack\":{},\"rtt\":{},\"icmp_errors\":",
        r.community_id,
        r.direction_inferred,
        OptSecs(r.syn_synack_ns),
        OptSecs(r.synack_ack_ns),
        OptSecs(r.rtt_ns),
    )?;
    match r.icmp_errors {
        Some(e) => write!(
            w,
            "{{\"count\":{},\"last_type\":{},\"last_code\":{}}}",
            e.count, e.last_type, e.last_code
        )?,
        None => w.write_all(b"null")?,
    }
    if let Some(v) = v {
        let rule = v.rule.map_or("null".to_string(), |n| {
            serde_json::to_string(n).unwrap_or_else(|_| "null".into())
        });
        write!(w, ",\"rule\":{rule},\"verdict\":\"{}\"", v.verdict)?;
    }
    w.write_all(b"}\n")?;
    Ok(())
}

/// The Zeek TSV columns: conn.log's, then flowaudit's own.
const ZEEK_FIELDS: [(&str, &str); 30] = [
    ("ts", "time"),
    ("uid", "string"),
    ("id.orig_h", "addr"),
    ("id.orig_p", "port"),
    ("id.resp_h", "addr"),
    ("id.resp_p", "port"),
    ("proto", "enum"),
    ("service", "string"),
    ("duration", "interval"),
    ("orig_bytes", "count"),
    ("resp_bytes", "count"),
    ("conn_state", "string"),
    ("local_orig", "bool"),
    ("local_resp", "bool"),
    ("missed_bytes", "count"),
    ("history", "string"),
    ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"),
    ("resp_pkts", "count"),
    ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
    ("vlan", "vector[count]"),
    ("community_id", "string"),
    ("direction_inferred", "bool"),
    ("syn_synack", "interval"),
    ("synack_ack", "interval"),
    ("rtt", "interval"),
    ("icmp_errors", "count"),
    ("icmp_last_type", "count"),
    ("icmp_last_code", "count"),
];

/// Writes the header of a Zeek TSV conn.log (the format `zeek-cut` reads). `#open` and
/// `#close` carry the first and last packet times, not the wall clock, so the output is
/// reproducible.
fn write_zeek_header(
    w: &mut dyn Write,
    first_ts_ns: Option<i64>,
    verdicts: bool,
) -> io::Result<()> {
    writeln!(w, "#separator \\x09")?;
    writeln!(w, "#set_separator\t,")?;
    writeln!(w, "#empty_field\t(empty)")?;
    writeln!(w, "#unset_field\t-")?;
    writeln!(w, "#path\tconn")?;
    writeln!(w, "#open\t{}", zeek_date(first_ts_ns.unwrap_or(0)))?;
    let mut names: Vec<&str> = ZEEK_FIELDS.iter().map(|f| f.0).collect();
    let mut types: Vec<&str> = ZEEK_FIELDS.iter().map(|f| f.1).collect();
    if verdicts {
        names.extend(["rule", "verdict"]);
        types.extend(["string", "string"]);
    }
    writeln!(w, "#fields\t{}", names.join("\t"))?;
    writeln!(w, "#types\t{}", types.join("\t"))
}

/// Writes one flow as a Zeek TSV row.
fn write_zeek_row(w: &mut dyn Write, r: &FlowRecord, v: Option<Verdicted<'_>>) -> io::Result<()> {
    let opt = |v: Option<i64>| v.map_or("-".to_string(), |ns| Secs(ns).to_string());
    let vlan = if r.vlan.is_empty() {
        "(empty)".to_string()
    } else {
        r.vlan
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let history = if r.history.is_empty() {
        "-"
    } else {
        &r.history
    };
    let (icmp_n, icmp_t, icmp_c) = match r.icmp_errors {
        Some(e) => (
            e.count.to_string(),
            e.last_type.to_string(),
            e.last_code.to_string(),
        ),
        None => ("0".to_string(), "-".to_string(), "-".to_string()),
    };
    write!(
        w,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t-\t{}\t{}\t{}\t{}\t-\t-\t-\t{}\t{}\t{}\t{}\t{}\t-\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        Secs(r.ts_ns),
        r.uid,
        r.orig_h,
        r.orig_p,
        r.resp_h,
        r.resp_p,
        r.proto.name(),
        Secs(r.duration_ns),
        r.orig_bytes,
        r.resp_bytes,
        r.conn_state,
        history,
        r.orig_pkts,
        r.orig_ip_bytes,
        r.resp_pkts,
        r.resp_ip_bytes,
        vlan,
        r.community_id,
        if r.direction_inferred { "T" } else { "F" },
        opt(r.syn_synack_ns),
        opt(r.synack_ack_ns),
        opt(r.rtt_ns),
        icmp_n,
        icmp_t,
        icmp_c,
    )?;
    if let Some(v) = v {
        // Zeek TSV escapes separators and control characters as \xNN.
        let rule: String = v.rule.map_or("-".to_string(), |n| {
            n.chars()
                .map(|c| {
                    if c.is_control() {
                        format!("\\x{:02x}", c as u32)
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        });
        write!(w, "\t{rule}\t{}", v.verdict)?;
    }
    writeln!(w)?;
    Ok(())
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
fn zeek_date(ns: i64) -> String {
    let (y, m, d, hh, mm, ss, _) = split_utc(ns);
    format!("{y:04}-{m:02}-{d:02}-{hh:02}-{mm:02}-{ss:02}")
}

/// ISO 8601 UTC with microseconds, for human-readable messages.
pub fn iso_time(ns: i64) -> String {
    let (y, m, d, hh, mm, ss, us) = split_utc(ns);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{us:06}Z")
}

/// Writes the capture statistics (what was read, what became flows, what did not and why).
pub fn write_stats(
    w: &mut dyn Write,
    inputs: &[InputSummary],
    stats: &Stats,
    flows: &FlowCounts,
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
    write!(
        w,
        "read {} capture{}: {} packets, {} bytes",
        n,
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
    if stats.fragments > 0 {
        line("non-first ip fragments", vec![stats.fragments.to_string()])?;
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
