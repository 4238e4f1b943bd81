//! What a record says of a flow's application protocol: Zeek's `service` names, whether the
//! protocol could be decided at all ([`ServiceStatus`]), and the TLS handshake's details
//! ([`TlsInfo`]).

use super::Text;

/// Whether a flow's application protocol was decided.
///
/// Only [`ServiceStatus::Known`] and [`ServiceStatus::Unknown`] are decisions; every other
/// status says why none could be made, and the audit counts such flows as undecided, never as
/// carrying a wrong service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ServiceStatus {
    /// `service` names the protocols.
    Known,
    /// The start of the flow's bytes was seen and no recogniser knew them.
    Unknown,
    /// Neither side sent payload (a refused or unanswered attempt, a bare handshake).
    NoPayload,
    /// The capture began after the flow's bytes did (no SYN), or the first bytes of a side were
    /// never seen (lost before the capture), so what it began with is not known.
    MidStream,
    /// The first bytes were seen, but the capture's snaplen cut them before any recogniser
    /// could decide.
    Cut,
    /// A flow record whose source names no service (a Zeek log's `-`, a NetFlow or VPC flow
    /// log, which carry none).
    #[default]
    NotInSource,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 6] = [
        ServiceStatus::Known,
        ServiceStatus::Unknown,
        ServiceStatus::NoPayload,
        ServiceStatus::MidStream,
        ServiceStatus::Cut,
        ServiceStatus::NotInSource,
    ];

    /// The name records and reports use.
    pub fn name(self) -> &'static str {
        match self {
            ServiceStatus::Known => "known",
            ServiceStatus::Unknown => "unknown",
            ServiceStatus::NoPayload => "no payload",
            ServiceStatus::MidStream => "mid-stream",
            ServiceStatus::Cut => "cut",
            ServiceStatus::NotInSource => "not in source",
        }
    }

    /// The status named `s` ([`ServiceStatus::name`]).
    pub fn from_name(s: &str) -> Option<ServiceStatus> {
        ServiceStatus::ALL.into_iter().find(|st| st.name() == s)
    }

    /// No decision was possible: the flow is counted as undecided, never judged.
    pub fn undecided(self) -> bool {
        !matches!(self, ServiceStatus::Known | ServiceStatus::Unknown)
    }

    /// The status of a record read from a log: known when the log names a service.
    pub fn of_source(service: &str) -> ServiceStatus {
        if service.is_empty() {
            ServiceStatus::NotInSource
        } else {
            ServiceStatus::Known
        }
    }
}

/// The TLS handshake of a flow, as far as its first bytes showed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsInfo {
    /// The version the server chose in its ServerHello (wire value: 0x0303 is TLS 1.2); None:
    /// no ServerHello was seen (the server refused, or did not answer).
    pub version: Option<u16>,
    /// The highest version the client offered in its ClientHello; None: not seen.
    pub client_version: Option<u16>,
    /// The server name the client asked for (SNI); empty: none sent, or not seen.
    pub sni: Text,
    /// The ClientHello's server name lay past the captured bytes: whether one was sent, and
    /// which, is not known.
    pub sni_cut: bool,
}

/// Zeek's name of a TLS version (ssl.log's `version`): SSLv2, SSLv3, TLSv10 ... TLSv13, DTLSv10,
/// DTLSv12, DTLSv13; other values as `unknown-0x....`.
pub fn tls_version_name(v: u16) -> std::borrow::Cow<'static, str> {
    let known = match v {
        0x0002 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv10",
        0x0302 => "TLSv11",
        0x0303 => "TLSv12",
        0x0304 => "TLSv13",
        0xfeff => "DTLSv10",
        0xfefd => "DTLSv12",
        0xfefc => "DTLSv13",
        _ => return format!("unknown-0x{v:04x}").into(),
    };
    known.into()
}

/// A TLS version by name: Zeek's (`TLSv12`, `SSLv3`, [`tls_version_name`]) or the usual
/// spelling (`1.2`, `TLS 1.2`, `TLSv1.2`, `SSL 3.0`); also `unknown-0x....`.
pub fn parse_tls_version(s: &str) -> Option<u16> {
    // Zeek's names, as every record writes them, without the allocations below.
    let exact = match s {
        "TLSv12" => Some(0x0303),
        "TLSv13" => Some(0x0304),
        "TLSv10" => Some(0x0301),
        "TLSv11" => Some(0x0302),
        "SSLv3" => Some(0x0300),
        "SSLv2" => Some(0x0002),
        _ => None,
    };
    if exact.is_some() {
        return exact;
    }
    let t: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if let Some(hex) = t.strip_prefix("unknown-0x") {
        return u16::from_str_radix(hex, 16).ok();
    }
    let (ssl, rest) = if let Some(r) = t.strip_prefix("sslv").or_else(|| t.strip_prefix("ssl")) {
        (true, r)
    } else if let Some(r) = t.strip_prefix("tlsv").or_else(|| t.strip_prefix("tls")) {
        (false, r)
    } else {
        (false, t.as_str())
    };
    let v = match (ssl, rest) {
        (true, "2" | "2.0") => 0x0002,
        (true, "3" | "3.0") => 0x0300,
        (false, "10" | "1.0" | "1") => 0x0301,
        (false, "11" | "1.1") => 0x0302,
        (false, "12" | "1.2") => 0x0303,
        (false, "13" | "1.3") => 0x0304,
        _ => return None,
    };
    Some(v)
}

/// The order of TLS versions, lowest first (SSLv2's wire value 0x0002 sorts below SSLv3's
/// 0x0300 already; DTLS counts down from 0xfeff and is ranked by its TLS equivalent).
pub fn tls_rank(v: u16) -> u16 {
    match v {
        0xfeff => 0x0302,
        0xfefd => 0x0303,
        0xfefc => 0x0304,
        v => v,
    }
}

/// Zeek's service names: what a rule's `service` may list and a flow log's source may name: the protocols flowaudit's recognisers name,
/// then Zeek's other analyzers'. Tunnels (vxlan, geneve, ...) are not among them: the flows
/// inside a tunnel are judged on their own.
pub const KNOWN: &[&str] = &[
    "ssl",
    "http",
    "http2",
    "ssh",
    "smb",
    "smtp",
    "tds",
    "dns",
    "quic",
    "rdp",
    "ldap_tcp",
    "ldap_udp",
    "krb",
    "krb_tcp",
    "dce_rpc",
    "dhcp",
    "dnp3",
    "ftp",
    "ftp-data",
    "gssapi",
    "imap",
    "irc",
    "modbus",
    "mqtt",
    "mysql",
    "ntlm",
    "ntp",
    "pop3",
    "radius",
    "rdpeudp",
    "rfb",
    "sip",
    "snmp",
    "socks",
    "syslog",
    "xmpp",
    "postgresql",
    "redis",
    "websocket",
];

/// A UDP tunnel's name (vxlan, geneve, ...), as the service of the outer flow that carried it:
/// never an application protocol.
pub fn is_tunnel(name: &str) -> bool {
    crate::decode::TunnelKind::ALL
        .iter()
        .any(|k| k.over_udp() && k.name().eq_ignore_ascii_case(name))
}

/// The services of a `service` field (comma-separated Zeek names), in order.
pub fn services(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_round_trip() {
        for v in [0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x7f1c] {
            assert_eq!(parse_tls_version(&tls_version_name(v)), Some(v), "{v:#06x}");
        }
        assert_eq!(parse_tls_version("1.2"), Some(0x0303));
        assert_eq!(parse_tls_version("TLS 1.3"), Some(0x0304));
        assert_eq!(parse_tls_version("TLSv1.0"), Some(0x0301));
        assert_eq!(parse_tls_version("SSL 3.0"), Some(0x0300));
        assert_eq!(parse_tls_version("1.4"), None);
        assert_eq!(parse_tls_version(""), None);
        assert!(tls_rank(0x0002) < tls_rank(0x0300));
        assert!(tls_rank(0xfefd) < tls_rank(0x0304));
    }

    #[test]
    fn statuses() {
        for s in ServiceStatus::ALL {
            assert_eq!(ServiceStatus::from_name(s.name()), Some(s));
        }
        assert!(!ServiceStatus::Unknown.undecided());
        assert!(ServiceStatus::MidStream.undecided());
        assert_eq!(ServiceStatus::of_source(""), ServiceStatus::NotInSource);
        assert_eq!(
            services(" smtp, ssl ,").collect::<Vec<_>>(),
            vec!["smtp", "ssl"]
        );
    }
}
