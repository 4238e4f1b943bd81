//! LDAP (RFC 4511 section 4.1.1): an LDAPMessage in BER, SEQUENCE { messageID INTEGER,
//! protocolOp [APPLICATION n], controls [0] OPTIONAL }.

use super::{AppHint, Hint, Reader, Verdict, check};

/// protocolOp tags of requests: bind, unbind, search, modify, add, delete, modify DN, compare,
/// abandon, extended.
const REQUESTS: [u8; 10] = [0x60, 0x42, 0x63, 0x66, 0x68, 0x4a, 0x6c, 0x6e, 0x50, 0x77];
/// protocolOp tags of responses: bind, search entry, search done, search reference, modify, add,
/// delete, modify DN, compare, extended, intermediate.
const RESPONSES: [u8; 11] = [
    0x61, 0x64, 0x65, 0x73, 0x67, 0x69, 0x6b, 0x6d, 0x6f, 0x78, 0x79,
];

/// An LDAPMessage.
pub(super) fn recognise(p: &[u8]) -> Verdict {
    let mut r = Reader::new(p);
    r.expect(0x30)?;
    let len = r.ber_len()?;
    let end = r.pos().saturating_add(len);
    // messageID: INTEGER of 1 to 4 bytes, not negative.
    r.expect(0x02)?;
    let id = r.ber_len()?;
    check((1..=4).contains(&id))?;
    check(r.u8()? & 0x80 == 0)?;
    r.skip(id - 1)?;
    let tag = r.u8()?;
    let hint = if REQUESTS.contains(&tag) {
        Hint::LdapRequest
    } else if RESPONSES.contains(&tag) {
        Hint::LdapResponse
    } else {
        return Err(super::Stop::No);
    };
    let op = r.ber_len()?;
    check(r.pos().saturating_add(op) <= end)?;
    Ok(AppHint::of(hint, 0))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{hint, tcp, udp, with};
    use super::super::*;

    /// OpenLDAP 2.5 `ldapsearch -x` to slapd 2.5: anonymous simple bind.
    #[rustfmt::skip]
    pub(crate) const BIND_REQUEST: &[u8] = &[
        0x30, 0x0c, // SEQUENCE, 12 bytes
        0x02, 0x01, 0x01, // messageID 1
        0x60, 0x07, // bindRequest [APPLICATION 0], 7 bytes
        0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
    ];

    /// slapd's bindResponse: success.
    #[rustfmt::skip]
    pub(crate) const BIND_RESPONSE: &[u8] = &[
        0x30, 0x0c, // SEQUENCE, 12 bytes
        0x02, 0x01, 0x01, // messageID 1
        0x61, 0x07, // bindResponse [APPLICATION 1], 7 bytes
        0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
    ];

    /// `ldapsearch -x -b '' -s base namingContexts`: the root DSE.
    #[rustfmt::skip]
    pub(crate) const SEARCH_REQUEST: &[u8] = &[
        0x30, 0x35, // SEQUENCE, 53 bytes
        0x02, 0x01, 0x02, // messageID 2
        0x63, 0x30, // searchRequest [APPLICATION 3], 48 bytes
        0x04, 0x00, 0x0a, 0x01, 0x00, 0x0a, 0x01, 0x00, 0x02, 0x01,
        0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00, 0x87, 0x0b, 0x6f,
        0x62, 0x6a, 0x65, 0x63, 0x74, 0x63, 0x6c, 0x61, 0x73, 0x73,
        0x30, 0x10, 0x04, 0x0e, 0x6e, 0x61, 0x6d, 0x69, 0x6e, 0x67,
        0x43, 0x6f, 0x6e, 0x74, 0x65, 0x78, 0x74, 0x73,
    ];

    /// slapd's searchResEntry: namingContexts dc=example,dc=test.
    #[rustfmt::skip]
    pub(crate) const SEARCH_ENTRY: &[u8] = &[
        0x30, 0x31, // SEQUENCE, 49 bytes
        0x02, 0x01, 0x02, // messageID 2
        0x64, 0x2c, // searchResEntry [APPLICATION 4], 44 bytes
        0x04, 0x00, 0x30, 0x28, 0x30, 0x26, 0x04, 0x0e, 0x6e, 0x61,
        0x6d, 0x69, 0x6e, 0x67, 0x43, 0x6f, 0x6e, 0x74, 0x65, 0x78,
        0x74, 0x73, 0x31, 0x14, 0x04, 0x12, 0x64, 0x63, 0x3d, 0x65,
        0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2c, 0x64, 0x63, 0x3d,
        0x74, 0x65, 0x73, 0x74,
    ];

    /// slapd's searchResDone: success.
    #[rustfmt::skip]
    pub(crate) const SEARCH_DONE: &[u8] = &[
        0x30, 0x0c, // SEQUENCE, 12 bytes
        0x02, 0x01, 0x02, // messageID 2
        0x65, 0x07, // searchResDone [APPLICATION 5], 7 bytes
        0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
    ];

    /// `ldapsearch`'s unbindRequest.
    #[rustfmt::skip]
    pub(crate) const UNBIND: &[u8] = &[
        0x30, 0x05, // SEQUENCE, 5 bytes
        0x02, 0x01, 0x03, // messageID 3
        0x42, 0x00, // unbindRequest [APPLICATION 2], 0 bytes
    ];

    /// `ldapwhoami -x -D cn=admin,...`: the Who am I? extended request (1.3.6.1.4.1.4203.1.11.3).
    #[rustfmt::skip]
    pub(crate) const EXTENDED_REQUEST: &[u8] = &[
        0x30, 0x1e, // SEQUENCE, 30 bytes
        0x02, 0x01, 0x02, // messageID 2
        0x77, 0x19, // extendedReq [APPLICATION 23], 25 bytes
        0x80, 0x17, 0x31, 0x2e, 0x33, 0x2e, 0x36, 0x2e, 0x31, 0x2e,
        0x34, 0x2e, 0x31, 0x2e, 0x34, 0x32, 0x30, 0x33, 0x2e, 0x31,
        0x2e, 0x31, 0x31, 0x2e, 0x33,
    ];

    /// slapd's extendedResp: dn:cn=admin,dc=example,dc=test.
    #[rustfmt::skip]
    pub(crate) const EXTENDED_RESPONSE: &[u8] = &[
        0x30, 0x2c, // SEQUENCE, 44 bytes
        0x02, 0x01, 0x02, // messageID 2
        0x78, 0x27, // extendedResp [APPLICATION 24], 39 bytes
        0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00, 0x8b, 0x1e, 0x64,
        0x6e, 0x3a, 0x63, 0x6e, 0x3d, 0x61, 0x64, 0x6d, 0x69, 0x6e,
        0x2c, 0x64, 0x63, 0x3d, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c,
        0x65, 0x2c, 0x64, 0x63, 0x3d, 0x74, 0x65, 0x73, 0x74,
    ];

    #[test]
    fn every_operation() {
        for tag in super::REQUESTS {
            let v = with(UNBIND, &[(5, tag)]);
            assert_eq!(tcp(&v), hint(Hint::LdapRequest, 0), "{tag:#x}");
        }
        for tag in super::RESPONSES {
            let v = with(UNBIND, &[(5, tag)]);
            assert_eq!(tcp(&v), hint(Hint::LdapResponse, 0), "{tag:#x}");
        }
    }

    #[test]
    fn unknown_operation() {
        for tag in [0x62, 0x41, 0x30, 0x7a] {
            let h = tcp(&with(UNBIND, &[(5, tag)])).hint;
            assert!(
                !matches!(h, Hint::LdapRequest | Hint::LdapResponse),
                "{tag:#x}"
            );
        }
    }

    #[test]
    fn indefinite_length() {
        assert_eq!(tcp(&with(SEARCH_DONE, &[(1, 0x80)])).hint, Hint::None);
    }

    #[test]
    fn long_form_length() {
        // 0x81 0x0c: the same length in the long form.
        let v = [&[0x30, 0x81, 0x0c][..], &SEARCH_DONE[2..]].concat();
        assert_eq!(tcp(&v), hint(Hint::LdapResponse, 0));
        // Five length bytes: not a message's.
        let v = [&[0x30, 0x85, 0, 0, 0, 0, 0x0c][..], &SEARCH_DONE[2..]].concat();
        assert_eq!(tcp(&v).hint, Hint::None);
    }

    #[test]
    fn message_id_not_an_integer() {
        assert_eq!(tcp(&with(SEARCH_DONE, &[(2, 0x04)])).hint, Hint::None);
    }

    #[test]
    fn message_id_negative() {
        assert_eq!(tcp(&with(SEARCH_DONE, &[(4, 0x82)])).hint, Hint::None);
    }

    #[test]
    fn message_id_length_out_of_range() {
        assert_eq!(tcp(&with(SEARCH_DONE, &[(3, 0)])).hint, Hint::None);
        assert_eq!(tcp(&with(SEARCH_DONE, &[(3, 5)])).hint, Hint::None);
    }

    #[test]
    fn operation_past_the_message() {
        assert_eq!(tcp(&with(SEARCH_DONE, &[(6, 0x08)])).hint, Hint::None);
    }

    #[test]
    fn cut_before_the_operation() {
        assert_eq!(tcp(&SEARCH_REQUEST[..5]).hint, Hint::Short);
        assert_eq!(tcp(&SEARCH_REQUEST[..7]), hint(Hint::LdapRequest, 0));
    }

    #[test]
    fn over_udp_too() {
        // CLDAP, the domain controller locator's.
        assert_eq!(udp(SEARCH_REQUEST), hint(Hint::LdapRequest, 0));
        assert_eq!(udp(SEARCH_ENTRY), hint(Hint::LdapResponse, 0));
    }
}
