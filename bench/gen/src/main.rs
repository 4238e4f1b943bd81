//! bench-gen: writes the scale-test captures of the flowaudit benchmarks.
//!
//! ```text
//! bench-gen flood OUT.pcap [--packets N] [--seconds S]     (defaults: 3000000, 30)
//! bench-gen sequence OUT.pcap [--connections N]            (default: 2000000)
//! ```
//!
//! Both write classic pcap (microsecond timestamps, Ethernet), streaming through a buffered
//! writer: memory does not grow with the output. The same arguments always give the same bytes
//! (fixed addresses, timestamps and PRNG seeds). A one-line summary goes to standard error.
//!
//! `flood`: N TCP SYNs from N distinct IPv4 sources to one server, evenly spread over S seconds,
//! no replies. `sequence`: N complete short TCP connections, one after another, between one
//! client and the same server; the client's source port cycles through 1024-65535, so every
//! 4-tuple is reused after 64512 connections.

mod packet;
mod pcap;

use std::fs::File;
use std::io::{self, BufWriter};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use packet::{ACK, End, FIN, PSH, SYN, Seg, mac, tcp_frame};
use pcap::PcapWriter;

/// Packet time of the first packet: 1,700,000,000 s (2023-11-14T22:13:20Z).
const START_US: u64 = 1_700_000_000 * 1_000_000;

/// The server of both captures: the first `has` host of fixtures/has/inventory.toml, on the
/// port of rules/hopex.toml's HAS Server rules (iis-has, has-cluster-server).
const SERVER: End = End {
    mac: mac(21),
    ip: Ipv4Addr::new(10, 20, 0, 21),
    port: 5000,
};

/// The flood's sources sit behind one router: every SYN arrives with its MAC.
const ROUTER_MAC: packet::Mac = mac(1);

/// The client of `sequence`.
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 20);

const FLOOD_SEED: u64 = 0x5eed_f100_d000_0001;
const SEQUENCE_SEED: u64 = 0x5eed_5e90_0000_0002;

/// Client source ports used: 1024..=65535.
const FIRST_PORT: u16 = 1024;
const PORTS: u32 = 65536 - FIRST_PORT as u32;

/// `sequence`: time between two packets of a connection, and between two connection starts.
const PACKET_GAP_US: u64 = 100;
const CONNECTION_GAP_US: u64 = 1_000;
const REQUEST_LEN: usize = 100;
const RESPONSE_LEN: usize = 200;

/// Private IPv4 blocks the flood takes its sources from, in order: (network, prefix length).
/// In each /24 only .1 to .254 are used. 10.0.0.0/10 is left out: the server and the
/// inventory's hosts are there.
const SOURCE_BLOCKS: [([u8; 4], u32); 4] = [
    ([10, 64, 0, 0], 10),
    ([10, 128, 0, 0], 9),
    ([172, 16, 0, 0], 12),
    ([192, 168, 0, 0], 16),
];

/// How many distinct sources [`flood_source`] can give.
fn source_capacity() -> u64 {
    SOURCE_BLOCKS
        .iter()
        .map(|&(_, len)| (1u64 << (32 - len)) / 256 * 254)
        .sum()
}

/// The `i`-th flood source (distinct for every `i` below [`source_capacity`]).
fn flood_source(mut i: u64) -> Option<Ipv4Addr> {
    for &(net, len) in &SOURCE_BLOCKS {
        let cap = (1u64 << (32 - len)) / 256 * 254;
        if i < cap {
            let offset = (i / 254) * 256 + 1 + i % 254;
            return Some(Ipv4Addr::from(u32::from_be_bytes(net) + offset as u32));
        }
        i -= cap;
    }
    None
}

/// xorshift64* (Vigna): a fixed seed gives a fixed, random-looking sequence.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// What was written, for the summary line.
struct Summary {
    packets: u64,
    flows: u64,
    bytes: u64,
    first_us: u64,
    last_us: u64,
}

fn create(path: &PathBuf) -> io::Result<PcapWriter<BufWriter<File>>> {
    PcapWriter::new(BufWriter::with_capacity(1 << 20, File::create(path)?))
}

fn flood(path: &PathBuf, packets: u64, span_us: u64) -> io::Result<Summary> {
    let mut w = create(path)?;
    let mut rng = XorShift(FLOOD_SEED);
    let mut buf = Vec::with_capacity(64);
    let mut last_us = START_US;
    for i in 0..packets {
        let r = rng.next();
        let src = End {
            mac: ROUTER_MAC,
            ip: flood_source(i).expect("packet count checked against the source capacity"),
            port: FIRST_PORT + (r % u64::from(PORTS)) as u16,
        };
        let seg = Seg {
            seq: (r >> 32) as u32,
            ack: 0,
            flags: SYN,
            ip_id: (r >> 16) as u16,
            mss: true,
            payload: &[],
        };
        tcp_frame(&mut buf, &src, &SERVER, &seg);
        // even spread: packet i at i/N of the span (exact integer arithmetic)
        last_us = START_US + (u128::from(i) * u128::from(span_us) / u128::from(packets)) as u64;
        w.packet(last_us, &buf)?;
    }
    let (packets, bytes) = (w.packets(), w.bytes());
    w.finish()?;
    Ok(Summary {
        packets,
        flows: packets,
        bytes,
        first_us: START_US,
        last_us,
    })
}

/// One segment of a `sequence` connection: (from the client?, seq, ack, flags, MSS option,
/// payload).
type Step<'a> = (bool, u32, u32, u8, bool, &'a [u8]);

fn sequence(path: &PathBuf, connections: u64) -> io::Result<Summary> {
    let mut w = create(path)?;
    let mut rng = XorShift(SEQUENCE_SEED);
    let mut buf = Vec::with_capacity(320);
    let request: Vec<u8> = (0..REQUEST_LEN).map(|i| b'a' + (i % 26) as u8).collect();
    let response: Vec<u8> = (0..RESPONSE_LEN).map(|i| b'A' + (i % 26) as u8).collect();
    let (mut client_id, mut server_id) = (0u16, 0u16);
    let mut last_us = START_US;
    for n in 0..connections {
        let client = End {
            mac: mac(20),
            ip: CLIENT_IP,
            port: FIRST_PORT + (n % u64::from(PORTS)) as u16,
        };
        let c = rng.next() as u32; // client ISN
        let s = (rng.next() >> 32) as u32; // server ISN
        let (req, resp) = (REQUEST_LEN as u32, RESPONSE_LEN as u32);
        // sequence numbers after the SYN, after the data, after the FIN (modulo 2^32)
        let (c1, c2, c3) = (
            c.wrapping_add(1),
            c.wrapping_add(1 + req),
            c.wrapping_add(2 + req),
        );
        let (s1, s2, s3) = (
            s.wrapping_add(1),
            s.wrapping_add(1 + resp),
            s.wrapping_add(2 + resp),
        );
        // the server acknowledges the request before it answers, so that the history has
        // both 'a' and 'd' (ShADadFf)
        let segs: [Step; 9] = [
            (true, c, 0, SYN, true, &[]),
            (false, s, c1, SYN | ACK, true, &[]),
            (true, c1, s1, ACK, false, &[]),
            (true, c1, s1, PSH | ACK, false, &request),
            (false, s1, c2, ACK, false, &[]),
            (false, s1, c2, PSH | ACK, false, &response),
            (true, c2, s2, FIN | ACK, false, &[]),
            (false, s2, c3, FIN | ACK, false, &[]),
            (true, c3, s3, ACK, false, &[]),
        ];
        let start = START_US + n * CONNECTION_GAP_US;
        for (k, &(from_client, seq, ack, flags, mss, payload)) in segs.iter().enumerate() {
            let id = if from_client {
                &mut client_id
            } else {
                &mut server_id
            };
            *id = id.wrapping_add(1);
            let seg = Seg {
                seq,
                ack,
                flags,
                ip_id: *id,
                mss,
                payload,
            };
            let (src, dst) = if from_client {
                (&client, &SERVER)
            } else {
                (&SERVER, &client)
            };
            tcp_frame(&mut buf, src, dst, &seg);
            last_us = start + k as u64 * PACKET_GAP_US;
            w.packet(last_us, &buf)?;
        }
    }
    let (packets, bytes) = (w.packets(), w.bytes());
    w.finish()?;
    Ok(Summary {
        packets,
        flows: connections,
        bytes,
        first_us: START_US,
        last_us,
    })
}

const USAGE: &str = "usage: bench-gen flood OUT.pcap [--packets N] [--seconds S]\n       \
                     bench-gen sequence OUT.pcap [--connections N]";

/// Parsed command line.
enum Cmd {
    Flood {
        out: PathBuf,
        packets: u64,
        span_us: u64,
    },
    Sequence {
        out: PathBuf,
        connections: u64,
    },
}

fn parse_count(opt: &str, v: &str) -> Result<u64, String> {
    match v.replace('_', "").parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{opt}: expected a positive integer, got '{v}'")),
    }
}

fn parse_args(args: Vec<String>) -> Result<Cmd, String> {
    let mut it = args.into_iter();
    let mode = it.next().ok_or("missing mode (flood or sequence)")?;
    let out = PathBuf::from(it.next().ok_or("missing output file")?);
    let mut packets = 3_000_000u64;
    let mut seconds = 30.0f64;
    let mut connections = 2_000_000u64;
    while let Some(a) = it.next() {
        let (opt, inline) = match a.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let allowed = match mode.as_str() {
            "flood" => ["--packets", "--seconds"].contains(&opt.as_str()),
            _ => opt == "--connections",
        };
        if !allowed {
            return Err(format!("unexpected argument '{a}'"));
        }
        let v = match inline {
            Some(v) => v,
            None => it.next().ok_or(format!("{opt} needs a value"))?,
        };
        match opt.as_str() {
            "--packets" => packets = parse_count(&opt, &v)?,
            "--connections" => connections = parse_count(&opt, &v)?,
            _ => match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => seconds = s,
                _ => return Err(format!("--seconds: expected a positive number, got '{v}'")),
            },
        }
    }
    match mode.as_str() {
        "flood" => {
            let cap = source_capacity();
            if packets > cap {
                return Err(format!(
                    "--packets: at most {cap} (one distinct source each)"
                ));
            }
            Ok(Cmd::Flood {
                out,
                packets,
                span_us: (seconds * 1e6).round() as u64,
            })
        }
        "sequence" => Ok(Cmd::Sequence { out, connections }),
        m => Err(format!("unknown mode '{m}' (flood or sequence)")),
    }
}

fn secs(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let cmd = match parse_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench-gen: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (mode, out, result) = match cmd {
        Cmd::Flood {
            out,
            packets,
            span_us,
        } => {
            let r = flood(&out, packets, span_us);
            ("flood", out, r)
        }
        Cmd::Sequence { out, connections } => {
            let r = sequence(&out, connections);
            ("sequence", out, r)
        }
    };
    match result {
        Ok(s) => {
            eprintln!(
                "bench-gen {mode}: {}: {} packets, {} flows, {} bytes, span {} s ({} to {})",
                out.display(),
                s.packets,
                s.flows,
                s.bytes,
                secs(s.last_us - s.first_us),
                secs(s.first_us),
                secs(s.last_us)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-gen: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn sources_are_distinct_private_and_away_from_the_server() {
        let cap = source_capacity();
        assert!(cap >= 4_000_000);
        let mut seen = HashSet::new();
        // block boundaries and a stride through everything
        let mut idx: Vec<u64> = (0..cap).step_by(997).collect();
        idx.extend([0, 253, 254, 4_161_535, 4_161_536, cap - 1]);
        for i in idx {
            let a = flood_source(i).unwrap();
            let o = a.octets();
            assert!(o[3] != 0 && o[3] != 255, "{a}");
            assert!(a.is_private(), "{a}");
            assert!(!(o[0] == 10 && o[1] < 64), "{a}");
            seen.insert((i, a));
        }
        assert_eq!(flood_source(cap), None);
        let addrs: HashSet<_> = seen.iter().map(|&(_, a)| a).collect();
        assert_eq!(addrs.len(), seen.len());
    }
}
