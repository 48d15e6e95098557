//! Authentication and tenant isolation (API.md, "Authentication and modes").

use base64::Engine as _;
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::admin;
use cajero_server::clock::Clock;

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    a_request_without_a_key_is_refused,
    malformed_authorization_headers_get_401_never_500,
    an_unknown_key_is_refused,
    a_revoked_key_is_refused_with_the_documented_body,
    a_test_key_sees_test_mode_and_a_live_key_sees_live_mode,
    basic_auth_with_the_key_as_user_name_works,
    keys_act_only_for_their_own_merchant,
    a_live_key_stops_working_when_the_merchant_is_not_active,
    a_suspended_merchant_is_refused_with_403,
    a_key_records_its_last_use,
);

async fn a_request_without_a_key_is_refused(app: &TestApp) {
    let response = app.http.get(app.url("/v1/balance")).send().await.unwrap();
    assert_error(response, 401, "authentication_error", "api_key_missing").await;
}

async fn malformed_authorization_headers_get_401_never_500(app: &TestApp) {
    let merchant = app.merchant("A", MerchantStatus::Onboarding).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"Bearer".to_vec(), "authorization_header_malformed"),
        (b"Bearer ".to_vec(), "authorization_header_malformed"),
        (b"Token abc".to_vec(), "authorization_header_malformed"),
        (key.clone().into_bytes(), "authorization_header_malformed"),
        (
            b"Basic !!!not-base64".to_vec(),
            "authorization_header_malformed",
        ),
        (b"Basic Og==".to_vec(), "authorization_header_malformed"), // ":"
        (b"Basic /w==".to_vec(), "authorization_header_malformed"), // 0xff, not UTF-8
        (
            b"Bearer \xc3\xa9".to_vec(),
            "authorization_header_malformed",
        ),
        (b"Bearer sk_test_short".to_vec(), "api_key_invalid"),
        (b"Bearer pk_test_abc".to_vec(), "api_key_invalid"),
        (format!("Bearer {key}x").into_bytes(), "api_key_invalid"),
        (
            format!("Bearer {}", "A".repeat(5000)).into_bytes(),
            "api_key_invalid",
        ),
    ];
    for (header, code) in cases {
        let value = reqwest::header::HeaderValue::from_bytes(&header).unwrap();
        let response = app
            .http
            .get(app.url("/v1/balance"))
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        assert_error(response, 401, "authentication_error", code).await;
    }
}

async fn an_unknown_key_is_refused(app: &TestApp) {
    let key = format!("sk_test_{}", "Z".repeat(43));
    let response = app.get_with_key("/v1/balance", &key).await;
    assert_error(response, 401, "authentication_error", "api_key_invalid").await;
}

async fn a_revoked_key_is_refused_with_the_documented_body(app: &TestApp) {
    let merchant = app.merchant("A", MerchantStatus::Onboarding).await;
    let (key_id, key) = app.key(merchant, Mode::Test).await;
    assert_eq!(app.get_with_key("/v1/balance", &key).await.status(), 200);
    let state = &app.server.state;
    admin::revoke_api_key(&state.store, state.clock.as_ref(), key_id)
        .await
        .unwrap();
    let response = app.get_with_key("/v1/balance", &key).await;
    let body = assert_error(response, 401, "authentication_error", "api_key_revoked").await;
    assert!(body["error"].get("param").is_none());
}

async fn a_test_key_sees_test_mode_and_a_live_key_sees_live_mode(app: &TestApp) {
    let merchant = app.merchant("A", MerchantStatus::Active).await;
    for (mode, livemode) in [(Mode::Test, false), (Mode::Live, true)] {
        let (_, key) = app.key(merchant, mode).await;
        let response = app.get_with_key("/v1/balance", &key).await;
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["request-id"]
                .to_str()
                .unwrap()
                .starts_with("req_")
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["object"], "balance");
        assert_eq!(body["livemode"], livemode);
        for bucket in ["available", "pending", "reserved"] {
            assert_eq!(body[bucket][0]["currency"], "COP");
            assert_eq!(body[bucket][0]["amount"], 0);
        }
    }
}

async fn basic_auth_with_the_key_as_user_name_works(app: &TestApp) {
    let merchant = app.merchant("A", MerchantStatus::Onboarding).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    for credentials in [format!("{key}:"), key.clone()] {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        let response = app
            .http
            .get(app.url("/v1/balance"))
            .header("authorization", format!("Basic {encoded}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

/// Each key authenticates as its own merchant and mode, and the store only lists a
/// merchant's own keys in the key's mode.
async fn keys_act_only_for_their_own_merchant(app: &TestApp) {
    let a = app.merchant("A", MerchantStatus::Active).await;
    let b = app.merchant("B", MerchantStatus::Active).await;
    let (a_test, _) = app.key(a, Mode::Test).await;
    let (a_live, _) = app.key(a, Mode::Live).await;
    let (b_test, _) = app.key(b, Mode::Test).await;
    let list = |merchant, live| async move {
        app.server
            .state
            .store
            .read(move |mut c| {
                Box::pin(async move {
                    cajero_store::merchants::list_api_keys(&mut c, merchant, live).await
                })
            })
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(list(a, false).await, vec![a_test]);
    assert_eq!(list(a, true).await, vec![a_live]);
    assert_eq!(list(b, false).await, vec![b_test]);
    assert!(list(b, true).await.is_empty());
}

async fn a_live_key_stops_working_when_the_merchant_is_not_active(app: &TestApp) {
    let merchant = app.merchant("A", MerchantStatus::Onboarding).await;
    let state = &app.server.state;
    let refused = admin::create_api_key(
        &state.store,
        state.clock.as_ref(),
        &state.keys,
        merchant,
        Mode::Live,
    )
    .await;
    assert!(matches!(
        refused,
        Err(admin::AdminError::LiveModeNotAllowed { .. })
    ));
    admin::force_merchant_status(
        &state.store,
        state.clock.as_ref(),
        merchant,
        MerchantStatus::Active,
    )
    .await
    .unwrap();
    let (_, live) = app.key(merchant, Mode::Live).await;
    assert_eq!(app.get_with_key("/v1/balance", &live).await.status(), 200);
    admin::force_merchant_status(
        &state.store,
        state.clock.as_ref(),
        merchant,
        MerchantStatus::Onboarding,
    )
    .await
    .unwrap();
    let response = app.get_with_key("/v1/balance", &live).await;
    assert_error(response, 403, "permission_error", "live_mode_not_enabled").await;
}

async fn a_suspended_merchant_is_refused_with_403(app: &TestApp) {
    let merchant = app.merchant("A", MerchantStatus::Suspended).await;
    let state = &app.server.state;
    let refused = admin::create_api_key(
        &state.store,
        state.clock.as_ref(),
        &state.keys,
        merchant,
        Mode::Test,
    )
    .await;
    assert!(matches!(refused, Err(admin::AdminError::Suspended(_))));
    admin::force_merchant_status(
        &state.store,
        state.clock.as_ref(),
        merchant,
        MerchantStatus::Active,
    )
    .await
    .unwrap();
    let (_, key) = app.key(merchant, Mode::Test).await;
    admin::force_merchant_status(
        &state.store,
        state.clock.as_ref(),
        merchant,
        MerchantStatus::Suspended,
    )
    .await
    .unwrap();
    let response = app.get_with_key("/v1/balance", &key).await;
    assert_error(response, 403, "permission_error", "account_suspended").await;
}

async fn a_key_records_its_last_use(app: &TestApp) {
    let merchant = app.merchant("A", MerchantStatus::Onboarding).await;
    let (key_id, key) = app.key(merchant, Mode::Test).await;
    assert_eq!(app.get_with_key("/v1/balance", &key).await.status(), 200);
    // The write happens in the background; poll the store a bounded number of times.
    let store = app.server.state.store.clone();
    for _ in 0..100 {
        let record = store
            .read(move |mut c| {
                Box::pin(async move { cajero_store::merchants::get_api_key(&mut c, key_id).await })
            })
            .await
            .unwrap()
            .unwrap();
        if let Some(at) = record.last_used_at {
            assert_eq!(at, app.clock.now());
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("last_used_at was never recorded");
}
