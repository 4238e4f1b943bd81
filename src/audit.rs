//! Audit stage: judges every flow against the rules and gathers the findings.
//!
//! Each flow gets a verdict: the first matching rule's (`allowed`, `discouraged`, `denied`),
//! `reversed` when no rule matches as observed but one would with client and server swapped
//! (only when the direction was seen, not inferred), or `unexpected`. Findings are grouped by
//! (kind, rule, protocol, client, server, server port), each with its flows' count, first and
//! last time and example uids, so that every finding can be traced back to flows.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::flow::{ConnState, FlowRecord, NS, Proto};
use crate::rules::{Between, Expect, Host, Rules, Severity, Verdict};

/// A flow's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FlowVerdict {
    Allowed,
    Discouraged,
    Denied,
    Reversed,
    Unexpected,
}

impl FlowVerdict {
    pub const ALL: [FlowVerdict; 5] = [
        FlowVerdict::Allowed,
        FlowVerdict::Discouraged,
        FlowVerdict::Denied,
        FlowVerdict::Reversed,
        FlowVerdict::Unexpected,
    ];
    pub fn name(self) -> &'static str {
        match self {
            FlowVerdict::Allowed => "allowed",
            FlowVerdict::Discouraged => "discouraged",
            FlowVerdict::Denied => "denied",
            FlowVerdict::Reversed => "reversed",
            FlowVerdict::Unexpected => "unexpected",
        }
    }
}

/// What the rules say of one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// The rule that judged it (for `reversed`: the rule that would, swapped).
    pub rule: Option<usize>,
    pub verdict: FlowVerdict,
}

/// Judges one flow.
pub fn judge(rules: &Rules, r: &FlowRecord) -> Judgement {
    if let Some(i) = rules.first_match(r.proto, r.orig_h, r.resp_h, r.resp_p) {
        let verdict = match rules.rules[i].verdict {
            Verdict::Allowed => FlowVerdict::Allowed,
            Verdict::Discouraged => FlowVerdict::Discouraged,
            Verdict::Denied => FlowVerdict::Denied,
        };
        return Judgement {
            rule: Some(i),
            verdict,
        };
    }
    // Right hosts and port, wrong side started it: only meaningful when the handshake showed
    // who started it.
    if !r.direction_inferred
        && let Some(i) = rules.first_match(r.proto, r.resp_h, r.orig_h, r.resp_p)
        && rules.rules[i].verdict != Verdict::Denied
    {
        return Judgement {
            rule: Some(i),
            verdict: FlowVerdict::Reversed,
        };
    }
    Judgement {
        rule: None,
        verdict: FlowVerdict::Unexpected,
    }
}

/// Kinds of finding, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Unexpected,
    Denied,
    Reversed,
    Missing,
    Failed,
    Discouraged,
    OverLatency,
    OverBandwidth,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Unexpected,
        Kind::Denied,
        Kind::Reversed,
        Kind::Missing,
        Kind::Failed,
        Kind::Discouraged,
        Kind::OverLatency,
        Kind::OverBandwidth,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Kind::Unexpected => "unexpected",
            Kind::Denied => "denied",
            Kind::Reversed => "reversed",
            Kind::Missing => "missing",
            Kind::Failed => "failed",
            Kind::Discouraged => "discouraged",
            Kind::OverLatency => "over_latency",
            Kind::OverBandwidth => "over_bandwidth",
        }
    }
    /// The severity a finding of this kind has unless its rule says otherwise.
    pub fn default_severity(self) -> Severity {
        match self {
            Kind::Unexpected | Kind::Denied | Kind::Reversed | Kind::Missing | Kind::Failed => {
                Severity::Error
            }
            Kind::Discouraged | Kind::OverLatency | Kind::OverBandwidth => Severity::Warning,
        }
    }
}

/// Kind-specific figures of a finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    None,
    /// How the attempts failed: conn_state (TCP) or "no reply" / "icmp unreachable" (UDP),
    /// with counts.
    Failed {
        outcomes: Vec<(String, u64)>,
    },
    /// Round trips (ns) over the group's measured flows, against the budget (ms).
    Latency {
        budget_ms: f64,
        measured: u64,
        p50_ns: i64,
        p95_ns: i64,
        max_ns: i64,
    },
    /// Bandwidth of the client host on the rule, in kbit/s, against the budgets.
    Bandwidth {
        avg_kbps: f64,
        peak_kbps: f64,
        avg_budget_kbps: Option<f64>,
        peak_budget_kbps: Option<f64>,
        active_seconds: u64,
        ip_bytes: u64,
    },
    /// A required host pair with no established flow on the rule's ports.
    Missing {
        ports: String,
        failed_attempts: u64,
    },
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub rule: Option<usize>,
    pub proto: Proto,
    /// The client: an address, or for `missing` the role entry (address, network or "any").
    pub src: String,
    pub src_role: Option<String>,
    /// The server (None for over_bandwidth, which is per client host).
    pub dst: Option<String>,
    pub dst_role: Option<String>,
    /// The server port (None for missing and over_bandwidth, which cover all the rule's ports).
    pub dst_port: Option<u16>,
    /// Flows in the finding (for missing: failed attempts; for over_latency: flows over budget).
    pub flows: u64,
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    /// Up to [`MAX_UIDS`] example flows, earliest first.
    pub uids: Vec<String>,
    pub message: String,
    pub detail: Detail,
}

/// Example uids kept per finding.
pub const MAX_UIDS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    kind: Kind,
    rule: Option<usize>,
    proto: Proto,
    client: IpAddr,
    server: IpAddr,
    port: u16,
}

#[derive(Debug, Default)]
struct Group {
    flows: u64,
    first_ns: i64,
    last_ns: i64,
    uids: Vec<String>,
    outcomes: BTreeMap<String, u64>,
    /// Round trips of every measured flow (over_latency groups).
    rtts: Vec<i64>,
    /// Flows over the latency budget.
    over: u64,
    over_first_ns: i64,
    over_last_ns: i64,
    over_uids: Vec<String>,
}

fn note_flow(first: &mut i64, last: &mut i64, uids: &mut Vec<String>, n: u64, r: &FlowRecord) {
    let end = r.ts_ns.saturating_add(r.duration_ns);
    if n == 0 {
        *first = r.ts_ns;
        *last = end;
    } else {
        *first = (*first).min(r.ts_ns);
        *last = (*last).max(end);
    }
    if uids.len() < MAX_UIDS {
        uids.push(r.uid.clone());
    }
}

impl Group {
    fn add(&mut self, r: &FlowRecord) {
        note_flow(
            &mut self.first_ns,
            &mut self.last_ns,
            &mut self.uids,
            self.flows,
            r,
        );
        self.flows += 1;
    }
}

/// Per required rule and host pair: established flows, and failed attempts.
#[derive(Debug, Default)]
struct PairSeen {
    established: u64,
    failed: u64,
    first_ns: i64,
    last_ns: i64,
    uids: Vec<String>,
}

/// Traffic of one client host on one rule with bandwidth budgets.
#[derive(Debug, Default)]
struct Usage {
    flows: u64,
    first_ns: i64,
    last_ns: i64,
    uids: Vec<String>,
    ip_bytes: u64,
    /// IP bytes per 1-second bin (seconds since the epoch).
    bins: Bins,
}

/// The audit's result.
#[derive(Debug, Clone)]
pub struct AuditResult {
    pub flows: u64,
    /// Flows per verdict, in [`FlowVerdict::ALL`] order.
    pub by_verdict: [u64; 5],
    /// Flows judged by each rule, in rule order.
    pub rule_flows: Vec<u64>,
    /// Sorted: most severe first, then kind, rule, protocol and addresses.
    pub findings: Vec<Finding>,
}

impl AuditResult {
    /// Findings of each kind, in [`Kind::ALL`] order.
    pub fn by_kind(&self) -> [u64; 8] {
        let mut n = [0; 8];
        for f in &self.findings {
            n[f.kind as usize] += 1;
        }
        n
    }
    /// Whether a finding reaches `level`.
    pub fn reaches(&self, level: Severity) -> bool {
        self.findings.iter().any(|f| f.severity <= level)
    }
}

/// Gathers findings flow by flow.
pub struct Auditor<'a> {
    rules: &'a Rules,
    flows: u64,
    by_verdict: [u64; 5],
    rule_flows: Vec<u64>,
    groups: BTreeMap<GroupKey, Group>,
    pairs: BTreeMap<(usize, IpAddr, IpAddr), PairSeen>,
    usage: BTreeMap<(usize, IpAddr), Usage>,
}

/// Whether a flow got through: TCP established (handshake completed, or mid-stream traffic from
/// both sides); UDP answered, and not by an ICMP unreachable.
pub fn established(r: &FlowRecord) -> bool {
    match r.proto {
        Proto::Tcp => match r.conn_state {
            ConnState::S1
            | ConnState::SF
            | ConnState::S2
            | ConnState::S3
            | ConnState::RSTO
            | ConnState::RSTR => true,
            ConnState::OTH => r.orig_pkts > 0 && r.resp_pkts > 0,
            _ => false,
        },
        Proto::Udp => r.resp_pkts > 0 && !unreachable(r),
    }
}

/// ICMP destination unreachable (v4 type 3, v6 type 1) answered the flow.
fn unreachable(r: &FlowRecord) -> bool {
    r.icmp_errors.is_some_and(|e| {
        (e.last_type == 3 && !r.orig_h.is_ipv6()) || (e.last_type == 1 && r.orig_h.is_ipv6())
    })
}

/// How a flow that never got through failed.
fn outcome(r: &FlowRecord) -> String {
    match (r.proto, r.icmp_errors) {
        (_, Some(e)) if unreachable(r) => {
            format!("icmp unreachable {}/{}", e.last_type, e.last_code)
        }
        (Proto::Udp, _) => "no reply".to_string(),
        (Proto::Tcp, _) => r.conn_state.to_string(),
    }
}

impl<'a> Auditor<'a> {
    pub fn new(rules: &'a Rules) -> Auditor<'a> {
        Auditor {
            rules,
            flows: 0,
            by_verdict: [0; 5],
            rule_flows: vec![0; rules.rules.len()],
            groups: BTreeMap::new(),
            pairs: BTreeMap::new(),
            usage: BTreeMap::new(),
        }
    }

    fn group(&mut self, kind: Kind, rule: Option<usize>, r: &FlowRecord) -> &mut Group {
        self.groups
            .entry(GroupKey {
                kind,
                rule,
                proto: r.proto,
                client: r.orig_h,
                server: r.resp_h,
                port: r.resp_p,
            })
            .or_default()
    }

    /// Judges one flow and records what it shows.
    pub fn add(&mut self, r: &FlowRecord) -> Judgement {
        let j = judge(self.rules, r);
        self.flows += 1;
        self.by_verdict[j.verdict as usize] += 1;
        match (j.verdict, j.rule) {
            (FlowVerdict::Unexpected, _) => self.group(Kind::Unexpected, None, r).add(r),
            (FlowVerdict::Reversed, rule) => self.group(Kind::Reversed, rule, r).add(r),
            (FlowVerdict::Denied, Some(i)) => {
                self.rule_flows[i] += 1;
                self.group(Kind::Denied, Some(i), r).add(r);
            }
            (FlowVerdict::Allowed | FlowVerdict::Discouraged, Some(i)) => {
                self.rule_flows[i] += 1;
                if j.verdict == FlowVerdict::Discouraged {
                    self.group(Kind::Discouraged, Some(i), r).add(r);
                }
                self.judged(i, r);
            }
            _ => {}
        }
        j
    }

    /// An allowed or discouraged flow: did it get through, how fast, how much.
    fn judged(&mut self, i: usize, r: &FlowRecord) {
        let rule = &self.rules.rules[i];
        let ok = established(r);
        if rule.expect == Expect::Required {
            let p = self.pairs.entry((i, r.orig_h, r.resp_h)).or_default();
            if ok {
                p.established += 1;
            } else {
                note_flow(&mut p.first_ns, &mut p.last_ns, &mut p.uids, p.failed, r);
                p.failed += 1;
            }
        }
        if !ok {
            let g = self.group(Kind::Failed, Some(i), r);
            g.add(r);
            *g.outcomes.entry(outcome(r)).or_default() += 1;
            return;
        }
        if let (Some(budget), Some(rtt)) = (rule.latency_ms, r.rtt_ns) {
            let over = rtt as f64 > budget * 1e6;
            let g = self.group(Kind::OverLatency, Some(i), r);
            g.rtts.push(rtt);
            if over {
                note_flow(
                    &mut g.over_first_ns,
                    &mut g.over_last_ns,
                    &mut g.over_uids,
                    g.over,
                    r,
                );
                g.over += 1;
            }
        }
        if rule.avg_kbps.is_some() || rule.peak_kbps.is_some() {
            let u = self.usage.entry((i, r.orig_h)).or_default();
            note_flow(&mut u.first_ns, &mut u.last_ns, &mut u.uids, u.flows, r);
            u.flows += 1;
            let bytes = r.orig_ip_bytes + r.resp_ip_bytes;
            u.ip_bytes += bytes;
            u.bins.spread(r.ts_ns, r.duration_ns, bytes as f64);
        }
    }

    /// Ends the audit: builds and sorts the findings.
    pub fn finish(self) -> AuditResult {
        let rules = self.rules;
        let role = |ip: IpAddr| rules.role_of(ip).map(str::to_string);
        let mut findings = Vec::new();
        for (k, g) in &self.groups {
            let rule_name = k.rule.map(|i| rules.rules[i].name.as_str()).unwrap_or("");
            let (message, detail) = match k.kind {
                Kind::Unexpected => (
                    format!(
                        "no rule allows {} {} -> {}:{}",
                        k.proto.name(),
                        k.client,
                        k.server,
                        k.port
                    ),
                    Detail::None,
                ),
                Kind::Denied => (
                    format!("denied by rule '{rule_name}'{}", note(rules, k.rule)),
                    Detail::None,
                ),
                Kind::Reversed => (
                    format!(
                        "{} started the connection; rule '{rule_name}' allows {} -> {}:{} the other way",
                        k.client, k.server, k.client, k.port
                    ),
                    Detail::None,
                ),
                Kind::Discouraged => (
                    format!("discouraged by rule '{rule_name}'{}", note(rules, k.rule)),
                    Detail::None,
                ),
                Kind::Failed => {
                    let outcomes: Vec<(String, u64)> =
                        g.outcomes.iter().map(|(o, n)| (o.clone(), *n)).collect();
                    let how = outcomes
                        .iter()
                        .map(|(o, n)| format!("{n} {o}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    (
                        format!(
                            "{} {} never established ({how})",
                            g.flows,
                            if g.flows == 1 { "attempt" } else { "attempts" }
                        ),
                        Detail::Failed { outcomes },
                    )
                }
                Kind::OverLatency => {
                    let Some(budget_ms) = k.rule.and_then(|i| rules.rules[i].latency_ms) else {
                        continue;
                    };
                    if g.over == 0 {
                        continue;
                    }
                    let mut rtts = g.rtts.clone();
                    rtts.sort_unstable();
                    let (p50, p95, max) = (
                        percentile(&rtts, 50),
                        percentile(&rtts, 95),
                        rtts[rtts.len() - 1],
                    );
                    (
                        format!(
                            "rtt over the {} ms budget in {} of {} flows: p50 {} ms, p95 {} ms, max {} ms",
                            fmt_num(budget_ms),
                            g.over,
                            rtts.len(),
                            ms(p50),
                            ms(p95),
                            ms(max)
                        ),
                        Detail::Latency {
                            budget_ms,
                            measured: rtts.len() as u64,
                            p50_ns: p50,
                            p95_ns: p95,
                            max_ns: max,
                        },
                    )
                }
                Kind::Missing | Kind::OverBandwidth => continue,
            };
            // An over_latency finding is about the flows over the budget; the others about
            // every flow of the group.
            let (flows, first, last, uids) = if k.kind == Kind::OverLatency {
                (g.over, g.over_first_ns, g.over_last_ns, g.over_uids.clone())
            } else {
                (g.flows, g.first_ns, g.last_ns, g.uids.clone())
            };
            // Roles as the rule names them; for unexpected flows, the roles that list the hosts.
            let (src_role, dst_role) = match (k.kind, k.rule) {
                (Kind::Reversed, Some(i)) => (
                    Some(rules.roles[rules.rules[i].to].name.clone()),
                    Some(rules.roles[rules.rules[i].from].name.clone()),
                ),
                (_, Some(i)) => (
                    Some(rules.roles[rules.rules[i].from].name.clone()),
                    Some(rules.roles[rules.rules[i].to].name.clone()),
                ),
                (_, None) => (role(k.client), role(k.server)),
            };
            findings.push(Finding {
                kind: k.kind,
                severity: rules.severity(k.rule, k.kind.default_severity()),
                rule: k.rule,
                proto: k.proto,
                src: k.client.to_string(),
                src_role,
                dst: Some(k.server.to_string()),
                dst_role,
                dst_port: Some(k.port),
                flows,
                first_ns: Some(first),
                last_ns: Some(last),
                uids,
                message,
                detail,
            });
        }

        // Bandwidth: per client host and rule, from 1-second bins.
        for ((i, client), u) in &self.usage {
            let rule = &rules.rules[*i];
            let (active, peak_bytes) = u.bins.active_and_peak();
            if active == 0 {
                continue;
            }
            let avg = u.ip_bytes as f64 * 8.0 / 1000.0 / active as f64;
            let peak = peak_bytes * 8.0 / 1000.0;
            let over_avg = rule.avg_kbps.is_some_and(|b| avg > b);
            let over_peak = rule.peak_kbps.is_some_and(|b| peak > b);
            if !(over_avg || over_peak) {
                continue;
            }
            let mut parts = Vec::new();
            if let Some(b) = rule.avg_kbps {
                parts.push(format!(
                    "average {} kbit/s (budget {})",
                    fmt_num(round1(avg)),
                    fmt_num(b)
                ));
            }
            if let Some(b) = rule.peak_kbps {
                parts.push(format!(
                    "peak {} kbit/s over 1 s (budget {})",
                    fmt_num(round1(peak)),
                    fmt_num(b)
                ));
            }
            findings.push(Finding {
                kind: Kind::OverBandwidth,
                severity: rules.severity(Some(*i), Kind::OverBandwidth.default_severity()),
                rule: Some(*i),
                proto: rule.proto,
                src: client.to_string(),
                src_role: Some(rules.roles[rule.from].name.clone()),
                dst: None,
                dst_role: Some(rules.roles[rule.to].name.clone()),
                dst_port: None,
                flows: u.flows,
                first_ns: Some(u.first_ns),
                last_ns: Some(u.last_ns),
                uids: u.uids.clone(),
                message: format!(
                    "{} over {} active s on rule '{}': {}",
                    bytes_text(u.ip_bytes),
                    active,
                    rule.name,
                    parts.join(", ")
                ),
                detail: Detail::Bandwidth {
                    avg_kbps: round1(avg),
                    peak_kbps: round1(peak),
                    avg_budget_kbps: rule.avg_kbps,
                    peak_budget_kbps: rule.peak_kbps,
                    active_seconds: active,
                    ip_bytes: u.ip_bytes,
                },
            });
        }

        // Missing: every host pair a required rule covers needs an established flow.
        for (i, rule) in rules.rules.iter().enumerate() {
            if rule.expect != Expect::Required {
                continue;
            }
            for a in &rules.roles[rule.from].hosts {
                for b in &rules.roles[rule.to].hosts {
                    let same = a.single().is_some() && a.single() == b.single();
                    match rule.between {
                        Between::Peers if same => continue,
                        // Same-host pairs: one address on both ends (or "any" on both).
                        Between::SameHost if !same && (a != &Host::Any || b != &Host::Any) => {
                            continue;
                        }
                        _ => {}
                    }
                    let seen: Vec<&PairSeen> = self
                        .pairs
                        .range((i, ip_min(), ip_min())..=(i, ip_max(), ip_max()))
                        .filter(|((_, c, s), _)| a.contains(*c) && b.contains(*s))
                        .map(|(_, p)| p)
                        .collect();
                    if seen.iter().any(|p| p.established > 0) {
                        continue;
                    }
                    let failed: u64 = seen.iter().map(|p| p.failed).sum();
                    let first = seen
                        .iter()
                        .filter(|p| p.failed > 0)
                        .map(|p| p.first_ns)
                        .min();
                    let last = seen
                        .iter()
                        .filter(|p| p.failed > 0)
                        .map(|p| p.last_ns)
                        .max();
                    let mut uids: Vec<String> =
                        seen.iter().flat_map(|p| p.uids.iter().cloned()).collect();
                    uids.truncate(MAX_UIDS);
                    let (src, dst) = (a.to_string(), b.to_string());
                    let ports = rule.ports_text();
                    findings.push(Finding {
                        kind: Kind::Missing,
                        severity: rules.severity(Some(i), Kind::Missing.default_severity()),
                        rule: Some(i),
                        proto: rule.proto,
                        src_role: Some(rules.roles[rule.from].name.clone()),
                        dst_role: Some(rules.roles[rule.to].name.clone()),
                        src: src.clone(),
                        dst: Some(dst.clone()),
                        dst_port: None,
                        flows: failed,
                        first_ns: first,
                        last_ns: last,
                        uids,
                        message: format!(
                            "required rule '{}': no established {} flow from {src} to {dst} on port {ports}{}",
                            rule.name,
                            rule.proto.name(),
                            match failed {
                                0 => " (no attempt seen)".to_string(),
                                1 => " (1 failed attempt)".to_string(),
                                n => format!(" ({n} failed attempts)"),
                            }
                        ),
                        detail: Detail::Missing {
                            ports,
                            failed_attempts: failed,
                        },
                    });
                }
            }
        }

        findings.sort_by(|x, y| {
            (
                x.severity, x.kind, x.rule, x.proto, &x.src, &x.dst, x.dst_port, x.first_ns,
            )
                .cmp(&(
                    y.severity, y.kind, y.rule, y.proto, &y.src, &y.dst, y.dst_port, y.first_ns,
                ))
        });
        AuditResult {
            flows: self.flows,
            by_verdict: self.by_verdict,
            rule_flows: self.rule_flows,
            findings,
        }
    }
}

fn ip_min() -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
}

fn ip_max() -> IpAddr {
    IpAddr::V6(std::net::Ipv6Addr::from(u128::MAX))
}

fn note(rules: &Rules, rule: Option<usize>) -> String {
    match rule.and_then(|i| rules.rules[i].note.as_deref()) {
        Some(n) => format!(": {n}"),
        None => String::new(),
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: usize) -> i64 {
    let n = sorted.len();
    let rank = (p * n).div_ceil(100).max(1);
    sorted[rank.min(n) - 1]
}

/// Bytes per 1-second bin, with each flow's bytes spread evenly over its duration. Kept as
/// point amounts (partial first and last seconds, instant flows) plus a per-second rate over
/// whole seconds, so a flow costs O(1) whatever its duration: a capture with a bogus timestamp
/// years away cannot make the audit walk every second in between.
#[derive(Debug, Default)]
struct Bins {
    /// Bytes attributed to one bin.
    points: BTreeMap<i64, f64>,
    /// Changes of the per-second rate of the whole seconds, at the bin where they take effect.
    rate: BTreeMap<i64, f64>,
}

/// Amounts below this are rounding residue, not traffic (bytes).
const EPSILON: f64 = 1e-6;

impl Bins {
    /// Spreads `bytes` evenly over [ts, ts + duration).
    fn spread(&mut self, ts: i64, duration: i64, bytes: f64) {
        let first = ts.div_euclid(NS);
        let end = ts.saturating_add(duration.max(0));
        let last = (end - 1).div_euclid(NS);
        if duration <= 0 || last <= first {
            *self.points.entry(first).or_default() += bytes;
            return;
        }
        let d = duration as f64;
        let head = ((first + 1) as f64 * NS as f64 - ts as f64) / d;
        let tail = (end as f64 - last as f64 * NS as f64) / d;
        *self.points.entry(first).or_default() += bytes * head;
        *self.points.entry(last).or_default() += bytes * tail;
        if last > first + 1 {
            let per_second = bytes * NS as f64 / d;
            *self.rate.entry(first + 1).or_default() += per_second;
            *self.rate.entry(last).or_default() -= per_second;
        }
    }

    /// The number of seconds with traffic and the busiest second's bytes.
    fn active_and_peak(&self) -> (u64, f64) {
        let mut keys: Vec<i64> = self
            .points
            .keys()
            .chain(self.rate.keys())
            .copied()
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let (mut active, mut peak, mut rate) = (0u64, 0.0f64, 0.0f64);
        for (i, &k) in keys.iter().enumerate() {
            rate += self.rate.get(&k).copied().unwrap_or(0.0);
            let here = rate + self.points.get(&k).copied().unwrap_or(0.0);
            if here > EPSILON {
                active += 1;
                peak = peak.max(here);
            }
            // The seconds up to the next change carry the rate alone.
            if let Some(&next) = keys.get(i + 1)
                && next > k + 1
                && rate > EPSILON
            {
                active += (next - k - 1) as u64;
                peak = peak.max(rate);
            }
        }
        (active, peak)
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A number without a useless ".0".
pub fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Nanoseconds as milliseconds with three decimals.
pub fn ms(ns: i64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

fn bytes_text(b: u64) -> String {
    format!("{b} IP bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::flow::FlowRecord;

    fn rules(text: &str) -> Rules {
        let dir = std::env::temp_dir().join(format!("flowaudit-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // One file per call: tests run in parallel.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = dir.join(format!("r{n}.toml"));
        std::fs::write(&p, text).unwrap();
        Rules::load(&p, None).unwrap()
    }

    const HAS: &str = r#"name = "t"
[roles]
has = { hosts = ["10.0.0.1", "10.0.0.2"] }
sql = { hosts = ["10.0.0.9"] }
[[flows]]
name = "cluster"
from = "has"
to = "has"
proto = "tcp"
ports = [30100]
between = "peers"
expect = "required"
[[flows]]
name = "sql"
from = "has"
to = "sql"
proto = "tcp"
ports = [1433]
expect = "required"
"#;

    fn flow(
        client: &str,
        server: &str,
        port: u16,
        state: &str,
        inferred: bool,
    ) -> FlowRecord {
        let state = ConnState::ALL
            .into_iter()
            .find(|c| c.name() == state)
            .unwrap();
        FlowRecord {
            ts_ns: 0,
            uid: format!("C{client}{server}{port}"),
            orig_h: client.parse().unwrap(),
            orig_p: 40000,
            resp_h: server.parse().unwrap(),
            resp_p: port,
            proto: Proto::Tcp,
            duration_ns: 0,
            orig_bytes: 0,
            resp_bytes: 0,
            conn_state: state,
            history: String::new(),
            orig_pkts: 1,
            orig_ip_bytes: 60,
            resp_pkts: u64::from(state != ConnState::S0),
            resp_ip_bytes: 0,
            vlan: vec![],
            community_id: String::new(),
            direction_inferred: inferred,
            syn_synack_ns: None,
            synack_ack_ns: None,
            rtt_ns: None,
            icmp_errors: None,
            evicted: false,
        }
    }

    #[test]
    fn reversed_only_when_the_direction_was_seen() {
        let r = rules(HAS);
        let seen = judge(&r, &flow("10.0.0.9", "10.0.0.1", 1433, "SF", false));
        assert_eq!((seen.verdict, seen.rule), (FlowVerdict::Reversed, Some(1)));
        let inferred = judge(&r, &flow("10.0.0.9", "10.0.0.1", 1433, "OTH", true));
        assert_eq!(inferred.verdict, FlowVerdict::Unexpected);
    }

    #[test]
    fn missing_pairs_follow_between_and_failures() {
        let r = rules(HAS);
        let mut a = Auditor::new(&r);
        // 1 -> 2 on the cluster port works; 2 -> 1 only fails; nobody reaches SQL but node 1,
        // whose attempt is rejected.
        a.add(&flow("10.0.0.1", "10.0.0.2", 30100, "SF", false));
        a.add(&flow("10.0.0.2", "10.0.0.1", 30100, "S0", false));
        a.add(&flow("10.0.0.1", "10.0.0.9", 1433, "REJ", false));
        let res = a.finish();
        let missing: Vec<(String, Option<String>, u64)> = res
            .findings
            .iter()
            .filter(|f| f.kind == Kind::Missing)
            .map(|f| (f.src.clone(), f.dst.clone(), f.flows))
            .collect();
        assert_eq!(
            missing,
            vec![
                ("10.0.0.2".to_string(), Some("10.0.0.1".to_string()), 1),
                ("10.0.0.1".to_string(), Some("10.0.0.9".to_string()), 1),
                ("10.0.0.2".to_string(), Some("10.0.0.9".to_string()), 0),
            ]
        );
        let failed = res
            .findings
            .iter()
            .filter(|f| f.kind == Kind::Failed)
            .count();
        assert_eq!(failed, 2);
        assert!(res.reaches(Severity::Error));
    }

    #[test]
    fn established_states() {
        for (s, ok) in [
            ("SF", true),
            ("S1", true),
            ("RSTR", true),
            ("S0", false),
            ("REJ", false),
            ("RSTOS0", false),
            ("SH", false),
        ] {
            assert_eq!(
                established(&flow("10.0.0.1", "10.0.0.9", 1433, s, false)),
                ok,
                "{s}"
            );
        }
    }

    #[test]
    fn percentiles_nearest_rank() {
        let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        assert_eq!(percentile(&v, 50), 50);
        assert_eq!(percentile(&v, 95), 100);
        assert_eq!(percentile(&[7], 95), 7);
    }

    #[test]
    fn bins_spread_flows_evenly() {
        let mut b = Bins::default();
        // 1000 bytes over 2 s starting half way into second 10: 250, 500, 250.
        b.spread(10 * NS + NS / 2, 2 * NS, 1000.0);
        assert_eq!(b.active_and_peak(), (3, 500.0));
        // An instant flow in second 20 adds one busy second.
        b.spread(20 * NS, 0, 5.0);
        assert_eq!(b.active_and_peak(), (4, 500.0));
        // Overlapping second 11 raises the peak there.
        b.spread(11 * NS, NS / 2, 100.0);
        assert_eq!(b.active_and_peak(), (4, 600.0));
        // A flow spanning 10 years is O(1): 10 years of busy seconds at its rate.
        let mut y = Bins::default();
        let ten_years = 10 * 365 * 86_400;
        y.spread(0, ten_years * NS, ten_years as f64);
        let (active, peak) = y.active_and_peak();
        assert_eq!(active, ten_years as u64);
        assert!((peak - 1.0).abs() < 1e-9, "{peak}");
    }
}
