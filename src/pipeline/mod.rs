//! The runs the commands make: reading the inputs into sinks (with the evidence hashes an
//! audit needs), the audit's sink, and what a live capture does while it runs ([`live`]).

pub mod live;
pub mod records;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::audit::Auditor;
use crate::capture::Input;
use crate::engine::{self, Options, Outcome};
use crate::flow::{FlowRecord, FlowSink, SecondBytes, ServerPorts};
use crate::report::audit::write_raised_line;
use crate::report::records::{AuditFields, Verdicted, json_line};
use crate::rules::Rules;

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::rules::hex(&h.finalize()))
}

/// What hashing one input gave: its SHA-256 (None for standard input), or why it could not be
/// read again.
pub type Hash = Option<Result<String, String>>;

/// SHA-256 of each file, in order (None for standard input, `-`).
pub fn hash_files<P: AsRef<Path>>(paths: &[P]) -> Vec<Hash> {
    paths
        .iter()
        .map(|p| {
            let p = p.as_ref();
            (p.as_os_str() != "-").then(|| {
                sha256_file(p)
                    .map_err(|e| format!("{}: cannot read it again to hash it: {e}", p.display()))
            })
        })
        .collect()
}

/// Reads `inputs` into `sink` (see [`engine::read`]). With `hash`, each input file's SHA-256
/// is computed on a thread of its own while the captures are read, in `inputs` order.
pub fn read(
    inputs: &[Input],
    opts: &Options,
    servers: &dyn ServerPorts,
    sink: &mut (dyn FlowSink + Send),
    hash: bool,
    progress: &mut (dyn FnMut(u64) + Send),
) -> (Outcome, Vec<Hash>) {
    std::thread::scope(|scope| {
        let hashing = hash.then(|| {
            let paths: Vec<&Path> = inputs.iter().map(|i| i.path.as_path()).collect();
            scope.spawn(move || hash_files(&paths))
        });
        let outcome = engine::read(inputs, opts, servers, sink, progress);
        let hashes = match hashing.map(|h| h.join()) {
            Some(Ok(v)) => v,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Vec::new(),
        };
        (outcome, hashes)
    })
}

/// A JSON-lines output of the audit sink: where it goes, and its first write error (after
/// which nothing more is written to it).
struct Lines<'r> {
    w: Box<dyn Write + Send + 'r>,
    error: Option<io::Error>,
}

impl Lines<'_> {
    fn write(&mut self, line: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.w.write_all(line)
        {
            self.error = Some(e);
        }
    }
    fn flush(&mut self) {
        if self.error.is_none()
            && let Err(e) = self.w.flush()
        {
            self.error = Some(e);
        }
    }
    /// Flushes; the first write error, if any.
    fn finish(mut self) -> io::Result<()> {
        self.flush();
        self.error.map_or(Ok(()), Err)
    }
}

/// The audit's sink: every ended flow is judged; with `flows_out` each is written as a JSON
/// line with its rule, verdict and finding kind, and with `findings_out` each finding the first
/// time it is raised.
pub struct AuditSink<'r> {
    pub auditor: Auditor<'r>,
    rules: &'r Rules,
    flows_out: Option<Lines<'r>>,
    findings_out: Option<Lines<'r>>,
    /// One line, formatted before it is written whole.
    buf: Vec<u8>,
    /// Findings raised so far, by severity (error, warning).
    pub raised: [u64; 2],
}

/// What an audit sink leaves: the auditor, and the outcome of each JSON-lines output.
pub struct AuditEnd<'r> {
    pub auditor: Auditor<'r>,
    pub flows_out: io::Result<()>,
    pub findings_out: io::Result<()>,
}

impl<'r> AuditSink<'r> {
    pub fn new(
        rules: &'r Rules,
        auditor: Auditor<'r>,
        flows_out: Option<Box<dyn Write + Send + 'r>>,
        findings_out: Option<Box<dyn Write + Send + 'r>>,
    ) -> Self {
        let lines = |w| Lines { w, error: None };
        // Findings are raised whether or not they are written: the live status line counts them.
        let auditor = auditor.raising();
        AuditSink {
            auditor,
            rules,
            flows_out: flows_out.map(lines),
            findings_out: findings_out.map(lines),
            buf: Vec::new(),
            raised: [0; 2],
        }
    }

    /// The rules flows are judged by.
    pub fn rules(&self) -> &'r Rules {
        self.rules
    }

    /// Writes the findings raised since the last call.
    /// Counts the findings raised since the last call, and writes them with `findings_out`.
    fn write_raised(&mut self) {
        for r in self.auditor.take_raised() {
            self.raised[r.severity as usize] += 1;
            if let Some(out) = &mut self.findings_out {
                self.buf.clear();
                // Writing into a vector cannot fail.
                let _ = write_raised_line(&mut self.buf, self.rules, &r);
                out.write(&self.buf);
            }
        }
    }

    /// Ends the audit's outputs: what only the end shows is raised at `end_ns` (the last
    /// packet's time), and the outputs are flushed.
    pub fn finish(mut self, end_ns: Option<i64>) -> AuditEnd<'r> {
        if let Some(end) = end_ns {
            self.auditor.raise_pending(end);
        }
        self.write_raised();
        AuditEnd {
            auditor: self.auditor,
            flows_out: self.flows_out.map_or(Ok(()), Lines::finish),
            findings_out: self.findings_out.map_or(Ok(()), Lines::finish),
        }
    }
}

impl FlowSink for AuditSink<'_> {
    fn flow(&mut self, r: &FlowRecord) {
        if !self.auditor.judges(r) {
            // A tunnel endpoint's flow left out of the verdicts: listed, not judged.
            self.auditor.skip();
            if let Some(out) = &mut self.flows_out {
                let v = Verdicted {
                    rule: None,
                    verdict: "not_judged",
                    audit: Some(AuditFields::default()),
                };
                self.buf.clear();
                json_line(&mut self.buf, r, Some(v));
                out.write(&self.buf);
            }
            return;
        }
        let j = self.auditor.add(r);
        if let Some(out) = &mut self.flows_out {
            let v = Verdicted {
                rule: j.rule.map(|i| self.rules.rules[i].name.as_str()),
                verdict: j.verdict.name(),
                audit: Some(AuditFields {
                    finding: j.kind.map(|k| k.name()),
                    also: j.also.names(),
                    reversed: j.reversed.map(|w| w.name()),
                }),
            };
            self.buf.clear();
            json_line(&mut self.buf, r, Some(v));
            out.write(&self.buf);
        }
        self.write_raised();
    }

    fn second(&mut self, b: &SecondBytes) {
        self.auditor.add_second(b);
        self.write_raised();
    }

    fn spread(&mut self, r: &FlowRecord) {
        self.auditor.add_spread(r);
        self.write_raised();
    }

    fn clock(&mut self, now_ns: i64) {
        self.auditor.clock(now_ns);
        self.write_raised();
    }

    fn flush(&mut self) {
        for out in [&mut self.flows_out, &mut self.findings_out]
            .into_iter()
            .flatten()
        {
            out.flush();
        }
    }
}
