//! RDP connection start (MS-RDPBCGR 2.2.1.1 and 2.2.1.2): a TPKT header (RFC 1006), an X.224
//! Connection Request or Connection Confirm (ITU-T X.224 class 0), then the RDP negotiation
//! structure.
//!
//! Other protocols on TPKT and X.224 (ISO-TSAP: S7comm, H.323's Q.931 goes without X.224)
//! carry X.224 parameters after the fixed part; RDP carries a cookie line or an RDP_NEG_REQ,
//! which is what tells them apart.

use super::{AppHint, Hint, RDP_NEG_FAILURE, Reader, Stop, Verdict, check, line};

mod field {
    use super::super::super::Field;
    /// TPKT version: 3.
    pub const TPKT_VERSION: usize = 0;
    /// TPKT reserved: 0.
    pub const TPKT_RESERVED: usize = 1;
    /// TPKT length: the whole packet, header included, bytes.
    pub const TPKT_LENGTH: Field = 2..4;
    /// X.224 length indicator: header bytes after this one.
    pub const LI: usize = 4;
    /// X.224 PDU code: 0xE0 Connection Request, 0xD0 Connection Confirm (low nibble: credit, 0).
    pub const CODE: usize = 5;
    /// Class and options: class 0, no options (after the destination and source references, 2
    /// bytes each).
    pub const CLASS: usize = 10;
    /// Fixed header length, bytes.
    pub const LEN: usize = 11;
}

const CONNECTION_REQUEST: u8 = 0xe0;
const CONNECTION_CONFIRM: u8 = 0xd0;
/// RDP negotiation structure types.
const NEG_REQ: u8 = 0x01;
const NEG_RSP: u8 = 0x02;
const NEG_FAILURE: u8 = 0x03;
/// RDP_NEG_REQ flag: an RDP_CORRELATION_INFO follows.
const CORRELATION_INFO_PRESENT: u8 = 0x08;
/// Length of an RDP negotiation structure, bytes.
const NEG_LEN: u16 = 8;

/// A Connection Request or Confirm.
pub(super) fn recognise(p: &[u8]) -> Verdict {
    let at = |i| Reader::at(p, i);
    at(field::TPKT_VERSION).expect(3)?;
    at(field::TPKT_RESERVED).expect(0)?;
    let len = usize::from(at(field::TPKT_LENGTH.start).be16()?);
    check(len >= field::LEN)?;
    check(usize::from(at(field::LI).u8()?) + 5 == len)?;
    let code = at(field::CODE).u8()?;
    check(code == CONNECTION_REQUEST || code == CONNECTION_CONFIRM)?;
    at(field::CLASS).expect(0)?;
    // The variable part ends with the TPKT: read it from the bytes up to there, so that a
    // structure running past that end is not RDP when the whole TPKT was captured.
    let whole = p.len() >= len;
    let r = Reader::at(&p[..len.min(p.len())], field::LEN);
    let v = if code == CONNECTION_REQUEST {
        request(r, len)
    } else {
        confirm(r, len)
    };
    match v {
        Err(Stop::Short) if whole => Err(Stop::No),
        v => v,
    }
}

/// The Connection Request's variable part, to `end`: an optional cookie or routing token line
/// ("Cookie: mstshash=user" or "Cookie: msts=..."), then an optional RDP_NEG_REQ.
fn request(mut r: Reader<'_>, end: usize) -> Verdict {
    let mut protocols = 0;
    if r.pos() < end {
        if r.b.get(r.pos()) == Some(&b'C') {
            r.literal(b"Cookie: ")?;
            let max = end - r.pos();
            line(&mut r, max)?;
            check(r.pos() <= end)?;
        }
        if r.pos() < end {
            check(r.pos() + usize::from(NEG_LEN) <= end)?;
            r.expect(NEG_REQ)?;
            let flags = r.u8()?;
            check(r.le16()? == NEG_LEN)?;
            protocols = r.le32()? as u16;
            check(r.pos() == end || flags & CORRELATION_INFO_PRESENT != 0)?;
        }
    }
    Ok(AppHint::of(Hint::RdpRequest, protocols))
}

/// The Connection Confirm's variable part, to `end`: an optional RDP_NEG_RSP or
/// RDP_NEG_FAILURE.
fn confirm(mut r: Reader<'_>, end: usize) -> Verdict {
    if r.pos() == end {
        return Ok(AppHint::of(Hint::RdpConfirm, 0));
    }
    check(r.pos() + usize::from(NEG_LEN) == end)?;
    let ty = r.u8()?;
    check(ty == NEG_RSP || ty == NEG_FAILURE)?;
    r.skip(1)?;
    check(r.le16()? == NEG_LEN)?;
    let value = r.le32()?;
    let version = if ty == NEG_RSP {
        value as u16
    } else {
        RDP_NEG_FAILURE
    };
    Ok(AppHint::of(Hint::RdpConfirm, version))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{hint, tcp, udp, with};
    use super::super::*;

    /// Impacket 0.10 `rdp_check.py`: Connection Request with RDP_NEG_REQ for TLS and CredSSP.
    #[rustfmt::skip]
    pub(crate) const REQUEST_NEG: &[u8] = &[
        0x03, 0x00, 0x00, 0x13, // TPKT: version 3, 19 bytes
        0x0e, // X.224 length indicator 14
        0xe0, // Connection Request (0xE0)
        0x00, 0x00, 0x00, 0x00, // DST-REF, SRC-REF
        0x00, // class 0
        0x01, 0x00, 0x08, 0x00, // RDP_NEG_REQ, flags 0, length 8
        0x03, 0x00, 0x00, 0x00, // requestedProtocols: SSL | HYBRID (3)
    ];

    /// xrdp 0.9.21 (`security_layer=negotiate`) in answer to REQUEST_NEG: TLS selected.
    #[rustfmt::skip]
    pub(crate) const CONFIRM_SSL: &[u8] = &[
        0x03, 0x00, 0x00, 0x13, // TPKT: version 3, 19 bytes
        0x0e, // X.224 length indicator 14
        0xd0, // Connection Confirm (0xD0)
        0x00, 0x00, 0x12, 0x34, // DST-REF, SRC-REF
        0x00, // class 0
        0x02, 0x01, 0x08, 0x00, // RDP_NEG_RSP, flags 0x01, length 8
        0x01, 0x00, 0x00, 0x00, // selectedProtocol: SSL (1)
    ];

    /// FreeRDP 2.11 `xfreerdp /u:alice`: cookie, then RDP_NEG_REQ.
    #[rustfmt::skip]
    pub(crate) const REQUEST_COOKIE_NEG: &[u8] = &[
        0x03, 0x00, 0x00, 0x2b, // TPKT: version 3, 43 bytes
        0x26, // X.224 length indicator 38
        0xe0, // Connection Request (0xE0)
        0x00, 0x00, 0x00, 0x00, // DST-REF, SRC-REF
        0x00, // class 0
        0x43, 0x6f, 0x6f, 0x6b, 0x69, 0x65, 0x3a, 0x20, 0x6d, 0x73, // "Cookie: mstshash=alice\r\n"
        0x74, 0x73, 0x68, 0x61, 0x73, 0x68, 0x3d, 0x61, 0x6c, 0x69,
        0x63, 0x65, 0x0d, 0x0a,
        0x01, 0x00, 0x08, 0x00, // RDP_NEG_REQ, flags 0, length 8
        0x03, 0x00, 0x00, 0x00, // requestedProtocols: SSL | HYBRID (3)
    ];

    /// xrdp 0.9.21 (`security_layer=rdp`) in answer to REQUEST_NEG: standard RDP security.
    #[rustfmt::skip]
    pub(crate) const CONFIRM_RDP: &[u8] = &[
        0x03, 0x00, 0x00, 0x13, // TPKT: version 3, 19 bytes
        0x0e, // X.224 length indicator 14
        0xd0, // Connection Confirm (0xD0)
        0x00, 0x00, 0x12, 0x34, // DST-REF, SRC-REF
        0x00, // class 0
        0x02, 0x01, 0x08, 0x00, // RDP_NEG_RSP, flags 0x01, length 8
        0x00, 0x00, 0x00, 0x00, // selectedProtocol: RDP (0)
    ];

    /// FreeRDP 2.11 `xfreerdp /sec:rdp`: cookie only, no RDP_NEG_REQ.
    #[rustfmt::skip]
    pub(crate) const REQUEST_COOKIE: &[u8] = &[
        0x03, 0x00, 0x00, 0x23, // TPKT: version 3, 35 bytes
        0x1e, // X.224 length indicator 30
        0xe0, // Connection Request (0xE0)
        0x00, 0x00, 0x00, 0x00, // DST-REF, SRC-REF
        0x00, // class 0
        0x43, 0x6f, 0x6f, 0x6b, 0x69, 0x65, 0x3a, 0x20, 0x6d, 0x73, // "Cookie: mstshash=alice\r\n"
        0x74, 0x73, 0x68, 0x61, 0x73, 0x68, 0x3d, 0x61, 0x6c, 0x69,
        0x63, 0x65, 0x0d, 0x0a,
    ];

    /// xrdp 0.9.21 in answer to REQUEST_COOKIE: no RDP_NEG_RSP.
    #[rustfmt::skip]
    pub(crate) const CONFIRM_PLAIN: &[u8] = &[
        0x03, 0x00, 0x00, 0x0b, // TPKT: version 3, 11 bytes
        0x06, // X.224 length indicator 6
        0xd0, // Connection Confirm (0xD0)
        0x00, 0x00, 0x12, 0x34, // DST-REF, SRC-REF
        0x00, // class 0
    ];

    /// An RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2.2) in CONFIRM_SSL's frame: no capture, since
    /// neither xrdp nor FreeRDP here led to one.
    pub(crate) const CONFIRM_FAILURE: &[u8] = &[
        0x03, 0x00, 0x00, 0x13, // TPKT: version 3, 19 bytes
        0x0e, // X.224 length indicator 14
        0xd0, // Connection Confirm (0xD0)
        0x00, 0x00, 0x12, 0x34, // DST-REF, SRC-REF
        0x00, // class 0
        0x03, 0x00, 0x08, 0x00, // RDP_NEG_FAILURE, flags 0, length 8
        0x02, 0x00, 0x00, 0x00, // failureCode: SSL_NOT_ALLOWED_BY_SERVER (2)
    ];

    #[test]
    fn protocols_requested_and_selected() {
        assert_eq!(tcp(REQUEST_NEG), hint(Hint::RdpRequest, 3));
        assert_eq!(
            tcp(&with(REQUEST_NEG, &[(15, 0x0b)])),
            hint(Hint::RdpRequest, 0x0b)
        );
        assert_eq!(tcp(CONFIRM_SSL), hint(Hint::RdpConfirm, 1));
        assert_eq!(
            tcp(CONFIRM_FAILURE),
            hint(Hint::RdpConfirm, RDP_NEG_FAILURE)
        );
    }

    #[test]
    fn tpkt_reserved_byte_not_0() {
        // Not RDP (these 19 bytes are a valid TDS RPC packet header, though).
        assert_eq!(tcp(&with(REQUEST_NEG, &[(1, 1)])).hint, Hint::TdsOther);
        assert_eq!(tcp(&with(REQUEST_NEG, &[(1, 1), (7, 1)])).hint, Hint::None);
    }

    #[test]
    fn length_indicator_not_the_tpkt_length() {
        assert_eq!(tcp(&with(REQUEST_NEG, &[(4, 13)])).hint, Hint::None);
        assert_eq!(tcp(&with(REQUEST_NEG, &[(3, 0x14)])).hint, Hint::None);
    }

    #[test]
    fn other_x224_codes() {
        // Data (0xF0), Disconnect Request (0x80).
        assert_eq!(tcp(&with(REQUEST_NEG, &[(5, 0xf0)])).hint, Hint::None);
        assert_eq!(tcp(&with(REQUEST_NEG, &[(5, 0x80)])).hint, Hint::None);
    }

    #[test]
    fn class_not_0() {
        assert_eq!(tcp(&with(REQUEST_NEG, &[(10, 0x40)])).hint, Hint::None);
    }

    #[test]
    fn iso_tsap_request_is_not_rdp() {
        // An S7comm COTP Connection Request: X.224 parameters (TSAP ids, TPDU size) follow.
        let s7 = [
            0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xc1, 0x02, 0x01,
            0x00, 0xc2, 0x02, 0x01, 0x02, 0xc0, 0x01, 0x0a,
        ];
        assert_eq!(tcp(&s7).hint, Hint::None);
    }

    #[test]
    fn negotiation_length_not_8() {
        assert_eq!(tcp(&with(REQUEST_NEG, &[(13, 9)])).hint, Hint::None);
        assert_eq!(tcp(&with(CONFIRM_SSL, &[(13, 7)])).hint, Hint::None);
    }

    #[test]
    fn wrong_negotiation_type() {
        assert_eq!(tcp(&with(REQUEST_NEG, &[(11, 2)])).hint, Hint::None);
        assert_eq!(tcp(&with(CONFIRM_SSL, &[(11, 1)])).hint, Hint::None);
    }

    #[test]
    fn cookie_without_its_line_end() {
        // The CR LF (at 33, 34) of REQUEST_COOKIE (35 bytes) turned into text.
        assert_eq!(
            tcp(&with(REQUEST_COOKIE, &[(33, b'x'), (34, b'y')])).hint,
            Hint::None
        );
        // Not "Cookie: ".
        assert_eq!(tcp(&with(REQUEST_COOKIE, &[(16, b'X')])).hint, Hint::None);
    }

    #[test]
    fn cut_before_the_end_of_the_tpkt() {
        assert_eq!(tcp(&REQUEST_COOKIE_NEG[..40]).hint, Hint::Short);
        assert_eq!(tcp(&CONFIRM_SSL[..18]).hint, Hint::Short);
    }

    #[test]
    fn rdp_is_tcp_only() {
        assert_ne!(udp(REQUEST_NEG).hint, Hint::RdpRequest);
    }
}
