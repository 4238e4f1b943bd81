//! Reading records: exact records from Zeek's published conn.log layout, every way a line can
//! be wrong, gzip, and flowaudit's own output read back.

use std::io::Write as _;
use std::net::IpAddr;

use proptest::prelude::*;

use super::*;
use crate::flow::{ConnState, IcmpErrors, Proto, TunnelInfo};

const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2026-11-29-12-00-00\n";
const CONN_FIELDS: &str = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A flow record read, where the test expects one.
fn flow(item: Result<Item, RecordsError>) -> FlowRecord {
    match item.unwrap() {
        Item::Flow(r) => r,
        other => panic!("a flow record was expected: {other:?}"),
    }
}

/// Everything a reader gives: its records and its statistics.
fn read(input: &[u8]) -> (Vec<FlowRecord>, ReadStats, Format) {
    let mut r = Reader::open("test.log", std::io::Cursor::new(input.to_vec())).unwrap();
    let records: Vec<FlowRecord> = r.by_ref().map(flow).collect();
    let stats = r.stats().clone();
    let s = &stats;
    assert_eq!(
        s.lines,
        s.records + s.skipped_total() + s.malformed + s.headers + s.blank,
        "{s:?}"
    );
    (records, stats, r.format())
}

/// A UDP record with Zeek's defaults for what a line leaves out.
fn udp(ts_ns: i64, uid: &str, o: &str, op: u16, r: &str, rp: u16) -> FlowRecord {
    let (orig_h, resp_h) = (ip(o), ip(r));
    FlowRecord {
        ts_ns,
        uid: uid.into(),
        orig_h,
        orig_p: op,
        resp_h,
        resp_p: rp,
        proto: Proto::Udp,
        conn_state: ConnState::OTH,
        community_id: cid(Proto::Udp, orig_h, op, resp_h, rp),
        ..FlowRecord::blank()
    }
}

fn cid(proto: Proto, a: IpAddr, ap: u16, b: IpAddr, bp: u16) -> crate::flow::Text {
    use crate::decode::Addr;
    let addr = |ip: IpAddr| match ip {
        IpAddr::V4(v) => Addr::v4(&v.octets()),
        IpAddr::V6(v) => Addr::v6(&v.octets()),
    };
    let n = if proto == Proto::Tcp { 6 } else { 17 };
    crate::flow::community_id(n, a.is_ipv6(), &addr(a), ap, &addr(b), bp)
}

/// Zeek's baseline `core.tunnels.vxlan/conn.log` (fixtures/records/README.md): the ICMP
/// connection is skipped, the four VXLAN outer flows read field for field; the single-packet
/// ones have `duration` and the byte counts unset, which reads as 0.
#[test]
fn zeek_baseline_vxlan_conn_log() {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/records/vxlan-conn.log"),
    )
    .unwrap();
    let (records, stats, format) = read(&bytes);
    assert_eq!(format, Format::ZeekTsv);
    let row = |ts, uid, o, op, r, dur, ob, pkts, ipb| FlowRecord {
        service: "vxlan".into(),
        service_status: crate::flow::ServiceStatus::Known,
        duration_ns: dur,
        orig_bytes: ob,
        conn_state: ConnState::S0,
        history: "D".into(),
        orig_pkts: pkts,
        orig_ip_bytes: ipb,
        ..udp(ts, uid, o, op, r, 4789)
    };
    assert_eq!(
        records,
        vec![
            row(
                1_369_158_050_149_713_000,
                "CUM0KZ3MLUfNB0cl11",
                "192.168.56.12",
                38071,
                "192.168.56.11",
                3_004_278_000,
                424,
                4,
                536
            ),
            row(
                1_369_158_053_155_075_000,
                "ClEkJM2Vm5giqnMf4h",
                "192.168.56.12",
                40908,
                "192.168.56.11",
                0,
                0,
                1,
                78
            ),
            row(
                1_369_158_053_155_289_000,
                "CHhAvVGS1DHFjwGM9",
                "192.168.56.11",
                39924,
                "192.168.56.12",
                0,
                0,
                1,
                78
            ),
            row(
                1_369_158_050_150_229_000,
                "C4J4Th3PJpwUYZZ6gc",
                "192.168.56.11",
                48134,
                "192.168.56.12",
                3_004_434_000,
                424,
                4,
                536
            ),
        ]
    );
    assert_eq!(stats.skipped.get(SKIP_ICMP), Some(&1));
    assert_eq!((stats.lines, stats.headers, stats.malformed), (14, 9, 0));
    assert_eq!(stats.first_ts_ns, Some(1_369_158_050_149_713_000));
    assert_eq!(stats.last_ts_ns, Some(1_369_158_053_155_289_000));
}

/// A TCP row as Zeek writes it (the Community ID specification's example connection, so the
/// computed `community_id` is the specification's value), IPv6, and Zeek's escapes.
#[test]
fn zeek_tsv_fields_exactly() {
    let log = format!(
        "{HEADER}{CONN_FIELDS}\
1300475167.096535\tCHhAvVGS1DHFjwGM9\t128.232.110.120\t34855\t66.35.250.204\t80\ttcp\thttp\t0.511468\t464\t1280\tSF\t-\t-\t0\tShADadFf\t6\t784\t5\t1552\t(empty)\n\
1300475168.000001\t\\x2d\t2001:db8::1\t5353\tff02::fb\t5353\tudp\t-\t-\t-\t-\tS0\tT\tF\t0\tD\t1\t100\t0\t0\t-\n\
1300475169.5\tCx\\x09y\\\\z\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\tssl,vxlan\t1e-3\t0\t0\tOTH\t-\t-\t12\t^hADa\\xff\t1\t1\t1\t1\tCa,Cb\n\
1300475170\t(empty)\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tOTH\t-\t-\t0\t\\x28empty)\t0\t0\t0\t0\t(empty)\n\
#close\t2026-11-29-12-00-01\n"
    );
    let (records, stats, _) = read(log.as_bytes());
    assert_eq!(stats.malformed, 0, "{:?}", stats.first_malformed);
    let (a, b) = (ip("128.232.110.120"), ip("66.35.250.204"));
    let http = FlowRecord {
        proto: Proto::Tcp,
        service: "http".into(),
        service_status: crate::flow::ServiceStatus::Known,
        duration_ns: 511_468_000,
        orig_bytes: 464,
        resp_bytes: 1280,
        conn_state: ConnState::SF,
        history: "ShADadFf".into(),
        orig_pkts: 6,
        orig_ip_bytes: 784,
        resp_pkts: 5,
        resp_ip_bytes: 1552,
        community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=".into(),
        // S: the originator's SYN.
        direction_inferred: false,
        ..udp(
            1_300_475_167_096_535_000,
            "CHhAvVGS1DHFjwGM9",
            "128.232.110.120",
            34855,
            "66.35.250.204",
            80,
        )
    };
    assert_eq!(http.community_id, cid(Proto::Tcp, a, 34855, b, 80));
    let mdns = FlowRecord {
        conn_state: ConnState::S0,
        history: "D".into(),
        orig_pkts: 1,
        orig_ip_bytes: 100,
        // `\x2d` is a uid that is "-", not an unset one.
        ..udp(
            1_300_475_168_000_001_000,
            "-",
            "2001:db8::1",
            5353,
            "ff02::fb",
            5353,
        )
    };
    let escaped = FlowRecord {
        proto: Proto::Tcp,
        service: "ssl,vxlan".into(),
        service_status: crate::flow::ServiceStatus::Known,
        duration_ns: 1_000_000,
        missed_bytes: 12,
        // h: the responder's SYN/ACK; a byte that is no UTF-8 is replaced.
        history: "^hADa\u{fffd}".into(),
        direction_inferred: false,
        orig_pkts: 1,
        orig_ip_bytes: 1,
        resp_pkts: 1,
        resp_ip_bytes: 1,
        tunnel_parents: vec!["Ca".into(), "Cb".into()],
        community_id: cid(Proto::Tcp, ip("10.0.0.1"), 1, ip("10.0.0.2"), 2),
        ..udp(
            1_300_475_169_500_000_000,
            "Cx\ty\\z",
            "10.0.0.1",
            1,
            "10.0.0.2",
            2,
        )
    };
    // `(empty)` is an empty string; `\x28empty)` the string "(empty)".
    let empty = FlowRecord {
        history: "(empty)".into(),
        ..udp(1_300_475_170_000_000_000, "", "10.0.0.1", 1, "10.0.0.2", 2)
    };
    assert_eq!(records, vec![http, mdns, escaped, empty]);
}

/// Two header blocks (rotated logs concatenated): the second has its columns in another
/// order, an extra column, flowaudit's and Zeek's optional columns, and leaves others out.
#[test]
fn header_blocks_reordered_extra_and_missing_columns() {
    let log = format!(
        "{HEADER}{CONN_FIELDS}\
1.000000\tC1\t10.0.0.1\t40000\t10.0.0.2\t53\tudp\tdns\t0.25\t10\t20\tSF\t-\t-\t0\tDd\t1\t38\t1\t48\t-\n\
#close\t2026-11-29-12-00-01\n\
{HEADER}#fields\tproto\tid.resp_p\tid.resp_h\tid.orig_p\tid.orig_h\tts\thistory\tvlan\tinner_vlan\tcommunity_id\torig_l2_addr\tdirection_inferred\trtt\n\
#types\tenum\tport\taddr\tport\taddr\ttime\tstring\tint\tint\tstring\tstring\tbool\tinterval\n\
tcp\t443\t10.0.0.9\t50000\t10.0.0.8\t2.5\tDd\t10\t20\t1:given\t00:11:22:33:44:55\tF\t0.001\n\
tcp\t443\t10.0.0.9\t50001\t10.0.0.8\t3\t-\t-\t-\t-\t-\t-\t-\n"
    );
    let (records, stats, _) = read(log.as_bytes());
    assert_eq!(stats.malformed, 0, "{:?}", stats.first_malformed);
    let first = FlowRecord {
        service: "dns".into(),
        service_status: crate::flow::ServiceStatus::Known,
        duration_ns: 250_000_000,
        orig_bytes: 10,
        resp_bytes: 20,
        conn_state: ConnState::SF,
        history: "Dd".into(),
        orig_pkts: 1,
        orig_ip_bytes: 38,
        resp_pkts: 1,
        resp_ip_bytes: 48,
        ..udp(1_000_000_000, "C1", "10.0.0.1", 40000, "10.0.0.2", 53)
    };
    let second = FlowRecord {
        proto: Proto::Tcp,
        history: "Dd".into(),
        vlan: vec![10, 20],
        community_id: "1:given".into(),
        direction_inferred: false,
        rtt_ns: Some(1_000_000),
        ..udp(2_500_000_000, "", "10.0.0.8", 50000, "10.0.0.9", 443)
    };
    let third = FlowRecord {
        proto: Proto::Tcp,
        community_id: cid(Proto::Tcp, ip("10.0.0.8"), 50001, ip("10.0.0.9"), 443),
        // No history: no handshake told the direction.
        direction_inferred: true,
        ..udp(3_000_000_000, "", "10.0.0.8", 50001, "10.0.0.9", 443)
    };
    assert_eq!(records, vec![first, second, third]);
}

/// A header block without a column a flow record needs is one error naming the file and the
/// column; what came before it was read.
#[test]
fn missing_required_column_is_an_error() {
    let log = format!(
        "{HEADER}{CONN_FIELDS}1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t1\t0\t0\t-\n\
{HEADER}#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tproto\n"
    );
    let mut r = Reader::open("rotated/conn.log", std::io::Cursor::new(log.into_bytes())).unwrap();
    assert!(r.next().unwrap().is_ok());
    let e = r.next().unwrap().unwrap_err();
    assert!(matches!(
        e,
        RecordsError::MissingColumn { ref file, line: 16, column: "id.resp_p" } if file == "rotated/conn.log"
    ));
    assert_eq!(
        e.to_string(),
        "rotated/conn.log: line 16: the Zeek log has no `id.resp_p` column, which a flow record needs"
    );
    assert!(r.next().is_none());
}

/// Every way a row can be wrong: each is counted with its line number and reading goes on.
#[test]
fn malformed_rows_are_counted_and_skipped() {
    let good = "1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t1\t0\t0\t-";
    let bad = [
        ("1.0\tC1\t10.0.0.1", "3 fields where #fields names 21"),
        (
            "1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t1\t0\t0\t-\textra",
            "22 fields where #fields names 21",
        ),
        (
            "x.5\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t1\t0\t0\t-",
            "ts: \"x.5\" is not a time in seconds",
        ),
        (
            "1.0\tC1\t10.0.0.256\t1\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t1\t0\t0\t-",
            "id.orig_h: \"10.0.0.256\" is not an IP address",
        ),
        (
            "1.0\tC1\t10.0.0.1\t70000\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t1\t0\t0\t-",
            "id.orig_p: \"70000\" is not a port",
        ),
        (
            "1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tsctp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t1\t0\t0\t-",
            "proto: \"sctp\" is not tcp, udp, icmp or unknown_transport",
        ),
        (
            "1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t-1\t1\t0\t0\t-",
            "orig_pkts: \"-1\" is not a count",
        ),
        (
            "1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tXX\t-\t-\t0\tD\t1\t1\t0\t0\t-",
            "conn_state: \"XX\" is no Zeek state",
        ),
        (
            "-\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t1\t0\t0\t-",
            "ts is unset",
        ),
        (
            "1.0\tC1\t10.0.0.1\t1\t::1\t2\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t1\t0\t0\t-",
            "id.orig_h and id.resp_h are not of one address family",
        ),
        (
            "1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t2\tudp\t-\t9999999999999999999999\t-\t-\tS0\t-\t-\t0\tD\t1\t1\t0\t0\t-",
            "duration: \"9999999999999999999999\" is not a time in seconds",
        ),
    ];
    let mut log = format!("{HEADER}{CONN_FIELDS}");
    for (line, _) in &bad {
        log.push_str(good);
        log.push('\n');
        log.push_str(line);
        log.push('\n');
    }
    let (records, stats, _) = read(log.as_bytes());
    assert_eq!(records.len(), bad.len());
    assert_eq!(stats.malformed, bad.len() as u64);
    // The first few are kept with their line numbers (header: 8 lines; good and bad alternate).
    let kept: Vec<(u64, &str)> = stats
        .first_malformed
        .iter()
        .map(|m| (m.line, m.message.as_str()))
        .collect();
    let want: Vec<(u64, &str)> = bad
        .iter()
        .enumerate()
        .take(KEEP_MALFORMED)
        .map(|(i, (_, msg))| (10 + 2 * i as u64, *msg))
        .collect();
    assert_eq!(kept, want);
    // And each message, one line at a time.
    for (line, msg) in bad {
        let (_, stats, _) = read(format!("{HEADER}{CONN_FIELDS}{line}\n").as_bytes());
        assert_eq!(
            stats.first_malformed,
            vec![Malformed {
                line: 9,
                message: msg.into()
            }]
        );
    }
    // A row before any #fields line, a line too long.
    let (_, stats, _) = read(format!("{HEADER}{good}\n").as_bytes());
    assert_eq!(
        stats.first_malformed[0].message,
        "a row before any #fields line"
    );
    let long = format!(
        "{HEADER}{CONN_FIELDS}{}\n{good}\n",
        "x".repeat(MAX_LINE + 1)
    );
    let (records, stats, _) = read(long.as_bytes());
    assert_eq!(records.len(), 1);
    assert_eq!(stats.first_malformed[0].line, 9);
}

/// An input in no known format, or empty, is an error naming it.
#[test]
fn unknown_formats_are_errors() {
    for (input, why) in [
        (&b""[..], "no line in it"),
        (b"\n\n", "no line in it"),
        (
            b"ts,uid\n",
            "its first line is neither `#separator`, a JSON object, a VPC flow log header nor a version-2 VPC flow log line: \"ts,uid\"",
        ),
        (
            // Zeek's dns.log as JSON: ts, the id fields, proto and an rtt, but no connection.
            br#"{"ts":1795941313.4,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp","trans_id":7,"rtt":0.001,"query":"example.com"}
"#,
            "its first line is not a connection record (a JSON object with ts, id.orig_h, proto and conn_state or orig_ip_bytes; Zeek's other logs are not read), nor an EVE event (event_type and timestamp)",
        ),
        (
            b"{\"event_type\":\"flow\"}\n",
            "its first line is not a connection record (a JSON object with ts, id.orig_h, proto and conn_state or orig_ip_bytes; Zeek's other logs are not read), nor an EVE event (event_type and timestamp)",
        ),
        (
            b"\xd4\xc3\xb2\xa1\x02\x00",
            "its first line is neither `#separator`, a JSON object, a VPC flow log header nor a version-2 VPC flow log line: \"\u{fffd}ò\u{fffd}\\u{2}\\0\"",
        ),
    ] {
        let e = Reader::open("x.log", std::io::Cursor::new(input.to_vec())).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "x.log: neither a capture (pcap, pcapng) nor a flow-record log (Zeek conn.log TSV or JSON, flowaudit JSON lines, Suricata EVE JSON, AWS VPC flow log): {why}"
            )
        );
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// gzip, recognised by its magic: one member, or two concatenated (`cat a.log.gz b.log.gz`);
/// a damaged stream is an error naming the file, after the records read before it.
#[test]
fn gzip_inputs() {
    let plain = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/records/vxlan-conn.log"),
    )
    .unwrap();
    let (want, _, _) = read(&plain);
    let (records, _, format) = read(&gzip(&plain));
    assert_eq!((records, format), (want.clone(), Format::ZeekTsv));
    let mut two = gzip(&plain);
    two.extend(gzip(&plain));
    let (records, stats, _) = read(&two);
    assert_eq!(records.len(), 2 * want.len());
    assert_eq!(stats.headers, 18);
    let mut cut = gzip(&plain);
    cut.truncate(cut.len() - 12);
    let r = Reader::open("cut.log.gz", std::io::Cursor::new(cut)).unwrap();
    let results: Vec<_> = r.collect();
    let e = results.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(e, RecordsError::Io { file, .. } if file == "cut.log.gz"),
        "{e}"
    );
}

/// Zeek's JSON conn.log (`LogAscii::use_json=T`): the line of Zeek's documentation ("Zeek
/// logs in JSON", docs.zeek.org), whose duration has more digits than a nanosecond; unset
/// fields are left out; Zeek's vlan-logging writes numbers.
#[test]
fn zeek_json_lines() {
    let log = br#"{"ts":1591367999.305988,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","service":"dns","duration":0.06685185432434082,"orig_bytes":62,"resp_bytes":141,"conn_state":"SF","missed_bytes":0,"history":"Dd","orig_pkts":2,"orig_ip_bytes":118,"resp_pkts":2,"resp_ip_bytes":197}
{"ts":1591368000.0,"uid":"C2","id.orig_h":"10.0.0.1","id.orig_p":40000,"id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp","conn_state":"S0","local_orig":true,"history":"S","orig_pkts":1,"orig_ip_bytes":60,"resp_pkts":0,"resp_ip_bytes":0,"vlan":100,"inner_vlan":7,"tunnel_parents":["Cp"]}
{"ts":1591368001,"uid":"C3","id.orig_h":"10.0.0.1","id.orig_p":8,"id.resp_h":"10.0.0.2","id.resp_p":0,"proto":"icmp"}
{"ts":"1591368001","uid":"C4","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"udp"}
{"ts":1591368001,"uid":"C5","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"udp",
{"uid":"C6","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"udp"}
"#;
    let (records, stats, format) = read(log);
    assert_eq!(format, Format::ZeekJson);
    let dns = FlowRecord {
        service: "dns".into(),
        service_status: crate::flow::ServiceStatus::Known,
        // 0.06685185432434082 s: 66851854.32 ns, rounded.
        duration_ns: 66_851_854,
        orig_bytes: 62,
        resp_bytes: 141,
        conn_state: ConnState::SF,
        history: "Dd".into(),
        orig_pkts: 2,
        orig_ip_bytes: 118,
        resp_pkts: 2,
        resp_ip_bytes: 197,
        ..udp(
            1_591_367_999_305_988_000,
            "CMdzit1AMNsmfAIiQc",
            "192.168.4.76",
            36844,
            "192.168.4.1",
            53,
        )
    };
    let syn = FlowRecord {
        proto: Proto::Tcp,
        conn_state: ConnState::S0,
        history: "S".into(),
        direction_inferred: false,
        orig_pkts: 1,
        orig_ip_bytes: 60,
        vlan: vec![100, 7],
        tunnel_parents: vec!["Cp".into()],
        community_id: cid(Proto::Tcp, ip("10.0.0.1"), 40000, ip("10.0.0.2"), 80),
        ..udp(
            1_591_368_000_000_000_000,
            "C2",
            "10.0.0.1",
            40000,
            "10.0.0.2",
            80,
        )
    };
    assert_eq!(records, vec![dns, syn]);
    assert_eq!(stats.skipped.get(SKIP_ICMP), Some(&1));
    let lines: Vec<(u64, &str)> = stats
        .first_malformed
        .iter()
        .map(|m| (m.line, m.message.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (4, "ts: \"\\\"1591368001\\\"\" is not a time in seconds"),
            (
                5,
                "not a record: EOF while parsing a value at line 1 column 116"
            ),
            (6, "ts is unset"),
        ]
    );
}

/// flowaudit's own JSON lines, with what only they carry: a tunnel, ICMP errors, handshake
/// times, a judgement (ignored).
#[test]
fn flowaudit_json_lines() {
    let log = br#"{"ts":10.000001,"uid":"CA","id.orig_h":"10.1.0.1","id.orig_p":1000,"id.resp_h":"10.1.0.2","id.resp_p":53,"proto":"udp","duration":0.000000,"orig_bytes":30,"resp_bytes":0,"conn_state":"S0","missed_bytes":0,"history":"D","orig_pkts":1,"orig_ip_bytes":58,"resp_pkts":0,"resp_ip_bytes":0,"tunnel_parents":["CO"],"vlan":[],"community_id":"1:x","direction_inferred":true,"syn_synack":null,"synack_ack":null,"rtt":null,"icmp_errors":{"count":2,"last_type":3,"last_code":3},"evicted":true,"bad_checksums":1,"tunnel":{"type":"vxlan","src":"192.0.2.1","dst":"192.0.2.2","id":42,"depth":1},"rule":"dns","verdict":"allowed"}
{"ts":11,"uid":"CB","id.orig_h":"10.1.0.1","id.orig_p":1000,"id.resp_h":"10.1.0.2","id.resp_p":53,"proto":"udp","tunnel":{"type":"nope","src":"192.0.2.1","dst":"192.0.2.2","id":null,"depth":1},"direction_inferred":true}
"#;
    let (records, stats, format) = read(log);
    assert_eq!(format, Format::FlowauditJson);
    let want = FlowRecord {
        orig_bytes: 30,
        conn_state: ConnState::S0,
        history: "D".into(),
        orig_pkts: 1,
        orig_ip_bytes: 58,
        tunnel_parents: vec!["CO".into()],
        community_id: "1:x".into(),
        icmp_errors: Some(IcmpErrors {
            count: 2,
            last_type: 3,
            last_code: 3,
        }),
        evicted: true,
        bad_checksums: 1,
        rejected: None,
        tunnel: Some(TunnelInfo {
            kind: "vxlan",
            src: ip("192.0.2.1"),
            dst: ip("192.0.2.2"),
            id: Some(42),
            depth: 1,
        }),
        ..udp(10_000_001_000, "CA", "10.1.0.1", 1000, "10.1.0.2", 53)
    };
    assert_eq!(records, vec![want]);
    assert_eq!(
        stats.first_malformed[0].message,
        "tunnel.type: \"nope\" is no tunnel kind"
    );
}

/// A reader that hands out its input a few bytes at a time, as a pipe can: lines are cut at
/// every place by the end of what one read gave.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn lines_cut_by_reads_and_leading_blanks_keep_their_numbers() {
    let good = r#"{"ts":1,"uid":"CA","id.orig_h":"10.1.0.1","id.orig_p":1000,"id.resp_h":"10.1.0.2","id.resp_p":53,"proto":"udp","conn_state":"S0","direction_inferred":false}"#;
    // Line 1 and 2 are blank (one with a carriage return), 3 and 5 records, 4 and 7
    // malformed, 6 blank, 8 a record without a final newline.
    let log = format!("\n\r\n{good}\r\n{{\"ts\":\n{good}\n\n[]\n{good}");
    let whole = read(log.as_bytes());
    assert_eq!(whole.0.len(), 3);
    assert_eq!(
        (whole.1.lines, whole.1.blank, whole.1.malformed),
        (8, 3, 2),
        "{:?}",
        whole.1
    );
    let lines: Vec<u64> = whole.1.first_malformed.iter().map(|m| m.line).collect();
    assert_eq!(lines, [4, 7]);
    for step in 1..=log.len() {
        let input = Trickle {
            data: log.as_bytes().to_vec(),
            at: 0,
            step,
        };
        let mut r = Reader::open("pipe", input).unwrap();
        let records: Vec<FlowRecord> = r.by_ref().map(flow).collect();
        assert_eq!(records, whole.0, "reads of {step} bytes");
        assert_eq!(r.stats(), &whole.1, "reads of {step} bytes");
    }
}

#[test]
fn decimal_seconds_to_ns() {
    use super::values::decimal_ns;
    for (text, ns) in [
        ("1300475167.096535", Some(1_300_475_167_096_535_000)),
        ("0.000001", Some(1_000)),
        ("-0.5", Some(-500_000_000)),
        ("+2", Some(2_000_000_000)),
        ("2.", Some(2_000_000_000)),
        (".25", Some(250_000_000)),
        ("1e-3", Some(1_000_000)),
        ("1.5E3", Some(1_500_000_000_000)),
        ("0.0000000005", Some(1)),
        ("0.0000000004", Some(0)),
        ("1e-400", Some(0)),
        ("9223372036.854775807", Some(i64::MAX)),
        ("9223372036.854775808", None),
        ("1e400", None),
        ("", None),
        (".", None),
        ("1.2.3", None),
        ("0x10", None),
        ("1 ", None),
        ("NaN", None),
    ] {
        assert_eq!(decimal_ns(text.as_bytes()), ns, "{text}");
    }
}

/// Zeek's history tells a handshake by `S` and `h` only.
#[test]
fn direction_from_history() {
    assert!(!direction_inferred(Proto::Tcp, "ShADadFf"));
    assert!(!direction_inferred(Proto::Tcp, "^hADa"));
    assert!(direction_inferred(Proto::Tcp, "DdA"));
    assert!(direction_inferred(Proto::Tcp, "s"));
    assert!(direction_inferred(Proto::Tcp, ""));
    assert!(direction_inferred(Proto::Udp, "S"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Arbitrary lines after a TSV header, a JSON line, or a flowaudit line never panic, and
    /// every line is counted once.
    #[test]
    fn arbitrary_lines_never_panic(
        start in 0usize..3,
        lines in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..80),
                proptest::collection::vec(
                    prop::sample::select(b"0123456789.-\t,:{}[]\"\\xe#-(empty)tcpudpSFDd".to_vec()), 0..120),
            ],
            0..20),
    ) {
        let mut input = match start {
            0 => format!("{HEADER}{CONN_FIELDS}").into_bytes(),
            1 => br#"{"ts":1.5,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"udp","conn_state":"S0"}"#.to_vec(),
            _ => br#"{"ts":1.5,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"udp","conn_state":"S0","direction_inferred":true}"#.to_vec(),
        };
        input.push(b'\n');
        let header_lines = input.iter().filter(|&&b| b == b'\n').count() as u64;
        let mut newlines = 0u64;
        for l in &lines {
            let l: Vec<u8> = l.iter().copied().filter(|&b| b != b'\n').collect();
            input.extend_from_slice(&l);
            input.push(b'\n');
            newlines += 1;
        }
        let mut r = Reader::open("p.log", std::io::Cursor::new(input)).unwrap();
        let mut n = 0u64;
        for rec in r.by_ref() {
            match rec {
                Ok(_) => n += 1,
                // Only a `#fields` line can end the reading.
                Err(RecordsError::MissingColumn { .. }) => return Ok(()),
                Err(e) => panic!("{e}"),
            }
        }
        let s = r.stats();
        prop_assert_eq!(s.records, n);
        prop_assert_eq!(s.lines, header_lines + newlines);
        prop_assert_eq!(s.lines, s.records + s.skipped_total() + s.malformed + s.headers + s.blank);
    }
}

/// A time as flowaudit writes it (six decimals, half away from zero), in ns.
fn to_us(ns: i64) -> i64 {
    let (neg, whole, micros) = crate::report::split_secs(ns);
    let t = (whole as i64) * 1_000_000_000 + i64::from(micros) * 1000;
    if neg { -t } else { t }
}

/// The records of captures, as `flowaudit flows` makes them.
fn records_of(paths: &[&str]) -> Vec<FlowRecord> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let paths: Vec<_> = paths.iter().map(|p| root.join(p)).collect();
    let mut all = Vec::new();
    for p in paths {
        let found = crate::capture::discover(std::slice::from_ref(&p));
        let mut records: Vec<FlowRecord> = Vec::new();
        let outcome = crate::engine::read(
            &found.inputs,
            &crate::engine::Options::default(),
            &crate::flow::NoServerPorts,
            &mut records,
            &mut |_| {},
        );
        assert!(outcome.errors.is_empty() && !records.is_empty(), "{p:?}");
        all.extend(records);
    }
    all
}

fn written(records: &[FlowRecord], format: crate::report::records::FlowFormat) -> Vec<u8> {
    use crate::flow::FlowSink;
    let mut w = crate::report::records::RecordWriter::new(Vec::new(), format, None);
    w.open(records.first().map_or(0, |r| r.ts_ns));
    for r in records {
        w.flow(r);
    }
    w.finish(records.last().map(|r| r.ts_ns)).unwrap()
}

/// `flowaudit flows --format json` and `--format zeek` of the HAS sample (and of two tunnel
/// captures, for `service`, `tunnel_parents` and `tunnel`) read back give the records field
/// for field, except what each format cannot carry:
/// - both: times and intervals (`ts`, `duration`, `syn_synack`, `synack_ack`, `rtt`) are
///   written with six decimals, so they come back rounded to the microsecond;
/// - Zeek TSV: `tunnel` (JSON only: Zeek keeps it in tunnel.log), and `orig_bytes` and
///   `resp_bytes` of a flow whose duration is 0 (unset, as Zeek's conn.log has them).
#[test]
fn flowaudit_output_reads_back() {
    use crate::report::records::FlowFormat;
    let original = records_of(&[
        "fixtures/has/has.pcap",
        "fixtures/tunnels/vxlan.pcap",
        "fixtures/tunnels/gre.pcap",
    ]);
    assert!(original.iter().any(|r| !r.service.is_empty()));
    assert!(original.iter().any(|r| r.tunnel.is_some()));
    assert!(original.iter().any(|r| !r.tunnel_parents.is_empty()));
    let rounded: Vec<FlowRecord> = original
        .iter()
        .map(|r| FlowRecord {
            ts_ns: to_us(r.ts_ns),
            duration_ns: to_us(r.duration_ns),
            syn_synack_ns: r.syn_synack_ns.map(to_us),
            synack_ack_ns: r.synack_ack_ns.map(to_us),
            rtt_ns: r.rtt_ns.map(to_us),
            ..r.clone()
        })
        .collect();

    let (json, stats, format) = read(&written(&original, FlowFormat::Json));
    assert_eq!(format, Format::FlowauditJson);
    assert_eq!(stats.malformed, 0, "{:?}", stats.first_malformed);
    assert_eq!(json, rounded);

    let (tsv, stats, format) = read(&written(&original, FlowFormat::Zeek));
    assert_eq!(format, Format::ZeekTsv);
    assert_eq!(stats.malformed, 0, "{:?}", stats.first_malformed);
    let tsv_can: Vec<FlowRecord> = original
        .iter()
        .zip(&rounded)
        .map(|(o, r)| FlowRecord {
            tunnel: None,
            orig_bytes: if o.duration_ns > 0 { r.orig_bytes } else { 0 },
            resp_bytes: if o.duration_ns > 0 { r.resp_bytes } else { 0 },
            ..r.clone()
        })
        .collect();
    assert_eq!(tsv, tsv_can);
    // What the TSV leaves out did matter here: the comparison is not empty-handed.
    assert!(tsv_can != rounded);
}

/// Zeek's dns.log has every column a connection needs (ts, uid, the id fields, proto), so its
/// `#path` is what tells it is not a conn.log: the file stops there with an error naming the line.
#[test]
fn another_zeek_log_is_not_read_as_connections() {
    let dns = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\tquery\n1795941313.4\tC1\t10.0.0.1\t5353\t10.0.0.2\t53\tudp\t7\texample.com\n";
    let mut r = Reader::open("dns.log", std::io::Cursor::new(dns.as_bytes().to_vec())).unwrap();
    let e = r.next_item().unwrap_err();
    assert_eq!(
        e.to_string(),
        "dns.log: neither a capture (pcap, pcapng) nor a flow-record log (Zeek conn.log TSV or JSON, flowaudit JSON lines, Suricata EVE JSON, AWS VPC flow log): line 5: #path is \"dns\", not conn: flowaudit reads Zeek's conn.log, not its other logs"
    );
    assert_eq!(r.stats().records, 0);
    assert!(r.next_item().unwrap().is_none());
    // The same rows under `#path conn` are read.
    let conn = dns.replace("#path\tdns", "#path\tconn");
    let (records, stats, _) = read(conn.as_bytes());
    assert_eq!((records.len(), stats.malformed), (1, 0));
}
