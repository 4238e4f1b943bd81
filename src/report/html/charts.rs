//! Inline SVG pictures: a rule's round-trip distribution against its budget, a client host's
//! busiest second over time against its rule's bandwidth budget, the findings over the capture's time, and the matrix alone
//! (`--format svg`). Every text in them is escaped by maud, as in the page.

use maud::{Markup, html};

use super::matrix::Matrix;
use super::{count, text};
use crate::audit::Kind;
use crate::audit::edges::{BINS_PER_DECADE, HostPeaks, RTT_BINS, RttSummary, bin_floor_us};
use crate::report::iso_time;

/// The x position (0..w) of a round trip of `us` µs on the distribution's log axis.
fn rtt_x(us: f64, w: f64) -> f64 {
    let decades = RTT_BINS as f64 / BINS_PER_DECADE as f64;
    (us.max(1.0).log10() / decades * w).clamp(0.0, w)
}

/// A duration in µs as people read it: `850 µs`, `12.5 ms`, `3.2 s`.
pub fn duration_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 1e6 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{:.1} s", us / 1e6)
    }
}

/// The round trips of one rule: flows per bin on a log axis, the budget as a line, p50 and
/// p95 as marks.
pub fn rtt_chart(name: &str, rtt: &RttSummary, budget_ms: Option<f64>) -> Markup {
    let (w, h, left, bottom) = (480.0, 150.0, 36.0, 28.0);
    let plot_w = w - left - 10.0;
    let plot_h = h - bottom - 10.0;
    let most = rtt.bins.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bar_w = plot_w / RTT_BINS as f64;
    let x_of = |us: f64| left + rtt_x(us, plot_w);
    let budget_us = budget_ms.map(|b| b * 1000.0);
    let over = budget_ms.is_some_and(|b| rtt.p95_ns as f64 > b * 1e6);
    html! {
        svg class="chart rtt" role="img" xmlns="http://www.w3.org/2000/svg"
            viewBox=(format!("0 0 {w} {h}")) width=(w) height=(h)
            data-rule=(text(name)) data-over=(if over { "1" } else { "0" }) {
            title { "Round trips of rule " (text(name)) ": " (count(rtt.measured, "flow")) ", p50 "
                (duration_us(rtt.p50_ns as f64 / 1e3)) ", p95 " (duration_us(rtt.p95_ns as f64 / 1e3))
                @if let Some(b) = budget_ms { ", budget " (b) " ms" } }
            line x1=(left) y1=(10.0 + plot_h) x2=(left + plot_w) y2=(10.0 + plot_h) class="axis" {}
            @for (k, &n) in rtt.bins.iter().enumerate() {
                @if n > 0 {
                    @let bh = (n as f64 / most * plot_h).max(1.0);
                    rect class="bar" x=(format!("{:.1}", left + k as f64 * bar_w + 0.5))
                        y=(format!("{:.1}", 10.0 + plot_h - bh))
                        width=(format!("{:.1}", (bar_w - 1.0).max(1.0))) height=(format!("{:.1}", bh)) {
                        title { (count(n, "flow")) " from " (duration_us(bin_floor_us(k))) }
                    }
                }
            }
            // One tick a decade: 1 µs, 10 µs, ... 10 s.
            @for d in (0..RTT_BINS / BINS_PER_DECADE).step_by(2) {
                @let us = 10f64.powi(d as i32);
                text x=(format!("{:.1}", x_of(us))) y=(h - 12.0) class="tick" text-anchor="middle" { (duration_us(us)) }
            }
            @if let Some(b) = budget_us {
                line class="budget" x1=(format!("{:.1}", x_of(b))) x2=(format!("{:.1}", x_of(b))) y1="6" y2=(10.0 + plot_h) {}
                text class="label" x=(format!("{:.1}", x_of(b) + 3.0)) y="16" { "budget " (duration_us(b)) }
            }
            // p50 labelled left of its mark, p95 right of it: they do not overlap when close.
            @for (label, ns, anchor) in [("p50", rtt.p50_ns, "end"), ("p95", rtt.p95_ns, "start")] {
                @let x = x_of(ns as f64 / 1e3);
                line class="mark" x1=(format!("{x:.1}")) x2=(format!("{x:.1}")) y1=(10.0 + plot_h) y2=(10.0 + plot_h + 6.0) {}
                text class="mark-label" x=(format!("{x:.1}")) y=(h - 1.0) text-anchor=(anchor) { (label) }
            }
        }
    }
}

/// One client host's busiest second per stretch of time (see
/// [`crate::audit::timeline::PeakTimeline`]) against the rule's budget: the peak budget as a
/// line, or the average budget (dashed) when the rule has no peak budget.
pub fn host_chart(
    rule: &str,
    host: &HostPeaks,
    peak_budget: Option<f64>,
    avg_budget: Option<f64>,
) -> Markup {
    let (w, h, left, bottom) = (480.0, 150.0, 60.0, 24.0);
    let plot_w = w - left - 10.0;
    let plot_h = h - bottom - 14.0;
    let budget = peak_budget.or(avg_budget);
    let most = host
        .timeline
        .iter()
        .map(|b| b.2)
        .fold(budget.unwrap_or(0.0), f64::max)
        .max(1.0);
    let (from, to) = match (host.timeline.first(), host.timeline.last()) {
        (Some(a), Some(b)) => (a.0, b.0 + b.1),
        _ => (0, 1),
    };
    let span = (to - from).max(1) as f64;
    let x_of = |sec: i64| left + (sec - from) as f64 / span * plot_w;
    let y_of = |kbps: f64| 14.0 + plot_h - kbps / most * plot_h;
    let over = peak_budget.is_some_and(|b| host.peak_kbps > b);
    html! {
        svg class="chart host" role="img" xmlns="http://www.w3.org/2000/svg"
            viewBox=(format!("0 0 {w} {h}")) width=(w) height=(h)
            data-rule=(text(rule)) data-client=(host.client.to_string()) data-over=(if over { "1" } else { "0" }) {
            title { "Busiest second over time of " (host.client.to_string()) " on rule " (text(rule)) ": peak "
                (format!("{:.1}", host.peak_kbps)) " kbit/s"
                @if let Some(b) = peak_budget { ", peak budget " (b) " kbit/s" }
                @else if let Some(b) = avg_budget { ", average budget " (b) " kbit/s" } }
            line class="axis" x1=(left) x2=(left + plot_w) y1=(14.0 + plot_h) y2=(14.0 + plot_h) {}
            text class="tick" x=(left - 4.0) y=(format!("{:.1}", y_of(most) + 4.0)) text-anchor="end" { (format!("{most:.0}")) }
            text class="tick" x=(left - 4.0) y=(14.0 + plot_h) text-anchor="end" { "0 kbit/s" }
            @for &(sec, width, kbps) in &host.timeline {
                @if kbps > 0.0 {
                    @let x = x_of(sec);
                    @let bw = (x_of(sec + width) - x - 1.0).max(1.0);
                    rect class=(if peak_budget.is_some_and(|b| kbps > b) { "bar over" } else { "bar" })
                        x=(format!("{x:.1}")) y=(format!("{:.1}", y_of(kbps))) width=(format!("{bw:.1}"))
                        height=(format!("{:.1}", (14.0 + plot_h - y_of(kbps)).max(1.0))) {
                        title { (iso_time(sec * 1_000_000_000)) ", " (width) " s: busiest second " (format!("{kbps:.1}")) " kbit/s" }
                    }
                }
            }
            @if let Some(b) = budget {
                line class=(if peak_budget.is_some() { "budget" } else { "budget avg" }) x1=(left) x2=(left + plot_w)
                    y1=(format!("{:.1}", y_of(b))) y2=(format!("{:.1}", y_of(b))) {}
                text class="label" x=(left + 4.0) y=(format!("{:.1}", y_of(b) - 3.0)) {
                    @if peak_budget.is_some() { "peak budget " } @else { "average budget " } (b) " kbit/s" }
            }
            text class="tick" x=(left) y=(h - 4.0) { (iso_time(from * 1_000_000_000)) }
            text class="tick" x=(left + plot_w) y=(h - 4.0) text-anchor="end" { (iso_time(to * 1_000_000_000)) }
        }
    }
}

/// One finding on the timeline: its kind's lane, first and last time, and its label.
pub struct Span {
    pub kind: Kind,
    pub first_ns: i64,
    pub last_ns: i64,
    pub label: String,
}

/// The findings over time, a lane for each of `kinds`: each finding a bar from its first to its
/// last flow. At most `max_per_kind` bars a lane (the rest are counted in the lane's label).
pub fn timeline(
    spans: &[Span],
    kinds: &[Kind],
    from_ns: i64,
    to_ns: i64,
    max_per_kind: usize,
) -> Markup {
    let (w, lane, left) = (960.0, 22.0, 120.0);
    let h = lane * kinds.len() as f64 + 30.0;
    let span = (to_ns - from_ns).max(1) as f64;
    let x_of = |ns: i64| left + ((ns - from_ns) as f64 / span).clamp(0.0, 1.0) * (w - left - 10.0);
    html! {
        svg class="chart timeline" role="img" xmlns="http://www.w3.org/2000/svg"
            viewBox=(format!("0 0 {w} {h}")) width=(w) height=(h) {
            title { "Findings from " (iso_time(from_ns)) " to " (iso_time(to_ns)) }
            @for (lane_no, kind) in kinds.iter().enumerate() {
                @let y = lane_no as f64 * lane + 4.0;
                @let of_kind: Vec<&Span> = spans.iter().filter(|s| s.kind == *kind).collect();
                text x="0" y=(format!("{:.1}", y + 14.0)) class="label" {
                    (kind.name()) " (" (of_kind.len()) ")" }
                line class="lane" x1=(left) x2=(w - 10.0) y1=(format!("{:.1}", y + 10.0)) y2=(format!("{:.1}", y + 10.0)) {}
                @for s in of_kind.iter().take(max_per_kind) {
                    @let (a, b) = (x_of(s.first_ns), x_of(s.last_ns));
                    rect class=(format!("span {}", kind.name())) x=(format!("{a:.1}")) y=(format!("{:.1}", y + 4.0))
                        width=(format!("{:.1}", (b - a).max(2.0))) height="12" {
                        title { (s.label) }
                    }
                }
            }
            text x=(left) y=(h - 6.0) class="tick" { (iso_time(from_ns)) }
            text x=(w - 10.0) y=(h - 6.0) class="tick" text-anchor="end" { (iso_time(to_ns)) }
        }
    }
}

/// A symbol for an edge's state, so that the matrix reads without colour.
pub fn symbol(state: &str) -> &'static str {
    match state {
        "error" => "✖",
        "warning" => "▲",
        "ok" => "✔",
        _ => "·",
    }
}

/// The matrix alone as an SVG picture: a square a (client role, server role) edge, its state
/// as colour and symbol, its flows and worst finding.
pub fn matrix_svg(m: &Matrix<'_>) -> Markup {
    let n = m.roles.len() as f64;
    let (cell_w, cell_h, head_w, head_h) = (120.0, 46.0, 130.0, 40.0);
    let w = head_w + n * cell_w + 10.0;
    let h = head_h + n * cell_h + 40.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="matrix-svg" role="img"
            viewBox=(format!("0 0 {w} {h}")) width=(w) height=(h) font-family="sans-serif" font-size="11" {
            title { "Flow matrix: client roles (rows) to server roles (columns)" }
            style { (maud::PreEscaped(SVG_STYLE)) }
            @for (j, role) in m.roles.iter().enumerate() {
                text class="role" x=(format!("{:.1}", head_w + j as f64 * cell_w + cell_w / 2.0)) y=(head_h - 10.0)
                    text-anchor="middle" { (text(role)) }
            }
            @for (i, role) in m.roles.iter().enumerate() {
                @let y = head_h + i as f64 * cell_h;
                text class="role" x="4" y=(format!("{:.1}", y + cell_h / 2.0 + 4.0)) { (text(role)) }
                @for j in 0..m.roles.len() {
                    @let x = head_w + j as f64 * cell_w;
                    @let e = m.edges.get(&(i, j));
                    @let state = e.map_or("none", |e| e.state());
                    rect class=(format!("cell {state}")) x=(format!("{x:.1}")) y=(format!("{y:.1}"))
                        width=(cell_w - 2.0) height=(cell_h - 2.0) {}
                    @if let Some(e) = e {
                        text x=(format!("{:.1}", x + 6.0)) y=(format!("{:.1}", y + 16.0)) {
                            (symbol(state)) " " (count(e.flows, "flow")) }
                        text x=(format!("{:.1}", x + 6.0)) y=(format!("{:.1}", y + 32.0)) {
                            @if let Some((k, _)) = e.worst() { (k.name())
                                @if e.findings.len() > 1 { " (+" (e.findings.len() - 1) ")" } }
                            @else if e.required_unseen { "required, unseen" }
                            @else if e.rules.is_empty() { "no rule" }
                            @else { (e.rules.len()) " rule" @if e.rules.len() > 1 { "s" } }
                        }
                    }
                }
            }
            text x="4" y=(h - 14.0) {
                "✖ error | ▲ warning | ✔ flows, no finding | · rules, no flow | rows: client role; columns: server role" }
        }
    }
}

/// The SVG's own styles (it may be pasted without the page).
const SVG_STYLE: &str = ".cell{stroke:#555;stroke-width:1;fill:#fff}\
.cell.error{fill:#f4c7c3}.cell.warning{fill:#fce8b2}.cell.ok{fill:#d9ead3}.cell.idle{fill:#eee}\
.role{font-weight:bold}";
