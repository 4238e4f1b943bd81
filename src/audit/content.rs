//! What a flow carried, against what its rule allows: `service` (the application protocols),
//! `tls_min` (the lowest TLS version, and TLS at all) and `sni` (the server names clients may
//! ask for).
//!
//! Only a flow whose protocol was decided is judged: its record's
//! [`ServiceStatus`] is `known` (its `service` names the protocols) or `unknown` (its first
//! bytes were seen and no recogniser knew them). Any other status (no payload, mid-stream, cut,
//! not in source) says why nothing could be decided: such a flow is counted as undecided with
//! that reason ([`Checks`]), never called a wrong service. Within a decided flow, the TLS
//! version is undecided when TLS was seen without the server's choice (no ServerHello), and the
//! server name when the ClientHello's name lay past the captured bytes (or no ClientHello was
//! seen): counted too, not judged.
//!
//! - `wrong_service`: the rule has `service`, and the flow named a service the list does not
//!   have (every service it names must be in the list, so `["smtp", "ssl"]` allows `smtp`,
//!   `smtp,ssl` after STARTTLS and `ssl`), or its bytes were unknown. Tunnels (`vxlan`,
//!   `geneve`, ...) never count: the flows inside are judged on their own.
//! - `weak_tls`: the rule has `tls_min`, and the server chose a version ranked below it
//!   ([`tls_rank`]), or the flow carried no TLS at all (no `ssl` or `quic` in its service, no
//!   TLS handshake): what should be encrypted was not.
//! - `unexpected_sni`: the rule has `sni`, and the ClientHello asked for a name no entry
//!   matches, or for none.
//!
//! Nothing here allocates for a flow: the flow's text is borrowed ([`ShownRef`]) and kept (in
//! its finding's aggregate) only the first time a finding sees it.

use super::Shown;
use crate::flow::FlowRecord;
use crate::flow::service::{ServiceStatus, is_tunnel, services, tls_rank};
use crate::rules::{Rule, TLS_SERVICES};

/// Distinct things a finding keeps with their counts (services, versions, server names); the
/// flows of any more are counted together.
pub const MAX_SHOWN: usize = 8;

/// Text longer than this (a server name from a packet, a service from a log) is kept cut to it
/// (a DNS name has at most 253 characters).
const MAX_NAME: usize = 255;

/// What one rule's content checks could and could not judge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checks {
    /// Flows judged: their protocol was decided (status known or unknown).
    pub decided: u64,
    /// Flows not judged, by their record's status (indexed as [`ServiceStatus::ALL`]; the
    /// decided statuses stay 0).
    pub undecided: [u64; 6],
    /// Decided flows on a rule with `tls_min` that carried TLS, but whose version is not known:
    /// no ServerHello was seen (or the record names `ssl` without the handshake's details).
    pub tls_undecided: u64,
    /// Decided flows on a rule with `sni` that carried TLS, but whose server name is not
    /// known: the ClientHello's name lay past the captured bytes, or no ClientHello was seen.
    pub sni_undecided: u64,
}

impl Checks {
    /// Flows not judged at all (their protocol undecided).
    pub fn undecided_flows(&self) -> u64 {
        self.undecided.iter().sum()
    }

    /// The reasons flows were not judged, with their counts, in [`ServiceStatus::ALL`] order;
    /// the reasons with none left out.
    pub fn undecided_reasons(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ServiceStatus::ALL
            .iter()
            .zip(self.undecided)
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| (s.name(), n))
    }

    pub fn add(&mut self, o: &Checks) {
        self.decided += o.decided;
        for (a, b) in self.undecided.iter_mut().zip(o.undecided) {
            *a += b;
        }
        self.tls_undecided += o.tls_undecided;
        self.sni_undecided += o.sni_undecided;
    }

    /// Whether any flow was counted.
    pub fn is_empty(&self) -> bool {
        *self == Checks::default()
    }
}

/// [`Shown`], borrowing the flow's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownRef<'a> {
    Service(&'a str),
    UnknownBytes,
    Version(u16),
    Plaintext(&'a str),
    Sni(&'a str),
    NoSni,
}

impl ShownRef<'_> {
    /// Whether `s` is the same thing.
    pub fn is(self, s: &Shown) -> bool {
        match (self, s) {
            (ShownRef::Service(a), Shown::Service(b)) => cut(a) == b,
            (ShownRef::UnknownBytes, Shown::UnknownBytes) => true,
            (ShownRef::Version(a), Shown::Version(b)) => a == *b,
            (ShownRef::Plaintext(a), Shown::Plaintext(b)) => cut(a) == b,
            (ShownRef::Sni(a), Shown::Sni(b)) => cut(a) == b,
            (ShownRef::NoSni, Shown::NoSni) => true,
            _ => false,
        }
    }

    /// An owned copy, to keep.
    pub fn to_owned(self) -> Shown {
        match self {
            ShownRef::Service(s) => Shown::Service(cut(s).to_string()),
            ShownRef::UnknownBytes => Shown::UnknownBytes,
            ShownRef::Version(v) => Shown::Version(v),
            ShownRef::Plaintext(s) => Shown::Plaintext(cut(s).to_string()),
            ShownRef::Sni(s) => Shown::Sni(cut(s).to_string()),
            ShownRef::NoSni => Shown::NoSni,
        }
    }
}

/// Text cut to [`MAX_NAME`] bytes (at a character boundary).
fn cut(s: &str) -> &str {
    if s.len() <= MAX_NAME {
        return s;
    }
    let mut end = MAX_NAME;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What one flow showed against its rule: for each check, what was wrong, if anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked<'a> {
    pub service: Option<ShownRef<'a>>,
    pub tls: Option<ShownRef<'a>>,
    pub sni: Option<ShownRef<'a>>,
}

/// Judges flow `r` against `rule`'s `service`, `tls_min` and `sni`, counting it in `checks`
/// (decided, or undecided and why). The rule must have one of them
/// ([`Rule::checks_content`]).
pub fn check<'a>(rule: &Rule, r: &'a FlowRecord, checks: &mut Checks) -> Checked<'a> {
    let status = r.service_status;
    if status.undecided() {
        checks.undecided[status as usize] += 1;
        return Checked::default();
    }
    checks.decided += 1;
    let unknown = status == ServiceStatus::Unknown;
    let named = r.service.trim();
    let mut out = Checked::default();

    if !rule.service.is_empty() {
        if unknown {
            out.service = Some(ShownRef::UnknownBytes);
        } else if services(named).any(|s| !rule.allows_service(s) && !is_tunnel(s)) {
            out.service = Some(ShownRef::Service(named));
        }
    }

    let tls = r.tls.as_ref();
    // TLS was seen: named (ssl after STARTTLS too, or quic) or its handshake parsed.
    let carries_tls = tls.is_some()
        || services(named).any(|s| TLS_SERVICES.iter().any(|t| t.eq_ignore_ascii_case(s)));
    if let Some(min) = rule.tls_min {
        match tls.and_then(|t| t.version) {
            Some(v) if tls_rank(v) < tls_rank(min) => out.tls = Some(ShownRef::Version(v)),
            Some(_) => {}
            None if carries_tls => checks.tls_undecided += 1,
            None if unknown => out.tls = Some(ShownRef::UnknownBytes),
            // A tunnel's outer flow that names nothing else: what it carried are the flows
            // inside, judged on their own.
            None if !services(named).any(|s| !is_tunnel(s)) => {}
            None => out.tls = Some(ShownRef::Plaintext(named)),
        }
    }

    if !rule.sni.is_empty() {
        match tls {
            Some(t) if t.sni_cut => checks.sni_undecided += 1,
            Some(t) if !t.sni.is_empty() => {
                out.sni = (!rule.allows_sni(&t.sni)).then_some(ShownRef::Sni(&t.sni));
            }
            // The ClientHello was seen whole, and named no server.
            Some(t) if t.client_version.is_some() => out.sni = Some(ShownRef::NoSni),
            _ if carries_tls => checks.sni_undecided += 1,
            // No TLS: no server name to judge (weak_tls or wrong_service say what it was).
            _ => {}
        }
    }
    out
}

/// What a finding's flows showed: at most [`MAX_SHOWN`] distinct things with their counts,
/// the flows of the rest in `other`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShownList {
    pub items: Vec<(Shown, u64)>,
    pub other: u64,
}

impl ShownList {
    pub fn add(&mut self, s: ShownRef<'_>) {
        if let Some(e) = self.items.iter_mut().find(|(x, _)| s.is(x)) {
            e.1 += 1;
        } else if self.items.len() < MAX_SHOWN {
            self.items.push((s.to_owned(), 1));
        } else {
            self.other += 1;
        }
    }

    pub fn merge(&mut self, o: &ShownList) {
        self.other += o.other;
        for (s, n) in &o.items {
            if let Some(e) = self.items.iter_mut().find(|(x, _)| x == s) {
                e.1 += n;
            } else if self.items.len() < MAX_SHOWN {
                self.items.push((s.clone(), *n));
            } else {
                self.other += n;
            }
        }
    }

    /// The items, most flows first (ties in [`Shown`]'s order).
    pub fn sorted(&self) -> Vec<(Shown, u64)> {
        let mut v = self.items.clone();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}
