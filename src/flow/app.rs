//! What a flow's application protocol is: decided from the first payload of each side, as the
//! decode stage's recognisers saw it ([`AppHint`]), without keeping any payload.
//!
//! Each side's first payload counts when it is the start of that side's bytes: for TCP, the
//! segment at the side's initial sequence number + 1, once a SYN (or the SYN/ACK that
//! acknowledges it) told that number; for UDP, the side's first datagram. A TCP side whose
//! start was not seen (the capture began mid-connection) is mid-stream; a side whose first
//! bytes came out of order waits for them through [`MAX_WAIT`] payload segments. After
//! protocols that can turn into TLS (SMTP's STARTTLS, RDP's security negotiation, LDAP's
//! StartTLS), once either side began with one, each side's next [`MAX_WATCH`] payload packets
//! are watched for a TLS hello, which adds `ssl` to the flow's services.
//!
//! The state is [`AppState`], 14 bytes in the flow's extension; a ClientHello's server name is
//! kept by the table beside it. The record's `service`, `service_status` and `tls` are one
//! function of that state ([`AppState::outcome`]).

use super::service::{ServiceStatus, TlsInfo};
use super::{Proto, Text};
use crate::decode::app::{AppHint, Hint, SNI_CUT};

/// Payload segments of a side looked at while its first bytes are still missing (out of
/// order); past them, the side is taken as mid-stream.
pub const MAX_WAIT: u8 = 8;
/// Payload packets of a side watched for a TLS hello after a protocol that can turn into TLS.
pub const MAX_WATCH: u8 = 16;

/// What a side's stream start said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Start {
    /// No payload at its start yet.
    #[default]
    Waiting,
    /// Its first payload's hint.
    Seen(Hint),
    /// Its start was not seen: what it began with is not known.
    MidStream,
}

/// TLS flags of [`AppState::tls`].
mod tls {
    /// A ClientHello (or SSLv2 client hello) was seen.
    pub const CLIENT_HELLO: u8 = 1;
    /// A ServerHello was seen.
    pub const SERVER_HELLO: u8 = 2;
    /// The ClientHello's server name lay past the captured bytes (or was too long to keep).
    pub const SNI_CUT: u8 = 4;
}

/// A flow's application-protocol state. 14 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppState {
    start: [Start; 2],
    /// Per side: its stream's start is known (its SYN, or the SYN/ACK acknowledging it).
    start_known: [bool; 2],
    /// Per side: payload packets looked at while waiting for its start, or watched for TLS.
    looked: [u8; 2],
    /// The side whose first payload came first (2: none yet).
    first_side: u8,
    /// A TLS hello followed a protocol that turned into TLS.
    upgraded: bool,
    /// [`tls`] flags.
    tls: u8,
    /// The highest version a ClientHello offered (0: none seen).
    offered: u16,
    /// The version a ServerHello chose (0: none seen).
    chosen: u16,
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            start: [Start::Waiting; 2],
            start_known: [false; 2],
            looked: [0; 2],
            first_side: 2,
            upgraded: false,
            tls: 0,
            offered: 0,
            chosen: 0,
        }
    }
}

/// What the table does with a ClientHello's server name after [`AppState::payload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Nothing to keep.
    Nothing,
    /// The packet's server name is the flow's: keep it.
    Sni,
}

impl AppState {
    /// A TCP side sent a SYN (`syn`), or a SYN/ACK that acknowledges the other side's SYN
    /// (`synack`): the start of that side's (and with a SYN/ACK, the other side's) bytes is
    /// known from now on.
    #[inline]
    pub fn syn(&mut self, side: usize, synack: bool) {
        self.start_known[side] = true;
        if synack {
            self.start_known[1 - side] = true;
        }
    }

    /// Whether a payload packet of `side` can still change anything: its start is awaited, or
    /// the flow is watched for a TLS hello. Cheap, for the table to skip [`AppState::payload`]
    /// on the packets of flows already decided.
    #[inline(always)]
    pub fn wants(&self, side: usize) -> bool {
        self.start[side] == Start::Waiting || (self.looked[side] < MAX_WATCH && self.may_upgrade())
    }

    /// A payload packet of `side` with hint `h`; `at_start`: it is the start of the side's
    /// bytes (TCP: at its initial sequence number + 1; UDP: always). Whether its server name
    /// is the flow's.
    #[inline]
    pub fn payload(&mut self, side: usize, h: &AppHint, tcp: bool, at_start: bool) -> Keep {
        match self.start[side] {
            Start::Waiting => {
                if tcp && !self.start_known[side] {
                    self.start[side] = Start::MidStream;
                    return Keep::Nothing;
                }
                if !at_start {
                    self.looked[side] += 1;
                    if self.looked[side] >= MAX_WAIT {
                        self.start[side] = Start::MidStream;
                    }
                    return Keep::Nothing;
                }
                self.start[side] = Start::Seen(h.hint);
                self.looked[side] = 0;
                if self.first_side == 2 {
                    self.first_side = side as u8;
                }
                self.tls_hello(h)
            }
            Start::Seen(_) if self.looked[side] < MAX_WATCH && self.may_upgrade() => {
                self.looked[side] += 1;
                match h.hint {
                    Hint::TlsClientHello | Hint::TlsServerHello => {
                        self.upgraded = true;
                        // Watching ends on this side.
                        self.looked[side] = MAX_WATCH;
                        self.tls_hello(h)
                    }
                    _ => Keep::Nothing,
                }
            }
            _ => Keep::Nothing,
        }
    }

    /// One side began with a protocol that can turn into TLS: both sides are watched (the other
    /// side's first bytes may have been cut, or be a client's line no recogniser knows).
    fn may_upgrade(&self) -> bool {
        self.start
            .iter()
            .any(|s| matches!(s, Start::Seen(h) if upgrades(*h)))
    }

    /// Notes a TLS hello's versions; whether its server name is the flow's (the first
    /// ClientHello's).
    fn tls_hello(&mut self, h: &AppHint) -> Keep {
        match h.hint {
            Hint::TlsClientHello | Hint::Ssl2ClientHello if self.tls & tls::CLIENT_HELLO == 0 => {
                self.tls |= tls::CLIENT_HELLO;
                self.offered = h.version;
                if h.hint == Hint::TlsClientHello && h.extra & SNI_CUT != 0 {
                    self.tls |= tls::SNI_CUT;
                }
                Keep::Sni
            }
            Hint::TlsServerHello if self.tls & tls::SERVER_HELLO == 0 => {
                self.tls |= tls::SERVER_HELLO;
                self.chosen = h.version;
                Keep::Nothing
            }
            _ => Keep::Nothing,
        }
    }

    /// The record's `service`, `service_status` and `tls`; `sni`: the server name the table
    /// kept for the flow.
    pub fn outcome(
        &self,
        proto: Proto,
        sni: Option<&Text>,
    ) -> (Text, ServiceStatus, Option<TlsInfo>) {
        let mut service = Text::default();
        let first = usize::from(self.first_side.min(1));
        for side in [first, 1 - first] {
            if let Start::Seen(h) = self.start[side]
                && let Some(name) = service_name(h, proto)
            {
                add(&mut service, name);
            }
        }
        if self.upgraded {
            add(&mut service, "ssl");
        }
        let status = if !service.is_empty() {
            ServiceStatus::Known
        } else if self.start.contains(&Start::Seen(Hint::None)) {
            ServiceStatus::Unknown
        } else if self.start.contains(&Start::Seen(Hint::Short)) {
            ServiceStatus::Cut
        } else if self.start.contains(&Start::MidStream)
            || (0..2).any(|s| self.start[s] == Start::Waiting && self.looked[s] > 0)
        {
            ServiceStatus::MidStream
        } else {
            ServiceStatus::NoPayload
        };
        let tls = (self.tls & (tls::CLIENT_HELLO | tls::SERVER_HELLO) != 0).then(|| TlsInfo {
            version: (self.tls & tls::SERVER_HELLO != 0).then_some(self.chosen),
            client_version: (self.tls & tls::CLIENT_HELLO != 0).then_some(self.offered),
            sni: sni.cloned().unwrap_or_default(),
            sni_cut: self.tls & tls::SNI_CUT != 0,
        });
        (service, status, tls)
    }
}

/// Appends `name` to a comma-separated service list, once.
fn add(list: &mut Text, name: &str) {
    if super::service::services(list).any(|s| s == name) {
        return;
    }
    if !list.is_empty() {
        list.push(',');
    }
    list.push_str(name);
}

/// Protocols after which a TLS hello may follow on the same connection.
fn upgrades(h: Hint) -> bool {
    matches!(
        h,
        Hint::SmtpBanner
            | Hint::SmtpHelo
            | Hint::RdpRequest
            | Hint::RdpConfirm
            | Hint::LdapRequest
            | Hint::LdapResponse
    )
}

/// Zeek's service name of a hint (None: no protocol).
pub fn service_name(h: Hint, proto: Proto) -> Option<&'static str> {
    let tcp = proto == Proto::Tcp;
    Some(match h {
        Hint::None | Hint::Short => return None,
        Hint::TlsClientHello
        | Hint::TlsServerHello
        | Hint::TlsAlert
        | Hint::TlsOther
        | Hint::Ssl2ClientHello => "ssl",
        Hint::HttpRequest | Hint::HttpResponse => "http",
        Hint::Http2Preface => "http2",
        Hint::SshBanner => "ssh",
        Hint::Smb1 | Hint::Smb2 | Hint::Smb3Transform => "smb",
        Hint::SmtpBanner | Hint::SmtpHelo => "smtp",
        Hint::TdsPrelogin | Hint::TdsOther => "tds",
        Hint::DnsQuery | Hint::DnsResponse => "dns",
        Hint::QuicLong => "quic",
        Hint::RdpRequest | Hint::RdpConfirm => "rdp",
        Hint::LdapRequest | Hint::LdapResponse if tcp => "ldap_tcp",
        Hint::LdapRequest | Hint::LdapResponse => "ldap_udp",
        Hint::KrbRequest | Hint::KrbReply if tcp => "krb_tcp",
        Hint::KrbRequest | Hint::KrbReply => "krb",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(h: Hint, version: u16) -> AppHint {
        AppHint {
            hint: h,
            version,
            ..Default::default()
        }
    }

    #[test]
    fn fourteen_bytes() {
        assert_eq!(std::mem::size_of::<AppState>(), 14);
    }

    #[test]
    fn tls_both_sides() {
        let mut a = AppState::default();
        a.syn(0, false);
        a.syn(1, true);
        assert_eq!(
            a.payload(0, &hint(Hint::TlsClientHello, 0x0304), true, true),
            Keep::Sni
        );
        a.payload(1, &hint(Hint::TlsServerHello, 0x0303), true, true);
        // Later packets change nothing.
        a.payload(0, &hint(Hint::TlsClientHello, 0x0301), true, false);
        let sni = Text::from("a.example");
        let (s, st, tls) = a.outcome(Proto::Tcp, Some(&sni));
        assert_eq!((s.as_str(), st), ("ssl", ServiceStatus::Known));
        let tls = tls.unwrap();
        assert_eq!(
            (tls.version, tls.client_version),
            (Some(0x0303), Some(0x0304))
        );
        assert_eq!(tls.sni, "a.example");
    }

    #[test]
    fn starttls_adds_ssl_in_order() {
        let mut a = AppState::default();
        a.syn(0, false);
        a.syn(1, true);
        a.payload(1, &hint(Hint::SmtpBanner, 0), true, true);
        a.payload(0, &hint(Hint::SmtpHelo, 0), true, true);
        for _ in 0..3 {
            a.payload(0, &hint(Hint::None, 0), true, false);
        }
        a.payload(0, &hint(Hint::TlsClientHello, 0x0304), true, false);
        a.payload(1, &hint(Hint::TlsServerHello, 0x0304), true, false);
        let (s, st, tls) = a.outcome(Proto::Tcp, None);
        assert_eq!((s.as_str(), st), ("smtp,ssl", ServiceStatus::Known));
        assert_eq!(tls.unwrap().version, Some(0x0304));
        // Past the watch, a hello no longer counts.
        let mut b = AppState::default();
        b.syn(0, false);
        b.payload(0, &hint(Hint::SmtpHelo, 0), true, true);
        for _ in 0..MAX_WATCH {
            b.payload(0, &hint(Hint::None, 0), true, false);
        }
        b.payload(0, &hint(Hint::TlsClientHello, 0x0304), true, false);
        assert_eq!(b.outcome(Proto::Tcp, None).0, "smtp");
        // The server's banner is enough to watch a client whose first line was cut.
        let mut c = AppState::default();
        c.syn(0, false);
        c.syn(1, true);
        c.payload(1, &hint(Hint::RdpConfirm, 0), true, true);
        c.payload(0, &hint(Hint::Short, 0), true, true);
        c.payload(0, &hint(Hint::TlsClientHello, 0x0304), true, false);
        assert_eq!(c.outcome(Proto::Tcp, None).0, "rdp,ssl");
        // A flow of no such protocol is not watched.
        let mut d = AppState::default();
        d.syn(0, false);
        d.syn(1, true);
        d.payload(0, &hint(Hint::HttpRequest, 0), true, true);
        d.payload(1, &hint(Hint::HttpResponse, 0), true, true);
        d.payload(0, &hint(Hint::TlsClientHello, 0x0304), true, false);
        assert_eq!(d.outcome(Proto::Tcp, None).0, "http");
    }

    #[test]
    fn undecided_reasons() {
        // No payload.
        let a = AppState::default();
        assert_eq!(a.outcome(Proto::Tcp, None).1, ServiceStatus::NoPayload);
        // No SYN seen: mid-stream, whatever the bytes.
        let mut b = AppState::default();
        b.payload(0, &hint(Hint::HttpRequest, 0), true, true);
        assert_eq!(b.outcome(Proto::Tcp, None).1, ServiceStatus::MidStream);
        // The start never came: mid-stream, also before MAX_WAIT.
        let mut c = AppState::default();
        c.syn(0, false);
        c.payload(0, &hint(Hint::HttpRequest, 0), true, false);
        assert_eq!(c.outcome(Proto::Tcp, None).1, ServiceStatus::MidStream);
        // The start came late, within MAX_WAIT: decided.
        c.payload(0, &hint(Hint::HttpRequest, 0), true, true);
        assert_eq!(c.outcome(Proto::Tcp, None).0, "http");
        // Cut, and unknown winning over cut.
        let mut d = AppState::default();
        d.payload(0, &hint(Hint::Short, 0), false, true);
        assert_eq!(d.outcome(Proto::Udp, None).1, ServiceStatus::Cut);
        d.payload(1, &hint(Hint::None, 0), false, true);
        assert_eq!(d.outcome(Proto::Udp, None).1, ServiceStatus::Unknown);
    }

    #[test]
    fn conflicting_sides_both_named_and_names_by_transport() {
        let mut a = AppState::default();
        a.payload(0, &hint(Hint::TlsClientHello, 0x0303), false, true);
        a.payload(1, &hint(Hint::HttpResponse, 0), false, true);
        assert_eq!(a.outcome(Proto::Tcp, None).0, "ssl,http");
        assert_eq!(service_name(Hint::KrbRequest, Proto::Udp), Some("krb"));
        assert_eq!(service_name(Hint::KrbReply, Proto::Tcp), Some("krb_tcp"));
        assert_eq!(
            service_name(Hint::LdapRequest, Proto::Udp),
            Some("ldap_udp")
        );
        assert_eq!(service_name(Hint::Short, Proto::Tcp), None);
    }
}
