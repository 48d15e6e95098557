//! Fuzzing the server's outside input with proptest (stable Rust): webhook URLs of any text
//! are accepted or refused by the URL policy without a panic, and arbitrary JSON bodies sent
//! through the real router to the creating endpoints are answered with a JSON error (or a
//! success), never a 5xx.
//!
//! Short by default (256 cases per property, 64 requests per endpoint through HTTP); for a
//! long run: `PROPTEST_CASES=100000 cargo test -p cajero-server --test api fuzz`.

use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::webhook::url_policy::UrlPolicy;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value, json};

use crate::helpers::TestApp;

/// Requests per endpoint and engine through HTTP when `PROPTEST_CASES` is not set.
const HTTP_CASES_DEFAULT: u32 = 64;

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<u64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[A-Z]{3}|COP|USD|efecty|sured|CC|NIT|[0-9]{1,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,20}|\\PC{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid-looking body for `path` with some fields replaced, removed or added: reaches the
/// validation past the JSON shape.
fn near_valid(path: &'static str) -> impl Strategy<Value = Value> {
    let template = match path {
        "/v1/payins" => json!({"amount": 50000, "currency": "COP", "network": "efecty",
            "customer": {"name": "Ana Pérez", "document_type": "CC", "document_number": "1020304050",
                         "phone": "+573001234567", "email": "ana@example.com"},
            "reference": "ord-1", "description": "Pedido", "expires_in_seconds": 86400,
            "metadata": {"k": "v"}}),
        "/v1/payouts" => json!({"amount": 50000, "currency": "COP", "network": "efecty",
            "beneficiary": {"name": "Ana Pérez", "document_type": "CC", "document_number": "1020304050",
                            "phone": "+573001234567"},
            "reference": "po-1", "expires_in_seconds": 86400, "metadata": {"k": "v"}}),
        _ => json!({"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"],
            "description": "d", "metadata": {"k": "v"}}),
    };
    let keys: Vec<String> = template
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let edits = proptest::collection::vec(
        (
            prop::sample::select(keys),
            proptest::option::of(json_value()),
        ),
        1..4,
    );
    edits.prop_map(move |edits| {
        let mut body = template.clone();
        if let Some(object) = body.as_object_mut() {
            for (key, value) in edits {
                match value {
                    Some(v) => object.insert(key, v),
                    None => object.remove(&key),
                };
            }
        }
        body
    })
}

fn http_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(HTTP_CASES_DEFAULT)
}

/// Sends `cases` generated bodies to `path`; every answer is below 500 and a JSON error when
/// it is not a success.
async fn post_generated(
    app: &TestApp,
    key: &str,
    path: &'static str,
    strategy: impl Strategy<Value = Value>,
) {
    let mut runner = TestRunner::default();
    for _ in 0..http_cases() {
        let body = strategy.new_tree(&mut runner).unwrap().current();
        let response = app
            .http
            .post(app.url(path))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers().get("content-type").cloned();
        let text = response.text().await.unwrap();
        assert!(status < 500, "POST {path} {body} answered {status}: {text}");
        assert!(
            content_type.is_some_and(|c| c.to_str().unwrap().starts_with("application/json")),
            "POST {path} {body}: not JSON"
        );
        let answer: Value = serde_json::from_str(&text).unwrap();
        if status >= 400 {
            assert!(
                answer["error"]["type"].is_string(),
                "POST {path} {body}: {answer}"
            );
        }
    }
}

crate::both_engines!(arbitrary_json_bodies_get_a_json_answer_and_never_a_5xx);

async fn arbitrary_json_bodies_get_a_json_answer_and_never_a_5xx(app: &TestApp) {
    let merchant = app.merchant("Fuzz", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    for path in ["/v1/payins", "/v1/payouts", "/v1/webhook_endpoints"] {
        post_generated(app, &key, path, json_value()).await;
        post_generated(app, &key, path, near_valid(path)).await;
    }
}

proptest! {
    #[test]
    fn webhook_urls_of_any_text_are_accepted_or_refused(
        raw in prop_oneof![
            any::<String>(),
            "(https?|ftp|file|javascript)://\\PC{0,60}",
            "https://[0-9.:\\[\\]a-f]{1,40}(:[0-9]{1,6})?/\\PC{0,20}",
        ],
        live in any::<bool>(),
        loopback in any::<bool>(),
    ) {
        let policy = UrlPolicy::for_mode(live, loopback);
        if let Ok(url) = policy.parse(&raw) {
            // What was accepted is accepted again in its printed form.
            prop_assert!(policy.parse(url.as_str()).is_ok(), "{raw:?} → {url}");
            if live {
                prop_assert_eq!(url.scheme(), "https");
            }
        }
    }
}
