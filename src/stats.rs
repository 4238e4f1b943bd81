//! Capture statistics: every frame is counted, as a flow packet or by why it is not one.

use std::path::PathBuf;

use crate::decode::{
    Checksum, ChecksumMode, Layer, Opaque, Packet, Reason, Settings, Skip, Transport, TunnelConfig,
};
use crate::reassembly::Reassembler;

const LAYERS: usize = Layer::ALL.len();
const REASONS: usize = Reason::ALL.len();
const OPAQUES: usize = Opaque::ALL.len();

/// IP fragments and what reassembly ([`crate::reassembly`]) made of them. Every fragment frame
/// ends in exactly one of: a reassembled datagram, an incomplete one, or rejected
/// (`fragments = reassembled_fragments + incomplete_fragments + rejected` once the input is
/// finished). Duplicates, overlaps and inconsistent fragments are among those, counted again by
/// what they brought (see `reassembly::policy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragStats {
    /// Frames carrying a fragment (not atomic fragments: those are whole packets).
    pub fragments: u64,
    /// Datagrams reassembled; each is then one packet, counted by its protocol.
    pub reassembled: u64,
    /// Fragments in them.
    pub reassembled_fragments: u64,
    /// Of those, fragments of datagrams that are TCP/UDP flow packets, and those packets.
    pub flow_fragments: u64,
    pub flow_packets: u64,
    /// Datagrams never completed: timed out, dropped for the caps (evicted), still pending at
    /// the end of the input.
    pub timed_out: u64,
    pub evicted: u64,
    pub unfinished: u64,
    /// Fragments in them.
    pub incomplete_fragments: u64,
    /// Fragments that brought nothing new and agreed with what was held.
    pub duplicates: u64,
    /// Fragments that overlapped held data and were no duplicates (new bytes, or other bytes).
    pub overlaps: u64,
    /// Fragments that disagreed with held data (bytes or the datagram's end); held data won.
    pub inconsistent: u64,
    /// Fragments refused: past 65,535 bytes, empty but not the last, or too many pieces.
    pub rejected: u64,
}

impl FragStats {
    /// Datagrams given up.
    pub fn incomplete(&self) -> u64 {
        self.timed_out + self.evicted + self.unfinished
    }

    fn merge(&mut self, o: &FragStats) {
        self.fragments += o.fragments;
        self.reassembled += o.reassembled;
        self.reassembled_fragments += o.reassembled_fragments;
        self.flow_fragments += o.flow_fragments;
        self.flow_packets += o.flow_packets;
        self.timed_out += o.timed_out;
        self.evicted += o.evicted;
        self.unfinished += o.unfinished;
        self.incomplete_fragments += o.incomplete_fragments;
        self.duplicates += o.duplicates;
        self.overlaps += o.overlaps;
        self.inconsistent += o.inconsistent;
        self.rejected += o.rejected;
    }
}

/// Counters over everything read. Fixed-size tables: counting allocates nothing per packet
/// (the small lists of odd values grow only when a new value appears).
#[derive(Debug, Clone)]
pub struct Stats {
    /// Frames read (after the BPF filter).
    pub packets: u64,
    /// Their wire lengths, bytes.
    pub wire_bytes: u64,
    pub tcp_packets: u64,
    pub udp_packets: u64,
    pub icmp_packets: u64,
    pub icmpv6_packets: u64,
    /// Non-IP frames by the EtherType where decoding stopped (below 0x0600: 802.3/LLC).
    pub not_ip: Vec<(u16, u64)>,
    /// PPPoE session frames whose PPP protocol is not IP, by PPP protocol.
    pub not_ip_ppp: Vec<(u16, u64)>,
    /// Loopback and NFLOG frames of a non-IP address family, by family.
    pub not_ip_family: Vec<(u32, u64)>,
    /// Frames whose link layer's own protocol value is not IP, by layer and value (see
    /// [`Skip::NotIpLink`]); at most [`MAX_LINK_VALUES`] values, later new ones counted under
    /// (layer, [`OTHER_LINK_VALUE`]).
    pub not_ip_link: Vec<((Layer, u32), u64)>,
    /// Frames whose link layer carries no readable IP packet, by layer and why.
    pub opaque: [[u64; OPAQUES]; LAYERS],
    /// IP packets of protocols other than TCP, UDP, ICMP, by protocol number.
    pub ip_proto: [u64; 256],
    /// IP fragments and their reassembly.
    pub frag: FragStats,
    /// Frames whose headers the snaplen cut, by layer.
    pub truncated: [u64; LAYERS],
    /// Frames with a malformed header, by layer and reason.
    pub malformed: [[u64; REASONS]; LAYERS],
    /// Frames of link types flowaudit does not decode, by link type.
    pub unsupported_link: Vec<(u32, u64)>,
    /// Checksums verified and found wrong (`--checksums count|drop`): IPv4 headers, TCP, UDP
    /// (a tunnelled packet's outer IPv4 header and UDP datagram count too).
    pub bad_checksums: [u64; 3],
    /// Packets that could not be verified because the snaplen cut them.
    pub checksum_unverified: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            packets: 0,
            wire_bytes: 0,
            tcp_packets: 0,
            udp_packets: 0,
            icmp_packets: 0,
            icmpv6_packets: 0,
            not_ip: Vec::new(),
            not_ip_ppp: Vec::new(),
            not_ip_family: Vec::new(),
            not_ip_link: Vec::new(),
            opaque: [[0; OPAQUES]; LAYERS],
            ip_proto: [0; 256],
            frag: FragStats::default(),
            truncated: [0; LAYERS],
            malformed: [[0; REASONS]; LAYERS],
            unsupported_link: Vec::new(),
            bad_checksums: [0; 3],
            checksum_unverified: 0,
        }
    }
}

/// Most distinct values kept in [`Stats::not_ip_link`]: its values (LLC SAP pairs, SNAP OUIs)
/// are many, and a hostile capture could bring a new one with every frame.
pub const MAX_LINK_VALUES: usize = 256;

/// The value other link protocol values are counted under once [`MAX_LINK_VALUES`] are kept.
pub const OTHER_LINK_VALUE: u32 = u32::MAX;

/// Counts `k` in `list`, or under (its layer, [`OTHER_LINK_VALUE`]) when the list is full.
fn bump_link(list: &mut Vec<((Layer, u32), u64)>, k: (Layer, u32), n: u64) {
    let known = list.iter().any(|(key, _)| *key == k);
    let k = if known || list.len() < MAX_LINK_VALUES {
        k
    } else {
        (k.0, OTHER_LINK_VALUE)
    };
    add(list, k, n);
}

/// Adds `n` to `k`'s count in a small sorted list of (value, count).
fn add<K: PartialEq + Ord + Copy>(list: &mut Vec<(K, u64)>, k: K, n: u64) {
    match list.iter_mut().find(|(key, _)| *key == k) {
        Some((_, c)) => *c += n,
        None => {
            list.push((k, n));
            list.sort_unstable();
        }
    }
}

fn layer_index(l: Layer) -> usize {
    Layer::ALL.iter().position(|&x| x == l).unwrap_or(0)
}

fn reason_index(r: Reason) -> usize {
    Reason::ALL.iter().position(|&x| x == r).unwrap_or(0)
}

fn opaque_index(o: Opaque) -> usize {
    Opaque::ALL.iter().position(|&x| x == o).unwrap_or(0)
}

impl Stats {
    /// Counts a frame as read.
    #[inline]
    pub fn frame(&mut self, wire_len: u32) {
        self.packets += 1;
        self.wire_bytes += wire_len as u64;
    }

    /// Counts a decoded packet by transport.
    #[inline]
    pub fn decoded(&mut self, p: &Packet) {
        self.decoded_frames(p, 1);
    }

    /// Counts a packet that took `frames` frames (a reassembled datagram: one flow packet, or
    /// `frames` frames not in a flow).
    fn decoded_frames(&mut self, p: &Packet, frames: u64) {
        match p.transport {
            Transport::Tcp(_) => self.tcp_packets += 1,
            Transport::Udp(_) => self.udp_packets += 1,
            Transport::Icmp(i) if i.v6 => self.icmpv6_packets += frames,
            Transport::Icmp(_) => self.icmp_packets += frames,
            // Reassembly takes fragments before they are counted here.
            Transport::Fragment(_) => {}
        }
    }

    /// Counts what checksum verification found for a packet, and for the outer packets of the
    /// tunnels it came through (a bad outer IPv4 header or UDP checksum counts too).
    #[inline]
    pub fn checksum(&mut self, p: &Packet) {
        for t in p.encap.layers() {
            match t.csum {
                Checksum::BadIp => self.bad_checksums[0] += 1,
                Checksum::BadL4 => self.bad_checksums[2] += 1,
                _ => {}
            }
        }
        match p.csum {
            Checksum::BadIp => self.bad_checksums[0] += 1,
            Checksum::BadL4 if matches!(p.transport, Transport::Tcp(_)) => {
                self.bad_checksums[1] += 1
            }
            Checksum::BadL4 => self.bad_checksums[2] += 1,
            Checksum::Cut => self.checksum_unverified += 1,
            Checksum::Good | Checksum::Unchecked => {}
        }
    }

    /// Counts a frame that is not part of a flow.
    pub fn skipped(&mut self, s: Skip) {
        self.skipped_frames(s, 1);
    }

    /// Counts `n` frames that are not part of a flow for the same reason.
    fn skipped_frames(&mut self, s: Skip, n: u64) {
        match s {
            Skip::UnsupportedLinkType(lt) => add(&mut self.unsupported_link, lt, n),
            Skip::NotIp(et) => add(&mut self.not_ip, et, n),
            Skip::NotIpPpp(p) => add(&mut self.not_ip_ppp, p, n),
            Skip::NotIpFamily(f) => add(&mut self.not_ip_family, f, n),
            Skip::NotIpLink(l, v) => bump_link(&mut self.not_ip_link, (l, v), n),
            Skip::Opaque(l, o) => self.opaque[layer_index(l)][opaque_index(o)] += n,
            Skip::IpProto(p) => self.ip_proto[p as usize] += n,
            Skip::Truncated(l) => self.truncated[layer_index(l)] += n,
            Skip::Malformed(l, r) => self.malformed[layer_index(l)][reason_index(r)] += n,
        }
    }

    /// Counts a reassembled datagram of `frames` fragments: one TCP/UDP packet, or `frames`
    /// frames not in a flow (ICMP, another protocol, a broken transport header).
    fn reassembled(&mut self, result: &Result<Packet, Skip>, frames: u32) {
        let frames = frames as u64;
        match result {
            Ok(p) => {
                if matches!(p.transport, Transport::Tcp(_) | Transport::Udp(_)) {
                    self.frag.flow_fragments += frames;
                    self.frag.flow_packets += 1;
                }
                self.decoded_frames(p, frames);
            }
            Err(s) => self.skipped_frames(*s, frames),
        }
    }

    /// Adds another set of counters to this one.
    pub fn merge(&mut self, o: &Stats) {
        self.packets += o.packets;
        self.wire_bytes += o.wire_bytes;
        self.tcp_packets += o.tcp_packets;
        self.udp_packets += o.udp_packets;
        self.icmp_packets += o.icmp_packets;
        self.icmpv6_packets += o.icmpv6_packets;
        for &(k, n) in &o.not_ip {
            add(&mut self.not_ip, k, n);
        }
        for &(k, n) in &o.not_ip_ppp {
            add(&mut self.not_ip_ppp, k, n);
        }
        for &(k, n) in &o.not_ip_family {
            add(&mut self.not_ip_family, k, n);
        }
        for &(k, n) in &o.not_ip_link {
            bump_link(&mut self.not_ip_link, k, n);
        }
        for (ra, rb) in self.opaque.iter_mut().zip(o.opaque.iter()) {
            for (a, b) in ra.iter_mut().zip(rb.iter()) {
                *a += b;
            }
        }
        for &(k, n) in &o.unsupported_link {
            add(&mut self.unsupported_link, k, n);
        }
        for (a, b) in self.ip_proto.iter_mut().zip(o.ip_proto.iter()) {
            *a += b;
        }
        self.frag.merge(&o.frag);
        for (a, b) in self.bad_checksums.iter_mut().zip(o.bad_checksums.iter()) {
            *a += b;
        }
        self.checksum_unverified += o.checksum_unverified;
        for (a, b) in self.truncated.iter_mut().zip(o.truncated.iter()) {
            *a += b;
        }
        for (ra, rb) in self.malformed.iter_mut().zip(o.malformed.iter()) {
            for (a, b) in ra.iter_mut().zip(rb.iter()) {
                *a += b;
            }
        }
    }

    /// Frames that are not part of a TCP/UDP flow packet (a reassembled flow packet takes all its
    /// fragments' frames).
    pub fn not_in_flows(&self) -> u64 {
        let flow_frames =
            self.tcp_packets + self.udp_packets + self.frag.flow_fragments - self.frag.flow_packets;
        self.packets.saturating_sub(flow_frames)
    }

    /// Fragment frames that are in no packet: of incomplete datagrams, or rejected.
    pub fn fragments_in_no_packet(&self) -> u64 {
        self.frag.incomplete_fragments + self.frag.rejected
    }

    /// Truncated frames by layer, in layer order, non-zero only.
    pub fn truncated_by_layer(&self) -> impl Iterator<Item = (Layer, u64)> + '_ {
        Layer::ALL
            .iter()
            .zip(self.truncated.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(l, n)| (*l, *n))
    }

    /// Malformed frames by layer and reason, non-zero only.
    pub fn malformed_by_layer(&self) -> impl Iterator<Item = (Layer, Reason, u64)> + '_ {
        Layer::ALL.iter().enumerate().flat_map(move |(li, l)| {
            Reason::ALL
                .iter()
                .enumerate()
                .filter(move |(ri, _)| self.malformed[li][*ri] > 0)
                .map(move |(ri, r)| (*l, *r, self.malformed[li][ri]))
        })
    }
}

impl Stats {
    /// Link-layer frames that are not IP packets, labelled: link protocol values that are not
    /// IP, then frames that carry no readable packet; non-zero only, in layer order.
    pub fn link_skips(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .not_ip_link
            .iter()
            .map(|&((l, value), n)| (not_ip_link_name(l, value), n))
            .collect();
        for (li, l) in Layer::ALL.iter().enumerate() {
            for (oi, o) in Opaque::ALL.iter().enumerate() {
                let n = self.opaque[li][oi];
                if n > 0 {
                    v.push((format!("{} {}", l.name(), o.name()), n));
                }
            }
        }
        v
    }
}

/// A short name for a link layer's protocol value that is not IP ([`Skip::NotIpLink`]).
pub fn not_ip_link_name(l: Layer, value: u32) -> String {
    match l {
        _ if value == OTHER_LINK_VALUE => format!("{} other values", l.name()),
        Layer::LinuxSll | Layer::LinuxSll2 if value >= 0x1_0000 => {
            format!("{} hardware type {}", l.name(), value & 0xffff)
        }
        Layer::LinuxSll | Layer::LinuxSll2 => format!("{} protocol 0x{value:04x}", l.name()),
        Layer::Llc if value >= 0x100_0000 => format!("snap oui {:06x}", value & 0xff_ffff),
        Layer::Llc => format!("llc sap 0x{:02x}", value >> 8),
        Layer::Fddi => format!("fddi frame control 0x{value:02x}"),
        _ => format!("{} protocol 0x{value:02x}", l.name()),
    }
}

/// A short name for an EtherType in statistics.
pub fn ethertype_name(et: u16) -> String {
    match et {
        0x0806 => "arp".into(),
        0x8035 => "rarp".into(),
        0x88cc => "lldp".into(),
        0x8863 => "pppoe-discovery".into(),
        0x888e => "eapol".into(),
        0x8809 => "slow-protocols".into(),
        0x88f7 => "ptp".into(),
        0x8100 | 0x88a8 | 0x9100 | 0x9200 => format!("vlan-tag 0x{et:04x}"),
        e if e < 0x0600 => "802.3-llc".into(),
        e => format!("ethertype 0x{e:04x}"),
    }
}

/// A short name for an IP protocol number in statistics.
pub fn ip_proto_name(p: u8) -> String {
    let name = match p {
        2 => "igmp",
        4 => "ipip",
        41 => "ipv6-in-ip",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        59 => "ipv6-no-next-header",
        89 => "ospf",
        103 => "pim",
        112 => "vrrp",
        132 => "sctp",
        _ => return format!("ip-proto {p}"),
    };
    format!("{name} ({p})")
}

/// What one input contributed.
#[derive(Debug, Clone)]
pub struct InputSummary {
    pub path: PathBuf,
    pub size: Option<u64>,
    /// Frames read (after the filter).
    pub packets: u64,
    /// Their wire bytes.
    pub bytes: u64,
    pub first_ts_ns: Option<i64>,
    pub last_ts_ns: Option<i64>,
    /// Link types seen.
    pub link_types: Vec<u32>,
    /// What this input's frames were (flow packets, or why not).
    pub stats: Stats,
    /// True when reading stopped at damage (the error is in [`Outcome::errors`]).
    pub damaged: bool,
    /// For a live interface: libpcap's counters (received, dropped).
    pub live: Option<crate::capture::live::LiveCounters>,
}

impl InputSummary {
    /// An input before anything is read from it.
    pub fn new(path: PathBuf, size: Option<u64>) -> InputSummary {
        InputSummary {
            path,
            size,
            packets: 0,
            bytes: 0,
            first_ts_ns: None,
            last_ts_ns: None,
            link_types: Vec::new(),
            stats: Stats::default(),
            damaged: false,
            live: None,
        }
    }
}

/// Counts one input's frames as they are read (a file, or a live interface): its statistics and
/// its time span, then its [`InputSummary`]. Its IP fragments go through the input's own
/// [`Reassembler`], whose clock is the input's packet times.
pub struct Tally {
    pub sum: InputSummary,
    /// How frames (and reassembled datagrams) are decoded; `verify` follows `checksums`.
    decode: Settings,
    first: i64,
    last: i64,
    frags: Reassembler,
    checksums: ChecksumMode,
}

impl Tally {
    /// A tally that decodes with the default tunnel settings and does not verify checksums.
    pub fn new(sum: InputSummary) -> Tally {
        Tally {
            sum,
            decode: Settings::DEFAULT,
            first: i64::MAX,
            last: i64::MIN,
            frags: Reassembler::default(),
            checksums: ChecksumMode::Ignore,
        }
    }

    /// Decodes with tunnel settings `tunnels`.
    pub fn with_tunnels(mut self, tunnels: TunnelConfig) -> Tally {
        self.decode.tunnels = tunnels;
        self.reassembler();
        self
    }

    /// What is done with checksums (not verified by default).
    pub fn with_checksums(mut self, mode: ChecksumMode) -> Tally {
        self.checksums = mode;
        self.decode.verify = mode.verifies();
        self.reassembler();
        self
    }

    /// A new reassembler, decoding datagrams with this tally's settings.
    fn reassembler(&mut self) {
        self.frags = Reassembler::new(crate::reassembly::Config {
            decode: self.decode,
            ..Default::default()
        });
    }

    /// One frame read: counted, its time noted, decoded; Some(packet) for a flow packet (or an
    /// ICMP one), else counted by why not. A fragment goes to reassembly: Some(the datagram's
    /// packet) when it completes one, at this frame's time.
    #[inline]
    pub fn frame(
        &mut self,
        ts_ns: i64,
        linktype: u32,
        data: &[u8],
        wire_len: u32,
    ) -> Option<Packet> {
        let stats = &mut self.sum.stats;
        stats.frame(wire_len);
        self.first = self.first.min(ts_ns);
        self.last = self.last.max(ts_ns);
        self.frags.expire(ts_ns, &mut stats.frag);
        let verify = self.decode.verify;
        match crate::decode::decode_with(linktype, data, wire_len, &self.decode) {
            Ok(pkt) => {
                if verify {
                    stats.checksum(&pkt);
                    // Zeek drops a packet whose IPv4 header checksum is wrong before it
                    // reaches a connection (or, for a fragment, its reassembly).
                    if self.checksums == ChecksumMode::Drop
                        && (pkt.csum == Checksum::BadIp
                            || pkt.encap.layers().iter().any(|t| t.csum == Checksum::BadIp))
                    {
                        return None;
                    }
                }
                if let Transport::Fragment(f) = pkt.transport {
                    let done = self
                        .frags
                        .fragment(ts_ns, &pkt, &f, data, &mut stats.frag)?;
                    // The datagram's transport checksum, over its reassembled bytes.
                    if let (true, Ok(p)) = (verify, &done.result) {
                        stats.checksum(p);
                    }
                    stats.reassembled(&done.result, done.frames);
                    return done.result.ok();
                }
                stats.decoded(&pkt);
                Some(pkt)
            }
            Err(skip) => {
                stats.skipped(skip);
                None
            }
        }
    }

    /// Frames counted so far.
    pub fn packets(&self) -> u64 {
        self.sum.stats.packets
    }

    /// The summary, with its totals and time span; datagrams still pending are counted as
    /// unfinished.
    pub fn finish(mut self) -> InputSummary {
        self.frags.finish(&mut self.sum.stats.frag);
        let sum = &mut self.sum;
        sum.packets = sum.stats.packets;
        sum.bytes = sum.stats.wire_bytes;
        if sum.packets > 0 {
            sum.first_ts_ns = Some(self.first);
            sum.last_ts_ns = Some(self.last);
        }
        self.sum
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn link_values_are_capped_and_named() {
        let mut s = Stats::default();
        for v in 0..(MAX_LINK_VALUES as u32 + 10) {
            s.skipped(Skip::NotIpLink(Layer::Llc, 0x100_0000 | v));
        }
        s.skipped(Skip::NotIpLink(Layer::Llc, 0x100_0000));
        assert_eq!(s.not_ip_link.len(), MAX_LINK_VALUES + 1);
        assert_eq!(s.not_ip_link[0], ((Layer::Llc, 0x100_0000), 2));
        let other = s.not_ip_link.last().copied().unwrap();
        assert_eq!(other, ((Layer::Llc, OTHER_LINK_VALUE), 10));
        s.skipped(Skip::Opaque(Layer::Ieee80211, Opaque::Encrypted));
        let names = s.link_skips();
        assert_eq!(names[0], ("snap oui 000000".to_string(), 2));
        assert_eq!(names[MAX_LINK_VALUES], ("llc other values".to_string(), 10));
        assert_eq!(names.last().unwrap(), &("802.11 encrypted".to_string(), 1));
        let mut m = Stats::default();
        m.merge(&s);
        assert_eq!(m.not_ip_link, s.not_ip_link);
        assert_eq!(m.opaque, s.opaque);
    }
}
