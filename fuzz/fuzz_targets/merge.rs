//! What holds flow records between the readers and the audit, under a cap on what they hold:
//! each input's pairing of one-way records (`records::pair::Pairer`) and the merge of
//! duplicates across inputs (`records::dedupe::Dedupe`), fed as `audit` feeds them (each
//! input's records to the merge, the clock advancing), with a limit of 0 (none) to 7.
//!
//! Whatever the sequence: no panic; open entries and held records never exceed the limit;
//! every half given is counted by its pairer; every record the pairers make leaves the merge,
//! or is merged into another, exactly once; records released early and entries evicted are
//! counted only when there is a limit.
//!
//! Input: 1 byte (the limit, modulo 8), then 8-byte operations: kind (modulo 4: a half, a
//! record of both directions, a half with a flow id, the clock advancing), input (modulo 3),
//! client host and port (modulo 4 each: few endpoints, so connections and duplicates meet),
//! TCP flags, time step (seconds), duration (seconds), packets.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use flowaudit::flow::{FlowRecord, NoServerPorts, Proto};
use flowaudit::records::HalfFlow;
use flowaudit::records::Item;
use flowaudit::records::dedupe::Dedupe;
use flowaudit::records::pair::Pairer;
use libfuzzer_sys::fuzz_target;

const S: i64 = 1_000_000_000;

fn half(op: &[u8], now: i64, reply: bool) -> HalfFlow {
    let client = IpAddr::V4(Ipv4Addr::new(10, 0, 0, op[2] % 4));
    let server = IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1));
    let cport = 1024 + u16::from(op[3] % 4);
    let proto = if op[4] & 0x80 != 0 { Proto::Udp } else { Proto::Tcp };
    let mut h = if reply {
        HalfFlow::new(proto, server, 443, client, cport)
    } else {
        HalfFlow::new(proto, client, cport, server, 443)
    };
    h.start_ns = now;
    h.end_ns = now + i64::from(op[6] % 16) * S;
    h.pkts = u64::from(op[7]) + 1;
    h.ip_bytes = h.pkts * 60;
    h.tcp_flags = (proto == Proto::Tcp).then_some(op[4] & 0x3f);
    h
}

fuzz_target!(|data: &[u8]| {
    let Some((&limit, ops)) = data.split_first() else {
        return;
    };
    let limit = usize::from(limit % 8);
    let mut pairers: Vec<Pairer> = (0..3)
        .map(|_| Pairer::new(30 * S, 10 * S, 2 * S, &NoServerPorts).with_limit(limit))
        .collect();
    let mut dedupe = Dedupe::new(5 * S).with_limit(limit);
    let mut now = 1_000 * S;
    let mut halves = [0u64; 3];
    let (mut made, mut released) = (0u64, 0u64);
    let mut out: Vec<FlowRecord> = Vec::new();
    let mut take = |out: &mut Vec<FlowRecord>, input: usize, d: &mut Dedupe, released: &mut u64| {
        for r in out.drain(..) {
            made += 1;
            d.add(r, input, |_, _| *released += 1);
        }
        assert!(limit == 0 || d.held() <= limit, "held {} > {limit}", d.held());
    };
    for op in ops.chunks_exact(8) {
        let input = usize::from(op[1] % 3);
        now += i64::from(op[5] % 8) * S;
        let p = &mut pairers[input];
        match op[0] % 4 {
            0 => {
                p.add(Item::Half(half(op, now, op[4] & 0x40 != 0)), &mut out);
                halves[input] += 1;
            }
            1 => {
                p.add(
                    Item::Pair {
                        orig: half(op, now, false),
                        resp: half(op, now, true),
                    },
                    &mut out,
                );
                halves[input] += 2;
            }
            2 => {
                let mut h = half(op, now, op[4] & 0x40 != 0);
                h.flow_id = Some(u64::from(op[7] % 4));
                p.add(Item::Half(h), &mut out);
                halves[input] += 1;
            }
            _ => {
                for (j, p) in pairers.iter_mut().enumerate() {
                    p.advance(now, &mut out);
                    take(&mut out, j, &mut dedupe, &mut released);
                }
                dedupe.advance(now, |_, _| released += 1);
                continue;
            }
        }
        assert!(limit == 0 || p.open() <= limit, "open {} > {limit}", p.open());
        take(&mut out, input, &mut dedupe, &mut released);
    }
    for (j, p) in pairers.iter_mut().enumerate() {
        p.finish(&mut out);
        take(&mut out, j, &mut dedupe, &mut released);
        assert_eq!(p.stats.halves, halves[j]);
        assert!(limit > 0 || p.stats.evicted == 0);
    }
    dedupe.finish(|_, _| released += 1);
    assert_eq!(dedupe.held(), 0);
    assert_eq!(released + dedupe.stats.merged, made);
    assert!(limit > 0 || dedupe.stats.released_early == 0);
});
