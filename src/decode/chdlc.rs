//! Cisco HDLC (LINKTYPE_C_HDLC 104, and LINKTYPE_PPP_HDLC frames that start with a Cisco
//! address): address, control, then an EtherType.
//!
//! Format: libpcap's `pcap-linktype(7)` (LINKTYPE_C_HDLC: "Cisco PPP with HDLC framing, as per
//! section 4.3.1 of RFC 1547") and Wireshark's `epan/dissectors/packet-chdlc.c` (address 0x0f
//! unicast or 0x8f multicast, control 0x00, 2-byte protocol that is an EtherType).

use super::ethernet::{VlanStack, ether_payload};
use super::{Frame, Layer, Packet, Skip, be16};

mod field {
    use super::super::Field;
    /// Address: 0x0f unicast, 0x8f multicast.
    pub const _ADDRESS: usize = 0;
    /// Control: 0x00.
    pub const _CONTROL: usize = 1;
    /// Protocol: an EtherType.
    pub const PROTOCOL: Field = 2..4;
    /// Header length, bytes.
    pub const LEN: usize = 4;
}

/// The unicast address.
pub(super) const ADDRESS_UNICAST: u8 = 0x0f;
/// The multicast (broadcast) address.
pub(super) const ADDRESS_MULTICAST: u8 = 0x8f;

/// Decodes the Cisco HDLC frame at `off`.
pub(super) fn chdlc(frame: &Frame<'_>, wire: usize, off: usize) -> Result<Packet, Skip> {
    let h = frame.header(off, field::LEN, Layer::CiscoHdlc)?;
    let et = be16(h, field::PROTOCOL);
    ether_payload(frame, wire, off + field::LEN, et, &mut VlanStack::default())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn ipv4_ipv6_and_slarp() {
        let mut f = vec![0x0f, 0x00, 0x08, 0x00];
        f.extend(ipv4_hdr(ipproto::TCP, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        assert_eq!(
            tcp_of(&decode(linktype::C_HDLC, &f, f.len() as u32).unwrap()).dst_port,
            80
        );
        let mut f = vec![0x8f, 0x00, 0x86, 0xdd];
        f.extend(ipv6_hdr(ipproto::TCP, 20));
        f.extend(tcp_hdr(tcpflags::SYN));
        assert!(decode(linktype::C_HDLC, &f, f.len() as u32).unwrap().v6);
        let f = [0x8f, 0x00, 0x80, 0x35, 0, 0, 0, 2]; // SLARP keepalive
        assert_eq!(
            decode(linktype::C_HDLC, &f, 8).unwrap_err(),
            Skip::NotIp(0x8035)
        );
    }

    #[test]
    fn cut_and_short() {
        let f = [0x0f, 0x00, 0x08];
        assert_eq!(
            decode(linktype::C_HDLC, &f, 60).unwrap_err(),
            Skip::Truncated(Layer::CiscoHdlc)
        );
        assert_eq!(
            decode(linktype::C_HDLC, &f, 3).unwrap_err(),
            Skip::Malformed(Layer::CiscoHdlc, Reason::TooShort)
        );
    }
}
