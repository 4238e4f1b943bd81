//! Runs the real `flowaudit` binary on the fixtures and checks exit codes, stdout and stderr
//! exactly.
//!
//! Expected records:
//! - `fixtures/synthetic/NAME.expected.jsonl` were derived by hand from the scenarios written by
//!   `fixtures/gen` (see fixtures/synthetic/README.md), with Community IDs computed by the Python
//!   `communityid` package (fixtures/gen/community_ids.py); the uids are flowaudit's own
//!   deterministic ids, pinned so that a change in them is noticed. The same holds for the
//!   other runs' records (`NAME.max2.expected.jsonl`: `--max-flows 2`;
//!   `NAME.linger10.expected.jsonl`: `--linger 10`) and for the audit reports
//!   `NAME.expected-audit.txt`, derived by hand from the scenario and the rules file named in the
//!   README, with the rules' and captures' SHA-256 from `sha256sum`.
//! - `fixtures/real/expected.tsv` comes from tshark's dissection of the real capture (frame and
//!   byte counts per direction, checked by fixtures/real/crosscheck.py against tshark's
//!   `-z conv,tcp -z conv,udp` table) and the Python `communityid` package.

mod common;

use common::{assert_lines, flowaudit, read, root, run, stderr, stdout};

use std::process::Output;

/// `flowaudit flows -q CAPTURE` prints exactly NAME.expected.jsonl, exit 0, nothing on stderr.
fn check_synthetic(name: &str, capture: &str) {
    let o = run(&["flows", "-q", &format!("fixtures/synthetic/{capture}")]);
    assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
    assert_eq!(stderr(&o), "", "{name}");
    assert_lines(
        &stdout(&o),
        &read(&format!("fixtures/synthetic/{name}.expected.jsonl")),
        name,
    );
}

macro_rules! synthetic {
    ($($test:ident => $name:literal, $capture:literal;)*) => {
        $(
            #[test]
            fn $test() {
                check_synthetic($name, $capture);
            }
        )*
    };
}

synthetic! {
    ethernet => "eth", "eth.pcap";
    pcap_nanosecond_big_endian => "eth-ns-be", "eth-ns-be.pcap";
    vlan_8021q => "vlan", "vlan.pcap";
    qinq_stacks_and_overlapping_vlans => "qinq", "qinq.pcap";
    mpls_label_stacks => "mpls", "mpls.pcap";
    pppoe_session => "pppoe", "pppoe.pcap";
    linux_cooked_v1 => "sll", "sll.pcap";
    linux_cooked_v2 => "sll2", "sll2.pcap";
    raw_ip_101 => "raw101", "raw101.pcap";
    raw_ip_12 => "raw12", "raw12.pcap";
    raw_ipv4_only => "ipv4", "ipv4.pcap";
    raw_ipv6_only => "ipv6", "ipv6.pcap";
    bsd_null_little_endian => "null-le", "null-le.pcap";
    bsd_null_big_endian => "null-be", "null-be.pcap";
    openbsd_loop => "loop", "loop.pcap";
    pcapng_two_interfaces_two_link_types => "multi-if", "multi-if.pcapng";
    every_conn_state => "states", "states.pcap";
    handshake_timings => "handshake", "handshake.pcap";
    ipv6_extension_headers_and_fragments => "ipv6-ext", "ipv6-ext.pcap";
    midstream_direction_inference => "midstream", "midstream.pcap";
    port_reuse_splits_connections => "reuse", "reuse.pcap";
    out_of_order_packets => "reorder", "reorder.pcap";
    udp_reply_no_reply_icmp_unreachable => "udp", "udp.pcap";
    idle_timeouts => "idle", "idle.pcap";
    non_flow_noise => "noise", "noise.pcap";
    eviction_scenario_without_a_cap => "evict", "evict.pcap";
    linger_after_a_reset => "linger", "linger.pcap";
    reversed_connections_records => "reversed", "reversed.pcap";
}

#[test]
fn noise_statistics_count_every_frame() {
    let o = run(&["flows", "fixtures/synthetic/noise.pcap"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stderr(&o),
        "read 1 capture: 23 packets, 1684 bytes, 2023-11-14T22:13:20.000000Z to 2023-11-14T22:13:20.900000Z; link types ethernet (1)\n\
         flows: 1 (1 tcp, 0 udp) from 10 packets (10 tcp, 0 udp)\n\
         not in a flow: 13 packets\n\
         \x20 non-ip: arp 2, lldp 1\n\
         \x20 icmp: icmp 2\n\
         \x20 other ip protocols: gre (47) 1, esp (50) 1, ipv6-no-next-header (59) 1, sctp (132) 1\n\
         \x20 truncated by snaplen: ipv4 1, tcp 1\n\
         \x20 malformed: ipv4 bad version 1, ipv4 bad header length 1\n"
    );
}

#[test]
fn pppoe_statistics_name_non_ip_ppp() {
    let o = run(&["flows", "fixtures/synthetic/pppoe.pcap"]);
    assert_eq!(
        stderr(&o).lines().skip(2).collect::<Vec<_>>(),
        [
            "not in a flow: 2 packets",
            "  non-ip: pppoe-discovery 1, ppp 0xc021 1"
        ]
    );
}

#[test]
fn fragment_and_icmp_statistics() {
    let o = run(&["flows", "fixtures/synthetic/ipv6-ext.pcap"]);
    assert_eq!(
        stderr(&o).lines().skip(1).collect::<Vec<_>>(),
        [
            "flows: 3 (1 tcp, 2 udp) from 14 packets (10 tcp, 4 udp)",
            "ip fragments: 4 frames; 4 in 2 datagrams reassembled (2 tcp/udp packets), 0 in 0 incomplete \
             (0 timed out, 0 evicted, 0 at the end of the input), 0 rejected; 0 duplicates, \
             0 overlaps, 0 inconsistent",
            "not in a flow: 0 packets",
        ]
    );
    let o = run(&["flows", "fixtures/synthetic/udp.pcap"]);
    assert_eq!(
        stderr(&o).lines().skip(1).collect::<Vec<_>>(),
        [
            "flows: 5 (0 tcp, 5 udp) from 9 packets (0 tcp, 9 udp)",
            "not in a flow: 2 packets",
            "  icmp: icmp 1, icmpv6 1, errors attached to a flow 2, errors quoting no known flow 0"
        ]
    );
}

#[test]
fn rotated_directory_is_one_capture_in_time_order() {
    // b.pcap holds the first half of the connection, a.pcap the second: read by first packet
    // time, the connection is one flow. The text file beside them is skipped and named.
    let o = run(&["flows", "fixtures/synthetic/rotated"]);
    assert_eq!(o.status.code(), Some(0));
    assert_lines(
        &stdout(&o),
        &read("fixtures/synthetic/rotated.expected.jsonl"),
        "rotated",
    );
    let err = stderr(&o);
    assert!(
        err.starts_with(
            "flowaudit: skipped fixtures/synthetic/rotated/notes.txt: neither a pcap or pcapng capture nor a flow-record log\n\
             read 2 captures: "
        ),
        "{err}"
    );
    // Files named in the wrong order give the same flows.
    let o = run(&[
        "flows",
        "-q",
        "fixtures/synthetic/rotated/a.pcap",
        "fixtures/synthetic/rotated/b.pcap",
    ]);
    assert_lines(
        &stdout(&o),
        &read("fixtures/synthetic/rotated.expected.jsonl"),
        "rotated files",
    );
}

#[test]
fn corrupt_record_is_exit_3_with_offset_and_flows_before_it() {
    let o = run(&["flows", "-q", "fixtures/synthetic/corrupt.pcap"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stderr(&o),
        "flowaudit: fixtures/synthetic/corrupt.pcap: at byte 172: record header says 4294967040 \
         captured bytes, more than the 262144-byte snaplen; the capture is read up to there \
         (`head -c 172` keeps its undamaged part)\n"
    );
    assert_lines(
        &stdout(&o),
        &read("fixtures/synthetic/corrupt.expected.jsonl"),
        "corrupt",
    );
}

#[test]
fn truncated_file_is_exit_3_with_offset_and_flows_before_it() {
    let o = run(&["flows", "-q", "fixtures/synthetic/truncated.pcap"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stderr(&o),
        "flowaudit: fixtures/synthetic/truncated.pcap: at byte 412: file ends in the middle of a \
         packet record: 154 of 254 bytes; the capture is read up to there (`head -c 412` keeps \
         its undamaged part)\n"
    );
    assert_lines(
        &stdout(&o),
        &read("fixtures/synthetic/truncated.expected.jsonl"),
        "truncated",
    );
}

#[test]
fn damage_in_one_file_does_not_stop_the_others() {
    let o = run(&[
        "flows",
        "-q",
        "fixtures/synthetic/truncated.pcap",
        "fixtures/synthetic/udp.pcap",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let out = stdout(&o);
    // udp.pcap's five flows and the truncated file's one.
    assert_eq!(out.lines().count(), 6, "{out}");
}

#[test]
fn not_a_capture_is_exit_3() {
    let o = run(&["flows", "fixtures/synthetic/rotated/notes.txt"]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.starts_with(
            "flowaudit: fixtures/synthetic/rotated/notes.txt: neither a capture (pcap, pcapng) nor a flow-record log"
        ),
        "{err}"
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn missing_file_is_exit_3() {
    let o = run(&["flows", "-q", "fixtures/no-such-file.pcap"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).starts_with("flowaudit: fixtures/no-such-file.pcap: "));
}

#[test]
fn bad_filter_is_exit_2_naming_expression() {
    let o = run(&[
        "flows",
        "--filter",
        "tcp port eighty",
        "fixtures/synthetic/eth.pcap",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with("flowaudit: invalid --filter 'tcp port eighty': "),
        "{err}"
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn filter_keeps_matching_packets_pcap_and_pcapng() {
    // sll.pcap holds a TCP connection to port 80 and a UDP exchange on port 53.
    let o = run(&[
        "flows",
        "-q",
        "--filter",
        "udp port 53",
        "fixtures/synthetic/sll.pcap",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let want: Vec<String> = read("fixtures/synthetic/sll.expected.jsonl")
        .lines()
        .filter(|l| l.contains("\"proto\":\"udp\""))
        .map(str::to_owned)
        .collect();
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), want);
    // pcapng with an Ethernet and a raw-IP interface: the filter is compiled per link type.
    let o = run(&[
        "flows",
        "-q",
        "--filter",
        "udp",
        "fixtures/synthetic/multi-if.pcapng",
    ]);
    let want: Vec<String> = read("fixtures/synthetic/multi-if.expected.jsonl")
        .lines()
        .filter(|l| l.contains("\"proto\":\"udp\""))
        .map(str::to_owned)
        .collect();
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), want);
}

#[test]
fn standard_input_pcap_and_pcapng() {
    for (file, name) in [("eth.pcap", "eth"), ("multi-if.pcapng", "multi-if")] {
        let bytes = std::fs::read(root().join("fixtures/synthetic").join(file)).unwrap();
        let o = flowaudit()
            .args(["flows", "-q", "-"])
            .write_stdin(bytes)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{file}: {}", stderr(&o));
        assert_lines(
            &stdout(&o),
            &read(&format!("fixtures/synthetic/{name}.expected.jsonl")),
            file,
        );
    }
}

#[test]
fn idle_timeouts_are_settable() {
    // With a 100 s UDP timeout the two DNS exchanges 61 s apart are one flow.
    let o = run(&[
        "flows",
        "-q",
        "--udp-idle",
        "100",
        "fixtures/synthetic/idle.pcap",
    ]);
    let udp: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| l.contains("\"proto\":\"udp\""))
        .map(str::to_owned)
        .collect();
    assert_eq!(udp.len(), 1, "{udp:?}");
    assert!(udp[0].contains("\"orig_pkts\":2,"), "{}", udp[0]);
    // With a 400 s TCP timeout the connection resumed after 301 s is one flow.
    let o = run(&[
        "flows",
        "-q",
        "--tcp-idle",
        "400",
        "fixtures/synthetic/idle.pcap",
    ]);
    assert_eq!(
        stdout(&o)
            .lines()
            .filter(|l| l.contains("\"proto\":\"tcp\""))
            .count(),
        1
    );
}

#[test]
fn zeek_tsv_format() {
    let o = run(&[
        "flows",
        "-q",
        "--format",
        "zeek",
        "fixtures/synthetic/eth.pcap",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_lines(
        &stdout(&o),
        &read("fixtures/synthetic/eth.expected.zeek"),
        "zeek",
    );
}

#[test]
fn output_file_option() {
    let dir = std::env::temp_dir().join(format!("flowaudit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("flows.jsonl");
    let o = run(&[
        "flows",
        "-q",
        "-o",
        out.to_str().unwrap(),
        "fixtures/synthetic/eth.pcap",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
    assert_lines(
        &std::fs::read_to_string(&out).unwrap(),
        &read("fixtures/synthetic/eth.expected.jsonl"),
        "-o",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn usage_errors_are_exit_2() {
    assert_eq!(run(&[]).status.code(), Some(2));
    assert_eq!(run(&["flows"]).status.code(), Some(2));
    assert_eq!(run(&["flows", "--bogus", "x.pcap"]).status.code(), Some(2));
    assert_eq!(
        run(&["flows", "--tcp-idle", "0", "fixtures/synthetic/eth.pcap"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["flows", "--format", "xml", "fixtures/synthetic/eth.pcap"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(&["--help"]).status.code(), Some(0));
}

/// One conversation of fixtures/real/expected.tsv.
#[derive(Debug, PartialEq)]
struct Conv {
    proto: String,
    client: (String, u16),
    server: (String, u16),
    first_ts: String,
    client_pkts: u64,
    client_ip_bytes: u64,
    client_payload: u64,
    server_pkts: u64,
    server_ip_bytes: u64,
    server_payload: u64,
    community_id: String,
}

fn expected_real() -> Vec<Conv> {
    read("fixtures/real/expected.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("proto") && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 13, "expected.tsv line: {l}");
            let n = |i: usize| c[i].parse::<u64>().unwrap();
            Conv {
                proto: c[0].into(),
                client: (c[1].into(), n(2) as u16),
                server: (c[3].into(), n(4) as u16),
                first_ts: c[5].into(),
                client_pkts: n(6),
                client_ip_bytes: n(7),
                client_payload: n(8),
                server_pkts: n(9),
                server_ip_bytes: n(10),
                server_payload: n(11),
                community_id: c[12].into(),
            }
        })
        .collect()
}

#[test]
fn real_traffic_agrees_with_tshark_frame_for_frame() {
    let o = run(&["flows", "-q", "fixtures/real/lab.pcap"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Records come as flows end; tshark lists conversations by first packet time.
    let mut got: Vec<Conv> = stdout(&o)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            let n = |k: &str| v[k].as_u64().unwrap();
            Conv {
                proto: s("proto"),
                client: (s("id.orig_h"), n("id.orig_p") as u16),
                server: (s("id.resp_h"), n("id.resp_p") as u16),
                first_ts: format!("{:.6}", v["ts"].as_f64().unwrap()),
                client_pkts: n("orig_pkts"),
                client_ip_bytes: n("orig_ip_bytes"),
                client_payload: n("orig_bytes"),
                server_pkts: n("resp_pkts"),
                server_ip_bytes: n("resp_ip_bytes"),
                server_payload: n("resp_bytes"),
                community_id: s("community_id"),
            }
        })
        .collect();
    got.sort_by(|a, b| a.first_ts.cmp(&b.first_ts));
    let want = expected_real();
    assert!(
        want.len() >= 15,
        "expected.tsv has {} conversations",
        want.len()
    );
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert_eq!(g, w, "conversation {}", i + 1);
    }
    assert_eq!(got.len(), want.len());
}

#[test]
fn real_traffic_records() {
    check_real_exact();
}

/// The full records of the real capture, reviewed against fixtures/real/README.md's list of
/// what each connection did (conn_state, history, timings).
fn check_real_exact() {
    let o = run(&["flows", "-q", "fixtures/real/lab.pcap"]);
    assert_lines(
        &stdout(&o),
        &read("fixtures/real/lab.expected.jsonl"),
        "lab.pcap",
    );
}

#[test]
fn uids_are_deterministic_and_unique() {
    let a = stdout(&run(&["flows", "-q", "fixtures/real/lab.pcap"]));
    let b = stdout(&run(&["flows", "-q", "fixtures/real/lab.pcap"]));
    assert_eq!(a, b);
    let mut uids: Vec<String> = a
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["uid"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(uids.iter().all(|u| u.len() == 18 && u.starts_with('C')));
    let n = uids.len();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), n);
}

// ---- audit, check-rules, flows --rules -------------------------------------------------------

const HAS: [&str; 5] = [
    "--rules",
    "rules/hopex.toml",
    "--inventory",
    "fixtures/has/inventory.toml",
    "fixtures/has/has.pcap",
];

fn audit_json(extra: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec!["audit", "-q", "--format", "json"];
    args.extend_from_slice(extra);
    let o = run(&args);
    let v = serde_json::from_str(&stdout(&o)).expect("audit JSON");
    (o, v)
}

#[test]
fn check_rules_prints_the_full_hopex_matrix() {
    let o = run(&["check-rules", "rules/hopex.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_lines(
        &stdout(&o),
        &read("fixtures/rules/hopex.check-rules.txt"),
        "check-rules",
    );
}

/// Every kind of mistake in a rules or inventory file: exit 2 and the located message.
#[test]
fn malformed_rules_are_located_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["check-rules", "fixtures/rules/syntax.toml"],
            "fixtures/rules/syntax.toml:3:7: unclosed table, expected `]`\n  |\n3 | [roles\n  |       ^\n  hint: fix the TOML syntax at the mark",
        ),
        (
            &["check-rules", "fixtures/rules/wrong-type.toml"],
            "fixtures/rules/wrong-type.toml:12:9: invalid type: integer `443`, expected a sequence\n   |\n12 | ports = 443\n   |         ^^^\n  hint: give the value the type the README's format shows (ports: a list such as [443, \"8000-8080\"])",
        ),
        (
            &["check-rules", "fixtures/rules/unknown-key.toml"],
            "fixtures/rules/unknown-key.toml:12:1: unknown field `prot`, expected one of `name`, `from`, `to`, `proto`, `ports`, `latency_ms`, `avg_kbps`, `peak_kbps`, `verdict`, `expect`, `between`, `severity`, `note`, `service`, `tls_min`, `sni`\n   |\n12 | prot = \"udp\"\n   | ^^^^\n  hint: check the key's spelling against the format in the README",
        ),
        (
            &["check-rules", "fixtures/rules/missing-key.toml"],
            "fixtures/rules/missing-key.toml:7:1: missing field `from`\n  |\n7 | [[flows]]\n  | ^^^^^^^^^\n  hint: add the missing key",
        ),
        (
            &["check-rules", "fixtures/rules/unknown-role.toml"],
            "fixtures/rules/unknown-role.toml:10:6: unknown role 'ap'\n   |\n10 | to = \"ap\"\n   |      ^^^^\n  hint: define it under [roles]; the roles are: web, app",
        ),
        (
            &["check-rules", "fixtures/rules/bad-cidr.toml"],
            "fixtures/rules/bad-cidr.toml:5:30: '10.0.1.0/33' is not an IP address, a CIDR network or \"any\"\n  |\n5 | app = { hosts = [\"10.0.0.5\", \"10.0.1.0/33\"] }\n  |                              ^^^^^^^^^^^^^\n  hint: write an address (10.0.0.5, fd00::5), a network (10.0.1.0/24, fd00::/64) or \"any\"",
        ),
        (
            &["check-rules", "fixtures/rules/reversed-range.toml"],
            "fixtures/rules/reversed-range.toml:12:15: reversed port range \"8080-8000\"\n   |\n12 | ports = [443, \"8080-8000\"]\n   |               ^^^^^^^^^^^\n  hint: write the lower port first: \"8000-8080\"",
        ),
        (
            &["check-rules", "fixtures/rules/port-out-of-range.toml"],
            "fixtures/rules/port-out-of-range.toml:12:10: port 70000 is out of range\n   |\n12 | ports = [70000, \"8000-8080\"]\n   |          ^^^^^\n  hint: ports are 1 to 65535",
        ),
        (
            &["check-rules", "fixtures/rules/empty-ports.toml"],
            "fixtures/rules/empty-ports.toml:12:9: ports is empty\n   |\n12 | ports = []\n   |         ^^\n  hint: a rule needs at least one server port, e.g. ports = [443]",
        ),
        (
            &["check-rules", "fixtures/rules/duplicate-name.toml"],
            "fixtures/rules/duplicate-name.toml:15:8: duplicate rule name 'web-app'\n   |\n15 | name = \"web-app\"\n   |        ^^^^^^^^^\n  hint: the first rule of that name is at line 8; give each rule its own name",
        ),
        (
            &["check-rules", "fixtures/rules/bad-verdict.toml"],
            "fixtures/rules/bad-verdict.toml:13:11: unknown variant `maybe`, expected one of `allowed`, `discouraged`, `denied`\n   |\n13 | verdict = \"maybe\"\n   |           ^^^^^^^\n  hint: use one of the values listed",
        ),
        (
            &["check-rules", "fixtures/rules/bad-proto.toml"],
            "fixtures/rules/bad-proto.toml:11:9: unknown variant `icmp`, expected `tcp` or `udp`\n   |\n11 | proto = \"icmp\"\n   |         ^^^^^^\n  hint: use one of the values listed",
        ),
        (
            // A role left empty: fine to print, but an audit cannot judge against it.
            &[
                "audit",
                "--rules",
                "fixtures/rules/undefined-role.toml",
                "fixtures/synthetic/eth.pcap",
            ],
            "fixtures/rules/undefined-role.toml:5:1: role 'app' has no hosts\n  |\n5 | app = { hosts = [] }\n  | ^^^\n  hint: list its hosts in the rules file, or give an --inventory file with app = [\"10.0.0.5\", ...] under [roles]",
        ),
        (
            &[
                "audit",
                "--rules",
                "fixtures/rules/good.toml",
                "--inventory",
                "fixtures/rules/inventory-unknown-role.toml",
                "fixtures/synthetic/eth.pcap",
            ],
            "fixtures/rules/inventory-unknown-role.toml:4:1: role 'apps' is not defined in fixtures/rules/good.toml\n  |\n4 | apps = [\"10.0.0.6\"]\n  | ^^^^\n  hint: the roles are: web, app",
        ),
        (
            &[
                "flows",
                "--rules",
                "fixtures/rules/good.toml",
                "--inventory",
                "fixtures/rules/inventory-bad-host.toml",
                "fixtures/synthetic/eth.pcap",
            ],
            "fixtures/rules/inventory-bad-host.toml:2:8: '10.0.0.500' is not an IP address, a CIDR network or \"any\"\n  |\n2 | app = [\"10.0.0.500\"]\n  |        ^^^^^^^^^^^^\n  hint: write an address (10.0.0.5, fd00::5), a network (10.0.1.0/24, fd00::/64) or \"any\"",
        ),
    ];
    for (args, want) in cases {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&o), format!("flowaudit: {want}\n"), "{args:?}");
        assert_eq!(stdout(&o), "", "{args:?}");
    }
    // The good file with its inventory passes.
    let o = run(&[
        "check-rules",
        "fixtures/rules/good.toml",
        "--inventory",
        "fixtures/rules/inventory.toml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("app   10.0.0.5, fd00::/64 (inventory)"));
}

/// The findings the HAS lab was built to produce (fixtures/has/expected.tsv and README.md:
/// one per intended misbehaviour), as (kind, severity, rule, client, server, port, flows).
#[test]
fn has_sample_gives_every_kind_of_finding() {
    let (o, v) = audit_json(&HAS);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let got: Vec<(String, String, String, String, String, String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| match &f[k] {
                serde_json::Value::Null => "-".to_string(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (
                s("kind"),
                s("severity"),
                s("rule"),
                s("src_ip"),
                s("dst_ip"),
                s("dst_port"),
                f["flows"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        (
            "unexpected",
            "error",
            "-",
            "10.20.0.66",
            "10.20.0.10",
            "22",
            1,
        ),
        (
            "unexpected",
            "error",
            "-",
            "10.20.0.66",
            "10.20.0.21",
            "5000",
            1,
        ),
        (
            "unexpected",
            "error",
            "-",
            "10.20.0.66",
            "10.20.0.30",
            "1433",
            1,
        ),
        (
            "denied",
            "error",
            "has-dynamic-cross-server",
            "10.20.0.22",
            "10.20.0.21",
            "50000",
            1,
        ),
        (
            "reversed",
            "error",
            "has-sqlserver-tcp",
            "10.20.0.30",
            "10.20.0.21",
            "1433",
            1,
        ),
        (
            "missing",
            "error",
            "has-fileserver",
            "10.20.0.22",
            "10.20.0.40",
            "-",
            1,
        ),
        (
            "failed",
            "error",
            "has-fileserver",
            "10.20.0.22",
            "10.20.0.40",
            "445",
            1,
        ),
        (
            "failed",
            "error",
            "has-smtp-alternative-ports",
            "10.20.0.21",
            "10.20.0.50",
            "587",
            1,
        ),
        // has1 -> has2:30100 in plain HTTP: the instance manager's edge carries TLS only, at
        // 1.2 at least (tshark dissects the flow as HTTP, expected.tsv's wrong_service row).
        (
            "wrong_service",
            "error",
            "has-cluster-instance-manager",
            "10.20.0.21",
            "10.20.0.22",
            "30100",
            1,
        ),
        (
            "weak_tls",
            "error",
            "has-cluster-instance-manager",
            "10.20.0.21",
            "10.20.0.22",
            "30100",
            1,
        ),
        (
            "discouraged",
            "warning",
            "browser-iis-http",
            "10.20.0.102",
            "10.20.0.10",
            "80",
            1,
        ),
        (
            "over_latency",
            "warning",
            "browser-iis-https",
            "10.20.1.100",
            "10.20.0.10",
            "443",
            3,
        ),
        (
            "over_bandwidth",
            "warning",
            "browser-iis-https",
            "10.20.0.101",
            "-",
            "-",
            4,
        ),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|w| {
            (
                w.0.to_string(),
                w.1.to_string(),
                w.2.to_string(),
                w.3.to_string(),
                w.4.to_string(),
                w.5.to_string(),
                w.6,
            )
        })
        .collect();
    assert_eq!(got, want);
    let f = &v["findings"];
    // The remote browser's three handshakes: tshark's tcp.analysis.initial_rtt gives 120.601,
    // 120.629 and 120.634 ms for them.
    assert_eq!(f[11]["p50_ms"], 120.629);
    assert_eq!(f[11]["max_ms"], 120.634);
    assert_eq!(f[11]["budget_ms"], 100.0);
    assert_eq!(f[6]["outcomes"]["S0"], 1);
    assert_eq!(f[7]["outcomes"]["REJ"], 1);
    assert_eq!(f[5]["failed_attempts"], 1);
    // The 3 MB download peaks far above the 512 kbit/s budget.
    assert!(f[12]["peak_kbps"].as_f64().unwrap() > 10_000.0);
}

#[test]
fn has_sample_json_has_the_documented_names_and_evidence() {
    let (_, v) = audit_json(&HAS);
    let keys =
        |x: &serde_json::Value| -> Vec<String> { x.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(
        keys(&v),
        [
            "version",
            "flowaudit",
            "rules",
            "inventory",
            "captures",
            "summary",
            "rule_usage",
            "findings"
        ]
    );
    assert_eq!(v["version"], 1);
    assert_eq!(keys(&v["rules"]), ["name", "file", "sha256"]);
    let cap = &v["captures"][0];
    for k in [
        "path",
        "sha256",
        "packets",
        "bytes",
        "first_ts",
        "last_ts",
        "link_types",
        "skipped",
    ] {
        assert!(cap.get(k).is_some(), "captures[0].{k}");
    }
    for k in ["flows", "by_verdict", "findings_by_kind"] {
        assert!(v["summary"].get(k).is_some(), "summary.{k}");
    }
    for f in v["findings"].as_array().unwrap() {
        for k in [
            "kind",
            "severity",
            "rule",
            "proto",
            "src_role",
            "src_ip",
            "dst_role",
            "dst_ip",
            "dst_port",
            "flows",
            "first_seen",
            "last_seen",
            "uids",
            "message",
        ] {
            assert!(f.get(k).is_some(), "finding.{k} in {f}");
        }
    }
    // The evidence hashes are the files' SHA-256 (computed here independently).
    use sha2::{Digest, Sha256};
    let hex = |p: &str| -> String {
        Sha256::digest(std::fs::read(root().join(p)).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(cap["sha256"], hex("fixtures/has/has.pcap"));
    assert_eq!(v["rules"]["sha256"], hex("rules/hopex.toml"));
    assert_eq!(v["inventory"]["sha256"], hex("fixtures/has/inventory.toml"));
    assert_eq!(cap["packets"], 3269);
    assert_eq!(v["summary"]["flows"], 38);
    // Every finding traces to flows of the flow list: its uids are there.
    let flows = stdout(&run(&["flows", "-q", "fixtures/has/has.pcap"]));
    for f in v["findings"].as_array().unwrap() {
        for u in f["uids"].as_array().unwrap() {
            assert!(flows.contains(u.as_str().unwrap()), "{u}");
        }
    }
}

#[test]
fn has_sample_reports_exactly() {
    let o = run(&["audit", "-q", HAS[0], HAS[1], HAS[2], HAS[3], HAS[4]]);
    assert_eq!(o.status.code(), Some(1));
    assert_lines(
        &stdout(&o),
        &read("fixtures/has/expected-report.txt"),
        "text report",
    );
    let (_, v) = audit_json(&HAS);
    let want: serde_json::Value =
        serde_json::from_str(&read("fixtures/has/expected-report.json")).unwrap();
    assert_eq!(v, want);
}

#[test]
fn fail_on_sets_the_exit_status() {
    // eth.toml allows the one flow of eth.pcap but gives it a 5 ms budget: one warning.
    let base = [
        "--rules",
        "fixtures/rules/eth.toml",
        "fixtures/synthetic/eth.pcap",
    ];
    let code = |fail_on: &str| {
        let mut a = vec!["audit", "-q", "--fail-on", fail_on];
        a.extend_from_slice(&base);
        run(&a).status.code()
    };
    assert_eq!(code("error"), Some(0));
    assert_eq!(code("warning"), Some(1));
    assert_eq!(code("never"), Some(0));
    let (_, v) = audit_json(&base);
    assert_eq!(v["summary"]["findings_by_kind"]["over_latency"], 1);
    assert_eq!(v["findings"][0]["src_role"], "clients");
    assert_eq!(v["findings"][0]["dst_role"], "web");
    // The HAS sample has errors: 1 unless told never.
    let mut a = vec!["audit", "-q", "--fail-on", "never"];
    a.extend_from_slice(&HAS);
    assert_eq!(run(&a).status.code(), Some(0));
}

#[test]
fn audit_of_a_damaged_capture_is_exit_3_with_its_report() {
    let (o, v) = audit_json(&[
        "--rules",
        "fixtures/rules/eth.toml",
        "fixtures/synthetic/truncated.pcap",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("at byte 412"), "{}", stderr(&o));
    assert_eq!(v["captures"][0]["damaged"], true);
    assert_eq!(v["summary"]["flows"], 1);
}

#[test]
fn audit_writes_to_a_file() {
    let dir = std::env::temp_dir().join(format!("flowaudit-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("report.json");
    let mut a = vec![
        "audit",
        "-q",
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ];
    a.extend_from_slice(&HAS);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["summary"]["findings"], 13);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn flows_with_rules_adds_rule_and_verdict() {
    let o = run(&["flows", "-q", HAS[0], HAS[1], HAS[2], HAS[3], HAS[4]]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let verdicts: Vec<(String, String)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["rule"].to_string(),
                v["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let count = |verdict: &str| verdicts.iter().filter(|v| v.1 == verdict).count();
    assert_eq!(
        (
            count("allowed"),
            count("discouraged"),
            count("denied"),
            count("reversed"),
            count("unexpected")
        ),
        (32, 1, 1, 1, 3)
    );
    assert!(verdicts.contains(&("\"has-dynamic-cross-server\"".into(), "denied".into())));
    assert!(verdicts.contains(&("null".into(), "unexpected".into())));
    // Zeek TSV gains the two columns.
    let o = run(&[
        "flows", "-q", "--format", "zeek", HAS[0], HAS[1], HAS[2], HAS[3], HAS[4],
    ]);
    let z = stdout(&o);
    assert!(
        z.lines()
            .nth(6)
            .unwrap()
            .ends_with(
                "\ticmp_last_code\tevicted\tbad_checksums\tservice_status\ttls_version\ttls_client_version\ttls_sni\ttls_sni_cut\trule\tverdict"
            )
    );
    assert!(z.contains("\thas-fileserver\tallowed\n"));
}

#[test]
fn rule_server_ports_steer_direction_inference() {
    // midstream.pcap (b): 10.0.0.1:40010 <-> 10.0.0.2:8080, no handshake, 40010 sends first:
    // without rules the first sender is the client; a rule naming 40010 as a server port
    // makes 10.0.0.1 the server.
    let line = |args: &[&str]| -> serde_json::Value {
        let o = run(args);
        let out = stdout(&o);
        let l = out
            .lines()
            .find(|l| l.contains("40010"))
            .expect("the 40010 flow")
            .to_string();
        serde_json::from_str(&l).unwrap()
    };
    let plain = line(&["flows", "-q", "fixtures/synthetic/midstream.pcap"]);
    assert_eq!(
        (plain["id.orig_p"].as_u64(), plain["id.resp_p"].as_u64()),
        (Some(40010), Some(8080))
    );
    let ruled = line(&[
        "flows",
        "-q",
        "--rules",
        "fixtures/rules/server-40010.toml",
        "fixtures/synthetic/midstream.pcap",
    ]);
    assert_eq!(
        (ruled["id.orig_p"].as_u64(), ruled["id.resp_p"].as_u64()),
        (Some(8080), Some(40010))
    );
    assert_eq!(ruled["direction_inferred"], true);
    assert_eq!(ruled["verdict"], "allowed");
    assert!(ruled["history"].as_str().unwrap().starts_with('^'));
}

#[test]
fn text_report_escapes_control_characters() {
    let o = run(&[
        "audit",
        "-q",
        "--rules",
        "fixtures/rules/escape.toml",
        "fixtures/synthetic/eth.pcap",
    ]);
    let out = stdout(&o);
    assert!(!out.contains('\x1b'), "{out}");
    assert!(out.contains("evil\\u{1b}[31mname"), "{out}");
}

#[test]
fn rule_severity_overrides_the_default() {
    let (o, v) = audit_json(&[
        "--rules",
        "fixtures/rules/eth-severity.toml",
        "fixtures/synthetic/eth.pcap",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(v["findings"][0]["kind"], "over_latency");
    assert_eq!(v["findings"][0]["severity"], "error");
}

// ---- flow-table limits: --max-flows, --linger ----------------------------------------------

/// Sum of orig_pkts + resp_pkts over JSON records.
fn flow_packets(jsonl: &str) -> u64 {
    jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["orig_pkts"].as_u64().unwrap() + v["resp_pkts"].as_u64().unwrap()
        })
        .sum()
}

/// evict.pcap under `--max-flows 2` (fixtures/synthetic/README.md): the flow idle the longest
/// goes first, which is not always the oldest (the UDP flow B goes before the older TCP flow A);
/// A's later packets start a new, mid-stream flow; no packet is lost.
#[test]
fn max_flows_evicts_the_flow_idle_the_longest() {
    let o = run(&[
        "flows",
        "-q",
        "--max-flows",
        "2",
        "fixtures/synthetic/evict.pcap",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let out = stdout(&o);
    assert_lines(
        &out,
        &read("fixtures/synthetic/evict.max2.expected.jsonl"),
        "evict --max-flows 2",
    );
    let evicted: Vec<(u64, bool)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id.orig_p"].as_u64().unwrap(),
                v["evicted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        evicted,
        [
            (53200, true),
            (40200, true),
            (40201, true),
            (53201, false),
            (40200, false)
        ]
    );
    // Every TCP/UDP packet of the capture is in a record, capped or not.
    assert_eq!(flow_packets(&out), 12);
    assert_eq!(
        flow_packets(&read("fixtures/synthetic/evict.expected.jsonl")),
        12
    );
    // The statistics count the evictions and the same 12 packets.
    let o = run(&["flows", "--max-flows", "2", "fixtures/synthetic/evict.pcap"]);
    assert_eq!(
        stderr(&o),
        "read 1 capture: 12 packets, 1332 bytes, 2023-11-14T22:13:20.000000Z to 2023-11-14T22:13:23.010000Z; link types ethernet (1)\n\
         flows: 5 (3 tcp, 2 udp) from 12 packets (8 tcp, 4 udp)\n\
         evicted: 3 flows ended early because the flow table was full (at most 2 open; see --max-flows)\n\
         not in a flow: 0 packets\n"
    );
    // Without the cap, no evicted: line.
    let o = run(&["flows", "fixtures/synthetic/evict.pcap"]);
    assert_eq!(
        stderr(&o).lines().nth(1),
        Some("flows: 4 (2 tcp, 2 udp) from 12 packets (8 tcp, 4 udp)")
    );
    assert!(!stderr(&o).contains("evicted"), "{}", stderr(&o));
}

/// An evicted flow's record is the one it would have had, marked: states.pcap's flows are about
/// a second apart and short, so under `--max-flows 2` each is evicted whole when the next but one
/// starts, and the records are states.expected.jsonl's in start order, the last two not evicted.
#[test]
fn eviction_keeps_every_record_whole() {
    let o = run(&[
        "flows",
        "-q",
        "--max-flows",
        "2",
        "fixtures/synthetic/states.pcap",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let parse = |s: &str| -> Vec<serde_json::Value> {
        s.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let mut got = parse(&stdout(&o));
    let mut want = parse(&read("fixtures/synthetic/states.expected.jsonl"));
    assert_eq!(got.len(), 13);
    let flags: Vec<bool> = got
        .iter()
        .map(|r| r["evicted"].as_bool().unwrap())
        .collect();
    // The first flow, an unanswered SYN, ends 5 s after it (Zeek's tcp_attempt_delay) before
    // the table fills; the next ten are evicted.
    assert_eq!(
        flags,
        [[false].as_slice(), &[true; 10], &[false, false]].concat()
    );
    for r in &mut got {
        r["evicted"] = false.into();
    }
    want.sort_by(|a, b| a["ts"].as_f64().partial_cmp(&b["ts"].as_f64()).unwrap());
    got.sort_by(|a, b| a["ts"].as_f64().partial_cmp(&b["ts"].as_f64()).unwrap());
    assert_eq!(got, want);
}

/// The audit report counts evicted flows: a header line in the text, `summary` in the JSON.
/// (eth.toml allows 10.0.0.0/24 -> 10.0.0.2:80: the three TCP records of evict.pcap under the
/// cap are allowed, its two DNS records unexpected.)
#[test]
fn audit_report_counts_evicted_flows() {
    let args = [
        "--max-flows",
        "2",
        "--rules",
        "fixtures/rules/eth.toml",
        "fixtures/synthetic/evict.pcap",
    ];
    let mut a = vec!["audit", "-q"];
    a.extend_from_slice(&args);
    let text = stdout(&run(&a));
    let head: Vec<&str> = text.lines().skip(3).take(2).collect();
    assert_eq!(
        head,
        [
            "  flows    5: 3 allowed, 2 unexpected",
            "  evicted  3: ended early, the flow table being full (--max-flows 2); a later packet of such a connection is in a new flow",
        ]
    );
    let (_, v) = audit_json(&args);
    assert_eq!(v["summary"]["flows"], 5);
    assert_eq!(v["summary"]["evicted"], 3);
    assert_eq!(v["summary"]["peak_open_flows"], 2);
    assert_eq!(v["summary"]["max_flows"], 2);
    // Without the cap: no evicted line, 0 in the JSON.
    let text = stdout(&run(&[
        "audit",
        "-q",
        "--rules",
        "fixtures/rules/eth.toml",
        "fixtures/synthetic/evict.pcap",
    ]));
    assert!(!text.contains("evicted"), "{text}");
    let (_, v) = audit_json(&[
        "--rules",
        "fixtures/rules/eth.toml",
        "fixtures/synthetic/evict.pcap",
    ]);
    assert_eq!(v["summary"]["evicted"], 0);
}

/// linger.pcap: a stray ACK 6 s after a RST is a new flow under the default 5 s linger (the
/// expected file of `linger_after_a_reset`), one 4 s after is in the closed flow; with
/// `--linger 10` both are.
#[test]
fn linger_decides_where_a_stray_packet_goes() {
    let o = run(&[
        "flows",
        "-q",
        "--linger",
        "10",
        "fixtures/synthetic/linger.pcap",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_lines(
        &stdout(&o),
        &read("fixtures/synthetic/linger.linger10.expected.jsonl"),
        "linger 10",
    );
    for f in [
        "fixtures/synthetic/linger.expected.jsonl",
        "fixtures/synthetic/linger.linger10.expected.jsonl",
    ] {
        assert_eq!(flow_packets(&read(f)), 14, "{f}");
    }
}

// ---- audit roll-ups and reversed connections -------------------------------------------------

const FLOOD: [&str; 3] = [
    "--rules",
    "fixtures/rules/flood.toml",
    "fixtures/synthetic/flood.pcap",
];
const SCAN: [&str; 3] = [
    "--rules",
    "fixtures/rules/flood.toml",
    "fixtures/synthetic/scan.pcap",
];

fn audit_text(extra: &[&str]) -> (Output, String) {
    let mut args = vec!["audit", "-q"];
    args.extend_from_slice(extra);
    let o = run(&args);
    let s = stdout(&o);
    (o, s)
}

/// The uids `flows` gives a capture's flows, in start order.
fn uids_by_start(capture: &str) -> Vec<String> {
    let mut v: Vec<(f64, String)> = stdout(&run(&["flows", "-q", capture]))
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            (r["ts"].as_f64().unwrap(), r["uid"].as_str().unwrap().into())
        })
        .collect();
    v.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    v.into_iter().map(|x| x.1).collect()
}

/// The finding rows of a text report's section (between its column header and the next blank
/// line), and the "… and N more" line if any.
fn section_rows<'a>(text: &'a str, title: &str) -> (Vec<&'a str>, Option<&'a str>) {
    let mut lines = text.lines().skip_while(|l| *l != title).skip(2);
    let mut rows = Vec::new();
    let mut more = None;
    for l in lines.by_ref() {
        if l.is_empty() {
            break;
        }
        if l.starts_with("  … and ") {
            more = Some(l);
        } else {
            rows.push(l);
        }
    }
    (rows, more)
}

/// flood.pcap: 150 sources to 10.0.0.2:5000 roll up into one finding; the three attempts on
/// :6000 stay one row each.
#[test]
fn flood_rolls_up_into_one_finding() {
    let (o, text) = audit_text(&FLOOD);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_lines(
        &text,
        &read("fixtures/synthetic/flood.expected-audit.txt"),
        "flood report",
    );
    let (_, v) = audit_json(&FLOOD);
    assert_eq!(v["summary"]["flows"], 153);
    assert_eq!(v["summary"]["findings"], 4);
    assert_eq!(v["summary"]["by_verdict"]["unexpected"], 153);
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "unexpected");
    assert_eq!(f["src_ip"], serde_json::Value::Null);
    assert_eq!(f["dst_ip"], "10.0.0.2");
    assert_eq!(f["dst_role"], "web");
    assert_eq!(f["dst_port"], 5000);
    assert_eq!(f["flows"], 150);
    assert_eq!(f["first_seen"], 1700000000.0);
    assert_eq!(f["last_seen"], 1700000001.49);
    assert_eq!(
        f["message"],
        "no rule allows tcp 150 clients -> 10.0.0.2:5000"
    );
    // The five example uids are the earliest flows: the first five sources'.
    let uids = uids_by_start("fixtures/synthetic/flood.pcap");
    assert_eq!(f["uids"], serde_json::json!(uids[..5]));
    let r = &f["rollup"];
    assert_eq!(r["by"], "clients");
    assert_eq!(r["clients"], 150);
    assert_eq!(r["clients_estimated"], false);
    assert_eq!(r["servers"], 1);
    assert_eq!(r["ports"], 1);
    assert_eq!(r["port_ranges"], "5000");
    // Every source has one flow: the top ten are the ten lowest addresses.
    let top: Vec<String> = (1..=10).map(|i| format!("10.1.0.{i}")).collect();
    let got: Vec<&str> = r["top_clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["flows"], 1);
            c["ip"].as_str().unwrap()
        })
        .collect();
    assert_eq!(got, top);
    // 10.1.0.1-150 under at most 10 prefixes of one length: /28 (ten of them; /29 needs 19),
    // most flows first (eight full /28s, then .0/28 without .0, then .144/28 with .144-150).
    let mut want: Vec<(String, u64)> = (1..=8)
        .map(|k| (format!("10.1.0.{}/28", 16 * k), 16))
        .collect();
    want.push(("10.1.0.0/28".into(), 15));
    want.push(("10.1.0.144/28".into(), 7));
    let got: Vec<(String, u64)> = r["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["hosts"], p["flows"]);
            (
                p["prefix"].as_str().unwrap().to_string(),
                p["flows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // The :6000 attempts: one finding each, no roll-up.
    for (i, f) in v["findings"].as_array().unwrap()[1..].iter().enumerate() {
        assert_eq!(f["src_ip"], format!("10.2.0.{}", i + 1));
        assert_eq!(f["dst_port"], 6000);
        assert_eq!(f["flows"], 1);
        assert!(f.get("rollup").is_none(), "{f}");
    }
}

/// The roll-up threshold is inclusive: 150 distinct clients roll up at --rollup-clients 150, not
/// at 151, where the 153 findings are rows and the text report shows the --max-rows with the
/// most flows (all have one: the first 20 in report order) and counts the rest.
#[test]
fn flood_below_the_threshold_is_row_by_row() {
    let mut at = vec!["--rollup-clients", "150"];
    at.extend_from_slice(&FLOOD);
    assert_lines(
        &audit_text(&at).1,
        &read("fixtures/synthetic/flood.expected-audit.txt"),
        "--rollup-clients 150",
    );

    let mut below = vec!["--rollup-clients", "151"];
    below.extend_from_slice(&FLOOD);
    let (o, text) = audit_text(&below);
    assert_eq!(o.status.code(), Some(1));
    assert!(text.contains("\nERROR unexpected (153)\n"), "{text}");
    let (rows, more) = section_rows(&text, "ERROR unexpected (153)");
    assert_eq!(rows.len(), 20);
    assert_eq!(
        more,
        Some("  … and 133 more groups (see --format json or --flows-out)")
    );
    assert!(text.ends_with(
        "summary: 153 findings (153 errors, 0 warnings): 153 unexpected in 153 flows\n"
    ));
    let (_, v) = audit_json(&below);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 153);
    assert!(findings.iter().all(|f| f.get("rollup").is_none()));
    for (row, f) in rows.iter().zip(findings) {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[2], f["src_ip"].as_str().unwrap(), "{row}");
        assert_eq!(cells.last().copied(), f["uids"][0].as_str(), "{row}");
    }

    below.extend_from_slice(&["--max-rows", "1000"]);
    let (_, text) = audit_text(&below);
    let (rows, more) = section_rows(&text, "ERROR unexpected (153)");
    assert_eq!(rows.len(), 153);
    assert_eq!(more, None);
    assert_eq!(text.lines().count(), 166);
}

/// scan.pcap: one client to 120 ports of one server rolls up into one finding; below the
/// threshold, one finding per port.
#[test]
fn scan_rolls_up_into_one_finding() {
    let (o, text) = audit_text(&SCAN);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_lines(
        &text,
        &read("fixtures/synthetic/scan.expected-audit.txt"),
        "scan report",
    );
    let (_, v) = audit_json(&SCAN);
    assert_eq!(v["summary"]["findings"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["src_ip"], "10.0.0.9");
    // One server scanned: it is kept; the ports are many.
    assert_eq!(f["dst_ip"], "10.0.0.2");
    assert_eq!(f["dst_port"], serde_json::Value::Null);
    assert_eq!(f["flows"], 120);
    assert_eq!(
        f["message"],
        "no rule allows tcp 10.0.0.9 -> 10.0.0.2 on 120 ports (1-100,8000-8019)"
    );
    let uids = uids_by_start("fixtures/synthetic/scan.pcap");
    assert_eq!(f["uids"], serde_json::json!(uids[..5]));
    let r = &f["rollup"];
    assert_eq!(r["by"], "targets");
    assert_eq!(r["clients"], 1);
    assert_eq!(r["servers"], 1);
    assert_eq!(r["ports"], 120);
    assert_eq!(r["port_ranges"], "1-100,8000-8019");
    assert_eq!(
        r["top_servers"],
        serde_json::json!([{"ip": "10.0.0.2", "flows": 120}])
    );
    // Ports tie at one flow each: the ten lowest.
    let ports: Vec<u64> = r["top_ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports, (1..=10).collect::<Vec<u64>>());
    assert_eq!(
        r["prefixes"],
        serde_json::json!([{"prefix": "10.0.0.2/32", "hosts": 1, "flows": 120}])
    );

    let mut at = vec!["--rollup-targets", "120"];
    at.extend_from_slice(&SCAN);
    assert_eq!(audit_json(&at).1["summary"]["findings"], 1);
    let mut below = vec!["--rollup-targets", "121"];
    below.extend_from_slice(&SCAN);
    let (_, v) = audit_json(&below);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 120);
    let mut ports: Vec<u64> = findings
        .iter()
        .map(|f| f["dst_port"].as_u64().unwrap())
        .collect();
    ports.sort_unstable();
    assert_eq!(ports, (1..=100).chain(8000..=8019).collect::<Vec<u64>>());
}

/// reversed.pcap against reversed.toml (web may call the console on 10000-65000): the console
/// opening web:8000 from port 40312 is the rule's connection opened from the wrong side
/// (`connection`); the console opening web:20000 is the rule's hosts swapped on a rule port
/// (`hosts`, which comes first although 40314 is also a rule port); web calling the console on
/// 20000 is allowed.
#[test]
fn reversed_connection_and_reversed_hosts() {
    let args = [
        "--rules",
        "fixtures/rules/reversed.toml",
        "fixtures/synthetic/reversed.pcap",
    ];
    let (o, text) = audit_text(&args);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_lines(
        &text,
        &read("fixtures/synthetic/reversed.expected-audit.txt"),
        "reversed report",
    );
    let (_, v) = audit_json(&args);
    assert_eq!(v["summary"]["by_verdict"]["allowed"], 1);
    assert_eq!(v["summary"]["by_verdict"]["reversed"], 2);
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["kind"], "reversed");
    assert_eq!(f[0]["rule"], "web-console");
    assert_eq!(
        (
            &f[0]["src_role"],
            &f[0]["src_ip"],
            &f[0]["dst_role"],
            &f[0]["dst_ip"],
            &f[0]["dst_port"]
        ),
        (
            &"console".into(),
            &"10.0.0.2".into(),
            &"web".into(),
            &"10.0.0.1".into(),
            &8000.into()
        )
    );
    assert_eq!(f[0]["reversed"], "connection");
    assert_eq!(f[0]["reversed_server_ports"], "40312");
    assert_eq!(
        f[0]["message"],
        "10.0.0.2 opened the connection to 10.0.0.1:8000 from port 40312; rule 'web-console' \
         allows the connection the other way, 10.0.0.1 -> 10.0.0.2:40312"
    );
    assert_eq!(f[1]["reversed"], "hosts");
    assert_eq!(f[1]["dst_port"], 20000);
    assert!(f[1].get("reversed_server_ports").is_none(), "{}", f[1]);
    assert_eq!(
        f[1]["message"],
        "10.0.0.2 started the connection; rule 'web-console' allows 10.0.0.1 -> 10.0.0.2:20000 the other way"
    );
    // --flows-out says which way each flow is reversed.
    let mut a = vec!["audit", "-q", "-o", "/dev/null", "--flows-out", "-"];
    a.extend_from_slice(&args);
    let lines: Vec<(String, String, String)> = stdout(&run(&a))
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap_or("-").to_string();
            (s("verdict"), s("finding"), s("reversed"))
        })
        .collect();
    let own = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        lines,
        [
            own("reversed", "reversed", "connection"),
            own("allowed", "-", "-"),
            own("reversed", "reversed", "hosts"),
        ]
    );
}

// ---- --flows-out ------------------------------------------------------------------------------

/// The audit of the HAS sample with a JSON-lines output (`--flows-out` or `--findings-out`) to a
/// file: what it wrote there (the report goes to /dev/null, nothing to stdout, exit 1).
fn audit_has_lines(option: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "flowaudit{}-{}",
        option.trim_start_matches('-'),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("out.jsonl");
    let mut a = vec![
        "audit",
        "-q",
        "-o",
        "/dev/null",
        option,
        file.to_str().unwrap(),
    ];
    a.extend_from_slice(&HAS);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let got = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    got
}

/// `--flows-out` on the HAS sample: every judged flow as a JSON line, pinned in
/// fixtures/has/expected-flows-out.jsonl (renew: `flowaudit audit -q --rules rules/hopex.toml
/// --inventory fixtures/has/inventory.toml fixtures/has/has.pcap --flows-out
/// fixtures/has/expected-flows-out.jsonl -o /dev/null`, after checking it against the tests
/// below), and every number of the report traced to those lines.
#[test]
fn flows_out_traces_every_finding_to_flows() {
    let got = audit_has_lines("--flows-out");
    let want = read("fixtures/has/expected-flows-out.jsonl");
    assert_lines(&got, &want, "--flows-out");

    // Every line is JSON; one per flow of the report.
    let lines: Vec<serde_json::Value> = want
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let (_, report) = audit_json(&HAS);
    assert_eq!(lines.len(), 38);
    assert_eq!(report["summary"]["flows"], 38);

    // Each line is the flow's record as `flows --rules` prints it, plus the audit's fields.
    let flows = stdout(&run(&[
        "flows", "-q", HAS[0], HAS[1], HAS[2], HAS[3], HAS[4],
    ]));
    for (line, record) in lines.iter().zip(flows.lines()) {
        let mut l = line.clone();
        let m = l.as_object_mut().unwrap();
        for k in ["finding", "also", "reversed"] {
            assert!(m.remove(k).is_some(), "{k} in {line}");
        }
        assert_eq!(
            l,
            serde_json::from_str::<serde_json::Value>(record).unwrap()
        );
    }

    // The flows of each kind of finding: the sum of the report's findings' flows (over_latency:
    // the flows over budget), and as many lines naming that kind (as `finding` or `also`).
    // missing and over_bandwidth are not per-flow.
    let findings = report["findings"].as_array().unwrap();
    for kind in [
        "unexpected",
        "denied",
        "reversed",
        "failed",
        "discouraged",
        "over_latency",
    ] {
        let in_report: u64 = findings
            .iter()
            .filter(|f| f["kind"] == kind)
            .map(|f| f["flows"].as_u64().unwrap())
            .sum();
        let in_lines = lines
            .iter()
            .filter(|l| l["finding"] == kind || l["also"] == kind)
            .count() as u64;
        assert_eq!(in_lines, in_report, "{kind}");
        assert!(in_report > 0, "{kind}");
    }
    // Lines with a finding are exactly the flows of those kinds; verdicts match the summary.
    for (verdict, n) in report["summary"]["by_verdict"].as_object().unwrap() {
        let c = lines.iter().filter(|l| &l["verdict"] == verdict).count() as u64;
        assert_eq!(c, n.as_u64().unwrap(), "{verdict}");
    }
    assert_eq!(lines.iter().filter(|l| l["reversed"] == "hosts").count(), 1);
    // Every example uid of the report is a line of the file, in a finding of its kind (missing:
    // its failed attempts; over_bandwidth: the client's flows on the rule).
    for f in findings {
        for u in f["uids"].as_array().unwrap() {
            let line = lines
                .iter()
                .find(|l| l["uid"] == *u)
                .unwrap_or_else(|| panic!("{u} not in --flows-out"));
            match f["kind"].as_str().unwrap() {
                "missing" => assert_eq!(line["finding"], "failed", "{u}"),
                "over_bandwidth" => {
                    assert_eq!(line["rule"], f["rule"], "{u}");
                    assert_eq!(line["id.orig_h"], f["src_ip"], "{u}");
                }
                k => assert!(line["finding"] == k || line["also"] == k, "{u}: {k}"),
            }
        }
    }
    // The lab's design (fixtures/has/expected.tsv): the per-flow finding each flow was made to
    // produce is the one the line names (an allowed flow and the bandwidth hog's flow: none).
    for l in read("fixtures/has/expected.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
    {
        let c: Vec<&str> = l.split('\t').collect();
        let line = lines
            .iter()
            .find(|x| {
                x["proto"] == c[0]
                    && x["id.orig_h"] == c[1]
                    && x["id.orig_p"].as_u64() == c[2].parse().ok()
                    && x["id.resp_h"] == c[3]
                    && x["id.resp_p"].as_u64() == c[4].parse().ok()
            })
            .unwrap_or_else(|| panic!("no line for {l}"));
        let want = match c[9] {
            "allowed" | "over_bandwidth" => serde_json::Value::Null,
            k => k.into(),
        };
        assert_eq!(line["finding"], want, "{l}");
    }

    // `--flows-out -` writes the lines to standard output when the report goes to a file.
    let dir = std::env::temp_dir().join(format!("flowaudit-flows-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report_file = dir.join("report.txt");
    let mut a = vec![
        "audit",
        "-q",
        "-o",
        report_file.to_str().unwrap(),
        "--flows-out",
        "-",
    ];
    a.extend_from_slice(&HAS);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(1));
    assert_lines(&stdout(&o), &want, "--flows-out -");
    assert_lines(
        &std::fs::read_to_string(&report_file).unwrap(),
        &read("fixtures/has/expected-report.txt"),
        "-o report",
    );
    std::fs::remove_dir_all(&dir).ok();

    // Both on standard output is a usage error.
    let mut a = vec!["audit", "-q", "--flows-out", "-"];
    a.extend_from_slice(&HAS);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o),
        "flowaudit: only one of the report (-o), --flows-out and --findings-out can go to standard output: give the others a file\n"
    );
    let mut a = vec![
        "audit",
        "-q",
        "-o",
        "/dev/null",
        "--flows-out",
        "-",
        "--findings-out",
        "-",
    ];
    a.extend_from_slice(&HAS);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
}

// ---- --findings-out ---------------------------------------------------------------------------

/// `--findings-out` on the HAS sample: each finding the first time it is raised, pinned in
/// fixtures/has/expected-findings-out.jsonl (renew: `flowaudit audit -q --rules rules/hopex.toml
/// --inventory fixtures/has/inventory.toml fixtures/has/has.pcap --findings-out
/// fixtures/has/expected-findings-out.jsonl -o /dev/null`, after checking it against this test).
/// Every finding of the report is raised exactly once, by one of its own flows, no earlier than
/// its first flow began and no later than the capture's last packet.
#[test]
fn findings_out_raises_each_finding_once() {
    let got = audit_has_lines("--findings-out");
    let want = read("fixtures/has/expected-findings-out.jsonl");
    assert_lines(&got, &want, "--findings-out");

    let lines: Vec<serde_json::Value> = want
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let (_, report) = audit_json(&HAS);
    let findings = report["findings"].as_array().unwrap();
    let ident = |v: &serde_json::Value| {
        [
            "kind", "severity", "rule", "proto", "src_role", "src_ip", "dst_role", "dst_ip",
            "dst_port",
        ]
        .map(|k| v[k].clone())
    };
    assert_eq!(lines.len(), findings.len());
    let last_packet = report["captures"][0]["last_ts"].as_f64().unwrap();
    for f in findings {
        let raised: Vec<_> = lines.iter().filter(|l| ident(l) == ident(f)).collect();
        assert_eq!(raised.len(), 1, "{f}");
        let r = raised[0];
        let ts = r["ts"].as_f64().unwrap();
        assert!(ts >= f["first_seen"].as_f64().unwrap(), "{r}");
        assert!(ts <= last_packet, "{r}");
        match f["kind"].as_str().unwrap() {
            // What only the end of the capture shows is raised at its last packet.
            "missing" => {
                assert_eq!(r["uid"], serde_json::Value::Null, "{r}");
                assert_eq!(ts, last_packet, "{r}");
            }
            // The 3 MB download's busiest second is over the 512 kbit/s peak budget: raised
            // once the clock has left that second, with the end of that second as its time.
            "over_bandwidth" => {
                assert_eq!(r["uid"], serde_json::Value::Null, "{r}");
                assert_eq!(ts.fract(), 0.0, "{r}");
                assert!(ts < last_packet, "{r}");
            }
            // Raised by the finding's first flow, when it ended.
            _ => assert_eq!(r["uid"], f["uids"][0], "{r}"),
        }
    }
}

// ---- simultaneous captures ----------------------------------------------------------------------

/// fixtures/real/tap/ is lab.pcap split in two by fixtures/real/split-tap.sh, as two ports of a
/// network tap would record it: the frames the client sent (client.pcap) and all the others
/// (others.pcap). Both cover the same time span, so read together they are merged by packet time
/// and give exactly lab.pcap's flows, whichever order they are named in, or as a directory.
/// Read one after another they would not. Wireshark's mergecap, which merges captures by time,
/// agrees: `flowaudit flows merged.pcap` after `mergecap -w merged.pcap client.pcap others.pcap`
/// gives the same flows (split-tap.sh also checks that mergecap's merge is lab.pcap frame for
/// frame).
#[test]
fn simultaneous_captures_are_merged_by_time() {
    let (client, others) = (
        "fixtures/real/tap/client.pcap",
        "fixtures/real/tap/others.pcap",
    );
    let lab = stdout(&run(&["flows", "-q", "fixtures/real/lab.pcap"]));
    assert_lines(&lab, &read("fixtures/real/lab.expected.jsonl"), "lab.pcap");
    for inputs in [
        vec![client, others],
        vec![others, client],
        vec!["fixtures/real/tap"],
    ] {
        let mut args = vec!["flows", "-q"];
        args.extend(inputs);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_lines(&stdout(&o), &lab, &args.join(" "));
    }

    let dir = std::env::temp_dir().join(format!("flowaudit-tap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // One after another: client.pcap's frames, then others.pcap's, in one file (whose frames are
    // read in file order): not the same flows.
    let (c, o) = (
        std::fs::read(root().join(client)).unwrap(),
        std::fs::read(root().join(others)).unwrap(),
    );
    assert_eq!(c[..24], o[..24], "the same pcap file header");
    let serial = dir.join("serial.pcap");
    std::fs::write(&serial, [&c[..], &o[24..]].concat()).unwrap();
    let out = stdout(&run(&["flows", "-q", serial.to_str().unwrap()]));
    assert_ne!(
        out, lab,
        "read one after another, the halves give other flows"
    );

    match std::process::Command::new("mergecap")
        .arg("-w")
        .arg(dir.join("merged.pcap"))
        .args([root().join(client), root().join(others)])
        .status()
    {
        Ok(s) => {
            assert!(s.success(), "mergecap: {s}");
            let merged = dir.join("merged.pcap");
            let o = run(&["flows", "-q", merged.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            assert_lines(&stdout(&o), &lab, "mergecap's merge");
        }
        Err(e) => eprintln!("mergecap not run ({e}): apt-get install wireshark-common"),
    }
    std::fs::remove_dir_all(&dir).ok();
}
