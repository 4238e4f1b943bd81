//! Input layouts shared by the targets.
//!
//! A frame input starts with a 4-byte selector: the link type (u16, little-endian) and the
//! difference between the wire length and the captured length (i16, little-endian), then the
//! frame's bytes. A link type number that is not in `decode::linktype::REGISTRY` picks the row at
//! its value modulo the registry's length, so every row (new ones included) is reachable and a
//! seed keeps its link type when rows are added.

#![allow(dead_code)]

use flowaudit::decode::linktype::{REGISTRY, lookup};

/// Length of the selector before a frame's bytes.
pub const SELECTOR_LEN: usize = 4;

/// The link type a selector's first two bytes name.
pub fn link_type(sel: u16) -> u32 {
    let n = u32::from(sel);
    if lookup(n).is_some() {
        n
    } else {
        REGISTRY[usize::from(sel) % REGISTRY.len()].number
    }
}

/// The wire length of a frame of `caplen` captured bytes, `adjust` bytes longer (or shorter:
/// broken captures have that too).
pub fn wire_len(caplen: usize, adjust: i16) -> u32 {
    (caplen as i64 + i64::from(adjust)).clamp(0, i64::from(u32::MAX)) as u32
}

/// Splits a selector off `data`: (link type, wire length adjustment).
pub fn selector(data: &[u8]) -> Option<(u32, i16, &[u8])> {
    let (sel, rest) = data.split_first_chunk::<SELECTOR_LEN>()?;
    let lt = link_type(u16::from_le_bytes([sel[0], sel[1]]));
    let adjust = i16::from_le_bytes([sel[2], sel[3]]);
    Some((lt, adjust, rest))
}

/// A file in this process's own temporary folder (in memory where /dev/shm exists), for the
/// entry points that open paths.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("flowaudit-fuzz-{}", std::process::id()));
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| sweep(&base));
    let _ = std::fs::create_dir_all(&dir);
    dir.join(name)
}

/// Removes the folders of fuzzing processes that have ended (libFuzzer ends a process without
/// running destructors, so each run leaves its folder behind).
fn sweep(base: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("flowaudit-fuzz-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
