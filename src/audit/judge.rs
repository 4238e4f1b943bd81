//! Verdicts: what the rules say of one flow, and whether it got through.

use std::net::IpAddr;

use super::{FlowVerdict, Reversal};
use crate::flow::{ConnState, FlowRecord, Proto};
use crate::rules::{Rules, Verdict};

/// What the rules say of one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    /// The rule that judged it (for `reversed`: the rule that would, the other way).
    pub rule: Option<usize>,
    pub verdict: FlowVerdict,
    /// For `reversed`: which way.
    pub reversed: Option<Reversal>,
}

/// Judges one flow.
pub fn judge(rules: &Rules, r: &FlowRecord) -> Judgement {
    judge_endpoints(
        rules,
        r.proto,
        (r.orig_h, r.orig_p),
        (r.resp_h, r.resp_p),
        r.direction_inferred,
    )
}

/// Judges a flow from `client` to `server` (address and port). In order: the first rule that
/// matches as observed; else, when the direction was seen (not `inferred`), `reversed` by the
/// first rule matching with the hosts swapped on the server port ([`Reversal::Hosts`]), then
/// by the first rule matching with hosts and ports swapped ([`Reversal::Connection`]), each
/// only when that rule is not `denied`; else `unexpected`.
pub fn judge_endpoints(
    rules: &Rules,
    proto: Proto,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    inferred: bool,
) -> Judgement {
    if let Some(i) = rules.first_match(proto, client.0, server.0, server.1) {
        let verdict = match rules.rules[i].verdict {
            Verdict::Allowed => FlowVerdict::Allowed,
            Verdict::Discouraged => FlowVerdict::Discouraged,
            Verdict::Denied => FlowVerdict::Denied,
        };
        return Judgement {
            rule: Some(i),
            verdict,
            reversed: None,
        };
    }
    // Right hosts (and ports), wrong side started it: only meaningful when the handshake showed
    // who started it.
    if !inferred {
        let ways = [
            (Reversal::Hosts, server.1),
            (Reversal::Connection, client.1),
        ];
        for (way, port) in ways {
            if let Some(i) = rules.first_match(proto, server.0, client.0, port)
                && rules.rules[i].verdict != Verdict::Denied
            {
                return Judgement {
                    rule: Some(i),
                    verdict: FlowVerdict::Reversed,
                    reversed: Some(way),
                };
            }
        }
    }
    Judgement {
        rule: None,
        verdict: FlowVerdict::Unexpected,
        reversed: None,
    }
}

/// Whether a flow got through: TCP established (handshake completed, or mid-stream traffic from
/// both sides, or a flow record without TCP flags); UDP answered, and not by an ICMP
/// unreachable; never when the record's source says it was blocked ([`FlowRecord::rejected`]).
pub fn established(r: &FlowRecord) -> bool {
    if r.rejected.is_some() {
        return false;
    }
    match r.proto {
        Proto::Tcp => match r.conn_state {
            ConnState::S1
            | ConnState::SF
            | ConnState::S2
            | ConnState::S3
            | ConnState::RSTO
            | ConnState::RSTR => true,
            // No history at all: a flow record with no TCP flags (a VPC flow log's default
            // format), which cannot tell a failure; it is not called one.
            ConnState::OTH => (r.orig_pkts > 0 && r.resp_pkts > 0) || r.history.is_empty(),
            _ => false,
        },
        Proto::Udp => r.resp_pkts > 0 && !unreachable(r),
    }
}

/// ICMP destination unreachable (v4 type 3, v6 type 1) answered the flow.
fn unreachable(r: &FlowRecord) -> bool {
    r.icmp_errors.is_some_and(|e| {
        (e.last_type == 3 && !r.orig_h.is_ipv6()) || (e.last_type == 1 && r.orig_h.is_ipv6())
    })
}

/// How a flow that never got through failed.
pub(crate) fn outcome(r: &FlowRecord) -> String {
    if let Some(why) = r.rejected {
        return why.to_string();
    }
    match (r.proto, r.icmp_errors) {
        (_, Some(e)) if unreachable(r) => {
            format!("icmp unreachable {}/{}", e.last_type, e.last_code)
        }
        (Proto::Udp, _) => "no reply".to_string(),
        (Proto::Tcp, _) => r.conn_state.to_string(),
    }
}
