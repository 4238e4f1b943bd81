//! The HTML and SVG reports (`flowaudit audit --format html|svg`) opened in headless Chromium
//! (tests/common/chromium.rs): the DOM after the page's scripts ran is checked against the
//! page's contract (README, "HTML report"):
//!
//! - `<body data-ready="1">` once the page's script has built its tables;
//! - `<table id="matrix">`: `<th class="role" data-role="NAME">` per role (and `unknown`) as a
//!   row and as a column header; `<td class="edge" data-from data-to data-worst data-flows>` per
//!   pair of roles, `data-required-unseen="1"` on an edge with a required rule and no
//!   established flow, `data-over-budget="latency"`, `"bandwidth"` or `"latency bandwidth"`;
//! - `<table id="findings">`: `<tr class="finding" data-kind data-severity data-rule data-src
//!   data-dst>` per finding; filters `select#filter-kind`, `select#filter-severity`,
//!   `select#filter-rule`, `input#filter-host`; `<th data-sort="COLUMN">` headers;
//! - `<section id="evidence">`: each input's SHA-256, the rules' and inventory's, the version;
//! - self-contained: inline `<svg>` charts, no `<script src>`, `<link href>` or remote `<img>`.
//!
//! Inputs: the HAS sample (rules/hopex.toml, fixtures/has/), whose findings are those of
//! fixtures/has/expected-report.txt; the hostile fixtures (fixtures/hostile/, README there),
//! whose payloads must reach the page as text only; a flood of 3 million Zeek rows written by
//! examples/gen_flood.rs (included here as a module), whose page must stay under 2 MB.
//!
//! The HAS page and its screenshot are kept in `$CARGO_TARGET_DIR/test-artifacts/` (`target/`
//! when CARGO_TARGET_DIR is not set): has-report.html, has-report.png, has-report.svg.

mod common;

#[path = "../examples/gen_flood.rs"]
#[allow(dead_code)]
mod gen_flood;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use common::chromium::{self, Dom, Tag, TempDir, dump_dom, element_span, parse, screenshot};
use common::{flowaudit, read, root, stderr};
use sha2::{Digest, Sha256};

const HAS_RULES: &str = "rules/hopex.toml";
const HAS_INVENTORY: &str = "fixtures/has/inventory.toml";
const HAS_CAPTURE: &str = "fixtures/has/has.pcap";
const HOSTILE_RULES: &str = "fixtures/hostile/rules.toml";
const HOSTILE_INVENTORY: &str = "fixtures/hostile/inventory.toml";
const HOSTILE_LOG: &str = "fixtures/hostile/conn.log";

/// The kinds of finding of the hostile fixtures (one each): every kind but the content checks,
/// which their rules do not ask for.
const HOSTILE_KINDS: [&str; 8] = [
    "unexpected",
    "denied",
    "reversed",
    "missing",
    "failed",
    "discouraged",
    "over_latency",
    "over_bandwidth",
];

/// The kinds of finding, as the reports name them.
const KINDS: [&str; 11] = [
    "unexpected",
    "denied",
    "reversed",
    "missing",
    "failed",
    "wrong_service",
    "weak_tls",
    "discouraged",
    "unexpected_sni",
    "over_latency",
    "over_bandwidth",
];

/// The payloads of fixtures/hostile/make.py.
const SCRIPT: &str = "<script>document.title='PWNED'</script>";
const IMG: &str = "\"><img src=x onerror=\"document.title='PWNED'\">";
const STYLE: &str = "</style><script>document.title='PWNED'</script>";
const JS_URL: &str = "javascript:document.title='PWNED'";
const CDATA: &str = "]]><!--";
const CONTROL: &str = "\u{0}nul\u{7}bell\u{1b}[31mred\u{202e}evil";
/// Characters that must never reach a page raw.
const RAW_CONTROLS: [char; 4] = ['\u{0}', '\u{7}', '\u{1b}', '\u{202e}'];

fn sha256_hex(rel: &str) -> String {
    let bytes = std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `$CARGO_TARGET_DIR/test-artifacts` (or target/test-artifacts), made if missing.
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// `flowaudit audit -q --rules R --inventory I --format FORMAT -o OUT INPUTS...`; the reports of
/// these tests all hold errors, so the exit status is 1. Returns the file's text.
fn audit_to(format: &str, out: &Path, rules: &str, inventory: &str, inputs: &[&str]) -> String {
    let mut c = flowaudit();
    c.args(["audit", "-q", "--rules", rules, "--inventory", inventory])
        .args(["--format", format, "-o"])
        .arg(out)
        .args(inputs);
    let o: Output = c.output().expect("run flowaudit");
    assert_eq!(
        o.status.code(),
        Some(1),
        "audit --format {format} of {inputs:?}: stderr:\n{}",
        stderr(&o)
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "",
        "audit -o {} wrote to stdout",
        out.display()
    );
    std::fs::read_to_string(out).unwrap_or_else(|e| panic!("{}: {e}", out.display()))
}

/// The tags inside the element with this id (its own start tag included), and its span.
fn inside<'a>(dom: &str, d: &'a Dom, id: &str) -> (Vec<&'a Tag>, (usize, usize)) {
    let t = d
        .by_id(id)
        .unwrap_or_else(|| panic!("no element with id=\"{id}\""));
    let (from, to) = element_span(dom, t.at);
    (
        d.tags
            .iter()
            .filter(|x| x.at >= from && x.at < to)
            .collect(),
        (from, to),
    )
}

fn body(d: &Dom) -> &Tag {
    d.named("body").next().expect("a <body>")
}

/// One row of a finding table of the text report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    kind: String,
    severity: String,
    rule: String,
    client: String,
    server: String,
}

/// The findings of a text report (`ERROR kind (n)` / `WARNING kind (n)` sections, their rows
/// cut at the header's column starts).
fn text_findings(report: &str) -> Vec<Row> {
    let lines: Vec<&str> = report.lines().collect();
    let mut rows = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let sev = if l.starts_with("ERROR ") {
            "error"
        } else if l.starts_with("WARNING ") {
            "warning"
        } else {
            i += 1;
            continue;
        };
        let mut w = l.split_whitespace();
        w.next();
        let kind = w.next().unwrap().to_string();
        let n: usize = w
            .next()
            .unwrap()
            .trim_matches(|c| c == '(' || c == ')')
            .parse()
            .unwrap();
        let header = lines[i + 1];
        let col = |name: &str| header.find(name).unwrap_or_else(|| panic!("{name}"));
        let (c_rule, c_proto, c_client, c_server, c_port) = (
            col("RULE"),
            col("PROTO"),
            col("CLIENT"),
            col("SERVER"),
            col("PORT"),
        );
        for r in &lines[i + 2..i + 2 + n] {
            rows.push(Row {
                kind: kind.clone(),
                severity: sev.to_string(),
                rule: r[c_rule..c_proto].trim().to_string(),
                client: r[c_client..c_server].trim().to_string(),
                server: r[c_server..c_port].trim().to_string(),
            });
        }
        i += 2 + n;
    }
    rows
}

/// The address in a text report's CLIENT or SERVER cell (`role 10.0.0.5`, `10.0.0.5`), or its
/// role when it has none (`iis (all)`).
fn host_of(cell: &str) -> String {
    let last = cell.rsplit(' ').next().unwrap();
    if last.parse::<std::net::IpAddr>().is_ok() || last.parse::<ipnet::IpNet>().is_ok() {
        last.to_string()
    } else {
        cell.split(' ').next().unwrap().to_string()
    }
}

/// Checks that hold on every page: scripts ran, nothing loaded from elsewhere, charts inline.
fn check_self_contained(d: &Dom, what: &str) {
    assert_eq!(body(d).attr("data-ready"), Some("1"), "{what}: data-ready");
    for t in &d.tags {
        let remote = |v: &str| {
            let v = v.trim().to_ascii_lowercase();
            v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//")
        };
        match t.name.as_str() {
            "script" => assert_eq!(t.attr("src"), None, "{what}: <script src>"),
            "link" => assert_eq!(t.attr("href"), None, "{what}: <link href>"),
            "iframe" | "object" | "embed" | "base" => panic!("{what}: a <{}> element", t.name),
            _ => {}
        }
        for k in ["src", "href", "xlink:href", "data", "action", "poster"] {
            if let Some(v) = t.attr(k) {
                assert!(!remote(v), "{what}: <{} {k}=\"{v}\">", t.name);
            }
        }
    }
    for (_, css) in &d.raw {
        assert!(
            !css.contains("@import") && !css.contains("url(http") && !css.contains("url(//"),
            "{what}: a style or script fetches from elsewhere"
        );
    }
    assert!(d.named("svg").count() > 0, "{what}: no inline <svg>");
}

/// The HAS sample's page (made once per test run) in the artifacts folder: (html, DOM).
fn has_page() -> &'static (String, String) {
    static PAGE: OnceLock<(String, String)> = OnceLock::new();
    PAGE.get_or_init(|| {
        let html = artifacts().join("has-report.html");
        let text = audit_to("html", &html, HAS_RULES, HAS_INVENTORY, &[HAS_CAPTURE]);
        (text, dump_dom(&html))
    })
}

// ---- The harness itself, on small pages written here ----

/// A page whose script changes the DOM: the dump shows the change, so scripts ran.
#[test]
fn harness_dump_dom_shows_what_the_script_did() {
    let dir = TempDir::new("harness");
    let page = dir.join("page & one.html");
    std::fs::write(
        &page,
        "<!doctype html><html><head><title>before</title></head><body>\
         <p id=\"p\">static</p>\
         <script>document.getElementById('p').textContent = 'changed <by> script';\
         document.title = 'after'; document.body.setAttribute('data-ready', '1');\
         const q = document.createElement('span'); q.className = 'made a';\
         q.setAttribute('data-x', 'say \"hi\" & <bye>'); document.body.appendChild(q);\
         </script></body></html>",
    )
    .unwrap();
    let dom = dump_dom(&page);
    assert!(!dom.contains(">static<"), "{dom}");
    let d = parse(&dom);
    assert_eq!(d.title().as_deref(), Some("after"));
    assert_eq!(body(&d).attr("data-ready"), Some("1"), "{dom}");
    let p = d.by_id("p").expect("p");
    let (from, to) = element_span(&dom, p.at);
    assert_eq!(d.text_between(from, to), "changed <by> script");
    let span = d.named("span").next().expect("span made by the script");
    assert!(span.has_class("made") && span.has_class("a"));
    assert_eq!(span.attr("data-x"), Some("say \"hi\" & <bye>"));
    // The script's own text is raw content, not text.
    assert_eq!(d.named("script").count(), 1);
    assert!(d.raw[0].1.contains("getElementById"));
    assert!(!d.text().contains("getElementById"));
}

/// A page that fetches from the network gets nothing: names do not resolve, the proxy is the
/// discard port.
#[test]
fn harness_the_network_is_off() {
    let dir = TempDir::new("harness");
    let page = dir.join("fetch.html");
    std::fs::write(
        &page,
        "<!doctype html><html><body><script>\
         fetch('http://example.com/').then(() => document.body.setAttribute('data-net', 'reached'),\
         () => document.body.setAttribute('data-net', 'failed'));\
         </script><img id=\"i\" src=\"http://93.184.215.14/x.png\" \
         onload=\"this.setAttribute('data-img', 'loaded')\" \
         onerror=\"this.setAttribute('data-img', 'failed')\"></body></html>",
    )
    .unwrap();
    let d = parse(&dump_dom(&page));
    assert_eq!(body(&d).attr("data-net"), Some("failed"));
    assert_eq!(d.by_id("i").unwrap().attr("data-img"), Some("failed"));
}

#[test]
fn harness_screenshot_writes_a_png_of_the_size_asked() {
    let dir = TempDir::new("harness");
    let page = dir.join("shot.html");
    std::fs::write(
        &page,
        "<!doctype html><html><body style=\"background:#c00\"><h1>shot</h1></body></html>",
    )
    .unwrap();
    let png = dir.join("shot.png");
    screenshot(&page, &png, 320, 200);
    let bytes = std::fs::read(&png).unwrap();
    // Width and height are the IHDR chunk's first two big-endian words.
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (320, 200));
}

#[test]
fn harness_reads_serialized_markup() {
    let dom = "<html><head><style>p > a { x: \"<b>\" }</style></head><body a=\"1\" b=\"x&amp;y&quot;z\">\
               t1 &lt;i&gt;<!-- c<d> --><table id=\"t\"><tr class=\"r\"><td>1</td></tr>\
               <tr><td><table><tr><td>in</td></tr></table></td></tr></table>after</body></html>";
    let d = parse(dom);
    assert_eq!(body(&d).attr("b"), Some("x&y\"z"));
    assert_eq!(d.named("b").count(), 0, "style content is not markup");
    assert_eq!(d.text(), "t1 <i>1inafter");
    let t = d.by_id("t").unwrap();
    let (s, e) = element_span(dom, t.at);
    assert!(dom[s..e].ends_with("</table></td></tr></table>"));
    assert_eq!(d.text_between(s, e), "1in");
    assert!(d.by_id("t").unwrap().attr("id").is_some());
    assert!(d.named("tr").next().unwrap().has_class("r"));
}

#[test]
fn harness_without_a_browser_says_how_to_get_one() {
    // A child process of this test binary runs only the browser lookup with a PATH and
    // FLOWAUDIT_CHROMIUM that find nothing.
    if std::env::var_os("FLOWAUDIT_HTML_LOOKUP_CHILD").is_some() {
        chromium::browser();
        return;
    }
    let o = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "harness_without_a_browser_says_how_to_get_one",
            "--nocapture",
        ])
        .env("FLOWAUDIT_HTML_LOOKUP_CHILD", "1")
        .env("PATH", "/nonexistent")
        .env_remove("FLOWAUDIT_CHROMIUM")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("run `bash .ci/deps`"), "{err}");
}

// ---- The HAS sample ----

#[test]
fn has_report_matrix_findings_and_evidence() {
    let (html, dom) = has_page();
    let d = parse(dom);
    check_self_contained(&d, "HAS page");
    // The page as written is self-contained too (not only after the scripts ran).
    let raw = parse(html);
    assert_eq!(
        raw.named("script")
            .filter(|t| t.attr("src").is_some())
            .count(),
        0
    );
    assert_eq!(raw.named("link").count(), 0, "a <link> in the page");

    // Matrix: every role of the rules, and `unknown`, as a row and as a column header.
    let rules =
        flowaudit::rules::Rules::load(&root().join(HAS_RULES), Some(&root().join(HAS_INVENTORY)))
            .unwrap();
    let mut roles: Vec<String> = rules.roles.iter().map(|r| r.name.clone()).collect();
    roles.push("unknown".into());
    let (m, _) = inside(dom, &d, "matrix");
    assert_eq!(m[0].name, "table", "#matrix is a <table>");
    let mut headers: BTreeMap<&str, usize> = BTreeMap::new();
    for t in m.iter().filter(|t| t.name == "th" && t.has_class("role")) {
        *headers
            .entry(t.attr("data-role").expect("th.role data-role"))
            .or_default() += 1;
    }
    let want: BTreeMap<&str, usize> = roles.iter().map(|r| (r.as_str(), 2)).collect();
    assert_eq!(headers, want, "th.role per role: row and column header");

    // One cell per pair of roles.
    let edges: Vec<&&Tag> = m
        .iter()
        .filter(|t| t.name == "td" && t.has_class("edge"))
        .collect();
    let mut pairs = BTreeSet::new();
    let mut flows = 0u64;
    let (mut unseen, mut over) = (Vec::new(), Vec::new());
    for e in &edges {
        let from = e.attr("data-from").expect("data-from");
        let to = e.attr("data-to").expect("data-to");
        assert!(pairs.insert((from, to)), "two cells for {from} -> {to}");
        let worst = e.attr("data-worst").expect("data-worst");
        assert!(
            worst == "none" || KINDS.contains(&worst),
            "{from} -> {to}: data-worst=\"{worst}\""
        );
        flows += e
            .attr("data-flows")
            .expect("data-flows")
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("{from} -> {to}: data-flows is not a count"));
        if let Some(v) = e.attr("data-required-unseen") {
            assert_eq!(v, "1");
            unseen.push((from, to));
        }
        if let Some(v) = e.attr("data-over-budget") {
            over.push((from, to, v));
        }
    }
    let all: BTreeSet<(&str, &str)> = roles
        .iter()
        .flat_map(|a| roles.iter().map(move |b| (a.as_str(), b.as_str())))
        .collect();
    assert_eq!(pairs, all, "one td.edge per pair of roles");
    // expected-report.txt: "flows      38: ..."; every flow is on one edge.
    assert_eq!(flows, 38, "data-flows of all the cells");
    assert_eq!(unseen, vec![("has", "fileserver")], "required-unseen edges");
    assert_eq!(
        over,
        vec![("browser", "iis", "latency bandwidth")],
        "over-budget edges"
    );

    // Findings: one row per finding of expected-report.txt.
    let want = text_findings(&read("fixtures/has/expected-report.txt"));
    assert_eq!(want.len(), 13);
    let (f, _) = inside(dom, &d, "findings");
    assert_eq!(f[0].name, "table", "#findings is a <table>");
    let rows: Vec<&&Tag> = f
        .iter()
        .filter(|t| t.name == "tr" && t.has_class("finding"))
        .collect();
    let count = |it: &mut dyn Iterator<Item = String>| {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for k in it {
            *m.entry(k).or_default() += 1;
        }
        m
    };
    assert_eq!(
        count(
            &mut rows
                .iter()
                .map(|r| r.attr("data-kind").unwrap_or("").to_string())
        ),
        count(&mut want.iter().map(|r| r.kind.clone())),
        "finding rows by kind"
    );
    let mut got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.attr("data-kind").unwrap().to_string(),
                r.attr("data-severity").expect("data-severity").to_string(),
                r.attr("data-rule").expect("data-rule").to_string(),
            )
        })
        .collect();
    got.sort();
    let mut exp: Vec<(String, String, String)> = want
        .iter()
        .map(|r| (r.kind.clone(), r.severity.clone(), r.rule.clone()))
        .collect();
    exp.sort();
    assert_eq!(got, exp, "kind, severity and rule of each finding row");
    // Each finding's client and server are in its row's data-src and data-dst.
    for w in &want {
        let (c, s) = (host_of(&w.client), host_of(&w.server));
        assert!(
            rows.iter()
                .any(|r| r.attr("data-kind") == Some(w.kind.as_str())
                    && r.attr("data-rule") == Some(w.rule.as_str())
                    && r.attr("data-src").expect("data-src").contains(&c)
                    && r.attr("data-dst").expect("data-dst").contains(&s)),
            "no finding row for {w:?} (data-src holding {c}, data-dst holding {s})"
        );
    }
    // Filters and sortable headers.
    for (id, tag) in [
        ("filter-kind", "select"),
        ("filter-severity", "select"),
        ("filter-rule", "select"),
        ("filter-host", "input"),
    ] {
        let t = d.by_id(id).unwrap_or_else(|| panic!("no #{id}"));
        assert_eq!(t.name, tag, "#{id}");
    }
    let options = |id: &str| -> BTreeSet<String> {
        let (tags, (from, to)) = inside(dom, &d, id);
        let mut out = BTreeSet::new();
        for o in tags.iter().filter(|t| t.name == "option") {
            out.insert(o.attr("value").map_or_else(
                || {
                    let (a, b) = element_span(dom, o.at);
                    d.text_between(a.max(from), b.min(to)).trim().to_string()
                },
                str::to_string,
            ));
        }
        out
    };
    let kinds = options("filter-kind");
    for w in &want {
        assert!(kinds.contains(&w.kind), "#filter-kind has no {}", w.kind);
    }
    let sev = options("filter-severity");
    assert!(sev.contains("error") && sev.contains("warning"), "{sev:?}");
    let rule_opts = options("filter-rule");
    for w in want.iter().filter(|w| w.rule != "-") {
        assert!(
            rule_opts.contains(&w.rule),
            "#filter-rule has no {}",
            w.rule
        );
    }
    assert!(
        f.iter()
            .any(|t| t.name == "th" && t.attr("data-sort").is_some()),
        "no th[data-sort] in #findings"
    );

    // Evidence: the capture's, rules' and inventory's SHA-256 and the version.
    let (_, (from, to)) = inside(dom, &d, "evidence");
    assert_eq!(d.by_id("evidence").unwrap().name, "section");
    let evidence = d.text_between(from, to);
    for f in [HAS_CAPTURE, HAS_RULES, HAS_INVENTORY] {
        let h = sha256_hex(f);
        assert!(evidence.contains(&h), "evidence lacks {f}'s SHA-256 {h}");
    }
    assert!(
        evidence.contains("has.pcap"),
        "evidence does not name the capture"
    );
    assert!(
        evidence.contains(env!("CARGO_PKG_VERSION")),
        "evidence lacks the version {}",
        env!("CARGO_PKG_VERSION")
    );
}

/// The page's filters hide rows and bring them back, and its headers sort: a probe script,
/// appended to a copy of the page, waits for data-ready, sets each filter, counts the rows
/// that are rendered, clicks each sortable header twice, and writes what it saw to
/// `body[data-probe]`.
#[test]
fn has_report_filters_and_sorting() {
    let (html, _) = has_page();
    let probe = r#"<script>
(function () {
  function shown() {
    return Array.from(document.querySelectorAll('#findings tr.finding'))
      .filter(function (r) { return r.getClientRects().length > 0; }).length;
  }
  function fire(e) {
    e.dispatchEvent(new Event('input', { bubbles: true }));
    e.dispatchEvent(new Event('change', { bubbles: true }));
  }
  function tryFilter(id, value) {
    var e = document.getElementById(id), old = e.value;
    e.value = value; fire(e);
    var r = { value: e.value, shown: shown() };
    e.value = old; fire(e);
    return r;
  }
  function go() {
    if (document.body.getAttribute('data-ready') !== '1') { setTimeout(go, 50); return; }
    var r = { all: shown() };
    r.kind = tryFilter('filter-kind', 'failed');
    r.severity = tryFilter('filter-severity', 'warning');
    r.rule = tryFilter('filter-rule', 'has-fileserver');
    r.host = tryFilter('filter-host', '10.20.0.66');
    r.after = shown();
    // Sorting: each th[data-sort] clicked twice; after each click, the column's keys (a
    // cell's data-value, else its text; numbers compared as numbers) must be in order, one
    // way after the first click and the other way after the second.
    r.sort = {};
    Array.prototype.forEach.call(document.querySelectorAll('#findings th[data-sort]'), function (th) {
      var col = th.cellIndex;
      function keys() {
        return Array.from(document.querySelectorAll('#findings tr.finding')).map(function (row) {
          var c = row.cells[col];
          return c ? (c.dataset.value || c.textContent) : '';
        });
      }
      function cmp(x, y) {
        var nx = Number(x), ny = Number(y);
        return (x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      }
      function order(k) {
        var up = true, down = true;
        for (var i = 1; i < k.length; i++) {
          var c = cmp(k[i - 1], k[i]);
          if (c > 0) { up = false; }
          if (c < 0) { down = false; }
        }
        return up && down ? 'same' : up ? 'up' : down ? 'down' : 'unsorted';
      }
      th.click(); var a = order(keys());
      th.click(); var b = order(keys());
      var ok = a === 'same' ? b === 'same' : (a === 'up' && b === 'down') || (a === 'down' && b === 'up');
      r.sort[th.getAttribute('data-sort')] = ok ? 'ok' : a + ' then ' + b;
    });
    document.body.setAttribute('data-probe', JSON.stringify(r));
  }
  window.addEventListener('load', function () { setTimeout(go, 0); });
})();
</script>"#;
    let at = html.rfind("</body>").expect("</body> in the page");
    let dir = TempDir::new("probe");
    let page = dir.join("probe.html");
    std::fs::write(&page, format!("{}{probe}{}", &html[..at], &html[at..])).unwrap();
    let d = parse(&dump_dom(&page));
    let got = body(&d)
        .attr("data-probe")
        .expect("the probe ran")
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&got).unwrap();
    let sort = v["sort"].as_object().expect("sort results");
    assert!(!sort.is_empty(), "no th[data-sort] in #findings");
    for (column, result) in sort {
        assert_eq!(result, "ok", "clicking th[data-sort={column:?}] twice");
    }
    let mut v = v;
    v.as_object_mut().unwrap().remove("sort");
    let want = serde_json::json!({
        "all": 13,
        "kind": { "value": "failed", "shown": 2 },
        "severity": { "value": "warning", "shown": 3 },
        "rule": { "value": "has-fileserver", "shown": 2 },
        "host": { "value": "10.20.0.66", "shown": 3 },
        "after": 13
    });
    assert_eq!(v, want, "rows shown under each filter");
}

#[test]
fn has_report_screenshot_and_svg() {
    let (_, dom) = has_page();
    assert!(dom.contains("data-ready=\"1\""));
    let dir = artifacts();
    let png = dir.join("has-report.png");
    // Tall enough for the whole page: the matrix, the pictures, the findings and the evidence.
    screenshot(&dir.join("has-report.html"), &png, 1400, 5200);
    eprintln!("screenshot: {}", png.display());

    let svg_path = dir.join("has-report.svg");
    let svg = audit_to("svg", &svg_path, HAS_RULES, HAS_INVENTORY, &[HAS_CAPTURE]);
    let s = check_svg(&svg_path, &svg);
    let rules =
        flowaudit::rules::Rules::load(&root().join(HAS_RULES), Some(&root().join(HAS_INVENTORY)))
            .unwrap();
    let text = s["text"].as_str().unwrap();
    for r in &rules.roles {
        assert!(
            text.contains(&r.name),
            "the SVG does not name role {}",
            r.name
        );
    }
}

/// Parses an SVG with Python's xml.dom.minidom (a well-formedness check) and returns what it
/// holds: root element, counts of script and foreignObject elements, event-handler attributes,
/// javascript: links, and all its text.
fn check_svg(path: &Path, svg: &str) -> serde_json::Value {
    for c in RAW_CONTROLS {
        assert!(
            !svg.contains(c),
            "{}: raw U+{:04X}",
            path.display(),
            c as u32
        );
    }
    let script = r#"
import json, sys
from xml.dom import minidom
doc = minidom.parse(sys.argv[1])
root = doc.documentElement
out = {"root": root.localName or root.tagName, "script": 0, "foreign": 0, "on": [], "js": [], "text": []}
def walk(n):
    if n.nodeType == n.ELEMENT_NODE:
        name = (n.localName or n.tagName).lower()
        if name == "script": out["script"] += 1
        if name == "foreignobject": out["foreign"] += 1
        for i in range(n.attributes.length):
            a = n.attributes.item(i)
            if a.localName.lower().startswith("on"): out["on"].append(a.name)
            if "".join(a.value.split()).lower().startswith("javascript:"): out["js"].append(a.name)
    elif n.nodeType in (n.TEXT_NODE, n.CDATA_SECTION_NODE):
        out["text"].append(n.data)
    for c in n.childNodes: walk(c)
walk(root)
out["text"] = "".join(out["text"])
print(json.dumps(out))
"#;
    let o = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 (bash .ci/deps installs it)");
    assert!(
        o.status.success(),
        "{} is not well-formed XML: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["root"], "svg", "{}: root element", path.display());
    assert_eq!(v["script"], 0, "{}: <script> in the SVG", path.display());
    assert_eq!(
        v["foreign"],
        0,
        "{}: <foreignObject> in the SVG",
        path.display()
    );
    assert_eq!(
        v["on"],
        serde_json::json!([]),
        "{}: event handlers",
        path.display()
    );
    assert_eq!(
        v["js"],
        serde_json::json!([]),
        "{}: javascript: links",
        path.display()
    );
    v
}

// ---- The hostile fixtures ----

/// The audit of the hostile fixtures gives what fixtures/hostile/README.md says: the JSON
/// report exactly as pinned, the text report's summary.
#[test]
fn hostile_fixtures_audit_as_pinned() {
    let args = [
        "--rules",
        HOSTILE_RULES,
        "--inventory",
        HOSTILE_INVENTORY,
        HOSTILE_LOG,
    ];
    let o = flowaudit()
        .args(["audit", "-q", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want: serde_json::Value =
        serde_json::from_str(&read("fixtures/hostile/expected-report.json")).unwrap();
    assert_eq!(got, want);
    let o = flowaudit()
        .args(["audit", "-q"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        text.lines().last(),
        Some(
            "summary: 8 findings (5 errors, 3 warnings): 1 unexpected, 1 denied, 1 reversed, \
             1 missing, 1 failed, 1 discouraged, 1 over_latency, 1 over_bandwidth in 6 flows"
        )
    );
    // The terminal report and check-rules show the payloads' control and reordering
    // characters as escapes too (an example uid, a name: `\u{1b}`, `\u{202e}`).
    let o = flowaudit()
        .args([
            "check-rules",
            HOSTILE_RULES,
            "--inventory",
            HOSTILE_INVENTORY,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let matrix = String::from_utf8(o.stdout).unwrap();
    for out in [&text, &matrix] {
        for c in RAW_CONTROLS {
            assert!(!out.contains(c), "raw U+{:04X} in\n{out}", c as u32);
        }
        assert!(out.contains("\\u{1b}[31mred\\u{202e}evil"), "{out}");
    }
}

#[test]
fn hostile_report_shows_payloads_as_text_only() {
    let dir = TempDir::new("hostile");
    let html_path = dir.join("hostile.html");
    let html = audit_to(
        "html",
        &html_path,
        HOSTILE_RULES,
        HOSTILE_INVENTORY,
        &[HOSTILE_LOG],
    );
    for c in RAW_CONTROLS {
        assert!(!html.contains(c), "the page holds a raw U+{:04X}", c as u32);
    }
    let dom = dump_dom(&html_path);
    for c in RAW_CONTROLS {
        assert!(!dom.contains(c), "the DOM holds a raw U+{:04X}", c as u32);
    }
    let d = parse(&dom);
    assert_ne!(
        d.title().as_deref().map(str::trim),
        Some("PWNED"),
        "a payload ran"
    );
    check_self_contained(&d, "hostile page");

    // No element the payloads would have made: as many of each kind as on the HAS page.
    let h = parse(&has_page().1);
    for name in [
        "script", "img", "style", "iframe", "object", "embed", "link", "base", "form", "meta",
    ] {
        assert_eq!(
            d.named(name).count(),
            h.named(name).count(),
            "<{name}> elements: the hostile page's against the HAS page's"
        );
    }
    for t in &d.tags {
        if t.name == "img" {
            assert_eq!(t.attr("onerror"), None, "an <img onerror>");
            assert_ne!(t.attr("src"), Some("x"), "the payload's <img src=x>");
        }
        for (k, v) in &t.attrs {
            assert!(
                !(k.starts_with("on") && v.contains("PWNED")),
                "<{} {k}=\"{v}\">",
                t.name
            );
            let squeezed: String = v
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            if ["href", "src", "xlink:href", "action", "formaction"].contains(&k.as_str()) {
                assert!(
                    !squeezed.starts_with("javascript:"),
                    "<{} {k}=\"{v}\">",
                    t.name
                );
            }
        }
    }
    for (i, raw) in &d.raw {
        assert!(
            !raw.contains("document.title='PWNED'"),
            "a payload in the content of <{}>",
            d.tags[*i].name
        );
    }

    // Each payload is text.
    let text = d.text();
    for p in [SCRIPT, IMG, STYLE, JS_URL, CDATA] {
        assert!(text.contains(p), "the page does not show {p:?} as text");
    }
    for part in CONTROL.split(RAW_CONTROLS).filter(|p| !p.is_empty()) {
        assert!(text.contains(part), "the page does not show {part:?}");
    }
    // Example flows: the uids of the findings (those without control characters).
    for uid in [
        format!("C0{SCRIPT}"),
        format!("C1{IMG}"),
        format!("C2{STYLE}"),
        format!("C3{JS_URL}"),
        format!("C5{SCRIPT}"),
    ] {
        assert!(text.contains(&uid), "the page does not show uid {uid:?}");
    }

    // The matrix names the roles (control characters shown escaped, not raw).
    let (m, _) = inside(&dom, &d, "matrix");
    let headers: Vec<&str> = m
        .iter()
        .filter(|t| t.name == "th" && t.has_class("role"))
        .map(|t| t.attr("data-role").unwrap())
        .collect();
    assert_eq!(
        headers.len(),
        12,
        "6 roles (with unknown), twice: {headers:?}"
    );
    for r in [SCRIPT, IMG, STYLE, JS_URL, "unknown"] {
        assert_eq!(
            headers.iter().filter(|h| **h == r).count(),
            2,
            "th.role data-role={r:?}"
        );
    }
    assert_eq!(
        headers
            .iter()
            .filter(|h| h.starts_with(CDATA) && h.ends_with("evil"))
            .count(),
        2,
        "th.role of the role named with control characters"
    );
    // The findings of hostile_fixtures_audit_as_pinned.
    let (f, _) = inside(&dom, &d, "findings");
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = BTreeSet::new();
    for r in f
        .iter()
        .filter(|t| t.name == "tr" && t.has_class("finding"))
    {
        *kinds.entry(r.attr("data-kind").unwrap()).or_default() += 1;
        rules.insert(r.attr("data-rule").unwrap().to_string());
    }
    let want: BTreeMap<&str, usize> = HOSTILE_KINDS.iter().map(|k| (*k, 1)).collect();
    assert_eq!(kinds, want, "one finding of each kind");
    for r in [
        "-".to_string(),
        format!("web {SCRIPT}"),
        format!("ssh {IMG}"),
        format!("http {JS_URL}"),
    ] {
        assert!(rules.contains(&r), "no finding row with data-rule={r:?}");
    }
    let (_, (from, to)) = inside(&dom, &d, "evidence");
    let evidence = d.text_between(from, to);
    for f in [HOSTILE_LOG, HOSTILE_RULES, HOSTILE_INVENTORY] {
        assert!(
            evidence.contains(&sha256_hex(f)),
            "evidence lacks {f}'s SHA-256"
        );
    }
}

#[test]
fn hostile_svg_is_well_formed_and_inert() {
    let dir = TempDir::new("hostile");
    let path = dir.join("hostile.svg");
    let svg = audit_to(
        "svg",
        &path,
        HOSTILE_RULES,
        HOSTILE_INVENTORY,
        &[HOSTILE_LOG],
    );
    let v = check_svg(&path, &svg);
    let text = v["text"].as_str().unwrap();
    assert!(
        text.contains(JS_URL),
        "the SVG does not name the role {JS_URL:?}"
    );
}

// ---- Size ----

/// 3 million flows (a scan and a flood of distinct clients, examples/gen_flood.rs) give a page
/// under 2 MB that loads; findings roll up (rules/hopex.toml: 2 unexpected roll-ups, 1 denied
/// roll-up, and the 11 required pairs missing).
#[test]
fn flood_page_stays_small() {
    let dir = TempDir::new("flood");
    let log = dir.join("flood-conn.log");
    let t = std::time::Instant::now();
    let f = gen_flood::write_flood(std::fs::File::create(&log).unwrap(), 3_000_000).unwrap();
    assert_eq!(f.rows, 3_000_000);
    eprintln!(
        "flood: {} rows written in {:.1} s",
        f.rows,
        t.elapsed().as_secs_f64()
    );
    let html = dir.join("flood.html");
    let t = std::time::Instant::now();
    audit_to(
        "html",
        &html,
        HAS_RULES,
        HAS_INVENTORY,
        &[log.to_str().unwrap()],
    );
    let size = std::fs::metadata(&html).unwrap().len();
    eprintln!(
        "flood: audit to HTML in {:.1} s, page {size} bytes",
        t.elapsed().as_secs_f64()
    );
    std::fs::remove_file(&log).unwrap();
    assert!(size < 2_000_000, "flood page: {size} bytes");
    let t = std::time::Instant::now();
    let dom = dump_dom(&html);
    eprintln!("flood: --dump-dom in {:.1} s", t.elapsed().as_secs_f64());
    let d = parse(&dom);
    assert_eq!(body(&d).attr("data-ready"), Some("1"));
    let (rows, _) = inside(&dom, &d, "findings");
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|t| t.name == "tr" && t.has_class("finding"))
    {
        *kinds.entry(r.attr("data-kind").unwrap()).or_default() += 1;
    }
    let want: BTreeMap<&str, usize> = [("unexpected", 2), ("denied", 1), ("missing", 11)]
        .into_iter()
        .collect();
    assert_eq!(kinds, want, "flood findings");
}

/// A capture brings one text of its own into the page: its path. A capture whose file name
/// is markup and control characters shows it as text in the evidence, and nothing runs.
#[test]
fn hostile_capture_name_stays_text() {
    let dir = TempDir::new("hostile-capture");
    // No `/` in a file name: an <svg onload> instead of a </script>.
    const SVG: &str = "<svg onload=\"document.title='PWNED'\">";
    let name = format!("{IMG}{SVG}\u{7}\u{202e}.pcap");
    let capture = dir.join(&name);
    std::fs::copy(root().join(HAS_CAPTURE), &capture).unwrap();
    let html_path = dir.join("capture.html");
    let html = audit_to(
        "html",
        &html_path,
        HAS_RULES,
        HAS_INVENTORY,
        &[capture.to_str().unwrap()],
    );
    for c in ['\u{7}', '\u{202e}'] {
        assert!(!html.contains(c), "the page holds a raw U+{:04X}", c as u32);
    }
    let dom = dump_dom(&html_path);
    let d = parse(&dom);
    assert_ne!(
        d.title().as_deref().map(str::trim),
        Some("PWNED"),
        "a payload ran"
    );
    let h = parse(&has_page().1);
    for tag in ["script", "img", "style", "svg"] {
        assert_eq!(
            d.named(tag).count(),
            h.named(tag).count(),
            "<{tag}> elements"
        );
    }
    // The evidence names the file as text: escaped markup, \u{..} for the rest.
    let shown = format!(
        "{}{}\\u{{7}}\\u{{202e}}.pcap",
        IMG.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
        SVG.replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    );
    assert!(html.contains(&shown), "the capture's name as text: {shown}");
}
