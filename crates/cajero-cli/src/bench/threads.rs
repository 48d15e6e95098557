//! Who runs where, and what it costs: each side of the bench (the load generator, every server
//! instance, the network stand-in) gets a tokio runtime of its own whose threads carry its
//! name, so that the CPU time each side burns can be read per thread from
//! `/proc/self/task/*/stat` and grouped by name. Without the split, a ratio of throughputs
//! says nothing about whether cajero or the client that measures it ran out of CPU.
//!
//! Linux keeps 15 bytes of a thread's name, so every name fits in that.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use serde::Serialize;
use tokio::runtime::{Handle, Runtime};

/// Threads of the load generator.
pub const CLIENT_PREFIX: &str = "bench-client-";
/// Threads of a cajero server instance: `cajero-srv{instance}-{n}`.
pub const SERVER_PREFIX: &str = "cajero-srv";
/// Threads of the network stand-in (or of the embedded simulator in `--network sim`).
pub const NETWORK_PREFIX: &str = "netstub-";
/// Database threads the server's store starts (SQLite), counted as the server's: sqlx's
/// SQLite workers and any thread whose name says it is SQLite's.
const SERVER_DATABASE_MARKERS: &[&str] = &["sqlx-sqlite", "sqlite"];
/// Clock ticks per second in `/proc/*/stat` (`USER_HZ`): fixed at 100 by Linux's user ABI on
/// every architecture it reports times to user space for.
const USER_HZ: f64 = 100.0;

/// A multi-thread runtime whose threads (workers and blocking pool) are named `{prefix}{n}`.
pub fn runtime(prefix: &str, worker_threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let prefix = prefix.to_string();
    let next = AtomicUsize::new(0);
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads.max(1))
        .thread_name_fn(move || format!("{prefix}{}", next.fetch_add(1, Ordering::Relaxed)))
        .enable_all()
        .build()?)
}

/// The bench's runtimes: the client's, the network's, one per server instance. Shut down in
/// the background when dropped (a runtime may not be dropped inside another's task).
pub struct Runtimes {
    /// The load generator's.
    pub client: Handle,
    /// The network stand-in's (or simulator's).
    pub network: Handle,
    /// One per server instance.
    pub servers: Vec<Handle>,
    owned: Vec<Runtime>,
}

impl Runtimes {
    /// Builds them, each with as many workers as there are CPUs.
    pub fn new(instances: usize) -> anyhow::Result<Runtimes> {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let client = runtime(CLIENT_PREFIX, cpus)?;
        let network = runtime(NETWORK_PREFIX, cpus)?;
        let mut owned = Vec::with_capacity(instances + 2);
        let mut servers = Vec::with_capacity(instances);
        for instance in 0..instances {
            let runtime = runtime(&server_prefix(instance), cpus)?;
            servers.push(runtime.handle().clone());
            owned.push(runtime);
        }
        let (client_handle, network_handle) = (client.handle().clone(), network.handle().clone());
        owned.push(client);
        owned.push(network);
        Ok(Runtimes {
            client: client_handle,
            network: network_handle,
            servers,
            owned,
        })
    }
}

impl Drop for Runtimes {
    fn drop(&mut self) {
        for runtime in self.owned.drain(..) {
            runtime.shutdown_background();
        }
    }
}

/// Runs `work` on `runtime` and waits for it.
pub async fn on<T: Send + 'static>(
    runtime: &Handle,
    work: impl Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    runtime.spawn(work).await.context("a bench task panicked")?
}

/// Runs the future `make` makes on `runtime` from a blocking thread: for futures that are not
/// `Send` for every lifetime, and so cannot be spawned (sqlx's pool opening).
pub async fn on_thread<T, F, Fut>(runtime: &Handle, make: F) -> anyhow::Result<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<T>>,
    T: Send + 'static,
{
    let runtime = runtime.clone();
    tokio::task::spawn_blocking(move || runtime.block_on(make()))
        .await
        .context("a bench task panicked")?
}

/// The prefix of instance `instance`'s server threads.
pub fn server_prefix(instance: usize) -> String {
    format!("{SERVER_PREFIX}{instance}-")
}

/// CPU seconds (user + system) per thread, and the whole process's.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// By thread id: (name, CPU ticks).
    threads: BTreeMap<u64, (String, u64)>,
    /// The process's CPU ticks, dead threads included.
    process: u64,
}

/// Reads every thread's CPU time now; empty where there is no `/proc` (the split is then
/// reported as zeros, never guessed).
pub fn snapshot() -> Snapshot {
    let mut threads = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc/self/task") {
        for entry in entries.flatten() {
            let Some(tid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            if let Ok(text) = std::fs::read_to_string(entry.path().join("stat"))
                && let Some((name, ticks)) = parse_stat(&text)
            {
                threads.insert(tid, (name, ticks));
            }
        }
    }
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|text| parse_stat(&text))
        .map_or(0, |(_, ticks)| ticks);
    Snapshot { threads, process }
}

/// `(comm, utime + stime)` of one `stat` line: `pid (comm) state … utime stime …`. The name
/// may hold spaces and parentheses, so the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<(String, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // After the name: state (field 3 of the line) comes first, utime is field 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// Where a phase's CPU time went, in CPU seconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CpuSplit {
    /// The load generator (`bench-client-*`).
    pub client_s: f64,
    /// Every cajero server instance (`cajero-srv*`, and the store's SQLite threads).
    pub server_s: f64,
    /// The network stand-in, or the embedded simulator with `--network sim` (`netstub-*`).
    pub network_s: f64,
    /// Everything else: the bench's own coordination and threads that ended in the phase.
    pub other_s: f64,
    /// The whole process.
    pub total_s: f64,
    /// Server CPU seconds per instance, in instance order.
    pub server_by_instance_s: Vec<f64>,
}

impl CpuSplit {
    /// The CPU time spent between two snapshots, grouped by thread name.
    pub fn between(before: &Snapshot, after: &Snapshot, instances: usize) -> CpuSplit {
        let mut split = CpuSplit {
            server_by_instance_s: vec![0.0; instances],
            ..CpuSplit::default()
        };
        let mut grouped: u64 = 0;
        for (tid, (name, ticks)) in &after.threads {
            // A thread born in the phase started from zero.
            let earlier = before
                .threads
                .get(tid)
                .filter(|(n, _)| n == name)
                .map_or(0, |(_, t)| *t);
            let spent = ticks.saturating_sub(earlier);
            let seconds = spent as f64 / USER_HZ;
            let slot = if name.starts_with(CLIENT_PREFIX) {
                &mut split.client_s
            } else if let Some(rest) = name.strip_prefix(SERVER_PREFIX) {
                let instance = rest.split('-').next().and_then(|i| i.parse::<usize>().ok());
                if let Some(s) = instance.and_then(|i| split.server_by_instance_s.get_mut(i)) {
                    *s += seconds;
                }
                &mut split.server_s
            } else if SERVER_DATABASE_MARKERS.iter().any(|m| name.contains(m)) {
                &mut split.server_s
            } else if name.starts_with(NETWORK_PREFIX) {
                &mut split.network_s
            } else {
                continue;
            };
            *slot += seconds;
            grouped += spent;
        }
        let total = after.process.saturating_sub(before.process);
        split.total_s = total as f64 / USER_HZ;
        split.other_s = total.saturating_sub(grouped) as f64 / USER_HZ;
        split
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_from_the_last_parenthesis() {
        let line = "4242 (bench (client) 1) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0 9 0";
        assert_eq!(parse_stat(line), Some(("bench (client) 1".into(), 280)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn cpu_time_is_grouped_by_thread_name() {
        let snap = |threads: &[(u64, &str, u64)], process: u64| Snapshot {
            threads: threads
                .iter()
                .map(|(tid, name, ticks)| (*tid, (name.to_string(), *ticks)))
                .collect(),
            process,
        };
        let before = snap(&[(1, "bench-client-0", 100), (2, "cajero-srv1-0", 50)], 400);
        let after = snap(
            &[
                (1, "bench-client-0", 150),
                (2, "cajero-srv1-0", 250),
                (3, "cajero-srv0-3", 100),
                (4, "sqlx-sqlite-wor", 20),
                (5, "netstub-1", 30),
                (6, "tokio-runtime-w", 10),
            ],
            860,
        );
        let split = CpuSplit::between(&before, &after, 2);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(split.client_s, 0.5), "{split:?}");
        assert!(close(split.server_s, 3.2), "{split:?}");
        assert!(close(split.server_by_instance_s[0], 1.0), "{split:?}");
        assert!(close(split.server_by_instance_s[1], 2.0), "{split:?}");
        assert!(close(split.network_s, 0.3), "{split:?}");
        assert!(close(split.total_s, 4.6), "{split:?}");
        // The unnamed thread and whatever ended in the phase: 460 − 400 grouped ticks.
        assert!(close(split.other_s, 0.6), "{split:?}");
    }
}
