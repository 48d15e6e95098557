//! The UIAF's monthly report, on both engines: a person's operations across merchants, in and
//! out, add up from COP 50,000,000; a single one counts from COP 10,000,000; the month is
//! Bogotá's (an operation at 23:30 on the 30th belongs to it, one at 00:30 on the 1st does
//! not); test mode, uncollected payouts and other people's operations stay out.

use cajero_domain::merchant::MerchantStatus;
use cajero_store::{Micros, StoreError};

use crate::helpers::TestApp;

crate::both_engines!(the_monthly_report_adds_a_persons_operations_across_merchants);

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
         'efecty', '{person}', '{{}}', 'tok_{id}', {paid}, {paid}, {paid}, 'CTR9', {extra_values})",
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

async fn the_monthly_report_adds_a_persons_operations_across_merchants(app: &TestApp) {
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
