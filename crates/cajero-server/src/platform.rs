//! The operators' actions on the platform, shared by the console and the CLI: a merchant's
//! status (the KYC gate on `active`), its fee plan and settlement terms, the day's FX rate,
//! live top-ups, alerts and reconciliation exceptions, KYC decisions and held payouts. Every
//! action takes an [`Acting`] — who, from where, and the [`crate::operators::Reason`] — and
//! writes it to the audit log, in the action's own unit of work where the action is one.

use std::sync::Arc;

use cajero_domain::id::{AlertId, MerchantId, PayoutId, TopupId};
use cajero_domain::kyc::{KycAction, KycStatus};
use cajero_domain::ledger::fees::FeePlan;
use cajero_domain::ledger::settlement::{CopPerUsd, SettlementTerms};
use cajero_domain::merchant::{MerchantStatus, Mode};
use cajero_store::exceptions::ExceptionRecord;
use cajero_store::merchant_settings::{self, SettingsError};
use cajero_store::merchants::{self, MerchantRecord};
use cajero_store::operators::insert_audit;
use cajero_store::topups::TopupRecord;
use cajero_store::{Store, StoreError, fx};
use jiff::civil::Date;

use crate::clock::Clock;
use crate::kyc::{KycError, KycView};
use crate::operators::{Acting, audit_row};
use crate::reconciliation::{Resolution, Resolve, ResolveError};

/// Why an operator's action was refused.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// No such merchant.
    #[error("no merchant {0}")]
    UnknownMerchant(MerchantId),
    /// `active` is the KYC gate: only an approved application opens it.
    #[error(
        "merchant {merchant}'s KYC application is {kyc}: a merchant becomes active only once its application is approved (cajero merchant kyc approve, or the console)"
    )]
    KycNotApproved {
        /// The merchant.
        merchant: MerchantId,
        /// Where its application stands.
        kyc: KycStatus,
    },
    /// The fee plan or settlement terms break a rule.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The KYC step was refused.
    #[error(transparent)]
    Kyc(#[from] KycError),
    /// The top-up cannot be confirmed.
    #[error(transparent)]
    Topup(#[from] crate::funds::ConfirmError),
    /// The exception cannot be resolved so.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// No open alert with that id.
    #[error("no open alert {0}")]
    AlertNotOpen(AlertId),
    /// No payout on hold with that id.
    #[error("no payout on hold {0}")]
    NotHeld(PayoutId),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Moves a merchant to `status`, audited with the reason. `active` needs an approved KYC
/// application: this is how a suspended merchant comes back, never how one skips its review.
/// Suspension applies to the very next request on every instance (the merchant cache's version
/// moves in the same unit): its keys answer 403 and its users' sessions end, while its open
/// orders stay serviceable (callbacks, expiries, and the operator's cancelations).
pub async fn set_merchant_status(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    status: MerchantStatus,
    acting: &Acting,
) -> Result<MerchantRecord, PlatformError> {
    let now = clock.now();
    let audit = audit_row(
        clock,
        acting,
        &format!("merchant.status.{}", status.as_str()),
        Some(merchant.to_string()),
        Some(merchant.to_string()),
    );
    let reason = acting.reason.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                if status == MerchantStatus::Active {
                    let kyc = cajero_store::kyc::get(&mut c, &merchant.to_string())
                        .await?
                        .map_or(Ok(KycStatus::Draft), |row| row.status.parse())
                        .map_err(|e| StoreError::Corrupt {
                            table: "merchant_kyc",
                            detail: format!("status: {e:?}"),
                        })?;
                    if kyc != KycStatus::Approved {
                        return Err(PlatformError::KycNotApproved { merchant, kyc });
                    }
                }
                let updated = merchants::set_merchant_status(&mut c, merchant, status, now)
                    .await?
                    .ok_or(PlatformError::UnknownMerchant(merchant))?;
                insert_audit(&mut c, &audit, Some(reason.as_str())).await?;
                Ok(updated)
            })
        })
        .await
}

/// An operator's KYC step (start the review, ask for information, approve, reject); the
/// reason is the step's note (the questions, or why approved or rejected), and the merchant's
/// owners are e-mailed after it commits.
pub async fn decide_kyc(
    state: &crate::AppState,
    merchant: MerchantId,
    action: KycAction,
    acting: &Acting,
) -> Result<KycView, PlatformError> {
    Ok(crate::kyc::decide_and_notify(
        state,
        merchant,
        action,
        Some(acting.reason.as_str()),
        acting.kyc_actor(),
    )
    .await?)
}

/// Sets a merchant's fee plan in one mode.
pub async fn set_fee_plan(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    mode: Mode,
    plan: FeePlan,
    acting: &Acting,
) -> Result<(), PlatformError> {
    let now = clock.now();
    let audit = audit_row(
        clock,
        acting,
        &format!("merchant.fee_plan.set.{mode}"),
        Some(merchant.to_string()),
        Some(serde_json::to_string(&plan).unwrap_or_default()),
    );
    let reason = acting.reason.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                merchant_settings::set_fee_plan(&mut c, merchant, mode, &plan, now).await?;
                insert_audit(&mut c, &audit, Some(reason.as_str())).await?;
                Ok(())
            })
        })
        .await
}

/// Sets how a merchant is settled in one mode.
pub async fn set_settlement_terms(
    store: &Store,
    clock: &dyn Clock,
    merchant: MerchantId,
    mode: Mode,
    terms: SettlementTerms,
    acting: &Acting,
) -> Result<SettlementTerms, PlatformError> {
    let now = clock.now();
    let audit = audit_row(
        clock,
        acting,
        &format!("merchant.settlement_terms.set.{mode}"),
        Some(merchant.to_string()),
        Some(format!(
            "T+{} {} markup {} bps",
            terms.delay_business_days,
            terms.currency,
            terms.fx_markup.get()
        )),
    );
    let reason = acting.reason.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                merchant_settings::set_settlement_terms(&mut c, merchant, mode, &terms, now)
                    .await?;
                insert_audit(&mut c, &audit, Some(reason.as_str())).await?;
                Ok(terms)
            })
        })
        .await
}

/// Sets (or corrects) the COP per USD rate of a Bogotá day.
pub async fn set_fx_rate(
    store: &Store,
    clock: &dyn Clock,
    date: Date,
    rate: CopPerUsd,
    acting: &Acting,
) -> Result<(), PlatformError> {
    let now = clock.now();
    let audit = audit_row(
        clock,
        acting,
        "fx.rate_set",
        None,
        Some(format!("{date} {rate}")),
    );
    let reason = acting.reason.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                fx::set_rate(&mut c, date, rate, now).await?;
                insert_audit(&mut c, &audit, Some(reason.as_str())).await?;
                Ok(())
            })
        })
        .await
}

/// Confirms that a live top-up's bank transfer arrived: the money goes on the balance.
pub async fn confirm_topup(
    store: &Store,
    clock: &dyn Clock,
    topup: TopupId,
    acting: &Acting,
) -> Result<TopupRecord, PlatformError> {
    let now = clock.now();
    let audit = audit_row(
        clock,
        acting,
        "topup.confirmed",
        None,
        Some(topup.to_string()),
    );
    let reason = acting.reason.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                let record = crate::funds::confirm_topup(&mut c, topup, now).await?;
                let audit = cajero_store::dashboard::AuditRow {
                    merchant_id: Some(record.merchant_id.to_string()),
                    ..audit
                };
                insert_audit(&mut c, &audit, Some(reason.as_str())).await?;
                Ok(record)
            })
        })
        .await
}

/// Resolves an open alert by hand.
pub async fn resolve_alert(
    store: &Store,
    clock: &dyn Clock,
    alert: AlertId,
    acting: &Acting,
) -> Result<(), PlatformError> {
    let now = clock.now();
    let audit = audit_row(
        clock,
        acting,
        "alert.resolved",
        None,
        Some(alert.to_string()),
    );
    let reason = acting.reason.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                crate::alerts::resolve_by_id(&mut c, now, alert, reason.as_str())
                    .await?
                    .ok_or(PlatformError::AlertNotOpen(alert))?;
                insert_audit(&mut c, &audit, Some(reason.as_str())).await?;
                Ok(())
            })
        })
        .await
}

/// Resolves a reconciliation exception (the reason is its note); audited after the
/// resolution's own unit of work.
pub async fn resolve_exception(
    store: &Store,
    clock: &Arc<dyn Clock>,
    id: &str,
    resolution: Resolution,
    amount: Option<i64>,
    merchant: Option<MerchantId>,
    acting: &Acting,
) -> Result<ExceptionRecord, PlatformError> {
    let resolved = crate::reconciliation::resolve(
        store,
        clock,
        Resolve {
            id: id.to_owned(),
            resolution,
            note: acting.reason.as_str().to_owned(),
            by: acting.name.clone(),
            amount,
            merchant,
        },
    )
    .await?;
    let audit = audit_row(
        clock.as_ref(),
        acting,
        &format!("reconciliation.exception.{}", resolution.as_str()),
        resolved.merchant_id.clone(),
        Some(id.to_owned()),
    );
    let reason = acting.reason.clone();
    store
        .write(move |mut c| {
            Box::pin(async move { insert_audit(&mut c, &audit, Some(reason.as_str())).await })
        })
        .await?;
    Ok(resolved)
}
