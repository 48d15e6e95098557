//! What pay-ins, payouts and refunds share: claiming an `Idempotency-Key` for a request that
//! calls a network, trying the routed networks in order, keeping the evidence, and finishing
//! the request in the same unit of work as its change.
//!
//! Such a request commits in two steps. The claim (and, for payouts, the reservation of funds)
//! commits before the network is called, remembering the id the request creates; the result
//! commits after. A crash in between leaves a claim whose lock runs out: the retry reuses the
//! same id, and the network, which deduplicates by our reference, answers with the same order.

use std::future::Future;

use axum::http::StatusCode;
use cajero_connect::{ConnectError, Evidence, Exchange, NetworkOrder};
use cajero_store::idempotency::{self, Begin, KeyScope, StoredResponse};
use cajero_store::{Conn, StoreError};
use jiff::SignedDuration;
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::clock::Clock;
use crate::error::{ApiError, ErrorType};
use crate::idempotency::{Answer, IdempotencyKey, LOCK_S, in_progress, reused};
use crate::networks::{self, Network};

/// What claiming a key gave.
#[derive(Debug)]
pub enum Claimed {
    /// Done before: this is the stored response.
    Replay(Answer),
    /// Go ahead, creating `resource_id`.
    Proceed {
        /// The id to create (the same on every retry of this key).
        resource_id: String,
        /// The claimed key.
        scope: KeyScope,
    },
}

/// Claims the key and remembers the id the request will create (`proposed`, or the id an
/// earlier, crashed attempt chose).
pub async fn claim(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    fingerprint: String,
    proposed: String,
) -> Result<Claimed, ApiError> {
    let now = state.clock.now();
    let scope = crate::idempotency::scope(caller, key, fingerprint);
    state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                Ok(match claim_in(&mut c, &scope, now, &proposed).await? {
                    ClaimedIn::Replay(response) => Claimed::Replay(response),
                    ClaimedIn::Proceed { resource_id } => Claimed::Proceed { resource_id, scope },
                })
            })
        })
        .await
}

/// What claiming a key inside a caller's unit of work gave.
#[derive(Debug)]
pub enum ClaimedIn {
    /// Done before: this is the stored response.
    Replay(Answer),
    /// Go ahead, creating `resource_id` (the same on every retry of this key).
    Proceed {
        /// The id to create.
        resource_id: String,
    },
}

/// [`claim`] inside the caller's unit of work, so that the claim commits with the change that
/// follows it (an error from the unit rolls the claim back with everything else).
pub async fn claim_in(
    conn: &mut Conn<'_>,
    scope: &KeyScope,
    now: jiff::Timestamp,
    proposed: &str,
) -> Result<ClaimedIn, ApiError> {
    let locked_until = now
        .checked_add(SignedDuration::from_secs(LOCK_S))
        .unwrap_or(now);
    match idempotency::begin_creating(conn, scope, now, locked_until, proposed).await? {
        Ok(resource_id) => Ok(ClaimedIn::Proceed { resource_id }),
        Err(Begin::Replay(stored)) => Ok(ClaimedIn::Replay(Answer::replay(stored))),
        Err(Begin::Mismatch) => Err(reused()),
        Err(Begin::InProgress { locked_until }) => {
            let wait = locked_until.duration_since(now).as_secs().max(1);
            Err(in_progress(u64::try_from(wait).unwrap_or(1)))
        }
        Err(Begin::Proceed) => Err(ApiError::internal(
            "an idempotency claim went ahead without its resource",
        )),
    }
}

/// The end of a unit of work that finishes a claimed request.
#[derive(Debug)]
pub enum UnitOutcome {
    /// Stored and to be answered.
    Done(StoredResponse),
    /// The request failed before changing anything; the claim was released.
    Failed(ApiError),
}

impl UnitOutcome {
    /// The answer.
    pub fn into_answer(self) -> Result<Answer, ApiError> {
        match self {
            UnitOutcome::Done(stored) => Ok(Answer::fresh(stored)),
            UnitOutcome::Failed(error) => Err(error),
        }
    }
}

/// Stores the response with the key, in the unit of work that made the change.
pub async fn finish_in(
    conn: &mut Conn<'_>,
    scope: &KeyScope,
    status: StatusCode,
    body: &Value,
) -> Result<UnitOutcome, StoreError> {
    let stored = StoredResponse {
        status: status.as_u16(),
        body: body.to_string(),
    };
    idempotency::finish(conn, scope, &stored).await?;
    Ok(UnitOutcome::Done(stored))
}

/// Releases the claim (nothing was changed), so that a retry can run; answers `error`.
pub async fn release_in(
    conn: &mut Conn<'_>,
    scope: &KeyScope,
    error: ApiError,
) -> Result<UnitOutcome, StoreError> {
    idempotency::release(conn, scope).await?;
    Ok(UnitOutcome::Failed(error))
}

/// Releases the claim in a unit of its own and answers `error`.
pub async fn release_with(
    state: &AppState,
    scope: KeyScope,
    error: ApiError,
) -> Result<Answer, ApiError> {
    state
        .store
        .write(move |mut c| Box::pin(async move { release_in(&mut c, &scope, error).await }))
        .await?
        .into_answer()
}

/// The outcome of trying the routed networks in order, with the raw evidence of every call.
#[derive(Debug)]
pub struct NetworkCall {
    /// The network that created the order and the order, or the last refusal.
    pub result: Result<(Network, NetworkOrder), ConnectError>,
    /// (network code, exchange) for every call made.
    pub evidence: Vec<(String, Evidence)>,
    /// Why the order went where it went ([`crate::routing::Plan::reason`]); set with an order.
    pub reason: Option<String>,
}

impl NetworkCall {
    /// Tries each planned route in turn, asking its circuit breaker first (an open one is
    /// skipped without a call) and telling it how the call went. A network that is
    /// unavailable (it said nothing was created) passes the request to the next; a refusal
    /// stops, and so does a network that did not answer and could not say whether it has an
    /// order under our reference: the order is never passed on after the first may have
    /// accepted it (the poller resolves it by reference).
    pub async fn run<F, Fut>(
        state: &AppState,
        plan: &crate::routing::Plan,
        mut call: F,
    ) -> NetworkCall
    where
        F: FnMut(&Network) -> Fut,
        Fut: Future<Output = Exchange<NetworkOrder>>,
    {
        let health = state.networks.health();
        let mut evidence = Vec::new();
        let mut fell_over: Vec<String> = Vec::new();
        let mut last = ConnectError::Unavailable("no network was tried".into());
        for network in &plan.candidates {
            let now = state.clock.now();
            if let crate::health::Permit::Reject { since_ms } = health.permit(network, now) {
                let since = jiff::Timestamp::from_millisecond(since_ms).unwrap_or(now);
                health.record_create(
                    network,
                    now,
                    crate::health::Outcome::Skipped,
                    std::time::Duration::ZERO,
                    None,
                );
                fell_over.push(format!(
                    "{} skipped: circuit open since {}",
                    crate::routing::route_name(network),
                    crate::time::rfc3339(since)
                ));
                last = ConnectError::Unavailable(format!(
                    "{} is down (circuit open)",
                    crate::routing::route_name(network)
                ));
                continue;
            }
            let started = std::time::Instant::now();
            let exchange = call(network).await;
            let elapsed = started.elapsed();
            let outcome = match &exchange.result {
                Ok(_) => crate::health::Outcome::Created,
                Err(e) => crate::health::Outcome::of(e),
            };
            let error = exchange.result.as_ref().err().map(ToString::to_string);
            let signals = health.record_create(
                network,
                state.clock.now(),
                outcome,
                elapsed,
                error.as_deref(),
            );
            crate::health::signals::publish(state, signals);
            evidence.extend(
                exchange
                    .evidence
                    .into_iter()
                    .map(|e| (network.code.clone(), e)),
            );
            match exchange.result {
                Ok(order) => {
                    return NetworkCall {
                        reason: Some(plan.reason(network, &fell_over)),
                        result: Ok((network.clone(), order)),
                        evidence,
                    };
                }
                Err(e @ ConnectError::Unavailable(_)) => {
                    fell_over.push(format!(
                        "{} unavailable, fell over",
                        crate::routing::route_name(network)
                    ));
                    last = e;
                }
                Err(other) => {
                    return NetworkCall {
                        result: Err(other),
                        evidence,
                        reason: None,
                    };
                }
            }
        }
        NetworkCall {
            result: Err(last),
            evidence,
            reason: None,
        }
    }
}

impl NetworkCall {
    /// The call's evidence, packed before the unit of work that stores it
    /// ([`networks::PackedEvidence`]), with each exchange's network.
    pub fn packed_evidence(&self) -> Result<Vec<(String, networks::PackedEvidence)>, StoreError> {
        self.evidence
            .iter()
            .map(|(network, e)| Ok((network.clone(), networks::PackedEvidence::pack(e)?)))
            .collect()
    }
}

/// Stores a call's evidence ([`NetworkCall::packed_evidence`]), linked to `object_id`.
pub async fn store_call_evidence(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    caller: Caller,
    object_id: &str,
    evidence: &[(String, networks::PackedEvidence)],
) -> Result<(), StoreError> {
    for (network, evidence) in evidence {
        networks::store_packed_evidence(
            conn,
            clock,
            crate::networks::EvidenceLink {
                merchant: Some(caller.merchant_id),
                mode: caller.mode,
                network,
                object_id: Some(object_id),
                direction: "outbound",
            },
            std::slice::from_ref(evidence),
        )
        .await?;
    }
    Ok(())
}

/// The API error for a create the network refused or could not serve.
pub fn create_error(error: ConnectError) -> ApiError {
    match error {
        ConnectError::Rejected { code, message } => {
            let (api_code, param) = match code.as_str() {
                "amount_out_of_range" => ("amount_outside_network_limits", Some("amount")),
                "expiry_out_of_range" => ("expires_in_seconds_invalid", Some("expires_in_seconds")),
                "network_discontinued" => ("network_discontinued", Some("network")),
                "unknown_network" => ("network_unknown", Some("network")),
                _ => ("network_rejected", None),
            };
            let e = ApiError::invalid(
                api_code,
                format!("The cash network refused the request: {message}"),
            );
            match param {
                Some(p) => e.with_param(p),
                None => e,
            }
        }
        ConnectError::Unavailable(detail) => networks::network_unavailable(detail),
        ConnectError::Timeout => {
            networks::network_unavailable("timed out and not found by reference")
        }
        other => ApiError::new(
            StatusCode::FAILED_DEPENDENCY,
            ErrorType::NetworkError,
            "network_error",
            "The cash network answered unexpectedly. Nothing was created; retry later.",
        )
        .with_log_detail(other.to_string()),
    }
}

/// The API error for a network that answered a create with an order that already belongs to
/// another of our objects: nothing was created, and a retry may succeed.
pub fn order_conflict() -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        ErrorType::NetworkError,
        "network_order_conflict",
        "The cash network answered with an order that already belongs to another object. Nothing was created; retry later.",
    )
}

/// Groups a code in fours for reading aloud: `42807357` → `4280 7357`.
pub fn group_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_grouped_in_fours() {
        assert_eq!(super::group_code("42807357"), "4280 7357");
        assert_eq!(super::group_code("5821093744"), "5821 0937 44");
    }
}
