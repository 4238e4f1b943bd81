//! Apple PKTAP (LINKTYPE_PKTAP 258; DLT 149 on Darwin): a metadata header (interface, process)
//! in the capturing host's byte order, little-endian in practice, then a frame of the DLT it
//! names.
//!
//! Format: libpcap's `pcap/pktap.h`-era description in Wireshark's
//! `epan/dissectors/packet-pktap.c`: header length (at least 108), record type (1: a packet
//! follows), DLT, then interface name, flags, process data; the frame starts at the header
//! length.

use super::{Frame, Layer, Opaque, Packet, Reason, Skip, le32, linktype, wrapped};

mod field {
    use super::super::Field;
    /// Header length, bytes (little-endian).
    pub const LENGTH: Field = 0..4;
    /// Record type: 1, a packet follows; 0, nothing does (little-endian).
    pub const RECORD_TYPE: Field = 4..8;
    /// DLT_* number of the frame (little-endian).
    pub const DLT: Field = 8..12;
    /// Interface name (24), flags, protocol family, pre/post lengths, process ids and names.
    pub const _REST: Field = 12..108;
    /// Shortest header, bytes.
    pub const MIN_LEN: usize = 108;
}

/// Record type: a packet follows the header.
const RECORD_PACKET: u32 = 1;

/// Decodes a PKTAP header and the frame behind it.
pub(super) fn pktap(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, field::LENGTH.end, Layer::Pktap)?;
    let len = le32(h, field::LENGTH) as usize;
    if len < field::MIN_LEN {
        return Err(Skip::Malformed(Layer::Pktap, Reason::BadHeaderLength));
    }
    let h = frame.header(0, len, Layer::Pktap)?;
    if le32(h, field::RECORD_TYPE) != RECORD_PACKET {
        return Err(Skip::Opaque(Layer::Pktap, Opaque::NoPayload));
    }
    let dlt = le32(h, field::DLT);
    wrapped(frame, wire, len, linktype::linktype_for_dlt(dlt), 0)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    /// A 108-byte PKTAP header: record type `rec`, DLT `dlt`, interface "en0".
    fn pktap(rec: u32, dlt: u32) -> Vec<u8> {
        let mut v = 108u32.to_le_bytes().to_vec();
        v.extend(rec.to_le_bytes());
        v.extend(dlt.to_le_bytes());
        let mut name = [0u8; 24];
        name[..3].copy_from_slice(b"en0");
        v.extend(name);
        v.resize(108, 0);
        v
    }

    #[test]
    fn ethernet_and_raw_ip_behind_pktap() {
        let mut f = pktap(1, 1);
        f.extend(eth_tcp(5));
        let p = decode(linktype::PKTAP, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).payload_len, 5);
        // DLT_RAW (12) means raw IP.
        let mut f = pktap(1, 12);
        f.extend(ipv4_hdr(ipproto::TCP, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        assert!(decode(linktype::PKTAP, &f, f.len() as u32).is_ok());
    }

    #[test]
    fn no_packet_unknown_dlt_and_bad_length() {
        let f = pktap(0, 1);
        assert_eq!(
            decode(linktype::PKTAP, &f, 108).unwrap_err(),
            Skip::Opaque(Layer::Pktap, Opaque::NoPayload)
        );
        let mut f = pktap(1, 147);
        f.extend([0u8; 20]);
        assert_eq!(
            decode(linktype::PKTAP, &f, f.len() as u32).unwrap_err(),
            Skip::UnsupportedLinkType(147)
        );
        let mut f = pktap(1, 1);
        f[0] = 100;
        assert_eq!(
            decode(linktype::PKTAP, &f, 108).unwrap_err(),
            Skip::Malformed(Layer::Pktap, Reason::BadHeaderLength)
        );
        assert_eq!(
            decode(linktype::PKTAP, &pktap(1, 1)[..50], 200).unwrap_err(),
            Skip::Truncated(Layer::Pktap)
        );
    }
}
