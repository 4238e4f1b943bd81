//! Tests of the capture stage, one file per part of it; the fixtures they share are here: temp
//! files, frames and file builders.

mod discover;
mod filter;
mod pcap_file;
mod pcapng;
mod stdin;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::layout::Endian;
use super::pcapng::{BLOCK_EPB, BLOCK_IDB, BLOCK_PB, BLOCK_SHB, BLOCK_SPB, OPT_ENDOFOPT};
use super::{CaptureError, Format, Input, Reader};

/// A file or directory under the temp dir, removed when dropped.
struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
        let _ = fs::remove_file(&self.0);
    }
}

fn temp_path(tag: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "flowaudit-capture-{}-{}-{tag}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn temp_file(tag: &str, bytes: &[u8]) -> Temp {
    let path = temp_path(tag);
    fs::write(&path, bytes).expect("write temp file");
    Temp(path)
}

fn input(path: &Path, format: Format) -> Input {
    Input {
        path: path.to_path_buf(),
        format,
        size: None,
        first_ts_ns: None,
    }
}

/// A frame as read, with the reader's offset right after it.
#[derive(Debug, PartialEq)]
struct Frame {
    ts_ns: i64,
    data: Vec<u8>,
    wire_len: u32,
    linktype: u32,
    offset_after: u64,
}

/// Reads to the end; returns the frames and the error that stopped the reader, if any.
fn drain(reader: &mut Reader) -> (Vec<Frame>, Option<CaptureError>) {
    let mut frames = Vec::new();
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => {
                let (ts_ns, data, wire_len, linktype) =
                    (p.ts_ns, p.data.to_vec(), p.wire_len, p.linktype);
                frames.push(Frame {
                    ts_ns,
                    data,
                    wire_len,
                    linktype,
                    offset_after: reader.offset(),
                });
            }
            Ok(None) => return (frames, None),
            Err(e) => {
                // A reader that failed is finished.
                assert!(matches!(reader.next_packet(), Ok(None)));
                return (frames, Some(e));
            }
        }
    }
}

/// Writes `bytes` to a temp file and reads it to the end.
fn read_bytes(
    bytes: &[u8],
    format: Format,
    filter: Option<&str>,
) -> (Vec<Frame>, Option<CaptureError>, Vec<u32>) {
    let file = temp_file("read", bytes);
    let mut reader = Reader::open(&input(&file.0, format), filter).expect("open");
    let (frames, error) = drain(&mut reader);
    (frames, error, reader.link_types().to_vec())
}

fn expect_corrupt(error: Option<CaptureError>) -> (u64, String) {
    match error {
        Some(CaptureError::Corrupt { offset, what, .. }) => (offset, what),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// IPv4 + TCP from 10.0.0.1:49152 to 10.0.0.2:`dport`, SYN, no payload: 40 bytes.
fn ip_tcp(dport: u16) -> Vec<u8> {
    #[rustfmt::skip]
    let mut frame = vec![
        0x45, 0x00, 0x00, 0x28, // IPv4, IHL 5, total length 40
        0x00, 0x00, 0x40, 0x00, // id 0, DF
        0x40, 0x06, 0x00, 0x00, // TTL 64, protocol TCP, checksum (unchecked)
        10, 0, 0, 1,            // source
        10, 0, 0, 2,            // destination
        0xc0, 0x00,             // source port 49152
    ];
    frame.extend(dport.to_be_bytes()); // destination port
    #[rustfmt::skip]
    frame.extend([
        0, 0, 0, 0,             // sequence number
        0, 0, 0, 0,             // acknowledgment number
        0x50, 0x02, 0xff, 0xff, // data offset 5, SYN, window
        0, 0, 0, 0,             // checksum, urgent pointer
    ]);
    frame
}

/// Ethernet + [`ip_tcp`]: 54 bytes.
fn eth_tcp(dport: u16) -> Vec<u8> {
    #[rustfmt::skip]
    let mut frame = vec![
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, // destination MAC
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, // source MAC
        0x08, 0x00,                         // IPv4
    ];
    frame.extend(ip_tcp(dport));
    frame
}

/// Builds classic pcap files, little-endian, µs.
fn pcap_file(snaplen: u32, linktype: u32, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes()); // magic
    out.extend(2u16.to_le_bytes()); // version major
    out.extend(4u16.to_le_bytes()); // version minor
    out.extend([0; 8]); // thiszone, sigfigs
    out.extend(snaplen.to_le_bytes());
    out.extend(linktype.to_le_bytes());
    for &(sec, usec, data) in records {
        out.extend(sec.to_le_bytes());
        out.extend(usec.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes()); // caplen
        out.extend((data.len() as u32).to_le_bytes()); // orig_len
        out.extend(data);
    }
    out
}

/// Builds pcapng blocks in one byte order.
#[derive(Clone, Copy)]
struct Ng(Endian);

impl Ng {
    fn u16(self, v: u16) -> [u8; 2] {
        match self.0 {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    fn u32(self, v: u32) -> [u8; 4] {
        match self.0 {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    /// Type, total length, body padded to 4, total length again.
    fn block(self, block_type: u32, body: &[u8]) -> Vec<u8> {
        let padded = body.len().next_multiple_of(4);
        let total = (12 + padded) as u32;
        let mut out = Vec::new();
        out.extend(self.u32(block_type));
        out.extend(self.u32(total));
        out.extend(body);
        out.resize(8 + padded, 0);
        out.extend(self.u32(total));
        out
    }

    fn shb(self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(self.u32(0x1a2b_3c4d)); // byte-order magic
        body.extend(self.u16(1)); // major version
        body.extend(self.u16(0)); // minor version
        body.extend([0xff; 8]); // section length -1: unknown
        self.block(BLOCK_SHB, &body)
    }

    fn option(self, code: u16, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(self.u16(code));
        out.extend(self.u16(value.len() as u16));
        out.extend(value);
        out.resize(4 + value.len().next_multiple_of(4), 0);
        out
    }

    /// `options` are [`Ng::option`]s; opt_endofopt is added when there are any.
    fn idb(self, linktype: u16, snaplen: u32, options: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(self.u16(linktype));
        body.extend(self.u16(0)); // reserved
        body.extend(self.u32(snaplen));
        for option in options {
            body.extend(option);
        }
        if !options.is_empty() {
            body.extend(self.option(OPT_ENDOFOPT, &[]));
        }
        self.block(BLOCK_IDB, &body)
    }

    fn epb(self, interface: u32, ts: u64, data: &[u8], wire_len: u32) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(self.u32(interface));
        body.extend(self.u32((ts >> 32) as u32));
        body.extend(self.u32(ts as u32));
        body.extend(self.u32(data.len() as u32)); // captured length
        body.extend(self.u32(wire_len));
        body.extend(data);
        self.block(BLOCK_EPB, &body)
    }

    fn pb(self, interface: u16, ts: u64, data: &[u8], wire_len: u32) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(self.u16(interface));
        body.extend(self.u16(0)); // drops count
        body.extend(self.u32((ts >> 32) as u32));
        body.extend(self.u32(ts as u32));
        body.extend(self.u32(data.len() as u32)); // captured length
        body.extend(self.u32(wire_len));
        body.extend(data);
        self.block(BLOCK_PB, &body)
    }

    fn spb(self, wire_len: u32, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(self.u32(wire_len));
        body.extend(data);
        self.block(BLOCK_SPB, &body)
    }
}

const LE: Ng = Ng(Endian::Little);
const BE: Ng = Ng(Endian::Big);

fn concat(blocks: &[Vec<u8>]) -> Vec<u8> {
    blocks.concat()
}

/// Offsets after each of `blocks`.
fn ends(blocks: &[Vec<u8>]) -> Vec<u64> {
    blocks
        .iter()
        .scan(0u64, |end, b| {
            *end += b.len() as u64;
            Some(*end)
        })
        .collect()
}

#[rustfmt::skip]
const PCAP_US_LE: &[u8] = &[
    // file header
    0xd4, 0xc3, 0xb2, 0xa1, // magic a1b2c3d4 little-endian: µs timestamps
    0x02, 0x00, 0x04, 0x00, // version 2.4
    0x00, 0x00, 0x00, 0x00, // thiszone 0
    0x00, 0x00, 0x00, 0x00, // sigfigs 0
    0xff, 0xff, 0x00, 0x00, // snaplen 65535
    0x01, 0x00, 0x00, 0x00, // linktype 1, Ethernet
    // record 1, byte 24
    0x00, 0xe1, 0xf5, 0x05, // ts_sec 100000000
    0x40, 0xe2, 0x01, 0x00, // ts_usec 123456
    0x04, 0x00, 0x00, 0x00, // caplen 4
    0x3c, 0x00, 0x00, 0x00, // orig_len 60
    0xde, 0xad, 0xbe, 0xef, // frame
    // record 2, byte 44
    0x01, 0xe1, 0xf5, 0x05, // ts_sec 100000001
    0x00, 0x00, 0x00, 0x00, // ts_usec 0
    0x02, 0x00, 0x00, 0x00, // caplen 2
    0x02, 0x00, 0x00, 0x00, // orig_len 2
    0xca, 0xfe,             // frame
    // end, byte 62
];

#[rustfmt::skip]
const PCAPNG_MINIMAL: &[u8] = &[
    // Section Header Block, byte 0
    0x0a, 0x0d, 0x0d, 0x0a, // block type
    0x1c, 0x00, 0x00, 0x00, // block length 28
    0x4d, 0x3c, 0x2b, 0x1a, // byte-order magic: little-endian
    0x01, 0x00, 0x00, 0x00, // version 1.0
    0xff, 0xff, 0xff, 0xff, // section length -1
    0xff, 0xff, 0xff, 0xff,
    0x1c, 0x00, 0x00, 0x00, // block length 28
    // Interface Description Block, byte 28
    0x01, 0x00, 0x00, 0x00, // block type 1
    0x14, 0x00, 0x00, 0x00, // block length 20
    0x01, 0x00, 0x00, 0x00, // linktype 1 Ethernet, reserved
    0x00, 0x00, 0x00, 0x00, // snaplen 0: none
    0x14, 0x00, 0x00, 0x00, // block length 20
    // Enhanced Packet Block, byte 48
    0x06, 0x00, 0x00, 0x00, // block type 6
    0x24, 0x00, 0x00, 0x00, // block length 36
    0x00, 0x00, 0x00, 0x00, // interface 0
    0x00, 0x00, 0x00, 0x00, // timestamp high
    0x40, 0x42, 0x0f, 0x00, // timestamp low: 1000000 µs
    0x03, 0x00, 0x00, 0x00, // captured length 3
    0x40, 0x00, 0x00, 0x00, // original length 64
    0xaa, 0xbb, 0xcc, 0x00, // frame and 1 byte of padding
    0x24, 0x00, 0x00, 0x00, // block length 36
    // end, byte 84
];

#[test]
fn reader_is_send() {
    fn send<T: Send>() {}
    send::<Reader>();
}
