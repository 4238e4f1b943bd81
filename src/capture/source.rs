//! The interface every kind of input is read through.

use super::{Fault, RawPacket};

/// Something that yields raw frames one at a time: a pcap file or stream (read by libpcap), a
/// pcapng file or stream. The [`Reader`](super::Reader) holds one per input, attaches the path
/// to its faults, and stops calling it after the end or a fault.
pub(crate) trait PacketSource {
    /// Next frame that passes the filter; Ok(None) at the end. The frame borrows the source
    /// until the next call.
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, Fault>;

    /// Bytes of the input consumed so far (progress), 0 where that has no meaning.
    fn offset(&self) -> u64;

    /// Link types of the frames read so far (frames the filter rejected included), in order of
    /// appearance, deduplicated.
    fn link_types(&self) -> &[u32];
}
