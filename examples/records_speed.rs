//! Reading speed of flow records (`records::Reader`), one core: the input generator and the
//! measured read that `bench/records.sh` runs.
//!
//! ```text
//! records_speed gen zeek|json SEED N OUT   # N records: SEED's records repeated, times shifted
//! records_speed read FILE                  # reads FILE, prints records, wall s, CPU s, rate
//! ```
//!
//! `gen` reads SEED (any input the reader reads: typically `flowaudit flows --format json` of
//! a real capture) and writes N records in the given format, SEED's records over and over,
//! each pass shifted by SEED's time span (plus one second) so that times keep increasing, as
//! `flowaudit flows` would write them (Zeek TSV with its header). The record mix is SEED's.
//!
//! `read` prints one tab-separated line: format, records, skipped, malformed, wall seconds,
//! CPU seconds of the reading thread, records per CPU second, and a checksum of the records
//! read (so that nothing is optimised away).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use flowaudit::flow::{FlowRecord, FlowSink};
use flowaudit::records::{Item, Reader};
use flowaudit::report::{FlowFormat, RecordWriter};

/// This thread's time on a CPU (Linux: /proc/thread-self/schedstat), ns.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn seed(path: &str) -> Result<Vec<FlowRecord>, String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut r = Reader::open(path, file).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(item) = r.next_item().map_err(|e| e.to_string())? {
        if let Item::Flow(f) = item {
            out.push(f);
        }
    }
    if out.is_empty() {
        return Err(format!("{path}: no flow record in it"));
    }
    Ok(out)
}

fn gen_records(format: &str, seed_path: &str, n: u64, out: &str) -> Result<(), String> {
    let format = match format {
        "zeek" => FlowFormat::Zeek,
        "json" => FlowFormat::Json,
        other => return Err(format!("format {other}: zeek or json")),
    };
    let records = seed(seed_path)?;
    let first = records.iter().map(|r| r.ts_ns).min().unwrap_or(0);
    let last = records
        .iter()
        .map(|r| r.ts_ns + r.duration_ns)
        .max()
        .unwrap_or(0);
    let span = last - first + 1_000_000_000;
    let file = File::create(out).map_err(|e| format!("{out}: {e}"))?;
    let mut w = RecordWriter::new(BufWriter::with_capacity(1 << 20, file), format, None);
    w.open(first);
    let mut written = 0u64;
    let mut pass = 0i64;
    let mut end = first;
    'outer: loop {
        for r in &records {
            if written == n {
                break 'outer;
            }
            let mut r = r.clone();
            r.ts_ns += pass * span;
            end = end.max(r.ts_ns + r.duration_ns);
            w.flow(&r);
            written += 1;
        }
        pass += 1;
    }
    let mut inner = w.finish(Some(end)).map_err(|e| format!("{out}: {e}"))?;
    inner.flush().map_err(|e| format!("{out}: {e}"))?;
    Ok(())
}

fn read(path: &str) -> Result<(), String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let start = Instant::now();
    let cpu_start = cpu_ns();
    let mut r = Reader::open(path, file).map_err(|e| e.to_string())?;
    let mut check = 0u64;
    while let Some(item) = r.next_item().map_err(|e| e.to_string())? {
        if let Item::Flow(f) = &item {
            check = check
                .wrapping_add(f.orig_pkts)
                .wrapping_add(f.uid.len() as u64)
                .wrapping_add(f.community_id.len() as u64);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_ns()
        .zip(cpu_start)
        .map_or(wall, |(b, a)| (b - a) as f64 / 1e9);
    let s = r.stats();
    println!(
        "{}\t{}\t{}\t{}\t{wall:.3}\t{cpu:.3}\t{:.0}\t{check}",
        r.format().name(),
        s.records,
        s.skipped_total(),
        s.malformed,
        s.records as f64 / cpu
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["gen", format, seed, n, out] => n
            .parse()
            .map_err(|_| format!("N: {n} is not a count"))
            .and_then(|n| gen_records(format, seed, n, out)),
        ["read", path] => read(path),
        _ => Err("usage: records_speed gen zeek|json SEED N OUT | records_speed read FILE".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("records_speed: {e}");
            ExitCode::from(2)
        }
    }
}
