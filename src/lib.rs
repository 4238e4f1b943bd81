//! flowaudit: a passive packet-capture flow auditor.
//!
//! Data flows one way: [`capture`] (files, libpcap) -> [`decode`] (header fields of each frame)
//! -> [`flow`] (bidirectional TCP/UDP flows with Zeek-style state) -> [`report`] (JSON lines,
//! Zeek TSV, statistics). [`engine`] wires the stages together for the binary.

pub mod audit;
pub mod capture;
pub mod decode;
pub mod engine;
pub mod flow;
pub mod report;
pub mod rules;
pub mod stats;
