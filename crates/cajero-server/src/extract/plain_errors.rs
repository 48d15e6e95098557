//! serde's refusals in words a person can act on.
//!
//! serde describes a mismatch in Rust's terms (`invalid type: string "x", expected i64`,
//! `expected struct CreatePayout`). The API answers with the field's path in `param` and a
//! message about JSON (`amount must be a whole number, not a string`). The path comes from
//! `serde_path_to_error`; the wording of serde's messages is stable (it is `serde::de::Error`'s
//! default text), and anything not recognised is replaced by a generic sentence rather than
//! passed through, so no Rust type name reaches a client.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// A request type from an already-read body (or query string made into an object), with
/// refusals that name the field's path.
pub fn from_value<T: DeserializeOwned>(value: Value, whole: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = path_text(e.path());
        refusal(&path, &e.inner().to_string(), whole)
    })
}

/// `a.b[0].c`, or empty for the whole body.
fn path_text(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text == "." { String::new() } else { text }
}

/// The error for serde's `message` about the value at `path` (empty: the whole `whole`, "body"
/// or "query string").
fn refusal(path: &str, message: &str, whole: &str) -> ApiError {
    if let Some(field) = between_backticks(message.strip_prefix("unknown field ")) {
        let param = join(path, field);
        return ApiError::invalid(
            "parameter_unknown",
            format!("`{param}` is not a parameter of this request; check its spelling in /docs."),
        )
        .with_param(param);
    }
    if let Some(field) = between_backticks(message.strip_prefix("missing field ")) {
        let param = join(path, field);
        return ApiError::invalid("parameter_missing", format!("`{param}` is required."))
            .with_param(param);
    }
    if let Some(field) = between_backticks(message.strip_prefix("duplicate field ")) {
        let param = join(path, field);
        return ApiError::invalid("parameter_duplicated", format!("`{param}` is given twice."))
            .with_param(param);
    }
    let what = if path.is_empty() {
        format!("The {whole}")
    } else {
        format!("`{path}`")
    };
    let sentence = if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (got, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        format!(
            "{what} must be {}, not {}.",
            expected_words(expected),
            got_words(got)
        )
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        let (_, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        format!("{what} must be {}.", expected_words(expected))
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        let expected = expected.strip_prefix("one of ").unwrap_or(expected);
        format!("{what} must be one of {expected}.")
    } else if message.starts_with("invalid length ") && message.contains("expected struct ") {
        format!("{what} must be an object, not an array.")
    } else if message.starts_with("invalid length ") {
        format!("{what} has the wrong number of items.")
    } else if message.contains("untagged enum TimeParam") {
        format!("{what} must be Unix seconds (a whole number) or an RFC 3339 timestamp (text).")
    } else if is_plain(message) && message.starts_with("must ") {
        format!("{what} {message}")
    } else if is_plain(message) {
        format!("{what}: {message}")
    } else {
        format!("{what} is not of the documented type or form; see /docs.")
    };
    let error = ApiError::invalid("parameter_invalid", sentence);
    if path.is_empty() {
        error
    } else {
        error.with_param(path)
    }
}

/// `field` under `path`, unless the path already ends with it (serde reports some errors
/// about a field at the field, others at the object holding it).
fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else if path == field || path.ends_with(&format!(".{field}")) {
        path.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// The text between the first pair of backticks.
fn between_backticks(text: Option<&str>) -> Option<&str> {
    let rest = text?.strip_prefix('`')?;
    rest.split_once('`').map(|(inside, _)| inside)
}

/// What serde expected, in JSON words.
fn expected_words(expected: &str) -> String {
    let words = match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, zero or more",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" | "a borrowed string" | "a character" => "a string",
        "a sequence" => "an array",
        "a map" | "any valid JSON value" => "an object",
        e if e.starts_with("struct ") || e.starts_with("a map") => "an object",
        e if e.starts_with("one of ") => return format!("one of {}", &e["one of ".len()..]),
        e if is_plain(e) && !e.is_empty() => return e.to_string(),
        _ => "of the documented type",
    };
    words.to_string()
}

/// What serde got, in JSON words, without the value itself.
fn got_words(got: &str) -> &'static str {
    match got.split(' ').next().unwrap_or("") {
        "string" | "character" => "a string",
        "integer" => "an integer",
        "floating" => "a number with a fraction",
        "boolean" => "a boolean",
        "unit" | "Option" | "null" => "null",
        "sequence" => "an array",
        "map" => "an object",
        _ => "that",
    }
}

/// Whether a message reads as plain words (no Rust paths, generics or type names).
fn is_plain(text: &str) -> bool {
    const RUST_WORDS: [&str; 8] = [
        "struct ", "enum ", "::", "i64", "u32", "u64", "Option", "variant",
    ];
    !text.contains('<') && !RUST_WORDS.iter().any(|w| text.contains(w))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::from_value;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        amount: i64,
        limit: Option<u32>,
        beneficiary: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
        document: Option<Doc>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        number: String,
    }

    fn refusal(value: serde_json::Value) -> (String, Option<String>, String) {
        let e = from_value::<Outer>(value, "body").unwrap_err();
        (e.code.to_string(), e.param, e.message)
    }

    #[test]
    fn refusals_name_the_path_and_speak_json() {
        for (body, code, param, message) in [
            (
                json!({"amount": "1000"}),
                "parameter_invalid",
                Some("amount"),
                "`amount` must be a whole number, not a string.",
            ),
            (
                json!({"amount": 113.5}),
                "parameter_invalid",
                Some("amount"),
                "`amount` must be a whole number, not a number with a fraction.",
            ),
            (
                json!({"amount": 1, "limit": -1}),
                "parameter_invalid",
                Some("limit"),
                "`limit` must be a whole number, zero or more.",
            ),
            (
                json!({"amount": 1, "beneficiary": {"name": "x", "document": {"number": 5}}}),
                "parameter_invalid",
                Some("beneficiary.document.number"),
                "`beneficiary.document.number` must be a string, not an integer.",
            ),
            (
                json!({"amount": 1, "beneficiary": {"name": "x", "document": {"numbr": "5"}}}),
                "parameter_unknown",
                Some("beneficiary.document.numbr"),
                "`beneficiary.document.numbr` is not a parameter of this request; check its spelling in /docs.",
            ),
            (
                json!({"amount": 1, "beneficiary": {}}),
                "parameter_missing",
                Some("beneficiary.name"),
                "`beneficiary.name` is required.",
            ),
            (
                json!({"amount": 1, "beneficiary": []}),
                "parameter_invalid",
                Some("beneficiary"),
                "`beneficiary` must be an object, not an array.",
            ),
            (
                json!(null),
                "parameter_invalid",
                None,
                "The body must be an object, not null.",
            ),
        ] {
            let (c, p, m) = refusal(body.clone());
            assert_eq!(
                (c.as_str(), p.as_deref(), m.as_str()),
                (code, param, message),
                "{body}"
            );
        }
    }
}
