//! The HAS lab audited live: `tests/lab/live.sh` builds the lab of `fixtures/has/lab.sh` in
//! network namespaces, captures its traffic with `flowaudit audit --interface` on the lab's bridge,
//! stops it with SIGINT and checks the report, `--flows-out`, `--findings-out` and `--write`
//! against the committed recording's report (`fixtures/has/expected-report.json`).
//!
//! It needs root, network namespaces and a flowaudit built with live capture. Without them the
//! test prints `lab test SKIPPED: ...` on standard error and passes, unless
//! `FLOWAUDIT_LAB=required` (CI), which makes a skip a failure. `FLOWAUDIT_LAB=off` skips it on
//! purpose.

mod common;

use std::process::Command;
use std::time::Instant;

/// Whether the binary captures live (`audit --interface`); with `LAB_CAPTURE=tcpdump` the script
/// captures with tcpdump and audits the file instead.
fn live_capture(bin: &str) -> bool {
    if std::env::var("LAB_CAPTURE").is_ok_and(|c| c == "tcpdump") {
        return true;
    }
    Command::new(bin)
        .args(["audit", "--help"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--interface"))
}

#[test]
fn has_lab_audited_live() {
    let mode = std::env::var("FLOWAUDIT_LAB").unwrap_or_default();
    if mode == "off" {
        eprintln!("lab test SKIPPED: FLOWAUDIT_LAB=off");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_flowaudit");
    let why = common::not_root()
        .or_else(common::no_netns)
        .map(|why| format!("needs root and network namespaces ({why})"))
        .or_else(|| {
            (!live_capture(bin))
                .then(|| "this build has no live capture (flowaudit audit --interface)".to_string())
        });
    if !common::may_run("lab test", why) {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/live.sh");
    let start = Instant::now();
    // A hung lab ends after 5 minutes (SIGTERM: the script cleans up), or 20 s later (SIGKILL).
    let out = Command::new("timeout")
        .args(["-k", "20", "300", "bash", script, bin])
        .output()
        .expect("run tests/lab/live.sh");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "tests/lab/live.sh failed ({}) after {secs:.1} s\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("lab test passed in {secs:.1} s");
}
