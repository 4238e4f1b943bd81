//! Fast paths for the values every record has: counts, times and addresses, read from bytes
//! in one pass. Each accepts a subset of what the general reader (`str::parse`,
//! [`decimal_ns`](super::values::decimal_ns)) accepts and gives the same value for it; for
//! anything else it gives None and the caller takes the general path, so results and error
//! messages are those of the general reader.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A count as `u64::from_str` reads it (an optional `+`, then decimal digits), from bytes.
pub(super) fn count(b: &[u8]) -> Option<u64> {
    let digits = match b {
        [b'+', rest @ ..] => rest,
        _ => b,
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// Seconds written as `digits` or `digits.digits` (at most 9 decimals, at most 18 integer
/// digits): as ns, exactly. None for any other shape (a sign, an exponent, more decimals),
/// which the general reader takes.
#[inline]
pub(super) fn plain_secs_ns(t: &[u8]) -> Option<i64> {
    let mut i = 0;
    let mut whole: u64 = 0;
    while let Some(&c) = t.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if i == 18 {
            return None;
        }
        whole = whole * 10 + u64::from(d);
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut frac: u64 = 0;
    let mut scale: u64 = 1_000_000_000;
    if i < t.len() {
        if t[i] != b'.' {
            return None;
        }
        let digits = &t[i + 1..];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        for &c in digits {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            frac = frac * 10 + u64::from(d);
            scale /= 10;
        }
    }
    let ns = whole
        .checked_mul(1_000_000_000)?
        .checked_add(frac * scale)?;
    i64::try_from(ns).ok()
}

/// An IPv4 address in the form `Ipv4Addr::from_str` reads (four decimal octets, no leading
/// zero, each at most 255). None for anything else (IPv6 included).
#[inline]
fn ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, o) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u16 = 0;
        while let Some(&c) = b.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 || i - start == 3 {
                break;
            }
            v = v * 10 + u16::from(d);
            i += 1;
        }
        let len = i - start;
        if len == 0 || (len > 1 && b[start] == b'0') {
            return None;
        }
        *o = u8::try_from(v).ok()?;
    }
    (i == b.len()).then_some(Ipv4Addr::from(octets))
}

/// An IPv6 address of hexadecimal groups (1 to 4 digits each) with at most one `::`, in the
/// form `Ipv6Addr::from_str` reads. None for anything else (an embedded IPv4 address
/// included), which the standard parser takes.
#[inline]
fn ipv6(b: &[u8]) -> Option<Ipv6Addr> {
    // [before `::`, after it]
    let mut groups = [[0u16; 8]; 2];
    let mut counts = [0usize; 2];
    let mut side = 0;
    let mut i = 0;
    if b.starts_with(b"::") {
        side = 1;
        i = 2;
    }
    while i < b.len() {
        let start = i;
        let mut v: u16 = 0;
        while let Some(d) = b.get(i).and_then(|&c| (c as char).to_digit(16)) {
            if i - start == 4 {
                return None;
            }
            v = v << 4 | d as u16;
            i += 1;
        }
        if i == start {
            return None;
        }
        *groups[side].get_mut(counts[side])? = v;
        counts[side] += 1;
        match b.get(i) {
            None => break,
            Some(b':') => i += 1,
            Some(_) => return None,
        }
        if b.get(i) == Some(&b':') {
            if side == 1 {
                return None;
            }
            side = 1;
            i += 1;
        } else if i == b.len() {
            return None;
        }
    }
    let [head, tail] = counts;
    // `::` stands for at least one group.
    if (side == 0 && head != 8) || (side == 1 && head + tail > 7) {
        return None;
    }
    let mut g = [0u16; 8];
    g[..head].copy_from_slice(&groups[0][..head]);
    g[8 - tail..].copy_from_slice(&groups[1][..tail]);
    Some(Ipv6Addr::from(g))
}

/// An address as `IpAddr::from_str` reads it, from bytes: IPv4 and plain IPv6 in one pass,
/// anything else through the standard parser.
pub(super) fn ip(b: &[u8]) -> Option<IpAddr> {
    if let Some(a) = ipv4(b) {
        return Some(IpAddr::V4(a));
    }
    if let Some(a) = ipv6(b) {
        return Some(IpAddr::V6(a));
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_as_from_str() {
        for s in [
            "0",
            "7",
            "+7",
            "",
            "+",
            "-1",
            "1 ",
            " 1",
            "18446744073709551615",
            "18446744073709551616",
            "00012",
            "1_0",
            "٣",
        ] {
            assert_eq!(count(s.as_bytes()), s.parse::<u64>().ok(), "{s:?}");
        }
    }

    #[test]
    fn ipv4_as_from_str() {
        for s in [
            "10.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.0004",
            "1.2.3.-4",
            "::1",
            "fe80::1",
            "::ffff:1.2.3.4",
            "::",
            ":::",
            "::1:",
            ":1::",
            "1::2::3",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            "12345::1",
            "0000:FFFF::aBcD",
            "1:2:3:4:5:6:7:8:",
            "g::1",
            "",
            "1.2.3.4 ",
        ] {
            assert_eq!(ip(s.as_bytes()), s.parse::<IpAddr>().ok(), "{s:?}");
        }
    }

    #[test]
    fn plain_seconds_agree_with_the_general_reader() {
        for s in [
            "0",
            "1",
            "1795941313.454674",
            "0.000028",
            "1.123456789",
            "1.1234567891",
            "5.",
            ".5",
            "999999999999999999.999999999",
            "9999999999999999999",
            "9223372036.854775807",
            "9223372036.854775808",
            "1e3",
            "-1.5",
            "+1.5",
            "1.5x",
        ] {
            if let Some(ns) = plain_secs_ns(s.as_bytes()) {
                assert_eq!(
                    Some(ns),
                    super::super::values::decimal_ns(s.as_bytes()),
                    "{s:?}"
                );
            }
        }
        assert_eq!(
            plain_secs_ns(b"1795941313.454674"),
            Some(1_795_941_313_454_674_000)
        );
        assert_eq!(plain_secs_ns(b"1e3"), None);
    }

    proptest! {
        #[test]
        fn counts_agree(s in "[+-]?[0-9]{0,22}[a ]?") {
            prop_assert_eq!(count(s.as_bytes()), s.parse::<u64>().ok());
        }

        #[test]
        fn addresses_agree(s in "[0-9]{0,4}(\\.[0-9]{0,4}){0,4}|[0-9a-f:.]{0,20}") {
            prop_assert_eq!(ip(s.as_bytes()), s.parse::<IpAddr>().ok());
        }

        #[test]
        fn ipv6_shapes_agree(s in "(:{0,3}[0-9a-fA-F]{0,5}){0,10}:{0,3}") {
            prop_assert_eq!(ip(s.as_bytes()), s.parse::<IpAddr>().ok());
        }

        #[test]
        fn any_address_agrees(a: IpAddr) {
            let s = a.to_string();
            prop_assert_eq!(ip(s.as_bytes()), Some(a));
        }

        #[test]
        fn seconds_agree(s in "[0-9]{0,20}(\\.[0-9]{0,11})?") {
            if let Some(ns) = plain_secs_ns(s.as_bytes()) {
                prop_assert_eq!(Some(ns), super::super::values::decimal_ns(s.as_bytes()));
            }
        }
    }
}
