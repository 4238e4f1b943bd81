//! The frame decoder, `decode::decode`, over every link type of the registry; then the counting
//! of the result in the capture statistics.
//!
//! Input: a 4-byte selector (see `common.rs`: link type, wire length adjustment), then the frame.

#![no_main]

use flowaudit::decode::decode;
use flowaudit::stats::Stats;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Some((lt, adjust, frame)) = common::selector(data) else {
        return;
    };
    let wire_len = common::wire_len(frame.len(), adjust);
    let mut stats = Stats::default();
    stats.frame(wire_len);
    match decode(lt, frame, wire_len) {
        Ok(p) => {
            stats.decoded(&p);
            std::hint::black_box(&p);
        }
        Err(skip) => stats.skipped(skip),
    }
    assert_eq!(stats.packets, 1);
    let _ = stats.truncated_by_layer().count();
    let _ = stats.malformed_by_layer().count();
    let _ = stats.not_in_flows();
});
