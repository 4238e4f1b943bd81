//! What a roll-up counts: distinct clients, servers and ports with their flows, top lists,
//! covering prefixes and port ranges.
//!
//! Hosts are counted exactly, with their flows, up to `exact_hosts` distinct hosts per roll-up
//! (IPv4 addresses as `u32`, IPv6 as `u128`: 16 and 32 bytes per host, in a hash table of up to
//! twice as many slots; see [`super::AuditOptions::exact_hosts`]). Beyond, hosts not yet known go to a HyperLogLog sketch (2^14 one-byte registers,
//! 16 KiB, about 0.8 % standard error) that also holds every exactly-counted host, and the
//! count is marked estimated. Ports are at most 65,536, always exact.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::groups::add_range;
use super::{Prefix, Rollup, RollupBy};

/// HyperLogLog precision: 2^P registers.
const P: u32 = 14;

#[derive(Debug, Clone)]
struct Hll(Vec<u8>);

/// A 64-bit mix of an address (SplitMix64's finalizer over both halves): deterministic.
fn hash(x: u128) -> u64 {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    mix(mix(x as u64 ^ 0x9e37_79b9_7f4a_7c15) ^ (x >> 64) as u64)
}

impl Hll {
    fn new() -> Hll {
        Hll(vec![0; 1 << P])
    }
    fn add(&mut self, x: u128) {
        let h = hash(x);
        let i = (h >> (64 - P)) as usize;
        let rest = h << P;
        let rank = (rest.leading_zeros() + 1).min(64 - P + 1) as u8;
        self.0[i] = self.0[i].max(rank);
    }
    fn estimate(&self) -> u64 {
        let m = self.0.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.0.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
        let raw = alpha * m * m / sum;
        let zeros = self.0.iter().filter(|&&r| r == 0).count();
        if raw <= 2.5 * m && zeros > 0 {
            (m * (m / zeros as f64).ln()).round() as u64
        } else {
            raw.round() as u64
        }
    }
}

/// Distinct hosts with their flows.
#[derive(Debug, Clone)]
pub struct Hosts {
    cap: usize,
    v4: HashMap<u32, u64>,
    v6: HashMap<u128, u64>,
    /// Set once more than `cap` distinct hosts came.
    hll: Option<Box<Hll>>,
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a) ^ (1 << 127) ^ 1,
    }
}

impl Hosts {
    fn new(cap: usize) -> Hosts {
        Hosts {
            cap,
            v4: HashMap::new(),
            v6: HashMap::new(),
            hll: None,
        }
    }
    fn exact_len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
    fn add(&mut self, ip: IpAddr, flows: u64) {
        let known = match ip {
            IpAddr::V4(a) => self.v4.get_mut(&u32::from(a)),
            IpAddr::V6(a) => self.v6.get_mut(&u128::from(a)),
        };
        if let Some(n) = known {
            *n += flows;
            return;
        }
        if self.hll.is_none() && self.exact_len() < self.cap {
            match ip {
                IpAddr::V4(a) => self.v4.insert(u32::from(a), flows),
                IpAddr::V6(a) => self.v6.insert(u128::from(a), flows),
            };
            return;
        }
        let hll = self.hll.get_or_insert_with(|| {
            let mut h = Hll::new();
            for &a in self.v4.keys() {
                h.add(bits(IpAddr::V4(Ipv4Addr::from(a))));
            }
            for &a in self.v6.keys() {
                h.add(bits(IpAddr::V6(Ipv6Addr::from(a))));
            }
            Box::new(h)
        });
        hll.add(bits(ip));
    }
    /// (distinct hosts, estimated).
    fn count(&self) -> (u64, bool) {
        match &self.hll {
            None => (self.exact_len() as u64, false),
            Some(h) => (h.estimate().max(self.exact_len() as u64), true),
        }
    }
    /// The `top` busiest exactly counted hosts: most flows first, ties by address. Without
    /// copying the table: a bounded heap.
    fn busiest(&self, top: usize) -> Vec<(IpAddr, u64)> {
        let all = self
            .v4
            .iter()
            .map(|(&a, &n)| (IpAddr::V4(Ipv4Addr::from(a)), n))
            .chain(
                self.v6
                    .iter()
                    .map(|(&a, &n)| (IpAddr::V6(Ipv6Addr::from(a)), n)),
            );
        busiest(all, top)
    }

    /// The exactly counted hosts under at most `max` prefixes per address family (see
    /// [`covering`]). Costs one sorted copy of a family's table at a time.
    fn prefixes(&self, max: usize) -> Vec<Prefix> {
        let mut out = Vec::new();
        let mut v4: Vec<(u32, u64)> = self.v4.iter().map(|(&a, &n)| (a, n)).collect();
        v4.sort_unstable();
        out.extend(covering(&v4, 32, max));
        drop(v4);
        let mut v6: Vec<(u128, u64)> = self.v6.iter().map(|(&a, &n)| (a, n)).collect();
        v6.sort_unstable();
        out.extend(covering(&v6, 128, max));
        out.sort_by(|a, b| b.flows.cmp(&a.flows).then(a.net.cmp(&b.net)));
        out
    }
}

/// Who a roll-up's counted flows come from and go to.
#[derive(Debug, Clone)]
pub struct Spread {
    clients: Hosts,
    servers: Hosts,
    ports: HashMap<u16, u64>,
}

impl Spread {
    pub fn new(exact_hosts: usize) -> Spread {
        Spread {
            clients: Hosts::new(exact_hosts),
            servers: Hosts::new(exact_hosts),
            ports: HashMap::new(),
        }
    }

    /// `flows` counted flows from `client` to `server:port`.
    pub fn add(&mut self, client: IpAddr, server: IpAddr, port: u16, flows: u64) {
        self.clients.add(client, flows);
        self.servers.add(server, flows);
        *self.ports.entry(port).or_default() += flows;
    }

    /// The figures of the roll-up, with `top` entries per list.
    pub fn rollup(&self, by: RollupBy, top: usize) -> Rollup {
        let (clients, clients_estimated) = self.clients.count();
        let (servers, servers_estimated) = self.servers.count();
        let mut ports: Vec<u16> = self.ports.keys().copied().collect();
        ports.sort_unstable();
        let mut port_ranges = Vec::new();
        for &p in &ports {
            add_range(&mut port_ranges, p, p);
        }
        let prefixes = match by {
            RollupBy::Clients => self.clients.prefixes(top),
            RollupBy::Targets => self.servers.prefixes(top),
        };
        Rollup {
            by,
            clients,
            clients_estimated,
            servers,
            servers_estimated,
            ports: ports.len() as u64,
            top_clients: self.clients.busiest(top),
            top_servers: self.servers.busiest(top),
            top_ports: busiest(self.ports.iter().map(|(&p, &n)| (p, n)), top),
            prefixes,
            port_ranges,
        }
    }
}

/// The `top` busiest entries: most flows first, ties in key order.
fn busiest<K: Ord + Copy>(all: impl Iterator<Item = (K, u64)>, top: usize) -> Vec<(K, u64)> {
    // A min-heap of the best so far, by (flows, reversed key).
    let mut heap: BinaryHeap<Reverse<(u64, Reverse<K>)>> = BinaryHeap::with_capacity(top + 1);
    for (k, n) in all {
        heap.push(Reverse((n, Reverse(k))));
        if heap.len() > top {
            heap.pop();
        }
    }
    let mut v: Vec<(K, u64)> = heap
        .into_iter()
        .map(|Reverse((n, Reverse(k)))| (k, n))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The prefixes of the longest length at which at most `max` of them cover every address of
/// one family (`width` bits: 32 or 128), with the hosts and flows under each. `family`: the
/// addresses (as integers) with their flows, sorted.
fn covering<A: Copy + Into<u128>>(family: &[(A, u64)], width: u32, max: usize) -> Vec<Prefix> {
    if family.is_empty() || max == 0 {
        return Vec::new();
    }
    let top = |a: u128, len: u32| if len == 0 { 0 } else { a >> (width - len) };
    let distinct = |len: u32| {
        let mut n = 0usize;
        let mut last = None;
        for &(a, _) in family {
            let t = top(a.into(), len);
            if last != Some(t) {
                n += 1;
                last = Some(t);
            }
        }
        n
    };
    // The number of prefixes grows with their length: the longest that fits.
    let (mut lo, mut hi) = (0u32, width);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if distinct(mid) <= max {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let len = lo;
    let mut groups: Vec<(u128, u64, u64)> = Vec::new();
    for &(a, n) in family {
        let t = top(a.into(), len);
        match groups.last_mut() {
            Some(g) if g.0 == t => {
                g.1 += 1;
                g.2 += n;
            }
            _ => groups.push((t, 1, n)),
        }
    }
    groups
        .into_iter()
        .map(|(t, hosts, flows)| {
            let base = if len == 0 { 0 } else { t << (width - len) };
            let net = if width == 32 {
                IpNet::V4(
                    Ipv4Net::new(Ipv4Addr::from(base as u32), len as u8).expect("prefix length"),
                )
            } else {
                IpNet::V6(Ipv6Net::new(Ipv6Addr::from(base), len as u8).expect("prefix length"))
            };
            Prefix { net, hosts, flows }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_cover_every_host() {
        let mut hosts = Hosts::new(1000);
        for i in 0..200u32 {
            hosts.add(IpAddr::V4(Ipv4Addr::from(0xcb00_7100 + i)), 1); // 203.0.113.x
        }
        hosts.add(ip("198.51.100.7"), 5);
        hosts.add(ip("2001:db8::1"), 2);
        hosts.add(ip("2001:db8::2"), 1);
        let text: Vec<String> = hosts
            .prefixes(2)
            .iter()
            .map(|p| format!("{} {} {}", p.net, p.hosts, p.flows))
            .collect();
        // Per family, the longest length at which two prefixes suffice: /24 for v4, /128 for
        // the two v6 hosts.
        assert_eq!(
            text,
            vec![
                "203.0.113.0/24 200 200",
                "198.51.100.0/24 1 5",
                "2001:db8::1/128 1 2",
                "2001:db8::2/128 1 1",
            ]
        );
        // One prefix: the common one, /4 here (203 and 198 share their first four bits).
        let one: Vec<String> = hosts
            .prefixes(1)
            .iter()
            .map(|p| p.net.to_string())
            .collect();
        assert_eq!(one, vec!["192.0.0.0/4", "2001:db8::/126"]);
        assert_eq!(
            hosts.busiest(2),
            vec![(ip("198.51.100.7"), 5), (ip("2001:db8::1"), 2)]
        );
        // Ties by address.
        assert_eq!(
            busiest([(3u16, 1), (1, 1), (2, 1)].into_iter(), 2),
            vec![(1, 1), (2, 1)]
        );
    }

    #[test]
    fn hosts_switch_to_an_estimate_past_the_cap() {
        let mut h = Hosts::new(1000);
        for i in 0..50_000u32 {
            h.add(IpAddr::V4(Ipv4Addr::from(i)), 1);
            h.add(IpAddr::V4(Ipv4Addr::from(i)), 1);
        }
        let (n, est) = h.count();
        assert!(est);
        assert!((n as f64 - 50_000.0).abs() < 50_000.0 * 0.03, "{n}");
        assert_eq!(h.exact_len(), 1000);
        // The exactly counted hosts keep their exact flows.
        assert_eq!(h.busiest(1), vec![(ip("0.0.0.0"), 2)]);
        let mut small = Hosts::new(1000);
        small.add(ip("10.0.0.1"), 3);
        small.add(ip("::1"), 1);
        small.add(ip("10.0.0.1"), 1);
        assert_eq!(small.count(), (2, false));
    }
}
