//! Live capture on the loopback interface: real kernel TCP and UDP traffic made by the test
//! itself (to 127.0.0.1 only), captured by `flowaudit --interface lo`, and checked against
//! flowaudit reading back its own `--write` file; and the errors a live capture can meet.
//!
//! Capturing needs root (or CAP_NET_RAW). Without it the capturing tests print `live test
//! SKIPPED: ...` on standard error and pass, unless `FLOWAUDIT_LAB=required` (CI), which makes
//! a skip a failure.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_flowaudit")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether this process may capture; prints the skip line when not.
fn may_capture(test: &str) -> bool {
    let why = common::not_root().map(|why| format!("needs root to capture ({why})"));
    common::may_run(&format!("live test ({test})"), why)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowaudit-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Waits until `path` exists (the capture is open: --write creates its file once the
/// interfaces are open), at most 10 s.
fn wait_for(path: &Path, child: &mut Child) {
    let start = Instant::now();
    while !path.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("flowaudit ended before capturing: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // libpcap's ring is live once the file is there; a little slack for the task to start.
    std::thread::sleep(Duration::from_millis(200));
}

/// Real kernel traffic on loopback, to ports the listeners got: `n` TCP connections (request,
/// reply, close) and `n` UDP exchanges. Returns (tcp port, udp port).
fn traffic(n: usize) -> (u16, u16) {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (tp, up) = (
        tcp.local_addr().unwrap().port(),
        udp.local_addr().unwrap().port(),
    );
    let server = std::thread::spawn(move || {
        for _ in 0..n {
            let (mut s, _) = tcp.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(b"world!").unwrap();
        }
    });
    for _ in 0..n {
        let mut c = TcpStream::connect(("127.0.0.1", tp)).unwrap();
        c.write_all(b"hello").unwrap();
        let mut buf = Vec::new();
        c.read_to_end(&mut buf).unwrap();
        assert_eq!(buf, b"world!");
    }
    server.join().unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..n {
        client.send_to(b"ping", ("127.0.0.1", up)).unwrap();
        let mut buf = [0u8; 16];
        let (len, from) = udp.recv_from(&mut buf).unwrap();
        udp.send_to(&buf[..len], from).unwrap();
        client.recv_from(&mut buf).unwrap();
    }
    (tp, up)
}

fn interrupt(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT");
}

fn finish(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

/// Starts `flows -i lo --filter FILTER -w PCAP`, and waits until it captures.
fn start_flows(filter: &str, pcap: &Path) -> Child {
    let mut child = Command::new(bin())
        .args(["flows", "-i", "lo", "--filter", filter, "-w"])
        .arg(pcap)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(pcap, &mut child);
    child
}

/// `flows --interface lo`, stopped by SIGINT: every flow of the traffic, the same records as
/// flowaudit reading its own --write file, libpcap's counters on stderr.
#[test]
fn flows_on_loopback_match_the_written_capture() {
    if !may_capture("flows_on_loopback") {
        return;
    }
    let d = tmp("flows");
    let pcap = d.join("lo.pcap");
    // The listeners' ports are not known before: capture the loopback's TCP and UDP, and keep
    // this test's flows by port afterwards.
    let child = start_flows("tcp or udp", &pcap);
    let (tp, up) = traffic(3);
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    let o = finish(child);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("flowaudit: wrote {}", pcap.display())),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l.starts_with("capture lo: ")
            && l.ends_with(" packets received by filter, 0 packets dropped by kernel, 0 packets dropped by interface")),
        "{err}"
    );
    let live = text(&o.stdout);
    // The file holds the same packets: reading it gives the same records, in the same order.
    let back = Command::new(bin())
        .arg("flows")
        .arg("-q")
        .arg(&pcap)
        .output()
        .unwrap();
    assert_eq!(text(&back.stdout), live);
    // This test's flows: 3 TCP connections (SF) and 3 UDP exchanges (one flow per client
    // port: the client kept one socket, so one UDP flow of 3 datagrams each way). TCP and UDP
    // ports are separate spaces: another test's UDP socket may have the TCP listener's port
    // number (and the other way round), so each protocol is kept by its own port.
    let all: Vec<serde_json::Value> = live
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .collect();
    let tcp: Vec<_> = all
        .iter()
        .filter(|r| r["proto"] == "tcp" && r["id.resp_p"] == tp)
        .collect();
    let udp: Vec<_> = all
        .iter()
        .filter(|r| r["proto"] == "udp" && r["id.resp_p"] == up)
        .collect();
    assert_eq!(tcp.len(), 3, "{live}");
    for r in &tcp {
        assert_eq!(r["conn_state"], "SF", "{r}");
        assert_eq!(
            (r["orig_bytes"].as_u64(), r["resp_bytes"].as_u64()),
            (Some(5), Some(6)),
            "{r}"
        );
        assert_eq!(r["direction_inferred"], false, "{r}");
    }
    assert_eq!(udp.len(), 1, "{live}");
    assert_eq!(
        (udp[0]["orig_pkts"].as_u64(), udp[0]["resp_pkts"].as_u64()),
        (Some(3), Some(3))
    );
    std::fs::remove_dir_all(&d).ok();
}

/// `audit --interface lo` with --count: stops by itself after that many packets; the report,
/// --flows-out and --findings-out are written, and auditing the --write file gives the same
/// findings.
#[test]
fn audit_on_loopback_stops_at_count_and_matches_offline() {
    if !may_capture("audit_on_loopback") {
        return;
    }
    let d = tmp("audit");
    // A matrix that allows nothing on loopback: every flow is unexpected.
    let rules = d.join("r.toml");
    std::fs::write(
        &rules,
        "name = \"none\"\n[roles]\nweb = { hosts = [\"192.0.2.80\"] }\nany = { hosts = [\"any\"] }\n\
         [[flows]]\nname = \"web\"\nfrom = \"any\"\nto = \"web\"\nproto = \"tcp\"\nports = [80]\n",
    )
    .unwrap();
    let (pcap, report, flows, findings) = (
        d.join("lo.pcap"),
        d.join("report.json"),
        d.join("flows.jsonl"),
        d.join("findings.jsonl"),
    );
    // 3 TCP connections of 10 packets each (SYN, SYN/ACK, ACK, data, ACK, data, FIN... as the
    // kernel sends them) would be over 20 packets: stop at 20.
    let mut child = Command::new(bin())
        .args([
            "audit", "-q", "--format", "json", "-i", "lo", "--count", "20", "--filter",
        ])
        .arg("tcp and host 127.0.0.1")
        .arg("--rules")
        .arg(&rules)
        .arg("-o")
        .arg(&report)
        .arg("--flows-out")
        .arg(&flows)
        .arg("--findings-out")
        .arg(&findings)
        .arg("-w")
        .arg(&pcap)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&pcap, &mut child);
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        traffic(1);
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "--count did not stop it"
        );
    }
    let o = finish(child);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let live: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(live["captures"][0]["path"], "interface lo");
    assert_eq!(live["captures"][0]["packets"], 20, "{}", live["captures"]);
    assert_eq!(live["captures"][0]["live"]["dropped"], 0);
    let n = live["summary"]["flows"].as_u64().unwrap();
    assert!(n >= 2, "{}", live["summary"]);
    assert_eq!(
        std::fs::read_to_string(&flows).unwrap().lines().count() as u64,
        n
    );
    // Every finding raised once.
    let raised = std::fs::read_to_string(&findings).unwrap();
    assert_eq!(
        raised.lines().count(),
        live["findings"].as_array().unwrap().len()
    );
    // With one interface, the file holds exactly the packets the live audit took: auditing it
    // gives the same findings, uids and times included.
    let back = Command::new(bin())
        .args(["audit", "-q", "--format", "json", "--rules"])
        .arg(&rules)
        .arg(&pcap)
        .output()
        .unwrap();
    let offline: serde_json::Value = serde_json::from_str(&text(&back.stdout)).unwrap();
    assert_eq!(offline["captures"][0]["packets"], 20);
    assert_eq!(offline["findings"], live["findings"]);
    assert_eq!(offline["summary"], live["summary"]);
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn interfaces_lists_loopback() {
    let o = Command::new(bin()).arg("interfaces").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lo = out
        .lines()
        .find(|l| l.starts_with("lo "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        lo.contains("up") && lo.contains("loopback") && lo.contains("127.0.0.1"),
        "{lo}"
    );
}

#[test]
fn unknown_interface_is_named_with_the_list() {
    let o = Command::new(bin())
        .args(["flows", "-i", "nosuch0", "--duration", "1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("flowaudit: no interface named 'nosuch0'; the interfaces are: "),
        "{err}"
    );
    assert!(
        err.contains("lo") && err.contains("`flowaudit interfaces`"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn bad_filter_on_an_interface_is_a_usage_error() {
    if !may_capture("bad_filter") {
        return;
    }
    let o = Command::new(bin())
        .args([
            "flows",
            "-i",
            "lo",
            "--filter",
            "tcp and nonsense",
            "--duration",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("flowaudit: invalid --filter 'tcp and nonsense': "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Without the capability (an unprivileged user), one line with the setcap command.
#[test]
fn no_permission_names_the_capability() {
    if !may_capture("no_permission") {
        return;
    }
    // Run as nobody, with no capabilities, on a copy of the binary nobody can execute.
    let d = tmp("perm");
    let copy = d.join("flowaudit");
    std::fs::copy(bin(), &copy).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&copy)
        .args(["flows", "-i", "lo", "--duration", "1"])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&d).ok();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("flowaudit: no permission to capture on lo ("),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "sudo setcap cap_net_raw,cap_net_admin=eip {}",
            copy.display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn live_options_need_an_interface() {
    let o = Command::new(bin())
        .args(["flows", "--duration", "1s"])
        .arg(root().join("fixtures/has/has.pcap"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stderr),
        "flowaudit: --duration is for live capture: give it with --interface IF\n"
    );
    let o = Command::new(bin())
        .args(["flows", "-i", "lo", "--rotate-files", "3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stderr),
        "flowaudit: --rotate-files rotates the --write files: give it with --write FILE\n"
    );
}

/// A second Ctrl-C while the capture is stopping ends it at once: exit 130, no statistics, the
/// records already written flushed.
#[test]
fn second_interrupt_stops_at_once() {
    if !may_capture("second_interrupt") {
        return;
    }
    let d = tmp("twice");
    let pcap = d.join("lo.pcap");
    let child = start_flows("tcp", &pcap);
    traffic(2);
    interrupt(&child);
    // The first one drains the rings for a block timeout (200 ms): the second comes within it.
    std::thread::sleep(Duration::from_millis(50));
    interrupt(&child);
    let o = finish(child);
    assert_eq!(o.status.code(), Some(130), "{}", text(&o.stderr));
    assert!(
        !text(&o.stderr).contains("packets received by filter"),
        "{}",
        text(&o.stderr)
    );
    std::fs::remove_dir_all(&d).ok();
}

/// The status line is drawn on a terminal (here a pseudo-terminal made by `script`), and
/// never when stderr is not one.
#[test]
fn status_line_only_on_a_terminal() {
    if !may_capture("status_line") {
        return;
    }
    if Command::new("script").arg("--version").output().is_err() {
        panic!("live test needs `script` (util-linux) for a pseudo-terminal");
    }
    let cmd = format!(
        "{} flows -i lo --filter tcp --duration 2.5 -o /dev/null",
        bin()
    );
    let o = Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let tty = text(&o.stdout);
    assert!(tty.contains("00:00:01  "), "{tty}");
    assert!(
        tty.contains(" packets (") && tty.contains(" open flows") && tty.contains(" dropped"),
        "{tty}"
    );
    // Not a terminal: statistics at the end only.
    let o = Command::new(bin())
        .args([
            "flows",
            "-i",
            "lo",
            "--filter",
            "tcp",
            "--duration",
            "1.5",
            "-o",
            "/dev/null",
        ])
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert!(!err.contains("open flows") && !err.contains('\r'), "{err}");
    assert!(err.contains("capture lo: "), "{err}");
}

/// Two interfaces of a router in network namespaces (`tests/lab/router.sh`): one flow table,
/// a connection crossing both is one flow, and the two --write files read back together give
/// the live run's records.
#[test]
fn router_on_two_interfaces_is_one_flow_table() {
    if !may_capture("router") {
        return;
    }
    if !common::may_run("live test (router)", common::no_netns()) {
        return;
    }
    let d = tmp("router");
    let o = Command::new("bash")
        .arg(root().join("tests/lab/router.sh"))
        .arg(bin())
        .arg(&d)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "router.sh failed:\n{}\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    std::fs::remove_dir_all(&d).ok();
}
