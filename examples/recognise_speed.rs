//! How long the application-protocol recognisers take on what most packets carry, data in the
//! middle of a stream: `cargo run --release --example recognise_speed`. Prints ns per payload
//! for random bytes and TLS application-data records, as TCP and as UDP payloads (a
//! measurement, not a test: the machine's load moves it).

use std::hint::black_box;
use std::time::Instant;

use flowaudit::decode::app::recognise;

fn main() {
    // xorshift64: the same payloads every run.
    let mut x: u64 = 7;
    let mut random = vec![[0u8; 1400]; 64];
    for p in &mut random {
        for b in p.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    let mut app_data = random.clone();
    for p in &mut app_data {
        p[..5].copy_from_slice(&[0x17, 0x03, 0x03, 0x05, 0x73]);
    }
    println!("| payload | transport | ns per payload |");
    println!("|---|---|---:|");
    for (what, tcp) in [("tcp", true), ("udp", false)] {
        for (name, set) in [
            ("random bytes", &random),
            ("TLS application data", &app_data),
        ] {
            let start = Instant::now();
            let mut n = 0usize;
            for i in 0..1_000_000 {
                n += recognise(black_box(&set[i % set.len()][..]), tcp).hint as usize;
            }
            black_box(n);
            let ns = start.elapsed().as_nanos() as f64 / 1e6;
            println!("| {name} | {what} | {ns:.1} |");
        }
    }
}
