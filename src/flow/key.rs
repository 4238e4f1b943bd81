//! A flow's key (protocol, both endpoints lower one first, VLAN stack) and its hash.

use std::collections::HashMap;

use crate::decode::{Addr, VlanStack};

/// A flow's key: protocol, both endpoints (lower one first) and the VLAN stack, by its number
/// in the table's [`VlanTable`]. 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub lo: Addr,
    pub hi: Addr,
    pub lo_port: u16,
    pub hi_port: u16,
    /// IP protocol number.
    pub proto: u8,
    pub v6: bool,
    /// The VLAN stack's number in the table's [`VlanTable`] (0: untagged).
    pub vlan: u16,
}

impl FlowKey {
    /// The key of a packet from (src, sport) to (dst, dport), and whether src is the lower end.
    pub fn new(
        proto: u8,
        v6: bool,
        vlan: u16,
        src: Addr,
        sport: u16,
        dst: Addr,
        dport: u16,
    ) -> (FlowKey, bool) {
        let src_lo = (src, sport) <= (dst, dport);
        let (lo, lo_port, hi, hi_port) = if src_lo {
            (src, sport, dst, dport)
        } else {
            (dst, dport, src, sport)
        };
        (
            FlowKey {
                lo,
                hi,
                lo_port,
                hi_port,
                proto,
                v6,
                vlan,
            },
            src_lo,
        )
    }

    /// Hash of the key: a few multiply-xorshift rounds over its words. Offline captures are not
    /// chosen to collide with it, and this is the hot path.
    #[inline]
    pub fn hash(&self) -> u64 {
        #[inline]
        fn word(b: &[u8; 16], i: usize) -> u64 {
            u64::from_le_bytes([
                b[i],
                b[i + 1],
                b[i + 2],
                b[i + 3],
                b[i + 4],
                b[i + 5],
                b[i + 6],
                b[i + 7],
            ])
        }
        #[inline]
        fn mix(h: u64, w: u64) -> u64 {
            (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
        }
        let mut h = 0x243f_6a88_85a3_08d3u64;
        h = mix(h, word(&self.lo.bytes, 0));
        h = mix(h, word(&self.lo.bytes, 8));
        h = mix(h, word(&self.hi.bytes, 0));
        h = mix(h, word(&self.hi.bytes, 8));
        h = mix(
            h,
            (self.vlan as u64) << 48
                | (self.lo_port as u64) << 32
                | (self.hi_port as u64) << 16
                | (self.proto as u64) << 8
                | self.v6 as u64,
        );
        // Final avalanche (murmur3's fmix64) so the low bits index the table well.
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

/// The distinct VLAN stacks seen, numbered so that a flow key carries two bytes instead of the
/// whole stack. Number 0 is the untagged stack. At most [`VlanTable::CAP`] stacks are numbered;
/// past that (only a hostile capture has 65,535 distinct stacks) every further stack shares the
/// last number, so its flows are keyed by addresses and ports alone, and the count is kept.
#[derive(Debug)]
pub struct VlanTable {
    stacks: Vec<VlanStack>,
    numbers: HashMap<VlanStack, u16>,
    /// Packets whose stack found no number of its own.
    pub overflow: u64,
}

impl Default for VlanTable {
    fn default() -> Self {
        VlanTable {
            stacks: vec![VlanStack::default()],
            numbers: HashMap::new(),
            overflow: 0,
        }
    }
}

impl VlanTable {
    /// The most stacks numbered.
    pub const CAP: usize = u16::MAX as usize;

    /// The number of `stack`, numbering it if it is new.
    #[inline]
    pub fn number(&mut self, stack: &VlanStack) -> u16 {
        if stack.is_empty() {
            return 0;
        }
        if let Some(&n) = self.numbers.get(stack) {
            return n;
        }
        if self.stacks.len() >= Self::CAP {
            self.overflow += 1;
            return u16::MAX;
        }
        let n = self.stacks.len() as u16;
        self.stacks.push(*stack);
        self.numbers.insert(*stack, n);
        n
    }

    /// The VLAN ids of stack number `n`, outer first (none past the cap).
    pub fn ids(&self, n: u16) -> &[u16] {
        self.stacks.get(n as usize).map_or(&[], |s| s.ids())
    }
}
