//! The cashier page over plain HTTP: forms that work without JavaScript.

use crate::common::*;

async fn post_form(sim: &TestSim, path: &str, form: &str) -> (u16, String) {
    let r = sim
        .http
        .post(sim.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_page_has_two_plain_forms_and_no_script() {
    let sim = start().await;
    let (status, html) = sim.text("/ventanilla").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<html lang="es">"#));
    assert!(html.contains(r#"<form method="post" action="/ventanilla/pagar">"#));
    assert!(html.contains(r#"<form method="post" action="/ventanilla/retirar">"#));
    for field in [
        r#"name="punto""#,
        r#"name="codigo""#,
        r#"name="valor""#,
        r#"name="documento""#,
    ] {
        assert!(html.contains(field), "{field}");
    }
    assert!(html.contains(&format!(r#"<option value="{REGULAR_COUNTER}">"#)));
    assert!(!html.to_lowercase().contains("<script"));
}

#[tokio::test]
async fn a_cashier_takes_a_voucher_payment_through_the_form() {
    let sim = start().await;
    let v = sim.voucher("v-1", 150_000).await;
    let code = v["payment_code"].as_str().unwrap();
    let (status, html) = post_form(
        &sim,
        "/ventanilla/pagar",
        &format!("punto={REGULAR_COUNTER}&codigo={code}&valor=150.000"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Operación aprobada."));
    assert!(html.contains("$ 150.000"));
    let r = sim
        .signed("GET", "/v1/collections/by_reference/v-1", None)
        .await;
    assert_eq!(r.body["status"], "paid");
    let (status, html) = post_form(
        &sim,
        "/ventanilla/pagar",
        &format!("punto={REGULAR_COUNTER}&codigo={code}&valor=150000"),
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Esta operación ya fue pagada."));
}

#[tokio::test]
async fn a_cashier_pays_out_a_payout_only_to_the_right_document() {
    let sim = start().await;
    let p = sim.payout("v-2", 200_000).await;
    let code = p["pickup_code"].as_str().unwrap();
    let (status, html) = post_form(
        &sim,
        "/ventanilla/retirar",
        &format!("punto={REGULAR_COUNTER}&codigo={code}&documento=123"),
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("El documento no corresponde al beneficiario."));
    let (status, html) = post_form(
        &sim,
        "/ventanilla/retirar",
        &format!("punto={REGULAR_COUNTER}&codigo={code}&documento=79876543"),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Luis P&#x00e9;rez") || html.contains("Luis Pérez"),
        "{html}"
    );
    assert!(html.contains("$ 200.000"));
    let (status, html) = post_form(
        &sim,
        "/ventanilla/retirar",
        "punto=NOPE&codigo=1&documento=1",
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("El punto no existe."));
}
