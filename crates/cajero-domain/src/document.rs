//! Colombian identity documents: the type of a document and its number, checked on the way in.
//!
//! A [`Document`] can only be built by [`Document::parse`] (JSON goes through it too), so a
//! value of this type always holds a number in canonical form that fits the format of its
//! type, and a NIT always carries a correct DIAN check digit. Formats come from
//! `shared/reference/colombia.md`, "Identity documents".
//!
//! Input rules, the same for every type:
//! - leading and trailing whitespace is ignored; the input is otherwise taken as written;
//! - numeric documents (CC, TI, NIT, PEP, PPT) accept dots between two digits, because people
//!   write `1.020.304.050`; the dots are dropped. No other separator is accepted (no spaces,
//!   commas or dashes, except the NIT's one dash before its check digit);
//! - alphanumeric documents (CE, PA) accept ASCII letters and digits only, and are upper-cased.
//!
//! Error positions are 1-based and count characters (not bytes) of the input as given,
//! before trimming.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How many digits or characters a document number may have, both ends included.
#[derive(Debug, Clone, Copy)]
struct Length {
    min: usize,
    max: usize,
}

/// CC: 6–10 digits, the range dLocal accepts (colombia.md; EBANX is looser, 2–15).
const CC_DIGITS: Length = Length { min: 6, max: 10 };
/// CE: "up to 12 characters" (colombia.md). Numbers in use are 6–7 digits; 3 is a floor that
/// rejects obvious typos without guessing at older formats.
const CE_CHARS: Length = Length { min: 3, max: 12 };
/// TI: 10 digits (the NUIP, shared with the later cédula) or 11 (older cards). colombia.md
/// only says "digits".
const TI_DIGITS: Length = Length { min: 10, max: 11 };
/// NIT base (before the check digit): companies have 9 digits; a person's NIT is their cédula
/// number, so it has as many digits as a CC (6–10).
const NIT_BASE_DIGITS: Length = CC_DIGITS;
/// PA: "up to 12 alphanumeric" (colombia.md). ICAO 9303 passport numbers are at least 5 long
/// in practice; shorter input is a typo.
const PA_CHARS: Length = Length { min: 5, max: 12 };
/// PEP: exactly 15 digits (colombia.md).
const PEP_DIGITS: Length = Length { min: 15, max: 15 };
/// PPT: format not published; colombia.md says accept 6–15 digits.
const PPT_DIGITS: Length = Length { min: 6, max: 15 };

/// DIAN weights for the NIT check digit, applied to the base digits from right to left
/// (colombia.md, "NIT check digit").
const NIT_WEIGHTS: [u32; 15] = [3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71];

/// The kind of identity document, serialized as its upper-case code (`"CC"`, `"NIT"`, …).
///
/// `"PASS"` is accepted as an alias of `PA` when parsing or deserializing, because some
/// gateways use it (colombia.md); it is always written back as `"PA"`. Lower-case codes are
/// rejected: the API documents the codes in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DocumentType {
    /// Cédula de ciudadanía: Colombian citizens' national id.
    Cc,
    /// Cédula de extranjería: resident foreigners' id.
    Ce,
    /// Tarjeta de identidad: minors' id.
    Ti,
    /// Número de identificación tributaria: tax id, with a check digit.
    Nit,
    /// Passport.
    #[serde(alias = "PASS")]
    Pa,
    /// Permiso por protección temporal.
    Ppt,
    /// Permiso especial de permanencia.
    Pep,
}

impl DocumentType {
    /// Every document type, in the order the API documents them.
    pub const ALL: [DocumentType; 7] = [
        DocumentType::Cc,
        DocumentType::Ce,
        DocumentType::Ti,
        DocumentType::Nit,
        DocumentType::Pa,
        DocumentType::Ppt,
        DocumentType::Pep,
    ];

    /// The stable upper-case code used in the API and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            DocumentType::Cc => "CC",
            DocumentType::Ce => "CE",
            DocumentType::Ti => "TI",
            DocumentType::Nit => "NIT",
            DocumentType::Pa => "PA",
            DocumentType::Ppt => "PPT",
            DocumentType::Pep => "PEP",
        }
    }

    /// The document's name in Spanish, as shown to Colombian users (vouchers, pick-up pages).
    pub const fn spanish_name(self) -> &'static str {
        match self {
            DocumentType::Cc => "Cédula de ciudadanía",
            DocumentType::Ce => "Cédula de extranjería",
            DocumentType::Ti => "Tarjeta de identidad",
            DocumentType::Nit => "Número de identificación tributaria",
            DocumentType::Pa => "Pasaporte",
            DocumentType::Ppt => "Permiso por protección temporal",
            DocumentType::Pep => "Permiso especial de permanencia",
        }
    }

    const fn format(self) -> Format {
        match self {
            DocumentType::Cc => Format::Digits(CC_DIGITS),
            DocumentType::Ce => Format::Alphanumeric(CE_CHARS),
            DocumentType::Ti => Format::Digits(TI_DIGITS),
            DocumentType::Nit => Format::Nit,
            DocumentType::Pa => Format::Alphanumeric(PA_CHARS),
            DocumentType::Ppt => Format::Digits(PPT_DIGITS),
            DocumentType::Pep => Format::Digits(PEP_DIGITS),
        }
    }

    /// What the length limits count, for error messages.
    const fn length_unit(self) -> &'static str {
        match self.format() {
            Format::Digits(_) => "digits",
            Format::Alphanumeric(_) => "characters",
            Format::Nit => "digits before the check digit",
        }
    }

    /// Which characters are allowed, for error messages.
    const fn allowed_characters(self) -> &'static str {
        match self.format() {
            Format::Digits(_) => "only digits, optionally grouped with dots",
            Format::Alphanumeric(_) => "only letters A-Z and digits",
            Format::Nit => {
                "only digits, optionally grouped with dots, and a dash before the check digit"
            }
        }
    }
}

impl fmt::Display for DocumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocumentType {
    type Err = ParseDocumentTypeError;

    /// Accepts the exact upper-case codes, and `"PASS"` for [`DocumentType::Pa`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "PASS" {
            return Ok(DocumentType::Pa);
        }
        DocumentType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| ParseDocumentTypeError {
                input: s.to_owned(),
            })
    }
}

/// The text is not one of the document type codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown document type {}; expected one of CC, CE, TI, NIT, PA, PPT, PEP",
    crate::shown_text(.input)
)]
pub struct ParseDocumentTypeError {
    input: String,
}

impl ParseDocumentTypeError {
    /// The stable API error code: `document_type_invalid`.
    pub const fn code(&self) -> &'static str {
        "document_type_invalid"
    }
}

/// How the number of each document type is written.
#[derive(Debug, Clone, Copy)]
enum Format {
    Digits(Length),
    Alphanumeric(Length),
    Nit,
}

/// Why a document number was rejected.
///
/// [`code`](Self::code) gives the stable API code; the `Display` message is for humans.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseDocumentError {
    /// Nothing but whitespace.
    #[error("document number is empty")]
    Empty,
    /// A character the document type does not allow (letters in a numeric document, a stray
    /// separator, …). `position` is 1-based, in characters of the input as given.
    #[error(
        "{kind} number cannot contain {shown} (position {position}): it has {allowed}",
        allowed = .kind.allowed_characters(),
        shown = crate::shown_char(.character)
    )]
    InvalidCharacter {
        kind: DocumentType,
        position: usize,
        character: char,
    },
    /// Fewer digits or characters than the type needs (for a NIT: digits before the check
    /// digit).
    #[error("{kind} number needs at least {min} {unit}, got {got}", unit = .kind.length_unit())]
    TooShort {
        kind: DocumentType,
        min: usize,
        got: usize,
    },
    /// More digits or characters than the type allows (for a NIT: digits before the check
    /// digit).
    #[error("{kind} number allows at most {max} {unit}, got {got}", unit = .kind.length_unit())]
    TooLong {
        kind: DocumentType,
        max: usize,
        got: usize,
    },
    /// A NIT written with a dash must have exactly one digit after it.
    #[error("NIT needs exactly one check digit after the dash, found {got} digits")]
    CheckDigitLength { got: usize },
    /// The NIT's check digit does not match its base digits.
    #[error("NIT {base}-{got} has check digit {expected}, not {got}")]
    BadCheckDigit { base: String, expected: u8, got: u8 },
}

impl ParseDocumentError {
    /// The stable snake_case API error code:
    ///
    /// | variant | code |
    /// |---|---|
    /// | `Empty` | `document_number_empty` |
    /// | `TooShort` | `document_number_too_short` |
    /// | `TooLong` | `document_number_too_long` |
    /// | `InvalidCharacter`, `CheckDigitLength`, `BadCheckDigit` | `document_number_invalid` |
    pub const fn code(&self) -> &'static str {
        match self {
            ParseDocumentError::Empty => "document_number_empty",
            ParseDocumentError::TooShort { .. } => "document_number_too_short",
            ParseDocumentError::TooLong { .. } => "document_number_too_long",
            ParseDocumentError::InvalidCharacter { .. }
            | ParseDocumentError::CheckDigitLength { .. }
            | ParseDocumentError::BadCheckDigit { .. } => "document_number_invalid",
        }
    }
}

/// An identity document whose number fits its type.
///
/// Serialized as `{"type": "CC", "number": "1020304050"}`; deserializing goes through
/// [`Document::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "DocumentFields")]
pub struct Document {
    #[serde(rename = "type")]
    kind: DocumentType,
    number: String,
}

/// The JSON shape of a [`Document`] before it is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentFields {
    #[serde(rename = "type")]
    kind: DocumentType,
    number: String,
}

impl TryFrom<DocumentFields> for Document {
    type Error = ParseDocumentError;

    fn try_from(fields: DocumentFields) -> Result<Self, Self::Error> {
        Document::parse(fields.kind, &fields.number)
    }
}

impl Document {
    /// Checks `input` as a number of type `kind` and keeps it in canonical form: digits only
    /// for numeric types, upper case for CE and PA, and `900123456-8` (base, dash, check
    /// digit) for a NIT.
    ///
    /// A NIT may be written with or without the dash; without it, the last digit is the check
    /// digit. Its base has 6–10 digits (9 for companies; a person's NIT is their cédula).
    pub fn parse(kind: DocumentType, input: &str) -> Result<Document, ParseDocumentError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ParseDocumentError::Empty);
        }
        let offset = input.chars().take_while(|c| c.is_whitespace()).count();
        let number = match kind.format() {
            Format::Digits(length) => {
                let digits = digits_with_dots(kind, trimmed, offset)?;
                check_length(kind, digits.len(), length)?;
                digits
            }
            Format::Alphanumeric(length) => {
                let chars = ascii_alphanumeric_upper(kind, trimmed, offset)?;
                check_length(kind, chars.len(), length)?;
                chars
            }
            Format::Nit => parse_nit(trimmed, offset)?,
        };
        Ok(Document { kind, number })
    }

    /// The type of the document.
    pub const fn kind(&self) -> DocumentType {
        self.kind
    }

    /// The number in canonical form (see [`Document::parse`]).
    pub fn number(&self) -> &str {
        &self.number
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.number)
    }
}

/// The DIAN check digit of a NIT base (digits only, 1 to 15 of them, no dots or dash).
///
/// Digits are weighted right to left by 3, 7, 13, 17, …, 71; with r = sum mod 11 the check
/// digit is r when r ≤ 1, else 11 − r (colombia.md). `900123456` → 8, `800197268` → 4.
pub fn nit_check_digit(base_digits: &str) -> Result<u8, ParseDocumentError> {
    if base_digits.is_empty() {
        return Err(ParseDocumentError::Empty);
    }
    if let Some((index, character)) = base_digits
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_digit())
    {
        return Err(ParseDocumentError::InvalidCharacter {
            kind: DocumentType::Nit,
            position: index + 1,
            character,
        });
    }
    if base_digits.len() > NIT_WEIGHTS.len() {
        return Err(ParseDocumentError::TooLong {
            kind: DocumentType::Nit,
            max: NIT_WEIGHTS.len(),
            got: base_digits.len(),
        });
    }
    Ok(check_digit_of_ascii_digits(base_digits))
}

/// The check digit of `digits`, which must be 1 to 15 ASCII digits.
///
/// Residues 1 and 10 both give check digit 1, so unlike the residue the check digit does not
/// catch every single-digit typo (`900000002-1` and `900000005-1` are both valid).
fn check_digit_of_ascii_digits(digits: &str) -> u8 {
    let r = weighted_residue(digits);
    if r <= 1 { r } else { 11 - r }
}

/// Σ digit × weight mod 11, digits taken right to left. Every weight is non-zero mod 11 (a
/// prime), so changing any one digit always changes this residue.
fn weighted_residue(digits: &str) -> u8 {
    debug_assert!(digits.len() <= NIT_WEIGHTS.len() && digits.bytes().all(|b| b.is_ascii_digit()));
    let sum: u32 = digits
        .bytes()
        .rev()
        .zip(NIT_WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    // The residue is below 11, so the conversion is exact.
    (sum % 11) as u8
}

/// Splits a NIT into base and check digit, checks both, and returns `base-check`.
fn parse_nit(trimmed: &str, offset: usize) -> Result<String, ParseDocumentError> {
    let kind = DocumentType::Nit;
    let (base, got) = match trimmed.split_once('-') {
        Some((base_part, check_part)) => {
            let base = digits_with_dots(kind, base_part, offset)?;
            let check_offset = offset + base_part.chars().count() + 1;
            let check = digits_with_dots(kind, check_part, check_offset)?;
            match check.as_bytes() {
                [digit] => (base, digit - b'0'),
                _ => return Err(ParseDocumentError::CheckDigitLength { got: check.len() }),
            }
        }
        None => {
            let mut base = digits_with_dots(kind, trimmed, offset)?;
            match base.pop().and_then(|c| c.to_digit(10)) {
                // A digit is below 10, so the conversion is exact.
                Some(digit) => (base, digit as u8),
                None => return Err(ParseDocumentError::Empty),
            }
        }
    };
    check_length(kind, base.len(), NIT_BASE_DIGITS)?;
    let expected = check_digit_of_ascii_digits(&base);
    if got != expected {
        return Err(ParseDocumentError::BadCheckDigit {
            base,
            expected,
            got,
        });
    }
    Ok(format!("{base}-{got}"))
}

/// The digits of `part`, dropping dots that sit between two digits. `offset` is the number of
/// characters of the original input before `part`, for error positions.
fn digits_with_dots(
    kind: DocumentType,
    part: &str,
    offset: usize,
) -> Result<String, ParseDocumentError> {
    let chars: Vec<char> = part.chars().collect();
    let mut digits = String::with_capacity(chars.len());
    for (index, &character) in chars.iter().enumerate() {
        let digit_before = index > 0 && chars[index - 1].is_ascii_digit();
        let digit_after = chars.get(index + 1).is_some_and(char::is_ascii_digit);
        if character.is_ascii_digit() {
            digits.push(character);
        } else if !(character == '.' && digit_before && digit_after) {
            return Err(ParseDocumentError::InvalidCharacter {
                kind,
                position: offset + index + 1,
                character,
            });
        }
    }
    Ok(digits)
}

/// `part` upper-cased, if it has only ASCII letters and digits.
fn ascii_alphanumeric_upper(
    kind: DocumentType,
    part: &str,
    offset: usize,
) -> Result<String, ParseDocumentError> {
    part.chars()
        .enumerate()
        .map(|(index, character)| {
            if character.is_ascii_alphanumeric() {
                Ok(character.to_ascii_uppercase())
            } else {
                Err(ParseDocumentError::InvalidCharacter {
                    kind,
                    position: offset + index + 1,
                    character,
                })
            }
        })
        .collect()
}

fn check_length(kind: DocumentType, got: usize, length: Length) -> Result<(), ParseDocumentError> {
    let Length { min, max } = length;
    if got < min {
        Err(ParseDocumentError::TooShort { kind, min, got })
    } else if got > max {
        Err(ParseDocumentError::TooLong { kind, max, got })
    } else {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use DocumentType::{Cc, Ce, Nit, Pa, Pep, Ppt, Ti};
    use ParseDocumentError::{
        BadCheckDigit, CheckDigitLength, Empty, InvalidCharacter, TooLong, TooShort,
    };
    use proptest::prelude::*;

    fn invalid(kind: DocumentType, position: usize, character: char) -> ParseDocumentError {
        InvalidCharacter {
            kind,
            position,
            character,
        }
    }

    fn short(kind: DocumentType, min: usize, got: usize) -> ParseDocumentError {
        TooShort { kind, min, got }
    }

    fn long(kind: DocumentType, max: usize, got: usize) -> ParseDocumentError {
        TooLong { kind, max, got }
    }

    fn bad_check(base: &str, expected: u8, got: u8) -> ParseDocumentError {
        BadCheckDigit {
            base: base.to_owned(),
            expected,
            got,
        }
    }

    #[test]
    fn valid_numbers_are_kept_in_canonical_form() {
        let cases = [
            (Cc, "1020304050", "1020304050"),
            (Cc, " 1.020.304.050\t", "1020304050"),
            (Cc, "79.876.543", "79876543"),
            (Cc, "123456", "123456"),
            (Ce, "123456", "123456"),
            (Ce, "ab1234", "AB1234"),
            (Ce, "E12", "E12"),
            (Ti, "1020304050", "1020304050"),
            (Ti, "95031512345", "95031512345"),
            (Nit, "900123456-8", "900123456-8"),
            (Nit, "9001234568", "900123456-8"),
            (Nit, "900.123.456-8", "900123456-8"),
            (Nit, "  800197268-4 ", "800197268-4"),
            (Nit, "890900286-0", "890900286-0"),
            (Nit, "900649119-9", "900649119-9"),
            (Nit, "79876543-4", "79876543-4"),
            (Nit, "1.020.304.050-8", "1020304050-8"),
            (Pa, "av1234567", "AV1234567"),
            (Pa, "X1234", "X1234"),
            (Pep, "123456789012345", "123456789012345"),
            (Pep, "123.456.789.012.345", "123456789012345"),
            (Ppt, "123456", "123456"),
            (Ppt, "123456789012345", "123456789012345"),
        ];
        for (kind, input, number) in cases {
            let document = Document::parse(kind, input)
                .unwrap_or_else(|e| panic!("{kind} {input:?} should parse: {e}"));
            assert_eq!(document.kind(), kind);
            assert_eq!(document.number(), number, "{kind} {input:?}");
        }
    }

    #[test]
    fn invalid_numbers_are_rejected_with_the_precise_reason() {
        let cases = [
            (Cc, "", Empty),
            (Cc, " \t ", Empty),
            (Cc, "12345", short(Cc, 6, 5)),
            (Cc, "12345678901", long(Cc, 10, 11)),
            (Cc, "10203O4050", invalid(Cc, 6, 'O')),
            (Cc, " 1020 304", invalid(Cc, 6, ' ')),
            (Cc, ".1020304050", invalid(Cc, 1, '.')),
            (Cc, "1020304050.", invalid(Cc, 11, '.')),
            (Cc, "1..020304050", invalid(Cc, 2, '.')),
            (Cc, "1,020,304,050", invalid(Cc, 2, ',')),
            (Cc, "-1020304050", invalid(Cc, 1, '-')),
            (Cc, "１０２０３０４０５０", invalid(Cc, 1, '１')),
            (Ce, "12", short(Ce, 3, 2)),
            (Ce, "1234567890123", long(Ce, 12, 13)),
            (Ce, "12-345", invalid(Ce, 3, '-')),
            (Ce, "1.234.567", invalid(Ce, 2, '.')),
            (Ti, "123456789", short(Ti, 10, 9)),
            (Ti, "123456789012", long(Ti, 11, 12)),
            (Ti, "10203040SO", invalid(Ti, 9, 'S')),
            (Nit, "900123456-1", bad_check("900123456", 8, 1)),
            (Nit, "9001234561", bad_check("900123456", 8, 1)),
            (Nit, "900123456-", CheckDigitLength { got: 0 }),
            (Nit, "900123456-81", CheckDigitLength { got: 2 }),
            (Nit, "900123456-8-1", invalid(Nit, 12, '-')),
            (Nit, "900123456-X", invalid(Nit, 11, 'X')),
            (Nit, "NIT 900123456-8", invalid(Nit, 1, 'N')),
            (Nit, "900 123 456-8", invalid(Nit, 4, ' ')),
            (Nit, "12345-6", short(Nit, 6, 5)),
            (Nit, "12345678901-2", long(Nit, 10, 11)),
            (Pa, "AB12", short(Pa, 5, 4)),
            (Pa, "AB12345678901", long(Pa, 12, 13)),
            (Pa, "ÑA1234567", invalid(Pa, 1, 'Ñ')),
            (Pep, "12345678901234", short(Pep, 15, 14)),
            (Pep, "1234567890123456", long(Pep, 15, 16)),
            (Ppt, "12345", short(Ppt, 6, 5)),
            (Ppt, "1234567890123456", long(Ppt, 15, 16)),
        ];
        for (kind, input, error) in cases {
            assert_eq!(Document::parse(kind, input), Err(error), "{kind} {input:?}");
        }
    }

    #[test]
    fn a_wrong_nit_check_digit_says_which_digit_it_should_be() {
        let error = Document::parse(Nit, "900123456-1").unwrap_err();

        assert_eq!(
            error.to_string(),
            "NIT 900123456-1 has check digit 8, not 1"
        );
        assert_eq!(error.code(), "document_number_invalid");
    }

    #[test]
    fn error_messages_name_the_document_type_and_the_limit() {
        let too_short = Document::parse(Cc, "12345").unwrap_err();
        let letter = Document::parse(Cc, "10203O4050").unwrap_err();

        assert_eq!(
            too_short.to_string(),
            "CC number needs at least 6 digits, got 5"
        );
        assert_eq!(
            letter.to_string(),
            "CC number cannot contain 'O' (position 6): it has only digits, optionally grouped with dots"
        );
    }

    #[test]
    fn every_error_has_a_stable_code() {
        let cases = [
            (Empty, "document_number_empty"),
            (short(Cc, 6, 5), "document_number_too_short"),
            (long(Cc, 10, 11), "document_number_too_long"),
            (invalid(Cc, 1, 'x'), "document_number_invalid"),
            (CheckDigitLength { got: 2 }, "document_number_invalid"),
            (bad_check("1", 8, 1), "document_number_invalid"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error:?}");
        }
    }

    #[test]
    fn nit_check_digits_match_known_nits() {
        let cases = [
            ("900123456", 8),
            ("800197268", 4), // DIAN
            ("890900286", 0),
            ("900649119", 9),
            ("860034313", 7),
        ];
        for (base, check) in cases {
            assert_eq!(nit_check_digit(base), Ok(check), "{base}");
        }
    }

    #[test]
    fn residues_1_and_10_share_check_digit_1_so_some_single_digit_typos_pass() {
        assert_eq!(
            (weighted_residue("900000002"), weighted_residue("900000005")),
            (1, 10)
        );

        assert_eq!(nit_check_digit("900000002"), Ok(1));
        assert_eq!(nit_check_digit("900000005"), Ok(1));
    }

    #[test]
    fn nit_check_digit_rejects_bases_it_cannot_weigh() {
        assert_eq!(nit_check_digit(""), Err(Empty));
        assert_eq!(nit_check_digit("900.123"), Err(invalid(Nit, 4, '.')));
        assert_eq!(nit_check_digit("1234567890123456"), Err(long(Nit, 15, 16)));
    }

    #[test]
    fn document_types_parse_from_their_codes_and_pass_for_passports() {
        for kind in DocumentType::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!("PASS".parse(), Ok(Pa));
        for bad in ["", "cc", "Cc", " CC", "DNI"] {
            let error = bad.parse::<DocumentType>().unwrap_err();
            assert_eq!(error.code(), "document_type_invalid");
        }
        assert_eq!(Cc.spanish_name(), "Cédula de ciudadanía");
    }

    #[test]
    fn document_types_serialize_as_their_codes() {
        for kind in DocumentType::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<DocumentType>(&json).unwrap(), kind);
        }
        assert_eq!(
            serde_json::from_str::<DocumentType>("\"PASS\"").unwrap(),
            Pa
        );
        assert!(serde_json::from_str::<DocumentType>("\"cc\"").is_err());
    }

    #[test]
    fn documents_serialize_as_type_and_canonical_number() {
        let document = Document::parse(Nit, "900.123.456-8").unwrap();

        let json = serde_json::to_value(&document).unwrap();

        assert_eq!(
            json,
            serde_json::json!({"type": "NIT", "number": "900123456-8"})
        );
    }

    #[test]
    fn deserializing_a_document_goes_through_parse() {
        let document: Document =
            serde_json::from_str(r#"{"type": "CC", "number": "1.020.304.050"}"#).unwrap();
        assert_eq!(document, Document::parse(Cc, "1020304050").unwrap());

        let rejected = [
            r#"{"type": "NIT", "number": "900123456-1"}"#,
            r#"{"type": "CC", "number": "12AB56"}"#,
            r#"{"type": "CC", "number": ""}"#,
            r#"{"type": "CC", "number": 1020304050}"#,
            r#"{"type": "XX", "number": "1020304050"}"#,
            r#"{"type": "CC"}"#,
            r#"{"type": "CC", "number": "1020304050", "extra": 1}"#,
        ];
        for json in rejected {
            assert!(serde_json::from_str::<Document>(json).is_err(), "{json}");
        }
        let error = serde_json::from_str::<Document>(rejected[0]).unwrap_err();
        assert!(
            error.to_string().contains("has check digit 8, not 1"),
            "{error}"
        );
    }

    fn with_thousands_dots(digits: &str) -> String {
        let mut out = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                out.push('.');
            }
            out.push(digit);
        }
        out
    }

    /// Any valid document, as (type, number as someone might type it).
    fn valid_document_input() -> impl Strategy<Value = (DocumentType, String)> {
        let nit = "[0-9]{6,10}".prop_map(|base| {
            let check = nit_check_digit(&base).unwrap();
            (Nit, format!("{base}-{check}"))
        });
        prop_oneof![
            "[0-9]{6,10}".prop_map(|n| (Cc, n)),
            "[0-9]{6,10}".prop_map(|n| (Cc, with_thousands_dots(&n))),
            "[A-Za-z0-9]{3,12}".prop_map(|n| (Ce, n)),
            "[0-9]{10,11}".prop_map(|n| (Ti, n)),
            nit,
            "[A-Za-z0-9]{5,12}".prop_map(|n| (Pa, n)),
            "[0-9]{15}".prop_map(|n| (Pep, n)),
            "[0-9]{6,15}".prop_map(|n| (Ppt, n)),
        ]
    }

    proptest! {
        #[test]
        fn a_computed_check_digit_is_accepted_however_the_nit_is_written(base in "[0-9]{9}") {
            let check = nit_check_digit(&base).unwrap();
            let canonical = format!("{base}-{check}");
            let written = [
                canonical.clone(),
                format!("{base}{check}"),
                format!("{}-{check}", with_thousands_dots(&base)),
                format!(" {}{check} ", with_thousands_dots(&base)),
            ];
            for input in written {
                let document = Document::parse(Nit, &input).unwrap();
                prop_assert_eq!(document.number(), canonical.as_str());
            }
        }

        #[test]
        fn every_other_check_digit_is_rejected(base in "[0-9]{9}", got in 0u8..10) {
            let expected = nit_check_digit(&base).unwrap();
            prop_assume!(got != expected);
            let error = BadCheckDigit { base: base.clone(), expected, got };

            prop_assert_eq!(Document::parse(Nit, &format!("{base}-{got}")), Err(error.clone()));
            prop_assert_eq!(Document::parse(Nit, &format!("{base}{got}")), Err(error));
        }

        #[test]
        fn changing_one_base_digit_changes_the_check_digit_unless_residues_1_and_10_meet(
            base in "[0-9]{1,15}",
            position in any::<prop::sample::Index>(),
            shift in 1u8..10,
        ) {
            let mut digits = base.clone().into_bytes();
            let index = position.index(digits.len());
            digits[index] = b'0' + (digits[index] - b'0' + shift) % 10;
            let changed = String::from_utf8(digits).unwrap();
            let residues = (weighted_residue(&base), weighted_residue(&changed));

            prop_assert_ne!(residues.0, residues.1);
            if residues != (1, 10) && residues != (10, 1) {
                prop_assert_ne!(nit_check_digit(&base).unwrap(), nit_check_digit(&changed).unwrap());
            }
        }

        #[test]
        fn a_letter_in_a_numeric_document_is_rejected_where_it_is(
            before in "[0-9]{0,8}",
            letter in "[a-zA-ZñÑ]",
            after in "[0-9]{0,8}",
            kind in prop::sample::select(vec![Cc, Ti, Nit, Pep, Ppt]),
        ) {
            let input = format!("{before}{letter}{after}");
            let character = letter.chars().next().unwrap();
            let position = before.chars().count() + 1;

            prop_assert_eq!(
                Document::parse(kind, &input),
                Err(InvalidCharacter { kind, position, character })
            );
        }

        #[test]
        fn parsing_never_panics(
            input in prop_oneof![any::<String>(), "[0-9.\\- A-Za-z]{0,20}"],
            kind in prop::sample::select(DocumentType::ALL.to_vec()),
        ) {
            let _ = Document::parse(kind, &input);
            let _ = nit_check_digit(&input);
            let _ = input.parse::<DocumentType>();
        }

        #[test]
        fn a_parsed_number_parses_back_to_the_same_document(
            (kind, input) in valid_document_input(),
        ) {
            let document = Document::parse(kind, &input).unwrap();

            prop_assert_eq!(Document::parse(kind, document.number()), Ok(document.clone()));
            let json = serde_json::to_string(&document).unwrap();
            prop_assert_eq!(serde_json::from_str::<Document>(&json).unwrap(), document);
        }
    }
}
