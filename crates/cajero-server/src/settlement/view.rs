//! How the API shows a settlement: the `settlement` object (JSON) and its CSV statement.

use cajero_domain::id::SettlementId;
use cajero_domain::money::Amount;
use cajero_domain::money::Currency;
use cajero_store::settlements::{SettlementLine, SettlementRecord};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::time::rfc3339;

/// The `settlement` object.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Settlement)]
pub struct SettlementView {
    /// `set_…`.
    #[schema(value_type = String)]
    id: SettlementId,
    /// `settlement`.
    object: &'static str,
    /// False in test mode.
    livemode: bool,
    #[schema(schema_with = crate::openapi::settlement_status)]
    status: &'static str,
    #[schema(schema_with = crate::openapi::date)]
    settlement_date: String,
    /// What became available, in `currency`.
    #[schema(value_type = i64)]
    amount: Amount,
    #[schema(schema_with = crate::openapi::currency)]
    currency: Currency,
    /// Collected, in COP.
    #[schema(value_type = i64)]
    gross: Amount,
    /// Fees and their taxes, in COP.
    #[schema(value_type = i64)]
    fees: Amount,
    /// `gross - fees`, in COP.
    #[schema(value_type = i64)]
    net: Amount,
    /// Always `COP`.
    #[schema(schema_with = crate::openapi::currency)]
    collected_currency: Currency,
    /// The conversion, when settled in USD.
    fx: Option<FxView>,
    /// How many balance transactions it settles.
    line_count: i64,
    /// The balance transaction that made the money available.
    balance_transaction: Option<String>,
    /// The settled balance transactions: on retrieval only.
    #[serde(skip_serializing_if = "Option::is_none")]
    lines: Option<Vec<SettlementLineView>>,
    #[schema(schema_with = crate::openapi::timestamp)]
    created: String,
    #[schema(schema_with = crate::openapi::timestamp)]
    updated: String,
}

/// A USD settlement's conversion.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SettlementFx)]
pub struct FxView {
    #[schema(schema_with = crate::openapi::currency)]
    source_currency: Currency,
    #[schema(schema_with = crate::openapi::currency)]
    target_currency: Currency,
    /// COP per USD, as a decimal string.
    rate: String,
    /// Taken off the rate, in basis points.
    markup_bps: u32,
    #[schema(schema_with = crate::openapi::date)]
    rate_date: String,
}

/// One settled balance transaction.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SettlementLine)]
pub struct SettlementLineView {
    balance_transaction: String,
    /// The pay-in (`pi_…`).
    source: Option<String>,
    #[schema(schema_with = crate::openapi::date)]
    available_on: String,
    /// Collected, in COP.
    gross: i64,
    /// Fees and their taxes, in COP.
    fees: i64,
    /// `gross - fees`, in COP.
    net: i64,
}

/// The `settlement` object; `lines` only when retrieved one by one (lists and webhooks carry
/// `line_count` instead, so their size stays bounded).
pub fn settlement_view(s: &SettlementRecord, lines: Option<&[SettlementLine]>) -> SettlementView {
    SettlementView {
        id: s.id,
        object: "settlement",
        livemode: s.mode.is_live(),
        status: s.status.as_str(),
        settlement_date: s.settlement_date.to_string(),
        amount: s.amount,
        currency: s.currency,
        gross: s.gross,
        fees: s.fees,
        net: s.net,
        collected_currency: Currency::Cop,
        fx: s.fx.map(|fx| FxView {
            source_currency: Currency::Cop,
            target_currency: Currency::Usd,
            rate: fx.rate.to_string(),
            markup_bps: fx.markup.get(),
            rate_date: s.settlement_date.to_string(),
        }),
        line_count: s.line_count,
        balance_transaction: s.ledger_batch_id.clone(),
        lines: lines.map(|lines| lines.iter().map(line_view).collect()),
        created: rfc3339(s.created_at),
        updated: rfc3339(s.updated_at),
    }
}

/// The `settlement` object as JSON.
pub fn settlement_json(s: &SettlementRecord, lines: Option<&[SettlementLine]>) -> Value {
    crate::openapi::to_json(&settlement_view(s, lines))
}

fn line_view(l: &SettlementLine) -> SettlementLineView {
    SettlementLineView {
        balance_transaction: l.batch_id.clone(),
        source: l.source_id.clone(),
        available_on: l.available_on.clone(),
        gross: l.gross,
        fees: l.fees,
        net: l.net,
    }
}

/// The CSV header of a statement.
pub const CSV_HEADER: &str = "row_type,settlement,balance_transaction,source,available_on,\
                              gross_cop,fees_cop,net_cop,amount,currency,fx_rate_cop_per_usd,\
                              fx_markup_bps";

/// The settlement's statement as CSV (RFC 4180, `\r\n` line ends): a header, one `line` row
/// per pay-in batch, and a final `total` row with the totals, the amount paid and its
/// currency, and the rate and markup when settled in USD.
///
/// Every field is an id, a date, a code or an integer (no commas, quotes or line breaks), so
/// no field needs quoting.
pub fn settlement_csv(s: &SettlementRecord, lines: &[SettlementLine]) -> String {
    let mut out = String::with_capacity(128 * (lines.len() + 2));
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for l in lines {
        out.push_str(&format!(
            "line,{},{},{},{},{},{},{},,,,\r\n",
            s.id,
            l.batch_id,
            l.source_id.as_deref().unwrap_or(""),
            l.available_on,
            l.gross,
            l.fees,
            l.net,
        ));
    }
    let (rate, markup) = match s.fx {
        Some(fx) => (fx.rate.to_string(), fx.markup.get().to_string()),
        None => (String::new(), String::new()),
    };
    out.push_str(&format!(
        "total,{},{},,{},{},{},{},{},{},{},{}\r\n",
        s.id,
        s.ledger_batch_id.as_deref().unwrap_or(""),
        s.settlement_date,
        s.gross,
        s.fees,
        s.net,
        s.amount,
        s.currency,
        rate,
        markup,
    ));
    out
}
