//! One pending datagram and the policy by which its fragments are put together.
//!
//! **Held data wins.** A fragment's bytes fill only what is not held yet; where it overlaps bytes
//! already held, those are kept (Zeek's reassembler does the same; so does the BSD "first"
//! policy). The first fragment without more-fragments fixes the datagram's length: data past it
//! is left out. Every fragment is classed by what it brought:
//!
//! - a **duplicate** brought nothing new and agreed with everything held (a copy of a fragment,
//!   as a capture on two ports records it);
//! - an **overlap** covered held bytes and was no duplicate: it brought new bytes too, or
//!   disagreed;
//! - an **inconsistent** fragment disagreed with what was held: different bytes where they
//!   overlap (Zeek's `fragment_inconsistency`), or another end of the datagram than the one
//!   fixed, or data past it.
//!
//! Linux instead drops the whole datagram on any partial overlap (RFC 5722 for IPv6); a passive
//! auditor keeps counting what the hosts most likely saw, and the counters say where it guessed.

use super::ranges::Ranges;
use crate::decode::{Fragment, Packet};

/// How a fragment was taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Class {
    pub duplicate: bool,
    pub overlap: bool,
    pub inconsistent: bool,
}

/// A datagram some of whose fragments have come.
#[derive(Debug)]
pub struct Datagram {
    /// One of its fragments: addresses, VLANs.
    pub base: Packet,
    /// Captured bytes of the payload at their offsets (zero where not held); its length is the end
    /// of the captured bytes held.
    pub buf: Vec<u8>,
    /// Payload bytes seen on the wire.
    pub wire: Ranges,
    /// Payload bytes captured (held in `buf`); fewer than `wire` when the snaplen cut fragments.
    pub got: Ranges,
    /// Payload length, once a last fragment (no more-fragments) came.
    pub end: Option<u32>,
    /// IP header bytes and payload protocol: the first fragment's (offset 0) once it came.
    pub hdr_len: u32,
    pub proto: u8,
    pub have_first: bool,
    /// Frames taken into it.
    pub frames: u32,
    /// Packet time of its first fragment, ns.
    pub first_ts: i64,
}

impl Datagram {
    pub fn new(base: Packet, f: &Fragment, buf: Vec<u8>, ts: i64) -> Datagram {
        Datagram {
            base,
            buf,
            wire: Ranges::default(),
            got: Ranges::default(),
            end: None,
            hdr_len: f.hdr_len,
            proto: f.proto,
            have_first: false,
            frames: 0,
            first_ts: ts,
        }
    }

    /// The fragment's wire range and the end of its captured bytes, clipped to the datagram's
    /// end when known: `(start, wire_end, captured_end)`.
    pub fn span(&self, f: &Fragment, captured: u32) -> (u32, u32, u32) {
        let s = f.offset;
        let e = s + f.len;
        let e = self.end.map_or(e, |end| e.min(end)).max(s);
        let c = (s + captured).min(e);
        (s, e, c)
    }

    /// Whether the fragment fits the fixed-size range sets (see `ranges::MAX_PIECES`).
    pub fn fits(&self, f: &Fragment, captured: u32) -> bool {
        let (s, e, c) = self.span(f, captured);
        self.wire.fits(s, e) && self.got.fits(s, c)
    }

    /// Takes a fragment whose captured data is `data`; `buf` must already hold `span().2` bytes
    /// and [`Datagram::fits`] must be true.
    pub fn add(&mut self, f: &Fragment, data: &[u8]) -> Class {
        let (s, e, c) = self.span(f, data.len() as u32);
        let mut inconsistent = f.offset + f.len > e;
        let mut new_end = false;
        if !f.more {
            match self.end {
                Some(end) => inconsistent |= f.offset + f.len != end,
                None => {
                    // Held bytes past this end are left out.
                    inconsistent |= self.wire.max_end() > e;
                    self.end = Some(e);
                    new_end = true;
                }
            }
        }
        let held = self.wire.covered(s, e);
        // Where captured bytes overlap, the held ones stay; any difference is noted.
        for (a, b) in self.got.overlaps(s, c) {
            let (a, b) = (a as usize, b as usize);
            let at = s as usize;
            if self.buf.get(a..b) != data.get(a - at..b - at) {
                inconsistent = true;
            }
        }
        // The captured bytes not held yet: copied between the held ranges.
        let mut pos = s;
        let ranges = self.got;
        for (a, b) in ranges.overlaps(s, c).chain(std::iter::once((c, c))) {
            if a > pos {
                self.copy(pos, a, s, data);
            }
            pos = pos.max(b);
        }
        self.got.insert(s, c);
        self.wire.insert(s, e);
        if f.offset == 0 && !self.have_first {
            self.have_first = true;
            self.hdr_len = f.hdr_len;
            self.proto = f.proto;
        }
        self.frames += 1;
        let whole = held == e - s;
        let duplicate = whole && !inconsistent && !new_end;
        Class {
            duplicate,
            overlap: held > 0 && !duplicate,
            inconsistent,
        }
    }

    /// Copies data bytes `[a, b)` of the payload from the fragment's `data` (which starts at `s`).
    fn copy(&mut self, a: u32, b: u32, s: u32, data: &[u8]) {
        let (a, b, s) = (a as usize, b as usize, s as usize);
        if let (Some(dst), Some(src)) = (self.buf.get_mut(a..b), data.get(a - s..b - s)) {
            dst.copy_from_slice(src);
        }
    }

    /// Every byte of the payload has been seen on the wire.
    pub fn complete(&self) -> bool {
        self.end.is_some_and(|end| self.wire.prefix() >= end)
    }

    /// The payload's captured bytes from offset 0 without a hole, and its length on the wire.
    pub fn payload(&self) -> (&[u8], u32) {
        let end = self.end.unwrap_or(0);
        let n = self.got.prefix().min(end) as usize;
        (self.buf.get(..n).unwrap_or(&[]), end)
    }
}
