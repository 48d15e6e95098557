//! Alerts on both engines: de-duplication, concurrent raises, the cool-down, resolution, who
//! hears of a network's alert, the merchant's API, the operator's channels (an SMTP sink and
//! an incoming-webhook receiver) and a failing webhook endpoint.

use std::sync::{Arc, Mutex};

use cajero_domain::id::{AlertId, MerchantId};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::alerts::notify::{Notifier, NotifyStats};
use cajero_server::alerts::{self, AlertSpec, AlertsConfig, Raised, Severity, codes};
use cajero_server::clock::Clock;
use cajero_server::config::Secret;
use cajero_store::StoreError;
use jiff::SignedDuration;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{Engine, TestApp, spawn_app_with};
use crate::receiver::Behaviour;
use crate::webhook_support::Ctx;

/// Runs each test once per engine on an app whose notifier is off (the tests drive their own).
macro_rules! alert_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = super::app(super::Engine::Sqlite).await.unwrap();
                    super::$name(&app).await;
                    app.server.stop().await.unwrap();
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = super::app(super::Engine::Postgres).await else {
                        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                        return;
                    };
                    super::$name(&app).await;
                    app.server.stop().await.unwrap();
                }
            )*
        }
    };
}

alert_tests!(
    raising_an_open_alert_again_only_counts_it,
    two_instances_raising_at_once_open_one_alert,
    a_reopen_and_a_new_raise_of_one_key_at_once_leave_one_open_alert,
    a_resolved_alert_raised_within_the_cooldown_is_reopened_without_telling_the_operator_again,
    resolving_sends_alert_resolved_and_resolving_nothing_does_nothing,
    a_network_alert_reaches_the_merchants_with_orders_there_and_no_one_else,
    merchants_list_and_read_only_their_alerts_in_their_mode,
    the_operator_is_emailed_and_posted_to_and_a_failing_channel_is_retried_alone,
);

mod endpoint_failing {
    crate::webhook_tests!(a_failing_webhook_endpoint_raises_an_alert_and_recovers);

    use super::*;
}

async fn app(engine: Engine) -> Option<TestApp> {
    let start = jiff::Timestamp::from_second(1_764_000_000).unwrap();
    spawn_app_with(engine, start, |config| {
        config.alerts.notifier_enabled = false;
    })
    .await
}

fn spec(mode: Mode, code: &'static str, subject: &str, merchant: Option<MerchantId>) -> AlertSpec {
    AlertSpec {
        mode,
        code,
        subject: subject.to_string(),
        merchant,
        severity: Severity::Warning,
        message: format!("{code} on {subject}"),
        details: json!({"seen": true}),
    }
}

async fn raise(app: &TestApp, spec: AlertSpec) -> Raised {
    let now = app.clock.now();
    app.server
        .state
        .store
        .write(move |mut c| Box::pin(async move { alerts::raise(&mut c, now, spec).await }))
        .await
        .unwrap()
}

async fn resolve(
    app: &TestApp,
    code: &'static str,
    subject: &str,
    merchant: Option<MerchantId>,
) -> Option<AlertId> {
    let now = app.clock.now();
    let subject = subject.to_string();
    app.server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                alerts::resolve(&mut c, now, Mode::Test, code, &subject, merchant, "fixed").await
            })
        })
        .await
        .unwrap()
}

async fn get(app: &TestApp, key: &str, path: &str) -> Value {
    let response = app.get_with_key(path, key).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

/// The `alert.*` events the key's merchant has, oldest first: (type, alert id).
async fn alert_events(app: &TestApp, key: &str) -> Vec<(String, String)> {
    let body = get(app, key, "/v1/events?type=alert.*&limit=100").await;
    let mut events: Vec<(String, String)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["data"]["object"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    events.reverse();
    events
}

async fn merchant_with_key(app: &TestApp, name: &str) -> (MerchantId, String) {
    let m = app.merchant(name, MerchantStatus::Active).await;
    let (_, key) = app.key(m, Mode::Test).await;
    (m, key)
}

fn advance(app: &TestApp, minutes: i64) {
    app.clock.advance(SignedDuration::from_mins(minutes));
}

async fn raising_an_open_alert_again_only_counts_it(app: &TestApp) {
    let (m, key) = merchant_with_key(app, "A").await;
    let first = raise(
        app,
        spec(Mode::Test, codes::FX_RATE_MISSING, "COP/USD:x", Some(m)),
    )
    .await;
    advance(app, 1);
    let second = raise(
        app,
        spec(Mode::Test, codes::FX_RATE_MISSING, "COP/USD:x", Some(m)),
    )
    .await;
    let Raised::New(id) = first else {
        panic!("{first:?}")
    };
    assert_eq!(second, Raised::AlreadyOpen(id));
    let list = get(app, &key, "/v1/alerts").await;
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{list}");
    assert_eq!(data[0]["id"], id.to_string());
    assert_eq!(data[0]["occurrences"], 2);
    assert_eq!(data[0]["status"], "open");
    assert_ne!(data[0]["raised_at"], data[0]["last_seen_at"]);
    assert_eq!(
        alert_events(app, &key).await,
        vec![("alert.raised".to_string(), id.to_string())]
    );
}

async fn two_instances_raising_at_once_open_one_alert(app: &TestApp) {
    let mut raises = Vec::new();
    for _ in 0..8 {
        let store = app.server.state.store.clone();
        let now = app.clock.now();
        raises.push(tokio::spawn(async move {
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        let spec = spec(Mode::Test, codes::NETWORK_DOWN, "sured", None);
                        alerts::raise(&mut c, now, spec).await
                    })
                })
                .await
        }));
    }
    let mut ids = Vec::new();
    let mut new = 0;
    for raise in raises {
        let raised: Result<Raised, StoreError> = raise.await.unwrap();
        let raised = raised.unwrap();
        new += usize::from(matches!(raised, Raised::New(_)));
        ids.push(raised.id());
    }
    assert_eq!(new, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let rows = operator_list(app, true).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].occurrences, 8);
}

async fn operator_list(app: &TestApp, open: bool) -> Vec<cajero_store::alerts::AlertRow> {
    let filter = cajero_store::alerts::AlertFilter {
        status: open.then(|| "open".to_string()),
        ..Default::default()
    };
    app.server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let page = cajero_store::page::PageRequest {
                    limit: 100,
                    cursor: cajero_store::page::Cursor::Newest,
                };
                cajero_store::alerts::list(&mut c, &filter, &page).await
            })
        })
        .await
        .unwrap()
        .data
}

async fn a_resolved_alert_raised_within_the_cooldown_is_reopened_without_telling_the_operator_again(
    app: &TestApp,
) {
    let (m, key) = merchant_with_key(app, "A").await;
    let hook = Hook::start(0).await;
    let notifier = notifier_to(&hook, None);
    let code = codes::WEBHOOK_ENDPOINT_FAILING;
    let Raised::New(id) = raise(app, spec(Mode::Test, code, "we_1", Some(m))).await else {
        panic!()
    };
    assert_eq!(notify(app, &notifier).await.sent, 1);
    assert_eq!(hook.texts().len(), 1);
    assert!(hook.texts()[0].contains("OPEN"), "{:?}", hook.texts());

    advance(app, 2);
    assert_eq!(resolve(app, code, "we_1", Some(m)).await, Some(id));
    advance(app, 2);
    let again = raise(app, spec(Mode::Test, code, "we_1", Some(m))).await;
    assert_eq!(again, Raised::Reopened(id));
    // Merchants see every state; the operator heard of it 4 minutes ago: nothing now.
    assert_eq!(
        alert_events(app, &key).await,
        vec![
            ("alert.raised".to_string(), id.to_string()),
            ("alert.resolved".to_string(), id.to_string()),
            ("alert.raised".to_string(), id.to_string()),
        ]
    );
    assert_eq!(notify(app, &notifier).await, NotifyStats::default());
    // Once the cool-down has passed, the operator still knows it open: nothing new to say.
    advance(app, 12);
    assert_eq!(notify(app, &notifier).await.unchanged, 1);
    assert_eq!(hook.texts().len(), 1);
    // Past the cool-down, a resolution and a new raise are a new alert, told at once.
    advance(app, 1);
    resolve(app, code, "we_1", Some(m)).await.unwrap();
    advance(app, 16);
    let Raised::New(other) = raise(app, spec(Mode::Test, code, "we_1", Some(m))).await else {
        panic!()
    };
    assert_ne!(other, id);
    let stats = notify(app, &notifier).await;
    assert_eq!(stats.sent, 2, "{stats:?}");
    let texts = hook.texts();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(
        texts[1..].iter().any(|t| t.contains("RESOLVED")),
        "{texts:?}"
    );
}

async fn resolving_sends_alert_resolved_and_resolving_nothing_does_nothing(app: &TestApp) {
    let (m, key) = merchant_with_key(app, "A").await;
    assert_eq!(
        resolve(app, codes::LEDGER_CHECK_FAILED, "ledger", Some(m)).await,
        None
    );
    let id = raise(
        app,
        spec(Mode::Test, codes::LEDGER_CHECK_FAILED, "ledger", Some(m)),
    )
    .await
    .id();
    advance(app, 1);
    assert_eq!(
        resolve(app, codes::LEDGER_CHECK_FAILED, "ledger", Some(m)).await,
        Some(id)
    );
    assert_eq!(
        resolve(app, codes::LEDGER_CHECK_FAILED, "ledger", Some(m)).await,
        None
    );
    let events = get(app, &key, "/v1/events?type=alert.resolved").await;
    let data = events["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{events}");
    let object = &data[0]["data"]["object"];
    assert_eq!(object["object"], "alert");
    assert_eq!(object["status"], "resolved");
    assert_eq!(object["resolution"], "fixed");
    assert_eq!(object["code"], "ledger_check_failed");
    assert!(object["resolved_at"].is_string());
    let shown = get(app, &key, &format!("/v1/alerts/{id}")).await;
    assert_eq!(shown["status"], "resolved");
    let open = get(app, &key, "/v1/alerts?status=open").await;
    assert!(open["data"].as_array().unwrap().is_empty(), "{open}");
}

async fn a_network_alert_reaches_the_merchants_with_orders_there_and_no_one_else(app: &TestApp) {
    let (_, key_a) = merchant_with_key(app, "A").await;
    let (_, key_b) = merchant_with_key(app, "B").await;
    let response = app
        .http
        .post(app.url("/v1/payins"))
        .bearer_auth(&key_a)
        .header("idempotency-key", "alerts-1")
        .json(
            &json!({"amount": 30_000, "currency": "COP", "reference": "order-7",
            "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let payin: Value = response.json().await.unwrap();
    let network = payin["network"].as_str().unwrap().to_string();
    advance(app, 60);
    let id = raise(app, spec(Mode::Test, codes::NETWORK_DOWN, &network, None))
        .await
        .id();
    advance(app, 1);
    let counter = format!("{network}/counter:CTR123");
    raise(
        app,
        spec(Mode::Test, codes::COUNTER_OUT_OF_CASH, &counter, None),
    )
    .await;
    let events_a = alert_events(app, &key_a).await;
    assert_eq!(events_a.len(), 2, "{events_a:?}");
    assert_eq!(events_a[0], ("alert.raised".to_string(), id.to_string()));
    assert!(alert_events(app, &key_b).await.is_empty());
    let listed = get(app, &key_a, "/v1/alerts?code=network_down").await;
    assert_eq!(listed["data"][0]["id"], id.to_string(), "{listed}");
    assert_eq!(listed["data"][0]["merchant"], Value::Null);
    assert!(
        get(app, &key_b, "/v1/alerts").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let hidden = app.get_with_key(&format!("/v1/alerts/{id}"), &key_b).await;
    crate::helpers::assert_error(hidden, 404, "invalid_request_error", "resource_missing").await;
    // Its resolution reaches the same merchants.
    advance(app, 5);
    resolve(app, codes::NETWORK_DOWN, &network, None)
        .await
        .unwrap();
    assert_eq!(alert_events(app, &key_a).await.len(), 3);
    assert!(alert_events(app, &key_b).await.is_empty());
    // Eight days later A's order no longer makes it concerned by a new alert.
    advance(app, 8 * 24 * 60);
    raise(app, spec(Mode::Test, codes::NETWORK_DOWN, &network, None)).await;
    assert_eq!(alert_events(app, &key_a).await.len(), 3);
}

async fn merchants_list_and_read_only_their_alerts_in_their_mode(app: &TestApp) {
    let (a, key_a) = merchant_with_key(app, "A").await;
    let (_, key_a_live) = app.key(a, Mode::Live).await;
    let (b, key_b) = merchant_with_key(app, "B").await;
    let mut ids = Vec::new();
    for subject in ["we_1", "we_2", "we_3"] {
        ids.push(
            raise(
                app,
                spec(
                    Mode::Test,
                    codes::WEBHOOK_ENDPOINT_FAILING,
                    subject,
                    Some(a),
                ),
            )
            .await
            .id(),
        );
        advance(app, 1);
    }
    raise(
        app,
        spec(Mode::Test, codes::FX_RATE_MISSING, "COP/USD:y", Some(b)),
    )
    .await;
    resolve(app, codes::WEBHOOK_ENDPOINT_FAILING, "we_1", Some(a))
        .await
        .unwrap();

    let page = get(app, &key_a, "/v1/alerts?limit=2").await;
    let data = page["data"].as_array().unwrap();
    assert_eq!(page["object"], "list");
    assert_eq!(page["url"], "/v1/alerts");
    assert_eq!(page["has_more"], true);
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["id"], ids[2].to_string());
    assert_eq!(data[1]["id"], ids[1].to_string());
    let rest = get(
        app,
        &key_a,
        &format!("/v1/alerts?limit=2&starting_after={}", ids[1]),
    )
    .await;
    assert_eq!(rest["data"][0]["id"], ids[0].to_string());
    assert_eq!(rest["has_more"], false);
    let open = get(app, &key_a, "/v1/alerts?status=open").await;
    assert_eq!(open["data"].as_array().unwrap().len(), 2);
    let resolved = get(app, &key_a, "/v1/alerts?status=resolved").await;
    assert_eq!(resolved["data"][0]["id"], ids[0].to_string());
    let by_code = get(app, &key_a, "/v1/alerts?code=fx_rate_missing").await;
    assert!(by_code["data"].as_array().unwrap().is_empty());
    assert_eq!(
        get(app, &key_b, "/v1/alerts").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        get(app, &key_a_live, "/v1/alerts").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let shown = get(app, &key_a, &format!("/v1/alerts/{}", ids[1])).await;
    assert_eq!(shown["object"], "alert");
    assert_eq!(shown["code"], "webhook_endpoint_failing");
    assert_eq!(shown["subject"], "we_2");
    assert_eq!(shown["details"]["seen"], true);
    for (key, id) in [
        (&key_b, ids[1].to_string()),
        (&key_a_live, ids[1].to_string()),
        (&key_a, "alr_nope".into()),
    ] {
        let response = app.get_with_key(&format!("/v1/alerts/{id}"), key).await;
        crate::helpers::assert_error(response, 404, "invalid_request_error", "resource_missing")
            .await;
    }
    for bad in [
        "/v1/alerts?status=closed",
        "/v1/alerts?code=nope",
        "/v1/alerts?limit=0",
    ] {
        let response = app.get_with_key(bad, &key_a).await;
        crate::helpers::assert_error(response, 400, "invalid_request_error", "parameter_invalid")
            .await;
    }
}

async fn the_operator_is_emailed_and_posted_to_and_a_failing_channel_is_retried_alone(
    app: &TestApp,
) {
    let hook = Hook::start(1).await;
    let sink = SmtpSink::start().await;
    let notifier = notifier_to(&hook, Some(&sink));
    let id = raise(app, spec(Mode::Test, codes::NETWORK_DOWN, "sured", None))
        .await
        .id();
    let first = notify(app, &notifier).await;
    assert_eq!(first.failed, 1, "{first:?}");
    assert_eq!(sink.messages().len(), 1);
    let message = &sink.messages()[0];
    assert!(message.contains("network_down"), "{message}");
    assert!(message.contains(&id.to_string()), "{message}");
    assert!(message.contains("To: ops@example.com"), "{message}");
    // Not due before its backoff.
    assert_eq!(notify(app, &notifier).await, NotifyStats::default());
    app.clock.advance(SignedDuration::from_secs(31));
    assert_eq!(notify(app, &notifier).await.sent, 1);
    // The webhook got it on its second attempt; the e-mail was not sent twice.
    let texts = hook.texts();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[1].contains("OPEN warning network_down on sured (platform-wide)"),
        "{texts:?}"
    );
    assert_eq!(sink.messages().len(), 1);
    let row = operator_list(app, true).await.remove(0);
    assert_eq!(row.notify_status, "sent");
    assert_eq!(row.notified_status.as_deref(), Some("open"));
}

async fn a_failing_webhook_endpoint_raises_an_alert_and_recovers(ctx: &Ctx) {
    let receiver = crate::receiver::Receiver::start(false).await;
    let endpoint = ctx.receiver_endpoint(&receiver, &["*"]).await;
    receiver.behave(Behaviour::Status(500, None));
    for _ in 0..cajero_server::workers::webhooks::ENDPOINT_FAILING_ALERT_AFTER {
        ctx.emit("payout.paid").await;
    }
    ctx.run().await;
    let open = ctx.get("/v1/alerts?status=open").await;
    let data = open["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{open}");
    assert_eq!(data[0]["code"], "webhook_endpoint_failing");
    assert_eq!(data[0]["subject"], endpoint.as_str());
    assert_eq!(data[0]["severity"], "warning");
    // Its event is not sent to the failing endpoint itself.
    let raised = ctx.get("/v1/events?type=alert.raised").await;
    let event = raised["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(ctx.delivery(&event, &endpoint).await["status"], "skipped");
    // The receiver answers again: the next delivery resolves it.
    receiver.behave(Behaviour::Accept);
    ctx.advance(3_600);
    ctx.run().await;
    let open = ctx.get("/v1/alerts?status=open").await;
    assert!(open["data"].as_array().unwrap().is_empty(), "{open}");
    let resolved = ctx.get("/v1/events?type=alert.resolved").await;
    assert_eq!(resolved["data"].as_array().unwrap().len(), 1, "{resolved}");
}

// ---- the operator's channels, for the tests ----

fn notifier_to(hook: &Hook, sink: Option<&SmtpSink>) -> Notifier {
    let config = AlertsConfig {
        webhook_url: Some(Secret::new(hook.url.clone())),
        smtp: sink.map(|s| alerts::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(s.port),
            username: None,
            password: None,
            from: "cajero <alerts@example.com>".into(),
            to: vec!["ops@example.com".into()],
            security: alerts::config::SmtpSecurity::None,
        }),
        ..AlertsConfig::default()
    };
    Notifier::new(&config).unwrap()
}

async fn notify(app: &TestApp, notifier: &Notifier) -> NotifyStats {
    notifier
        .run_once(&app.server.state.store, app.clock.now())
        .await
        .unwrap()
}

/// What the hook receiver keeps: the texts, and the failures left to answer.
type HookState = (Arc<Mutex<Vec<String>>>, Arc<Mutex<usize>>);

/// An incoming-webhook receiver (Slack-like): records each `text`, failing the first
/// `failures` requests with 500.
struct Hook {
    url: String,
    texts: Arc<Mutex<Vec<String>>>,
}

impl Hook {
    async fn start(failures: usize) -> Hook {
        let texts = Arc::new(Mutex::new(Vec::new()));
        let left = Arc::new(Mutex::new(failures));
        let state = (texts.clone(), left);
        let app = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(
                    |axum::extract::State((texts, left)): axum::extract::State<HookState>,
                     axum::Json(body): axum::Json<Value>| async move {
                        texts
                            .lock()
                            .unwrap()
                            .push(body["text"].as_str().unwrap_or("").to_string());
                        let mut left = left.lock().unwrap();
                        if *left > 0 {
                            *left -= 1;
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            axum::http::StatusCode::OK
                        }
                    },
                ),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hook { url, texts }
    }

    /// Every text received, failed requests included.
    fn texts(&self) -> Vec<String> {
        self.texts.lock().unwrap().clone()
    }
}

/// An SMTP sink speaking just enough SMTP (220, 250, 354, 221) to take messages.
pub(crate) struct SmtpSink {
    pub(crate) port: u16,
    messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub(crate) async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let kept = kept.clone();
                tokio::spawn(async move { smtp_session(socket, kept).await });
            }
        });
        SmtpSink { port, messages }
    }

    pub(crate) fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }
}

async fn smtp_session(socket: tokio::net::TcpStream, kept: Arc<Mutex<Vec<String>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ready\r\n").await.unwrap();
    let mut data: Option<String> = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(body) = data.as_mut() {
            if line == "." {
                kept.lock().unwrap().push(data.take().unwrap_or_default());
                write.write_all(b"250 queued\r\n").await.unwrap();
            } else {
                body.push_str(&line);
                body.push('\n');
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 sink\r\n",
            "DATA" => {
                data = Some(String::new());
                b"354 go on\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await.unwrap();
                return;
            }
            _ => b"250 ok\r\n",
        };
        write.write_all(answer).await.unwrap();
    }
}

/// Two raises of one key that meet: one, its clock past the cool-down, inserts a new alert and
/// has not committed yet; the other, its clock still inside the cool-down, would reopen the
/// resolved one. On PostgreSQL that made two open alerts, refused by the index as a unique
/// violation that failed the second unit. The second now waits for the first and counts one
/// more occurrence of the new alert.
async fn a_reopen_and_a_new_raise_of_one_key_at_once_leave_one_open_alert(app: &TestApp) {
    use std::time::Duration;
    let (m, _key) = merchant_with_key(app, "A").await;
    let code = codes::WEBHOOK_ENDPOINT_FAILING;
    let Raised::New(first) = raise(app, spec(Mode::Test, code, "we_9", Some(m))).await else {
        panic!("a first raise opens a new alert")
    };
    assert_eq!(resolve(app, code, "we_9", Some(m)).await, Some(first));
    let resolved_at = app.clock.now();
    let cooldown = alerts::cooldown();
    let store = app.server.state.store.clone();

    let (raised_tx, raised_rx) = tokio::sync::oneshot::channel::<()>();
    let (end_tx, end_rx) = tokio::sync::oneshot::channel::<()>();
    let late = resolved_at + cooldown + SignedDuration::from_secs(1);
    let new = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        let raised =
                            alerts::raise(&mut c, late, spec(Mode::Test, code, "we_9", Some(m)))
                                .await?;
                        let _ = raised_tx.send(());
                        let _ = end_rx.await;
                        Ok::<_, StoreError>(raised)
                    })
                })
                .await
        }
    });
    tokio::time::timeout(Duration::from_secs(10), raised_rx)
        .await
        .unwrap()
        .unwrap();
    let early = resolved_at + cooldown - SignedDuration::from_secs(1);
    let reopen = tokio::spawn(async move {
        store
            .write(move |mut c| {
                Box::pin(async move {
                    alerts::raise(&mut c, early, spec(Mode::Test, code, "we_9", Some(m))).await
                })
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    end_tx.send(()).unwrap();
    let Raised::New(second) = new.await.unwrap().unwrap() else {
        panic!("past the cool-down, a new alert")
    };
    assert_ne!(second, first);
    let reopened = reopen.await.unwrap();
    assert_eq!(
        reopened.unwrap(),
        Raised::AlreadyOpen(second),
        "the raise that met it counts one more occurrence of the open alert"
    );
    assert_eq!(
        raise(app, spec(Mode::Test, code, "we_9", Some(m))).await,
        Raised::AlreadyOpen(second)
    );
}
