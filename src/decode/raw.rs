//! Raw IP link types (DLT_RAW, LINKTYPE_RAW): no link header, IPv4 or IPv6 told apart by the
//! version nibble.

use super::{Frame, Layer, Packet, Reason, Skip, VlanStack, ipv4, ipv6};

/// Decodes a raw IP frame.
pub(super) fn raw(frame: &Frame<'_>, wire: usize) -> Result<Packet, Skip> {
    let h = frame.header(0, 1, Layer::RawIp)?;
    let vlan = VlanStack::default();
    // Raw IP carries no type field: the version nibble tells.
    match h[0] >> 4 {
        4 => ipv4::ipv4(frame, wire, 0, vlan),
        6 => ipv6::ipv6(frame, wire, 0, vlan),
        _ => Err(Skip::Malformed(Layer::RawIp, Reason::BadVersion)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn raw_ip_version_nibble() {
        let mut f = ipv4_hdr(6, 40);
        f.extend(tcp_hdr(tcpflags::SYN));
        for lt in [linktype::RAW, linktype::DLT_RAW, linktype::IPV4] {
            assert!(decode(lt, &f, f.len() as u32).is_ok());
        }
        f[0] = 0x75;
        assert_eq!(
            decode(linktype::RAW, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::RawIp, Reason::BadVersion)
        );
    }
}
