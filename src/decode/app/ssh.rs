//! SSH (RFC 4253 section 4.2): the protocol version exchange line,
//! "SSH-protoversion-softwareversion SP comments CR LF".

use super::{AppHint, Hint, Reader, Verdict, check, line};

/// Longest identification line, bytes, CR LF included (RFC 4253).
const MAX_LINE: usize = 255;

/// A version line: "SSH-2.0-", "SSH-1.99-" (a server that speaks 1.x and 2.0) or "SSH-1.5-",
/// then printable text to CR LF.
pub(super) fn recognise(p: &[u8]) -> Verdict {
    let mut r = Reader::new(p);
    r.literal(b"SSH-")?;
    let version = match r.u8()? {
        b'2' => {
            r.literal(b".0-")?;
            0x0200
        }
        b'1' => {
            r.expect(b'.')?;
            match r.u8()? {
                b'9' => {
                    r.literal(b"9-")?;
                    0x0163
                }
                b'5' => {
                    r.expect(b'-')?;
                    0x0105
                }
                _ => return Err(super::Stop::No),
            }
        }
        _ => return Err(super::Stop::No),
    };
    // The software version (non-empty), optional comments, then the line end.
    let start = r.pos();
    let text = line(&mut r, MAX_LINE - 2 - start)?;
    check(text >= 1 && p.get(start) != Some(&b' '))?;
    Ok(AppHint::of(Hint::SshBanner, version))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{hint, tcp, with};
    use super::super::*;

    /// OpenSSH 9.2p1 (Debian 12) client's version line; its sshd sends the same text.
    #[rustfmt::skip]
    pub(crate) const BANNER: &[u8] = &[
        0x53, 0x53, 0x48, 0x2d, 0x32, 0x2e, 0x30, 0x2d, 0x4f, 0x70, // "SSH-2.0-OpenSSH_9.2p1 Debian-2..."
        0x65, 0x6e, 0x53, 0x53, 0x48, 0x5f, 0x39, 0x2e, 0x32, 0x70,
        0x31, 0x20, 0x44, 0x65, 0x62, 0x69, 0x61, 0x6e, 0x2d, 0x32,
        0x2b, 0x64, 0x65, 0x62, 0x31, 0x32, 0x75, 0x31, 0x30, 0x0d,
        0x0a,
    ];

    #[test]
    fn protocol_versions() {
        assert_eq!(
            tcp(b"SSH-1.99-OpenSSH_3.9p1\r\n"),
            hint(Hint::SshBanner, 0x0163)
        );
        assert_eq!(tcp(b"SSH-1.5-1.2.27\r\n"), hint(Hint::SshBanner, 0x0105));
        assert_eq!(
            tcp(b"SSH-2.0-dropbear_2022.83\r\n"),
            hint(Hint::SshBanner, 0x0200)
        );
    }

    #[test]
    fn unknown_protocol_version() {
        assert_eq!(tcp(b"SSH-3.0-x\r\n").hint, Hint::None);
        assert_eq!(tcp(b"SSH-1.6-x\r\n").hint, Hint::None);
        assert_eq!(tcp(b"SSH-2.1-x\r\n").hint, Hint::None);
        assert_eq!(tcp(b"SSH-1.98-x\r\n").hint, Hint::None);
    }

    #[test]
    fn non_printable_byte_in_the_banner() {
        assert_eq!(tcp(&with(BANNER, &[(12, 0x01)])).hint, Hint::None);
        assert_eq!(tcp(&with(BANNER, &[(12, 0xc3)])).hint, Hint::None);
    }

    #[test]
    fn empty_software_version() {
        assert_eq!(tcp(b"SSH-2.0-\r\n").hint, Hint::None);
        assert_eq!(tcp(b"SSH-2.0- comment\r\n").hint, Hint::None);
    }

    #[test]
    fn banner_longer_than_255() {
        let long = [&b"SSH-2.0-"[..], &[b'x'; 246], b"\r\n"].concat();
        assert_eq!(tcp(&long).hint, Hint::None);
        let ok = [&b"SSH-2.0-"[..], &[b'x'; 245], b"\r\n"].concat();
        assert_eq!(ok.len(), 255);
        assert_eq!(tcp(&ok).hint, Hint::SshBanner);
    }

    #[test]
    fn banner_cut_before_its_line_end() {
        assert_eq!(tcp(&BANNER[..BANNER.len() - 2]).hint, Hint::Short);
        assert_eq!(tcp(&BANNER[..BANNER.len() - 1]).hint, Hint::Short);
    }

    #[test]
    fn bare_lf_ends_the_line() {
        assert_eq!(tcp(b"SSH-2.0-Go\n"), hint(Hint::SshBanner, 0x0200));
        assert_eq!(tcp(b"SSH-2.0-Go\rx").hint, Hint::None);
    }

    #[test]
    fn ssh_is_tcp_only() {
        assert_ne!(recognise(BANNER, false).hint, Hint::SshBanner);
    }
}
