//! The barcode and the QR code we draw decode back, with an independent decoder (rxing, a
//! ZXing port), to the same application identifiers and data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use cajero_pages::gs1::{self, GROUP_SEPARATOR};
use cajero_pages::{Lang, render_voucher_html};
use jiff::civil::date;
use rxing::BarcodeFormat;
use support::decode::{self, rasterize};

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, v)| ((*a).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn recaudo_barcodes_decode_to_the_same_application_identifiers() {
    // Even and odd digit runs, so every code set switch is exercised, and the longest fields.
    let cases = [
        ("7709998000018", "42807357", 150_000, date(2026, 11, 28)),
        ("7709998000018", "428073571", 150_000, date(2026, 11, 28)),
        ("7709998111110", "1554918376", 10_000, date(2019, 4, 17)),
        ("7709998222229", "1", 5, date(2030, 1, 1)),
        (
            "7709998000018",
            "9999999999999999999999999",
            999_999_999_999_999,
            date(2026, 12, 31),
        ),
    ];
    for (gln, reference, amount, due) in cases {
        let payload = gs1::recaudo_payload(gln, reference, amount, due).unwrap();
        let svg = gs1::barcode_svg(&payload).unwrap();

        let result = decode::decode(&rasterize(&svg), BarcodeFormat::CODE_128);

        let due_text = due.strftime("%Y%m%d").to_string();
        let amount_text = amount.to_string();
        assert_eq!(
            decode::parse_recaudo_scan(result.getText()),
            pairs(&[
                ("415", gln),
                ("8020", reference),
                ("3900", &amount_text),
                ("96", &due_text),
            ]),
            "{payload}"
        );
        // What the scanner sends is exactly our element string behind the GS1 identifier.
        assert_eq!(result.getText(), format!("]C1{}", payload.element_string()));
        assert_eq!(result.getText().matches(GROUP_SEPARATOR).count(), 2);
    }
}

#[test]
fn the_voucher_pages_barcode_and_qr_decode() {
    let view = support::voucher();
    let html = render_voucher_html(&view, Lang::Es).unwrap();

    // The page puts the QR first (next to the code), then the barcode.
    let qr = decode::decode(
        &rasterize(decode::nth_svg(&html, 0)),
        BarcodeFormat::QR_CODE,
    );
    let bars = decode::decode(
        &rasterize(decode::nth_svg(&html, 1)),
        BarcodeFormat::CODE_128,
    );

    assert_eq!(qr.getText(), view.page_url);
    assert_eq!(
        decode::parse_recaudo_scan(bars.getText()),
        pairs(&[
            ("415", "7709998000018"),
            ("8020", "42807357"),
            ("3900", "150000"),
            ("96", "20261128"),
        ])
    );
}
