//! One kill-and-restart cycle, the simulator's clock, and the wait for everything to settle.

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cajero_domain::calendar;
use jiff::{Timestamp, ToSpan as _};
use serde_json::json;
use tokio::task::JoinHandle;

use super::Run;
use super::facts;
use super::load;
use super::rng::Rng;

/// Streams of the seed: cycles draw from `CYCLE_STREAM + n`, clients from
/// `CLIENT_STREAM + (cycle << 20) + client`.
const CYCLE_STREAM: u64 = 1 << 40;
const CLIENT_STREAM: u64 = 1 << 41;
/// How long a resend pass started by a cycle may run (a killed instance's idempotency claims
/// are locked for up to a minute today).
const RESEND_WINDOW_S: u64 = 120;
/// In a backlog cycle the receiver holds each delivery this long (under the servers' 3 s
/// webhook timeout: slow, not failing, so no retry is pushed minutes away).
const BACKLOG_DELAY_MS: u64 = 1_500;
/// Before a settlement kill, money due is waited for at most this long.
const SETTLEMENT_WORK_WAIT_MS: u64 = 3_000;
/// Days back the simulator's clock may start (payin vouchers last 7 days at most).
const SIM_DAYS_BACK: [i64; 5] = [2, 3, 4, 5, 6];

/// When in a cycle the kill lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// Anywhere in the load.
    Load,
    /// While settlement has money due (it runs every second).
    Settlement,
    /// While the webhook receiver is slow and deliveries pile up.
    Backlog,
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Moment::Load => "mid-load",
            Moment::Settlement => "mid-settlement",
            Moment::Backlog => "mid-webhook-backlog",
        })
    }
}

/// The simulator's frozen clock: 10:00 in Bogotá on the latest business day, two to six days
/// ago, whose next business day is today or earlier. Counters are open whatever the host's time,
/// and every payment (paid at the simulated instant) is due for settlement (T+1) at once, so the
/// servers' settlement worker has work in every cycle without moving their clocks.
pub fn sim_clock_start() -> anyhow::Result<Timestamp> {
    let today = calendar::bogota_date(Timestamp::now());
    for back in SIM_DAYS_BACK {
        let day = today.checked_sub(back.days())?;
        if calendar::is_business_day(day) && calendar::add_business_days(day, 1)? <= today {
            return Ok(calendar::bogota().to_timestamp(day.at(10, 0, 0, 0))?);
        }
    }
    anyhow::bail!("no business day between 2 and 6 days before {today}")
}

/// Runs cycle `number`: load, a kill at a seeded moment, a restart, and a resend of what was
/// lost (in the background: its handle answers how many requests it left without an answer).
pub async fn run(run: &mut Run, number: u32) -> anyhow::Result<JoinHandle<usize>> {
    // Moments and resend timing take turns from a seeded start, so that any three cycles kill
    // at each moment and any two resend both at once and late.
    let turn = Rng::new(run.seed, CYCLE_STREAM - 1).next_u64() % 6 + u64::from(number);
    let moment = [Moment::Load, Moment::Settlement, Moment::Backlog][(turn % 3) as usize];
    let late = !turn.is_multiple_of(2);
    let mut rng = Rng::new(run.seed, CYCLE_STREAM + u64::from(number));
    let victim = rng.range(0, run.args.instances as u64 - 1) as usize;
    let length_ms = rng.range(
        run.args.cycle_seconds_min * 1_000,
        run.args.cycle_seconds_max * 1_000,
    );
    let kill_at_ms = length_ms * rng.range(20, 80) / 100;
    let down_ms = rng.range(0, 1_500);
    println!(
        "chaos: cycle {number}: {moment} kill of instance {victim} at {kill_at_ms} of {length_ms} \
         ms, down {down_ms} ms, resend {}",
        if late {
            "after the stuck-create window"
        } else {
            "at once"
        }
    );
    if number > 0 {
        run.top_up().await?;
    }
    if moment == Moment::Backlog {
        run.receiver
            .delay_ms
            .store(BACKLOG_DELAY_MS, Ordering::Relaxed);
    }
    let started = Instant::now();
    let until = started + Duration::from_millis(length_ms);
    let clients: Vec<_> = (0..run.args.clients as u64)
        .map(|c| {
            let stream = CLIENT_STREAM + (u64::from(number) << 20) + c;
            tokio::spawn(load::client(
                run.load.clone(),
                Rng::new(run.seed, stream),
                until,
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(kill_at_ms)).await;
    if moment == Moment::Settlement {
        wait_for_money_due(run).await;
        tokio::time::sleep(Duration::from_millis(rng.range(0, 1_000))).await;
    }
    run.kill_server(victim);
    tokio::time::sleep(Duration::from_millis(down_ms)).await;
    run.start_server(victim).await?;
    let prompt = resend_lost(run, late);
    if moment == Moment::Backlog {
        tokio::time::sleep(Duration::from_millis(rng.range(500, 2_000))).await;
        run.receiver.delay_ms.store(0, Ordering::Relaxed);
    }
    for client in clients {
        let _ = client.await;
    }
    // What was lost after the restart (on another instance's kill, or late answers).
    let after = resend_lost(run, late);
    Ok(tokio::spawn(async move {
        let (a, b) = (prompt.await.unwrap_or(0), after.await.unwrap_or(0));
        a.max(b)
    }))
}

/// Resends every lost request in the background, at once or after the stuck-create window.
fn resend_lost(run: &Run, late: bool) -> JoinHandle<usize> {
    let lost = run.load.journal.lost();
    let load = run.load.clone();
    let wait_ms = if late {
        run.args.stuck_create_after_ms + 1_000
    } else {
        0
    };
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        let deadline = Instant::now() + Duration::from_secs(RESEND_WINDOW_S);
        load::resend_all(load, lost, deadline).await
    })
}

/// Waits (bounded) until some collected money is pending, i.e. settlement has work.
async fn wait_for_money_due(run: &Run) {
    let deadline = Instant::now() + Duration::from_millis(SETTLEMENT_WORK_WAIT_MS);
    while Instant::now() < deadline {
        if let Some(base) = run.load.cluster.any()
            && let Ok(balance) = facts::get_json(&run.load, &format!("{base}/v1/balance")).await
            && balance["pending"]
                .as_array()
                .is_some_and(|p| p.iter().any(|b| b["amount"].as_i64() > Some(0)))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits, at most `max`, until nothing moves any more: the simulator's callbacks flushed, no
/// payout waiting for its code, every event at the receiver, and the event count stable.
pub async fn settle(run: &Run, max: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + max;
    let mut last_events = usize::MAX;
    let mut remaining = String::new();
    while Instant::now() < deadline {
        run.load
            .http
            .post(format!("{}/sim/v1/callbacks/flush", run.sim.base))
            .json(&json!({"force": true}))
            .send()
            .await
            .context("flushing the simulator's callbacks")?;
        let events = facts::list_all(&run.load, "/v1/events").await?;
        let received = run.receiver.received();
        let undelivered = events
            .iter()
            .filter(|e| {
                e["id"]
                    .as_str()
                    .is_some_and(|id| !received.contains_key(id))
            })
            .count();
        let pending = facts::list_all(&run.load, "/v1/payouts")
            .await?
            .iter()
            .filter(|p| p["status"] == "pending")
            .count();
        remaining = format!("{undelivered} event(s) undelivered, {pending} payout(s) pending");
        if undelivered == 0 && pending == 0 && events.len() == last_events {
            println!("chaos: settled ({} events)", events.len());
            return Ok(());
        }
        last_events = events.len();
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    println!("chaos: not settled after {} s: {remaining}", max.as_secs());
    Ok(())
}
