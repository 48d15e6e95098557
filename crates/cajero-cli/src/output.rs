//! Printing results as text for people or JSON for scripts.

use jiff::Timestamp;

/// Prints `value` as pretty JSON when `json`, else the text `human()` makes.
pub fn print(json: bool, value: &serde_json::Value, human: impl FnOnce() -> String) {
    if json {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("error: cannot print JSON: {error}"),
        }
    } else {
        println!("{}", human());
    }
}

/// RFC 3339 in UTC, second precision, as the API shows times.
pub fn timestamp(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
