//! Audit stage: judges every flow against the rules and gathers the findings as flows stream in.
//!
//! Each flow gets a verdict: the first matching rule's (`allowed`, `discouraged`, `denied`),
//! `reversed` when no rule matches as observed but one would with the other end as the client
//! (only when the direction was seen, not inferred: see [`Reversal`]), or `unexpected`.
//!
//! Findings are grouped by (kind, rule, protocol, client, server, server port), each with its
//! flows' count, first and last time and example uids, so that every finding can be traced back
//! to flows. Memory does not grow with the number of flows: the auditor keeps one aggregate per
//! group, and groups that would multiply roll up (see [`AuditOptions`] and [`Rollup`]).
//!
//! The pieces, one concern each: [`judge`] (verdicts), `groups` (per-flow finding groups and
//! their roll-ups), `rollup` (what a roll-up counts), `latency` (round-trip distributions),
//! `bandwidth` (per-second bytes in a sliding window), `missing` (required host pairs),
//! [`content`] (what a flow carried against the rule's `service`, `tls_min` and `sni`) and
//! `build` (the finding builders). The English text of a finding is the report's
//! (`report::audit::message`).

mod bandwidth;
mod build;
pub mod content;
pub mod edges;
mod groups;
pub mod judge;
mod latency;
mod missing;
mod rollup;
pub mod timeline;

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::flow::{FlowRecord, Proto, SecondBytes};
use crate::rules::{Expect, Rules, Severity, Verdict};

pub use judge::{Judgement, established, judge};

use bandwidth::Usage;
use groups::{Agg, Class, Groups, Raise};
use missing::Required;

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

/// Which way a `reversed` flow is reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reversal {
    /// A rule matches with the hosts swapped on the same server port: the server started a
    /// connection to its client on the server port (SQL Server connecting to HAS on 1433).
    Hosts,
    /// A rule matches the same connection opened by the other end: hosts and ports swapped, the
    /// observed client port being the would-be server port (the admin console opening web:8000
    /// from port 40312, where a rule lets the web server call the console on 10000-65000).
    Connection,
}

impl Reversal {
    /// `"hosts"` or `"connection"`, as the JSON and `--flows-out` write it.
    pub fn name(self) -> &'static str {
        match self {
            Reversal::Hosts => "hosts",
            Reversal::Connection => "connection",
        }
    }
}

/// What the audit made of one flow: what `--flows-out` writes for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    /// The rule that judged it (for `reversed`: the rule that would, the other way).
    pub rule: Option<usize>,
    pub verdict: FlowVerdict,
    /// The finding kind the flow counts in: `unexpected`, `denied`, `reversed`, `failed`,
    /// `wrong_service`, `weak_tls`, `discouraged`, `unexpected_sni`, or `over_latency` (its
    /// rtt is over the rule's budget); None for an allowed flow that conforms. An allowed or
    /// discouraged flow may count in several (a discouraged flow that failed; a flow that
    /// carried HTTP on an edge that allows TLS 1.2 only is both `wrong_service` and
    /// `weak_tls`): `kind` is the first of them in report order ([`Kind::ALL`]), `also` the
    /// others. (Bandwidth is judged per client host and rule, not per flow.)
    pub kind: Option<Kind>,
    pub also: Kinds,
    /// For `reversed`: which way.
    pub reversed: Option<Reversal>,
}

/// Kinds of finding, in report order: the default errors, then the default warnings. A flow
/// that counts in several findings has the first of them in this order as its primary finding
/// ([`Judged::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Unexpected,
    Denied,
    Reversed,
    Missing,
    Failed,
    WrongService,
    WeakTls,
    Discouraged,
    UnexpectedSni,
    OverLatency,
    OverBandwidth,
}

/// Kinds of finding there are.
pub const KINDS: usize = 11;

impl Kind {
    pub const ALL: [Kind; KINDS] = [
        Kind::Unexpected,
        Kind::Denied,
        Kind::Reversed,
        Kind::Missing,
        Kind::Failed,
        Kind::WrongService,
        Kind::WeakTls,
        Kind::Discouraged,
        Kind::UnexpectedSni,
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
            Kind::WrongService => "wrong_service",
            Kind::WeakTls => "weak_tls",
            Kind::Discouraged => "discouraged",
            Kind::UnexpectedSni => "unexpected_sni",
            Kind::OverLatency => "over_latency",
            Kind::OverBandwidth => "over_bandwidth",
        }
    }
    /// The severity a finding of this kind has unless its rule says otherwise.
    pub fn default_severity(self) -> Severity {
        match self {
            Kind::Unexpected
            | Kind::Denied
            | Kind::Reversed
            | Kind::Missing
            | Kind::Failed
            | Kind::WrongService
            | Kind::WeakTls => Severity::Error,
            Kind::Discouraged | Kind::UnexpectedSni | Kind::OverLatency | Kind::OverBandwidth => {
                Severity::Warning
            }
        }
    }
}

/// A set of finding kinds (the findings one flow counts in), in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Kinds(u16);

impl Kinds {
    pub fn insert(&mut self, k: Kind) {
        self.0 |= 1 << k as u16;
    }
    pub fn contains(self, k: Kind) -> bool {
        self.0 & (1 << k as u16) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// The first in report order.
    pub fn first(self) -> Option<Kind> {
        self.iter().next()
    }
    /// The set without `k`.
    pub fn without(self, k: Kind) -> Kinds {
        Kinds(self.0 & !(1 << k as u16))
    }
    /// The kinds in report order.
    pub fn iter(self) -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter().filter(move |k| self.contains(*k))
    }
    /// The kinds' names in report order, comma separated (`weak_tls,over_latency`), as
    /// `--flows-out` writes them; None for no kind. Each set's text is made once per process
    /// and kept (at most one per set of kinds), so that writing it costs no allocation per
    /// flow.
    pub fn names(self) -> Option<&'static str> {
        use std::sync::OnceLock;
        static NAMES: [OnceLock<Box<str>>; 1 << KINDS] = [const { OnceLock::new() }; 1 << KINDS];
        if self.is_empty() {
            return None;
        }
        let slot = NAMES.get(usize::from(self.0))?;
        Some(slot.get_or_init(|| {
            self.iter()
                .map(Kind::name)
                .collect::<Vec<_>>()
                .join(",")
                .into_boxed_str()
        }))
    }
}

impl FromIterator<Kind> for Kinds {
    fn from_iter<I: IntoIterator<Item = Kind>>(it: I) -> Kinds {
        let mut k = Kinds::default();
        for x in it {
            k.insert(x);
        }
        k
    }
}

/// What flows showed that a rule's `service`, `tls_min` or `sni` does not allow: one entry of
/// a `wrong_service`, `weak_tls` or `unexpected_sni` finding (see [`content`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shown {
    /// wrong_service: the flow's `service` as the record has it (`http`, `ssl,http`).
    Service(String),
    /// wrong_service, weak_tls: the flow's first bytes were seen and no recogniser knew them.
    UnknownBytes,
    /// weak_tls: the TLS version the server chose, below `tls_min` (wire value).
    Version(u16),
    /// weak_tls: no TLS at all; the flow's `service` (`http`, `smtp`).
    Plaintext(String),
    /// unexpected_sni: the server name the ClientHello asked for.
    Sni(String),
    /// unexpected_sni: a ClientHello without a server name.
    NoSni,
}

/// Kind-specific figures of a finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    None,
    /// Which way the flows are reversed; for [`Reversal::Connection`], the would-be server
    /// ports (the observed client ports) as inclusive ranges.
    Reversed {
        way: Reversal,
        server_ports: Vec<(u16, u16)>,
    },
    /// How the attempts failed: conn_state (TCP) or "no reply" / "icmp unreachable" (UDP),
    /// with counts.
    Failed {
        outcomes: Vec<(String, u64)>,
    },
    /// Round trips (ns) over the group's measured flows, against the budget (ms). `exact`: the
    /// percentiles are exact nearest-rank values (up to [`EXACT_RTTS`] measured flows); above,
    /// they come from a histogram with at most 0.1 % relative error (never below the true
    /// value, never above the max). `max_ns` is always exact.
    Latency {
        budget_ms: f64,
        measured: u64,
        p50_ns: i64,
        p95_ns: i64,
        max_ns: i64,
        exact: bool,
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
    /// wrong_service, weak_tls, unexpected_sni: what the flows carried, with their counts,
    /// most flows first (at most [`content::MAX_SHOWN`]; `other` counts the flows of the
    /// rest). What the rule allows is the rule's.
    Shown {
        shown: Vec<(Shown, u64)>,
        other: u64,
    },
}

/// Round trips kept exactly per group before a histogram takes over.
pub const EXACT_RTTS: usize = latency::EXACT;

/// What a roll-up gathers instead of one finding per client or per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RollupBy {
    /// Many clients to one (server, server port): a flood, or a popular service.
    Clients,
    /// One client to many (server, server port) targets: a scan.
    Targets,
}

impl RollupBy {
    pub fn name(self) -> &'static str {
        match self {
            RollupBy::Clients => "clients",
            RollupBy::Targets => "targets",
        }
    }
}

/// A network prefix covering some of a roll-up's hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    pub net: IpNet,
    /// Distinct hosts of the roll-up inside it.
    pub hosts: u64,
    /// The finding's flows from (or to) those hosts.
    pub flows: u64,
}

/// The figures of a rolled-up finding. Counts of flows are exact; distinct hosts are exact up
/// to [`AuditOptions::exact_hosts`] per roll-up, then estimated (HyperLogLog, about 0.8 %
/// standard error) and marked so. The top lists and prefixes are exact while the hosts are;
/// once estimated, they cover the hosts recorded exactly (the first `exact_hosts`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    pub by: RollupBy,
    /// Distinct clients (1 for [`RollupBy::Targets`]).
    pub clients: u64,
    pub clients_estimated: bool,
    /// Distinct servers (1 for [`RollupBy::Clients`]).
    pub servers: u64,
    pub servers_estimated: bool,
    /// Distinct server ports (1 for [`RollupBy::Clients`]).
    pub ports: u64,
    /// The busiest clients, servers and server ports by flows, at most [`AuditOptions::top`]
    /// each, busiest first (ties by address or port).
    pub top_clients: Vec<(IpAddr, u64)>,
    pub top_servers: Vec<(IpAddr, u64)>,
    pub top_ports: Vec<(u16, u64)>,
    /// The rolled-up side's hosts (clients for [`RollupBy::Clients`], servers for
    /// [`RollupBy::Targets`]) covered by at most [`AuditOptions::top`] prefixes per address
    /// family, all of one length: the longest length at which that many suffice. Busiest first.
    pub prefixes: Vec<Prefix>,
    /// Every server port, as inclusive ranges in ascending order (`20-25,80,443-445`).
    pub port_ranges: Vec<(u16, u16)>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub rule: Option<usize>,
    pub proto: Proto,
    /// The client: an address, or for `missing` the role entry (address, network or "any");
    /// None for a roll-up of many clients.
    pub src: Option<String>,
    pub src_role: Option<String>,
    /// The server (None for over_bandwidth, which is per client host, and for a roll-up of
    /// many targets).
    pub dst: Option<String>,
    pub dst_role: Option<String>,
    /// The server port (None for missing and over_bandwidth, which cover all the rule's ports,
    /// and for a roll-up of many targets).
    pub dst_port: Option<u16>,
    /// Flows in the finding (for missing: failed attempts; for over_latency: flows over budget).
    pub flows: u64,
    pub first_ns: Option<i64>,
    pub last_ns: Option<i64>,
    /// Up to [`MAX_UIDS`] example flows: the earliest by first packet time.
    pub uids: Vec<String>,
    pub detail: Detail,
    /// Set when the finding rolls up many clients or many targets.
    pub rollup: Option<Rollup>,
}

/// A finding raised for the first time, as `--findings-out` writes it: its identity (the
/// fields that name a finding in the report), when, and by which flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Raised {
    /// Packet time at which its evidence was complete: the last packet of the flow that raised
    /// it (raised when that flow ends); for over_bandwidth over a peak budget, the end of the
    /// second that went over (raised once the clock has left it); for missing and
    /// over_bandwidth over an average budget, the end of the capture (see
    /// [`Auditor::raise_pending`]).
    pub ts_ns: i64,
    pub kind: Kind,
    pub severity: Severity,
    pub rule: Option<usize>,
    pub proto: Proto,
    /// As in [`Finding`]: a roll-up of many clients has no `src`, one of many targets no `dst`
    /// and no `dst_port`.
    pub src: Option<String>,
    pub src_role: Option<String>,
    pub dst: Option<String>,
    pub dst_role: Option<String>,
    pub dst_port: Option<u16>,
    pub rollup: Option<RollupBy>,
    /// The flow that raised it (None when no single flow did).
    pub uid: Option<String>,
}

impl Raised {
    /// A finding's identity, raised at `ts_ns` by the flow `uid`.
    pub fn of(f: &Finding, ts_ns: i64, uid: Option<String>) -> Raised {
        Raised {
            ts_ns,
            kind: f.kind,
            severity: f.severity,
            rule: f.rule,
            proto: f.proto,
            src: f.src.clone(),
            src_role: f.src_role.clone(),
            dst: f.dst.clone(),
            dst_role: f.dst_role.clone(),
            dst_port: f.dst_port,
            rollup: f.rollup.as_ref().map(|r| r.by),
            uid,
        }
    }
}

/// Example uids kept per finding.
pub const MAX_UIDS: usize = 5;

/// How the audit keeps findings readable and its memory bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditOptions {
    /// Distinct clients to one (server, server port), for one (kind, rule, protocol), from
    /// which their findings roll up into one (a flood, or a service the matrix forgot). Below,
    /// one finding per client.
    pub rollup_clients: usize,
    /// Distinct (server, server port) targets of one client, for one (kind, rule, protocol),
    /// from which its findings roll up into one (a scan).
    pub rollup_targets: usize,
    /// Length of a roll-up's top lists, and of its prefix list per address family.
    pub top: usize,
    /// Distinct clients (and servers) a roll-up counts exactly, with their flows; beyond, it
    /// estimates (HyperLogLog, 16 KiB). The exact table costs 16 bytes per IPv4 host and 32 per
    /// IPv6 host, in a hash table of up to twice as many slots: for 1,000,000 IPv4 hosts, 34 MiB,
    /// and about 55 MiB at the peak (while the table grows, or while its sorted copy gives the
    /// prefixes at the end); for 1,000,000 IPv6 hosts, about twice that.
    pub exact_hosts: usize,
    /// Seconds of per-second bytes kept per (client host, rule) before a second is final (see
    /// [`Auditor::add_second`]).
    pub bandwidth_window: usize,
    /// Leave tunnel-endpoint flows (UDP flows that carried a tunnel: records with `service`
    /// vxlan, geneve, gtpv1, teredo, ayiya or mpls-udp) out of the verdicts: they are counted
    /// in [`AuditResult::tunnel_endpoints`] instead ([`Auditor::judges`]). The flows inside the
    /// tunnels are judged either way.
    pub skip_tunnel_endpoints: bool,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            rollup_clients: 100,
            rollup_targets: 100,
            top: 10,
            exact_hosts: 4_000_000,
            bandwidth_window: 8,
            skip_tunnel_endpoints: false,
        }
    }
}

/// The audit's result.
#[derive(Debug, Clone)]
pub struct AuditResult {
    pub flows: u64,
    /// Flows per verdict, in [`FlowVerdict::ALL`] order.
    pub by_verdict: [u64; 5],
    /// Flows judged by each rule, in rule order.
    pub rule_flows: Vec<u64>,
    /// Tunnel-endpoint flows left out of the verdicts
    /// ([`AuditOptions::skip_tunnel_endpoints`]).
    pub tunnel_endpoints: u64,
    /// What the flows each rule judged showed, in rule order (see [`edges`]).
    pub rule_stats: Vec<edges::RuleStats>,
    /// Sorted: most severe first, then kind, rule, protocol and addresses.
    pub findings: Vec<Finding>,
}

impl AuditResult {
    /// Findings of each kind, in [`Kind::ALL`] order.
    pub fn by_kind(&self) -> [u64; KINDS] {
        let mut n = [0; KINDS];
        for f in &self.findings {
            n[f.kind as usize] += 1;
        }
        n
    }
    /// The content checks of every rule with `service`, `tls_min` or `sni`, added up: flows
    /// judged, and flows not judged by reason (see [`content`]).
    pub fn checks(&self) -> content::Checks {
        let mut c = content::Checks::default();
        for s in &self.rule_stats {
            c.add(&s.checks);
        }
        c
    }
    /// Whether a finding reaches `level`.
    pub fn reaches(&self, level: Severity) -> bool {
        self.findings.iter().any(|f| f.severity <= level)
    }
}

/// Gathers findings flow by flow, in memory bounded by the groups, not by the flows.
#[derive(Clone)]
pub struct Auditor<'a> {
    rules: &'a Rules,
    opts: AuditOptions,
    flows: u64,
    by_verdict: [u64; 5],
    rule_flows: Vec<u64>,
    /// Per rule: failed attempts and round trips.
    rule_acc: Vec<edges::RuleAcc>,
    tunnel_endpoints: u64,
    groups: Groups,
    required: Required,
    /// Per (rule with a bandwidth budget, client host).
    usage: BTreeMap<(usize, IpAddr), Usage>,
    /// (Rule, client) usages with a peak budget that got bytes since the last clock tick (or
    /// still hold seconds not complete then): the ones the next tick checks.
    touched: Vec<(usize, IpAddr)>,
    /// Findings raised since the last [`Auditor::take_raised`], when asked for (see
    /// [`Auditor::raising`]).
    raised: Option<Vec<Raised>>,
}

impl<'a> Auditor<'a> {
    pub fn new(rules: &'a Rules, opts: AuditOptions) -> Auditor<'a> {
        Auditor {
            rules,
            opts,
            flows: 0,
            by_verdict: [0; 5],
            rule_flows: vec![0; rules.rules.len()],
            rule_acc: vec![edges::RuleAcc::default(); rules.rules.len()],
            tunnel_endpoints: 0,
            groups: Groups::new(&opts),
            required: Required::default(),
            usage: BTreeMap::new(),
            touched: Vec::new(),
            raised: None,
        }
    }

    /// Keeps each finding the first time it is raised, for [`Auditor::take_raised`] (the caller
    /// must take them, or they pile up).
    pub fn raising(mut self) -> Self {
        self.raised = Some(Vec::new());
        self
    }

    /// The findings raised since the last call, in the order they were raised.
    pub fn take_raised(&mut self) -> impl Iterator<Item = Raised> + '_ {
        self.raised.iter_mut().flat_map(|v| v.drain(..))
    }

    /// A copy for a report of the audit so far (see [`Auditor::finish`]), raising nothing.
    pub fn snapshot(&self) -> Auditor<'a> {
        Auditor {
            raised: None,
            ..self.clone()
        }
    }

    /// Whether flow `r` is judged: false for a tunnel endpoint's flow when
    /// [`AuditOptions::skip_tunnel_endpoints`] is on (see [`Auditor::skip`]).
    pub fn judges(&self, r: &FlowRecord) -> bool {
        !(self.opts.skip_tunnel_endpoints && r.carries_tunnel())
    }

    /// Counts a flow left out of the verdicts ([`Auditor::judges`] said no).
    pub fn skip(&mut self) {
        self.tunnel_endpoints += 1;
    }

    /// Judges one ended flow and records what it shows. Nothing of the flow is kept but its
    /// share of the aggregates (and its uid, if among a finding's earliest examples).
    pub fn add(&mut self, r: &FlowRecord) -> Judged {
        let j = judge(self.rules, r);
        self.flows += 1;
        self.by_verdict[j.verdict as usize] += 1;
        let mut kinds = Kinds::default();
        match (j.verdict, j.rule) {
            (FlowVerdict::Unexpected, _) => {
                self.per_flow(Kind::Unexpected, None, None, r, |a| a.note(r));
                kinds.insert(Kind::Unexpected);
            }
            (FlowVerdict::Reversed, rule) => {
                let way = j.reversed.unwrap_or(Reversal::Hosts);
                self.per_flow(Kind::Reversed, rule, Some(way), r, |a| {
                    if way == Reversal::Connection {
                        a.add_port(r.orig_p);
                    }
                    a.note(r)
                });
                kinds.insert(Kind::Reversed);
            }
            (FlowVerdict::Denied, Some(i)) => {
                self.rule_flows[i] += 1;
                self.per_flow(Kind::Denied, Some(i), None, r, |a| a.note(r));
                kinds.insert(Kind::Denied);
            }
            (FlowVerdict::Allowed | FlowVerdict::Discouraged, Some(i)) => {
                self.rule_flows[i] += 1;
                if j.verdict == FlowVerdict::Discouraged {
                    self.per_flow(Kind::Discouraged, Some(i), None, r, |a| a.note(r));
                    kinds.insert(Kind::Discouraged);
                }
                self.content(i, r, &mut kinds);
                self.judged(i, r, &mut kinds);
            }
            _ => {}
        }
        let kind = kinds.first();
        Judged {
            rule: j.rule,
            verdict: j.verdict,
            kind,
            also: kind.map_or(kinds, |k| kinds.without(k)),
            reversed: j.reversed,
        }
    }

    /// One second of one flow's traffic: `b.ip_bytes` go to the (client host, rule) the flow
    /// would be judged by as `b.orig_h` -> `b.resp_h:b.resp_p`, when that rule allows or
    /// discourages it and has a bandwidth budget.
    ///
    /// Seconds may arrive a little out of order. Each (client host, rule) keeps the last
    /// [`AuditOptions::bandwidth_window`] seconds (counted back from the newest second it has
    /// seen) open; older seconds are final: counted as active (when they carried bytes) and for
    /// the peak. A second that arrives after it left the window is added to the oldest second
    /// the window still holds, so no byte is lost and no final second changes.
    pub fn add_second(&mut self, b: &SecondBytes) {
        let window = self.opts.bandwidth_window.max(1);
        self.add_usage(b.proto, b.orig_h, b.resp_h, b.resp_p, |u| {
            u.add_bytes(b.sec, b.ip_bytes, window)
        });
    }

    /// A flow record's bytes spread over the seconds of its duration (see
    /// [`crate::flow::Spread`]), judged once. The (client host, rule) keeps the record whole
    /// while its seconds are open; its seconds that are already final when it arrives (the
    /// start of a record longer than the window) are final seconds of their own (see
    /// [`bandwidth`]).
    pub fn add_spread(&mut self, r: &FlowRecord) {
        let window = self.opts.bandwidth_window.max(1);
        let spread = crate::flow::Spread::of(r);
        self.add_usage(r.proto, r.orig_h, r.resp_h, r.resp_p, |u| {
            u.add_spread(spread, window)
        });
    }

    /// Gives `add` the (rule, client) usage of a flow whose rule has a bandwidth budget, then
    /// marks it for the next clock tick.
    fn add_usage(
        &mut self,
        proto: crate::flow::Proto,
        client: IpAddr,
        server: IpAddr,
        port: u16,
        add: impl FnOnce(&mut Usage),
    ) {
        let Some(i) = self.rules.first_match(proto, client, server, port) else {
            return;
        };
        let rule = &self.rules.rules[i];
        if rule.verdict == Verdict::Denied || (rule.avg_kbps.is_none() && rule.peak_kbps.is_none())
        {
            return;
        }
        let peak = rule.peak_kbps.is_some();
        let u = self.usage.entry((i, client)).or_default();
        add(u);
        if self.raised.is_some() && peak && !u.raised && !u.touched {
            u.touched = true;
            self.touched.push((i, client));
        }
        if self.raised.is_some() {
            self.raise_peak(i, client, i64::MIN);
        }
    }

    /// The clock entered the second of `now_ns`: every second before it is complete, so a
    /// peak budget exceeded in one is raised now (only when raising; the figures of the report
    /// do not change).
    pub fn clock(&mut self, now_ns: i64) {
        if self.raised.is_none() {
            return;
        }
        let now = now_ns.div_euclid(crate::flow::NS);
        // Only usages that got bytes since the last tick can have a newly complete second.
        let due = std::mem::take(&mut self.touched);
        for (i, client) in due {
            self.raise_peak(i, client, now);
            if let Some(u) = self.usage.get_mut(&(i, client)) {
                // Seconds not complete yet are checked again at a later tick.
                if !u.raised && u.newest_second().is_some_and(|s| s >= now) {
                    self.touched.push((i, client));
                } else {
                    u.touched = false;
                }
            }
        }
    }

    /// Raises the over_bandwidth finding of (rule `i`, `client`) if a complete second (final,
    /// or before the second `now`) is over the rule's peak budget, at the end of that second.
    fn raise_peak(&mut self, i: usize, client: IpAddr, now: i64) {
        let (Some(raised), Some(budget)) = (&mut self.raised, self.rules.rules[i].peak_kbps) else {
            return;
        };
        let Some(u) = self.usage.get_mut(&(i, client)) else {
            return;
        };
        if u.raised {
            return;
        }
        let Some(sec) = u.peak_over(budget, now) else {
            return;
        };
        u.raised = true;
        if let Some(f) = build::bandwidth_findings_of(self.rules, i, client, u) {
            let end = sec.saturating_add(1).saturating_mul(crate::flow::NS);
            raised.push(Raised::of(&f, end, None));
        }
    }

    /// Raises what only the end of the capture shows: missing flows, and bandwidth over an
    /// average budget (or over a peak budget in seconds still open), at `end_ns`.
    pub fn raise_pending(&mut self, end_ns: i64) {
        let Some(raised) = &mut self.raised else {
            return;
        };
        for (&(i, client), u) in &mut self.usage {
            if u.raised {
                continue;
            }
            if let Some(f) = build::bandwidth_findings_of(self.rules, i, client, u) {
                u.raised = true;
                raised.push(Raised::of(&f, end_ns, None));
            }
        }
        for f in build::missing_findings(self.rules, &self.required) {
            raised.push(Raised::of(&f, end_ns, None));
        }
    }

    /// Adds a flow to its per-flow finding group (or the roll-up that took it over). `f`
    /// updates the aggregate and says whether the flow counts in the finding.
    fn per_flow(
        &mut self,
        kind: Kind,
        rule: Option<usize>,
        way: Option<Reversal>,
        r: &FlowRecord,
        f: impl FnOnce(&mut Agg) -> bool,
    ) {
        let class = Class {
            kind,
            rule,
            proto: r.proto,
            way,
        };
        let raise = self.groups.add(class, r.orig_h, r.resp_h, r.resp_p, f);
        if let (Some(raise), Some(raised)) = (raise, &mut self.raised) {
            let (src, dst, port) = match raise {
                Raise::Group => (Some(r.orig_h), Some(r.resp_h), Some(r.resp_p)),
                Raise::Rollup(RollupBy::Clients) => (None, Some(r.resp_h), Some(r.resp_p)),
                Raise::Rollup(RollupBy::Targets) => (Some(r.orig_h), None, None),
            };
            let (src_role, dst_role) = build::roles(self.rules, class, src, dst);
            raised.push(Raised {
                ts_ns: r.ts_ns.saturating_add(r.duration_ns),
                kind,
                severity: self.rules.severity(rule, kind.default_severity()),
                rule,
                proto: r.proto,
                src: src.map(|a| a.to_string()),
                src_role,
                dst: dst.map(|a| a.to_string()),
                dst_role,
                dst_port: port,
                rollup: match raise {
                    Raise::Group => None,
                    Raise::Rollup(by) => Some(by),
                },
                uid: Some(r.uid.to_string()),
            });
        }
    }

    /// An allowed or discouraged flow: did it get through, how fast, how much. Adds the
    /// finding kind it counts in, if any, to `kinds`.
    fn judged(&mut self, i: usize, r: &FlowRecord, kinds: &mut Kinds) {
        let rule = &self.rules.rules[i];
        let ok = established(r);
        if rule.expect == Expect::Required {
            self.required.add(self.rules, i, r, ok);
        }
        if rule.avg_kbps.is_some() || rule.peak_kbps.is_some() {
            self.usage.entry((i, r.orig_h)).or_default().note(r);
        }
        if !ok {
            self.rule_acc[i].failed();
            let how = judge::outcome(r);
            self.per_flow(Kind::Failed, Some(i), None, r, |a| {
                a.add_outcome(how);
                a.note(r)
            });
            kinds.insert(Kind::Failed);
            return;
        }
        if let Some(rtt) = r.rtt_ns {
            self.rule_acc[i].rtt(rtt);
        }
        let (Some(budget), Some(rtt)) = (rule.latency_ms, r.rtt_ns) else {
            return;
        };
        let over = rtt as f64 > budget * 1e6;
        self.per_flow(Kind::OverLatency, Some(i), None, r, |a| {
            a.measure(rtt);
            over && a.note(r)
        });
        if over {
            kinds.insert(Kind::OverLatency);
        }
    }

    /// An allowed or discouraged flow against its rule's `service`, `tls_min` and `sni` (only
    /// when the rule has one): adds the findings it counts in to `kinds`, or counts it as
    /// undecided (see [`content`]).
    fn content(&mut self, i: usize, r: &FlowRecord, kinds: &mut Kinds) {
        let rule = &self.rules.rules[i];
        if !rule.checks_content() {
            return;
        }
        let c = content::check(rule, r, self.rule_acc[i].checks());
        for (kind, shown) in [
            (Kind::WrongService, c.service),
            (Kind::WeakTls, c.tls),
            (Kind::UnexpectedSni, c.sni),
        ] {
            if let Some(shown) = shown {
                self.per_flow(kind, Some(i), None, r, |a| {
                    a.show(shown);
                    a.note(r)
                });
                kinds.insert(kind);
            }
        }
    }

    /// Ends the audit: builds and sorts the findings.
    pub fn finish(self) -> AuditResult {
        let rules = self.rules;
        let rule_stats = build::rule_stats(&self.rule_acc, &self.usage);
        let mut findings = build::group_findings(rules, &self.opts, self.groups);
        findings.extend(build::bandwidth_findings(rules, self.usage));
        findings.extend(build::missing_findings(rules, &self.required));
        fn key(f: &Finding) -> FindingOrder<'_> {
            (
                f.severity,
                f.kind,
                f.rule,
                f.proto,
                host_order(&f.src),
                host_order(&f.dst),
                f.dst_port,
                f.first_ns,
            )
        }
        findings.sort_by(|x, y| key(x).cmp(&key(y)));
        AuditResult {
            flows: self.flows,
            by_verdict: self.by_verdict,
            rule_flows: self.rule_flows,
            tunnel_endpoints: self.tunnel_endpoints,
            rule_stats,
            findings,
        }
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: usize) -> i64 {
    let n = sorted.len();
    let rank = (p * n).div_ceil(100).max(1);
    sorted[rank.min(n) - 1]
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

/// A count with thousands separators: `1,204`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub use crate::rules::ranges_text;

type HostOrder<'a> = (u8, Option<(IpAddr, u8)>, &'a str);

/// Report order of findings: most severe first, then kind, rule, protocol, client, server,
/// server port and first time.
type FindingOrder<'a> = (
    Severity,
    Kind,
    Option<usize>,
    Proto,
    HostOrder<'a>,
    HostOrder<'a>,
    Option<u16>,
    Option<i64>,
);

/// How findings order a host (an address, a role entry: a network or `any`, or none for a
/// roll-up): by address numerically (10.0.0.9 before 10.0.0.10), IPv4 before IPv6, a network
/// by its address then its length, then anything else as text.
fn host_order(h: &Option<String>) -> HostOrder<'_> {
    let Some(t) = h else {
        return (0, None, "");
    };
    let (addr, len) = match t.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok()),
        None => (t.as_str(), Some(128)),
    };
    match (addr.parse::<IpAddr>(), len) {
        (Ok(ip), Some(len)) => (1, Some((ip, len)), t),
        _ => (2, None, t),
    }
}

#[cfg(test)]
mod tests;
