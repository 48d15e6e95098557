//! The crash suite, short: `cajero chaos` kills `cajero serve` with SIGKILL three times (mid-load, mid-settlement, mid-webhook-backlog),
//! restarts it, resends what was lost and checks that nothing was lost or done twice — on
//! SQLite, and on PostgreSQL with one and with two instances when `CAJERO_TEST_POSTGRES_URL`
//! is set (`.ci/run` sets it). The runs take turns: each one loads both CPU cores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::Mutex;

/// One chaos run at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A fixed seed, so that CI runs the same cycles every time (a failure prints it too).
const SEED: &str = "20261130";

fn chaos(extra: &[&str]) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let out = Command::new(env!("CARGO_BIN_EXE_cajero"))
        .args(["chaos", "--seed", SEED, "--cycles", "3", "--clients", "16"])
        .args(["--cycle-seconds-min", "2", "--cycle-seconds-max", "4"])
        .args(extra)
        .env_remove("CAJERO_DATABASE_URL")
        .env_remove("CAJERO_CONFIG")
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{report}");
    assert!(out.status.success(), "cajero chaos failed:\n{report}");
    assert!(
        report.contains(&format!("seed {SEED}")),
        "the seed is printed"
    );
    assert!(!report.contains("FAIL "), "{report}");
}

fn postgres_url() -> Option<String> {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(cajero_store::testing::fresh_postgres_url())
        .unwrap()
}

#[test]
fn a_server_killed_under_load_on_sqlite_loses_nothing_and_does_nothing_twice() {
    chaos(&[]);
}

#[test]
fn a_server_killed_under_load_on_postgres_loses_nothing_and_does_nothing_twice() {
    let Some(url) = postgres_url() else {
        eprintln!("skipped: CAJERO_TEST_POSTGRES_URL is not set");
        return;
    };
    chaos(&["--database-url", &url]);
}

#[test]
fn two_instances_on_postgres_one_killed_per_cycle_lose_nothing_and_do_nothing_twice() {
    let Some(url) = postgres_url() else {
        eprintln!("skipped: CAJERO_TEST_POSTGRES_URL is not set");
        return;
    };
    chaos(&["--database-url", &url, "--instances", "2"]);
}
