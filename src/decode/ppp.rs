//! PPP frames (LINKTYPE_PPP 9, LINKTYPE_PPP_HDLC 50, and Linux cooked captures of protocol
//! 0x0007): the optional HDLC-like address and control bytes, then the PPP protocol field, full
//! or compressed, then IPv4, IPv6 or MPLS.
//!
//! Format: RFC 1661 section 2 (protocol field, its compression in section 6.5), RFC 1662
//! section 3.1 (address 0xff, control 0x03, omitted under address-and-control-field
//! compression); libpcap's `pcap-linktype(7)` for LINKTYPE_PPP_HDLC carrying Cisco HDLC when
//! the first byte is 0x0f or 0x8f, which Wireshark's `dissect_ppp_hdlc` in
//! `epan/dissectors/packet-ppp.c` applies to both link types.

use super::ethernet::{VlanStack, ether_payload, ethertype};
use super::{Frame, Layer, Packet, Skip, be16, chdlc};

mod field {
    /// HDLC address: 0xff (all stations) when present.
    pub const ADDRESS: usize = 0;
    /// HDLC control: 0x03 (unnumbered information) when present.
    pub const _CONTROL: usize = 1;
    /// Address and control, bytes.
    pub const ADDR_CTRL_LEN: usize = 2;
    /// Protocol field: 2 bytes, or 1 when compressed (its low bit set).
    pub const PROTOCOL_LEN: usize = 2;
}

/// The all-stations HDLC address.
const ADDRESS_ALL: u8 = 0xff;

/// PPP protocol numbers followed.
pub(super) mod proto {
    pub const IPV4: u16 = 0x0021;
    pub const IPV6: u16 = 0x0057;
    pub const MPLS_UNICAST: u16 = 0x0281;
    pub const MPLS_MULTICAST: u16 = 0x0283;
}

/// Decodes the PPP frame at `off`.
pub(super) fn ppp(frame: &Frame<'_>, wire: usize, off: usize) -> Result<Packet, Skip> {
    let h = frame.header(off, 1, Layer::Ppp)?;
    let mut p = off;
    match h[field::ADDRESS] {
        chdlc::ADDRESS_UNICAST | chdlc::ADDRESS_MULTICAST => {
            return chdlc::chdlc(frame, wire, off);
        }
        ADDRESS_ALL => {
            frame.header(off, field::ADDR_CTRL_LEN, Layer::Ppp)?;
            p += field::ADDR_CTRL_LEN;
        }
        // Address and control compressed away: the frame starts with the protocol.
        _ => {}
    }
    let h = frame.header(p, 1, Layer::Ppp)?;
    let protocol = if h[0] & 1 == 1 {
        // Protocol-field compression: protocols below 0x0100 sent as their low byte.
        p += 1;
        u16::from(h[0])
    } else {
        let h = frame.header(p, field::PROTOCOL_LEN, Layer::Ppp)?;
        p += field::PROTOCOL_LEN;
        be16(h, 0..2)
    };
    let et = match protocol {
        proto::IPV4 => ethertype::IPV4,
        proto::IPV6 => ethertype::IPV6,
        proto::MPLS_UNICAST => ethertype::MPLS_UNICAST,
        proto::MPLS_MULTICAST => ethertype::MPLS_MULTICAST,
        other => return Err(Skip::NotIpPpp(other)),
    };
    ether_payload(frame, wire, p, et, &mut VlanStack::default())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    fn with(head: &[u8]) -> Vec<u8> {
        let mut f = head.to_vec();
        f.extend(ipv4_hdr(ipproto::TCP, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        f
    }

    #[test]
    fn every_framing_of_ipv4() {
        for head in [
            &[0xff, 0x03, 0x00, 0x21][..], // address, control, protocol
            &[0x00, 0x21],                 // address and control compressed
            &[0xff, 0x03, 0x21],           // protocol compressed
            &[0x21],                       // both compressed
        ] {
            for lt in [linktype::PPP, linktype::PPP_HDLC] {
                let f = with(head);
                let p = decode(lt, &f, f.len() as u32).unwrap();
                assert_eq!(tcp_of(&p).dst_port, 80, "{head:?}");
            }
        }
    }

    #[test]
    fn ipv6_and_mpls() {
        let mut f = vec![0xff, 0x03, 0x00, 0x57];
        f.extend(ipv6_hdr(ipproto::TCP, 20));
        f.extend(tcp_hdr(tcpflags::SYN));
        assert!(decode(linktype::PPP, &f, f.len() as u32).unwrap().v6);
        let mut f = vec![0xff, 0x03, 0x02, 0x81, 0x00, 0x01, 0x01, 64]; // label 16, bottom
        f.extend(ipv4_hdr(ipproto::UDP, 28));
        f.extend([0, 53, 0, 53, 0, 8, 0, 0]);
        assert!(decode(linktype::PPP, &f, f.len() as u32).is_ok());
    }

    #[test]
    fn cisco_hdlc_inside_ppp_hdlc() {
        let f = with(&[0x0f, 0x00, 0x08, 0x00]);
        assert!(decode(linktype::PPP_HDLC, &f, f.len() as u32).is_ok());
    }

    #[test]
    fn control_protocols_are_not_ip() {
        let f = [0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]; // LCP configure-request
        assert_eq!(
            decode(linktype::PPP, &f, 8).unwrap_err(),
            Skip::NotIpPpp(0xc021)
        );
        let f = [0x2d, 0, 0, 0]; // Van Jacobson compressed TCP, protocol compressed
        assert_eq!(
            decode(linktype::PPP, &f, 4).unwrap_err(),
            Skip::NotIpPpp(0x002d)
        );
    }

    #[test]
    fn cut_and_short() {
        let f = [0xff, 0x03, 0x00];
        assert_eq!(
            decode(linktype::PPP, &f, 44).unwrap_err(),
            Skip::Truncated(Layer::Ppp)
        );
        assert_eq!(
            decode(linktype::PPP, &f, 3).unwrap_err(),
            Skip::Malformed(Layer::Ppp, Reason::TooShort)
        );
        assert_eq!(
            decode(linktype::PPP, &[0xff], 1).unwrap_err(),
            Skip::Malformed(Layer::Ppp, Reason::TooShort)
        );
        assert_eq!(
            decode(linktype::PPP, &[], 0).unwrap_err(),
            Skip::Malformed(Layer::Ppp, Reason::TooShort)
        );
    }
}
