//! What `cajero bench payouts|payins` reports, as JSON (`--json`) and as text.

use std::collections::BTreeMap;

use serde::Serialize;

use super::load::{InstanceFigures, Latency};
use super::netstub::StubReport;
use super::threads::CpuSplit;

/// One phase's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// Requests answered or failed.
    pub requests: u64,
    /// Answered with 2xx.
    pub ok: u64,
    /// Everything else.
    pub errors: u64,
    /// Errors by HTTP status, or `transport` when no response arrived.
    pub errors_by_status: BTreeMap<String, u64>,
    /// From the first request to the last answer, in seconds.
    pub seconds: f64,
    /// All requests per second.
    pub requests_per_s: f64,
    /// 2xx answers per second.
    pub ok_per_s: f64,
    /// 2xx answers in each second of the phase (a falling series means it slows down as data
    /// grows).
    pub ok_by_second: Vec<u64>,
    /// With an offered load: requests scheduled but not sent by the end (the server fell
    /// behind); 0 otherwise.
    pub unsent: u64,
    /// Latency of the 2xx answers.
    pub latency_ms: Latency,
    /// Each server instance's share (one entry without `--instances`).
    pub by_instance: Vec<InstanceFigures>,
    /// Where the CPU time went while the load ran.
    pub cpu: CpuSplit,
    /// What the network stand-in did for this phase (creates answered, callbacks delivered);
    /// `null` when cajero called the embedded simulator instead (`--network sim`).
    pub network: Option<StubReport>,
}

/// Where and how it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs this process may use (`nproc`).
    pub cpus: usize,
    /// `uname -m`.
    pub arch: &'static str,
    /// The operating system.
    pub os: &'static str,
    /// `release` or `debug` (debug builds are several times slower).
    pub build: &'static str,
    /// The 1-minute load average when the run started (`/proc/loadavg`; `null` where there is
    /// none): the cores may be shared with other work.
    pub load_average_1m: Option<f64>,
}

impl Machine {
    /// This machine, this build, and the load average read at the start of the run.
    pub fn here(load_average_1m: Option<f64>) -> Machine {
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            arch: std::env::consts::ARCH,
            os: std::env::consts::OS,
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            load_average_1m,
        }
    }
}

/// One of DESIGN.md's targets for this bench, and whether this run met it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    /// What DESIGN.md asks, e.g. `payouts ≥ 70 % of hollow on sqlite`.
    pub wanted: String,
    /// What this run measured against it.
    pub measured: String,
    /// Whether it was met; `null` when this run cannot judge it (`not_judged` says why).
    pub met: Option<bool>,
    /// Why this run does not judge it.
    pub not_judged: Option<&'static str>,
}

/// What the business phase's orders cost in the database.
#[derive(Debug, Clone, Serialize)]
pub struct Storage {
    /// Orders created (2xx answers of the business phase).
    pub orders: u64,
    /// The database's size just before the business phase (after seeding and funding).
    pub database_bytes_before: i64,
    /// Its size after the phase and its callbacks: SQLite `page_count × page_size` (the
    /// size the file has once the WAL is checkpointed), PostgreSQL the sum of
    /// `pg_total_relation_size` (tables, indexes, TOAST) over the schema's tables.
    pub database_bytes_after: i64,
    /// `(after − before) ÷ orders`; `null` without orders.
    pub bytes_per_order: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `payouts` or `payins`.
    pub bench: &'static str,
    /// When it ran (UTC).
    pub date: String,
    /// The machine.
    pub machine: Machine,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// What cajero called as the network: `stand-in` or `sim`.
    pub network: &'static str,
    /// Server instances in the process.
    pub instances: usize,
    /// Seconds each phase sent for.
    pub duration_s: u64,
    /// Client tasks.
    pub concurrency: usize,
    /// Offered load, or `null` for as fast as possible.
    pub rate_per_s: Option<u32>,
    /// The real thing: the public API end to end.
    pub business: Phase,
    /// The same HTTP hops and one durable commit, nothing else.
    pub hollow: Phase,
    /// `business.ok_per_s ÷ hollow.ok_per_s`.
    pub ratio: f64,
    /// Database bytes per order the business phase created.
    pub storage: Storage,
    /// DESIGN.md's targets for this bench on this engine, each judged or said why not.
    pub targets: Vec<Judged>,
    /// What routing and network-health bookkeeping cost per order.
    pub routing: RoutingCost,
}

/// The cost of ranking the routes and keeping the breakers, per order: measured in a tight
/// loop over the same code the create path runs (the plan, the breaker's permit, recording the
/// outcome), and set against the server's CPU time per order in the business phase.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoutingCost {
    /// Orders planned and recorded in the loop.
    pub orders: u64,
    /// Nanoseconds per order.
    pub ns_per_order: f64,
    /// The server's CPU per order in the business phase, nanoseconds.
    pub server_cpu_ns_per_order: Option<f64>,
    /// `ns_per_order` as a share of it, percent.
    pub share_percent: Option<f64>,
}

fn phase_text(name: &str, p: &Phase) -> String {
    let errors = if p.errors == 0 {
        "no errors".to_string()
    } else {
        let by: Vec<String> = p
            .errors_by_status
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        format!("{} errors ({})", p.errors, by.join(", "))
    };
    let unsent = if p.unsent == 0 {
        String::new()
    } else {
        format!(", {} offered but not sent in time", p.unsent)
    };
    let trend = match (p.ok_by_second.first(), p.ok_by_second.len()) {
        (Some(first), n) if n >= 3 => format!(
            "; {first}/s in the first second, {}/s in the last full one",
            p.ok_by_second[n - 2]
        ),
        _ => String::new(),
    };
    let c = &p.cpu;
    let mut text = format!(
        "  {name:<9} {:>9.0} req/s ok   ({} ok in {:.1} s, {errors}{unsent}{trend})\n            \
         latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}\n            \
         CPU s: server {:.1}  client {:.1}  network {:.1}  other {:.1}  (total {:.1} over {:.1} s)",
        p.ok_per_s,
        p.ok,
        p.seconds,
        p.latency_ms.p50,
        p.latency_ms.p90,
        p.latency_ms.p99,
        p.latency_ms.max,
        c.server_s,
        c.client_s,
        c.network_s,
        c.other_s,
        c.total_s,
        p.seconds,
    );
    if p.by_instance.len() > 1 {
        for i in &p.by_instance {
            text.push_str(&format!(
                "\n            instance {}: {:.0} req/s ok ({} ok, {} errors), {:.1} CPU s",
                i.instance, i.ok_per_s, i.ok, i.errors, i.cpu_s
            ));
        }
    }
    if let Some(n) = &p.network {
        text.push_str(&format!(
            "\n            stand-in: {} creates answered, {} refused; callbacks {} acknowledged, \
             {} retried, {} abandoned, {} unsent",
            n.creates,
            n.refused,
            n.callbacks_acknowledged,
            n.callbacks_retried,
            n.callbacks_abandoned,
            n.callbacks_unsent
        ));
    }
    text
}

/// The report as text for people.
pub fn human(r: &Report) -> String {
    let met = |yes: bool| if yes { "met" } else { "NOT met" };
    let load = match r.rate_per_s {
        Some(rate) => format!("{rate} req/s offered over {} tasks", r.concurrency),
        None => format!("{} tasks as fast as they can", r.concurrency),
    };
    let instances = if r.instances == 1 {
        String::new()
    } else {
        format!(", {} instances", r.instances)
    };
    let mut text = format!(
        "cajero bench {} — {} — {} CPUs {} (load {}) {} build — {}{instances}, network: {} — \
         {} s per phase, {load}\n{}\n{}\n",
        r.bench,
        r.date,
        r.machine.cpus,
        r.machine.arch,
        r.machine
            .load_average_1m
            .map_or_else(|| "unknown".to_string(), |l| format!("{l:.2}")),
        r.machine.build,
        r.database,
        r.network,
        r.duration_s,
        phase_text("business", &r.business),
        phase_text("hollow", &r.hollow),
    );
    let per_order = r
        .storage
        .bytes_per_order
        .map_or_else(|| "n/a".to_string(), |b| format!("{b:.0}"));
    text.push_str(&format!(
        "  business/hollow {:.0} %\n  database: {per_order} bytes per order ({} orders, {} → {} bytes)\n  \
         targets:",
        r.ratio * 100.0,
        r.storage.orders,
        r.storage.database_bytes_before,
        r.storage.database_bytes_after,
    ));
    if r.targets.is_empty() {
        text.push_str(" none stated in DESIGN.md for this bench on this engine");
    }
    for t in &r.targets {
        let verdict = match (t.met, t.not_judged) {
            (Some(yes), _) => met(yes).to_string(),
            (None, why) => format!("not judged ({})", why.unwrap_or("no reason given")),
        };
        text.push_str(&format!("\n    {}: {verdict} ({})", t.wanted, t.measured));
    }
    text.push_str(&format!(
        "\n  routing and health bookkeeping: {:.2} µs per order{}",
        r.routing.ns_per_order / 1_000.0,
        r.routing
            .share_percent
            .map_or_else(String::new, |share| format!(
                " ({share:.2} % of the server's {:.0} µs of CPU per order)",
                r.routing.server_cpu_ns_per_order.unwrap_or(0.0) / 1_000.0
            )),
    ));
    text
}
