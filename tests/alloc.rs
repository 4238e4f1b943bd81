//! The hot path allocates nothing per packet: reading a capture with twice the packets of the
//! same flows makes no more allocations. Memory follows the flows open at once: a long
//! sequence of short connections needs no more memory at its end than early on.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use flowaudit::audit::Auditor;
use flowaudit::capture;
use flowaudit::decode::{Addr, Checksum, Packet, Tcp, Transport, VlanStack, tcpflags};
use flowaudit::engine::{self, Options};
use flowaudit::flow::{
    ConnState, FlowConfig, FlowRecord, FlowSink, FlowTable, NS, NoServerPorts, Proto,
    ServiceStatus, TlsInfo,
};
use flowaudit::pipeline::AuditSink;
use flowaudit::rules::Rules;

/// Counts the records (building them allocates; keeping them would too).
struct Count(usize);

impl FlowSink for Count {
    fn flow(&mut self, _: &FlowRecord) {
        self.0 += 1;
    }
}

/// Counts every allocation of the test process, and the bytes live.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
/// Bytes allocated and not yet freed, and the most there were since the last reset.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The counters are global: the tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: defers to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        grew(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        grew(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A pcap (microsecond, little-endian, Ethernet) with `n` TCP data segments in each direction
/// of 4 connections (10.0.0.1:4000x -> 10.0.0.2:80), after their handshakes, plus one UDP flow
/// and one ICMP echo every 100 packets.
fn capture(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    // File header: magic, version 2.4, thiszone, sigfigs, snaplen 65535, Ethernet.
    out.extend(0xa1b2c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend([0u8; 8]);
    out.extend(65535u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    let mut t = 1_700_000_000_000_000u64; // microseconds
    let mut record = |out: &mut Vec<u8>, frame: &[u8]| {
        t += 10;
        out.extend(((t / 1_000_000) as u32).to_le_bytes());
        out.extend(((t % 1_000_000) as u32).to_le_bytes());
        out.extend((frame.len() as u32).to_le_bytes());
        out.extend((frame.len() as u32).to_le_bytes());
        out.extend(frame);
    };
    let frame = |src: u8, dst: u8, proto: u8, l4: &[u8]| -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00];
        let total = (20 + l4.len()) as u16;
        f.extend([
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0x40,
            0,
            64,
            proto,
            0,
            0,
        ]);
        f.extend([10, 0, 0, src, 10, 0, 0, dst]);
        f.extend(l4);
        f
    };
    let tcp = |sport: u16, dport: u16, seq: u32, flags: u8, payload: usize| -> Vec<u8> {
        let mut h = Vec::new();
        h.extend(sport.to_be_bytes());
        h.extend(dport.to_be_bytes());
        h.extend(seq.to_be_bytes());
        h.extend(1u32.to_be_bytes());
        h.extend([0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
        h.extend(std::iter::repeat_n(0x61, payload));
        h
    };
    for c in 0..4u16 {
        let p = 40000 + c;
        record(&mut out, &frame(1, 2, 6, &tcp(p, 80, 100, 0x02, 0)));
        record(&mut out, &frame(2, 1, 6, &tcp(80, p, 500, 0x12, 0)));
        record(&mut out, &frame(1, 2, 6, &tcp(p, 80, 101, 0x10, 0)));
    }
    let (mut cseq, mut sseq) = ([101u32; 4], [501u32; 4]);
    for i in 0..n {
        let c = i % 4;
        let p = 40000 + c as u16;
        record(&mut out, &frame(1, 2, 6, &tcp(p, 80, cseq[c], 0x18, 100)));
        cseq[c] += 100;
        record(&mut out, &frame(2, 1, 6, &tcp(80, p, sseq[c], 0x18, 200)));
        sseq[c] += 200;
        if i % 100 == 0 {
            record(
                &mut out,
                &frame(1, 2, 17, &[0xd0, 0x00, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4]),
            );
            record(&mut out, &frame(1, 2, 1, &[8, 0, 0, 0, 0, 1, 0, 1]));
        }
    }
    out
}

/// Allocations made while reading a capture of `n` segment pairs (discovery excluded).
fn allocations_reading(n: usize) -> usize {
    let dir = std::env::temp_dir().join(format!("flowaudit-alloc-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.pcap");
    std::fs::write(&path, capture(n)).unwrap();
    let found = capture::discover(&[path]);
    assert!(found.errors.is_empty());
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut sink = Count(0);
    let outcome = engine::read(
        &found.inputs,
        &Options::default(),
        &NoServerPorts,
        &mut sink,
        &mut |_| {},
    );
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(sink.0, 5, "4 TCP flows and 1 UDP flow");
    assert_eq!(outcome.table.flows, 5);
    assert_eq!(outcome.stats.tcp_packets as usize, 12 + 2 * n);
    std::fs::remove_dir_all(&dir).ok();
    after - before
}

#[test]
fn reading_allocates_nothing_per_packet() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Warm up once (thread-local and lazy statics of the runtime and libpcap).
    allocations_reading(1_000);
    let small = allocations_reading(50_000);
    let large = allocations_reading(100_000);
    // 100,000 more packets and at most a few more allocations: the buffers that carry packets to
    // the flow thread (at most 7) and events to the sinks' thread (at most 6) are allocated on
    // demand up to their caps, so a longer run may allocate the remaining few, depending on how
    // the threads took turns; nothing else depends on the packet count.
    assert!(
        large <= small + 7 + 6,
        "{small} allocations for 100k packets, {large} for 200k"
    );
}

/// One TCP segment between 10.0.0.1:`port` (client) and 10.0.0.2:80.
fn segment(from_client: bool, port: u16, flags: u8, seq: u32, len: u32) -> Packet {
    let (c, s) = (Addr::v4(&[10, 0, 0, 1]), Addr::v4(&[10, 0, 0, 2]));
    let (src, dst, sp, dp) = if from_client {
        (c, s, port, 80)
    } else {
        (s, c, 80, port)
    };
    Packet {
        vlan: VlanStack::default(),
        v6: false,
        src,
        dst,
        ip_len: 40 + len,
        transport: Transport::Tcp(Tcp {
            src_port: sp,
            dst_port: dp,
            seq,
            ack: 1,
            flags,
            window: 1000,
            payload_len: len,
            app: Default::default(),
        }),
        encap: Default::default(),
        csum: Checksum::Unchecked,
        sni: Default::default(),
    }
}

/// Feeds connection `i` (one of a long sequence, 1 ms apart, each closed 0.6 ms after it
/// opens, the client port cycling so that 4-tuples come back) to the table.
fn connection(table: &mut FlowTable<'_>, sink: &mut dyn FlowSink, i: u64) {
    use tcpflags::*;
    let t = 1_700_000_000 * NS + i as i64 * 1_000_000;
    let port = 1024 + (i % 64_000) as u16;
    let us = 1_000;
    let pkts = [
        segment(true, port, SYN, 100, 0),
        segment(false, port, SYN | ACK, 500, 0),
        segment(true, port, ACK, 101, 0),
        segment(true, port, ACK | PSH, 101, 100),
        segment(false, port, ACK | PSH, 501, 200),
        segment(true, port, FIN | ACK, 201, 0),
        segment(false, port, FIN | ACK, 701, 0),
    ];
    for (k, p) in pkts.iter().enumerate() {
        table.packet(t + k as i64 * 100 * us, p, sink);
    }
}

/// Memory follows the flows open at once, never the length of the input: 1,000,000 short
/// connections one after another through the flow table and the audit (with --flows-out)
/// need no more memory at their end than after the first 100,000.
#[test]
fn memory_does_not_grow_with_the_number_of_flows() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("flowaudit-seq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules_path = dir.join("r.toml");
    std::fs::write(
        &rules_path,
        "name = \"seq\"\n[roles]\nc = { hosts = [\"10.0.0.1\"] }\ns = { hosts = [\"10.0.0.2\"] }\n\
         [[flows]]\nname = \"web\"\nfrom = \"c\"\nto = \"s\"\nproto = \"tcp\"\nports = [80]\n\
         latency_ms = 5\npeak_kbps = 1000\nexpect = \"required\"\n",
    )
    .unwrap();
    let rules = Rules::load(&rules_path, None).unwrap();
    let cfg = FlowConfig {
        seconds: true,
        ..FlowConfig::default()
    };
    // Both JSON-lines outputs on: raising findings keeps nothing per flow either.
    let out: Box<dyn std::io::Write + Send> = Box::new(std::io::sink());
    let raised: Box<dyn std::io::Write + Send> = Box::new(std::io::sink());
    let mut sink = AuditSink::new(
        &rules,
        Auditor::new(&rules, Default::default()),
        Some(out),
        Some(raised),
    );
    let mut table = FlowTable::new(cfg, &rules);
    const FIRST: u64 = 100_000;
    const ALL: u64 = 1_000_000;
    for i in 0..FIRST {
        connection(&mut table, &mut sink, i);
    }
    let early = PEAK.load(Ordering::Relaxed);
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    for i in FIRST..ALL {
        connection(&mut table, &mut sink, i);
    }
    let late = PEAK.load(Ordering::Relaxed);
    table.finish(&mut sink);
    let end = sink.finish(None);
    end.flows_out.unwrap();
    end.findings_out.unwrap();
    let result = end.auditor.finish();
    assert_eq!(result.flows, ALL);
    assert_eq!(result.rule_flows, [ALL]);
    std::fs::remove_dir_all(&dir).ok();
    // Growth after the first 100,000 flows: at most 64 KiB (a table or queue that happens to
    // double once more), not the ~200 MB a list of every flow would take.
    assert!(
        late <= early + 64 * 1024,
        "peak live heap {early} bytes over the first {FIRST} flows, {late} over the next {}",
        ALL - FIRST
    );
}

/// A TLS or plain flow from 10.0.0.1 to 10.0.0.2:443, established, without round trip.
fn carrying(
    uid: String,
    ts_ns: i64,
    service: &str,
    status: ServiceStatus,
    tls: Option<TlsInfo>,
) -> FlowRecord {
    FlowRecord {
        ts_ns,
        uid: uid.into(),
        orig_h: "10.0.0.1".parse().unwrap(),
        orig_p: 40000,
        resp_h: "10.0.0.2".parse().unwrap(),
        resp_p: 443,
        proto: Proto::Tcp,
        duration_ns: 1_000,
        orig_bytes: 100,
        resp_bytes: 200,
        conn_state: ConnState::SF,
        missed_bytes: 0,
        history: "ShADadFf".into(),
        orig_pkts: 5,
        orig_ip_bytes: 400,
        resp_pkts: 5,
        resp_ip_bytes: 500,
        vlan: Vec::new(),
        community_id: Default::default(),
        direction_inferred: false,
        syn_synack_ns: None,
        synack_ack_ns: None,
        rtt_ns: None,
        icmp_errors: None,
        evicted: false,
        service: service.into(),
        service_status: status,
        tls,
        tunnel: None,
        tunnel_parents: Vec::new(),
        bad_checksums: 0,
        rejected: None,
    }
}

/// Judging what flows carried against a rule's service, tls_min and sni allocates nothing per
/// flow, whether they conform, could not be judged or make findings: once every finding group
/// and what it saw exist, 8,000 more flows make no allocation.
#[test]
fn judging_services_allocates_nothing_per_flow() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("flowaudit-content-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules_path = dir.join("r.toml");
    std::fs::write(
        &rules_path,
        "name = \"content\"\n[roles]\nc = { hosts = [\"10.0.0.1\"] }\ns = { hosts = [\"10.0.0.2\"] }\n\
         [[flows]]\nname = \"https\"\nfrom = \"c\"\nto = \"s\"\nproto = \"tcp\"\nports = [443]\n\
         service = [\"ssl\"]\ntls_min = \"1.2\"\nsni = [\"*.example.com\"]\n",
    )
    .unwrap();
    let rules = Rules::load(&rules_path, None).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let hello = |version: Option<u16>, sni: &str, cut: bool| {
        Some(TlsInfo {
            version,
            client_version: Some(0x0304),
            sni: sni.into(),
            sni_cut: cut,
        })
    };
    let long = "a-server-name-longer-than-any-inline-text.example.net";
    // The records are made before counting: only the audit's own allocations count.
    let records: Vec<FlowRecord> = (0..8_000i64)
        .map(|i| {
            let uid = format!("C{i:05}");
            let ts = 1_700_000_000 * NS + i * 1_000_000;
            match i % 8 {
                0 => carrying(
                    uid,
                    ts,
                    "ssl",
                    ServiceStatus::Known,
                    hello(Some(0x0303), "a.example.com", false),
                ),
                1 => carrying(uid, ts, "http", ServiceStatus::Known, None),
                2 => carrying(uid, ts, "", ServiceStatus::Unknown, None),
                3 => carrying(
                    uid,
                    ts,
                    "ssl",
                    ServiceStatus::Known,
                    hello(Some(0x0301), long, false),
                ),
                4 => carrying(uid, ts, "ssl", ServiceStatus::Known, hello(None, "", false)),
                5 => carrying(
                    uid,
                    ts,
                    "ssl",
                    ServiceStatus::Known,
                    hello(Some(0x0304), "", true),
                ),
                6 => carrying(
                    uid,
                    ts,
                    "ssl,http",
                    ServiceStatus::Known,
                    hello(Some(0x0303), "", false),
                ),
                _ => carrying(uid, ts, "", ServiceStatus::MidStream, None),
            }
        })
        .collect();
    let mut a = Auditor::new(&rules, Default::default());
    // Every group, what it saw and its five example uids.
    for r in &records[..40] {
        a.add(r);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for r in &records[40..] {
        a.add(r);
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    let result = a.finish();
    let kinds: Vec<&str> = result.findings.iter().map(|f| f.kind.name()).collect();
    assert_eq!(kinds, ["wrong_service", "weak_tls", "unexpected_sni"]);
    assert_eq!(
        result.findings.iter().map(|f| f.flows).collect::<Vec<_>>(),
        [3_000; 3]
    );
    let c = &result.rule_stats[0].checks;
    assert_eq!(
        (
            c.decided,
            c.undecided_flows(),
            c.tls_undecided,
            c.sni_undecided
        ),
        (7_000, 1_000, 1_000, 1_000)
    );
    assert_eq!(after - before, 0, "allocations while judging 7,960 flows");
}
