//! Ethernet / IPv4 / TCP frames built by hand into a reusable buffer, with correct IPv4 header
//! and TCP checksums. Frames shorter than Ethernet's 60-byte minimum (FCS excluded) are padded
//! with zeros after the IP packet, as on a wire.

use std::net::Ipv4Addr;

pub const ETH_HEADER_LEN: usize = 14;
pub const IPV4_HEADER_LEN: usize = 20;
pub const TCP_HEADER_LEN: usize = 20;
/// Ethernet's minimum frame length without the FCS.
pub const MIN_FRAME_LEN: usize = 60;
/// TCP options carried by SYN and SYN/ACK: MSS 1460.
pub const MSS_OPTION: [u8; 4] = [2, 4, 0x05, 0xb4];

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

pub const TTL: u8 = 64;
pub const WINDOW: u16 = 64_240;

pub type Mac = [u8; 6];

/// Locally administered MAC ending in `last`: 02:00:00:00:00:<last>.
pub const fn mac(last: u8) -> Mac {
    [0x02, 0, 0, 0, 0, last]
}

/// One end of a TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct End {
    pub mac: Mac,
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// The variable fields of one TCP segment.
#[derive(Clone, Copy, Debug)]
pub struct Seg<'a> {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub ip_id: u16,
    /// Carry the MSS option (SYN, SYN/ACK).
    pub mss: bool,
    pub payload: &'a [u8],
}

/// Length of the frame [`tcp_frame`] writes for `seg`.
pub fn frame_len(mss: bool, payload: usize) -> usize {
    let ip_len =
        IPV4_HEADER_LEN + TCP_HEADER_LEN + if mss { MSS_OPTION.len() } else { 0 } + payload;
    (ETH_HEADER_LEN + ip_len).max(MIN_FRAME_LEN)
}

/// Replaces `buf` with the Ethernet frame of `seg` sent from `src` to `dst`.
pub fn tcp_frame(buf: &mut Vec<u8>, src: &End, dst: &End, seg: &Seg) {
    let opt_len = if seg.mss { MSS_OPTION.len() } else { 0 };
    let tcp_len = TCP_HEADER_LEN + opt_len + seg.payload.len();
    let ip_len = IPV4_HEADER_LEN + tcp_len;
    buf.clear();

    // Ethernet II
    buf.extend_from_slice(&dst.mac);
    buf.extend_from_slice(&src.mac);
    buf.extend_from_slice(&0x0800u16.to_be_bytes());

    // IPv4: version 4, IHL 5, DSCP 0, DF set, no options
    let ip = buf.len();
    buf.extend_from_slice(&[0x45, 0]);
    buf.extend_from_slice(&(ip_len as u16).to_be_bytes());
    buf.extend_from_slice(&seg.ip_id.to_be_bytes());
    buf.extend_from_slice(&0x4000u16.to_be_bytes());
    buf.extend_from_slice(&[TTL, 6, 0, 0]);
    buf.extend_from_slice(&src.ip.octets());
    buf.extend_from_slice(&dst.ip.octets());
    let sum = checksum(0, &buf[ip..ip + IPV4_HEADER_LEN]);
    buf[ip + 10..ip + 12].copy_from_slice(&sum.to_be_bytes());

    // TCP
    let tcp = buf.len();
    buf.extend_from_slice(&src.port.to_be_bytes());
    buf.extend_from_slice(&dst.port.to_be_bytes());
    buf.extend_from_slice(&seg.seq.to_be_bytes());
    buf.extend_from_slice(&seg.ack.to_be_bytes());
    buf.push((((TCP_HEADER_LEN + opt_len) / 4) as u8) << 4);
    buf.push(seg.flags);
    buf.extend_from_slice(&WINDOW.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    if seg.mss {
        buf.extend_from_slice(&MSS_OPTION);
    }
    buf.extend_from_slice(seg.payload);
    // pseudo-header: source, destination, zero, protocol, TCP length
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&src.ip.octets());
    pseudo[4..8].copy_from_slice(&dst.ip.octets());
    pseudo[9] = 6;
    pseudo[10..12].copy_from_slice(&(tcp_len as u16).to_be_bytes());
    let sum = checksum(sum_words(0, &pseudo), &buf[tcp..]);
    buf[tcp + 16..tcp + 18].copy_from_slice(&sum.to_be_bytes());

    buf.resize(buf.len().max(MIN_FRAME_LEN), 0);
    debug_assert_eq!(buf.len(), frame_len(seg.mss, seg.payload.len()));
}

/// Adds `data` to a one's complement sum as big-endian 16-bit words (odd length: zero-padded).
fn sum_words(mut acc: u32, data: &[u8]) -> u32 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        acc += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// The Internet checksum of `data`, starting from the partial sum `acc`.
pub fn checksum(acc: u32, data: &[u8]) -> u16 {
    let mut s = sum_words(acc, data);
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_verify_to_zero() {
        let src = End {
            mac: mac(1),
            ip: Ipv4Addr::new(10, 64, 0, 1),
            port: 40000,
        };
        let dst = End {
            mac: mac(2),
            ip: Ipv4Addr::new(10, 20, 0, 21),
            port: 5000,
        };
        for (mss, payload) in [
            (true, &[][..]),
            (false, &b"odd"[..]),
            (false, &[7u8; 200][..]),
        ] {
            let mut buf = Vec::new();
            let seg = Seg {
                seq: 1,
                ack: 2,
                flags: ACK,
                ip_id: 3,
                mss,
                payload,
            };
            tcp_frame(&mut buf, &src, &dst, &seg);
            assert_eq!(buf.len(), frame_len(mss, payload.len()));
            let ip = &buf[ETH_HEADER_LEN..];
            assert_eq!(checksum(0, &ip[..IPV4_HEADER_LEN]), 0);
            let ip_len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let tcp = &ip[IPV4_HEADER_LEN..ip_len];
            let mut pseudo = [0u8; 12];
            pseudo[0..8].copy_from_slice(&ip[12..20]);
            pseudo[9] = 6;
            pseudo[10..12].copy_from_slice(&(tcp.len() as u16).to_be_bytes());
            assert_eq!(checksum(sum_words(0, &pseudo), tcp), 0);
        }
    }
}
