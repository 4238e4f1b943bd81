//! Wires capture -> decode -> flow -> sinks for a set of inputs, collecting statistics and
//! errors.
//!
//! Two threads: a reader thread reads and decodes frames (libpcap, header parsing, statistics);
//! the calling thread runs the flow table and the sinks it hands ended flows to. Decoded packets
//! cross between them in batches whose buffers are sent back and reused, so the steady state
//! allocates nothing per packet. The flow table sees packets in capture order, so results are
//! the same as with one thread.

pub mod live;
mod merge;

use std::sync::mpsc;

use crate::capture::{CaptureError, Input, Reader};
use crate::decode::{self, Packet};
use crate::flow::{FlowConfig, FlowSink, FlowTable, IcmpAttach, ServerPorts, TableStats};
pub use crate::stats::InputSummary;
use crate::stats::Stats;

/// How to read the inputs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A BPF filter expression (tcpdump syntax) applied to every packet.
    pub filter: Option<String>,
    pub flow: FlowConfig,
}

/// Everything read.
pub struct Outcome {
    /// What the flow table did (flows ended, evicted, the most open at once).
    pub table: TableStats,
    pub icmp: IcmpAttach,
    /// All inputs' statistics together.
    pub stats: Stats,
    pub inputs: Vec<InputSummary>,
    pub errors: Vec<CaptureError>,
}

impl Outcome {
    /// Time of the earliest packet of all inputs.
    pub fn first_ts_ns(&self) -> Option<i64> {
        self.inputs.iter().filter_map(|i| i.first_ts_ns).min()
    }
    /// Time of the latest packet of all inputs.
    pub fn last_ts_ns(&self) -> Option<i64> {
        self.inputs.iter().filter_map(|i| i.last_ts_ns).max()
    }
}

/// How often (in packets) progress is reported.
const PROGRESS_EVERY: u64 = 1 << 14;
/// Packets per batch handed to the flow thread.
const BATCH: usize = 4096;
/// Batches in flight between the threads.
const IN_FLIGHT: usize = 4;

type Batch = Vec<(i64, Packet)>;

/// Reads `inputs` in order as one capture: one flow table across files, so a connection that
/// spans two files is one flow. Each flow goes to `sink` when it ends; `servers` steers
/// direction inference. An input that fails is reported in `errors`; what it yielded before the
/// damage is kept, and the other inputs are read. `progress` is called now and then (on the
/// reader thread) with the number of input bytes consumed since its last call.
pub fn read(
    inputs: &[Input],
    opts: &Options,
    servers: &dyn ServerPorts,
    sink: &mut dyn FlowSink,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Outcome {
    let (to_flows, from_reader) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
    let (recycle, recycled) = mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch: Batch = Vec::with_capacity(BATCH);
            // Buffers in existence: one being filled, IN_FLIGHT queued, one being consumed, one
            // on its way back. Past that, the reader waits for a buffer to come back instead of
            // allocating: the number of allocations does not grow with the number of packets.
            let mut buffers = 1;
            let mut send = |batch: &mut Batch| {
                let next = match recycled.try_recv() {
                    Ok(b) => b,
                    Err(_) if buffers < IN_FLIGHT + 3 => {
                        buffers += 1;
                        Vec::with_capacity(BATCH)
                    }
                    Err(_) => recycled.recv().unwrap_or_default(),
                };
                let full = std::mem::replace(batch, next);
                // The flow side only goes away by panicking, which the scope reports.
                let _ = to_flows.send(full);
            };
            let mut summaries = Vec::with_capacity(inputs.len());
            let mut errors = Vec::new();
            for input in inputs {
                let (sum, err) = read_input(input, opts, progress, &mut |ts, p| {
                    batch.push((ts, p));
                    if batch.len() == BATCH {
                        send(&mut batch);
                    }
                });
                summaries.push(sum);
                errors.extend(err);
            }
            if !batch.is_empty() {
                send(&mut batch);
            }
            (summaries, errors)
        });
        let mut table = FlowTable::new(opts.flow, servers);
        for mut batch in from_reader {
            for (ts, p) in &batch {
                table.packet(*ts, p, sink);
            }
            batch.clear();
            // The reader may be done already; the buffer is then simply dropped.
            let _ = recycle.send(batch);
        }
        let table_stats = table.finish(sink);
        let (summaries, errors) = match reader.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let mut stats = Stats::default();
        for s in &summaries {
            stats.merge(&s.stats);
        }
        Outcome {
            table: table_stats,
            icmp: table.icmp,
            stats,
            inputs: summaries,
            errors,
        }
    })
}

/// Reads one input, handing each decoded packet to `sink`.
fn read_input(
    input: &Input,
    opts: &Options,
    progress: &mut (dyn FnMut(u64) + Send),
    sink: &mut dyn FnMut(i64, Packet),
) -> (InputSummary, Option<CaptureError>) {
    let mut sum = InputSummary {
        path: input.path.clone(),
        size: input.size,
        packets: 0,
        bytes: 0,
        first_ts_ns: None,
        last_ts_ns: None,
        link_types: Vec::new(),
        stats: Stats::default(),
        damaged: false,
        live: None,
    };
    let mut reader = match Reader::open(input, opts.filter.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            sum.damaged = true;
            return (sum, Some(e));
        }
    };
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    let mut reported = 0u64;
    let mut error = None;
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => {
                sum.stats.frame(p.wire_len);
                first = first.min(p.ts_ns);
                last = last.max(p.ts_ns);
                match decode::decode(p.linktype, p.data, p.wire_len) {
                    Ok(pkt) => {
                        sum.stats.decoded(&pkt);
                        sink(p.ts_ns, pkt);
                    }
                    Err(skip) => sum.stats.skipped(skip),
                }
                if sum.stats.packets.is_multiple_of(PROGRESS_EVERY) {
                    let off = reader.offset();
                    progress(off.saturating_sub(reported));
                    reported = off;
                }
            }
            Ok(None) => break,
            Err(e) => {
                sum.damaged = true;
                error = Some(e);
                break;
            }
        }
    }
    progress(reader.offset().saturating_sub(reported));
    sum.packets = sum.stats.packets;
    sum.bytes = sum.stats.wire_bytes;
    if sum.packets > 0 {
        sum.first_ts_ns = Some(first);
        sum.last_ts_ns = Some(last);
    }
    sum.link_types = reader.link_types().to_vec();
    (sum, error)
}
