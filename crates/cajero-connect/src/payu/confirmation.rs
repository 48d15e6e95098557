//! PayU Latam's confirmations: an `application/x-www-form-urlencoded` POST to the
//! `notifyUrl` of the order, for final states only (approved 4, declined 6, expired 5),
//! signed in its `sign` field (see [`super::signing`]).
//!
//! The form carries no timestamp to bound a replay with; a replayed confirmation repeats a
//! final state already applied, and its id (`transaction_id:state_pol`) deduplicates it.
//! What the form does not carry is filled as follows (docs/networks.md): `code` is empty (keep
//! the payment code stored at creation); `expires_at` is the form's `expiration_date` when the
//! account sends that optional field, else the `transaction_date`; `paid_at` is the
//! `transaction_date` of an approval. PayU writes those dates in Colombia's time (UTC−5).

use std::collections::BTreeMap;

use jiff::Timestamp;
use subtle::ConstantTimeEq;

use super::codes;
use super::signing::{SignatureAlgorithm, confirmation_string, new_value, sign};
use super::wire::pesos_text;
use crate::{Callback, CallbackError, CallbackKind, NetworkOrder, NetworkStatus, OrderKind};

/// What a confirmation is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verifier<'a> {
    pub(crate) merchant_id: &'a str,
    pub(crate) api_key: &'a str,
    pub(crate) algorithm: SignatureAlgorithm,
    pub(crate) hmac_key: Option<&'a str>,
}

/// The fields of a form; a repeated field is refused (it would make the signed value
/// ambiguous).
pub fn parse_form(body: &[u8]) -> Result<BTreeMap<String, String>, CallbackError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| CallbackError::Malformed(format!("form: {e}")))?;
    let mut fields = BTreeMap::new();
    for (name, value) in pairs {
        if fields.insert(name.clone(), value).is_some() {
            return Err(CallbackError::Malformed(format!("{name} given twice")));
        }
    }
    Ok(fields)
}

fn required<'f>(
    fields: &'f BTreeMap<String, String>,
    name: &str,
) -> Result<&'f str, CallbackError> {
    fields
        .get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| CallbackError::Malformed(format!("no {name}")))
}

/// A date of the form (`YYYY-MM-DD HH:MM:SS`, Colombia's time).
fn local_time(text: &str) -> Option<Timestamp> {
    let civil: jiff::civil::DateTime = text.trim().parse().ok()?;
    cajero_domain::calendar::bogota().to_timestamp(civil).ok()
}

impl Verifier<'_> {
    /// Checks the signature, then reads the form.
    pub(crate) fn verify(&self, body: &[u8]) -> Result<Callback, CallbackError> {
        let fields = parse_form(body)?;
        let received = fields
            .get("sign")
            .map(|s| s.trim().to_ascii_lowercase())
            .ok_or(CallbackError::BadSignature)?;
        let merchant_id = required(&fields, "merchant_id")?;
        let reference_sale = required(&fields, "reference_sale")?;
        let value = required(&fields, "value")?;
        let currency = required(&fields, "currency")?;
        let state_pol = required(&fields, "state_pol")?;
        let new_value =
            new_value(value).ok_or_else(|| CallbackError::Malformed(format!("value {value:?}")))?;
        let text = confirmation_string(
            self.api_key,
            merchant_id,
            reference_sale,
            &new_value,
            currency,
            state_pol,
        );
        let expected = sign(self.algorithm, &text, self.hmac_key).ok_or_else(|| {
            CallbackError::Malformed("HMAC-SHA256 confirmations need the secret key".into())
        })?;
        // `ct_eq` on slices of different lengths is false without comparing contents.
        if !bool::from(expected.as_bytes().ct_eq(received.as_bytes())) {
            return Err(CallbackError::BadSignature);
        }
        if merchant_id != self.merchant_id {
            return Err(CallbackError::Malformed(format!(
                "confirmation for merchant {merchant_id:?}"
            )));
        }
        read(&fields, reference_sale, value, currency, state_pol)
    }
}

/// The callback a signed form stands for.
fn read(
    fields: &BTreeMap<String, String>,
    reference_sale: &str,
    value: &str,
    currency: &str,
    state_pol: &str,
) -> Result<Callback, CallbackError> {
    if currency != super::wire::CURRENCY {
        return Err(CallbackError::Malformed(format!("currency {currency:?}")));
    }
    let amount = pesos_text(value)
        .ok_or_else(|| CallbackError::Malformed(format!("value {value:?} is not whole pesos")))?;
    let transaction_id = required(fields, "transaction_id")?;
    let reference_pol = required(fields, "reference_pol")?;
    let status = codes::pol_state(state_pol);
    let kind = match status {
        NetworkStatus::Paid => CallbackKind::Paid,
        NetworkStatus::Expired => CallbackKind::Expired,
        NetworkStatus::Canceled => CallbackKind::Canceled,
        // PayU confirms final states only. A signed confirmation of an open state changes
        // nothing (the order stays open); one of a state PayU does not document comes back
        // `Unrecognized`, so that the order is held for review with the raw form kept, never
        // guessed. No kind fits either: `AttemptFailed` without an attempt, as dLocal's and
        // Kushki's connectors do.
        NetworkStatus::Pending
        | NetworkStatus::Available
        | NetworkStatus::Locked
        | NetworkStatus::Unrecognized => CallbackKind::AttemptFailed,
    };
    let method_name = fields
        .get("payment_method_name")
        .map(String::as_str)
        .unwrap_or_default();
    let method = codes::method_for_payment_method(method_name).ok_or_else(|| {
        CallbackError::Malformed(format!(
            "payment_method_name {method_name:?} is not a cash method we use"
        ))
    })?;
    let transaction_date = fields.get("transaction_date").and_then(|t| local_time(t));
    let expires_at = fields
        .get("expiration_date")
        .and_then(|t| local_time(t))
        .or(transaction_date)
        .ok_or_else(|| CallbackError::Malformed("no transaction_date".into()))?;
    Ok(Callback {
        id: format!("{transaction_id}:{state_pol}"),
        kind,
        order: NetworkOrder {
            kind: OrderKind::Collection,
            network_order_id: reference_pol.into(),
            reference: reference_sale.into(),
            network: method.network.into(),
            status,
            amount,
            code: String::new(),
            agreement_code: None,
            barcode_data: None,
            expires_at,
            paid_at: (status == NetworkStatus::Paid)
                .then_some(transaction_date)
                .flatten(),
            paid_counter_id: None,
        },
        attempt: None,
    })
}

/// The raw form with its `sign` value replaced, for storing a confirmation as evidence.
pub fn redact_confirmation(body: &[u8]) -> String {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) else {
        return "[unreadable form, not kept]".into();
    };
    let shown: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(name, value)| {
            let value = if name == "sign" {
                super::REDACTED.to_owned()
            } else {
                value
            };
            (name, value)
        })
        .collect();
    serde_urlencoded::to_string(shown).unwrap_or_default()
}
