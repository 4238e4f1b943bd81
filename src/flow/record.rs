//! A finished flow's record, as Zeek's conn.log names it, and how it is built from the flow.

use std::net::IpAddr;

use super::ids::{community_id, uid, uid_with};
use super::key::Context;
use super::service::{ServiceStatus, TlsInfo};
use super::state::{Ext, Flow, NONE, tcp_time, udp_time};
use super::tcp::{ConnState, conn_state, udp_conn_state};
use super::{NS, Proto, SecondBytes, ServerPorts, Text};
use crate::decode::{Addr, ipproto};

/// ICMP errors that quoted a flow's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpErrors {
    pub count: u32,
    pub last_type: u8,
    pub last_code: u8,
}

/// The tunnel a flow's packets came through (the innermost layer; `depth` counts the layers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunnelInfo {
    /// gre, erspan1/2/3, vxlan, geneve, gtpv1, teredo, ayiya, mpls-udp or ip (IP in IP).
    pub kind: &'static str,
    /// Outer source and destination, as the first packet of the tunnel context had them.
    pub src: IpAddr,
    pub dst: IpAddr,
    /// VXLAN/GENEVE VNI, GRE key, ERSPAN session id, or GTP-U TEID (of that first packet).
    pub id: Option<u32>,
    /// Tunnel layers around the flow.
    pub depth: u8,
}

/// One finished flow, oriented client (orig) -> server (resp), named as Zeek's conn.log.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    /// Time of the first packet, ns since the epoch.
    pub ts_ns: i64,
    /// Deterministic Zeek-style id: `C` + base62 of a hash of the flow's key and first time.
    pub uid: Text,
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub proto: Proto,
    /// Last packet time minus first packet time, ns.
    pub duration_ns: i64,
    /// Payload bytes the client sent, every packet as seen (retransmissions included).
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    /// Zeek's conn_state code.
    pub conn_state: ConnState,
    /// TCP: bytes acknowledged but never seen, both directions (Zeek's `missed_bytes`).
    pub missed_bytes: u64,
    /// Zeek's history letters, upper case for the client.
    pub history: Text,
    pub orig_pkts: u64,
    /// Sum of IP lengths of the client's packets.
    pub orig_ip_bytes: u64,
    pub resp_pkts: u64,
    pub resp_ip_bytes: u64,
    /// VLAN ids, outer first.
    pub vlan: Vec<u16>,
    /// Community ID v1, seed 0.
    pub community_id: Text,
    /// True when no handshake told the direction and it was inferred.
    pub direction_inferred: bool,
    /// TCP: first SYN/ACK time minus the last client SYN before it, ns.
    pub syn_synack_ns: Option<i64>,
    /// TCP: the client's first ACK after the SYN/ACK minus the last SYN/ACK before it, ns.
    pub synack_ack_ns: Option<i64>,
    /// TCP: syn_synack + synack_ack; UDP: first reply minus first request, ns.
    pub rtt_ns: Option<i64>,
    pub icmp_errors: Option<IcmpErrors>,
    /// True when the flow was ended early because the flow table was full (`--max-flows`):
    /// a later packet of the same connection starts a new record.
    pub evicted: bool,
    /// The application protocols the flow carried, Zeek's names in the order they were
    /// identified, comma separated (`ssl`, `http`, `smtp,ssl` for an upgrade, ...); a UDP flow
    /// that carried a tunnel: the tunnel (vxlan, geneve, gtpv1, teredo, ayiya, mpls-udp), as
    /// Zeek's conn.log has it. Empty: none identified ([`FlowRecord::service_status`] says why).
    pub service: Text,
    /// Whether the application protocol was decided, and if not, why.
    pub service_status: ServiceStatus,
    /// The TLS handshake's version, offered version and server name, when one was seen.
    pub tls: Option<TlsInfo>,
    /// A flow inside a tunnel: the tunnel.
    pub tunnel: Option<TunnelInfo>,
    /// A flow inside a tunnel: the uids of the outer UDP flows that carried it, or for an
    /// IP-level tunnel (IP in IP, GRE, ERSPAN) the tunnel's own uid (Zeek's conn.log name).
    pub tunnel_parents: Vec<Text>,
    /// Packets with a wrong checksum (`--checksums count|drop`; 0 when not verified).
    pub bad_checksums: u32,
    /// The source says the traffic was blocked (an AWS VPC flow log's `REJECT`): the reason.
    /// Such a flow never got through, whatever its packets.
    pub rejected: Option<&'static str>,
}

impl FlowRecord {
    /// The flow carried a tunnel over UDP (its `service` names one): a tunnel endpoint's flow.
    pub fn carries_tunnel(&self) -> bool {
        super::service::services(&self.service).any(super::service::is_tunnel)
    }
}

/// The flow's protocol.
pub fn proto(f: &Flow) -> Proto {
    if f.key.proto == ipproto::TCP {
        Proto::Tcp
    } else {
        Proto::Udp
    }
}

/// The flow's client side and whether it was inferred (no handshake told it).
pub fn client_side(f: &Flow, servers: &dyn ServerPorts) -> (usize, bool) {
    match f.known_client() {
        Some(c) => (c, false),
        None => {
            let (p0, p1) = side_ports(f);
            (infer_client(proto(f), p0, p1, servers), true)
        }
    }
}

/// Ports of side 0 and side 1.
fn side_ports(f: &Flow) -> (u16, u16) {
    if f.side0_lo {
        (f.key.lo_port, f.key.hi_port)
    } else {
        (f.key.hi_port, f.key.lo_port)
    }
}

/// Address and port of `side`.
fn endpoint(f: &Flow, side: usize) -> (Addr, u16) {
    let (p0, p1) = side_ports(f);
    let lo_side = if f.side0_lo { 0 } else { 1 };
    let addr = if side == lo_side { f.key.lo } else { f.key.hi };
    (addr, if side == 0 { p0 } else { p1 })
}

/// One second of the flow's bytes, with its endpoints as known now.
pub fn second(f: &Flow, servers: &dyn ServerPorts, sec: i64, ip_bytes: u64) -> SecondBytes {
    let (client, inferred) = client_side(f, servers);
    let ((ca, cp), (sa, sp)) = (endpoint(f, client), endpoint(f, 1 - client));
    SecondBytes {
        proto: proto(f),
        orig_h: ca.to_ip(f.key.v6),
        orig_p: cp,
        resp_h: sa.to_ip(f.key.v6),
        resp_p: sp,
        direction_inferred: inferred,
        sec,
        ip_bytes,
    }
}

/// Builds the record of an ended flow from its core and extension; `vlan` is its VLAN stack and
/// `icmp` the ICMP errors that quoted it.
pub fn build(
    f: &Flow,
    x: &Ext,
    vlan: &[u16],
    icmp: Option<IcmpErrors>,
    servers: &dyn ServerPorts,
    evicted: bool,
) -> FlowRecord {
    let proto = proto(f);
    let (client, inferred) = client_side(f, servers);
    let server = 1 - client;
    let (c, s) = (&f.counts[client], &f.counts[server]);
    // Zeek marks a flow whose originator is not the first packet's sender with '^' (the first
    // by time: a capture out of order does not flip a flow).
    let history = x.history.render(client, f.earliest_side as usize);

    let (conn_state, syn_synack, synack_ack, rtt) = match proto {
        Proto::Tcp => {
            use tcp_time::*;
            let t = &x.times;
            let st = conn_state(
                x.tcp[client].state,
                x.tcp[server].state,
                c.payload,
                s.payload,
                &history,
            );
            let syn_synack =
                (t[SYN] != NONE && t[SYNACK_FIRST] != NONE && t[SYN] <= t[SYNACK_FIRST])
                    .then(|| t[SYNACK_FIRST].saturating_sub(t[SYN]));
            let synack_ack = if t[ACK] != NONE && t[SYNACK_FIRST] != NONE {
                let from = if t[SYNACK_LAST] != NONE && t[SYNACK_LAST] <= t[ACK] {
                    t[SYNACK_LAST]
                } else {
                    t[SYNACK_FIRST]
                };
                Some(t[ACK].saturating_sub(from))
            } else {
                None
            };
            let rtt = match (syn_synack, synack_ack) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            };
            (st, syn_synack, synack_ack, rtt)
        }
        Proto::Udp => {
            use udp_time::*;
            let st = udp_conn_state(c.pkts > 0, s.pkts > 0);
            let (c_first, s_first) = (x.times[FIRST + client], x.times[FIRST + server]);
            // The first reply: the server's first packet at or after the client's first one.
            let reply = if s_first != NONE && c_first != NONE && s_first >= c_first {
                s_first
            } else {
                x.times[FIRST_AFTER_PEER + server]
            };
            let rtt = (reply != NONE && c_first != NONE).then(|| reply.saturating_sub(c_first));
            (st, None, None, rtt)
        }
    };

    let v6 = f.key.v6;
    let ((ca, cp), (sa, sp)) = (endpoint(f, client), endpoint(f, server));
    FlowRecord {
        ts_ns: f.first_ns,
        uid: uid(&f.key, vlan, f.first_ns, f.dup as u32),
        orig_h: ca.to_ip(v6),
        orig_p: cp,
        resp_h: sa.to_ip(v6),
        resp_p: sp,
        proto,
        duration_ns: f.last_ns.saturating_sub(f.first_ns),
        orig_bytes: c.payload,
        resp_bytes: s.payload,
        conn_state,
        missed_bytes: x.missed_bytes,
        history,
        orig_pkts: c.pkts,
        orig_ip_bytes: c.ip_bytes,
        resp_pkts: s.pkts,
        resp_ip_bytes: s.ip_bytes,
        vlan: vlan.to_vec(),
        community_id: community_id(f.key.proto, v6, &ca, cp, &sa, sp),
        direction_inferred: inferred,
        syn_synack_ns: syn_synack,
        synack_ack_ns: synack_ack,
        rtt_ns: rtt,
        icmp_errors: icmp,
        evicted,
        service: Text::default(),
        service_status: ServiceStatus::NoPayload,
        tls: None,
        tunnel: None,
        tunnel_parents: Vec::new(),
        bad_checksums: x.bad_checksums,
        rejected: None,
    }
}

/// Fills a tunnelled flow's tunnel fields from its context `c`: the tunnel, its parents (for a
/// UDP tunnel, `parents`: the uids of the outer flows its packets came in), and a uid that takes the context's uid (same addresses in two tunnels, two uids).
pub fn set_tunnel(r: &mut FlowRecord, f: &Flow, vlan: &[u16], c: &Context, parents: &[Text]) {
    let t = &c.layer;
    r.tunnel = Some(TunnelInfo {
        kind: t.kind.name(),
        src: t.src.to_ip(t.v6),
        dst: t.dst.to_ip(t.v6),
        id: t.id,
        depth: c.depth,
    });
    r.tunnel_parents = if t.kind.over_udp() {
        parents.to_vec()
    } else {
        vec![c.uid.clone()]
    };
    r.uid = uid_with(&f.key, vlan, c.uid.as_bytes(), f.first_ns, f.dup as u32);
}

/// The client side when no handshake says: a server port of the rules on one side wins (the
/// more specific one when both are); else Zeek's rule with its likely server ports
/// ([`LIKELY_SERVER_PORTS`]): the first sender is the client unless its port is a likely
/// server port and the other's is not (when both are, TCP flips when the first sender's port
/// is the lower one, UDP does not); else, when neither port is a likely server port, a
/// well-known port (< 1024) on exactly one side is the server; else the first sender (side 0)
/// is the client.
pub fn infer_client(proto: Proto, p0: u16, p1: u16, servers: &dyn ServerPorts) -> usize {
    match (
        servers.server_port_rank(proto, p0),
        servers.server_port_rank(proto, p1),
    ) {
        (Some(_), None) => return 1,
        (None, Some(_)) => return 0,
        (Some(a), Some(b)) if a < b => return 1,
        (Some(a), Some(b)) if b < a => return 0,
        _ => {}
    }
    match (likely_server_port(proto, p0), likely_server_port(proto, p1)) {
        (true, false) => return 1,
        (true, true) => return usize::from(proto == Proto::Tcp && p0 < p1),
        (false, true) => return 0,
        (false, false) => {}
    }
    let (w0, w1) = (p0 < 1024, p1 < 1024);
    if w0 != w1 {
        return if w0 { 1 } else { 0 };
    }
    0
}

/// Zeek's `likely_server_ports` as Zeek's default scripts fill it, sorted (for the binary search).
///
/// Checked entry by entry against Zeek's own scripts (zeek/zeek master of 2026, after Zeek 8.1).
/// Since Zeek 8.1 (zeek/zeek PR #5093) `Analyzer::register_for_ports(tag, server_ports,
/// non_server_ports)` and `PacketAnalyzer::register_for_ports(...)` add their `server_ports` to
/// `likely_server_ports` (`scripts/base/frameworks/analyzer/main.zeek`,
/// `scripts/base/packet-protocols/main.zeek`); before 8.1 each script said
/// `redef likely_server_ports += { ... }`. So the set is the server ports of every analyzer
/// registration in the scripts `base/init-default.zeek` loads (`base/protocols/*/main.zeek`) and
/// in the tunnel scripts `base/init-bare.zeek` loads (`base/packet-protocols/*/main.zeek`);
/// `init-bare.zeek` declares the set empty. Not included: `local.zeek`, `policy/` scripts, site
/// `redef`s, ports a Spicy `.evt` file names, and analyzers found only by DPD signatures (POP3's
/// 110/tcp is a signature, not a registered port; RFB, NTLM and WebSocket register no ports;
/// DHCP's 68/udp, QUIC's DNS-over-QUIC 853/udp and 784/udp are `non_server_ports`). The
/// scripts' explicit `redef`s before 8.1 did not list MySQL 1434/3306, MQTT 1883 or DHCP
/// 4011/udp; Syslog's 514/tcp and SSL's 465/tcp (SMTPS, zeek/zeek PR #5291, March 2026) are
/// newer registrations.
pub static LIKELY_SERVER_PORTS: &[(Proto, u16)] = &[
    (Proto::Tcp, 21),    // protocols/ftp/main.zeek
    (Proto::Tcp, 22),    // protocols/ssh/main.zeek
    (Proto::Tcp, 25),    // protocols/smtp/main.zeek
    (Proto::Tcp, 53),    // protocols/dns/main.zeek
    (Proto::Tcp, 79),    // protocols/finger/main.zeek
    (Proto::Tcp, 80),    // protocols/http/main.zeek
    (Proto::Tcp, 81),    // protocols/http/main.zeek
    (Proto::Tcp, 88),    // protocols/krb/main.zeek
    (Proto::Tcp, 135),   // protocols/dce-rpc/main.zeek
    (Proto::Tcp, 139),   // protocols/smb/main.zeek
    (Proto::Tcp, 143),   // protocols/imap/main.zeek
    (Proto::Tcp, 389),   // protocols/ldap/main.zeek
    (Proto::Tcp, 443),   // protocols/ssl/main.zeek
    (Proto::Tcp, 445),   // protocols/smb/main.zeek
    (Proto::Tcp, 465),   // protocols/ssl/main.zeek (SMTPS)
    (Proto::Tcp, 502),   // protocols/modbus/main.zeek
    (Proto::Tcp, 514),   // protocols/syslog/main.zeek (Syslog over TCP)
    (Proto::Tcp, 563),   // protocols/ssl/main.zeek
    (Proto::Tcp, 585),   // protocols/ssl/main.zeek
    (Proto::Tcp, 587),   // protocols/smtp/main.zeek
    (Proto::Tcp, 614),   // protocols/ssl/main.zeek
    (Proto::Tcp, 631),   // protocols/http/main.zeek
    (Proto::Tcp, 636),   // protocols/ssl/main.zeek
    (Proto::Tcp, 989),   // protocols/ssl/main.zeek
    (Proto::Tcp, 990),   // protocols/ssl/main.zeek
    (Proto::Tcp, 992),   // protocols/ssl/main.zeek
    (Proto::Tcp, 993),   // protocols/ssl/main.zeek
    (Proto::Tcp, 995),   // protocols/ssl/main.zeek
    (Proto::Tcp, 1080),  // protocols/http/main.zeek, protocols/socks/main.zeek
    (Proto::Tcp, 1434),  // protocols/mysql/main.zeek
    (Proto::Tcp, 1883),  // protocols/mqtt/main.zeek
    (Proto::Tcp, 2811),  // protocols/ftp/main.zeek (GridFTP)
    (Proto::Tcp, 3128),  // protocols/http/main.zeek
    (Proto::Tcp, 3268),  // protocols/ldap/main.zeek
    (Proto::Tcp, 3306),  // protocols/mysql/main.zeek
    (Proto::Tcp, 3389),  // protocols/rdp/main.zeek
    (Proto::Tcp, 5222),  // protocols/xmpp/main.zeek
    (Proto::Tcp, 5223),  // protocols/ssl/main.zeek
    (Proto::Tcp, 5269),  // protocols/xmpp/main.zeek
    (Proto::Tcp, 5432),  // protocols/postgresql/main.zeek
    (Proto::Tcp, 6379),  // protocols/redis/main.zeek
    (Proto::Tcp, 6666),  // protocols/irc/main.zeek
    (Proto::Tcp, 6667),  // protocols/irc/main.zeek
    (Proto::Tcp, 6668),  // protocols/irc/main.zeek
    (Proto::Tcp, 6669),  // protocols/irc/main.zeek
    (Proto::Tcp, 8000),  // protocols/http/main.zeek
    (Proto::Tcp, 8080),  // protocols/http/main.zeek
    (Proto::Tcp, 8888),  // protocols/http/main.zeek
    (Proto::Tcp, 20000), // protocols/dnp3/main.zeek
    (Proto::Udp, 53),    // protocols/dns/main.zeek
    (Proto::Udp, 67),    // protocols/dhcp/main.zeek (68 is a non-server port)
    (Proto::Udp, 88),    // protocols/krb/main.zeek
    (Proto::Udp, 123),   // protocols/ntp/main.zeek
    (Proto::Udp, 137),   // protocols/dns/main.zeek (NetBIOS name service)
    (Proto::Udp, 161),   // protocols/snmp/main.zeek
    (Proto::Udp, 162),   // protocols/snmp/main.zeek
    (Proto::Udp, 389),   // protocols/ldap/main.zeek
    (Proto::Udp, 443),   // protocols/ssl/main.zeek (DTLS), protocols/quic/main.zeek
    (Proto::Udp, 514),   // protocols/syslog/main.zeek
    (Proto::Udp, 1812),  // protocols/radius/main.zeek
    (Proto::Udp, 2123),  // packet-protocols/gtpv1/main.zeek
    (Proto::Udp, 2152),  // packet-protocols/gtpv1/main.zeek
    (Proto::Udp, 3389),  // protocols/rdp/main.zeek (RDPEUDP)
    (Proto::Udp, 3544),  // packet-protocols/teredo/main.zeek
    (Proto::Udp, 4011),  // protocols/dhcp/main.zeek (PXE proxy DHCP)
    (Proto::Udp, 4789),  // packet-protocols/vxlan/main.zeek
    (Proto::Udp, 5060),  // protocols/sip/main.zeek
    (Proto::Udp, 5072),  // packet-protocols/ayiya/main.zeek
    (Proto::Udp, 5353),  // protocols/dns/main.zeek (mDNS)
    (Proto::Udp, 5355),  // protocols/dns/main.zeek (LLMNR)
    (Proto::Udp, 6081),  // packet-protocols/geneve/main.zeek
    (Proto::Udp, 20000), // protocols/dnp3/main.zeek
];

/// Whether `port` is one of Zeek's likely server ports for `proto`.
pub fn likely_server_port(proto: Proto, port: u16) -> bool {
    LIKELY_SERVER_PORTS.binary_search(&(proto, port)).is_ok()
}

/// A TCP record 10.0.0.1:1025 -> 10.0.0.2:80 at time 0 with every count zero, state SF and no
/// optional field, for tests to fill in (`FlowRecord { ts_ns, ..FlowRecord::blank() }`).
#[cfg(test)]
impl FlowRecord {
    pub(crate) fn blank() -> FlowRecord {
        FlowRecord {
            ts_ns: 0,
            uid: Text::default(),
            orig_h: std::net::IpAddr::from([10, 0, 0, 1]),
            orig_p: 1025,
            resp_h: std::net::IpAddr::from([10, 0, 0, 2]),
            resp_p: 80,
            proto: Proto::Tcp,
            duration_ns: 0,
            orig_bytes: 0,
            resp_bytes: 0,
            conn_state: crate::flow::ConnState::SF,
            missed_bytes: 0,
            history: Text::default(),
            orig_pkts: 0,
            orig_ip_bytes: 0,
            resp_pkts: 0,
            resp_ip_bytes: 0,
            vlan: Vec::new(),
            community_id: Text::default(),
            direction_inferred: true,
            syn_synack_ns: None,
            synack_ack_ns: None,
            rtt_ns: None,
            icmp_errors: None,
            evicted: false,
            service: Text::default(),
            service_status: ServiceStatus::NotInSource,
            tls: None,
            tunnel: None,
            tunnel_parents: Vec::new(),
            bad_checksums: 0,
            rejected: None,
        }
    }
}

/// A record's IP bytes (both ways) spread evenly over the seconds its duration covers, each
/// second getting the share of the duration inside it (all in the first second when the
/// duration is zero). The shares add up to the total exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// The record's start, ns since the epoch.
    pub start_ns: i64,
    /// Its duration, ns (never negative).
    pub dur_ns: i64,
    /// IP bytes both ways.
    pub total: u64,
}

impl Spread {
    pub fn of(r: &FlowRecord) -> Spread {
        Spread::new(
            r.ts_ns,
            r.duration_ns,
            r.orig_ip_bytes.saturating_add(r.resp_ip_bytes),
        )
    }

    /// `total` bytes over `dur_ns` (a negative duration is zero) from `start_ns`.
    pub fn new(start_ns: i64, dur_ns: i64, total: u64) -> Spread {
        Spread {
            start_ns,
            dur_ns: dur_ns.max(0),
            total,
        }
    }

    /// The first second it covers (seconds since the epoch).
    pub fn first(&self) -> i64 {
        self.start_ns.div_euclid(NS)
    }

    /// The last second it covers.
    pub fn last(&self) -> i64 {
        if self.dur_ns == 0 {
            self.first()
        } else {
            (self.start_ns.saturating_add(self.dur_ns) - 1).div_euclid(NS)
        }
    }

    /// Bytes up to the end of second `sec`, proportional to the time elapsed.
    fn upto(&self, sec: i64) -> u64 {
        if sec < self.first() {
            0
        } else if sec >= self.last() || self.dur_ns == 0 {
            self.total
        } else {
            let elapsed = (sec + 1).saturating_mul(NS).saturating_sub(self.start_ns) as u128;
            (u128::from(self.total) * elapsed / self.dur_ns as u128) as u64
        }
    }

    /// Seconds `a..=b`, each strictly after the first and before the last: how many carry
    /// bytes, the most one carries, and the first that carries that many.
    ///
    /// Each such second holds a whole second of the duration, so it carries `per` or
    /// `per + 1` bytes (`per` = total × 1 s / duration, rounded down): the sum over the
    /// seconds says how many carry one more, and halving finds the first of them, without
    /// walking the seconds (a record may claim any duration).
    pub fn between(&self, a: i64, b: i64) -> (u64, u64, i64) {
        let sum = |x: i64, y: i64| self.upto(y).saturating_sub(self.upto(x.saturating_sub(1)));
        let dur = self.dur_ns.max(1) as u128;
        let per = u64::try_from(u128::from(self.total) * NS as u128 / dur).unwrap_or(u64::MAX);
        let n = (b.saturating_sub(a) as u64).saturating_add(1);
        let more = sum(a, b).saturating_sub(n.saturating_mul(per));
        let count = if per > 0 { n } else { more };
        if more == 0 {
            return (count, per, a);
        }
        // The first second with one more: the smallest `s` whose seconds `a..=s` carry more
        // than `per` each.
        let (mut lo, mut hi) = (a, b);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = (mid - a) as u64 + 1;
            if sum(a, mid) > k.saturating_mul(per) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        (count, per.saturating_add(1), lo)
    }

    /// The bytes of second `sec` (0 outside `first()..=last()`).
    pub fn bytes(&self, sec: i64) -> u64 {
        if sec > self.last() {
            return 0;
        }
        self.upto(sec) - self.upto(sec.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn likely_server_ports_are_sorted_and_found() {
        assert!(LIKELY_SERVER_PORTS.windows(2).all(|w| w[0] < w[1]));
        assert!(likely_server_port(Proto::Udp, 67));
        assert!(!likely_server_port(Proto::Udp, 68));
        assert!(likely_server_port(Proto::Udp, 123));
        assert!(!likely_server_port(Proto::Tcp, 123));
    }

    /// The list equals the union of the server ports each Zeek script registers, written here
    /// script by script as the scripts have them.
    #[test]
    fn likely_server_ports_are_zeeks_script_by_script() {
        use Proto::{Tcp, Udp};
        let by_script: &[(&str, Proto, &[u16])] = &[
            ("protocols/dce-rpc", Tcp, &[135]),
            ("protocols/dhcp", Udp, &[67, 4011]),
            ("protocols/dnp3", Tcp, &[20000]),
            ("protocols/dnp3", Udp, &[20000]),
            ("protocols/dns", Tcp, &[53]),
            ("protocols/dns", Udp, &[53, 137, 5353, 5355]),
            ("protocols/finger", Tcp, &[79]),
            ("protocols/ftp", Tcp, &[21, 2811]),
            (
                "protocols/http",
                Tcp,
                &[80, 81, 631, 1080, 3128, 8000, 8080, 8888],
            ),
            ("protocols/imap", Tcp, &[143]),
            ("protocols/irc", Tcp, &[6666, 6667, 6668, 6669]),
            ("protocols/krb", Tcp, &[88]),
            ("protocols/krb", Udp, &[88]),
            ("protocols/ldap", Tcp, &[389, 3268]),
            ("protocols/ldap", Udp, &[389]),
            ("protocols/modbus", Tcp, &[502]),
            ("protocols/mqtt", Tcp, &[1883]),
            ("protocols/mysql", Tcp, &[1434, 3306]),
            ("protocols/ntp", Udp, &[123]),
            ("protocols/postgresql", Tcp, &[5432]),
            ("protocols/quic", Udp, &[443]),
            ("protocols/radius", Udp, &[1812]),
            ("protocols/rdp", Tcp, &[3389]),
            ("protocols/rdp", Udp, &[3389]),
            ("protocols/redis", Tcp, &[6379]),
            ("protocols/sip", Udp, &[5060]),
            ("protocols/smb", Tcp, &[139, 445]),
            ("protocols/smtp", Tcp, &[25, 587]),
            ("protocols/snmp", Udp, &[161, 162]),
            ("protocols/socks", Tcp, &[1080]),
            ("protocols/ssh", Tcp, &[22]),
            (
                "protocols/ssl",
                Tcp,
                &[443, 465, 563, 585, 614, 636, 989, 990, 992, 993, 995, 5223],
            ),
            ("protocols/ssl", Udp, &[443]),
            ("protocols/syslog", Tcp, &[514]),
            ("protocols/syslog", Udp, &[514]),
            ("protocols/xmpp", Tcp, &[5222, 5269]),
            ("packet-protocols/ayiya", Udp, &[5072]),
            ("packet-protocols/geneve", Udp, &[6081]),
            ("packet-protocols/gtpv1", Udp, &[2152, 2123]),
            ("packet-protocols/teredo", Udp, &[3544]),
            ("packet-protocols/vxlan", Udp, &[4789]),
        ];
        let mut want: Vec<(Proto, u16)> = by_script
            .iter()
            .flat_map(|&(_, proto, ports)| ports.iter().map(move |&p| (proto, p)))
            .collect();
        want.sort();
        want.dedup();
        assert_eq!(LIKELY_SERVER_PORTS, want.as_slice());
        // Registered for an analyzer but not as a server port, or found only by a signature,
        // or not loaded by Zeek's default scripts.
        for (proto, port) in [
            (Udp, 68),   // DHCP client port
            (Udp, 853),  // DNS over QUIC
            (Udp, 784),  // DNS over QUIC
            (Tcp, 110),  // POP3: a DPD signature only
            (Udp, 546),  // DHCPv6: not in base/init-default.zeek
            (Udp, 547),  // DHCPv6: not in base/init-default.zeek
            (Udp, 3478), // STUN: no analyzer in Zeek's base scripts
            (Tcp, 5060), // SIP is registered on UDP only
        ] {
            assert!(!likely_server_port(proto, port), "{proto:?} {port}");
        }
    }

    #[test]
    fn orientation_without_a_handshake() {
        let none = super::super::NoServerPorts;
        // DHCP: 68 -> 67 keeps the first sender; 67 -> 68 flips.
        assert_eq!(infer_client(Proto::Udp, 68, 67, &none), 0);
        assert_eq!(infer_client(Proto::Udp, 67, 68, &none), 1);
        // NTP both ways on 123: no flip (UDP).
        assert_eq!(infer_client(Proto::Udp, 123, 123, &none), 0);
        // Likely server ports come before the port < 1024 rule: 5353 is one, 1000 is not.
        assert_eq!(infer_client(Proto::Udp, 5353, 1000, &none), 1);
        assert_eq!(infer_client(Proto::Udp, 1000, 5353, &none), 0);
        // Neither: the well-known port is the server.
        assert_eq!(infer_client(Proto::Udp, 999, 40000, &none), 1);
        // TCP, both likely: flip when the first sender's port is the lower one.
        assert_eq!(infer_client(Proto::Tcp, 80, 8080, &none), 1);
        assert_eq!(infer_client(Proto::Tcp, 8080, 80, &none), 0);
        // Zeek no longer treats POP3's 110 as likely (a signature, no registered port), so the
        // well-known-port rule decides: 110 is the server either way.
        assert_eq!(infer_client(Proto::Tcp, 110, 40000, &none), 1);
        // Above 1024 only the likely list can tell: Redis 6379 and PXE proxy DHCP 4011 are
        // servers; STUN 3478 is not on Zeek's list, so the first sender stays the client.
        assert_eq!(infer_client(Proto::Tcp, 6379, 40000, &none), 1);
        assert_eq!(infer_client(Proto::Udp, 4011, 40000, &none), 1);
        assert_eq!(infer_client(Proto::Udp, 3478, 40000, &none), 0);
    }
}
