use std::net::IpAddr;

use super::*;
use crate::flow::{ConnState, FlowRecord, NS, Proto, SecondBytes};

fn rules(text: &str) -> Rules {
    crate::rules::from_text(text)
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

fn flow(client: &str, server: &str, port: u16, state: &str, inferred: bool) -> FlowRecord {
    let state = ConnState::ALL
        .into_iter()
        .find(|c| c.name() == state)
        .unwrap();
    FlowRecord {
        uid: compact_str::format_compact!("C{client}{server}{port}"),
        orig_h: client.parse().unwrap(),
        orig_p: 40000,
        resp_h: server.parse().unwrap(),
        resp_p: port,
        conn_state: state,
        orig_pkts: 1,
        orig_ip_bytes: 60,
        resp_pkts: u64::from(state != ConnState::S0),
        direction_inferred: inferred,
        ..FlowRecord::blank()
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn v4(n: u32) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::from(n))
}

#[test]
fn reversed_only_when_the_direction_was_seen() {
    let r = rules(HAS);
    let seen = judge(&r, &flow("10.0.0.9", "10.0.0.1", 1433, "SF", false));
    assert_eq!(
        (seen.verdict, seen.rule, seen.reversed),
        (FlowVerdict::Reversed, Some(1), Some(Reversal::Hosts))
    );
    let inferred = judge(&r, &flow("10.0.0.9", "10.0.0.1", 1433, "OTH", true));
    assert_eq!(inferred.verdict, FlowVerdict::Unexpected);
}

/// The web server may call the admin console on 10000-65000 but not on 9000; the admin may
/// reach the web server on 8000; the console may reach the web server on 9100.
const CONSOLE: &str = r#"name = "t"
[roles]
web = { hosts = ["10.1.0.1"] }
console = { hosts = ["10.1.0.2"] }
admin = { hosts = ["10.1.0.3"] }
[[flows]]
name = "web-console"
from = "web"
to = "console"
proto = "tcp"
ports = ["10000-65000"]
[[flows]]
name = "admin-web"
from = "admin"
to = "web"
proto = "tcp"
ports = [8000]
[[flows]]
name = "no-console-9000"
from = "web"
to = "console"
proto = "tcp"
ports = [9000]
verdict = "denied"
[[flows]]
name = "console-web"
from = "console"
to = "web"
proto = "tcp"
ports = [9100]
"#;

const WEB_H: &str = "10.1.0.1";
const CONSOLE_H: &str = "10.1.0.2";

/// A flow seen with its handshake from `client:cport` to `server:sport`.
fn conn(client: &str, cport: u16, server: &str, sport: u16) -> FlowRecord {
    let mut r = flow(client, server, sport, "SF", false);
    r.orig_p = cport;
    r
}

fn way(r: &Rules, f: &FlowRecord) -> (FlowVerdict, Option<usize>, Option<Reversal>) {
    let j = judge(r, f);
    (j.verdict, j.rule, j.reversed)
}

#[test]
fn reversed_connection_swaps_hosts_and_ports() {
    let r = rules(CONSOLE);
    // The console opens web:8000 from 40312: as web -> console:40312, "web-console" matches.
    let f = conn(CONSOLE_H, 40312, WEB_H, 8000);
    assert_eq!(
        way(&r, &f),
        (FlowVerdict::Reversed, Some(0), Some(Reversal::Connection))
    );
    // Not when the direction was inferred.
    let mut g = f.clone();
    g.direction_inferred = true;
    assert_eq!(way(&r, &g).0, FlowVerdict::Unexpected);
    // Not when the would-be rule is denied: web -> console:9000.
    assert_eq!(
        way(&r, &conn(CONSOLE_H, 9000, WEB_H, 8000)),
        (FlowVerdict::Unexpected, None, None)
    );
    // Nor when no rule covers the client port.
    assert_eq!(
        way(&r, &conn(CONSOLE_H, 5000, WEB_H, 8000)).0,
        FlowVerdict::Unexpected
    );
}

#[test]
fn reversed_precedence_direct_then_hosts_then_connection() {
    let r = rules(CONSOLE);
    // Direct first: console -> web:9100 is allowed, though web -> console:20000 (the
    // connection the other way) would match too.
    assert_eq!(
        way(&r, &conn(CONSOLE_H, 20000, WEB_H, 9100)),
        (FlowVerdict::Allowed, Some(3), None)
    );
    // A direct match wins even when denied.
    assert_eq!(
        way(&r, &conn(WEB_H, 20000, CONSOLE_H, 9000)),
        (FlowVerdict::Denied, Some(2), None)
    );
    // Hosts before connection: console -> web:12000 from 20000; web -> console:12000 (hosts)
    // and web -> console:20000 (connection) both match "web-console".
    assert_eq!(
        way(&r, &conn(CONSOLE_H, 20000, WEB_H, 12000)),
        (FlowVerdict::Reversed, Some(0), Some(Reversal::Hosts))
    );
    // The hosts way's rule is denied (web -> console:9000): the connection way still applies
    // (web -> console:30000).
    assert_eq!(
        way(&r, &conn(CONSOLE_H, 30000, WEB_H, 9000)),
        (FlowVerdict::Reversed, Some(0), Some(Reversal::Connection))
    );
}

#[test]
fn reversed_connection_finding_names_the_way_and_the_ports() {
    let r = rules(CONSOLE);
    let mut a = Auditor::new(&r, AuditOptions::default());
    let mut f = conn(CONSOLE_H, 40312, WEB_H, 8000);
    let j = a.add(&f);
    assert_eq!(
        (j.kind, j.reversed),
        (Some(Kind::Reversed), Some(Reversal::Connection))
    );
    f.orig_p = 40313;
    f.uid = "C2".into();
    a.add(&f);
    // A hosts-way flow of the same rule is a finding of its own.
    let h = conn(CONSOLE_H, 40000, WEB_H, 12000);
    assert_eq!(a.add(&h).reversed, Some(Reversal::Hosts));
    let res = a.finish();
    let rev: Vec<(&Detail, u64)> = res
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Reversed)
        .map(|f| (&f.detail, f.flows))
        .collect();
    assert_eq!(
        rev,
        // In report order: server port 8000 before 12000.
        vec![
            (
                &Detail::Reversed {
                    way: Reversal::Connection,
                    server_ports: vec![(40312, 40313)]
                },
                2
            ),
            (
                &Detail::Reversed {
                    way: Reversal::Hosts,
                    server_ports: vec![]
                },
                1
            ),
        ]
    );
    let f = &res.findings.iter().find(|f| f.flows == 2).unwrap();
    assert_eq!(
        (f.src.as_deref(), f.dst.as_deref(), f.dst_port),
        (Some("10.1.0.2"), Some("10.1.0.1"), Some(8000))
    );
    assert_eq!(
        (f.src_role.as_deref(), f.dst_role.as_deref()),
        (Some("console"), Some("web"))
    );
}

#[test]
fn missing_pairs_follow_between_and_failures() {
    let r = rules(HAS);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // 1 -> 2 on the cluster port works; 2 -> 1 only fails; nobody reaches SQL but node 1,
    // whose attempt is rejected.
    a.add(&flow("10.0.0.1", "10.0.0.2", 30100, "SF", false));
    a.add(&flow("10.0.0.2", "10.0.0.1", 30100, "S0", false));
    a.add(&flow("10.0.0.1", "10.0.0.9", 1433, "REJ", false));
    let res = a.finish();
    let missing: Vec<(Option<String>, Option<String>, u64)> = res
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Missing)
        .map(|f| (f.src.clone(), f.dst.clone(), f.flows))
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        missing,
        vec![
            (s("10.0.0.2"), s("10.0.0.1"), 1),
            (s("10.0.0.1"), s("10.0.0.9"), 1),
            (s("10.0.0.2"), s("10.0.0.9"), 0),
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
fn thousands_separators() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1204), "1,204");
    assert_eq!(thousands(3_000_000), "3,000,000");
}

// ---- latency ---------------------------------------------------------------------------------

const WEB: &str = r#"name = "t"
[roles]
browser = { hosts = ["any"] }
web = { hosts = ["10.9.0.1"] }
[[flows]]
name = "https"
from = "browser"
to = "web"
proto = "tcp"
ports = [443]
latency_ms = 100.0
avg_kbps = 80
peak_kbps = 400
"#;

#[test]
fn over_latency_from_a_histogram_past_the_exact_values() {
    let r = rules(WEB);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // 1,000 flows of one client, rtt 1..=1000 ms: 900 over the 100 ms budget.
    let mut judged_over = 0;
    for i in 1..=1000i64 {
        let mut f = flow("10.9.0.50", "10.9.0.1", 443, "SF", false);
        f.rtt_ns = Some(i * 1_000_000);
        f.ts_ns = i * NS;
        f.uid = compact_str::format_compact!("C{i:04}");
        let j = a.add(&f);
        judged_over += u32::from(j.kind == Some(Kind::OverLatency));
    }
    assert_eq!(judged_over, 900);
    let res = a.finish();
    let f = res
        .findings
        .iter()
        .find(|f| f.kind == Kind::OverLatency)
        .unwrap();
    assert_eq!(f.flows, 900);
    assert_eq!(f.uids, vec!["C0101", "C0102", "C0103", "C0104", "C0105"]);
    let Detail::Latency {
        measured,
        p50_ns,
        p95_ns,
        max_ns,
        exact,
        ..
    } = f.detail
    else {
        panic!()
    };
    assert_eq!((measured, max_ns, exact), (1000, 1_000_000_000, false));
    for (got, want) in [(p50_ns, 500_000_000i64), (p95_ns, 950_000_000)] {
        let err = (got - want) as f64 / want as f64;
        assert!((0.0..=0.001).contains(&err), "{got} {want}");
    }
}

// ---- bandwidth ---------------------------------------------------------------------------------

fn second(client: &str, server: &str, port: u16, sec: i64, bytes: u64) -> SecondBytes {
    SecondBytes {
        proto: Proto::Tcp,
        orig_h: client.parse().unwrap(),
        orig_p: 40000,
        resp_h: server.parse().unwrap(),
        resp_p: port,
        direction_inferred: false,
        sec,
        ip_bytes: bytes,
    }
}

fn bandwidth(res: &AuditResult) -> Vec<(Option<String>, u64, Detail)> {
    res.findings
        .iter()
        .filter(|f| f.kind == Kind::OverBandwidth)
        .map(|f| (f.src.clone(), f.flows, f.detail.clone()))
        .collect()
}

#[test]
fn a_one_second_burst_inside_a_long_flow_is_the_peak() {
    let r = rules(WEB);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // One flow over 100 s: 5,000 bytes a second (40 kbit/s), but 60,000 in second 1050
    // (480 kbit/s, over the 400 budget). Spread evenly, it was 5,550 bytes a second (44.4
    // kbit/s): the burst was invisible.
    let mut total = 0;
    for s in 1000..1100 {
        let b = if s == 1050 { 60_000 } else { 5_000 };
        total += b;
        a.add_second(&second("10.9.0.50", "10.9.0.1", 443, s, b));
    }
    let mut f = flow("10.9.0.50", "10.9.0.1", 443, "SF", false);
    f.ts_ns = 1000 * NS;
    f.duration_ns = 100 * NS - 1;
    f.orig_ip_bytes = total;
    f.uid = "Clong".into();
    a.add(&f);
    let res = a.finish();
    assert_eq!(
        bandwidth(&res),
        vec![(
            Some("10.9.0.50".to_string()),
            1,
            Detail::Bandwidth {
                avg_kbps: 44.4,
                peak_kbps: 480.0,
                avg_budget_kbps: Some(80.0),
                peak_budget_kbps: Some(400.0),
                active_seconds: 100,
                ip_bytes: 555_000,
            }
        )]
    );
    let f = res
        .findings
        .iter()
        .find(|f| f.kind == Kind::OverBandwidth)
        .unwrap();
    assert_eq!(
        (f.first_ns, f.last_ns, f.uids.clone()),
        (
            Some(1000 * NS),
            Some(1100 * NS - 1),
            vec!["Clong".to_string()]
        )
    );
}

#[test]
fn late_seconds_count_once_and_the_window_stays_small() {
    let r = rules(WEB);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // Two flows of one client; the second's seconds come late, one of them very late (after
    // its second left the window: it lands in the oldest second still open).
    for s in 0..20 {
        a.add_second(&second("10.9.0.50", "10.9.0.1", 443, s, 10_000));
    }
    a.add_second(&second("10.9.0.50", "10.9.0.1", 443, 18, 10_000)); // late, in the window
    a.add_second(&second("10.9.0.50", "10.9.0.1", 443, 3, 15_000)); // very late: to second 12
    // Denied or unknown traffic, and a rule without budget, carry no bandwidth.
    a.add_second(&second("10.9.0.50", "10.9.0.2", 443, 5, 1_000_000));
    let u = &a.usage[&(0, ip("10.9.0.50"))];
    assert_eq!(u.open_seconds().len(), 8);
    assert_eq!(u.open_seconds()[0], (12, 25_000));
    assert_eq!(u.open_seconds()[6], (18, 20_000));
    let res = a.finish();
    let Detail::Bandwidth {
        active_seconds,
        ip_bytes,
        peak_kbps,
        avg_kbps,
        ..
    } = bandwidth(&res)[0].2
    else {
        panic!()
    };
    // 20 active seconds, 225,000 bytes: 90 kbit/s on average; peak 25,000 bytes = 200 kbit/s.
    assert_eq!((active_seconds, ip_bytes), (20, 225_000));
    assert_eq!((avg_kbps, peak_kbps), (90.0, 200.0));
    // No flow record came: the finding has no times.
    assert_eq!(res.findings.len(), 1);
    assert_eq!(res.findings[0].first_ns, None);
}

// ---- roll-ups --------------------------------------------------------------------------------

const OPEN: &str = r#"name = "t"
[roles]
web = { hosts = ["10.9.0.1"] }
[[flows]]
name = "https"
from = "web"
to = "web"
proto = "tcp"
ports = [443]
"#;

fn unexpected(a: &mut Auditor<'_>, client: IpAddr, server: IpAddr, port: u16, ts: i64) {
    let mut f = flow("10.0.0.1", "10.0.0.2", port, "S0", false);
    f.orig_h = client;
    f.resp_h = server;
    f.ts_ns = ts;
    f.uid = compact_str::format_compact!("C{ts}");
    let j = a.add(&f);
    assert_eq!(j.kind, Some(Kind::Unexpected));
}

#[test]
fn below_the_thresholds_findings_stay_row_by_row() {
    let r = rules(OPEN);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // 99 clients to one server port, twice each; one client to 99 targets.
    for round in 0..2 {
        for c in 0..99u32 {
            unexpected(
                &mut a,
                v4(0x0a01_0000 + c),
                ip("10.9.0.1"),
                80,
                i64::from(round * 100 + c),
            );
        }
    }
    for t in 0..99u32 {
        unexpected(
            &mut a,
            ip("10.2.0.1"),
            v4(0x0a03_0000 + t),
            22,
            1000 + i64::from(t),
        );
    }
    assert_eq!(a.groups.live_groups(), 99 + 99);
    let res = a.finish();
    assert_eq!(res.findings.len(), 198);
    assert!(res.findings.iter().all(|f| f.rollup.is_none()));
    assert!(res.findings.iter().take(99).all(|f| f.flows == 2));
}

#[test]
fn a_flood_rolls_up_into_one_finding_with_exact_counts() {
    let r = rules(OPEN);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // 50,000 sources in 203.0.113.0/24 .. (v4 10.128.0.0/15), 3 flows each, to 10.9.0.1:80;
    // plus one busy source.
    let mut ts = 0;
    for round in 0..3 {
        for c in 0..50_000u32 {
            ts += 1;
            unexpected(&mut a, v4(0x0a80_0000 + c), ip("10.9.0.1"), 80, ts);
        }
        let _ = round;
    }
    for _ in 0..7 {
        ts += 1;
        unexpected(&mut a, ip("192.0.2.7"), ip("10.9.0.1"), 80, ts);
    }
    // Memory: the groups folded at the 100th client; nothing per client is kept but the
    // roll-up's host table.
    assert_eq!(a.groups.live_groups(), 0);
    let res = a.finish();
    assert_eq!(res.findings.len(), 1);
    let f = &res.findings[0];
    assert_eq!(f.flows, 150_007);
    assert_eq!((f.first_ns, f.last_ns), (Some(1), Some(150_007)));
    assert_eq!(f.uids, vec!["C1", "C2", "C3", "C4", "C5"]);
    assert_eq!(
        (f.src.as_deref(), f.dst.as_deref(), f.dst_port),
        (None, Some("10.9.0.1"), Some(80))
    );
    let r = f.rollup.as_ref().unwrap();
    assert_eq!(
        (r.by, r.clients, r.clients_estimated, r.servers, r.ports),
        (RollupBy::Clients, 50_001, false, 1, 1)
    );
    assert_eq!(r.top_clients.len(), 10);
    assert_eq!(r.top_clients[0], (ip("192.0.2.7"), 7));
    assert_eq!(r.top_clients[1], (v4(0x0a80_0000), 3));
    let prefixes: Vec<(String, u64, u64)> = r
        .prefixes
        .iter()
        .map(|p| (p.net.to_string(), p.hosts, p.flows))
        .collect();
    // 10.128.0.0 - 10.128.195.79 and 192.0.2.7: the longest length with at most 10 prefixes.
    assert_eq!(prefixes.iter().map(|p| p.1).sum::<u64>(), 50_001);
    assert_eq!(prefixes.iter().map(|p| p.2).sum::<u64>(), 150_007);
    assert!(prefixes.len() <= 10);
    assert!(prefixes.iter().any(|p| p.0.starts_with("192.0.")));
    assert_eq!(r.port_ranges, vec![(80, 80)]);
}

#[test]
fn a_scan_rolls_up_into_one_finding_with_port_ranges() {
    let r = rules(OPEN);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // One client scans ports 20-25, 80, 443-445 and 1000-1199 on two servers.
    let ports: Vec<u16> = (20..=25)
        .chain([80])
        .chain(443..=445)
        .chain(1000..1200)
        .collect();
    let mut ts = 0;
    for p in &ports {
        for s in ["10.3.0.1", "10.3.0.2"] {
            ts += 1;
            unexpected(&mut a, ip("10.2.0.1"), ip(s), *p, ts);
        }
    }
    // Another client's one flow to a scanned target stays its own finding.
    unexpected(&mut a, ip("10.2.0.9"), ip("10.3.0.1"), 22, 9999);
    let res = a.finish();
    assert_eq!(res.findings.len(), 2);
    let f = res.findings.iter().find(|f| f.rollup.is_some()).unwrap();
    assert_eq!(f.flows, 2 * ports.len() as u64);
    assert_eq!(
        (f.src.as_deref(), f.dst.as_deref(), f.dst_port),
        (Some("10.2.0.1"), None, None)
    );
    let r = f.rollup.as_ref().unwrap();
    assert_eq!(
        (r.by, r.clients, r.servers, r.ports),
        (RollupBy::Targets, 1, 2, ports.len() as u64)
    );
    assert_eq!(ranges_text(&r.port_ranges), "20-25,80,443-445,1000-1199");
    assert_eq!(r.top_ports.len(), 10);
    assert_eq!(r.top_ports[0], (20, 2));
    let servers: Vec<String> = r.prefixes.iter().map(|p| p.net.to_string()).collect();
    assert_eq!(servers, vec!["10.3.0.1/32", "10.3.0.2/32"]);
    let other = res.findings.iter().find(|f| f.rollup.is_none()).unwrap();
    assert_eq!((other.src.as_deref(), other.flows), (Some("10.2.0.9"), 1));
}

#[test]
fn folding_keeps_every_flow_in_exactly_one_finding() {
    let r = rules(OPEN);
    let opts = AuditOptions {
        rollup_clients: 5,
        rollup_targets: 4,
        ..AuditOptions::default()
    };
    let mut a = Auditor::new(&r, opts);
    // A grid of clients x targets, in an order that makes both kinds of bucket fold.
    let mut n = 0u64;
    for c in 0..12u32 {
        for t in 0..(c % 7) {
            for _ in 0..=(t % 2) {
                n += 1;
                unexpected(
                    &mut a,
                    v4(0x0a00_0000 + c),
                    v4(0x0b00_0000 + t % 6),
                    80 + t as u16,
                    n as i64,
                );
            }
        }
    }
    let res = a.finish();
    assert_eq!(res.findings.iter().map(|f| f.flows).sum::<u64>(), n);
    assert_eq!(res.by_verdict[FlowVerdict::Unexpected as usize], n);
    // Every uid is in at most one finding.
    let mut uids: Vec<&String> = res.findings.iter().flat_map(|f| &f.uids).collect();
    let len = uids.len();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), len);
    assert!(
        res.findings
            .iter()
            .any(|f| f.rollup.as_ref().is_some_and(|r| r.by == RollupBy::Clients))
    );
    assert!(
        res.findings
            .iter()
            .any(|f| f.rollup.as_ref().is_some_and(|r| r.by == RollupBy::Targets))
    );
    // Each roll-up's per-host flows add up to its flows.
    for f in &res.findings {
        if let Some(r) = &f.rollup {
            let by_host: u64 = match r.by {
                RollupBy::Clients => r.prefixes.iter().map(|p| p.flows).sum(),
                RollupBy::Targets => r.prefixes.iter().map(|p| p.flows).sum(),
            };
            assert_eq!(by_host, f.flows);
        }
    }
}

#[test]
fn failed_and_latency_roll_up_with_their_figures() {
    let r = rules(WEB);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // 150 clients each fail once (S0) and succeed once with a 150 ms rtt (over budget).
    for c in 0..150u32 {
        let mut f = flow("10.0.0.1", "10.9.0.1", 443, "S0", false);
        f.orig_h = v4(0x0a05_0000 + c);
        f.uid = compact_str::format_compact!("Cf{c}");
        assert_eq!(a.add(&f).kind, Some(Kind::Failed));
        let mut g = flow("10.0.0.1", "10.9.0.1", 443, "SF", false);
        g.orig_h = f.orig_h;
        g.rtt_ns = Some(150_000_000 + i64::from(c));
        g.uid = compact_str::format_compact!("Cl{c}");
        assert_eq!(a.add(&g).kind, Some(Kind::OverLatency));
    }
    let res = a.finish();
    let kinds: Vec<(Kind, u64, u64)> = res
        .findings
        .iter()
        .filter(|f| f.kind != Kind::OverBandwidth)
        .map(|f| (f.kind, f.flows, f.rollup.as_ref().map_or(0, |r| r.clients)))
        .collect();
    assert_eq!(
        kinds,
        vec![(Kind::Failed, 150, 150), (Kind::OverLatency, 150, 150)]
    );
    let Detail::Failed { outcomes } = &res.findings[0].detail else {
        panic!()
    };
    assert_eq!(outcomes, &vec![("S0".to_string(), 150)]);
    let Detail::Latency {
        measured, max_ns, ..
    } = res.findings[1].detail
    else {
        panic!()
    };
    assert_eq!((measured, max_ns), (150, 150_000_149));
}

#[test]
fn judged_kinds_for_flows_out() {
    let text = r#"name = "t"
[roles]
a = { hosts = ["10.0.0.1"] }
b = { hosts = ["10.0.0.2"] }
[[flows]]
name = "old"
from = "a"
to = "b"
proto = "tcp"
ports = [21]
verdict = "discouraged"
latency_ms = 1.0
[[flows]]
name = "web"
from = "a"
to = "b"
proto = "tcp"
ports = [443]
"#;
    let r = rules(text);
    let mut a = Auditor::new(&r, AuditOptions::default());
    let mut slow = flow("10.0.0.1", "10.0.0.2", 21, "SF", false);
    slow.rtt_ns = Some(5_000_000);
    let j = a.add(&slow);
    assert_eq!(
        (j.verdict, j.kind, j.also.names()),
        (
            FlowVerdict::Discouraged,
            Some(Kind::Discouraged),
            Some("over_latency")
        )
    );
    let j = a.add(&flow("10.0.0.1", "10.0.0.2", 21, "S0", false));
    assert_eq!(
        (j.kind, j.also.names()),
        (Some(Kind::Failed), Some("discouraged"))
    );
    let j = a.add(&flow("10.0.0.1", "10.0.0.2", 443, "SF", false));
    assert_eq!(
        (j.verdict, j.kind, j.also),
        (FlowVerdict::Allowed, None, Kinds::default())
    );
    assert_eq!(Kind::OverLatency.name(), "over_latency");
    assert_eq!(Reversal::Connection.name(), "connection");
}

#[test]
fn findings_order_hosts_by_address_not_text() {
    let mut hosts: Vec<Option<String>> = [
        "10.1.0.10",
        "any",
        "10.1.0.9",
        "2001:db8::1",
        "10.1.0.0/24",
        "10.1.0.100",
    ]
    .iter()
    .map(|s| Some(s.to_string()))
    .collect();
    hosts.push(None);
    hosts.sort_by(|a, b| super::host_order(a).cmp(&super::host_order(b)));
    let got: Vec<&str> = hosts.iter().map(|h| h.as_deref().unwrap_or("-")).collect();
    assert_eq!(
        got,
        [
            "-",
            "10.1.0.0/24",
            "10.1.0.9",
            "10.1.0.10",
            "10.1.0.100",
            "2001:db8::1",
            "any"
        ]
    );
}

// ---- service, TLS, SNI ---------------------------------------------------------------------

use crate::flow::service::{ServiceStatus, TlsInfo};

/// A client and its servers: HTTPS (TLS 1.2 at least, two server names), SMB, mail (plain,
/// STARTTLS or implicit TLS), a UDP tunnel port that names DNS, and a rule without content
/// constraints.
const CONTENT: &str = r#"name = "t"
[roles]
c = { hosts = ["10.0.0.1"] }
s = { hosts = ["10.0.0.2"] }
[[flows]]
name = "https"
from = "c"
to = "s"
proto = "tcp"
ports = [443]
service = ["ssl"]
tls_min = "1.2"
sni = ["store.example.com", "*.example.org"]
latency_ms = 1.0
[[flows]]
name = "smb"
from = "c"
to = "s"
proto = "tcp"
ports = [445]
service = ["smb"]
[[flows]]
name = "mail"
from = "c"
to = "s"
proto = "tcp"
ports = [25, 465, 587]
service = ["SMTP", "ssl"]
verdict = "discouraged"
[[flows]]
name = "tunnel"
from = "c"
to = "s"
proto = "udp"
ports = [4789]
service = ["dns"]
[[flows]]
name = "plain"
from = "c"
to = "s"
proto = "tcp"
ports = [8080]
"#;

/// An established flow to `port` with `service` decided as `status`.
fn carrying(port: u16, status: ServiceStatus, service: &str) -> FlowRecord {
    let mut f = flow("10.0.0.1", "10.0.0.2", port, "SF", false);
    f.service = service.into();
    f.service_status = status;
    f
}

/// A TLS flow to 443: the server's version (None: no ServerHello) and the ClientHello's name.
fn tls(version: Option<u16>, sni: &str) -> FlowRecord {
    let mut f = carrying(443, ServiceStatus::Known, "ssl");
    f.tls = Some(TlsInfo {
        version,
        client_version: Some(0x0304),
        sni: sni.into(),
        sni_cut: false,
    });
    f
}

/// The flow's findings: primary, then the others.
fn kinds_of(a: &mut Auditor<'_>, f: &FlowRecord) -> Vec<Kind> {
    let j = a.add(f);
    j.kind.into_iter().chain(j.also.iter()).collect()
}

/// The message of the one finding of `kind`.
fn message_of(r: &Rules, res: &AuditResult, kind: Kind) -> String {
    let f: Vec<&Finding> = res.findings.iter().filter(|f| f.kind == kind).collect();
    assert_eq!(f.len(), 1, "{kind:?}: {:?}", res.findings);
    crate::report::audit::message(r, f[0])
}

#[test]
fn wrong_service_unknown_bytes_and_another_service() {
    let r = rules(CONTENT);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // SMB on the SMB edge conforms; bytes no recogniser knew do not.
    assert_eq!(
        kinds_of(&mut a, &carrying(445, ServiceStatus::Known, "smb")),
        []
    );
    let unknown = carrying(445, ServiceStatus::Unknown, "");
    assert_eq!(kinds_of(&mut a, &unknown), [Kind::WrongService]);
    // HTTP where TLS 1.2 is required: a wrong service and no TLS at all.
    let mut http = carrying(443, ServiceStatus::Known, "http");
    http.uid = "Chttp".into();
    assert_eq!(kinds_of(&mut a, &http), [Kind::WrongService, Kind::WeakTls]);
    let res = a.finish();
    let wrong: Vec<(Option<usize>, u64, &Detail)> = res
        .findings
        .iter()
        .filter(|f| f.kind == Kind::WrongService)
        .map(|f| (f.rule, f.flows, &f.detail))
        .collect();
    assert_eq!(
        wrong,
        [
            (
                Some(0),
                1,
                &Detail::Shown {
                    shown: vec![(Shown::Service("http".into()), 1)],
                    other: 0
                }
            ),
            (
                Some(1),
                1,
                &Detail::Shown {
                    shown: vec![(Shown::UnknownBytes, 1)],
                    other: 0
                }
            ),
        ]
    );
    let msgs: Vec<String> = res
        .findings
        .iter()
        .filter(|f| f.kind == Kind::WrongService)
        .map(|f| crate::report::audit::message(&r, f))
        .collect();
    assert_eq!(
        msgs,
        [
            "http on an edge that allows ssl",
            "unknown bytes on an edge that allows smb"
        ]
    );
    assert_eq!(
        message_of(&r, &res, Kind::WeakTls),
        "no TLS (plaintext http)"
    );
    let f = res
        .findings
        .iter()
        .find(|f| f.kind == Kind::WrongService)
        .unwrap();
    assert_eq!(
        (f.severity, f.uids.clone(), f.dst_port),
        (Severity::Error, vec!["Chttp".to_string()], Some(443))
    );
    assert!(res.reaches(Severity::Error));
}

#[test]
fn every_named_service_must_be_allowed_and_upgrades_are() {
    let r = rules(CONTENT);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // Plain SMTP, STARTTLS (smtp,ssl) and implicit TLS on 465: all allowed ("SMTP" in the
    // rule is Zeek's smtp). The rule is discouraged: that is the only finding.
    for (port, service) in [(25, "smtp"), (587, "smtp,ssl"), (465, "ssl")] {
        assert_eq!(
            kinds_of(&mut a, &carrying(port, ServiceStatus::Known, service)),
            [Kind::Discouraged],
            "{service}"
        );
    }
    // SMTP that turned into HTTP: one name is not allowed.
    assert_eq!(
        kinds_of(&mut a, &carrying(25, ServiceStatus::Known, "smtp,http")),
        [Kind::WrongService, Kind::Discouraged]
    );
    // TLS from the client answered in HTTP by the server, on the TLS edge.
    let mut f = tls(Some(0x0303), "store.example.com");
    f.service = "ssl,http".into();
    assert_eq!(kinds_of(&mut a, &f), [Kind::WrongService]);
    let res = a.finish();
    let msgs: Vec<String> = res
        .findings
        .iter()
        .filter(|f| f.kind == Kind::WrongService)
        .map(|f| crate::report::audit::message(&r, f))
        .collect();
    assert_eq!(
        msgs,
        [
            "ssl,http on an edge that allows ssl",
            "smtp,http on an edge that allows smtp, ssl"
        ]
    );
}

#[test]
fn tunnels_never_count_as_a_service() {
    let r = rules(CONTENT);
    let mut a = Auditor::new(&r, AuditOptions::default());
    let mut f = flow("10.0.0.1", "10.0.0.2", 4789, "SF", false);
    f.proto = Proto::Udp;
    f.service_status = ServiceStatus::Known;
    for service in ["vxlan", "dns", "vxlan,dns"] {
        f.service = service.into();
        assert_eq!(kinds_of(&mut a, &f), [], "{service}");
    }
    f.service = "vxlan,ntp".into();
    assert_eq!(kinds_of(&mut a, &f), [Kind::WrongService]);
}

#[test]
fn weak_tls_below_the_minimum_and_undecided_without_a_server_hello() {
    let r = rules(CONTENT);
    let mut a = Auditor::new(&r, AuditOptions::default());
    assert_eq!(
        kinds_of(&mut a, &tls(Some(0x0303), "store.example.com")),
        []
    );
    assert_eq!(
        kinds_of(&mut a, &tls(Some(0x0304), "store.example.com")),
        []
    );
    assert_eq!(
        kinds_of(&mut a, &tls(Some(0x0301), "store.example.com")),
        [Kind::WeakTls]
    );
    // The ClientHello, and no ServerHello: the version is not known, so not judged.
    assert_eq!(kinds_of(&mut a, &tls(None, "store.example.com")), []);
    // A record that names ssl without the handshake's details (a Zeek conn.log): the same.
    assert_eq!(
        kinds_of(&mut a, &carrying(443, ServiceStatus::Known, "ssl")),
        []
    );
    let res = a.finish();
    assert_eq!(
        message_of(&r, &res, Kind::WeakTls),
        "TLSv10 < tls_min TLSv12"
    );
    let c = &res.rule_stats[0].checks;
    assert_eq!((c.decided, c.tls_undecided), (5, 2));
    // The same record without details: its server name is not known either.
    assert_eq!(c.sni_undecided, 1);
}

#[test]
fn plaintext_on_an_edge_that_requires_tls() {
    let text = CONTENT.replace(
        "service = [\"SMTP\", \"ssl\"]",
        "service = [\"SMTP\", \"ssl\"]\ntls_min = \"TLS 1.2\"",
    );
    let r = rules(&text);
    assert_eq!(r.rules[2].tls_min, Some(0x0303));
    let mut a = Auditor::new(&r, AuditOptions::default());
    // STARTTLS at TLS 1.2 passes; plain SMTP is not encrypted; unknown bytes neither.
    let mut upgraded = carrying(587, ServiceStatus::Known, "smtp,ssl");
    upgraded.tls = Some(TlsInfo {
        version: Some(0x0303),
        ..TlsInfo::default()
    });
    assert_eq!(kinds_of(&mut a, &upgraded), [Kind::Discouraged]);
    assert_eq!(
        kinds_of(&mut a, &carrying(25, ServiceStatus::Known, "smtp")),
        [Kind::WeakTls, Kind::Discouraged]
    );
    let mut unknown = carrying(25, ServiceStatus::Unknown, "");
    unknown.uid = "Cunknown".into();
    assert_eq!(
        kinds_of(&mut a, &unknown),
        [Kind::WrongService, Kind::WeakTls, Kind::Discouraged]
    );
    let res = a.finish();
    assert_eq!(
        message_of(&r, &res, Kind::WeakTls),
        "no TLS (unknown bytes) (1 flow); no TLS (plaintext smtp) (1 flow)"
    );
}

#[test]
fn server_names_exact_wildcard_mismatch_none_and_cut() {
    let r = rules(CONTENT);
    let mut a = Auditor::new(&r, AuditOptions::default());
    for ok in [
        "store.example.com",
        "STORE.Example.COM",
        "store.example.com.",
        "a.example.org",
        "a.b.example.org",
    ] {
        assert_eq!(kinds_of(&mut a, &tls(Some(0x0303), ok)), [], "{ok}");
    }
    for bad in [
        "example.org",
        "evil.example.com",
        "xexample.org",
        "evil.net",
    ] {
        assert_eq!(
            kinds_of(&mut a, &tls(Some(0x0303), bad)),
            [Kind::UnexpectedSni],
            "{bad}"
        );
    }
    // A ClientHello without a server name.
    assert_eq!(
        kinds_of(&mut a, &tls(Some(0x0303), "")),
        [Kind::UnexpectedSni]
    );
    // The name lay past the captured bytes: not judged.
    let mut cut = tls(Some(0x0303), "");
    cut.tls.as_mut().unwrap().sni_cut = true;
    assert_eq!(kinds_of(&mut a, &cut), []);
    let res = a.finish();
    let f: Vec<&Finding> = res
        .findings
        .iter()
        .filter(|f| f.kind == Kind::UnexpectedSni)
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].flows, f[0].severity), (5, Severity::Warning));
    assert_eq!(
        message_of(&r, &res, Kind::UnexpectedSni),
        "SNI evil.example.com (1 flow); SNI evil.net (1 flow); SNI example.org (1 flow); \
         SNI xexample.org (1 flow); no SNI (1 flow), not in the rule's sni \
         (store.example.com, *.example.org)"
    );
    let c = &res.rule_stats[0].checks;
    assert_eq!((c.decided, c.sni_undecided, c.tls_undecided), (11, 1, 0));
}

#[test]
fn undecided_flows_are_counted_by_reason_not_judged() {
    let r = rules(CONTENT);
    let mut a = Auditor::new(&r, AuditOptions::default());
    for (status, n) in [
        (ServiceStatus::NoPayload, 3),
        (ServiceStatus::MidStream, 2),
        (ServiceStatus::Cut, 1),
        (ServiceStatus::NotInSource, 4),
    ] {
        for _ in 0..n {
            // Whatever else the record says, nothing about its content is judged.
            let mut f = tls(Some(0x0300), "evil.net");
            f.service = "http".into();
            f.service_status = status;
            assert_eq!(kinds_of(&mut a, &f), [], "{status:?}");
        }
    }
    // A failed attempt (no payload) on the SMB edge: failed, and undecided.
    let mut s0 = flow("10.0.0.1", "10.0.0.2", 445, "S0", false);
    s0.service_status = ServiceStatus::NoPayload;
    assert_eq!(kinds_of(&mut a, &s0), [Kind::Failed]);
    // A rule without service, tls_min or sni counts nothing.
    a.add(&carrying(8080, ServiceStatus::NoPayload, ""));
    let res = a.finish();
    let c = &res.rule_stats[0].checks;
    assert_eq!((c.decided, c.undecided), (0, [0, 0, 3, 2, 1, 4]));
    assert_eq!(c.undecided_flows(), 10);
    assert_eq!(
        c.undecided_reasons().collect::<Vec<_>>(),
        [
            ("no payload", 3),
            ("mid-stream", 2),
            ("cut", 1),
            ("not in source", 4)
        ]
    );
    assert_eq!(res.rule_stats[1].checks.undecided, [0, 0, 1, 0, 0, 0]);
    assert!(res.rule_stats[4].checks.is_empty());
    let total = res.checks();
    assert_eq!((total.undecided_flows(), total.decided), (11, 0));
    assert!(res.findings.iter().all(|f| f.kind == Kind::Failed));
}

#[test]
fn content_findings_are_findings_like_the_others() {
    let r = rules(CONTENT);
    let mut a = Auditor::new(&r, AuditOptions::default()).raising();
    // Two clients' worth of flows to one server: the HTTP one is also slow.
    let mut http = carrying(443, ServiceStatus::Known, "http");
    http.uid = "C1".into();
    http.ts_ns = 5 * NS;
    http.rtt_ns = Some(3_000_000);
    let j = a.add(&http);
    assert_eq!(j.kind, Some(Kind::WrongService));
    assert_eq!(
        j.also.iter().collect::<Vec<_>>(),
        [Kind::WeakTls, Kind::OverLatency]
    );
    assert_eq!(j.also.names(), Some("weak_tls,over_latency"));
    let raised: Vec<(Kind, Option<String>)> = a.take_raised().map(|x| (x.kind, x.uid)).collect();
    assert_eq!(
        raised,
        [
            (Kind::WrongService, Some("C1".to_string())),
            (Kind::WeakTls, Some("C1".to_string())),
            (Kind::OverLatency, Some("C1".to_string())),
        ]
    );
    let mut again = http.clone();
    again.uid = "C2".into();
    again.ts_ns = 9 * NS;
    again.rtt_ns = None;
    again.service = "ssh".into();
    a.add(&again);
    assert_eq!(a.take_raised().count(), 0);
    let res = a.finish();
    let f = res
        .findings
        .iter()
        .find(|f| f.kind == Kind::WrongService)
        .unwrap();
    assert_eq!(
        (f.flows, f.first_ns, f.last_ns, f.uids.clone()),
        (
            2,
            Some(5 * NS),
            Some(9 * NS),
            vec!["C1".into(), "C2".into()]
        )
    );
    assert_eq!(
        crate::report::audit::message(&r, f),
        "http (1 flow), ssh (1 flow) on an edge that allows ssl"
    );
    assert_eq!(res.by_kind()[Kind::WrongService as usize], 1);
    // Report order: errors (wrong_service, weak_tls) before the warning.
    let order: Vec<Kind> = res.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        order,
        [Kind::WrongService, Kind::WeakTls, Kind::OverLatency]
    );
}

#[test]
fn content_findings_roll_up_and_keep_what_they_saw() {
    // 150 clients of the "c" role each carry a service other than TLS once, twelve distinct
    // services among them: eight kept, the flows of the rest counted together.
    let r = rules(&CONTENT.replace("[\"10.0.0.1\"]", "[\"10.1.0.0/16\"]"));
    let mut a = Auditor::new(&r, AuditOptions::default());
    let names = [
        "http", "ssh", "smb", "dns", "ftp", "irc", "imap", "pop3", "sip", "rdp", "rfb", "tds",
    ];
    for c in 0..150u32 {
        let mut f = carrying(443, ServiceStatus::Known, names[c as usize % names.len()]);
        f.orig_h = v4(0x0a01_0000 + c);
        f.uid = compact_str::format_compact!("C{c:03}");
        a.add(&f);
    }
    let res = a.finish();
    let f = res
        .findings
        .iter()
        .find(|f| f.kind == Kind::WrongService)
        .unwrap();
    assert_eq!(f.rollup.as_ref().map(|r| r.clients), Some(150));
    let Detail::Shown { shown, other } = &f.detail else {
        panic!()
    };
    assert_eq!(shown.len(), content::MAX_SHOWN);
    assert_eq!(shown.iter().map(|s| s.1).sum::<u64>() + other, 150);
}

#[test]
fn kinds_sets_and_their_names() {
    let k: Kinds = [Kind::OverLatency, Kind::WrongService, Kind::Discouraged]
        .into_iter()
        .collect();
    assert_eq!(k.len(), 3);
    assert_eq!(k.first(), Some(Kind::WrongService));
    assert_eq!(k.names(), Some("wrong_service,discouraged,over_latency"));
    assert_eq!(
        k.without(Kind::WrongService).names(),
        Some("discouraged,over_latency")
    );
    assert_eq!(Kinds::default().names(), None);
    let all: Kinds = Kind::ALL.into_iter().collect();
    assert_eq!(all.len(), KINDS);
    assert_eq!(all.names().unwrap().split(',').count(), KINDS);
    assert_eq!(Kind::WeakTls.default_severity(), Severity::Error);
    assert_eq!(Kind::UnexpectedSni.name(), "unexpected_sni");
}
