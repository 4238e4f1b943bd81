//! Auditing flow-record logs with the real binary: the HAS sample's own records (Zeek TSV,
//! Zeek-only columns, flowaudit JSON lines) audited back give the pcap's findings except those
//! a format cannot carry; two sensors on two overlapping halves of the traffic audit as the
//! whole; a capture and its own records are one set of flows; broken and unreadable inputs
//! are counted and reported with the others still audited.

mod common;

use std::path::{Path, PathBuf};

use common::{flowaudit, root, run, stderr, stdout};
use serde_json::Value;

const RULES: [&str; 4] = [
    "--rules",
    "rules/hopex.toml",
    "--inventory",
    "fixtures/has/inventory.toml",
];
const PCAP: &str = "fixtures/has/has.pcap";

/// A fresh directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowaudit-records-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `flowaudit flows ARGS -o OUT -q`.
fn flows(args: &[&str], out: &Path) {
    let mut a = vec!["flows", "-q", "-o", out.to_str().unwrap()];
    a.extend_from_slice(args);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// The JSON report of an audit of `inputs`, and its exit status.
fn audit(inputs: &[&str]) -> (Value, Option<i32>, String) {
    let mut a = vec!["audit", "--format", "json"];
    a.extend_from_slice(&RULES);
    a.extend_from_slice(inputs);
    let o = run(&a);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
        panic!("{e}: {}", stderr(&o));
    });
    (v, o.status.code(), stderr(&o))
}

/// The findings, each without what depends on the input's kind of evidence only.
fn findings(v: &Value) -> Vec<Value> {
    v["findings"].as_array().unwrap().clone()
}

fn kinds(v: &Value) -> Vec<String> {
    findings(v)
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_samples_own_records_audit_as_the_capture() {
    let d = scratch("roundtrip");
    let tsv = d.join("conn.log");
    let json = d.join("flows.jsonl");
    flows(&["--format", "zeek", PCAP], &tsv);
    flows(&[PCAP], &json);
    let (whole, code, _) = audit(&[PCAP]);
    assert_eq!(code, Some(1));
    for log in [&tsv, &json] {
        let (v, code, err) = audit(&[log.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{err}");
        assert_eq!(findings(&v), findings(&whole), "{}", log.display());
        assert_eq!(v["summary"]["flows"], whole["summary"]["flows"]);
        assert_eq!(v["summary"]["by_verdict"], whole["summary"]["by_verdict"]);
        let input = &v["record_inputs"][0];
        assert_eq!(input["records"], 38);
        assert_eq!(input["malformed"], 0);
        // Both formats carry flowaudit's RTTs: latency is judged; peaks are approximated.
        let limits: Vec<&str> = input["limits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["what"].as_str().unwrap())
            .collect();
        assert_eq!(limits, ["over_bandwidth peak"]);
        assert_eq!(v["summary"]["duplicates_merged"], 0);
    }
    // Gzip, read from standard input.
    let gz = d.join("conn.log.gz");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -c {} > {}", tsv.display(), gz.display()))
        .status()
        .unwrap();
    assert!(status.success());
    let mut a = vec!["audit", "--format", "json"];
    a.extend_from_slice(&RULES);
    a.push("-");
    let o = flowaudit()
        .args(&a)
        .pipe_stdin(&gz)
        .unwrap()
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(findings(&v), findings(&whole));
    assert_eq!(v["record_inputs"][0]["path"], "-");
}

#[test]
fn zeeks_own_columns_lack_the_rtt_and_so_the_latency_finding() {
    // A conn.log with Zeek's standard columns only (zeek-cut of flowaudit's TSV): everything
    // but over_latency, which needs the handshake RTT Zeek does not log.
    let d = scratch("zeekonly");
    let tsv = d.join("conn.log");
    flows(&["--format", "zeek", PCAP], &tsv);
    let text = std::fs::read_to_string(&tsv).unwrap();
    let fields_line = text.lines().find(|l| l.starts_with("#fields")).unwrap();
    let names: Vec<&str> = fields_line.split('\t').skip(1).collect();
    let keep: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            [
                "ts",
                "uid",
                "id.orig_h",
                "id.orig_p",
                "id.resp_h",
                "id.resp_p",
                "proto",
                "service",
                "duration",
                "orig_bytes",
                "resp_bytes",
                "conn_state",
                "local_orig",
                "local_resp",
                "missed_bytes",
                "history",
                "orig_pkts",
                "orig_ip_bytes",
                "resp_pkts",
                "resp_ip_bytes",
                "tunnel_parents",
            ]
            .contains(n)
        })
        .map(|(i, _)| i)
        .collect();
    let mut out = String::new();
    for l in text.lines() {
        if l.starts_with("#fields") || l.starts_with("#types") || !l.starts_with('#') {
            let cols: Vec<&str> = l.split('\t').collect();
            let (head, rest) = if l.starts_with('#') {
                (Some(cols[0]), &cols[1..])
            } else {
                (None, &cols[..])
            };
            let kept: Vec<&str> = keep.iter().map(|&i| rest[i]).collect();
            out.push_str(&head.map_or(String::new(), |h| format!("{h}\t")));
            out.push_str(&kept.join("\t"));
        } else {
            out.push_str(l);
        }
        out.push('\n');
    }
    let zeek = d.join("zeek-conn.log");
    std::fs::write(&zeek, out).unwrap();
    let (whole, _, _) = audit(&[PCAP]);
    let (v, code, _) = audit(&[zeek.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let expected: Vec<Value> = findings(&whole)
        .into_iter()
        .filter(|f| f["kind"] != "over_latency")
        .collect();
    assert_eq!(
        kinds(&whole)
            .iter()
            .filter(|k| *k == "over_latency")
            .count(),
        1
    );
    assert_eq!(findings(&v), expected);
    let limits = &v["record_inputs"][0]["limits"];
    assert_eq!(limits[0]["what"], "over_latency");
    assert_eq!(limits[0]["how"], "not evaluated");
    assert_eq!(limits[0]["why"], "zeek-tsv records carry no handshake RTT");
}

#[test]
fn two_sensors_on_two_halves_audit_as_the_whole() {
    // Sensor A sees the HAS servers' and IIS's traffic, sensor B everything but HAS node 1's:
    // they overlap (IIS's and HAS node 2's connections that avoid node 1), as two taps would.
    let d = scratch("sensors");
    let a = d.join("sensor-a.jsonl");
    let b = d.join("sensor-b.conn.log");
    let fa = "host 10.20.0.21 or host 10.20.0.22 or host 10.20.0.10";
    let fb = "not host 10.20.0.21";
    flows(&["--filter", fa, PCAP], &a);
    flows(&["--format", "zeek", "--filter", fb, PCAP], &b);
    let count = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count() as u64
    };
    let (na, nb) = (count(&a), count(&b));
    let (whole, _, _) = audit(&[PCAP]);
    let total = whole["summary"]["flows"].as_u64().unwrap();
    assert!(
        na < total && nb < total,
        "each sensor sees part: {na} {nb} of {total}"
    );
    let (v, code, _) = audit(&[a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_eq!(findings(&v), findings(&whole));
    assert_eq!(v["summary"]["flows"], total);
    assert_eq!(v["summary"]["by_verdict"], whole["summary"]["by_verdict"]);
    // Every connection both saw was merged once.
    assert_eq!(
        v["summary"]["duplicates_merged"].as_u64().unwrap(),
        na + nb - total
    );
    assert!(na + nb > total, "the sensors overlap");
}

/// `--max-flows` bounds the records held for duplicates: when the merge is full, the record
/// due first leaves at once, and the report says how many did. Every record is still either
/// merged or a flow.
#[test]
fn a_full_merge_releases_records_early_and_says_so() {
    let d = scratch("merge-full");
    let (json, zeek) = (d.join("a.jsonl"), d.join("b.conn.log"));
    flows(&[PCAP], &json);
    flows(&["--format", "zeek", PCAP], &zeek);
    let (json, zeek) = (json.to_str().unwrap(), zeek.to_str().unwrap());
    let (whole, _, _) = audit(&[json, zeek]);
    assert_eq!(whole["summary"]["duplicates_merged"], 38);
    assert_eq!(whole["summary"]["merge_released_early"], 0);
    let (v, _, err) = audit(&["--max-flows", "3", json, zeek]);
    let merged = v["summary"]["duplicates_merged"].as_u64().unwrap();
    let early = v["summary"]["merge_released_early"].as_u64().unwrap();
    assert!(early > 0 && merged < 38, "{early} {merged}");
    assert_eq!(v["summary"]["flows"].as_u64().unwrap() + merged, 76);
    assert!(
        err.contains(&format!("{early} records left the merge early")),
        "{err}"
    );
    let mut a = vec!["audit", "--max-flows", "3"];
    a.extend_from_slice(&RULES);
    a.extend_from_slice(&[json, zeek]);
    let text = stdout(&run(&a));
    assert!(
        text.contains(&format!(
            "{early} records left the merge before their window ended (--max-flows 3)"
        )),
        "{text}"
    );
}

#[test]
fn a_capture_and_its_own_records_are_one_set_of_flows() {
    let d = scratch("mixed");
    let json = d.join("flows.jsonl");
    flows(&[PCAP], &json);
    let (whole, _, _) = audit(&[PCAP]);
    let (v, code, _) = audit(&[PCAP, json.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_eq!(findings(&v), findings(&whole));
    assert_eq!(v["summary"]["duplicates_merged"], 38);
    assert_eq!(v["captures"][0]["packets"], whole["captures"][0]["packets"]);
    assert_eq!(v["captures"][0]["sha256"], whole["captures"][0]["sha256"]);
}

#[test]
fn broken_lines_are_counted_and_an_unreadable_file_is_exit_3() {
    let d = scratch("broken");
    let tsv = d.join("conn.log");
    flows(&["--format", "zeek", PCAP], &tsv);
    let text = std::fs::read_to_string(&tsv).unwrap();
    // Break data lines 3 and 5 (file lines 11 and 13): a bad port, a cut line.
    let broken: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| match i + 1 {
            11 => l.replacen("\ttcp\t", "\ttcp?\t", 1),
            13 => l.split('\t').take(3).collect::<Vec<_>>().join("\t"),
            _ => l.to_string(),
        })
        .collect();
    std::fs::write(&tsv, broken.join("\n") + "\n").unwrap();
    let missing = d.join("missing.log");
    let (v, code, err) = audit(&[tsv.to_str().unwrap(), missing.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.starts_with(&format!("flowaudit: {}: cannot open", missing.display())),
        "{err}"
    );
    let input = &v["record_inputs"][0];
    assert_eq!(input["records"], 36);
    assert_eq!(input["malformed"], 2);
    let lines: Vec<u64> = input["first_malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [11, 13]);
    assert_eq!(v["summary"]["flows"], 36);
    assert!(
        err.contains("  2 malformed lines skipped:\n    line 11: "),
        "{err}"
    );
}

#[test]
fn a_directory_of_logs_and_captures_is_found_by_content() {
    let d = scratch("dir");
    flows(&["--format", "zeek", PCAP], &d.join("conn.00.log"));
    std::fs::write(d.join("README"), "not a log\n").unwrap();
    let o = run(&[
        "flows",
        "-o",
        d.join("../flowaudit-records-dir-out.jsonl")
            .to_str()
            .unwrap(),
        d.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("README: neither a pcap or pcapng capture nor a flow-record log"),
        "{err}"
    );
    assert!(err.contains("zeek-tsv, 38 records from 47 lines"), "{err}");
    let _ = root();
}

/// The JSON report's finding counts by kind, with the flows.
fn by_kind(v: &Value) -> (u64, Value) {
    (
        v["summary"]["flows"].as_u64().unwrap(),
        v["summary"]["findings_by_kind"].clone(),
    )
}

#[test]
fn netflow_exports_audit_end_to_end() {
    // softflowd's exports of the HAS sample (fixtures/netflow/record.sh): as export packets in
    // captures (--from netflow) and as RFC 5655 files (found by content). One-way records carry
    // no handshake RTT (no over_latency) and no direction but the ports': the SQL Server
    // connection the pcap shows reversed (sqlserver calling has on 1433) is read as has
    // calling sqlserver, which the matrix allows; and the rogue host's SSH attempt to IIS,
    // SYN-only, is told by its flags. What does not depend on direction or RTT is the pcap's.
    let (whole, _, _) = audit(&[PCAP]);
    let w = &whole["summary"]["findings_by_kind"];
    for args in [
        &["--from", "netflow", "fixtures/netflow/softflowd-v5.pcap"][..],
        &["--from", "netflow", "fixtures/netflow/softflowd-v9.pcap"],
        &["--from", "netflow", "fixtures/netflow/softflowd-v10.pcap"],
        &["fixtures/netflow/softflowd-v10.ipfix"],
        &["fixtures/netflow/softflowd-v10-bidir.ipfix"],
    ] {
        let (v, code, err) = audit(args);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        let (flows, k) = by_kind(&v);
        assert_eq!(flows, 38, "{args:?}");
        for kind in ["denied", "missing", "failed", "discouraged"] {
            assert_eq!(k[kind], w[kind], "{args:?} {kind}");
        }
        assert_eq!(k["over_latency"], 0, "{args:?}");
        assert_eq!(k["reversed"], 0, "{args:?}");
        let limits: Vec<&str> = v["record_inputs"][0]["limits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["what"].as_str().unwrap())
            .collect();
        assert_eq!(limits[0], "over_latency", "{args:?}");
        assert!(limits.contains(&"failed (TCP state)"), "{args:?}");
    }
    // A router's exports and the capture: one set of flows, the capture's records kept.
    let (v, _, _) = audit(&[PCAP, "fixtures/netflow/softflowd-v10-bidir.ipfix"]);
    assert_eq!(findings(&v), findings(&whole));
    assert_eq!(v["summary"]["duplicates_merged"], 38);
}

#[test]
fn softflowd_exports_to_flowaudit_listening() {
    // Real softflowd reading the HAS sample exports NetFlow v9 to `flows --listen` on
    // loopback: the records equal those read from the recorded exports of the same run
    // (fixtures/netflow/softflowd-v9.pcap, made the same way).
    if !common::may_run(
        "softflowd_exports_to_flowaudit_listening",
        std::process::Command::new("softflowd")
            .arg("-h")
            .output()
            .err()
            .map(|e| format!("softflowd: {e}")),
    ) {
        return;
    }
    let d = scratch("listen");
    let out = d.join("received.jsonl");
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let mut listener = std::process::Command::new(env!("CARGO_BIN_EXE_flowaudit"))
        .current_dir(root())
        .args([
            "flows",
            "-q",
            "--listen",
            &format!("udp://127.0.0.1:{port}"),
            "--duration",
            "6s",
            "-o",
            out.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let s = std::process::Command::new("softflowd")
        .current_dir(root().join("fixtures/has"))
        .args([
            "-d",
            "-a",
            "-r",
            "has.pcap",
            "-n",
            &format!("127.0.0.1:{port}"),
            "-v",
            "9",
        ])
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    assert!(listener.wait().unwrap().success());
    let expected = d.join("recorded.jsonl");
    flows(
        &["--from", "netflow", "fixtures/netflow/softflowd-v9.pcap"],
        &expected,
    );
    let key = |p: &Path| {
        let mut v: Vec<(String, u64, u64, String)> = std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                let r: Value = serde_json::from_str(l).unwrap();
                (
                    r["community_id"].as_str().unwrap().to_string(),
                    r["orig_pkts"].as_u64().unwrap(),
                    r["resp_pkts"].as_u64().unwrap(),
                    r["conn_state"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let got = key(&out);
    assert_eq!(got.len(), 38);
    assert_eq!(got, key(&expected));
}

#[test]
fn eve_and_vpc_logs_audit_end_to_end() {
    let rules = ["--rules", "fixtures/records/sources.toml"];
    let run_json = |input: &str| {
        let o = run(&[&["audit", "--format", "json"][..], &rules, &[input]].concat());
        (
            serde_json::from_str::<Value>(&stdout(&o)).unwrap(),
            o.status.code(),
        )
    };
    // VPC: the REJECT is a failed attempt with that reason; the ACCEPTed one-way records
    // without TCP flags are not called failed (and the report says so).
    let (v, code) = run_json("fixtures/records/vpc/default.log");
    assert_eq!(code, Some(1));
    assert_eq!(v["summary"]["flows"], 3);
    let f = findings(&v);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["kind"], "failed");
    assert_eq!(f[0]["rule"], "admin-rdp");
    assert_eq!(f[0]["outcomes"]["vpc REJECT"], 1);
    let input = &v["record_inputs"][0];
    assert_eq!(input["format"], "aws-vpc");
    assert_eq!(input["skipped"].as_object().unwrap().len(), 2);
    assert!(
        input["limits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["what"] == "failed (TCP)")
    );
    // EVE: flow and netflow events of one flow are one flow; three flows no rule allows.
    let (v, code) = run_json("fixtures/records/eve/eve.json");
    assert_eq!(code, Some(1));
    assert_eq!(v["summary"]["flows"], 5);
    assert_eq!(v["summary"]["findings_by_kind"]["unexpected"], 3);
    assert_eq!(v["record_inputs"][0]["format"], "suricata-eve");
    assert_eq!(v["record_inputs"][0]["pairing"]["halves"], 10);
}
