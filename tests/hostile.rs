//! Hostile packet sequences (any flags, sequence numbers, timestamps from the epoch's ends,
//! out of order) through the flow table and the audit: never a panic, never a hang, and every
//! TCP/UDP packet lands in exactly one flow.

use flowaudit::audit::Auditor;
use flowaudit::decode::{Addr, Checksum, Icmp, Packet, Quoted, Tcp, Transport, Udp, VlanStack};
use flowaudit::flow::{FlowConfig, FlowRecord, FlowSink, FlowTable, NoServerPorts};
use flowaudit::report::audit::{AuditDoc, write_audit_json, write_audit_text};
use flowaudit::report::{FlowFormat, RecordWriter};
use flowaudit::rules::Rules;
use proptest::prelude::*;

const TIMES: [i64; 9] = [
    i64::MIN,
    -4_000_000_000_000_000_000,
    -1,
    0,
    1,
    1_700_000_000_000_000_000,
    1_700_000_000_500_000_000,
    i64::MAX - 1,
    i64::MAX,
];

fn addr(i: u8) -> Addr {
    Addr::v4(&[10, 0, 0, i])
}

/// One generated packet: kind (0 TCP, 1 UDP, 2 ICMP error), source and destination host,
/// ports, TCP flags, sequence number, payload length, index into TIMES, VLAN id (0: none).
type Case = (u8, u8, u8, u16, u16, u8, u32, u32, usize, u16);

fn packet(&(kind, a, b, pa, pb, flags, seq, len, _, vlan): &Case) -> Packet {
    let mut v = VlanStack::default();
    if vlan > 0 {
        v.push(vlan);
    }
    let transport = match kind % 3 {
        0 => Transport::Tcp(Tcp {
            src_port: pa,
            dst_port: pb,
            seq,
            ack: seq.rotate_left(7),
            flags,
            window: (seq & 1) as u16,
            payload_len: len,
            app: Default::default(),
        }),
        1 => Transport::Udp(Udp {
            src_port: pa,
            dst_port: pb,
            payload_len: len,
            app: Default::default(),
        }),
        _ => Transport::Icmp(Icmp {
            v6: false,
            icmp_type: 3,
            code: flags & 3,
            quoted: Some(Quoted {
                v6: false,
                src: addr(b),
                dst: addr(a),
                proto: if flags & 1 == 0 { 6 } else { 17 },
                src_port: pb,
                dst_port: pa,
            }),
        }),
    };
    Packet {
        vlan: v,
        v6: false,
        src: addr(a),
        dst: addr(b),
        ip_len: 40u32.saturating_add(len),
        transport,
        encap: Default::default(),
        csum: Checksum::Unchecked,
        sni: Default::default(),
    }
}

fn rules() -> Rules {
    let dir = std::env::temp_dir().join(format!("flowaudit-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("rules.toml");
    std::fs::write(
        &p,
        r#"name = "everything, with budgets"
[roles]
a = { hosts = ["10.0.0.1", "10.0.0.2"] }
any = { hosts = ["any"] }
[[flows]]
name = "tcp"
from = "a"
to = "a"
proto = "tcp"
ports = ["1-65535"]
latency_ms = 0.001
avg_kbps = 1
peak_kbps = 1
expect = "required"
between = "peers"
[[flows]]
name = "udp"
from = "any"
to = "any"
proto = "udp"
ports = [53]
expect = "required"
"#,
    )
    .unwrap();
    Rules::load(&p, None).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn flow_table_and_audit_survive_anything(
        pkts in proptest::collection::vec(
            (0u8..3, 1u8..4, 1u8..4, prop::sample::select(vec![53u16, 80, 40000]), prop::sample::select(vec![53u16, 80, 40000]),
             any::<u8>(), any::<u32>(), 0u32..3000, 0usize..TIMES.len(), 0u16..2),
            0..60),
    ) {
        // A small table, so that eviction is exercised too.
        let cfg = FlowConfig { max_flows: 3, seconds: true, ..FlowConfig::default() };
        let mut table = FlowTable::new(cfg, &NoServerPorts);
        let mut flow_packets = 0u64;
        let mut records: Vec<FlowRecord> = Vec::new();
        for case in &pkts {
            if case.0 % 3 != 2 {
                flow_packets += 1;
            }
            table.packet(TIMES[case.8], &packet(case), &mut records);
        }
        table.finish(&mut records);
        let counted: u64 = records.iter().map(|r| r.orig_pkts + r.resp_pkts).sum();
        prop_assert_eq!(counted, flow_packets);
        let rules = rules();
        let mut auditor = Auditor::new(&rules, Default::default());
        for r in &records {
            auditor.add(r);
        }
        let result = auditor.finish();
        let doc = AuditDoc { rules: &rules, result: &result, captures: &[], records: &[], merge: Default::default(), table: Default::default(), max_flows: 3 };
        let mut sink = Vec::new();
        write_audit_json(&mut sink, &doc).unwrap();
        write_audit_text(&mut sink, &doc, false, 20).unwrap();
        let mut writer = RecordWriter::new(Vec::new(), FlowFormat::Zeek, None);
        for r in &records {
            writer.flow(r);
        }
        writer.finish(None).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Damaged pcap and pcapng files (bytes overwritten anywhere, then cut anywhere) through
    /// the whole pipeline: capture, decode, flows, records. Errors are fine; panics are not.
    #[test]
    fn damaged_files_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let name = ["states.pcap", "multi-if.pcapng", "ipv6-ext.pcap"][which];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut bytes = std::fs::read(root.join("fixtures/synthetic").join(name)).unwrap();
        for (at, v) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *v;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let dir = std::env::temp_dir().join(format!("flowaudit-damaged-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let found = flowaudit::capture::discover(std::slice::from_ref(&path));
        let mut records: Vec<FlowRecord> = Vec::new();
        let outcome = flowaudit::engine::read(&found.inputs, &flowaudit::engine::Options::default(), &NoServerPorts, &mut records, &mut |_| {});
        let counted: u64 = records.iter().map(|r| r.orig_pkts + r.resp_pkts).sum();
        prop_assert_eq!(counted, outcome.stats.tcp_packets + outcome.stats.udp_packets);
    }
}
