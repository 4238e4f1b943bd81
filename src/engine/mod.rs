//! Wires capture -> decode -> flow -> sinks for a set of inputs, collecting statistics and
//! errors.
//!
//! Three threads: a reader thread reads and decodes frames (capture files, header parsing,
//! statistics); the calling thread runs the flow table; a third runs the sinks the table hands
//! ended flows to (writing and judging records, see [`sinks`]). Decoded packets cross in
//! batches whose buffers are sent back and reused, so the steady state allocates nothing per
//! packet. The flow table sees packets in capture order, so results are
//! the same as with one thread: across inputs, that is time order (the reader thread merges
//! inputs whose time spans overlap, see [`read`]); within an input, file order.

mod batch;
mod handoff;
pub mod live;
mod merge;
pub(crate) mod sinks;
#[cfg(test)]
mod tests;

use crate::capture::{CaptureError, Input, Reader};
use crate::decode::{Packet, TunnelConfig};
use crate::flow::{FlowConfig, FlowSink, FlowTable, IcmpAttach, ServerPorts, TableStats};
pub use crate::stats::InputSummary;
use crate::stats::{Stats, Tally};
use batch::Batch;
use handoff::handoff;

/// How to read the inputs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A BPF filter expression (tcpdump syntax) applied to every packet.
    pub filter: Option<String>,
    pub flow: FlowConfig,
    /// Which UDP ports carry which tunnel.
    pub tunnels: TunnelConfig,
}

/// Everything read.
#[derive(Default)]
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
const _: () = assert!(BATCH <= batch::MAX);
/// Batches in flight between the threads.
const IN_FLIGHT: usize = 4;
/// Batch buffers in existence at most: one being filled, IN_FLIGHT queued, one being consumed,
/// one on its way back.
const MAX_BUFFERS: usize = IN_FLIGHT + 3;

/// Reads `inputs` (in discovery order, by first packet time) as one capture: one flow table
/// across files, so a connection that spans two files is one flow. Inputs whose time spans
/// overlap (simultaneous captures, such as one file per interface) are merged by packet time;
/// inputs that follow one another (a rotated series) are read one after another. Each flow goes
/// to `sink` when it ends; `servers` steers direction inference. An input that fails is reported
/// in `errors`; what it yielded before the damage is kept, and the other inputs are read.
/// `progress` is called now and then (on the reader thread) with the number of input bytes
/// consumed since its last call.
pub fn read(
    inputs: &[Input],
    opts: &Options,
    servers: &dyn ServerPorts,
    sink: &mut (dyn FlowSink + Send),
    progress: &mut (dyn FnMut(u64) + Send),
) -> Outcome {
    let (mut to_flows, from_reader) = handoff::<Batch>(IN_FLIGHT, MAX_BUFFERS);
    let (mut forward, deliver) = sinks::channel();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Batch::with_capacity(BATCH);
            let mut send = |batch: &mut Batch| to_flows.give(batch, || Batch::with_capacity(BATCH));
            let (summaries, errors) = read_merged(inputs, opts, progress, &mut |ts, p| {
                batch.push(ts, p);
                if batch.len() == BATCH {
                    send(&mut batch);
                }
            });
            if !batch.is_empty() {
                send(&mut batch);
            }
            (summaries, errors)
        });
        let sinks = scope.spawn(move || deliver.run(sink));
        let mut table = FlowTable::new(opts.flow, servers);
        while let Some(mut batch) = from_reader.take() {
            for (ts, p) in batch.iter() {
                table.packet(ts, &p, &mut forward);
            }
            batch.clear();
            from_reader.give_back(batch);
        }
        let table_stats = table.finish(&mut forward);
        forward.finish();
        let (summaries, errors) = match reader.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        if let Err(panic) = sinks.join() {
            std::panic::resume_unwind(panic);
        }
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

/// Reads `inputs` (in discovery order: by first packet time) and hands every decoded packet to
/// `sink`, merging by time the inputs whose time spans overlap; returns each input's summary and
/// errors, in `inputs` order.
///
/// A k-way merge that opens inputs one by one: an input is opened when its first packet is due,
/// that is when its first packet time is at or before the next packet of every open input (or
/// no input is open); one whose first time is unknown (standard input, no packets) is opened
/// where it falls in `inputs`. Each open input holds its next decoded packet; the earliest of
/// those goes on, ties to the input that comes first in `inputs`. An input is closed at its end,
/// so inputs that follow one another (a rotated series) are read one after another with one
/// file open at a time. A file's own packets stay in file order whatever their timestamps.
fn read_merged(
    inputs: &[Input],
    opts: &Options,
    progress: &mut (dyn FnMut(u64) + Send),
    sink: &mut impl FnMut(i64, Packet),
) -> (Vec<InputSummary>, Vec<CaptureError>) {
    let mut done: Vec<Option<(InputSummary, Option<CaptureError>)>> =
        (0..inputs.len()).map(|_| None).collect();
    let mut open: Vec<Open> = Vec::new();
    let mut next_input = 0;
    loop {
        // Open every input whose first packet is due.
        while let Some(input) = inputs.get(next_input) {
            let due = match (input.first_ts_ns, earliest(&open)) {
                (Some(first), Some((ts, _))) => first <= ts,
                _ => true,
            };
            if !due {
                break;
            }
            let order = next_input;
            next_input += 1;
            match Source::open(order, input, opts) {
                // Nothing goes on before the first packet is read and held.
                Ok(mut src) => match src.advance(HOLD_FIRST, progress, sink) {
                    Ok(next) => open.push(Open { next, src }),
                    Err(err) => done[order] = Some(src.finish(err, progress)),
                },
                Err(e) => {
                    let mut sum = summary(input);
                    sum.damaged = true;
                    done[order] = Some((sum, Some(e)));
                }
            }
        }
        #[cfg(test)]
        tests::MOST_OPEN.with(|m| m.set(m.get().max(open.len())));
        let Some((_, i)) = earliest(&open) else {
            // Nothing open and nothing left to open.
            break;
        };
        // The earliest packet goes on, and after it, from the same input, every packet before
        // the bound: the next packet of the other open inputs, and the first packet of the next
        // input to open (at that time, the next input opens first).
        let mut bound = UNBOUNDED;
        for (j, o) in open.iter().enumerate() {
            if j != i {
                bound = bound.min((o.next.0, o.src.order));
            }
        }
        if let Some(first) = inputs.get(next_input).and_then(|input| input.first_ts_ns) {
            bound = bound.min((first, 0));
        }
        let o = &mut open[i];
        sink(o.next.0, o.next.1);
        match o.src.advance(bound, progress, sink) {
            Ok(next) => o.next = next,
            Err(err) => {
                let src = open.swap_remove(i).src;
                let order = src.order;
                done[order] = Some(src.finish(err, progress));
            }
        }
    }
    let mut summaries = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for (sum, err) in done.into_iter().flatten() {
        summaries.push(sum);
        errors.extend(err);
    }
    (summaries, errors)
}

/// A bound no packet is before: the first packet is read and held.
const HOLD_FIRST: (i64, usize) = (i64::MIN, 0);
/// A bound every packet is before: with nothing else open or to open, the input is read to its
/// end.
const UNBOUNDED: (i64, usize) = (i64::MAX, usize::MAX);

/// The open input with the earliest next packet: (its time, its index in `open`); ties to the
/// input first in discovery order.
fn earliest(open: &[Open]) -> Option<(i64, usize)> {
    open.iter()
        .enumerate()
        .min_by_key(|(_, o)| (o.next.0, o.src.order))
        .map(|(i, o)| (o.next.0, i))
}

/// The summary of `input` before anything is read.
fn summary(input: &Input) -> InputSummary {
    InputSummary::new(input.path.clone(), input.size)
}

/// An open input of the merge and its next decoded packet, not handed on yet.
struct Open {
    next: (i64, Packet),
    src: Source,
}

/// An input being read.
struct Source {
    /// Its index in the inputs: the tie-breaker.
    order: usize,
    reader: Reader,
    tally: Tally,
    /// Input bytes already reported to `progress`.
    reported: u64,
}

impl Source {
    fn open(order: usize, input: &Input, opts: &Options) -> Result<Source, CaptureError> {
        Ok(Source {
            order,
            reader: Reader::open(input, opts.filter.as_deref())?,
            tally: Tally::new(summary(input))
                .with_tunnels(opts.tunnels)
                .with_checksums(opts.flow.checksums),
            reported: 0,
        })
    }

    /// Reads frames, counting each, and hands each decoded packet to `sink` as long as it comes
    /// before `bound` ((time, input order), compared as a pair); returns the first decoded packet
    /// that does not, for the caller to hold. Err at the end of the input: Some(error) if it
    /// stopped at damage.
    #[inline]
    fn advance(
        &mut self,
        bound: (i64, usize),
        progress: &mut (dyn FnMut(u64) + Send),
        sink: &mut impl FnMut(i64, Packet),
    ) -> Result<(i64, Packet), Option<CaptureError>> {
        loop {
            let p = match self.reader.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return Err(None),
                Err(e) => return Err(Some(e)),
            };
            let ts = p.ts_ns;
            let decoded = self.tally.frame(ts, p.linktype, p.data, p.wire_len);
            if self.tally.packets().is_multiple_of(PROGRESS_EVERY) {
                let off = self.reader.offset();
                progress(off.saturating_sub(self.reported));
                self.reported = off;
            }
            if let Some(pkt) = decoded {
                if (ts, self.order) < bound {
                    sink(ts, pkt);
                } else {
                    return Ok((ts, pkt));
                }
            }
        }
    }

    /// The summary of an input read to its end, or to the damage `error`.
    fn finish(
        self,
        error: Option<CaptureError>,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> (InputSummary, Option<CaptureError>) {
        progress(self.reader.offset().saturating_sub(self.reported));
        let mut sum = self.tally.finish();
        sum.damaged = error.is_some();
        sum.link_types = self.reader.link_types().to_vec();
        (sum, error)
    }
}
