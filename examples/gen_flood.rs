//! A flood as a Zeek TSV conn.log, for the size test of the HTML report (tests/html.rs includes
//! this file as a module and calls [`write_flood`]) and for `bench/html.sh` (which runs it as an
//! example):
//!
//! ```text
//! cargo run --release --example gen_flood -- N OUT   # N rows (3000000 if not given) to OUT (- : stdout)
//! ```
//!
//! Judged by `rules/hopex.toml` with `fixtures/has/inventory.toml`, every row is a finding:
//! - a scan: one client (10.30.0.1, in no role) to [`SCAN_PORTS`] ports (1, 2, ...) of the HAS
//!   server 10.20.0.21, each connection rejected (`REJ`); ports 49152 and up fall under the
//!   denied rule `has-dynamic-cross-server` (role `anyhost`), the others under no rule;
//! - a flood: the other rows, each from its own client (10.64.0.0 and up, distinct addresses)
//!   to the IIS server 10.20.0.10 on port 8080, which no rule names, an unanswered SYN (`S0`).
//!
//! Rows are in time order, one microsecond apart, from 1795000000 (2026-11-18T11:06:40Z).
//! About 80 bytes a row: 3 million rows are about 240 MB.

use std::io::{self, Write};

/// Ports the scan's client tries (so many rows of the total).
pub const SCAN_PORTS: u64 = 60_000;

const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n\
#path\tconn\n#open\t2026-11-18-11-06-40\n\
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tconn_state\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n\
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tcount\tcount\tcount\tcount\n";

/// What a flood holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flood {
    pub rows: u64,
    pub scan_rows: u64,
    pub flood_rows: u64,
}

/// Writes `rows` rows (the scan first, then the flood) with the header and `#close`.
pub fn write_flood<W: Write>(out: W, rows: u64) -> io::Result<Flood> {
    let mut w = io::BufWriter::with_capacity(1 << 20, out);
    w.write_all(HEADER.as_bytes())?;
    let scan_rows = rows.min(SCAN_PORTS);
    let t0: u64 = 1_795_000_000;
    let mut line = Vec::with_capacity(128);
    for i in 0..rows {
        line.clear();
        let (secs, micros) = (t0 + i / 1_000_000, i % 1_000_000);
        write!(line, "{secs}.{micros:06}\tF{i:x}\t")?;
        if i < scan_rows {
            let port = i + 1;
            let cport = 40_000 + (i % 20_000);
            writeln!(
                line,
                "10.30.0.1\t{cport}\t10.20.0.21\t{port}\ttcp\tREJ\tSr\t1\t60\t1\t40"
            )?;
        } else {
            // Distinct clients: 10.64.0.0 + n (n < 2^22 keeps them in 10.64.0.0/10).
            let n = i - scan_rows;
            let a = 0x0A40_0000u32 + (n as u32 & 0x003F_FFFF);
            let cport = 1024 + (n % 60_000);
            writeln!(
                line,
                "{}.{}.{}.{}\t{cport}\t10.20.0.10\t8080\ttcp\tS0\tS\t1\t60\t0\t0",
                a >> 24,
                (a >> 16) & 255,
                (a >> 8) & 255,
                a & 255
            )?;
        }
        w.write_all(&line)?;
    }
    w.write_all(b"#close\t2026-11-18-11-06-43\n")?;
    w.flush()?;
    Ok(Flood {
        rows,
        scan_rows,
        flood_rows: rows - scan_rows,
    })
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: u64 = match args.first() {
        Some(n) => n
            .replace('_', "")
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("rows '{n}': {e}")))?,
        None => 3_000_000,
    };
    let out = args.get(1).map_or("-", String::as_str);
    let f = if out == "-" {
        write_flood(io::stdout().lock(), rows)?
    } else {
        write_flood(std::fs::File::create(out)?, rows)?
    };
    eprintln!(
        "gen_flood: {} rows ({} scan, {} flood) to {out}",
        f.rows, f.scan_rows, f.flood_rows
    );
    Ok(())
}
