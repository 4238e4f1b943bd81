//! ARCNET (LINKTYPE_ARCNET_BSD 7, LINKTYPE_ARCNET_LINUX 129): source and destination station,
//! on Linux a 2-byte offset, then a protocol id; RFC 1201 protocols add a split flag and a
//! sequence number (and, on BSD, exception packets repeat them after padding); RFC 1051 IP has
//! neither.
//!
//! Format: RFC 1201 section "Packet Header Definition", RFC 1051, RFC 2497 (IPv6, protocol id
//! 0xc4), and tcpdump's `print-arcnet.c` (`struct arc_header`, `ARC_HDRLEN` 3,
//! `ARC_HDRNEWLEN` 6, `ARC_HDRNEWLEN_EXC` 10, `ARC_LINUX_HDRLEN` 5, `ARC_LINUX_HDRNEWLEN` 8),
//! as Wireshark's `epan/dissectors/packet-arcnet.c` also reads it.

use super::{Frame, Layer, Opaque, Packet, Skip, VlanStack, ipv4, ipv6};

mod field {
    /// Source station.
    pub const _SRC: usize = 0;
    /// Destination station.
    pub const _DST: usize = 1;
    /// Protocol id, BSD header.
    pub const PROTOCOL_BSD: usize = 2;
    /// Protocol id, Linux header (after a 2-byte offset field).
    pub const PROTOCOL_LINUX: usize = 4;
    /// RFC 1201 split flag, sequence number: bytes after the protocol id.
    pub const SPLIT_LEN: usize = 3;
    /// BSD exception packet: padding, protocol id, split flag and sequence number again, bytes
    /// after the protocol id; the real split flag is at byte 4 of them.
    pub const EXCEPTION_LEN: usize = 7;
    pub const EXCEPTION_FLAG: usize = 4;
}

/// Protocol ids.
mod proto {
    /// IPv4, RFC 1201.
    pub const IP: u8 = 0xd4;
    /// IPv6, RFC 2497.
    pub const IPV6: u8 = 0xc4;
    /// IPv4, RFC 1051 (no split flag).
    pub const IP_OLD: u8 = 0xf0;
    /// ARP, RFC 1051 (no split flag).
    pub const ARP_OLD: u8 = 0xf1;
    /// Diagnostics (no split flag).
    pub const DIAGNOSE: u8 = 0x80;
}

/// Split flag of an exception packet.
const SPLIT_EXCEPTION: u8 = 0xff;

/// Decodes an ARCNET frame, with the Linux header when `linux`.
pub(super) fn arcnet(frame: &Frame<'_>, wire: usize, linux: bool) -> Result<Packet, Skip> {
    let at = if linux {
        field::PROTOCOL_LINUX
    } else {
        field::PROTOCOL_BSD
    };
    let h = frame.header(0, at + 1, Layer::Arcnet)?;
    let protocol = h[at];
    let mut off = at + 1;
    if !matches!(protocol, proto::IP_OLD | proto::ARP_OLD | proto::DIAGNOSE) {
        let h = frame.header(off, field::SPLIT_LEN, Layer::Arcnet)?;
        let mut split = h[0];
        if split == SPLIT_EXCEPTION && !linux {
            let h = frame.header(off, field::EXCEPTION_LEN, Layer::Arcnet)?;
            split = h[field::EXCEPTION_FLAG];
            off += field::EXCEPTION_LEN;
        } else {
            off += field::SPLIT_LEN;
        }
        if split != 0 {
            return Err(Skip::Opaque(Layer::Arcnet, Opaque::Fragment));
        }
    }
    let vlan = VlanStack::default();
    match protocol {
        proto::IP | proto::IP_OLD => ipv4::ipv4(frame, wire, off, vlan),
        proto::IPV6 => ipv6::ipv6(frame, wire, off, vlan),
        other => Err(Skip::NotIpLink(Layer::Arcnet, u32::from(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    fn ip() -> Vec<u8> {
        let mut v = ipv4_hdr(ipproto::TCP, 40);
        v.extend(tcp_hdr(tcpflags::SYN));
        v
    }

    #[test]
    fn headers_of_both_link_types() {
        for (lt, head) in [
            (linktype::ARCNET_BSD, &[1, 2, 0xd4, 0, 0, 1][..]), // RFC 1201
            (linktype::ARCNET_BSD, &[1, 2, 0xf0]),              // RFC 1051
            (
                linktype::ARCNET_BSD,
                &[1, 2, 0xd4, 0xff, 0, 1, 0xd4, 0, 0, 1],
            ), // exception
            (linktype::ARCNET_LINUX, &[1, 2, 0, 0, 0xd4, 0, 0, 1]),
            (linktype::ARCNET_LINUX, &[1, 2, 0, 0, 0xf0]),
        ] {
            let mut f = head.to_vec();
            f.extend(ip());
            assert!(decode(lt, &f, f.len() as u32).is_ok(), "{lt} {head:?}");
        }
        let mut f = vec![1, 2, 0, 0, 0xc4, 0, 0, 1];
        f.extend(ipv6_hdr(ipproto::TCP, 20));
        f.extend(tcp_hdr(tcpflags::SYN));
        assert!(
            decode(linktype::ARCNET_LINUX, &f, f.len() as u32)
                .unwrap()
                .v6
        );
    }

    #[test]
    fn fragments_arp_and_cut() {
        let mut f = vec![1, 2, 0xd4, 3, 0, 1];
        f.extend(ip());
        assert_eq!(
            decode(linktype::ARCNET_BSD, &f, f.len() as u32).unwrap_err(),
            Skip::Opaque(Layer::Arcnet, Opaque::Fragment)
        );
        let f = [1, 2, 0xd5, 0, 0, 1, 0, 1];
        assert_eq!(
            decode(linktype::ARCNET_BSD, &f, 8).unwrap_err(),
            Skip::NotIpLink(Layer::Arcnet, 0xd5)
        );
        assert_eq!(
            decode(linktype::ARCNET_BSD, &[1, 2, 0xd4, 0], 50).unwrap_err(),
            Skip::Truncated(Layer::Arcnet)
        );
        assert_eq!(
            decode(linktype::ARCNET_LINUX, &[1, 2, 0], 3).unwrap_err(),
            Skip::Malformed(Layer::Arcnet, Reason::TooShort)
        );
    }
}
