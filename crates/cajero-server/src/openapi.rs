//! The OpenAPI 3.1 description of the merchant API, generated from the handlers' `#[utoipa::path]`
//! attributes and the request and response types themselves (`routes::v1` registers each
//! handler and its path in one step, so a route cannot exist undocumented).
//!
//! Served at `/openapi.json`, rendered for humans at `/docs`, and committed as
//! `docs/openapi.json`; a test fails when the committed file differs from what the code says.

use cajero_domain::ledger::TransferCode;
use cajero_domain::lifecycle::{PayinStatus, PayoutStatus, RefundStatus};
use cajero_domain::money::Currency;
use cajero_domain::webhook::EventType;
use cajero_store::settlements::SettlementStatus;
use cajero_store::topups::TopupStatus;
use cajero_store::webhooks::{DisabledReason, EndpointStatus};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{KnownFormat, OpenApi as Spec, SchemaFormat};
use utoipa::{Modify, OpenApi};

mod limits;
mod refine;
pub use limits::{
    grouped, metadata, payin_amount, payin_expires_in_seconds, payout_amount,
    payout_expires_in_seconds, refund_amount, topup_amount,
};

/// The document's fixed parts; the paths come from the router (`routes::v1`).
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "cajero merchant API",
        description = "Cash pay-ins (vouchers paid at a counter), payouts (pick-up codes collected \
                       in cash with an ID document), refunds, balances, settlements and signed \
                       webhooks through Latin American cash networks, starting with Colombia's \
                       Efecty.\n\nAmounts are integers in the currency's unit (whole pesos for \
                       COP). Every state-changing request takes an `Idempotency-Key` header; a \
                       replay answers the first response with `Idempotent-Replayed: true`. \
                       Lists are newest first with cursor pagination (`limit`, \
                       `starting_after`, `ending_before`). Errors have one shape: \
                       `{\"error\": {\"type\", \"code\", \"message\", \"param\", \"request_id\"}}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&Security),
    security(("api_key" = [])),
    tags(
        (name = "Pay-ins", description = "Cash vouchers a customer pays at a counter."),
        (name = "Payouts", description = "Pick-up codes a beneficiary collects in cash."),
        (name = "Refunds", description = "Money back to a pay-in's customer."),
        (name = "Balance", description = "The merchant's balance and its transactions."),
        (name = "Top-ups", description = "Funding the balance that payouts draw on."),
        (name = "Settlements", description = "Collected money made available."),
        (name = "Analytics", description = "How pay-ins and payouts succeed: rates and times."),
        (name = "Webhooks", description = "Endpoints that receive signed events, and the events."),
        (name = "Alerts", description = "Problems the merchant is told about (a network down, its webhook endpoint failing), open or resolved."),
        (name = "Test helpers", description = "Test mode only: drive the simulated network."),
        (name = "Operations", description = "Liveness and readiness probes."),
    )
)]
pub struct ApiDoc;

/// Adds the bearer API key scheme.
#[derive(Debug)]
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut Spec) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A secret key: `Authorization: Bearer sk_test_…` (test mode, simulated \
                         networks) or `sk_live_…`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole document: the fixed parts with the routes' paths and schemas merged in, then
/// refined (`refine`: id forms, filter values, examples, links).
pub fn spec() -> serde_json::Value {
    let (_, paths) = crate::routes::v1_documented().split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    refine::refine(&mut value);
    value
}

/// The document as committed (`docs/openapi.json`): pretty JSON with a final newline.
pub fn spec_json() -> String {
    let mut text =
        serde_json::to_string_pretty(&spec()).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// Serializes a response object (plain data: it cannot fail; `null` if it ever did).
pub fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn string_enum<'a>(description: &str, values: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .build()
}

/// An error's `code`: one of [`crate::error_codes::ERROR_CODES`].
pub fn error_code() -> Object {
    string_enum(
        "Stable snake_case code; `doc_url` links to what it means and what to do.",
        crate::error_codes::ERROR_CODES.iter().map(|d| d.code),
    )
}

fn enabled_events_schema(nullable: bool) -> utoipa::openapi::schema::Array {
    use cajero_domain::webhook::EventType;
    let mut values: Vec<String> = vec!["*".to_string()];
    for t in EventType::ALL {
        let family = format!("{}.*", t.family());
        if !values.contains(&family) {
            values.push(family);
        }
    }
    values.extend(EventType::ALL.iter().map(|t| t.as_str().to_string()));
    let max = crate::webhook::endpoints::ENABLED_EVENTS_MAX;
    let kind = if nullable {
        utoipa::openapi::schema::SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        utoipa::openapi::schema::SchemaType::Type(Type::Array)
    };
    utoipa::openapi::schema::ArrayBuilder::new()
        .schema_type(kind)
        .min_items(Some(1))
        .max_items(Some(max))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(values)),
        )
        .description(Some(format!(
            "1 to {max} event types, `family.*` wildcards or `*` (every event)."
        )))
        .build()
}

/// `enabled_events` of a new endpoint.
pub fn enabled_events() -> utoipa::openapi::schema::Array {
    enabled_events_schema(false)
}

/// `enabled_events` of an update (null or absent: unchanged).
pub fn enabled_events_or_null() -> utoipa::openapi::schema::Array {
    enabled_events_schema(true)
}

/// `COP` or `USD`.
pub fn currency() -> Object {
    string_enum(
        "ISO 4217 currency code.",
        Currency::ALL.iter().map(|c| c.code()),
    )
}

/// Request currencies of pay-ins and payouts: `COP`.
pub fn cop_only() -> Object {
    string_enum("ISO 4217 currency code: `COP`.", [Currency::Cop.code()])
}

/// How a refund is paid.
pub fn refund_method() -> Object {
    string_enum(
        "`cash_pickup` (paid out as a payout; needs `beneficiary`) or `bank_transfer` (the \
         merchant transferred the money itself).",
        ["cash_pickup", "bank_transfer"],
    )
}

/// A Colombian identity document type.
pub fn document_type() -> Object {
    string_enum(
        "`CC` cédula de ciudadanía, `CE` cédula de extranjería, `TI` tarjeta de identidad, `NIT`, \
         `PA` pasaporte, `PPT` permiso por protección temporal, `PEP` permiso especial de \
         permanencia.",
        cajero_domain::document::DocumentType::ALL
            .iter()
            .map(|d| d.as_str()),
    )
}

/// A pay-in's status.
pub fn payin_status() -> Object {
    string_enum(
        "Where the pay-in stands.",
        PayinStatus::ALL.iter().map(|s| s.as_str()),
    )
}

/// A payout's status.
pub fn payout_status() -> Object {
    string_enum(
        "Where the payout stands.",
        PayoutStatus::ALL.iter().map(|s| s.as_str()),
    )
}

/// A refund's status.
pub fn refund_status() -> Object {
    string_enum(
        "Where the refund stands.",
        RefundStatus::ALL.iter().map(|s| s.as_str()),
    )
}

/// A top-up's status.
pub fn topup_status() -> Object {
    string_enum(
        "Where the top-up stands.",
        [
            TopupStatus::Pending,
            TopupStatus::Succeeded,
            TopupStatus::Canceled,
        ]
        .iter()
        .map(|s| s.as_str()),
    )
}

/// A settlement's status.
pub fn settlement_status() -> Object {
    string_enum(
        "Where the settlement stands.",
        [SettlementStatus::Paid.as_str()],
    )
}

/// A webhook endpoint's status.
pub fn endpoint_status() -> Object {
    string_enum(
        "Whether the endpoint receives events.",
        [EndpointStatus::Enabled, EndpointStatus::Disabled]
            .iter()
            .map(|s| s.as_str()),
    )
}

/// Why an endpoint is disabled (null while enabled).
pub fn disabled_reason() -> Object {
    let values = [
        DisabledReason::Gone,
        DisabledReason::Failing,
        DisabledReason::Requested,
    ];
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .description(Some(
            "Why the endpoint is disabled: `gone` (410 from the receiver), `failing` (five days \
             of failures), `requested`; null while enabled.",
        ))
        .enum_values(Some(
            values
                .iter()
                .map(|r| serde_json::Value::from(r.as_str()))
                .chain([serde_json::Value::Null]),
        ))
        .build()
}

/// An event type code.
pub fn event_type() -> Object {
    string_enum(
        "The event's type.",
        EventType::ALL.iter().map(|t| t.as_str()),
    )
}

/// A balance transaction's `type`.
pub fn transfer_code() -> Object {
    string_enum(
        "Why the money moved.",
        TransferCode::ALL.iter().map(|t| t.as_str()),
    )
}

/// An RFC 3339 timestamp in UTC.
pub fn timestamp() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some("RFC 3339 timestamp, UTC."))
        .build()
}

/// An RFC 3339 timestamp, or null.
pub fn timestamp_or_null() -> Object {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::String,
            Type::Null,
        ]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some("RFC 3339 timestamp, UTC; null until it happens."))
        .build()
}

/// A calendar date (`YYYY-MM-DD`, Bogotá).
pub fn date() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .description(Some("A date in Bogotá (YYYY-MM-DD)."))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regenerate with `cargo run -- openapi > docs/openapi.json`.
    #[test]
    fn the_committed_openapi_json_is_what_the_code_generates() {
        let committed = include_str!("../../../docs/openapi.json");
        let generated = spec_json();
        assert!(
            committed == generated,
            "docs/openapi.json differs from the code: run `cargo run -- openapi > docs/openapi.json`"
        );
    }

    /// `st_…` was documented while settlements are `set_…`: every `` `xx_…` `` the document
    /// mentions must be a prefix ids are made with.
    #[test]
    fn every_id_prefix_the_document_mentions_is_one_ids_have() {
        let text = spec_json();
        let mut known: Vec<&str> = cajero_domain::id::ALL_PREFIXES.to_vec();
        // Exception ids are derived from what they are about (`exc_<kind>_<object>`).
        known.extend(["sk_test", "sk_live", "whsec", "exc"]);
        let mut checked = 0;
        for piece in text.split('`').skip(1).step_by(2) {
            let Some(prefix) = piece
                .strip_suffix("_…")
                .or_else(|| piece.strip_suffix("_….csv"))
            else {
                continue;
            };
            if !prefix.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                continue;
            }
            assert!(known.contains(&prefix), "`{piece}` is not an id prefix");
            checked += 1;
        }
        assert!(checked > 5, "only {checked} prefixes mentioned");
    }

    #[test]
    fn it_is_openapi_3_1_with_every_v1_operation() {
        let doc: serde_json::Value =
            serde_json::from_str(&spec_json()).unwrap_or(serde_json::Value::Null);
        assert_eq!(doc["openapi"], "3.1.0");
        for (path, method) in [
            ("/v1/payins", "post"),
            ("/v1/payins", "get"),
            ("/v1/payins/{id}/refunds", "post"),
            ("/v1/payouts/{id}/cancel", "post"),
            ("/v1/webhook_endpoints/{id}", "delete"),
            ("/v1/test_helpers/test_clocks", "post"),
            ("/v1/test_helpers/test_clocks/{id}/advance", "post"),
            ("/v1/test_helpers/test_clocks/{id}", "delete"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} missing"
            );
        }
        assert_eq!(
            doc["components"]["schemas"]["Payout"]["properties"]["status"]["enum"][0],
            "pending"
        );
    }
}
