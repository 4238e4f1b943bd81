//! Teredo (RFC 4380): IPv6 in UDP, over port 3544, behind optional authentication and origin
//! indication headers.
//!
//! Port 3544 alone does not make a datagram Teredo. As Zeek's Teredo analyzer does, the payload
//! is believed only when it parses: at most one authentication header, first; at most one origin
//! indication; then an IPv6 header whose payload length accounts for exactly the rest of the
//! datagram. A bare IPv6 packet (no header before it) must also have a Teredo address
//! (2001:0::/32) at one end, as Zeek's detection pattern asks. Anything else is an ordinary UDP
//! datagram.

use super::tunnel::Inner;
use super::{Frame, be16};

mod field {
    use super::super::Field;
    /// Indicator type: 0x0000 origin indication, 0x0001 authentication, else the IPv6 header.
    pub const TYPE: Field = 0..2;
    /// Authentication: client id length, bytes.
    pub const AUTH_ID_LEN: usize = 2;
    /// Authentication: authentication value length, bytes.
    pub const AUTH_VALUE_LEN: usize = 3;
    /// Authentication: type, the two lengths, then the id and value, a nonce (8 bytes) and a
    /// confirmation byte; fixed part, bytes.
    pub const AUTH_FIXED_LEN: usize = 4 + 8 + 1;
    /// Origin indication: type, obfuscated port (2), obfuscated IPv4 address (4), bytes.
    pub const ORIGIN_LEN: usize = 8;
    /// IPv6 header: payload length.
    pub const IPV6_PAYLOAD_LEN: Field = 4..6;
    /// IPv6 header: source and destination address prefixes (first 4 bytes each).
    pub const IPV6_SRC_PREFIX: Field = 8..12;
    pub const IPV6_DST_PREFIX: Field = 24..28;
    /// IPv6 header length, bytes.
    pub const IPV6_LEN: usize = 40;
}

const TYPE_ORIGIN: u16 = 0x0000;
const TYPE_AUTH: u16 = 0x0001;
/// The Teredo prefix 2001:0::/32.
const TEREDO_PREFIX: [u8; 4] = [0x20, 0x01, 0x00, 0x00];

/// Where the IPv6 packet starts when the datagram's payload `sub` (`wire` bytes on the wire) is
/// Teredo; `None` when it is not.
pub(super) fn teredo(sub: &Frame<'_>, wire: usize) -> Option<Inner> {
    let d = sub.data;
    let mut off = 0;
    let (mut auth, mut origin) = (false, false);
    loop {
        let t = d.get(off..off + 2)?;
        match be16(t, field::TYPE) {
            TYPE_AUTH if !auth && !origin => {
                let h = d.get(off..off + 4)?;
                off += field::AUTH_FIXED_LEN
                    + h[field::AUTH_ID_LEN] as usize
                    + h[field::AUTH_VALUE_LEN] as usize;
                auth = true;
            }
            TYPE_ORIGIN if !origin => {
                off += field::ORIGIN_LEN;
                origin = true;
            }
            t if t >> 12 == 6 => break,
            _ => return None,
        }
    }
    let ip = d.get(off..off + field::IPV6_LEN)?;
    // The IPv6 payload length must account for exactly the rest of the datagram.
    if field::IPV6_LEN + be16(ip, field::IPV6_PAYLOAD_LEN) as usize != wire.checked_sub(off)? {
        return None;
    }
    if !auth
        && !origin
        && ip[field::IPV6_SRC_PREFIX] != TEREDO_PREFIX
        && ip[field::IPV6_DST_PREFIX] != TEREDO_PREFIX
    {
        return None;
    }
    Some(Inner::Ip(off))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    /// IPv6 from a Teredo address 2001:0:a00:1::1 to 2001:db8::2, TCP SYN.
    fn teredo_ipv6() -> Vec<u8> {
        let mut v = ipv6_hdr(ipproto::TCP, 20);
        v[8..16].copy_from_slice(&[0x20, 0x01, 0, 0, 0x0a, 0, 0, 1]);
        v.extend(tcp_hdr(tcpflags::SYN));
        v
    }

    #[test]
    fn teredo_bare_ipv6() {
        let f = udp_tunnel(3544, &[], &teredo_ipv6());
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert!(p.v6);
        assert_eq!(tcp_of(&p).dst_port, 80);
        let t = p.encap.layers()[0];
        assert_eq!((t.kind, t.id, t.v6), (TunnelKind::Teredo, None, false));
    }

    #[test]
    fn teredo_auth_then_origin() {
        // Authentication with a 2-byte id and a 1-byte value, then an origin indication.
        let mut hdr = vec![0, 1, 2, 1, 0xaa, 0xbb, 0xcc];
        hdr.extend([0; 9]); // nonce, confirmation
        hdr.extend([0, 0, 0xff, 0xff, 0xf5, 0xff, 0xff, 0xfe]); // origin
        let mut inner = ipv6_hdr(ipproto::TCP, 20); // no Teredo address needed behind headers
        inner.extend(tcp_hdr(tcpflags::SYN));
        let f = udp_tunnel(3544, &hdr, &inner);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.encap.layers()[0].kind, TunnelKind::Teredo);
    }

    #[test]
    fn teredo_validation_failures_are_plain_udp() {
        let mut native = ipv6_hdr(ipproto::TCP, 20); // no Teredo address, no header
        native.extend(tcp_hdr(tcpflags::SYN));
        let mut long = teredo_ipv6();
        long.push(0); // one byte more than the IPv6 payload length says
        let origin_twice = {
            let mut v = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            v.extend(teredo_ipv6());
            v
        };
        let auth_after_origin = {
            let mut v = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0];
            v.extend([0; 9]);
            v.extend(teredo_ipv6());
            v
        };
        let dns = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for payload in [native, long, origin_twice, auth_after_origin, dns] {
            let f = udp_tunnel(3544, &[], &payload);
            let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
            assert!(p.encap.is_empty());
            assert!(matches!(p.transport, Transport::Udp(u) if u.dst_port == 3544));
        }
    }
}
