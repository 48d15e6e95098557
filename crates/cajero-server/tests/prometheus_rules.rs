//! `prometheus/alerts.yml` stays true to what the server exports: every series a rule reads is
//! documented in `docs/metrics.md`, every documented series is one the server's code names,
//! and `promtool` (Debian's `prometheus` package; CI takes the binary out of it) accepts the
//! rules and passes their unit tests. Without `promtool` on `PATH` that last part says it was
//! skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repository().join(relative)).unwrap()
}

/// Every `cajero_…` metric name in `text`, without the suffixes Prometheus adds to a
/// histogram's series.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("cajero_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| base.ends_with("_seconds"))
            .unwrap_or(name);
        names.insert(base.to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn every_series_the_rules_read_is_documented_and_every_documented_one_is_exported() {
    let rules = metric_names(&read("prometheus/alerts.yml"));
    let documented = metric_names(&read("docs/metrics.md"));
    let code = read("crates/cajero-server/src/metrics.rs")
        + &read("crates/cajero-server/src/metrics/gauges.rs");
    let exported = metric_names(&code);

    let undocumented: Vec<_> = rules.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "read by alerts.yml, not in docs/metrics.md: {undocumented:?}"
    );
    let unknown: Vec<_> = documented.difference(&exported).collect();
    assert!(
        unknown.is_empty(),
        "in docs/metrics.md, named nowhere in src/metrics*: {unknown:?}"
    );
}

#[test]
fn promtool_accepts_the_alert_rules_and_their_unit_tests() {
    if Command::new("promtool").arg("--version").output().is_err() {
        eprintln!("skipped: promtool is not on PATH (Debian's prometheus package ships it)");
        return;
    }
    let dir = repository().join("prometheus");
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
