//! Flow records: the one schema (each field's name, Zeek type and meaning, written once) and
//! the JSON-lines and Zeek TSV writers it drives.
//!
//! Every string that can come from a file or a packet goes through [`Cell::Text`], which each
//! writer escapes for its format.

use std::io::{self, Write};
use std::net::IpAddr;

use crate::flow::{FlowRecord, FlowSink, IcmpErrors, Text, TunnelInfo};

/// One value of a record, typed as the writers format it.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// A packet time (ns since the epoch): seconds with six decimals.
    Time(i64),
    /// A duration (ns), or unset.
    Interval(Option<i64>),
    /// A connection's duration (ns): unset in Zeek TSV when zero, as Zeek's conn.log sets
    /// `duration` only for a connection that lasted.
    Duration(i64),
    Count(u64),
    /// A connection's payload byte count, and whether the connection lasted (a duration above
    /// zero): unset in Zeek TSV when it did not, as Zeek sets `orig_bytes` and `resp_bytes`
    /// only with `duration`.
    PayloadBytes(u64, bool),
    Port(u16),
    Addr(IpAddr),
    /// Text that may come from a file or a packet: escaped by the writer. Empty is unset.
    Text(&'a str),
    /// One of a fixed set of codes (conn_state, proto, verdicts): never needs escaping.
    Code(&'static str),
    Bool(bool),
    /// VLAN ids, outer first.
    Vlans(&'a [u16]),
    /// The ICMP errors that quoted the flow: an object in JSON, the count in Zeek TSV.
    Icmp(Option<IcmpErrors>),
    /// A small number that may be unset.
    OptByte(Option<u8>),
    /// A code that may be unset: left out of JSON when unset.
    OptCode(Option<&'static str>),
    /// [`Cell::Text`] left out of JSON when empty.
    OptText(&'a str),
    /// A TLS version (Zeek's name, `TLSv12`), left out of JSON when unset.
    TlsVersion(Option<u16>),
    /// A flag left out of JSON when false.
    Flag(bool),
    /// Uids of the flows that carried a tunnelled flow: a set in Zeek TSV, an array in JSON;
    /// left out of JSON (unset in TSV) when empty.
    Uids(&'a [Text]),
    /// The tunnel a flow came through: an object in JSON, left out when none (JSON only).
    Tunnel(Option<&'a TunnelInfo>),
    /// A field flowaudit does not fill (Zeek TSV only).
    Unset,
}

/// One field of the record schema.
pub struct Field<T: ?Sized> {
    /// The name, as Zeek's conn.log spells it where it has the field.
    pub name: &'static str,
    /// Zeek's type, for the TSV `#types` line; empty for a field that is not a TSV column.
    pub zeek_type: &'static str,
    /// What the value means.
    pub meaning: &'static str,
    /// Written in JSON lines (some TSV columns exist only for conn.log compatibility).
    pub json: bool,
    pub get: for<'a> fn(&'a T) -> Cell<'a>,
}

/// The record schema, in column order: conn.log's fields, then flowaudit's own.
pub static FIELDS: &[Field<FlowRecord>] = &[
    Field {
        name: "ts",
        zeek_type: "time",
        meaning: "time of the flow's first packet",
        json: true,
        get: |r| Cell::Time(r.ts_ns),
    },
    Field {
        name: "uid",
        zeek_type: "string",
        meaning: "deterministic id: the same capture always gives the same uids",
        json: true,
        get: |r| Cell::Text(&r.uid),
    },
    Field {
        name: "id.orig_h",
        zeek_type: "addr",
        meaning: "client (originator) address",
        json: true,
        get: |r| Cell::Addr(r.orig_h),
    },
    Field {
        name: "id.orig_p",
        zeek_type: "port",
        meaning: "client port",
        json: true,
        get: |r| Cell::Port(r.orig_p),
    },
    Field {
        name: "id.resp_h",
        zeek_type: "addr",
        meaning: "server (responder) address",
        json: true,
        get: |r| Cell::Addr(r.resp_h),
    },
    Field {
        name: "id.resp_p",
        zeek_type: "port",
        meaning: "server port",
        json: true,
        get: |r| Cell::Port(r.resp_p),
    },
    Field {
        name: "proto",
        zeek_type: "enum",
        meaning: "tcp or udp",
        json: true,
        get: |r| Cell::Code(r.proto.name()),
    },
    Field {
        name: "service",
        zeek_type: "string",
        meaning: "the application protocols the flow carried, Zeek's names in the order identified, comma separated (ssl, http, http2, ssh, smb, smtp, tds, dns, quic, rdp, ldap_tcp, ldap_udp, krb, krb_tcp; smtp,ssl after STARTTLS); a UDP flow that carried a tunnel: vxlan, geneve, gtpv1, teredo, ayiya or mpls-udp (JSON: only when set)",
        json: true,
        get: |r| Cell::OptText(&r.service),
    },
    Field {
        name: "duration",
        zeek_type: "interval",
        meaning: "last packet time minus first packet time (s)",
        json: true,
        get: |r| Cell::Duration(r.duration_ns),
    },
    Field {
        name: "orig_bytes",
        zeek_type: "count",
        meaning: "payload bytes the client sent, every packet as seen (retransmissions included)",
        json: true,
        get: |r| Cell::PayloadBytes(r.orig_bytes, r.duration_ns > 0),
    },
    Field {
        name: "resp_bytes",
        zeek_type: "count",
        meaning: "payload bytes the server sent",
        json: true,
        get: |r| Cell::PayloadBytes(r.resp_bytes, r.duration_ns > 0),
    },
    Field {
        name: "conn_state",
        zeek_type: "string",
        meaning: "Zeek's connection state code (S0, SF, REJ, ...)",
        json: true,
        get: |r| Cell::Code(r.conn_state.name()),
    },
    Field {
        name: "local_orig",
        zeek_type: "bool",
        meaning: "not filled",
        json: false,
        get: |_| Cell::Unset,
    },
    Field {
        name: "local_resp",
        zeek_type: "bool",
        meaning: "not filled",
        json: false,
        get: |_| Cell::Unset,
    },
    Field {
        name: "missed_bytes",
        zeek_type: "count",
        meaning: "TCP: bytes acknowledged but never seen (content gaps, both directions)",
        json: true,
        get: |r| Cell::Count(r.missed_bytes),
    },
    Field {
        name: "history",
        zeek_type: "string",
        meaning: "Zeek's history letters, upper case for the client",
        json: true,
        get: |r| Cell::Text(&r.history),
    },
    Field {
        name: "orig_pkts",
        zeek_type: "count",
        meaning: "packets the client sent",
        json: true,
        get: |r| Cell::Count(r.orig_pkts),
    },
    Field {
        name: "orig_ip_bytes",
        zeek_type: "count",
        meaning: "sum of the IP lengths of the client's packets",
        json: true,
        get: |r| Cell::Count(r.orig_ip_bytes),
    },
    Field {
        name: "resp_pkts",
        zeek_type: "count",
        meaning: "packets the server sent",
        json: true,
        get: |r| Cell::Count(r.resp_pkts),
    },
    Field {
        name: "resp_ip_bytes",
        zeek_type: "count",
        meaning: "sum of the IP lengths of the server's packets",
        json: true,
        get: |r| Cell::Count(r.resp_ip_bytes),
    },
    Field {
        name: "tunnel_parents",
        zeek_type: "set[string]",
        meaning: "a flow inside a tunnel: the uids of the outer UDP flows that carried it, or an IP-level tunnel's own uid (JSON: only then)",
        json: true,
        get: |r| Cell::Uids(&r.tunnel_parents),
    },
    Field {
        name: "vlan",
        zeek_type: "vector[count]",
        meaning: "VLAN ids, outer first",
        json: true,
        get: |r| Cell::Vlans(&r.vlan),
    },
    Field {
        name: "community_id",
        zeek_type: "string",
        meaning: "Community ID v1, seed 0",
        json: true,
        get: |r| Cell::Text(&r.community_id),
    },
    Field {
        name: "direction_inferred",
        zeek_type: "bool",
        meaning: "no handshake told who the client is: it was inferred from ports",
        json: true,
        get: |r| Cell::Bool(r.direction_inferred),
    },
    Field {
        name: "syn_synack",
        zeek_type: "interval",
        meaning: "TCP: first SYN/ACK minus the last client SYN before it (s)",
        json: true,
        get: |r| Cell::Interval(r.syn_synack_ns),
    },
    Field {
        name: "synack_ack",
        zeek_type: "interval",
        meaning: "TCP: the client's first ACK after the SYN/ACK minus the last SYN/ACK before it (s)",
        json: true,
        get: |r| Cell::Interval(r.synack_ack_ns),
    },
    Field {
        name: "rtt",
        zeek_type: "interval",
        meaning: "TCP: syn_synack + synack_ack; UDP: first reply minus first request (s)",
        json: true,
        get: |r| Cell::Interval(r.rtt_ns),
    },
    Field {
        name: "icmp_errors",
        zeek_type: "count",
        meaning: "ICMP errors that quoted the flow (JSON: count, last_type, last_code)",
        json: true,
        get: |r| Cell::Icmp(r.icmp_errors),
    },
    Field {
        name: "icmp_last_type",
        zeek_type: "count",
        meaning: "type of the last of them",
        json: false,
        get: |r| Cell::OptByte(r.icmp_errors.map(|e| e.last_type)),
    },
    Field {
        name: "icmp_last_code",
        zeek_type: "count",
        meaning: "code of the last of them",
        json: false,
        get: |r| Cell::OptByte(r.icmp_errors.map(|e| e.last_code)),
    },
    Field {
        name: "evicted",
        zeek_type: "bool",
        meaning: "ended early because the flow table was full (--max-flows)",
        json: true,
        get: |r| Cell::Bool(r.evicted),
    },
    Field {
        name: "bad_checksums",
        zeek_type: "count",
        meaning: "packets with a wrong checksum (--checksums count|drop; 0 when not verified)",
        json: true,
        get: |r| Cell::Count(r.bad_checksums.into()),
    },
    Field {
        name: "rejected",
        zeek_type: "",
        meaning: "the flow record's source says the traffic was blocked (AWS VPC flow log REJECT): why (JSON only, and only then)",
        json: true,
        get: |r| Cell::OptCode(r.rejected),
    },
    Field {
        name: "tunnel",
        zeek_type: "",
        meaning: "a flow inside a tunnel: type, outer src and dst (as the tunnel's first packet had them), id (VNI, GRE key, ERSPAN session, GTP-U TEID) and depth (tunnel layers around the flow) of the innermost tunnel (JSON only, and only then)",
        json: true,
        get: |r| Cell::Tunnel(r.tunnel.as_ref()),
    },
    Field {
        name: "service_status",
        zeek_type: "string",
        meaning: "when service is empty, why: unknown (the first bytes were seen and no recogniser knew them), no payload, mid-stream (the start of the bytes was not captured), cut (the snaplen cut the first bytes), not in source (a flow log that names no service); unset (JSON: left out) when service is known",
        json: true,
        get: |r| {
            Cell::OptCode(
                (r.service_status != crate::flow::ServiceStatus::Known)
                    .then(|| r.service_status.name()),
            )
        },
    },
    Field {
        name: "tls_version",
        zeek_type: "string",
        meaning: "the TLS version the server chose in its ServerHello (SSLv3, TLSv10 ... TLSv13, as Zeek's ssl.log); unset when no ServerHello was seen (JSON: left out)",
        json: true,
        get: |r| Cell::TlsVersion(r.tls.as_ref().and_then(|t| t.version)),
    },
    Field {
        name: "tls_client_version",
        zeek_type: "string",
        meaning: "the highest TLS version the client offered in its ClientHello (JSON: left out when none was seen)",
        json: true,
        get: |r| Cell::TlsVersion(r.tls.as_ref().and_then(|t| t.client_version)),
    },
    Field {
        name: "tls_sni",
        zeek_type: "string",
        meaning: "the server name the ClientHello asked for (SNI; JSON: left out when none)",
        json: true,
        get: |r| Cell::OptText(r.tls.as_ref().map_or("", |t| t.sni.as_str())),
    },
    Field {
        name: "tls_sni_cut",
        zeek_type: "bool",
        meaning: "the ClientHello's server name lay past the captured bytes (JSON: only when true)",
        json: true,
        get: |r| Cell::Flag(r.tls.as_ref().is_some_and(|t| t.sni_cut)),
    },
];

/// A flow's judgement under the rules, for `flows --rules` and `--flows-out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdicted<'a> {
    /// The rule that judged the flow, if any.
    pub rule: Option<&'a str>,
    /// allowed, discouraged, denied, reversed or unexpected.
    pub verdict: &'static str,
    /// What the audit made of the flow (`--flows-out`); with `Some`, those fields are written.
    pub audit: Option<AuditFields>,
}

/// The audit's judgement of one flow, for `--flows-out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditFields {
    /// The kind of finding the flow counts in (None: it conforms).
    pub finding: Option<&'static str>,
    /// The other findings it counts in, comma separated in report order (a discouraged flow
    /// that failed or was slow; a flow that carried the wrong service over weak TLS).
    pub also: Option<&'static str>,
    /// For a reversed flow: `hosts` (the server called its client on the server port) or
    /// `connection` (the other end opened the connection the rule allows).
    pub reversed: Option<&'static str>,
}

/// A field of the judgement.
pub struct VerdictField {
    pub name: &'static str,
    pub zeek_type: &'static str,
    pub meaning: &'static str,
    pub get: for<'a, 'b> fn(&'a Verdicted<'b>) -> Cell<'a>,
}

/// The judgement's fields, after the record's.
pub static VERDICT_FIELDS: &[VerdictField] = &[
    VerdictField {
        name: "rule",
        zeek_type: "string",
        meaning: "the rule that judged the flow (for reversed: the rule that would, the other way)",
        get: |v| v.rule.map_or(Cell::Unset, Cell::Text),
    },
    VerdictField {
        name: "verdict",
        zeek_type: "string",
        meaning: "allowed, discouraged, denied, reversed or unexpected",
        get: |v| Cell::Code(v.verdict),
    },
];

/// The audit's fields of `--flows-out`.
pub static AUDIT_FIELDS: &[VerdictField] = &[
    VerdictField {
        name: "finding",
        zeek_type: "string",
        meaning: "the kind of finding the flow counts in (null: it conforms)",
        get: |v| {
            v.audit
                .and_then(|a| a.finding)
                .map_or(Cell::Unset, Cell::Code)
        },
    },
    VerdictField {
        name: "also",
        zeek_type: "string",
        meaning: "the other findings it counts in, comma separated in report order (a discouraged flow that also failed or was over its latency budget; a flow that carried the wrong service over weak TLS)",
        get: |v| v.audit.and_then(|a| a.also).map_or(Cell::Unset, Cell::Code),
    },
    VerdictField {
        name: "reversed",
        zeek_type: "string",
        meaning: "for a reversed flow: hosts (the server called its client on the server port) or connection (the other end opened the connection the rule allows)",
        get: |v| {
            v.audit
                .and_then(|a| a.reversed)
                .map_or(Cell::Unset, Cell::Code)
        },
    },
];

/// Output format of flow records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowFormat {
    /// One JSON object per line per flow, with conn.log's field names.
    Json,
    /// A Zeek TSV conn.log.
    Zeek,
}

/// Appends `n` in decimal.
fn num(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a time or duration (ns) as seconds with six decimals, as [`super::Secs`] shows it.
fn secs(out: &mut Vec<u8>, ns: i64) {
    let (negative, whole, micros) = super::split_secs(ns);
    if negative {
        out.push(b'-');
    }
    num(out, whole);
    let mut digits = [b'0'; 7];
    digits[0] = b'.';
    let mut f = micros;
    for d in digits[1..].iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    out.extend_from_slice(&digits);
}

fn addr(out: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(v4) => {
            for (i, o) in v4.octets().iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                num(out, *o);
            }
        }
        IpAddr::V6(v6) => {
            use std::io::Write as _;
            let _ = write!(out, "{v6}");
        }
    }
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Runs of bytes that need no escape are copied whole (UTF-8 sequences pass as they are).
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            b if b < 0x20 || b == 0x7f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                &[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        out.extend_from_slice(escaped);
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

fn vlans(out: &mut Vec<u8>, v: &[u16]) {
    for (i, id) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        num(out, *id);
    }
}

fn json_cell(out: &mut Vec<u8>, c: Cell<'_>) {
    match c {
        Cell::Time(ns) | Cell::Interval(Some(ns)) | Cell::Duration(ns) => secs(out, ns),
        Cell::Interval(None) | Cell::Unset | Cell::Icmp(None) | Cell::OptByte(None) => {
            out.extend_from_slice(b"null")
        }
        Cell::Count(n) | Cell::PayloadBytes(n, _) => num(out, n),
        Cell::Port(p) => num(out, p),
        Cell::OptByte(Some(b)) => num(out, b),
        Cell::Addr(a) => {
            out.push(b'"');
            addr(out, a);
            out.push(b'"');
        }
        Cell::Text(s) | Cell::OptText(s) => json_str(out, s),
        Cell::TlsVersion(Some(v)) => json_str(out, &crate::flow::service::tls_version_name(v)),
        Cell::TlsVersion(None) => out.extend_from_slice(b"null"),
        Cell::Code(s) => {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        }
        Cell::Bool(b) | Cell::Flag(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Cell::Vlans(v) => {
            out.push(b'[');
            vlans(out, v);
            out.push(b']');
        }
        Cell::OptCode(None) | Cell::Uids([]) | Cell::Tunnel(None) => out.extend_from_slice(b"null"),
        Cell::OptCode(Some(s)) => {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        }
        Cell::Uids(u) => {
            for (i, id) in u.iter().enumerate() {
                out.push(if i == 0 { b'[' } else { b',' });
                json_str(out, id);
            }
            out.push(b']');
        }
        Cell::Tunnel(Some(t)) => {
            out.extend_from_slice(b"{\"type\":\"");
            out.extend_from_slice(t.kind.as_bytes());
            out.extend_from_slice(b"\",\"src\":\"");
            addr(out, t.src);
            out.extend_from_slice(b"\",\"dst\":\"");
            addr(out, t.dst);
            out.extend_from_slice(b"\",\"id\":");
            match t.id {
                Some(id) => num(out, id),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"depth\":");
            num(out, t.depth);
            out.push(b'}');
        }
        Cell::Icmp(Some(e)) => {
            out.extend_from_slice(b"{\"count\":");
            num(out, e.count);
            out.extend_from_slice(b",\"last_type\":");
            num(out, e.last_type);
            out.extend_from_slice(b",\"last_code\":");
            num(out, e.last_code);
            out.push(b'}');
        }
    }
}

/// Zeek TSV escapes separators and control characters as \xNN.
fn zeek_text(out: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        return out.push(b'-');
    }
    for c in s.chars() {
        if c.is_control() {
            out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes());
        } else {
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
}

fn zeek_cell(out: &mut Vec<u8>, c: Cell<'_>) {
    match c {
        Cell::Time(ns) | Cell::Interval(Some(ns)) => secs(out, ns),
        Cell::Duration(ns) if ns > 0 => secs(out, ns),
        Cell::Interval(None)
        | Cell::Unset
        | Cell::OptByte(None)
        | Cell::Duration(_)
        | Cell::PayloadBytes(_, false) => out.push(b'-'),
        Cell::Count(n) | Cell::PayloadBytes(n, true) => num(out, n),
        Cell::Port(p) => num(out, p),
        Cell::OptByte(Some(b)) => num(out, b),
        Cell::Addr(a) => addr(out, a),
        Cell::Text(s) | Cell::OptText(s) => zeek_text(out, s),
        Cell::TlsVersion(Some(v)) => zeek_text(out, &crate::flow::service::tls_version_name(v)),
        Cell::TlsVersion(None) => out.push(b'-'),
        Cell::Code(s) => out.extend_from_slice(s.as_bytes()),
        Cell::Bool(b) | Cell::Flag(b) => out.push(if b { b'T' } else { b'F' }),
        Cell::Vlans([]) => out.extend_from_slice(b"(empty)"),
        Cell::Vlans(v) => vlans(out, v),
        Cell::Icmp(e) => num(out, e.map_or(0, |e| e.count)),
        Cell::OptCode(c) => out.extend_from_slice(c.unwrap_or("-").as_bytes()),
        Cell::Uids([]) | Cell::Tunnel(_) => out.push(b'-'),
        Cell::Uids(u) => {
            for (i, id) in u.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                zeek_text(out, id);
            }
        }
    }
}

/// Fields a JSON line leaves out when unset: the tunnel fields of a flow not in a tunnel, so
/// that such flows' lines are as they were before tunnels were decoded.
fn json_absent(c: &Cell<'_>) -> bool {
    matches!(
        c,
        Cell::OptCode(None)
            | Cell::Uids([])
            | Cell::Tunnel(None)
            | Cell::OptText("")
            | Cell::TlsVersion(None)
            | Cell::Flag(false)
    )
}

/// Fields that are Zeek TSV columns.
fn tsv_fields() -> impl Iterator<Item = &'static Field<FlowRecord>> {
    FIELDS.iter().filter(|f| !f.zeek_type.is_empty())
}

/// Appends one flow as a JSON object on one line, with conn.log's field names; with `v`, the
/// judgement's fields follow.
pub fn json_line(out: &mut Vec<u8>, r: &FlowRecord, v: Option<Verdicted<'_>>) {
    let mut sep = b'{';
    for f in FIELDS.iter().filter(|f| f.json) {
        let cell = (f.get)(r);
        if json_absent(&cell) {
            continue;
        }
        out.push(sep);
        sep = b',';
        out.push(b'"');
        out.extend_from_slice(f.name.as_bytes());
        out.extend_from_slice(b"\":");
        json_cell(out, cell);
    }
    if let Some(v) = v {
        for f in verdict_fields(&v) {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(f.name.as_bytes());
            out.extend_from_slice(b"\":");
            json_cell(out, (f.get)(&v));
        }
    }
    out.extend_from_slice(b"}\n");
}

/// The judgement fields `v` writes.
fn verdict_fields(v: &Verdicted<'_>) -> impl Iterator<Item = &'static VerdictField> + use<> {
    VERDICT_FIELDS
        .iter()
        .chain(if v.audit.is_some() { AUDIT_FIELDS } else { &[] })
}

/// Appends one flow as a Zeek TSV row.
fn zeek_row(out: &mut Vec<u8>, r: &FlowRecord, v: Option<Verdicted<'_>>) {
    for (i, f) in tsv_fields().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        zeek_cell(out, (f.get)(r));
    }
    if let Some(v) = v {
        for f in verdict_fields(&v) {
            out.push(b'\t');
            zeek_cell(out, (f.get)(&v));
        }
    }
    out.push(b'\n');
}

/// Writes the header of a Zeek TSV conn.log (the format `zeek-cut` reads). `#open` and
/// `#close` carry packet times, not the wall clock, so the output is reproducible.
fn write_zeek_header(w: &mut dyn Write, open_ns: i64, verdicts: bool) -> io::Result<()> {
    writeln!(w, "#separator \\x09")?;
    writeln!(w, "#set_separator\t,")?;
    writeln!(w, "#empty_field\t(empty)")?;
    writeln!(w, "#unset_field\t-")?;
    writeln!(w, "#path\tconn")?;
    writeln!(w, "#open\t{}", super::zeek_date(open_ns))?;
    let extra: &[VerdictField] = if verdicts { VERDICT_FIELDS } else { &[] };
    let names: Vec<&str> = tsv_fields()
        .map(|f| f.name)
        .chain(extra.iter().map(|f| f.name))
        .collect();
    let types: Vec<&str> = tsv_fields()
        .map(|f| f.zeek_type)
        .chain(extra.iter().map(|f| f.zeek_type))
        .collect();
    writeln!(w, "#fields\t{}", names.join("\t"))?;
    writeln!(w, "#types\t{}", types.join("\t"))
}

/// Judges each record as it is written (`flows --rules`).
pub type Judge<'j> = Box<dyn FnMut(&FlowRecord) -> Verdicted<'j> + Send + 'j>;

/// Writes records as flows end: a [`FlowSink`]. A write error (a closed pipe, a full disk)
/// stops the writing and is kept for [`RecordWriter::finish`]; reading goes on.
pub struct RecordWriter<'j, W: Write> {
    w: W,
    format: FlowFormat,
    judge: Option<Judge<'j>>,
    /// The Zeek header is written before the first row, with the first packet's time.
    header: bool,
    open_ns: Option<i64>,
    error: Option<io::Error>,
    /// One line, formatted before it is written whole.
    buf: Vec<u8>,
}

impl<'j, W: Write> RecordWriter<'j, W> {
    pub fn new(w: W, format: FlowFormat, judge: Option<Judge<'j>>) -> Self {
        RecordWriter {
            w,
            format,
            judge,
            header: false,
            open_ns: None,
            error: None,
            buf: Vec::with_capacity(1024),
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if self.format == FlowFormat::Zeek && !self.header {
            self.header = true;
            let open = self.open_ns.unwrap_or(0);
            write_zeek_header(&mut self.w, open, self.judge.is_some())?;
        }
        Ok(())
    }

    fn write(&mut self, r: &FlowRecord) -> io::Result<()> {
        self.header()?;
        let v = self.judge.as_mut().map(|j| j(r));
        self.buf.clear();
        match self.format {
            FlowFormat::Json => json_line(&mut self.buf, r, v),
            FlowFormat::Zeek => zeek_row(&mut self.buf, r, v),
        }
        self.w.write_all(&self.buf)
    }

    /// Ends the output (the Zeek footer carries `close_ns`, the last packet's time) and
    /// returns the first write error, if any.
    pub fn finish(mut self, close_ns: Option<i64>) -> io::Result<W> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.header()?;
        if self.format == FlowFormat::Zeek {
            writeln!(
                self.w,
                "#close\t{}",
                super::zeek_date(close_ns.unwrap_or(0))
            )?;
        }
        self.w.flush()?;
        Ok(self.w)
    }
}

impl<W: Write> FlowSink for RecordWriter<'_, W> {
    fn open(&mut self, first_ns: i64) {
        self.open_ns.get_or_insert(first_ns);
    }
    fn flow(&mut self, r: &FlowRecord) {
        if self.error.is_none()
            && let Err(e) = self.write(r)
        {
            self.error = Some(e);
        }
    }
    fn flush(&mut self) {
        if self.error.is_none()
            && let Err(e) = self.w.flush()
        {
            self.error = Some(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::json_str;

    /// JSON strings escape what RFC 8259 requires (quote, backslash, controls) and DEL; all
    /// other characters, UTF-8 included, pass as they are. `serde_json` reads each back to the
    /// string it came from.
    #[test]
    fn strings_are_escaped_as_json_requires() {
        let cases: [(&str, &str); 7] = [
            ("", r#""""#),
            ("ShADadFf", r#""ShADadFf""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("\n\r\t", r#""\n\r\t""#),
            ("\u{0}\u{1f}\u{7f}x", r#""\u0000\u001f\u007fx""#),
            ("é→😀", "\"é→😀\""),
            ("<script>\u{1b}[31m", r#""<script>\u001b[31m""#),
        ];
        for (s, want) in cases {
            let mut out = Vec::new();
            json_str(&mut out, s);
            assert_eq!(String::from_utf8(out.clone()).unwrap(), want, "{s:?}");
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }
}
