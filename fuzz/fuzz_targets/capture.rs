//! The capture readers fed arbitrary bytes, both ways a capture comes in:
//! - as a file: written to a temporary file, then `capture::discover` (which sniffs the format
//!   and reads the first timestamp) and `Reader::open`;
//! - as a stream: `Reader::from_stream`, the path standard input takes.
//!
//! Every frame read goes through the statistics (`stats::Tally::frame`, which decodes it) and the
//! flow table, as in a run. When both ways read the input to a clean end, they must yield the
//! same frames.
//!
//! Input: a whole capture file (pcap or pcapng), no selector.

#![no_main]

use std::io::Cursor;
use std::path::PathBuf;

use flowaudit::capture::{Reader, discover};
use flowaudit::flow::{FlowConfig, FlowRecord, FlowSink, FlowTable, NoServerPorts};
use flowaudit::stats::{InputSummary, Tally};
use libfuzzer_sys::fuzz_target;

mod common;

struct Discard;

impl FlowSink for Discard {
    fn flow(&mut self, r: &FlowRecord) {
        std::hint::black_box(r);
    }
}

/// One frame as read: time, link type, wire length, bytes.
type Frame = (i64, u32, u32, Vec<u8>);

/// Reads every frame; the frames and whether the input ended cleanly.
fn read_all(mut reader: Reader) -> (Vec<Frame>, bool) {
    let mut frames = Vec::new();
    let mut tally = Tally::new(InputSummary::new(PathBuf::from("fuzz"), None));
    let mut table = FlowTable::new(FlowConfig::default(), &NoServerPorts);
    let clean = loop {
        match reader.next_packet() {
            Ok(Some(raw)) => {
                frames.push((raw.ts_ns, raw.linktype, raw.wire_len, raw.data.to_vec()));
                if let Some(p) = tally.frame(raw.ts_ns, raw.linktype, raw.data, raw.wire_len) {
                    table.packet(raw.ts_ns, &p, &mut Discard);
                }
            }
            Ok(None) => break true,
            Err(e) => {
                std::hint::black_box(e.to_string());
                break false;
            }
        }
    };
    // After the end or an error, the reader stays finished.
    assert!(matches!(reader.next_packet(), Ok(None)));
    let _ = (reader.offset(), reader.link_types());
    table.finish(&mut Discard);
    let sum = tally.finish();
    assert_eq!(sum.packets, frames.len() as u64);
    (frames, clean)
}

fuzz_target!(|data: &[u8]| {
    let path = common::temp_path("input");
    std::fs::write(&path, data).expect("temporary file");
    let found = discover(std::slice::from_ref(&path));
    let mut from_file = None;
    for input in &found.inputs {
        match Reader::open(input, None) {
            Ok(reader) => from_file = Some(read_all(reader)),
            Err(e) => std::hint::black_box(e.to_string()).clear(),
        }
    }
    for e in &found.errors {
        std::hint::black_box(e.to_string());
    }

    let stream = Box::new(Cursor::new(data.to_vec()));
    let from_stream = match Reader::from_stream("-", stream, None) {
        Ok(reader) => Some(read_all(reader)),
        Err(e) => {
            std::hint::black_box(e.to_string());
            None
        }
    };

    if let (Some((file_frames, true)), Some((stream_frames, true))) = (&from_file, &from_stream) {
        assert_eq!(
            file_frames.len(),
            stream_frames.len(),
            "file and stream read different frame counts"
        );
        assert!(
            file_frames == stream_frames,
            "file and stream read different frames"
        );
    }
});
