//! flowaudit's reassembly stage against etherparse's `IpDefragPool`, on the same in-memory
//! fragment-heavy traffic: Ethernet frames of IPv4/UDP datagrams of 1,500 to 9,000 bytes
//! (fragments of 1,480), every eighth out of order, one in 50 with a duplicated fragment, one
//! in 100 missing a fragment. Both paths decode the frame, reassemble and read the UDP header
//! of each datagram; the time per frame and the allocations per pass are printed.
//!
//! etherparse gets a timeout through `retain` every 1,000 frames (it has none of its own, and
//! `retain` scans every entry).
//!
//! The machine this ran on is shared, so wall times vary; `bench/frag/run.sh` takes each
//! implementation's CPU time with `perf stat` instead, minus a run that only builds the
//! traffic.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use etherparse::defrag::IpDefragPool;
use etherparse::{SlicedPacket, TransportSlice, UdpSlice};
use flowaudit::decode::{Transport, linktype};
use flowaudit::stats::{InputSummary, Tally};

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
struct Counting;
// SAFETY: defers to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn frame(id: u16, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0];
    f.extend(((20 + data.len()) as u16).to_be_bytes());
    f.extend(id.to_be_bytes());
    f.extend(((off / 8) as u16 | if more { 0x2000 } else { 0 }).to_be_bytes());
    f.extend([64, 17, 0, 0, 10, 0, (id >> 8) as u8, 1, 10, 0, 0, 2]);
    f.extend(data);
    f
}

fn traffic(datagrams: u32) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut t = 1_700_000_000_000_000_000i64;
    for k in 0..datagrams {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 1500 + (x % 7500) as usize;
        let mut d = vec![0x9c, 0x40, 0x00, 0x35];
        d.extend(((8 + n) as u16).to_be_bytes());
        d.extend([0, 0]);
        d.extend((0..n).map(|i| (i ^ k as usize) as u8));
        let id = k as u16;
        let mut fr: Vec<Vec<u8>> = (0..d.len())
            .step_by(1480)
            .map(|a| {
                let b = (a + 1480).min(d.len());
                frame(id, a, b < d.len(), &d[a..b])
            })
            .collect();
        if k % 8 == 0 {
            fr.reverse();
        }
        if k % 50 == 0 {
            fr.push(fr[0].clone());
        }
        if k % 100 == 1 {
            fr.remove(1);
        }
        for f in fr {
            t += 20_000; // 20 us
            out.push((t, f));
        }
    }
    out
}

fn ours(frames: &[(i64, Vec<u8>)]) -> usize {
    let mut tally = Tally::new(InputSummary::new("bench".into(), None));
    let mut n = 0;
    for (ts, f) in frames {
        if let Some(p) = tally.frame(*ts, linktype::ETHERNET, f, f.len() as u32)
            && matches!(p.transport, Transport::Udp(u) if u.dst_port == 53)
        {
            n += 1;
        }
    }
    n
}

fn etherparse(frames: &[(i64, Vec<u8>)]) -> usize {
    let mut pool: IpDefragPool<i64, ()> = IpDefragPool::new();
    let mut n = 0;
    for (i, (ts, f)) in frames.iter().enumerate() {
        if i % 1000 == 0 {
            let now = *ts;
            pool.retain(|t| now - *t <= 30_000_000_000);
        }
        let Ok(s) = SlicedPacket::from_ethernet(f) else {
            continue;
        };
        match &s.transport {
            Some(TransportSlice::Udp(u)) if u.destination_port() == 53 => n += 1,
            _ => {
                if let Ok(Some(p)) = pool.process_sliced_packet(&s, *ts, ()) {
                    if UdpSlice::from_slice(&p.payload).is_ok_and(|u| u.destination_port() == 53) {
                        n += 1;
                    }
                    pool.return_buf(p);
                }
            }
        }
    }
    n
}

fn main() {
    let frames = traffic(20_000);
    let bytes: usize = frames.iter().map(|f| f.1.len()).sum();
    println!(
        "{} frames, {} bytes, {} datagrams (200 missing a fragment)",
        frames.len(),
        bytes,
        20_000
    );
    // One implementation per run (`frag-bench flowaudit|etherparse|none`), so that its CPU
    // time can be taken apart from the other's (`perf stat -e task-clock`); none: only the
    // traffic is built.
    let which = std::env::args().nth(1).unwrap_or_default();
    for (name, f) in [
        ("flowaudit", ours as fn(&[(i64, Vec<u8>)]) -> usize),
        ("etherparse", etherparse),
    ] {
        if !which.is_empty() && which != name {
            continue;
        }
        let mut times = Vec::new();
        let mut res = (0, 0);
        for _ in 0..7 {
            let a = ALLOCATIONS.load(Ordering::Relaxed);
            let t = Instant::now();
            let n = f(&frames);
            times.push(t.elapsed().as_nanos() as f64 / frames.len() as f64);
            res = (n, ALLOCATIONS.load(Ordering::Relaxed) - a);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name:>10}: {} datagrams, median {:.1} ns/frame (min {:.1}), {} allocations per pass",
            res.0, times[3], times[0], res.1
        );
    }
}
