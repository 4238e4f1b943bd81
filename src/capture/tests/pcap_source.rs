//! pcap files read through libpcap.

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
    assert!(
        what.starts_with("file ends in the middle of a record header: 3 of 16 bytes (libpcap: "),
        "{what}"
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
        "file ends in the middle of a packet record: 700 of 1514 bytes (libpcap: truncated \
         dump file; tried to read 1514 captured bytes, only got 700)"
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
        "record header says 4294967295 captured bytes, more than the 262144-byte snaplen \
         (libpcap: invalid packet capture length 4294967295, bigger than snaplen of 262144)"
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
