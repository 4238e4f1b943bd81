//! SMTP (RFC 5321): the server's greeting (reply code 220) and the client's EHLO or HELO.
//!
//! An FTP server's greeting (RFC 959) has the same shape as SMTP's and is reported as
//! [`Hint::SmtpBanner`] too: the bytes alone do not tell them apart.

use super::{AppHint, Hint, Reader, Stop, Verdict, check, line};

/// Longest reply or command line, bytes, CR LF included (RFC 5321 section 4.5.3.1).
const MAX_LINE: usize = 512;

/// A greeting line: "220 " (or "220-", the first line of several), then printable text to CR LF.
pub(super) fn banner(p: &[u8]) -> Verdict {
    let mut r = Reader::new(p);
    r.literal(b"220")?;
    let sep = r.u8()?;
    check(sep == b' ' || sep == b'-')?;
    let max = MAX_LINE - 2 - r.pos();
    line(&mut r, max)?;
    Ok(AppHint::of(Hint::SmtpBanner, 0))
}

/// "EHLO " or "HELO " (any case), then a non-empty domain or address literal to CR LF.
pub(super) fn helo(p: &[u8]) -> Verdict {
    let mut r = Reader::new(p);
    match (r.u8()?.to_ascii_uppercase(), r.u8()?.to_ascii_uppercase()) {
        (b'E', b'H') | (b'H', b'E') => {}
        _ => return Err(Stop::No),
    }
    for want in *b"LO" {
        check(r.u8()?.to_ascii_uppercase() == want)?;
    }
    r.expect(b' ')?;
    let max = MAX_LINE - 2 - r.pos();
    let text = line(&mut r, max)?;
    check(text >= 1)?;
    Ok(AppHint::of(Hint::SmtpHelo, 0))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{hint, tcp, with};
    use super::super::*;

    /// Python smtpd's greeting (`python3 -m smtpd -n -c DebuggingServer`).
    #[rustfmt::skip]
    pub(crate) const BANNER: &[u8] = &[
        0x32, 0x32, 0x30, 0x20, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x68, // "220 localhost Python SMTP prox..."
        0x6f, 0x73, 0x74, 0x20, 0x50, 0x79, 0x74, 0x68, 0x6f, 0x6e,
        0x20, 0x53, 0x4d, 0x54, 0x50, 0x20, 0x70, 0x72, 0x6f, 0x78,
        0x79, 0x20, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x20,
        0x30, 0x2e, 0x33, 0x0d, 0x0a,
    ];

    /// curl 7.88.1 (smtp://, `-T mail.txt`: it names itself after the file).
    #[rustfmt::skip]
    pub(crate) const EHLO: &[u8] = &[
        0x45, 0x48, 0x4c, 0x4f, 0x20, 0x6d, 0x61, 0x69, 0x6c, 0x2e, // "EHLO mail.txt\r\n"
        0x74, 0x78, 0x74, 0x0d, 0x0a,
    ];

    /// Python smtplib's `helo()`: lower case.
    #[rustfmt::skip]
    pub(crate) const HELO_LOWER: &[u8] = &[
        0x68, 0x65, 0x6c, 0x6f, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, // "helo client.example.test\r\n"
        0x74, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e,
        0x74, 0x65, 0x73, 0x74, 0x0d, 0x0a,
    ];

    #[test]
    fn multi_line_greeting() {
        assert_eq!(
            tcp(b"220-mx.example.test ESMTP\r\n220 ready\r\n"),
            hint(Hint::SmtpBanner, 0)
        );
    }

    #[test]
    fn other_reply_codes_are_not_a_greeting() {
        assert_eq!(tcp(b"221 Bye\r\n").hint, Hint::None);
        assert_eq!(tcp(b"250 OK\r\n").hint, Hint::None);
        assert_eq!(tcp(b"2200 x\r\n").hint, Hint::None);
        // As DNS over TCP, these five bytes could still start a message.
        assert_eq!(tcp(b"220\r\n").hint, Hint::Short);
    }

    #[test]
    fn non_printable_byte_in_the_greeting() {
        assert_eq!(tcp(&with(BANNER, &[(10, 0x00)])).hint, Hint::None);
        assert_eq!(tcp(&with(BANNER, &[(10, 0x7f)])).hint, Hint::None);
    }

    #[test]
    fn greeting_cut_before_its_line_end() {
        assert_eq!(tcp(&BANNER[..20]).hint, Hint::Short);
    }

    #[test]
    fn greeting_longer_than_512() {
        let long = [&b"220 "[..], &[b'x'; 507], b"\r\n"].concat();
        assert_eq!(tcp(&long).hint, Hint::None);
        assert_eq!(tcp(&long[..512 - 2]).hint, Hint::Short);
    }

    #[test]
    fn helo_any_case() {
        for v in [
            &b"EhLo a.test\r\n"[..],
            b"HELO a.test\r\n",
            b"ehlo [127.0.0.1]\r\n",
        ] {
            assert_eq!(tcp(v), hint(Hint::SmtpHelo, 0), "{}", v.escape_ascii());
        }
    }

    #[test]
    fn helo_without_a_domain() {
        assert_eq!(tcp(b"EHLO\r\n").hint, Hint::None);
        assert_eq!(tcp(b"EHLO \r\n").hint, Hint::None);
    }

    #[test]
    fn other_commands_are_not_helo() {
        assert_eq!(tcp(b"EHLX a.test\r\n").hint, Hint::None);
        assert_eq!(tcp(b"MAIL FROM:<a@example.test>\r\n").hint, Hint::None);
        assert_eq!(tcp(b"QUIT\r\n").hint, Hint::None);
        assert_eq!(tcp(b"DATA\r\n").hint, Hint::None);
    }

    #[test]
    fn non_printable_byte_in_helo() {
        assert_eq!(tcp(&with(EHLO, &[(7, 0x09)])).hint, Hint::None);
    }

    #[test]
    fn smtp_is_tcp_only() {
        assert_ne!(recognise(BANNER, false).hint, Hint::SmtpBanner);
        assert_ne!(recognise(EHLO, false).hint, Hint::SmtpHelo);
    }
}
