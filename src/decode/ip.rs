//! What IPv4 and IPv6 hand to the transport layer, and the transport dispatch.

use super::{
    Addr, Checksum, Encap, Fragment, Frame, Layer, Packet, Reason, Settings, Skip, Sni, Transport,
    VlanStack, app, checksum, icmp, ipproto, ipv6, tcp, tunnel, udp,
};

/// The network-layer facts shared by the outer packet and a quoted one.
pub(super) struct Ip<'a> {
    pub v6: bool,
    pub src: Addr,
    pub dst: Addr,
    /// Destination of the transport checksum's pseudo-header: `dst`, or the final destination an
    /// IPv6 Routing header names while segments are left.
    pub pseudo_dst: Addr,
    /// Protocol of the transport header (after IPv6 extension headers); for a fragment, the
    /// protocol of the datagram's payload.
    pub proto: u8,
    /// IP bytes of the packet (IPv4 total length, IPv6 payload length + 40).
    pub ip_len: u32,
    /// Transport bytes from the IP length fields (what follows the last IP header); for a
    /// fragment, its data bytes.
    pub l4_len: u32,
    /// The captured transport bytes (a fragment's captured data).
    pub l4: &'a [u8],
    /// Set when the packet is a fragment of a larger datagram (not an atomic fragment).
    pub frag: Option<FragHdr>,
    /// The IPv4 header checksum was verified and is wrong.
    pub bad_header: bool,
}

/// The fragment fields of an IP header.
#[derive(Debug, Clone, Copy)]
pub(super) struct FragHdr {
    /// Identification (IPv4: 16 bits).
    pub id: u32,
    /// Position of the fragment's data in the datagram, bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// IP header bytes before the fragment's data (IPv6: the unfragmentable part).
    pub hdr_len: u32,
    /// Offset of the fragment's data in the frame.
    pub data_off: usize,
}

/// Decodes the transport header of `ip`, or hands a fragment on to reassembly.
pub(super) fn transport(frame: &Frame<'_>, ip: Ip<'_>, vlan: VlanStack) -> Result<Packet, Skip> {
    if let Some(f) = ip.frag {
        return fragment(frame, &ip, f, vlan);
    }
    // The transport header is checked against the captured bytes the IP layer left.
    let sub = frame.sub(ip.l4, frame.cut && (ip.l4.len() as u32) < ip.l4_len);
    let mut encap = Encap::default();
    let mut sni = Sni::default();
    let transport = match ip.proto {
        ipproto::TCP => {
            let mut t = tcp::tcp(&sub, ip.l4_len)?;
            let header = (ip.l4_len - t.payload_len) as usize;
            t.app = app_of(ip.l4, header, t.payload_len, true, &mut sni);
            Transport::Tcp(t)
        }
        ipproto::UDP => {
            let mut u = udp::udp(&sub, ip.l4_len)?;
            // A tunnel's datagram gives the packet inside it, when that decodes.
            match tunnel::over_udp(frame, &ip, vlan, &u) {
                Ok(inner) => return Ok(inner),
                Err(carrier) => encap.carrier = carrier,
            }
            if encap.carrier.is_none() {
                u.app = app_of(ip.l4, udp::HEADER_LEN, u.payload_len, false, &mut sni);
            }
            Transport::Udp(u)
        }
        ipproto::GRE | ipproto::IPIP | ipproto::IPV6 => {
            return tunnel::over_ip(frame, &ip, vlan);
        }
        ipproto::ICMP if !ip.v6 => Transport::Icmp(icmp::icmp(&sub)?),
        ipproto::ICMPV6 if ip.v6 => Transport::Icmp(icmp::icmpv6(&sub)?),
        other => return Err(Skip::IpProto(other)),
    };
    let csum = verdict(frame, &ip, !matches!(transport, Transport::Icmp(_)));
    Ok(Packet {
        vlan,
        v6: ip.v6,
        src: ip.src,
        dst: ip.dst,
        ip_len: ip.ip_len,
        transport,
        encap,
        csum,
        sni,
    })
}

/// What the payload of a segment or datagram begins with: `l4` holds its captured transport
/// bytes, the payload starts `header` bytes in and has `len` bytes on the wire. A ClientHello's
/// server name is copied into `sni`; one too long to keep is reported as cut.
#[inline]
fn app_of(l4: &[u8], header: usize, len: u32, tcp: bool, sni: &mut Sni) -> app::AppHint {
    if len == 0 {
        return app::AppHint::default();
    }
    let payload = l4.get(header..).unwrap_or(&[]);
    if payload.is_empty() {
        // The snaplen ended the frame with the headers.
        return app::AppHint {
            hint: app::Hint::Short,
            ..Default::default()
        };
    }
    let mut h = app::recognise(payload, tcp);
    if let Some(name) = h.name(payload) {
        match Sni::new(name) {
            Some(name) => *sni = name,
            None => h.extra |= app::SNI_CUT,
        }
        h.name_len = 0;
    }
    h
}

/// What checksum verification finds for the packet `ip`: its IPv4 header, and when `l4` (TCP
/// or UDP) its transport checksum, verified only if the settings say so; a packet whose
/// transport bytes the snaplen cut is `Cut` either way.
pub(super) fn verdict(frame: &Frame<'_>, ip: &Ip<'_>, l4: bool) -> Checksum {
    if ip.bad_header {
        Checksum::BadIp
    } else if (ip.l4.len() as u32) < ip.l4_len {
        Checksum::Cut
    } else if !frame.settings.verify || !l4 {
        Checksum::Unchecked
    } else if checksum::transport_ok(ip.v6, &ip.src, &ip.pseudo_dst, ip.proto, ip.l4) {
        Checksum::Good
    } else {
        Checksum::BadL4
    }
}

/// A fragment, as the reassembly stage takes it: its fields and where its data lies in the
/// captured frame (inside a tunnel too). A fragment inside a reassembled datagram is not
/// reassembled again: it is counted as too many headers.
fn fragment(frame: &Frame<'_>, ip: &Ip<'_>, f: FragHdr, vlan: VlanStack) -> Result<Packet, Skip> {
    let layer = if ip.v6 { Layer::Ipv6Ext } else { Layer::Ipv4 };
    let Some(start) = frame.position(f.data_off) else {
        return Err(Skip::Malformed(layer, Reason::TooManyHeaders));
    };
    let start = start as u32;
    Ok(Packet {
        vlan,
        v6: ip.v6,
        src: ip.src,
        dst: ip.dst,
        ip_len: ip.ip_len,
        transport: Transport::Fragment(Fragment {
            id: f.id,
            offset: f.offset,
            more: f.more,
            proto: ip.proto,
            hdr_len: f.hdr_len,
            len: ip.l4_len,
            start,
            end: start + ip.l4.len() as u32,
        }),
        encap: Encap::default(),
        sni: Sni::default(),
        csum: if ip.bad_header {
            Checksum::BadIp
        } else {
            Checksum::Unchecked
        },
    })
}

/// Decodes what a reassembled datagram carries, as if it had come in one packet: `data` holds the
/// captured bytes of its payload from offset 0 (IPv4: after the header; IPv6: after the
/// unfragmentable part, starting with the header the Fragment header named), `len` the payload's
/// length, `proto` the protocol of its first header and `hdr_len` the IP header bytes before it;
/// `base` is one of its fragments (addresses, VLANs, the tunnels around it), `settings` those of
/// the decoding (a reassembled datagram can itself carry a tunnel; its transport checksum is
/// verified when they say so).
pub(crate) fn reassembled(
    base: &Packet,
    proto: u8,
    hdr_len: u32,
    data: &[u8],
    len: u32,
    settings: &Settings,
) -> Result<Packet, Skip> {
    let frame = Frame {
        data,
        cut: (data.len() as u32) < len,
        settings,
        depth: base.encap.layers().len() as u8,
        origin: 0,
    };
    // IPv6: extension headers may follow in the fragmentable part.
    let (proto, pos) = if base.v6 {
        ipv6::chain_reassembled(&frame, proto, len as usize)?
    } else {
        (proto, 0)
    };
    let l4 = data.get(pos..).unwrap_or(&[]);
    let ip = Ip {
        v6: base.v6,
        src: base.src,
        dst: base.dst,
        // A Routing header of the unfragmentable part is not kept with the fragments: a
        // reassembled datagram's checksum is taken over the IPv6 destination.
        pseudo_dst: base.dst,
        proto,
        ip_len: hdr_len + len,
        l4_len: len - pos as u32,
        l4,
        frag: None,
        bad_header: false,
    };
    let mut p = transport(&frame, ip, base.vlan)?;
    // The tunnels the fragments came through are around what the datagram carries.
    for t in base.encap.layers().iter().rev() {
        p.encap.push_outer(*t);
    }
    Ok(p)
}
