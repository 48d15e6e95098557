//! Test clocks, as Stripe's: a merchant's own simulated time in test mode.
//!
//! A pay-in or payout created with `test_clock` lives on that clock: its `created`, its
//! `expires_at` and its expiry follow the clock, and so do the simulator's orders for it (the
//! clock's id and time go with every create; the simulator runs the order's expiry, counter
//! hours and autopilot on that clock). Advancing a clock moves only what lives on it; live
//! mode, other merchants and objects without that clock never see it. Ids, events, ledger
//! entries, request ids and webhook timestamps always carry real time.
//!
//! An advance answers once the clock has moved at the network too, the network's due callbacks
//! were delivered, and whatever expired on the clock was closed — after asking the network, so
//! a payment made in time is never lost to the expiry (`workers::expiry`). Whatever could not
//! be closed then (the network did not answer) is closed by the expiry worker, and the clock
//! reads `advancing` until it is.
//!
//! A clock is deleted only when nothing open lives on it (money objects never vanish); the
//! objects that lived on it keep naming it.

use axum::http::StatusCode;
use cajero_connect::TestClockRef;
use cajero_domain::id::{TestClock, TestClockId};
use cajero_store::test_clocks::{self, TestClockRecord};
use cajero_store::{Conn, StoreError};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::clock::{Clock, new_id};
use crate::error::{ApiError, ErrorType};
use crate::idempotency::{Answer, IdempotencyKey, Outcome};
use crate::list::{List, ListParams};

/// The longest single advance: 31 days, so one step can pass any expiry (payouts last at most
/// 30 days) and what falls due in one step stays bounded.
pub const ADVANCE_S_MAX: i64 = 31 * 24 * 3600;
/// How far a clock may stand from real time, either way: two years.
pub const DRIFT_S_MAX: i64 = 2 * 366 * 24 * 3600;
/// Clocks a merchant may have at once (deleted ones do not count), as Stripe's 100.
pub const CLOCKS_PER_MERCHANT_MAX: i64 = 100;
/// Longest clock name, in characters.
pub const NAME_CHARS_MAX: usize = 100;
/// Expiry passes one advance runs at most before answering (each closes up to
/// `workers::expiry::EXPIRY_BATCH_MAX` objects); the worker finishes what is left.
pub const ADVANCE_EXPIRY_PASSES_MAX: usize = 50;

/// `POST /v1/test_helpers/test_clocks` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTestClock {
    /// The clock's time to start at, in Unix seconds, within two years of now.
    frozen_time: i64,
    /// A name to recognise it by (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
}

/// `POST /v1/test_helpers/test_clocks/{id}/advance` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceTestClock {
    /// The clock's new time, in Unix seconds: not earlier than its time now (the same time
    /// again changes nothing: a retry), at most 31 days later.
    frozen_time: i64,
}

/// The `test_clock` object.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TestClock)]
pub struct TestClockView {
    /// `clock_…`.
    #[schema(value_type = String)]
    id: TestClockId,
    /// `test_clock`.
    object: &'static str,
    /// Always false: test clocks exist in test mode only.
    livemode: bool,
    /// The merchant's name for it.
    name: Option<String>,
    /// The clock's time.
    #[schema(schema_with = crate::openapi::timestamp)]
    frozen_time: String,
    /// `ready`, or `advancing` while objects past their expiry on this clock are still open
    /// (the network did not answer yet; the expiry worker closes them).
    status: &'static str,
    /// Open pay-ins and payouts that live on it.
    open_objects: i64,
    /// Real time.
    #[schema(schema_with = crate::openapi::timestamp)]
    created: String,
    /// Real time of the last advance.
    #[schema(schema_with = crate::openapi::timestamp)]
    updated: String,
}

/// A deleted clock.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DeletedTestClock)]
pub struct DeletedView {
    /// `clock_…`.
    #[schema(value_type = String)]
    id: TestClockId,
    /// `test_clock`.
    object: &'static str,
    /// True.
    deleted: bool,
}

fn view(c: &TestClockRecord, occupancy: test_clocks::Occupancy) -> TestClockView {
    TestClockView {
        id: c.id,
        object: "test_clock",
        livemode: false,
        name: c.name.clone(),
        frozen_time: crate::time::rfc3339(c.frozen_time),
        status: if occupancy.due > 0 {
            "advancing"
        } else {
            "ready"
        },
        open_objects: occupancy.open,
        created: crate::time::rfc3339(c.created_at),
        updated: crate::time::rfc3339(c.updated_at),
    }
}

/// Test clocks need test mode and simulated networks; the refusal says which is missing.
fn available(state: &AppState, caller: Caller) -> Result<(), ApiError> {
    if caller.mode.is_live() {
        return Err(ApiError::forbidden(
            "test_mode_only",
            "Test clocks exist in test mode only: use a test key (sk_test_…).",
        ));
    }
    if state.networks.sim().is_none() {
        return Err(ApiError::invalid(
            "test_clocks_unavailable",
            "Test clocks need this instance's test-mode networks to be simulators, and they are \
             not.",
        ));
    }
    Ok(())
}

fn unix(seconds: i64, param: &'static str) -> Result<Timestamp, ApiError> {
    Timestamp::from_second(seconds).map_err(|_| {
        ApiError::invalid(
            "parameter_invalid",
            format!("{param} is not a valid Unix time"),
        )
        .with_param(param)
    })
}

fn within_drift(at: Timestamp, real: Timestamp, param: &'static str) -> Result<(), ApiError> {
    if at.duration_since(real).as_secs().abs() > DRIFT_S_MAX {
        return Err(ApiError::invalid(
            "test_clock_time_out_of_range",
            format!(
                "{param} must be within {} days of the real time now",
                DRIFT_S_MAX / 86_400
            ),
        )
        .with_param(param));
    }
    Ok(())
}

fn missing(id: &str) -> ApiError {
    ApiError::not_found(format!("No such test_clock: {id:?}"))
}

fn parse_id(id: &str) -> Result<TestClockId, ApiError> {
    id.parse().map_err(|_| missing(id))
}

/// The caller's live (not deleted) clock, or 404.
async fn load(state: &AppState, caller: Caller, id: &str) -> Result<TestClockRecord, ApiError> {
    let clock_id = parse_id(id)?;
    let merchant = caller.merchant_id;
    state
        .store
        .read(move |mut c| {
            Box::pin(async move { test_clocks::get(&mut c, merchant, clock_id).await })
        })
        .await?
        .filter(|c| c.deleted_at.is_none())
        .ok_or_else(|| missing(id))
}

async fn render(state: &AppState, clock: TestClockRecord) -> Result<Value, ApiError> {
    let (id, time) = (clock.id, clock.frozen_time);
    let occupancy = state
        .store
        .read(move |mut c| Box::pin(async move { test_clocks::occupancy(&mut c, id, time).await }))
        .await?;
    Ok(crate::openapi::to_json(&view(&clock, occupancy)))
}

/// Creates a clock at `frozen_time`, and at the simulator too, once per `Idempotency-Key`: a
/// retry answers the clock the first request made.
pub async fn create(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    fingerprint: String,
    request: CreateTestClock,
) -> Result<Answer, ApiError> {
    available(state, caller)?;
    let frozen_time = unix(request.frozen_time, "frozen_time")?;
    let now = state.clock.now();
    within_drift(frozen_time, now, "frozen_time")?;
    let name = match request.name {
        None => None,
        Some(n) if n.trim().is_empty() || n.chars().count() > NAME_CHARS_MAX => {
            return Err(ApiError::invalid(
                "parameter_invalid",
                format!("name must be 1 to {NAME_CHARS_MAX} characters"),
            )
            .with_param("name"));
        }
        Some(n) => Some(n),
    };
    let record = TestClockRecord {
        id: new_id(state.clock.as_ref()),
        merchant_id: caller.merchant_id,
        name,
        frozen_time,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    // At the network first: a clock we have is a clock it has (a create on it would make it
    // up anyway, but an advance of a clock the network lost would not be seen). A replayed
    // request leaves an idle clock at the network, which holds no order and costs nothing.
    let sim = crate::networks::simulator(state)?;
    sim.advance_test_clock(&record.id.to_string(), frozen_time)
        .await
        .map_err(crate::networks::sim_error)?;
    crate::idempotency::run_in_one_transaction(state, caller, key, fingerprint, move |c| {
        Box::pin(async move {
            if test_clocks::count(c, record.merchant_id).await? >= CLOCKS_PER_MERCHANT_MAX {
                return Err(ApiError::invalid(
                    "test_clocks_limit_reached",
                    format!(
                        "A merchant has at most {CLOCKS_PER_MERCHANT_MAX} test clocks; delete one first."
                    ),
                ));
            }
            test_clocks::insert(c, &record).await?;
            let occupancy = test_clocks::occupancy(c, record.id, record.frozen_time).await?;
            Ok(Outcome {
                status: StatusCode::OK,
                body: crate::openapi::to_json(&view(&record, occupancy)),
            })
        })
    })
    .await
}

/// One of the caller's clocks.
pub async fn retrieve(state: &AppState, caller: Caller, id: &str) -> Result<Value, ApiError> {
    available(state, caller)?;
    let clock = load(state, caller, id).await?;
    render(state, clock).await
}

/// The caller's clocks, newest first.
pub async fn list(
    state: &AppState,
    caller: Caller,
    params: &ListParams,
) -> Result<List<Value>, ApiError> {
    available(state, caller)?;
    let page = params.page::<TestClock>()?;
    let merchant = caller.merchant_id;
    let records = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let page = test_clocks::list(&mut c, merchant, &page).await?;
                let mut data = Vec::with_capacity(page.data.len());
                for clock in page.data {
                    let o = test_clocks::occupancy(&mut c, clock.id, clock.frozen_time).await?;
                    data.push(crate::openapi::to_json(&view(&clock, o)));
                }
                Ok::<_, StoreError>(cajero_store::page::Page {
                    data,
                    has_more: page.has_more,
                })
            })
        })
        .await?;
    Ok(List::from_page(
        "/v1/test_helpers/test_clocks",
        records,
        |v| v,
    ))
}

/// Moves a clock forward to `frozen_time`, then at the network, delivers the network's due
/// callbacks and closes what expired on the clock (asking the network first), before answering.
pub async fn advance(
    state: &AppState,
    caller: Caller,
    id: &str,
    request: AdvanceTestClock,
) -> Result<Value, ApiError> {
    available(state, caller)?;
    let clock = load(state, caller, id).await?;
    let to = unix(request.frozen_time, "frozen_time")?;
    let step = to.duration_since(clock.frozen_time);
    if step.is_negative() {
        return Err(ApiError::invalid(
            "test_clock_not_forward",
            format!(
                "A test clock only moves forward: frozen_time must not be earlier than its time \
                 now ({}).",
                clock.frozen_time.as_second()
            ),
        )
        .with_param("frozen_time"));
    }
    if step > SignedDuration::from_secs(ADVANCE_S_MAX) {
        return Err(ApiError::invalid(
            "test_clock_advance_too_far",
            format!(
                "One advance moves a test clock at most {} days; advance in several steps.",
                ADVANCE_S_MAX / 86_400
            ),
        )
        .with_param("frozen_time"));
    }
    within_drift(to, state.clock.now(), "frozen_time")?;
    if !step.is_zero() {
        let (clock_id, from, now) = (clock.id, clock.frozen_time, state.clock.now());
        let moved = state
            .store
            .write(move |mut c| {
                Box::pin(async move { test_clocks::advance(&mut c, clock_id, from, to, now).await })
            })
            .await?;
        if !moved {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                ErrorType::InvalidRequestError,
                "test_clock_moved",
                "The test clock was advanced or deleted by another request meanwhile; read it \
                 and try again.",
            ));
        }
    }
    // The network sees the same time (idempotent: an absolute time, so a retry after a failure
    // here brings it up to date), and tells us what happened meanwhile.
    let behind = |e: cajero_connect::ConnectError| {
        let mut error = crate::networks::sim_error(e);
        error.message = format!(
            "The test clock is now at {}, but the simulated network did not follow: what \
             expired on this clock stays open until it answers (the clock reads `advancing`). \
             Retry the same advance.",
            crate::time::rfc3339(to)
        );
        error
    };
    let sim = crate::networks::simulator(state)?;
    sim.advance_test_clock(&clock.id.to_string(), to)
        .await
        .map_err(behind)?;
    sim.flush_callbacks(false).await.map_err(behind)?;
    for _ in 0..ADVANCE_EXPIRY_PASSES_MAX {
        let closed = crate::workers::expiry::close_due_on_test_clocks(state, Some(clock.id))
            .await
            .map_err(|e| ApiError::internal(format!("expiry on a test clock: {e:#}")))?;
        if closed == 0 {
            break;
        }
    }
    // Pay-ins on the clock whose settlement date has come on it become available.
    let report =
        crate::settlement::run_on_test_clock(&state.store, state.clock.now(), clock.id, to).await?;
    if !report.failed.is_empty() {
        tracing::error!(clock = %clock.id, failed = ?report.failed, "settlement on a test clock failed");
    }
    let clock = load(state, caller, id).await?;
    render(state, clock).await
}

/// Deletes a clock with nothing open on it; refused (409) while something is.
pub async fn delete(state: &AppState, caller: Caller, id: &str) -> Result<Value, ApiError> {
    available(state, caller)?;
    let clock = load(state, caller, id).await?;
    let (clock_id, now) = (clock.id, state.clock.now());
    let deleted = state
        .store
        .write(move |mut c| {
            Box::pin(async move { test_clocks::delete_if_idle(&mut c, clock_id, now).await })
        })
        .await?;
    if !deleted {
        let open = state
            .store
            .read(move |mut c| {
                Box::pin(async move {
                    test_clocks::occupancy(&mut c, clock_id, clock.frozen_time).await
                })
            })
            .await?
            .open;
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            ErrorType::InvalidRequestError,
            "test_clock_in_use",
            format!(
                "{open} open pay-in(s) or payout(s) live on this test clock; money objects never \
                 vanish, so cancel them or advance the clock past their expiry first."
            ),
        ));
    }
    // The network forgets it too; a failure there leaves only an idle clock behind at the
    // simulator, harmless.
    if let Some(sim) = state.networks.sim()
        && let Err(error) = sim.delete_test_clock(&clock_id.to_string()).await
    {
        tracing::warn!(clock = %clock_id, %error, "the simulator kept a deleted test clock");
    }
    Ok(crate::openapi::to_json(&DeletedView {
        id: clock_id,
        object: "test_clock",
        deleted: true,
    }))
}

/// The clock a new pay-in or payout asks to live on (`test_clock`), with its time now: only
/// in test mode, only the caller's, only one not deleted.
pub async fn resolve(
    state: &AppState,
    caller: Caller,
    requested: Option<&str>,
) -> Result<Option<TestClockRef>, ApiError> {
    let Some(id) = requested else {
        return Ok(None);
    };
    if caller.mode.is_live() {
        return Err(ApiError::invalid(
            "test_clock_live_mode",
            "Live objects run on real time: test_clock works with test keys only.",
        )
        .with_param("test_clock"));
    }
    available(state, caller)?;
    let unknown = || {
        ApiError::invalid(
            "test_clock_missing",
            format!("No such test_clock: {}", crate::error::quoted(id)),
        )
        .with_param("test_clock")
    };
    let clock_id: TestClockId = id.parse().map_err(|_| unknown())?;
    let merchant = caller.merchant_id;
    let clock = state
        .store
        .read(move |mut c| {
            Box::pin(async move { test_clocks::get(&mut c, merchant, clock_id).await })
        })
        .await?
        .filter(|c| c.deleted_at.is_none())
        .ok_or_else(unknown)?;
    Ok(Some(TestClockRef {
        id: clock.id.to_string(),
        frozen_time: clock.frozen_time,
    }))
}

/// The time an object lives on: its test clock's, or `clock`'s (real time).
pub async fn object_now(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    test_clock: Option<TestClockId>,
) -> Result<Timestamp, StoreError> {
    match test_clock {
        Some(id) => Ok(test_clocks::frozen_time(conn, id)
            .await?
            .unwrap_or_else(|| clock.now())),
        None => Ok(clock.now()),
    }
}

/// Whether an object expiring at `expires_at` is past it on its own time (its test clock's, or
/// the real time).
pub async fn past_expiry(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    test_clock: Option<TestClockId>,
    expires_at: Option<Timestamp>,
) -> Result<bool, StoreError> {
    let Some(expires_at) = expires_at else {
        return Ok(false);
    };
    Ok(object_now(conn, clock, test_clock).await? >= expires_at)
}
