//! The voucher, pick-up and not-found pages, through the public API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use cajero_pages::{
    COUNTERS_SHOWN_MAX, DocumentHint, Lang, PagesError, PickupStatus, VoucherStatus,
    render_not_found_html, render_pickup_html, render_voucher_html,
};

fn assert_self_contained(html: &str) {
    for forbidden in ["<script", "<link", "src=", "@import", "url(", "@font-face"] {
        assert!(!html.contains(forbidden), "page contains {forbidden}");
    }
}

#[test]
fn the_spanish_voucher_shows_what_the_cashier_asks_for() {
    let html = render_voucher_html(&support::voucher(), Lang::Es).unwrap();

    assert!(html.contains(r#"<html lang="es-CO">"#));
    assert!(html.contains("$ 150.000"));
    assert!(
        html.contains(">4280 7357<"),
        "code grouped for reading aloud"
    );
    assert!(
        html.contains("4 2 8 0, 7 3 5 7"),
        "code spelled out for screen readers"
    );
    assert!(html.contains("Convenio 111571"));
    assert!(html.contains("vence el 28/11/2026 a las 23:59"));
    assert!(html.contains("Acércate a cualquier punto Efecty"));
    assert!(html.contains("(415)7709998000018(8020)42807357(3900)150000(96)20261128"));
    assert!(html.contains("Tienda Doña Ana"));
    assert!(html.contains("Pedido 1042"));
    assert!(html.contains("Efecty Éxito Calle 80"));
    assert!(html.contains("Horario extendido"));
    assert!(html.contains("vt_3xK9mQ2rT7wZ1pL8nB4cD6.pdf"));
}

#[test]
fn the_english_voucher_says_the_same_in_english() {
    let html = render_voucher_html(&support::voucher(), Lang::En).unwrap();

    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("$ 150.000"));
    assert!(html.contains(">4280 7357<"));
    assert!(html.contains("Convenio (agreement) 111571"));
    assert!(html.contains("expires on 28 November 2026 at 23:59 (Colombia time)"));
    assert!(html.contains("Go to any Efecty location"));
    assert!(html.contains("How to pay"));
    assert!(html.contains(r#"href="?lang=es""#));
    assert!(!html.contains("Acércate"));
}

#[test]
fn the_voucher_is_one_self_contained_printable_page() {
    let html = render_voucher_html(&support::voucher(), Lang::Es).unwrap();

    assert_self_contained(&html);
    assert!(html.contains("@media print"));
    assert!(html.contains("@page"));
    assert_eq!(html.matches("<svg ").count(), 2, "barcode and QR inline");
    assert!(html.contains(r#"role="img""#));
    assert!(html.contains("<main"));
    assert!(html.contains(r#"<meta name="referrer" content="no-referrer">"#));
}

#[test]
fn merchant_text_is_escaped() {
    let mut view = support::voucher();
    view.merchant_name = "<script>alert(1)</script>".into();
    view.description = Some("\"><img src=x>".into());

    let html = render_voucher_html(&view, Lang::Es).unwrap();

    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img"));
    assert!(
        html.contains("&#60;script&#62;alert(1)"),
        "escaped, not dropped"
    );
}

#[test]
fn a_voucher_that_cannot_be_paid_shows_a_notice_and_no_barcode() {
    let cases = [
        (VoucherStatus::Paid, Lang::Es, "Pago recibido"),
        (VoucherStatus::Paid, Lang::En, "Payment received"),
        (VoucherStatus::Expired, Lang::Es, "Este recibo venció"),
        (VoucherStatus::Expired, Lang::En, "This voucher has expired"),
        (VoucherStatus::Canceled, Lang::Es, "Este recibo fue anulado"),
        (
            VoucherStatus::Canceled,
            Lang::En,
            "This voucher was canceled",
        ),
    ];
    for (status, lang, heading) in cases {
        let mut view = support::voucher();
        view.status = status;

        let html = render_voucher_html(&view, lang).unwrap();

        assert!(html.contains(heading), "{status:?} {lang:?}");
        assert!(!html.contains("<svg"), "{status:?}: no barcode or QR");
        assert!(!html.contains("4280 7357"), "{status:?}: no payment code");
        assert_self_contained(&html);
    }
}

#[test]
fn only_the_nearest_counters_are_listed() {
    let mut view = support::voucher();
    view.counters = (0..COUNTERS_SHOWN_MAX + 3)
        .map(|i| {
            let mut c = support::counters().remove(0);
            c.name = format!("Punto número {i}");
            c
        })
        .collect();

    let html = render_voucher_html(&view, Lang::Es).unwrap();

    assert!(html.contains(&format!("Punto número {}", COUNTERS_SHOWN_MAX - 1)));
    assert!(!html.contains(&format!("Punto número {COUNTERS_SHOWN_MAX}")));
}

#[test]
fn a_barcode_for_another_amount_or_code_is_refused() {
    let mut view = support::voucher();
    view.amount = 15_000;
    assert!(matches!(
        render_voucher_html(&view, Lang::Es),
        Err(PagesError::BarcodeAmountMismatch {
            barcode: 150_000,
            voucher: 15_000
        })
    ));

    let mut view = support::voucher();
    view.payment_code = "4280 7358".into();
    assert!(matches!(
        render_voucher_html(&view, Lang::Es),
        Err(PagesError::BarcodeReferenceMismatch { .. })
    ));

    let mut view = support::voucher();
    view.barcode_data = "(415)7709998000016(8020)42807357(3900)150000(96)20261128".into();
    assert!(matches!(
        render_voucher_html(&view, Lang::Es),
        Err(PagesError::Barcode(_))
    ));
}

#[test]
fn the_pickup_page_says_what_to_bring_the_code_where_and_until_when() {
    let html = render_pickup_html(&support::pickup(), Lang::Es).unwrap();

    assert!(html.contains("Hola, Luis."));
    assert!(html.contains("$ 200.000"));
    assert!(html.contains(">5821 0937 44<"));
    assert!(html.contains("Tu cédula de ciudadanía original (número terminado en 543)."));
    // 17:30 UTC is 12:30 in Bogotá.
    assert!(html.contains("hasta el 02/12/2026 a las 12:30"));
    assert!(html.contains("Ve a cualquier punto Efecty"));
    assert!(html.contains("Efecty Galerías"));
    assert!(html.contains("No compartas este código"));
    assert!(html.contains("@media print"));
    assert_self_contained(&html);

    let en = render_pickup_html(&support::pickup(), Lang::En).unwrap();
    assert!(en.contains("Your original Colombian citizenship card (cédula de ciudadanía)"));
    assert!(en.contains("until 2 December 2026 at 12:30 (Colombia time)"));
    assert!(en.contains("What to bring"));
}

#[test]
fn the_pickup_page_never_shows_the_full_document_number() {
    for lang in [Lang::Es, Lang::En] {
        let html = render_pickup_html(&support::pickup(), lang).unwrap();
        let full = support::FULL_DOCUMENT_NUMBER;
        // No run of more than the last three characters of the number appears.
        for start in 0..full.len() - 3 {
            assert!(
                !html.contains(&full[start..]),
                "{lang:?} shows {}",
                &full[start..]
            );
        }
    }
    assert_eq!(
        DocumentHint::from_full_number("1.020.304.050")
            .unwrap()
            .last_chars(),
        "050"
    );
    assert_eq!(
        DocumentHint::from_full_number("12345"),
        None,
        "too short to hide anything"
    );
}

#[test]
fn a_pickup_that_cannot_be_collected_shows_a_notice_and_no_code() {
    let cases = [
        (PickupStatus::Pending, "Estamos preparando tu giro"),
        (PickupStatus::Paid, "Giro cobrado"),
        (PickupStatus::Expired, "Este giro venció"),
        (PickupStatus::Canceled, "Este giro fue anulado"),
        (PickupStatus::Failed, "Este giro no está disponible"),
        (PickupStatus::OnHold, "Tu giro está en revisión"),
    ];
    for (status, heading) in cases {
        let mut view = support::pickup();
        view.status = status;

        let html = render_pickup_html(&view, Lang::Es).unwrap();

        assert!(html.contains(heading), "{status:?}");
        assert!(!html.contains("5821"), "{status:?}: no code");
    }
}

#[test]
fn the_not_found_page_exists_in_both_languages() {
    let es = render_not_found_html(Lang::Es).unwrap();
    assert!(es.contains("No encontramos esta página"));
    assert_self_contained(&es);
    let en = render_not_found_html(Lang::En).unwrap();
    assert!(en.contains("Page not found"));
    assert_eq!(Lang::from_query(Some("EN")), Lang::En);
    assert_eq!(Lang::from_query(Some("fr")), Lang::Es);
    assert_eq!(Lang::from_query(None), Lang::Es);
}

#[test]
fn a_voucher_without_a_barcode_shows_the_code_alone() {
    let mut view = support::voucher();
    view.barcode_data = String::new();

    let html = render_voucher_html(&view, Lang::Es).unwrap();

    assert_eq!(html.matches("<svg ").count(), 1, "the QR only");
    assert!(html.contains(">4280 7357<"));
    assert!(!html.contains("código de barras"));
    let pdf = cajero_pages::render_voucher_pdf(&view).unwrap();
    assert!(!pdf.is_empty());
}
