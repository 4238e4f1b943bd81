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

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Link-type numbers (the LINKTYPE_* values of pcap/pcapng headers; libpcap hands back some of
/// them as platform DLT_* values, which are accepted too).
pub mod linktype {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II / 802.3.
    pub const ETHERNET: u32 = 1;
    /// Raw IP, DLT_RAW on most platforms.
    pub const DLT_RAW: u32 = 12;
    /// Raw IP, DLT_RAW on OpenBSD.
    pub const DLT_RAW_OPENBSD: u32 = 14;
    /// Raw IP, the LINKTYPE_RAW value stored in files.
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1 (SLL).
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4 only.
    pub const IPV4: u32 = 228;
    /// Raw IPv6 only.
    pub const IPV6: u32 = 229;
    /// Linux cooked capture v2 (SLL2).
    pub const LINUX_SLL2: u32 = 276;

    /// True when flowaudit can decode this link type.
    pub fn is_supported(lt: u32) -> bool {
        matches!(
            lt,
            NULL | ETHERNET
                | DLT_RAW
                | DLT_RAW_OPENBSD
                | RAW
                | LOOP
                | LINUX_SLL
                | IPV4
                | IPV6
                | LINUX_SLL2
        )
    }

    /// A short name for statistics and messages.
    pub fn name(lt: u32) -> &'static str {
        match lt {
            NULL => "null",
            ETHERNET => "ethernet",
            DLT_RAW | DLT_RAW_OPENBSD | RAW => "raw-ip",
            LOOP => "loop",
            LINUX_SLL => "linux-sll",
            IPV4 => "ipv4",
            IPV6 => "ipv6",
            LINUX_SLL2 => "linux-sll2",
            _ => "unsupported",
        }
    }
}

/// EtherType values this decoder follows.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86dd;
    pub const MPLS_UNICAST: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    pub const PPPOE_DISCOVERY: u16 = 0x8863;
    pub const PPPOE_SESSION: u16 = 0x8864;
    pub const QINQ: u16 = 0x88a8;
    pub const LLDP: u16 = 0x88cc;
    /// Pre-standard QinQ tag types still seen on switches.
    pub const QINQ_OLD1: u16 = 0x9100;
    pub const QINQ_OLD2: u16 = 0x9200;
    /// Values below this are 802.3 length fields (the frame carries LLC, not an EtherType).
    pub const MIN_ETHERTYPE: u16 = 0x0600;
}

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

/// TCP flag bits (byte 13 of the TCP header).
pub mod tcpflags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// Deepest VLAN tag stack kept in a flow key; deeper tags are decoded and skipped.
pub const MAX_VLANS: usize = 8;
/// Most IPv6 extension headers followed before giving up (bounds the work per frame).
const MAX_IPV6_EXT: usize = 16;
/// Most MPLS labels followed before giving up.
const MAX_MPLS_LABELS: usize = 16;

/// The VLAN ids of a frame, outer tag first.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VlanStack {
    len: u8,
    ids: [u16; MAX_VLANS],
}

impl VlanStack {
    /// Appends an inner tag; tags past [`MAX_VLANS`] are not kept.
    pub fn push(&mut self, id: u16) {
        if (self.len as usize) < MAX_VLANS {
            self.ids[self.len as usize] = id;
            self.len += 1;
        }
    }
    /// The ids, outer first.
    pub fn ids(&self) -> &[u16] {
        &self.ids[..self.len as usize]
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for VlanStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
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

/// The byte ranges of each header, with one line per field.
mod field {
    pub type Field = std::ops::Range<usize>;

    pub mod eth {
        use super::Field;
        /// Destination MAC address.
        pub const _DST: Field = 0..6;
        /// Source MAC address.
        pub const _SRC: Field = 6..12;
        /// EtherType, or an 802.3 length below 0x0600.
        pub const ETHERTYPE: Field = 12..14;
        pub const LEN: usize = 14;
    }
    pub mod vlan {
        use super::Field;
        /// Priority (3 bits), drop eligible (1 bit), VLAN id (12 bits).
        pub const TCI: Field = 0..2;
        /// EtherType of what follows the tag.
        pub const ETHERTYPE: Field = 2..4;
        pub const LEN: usize = 4;
    }
    pub mod mpls {
        /// Label (20 bits), traffic class (3), bottom of stack (1), TTL (8): 4 bytes.
        pub const LEN: usize = 4;
        /// Byte holding the bottom-of-stack bit (its lowest bit).
        pub const BOS_BYTE: usize = 2;
    }
    pub mod pppoe {
        use super::Field;
        /// Version (4 bits) and type (4 bits), code, session id (2 bytes), payload length (2 bytes),
        /// then the 2-byte PPP protocol number.
        pub const PPP_PROTO: Field = 6..8;
        pub const LEN: usize = 8;
    }
    pub mod sll {
        use super::Field;
        /// Packet type, ARPHRD type, link address length, link address (8 bytes), then:
        /// protocol (an EtherType for Ethernet-like devices).
        pub const PROTOCOL: Field = 14..16;
        pub const LEN: usize = 16;
    }
    pub mod sll2 {
        use super::Field;
        /// Protocol (an EtherType), then reserved, interface index, ARPHRD type, packet type,
        /// link address length and link address (8 bytes).
        pub const PROTOCOL: Field = 0..2;
        pub const LEN: usize = 20;
    }
    pub mod null {
        use super::Field;
        /// Address family (AF_INET, AF_INET6), 4 bytes, byte order depends on the link type.
        pub const FAMILY: Field = 0..4;
        pub const LEN: usize = FAMILY.end;
    }
    pub mod ipv4 {
        use super::Field;
        /// Version (4 bits) and header length in 32-bit words (4 bits).
        pub const VER_IHL: usize = 0;
        /// Total length of the packet, header included, bytes.
        pub const LENGTH: Field = 2..4;
        /// Flags (3 bits) and fragment offset in 8-byte units (13 bits).
        pub const FLG_OFF: Field = 6..8;
        /// Protocol of the payload.
        pub const PROTOCOL: usize = 9;
        /// Source address.
        pub const SRC: Field = 12..16;
        /// Destination address.
        pub const DST: Field = 16..20;
        pub const MIN_LEN: usize = 20;
    }
    pub mod ipv6 {
        use super::Field;
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
        pub const LEN: usize = 40;
    }
    pub mod ipv6_ext {
        /// Next header.
        pub const NEXT_HEADER: usize = 0;
        /// Header length: in 8-byte units not counting the first 8 (AH: 4-byte units minus 2).
        pub const LENGTH: usize = 1;
        /// Fragment header: offset in 8-byte units (13 bits), 2 reserved bits, more-fragments bit.
        pub const FRAG_OFF: super::Field = 2..4;
        pub const FRAG_LEN: usize = 8;
        pub const MIN_LEN: usize = 8;
    }
    pub mod tcp {
        use super::Field;
        pub const SRC_PORT: Field = 0..2;
        pub const DST_PORT: Field = 2..4;
        /// Sequence number.
        pub const SEQ: Field = 4..8;
        /// Acknowledgment number.
        pub const ACK: Field = 8..12;
        /// Data offset: header length in 32-bit words (high 4 bits).
        pub const DATA_OFF: usize = 12;
        /// Flags: CWR ECE URG ACK PSH RST SYN FIN.
        pub const FLAGS: usize = 13;
        /// Receive window, unscaled.
        pub const WINDOW: Field = 14..16;
        pub const MIN_LEN: usize = 20;
    }
    pub mod udp {
        use super::Field;
        pub const SRC_PORT: Field = 0..2;
        pub const DST_PORT: Field = 2..4;
        /// Length of header and payload, bytes.
        pub const LENGTH: Field = 4..6;
        pub const LEN: usize = 8;
    }
    pub mod icmp {
        /// Type.
        pub const TYPE: usize = 0;
        /// Code.
        pub const CODE: usize = 1;
        /// Type, code, checksum and 4 bytes that depend on the type; errors quote a packet after them.
        pub const LEN: usize = 8;
    }
}

#[inline]
fn be16(b: &[u8], r: field::Field) -> u16 {
    u16::from_be_bytes([b[r.start], b[r.start + 1]])
}

#[inline]
fn be32(b: &[u8], r: field::Field) -> u32 {
    u32::from_be_bytes([b[r.start], b[r.start + 1], b[r.start + 2], b[r.start + 3]])
}

/// A frame being decoded: its captured bytes and whether the snaplen cut it.
struct Frame<'a> {
    data: &'a [u8],
    /// True when fewer bytes were captured than the frame had on the wire.
    cut: bool,
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
    let frame = Frame {
        data,
        cut: (data.len() as u64) < wire_len as u64,
    };
    // Bytes of the frame on the wire after offset `off`: bounds the IP length fields.
    let wire = (wire_len as usize).max(data.len());
    let mut vlan = VlanStack::default();
    match linktype {
        linktype::ETHERNET => {
            let h = frame.header(0, field::eth::LEN, Layer::Ethernet)?;
            let et = be16(h, field::eth::ETHERTYPE);
            ether_payload(&frame, wire, field::eth::LEN, et, &mut vlan)
        }
        linktype::LINUX_SLL => {
            let h = frame.header(0, field::sll::LEN, Layer::LinuxSll)?;
            let et = be16(h, field::sll::PROTOCOL);
            ether_payload(&frame, wire, field::sll::LEN, et, &mut vlan)
        }
        linktype::LINUX_SLL2 => {
            let h = frame.header(0, field::sll2::LEN, Layer::LinuxSll2)?;
            let et = be16(h, field::sll2::PROTOCOL);
            ether_payload(&frame, wire, field::sll2::LEN, et, &mut vlan)
        }
        linktype::NULL | linktype::LOOP => {
            let h = frame.header(0, field::null::LEN, Layer::Null)?;
            let raw = [h[0], h[1], h[2], h[3]];
            let family = if linktype == linktype::LOOP {
                // LOOP is always network byte order.
                u32::from_be_bytes(raw)
            } else {
                // NULL is the capturing host's order: families are small numbers, so a value with
                // its high half set was written by a host of the other byte order.
                let le = u32::from_le_bytes(raw);
                if le > 0xffff { le.swap_bytes() } else { le }
            };
            match family {
                // AF_INET everywhere.
                2 => ipv4(&frame, wire, field::null::LEN, vlan),
                // AF_INET6: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30.
                10 | 24 | 28 | 30 => ipv6(&frame, wire, field::null::LEN, vlan),
                other => Err(Skip::NotIpFamily(other)),
            }
        }
        linktype::DLT_RAW | linktype::DLT_RAW_OPENBSD | linktype::RAW => {
            let h = frame.header(0, 1, Layer::RawIp)?;
            // Raw IP carries no type field: the version nibble tells.
            match h[0] >> 4 {
                4 => ipv4(&frame, wire, 0, vlan),
                6 => ipv6(&frame, wire, 0, vlan),
                _ => Err(Skip::Malformed(Layer::RawIp, Reason::BadVersion)),
            }
        }
        linktype::IPV4 => ipv4(&frame, wire, 0, vlan),
        linktype::IPV6 => ipv6(&frame, wire, 0, vlan),
        other => Err(Skip::UnsupportedLinkType(other)),
    }
}

/// Follows an EtherType chain (VLAN tags, MPLS labels, PPPoE) from `off` to the IP header.
fn ether_payload(
    frame: &Frame<'_>,
    wire: usize,
    mut off: usize,
    mut et: u16,
    vlan: &mut VlanStack,
) -> Result<Packet, Skip> {
    loop {
        match et {
            ethertype::IPV4 => return ipv4(frame, wire, off, *vlan),
            ethertype::IPV6 => return ipv6(frame, wire, off, *vlan),
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD1 | ethertype::QINQ_OLD2 => {
                // Tags of any depth are followed; the flow key keeps the first MAX_VLANS.
                let h = frame.header(off, field::vlan::LEN, Layer::Vlan)?;
                vlan.push(be16(h, field::vlan::TCI) & 0x0fff);
                et = be16(h, field::vlan::ETHERTYPE);
                off += field::vlan::LEN;
            }
            ethertype::MPLS_UNICAST | ethertype::MPLS_MULTICAST => {
                let mut labels = 0;
                loop {
                    let h = frame.header(off, field::mpls::LEN, Layer::Mpls)?;
                    off += field::mpls::LEN;
                    labels += 1;
                    if h[field::mpls::BOS_BYTE] & 1 == 1 {
                        break;
                    }
                    if labels >= MAX_MPLS_LABELS {
                        return Err(Skip::Malformed(Layer::Mpls, Reason::TooManyHeaders));
                    }
                }
                // MPLS says nothing about its payload: the first nibble tells IPv4 (4), IPv6 (6),
                // or an Ethernet pseudowire behind a zero control word (0).
                let h = frame.header(off, 1, Layer::Mpls)?;
                match h[0] >> 4 {
                    4 => return ipv4(frame, wire, off, *vlan),
                    6 => return ipv6(frame, wire, off, *vlan),
                    0 => {
                        let inner = off + 4;
                        let e = frame.header(inner, field::eth::LEN, Layer::Ethernet)?;
                        et = be16(e, field::eth::ETHERTYPE);
                        off = inner + field::eth::LEN;
                    }
                    _ => return Err(Skip::Malformed(Layer::Mpls, Reason::UnknownPayload)),
                }
            }
            ethertype::PPPOE_SESSION => {
                let h = frame.header(off, field::pppoe::LEN, Layer::Pppoe)?;
                let proto = be16(h, field::pppoe::PPP_PROTO);
                off += field::pppoe::LEN;
                match proto {
                    0x0021 => return ipv4(frame, wire, off, *vlan),
                    0x0057 => return ipv6(frame, wire, off, *vlan),
                    other => return Err(Skip::NotIpPpp(other)),
                }
            }
            other => return Err(Skip::NotIp(other)),
        }
    }
}

/// The network-layer facts shared by the outer packet and a quoted one.
struct Ip<'a> {
    v6: bool,
    src: Addr,
    dst: Addr,
    proto: u8,
    /// IP bytes of the packet (IPv4 total length, IPv6 payload length + 40).
    ip_len: u32,
    /// Transport bytes from the IP length fields (what follows the last IP header).
    l4_len: u32,
    /// The captured transport bytes.
    l4: &'a [u8],
}

fn ipv4(frame: &Frame<'_>, wire: usize, off: usize, vlan: VlanStack) -> Result<Packet, Skip> {
    let ip = parse_ipv4(frame, wire, off)?;
    transport(frame, ip, vlan)
}

fn ipv6(frame: &Frame<'_>, wire: usize, off: usize, vlan: VlanStack) -> Result<Packet, Skip> {
    let ip = parse_ipv6(frame, wire, off)?;
    transport(frame, ip, vlan)
}

fn parse_ipv4<'a>(frame: &Frame<'a>, wire: usize, off: usize) -> Result<Ip<'a>, Skip> {
    let h = frame.header(off, field::ipv4::MIN_LEN, Layer::Ipv4)?;
    if h[field::ipv4::VER_IHL] >> 4 != 4 {
        return Err(Skip::Malformed(Layer::Ipv4, Reason::BadVersion));
    }
    let ihl = ((h[field::ipv4::VER_IHL] & 0x0f) as usize) * 4;
    if ihl < field::ipv4::MIN_LEN {
        return Err(Skip::Malformed(Layer::Ipv4, Reason::BadHeaderLength));
    }
    let h = frame.header(off, ihl, Layer::Ipv4)?;
    let on_wire = wire.saturating_sub(off);
    let total = match be16(h, field::ipv4::LENGTH) as usize {
        // A zero total length is what segmentation offload leaves in captures taken on the
        // sending host: the frame's own length is the packet's.
        0 => on_wire,
        t if t < ihl => return Err(Skip::Malformed(Layer::Ipv4, Reason::BadTotalLength)),
        // A packet cannot be longer than the frame that carried it (shorter is fine: padding).
        t if t > on_wire => return Err(Skip::Malformed(Layer::Ipv4, Reason::BadTotalLength)),
        t => t,
    };
    // Fragments after the first carry no transport header.
    if be16(h, field::ipv4::FLG_OFF) & 0x1fff != 0 {
        return Err(Skip::Fragment);
    }
    let captured = &h[ihl..h.len().min(total)];
    Ok(Ip {
        v6: false,
        src: Addr::v4(&h[field::ipv4::SRC]),
        dst: Addr::v4(&h[field::ipv4::DST]),
        proto: h[field::ipv4::PROTOCOL],
        ip_len: total as u32,
        l4_len: (total - ihl) as u32,
        l4: captured,
    })
}

fn parse_ipv6<'a>(frame: &Frame<'a>, wire: usize, off: usize) -> Result<Ip<'a>, Skip> {
    let h = frame.header(off, field::ipv6::LEN, Layer::Ipv6)?;
    if h[field::ipv6::VER] >> 4 != 6 {
        return Err(Skip::Malformed(Layer::Ipv6, Reason::BadVersion));
    }
    let on_wire = wire.saturating_sub(off);
    let payload = match be16(h, field::ipv6::PAYLOAD_LEN) as usize {
        // Zero: a jumbogram or segmentation offload; the frame's own length is the packet's.
        0 => on_wire.saturating_sub(field::ipv6::LEN),
        p if field::ipv6::LEN + p > on_wire => {
            return Err(Skip::Malformed(Layer::Ipv6, Reason::BadTotalLength));
        }
        p => p,
    };
    let total = field::ipv6::LEN + payload;
    let mut next = h[field::ipv6::NEXT_HEADER];
    let mut pos = field::ipv6::LEN;
    let mut headers = 0;
    loop {
        match next {
            ipproto::HOPOPTS | ipproto::ROUTING | ipproto::DSTOPTS | ipproto::AH => {
                headers += 1;
                if headers > MAX_IPV6_EXT {
                    return Err(Skip::Malformed(Layer::Ipv6Ext, Reason::TooManyHeaders));
                }
                let e = frame.header(off + pos, 2, Layer::Ipv6Ext)?;
                let len = if next == ipproto::AH {
                    (e[field::ipv6_ext::LENGTH] as usize + 2) * 4
                } else {
                    (e[field::ipv6_ext::LENGTH] as usize + 1) * field::ipv6_ext::MIN_LEN
                };
                next = e[field::ipv6_ext::NEXT_HEADER];
                pos += len;
            }
            ipproto::FRAGMENT => {
                headers += 1;
                if headers > MAX_IPV6_EXT {
                    return Err(Skip::Malformed(Layer::Ipv6Ext, Reason::TooManyHeaders));
                }
                let e = frame.header(off + pos, field::ipv6_ext::FRAG_LEN, Layer::Ipv6Ext)?;
                // Fragments after the first carry no transport header.
                if be16(e, field::ipv6_ext::FRAG_OFF) >> 3 != 0 {
                    return Err(Skip::Fragment);
                }
                next = e[field::ipv6_ext::NEXT_HEADER];
                pos += field::ipv6_ext::FRAG_LEN;
            }
            _ => break,
        }
        // An extension header that runs past the payload is broken.
        if pos > total {
            return Err(Skip::Malformed(Layer::Ipv6Ext, Reason::BadHeaderLength));
        }
    }
    let l4 = h.get(pos..h.len().min(total)).unwrap_or(&[]);
    Ok(Ip {
        v6: true,
        src: Addr::v6(&h[field::ipv6::SRC]),
        dst: Addr::v6(&h[field::ipv6::DST]),
        proto: next,
        ip_len: total as u32,
        l4_len: (total - pos) as u32,
        l4,
    })
}

/// Decodes the transport header of `ip`.
fn transport(frame: &Frame<'_>, ip: Ip<'_>, vlan: VlanStack) -> Result<Packet, Skip> {
    // The transport header is checked against the captured bytes the IP layer left.
    let sub = Frame {
        data: ip.l4,
        cut: frame.cut && (ip.l4.len() as u32) < ip.l4_len,
    };
    let transport = match ip.proto {
        ipproto::TCP => {
            let h = sub.header(0, field::tcp::MIN_LEN, Layer::Tcp)?;
            let doff = ((h[field::tcp::DATA_OFF] >> 4) as u32) * 4;
            // The data offset must cover the fixed header and fit in the segment.
            if doff < field::tcp::MIN_LEN as u32 || doff > ip.l4_len {
                return Err(Skip::Malformed(Layer::Tcp, Reason::BadHeaderLength));
            }
            Transport::Tcp(Tcp {
                src_port: be16(h, field::tcp::SRC_PORT),
                dst_port: be16(h, field::tcp::DST_PORT),
                seq: be32(h, field::tcp::SEQ),
                ack: be32(h, field::tcp::ACK),
                flags: h[field::tcp::FLAGS],
                window: be16(h, field::tcp::WINDOW),
                payload_len: ip.l4_len - doff,
            })
        }
        ipproto::UDP => {
            let h = sub.header(0, field::udp::LEN, Layer::Udp)?;
            // The UDP length covers its own header; the payload is counted from the IP length, so
            // a first fragment counts what it carries.
            if (be16(h, field::udp::LENGTH) as usize) < field::udp::LEN
                || ip.l4_len < field::udp::LEN as u32
            {
                return Err(Skip::Malformed(Layer::Udp, Reason::BadTotalLength));
            }
            Transport::Udp(Udp {
                src_port: be16(h, field::udp::SRC_PORT),
                dst_port: be16(h, field::udp::DST_PORT),
                payload_len: ip.l4_len - field::udp::LEN as u32,
            })
        }
        ipproto::ICMP if !ip.v6 => {
            let h = sub.header(0, field::icmp::LEN, Layer::Icmp)?;
            let (t, c) = (h[field::icmp::TYPE], h[field::icmp::CODE]);
            // Destination unreachable (3) and time exceeded (11) quote the packet they answer.
            let quoted = if t == 3 || t == 11 {
                quoted(&h[field::icmp::LEN..])
            } else {
                None
            };
            Transport::Icmp(Icmp {
                v6: false,
                icmp_type: t,
                code: c,
                quoted,
            })
        }
        ipproto::ICMPV6 if ip.v6 => {
            let h = sub.header(0, field::icmp::LEN, Layer::Icmpv6)?;
            let (t, c) = (h[field::icmp::TYPE], h[field::icmp::CODE]);
            // Destination unreachable (1) and time exceeded (3) quote the packet they answer.
            let quoted = if t == 1 || t == 3 {
                quoted(&h[field::icmp::LEN..])
            } else {
                None
            };
            Transport::Icmp(Icmp {
                v6: true,
                icmp_type: t,
                code: c,
                quoted,
            })
        }
        other => return Err(Skip::IpProto(other)),
    };
    Ok(Packet {
        vlan,
        v6: ip.v6,
        src: ip.src,
        dst: ip.dst,
        ip_len: ip.ip_len,
        transport,
    })
}

/// The TCP/UDP 5-tuple of the packet quoted in an ICMP error: an IP header and at least the 4
/// bytes of ports. The quote is usually shorter than its own length fields say, so those are
/// not checked against it.
fn quoted(b: &[u8]) -> Option<Quoted> {
    let frame = Frame { data: b, cut: true };
    // The quoted packet's length fields describe the original, not the quote.
    let wire = usize::MAX / 2;
    let ip = match b.first()? >> 4 {
        4 => parse_ipv4(&frame, wire, 0).ok()?,
        6 => parse_ipv6(&frame, wire, 0).ok()?,
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
    use super::*;

    /// Ethernet header: dst 02:00:00:00:00:02, src 02:00:00:00:00:01, then an EtherType.
    fn eth(et: u16) -> Vec<u8> {
        let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        v.extend_from_slice(&et.to_be_bytes());
        v
    }

    /// IPv4 header, 20 bytes, 10.0.0.1 -> 10.0.0.2, protocol `proto`, total length `total`.
    fn ipv4_hdr(proto: u8, total: u16) -> Vec<u8> {
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
    fn tcp_hdr(flags: u8) -> Vec<u8> {
        vec![
            0x9c, 0x40, 0x00, 0x50, // ports 40000 -> 80
            0x00, 0x00, 0x03, 0xe8, // seq 1000
            0x00, 0x00, 0x07, 0xd0, // ack 2000
            0x50, flags, 0xfa, 0xf0, // data offset 5 words; flags; window 64240
            0x00, 0x00, 0x00, 0x00, // checksum; urgent pointer
        ]
    }

    /// An Ethernet/IPv4/TCP frame with `payload` bytes of data.
    fn eth_tcp(payload: usize) -> Vec<u8> {
        let mut v = eth(ethertype::IPV4);
        v.extend(ipv4_hdr(6, (40 + payload) as u16));
        v.extend(tcp_hdr(tcpflags::ACK | tcpflags::PSH));
        v.extend(std::iter::repeat_n(0xab, payload));
        v
    }

    fn tcp_of(p: &Packet) -> Tcp {
        match p.transport {
            Transport::Tcp(t) => t,
            other => panic!("not tcp: {other:?}"),
        }
    }

    #[test]
    fn ethernet_ipv4_tcp() {
        let f = eth_tcp(10);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert!(!p.v6);
        assert_eq!(p.src.to_ip(false).to_string(), "10.0.0.1");
        assert_eq!(p.dst.to_ip(false).to_string(), "10.0.0.2");
        assert_eq!(p.ip_len, 50);
        let t = tcp_of(&p);
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.ack),
            (40000, 80, 1000, 2000)
        );
        assert_eq!(t.flags, tcpflags::ACK | tcpflags::PSH);
        assert_eq!(t.window, 64240);
        assert_eq!(t.payload_len, 10);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        // A 40-byte IP packet padded to the 60-byte Ethernet minimum.
        let mut f = eth_tcp(0);
        f.extend([0u8; 6]);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.ip_len, 40);
        assert_eq!(tcp_of(&p).payload_len, 0);
    }

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
    fn ipv4_bad_version_and_ihl() {
        let mut f = eth_tcp(0);
        f[14] = 0x55; // version 5
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv4, Reason::BadVersion)
        );
        f[14] = 0x43; // IHL 3 words: shorter than the fixed header
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv4, Reason::BadHeaderLength)
        );
    }

    #[test]
    fn ipv4_total_length_checks() {
        let mut f = eth_tcp(0);
        f[16..18].copy_from_slice(&10u16.to_be_bytes()); // total 10 < header 20
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv4, Reason::BadTotalLength)
        );
        f[16..18].copy_from_slice(&500u16.to_be_bytes()); // longer than the frame
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv4, Reason::BadTotalLength)
        );
        f[16..18].copy_from_slice(&0u16.to_be_bytes()); // offload: frame length is used
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.ip_len, 40);
    }

    #[test]
    fn tcp_bad_data_offset() {
        let mut f = eth_tcp(0);
        f[14 + 20 + 12] = 0x40; // 4 words < 5
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Tcp, Reason::BadHeaderLength)
        );
        f[14 + 20 + 12] = 0xf0; // 60 bytes > 20-byte segment
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Tcp, Reason::BadHeaderLength)
        );
    }

    #[test]
    fn ipv4_non_first_fragment() {
        let mut f = eth_tcp(0);
        f[20..22].copy_from_slice(&0x0001u16.to_be_bytes()); // offset 8 bytes
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Fragment
        );
        // First fragment (MF set, offset 0) still decodes.
        f[20..22].copy_from_slice(&0x2000u16.to_be_bytes());
        assert!(decode(linktype::ETHERNET, &f, f.len() as u32).is_ok());
    }

    #[test]
    fn vlan_qinq_stack_outer_first() {
        let mut f = eth(ethertype::QINQ);
        f.extend([0x00, 200, 0x81, 0x00]); // 802.1ad tag 200, then 802.1Q
        f.extend([0x20, 100, 0x08, 0x00]); // PCP 1, VLAN 100, then IPv4
        f.extend(ipv4_hdr(6, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.vlan.ids(), &[200, 100]);
    }

    #[test]
    fn mpls_two_labels_then_ipv4() {
        let mut f = eth(ethertype::MPLS_UNICAST);
        f.extend([0x00, 0x01, 0x00, 64]); // label 16, not bottom of stack
        f.extend([0x00, 0x02, 0x01, 64]); // label 32, bottom of stack
        f.extend(ipv4_hdr(6, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
    }

    #[test]
    fn pppoe_session_ip_and_lcp() {
        let mut f = eth(ethertype::PPPOE_SESSION);
        f.extend([0x11, 0x00, 0x00, 0x01, 0x00, 42, 0x00, 0x21]); // v1 t1, session 1, len, PPP IPv4
        f.extend(ipv4_hdr(6, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        assert!(decode(linktype::ETHERNET, &f, f.len() as u32).is_ok());
        f[14 + 6..14 + 8].copy_from_slice(&0xc021u16.to_be_bytes()); // LCP
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::NotIpPpp(0xc021)
        );
    }

    #[test]
    fn non_ip_frames() {
        let mut f = eth(ethertype::ARP);
        f.extend([0u8; 28]);
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::NotIp(ethertype::ARP)
        );
    }

    #[test]
    fn null_both_byte_orders_and_loop() {
        let mut body = ipv4_hdr(6, 40);
        body.extend(tcp_hdr(tcpflags::SYN));
        for (lt, fam) in [
            (linktype::NULL, [2u8, 0, 0, 0]), // little-endian AF_INET
            (linktype::NULL, [0, 0, 0, 2]),   // big-endian AF_INET
            (linktype::LOOP, [0, 0, 0, 2]),   // LOOP: always network order
        ] {
            let mut f = fam.to_vec();
            f.extend(&body);
            assert!(decode(lt, &f, f.len() as u32).is_ok(), "{lt} {fam:?}");
        }
        let f = [7u8, 0, 0, 0, 0x45];
        assert_eq!(
            decode(linktype::NULL, &f, 5).unwrap_err(),
            Skip::NotIpFamily(7)
        );
    }

    #[test]
    fn raw_ip_version_nibble() {
        let mut f = ipv4_hdr(6, 40);
        f.extend(tcp_hdr(tcpflags::SYN));
        for lt in [linktype::RAW, linktype::DLT_RAW, linktype::IPV4] {
            assert!(decode(lt, &f, f.len() as u32).is_ok());
        }
        f[0] = 0x75;
        assert_eq!(
            decode(linktype::RAW, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::RawIp, Reason::BadVersion)
        );
    }

    /// IPv6 2001:db8::1 -> 2001:db8::2 with the given next header and payload length.
    fn ipv6_hdr(next: u8, plen: u16) -> Vec<u8> {
        let mut v = vec![0x60, 0, 0, 0];
        v.extend(plen.to_be_bytes());
        v.extend([next, 64]);
        v.extend([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        v.extend([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        v
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
        // First fragment: offset 0, M set -> decodes.
        let mut f = ipv6_hdr(ipproto::FRAGMENT, 8 + 8 + 4);
        f.extend([ipproto::UDP, 0, 0x00, 0x01, 0, 0, 0, 9]);
        f.extend([0x9c, 0x40, 0x00, 0x35, 0x00, 100, 0, 0, 1, 2, 3, 4]);
        let p = decode(linktype::IPV6, &f, f.len() as u32).unwrap();
        match p.transport {
            Transport::Udp(u) => assert_eq!(u.payload_len, 4),
            other => panic!("{other:?}"),
        }
        // Non-first: offset 8 bytes.
        f[40 + 2..40 + 4].copy_from_slice(&(1u16 << 3).to_be_bytes());
        assert_eq!(
            decode(linktype::IPV6, &f, f.len() as u32).unwrap_err(),
            Skip::Fragment
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

    #[test]
    fn other_ip_protocols() {
        let mut f = eth(ethertype::IPV4);
        f.extend(ipv4_hdr(47, 24)); // GRE
        f.extend([0, 0, 0x08, 0x00]);
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::IpProto(47)
        );
    }

    #[test]
    fn unsupported_link_type() {
        assert_eq!(
            decode(105, &[0u8; 40], 40).unwrap_err(),
            Skip::UnsupportedLinkType(105)
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
                let mut g = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
                let total = (20 + tail.len()) as u16;
                g[2..4].copy_from_slice(&total.to_be_bytes());
                g.extend(&tail);
                let _ = decode(linktype::IPV4, &g, g.len() as u32);
            }
        }
    }
}
