//! QR codes for the pages: the `qrcode` crate encodes, and the modules are drawn by the same
//! SVG and PDF code as the barcode (one renderer, accessible markup, no XML prolog inside HTML).

use qrcode::{Color, EcLevel, QrCode};

use crate::{PagesError, svg};

/// The quiet zone of a QR code is 4 modules on each side (ISO/IEC 18004).
pub const QR_QUIET_ZONE_MODULES: u32 = 4;

/// Error correction level M (about 15 % recoverable): a printed voucher gets folded and
/// smudged, and a short URL still fits a small symbol.
const QR_EC_LEVEL: EcLevel = EcLevel::M;

/// A QR symbol as a square grid of modules, `true` dark, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QrModules {
    pub side: usize,
    pub dark: Vec<bool>,
}

pub(crate) fn modules(data: &str) -> Result<QrModules, PagesError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), QR_EC_LEVEL)?;
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok(QrModules {
        side: code.width(),
        dark,
    })
}

/// `data` as a QR code in a standalone SVG (one unit per module, quiet zone included), with
/// `label` as its accessible name. Size it with CSS.
pub fn qr_svg(data: &str, label: &str) -> Result<String, PagesError> {
    let m = modules(data)?;
    Ok(svg::grid(&m.dark, m.side, QR_QUIET_ZONE_MODULES, label))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_voucher_url_makes_a_small_square_symbol() {
        // A page token as issued: ten characters of its order's time, then 256 random bits in
        // base64url (53 characters), after a page URL prefix of 40 characters (`https://…/v/`).
        let token = "01m8nhsm3eQmN6d3NQBZGSx7_dfQGxvukfJzOFLVnLLzX-4_TY_H4";
        assert_eq!(token.len(), 53);
        let url = format!("https://pagos.mitienda-ejemplo.com.co/v/{token}");
        let m = modules(&url).unwrap();
        assert_eq!(m.dark.len(), m.side * m.side);
        // Version 6 or smaller: in the PDF's 104 pt box with its quiet zone, a module of at
        // least 104 / (41 + 8) = 2.1 pt (0.75 mm), well above what a phone's camera reads.
        assert!(m.side <= 41, "version 6 or smaller, got {} modules", m.side);
        let svg = qr_svg("hola", "QR").unwrap();
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains(r#"aria-label="QR""#));
    }
}
