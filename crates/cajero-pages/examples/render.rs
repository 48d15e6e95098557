//! Writes sample pages to a folder, to look at them in a browser or print them:
//! `cargo run -p cajero-pages --example render -- /tmp/pages`.

use std::path::PathBuf;

use cajero_pages::{
    CounterView, DocumentHint, Lang, PickupStatus, PickupView, VoucherStatus, VoucherView,
    render_not_found_html, render_pickup_html, render_pickup_pdf, render_voucher_html,
    render_voucher_pdf,
};

fn counters() -> Vec<CounterView> {
    let counter = |name: &str, address: &str, extended_hours: bool| CounterView {
        name: name.into(),
        address: address.into(),
        city: "Bogotá".into(),
        hours: if extended_hours {
            "Todos los días 08:00–22:00, incluye festivos".into()
        } else {
            "Lun–Vie 08:00–18:00, Sáb 08:00–13:00".into()
        },
        extended_hours,
    };
    vec![
        counter("Efecty Chapinero Calle 57", "Carrera 13 # 57-24", false),
        counter("Efecty Éxito Calle 80", "Avenida Calle 80 # 69Q-50", true),
        counter("Efecty Galerías", "Calle 53 # 25-13", false),
        counter("Efecty Teusaquillo", "Carrera 17 # 39-10", false),
        counter("Efecty Centro Internacional", "Carrera 10 # 26-71", true),
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/pages".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let voucher = VoucherView {
        amount: 150_000,
        currency: "COP".into(),
        payment_code: "42807357".into(),
        agreement_code: "111571".into(),
        network_name: "Efecty".into(),
        barcode_data: "(415)7709998000018(8020)42807357(3900)150000(96)20261128".into(),
        expires_at: "2026-11-29T04:59:00Z".parse()?,
        merchant_name: "Tienda Doña Ana".into(),
        reference: "order-1042".into(),
        description: Some("Pedido 1042".into()),
        page_url: "http://127.0.0.1:8080/v/vt_3xK9mQ2rT7wZ1pL8nB4cD6".into(),
        pdf_url: Some("http://127.0.0.1:8080/v/vt_3xK9mQ2rT7wZ1pL8nB4cD6.pdf".into()),
        counters: counters(),
        status: VoucherStatus::Pending,
    };
    let pickup = PickupView {
        amount: 200_000,
        currency: "COP".into(),
        pickup_code: "5821093744".into(),
        beneficiary_first_name: "Luis".into(),
        document_type: "CC".into(),
        document_hint: DocumentHint::from_full_number("79876543"),
        merchant_name: "Giros La Esperanza".into(),
        expires_at: "2026-12-02T17:30:00Z".parse()?,
        network_name: "Efecty".into(),
        counters: counters(),
        status: PickupStatus::Available,
        pdf_url: Some("https://pagos.example.co/p/tok.pdf".into()),
    };
    let expired = VoucherView {
        status: VoucherStatus::Expired,
        ..voucher.clone()
    };
    let files = [
        ("voucher.html", render_voucher_html(&voucher, Lang::Es)?),
        ("voucher.en.html", render_voucher_html(&voucher, Lang::En)?),
        (
            "voucher-expired.html",
            render_voucher_html(&expired, Lang::Es)?,
        ),
        ("pickup.html", render_pickup_html(&pickup, Lang::Es)?),
        ("pickup.en.html", render_pickup_html(&pickup, Lang::En)?),
        ("not-found.html", render_not_found_html(Lang::Es)?),
    ];
    for (name, html) in files {
        std::fs::write(dir.join(name), html)?;
    }
    std::fs::write(dir.join("voucher.pdf"), render_voucher_pdf(&voucher)?)?;
    std::fs::write(dir.join("pickup.pdf"), render_pickup_pdf(&pickup)?)?;
    println!("wrote {}", dir.display());
    Ok(())
}
