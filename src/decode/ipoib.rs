//! IP over InfiniBand (LINKTYPE_IPOIB 242): a 40-byte address header, then the 4-byte IPoIB
//! encapsulation header (an EtherType and 2 reserved bytes), then the packet.
//!
//! Format: RFC 4391 section 6 (the IPoIB header) and, for the 40 bytes before it, Wireshark's
//! `epan/dissectors/packet-ipoib.c` (a GRH-shaped pseudo-header of 40 bytes for
//! WTAP_ENCAP_IP_OVER_IB_PCAP) and tcpdump's `print-ipoib.c` (header length 44, EtherType at
//! byte 40).

use super::ethernet::{VlanStack, ether_payload};
use super::{Frame, Layer, Packet, Skip, be16};

mod field {
    use super::super::Field;
    /// Pseudo-header in the shape of an InfiniBand global route header (addresses, QPN).
    pub const _PSEUDO: Field = 0..40;
    /// Protocol: an EtherType.
    pub const PROTOCOL: Field = 40..42;
    /// Reserved (zero).
    pub const _RESERVED: Field = 42..44;
    /// Header length, bytes.
    pub const LEN: usize = 44;
}

/// Decodes an IPoIB frame.
pub(super) fn ipoib(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, field::LEN, Layer::Ipoib)?;
    let et = be16(h, field::PROTOCOL);
    ether_payload(frame, wire, field::LEN, et, &mut VlanStack::default())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn ipv4_and_arp() {
        let mut f = vec![0u8; 40];
        f.extend([0x08, 0x00, 0, 0]);
        f.extend(ipv4_hdr(ipproto::TCP, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        assert!(decode(linktype::IPOIB, &f, f.len() as u32).is_ok());
        f[40..42].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(
            decode(linktype::IPOIB, &f, f.len() as u32).unwrap_err(),
            Skip::NotIp(0x0806)
        );
        assert_eq!(
            decode(linktype::IPOIB, &f[..42], 100).unwrap_err(),
            Skip::Truncated(Layer::Ipoib)
        );
    }
}
