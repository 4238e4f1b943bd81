//! Audit reports: the terminal report (`text`), the JSON document (`json`), and the English
//! message of each finding (`message`), shared by both.

mod json;
mod message;
mod text;

use std::io::{self, Write};

use crate::audit::{AuditResult, Kind, fmt_num};
use crate::engine::InputSummary;
use crate::flow::TableStats;
use crate::rules::Rules;

pub use json::{audit_json, skipped_counts, write_audit_json, write_raised_line};
pub use message::{message, shown_text};
use text::table;
pub use text::{DEFAULT_TEXT_ROWS, write_audit_text};
pub(crate) use text::{checks_text, client_cell, groups, server_cell};

/// Format version of the JSON document.
pub const JSON_VERSION: u64 = 1;

/// Evidence about one input: enough to reproduce the audit.
#[derive(Debug, Clone)]
pub struct CaptureEvidence {
    pub summary: InputSummary,
    /// SHA-256 of the file (None for standard input).
    pub sha256: Option<String>,
}

/// Everything an audit report shows.
pub struct AuditDoc<'a> {
    pub rules: &'a Rules,
    pub result: &'a AuditResult,
    pub captures: &'a [CaptureEvidence],
    /// Flow-record inputs (Zeek conn.log, flowaudit JSON lines, ...), with what each could not
    /// show.
    pub records: &'a [crate::records::InputEvidence],
    /// What the merge of duplicates across record inputs did.
    pub merge: crate::records::dedupe::MergeStats,
    /// What the flow table did: flows evicted, the most open at once.
    pub table: TableStats,
    /// The cap on open flows (0: none).
    pub max_flows: usize,
}

/// Control characters from files or packets never reach the terminal or a report as such, nor
/// the characters that reorder text (bidirectional embeddings, overrides, isolates and marks):
/// each is shown as `\u{..}`.
pub fn escape(s: &str) -> String {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
    };
    if !s.chars().any(hidden) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The kinds of finding the rules can raise, in report order: every kind, but
/// `wrong_service`, `weak_tls` and `unexpected_sni` only when a rule has `service`, `tls_min`
/// or `sni` (the JSON document's `findings_by_kind`, the HTML page's filters and timeline
/// lanes), so that the reports of a matrix without them are as they were.
pub fn report_kinds(rules: &Rules) -> Vec<Kind> {
    let content = rules.rules.iter().any(|r| r.checks_content());
    Kind::ALL
        .into_iter()
        .filter(|k| {
            content || !matches!(k, Kind::WrongService | Kind::WeakTls | Kind::UnexpectedSni)
        })
        .collect()
}

/// Text, or "-" for none.
fn or_dash(s: String) -> String {
    if s.is_empty() { "-".to_string() } else { s }
}

/// Writes the matrix as `check-rules` shows it: roles with their hosts, then every rule.
pub fn write_matrix(w: &mut dyn Write, rules: &Rules) -> io::Result<()> {
    writeln!(w, "{}", escape(&rules.name))?;
    writeln!(
        w,
        "  rules file {} (sha256 {})",
        escape(&rules.file.path.display().to_string()),
        rules.file.sha256
    )?;
    if let Some(inv) = &rules.inventory {
        writeln!(
            w,
            "  inventory  {} (sha256 {})",
            escape(&inv.path.display().to_string()),
            inv.sha256
        )?;
    }
    writeln!(w)?;
    writeln!(w, "roles")?;
    let mut rows = vec![vec![
        "ROLE".to_string(),
        "HOSTS".into(),
        "DESCRIPTION".into(),
    ]];
    for role in &rules.roles {
        let hosts = if role.hosts.is_empty() {
            "(none: give them with --inventory)".to_string()
        } else {
            let h = role
                .hosts
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            if role.from_inventory {
                format!("{h} (inventory)")
            } else {
                h
            }
        };
        rows.push(vec![
            escape(&role.name),
            hosts,
            role.description.as_deref().map_or("-".to_string(), escape),
        ]);
    }
    table(w, "  ", &rows)?;
    writeln!(w)?;
    writeln!(w, "rules (the first that matches judges a flow)")?;
    let mut rows = vec![vec![
        "#".to_string(),
        "RULE".into(),
        "FROM".into(),
        "TO".into(),
        "PROTO".into(),
        "PORTS".into(),
        "SERVICE".into(),
        "TLS MIN".into(),
        "SNI".into(),
        "BETWEEN".into(),
        "LATENCY".into(),
        "AVG".into(),
        "PEAK".into(),
        "VERDICT".into(),
        "EXPECT".into(),
        "SEVERITY".into(),
        "NOTE".into(),
    ]];
    let kbps = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{} kbit/s", fmt_num(v)));
    for (i, rule) in rules.rules.iter().enumerate() {
        rows.push(vec![
            (i + 1).to_string(),
            escape(&rule.name),
            escape(&rules.roles[rule.from].name),
            escape(&rules.roles[rule.to].name),
            rule.proto.name().to_string(),
            rule.ports_text(),
            or_dash(rule.service_text()),
            rule.tls_min_text().unwrap_or_else(|| "-".to_string()),
            or_dash(escape(&rule.sni_text())),
            rule.between.name().to_string(),
            rule.latency_ms
                .map_or("-".to_string(), |v| format!("{} ms", fmt_num(v))),
            kbps(rule.avg_kbps),
            kbps(rule.peak_kbps),
            rule.verdict.name().to_string(),
            match rule.expect {
                crate::rules::Expect::Required => "required".to_string(),
                crate::rules::Expect::Optional => "optional".to_string(),
            },
            rule.severity
                .map_or("default".to_string(), |s| s.name().to_string()),
            rule.note.as_deref().map_or("-".to_string(), escape),
        ]);
    }
    table(w, "  ", &rows)?;
    writeln!(w)?;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    writeln!(
        w,
        "{}, {} ({} required)",
        plural(rules.roles.len(), "role"),
        plural(rules.rules.len(), "rule"),
        rules
            .rules
            .iter()
            .filter(|r| r.expect == crate::rules::Expect::Required)
            .count()
    )
}
