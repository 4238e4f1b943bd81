//! IP fragment reassembly end to end: the real binary on a real capture of kernel fragments and on
//! the generated hostile cases, every record field and the fragment statistics exactly; the
//! audit's JSON counters; and reassembly allocating nothing per packet once warm.
//!
//! Expected records:
//! - `fixtures/fragments/real.expected.jsonl` (real kernel fragments, recorded by
//!   fixtures/fragments/record.sh) agrees field by field with tshark's own reassembly
//!   (`-o ip.defragment:TRUE -o ipv6.defragment:TRUE`): packets, IP bytes and payload bytes per
//!   direction, first packet time and duration of every flow, checked by
//!   fixtures/fragments/crosscheck.py (its output: fixtures/fragments/crosscheck.txt).
//! - `fixtures/synthetic/fragments.expected.jsonl` (fixtures/gen/src/scenarios/fragments.rs)
//!   was derived by hand from the scenario (fixtures/fragments/README.md); tshark's
//!   `-z conv,udp` gives the same conversations, frame counts and start times
//!   (fixtures/fragments/synthetic-tshark-conv.txt).

mod common;

use common::{read, run};

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;

use flowaudit::decode::{Transport, linktype};
use flowaudit::stats::{InputSummary, Tally};

/// A capture of fragments, the records `flows` must print for it and its statistics (stderr
/// after the line about the input).
struct Case {
    capture: &'static str,
    records: &'static str,
    statistics: &'static [&'static str],
}

const CASES: [Case; 2] = [
    // Real kernel fragments. 50 frames: 24 fragments make 8 datagrams: 6 UDP packets (4 IPv4,
    // 2 IPv6) and the two ping datagrams (3 fragments each: 6 ICMP frames); 22 TCP segments,
    // 2 whole UDP datagrams, 2 MLD reports (icmpv6).
    Case {
        capture: "fixtures/fragments/real.pcap",
        records: "fixtures/fragments/real.expected.jsonl",
        statistics: &[
            "flows: 3 (1 tcp, 2 udp) from 30 packets (22 tcp, 8 udp)",
            "ip fragments: 24 frames; 24 in 8 datagrams reassembled (6 tcp/udp packets), 0 in 0 \
             incomplete (0 timed out, 0 evicted, 0 at the end of the input), 0 rejected; \
             0 duplicates, 0 overlaps, 0 inconsistent",
            "not in a flow: 8 packets",
            "  icmp: icmp 6, icmpv6 2",
        ],
    },
    // The generated hostile cases. 27 frames, 23 fragments: 18 in 7 datagrams (41001-41005,
    // 41008, 41010); 4 in 3 incomplete ones (41006 missing its middle and the trailing last
    // fragment of 41010, both timed out when the packet at 40 s is read; the IPv6 copy of 41008's
    // last fragment, pending at the end); 1 rejected (past 65,535 bytes). One duplicate (41003),
    // two overlaps (41004 same bytes, 41005 other bytes: inconsistent).
    Case {
        capture: "fixtures/synthetic/fragments.pcap",
        records: "fixtures/synthetic/fragments.expected.jsonl",
        statistics: &[
            "flows: 9 (0 tcp, 9 udp) from 11 packets (0 tcp, 11 udp)",
            "ip fragments: 23 frames; 18 in 7 datagrams reassembled (7 tcp/udp packets), 4 in 3 \
             incomplete (2 timed out, 0 evicted, 1 at the end of the input), 1 rejected; \
             1 duplicates, 2 overlaps, 1 inconsistent",
            "not in a flow: 5 packets",
            "  ip fragments in no packet: 5 (incomplete 4, rejected 1)",
        ],
    },
];

#[test]
fn records() {
    for c in &CASES {
        let o = run(&["flows", "-q", c.capture]);
        assert_eq!(o.status.code(), Some(0), "{}", c.capture);
        let got = String::from_utf8(o.stdout).unwrap();
        let want = read(c.records);
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "{}: record {} differs", c.capture, i + 1);
        }
        assert_eq!(got.lines().count(), want.lines().count(), "{}", c.capture);
    }
}

#[test]
fn statistics() {
    for c in &CASES {
        let o = run(&["flows", "-o", "/dev/null", c.capture]);
        assert_eq!(o.status.code(), Some(0), "{}", c.capture);
        let err = String::from_utf8(o.stderr).unwrap();
        let got: Vec<&str> = err.lines().skip(1).collect();
        assert_eq!(got, c.statistics, "{}", c.capture);
    }
}

#[test]
fn audit_json_counts_fragments() {
    let o = run(&[
        "audit",
        "--rules",
        "rules/hopex.toml",
        "--inventory",
        "fixtures/has/inventory.toml",
        "--format",
        "json",
        "--fail-on",
        "never",
        "-q",
        "fixtures/synthetic/fragments.pcap",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = &doc["captures"][0];
    assert_eq!(
        c["fragments"],
        serde_json::json!({
            "fragments": 23, "reassembled": 7, "reassembled_fragments": 18,
            "flow_packets": 7, "flow_fragments": 18, "timed_out": 2, "evicted": 0,
            "unfinished": 1, "incomplete_fragments": 4, "rejected": 1, "duplicates": 1,
            "overlaps": 2, "inconsistent": 1
        })
    );
    assert_eq!(
        c["skipped"],
        serde_json::json!({"ip fragments in no packet": 5})
    );
}

// ---------------------------------------------------------------- allocations

thread_local! {
    /// Allocations made by this thread (the counting is per thread: the other tests of this file
    /// run beside it).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: defers to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A raw IPv4 fragment of a UDP datagram `id` (10.0.0.1 -> 10.0.0.2).
fn v4(id: u16, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x45, 0];
    f.extend(((20 + data.len()) as u16).to_be_bytes());
    f.extend(id.to_be_bytes());
    f.extend(((off / 8) as u16 | if more { 0x2000 } else { 0 }).to_be_bytes());
    f.extend([64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend(data);
    f
}

/// A raw IPv6 fragment of a UDP datagram `id` (2001:db8::1 -> 2001:db8::2).
fn v6(id: u32, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x60, 0, 0, 0];
    f.extend(((8 + data.len()) as u16).to_be_bytes());
    f.extend([
        44, 64, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]);
    f.extend([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend([17, 0]);
    f.extend((((off / 8) as u16) << 3 | more as u16).to_be_bytes());
    f.extend(id.to_be_bytes());
    f.extend(data);
    f
}

#[test]
fn reassembly_allocates_nothing_per_packet_once_warm() {
    // Datagrams of 1,000 to 9,000 bytes, in fragments of 1,480 (IPv4) and 1,232 (IPv6), two at
    // a time, out of order, with an incomplete one now and then that times out (30 s IPv4, 60 s
    // IPv6): once the pool holds buffers for what is pending at once, nothing more is allocated.
    let mut frames: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut t = 0i64;
    let (mut whole, mut reassembled, mut incomplete) = (0, 0, 0);
    for k in 0..1200u32 {
        let n = 1000 + (k as usize * 7919) % 8000;
        let mut d = vec![0x13, 0x88, 0x00, 0x35];
        d.extend(((8 + n) as u16).to_be_bytes());
        d.extend([0, 0]);
        d.extend((0..n).map(|i| i as u8));
        let unit = if k % 2 == 0 { 1480 } else { 1232 };
        let mut pieces: Vec<Vec<u8>> = (0..d.len())
            .step_by(unit)
            .map(|a| {
                let b = (a + unit).min(d.len());
                if k % 2 == 0 {
                    v4(k as u16, a, b < d.len(), &d[a..b])
                } else {
                    v6(k, a, b < d.len(), &d[a..b])
                }
            })
            .collect();
        pieces.reverse();
        if pieces.len() == 1 {
            // Offset 0 without more-fragments: a whole packet.
            whole += 1;
        } else if k % 50 == 49 {
            pieces.pop(); // the first fragment never comes
            incomplete += 1;
        } else {
            reassembled += 1;
        }
        for p in pieces {
            t += 100_000_000; // 100 ms: the incomplete ones time out within the run
            frames.push((t, p));
        }
    }
    let mut tally = Tally::new(InputSummary::new(PathBuf::from("test"), None));
    let mut feed = |frames: &[(i64, Vec<u8>)]| {
        let mut packets = 0;
        for (ts, f) in frames {
            if let Some(p) = tally.frame(*ts, linktype::RAW, f, f.len() as u32) {
                assert!(matches!(p.transport, Transport::Udp(_)));
                packets += 1;
            }
        }
        packets
    };
    let half = frames.len() / 2;
    let warm = feed(&frames[..half]);
    let before = ALLOCATIONS.with(Cell::get);
    let rest = feed(&frames[half..]);
    let allocations = ALLOCATIONS.with(Cell::get) - before;
    assert_eq!(warm + rest, whole + reassembled);
    assert_eq!(
        allocations,
        0,
        "allocations over {} frames",
        frames.len() - half
    );
    let sum = tally.finish();
    let f = sum.stats.frag;
    assert_eq!(
        (f.reassembled, f.timed_out + f.unfinished),
        (reassembled, incomplete)
    );
    assert!(incomplete >= 20 && whole > 0, "{incomplete} {whole}");
}
