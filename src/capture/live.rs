//! Live capture from network interfaces through libpcap (the `pcap` crate's safe API).
//!
//! Each interface is opened non-blocking, with nanosecond timestamps when the interface gives
//! them, a kernel ring of `buffer_bytes` and a BPF filter compiled by libpcap for the
//! interface's link type and run in the kernel. [`Live::next_packet`] returns the next frame
//! waiting, or nothing when the ring is empty: the caller waits on [`Live::fd`] becoming
//! readable (the engine does so with tokio).
//!
//! On Linux, libpcap reads through a memory-mapped ring (TPACKET_V3): the kernel hands packets
//! over in blocks, retired when full or `BLOCK_TIMEOUT_MS` after their first packet, so a
//! packet may wait that long in the ring on a quiet link.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};

use tokio::io::unix::AsyncFd;

use pcap::{Active, Capture, Device, Linktype, Precision};

use super::{CaptureError, RawPacket};

/// How long a partly filled ring block may wait before the kernel hands it over, ms.
pub const BLOCK_TIMEOUT_MS: i32 = 100;

/// Linux cooked capture, versions 1 and 2 (the same numbers as DLT and LINKTYPE).
const DLT_LINUX_SLL: i32 = 113;
const DLT_LINUX_SLL2: i32 = 276;

/// Default kernel ring size, bytes: 32 MiB (tcpdump's default is 2 MiB), room for about a
/// quarter of a second of a saturated 1 Gbit/s link.
pub const DEFAULT_BUFFER_BYTES: usize = 32 << 20;

/// Default snapshot length, bytes: whole frames (as tcpdump), so that `--write` keeps them.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// How to open an interface.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Bytes kept of each frame. Flows need only the headers (128 is enough for TCP/UDP over
    /// Ethernet, VLANs and IPv6); a small snaplen lightens the kernel's copy but cuts the frames
    /// `--write` keeps.
    pub snaplen: u32,
    /// Kernel ring size, bytes.
    pub buffer_bytes: usize,
    /// Put the interface in promiscuous mode (see every frame on the wire, not only the host's).
    pub promisc: bool,
    /// BPF filter expression (tcpdump syntax).
    pub filter: Option<String>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            snaplen: DEFAULT_SNAPLEN,
            buffer_bytes: DEFAULT_BUFFER_BYTES,
            promisc: true,
            filter: None,
        }
    }
}

/// libpcap's counters for one interface since it was opened (`pcap_stats`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LiveCounters {
    /// Packets that passed the filter (whether or not they were read since).
    pub received: u64,
    /// Packets dropped because the kernel ring was full: flowaudit did not read fast enough.
    pub dropped: u64,
    /// Packets dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// One open interface.
pub struct Live {
    name: String,
    capture: Capture<Active>,
    linktype: u32,
    /// The counters as last read, widened from libpcap's 32-bit ones.
    counters: LiveCounters,
    raw: (u32, u32, u32),
    /// Timestamps come in nanoseconds (else microseconds: the interface has no finer clock).
    nanos: bool,
}

impl Live {
    /// Opens `name` for capture. Errors say which problem it is and what to do: no permission
    /// (the capability to grant), an unknown interface (the ones there are), a filter that
    /// does not compile for its link type.
    pub fn open(name: &str, cfg: &LiveConfig) -> Result<Live, CaptureError> {
        let open_err = |e: pcap::Error| classify(name, &e.to_string());
        let inactive = Capture::from_device(name).map_err(open_err)?;
        let snaplen = i32::try_from(cfg.snaplen).unwrap_or(i32::MAX);
        let buffer = i32::try_from(cfg.buffer_bytes).unwrap_or(i32::MAX);
        let inactive = inactive
            .promisc(cfg.promisc)
            .snaplen(snaplen)
            .buffer_size(buffer)
            .timeout(BLOCK_TIMEOUT_MS)
            .precision(Precision::Nano);
        let mut nanos = true;
        let mut capture = match inactive.open() {
            Ok(c) => c,
            // Some interfaces have no nanosecond clock: microseconds then.
            Err(e) if e.to_string().contains("precision") => {
                nanos = false;
                Capture::from_device(name)
                    .and_then(|c| {
                        c.promisc(cfg.promisc)
                            .snaplen(snaplen)
                            .buffer_size(buffer)
                            .timeout(BLOCK_TIMEOUT_MS)
                            .open()
                    })
                    .map_err(open_err)?
            }
            Err(e) => return Err(open_err(e)),
        };
        // `any` gives Linux cooked captures; version 2 also says which interface each packet
        // came in on. Chosen before the filter, which is compiled for the link type.
        if capture.get_datalink() == Linktype(DLT_LINUX_SLL)
            && capture
                .list_datalinks()
                .is_ok_and(|l| l.contains(&Linktype(DLT_LINUX_SLL2)))
        {
            let _ = capture.set_datalink(Linktype(DLT_LINUX_SLL2));
        }
        if let Some(expr) = &cfg.filter {
            capture
                .filter(expr, true)
                .map_err(|e| CaptureError::Filter {
                    expr: expr.clone(),
                    message: format!("on interface {name}: {e}"),
                })?;
        }
        let linktype = u32::try_from(capture.get_datalink().0).unwrap_or(u32::MAX);
        let capture = capture.setnonblock().map_err(open_err)?;
        Ok(Live {
            name: name.to_string(),
            capture,
            linktype: linktype_for_dlt(linktype),
            counters: LiveCounters::default(),
            raw: (0, 0, 0),
            nanos,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface's link type (a LINKTYPE_* number).
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// The next frame waiting in the ring; Ok(None) when there is none now.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        let (linktype, sub) = (self.linktype, if self.nanos { 1 } else { 1000 });
        match self.capture.next_packet() {
            Ok(p) => {
                let h = p.header;
                // time_t and suseconds_t are i64 on 64-bit Linux but may be narrower elsewhere.
                #[allow(clippy::unnecessary_cast)]
                let ts_ns = (h.ts.tv_sec as i64)
                    .saturating_mul(1_000_000_000)
                    .saturating_add((h.ts.tv_usec as i64).saturating_mul(sub));
                Ok(Some(RawPacket {
                    ts_ns,
                    data: p.data,
                    wire_len: h.len,
                    linktype,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => Ok(None),
            Err(e) => Err(CaptureError::Open {
                path: format!("interface {}", self.name),
                message: format!("capture failed: {e}"),
            }),
        }
    }

    /// libpcap's counters now.
    pub fn counters(&mut self) -> LiveCounters {
        if let Ok(s) = self.capture.stats() {
            let (r, d, i) = self.raw;
            self.counters.received += u64::from(s.received.wrapping_sub(r));
            self.counters.dropped += u64::from(s.dropped.wrapping_sub(d));
            self.counters.if_dropped += u64::from(s.if_dropped.wrapping_sub(i));
            self.raw = (s.received, s.dropped, s.if_dropped);
        }
        self.counters
    }
}

/// The ring's descriptor, readable when packets wait. It stays open, and the same, as long as
/// the capture is.
impl AsRawFd for Live {
    fn as_raw_fd(&self) -> RawFd {
        self.capture.as_raw_fd()
    }
}

/// Hands the interface to tokio, which wakes its task when packets wait (must run inside a
/// tokio runtime). On failure, the interface comes back with the error.
pub fn watch(live: Live) -> Result<AsyncFd<Live>, (Live, io::Error)> {
    super::ffi::watch(live).map_err(|e| e.into_parts())
}

/// One interface as `flowaudit interfaces` lists it.
#[derive(Debug, Clone)]
pub struct InterfaceInfo {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<IpAddr>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
}

/// The interfaces libpcap can capture on, in its order.
pub fn interfaces() -> Result<Vec<InterfaceInfo>, CaptureError> {
    let list = Device::list().map_err(|e| CaptureError::Open {
        path: "interfaces".into(),
        message: format!("cannot list the interfaces: {e}"),
    })?;
    Ok(list
        .into_iter()
        .map(|d| InterfaceInfo {
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            name: d.name,
            description: d.desc,
        })
        .collect())
}

/// The LINKTYPE_* number of a DLT_* number (libpcap reports live link types as DLT_*; the
/// registry of link types lists the few that differ).
fn linktype_for_dlt(dlt: u32) -> u32 {
    crate::decode::linktype::linktype_for_dlt(dlt)
}

/// The error for an interface that would not open, from libpcap's message.
fn classify(name: &str, message: &str) -> CaptureError {
    let lower = message.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        return CaptureError::Permission {
            interface: name.to_string(),
            message: message.to_string(),
            exe: std::env::current_exe()
                .map_or_else(|_| "flowaudit".into(), |p| p.display().to_string()),
        };
    }
    let known = interfaces().map(|l| l.into_iter().map(|i| i.name).collect::<Vec<_>>());
    match known {
        Ok(names) if !names.iter().any(|n| n == name) => CaptureError::NoInterface {
            interface: name.to_string(),
            known: names.join(", "),
        },
        _ => CaptureError::Open {
            path: format!("interface {name}"),
            message: message.to_string(),
        },
    }
}
