//! Suricata's EVE JSON log: one object a line, its kind in `event_type`. An EVE file mixes
//! kinds (`alert`, `dns`, `http`, `tls`, `stats`, ...); two describe flows and are read:
//!
//! - `flow` events: one line per flow, both directions. `src_ip`/`src_port` are the client
//!   (Suricata swaps the tuple when the flow started with the server's packet), `dest_ip`/
//!   `dest_port` the server; `flow.pkts_toserver`/`bytes_toserver` count the client's packets,
//!   `pkts_toclient`/`bytes_toclient` the server's; `tcp.tcp_flags_ts`/`tcp_flags_tc` are the
//!   OR of the TCP flags of each direction (two hex digits). Each becomes an
//!   [`Item::Pair`](super::Item::Pair): `orig` the client's direction
//!   ([`Initiator::Source`]), `resp` the server's ([`Initiator::Destination`]).
//! - `netflow` events: one line per direction (the to-server line, then a to-client line when
//!   the server sent anything), `netflow.pkts`/`bytes`/`start`/`end` and `tcp.tcp_flags` for
//!   that direction. Each becomes an [`Item::Half`](super::Item::Half). The line does not say
//!   which of the two it is (both carry the flow's `flow_id`): the halves' initiator is
//!   [`Initiator::Unknown`], decided by the TCP flags when pairing.
//!
//! Every other event type is counted as skipped ([`SKIP_EVENT`]), not malformed; so are flows
//! that are not TCP or UDP (ICMP: [`SKIP_ICMP`]; SCTP, GRE, ...: [`SKIP_PROTO`]).
//!
//! Times (`timestamp`, `flow.start`, `flow.end`) are ISO 8601 with a fraction and a numeric
//! UTC offset, as Suricata writes them (`2026-11-29T12:00:00.123456+0100`; the schema's
//! pattern `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+[+-]\d+`): read from the digits to ns UTC,
//! never through a float. A time without an offset (local time of an unknown zone) is an
//! error. `flow_id` goes to [`HalfFlow::flow_id`], `community_id` to
//! [`HalfFlow::community_id`], the outer `vlan` id to [`HalfFlow::vlan`].
//!
//! What EVE cannot show:
//! - **Bytes are not IP bytes.** Suricata adds each packet's `GET_PKT_LEN` (the length of the
//!   packet as captured, link-layer header included: 14 bytes of Ethernet header, 4 more per
//!   VLAN tag, none on a raw-IP capture; less than the packet when the capture truncated it)
//!   to `bytes_toserver`/`bytes_toclient`. The link type is not in the record, so IP bytes
//!   cannot be computed exactly: [`HalfFlow::ip_bytes`] holds Suricata's count, which exceeds
//!   the IP bytes by the link-layer header of every packet (14 × packets on untagged
//!   Ethernet).
//! - Per-direction times: a `flow` event has the flow's first and last packet only; both
//!   halves get them.
//! - No handshake RTT, no history letters, no missed bytes: only OR'ed flags per direction,
//!   so a TCP state derived from them is an approximation.
//! - `flow.state` (`new`, `established`, `closed`, `bypassed`), `flow.reason` (`timeout`,
//!   `forced`, `shutdown`) and `flow.alerted` are not carried: the state comes from the
//!   flags and counters, and alerts are not flow facts. Not sampled: Suricata sees every
//!   packet it is given.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::half::{APP_UNKNOWN, HalfFlow, Initiator};
use super::values::{Parsed, SKIP_ICMP, Transport, decimal_ns, shown, transport};
use crate::flow::{Proto, Text};

/// Why an EVE line of another event type (alert, dns, http, stats, ...) is skipped.
pub const SKIP_EVENT: &str = "eve event_type other than flow or netflow: not a flow record";
/// Why an EVE flow of a protocol other than TCP, UDP or ICMP is skipped.
pub const SKIP_PROTO: &str = "eve proto other than TCP, UDP or ICMP: flow records are TCP or UDP";

/// The fields every EVE line has, and those of `flow` and `netflow` events, which are read
/// only for those events (other events may use the names differently).
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    event_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    flow_id: Option<u64>,
    #[serde(borrow)]
    src_ip: Option<Cow<'a, str>>,
    src_port: Option<u16>,
    #[serde(borrow)]
    dest_ip: Option<Cow<'a, str>>,
    dest_port: Option<u16>,
    #[serde(borrow)]
    proto: Option<Cow<'a, str>>,
    #[serde(borrow)]
    vlan: Option<&'a RawValue>,
    #[serde(borrow)]
    community_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    flow: Option<&'a RawValue>,
    #[serde(borrow)]
    netflow: Option<&'a RawValue>,
    #[serde(borrow)]
    tcp: Option<&'a RawValue>,
    #[serde(borrow)]
    app_proto: Option<Cow<'a, str>>,
}

/// A `flow` event's `flow` object.
#[derive(Deserialize)]
struct Flow<'a> {
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    #[serde(borrow)]
    start: Cow<'a, str>,
    #[serde(borrow)]
    end: Cow<'a, str>,
}

/// A `netflow` event's `netflow` object.
#[derive(Deserialize)]
struct Netflow<'a> {
    pkts: u64,
    bytes: u64,
    #[serde(borrow)]
    start: Cow<'a, str>,
    #[serde(borrow)]
    end: Cow<'a, str>,
}

/// The `tcp` object: `tcp_flags` (a `netflow` event's direction, or a `flow` event's both),
/// `tcp_flags_ts`/`tcp_flags_tc` (a `flow` event's directions).
#[derive(Deserialize)]
struct Tcp<'a> {
    #[serde(borrow)]
    tcp_flags: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tcp_flags_ts: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tcp_flags_tc: Option<Cow<'a, str>>,
}

/// The names that tell an EVE line.
#[derive(Deserialize)]
struct Probe {
    event_type: Option<serde::de::IgnoredAny>,
    timestamp: Option<serde::de::IgnoredAny>,
}

/// Whether `line` is a Suricata EVE object: it has `event_type` and `timestamp`.
pub(super) fn probe(line: &[u8]) -> bool {
    serde_json::from_slice::<Probe>(line)
        .is_ok_and(|p| p.event_type.is_some() && p.timestamp.is_some())
}

/// Reads one EVE line.
pub(super) fn line(bytes: &[u8]) -> Result<Parsed, String> {
    let l: Line<'_> =
        serde_json::from_slice(bytes).map_err(|e| format!("not an EVE object: {e}"))?;
    let event = l.event_type.as_deref().ok_or("event_type is unset")?;
    let netflow = match event {
        "flow" => false,
        "netflow" => true,
        _ => return Ok(Parsed::Skip(SKIP_EVENT)),
    };
    let proto = match l.proto.as_deref().ok_or("proto is unset")? {
        p if p.eq_ignore_ascii_case("tcp") => transport("tcp")?,
        p if p.eq_ignore_ascii_case("udp") => transport("udp")?,
        p if p.eq_ignore_ascii_case("icmp") || p.eq_ignore_ascii_case("ipv6-icmp") => {
            Transport::Skip(SKIP_ICMP)
        }
        _ => Transport::Skip(SKIP_PROTO),
    };
    let proto = match proto {
        Transport::Flow(p) => p,
        Transport::Skip(why) => return Ok(Parsed::Skip(why)),
    };
    if let Some(t) = l.timestamp.as_deref() {
        time("timestamp", t)?;
    }
    let src = ip("src_ip", l.src_ip.as_deref())?;
    let dst = ip("dest_ip", l.dest_ip.as_deref())?;
    if src.is_ipv4() != dst.is_ipv4() {
        return Err("src_ip and dest_ip are not of one address family".into());
    }
    let sport = l.src_port.ok_or("src_port is unset")?;
    let dport = l.dest_port.ok_or("dest_port is unset")?;
    let vlan = match l.vlan {
        None => None,
        Some(v) => vlan(v)?,
    };
    let tcp: Option<Tcp<'_>> = match l.tcp {
        Some(t) if proto == Proto::Tcp && t.get() != "null" => {
            Some(serde_json::from_str(t.get()).map_err(|e| format!("tcp: not a tcp object: {e}"))?)
        }
        _ => None,
    };
    let mut half = HalfFlow::new(proto, src, sport, dst, dport);
    half.flow_id = l.flow_id;
    half.vlan = vlan;
    half.community_id = l.community_id.map(|c| Text::from(c.as_ref()));
    half.service = l.app_proto.as_deref().and_then(|a| app_proto(a, proto));
    if netflow {
        let n: Netflow<'_> = object("netflow", l.netflow)?;
        half.start_ns = time("netflow.start", &n.start)?;
        half.end_ns = time("netflow.end", &n.end)?;
        if half.end_ns < half.start_ns {
            return Err("netflow.end is before netflow.start".into());
        }
        half.pkts = n.pkts;
        half.ip_bytes = n.bytes;
        half.tcp_flags = flags(
            "tcp.tcp_flags",
            tcp.as_ref().and_then(|t| t.tcp_flags.as_deref()),
        )?;
        return Ok(Parsed::Half(half));
    }
    let f: Flow<'_> = object("flow", l.flow)?;
    half.start_ns = time("flow.start", &f.start)?;
    half.end_ns = time("flow.end", &f.end)?;
    if half.end_ns < half.start_ns {
        return Err("flow.end is before flow.start".into());
    }
    let mut resp = half.clone();
    resp.src = dst;
    resp.src_port = dport;
    resp.dst = src;
    resp.dst_port = sport;
    half.pkts = f.pkts_toserver;
    half.ip_bytes = f.bytes_toserver;
    half.initiator = Initiator::Source;
    resp.pkts = f.pkts_toclient;
    resp.ip_bytes = f.bytes_toclient;
    resp.initiator = Initiator::Destination;
    if let Some(t) = &tcp {
        half.tcp_flags = flags("tcp.tcp_flags_ts", t.tcp_flags_ts.as_deref())?;
        resp.tcp_flags = flags("tcp.tcp_flags_tc", t.tcp_flags_tc.as_deref())?;
    }
    Ok(Parsed::Pair { orig: half, resp })
}

/// Suricata's `app_proto` as Zeek names the service: `failed` (detection ran and found
/// nothing) is [`APP_UNKNOWN`]; a name with no Zeek counterpart, or none, is not recorded.
fn app_proto(a: &str, proto: Proto) -> Option<&'static str> {
    let tcp = proto == Proto::Tcp;
    Some(match a {
        "failed" => APP_UNKNOWN,
        "tls" => "ssl",
        "http" | "http1" => "http",
        "http2" => "http2",
        "ssh" => "ssh",
        "smb" => "smb",
        "smtp" => "smtp",
        "dns" => "dns",
        "quic" => "quic",
        "rdp" => "rdp",
        "ldap" if tcp => "ldap_tcp",
        "ldap" => "ldap_udp",
        "krb5" if tcp => "krb_tcp",
        "krb5" => "krb",
        "dcerpc" => "dce_rpc",
        "ftp" => "ftp",
        "ftp-data" => "ftp-data",
        "dhcp" => "dhcp",
        "ntp" => "ntp",
        "snmp" => "snmp",
        "sip" => "sip",
        "mqtt" => "mqtt",
        "pgsql" => "postgresql",
        "imap" => "imap",
        "pop3" => "pop3",
        "rfb" => "rfb",
        "modbus" => "modbus",
        "dnp3" => "dnp3",
        "websocket" => "websocket",
        _ => return None,
    })
}

#[cfg(test)]
#[test]
fn every_app_proto_name_pairs_in_one_byte() {
    use super::half::{service_code, service_of};
    for a in [
        "failed",
        "tls",
        "http",
        "http1",
        "http2",
        "ssh",
        "smb",
        "smtp",
        "dns",
        "quic",
        "rdp",
        "ldap",
        "krb5",
        "dcerpc",
        "ftp",
        "ftp-data",
        "dhcp",
        "ntp",
        "snmp",
        "sip",
        "mqtt",
        "pgsql",
        "imap",
        "pop3",
        "rfb",
        "modbus",
        "dnp3",
        "websocket",
    ] {
        for proto in [Proto::Tcp, Proto::Udp] {
            let s = app_proto(a, proto);
            assert!(s.is_some(), "{a}");
            assert_eq!(service_of(service_code(s)), s, "{a}");
        }
    }
    assert_eq!(app_proto("nfs", Proto::Udp), None);
    assert_eq!(service_code(None), 0);
    assert_eq!(service_of(0), None);
}

fn object<'a, T: Deserialize<'a>>(name: &str, v: Option<&'a RawValue>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{name} is unset"))?;
    serde_json::from_str(v.get()).map_err(|e| format!("{name}: {e}"))
}

fn ip(name: &str, s: Option<&str>) -> Result<IpAddr, String> {
    let s = s.ok_or_else(|| format!("{name} is unset"))?;
    s.parse()
        .map_err(|_| format!("{name}: {} is not an IP address", shown(s.as_bytes())))
}

/// Suricata's `vlan`: an array of ids, outer first (a number in old versions). The outer id.
fn vlan(v: &RawValue) -> Result<Option<u16>, String> {
    let ids: Result<Vec<u16>, _> = match v.get().as_bytes().first() {
        Some(b'[') => serde_json::from_str(v.get()),
        Some(b'n') => Ok(Vec::new()),
        _ => serde_json::from_str::<u16>(v.get()).map(|id| vec![id]),
    };
    ids.map(|ids| ids.first().copied()).map_err(|_| {
        format!(
            "vlan: {} is not a VLAN id or a list of them",
            shown(v.get().as_bytes())
        )
    })
}

/// TCP flags as Suricata writes them: two hex digits (`%02x`).
fn flags(name: &str, s: Option<&str>) -> Result<Option<u8>, String> {
    let Some(s) = s else { return Ok(None) };
    if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{name}: {} is not TCP flags in hex",
            shown(s.as_bytes())
        ));
    }
    u8::from_str_radix(s, 16)
        .map(Some)
        .map_err(|_| format!("{name}: {} is not TCP flags in hex", shown(s.as_bytes())))
}

fn time(name: &str, s: &str) -> Result<i64, String> {
    iso_ns(s.as_bytes()).ok_or_else(|| {
        format!(
            "{name}: {} is not a time as YYYY-MM-DDTHH:MM:SS.ffffff+hhmm",
            shown(s.as_bytes())
        )
    })
}

/// ISO 8601 with a UTC offset, as ns since the epoch: `YYYY-MM-DDTHH:MM:SS`, an optional
/// fraction (any number of digits, rounded to the ns as [`decimal_ns`] rounds), then `Z`,
/// `+hhmm`, `+hh:mm` or `+hh` (or `-`). None when it is not one, or out of range.
pub(super) fn iso_ns(t: &[u8]) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = t.get(r)?;
        if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(d.iter().fold(0i64, |n, &b| n * 10 + i64::from(b - b'0')))
    };
    if t.get(4) != Some(&b'-')
        || t.get(7) != Some(&b'-')
        || !matches!(t.get(10), Some(b'T' | b't' | b' '))
        || t.get(13) != Some(&b':')
        || t.get(16) != Some(&b':')
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi) = (num(11..13)?, num(14..16)?);
    // Seconds and fraction: digits and at most one '.', up to the offset.
    let rest = t.get(17..)?;
    let cut = rest
        .iter()
        .position(|&b| !(b.is_ascii_digit() || b == b'.'))
        .unwrap_or(rest.len());
    let (secs, zone) = rest.split_at(cut);
    if secs.len() < 2 || !secs[..2].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if secs.len() > 2 && (secs[2] != b'.' || secs.len() == 3) {
        return None;
    }
    let sec_ns = decimal_ns(secs)?;
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 {
        return None;
    }
    // 60: a leap second, as ISO 8601 allows.
    if sec_ns >= 61_000_000_000 {
        return None;
    }
    let offset_min = match zone {
        [b'Z' | b'z'] => 0,
        [s @ (b'+' | b'-'), rest @ ..] => {
            let digits: [u8; 4] = match rest {
                [a, b] => [*a, *b, b'0', b'0'],
                [a, b, c, e] => [*a, *b, *c, *e],
                [a, b, b':', c, e] => [*a, *b, *c, *e],
                _ => return None,
            };
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let oh = i64::from(digits[0] - b'0') * 10 + i64::from(digits[1] - b'0');
            let om = i64::from(digits[2] - b'0') * 10 + i64::from(digits[3] - b'0');
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *s == b'-' { -m } else { m }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 - offset_min * 60;
    secs.checked_mul(1_000_000_000)?.checked_add(sec_ns)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
