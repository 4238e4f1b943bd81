//! BPF filters.
//!
//! A BPF expression (tcpdump syntax) is compiled by libpcap once per link type and run here on
//! every frame, for both formats, so that the byte offset keeps counting the frames it rejects.
//! The program sees the captured bytes as the whole frame, so `len`, `greater` and `less` compare
//! against the captured length. An expression that libpcap cannot compile for a link type (`ether
//! host` on raw IP, say) matches no frame of that link type; one that does not compile for
//! Ethernet is rejected up front by [`check_filter`].

use pcap::{BpfProgram, Capture, Linktype};

use super::{CaptureError, pcap_message};

/// DLT_EN10MB, the link type filters are checked against up front.
const DLT_EN10MB: i32 = 1;

/// Checks a BPF expression up front (compiles it for Ethernet with libpcap); error ->
/// CaptureError::Filter.
pub fn check_filter(expr: &str) -> Result<(), CaptureError> {
    compile(expr, DLT_EN10MB)
        .map(drop)
        .map_err(|message| CaptureError::Filter {
            expr: expr.to_string(),
            message,
        })
}

/// Compiles `expr` for a DLT_* link type.
pub(super) fn compile(expr: &str, dlt: i32) -> Result<BpfProgram, String> {
    let dead = Capture::dead(Linktype(dlt)).map_err(|e| pcap_message(&e))?;
    dead.compile(expr, true).map_err(|e| pcap_message(&e))
}

/// The DLT_* number libpcap's filter compiler knows a LINKTYPE_* number by (from the registry of
/// link types; only a few differ).
pub(super) fn dlt_for_linktype(linktype: u32) -> i32 {
    crate::decode::linktype::dlt_for_linktype(linktype)
}

/// The filter as it applies to the frames of one link type.
pub(super) enum PacketFilter {
    /// No filter: every frame passes.
    All,
    /// Frames pass when the program accepts them.
    Program(BpfProgram),
    /// The expression has no meaning for this link type: no frame passes.
    Nothing,
}

impl PacketFilter {
    pub(super) fn new(
        expr: Option<&str>,
        compiled: impl FnOnce(&str) -> Result<BpfProgram, String>,
    ) -> Self {
        match expr {
            None => PacketFilter::All,
            Some(expr) => match compiled(expr) {
                Ok(program) => PacketFilter::Program(program),
                Err(_) => PacketFilter::Nothing,
            },
        }
    }

    pub(super) fn matches(&self, data: &[u8]) -> bool {
        match self {
            PacketFilter::All => true,
            PacketFilter::Program(program) => program.filter(data),
            PacketFilter::Nothing => false,
        }
    }
}

/// Appends `linktype` to `seen` unless it is there already.
pub(super) fn note_linktype(seen: &mut Vec<u32>, linktype: u32) {
    if seen.last() != Some(&linktype) && !seen.contains(&linktype) {
        seen.push(linktype);
    }
}
