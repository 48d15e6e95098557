//! Per-merchant fee plans and settlement terms, and the monthly volume that fee tiers read.
//!
//! Everything here runs inside the caller's unit of work, so the pay-in and payout code can
//! read a merchant's plan, terms and volume in the same transaction that posts the money.
//! Nothing configured means the defaults: test mode is free; live mode uses the operator's
//! default plan, else free; settlement is T+1 business day in COP. Every change bumps the
//! [`crate::cache_version`] in the same unit of work, so servers' cached copies are read again.

use cajero_domain::calendar;
use cajero_domain::id::MerchantId;
use cajero_domain::ledger::TransferCode;
use cajero_domain::ledger::fees::{FeePlan, FeePlanError};
use cajero_domain::ledger::settlement::SettlementTermsError;
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, BasisPoints, Currency};
use jiff::Timestamp;

pub use cajero_domain::ledger::settlement::SettlementTerms;

use crate::{Conn, Micros, StoreError, execute, fetch};

/// Where a merchant's effective fee plan comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanSource {
    /// Set for this merchant and mode.
    Merchant,
    /// The operator's default for live merchants.
    Default,
    /// Nothing configured: no fees.
    Free,
}

impl From<sqlx::Error> for SettingsError {
    fn from(value: sqlx::Error) -> Self {
        SettingsError::Store(StoreError::Database(value))
    }
}

impl PlanSource {
    /// `merchant`, `default` or `free`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PlanSource::Merchant => "merchant",
            PlanSource::Default => "default",
            PlanSource::Free => "free",
        }
    }
}

/// Why settings could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// No such merchant.
    #[error("no merchant {0}")]
    UnknownMerchant(MerchantId),
    /// The plan breaks a rule.
    #[error("invalid fee plan: {0}")]
    InvalidPlan(#[from] FeePlanError),
    /// The terms break a bound.
    #[error("invalid settlement terms: {0}")]
    InvalidTerms(#[from] SettlementTermsError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn corrupt(table: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: detail.to_string(),
    }
}

fn parse_plan(table: &'static str, json: &str) -> Result<FeePlan, StoreError> {
    let plan: FeePlan = serde_json::from_str(json).map_err(|e| corrupt(table, e))?;
    plan.validate().map_err(|e| corrupt(table, e))?;
    Ok(plan)
}

/// The fee plan that applies to `merchant` in `mode` (see the module docs for the defaults).
pub async fn fee_plan(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
) -> Result<FeePlan, StoreError> {
    Ok(fee_plan_with_source(conn, merchant, mode).await?.0)
}

/// The fee plan that applies, and where it comes from.
pub async fn fee_plan_with_source(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
) -> Result<(FeePlan, PlanSource), StoreError> {
    let own = fetch!(
        optional,
        conn,
        (String,),
        "SELECT plan FROM fee_plans WHERE merchant_id = $1 AND livemode = $2",
        merchant.to_string(),
        mode.is_live(),
    )?;
    if let Some((json,)) = own {
        return Ok((parse_plan("fee_plans", &json)?, PlanSource::Merchant));
    }
    if mode.is_live()
        && let Some(plan) = default_fee_plan(conn).await?
    {
        return Ok((plan, PlanSource::Default));
    }
    Ok((FeePlan::free(), PlanSource::Free))
}

/// The operator's default plan for live merchants, if set.
pub async fn default_fee_plan(conn: &mut Conn<'_>) -> Result<Option<FeePlan>, StoreError> {
    let row = fetch!(
        optional,
        conn,
        (String,),
        "SELECT plan FROM default_fee_plans WHERE livemode = $1",
        true
    )?;
    row.map(|(json,)| parse_plan("default_fee_plans", &json))
        .transpose()
}

async fn require_merchant(conn: &mut Conn<'_>, merchant: MerchantId) -> Result<(), SettingsError> {
    let found = fetch!(
        optional,
        conn,
        (String,),
        "SELECT id FROM merchants WHERE id = $1",
        merchant.to_string()
    )?;
    match found {
        Some(_) => Ok(()),
        None => Err(SettingsError::UnknownMerchant(merchant)),
    }
}

fn plan_json(plan: &FeePlan) -> Result<String, SettingsError> {
    plan.validate()?;
    serde_json::to_string(plan).map_err(|e| SettingsError::Store(corrupt("fee_plans", e)))
}

/// Sets `merchant`'s plan in `mode` (validated), replacing any previous one.
pub async fn set_fee_plan(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    plan: &FeePlan,
    now: Timestamp,
) -> Result<(), SettingsError> {
    let json = plan_json(plan)?;
    require_merchant(conn, merchant).await?;
    execute!(
        conn,
        "INSERT INTO fee_plans (merchant_id, livemode, plan, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (merchant_id, livemode) \
         DO UPDATE SET plan = excluded.plan, updated_at = excluded.updated_at",
        merchant.to_string(),
        mode.is_live(),
        json,
        Micros::from(now).0,
    )?;
    crate::cache_version::bump(conn).await?;
    Ok(())
}

/// Sets the default plan of live merchants that have none of their own.
pub async fn set_default_fee_plan(
    conn: &mut Conn<'_>,
    plan: &FeePlan,
    now: Timestamp,
) -> Result<(), SettingsError> {
    let json = plan_json(plan)?;
    execute!(
        conn,
        "INSERT INTO default_fee_plans (livemode, plan, created_at, updated_at) \
         VALUES ($1, $2, $3, $3) ON CONFLICT (livemode) \
         DO UPDATE SET plan = excluded.plan, updated_at = excluded.updated_at",
        true,
        json,
        Micros::from(now).0,
    )?;
    crate::cache_version::bump(conn).await?;
    Ok(())
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct TermsRow {
    delay_business_days: i64,
    currency: String,
    fx_markup_bps: i64,
}

/// How `merchant` is settled in `mode`: T+1 in COP unless configured.
pub async fn settlement_terms(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
) -> Result<SettlementTerms, StoreError> {
    let row = fetch!(
        optional,
        conn,
        TermsRow,
        "SELECT delay_business_days, currency, fx_markup_bps FROM settlement_terms \
         WHERE merchant_id = $1 AND livemode = $2",
        merchant.to_string(),
        mode.is_live(),
    )?;
    let Some(row) = row else {
        return Ok(SettlementTerms::default());
    };
    let bad = |e: &dyn std::fmt::Display| corrupt("settlement_terms", e);
    let terms = SettlementTerms {
        delay_business_days: u32::try_from(row.delay_business_days).map_err(|e| bad(&e))?,
        currency: row.currency.parse().map_err(|e| bad(&e))?,
        fx_markup: u32::try_from(row.fx_markup_bps)
            .map_err(|e| bad(&e))
            .and_then(|bps| BasisPoints::new(bps).map_err(|e| bad(&e)))?,
    };
    terms.validate().map_err(|e| bad(&e))?;
    Ok(terms)
}

/// Sets how `merchant` is settled in `mode` (validated).
pub async fn set_settlement_terms(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    terms: &SettlementTerms,
    now: Timestamp,
) -> Result<(), SettingsError> {
    terms.validate()?;
    require_merchant(conn, merchant).await?;
    execute!(
        conn,
        "INSERT INTO settlement_terms (merchant_id, livemode, delay_business_days, currency, \
         fx_markup_bps, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (merchant_id, livemode) DO UPDATE SET \
         delay_business_days = excluded.delay_business_days, currency = excluded.currency, \
         fx_markup_bps = excluded.fx_markup_bps, updated_at = excluded.updated_at",
        merchant.to_string(),
        mode.is_live(),
        i64::from(terms.delay_business_days),
        terms.currency.code(),
        i64::from(terms.fx_markup.get()),
        Micros::from(now).0,
    )?;
    crate::cache_version::bump(conn).await?;
    Ok(())
}

/// What `merchant` moved in `mode` this Bogotá calendar month (the month containing `now`), in
/// COP, for fee tiers: the transfers of `code` (`Payin`: paid pay-ins; `Payout`: collected
/// payouts) posted this month, fees excluded. Reservations count once posted; voided ones never.
///
/// Read from the month's running count (`ledger_monthly_volume`, kept by the database as each
/// transfer is written; migration 0035): one merchant's month is one row on SQLite and at most
/// sixteen on PostgreSQL (buckets, so that its collections do not queue on one row), however
/// many orders it had. `cajero ledger verify` checks the count against the transfers.
pub async fn monthly_volume(
    conn: &mut Conn<'_>,
    merchant: MerchantId,
    mode: Mode,
    code: TransferCode,
    now: Timestamp,
) -> Result<Amount, StoreError> {
    let (total,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_monthly_volume \
         WHERE merchant_id = $1 AND livemode = $2 AND currency = $3 AND code = $4 \
         AND month = $5",
        merchant.to_string(),
        mode.is_live(),
        Currency::Cop.code(),
        code.as_str(),
        volume_month(now),
    )?;
    Amount::new(total.min(Amount::MAX.minor())).map_err(|e| corrupt("ledger_monthly_volume", e))
}

/// The key of `now`'s month in `ledger_monthly_volume`: its Bogotá `YYYY-MM`.
pub fn volume_month(now: Timestamp) -> String {
    let date = calendar::bogota_date(now);
    format!("{:04}-{:02}", date.year(), date.month())
}
