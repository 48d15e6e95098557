//! Targeted settlement faults: `PUT /sim/v1/settlement_faults` names its victims, so a test
//! can inject exactly one discrepancy of each kind and expect exactly one exception. Each
//! fault in both formats; the Asobancaria output is read with `cajero_domain::asobancaria`.

use std::collections::BTreeMap;

use cajero_domain::asobancaria::{Strictness, parse};

use crate::common::*;

const FAULTS: &str = "/sim/v1/settlement_faults";

/// A voucher paid on 25 Nov: (order id, payment code).
async fn paid_voucher(sim: &TestSim, reference: &str, amount: i64) -> (String, String) {
    let v = sim.voucher(reference, amount).await;
    let code = v["payment_code"].as_str().unwrap().to_owned();
    sim.pay(REGULAR_COUNTER, &code, amount).await;
    (v["id"].as_str().unwrap().to_owned(), code)
}

/// Three vouchers paid on 25 Nov, the merchant's pay-ins of the day.
async fn three_paid(sim: &TestSim) -> [(String, String); 3] {
    [
        paid_voucher(sim, "t-1", 10_000).await,
        paid_voucher(sim, "t-2", 20_000).await,
        paid_voucher(sim, "t-3", 30_000).await,
    ]
}

async fn put_settlement_faults(sim: &TestSim, body: serde_json::Value) {
    let r = sim.put(FAULTS, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The merchant's Asobancaria file of a day: (code, pesos) per detail, in file order. The
/// file must parse strictly: control records agree with the details.
async fn asobancaria_lines(sim: &TestSim, day: &str) -> Vec<(String, i64)> {
    let (status, text) = sim
        .text(&format!(
            "/sim/v1/settlement_files/{day}?merchant_id={MERCHANT}"
        ))
        .await;
    assert_eq!(status, 200, "{text}");
    let file = parse(&text, Strictness::Strict).unwrap().file;
    file.details()
        .map(|d| {
            let pesos = d.amount.to_whole_units().unwrap().minor();
            (d.reference_significant().to_owned(), pesos)
        })
        .collect()
}

/// The merchant's CSV file of a day: one map of column → value per line.
async fn csv_lines(sim: &TestSim, day: &str) -> Vec<BTreeMap<String, String>> {
    let (status, text) = sim
        .text(&format!(
            "/sim/v1/settlement_files/{day}?format=csv&merchant_id={MERCHANT}"
        ))
        .await;
    assert_eq!(status, 200, "{text}");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn codes_and_amounts(csv: &[BTreeMap<String, String>]) -> Vec<(String, i64)> {
    csv.iter()
        .map(|l| (l["code"].clone(), l["amount"].parse().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_missing_line_fault_leaves_out_exactly_that_order_in_both_formats() {
    let sim = start().await;
    let [(_, a), (b_id, _), (_, c)] = three_paid(&sim).await;
    put_settlement_faults(
        &sim,
        serde_json::json!({"missing_line": [{"order_id": b_id}]}),
    )
    .await;
    let expected = vec![(a, 10_000), (c, 30_000)];
    assert_eq!(asobancaria_lines(&sim, "2026-11-25").await, expected);
    assert_eq!(
        codes_and_amounts(&csv_lines(&sim, "2026-11-25").await),
        expected
    );
}

#[tokio::test]
async fn a_changed_amount_fault_changes_that_line_by_its_signed_delta_in_both_formats() {
    let sim = start().await;
    let [(a_id, a), (b_id, b), (_, c)] = three_paid(&sim).await;
    put_settlement_faults(
        &sim,
        serde_json::json!({"changed_amount": [
            {"order_id": a_id, "delta": -1_500},
            {"order_id": b_id, "delta": 1},
        ]}),
    )
    .await;
    let expected = vec![(a, 8_500), (b, 20_001), (c, 30_000)];
    // Parsed strictly: the control records add up the changed lines.
    assert_eq!(asobancaria_lines(&sim, "2026-11-25").await, expected);
    assert_eq!(
        codes_and_amounts(&csv_lines(&sim, "2026-11-25").await),
        expected
    );
}

#[tokio::test]
async fn a_duplicate_line_fault_writes_that_line_twice_in_both_formats() {
    let sim = start().await;
    let [(_, a), (b_id, b), (_, c)] = three_paid(&sim).await;
    put_settlement_faults(
        &sim,
        serde_json::json!({"duplicate_line": [{"order_id": b_id}]}),
    )
    .await;
    let expected = vec![(a, 10_000), (b.clone(), 20_000), (b, 20_000), (c, 30_000)];
    assert_eq!(asobancaria_lines(&sim, "2026-11-25").await, expected);
    let csv = csv_lines(&sim, "2026-11-25").await;
    assert_eq!(codes_and_amounts(&csv), expected);
    assert_eq!(csv[1], csv[2], "the same line, attempt and all");
    assert_eq!(csv[1]["order_id"], b_id);
}

#[tokio::test]
async fn an_extra_line_is_an_order_nobody_created_in_both_formats_and_payouts_only_in_csv() {
    let sim = start().await;
    let [(_, a), (_, b), (_, c)] = three_paid(&sim).await;
    put_settlement_faults(
        &sim,
        serde_json::json!({"extra_line": [
            {"date": "2026-11-25", "merchant_id": MERCHANT, "code": "99999999", "amount": 45_000},
            {"date": "2026-11-25", "merchant_id": MERCHANT, "kind": "payout",
             "code": "9999999999", "amount": 70_000},
            {"date": "2026-11-26", "merchant_id": MERCHANT, "code": "88888888", "amount": 1_000},
        ]}),
    )
    .await;
    let aso = asobancaria_lines(&sim, "2026-11-25").await;
    assert_eq!(aso.len(), 4, "{aso:?}");
    assert!(aso.contains(&("99999999".to_owned(), 45_000)));
    for paid in [(a, 10_000), (b, 20_000), (c, 30_000)] {
        assert!(aso.contains(&paid));
    }
    let csv = csv_lines(&sim, "2026-11-25").await;
    assert_eq!(csv.len(), 5);
    let extra = csv.iter().find(|l| l["code"] == "99999999").unwrap();
    assert_eq!(
        (
            extra["type"].as_str(),
            extra["amount"].as_str(),
            extra["reference"].as_str()
        ),
        ("collection", "45000", "")
    );
    assert_eq!(extra["order_id"], "col_extra_99999999");
    assert_eq!(
        extra["occurred_at"], "2026-11-25T17:00:00Z",
        "midday in Bogotá"
    );
    let payout = csv.iter().find(|l| l["code"] == "9999999999").unwrap();
    assert_eq!(
        (payout["type"].as_str(), payout["amount"].as_str()),
        ("payout", "70000")
    );
    // Its own day only.
    assert_eq!(
        asobancaria_lines(&sim, "2026-11-26").await,
        vec![("88888888".to_owned(), 1_000)]
    );
    // Only the merchant named.
    let (_, other) = sim
        .text(&format!(
            "/sim/v1/settlement_files/2026-11-25?format=csv&merchant_id={OTHER_MERCHANT}"
        ))
        .await;
    assert_eq!(other.lines().count(), 1, "{other}");
}

#[tokio::test]
async fn an_expired_voucher_shows_paid_in_the_file_of_the_day_asked_for() {
    let sim = start().await;
    let v = sim.voucher("late", 64_000).await;
    let (id, code) = (
        v["id"].as_str().unwrap().to_owned(),
        v["payment_code"].as_str().unwrap().to_owned(),
    );
    // It expires on 26 Nov at 10:00 in Bogotá; by the 27th the network holds it expired.
    sim.advance(2 * 86_400).await;
    let order = sim.get(&format!("/sim/v1/orders/{id}")).await;
    assert_eq!(order.body["status"], "expired");
    put_settlement_faults(
        &sim,
        serde_json::json!({"paid_after_expiry": [{"order_id": id}]}),
    )
    .await;
    let expected = vec![(code.clone(), 64_000)];
    assert_eq!(asobancaria_lines(&sim, "2026-11-27").await, expected);
    let csv = csv_lines(&sim, "2026-11-27").await;
    assert_eq!(codes_and_amounts(&csv), expected);
    assert_eq!(
        (csv[0]["order_id"].as_str(), csv[0]["reference"].as_str()),
        (id.as_str(), "late")
    );
    assert_eq!(csv[0]["occurred_at"], "2026-11-27T17:00:00Z");
    assert!(
        asobancaria_lines(&sim, "2026-11-25").await.is_empty(),
        "never before it expired"
    );
    // With a date, on that day only.
    put_settlement_faults(
        &sim,
        serde_json::json!({"paid_after_expiry": [{"order_id": id, "date": "2026-11-26"}]}),
    )
    .await;
    assert!(asobancaria_lines(&sim, "2026-11-27").await.is_empty());
    let csv = csv_lines(&sim, "2026-11-26").await;
    assert_eq!(codes_and_amounts(&csv), expected);
    assert_eq!(
        csv[0]["occurred_at"], "2026-11-26T17:00:00Z",
        "after its expiry at 15:00Z"
    );
}

#[tokio::test]
async fn broken_control_totals_make_the_asobancaria_file_disagree_with_its_details_and_leave_csv_alone()
 {
    let sim = start().await;
    three_paid(&sim).await;
    let aso_path = format!("/sim/v1/settlement_files/2026-11-25?merchant_id={MERCHANT}");
    let csv_path = format!("{aso_path}&format=csv");
    let (_, balanced) = sim.text(&aso_path).await;
    let (_, csv_before) = sim.text(&csv_path).await;
    put_settlement_faults(
        &sim,
        serde_json::json!({"broken_control_totals": {"date": "2026-11-25"}}),
    )
    .await;
    let (status, broken) = sim.text(&aso_path).await;
    assert_eq!(status, 200);
    assert!(parse(&broken, Strictness::Strict).is_err());
    // Only the 08 and 09 totals moved, by one peso (100 hundredths).
    let records = |text: &str| -> Vec<String> { text.lines().map(str::to_owned).collect() };
    let (before, after) = (records(&balanced), records(&broken));
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        if b.starts_with("08") || b.starts_with("09") {
            let total = |r: &str| r[11..29].parse::<u64>().unwrap();
            assert_eq!(total(a), total(b) + 100, "{a}");
            assert_eq!(a[2..11], b[2..11], "counts untouched");
            assert_eq!(a.len(), b.len());
        } else {
            assert_eq!(a, b);
        }
    }
    // Counts can be broken too; other days are left alone.
    put_settlement_faults(
        &sim,
        serde_json::json!({"broken_control_totals": {"total_delta": 0, "count_delta": 1}}),
    )
    .await;
    let (_, counted) = sim.text(&aso_path).await;
    assert!(parse(&counted, Strictness::Strict).is_err());
    let control = counted.lines().find(|r| r.starts_with("09")).unwrap();
    assert_eq!(&control[2..11], "000000004");
    // CSV has no control records: the fault does not touch it.
    assert_eq!(sim.text(&csv_path).await.1, csv_before);
}

#[tokio::test]
async fn settlement_faults_are_replaced_whole_read_back_and_cleared() {
    let sim = start().await;
    let [(a_id, _), (b_id, _), _] = three_paid(&sim).await;
    let empty = sim.get(FAULTS).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["missing_line"], serde_json::json!([]));
    put_settlement_faults(
        &sim,
        serde_json::json!({"missing_line": [{"order_id": a_id}]}),
    )
    .await;
    put_settlement_faults(
        &sim,
        serde_json::json!({"duplicate_line": [{"order_id": b_id}]}),
    )
    .await;
    let set = sim.get(FAULTS).await.body;
    assert_eq!(
        set["missing_line"],
        serde_json::json!([]),
        "replaced, not merged"
    );
    assert_eq!(set["duplicate_line"][0]["order_id"], b_id);
    assert_eq!(asobancaria_lines(&sim, "2026-11-25").await.len(), 4);
    let cleared = sim.delete(FAULTS).await;
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.body["duplicate_line"], serde_json::json!([]));
    assert_eq!(asobancaria_lines(&sim, "2026-11-25").await.len(), 3);
}

#[tokio::test]
async fn settlement_faults_that_cannot_show_are_refused_with_a_400_naming_them() {
    let sim = start().await;
    let [(a_id, _), (_, b_code), _] = three_paid(&sim).await;
    let open = sim.voucher("open", 5_000).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let extra = |fields: serde_json::Value| {
        let mut line = serde_json::json!({"date": "2026-11-25", "merchant_id": MERCHANT,
            "code": "99999999", "amount": 1_000});
        for (k, v) in fields.as_object().unwrap() {
            line[k] = v.clone();
        }
        serde_json::json!({"extra_line": [line]})
    };
    let cases = [
        (
            serde_json::json!({"missing_line": [{"order_id": "col_nope"}]}),
            "missing_line[0].order_id",
            "col_nope",
        ),
        (
            serde_json::json!({"missing_line": [{"order_id": a_id}],
                "changed_amount": [{"order_id": a_id, "delta": 5}]}),
            "changed_amount[0].order_id",
            "one fault per order",
        ),
        (
            serde_json::json!({"changed_amount": [{"order_id": a_id, "delta": 0}]}),
            "changed_amount[0].delta",
            "changes nothing",
        ),
        (
            serde_json::json!({"changed_amount": [{"order_id": a_id, "delta": -10_000}]}),
            "changed_amount[0].delta",
            "more than 0",
        ),
        (
            serde_json::json!({"paid_after_expiry": [{"order_id": open}]}),
            "paid_after_expiry[0]",
            "pending, not expired",
        ),
        (
            extra(serde_json::json!({"code": "1234"})),
            "extra_line[0].code",
            "8 digits",
        ),
        (
            extra(serde_json::json!({"code": b_code})),
            "extra_line[0].code",
            "nobody created",
        ),
        (
            extra(serde_json::json!({"amount": 0})),
            "extra_line[0].amount",
            "more than 0",
        ),
        (
            extra(serde_json::json!({"merchant_id": "nobody"})),
            "extra_line[0].merchant_id",
            "nobody",
        ),
        (
            extra(serde_json::json!({"network": "nowhere"})),
            "extra_line[0].network",
            "nowhere",
        ),
        (
            serde_json::json!({"broken_control_totals": {"total_delta": 0}}),
            "broken_control_totals",
            "nothing would break",
        ),
    ];
    for (body, param, says) in cases {
        let r = sim.put(FAULTS, &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(
            r.body["error"]["code"], "invalid_settlement_faults",
            "{body}"
        );
        assert_eq!(r.body["error"]["param"], param, "{body}");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    // Malformed values are refused before the state is consulted.
    for body in [
        extra(serde_json::json!({"amount": -5})),
        extra(serde_json::json!({"code": "12ab5678"})),
        extra(serde_json::json!({"kind": "refund"})),
        serde_json::json!({"missing_lines": []}),
    ] {
        let r = sim.put(FAULTS, &body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "invalid_body", "{body}");
    }
    assert_eq!(
        sim.get(FAULTS).await.body["missing_line"],
        serde_json::json!([]),
        "nothing was put"
    );
}

#[tokio::test]
async fn settlement_faults_outlive_a_restart_on_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.database_url = Some(format!("sqlite://{}", dir.path().join("sim.db").display()));
    let sim = start_with(config.clone()).await;
    let [_, (b_id, _), _] = three_paid(&sim).await;
    put_settlement_faults(
        &sim,
        serde_json::json!({"missing_line": [{"order_id": b_id}]}),
    )
    .await;
    let before = sim.get(FAULTS).await.body;
    sim.handle.shutdown().await.unwrap();
    let sim = start_with(config).await;
    assert_eq!(sim.get(FAULTS).await.body, before);
    assert_eq!(asobancaria_lines(&sim, "2026-11-25").await.len(), 2);
}

#[tokio::test]
async fn settlement_faults_can_be_configured_at_start_in_the_toml_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[settlement_faults]
broken_control_totals = {{ date = "2026-11-26", total_delta = 1, count_delta = 0 }}
[[settlement_faults.extra_line]]
date = "2026-11-25"
merchant_id = "{MERCHANT}"
code = "99999999"
amount = 2000
"#
        ),
    )
    .unwrap();
    let from_file = cajero_sim::SimConfig::from_toml_file(&path).unwrap();
    let config = cajero_sim::SimConfig {
        settlement_faults: from_file.settlement_faults,
        ..test_config()
    };
    let sim = start_with(config).await;
    assert_eq!(
        asobancaria_lines(&sim, "2026-11-25").await,
        vec![("99999999".to_owned(), 2_000)]
    );
    let (_, broken) = sim
        .text(&format!(
            "/sim/v1/settlement_files/2026-11-26?merchant_id={MERCHANT}"
        ))
        .await;
    assert!(parse(&broken, Strictness::Strict).is_err());
}
