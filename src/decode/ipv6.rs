//! IPv6 (RFC 8200): fixed header, extension headers (hop-by-hop, routing, destination options,
//! AH) and fragments.

use super::ip::{self, FragHdr, Ip};
use super::{Addr, Frame, Layer, Packet, Reason, Skip, VlanStack, be16, be32, ipproto};

mod field {
    use super::super::Field;
    /// Version (4 bits), traffic class (8), flow label (20).
    pub const VER: usize = 0;
    /// Payload length (extension headers included), bytes.
    pub const PAYLOAD_LEN: Field = 4..6;
    /// Next header: the first extension header or the transport protocol.
    pub const NEXT_HEADER: usize = 6;
    /// Source address.
    pub const SRC: Field = 8..24;
    /// Destination address.
    pub const DST: Field = 24..40;
    /// Header length, bytes.
    pub const LEN: usize = 40;

    /// An extension header.
    pub mod ext {
        use super::Field;
        /// Next header.
        pub const NEXT_HEADER: usize = 0;
        /// Header length: in 8-byte units not counting the first 8 (AH: 4-byte units minus 2).
        pub const LENGTH: usize = 1;
        /// Fragment header: offset in 8-byte units (13 bits), 2 reserved bits, more-fragments bit.
        pub const FRAG_OFF: Field = 2..4;
        /// Fragment header: the more-fragments bit (M) in [`FRAG_OFF`].
        pub const FRAG_M: u16 = 1;
        /// Fragment header: identification of the datagram.
        pub const FRAG_IDENT: Field = 4..8;
        /// Fragment header length, bytes.
        pub const FRAG_LEN: usize = 8;
        /// Unit of the length field and shortest extension header, bytes.
        pub const MIN_LEN: usize = 8;
        /// Routing header: routing type (0: source route, deprecated; 2: mobility home
        /// address; 4: segment routing).
        pub const ROUTING_TYPE: usize = 2;
        /// Routing header: segments left, route segments still to visit.
        pub const SEGMENTS_LEFT: usize = 3;
        /// Routing header types 0, 2 and 4: the first address of the list, 16 bytes (types 0 and
        /// 2 list the route in order, the final destination last; type 4 in reverse, the final
        /// destination first).
        pub const ROUTE: usize = 8;
    }
}

/// Most IPv6 extension headers followed before giving up (bounds the work per frame).
const MAX_EXT: usize = 16;

/// Decodes the IPv6 packet at `off` and its transport header.
pub(super) fn ipv6(
    frame: &Frame<'_>,
    wire: usize,
    off: usize,
    vlan: VlanStack,
) -> Result<Packet, Skip> {
    let ip = parse(frame, wire, off)?;
    ip::transport(frame, ip, vlan)
}

/// Reads the IPv6 header at `off` and its extension headers (`wire`: the frame's length on the
/// wire).
pub(super) fn parse<'a>(frame: &Frame<'a>, wire: usize, off: usize) -> Result<Ip<'a>, Skip> {
    let h = frame.header(off, field::LEN, Layer::Ipv6)?;
    if h[field::VER] >> 4 != 6 {
        return Err(Skip::Malformed(Layer::Ipv6, Reason::BadVersion));
    }
    let on_wire = wire.saturating_sub(off);
    let payload = match be16(h, field::PAYLOAD_LEN) as usize {
        // Zero: a jumbogram or segmentation offload; the frame's own length is the packet's.
        0 => on_wire.saturating_sub(field::LEN),
        p if field::LEN + p > on_wire => {
            return Err(Skip::Malformed(Layer::Ipv6, Reason::BadTotalLength));
        }
        p => p,
    };
    let total = field::LEN + payload;
    let c = chain(frame, off, field::LEN, h[field::NEXT_HEADER], total)?;
    let (next, pos, frag) = (c.next, c.pos, c.frag);
    let l4 = h.get(pos..h.len().min(total)).unwrap_or(&[]);
    let dst = Addr::v6(&h[field::DST]);
    Ok(Ip {
        v6: true,
        src: Addr::v6(&h[field::SRC]),
        dst,
        pseudo_dst: c.final_dst.unwrap_or(dst),
        proto: next,
        ip_len: total as u32,
        l4_len: (total - pos) as u32,
        l4,
        frag,
        bad_header: false,
    })
}

/// What follows the extension headers ([`chain`]).
struct Chain {
    /// Protocol after the last extension header.
    next: u8,
    /// Where it starts, bytes from the IPv6 header.
    pos: usize,
    /// The Fragment header of a fragment (not an atomic one), which ended the walk.
    frag: Option<FragHdr>,
    /// The final destination a Routing header names while it has segments left: the
    /// destination of the transport checksum's pseudo-header (RFC 8200 8.1).
    final_dst: Option<Addr>,
}

/// Follows the extension headers of the packet at `off`, from `pos` (relative to `off`) where a
/// header of type `next` starts, in a packet of `total` bytes: the protocol after the last one and
/// where it starts. A Fragment header of a fragment (not an atomic one) ends the walk: what
/// follows it is the datagram's fragmentable part, and the fragment's fields are returned.
fn chain(
    frame: &Frame<'_>,
    off: usize,
    mut pos: usize,
    mut next: u8,
    total: usize,
) -> Result<Chain, Skip> {
    let mut headers = 0;
    let mut final_dst = None;
    loop {
        match next {
            ipproto::HOPOPTS | ipproto::ROUTING | ipproto::DSTOPTS | ipproto::AH => {
                headers += 1;
                if headers > MAX_EXT {
                    return Err(Skip::Malformed(Layer::Ipv6Ext, Reason::TooManyHeaders));
                }
                let e = frame.header(off + pos, 2, Layer::Ipv6Ext)?;
                let len = if next == ipproto::AH {
                    (e[field::ext::LENGTH] as usize + 2) * 4
                } else {
                    (e[field::ext::LENGTH] as usize + 1) * field::ext::MIN_LEN
                };
                if next == ipproto::ROUTING {
                    final_dst = final_dst.or(routed_destination(frame, off + pos, len));
                }
                next = e[field::ext::NEXT_HEADER];
                pos += len;
            }
            ipproto::FRAGMENT => {
                headers += 1;
                if headers > MAX_EXT {
                    return Err(Skip::Malformed(Layer::Ipv6Ext, Reason::TooManyHeaders));
                }
                let e = frame.header(off + pos, field::ext::FRAG_LEN, Layer::Ipv6Ext)?;
                let flg_off = be16(e, field::ext::FRAG_OFF);
                let unfragmentable = pos;
                next = e[field::ext::NEXT_HEADER];
                pos += field::ext::FRAG_LEN;
                if pos > total {
                    return Err(Skip::Malformed(Layer::Ipv6Ext, Reason::BadHeaderLength));
                }
                // Offset 0 without M: an atomic fragment, a whole packet (RFC 8200 4.5, RFC 6946).
                if flg_off != 0 {
                    let frag = FragHdr {
                        id: be32(e, field::ext::FRAG_IDENT),
                        offset: (flg_off >> 3) as u32 * 8,
                        more: flg_off & field::ext::FRAG_M != 0,
                        hdr_len: unfragmentable as u32,
                        data_off: off + pos,
                    };
                    return Ok(Chain {
                        next,
                        pos,
                        frag: Some(frag),
                        final_dst,
                    });
                }
            }
            _ => break,
        }
        // An extension header that runs past the payload is broken.
        if pos > total {
            return Err(Skip::Malformed(Layer::Ipv6Ext, Reason::BadHeaderLength));
        }
    }
    Ok(Chain {
        next,
        pos,
        frag: None,
        final_dst,
    })
}

/// The final destination the Routing header at `at` (`len` bytes) names, when it still has
/// segments to visit and is of a type whose address list says it: type 0 or 2 (the last
/// address), type 4, segment routing (the first). None for other types (RPL's compressed
/// addresses), a header with no segments left (the IPv6 destination is the final one) or one not
/// captured whole.
fn routed_destination(frame: &Frame<'_>, at: usize, len: usize) -> Option<Addr> {
    let r = frame.data.get(at..at.checked_add(len)?)?;
    if r[field::ext::SEGMENTS_LEFT] == 0 || len < field::ext::ROUTE + 16 {
        return None;
    }
    let i = match r[field::ext::ROUTING_TYPE] {
        0 | 2 => field::ext::ROUTE + (len - field::ext::ROUTE) / 16 * 16 - 16,
        4 => field::ext::ROUTE,
        _ => return None,
    };
    Some(Addr::v6(&r[i..i + 16]))
}

/// Follows the extension headers at the start of a reassembled datagram's fragmentable part
/// (`total` bytes, the first header of type `next`): the transport protocol and where it starts.
/// A second Fragment header (other than an atomic one) is malformed: a datagram is fragmented once.
pub(super) fn chain_reassembled(
    frame: &Frame<'_>,
    next: u8,
    total: usize,
) -> Result<(u8, usize), Skip> {
    let c = chain(frame, 0, 0, next, total)?;
    match c.frag {
        None => Ok((c.next, c.pos)),
        Some(_) => Err(Skip::Malformed(Layer::Ipv6Ext, Reason::TooManyHeaders)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    /// An IPv6 TCP segment behind a Routing header (`routing`: the whole header, its next header
    /// TCP), with its checksum computed over `csum_dst` in the pseudo-header.
    fn routed(routing: &[u8], csum_dst: [u8; 16]) -> Vec<u8> {
        let mut f = ipv6_hdr(ipproto::ROUTING, (routing.len() + 20) as u16);
        f.extend(routing);
        let l4 = f.len();
        f.extend(tcp_hdr(tcpflags::SYN));
        let mut acc = checksum::sum(&f[8..24], 0);
        acc = checksum::sum(&csum_dst, acc);
        acc += u64::from(ipproto::TCP) + 20;
        let c = checksum::compute(&f[l4..], acc);
        f[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
        f
    }

    /// The header's destination (2001:db8::2) and two route addresses.
    const DST: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    const HOP: [u8; 16] = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x77,
    ];
    const FINAL: [u8; 16] = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99,
    ];

    /// Routing header type `kind` with `left` segments left and `addrs` as its address list.
    fn routing(kind: u8, left: u8, addrs: &[[u8; 16]]) -> Vec<u8> {
        let mut r = vec![ipproto::TCP, 2 * addrs.len() as u8, kind, left, 0, 0, 0, 0];
        for a in addrs {
            r.extend(a);
        }
        r
    }

    /// The same five verdicts as tshark's (`tshark -o tcp.check_checksum:TRUE -e
    /// tcp.checksum.status` on these frames as a LINKTYPE_IPV6 capture: good, bad, good, good,
    /// good for the first five cases).
    #[test]
    fn routing_header_names_the_checksum_destination() {
        // Type 2 (mobility), one segment left: the home address is the final destination.
        let r = routing(2, 1, &[FINAL]);
        assert_eq!(
            verified(linktype::IPV6, &routed(&r, FINAL)).csum,
            Checksum::Good
        );
        assert_eq!(
            verified(linktype::IPV6, &routed(&r, DST)).csum,
            Checksum::BadL4
        );
        // Type 0, two segments left: the last address is the final destination.
        let r = routing(0, 2, &[HOP, FINAL]);
        assert_eq!(
            verified(linktype::IPV6, &routed(&r, FINAL)).csum,
            Checksum::Good
        );
        assert_eq!(
            verified(linktype::IPV6, &routed(&r, HOP)).csum,
            Checksum::BadL4
        );
        // Type 4 (segment routing) lists the route in reverse: the first is the final one.
        let r = routing(4, 1, &[FINAL, HOP]);
        assert_eq!(
            verified(linktype::IPV6, &routed(&r, FINAL)).csum,
            Checksum::Good
        );
        // No segments left: the packet is at its final destination, the header's.
        let r = routing(0, 0, &[HOP, FINAL]);
        assert_eq!(
            verified(linktype::IPV6, &routed(&r, DST)).csum,
            Checksum::Good
        );
        // Type 3 (RPL, compressed addresses) is not read: the header's destination.
        let r = routing(3, 1, &[FINAL]);
        assert_eq!(
            verified(linktype::IPV6, &routed(&r, DST)).csum,
            Checksum::Good
        );
        // A routing header with no address (length 0) names none.
        let r = routing(2, 1, &[]);
        assert_eq!(
            verified(linktype::IPV6, &routed(&r, DST)).csum,
            Checksum::Good
        );
        // The flow's key stays the header's destination.
        let f = routed(&routing(2, 1, &[FINAL]), FINAL);
        let p = decode(linktype::IPV6, &f, f.len() as u32).unwrap();
        assert_eq!(p.dst, Addr::v6(&DST));
    }

    #[test]
    fn ipv6_extension_headers() {
        // Hop-by-hop (8 bytes) -> destination options (16 bytes) -> TCP.
        let mut f = ipv6_hdr(ipproto::HOPOPTS, 8 + 16 + 20);
        f.extend([ipproto::DSTOPTS, 0, 1, 4, 0, 0, 0, 0]); // next DSTOPTS, len 0 (8 bytes), PadN
        f.extend([ipproto::TCP, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // len 1 (16 bytes)
        f.extend(tcp_hdr(tcpflags::SYN));
        let p = decode(linktype::IPV6, &f, f.len() as u32).unwrap();
        assert!(p.v6);
        assert_eq!(p.ip_len, 40 + 44);
        assert_eq!(tcp_of(&p).payload_len, 0);
        assert_eq!(p.dst.to_ip(true).to_string(), "2001:db8::2");
    }

    #[test]
    fn ipv6_fragments_and_no_next_header() {
        // Hop-by-hop (unfragmentable), then a first fragment: offset 0, M set.
        let mut f = ipv6_hdr(ipproto::HOPOPTS, 8 + 8 + 12);
        f.extend([ipproto::FRAGMENT, 0, 1, 4, 0, 0, 0, 0]);
        f.extend([ipproto::UDP, 0, 0x00, 0x01, 0, 0, 0, 9]);
        f.extend([0x9c, 0x40, 0x00, 0x35, 0x00, 100, 0, 0, 1, 2, 3, 4]);
        let want = Fragment {
            id: 9,
            offset: 0,
            more: true,
            proto: ipproto::UDP,
            hdr_len: 48,
            len: 12,
            start: 56,
            end: 68,
        };
        let p = decode(linktype::IPV6, &f, f.len() as u32).unwrap();
        assert!(matches!(p.transport, Transport::Fragment(g) if g == want));
        // Non-first: offset 8 bytes, last.
        f[48 + 2..48 + 4].copy_from_slice(&(1u16 << 3).to_be_bytes());
        let p = decode(linktype::IPV6, &f, f.len() as u32).unwrap();
        let want = Fragment {
            offset: 8,
            more: false,
            ..want
        };
        assert!(matches!(p.transport, Transport::Fragment(g) if g == want));
        // Atomic fragment: offset 0, M clear: a whole packet.
        f[48 + 2..48 + 4].copy_from_slice(&0u16.to_be_bytes());
        let p = decode(linktype::IPV6, &f, f.len() as u32).unwrap();
        assert!(matches!(p.transport, Transport::Udp(u) if u.payload_len == 4));
        // A Fragment header cut by the end of the payload.
        let mut g = ipv6_hdr(ipproto::FRAGMENT, 4);
        g.extend([ipproto::UDP, 0, 0, 1]);
        assert_eq!(
            decode(linktype::IPV6, &g, g.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv6Ext, Reason::TooShort)
        );
        let f = ipv6_hdr(59, 0);
        assert_eq!(
            decode(linktype::IPV6, &f, f.len() as u32).unwrap_err(),
            Skip::IpProto(59)
        );
    }

    #[test]
    fn ipv6_ext_header_past_payload() {
        let mut f = ipv6_hdr(ipproto::HOPOPTS, 8);
        f.extend([ipproto::TCP, 10, 0, 0, 0, 0, 0, 0]); // claims 88 bytes in an 8-byte payload
        assert_eq!(
            decode(linktype::IPV6, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv6Ext, Reason::BadHeaderLength)
        );
    }
}
