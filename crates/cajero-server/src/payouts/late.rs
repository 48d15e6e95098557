//! Cash that left a counter for a payout we had already closed.
//!
//! Expiry and cancelation void a payout's reservation, so the funds are back on the merchant's
//! balance. If the network then reports the code collected, the cash is gone all the same, and
//! the books must say where it came from:
//!
//! * **collected in time** (at or before `expires_at`, our expiry got there first): the payout
//!   ends `paid`, and the amount and fees are posted again from the merchant's available
//!   balance, as single transfers mirroring the voided reservation. If the merchant has spent
//!   the released funds meanwhile, the platform fronts them from suspense, and a
//!   `collected_after_expiry_unfunded` exception asks the operator to recover them.
//! * **collected after it closed** (after expiry, or after a cancelation): the payout stays as
//!   it is; the amount paid out is owed to the network and held in suspense under a
//!   `collected_after_close` exception for the operator.
//!
//! Every movement is a balanced transfer with an id derived from the payout, so a repeated
//! callback posts nothing twice.

use cajero_domain::id::TransferId;
use cajero_domain::ledger::TransferError;
use cajero_domain::ledger::{AccountKey, AccountKind, Transfer, TransferCode, TransferMode};
use cajero_domain::webhook::EventType;
use cajero_store::ledger::{self, LedgerError, NewBatch};
use cajero_store::payouts::PayoutRecord;
use cajero_store::{Conn, StoreError, network};
use jiff::Timestamp;

use crate::clock::{Clock, new_id};

/// Posts the money of a payout collected in time after its reservation was voided: from the
/// merchant's available balance, or from suspense (with an exception) when it no longer holds
/// enough.
pub(super) async fn post_collected_in_time(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    p: &PayoutRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    let reserve_id = TransferId::derived(p.id, "reserve").to_string();
    let reserved = ledger::batch_transfers(conn, &reserve_id).await?;
    if reserved.is_empty() {
        return Ok(()); // nothing was ever reserved, so nothing was released
    }
    let from_merchant = AccountKey::merchant(
        AccountKind::MerchantAvailable,
        p.merchant_id,
        p.mode,
        p.currency,
    );
    let batch = repost(p, &reserved, "collect_late", from_merchant);
    match ledger::post_batch(conn, &batch, now).await {
        Ok(_) => Ok(()),
        Err(LedgerError::Transfer(TransferError::ExceedsCredits { .. })) => {
            let suspense = AccountKey::platform(AccountKind::Suspense, p.mode, p.currency);
            let batch = repost(p, &reserved, "collect_late_fronted", suspense);
            ledger::post_batch(conn, &batch, now)
                .await
                .map_err(ledger_store_error)?;
            let total = reserved
                .iter()
                .try_fold(cajero_domain::money::Amount::ZERO, |sum, t| {
                    sum.checked_add(t.amount)
                })
                .unwrap_or(p.amount);
            raise(
                conn,
                clock,
                p,
                "collected_after_expiry_unfunded",
                total,
                now,
            )
            .await
        }
        Err(e) => Err(ledger_store_error(e)),
    }
}

/// Holds in suspense the cash paid out for a payout that was closed (expired late, or
/// canceled) and raises an exception; once per payout.
pub(super) async fn hold_collected_after_close(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    p: &PayoutRecord,
    now: Timestamp,
) -> Result<(), StoreError> {
    let batch_id = TransferId::derived(p.id, "collected_after_close");
    if !ledger::batch_transfers(conn, &batch_id.to_string())
        .await?
        .is_empty()
    {
        return Ok(()); // a repeated callback
    }
    let batch = NewBatch {
        id: batch_id.to_string(),
        merchant_id: None,
        mode: p.mode,
        currency: p.currency,
        code: TransferCode::Payout,
        source_id: Some(p.id.to_string()),
        available_on: None,
        transfers: vec![Transfer {
            id: format!("{batch_id}.0"),
            debit: AccountKey::platform(AccountKind::Suspense, p.mode, p.currency),
            credit: AccountKey::network(
                AccountKind::NetworkPayable,
                &p.network,
                p.mode,
                p.currency,
            ),
            amount: p.amount,
            mode: TransferMode::Single,
            code: TransferCode::Payout,
        }],
    };
    ledger::post_batch(conn, &batch, now)
        .await
        .map_err(ledger_store_error)?;
    raise(conn, clock, p, "collected_after_close", p.amount, now).await
}

/// The voided reservation's transfers again, as single transfers debiting `from`.
fn repost(p: &PayoutRecord, reserved: &[Transfer], purpose: &str, from: AccountKey) -> NewBatch {
    let batch_id = TransferId::derived(p.id, purpose);
    NewBatch {
        id: batch_id.to_string(),
        merchant_id: Some(p.merchant_id),
        mode: p.mode,
        currency: p.currency,
        code: TransferCode::Payout,
        source_id: Some(p.id.to_string()),
        available_on: None,
        transfers: reserved
            .iter()
            .enumerate()
            .map(|(n, t)| Transfer {
                id: format!("{batch_id}.{n}"),
                debit: from.clone(),
                mode: TransferMode::Single,
                ..t.clone()
            })
            .collect(),
    }
}

/// Records an exception about `p` (once) and tells the merchant.
pub(super) async fn raise(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    p: &PayoutRecord,
    kind: &'static str,
    amount: cajero_domain::money::Amount,
    now: Timestamp,
) -> Result<(), StoreError> {
    let exception_id = format!("exc_{kind}_{}", p.id);
    if network::record_exception(
        conn,
        &exception_id,
        p.merchant_id,
        p.mode,
        kind,
        &p.id.to_string(),
        amount,
        p.currency,
        now,
    )
    .await?
    {
        let object = crate::reconciliation::exception_object(conn, &exception_id).await?;
        cajero_store::events::emit(
            conn,
            p.merchant_id,
            p.mode.is_live(),
            EventType::ReconciliationExceptionCreated,
            &object,
            new_id(clock),
            now,
        )
        .await?;
        tracing::warn!(payout = %p.id, kind, "cash collected for a closed payout held in suspense");
    }
    Ok(())
}

fn ledger_store_error(e: LedgerError) -> StoreError {
    match e {
        LedgerError::Store(s) => s,
        other => StoreError::Corrupt {
            table: "ledger",
            detail: other.to_string(),
        },
    }
}
