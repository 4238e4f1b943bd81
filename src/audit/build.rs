//! The finding builders, one per kind family: per-flow groups and their roll-ups (unexpected,
//! denied, reversed, failed, wrong_service, weak_tls, discouraged, unexpected_sni,
//! over_latency), bandwidth, and missing. They build
//! typed findings; the English text is the report's.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::bandwidth::Usage;
use super::groups::{Agg, Class, Rolled};
use super::missing::Required;
use super::{AuditOptions, Detail, Finding, Kind, Reversal, RollupBy};
use crate::rules::{Between, Expect, Host, Rules};

/// Findings of the per-flow kinds: one per group, one per roll-up.
pub fn group_findings(rules: &Rules, opts: &AuditOptions, groups: super::Groups) -> Vec<Finding> {
    let parts = groups.into_parts();
    let mut out = Vec::new();
    for ((class, client, server, port), agg) in parts.groups {
        let Some(detail) = detail(rules, class, &agg) else {
            continue;
        };
        let (src_role, dst_role) = roles(rules, class, Some(client), Some(server));
        out.push(finding(
            rules,
            class,
            &agg,
            (Some(client), src_role),
            (Some(server), dst_role, Some(port)),
            detail,
            None,
        ));
    }
    for (class, rolled) in parts.rolled {
        let Rolled { by, agg, spread } = rolled;
        let Some(detail) = detail(rules, class, &agg) else {
            continue;
        };
        let rollup = spread.rollup(by, opts.top);
        // The side that is one host keeps its address (and the port, for many clients); a
        // scan of one server's ports keeps the server.
        let one_server = (rollup.servers == 1 && !rollup.servers_estimated)
            .then(|| rollup.top_servers.first().map(|s| s.0))
            .flatten();
        let (client, server, port) = match by {
            RollupBy::Clients => (None, one_server, rollup.top_ports.first().map(|p| p.0)),
            RollupBy::Targets => (rollup.top_clients.first().map(|c| c.0), one_server, None),
        };
        let (src_role, dst_role) = roles(rules, class, client, server);
        out.push(finding(
            rules,
            class,
            &agg,
            (client, src_role),
            (server, dst_role, port),
            detail,
            Some(rollup),
        ));
    }
    out
}

/// Roles as the rule names them (swapped for reversed flows); for unexpected flows, the roles
/// that list the hosts.
pub fn roles(
    rules: &Rules,
    class: Class,
    client: Option<IpAddr>,
    server: Option<IpAddr>,
) -> (Option<String>, Option<String>) {
    let name = |i: usize| Some(rules.roles[i].name.clone());
    match (class.kind, class.rule) {
        (Kind::Reversed, Some(i)) => (name(rules.rules[i].to), name(rules.rules[i].from)),
        (_, Some(i)) => (name(rules.rules[i].from), name(rules.rules[i].to)),
        (_, None) => {
            let role = |ip: Option<IpAddr>| ip.and_then(|ip| rules.role_of(ip).map(str::to_string));
            (role(client), role(server))
        }
    }
}

fn finding(
    rules: &Rules,
    class: Class,
    agg: &Agg,
    (client, src_role): (Option<IpAddr>, Option<String>),
    (server, dst_role, port): (Option<IpAddr>, Option<String>, Option<u16>),
    detail: Detail,
    rollup: Option<super::Rollup>,
) -> Finding {
    Finding {
        kind: class.kind,
        severity: rules.severity(class.rule, class.kind.default_severity()),
        rule: class.rule,
        proto: class.proto,
        src: client.map(|c| c.to_string()),
        src_role,
        dst: server.map(|s| s.to_string()),
        dst_role,
        dst_port: port,
        flows: agg.seen.flows,
        first_ns: Some(agg.seen.first_ns),
        last_ns: Some(agg.seen.last_ns),
        uids: agg.seen.uids.list(),
        detail,
        rollup,
    }
}

/// The kind's figures; None when the group makes no finding (an over_latency group with no
/// flow over budget).
fn detail(rules: &Rules, class: Class, agg: &Agg) -> Option<Detail> {
    if agg.seen.flows == 0 {
        return None;
    }
    Some(match class.kind {
        Kind::Unexpected | Kind::Denied | Kind::Discouraged => Detail::None,
        Kind::Reversed => reversed_detail(class, agg),
        Kind::Failed => failed_detail(agg),
        Kind::OverLatency => latency_detail(rules, class, agg)?,
        Kind::WrongService | Kind::WeakTls | Kind::UnexpectedSni => Detail::Shown {
            shown: agg.shown.sorted(),
            other: agg.shown.other,
        },
        Kind::Missing | Kind::OverBandwidth => return None,
    })
}

fn reversed_detail(class: Class, agg: &Agg) -> Detail {
    let way = class.way.unwrap_or(Reversal::Hosts);
    Detail::Reversed {
        way,
        server_ports: if way == Reversal::Connection {
            agg.ports.clone()
        } else {
            Vec::new()
        },
    }
}

fn failed_detail(agg: &Agg) -> Detail {
    Detail::Failed {
        outcomes: agg.outcomes.iter().map(|(o, n)| (o.clone(), *n)).collect(),
    }
}

fn latency_detail(rules: &Rules, class: Class, agg: &Agg) -> Option<Detail> {
    let budget_ms = class.rule.and_then(|i| rules.rules[i].latency_ms)?;
    let r = &agg.rtts;
    Some(Detail::Latency {
        budget_ms,
        measured: r.len(),
        p50_ns: r.percentile(50),
        p95_ns: r.percentile(95),
        max_ns: r.max(),
        exact: r.exact(),
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Each rule's figures (see [`super::edges`]), with its busiest client hosts.
pub fn rule_stats(
    acc: &[super::edges::RuleAcc],
    usage: &BTreeMap<(usize, IpAddr), Usage>,
) -> Vec<super::edges::RuleStats> {
    use super::edges::{HostPeaks, TOP_HOSTS};
    let kbps = |bytes: u64| round1(bytes as f64 * 8.0 / 1000.0);
    let mut stats: Vec<_> = acc.iter().map(|a| a.finish()).collect();
    // Per rule, the busiest clients: (peak bytes, client), busiest first, ties by address.
    let mut top: Vec<Vec<(u64, IpAddr)>> = vec![Vec::new(); stats.len()];
    for (&(i, client), u) in usage {
        let (active, peak_bytes) = u.active_and_peak();
        let Some(t) = top.get_mut(i).filter(|_| active > 0) else {
            continue;
        };
        // Clients come in address order: of equal peaks, the first stays ahead.
        let at = t.partition_point(|&(b, _)| b >= peak_bytes);
        if at < TOP_HOSTS {
            t.insert(at, (peak_bytes, client));
            t.truncate(TOP_HOSTS);
        }
    }
    for (s, (i, t)) in stats.iter_mut().zip(top.into_iter().enumerate()) {
        s.top_hosts = t
            .into_iter()
            .filter_map(|(peak_bytes, client)| {
                let u = usage.get(&(i, client))?;
                Some(HostPeaks {
                    client,
                    peak_kbps: kbps(peak_bytes),
                    timeline: u
                        .timeline()
                        .buckets()
                        .map(|(from, width, bytes)| (from, width, kbps(bytes)))
                        .collect(),
                })
            })
            .collect();
    }
    stats
}

/// over_bandwidth: per client host and rule, from its final 1-second bins.
pub fn bandwidth_findings(rules: &Rules, usage: BTreeMap<(usize, IpAddr), Usage>) -> Vec<Finding> {
    usage
        .iter()
        .filter_map(|(&(i, client), u)| bandwidth_findings_of(rules, i, client, u))
        .collect()
}

/// The over_bandwidth finding of one client host on rule `i`, if its seconds so far (as if
/// they were all final) are over a budget.
pub fn bandwidth_findings_of(
    rules: &Rules,
    i: usize,
    client: IpAddr,
    u: &Usage,
) -> Option<Finding> {
    let rule = &rules.rules[i];
    let (active, peak_bytes) = u.active_and_peak();
    if active == 0 {
        return None;
    }
    let avg = u.ip_bytes as f64 * 8.0 / 1000.0 / active as f64;
    let peak = peak_bytes as f64 * 8.0 / 1000.0;
    let over_avg = rule.avg_kbps.is_some_and(|b| avg > b);
    let over_peak = rule.peak_kbps.is_some_and(|b| peak > b);
    if !(over_avg || over_peak) {
        return None;
    }
    let seen = u.seen.flows > 0;
    Some(Finding {
        kind: Kind::OverBandwidth,
        severity: rules.severity(Some(i), Kind::OverBandwidth.default_severity()),
        rule: Some(i),
        proto: rule.proto,
        src: Some(client.to_string()),
        src_role: Some(rules.roles[rule.from].name.clone()),
        dst: None,
        dst_role: Some(rules.roles[rule.to].name.clone()),
        dst_port: None,
        flows: u.seen.flows,
        first_ns: seen.then_some(u.seen.first_ns),
        last_ns: seen.then_some(u.seen.last_ns),
        uids: u.seen.uids.list(),
        detail: Detail::Bandwidth {
            avg_kbps: round1(avg),
            peak_kbps: round1(peak),
            avg_budget_kbps: rule.avg_kbps,
            peak_budget_kbps: rule.peak_kbps,
            active_seconds: active,
            ip_bytes: u.ip_bytes,
        },
        rollup: None,
    })
}

/// missing: every host pair a required rule covers needs an established flow.
pub fn missing_findings(rules: &Rules, required: &Required) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, rule) in rules.rules.iter().enumerate() {
        if rule.expect != Expect::Required {
            continue;
        }
        let from = &rules.roles[rule.from].hosts;
        let to = &rules.roles[rule.to].hosts;
        for (ai, a) in from.iter().enumerate() {
            for (bi, b) in to.iter().enumerate() {
                let same = a.single().is_some() && a.single() == b.single();
                match rule.between {
                    Between::Peers if same => continue,
                    // Same-host pairs: one address on both ends (or "any" on both).
                    Between::SameHost if !same && (a != &Host::Any || b != &Host::Any) => {
                        continue;
                    }
                    _ => {}
                }
                let seen = required.pairs.get(&(i, ai, bi));
                if seen.is_some_and(|p| p.established > 0) {
                    continue;
                }
                let failed = seen.map(|p| &p.failed);
                let n = failed.map_or(0, |f| f.flows);
                let ports = rule.ports_text();
                out.push(Finding {
                    kind: Kind::Missing,
                    severity: rules.severity(Some(i), Kind::Missing.default_severity()),
                    rule: Some(i),
                    proto: rule.proto,
                    src_role: Some(rules.roles[rule.from].name.clone()),
                    dst_role: Some(rules.roles[rule.to].name.clone()),
                    src: Some(a.to_string()),
                    dst: Some(b.to_string()),
                    dst_port: None,
                    flows: n,
                    first_ns: failed.filter(|_| n > 0).map(|f| f.first_ns),
                    last_ns: failed.filter(|_| n > 0).map(|f| f.last_ns),
                    uids: failed.map_or(Vec::new(), |f| f.uids.list()),
                    detail: Detail::Missing {
                        ports,
                        failed_attempts: n,
                    },
                    rollup: None,
                });
            }
        }
    }
    out
}
