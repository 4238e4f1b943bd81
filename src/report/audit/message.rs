//! The English text of a finding: the `message` of the JSON document, and what the text report
//! is built from. One function per kind family, from the typed finding.

use crate::audit::{
    Detail, Finding, Kind, Reversal, Rollup, RollupBy, Shown, fmt_num, ms, ranges_text, thousands,
};
use crate::flow::service::tls_version_name;
use crate::rules::Rules;

/// Port ranges shown in a message before "…".
const MESSAGE_RANGES: usize = 8;

/// The finding's message.
pub fn message(rules: &Rules, f: &Finding) -> String {
    let base = match f.kind {
        Kind::Unexpected => unexpected(f),
        Kind::Denied => format!("denied by rule '{}'{}", rule_name(rules, f), note(rules, f)),
        Kind::Discouraged => {
            format!(
                "discouraged by rule '{}'{}",
                rule_name(rules, f),
                note(rules, f)
            )
        }
        Kind::Reversed => reversed(rules, f),
        Kind::Failed => failed(f),
        Kind::OverLatency => latency(f),
        Kind::OverBandwidth => bandwidth(rules, f),
        Kind::Missing => missing(rules, f),
        Kind::WrongService | Kind::WeakTls | Kind::UnexpectedSni => content(rules, f),
    };
    match (&f.rollup, f.kind) {
        // Unexpected and reversed messages name the hosts themselves.
        (Some(r), k) if k != Kind::Unexpected && k != Kind::Reversed => {
            format!("{base}; {}", rollup_hosts(f, r))
        }
        _ => base,
    }
}

fn rule_name<'r>(rules: &'r Rules, f: &Finding) -> &'r str {
    f.rule.map_or("", |i| rules.rules[i].name.as_str())
}

fn note(rules: &Rules, f: &Finding) -> String {
    match f.rule.and_then(|i| rules.rules[i].note.as_deref()) {
        Some(n) => format!(": {n}"),
        None => String::new(),
    }
}

/// "1,204 clients", or "about 3,000,000 clients" when estimated.
fn hosts_count(n: u64, estimated: bool, word: &str) -> String {
    format!(
        "{}{} {word}{}",
        if estimated { "about " } else { "" },
        thousands(n),
        if n == 1 { "" } else { "s" }
    )
}

/// Port ranges, the first few, then "…".
pub fn ranges_short(ranges: &[(u16, u16)], max: usize) -> String {
    if ranges.len() <= max {
        ranges_text(ranges)
    } else {
        format!("{},…", ranges_text(&ranges[..max]))
    }
}

/// The client side of a finding: its address, or how many clients a roll-up has.
fn client_text(f: &Finding) -> String {
    match &f.rollup {
        Some(r) if r.by == RollupBy::Clients => {
            hosts_count(r.clients, r.clients_estimated, "client")
        }
        _ => f.src.clone().unwrap_or_default(),
    }
}

/// The server side: `server:port`, or for a roll-up of targets, "N servers on M ports (…)".
fn target_text(f: &Finding) -> String {
    match &f.rollup {
        Some(r) if r.by == RollupBy::Targets => targets(r),
        _ => format!(
            "{}:{}",
            f.dst.as_deref().unwrap_or("-"),
            f.dst_port.map_or("*".to_string(), |p| p.to_string())
        ),
    }
}

fn targets(r: &Rollup) -> String {
    let servers = if r.servers == 1 && !r.servers_estimated {
        r.top_servers
            .first()
            .map_or("1 server".to_string(), |s| s.0.to_string())
    } else {
        hosts_count(r.servers, r.servers_estimated, "server")
    };
    let ports = if r.ports == 1 {
        format!("port {}", ranges_text(&r.port_ranges))
    } else {
        format!(
            "{} ports ({})",
            thousands(r.ports),
            ranges_short(&r.port_ranges, MESSAGE_RANGES)
        )
    };
    format!("{servers} on {ports}")
}

/// What a roll-up covers, for the kinds whose message does not name hosts.
fn rollup_hosts(f: &Finding, r: &Rollup) -> String {
    match r.by {
        RollupBy::Clients => format!("{} to {}", client_text(f), target_text(f)),
        RollupBy::Targets => format!("{} to {}", client_text(f), targets(r)),
    }
}

fn unexpected(f: &Finding) -> String {
    let arrow = match &f.rollup {
        Some(r) if r.by == RollupBy::Targets => format!("{} -> {}", client_text(f), targets(r)),
        _ => format!("{} -> {}", client_text(f), target_text(f)),
    };
    format!("no rule allows {} {arrow}", f.proto.name())
}

fn reversed(rules: &Rules, f: &Finding) -> String {
    let rule = rule_name(rules, f);
    let (way, server_ports) = match &f.detail {
        Detail::Reversed { way, server_ports } => (*way, server_ports.as_slice()),
        _ => (Reversal::Hosts, &[][..]),
    };
    let client = client_text(f);
    let server = f.dst.clone().unwrap_or_else(|| match &f.rollup {
        Some(r) => hosts_count(r.servers, r.servers_estimated, "server"),
        None => "-".to_string(),
    });
    let port = match (&f.rollup, f.dst_port) {
        (_, Some(p)) => p.to_string(),
        (Some(r), None) => ranges_short(&r.port_ranges, MESSAGE_RANGES),
        (None, None) => "*".to_string(),
    };
    match (way, &f.rollup) {
        (Reversal::Hosts, None) => format!(
            "{client} started the connection; rule '{rule}' allows {server} -> {client}:{port} the other way"
        ),
        (Reversal::Hosts, Some(_)) => format!(
            "{client} started connections to {server} on port {port}; rule '{rule}' allows them only the other way (server to client on port {port})"
        ),
        (Reversal::Connection, rolled) => {
            let ports = ranges_short(server_ports, MESSAGE_RANGES);
            let what = if rolled.is_some() {
                "connections"
            } else {
                "the connection"
            };
            format!(
                "{client} opened {what} to {server}:{port} from port {ports}; rule '{rule}' allows the connection the other way, {server} -> {client}:{ports}"
            )
        }
    }
}

fn failed(f: &Finding) -> String {
    let Detail::Failed { outcomes } = &f.detail else {
        return String::new();
    };
    let how = outcomes
        .iter()
        .map(|(o, n)| format!("{n} {o}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} {} never established ({how})",
        f.flows,
        if f.flows == 1 { "attempt" } else { "attempts" }
    )
}

fn latency(f: &Finding) -> String {
    let Detail::Latency {
        budget_ms,
        measured,
        p50_ns,
        p95_ns,
        max_ns,
        exact,
    } = &f.detail
    else {
        return String::new();
    };
    format!(
        "rtt over the {} ms budget in {} of {} flows: p50 {} ms, p95 {} ms, max {} ms{}",
        fmt_num(*budget_ms),
        f.flows,
        measured,
        ms(*p50_ns),
        ms(*p95_ns),
        ms(*max_ns),
        if *exact {
            ""
        } else {
            " (p50 and p95 within 0.1 %)"
        }
    )
}

fn bandwidth(rules: &Rules, f: &Finding) -> String {
    let Detail::Bandwidth {
        avg_kbps,
        peak_kbps,
        avg_budget_kbps,
        peak_budget_kbps,
        active_seconds,
        ip_bytes,
    } = &f.detail
    else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(b) = avg_budget_kbps {
        parts.push(format!(
            "average {} kbit/s (budget {})",
            fmt_num(*avg_kbps),
            fmt_num(*b)
        ));
    }
    if let Some(b) = peak_budget_kbps {
        parts.push(format!(
            "peak {} kbit/s over 1 s (budget {})",
            fmt_num(*peak_kbps),
            fmt_num(*b)
        ));
    }
    format!(
        "{ip_bytes} IP bytes over {active_seconds} active s on rule '{}': {}",
        rule_name(rules, f),
        parts.join(", ")
    )
}

fn missing(rules: &Rules, f: &Finding) -> String {
    let Detail::Missing {
        ports,
        failed_attempts,
    } = &f.detail
    else {
        return String::new();
    };
    let proto = f.proto.name();
    format!(
        "required rule '{}': no established {proto} flow from {} to {} on port {ports}{}",
        rule_name(rules, f),
        f.src.as_deref().unwrap_or("-"),
        f.dst.as_deref().unwrap_or("-"),
        match failed_attempts {
            0 => " (no attempt seen)".to_string(),
            1 => " (1 failed attempt)".to_string(),
            n => format!(" ({n} failed attempts)"),
        }
    )
}

/// What a wrong_service, weak_tls or unexpected_sni finding's flows carried, as a message says
/// it: `http`, `TLSv10 < tls_min TLSv12`, `no TLS (plaintext http)`, `SNI evil.example.net`.
pub fn shown_text(kind: Kind, s: &Shown, tls_min: Option<u16>) -> String {
    match s {
        Shown::Service(x) => x.clone(),
        Shown::UnknownBytes if kind == Kind::WeakTls => "no TLS (unknown bytes)".to_string(),
        Shown::UnknownBytes => "unknown bytes".to_string(),
        Shown::Version(v) => match tls_min {
            Some(m) => format!("{} < tls_min {}", tls_version_name(*v), tls_version_name(m)),
            None => tls_version_name(*v).into_owned(),
        },
        Shown::Plaintext(x) if x.is_empty() => "no TLS".to_string(),
        Shown::Plaintext(x) => format!("no TLS (plaintext {x})"),
        Shown::Sni(x) => format!("SNI {x}"),
        Shown::NoSni => "no SNI".to_string(),
    }
}

/// wrong_service: "http on an edge that allows ssl"; weak_tls: "TLSv10 < tls_min TLSv12";
/// unexpected_sni: "SNI evil.example.net, not in the rule's sni (*.example.com)". With several
/// things seen, each with its flows.
fn content(rules: &Rules, f: &Finding) -> String {
    let Detail::Shown { shown, other } = &f.detail else {
        return String::new();
    };
    let rule = f.rule.map(|i| &rules.rules[i]);
    let tls_min = rule.and_then(|r| r.tls_min);
    let several = shown.len() > 1 || *other > 0;
    let mut parts: Vec<String> = shown
        .iter()
        .map(|(s, n)| {
            let t = shown_text(f.kind, s, tls_min);
            if several {
                format!("{t} ({} {})", n, if *n == 1 { "flow" } else { "flows" })
            } else {
                t
            }
        })
        .collect();
    if *other > 0 {
        parts.push(format!(
            "{} more {} with others",
            other,
            if *other == 1 { "flow" } else { "flows" }
        ));
    }
    let seen = parts.join(if f.kind == Kind::WrongService {
        ", "
    } else {
        "; "
    });
    match (f.kind, rule) {
        (Kind::WrongService, Some(r)) => {
            format!("{seen} on an edge that allows {}", r.service_text())
        }
        (Kind::UnexpectedSni, Some(r)) => {
            format!("{seen}, not in the rule's sni ({})", r.sni_text())
        }
        _ => seen,
    }
}
