//! A person's full name as given to a cash network: a customer paying a voucher or a
//! beneficiary collecting a payout, whose name the counter compares with their document.
//!
//! [`PersonName::parse`] is the only way in (JSON goes through it too). It trims the input and
//! collapses every run of whitespace into one space, and otherwise keeps the name exactly as
//! given: no case change and no Unicode normalization (there is no normalization table among
//! our dependencies), so `José` written with a combining accent stays that way.
//!
//! Allowed characters: Unicode letters (accents, `ñ`, other scripts), combining accents
//! (U+0300–U+036F) right after a letter, spaces, apostrophes (`'` and `’`, as in
//! `D’Alemán`), hyphens (`Gómez-Ruiz`) and periods (`Ma. José`, `Jr.`), since abbreviated
//! given names are common in Colombia. Digits, other punctuation and control characters are
//! rejected.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Fewest characters in a name: one letter is never a full name, two can be (`Li`).
pub const PERSON_NAME_CHARS_MIN: usize = 2;
/// Most characters in a name, counted after whitespace is collapsed: room for several given
/// names and two surnames, while keeping the name printable on a voucher.
pub const PERSON_NAME_CHARS_MAX: usize = 120;

/// Combining diacritical marks, the accents of decomposed (NFD) Latin text such as `e` +
/// U+0301. `char::is_alphabetic` does not include them.
const COMBINING_DIACRITICS: std::ops::RangeInclusive<char> = '\u{0300}'..='\u{036F}';

/// A person's name: 2–120 characters of letters, single spaces, apostrophes, hyphens and
/// periods, with at least one letter. Serialized as a plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

/// Why a name was rejected. [`code`](Self::code) gives the stable API code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParsePersonNameError {
    /// Fewer characters than [`PERSON_NAME_CHARS_MIN`] after trimming (an empty name too).
    #[error("name needs at least {min} characters, got {got}")]
    TooShort { min: usize, got: usize },
    /// More characters than [`PERSON_NAME_CHARS_MAX`] after collapsing whitespace.
    #[error("name allows at most {max} characters, got {got}")]
    TooLong { max: usize, got: usize },
    /// A character a name cannot contain. `position` is 1-based, in characters of the input
    /// as given.
    #[error(
        "name cannot contain {shown} (position {position}): only letters, spaces, \
         apostrophes, hyphens and periods",
        shown = crate::shown_char(.character)
    )]
    InvalidCharacter { position: usize, character: char },
    /// Only punctuation, no letter at all.
    #[error("name has no letters")]
    NoLetters,
}

impl ParsePersonNameError {
    /// The stable snake_case API error code: `name_too_short`, `name_too_long`, or
    /// `name_invalid` (for `InvalidCharacter` and `NoLetters`).
    pub const fn code(&self) -> &'static str {
        match self {
            ParsePersonNameError::TooShort { .. } => "name_too_short",
            ParsePersonNameError::TooLong { .. } => "name_too_long",
            ParsePersonNameError::InvalidCharacter { .. } | ParsePersonNameError::NoLetters => {
                "name_invalid"
            }
        }
    }
}

impl PersonName {
    /// Checks `input` as a person's name (see the module documentation for the rules) and
    /// keeps it trimmed, with whitespace runs collapsed to one space.
    pub fn parse(input: &str) -> Result<PersonName, ParsePersonNameError> {
        let mut name = String::with_capacity(input.len());
        let mut space_pending = false;
        let mut has_letter = false;
        let mut after_letter = false;
        for (index, character) in input.chars().enumerate() {
            if character.is_whitespace() {
                space_pending = !name.is_empty();
                after_letter = false;
                continue;
            }
            let is_letter = character.is_alphabetic();
            let is_accent = after_letter && COMBINING_DIACRITICS.contains(&character);
            let allowed = is_letter || is_accent || matches!(character, '\'' | '’' | '-' | '.');
            if !allowed {
                return Err(ParsePersonNameError::InvalidCharacter {
                    position: index + 1,
                    character,
                });
            }
            if space_pending {
                name.push(' ');
                space_pending = false;
            }
            name.push(character);
            has_letter |= is_letter;
            after_letter = is_letter || is_accent;
        }
        let got = name.chars().count();
        if got < PERSON_NAME_CHARS_MIN {
            return Err(ParsePersonNameError::TooShort {
                min: PERSON_NAME_CHARS_MIN,
                got,
            });
        }
        if got > PERSON_NAME_CHARS_MAX {
            return Err(ParsePersonNameError::TooLong {
                max: PERSON_NAME_CHARS_MAX,
                got,
            });
        }
        if !has_letter {
            return Err(ParsePersonNameError::NoLetters);
        }
        Ok(PersonName(name))
    }

    /// The name as stored: trimmed, single spaces.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PersonName {
    type Error = ParsePersonNameError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        PersonName::parse(&input)
    }
}

impl From<PersonName> for String {
    fn from(name: PersonName) -> String {
        name.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use ParsePersonNameError::{InvalidCharacter, NoLetters, TooLong, TooShort};
    use proptest::prelude::*;

    #[test]
    fn valid_names_are_trimmed_and_single_spaced() {
        let cases = [
            ("Ana Gómez", "Ana Gómez"),
            ("  Luis   Pérez\t", "Luis Pérez"),
            ("María\u{00A0}José\nNúñez", "María José Núñez"),
            ("Ma. José Ortiz", "Ma. José Ortiz"),
            ("Ana-María Gómez-Ruiz", "Ana-María Gómez-Ruiz"),
            ("D'Alemán", "D'Alemán"),
            ("D’Alemán", "D’Alemán"),
            ("Jose\u{0301}", "Jose\u{0301}"),
            ("Li", "Li"),
            ("Ñ.", "Ñ."),
            ("김민준", "김민준"),
        ];
        for (input, stored) in cases {
            let name =
                PersonName::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
            assert_eq!(name.as_str(), stored, "{input:?}");
            assert_eq!(name.to_string(), stored);
        }
    }

    #[test]
    fn invalid_names_are_rejected_with_the_precise_reason() {
        let too_long = "a".repeat(PERSON_NAME_CHARS_MAX + 1);
        let cases = [
            ("", TooShort { min: 2, got: 0 }),
            ("   ", TooShort { min: 2, got: 0 }),
            (" A ", TooShort { min: 2, got: 1 }),
            (too_long.as_str(), TooLong { max: 120, got: 121 }),
            (
                "Ana 2",
                InvalidCharacter {
                    position: 5,
                    character: '2',
                },
            ),
            (
                "Ana_Gómez",
                InvalidCharacter {
                    position: 4,
                    character: '_',
                },
            ),
            (
                "  Ana, Luis",
                InvalidCharacter {
                    position: 6,
                    character: ',',
                },
            ),
            (
                "Ñañez@",
                InvalidCharacter {
                    position: 6,
                    character: '@',
                },
            ),
            (
                "Ana\u{0000}",
                InvalidCharacter {
                    position: 4,
                    character: '\u{0000}',
                },
            ),
            (
                "Ana \u{0301}",
                InvalidCharacter {
                    position: 5,
                    character: '\u{0301}',
                },
            ),
            (
                "'\u{0301}",
                InvalidCharacter {
                    position: 2,
                    character: '\u{0301}',
                },
            ),
            ("--", NoLetters),
            ("'. -", NoLetters),
        ];
        for (input, error) in cases {
            assert_eq!(PersonName::parse(input), Err(error), "{input:?}");
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let max_of_two_byte_letters = "ñ".repeat(PERSON_NAME_CHARS_MAX);

        assert!(PersonName::parse(&max_of_two_byte_letters).is_ok());
        assert_eq!(
            PersonName::parse(&format!("{max_of_two_byte_letters}ñ")),
            Err(TooLong { max: 120, got: 121 })
        );
    }

    #[test]
    fn every_error_has_a_stable_code_and_a_readable_message() {
        let cases = [
            (
                TooShort { min: 2, got: 1 },
                "name_too_short",
                "name needs at least 2 characters, got 1",
            ),
            (
                TooLong { max: 120, got: 121 },
                "name_too_long",
                "name allows at most 120 characters, got 121",
            ),
            (
                InvalidCharacter {
                    position: 5,
                    character: '2',
                },
                "name_invalid",
                "name cannot contain '2' (position 5): only letters, spaces, apostrophes, hyphens and periods",
            ),
            (NoLetters, "name_invalid", "name has no letters"),
        ];
        for (error, code, message) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn names_serialize_as_plain_strings_and_deserialize_through_parse() {
        let name: PersonName = serde_json::from_str(r#"" Luis   Pérez ""#).unwrap();

        assert_eq!(serde_json::to_string(&name).unwrap(), r#""Luis Pérez""#);
        for bad in [r#""""#, r#""R2-D2""#, "42", "null"] {
            assert!(serde_json::from_str::<PersonName>(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in prop_oneof![any::<String>(), "[a-zñ '.\\-\u{0301}0-9]{0,20}"]) {
            let _ = PersonName::parse(&input);
        }

        #[test]
        fn a_parsed_name_parses_back_to_itself(input in "[ \t]{0,3}[A-Za-zÁÉÍÓÚáéíóúÑñ][A-Za-zÁÉÍÓÚáéíóúÑñ '’.\\-\t]{0,60}[a-zñ]") {
            let name = PersonName::parse(&input).unwrap();

            prop_assert_eq!(PersonName::parse(name.as_str()), Ok(name.clone()));
            prop_assert!(!name.as_str().contains("  "));
            let json = serde_json::to_string(&name).unwrap();
            prop_assert_eq!(serde_json::from_str::<PersonName>(&json).unwrap(), name);
        }
    }
}
