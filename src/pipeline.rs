//! The runs the commands make: reading the inputs into sinks (with the evidence hashes an
//! audit needs), and the audit's sink.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::audit::Auditor;
use crate::capture::Input;
use crate::engine::{self, Options, Outcome};
use crate::flow::{FlowRecord, FlowSink, SecondBytes, ServerPorts};
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

/// Reads `inputs` into `sink` (see [`engine::read`]). With `hash`, each input file's SHA-256
/// is computed on a thread of its own while the captures are read, in `inputs` order.
pub fn read(
    inputs: &[Input],
    opts: &Options,
    servers: &dyn ServerPorts,
    sink: &mut dyn FlowSink,
    hash: bool,
    progress: &mut (dyn FnMut(u64) + Send),
) -> (Outcome, Vec<Hash>) {
    std::thread::scope(|scope| {
        let hashing = hash.then(|| {
            scope.spawn(|| {
                inputs
                    .iter()
                    .map(|i| {
                        (i.path.as_os_str() != "-").then(|| {
                            sha256_file(&i.path).map_err(|e| {
                                format!(
                                    "{}: cannot read it again to hash it: {e}",
                                    i.path.display()
                                )
                            })
                        })
                    })
                    .collect::<Vec<_>>()
            })
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

/// The audit's sink: every ended flow is judged, and with `flows_out` written as a JSON line
/// with its rule, verdict and finding kind.
pub struct AuditSink<'r> {
    pub auditor: Auditor<'r>,
    rules: &'r Rules,
    flows_out: Option<Box<dyn Write + 'r>>,
    error: Option<io::Error>,
    /// One `flows_out` line, formatted before it is written whole.
    buf: Vec<u8>,
}

impl<'r> AuditSink<'r> {
    pub fn new(
        rules: &'r Rules,
        auditor: Auditor<'r>,
        flows_out: Option<Box<dyn Write + 'r>>,
    ) -> Self {
        AuditSink {
            auditor,
            rules,
            flows_out,
            error: None,
            buf: Vec::new(),
        }
    }

    /// The auditor, and the first error writing `flows_out` (after flushing it).
    pub fn finish(mut self) -> (Auditor<'r>, io::Result<()>) {
        let mut res = self.error.take().map_or(Ok(()), Err);
        if res.is_ok()
            && let Some(w) = &mut self.flows_out
        {
            res = w.flush();
        }
        (self.auditor, res)
    }
}

impl FlowSink for AuditSink<'_> {
    fn flow(&mut self, r: &FlowRecord) {
        let j = self.auditor.add(r);
        if let Some(w) = &mut self.flows_out
            && self.error.is_none()
        {
            let v = Verdicted {
                rule: j.rule.map(|i| self.rules.rules[i].name.as_str()),
                verdict: j.verdict.name(),
                audit: Some(AuditFields {
                    finding: j.kind.map(|k| k.name()),
                    also: j.also.map(|k| k.name()),
                    reversed: j.reversed.map(|w| w.name()),
                }),
            };
            self.buf.clear();
            json_line(&mut self.buf, r, Some(v));
            if let Err(e) = w.write_all(&self.buf) {
                self.error = Some(e);
            }
        }
    }

    fn second(&mut self, b: &SecondBytes) {
        self.auditor.add_second(b);
    }
}
