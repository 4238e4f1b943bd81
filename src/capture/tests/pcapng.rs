//! The pcapng reader.

use std::io::Cursor;

use pcap::Capture;
use proptest::prelude::*;

use super::*;
use crate::capture::Fault;
use crate::capture::pcap_message;
use crate::capture::pcapng::{OPT_IF_TSOFFSET, OPT_IF_TSRESOL, PcapngReader, TsResol};

#[test]
fn pcapng_minimal_hand_written() {
    let (frames, error, link_types) = read_bytes(PCAPNG_MINIMAL, Format::Pcapng, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        frames,
        vec![Frame {
            ts_ns: 1_000_000_000,
            data: vec![0xaa, 0xbb, 0xcc],
            wire_len: 64,
            linktype: 1,
            offset_after: 84,
        }]
    );
    assert_eq!(link_types, [1]);
    // The builder the other tests use writes the same bytes.
    let built = concat(&[
        LE.shb(),
        LE.idb(1, 0, &[]),
        LE.epb(0, 1_000_000, &[0xaa, 0xbb, 0xcc], 64),
    ]);
    assert_eq!(built, PCAPNG_MINIMAL);
}

#[test]
fn pcapng_interfaces_with_different_link_types_and_resolutions() {
    let blocks = vec![
        LE.shb(),
        // interface 0: Ethernet, default resolution (µs)
        LE.idb(1, 0, &[]),
        // interface 1: raw IP, ns
        LE.idb(101, 65535, &[LE.option(OPT_IF_TSRESOL, &[9])]),
        // interface 2: Ethernet, 2^-10 s, timestamps offset by 1e9 s
        LE.idb(
            1,
            0,
            &[
                LE.option(OPT_IF_TSRESOL, &[0x80 | 10]),
                LE.option(OPT_IF_TSOFFSET, &1_000_000_000i64.to_le_bytes()),
            ],
        ),
        LE.epb(0, 1_700_000_000_123_456, &eth_tcp(80), 54),
        LE.epb(1, 1_700_000_000_123_456_789, &ip_tcp(80), 40),
        LE.epb(2, (5 << 10) | 512, &eth_tcp(443), 54),
    ];
    let ends = ends(&blocks);
    let (frames, error, link_types) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        frames,
        vec![
            Frame {
                ts_ns: 1_700_000_000_123_456_000,
                data: eth_tcp(80),
                wire_len: 54,
                linktype: 1,
                offset_after: ends[4],
            },
            Frame {
                ts_ns: 1_700_000_000_123_456_789,
                data: ip_tcp(80),
                wire_len: 40,
                linktype: 101,
                offset_after: ends[5],
            },
            Frame {
                // 5.5 s + 1e9 s
                ts_ns: 1_000_000_005_500_000_000,
                data: eth_tcp(443),
                wire_len: 54,
                linktype: 1,
                offset_after: ends[6],
            },
        ]
    );
    assert_eq!(link_types, [1, 101]);
}

#[test]
fn pcapng_sections_of_opposite_byte_order() {
    let blocks = vec![
        LE.shb(),
        LE.idb(1, 0, &[]),
        LE.epb(0, 1_000_000, &eth_tcp(80), 54),
        // A new section defines its interfaces afresh: interface 0 is now raw IP.
        BE.shb(),
        BE.idb(101, 0, &[BE.option(OPT_IF_TSRESOL, &[9])]),
        BE.epb(0, 2_000_000_000, &ip_tcp(80), 40),
    ];
    let ends = ends(&blocks);
    let (frames, error, link_types) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        frames,
        vec![
            Frame {
                ts_ns: 1_000_000_000,
                data: eth_tcp(80),
                wire_len: 54,
                linktype: 1,
                offset_after: ends[2],
            },
            Frame {
                ts_ns: 2_000_000_000,
                data: ip_tcp(80),
                wire_len: 40,
                linktype: 101,
                offset_after: ends[5],
            },
        ]
    );
    assert_eq!(link_types, [1, 101]);
}

#[test]
fn pcapng_interfaces_do_not_carry_over_sections() {
    let blocks = vec![
        LE.shb(),
        LE.idb(1, 0, &[]),
        LE.idb(1, 0, &[]),
        BE.shb(),
        BE.idb(1, 0, &[]),
        BE.epb(1, 0, &eth_tcp(80), 54),
    ];
    let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    assert!(frames.is_empty());
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, ends(&blocks)[4]);
    assert_eq!(
        what,
        "enhanced packet block names interface 1, but the section defines 1 interface(s) \
         before it"
    );
}

#[test]
fn pcapng_simple_packet_block_reuses_previous_timestamp() {
    let frame = eth_tcp(80);
    let blocks = vec![
        LE.shb(),
        LE.idb(1, 20, &[]), // snaplen 20
        LE.epb(0, 7_000_000, &frame[..20], 54),
        LE.spb(54, &frame[..20]),
    ];
    let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].ts_ns, 7_000_000_000);
    assert_eq!(frames[1].data, &frame[..20]);
    assert_eq!(frames[1].wire_len, 54);
    assert_eq!(frames[1].offset_after, ends(&blocks)[3]);
}

#[test]
fn pcapng_simple_packet_block_shorter_than_its_padding() {
    // 3-byte frame: the block holds 4 bytes (padding), the frame is 3.
    let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), LE.spb(3, &[1, 2, 3])];
    let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames[0].data, [1, 2, 3]);
    assert_eq!(frames[0].ts_ns, 0);
}

#[test]
fn pcapng_simple_packet_block_without_interface() {
    let blocks = vec![LE.shb(), LE.spb(3, &[1, 2, 3])];
    let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 28);
    assert_eq!(
        what,
        "simple packet block, but the section defines no interface"
    );
}

#[test]
fn pcapng_obsolete_packet_block() {
    let blocks = vec![
        BE.shb(),
        BE.idb(1, 0, &[]),
        BE.idb(101, 0, &[]),
        BE.pb(1, 3_000_001, &ip_tcp(22), 40),
    ];
    let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        frames,
        vec![Frame {
            ts_ns: 3_000_001_000,
            data: ip_tcp(22),
            wire_len: 40,
            linktype: 101,
            offset_after: ends(&blocks)[3],
        }]
    );
}

#[test]
fn pcapng_other_blocks_are_skipped() {
    let blocks = vec![
        LE.shb(),
        LE.block(4, &[0, 0, 0, 0]), // Name Resolution Block (just opt_endofrecord)
        LE.idb(1, 0, &[]),
        LE.epb(0, 1, &[1], 1),
        LE.block(5, &[0; 12]),                // Interface Statistics Block
        LE.block(0x0a, &[0; 20]),             // Decryption Secrets Block
        LE.block(0x0000_0bad, &[1, 2, 3, 4]), // custom block
        LE.block(0x4000_0bad, &[]),           // custom block, not to be copied
        LE.block(0x1234_5678, &[9; 100]),     // unknown
        LE.epb(0, 2, &[2], 1),
    ];
    let ends = ends(&blocks);
    let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    assert!(error.is_none(), "{error:?}");
    let offsets: Vec<u64> = frames.iter().map(|f| f.offset_after).collect();
    assert_eq!(offsets, [ends[3], ends[9]]);
}

#[test]
fn pcapng_block_length_not_multiple_of_4() {
    let mut epb = LE.epb(0, 1, &[1, 2, 3, 4], 4);
    epb[4..8].copy_from_slice(&34u32.to_le_bytes());
    let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), epb];
    let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 48);
    assert_eq!(what, "block length 34 is not a multiple of 4");
}

#[test]
fn pcapng_block_length_too_small() {
    let mut epb = LE.epb(0, 1, &[1, 2, 3, 4], 4);
    epb[4..8].copy_from_slice(&8u32.to_le_bytes());
    let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), epb];
    let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 48);
    assert_eq!(what, "block length 8 is less than the 12-byte minimum");
}

#[test]
fn pcapng_trailing_length_mismatch() {
    let mut epb = LE.epb(0, 1, &[1, 2, 3, 4], 4);
    let end = epb.len();
    epb[end - 4..].copy_from_slice(&40u32.to_le_bytes());
    let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), LE.epb(0, 0, &[0], 1), epb];
    let (frames, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    assert_eq!(frames.len(), 1);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, ends(&blocks)[2]);
    assert_eq!(
        what,
        "block length at the end of the block (40) differs from the one at the start (36)"
    );
}

#[test]
fn pcapng_trailing_length_mismatch_in_skipped_block() {
    let mut unknown = LE.block(0x1234, &[0; 8]);
    unknown[16..20].copy_from_slice(&0u32.to_le_bytes()); // trailing length
    let blocks = vec![LE.shb(), unknown];
    let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 28);
    assert_eq!(
        what,
        "block length at the end of the block (0) differs from the one at the start (20)"
    );
}

#[test]
fn pcapng_enhanced_packet_block_with_undefined_interface() {
    let blocks = vec![
        LE.shb(),
        LE.idb(1, 0, &[]),
        LE.idb(1, 0, &[]),
        LE.epb(2, 1, &[1], 1),
    ];
    let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 68);
    assert_eq!(
        what,
        "enhanced packet block names interface 2, but the section defines 2 interface(s) \
         before it"
    );
}

#[test]
fn pcapng_caplen_beyond_block() {
    let mut epb = LE.epb(0, 1, &[1, 2, 3, 4], 4);
    epb[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), epb];
    let (_, error, _) = read_bytes(&concat(&blocks), Format::Pcapng, None);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 48);
    assert_eq!(
        what,
        "enhanced packet block says 4294967295 captured bytes, but the block has room for 4"
    );
}

#[test]
fn pcapng_truncated_block() {
    let blocks = vec![LE.shb(), LE.idb(1, 0, &[]), LE.epb(0, 1, &eth_tcp(80), 54)];
    let mut bytes = concat(&blocks);
    bytes.truncate(48 + 50);
    let (_, error, _) = read_bytes(&bytes, Format::Pcapng, None);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 48);
    assert_eq!(what, "file ends in the middle of a block: 50 of 88 bytes");
}

#[test]
fn pcapng_truncated_block_header() {
    let mut bytes = concat(&[LE.shb(), LE.idb(1, 0, &[])]);
    bytes.extend([6, 0, 0]);
    let (_, error, _) = read_bytes(&bytes, Format::Pcapng, None);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 48);
    assert_eq!(
        what,
        "file ends in the middle of a block header: 3 of 8 bytes"
    );
}

#[test]
fn pcapng_bad_byte_order_magic() {
    let mut bytes = LE.shb();
    bytes[8..12].copy_from_slice(&[1, 2, 3, 4]);
    let (_, error, _) = read_bytes(&bytes, Format::Pcapng, None);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 0);
    assert_eq!(
        what,
        "section header block has byte-order magic 01 02 03 04, not 1a 2b 3c 4d in either \
         byte order"
    );
}

#[test]
fn pcapng_idb_option_past_the_end() {
    let mut idb = LE.idb(1, 0, &[LE.option(OPT_IF_TSRESOL, &[9])]);
    idb[18..20].copy_from_slice(&200u16.to_le_bytes()); // if_tsresol length
    let (_, error, _) = read_bytes(&concat(&[LE.shb(), idb]), Format::Pcapng, None);
    let (offset, what) = expect_corrupt(error);
    assert_eq!(offset, 28);
    assert_eq!(
        what,
        "interface description block option 9 is 200 bytes, more than the 8 bytes left in \
         the block"
    );
}

#[test]
fn pcapng_every_truncation() {
    let blocks = vec![
        LE.shb(),
        LE.idb(1, 0, &[LE.option(OPT_IF_TSRESOL, &[9])]),
        LE.epb(0, 1, &eth_tcp(80), 54),
        LE.block(5, &[0; 12]),
        LE.spb(54, &eth_tcp(81)),
        BE.shb(),
        BE.idb(101, 0, &[]),
        BE.pb(0, 2, &ip_tcp(82), 40),
        BE.epb(0, 3, &ip_tcp(83), 40),
    ];
    let packet_blocks = [2, 4, 7, 8];
    let ends = ends(&blocks);
    let bytes = concat(&blocks);
    for cut in 0..=bytes.len() {
        let mut reader = PcapngReader::new(
            Box::new(Cursor::new(bytes[..cut].to_vec())),
            Some("tcp"),
            64,
        );
        let mut frames = 0;
        let result = loop {
            match reader.next_meta() {
                Ok(Some(_)) => frames += 1,
                other => break other,
            }
        };
        // Frames come from whole blocks only.
        let whole = packet_blocks
            .iter()
            .filter(|&&i| ends[i] <= cut as u64)
            .count();
        assert_eq!(frames, whole, "cut at {cut}");
        let boundary = cut > 0 && ends.contains(&(cut as u64));
        match result {
            Ok(None) => assert!(boundary, "clean end at {cut}"),
            Err(Fault::Corrupt { offset, .. }) => {
                assert!(!boundary, "error at block boundary {cut}");
                // The offset is the start of the block the cut falls in.
                let start = ends.iter().copied().filter(|&e| e <= cut as u64).max();
                assert_eq!(offset, start.unwrap_or(0), "cut at {cut}");
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

/// Reads pcapng from memory to the end, checking that it neither loops nor overreaches.
fn survive(bytes: Vec<u8>, filter: Option<&str>) {
    let len = bytes.len() as u64;
    let mut reader = PcapngReader::new(Box::new(Cursor::new(bytes)), filter, 64);
    let mut frames = 0u64;
    loop {
        match reader.next_meta() {
            Ok(Some(meta)) => {
                frames += 1;
                // Every frame costs a block of 12 bytes or more.
                assert!(frames * 12 <= len);
                assert!(meta.data.end <= reader.buf.len());
            }
            Ok(None) => break,
            Err(Fault::Corrupt { offset, .. }) => {
                assert!(offset <= len);
                break;
            }
            Err(Fault::Io { error, .. }) => panic!("I/O error from memory: {error}"),
        }
        assert!(reader.offset <= len);
    }
}

proptest! {
    #[test]
    fn pcapng_reader_survives_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        survive(bytes, None);
    }

    #[test]
    fn pcapng_reader_survives_arbitrary_blocks_in_a_section(
        tail in proptest::collection::vec(any::<u8>(), 0..600),
        big_endian in any::<bool>(),
    ) {
        let ng = if big_endian { BE } else { LE };
        let mut bytes = concat(&[ng.shb(), ng.idb(1, 0, &[])]);
        bytes.extend(tail);
        survive(bytes, Some("tcp port 80"));
    }

    #[test]
    fn pcapng_reader_survives_damaged_files(
        hits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = concat(&[
            LE.shb(),
            LE.idb(1, 0, &[LE.option(OPT_IF_TSRESOL, &[0x85])]),
            LE.idb(101, 0, &[LE.option(OPT_IF_TSOFFSET, &[1; 8])]),
            LE.epb(0, 1, &eth_tcp(80), 54),
            LE.spb(54, &eth_tcp(80)),
            LE.pb(1, 2, &ip_tcp(80), 40),
            LE.block(5, &[0; 12]),
        ]);
        for (at, byte) in hits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let cut = cut.index(bytes.len() + 1);
        bytes.truncate(cut);
        survive(bytes, Some("tcp port 80"));
    }
}

#[test]
fn timestamp_units() {
    assert_eq!(TsResol::Decimal(6).to_ns(1_500_000, 0), 1_500_000_000);
    assert_eq!(TsResol::Decimal(9).to_ns(42, 0), 42);
    assert_eq!(TsResol::Decimal(0).to_ns(3, 0), 3_000_000_000);
    assert_eq!(TsResol::Decimal(12).to_ns(123_456, 0), 123);
    assert_eq!(TsResol::Decimal(127).to_ns(u64::MAX, 0), 0);
    assert_eq!(TsResol::Binary(0).to_ns(2, 0), 2_000_000_000);
    assert_eq!(TsResol::Binary(10).to_ns(1536, 0), 1_500_000_000);
    assert_eq!(TsResol::Binary(127).to_ns(u64::MAX, 0), 0);
    assert_eq!(TsResol::Decimal(6).to_ns(0, -2), -2_000_000_000);
    assert_eq!(TsResol::Decimal(0).to_ns(u64::MAX, 0), i64::MAX);
    assert_eq!(TsResol::Decimal(6).to_ns(0, i64::MIN), i64::MIN);
    assert_eq!(TsResol::from_option(9), TsResol::Decimal(9));
    assert_eq!(TsResol::from_option(0x8a), TsResol::Binary(10));
}

/// libpcap cannot read a pcapng file whose interfaces have different link types, which is
/// why pcapng has its own reader here.
#[test]
fn libpcap_refuses_mixed_link_type_pcapng() {
    let bytes = concat(&[
        LE.shb(),
        LE.idb(1, 0, &[]),
        LE.idb(101, 0, &[]),
        LE.epb(0, 1, &eth_tcp(80), 54),
        LE.epb(1, 2, &ip_tcp(80), 40),
    ]);
    let file = temp_file("mixed.pcapng", &bytes);
    let mut capture = Capture::from_file(&file.0).expect("libpcap opens the file");
    // It stops at the second interface description, before the first frame.
    let refused = capture.next_packet().err().map(|e| pcap_message(&e));
    assert_eq!(
        refused.as_deref(),
        Some("an interface has a type 101 different from the type of the first interface")
    );
    // This module reads both frames.
    let (frames, error, link_types) = read_bytes(&bytes, Format::Pcapng, None);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!(link_types, [1, 101]);
}
