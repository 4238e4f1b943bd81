//! The flow-record reader (`records::Reader`) fed AWS VPC flow log lines: after a default
//! version-2 line, after a custom header line, or alone (recognised by content), by the
//! selector.
//!
//! Whatever the bytes: no panic; every line read is counted in exactly one of records,
//! skipped, malformed, headers and blank; the items returned are the records counted, all
//! halves with end >= start and one address family; the malformed lines kept are the first
//! few, in line order.
//!
//! Input: 1 selector byte (modulo 3: 0 after a default-format line, 1 after a custom header
//! with tcp-flags, pkt-srcaddr and flow-direction, 2 the input alone), then the lines.

#![no_main]

use std::io::Cursor;

use flowaudit::records::{Format, Item, Reader};
use libfuzzer_sys::fuzz_target;

#[path = "read_all.rs"]
mod read_all;
use read_all::read_all;

const DEFAULT_LINE: &[u8] =
    b"2 123456789010 eni-1 10.0.0.1 10.0.0.2 1000 80 6 1 60 1700000000 1700000001 ACCEPT OK";
const HEADER: &[u8] = b"version interface-id srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol packets bytes start end action tcp-flags log-status flow-direction traffic-path";

fuzz_target!(|data: &[u8]| {
    let Some((&sel, lines)) = data.split_first() else {
        return;
    };
    let first = match sel % 3 {
        0 => Some(DEFAULT_LINE),
        1 => Some(HEADER),
        _ => None,
    };
    let mut input = Vec::with_capacity(HEADER.len() + 1 + lines.len());
    if let Some(f) = first {
        input.extend_from_slice(f);
        input.push(b'\n');
    }
    input.extend_from_slice(lines);
    let reader = match Reader::open("fuzz", Cursor::new(input)) {
        Ok(r) => r,
        Err(e) => {
            assert!(first.is_none(), "a VPC first line was not recognised: {e}");
            std::hint::black_box(e.to_string());
            return;
        }
    };
    if first.is_some() {
        assert_eq!(reader.format(), Format::VpcFlowLog);
    }
    read_all(reader, |item| {
        if let Item::Half(h) = item {
            assert!(h.end_ns >= h.start_ns, "{h:?}");
            assert_eq!(h.src.is_ipv4(), h.dst.is_ipv4(), "{h:?}");
        }
    });
});
