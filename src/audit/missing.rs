//! Required rules: per pair of role entries (client entry, server entry), whether an
//! established flow was seen, and the failed attempts. Memory: the product of the two roles'
//! host lists per required rule, whatever the traffic.

use std::collections::BTreeMap;

use super::groups::Seen;
use crate::flow::FlowRecord;
use crate::rules::Rules;

#[derive(Debug, Clone, Default)]
pub struct PairSeen {
    pub established: u64,
    /// Failed attempts.
    pub failed: Seen,
}

#[derive(Debug, Clone, Default)]
pub struct Required {
    /// (rule, index of the client's entry in its role, index of the server's entry).
    pub pairs: BTreeMap<(usize, usize, usize), PairSeen>,
}

impl Required {
    /// A flow that required rule `i` judged: counts for every entry pair that covers it.
    pub fn add(&mut self, rules: &Rules, i: usize, r: &FlowRecord, ok: bool) {
        let rule = &rules.rules[i];
        for (a, ha) in rules.roles[rule.from].hosts.iter().enumerate() {
            if !ha.contains(r.orig_h) {
                continue;
            }
            for (b, hb) in rules.roles[rule.to].hosts.iter().enumerate() {
                if !hb.contains(r.resp_h) {
                    continue;
                }
                let p = self.pairs.entry((i, a, b)).or_default();
                if ok {
                    p.established += 1;
                } else {
                    p.failed.note(r);
                }
            }
        }
    }
}
