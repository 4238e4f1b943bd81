//! What the record formats share: a record being filled field by field ([`Partial`]), the
//! values of its fields read from text, and the rules that complete it (Community ID,
//! direction) when a log does not carry them.

use std::net::IpAddr;

use super::half::HalfFlow;
use crate::decode::{Addr, TunnelKind, ipproto};
use crate::flow::service::parse_tls_version;
use crate::flow::{
    ConnState, FlowRecord, IcmpErrors, Proto, ServiceStatus, Text, TlsInfo, TunnelInfo,
    community_id,
};

/// Why a record that is not a TCP/UDP flow is skipped: Zeek logs ICMP "connections" too.
pub const SKIP_ICMP: &str = "icmp: flow records are TCP or UDP";
/// Zeek's `unknown_transport`: neither TCP, UDP nor ICMP.
pub const SKIP_OTHER: &str = "unknown_transport: flow records are TCP or UDP";

/// A line's transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transport {
    Flow(Proto),
    /// Not a flow record: skipped, with the reason.
    Skip(&'static str),
}

/// Zeek's `transport_proto` names.
pub(super) fn transport(s: &str) -> Result<Transport, String> {
    transport_bytes(s.as_bytes())
}

/// [`transport`], from bytes.
pub(super) fn transport_bytes(s: &[u8]) -> Result<Transport, String> {
    match s {
        b"tcp" => Ok(Transport::Flow(Proto::Tcp)),
        b"udp" => Ok(Transport::Flow(Proto::Udp)),
        b"icmp" => Ok(Transport::Skip(SKIP_ICMP)),
        b"unknown_transport" => Ok(Transport::Skip(SKIP_OTHER)),
        _ => Err(format!(
            "proto: {} is not tcp, udp, icmp or unknown_transport",
            shown(s)
        )),
    }
}

/// A flow record's `service`: Zeek's comma-separated analyzer names (`ssl,http`, `dns,vxlan`),
/// kept as the log writes them, white space around each name dropped; `-` and `(empty)` are none.
pub(super) fn service(s: &str) -> Text {
    let mut out = Text::default();
    for part in crate::flow::service::services(s) {
        if part == "-" || part == "(empty)" {
            continue;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(part);
    }
    out
}

/// A record's `service_status` ([`ServiceStatus::name`]).
pub(super) fn service_status(s: &str) -> Result<ServiceStatus, String> {
    ServiceStatus::from_name(s).ok_or_else(|| {
        format!(
            "service_status: {} is not one of known, unknown, no payload, mid-stream, cut, not in source",
            shown(s.as_bytes())
        )
    })
}

/// A TLS version as records write it (`TLSv12`; see [`parse_tls_version`]).
pub(super) fn tls_version(field: &str, s: &str) -> Result<u16, String> {
    parse_tls_version(s).ok_or_else(|| {
        format!(
            "{field}: {} is not a TLS version (SSLv2, SSLv3, TLSv10 ... TLSv13)",
            shown(s.as_bytes())
        )
    })
}

/// A tunnel kind of the `tunnel` object flowaudit writes, by its name.
pub(super) fn tunnel_kind(s: &str) -> Option<&'static str> {
    TunnelKind::ALL
        .iter()
        .map(|k| k.name())
        .find(|name| *name == s)
}

/// Zeek's conn_state code by its name.
pub(super) fn conn_state(s: &str) -> Result<ConnState, String> {
    conn_state_bytes(s.as_bytes())
}

/// [`conn_state`], from bytes: the commonest codes compared as short literals first.
pub(super) fn conn_state_bytes(s: &[u8]) -> Result<ConnState, String> {
    match s {
        b"SF" => Ok(ConnState::SF),
        b"S0" => Ok(ConnState::S0),
        b"OTH" => Ok(ConnState::OTH),
        b"REJ" => Ok(ConnState::REJ),
        _ => ConnState::ALL
            .iter()
            .find(|c| c.name().as_bytes() == s)
            .copied()
            .ok_or_else(|| format!("conn_state: {} is no Zeek state", shown(s))),
    }
}

/// A decimal number of seconds (`1300475167.096535`, `-0.5`, `1.5e3`) as nanoseconds, read
/// from its digits (no binary floating point): digits below a nanosecond are rounded, half
/// away from zero. None when it is not a number or does not fit.
pub(super) fn decimal_ns(t: &[u8]) -> Option<i64> {
    if let Some(ns) = super::fast::plain_secs_ns(t) {
        return Some(ns);
    }
    let (neg, t) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mant, exp) = match t.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => {
            let e = std::str::from_utf8(&t[i + 1..]).ok()?.parse::<i32>().ok()?;
            (&t[..i], e)
        }
        None => (t, 0),
    };
    let (int, mut frac) = match mant.iter().position(|&b| b == b'.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, &[][..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    while let [rest @ .., b'0'] = frac {
        frac = rest;
    }
    // The digits as one integer: 19 significant digits fit, more than a record needs.
    let mut n: u64 = 0;
    for &d in int.iter().chain(frac) {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    // value = n * 10^(exp - frac digits) seconds = n * 10^(exp - frac digits + 9) ns.
    let scale = i64::from(exp) + 9 - i64::try_from(frac.len()).ok()?;
    let ns = if n == 0 {
        0
    } else if scale >= 0 {
        n.checked_mul(10u64.checked_pow(u32::try_from(scale).ok()?)?)?
    } else {
        match u32::try_from(-scale)
            .ok()
            .and_then(|s| 10u64.checked_pow(s))
        {
            Some(d) => n / d + u64::from(n % d >= d.div_ceil(2)),
            None => 0,
        }
    };
    if neg {
        0i64.checked_sub_unsigned(ns)
    } else {
        i64::try_from(ns).ok()
    }
}

/// A value as an error message shows it: quoted, at most 40 characters.
pub(super) fn shown(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let mut cut: String = s.chars().take(40).collect();
    if cut.len() < s.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// Whether the direction of a record read from a log was inferred, when the log does not say
/// (Zeek has no such field). Zeek's history letters tell a handshake: `S` (the originator sent
/// a SYN without ACK) or `h` (the responder sent a SYN/ACK) mean a handshake packet made the
/// originator the client, as flowaudit's own rule does for packets (the sender of a SYN
/// without ACK, or the receiver of a SYN/ACK, is the client). Any other TCP history (mid-stream
/// traffic, only the responder's SYN) and every UDP record: inferred.
pub fn direction_inferred(proto: Proto, history: &str) -> bool {
    proto == Proto::Udp || !history.bytes().any(|b| b == b'S' || b == b'h')
}

fn addr(ip: IpAddr) -> (Addr, bool) {
    match ip {
        IpAddr::V4(a) => (Addr::v4(&a.octets()), false),
        IpAddr::V6(a) => (Addr::v6(&a.octets()), true),
    }
}

/// What one line turned into. The record is moved once, to the caller: boxing it would cost
/// an allocation a line.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub(super) enum Parsed {
    Record(FlowRecord),
    Skip(&'static str),
    /// One direction of a flow (EVE `netflow` events, VPC flow log lines).
    Half(HalfFlow),
    /// Both directions of one flow (EVE `flow` events): `orig` is the client's.
    Pair {
        orig: HalfFlow,
        resp: HalfFlow,
    },
}

/// A record being filled from a line; the fields a log leaves out keep these defaults.
#[derive(Debug, Default)]
pub(super) struct Partial {
    pub ts_ns: Option<i64>,
    pub uid: Text,
    pub orig_h: Option<IpAddr>,
    pub orig_p: Option<u16>,
    pub resp_h: Option<IpAddr>,
    pub resp_p: Option<u16>,
    pub proto: Option<Transport>,
    pub service: Text,
    pub service_status: Option<ServiceStatus>,
    pub tls_version: Option<u16>,
    pub tls_client_version: Option<u16>,
    pub tls_sni: Text,
    pub tls_sni_cut: bool,
    pub duration_ns: i64,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub conn_state: Option<ConnState>,
    pub missed_bytes: u64,
    pub history: Text,
    pub orig_pkts: u64,
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
    pub tunnel_parents: Vec<Text>,
    pub vlan: Vec<u16>,
    pub inner_vlan: Option<u16>,
    pub community_id: Option<Text>,
    pub direction_inferred: Option<bool>,
    pub syn_synack_ns: Option<i64>,
    pub synack_ack_ns: Option<i64>,
    pub rtt_ns: Option<i64>,
    pub icmp_errors: Option<IcmpErrors>,
    pub evicted: bool,
    pub bad_checksums: u32,
    pub tunnel: Option<TunnelInfo>,
    pub rejected: Option<&'static str>,
}

impl Partial {
    /// The record, once the required fields are there. A log without `conn_state` gives `OTH`
    /// (Zeek's "no SYN seen" catch-all); without `community_id`, it is computed from the
    /// endpoints; without `direction_inferred`, [`direction_inferred`] decides.
    pub fn finish(self) -> Result<Parsed, String> {
        let proto = match self.proto.ok_or("proto is unset")? {
            Transport::Flow(p) => p,
            Transport::Skip(why) => return Ok(Parsed::Skip(why)),
        };
        let ts_ns = self.ts_ns.ok_or("ts is unset")?;
        let orig_h = self.orig_h.ok_or("id.orig_h is unset")?;
        let orig_p = self.orig_p.ok_or("id.orig_p is unset")?;
        let resp_h = self.resp_h.ok_or("id.resp_h is unset")?;
        let resp_p = self.resp_p.ok_or("id.resp_p is unset")?;
        let (oa, v6) = addr(orig_h);
        let (ra, resp_v6) = addr(resp_h);
        if v6 != resp_v6 {
            return Err("id.orig_h and id.resp_h are not of one address family".into());
        }
        let community_id = self.community_id.unwrap_or_else(|| {
            let n = match proto {
                Proto::Tcp => ipproto::TCP,
                Proto::Udp => ipproto::UDP,
            };
            community_id(n, v6, &oa, orig_p, &ra, resp_p)
        });
        let direction_inferred = self
            .direction_inferred
            .unwrap_or_else(|| direction_inferred(proto, &self.history));
        let mut vlan = self.vlan;
        vlan.extend(self.inner_vlan);
        Ok(Parsed::Record(FlowRecord {
            ts_ns,
            uid: self.uid,
            orig_h,
            orig_p,
            resp_h,
            resp_p,
            proto,
            duration_ns: self.duration_ns,
            orig_bytes: self.orig_bytes,
            resp_bytes: self.resp_bytes,
            conn_state: self.conn_state.unwrap_or(ConnState::OTH),
            missed_bytes: self.missed_bytes,
            history: self.history,
            orig_pkts: self.orig_pkts,
            orig_ip_bytes: self.orig_ip_bytes,
            resp_pkts: self.resp_pkts,
            resp_ip_bytes: self.resp_ip_bytes,
            vlan,
            community_id,
            direction_inferred,
            syn_synack_ns: self.syn_synack_ns,
            synack_ack_ns: self.synack_ack_ns,
            rtt_ns: self.rtt_ns,
            icmp_errors: self.icmp_errors,
            evicted: self.evicted,
            service_status: self
                .service_status
                .unwrap_or_else(|| ServiceStatus::of_source(&self.service)),
            tls: (self.tls_version.is_some()
                || self.tls_client_version.is_some()
                || !self.tls_sni.is_empty()
                || self.tls_sni_cut)
                .then_some(TlsInfo {
                    version: self.tls_version,
                    client_version: self.tls_client_version,
                    sni: self.tls_sni,
                    sni_cut: self.tls_sni_cut,
                }),
            service: self.service,
            tunnel: self.tunnel,
            tunnel_parents: self.tunnel_parents,
            bad_checksums: self.bad_checksums,
            rejected: self.rejected,
        }))
    }
}
