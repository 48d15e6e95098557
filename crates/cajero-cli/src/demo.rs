//! `cajero demo`: the whole system on one machine — server, simulated cash network with
//! customers and beneficiaries turning up at counters by themselves, embedded SQLite — seeded
//! with a merchant, a funded balance, vouchers and pick-up codes; prints where to look.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_server::clock::{Clock, SystemClock};
use cajero_server::config::{Config, Overrides, Secret};
use cajero_server::networks::{EmbeddedOptions, Networks, embedded_state_url};
use cajero_server::{AppState, admin};
use clap::Args;
use serde_json::{Value, json};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Database URL; by default a fresh SQLite file in a temporary folder, removed on exit.
    /// Give one (`sqlite://cajero-demo.db`) to keep the demo's data between runs.
    #[arg(long)]
    database_url: Option<String>,
    /// Leave the simulated customers and beneficiaries at home: nothing is paid or collected
    /// unless you do it (`/v1/test_helpers/…`, or the simulator's cashier page).
    #[arg(long)]
    no_autopilot: bool,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary folder for the demo database")?;
    let kept = args.database_url.is_some();
    let database_url = args
        .database_url
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("cajero-demo.db").display()));
    let autopilot = !args.no_autopilot;
    let mut config = Config::load(
        None,
        Overrides {
            listen: Some(args.listen),
            database_url: Some(database_url.clone()),
            log_format: None,
        },
    )?;
    config.log_level = std::env::var("CAJERO_LOG_LEVEL").unwrap_or_else(|_| "warn".into());
    // Metrics on the API's address, behind a token made for this run (printed below).
    let metrics_token = config.metrics.token.clone().unwrap_or_else(|| {
        Secret::new(cajero_server::auth::NewSecret::generate(Mode::Test).expose()[8..].to_string())
    });
    config.metrics.token = Some(metrics_token.clone());
    cajero_server::telemetry::init(config.log_format, &config.log_level);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (try --listen 127.0.0.1:0)",
                config.listen
            )
        })?;
    config.listen = listener.local_addr()?;
    config.database_url = Secret::new(database_url);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut state = AppState::open(config, clock.clone()).await?;
    state.networks = Networks::embedded_simulator(
        &state.config.public_url(),
        clock.as_ref(),
        EmbeddedOptions {
            state_url: embedded_state_url(state.config.database_url.expose()),
            autopilot,
        },
    )
    .await
    .context("starting the simulated cash network")?
    .with_health(state.config.health.clone());
    let base = state.config.public_url();
    let db_shown = state.config.database_url.expose().to_string();
    let sim_url = state.networks.simulator_url().unwrap_or_default();

    let merchant = admin::create_merchant(
        &state.store,
        clock.as_ref(),
        "Tienda Demo",
        Some("900123456-8"),
    )
    .await?;
    admin::force_merchant_status(
        &state.store,
        clock.as_ref(),
        merchant.id,
        MerchantStatus::Active,
    )
    .await?;
    let (_, secret) = admin::create_api_key(
        &state.store,
        clock.as_ref(),
        &state.keys,
        merchant.id,
        Mode::Test,
    )
    .await?;
    let key = secret.expose().to_string();
    // The dashboard's owner: a fresh password every run, printed below.
    // Each run makes a new merchant (also on a kept database), so the address names it.
    let merchant_text = merchant.id.to_string();
    let owner_email = format!(
        "owner.{}@demo.cajero.test",
        merchant_text
            .get(merchant_text.len().saturating_sub(8)..)
            .unwrap_or("demo")
    );
    let owner_password = cajero_server::users::random_token();
    cajero_server::users::create_user(
        &state.store,
        clock.as_ref(),
        merchant.id,
        &owner_email,
        "Dueña Demo",
        cajero_server::users::Role::Owner,
        &owner_password,
    )
    .await
    .context("creating the dashboard's demo owner")?;
    // The console's operator: likewise; two-factor is set up at its first sign-in.
    let operator_email = owner_email.replacen("owner.", "operator.", 1);
    let operator_password = cajero_server::users::random_token();
    cajero_server::operators::add(
        &state.store,
        clock.as_ref(),
        &operator_email,
        "Operador Demo",
        &operator_password,
    )
    .await
    .context("creating the console's demo operator")?;

    let server = tokio::spawn(cajero_server::serve(
        state,
        listener,
        cajero_server::shutdown_signal(),
    ));
    let seeded = seed(&base, &key)
        .await
        .context("seeding the demo through the API")?;

    println!("\ncajero demo is running — Ctrl-C stops it.\n");
    println!("  API            {base}/v1   (health: {base}/healthz)");
    println!(
        "  metrics        curl -s {base}/metrics -H 'Authorization: Bearer {}'",
        metrics_token.expose()
    );
    println!("  API docs       {base}/docs   (OpenAPI 3.1: {base}/openapi.json)");
    println!("  test key       {key}");
    println!("  dashboard      {base}/dashboard   sign in as {owner_email} / {owner_password}");
    println!(
        "  console        {base}/console   sign in as {operator_email} / {operator_password} (an authenticator app sets up two-factor)"
    );
    println!(
        "  merchant       {} (Tienda Demo), balance funded with COP 5.000.000",
        merchant.id
    );
    println!("  network sim    {sim_url}   cashier page: {sim_url}/ventanilla");
    let shown_url = cajero_store::redact_url(&db_shown);
    if kept {
        println!("  database       {shown_url}   (kept: run again with the same --database-url)");
    } else {
        println!(
            "  database       {shown_url}\n                 removed on exit; keep it with --database-url sqlite://cajero-demo.db"
        );
    }
    if autopilot {
        println!(
            "  autopilot      on: simulated customers pay some of your vouchers and beneficiaries\n                 collect your pick-up codes at counters within minutes — the ones you\n                 create too. --no-autopilot leaves that to you."
        );
    } else {
        println!(
            "  autopilot      off: nothing is paid or collected until you do it (test helpers or the cashier page)"
        );
    }
    println!("\n  Vouchers:");
    for (id, url) in &seeded.payins {
        println!("    {id}  {url}");
    }
    println!("\n  Pick-up codes:");
    for (id, code, url) in &seeded.payouts {
        println!("    {id}  code {code}  {url}");
    }
    println!("\n  Try:");
    println!("    curl -s {base}/v1/balance -u {key}:");
    println!("    curl -s '{base}/v1/payins?limit=5' -u {key}:");
    println!(
        "    curl -s {base}/v1/payins -u {key}: -H 'Idempotency-Key: demo-1' -H 'Content-Type: application/json' \\\n      -d '{{\"amount\": 150000, \"currency\": \"COP\", \"reference\": \"order-1\"}}'"
    );
    println!(
        "    # time travel for your own objects only: a test clock, then objects with \"test_clock\"\n    curl -s {base}/v1/test_helpers/test_clocks -u {key}: -H 'Idempotency-Key: clock-1' -H 'Content-Type: application/json' -d \"{{\\\"frozen_time\\\": $(date +%s)}}\""
    );
    println!("    curl -s '{base}/v1/events?limit=5' -u {key}:\n");
    let result = server.await.context("the server task failed")?;
    drop(dir);
    result
}

struct Seeded {
    payins: Vec<(String, String)>,
    payouts: Vec<(String, String, String)>,
}

async fn seed(base: &str, key: &str) -> anyhow::Result<Seeded> {
    let http = reqwest::Client::new();
    let post = |path: &str, idem: String, body: Value| {
        let request = http
            .post(format!("{base}{path}"))
            .basic_auth(key, Some(""))
            .header("idempotency-key", idem)
            .json(&body);
        async move {
            let response = request.send().await?;
            let status = response.status();
            let value: Value = response.json().await?;
            anyhow::ensure!(status.is_success(), "{status}: {value}");
            Ok::<Value, anyhow::Error>(value)
        }
    };
    post(
        "/v1/topups",
        "demo-topup".into(),
        json!({"amount": 5_000_000, "currency": "COP", "description": "demo funding"}),
    )
    .await?;
    let mut payins = Vec::new();
    for (n, (amount, name)) in [
        (150_000, "Ana Gómez"),
        (48_500, "Carlos Ruiz"),
        (320_000, "María Fernanda Ríos"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"amount": amount, "currency": "COP", "reference": format!("pedido-{}", 1040 + n),
                          "description": format!("Pedido {}", 1040 + n), "customer": {"name": name}});
        let payin = post("/v1/payins", format!("demo-payin-{n}"), body).await?;
        payins.push((text(&payin["id"]), text(&payin["voucher"]["url"])));
    }
    let mut payouts = Vec::new();
    for (n, (amount, name, doc)) in [
        (200_000, "Luis Pérez", "79876543"),
        (90_000, "Sandra Milena Ortiz", "52345678"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = json!({"amount": amount, "currency": "COP", "reference": format!("giro-{}", 77 + n),
                          "beneficiary": {"name": name, "document": {"type": "CC", "number": doc}}});
        let payout = post("/v1/payouts", format!("demo-payout-{n}"), body).await?;
        payouts.push((
            text(&payout["id"]),
            text(&payout["pickup"]["code"]),
            text(&payout["pickup"]["url"]),
        ));
    }
    Ok(Seeded { payins, payouts })
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}
