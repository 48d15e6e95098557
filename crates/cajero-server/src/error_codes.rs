//! Every error `code` the API answers, with what it means and what to do about it.
//!
//! This list is the errors section of `/docs` (one entry per code at `#error-<code>`, where each
//! error body's `doc_url` points), the `enum` of `ErrorDetail.code` in the OpenAPI document (so a
//! response with a code not listed here fails the schema check), and a test reads the server's
//! sources for codes that are missing here.

/// One error code's documentation.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCodeDoc {
    /// The stable snake_case code.
    pub code: &'static str,
    /// The HTTP status(es) it comes with.
    pub status: &'static str,
    /// What happened.
    pub meaning: &'static str,
    /// What the caller can do.
    pub action: &'static str,
}

const fn doc(
    code: &'static str,
    status: &'static str,
    meaning: &'static str,
    action: &'static str,
) -> ErrorCodeDoc {
    ErrorCodeDoc {
        code,
        status,
        meaning,
        action,
    }
}

/// The HTML id of a code's entry on `/docs`.
pub fn anchor(code: &str) -> String {
    format!("error-{code}")
}

/// The entry of `code`.
pub fn lookup(code: &str) -> Option<&'static ErrorCodeDoc> {
    ERROR_CODES.iter().find(|d| d.code == code)
}

const FIX_PARAM: &str = "Correct the field named in `param` as the message says and send the request again (the same \
     `Idempotency-Key` may be reused: refused requests are not stored).";

/// Every code, grouped as `/docs` lists them.
pub const ERROR_CODES: &[ErrorCodeDoc] = &[
    // Authentication and permission.
    doc(
        "api_key_missing",
        "401",
        "No API key was sent.",
        "Send `Authorization: Bearer sk_test_…` (or `sk_live_…`) with every `/v1` request.",
    ),
    doc(
        "authorization_header_malformed",
        "401",
        "The `Authorization` header is not `Bearer <key>`.",
        "Send exactly `Authorization: Bearer <secret key>`, with one space and no quotes.",
    ),
    doc(
        "api_key_invalid",
        "401",
        "The key is malformed or not known to this instance.",
        "Check that the whole key was copied (it is shown once, at creation); create a new one \
         with `cajero key create` if it is lost.",
    ),
    doc(
        "api_key_revoked",
        "401",
        "The key was revoked.",
        "Use a current key of the merchant (`cajero key create`).",
    ),
    doc(
        "account_suspended",
        "403",
        "The merchant's account is suspended.",
        "Ask the operator of this instance why, and to reactivate it.",
    ),
    doc(
        "live_mode_not_enabled",
        "403",
        "A live key of a merchant whose onboarding is not approved.",
        "Finish onboarding; use a test key (`sk_test_…`) meanwhile.",
    ),
    doc(
        "test_mode_only",
        "403",
        "Test helpers work with test keys only.",
        "Call test helpers with an `sk_test_…` key.",
    ),
    doc(
        "test_clocks_unavailable",
        "400",
        "Test clocks need the instance's test-mode networks to be simulators.",
        "Run against an instance whose test networks are the embedded or a standalone simulator.",
    ),
    doc(
        "test_clock_live_mode",
        "400",
        "`test_clock` was given with a live key.",
        "Live objects run on real time: leave `test_clock` out, or use a test key.",
    ),
    doc(
        "test_clock_missing",
        "400",
        "`test_clock` names no test clock of this merchant (or a deleted one).",
        "Create one (`POST /v1/test_helpers/test_clocks`) and use its `clock_…` id.",
    ),
    doc(
        "test_clock_time_out_of_range",
        "400",
        "A test clock's time is too far from the real time now (the message gives the limit).",
        "Choose a `frozen_time` closer to now.",
    ),
    doc(
        "test_clock_not_forward",
        "400",
        "A test clock only moves forward.",
        "Send a `frozen_time` at or after the clock's current time.",
    ),
    doc(
        "test_clock_advance_too_far",
        "400",
        "One advance moves a test clock at most the limit the message names.",
        "Advance in several steps.",
    ),
    doc(
        "test_clocks_limit_reached",
        "400",
        "The merchant has as many test clocks as allowed.",
        "Delete a test clock you no longer use.",
    ),
    doc(
        "test_clock_in_use",
        "409",
        "Open pay-ins or payouts live on this test clock, so it cannot be deleted.",
        "Cancel them, or advance the clock past their expiry, then delete it.",
    ),
    doc(
        "test_clock_moved",
        "409",
        "Another request advanced or deleted the test clock meanwhile.",
        "Retrieve the clock and try again.",
    ),
    doc(
        "rate_limited",
        "429",
        "Too many requests with this key, or too many failed authentications from this address.",
        "Wait `Retry-After` seconds; spread requests out (the `RateLimit` headers show the \
         budget left).",
    ),
    doc(
        "operator_token_invalid",
        "401, 403",
        "`POST /operator/reconciliation/files` without the instance's operator token, or uploads \
         are off (no `reconciliation.operator_token` configured).",
        "Send `Authorization: Bearer <reconciliation.operator_token>`, or import the file with \
         `cajero reconcile import`.",
    ),
    doc(
        "metrics_token_invalid",
        "401",
        "`GET /metrics` without the instance's metrics token.",
        "Send `Authorization: Bearer <metrics.token>` (printed by `cajero demo`), or scrape the \
         metrics address.",
    ),
    // The request itself.
    doc(
        "route_not_found",
        "404",
        "No operation has this URL.",
        "Check the path and the method against the reference above.",
    ),
    doc(
        "resource_missing",
        "404",
        "No object with this id exists for this merchant in this mode.",
        "Check the id, and that the key's mode (test or live) is the object's.",
    ),
    doc(
        "method_not_allowed",
        "405",
        "The URL exists but not with this HTTP method.",
        "Use a method the reference lists for the path.",
    ),
    doc(
        "request_too_large",
        "413",
        "The body is larger than the limit (64 KiB).",
        "Send a smaller body: metadata and descriptions have their own limits.",
    ),
    doc(
        "content_type_unsupported",
        "415",
        "The body was not sent as JSON.",
        "Send `Content-Type: application/json` with a JSON body.",
    ),
    doc(
        "body_malformed",
        "400",
        "The body is not valid JSON (the message says where), or is empty.",
        "Send one JSON object, UTF-8 encoded.",
    ),
    doc(
        "parameter_invalid",
        "400",
        "A field or query parameter has the wrong type or form; `param` is its path \
         (`beneficiary.document.number`).",
        FIX_PARAM,
    ),
    doc(
        "parameter_unknown",
        "400",
        "A field or query parameter that the operation does not take; `param` is its path.",
        "Remove it or correct its spelling.",
    ),
    doc(
        "parameter_missing",
        "400",
        "A required field is missing; `param` is its path.",
        "Add the field.",
    ),
    doc(
        "parameter_duplicated",
        "400",
        "A JSON key (or query parameter) is given twice; `param` is its path.",
        "Send each key once: a repeated key is ambiguous, so it is refused rather than guessed.",
    ),
    doc(
        "parameters_exclusive",
        "400",
        "Two parameters that cannot be used together.",
        "Keep one of them (the message names both).",
    ),
    doc(
        "invalid_request",
        "4XX",
        "The request could not be processed as sent.",
        "Check the request against the operation's reference.",
    ),
    // Idempotency.
    doc(
        "idempotency_key_missing",
        "400",
        "A request that creates or changes money state came without `Idempotency-Key`.",
        "Send a unique `Idempotency-Key` (e.g. a UUID) and reuse it when retrying the same request.",
    ),
    doc(
        "idempotency_key_invalid",
        "400",
        "`Idempotency-Key` is not 1–255 printable ASCII characters.",
        "Use a key of 1–255 printable ASCII characters, such as a UUID.",
    ),
    doc(
        "idempotency_key_reused",
        "422",
        "The key was used before with a different request (method, path or body).",
        "Use a new key for a new request; reuse a key only to retry the identical request.",
    ),
    doc(
        "idempotency_request_in_progress",
        "409",
        "The first request with this key is still being served.",
        "Retry after `Retry-After` seconds with the same key: the first answer is then replayed.",
    ),
    // Money and the objects' fields.
    doc(
        "amount_invalid",
        "400",
        "`amount` is not a positive whole number of the currency's unit.",
        "Send the amount as an integer in whole pesos (COP), greater than zero.",
    ),
    doc(
        "amount_outside_network_limits",
        "400",
        "The amount is outside what the cash network accepts (the message names the limits).",
        "Send an amount within the network's limits listed in the operation's `amount` field, or \
         choose another `network`.",
    ),
    doc(
        "currency_invalid",
        "400",
        "`currency` is not an ISO 4217 code cajero knows.",
        "Send `COP`.",
    ),
    doc(
        "currency_unsupported",
        "400",
        "Cash networks collect and pay out in COP only.",
        "Send `currency: \"COP\"`.",
    ),
    doc(
        "expires_in_seconds_invalid",
        "400",
        "`expires_in_seconds` is outside the allowed range (the message names it).",
        "Send a validity within the range, or leave it out for the default.",
    ),
    doc(
        "reference_invalid",
        "400",
        "`reference` is empty, too long or has control characters.",
        "Send 1–64 printable characters.",
    ),
    doc(
        "metadata_invalid",
        "400",
        "`metadata` breaks a limit: at most 50 keys of 1–40 characters, string values of at most \
         500 characters.",
        FIX_PARAM,
    ),
    doc(
        "description_invalid",
        "400",
        "`description` is too long or has control characters.",
        FIX_PARAM,
    ),
    doc(
        "email_invalid",
        "400",
        "The e-mail address is not plausible.",
        FIX_PARAM,
    ),
    doc(
        "document_type_invalid",
        "400",
        "The identity document type is not one cajero knows.",
        "Send one of `CC`, `CE`, `TI`, `NIT`, `PA`, `PPT`, `PEP`.",
    ),
    doc(
        "document_number_empty",
        "400",
        "The document number is empty.",
        FIX_PARAM,
    ),
    doc(
        "document_number_too_short",
        "400",
        "The document number has too few digits for its type.",
        FIX_PARAM,
    ),
    doc(
        "document_number_too_long",
        "400",
        "The document number has too many digits for its type.",
        FIX_PARAM,
    ),
    doc(
        "document_number_invalid",
        "400",
        "The document number has characters its type does not allow, or a wrong NIT check digit.",
        FIX_PARAM,
    ),
    doc(
        "name_invalid",
        "400",
        "The person's name has characters a name cannot have.",
        FIX_PARAM,
    ),
    doc(
        "name_too_short",
        "400",
        "The person's name is too short.",
        FIX_PARAM,
    ),
    doc(
        "name_too_long",
        "400",
        "The person's name is too long.",
        FIX_PARAM,
    ),
    doc(
        "phone_number_empty",
        "400",
        "The phone number is empty.",
        FIX_PARAM,
    ),
    doc(
        "phone_number_invalid",
        "400",
        "The phone number is not a valid Colombian mobile number.",
        "Send a number such as `+573001234567` or `3001234567`.",
    ),
    doc(
        "phone_number_country_unsupported",
        "400",
        "The phone number is not Colombian.",
        "Send a Colombian (+57) mobile number.",
    ),
    // Networks.
    doc(
        "network_unknown",
        "400",
        "`network` is not a network of this instance.",
        "Send `efecty` (or leave `network` out to let routing choose).",
    ),
    doc(
        "no_network_available",
        "400",
        "No network of this instance serves the request in this mode (live mode needs a \
         gateway configured by the operator); the message names what is missing.",
        "Ask the operator to configure a network for it, or send another `network`.",
    ),
    doc(
        "network_discontinued",
        "400",
        "The network no longer operates.",
        "Choose another network or leave `network` out.",
    ),
    doc(
        "network_rejected",
        "400",
        "The cash network refused the request (the message says why).",
        "Correct what the network named, or try another network.",
    ),
    doc(
        "network_unavailable",
        "424",
        "The cash network failed or could not be reached.",
        "Retry later with the same `Idempotency-Key`.",
    ),
    doc(
        "network_error",
        "424",
        "The cash network answered in a way cajero does not understand.",
        "Retry later with the same `Idempotency-Key`; tell the operator if it persists.",
    ),
    doc(
        "network_order_conflict",
        "424, 502",
        "The network answered with an order that already belongs to another object; nothing was \
         created.",
        "Retry later with the same `Idempotency-Key`.",
    ),
    doc(
        "no_counter_open",
        "400",
        "No counter of the network is open at the object's time (counters keep opening hours in \
         Bogotá).",
        "Retry when counters open, or create the object on a test clock and advance the clock \
         into opening hours (`POST /v1/test_helpers/test_clocks/{id}/advance`).",
    ),
    // Lifecycles.
    doc(
        "payin_not_cancelable",
        "400",
        "Only `pending` pay-ins can be canceled.",
        "Retrieve the pay-in to see its status; a paid one can be refunded instead.",
    ),
    doc(
        "payout_not_cancelable",
        "400",
        "Only `pending` payouts can be canceled.",
        "Retrieve the payout to see its status.",
    ),
    doc(
        "payin_not_refundable",
        "400",
        "Only `paid` pay-ins can be refunded.",
        "Wait until the pay-in is `paid`; a pending one can be canceled instead.",
    ),
    doc(
        "payin_fully_refunded",
        "400",
        "Nothing is left to refund: the pay-in's whole amount is refunded or being refunded.",
        "Nothing to do. A `cash_pickup` refund that fails (expires, is canceled) makes its amount \
         refundable again.",
    ),
    doc(
        "refund_exceeds_remaining",
        "400",
        "The refund's amount is more than what is left to refund of the pay-in (the message says \
         how much is left).",
        "Send an amount at most what is left, or leave `amount` out to refund all of it.",
    ),
    doc(
        "refund_insufficient_balance",
        "400",
        "A refund the network pays (a `bank_transfer` refund of a dLocal pay-in) is drawn from \
         the available balance, and it has less than the refund.",
        "Wait until the pay-in's money settles, or top up the balance, and retry.",
    ),
    doc(
        "payin_not_on_hold",
        "409",
        "An operator released or refused a held pay-in that another operator had released or \
         refused meanwhile (console and CLI only).",
        "Reload the pay-in: it is already `pending` with its voucher, or `canceled`.",
    ),
    doc(
        "risk_denied",
        "422",
        "The platform's risk and compliance checks refuse this pay-in or payout (a limit, a \
         velocity rule or a blocklist). Nothing was reserved and no network was called. The \
         message is deliberately neutral; the rule that refused it is shown in the dashboard's \
         risk page.",
        "Do not retry the same operation unchanged: it will be refused again while the rule \
         holds. Look up the decision in the dashboard, and contact the platform's operator if \
         it is wrong.",
    ),
    doc(
        "refund_method_invalid",
        "400",
        "`method` is neither `cash_pickup` nor `bank_transfer`.",
        "Send `cash_pickup` (with `beneficiary`) or `bank_transfer`.",
    ),
    // Webhooks.
    doc(
        "url_invalid",
        "400",
        "The endpoint URL is not an absolute http(s) URL.",
        FIX_PARAM,
    ),
    doc(
        "url_not_allowed",
        "400",
        "The endpoint URL points where cajero does not send events (private addresses; http \
         outside loopback test mode).",
        "Use a public https URL.",
    ),
    doc(
        "url_unresolvable",
        "400",
        "The endpoint URL's host does not resolve.",
        "Check the host name.",
    ),
    doc(
        "enabled_events_invalid",
        "400",
        "An entry of `enabled_events` is not an event type.",
        "Use event types, `family.*` or `*` as listed under Webhooks.",
    ),
    doc(
        "webhook_endpoint_limit_reached",
        "400",
        "The merchant has as many endpoints as allowed.",
        "Delete an endpoint you no longer use.",
    ),
    doc(
        "webhook_endpoint_disabled",
        "400",
        "The endpoint is disabled.",
        "Re-enable it (`disabled: false`) first.",
    ),
    // Callbacks from networks (not the merchant API).
    doc(
        "order_not_found_retry",
        "503",
        "A network callback about an order cajero has not recorded yet.",
        "Networks retry on their own schedule; nothing to do.",
    ),
    doc(
        "callback_signature_invalid",
        "401",
        "A network callback whose signature or timestamp does not verify; nothing was applied.",
        "Networks: sign callbacks with the shared secret and a current timestamp.",
    ),
    // Ours.
    doc(
        "conflict",
        "409",
        "A concurrent change to the same object won; nothing was applied.",
        "Retry with the same `Idempotency-Key`.",
    ),
    doc(
        "internal_error",
        "500",
        "Something failed on cajero's side; the request was not applied.",
        "Retry with the same `Idempotency-Key`; give the operator the `request_id` if it persists.",
    ),
    doc(
        "service_unavailable",
        "503",
        "The database is not available right now, or ended the request's transaction through \
         no fault of the request (a deadlock's victim, a lock another request held too long, a \
         lost connection); nothing of it applied, \
         or, when the connection was lost at the commit, it applied once.",
        "Retry after `Retry-After` seconds; a state-changing request with the same \
         Idempotency-Key, which returns its answer if it did apply.",
    ),
    doc(
        "request_timeout",
        "503",
        "The request took too long and was abandoned.",
        "Retry with the same `Idempotency-Key`.",
    ),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_explained() {
        let mut seen = BTreeSet::new();
        for d in ERROR_CODES {
            assert!(seen.insert(d.code), "{} listed twice", d.code);
            assert!(
                d.code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()),
                "{}",
                d.code
            );
            assert!(!d.meaning.is_empty() && !d.action.is_empty(), "{}", d.code);
        }
    }

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }

    /// The first string literal after each of `openers` in `text` (whitespace ignored), when it
    /// looks like a code.
    fn codes_after(text: &str, openers: &[&str]) -> Vec<String> {
        let squeezed: String = text.split_whitespace().collect();
        let mut codes = Vec::new();
        for opener in openers {
            for (at, _) in squeezed.match_indices(opener) {
                let rest = &squeezed[at + opener.len()..];
                let Some(rest) = rest.strip_prefix('"') else {
                    continue;
                };
                let Some((literal, _)) = rest.split_once('"') else {
                    continue;
                };
                if literal.starts_with(|c: char| c.is_ascii_lowercase())
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                {
                    codes.push(literal.to_string());
                }
            }
        }
        codes
    }

    /// Reads the code that makes errors: every literal handed to an `ApiError` constructor or
    /// `with_code`, the network refusals' mapping, and the domain's parse errors' `code()`s.
    #[test]
    fn every_code_the_server_can_answer_is_documented() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        sources(&root.join("src"), &mut files);
        let mut found = BTreeSet::new();
        for (name, text) in &files {
            if name.ends_with("error_codes.rs") || name.ends_with("config.rs") {
                continue;
            }
            let openers = [
                "invalid(",
                "unauthenticated(",
                "forbidden(",
                "with_code(",
                "ErrorType::InvalidRequestError,",
                "ErrorType::AuthenticationError,",
                "ErrorType::PermissionError,",
                "ErrorType::IdempotencyError,",
                "ErrorType::RateLimitError,",
                "ErrorType::NetworkError,",
                "ErrorType::ApiError,",
                "=>(",
            ];
            for code in codes_after(text, &openers) {
                found.insert(code);
            }
        }
        let mut domain = Vec::new();
        sources(&root.join("../cajero-domain/src"), &mut domain);
        for (name, text) in &domain {
            // The sanctions lists' own codes (sources, entry kinds, screening refusals) are
            // recorded with decisions, never answered by the API.
            // Likewise the risk rules' and blocklists' refusals: the console and the CLI show
            // them to operators, the API never answers them.
            if name.contains("sanctions") || name.contains("risk") {
                continue;
            }
            for body in text.split("pub const fn code(").skip(1) {
                let body = body.split("\n    }\n").next().unwrap_or("");
                for code in codes_after(body, &["=>", "=>{"]) {
                    found.insert(code);
                }
            }
        }
        // Literals after `=>(` that are not error codes (network refusal codes we map from).
        for not_ours in [
            "amount_out_of_range",
            "expiry_out_of_range",
            "unknown_network",
        ] {
            found.remove(not_ours);
        }
        let missing: Vec<_> = found.iter().filter(|c| lookup(c).is_none()).collect();
        let stale: Vec<_> = ERROR_CODES
            .iter()
            .map(|d| d.code)
            .filter(|c| !found.contains(*c))
            .collect();
        assert!(
            stale.is_empty(),
            "ERROR_CODES documents codes nothing answers any more: {stale:?}"
        );
        assert!(
            missing.is_empty(),
            "codes without an entry in ERROR_CODES: {missing:?}"
        );
        assert!(found.len() > 40, "the scan found only {found:?}");
    }
}
