//! The application-protocol recognisers, `decode::app::recognise`, on a payload taken both as a
//! TCP segment's and as a UDP datagram's: never a panic; a server name only in a TLS
//! ClientHello, inside the payload; and a few shorter prefixes of a recognised input give the
//! same hint, Short, or one of the two verdicts decided before the message ends (a ClientHello
//! once its version is read, a request line once its known method is), never another protocol.
//!
//! Input: the payload's bytes.

#![no_main]

use flowaudit::decode::app::{AppHint, Hint, recognise};
use libfuzzer_sys::fuzz_target;

/// A verdict's span invariants on `payload`.
fn spans(payload: &[u8], h: AppHint) {
    if h.name_len == 0 {
        assert_eq!(h.name_off, 0, "{h:?}");
        return;
    }
    assert_eq!(h.hint, Hint::TlsClientHello, "{h:?}");
    let end = usize::from(h.name_off) + usize::from(h.name_len);
    assert!(end <= payload.len(), "{h:?} past {} bytes", payload.len());
    assert_eq!(
        h.name(payload).map(<[u8]>::len),
        Some(usize::from(h.name_len))
    );
}

fuzz_target!(|data: &[u8]| {
    for tcp in [true, false] {
        let full = recognise(data, tcp);
        spans(data, full);
        if data.is_empty() {
            assert_eq!(full, AppHint::default());
            continue;
        }
        if !matches!(full.hint, Hint::None | Hint::Short) {
            for n in [1, data.len() / 2, data.len().saturating_sub(1)] {
                let n = n.clamp(1, data.len());
                let cut = recognise(&data[..n], tcp);
                spans(&data[..n], cut);
                let early = matches!(cut.hint, Hint::TlsClientHello | Hint::HttpRequest);
                assert!(
                    cut.hint == full.hint || cut.hint == Hint::Short || early,
                    "{full:?} but {cut:?} on {n} of {} bytes",
                    data.len()
                );
            }
        }
    }
});
