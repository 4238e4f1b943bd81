//! Pairing: direction, state, sampling, splitting and ending by time, each from halves as an
//! exporter would write them.

use super::*;
use crate::flow::NoServerPorts;

const S: i64 = 1_000_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A TCP half from `a:ap` to `b:bp` over [t0, t1] seconds with these flags.
fn half(a: &str, ap: u16, b: &str, bp: u16, t0: i64, t1: i64, flags: u8) -> HalfFlow {
    let mut h = HalfFlow::new(Proto::Tcp, ip(a), ap, ip(b), bp);
    h.start_ns = t0 * S;
    h.end_ns = t1 * S;
    h.pkts = 10;
    h.ip_bytes = 1000;
    h.tcp_flags = Some(flags);
    h
}

use tcp_flags::{ACK, FIN, PSH, RST, SYN};

fn run(items: Vec<Item>) -> (Vec<FlowRecord>, PairStats) {
    let mut p = Pairer::new(300 * S, 60 * S, 5 * S, &NoServerPorts);
    let mut out = Vec::new();
    for i in items {
        p.add(i, &mut out);
    }
    p.finish(&mut out);
    (out, p.stats)
}

#[test]
fn two_halves_of_a_closed_connection_make_one_sf_record() {
    // As NetFlow has it: both sides' flags include SYN and ACK, so the direction is inferred
    // (443 is a likely server port); the reply half comes first in the export.
    let (out, stats) = run(vec![
        Item::Half(half(
            "10.0.0.2",
            443,
            "10.0.0.1",
            50000,
            100,
            102,
            SYN | ACK | PSH | FIN,
        )),
        Item::Half(half(
            "10.0.0.1",
            50000,
            "10.0.0.2",
            443,
            100,
            102,
            SYN | ACK | PSH | FIN,
        )),
    ]);
    assert_eq!(out.len(), 1);
    let r = &out[0];
    assert_eq!(
        (r.orig_h, r.orig_p, r.resp_h, r.resp_p),
        (ip("10.0.0.1"), 50000, ip("10.0.0.2"), 443)
    );
    assert_eq!(r.conn_state, ConnState::SF);
    assert_eq!(r.history, "ShAaFf");
    assert!(r.direction_inferred);
    assert_eq!(
        (r.orig_pkts, r.orig_ip_bytes, r.resp_pkts, r.resp_ip_bytes),
        (10, 1000, 10, 1000)
    );
    assert_eq!((r.orig_bytes, r.resp_bytes), (0, 0));
    assert_eq!((r.ts_ns, r.duration_ns), (100 * S, 2 * S));
    assert_eq!(r.community_id.len(), 30);
    assert!(r.uid.starts_with('C') && r.uid.len() == 18);
    assert_eq!(
        (
            stats.halves,
            stats.records,
            stats.paired,
            stats.direction_inferred
        ),
        (2, 1, 1, 1)
    );
}

#[test]
fn a_syn_without_ack_tells_the_client() {
    // The client's half is SYN only (no answer): S0, direction from the flags, on a port no
    // heuristic knows (the inference alone would pick the first sender).
    let (out, _) = run(vec![Item::Half(half(
        "10.0.0.9", 40000, "10.0.0.1", 41000, 5, 8, SYN,
    ))]);
    assert_eq!(out[0].conn_state, ConnState::S0);
    assert!(!out[0].direction_inferred);
    assert_eq!(out[0].orig_h, ip("10.0.0.9"));
    assert_eq!(out[0].history, "S");
    // Answered by a RST: rejected.
    let (out, _) = run(vec![
        Item::Half(half("10.0.0.1", 41000, "10.0.0.9", 40000, 5, 5, RST | ACK)),
        Item::Half(half("10.0.0.9", 40000, "10.0.0.1", 41000, 5, 5, SYN)),
    ]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].conn_state, ConnState::REJ);
    assert_eq!((out[0].orig_h, out[0].orig_p), (ip("10.0.0.9"), 40000));
    assert_eq!(out[0].history, "Sar");
}

#[test]
fn states_from_flag_sets() {
    let s = |o: u8, r: Option<u8>| {
        let mut items = vec![Item::Half(half("10.0.0.1", 1025, "10.0.0.2", 80, 0, 1, o))];
        if let Some(r) = r {
            items.push(Item::Half(half("10.0.0.2", 80, "10.0.0.1", 1025, 0, 1, r)));
        }
        run(items).0[0].conn_state
    };
    assert_eq!(s(SYN | ACK, Some(SYN | ACK)), ConnState::S1);
    assert_eq!(s(SYN | ACK | FIN, Some(SYN | ACK)), ConnState::S2);
    assert_eq!(s(SYN | ACK, Some(SYN | ACK | FIN)), ConnState::S3);
    assert_eq!(s(SYN | ACK | RST, Some(SYN | ACK | FIN)), ConnState::RSTO);
    assert_eq!(s(SYN | ACK | FIN, Some(SYN | ACK | RST)), ConnState::RSTR);
    assert_eq!(s(SYN | RST, None), ConnState::RSTOS0);
    assert_eq!(s(SYN | FIN, None), ConnState::SH);
    assert_eq!(s(ACK | PSH, Some(ACK)), ConnState::OTH);
}

#[test]
fn only_the_responder_seen() {
    // Only the SYN/ACK side was exported, and the exporter says it is the reply.
    let mut h = half("10.0.0.2", 80, "10.0.0.1", 1025, 0, 1, SYN | ACK);
    h.initiator = Initiator::Destination;
    let (out, _) = run(vec![Item::Half(h)]);
    assert_eq!((out[0].orig_h, out[0].orig_p), (ip("10.0.0.1"), 1025));
    assert_eq!(out[0].conn_state, ConnState::SHR);
    assert_eq!(out[0].history, "ha");
    assert!(!out[0].direction_inferred);
}

#[test]
fn sampling_scales_counts() {
    let mut h = half("10.0.0.1", 1025, "10.0.0.2", 80, 0, 1, SYN | ACK);
    h.sampling = 100;
    let (out, stats) = run(vec![Item::Half(h)]);
    assert_eq!((out[0].orig_pkts, out[0].orig_ip_bytes), (1000, 100_000));
    assert_eq!(stats.sampled, 1);
}

#[test]
fn active_timeout_pieces_join_and_idle_or_reopened_connections_split() {
    // Three exports of one long connection (active timeout 60 s) join.
    let (out, _) = run(vec![
        Item::Half(half("10.0.0.1", 1025, "10.0.0.2", 80, 0, 59, SYN | ACK)),
        Item::Half(half("10.0.0.1", 1025, "10.0.0.2", 80, 60, 119, ACK)),
        Item::Half(half("10.0.0.1", 1025, "10.0.0.2", 80, 120, 130, ACK | FIN)),
    ]);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].orig_pkts, out[0].duration_ns), (30, 130 * S));
    // Idle longer than the TCP timeout (300 s): two records.
    let (out, _) = run(vec![
        Item::Half(half("10.0.0.1", 1025, "10.0.0.2", 80, 0, 1, ACK)),
        Item::Half(half("10.0.0.1", 1025, "10.0.0.2", 80, 302, 303, ACK)),
    ]);
    assert_eq!(out.len(), 2);
    // Closed, then a new SYN on the same ports: two records.
    let (out, _) = run(vec![
        Item::Half(half(
            "10.0.0.1",
            1025,
            "10.0.0.2",
            80,
            0,
            1,
            SYN | ACK | FIN,
        )),
        Item::Half(half(
            "10.0.0.1",
            1025,
            "10.0.0.2",
            80,
            5,
            6,
            SYN | ACK | FIN,
        )),
    ]);
    assert_eq!(out.len(), 2);
    // Two observation points never add up.
    let a = half("10.0.0.1", 1025, "10.0.0.2", 80, 0, 1, SYN);
    let mut b = a.clone();
    b.observer = 7;
    let (out, _) = run(vec![Item::Half(a), Item::Half(b)]);
    assert_eq!(out.len(), 2);
}

#[test]
fn records_end_when_the_clock_passes_their_idle_timeout() {
    let mut p = Pairer::new(300 * S, 60 * S, 5 * S, &NoServerPorts);
    let mut out = Vec::new();
    let mut u = HalfFlow::new(Proto::Udp, ip("10.0.0.1"), 5353, ip("10.0.0.2"), 53);
    u.start_ns = 10 * S;
    u.end_ns = 11 * S;
    u.pkts = 1;
    p.add(Item::Half(u), &mut out);
    p.add(
        Item::Half(half("10.0.0.1", 1025, "10.0.0.2", 80, 10, 11, SYN)),
        &mut out,
    );
    p.advance(71 * S, &mut out);
    assert!(out.is_empty(), "not before 11 s + 60 s");
    p.advance(71 * S + 1, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].proto, Proto::Udp);
    assert_eq!(
        (out[0].conn_state, out[0].history.as_str()),
        (ConnState::S0, "D")
    );
    assert_eq!(p.open(), 1);
    p.advance(400 * S, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(p.open(), 0);
    // Closed both ways: the linger time (5 s), not the idle timeout.
    p.add(
        Item::Half(half(
            "10.0.0.1",
            1026,
            "10.0.0.2",
            80,
            500,
            501,
            SYN | ACK | FIN,
        )),
        &mut out,
    );
    p.add(
        Item::Half(half(
            "10.0.0.2",
            80,
            "10.0.0.1",
            1026,
            500,
            501,
            SYN | ACK | FIN,
        )),
        &mut out,
    );
    p.advance(506 * S, &mut out);
    assert_eq!(out.len(), 2);
    p.advance(506 * S + 1, &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(out[2].conn_state, ConnState::SF);
}

#[test]
fn a_pair_and_a_rejection() {
    let mut orig = half("10.0.0.1", 1025, "10.0.0.2", 443, 0, 1, SYN | ACK);
    orig.flow_id = Some(1234);
    orig.initiator = Initiator::Source;
    let mut resp = half("10.0.0.2", 443, "10.0.0.1", 1025, 0, 1, SYN | ACK);
    resp.pkts = 0;
    let (out, _) = run(vec![Item::Pair {
        orig: orig.clone(),
        resp: resp.clone(),
    }]);
    assert_eq!(out[0].uid, "F1234");
    assert_eq!((out[0].orig_p, out[0].resp_pkts), (1025, 0));
    assert!(!out[0].direction_inferred);
    // A biflow whose source does not say which side began (no biflowDirection): the first
    // direction is not taken for the client; here the ports decide.
    let (a, b) = (
        half("10.0.0.2", 443, "10.0.0.1", 1025, 0, 1, SYN | ACK),
        half("10.0.0.1", 1025, "10.0.0.2", 443, 0, 1, SYN | ACK),
    );
    let (out, _) = run(vec![Item::Pair { orig: a, resp: b }]);
    assert_eq!((out[0].orig_p, out[0].resp_p), (1025, 443));
    assert!(out[0].direction_inferred);
    let mut h = half("10.0.0.1", 1025, "10.0.0.2", 22, 0, 0, SYN);
    h.rejected = Some("vpc REJECT");
    let (out, _) = run(vec![Item::Half(h)]);
    assert_eq!(out[0].rejected, Some("vpc REJECT"));
    assert!(!crate::audit::established(&out[0]));
}

#[test]
fn halves_of_a_flow_read_whole_are_left_out() {
    // Suricata writes a flow's two `netflow` events beside its `flow` event: one connection.
    let mut orig = half("10.0.0.1", 1025, "10.0.0.2", 443, 0, 1, SYN | ACK);
    orig.flow_id = Some(77);
    let mut resp = half("10.0.0.2", 443, "10.0.0.1", 1025, 0, 1, SYN | ACK);
    resp.flow_id = Some(77);
    let pair = Item::Pair {
        orig: orig.clone(),
        resp: resp.clone(),
    };
    // Before the flow event, and after it.
    let (out, stats) = run(vec![
        Item::Half(orig.clone()),
        pair.clone(),
        Item::Half(resp.clone()),
    ]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].uid, "F77");
    assert_eq!(stats.same_flow_id, 2);
    // Another flow id is another connection.
    let mut other = orig;
    other.flow_id = Some(78);
    other.start_ns += 10 * S;
    other.end_ns += 10 * S;
    let (out, _) = run(vec![pair, Item::Half(other)]);
    assert_eq!(out.len(), 2);
}

#[test]
fn a_full_table_ends_the_entry_due_first() {
    let mut p = Pairer::new(300 * S, 60 * S, 5 * S, &NoServerPorts).with_limit(2);
    let mut out = Vec::new();
    // Two connections open; the first closed both ways (it waits only the linger time), so
    // it is due first although it started later.
    p.add(
        Item::Half(half("10.0.0.1", 1000, "10.0.0.9", 443, 0, 50, SYN | ACK)),
        &mut out,
    );
    p.add(
        Item::Half(half(
            "10.0.0.2",
            1000,
            "10.0.0.9",
            443,
            10,
            20,
            SYN | ACK | FIN,
        )),
        &mut out,
    );
    p.add(
        Item::Half(half(
            "10.0.0.9",
            443,
            "10.0.0.2",
            1000,
            10,
            20,
            SYN | ACK | FIN,
        )),
        &mut out,
    );
    assert!(out.is_empty());
    assert_eq!(p.open(), 2);
    // A half of an open connection joins it: no room is needed.
    p.add(
        Item::Half(half("10.0.0.9", 443, "10.0.0.1", 1000, 0, 50, SYN | ACK)),
        &mut out,
    );
    assert!(out.is_empty());
    // A third connection: the closed one ends now, marked evicted.
    p.add(
        Item::Half(half("10.0.0.3", 1000, "10.0.0.9", 443, 60, 61, SYN)),
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].orig_h, out[0].conn_state, out[0].evicted),
        (ip("10.0.0.2"), ConnState::SF, true)
    );
    assert_eq!((p.open(), p.stats.evicted), (2, 1));
    // A late half of the evicted connection is a new record; the table stays at two.
    p.add(
        Item::Half(half("10.0.0.2", 1000, "10.0.0.9", 443, 21, 21, ACK)),
        &mut out,
    );
    assert_eq!((out.len(), p.open(), p.stats.evicted), (2, 2, 2));
    assert_eq!(out[1].orig_h, ip("10.0.0.1"), "then the one due next");
    p.finish(&mut out);
    let evicted: Vec<bool> = out.iter().map(|r| r.evicted).collect();
    assert_eq!(evicted, [true, true, false, false]);
    assert_eq!(p.stats.records, 4);
}

#[test]
fn flow_ids_of_pairs_are_kept_to_the_limit() {
    let mut p = Pairer::new(300 * S, 60 * S, 5 * S, &NoServerPorts).with_limit(2);
    let mut out = Vec::new();
    for id in 1..=3u64 {
        let mut orig = half(
            "10.0.0.1",
            1024 + id as u16,
            "10.0.0.2",
            443,
            id as i64,
            5,
            SYN | ACK,
        );
        orig.flow_id = Some(id);
        let resp = half(
            "10.0.0.2",
            443,
            "10.0.0.1",
            1024 + id as u16,
            id as i64,
            5,
            SYN | ACK,
        );
        p.add(Item::Pair { orig, resp }, &mut out);
    }
    assert_eq!(p.pair_ids.len(), 2);
    assert!(
        !p.pair_ids.contains_key(&1),
        "the first to be forgotten went"
    );
    // A netflow half of flow 3 is still known as part of its flow record; one of flow 1 is not.
    for id in [3u64, 1] {
        let mut h = half(
            "10.0.0.1",
            1024 + id as u16,
            "10.0.0.2",
            443,
            id as i64,
            5,
            SYN | ACK,
        );
        h.flow_id = Some(id);
        p.add(Item::Half(h), &mut out);
    }
    assert_eq!((p.stats.same_flow_id, p.open()), (1, 1));
}
