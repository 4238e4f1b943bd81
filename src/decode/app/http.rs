//! HTTP/1.x (RFC 9112): the request line and the status line; the HTTP/2 client connection
//! preface (RFC 9113 section 3.4).

use super::{AppHint, Hint, Reader, Stop, Verdict, check};

/// Request methods known by name: RFC 9110, PATCH (RFC 5789), and the WebDAV family (RFC 4918,
/// DeltaV RFC 3253, ordering RFC 3648, ACL RFC 3744, CalDAV RFC 4791, SEARCH RFC 5323, binding
/// RFC 5842, redirect references RFC 4437). A request line cut by the capture is still a request
/// when its method is one of these.
const METHODS: [&[u8]; 36] = [
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"CONNECT",
    b"OPTIONS",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"REPORT",
    b"SEARCH",
    b"ACL",
    b"MKCALENDAR",
    b"BIND",
    b"UNBIND",
    b"REBIND",
    b"ORDERPATCH",
    b"CHECKOUT",
    b"CHECKIN",
    b"UNCHECKOUT",
    b"VERSION-CONTROL",
    b"MKWORKSPACE",
    b"UPDATE",
    b"LABEL",
    b"MERGE",
    b"BASELINE-CONTROL",
    b"MKACTIVITY",
    b"MKREDIRECTREF",
    b"UPDATEREDIRECTREF",
];

/// Longest method token read, bytes (the longest known method has 17).
const MAX_METHOD: usize = 24;

/// The HTTP/2 client connection preface.
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A method token byte: methods are upper-case by convention (all registered ones are), which
/// keeps lower-case text from reading as a request.
fn method_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b == b'-' || b == b'_'
}

/// A request-target byte: visible US-ASCII.
fn target_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

/// A request line: method, SP, request-target, SP, "HTTP/1." digit, CR LF. A line cut by the
/// capture is a request if its method is a known one (else Short).
pub(super) fn request(p: &[u8]) -> Verdict {
    let mut r = Reader::new(p);
    loop {
        let b = r.u8()?;
        if b == b' ' {
            break;
        }
        check(method_byte(b) && r.pos() <= MAX_METHOD)?;
    }
    let method = &p[..r.pos() - 1];
    check(!method.is_empty())?;
    let rest = (|| {
        let target = r.pos();
        loop {
            let b = r.u8()?;
            if b == b' ' {
                break;
            }
            check(target_byte(b))?;
        }
        check(r.pos() - target > 1)?;
        r.literal(b"HTTP/1.")?;
        check(r.u8()?.is_ascii_digit())?;
        r.literal(b"\r\n")
    })();
    match rest {
        Ok(()) => Ok(AppHint::of(Hint::HttpRequest, 0)),
        Err(Stop::Short) if METHODS.contains(&method) => Ok(AppHint::of(Hint::HttpRequest, 0)),
        Err(e) => Err(e),
    }
}

/// A status line: "HTTP/1.0 " or "HTTP/1.1 ", then a 3-digit status code (100 to 599).
pub(super) fn response(p: &[u8]) -> Verdict {
    let mut r = Reader::new(p);
    r.literal(b"HTTP/1.")?;
    let minor = r.u8()?;
    check(minor == b'0' || minor == b'1')?;
    r.expect(b' ')?;
    check((b'1'..=b'5').contains(&r.u8()?))?;
    check(r.u8()?.is_ascii_digit())?;
    check(r.u8()?.is_ascii_digit())?;
    Ok(AppHint::of(Hint::HttpResponse, 0))
}

/// The HTTP/2 client connection preface.
pub(super) fn preface(p: &[u8]) -> Verdict {
    Reader::new(p).literal(PREFACE)?;
    Ok(AppHint::of(Hint::Http2Preface, 0))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{hint, tcp, with};
    use super::super::*;

    /// curl 7.88.1's request to `python3 -m http.server`.
    #[rustfmt::skip]
    pub(crate) const GET: &[u8] = &[
        0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, // "GET / HTTP/1.1\r\n"
        0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a,
        0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0x31, 0x32, 0x37, 0x2e, // "Host: 127.0.0.1:8080\r\n"
        0x30, 0x2e, 0x30, 0x2e, 0x31, 0x3a, 0x38, 0x30, 0x38, 0x30,
        0x0d, 0x0a,
        0x55, 0x73, 0x65, 0x72, 0x2d, 0x41, 0x67, 0x65, 0x6e, 0x74, // "User-Agent: curl/7.88.1\r\n"
        0x3a, 0x20, 0x63, 0x75, 0x72, 0x6c, 0x2f, 0x37, 0x2e, 0x38,
        0x38, 0x2e, 0x31, 0x0d, 0x0a,
        0x41, 0x63, 0x63, 0x65, 0x70, 0x74, 0x3a, 0x20, 0x2a, 0x2f, // "Accept: */*\r\n"
        0x2a, 0x0d, 0x0a,
        0x0d, 0x0a, // "\r\n"
    ];

    /// curl -X PROPFIND (a WebDAV method) with a Depth header.
    #[rustfmt::skip]
    pub(crate) const PROPFIND: &[u8] = &[
        0x50, 0x52, 0x4f, 0x50, 0x46, 0x49, 0x4e, 0x44, 0x20, 0x2f, // "PROPFIND /dav/ HTTP/1.1\r\n"
        0x64, 0x61, 0x76, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f,
        0x31, 0x2e, 0x31, 0x0d, 0x0a,
        0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0x31, 0x32, 0x37, 0x2e, // "Host: 127.0.0.1:8080\r\n"
        0x30, 0x2e, 0x30, 0x2e, 0x31, 0x3a, 0x38, 0x30, 0x38, 0x30,
        0x0d, 0x0a,
        0x55, 0x73, 0x65, 0x72, 0x2d, 0x41, 0x67, 0x65, 0x6e, 0x74, // "User-Agent: curl/7.88.1\r\n"
        0x3a, 0x20, 0x63, 0x75, 0x72, 0x6c, 0x2f, 0x37, 0x2e, 0x38,
        0x38, 0x2e, 0x31, 0x0d, 0x0a,
        0x41, 0x63, 0x63, 0x65, 0x70, 0x74, 0x3a, 0x20, 0x2a, 0x2f, // "Accept: */*\r\n"
        0x2a, 0x0d, 0x0a,
        0x44, 0x65, 0x70, 0x74, 0x68, 0x3a, 0x20, 0x31, 0x0d, 0x0a, // "Depth: 1\r\n"
        0x0d, 0x0a, // "\r\n"
    ];

    /// `python3 -m http.server`'s response to GET: status line and headers.
    #[rustfmt::skip]
    pub(crate) const RESPONSE: &[u8] = &[
        0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x30, 0x20, 0x32, // "HTTP/1.0 200 OK\r\n"
        0x30, 0x30, 0x20, 0x4f, 0x4b, 0x0d, 0x0a,
        0x53, 0x65, 0x72, 0x76, 0x65, 0x72, 0x3a, 0x20, 0x53, 0x69, // "Server: SimpleHTTP/0.6 Python/..."
        0x6d, 0x70, 0x6c, 0x65, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x30,
        0x2e, 0x36, 0x20, 0x50, 0x79, 0x74, 0x68, 0x6f, 0x6e, 0x2f,
        0x33, 0x2e, 0x31, 0x31, 0x2e, 0x37, 0x0d, 0x0a,
        0x44, 0x61, 0x74, 0x65, 0x3a, 0x20, 0x4d, 0x6f, 0x6e, 0x2c, // "Date: Mon, 30 Nov 2026 12:26:3..."
        0x20, 0x33, 0x30, 0x20, 0x4e, 0x6f, 0x76, 0x20, 0x32, 0x30,
        0x32, 0x36, 0x20, 0x31, 0x32, 0x3a, 0x32, 0x36, 0x3a, 0x33,
        0x37, 0x20, 0x47, 0x4d, 0x54, 0x0d, 0x0a,
        0x43, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x74, 0x79, // "Content-type: text/html; chars..."
        0x70, 0x65, 0x3a, 0x20, 0x74, 0x65, 0x78, 0x74, 0x2f, 0x68,
        0x74, 0x6d, 0x6c, 0x3b, 0x20, 0x63, 0x68, 0x61, 0x72, 0x73,
        0x65, 0x74, 0x3d, 0x75, 0x74, 0x66, 0x2d, 0x38, 0x0d, 0x0a,
        0x43, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x4c, 0x65, // "Content-Length: 466\r\n"
        0x6e, 0x67, 0x74, 0x68, 0x3a, 0x20, 0x34, 0x36, 0x36, 0x0d,
        0x0a,
        0x0d, 0x0a, // "\r\n"
    ];

    /// curl --http2-prior-knowledge: the client connection preface, then SETTINGS and
    /// WINDOW_UPDATE frames.
    #[rustfmt::skip]
    pub(crate) const PREFACE: &[u8] = &[
        0x50, 0x52, 0x49, 0x20, 0x2a, 0x20, 0x48, 0x54, 0x54, 0x50, // "PRI * HTTP/2.0\r\n"
        0x2f, 0x32, 0x2e, 0x30, 0x0d, 0x0a,
        0x0d, 0x0a, 0x53, 0x4d, 0x0d, 0x0a, 0x0d, 0x0a, // "\r\nSM\r\n\r\n"
        0x00, 0x00, 0x12, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, // frame: 18 bytes, SETTINGS, stream 0
        0x00, 0x03, 0x00, 0x00, 0x00, 0x64, 0x00, 0x04, 0x02, 0x00, // 3 settings
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // WINDOW_UPDATE frame
        0xff, 0x00, 0x01,
    ];

    #[test]
    fn every_known_method_is_a_request() {
        for m in super::METHODS {
            let line = [m, &b" /x HTTP/1.1\r\n"[..]].concat();
            assert_eq!(
                tcp(&line),
                hint(Hint::HttpRequest, 0),
                "{}",
                m.escape_ascii()
            );
            // Cut after the method and its space: still a request.
            assert_eq!(tcp(&line[..m.len() + 1]).hint, Hint::HttpRequest);
        }
    }

    #[test]
    fn known_method_cut_inside_the_line_is_a_request() {
        assert_eq!(tcp(&GET[..8]), hint(Hint::HttpRequest, 0));
        assert_eq!(tcp(&PROPFIND[..20]), hint(Hint::HttpRequest, 0));
        // Before the space, the method is not known to be complete.
        assert_eq!(tcp(&GET[..3]).hint, Hint::Short);
    }

    #[test]
    fn unknown_method_needs_the_whole_line() {
        assert_eq!(tcp(b"FROB /x HTTP/1.1\r\n"), hint(Hint::HttpRequest, 0));
        assert_eq!(tcp(b"FROB /x HTTP/1.1").hint, Hint::Short);
        assert_eq!(tcp(b"FROB /x").hint, Hint::Short);
    }

    #[test]
    fn lower_case_method_is_not_a_request() {
        assert_eq!(tcp(b"get / HTTP/1.1\r\n").hint, Hint::None);
    }

    #[test]
    fn method_token_too_long() {
        let long = [&[b'A'; 25][..], b" / HTTP/1.1\r\n"].concat();
        assert_eq!(tcp(&long).hint, Hint::None);
        let ok = [&[b'A'; 23][..], b" / HTTP/1.1\r\n"].concat();
        assert_eq!(tcp(&ok).hint, Hint::HttpRequest);
    }

    #[test]
    fn control_byte_in_the_target() {
        assert_eq!(tcp(&with(GET, &[(5, 0x01)])).hint, Hint::None);
    }

    #[test]
    fn empty_target() {
        assert_eq!(tcp(b"FROB  HTTP/1.1\r\n").hint, Hint::None);
    }

    #[test]
    fn request_line_of_another_version() {
        assert_eq!(tcp(b"FROB / HTTP/2.0\r\n").hint, Hint::None);
        assert_eq!(tcp(b"FROB / HTTP/1.x\r\n").hint, Hint::None);
        assert_eq!(tcp(b"FROB / RTSP/1.0\r\n").hint, Hint::None);
    }

    #[test]
    fn request_line_without_crlf() {
        assert_eq!(tcp(b"FROB / HTTP/1.1 \r\n").hint, Hint::None);
        assert_eq!(tcp(b"FROB / HTTP/1.1\n").hint, Hint::None);
    }

    #[test]
    fn status_line_version() {
        assert_eq!(
            tcp(b"HTTP/1.0 404 Not Found\r\n"),
            hint(Hint::HttpResponse, 0)
        );
        assert_eq!(tcp(&with(RESPONSE, &[(7, b'2')])).hint, Hint::None);
        assert_eq!(tcp(b"HTTP/2.0 200 OK\r\n").hint, Hint::None);
    }

    #[test]
    fn status_code_not_three_digits() {
        assert_eq!(tcp(&with(RESPONSE, &[(10, b'x')])).hint, Hint::None);
        assert_eq!(tcp(&with(RESPONSE, &[(9, b'6')])).hint, Hint::None);
        assert_eq!(tcp(&with(RESPONSE, &[(8, b'-')])).hint, Hint::None);
        assert_eq!(tcp(&RESPONSE[..11]).hint, Hint::Short);
    }

    #[test]
    fn damaged_preface() {
        assert_eq!(tcp(&with(PREFACE, &[(19, b'X')])).hint, Hint::None);
        assert_eq!(tcp(&PREFACE[..23]).hint, Hint::Short);
        assert_eq!(tcp(&PREFACE[..24]), hint(Hint::Http2Preface, 0));
    }

    #[test]
    fn http_is_tcp_only() {
        for p in [GET, RESPONSE, PREFACE] {
            assert_ne!(recognise(p, false).hint, tcp(p).hint);
        }
    }
}
