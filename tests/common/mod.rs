//! What the tests that need root and network namespaces share: why they cannot run here, and how
//! a test that cannot run says so.
//!
//! Such a test prints `... SKIPPED: why` on standard error and passes, unless
//! `FLOWAUDIT_LAB=required` (CI), which makes a skip a failure.
//!
//! `chromium`: headless Chromium for the HTML report's tests (tests/html.rs).

#![allow(dead_code)]

pub mod chromium;

use std::process::Command;

/// Why this process is not root, if it is not.
pub fn not_root() -> Option<String> {
    match Command::new("id").arg("-u").output() {
        Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "0" => None,
        Ok(o) => Some(format!(
            "running as uid {}",
            String::from_utf8_lossy(&o.stdout).trim()
        )),
        Err(e) => Some(format!("id -u: {e}")),
    }
}

/// Why network namespaces cannot be made here, if they cannot: a namespace of our own is made
/// and deleted at once (no lab's names are touched).
pub fn no_netns() -> Option<String> {
    let probe = format!("fa-probe-{}", std::process::id());
    match Command::new("ip").args(["netns", "add", &probe]).output() {
        Err(e) => Some(format!("no ip command: {e}")),
        Ok(o) if !o.status.success() => Some(format!(
            "ip netns add failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => {
            let _ = Command::new("ip").args(["netns", "del", &probe]).output();
            None
        }
    }
}

/// True when the test may run; otherwise prints `WHAT SKIPPED: why` (or panics under
/// `FLOWAUDIT_LAB=required`) and returns false.
pub fn may_run(what: &str, why: Option<String>) -> bool {
    let Some(why) = why else { return true };
    let msg = format!("{what} SKIPPED: {why}");
    if std::env::var("FLOWAUDIT_LAB").is_ok_and(|m| m == "required") {
        panic!("{msg}, and FLOWAUDIT_LAB=required");
    }
    eprintln!("{msg}");
    false
}

/// The repository root.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary, run from the repository root so that paths in messages are relative.
pub fn flowaudit() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("flowaudit").expect("flowaudit binary");
    c.current_dir(root());
    c
}

/// Runs the binary with `args` from the repository root.
pub fn run(args: &[&str]) -> std::process::Output {
    flowaudit().args(args).output().expect("run flowaudit")
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

/// A file of the repository, by its path from the root.
pub fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Asserts line by line, so that a failure names the first differing record.
pub fn assert_lines(got: &str, want: &str, what: &str) {
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
