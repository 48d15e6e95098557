//! The processes a chaos run plays with: one external `cajero sim` that lives through the whole
//! run, and one or more `cajero serve` that are killed with SIGKILL and started again on the
//! same database. Every process is this binary (`std::env::current_exe`), listens on loopback
//! and writes its log to the run's directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;

/// How long a process may take to answer its health probe after being started.
const START_TIMEOUT_MS: u64 = 30_000;
/// Pause between two health probes while waiting for a start.
const START_POLL_MS: u64 = 50;

/// The simulator's merchant id for cajero.
pub const SIM_MERCHANT_ID: &str = "cajero";
/// The secret cajero and the simulator share (loopback only, thrown away with the run).
pub const SIM_SECRET: &str = "chaos-suite-shared-secret-0123456789";

/// A child process, killed (SIGKILL) and reaped when dropped, so that an early error or a
/// panic never leaves a server running.
#[derive(Debug)]
pub struct Proc {
    child: Child,
}

impl Proc {
    /// SIGKILL, then wait for the exit so that the database sees a dead process.
    pub fn kill(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn log_file(dir: &Path, name: &str) -> anyhow::Result<std::fs::File> {
    let path = dir.join(name);
    std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))
}

/// Waits until `GET {url}` answers 200, or fails after [`START_TIMEOUT_MS`].
async fn wait_healthy(http: &reqwest::Client, url: &str, what: &str) -> anyhow::Result<()> {
    for _ in 0..START_TIMEOUT_MS / START_POLL_MS {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(START_POLL_MS)).await;
    }
    anyhow::bail!("{what} did not answer {url} within {START_TIMEOUT_MS} ms")
}

/// The external simulator.
#[derive(Debug)]
pub struct Sim {
    _proc: Proc,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its own SQLite database (`sqlite://…/sim.db`).
    pub database_url: String,
}

/// Starts `cajero sim` with a frozen clock at `clock_start`, persisting to `dir/sim.db`, calling
/// back `callback_url` with short retries.
pub async fn start_sim(
    exe: &Path,
    dir: &Path,
    seed: u64,
    clock_start: Timestamp,
    callback_url: &str,
) -> anyhow::Result<Sim> {
    let database_url = format!("sqlite://{}", dir.join("sim.db").display());
    // The network's retry schedule played 25 times faster (5 s, 15 s, 1 min … become 200 ms,
    // 600 ms, 2.4 s …): a callback refused while every server is down comes back within
    // seconds of the restart.
    let config = format!(
        "database_url = {database_url:?}\nseed = {seed}\n\n[clock]\nstart = \"{clock_start}\"\n\
         frozen = true\n\n[callbacks]\nretry_speedup = 25\n\n\
         [[merchants]]\nid = {SIM_MERCHANT_ID:?}\nsecret = {SIM_SECRET:?}\n\
         callback_url = {callback_url:?}\n"
    );
    let config_path = dir.join("sim.toml");
    std::fs::write(&config_path, config)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let listen = format!("127.0.0.1:{}", free_port()?);
    let child = Command::new(exe)
        .args(["sim", "--listen", &listen, "--config"])
        .arg(&config_path)
        .env_remove("CAJERO_SIM_DATABASE_URL")
        .env_remove("CAJERO_SIM_CONFIG")
        .stdout(log_file(dir, "sim.out.log")?)
        .stderr(log_file(dir, "sim.err.log")?)
        .spawn()
        .context("starting cajero sim")?;
    let proc = Proc { child };
    let base = format!("http://{listen}");
    wait_healthy(
        &reqwest::Client::new(),
        &format!("{base}/sim/v1/clock"),
        "cajero sim",
    )
    .await?;
    Ok(Sim {
        _proc: proc,
        base,
        database_url,
    })
}

/// How every `cajero serve` of a run is configured.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// This binary.
    pub exe: PathBuf,
    /// The run's directory (logs).
    pub dir: PathBuf,
    /// The shared database.
    pub database_url: String,
    /// The external simulator's base URL.
    pub sim_url: String,
    /// The instance key (`CAJERO_SECRETS_KEY`) every server shares.
    pub secrets_key: String,
    /// `orders.stuck_create_after_ms`.
    pub stuck_create_after_ms: u64,
    /// `orders.poll_after_ms`.
    pub poll_after_ms: u64,
}

/// Starts `cajero serve` (instance `index`, start number `generation`) and waits for
/// `/healthz`; answers the process and its base URL.
pub async fn start_server(
    spec: &ServerSpec,
    index: usize,
    generation: u32,
) -> anyhow::Result<(Proc, String)> {
    let listen = format!("127.0.0.1:{}", free_port()?);
    let name = format!("server-{index}-{generation}");
    let child = Command::new(&spec.exe)
        .args([
            "serve",
            "--listen",
            &listen,
            "--database-url",
            &spec.database_url,
        ])
        .env_remove("CAJERO_CONFIG")
        .env_remove("CAJERO_DATABASE_URL")
        .env("CAJERO_LOG_LEVEL", "warn")
        .env("CAJERO_SIMULATOR__URL", &spec.sim_url)
        .env("CAJERO_SIMULATOR__MERCHANT_ID", SIM_MERCHANT_ID)
        .env("CAJERO_SIMULATOR__SECRET", SIM_SECRET)
        .env("CAJERO_SECRETS_KEY", &spec.secrets_key)
        // A stable identity per instance slot, whatever port it gets: a restarted server takes
        // over what its killed incarnation held (leases, idempotency claims) at once.
        .env("CAJERO_INSTANCE_ID", format!("chaos-{index}"))
        .env(
            "CAJERO_ORDERS__STUCK_CREATE_AFTER_MS",
            spec.stuck_create_after_ms.to_string(),
        )
        .env(
            "CAJERO_ORDERS__POLL_AFTER_MS",
            spec.poll_after_ms.to_string(),
        )
        .env("CAJERO_LEDGER__SETTLEMENT_INTERVAL_MS", "1000")
        .env("CAJERO_LEDGER__VERIFY_INTERVAL_MS", "0")
        // The load is the point here, not the API's rate limits.
        .env("CAJERO_RATE_LIMITS__PER_KEY_PER_SECOND", "0")
        // Short webhook timeout and lease (as in tests/webhooks_restart.rs): a killed
        // instance's deliveries are taken over within seconds instead of a minute.
        .env("CAJERO_WEBHOOKS__TIMEOUT_MS", "3000")
        .env("CAJERO_WEBHOOKS__LEASE_MS", "4000")
        .env("CAJERO_WEBHOOKS__IDLE_POLL_MS", "50")
        .stdout(Stdio::null())
        .stderr(log_file(&spec.dir, &format!("{name}.log"))?)
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let proc = Proc { child };
    let base = format!("http://{listen}");
    wait_healthy(&reqwest::Client::new(), &format!("{base}/healthz"), &name).await?;
    Ok((proc, base))
}
