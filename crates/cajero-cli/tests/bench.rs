//! `cajero bench payouts`: a short run reports figures of the right shape, without errors.
//! Throughput is never asserted: the targets are goals for the benchmark, not for tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn a_short_payout_bench_reports_both_pipelines() {
    let output = Command::new(env!("CARGO_BIN_EXE_cajero"))
        .args([
            "bench",
            "payouts",
            "--duration-s",
            "2",
            "--concurrency",
            "4",
            "--json",
        ])
        .env_remove("CAJERO_DATABASE_URL")
        .env_remove("CAJERO_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["bench"], "payouts");
    assert_eq!(report["database"], "sqlite");
    assert_eq!(report["concurrency"], 4);
    assert!(report["machine"]["cpus"].as_u64().unwrap() >= 1);
    assert!(!report["machine"]["arch"].as_str().unwrap().is_empty());
    assert!(report["date"].as_str().unwrap().ends_with('Z'));
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
    }
    assert!(report["ratio"].as_f64().unwrap() > 0.0);
    assert!(report["targets"]["ok_per_s"].as_f64().unwrap() > 0.0);
    assert!(report["targets"]["p99_met"].is_null());
}
