//! The read loop the record-reader targets share: reads a `records::Reader` to its end (or its
//! first error) and checks what every target checks.
//!
//! Checked: every item returned is handed to the target's own check; after the end or an
//! error the reader stays finished; the items returned are the records counted; the
//! statistics hold `ReadStats::consistency` (every line counted in exactly one of records,
//! skipped, malformed, headers and blank; the malformed lines kept are the first few, in line
//! order).

use flowaudit::records::{Item, Reader};

/// Reads `reader` to its end with the checks above, calling `check` on every item.
pub fn read_all(mut reader: Reader, mut check: impl FnMut(&Item)) {
    let mut records = 0u64;
    loop {
        match reader.next_item() {
            Ok(Some(item)) => {
                records += 1;
                check(&item);
                std::hint::black_box(&item);
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
}
