//! What IPv4 and IPv6 hand to the transport layer, and the transport dispatch.

use super::{
    Addr, Checksum, Frame, Packet, Skip, Transport, VlanStack, checksum, icmp, ipproto, tcp, udp,
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
    /// The IPv4 header checksum was verified and is wrong.
    pub bad_header: bool,
}

/// Decodes the transport header of `ip`.
pub(super) fn transport(frame: &Frame<'_>, ip: Ip<'_>, vlan: VlanStack) -> Result<Packet, Skip> {
    // The transport header is checked against the captured bytes the IP layer left.
    let sub = Frame {
        data: ip.l4,
        cut: frame.cut && (ip.l4.len() as u32) < ip.l4_len,
        verify: frame.verify,
    };
    let transport = match ip.proto {
        ipproto::TCP => Transport::Tcp(tcp::tcp(&sub, ip.l4_len)?),
        ipproto::UDP => Transport::Udp(udp::udp(&sub, ip.l4_len)?),
        ipproto::ICMP if !ip.v6 => Transport::Icmp(icmp::icmp(&sub)?),
        ipproto::ICMPV6 if ip.v6 => Transport::Icmp(icmp::icmpv6(&sub)?),
        other => return Err(Skip::IpProto(other)),
    };
    let csum = if ip.bad_header {
        Checksum::BadIp
    } else if (ip.l4.len() as u32) < ip.l4_len {
        Checksum::Cut
    } else if !frame.verify || matches!(transport, Transport::Icmp(_)) {
        Checksum::Unchecked
    } else if checksum::transport_ok(ip.v6, &ip.src, &ip.dst, ip.proto, ip.l4) {
        Checksum::Good
    } else {
        Checksum::BadL4
    };
    Ok(Packet {
        vlan,
        v6: ip.v6,
        src: ip.src,
        dst: ip.dst,
        ip_len: ip.ip_len,
        transport,
        csum,
    })
}
