//! Runs the bench-gen binary on small inputs and checks the files it writes: exact sizes,
//! determinism, and the packets themselves (read back with a minimal pcap reader).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const START_US: u64 = 1_700_000_000 * 1_000_000;
const SERVER: [u8; 4] = [10, 20, 0, 21];
const CLIENT: [u8; 4] = [10, 1, 0, 20];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bench-gen-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_gen(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_bench-gen"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench-gen {args:?} failed: {err}");
    assert!(
        err.starts_with("bench-gen ") && err.lines().count() == 1,
        "summary: {err}"
    );
}

struct Rec<'a> {
    ts_us: u64,
    frame: &'a [u8],
}

/// Classic pcap, little-endian microseconds, Ethernet: the records, checked for consistency.
fn records(file: &[u8]) -> Vec<Rec<'_>> {
    assert_eq!(&file[..4], &0xa1b2_c3d4u32.to_le_bytes());
    assert_eq!(&file[20..24], &1u32.to_le_bytes(), "LINKTYPE_ETHERNET");
    let u32le = |b: &[u8]| u32::from_le_bytes(b[..4].try_into().unwrap());
    let mut out = Vec::new();
    let mut p = 24;
    while p < file.len() {
        let h = &file[p..p + 16];
        let (caplen, orig) = (u32le(&h[8..]) as usize, u32le(&h[12..]) as usize);
        assert_eq!(caplen, orig);
        assert!(u32le(&h[4..]) < 1_000_000);
        out.push(Rec {
            ts_us: u64::from(u32le(h)) * 1_000_000 + u64::from(u32le(&h[4..])),
            frame: &file[p + 16..p + 16 + caplen],
        });
        p += 16 + caplen;
    }
    assert_eq!(p, file.len());
    out
}

fn checksum(data: &[u8]) -> u16 {
    let mut s: u32 = data
        .chunks(2)
        .map(|w| u32::from(w[0]) << 8 | u32::from(*w.get(1).unwrap_or(&0)))
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Decoded fields of an Ethernet/IPv4/TCP frame (checksums verified).
struct Tcp {
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: usize,
}

fn tcp(frame: &[u8]) -> Tcp {
    assert!(frame.len() >= 60);
    assert_eq!(&frame[12..14], &[0x08, 0x00]);
    let ip = &frame[14..];
    assert_eq!(ip[0], 0x45);
    assert_eq!(ip[9], 6);
    assert_eq!(checksum(&ip[..20]), 0, "IPv4 header checksum");
    let ip_len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    assert!(14 + ip_len == frame.len() || (14 + ip_len < 60 && frame.len() == 60));
    let t = &ip[20..ip_len];
    let mut pseudo = Vec::from(&ip[12..20]);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(t.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(t);
    assert_eq!(checksum(&pseudo), 0, "TCP checksum");
    let be32 = |b: &[u8]| u32::from_be_bytes(b[..4].try_into().unwrap());
    let hl = usize::from(t[12] >> 4) * 4;
    Tcp {
        src: ip[12..16].try_into().unwrap(),
        dst: ip[16..20].try_into().unwrap(),
        sport: u16::from_be_bytes([t[0], t[1]]),
        dport: u16::from_be_bytes([t[2], t[3]]),
        seq: be32(&t[4..]),
        ack: be32(&t[8..]),
        flags: t[13],
        payload: t.len() - hl,
    }
}

#[test]
fn flood_small() {
    let d = scratch("flood");
    let (a, b) = (d.join("a.pcap"), d.join("b.pcap"));
    run_gen(&["flood", a.to_str().unwrap(), "--packets", "1000"]);
    run_gen(&[
        "flood",
        b.to_str().unwrap(),
        "--packets=1000",
        "--seconds",
        "30",
    ]);
    let (fa, fb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(fa.len(), 24 + 1000 * (16 + 60), "24 + N * (16 + 60)");
    assert!(fa == fb, "two runs with the same arguments differ");

    let recs = records(&fa);
    assert_eq!(recs.len(), 1000);
    let mut sources = HashSet::new();
    let mut ports = HashSet::new();
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(
            r.ts_us,
            START_US + i as u64 * 30_000,
            "1000 packets evenly over 30 s"
        );
        let t = tcp(r.frame);
        assert_eq!((t.dst, t.dport), (SERVER, 5000));
        assert_eq!((t.flags, t.ack, t.payload), (SYN, 0, 0));
        assert!(t.sport >= 1024);
        sources.insert(t.src);
        ports.insert(t.sport);
    }
    assert_eq!(sources.len(), 1000, "every SYN from a distinct source");
    assert!(
        ports.len() > 950,
        "source ports look random: {} distinct",
        ports.len()
    );

    // --seconds moves the timestamps and nothing else
    let c = d.join("c.pcap");
    run_gen(&[
        "flood",
        c.to_str().unwrap(),
        "--packets",
        "1000",
        "--seconds",
        "1",
    ]);
    let fc = std::fs::read(&c).unwrap();
    assert_eq!(fc.len(), fa.len());
    let rc = records(&fc);
    assert_eq!(rc[999].ts_us, START_US + 999_000);
    assert!(rc.iter().zip(&recs).all(|(x, y)| x.frame == y.frame));
    tshark_conversations(&a, 1000);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn sequence_small() {
    let d = scratch("sequence");
    let (a, b) = (d.join("a.pcap"), d.join("b.pcap"));
    run_gen(&["sequence", a.to_str().unwrap(), "--connections", "100"]);
    run_gen(&["sequence", b.to_str().unwrap(), "--connections=100"]);
    let (fa, fb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // per connection: 9 record headers, 7 minimum-size frames, request and response frames
    assert_eq!(
        fa.len(),
        24 + 100 * (9 * 16 + 7 * 60 + (54 + 100) + (54 + 200))
    );
    assert!(fa == fb, "two runs with the same arguments differ");

    let recs = records(&fa);
    assert_eq!(recs.len(), 900);
    let expect: [(bool, u8, usize); 9] = [
        (true, SYN, 0),
        (false, SYN | ACK, 0),
        (true, ACK, 0),
        (true, PSH | ACK, 100),
        (false, ACK, 0),
        (false, PSH | ACK, 200),
        (true, FIN | ACK, 0),
        (false, FIN | ACK, 0),
        (true, ACK, 0),
    ];
    for (n, conn) in recs.chunks(9).enumerate() {
        let pk: Vec<Tcp> = conn.iter().map(|r| tcp(r.frame)).collect();
        let port = 1024 + n as u16;
        for (k, (r, t)) in conn.iter().zip(&pk).enumerate() {
            assert_eq!(r.ts_us, START_US + n as u64 * 1_000 + k as u64 * 100);
            let (from_client, flags, payload) = expect[k];
            let ends = if from_client {
                (CLIENT, port, SERVER, 5000)
            } else {
                (SERVER, 5000, CLIENT, port)
            };
            assert_eq!(
                (t.src, t.sport, t.dst, t.dport),
                ends,
                "connection {n} packet {k}"
            );
            assert_eq!(
                (t.flags, t.payload),
                (flags, payload),
                "connection {n} packet {k}"
            );
        }
        // every segment's ack is the peer's next sequence number
        let (c, s) = (pk[0].seq, pk[1].seq);
        let w = |x: u32, d: u32| x.wrapping_add(d);
        let seq_ack: Vec<(u32, u32)> = pk.iter().map(|t| (t.seq, t.ack)).collect();
        assert_eq!(
            seq_ack,
            [
                (c, 0),
                (s, w(c, 1)),
                (w(c, 1), w(s, 1)),
                (w(c, 1), w(s, 1)),
                (w(s, 1), w(c, 101)),
                (w(s, 1), w(c, 101)),
                (w(c, 101), w(s, 201)),
                (w(s, 201), w(c, 102)),
                (w(c, 102), w(s, 202)),
            ]
        );
    }
    tshark_conversations(&a, 100);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn sequence_reuses_ports_after_64512_connections() {
    let d = scratch("reuse");
    let a = d.join("a.pcap");
    run_gen(&["sequence", a.to_str().unwrap(), "--connections", "64514"]);
    let f = std::fs::read(&a).unwrap();
    let recs = records(&f);
    let first_of = |n: usize| tcp(recs[n * 9].frame);
    assert_eq!(first_of(64511).sport, 65535);
    let (x, y) = (first_of(0), first_of(64512));
    assert_eq!((x.sport, y.sport), (1024, 1024));
    assert_ne!(x.seq, y.seq, "a reused 4-tuple starts with a new ISN");
    assert_eq!(recs[64512 * 9].ts_us - recs[8].ts_us, 64512 * 1_000 - 800);
    std::fs::remove_dir_all(&d).unwrap();
}

/// When tshark is installed: it reads the file without error and counts `want` TCP
/// conversations. Skipped with a note otherwise.
fn tshark_conversations(file: &Path, want: usize) {
    let found = Command::new("sh")
        .args(["-c", "command -v tshark"])
        .output();
    if !found.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "note: tshark is not installed; skipping the tshark check of {}",
            file.display()
        );
        return;
    }
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(file)
        .args(["-q", "-z", "conv,tcp"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark failed: {err}");
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("Running as user"))
        .collect();
    assert!(errors.is_empty(), "tshark complained: {errors:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().filter(|l| l.contains("<->")).count(),
        want,
        "{text}"
    );
}
