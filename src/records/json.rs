//! JSON lines: Zeek's JSON conn.log (`LogAscii::use_json`) and flowaudit's own records
//! (`flows`, `--flows-out`), which use the same names. One object per line, read into a typed,
//! borrowing struct (no `serde_json::Value` per line); times are read from the number's text
//! (`RawValue`), never through a float. Fields flowaudit adds (`community_id`,
//! `direction_inferred`, `syn_synack`, `synack_ack`, `rtt`, `icmp_errors`, `evicted`,
//! `bad_checksums`, `tunnel`) are read where present; unknown fields (`local_orig`, `rule`,
//! `verdict`, ...) are ignored.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::values::{Parsed, Partial, conn_state, decimal_ns, service, shown, transport};
use crate::flow::{IcmpErrors, TunnelInfo};

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    ts: Option<&'a RawValue>,
    #[serde(borrow)]
    uid: Option<Cow<'a, str>>,
    #[serde(rename = "id.orig_h", borrow)]
    orig_h: Option<Cow<'a, str>>,
    #[serde(rename = "id.orig_p")]
    orig_p: Option<u16>,
    #[serde(rename = "id.resp_h", borrow)]
    resp_h: Option<Cow<'a, str>>,
    #[serde(rename = "id.resp_p")]
    resp_p: Option<u16>,
    #[serde(borrow)]
    proto: Option<Cow<'a, str>>,
    #[serde(borrow)]
    service: Option<Cow<'a, str>>,
    #[serde(borrow)]
    duration: Option<&'a RawValue>,
    orig_bytes: Option<u64>,
    resp_bytes: Option<u64>,
    #[serde(borrow)]
    conn_state: Option<Cow<'a, str>>,
    missed_bytes: Option<u64>,
    #[serde(borrow)]
    history: Option<Cow<'a, str>>,
    orig_pkts: Option<u64>,
    orig_ip_bytes: Option<u64>,
    resp_pkts: Option<u64>,
    resp_ip_bytes: Option<u64>,
    #[serde(borrow)]
    tunnel_parents: Option<Vec<Cow<'a, str>>>,
    /// Zeek's vlan-logging: a number; flowaudit's: an array, outer first.
    #[serde(borrow)]
    vlan: Option<&'a RawValue>,
    inner_vlan: Option<u16>,
    #[serde(borrow)]
    community_id: Option<Cow<'a, str>>,
    direction_inferred: Option<bool>,
    #[serde(borrow)]
    syn_synack: Option<&'a RawValue>,
    #[serde(borrow)]
    synack_ack: Option<&'a RawValue>,
    #[serde(borrow)]
    rtt: Option<&'a RawValue>,
    icmp_errors: Option<Icmp>,
    evicted: Option<bool>,
    bad_checksums: Option<u32>,
    #[serde(borrow)]
    tunnel: Option<Tunnel<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Icmp {
    count: u32,
    last_type: u8,
    last_code: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tunnel<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    src: Cow<'a, str>,
    #[serde(borrow)]
    dst: Cow<'a, str>,
    id: Option<u32>,
    depth: u8,
}

/// The names that tell which JSON format a line is.
#[derive(Deserialize)]
struct Probe {
    ts: Option<serde::de::IgnoredAny>,
    #[serde(rename = "id.orig_h")]
    orig_h: Option<serde::de::IgnoredAny>,
    direction_inferred: Option<serde::de::IgnoredAny>,
    rtt: Option<serde::de::IgnoredAny>,
}

/// Which JSON format `line` is: `Some(true)` for flowaudit's records (they have
/// `direction_inferred` or `rtt`), `Some(false)` for Zeek's conn.log, None for neither.
pub(super) fn probe(line: &[u8]) -> Option<bool> {
    let p: Probe = serde_json::from_slice(line).ok()?;
    if p.ts.is_none() || p.orig_h.is_none() {
        return None;
    }
    Some(p.direction_inferred.is_some() || p.rtt.is_some())
}

fn time(name: &str, v: &RawValue) -> Result<i64, String> {
    decimal_ns(v.get().as_bytes()).ok_or_else(|| {
        format!(
            "{name}: {} is not a time in seconds",
            shown(v.get().as_bytes())
        )
    })
}

fn opt_time(name: &str, v: Option<&RawValue>) -> Result<Option<i64>, String> {
    match v {
        Some(v) if v.get() != "null" => time(name, v).map(Some),
        _ => Ok(None),
    }
}

fn ip(name: &str, s: &str) -> Result<IpAddr, String> {
    s.parse()
        .map_err(|_| format!("{name}: {} is not an IP address", shown(s.as_bytes())))
}

/// Reads one JSON line into a record.
pub(super) fn line(bytes: &[u8]) -> Result<Parsed, String> {
    let l: Line<'_> = serde_json::from_slice(bytes).map_err(|e| format!("not a record: {e}"))?;
    let mut p = Partial {
        ts_ns: opt_time("ts", l.ts)?,
        uid: l.uid.map(Cow::into_owned).unwrap_or_default(),
        orig_h: l
            .orig_h
            .as_deref()
            .map(|s| ip("id.orig_h", s))
            .transpose()?,
        orig_p: l.orig_p,
        resp_h: l
            .resp_h
            .as_deref()
            .map(|s| ip("id.resp_h", s))
            .transpose()?,
        resp_p: l.resp_p,
        proto: l.proto.as_deref().map(transport).transpose()?,
        service: l.service.as_deref().and_then(service),
        duration_ns: opt_time("duration", l.duration)?.unwrap_or(0),
        orig_bytes: l.orig_bytes.unwrap_or(0),
        resp_bytes: l.resp_bytes.unwrap_or(0),
        conn_state: l.conn_state.as_deref().map(conn_state).transpose()?,
        missed_bytes: l.missed_bytes.unwrap_or(0),
        history: l.history.map(Cow::into_owned).unwrap_or_default(),
        orig_pkts: l.orig_pkts.unwrap_or(0),
        orig_ip_bytes: l.orig_ip_bytes.unwrap_or(0),
        resp_pkts: l.resp_pkts.unwrap_or(0),
        resp_ip_bytes: l.resp_ip_bytes.unwrap_or(0),
        tunnel_parents: l
            .tunnel_parents
            .unwrap_or_default()
            .into_iter()
            .map(Cow::into_owned)
            .collect(),
        vlan: Vec::new(),
        inner_vlan: l.inner_vlan,
        community_id: l.community_id.map(Cow::into_owned),
        direction_inferred: l.direction_inferred,
        syn_synack_ns: opt_time("syn_synack", l.syn_synack)?,
        synack_ack_ns: opt_time("synack_ack", l.synack_ack)?,
        rtt_ns: opt_time("rtt", l.rtt)?,
        icmp_errors: l.icmp_errors.map(|e| IcmpErrors {
            count: e.count,
            last_type: e.last_type,
            last_code: e.last_code,
        }),
        evicted: l.evicted.unwrap_or(false),
        bad_checksums: l.bad_checksums.unwrap_or(0),
        tunnel: None,
    };
    if let Some(v) = l.vlan {
        p.vlan = match v.get().as_bytes().first() {
            Some(b'[') => serde_json::from_str(v.get()),
            Some(b'n') => Ok(Vec::new()),
            _ => serde_json::from_str::<u16>(v.get()).map(|id| vec![id]),
        }
        .map_err(|_| {
            format!(
                "vlan: {} is not a VLAN id or a list of them",
                shown(v.get().as_bytes())
            )
        })?;
    }
    if let Some(t) = l.tunnel {
        p.tunnel = Some(TunnelInfo {
            kind: super::values::tunnel_kind(&t.kind).ok_or_else(|| {
                format!(
                    "tunnel.type: {} is no tunnel kind",
                    shown(t.kind.as_bytes())
                )
            })?,
            src: ip("tunnel.src", &t.src)?,
            dst: ip("tunnel.dst", &t.dst)?,
            id: t.id,
            depth: t.depth,
        });
    }
    p.finish()
}
