//! The customer's pages through HTTP: voucher, its PDF, pick-up instructions, unknown tokens.

use cajero_domain::merchant::{MerchantStatus, Mode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

crate::both_engines!(
    the_voucher_page_shows_what_the_customer_needs,
    the_pickup_page_never_shows_the_full_document,
);

async fn create(app: &TestApp, key: &str, path: &str, idem: &str, body: Value) -> Value {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

async fn key(app: &TestApp) -> String {
    let m = app.merchant("Tienda Página", MerchantStatus::Active).await;
    app.key(m, Mode::Test).await.1
}

async fn the_voucher_page_shows_what_the_customer_needs(app: &TestApp) {
    let key = key(app).await;
    let payin = create(
        app,
        &key,
        "/v1/payins",
        "p1",
        json!({"amount": 150000, "currency": "COP", "reference": "order-1042"}),
    )
    .await;
    let url = payin["voucher"]["url"].as_str().unwrap();
    let page = app.http.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    let code = payin["voucher"]["payment_code"].as_str().unwrap();
    assert!(html.contains(code), "the grouped payment code");
    assert!(html.contains("150.000"), "the amount, Colombian style");
    assert!(html.contains("111571"), "the agreement code");
    assert!(html.contains("<svg"), "barcode and QR inline");
    assert!(!html.contains(&key), "no secrets");
    let english = app
        .http
        .get(format!("{url}?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(english, html);
    let pdf = app
        .http
        .get(payin["voucher"]["pdf_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    let missing = app
        .http
        .get(app.url("/v/not-a-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(
        missing.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

async fn the_pickup_page_never_shows_the_full_document(app: &TestApp) {
    let key = key(app).await;
    create(
        app,
        &key,
        "/v1/topups",
        "t",
        json!({"amount": 500000, "currency": "COP"}),
    )
    .await;
    let payout = create(
        app,
        &key,
        "/v1/payouts",
        "po",
        json!({"amount": 200000, "currency": "COP",
        "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"}}}),
    )
    .await;
    let page = app
        .http
        .get(payout["pickup"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Luis"));
    assert!(!html.contains("Pérez"), "first name only");
    assert!(!html.contains("79876543"), "never the full document number");
    let code = payout["pickup"]["code"].as_str().unwrap();
    assert!(
        html.contains(code) || html.contains(&code.replace(' ', "")),
        "the pick-up code"
    );

    let pdf_url = payout["pickup"]["pdf_url"].as_str().unwrap();
    assert!(html.contains(pdf_url), "the page links its PDF");
    let pdf = app.http.get(pdf_url).send().await.unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(
        bytes.windows(code.len()).any(|w| w == code.as_bytes()),
        "the PDF carries the code"
    );
    assert!(!bytes.windows(8).any(|w| w == b"79876543"));
    let unknown = app
        .http
        .get(app.url("/p/pt_unknown.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}
