//! TCP (RFC 9293): ports, sequence numbers, flags and window.

use super::{Frame, Layer, Reason, Skip, Tcp, be16, be32};

/// TCP flag bits (byte 13 of the TCP header).
pub mod tcpflags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

mod field {
    use super::super::Field;
    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Sequence number.
    pub const SEQ: Field = 4..8;
    /// Acknowledgment number.
    pub const ACK: Field = 8..12;
    /// Data offset: header length in 32-bit words (high 4 bits).
    pub const DATA_OFF: usize = 12;
    /// Flags: CWR ECE URG ACK PSH RST SYN FIN.
    pub const FLAGS: usize = 13;
    /// Receive window, unscaled, bytes.
    pub const WINDOW: Field = 14..16;
    /// Header length without options, bytes.
    pub const MIN_LEN: usize = 20;
}

/// Reads the TCP header of a segment of `l4_len` bytes (from the IP length fields).
#[inline]
pub(super) fn tcp(sub: &Frame<'_>, l4_len: u32) -> Result<Tcp, Skip> {
    let h = sub.header(0, field::MIN_LEN, Layer::Tcp)?;
    let doff = ((h[field::DATA_OFF] >> 4) as u32) * 4;
    // The data offset must cover the fixed header and fit in the segment.
    if doff < field::MIN_LEN as u32 || doff > l4_len {
        return Err(Skip::Malformed(Layer::Tcp, Reason::BadHeaderLength));
    }
    Ok(Tcp {
        src_port: be16(h, field::SRC_PORT),
        dst_port: be16(h, field::DST_PORT),
        seq: be32(h, field::SEQ),
        ack: be32(h, field::ACK),
        flags: h[field::FLAGS],
        window: be16(h, field::WINDOW),
        payload_len: l4_len - doff,
        app: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn tcp_bad_data_offset() {
        let mut f = eth_tcp(0);
        f[14 + 20 + 12] = 0x40; // 4 words < 5
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Tcp, Reason::BadHeaderLength)
        );
        f[14 + 20 + 12] = 0xf0; // 60 bytes > 20-byte segment
        assert_eq!(
            decode(linktype::ETHERNET, &f, f.len() as u32).unwrap_err(),
            Skip::Malformed(Layer::Tcp, Reason::BadHeaderLength)
        );
    }
}
