//! Module grids (barcode bars, QR modules) as small SVGs: one unit per module, black
//! rectangles on a white background (so dark themes and print keep the contrast), crisp edges,
//! and an accessible name. No fonts and no external references.

use std::fmt::Write as _;

/// A one-dimensional symbol: `modules[i]` is a bar; every bar spans `height` modules.
pub(crate) fn bars(modules: &[bool], height: u32, quiet_zone: u32, label: &str) -> String {
    let width = modules.len() as u32 + 2 * quiet_zone;
    // Anti-aliased edges: at a fractional number of screen pixels per module, snapping each
    // edge to a pixel ("crispEdges") makes bars up to a pixel too wide or narrow, and a
    // scanner reads widths; grey edges keep each bar's average width right.
    let mut svg = open(width, height, label, "auto");
    for (start, len) in dark_runs(modules) {
        let x = start as u32 + quiet_zone;
        // Writing to a String cannot fail.
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="0" width="{len}" height="{height}"/>"#
        );
    }
    close(svg)
}

/// A square grid of `side`×`side` modules in row-major order, with a quiet zone all round.
pub(crate) fn grid(modules: &[bool], side: usize, quiet_zone: u32, label: &str) -> String {
    let extent = side as u32 + 2 * quiet_zone;
    // Crisp edges: QR modules are squares, and anti-aliasing would draw seams between rows.
    let mut svg = open(extent, extent, label, "crispEdges");
    for (row_index, row) in modules.chunks(side.max(1)).enumerate() {
        let y = row_index as u32 + quiet_zone;
        for (start, len) in dark_runs(row) {
            let x = start as u32 + quiet_zone;
            let _ = write!(svg, r#"<rect x="{x}" y="{y}" width="{len}" height="1"/>"#);
        }
    }
    close(svg)
}

fn open(width: u32, height: u32, label: &str, shape_rendering: &str) -> String {
    let label = escape(label);
    format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" "#,
            r#"role="img" aria-label="{label}" shape-rendering="{shape_rendering}">"#,
            r#"<title>{label}</title>"#,
            r##"<rect width="{w}" height="{h}" fill="#fff"/><g fill="#000">"##,
        ),
        w = width,
        h = height,
        label = label,
        shape_rendering = shape_rendering,
    )
}

fn close(mut svg: String) -> String {
    svg.push_str("</g></svg>");
    svg
}

/// (start, length) of each run of `true`.
pub(crate) fn dark_runs(modules: &[bool]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &dark) in modules.iter().enumerate() {
        match (dark, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i - s));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, modules.len() - s));
    }
    runs
}

/// Escapes text for XML/HTML attribute and element content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dark_runs_merge_adjacent_modules() {
        let modules = [true, true, false, true, false, false, true];
        assert_eq!(dark_runs(&modules), vec![(0, 2), (3, 1), (6, 1)]);
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bars(&[true], 1, 0, r#"a<b & "c""#);
        assert!(svg.contains(r#"aria-label="a&lt;b &amp; &quot;c&quot;""#));
        assert!(!svg.contains("<b "));
    }

    #[test]
    fn bars_start_after_the_quiet_zone() {
        let svg = bars(&[true, false, true], 5, 10, "x");
        assert!(svg.contains(r#"viewBox="0 0 23 5""#));
        assert!(svg.contains(r#"<rect x="10" y="0" width="1" height="5"/>"#));
        assert!(svg.contains(r#"<rect x="12" y="0" width="1" height="5"/>"#));
    }
}
