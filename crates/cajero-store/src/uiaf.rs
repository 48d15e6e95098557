//! The month's completed live cash operations for the UIAF report: paid pay-ins and collected
//! payouts, read per network by their `(network, paid_at)` indexes.

use jiff::Timestamp;

use crate::{Conn, Micros, StoreError, fetch};

/// A completed live operation as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct CashOperation {
    /// `pi_…` or `po_…`.
    pub id: String,
    /// Whose.
    pub merchant_id: String,
    /// Pesos.
    pub amount: i64,
    /// The cash network.
    pub network: String,
    /// When the cash changed hands (µs).
    pub paid_at: i64,
    /// The pay-in's customer or the payout's beneficiary (JSON), when given.
    pub person: Option<String>,
    /// The counter, when the network said.
    pub paid_counter_id: Option<String>,
}

/// Paid live pay-ins (`payouts = false`) or collected live payouts (`true`) of `network` with
/// `from <= paid_at < to`, in time order.
pub async fn completed(
    conn: &mut Conn<'_>,
    network: &str,
    payouts: bool,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<CashOperation>, StoreError> {
    let (from, to) = (Micros::from(from).0, Micros::from(to).0);
    Ok(if payouts {
        fetch!(
            all,
            conn,
            CashOperation,
            "SELECT id, merchant_id, amount, network, paid_at, beneficiary AS person, \
             paid_counter_id FROM payouts WHERE network = $1 AND paid_at >= $2 AND paid_at < $3 \
             AND livemode = TRUE AND status = 'paid' ORDER BY paid_at, id",
            network,
            from,
            to,
        )?
    } else {
        fetch!(
            all,
            conn,
            CashOperation,
            "SELECT id, merchant_id, amount, network, paid_at, customer AS person, \
             paid_counter_id FROM payins WHERE network = $1 AND paid_at >= $2 AND paid_at < $3 \
             AND livemode = TRUE AND status = 'paid' ORDER BY paid_at, id",
            network,
            from,
            to,
        )?
    })
}
