//! Every request that carries an Idempotency-Key, with what cajero answered for it: the
//! client's memory, from which unacknowledged requests are sent again (same key, same body)
//! and against which the end state is checked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

/// What a keyed request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `POST /v1/payins`.
    Payin,
    /// `POST /v1/payouts`.
    Payout,
    /// `POST /v1/topups`.
    Topup,
    /// `POST /v1/payins/{id}/cancel`.
    CancelPayin,
    /// `POST /v1/payouts/{id}/cancel`.
    CancelPayout,
}

/// A keyed request, exactly as it is sent every time.
#[derive(Debug, Clone)]
pub struct Request {
    /// The Idempotency-Key.
    pub key: String,
    /// Path under the base URL (`/v1/payins`).
    pub path: String,
    /// The JSON body.
    pub body: Value,
    /// What it does.
    pub kind: Kind,
}

/// What one send of a request came to.
#[derive(Debug, Clone)]
pub enum Sent {
    /// cajero answered for good (any status but a 5xx or a 409 in progress).
    Answered {
        /// HTTP status.
        status: u16,
        /// The body.
        body: Value,
        /// `Idempotent-Replayed: true` was present.
        replayed: bool,
    },
    /// 409 `idempotency_request_in_progress`: retry after this long.
    InProgress(Duration),
    /// No answer (connection refused or cut, timeout) or a 5xx: the outcome is unknown.
    Lost(String),
}

/// A request and every answer it got.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The request.
    pub request: Request,
    /// The first definitive answer's status.
    pub status: Option<u16>,
    /// The id of every object a 2xx answer for this key carried (more than one is a bug).
    pub ids: BTreeSet<String>,
    /// Sends in all.
    pub sends: u32,
    /// Sends that came to nothing ([`Sent::Lost`] or [`Sent::InProgress`]).
    pub unanswered: u32,
    /// 2xx answers without `Idempotent-Replayed`: the request ran. Exactly one per
    /// acknowledged key; a second means the key ran twice. (A replay may be recorded before
    /// the fresh answer it replays: a resend that arrives after the first run committed is
    /// answered before that run's own, slower, response reaches the client.)
    pub fresh: u32,
    /// Why the last send came to nothing.
    pub last_error: Option<String>,
}

impl Entry {
    /// cajero said yes (2xx).
    pub fn acknowledged(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Every keyed request of the run.
#[derive(Debug, Default)]
pub struct Journal {
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl Journal {
    /// Notes that `request` is about to be sent for the first time.
    pub fn open(&self, request: &Request) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.entry(request.key.clone()).or_insert_with(|| Entry {
            request: request.clone(),
            status: None,
            ids: BTreeSet::new(),
            sends: 0,
            unanswered: 0,
            fresh: 0,
            last_error: None,
        });
    }

    /// Records one send's outcome; answers the object id when it was acknowledged.
    pub fn record(&self, key: &str, sent: &Sent) -> Option<String> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get_mut(key)?;
        entry.sends += 1;
        let Sent::Answered {
            status,
            body,
            replayed,
        } = sent
        else {
            entry.unanswered += 1;
            entry.last_error = Some(match sent {
                Sent::Lost(why) => why.clone(),
                _ => "409 idempotency_request_in_progress".into(),
            });
            return None;
        };
        entry.status.get_or_insert(*status);
        if !(200..300).contains(status) {
            return None;
        }
        if !replayed {
            entry.fresh += 1;
        }
        let id = body["id"].as_str()?.to_string();
        entry.ids.insert(id.clone());
        Some(id)
    }

    /// The keys without a definitive answer yet.
    pub fn unanswered(&self) -> Vec<Request> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .values()
            .filter(|e| e.status.is_none())
            .map(|e| e.request.clone())
            .collect()
    }

    /// The keys without a definitive answer of which at least one send came to nothing (a
    /// request still on its first send is not among them).
    pub fn lost(&self) -> Vec<Request> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .values()
            .filter(|e| e.status.is_none() && e.unanswered > 0)
            .map(|e| e.request.clone())
            .collect()
    }

    /// Every entry.
    pub fn snapshot(&self) -> Vec<Entry> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.values().cloned().collect()
    }
}
