//! Fuzzing the parsers of outside input with proptest (stable Rust): whatever bytes or text
//! arrive, parsing answers `Ok` or a named error, never panics, and what parses prints back
//! to something that parses to the same value.
//!
//! Short by default (proptest's 256 cases per property); for a long run:
//! `PROPTEST_CASES=100000 cargo test -p cajero-domain --test fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cajero_domain::asobancaria::{self, LineEnding, Strictness};
use cajero_domain::document::{Document, DocumentType};
use cajero_domain::money::{Amount, Currency, Money};
use cajero_domain::name::PersonName;
use cajero_domain::phone::PhoneNumber;
use proptest::prelude::*;

/// Text a person could type into a form, with the characters parsers trip on.
fn typed_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9 .\\-+()]{0,24}",
        "[A-Za-zÁÉÍÓÚáéíóúÑñ' .\\-]{0,80}",
        "\\PC{0,64}",
    ]
}

fn fixture_file() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/asobancaria/micros-11JULIO.TXT");
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

proptest! {
    #[test]
    fn document_numbers_parse_or_refuse_and_print_back(kind in 0usize..7, input in typed_text()) {
        let kind = DocumentType::ALL[kind];
        if let Ok(document) = Document::parse(kind, &input) {
            let again = Document::parse(kind, document.number()).unwrap();
            prop_assert_eq!(again.number(), document.number());
            let _ = document.to_string();
        }
    }

    #[test]
    fn document_types_parse_or_refuse(input in typed_text()) {
        if let Ok(kind) = input.parse::<DocumentType>() {
            prop_assert_eq!(kind.to_string().parse::<DocumentType>().unwrap(), kind);
        }
    }

    #[test]
    fn phone_numbers_parse_or_refuse_and_print_back(input in typed_text()) {
        if let Ok(phone) = PhoneNumber::parse(&input) {
            prop_assert_eq!(PhoneNumber::parse(phone.as_str()).unwrap(), phone.clone());
            let _ = (phone.national_number(), phone.is_mobile());
        }
    }

    #[test]
    fn names_parse_or_refuse_and_print_back(input in typed_text()) {
        if let Ok(name) = PersonName::parse(&input) {
            prop_assert_eq!(PersonName::parse(name.as_str()).unwrap(), name);
        }
    }

    #[test]
    fn amounts_from_any_integer_are_checked_and_round_trip_as_json(minor in any::<i64>()) {
        match Amount::new(minor) {
            Ok(amount) => {
                prop_assert_eq!(amount.minor(), minor);
                let json = serde_json::to_string(&amount).unwrap();
                prop_assert_eq!(serde_json::from_str::<Amount>(&json).unwrap(), amount);
            }
            Err(_) => prop_assert!(serde_json::from_str::<Amount>(&minor.to_string()).is_err()),
        }
    }

    #[test]
    fn money_and_currencies_from_any_json_text_parse_or_refuse(text in typed_text()) {
        if let Ok(money) = serde_json::from_str::<Money>(&text) {
            let json = serde_json::to_string(&money).unwrap();
            prop_assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), money);
        }
        let _ = serde_json::from_str::<Amount>(&text);
        if let Ok(currency) = text.parse::<Currency>() {
            prop_assert_eq!(currency.to_string().parse::<Currency>().unwrap(), currency);
        }
    }

    #[test]
    fn asobancaria_files_of_any_text_parse_or_refuse(text in any::<String>(), lenient in any::<bool>()) {
        let strictness = if lenient { Strictness::Lenient } else { Strictness::Strict };
        let _ = asobancaria::parse(&text, strictness);
    }

    #[test]
    fn asobancaria_files_with_damaged_records_parse_or_refuse_and_reprint(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..6),
        lenient in any::<bool>(),
    ) {
        let mut chars: Vec<char> = fixture_file().chars().collect();
        for (at, c) in edits {
            let i = at.index(chars.len());
            chars[i] = c;
        }
        let text: String = chars.into_iter().collect();
        let strictness = if lenient { Strictness::Lenient } else { Strictness::Strict };
        if let Ok(parsed) = asobancaria::parse(&text, strictness)
            && let Ok(written) = asobancaria::write(&parsed.file, LineEnding::CrLf)
        {
            let again = asobancaria::parse(&written, Strictness::Strict).unwrap();
            prop_assert_eq!(again.file, parsed.file);
        }
    }
}
