//! NetFlow v9 (RFC 3954): a 20-byte header and flowsets: templates (id 0), options
//! templates (id 1) and data (id 256 and up). Also the data sets both v9 and IPFIX have.

use std::net::SocketAddr;

use super::record::{self, Clock, Outcome};
use super::templates::{Field, MAX_FIELDS, Template};
use super::{Collector, MessageStats, NetflowError, V9, be16, be32, need, observer};
use crate::records::Item;

mod header {
    /// Version: 9.
    pub const _VERSION: usize = 0;
    /// Records (template and data) in the message: not relied on, exporters differ.
    pub const _COUNT: usize = 2;
    /// Milliseconds since the exporter booted.
    pub const SYS_UPTIME: usize = 4;
    /// Export time: seconds since the epoch.
    pub const UNIX_SECS: usize = 8;
    /// Messages exported before this one (not read).
    pub const _SEQUENCE: usize = 12;
    /// The exporter's observation domain.
    pub const SOURCE_ID: usize = 16;
    /// Header length, bytes.
    pub const LEN: usize = 20;
}

/// Flowset ids.
const TEMPLATE_SET: u16 = 0;
const OPTIONS_SET: u16 = 1;
/// The first data set id (template ids start there too).
pub(super) const FIRST_DATA: u16 = 256;

pub(super) fn message(
    c: &mut Collector,
    exporter: SocketAddr,
    b: &[u8],
    ms: &mut MessageStats,
    out: &mut Vec<Item>,
) -> Result<(), NetflowError> {
    ms.version = V9;
    let h = need(b, header::LEN, "v9 header")?;
    let domain = be32(h, header::SOURCE_ID);
    let secs = i64::from(be32(h, header::UNIX_SECS));
    let sys_uptime = be32(h, header::SYS_UPTIME);
    for (_, id, body) in sets(b, header::LEN)? {
        match id {
            TEMPLATE_SET => templates(c, exporter, domain, body, ms)?,
            OPTIONS_SET => options_templates(c, exporter, domain, body, ms)?,
            FIRST_DATA.. => {
                let clock = Clock {
                    export_ns: secs * 1_000_000_000,
                    sys_uptime_ms: Some(sys_uptime),
                    sys_init_ms: None,
                };
                data_set(c, exporter, domain, id, body, clock, ms, out)?;
            }
            _ => ms.reserved_sets += 1,
        }
    }
    Ok(())
}

/// A set: its offset in the message, its id, its body.
pub(super) type Set<'a> = (usize, u16, &'a [u8]);

/// The sets (flowsets) of a message from byte `from` on. Fewer than 4 bytes left at the end
/// are padding.
pub(super) fn sets(b: &[u8], from: usize) -> Result<Vec<Set<'_>>, NetflowError> {
    let mut v = Vec::new();
    let mut at = from;
    while b.len().saturating_sub(at) >= 4 {
        let id = be16(b, at);
        let length = usize::from(be16(b, at + 2));
        let err = |why| NetflowError::SetLength {
            set_id: id,
            at,
            length,
            why,
        };
        if length < 4 {
            return Err(err("is shorter than a set header (4)"));
        }
        if at + length > b.len() {
            return Err(err("runs past the end of the message"));
        }
        v.push((at, id, &b[at + 4..at + length]));
        at += length;
    }
    Ok(v)
}

/// A template's fields as (type, length) pairs: v9 has no enterprise elements.
fn fields(b: &[u8], n: usize) -> Vec<Field> {
    b.chunks_exact(4)
        .take(n)
        .map(|f| {
            let (kind, reverse) = record::kind(be16(f, 0), 0);
            Field {
                kind,
                reverse,
                len: be16(f, 2),
            }
        })
        .collect()
}

/// Defines a template, unless it has too many fields; checks it describes some bytes.
pub(super) fn define(
    c: &mut Collector,
    exporter: SocketAddr,
    domain: u32,
    id: u16,
    t: Option<Template>,
    ms: &mut MessageStats,
) -> Result<(), NetflowError> {
    if id < FIRST_DATA {
        return Err(NetflowError::Template {
            id,
            why: "template ids start at 256",
        });
    }
    match t {
        None => ms.templates_refused += 1,
        Some(t) if t.min_len == 0 => {
            return Err(NetflowError::Template {
                id,
                why: "describes records of 0 bytes",
            });
        }
        Some(t) => {
            c.templates.insert(exporter, domain, id, t);
            ms.templates += 1;
        }
    }
    Ok(())
}

fn templates(
    c: &mut Collector,
    exporter: SocketAddr,
    domain: u32,
    mut b: &[u8],
    ms: &mut MessageStats,
) -> Result<(), NetflowError> {
    while b.len() >= 4 {
        let id = be16(b, 0);
        let n = usize::from(be16(b, 2));
        if n == 0 {
            return Err(NetflowError::Template {
                id,
                why: "has 0 fields (a template of length 0)",
            });
        }
        let end = 4 + 4 * n;
        let Some(list) = b.get(4..end) else {
            return Err(NetflowError::Template {
                id,
                why: "its field list is longer than the set",
            });
        };
        let t = (n <= MAX_FIELDS).then(|| Template::new(fields(list, n), false));
        define(c, exporter, domain, id, t, ms)?;
        b = &b[end..];
    }
    Ok(())
}

/// v9 options templates: id, scope length and option length in bytes, the scope fields,
/// the option fields, padding.
fn options_templates(
    c: &mut Collector,
    exporter: SocketAddr,
    domain: u32,
    mut b: &[u8],
    ms: &mut MessageStats,
) -> Result<(), NetflowError> {
    while b.len() >= 6 {
        let id = be16(b, 0);
        let scope = usize::from(be16(b, 2));
        let option = usize::from(be16(b, 4));
        if scope % 4 != 0 || option % 4 != 0 {
            return Err(NetflowError::Template {
                id,
                why: "options template lengths are not multiples of 4",
            });
        }
        if scope + option == 0 {
            return Err(NetflowError::Template {
                id,
                why: "has 0 fields (a template of length 0)",
            });
        }
        let end = 6 + scope + option;
        let Some(list) = b.get(6..end) else {
            return Err(NetflowError::Template {
                id,
                why: "its field list is longer than the set",
            });
        };
        let n = (scope + option) / 4;
        let t = (n <= MAX_FIELDS).then(|| Template::new(fields(list, n), true));
        define(c, exporter, domain, id, t, ms)?;
        // One options template a set is usual; padding to 4 bytes follows.
        b = &b[end..];
        if b.len() < 6 {
            break;
        }
    }
    Ok(())
}

/// A data set of template `id`: flow records become items, options records update what the
/// collector knows of the exporter; trailing bytes shorter than a record are padding.
#[allow(clippy::too_many_arguments)]
pub(super) fn data_set(
    c: &mut Collector,
    exporter: SocketAddr,
    domain: u32,
    id: u16,
    mut b: &[u8],
    mut clock: Clock,
    ms: &mut MessageStats,
    out: &mut Vec<Item>,
) -> Result<(), NetflowError> {
    let Some(t) = c.templates.get(exporter, domain, id) else {
        ms.unknown_template_sets += 1;
        ms.unknown_template_bytes += b.len() as u64 + 4;
        return Ok(());
    };
    let t = t.clone();
    let obs = observer(exporter.ip(), domain);
    let mut scope = c.scope(exporter, domain);
    let mut n = 0usize;
    while b.len() >= t.min_len {
        n += 1;
        let (v, len) = record::read(&t, b).map_err(|()| NetflowError::FieldPastSet {
            set_id: id,
            record: n,
        })?;
        b = &b[len..];
        if t.options {
            ms.options_records += 1;
            if let Some(s) = v.sampling_rate() {
                scope.sampling = s;
            }
            if let Some(i) = v.sys_init_ms {
                scope.sys_init_ms = Some(i);
            }
            c.set_scope(exporter, domain, scope);
            continue;
        }
        clock.sys_init_ms = v.sys_init_ms.or(scope.sys_init_ms);
        let sampling = v.sampling_rate().unwrap_or(scope.sampling);
        match record::finish(&v, &clock, sampling, obs) {
            Outcome::Item(item) => {
                if matches!(item, Item::Pair { .. }) {
                    ms.pairs += 1;
                }
                ms.records += 1;
                out.push(item);
            }
            Outcome::Skip(why) => *ms.skipped.entry(why).or_insert(0) += 1,
        }
    }
    Ok(())
}
