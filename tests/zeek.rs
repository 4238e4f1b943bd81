//! Zeek's connection boundaries and states on the fixtures of `fixtures/zeek/` (written by
//! `fixtures/gen`, scenarios/zeek.rs). Each expected file holds every field of every record;
//! fixtures/zeek/README.md gives, per case, the records Zeek's semantics give and the Zeek
//! source that decides them. Packet and byte counts per conversation were cross-checked with
//! `tshark -q -z conv,tcp -z conv,udp` (where tshark draws the same boundaries) and the bad
//! checksums with tshark's checksum verification (frames 4, 13 and 15 of checksums.pcap).

mod common;

use common::{read, root};

use assert_cmd::Command;

fn flows(args: &[&str]) -> (String, String) {
    let o = Command::cargo_bin("flowaudit")
        .expect("flowaudit binary")
        .current_dir(root())
        .arg("flows")
        .args(args)
        .output()
        .expect("run flowaudit");
    assert_eq!(o.status.code(), Some(0));
    (
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

/// The records, line by line, equal the expected file; returns them parsed.
fn check(capture: &str, expected: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["-q"];
    args.extend_from_slice(extra);
    let path = format!("fixtures/zeek/{capture}");
    args.push(&path);
    let (got, _) = flows(&args);
    let want = read(&format!("fixtures/zeek/{expected}"));
    let (g, w): (Vec<_>, Vec<_>) = (got.lines().collect(), want.lines().collect());
    for (i, (a, b)) in g.iter().zip(w.iter()).enumerate() {
        assert_eq!(a, b, "{expected}: line {} differs", i + 1);
    }
    assert_eq!(g.len(), w.len(), "{expected}: number of records");
    g.iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// (client port, conn_state, history) of each record, in output order.
fn summary(r: &[serde_json::Value]) -> Vec<(u64, String, String)> {
    r.iter()
        .map(|v| {
            (
                v["id.orig_p"].as_u64().unwrap(),
                v["conn_state"].as_str().unwrap().to_string(),
                v["history"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn s(p: u64, st: &str, h: &str) -> (u64, String, String) {
    (p, st.to_string(), h.to_string())
}

#[test]
fn reuse_after_close_reset_new_isn_and_stray_packets() {
    let r = check("boundaries.pcap", "boundaries.expected.jsonl", &[]);
    assert_eq!(
        summary(&r),
        [
            s(40300, "SF", "ShADdFaf"),
            s(40301, "RSTO", "ShAR"),
            s(40302, "S1", "ShA"),
            s(40300, "RSTO", "ShR"),
            s(40301, "S0", "S"),
            s(40302, "S0", "S"),
            s(40303, "SF", "ShADdFaf"),
            s(40303, "OTH", "A"),
        ]
    );
}

#[test]
fn half_duplex_fin_closes_and_attempts_end_after_five_seconds() {
    let r = check("halfduplex.pcap", "halfduplex.expected.jsonl", &[]);
    assert_eq!(
        summary(&r),
        [
            s(40310, "SH", "SADF"),
            s(40311, "S0", "S"),
            s(40310, "OTH", "D"),
            s(40311, "S0", "S"),
        ]
    );
    // The three SYNs within 5 s of the first are one attempt.
    assert_eq!(r[1]["orig_pkts"], 3);
}

#[test]
fn likely_server_ports_orient_and_flip_with_a_caret() {
    let r = check("orientation.pcap", "orientation.expected.jsonl", &[]);
    let got: Vec<_> = r
        .iter()
        .map(|v| {
            (
                v["id.orig_p"].as_u64().unwrap(),
                v["id.resp_p"].as_u64().unwrap(),
                v["history"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (68, 67, "^dD".to_string()),
            (123, 123, "Dd".to_string()),
            (1000, 5353, "^d".to_string()),
            (40320, 443, "^dA".to_string()),
        ]
    );
}

#[test]
fn content_gap_is_history_g_and_missed_bytes() {
    let r = check("gap.pcap", "gap.expected.jsonl", &[]);
    assert_eq!(summary(&r), [s(40330, "SF", "ShADaGFf")]);
    assert_eq!(r[0]["missed_bytes"], 100);
    // Bytes counted are the ones seen.
    assert_eq!(r[0]["orig_bytes"], 200);
}

#[test]
fn checksums_ignored_counted_or_dropped() {
    let r = check("checksums.pcap", "checksums.ignore.expected.jsonl", &[]);
    assert!(r.iter().all(|v| v["bad_checksums"] == 0));
    assert_eq!(r[0]["history"], "ShADTdFaf");

    let r = check(
        "checksums.pcap",
        "checksums.count.expected.jsonl",
        &["--checksums", "count"],
    );
    let bad: Vec<_> = r.iter().map(|v| v["bad_checksums"].clone()).collect();
    assert_eq!(bad, [1, 1, 0]);
    assert_eq!(r[0]["history"], "ShADTdFaf");

    let r = check(
        "checksums.pcap",
        "checksums.drop.expected.jsonl",
        &["--checksums", "drop"],
    );
    // The bad segment does not count; the bad reply counts as a packet only; the packet
    // with a bad IPv4 header is dropped before any flow.
    assert_eq!(
        summary(&r),
        [s(40340, "SF", "ShACDdFaf"), s(53340, "SF", "Dcd")]
    );
    assert_eq!(
        (r[0]["orig_pkts"].as_u64(), r[0]["orig_bytes"].as_u64()),
        (Some(6), Some(100))
    );
    assert_eq!(
        (r[1]["resp_pkts"].as_u64(), r[1]["resp_bytes"].as_u64()),
        (Some(2), Some(120))
    );

    let (_, err) = flows(&["--checksums", "drop", "fixtures/zeek/checksums.pcap"]);
    assert!(
        err.contains(
            "bad checksums: ipv4 header 1, tcp 1, udp 1; not verifiable (cut by the snaplen) 0"
        ),
        "{err}"
    );
}

#[test]
fn generated_captures_have_good_checksums() {
    // Every other fixture was written with right checksums: none is counted bad.
    for f in ["boundaries", "halfduplex", "orientation", "gap"] {
        let (out, _) = flows(&[
            "-q",
            "--checksums",
            "count",
            &format!("fixtures/zeek/{f}.pcap"),
        ]);
        assert!(out.contains("\"bad_checksums\":0"), "{f}");
        assert!(!out.contains("\"bad_checksums\":1"), "{f}");
    }
}
