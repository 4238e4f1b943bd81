//! The flow-record reader (`records::Reader`) fed arbitrary bytes: Zeek conn.log as TSV or JSON
//! lines, flowaudit's JSON lines, plain or gzip, recognised by content, read line by line.
//!
//! Whatever the bytes: no panic; once the format is recognised, every line read is counted in
//! exactly one of records, skipped, malformed, headers and blank; an error (a Zeek header block
//! without a column a flow record needs, or a read error inside a gzip stream) ends the reading
//! and the reader stays finished; the records read count as records; the malformed lines kept
//! are the first few, in line order.
//!
//! Input: the bytes of one input file, no selector.

#![no_main]

use std::io::Cursor;

use flowaudit::records::Reader;
use libfuzzer_sys::fuzz_target;

#[path = "read_all.rs"]
mod read_all;
use read_all::read_all;

fuzz_target!(|data: &[u8]| {
    let reader = match Reader::open("fuzz", Cursor::new(data.to_vec())) {
        Ok(r) => r,
        Err(e) => {
            // Not a known format, or unreadable: one typed error, with its message.
            std::hint::black_box(e.to_string());
            return;
        }
    };
    read_all(reader, |_| {});
});
