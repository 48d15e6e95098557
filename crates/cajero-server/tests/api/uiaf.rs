//! The UIAF's monthly report, on both engines: a person's operations across merchants, in and
//! out, add up from COP 50,000,000; a single one counts from COP 10,000,000; the month is
//! Bogotá's (an operation at 23:30 on the 30th belongs to it, one at 00:30 on the 1st does
//! not); test mode, uncollected payouts and other people's operations stay out.
//!
//! The same operations are flagged as they happen, by the worker's single step (driven here;
//! the server's own loop may take a batch first, which must change nothing): a single one at
//! once, a person's month the moment it reaches the threshold (its earlier operations too, and
//! each later one), each once whatever is read again, with an operator alert; a month's flags
//! are its report's rows.

use cajero_domain::merchant::MerchantStatus;
use cajero_server::clock::Clock as _;
use cajero_server::uiaf::flags;
use cajero_store::alerts::{AlertFilter, AlertRow};
use cajero_store::page::{Cursor, PageRequest};
use cajero_store::{Micros, StoreError};

use crate::helpers::TestApp;

crate::both_engines!(
    the_monthly_report_adds_a_persons_operations_across_merchants,
    a_single_operation_is_flagged_from_ten_million_as_it_happens,
    a_persons_month_reaching_fifty_million_flags_all_its_operations_across_merchants,
    running_the_worker_again_flags_nothing_twice,
    the_flags_of_a_month_are_the_reports_rows,
);

/// µs of a Bogotá wall-clock time.
fn bogota(text: &str) -> i64 {
    let civil: jiff::civil::DateTime = text.parse().unwrap();
    Micros::from(
        cajero_domain::calendar::bogota()
            .to_timestamp(civil)
            .unwrap(),
    )
    .0
}

struct Op<'a> {
    id: &'a str,
    merchant: String,
    payout: bool,
    live: bool,
    status: &'a str,
    amount: i64,
    document: Option<&'a str>,
    paid: &'a str,
}

async fn insert(app: &TestApp, op: Op<'_>) {
    let paid = op.paid;
    insert_recorded(app, op, paid).await;
}

/// Inserts `op` as recorded (its `updated_at`) at the Bogotá time `recorded`: later than it
/// was paid when the network told us late.
async fn insert_recorded(app: &TestApp, op: Op<'_>, recorded: &str) {
    let recorded = bogota(recorded);
    let person = match op.document {
        Some(number) => {
            format!(
                r#"{{"name": "Luis Pérez", "document": {{"type": "CC", "number": "{number}"}}}}"#
            )
        }
        None => r#"{"name": "Sin Documento"}"#.to_owned(),
    };
    let paid = bogota(op.paid);
    let (table, person_column, extra_columns, extra_values) = if op.payout {
        ("payouts", "beneficiary", "expires_in_s", "86400".to_owned())
    } else {
        (
            "payins",
            "customer",
            "network_order_id, payment_code, expires_at",
            format!("'ord_{}', '1234', {}", op.id, paid + 1),
        )
    };
    let sql = format!(
        "INSERT INTO {table} (id, merchant_id, livemode, status, amount, currency, network, \
         {person_column}, metadata, page_token, paid_at, created_at, updated_at, paid_counter_id, \
         {extra_columns}) VALUES ('{id}', '{merchant}', {live}, '{status}', {amount}, 'COP', \
         'efecty', '{person}', '{{}}', 'tok_{id}', {paid}, {paid}, {recorded}, 'CTR9', \
         {extra_values})",
        id = op.id,
        merchant = op.merchant,
        live = if op.live { "TRUE" } else { "FALSE" },
        status = op.status,
        amount = op.amount,
    );
    app.server
        .state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::execute!(&mut c, cajero_store::sqlx::AssertSqlSafe(sql))?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
}

/// November 2026 (and the first minutes of December): person A's 50,000,000 across two
/// merchants, in and out, the last at 23:30 on the 30th, and 00:30 on 1 December; person B's
/// 49,999,995 with a test-mode and an uncollected payout beside; a single 10,000,000 without a
/// document.
async fn november(app: &TestApp) {
    let m1 = app
        .merchant("Remesas Uno", MerchantStatus::Active)
        .await
        .to_string();
    let m2 = app
        .merchant("Remesas Dos", MerchantStatus::Active)
        .await
        .to_string();
    let ids: Vec<String> = (0..20).map(|i| format!("po_a{i:02}")).collect();
    // Person A: 50,000,000 in November across two merchants, one of them cash in, the last at
    // 23:30 on the 30th (already December in UTC).
    for (i, id) in ids.iter().enumerate().take(9) {
        insert(
            app,
            Op {
                id,
                merchant: if i < 5 { m1.clone() } else { m2.clone() },
                payout: true,
                live: true,
                status: "paid",
                amount: 5_000_000,
                document: Some(if i % 2 == 0 {
                    "1020304050"
                } else {
                    "1.020.304.050"
                }),
                paid: &format!("2026-11-{:02}T10:00", i + 2),
            },
        )
        .await;
    }
    insert(
        app,
        Op {
            id: "pi_a_in",
            merchant: m2.clone(),
            payout: false,
            live: true,
            status: "paid",
            amount: 5_000_000,
            document: Some("1020304050"),
            paid: "2026-11-30T23:30",
        },
    )
    .await;
    // Not November: 00:30 on 1 December (Bogotá).
    insert(
        app,
        Op {
            id: "po_a_dec",
            merchant: m1.clone(),
            payout: true,
            live: true,
            status: "paid",
            amount: 5_000_000,
            document: Some("1020304050"),
            paid: "2026-12-01T00:30",
        },
    )
    .await;
    // Person B: 49,999,995, not reported; a test-mode payout and an uncollected one do not
    // count toward it.
    for id in &ids[10..15] {
        insert(
            app,
            Op {
                id,
                merchant: m1.clone(),
                payout: true,
                live: true,
                status: "paid",
                amount: 9_999_999,
                document: Some("79876543"),
                paid: "2026-11-15T12:00",
            },
        )
        .await;
    }
    insert(
        app,
        Op {
            id: "po_b_test",
            merchant: m1.clone(),
            payout: true,
            live: false,
            status: "paid",
            amount: 5_000_000,
            document: Some("79876543"),
            paid: "2026-11-16T12:00",
        },
    )
    .await;
    insert(
        app,
        Op {
            id: "po_b_open",
            merchant: m1.clone(),
            payout: true,
            live: true,
            status: "available",
            amount: 5_000_000,
            document: Some("79876543"),
            paid: "2026-11-16T12:00",
        },
    )
    .await;
    // A single operation of 10,000,000 without a document.
    insert(
        app,
        Op {
            id: "pi_single",
            merchant: m2.clone(),
            payout: false,
            live: true,
            status: "paid",
            amount: 10_000_000,
            document: None,
            paid: "2026-11-20T09:15",
        },
    )
    .await;
}

async fn the_monthly_report_adds_a_persons_operations_across_merchants(app: &TestApp) {
    november(app).await;

    let report =
        cajero_server::uiaf::report(&app.server.state.store, jiff::civil::date(2026, 11, 17))
            .await
            .unwrap();
    assert_eq!(report.due_by, Some(jiff::civil::date(2026, 12, 10)));
    // 9 + 1 of A, 5 of B, the single one (the test-mode, uncollected and December ones are out).
    assert_eq!(report.operations, 16);
    let reported: Vec<(&str, &str)> = report
        .rows
        .iter()
        .map(|(op, why)| (op.order_id.as_str(), why.as_str()))
        .collect();
    assert_eq!(reported.len(), 11, "{reported:?}");
    assert!(reported.contains(&("pi_a_in", "multiple")), "{reported:?}");
    assert!(reported.contains(&("pi_single", "single")), "{reported:?}");
    assert!(
        !reported.iter().any(|(id, _)| id.starts_with("po_a1")),
        "{reported:?}"
    );
    assert!(!reported.iter().any(|(id, _)| *id == "po_a_dec"));
    let csv = cajero_server::uiaf::csv(&report).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "date,amount_cop,type,document_type,document_number,name,municipality,counter,network,merchant,order,reason"
    );
    assert!(
        csv.contains("2026-11-30 23:30,5000000,cash_in,CC,1020304050,Luis Pérez,,CTR9,efecty,"),
        "{csv}"
    );
    assert_eq!(lines.count(), 11);

    // December holds the 00:30 operation alone, under the thresholds.
    let december =
        cajero_server::uiaf::report(&app.server.state.store, jiff::civil::date(2026, 12, 1))
            .await
            .unwrap();
    assert_eq!(december.operations, 1);
    assert!(december.rows.is_empty());
}

/// Moves the server's clock forward to the Bogotá time `text`.
fn clock_to(app: &TestApp, text: &str) {
    let target = Micros(bogota(text)).to_timestamp();
    let now = app.clock.now();
    assert!(target >= now, "the clock only moves forward");
    app.clock.advance(target.duration_since(now));
}

/// Runs the worker's step until it reads nothing; the flags it made.
async fn drain(app: &TestApp) -> usize {
    let mut flagged = 0;
    loop {
        let pass = flags::run_once(&app.server.state).await.unwrap();
        flagged += pass.flagged;
        if pass.read == 0 {
            return flagged;
        }
    }
}

/// The flags of a month: (order, why).
async fn flagged(app: &TestApp, year: i16, month: i8) -> Vec<(String, &'static str)> {
    flags::month(&app.server.state.store, jiff::civil::date(year, month, 1))
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.order_id, f.why.as_str()))
        .collect()
}

/// The `uiaf_operation_flagged` alerts, newest first.
async fn flag_alerts(app: &TestApp) -> Vec<AlertRow> {
    let filter = AlertFilter {
        code: Some("uiaf_operation_flagged".into()),
        ..AlertFilter::default()
    };
    let page = PageRequest {
        limit: 100,
        cursor: Cursor::Newest,
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

fn live_payout<'a>(
    id: &'a str,
    merchant: &str,
    amount: i64,
    document: Option<&'a str>,
    paid: &'a str,
) -> Op<'a> {
    Op {
        id,
        merchant: merchant.to_owned(),
        payout: true,
        live: true,
        status: "paid",
        amount,
        document,
        paid,
    }
}

async fn a_single_operation_is_flagged_from_ten_million_as_it_happens(app: &TestApp) {
    let m = app
        .merchant("Remesas Uno", MerchantStatus::Active)
        .await
        .to_string();
    let at = "2026-11-03T10:00";
    insert(
        app,
        live_payout("po_at", &m, 10_000_000, Some("1.020.304-050"), at),
    )
    .await;
    insert(
        app,
        live_payout("po_below", &m, 9_999_999, Some("79876543"), at),
    )
    .await;
    insert(
        app,
        Op {
            payout: false,
            ..live_payout("pi_anonymous", &m, 10_000_000, None, at)
        },
    )
    .await;
    // Test mode and an uncollected payout: never.
    insert(
        app,
        Op {
            live: false,
            ..live_payout("po_test", &m, 20_000_000, Some("1020304050"), at)
        },
    )
    .await;
    insert(
        app,
        Op {
            live: false,
            payout: false,
            ..live_payout("pi_test", &m, 10_000_000, None, at)
        },
    )
    .await;
    insert(
        app,
        Op {
            status: "available",
            ..live_payout("po_open", &m, 15_000_000, Some("1020304050"), at)
        },
    )
    .await;
    // Not before the worker looks (a minute after it was recorded, at the earliest).
    clock_to(app, "2026-11-03T10:00:30");
    assert_eq!(drain(app).await, 0);
    assert!(flagged(app, 2026, 11).await.is_empty());

    clock_to(app, "2026-11-03T10:05");
    drain(app).await;

    assert_eq!(
        flagged(app, 2026, 11).await,
        [
            ("pi_anonymous".to_owned(), "single"),
            ("po_at".to_owned(), "single")
        ]
    );
    let list = flags::month(&app.server.state.store, jiff::civil::date(2026, 11, 1))
        .await
        .unwrap();
    let po_at = list.iter().find(|f| f.order_id == "po_at").unwrap();
    assert_eq!(
        po_at.document,
        Some(("CC".to_owned(), "1020304050".to_owned()))
    );
    assert_eq!(
        (po_at.amount, po_at.direction.as_str()),
        (10_000_000, "cash_out")
    );
    assert_eq!(po_at.merchant_id, m);
    let anonymous = list.iter().find(|f| f.order_id == "pi_anonymous").unwrap();
    assert_eq!(
        (anonymous.document.clone(), anonymous.direction.as_str()),
        (None, "cash_in")
    );
    // The operator is told, once per operation, naming the order and why; the merchant is not.
    let alerts = flag_alerts(app).await;
    let mut subjects: Vec<&str> = alerts.iter().map(|a| a.subject.as_str()).collect();
    subjects.sort_unstable();
    assert_eq!(subjects, ["uiaf:pi_anonymous", "uiaf:po_at"]);
    for alert in &alerts {
        assert!(alert.livemode && alert.merchant_id.is_none(), "{alert:?}");
        assert_eq!(alert.status, "open");
        assert!(
            alert.message.contains("a single cash operation"),
            "{}",
            alert.message
        );
        assert!(!alert.message.contains("1020304050"), "{}", alert.message);
        let details: serde_json::Value = serde_json::from_str(&alert.details).unwrap();
        assert_eq!(details["why"], "single");
    }
    assert!(
        alerts
            .iter()
            .any(|a| a.message.starts_with("po_at (cash_out, COP 10,000,000"))
    );
}

async fn a_persons_month_reaching_fifty_million_flags_all_its_operations_across_merchants(
    app: &TestApp,
) {
    let m1 = app
        .merchant("Remesas Uno", MerchantStatus::Active)
        .await
        .to_string();
    let m2 = app
        .merchant("Remesas Dos", MerchantStatus::Active)
        .await
        .to_string();
    // 45,000,000 in nine payouts across two merchants, the document written two ways.
    let ids: Vec<String> = (0..9).map(|i| format!("po_a{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let merchant = if i < 5 { &m1 } else { &m2 };
        let document = if i % 2 == 0 {
            "1020304050"
        } else {
            "1.020.304.050"
        };
        let paid = format!("2026-11-{:02}T10:00", i + 2);
        insert(
            app,
            live_payout(id, merchant, 5_000_000, Some(document), &paid),
        )
        .await;
    }
    clock_to(app, "2026-11-20T12:00");
    assert_eq!(drain(app).await, 0);
    assert!(flagged(app, 2026, 11).await.is_empty());

    // A pay-in of 5,000,000 at 23:30 on the 30th (December already in UTC) reaches 50,000,000:
    // it and every earlier one of the month are flagged.
    insert(
        app,
        Op {
            payout: false,
            ..live_payout(
                "pi_a_in",
                &m2,
                5_000_000,
                Some("1020304050"),
                "2026-11-30T23:30",
            )
        },
    )
    .await;
    clock_to(app, "2026-11-30T23:45");
    drain(app).await;
    let november = flagged(app, 2026, 11).await;
    assert_eq!(november.len(), 10, "{november:?}");
    assert!(november.iter().all(|(_, why)| *why == "monthly_aggregate"));
    assert_eq!(november[0].0, "po_a0", "the earliest, of 2 November");
    assert_eq!(november[9].0, "pi_a_in");

    // 00:30 on 1 December is the next month: a new total, nothing flagged.
    insert(
        app,
        live_payout(
            "po_a_dec",
            &m1,
            5_000_000,
            Some("1020304050"),
            "2026-12-01T00:30",
        ),
    )
    .await;
    clock_to(app, "2026-12-01T01:00");
    assert_eq!(drain(app).await, 0);
    assert!(flagged(app, 2026, 12).await.is_empty());

    // A later November operation, told late (recorded in December): flagged on its own, in
    // November.
    insert_recorded(
        app,
        live_payout(
            "po_a_late",
            &m1,
            1_000,
            Some("1020304050"),
            "2026-11-30T20:00",
        ),
        "2026-12-01T00:40",
    )
    .await;
    drain(app).await;
    let november = flagged(app, 2026, 11).await;
    assert_eq!(november.len(), 11);
    assert!(november.contains(&("po_a_late".to_owned(), "monthly_aggregate")));

    let alerts = flag_alerts(app).await;
    assert_eq!(alerts.len(), 11);
    let reached = alerts.iter().find(|a| a.subject == "uiaf:po_a0").unwrap();
    assert!(
        reached
            .message
            .contains("its person's cash operations of 2026-11 add up to COP 50,000,000"),
        "{}",
        reached.message
    );
}

async fn running_the_worker_again_flags_nothing_twice(app: &TestApp) {
    let m = app
        .merchant("Remesas Uno", MerchantStatus::Active)
        .await
        .to_string();
    insert(
        app,
        live_payout("po_single", &m, 12_000_000, None, "2026-11-02T09:00"),
    )
    .await;
    for i in 0..6 {
        let (id, paid) = (format!("po_p{i}"), format!("2026-11-1{i}T09:00"));
        insert(
            app,
            live_payout(&id, &m, 9_000_000, Some("52.111.222"), &paid),
        )
        .await;
    }
    clock_to(app, "2026-11-20T09:00");
    // Two workers at once (as two instances would be, with the server's own loop a third).
    let (one, two) = tokio::join!(drain(app), drain(app));
    assert!(one + two <= 7, "{one} + {two}");
    let flags_before = flagged(app, 2026, 11).await;
    assert_eq!(flags_before.len(), 7, "{flags_before:?}");

    // Again: nothing new to read.
    let again = flags::run_once(&app.server.state).await.unwrap();
    assert_eq!(again, flags::Pass::default());

    // Everything read again from the start (a lost cursor, a second instance, refunds that
    // touch paid pay-ins): nothing counted or flagged twice, no alert raised again.
    app.server
        .state
        .store
        .write(|mut c| {
            Box::pin(async move {
                cajero_store::execute!(
                    &mut c,
                    "UPDATE uiaf_flag_cursor SET after_at = 0, after_id = ''"
                )?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .unwrap();
    assert_eq!(drain(app).await, 0);
    let cursor = app
        .server
        .state
        .store
        .read(|mut c| Box::pin(async move { cajero_store::uiaf::cursor(&mut c).await }))
        .await
        .unwrap();
    assert_eq!(cursor.after_id, "po_p5", "read again to the end");
    assert_eq!(flagged(app, 2026, 11).await, flags_before);
    let total: (i64, i64) = app
        .server
        .state
        .store
        .read(|mut c| {
            Box::pin(async move {
                cajero_store::fetch!(
                    one,
                    &mut c,
                    (i64, i64),
                    "SELECT total, operations FROM uiaf_person_months \
                     WHERE month = '2026-11' AND document_number = '52111222'"
                )
                .map_err(StoreError::from)
            })
        })
        .await
        .unwrap();
    assert_eq!(total, (54_000_000, 6));
    let alerts = flag_alerts(app).await;
    assert_eq!(alerts.len(), 7);
    assert!(alerts.iter().all(|a| a.occurrences == 1), "{alerts:?}");
}

async fn the_flags_of_a_month_are_the_reports_rows(app: &TestApp) {
    november(app).await;
    clock_to(app, "2026-12-01T01:00");
    drain(app).await;

    for (year, month) in [(2026, 11), (2026, 12)] {
        let report =
            cajero_server::uiaf::report(&app.server.state.store, jiff::civil::date(year, month, 1))
                .await
                .unwrap();
        let mut rows: Vec<(String, &str)> = report
            .rows
            .iter()
            .map(|(op, why)| (op.order_id.clone(), why.flag().as_str()))
            .collect();
        rows.sort_unstable();
        let mut flags = flagged(app, year, month).await;
        flags.sort_unstable();
        assert_eq!(flags, rows, "{year}-{month}");
    }
    let november = flagged(app, 2026, 11).await;
    assert_eq!(november.len(), 11);
    assert!(
        !november
            .iter()
            .any(|(id, _)| id == "po_b_test" || id == "po_b_open")
    );
}
