//! An independent reading of what we draw: our SVGs are rasterized to a grey bitmap by a tiny
//! rectangle filler, and the bitmap is decoded by rxing (a Rust port of ZXing), which shares no
//! code with the encoders (barcoders, qrcode).

use rxing::common::HybridBinarizer;
use rxing::{
    BarcodeFormat, BinaryBitmap, DecodeHints, Luma8LuminanceSource, MultiFormatReader, RXingResult,
    Reader,
};

/// Pixels per SVG unit (module) when rasterizing.
pub const PIXELS_PER_MODULE: u32 = 3;
/// The GS1 group separator a scanner sends for a separating FNC1.
pub const GS: char = '\u{1d}';

/// A grey (luma) bitmap, 0 black, 255 white.
pub struct Bitmap {
    pub width: u32,
    pub height: u32,
    pub luma: Vec<u8>,
}

fn attr(tag: &str, name: &str) -> Option<f64> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    tag[start..end].parse().ok()
}

/// Rasterizes one of our SVGs: the `viewBox`, then every `<rect>` inside the black group.
pub fn rasterize(svg: &str) -> Bitmap {
    let view_box = svg.split("viewBox=\"").nth(1).unwrap();
    let dims: Vec<f64> = view_box[..view_box.find('"').unwrap()]
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    let scale = f64::from(PIXELS_PER_MODULE);
    let width = (dims[2] * scale).round() as u32;
    let height = (dims[3] * scale).round() as u32;
    let mut luma = vec![255u8; (width * height) as usize];
    let dark_group = &svg[svg.find(r##"<g fill="#000">"##).unwrap()..];
    for tag in dark_group.split("<rect").skip(1) {
        let (x, y) = (attr(tag, "x").unwrap(), attr(tag, "y").unwrap());
        let (w, h) = (attr(tag, "width").unwrap(), attr(tag, "height").unwrap());
        let (x0, y0) = ((x * scale) as u32, (y * scale) as u32);
        let (x1, y1) = (((x + w) * scale) as u32, ((y + h) * scale) as u32);
        for py in y0..y1.min(height) {
            for px in x0..x1.min(width) {
                luma[(py * width + px) as usize] = 0;
            }
        }
    }
    Bitmap {
        width,
        height,
        luma,
    }
}

/// Reads a binary PGM (P5, 8-bit), as `pdftoppm -gray` writes it.
pub fn read_pgm(bytes: &[u8]) -> Bitmap {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes[i] == b'#' {
            while bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8(bytes[start..i].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P5");
    assert_eq!(fields[3], "255");
    let (width, height): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let luma = bytes[i + 1..].to_vec();
    assert_eq!(luma.len(), (width * height) as usize);
    Bitmap {
        width,
        height,
        luma,
    }
}

/// Decodes one symbol of `format` from the bitmap, reporting GS1 FNC1s as `]C1` and GS.
pub fn decode(bitmap: &Bitmap, format: BarcodeFormat) -> RXingResult {
    let hints = DecodeHints {
        TryHarder: Some(true),
        AssumeGs1: Some(true),
        PossibleFormats: Some([format].into_iter().collect()),
        ..DecodeHints::default()
    };
    let source =
        Luma8LuminanceSource::new(bitmap.luma.clone(), bitmap.width, bitmap.height).unwrap();
    let mut image = BinaryBitmap::new(HybridBinarizer::new(source));
    MultiFormatReader::default()
        .decode_with_hints(&mut image, &hints)
        .unwrap_or_else(|e| panic!("no {format:?} found: {e}"))
}

/// Splits a scanned GS1 string (`]C1` + element strings) into (AI, value) pairs, knowing only
/// the four AIs of the recaudo layout: (415) has 13 digits, the others run to GS or the end.
pub fn parse_recaudo_scan(scanned: &str) -> Vec<(String, String)> {
    let mut rest = scanned
        .strip_prefix("]C1")
        .unwrap_or_else(|| panic!("not GS1-128 (no FNC1 first): {scanned:?}"));
    let mut fields = Vec::new();
    while !rest.is_empty() {
        let ai = ["415", "8020", "3900", "96"]
            .into_iter()
            .find(|ai| rest.starts_with(ai))
            .unwrap_or_else(|| panic!("unknown AI at {rest:?}"));
        rest = &rest[ai.len()..];
        let len = if ai == "415" {
            13
        } else {
            rest.find(GS).unwrap_or(rest.len())
        };
        fields.push((ai.to_owned(), rest[..len].to_owned()));
        rest = &rest[len..];
        rest = rest.strip_prefix(GS).unwrap_or(rest);
    }
    fields
}

/// Reads the SVG out of a page: the `n`-th inline `<svg>…</svg>`.
pub fn nth_svg(html: &str, n: usize) -> &str {
    let start = html.match_indices("<svg ").nth(n).unwrap().0;
    let end = start + html[start..].find("</svg>").unwrap() + "</svg>".len();
    &html[start..end]
}
