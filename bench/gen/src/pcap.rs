//! A streaming classic pcap writer: little-endian, microsecond timestamps, LINKTYPE_ETHERNET.
//!
//! Layout: a 24-byte global header, then per packet a 16-byte record header (ts_sec, ts_usec,
//! caplen, orig_len) and the frame. Frames are written whole (caplen = orig_len), so a file of
//! packets with frame lengths L1..Ln is exactly 24 + Σ (16 + Li) bytes.

use std::io::{self, Write};

/// Size of the global header.
pub const FILE_HEADER_LEN: u64 = 24;
/// Size of one record header.
pub const RECORD_HEADER_LEN: u64 = 16;
/// Snapshot length written in the global header.
pub const SNAPLEN: u32 = 65_535;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// Writes packets to `out` as they come: nothing is kept but the counters.
pub struct PcapWriter<W: Write> {
    out: W,
    packets: u64,
    bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut h = [0u8; FILE_HEADER_LEN as usize];
        h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // microsecond magic
        h[4..6].copy_from_slice(&2u16.to_le_bytes()); // version 2.4
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs: 0
        h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            packets: 0,
            bytes: FILE_HEADER_LEN,
        })
    }

    /// Appends one frame captured at `ts_us` microseconds since the epoch.
    pub fn packet(&mut self, ts_us: u64, frame: &[u8]) -> io::Result<()> {
        let secs = u32::try_from(ts_us / 1_000_000)
            .map_err(|_| io::Error::other("timestamp past 2106 does not fit classic pcap"))?;
        let len = frame.len() as u32;
        let mut h = [0u8; RECORD_HEADER_LEN as usize];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&len.to_le_bytes());
        h[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(frame)?;
        self.packets += 1;
        self.bytes += RECORD_HEADER_LEN + frame.len() as u64;
        Ok(())
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Bytes written so far, global header included.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
