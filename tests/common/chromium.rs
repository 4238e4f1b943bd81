//! Headless Chromium for the tests of the HTML report: the DOM of a page after its scripts ran
//! (`--dump-dom`) and screenshots, with the network off (every host name resolves to nothing and
//! every request goes to a proxy on the discard port, so a page that fetches anything fails),
//! a profile of its own per call (parallel tests share nothing) and a timeout that kills the
//! browser and its children.
//!
//! The browser is `$FLOWAUDIT_CHROMIUM`, else `chromium`, else `chromium-browser` on the PATH.
//! Without one the test fails and says to run `bash .ci/deps` (which installs Debian's
//! `chromium` when run as root).
//!
//! Also a reader of the DOM Chromium prints: its serializer always writes attributes in double
//! quotes with `&`, `"` and U+00A0 escaped, and text with `&`, `<`, `>` and U+00A0 escaped, so
//! start tags, attributes and text can be read back without an HTML parser.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long one browser run may take before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The browser to run, or a panic that says how to install one.
pub fn browser() -> String {
    if let Ok(b) = std::env::var("FLOWAUDIT_CHROMIUM")
        && !b.is_empty()
    {
        assert!(
            Path::new(&b).is_file() || on_path(&b).is_some(),
            "FLOWAUDIT_CHROMIUM={b}: no such browser"
        );
        return b;
    }
    for name in ["chromium", "chromium-browser"] {
        if on_path(name).is_some() {
            return name.to_string();
        }
    }
    panic!(
        "no Chromium found (tried $FLOWAUDIT_CHROMIUM, chromium, chromium-browser): \
         run `bash .ci/deps` as root to install Debian's chromium, or set FLOWAUDIT_CHROMIUM \
         to the browser's path"
    );
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A folder of its own under the system's temporary folder, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = std::env::temp_dir().join(format!(
            "flowaudit-{what}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `file://` URL of a file (made absolute; characters that mean something in a URL are
/// percent-encoded).
pub fn file_url(p: &Path) -> String {
    let abs = std::fs::canonicalize(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut url = String::from("file://");
    for b in abs.to_str().expect("UTF-8 path").bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// What a browser run printed.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
}

/// Runs the browser headless on `page` with `extra` flags, network off, in a profile of its
/// own; kills it (and its children: it runs in a process group of its own) after [`TIMEOUT`].
/// Panics, with the browser's standard error, unless it exits 0 in time.
pub fn run(page: &Path, extra: &[String]) -> Run {
    use std::os::unix::process::CommandExt;
    let browser = browser();
    let dir = TempDir::new("chromium");
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut cmd = Command::new(&browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--allow-file-access-from-files",
        "--virtual-time-budget=5000",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
    ])
    .arg(format!("--user-data-dir={}", dir.join("profile").display()))
    .args(extra)
    .arg(file_url(page))
    .stdin(Stdio::null())
    .stdout(std::fs::File::create(&out_path).expect("browser stdout file"))
    .stderr(std::fs::File::create(&err_path).expect("browser stderr file"))
    .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {browser}: {e}; run `bash .ci/deps` as root"));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for the browser") {
            break Some(s);
        }
        if start.elapsed() > TIMEOUT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The browser's helpers (zygote, renderer, GPU, network service) are in its process group:
    // end them all, whether it exited or not.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    match status {
        None => panic!(
            "{browser} on {} did not finish in {} s (killed); stderr:\n{}",
            page.display(),
            TIMEOUT.as_secs(),
            tail(&stderr)
        ),
        Some(s) if !s.success() => panic!(
            "{browser} on {} failed ({s}); stderr:\n{}",
            page.display(),
            tail(&stderr)
        ),
        Some(_) => Run { stdout, stderr },
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The page's DOM after its scripts ran (up to 5 s of virtual time), serialized by Chromium.
pub fn dump_dom(html: &Path) -> String {
    let r = run(html, &["--dump-dom".to_string()]);
    assert!(
        r.stdout.contains("<html"),
        "--dump-dom of {} printed no document; stderr:\n{}",
        html.display(),
        tail(&r.stderr)
    );
    r.stdout
}

/// A `width` x `height` screenshot of the page to `png`; checks that it was written and is a
/// PNG.
pub fn screenshot(html: &Path, png: &Path, width: u32, height: u32) {
    let _ = std::fs::remove_file(png);
    let abs = if png.is_absolute() {
        png.to_path_buf()
    } else {
        std::env::current_dir().unwrap().join(png)
    };
    let r = run(
        html,
        &[
            format!("--screenshot={}", abs.display()),
            format!("--window-size={width},{height}"),
            "--hide-scrollbars".to_string(),
        ],
    );
    let bytes = std::fs::read(&abs).unwrap_or_else(|e| {
        panic!(
            "no screenshot at {}: {e}; stderr:\n{}",
            abs.display(),
            tail(&r.stderr)
        )
    });
    assert!(!bytes.is_empty(), "{}: empty screenshot", abs.display());
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{}: not a PNG",
        abs.display()
    );
}

/// One start tag of a serialized DOM: its name (lower case) and attributes (unescaped), and
/// where it starts in the text.
#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub at: usize,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_ascii_whitespace().any(|x| x == class))
    }
}

/// Text as the serializer escapes it, unescaped.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Elements whose content the serializer writes raw (no tags inside).
const RAW: [&str; 7] = [
    "script",
    "style",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
];

/// What a serialized DOM holds, in document order: start tags, and text nodes (outside the
/// raw-text elements, unescaped).
#[derive(Debug, Default)]
pub struct Dom {
    pub tags: Vec<Tag>,
    /// Text nodes, unescaped, with the offset where each starts.
    pub texts: Vec<(usize, String)>,
    /// The raw content of each `<script>` and `<style>`, with its start tag's index in `tags`.
    pub raw: Vec<(usize, String)>,
}

/// Reads the DOM Chromium printed (see the module's comment for why this suffices).
pub fn parse(dom: &str) -> Dom {
    let b = dom.as_bytes();
    let mut out = Dom::default();
    let mut i = 0;
    let mut text_start = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        if i > text_start {
            out.texts.push((text_start, unescape(&dom[text_start..i])));
        }
        if dom[i..].starts_with("<!--") {
            i = dom[i..].find("-->").map_or(b.len(), |e| i + e + 3);
            text_start = i;
            continue;
        }
        if dom[i..].starts_with("<!") || dom[i..].starts_with("</") {
            i = dom[i..].find('>').map_or(b.len(), |e| i + e + 1);
            text_start = i;
            continue;
        }
        // A start tag: name, then name="value" pairs (values never hold a raw `"`).
        let at = i;
        i += 1;
        let name_end = dom[i..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .map_or(b.len(), |e| i + e);
        let name = dom[i..name_end].to_ascii_lowercase();
        i = name_end;
        let mut attrs = Vec::new();
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                i += 1;
                break;
            }
            let k_end = dom[i..]
                .find(|c: char| c == '=' || c == '>' || c.is_ascii_whitespace())
                .map_or(b.len(), |e| i + e);
            let key = dom[i..k_end].to_string();
            i = k_end;
            let mut value = String::new();
            if i < b.len() && b[i] == b'=' {
                i += 1;
                if i < b.len() && b[i] == b'"' {
                    let v_end = dom[i + 1..].find('"').map_or(b.len(), |e| i + 1 + e);
                    value = unescape(&dom[i + 1..v_end]);
                    i = v_end + 1;
                }
            }
            attrs.push((key, value));
        }
        let raw = RAW.contains(&name.as_str());
        out.tags.push(Tag {
            name: name.clone(),
            attrs,
            at,
        });
        if raw {
            let close = format!("</{name}");
            let end = dom[i.min(b.len())..]
                .find(&close)
                .map_or(b.len(), |e| i + e);
            out.raw
                .push((out.tags.len() - 1, dom[i.min(end)..end].to_string()));
            i = end;
        }
        text_start = i;
    }
    if text_start < b.len() {
        out.texts.push((text_start, unescape(&dom[text_start..])));
    }
    out
}

impl Dom {
    /// Start tags named `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Tag> + 'a {
        self.tags.iter().filter(move |t| t.name == name)
    }
    /// The first start tag with this id.
    pub fn by_id(&self, id: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.attr("id") == Some(id))
    }
    /// The text of every text node between offsets `from` and `to` of the serialized DOM,
    /// joined (as `textContent` would be, without script and style content).
    pub fn text_between(&self, from: usize, to: usize) -> String {
        self.texts
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .map(|(_, t)| t.as_str())
            .collect()
    }
    /// All the text of the document (as [`Dom::text_between`]).
    pub fn text(&self) -> String {
        self.text_between(0, usize::MAX)
    }
    /// The `<title>`'s text.
    pub fn title(&self) -> Option<String> {
        let t = self.named("title").next()?;
        self.texts
            .iter()
            .find(|(at, _)| *at > t.at)
            .map(|(_, s)| s.clone())
    }
}

/// The span of an element in the serialized DOM: from its start tag to the end of its matching
/// end tag (same-name elements nested inside it are counted).
pub fn element_span(dom: &str, start: usize) -> (usize, usize) {
    let name_end = dom[start + 1..]
        .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
        .map_or(dom.len(), |e| start + 1 + e);
    let name = &dom[start + 1..name_end];
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    let mut depth = 0usize;
    let mut i = start;
    while i < dom.len() {
        let next_open = dom[i..].find(&open).map(|e| i + e);
        let next_close = dom[i..].find(&close).map(|e| i + e);
        match (next_open, next_close) {
            (Some(o), Some(c)) if o < c => {
                // `<tr` also starts `<track`: only a whole name counts.
                let after = dom.as_bytes().get(o + open.len()).copied();
                if matches!(after, Some(b' ' | b'>' | b'/' | b'\t' | b'\n')) {
                    depth += 1;
                }
                i = o + open.len();
            }
            (_, Some(c)) => {
                depth = depth.saturating_sub(1);
                i = c + close.len();
                if depth == 0 {
                    return (start, i);
                }
            }
            _ => break,
        }
    }
    (start, dom.len())
}
