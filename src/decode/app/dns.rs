//! DNS (RFC 1035 section 4.1): the header and the first question; over TCP (section 4.2.2) a
//! 2-byte length comes first.
//!
//! A DNS message has no magic: its first bytes are a random ID. It is recognised by a plausible
//! header (opcode 0 to 6 but 3, Z clear, one question in a query and at most one in a response,
//! small counts) and a first question whose name's labels parse within the bytes.

use super::{AppHint, Hint, Reader, Verdict, check};

mod field {
    use super::super::super::Field;
    /// Flags, after the 2-byte message ID: QR, opcode (4 bits), AA, TC, RD; RA, Z, AD, CD,
    /// rcode (4 bits).
    pub const FLAGS: Field = 2..4;
    /// Questions.
    pub const QDCOUNT: Field = 4..6;
    /// Answer records.
    pub const ANCOUNT: Field = 6..8;
    /// Authority records.
    pub const NSCOUNT: Field = 8..10;
    /// Additional records.
    pub const ARCOUNT: Field = 10..12;
    /// Header length, bytes.
    pub const LEN: usize = 12;
}

/// Largest record counts of a plausible query (NOTIFY and UPDATE use the sections too; EDNS
/// and TSIG are additional records).
const QUERY_MAX: [u16; 3] = [16, 64, 8];
/// Largest record counts of a plausible response (zone transfers carry many answers).
const RESPONSE_MAX: [u16; 3] = [1024, 1024, 1024];
/// Largest response code of the header (DSOTYPENI, RFC 8490).
const MAX_RCODE: u8 = 11;
/// Longest name, bytes on the wire.
const MAX_NAME: usize = 255;

/// A DNS message over UDP: the whole payload.
pub(super) fn over_udp(p: &[u8]) -> Verdict {
    message(p, 0, usize::MAX)
}

/// A DNS message over TCP: a 2-byte length, then the message.
pub(super) fn over_tcp(p: &[u8]) -> Verdict {
    let len = usize::from(Reader::new(p).be16()?);
    check(len >= field::LEN)?;
    message(p, 2, len)
}

/// A message starting at `at` of at most `len` bytes.
fn message(p: &[u8], at: usize, len: usize) -> Verdict {
    let field = |f: super::super::Field| Reader::at(p, at + f.start);
    let [hi, lo] = field(field::FLAGS).array::<2>()?;
    let response = hi & 0x80 != 0;
    let opcode = (hi >> 3) & 0x0f;
    check(opcode <= 6 && opcode != 3)?;
    let rcode = lo & 0x0f;
    // Z is zero; a query carries no response code.
    check(
        lo & 0x40 == 0
            && if response {
                rcode <= MAX_RCODE
            } else {
                rcode == 0
            },
    )?;
    let qd = field(field::QDCOUNT).be16()?;
    check(if response { qd <= 1 } else { qd == 1 })?;
    let max = if response { RESPONSE_MAX } else { QUERY_MAX };
    for (f, m) in [field::ANCOUNT, field::NSCOUNT, field::ARCOUNT]
        .into_iter()
        .zip(max)
    {
        check(field(f).be16()? <= m)?;
    }
    let mut r = Reader::at(p, at + field::LEN);
    if qd == 1 {
        question(&mut r)?;
        check(r.pos() - at <= len)?;
    }
    let hint = if response {
        Hint::DnsResponse
    } else {
        Hint::DnsQuery
    };
    Ok(AppHint::of(hint, 0))
}

/// A question: a name of uncompressed labels (no pointer: nothing precedes it to point to),
/// QTYPE (not 0) and QCLASS (IN, CH, HS, NONE or ANY; mDNS's unicast-response bit allowed).
fn question(r: &mut Reader<'_>) -> Result<(), super::Stop> {
    let mut name = 0;
    loop {
        let n = usize::from(r.u8()?);
        if n == 0 {
            break;
        }
        check(n <= 63)?;
        name += n + 1;
        check(name < MAX_NAME)?;
        // Label bytes: anything but ASCII control characters.
        for &b in r.take(n)? {
            check(b >= 0x20 && b != 0x7f)?;
        }
    }
    check(r.be16()? != 0)?;
    check(matches!(r.be16()? & 0x7fff, 1 | 3 | 4 | 254 | 255))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{hint, tcp, udp, with};
    use super::super::*;

    /// `dig @127.0.0.1 -p 5354 audit.example.test A` (BIND 9.18) to dnsmasq 2.90: EDNS, a cookie.
    #[rustfmt::skip]
    pub(crate) const UDP_QUERY: &[u8] = &[
        0xac, 0x91, // ID
        0x01, 0x20, // flags 0x0120: query, opcode 0, rcode 0
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 1
        0x05, 0x61, 0x75, 0x64, 0x69, 0x74, 0x07, 0x65, 0x78, 0x61, // name audit.example.test
        0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
        0x00, 0x01, 0x00, 0x01, // QTYPE 1, QCLASS 1
        0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, // records
        0x0c, 0x00, 0x0a, 0x00, 0x08, 0x0f, 0x63, 0xd5, 0x5a, 0xe6,
        0x6b, 0x3f, 0x2d,
    ];

    /// dnsmasq's answer: 127.0.0.2.
    #[rustfmt::skip]
    pub(crate) const UDP_RESPONSE: &[u8] = &[
        0xac, 0x91, // ID
        0x85, 0x80, // flags 0x8580: response, opcode 0, rcode 0
        0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, // QDCOUNT 1, ANCOUNT 1, NSCOUNT 0, ARCOUNT 1
        0x05, 0x61, 0x75, 0x64, 0x69, 0x74, 0x07, 0x65, 0x78, 0x61, // name audit.example.test
        0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
        0x00, 0x01, 0x00, 0x01, // QTYPE 1, QCLASS 1
        0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // records
        0x00, 0x04, 0x7f, 0x00, 0x00, 0x02, 0x00, 0x00, 0x29, 0x04,
        0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// `dig +tcp ... AAAA`: the 2-byte length, then the query.
    #[rustfmt::skip]
    pub(crate) const TCP_QUERY: &[u8] = &[
        0x00, 0x3b, // length 59
        0x79, 0xf2, // ID
        0x01, 0x20, // flags 0x0120: query, opcode 0, rcode 0
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 1
        0x05, 0x61, 0x75, 0x64, 0x69, 0x74, 0x07, 0x65, 0x78, 0x61, // name audit.example.test
        0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
        0x00, 0x1c, 0x00, 0x01, // QTYPE 28, QCLASS 1
        0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, // records
        0x0c, 0x00, 0x0a, 0x00, 0x08, 0x90, 0x28, 0x83, 0x26, 0xab,
        0xf7, 0x14, 0x74,
    ];

    /// dnsmasq's answer over TCP (no AAAA record: no answer, rcode REFUSED).
    #[rustfmt::skip]
    pub(crate) const TCP_RESPONSE: &[u8] = &[
        0x00, 0x35, // length 53
        0x79, 0xf2, // ID
        0x81, 0x85, // flags 0x8185: response, opcode 0, rcode 5
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 1
        0x05, 0x61, 0x75, 0x64, 0x69, 0x74, 0x07, 0x65, 0x78, 0x61, // name audit.example.test
        0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
        0x00, 0x1c, 0x00, 0x01, // QTYPE 28, QCLASS 1
        0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, // records
        0x06, 0x00, 0x0f, 0x00, 0x02, 0x00, 0x0e,
    ];

    #[test]
    fn queries_and_responses() {
        assert_eq!(udp(UDP_QUERY), hint(Hint::DnsQuery, 0));
        assert_eq!(udp(UDP_RESPONSE), hint(Hint::DnsResponse, 0));
        assert_eq!(tcp(TCP_QUERY), hint(Hint::DnsQuery, 0));
        assert_eq!(tcp(TCP_RESPONSE), hint(Hint::DnsResponse, 0));
    }

    #[test]
    fn whatever_the_id() {
        for id in [0x00, 0x16, 0x30, 0x6a, 0x80, 0xc3, 0xff] {
            assert_eq!(
                udp(&with(UDP_QUERY, &[(0, id)])),
                hint(Hint::DnsQuery, 0),
                "{id:#x}"
            );
            assert_eq!(
                tcp(&with(TCP_QUERY, &[(2, id)])),
                hint(Hint::DnsQuery, 0),
                "{id:#x}"
            );
        }
    }

    #[test]
    fn opcode_out_of_range() {
        // Opcode 3 (unassigned) and 7.
        for hi in [0x18, 0x38] {
            assert_eq!(
                udp(&with(UDP_QUERY, &[(2, hi)])).hint,
                Hint::None,
                "{hi:#x}"
            );
        }
        // NOTIFY (4) and UPDATE (5) are DNS.
        assert_eq!(udp(&with(UDP_QUERY, &[(2, 0x20)])).hint, Hint::DnsQuery);
        assert_eq!(udp(&with(UDP_QUERY, &[(2, 0x28)])).hint, Hint::DnsQuery);
    }

    #[test]
    fn z_bit_set() {
        assert_eq!(udp(&with(UDP_QUERY, &[(3, 0x60)])).hint, Hint::None);
    }

    #[test]
    fn query_with_an_rcode() {
        assert_eq!(udp(&with(UDP_QUERY, &[(3, 0x23)])).hint, Hint::None);
        assert_eq!(
            udp(&with(UDP_RESPONSE, &[(3, 0x83)])).hint,
            Hint::DnsResponse
        );
        assert_eq!(udp(&with(UDP_RESPONSE, &[(3, 0x8c)])).hint, Hint::None);
    }

    #[test]
    fn question_count() {
        assert_eq!(udp(&with(UDP_QUERY, &[(5, 2)])).hint, Hint::None);
        assert_eq!(udp(&with(UDP_QUERY, &[(5, 0)])).hint, Hint::None);
        assert_eq!(udp(&with(UDP_RESPONSE, &[(5, 2)])).hint, Hint::None);
        // A response without a question (mDNS announcements, some errors).
        assert_eq!(udp(&with(UDP_RESPONSE, &[(5, 0)])).hint, Hint::DnsResponse);
    }

    #[test]
    fn counts_too_large() {
        assert_eq!(udp(&with(UDP_QUERY, &[(7, 17)])).hint, Hint::None);
        assert_eq!(udp(&with(UDP_QUERY, &[(11, 9)])).hint, Hint::None);
        assert_eq!(
            udp(&with(UDP_RESPONSE, &[(6, 0x04), (7, 0x01)])).hint,
            Hint::None
        );
        assert_eq!(
            udp(&with(UDP_RESPONSE, &[(6, 0x04), (7, 0x00)])).hint,
            Hint::DnsResponse
        );
    }

    #[test]
    fn label_longer_than_63() {
        assert_eq!(udp(&with(UDP_QUERY, &[(12, 64)])).hint, Hint::None);
    }

    #[test]
    fn compression_pointer_in_the_question() {
        assert_eq!(
            udp(&with(UDP_QUERY, &[(12, 0xc0), (13, 0x0c)])).hint,
            Hint::None
        );
    }

    #[test]
    fn control_byte_in_a_label() {
        assert_eq!(udp(&with(UDP_QUERY, &[(14, 0x0a)])).hint, Hint::None);
    }

    #[test]
    fn label_past_the_captured_bytes() {
        assert_eq!(udp(&UDP_QUERY[..20]).hint, Hint::Short);
        // The question's type and class not captured yet.
        assert_eq!(udp(&UDP_QUERY[..32]).hint, Hint::Short);
        assert_eq!(udp(&UDP_QUERY[..36]), hint(Hint::DnsQuery, 0));
    }

    #[test]
    fn question_type_and_class() {
        // QTYPE 0; QCLASS 2 (CSNET, obsolete); QCLASS ANY; mDNS's unicast-response bit.
        assert_eq!(udp(&with(UDP_QUERY, &[(33, 0)])).hint, Hint::None);
        assert_eq!(udp(&with(UDP_QUERY, &[(35, 2)])).hint, Hint::None);
        assert_eq!(udp(&with(UDP_QUERY, &[(35, 255)])).hint, Hint::DnsQuery);
        assert_eq!(udp(&with(UDP_QUERY, &[(34, 0x80)])).hint, Hint::DnsQuery);
    }

    #[test]
    fn name_longer_than_255() {
        let mut v = UDP_QUERY[..12].to_vec();
        for _ in 0..5 {
            v.push(50);
            v.extend([b'a'; 50]);
        }
        v.extend([0, 0, 1, 0, 1]);
        assert_eq!(udp(&v).hint, Hint::None);
        // Four such labels fit.
        let mut v = UDP_QUERY[..12].to_vec();
        for _ in 0..4 {
            v.push(50);
            v.extend([b'a'; 50]);
        }
        v.extend([0, 0, 1, 0, 1]);
        assert_eq!(udp(&v).hint, Hint::DnsQuery);
    }

    #[test]
    fn tcp_length_too_short() {
        assert_eq!(tcp(&with(TCP_QUERY, &[(1, 11)])).hint, Hint::None);
        // Long enough for the header, not for the question.
        assert_eq!(tcp(&with(TCP_QUERY, &[(1, 20)])).hint, Hint::None);
    }

    #[test]
    fn root_name_query() {
        // A priming query: ". NS".
        let mut v = UDP_QUERY[..12].to_vec();
        v[11] = 0;
        v.extend([0, 0, 2, 0, 1]);
        assert_eq!(udp(&v), hint(Hint::DnsQuery, 0));
    }
}
