//! `cajero networks list` and `cajero networks check`, driven as an operator would: a
//! configuration file with `[[networks]]`, secrets in the environment, a simulator speaking
//! dLocal's dialect on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

const LOGIN: &str = "cli-dl-login";
const TRANS_KEY: &str = "cli-dl-trans-key-SECRET-1";
const SECRET_KEY: &str = "cli-dl-secret-key-SECRET-2";

fn networks(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cajero"))
        .arg("networks")
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("CAJERO_DATABASE_URL")
        .env_remove("CAJERO_CONFIG")
        .env("CAJERO_NETWORK_DLOCAL_TRANS_KEY", TRANS_KEY)
        .env("CAJERO_NETWORK_DLOCAL_SECRET_KEY", SECRET_KEY)
        .env("CAJERO_NETWORK_DOWN_TRANS_KEY", TRANS_KEY)
        .env("CAJERO_NETWORK_DOWN_SECRET_KEY", SECRET_KEY)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn write_config(dir: &Path, entries: &str) -> std::path::PathBuf {
    let path = dir.join("cajero.toml");
    std::fs::write(&path, entries).unwrap();
    path
}

fn dlocal_entry(name: &str, base_url: &str, priority: u32) -> String {
    format!(
        "[[networks]]\nname = \"{name}\"\nkind = \"dlocal\"\nbase_url = \"{base_url}\"\n\
         priority = {priority}\ncollections = [\"efecty\"]\ncollection_amount_max = 3000000\n\
         credentials = {{ login = \"{LOGIN}\" }}\nrequest_timeout_ms = 2000\n\n"
    )
}

async fn simulator() -> cajero_sim::SimHandle {
    cajero_sim::spawn(cajero_sim::SimConfig {
        merchants: vec![cajero_sim::MerchantConfig {
            id: "cajero-cli".into(),
            secret: "sim-secret-cli".into(),
            dlocal: Some(cajero_sim::dialect::dlocal::Credentials {
                login: LOGIN.into(),
                trans_key: TRANS_KEY.into(),
                secret_key: SECRET_KEY.into(),
            }),
            ..cajero_sim::MerchantConfig::demo()
        }],
        ..Default::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_names_every_network_and_where_its_secrets_come_from_never_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &dlocal_entry("dlocal", "https://api.dlocal.com", 10),
    );
    let out = networks(&["list"], &config);
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");
    assert!(
        printed.contains("dlocal (dlocal, live) priority 10"),
        "{printed}"
    );
    assert!(printed.contains("pay-ins at: efecty"), "{printed}");
    assert!(printed.contains("1–3,000,000 COP"), "{printed}");
    assert!(printed.contains("trans_key from environment"), "{printed}");
    assert!(printed.contains("login from configuration"), "{printed}");
    let json: serde_json::Value =
        serde_json::from_slice(&networks(&["list", "--json"], &config).stdout).unwrap();
    assert_eq!(json[0]["credentials"]["secret_key"], "environment");
    for secret in [TRANS_KEY, SECRET_KEY] {
        assert!(!printed.contains(secret));
        assert!(!json.to_string().contains(secret));
    }

    // A secret written in the file is refused, and not repeated in the message.
    let inline = write_config(
        dir.path(),
        &format!(
            "{}\n",
            dlocal_entry("dlocal", "https://api.dlocal.com", 10).replace(
                &format!("login = \"{LOGIN}\""),
                &format!("login = \"{LOGIN}\", secret_key = \"{SECRET_KEY}\"")
            )
        ),
    );
    let out = networks(&["list"], &inline);
    assert!(!out.status.success());
    let printed = text(&out);
    assert!(printed.contains("must not be written"), "{printed}");
    assert!(
        printed.contains("CAJERO_NETWORK_DLOCAL_SECRET_KEY"),
        "{printed}"
    );
    assert!(!printed.contains(SECRET_KEY), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reaches_each_network_and_fails_on_one_that_does_not_answer() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let good = dlocal_entry("dlocal", &format!("{}/dlocal", sim.base_url()), 10);
    let config = write_config(dir.path(), &good);
    let out = networks(&["check", "--json"], &config);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["name"], "dlocal");
    assert_eq!(json[0]["ok"], true, "{json}");
    assert!(json[0]["latency_ms"].as_u64().is_some());

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = write_config(
        dir.path(),
        &format!(
            "{good}{}",
            dlocal_entry("down", &format!("http://127.0.0.1:{port}/dlocal"), 20)
        ),
    );
    let out = networks(&["check"], &config);
    let printed = text(&out);
    assert!(!out.status.success(), "{printed}");
    assert!(
        printed.contains("dlocal (live; efecty): ok in"),
        "{printed}"
    );
    assert!(printed.contains("down (live; efecty): FAILED"), "{printed}");
    assert!(printed.contains("1 of 2 networks"), "{printed}");
    for secret in [TRANS_KEY, SECRET_KEY] {
        assert!(!printed.contains(secret), "{printed}");
    }
    // Wrong credentials are a failure too, named without the secret.
    let wrong = Command::new(env!("CARGO_BIN_EXE_cajero"))
        .args(["networks", "check", "--config"])
        .arg(write_config(dir.path(), &good))
        .env_remove("CAJERO_CONFIG")
        .env("CAJERO_NETWORK_DLOCAL_TRANS_KEY", TRANS_KEY)
        .env("CAJERO_NETWORK_DLOCAL_SECRET_KEY", "not-the-secret-key")
        .output()
        .unwrap();
    let printed = text(&wrong);
    assert!(!wrong.status.success(), "{printed}");
    assert!(!printed.contains("not-the-secret-key"), "{printed}");
    sim.shutdown().await.unwrap();
}
