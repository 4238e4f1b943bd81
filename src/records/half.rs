//! One direction of a flow, as one-directional flow records have it: NetFlow v5/v9 and IPFIX
//! records (without RFC 5103 reverse fields), Suricata EVE `netflow` events and AWS VPC flow
//! log lines. Such halves are paired into bidirectional [`FlowRecord`]s by 5-tuple and time
//! before the audit sees them.
//!
//! [`FlowRecord`]: crate::flow::FlowRecord

use std::net::IpAddr;

use crate::flow::Proto;
use crate::flow::service::KNOWN;

/// TCP flag bits as NetFlow's `tcp_flags` (and VPC's `tcp-flags`) OR them.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
}

/// What the exporter says about the direction of a half, besides its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Initiator {
    /// Nothing: direction is decided by TCP flags, then by inference.
    #[default]
    Unknown,
    /// The source started the connection (IPFIX `biflowDirection` initiator, EVE `netflow`
    /// events of a flow's to-server side).
    Source,
    /// The destination started it (the half is a reply).
    Destination,
}

/// One direction of a flow: packets from `src` to `dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HalfFlow {
    /// First packet's time, ns since the epoch.
    pub start_ns: i64,
    /// Last packet's time, ns since the epoch (>= `start_ns`).
    pub end_ns: i64,
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub proto: Proto,
    /// Packets, as recorded (before any sampling scale).
    pub pkts: u64,
    /// IP bytes (IP headers included, as NetFlow's octets and VPC's bytes count them), as
    /// recorded (before any sampling scale). Suricata EVE's counts are larger: whole captured
    /// packets, link-layer header included (see [`eve`](super::eve)).
    pub ip_bytes: u64,
    /// The OR of the TCP flags of the half's packets, when the source records them.
    pub tcp_flags: Option<u8>,
    /// 1 in `sampling` packets was counted (1: unsampled). Pairing multiplies `pkts` and
    /// `ip_bytes` by it.
    pub sampling: u32,
    pub initiator: Initiator,
    /// The source says the traffic was blocked (AWS VPC `REJECT`): the reason shown in a
    /// `failed` finding.
    pub rejected: Option<&'static str>,
    /// The exporter's id for the flow, when it has one (Suricata's `flow_id`): used as the
    /// paired record's uid.
    pub flow_id: Option<u64>,
    /// VLAN id, when recorded.
    pub vlan: Option<u16>,
    /// The observation point within the input (a hash of the exporter's address and
    /// observation domain or source id, of a VPC line's interface-id; 0 when the source has
    /// one point). Halves pair only with halves of the same point: the same packets seen at
    /// two points are two records of one connection, merged later by Community ID, never added.
    pub observer: u64,
    /// The flow's Community ID (v1, base64), when the source records it (Suricata EVE's
    /// `community_id`); None: computed from the endpoints when needed.
    pub community_id: Option<crate::flow::Text>,
    /// The application protocol the source identified (Suricata EVE's `app_proto`), as Zeek
    /// names it; [`APP_UNKNOWN`] when the source tried and failed. None: not recorded.
    pub service: Option<&'static str>,
}

/// [`HalfFlow::service`] of a flow whose source could not identify its protocol (Suricata's
/// `app_proto` `failed`).
pub const APP_UNKNOWN: &str = "";

/// A service as one byte, so that the pairing keeps one byte per side instead of a 16-byte
/// reference: 0 for none, 1 for [`APP_UNKNOWN`], else 2 + its place in Zeek's names
/// ([`KNOWN`]; a name outside them is none).
pub fn service_code(s: Option<&str>) -> u8 {
    match s {
        None => 0,
        Some(APP_UNKNOWN) => 1,
        Some(s) => KNOWN
            .iter()
            .position(|&k| k == s)
            .map_or(0, |i| i as u8 + 2),
    }
}

/// The service of [`service_code`]'s byte.
pub fn service_of(code: u8) -> Option<&'static str> {
    match code {
        0 => None,
        1 => Some(APP_UNKNOWN),
        c => KNOWN.get(usize::from(c) - 2).copied(),
    }
}

impl HalfFlow {
    /// A half with the given endpoints and nothing counted yet: sources fill in the rest.
    pub fn new(proto: Proto, src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> Self {
        HalfFlow {
            start_ns: 0,
            end_ns: 0,
            src,
            src_port,
            dst,
            dst_port,
            proto,
            pkts: 0,
            ip_bytes: 0,
            tcp_flags: None,
            sampling: 1,
            initiator: Initiator::Unknown,
            rejected: None,
            flow_id: None,
            vlan: None,
            observer: 0,
            community_id: None,
            service: None,
        }
    }
}
