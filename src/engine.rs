//! Wires capture -> decode -> flow for a set of inputs, collecting statistics and errors.

use std::path::PathBuf;

use crate::capture::{CaptureError, Input, Reader};
use crate::decode;
use crate::flow::{FlowConfig, FlowTable};
use crate::stats::Stats;

/// How to read the inputs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A BPF filter expression (tcpdump syntax) applied to every packet.
    pub filter: Option<String>,
    pub flow: FlowConfig,
}

/// What one input contributed.
#[derive(Debug, Clone)]
pub struct InputSummary {
    pub path: PathBuf,
    pub size: Option<u64>,
    /// Frames read (after the filter).
    pub packets: u64,
    /// Their wire bytes.
    pub bytes: u64,
    pub first_ts_ns: Option<i64>,
    pub last_ts_ns: Option<i64>,
    /// Link types seen.
    pub link_types: Vec<u32>,
    /// True when reading stopped at damage (the error is in [`Outcome::errors`]).
    pub damaged: bool,
}

/// Everything read.
pub struct Outcome {
    pub table: FlowTable,
    pub stats: Stats,
    pub inputs: Vec<InputSummary>,
    pub errors: Vec<CaptureError>,
}

/// How often (in packets) progress is reported.
const PROGRESS_EVERY: u64 = 1 << 14;

/// Reads `inputs` in order as one capture: one flow table across files, so a connection that
/// spans two files is one flow. An input that fails is reported in `errors`; what it yielded
/// before the damage is kept, and the other inputs are read. `progress` is called now and then
/// with the number of input bytes consumed since its last call.
pub fn read(inputs: &[Input], opts: &Options, progress: &mut dyn FnMut(u64)) -> Outcome {
    let mut table = FlowTable::new(opts.flow);
    let mut stats = Stats::default();
    let mut summaries = Vec::with_capacity(inputs.len());
    let mut errors = Vec::new();
    for input in inputs {
        let mut sum = InputSummary {
            path: input.path.clone(),
            size: input.size,
            packets: 0,
            bytes: 0,
            first_ts_ns: None,
            last_ts_ns: None,
            link_types: Vec::new(),
            damaged: false,
        };
        let mut reader = match Reader::open(input, opts.filter.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                sum.damaged = true;
                errors.push(e);
                summaries.push(sum);
                continue;
            }
        };
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        let mut reported = 0u64;
        loop {
            match reader.next_packet() {
                Ok(Some(p)) => {
                    stats.frame(p.wire_len);
                    sum.packets += 1;
                    sum.bytes += p.wire_len as u64;
                    first = first.min(p.ts_ns);
                    last = last.max(p.ts_ns);
                    match decode::decode(p.linktype, p.data, p.wire_len) {
                        Ok(pkt) => {
                            stats.decoded(&pkt);
                            table.packet(p.ts_ns, &pkt);
                        }
                        Err(skip) => stats.skipped(skip),
                    }
                    if sum.packets.is_multiple_of(PROGRESS_EVERY) {
                        let off = reader.offset();
                        progress(off - reported);
                        reported = off;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    sum.damaged = true;
                    errors.push(e);
                    break;
                }
            }
        }
        progress(reader.offset().saturating_sub(reported));
        if sum.packets > 0 {
            sum.first_ts_ns = Some(first);
            sum.last_ts_ns = Some(last);
        }
        sum.link_types = reader.link_types().to_vec();
        summaries.push(sum);
    }
    Outcome {
        table,
        stats,
        inputs: summaries,
        errors,
    }
}
