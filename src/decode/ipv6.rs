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
    let (next, pos, frag) = chain(frame, off, field::LEN, h[field::NEXT_HEADER], total)?;
    let l4 = h.get(pos..h.len().min(total)).unwrap_or(&[]);
    Ok(Ip {
        v6: true,
        src: Addr::v6(&h[field::SRC]),
        dst: Addr::v6(&h[field::DST]),
        proto: next,
        ip_len: total as u32,
        l4_len: (total - pos) as u32,
        l4,
        frag,
        bad_header: false,
    })
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
) -> Result<(u8, usize, Option<FragHdr>), Skip> {
    let mut headers = 0;
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
                    return Ok((next, pos, Some(frag)));
                }
            }
            _ => break,
        }
        // An extension header that runs past the payload is broken.
        if pos > total {
            return Err(Skip::Malformed(Layer::Ipv6Ext, Reason::BadHeaderLength));
        }
    }
    Ok((next, pos, None))
}

/// Follows the extension headers at the start of a reassembled datagram's fragmentable part
/// (`total` bytes, the first header of type `next`): the transport protocol and where it starts.
/// A second Fragment header (other than an atomic one) is malformed: a datagram is fragmented once.
pub(super) fn chain_reassembled(
    frame: &Frame<'_>,
    next: u8,
    total: usize,
) -> Result<(u8, usize), Skip> {
    match chain(frame, 0, 0, next, total)? {
        (next, pos, None) => Ok((next, pos)),
        (_, _, Some(_)) => Err(Skip::Malformed(Layer::Ipv6Ext, Reason::TooManyHeaders)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

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
