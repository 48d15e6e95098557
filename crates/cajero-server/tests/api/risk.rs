//! Risk rules, blocklists and holds through the API, on both engines: a limit allows up to
//! its maximum, holds or refuses above it and starts again the next Bogotá day; a velocity
//! window refuses and then lets go; blocklists refuse for everyone (the operator's) or for one
//! merchant (its own); a pay-in held for review gets no voucher until released, and none if
//! refused; rule changes are versioned with who, when, the diff and the reason; counters are
//! watched when the cash moves (velocity per counter, counters on blocklists) and alert rules
//! tell the operator without stopping anything; a release in flight cannot be refused.

use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_domain::risk::blocklist::Kind;
use cajero_server::operators::{Acting, Reason};
use cajero_server::risk;
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

crate::both_engines!(
    limits_and_velocity_allow_hold_and_refuse_payouts,
    blocklists_refuse_for_everyone_or_for_one_merchant,
    a_held_payin_gets_no_voucher_until_released,
    rule_changes_are_versioned_with_who_when_diff_and_reason,
    totals_no_rule_can_read_are_purged,
    a_named_payer_on_a_sanctions_list_holds_the_payin,
    velocity_from_buckets_equals_counting_every_row,
    counters_are_watched_when_the_cash_moves,
    an_alert_rule_lets_the_operation_go_and_tells_the_operator,
    a_held_payin_being_released_cannot_be_refused,
    a_rule_version_written_elsewhere_decides_the_very_next_payout,
);

fn acting(reason: &str) -> Acting {
    Acting::cli(Reason::parse(reason).unwrap())
}

async fn post(app: &TestApp, key: &str, path: &str, idem: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn payout(amount: i64, number: &str, phone: Option<&str>) -> Value {
    json!({"amount": amount, "currency": "COP", "network": "efecty",
        "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": number},
                        "phone": phone}})
}

async fn funded(app: &TestApp, name: &str) -> (cajero_domain::id::MerchantId, String) {
    let merchant = app.merchant(name, MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let (status, _) = json_of(
        post(
            app,
            &key,
            "/v1/topups",
            "fund",
            json!({"amount": 50_000_000, "currency": "COP"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    (merchant, key)
}

async fn available(app: &TestApp, key: &str) -> i64 {
    let b: Value = app
        .get_with_key("/v1/balance", key)
        .await
        .json()
        .await
        .unwrap();
    b["available"][0]["amount"].as_i64().unwrap()
}

async fn ledger_balances(app: &TestApp) {
    let report = app
        .server
        .state
        .store
        .read(|mut c| Box::pin(async move { cajero_store::verify::verify(&mut c).await }))
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
}

async fn limits_and_velocity_allow_hold_and_refuse_payouts(app: &TestApp) {
    let state = &app.server.state;
    let v1 = risk::set_rules(
        state,
        r#"{"rules": [
            {"id": "doc-day", "kind": "limit", "subject": "document", "period": "day",
             "amount_max": 300000, "flows": ["payout"], "action": "review"},
            {"id": "efecty-op", "kind": "limit", "subject": "network", "network": "efecty",
             "period": "operation", "amount_max": 250000, "action": "deny"},
            {"id": "merchant-hour", "kind": "velocity", "subject": "merchant", "window_s": 3600,
             "count_max": 4, "action": "deny"}]}"#,
        &acting("first rules"),
    )
    .await
    .unwrap();
    assert_eq!(v1.version, 1);
    let (merchant, key) = funded(app, "Remesas Uno").await;

    // 200,000 then 100,000 for one document: at the day's maximum, both go.
    let (s, first) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "a1",
            payout(200_000, "79876543", None),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, first["status"].as_str()),
        (201, Some("available")),
        "{first}"
    );
    let (_, second) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "a2",
            payout(100_000, "79.876.543", None),
        )
        .await,
    )
    .await;
    assert_eq!(second["status"], "available", "{second}");
    // 1,000 more: held for review, its funds reserved, no code.
    let before = available(app, &key).await;
    let (s, held) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "a3",
            payout(1_000, "79876543", None),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, held["status"].as_str()),
        (201, Some("on_hold")),
        "{held}"
    );
    assert!(
        held["pickup"].is_null() || held["pickup"]["code"].is_null(),
        "{held}"
    );
    assert!(
        available(app, &key).await < before,
        "the held payout's funds are reserved"
    );

    // Above the network's per-operation maximum: refused, nothing reserved, neutral message;
    // a retry with the same key is decided again (refusals are not stored).
    let before = available(app, &key).await;
    for _ in 0..2 {
        let body = assert_error(
            post(
                app,
                &key,
                "/v1/payouts",
                "big",
                payout(250_001, "1020304050", None),
            )
            .await,
            422,
            "invalid_request_error",
            "risk_denied",
        )
        .await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            !message.contains("efecty-op") && !message.contains("250000"),
            "{message}"
        );
    }
    assert_eq!(
        available(app, &key).await,
        before,
        "nothing reserved by a refusal"
    );
    let (s, at_max) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "max",
            payout(250_000, "1020304050", None),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, at_max["status"].as_str()),
        (201, Some("available")),
        "{at_max}"
    );

    // Four operations of the merchant within the hour (the refused ones not counted): the fifth
    // is refused by the velocity rule, and goes once the first left the window.
    let fifth = post(
        app,
        &key,
        "/v1/payouts",
        "a5",
        payout(1_000, "52111222", None),
    )
    .await;
    assert_error(fifth, 422, "invalid_request_error", "risk_denied").await;
    app.clock.advance(SignedDuration::from_secs(3601));
    // The document's day has not changed unless midnight passed: 10:00 Bogotá + 1 h.
    let (_, later) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "a5",
            payout(1_000, "52111222", None),
        )
        .await,
    )
    .await;
    assert_eq!(later["status"], "available", "{later}");

    // The next Bogotá day the document starts again from zero.
    let now = state.clock.now();
    let tomorrow = cajero_domain::calendar::bogota_date(now)
        .tomorrow()
        .unwrap();
    // Bogotá is UTC−5 all year.
    let midnight: jiff::Timestamp = format!("{tomorrow}T05:00:00Z").parse().unwrap();
    app.clock.advance(midnight.duration_since(now));
    let (_, next_day) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "a6",
            payout(250_000, "79876543", None),
        )
        .await,
    )
    .await;
    assert_eq!(next_day["status"], "available", "{next_day}");

    // The decisions: the hold and the refusals, with the rules that fired and the version.
    let decisions = risk::decisions(&state.store, merchant, Mode::Test, 50)
        .await
        .unwrap();
    let outcomes: Vec<(&str, &str)> = decisions
        .iter()
        .map(|d| (d.outcome.as_str(), d.object_id.as_str()))
        .collect();
    assert_eq!(decisions.len(), 4, "{outcomes:?}");
    let hold = decisions.iter().find(|d| d.outcome == "review").unwrap();
    assert_eq!(hold.object_id, held["id"].as_str().unwrap());
    assert!(
        hold.fired.contains("doc-day") && hold.fired.contains("301000"),
        "{}",
        hold.fired
    );
    assert!(hold.inputs.contains("CC:79876543"), "{}", hold.inputs);
    assert_eq!(hold.rules_version, Some(1));
    assert_eq!(
        decisions
            .iter()
            .filter(|d| d.fired.contains("efecty-op"))
            .count(),
        2
    );
    assert_eq!(
        decisions
            .iter()
            .filter(|d| d.fired.contains("merchant-hour"))
            .count(),
        1
    );
    ledger_balances(app).await;
}

async fn blocklists_refuse_for_everyone_or_for_one_merchant(app: &TestApp) {
    let state = &app.server.state;
    let (a, key_a) = funded(app, "Tienda A").await;
    let (_b, key_b) = funded(app, "Tienda B").await;

    // The operator's list: everyone's operations, pay-ins too.
    let everyone = risk::block(
        state,
        None,
        Kind::Document,
        "CC:1.020.304.050",
        &acting("fraud ring"),
    )
    .await
    .unwrap();
    for (key, idem) in [(&key_a, "o1"), (&key_b, "o2")] {
        let refused = post(
            app,
            key,
            "/v1/payouts",
            idem,
            payout(1_000, "1020304050", None),
        )
        .await;
        assert_error(refused, 422, "invalid_request_error", "risk_denied").await;
    }
    let payin = json!({"amount": 50_000, "currency": "COP", "network": "efecty",
        "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "1020304050"}}});
    assert_error(
        post(app, &key_a, "/v1/payins", "pi1", payin.clone()).await,
        422,
        "invalid_request_error",
        "risk_denied",
    )
    .await;
    assert!(matches!(
        risk::block(
            state,
            None,
            Kind::Document,
            "CC:1020304050",
            &acting("again")
        )
        .await,
        Err(risk::RiskError::AlreadyBlocked { .. })
    ));

    // A merchant's own list: only its operations.
    let phone = risk::block(
        state,
        Some(a),
        Kind::Phone,
        "300 123 4567",
        &acting("chargeback customer"),
    )
    .await
    .unwrap();
    let refused = post(
        app,
        &key_a,
        "/v1/payouts",
        "p1",
        payout(1_000, "52111222", Some("+573001234567")),
    )
    .await;
    assert_error(refused, 422, "invalid_request_error", "risk_denied").await;
    let (_, allowed) = json_of(
        post(
            app,
            &key_b,
            "/v1/payouts",
            "p1",
            payout(1_000, "52111222", Some("+573001234567")),
        )
        .await,
    )
    .await;
    assert_eq!(allowed["status"], "available", "{allowed}");
    // Names are compared normalised: accents, case and order.
    risk::block(
        state,
        Some(a),
        Kind::Name,
        "PEREZ, luis",
        &acting("known mule"),
    )
    .await
    .unwrap();
    let refused = post(
        app,
        &key_a,
        "/v1/payouts",
        "n1",
        payout(1_000, "52999888", None),
    )
    .await;
    assert_error(refused, 422, "invalid_request_error", "risk_denied").await;

    // Another list's entry is not found there; removed, the value goes again.
    assert!(matches!(
        risk::unblock(state, None, &phone.id, &acting("wrong list")).await,
        Err(risk::RiskError::NoSuchEntry(_))
    ));
    risk::unblock(state, None, &everyone.id, &acting("cleared by compliance"))
        .await
        .unwrap();
    let (_, now_allowed) = json_of(
        post(
            app,
            &key_b,
            "/v1/payouts",
            "o3",
            payout(1_000, "1020304050", None),
        )
        .await,
    )
    .await;
    assert_eq!(now_allowed["status"], "available", "{now_allowed}");
    let list = risk::blocklist(&state.store, None).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0].removed_reason.as_deref(),
        Some("cleared by compliance")
    );
    assert_eq!(
        risk::blocklist(&state.store, Some(a)).await.unwrap().len(),
        2
    );

    // Every refusal is a stored decision naming the list, never the whole document.
    let decisions = risk::decisions(&state.store, a, Mode::Test, 50)
        .await
        .unwrap();
    assert_eq!(decisions.len(), 4);
    assert!(
        decisions
            .iter()
            .all(|d| d.outcome == "deny" && d.fired.contains("blocklist"))
    );
    assert!(
        decisions.iter().all(|d| !d.fired.contains("1020304050")),
        "masked in the reason"
    );
    ledger_balances(app).await;

    // The person's export holds the decisions about them and the entries naming them.
    let document =
        cajero_domain::Document::parse(cajero_domain::DocumentType::Cc, "1020304050").unwrap();
    let export = cajero_server::privacy::export(
        &state.store,
        state.clock.as_ref(),
        "http://localhost",
        document,
        &acting("habeas data request"),
    )
    .await
    .unwrap();
    let section = |name: &str| {
        export
            .sections
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no section {name}"))
            .rows
            .clone()
    };
    assert_eq!(
        section("risk_decisions").len(),
        3,
        "two payouts and a pay-in refused"
    );
    let entries = section("blocklist_entries");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["removed_reason"], "cleared by compliance");
    assert!(section("uiaf_flags").is_empty());
}

async fn a_held_payin_gets_no_voucher_until_released(app: &TestApp) {
    let state = &app.server.state;
    risk::set_rules(
        state,
        r#"{"rules": [{"id": "big-cash-in", "kind": "limit", "subject": "merchant",
            "period": "operation", "amount_max": 500000, "flows": ["payin"], "action": "review"}]}"#,
        &acting("large cash deposits are reviewed"),
    )
    .await
    .unwrap();
    let merchant = app.merchant("Cobros", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let body = json!({"amount": 600_000, "currency": "COP", "network": "efecty", "reference": "r-1",
        "customer": {"name": "Ana Gómez", "document": {"type": "CC", "number": "52111222"}}});

    let (status, held) = json_of(post(app, &key, "/v1/payins", "h1", body.clone()).await).await;
    assert_eq!(
        (status, held["status"].as_str()),
        (202, Some("on_hold")),
        "{held}"
    );
    assert!(held["voucher"].is_null(), "{held}");
    let id = held["id"].as_str().unwrap().to_owned();
    let replay = post(app, &key, "/v1/payins", "h1", body.clone()).await;
    assert_eq!(replay.status().as_u16(), 202);
    let read: Value = app
        .get_with_key(&format!("/v1/payins/{id}"), &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "on_hold", "{read}");
    let events: Value = app
        .get_with_key("/v1/events?type=payin.*", &key)
        .await
        .json()
        .await
        .unwrap();
    assert!(events.to_string().contains("payin.on_hold"), "{events}");
    assert!(!events.to_string().contains("payin.created"), "{events}");
    // Another merchant does not see it.
    let other = app.merchant("Otro", MerchantStatus::Active).await;
    let (_, other_key) = app.key(other, Mode::Test).await;
    assert_eq!(
        app.get_with_key(&format!("/v1/payins/{id}"), &other_key)
            .await
            .status()
            .as_u16(),
        404
    );

    // Released: the voucher is issued under the same id.
    let released =
        cajero_server::payins::release_held(state, &id, &acting("known customer, salary"))
            .await
            .unwrap();
    assert_eq!(released["status"], "pending", "{released}");
    let read: Value = app
        .get_with_key(&format!("/v1/payins/{id}"), &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "pending");
    assert!(read["voucher"]["payment_code"].is_string(), "{read}");
    let events: Value = app
        .get_with_key("/v1/events?type=payin.created", &key)
        .await
        .json()
        .await
        .unwrap();
    assert!(events.to_string().contains(&id), "{events}");
    assert!(matches!(
        cajero_server::payins::release_held(state, &id, &acting("twice")).await,
        Err(cajero_server::payins::HoldError::NotOnHold { .. })
    ));

    // Refused: never a voucher.
    let (_, second) = json_of(post(app, &key, "/v1/payins", "h2", body.clone()).await).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    let refused = cajero_server::payins::refuse_held(state, &second_id, &acting("structuring"))
        .await
        .unwrap();
    assert_eq!(refused["status"], "canceled");
    let read: Value = app
        .get_with_key(&format!("/v1/payins/{second_id}"), &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "canceled", "{read}");
    assert!(matches!(
        cajero_server::payins::release_held(state, &second_id, &acting("changed my mind")).await,
        Err(cajero_server::payins::HoldError::NotOnHold { .. })
    ));
    assert!(
        cajero_server::payins::open_holds(state, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Under the maximum: a voucher at once.
    let (status, small) = json_of(
        post(
            app,
            &key,
            "/v1/payins",
            "h3",
            json!({"amount": 500_000, "currency": "COP", "network": "efecty"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, small["status"].as_str()),
        (201, Some("pending")),
        "{small}"
    );
}

async fn rule_changes_are_versioned_with_who_when_diff_and_reason(app: &TestApp) {
    let state = &app.server.state;
    let rules = r#"{"rules": [{"id": "doc-month", "kind": "limit", "subject": "document",
        "period": "month", "amount_max": 50000000, "action": "review"}]}"#;
    assert!(matches!(
        risk::set_rules(
            state,
            r#"{"rules": [{"id": "x", "kind": "limit"}]}"#,
            &acting("broken")
        )
        .await,
        Err(risk::RiskError::Rules(_))
    ));
    assert!(
        risk::current(&state.store).await.unwrap().is_none(),
        "a refused set changes nothing"
    );
    risk::set_rules(state, rules, &acting("SARLAFT monthly threshold"))
        .await
        .unwrap();
    assert!(matches!(
        risk::set_rules(state, rules, &acting("again")).await,
        Err(risk::RiskError::Unchanged(1))
    ));
    let changed = rules.replace("50000000", "40000000");
    let v2 = risk::set_rules(state, &changed, &acting("lowered after the audit"))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert!(
        v2.diff.starts_with("~ doc-month: ") && v2.diff.contains("40000000"),
        "{}",
        v2.diff
    );
    let versions = risk::versions(&state.store, 10).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [2, 1]
    );
    assert_eq!(versions[1].reason, "SARLAFT monthly threshold");
    assert!(versions[1].diff.starts_with("+ doc-month: "));
    assert_eq!(versions[0].created_by, cajero_server::operators::CLI_ACTOR);
    let audit = state
        .store
        .read(|mut c| {
            Box::pin(async move {
                cajero_store::operators::search_audit(&mut c, &Default::default(), 50).await
            })
        })
        .await
        .unwrap();
    let changes: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "risk.rules_changed")
        .collect();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().any(|e| {
        e.reason
            .as_deref()
            .is_some_and(|r| r.contains("lowered after the audit") && r.contains("~ doc-month"))
    }));
}

async fn totals_no_rule_can_read_are_purged(app: &TestApp) {
    let state = &app.server.state;
    risk::set_rules(
        state,
        r#"{"rules": [
            {"id": "doc-day", "kind": "limit", "subject": "document", "period": "day", "count_max": 10, "action": "deny"},
            {"id": "doc-week", "kind": "velocity", "subject": "document", "window_s": 604800, "count_max": 10, "action": "deny"}]}"#,
        &acting("limits"),
    )
    .await
    .unwrap();
    let (_, key) = funded(app, "Purgas").await;
    let (_, ok) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "p1",
            payout(1_000, "79876543", None),
        )
        .await,
    )
    .await;
    assert_eq!(ok["status"], "available", "{ok}");
    let now = state.clock.now();
    // Nothing is purged while a rule could still read it.
    assert_eq!(risk::purge(&state.store, now, 1000).await.unwrap(), 0);
    // 40 days on: all out of reach.
    let later = now + SignedDuration::from_hours(40 * 24);
    assert_eq!(
        risk::purge(&state.store, later, 1000).await.unwrap(),
        4,
        "the day, the month, the velocity row and its bucket"
    );
    assert_eq!(risk::purge(&state.store, later, 1000).await.unwrap(), 0);
}

async fn a_named_payer_on_a_sanctions_list_holds_the_payin(app: &TestApp) {
    let state = &app.server.state;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cajero-domain/tests/fixtures/sanctions");
    let read = |name: &str| std::fs::read(fixtures.join(name)).unwrap();
    let list = cajero_server::sanctions::load(
        &state.store,
        state.clock.as_ref(),
        cajero_server::sanctions::Files::Ofac {
            sdn: read("sdn.csv"),
            alt: read("alt.csv"),
        },
        None,
        &acting("weekly list"),
    )
    .await
    .unwrap();
    let merchant = app.merchant("Cobros", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let payin = |name: &'static str| {
        json!({"amount": 20_000, "currency": "COP", "network": "efecty",
            "customer": {"name": name, "document": {"type": "CC", "number": "52111222"}}})
    };
    let (status, held) = json_of(
        post(
            app,
            &key,
            "/v1/payins",
            "s1",
            payin("NORIEGA Manuel Antonio"),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, held["status"].as_str()),
        (202, Some("on_hold")),
        "{held}"
    );
    let (status, clear) =
        json_of(post(app, &key, "/v1/payins", "s2", payin("Ana Gómez")).await).await;
    assert_eq!(
        (status, clear["status"].as_str()),
        (201, Some("pending")),
        "{clear}"
    );
    // Without a name there is nobody to screen.
    let (status, _) = json_of(
        post(
            app,
            &key,
            "/v1/payins",
            "s3",
            json!({"amount": 20_000, "currency": "COP", "network": "efecty"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let decisions = risk::decisions(&state.store, merchant, Mode::Test, 10)
        .await
        .unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].outcome, "review");
    assert!(
        decisions[0].fired.contains("sanctions") && decisions[0].fired.contains("ofac"),
        "{}",
        decisions[0].fired
    );
    assert_eq!(
        decisions[0].sanctions_lists.as_deref(),
        Some(list.id.as_str()),
        "the list screened with"
    );
}

/// The store reads a window from buckets and the rows of one partial bucket: it must give what
/// counting every row in the window gives, for windows starting anywhere (on a bucket's edge,
/// inside one, before everything), across many operations at uneven times.
async fn velocity_from_buckets_equals_counting_every_row(app: &TestApp) {
    let store = &app.server.state.store;
    let bucket_us: i64 = 60 * 1_000_000;
    let base: i64 = 1_764_000_000 * 1_000_000;
    // Uneven times over 3 hours: some on bucket edges, some a microsecond either side.
    let times: Vec<i64> = (0..300_i64)
        .map(|i| {
            base + (i * 37_003_001) % (3 * 3600 * 1_000_000)
                + if i % 7 == 0 { 0 } else { i % 3 - 1 }
        })
        .chain([
            base + 60 * 1_000_000,
            base + 120 * 1_000_000 - 1,
            base + 120 * 1_000_000,
        ])
        .collect();
    let rows: Vec<(i64, i64)> = times
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, 1_000 + i as i64))
        .collect();
    let stored = rows.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                for (i, (at, amount)) in stored.iter().enumerate() {
                    cajero_store::risk::add_velocity(&mut c, "s", *at, *amount, &format!("o{i}"))
                        .await?;
                    cajero_store::risk::add_to_bucket(&mut c, "s", bucket_us, *at, *amount, 1)
                        .await?;
                }
                Ok::<_, cajero_store::StoreError>(())
            })
        })
        .await
        .unwrap();
    let froms = [
        base - 1,
        base,
        base + 1,
        base + 59_999_999,
        base + 60 * 1_000_000,
        base + 60 * 1_000_000 - 1,
        base + 119 * 1_000_000 + 999_999,
        base + 3_333_333_333,
        base + 2 * 3600 * 1_000_000 + 1,
        base + 4 * 3600 * 1_000_000,
    ];
    for from in froms {
        let want = rows
            .iter()
            .filter(|(at, _)| *at > from)
            .fold((0, 0), |(c, a), (_, x)| (c + 1, a + x));
        let got = store
            .read(move |mut c| {
                Box::pin(
                    async move { cajero_store::risk::velocity(&mut c, "s", from, bucket_us).await },
                )
            })
            .await
            .unwrap();
        assert_eq!(got, want, "from {from}");
    }
}

/// Audit entries with `action`.
async fn audited(app: &TestApp, action: &'static str) -> Vec<cajero_store::operators::AuditEntry> {
    app.server
        .state
        .store
        .read(|mut c| {
            Box::pin(async move {
                cajero_store::operators::search_audit(&mut c, &Default::default(), 500).await
            })
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// The open `risk_alert` alerts, newest first.
async fn risk_alerts(app: &TestApp) -> Vec<cajero_store::alerts::AlertRow> {
    let filter = cajero_store::alerts::AlertFilter {
        code: Some("risk_alert".into()),
        ..Default::default()
    };
    let page = cajero_store::page::PageRequest {
        limit: 100,
        cursor: cajero_store::page::Cursor::Newest,
    };
    app.server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move { cajero_store::alerts::list(&mut c, &filter, &page).await })
        })
        .await
        .unwrap()
        .data
}

/// The merchant's stored decisions once there are `n` (callbacks are applied as they come).
async fn decisions_once(
    app: &TestApp,
    merchant: cajero_domain::id::MerchantId,
    n: usize,
) -> Vec<cajero_store::risk::DecisionRow> {
    for _ in 0..100 {
        let found = risk::decisions(&app.server.state.store, merchant, Mode::Test, 50)
            .await
            .unwrap();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    risk::decisions(&app.server.state.store, merchant, Mode::Test, 50)
        .await
        .unwrap()
}

async fn flush_callbacks(app: &TestApp) {
    let sim = app.server.state.networks.sim().unwrap();
    sim.flush_callbacks(true).await.unwrap();
}

async fn counters_are_watched_when_the_cash_moves(app: &TestApp) {
    let state = &app.server.state;
    risk::set_rules(
        state,
        r#"{"rules": [{"id": "counter-burst", "kind": "velocity", "subject": "counter",
            "window_s": 3600, "count_max": 2, "flows": ["payout"], "action": "alert"}]}"#,
        &acting("cash-out bursts at one counter"),
    )
    .await
    .unwrap();
    let (merchant, key) = funded(app, "Remesas").await;

    // Counter rules do not judge creates: three payouts get their codes.
    let mut ids = Vec::new();
    let mut counters = Vec::new();
    for n in 0..3 {
        let (status, p) = json_of(
            post(
                app,
                &key,
                "/v1/payouts",
                &format!("c{n}"),
                payout(50_000, "79876543", None),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, p["status"].as_str()),
            (201, Some("available")),
            "{p}"
        );
        let id = p["id"].as_str().unwrap().to_owned();
        let (status, attempt) = json_of(
            post(
                app,
                &key,
                &format!("/v1/test_helpers/payouts/{id}/collect"),
                &format!("collect-{n}"),
                json!({"code": p["pickup"]["code"], "document_number": "79876543"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{attempt}");
        assert_eq!(attempt["outcome"], "approved", "{attempt}");
        counters.push(attempt["counter"].as_str().unwrap().to_owned());
        ids.push(id);
    }
    assert!(
        counters.iter().all(|c| c == &counters[0]),
        "the helper collects at one counter: {counters:?}"
    );
    let counter = format!("efecty:{}", counters[0].to_uppercase());
    flush_callbacks(app).await;

    // The third collection within the hour at that counter is above the rule's maximum: a
    // decision on it (nothing refused: the cash has moved), audited, and one operator alert.
    let decisions = decisions_once(app, merchant, 1).await;
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    let d = &decisions[0];
    assert!(ids.contains(&d.object_id), "{d:?}");
    assert_eq!((d.flow.as_str(), d.outcome.as_str()), ("payout", "allow"));
    let fired: Value = serde_json::from_str(&d.fired).unwrap();
    assert_eq!(fired[0]["rule"], "counter-burst", "{fired}");
    assert_eq!(fired[0]["action"], "alert", "{fired}");
    assert_eq!(fired[0]["observed"]["count"], 3, "{fired}");
    let inputs: Value = serde_json::from_str(&d.inputs).unwrap();
    assert_eq!(inputs["counter"], counter.as_str(), "{inputs}");
    for id in &ids {
        let read: Value = app
            .get_with_key(&format!("/v1/payouts/{id}"), &key)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(read["status"], "paid", "{read}");
    }
    let alerts = risk_alerts(app).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].subject, format!("risk:counter:{counter}"));
    assert!(alerts[0].merchant_id.is_none(), "the operator's");
    assert!(alerts[0].message.contains(&d.id), "{:?}", alerts[0]);
    assert!(alerts[0].message.contains(&d.object_id), "{:?}", alerts[0]);
    assert_eq!(audited(app, "payout.counter_flagged").await.len(), 1);

    // The counter goes on the operator's blocklist (as typed, compared normalised): a pay-in
    // paid there is recorded paid and flagged. Pay-ins are not counted by the payout rule.
    let typed = format!("EFECTY:{}", counters[0].to_lowercase());
    let entry = risk::block(
        state,
        None,
        Kind::Counter,
        &typed,
        &acting("counter under investigation"),
    )
    .await
    .unwrap();
    assert_eq!(entry.value, counter);
    assert!(matches!(
        risk::block(
            state,
            None,
            Kind::Counter,
            "EF-BOG-001",
            &acting("no network")
        )
        .await,
        Err(risk::RiskError::Entry(_))
    ));
    let (status, payin) = json_of(
        post(
            app,
            &key,
            "/v1/payins",
            "pi-1",
            json!({"amount": 80_000, "currency": "COP", "network": "efecty"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{payin}");
    let payin_id = payin["id"].as_str().unwrap().to_owned();
    let (status, paid) = json_of(
        post(
            app,
            &key,
            &format!("/v1/test_helpers/payins/{payin_id}/pay"),
            "pay-1",
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(
        paid["counter"].as_str(),
        Some(counters[0].as_str()),
        "{paid}"
    );
    flush_callbacks(app).await;
    let decisions = decisions_once(app, merchant, 2).await;
    assert_eq!(decisions.len(), 2, "{decisions:?}");
    let on_payin = decisions
        .iter()
        .find(|d| d.object_id == payin_id)
        .expect("a decision on the pay-in");
    assert_eq!(
        (on_payin.flow.as_str(), on_payin.outcome.as_str()),
        ("payin", "allow")
    );
    let fired: Value = serde_json::from_str(&on_payin.fired).unwrap();
    assert_eq!(fired.as_array().unwrap().len(), 1, "{fired}");
    assert_eq!(fired[0]["rule"], "blocklist", "{fired}");
    assert_eq!(fired[0]["action"], "alert", "{fired}");
    assert!(
        fired[0]["reason"].as_str().unwrap().contains(&counter)
            && fired[0]["reason"].as_str().unwrap().contains(&entry.id),
        "{fired}"
    );
    let read: Value = app
        .get_with_key(&format!("/v1/payins/{payin_id}"), &key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["status"], "paid", "the pay-in stands: {read}");
    // The counter's open alert is refreshed with the newest decision, not raised again.
    let alerts = risk_alerts(app).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].message.contains(&payin_id), "{:?}", alerts[0]);
    assert_eq!(audited(app, "payin.counter_flagged").await.len(), 1);
    // The merchant's Risk page shows only what held or refused its operations: what the
    // operator watches is not told to those it watches.
    assert!(
        risk::merchant_decisions(&state.store, merchant, Mode::Test, 50)
            .await
            .unwrap()
            .is_empty()
    );

    // The network repeating itself (a re-sent callback, a poll) judges nothing twice.
    flush_callbacks(app).await;
    cajero_server::workers::poller::run_once(state)
        .await
        .unwrap();
    assert_eq!(
        risk::decisions(&state.store, merchant, Mode::Test, 50)
            .await
            .unwrap()
            .len(),
        2
    );

    // Another merchant's list does not reach this merchant; removal ends the watch.
    risk::unblock(state, None, &entry.id, &acting("cleared"))
        .await
        .unwrap();
    ledger_balances(app).await;
}

async fn an_alert_rule_lets_the_operation_go_and_tells_the_operator(app: &TestApp) {
    let state = &app.server.state;
    risk::set_rules(
        state,
        r#"{"rules": [{"id": "watch-large", "kind": "limit", "subject": "merchant",
            "period": "operation", "amount_max": 100000, "action": "alert"}]}"#,
        &acting("large payouts are watched"),
    )
    .await
    .unwrap();
    let (merchant, key) = funded(app, "Vigilado").await;
    // At the maximum: nothing fires.
    let (status, at_max) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "w1",
            payout(100_000, "79876543", None),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, at_max["status"].as_str()),
        (201, Some("available"))
    );
    assert!(
        risk::decisions(&state.store, merchant, Mode::Test, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Above it: the payout goes ahead, the decision is stored, audited and alerted.
    let (status, above) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "w2",
            payout(100_001, "79876543", None),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, above["status"].as_str()),
        (201, Some("available")),
        "{above}"
    );
    let decisions = risk::decisions(&state.store, merchant, Mode::Test, 10)
        .await
        .unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].object_id, above["id"].as_str().unwrap());
    assert_eq!(decisions[0].outcome, "allow");
    assert!(decisions[0].fired.contains("watch-large"));
    let alerts = risk_alerts(app).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].subject, format!("risk:{merchant}:watch-large"));
    assert!(alerts[0].message.contains(&decisions[0].id));
    assert!(
        !alerts[0].message.contains("79876543"),
        "no person's number: {:?}",
        alerts[0]
    );
    assert_eq!(audited(app, "payout.flagged").await.len(), 1);
    // The replay answers the same and decides nothing again.
    let (status, replay) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "w2",
            payout(100_001, "79876543", None),
        )
        .await,
    )
    .await;
    assert_eq!((status, &replay["id"]), (201, &above["id"]));
    assert_eq!(risk_alerts(app).await.len(), 1);
}

async fn a_held_payin_being_released_cannot_be_refused(app: &TestApp) {
    let state = &app.server.state;
    risk::set_rules(
        state,
        r#"{"rules": [{"id": "big-cash-in", "kind": "limit", "subject": "merchant",
            "period": "operation", "amount_max": 500000, "flows": ["payin"], "action": "review"}]}"#,
        &acting("large cash deposits are reviewed"),
    )
    .await
    .unwrap();
    let merchant = app.merchant("Cobros", MerchantStatus::Active).await;
    let (_, key) = app.key(merchant, Mode::Test).await;
    let body = |reference: &str| json!({"amount": 600_000, "currency": "COP", "network": "efecty", "reference": reference});
    let (status, held) = json_of(post(app, &key, "/v1/payins", "r1", body("r-1")).await).await;
    assert_eq!(status, 202, "{held}");
    let id = held["id"].as_str().unwrap().to_owned();

    // The network is down: the release fails, gives its claim back, and the hold can then be
    // refused or released.
    faults(app, json!({"down": ["efecty", "sured"]})).await;
    assert!(matches!(
        cajero_server::payins::release_held(state, &id, &acting("try")).await,
        Err(cajero_server::payins::HoldError::Network(_))
    ));
    faults(app, json!({})).await;
    let open = cajero_server::payins::open_holds(state, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(open[0].releasing.is_none(), "{:?}", open[0]);

    // A slow network: while the release waits for the voucher, a refusal is refused (the
    // voucher the network is issuing must have its owner), and the release records it.
    faults(app, json!({"latency_ms": 1500})).await;
    let releasing = {
        let state = state.clone();
        let id = id.clone();
        tokio::spawn(async move {
            cajero_server::payins::release_held(&state, &id, &acting("known customer")).await
        })
    };
    let mut refused = None;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let hold = cajero_server::payins::open_holds(state, 10).await.unwrap();
        if hold.first().is_some_and(|h| h.releasing.is_some()) {
            refused = Some(cajero_server::payins::refuse_held(state, &id, &acting("race")).await);
            break;
        }
    }
    assert!(
        matches!(
            refused,
            Some(Err(cajero_server::payins::HoldError::Releasing(..)))
        ),
        "{refused:?}"
    );
    assert!(matches!(
        cajero_server::payins::release_held(state, &id, &acting("twice at once")).await,
        Err(cajero_server::payins::HoldError::Releasing(..))
    ));
    let released = releasing.await.unwrap().unwrap();
    faults(app, json!({})).await;
    assert_eq!(released["status"], "pending", "{released}");
    let read: Value = app
        .get_with_key(&format!("/v1/payins/{id}"), &key)
        .await
        .json()
        .await
        .unwrap();
    assert!(read["voucher"]["payment_code"].is_string(), "{read}");
    assert!(matches!(
        cajero_server::payins::refuse_held(state, &id, &acting("too late")).await,
        Err(cajero_server::payins::HoldError::NotOnHold { .. })
    ));

    // A release that died after the network issued the voucher (here: issued directly, and
    // the hold claimed as that release would have). The claim keeps a refusal out until it
    // is stale; the refusal then cancels the voucher at the network, so it has no open
    // voucher without an owner, and refuses.
    let (status, held) = json_of(post(app, &key, "/v1/payins", "r2", body("r-2")).await).await;
    assert_eq!(status, 202, "{held}");
    let second = held["id"].as_str().unwrap().to_owned();
    let network = state
        .networks
        .route(
            Mode::Test,
            cajero_connect::OrderKind::Collection,
            Some("efecty"),
        )
        .unwrap()
        .remove(0);
    let voucher = cajero_connect::CreateVoucher {
        network: "efecty".into(),
        reference: second.clone(),
        amount: cajero_domain::Amount::new(600_000).unwrap(),
        customer_name: None,
        customer_document: None,
        expires_in_seconds: 86_400,
        test_clock: None,
    };
    let issued = cajero_connect::create_once(network.connector.as_ref(), &voucher)
        .await
        .result
        .unwrap();
    let now_us = cajero_store::Micros::from(cajero_server::clock::Clock::now(&app.clock)).0;
    let token = cajero_store::risk::release_claim(now_us, 7);
    let claim_id = second.clone();
    let claimed = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::risk::claim_payin_hold(&mut c, &claim_id, &token, 0).await
            })
        })
        .await
        .unwrap();
    assert!(claimed);
    assert!(matches!(
        cajero_server::payins::refuse_held(state, &second, &acting("fresh claim")).await,
        Err(cajero_server::payins::HoldError::Releasing(..))
    ));
    app.clock.advance(SignedDuration::from_secs(
        cajero_server::payins::RELEASE_CLAIM_S + 1,
    ));
    let refused = cajero_server::payins::refuse_held(state, &second, &acting("died release"))
        .await
        .unwrap();
    assert_eq!(refused["status"], "canceled", "{refused}");
    let at_network = network
        .connector
        .find_by_reference(cajero_connect::OrderKind::Collection, &second)
        .await
        .result
        .unwrap();
    assert_eq!(at_network.network_order_id, issued.network_order_id);
    assert_eq!(
        at_network.status,
        cajero_connect::NetworkStatus::Canceled,
        "{at_network:?}"
    );
}

async fn faults(app: &TestApp, body: Value) {
    let url = app.server.state.networks.simulator_url().unwrap();
    let answer = app
        .http
        .put(format!("{url}/sim/v1/faults"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
}

/// Rules another instance (or the CLI) stored, which this instance never cached, decide the
/// very next payout here: each decision reads the newest version, with the blocklists.
async fn a_rule_version_written_elsewhere_decides_the_very_next_payout(app: &TestApp) {
    let (_, key) = funded(app, "Remesas").await;
    let (status, before) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "e1",
            payout(100_000, "79876543", None),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{before}");

    let rules = r#"{"rules": [{"id": "efecty-op", "kind": "limit", "subject": "network",
        "network": "efecty", "period": "operation", "amount_max": 50000, "action": "deny"}]}"#;
    let row = cajero_store::risk::RuleVersionRow {
        version: 1,
        rules: rules.to_owned(),
        diff: "+ efecty-op".to_owned(),
        reason: "set by another instance".to_owned(),
        created_by: "cli".to_owned(),
        created_at: 0,
    };
    app.server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move { cajero_store::risk::insert_rule_version(&mut c, &row).await })
        })
        .await
        .unwrap();
    let refused = post(
        app,
        &key,
        "/v1/payouts",
        "e2",
        payout(100_000, "79876543", None),
    )
    .await;
    assert_error(refused, 422, "invalid_request_error", "risk_denied").await;
    let (status, small) = json_of(
        post(
            app,
            &key,
            "/v1/payouts",
            "e3",
            payout(50_000, "79876543", None),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{small}");
}
