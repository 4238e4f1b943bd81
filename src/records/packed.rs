//! A [`FlowRecord`] packed into a few bytes while the duplicate merge holds it: numbers as
//! variable-length integers, addresses by family, strings with their length, the names a
//! record points to (service, tunnel kind, rejection) by their text. A held record costs its
//! packed length (about a hundred bytes for a TCP record) instead of the record's 400 bytes
//! plus its strings' allocations.
//!
//! [`unpack`] reads back exactly what [`pack`] wrote; it reads only bytes [`pack`] made (a
//! short or foreign input gives some record, never a panic).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::flow::{ConnState, FlowRecord, IcmpErrors, Proto, Text, TunnelInfo};

/// `r` packed into `out` (cleared first).
pub fn pack(r: &FlowRecord, out: &mut Vec<u8>) {
    out.clear();
    let w = &mut Writer(out);
    w.text(&r.community_id);
    w.int(r.ts_ns);
    w.text(&r.uid);
    w.ip(r.orig_h);
    w.uint(u64::from(r.orig_p));
    w.ip(r.resp_h);
    w.uint(u64::from(r.resp_p));
    w.byte(u8::from(r.proto == Proto::Udp));
    w.int(r.duration_ns);
    w.uint(r.orig_bytes);
    w.uint(r.resp_bytes);
    w.byte(
        ConnState::ALL
            .iter()
            .position(|&s| s == r.conn_state)
            .map_or(0, |i| i as u8),
    );
    w.uint(r.missed_bytes);
    w.text(&r.history);
    for n in [r.orig_pkts, r.orig_ip_bytes, r.resp_pkts, r.resp_ip_bytes] {
        w.uint(n);
    }
    w.uint(r.vlan.len() as u64);
    for &v in &r.vlan {
        w.uint(u64::from(v));
    }
    w.byte(u8::from(r.direction_inferred) | u8::from(r.evicted) << 1);
    for t in [r.syn_synack_ns, r.synack_ack_ns, r.rtt_ns] {
        w.opt_int(t);
    }
    match r.icmp_errors {
        None => w.byte(0),
        Some(e) => {
            w.byte(1);
            w.uint(u64::from(e.count));
            w.byte(e.last_type);
            w.byte(e.last_code);
        }
    }
    w.text(&r.service);
    w.byte(
        crate::flow::ServiceStatus::ALL
            .iter()
            .position(|&s| s == r.service_status)
            .map_or(0, |i| i as u8),
    );
    match &r.tls {
        None => w.byte(0),
        Some(t) => {
            w.byte(1 | u8::from(t.sni_cut) << 1);
            w.opt_int(t.version.map(i64::from));
            w.opt_int(t.client_version.map(i64::from));
            w.text(&t.sni);
        }
    }
    match &r.tunnel {
        None => w.byte(0),
        Some(t) => {
            w.byte(1);
            w.text(t.kind);
            w.ip(t.src);
            w.ip(t.dst);
            w.opt_int(t.id.map(i64::from));
            w.byte(t.depth);
        }
    }
    w.uint(r.tunnel_parents.len() as u64);
    for p in &r.tunnel_parents {
        w.text(p);
    }
    w.uint(u64::from(r.bad_checksums));
    w.opt_text(r.rejected);
}

/// The Community ID of a packed record (written first), without unpacking the rest.
pub fn community_id(b: &[u8]) -> &[u8] {
    let mut r = Reader { b, i: 0 };
    r.bytes()
}

/// The record [`pack`] packed into `b`.
pub fn unpack(b: &[u8]) -> FlowRecord {
    let r = &mut Reader { b, i: 0 };
    let community_id = r.text();
    let ts_ns = r.int();
    let uid = r.text();
    let orig_h = r.ip();
    let orig_p = r.uint() as u16;
    let resp_h = r.ip();
    let resp_p = r.uint() as u16;
    let proto = if r.byte() == 1 {
        Proto::Udp
    } else {
        Proto::Tcp
    };
    let duration_ns = r.int();
    let orig_bytes = r.uint();
    let resp_bytes = r.uint();
    let conn_state = ConnState::ALL
        .get(usize::from(r.byte()))
        .copied()
        .unwrap_or(ConnState::OTH);
    let missed_bytes = r.uint();
    let history = r.text();
    let [orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes] =
        [r.uint(), r.uint(), r.uint(), r.uint()];
    let vlan = (0..r.uint().min(b.len() as u64))
        .map(|_| r.uint() as u16)
        .collect();
    let flags = r.byte();
    let [syn_synack_ns, synack_ack_ns, rtt_ns] = [r.opt_int(), r.opt_int(), r.opt_int()];
    let icmp_errors = (r.byte() == 1).then(|| IcmpErrors {
        count: r.uint() as u32,
        last_type: r.byte(),
        last_code: r.byte(),
    });
    let service = r.text();
    let service_status = crate::flow::ServiceStatus::ALL
        .get(usize::from(r.byte()))
        .copied()
        .unwrap_or_default();
    let tls_flags = r.byte();
    let tls = (tls_flags & 1 == 1).then(|| crate::flow::TlsInfo {
        version: r.opt_int().map(|v| v as u16),
        client_version: r.opt_int().map(|v| v as u16),
        sni: r.text(),
        sni_cut: tls_flags & 2 != 0,
    });
    let tunnel = if r.byte() == 1 {
        let kind = super::values::tunnel_kind(&r.text());
        let (src, dst) = (r.ip(), r.ip());
        let id = r.opt_int().map(|n| n as u32);
        let depth = r.byte();
        kind.map(|kind| TunnelInfo {
            kind,
            src,
            dst,
            id,
            depth,
        })
    } else {
        None
    };
    let tunnel_parents = (0..r.uint().min(b.len() as u64))
        .map(|_| r.text())
        .collect();
    let bad_checksums = r.uint() as u32;
    let rejected = r.opt_text().map(|s| super::json::rejected(&s));
    FlowRecord {
        ts_ns,
        uid,
        orig_h,
        orig_p,
        resp_h,
        resp_p,
        proto,
        duration_ns,
        orig_bytes,
        resp_bytes,
        conn_state,
        missed_bytes,
        history,
        orig_pkts,
        orig_ip_bytes,
        resp_pkts,
        resp_ip_bytes,
        vlan,
        community_id,
        direction_inferred: flags & 1 != 0,
        syn_synack_ns,
        synack_ack_ns,
        rtt_ns,
        icmp_errors,
        evicted: flags & 2 != 0,
        service,
        service_status,
        tls,
        tunnel,
        tunnel_parents,
        bad_checksums,
        rejected,
    }
}

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    /// Seven bits a byte, low first; the top bit says more follow.
    fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push(n as u8 | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    /// Signed, zigzag: small magnitudes are short either side of zero.
    fn int(&mut self, n: i64) {
        self.uint(((n << 1) ^ (n >> 63)) as u64);
    }

    fn opt_int(&mut self, n: Option<i64>) {
        match n {
            None => self.byte(0),
            Some(n) => {
                self.byte(1);
                self.int(n);
            }
        }
    }

    fn text(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn opt_text(&mut self, s: Option<&str>) {
        match s {
            None => self.byte(0),
            Some(s) => {
                self.byte(1);
                self.text(s);
            }
        }
    }

    fn ip(&mut self, a: IpAddr) {
        match a {
            IpAddr::V4(a) => {
                self.byte(4);
                self.0.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                self.byte(6);
                self.0.extend_from_slice(&a.octets());
            }
        }
    }
}

/// Reads what [`Writer`] wrote; past the end every byte reads as 0.
struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        let b = self.b.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        b
    }

    fn uint(&mut self) -> u64 {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte();
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
        }
        n
    }

    fn int(&mut self) -> i64 {
        let z = self.uint();
        (z >> 1) as i64 ^ -((z & 1) as i64)
    }

    fn opt_int(&mut self) -> Option<i64> {
        (self.byte() == 1).then(|| self.int())
    }

    fn bytes(&mut self) -> &'a [u8] {
        let n = usize::try_from(self.uint()).unwrap_or(usize::MAX);
        let end = self.i.saturating_add(n).min(self.b.len());
        let s = self.b.get(self.i.min(end)..end).unwrap_or_default();
        self.i = end;
        s
    }

    fn text(&mut self) -> Text {
        Text::from_utf8_lossy(self.bytes())
    }

    fn opt_text(&mut self) -> Option<Text> {
        (self.byte() == 1).then(|| self.text())
    }

    fn ip(&mut self) -> IpAddr {
        if self.byte() == 6 {
            let mut o = [0u8; 16];
            for b in &mut o {
                *b = self.byte();
            }
            IpAddr::V6(Ipv6Addr::from(o))
        } else {
            let mut o = [0u8; 4];
            for b in &mut o {
                *b = self.byte();
            }
            IpAddr::V4(Ipv4Addr::from(o))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn unpacks_as_packed(r in crate::records::json::tests::record()) {
            let mut b = Vec::new();
            pack(&r, &mut b);
            prop_assert_eq!(community_id(&b), r.community_id.as_bytes());
            prop_assert_eq!(unpack(&b), r);
        }

        #[test]
        fn any_bytes_unpack_without_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = unpack(&b);
            let _ = community_id(&b);
        }
    }
}
