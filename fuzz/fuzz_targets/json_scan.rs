//! The JSON-lines scanner of `records` (the fast path that reads flowaudit's and Zeek's JSON
//! records without serde) against serde: whenever the scanner reads a line, the record or the
//! error must be the one serde gives; a line it declines is read by serde. No panic either way.
//!
//! Input: one line (the bytes of one JSON object, as the reader hands it over).

#![no_main]

use flowaudit::records::scanner_agrees;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = scanner_agrees(data) {
        panic!(
            "scanner and serde differ on {:?}:\n{e}",
            String::from_utf8_lossy(data)
        );
    }
});
