//! The information elements a flow record is made of (v9 field types and IPFIX element ids
//! coincide for all of them), a data record read with its template, and the [`HalfFlow`]s it
//! gives.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::templates::{Field, Template, VARIABLE};
use super::{
    Half, SKIP_ICMP, SKIP_MIXED, SKIP_NO_ADDR, SKIP_NO_INIT, SKIP_NO_PROTO, SKIP_PROTO, be16,
};
use crate::flow::Proto;
use crate::records::{Initiator, Item};

/// RFC 5103's enterprise number for reverse elements.
pub const REVERSE_PEN: u32 = 29305;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX: i64 = 2_208_988_800;

/// What a field means to a flow record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Ignore,
    /// sourceIPv4Address (8), destinationIPv4Address (12), sourceIPv6Address (27),
    /// destinationIPv6Address (28).
    SrcAddr,
    DstAddr,
    /// sourceTransportPort (7), destinationTransportPort (11).
    SrcPort,
    DstPort,
    /// protocolIdentifier (4).
    Proto,
    /// octetDeltaCount (1), packetDeltaCount (2); octetTotalCount (85), packetTotalCount (86).
    Octets,
    Packets,
    OctetsTotal,
    PacketsTotal,
    /// tcpControlBits (6): the low 8 bits.
    TcpFlags,
    /// vlanId (58).
    Vlan,
    /// flowStartSysUpTime (22), flowEndSysUpTime (21): ms.
    StartUptime,
    EndUptime,
    /// flowStart/EndSeconds (150, 151).
    StartSec,
    EndSec,
    /// flowStart/EndMilliseconds (152, 153).
    StartMs,
    EndMs,
    /// flowStart/EndMicroseconds (154, 155), flowStart/EndNanoseconds (156, 157): NTP format.
    StartNtp,
    EndNtp,
    /// flowStart/EndDeltaMicroseconds (158, 159): before the export time.
    StartDeltaUs,
    EndDeltaUs,
    /// systemInitTimeMilliseconds (160).
    SysInitMs,
    /// biflowDirection (239).
    BiflowDirection,
    /// samplingInterval (34), samplerRandomInterval (50).
    SamplingInterval,
    /// samplingPacketInterval (305), samplingPacketSpace (306).
    PacketInterval,
    PacketSpace,
}

/// The meaning of element `id` of enterprise `pen` (0: IANA's), and whether it is a reverse
/// element.
pub(super) fn kind(id: u16, pen: u32) -> (Kind, bool) {
    let reverse = match pen {
        0 => false,
        REVERSE_PEN => true,
        _ => return (Kind::Ignore, false),
    };
    let k = match id {
        8 | 27 => Kind::SrcAddr,
        12 | 28 => Kind::DstAddr,
        7 => Kind::SrcPort,
        11 => Kind::DstPort,
        4 => Kind::Proto,
        1 => Kind::Octets,
        2 => Kind::Packets,
        85 => Kind::OctetsTotal,
        86 => Kind::PacketsTotal,
        6 => Kind::TcpFlags,
        58 => Kind::Vlan,
        22 => Kind::StartUptime,
        21 => Kind::EndUptime,
        150 => Kind::StartSec,
        151 => Kind::EndSec,
        152 => Kind::StartMs,
        153 => Kind::EndMs,
        154 | 156 => Kind::StartNtp,
        155 | 157 => Kind::EndNtp,
        158 => Kind::StartDeltaUs,
        159 => Kind::EndDeltaUs,
        160 => Kind::SysInitMs,
        239 => Kind::BiflowDirection,
        34 | 50 => Kind::SamplingInterval,
        305 => Kind::PacketInterval,
        306 => Kind::PacketSpace,
        _ => Kind::Ignore,
    };
    // Reverse elements exist for counters, flags and times only.
    match (reverse, k) {
        (
            true,
            Kind::Octets
            | Kind::Packets
            | Kind::OctetsTotal
            | Kind::PacketsTotal
            | Kind::TcpFlags
            | Kind::StartUptime
            | Kind::EndUptime
            | Kind::StartSec
            | Kind::EndSec
            | Kind::StartMs
            | Kind::EndMs
            | Kind::StartNtp
            | Kind::EndNtp
            | Kind::StartDeltaUs
            | Kind::EndDeltaUs,
        ) => (k, true),
        (true, _) => (Kind::Ignore, false),
        (false, k) => (k, false),
    }
}

/// A time as a record gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Time {
    /// sysUptime ms: v5/v9 against the header, IPFIX against systemInitTimeMilliseconds.
    Uptime(u32),
    /// Absolute, ns since the epoch.
    Abs(i64),
    /// Microseconds before the export time.
    DeltaUs(u64),
}

/// One direction's counters, flags and times.
#[derive(Debug, Clone, Copy, Default)]
struct Dir {
    octets: Option<u64>,
    packets: Option<u64>,
    octets_total: Option<u64>,
    packets_total: Option<u64>,
    flags: Option<u8>,
    start: Option<Time>,
    end: Option<Time>,
    any: bool,
}

/// A data record's values.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Values {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    proto: Option<u8>,
    vlan: Option<u16>,
    fwd: Dir,
    rev: Dir,
    pub sys_init_ms: Option<u64>,
    biflow_direction: Option<u8>,
    pub sampling: Option<u32>,
    packet_interval: Option<u64>,
    packet_space: Option<u64>,
}

impl Values {
    /// The sampling rate the record names: samplingInterval, or (interval + space) / interval
    /// of samplingPacketInterval and samplingPacketSpace, rounded.
    pub fn sampling_rate(&self) -> Option<u32> {
        if let Some(s) = self.sampling.filter(|s| *s > 0) {
            return Some(s);
        }
        let i = self.packet_interval.filter(|i| *i > 0)?;
        let s = self.packet_space.unwrap_or(0);
        let rate = (i.saturating_add(s).saturating_add(i / 2)) / i;
        Some(u32::try_from(rate).unwrap_or(u32::MAX).max(1))
    }
}

/// An unsigned integer of 1 to 8 bytes (reduced-size encoding, RFC 7011 section 6.2); None
/// for any other length.
fn uint(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    Some(b.iter().fold(0u64, |n, &x| (n << 8) | u64::from(x)))
}

fn addr(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Some(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => None,
    }
}

/// An NTP timestamp (32 bits of seconds since 1900, 32 of fraction) as ns since the epoch,
/// the fraction truncated to the nanosecond.
fn ntp(v: u64) -> i64 {
    let secs = (v >> 32) as i64 - NTP_UNIX;
    let frac = ((v & 0xFFFF_FFFF) * 1_000_000_000) >> 32;
    secs * 1_000_000_000 + frac as i64
}

/// Reads one data record of `t` from the start of `b`: its values and its length. Err(())
/// when a variable-length field runs past `b`.
pub(super) fn read(t: &Template, b: &[u8]) -> Result<(Values, usize), ()> {
    let mut v = Values::default();
    let mut at = 0usize;
    for f in t.fields.iter() {
        let len = if f.len == VARIABLE {
            let first = *b.get(at).ok_or(())?;
            at += 1;
            if first == 255 {
                let two = b.get(at..at + 2).ok_or(())?;
                at += 2;
                usize::from(be16(two, 0))
            } else {
                usize::from(first)
            }
        } else {
            usize::from(f.len)
        };
        let value = b.get(at..at + len).ok_or(())?;
        at += len;
        apply(&mut v, f, value);
    }
    Ok((v, at))
}

fn apply(v: &mut Values, f: &Field, b: &[u8]) {
    let d = if f.reverse { &mut v.rev } else { &mut v.fwd };
    match f.kind {
        Kind::Ignore => {}
        Kind::SrcAddr => v.src = addr(b).or(v.src),
        Kind::DstAddr => v.dst = addr(b).or(v.dst),
        Kind::SrcPort => v.src_port = uint(b).map(|n| n as u16),
        Kind::DstPort => v.dst_port = uint(b).map(|n| n as u16),
        Kind::Proto => v.proto = uint(b).map(|n| n as u8),
        Kind::Vlan => v.vlan = uint(b).map(|n| (n & 0x0FFF) as u16),
        Kind::Octets => {
            d.octets = uint(b);
            d.any = true;
        }
        Kind::Packets => {
            d.packets = uint(b);
            d.any = true;
        }
        Kind::OctetsTotal => {
            d.octets_total = uint(b);
            d.any = true;
        }
        Kind::PacketsTotal => {
            d.packets_total = uint(b);
            d.any = true;
        }
        Kind::TcpFlags => d.flags = uint(b).map(|n| (n & 0xFF) as u8),
        Kind::StartUptime => d.start = uint(b).map(|n| Time::Uptime(n as u32)),
        Kind::EndUptime => d.end = uint(b).map(|n| Time::Uptime(n as u32)),
        Kind::StartSec => d.start = uint(b).map(|n| Time::Abs(sec_ns(n))),
        Kind::EndSec => d.end = uint(b).map(|n| Time::Abs(sec_ns(n))),
        Kind::StartMs => d.start = uint(b).map(|n| Time::Abs(ms_ns(n))),
        Kind::EndMs => d.end = uint(b).map(|n| Time::Abs(ms_ns(n))),
        Kind::StartNtp if b.len() == 8 => d.start = uint(b).map(|n| Time::Abs(ntp(n))),
        Kind::EndNtp if b.len() == 8 => d.end = uint(b).map(|n| Time::Abs(ntp(n))),
        Kind::StartNtp | Kind::EndNtp => {}
        Kind::StartDeltaUs => d.start = uint(b).map(Time::DeltaUs),
        Kind::EndDeltaUs => d.end = uint(b).map(Time::DeltaUs),
        Kind::SysInitMs => v.sys_init_ms = uint(b),
        Kind::BiflowDirection => v.biflow_direction = uint(b).map(|n| n as u8),
        Kind::SamplingInterval => {
            v.sampling = uint(b).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        }
        Kind::PacketInterval => v.packet_interval = uint(b),
        Kind::PacketSpace => v.packet_space = uint(b),
    }
}

fn sec_ns(s: u64) -> i64 {
    i64::try_from(s)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000)
}

fn ms_ns(ms: u64) -> i64 {
    i64::try_from(ms)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000)
}

/// What the message and the exporter's options data give to turn a record's times into ns.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    /// The message's export time, ns since the epoch.
    pub export_ns: i64,
    /// v5/v9: the header's sysUptime, ms (uptimes count back from the export time); None for
    /// IPFIX, whose uptimes count from `sys_init_ms`.
    pub sys_uptime_ms: Option<u32>,
    /// IPFIX systemInitTimeMilliseconds, from the record or the exporter's options data.
    pub sys_init_ms: Option<u64>,
}

impl Clock {
    pub fn ns(&self, t: Time) -> Option<i64> {
        match t {
            Time::Abs(ns) => Some(ns),
            Time::DeltaUs(us) => Some(
                self.export_ns
                    .saturating_sub(i64::try_from(us).unwrap_or(i64::MAX).saturating_mul(1000)),
            ),
            Time::Uptime(ms) => match (self.sys_uptime_ms, self.sys_init_ms) {
                // Milliseconds before the export, within 2^31 ms either way (sysUptime wraps
                // after 49.7 days).
                (Some(up), _) => {
                    let before = i64::from(up.wrapping_sub(ms) as i32);
                    Some(self.export_ns.saturating_sub(before * 1_000_000))
                }
                (None, Some(init)) => Some(ms_ns(init).saturating_add(i64::from(ms) * 1_000_000)),
                (None, None) => None,
            },
        }
    }
}

/// What a flow record became (moved once, to the caller: boxing would cost an allocation a
/// record).
#[allow(clippy::large_enum_variant)]
pub(super) enum Outcome {
    Item(Item),
    Skip(&'static str),
}

/// The half (or pair) of a flow data record; `sampling` and `observer` as the exporter says.
pub(super) fn finish(v: &Values, clock: &Clock, sampling: u32, observer: u64) -> Outcome {
    let proto = match v.proto {
        Some(6) => Proto::Tcp,
        Some(17) => Proto::Udp,
        Some(1 | 58) => return Outcome::Skip(SKIP_ICMP),
        Some(_) => return Outcome::Skip(SKIP_PROTO),
        None => return Outcome::Skip(SKIP_NO_PROTO),
    };
    let (Some(src), Some(dst)) = (v.src, v.dst) else {
        return Outcome::Skip(SKIP_NO_ADDR);
    };
    if src.is_ipv4() != dst.is_ipv4() {
        return Outcome::Skip(SKIP_MIXED);
    }
    let times = |d: &Dir, fallback: Option<(i64, i64)>| -> Result<(i64, i64), &'static str> {
        let start = d.start.or(d.end);
        let end = d.end.or(d.start);
        match (start, end) {
            (Some(s), Some(e)) => {
                let s = clock.ns(s).ok_or(SKIP_NO_INIT)?;
                let e = clock.ns(e).ok_or(SKIP_NO_INIT)?;
                Ok((s, e.max(s)))
            }
            _ => Ok(fallback.unwrap_or((clock.export_ns, clock.export_ns))),
        }
    };
    let (start, end) = match times(&v.fwd, None) {
        Ok(t) => t,
        Err(why) => return Outcome::Skip(why),
    };
    let mut fwd = Half::new(
        proto,
        src,
        v.src_port.unwrap_or(0),
        dst,
        v.dst_port.unwrap_or(0),
    );
    let fill = |h: &mut Half, d: &Dir, (s, e): (i64, i64)| {
        h.start_ns = s;
        h.end_ns = e;
        h.pkts = d.packets.or(d.packets_total).unwrap_or(0);
        h.ip_bytes = d.octets.or(d.octets_total).unwrap_or(0);
        h.tcp_flags = if proto == Proto::Tcp { d.flags } else { None };
        h.sampling = sampling.max(1);
        h.vlan = v.vlan;
        h.observer = observer;
    };
    fill(&mut fwd, &v.fwd, (start, end));
    if !v.rev.any {
        fwd.initiator = match v.biflow_direction {
            Some(1) => Initiator::Source,
            Some(2) => Initiator::Destination,
            _ => Initiator::Unknown,
        };
        return Outcome::Item(Item::Half(fwd));
    }
    let rev_times = match times(&v.rev, Some((start, end))) {
        Ok(t) => t,
        Err(why) => return Outcome::Skip(why),
    };
    let mut rev = Half::new(proto, fwd.dst, fwd.dst_port, fwd.src, fwd.src_port);
    fill(&mut rev, &v.rev, rev_times);
    let known = matches!(v.biflow_direction, Some(1 | 2));
    let (mut orig, mut resp) = if v.biflow_direction == Some(2) {
        (rev, fwd)
    } else {
        (fwd, rev)
    };
    if known {
        orig.initiator = Initiator::Source;
        resp.initiator = Initiator::Destination;
    }
    Outcome::Item(Item::Pair { orig, resp })
}
