//! IEEE 802.11 frames (LINKTYPE_IEEE802_11 105, and behind radiotap or PPI): data frames through
//! their LLC/SNAP header to the EtherType; protected, management, control and null-data frames
//! are counted, not decoded.
//!
//! Format: IEEE Std 802.11-2020 section 9.2.4 (frame control, addresses, QoS control, HT
//! control), and Wireshark's `epan/dissectors/packet-ieee80211.c` for which frames carry an HT
//! control field (QoS data frames with the order bit set) and the A-MSDU bit of QoS control.

use super::ethernet::{VlanStack, ether_payload};
use super::{Frame, Layer, Opaque, Packet, Reason, Skip, llc};

mod field {
    /// Frame control, first byte: protocol version (2 bits), type (2), subtype (4), low bit first.
    pub const FC_TYPE: usize = 0;
    /// Frame control, second byte: flags (to DS, from DS, ..., protected, order).
    pub const FC_FLAGS: usize = 1;
    /// Duration or association id, microseconds.
    pub const _DURATION: std::ops::Range<usize> = 2..4;
    /// Receiver, transmitter and third address, then sequence control.
    pub const _ADDRS_SEQ: std::ops::Range<usize> = 4..24;
    /// Header length of a three-address data frame, bytes.
    pub const LEN: usize = 24;
    /// The fourth address (frames with both to-DS and from-DS set), bytes.
    pub const ADDR4_LEN: usize = 6;
    /// QoS control (QoS data subtypes), bytes; its first byte holds the A-MSDU-present bit.
    pub const QOS_LEN: usize = 2;
    /// HT control (QoS data frames with the order flag set), bytes.
    pub const HT_CONTROL_LEN: usize = 4;
}

/// Frame type "data".
const TYPE_DATA: u8 = 2;
/// Subtype bit: a QoS data frame (QoS control follows the addresses).
const SUBTYPE_QOS: u8 = 0x8;
/// Subtype bit: no data (null function, CF-Ack/Poll without data).
const SUBTYPE_NO_DATA: u8 = 0x4;
/// Flags: both to-DS and from-DS (a four-address frame).
const FLAGS_DS: u8 = 0x03;
/// Flags: the body is encrypted.
const FLAG_PROTECTED: u8 = 0x40;
/// Flags: order (+HTC): an HT control field follows QoS control.
const FLAG_ORDER: u8 = 0x80;
/// QoS control: the body is an A-MSDU.
const QOS_AMSDU: u8 = 0x80;

/// Decodes an 802.11 frame; `datapad`: the radio header says the body starts on a 4-byte boundary.
pub(super) fn ieee80211(frame: &Frame<'_>, wire: usize, datapad: bool) -> Result<Packet, Skip> {
    let h = frame.header(0, 2, Layer::Ieee80211)?;
    let (fc, flags) = (h[field::FC_TYPE], h[field::FC_FLAGS]);
    if fc & 0x03 != 0 {
        return Err(Skip::Malformed(Layer::Ieee80211, Reason::BadVersion));
    }
    let subtype = fc >> 4;
    if (fc >> 2) & 0x03 != TYPE_DATA || subtype & SUBTYPE_NO_DATA != 0 {
        return Err(Skip::Opaque(Layer::Ieee80211, Opaque::NoPayload));
    }
    if flags & FLAG_PROTECTED != 0 {
        return Err(Skip::Opaque(Layer::Ieee80211, Opaque::Encrypted));
    }
    let mut len = field::LEN;
    if flags & FLAGS_DS == FLAGS_DS {
        len += field::ADDR4_LEN;
    }
    let qos = (subtype & SUBTYPE_QOS != 0).then_some(len);
    if qos.is_some() {
        len += field::QOS_LEN;
        if flags & FLAG_ORDER != 0 {
            len += field::HT_CONTROL_LEN;
        }
    }
    let h = frame.header(0, len, Layer::Ieee80211)?;
    if qos.is_some_and(|q| h[q] & QOS_AMSDU != 0) {
        return Err(Skip::Opaque(Layer::Ieee80211, Opaque::Aggregate));
    }
    if datapad {
        len = (len + 3) & !3;
    }
    let (off, et) = llc::snap(frame, len)?;
    ether_payload(frame, wire, off, et, &mut VlanStack::default())
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::testutil::*;
    use super::super::*;

    /// LLC/SNAP, IPv4, TCP SYN.
    pub(in super::super) fn snap_ipv4_tcp() -> Vec<u8> {
        let mut v = vec![0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
        v.extend(ipv4_hdr(ipproto::TCP, 40));
        v.extend(tcp_hdr(tcpflags::SYN));
        v
    }

    /// An 802.11 header: frame control bytes, then `extra` header bytes after the 24.
    pub(in super::super) fn wlan(fc: u8, flags: u8, extra: &[u8]) -> Vec<u8> {
        let mut v = vec![fc, flags, 0, 0];
        v.extend([0x02; 18]); // three addresses
        v.extend([0x10, 0x00]); // sequence control
        v.extend(extra);
        v
    }

    fn decode105(f: &[u8]) -> Result<Packet, Skip> {
        decode(linktype::IEEE802_11, f, f.len() as u32)
    }

    #[test]
    fn data_to_ds_and_from_ds() {
        for flags in [0x01, 0x02] {
            let mut f = wlan(0x08, flags, &[]);
            f.extend(snap_ipv4_tcp());
            assert_eq!(tcp_of(&decode105(&f).unwrap()).dst_port, 80);
        }
    }

    #[test]
    fn qos_four_address_and_ht_control() {
        // QoS data, to-DS and from-DS: fourth address, QoS control.
        let mut f = wlan(0x88, 0x03, &[0x02; 6]);
        f.extend([0x00, 0x00]);
        f.extend(snap_ipv4_tcp());
        assert!(decode105(&f).is_ok());
        // QoS data with the order bit: HT control after QoS control.
        let mut f = wlan(0x88, 0x81, &[0x00, 0x00]);
        f.extend([0xff; 4]);
        f.extend(snap_ipv4_tcp());
        assert!(decode105(&f).is_ok());
        // The order bit on a non-QoS data frame adds nothing.
        let mut f = wlan(0x08, 0x81, &[]);
        f.extend(snap_ipv4_tcp());
        assert!(decode105(&f).is_ok());
    }

    #[test]
    fn counted_not_decoded() {
        let opaque = |o| Err(Skip::Opaque(Layer::Ieee80211, o));
        // Beacon (management), ACK (control), null function, QoS null.
        for fc in [0x80u8, 0xd4, 0x48, 0xc8] {
            assert_eq!(
                decode105(&wlan(fc, 0, &[0, 0])).map(|_| ()),
                opaque(Opaque::NoPayload)
            );
        }
        let mut f = wlan(0x08, 0x41, &[]);
        f.extend([0u8; 16]);
        assert_eq!(decode105(&f).map(|_| ()), opaque(Opaque::Encrypted));
        let mut f = wlan(0x88, 0x01, &[0x80, 0x00]);
        f.extend(snap_ipv4_tcp());
        assert_eq!(decode105(&f).map(|_| ()), opaque(Opaque::Aggregate));
    }

    #[test]
    fn bad_version_cut_and_short() {
        let mut f = wlan(0x09, 0x01, &[]);
        f.extend(snap_ipv4_tcp());
        assert_eq!(
            decode105(&f).unwrap_err(),
            Skip::Malformed(Layer::Ieee80211, Reason::BadVersion)
        );
        let f = wlan(0x88, 0x01, &[]);
        assert_eq!(
            decode(linktype::IEEE802_11, &f, 100).unwrap_err(),
            Skip::Truncated(Layer::Ieee80211)
        );
        assert_eq!(
            decode105(&f).unwrap_err(),
            Skip::Malformed(Layer::Ieee80211, Reason::TooShort)
        );
        // Header complete, LLC missing.
        let f = wlan(0x08, 0x01, &[0xaa]);
        assert_eq!(
            decode105(&f).unwrap_err(),
            Skip::Malformed(Layer::Llc, Reason::TooShort)
        );
    }
}
