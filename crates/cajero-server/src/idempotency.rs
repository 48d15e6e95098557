//! `Idempotency-Key` on state-changing requests (API.md, "Idempotency").
//!
//! [`IdempotencyKey`] extracts and checks the header (required). [`Fingerprint`] hashes the
//! method, the path and the canonical JSON body (keys sorted), so that reordered keys or
//! whitespace do not make the "same" request different. [`run_in_one_transaction`] serves a
//! request whose whole effect is in the database: the claim, the change and the stored
//! response commit together, so a crash leaves either everything or nothing.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cajero_store::idempotency::{self, Begin, KeyScope, StoredResponse};
use cajero_store::{Conn, Work};
use jiff::SignedDuration;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorType};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Longest key accepted (API.md: 1–255 printable ASCII).
pub const KEY_CHARS_MAX: usize = 255;
/// How long a running request holds its key before it counts as crashed (sooner when the
/// instance running it is known dead: see [`cajero_store::instances`]).
pub const LOCK_S: i64 = 60;

/// The key as stored: scoped to the caller's merchant and mode, with the request's fingerprint,
/// held by the incarnation serving the request.
pub fn scope(caller: Caller, key: IdempotencyKey, fingerprint: String) -> KeyScope {
    KeyScope {
        merchant_id: caller.merchant_id,
        mode: caller.mode,
        key: key.key,
        fingerprint,
        holder: key.holder,
    }
}

/// The `Idempotency-Key` header, checked, as received by this instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The header's value.
    pub key: String,
    /// The incarnation of the instance serving the request (see [`crate::instance`]): a claim
    /// of the key is held by it while the request runs.
    pub holder: Option<String>,
}

impl FromRequestParts<AppState> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(HEADER) else {
            return Err(ApiError::invalid(
                "idempotency_key_missing",
                "This request changes state: send an Idempotency-Key header (1–255 printable \
                 ASCII characters, e.g. a UUID) so that it can be retried safely.",
            ));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= KEY_CHARS_MAX)
            .filter(|k| k.bytes().all(|b| (0x20..0x7f).contains(&b)))
            .ok_or_else(|| {
                ApiError::invalid(
                    "idempotency_key_invalid",
                    "Idempotency-Key must be 1–255 printable ASCII characters.",
                )
            })?;
        Ok(IdempotencyKey {
            key: key.to_string(),
            // An instance that never registered (a tool) cannot vouch for its claims: they
            // are held by their lock alone.
            holder: state
                .instance
                .is_registered()
                .then(|| state.instance.incarnation().to_string()),
        })
    }
}

impl IdempotencyKey {
    /// The key of a dashboard form: the random token the form was rendered with, so that the
    /// same form submitted twice (a double click, a reload) acts once and answers the same.
    /// A token that is not 16–64 letters, digits, `-` or `_` is replaced by a fresh one (the
    /// request then acts, but is not deduplicated).
    pub fn of_form(state: &AppState, token: &str) -> IdempotencyKey {
        let token = if (16..=64).contains(&token.len())
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            token.to_string()
        } else {
            crate::users::random_token()
        };
        IdempotencyKey {
            key: format!("dashboard:{token}"),
            holder: state
                .instance
                .is_registered()
                .then(|| state.instance.incarnation().to_string()),
        }
    }
}

/// SHA-256 (hex) of `METHOD path canonical-json`.
pub fn fingerprint(method: &str, path: &str, body: &serde_json::Value) -> String {
    // serde_json's map is ordered by key, so this serialization is canonical.
    let canonical = body.to_string();
    let digest = Sha256::digest(format!("{method} {path} {canonical}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A successful response to store and return.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// 200 or 201.
    pub status: StatusCode,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// Serves a request whose whole effect is in the database, exactly once per key: the claim,
/// `work`'s changes and the stored response commit in one unit of work. A replay answers the
/// stored response with `Idempotent-Replayed: true`; the same key with another request is
/// 422; with the first still running, 409. An error from `work` rolls everything back,
/// including the claim, so the request may be retried.
pub async fn run_in_one_transaction<F>(
    state: &AppState,
    caller: Caller,
    key: IdempotencyKey,
    fingerprint: String,
    work: F,
) -> Result<Answer, ApiError>
where
    F: for<'c> FnOnce(&'c mut Conn<'_>) -> Work<'c, Outcome, ApiError> + Send + 'static,
{
    let now = state.clock.now();
    let locked_until = now
        .checked_add(SignedDuration::from_secs(LOCK_S))
        .unwrap_or(now);
    let scope = crate::idempotency::scope(caller, key, fingerprint);
    let secrets = state.secrets.clone();
    let seal_context = format!("idempotency:{}:{}", caller.merchant_id, scope.key);
    let open_context = seal_context.clone();
    let result = state
        .store
        .write(move |mut conn| {
            Box::pin(async move {
                match idempotency::begin(&mut conn, &scope, now, locked_until).await? {
                    Begin::Proceed => {}
                    Begin::Replay(stored) => return Ok(Served::Replayed(stored)),
                    Begin::Mismatch => return Err(reused()),
                    Begin::InProgress { locked_until } => {
                        let wait = locked_until.duration_since(now).as_secs().max(1);
                        return Err(in_progress(u64::try_from(wait).unwrap_or(1)));
                    }
                }
                let outcome = work(&mut conn).await?;
                let stored = StoredResponse {
                    status: outcome.status.as_u16(),
                    body: outcome.body.to_string(),
                };
                // An answer that carries a secret (a webhook endpoint's signing secret) is
                // kept for replays sealed under the instance key, like the secret itself.
                let kept = if outcome.body.get("secret").is_some() {
                    StoredResponse {
                        status: stored.status,
                        body: secrets.seal_str(&seal_context, &stored.body),
                    }
                } else {
                    stored.clone()
                };
                idempotency::finish(&mut conn, &scope, &kept).await?;
                Ok(Served::Fresh(stored))
            })
        })
        .await?;
    Ok(match result {
        Served::Replayed(stored) if cajero_store::secret_box::is_sealed(&stored.body) => {
            let body = state
                .secrets
                .open_string(&open_context, &stored.body)
                .map_err(|e| ApiError::internal(format!("stored answer unreadable: {e}")))?;
            Answer::replay(StoredResponse {
                status: stored.status,
                body,
            })
        }
        Served::Replayed(stored) => Answer::replay(stored),
        Served::Fresh(stored) => Answer::fresh(stored),
    })
}

enum Served {
    Fresh(StoredResponse),
    Replayed(StoredResponse),
}

/// The answer to a state-changing request, as kept with its key for replays: what the
/// services give back, in the domain's terms (a status, the object as JSON, whether it is a
/// replay). The API renders it as HTTP ([`IntoResponse`]); the dashboard reads it
/// ([`Answer::object`], [`Answer::refusal`]).
#[derive(Debug, Clone)]
pub struct Answer {
    stored: StoredResponse,
    replayed: bool,
}

impl Answer {
    /// An answer given now.
    pub fn fresh(stored: StoredResponse) -> Self {
        Answer {
            stored,
            replayed: false,
        }
    }

    /// An answer given before, under the same key.
    pub fn replay(stored: StoredResponse) -> Self {
        Answer {
            stored,
            replayed: true,
        }
    }

    /// A new object, answered now (not kept under a key by this call).
    pub fn created(object: &serde_json::Value) -> Self {
        Answer::fresh(StoredResponse {
            status: StatusCode::CREATED.as_u16(),
            body: object.to_string(),
        })
    }

    /// True when this answer was given before under the same key.
    pub fn is_replay(&self) -> bool {
        self.replayed
    }

    /// The status kept with the answer (200 or 201; 4xx for a refusal kept with its key).
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.stored.status).unwrap_or(StatusCode::OK)
    }

    /// The object answered, or `None` for a refusal.
    pub fn object(&self) -> Option<serde_json::Value> {
        let status = self.status();
        if status.is_client_error() || status.is_server_error() {
            return None;
        }
        serde_json::from_str(&self.stored.body).ok()
    }

    /// A refusal kept with the key (e.g. a lack of funds): its code and message.
    pub fn refusal(&self) -> Option<(String, String)> {
        let status = self.status();
        if !(status.is_client_error() || status.is_server_error()) {
            return None;
        }
        let body: serde_json::Value = serde_json::from_str(&self.stored.body).ok()?;
        let error = body.get("error")?;
        let text = |k: &str| {
            error
                .get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Some((text("code"), text("message")))
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        stored_response(self.stored, self.replayed)
    }
}

/// The HTTP answer for a stored response; a replay says so in `Idempotent-Replayed: true`.
fn stored_response(stored: StoredResponse, replayed: bool) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let content_type = HeaderValue::from_static("application/json");
    let mut response = (
        status,
        [(axum::http::header::CONTENT_TYPE, content_type)],
        stored.body,
    )
        .into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    if status.is_client_error() || status.is_server_error() {
        response.extensions_mut().insert(StoredError);
    }
    response
}

/// Marks a stored error answer: the middleware gives it this request's `request_id`, as every
/// error body has.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredError;

pub(crate) fn reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorType::IdempotencyError,
        "idempotency_key_reused",
        "This Idempotency-Key was already used with a different request. Use a new key for a \
         new request.",
    )
}

pub(crate) fn in_progress(retry_after_s: u64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorType::IdempotencyError,
        "idempotency_request_in_progress",
        "A request with this Idempotency-Key is still being processed. Retry shortly.",
    )
    .with_retry_after(retry_after_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_key_order_and_whitespace_but_not_values() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"a": 1, "b": {"c": 2}}"#).unwrap_or_default();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"b":{"c":2},"a":1}"#).unwrap_or_default();
        let c: serde_json::Value =
            serde_json::from_str(r#"{"a": 2, "b": {"c": 2}}"#).unwrap_or_default();
        assert_eq!(
            fingerprint("POST", "/v1/x", &a),
            fingerprint("POST", "/v1/x", &b)
        );
        assert_ne!(
            fingerprint("POST", "/v1/x", &a),
            fingerprint("POST", "/v1/x", &c)
        );
        assert_ne!(
            fingerprint("POST", "/v1/x", &a),
            fingerprint("POST", "/v1/y", &a)
        );
    }
}
