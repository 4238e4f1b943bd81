//! NetFlow v5: a 24-byte header and up to 30 fixed 48-byte IPv4 flow records.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::record::Clock;
use super::{Collector, Half, MessageStats, NetflowError, V5, be16, be32, need, observer};
use crate::flow::Proto;
use crate::records::Item;

mod header {
    /// Version: 5.
    pub const VERSION: usize = 0;
    /// Records in the message.
    pub const COUNT: usize = 2;
    /// Milliseconds since the exporter booted.
    pub const SYS_UPTIME: usize = 4;
    /// Export time: seconds since the epoch.
    pub const UNIX_SECS: usize = 8;
    /// Export time: nanoseconds past the second.
    pub const UNIX_NSECS: usize = 12;
    /// Flows exported before this message (not read).
    pub const _FLOW_SEQUENCE: usize = 16;
    /// Type and id of the flow-switching engine (1 byte each): the observation domain here.
    pub const ENGINE_TYPE: usize = 20;
    pub const ENGINE_ID: usize = 21;
    /// Sampling: 2 bits of mode, 14 of interval (0: unsampled).
    pub const SAMPLING: usize = 22;
    /// Header length, bytes.
    pub const LEN: usize = 24;
}

mod rec {
    /// Source and destination IPv4 address.
    pub const SRCADDR: usize = 0;
    pub const DSTADDR: usize = 4;
    /// Packets of the flow.
    pub const DPKTS: usize = 16;
    /// IP bytes of the flow (IP headers included).
    pub const DOCTETS: usize = 20;
    /// sysUptime at the first and last packet, ms.
    pub const FIRST: usize = 24;
    pub const LAST: usize = 28;
    /// Source and destination port.
    pub const SRCPORT: usize = 32;
    pub const DSTPORT: usize = 34;
    /// OR of the TCP flags.
    pub const TCP_FLAGS: usize = 37;
    /// IP protocol.
    pub const PROT: usize = 38;
    /// Record length, bytes.
    pub const LEN: usize = 48;
}

pub(super) fn message(
    _c: &mut Collector,
    exporter: SocketAddr,
    b: &[u8],
    ms: &mut MessageStats,
    out: &mut Vec<Item>,
) -> Result<(), NetflowError> {
    ms.version = V5;
    let h = need(b, header::LEN, "v5 header")?;
    debug_assert_eq!(be16(h, header::VERSION), V5);
    let count = be16(h, header::COUNT);
    let fit = (b.len() - header::LEN) / rec::LEN;
    if usize::from(count) > fit {
        return Err(NetflowError::Count { count, fit });
    }
    let secs = i64::from(be32(h, header::UNIX_SECS));
    let nsecs = i64::from(be32(h, header::UNIX_NSECS));
    let clock = Clock {
        export_ns: secs * 1_000_000_000 + nsecs,
        sys_uptime_ms: Some(be32(h, header::SYS_UPTIME)),
        sys_init_ms: None,
    };
    let interval = u32::from(be16(h, header::SAMPLING) & 0x3FFF).max(1);
    let domain = u32::from(h[header::ENGINE_TYPE]) << 8 | u32::from(h[header::ENGINE_ID]);
    let obs = observer(exporter.ip(), domain);
    for r in b[header::LEN..]
        .chunks_exact(rec::LEN)
        .take(usize::from(count))
    {
        let proto = match r[rec::PROT] {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            1 => {
                *ms.skipped.entry(super::SKIP_ICMP).or_insert(0) += 1;
                continue;
            }
            _ => {
                *ms.skipped.entry(super::SKIP_PROTO).or_insert(0) += 1;
                continue;
            }
        };
        let v4 = |at: usize| IpAddr::V4(Ipv4Addr::from(be32(r, at)));
        let mut h = Half::new(
            proto,
            v4(rec::SRCADDR),
            be16(r, rec::SRCPORT),
            v4(rec::DSTADDR),
            be16(r, rec::DSTPORT),
        );
        let t = |at: usize| clock.ns(super::record::Time::Uptime(be32(r, at)));
        // Uptimes always convert with the header's sysUptime.
        let start = t(rec::FIRST).unwrap_or(clock.export_ns);
        let end = t(rec::LAST).unwrap_or(clock.export_ns);
        h.start_ns = start;
        h.end_ns = end.max(start);
        h.pkts = u64::from(be32(r, rec::DPKTS));
        h.ip_bytes = u64::from(be32(r, rec::DOCTETS));
        h.tcp_flags = (proto == Proto::Tcp).then_some(r[rec::TCP_FLAGS]);
        h.sampling = interval;
        h.observer = obs;
        out.push(Item::Half(h));
        ms.records += 1;
    }
    Ok(())
}
