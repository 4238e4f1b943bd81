//! Live capture: interfaces -> decode -> flow -> sinks, until a signal, a duration or a count.
//!
//! tokio drives it. Each interface has a task on the runtime's worker thread that waits for
//! its ring to become readable, reads and decodes what waits there (and writes it with
//! `--write`), and sends the decoded packets in batches whose buffers come back for reuse: the
//! steady state allocates nothing per packet. The calling thread runs the flow table and the
//! sinks; it merges several interfaces by time (see [`super::merge`]), moves the table's
//! clock on a timer so that flows expire while the link is quiet, and answers signals:
//!
//! - the first SIGINT or SIGTERM stops the capture: the interfaces are drained, open flows
//!   end, and the caller writes its full report as for a file;
//! - a second one stops at once: what is buffered is flushed and nothing more is written
//!   ([`LiveOutcome::aborted`]).

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use super::Outcome;
use super::batch::{self, Batch};
use super::merge::Merge;
use crate::capture::CaptureError;
use crate::capture::live::{BLOCK_TIMEOUT_MS, Live, LiveConfig, LiveCounters};
use crate::capture::savefile::{Rotation, Savefile};
use crate::decode::TunnelConfig;
use crate::flow::{FlowConfig, FlowSink, FlowTable, ServerPorts};
use crate::stats::{InputSummary, Stats, Tally};

/// Packets per batch.
const BATCH: usize = 1024;
const _: () = assert!(BATCH <= batch::MAX);
/// Batches queued between the capture tasks and the flow thread.
const IN_FLIGHT: usize = 32;
/// How often an idle interface reports that it is still empty, and libpcap's counters.
const HEARTBEAT: Duration = Duration::from_millis(100);
/// How often the flow thread moves the table's clock and reports status.
const TICK: Duration = Duration::from_millis(250);
/// Packets the merge of several interfaces holds at most.
const MERGE_CAP: usize = 1 << 18;

/// What to capture and how.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Interface names (`any`: every interface, Linux cooked capture).
    pub interfaces: Vec<String>,
    pub capture: LiveConfig,
    pub flow: FlowConfig,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many frames (every interface together).
    pub count: Option<u64>,
    /// Keep the captured frames: the path (with several interfaces, one file each, the
    /// interface's name added to the stem), and the rotation.
    pub write: Option<(PathBuf, Rotation)>,
    /// Which UDP ports carry which tunnel.
    pub tunnels: TunnelConfig,
}

/// The state of a running capture, for a status line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Status {
    pub elapsed: Duration,
    /// Frames read, every interface together.
    pub packets: u64,
    /// Frames per second over the last status interval.
    pub rate: f64,
    pub open_flows: usize,
    /// libpcap's drop counters, every interface together.
    pub dropped: u64,
    pub if_dropped: u64,
}

/// What the caller does while the capture runs. `S` is its sink.
pub trait LiveHooks<S: FlowSink> {
    /// How often [`LiveHooks::report`] should run, if at all (aligned to multiples of it since
    /// the epoch).
    fn schedule(&self) -> Option<Duration> {
        None
    }
    /// About once a second.
    fn status(&mut self, _status: &Status, _sink: &S) {}
    /// On the [`LiveHooks::schedule`], at `now_ns`: a report of everything so far (`table`
    /// holds the open flows; see [`FlowTable::open_records`]).
    fn report(&mut self, _now_ns: i64, _sink: &S, _table: &FlowTable<'_>, _status: &Status) {}
}

/// Hooks that do nothing.
pub struct NoHooks;
impl<S: FlowSink> LiveHooks<S> for NoHooks {}

/// Everything a live capture did.
pub struct LiveOutcome {
    /// As for files; each interface is an input named `interface NAME`, with its libpcap
    /// counters.
    pub outcome: Outcome,
    /// Stopped by a second signal: open flows were not ended, nothing more should be written.
    pub aborted: bool,
    /// The files `--write` wrote (still there), oldest first.
    pub saved: Vec<PathBuf>,
}

/// Wall-clock time, ns since the epoch.
fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Opens every interface (and `--write` file), then captures into `sink` until stopped.
/// Errors opening are returned before anything is captured; an interface failing later is
/// reported in the outcome's errors and the others go on.
pub fn run<S: FlowSink>(
    opts: &LiveOptions,
    servers: &dyn ServerPorts,
    sink: &mut S,
    hooks: &mut dyn LiveHooks<S>,
) -> Result<LiveOutcome, CaptureError> {
    let mut lives = Vec::new();
    for name in &opts.interfaces {
        lives.push(Live::open(name, &opts.capture)?);
    }
    let several = lives.len() > 1;
    let mut saves = Vec::new();
    for live in &lives {
        saves.push(match &opts.write {
            None => None,
            Some((path, rotation)) => {
                let path = if several {
                    with_interface(path, live.name())
                } else {
                    path.clone()
                };
                let s = Savefile::create(&path, live.linktype(), opts.capture.snaplen, *rotation)
                    .map_err(|e| CaptureError::Open {
                    path: path.display().to_string(),
                    message: format!("cannot write the capture (--write): {e}"),
                })?;
                Some(s)
            }
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("flowaudit-capture")
        .enable_all()
        .build()
        .map_err(|e| CaptureError::Open {
            path: "live capture".into(),
            message: format!("cannot start: {e}"),
        })?;
    runtime.block_on(drive(lives, saves, opts, servers, sink, hooks))
}

/// `capture.pcap` for interface `eth0` -> `capture-eth0.pcap`.
fn with_interface(path: &std::path::Path, iface: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "capture".into(), |s| s.to_string_lossy().into_owned());
    let safe: String = iface
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{safe}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{safe}"),
    };
    path.with_file_name(name)
}

/// A batch from one interface.
struct Msg {
    iface: usize,
    packets: Batch,
    /// The interface has delivered every packet captured before this time.
    mark: Option<i64>,
    counters: Option<LiveCounters>,
}

/// What a capture task ends with.
struct TaskEnd {
    summary: InputSummary,
    error: Option<CaptureError>,
    saved: Vec<PathBuf>,
}

/// The flow side: the table, the merge of several interfaces, and what the status line shows.
struct FlowSide<'a> {
    table: FlowTable<'a>,
    /// With several interfaces.
    merge: Option<Merge>,
    /// With one interface: the time before which it has delivered everything.
    mark: i64,
    counters: Vec<LiveCounters>,
    status: Status,
    count: Option<u64>,
}

impl<'a> FlowSide<'a> {
    fn new(n: usize, opts: &LiveOptions, servers: &'a dyn ServerPorts) -> Self {
        FlowSide {
            table: FlowTable::new(opts.flow, servers),
            merge: (n > 1).then(|| Merge::new(n, MERGE_CAP)),
            mark: i64::MIN,
            counters: vec![LiveCounters::default(); n],
            status: Status::default(),
            count: opts.count,
        }
    }

    /// Takes a batch (up to --count); true once the count is reached.
    fn batch(&mut self, m: &Msg, sink: &mut dyn FlowSink) -> bool {
        if let Some(c) = m.counters {
            self.counters[m.iface] = c;
        }
        let limit = self
            .count
            .map_or(u64::MAX, |c| c.saturating_sub(self.status.packets));
        let take = m
            .packets
            .len()
            .min(usize::try_from(limit).unwrap_or(usize::MAX));
        match &mut self.merge {
            None => {
                for (ts, p) in m.packets.iter().take(take) {
                    self.table.packet(ts, &p, sink);
                }
                if let Some(t) = m.mark {
                    self.mark = self.mark.max(t);
                }
            }
            Some(merge) => {
                merge.push(m.iface, m.packets.iter().take(take), m.mark);
                while let Some((ts, p)) = merge.pop(false) {
                    self.table.packet(ts, &p, sink);
                }
            }
        }
        self.status.packets += take as u64;
        self.count.is_some_and(|c| self.status.packets >= c)
    }

    /// Moves the table's clock to the time every interface has delivered up to.
    fn clock(&mut self, sink: &mut dyn FlowSink) {
        let clock = match &self.merge {
            None => self.mark,
            Some(m) => m.watermark(),
        };
        if clock != i64::MIN {
            self.table.tick(clock, sink);
        }
    }

    /// The end: what the merge still holds goes to the table, and every open flow ends.
    fn finish(&mut self, sink: &mut dyn FlowSink) -> crate::flow::TableStats {
        if let Some(merge) = &mut self.merge {
            while let Some((ts, p)) = merge.pop(true) {
                self.table.packet(ts, &p, sink);
            }
        }
        self.table.finish(sink)
    }

    /// The status now, `rate` over `secs`.
    fn status(&mut self, elapsed: Duration, since: u64, secs: f64) -> Status {
        let s = &mut self.status;
        s.rate = (s.packets - since) as f64 / secs.max(1e-9);
        s.elapsed = elapsed;
        s.open_flows = self.table.open();
        s.dropped = self.counters.iter().map(|c| c.dropped).sum();
        s.if_dropped = self.counters.iter().map(|c| c.if_dropped).sum();
        *s
    }
}

/// When the status line and the scheduled reports are due.
struct Schedule {
    start: Instant,
    last_status: Instant,
    last_packets: u64,
    /// The report period, ns.
    every: Option<i64>,
    next_report: Option<i64>,
}

impl Schedule {
    fn new(report_every: Option<Duration>) -> Schedule {
        let every = report_every.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX).max(1));
        let start = Instant::now();
        Schedule {
            start,
            last_status: start,
            last_packets: 0,
            every,
            next_report: every.map(|e| (now_ns().div_euclid(e) + 1).saturating_mul(e)),
        }
    }

    /// The status, when a second has passed since the last.
    fn status(&mut self, flows: &mut FlowSide<'_>) -> Option<Status> {
        let now = Instant::now();
        let secs = now.duration_since(self.last_status).as_secs_f64();
        if secs < 1.0 {
            return None;
        }
        let s = flows.status(self.start.elapsed(), self.last_packets, secs);
        (self.last_status, self.last_packets) = (now, s.packets);
        Some(s)
    }

    /// The time a scheduled report is for, when one is due.
    fn report(&mut self) -> Option<i64> {
        let (e, due) = (self.every?, self.next_report?);
        let wall = now_ns();
        if wall < due {
            return None;
        }
        self.next_report = Some((wall.div_euclid(e) + 1).saturating_mul(e));
        Some(due)
    }
}

async fn drive<S: FlowSink>(
    lives: Vec<Live>,
    saves: Vec<Option<Savefile>>,
    opts: &LiveOptions,
    servers: &dyn ServerPorts,
    sink: &mut S,
    hooks: &mut dyn LiveHooks<S>,
) -> Result<LiveOutcome, CaptureError> {
    let signal_error = |e: std::io::Error| CaptureError::Open {
        path: "live capture".into(),
        message: format!("cannot watch for signals: {e}"),
    };
    let mut sigint = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(signal_error)?;
    let n = lives.len();
    let (tx, mut rx) = mpsc::channel::<Msg>(IN_FLIGHT);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut recycle = Vec::with_capacity(n);
    let mut tasks = Vec::with_capacity(n);
    for (i, (live, save)) in lives.into_iter().zip(saves).enumerate() {
        let (free_tx, free_rx) = mpsc::unbounded_channel();
        recycle.push(free_tx);
        let tally = Tally::new(InputSummary {
            link_types: vec![live.linktype()],
            live: Some(LiveCounters::default()),
            ..InputSummary::new(PathBuf::from(format!("interface {}", live.name())), None)
        })
        .with_tunnels(opts.tunnels)
        .with_checksums(opts.flow.checksums);
        let links = Links {
            tx: tx.clone(),
            free: free_rx,
            stop: stop_rx.clone(),
        };
        let task = capture(i, live, save, opts.count, tally, links);
        tasks.push(tokio::spawn(task));
    }
    drop(tx);

    let mut flows = FlowSide::new(n, opts, servers);
    let mut schedule = Schedule::new(hooks.schedule());
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // A first signal (or the duration, or the count) stops the capture; a second aborts.
    let mut stopping = false;
    let stop = |stopping: &mut bool| -> bool {
        let again = *stopping;
        *stopping = true;
        let _ = stop_tx.send(true);
        again
    };
    let aborted = loop {
        tokio::select! {
            biased;
            _ = sigint.recv() => if stop(&mut stopping) { break true },
            _ = sigterm.recv() => if stop(&mut stopping) { break true },
            m = rx.recv() => {
                let Some(mut m) = m else { break false };
                if flows.batch(&m, sink) {
                    stop(&mut stopping);
                }
                m.packets.clear();
                // The task may be gone already; the buffer is then dropped.
                let _ = recycle[m.iface].send(m.packets);
            }
            _ = ticker.tick() => {
                flows.clock(sink);
                sink.flush();
                if opts.duration.is_some_and(|d| schedule.start.elapsed() >= d) {
                    stop(&mut stopping);
                }
                if let Some(status) = schedule.status(&mut flows) {
                    hooks.status(&status, sink);
                }
                if let Some(at) = schedule.report() {
                    let status = flows.status;
                    hooks.report(at, sink, &flows.table, &status);
                }
            }
        }
    };

    if aborted {
        sink.flush();
        for t in &tasks {
            t.abort();
        }
        return Ok(LiveOutcome {
            outcome: Outcome {
                table: flows.table.stats(),
                icmp: flows.table.icmp,
                stats: Stats::default(),
                inputs: Vec::new(),
                errors: Vec::new(),
            },
            aborted: true,
            saved: Vec::new(),
        });
    }
    let table = flows.finish(sink);
    let mut outcome = Outcome {
        table,
        icmp: flows.table.icmp,
        stats: Stats::default(),
        inputs: Vec::with_capacity(n),
        errors: Vec::new(),
    };
    let mut saved = Vec::new();
    for t in tasks {
        match t.await {
            Ok(end) => {
                outcome.stats.merge(&end.summary.stats);
                outcome.inputs.push(end.summary);
                outcome.errors.extend(end.error);
                saved.extend(end.saved);
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
    Ok(LiveOutcome {
        outcome,
        aborted: false,
        saved,
    })
}

/// A capture task's channels to the flow thread.
struct Links {
    /// Where its batches go.
    tx: mpsc::Sender<Msg>,
    /// Where the batches' buffers come back, emptied.
    free: mpsc::UnboundedReceiver<Batch>,
    /// True when the capture is to stop.
    stop: watch::Receiver<bool>,
}

/// One interface's task: read, decode (counted in `tally`, which holds the decoding settings),
/// write, send, until told to stop (or `count` packets are read); then drain the ring.
async fn capture(
    iface: usize,
    live: Live,
    mut save: Option<Savefile>,
    count: Option<u64>,
    mut tally: Tally,
    links: Links,
) -> TaskEnd {
    let Links {
        tx,
        mut free,
        mut stop,
    } = links;
    let label = tally.sum.path.display().to_string();
    // A --write failure: reported, and the capture goes on without it.
    let write_error = |e: std::io::Error| CaptureError::Open {
        path: label.clone(),
        message: format!("cannot write the capture (--write): {e}; the capture went on without it"),
    };
    let mut error = None;
    let mut ring = match crate::capture::live::watch(live) {
        Ok(r) => r,
        Err((mut live, e)) => {
            error = Some(CaptureError::Open {
                path: label.clone(),
                message: format!("cannot wait for packets: {e}"),
            });
            return end(tally, error, save, &mut live);
        }
    };
    let mut batch = Batch::with_capacity(BATCH);
    let mut last_counters = Instant::now();
    // Buffers in existence; past the number that can be in flight, wait for one to come back.
    let mut buffers = 1;
    let mut last_round = false;
    let next_buffer =
        async |free: &mut mpsc::UnboundedReceiver<_>, buffers: &mut usize| match free.try_recv() {
            Ok(b) => b,
            Err(_) if *buffers < IN_FLIGHT + 4 => {
                *buffers += 1;
                Batch::with_capacity(BATCH)
            }
            Err(_) => free.recv().await.unwrap_or_default(),
        };
    loop {
        let live = ring.get_mut();
        let stopping = *stop.borrow();
        // Everything waiting in the ring now (up to --count: with one interface, exactly the
        // packets the flow side takes are read and written).
        let mut failed = false;
        let mut counted = false;
        loop {
            if count.is_some_and(|c| tally.packets() >= c) {
                counted = true;
                break;
            }
            match live.next_packet() {
                Ok(Some(p)) => {
                    if let Some(s) = &mut save
                        && let Err(e) = s.write(p.ts_ns, p.data, p.wire_len)
                    {
                        error = Some(write_error(e));
                        save = None;
                    }
                    if let Some(pkt) = tally.frame(p.ts_ns, p.linktype, p.data, p.wire_len) {
                        batch.push(p.ts_ns, pkt);
                    }
                    if batch.len() == BATCH {
                        let next = next_buffer(&mut free, &mut buffers).await;
                        let full = std::mem::replace(&mut batch, next);
                        let m = Msg {
                            iface,
                            packets: full,
                            mark: None,
                            counters: None,
                        };
                        if tx.send(m).await.is_err() {
                            return end(tally, error, save, ring.get_mut());
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    error = Some(e);
                    tally.sum.damaged = true;
                    failed = true;
                    break;
                }
            }
        }
        // The ring was empty just now: every packet captured a block timeout ago is here.
        let mark =
            crate::engine::live::now_ns().saturating_sub(i64::from(BLOCK_TIMEOUT_MS) * 2_000_000);
        let counters = (last_counters.elapsed() >= HEARTBEAT).then(|| {
            last_counters = Instant::now();
            live.counters()
        });
        if !batch.is_empty() || counters.is_some() {
            let next = next_buffer(&mut free, &mut buffers).await;
            let full = std::mem::replace(&mut batch, next);
            let m = Msg {
                iface,
                packets: full,
                mark: Some(mark),
                counters,
            };
            if tx.send(m).await.is_err() {
                break;
            }
        }
        if let Some(s) = &mut save
            && let Err(e) = s.flush()
        {
            error = Some(write_error(e));
            save = None;
        }
        if failed || counted || last_round {
            break;
        }
        if stopping {
            // Packets in a ring block the kernel has not handed over yet come within a block
            // timeout: one last read after it, so that nothing captured before the stop is lost.
            last_round = true;
            tokio::time::sleep(Duration::from_millis(2 * BLOCK_TIMEOUT_MS as u64)).await;
            continue;
        }
        tokio::select! {
            r = ring.readable_mut() => {
                if let Ok(mut guard) = r {
                    guard.clear_ready();
                }
            }
            _ = tokio::time::sleep(HEARTBEAT) => {}
            _ = stop.changed() => {}
        }
    }
    end(tally, error, save, ring.get_mut())
}

/// The task's end: the interface's summary with libpcap's counters now, the last of --write
/// flushed (a failure there is reported unless an error already was).
fn end(
    tally: Tally,
    mut error: Option<CaptureError>,
    save: Option<Savefile>,
    live: &mut Live,
) -> TaskEnd {
    let mut summary = tally.finish();
    summary.live = Some(live.counters());
    let saved = match save {
        Some(mut s) => {
            if let Err(e) = s.flush() {
                error.get_or_insert(CaptureError::Open {
                    path: summary.path.display().to_string(),
                    message: format!("cannot write the capture (--write): {e}"),
                });
            }
            s.files()
        }
        None => Vec::new(),
    };
    TaskEnd {
        summary,
        error,
        saved,
    }
}
