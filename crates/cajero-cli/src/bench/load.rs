//! The load generator: `concurrency` tasks sending creates over keep-alive connections, spread
//! round-robin over the server instances, each request with its own Idempotency-Key, until the
//! phase's duration has passed. It runs on the bench's client runtime (`bench-client-*`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::json;

use super::orders::{
    BENCH_REQUEST_TIMEOUT_S, BENCH_REQUESTS_MAX, FUNDED_PAYOUTS_PER_S, Kind, PAYOUT_AMOUNT_COP,
};

/// How hard and how long.
#[derive(Debug, Clone)]
pub struct Load {
    /// Sending time.
    pub duration: Duration,
    /// Client tasks.
    pub concurrency: usize,
    /// Offered load, or as fast as possible.
    pub rate_per_s: Option<u32>,
}

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Target {
    /// One URL per instance; task `t` sends to `urls[t % urls.len()]`.
    pub urls: Vec<String>,
    /// The API key, when the route wants one.
    pub key: Option<String>,
    /// What to create.
    pub kind: Kind,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// One instance's share of a phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InstanceFigures {
    /// 0-based.
    pub instance: usize,
    /// Answered with 2xx.
    pub ok: u64,
    /// Everything else.
    pub errors: u64,
    /// 2xx answers per second.
    pub ok_per_s: f64,
    /// CPU seconds its threads used (from the phase's CPU split).
    pub cpu_s: f64,
}

/// What the client saw in one phase.
#[derive(Debug, Clone)]
pub struct Driven {
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
    /// 2xx answers in each second of the phase.
    pub ok_by_second: Vec<u64>,
    /// Requests scheduled but not sent by the end (offered load only).
    pub unsent: u64,
    /// Latency of the 2xx answers.
    pub latency_ms: Latency,
    /// Per instance.
    pub by_instance: Vec<InstanceFigures>,
}

/// What one client task saw.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
    /// 2xx answers by the second (since the phase started) they arrived in.
    ok_by_second: Vec<u64>,
    /// Requests scheduled (with an offered load) but not sent before the deadline.
    unsent: u64,
}

/// The bench's HTTP client: keep-alive, no proxy, no Nagle.
pub fn client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(BENCH_REQUEST_TIMEOUT_S))
        .build()
        .context("building the HTTP client")
}

/// Tops the balance up through the API, enough for every payout the phase could send.
pub async fn fund(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    load: &Load,
) -> anyhow::Result<()> {
    let payouts = (load.duration.as_secs() * FUNDED_PAYOUTS_PER_S).min(BENCH_REQUESTS_MAX);
    let mut left = i64::try_from(payouts)?.saturating_mul(PAYOUT_AMOUNT_COP);
    let mut n = 0;
    while left > 0 {
        let amount = left.min(cajero_server::funds::TOPUP_AMOUNT_MINOR_MAX);
        left -= amount;
        n += 1;
        let response = client
            .post(format!("{base}/v1/topups"))
            .basic_auth(key, Some(""))
            .header("idempotency-key", format!("bench-topup-{n}"))
            .json(&json!({"amount": amount, "currency": "COP", "description": "bench funding"}))
            .send()
            .await
            .context("topping up the bench balance")?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("topping up the bench balance: {status}: {body}");
        }
    }
    Ok(())
}

/// Sends requests from `load.concurrency` tasks until the duration has passed.
pub async fn drive(
    client: &reqwest::Client,
    target: &Target,
    load: &Load,
) -> anyhow::Result<Driven> {
    let sent = Arc::new(AtomicU64::new(0));
    let run = std::process::id();
    let started = Instant::now();
    let deadline = started + load.duration;
    // With an offered load, each task sends every `interval`, the tasks evenly staggered.
    let interval = load
        .rate_per_s
        .map(|rate| Duration::from_secs_f64(load.concurrency as f64 / f64::from(rate)));
    let instances = target.urls.len().max(1);
    let mut tasks = Vec::with_capacity(load.concurrency);
    for task in 0..load.concurrency {
        let client = client.clone();
        let url = target
            .urls
            .get(task % instances)
            .cloned()
            .unwrap_or_default();
        let key = target.key.clone();
        let kind = target.kind;
        let sent = sent.clone();
        let offset = interval.map(|i| i.mul_f64(task as f64 / load.concurrency as f64));
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n: u64 = 0;
            loop {
                let scheduled = match (interval, offset) {
                    (Some(interval), Some(offset)) => {
                        let at = started + offset + interval.mul_f64(n as f64);
                        if at >= deadline {
                            break;
                        }
                        if Instant::now() >= deadline {
                            // Behind schedule at the end: what was offered but never sent is
                            // counted, not sent late (the phase stays within its duration).
                            let left = (deadline - at).as_secs_f64() / interval.as_secs_f64();
                            tally.unsent += left.ceil() as u64;
                            break;
                        }
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    _ => Instant::now(),
                };
                if scheduled >= deadline
                    || sent.fetch_add(1, Ordering::Relaxed) >= BENCH_REQUESTS_MAX
                {
                    break;
                }
                let mut request = client
                    .post(&url)
                    .header("idempotency-key", format!("bench-{run}-{task}-{n}"))
                    .json(&kind.body(task, n));
                if let Some(key) = &key {
                    request = request.basic_auth(key, Some(""));
                }
                n += 1;
                match send(request).await {
                    Ok(()) => {
                        let micros =
                            u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX);
                        tally.latencies_us.push(micros);
                        let second = usize::try_from(started.elapsed().as_secs()).unwrap_or(0);
                        if tally.ok_by_second.len() <= second {
                            tally.ok_by_second.resize(second + 1, 0);
                        }
                        tally.ok_by_second[second] += 1;
                    }
                    Err(key) => *tally.errors.entry(key).or_default() += 1,
                }
            }
            tally
        }));
    }
    let mut tallies = Vec::with_capacity(tasks.len());
    for task in tasks {
        tallies.push(task.await.context("a bench client task failed")?);
    }
    Ok(sum(tallies, instances, started.elapsed().as_secs_f64()))
}

/// One request: `Ok` on 2xx with the body read, else the status (or `transport`).
async fn send(request: reqwest::RequestBuilder) -> Result<(), String> {
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            match response.bytes().await {
                Ok(_) if status.is_success() => Ok(()),
                Ok(_) => Err(status.as_u16().to_string()),
                Err(_) => Err("transport".to_string()),
            }
        }
        Err(_) => Err("transport".to_string()),
    }
}

/// The tasks' tallies as one phase; task `t` sent to instance `t % instances`.
fn sum(tallies: Vec<Tally>, instances: usize, seconds: f64) -> Driven {
    let mut latencies = Vec::new();
    let mut errors_by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut ok_by_second: Vec<u64> = Vec::new();
    let mut unsent = 0;
    let mut by_instance: Vec<InstanceFigures> = (0..instances)
        .map(|instance| InstanceFigures {
            instance,
            ..InstanceFigures::default()
        })
        .collect();
    for (task, tally) in tallies.into_iter().enumerate() {
        if let Some(figures) = by_instance.get_mut(task % instances) {
            figures.ok += tally.latencies_us.len() as u64;
            figures.errors += tally.errors.values().sum::<u64>();
        }
        latencies.extend(tally.latencies_us);
        unsent += tally.unsent;
        if ok_by_second.len() < tally.ok_by_second.len() {
            ok_by_second.resize(tally.ok_by_second.len(), 0);
        }
        for (total, count) in ok_by_second.iter_mut().zip(tally.ok_by_second) {
            *total += count;
        }
        for (status, count) in tally.errors {
            *errors_by_status.entry(status).or_default() += count;
        }
    }
    for figures in &mut by_instance {
        figures.ok_per_s = figures.ok as f64 / seconds;
    }
    latencies.sort_unstable();
    let ok = latencies.len() as u64;
    let errors: u64 = errors_by_status.values().sum();
    Driven {
        requests: ok + errors,
        ok,
        errors,
        errors_by_status,
        seconds,
        ok_by_second,
        unsent,
        latency_ms: latency(&latencies),
        by_instance,
    }
}

/// Percentiles of sorted latencies in microseconds, in milliseconds (nearest rank).
pub fn latency(sorted_us: &[u64]) -> Latency {
    let at = |p: f64| {
        if sorted_us.is_empty() {
            return 0.0;
        }
        let rank = ((p * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
        sorted_us[rank - 1] as f64 / 1_000.0
    };
    let mean = if sorted_us.is_empty() {
        0.0
    } else {
        sorted_us.iter().sum::<u64>() as f64 / sorted_us.len() as f64 / 1_000.0
    };
    Latency {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: sorted_us.last().map_or(0.0, |&us| us as f64 / 1_000.0),
        mean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let us: Vec<u64> = (1..=100).map(|n| n * 1_000).collect();
        let l = latency(&us);
        assert_eq!(l.p50, 50.0);
        assert_eq!(l.p90, 90.0);
        assert_eq!(l.p99, 99.0);
        assert_eq!(l.max, 100.0);
        assert_eq!(latency(&[]).p99, 0.0);
    }

    #[test]
    fn tasks_are_counted_for_their_instance() {
        let tally = |ok: usize, errors: u64| Tally {
            latencies_us: vec![1_000; ok],
            errors: BTreeMap::from([("503".to_string(), errors)]),
            ok_by_second: vec![ok as u64],
            unsent: 0,
        };
        let driven = sum(vec![tally(3, 0), tally(5, 1), tally(2, 2)], 2, 1.0);
        assert_eq!(driven.ok, 10);
        assert_eq!(driven.errors, 3);
        assert_eq!(driven.by_instance[0].ok, 5);
        assert_eq!(driven.by_instance[0].errors, 2);
        assert_eq!(driven.by_instance[1].ok, 5);
        assert_eq!(driven.by_instance[1].errors, 1);
    }
}
