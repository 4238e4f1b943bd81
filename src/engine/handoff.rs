//! Batches handed from one thread to another, their buffers sent back for reuse: the packets
//! from the reader thread to the flow thread, the sink calls from the flow thread to the sinks'
//! thread.
//!
//! Both channels are bounded (an array made once; an unbounded channel is a list that
//! allocates a block every few dozen messages). At most `max` buffers ever exist: past that,
//! the sending side waits for one to come back instead of allocating, so the number of
//! allocations does not grow with the input.

use std::sync::mpsc::{self, Receiver, SyncSender};

/// The sending side.
pub(super) struct Giver<T> {
    to: SyncSender<T>,
    back: Receiver<T>,
    /// Buffers made so far.
    made: usize,
    max: usize,
}

/// The receiving side.
pub(super) struct Taker<T> {
    from: Receiver<T>,
    back: SyncSender<T>,
}

/// A connected pair: at most `in_flight` batches queued, at most `max` buffers in existence
/// (counting the one the giver fills, which the caller made).
pub(super) fn handoff<T>(in_flight: usize, max: usize) -> (Giver<T>, Taker<T>) {
    let (to, from) = mpsc::sync_channel(in_flight);
    // It never holds more than the buffers there are, so giving one back never waits.
    let (back_to, back) = mpsc::sync_channel(max);
    (
        Giver {
            to,
            back,
            made: 1,
            max,
        },
        Taker {
            from,
            back: back_to,
        },
    )
}

impl<T> Giver<T> {
    /// Sends the full buffer `full` on and puts an empty one in its place: one given back,
    /// else a new one from `fresh` while fewer than `max` exist, else the next one given back.
    /// A receiving side that went away (it only does by panicking, which its thread's join
    /// reports) drops what is sent.
    pub(super) fn give(&mut self, full: &mut T, fresh: impl FnOnce() -> T) {
        let next = match self.back.try_recv() {
            Ok(b) => b,
            Err(_) if self.made < self.max => {
                self.made += 1;
                fresh()
            }
            Err(_) => match self.back.recv() {
                Ok(b) => b,
                Err(_) => fresh(),
            },
        };
        let _ = self.to.send(std::mem::replace(full, next));
    }
}

impl<T> Taker<T> {
    /// The next full buffer; None once the giver is gone and everything it sent was taken.
    pub(super) fn take(&self) -> Option<T> {
        self.from.recv().ok()
    }

    /// Gives an emptied buffer back for reuse (dropped if the giver is gone).
    pub(super) fn give_back(&self, emptied: T) {
        let _ = self.back.send(emptied);
    }
}
