//! `cajero merchant fees …`, `cajero merchant settlement …`, `cajero fx …`, `cajero settlement
//! run`, driven as an operator would drive them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn cajero(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cajero"))
        .args(args)
        .env_remove("CAJERO_DATABASE_URL")
        .env_remove("CAJERO_CONFIG")
        .output()
        .unwrap()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn failure(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const PLAN: &str = r#"{"payin": {"tiers": [{"monthly_volume_from": 0, "rate": 265, "fixed": 700},
    {"monthly_volume_from": 100000000, "rate": 200, "fixed": 500}], "minimum": 1000},
    "payout": {"tiers": [{"monthly_volume_from": 0, "rate": 150, "fixed": 0}], "minimum": 0},
    "gmf_on_payouts": true}"#;

#[test]
fn an_operator_sets_and_shows_fee_plans_settlement_terms_and_rates() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let d = ["--database-url", db.as_str(), "--json"];
    let with = |args: &[&str]| cajero(&[args, &d[..]].concat());
    let merchant = json(&with(&["merchant", "create", "--name", "A"]));
    let m = merchant["id"].as_str().unwrap();

    // Nothing configured: free, from nowhere.
    let shown = json(&with(&["merchant", "fees", "show", "--merchant", m]));
    assert_eq!(shown["source"], "free");
    // A default plan for live merchants applies until the merchant gets its own.
    let default_plan = r#"{"payin": {"tiers": [{"monthly_volume_from": 0, "rate": 300, "fixed": 0}], "minimum": 0}, "payout": {"tiers": [{"monthly_volume_from": 0, "rate": 0, "fixed": 0}], "minimum": 0}, "gmf_on_payouts": false}"#;
    json(&with(&[
        "merchant",
        "fees",
        "set",
        "--default",
        "--plan",
        default_plan,
    ]));
    let shown = json(&with(&["merchant", "fees", "show", "--merchant", m]));
    assert_eq!(shown["source"], "default");
    assert_eq!(shown["plan"]["payin"]["tiers"][0]["rate"], 300);
    let test_mode = json(&with(&[
        "merchant",
        "fees",
        "show",
        "--merchant",
        m,
        "--mode",
        "test",
    ]));
    assert_eq!(test_mode["source"], "free");

    let plan_file = dir.path().join("plan.json");
    std::fs::write(&plan_file, PLAN).unwrap();
    json(&with(&[
        "merchant",
        "fees",
        "set",
        "--merchant",
        m,
        "--plan",
        plan_file.to_str().unwrap(),
    ]));
    let shown = json(&with(&["merchant", "fees", "show", "--merchant", m]));
    assert_eq!(shown["source"], "merchant");
    assert_eq!(shown["plan"]["payin"]["tiers"][1]["fixed"], 500);
    assert_eq!(shown["plan"]["gmf_on_payouts"], true);
    assert_eq!(shown["monthly_volume"]["payin"], 0);

    let terms = json(&with(&[
        "merchant",
        "settlement",
        "set",
        "--merchant",
        m,
        "--currency",
        "USD",
        "--fx-markup-bps",
        "150",
        "--delay-business-days",
        "2",
    ]));
    assert_eq!(terms["currency"], "USD");
    assert_eq!(terms["delay_business_days"], 2);
    // Options left out keep their values.
    let terms = json(&with(&[
        "merchant",
        "settlement",
        "set",
        "--merchant",
        m,
        "--delay-business-days",
        "1",
    ]));
    assert_eq!(
        (terms["currency"].as_str(), terms["fx_markup_bps"].as_i64()),
        (Some("USD"), Some(150))
    );

    let rate = json(&with(&[
        "fx",
        "set-rate",
        "--date",
        "2026-11-26",
        "--cop-per-usd",
        "4012.345678",
    ]));
    assert_eq!(rate["cop_per_usd_micros"], 4_012_345_678u64);
    let rates = json(&with(&["fx", "rates"]));
    assert_eq!(rates["data"][0]["cop_per_usd"], "4012.345678");
    let run = json(&with(&["settlement", "run"]));
    assert_eq!(run["settled"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_settings_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let d = ["--database-url", db.as_str(), "--json"];
    let with = |args: &[&str]| cajero(&[args, &d[..]].concat());
    let merchant = json(&with(&["merchant", "create", "--name", "A"]));
    let m = merchant["id"].as_str().unwrap();
    let rule = |tiers: &str| {
        format!(
            r#"{{"payin": {{"tiers": {tiers}, "minimum": 0}}, "payout": {{"tiers": [{{"monthly_volume_from": 0, "rate": 0, "fixed": 0}}], "minimum": 0}}, "gmf_on_payouts": false}}"#
        )
    };
    let cases = [
        (rule("[]"), "payin: a fee rule needs at least one tier"),
        (
            rule(r#"[{"monthly_volume_from": 5, "rate": 1, "fixed": 0}]"#),
            "payin: the first tier must start at a monthly volume of 0",
        ),
        (
            rule(
                r#"[{"monthly_volume_from": 0, "rate": 1, "fixed": 0}, {"monthly_volume_from": 0, "rate": 1, "fixed": 0}]"#,
            ),
            "strictly ascending",
        ),
        (
            rule(r#"[{"monthly_volume_from": 0, "rate": 10001, "fixed": 0}]"#),
            "more than 100 %",
        ),
        (
            rule(r#"[{"monthly_volume_from": 0, "rate": 1, "fixed": -5}]"#),
            "negative",
        ),
        (
            rule(r#"[{"monthly_volume_from": 0, "rate": 1, "fixd": 5}]"#),
            "unknown field `fixd`",
        ),
    ];
    for (plan, expected) in cases {
        let err = failure(&with(&[
            "merchant",
            "fees",
            "set",
            "--merchant",
            m,
            "--plan",
            &plan,
        ]));
        assert!(err.contains(expected), "{expected:?} not in {err}");
    }
    let unknown = "mer_00000000000000000000000000";
    let err = failure(&with(&[
        "merchant",
        "fees",
        "set",
        "--merchant",
        unknown,
        "--plan",
        &rule(r#"[{"monthly_volume_from": 0, "rate": 1, "fixed": 0}]"#),
    ]));
    assert!(err.contains("no merchant"), "{err}");
    let err = failure(&with(&[
        "merchant",
        "settlement",
        "set",
        "--merchant",
        m,
        "--delay-business-days",
        "31",
    ]));
    assert!(
        err.contains("delay_business_days must be between 0 and 30"),
        "{err}"
    );
    let err = failure(&with(&[
        "merchant",
        "settlement",
        "set",
        "--merchant",
        m,
        "--currency",
        "EUR",
    ]));
    assert!(err.contains("EUR"), "{err}");
    let err = failure(&with(&[
        "fx",
        "set-rate",
        "--date",
        "2026-11-26",
        "--cop-per-usd",
        "40",
    ]));
    assert!(err.contains("between 100 and 100000"), "{err}");
    let err = failure(&with(&[
        "fx",
        "set-rate",
        "--date",
        "2026-02-30",
        "--cop-per-usd",
        "4000",
    ]));
    assert!(err.contains("--date"), "{err}");
}
