//! Charts as server-rendered SVG: no chart service, no JavaScript. Each chart is an `<svg
//! role="img">` with a title (its accessible name); the page also gives the same figures as
//! a table. Text is escaped; sizes are in a fixed view box that CSS scales.

use std::fmt::Write as _;

use cajero_pages::escape_html as escape;

/// The series' colours (distinguishable, and dark enough against white for 3:1).
const PALETTE: [&str; 6] = [
    "#1e3a8a", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490",
];
/// Width of every chart's view box.
const WIDTH: i64 = 640;
/// Height of a horizontal bar and its gap.
const BAR: i64 = 22;
const GAP: i64 = 8;
/// Room for the labels left of horizontal bars, and for the value right of them.
const LABEL_W: i64 = 170;
const VALUE_W: i64 = 110;
/// Height of the column chart's plot.
const PLOT_H: i64 = 180;

/// One horizontal bar: its label, its value and how the value reads.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Left of the bar.
    pub label: String,
    /// Its length (against the largest).
    pub value: i64,
    /// Right of the bar.
    pub shown: String,
}

/// Horizontal bars, longest scaled to the plot's width; `title` is the accessible name.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let rows = i64::try_from(bars.len()).unwrap_or(0).max(1);
    let height = rows * (BAR + GAP) + GAP;
    let plot = WIDTH - LABEL_W - VALUE_W;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        escape(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = GAP + i64::try_from(i).unwrap_or(0) * (BAR + GAP);
        let w = (b.value.max(0).saturating_mul(plot) / max).max(if b.value > 0 { 1 } else { 0 });
        let colour = PALETTE.get(i % PALETTE.len()).copied().unwrap_or("#1e3a8a");
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"13\">{}</text>\
             <rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w}\" height=\"{BAR}\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"13\">{}</text>",
            LABEL_W - 6,
            y + 15,
            escape(&b.label),
            LABEL_W + w + 6,
            y + 15,
            escape(&b.shown),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One column of a stacked column chart: its label (a day) and each series' value.
#[derive(Debug, Clone)]
pub struct Column {
    /// Under the column (every few columns).
    pub label: String,
    /// One value per series, in the series' order.
    pub values: Vec<i64>,
}

/// Stacked columns (one per day) with a legend of `series`.
pub fn stacked_columns(title: &str, series: &[String], columns: &[Column]) -> String {
    let max = columns
        .iter()
        .map(|c| c.values.iter().map(|v| v.max(&0)).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let count = i64::try_from(columns.len()).unwrap_or(0).max(1);
    let left = 40;
    let step = (WIDTH - left - 10) / count;
    let width = (step - 2).max(1);
    let legend_y = PLOT_H + 36;
    let height = legend_y + 20;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>\
         <line x1=\"{left}\" y1=\"{PLOT_H}\" x2=\"{WIDTH}\" y2=\"{PLOT_H}\" stroke=\"#6b7280\"/>\
         <text x=\"{}\" y=\"12\" text-anchor=\"end\" font-size=\"11\">{max}</text>\
         <text x=\"{}\" y=\"{PLOT_H}\" text-anchor=\"end\" font-size=\"11\">0</text>",
        escape(title),
        left - 4,
        left - 4,
    );
    // A label every so many columns, so that they do not overlap.
    let every = usize::try_from((count + 9) / 10).unwrap_or(1).max(1);
    for (i, c) in columns.iter().enumerate() {
        let x = left + i64::try_from(i).unwrap_or(0) * step;
        let mut top = PLOT_H;
        for (s, v) in c.values.iter().enumerate() {
            let h = v.max(&0).saturating_mul(PLOT_H - 16) / max;
            if h == 0 {
                continue;
            }
            top -= h;
            let colour = PALETTE.get(s % PALETTE.len()).copied().unwrap_or("#1e3a8a");
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{top}\" width=\"{width}\" height=\"{h}\" fill=\"{colour}\"/>"
            );
        }
        if i % every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{x}\" y=\"{}\" font-size=\"10\">{}</text>",
                PLOT_H + 14,
                escape(&c.label)
            );
        }
    }
    let mut x = left;
    for (s, name) in series.iter().enumerate() {
        let colour = PALETTE.get(s % PALETTE.len()).copied().unwrap_or("#1e3a8a");
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
            legend_y - 10,
            x + 16,
            legend_y,
            escape(name)
        );
        x += 16 + 8 * i64::try_from(name.chars().count()).unwrap_or(8) + 20;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_their_text() {
        let svg = bars(
            "Paid <by> network",
            &[
                Bar {
                    label: "efecty".into(),
                    value: 10,
                    shown: "10".into(),
                },
                Bar {
                    label: "a&b".into(),
                    value: 5,
                    shown: "5".into(),
                },
                Bar {
                    label: "none".into(),
                    value: 0,
                    shown: "0".into(),
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(
            svg.contains("<title>Paid &lt;by&gt; network</title>"),
            "{svg}"
        );
        assert!(svg.contains("a&amp;b"));
        let plot = WIDTH - LABEL_W - VALUE_W;
        assert!(
            svg.contains(&format!("width=\"{plot}\"")),
            "the largest fills the plot"
        );
        assert!(
            svg.contains(&format!("width=\"{}\"", plot / 2)),
            "half of it"
        );
        assert!(svg.contains("width=\"0\""), "nothing is no bar");
    }

    #[test]
    fn columns_stack_their_series_and_survive_no_data() {
        let svg = stacked_columns(
            "Vouchers per day",
            &["efecty".into(), "sured".into()],
            &[
                Column {
                    label: "12-01".into(),
                    values: vec![3, 1],
                },
                Column {
                    label: "12-02".into(),
                    values: vec![0, 0],
                },
            ],
        );
        assert_eq!(
            svg.matches("<rect").count(),
            2 + 2,
            "two stacked pieces and two legend keys"
        );
        let empty = stacked_columns("Nothing", &[], &[]);
        assert!(empty.contains("<title>Nothing</title>"));
    }
}
