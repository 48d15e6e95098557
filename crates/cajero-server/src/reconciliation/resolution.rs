//! Exceptions' lifecycle after they are recorded: the object their events carry, an
//! operator's resolution (with its ledger correction), and the alert for those left open.

use std::sync::Arc;

use cajero_domain::id::{MerchantId, TransferId};
use cajero_domain::ledger::{AccountKey, AccountKind, Transfer, TransferCode, TransferMode};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use cajero_domain::webhook::EventType;
use cajero_store::exceptions::{self, ExceptionRecord};
use cajero_store::{Conn, Micros, Store, StoreError, events};
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, new_id};

use super::view;

/// A recorded exception as its events carry it (every path that records one events this).
pub async fn exception_object(
    conn: &mut Conn<'_>,
    id: &str,
) -> Result<serde_json::Value, StoreError> {
    Ok(exceptions::get(conn, id)
        .await?
        .map_or(serde_json::Value::Null, |e| view::exception_json(&e)))
}

/// How an operator closes an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The difference is understood and accepted as it is.
    Accepted,
    /// The money goes back to whoever paid it (outside cajero, or by a refund).
    Refund,
    /// A balanced ledger correction was posted (`amount`).
    Adjusted,
    /// The difference is written off.
    WrittenOff,
}

impl Resolution {
    /// Every resolution.
    pub const ALL: [Resolution; 4] = [
        Resolution::Accepted,
        Resolution::Refund,
        Resolution::Adjusted,
        Resolution::WrittenOff,
    ];

    /// Its name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Resolution::Accepted => "accepted",
            Resolution::Refund => "refund",
            Resolution::Adjusted => "adjusted",
            Resolution::WrittenOff => "written_off",
        }
    }

    /// Reads a name.
    pub fn parse(name: &str) -> Option<Resolution> {
        Resolution::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Longest resolution note, in characters.
pub const NOTE_CHARS_MAX: usize = 1_000;

/// An operator's decision on an exception.
#[derive(Debug, Clone)]
pub struct Resolve {
    /// The exception.
    pub id: String,
    /// How.
    pub resolution: Resolution,
    /// Why (required).
    pub note: String,
    /// Who (required).
    pub by: String,
    /// `adjusted`: the correction in whole pesos, credited to the merchant's available balance
    /// from the network's account when positive, debited from it when negative.
    pub amount: Option<i64>,
    /// `adjusted`: the merchant, when the exception has none (money nobody's order explains).
    pub merchant: Option<MerchantId>,
}

/// Why a resolution was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No such exception.
    #[error("no exception {0}")]
    NotFound(String),
    /// Already resolved.
    #[error("exception {id} is {status}, not open")]
    NotOpen {
        /// The exception.
        id: String,
        /// Its status.
        status: String,
    },
    /// The request is incomplete or out of bounds.
    #[error("{0}")]
    Invalid(String),
    /// The ledger refused the correction (the merchant's available balance does not hold it).
    #[error("the ledger refused the correction: {0}")]
    Ledger(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves an open exception; an `adjusted` one posts its balanced correction in the same
/// unit of work. Evented `reconciliation.exception.resolved` to its merchant.
pub async fn resolve(
    store: &Store,
    clock: &Arc<dyn Clock>,
    r: Resolve,
) -> Result<ExceptionRecord, ResolveError> {
    let note = r.note.trim().to_owned();
    if note.is_empty() || note.chars().count() > NOTE_CHARS_MAX {
        return Err(ResolveError::Invalid(format!(
            "a note of 1 to {NOTE_CHARS_MAX} characters is required"
        )));
    }
    if r.by.trim().is_empty() {
        return Err(ResolveError::Invalid("who resolves it is required".into()));
    }
    match (r.resolution, r.amount) {
        (Resolution::Adjusted, None | Some(0)) => {
            return Err(ResolveError::Invalid(
                "an adjusted resolution needs a non-zero amount (whole pesos, + credits the merchant)".into(),
            ));
        }
        (Resolution::Adjusted, _) | (_, None) => {}
        (_, Some(_)) => {
            return Err(ResolveError::Invalid(
                "an amount is only for an adjusted resolution".into(),
            ));
        }
    }
    let clock = clock.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                let now = clock.now();
                let Some(e) = exceptions::get(&mut c, &r.id).await? else {
                    return Err(ResolveError::NotFound(r.id.clone()));
                };
                if e.status != "open" {
                    return Err(ResolveError::NotOpen {
                        id: e.id,
                        status: e.status,
                    });
                }
                let merchant: Option<MerchantId> = match (&e.merchant_id, r.merchant) {
                    (Some(m), _) => m.parse().ok(),
                    (None, m) => m,
                };
                let adjustment_id = match r.amount {
                    Some(amount) => {
                        let batch_id: TransferId = new_id(&*clock);
                        post_correction(&mut c, &e, merchant, amount, batch_id, now).await?;
                        Some(batch_id.to_string())
                    }
                    None => None,
                };
                let done = exceptions::resolve_with(
                    &mut c,
                    &e.id,
                    &exceptions::Resolution {
                        resolution: r.resolution.as_str(),
                        note: &note,
                        by: r.by.trim(),
                        adjustment_id: adjustment_id.as_deref(),
                    },
                    now,
                )
                .await?;
                if !done {
                    return Err(ResolveError::NotOpen {
                        id: e.id,
                        status: "resolved".into(),
                    });
                }
                let Some(resolved) = exceptions::get(&mut c, &e.id).await? else {
                    return Err(ResolveError::NotFound(e.id));
                };
                if let Some(merchant) = resolved.merchant_id.as_deref().and_then(|m| m.parse().ok()) {
                    events::emit(
                        &mut c,
                        merchant,
                        resolved.livemode,
                        EventType::ReconciliationExceptionResolved,
                        &view::exception_json(&resolved),
                        new_id(&*clock),
                        now,
                    )
                    .await?;
                }
                resolve_overdue_alert(
                    &mut c,
                    now,
                    &resolved,
                    &format!("the exception was resolved ({})", r.resolution.as_str()),
                )
                .await?;
                if e.kind == exceptions::TIE_OUT_DIFFERENCE {
                    crate::alerts::resolve(
                        &mut c,
                        now,
                        Mode::from_livemode(e.livemode),
                        crate::alerts::codes::RECONCILIATION_DIFFERENCE,
                        &super::import::tie_out_subject(&e.object_id),
                        None,
                        &format!("the difference was resolved ({})", r.resolution.as_str()),
                    )
                    .await?;
                }
                tracing::info!(exception = %resolved.id, resolution = r.resolution.as_str(), by = %r.by, "exception resolved");
                Ok(resolved)
            })
        })
        .await
}

/// Posts an `adjusted` resolution's correction: `amount` pesos between the network's
/// receivable and the merchant's available balance (positive credits the merchant).
async fn post_correction(
    c: &mut Conn<'_>,
    e: &ExceptionRecord,
    merchant: Option<MerchantId>,
    amount: i64,
    batch_id: TransferId,
    now: jiff::Timestamp,
) -> Result<(), ResolveError> {
    let Some(merchant) = merchant else {
        return Err(ResolveError::Invalid(
            "this exception has no merchant: name the merchant the correction credits or debits"
                .into(),
        ));
    };
    let Some(network) = e.network.as_deref().filter(|n| !n.is_empty()) else {
        return Err(ResolveError::Invalid(
            "this exception names no network".into(),
        ));
    };
    let mode = if e.livemode { Mode::Live } else { Mode::Test };
    let magnitude = Amount::new(amount.saturating_abs())
        .map_err(|err| ResolveError::Invalid(err.to_string()))?;
    let network_account =
        AccountKey::network(AccountKind::NetworkReceivable, network, mode, Currency::Cop);
    let available = AccountKey::merchant(
        AccountKind::MerchantAvailable,
        merchant,
        mode,
        Currency::Cop,
    );
    let (debit, credit) = if amount > 0 {
        (network_account, available)
    } else {
        (available, network_account)
    };
    let batch = cajero_store::ledger::NewBatch {
        id: batch_id.to_string(),
        merchant_id: Some(merchant),
        mode,
        currency: Currency::Cop,
        code: TransferCode::Adjustment,
        source_id: Some(e.id.clone()),
        available_on: None,
        transfers: vec![Transfer {
            id: format!("{batch_id}.0"),
            debit,
            credit,
            amount: magnitude,
            mode: TransferMode::Single,
            code: TransferCode::Adjustment,
        }],
    };
    cajero_store::ledger::post_batch(c, &batch, now)
        .await
        .map(|_| ())
        .map_err(|err| match err {
            cajero_store::ledger::LedgerError::Store(s) => ResolveError::Store(s),
            other => ResolveError::Ledger(other.to_string()),
        })
}

/// Resolves the `exception_overdue` alert [`alert_overdue`] raised for `exception`, if any:
/// however an exception is resolved (by an operator, or by the network confirming an orphan
/// order's cancelation), its overdue alert goes with it.
pub(crate) async fn resolve_overdue_alert(
    c: &mut Conn<'_>,
    now: jiff::Timestamp,
    exception: &ExceptionRecord,
    why: &str,
) -> Result<(), StoreError> {
    crate::alerts::resolve(
        c,
        now,
        Mode::from_livemode(exception.livemode),
        crate::alerts::codes::RECONCILIATION_EXCEPTION_OVERDUE,
        &exception.id,
        exception
            .merchant_id
            .as_deref()
            .and_then(|m| m.parse().ok()),
        why,
    )
    .await?;
    Ok(())
}

/// Raises `exception_overdue` for every exception open longer than `after` (once per
/// exception): to its merchant, or to the operator alone when it has none. Resolving the
/// exception resolves the alert.
pub async fn alert_overdue(
    store: &Store,
    clock: &Arc<dyn Clock>,
    after: jiff::SignedDuration,
) -> Result<usize, StoreError> {
    let clock = clock.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                let now = clock.now();
                let before = now.checked_sub(after).unwrap_or(now);
                let overdue = exceptions::take_overdue(&mut c, before, now, 500).await?;
                for e in &overdue {
                    tracing::error!(exception = %e.id, kind = %e.kind, merchant = ?e.merchant_id,
                                    "ALERT exception_overdue: a reconciliation exception is still open");
                    let since = crate::time::rfc3339(Micros(e.created_at).to_timestamp());
                    let spec = crate::alerts::AlertSpec {
                        mode: Mode::from_livemode(e.livemode),
                        code: crate::alerts::codes::RECONCILIATION_EXCEPTION_OVERDUE,
                        subject: e.id.clone(),
                        merchant: e.merchant_id.as_deref().and_then(|m| m.parse().ok()),
                        severity: crate::alerts::Severity::Warning,
                        message: format!(
                            "Reconciliation exception {} ({}) has been open since {since}.",
                            e.id, e.kind
                        ),
                        details: serde_json::json!({
                            "exception": e.id, "kind": e.kind, "open_since": since,
                        }),
                    };
                    crate::alerts::raise(&mut c, now, spec).await?;
                }
                Ok(overdue.len())
            })
        })
        .await
}
