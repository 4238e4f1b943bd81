//! flowaudit: a passive packet-capture flow auditor.
//!
//! Data flows one way: [`capture`] (files, libpcap) -> [`decode`] (header fields of each frame)
//! -> [`flow`] (bidirectional TCP/UDP flows with Zeek-style state, handed on as they end) ->
//! [`audit`] (judged against the [`rules`]) -> [`report`] (JSON lines, Zeek TSV, statistics,
//! audit reports). [`engine`] wires the stages together; [`pipeline`] holds the runs the binary
//! makes.

// `unsafe` is allowed in one module only: `capture::ffi`, libpcap's C interface.
#![deny(unsafe_code)]

pub mod audit;
pub mod capture;
pub mod decode;
pub mod engine;
pub mod flow;
pub mod pipeline;
pub mod reassembly;
pub mod records;
pub mod report;
pub mod rules;
pub mod stats;
