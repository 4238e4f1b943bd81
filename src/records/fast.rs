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
    secs_prefix(t, 0, t.len())
        .filter(|&(_, stop)| stop == t.len())
        .map(|(ns, _)| ns)
}

/// Seconds as `digits` or `digits.digits` (1 to 18 integer digits, 1 to 9 decimals) at the
/// start of `b[start..end]`: as ns, exactly, and where they stop (`end`, or the first byte
/// that does not continue them). None for no digit, a `.` with no decimal after it, or more
/// ns than an i64 holds.
#[inline]
pub(super) fn secs_prefix(b: &[u8], start: usize, end: usize) -> Option<(i64, usize)> {
    let end = end.min(b.len());
    let (whole, n) = digit_run(b, start, end.checked_sub(start)?.min(18));
    if n == 0 {
        return None;
    }
    let mut i = start + n;
    let mut frac_ns = 0;
    if i < end && b[i] == b'.' {
        let (frac, m) = digit_run(b, i + 1, (end - i - 1).min(9));
        if m == 0 {
            return None;
        }
        i += 1 + m;
        frac_ns = frac * POW10[9 - m];
    }
    let ns = whole.checked_mul(1_000_000_000)?.checked_add(frac_ns)?;
    Some((i64::try_from(ns).ok()?, i))
}

/// 10^0 to 10^9: the ns in one unit of a decimal place.
const POW10: [u64; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// The run of decimal digits at `b[i..]`, at most `max` of them (at most 19, so the value
/// fits): its value and its length.
///
/// Eight bytes at a time while eight are left in `b` (bytes after the run are looked at, not
/// taken): the digit lanes of a word are found at once (exactly: no carry crosses a lane) and
/// their values combined two, four and eight at a time, instead of a multiply, two compares
/// and a branch per digit.
#[inline]
pub(super) fn digit_run(b: &[u8], i: usize, max: usize) -> (u64, usize) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const TOP: u64 = 0x8080_8080_8080_8080;
    let max = max.min(19);
    let mut n: u64 = 0;
    let mut len = 0;
    while len < max
        && let Some(w) = b.get(i + len..i + len + 8)
    {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        // Each lane's digit value when it is a digit: 0x30 to 0x39 xor 0x30 is 0 to 9.
        let x = u64::from_le_bytes(word) ^ 0x3030_3030_3030_3030;
        // A lane is no digit exactly when its value is 10 or more: adding 0x76 to its low
        // seven bits sets its top bit (or its own top bit is set).
        let bad = (((x & LOW7) + 0x7676_7676_7676_7676) | x) & TOP;
        let digits = if bad == 0 {
            8
        } else {
            (bad.trailing_zeros() / 8) as usize
        };
        let take = digits.min(max - len);
        if take == 0 {
            return (n, len);
        }
        // The digits taken to the top lanes (the first digit is the lowest byte), zeros
        // below them, the rest shifted out.
        let mut v = x << (8 * (8 - take));
        v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
        v = (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff;
        n = n * POW10[take] + v;
        len += take;
        if take < 8 {
            return (n, len);
        }
    }
    while len < max
        && let Some(&c) = b.get(i + len)
    {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n * 10 + u64::from(d);
        len += 1;
    }
    (n, len)
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
        let (v, len) = octet(b, i)?;
        *o = v;
        i += len;
    }
    (i == b.len()).then_some(Ipv4Addr::from(octets))
}

/// The decimal octet at `b[i..]`: 1 to 3 digits, no leading zero, at most 255; its value and
/// length. A loop over the digits, with its per-digit length check, took twice the
/// instructions of these unrolled steps.
#[inline]
fn octet(b: &[u8], i: usize) -> Option<(u8, usize)> {
    let digit = |at: usize| b.get(at).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9);
    let d0 = digit(i)?;
    let Some(d1) = digit(i + 1) else {
        return Some((d0, 1));
    };
    if d0 == 0 {
        return None;
    }
    let Some(d2) = digit(i + 2) else {
        return Some((d0 * 10 + d1, 2));
    };
    let v = u16::from(d0) * 100 + u16::from(d1) * 10 + u16::from(d2);
    Some((u8::try_from(v).ok()?, 3))
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

    #[test]
    fn digit_runs_stop_at_every_byte_in_every_lane() {
        for c in 0..=255u8 {
            for k in 0..20 {
                let mut b = vec![b'7'; 24];
                b[k] = c;
                let len = b.iter().take(19).take_while(|c| c.is_ascii_digit()).count();
                let want = std::str::from_utf8(&b[..len])
                    .unwrap()
                    .parse::<u64>()
                    .unwrap_or(0);
                assert_eq!(digit_run(&b, 0, 19), (want, len), "byte {c:#x} at {k}");
            }
        }
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
        fn digit_runs_as_a_scan_reads_them(
            pre in "[0-9a]{0,3}",
            s in "[0-9]{0,25}[^0-9]?[0-9/:]{0,9}",
            max in 0usize..25,
        ) {
            let b = format!("{pre}{s}");
            let i = pre.len();
            let len = b.as_bytes()[i..]
                .iter()
                .take(max.min(19))
                .take_while(|c| c.is_ascii_digit())
                .count();
            let want = b[i..i + len].parse::<u64>().unwrap_or(0);
            prop_assert_eq!(digit_run(b.as_bytes(), i, max), (want, len));
        }

        #[test]
        fn seconds_agree(s in "[0-9]{0,20}(\\.[0-9]{0,11})?") {
            if let Some(ns) = plain_secs_ns(s.as_bytes()) {
                prop_assert_eq!(Some(ns), super::super::values::decimal_ns(s.as_bytes()));
            }
        }
    }
}
