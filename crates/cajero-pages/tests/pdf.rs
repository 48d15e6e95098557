//! The voucher PDF: one valid page with the code, amount and barcode, read back by poppler
//! (`pdfinfo`, `pdftotext`, `pdftoppm`) and rxing. `.ci/run` installs poppler-utils; where it
//! is missing outside CI, the poppler checks say so and are skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use cajero_pages::{PickupStatus, VoucherStatus, render_pickup_pdf, render_voucher_pdf};
use rxing::BarcodeFormat;
use support::decode;

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// A string as pdf-writer writes a non-ASCII PDF string: upper-case hex digits.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn the_pdf_is_one_page_with_the_code_and_amount_in_winansi() {
    let pdf = render_voucher_pdf(&support::voucher()).unwrap();

    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
    assert_eq!(
        count(&pdf, b"/Type /Page") - count(&pdf, b"/Type /Pages"),
        1
    );
    assert_eq!(count(&pdf, b"/Count 1"), 1);
    // startxref points at the cross-reference table.
    let tail = String::from_utf8_lossy(&pdf[pdf.len() - 64..]).into_owned();
    let offset: usize = tail
        .split("startxref")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pdf[offset..].starts_with(b"xref"));
    // Text is WinAnsi, never UTF-8.
    assert_eq!(count(&pdf, b"(4280 7357)"), 1);
    assert_eq!(count(&pdf, b"($ 150.000 COP)"), 1);
    // pdf-writer writes a string with bytes above 0x7E in hex: á is WinAnsi 0xE1.
    assert!(count(&pdf, hex(b"Bogot\xe1").as_bytes()) > 0);
    assert_eq!(count(&pdf, "Bogotá".as_bytes()), 0);
    assert_eq!(count(&pdf, b"/WinAnsiEncoding"), 2);
}

#[test]
fn a_voucher_that_cannot_be_paid_gets_a_pdf_without_code_or_barcode() {
    let mut view = support::voucher();
    view.status = VoucherStatus::Expired;

    let pdf = render_voucher_pdf(&view).unwrap();

    assert_eq!(count(&pdf, b"4280"), 0);
    assert!(count(&pdf, hex(b"Este recibo venci\xf3").as_bytes()) > 0);
    assert_eq!(count(&pdf, b" re\n"), 0, "no bars drawn");
}

#[test]
fn the_pickup_pdf_is_one_page_with_the_code_and_amount() {
    let pdf = render_pickup_pdf(&support::pickup()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(
        count(&pdf, b"/Type /Page") - count(&pdf, b"/Type /Pages"),
        1
    );
    assert_eq!(count(&pdf, b"(5821 0937 44)"), 1);
    assert_eq!(count(&pdf, b"($ 200.000 COP)"), 1);
    assert_eq!(
        count(&pdf, support::FULL_DOCUMENT_NUMBER.as_bytes()),
        0,
        "never the whole document number"
    );
}

#[test]
fn a_pickup_that_cannot_be_collected_gets_a_pdf_without_its_code() {
    for status in [
        PickupStatus::Paid,
        PickupStatus::Expired,
        PickupStatus::Canceled,
        PickupStatus::Failed,
        PickupStatus::OnHold,
        PickupStatus::Pending,
    ] {
        let mut view = support::pickup();
        view.status = status;
        let pdf = render_pickup_pdf(&view).unwrap();
        assert_eq!(count(&pdf, b"5821"), 0, "{status:?}");
        assert_eq!(count(&pdf, b"200.000"), 0, "{status:?}");
    }
}

#[test]
fn poppler_reads_one_page_with_the_pickup_text() {
    if !poppler() {
        return;
    }
    let dir = scratch("pickup");
    let path = dir.join("pickup.pdf");
    std::fs::write(&path, render_pickup_pdf(&support::pickup()).unwrap()).unwrap();
    let path = path.to_str().unwrap();
    let info = run("pdfinfo", &[path]);
    let text = run("pdftotext", &["-layout", path, "-"]);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.ends_with(" 1")),
        "{info}"
    );
    for expected in [
        "Tienes un giro para cobrar en efectivo",
        "5821 0937 44",
        "$ 200.000 COP",
        "terminado en 543",
        "Qué debes llevar",
        "Cómo cobrar",
        "Giros La Esperanza",
        "Bogotá",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn poppler() -> bool {
    let found = Command::new("pdfinfo").arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have poppler-utils (pdfinfo, pdftotext, pdftoppm)"
        );
        eprintln!("poppler-utils not installed: skipping the poppler checks");
    }
    found
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cajero-pages-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn poppler_reads_one_page_with_the_voucher_text() {
    if !poppler() {
        return;
    }
    let dir = scratch("text");
    let path = dir.join("voucher.pdf");
    std::fs::write(&path, render_voucher_pdf(&support::voucher()).unwrap()).unwrap();
    let path = path.to_str().unwrap();

    let info = run("pdfinfo", &[path]);
    let text = run("pdftotext", &["-layout", path, "-"]);

    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.ends_with(" 1")),
        "{info}"
    );
    assert!(info.contains("612 x 792 pts (letter)"), "{info}");
    for expected in [
        "4280 7357",
        "$ 150.000 COP",
        "Convenio 111571",
        "Este recibo vence el 28/11/2026 a las 23:59",
        "Acércate a cualquier punto Efecty",
        "(415)7709998000018(8020)42807357(3900)150000(96)20261128",
        "Tienda Doña Ana",
        "Bogotá",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_pdfs_barcode_and_qr_decode_after_poppler_rasterizes_the_page() {
    if !poppler() {
        return;
    }
    let dir = scratch("raster");
    let pdf_path = dir.join("voucher.pdf");
    let view = support::voucher();
    std::fs::write(&pdf_path, render_voucher_pdf(&view).unwrap()).unwrap();
    let prefix = dir.join("page");

    // 300 dpi: a 0.9 pt module is 3.75 px, as a printer would lay it down.
    run(
        "pdftoppm",
        &[
            "-r",
            "300",
            "-gray",
            "-singlefile",
            pdf_path.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    let page = decode::read_pgm(&std::fs::read(dir.join("page.pgm")).unwrap());

    let bars = decode::decode(&page, BarcodeFormat::CODE_128);
    let qr = decode::decode(&page, BarcodeFormat::QR_CODE);
    assert_eq!(
        decode::parse_recaudo_scan(bars.getText()),
        [
            ("415", "7709998000018"),
            ("8020", "42807357"),
            ("3900", "150000"),
            ("96", "20261128")
        ]
        .map(|(a, v)| (a.to_owned(), v.to_owned()))
    );
    assert_eq!(qr.getText(), view.page_url);
    std::fs::remove_dir_all(dir).unwrap();
}
