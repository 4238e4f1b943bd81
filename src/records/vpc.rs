//! AWS VPC flow logs: space-separated lines, one per flow direction, network interface and
//! aggregation interval. The default format (version 2, no header line) has 14 fields:
//! `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes
//! start end action log-status`; a custom format names its fields, in its order, on a header
//! line (as flow logs delivered to S3 start), e.g. `version vpc-id subnet-id instance-id
//! interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr
//! protocol bytes packets start end action tcp-flags log-status`. The fields of AWS's "Flow
//! log records" table are known by name ([`FIELDS`]); names not in it are ignored; `-` is an
//! unset value. A header line may come again (concatenated objects) and
//! sets the fields of the lines after it.
//!
//! Each line becomes an [`Item::Half`](super::Item::Half): packets from the source to the
//! destination address as logged.
//! - Addresses: `srcaddr`/`dstaddr` are the interface's view (its own private address on the
//!   side it is on); `pkt-srcaddr`/`pkt-dstaddr` are the addresses in the packets' IP header.
//!   They differ where a NAT gateway, a load balancer or a middlebox interface forwards
//!   traffic: there the packet addresses are the real endpoints, the ones another sensor (a
//!   capture, Suricata, NetFlow) records and the rules name, and the two directions of one
//!   connection logged at the forwarding interface mirror each other. So a half is keyed by
//!   `pkt-srcaddr`/`pkt-dstaddr` when the format has them and they are set, else by
//!   `srcaddr`/`dstaddr`. Ports are always `srcport`/`dstport` (VPC logs no packet ports).
//! - `protocol` is the IANA number: 6 (TCP) and 17 (UDP) are read; ICMP (1, 58) is skipped as
//!   [`SKIP_ICMP`], every other protocol as [`SKIP_PROTO`].
//! - `log-status` `NODATA` (no traffic in the interval) and `SKIPDATA` (records lost for
//!   capacity) lines are skipped with their reason ([`SKIP_NODATA`], [`SKIP_SKIPDATA`]).
//! - `action` `REJECT` (blocked by a security group or network ACL) sets
//!   [`HalfFlow::rejected`] to [`REJECTED`]; `ACCEPT` leaves it unset.
//! - `tcp-flags`: AWS ORs only FIN (1), SYN (2), RST (4) and SYN-ACK (18 = SYN | ACK) of the
//!   interval's packets; the bits are NetFlow's, so the value is kept as it is. It is an
//!   approximation of the OR of all flags: ACK is set only by a SYN-ACK, PSH and URG never
//!   appear, and 0 means "no SYN, FIN or RST in this interval", not "no flags". SYN without
//!   ACK still tells the initiator.
//! - `interface-id` is the observation point: [`HalfFlow::observer`] is a stable hash of it
//!   (FNV-1a, 64 bits), so halves pair only with halves logged at the same interface; 0 when
//!   the format has no interface-id.
//! - `flow-direction` (`ingress`/`egress`) and `traffic-path` are checked, not carried: they
//!   tell the side of the interface, not which end started the connection.
//!
//! What VPC flow logs cannot show:
//! - **Times are aggregation windows.** `start` and `end` are whole seconds: the first and
//!   last packet of the flow within an aggregation interval (up to 10 minutes, 1 minute on
//!   Nitro instances), which AWS notes may lag the packets by up to 60 s. A long connection
//!   is several lines, one per interval; a flow's duration and bandwidth peaks are only as
//!   fine as that.
//! - No handshake RTT, no per-packet timing; TCP state from the flags above is an
//!   approximation. Not sampled: every packet of the interface is counted (but a `SKIPDATA`
//!   line says records were lost).
//! - `bytes` are IP bytes (headers included), as [`HalfFlow::ip_bytes`] counts them.

use std::net::IpAddr;

use super::half::HalfFlow;
use super::values::{Parsed, SKIP_ICMP, decimal_ns, shown};
use crate::flow::Proto;

/// Why a `NODATA` line is skipped.
pub const SKIP_NODATA: &str = "vpc NODATA: no traffic on the interface in the interval";
/// Why a `SKIPDATA` line is skipped.
pub const SKIP_SKIPDATA: &str = "vpc SKIPDATA: records lost in the interval (capacity)";
/// Why a line of a protocol other than TCP, UDP or ICMP is skipped.
pub const SKIP_PROTO: &str =
    "vpc protocol other than TCP (6), UDP (17) or ICMP: flow records are TCP or UDP";
/// [`HalfFlow::rejected`] of a `REJECT` line.
pub const REJECTED: &str = "vpc REJECT";

/// The fields read from a line; every other known field is [`Field::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Version,
    InterfaceId,
    SrcAddr,
    DstAddr,
    SrcPort,
    DstPort,
    Protocol,
    Packets,
    Bytes,
    Start,
    End,
    Action,
    LogStatus,
    TcpFlags,
    PktSrcAddr,
    PktDstAddr,
    FlowDirection,
    TrafficPath,
    /// A known field flowaudit does not read (account-id, vpc-id, ecs-task-arn, ...), or an
    /// unknown one.
    Other,
}

/// The fields of AWS's "Flow log records" table, as a header line names them.
pub const FIELDS: [&str; 42] = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
    "resource-id",
    "encryption-status",
];

/// The default format's fields (version 2), in order.
pub const DEFAULT: [&str; 14] = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// The fields a line cannot do without.
pub const REQUIRED: [&str; 7] = [
    "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "start", "end",
];

fn field(name: &str) -> Field {
    match name {
        "version" => Field::Version,
        "interface-id" => Field::InterfaceId,
        "srcaddr" => Field::SrcAddr,
        "dstaddr" => Field::DstAddr,
        "srcport" => Field::SrcPort,
        "dstport" => Field::DstPort,
        "protocol" => Field::Protocol,
        "packets" => Field::Packets,
        "bytes" => Field::Bytes,
        "start" => Field::Start,
        "end" => Field::End,
        "action" => Field::Action,
        "log-status" => Field::LogStatus,
        "tcp-flags" => Field::TcpFlags,
        "pkt-srcaddr" => Field::PktSrcAddr,
        "pkt-dstaddr" => Field::PktDstAddr,
        "flow-direction" => Field::FlowDirection,
        "traffic-path" => Field::TrafficPath,
        _ => Field::Other,
    }
}

/// A token shaped like a field name: a lowercase letter, then lowercase letters, digits, `-`.
fn name_shaped(t: &str) -> bool {
    let mut b = t.bytes();
    b.next().is_some_and(|c| c.is_ascii_lowercase())
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// Whether `line` is a header line: every token shaped like a field name, one at least a
/// known field (a row of ids such as `vpc-1 subnet-2` names none).
pub(super) fn is_header(line: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(line) else {
        return false;
    };
    let mut any = false;
    for t in s.split_ascii_whitespace() {
        if !name_shaped(t) {
            return false;
        }
        any |= FIELDS.contains(&t);
    }
    any
}

/// Whether `line` starts a VPC flow log: a header line, or a default-format line (14 fields,
/// version 2).
pub(super) fn probe(line: &[u8]) -> bool {
    if is_header(line) {
        return true;
    }
    let Ok(s) = std::str::from_utf8(line) else {
        return false;
    };
    let mut t = s.split_ascii_whitespace();
    t.next() == Some("2") && t.count() == DEFAULT.len() - 1
}

/// The fields of the lines being read: the default format until a header line names others.
pub(super) struct Vpc {
    cols: Vec<Field>,
    /// The last header line lacks this required field: its rows cannot be read.
    missing: Option<&'static str>,
}

impl Default for Vpc {
    fn default() -> Self {
        Vpc {
            cols: DEFAULT.iter().map(|n| field(n)).collect(),
            missing: None,
        }
    }
}

/// A line's values by field, `None` when the format lacks the field.
#[derive(Default)]
struct Raw<'a> {
    version: Option<&'a str>,
    interface: Option<&'a str>,
    srcaddr: Option<&'a str>,
    dstaddr: Option<&'a str>,
    srcport: Option<&'a str>,
    dstport: Option<&'a str>,
    protocol: Option<&'a str>,
    packets: Option<&'a str>,
    bytes: Option<&'a str>,
    start: Option<&'a str>,
    end: Option<&'a str>,
    action: Option<&'a str>,
    log_status: Option<&'a str>,
    tcp_flags: Option<&'a str>,
    pkt_src: Option<&'a str>,
    pkt_dst: Option<&'a str>,
    flow_direction: Option<&'a str>,
    traffic_path: Option<&'a str>,
}

/// A value, unless unset (`-`).
fn set(v: Option<&str>) -> Option<&str> {
    v.filter(|v| *v != "-")
}

fn required<'a>(name: &str, v: Option<&'a str>) -> Result<&'a str, String> {
    set(v).ok_or_else(|| format!("{name} is unset"))
}

fn number<T: std::str::FromStr>(name: &str, v: &str, what: &str) -> Result<T, String> {
    // Digits only: `+1` or ` 1` are no numbers AWS writes.
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name}: {} is not {what}", shown(v.as_bytes())));
    }
    v.parse()
        .map_err(|_| format!("{name}: {} is not {what}", shown(v.as_bytes())))
}

fn ip(name: &str, v: &str) -> Result<IpAddr, String> {
    v.parse()
        .map_err(|_| format!("{name}: {} is not an IP address", shown(v.as_bytes())))
}

fn seconds(name: &str, v: &str) -> Result<i64, String> {
    if !v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "{name}: {} is not a time in Unix seconds",
            shown(v.as_bytes())
        ));
    }
    decimal_ns(v.as_bytes()).ok_or_else(|| {
        format!(
            "{name}: {} is not a time in Unix seconds",
            shown(v.as_bytes())
        )
    })
}

/// FNV-1a, 64 bits: a hash that stays the same across runs and builds.
pub fn observer(interface_id: &str) -> u64 {
    interface_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h: u64, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

impl Vpc {
    /// Reads a header line: its fields become the current format. An error when it lacks a
    /// field a line needs (its rows are then malformed until the next header).
    pub(super) fn header(&mut self, line: &[u8]) -> Result<(), String> {
        let s = std::str::from_utf8(line).map_err(|_| "header is not UTF-8".to_string())?;
        self.cols = s.split_ascii_whitespace().map(field).collect();
        self.missing = REQUIRED
            .iter()
            .find(|r| !s.split_ascii_whitespace().any(|t| t == **r))
            .copied();
        match self.missing {
            Some(m) => Err(format!("header: no `{m}` field, which a flow record needs")),
            None => Ok(()),
        }
    }

    /// Reads one line.
    pub(super) fn row(&self, line: &[u8]) -> Result<Parsed, String> {
        if let Some(m) = self.missing {
            return Err(format!("the header has no `{m}` field"));
        }
        let s = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_string())?;
        let mut r = Raw::default();
        let mut n = 0usize;
        for t in s.split_ascii_whitespace() {
            let f = self.cols.get(n).copied();
            n += 1;
            let slot = match f {
                None => continue,
                Some(Field::Version) => &mut r.version,
                Some(Field::InterfaceId) => &mut r.interface,
                Some(Field::SrcAddr) => &mut r.srcaddr,
                Some(Field::DstAddr) => &mut r.dstaddr,
                Some(Field::SrcPort) => &mut r.srcport,
                Some(Field::DstPort) => &mut r.dstport,
                Some(Field::Protocol) => &mut r.protocol,
                Some(Field::Packets) => &mut r.packets,
                Some(Field::Bytes) => &mut r.bytes,
                Some(Field::Start) => &mut r.start,
                Some(Field::End) => &mut r.end,
                Some(Field::Action) => &mut r.action,
                Some(Field::LogStatus) => &mut r.log_status,
                Some(Field::TcpFlags) => &mut r.tcp_flags,
                Some(Field::PktSrcAddr) => &mut r.pkt_src,
                Some(Field::PktDstAddr) => &mut r.pkt_dst,
                Some(Field::FlowDirection) => &mut r.flow_direction,
                Some(Field::TrafficPath) => &mut r.traffic_path,
                Some(Field::Other) => continue,
            };
            *slot = Some(t);
        }
        if n != self.cols.len() {
            return Err(format!("{n} fields, the format has {}", self.cols.len()));
        }
        match set(r.log_status) {
            None | Some("OK") => {}
            Some("NODATA") => return Ok(Parsed::Skip(SKIP_NODATA)),
            Some("SKIPDATA") => return Ok(Parsed::Skip(SKIP_SKIPDATA)),
            Some(v) => {
                return Err(format!(
                    "log-status: {} is not OK, NODATA or SKIPDATA",
                    shown(v.as_bytes())
                ));
            }
        }
        if let Some(v) = set(r.version) {
            number::<u32>("version", v, "a version number")?;
        }
        let proto = match number::<u8>(
            "protocol",
            required("protocol", r.protocol)?,
            "a protocol number",
        )? {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            1 | 58 => return Ok(Parsed::Skip(SKIP_ICMP)),
            _ => return Ok(Parsed::Skip(SKIP_PROTO)),
        };
        let srcaddr = ip("srcaddr", required("srcaddr", r.srcaddr)?)?;
        let dstaddr = ip("dstaddr", required("dstaddr", r.dstaddr)?)?;
        let src = match set(r.pkt_src) {
            Some(v) => ip("pkt-srcaddr", v)?,
            None => srcaddr,
        };
        let dst = match set(r.pkt_dst) {
            Some(v) => ip("pkt-dstaddr", v)?,
            None => dstaddr,
        };
        if src.is_ipv4() != dst.is_ipv4() {
            return Err("source and destination are not of one address family".into());
        }
        let sport = number("srcport", required("srcport", r.srcport)?, "a port")?;
        let dport = number("dstport", required("dstport", r.dstport)?, "a port")?;
        let mut h = HalfFlow::new(proto, src, sport, dst, dport);
        if r.packets.is_some() {
            h.pkts = number("packets", required("packets", r.packets)?, "a count")?;
        }
        if r.bytes.is_some() {
            h.ip_bytes = number("bytes", required("bytes", r.bytes)?, "a count")?;
        }
        h.start_ns = seconds("start", required("start", r.start)?)?;
        h.end_ns = seconds("end", required("end", r.end)?)?;
        if h.end_ns < h.start_ns {
            return Err("end is before start".into());
        }
        match set(r.action) {
            None | Some("ACCEPT") => {}
            Some("REJECT") => h.rejected = Some(REJECTED),
            Some(v) => {
                return Err(format!(
                    "action: {} is not ACCEPT or REJECT",
                    shown(v.as_bytes())
                ));
            }
        }
        if let Some(v) = set(r.tcp_flags) {
            let f: u8 = number("tcp-flags", v, "TCP flags (0 to 255)")?;
            if proto == Proto::Tcp {
                h.tcp_flags = Some(f);
            }
        }
        match set(r.flow_direction) {
            None | Some("ingress" | "egress") => {}
            Some(v) => {
                return Err(format!(
                    "flow-direction: {} is not ingress or egress",
                    shown(v.as_bytes())
                ));
            }
        }
        if let Some(v) = set(r.traffic_path) {
            number::<u8>("traffic-path", v, "a traffic path number")?;
        }
        if let Some(v) = set(r.interface) {
            h.observer = observer(v);
        }
        Ok(Parsed::Half(h))
    }
}
