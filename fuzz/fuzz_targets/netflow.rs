//! The NetFlow/IPFIX collector (`records::netflow::Collector`) fed a sequence of export
//! messages through one collector, so that templates and options data carry over from one
//! message to the next; then the same bytes read as an RFC 5655 IPFIX file.
//!
//! Whatever the bytes: no panic; a message that is read appends exactly its records' items,
//! one that is not appends nothing and is counted malformed; every message is counted once
//! (read by version, or malformed); the records counted equal the items returned; the
//! templates kept never exceed `MAX_TEMPLATES`; every half ends no earlier than it starts and
//! has a sampling rate of at least 1.
//!
//! Input: messages, each a 2-byte little-endian length, 1 byte choosing one of two exporters,
//! then that many bytes (the last one takes what is left).

#![no_main]

use std::net::SocketAddr;

use flowaudit::records::netflow::{Collector, IpfixFile, MAX_TEMPLATES};
use flowaudit::records::{HalfFlow, Item};
use libfuzzer_sys::fuzz_target;

fn check(h: &HalfFlow) {
    assert!(h.end_ns >= h.start_ns, "{h:?}");
    assert!(h.sampling >= 1, "{h:?}");
}

fn check_item(i: &Item) {
    match i {
        Item::Half(h) => check(h),
        Item::Pair { orig, resp } => {
            check(orig);
            check(resp);
        }
        Item::Flow(f) => panic!("a flow record from NetFlow: {f:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let exporters: [SocketAddr; 2] = [
        "192.0.2.1:2055".parse().unwrap(),
        "[2001:db8::1]:4739".parse().unwrap(),
    ];
    let mut c = Collector::new();
    let mut rest = data;
    let (mut messages, mut bad, mut items) = (0u64, 0u64, 0u64);
    let mut out = Vec::new();
    while rest.len() >= 3 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let exporter = exporters[usize::from(rest[2] & 1)];
        rest = &rest[3..];
        let msg = &rest[..len.min(rest.len())];
        rest = &rest[msg.len()..];
        out.clear();
        messages += 1;
        match c.message(exporter, msg, &mut out) {
            Ok(ms) => {
                assert_eq!(ms.records, out.len() as u64);
                assert!(ms.pairs <= ms.records);
                items += ms.records;
            }
            Err(e) => {
                assert!(out.is_empty());
                std::hint::black_box(e.to_string());
                bad += 1;
            }
        }
        out.iter().for_each(check_item);
        assert!(c.templates() <= MAX_TEMPLATES);
    }
    let s = c.stats();
    let n = c.counts();
    assert_eq!(s.lines, messages);
    assert_eq!(s.malformed, bad);
    assert_eq!(n.v5 + n.v9 + n.ipfix + s.malformed, s.lines);
    assert_eq!(s.records, items);

    // The same bytes as an IPFIX file.
    let mut f = IpfixFile::new(data);
    let mut got = 0u64;
    loop {
        match f.next_item() {
            Ok(Some(i)) => {
                check_item(&i);
                got += 1;
            }
            Ok(None) => break,
            Err(e) => panic!("a byte slice cannot fail to read: {e}"),
        }
    }
    let s = f.collector().stats();
    assert_eq!(s.records, got);
    assert!(f.offset() <= data.len() as u64);
    assert_eq!(f.collector().counts().ipfix + s.malformed, s.lines);
});
