//! Audit reports: the terminal report and the JSON document.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Secs, iso_time};
use crate::audit::{AuditResult, Detail, Finding, FlowVerdict, Kind, fmt_num, ms};
use crate::decode::linktype;
use crate::engine::InputSummary;
use crate::rules::{Rules, Severity};
use crate::stats::{Stats, ethertype_name, ip_proto_name};

/// Format version of the JSON document.
pub const JSON_VERSION: u64 = 1;

/// Evidence about one input: enough to reproduce the audit.
#[derive(Debug, Clone)]
pub struct CaptureEvidence {
    pub summary: InputSummary,
    /// SHA-256 of the file (None for standard input).
    pub sha256: Option<String>,
}

/// Everything an audit report shows.
pub struct AuditDoc<'a> {
    pub rules: &'a Rules,
    pub result: &'a AuditResult,
    pub captures: &'a [CaptureEvidence],
}

/// Control characters from files or packets never reach the terminal or a report as such.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn secs_value(ns: Option<i64>) -> Value {
    match ns {
        Some(ns) => serde_json::from_str(&Secs(ns).to_string()).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

/// Non-flow frames of one input by category, as a JSON object.
fn skipped_json(s: &Stats) -> Value {
    let mut m = serde_json::Map::new();
    let mut put = |k: String, n: u64| {
        if n > 0 {
            m.insert(k, json!(n));
        }
    };
    for (e, n) in &s.not_ip {
        put(format!("non-ip {}", ethertype_name(*e)), *n);
    }
    for (p, n) in &s.not_ip_ppp {
        put(format!("non-ip ppp 0x{p:04x}"), *n);
    }
    for (f, n) in &s.not_ip_family {
        put(format!("non-ip address family {f}"), *n);
    }
    put("icmp".into(), s.icmp_packets);
    put("icmpv6".into(), s.icmpv6_packets);
    for (p, n) in s.ip_proto.iter().enumerate() {
        put(format!("ip {}", ip_proto_name(p as u8)), *n);
    }
    put("non-first fragments".into(), s.fragments);
    for (l, n) in s.truncated_by_layer() {
        put(format!("truncated {}", l.name()), n);
    }
    for (l, r, n) in s.malformed_by_layer() {
        put(format!("malformed {} {}", l.name(), r.name()), n);
    }
    for (l, n) in &s.unsupported_link {
        put(format!("unsupported link type {l}"), *n);
    }
    Value::Object(m)
}

fn finding_json(rules: &Rules, f: &Finding) -> Value {
    let mut v = json!({
        "kind": f.kind.name(),
        "severity": f.severity.name(),
        "rule": f.rule.map(|i| rules.rules[i].name.clone()),
        "proto": f.proto.name(),
        "src_role": f.src_role,
        "src_ip": f.src,
        "dst_role": f.dst_role,
        "dst_ip": f.dst,
        "dst_port": f.dst_port,
        "flows": f.flows,
        "first_seen": secs_value(f.first_ns),
        "last_seen": secs_value(f.last_ns),
        "uids": f.uids,
        "message": escape(&f.message),
    });
    let Value::Object(m) = &mut v else {
        return v;
    };
    match &f.detail {
        Detail::None => {}
        Detail::Failed { outcomes } => {
            m.insert("attempts".into(), json!(f.flows));
            let o: serde_json::Map<String, Value> = outcomes
                .iter()
                .map(|(k, n)| (k.clone(), json!(n)))
                .collect();
            m.insert("outcomes".into(), Value::Object(o));
        }
        Detail::Latency {
            budget_ms,
            measured,
            p50_ns,
            p95_ns,
            max_ns,
        } => {
            m.insert("budget_ms".into(), json!(budget_ms));
            m.insert("measured_flows".into(), json!(measured));
            m.insert("p50_ms".into(), json!(*p50_ns as f64 / 1e6));
            m.insert("p95_ms".into(), json!(*p95_ns as f64 / 1e6));
            m.insert("max_ms".into(), json!(*max_ns as f64 / 1e6));
        }
        Detail::Bandwidth {
            avg_kbps,
            peak_kbps,
            avg_budget_kbps,
            peak_budget_kbps,
            active_seconds,
            ip_bytes,
        } => {
            m.insert("avg_kbps".into(), json!(avg_kbps));
            m.insert("peak_kbps".into(), json!(peak_kbps));
            m.insert("avg_budget_kbps".into(), json!(avg_budget_kbps));
            m.insert("peak_budget_kbps".into(), json!(peak_budget_kbps));
            m.insert("active_seconds".into(), json!(active_seconds));
            m.insert("ip_bytes".into(), json!(ip_bytes));
        }
        Detail::Missing {
            ports,
            failed_attempts,
        } => {
            m.insert("ports".into(), json!(ports));
            m.insert("failed_attempts".into(), json!(failed_attempts));
        }
    }
    v
}

/// The audit as one JSON document.
pub fn audit_json(doc: &AuditDoc<'_>) -> Value {
    let rules = doc.rules;
    let r = doc.result;
    let by_verdict: serde_json::Map<String, Value> = FlowVerdict::ALL
        .iter()
        .map(|v| (v.name().to_string(), json!(r.by_verdict[*v as usize])))
        .collect();
    let kinds = r.by_kind();
    let by_kind: serde_json::Map<String, Value> = Kind::ALL
        .iter()
        .map(|k| (k.name().to_string(), json!(kinds[*k as usize])))
        .collect();
    let errors = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    json!({
        "version": JSON_VERSION,
        "flowaudit": env!("CARGO_PKG_VERSION"),
        "rules": {
            "name": escape(&rules.name),
            "file": rules.file.path.display().to_string(),
            "sha256": rules.file.sha256,
        },
        "inventory": rules.inventory.as_ref().map(|i| json!({
            "file": i.path.display().to_string(),
            "sha256": i.sha256,
        })),
        "captures": doc.captures.iter().map(|c| json!({
            "path": c.summary.path.display().to_string(),
            "sha256": c.sha256,
            "packets": c.summary.packets,
            "bytes": c.summary.size,
            "wire_bytes": c.summary.bytes,
            "first_ts": secs_value(c.summary.first_ts_ns),
            "last_ts": secs_value(c.summary.last_ts_ns),
            "link_types": c.summary.link_types.iter().map(|l| json!({"linktype": l, "name": linktype::name(*l)})).collect::<Vec<_>>(),
            "skipped": skipped_json(&c.summary.stats),
            "damaged": c.summary.damaged,
        })).collect::<Vec<_>>(),
        "summary": {
            "flows": r.flows,
            "by_verdict": by_verdict,
            "findings": r.findings.len(),
            "errors": errors,
            "warnings": r.findings.len() - errors,
            "findings_by_kind": by_kind,
        },
        "rule_usage": rules.rules.iter().zip(r.rule_flows.iter()).map(|(rule, n)| json!({
            "rule": rule.name,
            "verdict": rule.verdict.name(),
            "flows": n,
            "unused": *n == 0,
        })).collect::<Vec<_>>(),
        "findings": r.findings.iter().map(|f| finding_json(rules, f)).collect::<Vec<_>>(),
    })
}

/// Writes the JSON document, pretty-printed, with a final newline.
pub fn write_audit_json(w: &mut dyn Write, doc: &AuditDoc<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &audit_json(doc))?;
    writeln!(w)
}

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

/// A short figure column per kind.
fn detail_text(f: &Finding) -> String {
    match &f.detail {
        Detail::None => String::new(),
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
        } => format!(
            "budget {} ms; p50 {} p95 {} max {} ms over {}",
            fmt_num(*budget_ms),
            ms(*p50_ns),
            ms(*p95_ns),
            ms(*max_ns),
            count(*measured, "flow")
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

/// "1 flow", "2 flows".
fn count(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Writes rows with each column padded to its widest cell (the last column is not padded).
fn table(w: &mut dyn Write, indent: &str, rows: &[Vec<String>]) -> io::Result<()> {
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

/// Writes the terminal report: findings grouped by kind, most severe first, aligned columns,
/// role names beside addresses, then rule usage and a summary line. `color`: ANSI colours.
pub fn write_audit_text(w: &mut dyn Write, doc: &AuditDoc<'_>, color: bool) -> io::Result<()> {
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
    table(w, "  ", &head)?;

    for sev in [Severity::Error, Severity::Warning] {
        for kind in Kind::ALL {
            let group: Vec<&Finding> = r
                .findings
                .iter()
                .filter(|f| f.kind == kind && f.severity == sev)
                .collect();
            if group.is_empty() {
                continue;
            }
            writeln!(w)?;
            writeln!(
                w,
                "{} {} ({})",
                p.sev(sev),
                p.bold(kind.name()),
                group.len()
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
            for f in group {
                rows.push(vec![
                    f.rule
                        .map_or("-".to_string(), |i| escape(&rules.rules[i].name)),
                    f.proto.name().to_string(),
                    with_role(&f.src_role, &f.src),
                    match &f.dst {
                        Some(d) => with_role(&f.dst_role, d),
                        None => f
                            .dst_role
                            .as_deref()
                            .map_or("-".to_string(), |r| format!("{} (all)", escape(r))),
                    },
                    f.dst_port.map_or("*".to_string(), |p| p.to_string()),
                    f.flows.to_string(),
                    when(f.first_ns),
                    when(f.last_ns),
                    match detail_text(f) {
                        d if d.is_empty() => "-".to_string(),
                        d => d,
                    },
                    f.uids.first().cloned().unwrap_or_else(|| "-".to_string()),
                ]);
            }
            table(w, "  ", &rows)?;
        }
    }

    writeln!(w)?;
    writeln!(w, "{}", p.bold("rules"))?;
    let mut rows = vec![vec!["RULE".to_string(), "VERDICT".into(), "FLOWS".into()]];
    for (rule, n) in rules.rules.iter().zip(r.rule_flows.iter()) {
        rows.push(vec![
            escape(&rule.name),
            rule.verdict.name().to_string(),
            if *n == 0 {
                "0 (unused)".to_string()
            } else {
                n.to_string()
            },
        ]);
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

/// Writes the matrix as `check-rules` shows it: roles with their hosts, then every rule.
pub fn write_matrix(w: &mut dyn Write, rules: &Rules) -> io::Result<()> {
    writeln!(w, "{}", escape(&rules.name))?;
    writeln!(
        w,
        "  rules file {} (sha256 {})",
        escape(&rules.file.path.display().to_string()),
        rules.file.sha256
    )?;
    if let Some(inv) = &rules.inventory {
        writeln!(
            w,
            "  inventory  {} (sha256 {})",
            escape(&inv.path.display().to_string()),
            inv.sha256
        )?;
    }
    writeln!(w)?;
    writeln!(w, "roles")?;
    let mut rows = vec![vec![
        "ROLE".to_string(),
        "HOSTS".into(),
        "DESCRIPTION".into(),
    ]];
    for role in &rules.roles {
        let hosts = if role.hosts.is_empty() {
            "(none: give them with --inventory)".to_string()
        } else {
            let h = role
                .hosts
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            if role.from_inventory {
                format!("{h} (inventory)")
            } else {
                h
            }
        };
        rows.push(vec![
            escape(&role.name),
            hosts,
            role.description.as_deref().map_or("-".to_string(), escape),
        ]);
    }
    table(w, "  ", &rows)?;
    writeln!(w)?;
    writeln!(w, "rules (the first that matches judges a flow)")?;
    let mut rows = vec![vec![
        "#".to_string(),
        "RULE".into(),
        "FROM".into(),
        "TO".into(),
        "PROTO".into(),
        "PORTS".into(),
        "BETWEEN".into(),
        "LATENCY".into(),
        "AVG".into(),
        "PEAK".into(),
        "VERDICT".into(),
        "EXPECT".into(),
        "SEVERITY".into(),
        "NOTE".into(),
    ]];
    let kbps = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{} kbit/s", fmt_num(v)));
    for (i, rule) in rules.rules.iter().enumerate() {
        rows.push(vec![
            (i + 1).to_string(),
            escape(&rule.name),
            escape(&rules.roles[rule.from].name),
            escape(&rules.roles[rule.to].name),
            rule.proto.name().to_string(),
            rule.ports_text(),
            rule.between.name().to_string(),
            rule.latency_ms
                .map_or("-".to_string(), |v| format!("{} ms", fmt_num(v))),
            kbps(rule.avg_kbps),
            kbps(rule.peak_kbps),
            rule.verdict.name().to_string(),
            match rule.expect {
                crate::rules::Expect::Required => "required".to_string(),
                crate::rules::Expect::Optional => "optional".to_string(),
            },
            rule.severity
                .map_or("default".to_string(), |s| s.name().to_string()),
            rule.note.as_deref().map_or("-".to_string(), escape),
        ]);
    }
    table(w, "  ", &rows)?;
    writeln!(w)?;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    writeln!(
        w,
        "{}, {} ({} required)",
        plural(rules.roles.len(), "role"),
        plural(rules.rules.len(), "rule"),
        rules
            .rules
            .iter()
            .filter(|r| r.expect == crate::rules::Expect::Required)
            .count()
    )
}
