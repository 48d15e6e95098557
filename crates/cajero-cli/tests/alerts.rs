//! `cajero alerts list` and `cajero alerts resolve`, driven as an operator would: an alert the
//! server raised (here through the same service) is listed, filtered, resolved by hand once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use cajero_domain::merchant::Mode;
use cajero_server::alerts::{self, AlertSpec, Severity, codes};
use serde_json::json;

fn cajero(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cajero"))
        .args(args)
        .env_remove("CAJERO_DATABASE_URL")
        .env_remove("CAJERO_CONFIG")
        .output()
        .unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_lists_alerts_and_resolves_one_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let d = ["--database-url", db.as_str(), "--json"];
    let with = |args: &[&str]| cajero(&[args, &d[..]].concat());
    json(&with(&["migrate"]));
    let empty = json(&with(&["alerts", "list"]));
    assert_eq!(empty["data"], json!([]));

    let store = cajero_store::Store::open(&db, &cajero_store::StoreOptions::default())
        .await
        .unwrap();
    let now = jiff::Timestamp::now();
    for (code, subject) in [
        (codes::NETWORK_DOWN, "sured"),
        (codes::UIAF_REPORT_DUE, "uiaf:2026-11"),
    ] {
        store
            .write(move |mut c| {
                Box::pin(async move {
                    let spec = AlertSpec {
                        mode: Mode::Test,
                        code,
                        subject: subject.into(),
                        merchant: None,
                        severity: Severity::Critical,
                        message: format!("{code} on {subject}"),
                        details: json!({}),
                    };
                    alerts::raise(&mut c, now, spec).await
                })
            })
            .await
            .unwrap();
    }
    store.close().await;

    let all = json(&with(&["alerts", "list"]));
    assert_eq!(all["data"].as_array().unwrap().len(), 2, "{all}");
    let down = json(&with(&[
        "alerts",
        "list",
        "--open",
        "--mode",
        "test",
        "--code",
        "network_down",
    ]));
    let data = down["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{down}");
    let id = data[0]["id"].as_str().unwrap().to_string();
    assert!(
        json(&with(&["alerts", "list", "--mode", "live"]))["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let resolved = json(&with(&[
        "alerts",
        "resolve",
        &id,
        "--note",
        "SuRed confirmed the fix",
    ]));
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolution"], "SuRed confirmed the fix");
    let open = json(&with(&["alerts", "list", "--open"]));
    assert_eq!(open["data"].as_array().unwrap().len(), 1, "{open}");

    let again = with(&["alerts", "resolve", &id, "--note", "twice"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not open"));
    let bad = with(&["alerts", "list", "--code", "nope"]);
    assert!(!bad.status.success());
    let text = cajero(&["alerts", "list", "--database-url", db.as_str()]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("network_down on sured"));
}
