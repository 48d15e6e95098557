//! Daily settlement files: Asobancaria 2001 parses with the layout, its control records
//! match its details, and its lines match the money that moved that day.

use std::collections::BTreeMap;

use cajero_domain::asobancaria::{Strictness, parse};
use cajero_sim::settlement::SettlementFormat;
use jiff::civil::date;

use crate::common::*;

/// Pays three vouchers and collects one payout on 25 Nov, pays one voucher on 26 Nov,
/// leaves one voucher unpaid. Returns the vouchers paid on the 25th: code → pesos.
async fn a_day_of_business(sim: &TestSim) -> BTreeMap<String, i64> {
    let mut paid = BTreeMap::new();
    for (reference, amount) in [("s-1", 150_000), ("s-2", 7_777), ("s-3", 2_500_000)] {
        let v = sim.voucher(reference, amount).await;
        let code = v["payment_code"].as_str().unwrap().to_owned();
        sim.pay(REGULAR_COUNTER, &code, amount).await;
        paid.insert(code, amount);
    }
    let other = sim
        .signed_as(
            OTHER_MERCHANT,
            OTHER_SECRET,
            "POST",
            "/v1/collections",
            Some(&serde_json::json!({"reference": "o-1", "amount": 12_345})),
            0,
        )
        .await;
    sim.pay(
        EXTENDED_COUNTER,
        other.body["payment_code"].as_str().unwrap(),
        12_345,
    )
    .await;
    let p = sim.payout("s-p", 300_000).await;
    sim.collect(
        REGULAR_COUNTER,
        p["pickup_code"].as_str().unwrap(),
        "79876543",
    )
    .await;
    sim.voucher("s-unpaid", 99_000).await;
    let tomorrow = sim
        .signed("POST", "/v1/collections",
            Some(&serde_json::json!({"reference": "s-4", "amount": 40_000, "expires_in_seconds": 172_800})))
        .await;
    sim.advance(86_400).await;
    let a = sim
        .pay(
            REGULAR_COUNTER,
            tomorrow.body["payment_code"].as_str().unwrap(),
            40_000,
        )
        .await;
    assert_eq!(a["outcome"], "approved");
    paid
}

#[tokio::test]
async fn the_asobancaria_file_matches_the_money_that_moved_that_day() {
    let sim = start().await;
    let paid = a_day_of_business(&sim).await;
    let (status, text) = sim
        .text(&format!(
            "/sim/v1/settlement_files/2026-11-25?merchant_id={MERCHANT}"
        ))
        .await;
    assert_eq!(status, 200);
    let parsed = parse(&text, Strictness::Strict).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let file = parsed.file;
    assert_eq!(file.header.collection_date, date(2026, 11, 25));
    assert_eq!(file.header.nit, "9001234568");
    assert_eq!(file.batches.len(), 1);
    let lines: BTreeMap<String, i64> = file
        .details()
        .map(|d| {
            let pesos = d.amount.to_whole_units().unwrap().minor();
            (d.reference_significant().to_owned(), pesos)
        })
        .collect();
    assert_eq!(
        lines, paid,
        "exactly the vouchers paid that day, at their amounts"
    );
    let total: i64 = paid.values().sum();
    assert_eq!(
        file.total().unwrap().get(),
        u64::try_from(total * 100).unwrap()
    );
    assert!(
        file.details()
            .all(|d| d.method == "01" && d.branch_code == "0001")
    );
    // The signed merchant endpoint gives the same file.
    let r = sim
        .http
        .get(sim.url("/v1/settlement_files/2026-11-25"))
        .header("sim-merchant", MERCHANT)
        .header(
            "sim-timestamp",
            jiff::Timestamp::now().as_second().to_string(),
        )
        .header(
            "sim-signature",
            cajero_sim::signing::sign_request(
                SECRET,
                jiff::Timestamp::now().as_second(),
                "GET",
                "/v1/settlement_files/2026-11-25",
                b"",
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), text);
}

#[tokio::test]
async fn the_whole_network_file_has_one_batch_per_merchant_and_empty_days_are_valid() {
    let sim = start().await;
    a_day_of_business(&sim).await;
    let (_, text) = sim.text("/sim/v1/settlement_files/2026-11-25").await;
    let file = parse(&text, Strictness::Strict).unwrap().file;
    assert_eq!(file.header.nit, "8301319931");
    let counts: Vec<usize> = file.batches.iter().map(|b| b.details.len()).collect();
    assert_eq!(counts, vec![3, 1]);
    assert_ne!(file.batches[0].service_code, file.batches[1].service_code);
    let (_, empty) = sim.text("/sim/v1/settlement_files/2026-11-20").await;
    let empty = parse(&empty, Strictness::Strict).unwrap().file;
    assert_eq!(empty.detail_count(), 0);
    assert_eq!(empty.batches.len(), 2);
}

#[tokio::test]
async fn the_csv_file_lists_pay_ins_and_payouts_with_network_ids_and_times() {
    let sim = start().await;
    a_day_of_business(&sim).await;
    let (_, csv) = sim
        .text(&format!(
            "/sim/v1/settlement_files/2026-11-25?format=csv&merchant_id={MERCHANT}"
        ))
        .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "date,network,merchant_id,type,order_id,reference,code,amount,currency,counter_id,branch_code,attempt_id,occurred_at"
    );
    assert_eq!(lines.len(), 1 + 4);
    assert_eq!(
        lines.iter().filter(|l| l.contains(",payout,giro_")).count(),
        1
    );
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.ends_with("2026-11-25T15:00:00Z"))
    );
    assert!(!csv.contains("s-unpaid") && !csv.contains("s-4"));
}

#[tokio::test]
async fn the_cli_prints_the_same_file_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.database_url = Some(format!("sqlite://{}", dir.path().join("sim.db").display()));
    let sim = start_with(config.clone()).await;
    a_day_of_business(&sim).await;
    let (_, over_http) = sim.text("/sim/v1/settlement_files/2026-11-25").await;
    let from_db = cajero_sim::cli::settlement_text(
        config.clone(),
        date(2026, 11, 25),
        SettlementFormat::Asobancaria,
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(from_db, over_http);
    let csv = cajero_sim::cli::settlement_text(
        config,
        date(2026, 11, 26),
        SettlementFormat::Csv,
        Some(MERCHANT.into()),
        None,
    )
    .await
    .unwrap();
    assert_eq!(csv.lines().count(), 2);
}
