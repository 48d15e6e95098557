//! `cajero chaos`: the crash suite (issue 10). An external simulator and one or more `cajero
//! serve` processes on one database take seeded load with Idempotency-Keys; each cycle one
//! server is killed with SIGKILL at a seeded moment — during the load, during settlement, or
//! during a webhook backlog — and started again on the same database, and every request left
//! without an answer is sent again with the same key and body, at once or after the
//! stuck-create window. At the end, once everything has settled, the end state is checked
//! ([`checks`]) and `cajero ledger verify` is run. The seed is printed first and with every
//! failure: `--seed` replays the same choices.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cajero_domain::id::MerchantId;
use clap::Args;
use serde_json::{Value, json};

mod checks;
mod cycle;
mod facts;
mod journal;
mod load;
mod procs;
mod receiver;
mod rng;

use load::Load;
use receiver::{Cluster, Receiver};

/// Cycles at most.
pub const CYCLES_MAX: u32 = 10_000;
/// Client tasks at most.
pub const CLIENTS_MAX: usize = 1_024;
/// Server instances at most.
pub const INSTANCES_MAX: usize = 4;
/// The longest load phase of one cycle, in seconds.
pub const CYCLE_S_MAX: u64 = 600;
/// The first top-up, and each cycle's, in pesos (payouts never run dry for lack of funds).
const TOPUP_COP: i64 = 500_000_000;
/// How long the final resend may take, in seconds (idempotency claims of a killed instance are
/// locked for up to a minute today).
const FINAL_RESEND_S: u64 = 150;
/// How long everything may take to settle before the checks, in seconds.
const SETTLE_S_MAX: u64 = 120;

/// `cajero chaos`.
#[derive(Debug, Clone, Args)]
pub struct ChaosArgs {
    /// Kill-and-restart cycles.
    #[arg(long, default_value_t = 5)]
    pub cycles: u32,
    /// Client tasks sending requests at once.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// `cajero serve` processes on the same database (more than one needs PostgreSQL); one of
    /// them is killed per cycle while the others keep serving.
    #[arg(long, default_value_t = 1)]
    pub instances: usize,
    /// Seed of every random choice; from the clock when absent (printed either way).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Database (`postgres://…`); a fresh SQLite file in the run's directory when absent.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Shortest load phase of a cycle, in seconds.
    #[arg(long, default_value_t = 4)]
    pub cycle_seconds_min: u64,
    /// Longest load phase of a cycle, in seconds.
    #[arg(long, default_value_t = 10)]
    pub cycle_seconds_max: u64,
    /// `orders.stuck_create_after_ms` of the servers (late resends wait past it).
    #[arg(long, default_value_t = 3_000)]
    pub stuck_create_after_ms: u64,
    /// Keep the run's directory (databases and logs) even when every check passes.
    #[arg(long)]
    pub keep: bool,
}

impl ChaosArgs {
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=CYCLES_MAX).contains(&self.cycles),
            "--cycles must be 1–{CYCLES_MAX}"
        );
        anyhow::ensure!(
            (1..=CLIENTS_MAX).contains(&self.clients),
            "--clients must be 1–{CLIENTS_MAX}"
        );
        anyhow::ensure!(
            (1..=INSTANCES_MAX).contains(&self.instances),
            "--instances must be 1–{INSTANCES_MAX}"
        );
        anyhow::ensure!(
            1 <= self.cycle_seconds_min
                && self.cycle_seconds_min <= self.cycle_seconds_max
                && self.cycle_seconds_max <= CYCLE_S_MAX,
            "need 1 ≤ --cycle-seconds-min ≤ --cycle-seconds-max ≤ {CYCLE_S_MAX}"
        );
        let postgres = self
            .database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres"));
        anyhow::ensure!(
            self.instances == 1 || postgres,
            "--instances above 1 needs a PostgreSQL --database-url"
        );
        Ok(())
    }
}

/// Everything a run holds on to.
pub struct Run {
    args: ChaosArgs,
    seed: u64,
    load: Arc<Load>,
    receiver: Arc<Receiver>,
    spec: procs::ServerSpec,
    servers: Vec<Option<procs::Proc>>,
    generations: Vec<u32>,
    sim: procs::Sim,
    merchant: MerchantId,
}

/// Runs the suite; an error when any check fails.
pub async fn run(args: ChaosArgs) -> anyhow::Result<()> {
    args.validate()?;
    let seed = args.seed.unwrap_or_else(|| {
        jiff::Timestamp::now()
            .as_nanosecond()
            .unsigned_abs()
            .try_into()
            .unwrap_or(0)
    });
    println!(
        "chaos: seed {seed} (replay: cajero chaos --seed {seed} --cycles {} --clients {} --instances {})",
        args.cycles, args.clients, args.instances
    );
    let dir = tempfile::Builder::new().prefix("cajero-chaos-").tempdir()?;
    println!("chaos: databases and logs in {}", dir.path().display());
    let started = Instant::now();
    let outcome = run_in(&args, seed, dir.path().to_path_buf()).await;
    let failed = !matches!(outcome, Ok(true));
    if failed || args.keep {
        let kept = dir.keep();
        println!("chaos: kept {}", kept.display());
    }
    println!(
        "chaos: {} after {:.0} s (seed {seed})",
        if failed { "FAILED" } else { "passed" },
        started.elapsed().as_secs_f64()
    );
    match outcome {
        Ok(true) => Ok(()),
        Ok(false) => anyhow::bail!("chaos: checks failed (seed {seed})"),
        Err(error) => Err(error.context(format!("chaos run with seed {seed}"))),
    }
}

async fn run_in(args: &ChaosArgs, seed: u64, dir: PathBuf) -> anyhow::Result<bool> {
    let mut run = Run::start(args, seed, dir).await?;
    let mut resends = Vec::new();
    for number in 0..args.cycles {
        resends.push(cycle::run(&mut run, number).await?);
    }
    run.finish(resends).await
}

impl Run {
    async fn start(args: &ChaosArgs, seed: u64, dir: PathBuf) -> anyhow::Result<Run> {
        let exe = std::env::current_exe().context("finding this binary")?;
        let database_url = args
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.join("cajero.db").display()));
        let secrets_key = instance_key(seed);
        let (merchant, api_key) = seed_merchant(&exe, &database_url, &secrets_key)?;
        let cluster = Arc::new(Cluster::new(args.instances));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(load::REQUEST_TIMEOUT_MS))
            .build()?;
        let receiver = Arc::new(Receiver {
            cluster: cluster.clone(),
            http: http.clone(),
            ..Receiver::default()
        });
        let receiver_base = receiver::serve(receiver.clone()).await?;
        let sim = procs::start_sim(
            &exe,
            &dir,
            seed,
            cycle::sim_clock_start()?,
            &format!("{receiver_base}/callbacks/sim"),
        )
        .await?;
        let spec = procs::ServerSpec {
            exe,
            dir,
            database_url,
            sim_url: sim.base.clone(),
            secrets_key,
            stuck_create_after_ms: args.stuck_create_after_ms,
            poll_after_ms: 2_000,
        };
        let load = Arc::new(Load::new(http, cluster, api_key, seed));
        let mut run = Run {
            args: args.clone(),
            seed,
            load,
            receiver,
            spec,
            servers: (0..args.instances).map(|_| None).collect(),
            generations: vec![0; args.instances],
            sim,
            merchant,
        };
        for index in 0..args.instances {
            run.start_server(index).await?;
        }
        let endpoint = json!({"url": format!("{receiver_base}/hooks"), "enabled_events": ["*"]});
        run.post_plain("/v1/webhook_endpoints", &endpoint).await?;
        run.top_up().await?;
        Ok(run)
    }

    /// Starts (or starts again) instance `index` on the run's database.
    async fn start_server(&mut self, index: usize) -> anyhow::Result<()> {
        let generation = self.generations[index];
        self.generations[index] += 1;
        let (proc, base) = procs::start_server(&self.spec, index, generation).await?;
        self.servers[index] = Some(proc);
        self.load.cluster.set(index, Some(base));
        Ok(())
    }

    /// SIGKILL on instance `index`.
    fn kill_server(&mut self, index: usize) {
        self.load.cluster.set(index, None);
        if let Some(proc) = self.servers[index].take() {
            proc.kill();
        }
    }

    async fn post_plain(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let base = self.load.cluster.any().context("no instance is up")?;
        let response = self
            .load
            .http
            .post(format!("{base}{path}"))
            .bearer_auth(&self.load.api_key)
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "POST {path}: {status} {body}");
        Ok(body)
    }

    /// Funds payouts through the API (a keyed request like any other).
    async fn top_up(&self) -> anyhow::Result<()> {
        let request = load::topup_request(&self.load, TOPUP_COP);
        if self.load.send_new(request.clone()).await.is_none() {
            let deadline = Instant::now() + Duration::from_secs(FINAL_RESEND_S);
            load::resend_one(&self.load, &request, deadline).await;
        }
        Ok(())
    }

    /// Stops the chaos, resends what is left, waits for everything to settle and checks.
    async fn finish(
        mut self,
        resends: Vec<tokio::task::JoinHandle<usize>>,
    ) -> anyhow::Result<bool> {
        for index in 0..self.args.instances {
            if self.servers[index].is_none() {
                self.start_server(index).await?;
            }
        }
        self.receiver.delay_ms.store(0, Ordering::Relaxed);
        for handle in resends {
            let _ = handle.await;
        }
        let deadline = Instant::now() + Duration::from_secs(FINAL_RESEND_S);
        let left =
            load::resend_all(self.load.clone(), self.load.journal.unanswered(), deadline).await;
        println!("chaos: final resend done, {left} request(s) still without an answer");
        cycle::settle(&self, Duration::from_secs(SETTLE_S_MAX)).await?;
        // Every acknowledged key once more: each must replay the same object.
        let acknowledged: Vec<_> = self
            .load
            .journal
            .snapshot()
            .into_iter()
            .filter(|e| e.acknowledged())
            .map(|e| e.request)
            .collect();
        let deadline = Instant::now() + Duration::from_secs(FINAL_RESEND_S);
        load::resend_all(self.load.clone(), acknowledged, deadline).await;
        let facts = facts::gather(
            &self.load,
            &self.spec.database_url,
            self.merchant,
            &self.sim.database_url,
            self.receiver.received(),
        )
        .await?;
        let mut verdicts = checks::all(&facts);
        verdicts.push(self.ledger_verify()?);
        let entries = &facts.entries;
        println!(
            "chaos: {} keyed requests ({} acknowledged, {} sends); {} counter operations ({} \
             approved); {} pay-ins, {} payouts, {} events, {} network orders; {} webhook \
             requests",
            entries.len(),
            entries.iter().filter(|e| e.acknowledged()).count(),
            entries.iter().map(|e| u64::from(e.sends)).sum::<u64>(),
            self.load.counter_ops.load(Ordering::Relaxed),
            self.load.counter_approved.load(Ordering::Relaxed),
            facts.payins.len(),
            facts.payouts.len(),
            facts.events.len(),
            facts.sim_orders.len(),
            self.receiver
                .deliveries
                .lock()
                .map(|d| d.requests)
                .unwrap_or(0),
        );
        for verdict in &verdicts {
            println!("  {}", verdict.line());
        }
        let passed = verdicts.iter().all(checks::Verdict::passed);
        if !passed {
            println!("chaos: FAIL with seed {}", self.seed);
        }
        for index in 0..self.args.instances {
            self.kill_server(index);
        }
        Ok(passed)
    }

    fn ledger_verify(&self) -> anyhow::Result<checks::Verdict> {
        let out = std::process::Command::new(&self.spec.exe)
            .args([
                "ledger",
                "verify",
                "--database-url",
                &self.spec.database_url,
            ])
            .env_remove("CAJERO_CONFIG")
            .env("CAJERO_SECRETS_KEY", &self.spec.secrets_key)
            .output()
            .context("running cajero ledger verify")?;
        let mut problems = Vec::new();
        if !out.status.success() {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            problems.extend(text.lines().map(str::to_string));
            problems.insert(0, format!("exit status {}", out.status));
        }
        Ok(checks::Verdict {
            name: "cajero ledger verify passes",
            checked: 1,
            problems,
        })
    }
}

/// Creates the merchant and its test key with the admin commands; answers (merchant, secret).
fn seed_merchant(
    exe: &std::path::Path,
    database_url: &str,
    secrets_key: &str,
) -> anyhow::Result<(MerchantId, String)> {
    let admin = |args: &[&str]| -> anyhow::Result<Value> {
        let out = std::process::Command::new(exe)
            .args(args)
            .args(["--database-url", database_url, "--json"])
            .env_remove("CAJERO_CONFIG")
            .env_remove("CAJERO_DATABASE_URL")
            .env("CAJERO_SECRETS_KEY", secrets_key)
            .output()
            .with_context(|| format!("running cajero {}", args.join(" ")))?;
        anyhow::ensure!(
            out.status.success(),
            "cajero {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let merchant = admin(&["merchant", "create", "--name", "Tienda Caos"])?;
    let id = merchant["id"].as_str().context("merchant id")?.to_string();
    // Test keys need no KYC approval: the merchant stays in onboarding.
    let key = admin(&["key", "create", "--merchant", &id, "--mode", "test"])?;
    let secret = key["secret"].as_str().context("key secret")?.to_string();
    Ok((id.parse()?, secret))
}

/// The instance key the run's servers seal secrets with (`secrets_key`; PostgreSQL refuses to
/// start without one): `CAJERO_SECRETS_KEY` when set, else 64 hex characters drawn from the
/// seed (a throwaway key for a throwaway database).
fn instance_key(seed: u64) -> String {
    std::env::var("CAJERO_SECRETS_KEY").unwrap_or_else(|_| {
        let mut rng = rng::Rng::new(seed, 0x5ec7e75);
        (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect()
    })
}
