//! Reassembly from fragment frames built byte by byte, decoded by the real decoder.

use super::*;
use crate::decode::{Transport, Udp, decode, linktype};

const UDP: u8 = 17;
const S: i64 = 1_000_000_000;

/// A UDP datagram 10.0.0.1:5000 -> 10.0.0.2:53 (or the IPv6 pair) with `n` payload bytes.
fn udp_datagram(n: usize) -> Vec<u8> {
    let len = (8 + n) as u16;
    let mut d = vec![0x13, 0x88, 0x00, 0x35];
    d.extend(len.to_be_bytes());
    d.extend([0, 0]);
    d.extend((0..n).map(|i| (i * 7 + 3) as u8));
    d
}

/// A raw IPv4 fragment of datagram `id` carrying `data` at byte `off`.
fn v4(id: u16, off: u32, more: bool, data: &[u8]) -> Vec<u8> {
    let total = (20 + data.len()) as u16;
    let flg = (off / 8) as u16 | if more { 0x2000 } else { 0 };
    let mut f = vec![0x45, 0];
    f.extend(total.to_be_bytes());
    f.extend(id.to_be_bytes());
    f.extend(flg.to_be_bytes());
    f.extend([64, UDP, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend(data);
    f
}

/// A raw IPv6 fragment (Fragment header right after the fixed header, next header `next`).
fn v6(id: u32, off: u32, more: bool, next: u8, data: &[u8]) -> Vec<u8> {
    let plen = (8 + data.len()) as u16;
    let mut f = vec![0x60, 0, 0, 0];
    f.extend(plen.to_be_bytes());
    f.extend([44, 64]);
    f.extend([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    let flg = ((off / 8) as u16 * 8) | more as u16;
    f.extend([next, 0]);
    f.extend(flg.to_be_bytes());
    f.extend(id.to_be_bytes());
    f.extend(data);
    f
}

/// The pieces of `d` cut at `cuts` (byte offsets), as (offset, more, bytes).
fn pieces(d: &[u8], cuts: &[usize]) -> Vec<(u32, bool, Vec<u8>)> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(d.len());
    bounds
        .windows(2)
        .map(|w| (w[0] as u32, w[1] != d.len(), d[w[0]..w[1]].to_vec()))
        .collect()
}

struct Rig {
    r: Reassembler,
    st: FragStats,
}

impl Rig {
    fn new() -> Rig {
        Rig::with(Config::default())
    }
    fn with(cfg: Config) -> Rig {
        Rig {
            r: Reassembler::new(cfg),
            st: FragStats::default(),
        }
    }
    /// Feeds one frame (raw IP; `wire` its length on the wire): the datagram's packet if it
    /// completes one.
    fn feed_cut(&mut self, ts: i64, frame: &[u8], wire: usize) -> Option<Done> {
        let p = decode(linktype::RAW, frame, wire as u32).expect("decodes");
        let Transport::Fragment(f) = p.transport else {
            panic!("not a fragment: {p:?}")
        };
        self.r.fragment(ts, &p, &f, frame, &mut self.st)
    }
    fn feed(&mut self, ts: i64, frame: &[u8]) -> Option<Done> {
        self.feed_cut(ts, frame, frame.len())
    }
    /// Feeds a frame and returns the reassembled payload bytes if it completes a datagram.
    fn bytes(&mut self, ts: i64, frame: &[u8]) -> Option<Vec<u8>> {
        let p = decode(linktype::RAW, frame, frame.len() as u32).expect("decodes");
        let Transport::Fragment(f) = p.transport else {
            panic!("not a fragment")
        };
        let slot = self.r.add(ts, &p, &f, frame, &mut self.st)?;
        let out = self.r.dg(slot).map(|d| d.payload().0.to_vec());
        self.r.close(slot);
        out
    }
}

fn udp(d: &Done) -> Udp {
    match d.result {
        Ok(Packet {
            transport: Transport::Udp(u),
            ..
        }) => u,
        other => panic!("not udp: {other:?}"),
    }
}

#[test]
fn in_order() {
    let d = udp_datagram(2000);
    let mut rig = Rig::new();
    let ps = pieces(&d, &[800, 1600]);
    assert!(rig.feed(0, &v4(7, ps[0].0, ps[0].1, &ps[0].2)).is_none());
    assert!(rig.feed(10, &v4(7, ps[1].0, ps[1].1, &ps[1].2)).is_none());
    assert_eq!(rig.r.pending(), 1);
    let done = rig.feed(20, &v4(7, ps[2].0, ps[2].1, &ps[2].2)).unwrap();
    let p = done.result.unwrap();
    assert_eq!(p.ip_len, 20 + 2008);
    assert_eq!(done.frames, 3);
    assert_eq!(
        udp(&done),
        Udp {
            src_port: 5000,
            dst_port: 53,
            payload_len: 2000,
            app: Default::default(),
        }
    );
    assert_eq!(rig.r.pending(), 0);
    let want = FragStats {
        fragments: 3,
        reassembled: 1,
        reassembled_fragments: 3,
        ..FragStats::default()
    };
    assert_eq!(rig.st, want);
}

#[test]
fn out_of_order_and_interleaved() {
    let a = udp_datagram(1500);
    let b = udp_datagram(900);
    let pa = pieces(&a, &[504, 1000]);
    let pb = pieces(&b, &[400]);
    let mut rig = Rig::new();
    assert!(rig.bytes(0, &v4(1, pa[2].0, pa[2].1, &pa[2].2)).is_none());
    assert!(rig.bytes(1, &v4(2, pb[1].0, pb[1].1, &pb[1].2)).is_none());
    assert!(rig.bytes(2, &v4(1, pa[0].0, pa[0].1, &pa[0].2)).is_none());
    assert_eq!(rig.bytes(3, &v4(2, pb[0].0, pb[0].1, &pb[0].2)).unwrap(), b);
    assert_eq!(rig.bytes(4, &v4(1, pa[1].0, pa[1].1, &pa[1].2)).unwrap(), a);
    assert_eq!(rig.st.reassembled, 2);
    assert_eq!(rig.st.reassembled_fragments, 5);
}

#[test]
fn duplicates_are_counted_and_taken() {
    let d = udp_datagram(1000);
    let ps = pieces(&d, &[496]);
    let mut rig = Rig::new();
    let first = v4(9, ps[0].0, ps[0].1, &ps[0].2);
    assert!(rig.feed(0, &first).is_none());
    assert!(rig.feed(1, &first).is_none());
    let done = rig.feed(2, &v4(9, ps[1].0, ps[1].1, &ps[1].2)).unwrap();
    assert_eq!(done.frames, 3);
    assert_eq!(udp(&done).payload_len, 1000);
    assert_eq!(
        (rig.st.duplicates, rig.st.overlaps, rig.st.inconsistent),
        (1, 0, 0)
    );
    // The same fragment again after the datagram is done starts a new one, never completed.
    assert!(rig.feed(3, &first).is_none());
    rig.r.finish(&mut rig.st);
    assert_eq!((rig.st.unfinished, rig.st.incomplete_fragments), (1, 1));
    assert_eq!(
        rig.st.fragments,
        rig.st.reassembled_fragments + rig.st.incomplete_fragments + rig.st.rejected
    );
}

/// Every way a fragment can overlap held data: held bytes win, and the counters say how.
#[test]
fn every_overlap_kind() {
    let d = udp_datagram(88); // 96 bytes: held [16, 48) first
    let other = |a: usize, b: usize| -> Vec<u8> { d[a..b].iter().map(|x| x ^ 0xff).collect() };
    struct Case {
        name: &'static str,
        /// Offset and bytes of the second fragment (MF set).
        at: usize,
        bytes: Vec<u8>,
        /// Duplicate, overlap, inconsistent.
        want: (u64, u64, u64),
    }
    let cases = [
        Case {
            name: "same range, same bytes",
            at: 16,
            bytes: d[16..48].to_vec(),
            want: (1, 0, 0),
        },
        Case {
            name: "inside, same bytes",
            at: 24,
            bytes: d[24..40].to_vec(),
            want: (1, 0, 0),
        },
        Case {
            name: "same range, other bytes",
            at: 16,
            bytes: other(16, 48),
            want: (0, 1, 1),
        },
        Case {
            name: "inside, other bytes",
            at: 24,
            bytes: other(24, 40),
            want: (0, 1, 1),
        },
        Case {
            name: "over the start, same bytes",
            at: 8,
            bytes: d[8..24].to_vec(),
            want: (0, 1, 0),
        },
        Case {
            name: "over the end, other bytes",
            at: 40,
            bytes: [other(40, 48), d[48..56].to_vec()].concat(),
            want: (0, 1, 1),
        },
        Case {
            name: "around it, other bytes",
            at: 8,
            bytes: [d[8..16].to_vec(), other(16, 48), d[48..56].to_vec()].concat(),
            want: (0, 1, 1),
        },
        Case {
            name: "touching, no overlap",
            at: 48,
            bytes: d[48..56].to_vec(),
            want: (0, 0, 0),
        },
    ];
    for c in cases {
        let mut rig = Rig::new();
        assert!(rig.bytes(0, &v4(3, 16, true, &d[16..48])).is_none());
        assert!(rig.bytes(1, &v4(3, c.at as u32, true, &c.bytes)).is_none());
        let got = (rig.st.duplicates, rig.st.overlaps, rig.st.inconsistent);
        assert_eq!(got, c.want, "{}", c.name);
        // Fill the rest with the true bytes: the datagram is the original (held data won).
        assert!(rig.bytes(2, &v4(3, 0, true, &d[..16])).is_none());
        let out = rig.bytes(3, &v4(3, 48, false, &d[48..])).expect(c.name);
        assert_eq!(out, d, "{}", c.name);
    }
}

#[test]
fn conflicting_ends_first_wins() {
    let d = udp_datagram(56); // 64 bytes
    let mut rig = Rig::new();
    assert!(rig.feed(0, &v4(4, 32, false, &d[32..])).is_none());
    // Another last fragment ending elsewhere, and a fragment running past the end.
    assert!(rig.feed(1, &v4(4, 32, false, &d[32..48])).is_none());
    assert!(rig.feed(2, &v4(4, 56, true, &[0; 16])).is_none());
    assert_eq!(rig.st.inconsistent, 2);
    let done = rig.feed(3, &v4(4, 0, true, &d[..32])).unwrap();
    assert_eq!(udp(&done).payload_len, 56);
    assert_eq!(done.result.unwrap().ip_len, 84);
    // Data held past a last fragment that comes later is left out.
    let mut rig = Rig::new();
    assert!(rig.feed(0, &v4(5, 0, true, &d[..48])).is_none());
    let done = rig.feed(1, &v4(5, 32, false, &d[32..40])).unwrap();
    assert_eq!(udp(&done).payload_len, 32);
    assert_eq!((rig.st.inconsistent, rig.st.overlaps), (1, 1));
}

#[test]
fn atomic_fragments_are_whole_packets() {
    // IPv6: Fragment header with offset 0 and M clear.
    let d = udp_datagram(20);
    let f = v6(77, 0, false, UDP, &d);
    let p = decode(linktype::RAW, &f, f.len() as u32).unwrap();
    assert!(matches!(p.transport, Transport::Udp(u) if u.payload_len == 20));
    assert_eq!(p.ip_len, 40 + 8 + 28);
    // IPv4: offset 0 and MF clear is no fragment, whatever the identification.
    let g = v4(77, 0, false, &d);
    let p = decode(linktype::RAW, &g, g.len() as u32).unwrap();
    assert!(matches!(p.transport, Transport::Udp(u) if u.payload_len == 20));
}

#[test]
fn ipv6_with_headers_in_the_fragmentable_part() {
    // Destination options (8 bytes) then UDP, fragmented after the Fragment header.
    let mut d = vec![UDP, 0, 1, 4, 0, 0, 0, 0];
    d.extend(udp_datagram(1200));
    let ps = pieces(&d, &[608]);
    let mut rig = Rig::new();
    assert!(
        rig.feed(0, &v6(0xdead_beef, 608, false, 60, &ps[1].2))
            .is_none()
    );
    let done = rig
        .feed(5, &v6(0xdead_beef, 0, true, 60, &ps[0].2))
        .unwrap();
    assert_eq!(udp(&done).payload_len, 1200);
    let p = done.result.unwrap();
    assert!(p.v6);
    assert_eq!(p.ip_len, 40 + 8 + 1208);
    // A second Fragment header inside the reassembled datagram is malformed.
    let mut d = vec![44, 0, 0, 8, 0, 0, 0, 1];
    d.extend(udp_datagram(100));
    let mut rig = Rig::new();
    assert!(rig.feed(0, &v6(1, 0, true, 44, &d[..64])).is_none());
    let done = rig.feed(1, &v6(1, 64, false, 44, &d[64..])).unwrap();
    assert_eq!(
        done.result.unwrap_err(),
        Skip::Malformed(
            crate::decode::Layer::Ipv6Ext,
            crate::decode::Reason::TooManyHeaders
        )
    );
}

#[test]
fn timeouts_by_ip_version() {
    let d = udp_datagram(100);
    let mut rig = Rig::new();
    assert!(rig.feed(0, &v4(1, 0, true, &d[..64])).is_none());
    assert!(rig.feed(0, &v6(1, 0, true, UDP, &d[..64])).is_none());
    // 30 s later the IPv4 one is still in time; just past it, it is dropped.
    assert!(rig.feed(30 * S, &v4(2, 0, true, &d[..64])).is_none());
    assert_eq!(rig.st.timed_out, 0);
    rig.r.expire(30 * S + 1, &mut rig.st);
    assert_eq!(rig.st.timed_out, 1);
    // Its last fragment now starts a new datagram, and the IPv6 one completes at 59 s.
    assert!(rig.feed(31 * S, &v4(1, 64, false, &d[64..])).is_none());
    assert!(rig.feed(59 * S, &v6(1, 64, false, UDP, &d[64..])).is_some());
    rig.r.expire(61 * S, &mut rig.st);
    assert_eq!(rig.st.timed_out, 2);
    rig.r.finish(&mut rig.st);
    let want = FragStats {
        fragments: 5,
        reassembled: 1,
        reassembled_fragments: 2,
        timed_out: 2,
        unfinished: 1,
        incomplete_fragments: 3,
        ..FragStats::default()
    };
    assert_eq!(rig.st, want);
    assert_eq!(rig.r.pending(), 0);
}

#[test]
fn pending_cap_drops_the_oldest() {
    let d = udp_datagram(100);
    let mut rig = Rig::with(Config {
        max_pending: 2,
        ..Config::default()
    });
    for id in 1..=3 {
        assert!(rig.feed(id as i64, &v4(id, 0, true, &d[..64])).is_none());
    }
    assert_eq!((rig.r.pending(), rig.st.evicted), (2, 1));
    // Datagram 1 was dropped: its last fragment completes nothing; 2 and 3 complete.
    assert!(rig.feed(10, &v4(1, 64, false, &d[64..])).is_none());
    assert_eq!(rig.st.evicted, 2); // it started a new one, and 2 went
    assert!(rig.feed(11, &v4(3, 64, false, &d[64..])).is_some());
    assert_eq!(rig.st.reassembled, 1);
}

#[test]
fn byte_cap_drops_the_oldest_and_buffers_are_reused() {
    let big = udp_datagram(60_000);
    let mut rig = Rig::with(Config {
        max_bytes: 0, // raised to the least: two largest buffers
        ..Config::default()
    });
    // Three large datagrams, each missing its last fragment.
    for id in 1..=3u16 {
        assert!(
            rig.feed(id as i64, &v4(id, 0, true, &big[..50_000]))
                .is_none()
        );
    }
    assert_eq!(rig.st.evicted, 1);
    assert!(rig.r.held_bytes() <= 2 * (MAX_DATAGRAM + 1));
    rig.r.finish(&mut rig.st);
    let held = rig.r.held_bytes();
    // Later datagrams reuse the free buffers: no more bytes held.
    for id in 10..20u16 {
        assert!(rig.feed(100, &v4(id, 0, true, &big[..50_000])).is_none());
        let done = rig
            .feed(100, &v4(id, 50_000, false, &big[50_000..]))
            .unwrap();
        assert_eq!(udp(&done).payload_len, 60_000);
    }
    assert_eq!(rig.r.held_bytes(), held);
}

#[test]
fn hostile_fragments() {
    let mut rig = Rig::new();
    // Past 65,535 bytes: offset 65528 + 16 bytes.
    assert!(rig.feed(0, &v4(1, 65_528, false, &[0; 16])).is_none());
    // IPv4 header counts: offset 65512 + 8 bytes + 20 of header = 65540.
    assert!(rig.feed(0, &v4(1, 65_512, false, &[0; 8])).is_none());
    // No data but more to come.
    assert!(rig.feed(0, &v4(2, 8, true, &[])).is_none());
    assert_eq!((rig.st.rejected, rig.r.pending()), (3, 0));
    // The largest legal end is fine: 65,515 bytes after a 20-byte header.
    assert!(rig.feed(0, &v4(3, 65_512, false, &[0; 3])).is_none());
    assert_eq!((rig.st.rejected, rig.r.pending()), (3, 1));
    // A zero-length last fragment fixes the end.
    let d = udp_datagram(8);
    assert!(rig.feed(0, &v4(4, 16, false, &[])).is_none());
    let done = rig.feed(0, &v4(4, 0, true, &d)).unwrap();
    assert_eq!(udp(&done).payload_len, 8);
    // Many tiny fragments out of order: past MAX_PIECES holes, refused.
    let d = udp_datagram(8 * 200 - 8);
    let before = rig.st.rejected;
    for k in (0..100u32).map(|k| k * 2 + 1) {
        let at = (k * 8) as usize;
        assert!(rig.feed(1, &v4(5, k * 8, true, &d[at..at + 8])).is_none());
    }
    assert_eq!(rig.st.rejected - before, 100 - MAX_PIECES as u64);
    // Tiny fragments in order join into one piece and complete.
    for k in 0..200u32 {
        let at = (k * 8) as usize;
        let r = rig.feed(2, &v4(6, k * 8, k < 199, &d[at..at + 8]));
        assert_eq!(r.is_some(), k == 199);
    }
}

#[test]
fn snaplen_cut_fragments_still_complete() {
    // Every fragment cut to 60 captured bytes: the datagram completes from the wire lengths and
    // its transport header comes from the first fragment's captured bytes.
    let d = udp_datagram(3000);
    let ps = pieces(&d, &[1480, 2960]);
    let mut rig = Rig::new();
    let mut done = None;
    for (i, (off, more, b)) in ps.iter().enumerate().rev() {
        let f = v4(8, *off, *more, b);
        done = rig.feed_cut(i as i64, &f[..60], f.len());
    }
    let done = done.unwrap();
    assert_eq!(udp(&done).payload_len, 3000);
    assert_eq!(done.result.unwrap().ip_len, 3028);
    // Cut inside the UDP header: truncated, counted by the caller.
    let mut rig = Rig::new();
    let f = v4(9, 0, true, &d[..1480]);
    assert!(rig.feed_cut(0, &f[..24], f.len()).is_none());
    let g = v4(9, 1480, false, &d[1480..]);
    let done = rig.feed(1, &g).unwrap();
    assert_eq!(
        done.result.unwrap_err(),
        Skip::Truncated(crate::decode::Layer::Udp)
    );
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// Fragments of random datagrams, shuffled and some sent twice, interleaved across
        /// datagrams and IP versions: each datagram comes back byte for byte, once, when its last
        /// missing fragment comes, and every fragment is counted.
        #[test]
        fn shuffled_and_duplicated(
            lens in proptest::collection::vec(9usize..4000, 1..5),
            unit in 1usize..200,
            seed in any::<u64>(),
            dups in proptest::collection::vec(any::<bool>(), 64),
        ) {
            let mut rig = Rig::new();
            let mut frames = Vec::new();
            let mut datagrams = Vec::new();
            for (n, len) in lens.iter().enumerate() {
                let mut d = udp_datagram(*len - 8);
                d[8] = n as u8; // tell datagrams apart
                // At most 2 * MAX_PIECES fragments: in any order, at most MAX_PIECES holes.
                let least = d.len().div_ceil(2 * MAX_PIECES).div_ceil(8) * 8;
                let size = (unit * 8).max(least).min((d.len() - 1) / 8 * 8);
                let cuts: Vec<usize> = (1..).map(|k| k * size).take_while(|&c| c < d.len()).collect();
                let ps = pieces(&d, &cuts);
                let count = ps.len();
                for (off, more, b) in ps {
                    let f = if n % 2 == 0 {
                        v4(n as u16, off, more, &b)
                    } else {
                        v6(n as u32, off, more, UDP, &b)
                    };
                    frames.push((n, f));
                }
                datagrams.push((d, count));
            }
            // Duplicates, then a shuffle (a simple LCG from the seed).
            let extra: Vec<_> = frames.iter().zip(dups.iter().cycle()).filter(|(_, d)| **d).map(|(f, _)| f.clone()).collect();
            frames.extend(extra);
            let mut x = seed | 1;
            for i in (1..frames.len()).rev() {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                frames.swap(i, (x >> 33) as usize % (i + 1));
            }
            // Copies that come after their datagram completed start it again (and complete it
            // again when every piece was copied), as a capture on two ports counts every packet
            // twice.
            let mut done = vec![0u64; datagrams.len()];
            for (n, f) in &frames {
                if let Some(b) = rig.bytes(0, f) {
                    prop_assert_eq!(&b, &datagrams[*n].0, "datagram {}", n);
                    done[*n] += 1;
                }
            }
            prop_assert!(done.iter().all(|&k| k >= 1), "{:?}", done);
            rig.r.finish(&mut rig.st);
            let st = rig.st;
            prop_assert_eq!(st.fragments, frames.len() as u64);
            prop_assert_eq!(st.reassembled, done.iter().sum::<u64>());
            prop_assert_eq!(st.fragments, st.reassembled_fragments + st.incomplete_fragments + st.rejected);
            prop_assert_eq!(st.rejected, 0);
            prop_assert_eq!(st.inconsistent, 0);
            prop_assert_eq!(rig.r.pending(), 0);
        }

        /// Fragment frames cut anywhere by the snaplen (the wire length still whole) go through
        /// decode and reassembly without a panic, and every fragment stays counted.
        #[test]
        fn truncated_fragments(cuts in proptest::collection::vec(0usize..1300, 12), v6s in any::<bool>()) {
            let d = udp_datagram(3000);
            let ps = pieces(&d, &[1232, 2464]);
            let mut rig = Rig::new();
            let mut tally = crate::stats::Tally::new(crate::stats::InputSummary::new("t".into(), None));
            for (i, (off, more, b)) in ps.iter().cycle().take(12).enumerate() {
                let f = if v6s { v6(1, *off, *more, UDP, b) } else { v4(1, *off, *more, b) };
                let cut = &f[..cuts[i].min(f.len())];
                if let Ok(p) = decode(linktype::RAW, cut, f.len() as u32)
                    && let Transport::Fragment(fr) = p.transport
                {
                    let _ = rig.r.fragment(i as i64, &p, &fr, cut, &mut rig.st);
                }
                let _ = tally.frame(i as i64, linktype::RAW, cut, f.len() as u32);
            }
            rig.r.finish(&mut rig.st);
            let st = rig.st;
            prop_assert_eq!(st.fragments, st.reassembled_fragments + st.incomplete_fragments + st.rejected);
            let sum = tally.finish();
            let f = sum.stats.frag;
            prop_assert_eq!(f.fragments, f.reassembled_fragments + f.incomplete_fragments + f.rejected);
            // Every frame is a flow packet's, or counted in a category.
            let s = &sum.stats;
            let categories = s.icmp_packets + s.icmpv6_packets + s.ip_proto.iter().sum::<u64>()
                + s.truncated.iter().sum::<u64>()
                + s.malformed.iter().flatten().sum::<u64>()
                + s.fragments_in_no_packet();
            prop_assert_eq!(s.not_in_flows(), categories);
        }

        /// Arbitrary fragment fields and bytes never panic, and stay counted.
        #[test]
        fn arbitrary_fragments(
            frags in proptest::collection::vec((0u32..8192, any::<bool>(), 0usize..300, any::<u8>(), 0u16..4), 1..60),
        ) {
            let mut rig = Rig::with(Config { max_pending: 3, ..Config::default() });
            for (i, (off8, more, len, fill, id)) in frags.iter().enumerate() {
                let data = vec![*fill; *len];
                let f = v4(*id, off8 * 8, *more, &data);
                // Offset 0 without more fragments is no fragment but a whole datagram, which
                // does not decode when it is too short for its UDP header: not this test's case.
                let Ok(p) = decode(linktype::RAW, &f, f.len() as u32) else {
                    prop_assert!(*off8 == 0 && !*more && *len < 8);
                    continue;
                };
                if let Transport::Fragment(fr) = p.transport {
                    let _ = rig.r.fragment(i as i64 * S, &p, &fr, &f, &mut rig.st);
                }
            }
            rig.r.finish(&mut rig.st);
            let st = rig.st;
            prop_assert_eq!(st.fragments, st.reassembled_fragments + st.incomplete_fragments + st.rejected);
            prop_assert_eq!(rig.r.pending(), 0);
        }
    }
}
