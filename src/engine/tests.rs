//! The order in which the reader thread hands packets on across inputs ([`read_merged`]).

use std::cell::Cell;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use super::{Options, read_merged};
use crate::capture::{self, CaptureError};
use crate::decode::Transport;
use crate::stats::InputSummary;

thread_local! {
    /// The most inputs open at once in the last merge on this thread.
    pub(super) static MOST_OPEN: Cell<usize> = const { Cell::new(0) };
}

/// A directory under the temp dir, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "flowaudit-engine-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("create temp dir");
        Dir(path)
    }

    /// Writes `name` and returns its path.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, bytes).expect("write temp file");
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Ethernet + IPv4 + UDP from 10.0.0.1:`port` to 10.0.0.2:53, no payload.
fn udp(port: u16) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8];
    f[12] = 0x08; // IPv4
    f[14] = 0x45;
    f[16..18].copy_from_slice(&28u16.to_be_bytes());
    f[22] = 64;
    f[23] = 17; // UDP
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 0, 0, 2]);
    f[34..36].copy_from_slice(&port.to_be_bytes());
    f[36..38].copy_from_slice(&53u16.to_be_bytes());
    f[38..40].copy_from_slice(&8u16.to_be_bytes());
    f
}

/// An ARP frame: read and counted, not a flow packet.
fn arp() -> Vec<u8> {
    let mut f = vec![0u8; 42];
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    f
}

/// A pcap file (Ethernet, µs) of `frames`: (time in seconds, frame).
fn pcap(frames: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend([0; 8]);
    out.extend(65535u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    for (sec, data) in frames {
        out.extend(sec.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
    }
    out
}

/// A capture of UDP packets from port `port`, one at each of `secs` (in file order).
fn udp_file(port: u16, secs: &[u32]) -> Vec<u8> {
    pcap(&secs.iter().map(|&s| (s, udp(port))).collect::<Vec<_>>())
}

/// What [`read_merged`] handed on, as (second, source port), with the summaries and errors.
struct Merged {
    order: Vec<(i64, u16)>,
    inputs: Vec<InputSummary>,
    errors: Vec<CaptureError>,
    most_open: usize,
}

/// Discovers `files` (sorted by first packet time) and reads them as one capture.
fn merge(files: &[PathBuf]) -> Merged {
    let found = capture::discover(files);
    assert!(found.errors.is_empty(), "{:?}", found.errors);
    MOST_OPEN.with(|m| m.set(0));
    let mut order = Vec::new();
    let mut progressed = 0;
    let (inputs, errors) = read_merged(
        &found.inputs,
        &Options::default(),
        &mut |n| progressed += n,
        &mut |ts, p| {
            let Transport::Udp(u) = p.transport else {
                panic!("a UDP packet")
            };
            order.push((ts / 1_000_000_000, u.src_port));
        },
    );
    // Every byte of every input is reported once.
    let size: u64 = found.inputs.iter().filter_map(|i| i.size).sum();
    let damaged = inputs.iter().any(|i| i.damaged);
    assert!(
        damaged || progressed == size,
        "{progressed} of {size} bytes"
    );
    Merged {
        order,
        inputs,
        errors,
        most_open: MOST_OPEN.with(|m| m.get()),
    }
}

#[test]
fn overlapping_inputs_are_merged_by_time() {
    let dir = Dir::new();
    let a = dir.file("a.pcap", &udp_file(1, &[1, 3, 5, 8]));
    let b = dir.file(
        "b.pcap",
        &pcap(&[(2, udp(2)), (4, arp()), (6, udp(2)), (7, udp(2))]),
    );
    // Argument order does not matter: discovery sorts by first packet.
    let m = merge(&[b, a]);
    assert_eq!(
        m.order,
        vec![(1, 1), (2, 2), (3, 1), (5, 1), (6, 2), (7, 2), (8, 1)]
    );
    assert_eq!(m.most_open, 2);
    // Each input counts its own frames (the ARP frame too).
    let counts: Vec<_> = m
        .inputs
        .iter()
        .map(|i| {
            (
                i.path.file_name().unwrap().to_owned(),
                i.packets,
                i.stats.udp_packets,
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![("a.pcap".into(), 4, 4), ("b.pcap".into(), 4, 3)]
    );
    assert_eq!(m.inputs[1].first_ts_ns, Some(2_000_000_000));
    assert_eq!(m.inputs[1].last_ts_ns, Some(7_000_000_000));
    assert!(m.errors.is_empty());
}

#[test]
fn inputs_that_follow_one_another_are_read_one_at_a_time() {
    let dir = Dir::new();
    // A rotated series: each file starts after the previous one ends; the last two touch (the
    // last file starts at the time of the previous file's last packet).
    let files: Vec<_> = (0..50u16)
        .map(|k| {
            let t = 10 * k as u32;
            let secs = if k == 49 {
                vec![t, t + 1]
            } else {
                vec![t, t + 1, t + 2]
            };
            dir.file(&format!("r{k:02}.pcap"), &udp_file(k, &secs))
        })
        .collect();
    let touching = dir.file("touch.pcap", &udp_file(99, &[491, 500]));
    let mut all = files.clone();
    all.push(touching);
    let m = merge(&all);
    let mut want: Vec<(i64, u16)> = (0..49u16)
        .flat_map(|k| {
            let t = 10 * k as i64;
            [(t, k), (t + 1, k), (t + 2, k)]
        })
        .collect();
    // At the tie the next file opens, and the earlier file's packet goes first.
    want.extend([(490, 49), (491, 49), (491, 99), (500, 99)]);
    assert_eq!(m.order, want);
    assert_eq!(m.most_open, 2, "only the two that touch are open at once");
    assert_eq!(m.inputs.len(), 51);
}

#[test]
fn ties_go_to_the_input_that_comes_first() {
    let dir = Dir::new();
    let a = dir.file("a.pcap", &udp_file(1, &[5, 7, 9]));
    let b = dir.file("b.pcap", &udp_file(2, &[5, 6, 7]));
    // Same first time: argument order decides, whichever way round.
    let m = merge(&[a.clone(), b.clone()]);
    assert_eq!(
        m.order,
        vec![(5, 1), (5, 2), (6, 2), (7, 1), (7, 2), (9, 1)]
    );
    let m = merge(&[b, a]);
    assert_eq!(
        m.order,
        vec![(5, 2), (5, 1), (6, 2), (7, 2), (7, 1), (9, 1)]
    );
    // A file that starts at another's packet time opens then, and comes after it.
    let c = dir.file("c.pcap", &udp_file(3, &[1, 4, 8]));
    let d = dir.file("d.pcap", &udp_file(4, &[4, 8]));
    let m = merge(&[c, d]);
    assert_eq!(m.order, vec![(1, 3), (4, 3), (4, 4), (8, 3), (8, 4)]);
}

#[test]
fn a_file_whose_time_goes_backwards_keeps_its_order() {
    let dir = Dir::new();
    let a = dir.file("a.pcap", &udp_file(1, &[1, 10, 4, 12]));
    let b = dir.file("b.pcap", &udp_file(2, &[5, 11]));
    let m = merge(&[a, b]);
    // a's 4 comes after its 10, and goes on as soon as a's 10 has gone.
    assert_eq!(
        m.order,
        vec![(1, 1), (5, 2), (10, 1), (4, 1), (11, 2), (12, 1)]
    );
    assert_eq!(m.inputs[0].first_ts_ns, Some(1_000_000_000));
    assert_eq!(m.inputs[0].last_ts_ns, Some(12_000_000_000));
}

#[test]
fn an_empty_file_is_read_where_it_falls() {
    let dir = Dir::new();
    let a = dir.file("a.pcap", &udp_file(1, &[1, 3]));
    let empty = dir.file("empty.pcap", &pcap(&[]));
    let b = dir.file("b.pcap", &udp_file(2, &[2, 4]));
    let m = merge(&[a, empty, b]);
    assert_eq!(m.order, vec![(1, 1), (2, 2), (3, 1), (4, 2)]);
    // No first packet: discovery puts it first.
    let sums: Vec<_> = m.inputs.iter().map(|i| (i.packets, i.damaged)).collect();
    assert_eq!(sums, vec![(0, false), (2, false), (2, false)]);
    assert_eq!(m.inputs[0].first_ts_ns, None);
    assert!(m.errors.is_empty());
}

#[test]
fn a_damaged_file_in_the_middle_keeps_what_it_gave() {
    let dir = Dir::new();
    let a = dir.file("a.pcap", &udp_file(1, &[1, 4, 7, 9]));
    let mut damaged = udp_file(2, &[2, 5, 6]);
    // Cut the last record short.
    damaged.truncate(damaged.len() - 10);
    let b = dir.file("b.pcap", &damaged);
    let c = dir.file("c.pcap", &udp_file(3, &[3, 6, 8]));
    let m = merge(&[a, b, c]);
    assert_eq!(
        m.order,
        vec![
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 1),
            (5, 2),
            (6, 3),
            (7, 1),
            (8, 3),
            (9, 1)
        ]
    );
    let sums: Vec<_> = m.inputs.iter().map(|i| (i.packets, i.damaged)).collect();
    assert_eq!(sums, vec![(4, false), (2, true), (3, false)]);
    assert_eq!(m.errors.len(), 1);
    assert!(
        matches!(&m.errors[0], CaptureError::Corrupt { path, .. } if path.ends_with("b.pcap")),
        "{:?}",
        m.errors
    );
    // Damage before the first packet: the input reports it when it is opened.
    let d = dir.file("d.pcap", &udp_file(4, &[2])[..30]);
    let a = dir.file("a2.pcap", &udp_file(1, &[1, 3]));
    let m = merge(&[a, d]);
    assert_eq!(m.order, vec![(1, 1), (3, 1)]);
    assert_eq!(m.errors.len(), 1);
    assert!(m.inputs[0].damaged && m.inputs[0].packets == 0);
}
