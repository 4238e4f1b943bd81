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
        (j.verdict, j.kind, j.also),
        (
            FlowVerdict::Discouraged,
            Some(Kind::Discouraged),
            Some(Kind::OverLatency)
        )
    );
    let j = a.add(&flow("10.0.0.1", "10.0.0.2", 21, "S0", false));
    assert_eq!(
        (j.kind, j.also),
        (Some(Kind::Failed), Some(Kind::Discouraged))
    );
    let j = a.add(&flow("10.0.0.1", "10.0.0.2", 443, "SF", false));
    assert_eq!(
        (j.verdict, j.kind, j.also),
        (FlowVerdict::Allowed, None, None)
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
