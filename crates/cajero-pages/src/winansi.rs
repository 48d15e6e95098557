//! Text for the PDF's built-in Helvetica: the standard 14 fonts read strings as single bytes
//! in WinAnsiEncoding (Windows-1252), not UTF-8, so "Bogotá" must become `Bogot\xE1`. Also the
//! Helvetica advance widths, to wrap and align text without embedding a font.

/// The byte a character has in WinAnsiEncoding; `?` for characters it cannot show.
pub(crate) fn byte(c: char) -> u8 {
    match c {
        ' '..='~' | '\u{a0}'..='\u{ff}' => c as u8,
        '\n' | '\t' | '\r' => b' ',
        '€' => 0x80,
        '‚' => 0x82,
        '„' => 0x84,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '™' => 0x99,
        'Š' => 0x8a,
        'š' => 0x9a,
        'Œ' => 0x8c,
        'œ' => 0x9c,
        'Ž' => 0x8e,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        _ => b'?',
    }
}

/// `text` in WinAnsiEncoding.
pub(crate) fn encode(text: &str) -> Vec<u8> {
    text.chars().map(byte).collect()
}

/// Helvetica advance widths (Adobe AFM, thousandths of the font size) for bytes 0x20..=0x7E.
const ASCII_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // ' '..'/'
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584,
    556, // '0'..'?'
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
    778, // '@'..'O'
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
    556, // 'P'..'_'
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556,
    556, // '`'..'o'
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // 'p'..'~'
];

/// Width of one WinAnsi byte in thousandths of the font size.
fn byte_width(b: u8) -> u16 {
    match b {
        0x20..=0x7e => ASCII_WIDTHS[usize::from(b - 0x20)],
        // Accented capitals take their base letter's width (Adobe AFM).
        0xc0..=0xc5 => 667,
        0xc7 | 0xd0 | 0xd1 | 0xd9..=0xdc => 722,
        0xc8..=0xcb => 667,
        0xcc..=0xcf => 278,
        0xd2..=0xd6 | 0xd8 => 778,
        // Accented lower case; í, ì, î, ï are as narrow as dotless i.
        0xe0..=0xe5 | 0xe8..=0xeb | 0xf1..=0xf6 | 0xf9..=0xfc => 556,
        0xe7 => 500,
        0xec..=0xef => 278,
        0xa0 | 0xb7 => 278,
        0xa1 => 333,
        0xbf => 611,
        0xb0 => 400,
        0xaa => 370,
        0xba => 365,
        0x95 => 350,
        0x96 => 556,
        0x97 => 1000,
        0x91..=0x94 => 333,
        _ => 556,
    }
}

/// Width of `text` set in Helvetica at `size` points.
pub(crate) fn width_pt(text: &str, size: f32) -> f32 {
    let thousandths: u32 = text.chars().map(|c| u32::from(byte_width(byte(c)))).sum();
    thousandths as f32 * size / 1000.0
}

/// Breaks `text` into lines no wider than `max_pt` at `size` points, at ASCII spaces only (a
/// no-break space holds a code together). A word wider than the line stays whole on its own.
pub(crate) fn wrap(text: &str, size: f32, max_pt: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if width_pt(&candidate, size) <= max_pt || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn spanish_letters_become_single_windows_1252_bytes() {
        assert_eq!(encode("Bogotá"), b"Bogot\xe1");
        assert_eq!(
            encode("Acércate, señor. ¿Cómo?"),
            b"Ac\xe9rcate, se\xf1or. \xbfC\xf3mo?"
        );
        assert_eq!(encode("Únicamente — €5"), b"\xdanicamente \x97 \x805");
        assert_eq!(encode("→"), b"?");
    }

    #[test]
    fn widths_follow_helvetica_metrics() {
        assert!((width_pt("0", 10.0) - 5.56).abs() < 1e-4);
        assert_eq!(width_pt("í", 1000.0), width_pt("i", 1000.0) + 56.0);
        assert_eq!(width_pt("W", 1000.0), 944.0);
    }

    #[test]
    fn wrapping_keeps_lines_within_the_width() {
        let text = "Acércate a cualquier punto Efecty con este recibo antes de que venza.";
        let lines = wrap(text, 10.0, 150.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width_pt(l, 10.0) <= 150.0));
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn wrapping_never_breaks_at_a_no_break_space() {
        let lines = wrap("pague con el código 4280\u{a0}7357 hoy", 10.0, 105.0);
        assert!(
            lines.iter().any(|l| l.contains("4280\u{a0}7357")),
            "{lines:?}"
        );
    }
}
