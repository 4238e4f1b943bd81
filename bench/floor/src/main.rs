//! The benchmark floor: open a capture file with libpcap (through the `pcap` crate) and walk
//! its packets with `next_packet()`, counting packets and bytes and nothing else. Any tool
//! built on libpcap pays at least this much to read the same file.
//!
//!     pcap-floor FILE
//!
//! Prints `packets N wire_bytes N captured_bytes N`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: pcap-floor FILE");
        return ExitCode::from(2);
    };
    let mut cap = match pcap::Capture::from_file(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pcap-floor: {}: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let (mut packets, mut wire, mut captured) = (0u64, 0u64, 0u64);
    loop {
        match cap.next_packet() {
            Ok(p) => {
                packets += 1;
                wire += u64::from(p.header.len);
                captured += u64::from(p.header.caplen);
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => {
                eprintln!(
                    "pcap-floor: {}: after {packets} packets: {e}",
                    path.to_string_lossy()
                );
                return ExitCode::FAILURE;
            }
        }
    }
    println!("packets {packets} wire_bytes {wire} captured_bytes {captured}");
    ExitCode::SUCCESS
}
