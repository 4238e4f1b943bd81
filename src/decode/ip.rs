//! What IPv4 and IPv6 hand to the transport layer, and the transport dispatch.

use super::{
    Addr, Encap, Frame, Packet, Skip, Transport, VlanStack, icmp, ipproto, tcp, tunnel, udp,
};

/// The network-layer facts shared by the outer packet and a quoted one.
pub(super) struct Ip<'a> {
    pub v6: bool,
    pub src: Addr,
    pub dst: Addr,
    /// Protocol of the transport header (after IPv6 extension headers).
    pub proto: u8,
    /// IP bytes of the packet (IPv4 total length, IPv6 payload length + 40).
    pub ip_len: u32,
    /// Transport bytes from the IP length fields (what follows the last IP header).
    pub l4_len: u32,
    /// The captured transport bytes.
    pub l4: &'a [u8],
}

/// Decodes the transport header of `ip`.
pub(super) fn transport(frame: &Frame<'_>, ip: Ip<'_>, vlan: VlanStack) -> Result<Packet, Skip> {
    // The transport header is checked against the captured bytes the IP layer left.
    let sub = Frame {
        data: ip.l4,
        cut: frame.cut && (ip.l4.len() as u32) < ip.l4_len,
        tunnels: frame.tunnels,
        depth: frame.depth,
    };
    let mut encap = Encap::default();
    let transport = match ip.proto {
        ipproto::TCP => Transport::Tcp(tcp::tcp(&sub, ip.l4_len)?),
        ipproto::UDP => {
            let u = udp::udp(&sub, ip.l4_len)?;
            // A tunnel's datagram gives the packet inside it, when that decodes.
            match tunnel::over_udp(frame, &ip, vlan, &u) {
                Ok(inner) => return Ok(inner),
                Err(carrier) => encap.carrier = carrier,
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
    Ok(Packet {
        vlan,
        v6: ip.v6,
        src: ip.src,
        dst: ip.dst,
        ip_len: ip.ip_len,
        transport,
        encap,
    })
}
