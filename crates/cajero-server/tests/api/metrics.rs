//! `/metrics` after some traffic: the series of docs/metrics.md are there with their labels,
//! and no label carries a merchant id, a reference, a name or a document.

use std::collections::HashMap;
use std::sync::Mutex;

use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::workers::Worker as _;
use serde_json::{Value, json};

use crate::helpers::{METRICS_TOKEN, TestApp};

crate::both_engines!(metrics_show_counter_attempts_jobs_backlogs_and_no_personal_data);

/// What the test's traffic carries that must never be a label value.
const REFERENCE: &str = "giro-metrics-4471";
const DOCUMENT: &str = "79876543";
const WRONG_DOCUMENT: &str = "11111112";
const NAME: &str = "Luis Pérez";
const PHONE: &str = "+573009876543";

async fn post(app: &TestApp, key: &str, path: &str, idem: &str, body: &Value) -> Value {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let value: Value = response.json().await.unwrap();
    assert!(status == 200 || status == 201, "{path}: {status} {value}");
    value
}

async fn scrape(app: &TestApp) -> String {
    app.http
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Whether a sample of `name` has every one of `labels` (`key="value"`).
fn has_series(text: &str, name: &str, labels: &[&str]) -> bool {
    text.lines().any(|l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            && labels.iter().all(|label| l.contains(label))
    })
}

async fn metrics_show_counter_attempts_jobs_backlogs_and_no_personal_data(app: &TestApp) {
    let merchant = app.merchant("Tienda Metrics", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    post(
        app,
        &key,
        "/v1/topups",
        "m-topup",
        &json!({"amount": 500_000, "currency": "COP"}),
    )
    .await;
    let body = json!({"amount": 120_000, "currency": "COP", "reference": REFERENCE,
        "beneficiary": {"name": NAME, "document": {"type": "CC", "number": DOCUMENT},
                        "phone": PHONE}});
    let payout = post(app, &key, "/v1/payouts", "m-payout", &body).await;
    let id = payout["id"].as_str().unwrap();
    let network = payout["network"].as_str().unwrap().to_owned();
    let code = payout["pickup"]["code"].as_str().unwrap();
    let wrong = post(
        app,
        &key,
        &format!("/v1/test_helpers/payouts/{id}/collect"),
        "m-collect",
        &json!({"code": code, "document_number": WRONG_DOCUMENT}),
    )
    .await;
    assert_eq!(wrong["outcome"], "document_mismatch", "{wrong}");
    // The daily reconciliation, one step (its worker is off in tests): it imports the last
    // days' files from the simulator.
    cajero_server::reconciliation::job::ReconciliationWorker {
        state: app.server.state.clone(),
        attempts: Mutex::new(HashMap::new()),
    }
    .step()
    .await
    .unwrap();
    // The gauges read from the database are refreshed at start and every 5 s; at once here.
    cajero_server::metrics::gauges::refresh(&app.server.state)
        .await
        .unwrap();

    let text = scrape(app).await;

    let network_label = format!("network=\"{network}\"");
    assert!(
        has_series(
            &text,
            "cajero_counter_attempts_total",
            &[&network_label, "outcome=\"document_mismatch\""]
        ),
        "{text}"
    );
    for (name, labels) in [
        (
            "cajero_job_runs_total",
            &["job=\"reconciliation\"", "result=\"succeeded\""][..],
        ),
        (
            "cajero_job_last_success_timestamp_seconds",
            &["job=\"reconciliation\""][..],
        ),
        (
            "cajero_job_runs_total",
            &["job=\"settlement\"", "result=\"succeeded\""][..],
        ),
        (
            "cajero_reconciliation_unexplained_difference_cop",
            &["mode=\"test\"", "kind=\"collection\"", "network=\""][..],
        ),
        (
            "cajero_reconciliation_open_exceptions",
            &["mode=\"test\""][..],
        ),
        ("cajero_webhook_outbox_due", &[][..]),
        ("cajero_webhook_deliveries_pending", &[][..]),
    ] {
        assert!(
            has_series(&text, name, labels),
            "{name} {labels:?}:\n{text}"
        );
    }
    if app.server.state.store.writer_queue_depth().is_some() {
        assert!(has_series(&text, "cajero_store_writer_queue_depth", &[]));
    }
    let labels = label_text(&text);
    let bare_code = code.replace(' ', "");
    for secret in [
        merchant.to_string().as_str(),
        REFERENCE,
        DOCUMENT,
        WRONG_DOCUMENT,
        NAME,
        "Pérez",
        PHONE,
        id,
        code,
        &bare_code,
        &key,
    ] {
        assert!(
            !labels.contains(secret),
            "{secret:?} is in a label of /metrics:\n{text}"
        );
    }
}

/// Every sample's labels (`{…}`), one line each: values are numbers, and a number could
/// contain a document's digits by chance.
fn label_text(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| Some(&l[l.find('{')?..=l.rfind('}')?]))
        .collect::<Vec<_>>()
        .join("\n")
}
