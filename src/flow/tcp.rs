//! TCP: Zeek's endpoint state machine, conn_state, and what each segment does to a flow.
//!
//! [`segment`] applies one segment in Zeek's order: who is the client, handshake timing,
//! sequence numbering, history letters, zero windows, retransmissions, then the endpoint states.

use super::history::bit;
use super::state::{Ext, Flow, NO_SIDE, NONE, tcp_time};
use crate::decode::{Tcp, tcpflags};

/// Zeek's TCP endpoint states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum TcpState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

impl TcpState {
    /// Zeek's "inactive" for conn_state: nothing, or only mid-stream traffic, seen.
    fn inactive(self) -> bool {
        matches!(self, TcpState::Inactive | TcpState::Partial)
    }
}

/// Zeek's conn_state codes (`conn/main.zeek`), one meaning each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnState {
    /// Connection attempt seen, no reply.
    S0,
    /// Connection established, not terminated.
    S1,
    /// Normal establishment and termination.
    SF,
    /// Connection attempt rejected.
    REJ,
    /// Established, the originator attempted to close, no reply from the responder.
    S2,
    /// Established, the responder attempted to close, no reply from the originator.
    S3,
    /// Established, the originator aborted (sent a RST).
    RSTO,
    /// Established, the responder aborted.
    RSTR,
    /// The originator sent a SYN followed by a RST; no SYN/ACK from the responder.
    RSTOS0,
    /// The responder sent a SYN/ACK followed by a RST; no SYN from the (purported) originator.
    RSTRH,
    /// The originator sent a SYN followed by a FIN; no SYN/ACK from the responder.
    SH,
    /// The responder sent a SYN/ACK followed by a FIN; no SYN from the originator.
    SHR,
    /// No SYN seen, just midstream traffic (or another pattern Zeek does not name).
    OTH,
}

impl ConnState {
    /// Every state, in declaration order.
    pub const ALL: [ConnState; 13] = [
        ConnState::S0,
        ConnState::S1,
        ConnState::SF,
        ConnState::REJ,
        ConnState::S2,
        ConnState::S3,
        ConnState::RSTO,
        ConnState::RSTR,
        ConnState::RSTOS0,
        ConnState::RSTRH,
        ConnState::SH,
        ConnState::SHR,
        ConnState::OTH,
    ];
    /// The code as conn.log writes it.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }
}

impl std::fmt::Display for ConnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Zeek's `conn_state` for TCP, from the two endpoint states, the payload sizes and the history.
pub fn conn_state(
    os: TcpState,
    rs: TcpState,
    orig_size: u64,
    resp_size: u64,
    history: &str,
) -> ConnState {
    use TcpState::*;
    if rs == Reset {
        if os == SynSent || os == SynAckSent || (os == Reset && orig_size == 0 && resp_size == 0) {
            ConnState::REJ
        } else if os.inactive() {
            ConnState::RSTRH
        } else {
            ConnState::RSTR
        }
    } else if os == Reset {
        if rs.inactive() {
            if syn_then_rst(history) {
                ConnState::RSTOS0
            } else {
                ConnState::OTH
            }
        } else {
            ConnState::RSTO
        }
    } else if rs == Closed && os == Closed {
        ConnState::SF
    } else if os == Closed {
        if rs.inactive() {
            ConnState::SH
        } else {
            ConnState::S2
        }
    } else if rs == Closed {
        if os.inactive() {
            ConnState::SHR
        } else {
            ConnState::S3
        }
    } else if os == SynSent && rs == Inactive {
        ConnState::S0
    } else if os == Established && rs == Established {
        ConnState::S1
    } else {
        ConnState::OTH
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` on the history: the client's SYN, then its RST, with no
/// handshake, ACK, FIN, gap, inconsistency or multi-flag packet from it in between.
fn syn_then_rst(h: &str) -> bool {
    let h = h.strip_prefix('^').unwrap_or(h);
    let Some(rest) = h.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

/// Zeek's `conn_state` for UDP: who sent anything.
pub fn udp_conn_state(orig_sent: bool, resp_sent: bool) -> ConnState {
    match (orig_sent, resp_sent) {
        (true, true) => ConnState::SF,
        (true, false) => ConnState::S0,
        (false, true) => ConnState::SHR,
        (false, false) => ConnState::OTH,
    }
}

/// Zeek's per-endpoint TCP bookkeeping, and what the endpoint's byte stream is known to
/// miss (Zeek's TCP_Reassembler without the bytes: where its contiguous stream ends, one
/// out-of-order island above it, what the peer acknowledged). 64 bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Endpoint {
    pub state: TcpState,
    pub prev_state: TcpState,
    /// The endpoint sent a FIN or RST that closed it (Zeek's `did_close`).
    pub did_close: bool,
    /// The endpoint's first packet was not a pure SYN (client) or not a SYN (server): Zeek's
    /// partial connection, whose first ack is not taken for a gap.
    pub began_partial: bool,
    /// A FIN was seen; `fin_seq` is its octet's sequence number.
    pub fin_seen: bool,
    /// `island` holds a range.
    pub has_island: bool,
    pub last_syn_seq: u32,
    pub last_fin_seq: u32,
    pub last_rst_seq: u32,
    pub start_seq: u32,
    /// One past the highest sequence number sent so far.
    pub last_seq: u32,
    /// Retransmissions and zero windows seen (history records the 1st, 10th, 100th...).
    pub rxmit: u32,
    pub win0: u32,
    /// Content gaps and bad checksums seen (history records the 1st, 10th, 100th...).
    pub gaps: u32,
    pub bad_csum: u32,
    /// Sequence number of the FIN octet.
    pub fin_seq: u32,
    /// One past the last byte of the contiguous stream seen from the start.
    pub next: u32,
    /// The highest acknowledgement taken so far (what is below it was delivered or missed).
    pub trim: u32,
    /// Bytes seen above a hole in the stream, [start, end): one range, covering every range
    /// seen above the hole (holes between them are taken as seen).
    pub island: (u32, u32),
}

/// `a - b` in sequence space.
#[inline]
fn seq_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

impl Endpoint {
    fn set_state(&mut self, s: TcpState) {
        self.prev_state = self.state;
        self.state = s;
    }
}

/// One segment's fields, as the state machine reads them.
#[derive(Debug, Clone, Copy)]
struct Seg {
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
    /// Payload bytes.
    len: u32,
    seq: u32,
    /// Sequence space the segment takes: payload, plus one for SYN and FIN (none for a RST).
    seq_end: u32,
    window: u16,
    /// Acknowledgement number.
    ack_seq: u32,
    /// The payload was captured whole (the snaplen did not cut it).
    whole: bool,
}

impl Seg {
    fn new(t: &Tcp, whole: bool) -> Seg {
        let syn = t.flags & tcpflags::SYN != 0;
        let fin = t.flags & tcpflags::FIN != 0;
        let rst = t.flags & tcpflags::RST != 0;
        let len = t.payload_len;
        let seg_len = len
            .wrapping_add(syn as u32)
            .wrapping_add(fin as u32)
            .wrapping_sub(if rst { len } else { 0 });
        Seg {
            syn,
            ack: t.flags & tcpflags::ACK != 0,
            fin,
            rst,
            len,
            seq: t.seq,
            seq_end: t.seq.wrapping_add(seg_len),
            window: t.window,
            ack_seq: t.ack,
            whole,
        }
    }
    fn pure_syn(&self) -> bool {
        self.syn && !self.ack && !self.rst
    }
    fn synack(&self) -> bool {
        self.syn && self.ack && !self.rst
    }
}

/// Zeek's `IsReuse`: whether a SYN from `side` starts a new connection on the flow's 4-tuple
/// (the old one then ends). Only a SYN can (a SYN/ACK only when the client has sent nothing):
/// after either side closed (FIN or RST), any SYN; before, a SYN whose sequence number is not
/// the initial one of the side it claims to open (unless it is the client's SYN captured after
/// the server's SYN/ACK).
pub fn starts_new(f: &Flow, x: Option<&Ext>, side: usize, t: &Tcp) -> bool {
    let syn = t.flags & tcpflags::SYN != 0;
    let ack = t.flags & tcpflags::ACK != 0;
    if !syn {
        return false;
    }
    let orig = f.known_client().unwrap_or(0);
    let Some(x) = x else {
        // A bare attempt: the client's SYNs with one sequence number (`f.isn`), no reply.
        return !ack && t.seq != f.isn;
    };
    let (o, r) = (&x.tcp[orig], &x.tcp[1 - orig]);
    let opener = if ack {
        if o.state != TcpState::Inactive {
            return false;
        }
        r
    } else {
        o
    };
    if o.did_close || r.did_close {
        return true;
    }
    if t.seq == opener.start_seq {
        return false;
    }
    // The SYN and SYN/ACK captured in reverse order: not a reuse.
    if !ack && opener.state == TcpState::SynAckSent && r.state == TcpState::Inactive {
        return t.seq != r.start_seq;
    }
    // `side` is unused by Zeek's rule: a SYN from either end with a new sequence number counts.
    let _ = side;
    true
}

/// Whether a segment leaves (or makes) the flow a bare connection attempt that needs no
/// [`Ext`]: a pure SYN from side 0 with a non-zero window, and the flow's first SYN's sequence
/// number (or the flow's first packet).
pub fn bare_attempt(f: &Flow, side: usize, t: &Tcp, whole: bool) -> bool {
    let g = Seg::new(t, whole);
    let first = f.counts[0].pkts + f.counts[1].pkts == 0;
    side == 0 && g.pure_syn() && !g.fin && g.len == 0 && g.window != 0 && (first || g.seq == f.isn)
}

/// Counts a segment that keeps the flow a bare attempt ([`bare_attempt`]).
pub fn count_attempt(f: &mut Flow, ts: i64, ip_len: u32, t: &Tcp) {
    if f.syn_side == NO_SIDE {
        f.syn_side = 0;
        f.isn = t.seq;
    }
    f.count(0, ts, ip_len, 0, true);
}

/// The [`Ext`] of a flow that has been a bare attempt so far: its first SYN applied at its
/// first packet time, and the latest of its repeats as the SYN time.
pub fn materialize(f: &mut Flow) -> Ext {
    let mut x = Ext::default();
    if f.syn_side == NO_SIDE {
        return x;
    }
    let g = Seg {
        syn: true,
        ack: false,
        fin: false,
        rst: false,
        len: 0,
        seq: f.isn,
        seq_end: f.isn.wrapping_add(1),
        window: 1,
        ack_seq: 0,
        whole: true,
    };
    apply(f, &mut x, 0, f.first_ns, &g);
    x.times[tcp_time::SYN] = f.last_ns;
    x.app.syn(0, false);
    x
}

/// Applies one TCP segment from `side`, sent at `ts`, to the flow, as Zeek's TCP analyzer does;
/// `whole`: its payload was captured whole.
pub fn segment(f: &mut Flow, x: &mut Ext, side: usize, ts: i64, ip_len: u32, t: &Tcp, whole: bool) {
    let g = Seg::new(t, whole);
    // Zeek stops moving a connection's last time once both sides have closed.
    let live = !(x.tcp[0].did_close && x.tcp[1].did_close);
    let later = f.count(side, ts, ip_len, g.len, live);
    x.history.age(later);
    apply(f, x, side, ts, &g);
}

/// A segment whose checksum is wrong, under `--checksums drop`: as in Zeek, it changes nothing
/// but the history (`C`/`c` at the 1st, 10th, 100th... bad segment of its sender).
pub fn bad_checksum(f: &Flow, x: &mut Ext, side: usize, ts: i64) {
    let behind = f.behind(ts);
    let e = &mut x.tcp[side];
    e.bad_csum = e.bad_csum.saturating_add(1);
    if is_power_of_ten(e.bad_csum) {
        x.history.add(side, b'C', behind);
    }
}

/// What a segment does besides being counted.
fn apply(f: &mut Flow, x: &mut Ext, side: usize, ts: i64, g: &Seg) {
    let behind = f.behind(ts);
    note_roles(f, side, g);
    let is_orig = f.known_client().map_or(side == 0, |c| c == side);
    if x.tcp[side].state == TcpState::Inactive && x.tcp[side].prev_state == TcpState::Inactive {
        x.tcp[side].began_partial = if is_orig { !g.syn || g.ack } else { !g.syn };
    }
    handshake_times(&mut x.times, f.syn_side as usize == side, ts, is_orig, g);
    sequence_start(&mut x.tcp[side], g);
    history_letters(x, side, behind, g);
    zero_window(x, side, behind, g);
    let peer_was_inactive = x.tcp[1 - side].state == TcpState::Inactive;
    if g.ack && peer_was_inactive {
        init_peer(&mut x.tcp[1 - side], g.ack_seq);
    }
    retransmission(x, side, behind, g);
    let was_open = [!x.tcp[0].did_close, !x.tcp[1].did_close];
    // Zeek's attempt timer is set once, when the client's first SYN makes an attempt.
    let track_attempt = x.attempt_ns == NONE;
    let was_attempt = track_attempt && attempt_pending(f, x);
    update_state(x, side, is_orig, g);
    closing(x, side, ts, was_open[side]);
    if g.fin {
        let e = &mut x.tcp[side];
        e.fin_seen = true;
        e.fin_seq = g.seq.wrapping_add(g.len).wrapping_add(g.syn as u32);
    }
    if g.ack && !peer_was_inactive {
        ack_received(x, 1 - side, g.ack_seq, behind);
    }
    if g.len > 0 && !g.rst && g.whole {
        data_sent(&mut x.tcp[side], g.seq.wrapping_add(g.syn as u32), g.len);
    }
    // Zeek's attempt timer starts with the client's first SYN.
    if track_attempt && !was_attempt && attempt_pending(f, x) {
        x.attempt_ns = ts;
    }
}

/// Zeek's connection attempt: the client sent a SYN (its state is SYN sent) and the server
/// nothing. Zeek ends such a connection `tcp_attempt_delay` (5 s) after the client's first SYN.
pub fn attempt_pending(f: &Flow, x: &Ext) -> bool {
    let Some(c) = f.known_client() else {
        return false;
    };
    matches!(x.tcp[c].state, TcpState::SynSent | TcpState::SynAckSent)
        && x.tcp[1 - c].state == TcpState::Inactive
}

/// Zeek's init_peer: an ACK from a side whose peer has sent nothing numbers the peer's stream
/// as though its SYN had been seen.
fn init_peer(p: &mut Endpoint, ack: u32) {
    p.start_seq = ack.wrapping_sub(1);
    p.last_seq = ack.wrapping_sub(1);
    restart_stream(p);
}

/// The stream restarts at the endpoint's (new) initial sequence number.
fn restart_stream(e: &mut Endpoint) {
    e.next = e.start_seq.wrapping_add(1);
    e.trim = e.next;
    e.has_island = false;
}

/// Zeek's ConnectionClosed: a FIN or RST that closes `side` for the first time marks it
/// closed; the connection's close is complete (and its removal `tcp_close_delay` later is
/// due) when that side was reset, or the peer closed too, or the peer never sent anything. A
/// RST after the side's own FIN also starts the delay (Zeek's `tcp_reset_delay`).
fn closing(x: &mut Ext, side: usize, ts: i64, was_open: bool) {
    use TcpState::*;
    let (e, p) = (x.tcp[side], x.tcp[1 - side]);
    let closed_now = matches!(e.state, Closed | Reset) && e.state != e.prev_state;
    if !closed_now {
        return;
    }
    if was_open {
        x.tcp[side].did_close = true;
        if (e.state == Reset || p.did_close || p.state == Inactive) && x.closed_ns == NONE {
            x.closed_ns = ts;
        }
    } else if e.state == Reset && e.prev_state == Closed && x.closed_ns == NONE {
        x.closed_ns = ts;
    }
}

/// Zeek's TCP_Endpoint::DataSent into the reassembler, without the bytes: `[seq, seq + len)`
/// extends the contiguous stream or the island above a hole (one island is kept: ranges above
/// the stream merge into it).
fn data_sent(e: &mut Endpoint, seq: u32, len: u32) {
    let end = seq.wrapping_add(len);
    if seq_diff(end, e.next) <= 0 {
        return;
    }
    if seq_diff(seq, e.next) <= 0 {
        e.next = end;
        if e.has_island && seq_diff(e.island.0, e.next) <= 0 {
            if seq_diff(e.island.1, e.next) > 0 {
                e.next = e.island.1;
            }
            e.has_island = false;
        }
    } else if !e.has_island {
        e.island = (seq, end);
        e.has_island = true;
    } else {
        // The island grows to cover this range too. When they do not touch, the hole between
        // them is taken as seen: with one island kept, a gap between two out-of-order ranges
        // is under-counted, never a byte seen counted as missed.
        if seq_diff(seq, e.island.0) < 0 {
            e.island.0 = seq;
        }
        if seq_diff(end, e.island.1) > 0 {
            e.island.1 = end;
        }
    }
}

/// Zeek's cleanly established or closing endpoint: only there is a gap believed.
fn clean(e: &Endpoint) -> bool {
    e.state == TcpState::Established
        || (e.state == TcpState::Closed && e.prev_state == TcpState::Established)
}

/// Zeek's AckReceived on the reassembler of `side`'s stream: acknowledged bytes never seen
/// are a content gap (history `G`/`g` at the 1st, 10th, 100th... gap, and `missed_bytes`), when
/// both endpoints are cleanly established or closing.
fn ack_received(x: &mut Ext, side: usize, ack: u32, behind: i64) {
    let partial = x.tcp[0].began_partial || x.tcp[1].began_partial;
    let report = clean(&x.tcp[side]) && clean(&x.tcp[1 - side]);
    let e = &mut x.tcp[side];
    let mut upto = ack;
    // The FIN's octet is no data.
    if e.fin_seen && seq_diff(upto, e.fin_seq) >= 0 {
        upto = e.fin_seq;
    }
    if seq_diff(upto, e.trim) <= 0 {
        return;
    }
    e.trim = upto;
    if seq_diff(upto, e.next) <= 0 {
        return;
    }
    // A partial connection's first ack may cover the byte before the first one seen.
    if partial && seq_diff(upto, e.start_seq) <= 2 {
        return;
    }
    let mut holes = [0u32; 2];
    if e.has_island && seq_diff(e.island.0, upto) < 0 {
        holes[0] = e.island.0.wrapping_sub(e.next);
        e.next = e.island.1;
        e.has_island = false;
        if seq_diff(upto, e.next) > 0 {
            holes[1] = upto.wrapping_sub(e.next);
            e.next = upto;
        }
    } else {
        holes[0] = upto.wrapping_sub(e.next);
        e.next = upto;
    }
    for &n in holes.iter().filter(|&&n| n > 0) {
        if report {
            let e = &mut x.tcp[side];
            e.gaps = e.gaps.saturating_add(1);
            if is_power_of_ten(e.gaps) {
                x.history.add(side, b'G', behind);
            }
            x.missed_bytes = x.missed_bytes.saturating_add(u64::from(n));
        }
    }
}

/// Who is the client: the first pure SYN's sender, else the first SYN/ACK's receiver.
fn note_roles(f: &mut Flow, side: usize, g: &Seg) {
    if g.pure_syn() && f.syn_side == NO_SIDE {
        f.syn_side = side as u8;
        f.isn = g.seq;
    }
    if g.synack() && f.synack_rcvd_side == NO_SIDE {
        f.synack_rcvd_side = (1 - side) as u8;
    }
}

/// Handshake timing, robust to packets a little out of time order.
fn handshake_times(t: &mut [i64; 4], from_syn_side: bool, ts: i64, is_orig: bool, g: &Seg) {
    use tcp_time::*;
    if g.pure_syn() && from_syn_side {
        if t[SYNACK_FIRST] == NONE || ts <= t[SYNACK_FIRST] {
            t[SYN] = t[SYN].max(ts);
        }
    } else if g.synack() && !from_syn_side {
        if t[SYNACK_FIRST] == NONE || ts < t[SYNACK_FIRST] {
            t[SYNACK_FIRST] = ts;
        }
        if t[ACK] == NONE || ts <= t[ACK] {
            t[SYNACK_LAST] = t[SYNACK_LAST].max(ts);
        }
    } else if g.ack
        && !g.syn
        && !g.rst
        && is_orig
        && t[SYNACK_FIRST] != NONE
        && ts >= t[SYNACK_FIRST]
        && (t[ACK] == NONE || ts < t[ACK])
    {
        t[ACK] = ts;
    }
}

/// Sequence numbering (Zeek's init_endpoint).
fn sequence_start(e: &mut Endpoint, g: &Seg) {
    match e.state {
        TcpState::Inactive => {
            if g.syn {
                e.start_seq = g.seq;
                e.last_seq = g.seq_end;
            } else {
                // Mid-stream: number as though a SYN preceded this segment, and do not take
                // the first segment for a retransmission.
                e.start_seq = g.seq.wrapping_sub(1);
                e.last_seq = g.seq;
            }
            restart_stream(e);
        }
        // A SYN with a new sequence number restarts the numbering.
        TcpState::SynSent | TcpState::SynAckSent | TcpState::Established | TcpState::Partial
            if g.syn && g.seq != e.start_seq =>
        {
            e.start_seq = g.seq;
            e.last_seq = g.seq_end;
            restart_stream(e);
        }
        _ => {}
    }
}

/// History letters (Zeek's update_history).
fn history_letters(x: &mut Ext, side: usize, behind: i64, g: &Seg) {
    let h = &mut x.history;
    let e = &mut x.tcp[side];
    let flags = g.syn as u8 + g.fin as u8 + g.rst as u8;
    if flags > 1 {
        if g.fin && g.rst {
            h.check(side, bit::FIN_RST, b'I', behind);
        } else {
            h.check(side, bit::MULTI, b'Q', behind);
        }
    } else if flags == 1 {
        if g.syn {
            let (b, letter) = if g.ack {
                (bit::SYNACK, b'H')
            } else {
                (bit::SYN, b'S')
            };
            if h.check(side, b, letter, behind) && g.seq != e.last_syn_seq {
                h.add(side, letter, behind);
            }
            e.last_syn_seq = g.seq;
        }
        if g.fin {
            let fin_seq = g.seq.wrapping_add(g.len);
            if h.check(side, bit::FIN, b'F', behind) && fin_seq != e.last_fin_seq {
                h.add(side, b'F', behind);
            }
            e.last_fin_seq = fin_seq;
        }
        if g.rst {
            if h.check(side, bit::RST, b'R', behind) && g.seq != e.last_rst_seq {
                h.add(side, b'R', behind);
            }
            e.last_rst_seq = g.seq;
        }
    } else if g.len > 0 {
        h.check(side, bit::DATA, b'D', behind);
    } else if g.ack {
        h.check(side, bit::ACK, b'A', behind);
    }
}

/// Zero window (Zeek's update_window): not with or after a RST, nor after the peer's FIN.
fn zero_window(x: &mut Ext, side: usize, behind: i64, g: &Seg) {
    if g.window == 0
        && !g.rst
        && x.tcp[1 - side].state != TcpState::Closed
        && x.tcp[side].state != TcpState::Reset
    {
        let e = &mut x.tcp[side];
        e.win0 = e.win0.saturating_add(1);
        if is_power_of_ten(e.win0) {
            x.history.add(side, b'W', behind);
        }
    }
}

/// Retransmissions (Zeek's update_last_seq).
fn retransmission(x: &mut Ext, side: usize, behind: i64, g: &Seg) {
    let e = &mut x.tcp[side];
    let delta = g.seq_end.wrapping_sub(e.last_seq) as i32;
    const TOO_LARGE: i32 = 1 << 20;
    let mut rxmit = false;
    if (g.syn || g.rst) && !(-TOO_LARGE..=TOO_LARGE).contains(&delta) {
        // An outlandish jump on a SYN or RST: not trusted.
    } else if g.fin && e.last_seq == e.start_seq.wrapping_add(1) {
        e.last_seq = g.seq_end;
    } else if e.state == TcpState::Reset {
        // Nothing after a RST is trusted.
    } else if delta > 0 {
        e.last_seq = g.seq_end;
    } else if g.len > 0 {
        rxmit = true;
    }
    if rxmit {
        e.rxmit = e.rxmit.saturating_add(1);
        if is_power_of_ten(e.rxmit) {
            x.history.add(side, b'T', behind);
        }
    }
}

/// Zeek's logarithmic history entries: the 1st, 10th, 100th... occurrence is recorded.
pub fn is_power_of_ten(n: u32) -> bool {
    let mut p = 1u32;
    loop {
        if n == p {
            return true;
        }
        match p.checked_mul(10) {
            Some(q) if q <= n => p = q,
            _ => return false,
        }
    }
}

/// Zeek's endpoint state machine (TCPSessionAdapter::UpdateStateMachine) for a segment from
/// `side`.
fn update_state(x: &mut Ext, side: usize, is_orig: bool, g: &Seg) {
    use TcpState::*;
    let Seg {
        syn,
        ack,
        fin,
        rst,
        len,
        seq,
        ..
    } = *g;
    let peer = 1 - side;
    let peer_synack = x.history.has(peer, bit::SYNACK);
    let (mut e, mut p) = (x.tcp[side], x.tcp[peer]);
    match e.state {
        Inactive => {
            if syn {
                if is_orig && !ack && p.state == Established && peer_synack {
                    // The client's SYN captured after the server's SYN/ACK (out of time order):
                    // the handshake is complete, not a new attempt.
                    e.set_state(Established);
                } else if is_orig {
                    e.set_state(if ack { SynAckSent } else { SynSent });
                } else {
                    // A SYN/ACK answering the client's SYN (or a reversed or simultaneous open):
                    // both ends are now established.
                    if !ack && p.state == SynAckSent && seq == e.start_seq {
                        p.set_state(Established);
                    }
                    if p.state == SynSent {
                        p.set_state(Established);
                    }
                    e.set_state(Established);
                }
            }
            if fin {
                e.set_state(Closed);
            }
            if rst {
                e.set_state(Reset);
            }
            if e.state == Inactive {
                if !is_orig && len == 0 && p.state == SynSent {
                    // Some stacks ACK a SYN before answering it: not yet a partial connection.
                } else if ack && p.state == Established {
                    // The SYN was missed but the SYN/ACK and this ACK were seen.
                    e.set_state(Established);
                } else {
                    e.set_state(Partial);
                }
            }
        }
        SynSent | SynAckSent => {
            if fin {
                e.set_state(Closed);
            }
            if rst {
                e.set_state(Reset);
            }
        }
        Established | Partial => {
            if syn && e.state == Partial && p.state == Inactive && !ack {
                e.set_state(SynSent);
            }
            if fin && !rst {
                e.set_state(Closed);
                // A FIN after the peer's FIN-then-RST was a normal close.
                if p.state == Reset && p.prev_state == Closed {
                    p.set_state(Closed);
                }
            }
            if rst {
                e.set_state(Reset);
            }
        }
        Closed => {
            // After both FINs a RST changes nothing.
            if rst && p.state != Closed {
                e.set_state(Reset);
            }
        }
        Reset => {}
    }
    x.tcp[side] = e;
    x.tcp[peer] = p;
}
