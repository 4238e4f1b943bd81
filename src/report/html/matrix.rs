//! The matrix as the HTML and SVG reports draw it: client roles × server roles (plus
//! `unknown` for hosts in no role), each cell an edge with its rules and what the flows on it
//! did.

use std::collections::BTreeMap;

use crate::audit::{AuditResult, Finding, Kind};
use crate::rules::{Expect, Rules, Severity, Verdict};

/// The role of hosts in no role of the rules.
pub const UNKNOWN: &str = "unknown";

/// One edge: flows from clients of role `from` to servers of role `to`.
#[derive(Debug, Default)]
pub struct Edge<'a> {
    /// The rules of the edge, in rule order.
    pub rules: Vec<usize>,
    /// Flows the edge's rules judged, plus the flows of findings no rule of the edge judged
    /// (unexpected, reversed).
    pub flows: u64,
    /// The edge's findings, most severe first (the report's order).
    pub findings: Vec<&'a Finding>,
    /// Attempts that did not establish, on the edge's rules.
    pub failed: u64,
    /// A required rule of the edge saw no established flow.
    pub required_unseen: bool,
    pub over_latency: bool,
    pub over_bandwidth: bool,
    /// The edge's flows carried what its rules do not allow: kinds wrong_service, weak_tls,
    /// unexpected_sni, in report order.
    pub content: Vec<Kind>,
}

impl Edge<'_> {
    /// The most severe finding's kind and severity.
    pub fn worst(&self) -> Option<(Kind, Severity)> {
        self.findings.first().map(|f| (f.kind, f.severity))
    }

    /// `error`, `warning`, `ok` (flows, no finding) or `idle` (rules, no flow).
    pub fn state(&self) -> &'static str {
        match self.worst() {
            Some((_, Severity::Error)) => "error",
            Some((_, Severity::Warning)) => "warning",
            None if self.required_unseen => "error",
            None if self.flows > 0 => "ok",
            None => "idle",
        }
    }

    /// `latency`, `bandwidth`, `latency bandwidth` or empty.
    pub fn over_budget(&self) -> String {
        let mut v = Vec::new();
        if self.over_latency {
            v.push("latency");
        }
        if self.over_bandwidth {
            v.push("bandwidth");
        }
        v.join(" ")
    }

    /// `wrong_service weak_tls unexpected_sni` (those the edge has), or empty.
    pub fn content_findings(&self) -> String {
        self.content
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Roles (the rules' order, then [`UNKNOWN`]) and the edges that have a rule or a flow.
pub struct Matrix<'a> {
    pub roles: Vec<&'a str>,
    pub edges: BTreeMap<(usize, usize), Edge<'a>>,
}

impl<'a> Matrix<'a> {
    pub fn new(rules: &'a Rules, result: &'a AuditResult) -> Matrix<'a> {
        let mut roles: Vec<&str> = rules.roles.iter().map(|r| r.name.as_str()).collect();
        let unknown = roles.len();
        roles.push(UNKNOWN);
        let index = |name: &Option<String>| {
            name.as_deref()
                .and_then(|n| rules.roles.iter().position(|r| r.name == n))
                .unwrap_or(unknown)
        };
        let mut edges: BTreeMap<(usize, usize), Edge> = BTreeMap::new();
        for (i, rule) in rules.rules.iter().enumerate() {
            let e = edges.entry((rule.from, rule.to)).or_default();
            e.rules.push(i);
            let flows = result.rule_flows.get(i).copied().unwrap_or(0);
            let failed = result.rule_stats.get(i).map_or(0, |s| s.failed);
            e.flows += flows;
            e.failed += failed;
            if rule.expect == Expect::Required && rule.verdict != Verdict::Denied && flows <= failed
            {
                e.required_unseen = true;
            }
        }
        for f in &result.findings {
            // A finding of a rule is on the rule's edge; one no rule judged (unexpected,
            // reversed) on the edge of the roles its hosts are in.
            let judged_by_rule = f.rule.is_some() && f.kind != Kind::Reversed;
            let at = match f.rule.map(|i| &rules.rules[i]) {
                Some(rule) if judged_by_rule => (rule.from, rule.to),
                _ => (index(&f.src_role), index(&f.dst_role)),
            };
            let e = edges.entry(at).or_default();
            if !judged_by_rule {
                e.flows += f.flows;
            }
            match f.kind {
                Kind::Missing => e.required_unseen = true,
                Kind::OverLatency => e.over_latency = true,
                Kind::OverBandwidth => e.over_bandwidth = true,
                Kind::WrongService | Kind::WeakTls | Kind::UnexpectedSni
                    if !e.content.contains(&f.kind) =>
                {
                    e.content.push(f.kind);
                    e.content.sort();
                }
                _ => {}
            }
            e.findings.push(f);
        }
        Matrix { roles, edges }
    }
}
