//! Rules stage: the allowed-flow matrix (`rules/*.toml`) and the inventory that fills its roles,
//! parsed once, with every mistake located at its file, line and column.
//!
//! The format is documented in the README. Parsing uses the `toml` crate with spans: every
//! value keeps its byte range, so an error points at the exact value that is wrong.

// A located error with its snippet is a few hundred bytes; it is built at most once per run,
// while parsing, so its size on the error path does not matter.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::flow::service::{parse_tls_version, tls_version_name};
use crate::flow::{Proto, ServerPorts};

/// A mistake in a rules or inventory file, with where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line and column of the offending text (0 when the file could not be read).
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The offending line and the width of the mark under it, for display.
    snippet: Option<(String, usize, usize)>,
}

impl std::error::Error for RulesError {}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )?;
        }
        if let Some((text, col, width)) = &self.snippet {
            let n = self.line.to_string();
            let pad = " ".repeat(n.len());
            write!(
                f,
                "\n{pad} |\n{n} | {text}\n{pad} | {}{}",
                " ".repeat(col.saturating_sub(1)),
                "^".repeat((*width).max(1))
            )?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// A file's text, to turn byte offsets into lines and columns.
struct Source<'a> {
    name: String,
    text: &'a str,
}

impl Source<'_> {
    fn error(
        &self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> RulesError {
        let Some(span) = span else {
            return RulesError {
                file: self.name.clone(),
                line: 1,
                column: 1,
                message: message.into(),
                hint,
                snippet: None,
            };
        };
        let start = span.start.min(self.text.len());
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line = self.text[..start].matches('\n').count() + 1;
        let column = self.text[line_start..start].chars().count() + 1;
        let text = self.text[line_start..line_end].trim_end_matches('\r');
        let width = self.text[start..span.end.clamp(start, line_end)]
            .chars()
            .count();
        RulesError {
            file: self.name.clone(),
            line,
            column,
            message: message.into(),
            hint,
            snippet: Some((escape(text), column, width)),
        }
    }

    fn toml_error(&self, e: toml::de::Error) -> RulesError {
        let msg = e.message().trim().to_string();
        let hint = if msg.contains("unknown field") {
            "check the key's spelling against the format in the README"
        } else if msg.contains("missing field") {
            "add the missing key"
        } else if msg.contains("unknown variant") {
            "use one of the values listed"
        } else if msg.contains("invalid type") {
            "give the value the type the README's format shows (ports: a list such as [443, \"8000-8080\"])"
        } else {
            "fix the TOML syntax at the mark"
        };
        let hint = Some(hint.to_string());
        self.error(e.span(), msg, hint)
    }
}

/// Control characters from a file never reach the terminal as such.
fn escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// What a rule says of the flows it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allowed,
    Discouraged,
    Denied,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Discouraged => "discouraged",
            Verdict::Denied => "denied",
        }
    }
}

/// Whether the matrix requires a rule's flows to be seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Optional,
    Required,
}

/// Which pairs of hosts a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Between {
    /// Any client and server in the roles.
    Any,
    /// Distinct hosts only.
    Peers,
    /// The same host only: the same address on both ends, or loopback.
    SameHost,
}

impl Between {
    pub fn name(self) -> &'static str {
        match self {
            Between::Any => "any",
            Between::Peers => "peers",
            Between::SameHost => "same-host",
        }
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawProto {
    Tcp,
    Udp,
}

/// One entry of a role's hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Host {
    /// Every address.
    Any,
    /// An address (a /32 or /128) or a network.
    Net(IpNet),
}

impl Host {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match self {
            Host::Any => true,
            Host::Net(n) => n.contains(&ip),
        }
    }
    /// The single address this entry names, if it names one.
    pub fn single(&self) -> Option<IpAddr> {
        match self {
            Host::Net(n) if n.prefix_len() == n.max_prefix_len() => Some(n.addr()),
            _ => None,
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Any => f.write_str("any"),
            Host::Net(n) => match self.single() {
                Some(ip) => write!(f, "{ip}"),
                None => write!(f, "{n}"),
            },
        }
    }
}

/// A named set of hosts.
#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    pub hosts: Vec<Host>,
    /// True when the inventory gave the hosts.
    pub from_inventory: bool,
    pub description: Option<String>,
    /// Where the role is defined in the rules file.
    span: Range<usize>,
}

impl Role {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.hosts.iter().any(|h| h.contains(ip))
    }
    /// True when the role names this address or network explicitly (not through "any").
    pub fn names(&self, ip: IpAddr) -> bool {
        self.hosts
            .iter()
            .any(|h| matches!(h, Host::Net(n) if n.contains(&ip)))
    }
    pub fn is_any(&self) -> bool {
        self.hosts.contains(&Host::Any)
    }
}

/// One allowed-flow rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    /// Index of the client's role in [`Rules::roles`].
    pub from: usize,
    /// Index of the server's role.
    pub to: usize,
    pub proto: Proto,
    /// Server ports, as inclusive ranges.
    pub ports: Vec<(u16, u16)>,
    /// Budget on the flow's rtt (ms), from the rule or the defaults.
    pub latency_ms: Option<f64>,
    /// Average bandwidth budget per client host (kbit/s).
    pub avg_kbps: Option<f64>,
    /// Peak bandwidth budget per client host over 1 s (kbit/s).
    pub peak_kbps: Option<f64>,
    pub verdict: Verdict,
    pub expect: Expect,
    pub between: Between,
    /// Overrides the default severity of this rule's findings.
    pub severity: Option<Severity>,
    pub note: Option<String>,
    /// The application protocols the rule's flows may carry (`service = ["ssl"]`): Zeek's
    /// service names, from [`crate::flow::service::KNOWN`]. Empty: any.
    pub service: Vec<&'static str>,
    /// The lowest TLS version the rule's flows may use (`tls_min = "1.2"`; wire value, ranked
    /// by [`crate::flow::service::tls_rank`]); with it, a flow that carries no TLS is a finding.
    pub tls_min: Option<u16>,
    /// The server names clients may ask for in TLS (`sni = [...]`). Empty: any.
    pub sni: Vec<SniName>,
    /// Line of the rule's `name` in the rules file.
    pub line: usize,
}

impl Rule {
    /// Whether the rule says what its flows may carry (`service`, `tls_min` or `sni`): only
    /// then are its flows' services, TLS and server names judged.
    pub fn checks_content(&self) -> bool {
        !self.service.is_empty() || self.tls_min.is_some() || !self.sni.is_empty()
    }

    /// Whether `service` allows a service of that name (Zeek's names, any case).
    pub fn allows_service(&self, name: &str) -> bool {
        self.service.iter().any(|s| s.eq_ignore_ascii_case(name))
    }

    /// Whether a ClientHello's server name is one `sni` allows (true when the rule has no
    /// `sni`).
    pub fn allows_sni(&self, name: &str) -> bool {
        self.sni.is_empty() || self.sni.iter().any(|p| p.matches(name))
    }

    /// `service` as written in reports: `smtp, ssl`.
    pub fn service_text(&self) -> String {
        self.service.join(", ")
    }

    /// `sni` as written in reports: `store.example.com, *.example.com`.
    pub fn sni_text(&self) -> String {
        self.sni
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `tls_min` as Zeek names it (`TLSv12`).
    pub fn tls_min_text(&self) -> Option<String> {
        self.tls_min.map(|v| tls_version_name(v).into_owned())
    }
    pub fn has_port(&self, port: u16) -> bool {
        self.ports.iter().any(|&(a, b)| a <= port && port <= b)
    }

    /// The ports as written: `443`, `49152-65535`.
    pub fn ports_text(&self) -> String {
        ranges_text(&self.ports)
    }
}

/// Inclusive port ranges as text: `20-25,80,443-445`.
pub fn ranges_text(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Services that carry a TLS handshake: `ssl` (TLS over TCP, directly or after STARTTLS) and
/// `quic` (whose handshake is TLS 1.3).
pub const TLS_SERVICES: &[&str] = &["ssl", "quic"];

/// One entry of a rule's `sni`: a server name, or `*.domain` for any name with one or more
/// labels before `.domain`. Kept in lower case without a final dot; compared without regard to
/// case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniName {
    /// As written (lower case), with its `*.` if any.
    text: String,
    wildcard: bool,
}

impl SniName {
    /// Parses a name or a `*.domain` pattern; None when it is neither.
    pub fn parse(s: &str) -> Option<SniName> {
        let t = s.trim();
        let t = t.strip_suffix('.').unwrap_or(t).to_ascii_lowercase();
        let (wildcard, name) = match t.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, t.as_str()),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return None;
        }
        Some(SniName { text: t, wildcard })
    }

    /// Whether a ClientHello's server name matches: the same name, or for `*.domain` one or
    /// more labels then `.domain` (`a.domain`, `a.b.domain`; not `domain` itself). Case does
    /// not matter; a final dot on the name is ignored.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.strip_suffix('.').unwrap_or(name);
        if !self.wildcard {
            return name.eq_ignore_ascii_case(&self.text);
        }
        // "*.example.com": the name ends with ".example.com" and has something before it.
        let suffix = &self.text[1..];
        name.len() > suffix.len()
            && name.is_char_boundary(name.len() - suffix.len())
            && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            && !name[..name.len() - suffix.len()].ends_with('.')
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A file that the evidence names: path and SHA-256.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub path: PathBuf,
    pub sha256: String,
}

/// The matrix: roles and rules, with the inventory applied.
#[derive(Debug, Clone)]
pub struct Rules {
    pub name: String,
    pub file: FileInfo,
    pub inventory: Option<FileInfo>,
    /// Roles in the order the rules file defines them.
    pub roles: Vec<Role>,
    /// Rules in file order: the first that matches judges a flow.
    pub rules: Vec<Rule>,
    /// The rules file's text, for locating later errors.
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    name: Spanned<String>,
    #[serde(default)]
    defaults: Option<RawDefaults>,
    roles: Spanned<BTreeMap<Spanned<String>, Spanned<RawRole>>>,
    #[serde(default)]
    flows: Vec<Spanned<RawFlow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    latency_ms: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    hosts: Spanned<Vec<Spanned<String>>>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    name: Spanned<String>,
    from: Spanned<String>,
    to: Spanned<String>,
    proto: RawProto,
    ports: Spanned<Vec<Spanned<toml::Value>>>,
    latency_ms: Option<Spanned<f64>>,
    avg_kbps: Option<Spanned<f64>>,
    peak_kbps: Option<Spanned<f64>>,
    verdict: Option<Verdict>,
    expect: Option<Expect>,
    between: Option<Between>,
    severity: Option<Severity>,
    note: Option<String>,
    service: Option<Spanned<Vec<Spanned<String>>>>,
    tls_min: Option<Spanned<toml::Value>>,
    sni: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory {
    roles: BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>,
}

fn read_file(path: &Path) -> Result<(String, String), RulesError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| RulesError {
        file: name.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
        hint: None,
        snippet: None,
    })?;
    let sha = hex(&Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).map_err(|e| RulesError {
        file: name.clone(),
        line: 0,
        column: 0,
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
        hint: Some("save the file as UTF-8".into()),
        snippet: None,
    })?;
    Ok((text, sha))
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses one host entry: an address, a CIDR network, or "any".
fn parse_host(src: &Source<'_>, s: &Spanned<String>) -> Result<Host, RulesError> {
    let v = s.get_ref().trim();
    if v.eq_ignore_ascii_case("any") {
        return Ok(Host::Any);
    }
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Ok(Host::Net(IpNet::from(ip)));
    }
    match v.parse::<IpNet>() {
        // Host bits set (10.0.0.5/24) mean the network.
        Ok(n) => Ok(Host::Net(n.trunc())),
        Err(_) => Err(src.error(
            Some(s.span()),
            format!("'{}' is not an IP address, a CIDR network or \"any\"", escape(v)),
            Some("write an address (10.0.0.5, fd00::5), a network (10.0.1.0/24, fd00::/64) or \"any\"".into()),
        )),
    }
}

/// Parses one `ports` entry: a number or an "a-b" range.
fn parse_port(src: &Source<'_>, v: &Spanned<toml::Value>) -> Result<(u16, u16), RulesError> {
    let span = Some(v.span());
    let one = |n: i64| -> Result<u16, RulesError> {
        if (1..=65535).contains(&n) {
            Ok(n as u16)
        } else {
            Err(src.error(
                span.clone(),
                format!("port {n} is out of range"),
                Some("ports are 1 to 65535".into()),
            ))
        }
    };
    match v.get_ref() {
        toml::Value::Integer(n) => {
            let p = one(*n)?;
            Ok((p, p))
        }
        toml::Value::String(s) => {
            let parts: Vec<&str> = s.split('-').map(str::trim).collect();
            let nums: Option<Vec<i64>> = parts.iter().map(|p| p.parse::<i64>().ok()).collect();
            match (parts.len(), nums) {
                (1, Some(n)) => {
                    let p = one(n[0])?;
                    Ok((p, p))
                }
                (2, Some(n)) => {
                    let (a, b) = (one(n[0])?, one(n[1])?);
                    if a > b {
                        return Err(src.error(
                            span,
                            format!("reversed port range \"{s}\""),
                            Some(format!("write the lower port first: \"{b}-{a}\"")),
                        ));
                    }
                    Ok((a, b))
                }
                _ => Err(src.error(
                    span,
                    format!("'{}' is not a port or a port range", escape(s)),
                    Some("write a number (443) or a range in quotes (\"49152-65535\")".into()),
                )),
            }
        }
        _ => Err(src.error(
            span,
            "a port must be a number or a range string",
            Some("write a number (443) or a range in quotes (\"49152-65535\")".into()),
        )),
    }
}

fn check_budget(
    src: &Source<'_>,
    v: &Option<Spanned<f64>>,
    what: &str,
) -> Result<Option<f64>, RulesError> {
    match v {
        Some(s) if !(s.get_ref().is_finite() && *s.get_ref() > 0.0) => Err(src.error(
            Some(s.span()),
            format!("{what} must be a positive number"),
            None,
        )),
        Some(s) => Ok(Some(*s.get_ref())),
        None => Ok(None),
    }
}

/// What a rule says its flows may carry: `service`, `tls_min` and `sni`, checked.
struct Content {
    service: Vec<&'static str>,
    tls_min: Option<u16>,
    sni: Vec<SniName>,
}

/// Parses and checks a rule's `service`, `tls_min` and `sni`.
fn parse_content(src: &Source<'_>, f: &RawFlow) -> Result<Content, RulesError> {
    let mut service = Vec::new();
    if let Some(list) = &f.service {
        if list.get_ref().is_empty() {
            return Err(src.error(
                Some(list.span()),
                "service is empty",
                Some("list the services the rule's flows may carry, e.g. service = [\"ssl\"], or leave service out to allow any".into()),
            ));
        }
        for name in list.get_ref() {
            let n = name.get_ref().trim();
            let Some(known) = crate::flow::service::KNOWN
                .iter()
                .find(|k| k.eq_ignore_ascii_case(n))
            else {
                return Err(src.error(
                    Some(name.span()),
                    format!("unknown service '{}'", escape(n)),
                    Some(format!(
                        "use Zeek's service names: {}",
                        crate::flow::service::KNOWN.join(", ")
                    )),
                ));
            };
            if !service.contains(known) {
                service.push(*known);
            }
        }
    }
    let tls_min = match &f.tls_min {
        None => None,
        Some(v) => {
            let text = match v.get_ref() {
                toml::Value::String(s) => Some(s.clone()),
                // tls_min = 1.2: the number as written.
                toml::Value::Float(x) => Some(x.to_string()),
                toml::Value::Integer(n) => Some(n.to_string()),
                _ => None,
            };
            let Some(version) = text.as_deref().and_then(parse_tls_version) else {
                return Err(src.error(
                    Some(v.span()),
                    match &text {
                        Some(t) => format!("'{}' is not a TLS version", escape(t)),
                        None => "tls_min must be a TLS version".to_string(),
                    },
                    Some(
                        "write a version in quotes: \"1.2\", \"1.3\" (also \"TLS 1.2\", \"TLSv12\", \"SSLv3\")"
                            .into(),
                    ),
                ));
            };
            Some(version)
        }
    };
    let mut sni = Vec::new();
    if let Some(list) = &f.sni {
        if list.get_ref().is_empty() {
            return Err(src.error(
                Some(list.span()),
                "sni is empty",
                Some("list the server names clients may ask for, e.g. sni = [\"store.example.com\", \"*.example.com\"], or leave sni out to allow any".into()),
            ));
        }
        for name in list.get_ref() {
            let Some(p) = SniName::parse(name.get_ref()) else {
                return Err(src.error(
                    Some(name.span()),
                    format!(
                        "'{}' is not a server name or a *.domain pattern",
                        escape(name.get_ref())
                    ),
                    Some("write a DNS name (store.example.com) or \"*.\" and a domain (*.example.com: any name under example.com)".into()),
                ));
            };
            if !sni.contains(&p) {
                sni.push(p);
            }
        }
    }
    let constrained = f.service.as_ref().map(|s| s.span());
    let tls_span = f
        .tls_min
        .as_ref()
        .map(|v| v.span())
        .or(f.sni.as_ref().map(|s| s.span()));
    if f.verdict == Some(Verdict::Denied)
        && let Some(span) = constrained.clone().or(tls_span.clone())
    {
        return Err(src.error(
            Some(span),
            "a denied rule's flows are denied whatever they carry",
            Some(
                "remove service, tls_min and sni from this rule, or make it allowed or discouraged"
                    .into(),
            ),
        ));
    }
    if !service.is_empty()
        && !service.iter().any(|s| TLS_SERVICES.contains(s))
        && let Some(span) = tls_span
    {
        return Err(src.error(
            Some(span),
            format!(
                "{} on a rule whose service allows no TLS",
                if f.tls_min.is_some() {
                    "tls_min"
                } else {
                    "sni"
                }
            ),
            Some(format!(
                "add \"ssl\" to service = [{}], or remove {}",
                service
                    .iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", "),
                if f.tls_min.is_some() {
                    "tls_min"
                } else {
                    "sni"
                }
            )),
        ));
    }
    Ok(Content {
        service,
        tls_min,
        sni,
    })
}

impl Rules {
    /// Reads and checks a rules file, then applies the inventory, if any.
    pub fn load(rules_path: &Path, inventory_path: Option<&Path>) -> Result<Rules, RulesError> {
        let (text, sha256) = read_file(rules_path)?;
        let src = Source {
            name: rules_path.display().to_string(),
            text: &text,
        };
        let raw: RawRules = toml::from_str(&text).map_err(|e| src.toml_error(e))?;

        let default_latency = match &raw.defaults {
            Some(d) => check_budget(&src, &d.latency_ms, "latency_ms")?,
            None => None,
        };

        let mut role_list: Vec<(&Spanned<String>, &Spanned<RawRole>)> =
            raw.roles.get_ref().iter().collect();
        // File order, not name order.
        role_list.sort_by_key(|(k, _)| k.span().start);
        let mut roles = Vec::with_capacity(role_list.len());
        for (name, role) in role_list {
            let mut hosts = Vec::new();
            for h in role.get_ref().hosts.get_ref() {
                hosts.push(parse_host(&src, h)?);
            }
            roles.push(Role {
                name: name.get_ref().clone(),
                hosts,
                from_inventory: false,
                description: role.get_ref().description.clone(),
                span: name.span(),
            });
        }
        let role_names = || roles_hint(&roles);

        let mut rules: Vec<Rule> = Vec::with_capacity(raw.flows.len());
        for f in &raw.flows {
            let f = f.get_ref();
            let name = f.name.get_ref().trim().to_string();
            if name.is_empty() {
                return Err(src.error(Some(f.name.span()), "a rule's name cannot be empty", None));
            }
            if let Some(first) = rules.iter().find(|r| r.name == name) {
                return Err(src.error(
                    Some(f.name.span()),
                    format!("duplicate rule name '{}'", escape(&name)),
                    Some(format!(
                        "the first rule of that name is at line {}; give each rule its own name",
                        first.line
                    )),
                ));
            }
            let role_index = |r: &Spanned<String>| -> Result<usize, RulesError> {
                roles
                    .iter()
                    .position(|x| x.name == *r.get_ref())
                    .ok_or_else(|| {
                        src.error(
                            Some(r.span()),
                            format!("unknown role '{}'", escape(r.get_ref())),
                            Some(format!(
                                "define it under [roles]; the roles are: {}",
                                role_names()
                            )),
                        )
                    })
            };
            let from = role_index(&f.from)?;
            let to = role_index(&f.to)?;
            if f.ports.get_ref().is_empty() {
                return Err(src.error(
                    Some(f.ports.span()),
                    "ports is empty",
                    Some("a rule needs at least one server port, e.g. ports = [443]".into()),
                ));
            }
            let mut ports = Vec::new();
            for p in f.ports.get_ref() {
                ports.push(parse_port(&src, p)?);
            }
            let line = src.error(Some(f.name.span()), "", None).line;
            let content = parse_content(&src, f)?;
            rules.push(Rule {
                name,
                from,
                to,
                proto: match f.proto {
                    RawProto::Tcp => Proto::Tcp,
                    RawProto::Udp => Proto::Udp,
                },
                ports,
                latency_ms: check_budget(&src, &f.latency_ms, "latency_ms")?.or(default_latency),
                avg_kbps: check_budget(&src, &f.avg_kbps, "avg_kbps")?,
                peak_kbps: check_budget(&src, &f.peak_kbps, "peak_kbps")?,
                verdict: f.verdict.unwrap_or(Verdict::Allowed),
                expect: f.expect.unwrap_or(Expect::Optional),
                between: f.between.unwrap_or(Between::Any),
                severity: f.severity,
                note: f.note.clone(),
                service: content.service,
                tls_min: content.tls_min,
                sni: content.sni,
                line,
            });
        }

        let mut out = Rules {
            name: raw.name.get_ref().clone(),
            file: FileInfo {
                path: rules_path.to_path_buf(),
                sha256,
            },
            inventory: None,
            roles,
            rules,
            text: text.clone(),
        };
        if let Some(inv) = inventory_path {
            out.apply_inventory(inv)?;
        }
        Ok(out)
    }

    /// Fills or replaces roles' hosts from an inventory file.
    fn apply_inventory(&mut self, path: &Path) -> Result<(), RulesError> {
        let (text, sha256) = read_file(path)?;
        let src = Source {
            name: path.display().to_string(),
            text: &text,
        };
        let raw: RawInventory = toml::from_str(&text).map_err(|e| src.toml_error(e))?;
        for (name, hosts) in &raw.roles {
            let Some(i) = self.roles.iter().position(|r| r.name == *name.get_ref()) else {
                return Err(src.error(
                    Some(name.span()),
                    format!(
                        "role '{}' is not defined in {}",
                        escape(name.get_ref()),
                        self.file.path.display()
                    ),
                    Some(format!("the roles are: {}", roles_hint(&self.roles))),
                ));
            };
            let mut parsed = Vec::new();
            for h in hosts.get_ref() {
                parsed.push(parse_host(&src, h)?);
            }
            self.roles[i].hosts = parsed;
            self.roles[i].from_inventory = true;
        }
        self.inventory = Some(FileInfo {
            path: path.to_path_buf(),
            sha256,
        });
        Ok(())
    }

    /// Checks that every role a rule uses has hosts (an audit cannot judge against an empty
    /// role): the error points at the role's definition.
    pub fn check_complete(&self) -> Result<(), RulesError> {
        let src = Source {
            name: self.file.path.display().to_string(),
            text: &self.text,
        };
        for (i, role) in self.roles.iter().enumerate() {
            let used = self.rules.iter().any(|r| r.from == i || r.to == i);
            if used && role.hosts.is_empty() {
                return Err(src.error(
                    Some(role.span.clone()),
                    format!("role '{}' has no hosts", escape(&role.name)),
                    Some(format!(
                        "list its hosts in the rules file, or give an --inventory file with {} = [\"10.0.0.5\", ...] under [roles]",
                        role.name
                    )),
                ));
            }
        }
        Ok(())
    }

    /// Index of the first rule matching a flow from `client` to `server`:`port`.
    pub fn first_match(
        &self,
        proto: Proto,
        client: IpAddr,
        server: IpAddr,
        port: u16,
    ) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| self.matches(r, proto, client, server, port))
    }

    /// Whether `rule` covers a flow from `client` to `server`:`port`.
    pub fn matches(
        &self,
        r: &Rule,
        proto: Proto,
        client: IpAddr,
        server: IpAddr,
        port: u16,
    ) -> bool {
        if r.proto != proto || !r.has_port(port) {
            return false;
        }
        match r.between {
            // Loopback traffic never leaves its host: it is same-host whatever the roles say.
            Between::SameHost if client.is_loopback() && server.is_loopback() => true,
            Between::SameHost if client != server => false,
            Between::Peers if client == server => false,
            _ => self.roles[r.from].contains(client) && self.roles[r.to].contains(server),
        }
    }

    /// The role to show beside an address: the first role naming it explicitly, else the first
    /// "any" role, else none.
    pub fn role_of(&self, ip: IpAddr) -> Option<&str> {
        self.roles
            .iter()
            .find(|r| r.names(ip))
            .map(|r| r.name.as_str())
    }

    /// Severity of a finding of `kind` on `rule`.
    pub fn severity(&self, rule: Option<usize>, default: Severity) -> Severity {
        rule.and_then(|i| self.rules[i].severity).unwrap_or(default)
    }
}

fn roles_hint(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ServerPorts for Rules {
    /// A port is a server port when a rule of that protocol names it; the smaller the range
    /// naming it, the stronger (443 beats 49152-65535).
    fn server_port_rank(&self, proto: Proto, port: u16) -> Option<u32> {
        self.rules
            .iter()
            .filter(|r| r.proto == proto)
            .flat_map(|r| r.ports.iter())
            .filter(|&&(a, b)| a <= port && port <= b)
            .map(|&(a, b)| (b - a) as u32 + 1)
            .min()
    }
}

/// Rules from TOML text, for tests: written to a file of their own (tests run in parallel)
/// and loaded as `--rules` loads a file.
#[cfg(test)]
pub(crate) fn from_text(text: &str) -> Rules {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("flowaudit-rules-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("r{n}.toml"));
    std::fs::write(&p, text).unwrap();
    Rules::load(&p, None).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("flowaudit-rules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const GOOD: &str = r#"name = "t"
[roles]
web = { hosts = ["any"] }
srv = { hosts = ["10.0.0.5", "10.0.1.0/24"] }
[[flows]]
name = "https"
from = "web"
to = "srv"
proto = "tcp"
ports = [443, "8000-8080"]
"#;

    #[test]
    fn parses_and_matches() {
        let r = Rules::load(&write("good.toml", GOOD), None).unwrap();
        assert_eq!(r.rules.len(), 1);
        assert_eq!(r.rules[0].ports, vec![(443, 443), (8000, 8080)]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            r.first_match(Proto::Tcp, ip("1.2.3.4"), ip("10.0.1.9"), 8080),
            Some(0)
        );
        assert_eq!(
            r.first_match(Proto::Tcp, ip("1.2.3.4"), ip("10.0.2.9"), 443),
            None
        );
        assert_eq!(
            r.first_match(Proto::Udp, ip("1.2.3.4"), ip("10.0.0.5"), 443),
            None
        );
        assert_eq!(r.server_port_rank(Proto::Tcp, 443), Some(1));
        assert_eq!(r.server_port_rank(Proto::Tcp, 8001), Some(81));
        assert_eq!(r.server_port_rank(Proto::Tcp, 22), None);
    }

    fn err(text: &str) -> RulesError {
        // A file of its own: tests run in parallel.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Rules::load(&write(&format!("bad{n}.toml"), text), None).unwrap_err()
    }

    #[test]
    fn located_errors() {
        let e = err(&GOOD.replace("to = \"srv\"", "to = \"svr\""));
        assert_eq!((e.line, e.column), (8, 6));
        assert_eq!(e.message, "unknown role 'svr'");
        let e = err(&GOOD.replace("\"8000-8080\"", "\"8080-8000\""));
        assert_eq!((e.line, e.column), (10, 15));
        assert_eq!(
            e.hint.as_deref(),
            Some("write the lower port first: \"8000-8080\"")
        );
        let e = err(&GOOD.replace("443,", "70000,"));
        assert_eq!(e.message, "port 70000 is out of range");
        let e = err(&GOOD.replace("[443, \"8000-8080\"]", "[]"));
        assert_eq!((e.line, e.message.as_str()), (10, "ports is empty"));
        let e = err(&GOOD.replace("10.0.1.0/24", "10.0.1.0/33"));
        assert_eq!((e.line, e.column), (4, 30));
        let e = err(&GOOD.replace("proto = \"tcp\"", "proto = \"tcp\"\nprot = 1"));
        assert_eq!(e.line, 10);
        assert!(e.message.contains("unknown field"), "{}", e.message);
        let e = err(&format!(
            "{GOOD}{}",
            &GOOD[GOOD.find("[[flows]]").unwrap()..]
        ));
        assert_eq!(e.message, "duplicate rule name 'https'");
        assert_eq!(e.line, 12);
        let e = err("name = \"x\"\n[roles\n");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn service_tls_min_and_sni() {
        let text = GOOD.replace(
            "ports = [443, \"8000-8080\"]",
            "ports = [443, \"8000-8080\"]\nservice = [\"SSL\", \"http2\", \"ssl\"]\ntls_min = 1.2\nsni = [\"Store.Example.com.\", \"*.example.org\"]",
        );
        let r = Rules::load(&write("content.toml", &text), None).unwrap();
        let rule = &r.rules[0];
        assert_eq!(rule.service, ["ssl", "http2"]);
        assert_eq!(rule.tls_min, Some(0x0303));
        assert_eq!(rule.tls_min_text().as_deref(), Some("TLSv12"));
        assert_eq!(rule.sni_text(), "store.example.com, *.example.org");
        assert!(rule.checks_content());
        assert!(rule.allows_service("ssl") && !rule.allows_service("http"));
        for (name, ok) in [
            ("store.example.com", true),
            ("STORE.example.COM.", true),
            ("a.store.example.com", false),
            ("x.example.org", true),
            ("x.y.example.org", true),
            ("example.org", false),
            ("xexample.org", false),
            (".example.org", false),
            ("é.example.org", true),
        ] {
            assert_eq!(rule.allows_sni(name), ok, "{name}");
        }
        for spelling in ["\"TLS 1.3\"", "\"TLSv13\"", "\"1.3\""] {
            let t = GOOD.replace(
                "proto = \"tcp\"",
                &format!("proto = \"tcp\"\ntls_min = {spelling}"),
            );
            let r = Rules::load(&write("tls13.toml", &t), None).unwrap();
            assert_eq!(r.rules[0].tls_min, Some(0x0304), "{spelling}");
            // tls_min without service: any flow without TLS is a finding.
            assert!(r.rules[0].service.is_empty() && r.rules[0].checks_content());
        }
        let plain = Rules::load(&write("plain.toml", GOOD), None).unwrap();
        assert!(!plain.rules[0].checks_content());
        assert!(plain.rules[0].allows_sni("anything"));
    }

    #[test]
    fn service_tls_min_and_sni_errors() {
        let with =
            |extra: &str| GOOD.replace("proto = \"tcp\"", &format!("proto = \"tcp\"\n{extra}"));
        let e = err(&with("service = [\"ssl\", \"htp\"]"));
        assert_eq!((e.line, e.column), (10, 19));
        assert_eq!(e.message, "unknown service 'htp'");
        let hint = e.hint.unwrap();
        assert!(
            hint.starts_with("use Zeek's service names: ssl, http, http2, ssh, smb, smtp, tds,"),
            "{hint}"
        );
        assert!(hint.ends_with("postgresql, redis, websocket"), "{hint}");
        // A tunnel is no service a rule names.
        assert_eq!(
            err(&with("service = [\"vxlan\"]")).message,
            "unknown service 'vxlan'"
        );
        let e = err(&with("service = []"));
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (10, 11, "service is empty")
        );
        let e = err(&with("tls_min = \"1.4\""));
        assert_eq!((e.line, e.column), (10, 11));
        assert_eq!(e.message, "'1.4' is not a TLS version");
        assert!(e.hint.unwrap().contains("\"1.2\""));
        let e = err(&with("tls_min = [\"1.2\"]"));
        assert_eq!(e.message, "tls_min must be a TLS version");
        let e = err(&with("sni = []"));
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (10, 7, "sni is empty")
        );
        assert!(e.hint.unwrap().contains("*.example.com"));
        for bad in [
            "*",
            "*.",
            "a.*.example.com",
            "ex ample.com",
            "*example.com",
            "",
        ] {
            let e = err(&with(&format!("sni = [\"ok.example.com\", \"{bad}\"]")));
            assert_eq!(
                e.message,
                format!("'{bad}' is not a server name or a *.domain pattern"),
                "{bad}"
            );
            assert_eq!((e.line, e.column), (10, 26));
        }
        let e = err(&with("service = [\"http\"]\ntls_min = \"1.2\""));
        assert_eq!(
            (e.line, e.message.as_str()),
            (11, "tls_min on a rule whose service allows no TLS")
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("add \"ssl\" to service = [\"http\"], or remove tls_min")
        );
        let e = err(&with("service = [\"smb\"]\nsni = [\"a.example.com\"]"));
        assert_eq!(e.message, "sni on a rule whose service allows no TLS");
        let e = err(&with("verdict = \"denied\"\nsni = [\"a.example.com\"]"));
        assert_eq!(
            (e.line, e.message.as_str()),
            (11, "a denied rule's flows are denied whatever they carry")
        );
        // Unknown keys name the new ones among the expected.
        let e = err(&with("services = [\"ssl\"]"));
        assert!(
            e.message.contains("`service`, `tls_min`, `sni`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn inventory_fills_roles() {
        let rules = write(
            "inv-rules.toml",
            &GOOD.replace("[\"10.0.0.5\", \"10.0.1.0/24\"]", "[]"),
        );
        let r = Rules::load(&rules, None).unwrap();
        let e = r.check_complete().unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (4, "role 'srv' has no hosts"));
        let inv = write("inv.toml", "[roles]\nsrv = [\"192.168.1.1\"]\n");
        let r = Rules::load(&rules, Some(&inv)).unwrap();
        r.check_complete().unwrap();
        assert!(r.roles[1].from_inventory);
        let bad = write("inv-bad.toml", "[roles]\nsrvv = [\"192.168.1.1\"]\n");
        let e = Rules::load(&rules, Some(&bad)).unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
    }

    #[test]
    fn between_peers_and_same_host() {
        let text = r#"name = "t"
[roles]
has = { hosts = ["10.0.0.1", "10.0.0.2"] }
[[flows]]
name = "local"
from = "has"
to = "has"
proto = "tcp"
ports = ["49152-65535"]
between = "same-host"
[[flows]]
name = "cross"
from = "has"
to = "has"
proto = "tcp"
ports = ["49152-65535"]
between = "peers"
verdict = "denied"
"#;
        let r = Rules::load(&write("between.toml", text), None).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            r.first_match(Proto::Tcp, ip("10.0.0.1"), ip("10.0.0.1"), 50000),
            Some(0)
        );
        assert_eq!(
            r.first_match(Proto::Tcp, ip("127.0.0.1"), ip("127.0.0.1"), 50000),
            Some(0)
        );
        assert_eq!(
            r.first_match(Proto::Tcp, ip("10.0.0.1"), ip("10.0.0.2"), 50000),
            Some(1)
        );
        assert_eq!(r.rules[1].verdict, Verdict::Denied);
    }
}
