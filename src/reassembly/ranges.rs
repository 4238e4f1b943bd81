//! The parts of a datagram seen so far: a small sorted set of disjoint byte ranges, fixed in
//! size so that a pending datagram never allocates for it.

/// Most disjoint ranges a datagram may have: fragments that arrive in order, or in reverse, join
/// into one range; each hole between fragments received costs one. A fragment that would make
/// more is refused (counted as rejected): hostile streams of tiny fragments out of order cannot
/// make a datagram cost more than this.
pub const MAX_PIECES: usize = 64;

/// Sorted, disjoint, non-touching ranges `[start, end)` of bytes.
#[derive(Debug, Clone, Copy)]
pub struct Ranges {
    n: u8,
    r: [(u32, u32); MAX_PIECES],
}

impl Default for Ranges {
    fn default() -> Self {
        Ranges {
            n: 0,
            r: [(0, 0); MAX_PIECES],
        }
    }
}

impl Ranges {
    /// The ranges, in order.
    pub fn as_slice(&self) -> &[(u32, u32)] {
        &self.r[..self.n as usize]
    }

    /// The parts of `[s, e)` already held, in order.
    pub fn overlaps(&self, s: u32, e: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.as_slice()
            .iter()
            .filter(move |&&(a, b)| a < e && b > s)
            .map(move |&(a, b)| (a.max(s), b.min(e)))
    }

    /// Bytes of `[s, e)` already held.
    pub fn covered(&self, s: u32, e: u32) -> u32 {
        self.overlaps(s, e).map(|(a, b)| b - a).sum()
    }

    /// Whether `[s, e)` can be added without exceeding [`MAX_PIECES`].
    pub fn fits(&self, s: u32, e: u32) -> bool {
        if s >= e {
            return true;
        }
        // Ranges that touch or overlap [s, e) merge with it into one.
        let merged = self
            .as_slice()
            .iter()
            .filter(|&&(a, b)| a <= e && b >= s)
            .count();
        self.n as usize - merged < MAX_PIECES
    }

    /// Adds `[s, e)`; false, and nothing changed, when it does not fit (see [`Ranges::fits`]).
    pub fn insert(&mut self, s: u32, e: u32) -> bool {
        if s >= e {
            return true;
        }
        if !self.fits(s, e) {
            return false;
        }
        let n = self.n as usize;
        // First range that touches or follows [s, e), and the first past it.
        let i = self.r[..n].iter().position(|&(_, b)| b >= s).unwrap_or(n);
        let j = i + self.r[i..n].iter().take_while(|&&(a, _)| a <= e).count();
        let (mut ns, mut ne) = (s, e);
        if i < j {
            ns = ns.min(self.r[i].0);
            ne = ne.max(self.r[j - 1].1);
        }
        // Replace r[i..j] with the one merged range.
        let removed = j - i;
        if removed == 0 {
            self.r.copy_within(i..n, i + 1);
        } else {
            self.r.copy_within(j..n, i + 1);
        }
        self.r[i] = (ns, ne);
        self.n = (n + 1 - removed) as u8;
        true
    }

    /// Length of the part held from byte 0 without a hole.
    pub fn prefix(&self) -> u32 {
        match self.as_slice().first() {
            Some(&(0, b)) => b,
            _ => 0,
        }
    }

    /// End of the last range (0 when empty).
    pub fn max_end(&self) -> u32 {
        self.as_slice().last().map_or(0, |r| r.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_touching_and_overlapping() {
        let mut r = Ranges::default();
        assert!(r.insert(16, 24));
        assert!(r.insert(0, 8));
        assert_eq!(r.as_slice(), [(0, 8), (16, 24)]);
        assert_eq!(r.covered(4, 20), 8);
        assert_eq!(r.prefix(), 8);
        assert!(r.insert(8, 16)); // touches both
        assert_eq!(r.as_slice(), [(0, 24)]);
        assert!(r.insert(20, 40)); // overlaps the end
        assert!(r.insert(0, 0)); // empty: nothing
        assert_eq!(r.as_slice(), [(0, 40)]);
        assert_eq!((r.prefix(), r.max_end()), (40, 40));
        assert!(r.insert(48, 56));
        assert!(r.insert(44, 60)); // covers one whole range
        assert_eq!(r.as_slice(), [(0, 40), (44, 60)]);
        assert!(r.insert(2, 70)); // covers everything
        assert_eq!(r.as_slice(), [(0, 70)]);
    }

    #[test]
    fn refuses_past_the_cap() {
        let mut r = Ranges::default();
        for k in 0..MAX_PIECES as u32 {
            assert!(r.insert(k * 16, k * 16 + 8));
        }
        assert!(!r.fits(5000, 5008));
        assert!(!r.insert(5000, 5008));
        assert_eq!(r.as_slice().len(), MAX_PIECES);
        // Filling a hole still fits: it merges two ranges.
        assert!(r.insert(8, 16));
        assert_eq!(r.as_slice().len(), MAX_PIECES - 1);
        assert_eq!(r.as_slice()[0], (0, 24));
    }
}
