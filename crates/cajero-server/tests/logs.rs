//! Nothing cajero logs while it works with every gateway holds a configured secret (issue 13)
//! or a person's name or document number (issue 18):
//! a binary of its own, so that its subscriber can be the global one and see every thread at
//! TRACE without slowing the API suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code, unused_macros, unused_imports)]
#[path = "api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "api/live_support.rs"]
mod live_support;

use std::sync::{Arc, Mutex};

use helpers::Engine;
use live_support::*;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_logged_or_printed() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let live = Live::start(Engine::Sqlite, Routes::All).await.unwrap();
    live.fund(500_000).await;
    let payin = live
        .created("/v1/payins", "logs-1", payin_body(150_000))
        .await;
    live.pay(COUNTER, &payin, 150_000).await;
    let mut sured = payin_body(40_000);
    sured["network"] = json!("sured");
    let sured = live.created("/v1/payins", "logs-2", sured).await;
    live.pay("SR-BOG-001", &sured, 40_000).await;
    let payout = live
        .created(
            "/v1/payouts",
            "logs-3",
            json!({"amount": 100_000, "currency": "COP",
                   "beneficiary": {"name": "Luis Pérez",
                                   "document": {"type": "CC", "number": "79876543"}}}),
        )
        .await;
    let code = payout["pickup"]["code"].as_str().unwrap().replace(' ', "");
    live.control
        .collect(COUNTER, &code, "79876543")
        .await
        .unwrap();
    live.control.flush_callbacks(true).await.unwrap();
    // Callbacks with bad signatures are refused (and logged).
    for receiver in ["dlocal", "payu", "kushki"] {
        let forged = live
            .app
            .http
            .post(live.app.url(&format!("/callbacks/{receiver}")))
            .header("x-kushki-signature", "00")
            .header("authorization", "V2-HMAC-SHA256, Signature: 00")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 401, "{receiver}");
    }
    let printed = format!(
        "{:?} {:?}",
        live.app.server.state.config, live.app.server.state.networks
    );
    live.app.server.stop().await.unwrap();
    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logs.contains("TRACE"), "nothing was captured at TRACE");
    assert!(logs.contains("callback"), "{logs}");
    Live::assert_no_secret("the logs", &logs);
    // Nor a person's data (Ley 1581): logs name orders by id, never their people.
    for personal in ["79876543", "1020304050", "Pérez", "Gómez"] {
        assert!(!logs.contains(personal), "{personal} is in the logs");
    }
    Live::assert_no_secret("Debug of the configuration and networks", &printed);
}
