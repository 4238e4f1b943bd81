//! The terminal report: findings grouped by kind, most severe first, in aligned columns with
//! role names beside addresses, at most a given number of rows per kind; then rule usage and a
//! summary line.

use std::io::{self, Write};

use super::message::ranges_short;
use super::{AuditDoc, escape};
use crate::audit::{
    Detail, Finding, FlowVerdict, Kind, Reversal, Rollup, RollupBy, Shown, fmt_num, ms, thousands,
};
use crate::flow::service::tls_version_name;
use crate::report::iso_time;
use crate::rules::{Rules, Severity};

/// Finding rows shown per kind in the text report by default.
pub const DEFAULT_TEXT_ROWS: usize = 20;

/// Entries of a roll-up's top lists, prefixes and port ranges shown in a row.
const ROW_ITEMS: usize = 3;

/// ANSI colours, or nothing.
struct Paint(bool);

impl Paint {
    fn sev(&self, s: Severity) -> String {
        let word = match s {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
        };
        match (self.0, s) {
            (true, Severity::Error) => format!("\x1b[1;31m{word}\x1b[0m"),
            (true, Severity::Warning) => format!("\x1b[1;33m{word}\x1b[0m"),
            (false, _) => word.to_string(),
        }
    }
    fn bold(&self, s: &str) -> String {
        if self.0 {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn with_role(role: &Option<String>, addr: &str) -> String {
    match role {
        Some(r) => format!("{} {addr}", escape(r)),
        None => addr.to_string(),
    }
}

/// Time of day in a finding row: ISO 8601 with milliseconds.
fn when(ns: Option<i64>) -> String {
    match ns {
        Some(ns) => {
            let t = iso_time(ns);
            // 2026-11-25T02:48:57.776189Z -> 2026-11-25T02:48:57.776Z
            format!("{}Z", &t[..23])
        }
        None => "-".to_string(),
    }
}

/// A short figure column per kind, and a roll-up's hosts.
fn detail_text(rules: &Rules, f: &Finding) -> String {
    let d = kind_text(rules, f);
    match &f.rollup {
        Some(r) => {
            let r = rollup_text(r);
            match (d.is_empty(), r.is_empty()) {
                (_, true) => d,
                (true, false) => r,
                (false, false) => format!("{d}; {r}"),
            }
        }
        None => d,
    }
}

/// What a content finding's flows carried, in a row: `http`, `TLSv10`, `plaintext http`,
/// `evil.example.net`, `no SNI`.
fn shown_short(s: &Shown) -> String {
    match s {
        Shown::Service(x) => escape(x),
        Shown::UnknownBytes => "unknown bytes".to_string(),
        Shown::Version(v) => tls_version_name(*v).into_owned(),
        Shown::Plaintext(x) if x.is_empty() => "no TLS".to_string(),
        Shown::Plaintext(x) => format!("plaintext {}", escape(x)),
        Shown::Sni(x) => escape(x),
        Shown::NoSni => "no SNI".to_string(),
    }
}

fn kind_text(rules: &Rules, f: &Finding) -> String {
    match &f.detail {
        Detail::Shown { shown, other } => {
            let mut parts: Vec<String> = shown
                .iter()
                .map(|(s, n)| format!("{n} {}", shown_short(s)))
                .collect();
            if *other > 0 {
                parts.push(format!("{other} other"));
            }
            let rule = f.rule.map(|i| &rules.rules[i]);
            let allows = match (f.kind, rule) {
                (Kind::WrongService, Some(r)) => format!("; allows {}", r.service_text()),
                (Kind::WeakTls, Some(r)) => r
                    .tls_min_text()
                    .map_or(String::new(), |m| format!("; tls_min {m}")),
                (Kind::UnexpectedSni, Some(r)) => format!("; sni {}", r.sni_text()),
                _ => String::new(),
            };
            format!("{}{allows}", parts.join(", "))
        }
        Detail::None => String::new(),
        Detail::Reversed { way, server_ports } => match way {
            Reversal::Hosts => String::new(),
            Reversal::Connection => format!(
                "connection reversed: server port {}",
                ranges_short(server_ports, ROW_ITEMS)
            ),
        },
        Detail::Failed { outcomes } => outcomes
            .iter()
            .map(|(o, n)| format!("{n} {o}"))
            .collect::<Vec<_>>()
            .join(", "),
        Detail::Latency {
            budget_ms,
            measured,
            p50_ns,
            p95_ns,
            max_ns,
            exact,
        } => format!(
            "budget {} ms; p50 {} p95 {} max {} ms over {}{}",
            fmt_num(*budget_ms),
            ms(*p50_ns),
            ms(*p95_ns),
            ms(*max_ns),
            count(*measured, "flow"),
            if *exact {
                ""
            } else {
                " (p50, p95 within 0.1 %)"
            }
        ),
        Detail::Bandwidth {
            avg_kbps,
            peak_kbps,
            avg_budget_kbps,
            peak_budget_kbps,
            active_seconds,
            ..
        } => {
            let b = |x: &Option<f64>| x.map_or("-".to_string(), fmt_num);
            format!(
                "avg {} kbit/s (budget {}), peak {} kbit/s (budget {}), {active_seconds} active s",
                fmt_num(*avg_kbps),
                b(avg_budget_kbps),
                fmt_num(*peak_kbps),
                b(peak_budget_kbps)
            )
        }
        Detail::Missing {
            ports,
            failed_attempts,
        } => format!(
            "ports {ports}; {}",
            count(*failed_attempts, "failed attempt")
        ),
    }
}

/// What content checks judged and could not: "120 flows judged; 10 undecided (8 no payload,
/// 2 mid-stream); TLS version undecided in 3 (no ServerHello); server name undecided in 1
/// (cut, or no ClientHello)". `long`: say against what (the header line).
pub(crate) fn checks_text(c: &crate::audit::content::Checks, long: bool) -> String {
    let mut parts = vec![format!(
        "{} judged{}",
        count(c.decided, "flow"),
        if long {
            " against the rules' service, tls_min and sni"
        } else {
            ""
        }
    )];
    let undecided = c.undecided_flows();
    if undecided > 0 {
        let why: Vec<String> = c
            .undecided_reasons()
            .map(|(why, n)| format!("{} {why}", thousands(n)))
            .collect();
        parts.push(format!(
            "{} undecided ({})",
            thousands(undecided),
            why.join(", ")
        ));
    }
    if c.tls_undecided > 0 {
        parts.push(format!(
            "TLS version undecided in {} (no ServerHello)",
            thousands(c.tls_undecided)
        ));
    }
    if c.sni_undecided > 0 {
        parts.push(format!(
            "server name undecided in {} (cut, or no ClientHello)",
            thousands(c.sni_undecided)
        ));
    }
    parts.join("; ")
}

/// "1 flow", "2 flows".
fn count(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Writes rows with each column padded to its widest cell (the last column is not padded).
pub(super) fn table(w: &mut dyn Write, indent: &str, rows: &[Vec<String>]) -> io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![0usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    for r in rows {
        let mut line = String::from(indent);
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(width[i] - c.chars().count() + 2));
            }
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Findings of one severity and kind, as the reports show them.
pub(crate) struct Group<'a> {
    pub severity: Severity,
    pub kind: Kind,
    /// Findings in the group.
    pub total: usize,
    /// At most the rows asked for (see [`shown`]).
    pub shown: Vec<&'a Finding>,
}

/// The findings grouped as the reports show them: errors first, then by kind; each group's
/// rows cut to `max` ([`shown`]).
pub(crate) fn groups(findings: &[Finding], max: usize) -> Vec<Group<'_>> {
    let mut out = Vec::new();
    for severity in [Severity::Error, Severity::Warning] {
        for kind in Kind::ALL {
            let group: Vec<&Finding> = findings
                .iter()
                .filter(|f| f.kind == kind && f.severity == severity)
                .collect();
            if !group.is_empty() {
                out.push(Group {
                    severity,
                    kind,
                    total: group.len(),
                    shown: shown(group, max),
                });
            }
        }
    }
    out
}

/// At most `max` findings of one kind: all of them, in report order, when they fit; else the
/// `max` with the most flows (ties: report order), still in report order.
fn shown(group: Vec<&Finding>, max: usize) -> Vec<&Finding> {
    if group.len() <= max {
        return group;
    }
    let mut order: Vec<usize> = (0..group.len()).collect();
    order.sort_by(|&a, &b| group[b].flows.cmp(&group[a].flows).then(a.cmp(&b)));
    order.truncate(max);
    order.sort_unstable();
    order.into_iter().map(|i| group[i]).collect()
}

/// The CLIENT cell: role and address, or how many clients a roll-up has.
pub(crate) fn client_cell(f: &Finding) -> String {
    match &f.rollup {
        Some(r) if r.by == RollupBy::Clients => format!(
            "{}{} clients",
            if r.clients_estimated { "~" } else { "" },
            thousands(r.clients)
        ),
        _ => with_role(&f.src_role, f.src.as_deref().unwrap_or("-")),
    }
}

/// The SERVER cell: role and address, "role (all)" for a per-rule finding, or how many
/// servers a roll-up of targets has.
pub(crate) fn server_cell(f: &Finding) -> String {
    match (&f.rollup, &f.dst) {
        (Some(r), None) if r.by == RollupBy::Targets => {
            if r.servers == 1 && !r.servers_estimated {
                let s = r
                    .top_servers
                    .first()
                    .map_or("-".to_string(), |s| s.0.to_string());
                with_role(&f.dst_role, &s)
            } else {
                format!(
                    "{}{} servers",
                    if r.servers_estimated { "~" } else { "" },
                    thousands(r.servers)
                )
            }
        }
        (_, Some(d)) => with_role(&f.dst_role, d),
        (_, None) => f
            .dst_role
            .as_deref()
            .map_or("-".to_string(), |r| format!("{} (all)", escape(r))),
    }
}

/// The PORT cell: the port, "*" for all the rule's ports, or a roll-up's port ranges.
fn port_cell(f: &Finding) -> String {
    match (&f.rollup, f.dst_port) {
        (_, Some(p)) => p.to_string(),
        (Some(r), None) => ranges_short(&r.port_ranges, ROW_ITEMS),
        (None, None) => "*".to_string(),
    }
}

/// A roll-up's busiest hosts and covering prefixes, for the DETAIL cell.
fn rollup_text(r: &Rollup) -> String {
    let mut parts = Vec::new();
    let (top, what): (Vec<String>, &str) = match r.by {
        RollupBy::Clients => (
            r.top_clients
                .iter()
                .take(ROW_ITEMS)
                .map(|(ip, n)| format!("{ip} ({})", thousands(*n)))
                .collect(),
            "top clients",
        ),
        RollupBy::Targets => (
            r.top_servers
                .iter()
                .take(ROW_ITEMS)
                .map(|(ip, n)| format!("{ip} ({})", thousands(*n)))
                .collect(),
            "top servers",
        ),
    };
    if !top.is_empty() {
        parts.push(format!("{what} {}", top.join(", ")));
    }
    if r.by == RollupBy::Targets && r.ports > 1 {
        parts.push(format!(
            "{} ports {}",
            thousands(r.ports),
            ranges_short(&r.port_ranges, ROW_ITEMS)
        ));
    }
    let prefixes: Vec<String> = r
        .prefixes
        .iter()
        .take(ROW_ITEMS)
        .map(|p| format!("{} ({})", p.net, thousands(p.hosts)))
        .collect();
    if !prefixes.is_empty() {
        parts.push(format!(
            "in {}{}",
            prefixes.join(", "),
            if r.prefixes.len() > ROW_ITEMS {
                ", …"
            } else {
                ""
            }
        ));
    }
    parts.join("; ")
}

/// The header lines of one flow-record input: what it is, what was read, what was wrong with
/// it, and what the audit could not judge from it.
fn record_input_lines(head: &mut Vec<Vec<String>>, e: &crate::records::InputEvidence) {
    let s = &e.stats;
    let span = match (s.first_ts_ns, s.last_ts_ns) {
        (Some(a), Some(b)) => format!(", {} to {}", iso_time(a), iso_time(b)),
        _ => String::new(),
    };
    let sha = e.sha256.as_deref().map_or(String::new(), |h| {
        format!(" (sha256 {})", &h[..16.min(h.len())])
    });
    head.push(vec![
        "records".into(),
        format!(
            "{}: {}, {} records{span}{sha}",
            escape(&e.path.display().to_string()),
            e.format,
            thousands(s.records)
        ),
    ]);
    if s.malformed > 0 {
        let shown: Vec<String> = s
            .first_malformed
            .iter()
            .map(|m| format!("line {}: {}", m.line, escape(&m.message)))
            .collect();
        let more = if s.malformed > shown.len() as u64 {
            "; ..."
        } else {
            ""
        };
        head.push(vec![
            String::new(),
            format!(
                "{} malformed lines skipped ({}{more})",
                thousands(s.malformed),
                shown.join("; ")
            ),
        ]);
    }
    if !s.skipped.is_empty() {
        let why: Vec<String> = s
            .skipped
            .iter()
            .map(|(why, n)| format!("{} {why}", thousands(*n)))
            .collect();
        head.push(vec![String::new(), format!("skipped: {}", why.join("; "))]);
    }
    if let Some(err) = &e.error {
        head.push(vec![
            String::new(),
            format!("WARNING: reading stopped early: {}", escape(err)),
        ]);
    }
    for l in e.limits() {
        head.push(vec![
            String::new(),
            format!("{}: {} ({})", l.how, l.what, l.why),
        ]);
    }
}

/// Writes the terminal report: findings grouped by kind, most severe first, aligned columns,
/// role names beside addresses, then rule usage and a summary line. `color`: ANSI colours.
/// `max_rows`: finding rows per kind ([`DEFAULT_TEXT_ROWS`] by default; `usize::MAX` for all):
/// past it, the rows with the most flows are shown, and a line says how many groups are left
/// out (the JSON document lists them all).
pub fn write_audit_text(
    w: &mut dyn Write,
    doc: &AuditDoc<'_>,
    color: bool,
    max_rows: usize,
) -> io::Result<()> {
    let p = Paint(color);
    let rules = doc.rules;
    let r = doc.result;
    writeln!(
        w,
        "{}",
        p.bold(&format!("flowaudit audit: {}", escape(&rules.name)))
    )?;
    let mut head = vec![vec![
        "rules".to_string(),
        format!(
            "{} (sha256 {})",
            escape(&rules.file.path.display().to_string()),
            &rules.file.sha256[..16]
        ),
    ]];
    if let Some(inv) = &rules.inventory {
        head.push(vec![
            "inventory".into(),
            format!(
                "{} (sha256 {})",
                escape(&inv.path.display().to_string()),
                &inv.sha256[..16]
            ),
        ]);
    }
    for c in doc.captures {
        let s = &c.summary;
        let span = match (s.first_ts_ns, s.last_ts_ns) {
            (Some(a), Some(b)) => format!(", {} to {}", iso_time(a), iso_time(b)),
            _ => String::new(),
        };
        let sha = c
            .sha256
            .as_deref()
            .map_or(String::new(), |h| format!(" (sha256 {})", &h[..16]));
        head.push(vec![
            "capture".into(),
            format!(
                "{}: {} packets{span}{sha}",
                escape(&s.path.display().to_string()),
                s.packets
            ),
        ]);
        if let Some(l) = &s.live {
            let warn = if l.dropped + l.if_dropped > 0 {
                " (WARNING: packets were lost, the evidence is incomplete)"
            } else {
                ""
            };
            head.push(vec![
                String::new(),
                format!(
                    "{} received by filter, {} dropped by kernel, {} dropped by interface{warn}",
                    l.received, l.dropped, l.if_dropped
                ),
            ]);
        }
    }
    for e in doc.records {
        record_input_lines(&mut head, e);
    }
    if doc.merge.merged > 0 {
        head.push(vec![
            "merged".into(),
            format!(
                "{} duplicate records: one connection seen by several inputs (same Community ID, overlapping times)",
                thousands(doc.merge.merged)
            ),
        ]);
    }
    if doc.merge.released_early > 0 {
        head.push(vec![
            "merge full".into(),
            format!(
                "{} records left the merge before their window ended (--max-flows {}): a later duplicate of one of them is a second flow",
                thousands(doc.merge.released_early),
                thousands(doc.max_flows as u64)
            ),
        ]);
    }
    let verdicts: Vec<String> = FlowVerdict::ALL
        .iter()
        .filter(|v| r.by_verdict[**v as usize] > 0)
        .map(|v| format!("{} {}", r.by_verdict[*v as usize], v.name()))
        .collect();
    head.push(vec![
        "flows".into(),
        format!(
            "{}: {}",
            r.flows,
            if verdicts.is_empty() {
                "none".to_string()
            } else {
                verdicts.join(", ")
            }
        ),
    ]);
    if rules.rules.iter().any(|x| x.checks_content()) {
        head.push(vec!["service".into(), checks_text(&r.checks(), true)]);
    }
    if r.tunnel_endpoints > 0 {
        head.push(vec![
            "not judged".into(),
            format!(
                "{} tunnel endpoint flows (--skip-tunnel-endpoints); the flows inside the tunnels are judged",
                thousands(r.tunnel_endpoints)
            ),
        ]);
    }
    if doc.table.evicted > 0 {
        head.push(vec![
            "evicted".into(),
            format!(
                "{}: ended early, the flow table being full (--max-flows {}); a later packet of such a connection is in a new flow",
                thousands(doc.table.evicted),
                thousands(doc.max_flows as u64)
            ),
        ]);
    }
    table(w, "  ", &head)?;

    for g in groups(&r.findings, max_rows) {
        writeln!(w)?;
        writeln!(
            w,
            "{} {} ({})",
            p.sev(g.severity),
            p.bold(g.kind.name()),
            g.total
        )?;
        let mut rows = vec![vec![
            "RULE".to_string(),
            "PROTO".into(),
            "CLIENT".into(),
            "SERVER".into(),
            "PORT".into(),
            "FLOWS".into(),
            "FIRST SEEN".into(),
            "LAST SEEN".into(),
            "DETAIL".into(),
            "EXAMPLE".into(),
        ]];
        for f in g.shown {
            rows.push(vec![
                f.rule
                    .map_or("-".to_string(), |i| escape(&rules.rules[i].name)),
                f.proto.name().to_string(),
                client_cell(f),
                server_cell(f),
                port_cell(f),
                f.flows.to_string(),
                when(f.first_ns),
                when(f.last_ns),
                match detail_text(rules, f) {
                    d if d.is_empty() => "-".to_string(),
                    d => d,
                },
                f.uids
                    .first()
                    .map_or_else(|| "-".to_string(), |u| escape(u)),
            ]);
        }
        table(w, "  ", &rows)?;
        if g.total > rows.len() - 1 {
            writeln!(
                w,
                "  … and {} more {} (see --format json or --flows-out)",
                thousands((g.total - (rows.len() - 1)) as u64),
                if g.total - (rows.len() - 1) == 1 {
                    "group"
                } else {
                    "groups"
                }
            )?;
        }
    }

    writeln!(w)?;
    writeln!(w, "{}", p.bold("rules"))?;
    let content = rules.rules.iter().any(|x| x.checks_content());
    let mut rows = vec![vec!["RULE".to_string(), "VERDICT".into(), "FLOWS".into()]];
    if content {
        rows[0].push("SERVICE, TLS, SNI".into());
    }
    for (i, (rule, n)) in rules.rules.iter().zip(r.rule_flows.iter()).enumerate() {
        let mut row = vec![
            escape(&rule.name),
            rule.verdict.name().to_string(),
            if *n == 0 {
                "0 (unused)".to_string()
            } else {
                n.to_string()
            },
        ];
        if content {
            row.push(match r.rule_stats.get(i) {
                Some(s) if rule.checks_content() => checks_text(&s.checks, false),
                _ => "-".to_string(),
            });
        }
        rows.push(row);
    }
    table(w, "  ", &rows)?;

    let errors = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = r.findings.len() - errors;
    let kinds = r.by_kind();
    let by_kind: Vec<String> = Kind::ALL
        .iter()
        .filter(|k| kinds[**k as usize] > 0)
        .map(|k| format!("{} {}", kinds[*k as usize], k.name()))
        .collect();
    writeln!(w)?;
    writeln!(
        w,
        "summary: {} ({}, {}){} in {}",
        count(r.findings.len() as u64, "finding"),
        count(errors as u64, "error"),
        count(warnings as u64, "warning"),
        if by_kind.is_empty() {
            String::new()
        } else {
            format!(": {}", by_kind.join(", "))
        },
        count(r.flows, "flow")
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::audit::{AuditOptions, Auditor};
    use crate::flow::{ConnState, FlowRecord};
    use crate::rules::Rules;

    fn rules() -> Rules {
        crate::rules::from_text(
            "name = \"t\"\n[roles]\nweb = { hosts = [\"10.9.0.1\"] }\n[[flows]]\nname = \"https\"\nfrom = \"web\"\nto = \"web\"\nproto = \"tcp\"\nports = [443]\n",
        )
    }

    fn flow(client: u32, server: u32, port: u16, n: u64) -> FlowRecord {
        FlowRecord {
            ts_ns: n as i64 * 1_000_000,
            uid: compact_str::format_compact!("C{n:017}"),
            orig_h: IpAddr::V4(Ipv4Addr::from(client)),
            orig_p: 40000,
            resp_h: IpAddr::V4(Ipv4Addr::from(server)),
            resp_p: port,
            conn_state: ConnState::S0,
            history: "S".into(),
            orig_pkts: 1,
            orig_ip_bytes: 60,
            direction_inferred: false,
            ..FlowRecord::blank()
        }
    }

    #[test]
    fn check_rules_shows_service_tls_min_and_sni() {
        let r = crate::rules::from_text(
            "name = \"t\"\n[roles]\nweb = { hosts = [\"10.9.0.1\"] }\n\
             [[flows]]\nname = \"https\"\nfrom = \"web\"\nto = \"web\"\nproto = \"tcp\"\nports = [443]\n\
             service = [\"ssl\"]\ntls_min = \"1.2\"\nsni = [\"a.example.com\", \"*.example.org\"]\n\
             [[flows]]\nname = \"mail\"\nfrom = \"web\"\nto = \"web\"\nproto = \"tcp\"\nports = [25]\n\
             service = [\"smtp\", \"ssl\"]\n\
             [[flows]]\nname = \"any\"\nfrom = \"web\"\nto = \"web\"\nproto = \"tcp\"\nports = [22]\n",
        );
        let mut out = Vec::new();
        super::super::write_matrix(&mut out, &r).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let head = lines.iter().find(|l| l.contains("RULE")).unwrap();
        assert!(
            head.contains("PORTS  SERVICE    TLS MIN  SNI                           BETWEEN"),
            "{head}"
        );
        let row = |name: &str| {
            lines
                .iter()
                .find(|l| l.split_whitespace().nth(1) == Some(name))
                .unwrap()
                .to_string()
        };
        assert!(
            row("https").contains("443    ssl        TLSv12   a.example.com, *.example.org  any"),
            "{}",
            row("https")
        );
        assert!(
            row("mail").contains("25     smtp, ssl  -        -"),
            "{}",
            row("mail")
        );
        assert!(
            row("any").contains("22     -          -        -"),
            "{}",
            row("any")
        );
    }

    #[test]
    fn a_flood_and_many_groups_stay_readable() {
        let r = rules();
        let mut a = Auditor::new(&r, AuditOptions::default());
        let mut n = 0;
        // A flood: 100,000 sources in 198.18.0.0/15 to 10.9.0.1:80.
        for c in 0..100_000u32 {
            n += 1;
            a.add(&flow(0xc612_0000 + c, 0x0a09_0001, 80, n));
        }
        // A scan: one source, 1,000 ports of one server.
        for p in 1..=1000u16 {
            n += 1;
            a.add(&flow(0x0a00_0063, 0x0a09_0002, p, n));
        }
        // 1,224 ordinary unexpected flows, each its own group: 1,224 clients, 20 per server.
        for c in 0..1224u32 {
            n += 1;
            a.add(&flow(0x0a05_0000 + c, 0x0a06_0000 + c / 20, 22, n));
        }
        let result = a.finish();
        assert_eq!(result.findings.len(), 1226);
        let doc = AuditDoc {
            table: Default::default(),
            max_flows: 0,
            rules: &r,
            result: &result,
            captures: &[],
            records: &[],
            merge: Default::default(),
        };
        let mut out = Vec::new();
        write_audit_text(&mut out, &doc, false, DEFAULT_TEXT_ROWS).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().count() < 100, "{}", text.lines().count());
        assert!(text.contains("ERROR unexpected (1226)\n"));
        assert!(
            text.contains("\n  … and 1,206 more groups (see --format json or --flows-out)\n"),
            "{text}"
        );
        // The two roll-ups are among the rows shown (they have the most flows).
        let flood = text
            .lines()
            .find(|l| l.contains("100,000 clients"))
            .expect("flood row");
        assert!(flood.contains("web 10.9.0.1  80      100000"), "{flood}");
        // The longest prefixes of which at most 10 cover them: seven /18s.
        assert!(
            flood.contains(
                "in 198.18.0.0/18 (16,384), 198.18.64.0/18 (16,384), 198.18.128.0/18 (16,384), …"
            ),
            "{flood}"
        );
        let scan = text
            .lines()
            .find(|l| l.contains("10.0.0.99"))
            .expect("scan row");
        assert!(scan.contains("  10.9.0.2      1-1000  1000  "), "{scan}");
        assert!(scan.contains("1,000 ports 1-1000"), "{scan}");
        // The JSON lists every finding, with the roll-ups' complete figures.
        let v = super::super::audit_json(&doc);
        let findings = v["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1226);
        // No rule says what its flows may carry: the content kinds are not listed.
        let by_kind = v["summary"]["findings_by_kind"].as_object().unwrap();
        assert_eq!(by_kind.len(), 8);
        assert!(!by_kind.contains_key("weak_tls"));
        assert!(v["summary"].get("service_undecided").is_none());
        let f = findings
            .iter()
            .find(|f| f["rollup"]["by"] == "clients")
            .unwrap();
        assert_eq!(f["src_ip"], serde_json::Value::Null);
        assert_eq!(f["rollup"]["clients"], 100_000);
        assert_eq!(f["rollup"]["prefixes"].as_array().unwrap().len(), 7);
        assert_eq!(f["rollup"]["clients_estimated"], false);
        assert_eq!(f["rollup"]["top_clients"].as_array().unwrap().len(), 10);
        assert_eq!(
            f["message"],
            "no rule allows tcp 100,000 clients -> 10.9.0.1:80"
        );
        let s = findings
            .iter()
            .find(|f| f["rollup"]["by"] == "targets")
            .unwrap();
        assert_eq!(s["rollup"]["port_ranges"], "1-1000");
        assert_eq!(s["dst_port"], serde_json::Value::Null);
        assert_eq!(s["dst_ip"], "10.9.0.2");
        assert_eq!(s["dst_role"], serde_json::Value::Null);
        assert_eq!(
            s["message"],
            "no rule allows tcp 10.0.0.99 -> 10.9.0.2 on 1,000 ports (1-1000)"
        );
    }
}
