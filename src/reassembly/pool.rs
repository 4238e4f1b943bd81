//! The buffers pending datagrams hold their bytes in: taken from a pool and given back, so that
//! reassembly allocates only while the pool grows to what the traffic needs, never per packet;
//! and every byte of them counted against one budget.

/// Smallest buffer handed out, bytes (a datagram of a few fragments of a 1500-byte MTU fits in
/// 4 KiB after one doubling).
const MIN_BUF: usize = 2048;

/// Largest datagram payload, bytes: 65535 is the most an IPv4 total length or IPv6 payload length
/// can say.
pub const MAX_DATAGRAM: usize = 65_535;

/// Free buffers and the bytes held by every buffer, free or in use.
#[derive(Debug, Default)]
pub struct Pool {
    free: Vec<Vec<u8>>,
    /// Capacity of every buffer the pool handed out or keeps, bytes.
    held: usize,
    /// Most bytes `held` may reach.
    budget: usize,
}

impl Pool {
    pub fn new(budget: usize) -> Pool {
        Pool {
            free: Vec::new(),
            held: 0,
            budget,
        }
    }

    /// Bytes held by buffers, free or in use.
    pub fn held(&self) -> usize {
        self.held
    }

    /// A buffer for a new datagram: a free one if any (empty, with its capacity), else an empty
    /// one that allocates when it first grows.
    pub fn take(&mut self) -> Vec<u8> {
        self.free.pop().unwrap_or_default()
    }

    /// Gives a buffer back for the next datagram.
    pub fn give(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        if buf.capacity() > 0 {
            self.free.push(buf);
        }
    }

    /// The capacity `buf` needs to hold `need` bytes: unchanged if it already does, else the next
    /// power of two (at least [`MIN_BUF`]), so that a buffer grows a few times at most.
    pub fn want(cap: usize, need: usize) -> usize {
        if need <= cap {
            cap
        } else {
            need.next_power_of_two().clamp(MIN_BUF, MAX_DATAGRAM + 1)
        }
    }

    /// Makes room for `extra` more bytes of buffers by freeing free buffers; false when that is not
    /// enough (the caller then ends a pending datagram, whose buffer comes back here, and tries
    /// again).
    pub fn room(&mut self, extra: usize) -> bool {
        while self.held + extra > self.budget {
            match self.free.pop() {
                Some(b) => self.held -= b.capacity(),
                None => return false,
            }
        }
        true
    }

    /// Grows `buf` to `cap` bytes of capacity and `len` bytes of length (new bytes zero), counting
    /// the capacity; [`Pool::room`] must have made room for it.
    pub fn grow(&mut self, buf: &mut Vec<u8>, cap: usize, len: usize) {
        let before = buf.capacity();
        if cap > before {
            buf.reserve_exact(cap - buf.len());
        }
        self.held += buf.capacity() - before;
        if buf.len() < len {
            buf.resize(len, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_counted() {
        let mut p = Pool::new(1 << 20);
        let mut b = p.take();
        assert_eq!(b.capacity(), 0);
        let cap = Pool::want(b.capacity(), 3000);
        assert_eq!(cap, 4096);
        assert!(p.room(cap));
        p.grow(&mut b, cap, 3000);
        assert_eq!((b.len(), p.held()), (3000, b.capacity()));
        let ptr = b.as_ptr();
        p.give(b);
        let b = p.take();
        assert_eq!((b.len(), b.as_ptr()), (0, ptr));
        assert_eq!(p.held(), b.capacity());
        p.give(b);
        // Over budget: free buffers are let go first.
        let mut small = Pool::new(6000);
        let mut a = small.take();
        assert!(small.room(4096));
        small.grow(&mut a, 4096, 10);
        small.give(a);
        assert!(small.room(4096));
        assert_eq!(small.held(), 0);
        assert!(!small.room(8192));
    }
}
