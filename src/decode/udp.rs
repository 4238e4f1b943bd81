//! UDP (RFC 768): ports and payload length.

use super::{Frame, Layer, Reason, Skip, Udp, be16};

mod field {
    use super::super::Field;
    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Length of header and payload, bytes.
    pub const LENGTH: Field = 4..6;
    /// Header length, bytes.
    pub const LEN: usize = 8;
}

/// UDP header length, bytes.
pub(super) const HEADER_LEN: usize = field::LEN;

/// Reads the UDP header of a datagram of `l4_len` bytes (from the IP length fields).
#[inline]
pub(super) fn udp(sub: &Frame<'_>, l4_len: u32) -> Result<Udp, Skip> {
    let h = sub.header(0, field::LEN, Layer::Udp)?;
    // The UDP length covers its own header; the payload is counted from the IP length, so a first
    // fragment counts what it carries.
    if (be16(h, field::LENGTH) as usize) < field::LEN || l4_len < field::LEN as u32 {
        return Err(Skip::Malformed(Layer::Udp, Reason::BadTotalLength));
    }
    Ok(Udp {
        src_port: be16(h, field::SRC_PORT),
        dst_port: be16(h, field::DST_PORT),
        payload_len: l4_len - field::LEN as u32,
        app: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn udp_ports_payload_and_bad_length() {
        let mut f = eth(ethertype::IPV4);
        f.extend(ipv4_hdr(ipproto::UDP, 20 + 8 + 5));
        f.extend([0xcf, 0x12, 0x00, 0x35, 0, 13, 0, 0]); // 53010 -> 53, length 13
        f.extend([1, 2, 3, 4, 5]);
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        match p.transport {
            Transport::Udp(u) => {
                assert_eq!((u.src_port, u.dst_port, u.payload_len), (53010, 53, 5))
            }
            other => panic!("{other:?}"),
        }
        f[14 + 20 + 4..14 + 20 + 6].copy_from_slice(&7u16.to_be_bytes()); // shorter than its header
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Udp, Reason::BadTotalLength)
        );
    }
}
