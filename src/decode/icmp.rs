//! ICMP (RFC 792) and ICMPv6 (RFC 4443): type, code, and the TCP/UDP packet an error quotes.

use super::{Frame, Icmp, Layer, Quoted, Skip, ipproto, ipv4, ipv6};

mod field {
    /// Type.
    pub const TYPE: usize = 0;
    /// Code.
    pub const CODE: usize = 1;
    /// Type, code, checksum and 4 bytes that depend on the type, bytes; errors quote a packet
    /// after them.
    pub const LEN: usize = 8;
}

/// ICMP types that quote the packet they answer.
mod icmpv4_type {
    pub const DST_UNREACHABLE: u8 = 3;
    pub const TIME_EXCEEDED: u8 = 11;
}

/// ICMPv6 types that quote the packet they answer.
mod icmpv6_type {
    pub const DST_UNREACHABLE: u8 = 1;
    pub const TIME_EXCEEDED: u8 = 3;
}

/// Reads an ICMP message.
pub(super) fn icmp(sub: &Frame<'_>) -> Result<Icmp, Skip> {
    let h = sub.header(0, field::LEN, Layer::Icmp)?;
    let (t, c) = (h[field::TYPE], h[field::CODE]);
    // Destination unreachable (3) and time exceeded (11) quote the packet they answer.
    let quoted = if t == icmpv4_type::DST_UNREACHABLE || t == icmpv4_type::TIME_EXCEEDED {
        quoted(&h[field::LEN..])
    } else {
        None
    };
    Ok(Icmp {
        v6: false,
        icmp_type: t,
        code: c,
        quoted,
    })
}

/// Reads an ICMPv6 message.
pub(super) fn icmpv6(sub: &Frame<'_>) -> Result<Icmp, Skip> {
    let h = sub.header(0, field::LEN, Layer::Icmpv6)?;
    let (t, c) = (h[field::TYPE], h[field::CODE]);
    // Destination unreachable (1) and time exceeded (3) quote the packet they answer.
    let quoted = if t == icmpv6_type::DST_UNREACHABLE || t == icmpv6_type::TIME_EXCEEDED {
        quoted(&h[field::LEN..])
    } else {
        None
    };
    Ok(Icmp {
        v6: true,
        icmp_type: t,
        code: c,
        quoted,
    })
}

/// The TCP/UDP 5-tuple of the packet quoted in an ICMP error: an IP header and at least the 4
/// bytes of ports. The quote is usually shorter than its own length fields say, so those are
/// not checked against it.
fn quoted(b: &[u8]) -> Option<Quoted> {
    let frame = Frame {
        data: b,
        cut: true,
        verify: false,
    };
    // The quoted packet's length fields describe the original, not the quote.
    let wire = usize::MAX / 2;
    let ip = match b.first()? >> 4 {
        4 => ipv4::parse(&frame, wire, 0).ok()?,
        6 => ipv6::parse(&frame, wire, 0).ok()?,
        _ => return None,
    };
    if ip.proto != ipproto::TCP && ip.proto != ipproto::UDP {
        return None;
    }
    let p = ip.l4.get(0..4)?;
    Some(Quoted {
        v6: ip.v6,
        src: ip.src,
        dst: ip.dst,
        proto: ip.proto,
        src_port: u16::from_be_bytes([p[0], p[1]]),
        dst_port: u16::from_be_bytes([p[2], p[3]]),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn icmp_unreachable_quotes_udp() {
        let mut f = eth(ethertype::IPV4);
        f.extend(ipv4_hdr(ipproto::ICMP, 20 + 8 + 20 + 8));
        f.extend([3, 3, 0, 0, 0, 0, 0, 0]); // port unreachable
        let mut q = ipv4_hdr(ipproto::UDP, 28 + 100); // the original was longer than the quote
        q[12..16].copy_from_slice(&[10, 0, 0, 2]);
        q[16..20].copy_from_slice(&[10, 0, 0, 1]);
        f.extend(q);
        f.extend([0xcf, 0x12, 0x27, 0x0f, 0, 108, 0, 0]); // 53010 -> 9999
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        match p.transport {
            Transport::Icmp(i) => {
                assert_eq!((i.icmp_type, i.code), (3, 3));
                let q = i.quoted.unwrap();
                assert_eq!((q.proto, q.src_port, q.dst_port), (17, 53010, 9999));
                assert_eq!(q.src.to_ip(false).to_string(), "10.0.0.2");
            }
            other => panic!("{other:?}"),
        }
    }
}
