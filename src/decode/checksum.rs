//! Internet checksums (RFC 1071): the IPv4 header checksum and the TCP and UDP checksums over
//! their IPv4 or IPv6 pseudo-header (RFC 793, RFC 768, RFC 8200 section 8.1).
//!
//! Verification is the only work in decoding that reads every byte of a packet, so it runs only
//! when asked for ([`ChecksumMode`]). A packet whose transport bytes the snaplen cut cannot be
//! verified: it is [`Checksum::Cut`], never counted as bad (Zeek does the same: it checks only
//! when the whole segment was captured).

use super::{Addr, ipproto};

/// What is done with checksums (`--checksums`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// Not verified (no per-byte work), as tshark does by default: captures taken on a sending
    /// host carry the checksums the network card had yet to fill in (offload).
    #[default]
    Ignore,
    /// Verified and counted (per flow and in the statistics); packets count as any other.
    Count,
    /// Verified, and a packet with a bad checksum does not advance its flow, as in Zeek: a bad
    /// IPv4 header drops the packet; a bad TCP segment adds only the history letter `C`/`c`;
    /// a bad UDP datagram is counted in the flow's packets and IP bytes but not in its payload
    /// bytes, history `D`/`d` or duration, and adds `C`/`c`.
    Drop,
}

impl ChecksumMode {
    /// Whether packets are verified at all.
    pub fn verifies(self) -> bool {
        self != ChecksumMode::Ignore
    }
}

/// What checksum verification found for one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checksum {
    /// Not verified (and the transport bytes were captured whole).
    #[default]
    Unchecked,
    /// Verified and right (a UDP datagram over IPv4 with a zero checksum field has none, and
    /// counts here).
    Good,
    /// The IPv4 header checksum is wrong.
    BadIp,
    /// The TCP or UDP checksum is wrong.
    BadL4,
    /// The snaplen cut the transport bytes: not verifiable, and the payload was not all seen.
    Cut,
}

impl Checksum {
    /// The packet's transport checksum is known to be wrong.
    pub fn bad_l4(self) -> bool {
        self == Checksum::BadL4
    }
}

/// Ones'-complement sum of `data` as 16-bit big-endian words (an odd last byte padded with a
/// zero), folded to 16 bits and added to `acc`.
///
/// The sum is taken in the machine's little-endian order and swapped at the end (the
/// ones'-complement sum does not depend on byte order, RFC 1071 section 2(B)), over 32-bit
/// words into four 64-bit lanes: the loop has no byte swap and no carry chain, so the compiler
/// vectorizes it. 2^16 is 1 modulo 0xffff, so 32-bit words fold to the same 16-bit sum.
#[inline]
pub fn sum(data: &[u8], acc: u64) -> u64 {
    let mut lanes = [0u64; 4];
    let mut blocks = data.chunks_exact(16);
    for b in &mut blocks {
        for (i, lane) in lanes.iter_mut().enumerate() {
            let w = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
            *lane += u64::from(u32::from_le_bytes(w));
        }
    }
    let mut le = lanes.iter().sum::<u64>();
    let mut words = blocks.remainder().chunks_exact(4);
    for w in &mut words {
        le += u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    }
    // A byte at an even offset is the low byte of a little-endian word.
    match *words.remainder() {
        [a] => le += u64::from(a),
        [a, b] => le += u64::from(u16::from_le_bytes([a, b])),
        [a, b, c] => le += u64::from(u16::from_le_bytes([a, b])) + u64::from(c),
        _ => {}
    }
    acc + u64::from(fold(le).swap_bytes())
}

/// Folds a sum to 16 bits with end-around carry.
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Whether an IPv4 header (options included) has a right checksum.
#[inline]
pub fn ipv4_header_ok(header: &[u8]) -> bool {
    fold(sum(header, 0)) == 0xffff
}

/// Whether a TCP segment or UDP datagram (`l4`: header and payload, whole) has a right checksum
/// over its pseudo-header. A UDP datagram over IPv4 with a zero checksum field has none.
#[inline]
pub fn transport_ok(v6: bool, src: &Addr, dst: &Addr, proto: u8, l4: &[u8]) -> bool {
    if proto == ipproto::UDP && !v6 && l4.get(6..8) == Some(&[0, 0]) {
        return true;
    }
    // Pseudo-header: addresses, protocol, transport length (32 bits for IPv6: the upper
    // bits of a length below 2^32 add nothing else).
    let mut acc = sum(src.wire(v6), 0);
    acc = sum(dst.wire(v6), acc);
    acc += u64::from(proto) + l4.len() as u64;
    fold(sum(l4, acc)) == 0xffff
}

/// The ones'-complement checksum a header or segment would carry (for building test frames).
pub fn compute(data: &[u8], acc: u64) -> u16 {
    !fold(sum(data, acc))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;
    use super::*;

    /// RFC 1071's worked example: the words 0001 f203 f4f5 f6f7 sum to ddf2.
    #[test]
    fn rfc1071_example() {
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&d, 0)), 0xddf2);
        // Odd length: the last byte is padded with a zero.
        assert_eq!(fold(sum(&d[..7], 0)), 0xddf2 - 0xf7);
    }

    /// The vectorized sum equals the plain big-endian word sum for every length and offset.
    #[test]
    fn sum_matches_plain_word_sum() {
        let mut x = 0x1234_5678u32;
        let buf: Vec<u8> = (0..300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for start in 0..4 {
            for len in 0..(buf.len() - start) {
                let d = &buf[start..start + len];
                let plain: u64 = d
                    .chunks(2)
                    .map(|w| u64::from(w[0]) << 8 | u64::from(*w.get(1).unwrap_or(&0)))
                    .sum();
                assert_eq!(fold(sum(d, 7)), fold(plain + 7), "start {start} len {len}");
            }
        }
    }

    /// An IPv4 header from a real capture (checksum b861), and the same with one bit flipped.
    #[test]
    fn ipv4_header() {
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert!(ipv4_header_ok(&h));
        h[8] ^= 1;
        assert!(!ipv4_header_ok(&h));
    }

    fn fill(f: &mut [u8], v6: bool, l4_off: usize, csum_at: usize) {
        let (src, dst) = if v6 {
            (Addr::v6(&f[8..24]), Addr::v6(&f[24..40]))
        } else {
            (Addr::v4(&f[12..16]), Addr::v4(&f[16..20]))
        };
        let proto = if v6 { f[6] } else { f[9] };
        let l4 = &f[l4_off..];
        let mut acc = sum(src.wire(v6), 0);
        acc = sum(dst.wire(v6), acc);
        acc += u64::from(proto) + l4.len() as u64;
        let c = compute(l4, acc);
        f[l4_off + csum_at..l4_off + csum_at + 2].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn tcp_over_ipv4_and_ipv6() {
        let mut f = ipv4_hdr(ipproto::TCP, 20 + 20 + 7); // odd payload
        let h = compute(&f[..20], 0);
        f[10..12].copy_from_slice(&h.to_be_bytes());
        f.extend(tcp_hdr(tcpflags::ACK | tcpflags::PSH));
        f.extend([0xab; 7]);
        fill(&mut f, false, 20, 16);
        let p = verified(linktype::IPV4, &f);
        assert_eq!(p.csum, Checksum::Good);
        // Not verified unless asked.
        assert_eq!(
            decode(linktype::IPV4, &f, f.len() as u32).unwrap().csum,
            Checksum::Unchecked
        );
        f[46] ^= 0x40; // the last payload byte
        let p = verified(linktype::IPV4, &f);
        assert_eq!(p.csum, Checksum::BadL4);

        let mut f = ipv6_hdr(ipproto::TCP, 20 + 3);
        f.extend(tcp_hdr(tcpflags::ACK));
        f.extend([1, 2, 3]);
        fill(&mut f, true, 40, 16);
        let p = verified(linktype::IPV6, &f);
        assert_eq!(p.csum, Checksum::Good);
        f[41] ^= 1; // source port
        let p = verified(linktype::IPV6, &f);
        assert_eq!(p.csum, Checksum::BadL4);
    }

    #[test]
    fn udp_zero_checksum() {
        let mut f = ipv4_hdr(ipproto::UDP, 20 + 8 + 2);
        let h = compute(&f[..20], 0);
        f[10..12].copy_from_slice(&h.to_be_bytes());
        f.extend([0x9c, 0x40, 0x00, 0x35, 0, 10, 0, 0, 0xaa, 0xbb]);
        // IPv4: a zero checksum field means none.
        let p = verified(linktype::IPV4, &f);
        assert_eq!(p.csum, Checksum::Good);
        fill(&mut f, false, 20, 6);
        let p = verified(linktype::IPV4, &f);
        assert_eq!(p.csum, Checksum::Good);
        f[29] ^= 0xff;
        let p = verified(linktype::IPV4, &f);
        assert_eq!(p.csum, Checksum::BadL4);
        // IPv6: the checksum is mandatory, zero is wrong.
        let mut f = ipv6_hdr(ipproto::UDP, 8 + 2);
        f.extend([0x9c, 0x40, 0x00, 0x35, 0, 10, 0, 0, 0xaa, 0xbb]);
        let p = verified(linktype::IPV6, &f);
        assert_eq!(p.csum, Checksum::BadL4);
    }

    #[test]
    fn bad_ipv4_header_and_cut_frames() {
        // The test IPv4 header carries a zero checksum: wrong.
        let f = eth_tcp(10);
        let p = verified(linktype::ETHERNET, &f);
        assert_eq!(p.csum, Checksum::BadIp);
        // Fix the header; cut the frame inside the payload: not verifiable, whether asked or not.
        let mut f = eth_tcp(10);
        let h = compute(&f[14..34], 0);
        f[24..26].copy_from_slice(&h.to_be_bytes());
        let p = decode_with(linktype::ETHERNET, &f[..58], f.len() as u32, &VERIFY).unwrap();
        assert_eq!(p.csum, Checksum::Cut);
        let p = decode(linktype::ETHERNET, &f[..58], f.len() as u32).unwrap();
        assert_eq!(p.csum, Checksum::Cut);
    }
}
