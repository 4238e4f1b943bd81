//! A flow's history: Zeek's letters, in packet-time order, upper case for the client.

use super::Text;

/// History letter bits per endpoint (Zeek records these at most once per direction, or once
/// per distinct sequence number for S, H, F, R).
pub mod bit {
    pub const SYN: u8 = 1;
    pub const SYNACK: u8 = 2;
    pub const ACK: u8 = 4;
    pub const DATA: u8 = 8;
    pub const FIN: u8 = 16;
    pub const RST: u8 = 32;
    pub const FIN_RST: u8 = 64;
    pub const MULTI: u8 = 128;
}

/// The most history letters kept per flow; later letters are dropped (Zeek's strings stay short
/// too: most letters appear once per direction).
pub const CAP: usize = 24;

/// How many of the latest letters an out-of-order packet's letter can move before.
pub const RECENT: usize = 4;

/// A recent letter's age that is unknown or 4.29 s or more.
const FAR: u32 = u32::MAX;

/// The letters of one flow. 44 bytes.
#[derive(Debug, Clone, Copy)]
pub struct History {
    /// Letters in order: ASCII upper case, with 0x80 set when side 1 sent it.
    letters: [u8; CAP],
    len: u8,
    /// Letters seen from each side ([`bit`]).
    bits: [u8; 2],
    /// How long before the flow's last packet the latest `RECENT` letters' packets were sent
    /// (ns, the last letter last; [`FAR`] for none or 4.29 s and more), so that a packet
    /// captured a little out of time order puts its letter back in time order.
    recent_age: [u32; RECENT],
}

impl Default for History {
    fn default() -> Self {
        History {
            letters: [0; CAP],
            len: 0,
            bits: [0; 2],
            recent_age: [FAR; RECENT],
        }
    }
}

impl History {
    /// The flow's last packet time moved `d` ns later: the recent letters are that much older.
    #[inline]
    pub fn age(&mut self, d: i64) {
        let d = u32::try_from(d).unwrap_or(FAR);
        for a in &mut self.recent_age {
            *a = a.saturating_add(d);
        }
    }

    /// Appends a letter for a packet from `side` sent `behind` ns before the flow's last packet
    /// (0 for a packet in time order); a packet earlier than the latest letters' packets goes
    /// before them.
    pub fn add(&mut self, side: usize, letter: u8, behind: i64) {
        let len = self.len as usize;
        if len >= CAP {
            return;
        }
        // A recent letter is later than this packet when it is younger than this packet's age.
        let later = (0..RECENT.min(len))
            .take_while(|&k| {
                let a = self.recent_age[RECENT - 1 - k];
                a != FAR && i64::from(a) < behind
            })
            .count();
        let pos = len - later;
        self.letters.copy_within(pos..len, pos + 1);
        self.letters[pos] = letter | if side == 1 { 0x80 } else { 0 };
        self.len += 1;
        // The window of recent ages slides by one, with this packet's at its place among
        // them; a letter put before all of them leaves the window as it was.
        if later < RECENT {
            let old = self.recent_age;
            let mut w = [FAR; RECENT];
            let split = RECENT - later;
            w[..split - 1].copy_from_slice(&old[1..split]);
            w[split - 1] = u32::try_from(behind).unwrap_or(FAR);
            w[split..].copy_from_slice(&old[split..]);
            self.recent_age = w;
        }
    }

    /// Zeek's CheckHistory: records `letter` the first time `bit` is seen from `side`; returns
    /// whether it had been seen before.
    pub fn check(&mut self, side: usize, bit: u8, letter: u8, behind: i64) -> bool {
        let seen = self.bits[side] & bit != 0;
        if !seen {
            self.bits[side] |= bit;
            self.add(side, letter, behind);
        }
        seen
    }

    /// Whether `side` has sent a packet that made the letter of `bit`.
    pub fn has(&self, side: usize, bit: u8) -> bool {
        self.bits[side] & bit != 0
    }

    /// The history string: letters of `client` upper case, the other side's lower case, with
    /// Zeek's leading `^` when the client did not send the earliest packet.
    pub fn render(&self, client: usize, earliest_side: usize) -> Text {
        let mut s = Text::with_capacity(self.len as usize + 1);
        if client != earliest_side {
            s.push('^');
        }
        for &h in &self.letters[..self.len as usize] {
            let from = usize::from(h & 0x80 != 0);
            let letter = (h & 0x7f) as char;
            s.push(if from == client {
                letter
            } else {
                letter.to_ascii_lowercase()
            });
        }
        s
    }
}
