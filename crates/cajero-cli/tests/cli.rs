//! The `cajero` binary, driven as an operator would drive it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};
use std::time::Duration;

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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn holidays_are_listed_as_json() {
    let out = json(&cajero(&[
        "calendar", "holidays", "--year", "2026", "--json",
    ]));
    let list = out.as_array().unwrap();
    assert_eq!(list.len(), 19);
    assert_eq!(list[0]["date"], "2026-01-01");
    assert!(list[0]["name"].as_str().unwrap().contains("Año Nuevo"));
    assert!(
        list.iter().any(|h| h["date"] == "2026-07-13"),
        "the 2026 holiday"
    );
}

#[test]
fn business_days_skip_christmas_and_the_weekend() {
    let out = json(&cajero(&[
        "calendar",
        "add-business-days",
        "--from",
        "2026-12-24",
        "--days",
        "3",
        "--json",
    ]));
    assert_eq!(out["date"], "2026-12-30");
}

#[test]
fn calendar_input_errors_are_explained() {
    let out = cajero(&["calendar", "holidays", "--year", "1900"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("1984"), "{}", stderr(&out));
    let out = cajero(&[
        "calendar",
        "add-business-days",
        "--from",
        "2026-13-01",
        "--days",
        "1",
    ]);
    assert!(!out.status.success());
}

#[test]
fn a_nit_with_a_wrong_check_digit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    let out = cajero(&[
        "merchant",
        "create",
        "--name",
        "X",
        "--nit",
        "900123456-1",
        "--database-url",
        &db,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("check digit 8, not 1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_invalid_configuration_names_the_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_cajero"))
        .args(["serve", "--database-url", "sqlite::memory:"])
        .env("CAJERO_REQUEST_TIMEOUT_MS", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("request_timeout_ms"),
        "{}",
        stderr(&out)
    );
}

/// An operator creates a merchant and keys with the CLI; the server accepts the key; a
/// revoked key stops working; SIGTERM shuts the server down cleanly.
#[tokio::test]
async fn keys_made_by_the_cli_work_against_the_server_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let merchant = json(&cajero(&[
        "merchant",
        "create",
        "--name",
        "Tienda Uno",
        "--nit",
        "900123456-8",
        "--database-url",
        &db,
        "--json",
    ]));
    let merchant_id = merchant["id"].as_str().unwrap().to_string();
    assert!(merchant_id.starts_with("mer_"));
    assert_eq!(merchant["nit"], "900123456-8");
    assert_eq!(merchant["status"], "onboarding");

    let live = cajero(&[
        "key",
        "create",
        "--merchant",
        &merchant_id,
        "--mode",
        "live",
        "--database-url",
        &db,
    ]);
    assert!(!live.status.success());
    assert!(
        stderr(&live).contains("active merchant"),
        "{}",
        stderr(&live)
    );

    let key = json(&cajero(&[
        "key",
        "create",
        "--merchant",
        &merchant_id,
        "--mode",
        "test",
        "--database-url",
        &db,
        "--json",
    ]));
    let secret = key["secret"].as_str().unwrap().to_string();
    let key_id = key["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sk_test_"));
    assert!(key_id.starts_with("key_"));

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_cajero"))
        .args(["serve", "--listen", &listen, "--database-url", &db])
        .env_remove("CAJERO_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the server never answered /healthz");

    let balance = http
        .get(format!("{base}/v1/balance"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(balance.status(), 200);

    let revoked = json(&cajero(&[
        "key",
        "revoke",
        "--key",
        &key_id,
        "--database-url",
        &db,
        "--json",
    ]));
    assert!(revoked["revoked"].is_string());
    let refused = http
        .get(format!("{base}/v1/balance"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // `key list` shows every key of the merchant, never a secret.
    let second = json(&cajero(&[
        "key",
        "create",
        "--merchant",
        &merchant_id,
        "--mode",
        "test",
        "--database-url",
        &db,
        "--json",
    ]));
    let listed = cajero(&[
        "key",
        "list",
        "--merchant",
        &merchant_id,
        "--database-url",
        &db,
        "--json",
    ]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let text = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(!text.contains(&secret), "no secret in a key list");
    let listed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [second["id"].as_str().unwrap(), key_id.as_str()],
        "newest first"
    );
    assert!(listed["data"][1]["revoked"].is_string());
    assert!(listed["data"][1]["last_used"].is_string(), "{listed}");
    let human = cajero(&[
        "key",
        "list",
        "--merchant",
        &merchant_id,
        "--database-url",
        &db,
    ]);
    let human = String::from_utf8_lossy(&human.stdout).to_string();
    assert!(
        human.contains(&key_id) && human.contains("revoked"),
        "{human}"
    );
    let unknown = cajero(&[
        "key",
        "list",
        "--merchant",
        "mer_0000000000000000000000000000",
        "--database-url",
        &db,
    ]);
    assert!(!unknown.status.success());

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut exit = None;
    for _ in 0..200 {
        if let Some(status) = server.try_wait().unwrap() {
            exit = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Some(status) = exit else {
        let _ = server.kill();
        panic!("the server did not stop on SIGTERM");
    };
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

/// `cajero ledger verify` passes on good books and fails, naming the account, on a corrupted row.
#[tokio::test]
async fn ledger_verify_fails_on_a_corrupted_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let merchant = json(&cajero(&[
        "merchant",
        "create",
        "--name",
        "A",
        "--database-url",
        &db,
        "--json",
    ]));
    let merchant: cajero_domain::id::MerchantId = merchant["id"].as_str().unwrap().parse().unwrap();

    let store = cajero_store::Store::open(&db, &cajero_store::StoreOptions::default())
        .await
        .unwrap();
    let request: cajero_server::funds::CreateTopup =
        serde_json::from_value(serde_json::json!({"amount": 50000, "currency": "COP"})).unwrap();
    let request = request.parse().unwrap();
    let now = jiff::Timestamp::now();
    let id = cajero_domain::id::TopupId::from_parts(1, 1);
    store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_server::funds::create_topup(
                    &mut c,
                    merchant,
                    cajero_domain::merchant::Mode::Test,
                    id,
                    request,
                    now,
                )
                .await
            })
        })
        .await
        .unwrap();
    store.close().await;

    let good = json(&cajero(&[
        "ledger",
        "verify",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(good["ok"], true);
    assert_eq!(good["transfers"], 1);

    let store = cajero_store::Store::open(&db, &cajero_store::StoreOptions::default())
        .await
        .unwrap();
    store
        .write(|mut c| {
            Box::pin(async move {
                cajero_store::execute!(
                    &mut c,
                    "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 \
                     WHERE kind = 'merchant_available'"
                )
                .map_err(cajero_store::StoreError::from)
            })
        })
        .await
        .unwrap();
    store.close().await;

    let bad = cajero(&["ledger", "verify", "--database-url", &db, "--json"]);
    assert!(!bad.status.success(), "verify must fail on corrupted books");
    let report: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let problems = report["problems"].to_string();
    assert!(problems.contains("merchant_available"), "{problems}");
    assert!(problems.contains("debits"), "{problems}");
    assert!(stderr(&bad).contains("does not verify"), "{}", stderr(&bad));
}

/// Starts `cajero demo` with `args`, waits for its banner, and returns the process and what
/// it printed.
async fn demo(args: &[&str]) -> (std::process::Child, String) {
    use std::io::Read as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cajero"))
        .arg("demo")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("CAJERO_DATABASE_URL")
        .env_remove("CAJERO_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let printed = tokio::task::spawn_blocking(move || {
        let mut all = String::new();
        let mut buf = [0u8; 4096];
        // The banner ends with the sample requests; the last one lists events.
        while !all.contains("/v1/events?limit=5") {
            let n = stdout.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            all.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        all
    });
    let printed = tokio::time::timeout(Duration::from_secs(120), printed)
        .await
        .expect("the demo printed its banner")
        .unwrap();
    (child, printed)
}

fn printed_url(printed: &str, label: &str) -> String {
    printed
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no {label} in:\n{printed}"))
        .to_string()
}

/// `cajero demo` says where its data lives and how to keep it, whether the autopilot acts on
/// the user's objects, and the base URL and metrics it prints answer.
#[tokio::test]
async fn the_demo_says_where_its_data_is_and_what_its_autopilot_does() {
    let (child, printed) = demo(&["--no-autopilot"]).await;
    assert!(printed.contains("removed on exit"), "{printed}");
    assert!(printed.contains("--database-url"), "{printed}");
    assert!(printed.contains("cajero-demo.db"), "{printed}");
    assert!(printed.contains("autopilot      off"), "{printed}");
    assert!(
        printed.contains("/dashboard   sign in as owner."),
        "{printed}"
    );
    let api = printed_url(&printed, "API");
    let http = reqwest::Client::new();
    let index = http.get(&api).send().await.unwrap();
    assert_eq!(index.status(), 200, "the printed API base URL answers");
    let index: serde_json::Value = index.json().await.unwrap();
    assert_eq!(index["object"], "api");
    let metrics_line = printed
        .lines()
        .find(|l| l.trim_start().starts_with("metrics"))
        .unwrap();
    let token = metrics_line
        .rsplit("Bearer ")
        .next()
        .unwrap()
        .trim_end_matches('\'');
    let base = api.trim_end_matches("/v1");
    let metrics = http
        .get(format!("{base}/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    stop(child);

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kept.db").display());
    let (child, printed) = demo(&["--database-url", &url]).await;
    assert!(printed.contains("kept"), "{printed}");
    assert!(printed.contains("autopilot      on"), "{printed}");
    assert!(printed.contains("the ones you"), "{printed}");
    stop(child);
    assert!(dir.path().join("kept.db").exists());
}

/// SIGTERM, so that the demo removes its temporary folder; SIGKILL after 10 s.
fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// An operator invites the first owner of a merchant made with the CLI: the one-time link is
/// printed; the same address twice, a wrong role or an unknown merchant is refused with a
/// clear error; the users list is empty until the link is used.
#[test]
fn an_operator_invites_a_merchants_first_owner_and_gets_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let merchant = json(&cajero(&[
        "merchant",
        "create",
        "--name",
        "Tienda Uno",
        "--database-url",
        &db,
        "--json",
    ]));
    let merchant_id = merchant["id"].as_str().unwrap().to_string();
    let invite = |email: &str, role: &str, merchant: &str| {
        cajero(&[
            "user",
            "invite",
            "--merchant",
            merchant,
            "--email",
            email,
            "--role",
            role,
            "--database-url",
            &db,
            "--json",
        ])
    };
    let invited = json(&invite("Ana@Example.co", "owner", &merchant_id));
    assert_eq!(invited["email"], "ana@example.co");
    assert_eq!(invited["role"], "owner");
    assert!(
        invited["link"]
            .as_str()
            .unwrap()
            .contains("/dashboard/invitations/"),
        "{invited}"
    );
    let bad_role = invite("luis@example.co", "boss", &merchant_id);
    assert!(!bad_role.status.success());
    assert!(stderr(&bad_role).contains("--role must be owner, developer or analyst"));
    // Another id of the same shape: its last character changed.
    let mut other = merchant_id.clone();
    let last = other.pop().unwrap();
    other.push(if last == '0' { '1' } else { '0' });
    let unknown = invite("luis@example.co", "owner", &other);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("no such merchant"),
        "{}",
        stderr(&unknown)
    );
    let users = json(&cajero(&[
        "user",
        "list",
        "--merchant",
        &merchant_id,
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(users["data"].as_array().unwrap().len(), 0);
}

/// `cajero merchant kyc`: an operator sees a new merchant's draft with what is missing, and a
/// decision the application's state does not allow is refused with the reason.
#[test]
fn an_operator_reads_a_kyc_draft_and_cannot_approve_it_yet() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let merchant = json(&cajero(&[
        "merchant",
        "create",
        "--name",
        "Tienda Uno",
        "--database-url",
        &db,
        "--json",
    ]));
    let id = merchant["id"].as_str().unwrap().to_string();
    let shown = json(&cajero(&[
        "merchant",
        "kyc",
        "show",
        "--merchant",
        &id,
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(shown["status"], "draft");
    assert!(
        shown["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["field"] == "nit"),
        "{shown}"
    );
    let approve = cajero(&[
        "merchant",
        "kyc",
        "approve",
        "--merchant",
        &id,
        "--reason",
        "ok",
        "--database-url",
        &db,
    ]);
    assert!(!approve.status.success());
    assert!(
        stderr(&approve).contains("a KYC application that is draft cannot approve"),
        "{}",
        stderr(&approve)
    );
    let queue = json(&cajero(&[
        "merchant",
        "kyc",
        "queue",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(queue["data"].as_array().unwrap().len(), 0);
}

/// An operator is added with a one-time password and listed; `set-status active` needs an
/// approved KYC application and a reason; disabling an operator needs a reason too.
#[test]
fn operators_are_added_and_merchants_activated_only_after_kyc_approval() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let added = json(&cajero(&[
        "operator",
        "add",
        "--email",
        "Luis@Cajero.Example",
        "--name",
        "Luis",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(added["email"], "luis@cajero.example");
    assert!(added["password"].as_str().unwrap().len() >= 32, "{added}");
    assert!(added["console"].as_str().unwrap().ends_with("/console"));
    let twice = cajero(&[
        "operator",
        "add",
        "--email",
        "luis@cajero.example",
        "--name",
        "Luis",
        "--database-url",
        &db,
    ]);
    assert!(!twice.status.success());
    let listed = json(&cajero(&[
        "operator",
        "list",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(listed["data"][0]["two_factor"], false);
    let no_reason = cajero(&[
        "operator",
        "disable",
        "--email",
        "luis@cajero.example",
        "--reason",
        " ",
        "--database-url",
        &db,
    ]);
    assert!(!no_reason.status.success());
    assert!(
        stderr(&no_reason).contains("reason"),
        "{}",
        stderr(&no_reason)
    );
    let disabled = cajero(&[
        "operator",
        "disable",
        "--email",
        "luis@cajero.example",
        "--reason",
        "left",
        "--database-url",
        &db,
    ]);
    assert!(disabled.status.success(), "{}", stderr(&disabled));
    let listed = json(&cajero(&[
        "operator",
        "list",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(listed["data"][0]["disabled"], true);

    let merchant = json(&cajero(&[
        "merchant",
        "create",
        "--name",
        "Tienda Uno",
        "--database-url",
        &db,
        "--json",
    ]));
    let id = merchant["id"].as_str().unwrap().to_string();
    let active = cajero(&[
        "merchant",
        "set-status",
        "--merchant",
        &id,
        "--status",
        "active",
        "--reason",
        "looks fine",
        "--database-url",
        &db,
    ]);
    assert!(!active.status.success());
    assert!(
        stderr(&active).contains("KYC application is draft"),
        "{}",
        stderr(&active)
    );
    let suspended = json(&cajero(&[
        "merchant",
        "set-status",
        "--merchant",
        &id,
        "--status",
        "suspended",
        "--reason",
        "fraud report 77",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(suspended["status"], "suspended");
}

/// `cajero audit seal` chains the audit log and `cajero audit verify` checks it, naming the
/// entry changed after sealing (exit 1).
#[tokio::test]
async fn audit_verify_names_the_entry_changed_after_sealing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let merchant = json(&cajero(&[
        "merchant",
        "create",
        "--name",
        "A",
        "--database-url",
        &db,
        "--json",
    ]));
    let id = merchant["id"].as_str().unwrap().to_string();
    // Keys made by the command line are audited too.
    let key = cajero(&[
        "key",
        "create",
        "--merchant",
        &id,
        "--mode",
        "test",
        "--database-url",
        &db,
    ]);
    assert!(key.status.success(), "{}", stderr(&key));
    for reason in ["fraud report 1", "fraud report 2", "fraud report 3"] {
        let out = cajero(&[
            "merchant",
            "set-status",
            "--merchant",
            &id,
            "--status",
            "suspended",
            "--reason",
            reason,
            "--database-url",
            &db,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let sealed = json(&cajero(&["audit", "seal", "--database-url", &db, "--json"]));
    assert_eq!(sealed["sealed"], 4, "the key and the three suspensions");
    let good = json(&cajero(&[
        "audit",
        "verify",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(good["ok"], true, "{good}");
    assert_eq!(good["sealed"], 4);
    assert_eq!(good["head"]["hash"].as_str().unwrap().len(), 64);

    let store = cajero_store::Store::open(&db, &cajero_store::StoreOptions::default())
        .await
        .unwrap();
    store
        .write(|mut c| {
            Box::pin(async move {
                cajero_store::execute!(
                    &mut c,
                    "UPDATE audit_log SET reason = 'routine check' WHERE seq = 2"
                )
                .map_err(cajero_store::StoreError::from)
            })
        })
        .await
        .unwrap();
    store.close().await;
    let bad = cajero(&["audit", "verify", "--database-url", &db, "--json"]);
    assert!(!bad.status.success(), "verify must fail on an edited entry");
    let report: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["broken"]["seq"], 2);
    assert!(
        stderr(&bad).contains("broken at entry 2"),
        "{}",
        stderr(&bad)
    );
}

/// A pay-in or payout naming a person, written straight into the database.
async fn order_naming(db: &str, id: &str, merchant: &str, payout: bool, number: &str) {
    let person =
        format!(r#"{{"name": "Luis Pérez", "document": {{"type": "CC", "number": "{number}"}}}}"#);
    let (table, column, columns, values) = if payout {
        ("payouts", "beneficiary", "expires_in_s", "86400".to_owned())
    } else {
        (
            "payins",
            "customer",
            "network_order_id, payment_code, expires_at",
            format!("'ord_{id}', '1234', 1764000000000000"),
        )
    };
    let sql = format!(
        "INSERT INTO {table} (id, merchant_id, livemode, status, amount, currency, network, \
         {column}, metadata, page_token, created_at, updated_at, {columns}) VALUES ('{id}', \
         '{merchant}', TRUE, 'pending', 50000, 'COP', 'efecty', '{person}', '{{}}', 'tok_{id}', \
         1764000000000000, 1764000000000000, {values})"
    );
    let store = cajero_store::Store::open(db, &cajero_store::StoreOptions::default())
        .await
        .unwrap();
    store
        .write(move |mut c| {
            Box::pin(async move {
                cajero_store::execute!(&mut c, cajero_store::sqlx::AssertSqlSafe(sql))
                    .map_err(cajero_store::StoreError::from)
            })
        })
        .await
        .unwrap();
    store.close().await;
}

/// `cajero privacy export` finds one person's orders across merchants however the number is
/// written, writes them to a file only its owner reads, and is audited with its reason;
/// `cajero merchant privacy` shows and changes what a merchant's events carry, with a reason.
#[tokio::test]
async fn a_persons_data_is_exported_to_a_private_file_and_the_export_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let merchant = |name: &str| {
        json(&cajero(&[
            "merchant",
            "create",
            "--name",
            name,
            "--database-url",
            &db,
            "--json",
        ]))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (shop, remittances) = (merchant("Tienda Uno"), merchant("Remesas Dos"));
    let payin_id = cajero_domain::id::PayinId::from_parts(1_764_000_000_000, 1).to_string();
    let luis_id = cajero_domain::id::PayoutId::from_parts(1_764_000_000_000, 2).to_string();
    let ana_id = cajero_domain::id::PayoutId::from_parts(1_764_000_000_000, 3).to_string();
    order_naming(&db, &payin_id, &shop, false, "79876543").await;
    order_naming(&db, &luis_id, &remittances, true, "79876543").await;
    order_naming(&db, &ana_id, &remittances, true, "1020304050").await;

    let privacy = |args: &[&str]| {
        let mut all = vec!["merchant", "privacy", "--merchant", &shop];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--database-url", &db, "--json"]);
        cajero(&all)
    };
    assert_eq!(json(&privacy(&[]))["personal_data_in_events"], "masked");
    let unexplained = privacy(&["--events", "full"]);
    assert!(!unexplained.status.success());
    assert!(
        stderr(&unexplained).contains("--reason"),
        "{}",
        stderr(&unexplained)
    );
    let changed = json(&privacy(&[
        "--events",
        "full",
        "--reason",
        "merchant's signed request",
    ]));
    assert_eq!(changed["personal_data_in_events"], "full");
    assert_eq!(json(&privacy(&[]))["personal_data_in_events"], "full");

    let file = dir.path().join("luis.json");
    let summary = json(&cajero(&[
        "privacy",
        "export",
        "--document",
        "cc:79.876.543",
        "--reason",
        "habeas data request 17",
        "--out",
        file.to_str().unwrap(),
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(summary["rows"]["payins"], 1, "{summary}");
    assert_eq!(summary["rows"]["payouts"], 1, "{summary}");
    let export: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        export["document"],
        serde_json::json!({"type": "CC", "number": "79876543"})
    );
    let ids: Vec<&str> = export["sections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "payins" || s["name"] == "payouts")
        .flat_map(|s| s["rows"].as_array().unwrap())
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [payin_id.as_str(), luis_id.as_str()]);
    assert!(!export.to_string().contains(&ana_id));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
    }

    // The export and the change are in the audit log, with their reasons.
    let store = cajero_store::Store::open(&db, &cajero_store::StoreOptions::default())
        .await
        .unwrap();
    let entries = store
        .read(|mut c| {
            Box::pin(async move {
                let export =
                    cajero_store::privacy::audit_of_object(&mut c, "CC:79876543", 10).await?;
                let change = cajero_store::privacy::audit_of_object(&mut c, &shop, 10).await?;
                Ok::<_, cajero_store::StoreError>((export, change))
            })
        })
        .await
        .unwrap();
    store.close().await;
    let (export_entries, change_entries) = entries;
    assert_eq!(export_entries.len(), 1);
    assert_eq!(
        export_entries[0].id,
        export["audit_entry"].as_str().unwrap()
    );
    assert_eq!(
        export_entries[0].reason.as_deref(),
        Some("habeas data request 17")
    );
    let change: Vec<(&str, Option<&str>)> = change_entries
        .iter()
        .map(|e| (e.action.as_str(), e.reason.as_deref()))
        .collect();
    assert!(
        change.contains(&(
            "merchant.privacy.events_full",
            Some("merchant's signed request")
        )),
        "{change:?}"
    );

    // A document that is not one is refused before anything is written.
    let bad = cajero(&[
        "privacy",
        "export",
        "--document",
        "79876543",
        "--reason",
        "x",
        "--database-url",
        &db,
    ]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("TYPE:NUMBER"), "{}", stderr(&bad));
}

/// Rules are set from a file and listed with their history; a broken file changes nothing and
/// names the rule and field; the operator's and a merchant's blocklists are kept apart; every
/// change needs a reason.
#[test]
fn risk_rules_and_blocklists_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cajero.db").display());
    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"{"rules": [{"id": "doc-day", "kind": "limit", "subject": "document", "period": "day", "amount_max": 5000000, "action": "review"}]}"#,
    )
    .unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        r#"{"rules": [{"id": "doc-day", "kind": "velocity", "subject": "document", "window_s": 5, "count_max": 1, "action": "deny"}]}"#,
    )
    .unwrap();
    let rules_path = rules.display().to_string();
    let broken_path = broken.display().to_string();

    let refused = cajero(&[
        "risk",
        "set-rules",
        "--file",
        &broken_path,
        "--reason",
        "x",
        "--database-url",
        &db,
    ]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("rule 1 (doc-day): window_s"),
        "{}",
        stderr(&refused)
    );
    let no_reason = cajero(&[
        "risk",
        "set-rules",
        "--file",
        &rules_path,
        "--reason",
        " ",
        "--database-url",
        &db,
    ]);
    assert!(!no_reason.status.success());

    let set = json(&cajero(&[
        "risk",
        "set-rules",
        "--file",
        &rules_path,
        "--reason",
        "SARLAFT limits",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(set["version"], 1);
    assert!(
        set["diff"][0].as_str().unwrap().starts_with("+ doc-day"),
        "{set}"
    );
    let shown = json(&cajero(&["risk", "rules", "--database-url", &db, "--json"]));
    assert_eq!(shown["rules"][0]["amount_max"], 5_000_000);
    let history = json(&cajero(&[
        "risk",
        "history",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(history["data"][0]["reason"], "SARLAFT limits");

    let merchant = json(&cajero(&[
        "merchant",
        "create",
        "--name",
        "Tienda Uno",
        "--database-url",
        &db,
        "--json",
    ]));
    let merchant = merchant["id"].as_str().unwrap().to_string();
    let everyone = json(&cajero(&[
        "risk",
        "block",
        "--kind",
        "document",
        "--value",
        "CC:79.876.543",
        "--reason",
        "fraud",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(everyone["value"], "CC:79876543");
    let own = json(&cajero(&[
        "risk",
        "block",
        "--kind",
        "phone",
        "--value",
        "3001234567",
        "--merchant",
        &merchant,
        "--reason",
        "chargebacks",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(own["value"], "+573001234567");
    let bad = cajero(&[
        "risk",
        "block",
        "--kind",
        "document",
        "--value",
        "79876543",
        "--reason",
        "x",
        "--database-url",
        &db,
    ]);
    assert!(
        !bad.status.success() && stderr(&bad).contains("TYPE:NUMBER"),
        "{}",
        stderr(&bad)
    );

    let operators = json(&cajero(&[
        "risk",
        "blocklist",
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(operators["data"].as_array().unwrap().len(), 1);
    let merchants = json(&cajero(&[
        "risk",
        "blocklist",
        "--merchant",
        &merchant,
        "--database-url",
        &db,
        "--json",
    ]));
    assert_eq!(merchants["data"].as_array().unwrap().len(), 1);
    let own_id = own["id"].as_str().unwrap();
    let wrong_list = cajero(&[
        "risk",
        "unblock",
        own_id,
        "--reason",
        "x",
        "--database-url",
        &db,
    ]);
    assert!(
        !wrong_list.status.success(),
        "the merchant's entry is not on the operator's list"
    );
    let removed = cajero(&[
        "risk",
        "unblock",
        own_id,
        "--merchant",
        &merchant,
        "--reason",
        "paid back",
        "--database-url",
        &db,
    ]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let held = json(&cajero(&["risk", "held", "--database-url", &db, "--json"]));
    assert_eq!(held["data"].as_array().unwrap().len(), 0);
}
