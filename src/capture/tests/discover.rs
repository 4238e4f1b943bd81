//! Discovery.

use std::io;

use super::*;
use crate::capture::discover::discover_with;
use crate::capture::layout::PCAPNG_MAGIC;

fn no_stdin() -> io::Result<Vec<u8>> {
    panic!("standard input read")
}

#[test]
fn discover_orders_by_first_packet_not_by_name() {
    let dir = Temp(temp_path("order"));
    fs::create_dir(&dir.0).expect("mkdir");
    // a.pcap starts later than b.pcapng.
    let a = dir.0.join("a.pcap");
    let a_bytes = pcap_file(65535, 1, &[(200, 5, &[1])]);
    fs::write(&a, &a_bytes).expect("write");
    let b = dir.0.join("b.pcapng");
    fs::write(&b, PCAPNG_MINIMAL).expect("write"); // first packet at 1 s
    let found = discover_with(&[a.clone(), b.clone()], &mut no_stdin);
    assert!(found.errors.is_empty(), "{:?}", found.errors);
    let got: Vec<_> = found
        .inputs
        .iter()
        .map(|i| (i.path.clone(), i.format, i.size, i.first_ts_ns))
        .collect();
    assert_eq!(
        got,
        [
            (b, Format::Pcapng, Some(84), Some(1_000_000_000)),
            (
                a,
                Format::Pcap,
                Some(a_bytes.len() as u64),
                Some(200_000_005_000)
            ),
        ]
    );
}

#[test]
fn discover_walks_directories_by_content() {
    let dir = Temp(temp_path("tree"));
    fs::create_dir_all(dir.0.join("sub")).expect("mkdir");
    fs::write(dir.0.join("notes.txt"), "not a capture\n").expect("write");
    fs::write(dir.0.join("empty"), "").expect("write");
    let capture = dir.0.join("sub").join("capture.bin"); // no telling extension
    fs::write(&capture, pcap_file(65535, 1, &[(5, 0, &[1])])).expect("write");
    let ng = dir.0.join("a.pcapng");
    fs::write(&ng, PCAPNG_MINIMAL).expect("write");
    let found = discover_with(std::slice::from_ref(&dir.0), &mut no_stdin);
    assert!(found.errors.is_empty(), "{:?}", found.errors);
    let paths: Vec<_> = found.inputs.iter().map(|i| i.path.clone()).collect();
    assert_eq!(paths, [ng, capture]);
    assert_eq!(
        found.skipped_non_captures,
        [dir.0.join("empty"), dir.0.join("notes.txt")]
    );
}

#[test]
fn discover_puts_empty_captures_first_in_argument_order() {
    let full = temp_file("full.pcap", &pcap_file(65535, 1, &[(1, 0, &[1])]));
    let empty1 = temp_file("empty1.pcap", &pcap_file(65535, 1, &[]));
    let empty2 = temp_file("empty2.pcapng", &concat(&[LE.shb(), LE.idb(1, 0, &[])]));
    let args = [full.0.clone(), empty2.0.clone(), empty1.0.clone()];
    let found = discover_with(&args, &mut no_stdin);
    assert!(found.errors.is_empty(), "{:?}", found.errors);
    let got: Vec<_> = found
        .inputs
        .iter()
        .map(|i| (i.path.clone(), i.first_ts_ns))
        .collect();
    assert_eq!(
        got,
        [
            (empty2.0.clone(), None),
            (empty1.0.clone(), None),
            (full.0.clone(), Some(1_000_000_000)),
        ]
    );
}

#[test]
fn discover_reports_bad_explicit_inputs() {
    let zip = temp_file("archive.pcap", b"PK\x03\x04\x14\x00\x00\x00");
    let good = temp_file("good.pcap", PCAP_US_LE);
    let missing = temp_path("missing.pcap");
    let args = [zip.0.clone(), missing.clone(), good.0.clone()];
    let found = discover_with(&args, &mut no_stdin);
    assert_eq!(found.inputs.len(), 1);
    assert_eq!(found.inputs[0].path, good.0);
    let messages: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages[0],
        format!(
            "{}: not a pcap or pcapng capture (starts with 50 4b 03 04); give flowaudit \
             .pcap or .pcapng files",
            zip.0.display()
        )
    );
    assert!(
        messages[1].starts_with(&format!("{}: cannot open: ", missing.display())),
        "{}",
        messages[1]
    );
    assert_eq!(messages.len(), 2);
}

#[test]
fn discover_keeps_damaged_captures_for_the_reader() {
    let short = temp_file("short.pcap", &PCAP_US_LE[..10]);
    let found = discover_with(std::slice::from_ref(&short.0), &mut no_stdin);
    assert!(found.errors.is_empty());
    assert_eq!(found.inputs.len(), 1);
    assert_eq!(found.inputs[0].first_ts_ns, None);
    assert!(matches!(
        Reader::open(&found.inputs[0], None),
        Err(CaptureError::Corrupt { offset: 0, .. })
    ));
}

#[test]
fn discover_reads_stdin_once() {
    let late = temp_file("late.pcap", PCAP_US_LE);
    let mut peeks = 0;
    let mut peek = || {
        peeks += 1;
        Ok(PCAPNG_MAGIC.to_vec())
    };
    let args = [late.0.clone(), PathBuf::from("-"), PathBuf::from("-")];
    let found = discover_with(&args, &mut peek);
    assert_eq!(peeks, 1);
    let got: Vec<_> = found
        .inputs
        .iter()
        .map(|i| (i.path.clone(), i.format, i.size))
        .collect();
    assert_eq!(
        got,
        [
            (PathBuf::from("-"), Format::Pcapng, None),
            (late.0.clone(), Format::Pcap, Some(62)),
        ]
    );
    assert_eq!(
        found
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["-: standard input can be read only once; give `-` at most once"]
    );

    let found = discover_with(&[PathBuf::from("-")], &mut || Ok(b"GET ".to_vec()));
    assert!(found.inputs.is_empty());
    assert_eq!(
        found.errors[0].to_string(),
        "-: not a pcap or pcapng capture (starts with 47 45 54 20); give flowaudit .pcap or \
         .pcapng files"
    );
}
