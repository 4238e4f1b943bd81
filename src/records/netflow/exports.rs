//! Export datagrams read from a pcap/pcapng capture of the export traffic: every UDP
//! datagram that starts as a NetFlow v5, v9 or IPFIX message (or every datagram to the ports
//! given) is fed to a [`Collector`], its source address and port as the exporter. Frames are
//! read by the capture stage's [`Reader`] and decoded by the packet decoder, as packets are.

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::Collector;
use crate::capture::{CaptureError, RawPacket, Reader};
use crate::decode::{self, Packet, Transport, Udp};
use crate::records::Item;

/// What the capture held besides export messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Frames read.
    pub frames: u64,
    /// UDP datagrams fed to the collector (its stats count them as messages).
    pub datagrams: u64,
    /// Frames that are no UDP datagram (or do not decode).
    pub not_udp: u64,
    /// UDP datagrams that are not export messages (or not to the ports given).
    pub not_export: u64,
    /// Fragments of IP datagrams: not reassembled here.
    pub fragments: u64,
    /// Export datagrams the snaplen cut: not read.
    pub cut: u64,
}

/// Reads the export messages of one capture, item by item.
pub struct ExportReader {
    capture: Reader,
    collector: Collector,
    ports: Option<Vec<u16>>,
    /// Items of the last message, not yet handed out.
    items: VecDeque<Item>,
    scratch: Vec<Item>,
    stats: ExportStats,
}

impl std::fmt::Debug for ExportReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportReader")
            .field("stats", &self.stats)
            .field("collector", &self.collector)
            .finish()
    }
}

impl ExportReader {
    /// Reads the datagrams of `capture` that start as a v5, v9 or IPFIX message.
    pub fn new(capture: Reader) -> ExportReader {
        ExportReader {
            capture,
            collector: Collector::new(),
            ports: None,
            items: VecDeque::new(),
            scratch: Vec::new(),
            stats: ExportStats::default(),
        }
    }

    /// Reads every datagram to one of `ports` instead (a datagram that is no export message
    /// is then counted malformed).
    pub fn with_ports(mut self, ports: &[u16]) -> ExportReader {
        self.ports = Some(ports.to_vec());
        self
    }

    pub fn collector(&self) -> &Collector {
        &self.collector
    }

    pub fn stats(&self) -> &ExportStats {
        &self.stats
    }

    /// The next item; `Ok(None)` at the end of the capture. A damaged capture is an error
    /// (the capture reader's, with its byte offset); what was read before stands.
    pub fn next_item(&mut self) -> Result<Option<Item>, CaptureError> {
        loop {
            if let Some(item) = self.items.pop_front() {
                return Ok(Some(item));
            }
            let Some(frame) = self.capture.next_packet()? else {
                return Ok(None);
            };
            self.stats.frames += 1;
            let p = match decode::decode(frame.linktype, frame.data, frame.wire_len) {
                Ok(p) => p,
                Err(_) => {
                    self.stats.not_udp += 1;
                    continue;
                }
            };
            let u = match p.transport {
                Transport::Udp(u) => u,
                Transport::Fragment(_) => {
                    self.stats.fragments += 1;
                    continue;
                }
                _ => {
                    self.stats.not_udp += 1;
                    continue;
                }
            };
            let Some(start) = payload_start(&frame, &p, &u) else {
                self.stats.not_udp += 1;
                continue;
            };
            let len = u.payload_len as usize;
            let payload = &frame.data[start..];
            let payload = &payload[..payload.len().min(len)];
            let wanted = match &self.ports {
                Some(ports) => ports.contains(&u.dst_port),
                None => super::looks_like_export(payload),
            };
            if !wanted {
                self.stats.not_export += 1;
                continue;
            }
            if payload.len() < len {
                self.stats.cut += 1;
                continue;
            }
            self.stats.datagrams += 1;
            let exporter = SocketAddr::new(p.src.to_ip(p.v6), u.src_port);
            // A malformed message is counted by the collector; reading goes on.
            let _ = self.collector.message(exporter, payload, &mut self.scratch);
            self.items.extend(self.scratch.drain(..));
        }
    }
}

/// Where the UDP payload of a decoded datagram starts in its frame: the fewest captured bytes
/// with which the decoder still reads the same UDP header (the decoder reads headers from the
/// captured bytes and lengths from the IP header, so a frame cut inside the payload decodes
/// the same, and one cut inside the UDP header does not). None for a datagram inside a tunnel,
/// whose payload the decoder does not place.
pub(super) fn payload_start(frame: &RawPacket<'_>, p: &Packet, u: &Udp) -> Option<usize> {
    if !p.encap.is_empty() {
        return None;
    }
    let same = |n: usize| {
        matches!(
            decode::decode(frame.linktype, &frame.data[..n], frame.wire_len),
            Ok(Packet { transport: Transport::Udp(v), .. })
                if (v.src_port, v.dst_port, v.payload_len) == (u.src_port, u.dst_port, u.payload_len)
        )
    };
    // The whole frame decodes; find the shortest prefix that does (monotonic in the length).
    let (mut lo, mut hi) = (0usize, frame.data.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if same(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    (hi <= frame.data.len() && hi >= 8).then_some(hi)
}

impl Iterator for ExportReader {
    type Item = Result<Item, CaptureError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}
