//! Merges the packets of several live interfaces into one stream in time order.
//!
//! Each interface delivers its own packets in time order, in batches. A packet can go on once
//! no interface can still deliver an earlier one: every other interface either holds a later
//! packet already, or has a *mark* at or past it, a time before which it has delivered
//! everything (the engine sets marks from when each interface's ring was last found empty).
//! Memory is bounded: past `cap` packets held, the earliest goes on regardless.

use std::collections::VecDeque;

use crate::decode::Packet;

pub struct Merge {
    queues: Vec<VecDeque<(i64, Packet)>>,
    marks: Vec<i64>,
    held: usize,
    cap: usize,
}

impl Merge {
    /// For `n` interfaces, holding at most `cap` packets.
    pub fn new(n: usize, cap: usize) -> Merge {
        Merge {
            queues: (0..n).map(|_| VecDeque::new()).collect(),
            marks: vec![i64::MIN; n],
            held: 0,
            cap: cap.max(1),
        }
    }

    /// Interface `i` delivered `packets` (in time order) and everything before `mark`.
    pub fn push(
        &mut self,
        i: usize,
        packets: impl ExactSizeIterator<Item = (i64, Packet)>,
        mark: Option<i64>,
    ) {
        self.held += packets.len();
        let q = &mut self.queues[i];
        q.extend(packets);
        if let Some(&(last, _)) = q.back() {
            self.marks[i] = self.marks[i].max(last);
        }
        if let Some(m) = mark {
            self.marks[i] = self.marks[i].max(m);
        }
    }

    /// The earliest packet held, if it can go on (see the module docs); with `all`, whatever
    /// the marks (the end of the capture).
    pub fn pop(&mut self, all: bool) -> Option<(i64, Packet)> {
        let (i, ts) = self
            .queues
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.front().map(|p| (i, p.0)))
            .min_by_key(|&(i, ts)| (ts, i))?;
        let ready = all
            || self.held > self.cap
            || self
                .queues
                .iter()
                .zip(&self.marks)
                .enumerate()
                .all(|(j, (q, &m))| j == i || !q.is_empty() || m >= ts);
        if !ready {
            return None;
        }
        self.held -= 1;
        self.queues[i].pop_front()
    }

    /// The time before which every interface has delivered everything: the clock the flow
    /// table may move to while no packet comes.
    pub fn watermark(&self) -> i64 {
        self.queues
            .iter()
            .zip(&self.marks)
            .map(|(q, &m)| q.front().map_or(m, |p| p.0.min(m)))
            .min()
            .unwrap_or(i64::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode;

    fn pkt() -> Packet {
        // A minimal Ethernet/IPv4/UDP frame.
        let mut f = vec![0u8; 14 + 20 + 8];
        f[12] = 0x08;
        f[14] = 0x45;
        f[16..18].copy_from_slice(&28u16.to_be_bytes());
        f[22] = 64;
        f[23] = 17;
        f[26..30].copy_from_slice(&[10, 0, 0, 1]);
        f[30..34].copy_from_slice(&[10, 0, 0, 2]);
        f[38..40].copy_from_slice(&8u16.to_be_bytes());
        decode::decode(1, &f, f.len() as u32).expect("a UDP frame")
    }

    fn times(m: &mut Merge, all: bool) -> Vec<i64> {
        std::iter::from_fn(|| m.pop(all)).map(|p| p.0).collect()
    }

    #[test]
    fn waits_for_the_slower_interface() {
        let p = pkt();
        let mut m = Merge::new(2, 1000);
        m.push(0, [(10, p), (30, p)].into_iter(), Some(30));
        // Interface 1 has said nothing: nothing can go.
        assert_eq!(times(&mut m, false), Vec::<i64>::new());
        m.push(1, [(20, p)].into_iter(), Some(25));
        // 10 and 20 go; 30 waits for interface 1 to pass 30.
        assert_eq!(times(&mut m, false), vec![10, 20]);
        assert_eq!(m.watermark(), 25);
        m.push(1, std::iter::empty(), Some(40));
        assert_eq!(times(&mut m, false), vec![30]);
        assert_eq!(m.watermark(), 30);
    }

    #[test]
    fn ties_go_by_interface_and_the_end_takes_all() {
        let p = pkt();
        let mut m = Merge::new(3, 1000);
        m.push(2, [(5, p)].into_iter(), None);
        m.push(0, [(5, p), (9, p)].into_iter(), None);
        m.push(1, [(7, p)].into_iter(), None);
        // 7 waits: interface 2 has delivered only up to 5 and may still have 6.
        assert_eq!(times(&mut m, false), vec![5, 5]);
        assert_eq!(times(&mut m, true), vec![7, 9]);
    }

    #[test]
    fn a_full_merge_lets_the_earliest_go() {
        let p = pkt();
        let mut m = Merge::new(2, 2);
        m.push(0, [(1, p), (2, p), (3, p)].into_iter(), None);
        assert_eq!(times(&mut m, false), vec![1]);
    }
}
