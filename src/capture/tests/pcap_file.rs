//! pcap files (`pcap_file`).

use super::*;

#[test]
fn pcap_microsecond_little_endian() {
    let (frames, error, link_types) = read_bytes(PCAP_US_LE, Format::Pcap, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        frames,
        vec![
            Frame {
                ts_ns: 100_000_000_123_456_000,
                data: vec![0xde, 0xad, 0xbe, 0xef],
                wire_len: 60,
                linktype: 1,
                offset_after: 44,
            },
            Frame {
                ts_ns: 100_000_001_000_000_000,
                data: vec![0xca, 0xfe],
                wire_len: 2,
                linktype: 1,
                offset_after: 62,
            },
        ]
    );
    assert_eq!(link_types, [1]);
}

#[rustfmt::skip]
const PCAP_NS_BE: &[u8] = &[
    // file header
    0xa1, 0xb2, 0x3c, 0x4d, // magic a1b23c4d big-endian: ns timestamps
    0x00, 0x02, 0x00, 0x04, // version 2.4
    0x00, 0x00, 0x00, 0x00, // thiszone 0
    0x00, 0x00, 0x00, 0x00, // sigfigs 0
    0x00, 0x00, 0x01, 0x00, // snaplen 256
    0x00, 0x00, 0x00, 0x65, // linktype 101, raw IP
    // record 1, byte 24
    0x5f, 0x5e, 0x10, 0x00, // ts_sec 1600000000
    0x3b, 0x9a, 0xc9, 0xff, // ts_nsec 999999999
    0x00, 0x00, 0x00, 0x03, // caplen 3
    0x00, 0x00, 0x00, 0x05, // orig_len 5
    0x45, 0x00, 0x00,       // frame
    // end, byte 43
];

#[test]
fn pcap_nanosecond_big_endian() {
    let (frames, error, link_types) = read_bytes(PCAP_NS_BE, Format::Pcap, None);
    assert!(error.is_none(), "{error:?}");
    // libpcap reports LINKTYPE_RAW (101) as DLT_RAW (12).
    assert_eq!(
        frames,
        vec![Frame {
            ts_ns: 1_600_000_000_999_999_999,
            data: vec![0x45, 0, 0],
            wire_len: 5,
            linktype: 12,
            offset_after: 43,
        }]
    );
    assert_eq!(link_types, [12]);
}

#[test]
fn pcap_truncated_file_header() {
    let file = temp_file("short.pcap", &PCAP_US_LE[..10]);
    let error = Reader::open(&input(&file.0, Format::Pcap), None).err();
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 0);
    assert_eq!(
        what,
        "file ends in the middle of the 24-byte pcap file header: 10 bytes"
    );
}

#[test]
fn pcap_truncated_record_header() {
    let mut bytes = PCAP_US_LE.to_vec();
    bytes.extend([0x02, 0xe1, 0xf5]); // 3 bytes of a third record header
    let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
    assert_eq!(frames.len(), 2);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 62);
    assert_eq!(
        what,
        "file ends in the middle of a record header: 3 of 16 bytes"
    );
}

#[test]
fn pcap_truncated_packet_data() {
    let full = vec![0x5a; 1514];
    let mut bytes = pcap_file(65535, 1, &[(1, 0, &[1, 2, 3, 4]), (2, 0, &full)]);
    // Keep 700 of the 1514 bytes of the second record.
    bytes.truncate(24 + 16 + 4 + 16 + 700);
    let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
    assert_eq!(frames.len(), 1);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 44);
    assert_eq!(
        what,
        "file ends in the middle of a packet record: 700 of 1514 bytes"
    );
}

#[test]
fn pcap_caplen_larger_than_snaplen() {
    // libpcap itself would cut this record to 64 bytes and go on.
    let long = [0x11; 100];
    let bytes = pcap_file(64, 1, &[(1, 0, &[1, 2]), (2, 0, &long), (3, 0, &[3])]);
    let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
    assert_eq!(frames.len(), 1);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 24 + 16 + 2);
    assert_eq!(
        what,
        "record header says 100 captured bytes, more than the 64-byte snaplen"
    );
}

#[test]
fn pcap_records_as_long_as_the_snaplen_are_fine() {
    let exact = [0x11; 64];
    let bytes = pcap_file(64, 1, &[(1, 0, &exact), (2, 0, &exact)]);
    let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].offset_after, bytes.len() as u64);
}

#[test]
fn pcap_huge_caplen() {
    let mut bytes = pcap_file(262_144, 1, &[(1, 0, &[1, 2])]);
    bytes.extend(pcap_file(0, 0, &[(2, 0, &[0; 8])])[24..].iter()); // second record
    // Its caplen field (8 bytes into the record header) becomes 0xffffffff.
    bytes[24 + 16 + 2 + 8..24 + 16 + 2 + 12].copy_from_slice(&[0xff; 4]);
    let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
    assert_eq!(frames.len(), 1);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 42);
    assert_eq!(
        what,
        "record header says 4294967295 captured bytes, more than the 262144-byte snaplen"
    );
}

#[test]
fn pcap_bad_magic_named_to_reader() {
    let file = temp_file("zip", b"PK\x03\x04rest of a zip file, long enough");
    let error = Reader::open(&input(&file.0, Format::Pcap), None).err();
    assert!(
        matches!(&error, Some(CaptureError::NotACapture { found, .. }) if found == "starts with 50 4b 03 04"),
        "{error:?}"
    );
}

#[rustfmt::skip]
const PCAP_US_BE: &[u8] = &[
    // file header
    0xa1, 0xb2, 0xc3, 0xd4, // magic a1b2c3d4 big-endian: µs timestamps
    0x00, 0x02, 0x00, 0x04, // version 2.4
    0x00, 0x00, 0x00, 0x00, // thiszone 0
    0x00, 0x00, 0x00, 0x00, // sigfigs 0
    0x00, 0x00, 0xff, 0xff, // snaplen 65535
    0x00, 0x00, 0x00, 0x01, // linktype 1, Ethernet
    // record 1, byte 24
    0x00, 0x00, 0x00, 0x02, // ts_sec 2
    0x00, 0x0f, 0x42, 0x3f, // ts_usec 999999
    0x00, 0x00, 0x00, 0x02, // caplen 2
    0x00, 0x00, 0x05, 0xea, // orig_len 1514
    0x01, 0x02,             // frame
    // end, byte 42
];

#[test]
fn pcap_microsecond_big_endian() {
    let (frames, error, link_types) = read_bytes(PCAP_US_BE, Format::Pcap, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        frames,
        vec![Frame {
            ts_ns: 2_999_999_000,
            data: vec![1, 2],
            wire_len: 1514,
            linktype: 1,
            offset_after: 42,
        }]
    );
    assert_eq!(link_types, [1]);
}

#[rustfmt::skip]
const PCAP_NS_LE: &[u8] = &[
    // file header
    0x4d, 0x3c, 0xb2, 0xa1, // magic a1b23c4d little-endian: ns timestamps
    0x02, 0x00, 0x04, 0x00, // version 2.4
    0x00, 0x00, 0x00, 0x00, // thiszone 0
    0x00, 0x00, 0x00, 0x00, // sigfigs 0
    0x00, 0x00, 0x04, 0x00, // snaplen 262144
    0x71, 0x00, 0x00, 0x00, // linktype 113, Linux SLL
    // record 1, byte 24
    0xff, 0xff, 0xff, 0xff, // ts_sec -1 (signed, as libpcap reads it)
    0x01, 0x00, 0x00, 0x00, // ts_nsec 1
    0x00, 0x00, 0x00, 0x00, // caplen 0: an empty record
    0x00, 0x00, 0x00, 0x00, // orig_len 0
    // record 2, byte 40
    0x00, 0x00, 0x00, 0x00, // ts_sec 0
    0x00, 0x00, 0x00, 0x00, // ts_nsec 0
    0x01, 0x00, 0x00, 0x00, // caplen 1
    0x10, 0x00, 0x00, 0x00, // orig_len 16
    0x99,                   // frame
    // end, byte 57
];

#[test]
fn pcap_nanosecond_little_endian_with_an_empty_record() {
    let (frames, error, link_types) = read_bytes(PCAP_NS_LE, Format::Pcap, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        frames,
        vec![
            Frame {
                ts_ns: -999_999_999,
                data: vec![],
                wire_len: 0,
                linktype: 113,
                offset_after: 40,
            },
            Frame {
                ts_ns: 0,
                data: vec![0x99],
                wire_len: 16,
                linktype: 113,
                offset_after: 57,
            },
        ]
    );
    assert_eq!(link_types, [113]);
}

#[rustfmt::skip]
const PCAP_PATCHED_LE: &[u8] = &[
    // file header
    0x34, 0xcd, 0xb2, 0xa1, // magic a1b2cd34 little-endian: µs, 24-byte record headers
    0x02, 0x00, 0x04, 0x00, // version 2.4
    0x00, 0x00, 0x00, 0x00, // thiszone 0
    0x00, 0x00, 0x00, 0x00, // sigfigs 0
    0x02, 0x00, 0x00, 0x00, // snaplen 2 (16 for Ethernet: libpcap adds 14)
    0x01, 0x00, 0x00, 0x00, // linktype 1, Ethernet
    // record 1, byte 24
    0x0a, 0x00, 0x00, 0x00, // ts_sec 10
    0x05, 0x00, 0x00, 0x00, // ts_usec 5
    0x10, 0x00, 0x00, 0x00, // caplen 16, the snaplen plus 14
    0x40, 0x00, 0x00, 0x00, // orig_len 64
    0x02, 0x00, 0x00, 0x00, // ifindex 2
    0x00, 0x08, 0x00, 0x00, // protocol 0x0800, pkt_type 0, padding
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, // frame
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    // end, byte 64
];

#[test]
fn pcap_patched_little_endian() {
    let (frames, error, link_types) = read_bytes(PCAP_PATCHED_LE, Format::Pcap, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        frames,
        vec![Frame {
            ts_ns: 10_000_005_000,
            data: (0..16).collect(),
            wire_len: 64,
            linktype: 1,
            offset_after: 64,
        }]
    );
    assert_eq!(link_types, [1]);
    // One byte more than the snaplen plus 14.
    let mut longer = PCAP_PATCHED_LE.to_vec();
    longer[24 + 8] = 17;
    longer.push(0x10);
    let (frames, error, _) = read_bytes(&longer, Format::Pcap, None);
    assert!(frames.is_empty());
    assert_eq!(
        expect_corrupt(error),
        (
            24,
            "record header says 17 captured bytes, more than the 2-byte snaplen".to_string()
        )
    );
}

#[rustfmt::skip]
const PCAP_PATCHED_BE: &[u8] = &[
    // file header
    0xa1, 0xb2, 0xcd, 0x34, // magic a1b2cd34 big-endian: µs, 24-byte record headers
    0x00, 0x02, 0x00, 0x04, // version 2.4
    0x00, 0x00, 0x00, 0x00, // thiszone 0
    0x00, 0x00, 0x00, 0x00, // sigfigs 0
    0x00, 0x00, 0x00, 0x00, // snaplen 0: the 262144-byte maximum
    0x00, 0x00, 0x00, 0x65, // linktype 101, raw IP
    // record 1, byte 24
    0x00, 0x00, 0x00, 0x01, // ts_sec 1
    0x00, 0x00, 0x00, 0x02, // ts_usec 2
    0x00, 0x00, 0x00, 0x01, // caplen 1
    0x00, 0x00, 0x00, 0x01, // orig_len 1
    0x00, 0x00, 0x00, 0x03, // ifindex 3
    0x86, 0xdd, 0x04, 0x00, // protocol 0x86dd, pkt_type 4, padding
    0x60,                   // frame
    // end, byte 49
];

#[test]
fn pcap_patched_big_endian() {
    let (frames, error, link_types) = read_bytes(PCAP_PATCHED_BE, Format::Pcap, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        frames,
        vec![Frame {
            ts_ns: 1_000_002_000,
            data: vec![0x60],
            wire_len: 1,
            linktype: 12,
            offset_after: 49,
        }]
    );
    assert_eq!(link_types, [12]);
}

#[test]
fn pcap_unknown_version() {
    for (major, minor) in [(1u16, 0u16), (2, 5), (3, 0), (543, 1)] {
        let mut bytes = PCAP_US_LE.to_vec();
        bytes[4..6].copy_from_slice(&major.to_le_bytes());
        bytes[6..8].copy_from_slice(&minor.to_le_bytes());
        let file = temp_file("version.pcap", &bytes);
        let error = Reader::open(&input(&file.0, Format::Pcap), None).err();
        assert_eq!(
            expect_corrupt(error),
            (
                0,
                format!(
                    "pcap file header says format version {major}.{minor}; the versions are \
                     2.0 to 2.4 (and 543.0)"
                )
            )
        );
        // libpcap refuses it too.
        assert!(pcap::Capture::from_file(&file.0).is_err());
    }
}

#[test]
fn pcap_caplen_larger_than_the_maximum_without_snaplen() {
    let bytes = pcap_file(0, 1, &[(1, 0, &[0; 262_145])]);
    let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
    assert!(frames.is_empty());
    assert_eq!(
        expect_corrupt(error),
        (
            24,
            "record header says 262145 captured bytes, more than the 262144-byte maximum"
                .to_string()
        )
    );
    // A snaplen over the maximum is the maximum, as libpcap has it.
    let bytes = pcap_file(1 << 20, 1, &[(1, 0, &[0; 262_145])]);
    let (_, error, _) = read_bytes(&bytes, Format::Pcap, None);
    assert_eq!(
        expect_corrupt(error),
        (
            24,
            "record header says 262145 captured bytes, more than the 262144-byte maximum"
                .to_string()
        )
    );
}

#[test]
fn pcap_record_of_exactly_the_maximum() {
    let big: Vec<u8> = (0..262_144u32).map(|i| (i % 251) as u8).collect();
    let bytes = pcap_file(0, 1, &[(1, 0, &[7; 3]), (2, 0, &big), (3, 0, &[8])]);
    let (frames, error, _) = read_bytes(&bytes, Format::Pcap, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[1].data, big);
    assert_eq!(frames[1].offset_after, 24 + 16 + 3 + 16 + 262_144);
    assert_eq!(frames[2].data, [8]);
}

/// A reader that hands out its bytes a few at a time, as a pipe may.
struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    step: usize,
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Steps of 1 to `step` bytes, changing every call.
        let n = (self.at % self.step + 1)
            .min(buf.len())
            .min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn pcap_records_across_buffer_refills() {
    // Odd sizes, 0 to 1999 bytes, over 3 MB: refills cut record headers and frames at every
    // alignment.
    let frames: Vec<Vec<u8>> = (0..3300u32)
        .map(|i| {
            let len = (i * 7919) % 2000;
            (0..len).map(|j| (i + j) as u8).collect()
        })
        .collect();
    let records: Vec<(u32, u32, &[u8])> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (i as u32, 0, &f[..]))
        .collect();
    let bytes = pcap_file(65535, 1, &records);
    assert!(bytes.len() > 3_000_000);
    let check = |got: Vec<Frame>| {
        assert_eq!(got.len(), frames.len());
        let mut offset = 24u64;
        for (i, (g, f)) in got.iter().zip(&frames).enumerate() {
            offset += 16 + f.len() as u64;
            assert_eq!(g.data, *f, "frame {i}");
            assert_eq!(g.ts_ns, i as i64 * 1_000_000_000);
            assert_eq!(g.offset_after, offset);
        }
    };
    // From a file, in large reads.
    let (got, error, _) = read_bytes(&bytes, Format::Pcap, None);
    assert!(error.is_none(), "{error:?}");
    check(got);
    // From a stream that gives 1 to 4093 bytes per read.
    let stream = Trickle {
        bytes: bytes.clone(),
        at: 0,
        step: 4093,
    };
    let mut reader = Reader::from_stream("-", Box::new(stream), None).expect("open");
    let (got, error) = drain(&mut reader);
    assert!(error.is_none(), "{error:?}");
    check(got);
}

#[test]
fn pcap_every_truncation() {
    let frames = [eth_tcp(80), vec![], vec![1, 2, 3], eth_tcp(443)];
    let records: Vec<(u32, u32, &[u8])> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (i as u32, 0, &f[..]))
        .collect();
    let bytes = pcap_file(65535, 1, &records);
    // Start of every record.
    let starts: Vec<usize> = frames
        .iter()
        .scan(24, |at, f| {
            let start = *at;
            *at += 16 + f.len();
            Some(start)
        })
        .collect();
    for cut in 0..bytes.len() {
        let stream = Trickle {
            bytes: bytes[..cut].to_vec(),
            at: 0,
            step: 5,
        };
        let opened = Reader::from_stream("-", Box::new(stream), None);
        if cut < 4 {
            assert!(
                matches!(opened, Err(CaptureError::NotACapture { .. })),
                "{cut}"
            );
            continue;
        }
        if cut < 24 {
            let (offset, what) = expect_corrupt(opened.err());
            assert_eq!(offset, 0);
            assert_eq!(
                what,
                format!("file ends in the middle of the 24-byte pcap file header: {cut} bytes")
            );
            continue;
        }
        let (got, error) = drain(&mut opened.expect("open"));
        // The record the cut falls in, if any.
        match starts.iter().rposition(|&s| s < cut) {
            Some(i) if cut < starts[i] + 16 + frames[i].len() => {
                assert_eq!(got.len(), i, "{cut}");
                let (offset, what) = expect_corrupt(error);
                assert_eq!(offset, starts[i] as u64, "{cut}");
                let inside = cut - starts[i];
                let expected = if inside < 16 {
                    format!("file ends in the middle of a record header: {inside} of 16 bytes")
                } else {
                    format!(
                        "file ends in the middle of a packet record: {} of {} bytes",
                        inside - 16,
                        frames[i].len()
                    )
                };
                assert_eq!(what, expected, "{cut}");
            }
            // Between records.
            _ => {
                assert!(error.is_none(), "{cut}: {error:?}");
                assert_eq!(got.len(), starts.iter().filter(|&&s| s < cut).count());
            }
        }
    }
}

proptest::proptest! {
    /// Any bytes after a valid file header: no panic, and every error names an offset at or
    /// after the last frame read, within the input.
    #[test]
    fn pcap_arbitrary_records(
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        snaplen in 0u32..300,
        magic in 0usize..6,
    ) {
        let magics: [[u8; 4]; 6] = [
            [0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4],
            [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d],
            [0x34, 0xcd, 0xb2, 0xa1], [0xa1, 0xb2, 0xcd, 0x34],
        ];
        let mut bytes = pcap_file(snaplen, 1, &[]);
        bytes[..4].copy_from_slice(&magics[magic]);
        if magic % 2 == 1 {
            bytes[4..24].reverse();
            bytes[4..24].copy_from_slice(&{
                let mut h = [0u8; 20];
                h[0..2].copy_from_slice(&2u16.to_be_bytes());
                h[2..4].copy_from_slice(&4u16.to_be_bytes());
                h[12..16].copy_from_slice(&snaplen.to_be_bytes());
                h[16..20].copy_from_slice(&1u32.to_be_bytes());
                h
            });
        }
        bytes.extend(&tail);
        let len = bytes.len() as u64;
        let mut reader = Reader::from_stream("-", Box::new(std::io::Cursor::new(bytes)), None)
            .expect("open");
        let (frames, error) = drain(&mut reader);
        let last = frames.last().map_or(24, |f| f.offset_after);
        proptest::prop_assert!(last <= len);
        if let Some(error) = error {
            let (offset, _) = expect_corrupt(Some(error));
            proptest::prop_assert_eq!(offset, last);
        } else {
            proptest::prop_assert_eq!(last, len);
        }
    }
}

#[test]
fn pcap_filter_on_and_off() {
    let bytes = pcap_file(
        65535,
        1,
        &[
            (1, 0, &eth_tcp(443)),
            (2, 0, &eth_tcp(80)),
            (3, 0, &eth_tcp(22)),
        ],
    );
    let (all, error, _) = read_bytes(&bytes, Format::Pcap, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(all.len(), 3);
    let (some, error, link_types) = read_bytes(&bytes, Format::Pcap, Some("tcp port 80 or 22"));
    assert!(error.is_none(), "{error:?}");
    let got: Vec<(i64, Vec<u8>, u64)> = some
        .into_iter()
        .map(|f| (f.ts_ns, f.data, f.offset_after))
        .collect();
    assert_eq!(
        got,
        [
            (2_000_000_000, eth_tcp(80), 24 + 2 * 70),
            (3_000_000_000, eth_tcp(22), 24 + 3 * 70)
        ]
    );
    // Every frame counts towards the link types, accepted or not.
    assert_eq!(link_types, [1]);
    // Compiled for the file's link type: raw IP has no Ethernet header.
    let raw = pcap_file(65535, 101, &[(1, 0, &ip_tcp(80)), (2, 0, &ip_tcp(443))]);
    let (some, error, _) = read_bytes(&raw, Format::Pcap, Some("tcp port 80"));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(some.len(), 1);
    assert_eq!(some[0].data, ip_tcp(80));
}

/// One frame as libpcap and this reader give it: timestamp (ns), captured length, wire length,
/// bytes, link type.
type Record = (i64, u32, u32, Vec<u8>, u32);

/// Reads `path` with libpcap (the pcap crate, nanosecond precision): its frames, and whether
/// it ended with an error.
fn libpcap_reads(path: &Path) -> (Vec<Record>, bool) {
    let mut capture = pcap::Capture::from_file_with_precision(path, pcap::Precision::Nano)
        .expect("libpcap opens the file");
    let dlt = capture.get_datalink().0 as u32;
    let mut out = Vec::new();
    loop {
        match capture.next_packet() {
            Ok(p) => {
                #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
                let ts =
                    i64::from(p.header.ts.tv_sec) * 1_000_000_000 + i64::from(p.header.ts.tv_usec);
                out.push((ts, p.header.caplen, p.header.len, p.data.to_vec(), dlt));
            }
            Err(pcap::Error::NoMorePackets) => return (out, false),
            Err(_) => return (out, true),
        }
    }
}

/// Reads `path` with this reader: its frames, whether it ended with an error, and its link
/// types.
fn we_read(path: &Path) -> (Vec<Record>, bool, Vec<u32>) {
    let mut reader = Reader::open(&input(path, Format::Pcap), None).expect("open");
    let mut out = Vec::new();
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => out.push((
                p.ts_ns,
                p.data.len() as u32,
                p.wire_len,
                p.data.to_vec(),
                p.linktype,
            )),
            Ok(None) => return (out, false, reader.link_types().to_vec()),
            Err(_) => return (out, true, reader.link_types().to_vec()),
        }
    }
}

/// The oracle: for every committed `.pcap` under `fixtures/`, this reader and libpcap (the
/// `pcap` crate's `Capture::from_file`, kept here as the reference) give the identical sequence
/// of (ts_ns, caplen, wire_len, data, link type), and both stop with an error on the same
/// files (the damaged fixtures) after the same frames. The frames being identical, so are the
/// decoded packets, statistics and link types flowaudit reported when libpcap read these files.
#[test]
fn oracle_same_frames_as_libpcap_on_every_fixture() {
    fn pcaps(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pcaps(&path, out);
            } else if path.extension().is_some_and(|e| e == "pcap") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    pcaps(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 50, "{} pcap fixtures", files.len());
    let mut frames = 0;
    for file in &files {
        let (theirs, their_error) = libpcap_reads(file);
        let (ours, our_error, link_types) = we_read(file);
        assert_eq!(ours.len(), theirs.len(), "{}", file.display());
        assert!(ours == theirs, "{}: different frames", file.display());
        assert_eq!(our_error, their_error, "{}", file.display());
        let mut expected: Vec<u32> = theirs.iter().map(|r| r.4).collect();
        expected.dedup();
        assert_eq!(link_types, expected, "{}", file.display());
        frames += ours.len();
    }
    assert!(frames > 1000, "{frames} frames");
}

/// The same comparison on files made here for what the fixtures do not have: every link-type
/// number up to 300 and some with the upper bits set (FCS length), every format version, the
/// lengths stored the other way round, NFLOG in the other byte order.
#[test]
fn oracle_same_as_libpcap_on_header_variants() {
    let mut cases: Vec<Vec<u8>> = Vec::new();
    let frame = eth_tcp(80);
    for linktype in (0..=300).chain([0x0001_0001, 0x0400_0001, 0x1400_0001, 0x0800_0071]) {
        cases.push(pcap_file(65535, linktype, &[(1, 0, &frame)]));
    }
    for (major, minor) in [(2u16, 0u16), (2, 1), (2, 2), (2, 3), (543, 0)] {
        // Both frames have 54 bytes captured, of 60 and 80 on the wire.
        let mut bytes = pcap_file(100, 1, &[(1, 0, &frame), (2, 0, &frame)]);
        bytes[4..6].copy_from_slice(&major.to_le_bytes());
        bytes[6..8].copy_from_slice(&minor.to_le_bytes());
        // Record 1: in 2.3, the lengths in place (captured 54 <= wire 60); before 2.3 and in
        // 543.0, the other way round.
        let (first_cap, first_wire) = if (major, minor) == (2, 3) {
            (54u32, 60u32)
        } else {
            (60, 54)
        };
        bytes[24 + 8..24 + 12].copy_from_slice(&first_cap.to_le_bytes());
        bytes[24 + 12..24 + 16].copy_from_slice(&first_wire.to_le_bytes());
        // Record 2: the other way round in all of them (in 2.3 because 80 > 54).
        let second = 24 + 16 + 54;
        bytes[second + 8..second + 12].copy_from_slice(&80u32.to_le_bytes());
        bytes[second + 12..second + 16].copy_from_slice(&54u32.to_le_bytes());
        cases.push(bytes);
    }
    // NFLOG, big-endian (this machine's is little): TLV headers turned around by libpcap.
    #[rustfmt::skip]
    let nflog: &[u8] = &[
        0x02, 0x00, 0x00, 0x00, // family AF_INET, version 0, resource id 0
        0x00, 0x08, 0x00, 0x01, // TLV length 8, type 1 (packet header)
        0x08, 0x00, 0x00, 0x00,
        0x00, 0x05, 0x00, 0x0a, // TLV length 5 (padded to 8), type 10 (prefix)
        0x61, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x09, // TLV length 0: shorter than its header, the last turned
        0x00, 0x06, 0x00, 0x09, // not turned
    ];
    let mut be = pcap_file(0, 239, &[(1, 0, nflog), (2, 0, &nflog[..10])]);
    be[..4].reverse();
    for field in [4..6, 6..8] {
        be[field].reverse();
    }
    for field in [16..20, 20..24] {
        be[field].reverse();
    }
    let mut at = 24;
    while at < be.len() {
        for field in 0..4 {
            be[at + field * 4..at + field * 4 + 4].reverse();
        }
        let caplen = u32::from_be_bytes(be[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    cases.push(be);
    for (i, bytes) in cases.iter().enumerate() {
        let file = temp_file("variant.pcap", bytes);
        let (theirs, their_error) = libpcap_reads(&file.0);
        let (ours, our_error, _) = we_read(&file.0);
        assert!(!their_error && !our_error, "case {i}");
        assert_eq!(
            ours.len(),
            if i > 300 + 4 && i < 300 + 4 + 6 {
                2
            } else {
                1 + usize::from(i == cases.len() - 1)
            },
            "case {i}"
        );
        assert!(ours == theirs, "case {i}: {ours:?} != {theirs:?}");
    }
    // The NFLOG frame did change.
    let (ours, _, _) = we_read(&temp_file("nflog.pcap", cases.last().unwrap()).0);
    assert_eq!(&ours[0].3[4..8], &[0x08, 0x00, 0x01, 0x00]);
    assert_eq!(&ours[0].3[12..16], &[0x05, 0x00, 0x0a, 0x00]);
    assert_eq!(&ours[0].3[20..24], &[0x00, 0x00, 0x09, 0x00]);
    assert_eq!(&ours[0].3[24..28], &[0x00, 0x06, 0x00, 0x09]);
}

/// A stream that is interrupted once, then gives `bytes`, then fails.
struct Failing {
    bytes: Vec<u8>,
    at: usize,
    interrupted: bool,
}

impl std::io::Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.interrupted {
            self.interrupted = true;
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        if self.at == self.bytes.len() {
            return Err(std::io::Error::other("device gone"));
        }
        let n = buf.len().min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn pcap_read_error_names_the_record() {
    let bytes = pcap_file(65535, 1, &[(1, 0, &eth_tcp(80)), (2, 0, &eth_tcp(443))]);
    // The stream fails 10 bytes into the second record; the interruption before is retried.
    let stream = Failing {
        bytes: bytes[..24 + 70 + 10].to_vec(),
        at: 0,
        interrupted: false,
    };
    let mut reader = Reader::from_stream("-", Box::new(stream), None).expect("open");
    let (frames, error) = drain(&mut reader);
    assert_eq!(frames.len(), 1);
    match error {
        Some(CaptureError::Open { path, message }) => {
            assert_eq!(path, "-");
            assert_eq!(message, "read error at byte 94: device gone");
        }
        other => panic!("expected a read error, got {other:?}"),
    }
}
