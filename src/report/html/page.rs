//! The page: summary, matrix, pictures, findings, evidence.

use std::io::{self, Write};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::charts::{self, Span, duration_us, symbol};
use super::matrix::{Edge, Matrix};
use super::{count, text};
use crate::audit::{Finding, FlowVerdict, Kind};
use crate::report::audit::{AuditDoc, checks_text, client_cell, groups, message, server_cell};
use crate::report::iso_time;
use crate::rules::{Expect, Rules};

/// Finding rows per group (severity and kind, as in the text report) on the page (the JSON
/// report lists them all): enough for any matrix
/// audited by hand, and the page of a flood stays small.
pub const MAX_ROWS_PER_KIND: usize = 200;

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

/// A time, or `-`.
fn time(ns: Option<i64>) -> String {
    ns.map_or_else(|| "-".into(), iso_time)
}

/// Writes the audit as one self-contained HTML page.
pub fn write_audit_html(w: &mut dyn Write, doc: &AuditDoc<'_>) -> io::Result<()> {
    let page = page(doc);
    w.write_all(page.into_string().as_bytes())
}

/// Writes the matrix alone as an SVG picture.
pub fn write_matrix_svg(w: &mut dyn Write, doc: &AuditDoc<'_>) -> io::Result<()> {
    let m = Matrix::new(doc.rules, doc.result);
    w.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
    w.write_all(charts::matrix_svg(&m).into_string().as_bytes())?;
    w.write_all(b"\n")
}

fn page(doc: &AuditDoc<'_>) -> Markup {
    let rules = doc.rules;
    let r = doc.result;
    let m = Matrix::new(rules, r);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Nothing is fetched: no source but the page itself.
                meta http-equiv="Content-Security-Policy"
                    content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";
                title { "flowaudit: " (text(&rules.name)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "flowaudit audit: " (text(&rules.name)) }
                (summary(doc))
                section id="matrix-section" {
                    h2 { "Matrix: expected against observed" }
                    p class="legend" { "Rows: client role; columns: server role. "
                        "✖ error, ▲ warning, ✔ flows and no finding, · rules and no flow. "
                        "Budgets are the rules' (rtt per flow; bandwidth per client host)." }
                    (matrix_table(rules, r, &m))
                }
                (pictures(doc))
                (findings(rules, &r.findings))
                (evidence(doc))
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

fn summary(doc: &AuditDoc<'_>) -> Markup {
    let r = doc.result;
    let [e, w] = [
        crate::rules::Severity::Error,
        crate::rules::Severity::Warning,
    ]
    .map(|s| r.findings.iter().filter(|f| f.severity == s).count());
    html! {
        table class="summary" {
            tr { td { "findings" } td { (r.findings.len()) " (" (e) " error, " (w) " warning): "
                @for (i, (k, n)) in Kind::ALL.iter().zip(r.by_kind()).filter(|(_, n)| *n > 0).enumerate() {
                    @if i > 0 { ", " } (n) " " (k.name())
                } } }
            tr { td { "flows" } td { (r.flows) ": "
                @for (i, (v, n)) in FlowVerdict::ALL.iter().zip(r.by_verdict).filter(|(_, n)| *n > 0).enumerate() {
                    @if i > 0 { ", " } (n) " " (v.name())
                } } }
            @if doc.rules.rules.iter().any(|x| x.checks_content()) {
                tr id="service-checks" { td { "service" } td { (checks_text(&r.checks(), true)) } }
            }
        }
    }
}

/// What a rule allows, as a cell line: name, proto/ports, budgets, verdict, required.
fn rule_line(rules: &Rules, r: &crate::audit::AuditResult, i: usize) -> Markup {
    let rule = &rules.rules[i];
    let flows = r.rule_flows.get(i).copied().unwrap_or(0);
    let stats = r.rule_stats.get(i);
    html! {
        div class="rule" data-rule=(text(&rule.name)) {
            b { (text(&rule.name)) } " " (rule.proto.name()) "/" (rule.ports_text()) " "
            i { (rule.verdict.name()) }
            @if rule.expect == Expect::Required { " " span class="required" { "required" } }
            br;
            (count(flows, "flow"))
            @if let Some(s) = stats.filter(|s| s.failed > 0) { ", " (s.failed) " failed" }
            @if let Some(b) = rule.latency_ms {
                br; "rtt budget " (b) " ms"
                @if let Some(rtt) = stats.and_then(|s| s.rtt.as_ref()) {
                    ": p50 " (duration_us(rtt.p50_ns as f64 / 1e3)) ", p95 " (duration_us(rtt.p95_ns as f64 / 1e3))
                    @if rtt.p95_ns as f64 > b * 1e6 { " " b { "OVER" } }
                }
            }
            @if rule.checks_content() {
                br; (content_line(rule))
                @if let Some(c) = stats.map(|s| &s.checks).filter(|c| c.undecided_flows() + c.tls_undecided + c.sni_undecided > 0) {
                    br; span class="undecided" { (checks_text(c, false)) }
                }
            }
            @if rule.avg_kbps.is_some() || rule.peak_kbps.is_some() {
                br; "bandwidth budget"
                @if let Some(a) = rule.avg_kbps { " avg " (a) } @if let Some(p) = rule.peak_kbps { " peak " (p) } " kbit/s"
                @if let Some(p) = stats.and_then(|s| s.top_hosts.first()).map(|h| h.peak_kbps) {
                    ": peak " (format!("{p:.1}")) " kbit/s"
                    @if rule.peak_kbps.is_some_and(|b| p > b) { " " b { "OVER" } }
                }
            }
        }
    }
}

/// What a rule allows its flows to carry: `service ssl · TLS ≥ TLSv12 · SNI *.example.com`.
fn content_line(rule: &crate::rules::Rule) -> String {
    let mut parts = Vec::new();
    if !rule.service.is_empty() {
        parts.push(format!("service {}", rule.service_text()));
    }
    if let Some(m) = rule.tls_min_text() {
        parts.push(format!("TLS ≥ {m}"));
    }
    if !rule.sni.is_empty() {
        parts.push(format!("SNI {}", text(&rule.sni_text())));
    }
    parts.join(" · ")
}

fn edge_cell(
    rules: &Rules,
    r: &crate::audit::AuditResult,
    from: &str,
    to: &str,
    e: Option<&Edge<'_>>,
) -> Markup {
    let Some(e) = e else {
        return html! { td class="edge none" data-from=(text(from)) data-to=(text(to)) data-worst="none" data-flows="0" {} };
    };
    let state = e.state();
    let over = e.over_budget();
    let content = e.content_findings();
    html! {
        td class=(format!("edge {state}")) data-from=(text(from)) data-to=(text(to))
            data-worst=(e.worst().map_or("none", |(k, _)| k.name())) data-flows=(e.flows)
            data-required-unseen=[e.required_unseen.then_some("1")]
            data-over-budget=[(!over.is_empty()).then_some(over.as_str())]
            data-content=[(!content.is_empty()).then_some(content.as_str())] {
            div class="state" { (symbol(state)) " " (count(e.flows, "flow"))
                @if let Some((k, s)) = e.worst() { " · " (s.name()) " " (k.name()) }
                @if e.findings.len() > 1 { " (+" (e.findings.len() - 1) ")" } }
            @if e.required_unseen { div class="unseen" { "⚠ required, no established flow" } }
            @if e.failed > 0 { div { (count(e.failed, "failed attempt")) } }
            @if e.rules.is_empty() { div { "no rule" } }
            @for &i in &e.rules { (rule_line(rules, r, i)) }
        }
    }
}

fn matrix_table(rules: &Rules, r: &crate::audit::AuditResult, m: &Matrix<'_>) -> Markup {
    html! {
        table id="matrix" {
            thead { tr { th { "client \\ server" }
                @for role in &m.roles { th class="role" data-role=(text(role)) scope="col" { (text(role)) } } } }
            tbody {
                @for (i, from) in m.roles.iter().enumerate() {
                    tr { th class="role" data-role=(text(from)) scope="row" { (text(from)) }
                        @for (j, to) in m.roles.iter().enumerate() { (edge_cell(rules, r, from, to, m.edges.get(&(i, j)))) } }
                }
            }
        }
    }
}

fn pictures(doc: &AuditDoc<'_>) -> Markup {
    let rules = doc.rules;
    let r = doc.result;
    let spans: Vec<Span> = r
        .findings
        .iter()
        .filter_map(|f| {
            Some(Span {
                kind: f.kind,
                first_ns: f.first_ns?,
                last_ns: f.last_ns.or(f.first_ns)?,
                label: text(&message(rules, f)),
            })
        })
        .collect();
    let mut from = spans.iter().map(|s| s.first_ns).min();
    let mut to = spans.iter().map(|s| s.last_ns).max();
    for c in doc.captures {
        from = from.into_iter().chain(c.summary.first_ts_ns).min();
        to = to.into_iter().chain(c.summary.last_ts_ns).max();
    }
    for e in doc.records {
        from = from.into_iter().chain(e.stats.first_ts_ns).min();
        to = to.into_iter().chain(e.stats.last_ts_ns).max();
    }
    html! {
        section id="pictures" {
            h2 { "Pictures" }
            h3 { "Round trips per rule with a latency budget" }
            div class="charts" {
                @for (i, rule) in rules.rules.iter().enumerate() {
                    @if let (Some(b), Some(rtt)) = (rule.latency_ms, r.rule_stats.get(i).and_then(|s| s.rtt.as_ref())) {
                        figure { (charts::rtt_chart(&rule.name, rtt, Some(b)))
                            figcaption { (text(&rule.name)) ": " (count(rtt.measured, "flow")) " measured" } }
                    }
                }
            }
            h3 { "Busiest second over time per client host, on rules with a bandwidth budget" }
            p class="legend" { "Each bar: the busiest second of a stretch of time (stretches merge as the capture "
                "gets longer, " (crate::audit::timeline::BUCKETS) " at most). The " (crate::audit::edges::TOP_HOSTS)
                " busiest hosts of each rule, the nearest to or furthest over their budget first." }
            div class="charts" {
                @for (rule, host) in busiest_hosts(rules, r) {
                    figure { (charts::host_chart(&rule.name, host, rule.peak_kbps, rule.avg_kbps))
                        figcaption { (text(&rule.name)) ": " (host.client.to_string()) ", peak "
                            (format!("{:.1}", host.peak_kbps)) " kbit/s" } }
                }
            }
            @if let (Some(a), Some(b)) = (from, to) {
                h3 { "Findings over time" }
                (charts::timeline(&spans, &crate::report::audit::report_kinds(rules), a, b, MAX_ROWS_PER_KIND))
            }
        }
    }
}

/// The hosts drawn over time: each rule's busiest (see [`crate::audit::edges::TOP_HOSTS`]),
/// the nearest to or furthest over their budget first (peak over the peak budget, else over
/// the average budget), then in rule order.
fn busiest_hosts<'a>(
    rules: &'a Rules,
    r: &'a crate::audit::AuditResult,
) -> Vec<(&'a crate::rules::Rule, &'a crate::audit::edges::HostPeaks)> {
    let mut v: Vec<(
        f64,
        usize,
        &crate::rules::Rule,
        &crate::audit::edges::HostPeaks,
    )> = Vec::new();
    for (i, rule) in rules.rules.iter().enumerate() {
        let Some(budget) = rule.peak_kbps.or(rule.avg_kbps) else {
            continue;
        };
        for h in r.rule_stats.get(i).map_or(&[][..], |s| &s.top_hosts[..]) {
            let ratio = if budget > 0.0 {
                h.peak_kbps / budget
            } else {
                f64::INFINITY
            };
            v.push((ratio, i, rule, h));
        }
    }
    v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, _, rule, h)| (rule, h)).collect()
}

fn findings(rules: &Rules, all: &[Finding]) -> Markup {
    let rule_names: Vec<&str> = rules.rules.iter().map(|r| r.name.as_str()).collect();
    html! {
        section id="findings-section" {
            h2 { "Findings" }
            div class="filters" {
                label { "kind " select id="filter-kind" { option value="" { "all" }
                    @for k in crate::report::audit::report_kinds(rules) { option value=(k.name()) { (k.name()) } } } }
                label { "severity " select id="filter-severity" { option value="" { "all" }
                    option value="error" { "error" } option value="warning" { "warning" } } }
                label { "rule " select id="filter-rule" { option value="" { "all" } option value="-" { "(none)" }
                    @for n in &rule_names { option value=(text(n)) { (text(n)) } } } }
                label { "host " input id="filter-host" type="search" placeholder="address or role"; }
                span { span id="findings-shown" { (all.len()) } " shown" }
            }
            table id="findings" {
                // Widths in per cent (used when the table is laid out to the page's width, in
                // print): the detail gets the most.
                colgroup {
                    @for w in [6, 7, 9, 4, 9, 9, 4, 4, 8, 8, 22, 10] { col style=(format!("width:{w}%")); }
                }
                thead { tr {
                    @for h in ["severity", "kind", "rule", "proto", "client", "server", "port", "flows", "first seen", "last seen", "detail", "example flows"] {
                        th data-sort=(h) { (h) }
                    } } }
                tbody {
                    @for g in groups(all, MAX_ROWS_PER_KIND) {
                        @for f in &g.shown { (finding_row(rules, f)) }
                        @if g.total > g.shown.len() {
                            tr class="more" { td colspan="12" { (g.total - g.shown.len()) " more " (g.severity.name()) " " (g.kind.name())
                                " findings (fewer flows each): the JSON report (--format json) lists every one" } }
                        }
                    }
                }
            }
        }
    }
}

/// A roll-up's figures: distinct counts and the busiest hosts and ports.
fn rollup(r: &crate::audit::Rollup) -> Markup {
    let est = |e: bool| if e { " (estimated)" } else { "" };
    html! {
        br; "rolled up by " (r.by.name()) ": " (r.clients) " clients" (est(r.clients_estimated)) ", "
        (r.servers) " servers" (est(r.servers_estimated)) ", " (r.ports) " ports"
        @if !r.top_clients.is_empty() { br; "top clients: "
            @for (i, (ip, n)) in r.top_clients.iter().enumerate() { @if i > 0 { ", " } (ip.to_string()) " (" (n) ")" } }
        @if !r.top_servers.is_empty() { br; "top servers: "
            @for (i, (ip, n)) in r.top_servers.iter().enumerate() { @if i > 0 { ", " } (ip.to_string()) " (" (n) ")" } }
        @if !r.top_ports.is_empty() { br; "top ports: "
            @for (i, (p, n)) in r.top_ports.iter().enumerate() { @if i > 0 { ", " } (p) " (" (n) ")" } }
        @if !r.prefixes.is_empty() { br; "prefixes: "
            @for (i, p) in r.prefixes.iter().enumerate() { @if i > 0 { ", " } (p.net.to_string()) " (" (count(p.hosts, "host")) ", " (count(p.flows, "flow")) ")" } }
    }
}

fn finding_row(rules: &Rules, f: &Finding) -> Markup {
    let rule = f
        .rule
        .map_or_else(|| "-".to_string(), |i| text(&rules.rules[i].name));
    let src = text(&client_cell(f));
    let dst = text(&server_cell(f));
    html! {
        tr class="finding" data-kind=(f.kind.name()) data-severity=(f.severity.name()) data-rule=(rule)
            data-src=(src) data-dst=(dst) {
            td class=(format!("sev-{}", f.severity.name())) data-value=(f.severity as u8) {
                @if f.severity == crate::rules::Severity::Error { "✖ " } @else { "▲ " } (f.severity.name()) }
            td { (f.kind.name()) }
            td { (rule) }
            td { (f.proto.name()) }
            td { (src) }
            td { (dst) }
            td data-value=[f.dst_port] { @if let Some(p) = f.dst_port { (p) } @else { "*" } }
            td data-value=(f.flows) { (f.flows) }
            td { (time(f.first_ns)) }
            td { (time(f.last_ns)) }
            td { (text(&message(rules, f))) @if let Some(r) = &f.rollup { (rollup(r)) } }
            td class="uids" { @for (i, u) in f.uids.iter().enumerate() { @if i > 0 { br; } (text(u)) } }
        }
    }
}

fn evidence(doc: &AuditDoc<'_>) -> Markup {
    let rules = doc.rules;
    let r = doc.result;
    html! {
        section id="evidence" {
            h2 { "Evidence" }
            table class="summary" {
                tr { td { "flowaudit" } td { "version " (env!("CARGO_PKG_VERSION")) } }
                tr { td { "rules" } td { (text(&rules.file.path.display().to_string())) br; "sha256 " code { (rules.file.sha256) } } }
                @if let Some(inv) = &rules.inventory {
                    tr { td { "inventory" } td { (text(&inv.path.display().to_string())) br; "sha256 " code { (inv.sha256) } } }
                }
                @for c in doc.captures {
                    @let s = &c.summary;
                    tr { td { "capture" } td {
                        (text(&s.path.display().to_string())) ": " (s.packets) " packets"
                        @if let Some(b) = s.size { ", " (b) " bytes" }
                        @if let (Some(a), Some(b)) = (s.first_ts_ns, s.last_ts_ns) { ", " (iso_time(a)) " to " (iso_time(b)) }
                        @if let Some(h) = &c.sha256 { br; "sha256 " code { (h) } }
                        @if let Some(l) = &s.live { br; (l.received) " received by filter, " (l.dropped) " dropped by kernel, "
                            (l.if_dropped) " dropped by interface" }
                        @if s.damaged { br; b { "the capture is damaged: reading stopped early" } }
                        @let skipped = crate::report::audit::skipped_counts(&s.stats);
                        @if !skipped.is_empty() { br; "not in a flow: "
                            @for (i, (what, n)) in skipped.iter().enumerate() { @if i > 0 { ", " } (n) " " (what) } }
                    } }
                }
                @for e in doc.records {
                    tr { td { "records" } td {
                        (text(&e.path.display().to_string())) " (" (e.format) "): " (e.stats.records) " records"
                        @if let Some(b) = e.size { ", " (b) " bytes" }
                        @if let (Some(a), Some(b)) = (e.stats.first_ts_ns, e.stats.last_ts_ns) { ", " (iso_time(a)) " to " (iso_time(b)) }
                        @if e.stats.malformed > 0 { br; (e.stats.malformed) " malformed lines" }
                        @if let Some(h) = &e.sha256 { br; "sha256 " code { (h) } }
                        @if let Some(err) = &e.error { br; b { "reading stopped early: " (text(err)) } }
                        @for l in e.limits() { br; (l.how) ": " (l.what) " (" (text(&l.why)) ")" }
                    } }
                }
                @if doc.merge.merged > 0 {
                    tr { td { "merged" } td { (doc.merge.merged) " duplicate records (one connection seen by several inputs)" } }
                }
                tr { td { "flow table" } td { "most open at once " (doc.table.peak_open)
                    @if doc.table.evicted > 0 { ", " (count(doc.table.evicted, "flow")) " ended early (table full, --max-flows " (doc.max_flows) ")" } } }
                @if r.tunnel_endpoints > 0 {
                    tr { td { "not judged" } td { (r.tunnel_endpoints) " tunnel-endpoint flows" } }
                }
            }
            h3 { "Rules" }
            table id="rules" {
                thead { tr { th { "#" } th { "rule" } th { "from" } th { "to" } th { "proto/ports" }
                    th { "service, TLS, SNI" } th { "verdict" } th { "flows" } th { "judged on service, TLS, SNI" } th { "line" } } }
                tbody {
                    @for (i, rule) in rules.rules.iter().enumerate() {
                        tr { td { (i + 1) } td { (text(&rule.name)) } td { (text(&rules.roles[rule.from].name)) }
                            td { (text(&rules.roles[rule.to].name)) } td { (rule.proto.name()) "/" (rule.ports_text()) }
                            td { @if rule.checks_content() { (content_line(rule)) } @else { "-" } }
                            td { (rule.verdict.name()) @if rule.expect == Expect::Required { ", required" } }
                            td { (r.rule_flows.get(i).copied().unwrap_or(0)) }
                            td { @if let (true, Some(s)) = (rule.checks_content(), r.rule_stats.get(i)) { (checks_text(&s.checks, false)) } @else { "-" } }
                            td { (rule.line) } }
                    }
                }
            }
        }
    }
}
