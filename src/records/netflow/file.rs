//! RFC 5655 IPFIX files: IPFIX messages back to back, read one message at a time from any
//! [`Read`] (memory: one message, at most 65,535 bytes).

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr};

use super::ipfix::header;
use super::{Collector, IPFIX, NetflowError};
use crate::records::Item;

/// Reads the messages of one IPFIX file, item by item.
pub struct IpfixFile<R> {
    input: R,
    /// The exporter the messages are attributed to (templates and observation points are per
    /// exporter and domain): the unspecified address unless given.
    exporter: SocketAddr,
    collector: Collector,
    buf: Vec<u8>,
    /// Bytes of the file read so far: the next message's offset.
    offset: u64,
    items: std::collections::VecDeque<Item>,
    scratch: Vec<Item>,
    done: bool,
}

impl<R> std::fmt::Debug for IpfixFile<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpfixFile")
            .field("offset", &self.offset)
            .field("collector", &self.collector)
            .finish()
    }
}

impl<R: Read> IpfixFile<R> {
    pub fn new(input: R) -> IpfixFile<R> {
        IpfixFile {
            input,
            exporter: SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0),
            collector: Collector::new(),
            buf: Vec::with_capacity(1 << 16),
            offset: 0,
            items: Default::default(),
            scratch: Vec::new(),
            done: false,
        }
    }

    /// Attributes the messages to `exporter`.
    pub fn with_exporter(mut self, exporter: SocketAddr) -> IpfixFile<R> {
        self.exporter = exporter;
        self
    }

    /// Records read, skipped and malformed (`lines`: messages; a malformed message names its
    /// byte offset).
    pub fn collector(&self) -> &Collector {
        &self.collector
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next item; `Ok(None)` at the end of the file. A message header that is no IPFIX
    /// header (or a file cut inside a message) is counted malformed and ends the reading: the
    /// next message cannot be found. Only a read error is an error.
    pub fn next_item(&mut self) -> Result<Option<Item>, NetflowError> {
        loop {
            if let Some(item) = self.items.pop_front() {
                return Ok(Some(item));
            }
            if self.done {
                return Ok(None);
            }
            let at = self.offset;
            self.buf.clear();
            self.buf.resize(header::LEN, 0);
            let got = read_up_to(&mut self.input, &mut self.buf).map_err(|e| {
                self.done = true;
                NetflowError::Io(format!("byte {at}: {e}"))
            })?;
            self.offset += got as u64;
            if got == 0 {
                self.done = true;
                return Ok(None);
            }
            let version = u16::from_be_bytes([self.buf[0], *self.buf.get(1).unwrap_or(&0)]);
            let length = if got >= 4 {
                usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]))
            } else {
                0
            };
            if got < header::LEN || version != IPFIX || length < header::LEN {
                // Counted as one malformed message, with why the file cannot be read on.
                self.done = true;
                let e = if got < header::LEN {
                    NetflowError::Truncated {
                        what: "IPFIX header",
                        need: header::LEN,
                        have: got,
                    }
                } else if version != IPFIX {
                    NetflowError::Version(version)
                } else {
                    NetflowError::Length {
                        length,
                        have: header::LEN,
                    }
                };
                self.collector.count_malformed(Some(at), &e);
                return Ok(None);
            }
            self.buf.resize(length, 0);
            let rest = read_up_to(&mut self.input, &mut self.buf[header::LEN..]).map_err(|e| {
                self.done = true;
                NetflowError::Io(format!("byte {}: {e}", self.offset))
            })?;
            self.offset += rest as u64;
            if header::LEN + rest < length {
                self.done = true;
            }
            let msg = &self.buf[..header::LEN + rest];
            let _ = self
                .collector
                .message_at(self.exporter, msg, Some(at), &mut self.scratch);
            self.items.extend(self.scratch.drain(..));
        }
    }
}

impl<R: Read> Iterator for IpfixFile<R> {
    type Item = Result<Item, NetflowError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

fn read_up_to(src: &mut impl Read, dst: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < dst.len() {
        match src.read(&mut dst[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
