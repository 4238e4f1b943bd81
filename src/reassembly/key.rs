//! What tells one datagram's fragments from another's.

use crate::decode::{Addr, EncapPath, Fragment, Packet, VlanStack};

/// A datagram's identity: source, destination and identification, with the protocol for IPv4
/// (RFC 791; IPv6's Fragment header names the next header, which RFC 8200 leaves out of the key:
/// only the first fragment's counts), and the VLAN stack, so that overlapping address plans
/// behind different VLANs stay apart as their flows do, and the tunnels the fragments came
/// through, so that overlapping tenant address plans stay apart too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub src: Addr,
    pub dst: Addr,
    pub id: u32,
    pub vlan: VlanStack,
    /// IPv4's protocol; 0 for IPv6.
    pub proto: u8,
    pub v6: bool,
    pub path: EncapPath,
}

impl Key {
    pub fn of(p: &Packet, f: &Fragment) -> Key {
        Key {
            src: p.src,
            dst: p.dst,
            id: f.id,
            vlan: p.vlan,
            proto: if p.v6 { 0 } else { f.proto },
            v6: p.v6,
            path: p.encap.path(),
        }
    }
}
