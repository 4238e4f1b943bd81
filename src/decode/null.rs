//! BSD loopback link types: NULL (address family in the capturing host's byte order) and LOOP
//! (address family in network byte order).

use super::{Frame, Layer, Packet, Skip, VlanStack, ipv4, ipv6};

mod field {
    use super::super::Field;
    /// Address family (AF_INET, AF_INET6), 4 bytes; byte order depends on the link type.
    pub const FAMILY: Field = 0..4;
    /// Header length, bytes.
    pub const LEN: usize = FAMILY.end;
}

/// Decodes a NULL frame, or a LOOP frame when `network_order`.
pub(super) fn null(frame: &Frame<'_>, wire: usize, network_order: bool) -> Result<Packet, Skip> {
    let h = frame.header(0, field::LEN, Layer::Null)?;
    let raw = [h[0], h[1], h[2], h[3]];
    let family = if network_order {
        // LOOP is always network byte order.
        u32::from_be_bytes(raw)
    } else {
        // NULL is the capturing host's order: families are small numbers, so a value with its
        // high half set was written by a host of the other byte order.
        let le = u32::from_le_bytes(raw);
        if le > 0xffff { le.swap_bytes() } else { le }
    };
    let vlan = VlanStack::default();
    match family {
        // AF_INET everywhere.
        2 => ipv4::ipv4(frame, wire, field::LEN, vlan),
        // AF_INET6: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30.
        10 | 24 | 28 | 30 => ipv6::ipv6(frame, wire, field::LEN, vlan),
        other => Err(Skip::NotIpFamily(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn null_both_byte_orders_and_loop() {
        let mut body = ipv4_hdr(6, 40);
        body.extend(tcp_hdr(tcpflags::SYN));
        for (lt, fam) in [
            (linktype::NULL, [2u8, 0, 0, 0]), // little-endian AF_INET
            (linktype::NULL, [0, 0, 0, 2]),   // big-endian AF_INET
            (linktype::LOOP, [0, 0, 0, 2]),   // LOOP: always network order
        ] {
            let mut f = fam.to_vec();
            f.extend(&body);
            assert!(decode(lt, &f, f.len() as u32).is_ok(), "{lt} {fam:?}");
        }
        let f = [7u8, 0, 0, 0, 0x45];
        assert_eq!(
            decode(linktype::NULL, &f, 5).unwrap_err(),
            Skip::NotIpFamily(7)
        );
    }
}
