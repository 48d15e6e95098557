//! Blocklists: documents, names and phones refused outright, by the operator for every
//! merchant or by a merchant for its own operations, and counters watched. An entry is kept in
//! the form it is compared in, so that `79.876.543` and `79876543`, or `Pérez Luis` and
//! `LUIS PEREZ`, are one entry.
//!
//! A counter is known only once cash has moved there (the network names it when a pay-in is
//! paid or a payout collected), so a blocked counter cannot refuse anything: an operation
//! completed at one is recorded as a decision and raises an operator alert.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::document::{Document, DocumentType};
use crate::phone::PhoneNumber;

/// A name's normalised form at most, in characters.
pub const NAME_CHARS_MAX: usize = 200;
/// A counter's id at its network, at most, in characters.
pub const COUNTER_CHARS_MAX: usize = 64;

/// What an entry blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An identity document (`CC:79876543`).
    Document,
    /// A person's name, compared normalised (accents, case, order, particles).
    Name,
    /// A phone number, compared in E.164.
    Phone,
    /// A network's counter (`efecty:EF-BOG-001`): watched, not refused (see the module).
    Counter,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::Document, Kind::Name, Kind::Phone, Kind::Counter];

    /// The fixed code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Document => "document",
            Kind::Name => "name",
            Kind::Phone => "phone",
            Kind::Counter => "counter",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an entry cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Not a kind.
    #[error("{} is not document, name, phone or counter", crate::shown_text(.0))]
    Kind(String),
    /// A document must be `TYPE:NUMBER`.
    #[error("a document is written TYPE:NUMBER (CC:79876543): {0}")]
    Document(String),
    /// Not a Colombian phone number.
    #[error("not a phone number: {0}")]
    Phone(String),
    /// A name with no letters, or too long.
    #[error("a name needs letters and at most {NAME_CHARS_MAX} characters")]
    Name,
    /// A counter must be `NETWORK:COUNTER`.
    #[error(
        "a counter is written NETWORK:COUNTER (efecty:EF-BOG-001), the counter 1 to {COUNTER_CHARS_MAX} letters, digits, '-', '_' or '.': {0}"
    )]
    Counter(String),
}

impl EntryError {
    /// A stable code for the refusal.
    pub const fn code(&self) -> &'static str {
        match self {
            EntryError::Kind(_) => "blocklist_kind_invalid",
            EntryError::Document(_) => "blocklist_document_invalid",
            EntryError::Phone(_) => "blocklist_phone_invalid",
            EntryError::Name => "blocklist_name_invalid",
            EntryError::Counter(_) => "blocklist_counter_invalid",
        }
    }
}

impl FromStr for Kind {
    type Err = EntryError;

    fn from_str(s: &str) -> Result<Kind, EntryError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| EntryError::Kind(s.chars().take(32).collect()))
    }
}

/// A document as blocklists and rules compare it: `TYPE:NUMBER`, the number canonical.
pub fn document_key(document: &Document) -> String {
    format!("{}:{}", document.kind(), document.number())
}

/// A name as blocklists compare it: its normalised words, sorted (empty without letters).
pub fn name_key(name: &str) -> String {
    crate::sanctions::normalize::normalize(name).key()
}

/// A counter as blocklists and rules compare it: `network:COUNTER`, the network's code in
/// lower case and its counter id in upper case (as a network names it in a callback).
pub fn counter_key(network: &str, counter: &str) -> String {
    format!(
        "{}:{}",
        network.trim().to_ascii_lowercase(),
        counter.trim().to_uppercase()
    )
}

/// An entry's value in its compared form, from what a person typed.
pub fn value(kind: Kind, input: &str) -> Result<String, EntryError> {
    let input = input.trim();
    match kind {
        Kind::Document => {
            let (kind, number) = input
                .split_once(':')
                .ok_or_else(|| EntryError::Document(input.chars().take(40).collect()))?;
            let kind = DocumentType::from_str(kind.trim())
                .map_err(|e| EntryError::Document(e.to_string()))?;
            let document =
                Document::parse(kind, number).map_err(|e| EntryError::Document(e.to_string()))?;
            Ok(document_key(&document))
        }
        Kind::Phone => PhoneNumber::parse(input)
            .map(|p| p.as_str().to_owned())
            .map_err(|e| EntryError::Phone(e.to_string())),
        Kind::Name => {
            let key = name_key(input);
            if key.is_empty() || input.chars().count() > NAME_CHARS_MAX {
                return Err(EntryError::Name);
            }
            Ok(key)
        }
        Kind::Counter => {
            let shown = || {
                EntryError::Counter(crate::shown_text(
                    &input.chars().take(80).collect::<String>(),
                ))
            };
            let (network, counter) = input.split_once(':').ok_or_else(shown)?;
            let (network, counter) = (network.trim(), counter.trim());
            let network_ok = (1..=32).contains(&network.len())
                && network
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let counter_ok = (1..=COUNTER_CHARS_MAX).contains(&counter.chars().count())
                && counter
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !(network_ok && counter_ok) {
                return Err(shown());
            }
            Ok(counter_key(network, counter))
        }
    }
}

/// The last four characters of a value, for messages that must not show it whole.
pub fn masked(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_kept_in_their_compared_form() {
        assert_eq!(
            value(Kind::Document, " CC:79.876.543 ").unwrap(),
            "CC:79876543"
        );
        assert_eq!(
            value(Kind::Document, "NIT:900123456-8").unwrap(),
            "NIT:900123456-8"
        );
        assert_eq!(value(Kind::Phone, "300 123 4567").unwrap(), "+573001234567");
        assert_eq!(
            value(Kind::Name, "Luis Pérez").unwrap(),
            value(Kind::Name, "PEREZ, luis").unwrap()
        );
        assert_eq!(
            value(Kind::Name, "Ana de la Cruz").unwrap(),
            value(Kind::Name, "Ana Cruz").unwrap()
        );
        assert!(matches!(
            value(Kind::Document, "79876543"),
            Err(EntryError::Document(_))
        ));
        assert!(matches!(
            value(Kind::Document, "XX:79876543"),
            Err(EntryError::Document(_))
        ));
        assert!(matches!(
            value(Kind::Document, "NIT:900123456-1"),
            Err(EntryError::Document(_))
        ));
        assert!(matches!(
            value(Kind::Phone, "12"),
            Err(EntryError::Phone(_))
        ));
        assert!(matches!(
            value(Kind::Name, "  ...  "),
            Err(EntryError::Name)
        ));
        assert_eq!(
            value(Kind::Counter, " Efecty:ef-bog-001 ").unwrap(),
            "efecty:EF-BOG-001"
        );
        assert_eq!(
            value(Kind::Counter, "efecty:EF-BOG-001").unwrap(),
            counter_key("efecty", "ef-bog-001")
        );
        for bad in [
            "EF-BOG-001",
            "efecty:",
            ":EF-1",
            "efecty:EF BOG",
            "ef cty:EF-1",
        ] {
            assert!(
                matches!(value(Kind::Counter, bad), Err(EntryError::Counter(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            value(Kind::Counter, &format!("efecty:{}", "A".repeat(65))),
            Err(EntryError::Counter(_))
        ));
        assert!(matches!("till".parse::<Kind>(), Err(EntryError::Kind(_))));
        assert_eq!(masked("CC:79876543"), "…6543");
        assert_eq!(masked("12"), "…12");
    }
}
