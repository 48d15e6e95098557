//! Request fields shared by several endpoints, parsed into domain types with the API's errors.

use cajero_domain::document::{Document, DocumentType};
use cajero_domain::money::{Amount, Currency};
use cajero_domain::name::PersonName;
use cajero_domain::phone::PhoneNumber;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// Metadata keys at most (API.md).
pub const METADATA_KEYS_MAX: usize = 50;
/// Metadata key length at most, in characters.
pub const METADATA_KEY_CHARS_MAX: usize = 40;
/// Metadata value length at most, in characters.
pub const METADATA_VALUE_CHARS_MAX: usize = 500;
/// The merchant's own reference, at most, in characters.
pub const REFERENCE_CHARS_MAX: usize = 64;
/// Descriptions at most, in characters.
pub const DESCRIPTION_CHARS_MAX: usize = 500;
/// E-mail addresses at most, in characters (RFC 5321's path limit).
pub const EMAIL_CHARS_MAX: usize = 254;

/// Checks metadata: an object of at most 50 string values.
pub fn metadata(value: Option<Map<String, Value>>) -> Result<Value, ApiError> {
    let map = value.unwrap_or_default();
    if map.len() > METADATA_KEYS_MAX {
        return Err(invalid(
            "metadata_invalid",
            format!("metadata has at most {METADATA_KEYS_MAX} keys"),
            "metadata",
        ));
    }
    for (key, value) in &map {
        if key.is_empty() || key.chars().count() > METADATA_KEY_CHARS_MAX {
            return Err(invalid(
                "metadata_invalid",
                format!("metadata keys are 1 to {METADATA_KEY_CHARS_MAX} characters"),
                format!("metadata.{key}"),
            ));
        }
        let Some(text) = value.as_str() else {
            return Err(invalid(
                "metadata_invalid",
                "metadata values are strings",
                format!("metadata.{key}"),
            ));
        };
        if text.chars().count() > METADATA_VALUE_CHARS_MAX {
            return Err(invalid(
                "metadata_invalid",
                format!("metadata values are at most {METADATA_VALUE_CHARS_MAX} characters"),
                format!("metadata.{key}"),
            ));
        }
    }
    Ok(Value::Object(map))
}

fn invalid(code: &'static str, message: impl Into<String>, param: impl Into<String>) -> ApiError {
    ApiError::invalid(code, message).with_param(param)
}

/// An amount in COP whole pesos, positive.
pub fn cop_amount(amount: i64, currency: &str) -> Result<Amount, ApiError> {
    let currency: Currency =
        currency
            .parse()
            .map_err(|e: cajero_domain::money::ParseCurrencyError| {
                invalid("currency_invalid", e.to_string(), "currency")
            })?;
    if currency != Currency::Cop {
        return Err(invalid(
            "currency_unsupported",
            "cash networks collect and pay out in COP only",
            "currency",
        ));
    }
    Amount::new(amount)
        .ok()
        .filter(|a| !a.is_zero())
        .ok_or_else(|| {
            invalid(
                "amount_invalid",
                "amount must be a positive whole number of pesos",
                "amount",
            )
        })
}

/// Optional free text of at most `max` characters without control characters.
pub fn text(value: Option<String>, max: usize, param: &str) -> Result<Option<String>, ApiError> {
    match value {
        Some(t) if t.chars().count() > max || t.chars().any(char::is_control) => Err(invalid(
            "parameter_invalid",
            format!("{param} is at most {max} characters, without control characters"),
            param.to_string(),
        )),
        other => Ok(other),
    }
}

/// The merchant's reference: 1–64 printable characters.
pub fn reference(value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(r)
            if r.is_empty()
                || r.chars().count() > REFERENCE_CHARS_MAX
                || r.chars().any(char::is_control) =>
        {
            Err(invalid(
                "reference_invalid",
                format!("reference is 1 to {REFERENCE_CHARS_MAX} characters"),
                "reference",
            ))
        }
        other => Ok(other),
    }
}

/// `expires_in_seconds` within bounds, or the default.
pub fn expiry(value: Option<i64>, default_s: i64, min_s: i64, max_s: i64) -> Result<i64, ApiError> {
    let seconds = value.unwrap_or(default_s);
    if (min_s..=max_s).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(invalid(
            "expires_in_seconds_invalid",
            format!("expires_in_seconds must be between {min_s} and {max_s}"),
            "expires_in_seconds",
        ))
    }
}

/// A document as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Document)]
pub struct DocumentIn {
    /// `CC` (cédula de ciudadanía), `CE` (cédula de extranjería), `TI`, `PA` (passport),
    /// `PPT`, `NIT`, …
    #[serde(rename = "type")]
    #[schema(schema_with = crate::openapi::document_type)]
    pub kind: String,
    /// The number.
    pub number: String,
}

/// Parses a document, naming `param` (e.g. `beneficiary.document`).
pub fn document(d: DocumentIn, param: &str) -> Result<Document, ApiError> {
    let kind: DocumentType =
        d.kind
            .parse()
            .map_err(|e: cajero_domain::document::ParseDocumentTypeError| {
                invalid(
                    "document_type_invalid",
                    e.to_string(),
                    format!("{param}.type"),
                )
            })?;
    Document::parse(kind, &d.number)
        .map_err(|e| invalid(e.code(), e.to_string(), format!("{param}.number")))
}

/// A person's name.
pub fn person_name(name: &str, param: &str) -> Result<PersonName, ApiError> {
    PersonName::parse(name).map_err(|e| invalid(e.code(), e.to_string(), param.to_string()))
}

/// A Colombian phone number.
pub fn phone(phone: &str, param: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(phone).map_err(|e| invalid(e.code(), e.to_string(), param.to_string()))
}

/// A plausible e-mail address (one `@`, something on both sides, no spaces).
pub fn email(email: &str, param: &str) -> Result<String, ApiError> {
    let trimmed = email.trim();
    let ok = trimmed.chars().count() <= EMAIL_CHARS_MAX
        && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
        && trimmed.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && trimmed.matches('@').count() == 1;
    if ok {
        Ok(trimmed.to_string())
    } else {
        Err(invalid(
            "email_invalid",
            "email is not a valid address",
            param.to_string(),
        ))
    }
}

/// The JSON of a parsed document.
pub fn document_json(d: &Document) -> Value {
    json!({"type": d.kind().as_str(), "number": d.number()})
}
