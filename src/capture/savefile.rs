//! Writes captured frames to pcap files (`--write`), with rotation by size or time and a
//! bounded number of files, as tcpdump's `-C`, `-G` and `-W` do.
//!
//! Files are pcap with nanosecond timestamps (magic `a1b23c4d`), readable by libpcap 1.5+,
//! tcpdump, Wireshark and flowaudit. Without rotation the file is the path given. With
//! rotation each file is named after the time of its first frame, `STEM-20261129T101500Z.EXT`
//! (a `-N` suffix when a name is taken), so that their names sort in time order and flowaudit
//! reads them back one after another as one capture.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// When to start a new file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// A file that has reached this many bytes is closed before the next frame.
    pub max_bytes: Option<u64>,
    /// Files cover aligned periods of this length (ns), by packet time: `3600 s` gives one
    /// file per hour of the clock.
    pub every_ns: Option<i64>,
    /// The most files kept: the oldest this run wrote is deleted when a new one would exceed
    /// it.
    pub max_files: Option<usize>,
}

impl Rotation {
    pub fn rotates(&self) -> bool {
        self.max_bytes.is_some() || self.every_ns.is_some()
    }
}

const NS: i64 = 1_000_000_000;
/// pcap file header length, bytes.
const FILE_HEADER: u64 = 24;
/// pcap record header length, bytes.
const RECORD_HEADER: u64 = 16;

/// A pcap writer, rotating as asked.
pub struct Savefile {
    base: PathBuf,
    linktype: u32,
    snaplen: u32,
    rotation: Rotation,
    out: Option<BufWriter<File>>,
    /// Bytes in the current file.
    bytes: u64,
    /// The period (in units of `every_ns`) the current file covers.
    period: i64,
    /// Files written by this run, oldest first (only while rotating).
    files: VecDeque<PathBuf>,
}

impl Savefile {
    /// Starts writing to `base` (created now without rotation, so that a path that cannot be
    /// written is reported before the capture starts; with rotation, the directory is checked).
    pub fn create(
        base: &Path,
        linktype: u32,
        snaplen: u32,
        rotation: Rotation,
    ) -> io::Result<Savefile> {
        let mut s = Savefile {
            base: base.to_path_buf(),
            linktype,
            snaplen,
            rotation,
            out: None,
            bytes: 0,
            period: i64::MIN,
            files: VecDeque::new(),
        };
        if rotation.rotates() {
            let dir = match base.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no directory {}", dir.display()),
                ));
            }
        } else {
            let path = base.to_path_buf();
            s.open(path)?;
        }
        Ok(s)
    }

    /// Writes one frame captured at `ts_ns`.
    pub fn write(&mut self, ts_ns: i64, data: &[u8], wire_len: u32) -> io::Result<()> {
        if self.rotation.rotates() {
            let period = self
                .rotation
                .every_ns
                .map_or(0, |e| ts_ns.div_euclid(e.max(1)));
            let full = self
                .rotation
                .max_bytes
                .is_some_and(|m| self.bytes >= m && self.bytes > FILE_HEADER);
            if self.out.is_none() || period != self.period || full {
                self.period = period;
                self.rotate(ts_ns)?;
            }
        }
        let Some(out) = &mut self.out else {
            return Ok(());
        };
        let caplen = data.len().min(self.snaplen as usize);
        let mut h = [0u8; RECORD_HEADER as usize];
        h[0..4].copy_from_slice(&(ts_ns.div_euclid(NS) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&(ts_ns.rem_euclid(NS) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
        h[12..16].copy_from_slice(&wire_len.max(caplen as u32).to_le_bytes());
        out.write_all(&h)?;
        out.write_all(&data[..caplen])?;
        self.bytes += RECORD_HEADER + caplen as u64;
        Ok(())
    }

    /// Pushes what is buffered to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }

    /// The files this run wrote that are still there, oldest first.
    pub fn files(&self) -> Vec<PathBuf> {
        if self.rotation.rotates() {
            self.files.iter().cloned().collect()
        } else {
            vec![self.base.clone()]
        }
    }

    /// Closes the current file and starts one named after `ts_ns`.
    fn rotate(&mut self, ts_ns: i64) -> io::Result<()> {
        self.flush()?;
        self.out = None;
        let path = self.rotated_name(ts_ns);
        if let Some(max) = self.rotation.max_files {
            while self.files.len() >= max.max(1) {
                if let Some(old) = self.files.pop_front() {
                    // Already gone (removed by someone else) is fine.
                    let _ = std::fs::remove_file(old);
                }
            }
        }
        self.open(path.clone())?;
        self.files.push_back(path);
        Ok(())
    }

    fn rotated_name(&self, ts_ns: i64) -> PathBuf {
        let stem = self
            .base
            .file_stem()
            .map_or_else(|| "capture".into(), |s| s.to_string_lossy().into_owned());
        let ext = self
            .base
            .extension()
            .map_or_else(|| "pcap".into(), |s| s.to_string_lossy().into_owned());
        let stamp = crate::report::file_stamp(ts_ns);
        let mut n = 0;
        loop {
            let name = match n {
                0 => format!("{stem}-{stamp}.{ext}"),
                n => format!("{stem}-{stamp}-{n}.{ext}"),
            };
            let path = self.base.with_file_name(name);
            if !path.exists() {
                return path;
            }
            n += 1;
        }
    }

    fn open(&mut self, path: PathBuf) -> io::Result<()> {
        let file = File::create(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut h = [0u8; FILE_HEADER as usize];
        h[0..4].copy_from_slice(&0xa1b2_3c4d_u32.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        h[16..20].copy_from_slice(&self.snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&self.linktype.to_le_bytes());
        out.write_all(&h)?;
        self.out = Some(out);
        self.bytes = FILE_HEADER;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("flowaudit-savefile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Reads a pcap back with libpcap: (ts_ns, caplen, len) per record.
    fn records(path: &Path) -> Vec<(i64, u32, u32)> {
        let mut c = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano).unwrap();
        assert_eq!(c.get_datalink(), pcap::Linktype(1));
        let mut out = Vec::new();
        while let Ok(p) = c.next_packet() {
            #[allow(clippy::unnecessary_cast)]
            let ts = p.header.ts.tv_sec as i64 * NS + p.header.ts.tv_usec as i64;
            out.push((ts, p.header.caplen, p.header.len));
        }
        out
    }

    #[test]
    fn one_file_read_back_by_libpcap() {
        let d = dir("one");
        let path = d.join("x.pcap");
        let mut s = Savefile::create(&path, 1, 96, Rotation::default()).unwrap();
        assert!(path.exists(), "created before the first frame");
        let frame = [0xabu8; 200];
        s.write(1_700_000_000_123_456_789, &frame[..60], 60)
            .unwrap();
        // Longer than the snaplen: cut, the wire length kept.
        s.write(1_700_000_001_000_000_001, &frame, 1514).unwrap();
        s.flush().unwrap();
        assert_eq!(
            records(&path),
            vec![
                (1_700_000_000_123_456_789, 60, 60),
                (1_700_000_001_000_000_001, 96, 1514)
            ]
        );
        assert_eq!(s.files(), vec![path]);
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn rotates_by_time_and_size_and_keeps_the_newest_files() {
        let d = dir("rotate");
        let base = d.join("cap.pcap");
        let rot = Rotation {
            max_bytes: Some(24 + 3 * (16 + 100)),
            every_ns: Some(3600 * NS),
            max_files: Some(3),
        };
        let mut s = Savefile::create(&base, 1, 65535, rot).unwrap();
        let frame = [1u8; 100];
        // 2026-11-29 10:00:00 UTC.
        let t0 = 1_795_946_400 * NS;
        // Four frames in the first hour: the fourth goes to a second file (size).
        for i in 0..4 {
            s.write(t0 + i * NS, &frame, 100).unwrap();
        }
        // The next hour: a new file (time).
        s.write(t0 + 3600 * NS, &frame, 100).unwrap();
        s.flush().unwrap();
        let names: Vec<String> = s
            .files()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "cap-20261129T100000Z.pcap",
                "cap-20261129T100003Z.pcap",
                "cap-20261129T110000Z.pcap"
            ]
        );
        assert_eq!(records(&s.files()[0]).len(), 3);
        assert_eq!(records(&s.files()[1]).len(), 1);
        // A fourth file: the oldest goes.
        s.write(t0 + 7200 * NS, &frame, 100).unwrap();
        s.flush().unwrap();
        assert!(!d.join("cap-20261129T100000Z.pcap").exists());
        assert_eq!(s.files().len(), 3);
        let mut on_disk: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        on_disk.sort();
        assert_eq!(on_disk.len(), 3);
        std::fs::remove_dir_all(&d).ok();
    }
}
