//! The template cache: v9 and IPFIX templates and options templates, per exporter (address
//! and port: RFC 7011's transport session), observation domain (v9: source id) and template
//! id, bounded in number.
//!
//! At most [`MAX_TEMPLATES`] templates are kept, of at most [`MAX_FIELDS`] fields each (a
//! field is 4 bytes here), so the cache holds at most 4096 * 256 * 4 bytes = 4 MiB of fields
//! whatever the exporters send. When it is full, a new template drops the one defined
//! longest ago (a template defined again counts as new), so a flood of templates from one
//! exporter costs the others only their templates, which they send again periodically.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::record::Kind;

/// Templates kept at most.
pub const MAX_TEMPLATES: usize = 4096;
/// Fields a template may have; one with more is refused (counted, its data sets unknown).
pub const MAX_FIELDS: usize = 256;
/// A field length that means "variable" (RFC 7011 section 7).
pub const VARIABLE: u16 = 0xFFFF;

/// One field of a template, as the data records are read with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Field {
    pub kind: Kind,
    /// An RFC 5103 reverse element (enterprise 29305).
    pub reverse: bool,
    /// Bytes in a record, or [`VARIABLE`].
    pub len: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Template {
    pub fields: Box<[Field]>,
    /// An options template: its records describe the exporter, not flows.
    pub options: bool,
    /// The shortest record: fixed lengths, plus 1 for each variable-length field.
    pub min_len: usize,
}

impl Template {
    pub fn new(fields: Vec<Field>, options: bool) -> Template {
        let min_len = fields
            .iter()
            .map(|f| {
                if f.len == VARIABLE {
                    1
                } else {
                    usize::from(f.len)
                }
            })
            .sum();
        Template {
            fields: fields.into_boxed_slice(),
            options,
            min_len,
        }
    }
}

/// Where a template belongs: exporter, observation domain (source id), template id.
type Key = (SocketAddr, u32, u16);

/// The bounded cache ([`MAX_TEMPLATES`]).
#[derive(Debug, Default)]
pub(super) struct Cache {
    map: BTreeMap<Key, (u64, Template)>,
    /// Definition order: sequence number to key, the oldest first.
    order: BTreeMap<u64, Key>,
    seq: u64,
    evicted: u64,
}

impl Cache {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Templates dropped to make room.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn get(&self, exporter: SocketAddr, domain: u32, id: u16) -> Option<&Template> {
        self.map.get(&(exporter, domain, id)).map(|(_, t)| t)
    }

    /// Defines (or defines again) a template.
    pub fn insert(&mut self, exporter: SocketAddr, domain: u32, id: u16, t: Template) {
        let key = (exporter, domain, id);
        if let Some((old, _)) = self.map.remove(&key) {
            self.order.remove(&old);
        } else if self.map.len() >= MAX_TEMPLATES
            && let Some((_, oldest)) = self.order.pop_first()
        {
            self.map.remove(&oldest);
            self.evicted += 1;
        }
        self.seq += 1;
        self.order.insert(self.seq, key);
        self.map.insert(key, (self.seq, t));
    }

    /// Withdraws one template (RFC 7011 section 8.1); whether it was there.
    pub fn withdraw(&mut self, exporter: SocketAddr, domain: u32, id: u16) -> bool {
        match self.map.remove(&(exporter, domain, id)) {
            Some((seq, _)) => {
                self.order.remove(&seq);
                true
            }
            None => false,
        }
    }

    /// Withdraws all templates (`options` false) or all options templates (true) of a domain;
    /// how many.
    pub fn withdraw_all(&mut self, exporter: SocketAddr, domain: u32, options: bool) -> u64 {
        let gone: Vec<(Key, u64)> = self
            .map
            .range((exporter, domain, 0)..=(exporter, domain, u16::MAX))
            .filter(|(_, (_, t))| t.options == options)
            .map(|(k, (seq, _))| (*k, *seq))
            .collect();
        for (k, seq) in &gone {
            self.map.remove(k);
            self.order.remove(seq);
        }
        gone.len() as u64
    }
}
