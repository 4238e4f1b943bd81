//! Decode stage: turns one captured frame into the few header fields the flow stage needs.
//!
//! Zero-copy and allocation-free: every header is read in place from the frame's bytes through a
//! small checked view (`mod field` byte ranges, as in smoltcp's `wire` module), and decoding never
//! panics on any input: every index is checked against the captured length first.
//!
//! A frame either decodes to a [`Packet`] (TCP, UDP or ICMP over IPv4/IPv6, or an IP fragment for
//! the reassembly stage), or to a [`Skip`] that says why it is not part of a TCP/UDP flow: a
//! non-IP frame, another IP protocol, headers cut by the snaplen, or a header that is malformed
//! (with layer and reason). The capture statistics count every [`Skip`], so nothing is dropped
//! silently.
//!
//! One file per layer, as in smoltcp's `wire` module: each holds its header's `mod field` byte
//! ranges (one doc line per field, with its unit), the code that reads it in place, and its tests.
//! [`linktype`] is the registry of link types that picks the first layer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub mod app;
mod arcnet;
mod ayiya;
mod chdlc;
pub mod checksum;
mod erspan;
mod ethernet;
mod fabricpath;
mod fddi;
mod geneve;
mod gre;
mod gtpu;
mod icmp;
mod ieee80211;
mod ip;
mod ipoib;
mod ipv4;
mod ipv6;
pub mod linktype;
mod llc;
mod macsec;
mod mpls;
mod nflog;
mod null;
mod pbb;
mod pktap;
mod ppi;
mod ppp;
mod pppoe;
mod radiotap;
mod raw;
mod sll;
mod tcp;
mod teredo;
#[cfg(test)]
mod testutil;
mod tunnel;
mod udp;
mod vxlan;

pub use checksum::{Checksum, ChecksumMode};
pub use ethernet::{MAX_VLANS, VlanStack, ethertype};
pub(crate) use ip::reassembled;
use linktype::Link;
pub use tcp::tcpflags;
pub use tunnel::{
    Encap, EncapPath, MAX_ENCAP, MAX_VXLAN_PORTS, TooManyPorts, Tunnel, TunnelConfig, TunnelKind,
};

/// IP protocol numbers this decoder follows.
pub mod ipproto {
    pub const HOPOPTS: u8 = 0;
    pub const ICMP: u8 = 1;
    /// IPv4 in IP.
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    /// IPv6 in IP.
    pub const IPV6: u8 = 41;
    pub const GRE: u8 = 47;
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
///
/// In C order, what every packet's flow reads first and the tunnel stack last: a packet not
/// tunnelled is read from its first two cache lines.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct Packet {
    pub transport: Transport,
    pub src: Addr,
    pub dst: Addr,
    /// IP bytes of the packet: the IPv4 total length, or the IPv6 payload length + 40.
    pub ip_len: u32,
    /// VLAN tags of the frame, outer first.
    pub vlan: VlanStack,
    /// IPv6 (true) or IPv4.
    pub v6: bool,
    /// What checksum verification found ([`checksum`]).
    pub csum: Checksum,
    /// The tunnels the packet came through, outer first (empty: none).
    pub encap: Encap,
    /// The server name of a TLS ClientHello the packet carries (its payload's [`app::AppHint`]
    /// says where it was); empty for every other packet.
    pub sni: Sni,
}

/// The longest server name a packet keeps, bytes. A longer one is not kept: the ClientHello's
/// hint says [`app::SNI_CUT`] instead.
pub const SNI_MAX: usize = 63;

/// The server name a TLS ClientHello asked for, kept in the packet itself (so that it crosses
/// threads and merges with the packet, whatever frame or reassembly buffer it came from).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sni {
    len: u8,
    bytes: [u8; SNI_MAX],
}

impl Default for Sni {
    fn default() -> Self {
        Sni {
            len: 0,
            bytes: [0; SNI_MAX],
        }
    }
}

impl Sni {
    /// `name` kept, or None when it is longer than [`SNI_MAX`].
    pub fn new(name: &[u8]) -> Option<Sni> {
        let mut s = Sni::default();
        s.bytes.get_mut(..name.len())?.copy_from_slice(name);
        s.len = name.len() as u8;
        Some(s)
    }

    /// The name's bytes (empty: none).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::fmt::Debug for Sni {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.bytes()))
    }
}

/// The transport layer of a [`Packet`].
#[derive(Debug, Clone, Copy)]
pub enum Transport {
    Tcp(Tcp),
    Udp(Udp),
    Icmp(Icmp),
    /// A fragment of a larger IP datagram, for the reassembly stage (`crate::reassembly`): the
    /// flow stage never sees one.
    Fragment(Fragment),
}

/// A fragment of an IP datagram (IPv4 with an offset or more-fragments set, IPv6 with a Fragment
/// header other than an atomic one): what reassembly needs. The [`Packet`] around it gives the
/// addresses and VLANs; its `ip_len` is the fragment's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Identification of the datagram (IPv4: 16 bits; IPv6: 32).
    pub id: u32,
    /// Position of this fragment's data in the datagram's payload, bytes.
    pub offset: u32,
    /// More fragments follow (IPv4 MF, IPv6 M).
    pub more: bool,
    /// Protocol of the datagram's payload: the IPv4 protocol, or the IPv6 Fragment header's next
    /// header.
    pub proto: u8,
    /// IP header bytes before the data: the IPv4 header length, or the IPv6 unfragmentable part
    /// (40 + the extension headers before the Fragment header).
    pub hdr_len: u32,
    /// Data bytes on the wire, from the IP length fields.
    pub len: u32,
    /// Where the captured part of the data lies in the frame: from `start` to `end` (fewer than
    /// `len` bytes when the snaplen cut the frame).
    pub start: u32,
    pub end: u32,
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
    /// What the payload's captured bytes begin with ([`app::recognise`]).
    pub app: app::AppHint,
}

/// The UDP header fields the flow stage uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp {
    pub src_port: u16,
    pub dst_port: u16,
    /// Payload bytes: IP payload length minus the 8-byte UDP header.
    pub payload_len: u32,
    /// What the payload's captured bytes begin with ([`app::recognise`]).
    pub app: app::AppHint,
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
    Ppp,
    CiscoHdlc,
    Ieee80211,
    Radiotap,
    Ppi,
    Pktap,
    Nflog,
    Ipoib,
    Fddi,
    Arcnet,
    Llc,
    FabricPath,
    Pbb,
    Macsec,
    IpInIp,
    Gre,
    Erspan,
    Vxlan,
    Geneve,
    Gtpu,
    Ayiya,
}

impl Layer {
    pub const ALL: [Layer; 36] = [
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
        Layer::Ppp,
        Layer::CiscoHdlc,
        Layer::Ieee80211,
        Layer::Radiotap,
        Layer::Ppi,
        Layer::Pktap,
        Layer::Nflog,
        Layer::Ipoib,
        Layer::Fddi,
        Layer::Arcnet,
        Layer::Llc,
        Layer::FabricPath,
        Layer::Pbb,
        Layer::Macsec,
        Layer::IpInIp,
        Layer::Gre,
        Layer::Erspan,
        Layer::Vxlan,
        Layer::Geneve,
        Layer::Gtpu,
        Layer::Ayiya,
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
            Layer::Ppp => "ppp",
            Layer::CiscoHdlc => "cisco-hdlc",
            Layer::Ieee80211 => "802.11",
            Layer::Radiotap => "radiotap",
            Layer::Ppi => "ppi",
            Layer::Pktap => "pktap",
            Layer::Nflog => "nflog",
            Layer::Ipoib => "ipoib",
            Layer::Fddi => "fddi",
            Layer::Arcnet => "arcnet",
            Layer::Llc => "llc",
            Layer::FabricPath => "fabricpath",
            Layer::Pbb => "pbb",
            Layer::Macsec => "macsec",
            Layer::IpInIp => "ip-in-ip",
            Layer::Gre => "gre",
            Layer::Erspan => "erspan",
            Layer::Vxlan => "vxlan",
            Layer::Geneve => "geneve",
            Layer::Gtpu => "gtp-u",
            Layer::Ayiya => "ayiya",
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
    /// A link layer's own protocol value that is not IP: an ARCNET protocol id, a Linux cooked
    /// capture's hardware type or Linux protocol number, an LLC SAP pair or SNAP OUI.
    NotIpLink(Layer, u32),
    /// A frame whose link layer says it carries no readable IP packet (see [`Opaque`]).
    Opaque(Layer, Opaque),
    /// A PPPoE session frame whose PPP protocol is not IP (LCP, IPCP, ...).
    NotIpPpp(u16),
    /// A loopback (NULL/LOOP) or NFLOG frame whose address family is not IP.
    NotIpFamily(u32),
    /// An IP packet of another protocol (GRE, ESP, SCTP, ...), or IPv6 "no next header" (59).
    IpProto(u8),
    /// The snaplen cut the frame inside this layer's header.
    Truncated(Layer),
    /// This layer's header is malformed.
    Malformed(Layer, Reason),
}

/// Why a link-layer frame carries no readable IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Opaque {
    /// The payload is encrypted (802.11 protected frames, MACsec frames with the E or C bit).
    Encrypted,
    /// A frame with no network-layer payload by its type: 802.11 management, control and
    /// null-data frames, an NFLOG record without a payload TLV, a PKTAP record of no packet.
    NoPayload,
    /// An 802.11 A-MSDU: several packets in one frame (not decoded).
    Aggregate,
    /// A link-layer fragment of a larger packet (ARCNET split packets).
    Fragment,
}

impl Opaque {
    pub const ALL: [Opaque; 4] = [
        Opaque::Encrypted,
        Opaque::NoPayload,
        Opaque::Aggregate,
        Opaque::Fragment,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Opaque::Encrypted => "encrypted",
            Opaque::NoPayload => "no payload",
            Opaque::Aggregate => "a-msdu (not decoded)",
            Opaque::Fragment => "link-layer fragment",
        }
    }
}

/// A byte range of a header.
type Field = std::ops::Range<usize>;

#[inline]
fn be16(b: &[u8], r: Field) -> u16 {
    u16::from_be_bytes([b[r.start], b[r.start + 1]])
}

#[inline]
fn le16(b: &[u8], r: Field) -> u16 {
    u16::from_le_bytes([b[r.start], b[r.start + 1]])
}

#[inline]
fn le32(b: &[u8], r: Field) -> u32 {
    u32::from_le_bytes([b[r.start], b[r.start + 1], b[r.start + 2], b[r.start + 3]])
}

#[inline]
fn be32(b: &[u8], r: Field) -> u32 {
    u32::from_be_bytes([b[r.start], b[r.start + 1], b[r.start + 2], b[r.start + 3]])
}

/// How frames are decoded ([`decode_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Which UDP ports carry which tunnel.
    pub tunnels: TunnelConfig,
    /// Verify the IPv4 header checksum and the TCP and UDP checksums ([`Packet::csum`]); the
    /// only work in decoding that reads every byte of a packet.
    pub verify: bool,
}

impl Settings {
    /// The default tunnel ports; checksums not verified.
    pub const DEFAULT: Settings = Settings {
        tunnels: TunnelConfig::DEFAULT,
        verify: false,
    };
}

impl Default for Settings {
    fn default() -> Self {
        Settings::DEFAULT
    }
}

/// A frame being decoded: its captured bytes and whether the snaplen cut it.
struct Frame<'a> {
    data: &'a [u8],
    /// True when fewer bytes were captured than the frame had on the wire.
    cut: bool,
    /// Which UDP ports carry which tunnel, whether checksums are verified.
    settings: &'a Settings,
    /// Tunnels around this frame (0: the captured frame itself).
    depth: u8,
    /// Address of the captured frame's first byte, so that a fragment can say where its data
    /// lies in the captured frame ([`Frame::position`]); 0 for a reassembled datagram, whose
    /// bytes are not the captured frame's.
    origin: usize,
}

impl<'a> Frame<'a> {
    /// A captured frame, outside any tunnel, with the default settings.
    fn new(data: &'a [u8], cut: bool) -> Frame<'a> {
        Frame::captured(data, cut, &Settings::DEFAULT)
    }

    /// A captured frame (`data`: all of its captured bytes) decoded with `settings`.
    fn captured(data: &'a [u8], cut: bool, settings: &'a Settings) -> Frame<'a> {
        Frame {
            data,
            cut,
            settings,
            depth: 0,
            origin: data.as_ptr() as usize,
        }
    }

    /// A frame of `data`, bytes inside this one (a layer's payload), with the same settings.
    #[inline]
    fn sub(&self, data: &'a [u8], cut: bool) -> Frame<'a> {
        Frame {
            data,
            cut,
            settings: self.settings,
            depth: self.depth,
            origin: self.origin,
        }
    }

    /// Where byte `off` of this frame lies in the captured frame; None when this frame's bytes
    /// are not the captured frame's (a reassembled datagram).
    #[inline]
    fn position(&self, off: usize) -> Option<usize> {
        if self.origin == 0 {
            return None;
        }
        Some((self.data.as_ptr() as usize).wrapping_sub(self.origin) + off)
    }

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

    /// The frame that starts at `off` (`wire`: this frame's length on the wire) and whose last
    /// `trailer` bytes on the wire (an FCS, say) are not part of it; with that sub-frame's wire
    /// length. Past the captured bytes, the sub-frame is empty (and cut if the wire had more).
    #[inline]
    fn inner(&self, off: usize, wire: usize, trailer: usize) -> (Frame<'a>, usize) {
        let wire = wire.saturating_sub(off).saturating_sub(trailer);
        let rest = self.data.get(off..).unwrap_or(&[]);
        let data = &rest[..rest.len().min(wire)];
        let cut = data.len() < wire;
        (self.sub(data, cut), wire)
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
    decode_with(linktype, data, wire_len, &Settings::DEFAULT)
}

/// [`decode`] with `settings`: the UDP ports that carry VXLAN, and whether the IPv4 header and
/// TCP/UDP checksums are verified ([`Packet::csum`]).
pub fn decode_with(
    linktype: u32,
    data: &[u8],
    wire_len: u32,
    settings: &Settings,
) -> Result<Packet, Skip> {
    let frame = Frame::captured(data, (data.len() as u64) < wire_len as u64, settings);
    // Bytes of the frame on the wire after offset `off`: bounds the IP length fields.
    let wire = (wire_len as usize).max(data.len());
    match linktype::link(linktype) {
        Some(link) => dispatch(link, &frame, wire),
        None => Err(Skip::UnsupportedLinkType(linktype)),
    }
}

/// Decodes `frame` with the link-layer decoder `link`; also the entry point of the link types
/// that wrap another (PPI, PKTAP).
#[inline]
fn dispatch(link: Link, frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    match link {
        Link::Ethernet => ethernet::ethernet(frame, wire),
        Link::LinuxSll => sll::sll(frame, wire),
        Link::LinuxSll2 => sll::sll2(frame, wire),
        Link::Null => null::null(frame, wire, false),
        Link::Loop => null::null(frame, wire, true),
        Link::RawIp => raw::raw(frame, wire),
        Link::Ipv4 => ipv4::ipv4(frame, wire, 0, VlanStack::default()),
        Link::Ipv6 => ipv6::ipv6(frame, wire, 0, VlanStack::default()),
        Link::Ppp => ppp::ppp(frame, wire, 0),
        Link::CiscoHdlc => chdlc::chdlc(frame, wire, 0),
        Link::Ieee80211 => ieee80211::ieee80211(frame, wire, false),
        Link::Radiotap => radiotap::radiotap(frame, wire),
        Link::Ppi => ppi::ppi(frame, wire),
        Link::Pktap => pktap::pktap(frame, wire),
        Link::Nflog => nflog::nflog(frame, wire),
        Link::Ipoib => ipoib::ipoib(frame, wire),
        Link::Fddi => fddi::fddi(frame, wire),
        Link::ArcnetBsd => arcnet::arcnet(frame, wire, false),
        Link::ArcnetLinux => arcnet::arcnet(frame, wire, true),
    }
}

/// Decodes the frame of link type `lt` that a wrapper (PPI, PKTAP) holds from `off` on, less
/// `trailer` bytes at its end. A wrapper inside a wrapper is not followed: it is counted as an
/// unsupported link type.
fn wrapped(
    frame: &Frame<'_>,
    wire: usize,
    off: usize,
    lt: u32,
    trailer: usize,
) -> Result<Packet, Skip> {
    match linktype::link(lt) {
        Some(Link::Ppi | Link::Pktap) | None => Err(Skip::UnsupportedLinkType(lt)),
        Some(link) => {
            let (inner, wire) = frame.inner(off, wire, trailer);
            dispatch(link, &inner, wire)
        }
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

    /// A valid frame of every link type and layer-2 shim, each carrying IPv4/TCP with 20 bytes
    /// of payload: (link type, frame).
    pub(super) fn valid_frames() -> Vec<(u32, Vec<u8>)> {
        let ip = || {
            let mut v = ipv4_hdr(ipproto::TCP, 60);
            v.extend(tcp_hdr(tcpflags::ACK));
            v.extend([0xab; 20]);
            v
        };
        let snap = || [&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00][..], &ip()].concat();
        let wlan_qos = || {
            // QoS data, four addresses, HT control.
            let mut v = vec![0x88, 0x83, 0, 0];
            v.extend([2u8; 26]); // three addresses, sequence control, fourth address
            v.extend([0, 0, 0, 0, 0, 0]); // QoS control, HT control
            v.extend(snap());
            v
        };
        let with = |head: &[u8], tail: &[u8]| [head, &ip(), tail].concat();
        let mut pktap = 108u32.to_le_bytes().to_vec();
        pktap.extend(1u32.to_le_bytes());
        pktap.extend(1u32.to_le_bytes());
        pktap.resize(108, 0);
        pktap.extend(eth(ethertype::IPV4));
        let mut ppi = vec![0, 0, 32, 0, 105, 0, 0, 0, 2, 0, 20, 0];
        ppi.extend([0u8; 8]);
        ppi.extend([1, 0]); // 802.11-common flags: FCS
        ppi.extend([0u8; 10]);
        ppi.extend(wlan_qos());
        ppi.extend([0u8; 4]);
        let mut radiotap = vec![0, 0, 17, 0, 0x03, 0, 0, 0];
        radiotap.extend([0u8; 8]);
        radiotap.push(0x30); // FCS, data pad (the 26-byte header is padded to 28)
        radiotap.extend([0x88, 0x01, 0, 0]);
        radiotap.extend([2u8; 20]);
        radiotap.extend([0, 0, 0, 0]); // QoS control, padding
        radiotap.extend(snap());
        radiotap.extend([0u8; 4]);
        let nflog = {
            let mut v = vec![2, 0, 0, 1, 8, 0, 1, 0, 0x08, 0x00, 3, 0];
            v.extend((64u16).to_le_bytes());
            v.extend(9u16.to_le_bytes());
            v.extend(ip());
            v
        };
        let mut sll_radiotap = vec![0, 0, 0x03, 0x23, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3];
        sll_radiotap.extend([0, 0, 8, 0, 0, 0, 0, 0]);
        sll_radiotap.extend(wlan_qos());
        let mut fabricpath = eth(ethertype::FABRICPATH);
        fabricpath.extend([0, 0x3f]);
        fabricpath.extend(eth(ethertype::IPV4));
        let mut pbb = eth(ethertype::PBB_ITAG);
        pbb.extend([0, 0, 0, 1]);
        pbb.extend(eth(ethertype::IPV4));
        let mut macsec = eth(ethertype::MACSEC);
        macsec.extend([0x20, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0, 1, 0x08, 0x00]);
        let mut ipoib = vec![0u8; 40];
        ipoib.extend([0x08, 0x00, 0, 0]);
        vec![
            (linktype::ETHERNET, eth_tcp(20)),
            (linktype::ETHERNET, with(&fabricpath, &[])),
            (linktype::ETHERNET, with(&pbb, &[])),
            (linktype::ETHERNET, with(&macsec, &[0xcc; 16])),
            (linktype::PPP, with(&[0xff, 0x03, 0x00, 0x21], &[])),
            (linktype::PPP, with(&[0x21], &[])),
            (linktype::PPP_HDLC, with(&[0x0f, 0x00, 0x08, 0x00], &[])),
            (linktype::C_HDLC, with(&[0x8f, 0x00, 0x08, 0x00], &[])),
            (linktype::IEEE802_11, wlan_qos()),
            (linktype::IEEE802_11_RADIOTAP, radiotap),
            (linktype::PPI, ppi),
            (linktype::PKTAP, with(&pktap, &[])),
            (linktype::NFLOG, nflog),
            (linktype::IPOIB, with(&ipoib, &[])),
            (linktype::FDDI, [&[0x50][..], &[2; 12], &snap()].concat()),
            (
                linktype::ARCNET_BSD,
                with(&[1, 2, 0xd4, 0xff, 0xff, 0xff, 0xd4, 0, 0, 1], &[]),
            ),
            (
                linktype::ARCNET_LINUX,
                with(&[1, 2, 0, 0, 0xd4, 0, 0, 1], &[]),
            ),
            (linktype::LINUX_SLL, sll_radiotap),
            (
                linktype::LINUX_SLL2,
                with(
                    &[
                        0, 7, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 3, 0,
                        0x21,
                    ],
                    &[],
                ),
            ),
        ]
    }

    #[test]
    fn every_truncation_of_a_valid_frame_of_every_link_type() {
        for (lt, f) in valid_frames() {
            let wire = f.len() as u32;
            let p = decode(lt, &f, wire).unwrap_or_else(|e| panic!("{lt}: {e:?}"));
            assert_eq!((p.ip_len, tcp_of(&p).payload_len), (60, 20), "{lt}");
            for n in 0..f.len() {
                // Cut by the snaplen: a Skip or a packet, never "too short".
                if let Err(Skip::Malformed(l, Reason::TooShort)) = decode(lt, &f[..n], wire) {
                    panic!("{lt}: prefix {n} reported as a short {l:?}");
                }
                // The same bytes as a whole frame: never a panic.
                let _ = decode(lt, &f[..n], n as u32);
            }
        }
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        /// Checksums verified.
        const VERIFY: Settings = Settings {
            verify: true,
            ..Settings::DEFAULT
        };

        const LINKTYPES: [u32; 23] = [
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
            linktype::PPP,
            linktype::PPP_HDLC,
            linktype::C_HDLC,
            linktype::IEEE802_11,
            linktype::IEEE802_11_RADIOTAP,
            linktype::PPI,
            linktype::PKTAP,
            linktype::NFLOG,
            linktype::IPOIB,
            linktype::FDDI,
            linktype::ARCNET_BSD,
            linktype::ARCNET_LINUX,
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
                let _ = decode_with(LINKTYPES[lt], &data, data.len() as u32 + extra, &VERIFY);
                let _ = decode_with(LINKTYPES[lt], &data, data.len() as u32, &VERIFY);
            }

            /// Valid frames of every link type with random bytes overwritten: never a panic.
            #[test]
            fn never_panics_on_damaged_valid_frames(which in 0usize..19, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
                let frames = super::valid_frames();
                let (lt, mut f) = frames[which % frames.len()].clone();
                for (at, b) in edits {
                    let i = at % f.len();
                    f[i] = b;
                }
                let n = cut % (f.len() + 1);
                let _ = decode(lt, &f[..n], f.len() as u32);
                let _ = decode(lt, &f, f.len() as u32);
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
                let _ = decode_with(linktype::IPV6, &f, f.len() as u32, &VERIFY);
                let mut g = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
                let total = (20 + tail.len()) as u16;
                g[2..4].copy_from_slice(&total.to_be_bytes());
                g.extend(&tail);
                let _ = decode(linktype::IPV4, &g, g.len() as u32);
                let _ = decode_with(linktype::IPV4, &g, g.len() as u32, &VERIFY);
            }
        }
    }
}
