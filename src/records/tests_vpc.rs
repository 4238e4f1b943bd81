//! AWS VPC flow logs: exact halves from the fixtures (`fixtures/records/vpc/`: AWS's
//! documented examples, a custom format with tcp-flags, a NAT gateway's version-5 format),
//! gzip, every way a line can be wrong, and arbitrary lines.

use std::net::IpAddr;

use proptest::prelude::*;

use super::tests_eve::read_items;
use super::vpc::{REJECTED, SKIP_NODATA, SKIP_PROTO, SKIP_SKIPDATA, observer};
use super::*;
use crate::flow::Proto;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/fixtures/records/vpc/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const NS: i64 = 1_000_000_000;

/// A half as a VPC line gives it.
#[allow(clippy::too_many_arguments)]
fn half(
    proto: Proto,
    src: &str,
    sp: u16,
    dst: &str,
    dp: u16,
    pkts: u64,
    bytes: u64,
    start: i64,
    end: i64,
    eni: &str,
) -> HalfFlow {
    let mut h = HalfFlow::new(proto, ip(src), sp, ip(dst), dp);
    h.pkts = pkts;
    h.ip_bytes = bytes;
    h.start_ns = start * NS;
    h.end_ns = end * NS;
    h.observer = observer(eni);
    h
}

fn halves(items: Vec<Item>) -> Vec<HalfFlow> {
    items
        .into_iter()
        .map(|i| match i {
            Item::Half(h) => h,
            other => panic!("a half was expected: {other:?}"),
        })
        .collect()
}

#[test]
fn default_format_aws_examples() {
    let (items, s, format) = read_items(&fixture("default.log"));
    assert_eq!(format, Format::VpcFlowLog);
    assert_eq!(format.name(), "aws-vpc");
    let eni = "eni-1235b8ca123456789";
    let ssh = half(
        Proto::Tcp,
        "172.31.16.139",
        20641,
        "172.31.16.21",
        22,
        20,
        4249,
        1_418_530_010,
        1_418_530_070,
        eni,
    );
    let mut rdp = half(
        Proto::Tcp,
        "172.31.9.69",
        49761,
        "172.31.9.12",
        3389,
        20,
        4249,
        1_418_530_010,
        1_418_530_070,
        eni,
    );
    rdp.rejected = Some(REJECTED);
    let v6 = half(
        Proto::Tcp,
        "2001:db8:1234:a100:8d6e:3477:df66:f105",
        34892,
        "2001:db8:1234:a102:3304:8879:34cf:4071",
        22,
        54,
        8855,
        1_477_913_708,
        1_477_913_820,
        eni,
    );
    assert_eq!(halves(items), vec![ssh, rdp, v6]);
    assert_eq!(s.lines, 5);
    assert_eq!(s.headers, 0);
    assert_eq!(s.skipped.get(SKIP_NODATA), Some(&1));
    assert_eq!(s.skipped.get(SKIP_SKIPDATA), Some(&1));
    assert_eq!(s.malformed, 0);
    assert_eq!(s.first_ts_ns, Some(1_418_530_010 * NS));
    assert_eq!(s.last_ts_ns, Some(1_477_913_708 * NS));
}

#[test]
fn gzip_gives_the_same() {
    let (a, sa, _) = read_items(&fixture("default.log"));
    let gz = fixture("default.log.gz");
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    let (b, sb, fb) = read_items(&gz);
    assert_eq!(fb, Format::VpcFlowLog);
    assert_eq!((a, sa), (b, sb));
}

#[test]
fn custom_format_tcp_flags() {
    let (items, s, _) = read_items(&fixture("tcp-flags.log"));
    let eni = "eni-1235b8ca123456789";
    let (c, sv) = ("52.213.180.42", "10.0.0.62");
    let (t0, t1, t2) = (1_566_848_875, 1_566_848_933, 1_566_849_113);
    let with = |mut h: HalfFlow, flags: u8| {
        h.tcp_flags = Some(flags);
        h
    };
    // The format names bytes before packets: each read from its own column.
    let expected = vec![
        with(half(Proto::Tcp, c, 43416, sv, 5001, 8, 568, t0, t1, eni), 2),
        with(
            half(Proto::Tcp, sv, 5001, c, 43416, 7, 376, t0, t1, eni),
            18,
        ),
        with(
            half(Proto::Tcp, c, 43418, sv, 5001, 70, 100_701, t0, t1, eni),
            2,
        ),
        with(
            half(Proto::Tcp, sv, 5001, c, 43418, 12, 632, t0, t1, eni),
            18,
        ),
        with(
            half(Proto::Tcp, c, 43416, sv, 5001, 1219, 63388, t1, t2, eni),
            1,
        ),
        with(
            half(
                Proto::Tcp,
                sv,
                5001,
                c,
                43416,
                15774,
                23_294_588,
                t1,
                t2,
                eni,
            ),
            1,
        ),
    ];
    assert_eq!(halves(items), expected);
    // AWS's SYN-ACK (18) is SYN | ACK in NetFlow's bits.
    assert_eq!(18, tcp_flags::SYN | tcp_flags::ACK);
    assert_eq!((s.lines, s.headers, s.malformed), (7, 1, 0));
}

#[test]
fn nat_gateway_keyed_by_packet_addresses() {
    let (items, s, _) = read_items(&fixture("nat-v5.log"));
    let nat = "eni-0123456789abcdnat";
    let inst = "eni-0a1b2c3d4e5f60718";
    let mut out = half(
        Proto::Tcp,
        "10.0.1.5",
        36490,
        "203.0.113.5",
        443,
        10,
        1290,
        1_700_000_000,
        1_700_000_050,
        nat,
    );
    out.tcp_flags = Some(tcp_flags::SYN | tcp_flags::FIN);
    let mut back = half(
        Proto::Tcp,
        "203.0.113.5",
        443,
        "10.0.1.5",
        36490,
        8,
        5120,
        1_700_000_001,
        1_700_000_050,
        nat,
    );
    back.tcp_flags = Some(tcp_flags::SYN | tcp_flags::ACK | tcp_flags::FIN);
    // UDP: tcp-flags 0 is not carried; pkt addresses unset: srcaddr/dstaddr.
    let dns = half(
        Proto::Udp,
        "10.0.1.5",
        53011,
        "10.0.0.2",
        53,
        1,
        74,
        1_700_000_002,
        1_700_000_002,
        inst,
    );
    assert_eq!(halves(items), vec![out, back, dns]);
    assert_ne!(observer(nat), observer(inst));
    assert_eq!(s.skipped.get(SKIP_ICMP), Some(&1));
    assert_eq!(s.skipped.get(SKIP_PROTO), Some(&1));
    assert_eq!((s.lines, s.headers, s.malformed), (6, 1, 0));
}

#[test]
fn observer_is_a_stable_hash() {
    // FNV-1a 64: the empty string is the offset basis; "a" is the published test vector.
    assert_eq!(observer(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(observer("a"), 0xaf63_dc4c_8601_ec8c);
}

const GOOD: &str =
    "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1000 80 6 1 60 1700000000 1700000001 ACCEPT OK";

#[test]
fn every_wrong_line_is_malformed_with_its_line_number() {
    let wrong: Vec<(&str, String)> = vec![
        ("13 fields, the format has 14", GOOD.replace(" OK", "")),
        ("15 fields, the format has 14", format!("{GOOD} extra")),
        (
            "srcaddr: \"10.0.0.256\" is not an IP address",
            GOOD.replace("10.0.0.1", "10.0.0.256"),
        ),
        (
            "dstaddr: \"host\" is not an IP address",
            GOOD.replace("10.0.0.2", "host"),
        ),
        ("srcaddr is unset", GOOD.replace("10.0.0.1", "-")),
        (
            "srcport: \"70000\" is not a port",
            GOOD.replace(" 1000 ", " 70000 "),
        ),
        (
            "dstport: \"-80\" is not a port",
            GOOD.replace(" 80 ", " -80 "),
        ),
        (
            "protocol: \"tcp\" is not a protocol number",
            GOOD.replace(" 6 ", " tcp "),
        ),
        (
            "protocol: \"256\" is not a protocol number",
            GOOD.replace(" 6 ", " 256 "),
        ),
        ("protocol is unset", GOOD.replace(" 6 ", " - ")),
        (
            "packets: \"1.5\" is not a count",
            GOOD.replace(" 6 1 ", " 6 1.5 "),
        ),
        (
            "bytes: \"0x3c\" is not a count",
            GOOD.replace(" 60 ", " 0x3c "),
        ),
        ("packets is unset", GOOD.replace(" 6 1 ", " 6 - ")),
        (
            "start: \"2023-11-14\" is not a time in Unix seconds",
            GOOD.replace("1700000000", "2023-11-14"),
        ),
        (
            "end: \"-1\" is not a time in Unix seconds",
            GOOD.replace("1700000001", "-1"),
        ),
        (
            "end is before start",
            GOOD.replace("1700000001", "1699999999"),
        ),
        (
            "action: \"DROP\" is not ACCEPT or REJECT",
            GOOD.replace("ACCEPT", "DROP"),
        ),
        (
            "log-status: \"MAYBE\" is not OK, NODATA or SKIPDATA",
            GOOD.replace(" OK", " MAYBE"),
        ),
        (
            "version: \"v2\" is not a version number",
            GOOD.replacen("2 ", "v2 ", 1),
        ),
        (
            "source and destination are not of one address family",
            GOOD.replace("10.0.0.2", "2001:db8::2"),
        ),
        ("not UTF-8", GOOD.replace("eni-1", "eni-\u{fffd}")),
    ];
    for (i, (message, line)) in wrong.iter().enumerate() {
        let mut bytes = format!("{GOOD}\n{line}\n{GOOD}\n").into_bytes();
        if *message == "not UTF-8" {
            // A byte that is no UTF-8 in place of the replacement character.
            let at = bytes
                .windows(3)
                .position(|w| w == "\u{fffd}".as_bytes())
                .unwrap();
            bytes.splice(at..at + 3, [0xff]);
        }
        let (items, s, _) = read_items(&bytes);
        assert_eq!(items.len(), 2, "{i}: {line}");
        assert_eq!(s.malformed, 1, "{i}: {line}: {s:?}");
        assert_eq!(
            s.first_malformed[0],
            Malformed {
                line: 2,
                message: (*message).to_string()
            },
            "{i}: {line}"
        );
    }
}

#[test]
fn custom_header_rules() {
    // Tcp-flags out of range, an unknown flow-direction, a header without srcport (its rows
    // malformed until the next header), then a good header again.
    let input = "\
version srcaddr dstaddr srcport dstport protocol packets bytes start end action tcp-flags flow-direction log-status
5 10.0.0.1 10.0.0.2 1000 80 6 1 60 1700000000 1700000001 ACCEPT 256 ingress OK
5 10.0.0.1 10.0.0.2 1000 80 6 1 60 1700000000 1700000001 ACCEPT 2 sideways OK
5 10.0.0.1 10.0.0.2 1000 80 6 1 60 1700000000 1700000001 ACCEPT 2 ingress OK
version srcaddr dstaddr dstport protocol start end
5 10.0.0.1 10.0.0.2 80 6 1700000000 1700000001
srcaddr dstaddr srcport dstport protocol start end
10.0.0.1 10.0.0.2 1000 80 17 1700000000 1700000001
";
    let (items, s, format) = read_items(input.as_bytes());
    assert_eq!(format, Format::VpcFlowLog);
    let mut tcp = HalfFlow::new(Proto::Tcp, ip("10.0.0.1"), 1000, ip("10.0.0.2"), 80);
    tcp.pkts = 1;
    tcp.ip_bytes = 60;
    tcp.start_ns = 1_700_000_000 * NS;
    tcp.end_ns = 1_700_000_001 * NS;
    tcp.tcp_flags = Some(tcp_flags::SYN);
    // No interface-id, packets or bytes: observer 0, counts 0.
    let mut udp = HalfFlow::new(Proto::Udp, ip("10.0.0.1"), 1000, ip("10.0.0.2"), 80);
    udp.start_ns = 1_700_000_000 * NS;
    udp.end_ns = 1_700_000_001 * NS;
    assert_eq!(halves(items), vec![tcp, udp]);
    assert_eq!(s.headers, 2);
    let got: Vec<(u64, &str)> = s
        .first_malformed
        .iter()
        .map(|m| (m.line, m.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "tcp-flags: \"256\" is not TCP flags (0 to 255)"),
            (3, "flow-direction: \"sideways\" is not ingress or egress"),
            (5, "header: no `srcport` field, which a flow record needs"),
            (6, "the header has no `srcport` field"),
        ]
    );
}

#[test]
fn not_a_vpc_log() {
    for first in [
        "3 123456789010 eni-1 10.0.0.1 10.0.0.2 1000 80 6 1 60 1700000000 1700000001 ACCEPT OK",
        "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1000 80 6 1 60 1700000000 1700000001 ACCEPT",
        "vpc-1 subnet-2",
        "hello world",
    ] {
        assert!(
            matches!(
                Reader::open("n", std::io::Cursor::new(first.as_bytes().to_vec())),
                Err(RecordsError::UnknownFormat { .. })
            ),
            "{first}"
        );
    }
}

proptest! {
    /// Arbitrary lines after a VPC header: no panic, every line counted once.
    #[test]
    fn arbitrary_lines_never_panic(lines in prop::collection::vec(
        prop_oneof![
            "[ -~]{0,80}",
            "[0-9]{1,2} [a-z0-9-]{0,8} (eni-[0-9a-f]{1,4}|-) ([0-9.]{1,16}|[0-9a-f:]{2,12}|-) ([0-9.]{1,16}|-) [0-9-]{1,6} [0-9-]{1,6} [0-9-]{1,3} [0-9-]{1,4} [0-9-]{1,6} [0-9.]{1,11} [0-9.]{1,11} (ACCEPT|REJECT|-|X) (OK|NODATA|SKIPDATA|-|X)",
            "(version|srcaddr|dstaddr|srcport|dstport|protocol|start|end|tcp-flags|x-y| ){0,20}",
        ],
        0..20,
    )) {
        let mut input = vpc::DEFAULT.join(" ");
        input.push('\n');
        for l in &lines {
            input.push_str(l);
            input.push('\n');
        }
        let mut r = Reader::open("p", std::io::Cursor::new(input.into_bytes())).unwrap();
        prop_assert_eq!(r.format(), Format::VpcFlowLog);
        let n = r.by_ref().map(Result::unwrap).count() as u64;
        let s = r.stats();
        prop_assert_eq!(s.records, n);
        prop_assert_eq!(
            s.lines,
            s.records + s.skipped_total() + s.malformed + s.headers + s.blank
        );
        prop_assert_eq!(s.lines, lines.len() as u64 + 1);
    }
}
