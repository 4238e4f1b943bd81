//! flowaudit's own JSON lines, read by their layout: the keys in the order `flows` writes
//! them, no white space, strings without escapes. Each key is compared
//! whole where it must be and each value read by its type, with no key lookup, duplicate
//! check or white-space skip between them.
//!
//! The judgement fields of `flows --rules` and `--flows-out` lines (`rule`, `verdict`,
//! `finding`, `also`, `reversed`) are read over, in that order. Any other line, and any part
//! of a line this does not read whole (a string with an escape, `tunnel_parents`, an
//! `icmp_errors` or `tunnel` object, a number in another form), is declined (None): the
//! scanner ([`super::json::scan`]) and serde read those. What this reads is exactly what serde reads from the line (checked
//! by [`super::json::scanner_agrees`], its tests and its fuzz target).

use super::json::{KEYS, next_special, plain_secs, plain_uint, rejected, starts_with};
use super::values::{
    Partial, conn_state_bytes, service, service_status, tls_version, transport_bytes,
};
use crate::flow::Text;
use std::net::IpAddr;

/// The keys of a line, quoted and followed by their colon: the record's (from [`KEYS`]), then
/// the judgement's that `flows --rules` and `--flows-out` add (their values are not read into
/// the record, as serde ignores them).
mod key {
    use super::KEYS;

    pub const TS: &[u8] = KEYS[0];
    pub const UID: &[u8] = KEYS[1];
    pub const ORIG_H: &[u8] = KEYS[2];
    pub const ORIG_P: &[u8] = KEYS[3];
    pub const RESP_H: &[u8] = KEYS[4];
    pub const RESP_P: &[u8] = KEYS[5];
    pub const PROTO: &[u8] = KEYS[6];
    pub const SERVICE: &[u8] = KEYS[7];
    pub const DURATION: &[u8] = KEYS[8];
    pub const ORIG_BYTES: &[u8] = KEYS[9];
    pub const RESP_BYTES: &[u8] = KEYS[10];
    pub const CONN_STATE: &[u8] = KEYS[11];
    pub const MISSED_BYTES: &[u8] = KEYS[12];
    pub const HISTORY: &[u8] = KEYS[13];
    pub const ORIG_PKTS: &[u8] = KEYS[14];
    pub const ORIG_IP_BYTES: &[u8] = KEYS[15];
    pub const RESP_PKTS: &[u8] = KEYS[16];
    pub const RESP_IP_BYTES: &[u8] = KEYS[17];
    pub const VLAN: &[u8] = KEYS[19];
    pub const COMMUNITY_ID: &[u8] = KEYS[21];
    pub const DIRECTION_INFERRED: &[u8] = KEYS[22];
    pub const SYN_SYNACK: &[u8] = KEYS[23];
    pub const SYNACK_ACK: &[u8] = KEYS[24];
    pub const RTT: &[u8] = KEYS[25];
    pub const ICMP_ERRORS: &[u8] = KEYS[26];
    pub const EVICTED: &[u8] = KEYS[27];
    pub const BAD_CHECKSUMS: &[u8] = KEYS[28];
    pub const REJECTED: &[u8] = KEYS[30];
    pub const SERVICE_STATUS: &[u8] = KEYS[31];
    pub const TLS_VERSION: &[u8] = KEYS[32];
    pub const TLS_CLIENT_VERSION: &[u8] = KEYS[33];
    pub const TLS_SNI: &[u8] = KEYS[34];
    pub const TLS_SNI_CUT: &[u8] = KEYS[35];
    pub const RULE: &[u8] = b"\"rule\":";
    pub const VERDICT: &[u8] = b"\"verdict\":";
    /// The audit's, after the verdict (`--flows-out`).
    pub const AUDIT: [&[u8]; 3] = [b"\"finding\":", b"\"also\":", b"\"reversed\":"];
}

/// A position in a line.
struct At<'a> {
    b: &'a [u8],
    /// The line as text, checked once: strings are taken from it without checking each
    /// (checking five short strings one by one cost more than the whole line).
    text: &'a str,
    i: usize,
}

impl<'a> At<'a> {
    /// The byte `c` here, consumed.
    #[inline(always)]
    fn byte(&mut self, c: u8) -> Option<()> {
        (*self.b.get(self.i)? == c).then(|| self.i += 1)
    }

    /// A key (`"name":`, one of [`key`]) here (after the `{` or `,` before it), consumed.
    #[inline(always)]
    fn key(&mut self, key: &[u8]) -> Option<()> {
        starts_with(self.b.get(self.i..)?, key).then(|| self.i += key.len())
    }

    /// `,` and `key` here, both consumed; false (nothing consumed) when the line has something
    /// else here.
    #[inline(always)]
    fn next_is(&mut self, key: &[u8]) -> bool {
        let at = self.i;
        if self.byte(b',').is_some() && self.key(key).is_some() {
            return true;
        }
        self.i = at;
        false
    }

    /// `,` and `key`: a field the layout always has.
    #[inline(always)]
    fn field(&mut self, key: &[u8]) -> Option<()> {
        self.next_is(key).then_some(())
    }

    /// A literal (`null`, `true`), consumed when it is here.
    #[inline(always)]
    fn word(&mut self, w: &[u8]) -> bool {
        let here = self.b.get(self.i..self.i + w.len()) == Some(w);
        if here {
            self.i += w.len();
        }
        here
    }

    /// A string without escapes: its contents.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        self.byte(b'"')?;
        let start = self.i;
        self.i = next_special(self.b, self.i)?;
        if self.b[self.i] != b'"' {
            return None;
        }
        // Quotes are ASCII: `start` and `i` are on character boundaries.
        let s = self.text.get(start..self.i)?;
        self.i += 1;
        Some(s)
    }

    /// A string or null.
    #[inline(always)]
    fn opt_string(&mut self) -> Option<Option<&'a str>> {
        if self.word(b"null") {
            return Some(None);
        }
        self.string().map(Some)
    }

    #[inline(always)]
    fn ip(&mut self) -> Option<IpAddr> {
        super::fast::ip(self.string()?.as_bytes())
    }

    /// An unsigned integer as JSON writes it (no leading zero), of type T.
    #[inline(always)]
    fn uint<T: TryFrom<u64>>(&mut self) -> Option<T> {
        let (n, end) = plain_uint(self.b, self.i)?;
        self.i = end;
        T::try_from(n).ok()
    }

    /// Seconds: `digits` or `digits.digits`, as JSON writes them (no leading zero).
    #[inline(always)]
    fn time(&mut self) -> Option<i64> {
        let (ns, end) = plain_secs(self.b, self.i)?;
        self.i = end;
        Some(ns)
    }

    /// Seconds or null.
    #[inline(always)]
    fn opt_time(&mut self) -> Option<Option<i64>> {
        if self.word(b"null") {
            return Some(None);
        }
        self.time().map(Some)
    }

    #[inline(always)]
    fn boolean(&mut self) -> Option<bool> {
        if self.word(b"true") {
            Some(true)
        } else if self.word(b"false") {
            Some(false)
        } else {
            None
        }
    }

    /// `vlan`: an array of VLAN ids, outer first.
    fn vlan(&mut self, out: &mut Vec<u16>) -> Option<()> {
        self.byte(b'[')?;
        if self.byte(b']').is_some() {
            return Some(());
        }
        loop {
            out.push(self.uint::<u16>()?);
            if self.byte(b']').is_some() {
                return Some(());
            }
            self.byte(b',')?;
        }
    }
}

/// Reads a line in flowaudit's layout into a [`Partial`], or declines it (None): see the
/// module's documentation.
pub(super) fn layout(b: &[u8]) -> Option<Partial> {
    let mut s = At {
        b,
        text: std::str::from_utf8(b).ok()?,
        i: 0,
    };
    let mut p = Partial::default();
    s.byte(b'{')?;
    s.key(key::TS)?;
    p.ts_ns = Some(s.time()?);
    s.field(key::UID)?;
    p.uid = Text::from(s.string()?);
    s.field(key::ORIG_H)?;
    p.orig_h = Some(s.ip()?);
    s.field(key::ORIG_P)?;
    p.orig_p = Some(s.uint()?);
    s.field(key::RESP_H)?;
    p.resp_h = Some(s.ip()?);
    s.field(key::RESP_P)?;
    p.resp_p = Some(s.uint()?);
    s.field(key::PROTO)?;
    p.proto = Some(transport_bytes(s.string()?.as_bytes()).ok()?);
    if s.next_is(key::SERVICE) {
        p.service = service(s.string()?);
    }
    s.field(key::DURATION)?;
    p.duration_ns = s.time()?;
    s.field(key::ORIG_BYTES)?;
    p.orig_bytes = s.uint()?;
    s.field(key::RESP_BYTES)?;
    p.resp_bytes = s.uint()?;
    s.field(key::CONN_STATE)?;
    p.conn_state = Some(conn_state_bytes(s.string()?.as_bytes()).ok()?);
    s.field(key::MISSED_BYTES)?;
    p.missed_bytes = s.uint()?;
    s.field(key::HISTORY)?;
    p.history = Text::from(s.string()?);
    s.field(key::ORIG_PKTS)?;
    p.orig_pkts = s.uint()?;
    s.field(key::ORIG_IP_BYTES)?;
    p.orig_ip_bytes = s.uint()?;
    s.field(key::RESP_PKTS)?;
    p.resp_pkts = s.uint()?;
    s.field(key::RESP_IP_BYTES)?;
    p.resp_ip_bytes = s.uint()?;
    s.field(key::VLAN)?;
    s.vlan(&mut p.vlan)?;
    s.field(key::COMMUNITY_ID)?;
    p.community_id = Some(Text::from(s.string()?));
    s.field(key::DIRECTION_INFERRED)?;
    p.direction_inferred = Some(s.boolean()?);
    s.field(key::SYN_SYNACK)?;
    p.syn_synack_ns = s.opt_time()?;
    s.field(key::SYNACK_ACK)?;
    p.synack_ack_ns = s.opt_time()?;
    s.field(key::RTT)?;
    p.rtt_ns = s.opt_time()?;
    s.field(key::ICMP_ERRORS)?;
    if !s.word(b"null") {
        return None;
    }
    s.field(key::EVICTED)?;
    p.evicted = s.boolean()?;
    s.field(key::BAD_CHECKSUMS)?;
    p.bad_checksums = s.uint()?;
    if s.next_is(key::REJECTED) {
        p.rejected = Some(rejected(s.string()?));
    }
    if s.next_is(key::SERVICE_STATUS) {
        p.service_status = Some(service_status(s.string()?).ok()?);
    }
    if s.next_is(key::TLS_VERSION) {
        p.tls_version = Some(tls_version("tls_version", s.string()?).ok()?);
    }
    if s.next_is(key::TLS_CLIENT_VERSION) {
        p.tls_client_version = Some(tls_version("tls_client_version", s.string()?).ok()?);
    }
    if s.next_is(key::TLS_SNI) {
        p.tls_sni = Text::from(s.string()?);
    }
    if s.next_is(key::TLS_SNI_CUT) {
        p.tls_sni_cut = s.boolean()?;
    }
    // The judgement: its values are looked at (they must be JSON serde reads), not kept.
    if s.next_is(key::RULE) {
        s.opt_string()?;
        s.field(key::VERDICT)?;
        s.string()?;
        for k in key::AUDIT {
            if s.next_is(k) {
                s.opt_string()?;
            }
        }
    }
    s.byte(b'}')?;
    if s.i != b.len() {
        return None;
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::layout;
    use crate::records::json::scanner_agrees;
    use crate::records::json::tests::{line, record};

    /// What [`layout`] reads of `l` is serde's record.
    fn read_as_serde(l: &[u8]) -> bool {
        let read = layout(l).is_some();
        if let Err(e) = scanner_agrees(l) {
            panic!("{}\n{e}", String::from_utf8_lossy(l));
        }
        read
    }

    #[test]
    fn declines_what_it_does_not_read_whole() {
        let plain = "{\"ts\":1.5,\"uid\":\"C1\",\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":1,\"id.resp_h\":\"10.0.0.2\",\"id.resp_p\":80,\"proto\":\"tcp\",\"duration\":0.25,\"orig_bytes\":0,\"resp_bytes\":0,\"conn_state\":\"S0\",\"missed_bytes\":0,\"history\":\"S\",\"orig_pkts\":1,\"orig_ip_bytes\":60,\"resp_pkts\":0,\"resp_ip_bytes\":0,\"vlan\":[],\"community_id\":\"1:x\",\"direction_inferred\":false,\"syn_synack\":null,\"synack_ack\":null,\"rtt\":null,\"icmp_errors\":null,\"evicted\":false,\"bad_checksums\":0}";
        assert!(read_as_serde(plain.as_bytes()));
        for (from, to) in [
            // White space, an escape, a leading zero, a sign, an exponent, too many decimals.
            ("{\"ts\":", "{ \"ts\":"),
            ("\"C1\"", "\"C\\u0031\""),
            ("\"ts\":1.5", "\"ts\":01.5"),
            ("\"ts\":1.5", "\"ts\":-1.5"),
            ("\"duration\":0.25", "\"duration\":2.5e-1"),
            ("\"duration\":0.25", "\"duration\":0.2500000000"),
            ("\"orig_pkts\":1", "\"orig_pkts\":01"),
            ("\"orig_pkts\":1", "\"orig_pkts\":1.0"),
            // A port out of range, a code it does not know, another key order.
            ("\"id.resp_p\":80", "\"id.resp_p\":65536"),
            ("\"S0\"", "\"XX\""),
            (
                "\"evicted\":false,\"bad_checksums\":0",
                "\"bad_checksums\":0,\"evicted\":false",
            ),
            // Objects and fields it leaves to the scanner; more after the end.
            (
                "\"icmp_errors\":null",
                "\"icmp_errors\":{\"count\":1,\"last_type\":3,\"last_code\":1}",
            ),
            ("\"bad_checksums\":0}", "\"bad_checksums\":0,\"rule\":null}"),
            ("\"bad_checksums\":0}", "\"bad_checksums\":0} "),
            // A field twice.
            (
                "\"bad_checksums\":0}",
                "\"bad_checksums\":0,\"bad_checksums\":0}",
            ),
        ] {
            assert!(plain.contains(from), "{from}");
            let edited = plain.replacen(from, to, 1);
            assert!(!read_as_serde(edited.as_bytes()), "read {edited}");
        }
        // What it does read besides the plainest line.
        for (from, to) in [
            ("\"vlan\":[]", "\"vlan\":[10,4094]"),
            (
                "\"proto\":\"tcp\"",
                "\"proto\":\"udp\",\"service\":\"vxlan\"",
            ),
            ("\"syn_synack\":null", "\"syn_synack\":0.000001"),
            ("\"10.0.0.2\"", "\"fe80::1\""),
            ("\"10.0.0.1\"", "\"::ffff:1.2.3.4\""),
            ("\"S\"", "\"Sé😀\""),
            // Not a flow: skipped, as serde's record is.
            ("\"proto\":\"tcp\"", "\"proto\":\"icmp\""),
        ] {
            let edited = plain.replacen(from, to, 1);
            let both_v6 = edited.replacen("10.0.0.2", "::1", 1);
            let edited = if to.contains("::ffff") {
                both_v6
            } else {
                edited
            };
            let edited = if to.contains("fe80") {
                edited.replacen("10.0.0.1", "::2", 1)
            } else {
                edited
            };
            assert!(read_as_serde(edited.as_bytes()), "declined {edited}");
        }
    }

    /// The HAS sample's `--flows-out` lines (judged, with the audit's fields) are all read by
    /// the layout.
    #[test]
    fn reads_the_samples_flows_out() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/has/expected-flows-out.jsonl"
        );
        let text = std::fs::read(path).unwrap();
        let lines: Vec<&[u8]> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert!(lines.len() > 20, "{}", lines.len());
        for l in lines {
            assert!(read_as_serde(l), "declined {}", String::from_utf8_lossy(l));
        }
    }

    proptest! {
        /// Every line `flows` (judged or not) and `--flows-out` write for a flow outside a
        /// tunnel, with no ICMP error, strings without escapes and times and counts in the
        /// forms it reads: read by the layout, to serde's record.
        #[test]
        fn reads_what_flows_writes(
            mut r in record(),
            judged in proptest::option::of((any::<bool>(), any::<bool>())),
        ) {
            r.tunnel = None;
            r.tunnel_parents.clear();
            r.icmp_errors = None;
            let l = line(&r, judged);
            let plain = !l.contains(&b'\\')
                && [Some(r.ts_ns), Some(r.duration_ns), r.syn_synack_ns, r.synack_ack_ns, r.rtt_ns]
                    .iter()
                    .all(|t| t.is_none_or(|t| t >= 0))
                && [r.orig_bytes, r.resp_bytes, r.missed_bytes, r.orig_pkts, r.orig_ip_bytes, r.resp_pkts, r.resp_ip_bytes]
                    .iter()
                    .all(|&n| n < 10_000_000_000_000_000_000);
            prop_assert_eq!(read_as_serde(&l), plain, "{}", String::from_utf8_lossy(&l));
        }
    }
}
