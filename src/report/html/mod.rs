//! The HTML report (`--format html`): one self-contained page (styles, script and pictures
//! inline; nothing fetched) with the matrix of roles, expected against observed, pictures of
//! round trips, bandwidth and findings over time, the findings (filterable and sortable in the
//! page) and the evidence; and the matrix alone as an SVG picture (`--format svg`).
//!
//! The markup is maud's: every text is HTML-escaped as it is written. Text that came from
//! files or packets (names, notes, uids, paths) also goes through [`text`], which shows
//! control and bidirectional-override characters as `\u{..}`, as the text report does.

mod charts;
mod matrix;
mod page;

pub use page::{MAX_ROWS_PER_KIND, write_audit_html, write_matrix_svg};

/// Text from files or packets, for the page: control characters and the characters that
/// reorder text as `\u{..}`, as in the text report ([`crate::report::audit::escape`]); maud
/// escapes the rest.
pub fn text(s: &str) -> String {
    crate::report::audit::escape(s)
}

/// `n` and a noun, plural unless `n` is 1: `1 flow`, `3 flows`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests;
