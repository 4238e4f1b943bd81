//! Tunnels: runs the real `flowaudit` binary on the captures of fixtures/tunnels and checks
//! every field of every record.
//!
//! The expected records (`NAME.expected.jsonl`) are flowaudit's output, checked before they were
//! pinned here: fixtures/tunnels/crosscheck.py compares each capture's records, inner and outer,
//! with tshark's conversations (`tshark -q -z conv,tcp -z conv,udp`: same protocol, endpoints
//! and frames; the one difference, a frame nested past the bound, is listed there) and each
//! record's Community ID with the Python `communityid` package's; byte counts, states and
//! histories of the generated captures follow from the standard connection and DNS exchange of
//! fixtures/synthetic/README.md (orig_ip_bytes 344, resp_ip_bytes 364, ShADdFaf, ...), which
//! the tunnels carry unchanged. The uids are flowaudit's own deterministic ids, pinned so that
//! a change in them is noticed.
//!
//! The `ovs-` captures are real traffic from an independent encoder, Open vSwitch 3.1's
//! userspace datapath (fixtures/tunnels/record.sh): their `tunnel` fields were also compared
//! with tshark's reading of every frame (`-T fields -e gre.key -e erspan.version -e erspan.spanid
//! -e geneve.vni -e gtp.teid`), and each TCP connection's 6/4 packets and IP bytes (325/221;
//! over IPv6 445/301) with the ten segments tcpdump lists.

mod common;

use common::{assert_lines, read, run, stdout};

use std::collections::{BTreeMap, BTreeSet};

/// The records of a capture of fixtures/tunnels, checked against its expected file.
fn records(name: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let path = format!("fixtures/tunnels/{name}.pcap");
    let mut args = vec!["flows", "-q", path.as_str()];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{name}");
    let out = stdout(&o);
    assert_lines(
        &out,
        &read(&format!("fixtures/tunnels/{name}.expected.jsonl")),
        name,
    );
    out.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

macro_rules! capture_tests {
    ($($test:ident => $name:expr, [$($arg:expr),*];)*) => {
        $(
            #[test]
            fn $test() {
                let recs = records($name, &[$($arg),*]);
                check_parents(&recs);
            }
        )*
    };
}

capture_tests! {
    gre_key_checksum_sequence => "gre", [];
    gretap_transparent_ethernet => "gretap", [];
    erspan_type_1 => "erspan1", [];
    erspan_type_2 => "erspan2", [];
    erspan_type_3_over_ipv6 => "erspan3", [];
    geneve_with_options => "geneve", [];
    gtpu_with_extension_headers => "gtpu", [];
    teredo_validated => "teredo", [];
    ayiya => "ayiya", [];
    mpls_in_gre_and_udp => "mpls", [];
    ip_in_ip_four_ways => "ipip", [];
    overlapping_tenants => "overlap", [];
    nested_gre_vxlan => "nested", [];
    real_vxlan => "vxlan", [];
    real_vxlan_ipv6 => "vxlan6", [];
    real_vxlan_other_port => "vxlan8472", ["--vxlan-port", "8472"];
    // Made by Open vSwitch 3.1's userspace datapath between two namespaces (record.sh).
    ovs_gre_ipv4_payload_key_checksum => "ovs-gre", [];
    ovs_gretap_key_sequence => "ovs-gretap", [];
    ovs_ip6gre_ethernet => "ovs-ip6gre", [];
    ovs_erspan_type_2 => "ovs-erspan1", [];
    ovs_erspan_type_3 => "ovs-erspan2", [];
    ovs_erspan_type_3_over_ipv6 => "ovs-ip6erspan", [];
    ovs_geneve_with_option => "ovs-geneve", [];
    ovs_gtpu_one_side => "ovs-gtpu", [];
}

/// Every flow inside a UDP tunnel names outer flows of the same output as its parents, and
/// those carry the tunnel's name in `service`; a flow inside an IP-level tunnel names the
/// tunnel's own uid, which is no flow's, and which every flow of that tunnel shares.
fn check_parents(recs: &[serde_json::Value]) {
    let by_uid: BTreeMap<&str, &serde_json::Value> = recs
        .iter()
        .map(|r| (r["uid"].as_str().unwrap(), r))
        .collect();
    let mut ip_tunnels: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for r in recs {
        let Some(t) = r.get("tunnel") else {
            assert!(r.get("tunnel_parents").is_none(), "{r}");
            continue;
        };
        let kind = t["type"].as_str().unwrap();
        let parents: Vec<&str> = r["tunnel_parents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert!(!parents.is_empty(), "{r}");
        match kind {
            "vxlan" | "geneve" | "gtpv1" | "teredo" | "ayiya" | "mpls-udp" => {
                for p in parents {
                    let outer = by_uid.get(p).unwrap_or_else(|| panic!("parent {p} of {r}"));
                    assert_eq!(outer["service"], kind, "{outer}");
                    assert_eq!(outer["proto"], "udp");
                }
            }
            _ => {
                assert_eq!(parents.len(), 1);
                assert!(!by_uid.contains_key(parents[0]), "{r}");
                ip_tunnels
                    .entry(format!("{kind} {} {} {}", t["src"], t["dst"], t["id"]))
                    .or_default()
                    .insert(parents[0]);
            }
        }
    }
    for (t, uids) in ip_tunnels {
        assert_eq!(uids.len(), 1, "{t}: one tunnel, one uid");
    }
}

#[test]
fn overlapping_tenants_stay_apart() {
    let recs = records("overlap", &[]);
    let tcp: Vec<_> = recs.iter().filter(|r| r["proto"] == "tcp").collect();
    assert_eq!(tcp.len(), 2);
    // Same 5-tuple, two VNIs: two flows of 10 packets each, two uids, one Community ID.
    assert_eq!(tcp[0]["id.orig_p"], tcp[1]["id.orig_p"]);
    assert_ne!(tcp[0]["uid"], tcp[1]["uid"]);
    assert_eq!(tcp[0]["community_id"], tcp[1]["community_id"]);
    let vnis: BTreeSet<u64> = tcp
        .iter()
        .map(|r| r["tunnel"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(vnis, BTreeSet::from([100, 200]));
    for r in tcp {
        assert_eq!(
            (r["orig_pkts"].as_u64(), r["resp_pkts"].as_u64()),
            (Some(6), Some(4))
        );
    }
}

#[test]
fn vxlan_port_only_when_given() {
    // Without --vxlan-port 8472 the VXLAN datagrams are plain UDP flows.
    let o = run(&["flows", "-q", "fixtures/tunnels/vxlan8472.pcap"]);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 6);
    assert!(!out.contains("\"tunnel\"") && !out.contains("\"service\":"));
    let ports: Vec<String> = (1..=9).map(|p| p.to_string()).collect();
    let mut args = vec!["flows", "fixtures/tunnels/vxlan8472.pcap"];
    for p in &ports {
        args.extend(["--vxlan-port", p.as_str()]);
    }
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "flowaudit: --vxlan-port: at most 8 VXLAN ports besides 4789\n"
    );
}

#[test]
fn zeek_tsv_fills_service_and_tunnel_parents() {
    let o = run(&[
        "flows",
        "-q",
        "--format",
        "zeek",
        "fixtures/tunnels/vxlan.pcap",
    ]);
    assert_lines(
        &stdout(&o),
        &read("fixtures/tunnels/vxlan.expected.zeek"),
        "vxlan zeek",
    );
}

/// OVS 3.1 computes the GTP-U datagrams' UDP checksum before it writes the GTP-U length, so
/// the seven datagrams it sent in ovs-gtpu.pcap carry a wrong one: tshark
/// (`-o udp.check_checksum:TRUE -e udp.checksum.status`) marks frames 1, 3, 4, 7, 8, 10 and 11
/// bad, the peer's five good. With `--checksums count` the outer flows count them bad (6 and 1)
/// and the inner flows are as without verification; with `drop`, as Zeek's UDP analyzer, a bad
/// datagram counts in its outer flow (history `C`) and nothing inside it counts: the inner flows
/// keep only the peer's packets.
#[test]
fn outer_udp_checksums_under_count_and_drop() {
    for mode in ["count", "drop"] {
        let o = run(&[
            "flows",
            "--checksums",
            mode,
            "fixtures/tunnels/ovs-gtpu.pcap",
        ]);
        assert_eq!(o.status.code(), Some(0), "{mode}");
        assert_lines(
            &stdout(&o),
            &read(&format!("fixtures/tunnels/ovs-gtpu.{mode}.expected.jsonl")),
            mode,
        );
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(
            err.contains("\nbad checksums: ipv4 header 0, tcp 0, udp 7; "),
            "{mode}: {err}"
        );
    }
}

#[test]
fn nesting_past_the_bound_is_counted() {
    let o = run(&["flows", "fixtures/tunnels/nested.pcap"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        read("fixtures/tunnels/nested.expected-stats.txt")
    );
}

/// The tunnel endpoints' own flows (the VTEPs' VXLAN datagrams, UDP 4789) have no rule in
/// vxlan-rules.toml: by default they are unexpected like any flow; with
/// --skip-tunnel-endpoints they are left out of the verdicts and counted apart, while the
/// tenant's flows inside the tunnel are judged either way.
#[test]
fn audit_judges_inner_flows_and_may_leave_tunnel_endpoints_out() {
    let audit = |extra: &[&str]| -> (serde_json::Value, Vec<serde_json::Value>) {
        let out = std::env::temp_dir().join(format!(
            "flowaudit-tunnels-{}-{}.jsonl",
            std::process::id(),
            extra.len()
        ));
        let out_s = out.to_str().unwrap().to_string();
        let mut args = vec![
            "audit",
            "-q",
            "--format",
            "json",
            "--rules",
            "fixtures/tunnels/vxlan-rules.toml",
            "--flows-out",
            out_s.as_str(),
            "fixtures/tunnels/vxlan.pcap",
        ];
        args.extend_from_slice(extra);
        let o = run(&args);
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
        let flows = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        std::fs::remove_file(&out).unwrap();
        (report, flows)
    };
    let verdicts = |flows: &[serde_json::Value]| -> Vec<(String, String)> {
        flows
            .iter()
            .map(|f| {
                (
                    format!("{}:{}", f["id.resp_h"].as_str().unwrap(), f["id.resp_p"]),
                    f["verdict"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (report, flows) = audit(&[]);
    let s = &report["summary"];
    assert_eq!(s["flows"], 8);
    assert_eq!(s["by_verdict"]["allowed"], 2);
    assert_eq!(s["by_verdict"]["unexpected"], 6);
    assert!(s.get("tunnel_endpoints_not_judged").is_none());
    let v = verdicts(&flows);
    assert_eq!(v.iter().filter(|(_, x)| x == "unexpected").count(), 6);
    assert!(v.contains(&("10.77.0.2:8080".into(), "allowed".into())));
    assert!(v.contains(&("10.77.0.2:7000".into(), "allowed".into())));

    let (report, flows) = audit(&["--skip-tunnel-endpoints"]);
    let s = &report["summary"];
    assert_eq!(s["flows"], 2);
    assert_eq!(s["by_verdict"]["allowed"], 2);
    assert_eq!(s["by_verdict"]["unexpected"], 0);
    assert_eq!(s["findings"], 0);
    assert_eq!(s["tunnel_endpoints_not_judged"], 6);
    let v = verdicts(&flows);
    assert_eq!(v.len(), 8, "--flows-out still lists every flow");
    for (ep, verdict) in &v {
        let inner = ep.starts_with("10.77.");
        assert_eq!(
            verdict,
            if inner { "allowed" } else { "not_judged" },
            "{ep}"
        );
    }
    // The text report says what was left out, under the flows line.
    let text = stdout(&run(&[
        "audit",
        "--rules",
        "fixtures/tunnels/vxlan-rules.toml",
        "--skip-tunnel-endpoints",
        "fixtures/tunnels/vxlan.pcap",
    ]));
    let head: Vec<&str> = text.lines().skip(3).take(2).collect();
    assert_eq!(
        head,
        [
            "  flows       2: 2 allowed",
            "  not judged  6 tunnel endpoint flows (--skip-tunnel-endpoints); the flows inside the tunnels are judged",
        ]
    );
}
