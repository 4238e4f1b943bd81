//! Per-flow finding groups, and the roll-ups that take them over when they would multiply.
//!
//! A flow of a per-flow kind (unexpected, denied, reversed, failed, wrong_service, weak_tls,
//! discouraged, unexpected_sni, over_latency)
//! goes to the group of its (kind, rule, protocol, reversal way) — its [`Class`] — and its
//! (client, server, server port). Two kinds of bucket watch the groups of one class:
//!
//! - fan-in, per (server, server port): how many distinct clients have a group there. When
//!   that reaches [`AuditOptions::rollup_clients`], the bucket's groups fold into one roll-up
//!   and every later flow to that (server, port) goes straight to it;
//! - fan-out, per client: how many distinct (server, port) targets it has a group for. When
//!   that reaches [`AuditOptions::rollup_targets`], its groups fold into one roll-up and every
//!   later flow of that client goes to it (unless a fan-in roll-up already took the target).
//!
//! The counters are the groups themselves (a bucket counts the groups it has), so a 3-million
//! source flood keeps at most `rollup_clients - 1` groups per target before folding. Folding
//! adds counts, so flows, first and last times, outcomes and round trips stay exact, and a flow
//! is in exactly one finding of its kind: its group's, or the roll-up's that took the group or
//! the flow.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::content::{ShownList, ShownRef};
use super::latency::Rtts;
use super::rollup::Spread;
use super::{AuditOptions, Kind, MAX_UIDS, Reversal, RollupBy};
use crate::flow::{FlowRecord, Proto};

/// What a per-flow finding is about, besides its hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Class {
    pub kind: Kind,
    pub rule: Option<usize>,
    pub proto: Proto,
    /// For `reversed`: which way.
    pub way: Option<Reversal>,
}

/// A uid kept as an example: inline when it is short (Zeek's and flowaudit's are 18
/// characters), so that an example costs no allocation of its own. Every finding group and
/// every (client, rule) bandwidth usage keeps up to [`MAX_UIDS`]; with a String each, the
/// examples were most of a group's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Uid {
    Inline { len: u8, bytes: [u8; 22] },
    Long(Box<str>),
}

impl Uid {
    fn new(s: &str) -> Uid {
        let mut bytes = [0u8; 22];
        match (bytes.get_mut(..s.len()), u8::try_from(s.len())) {
            (Some(b), Ok(len)) => {
                b.copy_from_slice(s.as_bytes());
                Uid::Inline { len, bytes }
            }
            _ => Uid::Long(s.into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Copied whole from a str: always UTF-8.
            Uid::Inline { len, bytes } => {
                std::str::from_utf8(bytes.get(..usize::from(*len)).unwrap_or_default())
                    .unwrap_or_default()
            }
            Uid::Long(s) => s,
        }
    }
}

/// The earliest example uids (by first packet time, then uid).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Uids(Vec<(i64, Uid)>);

impl Uids {
    pub fn add(&mut self, ts: i64, uid: &str) {
        if self.0.len() == MAX_UIDS
            && self
                .0
                .last()
                .is_some_and(|(t, u)| (*t, u.as_str()) <= (ts, uid))
        {
            return;
        }
        let at = self
            .0
            .partition_point(|(t, u)| (*t, u.as_str()) <= (ts, uid));
        if self.0.capacity() == 0 {
            self.0.reserve_exact(MAX_UIDS);
        }
        // The last one goes first, so the list never grows past its capacity.
        if self.0.len() == MAX_UIDS {
            self.0.pop();
        }
        self.0.insert(at.min(self.0.len()), (ts, Uid::new(uid)));
    }
    pub fn merge(&mut self, other: &Uids) {
        for (t, u) in &other.0 {
            self.add(*t, u.as_str());
        }
    }
    pub fn list(&self) -> Vec<String> {
        self.0.iter().map(|(_, u)| u.as_str().to_owned()).collect()
    }
}

/// Flows, first and last time, and examples: the part every finding has.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    pub flows: u64,
    pub first_ns: i64,
    pub last_ns: i64,
    pub uids: Uids,
}

impl Seen {
    pub fn note(&mut self, r: &FlowRecord) {
        let end = r.ts_ns.saturating_add(r.duration_ns);
        self.span(r.ts_ns, end);
        self.flows += 1;
        self.uids.add(r.ts_ns, &r.uid);
    }
    fn span(&mut self, first: i64, last: i64) {
        if self.flows == 0 {
            (self.first_ns, self.last_ns) = (first, last);
        } else {
            self.first_ns = self.first_ns.min(first);
            self.last_ns = self.last_ns.max(last);
        }
    }
    pub fn merge(&mut self, other: &Seen) {
        if other.flows == 0 {
            return;
        }
        self.span(other.first_ns, other.last_ns);
        self.flows += other.flows;
        self.uids.merge(&other.uids);
    }
}

/// The aggregate of one per-flow finding group (or roll-up).
#[derive(Debug, Clone, Default)]
pub struct Agg {
    /// The flows that count in the finding (for over_latency: those over budget).
    pub seen: Seen,
    /// failed: outcome -> attempts.
    pub outcomes: BTreeMap<String, u64>,
    /// over_latency: every measured flow's round trip.
    pub rtts: Rtts,
    /// reversed connection: the would-be server ports (observed client ports), as inclusive
    /// ranges, ascending and disjoint.
    pub ports: Vec<(u16, u16)>,
    /// wrong_service, weak_tls, unexpected_sni: what the flows carried.
    pub shown: ShownList,
}

impl Agg {
    /// Counts a flow in the finding; true (it counts).
    pub fn note(&mut self, r: &FlowRecord) -> bool {
        self.seen.note(r);
        true
    }
    pub fn add_outcome(&mut self, how: String) {
        *self.outcomes.entry(how).or_default() += 1;
    }
    pub fn measure(&mut self, rtt: i64) {
        self.rtts.add(rtt);
    }
    pub fn add_port(&mut self, p: u16) {
        add_range(&mut self.ports, p, p);
    }
    pub fn show(&mut self, s: ShownRef<'_>) {
        self.shown.add(s);
    }
    pub fn merge(&mut self, o: &Agg) {
        self.seen.merge(&o.seen);
        for (k, n) in &o.outcomes {
            *self.outcomes.entry(k.clone()).or_default() += n;
        }
        self.rtts.merge(&o.rtts);
        for &(a, b) in &o.ports {
            add_range(&mut self.ports, a, b);
        }
        self.shown.merge(&o.shown);
    }
}

/// Adds [a, b] to ascending disjoint ranges, joining neighbours.
pub fn add_range(ranges: &mut Vec<(u16, u16)>, a: u16, b: u16) {
    let (mut a, mut b) = (a, b);
    // Ranges that overlap or touch [a, b].
    let start = ranges.partition_point(|&(_, hi)| u32::from(hi) + 1 < u32::from(a));
    let mut end = start;
    while end < ranges.len() && u32::from(ranges[end].0) <= u32::from(b) + 1 {
        a = a.min(ranges[end].0);
        b = b.max(ranges[end].1);
        end += 1;
    }
    ranges.splice(start..end, [(a, b)]);
}

/// A roll-up: the aggregate, and who it spreads over.
#[derive(Debug, Clone)]
pub struct Rolled {
    pub by: RollupBy,
    pub agg: Agg,
    pub spread: Spread,
}

#[derive(Debug, Clone)]
enum Fan {
    /// Groups the bucket has (distinct clients for fan-in, distinct targets for fan-out).
    Counting(usize),
    Folded(Box<Rolled>),
}

fn ip_min() -> IpAddr {
    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
}

fn ip_max() -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(u128::MAX))
}

/// Every per-flow finding group and roll-up.
#[derive(Debug, Clone)]
pub struct Groups {
    rollup_clients: usize,
    rollup_targets: usize,
    exact_hosts: usize,
    /// (class, server, port, client): ordered so that a fan-in bucket is one range.
    groups: BTreeMap<(Class, IpAddr, u16, IpAddr), Agg>,
    /// (class, client, server, port): the same groups, ordered so that a fan-out bucket is one
    /// range.
    by_client: BTreeSet<(Class, IpAddr, IpAddr, u16)>,
    fan_in: BTreeMap<(Class, IpAddr, u16), Fan>,
    fan_out: BTreeMap<(Class, IpAddr), Fan>,
}

/// A finding raised by a flow: the first flow that counts in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raise {
    /// The flow's own (client, server, server port) group.
    Group,
    /// The roll-up the flow went into (or formed): of many clients to the flow's (server,
    /// server port), or of the flow's client to many targets.
    Rollup(RollupBy),
}

/// What the finding builders get: groups, then roll-ups.
pub struct Parts {
    /// ((class, client, server, port), aggregate).
    pub groups: Vec<((Class, IpAddr, IpAddr, u16), Agg)>,
    pub rolled: Vec<(Class, Rolled)>,
}

impl Groups {
    pub fn new(opts: &AuditOptions) -> Groups {
        Groups {
            rollup_clients: opts.rollup_clients.max(1),
            rollup_targets: opts.rollup_targets.max(1),
            exact_hosts: opts.exact_hosts,
            groups: BTreeMap::new(),
            by_client: BTreeSet::new(),
            fan_in: BTreeMap::new(),
            fan_out: BTreeMap::new(),
        }
    }

    /// Adds one flow of `class` from `client` to `server:port`; `f` updates the aggregate it
    /// lands in and says whether the flow counts in the finding. Returns the finding this flow
    /// raised, if its first counted flow is this one.
    pub fn add(
        &mut self,
        class: Class,
        client: IpAddr,
        server: IpAddr,
        port: u16,
        f: impl FnOnce(&mut Agg) -> bool,
    ) -> Option<Raise> {
        if let Some(Fan::Folded(r)) = self.fan_in.get_mut(&(class, server, port)) {
            return r.add(client, server, port, f);
        }
        if let Some(Fan::Folded(r)) = self.fan_out.get_mut(&(class, client)) {
            return r.add(client, server, port, f);
        }
        let key = (class, server, port, client);
        let new = !self.groups.contains_key(&key);
        let agg = self.groups.entry(key).or_default();
        let before = agg.seen.flows;
        f(agg);
        let raised = (before == 0 && agg.seen.flows > 0).then_some(Raise::Group);
        if !new {
            return raised;
        }
        self.by_client.insert((class, client, server, port));
        let clients = count_up(&mut self.fan_in, (class, server, port));
        let targets = count_up(&mut self.fan_out, (class, client));
        // A roll-up is a finding of its own: raised when it forms with flows in it (the
        // groups it takes were raised before, or are this flow's, which the roll-up raises).
        let (by, counted) = if clients >= self.rollup_clients {
            (RollupBy::Clients, self.fold_in(class, server, port))
        } else if targets >= self.rollup_targets {
            (RollupBy::Targets, self.fold_out(class, client))
        } else {
            return raised;
        };
        counted.then_some(Raise::Rollup(by))
    }

    /// Folds the groups of every client to `server:port` into one roll-up; true when it has
    /// flows that count.
    fn fold_in(&mut self, class: Class, server: IpAddr, port: u16) -> bool {
        let mut rolled = Rolled {
            by: RollupBy::Clients,
            agg: Agg::default(),
            spread: Spread::new(self.exact_hosts),
        };
        let keys: Vec<_> = self
            .groups
            .range((class, server, port, ip_min())..=(class, server, port, ip_max()))
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            let client = k.3;
            let agg = self.groups.remove(&k).expect("listed group");
            self.by_client.remove(&(class, client, server, port));
            count_down(&mut self.fan_out, (class, client));
            rolled.take(client, server, port, agg);
        }
        let counted = rolled.agg.seen.flows > 0;
        self.fan_in
            .insert((class, server, port), Fan::Folded(Box::new(rolled)));
        counted
    }

    /// Folds every group of `client` into one roll-up; true when it has flows that count.
    fn fold_out(&mut self, class: Class, client: IpAddr) -> bool {
        let mut rolled = Rolled {
            by: RollupBy::Targets,
            agg: Agg::default(),
            spread: Spread::new(self.exact_hosts),
        };
        let keys: Vec<_> = self
            .by_client
            .range((class, client, ip_min(), 0)..=(class, client, ip_max(), u16::MAX))
            .copied()
            .collect();
        for k in keys {
            let (server, port) = (k.2, k.3);
            self.by_client.remove(&k);
            let agg = self
                .groups
                .remove(&(class, server, port, client))
                .expect("indexed group");
            count_down(&mut self.fan_in, (class, server, port));
            rolled.take(client, server, port, agg);
        }
        let counted = rolled.agg.seen.flows > 0;
        self.fan_out
            .insert((class, client), Fan::Folded(Box::new(rolled)));
        counted
    }

    /// Per-client groups (ordered by class, client, server, port), then roll-ups (fan-in, then
    /// fan-out, each in key order).
    pub fn into_parts(self) -> Parts {
        let mut groups: Vec<_> = self
            .groups
            .into_iter()
            .map(|((c, s, p, cl), a)| ((c, cl, s, p), a))
            .collect();
        groups.sort_by_key(|g| g.0);
        let mut rolled = Vec::new();
        for ((class, _, _), fan) in self.fan_in {
            if let Fan::Folded(r) = fan {
                rolled.push((class, *r));
            }
        }
        for ((class, _), fan) in self.fan_out {
            if let Fan::Folded(r) = fan {
                rolled.push((class, *r));
            }
        }
        Parts { groups, rolled }
    }

    /// Per-client groups currently kept (for tests of the memory bound).
    #[cfg(test)]
    pub fn live_groups(&self) -> usize {
        debug_assert_eq!(self.groups.len(), self.by_client.len());
        self.groups.len()
    }
}

impl Rolled {
    /// A flow straight into the roll-up: raises it when it is its first counted flow.
    fn add(
        &mut self,
        client: IpAddr,
        server: IpAddr,
        port: u16,
        f: impl FnOnce(&mut Agg) -> bool,
    ) -> Option<Raise> {
        let before = self.agg.seen.flows;
        if f(&mut self.agg) {
            self.spread.add(client, server, port, 1);
        }
        (before == 0 && self.agg.seen.flows > 0).then_some(Raise::Rollup(self.by))
    }

    fn take(&mut self, client: IpAddr, server: IpAddr, port: u16, agg: Agg) {
        if agg.seen.flows > 0 {
            self.spread.add(client, server, port, agg.seen.flows);
        }
        self.agg.merge(&agg);
    }
}

fn count_up<K: Ord>(m: &mut BTreeMap<K, Fan>, k: K) -> usize {
    match m.entry(k).or_insert(Fan::Counting(0)) {
        Fan::Counting(n) => {
            *n += 1;
            *n
        }
        // A folded bucket takes every flow before a group is made.
        Fan::Folded(_) => 0,
    }
}

fn count_down<K: Ord>(m: &mut BTreeMap<K, Fan>, k: K) {
    if let Some(Fan::Counting(n)) = m.get_mut(&k) {
        *n -= 1;
        if *n == 0 {
            m.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_join() {
        let mut r = Vec::new();
        for p in [80, 22, 21, 443, 20, 445, 444, 23, 25, 24, 79] {
            add_range(&mut r, p, p);
        }
        assert_eq!(r, vec![(20, 25), (79, 80), (443, 445)]);
        add_range(&mut r, 26, 78);
        assert_eq!(r, vec![(20, 80), (443, 445)]);
        add_range(&mut r, 65535, 65535);
        add_range(&mut r, 1, 65534);
        assert_eq!(r, vec![(1, 65535)]);
    }

    #[test]
    fn uids_keep_the_earliest() {
        let mut u = Uids::default();
        for (t, s) in [
            (5, "e"),
            (1, "a"),
            (9, "x"),
            (3, "c"),
            (2, "b"),
            (4, "d"),
            (0, "z"),
        ] {
            u.add(t, s);
        }
        assert_eq!(u.list(), vec!["z", "a", "b", "c", "d"]);
        assert_eq!(u.0.capacity(), MAX_UIDS);
        // Long uids (kept on the heap), one of exactly the inline length, and text that is
        // not ASCII come back as they went in, in order.
        let mut u = Uids::default();
        let long = "C".repeat(23);
        let exact = "D".repeat(22);
        for (t, s) in [
            (3, long.as_str()),
            (1, exact.as_str()),
            (2, "é→😀"),
            (0, ""),
        ] {
            u.add(t, s);
        }
        assert_eq!(u.list(), vec!["", exact.as_str(), "é→😀", long.as_str()]);
        assert!(matches!(u.0[3].1, Uid::Long(_)));
        assert!(matches!(u.0[1].1, Uid::Inline { len: 22, .. }));
    }
}
