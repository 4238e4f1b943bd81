//! IPFIX (RFC 7011): a 16-byte header and sets: templates (id 2), options templates (id 3)
//! and data (id 256 and up). Template fields may name an enterprise (RFC 5103 reverse
//! elements are enterprise 29305) and a variable length; a template record with no fields
//! withdraws a template, one of id 2 (3) all templates (options templates) of the domain.

use std::net::SocketAddr;

use super::record::{self, Clock};
use super::templates::{Field, MAX_FIELDS, Template};
use super::v9::{FIRST_DATA, data_set, define, sets};
use super::{Collector, IPFIX, MessageStats, NetflowError, be16, be32, need};
use crate::records::Item;

pub(super) mod header {
    /// Version: 10.
    pub const _VERSION: usize = 0;
    /// Message length, header included, bytes.
    pub const LENGTH: usize = 2;
    /// Export time: seconds since the epoch.
    pub const EXPORT_TIME: usize = 4;
    /// Data records exported before this message (not read).
    pub const _SEQUENCE: usize = 8;
    /// Observation domain id.
    pub const DOMAIN: usize = 12;
    /// Header length, bytes.
    pub const LEN: usize = 16;
}

const TEMPLATE_SET: u16 = 2;
const OPTIONS_SET: u16 = 3;

pub(super) fn message(
    c: &mut Collector,
    exporter: SocketAddr,
    b: &[u8],
    ms: &mut MessageStats,
    out: &mut Vec<Item>,
) -> Result<(), NetflowError> {
    ms.version = IPFIX;
    let h = need(b, header::LEN, "IPFIX header")?;
    let length = usize::from(be16(h, header::LENGTH));
    if length != b.len() {
        return Err(NetflowError::Length {
            length,
            have: b.len(),
        });
    }
    let domain = be32(h, header::DOMAIN);
    let clock = Clock {
        export_ns: i64::from(be32(h, header::EXPORT_TIME)) * 1_000_000_000,
        sys_uptime_ms: None,
        sys_init_ms: None,
    };
    for (_, id, body) in sets(b, header::LEN)? {
        match id {
            TEMPLATE_SET => templates(c, exporter, domain, body, false, ms)?,
            OPTIONS_SET => templates(c, exporter, domain, body, true, ms)?,
            FIRST_DATA.. => data_set(c, exporter, domain, id, body, clock, ms, out)?,
            _ => ms.reserved_sets += 1,
        }
    }
    Ok(())
}

/// Template records (`options`: options template records, with a scope field count) of a
/// set; fewer bytes than a record header at the end are padding.
fn templates(
    c: &mut Collector,
    exporter: SocketAddr,
    domain: u32,
    mut b: &[u8],
    options: bool,
    ms: &mut MessageStats,
) -> Result<(), NetflowError> {
    let set_id = if options { OPTIONS_SET } else { TEMPLATE_SET };
    while b.len() >= 4 {
        let id = be16(b, 0);
        let n = usize::from(be16(b, 2));
        if n == 0 {
            // A withdrawal: of all templates of the set's kind, or of one.
            if id == set_id {
                ms.withdrawn += c.templates.withdraw_all(exporter, domain, options);
            } else if id >= FIRST_DATA {
                ms.withdrawn += u64::from(c.templates.withdraw(exporter, domain, id));
            } else {
                return Err(NetflowError::Template {
                    id,
                    why: "withdrawn, but template ids start at 256",
                });
            }
            b = &b[4..];
            continue;
        }
        let mut at = 4;
        if options {
            let Some(s) = b.get(4..6) else {
                return Err(NetflowError::Template {
                    id,
                    why: "its options header is longer than the set",
                });
            };
            let scope = usize::from(be16(s, 0));
            if scope == 0 || scope > n {
                return Err(NetflowError::Template {
                    id,
                    why: "scope field count is 0 or more than the fields",
                });
            }
            at = 6;
        }
        let mut fields = Vec::with_capacity(n.min(MAX_FIELDS));
        for _ in 0..n {
            let Some(f) = b.get(at..at + 4) else {
                return Err(NetflowError::Template {
                    id,
                    why: "its field list is longer than the set",
                });
            };
            let raw = be16(f, 0);
            let len = be16(f, 2);
            at += 4;
            let pen = if raw & 0x8000 != 0 {
                let Some(e) = b.get(at..at + 4) else {
                    return Err(NetflowError::Template {
                        id,
                        why: "its field list is longer than the set",
                    });
                };
                at += 4;
                be32(e, 0)
            } else {
                0
            };
            if fields.len() < MAX_FIELDS {
                let (kind, reverse) = record::kind(raw & 0x7FFF, pen);
                fields.push(Field { kind, reverse, len });
            }
        }
        let t = (n <= MAX_FIELDS).then(|| Template::new(fields, options));
        define(c, exporter, domain, id, t, ms)?;
        b = &b[at..];
    }
    Ok(())
}
