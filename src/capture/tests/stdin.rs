//! Streams (standard input).

use std::io::Cursor;

use super::*;
use crate::capture::reader::open_stream;

/// Opens `bytes` the way standard input is opened: 4 bytes peeked, the rest streamed.
fn stream(bytes: &[u8], filter: Option<&str>) -> Result<Reader, CaptureError> {
    let cut = bytes.len().min(4);
    open_stream(
        "-".to_string(),
        bytes[..cut].to_vec(),
        Box::new(Cursor::new(bytes[cut..].to_vec())),
        filter,
    )
}

#[test]
fn stream_pcap() {
    let bytes = pcap_file(65535, 1, &[(1, 0, &eth_tcp(443)), (2, 0, &eth_tcp(80))]);
    let mut reader = stream(&bytes, None).expect("open");
    let (frames, error) = drain(&mut reader);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].offset_after, bytes.len() as u64);

    let mut reader = stream(&bytes, Some("tcp port 80")).expect("open");
    let (frames, error) = drain(&mut reader);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].data, eth_tcp(80));
}

#[test]
fn stream_pcap_truncated_packet_data() {
    let mut bytes = pcap_file(65535, 1, &[(1, 0, &eth_tcp(443)), (2, 0, &eth_tcp(80))]);
    bytes.truncate(bytes.len() - 10);
    let mut reader = stream(&bytes, None).expect("open");
    let (frames, error) = drain(&mut reader);
    assert_eq!(frames.len(), 1);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 24 + 16 + 54);
    assert_eq!(
        what,
        "file ends in the middle of a packet record: 44 of 54 bytes"
    );
}

#[test]
fn stream_pcap_truncated_record_header() {
    let mut bytes = PCAP_US_LE.to_vec();
    bytes.extend([0x02, 0xe1, 0xf5]);
    let mut reader = stream(&bytes, None).expect("open");
    let (frames, error) = drain(&mut reader);
    assert_eq!(frames.len(), 2);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 62);
    assert_eq!(
        what,
        "file ends in the middle of a record header: 3 of 16 bytes"
    );
}

#[test]
fn stream_pcap_caplen_larger_than_snaplen() {
    // libpcap would cut the 100-byte record to 64 bytes and go on.
    let long = [0x11; 100];
    let bytes = pcap_file(64, 1, &[(1, 0, &[1, 2]), (2, 0, &long), (3, 0, &[3])]);
    let mut reader = stream(&bytes, None).expect("open");
    let (frames, error) = drain(&mut reader);
    assert_eq!(frames.len(), 1);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 42);
    assert_eq!(
        what,
        "record header says 100 captured bytes, more than the 64-byte snaplen"
    );
}

#[test]
fn stream_pcap_truncated_file_header() {
    let error = stream(&PCAP_US_LE[..10], None).err();
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 0);
    assert_eq!(
        what,
        "file ends in the middle of the 24-byte pcap file header: 10 bytes"
    );
}

#[test]
fn stream_reader_dropped_early_does_not_hang() {
    let frame = eth_tcp(80);
    let records: Vec<(u32, u32, &[u8])> = (0..5000).map(|i| (i, 0, &frame[..])).collect();
    let bytes = pcap_file(65535, 1, &records); // more than a pipe holds
    let mut reader = stream(&bytes, None).expect("open");
    assert!(matches!(reader.next_packet(), Ok(Some(_))));
    drop(reader);
}

#[test]
fn stream_pcapng() {
    let mut reader = stream(PCAPNG_MINIMAL, None).expect("open");
    let (frames, error) = drain(&mut reader);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].offset_after, 84);
}

#[test]
fn stream_not_a_capture() {
    for (bytes, found) in [
        (&b"hello world"[..], "starts with 68 65 6c 6c"),
        (&b""[..], "it is empty"),
    ] {
        let error = stream(bytes, None).err();
        assert!(
            matches!(&error, Some(CaptureError::NotACapture { path, found: f }) if path == "-" && f == found),
            "{error:?}"
        );
    }
}
