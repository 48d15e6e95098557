//! Reconciliation end to end, on both engines: a day of pay-ins and payouts through the
//! simulator, its file fetched by the daily job's step, every line matched and the tie-out at
//! zero; each fault the simulator can put in a file giving exactly its exception; resolutions,
//! reports and the operator's upload.

use std::collections::HashMap;
use std::sync::Mutex;

use cajero_domain::calendar;
use cajero_server::reconciliation::{self, Resolution, Resolve, job};
use cajero_store::reconciliation as records;
use cajero_store::verify;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};

use crate::helpers::Engine;
use crate::webhook_support::{Ctx, daytime_clock, post_ok};

/// Runs each test once per engine with a [`Ctx`] whose daily job is off (the tests run its
/// step); PostgreSQL only when configured.
macro_rules! reconciliation_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let ctx = super::ctx(crate::helpers::Engine::Sqlite).await.unwrap();
                    super::$name(&ctx).await;
                    ctx.app.server.stop().await.unwrap();
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(ctx) = super::ctx(crate::helpers::Engine::Postgres).await else {
                        eprintln!("skipped: set CAJERO_TEST_POSTGRES_URL to run the PostgreSQL suite");
                        return;
                    };
                    super::$name(&ctx).await;
                    ctx.app.server.stop().await.unwrap();
                }
            )*
        }
    };
}

reconciliation_tests!(
    a_clean_day_matches_every_line_and_ties_out_at_zero,
    an_asobancaria_file_matches_vouchers_and_does_not_miss_payouts,
    a_missing_line_is_missing_in_network,
    a_changed_amount_is_an_amount_mismatch_and_an_adjustment_resolves_it,
    a_duplicate_line_is_a_duplicate,
    an_extra_line_is_missing_in_cajero,
    a_payment_after_expiry_is_paid_after_expiry,
    broken_control_totals_reject_the_file_whole,
    operators_upload_files_with_their_token,
    exceptions_open_too_long_raise_an_alert,
    a_ledger_that_disagrees_with_the_orders_is_a_tie_out_difference,
);

const OPERATOR_TOKEN: &str = "operator-token-for-tests-0123456789abcdef";

async fn ctx(engine: Engine) -> Option<Ctx> {
    Ctx::with(engine, |config| {
        config.reconciliation.enabled = false;
        config.reconciliation.operator_token =
            Some(cajero_server::config::Secret::new(OPERATOR_TOKEN));
    })
    .await
}

/// A day of orders on a daytime test clock: what was made, and the day.
struct Day {
    clock: String,
    date: Date,
    payins: Vec<Value>,
    payouts: Vec<Value>,
}

async fn clock_date(ctx: &Ctx, clock: &str) -> Date {
    let body = ctx
        .get(&format!("/v1/test_helpers/test_clocks/{clock}"))
        .await;
    let at: Timestamp = body["frozen_time"].as_str().unwrap().parse().unwrap();
    calendar::bogota_date(at)
}

async fn payin(ctx: &Ctx, day: &Day, key: &str, amount: i64, pay: bool) -> Value {
    let body = json!({"amount": amount, "currency": "COP", "reference": key,
        "customer": {"name": "Ana Gómez", "email": "ana@example.com"},
        "test_clock": day.clock});
    let created = post_ok(ctx, "/v1/payins", key, body).await;
    if !pay {
        return created;
    }
    let id = created["id"].as_str().unwrap();
    let paid = post_ok(
        ctx,
        &format!("/v1/test_helpers/payins/{id}/pay"),
        &format!("pay-{key}"),
        json!({}),
    )
    .await;
    assert_eq!(paid["payin"]["status"], "paid", "{paid}");
    paid["payin"].clone()
}

async fn payout(ctx: &Ctx, day: &Day, key: &str, amount: i64, collect: bool) -> Value {
    let body = json!({"amount": amount, "currency": "COP", "reference": key,
        "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"},
                        "phone": "+573009876543"},
        "test_clock": day.clock});
    let created = post_ok(ctx, "/v1/payouts", key, body).await;
    assert_eq!(created["status"], "available", "{created}");
    if !collect {
        return created;
    }
    let id = created["id"].as_str().unwrap();
    let code = created["pickup"]["code"].as_str().unwrap();
    let collected = post_ok(
        ctx,
        &format!("/v1/test_helpers/payouts/{id}/collect"),
        &format!("collect-{key}"),
        json!({"code": code, "document_number": "79876543"}),
    )
    .await;
    assert_eq!(collected["payout"]["status"], "paid", "{collected}");
    collected["payout"].clone()
}

/// Two pay-ins paid and one left open, one payout collected and one not.
async fn a_day(ctx: &Ctx) -> Day {
    post_ok(
        ctx,
        "/v1/topups",
        "topup",
        json!({"amount": 2_000_000, "currency": "COP"}),
    )
    .await;
    let clock = daytime_clock(ctx).await;
    let date = clock_date(ctx, &clock).await;
    let mut day = Day {
        clock,
        date,
        payins: Vec::new(),
        payouts: Vec::new(),
    };
    for (key, amount, pay) in [
        ("pi-a", 50_000, true),
        ("pi-b", 125_000, true),
        ("pi-c", 30_000, false),
    ] {
        let p = payin(ctx, &day, key, amount, pay).await;
        day.payins.push(p);
    }
    for (key, amount, collect) in [("po-a", 200_000, true), ("po-b", 90_000, false)] {
        let p = payout(ctx, &day, key, amount, collect).await;
        day.payouts.push(p);
    }
    day
}

async fn run_job(ctx: &Ctx, date: Date) -> Vec<job::RunEntry> {
    let attempts = Mutex::new(HashMap::new());
    job::run_once(&ctx.app.server.state, ctx.now(), Some(date), &attempts)
        .await
        .unwrap()
}

async fn tie_outs(ctx: &Ctx, date: Date) -> Vec<records::TieOutRow> {
    ctx.app
        .server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                records::tie_outs_of_day(
                    &mut c,
                    cajero_domain::merchant::Mode::Test,
                    &date.to_string(),
                )
                .await
            })
        })
        .await
        .unwrap()
}

async fn exceptions(ctx: &Ctx) -> Vec<Value> {
    let list = ctx.get("/v1/reconciliation/exceptions?limit=100").await;
    list["data"].as_array().unwrap().clone()
}

/// Every exception, merchants' or not, as the operator lists them.
async fn operator_exceptions(ctx: &Ctx) -> Vec<cajero_store::exceptions::ExceptionRecord> {
    ctx.app
        .server
        .state
        .store
        .read(|mut c| {
            Box::pin(async move {
                cajero_store::exceptions::list(&mut c, &Default::default(), 100).await
            })
        })
        .await
        .unwrap()
}

async fn ledger_verifies(ctx: &Ctx) {
    let report = ctx
        .app
        .server
        .state
        .store
        .read(|mut c| Box::pin(async move { verify::verify(&mut c).await }))
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

async fn a_clean_day_matches_every_line_and_ties_out_at_zero(ctx: &Ctx) {
    let day = a_day(ctx).await;
    let runs = run_job(ctx, day.date).await;
    let efecty: Vec<&job::RunEntry> = runs.iter().filter(|r| r.network == "efecty").collect();
    assert_eq!(efecty.len(), 1, "{runs:?}");
    assert!(efecty[0].result.starts_with("imported"), "{runs:?}");

    let report = ctx
        .get(&format!("/v1/reconciliation/reports?date={}", day.date))
        .await;
    assert_eq!(report["object"], "reconciliation_report");
    assert_eq!(report["summary"], json!({"matched": 3}), "{report}");
    let rows = report["data"].as_array().unwrap();
    let orders: Vec<&str> = rows.iter().map(|r| r["order"].as_str().unwrap()).collect();
    for paid in [&day.payins[0], &day.payins[1], &day.payouts[0]] {
        assert!(orders.contains(&paid["id"].as_str().unwrap()), "{report}");
    }
    let first = rows
        .iter()
        .find(|r| r["order"] == day.payins[0]["id"])
        .unwrap();
    assert_eq!(first["amount_gross"], 50_000);
    assert_eq!(first["amount_network"], 50_000);
    assert_eq!(
        first["amount_net"].as_i64().unwrap(),
        50_000 - first["amount_fee"].as_i64().unwrap()
    );
    assert_eq!(first["status"], "paid");
    assert_eq!(first["network_status"], "paid");
    assert_eq!(first["result"], "matched");

    let ties = tie_outs(ctx, day.date).await;
    let ties: Vec<_> = ties.into_iter().filter(|t| t.network == "efecty").collect();
    assert_eq!(ties.len(), 2, "{ties:?}");
    for t in &ties {
        assert_eq!(t.file_total, t.matched_total, "{t:?}");
        assert_eq!(t.matched_total, t.ledger_total, "{t:?}");
        assert_eq!(
            (t.file_difference, t.ledger_difference, t.unexplained),
            (0, 0, 0)
        );
    }
    let collections = ties.iter().find(|t| t.kind == "collection").unwrap();
    assert_eq!(collections.file_total, 175_000);
    let payouts = ties.iter().find(|t| t.kind == "payout").unwrap();
    assert_eq!(payouts.file_total, 200_000);
    assert!(exceptions(ctx).await.is_empty());

    // The same file again changes nothing, and says so.
    let again = run_job(ctx, day.date).await;
    assert!(
        again
            .iter()
            .any(|r| r.network == "efecty" && r.result.starts_with("already imported")),
        "{again:?}"
    );

    // The CSV report: one row per order.
    let csv = ctx
        .app
        .http
        .get(ctx.app.url(&format!(
            "/v1/reconciliation/reports?date={}&format=csv",
            day.date
        )))
        .bearer_auth(&ctx.key)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("date,file,line,kind,order,reference,payment_code")
    );
    assert_eq!(lines.count(), 3, "{text}");
    ledger_verifies(ctx).await;
}

async fn an_asobancaria_file_matches_vouchers_and_does_not_miss_payouts(ctx: &Ctx) {
    let day = a_day(ctx).await;
    let file = sim_file(ctx, day.date, "asobancaria").await;
    let outcome = import_asobancaria(ctx, file, None, false).await;
    let reconciliation::Imported::Done(summary) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(summary.file.business_date, day.date.to_string());
    assert_eq!(summary.outcomes.get("matched"), Some(&2), "{summary:?}");
    assert_eq!(summary.outcomes.len(), 1, "{summary:?}");
    assert_eq!(summary.tie_outs.len(), 1);
    assert_eq!(summary.tie_outs[0].unexplained, 0);
    assert!(exceptions(ctx).await.is_empty());
}

/// The simulator's file of `date` in `format`.
async fn sim_file(ctx: &Ctx, date: Date, format: &str) -> Vec<u8> {
    let sim = ctx.app.server.state.networks.sim().unwrap();
    cajero_connect::Connector::settlement_file(sim, "efecty", &date.to_string(), format)
        .await
        .result
        .unwrap()
}

/// Imports an Asobancaria file of the simulator route by hand.
async fn import_asobancaria(
    ctx: &Ctx,
    bytes: Vec<u8>,
    date: Option<Date>,
    lenient: bool,
) -> reconciliation::Imported {
    reconciliation::import(
        &ctx.app.server.state.store,
        &ctx.app.server.state.clock,
        reconciliation::Import {
            mode: cajero_domain::merchant::Mode::Test,
            route: "simulator".into(),
            network: "efecty".into(),
            format: reconciliation::Format::Asobancaria,
            date,
            lenient,
            source: reconciliation::Source::Cli,
            by: "test".into(),
        },
        bytes,
    )
    .await
    .unwrap()
}

/// The simulator's order id of one of our orders.
async fn network_order_id(ctx: &Ctx, order: &Value) -> String {
    let id = order["id"].as_str().unwrap().to_string();
    let table = if id.starts_with("po_") {
        "payouts"
    } else {
        "payins"
    };
    let sql = format!("SELECT network_order_id FROM {table} WHERE id = $1");
    ctx.app
        .server
        .state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                cajero_store::fetch!(
                    one,
                    &mut c,
                    (String,),
                    cajero_store::sqlx::AssertSqlSafe(sql),
                    id
                )
                .map_err(cajero_store::StoreError::from)
            })
        })
        .await
        .unwrap()
        .0
}

/// Sets the simulator's settlement faults.
async fn faults(ctx: &Ctx, body: Value) {
    let url = ctx.app.server.state.networks.simulator_url().unwrap();
    let response = ctx
        .app
        .http
        .put(format!("{url}/sim/v1/settlement_faults"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
}

/// Runs the job for the day; exactly one exception, of `kind` about `object`, must follow.
async fn only_exception(ctx: &Ctx, date: Date, kind: &str, object: &str) -> Value {
    let runs = run_job(ctx, date).await;
    assert!(
        runs.iter()
            .any(|r| r.network == "efecty" && r.result.starts_with("imported")),
        "{runs:?}"
    );
    let all = exceptions(ctx).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let e = all[0].clone();
    assert_eq!(e["kind"], kind, "{e}");
    assert_eq!(e["object_id"], object, "{e}");
    assert_eq!(e["status"], "open");
    assert_eq!(e["object"], "reconciliation_exception");
    assert!(e["file"].as_str().unwrap().starts_with("rec_"), "{e}");
    // The tie-out is explained by the exception: nothing is left over.
    for t in tie_outs(ctx, date).await {
        assert_eq!(t.unexplained, 0, "{t:?}");
    }
    // Evented to the merchant.
    let events = ctx
        .get("/v1/events?type=reconciliation.exception.created")
        .await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");
    e
}

async fn a_missing_line_is_missing_in_network(ctx: &Ctx) {
    let day = a_day(ctx).await;
    let order = network_order_id(ctx, &day.payins[0]).await;
    faults(ctx, json!({"missing_line": [{"order_id": order}]})).await;
    let e = only_exception(
        ctx,
        day.date,
        "missing_in_network",
        day.payins[0]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(e["amount"], 50_000);
    assert_eq!(e["line"], Value::Null);
    let report = ctx
        .get(&format!("/v1/reconciliation/reports?date={}", day.date))
        .await;
    assert_eq!(
        report["summary"],
        json!({"matched": 2, "missing_in_network": 1}),
        "{report}"
    );
}

async fn a_changed_amount_is_an_amount_mismatch_and_an_adjustment_resolves_it(ctx: &Ctx) {
    let day = a_day(ctx).await;
    let order = network_order_id(ctx, &day.payins[1]).await;
    faults(
        ctx,
        json!({"changed_amount": [{"order_id": order, "delta": 100}]}),
    )
    .await;
    let e = only_exception(
        ctx,
        day.date,
        "amount_mismatch",
        day.payins[1]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(e["amount"], 125_100);
    assert!(e["detail"].as_str().unwrap().contains("125100"), "{e}");

    let state = &ctx.app.server.state;
    let id = e["id"].as_str().unwrap().to_string();
    let resolve = |resolution, amount| Resolve {
        id: id.clone(),
        resolution,
        note: "Efecty confirmed the counter took 100 pesos more; credited to the merchant".into(),
        by: "ops@example.com".into(),
        amount,
        merchant: None,
    };
    // An adjustment needs its amount; an amount needs an adjustment.
    assert!(
        reconciliation::resolve(
            &state.store,
            &state.clock,
            resolve(Resolution::Adjusted, None)
        )
        .await
        .is_err()
    );
    assert!(
        reconciliation::resolve(
            &state.store,
            &state.clock,
            resolve(Resolution::Accepted, Some(5))
        )
        .await
        .is_err()
    );
    let before = ctx.get("/v1/balance").await;
    let resolved = reconciliation::resolve(
        &state.store,
        &state.clock,
        resolve(Resolution::Adjusted, Some(100)),
    )
    .await
    .unwrap();
    assert_eq!(resolved.status, "resolved");
    assert_eq!(resolved.resolution.as_deref(), Some("adjusted"));
    assert!(resolved.adjustment_id.is_some());
    let after = ctx.get("/v1/balance").await;
    let available = |b: &Value| b["available"][0]["amount"].as_i64().unwrap();
    assert_eq!(available(&after) - available(&before), 100);
    ledger_verifies(ctx).await;
    // Once.
    let again = reconciliation::resolve(
        &state.store,
        &state.clock,
        resolve(Resolution::Adjusted, Some(100)),
    )
    .await;
    assert!(
        matches!(again, Err(reconciliation::ResolveError::NotOpen { .. })),
        "{again:?}"
    );
    let shown = ctx
        .get(&format!("/v1/reconciliation/exceptions/{id}"))
        .await;
    assert_eq!(shown["status"], "resolved");
    assert_eq!(shown["resolved_by"], "ops@example.com");
    let events = ctx
        .get("/v1/events?type=reconciliation.exception.resolved")
        .await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1, "{events}");
    let open = ctx.get("/v1/reconciliation/exceptions?status=open").await;
    assert!(open["data"].as_array().unwrap().is_empty());
}

async fn a_duplicate_line_is_a_duplicate(ctx: &Ctx) {
    let day = a_day(ctx).await;
    let order = network_order_id(ctx, &day.payouts[0]).await;
    faults(ctx, json!({"duplicate_line": [{"order_id": order}]})).await;
    let runs = run_job(ctx, day.date).await;
    let file = runs
        .iter()
        .find(|r| r.network == "efecty")
        .unwrap()
        .result
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    let all = exceptions(ctx).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["kind"], "duplicate");
    assert!(
        all[0]["object_id"].as_str().unwrap().starts_with(&file),
        "{all:?}"
    );
    assert_eq!(all[0]["amount"], 200_000);
    for t in tie_outs(ctx, day.date).await {
        assert_eq!(t.unexplained, 0, "{t:?}");
    }
}

async fn an_extra_line_is_missing_in_cajero(ctx: &Ctx) {
    let day = a_day(ctx).await;
    // Efecty's collection codes have 8 digits; no order of the day has this one.
    let code = "99999999";
    let sim = ctx.app.server.state.networks.sim().unwrap();
    faults(
        ctx,
        json!({"extra_line": [{"date": day.date.to_string(), "network": "efecty",
            "merchant_id": sim.config().merchant_id, "kind": "collection", "code": code,
            "amount": 45_000}]}),
    )
    .await;
    let runs = run_job(ctx, day.date).await;
    assert!(
        runs.iter()
            .any(|r| r.network == "efecty" && r.result.starts_with("imported"))
    );
    // Nobody's order: the operator sees it, no merchant does.
    assert!(exceptions(ctx).await.is_empty());
    let all = operator_exceptions(ctx).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].kind, "missing_in_cajero");
    assert_eq!(all[0].amount, 45_000);
    assert_eq!(all[0].merchant_id, None);
    assert!(all[0].line.is_some());
    for t in tie_outs(ctx, day.date).await {
        assert_eq!(t.unexplained, 0, "{t:?}");
    }
}

async fn a_payment_after_expiry_is_paid_after_expiry(ctx: &Ctx) {
    let day = a_day(ctx).await;
    let body = json!({"amount": 40_000, "currency": "COP", "expires_in_seconds": 3600,
        "test_clock": day.clock});
    let late = post_ok(ctx, "/v1/payins", "pi-late", body).await;
    let frozen = ctx
        .get(&format!("/v1/test_helpers/test_clocks/{}", day.clock))
        .await["frozen_time"]
        .as_str()
        .unwrap()
        .parse::<Timestamp>()
        .unwrap();
    post_ok(
        ctx,
        &format!("/v1/test_helpers/test_clocks/{}/advance", day.clock),
        "advance",
        json!({"frozen_time": frozen.as_second() + 2 * 3_600}),
    )
    .await;
    let id = late["id"].as_str().unwrap();
    let mut expired = Value::Null;
    for _ in 0..50 {
        expired = ctx.get(&format!("/v1/payins/{id}")).await;
        if expired["status"] == "expired" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(expired["status"], "expired", "{expired}");
    let order = network_order_id(ctx, &late).await;
    faults(
        ctx,
        json!({"paid_after_expiry": [{"order_id": order, "date": day.date.to_string()}]}),
    )
    .await;
    let e = only_exception(ctx, day.date, "paid_after_expiry", id).await;
    assert_eq!(e["amount"], 40_000);
}

async fn broken_control_totals_reject_the_file_whole(ctx: &Ctx) {
    let day = a_day(ctx).await;
    faults(
        ctx,
        json!({"broken_control_totals": {"date": day.date.to_string(), "total_delta": 1}}),
    )
    .await;
    let bytes = sim_file(ctx, day.date, "asobancaria").await;
    let verdict =
        reconciliation::check(&bytes, reconciliation::Format::Asobancaria, "efecty", false);
    let refused = verdict.unwrap_err();
    let texts: Vec<String> = refused.problems.iter().map(ToString::to_string).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("record 08") && t.contains("declares") && t.contains("sum")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("record 09")), "{texts:?}");
    let outcome = import_asobancaria(ctx, bytes, Some(day.date), true).await;
    let reconciliation::Imported::Rejected { file, refused } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(file.status, "rejected");
    assert!(refused.problems.len() >= 2);
    // Nothing of it was imported.
    assert!(tie_outs(ctx, day.date).await.is_empty());
    assert!(exceptions(ctx).await.is_empty());
    let report = ctx
        .get(&format!("/v1/reconciliation/reports?date={}", day.date))
        .await;
    assert!(report["data"].as_array().unwrap().is_empty(), "{report}");
}

async fn operators_upload_files_with_their_token(ctx: &Ctx) {
    let day = a_day(ctx).await;
    let bytes = sim_file(ctx, day.date, "csv").await;
    let upload = |token: &str| {
        ctx.app
            .http
            .post(ctx.app.url(&format!(
                "/operator/reconciliation/files?network=efecty&mode=test&format=csv&by=ana&date={}",
                day.date
            )))
            .bearer_auth(token)
            .body(bytes.clone())
            .send()
    };
    let refused = upload("not-the-token").await.unwrap();
    assert_eq!(refused.status(), 401);
    let merchant_key = upload(&ctx.key).await.unwrap();
    assert_eq!(merchant_key.status(), 401);
    let first = upload(OPERATOR_TOKEN).await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "imported", "{first}");
    assert_eq!(first["outcomes"], json!({"matched": 3}), "{first}");
    let second: Value = upload(OPERATOR_TOKEN).await.unwrap().json().await.unwrap();
    assert_eq!(second["status"], "already_imported", "{second}");
    assert_eq!(second["file"]["id"], first["file"]["id"]);
    // A garbled file: every problem listed, nothing imported.
    let garbled = ctx
        .app
        .http
        .post(ctx.app.url("/operator/reconciliation/files?network=efecty&mode=test&format=csv&date=2026-01-02"))
        .bearer_auth(OPERATOR_TOKEN)
        .body("date,network,type,order_id,reference,code,amount,currency\n2026-01-02,efecty,collection,o,p,1,x,COP\n2026-01-02,efecty,refund,o,p,1,5,COP\n")
        .send()
        .await
        .unwrap();
    let garbled: Value = garbled.json().await.unwrap();
    assert_eq!(garbled["status"], "rejected", "{garbled}");
    assert_eq!(
        garbled["problems"].as_array().unwrap().len(),
        2,
        "{garbled}"
    );
    assert_eq!(garbled["problems"][0]["line"], 2);
    assert_eq!(garbled["problems"][0]["field"], "amount");
}

async fn exceptions_open_too_long_raise_an_alert(ctx: &Ctx) {
    let day = a_day(ctx).await;
    let order = network_order_id(ctx, &day.payins[0]).await;
    faults(ctx, json!({"missing_line": [{"order_id": order}]})).await;
    run_job(ctx, day.date).await;
    let alerts = ctx.get("/v1/events?type=alert.raised").await;
    assert!(alerts["data"].as_array().unwrap().is_empty());
    ctx.advance(49 * 3_600);
    let state = &ctx.app.server.state;
    let after = jiff::SignedDuration::from_hours(48);
    assert_eq!(
        reconciliation::alert_overdue(&state.store, &state.clock, after)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        reconciliation::alert_overdue(&state.store, &state.clock, after)
            .await
            .unwrap(),
        0
    );
    let alerts = ctx.get("/v1/events?type=alert.raised").await;
    let data = alerts["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{alerts}");
    assert_eq!(data[0]["data"]["object"]["code"], "exception_overdue");
}

async fn a_ledger_that_disagrees_with_the_orders_is_a_tie_out_difference(ctx: &Ctx) {
    use cajero_domain::ledger::{AccountKey, AccountKind, Transfer, TransferCode, TransferMode};
    use cajero_domain::merchant::Mode;
    use cajero_domain::money::{Amount, Currency};
    let day = a_day(ctx).await;
    // Books gone wrong: a second posting on the network's receivable for a paid pay-in (a bug
    // that double-posted 1,000 pesos), balanced against suspense so the ledger still verifies.
    let payin = day.payins[0]["id"].as_str().unwrap().to_string();
    let batch = cajero_store::ledger::NewBatch {
        id: "txn_01m8qa0c4v1b3n5m7q9s2u4w6y".into(),
        merchant_id: None,
        mode: Mode::Test,
        currency: Currency::Cop,
        code: TransferCode::Payin,
        source_id: Some(payin),
        available_on: None,
        transfers: vec![Transfer {
            id: "txn_01m8qa0c4v1b3n5m7q9s2u4w6y.0".into(),
            debit: AccountKey::network(
                AccountKind::NetworkReceivable,
                "efecty",
                Mode::Test,
                Currency::Cop,
            ),
            credit: AccountKey::platform(AccountKind::Suspense, Mode::Test, Currency::Cop),
            amount: Amount::new(1_000).unwrap(),
            mode: TransferMode::Single,
            code: TransferCode::Payin,
        }],
    };
    let now = ctx.now();
    ctx.app
        .server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move { cajero_store::ledger::post_batch(&mut c, &batch, now).await })
        })
        .await
        .unwrap();
    ledger_verifies(ctx).await;
    run_job(ctx, day.date).await;
    let ties = tie_outs(ctx, day.date).await;
    let collections = ties
        .iter()
        .find(|t| t.network == "efecty" && t.kind == "collection")
        .unwrap();
    assert_eq!(collections.ledger_total, 175_000 + 1_000, "{collections:?}");
    assert_eq!(collections.unexplained, 1_000, "{collections:?}");
    // Nobody's exception but the operator's: no merchant sees it.
    assert!(exceptions(ctx).await.is_empty());
    let all = operator_exceptions(ctx).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].kind, "tie_out_difference");
    assert_eq!(all[0].amount, 1_000);
}
