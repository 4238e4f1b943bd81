//! Tunnels: the encapsulation stack a [`Packet`](super::Packet) carries, the decoder settings
//! that say which UDP ports carry which tunnel, and the dispatch from an IP protocol or a UDP
//! port to the tunnel's decoder.
//!
//! Decoding a tunnel makes a frame of its payload (the captured bytes and their length on the
//! wire, from the outer length fields) and decodes that from its first layer (Ethernet for
//! VXLAN, GENEVE, transparent Ethernet bridging and ERSPAN; IP for the others). The inner
//! packet comes back up with the tunnel layer pushed in front of its [`Encap`] stack, so the
//! stack ends outer first. At most [`MAX_ENCAP`] tunnels are followed in one frame; a frame
//! nested deeper is skipped as too many headers (an IP-level tunnel) or kept as the UDP
//! datagram that carries it (a UDP tunnel).
//!
//! A UDP tunnel whose payload does not decode to a TCP, UDP or ICMP packet (an ARP frame in a
//! VXLAN tunnel, a Teredo bubble, a damaged inner header) gives the outer UDP datagram itself:
//! it still counts in the outer flow, as Zeek counts it.

use std::fmt;

use super::{
    Addr, Checksum, Frame, Layer, Packet, Reason, Skip, VlanStack, ayiya, ethernet, geneve, gre,
    gtpu, ip::Ip, ipv4, ipv6, mpls, teredo, vxlan,
};

/// Most tunnel layers followed in one frame, as Zeek's default `Tunnel::max_depth` (2).
pub const MAX_ENCAP: usize = 2;

/// Most extra VXLAN ports the decoder settings hold besides 4789.
pub const MAX_VXLAN_PORTS: usize = 8;

/// Well-known UDP ports of the UDP tunnels.
pub mod port {
    /// VXLAN (RFC 7348).
    pub const VXLAN: u16 = 4789;
    /// GENEVE (RFC 8926).
    pub const GENEVE: u16 = 6081;
    /// GTP-U (3GPP TS 29.281).
    pub const GTPU: u16 = 2152;
    /// Teredo (RFC 4380).
    pub const TEREDO: u16 = 3544;
    /// AYIYA.
    pub const AYIYA: u16 = 5072;
    /// MPLS in UDP (RFC 7510).
    pub const MPLS_UDP: u16 = 6635;
}

/// The kind of a tunnel layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum TunnelKind {
    /// IP in IP: IPv4 or IPv6 in IPv4 or IPv6 (IP protocols 4 and 41).
    #[default]
    Ip,
    /// GRE (RFC 2784/2890), any payload (IP, transparent Ethernet bridging, MPLS).
    Gre,
    /// ERSPAN type I (GRE 0x88be without a sequence number, no ERSPAN header).
    Erspan1,
    /// ERSPAN type II (GRE 0x88be with a sequence number).
    Erspan2,
    /// ERSPAN type III (GRE 0x22eb).
    Erspan3,
    Vxlan,
    Geneve,
    /// GTP-U version 1.
    Gtpu,
    Teredo,
    Ayiya,
    /// MPLS in UDP.
    MplsUdp,
}

impl TunnelKind {
    pub const ALL: [TunnelKind; 11] = [
        TunnelKind::Ip,
        TunnelKind::Gre,
        TunnelKind::Erspan1,
        TunnelKind::Erspan2,
        TunnelKind::Erspan3,
        TunnelKind::Vxlan,
        TunnelKind::Geneve,
        TunnelKind::Gtpu,
        TunnelKind::Teredo,
        TunnelKind::Ayiya,
        TunnelKind::MplsUdp,
    ];

    /// The name in records, as Zeek's `Tunnel::Type` and conn.log's `service` spell it where
    /// they have one.
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Ip => "ip",
            TunnelKind::Gre => "gre",
            TunnelKind::Erspan1 => "erspan1",
            TunnelKind::Erspan2 => "erspan2",
            TunnelKind::Erspan3 => "erspan3",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::Gtpu => "gtpv1",
            TunnelKind::Teredo => "teredo",
            TunnelKind::Ayiya => "ayiya",
            TunnelKind::MplsUdp => "mpls-udp",
        }
    }

    /// Carried in UDP: the outer datagram is a flow of its own.
    pub fn over_udp(self) -> bool {
        matches!(
            self,
            TunnelKind::Vxlan
                | TunnelKind::Geneve
                | TunnelKind::Gtpu
                | TunnelKind::Teredo
                | TunnelKind::Ayiya
                | TunnelKind::MplsUdp
        )
    }
}

/// One tunnel layer: the outer packet that carried the next layer in.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Tunnel {
    pub kind: TunnelKind,
    /// The outer IP header is IPv6.
    pub v6: bool,
    /// Outer source and destination addresses.
    pub src: Addr,
    pub dst: Addr,
    /// VXLAN/GENEVE VNI, GRE key, GTP-U TEID or ERSPAN session id, where the layer has one.
    pub id: Option<u32>,
    /// Outer UDP ports (UDP tunnels; zero otherwise).
    pub src_port: u16,
    pub dst_port: u16,
    /// Outer IP bytes (IPv4 total length, IPv6 payload length + 40).
    pub ip_len: u32,
    /// Outer UDP payload bytes (UDP tunnels).
    pub payload_len: u32,
    /// VLAN tags of the outer frame, outer first.
    pub vlan: VlanStack,
    /// What checksum verification found for the outer packet: its IPv4 header, and for a UDP
    /// tunnel its UDP checksum (zero, as tunnels often send it over IPv4, counts as good).
    pub csum: Checksum,
}

impl fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tunnel")
            .field("kind", &self.kind)
            .field("src", &self.src.to_ip(self.v6))
            .field("dst", &self.dst.to_ip(self.v6))
            .field("id", &self.id)
            .field("ports", &(self.src_port, self.dst_port))
            .field("ip_len", &self.ip_len)
            .field("payload_len", &self.payload_len)
            .field("vlan", &self.vlan)
            .field("csum", &self.csum)
            .finish()
    }
}

/// The tunnel layers a packet came through, outer first (empty: not tunnelled).
///
/// In C order, the layers last: a packet not tunnelled is read without touching them (the
/// flow thread reads its packets from memory the reader thread wrote).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Encap {
    len: u8,
    /// The packet is a UDP tunnel's datagram whose payload did not decode to a flow packet (an
    /// ARP frame in VXLAN, say): the tunnel it carries.
    pub carrier: Option<TunnelKind>,
    layers: [Tunnel; MAX_ENCAP],
}

impl Encap {
    /// The layers, outer first.
    #[inline]
    pub fn layers(&self) -> &[Tunnel] {
        &self.layers[..self.len as usize]
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Puts `t` in front of the stack (decoding returns from the inside out). The decoder never
    /// nests deeper than [`MAX_ENCAP`]; a layer past it is not kept.
    pub fn push_outer(&mut self, t: Tunnel) {
        let n = self.len as usize;
        if n >= MAX_ENCAP {
            return;
        }
        self.layers.copy_within(0..n, 1);
        self.layers[0] = t;
        self.len += 1;
    }
}

/// What tells one tunnel path from another: each layer's kind, outer addresses as sent, id and
/// VLAN stack, without the lengths and ports that change from packet to packet. The fragments of
/// one datagram came through one path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EncapPath {
    len: u8,
    layers: [(TunnelKind, bool, Addr, Addr, Option<u32>, VlanStack); MAX_ENCAP],
}

impl Encap {
    /// The tunnel path of this stack.
    pub fn path(&self) -> EncapPath {
        let mut p = EncapPath {
            len: self.len,
            ..EncapPath::default()
        };
        for (slot, t) in p.layers.iter_mut().zip(self.layers()) {
            *slot = (t.kind, t.v6, t.src, t.dst, t.id, t.vlan);
        }
        p
    }
}

impl fmt::Debug for Encap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.layers()).finish()
    }
}

/// Decoder settings for tunnels: the UDP ports that carry VXLAN besides 4789.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunnelConfig {
    vxlan: [u16; MAX_VXLAN_PORTS],
    n_vxlan: u8,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig::DEFAULT
    }
}

/// More VXLAN ports than [`MAX_VXLAN_PORTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("at most {MAX_VXLAN_PORTS} VXLAN ports besides 4789")]
pub struct TooManyPorts;

impl TunnelConfig {
    /// VXLAN on 4789 only.
    pub const DEFAULT: TunnelConfig = TunnelConfig {
        vxlan: [0; MAX_VXLAN_PORTS],
        n_vxlan: 0,
    };

    /// VXLAN on 4789 and on `ports` (Linux's own default is 8472).
    pub fn with_vxlan_ports(ports: &[u16]) -> Result<TunnelConfig, TooManyPorts> {
        if ports.len() > MAX_VXLAN_PORTS {
            return Err(TooManyPorts);
        }
        let mut c = TunnelConfig::DEFAULT;
        c.vxlan[..ports.len()].copy_from_slice(ports);
        c.n_vxlan = ports.len() as u8;
        Ok(c)
    }

    /// The UDP ports that carry VXLAN, 4789 first.
    pub fn vxlan_ports(&self) -> impl Iterator<Item = u16> + '_ {
        std::iter::once(port::VXLAN).chain(self.vxlan[..self.n_vxlan as usize].iter().copied())
    }

    /// The UDP tunnel on `port`, if any.
    #[inline]
    fn udp_kind(&self, p: u16) -> Option<TunnelKind> {
        match p {
            port::VXLAN => Some(TunnelKind::Vxlan),
            port::GENEVE => Some(TunnelKind::Geneve),
            port::GTPU => Some(TunnelKind::Gtpu),
            port::TEREDO => Some(TunnelKind::Teredo),
            port::AYIYA => Some(TunnelKind::Ayiya),
            port::MPLS_UDP => Some(TunnelKind::MplsUdp),
            _ if self.vxlan[..self.n_vxlan as usize].contains(&p) => Some(TunnelKind::Vxlan),
            _ => None,
        }
    }
}

/// What a tunnel's payload starts with.
pub(super) enum Inner {
    /// An Ethernet frame at this offset.
    Ethernet(usize),
    /// An IP packet at this offset, its version told by its first nibble.
    Ip(usize),
    /// A payload of this EtherType at this offset (IPv4, IPv6, MPLS, ...).
    EtherType(usize, u16),
}

/// The payload frame of a tunnel: the captured bytes `data` (at most `wire` on the wire), one
/// level deeper than `outer`.
fn payload<'a>(outer: &Frame<'a>, data: &'a [u8], wire: usize) -> Frame<'a> {
    Frame {
        depth: outer.depth + 1,
        ..outer.sub(data, outer.cut && data.len() < wire)
    }
}

/// Decodes the packet inside a tunnel's payload frame.
fn inner(sub: &Frame<'_>, wire: usize, what: Inner) -> Result<Packet, Skip> {
    let mut vlan = VlanStack::default();
    match what {
        Inner::Ethernet(off) => {
            let et = ethernet::header(sub, off)?;
            ethernet::ether_payload(sub, wire, off + ethernet::HEADER_LEN, et, &mut vlan)
        }
        Inner::EtherType(off, et) => ethernet::ether_payload(sub, wire, off, et, &mut vlan),
        Inner::Ip(off) => {
            let h = sub.header(off, 1, Layer::Ipv4)?;
            match h[0] >> 4 {
                4 => ipv4::ipv4(sub, wire, off, vlan),
                6 => ipv6::ipv6(sub, wire, off, vlan),
                _ => Err(Skip::Malformed(Layer::Ipv4, Reason::BadVersion)),
            }
        }
    }
}

/// An IP-level tunnel (IP in IP, GRE) in the IP packet `ip`: the inner packet, with the tunnel
/// pushed on its stack.
pub(super) fn over_ip(frame: &Frame<'_>, ip: &Ip<'_>, vlan: VlanStack) -> Result<Packet, Skip> {
    let layer = if ip.proto == super::ipproto::GRE {
        Layer::Gre
    } else {
        Layer::IpInIp
    };
    if frame.depth as usize >= MAX_ENCAP {
        return Err(Skip::Malformed(layer, Reason::TooManyHeaders));
    }
    let wire = ip.l4_len as usize;
    let sub = payload(frame, ip.l4, wire);
    let (kind, id, what) = if ip.proto == super::ipproto::GRE {
        gre::gre(&sub)?
    } else if ip.proto == super::ipproto::IPIP {
        (
            TunnelKind::Ip,
            None,
            Inner::EtherType(0, ethernet::ethertype::IPV4),
        )
    } else {
        (
            TunnelKind::Ip,
            None,
            Inner::EtherType(0, ethernet::ethertype::IPV6),
        )
    };
    let mut p = inner(&sub, wire, what)?;
    p.encap.push_outer(Tunnel {
        kind,
        v6: ip.v6,
        src: ip.src,
        dst: ip.dst,
        id,
        src_port: 0,
        dst_port: 0,
        ip_len: ip.ip_len,
        payload_len: 0,
        vlan,
        csum: super::ip::verdict(frame, ip, false),
    });
    Ok(p)
}

/// A UDP datagram that may carry a tunnel: `Ok(inner packet)` when one of its ports is a
/// tunnel's (the destination port first) and the payload decodes. Otherwise the datagram is a
/// packet of its own: `Err(Some(kind))` when its tunnel header was read but what it carries is
/// no flow packet, `Err(None)` when it is not a tunnel's datagram.
pub(super) fn over_udp(
    frame: &Frame<'_>,
    ip: &Ip<'_>,
    vlan: VlanStack,
    udp: &super::Udp,
) -> Result<Packet, Option<TunnelKind>> {
    let kind = frame
        .settings
        .tunnels
        .udp_kind(udp.dst_port)
        .or_else(|| frame.settings.tunnels.udp_kind(udp.src_port))
        .ok_or(None)?;
    if frame.depth as usize >= MAX_ENCAP {
        return Err(None);
    }
    let wire = udp.payload_len as usize;
    let data = ip.l4.get(super::udp::HEADER_LEN..).unwrap_or(&[]);
    let sub = payload(frame, data, wire);
    let header = match kind {
        TunnelKind::Vxlan => vxlan::vxlan(&sub).ok(),
        TunnelKind::Geneve => geneve::geneve(&sub).ok(),
        TunnelKind::Gtpu => gtpu::gtpu(&sub).ok(),
        TunnelKind::Teredo => teredo::teredo(&sub, wire).map(|w| (None, w)),
        TunnelKind::Ayiya => ayiya::ayiya(&sub).ok().map(|w| (None, w)),
        _ => mpls::labels(&sub, 0)
            .ok()
            .map(|(off, et)| (None, Inner::EtherType(off, et))),
    };
    let (id, what) = header.ok_or(None)?;
    let mut p = match inner(&sub, wire, what) {
        Ok(p) => p,
        // Zeek believes a G-PDU only when what it carries has a readable IP header (its GTPv1
        // analyzer confirms after IP::ParsePacket): otherwise the datagram is plain UDP.
        Err(Skip::Malformed(l, _) | Skip::Truncated(l))
            if kind == TunnelKind::Gtpu
                && matches!(l, Layer::Ipv4 | Layer::Ipv6 | Layer::Ipv6Ext) =>
        {
            return Err(None);
        }
        Err(_) => return Err(Some(kind)),
    };
    p.encap.push_outer(Tunnel {
        kind,
        v6: ip.v6,
        src: ip.src,
        dst: ip.dst,
        id,
        src_port: udp.src_port,
        dst_port: udp.dst_port,
        ip_len: ip.ip_len,
        payload_len: udp.payload_len,
        vlan,
        csum: super::ip::verdict(frame, ip, true),
    });
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    /// A UDP tunnel's outer IPv4 header and UDP checksum are verified with the packet (and the
    /// inner packet decoded whatever they are: what a bad one means is the flow stage's).
    #[test]
    fn outer_checksums_are_verified() {
        let mut f = udp_tunnel(4789, &[0x08, 0, 0, 0, 0, 0, 42, 0], &eth_tcp(3));
        let h = checksum::compute(&f[14..34], 0);
        f[24..26].copy_from_slice(&h.to_be_bytes());
        let outer = |f: &[u8]| verified(linktype::ETHERNET, f).encap.layers()[0].csum;
        // A zero UDP checksum over IPv4: none sent, nothing wrong.
        assert_eq!(outer(&f), Checksum::Good);
        let mut acc = checksum::sum(&f[26..34], 0);
        acc += u64::from(ipproto::UDP) + (f.len() - 34) as u64;
        let c = checksum::compute(&f[34..], acc);
        f[40..42].copy_from_slice(&c.to_be_bytes());
        assert_eq!(outer(&f), Checksum::Good);
        f[40] ^= 0xff;
        assert_eq!(outer(&f), Checksum::BadL4);
        f[40] ^= 0xff;
        f[22] ^= 1; // the outer TTL: the IPv4 header checksum no longer adds up
        assert_eq!(outer(&f), Checksum::BadIp);
        // Not verified unless asked.
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.encap.layers()[0].csum, Checksum::Unchecked);
        assert_eq!(tcp_of(&p).dst_port, 80);
    }

    #[test]
    fn encap_stack_is_outer_first_and_bounded() {
        let mut e = Encap::default();
        for k in [
            TunnelKind::Gre,
            TunnelKind::Vxlan,
            TunnelKind::Ip,
            TunnelKind::Gtpu,
        ] {
            e.push_outer(Tunnel {
                kind: k,
                ..Tunnel::default()
            });
        }
        // Pushed from the inside out: the last pushed is the outermost; past the bound
        // (MAX_ENCAP, 2), none.
        let kinds: Vec<_> = e.layers().iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TunnelKind::Vxlan, TunnelKind::Gre]);
    }

    #[test]
    fn vxlan_ports_config() {
        let c = TunnelConfig::with_vxlan_ports(&[8472]).unwrap();
        assert_eq!(c.vxlan_ports().collect::<Vec<_>>(), [4789, 8472]);
        assert_eq!(c.udp_kind(8472), Some(TunnelKind::Vxlan));
        assert_eq!(TunnelConfig::DEFAULT.udp_kind(8472), None);
        assert!(TunnelConfig::with_vxlan_ports(&[1; 9]).is_err());
    }

    /// IPv4 in IPv4, IPv6 in IPv4, IPv4 in IPv6, IPv6 in IPv6.
    #[test]
    fn ip_in_ip_all_four() {
        let inner4 = {
            let mut v = ipv4_hdr(ipproto::TCP, 40);
            v.extend(tcp_hdr(tcpflags::SYN));
            v
        };
        let inner6 = {
            let mut v = ipv6_hdr(ipproto::TCP, 20);
            v.extend(tcp_hdr(tcpflags::SYN));
            v
        };
        for (outer6, inner) in [
            (false, &inner4),
            (false, &inner6),
            (true, &inner4),
            (true, &inner6),
        ] {
            let proto = if inner[0] >> 4 == 4 {
                ipproto::IPIP
            } else {
                ipproto::IPV6
            };
            let mut f = if outer6 {
                ipv6_hdr(proto, inner.len() as u16)
            } else {
                ipv4_hdr(proto, (20 + inner.len()) as u16)
            };
            f.extend(inner);
            let p = decode(linktype::RAW, &f, f.len() as u32).unwrap();
            assert_eq!(p.v6, inner[0] >> 4 == 6);
            assert_eq!(tcp_of(&p).dst_port, 80);
            let t = p.encap.layers();
            assert_eq!(t.len(), 1);
            assert_eq!(
                (t[0].kind, t[0].v6, t[0].id),
                (TunnelKind::Ip, outer6, None)
            );
            assert_eq!(t[0].ip_len as usize, f.len());
            assert_eq!((t[0].src_port, t[0].dst_port), (0, 0));
        }
    }

    #[test]
    fn nesting_past_the_bound() {
        // IPv4 in IPv4, MAX_ENCAP + 1 times.
        let mut f = ipv4_hdr(ipproto::TCP, 40);
        f.extend(tcp_hdr(tcpflags::SYN));
        for _ in 0..MAX_ENCAP {
            let mut o = ipv4_hdr(ipproto::IPIP, (20 + f.len()) as u16);
            o.extend(&f);
            f = o;
        }
        let p = decode(linktype::RAW, &f, f.len() as u32).unwrap();
        assert_eq!(p.encap.layers().len(), MAX_ENCAP);
        let mut o = ipv4_hdr(ipproto::IPIP, (20 + f.len()) as u16);
        o.extend(&f);
        assert_eq!(
            decode(linktype::RAW, &o, o.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::IpInIp, Reason::TooManyHeaders)
        );
    }

    #[test]
    fn ip_in_ip_inner_damage_is_the_inner_skip() {
        let mut f = ipv4_hdr(ipproto::IPIP, 20 + 10);
        f.extend([0x45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            decode(linktype::RAW, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Ipv4, Reason::TooShort)
        );
    }
}

#[cfg(test)]
mod prop {
    use super::super::testutil::*;
    use super::super::*;
    use proptest::prelude::*;

    /// One valid frame of each tunnel.
    fn frames() -> Vec<Vec<u8>> {
        let mut ip_tcp = ipv4_hdr(ipproto::TCP, 40);
        ip_tcp.extend(tcp_hdr(tcpflags::SYN));
        let mut gre = eth(ethertype::IPV4);
        gre.extend(ipv4_hdr(ipproto::GRE, (20 + 16 + 14 + 40) as u16));
        gre.extend([0x10, 0, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 0, 0, 5, 0, 0, 0, 0]);
        gre.extend([0x00; 4]); // ERSPAN III header tail (12 bytes in all)
        gre.extend(eth_tcp(0));
        let gre = {
            // Recompute the outer length for the 12-byte ERSPAN III header.
            let mut g = gre;
            let total = (g.len() - 14) as u16;
            g[16..18].copy_from_slice(&total.to_be_bytes());
            g
        };
        vec![
            gre,
            udp_tunnel(4789, &[0x08, 0, 0, 0, 0, 0, 42, 0], &eth_tcp(5)),
            udp_tunnel(6081, &[0x00, 0, 0x65, 0x58, 0, 0, 9, 0], &eth_tcp(5)),
            udp_tunnel(2152, &[0x30, 0xff, 0, 40, 0, 0, 0, 1], &ip_tcp),
            udp_tunnel(5072, &[0x00, 0x02, 0x11, 4, 0, 0, 0, 0, 1], &ip_tcp),
            udp_tunnel(6635, &[0, 1, 1, 64], &ip_tcp),
        ]
    }

    #[test]
    fn each_tunnel_decodes() {
        for f in frames() {
            let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
            assert_eq!(p.encap.layers().len(), 1, "{p:?}");
            assert_eq!(tcp_of(&p).dst_port, 80);
        }
    }

    #[test]
    fn every_truncation_of_tunnel_frames_is_handled() {
        for f in frames() {
            for n in 0..f.len() {
                // Cut by the snaplen: never a panic, never a short-frame claim.
                if let Err(Skip::Malformed(_, Reason::TooShort)) =
                    decode(linktype::ETHERNET, &f[..n], f.len() as u32)
                {
                    panic!("prefix {n} reported as a short frame");
                }
                // Short on the wire: never a panic.
                let _ = decode(linktype::ETHERNET, &f[..n], n as u32);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Arbitrary bytes as the payload of every tunnel: decoding never panics.
        #[test]
        fn never_panics_inside_tunnels(
            tail in proptest::collection::vec(any::<u8>(), 0..160),
            port in prop::sample::select(vec![4789u16, 6081, 2152, 3544, 5072, 6635]),
            proto in prop::sample::select(vec![ipproto::GRE, ipproto::IPIP, ipproto::IPV6]),
        ) {
            let f = udp_tunnel(port, &[], &tail);
            let _ = decode(linktype::ETHERNET, &f, f.len() as u32);
            let mut g = ipv4_hdr(proto, (20 + tail.len()) as u16);
            g.extend(&tail);
            let _ = decode(linktype::RAW, &g, g.len() as u32);
            let mut h = ipv6_hdr(proto, tail.len() as u16);
            h.extend(&tail);
            let _ = decode(linktype::RAW, &h, h.len() as u32);
        }
    }
}

#[cfg(test)]
mod size {
    /// Decoding builds a packet by value; what crosses to the flow thread is smaller (the engine's
    /// batches keep the tunnel stack and VLAN tags aside).
    #[test]
    fn packet_size() {
        assert_eq!(std::mem::size_of::<super::Tunnel>(), 76);
        assert_eq!(std::mem::size_of::<super::Encap>(), 156);
        assert_eq!(std::mem::size_of::<super::super::Packet>(), 320);
    }
}
