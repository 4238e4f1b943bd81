//! ERSPAN (draft-foschiano-erspan): the header a switch puts before a mirrored Ethernet frame
//! inside GRE. Type I has none (GRE 0x88be without a sequence number, see [`super::gre`]);
//! type II (GRE 0x88be) and type III (GRE 0x22eb) are read here.

use super::tunnel::Inner;
use super::{Frame, Layer, Reason, Skip, be16};

mod field {
    use super::super::Field;
    /// Version (4 bits: 1 for type II, 2 for type III) and the mirrored frame's VLAN (12).
    pub const VER: usize = 0;
    /// Class of service (3 bits), encapsulation / bad-frame bits (2), truncated (1), session
    /// id (10).
    pub const SESSION: Field = 2..4;
    /// Type II header length, bytes (the last 4: reserved and port index).
    pub const TYPE2_LEN: usize = 8;
    /// Type III: P (1 bit), frame type (5), hardware id (6), direction (1), timestamp
    /// granularity (2), optional sub-header present O (1).
    pub const TYPE3_FLAGS: Field = 10..12;
    /// Type III header length without the optional sub-header, bytes (timestamp and security
    /// group tag between).
    pub const TYPE3_LEN: usize = 12;
    /// Type III optional platform-specific sub-header, bytes.
    pub const TYPE3_SUBHEADER_LEN: usize = 8;
}

/// Session id bits of [`field::SESSION`].
const SESSION_MASK: u16 = 0x03ff;

/// Reads the type II header at `off`: the session id and the offset of the mirrored frame.
pub(super) fn type2(sub: &Frame<'_>, off: usize) -> Result<(u32, usize), Skip> {
    let h = sub.header(off, field::TYPE2_LEN, Layer::Erspan)?;
    if h[field::VER] >> 4 != 1 {
        return Err(Skip::Malformed(Layer::Erspan, Reason::BadVersion));
    }
    let session = be16(h, field::SESSION) & SESSION_MASK;
    Ok((session as u32, off + field::TYPE2_LEN))
}

/// Frame type bits of [`field::TYPE3_FLAGS`] (5 bits from bit 10).
const FRAME_TYPE_SHIFT: u16 = 10;
/// Frame types: an Ethernet frame, an IP packet.
const FT_ETHERNET: u16 = 0;
const FT_IP: u16 = 2;

/// Reads the type III header at `off`: the session id and where the mirrored frame (Ethernet)
/// or packet (IP) starts.
pub(super) fn type3(sub: &Frame<'_>, off: usize) -> Result<(u32, Inner), Skip> {
    let h = sub.header(off, field::TYPE3_LEN, Layer::Erspan)?;
    if h[field::VER] >> 4 != 2 {
        return Err(Skip::Malformed(Layer::Erspan, Reason::BadVersion));
    }
    let session = be16(h, field::SESSION) & SESSION_MASK;
    let flags = be16(h, field::TYPE3_FLAGS);
    let mut len = field::TYPE3_LEN;
    if flags & 1 != 0 {
        len += field::TYPE3_SUBHEADER_LEN;
    }
    let inner = match flags >> FRAME_TYPE_SHIFT & 0x1f {
        FT_ETHERNET => Inner::Ethernet(off + len),
        FT_IP => Inner::Ip(off + len),
        _ => return Err(Skip::Malformed(Layer::Erspan, Reason::UnknownPayload)),
    };
    Ok((session as u32, inner))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    /// Ethernet / IPv4 / GRE (`gre`) / `hdr` / Ethernet / IPv4 / TCP SYN.
    fn erspan_frame(gre: &[u8], hdr: &[u8]) -> Vec<u8> {
        let mut inner = eth(ethertype::IPV4);
        inner.extend(ipv4_hdr(ipproto::TCP, 40));
        inner.extend(tcp_hdr(tcpflags::SYN));
        let mut f = eth(ethertype::IPV4);
        f.extend(ipv4_hdr(
            ipproto::GRE,
            (20 + gre.len() + hdr.len() + inner.len()) as u16,
        ));
        f.extend(gre);
        f.extend(hdr);
        f.extend(inner);
        f
    }

    const GRE_SEQ_88BE: [u8; 8] = [0x10, 0, 0x88, 0xbe, 0, 0, 0, 1];

    #[test]
    fn erspan_type1() {
        let f = erspan_frame(&[0, 0, 0x88, 0xbe], &[]);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
        let t = p.encap.layers()[0];
        assert_eq!((t.kind, t.id), (TunnelKind::Erspan1, None));
    }

    #[test]
    fn erspan_type2_session() {
        // Version 1, VLAN 0; COS 0, session 0x123; index 0.
        let f = erspan_frame(&GRE_SEQ_88BE, &[0x10, 0x00, 0x01, 0x23, 0, 0, 0, 0]);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
        let t = p.encap.layers()[0];
        assert_eq!((t.kind, t.id), (TunnelKind::Erspan2, Some(0x123)));
    }

    #[test]
    fn erspan_type3_with_and_without_subheader() {
        let gre = [0x10, 0, 0x22, 0xeb, 0, 0, 0, 1];
        let mut hdr = vec![0x20, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 0];
        let f = erspan_frame(&gre, &hdr);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(p.encap.layers()[0].kind, TunnelKind::Erspan3);
        assert_eq!(p.encap.layers()[0].id, Some(5));
        hdr[11] = 1; // O: 8 more bytes
        hdr.extend([0; 8]);
        let f = erspan_frame(&gre, &hdr);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
    }

    #[test]
    fn erspan_type3_frame_types() {
        // Frame type 2: an IP packet, no Ethernet header.
        let gre = [0x10, 0, 0x22, 0xeb, 0, 0, 0, 1];
        let hdr = [0x20, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0x08, 0];
        let mut ip = ipv4_hdr(ipproto::TCP, 40);
        ip.extend(tcp_hdr(tcpflags::SYN));
        let mut f = eth(ethertype::IPV4);
        f.extend(ipv4_hdr(ipproto::GRE, (20 + 8 + 12 + ip.len()) as u16));
        f.extend(gre);
        f.extend(hdr);
        f.extend(&ip);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
        // Frame type 1: neither.
        f[14 + 20 + 8 + 10] = 0x04;
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Erspan, Reason::UnknownPayload)
        );
    }

    #[test]
    fn erspan_bad_version_and_short() {
        let f = erspan_frame(&GRE_SEQ_88BE, &[0x20, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Erspan, Reason::BadVersion)
        );
        let f = erspan_frame(&[0x10, 0, 0x22, 0xeb, 0, 0, 0, 1], &[0x10, 0, 0, 1]);
        let n = 14 + 20 + 8 + 4;
        let mut g = f[..n].to_vec();
        g[16..18].copy_from_slice(&((n - 14) as u16).to_be_bytes());
        assert_eq!(
            decode(linktype::ETHERNET, &g, g.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Erspan, Reason::TooShort)
        );
    }
}
