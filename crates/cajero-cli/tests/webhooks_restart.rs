//! Outgoing webhooks survive a crash: the `cajero serve` process is killed (SIGKILL) while
//! deliveries are in flight and started again on the same database; every event ends up
//! delivered, each request verified with the official Standard Webhooks library.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

/// Events sent through the crash.
const EVENTS: usize = 60;
/// The receiver takes this long to answer, so that deliveries are in flight at the kill.
const RECEIVER_DELAY_MS: u64 = 700;

fn cajero_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_cajero"))
        .args(args)
        .env_remove("CAJERO_DATABASE_URL")
        .env_remove("CAJERO_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Starts `cajero serve` on `db`; the caller kills and waits for it.
#[allow(clippy::zombie_processes)] // the caller reaps it; a start-up failure panics the test
async fn serve(db: &str) -> (Child, String) {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_cajero"))
        .args(["serve", "--listen", &listen, "--database-url", db])
        .env_remove("CAJERO_CONFIG")
        // The same instance on every start (the port changes), so that the restarted one takes
        // over the killed one's deliveries at once.
        .env("CAJERO_INSTANCE_ID", "webhooks-restart-test")
        .env("CAJERO_WEBHOOKS__TIMEOUT_MS", "3000")
        .env("CAJERO_WEBHOOKS__IDLE_POLL_MS", "50")
        .env("CAJERO_WEBHOOKS__ENDPOINT_CONCURRENCY_MAX", "16")
        // The test polls 60 events ten times a second: far over the per-key rate limit.
        .env("CAJERO_RATE_LIMITS__PER_KEY_PER_SECOND", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server never answered /healthz");
}

#[derive(Default)]
struct Log {
    secret: String,
    verified: BTreeSet<String>,
    unverified: usize,
    requests: usize,
}

async fn receive(
    State(log): State<Arc<Mutex<Log>>>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    {
        let mut log = log.lock().unwrap();
        log.requests += 1;
        let hook = standardwebhooks::Webhook::new(&log.secret).unwrap();
        match hook.verify(&body, &headers) {
            Ok(()) => {
                let id = headers["webhook-id"].to_str().unwrap().to_string();
                log.verified.insert(id);
            }
            Err(_) => log.unverified += 1,
        }
    }
    tokio::time::sleep(Duration::from_millis(RECEIVER_DELAY_MS)).await;
    "ok"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let merchant = cajero_json(&[
        "merchant",
        "create",
        "--name",
        "Tienda",
        "--database-url",
        &db,
        "--json",
    ]);
    let merchant_id = merchant["id"].as_str().unwrap().to_string();
    let key = cajero_json(&[
        "key",
        "create",
        "--merchant",
        &merchant_id,
        "--mode",
        "test",
        "--database-url",
        &db,
        "--json",
    ]);
    let key = key["secret"].as_str().unwrap().to_string();

    let log = Arc::new(Mutex::new(Log::default()));
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(receive))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (mut server, base) = serve(&db).await;
    let http = reqwest::Client::new();
    let endpoint: Value = http
        .post(format!("{base}/v1/webhook_endpoints"))
        .bearer_auth(&key)
        .json(&json!({"url": receiver_url, "enabled_events": ["*"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.lock().unwrap().secret = endpoint["secret"].as_str().unwrap().to_string();
    let mut events = Vec::new();
    for i in 0..EVENTS {
        let event: Value = http
            .post(format!("{base}/v1/test_helpers/events"))
            .bearer_auth(&key)
            .json(&json!({"type": "payout.paid", "object": {"n": i}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        events.push(event["id"].as_str().unwrap().to_string());
    }

    // Kill it while the receiver holds deliveries open.
    for _ in 0..400 {
        if log.lock().unwrap().requests > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(log.lock().unwrap().requests > 0, "no delivery started");
    server.kill().unwrap();
    server.wait().unwrap();
    let at_kill = log.lock().unwrap().verified.len();

    let (mut server, base) = serve(&db).await;
    let mut delivered = 0;
    for _ in 0..600 {
        let mut done = 0;
        for id in &events {
            let event: Value = http
                .get(format!("{base}/v1/events/{id}"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if event["deliveries"][0]["status"] == "succeeded" {
                done += 1;
            }
        }
        delivered = done;
        if delivered == EVENTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let log = log.lock().unwrap();
    eprintln!(
        "{} requests for {EVENTS} events ({at_kill} had arrived at the kill)",
        log.requests
    );
    assert_eq!(
        delivered, EVENTS,
        "deliveries recorded as succeeded after the restart"
    );
    assert_eq!(log.unverified, 0);
    let expected: BTreeSet<String> = events.into_iter().collect();
    assert_eq!(log.verified, expected);
    assert!(
        at_kill < EVENTS,
        "the kill came after every delivery: it tested nothing"
    );
}
