//! Flow-stage tests: exact records from annotated packet sequences.

use super::*;
use crate::decode::{Addr, Checksum, Packet, Tcp, Transport, Udp, VlanStack, tcpflags::*};

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
            app: Default::default(),
        }),
        encap: Default::default(),
        sni: Default::default(),
        csum: Checksum::Unchecked,
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
    // Zeek stops the connection's clock once both sides closed: the last ACK counts as a
    // packet but not in the duration.
    assert_eq!(f.duration_ns, 15 * MS);
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
    // The SYN/ACK acknowledges the SYN (Zeek compares the SYN with the sequence number the
    // SYN/ACK implies, else it takes the SYN for a new connection).
    let synack = match s(SYN | ACK, 500, 0) {
        Packet {
            transport: Transport::Tcp(t),
            ..
        } => Packet {
            transport: Transport::Tcp(Tcp { ack: 101, ..t }),
            ..s(SYN | ACK, 500, 0)
        },
        other => other,
    };
    let r = run(&[
        (20_000, synack),
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
            app: Default::default(),
        }),
        encap: Default::default(),
        sni: Default::default(),
        csum: Checksum::Unchecked,
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

/// What a sink saw, in order: `F uid` for a record (with the index of the packet being handled
/// when it came), `B sec bytes` for a second.
#[derive(Default)]
struct Log {
    at: usize,
    events: Vec<String>,
    records: Vec<FlowRecord>,
    seconds: Vec<SecondBytes>,
}

impl FlowSink for Log {
    fn flow(&mut self, r: &FlowRecord) {
        self.events.push(format!(
            "{} {} {}{}",
            self.at,
            r.conn_state,
            r.orig_pkts + r.resp_pkts,
            if r.evicted { " evicted" } else { "" }
        ));
        self.records.push(r.clone());
    }
    fn second(&mut self, b: &SecondBytes) {
        self.events
            .push(format!("{} second {} {}", self.at, b.sec, b.ip_bytes));
        self.seconds.push(*b);
    }
}

/// Runs packets, noting before which packet (by index; `n` for the end) each event came.
fn log_with(cfg: FlowConfig, pkts: &[(i64, Packet)]) -> (Log, TableStats) {
    let mut log = Log::default();
    let mut t = FlowTable::new(cfg, &NoServerPorts);
    for (i, (ts, p)) in pkts.iter().enumerate() {
        log.at = i;
        t.packet(*ts, p, &mut log);
    }
    log.at = pkts.len();
    let stats = t.finish(&mut log);
    (log, stats)
}

/// Client `n` (10.0.0.n:40000) -> 10.0.0.2:80.
fn cn(n: u8, flags: u8, seq: u32) -> Packet {
    tcp(n, 40000, 2, 80, flags, seq, 0)
}

#[test]
fn flows_end_at_their_deadline_in_packet_time() {
    // A closes at 3 ms and lingers 5 s; B is an attempt idle past the 300 s TCP timeout; a UDP
    // flow idles past 60 s. Each record comes with the first packet after its deadline, before
    // that packet is handled, and the flows still open come at the end.
    let udp = Packet {
        transport: Transport::Udp(Udp {
            src_port: 5353,
            dst_port: 53,
            payload_len: 10,
            app: Default::default(),
        }),
        ..tcp(7, 0, 2, 0, 0, 0, 0)
    };
    let (log, stats) = log_with(
        FlowConfig::default(),
        &[
            (0, c(SYN, 100, 0)),
            (MS, s(SYN | ACK, 500, 0)),
            (2 * MS, c(FIN | ACK, 101, 0)),
            (3 * MS, s(FIN | ACK, 501, 0)),
            (4 * MS, cn(3, SYN, 7)),
            (5 * MS, udp),
            (5 * NS + 2 * MS, cn(4, SYN, 9)), // before A's close (3 ms) + 5 s: A still lingers
            (5 * NS + 3 * MS, cn(4, SYN, 9)), // at it: A ends (Zeek's timers fire at their time)
            (5 * NS + 4 * MS, cn(4, SYN, 9)), // B, an attempt, ends 5 s after its SYN
            (61 * NS, cn(4, SYN, 9)), // the 4th client's attempt ended at 10 s; UDP (idle 60 s)
            (301 * NS, cn(5, SYN, 1)), // the 4th client's new attempt ended at 66 s
        ],
    );
    assert_eq!(
        log.events,
        ["7 SF 4", "8 S0 1", "9 S0 3", "9 S0 1", "10 S0 1", "11 S0 1"],
        "{:?}",
        log.records
    );
    assert_eq!(stats.flows, 6);
    assert_eq!(stats.peak_open, 4);
}

#[test]
fn stray_packets_join_a_closed_flow_during_the_linger_only() {
    let close = [
        (0, c(SYN, 100, 0)),
        (MS, s(SYN | ACK, 500, 0)),
        (2 * MS, c(ACK, 101, 0)),
        (3 * MS, c(RST, 101, 0)),
    ];
    // A retransmitted RST 4 s later still belongs to the connection.
    let mut within = close.to_vec();
    within.push((4 * NS, c(RST, 101, 0)));
    let r = run(&within);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].conn_state, r[0].orig_pkts), (ConnState::RSTO, 4));
    // 6 s later it starts a flow of its own (Zeek's tcp_close_delay).
    let mut after = close.to_vec();
    after.push((6 * NS, c(RST, 101, 0)));
    let r = run(&after);
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].conn_state, r[0].orig_pkts), (ConnState::RSTO, 3));
    assert_eq!(
        (r[1].conn_state, r[1].history.as_str()),
        (ConnState::OTH, "R")
    );
    // The linger is configurable.
    let cfg = FlowConfig {
        linger_ns: 10 * NS,
        ..FlowConfig::default()
    };
    assert_eq!(run_with(cfg, &after).len(), 1);
}

#[test]
fn a_full_table_evicts_the_flow_idle_the_longest() {
    let cfg = FlowConfig {
        max_flows: 2,
        ..FlowConfig::default()
    };
    // Flows 1 and 3 are open (mid-stream); 1 had a packet after 3, so 3 is idle the longest
    // when 4 comes.
    let (log, stats) = log_with(
        cfg,
        &[
            (0, cn(1, ACK, 1)),
            (MS, cn(3, ACK, 3)),
            (2 * MS, cn(1, ACK, 1)),
            (3 * MS, cn(4, ACK, 4)),
            (4 * MS, cn(3, ACK, 3)), // 3 again: a new flow, which evicts 1
        ],
    );
    assert_eq!(
        log.events,
        ["3 OTH 1 evicted", "4 OTH 2 evicted", "5 OTH 1", "5 OTH 1"]
    );
    assert_eq!(stats.evicted, 2);
    assert_eq!(stats.peak_open, 2);
    // Every packet is in exactly one record.
    let pkts: u64 = log.records.iter().map(|r| r.orig_pkts + r.resp_pkts).sum();
    assert_eq!(pkts, 5);
    // The evicted flow and the later one of the same connection have different uids.
    assert_ne!(log.records[0].uid, log.records[3].uid);
}

#[test]
fn a_full_table_evicts_a_flow_whose_expiry_entry_moved_queues() {
    // The handshake leaves flow 1's entry in the queue of attempts; when flow 3 comes, settling
    // that queue moves the entry to the open-TCP queue, and the eviction must still see it.
    // Found by the `flow` fuzz target (the table held 2 flows with a cap of 1).
    let cfg = FlowConfig {
        max_flows: 1,
        ..FlowConfig::default()
    };
    let (log, stats) = log_with(
        cfg,
        &[
            (0, cn(1, SYN, 100)),
            (10 * MS, tcp(2, 80, 1, 40000, SYN | ACK, 500, 0)),
            (11 * MS, cn(1, ACK, 101)),
            (12 * MS, cn(3, ACK, 7)),
        ],
    );
    assert_eq!(log.events, ["3 S1 3 evicted", "4 OTH 1"]);
    assert_eq!(stats.evicted, 1);
    assert_eq!(stats.peak_open, 1);
}

#[test]
fn flows_end_in_deadline_order_when_an_entry_moves_queues() {
    // Flow 1's handshake leaves its entry among the attempts (due at 2 s, its idle timeout);
    // settling that queue moves it to the open-TCP queue, due at 2.02 s, which is before flow
    // 3's attempt (2.5 s): flow 1 must end first.
    let cfg = FlowConfig {
        tcp_idle_ns: 2 * NS,
        ..FlowConfig::default()
    };
    let (log, _) = log_with(
        cfg,
        &[
            (0, cn(1, SYN, 100)),
            (10 * MS, tcp(2, 80, 1, 40000, SYN | ACK, 500, 0)),
            (20 * MS, cn(1, ACK, 101)),
            (500 * MS, cn(3, SYN, 7)),
            (3 * NS, cn(4, SYN, 9)),
        ],
    );
    assert_eq!(log.events, ["4 S1 3", "4 S0 1", "5 S0 1"]);
}

#[test]
fn eviction_compares_idle_time_across_protocols() {
    let cfg = FlowConfig {
        max_flows: 2,
        ..FlowConfig::default()
    };
    let udp = |ts_client: u8| Packet {
        transport: Transport::Udp(Udp {
            src_port: 5353,
            dst_port: 53,
            payload_len: 1,
            app: Default::default(),
        }),
        ..tcp(ts_client, 0, 2, 0, 0, 0, 0)
    };
    // The TCP attempt (idle since 0) is evicted rather than the UDP flow (idle since 1 s),
    // although the UDP flow is nearer its (shorter) timeout.
    let (log, _) = log_with(
        cfg,
        &[(0, cn(1, SYN, 1)), (NS, udp(9)), (2 * NS, cn(3, SYN, 3))],
    );
    assert_eq!(log.events[0], "2 S0 1 evicted");
}

#[test]
fn seconds_add_up_to_the_flow_and_come_when_the_second_is_over() {
    let cfg = FlowConfig {
        seconds: true,
        ..FlowConfig::default()
    };
    let t0 = 1_000 * NS;
    let (log, _) = log_with(
        cfg,
        &[
            (t0, c(SYN, 100, 0)),                   // 40
            (t0 + MS, s(SYN | ACK, 500, 0)),        // 40
            (t0 + NS, c(ACK | PSH, 101, 1000)),     // 1040, second 1001
            (t0 + NS + MS, c(ACK | PSH, 1101, 60)), // 100
            (t0 + 3 * NS, s(ACK, 501, 0)),          // 40, second 1003
            (t0 + 2 * NS, c(ACK, 1161, 0)),         // 40, second 1002: already over
        ],
    );
    assert_eq!(
        log.events,
        [
            "2 second 1000 80",
            "4 second 1001 1140",
            "5 second 1002 40",
            "6 second 1003 40",
            "6 S1 6"
        ]
    );
    let r = &log.records[0];
    let total: u64 = log.seconds.iter().map(|b| b.ip_bytes).sum();
    assert_eq!(total, r.orig_ip_bytes + r.resp_ip_bytes);
    // Each second names the flow's client and server as known then.
    assert!(
        log.seconds
            .iter()
            .all(|b| b.resp_p == 80 && !b.direction_inferred)
    );
}

#[test]
fn bare_attempts_give_the_same_records_as_full_flows() {
    // Repeated SYNs stay a bare attempt; the records must be those of the full state machine:
    // a SYN/ACK after three SYNs, a different ISN (a new attempt), a zero window.
    let r = run(&[
        (0, c(SYN, 100, 0)),
        (NS, c(SYN, 100, 0)),
        (3 * NS, c(SYN, 100, 0)),
        (3 * NS + MS, s(SYN | ACK, 500, 0)),
        (3 * NS + 2 * MS, c(ACK, 101, 0)),
    ]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].history, "ShA");
    assert_eq!(r[0].syn_synack_ns, Some(MS));
    assert_eq!((r[0].orig_pkts, r[0].duration_ns), (4, 3 * NS + 2 * MS));
    let r = run(&[(0, c(SYN, 100, 0)), (NS, c(SYN, 900, 0))]);
    assert_eq!(r.len(), 2);
    let mut zero = c(SYN, 100, 0);
    if let Transport::Tcp(t) = &mut zero.transport {
        t.window = 0;
    }
    let r = run(&[(0, zero), (NS, zero)]);
    assert_eq!((r.len(), r[0].history.as_str()), (1, "SW"));
    // An attempt that ends as one: S0 with the last SYN time.
    let r = run(&[(0, c(SYN, 100, 0)), (NS, c(SYN, 100, 0))]);
    assert_eq!(
        (r[0].conn_state, r[0].history.as_str(), r[0].orig_pkts),
        (ConnState::S0, "S", 2)
    );
}

#[test]
fn bad_checksums_under_each_mode() {
    use crate::decode::ChecksumMode;
    let bad = |mut p: Packet| {
        p.csum = Checksum::BadL4;
        p
    };
    let pkts = [
        (0, bad(c(SYN, 100, 0))), // a bad first packet makes the flow, and nothing else
        (MS, c(SYN, 100, 0)),
        (2 * MS, s(SYN | ACK, 500, 0)),
        (3 * MS, bad(c(ACK | PSH, 101, 10))),
        (4 * MS, c(ACK | PSH, 101, 10)),
        (5 * MS, bad(s(ACK, 501, 0))),
    ];
    let mode = |checksums| FlowConfig {
        checksums,
        ..FlowConfig::default()
    };
    let r = run_with(mode(ChecksumMode::Ignore), &pkts);
    assert_eq!(
        (r[0].orig_pkts, r[0].resp_pkts, r[0].bad_checksums),
        (4, 2, 0)
    );
    assert_eq!(r[0].history, "ShDTa");
    let r = run_with(mode(ChecksumMode::Count), &pkts);
    assert_eq!(
        (r[0].orig_pkts, r[0].resp_pkts, r[0].bad_checksums),
        (4, 2, 3)
    );
    assert_eq!(r[0].history, "ShDTa");
    // Drop: the bad segments count nowhere but in C/c (1st, 10th, ... per side) and in
    // bad_checksums. The bad SYN made a connection whose client never got an initial
    // sequence number, so the good SYN is a reuse for Zeek's IsReuse (a SYN whose sequence
    // number is not the opener's): two records.
    let r = run_with(mode(ChecksumMode::Drop), &pkts);
    assert_eq!(r.len(), 2);
    assert_eq!(
        (r[0].orig_pkts, r[0].bad_checksums, r[0].history.as_str()),
        (0, 1, "C")
    );
    assert_eq!(
        (r[1].orig_pkts, r[1].resp_pkts, r[1].bad_checksums),
        (2, 1, 2)
    );
    assert_eq!((r[1].ts_ns, r[1].orig_bytes), (MS, 10));
    assert_eq!(r[1].history, "ShCDc");
    // A flow made only of bad segments ends 11 s after its first (Zeek's first expiry check
    // that finds it idle), with no packet counted.
    let only_bad = [(0, bad(c(SYN, 100, 0))), (12 * NS, c(ACK, 101, 0))];
    let r = run_with(mode(ChecksumMode::Drop), &only_bad);
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].orig_pkts, r[0].history.as_str()), (0, "C"));
}

/// A server segment acknowledging `ack`.
fn s_ack(flags: u8, seq: u32, ack: u32) -> Packet {
    match s(flags, seq, 0) {
        Packet {
            transport: Transport::Tcp(t),
            ..
        } => Packet {
            transport: Transport::Tcp(Tcp { ack, ..t }),
            ..s(flags, seq, 0)
        },
        other => other,
    }
}

#[test]
fn content_gaps_from_acknowledgements() {
    let hs = [
        (0, c(SYN, 100, 0)),
        (MS, s_ack(SYN | ACK, 500, 101)),
        (2 * MS, c(ACK, 101, 0)),
    ];
    // One hole: 101..=200 seen, 201..=300 never, 301..=400 seen; the server acks all.
    let mut one = hs.to_vec();
    one.extend([
        (3 * MS, c(ACK | PSH, 101, 100)),
        (4 * MS, c(ACK | PSH, 301, 100)),
        (5 * MS, s_ack(ACK, 501, 401)),
    ]);
    let r = run(&one);
    assert_eq!((r[0].missed_bytes, r[0].history.as_str()), (100, "ShADaG"));
    // The hole filled (a late segment, which Zeek takes for a retransmission: below the
    // highest sequence number sent) before the ack: no gap.
    let mut filled = one.clone();
    filled.insert(5, (4 * MS + 1, c(ACK | PSH, 201, 100)));
    let r = run(&filled);
    assert_eq!((r[0].missed_bytes, r[0].history.as_str()), (0, "ShADTa"));
    // Two holes (201..=300, 401..=500): one range is kept above the stream, so the hole
    // between the two ranges seen above it is taken as seen: 100 missed where Zeek counts 200.
    let mut two = hs.to_vec();
    two.extend([
        (3 * MS, c(ACK | PSH, 101, 100)),
        (4 * MS, c(ACK | PSH, 301, 100)),
        (5 * MS, c(ACK | PSH, 501, 100)),
        (6 * MS, s_ack(ACK, 501, 601)),
    ]);
    let r = run(&two);
    assert_eq!((r[0].missed_bytes, r[0].history.as_str()), (100, "ShADaG"));
    // No gap is believed on a connection not cleanly established (mid-stream here).
    let r = run(&[(0, c(ACK | PSH, 101, 100)), (MS, s_ack(ACK, 501, 401))]);
    assert_eq!(r[0].missed_bytes, 0);
}
