//! Application protocols of real traffic: `fixtures/services/services.pcap` (real servers and
//! clients recorded between namespaces by `fixtures/services/record.sh`: nginx and curl, OpenSSL,
//! OpenSSH, Samba and smbclient, aiosmtpd and smtplib, dnsmasq and dig, slapd and ldapsearch, the
//! MIT KDC and kinit, aioquic, xrdp and FreeRDP, FreeTDS against a scripted responder).
//!
//! Every identified field is checked against tshark's dissectors, the independent reading:
//! `fixtures/services/tshark.tsv` (made by `crosscheck.py`) holds, per flow, the protocols tshark
//! dissected and its TLS fields (`tls.handshake.version`, the highest
//! `tls.handshake.extensions.supported_version`, the ServerHello's choice,
//! `tls.handshake.extensions_server_name`). Where flowaudit answers differently from tshark it is
//! by design, and the test says so: QUIC's TLS handshake is inside encrypted Initial packets,
//! which tshark decrypts and flowaudit does not read.

mod common;

use std::collections::BTreeMap;

use common::{read, root};

use assert_cmd::Command;

/// One line of tshark.tsv, by column name.
fn tshark_rows() -> Vec<BTreeMap<String, String>> {
    let text = read("fixtures/services/tshark.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// flowaudit's records of the capture, by (proto, client, server) as tshark.tsv writes them.
fn records() -> BTreeMap<(String, String, String), serde_json::Value> {
    let o = Command::cargo_bin("flowaudit")
        .unwrap()
        .current_dir(root())
        .args(["flows", "-q", "fixtures/services/services.pcap"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let ep = |h: &serde_json::Value, p: &serde_json::Value| {
        let h = h.as_str().unwrap();
        if h.contains(':') {
            format!("[{h}]:{p}")
        } else {
            format!("{h}:{p}")
        }
    };
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            let key = (
                r["proto"].as_str().unwrap().to_string(),
                ep(&r["id.orig_h"], &r["id.orig_p"]),
                ep(&r["id.resp_h"], &r["id.resp_p"]),
            );
            (key, r)
        })
        .collect()
}

/// A record's text field, `-` when absent (as tshark.tsv writes none).
fn field(r: &serde_json::Value, name: &str) -> String {
    r.get(name)
        .and_then(|v| v.as_str())
        .unwrap_or("-")
        .to_string()
}

#[test]
fn every_flow_agrees_with_tshark() {
    let rows = tshark_rows();
    let recs = records();
    assert_eq!(rows.len(), 25);
    assert_eq!(recs.len(), rows.len(), "one record per tshark stream");
    for row in &rows {
        let n = &row["flow"];
        let key = (
            row["proto"].clone(),
            row["client"].clone(),
            row["server"].clone(),
        );
        let r = recs
            .get(&key)
            .unwrap_or_else(|| panic!("flow {n}: no record for {key:?}"));
        // Services: tshark's, except where flowaudit reads only the first bytes by design.
        let tshark = row["services"].as_str();
        let want = match tshark {
            // QUIC: tshark decrypts the Initial packets and dissects the TLS inside.
            "quic,ssl" => "quic",
            s => s,
        };
        assert_eq!(field(r, "service"), want, "flow {n}: service");
        assert_eq!(
            field(r, "service"),
            row["expected"],
            "flow {n}: the design's answer"
        );
        // A flow with no service was seen from its start and is unknown, never undecided.
        let status = field(r, "service_status");
        if want == "-" {
            assert_eq!(status, "unknown", "flow {n}");
        } else {
            assert_eq!(status, "-", "flow {n}: a known service has no status");
        }
        if tshark == "quic,ssl" {
            assert_eq!(field(r, "tls_version"), "-", "flow {n}: QUIC's TLS unread");
            continue;
        }
        // The ClientHello's highest version: supported_versions, else its legacy version.
        let offered = match row["tls_offered"].as_str() {
            "-" => row["tls_hello"].as_str(),
            v => v,
        };
        assert_eq!(field(r, "tls_client_version"), offered, "flow {n}: offered");
        assert_eq!(
            field(r, "tls_version"),
            row["tls_chosen"],
            "flow {n}: chosen"
        );
        assert_eq!(field(r, "tls_sni"), row["sni"], "flow {n}: SNI");
        // A ClientHello without a ServerHello (flow 5: the server's first bytes are an
        // alert) has no chosen version.
        if row["server_hello"] == "no" {
            assert_eq!(field(r, "tls_version"), "-", "flow {n}");
            assert_ne!(field(r, "tls_client_version"), "-", "flow {n}");
        }
        assert!(
            r.get("tls_sni_cut").is_none(),
            "flow {n}: names all captured"
        );
    }
}

/// The same capture cut by a snaplen: a name past the captured bytes is reported cut (never
/// another name), a flow whose first bytes end before a decision is `cut` (undecided, never
/// unknown), and nothing panics.
#[test]
fn a_short_snaplen_cuts_names_and_first_bytes_honestly() {
    let full = records();
    let dir = std::env::temp_dir().join(format!("flowaudit-svc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = std::fs::read(root().join("fixtures/services/services.pcap")).unwrap();
    // 100 bytes leave about 34 bytes of TCP payload (Ethernet, IPv4, TCP with timestamps):
    // enough for most first lines, not for a ClientHello's server name. 90 bytes leave 24 (4 over IPv6).
    for snaplen in [100u32, 90] {
        let cut = dir.join(format!("cut{snaplen}.pcap"));
        std::fs::write(&cut, snap(&data, snaplen)).unwrap();
        let o = Command::cargo_bin("flowaudit")
            .unwrap()
            .args(["flows", "-q"])
            .arg(&cut)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        let out = String::from_utf8(o.stdout).unwrap();
        let recs: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(recs.len(), 25, "snaplen {snaplen}");
        let mut cut_flows = 0;
        for r in &recs {
            let whole = full
                .values()
                .find(|f| f["uid"] == r["uid"])
                .unwrap_or_else(|| panic!("snaplen {snaplen}: {r}"));
            let (service, status) = (field(r, "service"), field(r, "service_status"));
            if service == "-" {
                // Not decided from the cut bytes: cut, or unknown only where the whole
                // capture is unknown too.
                match status.as_str() {
                    "cut" => cut_flows += 1,
                    "unknown" => assert_eq!(field(whole, "service_status"), "unknown", "{r}"),
                    other => panic!("snaplen {snaplen}: {other}: {r}"),
                }
            } else {
                assert_eq!(service, field(whole, "service"), "snaplen {snaplen}: {r}");
            }
            // A server name is the whole capture's, or none: marked cut when the ClientHello was
            // recognised, no TLS fields at all when even the hello's first bytes were cut.
            let sni = field(r, "tls_sni");
            if sni != "-" {
                assert_eq!(sni, field(whole, "tls_sni"), "snaplen {snaplen}: {r}");
            } else if field(whole, "tls_sni") != "-" && field(r, "tls_client_version") != "-" {
                // The ClientHello was recognised but its name lay past the captured bytes.
                assert_eq!(r["tls_sni_cut"], true, "snaplen {snaplen}: {r}");
            }
        }
        if snaplen == 100 {
            for r in recs.iter().filter(|r| r["id.resp_p"] == 443) {
                assert_eq!(field(r, "service"), "ssl");
                assert_eq!(field(r, "tls_sni"), "-");
            }
        } else {
            // The IPv6 flows keep 4 payload bytes, too few for any first message; of the IPv4
            // flows, those whose first message needs more than 24 bytes to tell.
            assert_eq!(cut_flows, 7, "snaplen 90");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A pcap (microsecond, little-endian, as record.sh writes) with every frame cut to `snaplen`
/// bytes, its original length kept.
fn snap(pcap: &[u8], snaplen: u32) -> Vec<u8> {
    let mut out = pcap[..24].to_vec();
    out[16..20].copy_from_slice(&snaplen.to_le_bytes());
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let h = &pcap[at..at + 16];
        let incl = u32::from_le_bytes(h[8..12].try_into().unwrap()) as usize;
        let keep = incl.min(snaplen as usize);
        out.extend_from_slice(&h[..8]);
        out.extend_from_slice(&(keep as u32).to_le_bytes());
        out.extend_from_slice(&h[12..16]);
        out.extend_from_slice(&pcap[at + 16..at + 16 + keep]);
        at += 16 + incl;
    }
    out
}
