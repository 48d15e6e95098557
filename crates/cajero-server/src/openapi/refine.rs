//! What the handlers' attributes leave out of the generated document, added in one place from
//! the code's own constants: the form of ids in paths and cursors (their prefixes are the id
//! kinds'), the values a filter takes (the enums'), control characters refused in free text,
//! request and response examples for every operation (`examples.json`, captured from a run of
//! `cajero demo`), and links from each created object to what can be done with it next (which
//! schemathesis's stateful phase follows, create → retrieve → cancel …).

use cajero_domain::id::{
    Event, IdKind, Payin, Payout, Refund, Settlement, TestClock, Topup, Transfer, WebhookEndpoint,
};
use cajero_domain::ledger::TransferCode;
use cajero_domain::lifecycle::{PayinStatus, PayoutStatus};
use cajero_domain::webhook::EventType;
use serde_json::{Map, Value, json};

/// Free text without control characters (`char::is_control`: C0, DEL and C1), as the server
/// checks it.
pub const NO_CONTROL_CHARACTERS: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// The id prefix of the objects under a collection path segment.
fn prefix_of(collection: &str) -> Option<&'static str> {
    Some(match collection {
        "payins" => Payin::PREFIX,
        "payouts" => Payout::PREFIX,
        "refunds" => Refund::PREFIX,
        "topups" => Topup::PREFIX,
        "settlements" => Settlement::PREFIX,
        "events" => Event::PREFIX,
        "webhook_endpoints" => WebhookEndpoint::PREFIX,
        "balance_transactions" => Transfer::PREFIX,
        "test_clocks" => TestClock::PREFIX,
        _ => return None,
    })
}

/// An id of `prefix`: 26 characters of lower-case Crockford base32, the first at most `7`
/// (128 bits), as `cajero_domain::id` parses them.
pub fn id_pattern(prefix: &str, suffix: &str) -> String {
    format!("^{prefix}_[0-7][0-9a-hjkmnp-tv-z]{{25}}{suffix}$")
}

/// The `Idempotency-Key` header: 1 to `KEY_CHARS_MAX` printable ASCII characters, no space at
/// either end.
fn idempotency_key(p: &mut Value) {
    let max = crate::idempotency::KEY_CHARS_MAX;
    let required = p["required"] == true;
    p["schema"]["pattern"] = Value::String(format!("^[!-~]([ -~]{{0,{}}}[!-~])?$", max - 2));
    p["description"] = Value::String(format!(
        "{}: 1–{max} printable ASCII characters; a retry with the same key and body replays \
         the first answer.",
        if required { "Required" } else { "Optional" }
    ));
}

/// `limit`: the page size the lists enforce.
fn page_size(p: &mut Value) {
    use crate::list::{PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX};
    p["schema"]["minimum"] = json!(1);
    p["schema"]["maximum"] = json!(PAGE_SIZE_MAX);
    p["description"] = Value::String(format!(
        "How many objects: 1–{PAGE_SIZE_MAX}, default {PAGE_SIZE_DEFAULT}."
    ));
}

/// Adds everything this module describes to the document.
pub fn refine(doc: &mut Value) {
    let examples: Value = serde_json::from_str(include_str!("examples.json")).unwrap_or_default();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                ids(path, method, op);
                let params = op.get_mut("parameters").and_then(Value::as_array_mut);
                for p in params.into_iter().flatten() {
                    match (p["name"].as_str(), p["in"].as_str()) {
                        (Some("Idempotency-Key"), Some("header")) => idempotency_key(p),
                        (Some("limit"), Some("query")) => page_size(p),
                        _ => {}
                    }
                }
                filters(op);
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    let id = id.to_string();
                    add_examples(op, &examples[id.as_str()]);
                    add_links(&id, op);
                }
            }
        }
    }
    free_text(doc);
    test_clocks(doc);
}

/// Test clocks' limits, from the constants `test_clocks` enforces.
fn test_clocks(doc: &mut Value) {
    use crate::test_clocks::{ADVANCE_S_MAX, DRIFT_S_MAX, NAME_CHARS_MAX};
    let schemas = &mut doc["components"]["schemas"];
    let days = |s: i64| s / 86_400;
    if schemas["CreateTestClock"].is_object() {
        let create = &mut schemas["CreateTestClock"]["properties"];
        create["frozen_time"]["description"] = Value::String(format!(
            "The clock's time to start at, in Unix seconds, within {} days of the real time now.",
            days(DRIFT_S_MAX)
        ));
        create["name"]["maxLength"] = json!(NAME_CHARS_MAX);
        create["name"]["description"] = Value::String(format!(
            "A name to recognise it by (1–{NAME_CHARS_MAX} characters)."
        ));
    }
    if schemas["AdvanceTestClock"].is_object() {
        schemas["AdvanceTestClock"]["properties"]["frozen_time"]["description"] =
            Value::String(format!(
                "The clock's new time, in Unix seconds: not earlier than its time now (the same \
                 time again changes nothing: a retry), at most {} days later, and within {} days \
                 of the real time now.",
                days(ADVANCE_S_MAX),
                days(DRIFT_S_MAX)
            ));
    }
    for schema in ["CreatePayin", "CreatePayout"] {
        let property = &mut schemas[schema]["properties"]["test_clock"];
        if property.is_object() {
            property["pattern"] = Value::String(id_pattern(TestClock::PREFIX, ""));
        }
    }
}

/// The `{id}` of a path and the cursors of a list: ids of the collection's kind.
fn ids(path: &str, method: &str, op: &mut Value) {
    let segments: Vec<&str> = path.split('/').collect();
    let owner = segments
        .iter()
        .position(|s| *s == "{id}")
        .and_then(|at| at.checked_sub(1))
        .and_then(|at| prefix_of(segments[at]));
    let listed = segments.last().and_then(|s| prefix_of(s));
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for p in params {
        let name = p["name"].as_str().unwrap_or("").to_string();
        let pattern = match (name.as_str(), p["in"].as_str()) {
            ("id", Some("path")) if path.starts_with("/v1/settlements/") => {
                owner.map(|prefix| id_pattern(prefix, "(\\.csv)?"))
            }
            ("id", Some("path")) => owner.map(|prefix| id_pattern(prefix, "")),
            ("starting_after" | "ending_before", Some("query")) if method == "get" => {
                listed.map(|prefix| id_pattern(prefix, ""))
            }
            ("payin", Some("query")) => Some(id_pattern(Payin::PREFIX, "")),
            ("payout", Some("query")) => Some(id_pattern(Payout::PREFIX, "")),
            _ => None,
        };
        if let Some(pattern) = pattern {
            p["schema"]["pattern"] = Value::String(pattern);
        }
    }
}

/// Filters that take one of a known set of values.
fn filters(op: &mut Value) {
    let id = op["operationId"].as_str().unwrap_or("").to_string();
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for p in params.iter_mut() {
        // An empty value (`?limit=`) is a parameter not given: forms and URL builders send them.
        if p["in"] == "query" && p["required"] != true {
            p["allowEmptyValue"] = Value::Bool(true);
        }
    }
    for p in params {
        let values: Option<Vec<String>> = match (id.as_str(), p["name"].as_str().unwrap_or("")) {
            ("list_payins", "status") => Some(strings(PayinStatus::ALL.iter().map(|s| s.as_str()))),
            ("list_refunds" | "list_payin_refunds", "status") => Some(strings(
                cajero_domain::lifecycle::RefundStatus::ALL
                    .iter()
                    .map(|s| s.as_str()),
            )),
            ("list_payouts", "status") => {
                Some(strings(PayoutStatus::ALL.iter().map(|s| s.as_str())))
            }
            ("list_balance_transactions", "type") => {
                Some(strings(TransferCode::ALL.iter().map(|t| t.as_str())))
            }
            ("retrieve_settlement", "format") => Some(strings(["json", "csv"])),
            ("list_alerts", "code") => Some(strings(crate::alerts::codes::ALL.iter().copied())),
            ("retrieve_analytics_success", "network") => {
                Some(strings(cajero_domain::network::ALL.iter().map(|n| n.code)))
            }
            _ => None,
        };
        if let Some(values) = values {
            p["schema"] = json!({"type": "string", "enum": values});
            continue;
        }
        match p["name"].as_str().unwrap_or("") {
            "type" if id == "list_events" => {
                p["schema"] = json!({"type": "string", "pattern": event_types_pattern()});
            }
            name if name.starts_with("created[") => p["schema"] = instant(),
            _ => {}
        }
    }
}

fn strings<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    values.into_iter().map(str::to_string).collect()
}

/// `payin.paid,payout.*`: event types, families and `*`, separated by commas.
fn event_types_pattern() -> String {
    let mut tokens = vec!["\\*".to_string()];
    for t in EventType::ALL {
        let family = format!("{}\\.\\*", t.family());
        if !tokens.contains(&family) {
            tokens.push(family);
        }
    }
    tokens.extend(
        EventType::ALL
            .iter()
            .map(|t| t.as_str().replace('.', "\\.")),
    );
    let one = format!("(?:{})", tokens.join("|"));
    format!("^{one}(?:,{one})*$")
}

/// An instant as Unix seconds (within what timestamps can hold) or RFC 3339.
fn instant() -> Value {
    json!({"anyOf": [
        {"type": "integer", "minimum": jiff::Timestamp::MIN.as_second(),
         "maximum": jiff::Timestamp::MAX.as_second()},
        {"type": "string", "format": "date-time"}
    ]})
}

/// Free text the server refuses with control characters: the schemas say so.
fn free_text(doc: &mut Value) {
    let fields = [
        ("CreatePayin", "description"),
        ("CreatePayin", "reference"),
        ("CreatePayout", "reference"),
        ("CreateRefund", "reason"),
        ("CreateTopup", "description"),
        ("WebhookEndpointCreateParams", "description"),
        ("WebhookEndpointParams", "description"),
    ];
    for (schema, field) in fields {
        let property = &mut doc["components"]["schemas"][schema]["properties"][field];
        if property.is_object() {
            property["pattern"] = Value::String(NO_CONTROL_CHARACTERS.to_string());
        }
    }
    use crate::validate::{DESCRIPTION_CHARS_MAX, REFERENCE_CHARS_MAX};
    let lengths = [
        ("CreatePayin", "reference", 1, REFERENCE_CHARS_MAX),
        ("CreatePayout", "reference", 1, REFERENCE_CHARS_MAX),
        ("CreatePayin", "description", 0, DESCRIPTION_CHARS_MAX),
        ("CreateRefund", "reason", 0, DESCRIPTION_CHARS_MAX),
        (
            "CreateTopup",
            "description",
            0,
            crate::funds::DESCRIPTION_CHARS_MAX,
        ),
        (
            "WebhookEndpointCreateParams",
            "description",
            0,
            crate::webhook::endpoints::DESCRIPTION_CHARS_MAX,
        ),
        (
            "WebhookEndpointParams",
            "description",
            0,
            crate::webhook::endpoints::DESCRIPTION_CHARS_MAX,
        ),
    ];
    for (schema, field, min, max) in lengths {
        let property = &mut doc["components"]["schemas"][schema]["properties"][field];
        if property.is_object() {
            if min > 0 {
                property["minLength"] = json!(min);
            }
            property["maxLength"] = json!(max);
        }
    }
    {
        use crate::webhook::endpoints::{
            METADATA_KEY_CHARS_MAX, METADATA_KEYS_MAX, METADATA_VALUE_CHARS_MAX,
        };
        for schema in ["WebhookEndpointCreateParams", "WebhookEndpointParams"] {
            let property = &mut doc["components"]["schemas"][schema]["properties"]["metadata"];
            if property.is_object() {
                property["maxProperties"] = json!(METADATA_KEYS_MAX);
                property["propertyNames"]["maxLength"] = json!(METADATA_KEY_CHARS_MAX);
                property["additionalProperties"]["maxLength"] = json!(METADATA_VALUE_CHARS_MAX);
            }
        }
    }
    let networks: Vec<String> = cajero_domain::network::ALL
        .iter()
        .map(|n| n.code.to_string())
        .collect();
    for schema in ["CreatePayin", "CreatePayout"] {
        let property = &mut doc["components"]["schemas"][schema]["properties"]["network"];
        if property.is_object() {
            property["enum"] = json!(
                networks
                    .iter()
                    .map(|n| Value::String(n.clone()))
                    .chain([Value::Null])
                    .collect::<Vec<_>>()
            );
        }
    }
    use cajero_domain::name::{PERSON_NAME_CHARS_MAX, PERSON_NAME_CHARS_MIN};
    for schema in ["Beneficiary", "Customer"] {
        let property = &mut doc["components"]["schemas"][schema]["properties"]["name"];
        if property.is_object() {
            property["minLength"] = json!(PERSON_NAME_CHARS_MIN);
            property["maxLength"] = json!(PERSON_NAME_CHARS_MAX);
        }
    }
}

/// A refusal as this operation would answer it, for the `4XX` response's example.
fn error_example(op: &Value) -> Value {
    let takes_body = op.get("requestBody").is_some();
    let has_id = op["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["name"] == "id" && p["in"] == "path"));
    let (code, message, param) = if takes_body {
        (
            "body_malformed",
            "The body is not valid JSON: expected `,` or `}` at line 1 column 15.",
            None,
        )
    } else if has_id {
        (
            "resource_missing",
            "No such object: \"pi_0000000000000000000000000x\"",
            None,
        )
    } else {
        (
            "parameter_invalid",
            "`limit` must be a whole number from 1 to 100.",
            Some("limit"),
        )
    };
    let mut error = json!({
        "type": "invalid_request_error",
        "code": code,
        "message": message,
        "request_id": "req_01m8nhsam7dwvd2fbjzh40tkkb",
        "doc_url": format!("https://cajero.example/docs#error-{code}"),
    });
    if let Some(param) = param {
        error["param"] = Value::String(param.to_string());
    }
    json!({"error": error})
}

/// The operation's example request body and success response.
fn add_examples(op: &mut Value, example: &Value) {
    let refusal = error_example(op);
    if let Some(media) = op
        .pointer_mut("/responses/4XX/content/application~1json")
        .and_then(Value::as_object_mut)
    {
        media.insert("example".into(), refusal);
    }
    if let Some(request) = example.get("request")
        && let Some(media) = op
            .pointer_mut("/requestBody/content/application~1json")
            .and_then(Value::as_object_mut)
    {
        media.insert("example".into(), request.clone());
    }
    let Some(response) = example.get("response") else {
        return;
    };
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, answer) in responses.iter_mut() {
        if status.starts_with('2')
            && let Some(media) = answer
                .pointer_mut("/content/application~1json")
                .and_then(Value::as_object_mut)
        {
            media.insert("example".into(), response.clone());
        }
    }
}

/// What can follow an operation's success: `(link name, operation, parameter source)`.
fn links_from(operation: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    const CREATED: &str = "$response.body#/id";
    const PATH: &str = "$request.path.id";
    const FIRST: &str = "$response.body#/data/0/id";
    match operation {
        "create_payin" => &[
            ("RetrievePayin", "retrieve_payin", CREATED),
            ("PayPayin", "test_pay_payin", CREATED),
            ("CancelPayin", "cancel_payin", CREATED),
            ("RefundPayin", "create_refund", CREATED),
            ("ListPayinRefunds", "list_payin_refunds", CREATED),
        ],
        "test_pay_payin" => &[
            ("RefundPaidPayin", "create_refund", PATH),
            ("RetrievePaidPayin", "retrieve_payin", PATH),
        ],
        "create_refund" => &[
            ("RetrieveRefund", "retrieve_refund", CREATED),
            ("ListPayinRefunds", "list_payin_refunds", PATH),
        ],
        "list_refunds" => &[("RetrieveFirstRefund", "retrieve_refund", FIRST)],
        "create_payout" => &[
            ("RetrievePayout", "retrieve_payout", CREATED),
            ("CollectPayout", "test_collect_payout", CREATED),
            ("CancelPayout", "cancel_payout", CREATED),
        ],
        "create_topup" => &[("RetrieveTopup", "retrieve_topup", CREATED)],
        "create_test_clock" => &[
            ("RetrieveTestClock", "retrieve_test_clock", CREATED),
            ("AdvanceTestClock", "advance_test_clock", CREATED),
            ("DeleteTestClock", "delete_test_clock", CREATED),
        ],
        "list_test_clocks" => &[("RetrieveFirstTestClock", "retrieve_test_clock", FIRST)],
        "create_webhook_endpoint" => &[
            ("RetrieveEndpoint", "retrieve_webhook_endpoint", CREATED),
            ("UpdateEndpoint", "update_webhook_endpoint", CREATED),
            ("RotateSecret", "rotate_webhook_endpoint_secret", CREATED),
            ("RecoverEndpoint", "recover_webhook_endpoint", CREATED),
            ("DeleteEndpoint", "delete_webhook_endpoint", CREATED),
        ],
        "create_test_event" => &[
            ("RetrieveEvent", "retrieve_event", CREATED),
            ("ResendEvent", "resend_event", CREATED),
        ],
        "list_payins" => &[("RetrieveFirstPayin", "retrieve_payin", FIRST)],
        "list_payouts" => &[("RetrieveFirstPayout", "retrieve_payout", FIRST)],
        "list_topups" => &[("RetrieveFirstTopup", "retrieve_topup", FIRST)],
        "list_events" => &[("RetrieveFirstEvent", "retrieve_event", FIRST)],
        "list_settlements" => &[("RetrieveFirstSettlement", "retrieve_settlement", FIRST)],
        "list_balance_transactions" => &[(
            "RetrieveFirstBalanceTransaction",
            "retrieve_balance_transaction",
            FIRST,
        )],
        "list_webhook_endpoints" => {
            &[("RetrieveFirstEndpoint", "retrieve_webhook_endpoint", FIRST)]
        }
        _ => &[],
    }
}

/// OpenAPI links on the operation's success response.
fn add_links(operation: &str, op: &mut Value) {
    let links = links_from(operation);
    if links.is_empty() {
        return;
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, answer) in responses.iter_mut() {
        if !status.starts_with('2') {
            continue;
        }
        let mut map = Map::new();
        for (name, target, source) in links {
            map.insert(
                (*name).to_string(),
                json!({"operationId": target, "parameters": {"id": source}}),
            );
        }
        answer["links"] = Value::Object(map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_examples_and_every_link_a_target() {
        let doc = crate::openapi::spec();
        let mut ids = Vec::new();
        let mut with_path_id = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let label = format!("{method} {path}");
                assert!(
                    op.get("parameters").is_none_or(Value::is_array),
                    "{label}: parameters must be absent or a list"
                );
                ids.push(op["operationId"].as_str().unwrap_or("").to_string());
                if path.contains("{id}") {
                    with_path_id.push(op["operationId"].as_str().unwrap_or("").to_string());
                }
                if op.get("requestBody").is_some() {
                    assert!(
                        op.pointer("/requestBody/content/application~1json/example")
                            .is_some(),
                        "{label} has no request example (add one to openapi/examples.json)"
                    );
                }
                let success = op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .find(|(s, _)| s.starts_with('2'))
                    .map(|(_, r)| r);
                assert!(
                    success
                        .and_then(|r| r.pointer("/content/application~1json/example"))
                        .is_some(),
                    "{label} has no response example (add one to openapi/examples.json)"
                );
            }
        }
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (_, op) in item.as_object().into_iter().flatten() {
                for (_, answer) in op["responses"].as_object().into_iter().flatten() {
                    for (name, link) in answer["links"].as_object().into_iter().flatten() {
                        let target = link["operationId"].as_str().unwrap_or("");
                        assert!(
                            ids.iter().any(|i| i == target),
                            "link {name} of {path} targets unknown {target}"
                        );
                        assert!(
                            with_path_id.iter().any(|i| i == target),
                            "link {name} of {path} gives an id to {target}, which takes none"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn example_ids_match_the_documented_patterns() {
        let pattern = id_pattern(Payin::PREFIX, "");
        assert_eq!(pattern, "^pi_[0-7][0-9a-hjkmnp-tv-z]{25}$");
        let id: cajero_domain::id::PayinId =
            cajero_domain::id::Id::from_parts(1_764_000_000_000, 7);
        let text = id.to_string();
        let body = text.strip_prefix("pi_").unwrap_or("");
        assert_eq!(body.len(), 26);
        assert!(body.starts_with(|c: char| ('0'..='7').contains(&c)));
        assert!(
            body.chars()
                .all(|c| c.is_ascii_digit() || (c.is_ascii_lowercase() && !"ilou".contains(c)))
        );
    }
}
