//! The link-type fixtures (fixtures/linktypes, see its README): for every capture, `flowaudit
//! flows -q` prints exactly NAME.expected.jsonl (every field of every record), its statistics
//! count the frames that carry no IP by why, and, when tshark is installed, tshark's
//! conversations agree with the records: same endpoints and frames per direction as
//! `tshark -q -z conv,tcp -z conv,udp`, and the same IP bytes per direction summed from
//! tshark's own `ip.len` / `ipv6.plen` fields (its conversation table counts frame bytes, which
//! include each link type's header).

mod common;

use common::{read, root, run};

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// Every capture, and the statistics lines (after "not in a flow") its summary must hold.
const CAPTURES: &[(&str, &[&str])] = &[
    (
        "ppp",
        &["not in a flow: 1 packets", "  non-ip: ppp 0xc021 1"],
    ),
    (
        "ppp-hdlc",
        &["not in a flow: 1 packets", "  non-ip: ppp 0xc021 1"],
    ),
    (
        "cisco-hdlc",
        &["not in a flow: 1 packets", "  non-ip: rarp 1"],
    ),
    (
        "ieee80211",
        &[
            "not in a flow: 3 packets",
            "  link layer, no ip: 802.11 encrypted 1, 802.11 no payload 2",
        ],
    ),
    (
        "radiotap",
        &[
            "not in a flow: 1 packets",
            "  link layer, no ip: 802.11 no payload 1",
        ],
    ),
    (
        "ppi",
        &[
            "not in a flow: 1 packets",
            "  link layer, no ip: 802.11 encrypted 1",
        ],
    ),
    ("pktap", &["not in a flow: 0 packets"]),
    (
        "nflog-gen",
        &["not in a flow: 1 packets", "  non-ip: address family 7 1"],
    ),
    ("nflog", &["not in a flow: 0 packets"]),
    ("ipoib", &["not in a flow: 0 packets"]),
    ("fddi", &["not in a flow: 0 packets"]),
    (
        "arcnet-bsd",
        &[
            "not in a flow: 1 packets",
            "  link layer, no ip: arcnet protocol 0xd5 1",
        ],
    ),
    ("arcnet-linux", &["not in a flow: 0 packets"]),
    ("sll-radiotap", &["not in a flow: 0 packets"]),
    ("sll-llc", &["not in a flow: 0 packets"]),
    ("sll2-ppp", &["not in a flow: 0 packets"]),
    ("sll-gre", &["not in a flow: 0 packets"]),
    ("fabricpath", &["not in a flow: 0 packets"]),
    ("pbb", &["not in a flow: 0 packets"]),
    (
        "macsec-gen",
        &[
            "not in a flow: 1 packets",
            "  link layer, no ip: macsec encrypted 1",
        ],
    ),
];

#[test]
fn records_equal_the_expected_files() {
    for (name, _) in CAPTURES {
        let o = run(&["flows", "-q", &format!("fixtures/linktypes/{name}.pcap")]);
        assert_eq!(o.status.code(), Some(0), "{name}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), "", "{name}");
        let got = String::from_utf8(o.stdout).expect("utf-8");
        let want = read(&format!("fixtures/linktypes/{name}.expected.jsonl"));
        let (g, w): (Vec<_>, Vec<_>) = (got.lines().collect(), want.lines().collect());
        for (i, (a, b)) in g.iter().zip(w.iter()).enumerate() {
            assert_eq!(a, b, "{name}: record {} differs", i + 1);
        }
        assert_eq!(g.len(), w.len(), "{name}: record count");
    }
}

/// The generated captures carry the standard connection and DNS exchange (see
/// fixtures/synthetic/README.md): checked here from the expected files, field by field, so that
/// an expected file cannot drift from what the generator wrote.
#[test]
fn generated_captures_hold_the_standard_flows() {
    for (name, _) in CAPTURES {
        if *name == "nflog" {
            continue;
        }
        let recs = records(&read(&format!("fixtures/linktypes/{name}.expected.jsonl")));
        assert_eq!(recs.len(), 2, "{name}");
        let (t, u) = (&recs[0], &recs[1]);
        let get = |r: &Value, k: &str| r[k].to_string();
        for (k, v) in [
            ("id.orig_h", "\"10.0.0.1\""),
            ("id.resp_h", "\"10.0.0.2\""),
            ("id.resp_p", "80"),
            ("proto", "\"tcp\""),
            ("conn_state", "\"SF\""),
            ("history", "\"ShADdFaf\""),
            ("orig_pkts", "6"),
            ("orig_ip_bytes", "344"),
            ("resp_pkts", "4"),
            ("resp_ip_bytes", "364"),
            ("orig_bytes", "100"),
            ("resp_bytes", "200"),
        ] {
            assert_eq!(get(t, k), v, "{name} tcp {k}");
        }
        for (k, v) in [
            ("id.orig_h", "\"2001:db8::1\""),
            ("id.resp_h", "\"2001:db8::2\""),
            ("id.resp_p", "53"),
            ("proto", "\"udp\""),
            ("orig_pkts", "1"),
            ("orig_ip_bytes", "88"),
            ("resp_pkts", "1"),
            ("resp_ip_bytes", "168"),
        ] {
            assert_eq!(get(u, k), v, "{name} udp {k}");
        }
        let vlan = if *name == "pbb" { "[100]" } else { "[]" };
        assert_eq!(get(t, "vlan"), vlan, "{name}");
    }
}

#[test]
fn frames_without_ip_are_counted_by_why() {
    for (name, want) in CAPTURES {
        let o = run(&["flows", &format!("fixtures/linktypes/{name}.pcap")]);
        assert_eq!(o.status.code(), Some(0), "{name}");
        let err = String::from_utf8(o.stderr).expect("utf-8");
        let tail: Vec<&str> = err
            .lines()
            .skip_while(|l| !l.starts_with("not in a flow"))
            .collect();
        assert_eq!(&tail, want, "{name}: {err}");
    }
}

fn records(jsonl: &str) -> Vec<Value> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect()
}

fn tshark(args: &[&str]) -> Option<String> {
    let o = Command::new("tshark").args(args).output().ok()?;
    assert!(o.status.success(), "tshark {args:?} failed");
    Some(String::from_utf8(o.stdout).expect("utf-8"))
}

/// (source ip, source port, destination ip, destination port) of one direction.
type Dir = (String, u16, String, u16);

/// From one tshark run over `pcap`: frames and IP bytes per direction of every TCP and UDP
/// packet, from its fields; and its conversation table, (A, port A, B, port B) -> (frames B to
/// A, frames A to B).
#[allow(clippy::type_complexity)]
fn tshark_view(pcap: &str) -> Option<(BTreeMap<Dir, (u64, u64)>, BTreeMap<Dir, (u64, u64)>)> {
    let fields = [
        "ip.src",
        "ipv6.src",
        "ip.dst",
        "ipv6.dst",
        "tcp.srcport",
        "udp.srcport",
        "tcp.dstport",
        "udp.dstport",
        "ip.len",
        "ipv6.plen",
    ];
    let mut args = vec![
        "-r",
        pcap,
        "-Y",
        "tcp or udp",
        "-T",
        "fields",
        "-E",
        "separator=|",
    ];
    for f in &fields {
        args.extend(["-e", f]);
    }
    args.extend(["-z", "conv,tcp", "-z", "conv,udp"]);
    let out = tshark(&args)?;
    let mut dirs = BTreeMap::new();
    let mut convs = BTreeMap::new();
    for line in out.lines() {
        if line.contains("<->") {
            let w: Vec<&str> = line.split_whitespace().collect();
            let ep = |s: &str| {
                let (ip, port) = s.rsplit_once(':').expect("ip:port");
                (ip.to_string(), port.parse::<u16>().expect("port"))
            };
            let (a, b) = (ep(w[0]), ep(w[2]));
            let n = |s: &str| s.parse::<u64>().expect("a frame count");
            convs.insert((a.0, a.1, b.0, b.1), (n(w[3]), n(w[6])));
            continue;
        }
        let c: Vec<&str> = line.split('|').collect();
        if c.len() != fields.len() {
            continue;
        }
        let pick = |a: &str, b: &str| {
            if a.is_empty() {
                b.to_string()
            } else {
                a.to_string()
            }
        };
        let port = |a: &str, b: &str| pick(a, b).parse::<u16>().expect("a port");
        let ip_bytes: u64 = if c[8].is_empty() {
            c[9].parse::<u64>().expect("ipv6.plen") + 40
        } else {
            c[8].parse().expect("ip.len")
        };
        let d = (
            pick(c[0], c[1]),
            port(c[4], c[5]),
            pick(c[2], c[3]),
            port(c[6], c[7]),
        );
        let e = dirs.entry(d).or_insert((0, 0));
        e.0 += 1;
        e.1 += ip_bytes;
    }
    Some((dirs, convs))
}

#[test]
fn tshark_agrees_with_every_record() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("tshark not installed: cross-check skipped");
        return;
    }
    for (name, _) in CAPTURES {
        let pcap = root().join(format!("fixtures/linktypes/{name}.pcap"));
        let pcap = pcap.to_str().expect("utf-8 path");
        let (dirs, convs) = tshark_view(pcap).expect("tshark");
        let recs = records(&read(&format!("fixtures/linktypes/{name}.expected.jsonl")));
        assert_eq!(convs.len(), recs.len(), "{name}: conversations");
        for r in &recs {
            let s = |k: &str| r[k].as_str().expect(k).to_string();
            let p = |k: &str| r[k].as_u64().expect(k) as u16;
            let n = |k: &str| r[k].as_u64().expect(k);
            let fwd = (
                s("id.orig_h"),
                p("id.orig_p"),
                s("id.resp_h"),
                p("id.resp_p"),
            );
            let rev = (fwd.2.clone(), fwd.3, fwd.0.clone(), fwd.1);
            let tf = dirs.get(&fwd).copied().unwrap_or_default();
            let tr = dirs.get(&rev).copied().unwrap_or_default();
            assert_eq!(tf, (n("orig_pkts"), n("orig_ip_bytes")), "{name}: {fwd:?}");
            assert_eq!(tr, (n("resp_pkts"), n("resp_ip_bytes")), "{name}: {rev:?}");
            // The conversation table, whichever way round tshark lists the endpoints.
            let frames = match (convs.get(&fwd), convs.get(&rev)) {
                (Some(&(to_a, from_a)), _) => (from_a, to_a),
                (None, Some(&(to_b, from_b))) => (to_b, from_b),
                _ => panic!("{name}: no tshark conversation for {fwd:?}"),
            };
            assert_eq!(frames, (n("orig_pkts"), n("resp_pkts")), "{name}: {fwd:?}");
        }
    }
}
