//! Runs the real `flowaudit` binary on the fixtures and checks exit codes, stdout and stderr
//! exactly.
//!
//! Expected records:
//! - `fixtures/synthetic/NAME.expected.jsonl` were derived by hand from the scenarios written by
//!   `fixtures/gen` (see fixtures/synthetic/README.md), with Community IDs computed by the Python
//!   `communityid` package (fixtures/gen/community_ids.py); the uids are flowaudit's own
//!   deterministic ids, pinned so that a change in them is noticed.
//! - `fixtures/real/expected.tsv` comes from tshark's dissection of the real capture (frame and
//!   byte counts per direction, checked by fixtures/real/crosscheck.py against tshark's
//!   `-z conv,tcp -z conv,udp` table) and the Python `communityid` package.

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary, run from the repository root so that paths in messages are relative.
fn flowaudit() -> Command {
    let mut c = Command::cargo_bin("flowaudit").expect("flowaudit binary");
    c.current_dir(root());
    c
}

fn run(args: &[&str]) -> Output {
    flowaudit().args(args).output().expect("run flowaudit")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Asserts line by line, so that a failure names the first differing record.
fn assert_lines(got: &str, want: &str, what: &str) {
    let (g, w): (Vec<_>, Vec<_>) = (got.lines().collect(), want.lines().collect());
    for (i, (a, b)) in g.iter().zip(w.iter()).enumerate() {
        assert_eq!(a, b, "{what}: line {} differs", i + 1);
    }
    assert_eq!(
        g.len(),
        w.len(),
        "{what}: {} lines, expected {}",
        g.len(),
        w.len()
    );
}

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
            "not in a flow: 2 packets",
            "  non-first ip fragments: 2"
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
            "flowaudit: skipped fixtures/synthetic/rotated/notes.txt: not a pcap or pcapng capture\n\
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
         captured bytes, more than the 262144-byte snaplen (libpcap: invalid packet capture \
         length 4294967040, bigger than snaplen of 262144)\n"
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
         packet record: 154 of 254 bytes (libpcap: truncated dump file; tried to read 254 \
         captured bytes, only got 154)\n"
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
            "flowaudit: fixtures/synthetic/rotated/notes.txt: not a pcap or pcapng capture"
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
    let got: Vec<Conv> = stdout(&o)
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
