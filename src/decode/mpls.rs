//! MPLS label stacks (RFC 3032) and what they carry: IPv4, IPv6 or an Ethernet pseudowire.

use super::ethernet::{self, ethertype};
use super::{Frame, Layer, Reason, Skip};

mod field {
    /// Label (20 bits), traffic class (3), bottom of stack (1), TTL (8): one entry, bytes.
    pub const LEN: usize = 4;
    /// Byte holding the bottom-of-stack bit (its lowest bit).
    pub const BOS_BYTE: usize = 2;
    /// Pseudowire control word before an Ethernet frame (RFC 4448), bytes.
    pub const CONTROL_WORD_LEN: usize = 4;
}

/// Most MPLS labels followed before giving up.
const MAX_LABELS: usize = 16;

/// Skips the label stack at `off`; returns the offset of its payload and the EtherType that stands
/// for it (IPv4, IPv6, or for an Ethernet pseudowire the inner frame's own EtherType).
pub(super) fn labels(frame: &Frame<'_>, mut off: usize) -> Result<(usize, u16), Skip> {
    let mut labels = 0;
    loop {
        let h = frame.header(off, field::LEN, Layer::Mpls)?;
        off += field::LEN;
        labels += 1;
        if h[field::BOS_BYTE] & 1 == 1 {
            break;
        }
        if labels >= MAX_LABELS {
            return Err(Skip::Malformed(Layer::Mpls, Reason::TooManyHeaders));
        }
    }
    // MPLS says nothing about its payload: the first nibble tells IPv4 (4), IPv6 (6), or an
    // Ethernet pseudowire behind a zero control word (0).
    let h = frame.header(off, 1, Layer::Mpls)?;
    match h[0] >> 4 {
        4 => Ok((off, ethertype::IPV4)),
        6 => Ok((off, ethertype::IPV6)),
        0 => {
            let inner = off + field::CONTROL_WORD_LEN;
            let et = ethernet::header(frame, inner)?;
            Ok((inner + ethernet::HEADER_LEN, et))
        }
        _ => Err(Skip::Malformed(Layer::Mpls, Reason::UnknownPayload)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;

    #[test]
    fn mpls_two_labels_then_ipv4() {
        let mut f = eth(ethertype::MPLS_UNICAST);
        f.extend([0x00, 0x01, 0x00, 64]); // label 16, not bottom of stack
        f.extend([0x00, 0x02, 0x01, 64]); // label 32, bottom of stack
        f.extend(ipv4_hdr(6, 40));
        f.extend(tcp_hdr(tcpflags::SYN));
        let p = decode(linktype::ETHERNET, &f, f.len() as u32).unwrap();
        assert_eq!(tcp_of(&p).dst_port, 80);
    }
}
