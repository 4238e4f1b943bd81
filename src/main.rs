//! The `flowaudit` command: arguments and wiring only; the work is in the library.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use flowaudit::audit::{self, AuditOptions, Auditor};
use flowaudit::capture::live;
use flowaudit::capture::savefile::Rotation;
use flowaudit::capture::{self, CaptureError, Discovery};
use flowaudit::decode::{ChecksumMode, TunnelConfig};
use flowaudit::engine::live::{LiveHooks, LiveOptions};
use flowaudit::engine::{self, Outcome};
use flowaudit::flow::{
    DEFAULT_MAX_FLOWS, FlowConfig, FlowRecord, FlowSink, NS, NoServerPorts, ServerPorts,
};
use flowaudit::pipeline::live::{AuditHooks, ReportFormat, ReportStyle, StatusLine};
use flowaudit::pipeline::{self, AuditSink};
use flowaudit::records::Format;
use flowaudit::report::audit::{AuditDoc, CaptureEvidence};
use flowaudit::report::{self, RecordWriter, Verdicted, records};
use flowaudit::rules::{Rules, RulesError, Severity};

/// Exit status: success (audit: no finding reaches --fail-on).
const EXIT_OK: u8 = 0;
/// Exit status: the audit has a finding at or above --fail-on.
const EXIT_FINDINGS: u8 = 1;
/// Exit status: bad usage (arguments, filter expression, rules or inventory file, output file).
const EXIT_USAGE: u8 = 2;
/// Exit status: an unreadable or corrupt capture (what was read before the damage is reported).
const EXIT_CAPTURE: u8 = 3;
/// Exit status: a live capture stopped by a second Ctrl-C (128 + SIGINT): no report.
const EXIT_ABORTED: u8 = 130;

/// `--from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FromArg {
    /// Recognise each input by its content.
    Auto,
    /// Packet captures (pcap, pcapng) only.
    Pcap,
    /// Zeek conn.log, TSV.
    ZeekTsv,
    /// Zeek conn.log, JSON lines.
    ZeekJson,
    /// flowaudit's JSON lines (`flows`, `--flows-out`).
    Flowaudit,
    /// Suricata EVE JSON.
    Eve,
    /// AWS VPC flow logs.
    Vpc,
    /// RFC 5655 IPFIX files.
    Ipfix,
    /// Captures of NetFlow v5/v9/IPFIX export packets.
    Netflow,
}

/// `udp://ADDR:PORT`.
fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    let rest = s
        .strip_prefix("udp://")
        .ok_or_else(|| format!("'{s}': give udp://ADDR:PORT, e.g. udp://0.0.0.0:2055"))?;
    rest.parse()
        .map_err(|e| format!("'{s}': {e}; give udp://ADDR:PORT, e.g. udp://[::]:4739"))
}

/// `--checksums`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ChecksumArg {
    Ignore,
    Count,
    Drop,
}

#[derive(Parser)]
#[command(
    name = "flowaudit",
    version,
    about = "Passive packet-capture flow auditor: rebuilds every TCP/UDP flow from captures and checks them against an allowed-flow matrix"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rebuild every TCP/UDP flow and print one record per flow as each flow ends.
    Flows(FlowsArgs),
    /// Judge every flow against an allowed-flow matrix and report what does not conform.
    Audit(AuditArgs),
    /// Validate a rules file (and inventory) and print the matrix.
    CheckRules(CheckRulesArgs),
    /// List the interfaces flowaudit can capture on, with their addresses and state.
    Interfaces,
}

/// What to read, shared by `flows` and `audit`.
#[derive(clap::Args)]
struct InputArgs {
    /// Capture files (pcap or pcapng), directories (every capture in them, found by content),
    /// or `-` for standard input. Several files are one capture, read in order of their first
    /// packet's time; files whose time spans overlap (one per interface) are merged by packet
    /// time.
    ///
    /// Flow-record logs are read too, found by content: Zeek conn.log (TSV or JSON lines),
    /// flowaudit's own JSON lines, Suricata EVE JSON (flow and netflow events), AWS VPC flow
    /// logs, RFC 5655 IPFIX files; plain or gzip.
    #[arg(
        required_unless_present_any = ["interface", "listen"],
        conflicts_with_all = ["interface", "listen"],
        value_name = "FILE|DIR|-"
    )]
    inputs: Vec<PathBuf>,
    /// Read every input as this format instead of recognising it: `netflow` reads captures
    /// of NetFlow v5/v9/IPFIX export packets as the flow records they carry; `pcap` reads
    /// captures only.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "auto")]
    from: FromArg,
    /// Receive NetFlow v5/v9/IPFIX exports on this UDP address (`udp://0.0.0.0:2055`) for
    /// --duration, then audit what was received.
    #[arg(long, value_name = "udp://ADDR:PORT", value_parser = parse_listen, requires = "duration", conflicts_with = "interface")]
    listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    live: LiveArgs,
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
    /// A TCP flow closed (FIN both ways, or a RST) ends this long after its last packet; until
    /// then stray packets still count in it (seconds, Zeek's tcp_close_delay 5).
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = parse_seconds)]
    linger: f64,
    /// The most flows open at once. When the table is full, the flow idle the longest is ended
    /// early, its record marked "evicted": true, and counted in the statistics. Each open flow
    /// takes about 400 bytes; 0 means no limit. Flow-record inputs keep to it too: each input's
    /// pairing of one-way records (the entry due first ends early, marked evicted) and the
    /// records held for duplicates (the record due first leaves the merge early, about 230
    /// bytes each; the report counts them).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FLOWS)]
    max_flows: usize,
    /// A UDP port that carries VXLAN besides 4789 (Linux's own default is 8472); may be given
    /// up to 8 times.
    #[arg(long = "vxlan-port", value_name = "PORT")]
    vxlan_ports: Vec<u16>,
    /// IPv4 header, TCP and UDP checksums: "ignore" (default, as tshark: captures taken on a
    /// sending host carry offloaded, not yet filled in, checksums), "count" (verify; count bad
    /// ones per flow and in the statistics) or "drop" (verify; a bad packet does not advance
    /// its flow and adds history C/c, as Zeek does by default).
    #[arg(long, value_enum, default_value = "ignore")]
    checksums: ChecksumArg,
    /// Flow-record inputs: how long a record waits for another input's record of the same
    /// connection (same Community ID, overlapping times), to merge them into one flow: at least
    /// how far one input's records can lag another's (seconds; default the longest idle
    /// timeout plus 60). Memory grows with the records ending within it, up to --max-flows;
    /// with one input nothing waits.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    merge_window: Option<f64>,
    /// Do not print capture statistics or progress on standard error.
    #[arg(short, long)]
    quiet: bool,
}

/// Live capture, shared by `flows` and `audit`.
#[derive(clap::Args)]
struct LiveArgs {
    /// Capture live on this interface instead of reading files (repeat it for several: one
    /// flow table, packets merged by time; `any`: every interface). Needs root or the
    /// CAP_NET_RAW capability (see the README). Runs until Ctrl-C or SIGTERM (open flows then
    /// end and the report is written, as for a file; a second Ctrl-C stops at once), or
    /// --duration, or --count.
    #[arg(short = 'i', long = "interface", value_name = "IF")]
    interface: Vec<String>,
    /// Bytes kept of each frame (live; default 262144, whole frames). 128 is enough for flows
    /// and lightens the kernel's work, but --write then keeps frames cut to that length.
    #[arg(long, value_name = "BYTES")]
    snaplen: Option<u32>,
    /// Kernel capture buffer per interface (live), MiB (default 32): room for bursts while
    /// flowaudit is busy. Packets that find it full are dropped and counted.
    #[arg(long, value_name = "MIB")]
    buffer_size: Option<usize>,
    /// Do not put the interfaces in promiscuous mode (see only the host's own traffic; a
    /// mirror port's traffic needs promiscuous mode).
    #[arg(long)]
    no_promisc: bool,
    /// Stop after this long (live): `90s`, `10m`, `2h`, `7d`, or seconds.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Stop after this many packets (live, every interface together).
    #[arg(short = 'c', long, value_name = "N")]
    count: Option<u64>,
    /// Keep the captured packets in this pcap file (live), to re-audit any finding offline.
    /// With several interfaces, one file each: `FILE-IF.pcap`.
    #[arg(short = 'w', long, value_name = "FILE")]
    write: Option<PathBuf>,
    /// Start a new --write file when the current one reaches this many megabytes (millions of
    /// bytes, as tcpdump's -C). Rotated files are named after their first packet's time.
    #[arg(long, value_name = "MB")]
    rotate_size: Option<u64>,
    /// Start a new --write file every DURATION of the clock (`1h`: on the hour, as
    /// tcpdump's -G).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    rotate_every: Option<Duration>,
    /// Keep at most this many --write files: the oldest is deleted (as tcpdump's -W).
    #[arg(long, value_name = "N")]
    rotate_files: Option<usize>,
}

impl LiveArgs {
    /// An option given that means nothing without another: live options without
    /// --interface, rotation without --write.
    fn misplaced(&self, listen: bool) -> Option<String> {
        let live = [
            (self.snaplen.is_some(), "--snaplen"),
            (self.buffer_size.is_some(), "--buffer-size"),
            (self.no_promisc, "--no-promisc"),
            (self.duration.is_some(), "--duration"),
            (self.count.is_some(), "--count"),
            (self.write.is_some(), "--write"),
        ];
        let rotation = [
            (self.rotate_size.is_some(), "--rotate-size"),
            (self.rotate_every.is_some(), "--rotate-every"),
            (self.rotate_files.is_some(), "--rotate-files"),
        ];
        if self.interface.is_empty()
            && let Some((_, name)) = live
                .iter()
                .filter(|o| !(o.1 == "--duration" && listen))
                .find(|o| o.0)
        {
            return Some(format!(
                "{name} is for live capture: give it with --interface IF"
            ));
        }
        if self.write.is_none()
            && let Some((_, name)) = rotation.iter().find(|o| o.0)
        {
            return Some(format!(
                "{name} rotates the --write files: give it with --write FILE"
            ));
        }
        None
    }
}

/// The matrix, shared by the commands that judge flows.
#[derive(clap::Args)]
struct RulesArgs {
    /// An inventory file: `[roles]` with `role = ["10.0.0.5", "10.0.1.0/24"]`, filling or
    /// replacing the hosts of the rules' roles.
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FlowsFormat {
    /// One JSON object per line per flow, with Zeek conn.log field names.
    Json,
    /// A Zeek TSV conn.log (#fields/#types header), readable by zeek-cut.
    Zeek,
}

#[derive(clap::Args)]
struct FlowsArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Write the records to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: FlowsFormat,
    /// Judge each flow against this rules file: records gain `rule` and `verdict`, and the
    /// rules' server ports take part in direction inference.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    #[command(flatten)]
    matrix: RulesArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuditFormat {
    /// A report for people: findings grouped by kind, most severe first.
    Text,
    /// One JSON document (see the README for its fields).
    Json,
    /// One self-contained HTML page for people who do not read JSON: the matrix of roles,
    /// expected against observed; pictures; the findings, filterable; the evidence. Opens
    /// offline (nothing is fetched) and prints to PDF.
    Html,
    /// The matrix alone as an SVG picture, to paste into a document.
    Svg,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    /// Exit 1 when a finding of severity error is reported.
    Error,
    /// Exit 1 when any finding (error or warning) is reported.
    Warning,
    /// Never exit 1 for findings.
    Never,
}

#[derive(clap::Args)]
struct AuditArgs {
    #[command(flatten)]
    input: InputArgs,
    /// The allowed-flow matrix (rules/*.toml).
    #[arg(long, value_name = "FILE")]
    rules: PathBuf,
    #[command(flatten)]
    matrix: RulesArgs,
    /// Write the report to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: AuditFormat,
    /// The least severe finding that makes the exit status 1.
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOn,
    /// Also write every judged flow to this file (`-`: standard output) as a JSON line: its
    /// record, rule, verdict and the kind of finding it counts in, so that every number of
    /// the report can be traced to flows.
    #[arg(long, value_name = "FILE|-")]
    flows_out: Option<PathBuf>,
    /// Also write each finding the first time it is raised (by the flow that first counts in
    /// it; missing and average-bandwidth findings at the end) to this file (`-`: standard
    /// output) as a JSON line: `ts`, `uid`, and the report's `kind`, `severity`, `rule`,
    /// `proto`, `src_role`, `src_ip`, `dst_role`, `dst_ip`, `dst_port` (and `rollup`).
    #[arg(long, value_name = "FILE|-")]
    findings_out: Option<PathBuf>,
    /// Leave tunnel-endpoint flows (UDP flows that carried VXLAN, GENEVE, GTP-U, Teredo, AYIYA
    /// or MPLS in UDP: `service` set in their records) out of the verdicts and findings; they
    /// are counted apart (JSON report: summary.tunnel_endpoints_not_judged; --flows-out: verdict
    /// not_judged). The flows inside the tunnels are judged either way.
    #[arg(long)]
    skip_tunnel_endpoints: bool,
    /// Findings of one kind and rule from this many distinct clients to one server port roll up
    /// into one finding (a flood, or a service the matrix forgot), with the flow count, the
    /// distinct clients, the top clients and the prefixes that cover them.
    #[arg(long, value_name = "N", default_value_t = AuditOptions::default().rollup_clients)]
    rollup_clients: usize,
    /// Findings of one kind and rule from one client to this many distinct servers or ports
    /// roll up into one finding (a scan), with the distinct servers and ports, the top ones and
    /// the port ranges.
    #[arg(long, value_name = "N", default_value_t = AuditOptions::default().rollup_targets)]
    rollup_targets: usize,
    /// Length of a roll-up's top lists.
    #[arg(long, value_name = "N", default_value_t = AuditOptions::default().top)]
    top: usize,
    /// Distinct hosts a roll-up counts exactly (about 34 bytes per IPv4 host, twice that for
    /// IPv6); past it the count is estimated (HyperLogLog, ~0.8 %) and marked so.
    #[arg(long, value_name = "N", default_value_t = AuditOptions::default().exact_hosts)]
    exact_hosts: usize,
    /// Rows per kind of finding in the text report; the rest are counted in one line (the JSON
    /// report and --flows-out have them all).
    #[arg(long, value_name = "N", default_value_t = report::audit::DEFAULT_TEXT_ROWS)]
    max_rows: usize,
    /// Also write the report so far every DURATION (live, on multiples of it: `1d` at
    /// midnight UTC), beside the -o file, named after the time: `report-20261129T000000Z.txt`
    /// for `-o report.txt`. Open flows count as they are at that moment.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    report_every: Option<Duration>,
}

#[derive(clap::Args)]
struct CheckRulesArgs {
    /// The rules file to check.
    #[arg(value_name = "RULES")]
    rules: PathBuf,
    #[command(flatten)]
    matrix: RulesArgs,
}

/// `90s`, `10m`, `2h`, `7d`, or plain seconds (fractions allowed).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let scale = match unit {
        's' => 1.0,
        'm' => 60.0,
        'h' => 3600.0,
        'd' => 86_400.0,
        _ => return Err(format!("'{s}': the unit must be s, m, h or d")),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v * scale < 1e9 => {
            Ok(Duration::from_secs_f64(v * scale))
        }
        _ => Err(format!(
            "'{s}' is not a positive duration (90s, 10m, 2h, 7d)"
        )),
    }
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
        Command::Audit(args) => audit(args),
        Command::CheckRules(args) => check_rules(args),
        Command::Interfaces => interfaces(),
    }
}

/// Prints a capture error and returns the exit status it calls for.
fn report_error(e: &CaptureError) -> u8 {
    eprintln!("flowaudit: {e}");
    match e {
        CaptureError::Filter { .. }
        | CaptureError::Permission { .. }
        | CaptureError::NoInterface { .. } => EXIT_USAGE,
        _ => EXIT_CAPTURE,
    }
}

/// Prints a rules error (file:line:column, the line, a hint).
fn rules_error(e: &RulesError) -> u8 {
    eprintln!("flowaudit: {e}");
    EXIT_USAGE
}

fn load_rules(path: &Path, m: &RulesArgs, complete: bool) -> Result<Rules, u8> {
    let rules = Rules::load(path, m.inventory.as_deref()).map_err(|e| rules_error(&e))?;
    if complete {
        rules.check_complete().map_err(|e| rules_error(&e))?;
    }
    Ok(rules)
}

/// Opens the output: a file, or standard output (none, or `-`).
fn output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write + Send>> {
    Ok(match path {
        Some(p) if p.as_os_str() != "-" => Box::new(BufWriter::with_capacity(
            1 << 16,
            File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        // Not locked: the records may be written on another thread (a write of the buffer takes
        // the lock).
        _ => Box::new(BufWriter::with_capacity(1 << 16, io::stdout())),
    })
}

/// The inputs found on the command line: captures, and flow-record logs.
struct Found {
    captures: Discovery,
    records: Vec<pipeline::records::RecordInput>,
    /// Named files that are neither.
    unknown: Vec<flowaudit::records::RecordsError>,
}

impl Found {
    /// Looks at the FILE|DIR|- arguments (none for a live capture).
    fn new(args: &InputArgs) -> Found {
        use pipeline::records::From;
        let mut found = Found {
            captures: Discovery::default(),
            records: Vec::new(),
            unknown: Vec::new(),
        };
        if !args.live.interface.is_empty() {
            return found;
        }
        if let (Some(addr), Some(d)) = (args.listen, args.live.duration) {
            match pipeline::records::listen(addr, d) {
                Ok(i) => found.records.push(i),
                Err(e) => found.unknown.push(e),
            }
            return found;
        }
        found.captures = capture::discover(&args.inputs);
        let from = match args.from {
            FromArg::Pcap => return found,
            FromArg::Netflow => {
                let (r, e) = pipeline::records::export_captures(&found.captures.inputs);
                found.captures.inputs.clear();
                found.records = r;
                found.unknown = e;
                return found;
            }
            FromArg::Auto => From::Auto,
            FromArg::ZeekTsv => From::Lines(Format::ZeekTsv),
            FromArg::ZeekJson => From::Lines(Format::ZeekJson),
            FromArg::Flowaudit => From::Lines(Format::FlowauditJson),
            FromArg::Eve => From::Lines(Format::SuricataEve),
            FromArg::Vpc => From::Lines(Format::VpcFlowLog),
            FromArg::Ipfix => From::IpfixFile,
        };
        let (records, unknown) = pipeline::records::find(&mut found.captures, from);
        found.records = records;
        found.unknown = unknown;
        found
    }

    fn has_records(&self) -> bool {
        !self.records.is_empty()
    }
}

/// How long a record is held for another input's duplicate (`--merge-window`): by default the
/// longest idle timeout plus a minute (an input's records may come that much later than
/// another's).
fn hold_ns(args: &InputArgs) -> i64 {
    let secs = args
        .merge_window
        .unwrap_or(args.tcp_idle.max(args.udp_idle) + 60.0);
    (secs * NS as f64) as i64
}

/// What was read from the inputs besides the flows, with the exit status their errors call for.
struct Inputs {
    found: Discovery,
    outcome: Outcome,
    /// What the flow-record inputs gave, when there were any.
    records: Option<pipeline::records::RecordsOutcome>,
    /// SHA-256 of each input, in `inputs` order, when asked for (None: standard input).
    sha256: Vec<Option<String>>,
    status: u8,
    /// A live capture stopped by a second signal: nothing more is to be written.
    aborted: bool,
}

/// Reads the inputs (capture -> decode -> flow -> `sink`): files (see [`read_files`]), or live
/// interfaces until stopped, with `hooks` called while the capture runs. Input errors are
/// reported on stderr.
fn read_inputs<S: FlowSink + Send>(
    args: &InputArgs,
    found: Found,
    servers: &(dyn ServerPorts + Sync),
    seconds: bool,
    sink: &mut S,
    hash: bool,
    hooks: &mut dyn LiveHooks<S>,
) -> Result<Inputs, u8> {
    if let Some(m) = args.live.misplaced(args.listen.is_some()) {
        eprintln!("flowaudit: {m}");
        return Err(EXIT_USAGE);
    }
    let tunnels = match TunnelConfig::with_vxlan_ports(&args.vxlan_ports) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("flowaudit: --vxlan-port: {e}");
            return Err(EXIT_USAGE);
        }
    };
    let flow = FlowConfig {
        tcp_idle_ns: (args.tcp_idle * NS as f64) as i64,
        udp_idle_ns: (args.udp_idle * NS as f64) as i64,
        linger_ns: (args.linger * NS as f64) as i64,
        max_flows: args.max_flows,
        seconds,
        checksums: match args.checksums {
            ChecksumArg::Ignore => ChecksumMode::Ignore,
            ChecksumArg::Count => ChecksumMode::Count,
            ChecksumArg::Drop => ChecksumMode::Drop,
        },
    };
    if args.live.interface.is_empty() {
        let opts = engine::Options {
            filter: args.filter.clone(),
            flow,
            tunnels,
        };
        return read_files(args, found, opts, servers, sink, hash);
    }
    let l = &args.live;
    let opts = LiveOptions {
        interfaces: l.interface.clone(),
        capture: live::LiveConfig {
            snaplen: l.snaplen.unwrap_or(live::DEFAULT_SNAPLEN).max(1),
            buffer_bytes: l
                .buffer_size
                .map_or(live::DEFAULT_BUFFER_BYTES, |m| m.saturating_mul(1 << 20)),
            promisc: !l.no_promisc,
            filter: args.filter.clone(),
        },
        flow,
        tunnels,
        duration: l.duration,
        count: l.count,
        write: l.write.clone().map(|p| {
            let rotation = Rotation {
                max_bytes: l.rotate_size.map(|mb| mb.saturating_mul(1_000_000)),
                every_ns: l
                    .rotate_every
                    .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
                max_files: l.rotate_files,
            };
            (p, rotation)
        }),
    };
    let run = match engine::live::run(&opts, servers, sink, hooks) {
        Ok(r) => r,
        Err(e) => return Err(report_error(&e)),
    };
    let mut status = EXIT_OK;
    for e in &run.outcome.errors {
        status = status.max(report_error(e));
    }
    if !args.quiet {
        for p in &run.saved {
            eprintln!("flowaudit: wrote {}", p.display());
        }
    }
    let n = run.outcome.inputs.len();
    Ok(Inputs {
        found: Discovery::default(),
        outcome: run.outcome,
        records: None,
        sha256: vec![None; n],
        status,
        aborted: run.aborted,
    })
}

/// Finds and reads the inputs (capture -> decode -> flow -> `sink`), reporting input errors on
/// stderr. With `hash`, each input file's SHA-256 is computed while the captures are read.
fn read_files(
    args: &InputArgs,
    found: Found,
    opts: engine::Options,
    servers: &(dyn ServerPorts + Sync),
    sink: &mut (dyn FlowSink + Send),
    hash: bool,
) -> Result<Inputs, u8> {
    if let Some(f) = &args.filter
        && let Err(e) = capture::check_filter(f)
    {
        return Err(report_error(&e));
    }
    let mut status = EXIT_OK;
    for e in &found.unknown {
        eprintln!("flowaudit: {e}");
        status = EXIT_CAPTURE;
    }
    let Found {
        captures: found,
        records,
        ..
    } = found;
    for e in &found.errors {
        status = status.max(report_error(e));
    }
    if !records.is_empty() {
        return Ok(read_records(
            args, found, records, opts, servers, sink, hash, status,
        ));
    }
    if found.inputs.is_empty() && found.errors.is_empty() && status == EXIT_OK {
        eprintln!(
            "flowaudit: no capture or flow-record log found in {}",
            args.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        status = EXIT_CAPTURE;
    }
    let bar = progress_bar(&found.inputs, args.quiet);
    let (outcome, hashes) = pipeline::read(&found.inputs, &opts, servers, sink, hash, &mut |n| {
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
    let sha256 = hashes
        .into_iter()
        .map(|h| match h {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                eprintln!("flowaudit: {e}");
                None
            }
            None => None,
        })
        .collect();
    Ok(Inputs {
        found,
        outcome,
        records: None,
        sha256,
        status,
        aborted: false,
    })
}

/// Reads flow-record inputs (and the captures beside them) into `sink`, reporting input errors
/// on stderr.
#[allow(clippy::too_many_arguments)]
fn read_records(
    args: &InputArgs,
    found: Discovery,
    records: Vec<pipeline::records::RecordInput>,
    opts: engine::Options,
    servers: &(dyn ServerPorts + Sync),
    sink: &mut (dyn FlowSink + Send),
    hash: bool,
    mut status: u8,
) -> Inputs {
    let cfg = pipeline::records::RecordsConfig {
        tcp_idle_ns: opts.flow.tcp_idle_ns,
        udp_idle_ns: opts.flow.udp_idle_ns,
        linger_ns: opts.flow.linger_ns,
        hold_ns: hold_ns(args),
        max_open: opts.flow.max_flows,
        seconds: opts.flow.seconds,
    };
    let mut packet_opts = opts;
    packet_opts.flow.seconds = false;
    let captures = (!found.inputs.is_empty()).then(|| pipeline::records::Captures {
        inputs: &found.inputs,
        opts: &packet_opts,
    });
    let mut out = pipeline::records::read(records, captures, &cfg, servers, sink, hash);
    for e in &out.errors {
        eprintln!("flowaudit: {e}");
        status = EXIT_CAPTURE;
    }
    for e in &out.hash_errors {
        eprintln!("flowaudit: {e}");
    }
    let outcome = out.packets.take().unwrap_or_default();
    for e in &outcome.errors {
        status = status.max(report_error(e));
    }
    let sha256 = std::mem::take(&mut out.capture_sha256);
    Inputs {
        found,
        outcome,
        records: Some(out),
        sha256,
        status,
        aborted: false,
    }
}

impl Inputs {
    /// The latest packet or record time read.
    fn last_ts_ns(&self) -> Option<i64> {
        let records = self.records.as_ref().and_then(|r| r.last_ts_ns);
        self.outcome.last_ts_ns().max(records)
    }
}

/// Capture statistics on stderr, unless quiet.
fn print_stats(args: &InputArgs, read: &Inputs) -> anyhow::Result<()> {
    if args.quiet {
        return Ok(());
    }
    for p in &read.found.skipped_non_captures {
        eprintln!(
            "flowaudit: skipped {}: neither a pcap or pcapng capture nor a flow-record log",
            p.display()
        );
    }
    let o = &read.outcome;
    let stderr = io::stderr();
    let mut err = stderr.lock();
    if let Some(r) = &read.records {
        report::write_records_stats(&mut err, &r.inputs, r.flows, r.merge)?;
        if o.inputs.is_empty() {
            return Ok(());
        }
    }
    report::write_stats(&mut err, &o.inputs, &o.stats, &o.table, &o.icmp)?;
    Ok(())
}

fn flows(args: FlowsArgs) -> anyhow::Result<u8> {
    let rules = match &args.rules {
        Some(p) => match load_rules(p, &args.matrix, true) {
            Ok(r) => Some(r),
            Err(code) => return Ok(code),
        },
        None if args.matrix.inventory.is_some() => {
            eprintln!("flowaudit: --inventory needs --rules");
            return Ok(EXIT_USAGE);
        }
        None => None,
    };
    let out = output(args.output.as_deref())?;
    let format = match args.format {
        FlowsFormat::Json => report::FlowFormat::Json,
        FlowsFormat::Zeek => report::FlowFormat::Zeek,
    };
    let servers: &(dyn ServerPorts + Sync) = match &rules {
        Some(r) => r,
        None => &NoServerPorts,
    };
    let judge: Option<records::Judge<'_>> = rules.as_ref().map(|rules| {
        Box::new(move |r: &FlowRecord| {
            let j = audit::judge(rules, r);
            Verdicted {
                rule: j.rule.map(|i| rules.rules[i].name.as_str()),
                verdict: j.verdict.name(),
                audit: None,
            }
        }) as records::Judge<'_>
    });
    let mut writer = RecordWriter::new(out, format, judge);
    let mut line = StatusLine::new(status_line(&args.input));
    let found = Found::new(&args.input);
    let read = read_inputs(
        &args.input,
        found,
        servers,
        false,
        &mut writer,
        false,
        &mut line,
    );
    line.clear();
    let read = match read {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if read.aborted {
        let _ = writer.finish(None);
        return Ok(EXIT_ABORTED);
    }
    writer
        .finish(read.last_ts_ns())
        .map(drop)
        .or_else(ignore_broken_pipe)
        .context("cannot write the flow records")?;
    print_stats(&args.input, &read)?;
    Ok(read.status)
}

fn audit(args: AuditArgs) -> anyhow::Result<u8> {
    let rules = match load_rules(&args.rules, &args.matrix, true) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let stdout_users = [
        args.output.is_none() || args.output.as_ref().is_some_and(|p| p.as_os_str() == "-"),
        args.flows_out
            .as_ref()
            .is_some_and(|p| p.as_os_str() == "-"),
        args.findings_out
            .as_ref()
            .is_some_and(|p| p.as_os_str() == "-"),
    ];
    if args.report_every.is_some()
        && (args.input.live.interface.is_empty() || args.output.is_none())
    {
        eprintln!(
            "flowaudit: --report-every is for live capture and names its reports after the report's file: give it with --interface IF and -o FILE"
        );
        return Ok(EXIT_USAGE);
    }
    if stdout_users.iter().filter(|&&u| u).count() > 1 {
        eprintln!(
            "flowaudit: only one of the report (-o), --flows-out and --findings-out can go to standard output: give the others a file"
        );
        return Ok(EXIT_USAGE);
    }
    let mut out = output(args.output.as_deref())?;
    let flows_out = args
        .flows_out
        .as_deref()
        .map(|p| output(Some(p)))
        .transpose()?;
    let findings_out = args
        .findings_out
        .as_deref()
        .map(|p| output(Some(p)))
        .transpose()?;
    let found = Found::new(&args.input);
    let defaults = AuditOptions::default();
    let opts = AuditOptions {
        // Records' seconds come when the record ends, up to the hold time late: the window
        // keeps that many seconds open so that they land in their own second.
        bandwidth_window: if found.has_records() {
            defaults
                .bandwidth_window
                .max((hold_ns(&args.input) / NS) as usize)
        } else {
            defaults.bandwidth_window
        },
        skip_tunnel_endpoints: args.skip_tunnel_endpoints,
        rollup_clients: args.rollup_clients,
        rollup_targets: args.rollup_targets,
        top: args.top,
        exact_hosts: args.exact_hosts,
    };
    let mut sink = AuditSink::new(&rules, Auditor::new(&rules, opts), flows_out, findings_out);
    let style = ReportStyle {
        format: match args.format {
            AuditFormat::Text => ReportFormat::Text,
            AuditFormat::Json => ReportFormat::Json,
            AuditFormat::Html => ReportFormat::Html,
            AuditFormat::Svg => ReportFormat::Svg,
        },
        max_rows: args.max_rows,
        max_flows: args.input.max_flows,
    };
    let mut hooks = AuditHooks::new(
        StatusLine::new(status_line(&args.input)),
        args.report_every,
        args.output.clone(),
        style.clone(),
        args.input.live.interface.clone(),
    );
    let read = read_inputs(
        &args.input,
        found,
        &rules,
        true,
        &mut sink,
        true,
        &mut hooks,
    );
    hooks.line.clear();
    if let Some(e) = &hooks.error {
        eprintln!("flowaudit: {e}");
    }
    let read = match read {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if read.aborted {
        return Ok(EXIT_ABORTED);
    }
    let end = sink.finish(read.last_ts_ns());
    end.flows_out
        .or_else(ignore_broken_pipe)
        .context("cannot write the judged flows (--flows-out)")?;
    end.findings_out
        .or_else(ignore_broken_pipe)
        .context("cannot write the raised findings (--findings-out)")?;
    let auditor = end.auditor;
    let result = auditor.finish();

    let captures: Vec<CaptureEvidence> = read
        .outcome
        .inputs
        .iter()
        .enumerate()
        .map(|(i, s)| CaptureEvidence {
            summary: s.clone(),
            sha256: read.sha256.get(i).cloned().flatten(),
        })
        .collect();
    let (record_inputs, merge) = read
        .records
        .as_ref()
        .map_or((&[][..], Default::default()), |r| (&r.inputs[..], r.merge));
    let doc = AuditDoc {
        rules: &rules,
        result: &result,
        captures: &captures,
        records: record_inputs,
        merge,
        table: read.outcome.table,
        max_flows: args.input.max_flows,
    };
    let color = args.output.is_none() && io::stdout().is_terminal();
    pipeline::live::write_report(&mut out, &doc, &style, color)
        .or_else(ignore_broken_pipe)
        .context("cannot write the report")?;
    print_stats(&args.input, &read)?;

    if read.status != EXIT_OK {
        return Ok(read.status);
    }
    let fails = match args.fail_on {
        FailOn::Error => result.reaches(Severity::Error),
        FailOn::Warning => result.reaches(Severity::Warning),
        FailOn::Never => false,
    };
    Ok(if fails { EXIT_FINDINGS } else { EXIT_OK })
}

fn check_rules(args: CheckRulesArgs) -> anyhow::Result<u8> {
    let rules = match load_rules(&args.rules, &args.matrix, false) {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let mut out = io::stdout().lock();
    report::audit::write_matrix(&mut out, &rules)
        .and_then(|_| out.flush())
        .or_else(ignore_broken_pipe)
        .context("cannot write the matrix")?;
    Ok(EXIT_OK)
}

/// A closed pipe (`flowaudit flows x.pcap | head`) is not an error.
fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

/// Whether a live capture shows its status line: on a terminal, unless quiet.
fn status_line(args: &InputArgs) -> bool {
    !args.live.interface.is_empty() && !args.quiet && io::stderr().is_terminal()
}

/// Lists the interfaces with their addresses and state.
fn interfaces() -> anyhow::Result<u8> {
    let list = match live::interfaces() {
        Ok(l) => l,
        Err(e) => return Ok(report_error(&e)),
    };
    let mut out = io::stdout().lock();
    report::write_interfaces(&mut out, &list)
        .and_then(|_| out.flush())
        .or_else(ignore_broken_pipe)
        .context("cannot write the list")?;
    Ok(EXIT_OK)
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
