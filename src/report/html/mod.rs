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
/// reorder text (bidirectional overrides and isolates) as `\u{..}`. maud escapes the rest.
pub fn text(s: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
    if !s.chars().any(|c| c.is_control() || bidi(c)) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() || bidi(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
