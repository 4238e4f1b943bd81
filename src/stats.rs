//! Capture statistics: every frame is counted, as a flow packet or by why it is not one.

use std::path::PathBuf;

use crate::decode::{Checksum, ChecksumMode, Layer, Packet, Reason, Skip, Transport};

const LAYERS: usize = Layer::ALL.len();
const REASONS: usize = Reason::ALL.len();

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
    /// Loopback frames of a non-IP address family, by family.
    pub not_ip_family: Vec<(u32, u64)>,
    /// IP packets of protocols other than TCP, UDP, ICMP, by protocol number.
    pub ip_proto: [u64; 256],
    /// Non-first IP fragments.
    pub fragments: u64,
    /// Frames whose headers the snaplen cut, by layer.
    pub truncated: [u64; LAYERS],
    /// Frames with a malformed header, by layer and reason.
    pub malformed: [[u64; REASONS]; LAYERS],
    /// Frames of link types flowaudit does not decode, by link type.
    pub unsupported_link: Vec<(u32, u64)>,
    /// Packets whose checksum was verified and found wrong (`--checksums count|drop`): the
    /// IPv4 header's, TCP's, UDP's.
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
            ip_proto: [0; 256],
            fragments: 0,
            truncated: [0; LAYERS],
            malformed: [[0; REASONS]; LAYERS],
            unsupported_link: Vec::new(),
            bad_checksums: [0; 3],
            checksum_unverified: 0,
        }
    }
}

fn bump<K: PartialEq + Ord + Copy>(list: &mut Vec<(K, u64)>, k: K) {
    add(list, k, 1);
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
        match p.transport {
            Transport::Tcp(_) => self.tcp_packets += 1,
            Transport::Udp(_) => self.udp_packets += 1,
            Transport::Icmp(i) if i.v6 => self.icmpv6_packets += 1,
            Transport::Icmp(_) => self.icmp_packets += 1,
        }
    }

    /// Counts what checksum verification found for a packet.
    #[inline]
    pub fn checksum(&mut self, p: &Packet) {
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
        match s {
            Skip::UnsupportedLinkType(lt) => bump(&mut self.unsupported_link, lt),
            Skip::NotIp(et) => bump(&mut self.not_ip, et),
            Skip::NotIpPpp(p) => bump(&mut self.not_ip_ppp, p),
            Skip::NotIpFamily(f) => bump(&mut self.not_ip_family, f),
            Skip::IpProto(p) => self.ip_proto[p as usize] += 1,
            Skip::Fragment => self.fragments += 1,
            Skip::Truncated(l) => self.truncated[layer_index(l)] += 1,
            Skip::Malformed(l, r) => self.malformed[layer_index(l)][reason_index(r)] += 1,
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
        for &(k, n) in &o.unsupported_link {
            add(&mut self.unsupported_link, k, n);
        }
        for (a, b) in self.ip_proto.iter_mut().zip(o.ip_proto.iter()) {
            *a += b;
        }
        self.fragments += o.fragments;
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

    /// Frames that are not TCP/UDP flow packets.
    pub fn not_in_flows(&self) -> u64 {
        self.packets - self.tcp_packets - self.udp_packets
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
/// its time span, then its [`InputSummary`].
pub struct Tally {
    pub sum: InputSummary,
    first: i64,
    last: i64,
    checksums: ChecksumMode,
}

impl Tally {
    pub fn new(sum: InputSummary) -> Tally {
        Tally {
            sum,
            first: i64::MAX,
            last: i64::MIN,
            checksums: ChecksumMode::Ignore,
        }
    }

    /// What is done with checksums (not verified by default).
    pub fn with_checksums(mut self, mode: ChecksumMode) -> Tally {
        self.checksums = mode;
        self
    }

    /// One frame read: counted, its time noted, decoded; Some(packet) for a flow packet, else
    /// counted by why not.
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
        let verify = self.checksums.verifies();
        match crate::decode::decode_with(linktype, data, wire_len, verify) {
            Ok(pkt) => {
                if verify {
                    stats.checksum(&pkt);
                    // Zeek drops a packet whose IPv4 header checksum is wrong before it
                    // reaches a connection.
                    if pkt.csum == Checksum::BadIp && self.checksums == ChecksumMode::Drop {
                        return None;
                    }
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

    /// The summary, with its totals and time span.
    pub fn finish(mut self) -> InputSummary {
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
