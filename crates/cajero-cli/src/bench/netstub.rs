//! The network stand-in: a loopback HTTP server that speaks the simulator's dialect for what
//! the bench needs, and costs next to nothing, so that the bench measures cajero rather than
//! the simulator's own bookkeeping.
//!
//! - `POST /v1/payouts` and `POST /v1/collections`, signed as cajero's connector signs them
//!   (checked with the simulator's own [`cajero_sim::signing`]), answer 201 at once with an
//!   order shaped like the simulator's (a fresh id and code, the same fields), and keep nothing.
//! - With callbacks on (the business phase), each create whose request names a `callback_url`
//!   is followed, [`CALLBACK_DELAY_MS`] later, by the callback a real network sends when the
//!   order completes: `payout.paid` (collected at a counter) or `collection.paid` (the voucher
//!   paid), with the counter attempt, signed exactly as the simulator signs callbacks. A
//!   refused delivery (cajero answers 503 while the create has not committed yet) is retried.
//!   Only those pending callbacks are held, in memory.
//!
//! Anything else answers 404, which the connector reads as "not found".

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use cajero_domain::money::Amount;
use cajero_sim::signing::{
    HEADER_CALLBACK_ID, HEADER_MERCHANT, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign_callback,
    sign_request, signatures_match,
};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};

/// How long after a create its `paid` callback is sent: long enough for cajero to have
/// committed the network's answer under load (a callback that lands first is refused with 503
/// and retried, which costs cajero a write), short next to a phase.
pub const CALLBACK_DELAY_MS: u64 = 1_000;
/// Callbacks being delivered at once (the simulator delivers one merchant's in order; a
/// network at this rate would not).
pub const CALLBACK_CONCURRENCY_MAX: usize = 32;
/// Deliveries of one callback before it is given up (counted as abandoned).
pub const CALLBACK_ATTEMPTS_MAX: u32 = 6;
/// Wait before a retry, times the attempt number.
pub const CALLBACK_RETRY_MS: u64 = 250;
/// One delivery's time limit.
pub const CALLBACK_TIMEOUT_MS: u64 = 10_000;
/// Largest distance between a request's `Sim-Timestamp` and our clock (the simulator's
/// default tolerance).
pub const SIGNATURE_TOLERANCE_S: i64 = 300;
/// Validity of an order whose create gives none, in seconds (a week, the simulator's payout
/// default).
const VALIDITY_S_DEFAULT: i64 = 7 * 24 * 3_600;

/// Who the stand-in serves, and whether it calls back.
#[derive(Debug, Clone)]
pub struct StubOptions {
    /// The merchant id cajero signs with (`Sim-Merchant`).
    pub merchant_id: String,
    /// The shared secret.
    pub secret: String,
    /// Send each order's `paid` callback.
    pub callbacks: bool,
}

/// What the stand-in did in a phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StubReport {
    /// Creates answered 201.
    pub creates: u64,
    /// Requests refused (bad signature, bad body, unknown network).
    pub refused: u64,
    /// Callbacks cajero acknowledged (2xx).
    pub callbacks_acknowledged: u64,
    /// Deliveries refused or failed and tried again.
    pub callbacks_retried: u64,
    /// Callbacks given up after [`CALLBACK_ATTEMPTS_MAX`] deliveries.
    pub callbacks_abandoned: u64,
    /// Callbacks still waiting when the stand-in stopped.
    pub callbacks_unsent: u64,
}

impl StubReport {
    /// What was done since `earlier` (the callbacks unsent are those unsent now).
    pub fn since(&self, earlier: &StubReport) -> StubReport {
        StubReport {
            creates: self.creates.saturating_sub(earlier.creates),
            refused: self.refused.saturating_sub(earlier.refused),
            callbacks_acknowledged: self
                .callbacks_acknowledged
                .saturating_sub(earlier.callbacks_acknowledged),
            callbacks_retried: self
                .callbacks_retried
                .saturating_sub(earlier.callbacks_retried),
            callbacks_abandoned: self
                .callbacks_abandoned
                .saturating_sub(earlier.callbacks_abandoned),
            callbacks_unsent: self.callbacks_unsent,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    creates: AtomicU64,
    refused: AtomicU64,
    acknowledged: AtomicU64,
    retried: AtomicU64,
    abandoned: AtomicU64,
    /// Queued or being delivered.
    pending: AtomicU64,
}

/// A network's codes, as the simulator's profile of it prints them.
#[derive(Debug, Clone)]
struct Profile {
    payment_code_digits: u32,
    pickup_code_digits: u32,
    agreement_code: String,
    gln: String,
    counter_id: String,
}

#[derive(Debug)]
struct Stub {
    options: StubOptions,
    profiles: BTreeMap<String, Profile>,
    /// The start in Unix milliseconds: makes this run's ids (and codes) differ from an earlier
    /// run's on the same database.
    run: u64,
    seq: AtomicU64,
    counters: Arc<Counters>,
    callbacks: Option<mpsc::UnboundedSender<Due>>,
}

/// A callback waiting for its time.
#[derive(Debug)]
struct Due {
    at: Instant,
    url: String,
    id: String,
    body: String,
}

/// A running stand-in.
#[derive(Debug)]
pub struct NetStub {
    /// `http://127.0.0.1:port`.
    pub base_url: String,
    counters: Arc<Counters>,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    dispatcher: Option<tokio::task::JoinHandle<()>>,
}

impl NetStub {
    /// Starts serving on a loopback port, on the current runtime.
    pub async fn start(options: StubOptions) -> anyhow::Result<NetStub> {
        let profiles = cajero_sim::SimConfig::default()
            .networks
            .iter()
            .map(|p| {
                let profile = Profile {
                    payment_code_digits: u32::from(p.payment_code_digits),
                    pickup_code_digits: u32::from(p.pickup_code_digits),
                    agreement_code: p.agreement_code.clone(),
                    gln: p.gln.clone(),
                    counter_id: format!("{}-BOG-001", p.counter_prefix),
                };
                (p.name.clone(), profile)
            })
            .collect();
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = watch::channel(false);
        let (callbacks, dispatcher) = if options.callbacks {
            let (tx, rx) = mpsc::unbounded_channel();
            let task = tokio::spawn(dispatch(
                rx,
                options.secret.clone(),
                counters.clone(),
                stopped.clone(),
            )?);
            (Some(tx), Some(task))
        } else {
            (None, None)
        };
        let stub = Arc::new(Stub {
            options,
            profiles,
            run: u64::try_from(Timestamp::now().as_millisecond()).unwrap_or(0),
            seq: AtomicU64::new(0),
            counters: counters.clone(),
            callbacks,
        });
        let app = Router::new()
            .route("/v1/payouts", axum::routing::post(create_payout))
            .route("/v1/collections", axum::routing::post(create_collection))
            .with_state(stub);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let mut until = stopped;
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = until.wait_for(|s| *s).await;
                })
                .await
        });
        Ok(NetStub {
            base_url,
            counters,
            stop,
            server,
            dispatcher,
        })
    }

    /// Waits, at most `limit`, until every callback queued so far has been delivered or given
    /// up on.
    pub async fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.counters.pending.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What it has done so far.
    pub fn report(&self) -> StubReport {
        let c = &self.counters;
        StubReport {
            creates: c.creates.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            callbacks_acknowledged: c.acknowledged.load(Ordering::Relaxed),
            callbacks_retried: c.retried.load(Ordering::Relaxed),
            callbacks_abandoned: c.abandoned.load(Ordering::Relaxed),
            callbacks_unsent: c.pending.load(Ordering::Relaxed),
        }
    }

    /// Stops serving and delivering; returns what it did.
    pub async fn stop(self) -> StubReport {
        let _ = self.stop.send(true);
        let report = self.report();
        let _ = self.server.await;
        if let Some(dispatcher) = self.dispatcher {
            let _ = dispatcher.await;
        }
        report
    }
}

/// `POST /v1/payouts`.
async fn create_payout(
    State(stub): State<Arc<Stub>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    stub.create(Kind::Payout, &uri, &headers, &body)
}

/// `POST /v1/collections`.
async fn create_collection(
    State(stub): State<Arc<Stub>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    stub.create(Kind::Collection, &uri, &headers, &body)
}

/// Which create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Payout,
    Collection,
}

impl Kind {
    /// How the simulator's ids of this kind start.
    fn id_prefix(self) -> &'static str {
        match self {
            Kind::Payout => "pay",
            Kind::Collection => "col",
        }
    }

    fn object(self) -> &'static str {
        match self {
            Kind::Payout => "payout",
            Kind::Collection => "collection",
        }
    }
}

/// The fields of a create the answer needs (the simulator's request format).
#[derive(Debug, Deserialize)]
struct CreateBody {
    network: String,
    reference: String,
    amount: Amount,
    expires_in_seconds: Option<i64>,
    customer: Option<Value>,
    beneficiary: Option<Value>,
    callback_url: Option<String>,
}

/// `{"error": {"code", "message"}}` with `status`, as the simulator answers.
fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

impl Stub {
    fn create(&self, kind: Kind, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
        let answer = self.try_create(kind, uri, headers, body);
        if answer.status() == StatusCode::CREATED {
            self.counters.creates.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    fn try_create(&self, kind: Kind, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
        if let Err(message) = self.verify(uri, headers, body) {
            return refusal(StatusCode::UNAUTHORIZED, "signature_invalid", message);
        }
        let request: CreateBody = match serde_json::from_slice(body) {
            Ok(request) => request,
            Err(e) => {
                return refusal(StatusCode::BAD_REQUEST, "invalid_body", &e.to_string());
            }
        };
        let Some(profile) = self.profiles.get(&request.network) else {
            return refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                "network_unknown",
                "no such network",
            );
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let now = Timestamp::now();
        let order = self.order(kind, seq, &request, profile, now);
        if let (Some(queue), Some(url)) = (&self.callbacks, &request.callback_url) {
            let (id, body) = self.paid_callback(kind, seq, &request, profile, &order);
            self.counters.pending.fetch_add(1, Ordering::Relaxed);
            let due = Due {
                at: Instant::now() + Duration::from_millis(CALLBACK_DELAY_MS),
                url: url.clone(),
                id,
                body,
            };
            if queue.send(due).is_err() {
                self.counters.pending.fetch_sub(1, Ordering::Relaxed);
            }
        }
        (StatusCode::CREATED, axum::Json(order)).into_response()
    }

    /// The simulator's request signature: merchant, timestamp within the tolerance, HMAC.
    fn verify(&self, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if header(HEADER_MERCHANT) != Some(self.options.merchant_id.as_str()) {
            return Err("unknown merchant");
        }
        let timestamp: i64 = header(HEADER_TIMESTAMP)
            .and_then(|t| t.parse().ok())
            .ok_or("timestamp missing")?;
        if (Timestamp::now().as_second() - timestamp).abs() > SIGNATURE_TOLERANCE_S {
            return Err("timestamp out of range");
        }
        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
        let expected = sign_request(
            &self.options.secret,
            timestamp,
            "POST",
            path_and_query,
            body,
        );
        match header(HEADER_SIGNATURE) {
            Some(received) if signatures_match(&expected, received) => Ok(()),
            _ => Err("signature does not match"),
        }
    }

    /// The order as the simulator shows a fresh one.
    fn order(
        &self,
        kind: Kind,
        seq: u64,
        request: &CreateBody,
        profile: &Profile,
        now: Timestamp,
    ) -> Value {
        let validity = request.expires_in_seconds.unwrap_or(VALIDITY_S_DEFAULT);
        let expires_at = now
            .checked_add(SignedDuration::from_secs(validity))
            .unwrap_or(now);
        let id = sequential_id(kind.id_prefix(), self.run, seq);
        let mut order = json!({
            "id": id, "object": kind.object(), "network": request.network,
            "merchant_id": self.options.merchant_id, "reference": request.reference,
            "status": "available", "amount": request.amount, "currency": "COP",
            "created_at": now, "updated_at": now, "expires_at": expires_at, "active_from": now,
            "paid_at": null, "paid_counter_id": null, "canceled_at": null, "expired_at": null,
            "wrong_code_attempts": 0, "attempts": [],
        });
        let digits = match kind {
            Kind::Payout => profile.pickup_code_digits,
            Kind::Collection => profile.payment_code_digits,
        };
        let code = code(digits, self.run.wrapping_add(seq));
        let display = cajero_sim::codes::display(&code);
        let fields = match kind {
            Kind::Payout => json!({
                "beneficiary": request.beneficiary, "pickup_code": code,
                "pickup_code_display": display,
            }),
            Kind::Collection => json!({
                "status": "pending", "customer": request.customer, "payment_code": code,
                "payment_code_display": display, "agreement_code": profile.agreement_code,
                "barcode": {"symbology": "gs1-128", "data": cajero_sim::codes::gs1_128_data(
                    &profile.gln, &code, request.amount, expires_at)},
            }),
        };
        if let (Some(order), Value::Object(fields)) = (order.as_object_mut(), fields) {
            order.extend(fields);
            if let Some(url) = &request.callback_url {
                order.insert("callback_url".into(), json!(url));
            }
        }
        order
    }

    /// The body and id of the callback the simulator sends when `order` is paid or collected
    /// at a counter.
    fn paid_callback(
        &self,
        kind: Kind,
        seq: u64,
        request: &CreateBody,
        profile: &Profile,
        order: &Value,
    ) -> (String, String) {
        let at = Timestamp::now()
            .checked_add(SignedDuration::from_millis(
                i64::try_from(CALLBACK_DELAY_MS).unwrap_or(0),
            ))
            .unwrap_or_else(|_| Timestamp::now());
        let attempt = json!({
            "id": sequential_id("att", self.run, seq), "at": at,
            "counter_id": profile.counter_id, "network": request.network,
            "operation": match kind { Kind::Payout => "collect", Kind::Collection => "pay" },
            "order_id": order["id"], "outcome": "approved",
        });
        let mut paid = order.clone();
        if let Some(o) = paid.as_object_mut() {
            o.insert("status".into(), json!("paid"));
            o.insert("updated_at".into(), json!(at));
            o.insert("paid_at".into(), json!(at));
            o.insert("paid_counter_id".into(), json!(profile.counter_id));
            o.insert("attempts".into(), json!([attempt]));
        }
        let id = sequential_id("cb", self.run, seq);
        let body = json!({
            "id": id, "type": format!("{}.paid", kind.object()), "created_at": at,
            "network": request.network, "merchant_id": self.options.merchant_id,
            "data": {"order": paid, "attempt": attempt},
        });
        (id, body.to_string())
    }
}

/// A code of `digits` digits from `n`, its first digit never zero (as the simulator's).
fn code(digits: u32, n: u64) -> String {
    let low = 10u64.pow(digits.clamp(2, 18) - 1);
    let span = low * 9;
    (low + n % span).to_string()
}

/// Sends each queued callback when due, at most [`CALLBACK_CONCURRENCY_MAX`] at once.
fn dispatch(
    mut queue: mpsc::UnboundedReceiver<Due>,
    secret: String,
    counters: Arc<Counters>,
    mut stopped: watch::Receiver<bool>,
) -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(CALLBACK_CONCURRENCY_MAX)
        .timeout(Duration::from_millis(CALLBACK_TIMEOUT_MS))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let secret: Arc<str> = secret.into();
    let slots = Arc::new(Semaphore::new(CALLBACK_CONCURRENCY_MAX));
    Ok(async move {
        loop {
            let due = tokio::select! {
                due = queue.recv() => due,
                _ = stopped.wait_for(|s| *s) => None,
            };
            let Some(due) = due else { break };
            tokio::select! {
                () = tokio::time::sleep_until(due.at.into()) => {}
                _ = stopped.wait_for(|s| *s) => break,
            }
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let (http, secret, counters) = (http.clone(), secret.clone(), counters.clone());
            tokio::spawn(async move {
                deliver(&http, &secret, &counters, &due).await;
                counters.pending.fetch_sub(1, Ordering::Relaxed);
                drop(slot);
            });
        }
    })
}

/// Delivers one callback as the simulator does, retrying what is not acknowledged.
async fn deliver(http: &reqwest::Client, secret: &str, counters: &Counters, due: &Due) {
    for attempt in 1..=CALLBACK_ATTEMPTS_MAX {
        let timestamp = Timestamp::now().as_second();
        let sent = http
            .post(&due.url)
            .header("content-type", "application/json")
            .header(HEADER_CALLBACK_ID, &due.id)
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(
                HEADER_SIGNATURE,
                sign_callback(secret, timestamp, due.body.as_bytes()),
            )
            .body(due.body.clone())
            .send()
            .await;
        if let Ok(response) = sent {
            let ok = response.status().is_success();
            let _ = response.bytes().await;
            if ok {
                counters.acknowledged.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        if attempt == CALLBACK_ATTEMPTS_MAX {
            break;
        }
        counters.retried.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(
            CALLBACK_RETRY_MS * u64::from(attempt),
        ))
        .await;
    }
    counters.abandoned.fetch_add(1, Ordering::Relaxed);
}

/// Digits the sequence in the stand-in's ids is padded to. The simulator pads its own to a fixed
/// width (ten digits in orders, twelve in attempts and callbacks) so that its ids sort in the
/// order they were made; ten digits are ten billion ids per run, more than any bench makes.
const SEQUENCE_DIGITS: usize = 10;

/// An id of this run: `prefix`, the run's start (Unix milliseconds, thirteen digits until 2286)
/// and the sequence padded to [`SEQUENCE_DIGITS`], so that ids sort in the order they were made,
/// within a run and across runs on one database, as the simulator's do. Unpadded, a new id
/// sorted among older ones (`…_12349` < `…_1235` < `…_12350`), into the middle of its index.
fn sequential_id(prefix: &str, run: u64, seq: u64) -> String {
    format!("{prefix}_{run}_{seq:0SEQUENCE_DIGITS$}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_in_the_order_they_were_made() {
        let run = 1_796_700_000_000;
        let made: Vec<String> = [1, 9, 10, 99, 100, 123_456]
            .into_iter()
            .map(|seq| sequential_id("pay", run, seq))
            .collect();
        let mut sorted = made.clone();
        sorted.sort();
        assert_eq!(sorted, made);
        assert_eq!(made[2], "pay_1796700000000_0000000010");
        // A later run's first id sorts after an earlier run's last.
        assert!(sequential_id("pay", run, 1) > sequential_id("pay", run - 1, 9_999_999));
    }

    #[test]
    fn codes_have_their_digits_and_no_leading_zero() {
        assert_eq!(code(8, 0), "10000000");
        assert_eq!(code(10, 7), "1000000007");
        assert_eq!(code(8, 90_000_000), "10000000");
        assert_eq!(code(8, 89_999_999), "99999999");
    }
}
