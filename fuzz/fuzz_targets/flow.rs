//! The flow table fed by decoded frames: a sequence of frames with timestamps goes through
//! `stats::Tally::frame` (decoding, checksum verification, IP reassembly), then
//! `FlowTable::packet`, then `FlowTable::finish`.
//!
//! Input:
//! - 12-byte header: config byte (bit 0: per-second bytes on; bits 1-3: cap on open flows,
//!   0 = none, else 1 to 7), server port (u16 LE, named as a server port), first timestamp
//!   (i64 LE, ns; any value, as a pcapng file can carry, saturated ends included), checksum mode
//!   (byte modulo 3: ignore, count, drop).
//! - then frames, each: time step (i32 LE, microseconds; negative goes back in time), the 4-byte
//!   selector of `common.rs` (link type, wire length adjustment), frame length (u16 LE), the
//!   frame's bytes (fewer if the input ends).

#![no_main]

use flowaudit::decode::ChecksumMode;
use flowaudit::flow::{
    FlowConfig, FlowRecord, FlowSink, FlowTable, NS, Proto, SecondBytes, ServerPorts,
};
use flowaudit::stats::{InputSummary, Tally};
use libfuzzer_sys::fuzz_target;

mod common;

/// Names one port as a server port.
struct OnePort(u16);

impl ServerPorts for OnePort {
    fn server_port_rank(&self, _: Proto, port: u16) -> Option<u32> {
        (port == self.0).then_some(1)
    }
}

/// Takes what the table hands on, keeping nothing.
#[derive(Default)]
struct Check {
    flows: u64,
}

impl FlowSink for Check {
    fn flow(&mut self, r: &FlowRecord) {
        std::hint::black_box(r);
        self.flows += 1;
    }
    fn second(&mut self, b: &SecondBytes) {
        std::hint::black_box(b);
    }
}

const HEADER_LEN: usize = 12;
const FRAME_HEADER_LEN: usize = 4 + common::SELECTOR_LEN + 2;

fuzz_target!(|data: &[u8]| {
    let Some((header, mut rest)) = data.split_first_chunk::<HEADER_LEN>() else {
        return;
    };
    let config = header[0];
    let cap = usize::from((config >> 1) & 7);
    let servers = OnePort(u16::from_le_bytes([header[1], header[2]]));
    let mut ts = i64::from_le_bytes(header[3..11].try_into().unwrap());
    let cfg = FlowConfig {
        tcp_idle_ns: 30 * NS,
        udp_idle_ns: 10 * NS,
        linger_ns: 2 * NS,
        max_flows: cap,
        seconds: config & 1 != 0,
        checksums: [
            ChecksumMode::Ignore,
            ChecksumMode::Count,
            ChecksumMode::Drop,
        ][usize::from(header[11] % 3)],
    };
    let mut tally =
        Tally::new(InputSummary::new("fuzz".into(), None)).with_checksums(cfg.checksums);
    let mut table = FlowTable::new(cfg, &servers);
    let mut sink = Check::default();
    while let Some((fh, body)) = rest.split_first_chunk::<FRAME_HEADER_LEN>() {
        let step = i64::from(i32::from_le_bytes([fh[0], fh[1], fh[2], fh[3]]));
        ts = ts.saturating_add(step.saturating_mul(1000));
        let Some((lt, adjust, _)) = common::selector(&fh[4..]) else {
            return;
        };
        let len = usize::from(u16::from_le_bytes([fh[8], fh[9]])).min(body.len());
        let (frame, next) = body.split_at(len);
        rest = next;
        if let Some(p) = tally.frame(ts, lt, frame, common::wire_len(frame.len(), adjust)) {
            table.packet(ts, &p, &mut sink);
        }
        if cap != 0 {
            assert!(
                table.open() <= cap,
                "{} flows open, cap {cap}",
                table.open()
            );
        }
    }
    table.open_records(&mut |r| {
        std::hint::black_box(r);
    });
    table.finish(&mut sink);
    assert_eq!(table.open(), 0);
    std::hint::black_box(tally.finish());
});
