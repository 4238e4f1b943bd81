//! Flow-stage tests: exact records from annotated packet sequences.

use super::*;
use crate::decode::{Addr, Packet, Tcp, Transport, Udp, VlanStack, tcpflags::*};

fn a(last: u8) -> Addr {
    Addr::v4(&[10, 0, 0, last])
}

fn tcp(src: u8, sport: u16, dst: u8, dport: u16, flags: u8, seq: u32, len: u32) -> Packet {
    Packet {
        vlan: VlanStack::default(),
        v6: false,
        src: a(src),
        dst: a(dst),
        ip_len: 40 + len,
        transport: Transport::Tcp(Tcp {
            src_port: sport,
            dst_port: dport,
            seq,
            ack: 1,
            flags,
            window: 1000,
            payload_len: len,
        }),
    }
}

/// Client 10.0.0.1:40000 -> server 10.0.0.2:80 packets.
fn c(flags: u8, seq: u32, len: u32) -> Packet {
    tcp(1, 40000, 2, 80, flags, seq, len)
}
fn s(flags: u8, seq: u32, len: u32) -> Packet {
    tcp(2, 80, 1, 40000, flags, seq, len)
}

fn run(pkts: &[(i64, Packet)]) -> Vec<FlowRecord> {
    run_with(FlowConfig::default(), pkts)
}

fn run_with(cfg: FlowConfig, pkts: &[(i64, Packet)]) -> Vec<FlowRecord> {
    let mut out = Vec::new();
    let mut t = FlowTable::new(cfg, &NoServerPorts);
    for (ts, p) in pkts {
        t.packet(*ts, p, &mut out);
    }
    t.finish(&mut out);
    out
}

const MS: i64 = 1_000_000;

#[test]
fn full_connection_is_sf() {
    let r = run(&[
        (0, c(SYN, 100, 0)),
        (10 * MS, s(SYN | ACK, 500, 0)),
        (11 * MS, c(ACK, 101, 0)),
        (12 * MS, c(ACK | PSH, 101, 10)),
        (13 * MS, s(ACK | PSH, 501, 20)),
        (14 * MS, c(FIN | ACK, 111, 0)),
        (15 * MS, s(FIN | ACK, 521, 0)),
        (16 * MS, c(ACK, 112, 0)),
    ]);
    assert_eq!(r.len(), 1);
    let f = &r[0];
    assert_eq!(f.conn_state, ConnState::SF);
    assert_eq!(f.history, "ShADdFf");
    assert_eq!(
        (f.orig_pkts, f.resp_pkts, f.orig_bytes, f.resp_bytes),
        (5, 3, 10, 20)
    );
    assert_eq!(f.syn_synack_ns, Some(10 * MS));
    assert_eq!(f.synack_ack_ns, Some(MS));
    assert_eq!(f.rtt_ns, Some(11 * MS));
    assert!(!f.direction_inferred);
    assert_eq!(f.duration_ns, 16 * MS);
}

#[test]
fn conn_states() {
    let cases: Vec<(&str, &str, Vec<Packet>)> = vec![
        ("S0", "S", vec![c(SYN, 1, 0), c(SYN, 1, 0)]),
        ("REJ", "Sr", vec![c(SYN, 1, 0), s(RST | ACK, 0, 0)]),
        (
            "S1",
            "ShAD",
            vec![c(SYN, 1, 0), s(SYN | ACK, 9, 0), c(ACK, 2, 0), c(ACK, 2, 5)],
        ),
        ("RSTOS0", "SR", vec![c(SYN, 1, 0), c(RST, 2, 0)]),
        ("RSTRH", "^hr", vec![s(SYN | ACK, 9, 0), s(RST, 10, 0)]),
        ("SH", "SF", vec![c(SYN, 1, 0), c(FIN, 2, 0)]),
        ("SHR", "^hf", vec![s(SYN | ACK, 9, 0), s(FIN | ACK, 10, 0)]),
        (
            "OTH",
            "Dd",
            vec![
                tcp(1, 50000, 2, 40001, ACK, 5, 3),
                tcp(2, 40001, 1, 50000, ACK, 7, 3),
            ],
        ),
        (
            "S2",
            "ShAFa",
            vec![
                c(SYN, 1, 0),
                s(SYN | ACK, 9, 0),
                c(ACK, 2, 0),
                c(FIN | ACK, 2, 0),
                s(ACK, 10, 0),
            ],
        ),
        (
            "RSTO",
            "ShADR",
            vec![
                c(SYN, 1, 0),
                s(SYN | ACK, 9, 0),
                c(ACK, 2, 0),
                c(ACK, 2, 4),
                c(RST, 6, 0),
            ],
        ),
        (
            "RSTR",
            "ShADr",
            vec![
                c(SYN, 1, 0),
                s(SYN | ACK, 9, 0),
                c(ACK, 2, 0),
                c(ACK, 2, 4),
                s(RST, 10, 0),
            ],
        ),
    ];
    for (state, history, pkts) in cases {
        let timed: Vec<_> = pkts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (i as i64 * MS, p))
            .collect();
        let r = run(&timed);
        assert_eq!(r.len(), 1, "{state}");
        assert_eq!(
            (r[0].conn_state.name(), r[0].history.as_str()),
            (state, history),
            "{state}"
        );
    }
}

#[test]
fn port_reuse_after_close_starts_new_flow() {
    let r = run(&[
        (0, c(SYN, 100, 0)),
        (MS, s(SYN | ACK, 500, 0)),
        (2 * MS, c(ACK, 101, 0)),
        (3 * MS, c(FIN | ACK, 101, 0)),
        (4 * MS, s(FIN | ACK, 501, 0)),
        (5 * MS, c(ACK, 102, 0)),
        (NS, c(SYN, 9000, 0)),
        (NS + MS, s(RST | ACK, 0, 0)),
        (2 * NS, c(SYN, 9500, 0)),
    ]);
    let states: Vec<_> = r.iter().map(|f| f.conn_state.name()).collect();
    assert_eq!(states, ["SF", "REJ", "S0"]);
    assert_ne!(r[0].uid, r[1].uid);
}

#[test]
fn syn_retransmission_is_same_flow_and_timed_from_last_syn() {
    let r = run(&[
        (0, c(SYN, 100, 0)),
        (NS, c(SYN, 100, 0)),
        (NS + 10 * MS, s(SYN | ACK, 500, 0)),
        (NS + 10 * MS + 200_000, c(ACK, 101, 0)),
    ]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].syn_synack_ns, Some(10 * MS));
    assert_eq!(r[0].synack_ack_ns, Some(200_000));
}

#[test]
fn out_of_order_synack_first() {
    // The SYN/ACK record comes first but the SYN is 20 us earlier.
    let r = run(&[
        (20_000, s(SYN | ACK, 500, 0)),
        (0, c(SYN, 100, 0)),
        (40_000, c(ACK, 101, 0)),
    ]);
    assert_eq!(r.len(), 1);
    let f = &r[0];
    assert_eq!(f.ts_ns, 0);
    assert_eq!(f.orig_p, 40000);
    assert_eq!(f.syn_synack_ns, Some(20_000));
    assert_eq!(f.synack_ack_ns, Some(20_000));
    assert_eq!(f.duration_ns, 40_000);
    // Letters in time order, and no flip: the client sent the earliest packet.
    assert_eq!(f.history, "ShA");
}

#[test]
fn idle_timeout_splits() {
    let u = |src: u8, sp: u16, dst: u8, dp: u16| Packet {
        vlan: VlanStack::default(),
        v6: false,
        src: a(src),
        dst: a(dst),
        ip_len: 38,
        transport: Transport::Udp(Udp {
            src_port: sp,
            dst_port: dp,
            payload_len: 10,
        }),
    };
    let r = run(&[
        (0, u(1, 5000, 2, 53)),
        (800_000, u(2, 53, 1, 5000)),
        (61 * NS, u(1, 5000, 2, 53)),
    ]);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].rtt_ns, Some(800_000));
    assert_eq!(r[0].conn_state, ConnState::SF);
    assert_eq!(r[1].conn_state, ConnState::S0);
    assert!(r[0].direction_inferred);
}

#[test]
fn inferred_direction_well_known_port() {
    // First packet from the server side (443): the client is the other side, flipped.
    let r = run(&[
        (0, tcp(2, 443, 1, 50123, ACK | PSH, 10, 100)),
        (MS, tcp(1, 50123, 2, 443, ACK, 20, 0)),
    ]);
    assert_eq!(r[0].orig_p, 50123);
    assert!(r[0].direction_inferred);
    assert_eq!(r[0].history, "^dA");
    assert_eq!(r[0].conn_state, ConnState::OTH);
}

#[test]
fn retransmission_letters_are_logarithmic() {
    let mut pkts = vec![
        (0, c(SYN, 100, 0)),
        (MS, s(SYN | ACK, 500, 0)),
        (2 * MS, c(ACK, 101, 0)),
    ];
    for i in 0..12 {
        pkts.push((3 * MS + i, c(ACK, 101, 10)));
    }
    let r = run(&pkts);
    // The first data segment is new; the next 11 are retransmissions: T at the 1st and 10th.
    assert_eq!(r[0].history, "ShADTT");
}

#[test]
fn packet_earlier_than_the_last_four_letters() {
    // Regression: a data packet older than the packets of the last four history letters
    // used to underflow the window of recent letter times.
    let r = run(&[
        (10 * MS, c(SYN, 100, 0)),
        (11 * MS, s(SYN | ACK, 500, 0)),
        (12 * MS, c(ACK, 101, 0)),
        (13 * MS, s(FIN | ACK, 501, 0)),
        (MS, c(ACK | PSH, 101, 10)),
    ]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].history, "DShAf");
    assert_eq!(r[0].ts_ns, MS);
}

#[test]
fn community_id_reference_vectors() {
    // From the community-id-spec baseline (tcp 128.232.110.120:34855 -> 66.35.250.204:80).
    let s = Addr::v4(&[128, 232, 110, 120]);
    let d = Addr::v4(&[66, 35, 250, 204]);
    assert_eq!(
        community_id(6, false, &s, 34855, &d, 80),
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    );
    assert_eq!(
        community_id(6, false, &d, 80, &s, 34855),
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    );
}

#[test]
fn uid_shape_and_determinism() {
    let (k, _) = key::FlowKey::new(6, false, 0, a(1), 1, a(2), 2);
    let u = ids::uid(&k, &[], 5, 0);
    assert_eq!(u.len(), 18);
    assert!(u.starts_with('C'));
    assert_eq!(u, ids::uid(&k, &[], 5, 0));
    assert_ne!(u, ids::uid(&k, &[], 5, 1));
}
