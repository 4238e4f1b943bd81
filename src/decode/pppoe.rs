//! PPPoE session frames (RFC 2516) and the PPP protocol number behind them.

use super::ethernet::ethertype;
use super::{Frame, Layer, Skip, be16};

mod field {
    use super::super::Field;
    /// Version (4 bits) and type (4 bits).
    pub const _VER_TYPE: usize = 0;
    /// Code (0 for session data).
    pub const _CODE: usize = 1;
    /// Session id.
    pub const _SESSION: Field = 2..4;
    /// Payload length, bytes.
    pub const _LENGTH: Field = 4..6;
    /// PPP protocol number of the payload.
    pub const PPP_PROTO: Field = 6..8;
    /// PPPoE header and PPP protocol number, bytes.
    pub const LEN: usize = 8;
}

/// PPP protocol numbers of IP.
mod ppp {
    pub const IPV4: u16 = 0x0021;
    pub const IPV6: u16 = 0x0057;
}

/// Reads the PPPoE session header at `off`; returns the offset of the IP packet and its EtherType.
pub(super) fn session(frame: &Frame<'_>, off: usize) -> Result<(usize, u16), Skip> {
    let h = frame.header(off, field::LEN, Layer::Pppoe)?;
    let proto = be16(h, field::PPP_PROTO);
    let off = off + field::LEN;
    match proto {
        ppp::IPV4 => Ok((off, ethertype::IPV4)),
        ppp::IPV6 => Ok((off, ethertype::IPV6)),
        other => Err(Skip::NotIpPpp(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn pppoe_session_ip_and_lcp() {
        let mut f = eth(ethertype::PPPOE_SESSION);
        f.extend([0x11, 0x00, 0x00, 0x01, 0x00, 42, 0x00, 0x21]); // v1 t1, session 1, len, PPP IPv4
        f.extend(ipv4_hdr(6, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        assert!(decode(linktype::ETHERNET, &f, f.len() as u32).is_ok());
        f[14 + 6..14 + 8].copy_from_slice(&0xc021u16.to_be_bytes()); // LCP
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::NotIpPpp(0xc021)
        );
    }
}
