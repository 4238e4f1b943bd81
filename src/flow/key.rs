//! A flow's key (protocol, both endpoints lower one first, VLAN stack, tunnel context) and its
//! hash; the tables that number VLAN stacks and tunnel contexts for it.

use std::collections::HashMap;

use super::Text;
use crate::decode::{Addr, Tunnel, TunnelKind, VlanStack};

/// A flow's key: protocol, both endpoints (lower one first), the VLAN stack, by its number
/// in the table's [`VlanTable`], and the tunnel context, by its number in the table's
/// [`TunnelTable`]. 44 bytes.
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
    /// The tunnel context's number in the table's [`TunnelTable`] (0: not tunnelled).
    pub tunnel: u32,
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
                tunnel: 0,
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
        if self.tunnel != 0 {
            h = mix(h, self.tunnel as u64);
        }
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

/// The identity of a tunnel context: the context around it (0: none), the tunnel's kind, its
/// outer endpoints (lower first, so both directions share it), its VNI, GRE key or ERSPAN
/// session (GTP-U TEIDs name one direction's receiver, so they are not part of it) and its
/// outer VLAN stack's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Ident {
    parent: u32,
    kind: TunnelKind,
    v6: bool,
    lo: Addr,
    hi: Addr,
    id: Option<u32>,
    vlan: u16,
}

/// One tunnel context: the tunnels a flow's packets came through, up to one layer.
#[derive(Debug, Clone)]
pub struct Context {
    ident: Ident,
    /// The layer as the context's first packet had it (source and destination as sent).
    pub layer: Tunnel,
    /// Layers from the outermost to this one.
    pub depth: u8,
    /// Deterministic id of the tunnel: `C` + base62 of a hash of the context around it, the
    /// layer's kind, endpoints, id and VLAN stack, and its first packet time.
    pub uid: Text,
    /// Flows keyed with this context, contexts inside it, and the packet being handled.
    refs: u32,
}

/// The tunnel contexts of the open flows, numbered from 1 so that a flow key carries four bytes
/// instead of the layers. A context lives while an open flow is keyed with it (or with a context
/// inside it): its number is released when the last one ends, so the table holds at most one
/// context per tunnel layer of each open flow, and follows the flows open, not the input.
#[derive(Debug, Default)]
pub struct TunnelTable {
    slots: Vec<Option<Context>>,
    free: Vec<u32>,
    numbers: HashMap<Ident, u32>,
}

impl TunnelTable {
    /// The number of the context `layer` opens inside context `parent` (0: none), made if new,
    /// and held once for the caller ([`TunnelTable::release`] lets it go). `first_ns`: the time
    /// of the packet, `vlan`: the number of the layer's VLAN stack and `vlan_ids` its tags.
    pub fn enter(
        &mut self,
        parent: u32,
        layer: &Tunnel,
        vlan: u16,
        vlan_ids: &[u16],
        first_ns: i64,
    ) -> u32 {
        let src_lo = layer.src <= layer.dst;
        let (lo, hi) = if src_lo {
            (layer.src, layer.dst)
        } else {
            (layer.dst, layer.src)
        };
        let ident = Ident {
            parent,
            kind: layer.kind,
            v6: layer.v6,
            lo,
            hi,
            id: if layer.kind == TunnelKind::Gtpu {
                None
            } else {
                layer.id
            },
            vlan,
        };
        if let Some(&n) = self.numbers.get(&ident) {
            self.slot(n).refs += 1;
            return n;
        }
        let (parent_uid, depth) = match self.get(parent) {
            Some(c) => (c.uid.as_str(), c.depth + 1),
            None => ("", 1),
        };
        let key = FlowKey {
            lo,
            hi,
            lo_port: 0,
            hi_port: 0,
            proto: layer.kind as u8,
            v6: layer.v6,
            vlan: 0,
            tunnel: 0,
        };
        let mut extra = Vec::with_capacity(parent_uid.len() + 5);
        extra.extend_from_slice(parent_uid.as_bytes());
        extra.extend_from_slice(&ident.id.unwrap_or(u32::MAX).to_be_bytes());
        extra.push(ident.id.is_some() as u8);
        let uid = super::ids::uid_with(&key, vlan_ids, &extra, first_ns, 0);
        let c = Context {
            ident,
            layer: *layer,
            depth,
            uid,
            refs: 1,
        };
        if parent != 0 {
            self.slot(parent).refs += 1;
        }
        let n = match self.free.pop() {
            Some(n) => {
                self.slots[n as usize - 1] = Some(c);
                n
            }
            None => {
                self.slots.push(Some(c));
                self.slots.len() as u32
            }
        };
        self.numbers.insert(ident, n);
        n
    }

    /// Holds context `n` once more (a flow keyed with it).
    #[inline]
    pub fn hold(&mut self, n: u32) {
        if n != 0 {
            self.slot(n).refs += 1;
        }
    }

    /// Lets context `n` go once; the last release frees it and lets go of the context around it.
    pub fn release(&mut self, mut n: u32) {
        while n != 0 {
            let c = self.slot(n);
            c.refs -= 1;
            if c.refs > 0 {
                return;
            }
            let c = self.slots[n as usize - 1].take().expect("a live context");
            self.numbers.remove(&c.ident);
            self.free.push(n);
            n = c.ident.parent;
        }
    }

    /// Context `n` (None for 0 or a released number).
    pub fn get(&self, n: u32) -> Option<&Context> {
        if n == 0 {
            return None;
        }
        self.slots.get(n as usize - 1).and_then(Option::as_ref)
    }

    /// Contexts alive now.
    pub fn live(&self) -> usize {
        self.numbers.len()
    }

    fn slot(&mut self, n: u32) -> &mut Context {
        self.slots[n as usize - 1].as_mut().expect("a live context")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(kind: TunnelKind, src: u8, dst: u8, id: Option<u32>) -> Tunnel {
        Tunnel {
            kind,
            src: Addr::v4(&[10, 0, 0, src]),
            dst: Addr::v4(&[10, 0, 0, dst]),
            id,
            ..Tunnel::default()
        }
    }

    #[test]
    fn contexts_are_shared_by_direction_and_released_with_their_last_holder() {
        let mut t = TunnelTable::default();
        let vx = layer(TunnelKind::Vxlan, 1, 2, Some(42));
        let a = t.enter(0, &vx, 0, &[], 5);
        // The other direction, same VNI: the same context.
        let b = t.enter(0, &layer(TunnelKind::Vxlan, 2, 1, Some(42)), 0, &[], 6);
        assert_eq!(a, b);
        // Another VNI: another context.
        let c = t.enter(0, &layer(TunnelKind::Vxlan, 1, 2, Some(43)), 0, &[], 7);
        assert_ne!(a, c);
        // GTP-U: the TEID names one direction's receiver, so it does not split the context.
        let g1 = t.enter(0, &layer(TunnelKind::Gtpu, 1, 2, Some(1)), 0, &[], 8);
        let g2 = t.enter(0, &layer(TunnelKind::Gtpu, 2, 1, Some(2)), 0, &[], 9);
        assert_eq!(g1, g2);
        assert_eq!(t.get(g1).unwrap().layer.id, Some(1));
        // A context inside one holds the one around it.
        let inner = t.enter(a, &layer(TunnelKind::Gre, 3, 4, None), 0, &[], 10);
        assert_eq!(t.get(inner).unwrap().depth, 2);
        t.release(a);
        t.release(a);
        assert!(t.get(a).is_some(), "held by the context inside it");
        t.release(inner);
        assert!(t.get(a).is_none() && t.get(inner).is_none());
        t.release(c);
        t.release(g1);
        t.release(g1);
        assert_eq!(t.live(), 0);
        // Numbers are reused.
        assert!(t.enter(0, &vx, 0, &[], 11) <= 4);
    }

    #[test]
    fn uids_are_deterministic() {
        let mut t = TunnelTable::default();
        let vx = layer(TunnelKind::Vxlan, 1, 2, Some(42));
        let a = t.enter(0, &vx, 0, &[], 5);
        let uid = t.get(a).unwrap().uid.clone();
        let mut u = TunnelTable::default();
        assert_eq!(u.enter(0, &vx, 0, &[], 5), a);
        assert_eq!(u.get(a).unwrap().uid, uid);
        assert!(uid.starts_with('C') && uid.len() == 18);
    }
}
