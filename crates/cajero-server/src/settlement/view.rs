//! How the API shows a settlement: the `settlement` object (JSON) and its CSV statement.

use cajero_domain::money::Currency;
use cajero_store::settlements::{SettlementLine, SettlementRecord};
use serde_json::{Value, json};

use crate::time::rfc3339;

/// The `settlement` object; `lines` only when retrieved one by one (lists and webhooks carry
/// `line_count` instead, so their size stays bounded).
pub fn settlement_json(s: &SettlementRecord, lines: Option<&[SettlementLine]>) -> Value {
    let mut object = json!({
        "id": s.id,
        "object": "settlement",
        "livemode": s.mode.is_live(),
        "status": s.status.as_str(),
        "settlement_date": s.settlement_date.to_string(),
        "amount": s.amount,
        "currency": s.currency,
        "gross": s.gross,
        "fees": s.fees,
        "net": s.net,
        "collected_currency": Currency::Cop,
        "fx": s.fx.map(|fx| json!({
            "source_currency": Currency::Cop,
            "target_currency": Currency::Usd,
            "rate": fx.rate.to_string(),
            "markup_bps": fx.markup.get(),
            "rate_date": s.settlement_date.to_string(),
        })),
        "line_count": s.line_count,
        "balance_transaction": s.ledger_batch_id,
        "created": rfc3339(s.created_at),
        "updated": rfc3339(s.updated_at),
    });
    if let (Some(lines), Some(map)) = (lines, object.as_object_mut()) {
        map.insert(
            "lines".into(),
            Value::Array(lines.iter().map(line_json).collect()),
        );
    }
    object
}

fn line_json(l: &SettlementLine) -> Value {
    json!({
        "balance_transaction": l.batch_id,
        "source": l.source_id,
        "available_on": l.available_on,
        "gross": l.gross,
        "fees": l.fees,
        "net": l.net,
    })
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
