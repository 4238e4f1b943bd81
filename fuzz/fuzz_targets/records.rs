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

fuzz_target!(|data: &[u8]| {
    let mut reader = match Reader::open("fuzz", Cursor::new(data.to_vec())) {
        Ok(r) => r,
        Err(e) => {
            // Not a known format, or unreadable: one typed error, with its message.
            std::hint::black_box(e.to_string());
            return;
        }
    };
    let mut records = 0u64;
    loop {
        match reader.next_item() {
            Ok(Some(r)) => {
                records += 1;
                std::hint::black_box(&r);
            }
            Ok(None) => break,
            Err(e) => {
                std::hint::black_box(e.to_string());
                break;
            }
        }
    }
    // After the end or an error, the reader stays finished.
    assert!(matches!(reader.next_item(), Ok(None)));
    let s = reader.stats();
    assert_eq!(s.records, records, "records returned and counted differ");
    if let Err(e) = s.consistency() {
        panic!("{e}");
    }
});
