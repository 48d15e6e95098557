//! Personal data under Colombia's Ley 1581 de 2012: what a person's data looks like where the
//! record does not need it whole, and how a person is named when an operator asks for
//! everything held about them.
//!
//! The records keep personal data whole (pay-ins, payouts, the API's answers to their merchant,
//! stored idempotent answers, network evidence). Events — webhooks and `GET /v1/events` — are
//! copies sent to, and kept by, more systems than need the data, so [`mask_personal_data`]
//! hides it there unless the merchant opted in to full personal data in events. The masks are:
//!
//! | field | example | masked |
//! |---|---|---|
//! | `document.number` | `79876543` | `••••6543` ([`mask_tail`]: the last four characters; `type` kept) |
//! | `phone` | `+573009876543` | `••••6543` ([`mask_tail`]) |
//! | `name` | `Luis Pérez` | `L. P.` ([`mask_name`]: each word's first letter and a dot) |
//! | `email` | `ana@example.com` | `a•••@example.com` ([`mask_email`]: the first character, the domain) |
//!
//! Fewer than four characters are shown of a number shorter than eight, so that at least four
//! always stay hidden (`123456` → `••••56`). The mask never says how long the number was.

use serde_json::Value;

use crate::document::{Document, DocumentType, ParseDocumentError, ParseDocumentTypeError};

/// What stands for the hidden characters of a masked value.
pub const MASK: &str = "••••";
/// Characters of a number shown at most: its last four (as receipts show card numbers).
pub const SHOWN_TAIL_CHARS_MAX: usize = 4;
/// Characters of a number that always stay hidden, however short it is.
pub const HIDDEN_CHARS_MIN: usize = 4;

/// The keys of an event's object that hold a person (API.md: a pay-in's `customer`, a payout's
/// `beneficiary`). Only the object's own keys are read: `metadata` is the merchant's, and is
/// sent as given.
pub const PERSON_KEYS: [&str; 2] = ["customer", "beneficiary"];

/// Masks the personal data of an event's object in place: in each person ([`PERSON_KEYS`]),
/// `name`, `email`, `phone` and `document.number` as the module documentation shows; any other
/// text a person holds becomes [`MASK`]. Nulls stay null; the document's `type` stays.
pub fn mask_personal_data(object: &mut Value) {
    let Value::Object(fields) = object else {
        return;
    };
    for key in PERSON_KEYS {
        if let Some(Value::Object(person)) = fields.get_mut(key) {
            for (field, value) in person.iter_mut() {
                mask_person_field(field, value);
            }
        }
    }
}

/// Whether the object holds a person whose data [`mask_personal_data`] would mask (so that
/// objects without one are not copied to be masked).
pub fn holds_personal_data(object: &Value) -> bool {
    PERSON_KEYS
        .iter()
        .any(|key| matches!(object.get(key), Some(Value::Object(_))))
}

fn mask_person_field(field: &str, value: &mut Value) {
    match (field, &mut *value) {
        (_, Value::Null) => {}
        ("document", Value::Object(document)) => {
            for (part, inner) in document.iter_mut() {
                match (part.as_str(), &*inner) {
                    ("type", _) | (_, Value::Null) => {}
                    ("number", Value::String(number)) => *inner = Value::from(mask_tail(number)),
                    _ => *inner = Value::from(MASK),
                }
            }
        }
        ("name", Value::String(name)) => *value = Value::from(mask_name(name)),
        ("email", Value::String(email)) => *value = Value::from(mask_email(email)),
        ("phone", Value::String(phone)) => *value = Value::from(mask_tail(phone)),
        _ => *value = Value::from(MASK),
    }
}

/// A number shown by its tail: [`MASK`] and its last characters, at most
/// [`SHOWN_TAIL_CHARS_MAX`], fewer when that would leave less than [`HIDDEN_CHARS_MIN`]
/// hidden. The tail is as written (`900123456-8` → `••••56-8`), so the masked value is always
/// the end of the full one.
pub fn mask_tail(number: &str) -> String {
    let chars: Vec<char> = number.trim().chars().collect();
    let shown = chars
        .len()
        .saturating_sub(HIDDEN_CHARS_MIN)
        .min(SHOWN_TAIL_CHARS_MAX);
    let tail: String = chars[chars.len() - shown..].iter().collect();
    format!("{MASK}{tail}")
}

/// A name by its initials: the first letter of each word and a dot (`María de la Cruz` →
/// `M. d. l. C.`); [`MASK`] for a name without letters.
pub fn mask_name(name: &str) -> String {
    let initials: Vec<String> = name
        .split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .map(|initial| format!("{initial}."))
        .collect();
    if initials.is_empty() {
        MASK.to_owned()
    } else {
        initials.join(" ")
    }
}

/// An e-mail address by its first character and its domain (`ana@example.com` →
/// `a•••@example.com`); [`MASK`] for text that is not an address.
pub fn mask_email(email: &str) -> String {
    match email.trim().rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        _ => MASK.to_owned(),
    }
}

/// A person named by their document, as an operator writes it: `TYPE:NUMBER`.
///
/// The number is compared in canonical form ([`Document::parse`]): spaces are dropped, and so
/// are dashes except a NIT's before its check digit (`CC:79.876.543`, `CC:79 876 543` and
/// `CC:79876543` name the same person). The type may be written in lower case.
pub fn parse_person_document(text: &str) -> Result<Document, ParsePersonDocumentError> {
    let (kind, number) = text
        .split_once(':')
        .ok_or(ParsePersonDocumentError::NoType)?;
    let kind: DocumentType = kind.trim().to_ascii_uppercase().parse()?;
    Ok(Document::parse(kind, &loosened(kind, number))?)
}

/// A document written by hand (a KYC form's `document_type` and `document_number`) in
/// canonical form, to compare with [`parse_person_document`]'s; `None` when it is not a valid
/// document of that type.
pub fn document_as_written(kind: &str, number: &str) -> Option<Document> {
    let kind: DocumentType = kind.trim().to_ascii_uppercase().parse().ok()?;
    Document::parse(kind, &loosened(kind, number)).ok()
}

/// The number without the separators people add: spaces always, dashes unless a NIT's.
fn loosened(kind: DocumentType, number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace() && (*c != '-' || kind == DocumentType::Nit))
        .collect()
}

/// `TYPE:NUMBER` is not a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParsePersonDocumentError {
    /// No `TYPE:` before the number.
    #[error("write the document as TYPE:NUMBER (CC:79876543, NIT:900123456-8)")]
    NoType,
    /// The type is not one of the document types.
    #[error(transparent)]
    Type(#[from] ParseDocumentTypeError),
    /// The number does not fit its type.
    #[error(transparent)]
    Number(#[from] ParseDocumentError),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_payout_event_shows_the_document_tail_the_initials_and_keeps_the_rest() {
        let mut payout = json!({
            "id": "po_1", "object": "payout", "amount": 200000,
            "beneficiary": {"name": "Luis Pérez", "document": {"type": "CC", "number": "79876543"},
                            "phone": "+573009876543", "email": "luis@example.com"},
            "metadata": {"customer": {"name": "Ana Gómez"}},
        });
        assert!(holds_personal_data(&payout));
        mask_personal_data(&mut payout);
        assert_eq!(
            payout,
            json!({
                "id": "po_1", "object": "payout", "amount": 200000,
                "beneficiary": {"name": "L. P.", "document": {"type": "CC", "number": "••••6543"},
                                "phone": "••••6543", "email": "l•••@example.com"},
                "metadata": {"customer": {"name": "Ana Gómez"}},
            })
        );
    }

    #[test]
    fn a_payin_without_customer_details_keeps_its_nulls() {
        let mut payin = json!({"customer": {"name": null, "email": null, "phone": null,
                                            "document": null}});
        let before = payin.clone();
        mask_personal_data(&mut payin);
        assert_eq!(payin, before);
        let mut none = json!({"id": "pi_1", "customer": null});
        assert!(!holds_personal_data(&none));
        mask_personal_data(&mut none);
        assert_eq!(none, json!({"id": "pi_1", "customer": null}));
    }

    #[test]
    fn fields_a_person_may_gain_later_are_hidden_whole() {
        let mut payin = json!({"customer": {"address": "Calle 1 # 2-3",
                                            "document": {"type": "CC", "number": "1020304050",
                                                         "issued_in": "Bogotá"}}});
        mask_personal_data(&mut payin);
        assert_eq!(
            payin,
            json!({"customer": {"address": MASK,
                                "document": {"type": "CC", "number": "••••4050", "issued_in": MASK}}})
        );
    }

    #[test]
    fn at_least_four_characters_of_a_number_stay_hidden() {
        for (number, masked) in [
            ("1020304050", "••••4050"),
            ("79876543", "••••6543"),
            ("9876543", "••••543"),
            ("123456", "••••56"),
            ("1234", "••••"),
            ("", "••••"),
            ("900123456-8", "••••56-8"),
            ("AB12345", "••••345"),
        ] {
            assert_eq!(mask_tail(number), masked, "{number}");
        }
    }

    #[test]
    fn names_become_initials_and_addresses_keep_their_domain() {
        assert_eq!(mask_name("Luis Pérez"), "L. P.");
        assert_eq!(mask_name("  Ángela  María de la Cruz "), "Á. M. d. l. C.");
        assert_eq!(mask_name("O'Neil"), "O.");
        assert_eq!(mask_name(" -- "), MASK);
        assert_eq!(mask_email("ana@example.com"), "a•••@example.com");
        assert_eq!(mask_email("ñandú@correo.co"), "ñ•••@correo.co");
        assert_eq!(mask_email("not an address"), MASK);
        assert_eq!(mask_email("@example.com"), MASK);
    }

    #[test]
    fn a_person_is_named_by_type_and_number_in_canonical_form() {
        for text in [
            "CC:79876543",
            "CC:79.876.543",
            "cc: 79 876 543",
            "CC:79-876-543",
        ] {
            let document = parse_person_document(text).unwrap();
            assert_eq!(document.kind(), DocumentType::Cc, "{text}");
            assert_eq!(document.number(), "79876543", "{text}");
        }
        let nit = parse_person_document("NIT:900.123.456-8").unwrap();
        assert_eq!(nit.number(), "900123456-8");
        assert_eq!(
            parse_person_document("NIT:9001234568").unwrap().number(),
            "900123456-8"
        );
        assert_eq!(
            parse_person_document("79876543"),
            Err(ParsePersonDocumentError::NoType)
        );
        assert!(matches!(
            parse_person_document("XX:79876543"),
            Err(ParsePersonDocumentError::Type(_))
        ));
        assert!(matches!(
            parse_person_document("NIT:900123456-1"),
            Err(ParsePersonDocumentError::Number(
                ParseDocumentError::BadCheckDigit { .. }
            ))
        ));
    }

    #[test]
    fn hand_written_documents_are_read_in_canonical_form_or_not_at_all() {
        let person = parse_person_document("CC:79876543").unwrap();
        assert_eq!(
            document_as_written("CC", "79.876.543"),
            Some(person.clone())
        );
        assert_eq!(
            document_as_written("cc", " 79 876 543 "),
            Some(person.clone())
        );
        assert_ne!(document_as_written("CE", "79876543"), Some(person));
        assert_eq!(document_as_written("CC", "79876x43"), None);
        assert_eq!(document_as_written("??", "79876543"), None);
    }
}
