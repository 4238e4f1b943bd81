//! The rules parser: a rules file and an optional inventory file, as text, through
//! `Rules::load` (which opens paths, so the texts are written to temporary files first); then
//! what the audit asks of loaded rules, and the rendering of errors (with their located
//! snippets).
//!
//! Input: the rules file's bytes; if the input holds a NUL byte (which TOML text cannot), the
//! bytes after the first NUL are the inventory file.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use flowaudit::flow::{Proto, ServerPorts};
use flowaudit::rules::{Rules, Severity};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let (rules_text, inventory_text) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let rules_path = common::temp_path("rules.toml");
    std::fs::write(&rules_path, rules_text).expect("temporary file");
    let inventory_path = inventory_text.map(|text| {
        let p = common::temp_path("inventory.toml");
        std::fs::write(&p, text).expect("temporary file");
        p
    });
    let rules = match Rules::load(&rules_path, inventory_path.as_deref()) {
        Ok(rules) => rules,
        Err(e) => {
            std::hint::black_box(e.to_string());
            return;
        }
    };
    if let Err(e) = rules.check_complete() {
        std::hint::black_box(e.to_string());
    }
    // Addresses to ask about: one of each family, the loopback, and every single host named.
    let mut addrs = vec![
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 5)),
    ];
    for role in &rules.roles {
        addrs.extend(role.hosts.iter().filter_map(|h| h.single()).take(4));
    }
    addrs.truncate(8);
    let mut ports = vec![1u16, 80, 443, 65535];
    for rule in rules.rules.iter().take(8) {
        ports.extend(rule.ports.iter().flat_map(|&(a, b)| [a, b]));
        let _ = rule.ports_text();
    }
    for &proto in &[Proto::Tcp, Proto::Udp] {
        for &client in &addrs {
            let _ = rules.role_of(client);
            for &server in &addrs {
                for &port in ports.iter().take(8) {
                    let m = rules.first_match(proto, client, server, port);
                    let _ = rules.severity(m, Severity::Warning);
                    let _ = rules.server_port_rank(proto, port);
                }
            }
        }
    }
});
