//! Frame builders shared by the tests of every layer.

use super::*;

/// Ethernet header: dst 02:00:00:00:00:02, src 02:00:00:00:00:01, then an EtherType.
pub(super) fn eth(et: u16) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    v.extend_from_slice(&et.to_be_bytes());
    v
}

/// IPv4 header, 20 bytes, 10.0.0.1 -> 10.0.0.2, protocol `proto`, total length `total`.
pub(super) fn ipv4_hdr(proto: u8, total: u16) -> Vec<u8> {
    let t = total.to_be_bytes();
    vec![
        0x45, 0x00, t[0], t[1], // version 4, IHL 5; TOS; total length
        0x00, 0x01, 0x40, 0x00, // id 1; DF, offset 0
        64, proto, 0x00, 0x00, // TTL; protocol; checksum (not checked)
        10, 0, 0, 1, // source
        10, 0, 0, 2, // destination
    ]
}

/// TCP header, 20 bytes: 40000 -> 80, seq 1000, ack 2000, flags, window 64240.
pub(super) fn tcp_hdr(flags: u8) -> Vec<u8> {
    vec![
        0x9c, 0x40, 0x00, 0x50, // ports 40000 -> 80
        0x00, 0x00, 0x03, 0xe8, // seq 1000
        0x00, 0x00, 0x07, 0xd0, // ack 2000
        0x50, flags, 0xfa, 0xf0, // data offset 5 words; flags; window 64240
        0x00, 0x00, 0x00, 0x00, // checksum; urgent pointer
    ]
}

/// An Ethernet/IPv4/TCP frame with `payload` bytes of data.
pub(super) fn eth_tcp(payload: usize) -> Vec<u8> {
    let mut v = eth(ethertype::IPV4);
    v.extend(ipv4_hdr(6, (40 + payload) as u16));
    v.extend(tcp_hdr(tcpflags::ACK | tcpflags::PSH));
    v.extend(std::iter::repeat_n(0xab, payload));
    v
}

pub(super) fn tcp_of(p: &Packet) -> Tcp {
    match p.transport {
        Transport::Tcp(t) => t,
        other => panic!("not tcp: {other:?}"),
    }
}

/// IPv6 2001:db8::1 -> 2001:db8::2 with the given next header and payload length.
pub(super) fn ipv6_hdr(next: u8, plen: u16) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend(plen.to_be_bytes());
    v.extend([next, 64]);
    v.extend([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    v.extend([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    v
}

/// Ethernet / IPv4 10.1.0.1 -> 10.1.0.2 / UDP 50000 -> `dport`, then `hdr` and `inner`.
pub(super) fn udp_tunnel(dport: u16, hdr: &[u8], inner: &[u8]) -> Vec<u8> {
    let udp_len = (8 + hdr.len() + inner.len()) as u16;
    let mut v = eth(ethertype::IPV4);
    let mut ip = ipv4_hdr(ipproto::UDP, 20 + udp_len);
    ip[12..20].copy_from_slice(&[10, 1, 0, 1, 10, 1, 0, 2]);
    v.extend(ip);
    v.extend(50000u16.to_be_bytes());
    v.extend(dport.to_be_bytes());
    v.extend(udp_len.to_be_bytes());
    v.extend([0, 0]);
    v.extend(hdr);
    v.extend(inner);
    v
}

/// Decoder settings with checksums verified.
pub(super) const VERIFY: Settings = Settings {
    verify: true,
    ..Settings::DEFAULT
};

/// `f` (captured whole) decoded with its checksums verified.
pub(super) fn verified(lt: u32, f: &[u8]) -> Packet {
    decode_with(lt, f, f.len() as u32, &VERIFY).unwrap()
}
