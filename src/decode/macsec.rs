//! MACsec (IEEE 802.1AE, EtherType 0x88e5): the SecTAG after the Ethernet addresses. Frames with
//! integrity only carry the user frame's EtherType and payload in clear and are decoded;
//! encrypted frames are counted.
//!
//! Format: IEEE Std 802.1AE-2018 section 9 (SecTAG: TCI and association number, short length,
//! packet number, optional 8-byte SCI when the SC bit is set; the ICV at the frame's end), and
//! Wireshark's `epan/dissectors/packet-macsec.c`, which treats a frame as encrypted when its E
//! or C bit is set.

use super::{Frame, Layer, Opaque, Reason, Skip, be16};

mod field {
    /// TCI (version, ES, SC, SCB, E, C bits) and association number (2 bits).
    pub const TCI_AN: usize = 0;
    /// Short length: the user data length when below 48, else 0, bytes.
    pub const _SL: usize = 1;
    /// Packet number, bytes 2..6.
    pub const _PN: std::ops::Range<usize> = 2..6;
    /// SecTAG length without the SCI (after the EtherType), bytes.
    pub const LEN: usize = 6;
    /// Secure channel identifier, when the SC bit is set, bytes.
    pub const SCI_LEN: usize = 8;
    /// EtherType of the user frame (integrity-only frames), bytes.
    pub const ETHERTYPE_LEN: usize = 2;
}

/// TCI bits.
const TCI_VERSION: u8 = 0x80;
const TCI_SC: u8 = 0x20;
const TCI_E: u8 = 0x08;
const TCI_C: u8 = 0x04;

/// Reads the SecTAG at `off`; returns the offset of the user frame's payload and its EtherType.
pub(super) fn sectag(frame: &Frame<'_>, off: usize) -> Result<(usize, u16), Skip> {
    let h = frame.header(off, field::LEN, Layer::Macsec)?;
    let tci = h[field::TCI_AN];
    if tci & TCI_VERSION != 0 {
        return Err(Skip::Malformed(Layer::Macsec, Reason::BadVersion));
    }
    if tci & (TCI_E | TCI_C) != 0 {
        return Err(Skip::Opaque(Layer::Macsec, Opaque::Encrypted));
    }
    let mut len = field::LEN;
    if tci & TCI_SC != 0 {
        len += field::SCI_LEN;
    }
    let h = frame.header(off, len + field::ETHERTYPE_LEN, Layer::Macsec)?;
    Ok((off + len + field::ETHERTYPE_LEN, be16(h, len..len + 2)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    fn macsec(tci: u8) -> Vec<u8> {
        let mut f = eth(0x88e5);
        f.extend([tci, 0, 0, 0, 0, 1]);
        if tci & 0x20 != 0 {
            f.extend([2, 0, 0, 0, 0, 1, 0, 1]); // SCI
        }
        f.extend([0x08, 0x00]);
        f.extend(ipv4_hdr(ipproto::TCP, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        f.extend([0xcc; 16]); // ICV
        f
    }

    #[test]
    fn integrity_only_with_and_without_sci() {
        for tci in [0x00, 0x20, 0x2c & !0x0c] {
            let f = macsec(tci);
            let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
            assert_eq!(p.ip_len, 40);
        }
    }

    #[test]
    fn encrypted_bad_version_and_cut() {
        for tci in [0x2c, 0x08, 0x04] {
            let f = macsec(tci);
            assert_eq!(
                decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
                Skip::Opaque(Layer::Macsec, Opaque::Encrypted)
            );
        }
        let f = macsec(0x80);
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Macsec, Reason::BadVersion)
        );
        let f = macsec(0x20);
        assert_eq!(
            decode(linktype::ETHERNET, &f[..24], f.len() as u32).unwrap_err(),
            Skip::Truncated(Layer::Macsec)
        );
    }
}
