//! Reading flow-record inputs (Zeek conn.log, flowaudit JSON lines, and the other
//! [`records`](crate::records) formats) into the same sinks the packet path feeds.
//!
//! The inputs are read together, merged by each item's end time (a k-way merge that holds one
//! item per input); halves are paired per input ([`Pairer`]); records of one connection seen by
//! several inputs are merged ([`Dedupe`]); each released record's IP bytes are spread evenly
//! over the seconds of its duration (the per-second bandwidth the audit needs: records carry
//! only a start and an end). The clock is the latest end time read: pairing ends entries idle
//! past their timeout, de-duplication releases records past their end plus the hold time.
//! Memory follows the inputs' count and the records open within those times, never the
//! inputs' length. The sinks run on a thread of their own, as for packets.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::capture::{CaptureError, Discovery, Input};
use crate::engine::{self, Outcome, sinks};
use crate::flow::{FlowRecord, FlowSink, NS, ServerPorts};
use crate::records::dedupe::{Dedupe, MergeStats};
use crate::records::netflow::{ExportReader, IpfixFile, Listener, NetflowError};
use crate::records::pair::Pairer;
use crate::records::{Format, InputEvidence, Item, ReadStats, Reader, RecordsError, Source};

/// One input to read.
pub struct RecordInput {
    /// The file (`-`: standard input).
    pub path: PathBuf,
    /// Its size in bytes (None for standard input).
    pub size: Option<u64>,
    pub source: Box<dyn Source>,
}

/// How records are combined.
#[derive(Debug, Clone, Copy)]
pub struct RecordsConfig {
    /// Halves of a TCP (UDP) connection further apart than this are two connections (ns).
    pub tcp_idle_ns: i64,
    pub udp_idle_ns: i64,
    /// A closed TCP connection's halves are awaited this long after its last packet (ns).
    pub linger_ns: i64,
    /// How long a record is held for a duplicate from another input (ns): the most one
    /// input's records can lag another's.
    pub hold_ns: i64,
    /// The most records held for duplicates at once, and the most open entries of each
    /// input's pairing (0: no limit): `--max-flows`.
    pub max_open: usize,
    /// Hand per-second bytes to the sinks (the audit's bandwidth).
    pub seconds: bool,
}

/// What reading the inputs found.
#[derive(Default)]
pub struct RecordsOutcome {
    pub inputs: Vec<InputEvidence>,
    /// What the merge of duplicates across inputs did.
    pub merge: MergeStats,
    /// Flow records handed to the sinks.
    pub flows: u64,
    /// Earliest start and latest end of those records, ns since the epoch.
    pub first_ts_ns: Option<i64>,
    pub last_ts_ns: Option<i64>,
    /// Inputs that could not be read to their end.
    pub errors: Vec<RecordsError>,
    /// Inputs that could not be read again to hash them.
    pub hash_errors: Vec<String>,
    /// What the packet engine read, when captures were read with the records (their
    /// evidence is there; the first of `inputs` stands for all of them).
    pub packets: Option<Outcome>,
    /// SHA-256 of each capture file, in the captures' order, when asked for.
    pub capture_sha256: Vec<Option<String>>,
}

/// How inputs are read (`--from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum From {
    /// Recognised by content: captures, IPFIX files, line formats.
    #[default]
    Auto,
    /// Every file is a log of this line format.
    Lines(Format),
    /// Every file is an RFC 5655 IPFIX file.
    IpfixFile,
    /// Every capture holds NetFlow/IPFIX export packets, read as flow records.
    NetflowPackets,
}

/// A reader of NetFlow/IPFIX export messages (an IPFIX file, a capture of export packets):
/// its items and the statistics of its collector.
trait Exports: Send {
    /// The format's name, as `--from` and the report spell it.
    const FORMAT: &'static str;
    type Error: std::fmt::Display;
    fn next_item(&mut self) -> Result<Option<Item>, Self::Error>;
    fn stats(&self) -> &ReadStats;
}

impl<R: Read + Send> Exports for IpfixFile<R> {
    const FORMAT: &'static str = "ipfix-file";
    type Error = NetflowError;
    fn next_item(&mut self) -> Result<Option<Item>, NetflowError> {
        IpfixFile::next_item(self)
    }
    fn stats(&self) -> &ReadStats {
        self.collector().stats()
    }
}

impl Exports for ExportReader {
    const FORMAT: &'static str = "netflow-packets";
    type Error = CaptureError;
    fn next_item(&mut self) -> Result<Option<Item>, CaptureError> {
        ExportReader::next_item(self)
    }
    fn stats(&self) -> &ReadStats {
        self.collector().stats()
    }
}

/// A reader of export messages as a source: errors name the input.
struct Named<T> {
    name: String,
    inner: T,
}

impl<T: Exports> Source for Named<T> {
    fn next_item(&mut self) -> Result<Option<Item>, RecordsError> {
        self.inner.next_item().map_err(|e| RecordsError::Io {
            file: self.name.clone(),
            source: std::io::Error::other(e.to_string()),
        })
    }
    fn stats(&self) -> &ReadStats {
        self.inner.stats()
    }
    fn format_name(&self) -> &'static str {
        T::FORMAT
    }
}

/// Captures of NetFlow/IPFIX export packets as record inputs (`--from netflow`).
pub fn export_captures(inputs: &[Input]) -> (Vec<RecordInput>, Vec<RecordsError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for i in inputs {
        match crate::capture::Reader::open(i, None) {
            Ok(r) => out.push(RecordInput {
                path: i.path.clone(),
                size: i.size,
                source: Box::new(Named {
                    name: i.path.display().to_string(),
                    inner: ExportReader::new(r),
                }),
            }),
            Err(e) => errors.push(RecordsError::Io {
                file: i.path.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            }),
        }
    }
    (out, errors)
}

/// Datagrams received on a UDP socket (`--listen`) until `duration` passed, as one input: the
/// listener runs on a thread of its own and hands its items over a bounded channel.
pub fn listen(
    addr: std::net::SocketAddr,
    duration: std::time::Duration,
) -> Result<RecordInput, RecordsError> {
    let mut l = Listener::bind(addr).map_err(|e| RecordsError::Io {
        file: format!("udp://{addr}"),
        source: std::io::Error::other(e.to_string()),
    })?;
    let (mut to, source) = channel("netflow-udp");
    std::thread::spawn(move || {
        let _ = l.run(duration, None, |item| to.push(item));
        to.finish(l.collector().stats().clone());
    });
    Ok(RecordInput {
        path: PathBuf::from(format!("udp://{addr}")),
        size: None,
        source: Box::new(source),
    })
}

/// Items read on a thread of their own, handed over in batches (this end of [`channel`]).
struct ChannelSource {
    rx: Receiver<Vec<Item>>,
    /// The statistics, sent once the items were.
    stats_rx: Receiver<ReadStats>,
    batch: std::vec::IntoIter<Item>,
    stats: ReadStats,
    format: &'static str,
}

/// The sending end of a [`ChannelSource`].
struct ToChannel {
    tx: SyncSender<Vec<Item>>,
    stats_tx: SyncSender<ReadStats>,
    buf: Vec<Item>,
}

/// Items in one batch.
const BATCH: usize = 256;

/// A source of format `format` whose items are sent from another thread: at most four batches
/// wait in the channel.
fn channel(format: &'static str) -> (ToChannel, ChannelSource) {
    let (tx, rx) = sync_channel(4);
    let (stats_tx, stats_rx) = sync_channel(1);
    (
        ToChannel {
            tx,
            stats_tx,
            buf: Vec::with_capacity(BATCH),
        },
        ChannelSource {
            rx,
            stats_rx,
            batch: Vec::new().into_iter(),
            stats: ReadStats::default(),
            format,
        },
    )
}

impl ToChannel {
    fn push(&mut self, item: Item) {
        self.buf.push(item);
        if self.buf.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        if !self.buf.is_empty() {
            // A closed channel means the reading side stopped: nothing more is wanted.
            let _ = self
                .tx
                .send(std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH)));
        }
    }

    /// The items ended: what is batched goes, then the statistics.
    fn finish(mut self, stats: ReadStats) {
        self.send();
        let _ = self.stats_tx.send(stats);
    }
}

impl Source for ChannelSource {
    fn next_item(&mut self) -> Result<Option<Item>, RecordsError> {
        loop {
            if let Some(i) = self.batch.next() {
                return Ok(Some(i));
            }
            match self.rx.recv() {
                Ok(b) => self.batch = b.into_iter(),
                Err(_) => {
                    if let Ok(s) = self.stats_rx.try_recv() {
                        self.stats = s;
                    }
                    return Ok(None);
                }
            }
        }
    }
    fn stats(&self) -> &ReadStats {
        &self.stats
    }
    fn format_name(&self) -> &'static str {
        self.format
    }
}

/// The record inputs among what capture discovery did not take: files it called no capture
/// (named, or found in a directory) that are a flow-record log. They leave `found`'s errors and
/// skipped files; the rest stay there. Returned with the named files that are neither, as
/// records errors (which say what was looked for).
pub fn find(found: &mut Discovery, from: From) -> (Vec<RecordInput>, Vec<RecordsError>) {
    let mut inputs = Vec::new();
    let mut unknown = Vec::new();
    let mut errors = Vec::new();
    for e in std::mem::take(&mut found.errors) {
        let CaptureError::NotACapture { path, .. } = &e else {
            errors.push(e);
            continue;
        };
        match open(Path::new(path), from) {
            Ok(i) => inputs.push(i),
            Err(e) => unknown.push(e),
        }
    }
    found.errors = errors;
    let mut skipped = Vec::new();
    for p in std::mem::take(&mut found.skipped_non_captures) {
        match open(&p, from) {
            Ok(i) => inputs.push(i),
            Err(_) => skipped.push(p),
        }
    }
    found.skipped_non_captures = skipped;
    (inputs, unknown)
}

/// Opens a record input (`-`: standard input, from its first byte): an IPFIX file (RFC 5655,
/// recognised by its first message header) or a log of lines.
pub fn open(path: &Path, from: From) -> Result<RecordInput, RecordsError> {
    let name = path.display().to_string();
    let io = |source| RecordsError::Io {
        file: name.clone(),
        source,
    };
    let (input, size): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
        (
            Box::new(crate::capture::stdin_from_start().map_err(io)?),
            None,
        )
    } else {
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map(|m| m.len()).ok();
        (Box::new(file), size)
    };
    let mut input = input;
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match input.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    let input = std::io::Cursor::new(head[..got].to_vec()).chain(input);
    let ipfix = match from {
        From::IpfixFile => true,
        From::Auto => {
            got == 4 && head[..2] == [0, 10] && u16::from_be_bytes([head[2], head[3]]) >= 16
        }
        _ => false,
    };
    let source: Box<dyn Source> = if ipfix {
        Box::new(Named {
            name,
            inner: IpfixFile::new(input),
        })
    } else {
        let format = match from {
            From::Lines(f) => Some(f),
            _ => None,
        };
        Box::new(Reader::open_as(name, input, format)?)
    };
    Ok(RecordInput {
        path: path.to_path_buf(),
        size,
        source,
    })
}

/// Packet captures read with the records: their flows join the merge as one more input (the
/// first), so that a connection both captured and logged is one flow. Their per-second bytes
/// are spread from their records like the others'.
pub struct Captures<'a> {
    pub inputs: &'a [Input],
    pub opts: &'a engine::Options,
}

/// The packet engine's flows, sent to a [`ChannelSource`] with their statistics.
struct PacketFlows {
    to: ToChannel,
    stats: ReadStats,
}

impl FlowSink for PacketFlows {
    fn flow(&mut self, r: &FlowRecord) {
        self.stats.lines += 1;
        self.stats.record(r.ts_ns);
        self.to.push(Item::Flow(r.clone()));
    }
}

/// The time an item is merged by: its end.
fn end_key(item: &Item) -> i64 {
    match item {
        Item::Flow(r) => r.ts_ns.saturating_add(r.duration_ns),
        Item::Half(h) => h.end_ns,
        Item::Pair { orig, resp } => orig.end_ns.max(resp.end_ns),
    }
}

/// The inputs being merged: one item ahead per input.
struct Merge {
    sources: Vec<Box<dyn Source>>,
    ahead: Vec<Option<Item>>,
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    errors: Vec<Option<RecordsError>>,
}

impl Merge {
    fn new(sources: Vec<Box<dyn Source>>) -> Self {
        let n = sources.len();
        let mut m = Merge {
            sources,
            ahead: (0..n).map(|_| None).collect(),
            heap: BinaryHeap::with_capacity(n),
            errors: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            m.fetch(i);
        }
        m
    }

    fn fetch(&mut self, i: usize) {
        match self.sources[i].next_item() {
            Ok(Some(item)) => {
                self.heap.push(Reverse((end_key(&item), i)));
                self.ahead[i] = Some(item);
            }
            Ok(None) => {}
            Err(e) => self.errors[i] = Some(e),
        }
    }

    /// The item that ends first of those ahead, with its input.
    fn next(&mut self) -> Option<(Item, usize, i64)> {
        while let Some(Reverse((key, i))) = self.heap.pop() {
            if let Some(item) = self.ahead[i].take() {
                self.fetch(i);
                return Some((item, i, key));
            }
        }
        None
    }
}

/// Where released records go: seconds then the record, to the sinks' thread.
struct Emit<'a> {
    to: &'a mut sinks::Forward,
    seconds: bool,
    opened: bool,
    out: RecordsOutcome,
}

impl Emit<'_> {
    fn record(&mut self, r: FlowRecord) {
        if !self.opened {
            self.to.open(r.ts_ns);
            self.opened = true;
        }
        let end = r.ts_ns.saturating_add(r.duration_ns);
        let o = &mut self.out;
        o.flows += 1;
        o.first_ts_ns = Some(o.first_ts_ns.map_or(r.ts_ns, |t| t.min(r.ts_ns)));
        o.last_ts_ns = Some(o.last_ts_ns.map_or(end, |t| t.max(end)));
        if self.seconds {
            self.to.spread_flow_owned(r);
        } else {
            self.to.flow_owned(r);
        }
    }

    /// Records of input `input` made by its pairer: to the merge of duplicates, or straight
    /// out when there is none (one input cannot duplicate itself).
    fn made(&mut self, made: &mut Vec<FlowRecord>, input: usize, dedupe: Option<&mut Dedupe>) {
        match dedupe {
            Some(d) => made
                .drain(..)
                .for_each(|r| d.add(r, input, |r, _| self.record(r))),
            None => made.drain(..).for_each(|r| self.record(r)),
        }
    }
}

/// Reads `inputs` into `sink` (see the module's documentation). With `hash`, each input
/// file's SHA-256 is computed on a thread of its own while the records are read.
pub fn read(
    inputs: Vec<RecordInput>,
    captures: Option<Captures<'_>>,
    cfg: &RecordsConfig,
    servers: &(dyn ServerPorts + Sync),
    sink: &mut (dyn FlowSink + Send),
    hash: bool,
) -> RecordsOutcome {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut sizes: Vec<Option<u64>> = Vec::new();
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    let mut packets = None;
    if let Some(c) = &captures {
        let (to, source) = channel("pcap");
        paths.push(PathBuf::from("packet captures"));
        sizes.push(None);
        sources.push(Box::new(source));
        packets = Some((c.inputs, c.opts, to));
    }
    let with_packets = packets.is_some();
    for i in inputs {
        paths.push(i.path);
        sizes.push(i.size);
        sources.push(i.source);
    }
    let (mut forward, deliver) = sinks::channel();
    std::thread::scope(|scope| {
        let engine = packets.map(|(inputs, opts, to)| {
            scope.spawn(move || {
                let mut flows = PacketFlows {
                    to,
                    stats: ReadStats::default(),
                };
                let outcome = engine::read(inputs, opts, servers, &mut flows, &mut |_| {});
                flows.to.finish(flows.stats);
                outcome
            })
        });
        // The captures' files, then the record inputs.
        let mut to_hash: Vec<&Path> = captures.as_ref().map_or(Vec::new(), |c| {
            c.inputs.iter().map(|i| i.path.as_path()).collect()
        });
        let n_captures = to_hash.len();
        to_hash.extend(
            paths[usize::from(with_packets)..]
                .iter()
                .map(PathBuf::as_path),
        );
        let hashing = hash.then(|| scope.spawn(move || super::hash_files(&to_hash)));
        let sinks = scope.spawn(move || deliver.run(sink));
        let mut merge = Merge::new(sources);
        let mut pairers: Vec<Pairer> = (0..paths.len())
            .map(|_| {
                Pairer::new(cfg.tcp_idle_ns, cfg.udp_idle_ns, cfg.linger_ns, servers)
                    .with_limit(cfg.max_open)
            })
            .collect();
        // One input cannot duplicate itself: its records go straight out.
        let mut dedupe =
            (paths.len() > 1).then(|| Dedupe::new(cfg.hold_ns).with_limit(cfg.max_open));
        let mut emit = Emit {
            to: &mut forward,
            seconds: cfg.seconds,
            opened: false,
            out: RecordsOutcome::default(),
        };
        let mut made = Vec::new();
        let mut clock = i64::MIN;
        let mut clock_sec = i64::MIN;
        let mut with_rtt = vec![0u64; paths.len()];
        while let Some((item, i, key)) = merge.next() {
            if let Item::Flow(r) = &item
                && r.rtt_ns.is_some()
            {
                with_rtt[i] += 1;
            }
            pairers[i].add(item, &mut made);
            emit.made(&mut made, i, dedupe.as_mut());
            clock = clock.max(key);
            let sec = clock.div_euclid(NS);
            if sec != clock_sec {
                clock_sec = sec;
                for (j, p) in pairers.iter_mut().enumerate() {
                    p.advance(clock, &mut made);
                    emit.made(&mut made, j, dedupe.as_mut());
                }
                if let Some(d) = dedupe.as_mut() {
                    d.advance(clock, |r, _| emit.record(r));
                }
                if emit.opened {
                    emit.to.clock(clock);
                }
            }
        }
        for (j, p) in pairers.iter_mut().enumerate() {
            p.finish(&mut made);
            emit.made(&mut made, j, dedupe.as_mut());
        }
        if let Some(d) = dedupe.as_mut() {
            d.finish(|r, _| emit.record(r));
        }
        let mut out = emit.out;
        forward.finish();
        if let Err(panic) = sinks.join() {
            std::panic::resume_unwind(panic);
        }
        let mut hashes = match hashing.map(|h| h.join()) {
            Some(Ok(v)) => v,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Vec::new(),
        };
        let rest = hashes.split_off(n_captures.min(hashes.len()));
        out.capture_sha256 = hashes
            .into_iter()
            .map(|h| match h {
                Some(Ok(h)) => Some(h),
                Some(Err(e)) => {
                    out.hash_errors.push(e);
                    None
                }
                None => None,
            })
            .collect();
        let mut hashes = rest;
        if with_packets {
            hashes.insert(0, None);
        }
        out.packets = match engine.map(|h| h.join()) {
            Some(Ok(o)) => Some(o),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => None,
        };
        out.merge = dedupe.map(|d| d.stats).unwrap_or_default();
        for (i, path) in paths.iter().enumerate() {
            let error = merge.errors[i].take();
            let sha256 = match hashes.get(i).cloned().flatten() {
                Some(Ok(h)) => Some(h),
                Some(Err(e)) => {
                    out.hash_errors.push(e);
                    None
                }
                None => None,
            };
            out.inputs.push(InputEvidence {
                path: path.clone(),
                format: merge.sources[i].format_name(),
                size: sizes[i],
                sha256,
                stats: merge.sources[i].stats().clone(),
                pairing: pairers[i].stats,
                with_rtt: with_rtt[i],
                error: error.as_ref().map(|e| e.to_string()),
            });
            out.errors.extend(error);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(n: i64) -> FlowRecord {
        FlowRecord {
            ts_ns: 1_000 - n,
            uid: compact_str::format_compact!("C{n}"),
            orig_pkts: 1,
            ..FlowRecord::blank()
        }
    }

    #[test]
    fn a_channel_source_hands_over_every_item_in_order_then_the_senders_statistics() {
        // More than two batches, the last one partial, sent from a thread of their own.
        let (to, mut source) = channel("pcap");
        let sender = std::thread::spawn(move || {
            let mut flows = PacketFlows {
                to,
                stats: ReadStats::default(),
            };
            for n in 0..600 {
                flows.flow(&flow(n));
            }
            flows.to.finish(flows.stats);
        });
        let mut uids = Vec::new();
        while let Some(item) = source.next_item().unwrap() {
            let Item::Flow(r) = item else {
                panic!("not a flow: {item:?}");
            };
            uids.push(r.uid);
        }
        sender.join().unwrap();
        let want: Vec<String> = (0..600).map(|n| format!("C{n}")).collect();
        assert_eq!(uids, want);
        let s = source.stats();
        assert_eq!((s.lines, s.records), (600, 600));
        assert_eq!((s.first_ts_ns, s.last_ts_ns), (Some(401), Some(1_000)));
        assert_eq!(source.format_name(), "pcap");
        assert!(source.next_item().unwrap().is_none(), "ended");
    }

    #[test]
    fn a_channel_source_whose_sender_stopped_early_ends_without_statistics() {
        let (mut to, mut source) = channel("netflow-udp");
        to.push(Item::Flow(flow(1)));
        to.send();
        drop(to);
        assert!(matches!(source.next_item(), Ok(Some(Item::Flow(_)))));
        assert!(source.next_item().unwrap().is_none());
        assert_eq!(source.stats().records, 0);
    }
}
