//! `cajero reconcile`, driven as an operator would: the verdicts of the Asobancaria samples
//! (`shared/reference/asobancaria-2001.md` §8) by `check`, and a bank's file imported by hand
//! into an empty database — every line an exception, the same file twice changing nothing,
//! an exception resolved, the day's tie-out shown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cajero-domain/tests/fixtures/asobancaria")
        .join(name)
}

fn cajero(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cajero"))
        .args(args)
        .env_remove("CAJERO_DATABASE_URL")
        .env_remove("CAJERO_CONFIG")
        .output()
        .unwrap()
}

fn check(name: &str, extra: &[&str]) -> (bool, serde_json::Value) {
    let path = fixture(name);
    let mut args = vec![
        "reconcile",
        "check",
        "--file",
        path.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = cajero(&args);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.success(), json)
}

fn problems(json: &serde_json::Value) -> Vec<String> {
    json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_samples_get_their_verdicts() {
    let (ok, v) = check("micros-24JULIO.TXT", &[]);
    assert!(ok, "{v}");
    assert_eq!(
        (v["lines"].as_u64(), v["total"].as_i64()),
        (Some(77), Some(133_931_000))
    );
    assert_eq!(v["date"], "2024-07-24");

    let (ok, v) = check("micros-26AGOSTO.TXT", &[]);
    assert!(ok, "{v}");
    assert_eq!(
        (v["lines"].as_u64(), v["total"].as_i64()),
        (Some(22), Some(640_000))
    );

    // Its 09 record lacks its blank filler: refused strictly, accepted leniently with a warning.
    let (ok, v) = check("micros-11JULIO.TXT", &[]);
    assert!(!ok, "{v}");
    assert_eq!(v["verdict"], "refused");
    assert_eq!(v["problems"][0]["record"], "09", "{v}");
    let (ok, v) = check("micros-11JULIO.TXT", &["--lenient"]);
    assert!(ok, "{v}");
    assert_eq!(
        (v["lines"].as_u64(), v["total"].as_i64()),
        (Some(17), Some(300_000))
    );
    assert!(!v["warnings"].as_array().unwrap().is_empty(), "{v}");

    // Valid, with cents cajero cannot book: said, not hidden.
    let (ok, v) = check("synthetic-conformant-2batches.txt", &[]);
    assert!(ok, "{v}");
    assert_eq!(v["lines"].as_u64(), Some(5));
    assert!(
        !v["fractional_amounts"].as_array().unwrap().is_empty(),
        "{v}"
    );

    // Each negative sample refused with a precise error; the +2 count only warned.
    let (ok, v) = check("negative/neg-amount-mismatch.txt", &[]);
    assert!(!ok);
    let texts = problems(&v);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("declares") && t.contains("sum")),
        "{texts:?}"
    );
    for p in v["problems"].as_array().unwrap() {
        assert!(p["line"].is_u64(), "{p}");
        assert!(p["record"].is_string(), "{p}");
    }
    let (ok, v) = check("negative/neg-count-plus2.txt", &[]);
    assert!(ok, "{v}");
    assert!(!v["warnings"].as_array().unwrap().is_empty());
    let (ok, v) = check("negative/neg-truncated-detail.txt", &["--lenient"]);
    assert!(!ok, "{v}");
    assert!(problems(&v).iter().any(|t| t.contains("truncated")), "{v}");
    let (ok, v) = check("negative/neg-batch-not-closed.txt", &[]);
    assert!(!ok, "{v}");
    assert!(problems(&v).iter().any(|t| t.contains("not closed")), "{v}");
}

#[test]
fn a_bank_file_imported_by_hand_into_empty_books_is_all_exceptions_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let file = fixture("micros-26AGOSTO.TXT");
    let import = || {
        cajero(&[
            "reconcile",
            "import",
            "--network",
            "efecty",
            "--route",
            "simulator",
            "--mode",
            "test",
            "--format",
            "asobancaria",
            "--file",
            file.to_str().unwrap(),
            "--database-url",
            &db,
            "--json",
        ])
    };
    let first = import();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first["status"], "imported", "{first}");
    assert_eq!(first["outcomes"]["missing_in_cajero"], 22, "{first}");
    let again: serde_json::Value = serde_json::from_slice(&import().stdout).unwrap();
    assert_eq!(again["status"], "already_imported", "{again}");

    let list = cajero(&[
        "reconcile",
        "exceptions",
        "--status",
        "open",
        "--limit",
        "100",
        "--database-url",
        &db,
        "--json",
    ]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 22);
    assert!(list.iter().all(|e| e["kind"] == "missing_in_cajero"));
    let id = list[0]["id"].as_str().unwrap();

    // A note and who are required.
    let refused = cajero(&[
        "reconcile",
        "resolve",
        id,
        "--resolution",
        "written-off",
        "--note",
        " ",
        "--by",
        "ana",
        "--database-url",
        &db,
    ]);
    assert!(!refused.status.success());
    let resolved = cajero(&[
        "reconcile",
        "resolve",
        id,
        "--resolution",
        "written-off",
        "--note",
        "test file from a bank sample",
        "--by",
        "ana",
        "--database-url",
        &db,
        "--json",
    ]);
    assert!(
        resolved.status.success(),
        "{}",
        String::from_utf8_lossy(&resolved.stderr)
    );
    let resolved: serde_json::Value = serde_json::from_slice(&resolved.stdout).unwrap();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolution"], "written_off");
    // Once.
    let twice = cajero(&[
        "reconcile",
        "resolve",
        id,
        "--resolution",
        "accepted",
        "--note",
        "again",
        "--by",
        "ana",
        "--database-url",
        &db,
    ]);
    assert!(!twice.status.success());

    let day = cajero(&[
        "reconcile",
        "report",
        "--date",
        "2024-08-26",
        "--mode",
        "test",
        "--database-url",
        &db,
        "--json",
    ]);
    assert!(
        day.status.success(),
        "{}",
        String::from_utf8_lossy(&day.stderr)
    );
    let day: serde_json::Value = serde_json::from_slice(&day.stdout).unwrap();
    assert_eq!(day["files"].as_array().unwrap().len(), 1, "{day}");
    let tie = &day["tie_outs"][0];
    assert_eq!(tie["file_total"], 640_000, "{day}");
    assert_eq!(tie["matched_total"], 0);
    assert_eq!(tie["unexplained"], 0, "{day}");
}
