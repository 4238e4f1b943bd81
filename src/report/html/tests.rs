use std::net::IpAddr;

use super::matrix::{Matrix, UNKNOWN};
use super::*;
use crate::audit::{AuditOptions, Auditor, Kind};
use crate::flow::{ConnState, FlowRecord, NS, TableStats};
use crate::report::audit::AuditDoc;
use crate::rules::Rules;

fn rules(text: &str) -> Rules {
    crate::rules::from_text(text)
}

/// web -> app on 8080 (required, 10 ms rtt budget), app -> db on 5432 (required).
const MATRIX: &str = r#"name = "m"
[roles]
web = { hosts = ["10.0.0.1"] }
app = { hosts = ["10.0.0.2"] }
db = { hosts = ["10.0.0.3"] }
[[flows]]
name = "web-app"
from = "web"
to = "app"
proto = "tcp"
ports = [8080]
expect = "required"
latency_ms = 10
[[flows]]
name = "app-db"
from = "app"
to = "db"
proto = "tcp"
ports = [5432]
expect = "required"
"#;

fn flow(
    uid: &str,
    client: &str,
    server: &str,
    port: u16,
    state: ConnState,
    rtt_ms: Option<i64>,
) -> FlowRecord {
    FlowRecord {
        ts_ns: NS,
        uid: uid.into(),
        orig_h: client.parse::<IpAddr>().unwrap(),
        orig_p: 40000,
        resp_h: server.parse::<IpAddr>().unwrap(),
        resp_p: port,
        conn_state: state,
        history: if state == ConnState::SF {
            "ShADadFf".into()
        } else {
            "S".into()
        },
        orig_pkts: 3,
        orig_ip_bytes: 180,
        resp_pkts: u64::from(state == ConnState::SF) * 3,
        rtt_ns: rtt_ms.map(|ms| ms * 1_000_000),
        ..FlowRecord::blank()
    }
}

/// The report of an audit without inputs.
fn doc<'a>(r: &'a Rules, result: &'a crate::audit::AuditResult) -> AuditDoc<'a> {
    AuditDoc {
        rules: r,
        result,
        captures: &[],
        records: &[],
        merge: Default::default(),
        table: TableStats::default(),
        max_flows: 0,
    }
}

fn page(r: &Rules, result: &crate::audit::AuditResult) -> String {
    let mut out = Vec::new();
    write_audit_html(&mut out, &doc(r, result)).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_matrix_shows_each_edge_as_the_audit_saw_it() {
    let r = rules(MATRIX);
    let mut a = Auditor::new(&r, AuditOptions::default());
    // web -> app: one flow at 4 ms, one at 25 ms (over the 10 ms budget).
    a.add(&flow(
        "C1",
        "10.0.0.1",
        "10.0.0.2",
        8080,
        ConnState::SF,
        Some(4),
    ));
    a.add(&flow(
        "C2",
        "10.0.0.1",
        "10.0.0.2",
        8080,
        ConnState::SF,
        Some(25),
    ));
    // app -> db: one attempt that never established.
    a.add(&flow(
        "C3",
        "10.0.0.2",
        "10.0.0.3",
        5432,
        ConnState::S0,
        None,
    ));
    // A host in no role to db: unexpected.
    a.add(&flow(
        "C4",
        "192.0.2.7",
        "10.0.0.3",
        22,
        ConnState::SF,
        None,
    ));
    let result = a.finish();
    let m = Matrix::new(&r, &result);
    assert_eq!(m.roles, ["web", "app", "db", UNKNOWN]);
    assert_eq!(m.edges.len(), 3);

    let web_app = &m.edges[&(0, 1)];
    assert_eq!(
        (
            web_app.rules.clone(),
            web_app.flows,
            web_app.failed,
            web_app.required_unseen
        ),
        (vec![0], 2, 0, false)
    );
    assert_eq!(web_app.worst().map(|w| w.0), Some(Kind::OverLatency));
    assert_eq!(
        (web_app.state(), web_app.over_budget().as_str()),
        ("warning", "latency")
    );
    let rtt = result.rule_stats[0].rtt.as_ref().unwrap();
    assert_eq!(
        (rtt.measured, rtt.p50_ns, rtt.max_ns),
        (2, 4_000_000, 25_000_000)
    );

    let app_db = &m.edges[&(1, 2)];
    assert_eq!(
        (app_db.flows, app_db.failed, app_db.required_unseen),
        (1, 1, true)
    );
    let kinds: Vec<Kind> = app_db.findings.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, [Kind::Missing, Kind::Failed]);
    assert_eq!(app_db.state(), "error");

    let unknown_db = &m.edges[&(3, 2)];
    assert_eq!((unknown_db.rules.len(), unknown_db.flows), (0, 1));
    assert_eq!(unknown_db.worst().map(|w| w.0), Some(Kind::Unexpected));

    let html = page(&r, &result);
    for cell in [
        r#"class="edge warning" data-from="web" data-to="app" data-worst="over_latency" data-flows="2" data-over-budget="latency""#,
        r#"class="edge error" data-from="app" data-to="db" data-worst="missing" data-flows="1" data-required-unseen="1""#,
        r#"class="edge error" data-from="unknown" data-to="db" data-worst="unexpected" data-flows="1""#,
        r#"class="edge none" data-from="db" data-to="web" data-worst="none" data-flows="0""#,
    ] {
        assert!(html.contains(cell), "no {cell}");
    }
    // Four findings, a row each; one round-trip picture (the rule with a budget).
    assert_eq!(html.matches(r#"<tr class="finding""#).count(), 4);
    assert_eq!(html.matches(r#"<svg class="chart rtt""#).count(), 1);
    assert!(html.contains(r#"data-rule="web-app" data-over="1""#));
}

#[test]
fn text_from_files_and_packets_stays_text() {
    let hostile = "<script>document.title='PWNED'</script>\u{7}\u{1b}[31m\u{202e}";
    let rules_text = format!(
        "name = \"m {n}\"\n[roles]\nweb = {{ hosts = [\"10.0.0.1\"], description = \"{n}\" }}\n\
         [[flows]]\nname = \"web-web\"\nfrom = \"web\"\nto = \"web\"\nproto = \"tcp\"\nports = [80]\nnote = \"{n}\"\nverdict = \"denied\"\n",
        n = hostile
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\u{7}', "\\u0007")
            .replace('\u{1b}', "\\u001b")
            .replace('\u{202e}', "\\u202e")
    );
    let r = rules(&rules_text);
    let mut a = Auditor::new(&r, AuditOptions::default());
    a.add(&flow(
        hostile,
        "10.0.0.1",
        "10.0.0.1",
        80,
        ConnState::SF,
        None,
    ));
    a.add(&flow(
        hostile,
        "192.0.2.1",
        "10.0.0.1",
        81,
        ConnState::SF,
        None,
    ));
    let result = a.finish();
    let html = page(&r, &result);
    // The page's one script, and no other.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(!html.contains("<script>document"));
    assert!(
        html.contains(
            "&lt;script&gt;document.title='PWNED'&lt;/script&gt;\\u{7}\\u{1b}[31m\\u{202e}"
        )
    );
    assert!(
        !html
            .chars()
            .any(|c| c == '\u{7}' || c == '\u{1b}' || c == '\u{202e}')
    );

    let mut svg = Vec::new();
    write_matrix_svg(&mut svg, &doc(&r, &result)).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""
    ));
    assert!(!svg.contains("<script"));
    assert!(!svg.chars().any(|c| c.is_control() && c != '\n'));
}

#[test]
fn control_and_reordering_characters_are_shown_as_escapes() {
    assert_eq!(text("plain <b>"), "plain <b>");
    assert_eq!(
        text("a\u{0}b\u{7f}c\u{2066}d\u{200f}"),
        "a\\u{0}b\\u{7f}c\\u{2066}d\\u{200f}"
    );
}

#[test]
fn service_tls_and_sni_findings_on_the_page() {
    use crate::flow::service::{ServiceStatus, TlsInfo};
    let r = rules(&MATRIX.replace(
        "ports = [8080]",
        "ports = [8080]\nservice = [\"ssl\"]\ntls_min = \"1.2\"\nsni = [\"app.example.com\"]",
    ));
    let mut a = Auditor::new(&r, AuditOptions::default());
    // web -> app: HTTP where TLS 1.2 is required; TLS 1.0 to another name; one undecided.
    let mut http = flow("C1", "10.0.0.1", "10.0.0.2", 8080, ConnState::SF, Some(4));
    http.service = "http".into();
    http.service_status = ServiceStatus::Known;
    a.add(&http);
    let mut old = flow("C2", "10.0.0.1", "10.0.0.2", 8080, ConnState::SF, Some(4));
    old.service = "ssl".into();
    old.service_status = ServiceStatus::Known;
    old.tls = Some(TlsInfo {
        version: Some(0x0301),
        client_version: Some(0x0303),
        sni: "<evil>.example.net\u{202e}".into(),
        sni_cut: false,
    });
    a.add(&old);
    a.add(&flow(
        "C3",
        "10.0.0.1",
        "10.0.0.2",
        8080,
        ConnState::SF,
        Some(4),
    ));
    let result = a.finish();
    let m = Matrix::new(&r, &result);
    let e = &m.edges[&(0, 1)];
    assert_eq!(e.worst().map(|w| w.0), Some(Kind::WrongService));
    assert_eq!(
        e.content_findings(),
        "wrong_service weak_tls unexpected_sni"
    );
    let html = page(&r, &result);
    assert!(html.contains(
        r#"class="edge error" data-from="web" data-to="app" data-worst="wrong_service" data-flows="3" data-content="wrong_service weak_tls unexpected_sni""#
    ), "{html}");
    // Filters and timeline lanes for every kind.
    for k in ["wrong_service", "weak_tls", "unexpected_sni"] {
        assert!(
            html.contains(&format!(r#"<option value="{k}">{k}</option>"#)),
            "{k}"
        );
        assert!(
            html.contains(&format!(r#"<tr class="finding" data-kind="{k}""#)),
            "{k}"
        );
        assert!(html.contains(&format!(r#"<rect class="span {k}""#)), "{k}");
    }
    assert!(html.contains("http on an edge that allows ssl"));
    assert!(html.contains("TLSv10 &lt; tls_min TLSv12"));
    // The server name came from a packet: markup escaped, the override shown as an escape.
    assert!(
        html.contains("SNI &lt;evil&gt;.example.net\\u{202e}"),
        "{html}"
    );
    assert!(!html.contains('\u{202e}'));
    // What the rule allows and what could not be judged.
    assert!(html.contains("service ssl · TLS ≥ TLSv12 · SNI app.example.com"));
    assert!(html.contains(r#"<tr id="service-checks"><td>service</td><td>2 flows judged against the rules' service, tls_min and sni; 1 undecided (1 not in source)</td></tr>"#), "{html}");
}
