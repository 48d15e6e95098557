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
    let sim = ctx.app.server.state.networks.sim().unwrap();
    let file = cajero_connect::Connector::settlement_file(
        sim,
        "efecty",
        &day.date.to_string(),
        "asobancaria",
    )
    .await
    .result
    .unwrap();
    let outcome = reconciliation::import(
        &ctx.app.server.state.store,
        &ctx.app.server.state.clock,
        reconciliation::Import {
            mode: cajero_domain::merchant::Mode::Test,
            route: "simulator".into(),
            network: "efecty".into(),
            format: reconciliation::Format::Asobancaria,
            date: None,
            lenient: false,
            source: reconciliation::Source::Cli,
            by: "test".into(),
        },
        file,
    )
    .await
    .unwrap();
    let reconciliation::Imported::Done(summary) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(summary.file.business_date, day.date.to_string());
    assert_eq!(summary.outcomes.get("matched"), Some(&2), "{summary:?}");
    assert_eq!(summary.outcomes.len(), 1, "{summary:?}");
    assert_eq!(summary.tie_outs.len(), 1);
    assert_eq!(summary.tie_outs[0].unexplained, 0);
    assert!(exceptions(ctx).await.is_empty());
    let _ = (Resolution::Accepted, std::marker::PhantomData::<Resolve>);
}
