//! Decode stage: turns one captured frame into the few header fields the flow stage needs.
//!
//! Zero-copy and allocation-free: every header is read in place from the frame's bytes through a
//! small checked view (`mod field` byte ranges, as in smoltcp's `wire` module), and decoding never
//! panics on any input: every index is checked against the captured length first.
//!
//! A frame either decodes to a [`Packet`] (TCP, UDP or ICMP over IPv4/IPv6), or to a [`Skip`] that
//! says why it is not part of a TCP/UDP flow: a non-IP frame, another IP protocol, a non-first
//! fragment, headers cut by the snaplen, or a header that is malformed (with layer and reason).
//! The capture statistics count every [`Skip`], so nothing is dropped silently.
//!
//! One file per layer, as in smoltcp's `wire` module: each holds its header's `mod field` byte
//! ranges (one doc line per field, with its unit), the code that reads it in place, and its tests.
//! [`linktype`] is the registry of link types that picks the first layer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub mod checksum;
mod ethernet;
mod icmp;
mod ip;
mod ipv4;
mod ipv6;
pub mod linktype;
mod mpls;
mod null;
mod pppoe;
mod raw;
mod sll;
mod tcp;
#[cfg(test)]
mod testutil;
mod udp;

pub use checksum::{Checksum, ChecksumMode};
pub use ethernet::{MAX_VLANS, VlanStack, ethertype};
use linktype::Link;
pub use tcp::tcpflags;

/// IP protocol numbers this decoder follows.
pub mod ipproto {
    pub const HOPOPTS: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const DSTOPTS: u8 = 60;
}

/// An IP address kept as 16 bytes (IPv4 in the first four) plus the version, so that it can sit in
/// a hash key without allocation or enum padding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr {
    /// Address bytes in network order; IPv4 uses bytes 0..4 and leaves the rest zero.
    pub bytes: [u8; 16],
}

impl Addr {
    pub fn v4(b: &[u8]) -> Addr {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&b[..4]);
        Addr { bytes }
    }
    pub fn v6(b: &[u8]) -> Addr {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&b[..16]);
        Addr { bytes }
    }
    /// The standard library's form (needs the IP version, which the flow key carries).
    pub fn to_ip(&self, v6: bool) -> IpAddr {
        if v6 {
            IpAddr::V6(Ipv6Addr::from(self.bytes))
        } else {
            IpAddr::V4(Ipv4Addr::new(
                self.bytes[0],
                self.bytes[1],
                self.bytes[2],
                self.bytes[3],
            ))
        }
    }
    /// The address bytes on the wire: 4 for IPv4, 16 for IPv6.
    pub fn wire(&self, v6: bool) -> &[u8] {
        if v6 { &self.bytes } else { &self.bytes[..4] }
    }
}

/// A decoded TCP, UDP or ICMP packet: what the flow stage reads.
#[derive(Debug, Clone, Copy)]
pub struct Packet {
    /// VLAN tags of the frame, outer first.
    pub vlan: VlanStack,
    /// IPv6 (true) or IPv4.
    pub v6: bool,
    pub src: Addr,
    pub dst: Addr,
    /// IP bytes of the packet: the IPv4 total length, or the IPv6 payload length + 40.
    pub ip_len: u32,
    pub transport: Transport,
    /// What checksum verification found ([`checksum`]).
    pub csum: Checksum,
}

/// The transport layer of a [`Packet`].
#[derive(Debug, Clone, Copy)]
pub enum Transport {
    Tcp(Tcp),
    Udp(Udp),
    Icmp(Icmp),
}

/// The TCP header fields the flow stage uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tcp {
    pub src_port: u16,
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (meaningful when the ACK flag is set).
    pub ack: u32,
    /// Flag bits, see [`tcpflags`].
    pub flags: u8,
    /// Window field, unscaled.
    pub window: u16,
    /// Payload bytes: IP payload length minus the TCP header length (counted from the IP length
    /// fields, so a snaplen-cut frame still counts its full payload).
    pub payload_len: u32,
}

/// The UDP header fields the flow stage uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp {
    pub src_port: u16,
    pub dst_port: u16,
    /// Payload bytes: IP payload length minus the 8-byte UDP header.
    pub payload_len: u32,
}

/// An ICMP or ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmp {
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// For errors (destination unreachable, time exceeded): the TCP/UDP packet they quote.
    pub quoted: Option<Quoted>,
}

/// The 5-tuple of the packet quoted inside an ICMP error, as that packet was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    pub v6: bool,
    pub src: Addr,
    pub dst: Addr,
    pub proto: u8,
    pub src_port: u16,
    pub dst_port: u16,
}

/// Where in a frame decoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Ethernet,
    Vlan,
    Mpls,
    Pppoe,
    LinuxSll,
    LinuxSll2,
    Null,
    RawIp,
    Ipv4,
    Ipv6,
    Ipv6Ext,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
}

impl Layer {
    pub const ALL: [Layer; 15] = [
        Layer::Ethernet,
        Layer::Vlan,
        Layer::Mpls,
        Layer::Pppoe,
        Layer::LinuxSll,
        Layer::LinuxSll2,
        Layer::Null,
        Layer::RawIp,
        Layer::Ipv4,
        Layer::Ipv6,
        Layer::Ipv6Ext,
        Layer::Tcp,
        Layer::Udp,
        Layer::Icmp,
        Layer::Icmpv6,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Layer::Ethernet => "ethernet",
            Layer::Vlan => "vlan",
            Layer::Mpls => "mpls",
            Layer::Pppoe => "pppoe",
            Layer::LinuxSll => "linux-sll",
            Layer::LinuxSll2 => "linux-sll2",
            Layer::Null => "null",
            Layer::RawIp => "raw-ip",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Ext => "ipv6-ext",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Icmp => "icmp",
            Layer::Icmpv6 => "icmpv6",
        }
    }
}

/// Why a header could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The frame (not the snaplen) ends before the header does.
    TooShort,
    /// The IP version nibble is not the one this layer carries.
    BadVersion,
    /// A header-length field is smaller than the fixed header or runs past the packet.
    BadHeaderLength,
    /// The IP length field is smaller than the header or larger than the frame.
    BadTotalLength,
    /// More extension headers or labels than the decoder follows.
    TooManyHeaders,
    /// The label stack's payload is neither IPv4, IPv6 nor an Ethernet pseudowire.
    UnknownPayload,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::TooShort,
        Reason::BadVersion,
        Reason::BadHeaderLength,
        Reason::BadTotalLength,
        Reason::TooManyHeaders,
        Reason::UnknownPayload,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Reason::TooShort => "frame too short",
            Reason::BadVersion => "bad version",
            Reason::BadHeaderLength => "bad header length",
            Reason::BadTotalLength => "bad length field",
            Reason::TooManyHeaders => "too many headers",
            Reason::UnknownPayload => "unknown payload",
        }
    }
}

/// Why a frame is not part of a TCP/UDP flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The capture's link type is not one flowaudit decodes.
    UnsupportedLinkType(u32),
    /// A non-IP frame; the EtherType where decoding stopped (below 0x0600: an 802.3/LLC frame).
    NotIp(u16),
    /// A PPPoE session frame whose PPP protocol is not IP (LCP, IPCP, ...).
    NotIpPpp(u16),
    /// A loopback (NULL/LOOP) frame whose address family is not IP.
    NotIpFamily(u32),
    /// An IP packet of another protocol (GRE, ESP, SCTP, ...), or IPv6 "no next header" (59).
    IpProto(u8),
    /// A non-first IP fragment: it carries no ports.
    Fragment,
    /// The snaplen cut the frame inside this layer's header.
    Truncated(Layer),
    /// This layer's header is malformed.
    Malformed(Layer, Reason),
}

/// A byte range of a header.
type Field = std::ops::Range<usize>;

#[inline]
fn be16(b: &[u8], r: Field) -> u16 {
    u16::from_be_bytes([b[r.start], b[r.start + 1]])
}

#[inline]
fn be32(b: &[u8], r: Field) -> u32 {
    u32::from_be_bytes([b[r.start], b[r.start + 1], b[r.start + 2], b[r.start + 3]])
}

/// A frame being decoded: its captured bytes and whether the snaplen cut it.
struct Frame<'a> {
    data: &'a [u8],
    /// True when fewer bytes were captured than the frame had on the wire.
    cut: bool,
    /// Verify checksums ([`checksum`]).
    verify: bool,
}

impl<'a> Frame<'a> {
    /// The bytes from `off` on, checked to hold at least `need` bytes of `layer`'s header.
    #[inline]
    fn header(&self, off: usize, need: usize, layer: Layer) -> Result<&'a [u8], Skip> {
        match self.data.get(off..) {
            Some(rest) if rest.len() >= need => Ok(rest),
            // Missing bytes are the snaplen's doing when the frame was longer on the wire.
            _ if self.cut => Err(Skip::Truncated(layer)),
            _ => Err(Skip::Malformed(layer, Reason::TooShort)),
        }
    }
}

/// Decodes one frame of link type `linktype` (`wire_len`: its length on the wire).
///
/// ```
/// use flowaudit::decode::{decode, linktype, Layer, Skip, Transport};
/// // Raw IPv4: 10.0.0.1:40000 -> 10.0.0.2:80, a SYN with no payload.
/// let frame = [
///     0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4
///     0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0, // TCP
/// ];
/// let p = decode(linktype::RAW, &frame, 40).unwrap();
/// assert!(matches!(p.transport, Transport::Tcp(t) if t.dst_port == 80 && t.payload_len == 0));
/// // The same frame cut by a 30-byte snaplen inside the TCP header.
/// assert_eq!(decode(linktype::RAW, &frame[..30], 40).unwrap_err(), Skip::Truncated(Layer::Tcp));
/// ```
pub fn decode(linktype: u32, data: &[u8], wire_len: u32) -> Result<Packet, Skip> {
    decode_with(linktype, data, wire_len, false)
}

/// [`decode`], verifying the IPv4 header and TCP/UDP checksums when `verify` is set
/// ([`Packet::csum`]).
pub fn decode_with(
    linktype: u32,
    data: &[u8],
    wire_len: u32,
    verify: bool,
) -> Result<Packet, Skip> {
    let frame = Frame {
        data,
        cut: (data.len() as u64) < wire_len as u64,
        verify,
    };
    // Bytes of the frame on the wire after offset `off`: bounds the IP length fields.
    let wire = (wire_len as usize).max(data.len());
    match linktype::link(linktype) {
        Some(Link::Ethernet) => ethernet::ethernet(&frame, wire),
        Some(Link::LinuxSll) => sll::sll(&frame, wire),
        Some(Link::LinuxSll2) => sll::sll2(&frame, wire),
        Some(Link::Null) => null::null(&frame, wire, false),
        Some(Link::Loop) => null::null(&frame, wire, true),
        Some(Link::RawIp) => raw::raw(&frame, wire),
        Some(Link::Ipv4) => ipv4::ipv4(&frame, wire, 0, VlanStack::default()),
        Some(Link::Ipv6) => ipv6::ipv6(&frame, wire, 0, VlanStack::default()),
        None => Err(Skip::UnsupportedLinkType(linktype)),
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn snaplen_cut_payload_still_counts() {
        // 1000 bytes of payload on the wire, 54 bytes captured: headers complete.
        let f = eth_tcp(1000);
        let p = decode(linktype::ETHERNET, &f[..54], f.len() as u32).unwrap();
        assert_eq!(p.ip_len, 1040);
        assert_eq!(tcp_of(&p).payload_len, 1000);
    }

    #[test]
    fn snaplen_cut_in_each_header() {
        let f = eth_tcp(0);
        let wire = f.len() as u32;
        // Cut inside Ethernet, IPv4 and TCP headers.
        assert_eq!(
            decode(linktype::ETHERNET, &f[..10], wire).unwrap_err(),
            Skip::Truncated(Layer::Ethernet)
        );
        assert_eq!(
            decode(linktype::ETHERNET, &f[..24], wire).unwrap_err(),
            Skip::Truncated(Layer::Ipv4)
        );
        assert_eq!(
            decode(linktype::ETHERNET, &f[..40], wire).unwrap_err(),
            Skip::Truncated(Layer::Tcp)
        );
    }

    #[test]
    fn short_frame_is_malformed_not_truncated() {
        // Captured in full (wire length = captured length) but shorter than its headers.
        let f = eth_tcp(0);
        assert_eq!(
            decode(linktype::ETHERNET, &f[..24], 24).unwrap_err(),
            Skip::Malformed(Layer::Ipv4, Reason::TooShort)
        );
    }

    #[test]
    fn every_truncation_of_valid_frames_is_handled() {
        // Every prefix of a valid frame, for every link type, decodes or is a Skip: never a panic,
        // and a prefix cut by the snaplen never claims to be malformed-short.
        let f = eth_tcp(20);
        for n in 0..f.len() {
            if let Err(Skip::Malformed(_, Reason::TooShort)) =
                decode(linktype::ETHERNET, &f[..n], f.len() as u32)
            {
                panic!("prefix {n} reported as a short frame");
            }
        }
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        const LINKTYPES: [u32; 11] = [
            linktype::NULL,
            linktype::ETHERNET,
            linktype::DLT_RAW,
            linktype::DLT_RAW_OPENBSD,
            linktype::RAW,
            linktype::LOOP,
            linktype::LINUX_SLL,
            linktype::IPV4,
            linktype::IPV6,
            linktype::LINUX_SLL2,
            999,
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]
            /// Arbitrary bytes for every link type: decoding never panics.
            #[test]
            fn never_panics(lt in 0usize..LINKTYPES.len(), data in proptest::collection::vec(any::<u8>(), 0..200), extra in 0u32..3000) {
                let _ = decode(LINKTYPES[lt], &data, data.len() as u32 + extra);
                let _ = decode(LINKTYPES[lt], &data, 0);
                // Checksum verification reads every byte: it must not panic either.
                let _ = decode_with(LINKTYPES[lt], &data, data.len() as u32 + extra, true);
                let _ = decode_with(LINKTYPES[lt], &data, data.len() as u32, true);
            }

            /// Arbitrary bytes behind valid link and IP headers reach the deeper layers.
            #[test]
            fn never_panics_behind_valid_headers(tail in proptest::collection::vec(any::<u8>(), 0..120), proto in prop::sample::select(vec![0u8, 1, 6, 17, 43, 44, 51, 58, 60])) {
                let mut f = vec![0x60, 0, 0, 0];
                f.extend((tail.len() as u16).to_be_bytes());
                f.extend([proto, 64]);
                f.extend([0u8; 32]);
                f.extend(&tail);
                let _ = decode(linktype::IPV6, &f, f.len() as u32);
                let _ = decode_with(linktype::IPV6, &f, f.len() as u32, true);
                let mut g = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
                let total = (20 + tail.len()) as u16;
                g[2..4].copy_from_slice(&total.to_be_bytes());
                g.extend(&tail);
                let _ = decode(linktype::IPV4, &g, g.len() as u32);
                let _ = decode_with(linktype::IPV4, &g, g.len() as u32, true);
            }
        }
    }
}
