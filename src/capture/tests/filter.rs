//! Filters, on both formats.

use super::*;
use crate::capture::check_filter;

#[test]
fn filter_on_pcap() {
    let bytes = pcap_file(65535, 1, &[(1, 0, &eth_tcp(443)), (2, 0, &eth_tcp(80))]);
    let (frames, error, link_types) = read_bytes(&bytes, Format::Pcap, Some("tcp port 80"));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].data, eth_tcp(80));
    assert_eq!(frames[0].ts_ns, 2_000_000_000);
    // Offsets count the rejected record too.
    assert_eq!(frames[0].offset_after, bytes.len() as u64);
    assert_eq!(link_types, [1]);
}

#[test]
fn filter_on_pcapng() {
    let blocks = vec![
        LE.shb(),
        LE.idb(1, 0, &[]),
        LE.idb(101, 0, &[]),
        LE.epb(0, 1, &eth_tcp(80), 54),
        LE.epb(0, 2, &eth_tcp(443), 54),
        LE.epb(1, 3, &ip_tcp(443), 40),
        LE.epb(1, 4, &ip_tcp(80), 40),
        LE.spb(54, &eth_tcp(8080)),
    ];
    let ends = ends(&blocks);
    let (frames, error, link_types) =
        read_bytes(&concat(&blocks), Format::Pcapng, Some("tcp port 80"));
    assert!(error.is_none(), "{error:?}");
    let got: Vec<(Vec<u8>, u64)> = frames
        .into_iter()
        .map(|f| (f.data, f.offset_after))
        .collect();
    assert_eq!(got, [(eth_tcp(80), ends[3]), (ip_tcp(80), ends[6])]);
    assert_eq!(link_types, [1, 101]);
}

#[test]
fn filter_without_meaning_for_a_link_type_matches_nothing_there() {
    let blocks = vec![
        LE.shb(),
        LE.idb(1, 0, &[]),
        LE.idb(101, 0, &[]),
        LE.epb(0, 1, &eth_tcp(80), 54),
        LE.epb(1, 2, &ip_tcp(80), 40),
    ];
    let (frames, error, _) = read_bytes(
        &concat(&blocks),
        Format::Pcapng,
        Some("ether dst 00:11:22:33:44:55"),
    );
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].linktype, 1);
}

#[test]
fn bad_filter() {
    let error = check_filter("tcp port").unwrap_err();
    assert!(
        matches!(&error, CaptureError::Filter { expr, message } if expr == "tcp port" && !message.is_empty()),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("invalid --filter 'tcp port': ")
    );
    assert!(check_filter("tcp port 80").is_ok());
    assert!(matches!(
        check_filter("tcp\0"),
        Err(CaptureError::Filter { .. })
    ));
    for (bytes, format) in [(PCAP_US_LE, Format::Pcap), (PCAPNG_MINIMAL, Format::Pcapng)] {
        let file = temp_file("filtered", bytes);
        let error = Reader::open(&input(&file.0, format), Some("port eighty")).err();
        assert!(
            matches!(&error, Some(CaptureError::Filter { expr, .. }) if expr == "port eighty"),
            "{error:?}"
        );
    }
}
