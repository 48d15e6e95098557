//! `cajero bench payouts|payins`: short runs report figures of the right shape, without errors,
//! in both network modes and with several instances on PostgreSQL. Throughput is never
//! asserted: the targets are goals for the benchmark, not for tests. The runs take turns:
//! each one loads every core.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

/// One bench at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// An instance key for runs on PostgreSQL (which refuses to start without one).
const SECRETS_KEY: &str = "6b3c9f1e2d4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";

fn bench(args: &[&str]) -> Output {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    Command::new(env!("CARGO_BIN_EXE_cajero"))
        .arg("bench")
        .args(args)
        .env_remove("CAJERO_DATABASE_URL")
        .env_remove("CAJERO_CONFIG")
        .env("CAJERO_SECRETS_KEY", SECRETS_KEY)
        .output()
        .unwrap()
}

fn report(args: &[&str]) -> Value {
    let output = bench(args);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every phase answered everything with 2xx, and its figures add up.
fn assert_clean_phases(report: &Value) {
    for phase in ["business", "hollow"] {
        let p = &report[phase];
        assert!(p["ok"].as_u64().unwrap() > 0, "{phase}: {p}");
        assert_eq!(p["errors"], 0, "{phase}: {p}");
        assert_eq!(p["requests"], p["ok"], "{phase}: {p}");
        assert!(p["ok_per_s"].as_f64().unwrap() > 0.0, "{phase}: {p}");
        assert_eq!(p["unsent"], 0, "{phase}: {p}");
        let by_second: u64 = p["ok_by_second"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(by_second, p["ok"].as_u64().unwrap(), "{phase}: {p}");
        let l = &p["latency_ms"];
        let (p50, p90, p99) = (
            l["p50"].as_f64().unwrap(),
            l["p90"].as_f64().unwrap(),
            l["p99"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p90 && p90 <= p99, "{phase}: {l}");
        let by_instance: u64 = p["by_instance"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["ok"].as_u64().unwrap())
            .sum();
        assert_eq!(by_instance, p["ok"].as_u64().unwrap(), "{phase}: {p}");
        let cpu = &p["cpu"];
        for group in ["client_s", "server_s", "network_s", "other_s", "total_s"] {
            assert!(cpu[group].as_f64().unwrap() >= 0.0, "{phase}: {cpu}");
        }
        // The server's threads were found and did the work.
        assert!(cpu["server_s"].as_f64().unwrap() > 0.0, "{phase}: {cpu}");
        assert!(
            cpu["total_s"].as_f64().unwrap() >= cpu["server_s"].as_f64().unwrap(),
            "{phase}: {cpu}"
        );
    }
    // The hollow pipeline calls the stand-in in every mode, and asks for no callbacks.
    let hollow = &report["hollow"]["network"];
    assert_eq!(hollow["creates"], report["hollow"]["ok"], "{hollow}");
    assert_eq!(hollow["refused"], 0, "{hollow}");
    assert_eq!(hollow["callbacks_acknowledged"], 0, "{hollow}");
    assert!(report["ratio"].as_f64().unwrap() > 0.0);
    // Every target is judged or says why not; the p99 is stated at an offered load.
    let targets = report["targets"].as_array().unwrap();
    for t in targets {
        assert!(t["met"].is_boolean() != t["not_judged"].is_string(), "{t}");
    }
    if let Some(p99) = targets
        .iter()
        .find(|t| t["wanted"].as_str().unwrap().contains("p99"))
    {
        assert!(p99["met"].is_null(), "{p99}");
    }
}

/// The stand-in answered every create and every order's `paid` callback was acknowledged.
fn assert_every_order_completed(report: &Value) {
    let business = &report["business"];
    let network = &business["network"];
    assert_eq!(network["creates"], business["ok"], "{network}");
    assert_eq!(network["refused"], 0, "{network}");
    assert_eq!(
        network["callbacks_acknowledged"], business["ok"],
        "{network}"
    );
    assert_eq!(network["callbacks_abandoned"], 0, "{network}");
    assert_eq!(network["callbacks_unsent"], 0, "{network}");
    let storage = &report["storage"];
    assert_eq!(storage["orders"], business["ok"], "{storage}");
    assert!(
        storage["bytes_per_order"].as_f64().unwrap() > 0.0,
        "{storage}"
    );
}

#[test]
fn a_short_payout_bench_against_the_stand_in_completes_every_order() {
    let report = report(&[
        "payouts",
        "--duration-s",
        "2",
        "--concurrency",
        "4",
        "--json",
    ]);
    assert_eq!(report["bench"], "payouts");
    assert_eq!(report["database"], "sqlite");
    assert_eq!(report["network"], "stand-in");
    assert_eq!(report["instances"], 1);
    assert_eq!(report["concurrency"], 4);
    assert!(report["machine"]["cpus"].as_u64().unwrap() >= 1);
    assert!(!report["machine"]["arch"].as_str().unwrap().is_empty());
    assert!(report["date"].as_str().unwrap().ends_with('Z'));
    assert_clean_phases(&report);
    assert_every_order_completed(&report);
    // SQLite payouts: the ratio, the rate, and the p99 (not judged without its offered load).
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3, "{targets:?}");
    assert!(targets[0]["met"].is_boolean() && targets[1]["met"].is_boolean());
}

#[test]
fn a_short_payin_bench_against_the_full_simulator_reports_the_end_to_end_figure() {
    let report = report(&[
        "payins",
        "--network",
        "sim",
        "--duration-s",
        "1",
        "--concurrency",
        "2",
        "--json",
    ]);
    assert_eq!(report["bench"], "payins");
    assert_eq!(report["network"], "sim");
    assert_clean_phases(&report);
    // The simulator, not the stand-in, answered the business phase.
    assert!(report["business"]["network"].is_null());
    assert!(report["business"]["cpu"]["network_s"].as_f64().unwrap() > 0.0);
    assert!(report["storage"]["bytes_per_order"].as_f64().unwrap() > 0.0);
    // Its one target, the ratio, is not judged against the simulator.
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{targets:?}");
    assert!(targets[0]["met"].is_null(), "{targets:?}");
}

#[test]
fn several_instances_on_sqlite_and_bad_counts_are_refused() {
    let cases = [
        (vec!["--instances", "2"], "needs PostgreSQL"),
        (
            vec!["--instances", "0"],
            "--instances must be between 1 and 8",
        ),
        (vec!["--network", "carrier-pigeon"], "carrier-pigeon"),
    ];
    for (flags, message) in cases {
        let mut args = vec!["payouts", "--duration-s", "1"];
        args.extend(flags.iter().copied());
        let output = bench(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flags:?} was accepted");
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
    }
}

#[test]
fn two_instances_on_postgres_share_the_load_and_report_each_one() {
    let Some(url) = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(cajero_store::testing::fresh_postgres_url())
        .unwrap()
    else {
        eprintln!("skipped: CAJERO_TEST_POSTGRES_URL is not set");
        return;
    };
    let report = report(&[
        "payouts",
        "--database-url",
        &url,
        "--instances",
        "2",
        "--duration-s",
        "2",
        "--concurrency",
        "4",
        "--json",
    ]);
    assert_eq!(report["database"], "postgres");
    assert_eq!(report["instances"], 2);
    assert_clean_phases(&report);
    // The ratio, and the scaling, which one run cannot judge.
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{targets:?}");
    assert!(targets[0]["met"].is_boolean(), "{targets:?}");
    assert!(targets[1]["met"].is_null(), "{targets:?}");
    assert_every_order_completed(&report);
    for phase in ["business", "hollow"] {
        let instances = report[phase]["by_instance"].as_array().unwrap();
        assert_eq!(instances.len(), 2, "{phase}");
        for (n, i) in instances.iter().enumerate() {
            assert_eq!(i["instance"], n, "{phase}: {i}");
            assert!(i["ok"].as_u64().unwrap() > 0, "{phase}: {i}");
            assert!(i["cpu_s"].as_f64().unwrap() >= 0.0, "{phase}: {i}");
        }
    }
}

/// `bench reconcile` end to end on a small day, in both formats: the seed, the file, the
/// import in its child process, every line matched and the tie-out explained (the bench fails
/// otherwise), and figures of the right shape.
#[test]
fn a_small_reconciliation_bench_matches_every_line_in_both_formats() {
    for format in ["asobancaria", "csv"] {
        let report = report(&["reconcile", "--lines", "200", "--format", format, "--json"]);
        assert_eq!(report["lines"], 200, "{format}: {report}");
        let import = &report["import"];
        assert_eq!(import["outcomes"]["matched"], 200, "{format}: {report}");
        assert_eq!(import["unexplained"], 0, "{format}: {report}");
        assert!(import["ledger_total"].as_i64().unwrap() > 0, "{report}");
        assert!(import["peak_rss_bytes"].as_u64().unwrap() > 0, "{report}");
        for figure in ["parse_ms", "match_ms", "write_ms", "total_ms"] {
            assert!(import[figure].as_f64().unwrap() > 0.0, "{figure}: {report}");
        }
        assert!(report["plain_pass_ms"].as_f64().unwrap() >= 0.0, "{report}");
    }
}

#[test]
fn the_reconciliation_bench_refuses_bad_line_counts() {
    for lines in ["0", "1500001"] {
        let output = bench(&["reconcile", "--lines", lines]);
        assert!(!output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("--lines"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The dashboard bench seeds, signs in and times its three pages (target judged only from
/// 10,000 pay-ins); bad counts are refused.
#[test]
fn a_small_dashboard_bench_times_each_page() {
    let report = report(&["dashboard", "--payins", "300", "--requests", "5", "--json"]);
    assert_eq!(report["payins"], 300, "{report}");
    let pages = report["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 3, "{report}");
    for page in pages {
        assert!(page["p99_ms"].as_f64().unwrap() > 0.0, "{report}");
        assert!(page["bytes"].as_u64().unwrap() > 1_000, "{report}");
    }
    assert!(report["target_met"].is_null(), "{report}");
    for payins in ["0", "1000001"] {
        let output = bench(&["dashboard", "--payins", payins]);
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("--payins"));
    }
}
