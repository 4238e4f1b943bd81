//! The `flowaudit` command: arguments and wiring only; the work is in the library.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use flowaudit::capture::{self, CaptureError};
use flowaudit::engine;
use flowaudit::flow::{FlowConfig, NS, NoServerPorts};
use flowaudit::report;

/// Exit status: success.
const EXIT_OK: u8 = 0;
/// Exit status: bad usage (arguments, filter expression, output file).
const EXIT_USAGE: u8 = 2;
/// Exit status: an unreadable or corrupt capture (what was read before the damage is reported).
const EXIT_CAPTURE: u8 = 3;

#[derive(Parser)]
#[command(
    name = "flowaudit",
    version,
    about = "Passive packet-capture flow auditor: rebuilds every TCP/UDP flow from captures",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rebuild every TCP/UDP flow and print one record per flow, sorted by first packet time.
    Flows(FlowsArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One JSON object per line per flow, with Zeek conn.log field names.
    Json,
    /// A Zeek TSV conn.log (#fields/#types header), readable by zeek-cut.
    Zeek,
}

#[derive(clap::Args)]
struct FlowsArgs {
    /// Capture files (pcap or pcapng), directories (every capture in them, found by content),
    /// or `-` for standard input. Several files are one capture, read in order of their first
    /// packet's time.
    #[arg(required = true, value_name = "FILE|DIR|-")]
    inputs: Vec<PathBuf>,
    /// Write the records to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Keep only packets matching this BPF filter expression (tcpdump syntax, e.g.
    /// 'host 10.0.0.5 and tcp').
    #[arg(long, value_name = "BPF")]
    filter: Option<String>,
    /// A TCP flow idle this long ends; its next packet starts a new flow (seconds, Zeek's
    /// default 300).
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0, value_parser = parse_seconds)]
    tcp_idle: f64,
    /// Same for UDP (seconds, Zeek's default 60).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = parse_seconds)]
    udp_idle: f64,
    /// Do not print capture statistics or progress on standard error.
    #[arg(short, long)]
    quiet: bool,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version print and succeed; anything else is a usage error.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("flowaudit: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Flows(args) => flows(args),
    }
}

/// Prints a capture error and returns the exit status it calls for.
fn report_error(e: &CaptureError) -> u8 {
    eprintln!("flowaudit: {e}");
    match e {
        CaptureError::Filter { .. } => EXIT_USAGE,
        _ => EXIT_CAPTURE,
    }
}

fn flows(args: FlowsArgs) -> anyhow::Result<u8> {
    if let Some(f) = &args.filter
        && let Err(e) = capture::check_filter(f)
    {
        return Ok(report_error(&e));
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(BufWriter::with_capacity(
            1 << 16,
            File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
    };

    let found = capture::discover(&args.inputs);
    let mut status = EXIT_OK;
    for e in &found.errors {
        status = status.max(report_error(e));
    }
    if found.inputs.is_empty() && found.errors.is_empty() {
        eprintln!(
            "flowaudit: no pcap or pcapng capture found in {}",
            args.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        status = EXIT_CAPTURE;
    }

    let opts = engine::Options {
        filter: args.filter.clone(),
        flow: FlowConfig {
            tcp_idle_ns: (args.tcp_idle * NS as f64) as i64,
            udp_idle_ns: (args.udp_idle * NS as f64) as i64,
        },
    };
    let bar = progress_bar(&found.inputs, args.quiet);
    let outcome = engine::read(&found.inputs, &opts, &mut |n| {
        if let Some(b) = &bar {
            b.inc(n)
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for e in &outcome.errors {
        status = status.max(report_error(e));
    }

    let icmp = outcome.table.icmp;
    let (first, last) = (outcome.first_ts_ns(), outcome.last_ts_ns());
    let format = match args.format {
        Format::Json => report::FlowFormat::Json,
        Format::Zeek => report::FlowFormat::Zeek,
    };
    let records = outcome.table.finish(&NoServerPorts);
    let counts = report::write_flows(&mut out, format, records, first, last)
        .and_then(|c| out.flush().map(|_| c))
        .or_else(|e| ignore_broken_pipe(e).map(|_| report::FlowCounts::default()))
        .context("cannot write the flow records")?;

    if !args.quiet {
        for p in &found.skipped_non_captures {
            eprintln!(
                "flowaudit: skipped {}: not a pcap or pcapng capture",
                p.display()
            );
        }
        let stderr = io::stderr();
        report::write_stats(
            &mut stderr.lock(),
            &outcome.inputs,
            &outcome.stats,
            &counts,
            &icmp,
        )?;
    }
    Ok(status)
}

/// A closed pipe (`flowaudit flows x.pcap | head`) is not an error.
fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

/// A progress bar by bytes on standard error, only when it is a terminal.
fn progress_bar(inputs: &[capture::Input], quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = inputs.iter().filter_map(|i| i.size).sum();
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    Some(bar)
}
