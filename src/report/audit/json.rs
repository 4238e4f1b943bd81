//! The JSON document.
//!
//! Each finding has the keys the README lists (`kind`, `severity`, `rule`, `proto`, `src_role`,
//! `src_ip`, `dst_role`, `dst_ip`, `dst_port`, `flows`, `first_seen`, `last_seen`, `uids`,
//! `message`) and kind-specific keys:
//!
//! - `reversed`: `"reversed"`: `"hosts"` (a rule matches with the hosts swapped on the same
//!   server port: the server started a connection to its client) or `"connection"` (a rule
//!   matches the same connection opened by the other end: hosts and ports swapped); for
//!   `"connection"`, `"reversed_server_ports"`: the would-be server ports (the observed client
//!   ports) as ranges text, `"40312"` or `"40312-40315,50000"`.
//! - `failed`: `attempts`, `outcomes` (`{"S0": 2, "REJ": 1}`).
//! - `over_latency`: `budget_ms`, `measured_flows`, `p50_ms`, `p95_ms`, `max_ms`, and
//!   `percentiles_exact`: true when p50 and p95 are exact nearest-rank values (up to 64
//!   measured flows in the finding), false when they come from a histogram (at most 0.1 %
//!   above the exact value); `max_ms` is always exact.
//! - `over_bandwidth`: `avg_kbps`, `peak_kbps`, `avg_budget_kbps`, `peak_budget_kbps`,
//!   `active_seconds`, `ip_bytes`.
//! - `missing`: `ports`, `failed_attempts`.
//! - `wrong_service`: `services` (`{"http": 2, "ssl,http": 1}`: the flows' `service` as the
//!   records have it, with their flows), `unknown_bytes` (flows whose bytes no recogniser
//!   knew), `allowed_services` (the rule's `service`), `other_flows` (flows past the distinct
//!   services kept, 8).
//! - `weak_tls`: `tls_min` (`"TLSv12"`), `tls_versions` (`{"TLSv10": 3}`: the server's choice,
//!   below `tls_min`), `plaintext` (`{"http": 1}`: flows with no TLS at all, by service),
//!   `unknown_bytes` (no TLS, bytes no recogniser knew), `other_flows`.
//! - `unexpected_sni`: `server_names` (`{"evil.example.net": 2}`), `no_sni` (ClientHellos
//!   without a server name), `allowed_sni` (the rule's `sni`), `other_flows`.
//!
//! When a rule has `service`, `tls_min` or `sni`, the summary and each such rule's usage say
//! how many flows were judged against them (`service_judged`) and how many could not be:
//! `service_undecided` (by the record's status: `no payload`, `mid-stream`, `cut`,
//! `not in source`), `tls_undecided` (TLS without a ServerHello), `sni_undecided` (the
//! ClientHello's server name cut, or no ClientHello seen).
//!
//! A rolled-up finding (many clients to one server port, or one client to many targets) has
//! `src_ip` null (many clients) or `dst_ip` and `dst_port` null (many targets), and a `rollup`
//! object (absent from other findings):
//!
//! - `by`: `"clients"` (many clients to one (server, port)) or `"targets"` (one client to many
//!   (server, port) targets);
//! - `clients`, `servers`, `ports`: distinct counts; `clients_estimated`, `servers_estimated`:
//!   true when the count is a HyperLogLog estimate (past `exact_hosts`, 4,000,000 distinct hosts per roll-up by default)
//!   rather than exact;
//! - `top_clients`, `top_servers`: `[{"ip", "flows"}]`, `top_ports`: `[{"port", "flows"}]`:
//!   the busiest (10 by default), most flows first;
//! - `prefixes`: `[{"prefix", "hosts", "flows"}]`: at most 10 (by default) prefixes per
//!   address family, of one length, covering every client (`by` clients) or server (`by`
//!   targets): the longest length at which that many suffice; most flows first;
//! - `port_ranges`: every server port, as ranges text (`"20-25,80,443-445"`).
//!
//! The document is complete: every finding is listed, whatever the text report shows.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{AuditDoc, JSON_VERSION, escape};
use crate::audit::content::Checks;
use crate::audit::{Detail, Finding, FlowVerdict, Kind, Raised, Rollup, Shown, ranges_text};
use crate::decode::linktype;
use crate::flow::service::{ServiceStatus, tls_version_name};
use crate::report::Secs;
use crate::rules::{Rules, Severity};
use crate::stats::{Stats, ethertype_name, ip_proto_name};

fn secs_value(ns: Option<i64>) -> Value {
    match ns {
        Some(ns) => serde_json::from_str(&Secs(ns).to_string()).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

/// Non-flow frames of one input by category, as a JSON object.
fn skipped_json(s: &Stats) -> Value {
    Value::Object(
        skipped_counts(s)
            .into_iter()
            .map(|(k, n)| (k, json!(n)))
            .collect(),
    )
}

/// Non-flow frames of one input by category (`non-ip arp`, `icmp`, `truncated tcp`, ...),
/// the categories with none left out: what the JSON report's `skipped` and the HTML
/// report's evidence list.
pub fn skipped_counts(s: &Stats) -> Vec<(String, u64)> {
    let mut m = Vec::new();
    let mut put = |k: String, n: u64| {
        if n > 0 {
            m.push((k, n));
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
    for (what, n) in s.link_skips() {
        put(format!("link layer {what}"), n);
    }
    put("icmp".into(), s.icmp_packets);
    put("icmpv6".into(), s.icmpv6_packets);
    for (p, n) in s.ip_proto.iter().enumerate() {
        put(format!("ip {}", ip_proto_name(p as u8)), *n);
    }
    put(
        "ip fragments in no packet".into(),
        s.fragments_in_no_packet(),
    );
    for (l, n) in s.truncated_by_layer() {
        put(format!("truncated {}", l.name()), n);
    }
    for (l, r, n) in s.malformed_by_layer() {
        put(format!("malformed {} {}", l.name(), r.name()), n);
    }
    for (l, n) in &s.unsupported_link {
        put(format!("unsupported link type {l}"), *n);
    }
    m
}

/// IP fragments of one input and what reassembly made of them.
fn fragments_json(f: &crate::stats::FragStats) -> Value {
    json!({
        "fragments": f.fragments,
        "reassembled": f.reassembled,
        "reassembled_fragments": f.reassembled_fragments,
        "flow_packets": f.flow_packets,
        "flow_fragments": f.flow_fragments,
        "timed_out": f.timed_out,
        "evicted": f.evicted,
        "unfinished": f.unfinished,
        "incomplete_fragments": f.incomplete_fragments,
        "rejected": f.rejected,
        "duplicates": f.duplicates,
        "overlaps": f.overlaps,
        "inconsistent": f.inconsistent,
    })
}

/// One `--findings-out` line: a finding the first time it is raised, with the report's keys
/// for its identity (`kind`, `severity`, `rule`, `proto`, `src_role`, `src_ip`, `dst_role`,
/// `dst_ip`, `dst_port`), `ts` (when it was raised, packet time), `uid` (the flow that raised
/// it, or null) and, for a roll-up, `rollup` (`"clients"` or `"targets"`).
pub fn write_raised_line(w: &mut dyn Write, rules: &Rules, r: &Raised) -> io::Result<()> {
    let mut v = json!({
        "ts": secs_value(Some(r.ts_ns)),
        "kind": r.kind.name(),
        "severity": r.severity.name(),
        "rule": r.rule.map(|i| rules.rules[i].name.clone()),
        "proto": r.proto.name(),
        "src_role": r.src_role,
        "src_ip": r.src,
        "dst_role": r.dst_role,
        "dst_ip": r.dst,
        "dst_port": r.dst_port,
        "uid": r.uid,
    });
    if let (Some(by), Value::Object(m)) = (r.rollup, &mut v) {
        m.insert("rollup".into(), json!(by.name()));
    }
    serde_json::to_writer(&mut *w, &v)?;
    w.write_all(b"\n")
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
        "message": escape(&super::message(rules, f)),
    });
    let Value::Object(m) = &mut v else {
        return v;
    };
    match &f.detail {
        Detail::None => {}
        Detail::Reversed { way, server_ports } => {
            m.insert("reversed".into(), json!(way.name()));
            if !server_ports.is_empty() {
                m.insert(
                    "reversed_server_ports".into(),
                    json!(ranges_text(server_ports)),
                );
            }
        }
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
            exact,
        } => {
            m.insert("budget_ms".into(), json!(budget_ms));
            m.insert("measured_flows".into(), json!(measured));
            m.insert("p50_ms".into(), json!(*p50_ns as f64 / 1e6));
            m.insert("p95_ms".into(), json!(*p95_ns as f64 / 1e6));
            m.insert("max_ms".into(), json!(*max_ns as f64 / 1e6));
            m.insert("percentiles_exact".into(), json!(exact));
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
        Detail::Shown { shown, other } => {
            shown_json(m, rules, f, shown);
            m.insert("other_flows".into(), json!(other));
        }
    }
    if let Some(r) = &f.rollup {
        m.insert("rollup".into(), rollup_json(r));
    }
    v
}

/// A content finding's figures: what its flows carried, by kind, and what the rule allows.
fn shown_json(
    m: &mut serde_json::Map<String, Value>,
    rules: &Rules,
    f: &Finding,
    shown: &[(Shown, u64)],
) {
    let rule = f.rule.map(|i| &rules.rules[i]);
    let mut named = serde_json::Map::new();
    let mut versions = serde_json::Map::new();
    let mut unknown = 0;
    let mut no_sni = 0;
    for (s, n) in shown {
        match s {
            Shown::Service(x) | Shown::Plaintext(x) | Shown::Sni(x) => {
                named.insert(x.clone(), json!(n));
            }
            Shown::Version(v) => {
                versions.insert(tls_version_name(*v).into_owned(), json!(n));
            }
            Shown::UnknownBytes => unknown += n,
            Shown::NoSni => no_sni += n,
        }
    }
    match f.kind {
        Kind::WrongService => {
            m.insert("services".into(), Value::Object(named));
            m.insert("unknown_bytes".into(), json!(unknown));
            m.insert(
                "allowed_services".into(),
                json!(rule.map_or(Vec::new(), |r| r.service.clone())),
            );
        }
        Kind::WeakTls => {
            m.insert("tls_min".into(), json!(rule.and_then(|r| r.tls_min_text())));
            m.insert("tls_versions".into(), Value::Object(versions));
            m.insert("plaintext".into(), Value::Object(named));
            m.insert("unknown_bytes".into(), json!(unknown));
        }
        _ => {
            m.insert("server_names".into(), Value::Object(named));
            m.insert("no_sni".into(), json!(no_sni));
            m.insert(
                "allowed_sni".into(),
                json!(rule.map_or(Vec::new(), |r| {
                    r.sni
                        .iter()
                        .map(|p| p.as_str().to_string())
                        .collect::<Vec<_>>()
                })),
            );
        }
    }
}

/// What content checks judged and could not (see the module's documentation), into `m`.
fn checks_json(m: &mut serde_json::Map<String, Value>, c: &Checks) {
    m.insert("service_judged".into(), json!(c.decided));
    let undecided: serde_json::Map<String, Value> = ServiceStatus::ALL
        .iter()
        .zip(c.undecided)
        .filter(|(s, _)| s.undecided())
        .map(|(s, n)| (s.name().to_string(), json!(n)))
        .collect();
    m.insert("service_undecided".into(), Value::Object(undecided));
    m.insert("tls_undecided".into(), json!(c.tls_undecided));
    m.insert("sni_undecided".into(), json!(c.sni_undecided));
}

fn rollup_json(r: &Rollup) -> Value {
    json!({
        "by": r.by.name(),
        "clients": r.clients,
        "clients_estimated": r.clients_estimated,
        "servers": r.servers,
        "servers_estimated": r.servers_estimated,
        "ports": r.ports,
        "top_clients": r.top_clients.iter().map(|(ip, n)| json!({"ip": ip.to_string(), "flows": n})).collect::<Vec<_>>(),
        "top_servers": r.top_servers.iter().map(|(ip, n)| json!({"ip": ip.to_string(), "flows": n})).collect::<Vec<_>>(),
        "top_ports": r.top_ports.iter().map(|(p, n)| json!({"port": p, "flows": n})).collect::<Vec<_>>(),
        "prefixes": r.prefixes.iter().map(|p| json!({"prefix": p.net.to_string(), "hosts": p.hosts, "flows": p.flows})).collect::<Vec<_>>(),
        "port_ranges": ranges_text(&r.port_ranges),
    })
}

/// One flow-record input: what it is, what was read, and what the audit could not judge from it
/// (`limits`).
fn record_input_json(e: &crate::records::InputEvidence) -> Value {
    let s = &e.stats;
    json!({
        "path": e.path.display().to_string(),
        "format": e.format,
        "bytes": e.size,
        "sha256": e.sha256,
        "lines": s.lines,
        "records": s.records,
        "first_ts": secs_value(s.first_ts_ns),
        "last_ts": secs_value(s.last_ts_ns),
        "malformed": s.malformed,
        "first_malformed": s.first_malformed.iter().map(|m| json!({"line": m.line, "message": m.message})).collect::<Vec<_>>(),
        "skipped": s.skipped.iter().map(|(why, n)| (why.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "pairing": {
            "halves": e.pairing.halves,
            "records": e.pairing.records,
            "paired": e.pairing.paired,
            "direction_inferred": e.pairing.direction_inferred,
            "sampled": e.pairing.sampled,
            "evicted": e.pairing.evicted,
        },
        "error": e.error,
        "limits": e.limits().iter().map(|l| json!({"what": l.what, "how": l.how, "why": l.why})).collect::<Vec<_>>(),
    })
}

/// The audit as one JSON document.
/// One capture input: a file, or a live interface (`"interface NAME"`, with libpcap's counters
/// under `live`: `received` by the filter, `dropped` by the kernel, `if_dropped` by the
/// interface).
fn capture_json(c: &super::CaptureEvidence) -> Value {
    let mut v = json!({
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
    });
    if let (true, Value::Object(m)) = (c.summary.stats.frag.fragments > 0, &mut v) {
        m.insert("fragments".into(), fragments_json(&c.summary.stats.frag));
    }
    if let (Some(l), Value::Object(m)) = (c.summary.live, &mut v) {
        m.insert(
            "live".into(),
            json!({"received": l.received, "dropped": l.dropped, "if_dropped": l.if_dropped}),
        );
    }
    v
}

pub fn audit_json(doc: &AuditDoc<'_>) -> Value {
    let mut v = audit_json_all(doc);
    // Only when flow-record logs were read.
    if !doc.records.is_empty() {
        v["record_inputs"] = doc.records.iter().map(record_input_json).collect();
        v["summary"]["duplicates_merged"] = json!(doc.merge.merged);
        v["summary"]["merge_released_early"] = json!(doc.merge.released_early);
    }
    // Only when a rule says what its flows may carry.
    if doc.rules.rules.iter().any(|r| r.checks_content()) {
        if let Value::Object(m) = &mut v["summary"] {
            checks_json(m, &doc.result.checks());
        }
        if let Value::Array(usage) = &mut v["rule_usage"] {
            for ((rule, u), stats) in doc
                .rules
                .rules
                .iter()
                .zip(usage.iter_mut())
                .zip(&doc.result.rule_stats)
            {
                let (true, Value::Object(m)) = (rule.checks_content(), u) else {
                    continue;
                };
                m.insert("service".into(), json!(rule.service));
                m.insert("tls_min".into(), json!(rule.tls_min_text()));
                m.insert(
                    "sni".into(),
                    json!(rule.sni.iter().map(|p| p.as_str()).collect::<Vec<_>>()),
                );
                checks_json(m, &stats.checks);
            }
        }
    }
    // Only when tunnel-endpoint flows were left out (--skip-tunnel-endpoints).
    if doc.result.tunnel_endpoints > 0 {
        v["summary"]["tunnel_endpoints_not_judged"] = json!(doc.result.tunnel_endpoints);
    }
    v
}

fn audit_json_all(doc: &AuditDoc<'_>) -> Value {
    let rules = doc.rules;
    let r = doc.result;
    let by_verdict: serde_json::Map<String, Value> = FlowVerdict::ALL
        .iter()
        .map(|v| (v.name().to_string(), json!(r.by_verdict[*v as usize])))
        .collect();
    let kinds = r.by_kind();
    let by_kind: serde_json::Map<String, Value> = super::report_kinds(rules)
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
        "captures": doc.captures.iter().map(capture_json).collect::<Vec<_>>(),
        "summary": {
            "flows": r.flows,
            "evicted": doc.table.evicted,
            "peak_open_flows": doc.table.peak_open,
            "max_flows": (doc.max_flows > 0).then_some(doc.max_flows),
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
