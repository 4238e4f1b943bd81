//! Decoded packets on their way from a reader thread to the flow thread.
//!
//! A [`Packet`] is 256 bytes, 174 of them its tunnel stack and VLAN tags, which most packets
//! do not have. The flow thread reads every packet from memory another core wrote, and on the
//! benchmark capture that read was the flow thread's costliest step. So a batch keeps what every
//! packet has in one 96-byte [`Slim`] record, laid end to end, and a packet's VLAN tags and
//! tunnel stack, when it has them, in side tables the record points into. The flow thread reads
//! 96 bytes per plain packet instead of 256.
//!
//! A batch holds at most [`MAX`] packets; its buffers are reused, so filling and emptying it
//! allocates nothing once they have grown.

use crate::decode::{Addr, Checksum, Encap, Packet, Sni, Transport, VlanStack};

/// The most packets a batch holds (its side-table positions are u16).
pub const MAX: usize = u16::MAX as usize;

/// What every packet has, and where the rest is.
#[derive(Clone, Copy)]
struct Slim {
    ts: i64,
    transport: Transport,
    src: Addr,
    dst: Addr,
    ip_len: u32,
    v6: bool,
    csum: Checksum,
    /// 1 + the position of the packet's VLAN tags in `vlans`; 0: none.
    vlan: u16,
    /// 1 + the position of the packet's tunnel stack in `encaps`; 0: none.
    encap: u16,
    /// 1 + the position of the packet's server name in `snis`; 0: none.
    sni: u16,
}

/// Decoded packets with their capture times, in order.
#[derive(Default)]
pub struct Batch {
    packets: Vec<Slim>,
    vlans: Vec<VlanStack>,
    encaps: Vec<Encap>,
    snis: Vec<Sni>,
}

impl Batch {
    /// An empty batch with room for `n` packets.
    pub fn with_capacity(n: usize) -> Batch {
        Batch {
            packets: Vec::with_capacity(n.min(MAX)),
            vlans: Vec::new(),
            encaps: Vec::new(),
            snis: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.packets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.packets.clear();
        self.vlans.clear();
        self.encaps.clear();
        self.snis.clear();
    }

    /// Appends packet `p` captured at `ts`. The caller hands the batch on when it holds
    /// [`MAX`] packets; past that the packet is not kept (debug builds panic).
    #[inline]
    pub fn push(&mut self, ts: i64, p: Packet) {
        debug_assert!(
            self.packets.len() < MAX,
            "a batch holds at most {MAX} packets"
        );
        if self.packets.len() >= MAX {
            return;
        }
        // At most MAX - 1 entries precede this one in either side table, so 1 + the position
        // fits in a u16.
        let vlan = if p.vlan.is_empty() {
            0
        } else {
            self.vlans.push(p.vlan);
            self.vlans.len() as u16
        };
        // A tunnel's datagram whose payload was no flow packet has no layers but names its
        // tunnel (`carrier`).
        let encap = if p.encap.is_empty() && p.encap.carrier.is_none() {
            0
        } else {
            self.encaps.push(p.encap);
            self.encaps.len() as u16
        };
        let sni = if p.sni.is_empty() {
            0
        } else {
            self.snis.push(p.sni);
            self.snis.len() as u16
        };
        self.packets.push(Slim {
            ts,
            transport: p.transport,
            src: p.src,
            dst: p.dst,
            ip_len: p.ip_len,
            v6: p.v6,
            csum: p.csum,
            vlan,
            encap,
            sni,
        });
    }

    /// The packets with their capture times, in the order they were pushed.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (i64, Packet)> + '_ {
        self.packets.iter().map(|s| {
            let side = |at: u16| (at as usize).checked_sub(1);
            let p = Packet {
                transport: s.transport,
                src: s.src,
                dst: s.dst,
                ip_len: s.ip_len,
                vlan: side(s.vlan).map_or_else(VlanStack::default, |i| self.vlans[i]),
                v6: s.v6,
                csum: s.csum,
                encap: side(s.encap).map_or_else(Encap::default, |i| self.encaps[i]),
                sni: side(s.sni).map_or_else(Sni::default, |i| self.snis[i]),
            };
            (s.ts, p)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Tcp, Tunnel, TunnelKind};

    fn packet(port: u16) -> Packet {
        Packet {
            transport: Transport::Tcp(Tcp {
                src_port: port,
                dst_port: 80,
                seq: 1,
                ack: 2,
                flags: 0x12,
                window: 3,
                payload_len: 4,
                app: Default::default(),
            }),
            src: Addr::default(),
            dst: Addr::default(),
            ip_len: 44,
            vlan: VlanStack::default(),
            v6: false,
            csum: Checksum::Good,
            encap: Encap::default(),
            sni: Sni::default(),
        }
    }

    /// Every packet comes out as it went in, in order, whichever side tables it used (a tunnel's
    /// datagram with no layers but its carrier kind included).
    #[test]
    fn packets_come_out_as_they_went_in() {
        let mut inputs = Vec::new();
        for i in 0..6u16 {
            let mut p = packet(1000 + i);
            if i % 2 == 1 {
                p.vlan.push(100 + i);
                p.vlan.push(7);
            }
            if i == 3 {
                p.encap.carrier = Some(TunnelKind::Geneve);
            }
            if i >= 4 {
                p.sni = Sni::new(format!("host{i}.example").as_bytes()).unwrap();
            }
            if i % 3 == 2 {
                p.encap.push_outer(Tunnel {
                    kind: TunnelKind::Vxlan,
                    id: Some(u32::from(i)),
                    ..Tunnel::default()
                });
            }
            inputs.push((i64::from(i) * 10, p));
        }
        let mut b = Batch::with_capacity(4);
        for round in 0..2 {
            for &(ts, p) in &inputs {
                b.push(ts, p);
            }
            assert_eq!(b.len(), inputs.len(), "round {round}");
            let out: Vec<(i64, Packet)> = b.iter().collect();
            assert_eq!(format!("{out:?}"), format!("{inputs:?}"), "round {round}");
            b.clear();
            assert!(b.is_empty());
        }
    }

    /// What the flow thread reads per plain packet.
    #[test]
    fn a_plain_packet_crosses_in_96_bytes() {
        assert_eq!(std::mem::size_of::<Slim>(), 96);
    }
}
