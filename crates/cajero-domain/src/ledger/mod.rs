//! The double-entry ledger's rules, modelled on TigerBeetle's accounts and two-phase transfers.
//!
//! Every peso that moves is a [`Transfer`] from one account (debited) to another (credited) in
//! one currency and mode. A transfer is *single* (posted at once) or *pending* (a reservation
//! that is later *posted* or *voided* by a second transfer that names it). Transfers are
//! immutable: a correction is a new transfer. Each account keeps four running totals, and
//! [`apply`] is the one function that changes them, refusing with a named [`TransferError`]
//! whatever would break a limit. The store persists what this module decides.
//!
//! Sign conventions: merchant accounts, revenue and tax accounts are *credit-normal* (the
//! platform owes them; balance = credits − debits); network receivables and funding are
//! *debit-normal* (balance = debits − credits). A merchant's available balance may never go
//! below zero, counting pending debits: that is what makes a payout reservation safe.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::id::MerchantId;
use crate::merchant::Mode;
use crate::money::{Amount, Currency};

pub mod fees;
pub mod settlement;

/// What an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A merchant's money it may use now (payouts draw on it). Never below zero.
    MerchantAvailable,
    /// A merchant's collected money awaiting its settlement date. Never below zero.
    MerchantPending,
    /// What a cash network owes the platform for cash it collected (asset).
    NetworkReceivable,
    /// What the platform owes a network for cash it paid out (liability).
    NetworkPayable,
    /// Money that funded merchants' balances from outside (bank transfers in; asset).
    Funding,
    /// Fees earned.
    FeeRevenue,
    /// IVA (VAT) collected on fees, owed to DIAN.
    IvaPayable,
    /// GMF (4×1000) withheld, owed to DIAN.
    GmfPayable,
    /// The platform's position in one currency from conversions (either sign).
    Fx,
    /// Money whose owner is not known yet (e.g. a payment after expiry).
    Suspense,
}

impl AccountKind {
    /// Every kind.
    pub const ALL: [AccountKind; 10] = [
        AccountKind::MerchantAvailable,
        AccountKind::MerchantPending,
        AccountKind::NetworkReceivable,
        AccountKind::NetworkPayable,
        AccountKind::Funding,
        AccountKind::FeeRevenue,
        AccountKind::IvaPayable,
        AccountKind::GmfPayable,
        AccountKind::Fx,
        AccountKind::Suspense,
    ];

    /// The fixed code stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            AccountKind::MerchantAvailable => "merchant_available",
            AccountKind::MerchantPending => "merchant_pending",
            AccountKind::NetworkReceivable => "network_receivable",
            AccountKind::NetworkPayable => "network_payable",
            AccountKind::Funding => "funding",
            AccountKind::FeeRevenue => "fee_revenue",
            AccountKind::IvaPayable => "iva_payable",
            AccountKind::GmfPayable => "gmf_payable",
            AccountKind::Fx => "fx",
            AccountKind::Suspense => "suspense",
        }
    }

    /// The limit the ledger enforces on accounts of this kind.
    pub const fn limit(self) -> Limit {
        match self {
            AccountKind::MerchantAvailable | AccountKind::MerchantPending => {
                Limit::DebitsMustNotExceedCredits
            }
            _ => Limit::None,
        }
    }

    /// Whether a balance of this kind is credits − debits (else debits − credits).
    pub const fn is_credit_normal(self) -> bool {
        !matches!(self, AccountKind::NetworkReceivable | AccountKind::Funding)
    }
}

impl std::str::FromStr for AccountKind {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccountKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownCode(s.chars().take(32).collect()))
    }
}

/// A code read back from storage that this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ledger code {0:?}")]
pub struct UnknownCode(pub String);

/// A balance limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// No limit (platform accounts).
    None,
    /// debits (pending + posted) ≤ credits posted: the balance never goes below zero, even
    /// counting reservations.
    DebitsMustNotExceedCredits,
}

/// Who an account belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// A merchant.
    Merchant(MerchantId),
    /// A cash network, by its configured code (`efecty`).
    Network(String),
    /// The platform itself.
    Platform,
}

/// Identifies one account: kind, owner, mode and currency. Its text form is the stored id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    /// What it is for.
    pub kind: AccountKind,
    /// Whose it is.
    pub owner: Owner,
    /// Test or live money (never mixed).
    pub mode: Mode,
    /// Its one currency.
    pub currency: Currency,
}

impl AccountKey {
    /// A merchant's account.
    pub fn merchant(
        kind: AccountKind,
        merchant: MerchantId,
        mode: Mode,
        currency: Currency,
    ) -> Self {
        AccountKey {
            kind,
            owner: Owner::Merchant(merchant),
            mode,
            currency,
        }
    }

    /// A network's account.
    pub fn network(kind: AccountKind, network: &str, mode: Mode, currency: Currency) -> Self {
        AccountKey {
            kind,
            owner: Owner::Network(network.to_string()),
            mode,
            currency,
        }
    }

    /// A platform account.
    pub fn platform(kind: AccountKind, mode: Mode, currency: Currency) -> Self {
        AccountKey {
            kind,
            owner: Owner::Platform,
            mode,
            currency,
        }
    }

    /// The merchant owning it, if any.
    pub fn merchant_id(&self) -> Option<MerchantId> {
        match self.owner {
            Owner::Merchant(id) => Some(id),
            _ => None,
        }
    }
}

/// An account id that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed ledger account id {0:?}")]
pub struct ParseAccountKeyError(pub String);

impl std::str::FromStr for AccountKey {
    type Err = ParseAccountKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseAccountKeyError(s.chars().take(80).collect());
        let mut parts = s.split(':');
        let (Some(kind), Some(owner), Some(mode), Some(currency), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let owner = if owner == "platform" {
            Owner::Platform
        } else if let Some(code) = owner.strip_prefix("net.") {
            Owner::Network(code.to_string())
        } else {
            Owner::Merchant(owner.parse().map_err(|_| bad())?)
        };
        Ok(AccountKey {
            kind: kind.parse().map_err(|_| bad())?,
            owner,
            mode: mode.parse().map_err(|_| bad())?,
            currency: currency.parse().map_err(|_| bad())?,
        })
    }
}

impl fmt::Display for AccountKey {
    /// `kind:owner:mode:currency`, e.g. `merchant_available:mer_…:test:COP`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let owner = match &self.owner {
            Owner::Merchant(id) => id.to_string(),
            Owner::Network(code) => format!("net.{code}"),
            Owner::Platform => "platform".to_string(),
        };
        write!(
            f,
            "{}:{}:{}:{}",
            self.kind.as_str(),
            owner,
            self.mode,
            self.currency
        )
    }
}

/// An account's running totals, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Reserved debits not yet posted or voided.
    pub debits_pending: i64,
    /// Posted debits.
    pub debits_posted: i64,
    /// Reserved credits not yet posted or voided.
    pub credits_pending: i64,
    /// Posted credits.
    pub credits_posted: i64,
}

impl Totals {
    /// Posted balance on the account's normal side (may be negative for limitless accounts).
    pub fn posted_balance(&self, kind: AccountKind) -> i64 {
        if kind.is_credit_normal() {
            self.credits_posted - self.debits_posted
        } else {
            self.debits_posted - self.credits_posted
        }
    }

    /// What a credit-normal account can still be debited: credits posted − debits posted −
    /// debits pending.
    pub fn spendable(&self) -> i64 {
        self.credits_posted - self.debits_posted - self.debits_pending
    }

    /// Whether the totals respect `limit`.
    pub fn within(&self, limit: Limit) -> bool {
        match limit {
            Limit::None => true,
            Limit::DebitsMustNotExceedCredits => {
                i128::from(self.debits_pending) + i128::from(self.debits_posted)
                    <= i128::from(self.credits_posted)
            }
        }
    }
}

/// How a transfer moves money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferMode {
    /// Posted at once.
    Single,
    /// A reservation, to be posted or voided later.
    Pending,
    /// Posts the named pending transfer (its whole amount).
    PostPending(String),
    /// Voids the named pending transfer: the reservation is released.
    VoidPending(String),
}

/// Why money moved: the `type` of a balance transaction (API.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferCode {
    /// A customer paid a voucher.
    Payin,
    /// A beneficiary collected cash.
    Payout,
    /// A payout's reservation released (expired, canceled, failed).
    PayoutReversal,
    /// A refund paid out to a customer.
    Refund,
    /// A fee (or the tax on it) charged to the merchant.
    Fee,
    /// A merchant funded its balance.
    Topup,
    /// Collected money became available (settlement), possibly converted.
    Settlement,
    /// An operator's correction.
    Adjustment,
}

impl TransferCode {
    /// Every code.
    pub const ALL: [TransferCode; 8] = [
        TransferCode::Payin,
        TransferCode::Payout,
        TransferCode::PayoutReversal,
        TransferCode::Refund,
        TransferCode::Fee,
        TransferCode::Topup,
        TransferCode::Settlement,
        TransferCode::Adjustment,
    ];

    /// The fixed code stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransferCode::Payin => "payin",
            TransferCode::Payout => "payout",
            TransferCode::PayoutReversal => "payout_reversal",
            TransferCode::Refund => "refund",
            TransferCode::Fee => "fee",
            TransferCode::Topup => "topup",
            TransferCode::Settlement => "settlement",
            TransferCode::Adjustment => "adjustment",
        }
    }
}

impl std::str::FromStr for TransferCode {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TransferCode::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownCode(s.chars().take(32).collect()))
    }
}

/// A transfer as the ledger applies it. For post/void, `debit`, `credit` and `amount` must
/// repeat the pending transfer's (the store loads them and [`apply`] checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Chosen by the caller, so that a retry finds it ("already exists").
    pub id: String,
    /// The account debited.
    pub debit: AccountKey,
    /// The account credited.
    pub credit: AccountKey,
    /// How much.
    pub amount: Amount,
    /// Single, pending, post or void.
    pub mode: TransferMode,
    /// Why.
    pub code: TransferCode,
}

/// Every way the ledger refuses a transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// Debit and credit are the same account.
    #[error("transfer {id}: the debit and credit accounts are the same")]
    AccountsMustBeDifferent { id: String },
    /// Accounts in different currencies.
    #[error("transfer {id}: accounts in {debit} and {credit} cannot be linked by one transfer")]
    CurrencyMismatch {
        id: String,
        debit: Currency,
        credit: Currency,
    },
    /// Test and live money never mix.
    #[error("transfer {id}: test and live accounts cannot be linked")]
    ModeMismatch { id: String },
    /// A single or pending transfer of zero moves nothing.
    #[error("transfer {id}: the amount must not be zero")]
    AmountMustNotBeZero { id: String },
    /// The debit account's limit would be broken: not enough money.
    #[error("transfer {id}: {account} has {spendable} available, {requested} requested")]
    ExceedsCredits {
        id: String,
        account: String,
        spendable: i64,
        requested: i64,
    },
    /// Post/void of a transfer that does not exist.
    #[error("transfer {id}: pending transfer {pending_id} not found")]
    PendingTransferNotFound { id: String, pending_id: String },
    /// Post/void of a transfer that is not pending.
    #[error("transfer {id}: transfer {pending_id} is not a pending transfer")]
    PendingTransferNotPending { id: String, pending_id: String },
    /// The pending transfer was already posted.
    #[error("transfer {id}: pending transfer {pending_id} was already posted")]
    PendingTransferAlreadyPosted { id: String, pending_id: String },
    /// The pending transfer was already voided.
    #[error("transfer {id}: pending transfer {pending_id} was already voided")]
    PendingTransferAlreadyVoided { id: String, pending_id: String },
    /// Post/void whose accounts or amount differ from the pending transfer's.
    #[error("transfer {id}: does not match pending transfer {pending_id}")]
    PendingTransferMismatch { id: String, pending_id: String },
    /// The id exists with other fields: a retry must repeat the original exactly.
    #[error("transfer {id} already exists with different fields")]
    ExistsWithDifferentFields { id: String },
    /// A running total would overflow (a bug or absurd volume).
    #[error("transfer {id}: an account total would overflow")]
    Overflow { id: String },
}

/// What became of a pending transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    /// Still reserved.
    Pending,
    /// Posted by a later transfer.
    Posted,
    /// Voided by a later transfer.
    Voided,
}

/// Checks a transfer's shape (accounts, currency, mode, amount) before any balance is read.
pub fn validate(t: &Transfer) -> Result<(), TransferError> {
    let id = || t.id.clone();
    if t.debit == t.credit {
        return Err(TransferError::AccountsMustBeDifferent { id: id() });
    }
    if t.debit.currency != t.credit.currency {
        return Err(TransferError::CurrencyMismatch {
            id: id(),
            debit: t.debit.currency,
            credit: t.credit.currency,
        });
    }
    if t.debit.mode != t.credit.mode {
        return Err(TransferError::ModeMismatch { id: id() });
    }
    if matches!(t.mode, TransferMode::Single | TransferMode::Pending) && t.amount.is_zero() {
        return Err(TransferError::AmountMustNotBeZero { id: id() });
    }
    Ok(())
}

/// The pending transfer a post or void refers to, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRecord {
    /// Its accounts.
    pub debit: AccountKey,
    /// Its accounts.
    pub credit: AccountKey,
    /// Its amount.
    pub amount: Amount,
    /// Whether it was a pending transfer at all.
    pub is_pending: bool,
    /// What became of it.
    pub state: PendingState,
}

/// What one transfer does to its two accounts' totals: signed changes (a post or void lowers
/// the pending totals), before any limit is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effect {
    /// The change to the debit account's totals.
    pub debit: Totals,
    /// The change to the credit account's totals.
    pub credit: Totals,
}

/// Decides what `t` changes, or refuses it for its shape or its pending transfer (`pending`
/// must be the record named by a post/void, or `None` when it does not exist; it is ignored
/// for single and pending transfers). Balance limits are not checked here: [`apply`] checks
/// them on totals in memory, and the store checks them in the statement that writes an
/// account's totals, so that the account is locked for that one statement only.
pub fn effect(t: &Transfer, pending: Option<&PendingRecord>) -> Result<Effect, TransferError> {
    validate(t)?;
    let amount = t.amount.minor();
    let mut e = Effect::default();
    match &t.mode {
        TransferMode::Single => {
            e.debit.debits_posted = amount;
            e.credit.credits_posted = amount;
        }
        TransferMode::Pending => {
            e.debit.debits_pending = amount;
            e.credit.credits_pending = amount;
        }
        TransferMode::PostPending(pending_id) | TransferMode::VoidPending(pending_id) => {
            let amount = check_pending(t, pending_id, pending)?.amount.minor();
            e.debit.debits_pending = -amount;
            e.credit.credits_pending = -amount;
            if matches!(t.mode, TransferMode::PostPending(_)) {
                e.debit.debits_posted = amount;
                e.credit.credits_posted = amount;
            }
        }
    }
    Ok(e)
}

impl Totals {
    /// These totals changed by `delta` (signed), or `None` on overflow.
    pub fn checked_add(&self, delta: &Totals) -> Option<Totals> {
        Some(Totals {
            debits_pending: self.debits_pending.checked_add(delta.debits_pending)?,
            debits_posted: self.debits_posted.checked_add(delta.debits_posted)?,
            credits_pending: self.credits_pending.checked_add(delta.credits_pending)?,
            credits_posted: self.credits_posted.checked_add(delta.credits_posted)?,
        })
    }

    /// Whether adding this change (as a delta) to totals within `limit` could break it: only a
    /// change that raises debits by more than it raises posted credits can.
    pub fn could_break(&self, limit: Limit) -> bool {
        match limit {
            Limit::None => false,
            Limit::DebitsMustNotExceedCredits => {
                i128::from(self.debits_pending) + i128::from(self.debits_posted)
                    > i128::from(self.credits_posted)
            }
        }
    }

    /// This change (as a delta) split into what may be kept apart from an account's row (in
    /// its buckets) and what must change the row, where `limit` checks it. Without a limit,
    /// everything may be apart. With one, the row carries the debits (pending + posted), the
    /// terms that can break it; credits are always apart: posted credits only ever grow (a
    /// posted transfer is final), so the limit's check may read them from the buckets without
    /// a lock and never allows more than there is. A change that moves a pending debit to
    /// posted is apart too (the sum the limit reads stays the same).
    pub fn split_by_limit(&self, limit: Limit) -> (Totals, Totals) {
        match limit {
            Limit::None => (*self, Totals::default()),
            Limit::DebitsMustNotExceedCredits => {
                let moves_only =
                    i128::from(self.debits_pending) + i128::from(self.debits_posted) == 0;
                if moves_only {
                    return (*self, Totals::default());
                }
                let credits = Totals {
                    debits_pending: 0,
                    debits_posted: 0,
                    ..*self
                };
                let debits = Totals {
                    credits_pending: 0,
                    credits_posted: 0,
                    ..*self
                };
                (credits, debits)
            }
        }
    }
}

/// Applies `t` to the totals of its debit and credit accounts, or refuses it. On error the
/// totals are unchanged. `pending` must be the record named by a post/void (or `None` when it
/// does not exist); it is ignored for single and pending transfers.
pub fn apply(
    t: &Transfer,
    debit: &mut Totals,
    credit: &mut Totals,
    pending: Option<&PendingRecord>,
) -> Result<(), TransferError> {
    let e = effect(t, pending)?;
    let overflow = || TransferError::Overflow { id: t.id.clone() };
    let d = debit.checked_add(&e.debit).ok_or_else(overflow)?;
    let c = credit.checked_add(&e.credit).ok_or_else(overflow)?;
    // A reservation always fits the totals it was taken from.
    assert!(
        d.debits_pending >= 0 && c.credits_pending >= 0,
        "ledger bug: pending totals went negative applying {}",
        t.id
    );
    if !d.within(t.debit.kind.limit()) {
        return Err(TransferError::ExceedsCredits {
            id: t.id.clone(),
            account: t.debit.to_string(),
            spendable: debit.spendable(),
            requested: t.amount.minor(),
        });
    }
    // Credits never break a DebitsMustNotExceedCredits limit; voiding a pending credit could
    // only if the account spent money it had not received, which the limit forbids.
    debug_assert!(c.within(t.credit.kind.limit()));
    *debit = d;
    *credit = c;
    Ok(())
}

fn check_pending<'p>(
    t: &Transfer,
    pending_id: &str,
    pending: Option<&'p PendingRecord>,
) -> Result<&'p PendingRecord, TransferError> {
    let id = t.id.clone();
    let pending_id = pending_id.to_string();
    let Some(p) = pending else {
        return Err(TransferError::PendingTransferNotFound { id, pending_id });
    };
    if !p.is_pending {
        return Err(TransferError::PendingTransferNotPending { id, pending_id });
    }
    match p.state {
        PendingState::Posted => {
            return Err(TransferError::PendingTransferAlreadyPosted { id, pending_id });
        }
        PendingState::Voided => {
            return Err(TransferError::PendingTransferAlreadyVoided { id, pending_id });
        }
        PendingState::Pending => {}
    }
    if p.debit != t.debit || p.credit != t.credit || p.amount != t.amount {
        return Err(TransferError::PendingTransferMismatch { id, pending_id });
    }
    Ok(p)
}

#[cfg(test)]
mod tests;
