//! The flow-record reader (`records::Reader`) fed Suricata EVE JSON lines: an EVE `flow` line
//! first (so the format is EVE), then the input's lines; or, by the selector, the input alone
//! (recognised by content, EVE or not).
//!
//! Whatever the bytes: no panic; every line read is counted in exactly one of records,
//! skipped, malformed, headers and blank; the items returned are the records counted; the
//! malformed lines kept are the first few, in line order; every half has end >= start; a
//! pair's halves mirror each other's endpoints.
//!
//! Input: 1 selector byte (even: after an EVE flow line; odd: the input alone), then the
//! lines.

#![no_main]

use std::io::Cursor;

use flowaudit::records::{Format, HalfFlow, Item, Reader};
use libfuzzer_sys::fuzz_target;

#[path = "read_all.rs"]
mod read_all;
use read_all::read_all;

const FIRST: &[u8] = br#"{"timestamp":"2026-11-29T12:00:05.000000+0100","flow_id":7,"event_type":"flow","src_ip":"10.0.0.1","src_port":1000,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":60,"bytes_toclient":60,"start":"2026-11-29T12:00:00.000000+0100","end":"2026-11-29T12:00:01.000000+0100","age":1,"state":"new","reason":"timeout","alerted":false},"tcp":{"tcp_flags":"12","tcp_flags_ts":"02","tcp_flags_tc":"12"}}"#;

fn check(h: &HalfFlow) {
    assert!(h.end_ns >= h.start_ns, "{h:?}");
    assert_eq!(h.src.is_ipv4(), h.dst.is_ipv4(), "{h:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, lines)) = data.split_first() else {
        return;
    };
    let mut input = Vec::with_capacity(FIRST.len() + 1 + lines.len());
    if sel % 2 == 0 {
        input.extend_from_slice(FIRST);
        input.push(b'\n');
    }
    input.extend_from_slice(lines);
    let reader = match Reader::open("fuzz", Cursor::new(input)) {
        Ok(r) => r,
        Err(e) => {
            assert!(sel % 2 == 1, "an EVE first line was not recognised: {e}");
            std::hint::black_box(e.to_string());
            return;
        }
    };
    if sel % 2 == 0 {
        assert_eq!(reader.format(), Format::SuricataEve);
    }
    read_all(reader, |item| match item {
        Item::Half(h) => check(h),
        Item::Pair { orig, resp } => {
            check(orig);
            check(resp);
            assert_eq!((orig.src, orig.src_port), (resp.dst, resp.dst_port));
            assert_eq!((orig.dst, orig.dst_port), (resp.src, resp.src_port));
        }
        Item::Flow(_) => {}
    });
});
