//! What the commands do while a live capture runs: the status line, and the audit's scheduled
//! reports.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::AuditSink;
use crate::audit::thousands;
use crate::engine::live::{LiveHooks, Status};
use crate::flow::{FlowSink, FlowTable};
use crate::report::audit::{AuditDoc, CaptureEvidence, write_audit_json, write_audit_text};
use crate::report::file_stamp;
use crate::stats::InputSummary;

/// A status line on standard error, redrawn in place about once a second; only when asked
/// (on a terminal, and not quiet).
pub struct StatusLine {
    bar: Option<indicatif::ProgressBar>,
}

impl StatusLine {
    pub fn new(show: bool) -> StatusLine {
        let bar = show.then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b
        });
        StatusLine { bar }
    }

    /// Shows `s`, and the findings so far (errors, warnings) when auditing.
    pub fn show(&self, s: &Status, findings: Option<[u64; 2]>) {
        if let Some(b) = &self.bar {
            b.set_message(status_text(s, findings));
            b.tick();
        }
    }

    /// Removes the line (before the report is written).
    pub fn clear(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The status line's text: elapsed time, packets and rate, open flows, findings by severity,
/// drops.
pub fn status_text(s: &Status, findings: Option<[u64; 2]>) -> String {
    let t = s.elapsed.as_secs();
    let mut line = format!(
        "{:02}:{:02}:{:02}  {} packets ({}/s)  {} open flows",
        t / 3600,
        t / 60 % 60,
        t % 60,
        thousands(s.packets),
        thousands(s.rate.round() as u64),
        thousands(s.open_flows as u64),
    );
    if let Some([e, w]) = findings {
        line.push_str(&format!("  findings: {e} error, {w} warning"));
    }
    let lost = s.dropped + s.if_dropped;
    if lost > 0 {
        line.push_str(&format!("  DROPPED {}", thousands(lost)));
    } else {
        line.push_str("  0 dropped");
    }
    line
}

impl<S: FlowSink> LiveHooks<S> for StatusLine {
    fn status(&mut self, s: &Status, _sink: &S) {
        self.show(s, None);
    }
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
    /// One self-contained HTML page.
    Html,
    /// The matrix alone, as an SVG picture.
    Svg,
}

/// How the audit's reports are written.
#[derive(Debug, Clone)]
pub struct ReportStyle {
    pub format: ReportFormat,
    /// Rows per kind of finding in the text report.
    pub max_rows: usize,
    /// The cap on open flows, as the report states it.
    pub max_flows: usize,
}

/// Writes an audit report.
pub fn write_report(
    out: &mut dyn Write,
    doc: &AuditDoc<'_>,
    style: &ReportStyle,
    color: bool,
) -> io::Result<()> {
    match style.format {
        ReportFormat::Text => write_audit_text(out, doc, color, style.max_rows),
        ReportFormat::Json => write_audit_json(out, doc),
        ReportFormat::Html => crate::report::html::write_audit_html(out, doc),
        ReportFormat::Svg => crate::report::html::write_matrix_svg(out, doc),
    }?;
    out.flush()
}

/// `report.txt` at `ns` -> `report-20261129T000000Z.txt`, beside it.
pub fn snapshot_path(report: &Path, ns: i64) -> PathBuf {
    let stem = report
        .file_stem()
        .map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    let name = match report.extension() {
        Some(ext) => format!("{stem}-{}.{}", file_stamp(ns), ext.to_string_lossy()),
        None => format!("{stem}-{}", file_stamp(ns)),
    };
    report.with_file_name(name)
}

/// The audit's hooks: the status line with findings so far, and the report so far on a
/// schedule, written beside the final report.
pub struct AuditHooks<'r> {
    pub line: StatusLine,
    pub every: Option<Duration>,
    /// The final report's path, which the scheduled reports are named after.
    pub output: Option<PathBuf>,
    pub style: ReportStyle,
    /// Interfaces, for the scheduled reports' capture line.
    pub interfaces: Vec<String>,
    /// Scheduled reports written, and the first error writing one.
    pub written: Vec<PathBuf>,
    pub error: Option<String>,
    _rules: std::marker::PhantomData<&'r ()>,
}

impl<'r> AuditHooks<'r> {
    pub fn new(
        line: StatusLine,
        every: Option<Duration>,
        output: Option<PathBuf>,
        style: ReportStyle,
        interfaces: Vec<String>,
    ) -> Self {
        AuditHooks {
            line,
            every,
            output,
            style,
            interfaces,
            written: Vec::new(),
            error: None,
            _rules: std::marker::PhantomData,
        }
    }
}

impl<'r> LiveHooks<AuditSink<'r>> for AuditHooks<'r> {
    fn schedule(&self) -> Option<Duration> {
        self.every
    }

    fn status(&mut self, s: &Status, sink: &AuditSink<'r>) {
        self.line.show(s, Some(sink.raised));
    }

    fn report(
        &mut self,
        now_ns: i64,
        sink: &AuditSink<'r>,
        table: &FlowTable<'_>,
        status: &Status,
    ) {
        let Some(output) = &self.output else { return };
        // The flows ended so far, and the open ones as they are now.
        let mut snap = sink.auditor.snapshot();
        table.open_records(&mut |r| {
            snap.add(r);
        });
        let result = snap.finish();
        let captures = [CaptureEvidence {
            summary: InputSummary {
                packets: status.packets,
                last_ts_ns: Some(now_ns),
                ..InputSummary::new(
                    PathBuf::from(format!("interface {}", self.interfaces.join(","))),
                    None,
                )
            },
            sha256: None,
        }];
        let doc = AuditDoc {
            rules: sink.rules(),
            result: &result,
            captures: &captures,
            records: &[],
            merge: Default::default(),
            table: table.stats(),
            max_flows: self.style.max_flows,
        };
        let path = snapshot_path(output, now_ns);
        let written = File::create(&path).and_then(|f| {
            let mut w = BufWriter::new(f);
            write_report(&mut w, &doc, &self.style, false)
        });
        match written {
            Ok(()) => self.written.push(path),
            Err(e) => {
                self.error.get_or_insert_with(|| {
                    format!("{}: cannot write the report: {e}", path.display())
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_text() {
        let s = Status {
            elapsed: Duration::from_secs(3725),
            packets: 1_234_567,
            rate: 10_456.4,
            open_flows: 1204,
            dropped: 0,
            if_dropped: 0,
        };
        assert_eq!(
            status_text(&s, Some([2, 1])),
            "01:02:05  1,234,567 packets (10,456/s)  1,204 open flows  findings: 2 error, 1 warning  0 dropped"
        );
        let s = Status {
            dropped: 1500,
            if_dropped: 2,
            ..s
        };
        assert_eq!(
            status_text(&s, None),
            "01:02:05  1,234,567 packets (10,456/s)  1,204 open flows  DROPPED 1,502"
        );
    }

    #[test]
    fn snapshot_names() {
        let t = 1_795_946_400_000_000_000;
        assert_eq!(
            snapshot_path(Path::new("/var/audit/report.json"), t),
            Path::new("/var/audit/report-20261129T100000Z.json")
        );
        assert_eq!(
            snapshot_path(Path::new("out"), t),
            Path::new("out-20261129T100000Z")
        );
    }
}
