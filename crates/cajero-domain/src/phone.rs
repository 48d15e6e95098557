//! Colombian phone numbers, kept in E.164 form (`+573001234567`).
//!
//! Cash networks send codes and notices by SMS and print a contact number on vouchers; cajero
//! only serves Colombia, so [`PhoneNumber::parse`] accepts Colombian numbers only and says so
//! when given another country's.
//!
//! Accepted input, once surrounding whitespace is trimmed:
//! - an optional leading `+`, which must be followed by the country code 57;
//! - without `+`, either the 10-digit national number or 57 followed by it (12 digits: no
//!   national number has 12 digits, so the reading is unambiguous);
//! - spaces, dashes, dots and parentheses anywhere after the `+`, ignored as separators.
//!
//! The national number (Resolución CRC 5826 de 2019, numbering plan in force since
//! 1 September 2021) has 10 digits: mobile numbers start with 3, fixed lines with 60 and a
//! region digit (601 Bogotá, 602 south-west, 604 Antioquia, 605 Caribbean coast, 606 coffee
//! region, 607 north-east, 608 the rest; 603 is not assigned). The old fixed-line forms
//! (`(1) 234 5678`, trunk prefix 0) are rejected.
//!
//! Error positions are 1-based and count characters of the input as given, before trimming.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Colombia's country calling code (ITU-T E.164).
const COUNTRY_CODE: &str = "57";
/// Digits in a Colombian national number (CRC numbering plan).
const NATIONAL_NUMBER_DIGITS: usize = 10;
/// Region digits that follow `60` in a fixed-line number (CRC numbering plan).
const FIXED_LINE_REGIONS: [u8; 7] = [b'1', b'2', b'4', b'5', b'6', b'7', b'8'];

/// A Colombian mobile or fixed-line number, stored as E.164 (`+57` and 10 digits).
/// Serialized as that string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

/// Why a phone number was rejected. [`code`](Self::code) gives the stable API code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParsePhoneNumberError {
    /// Nothing but whitespace.
    #[error("phone number is empty")]
    Empty,
    /// Neither a digit nor a separator, or a `+` that is not the first character. `position`
    /// is 1-based, in characters of the input as given.
    #[error(
        "phone number cannot contain {shown} (position {position}): only digits, a \
         leading +, spaces, dashes, dots and parentheses",
        shown = crate::shown_char(.character)
    )]
    InvalidCharacter { position: usize, character: char },
    /// A `+` followed by a country code other than 57.
    #[error("only Colombian phone numbers (+57) are supported")]
    UnsupportedCountryCode,
    /// The national number (after +57, if present) does not have 10 digits.
    #[error("a Colombian phone number has 10 digits after +57, got {got}")]
    WrongLength { got: usize },
    /// 10 digits, but neither a mobile (3…) nor a fixed-line (601–608) number.
    #[error(
        "a Colombian phone number starts with 3 (mobile) or 601, 602 or 604 to 608 (fixed line)"
    )]
    UnknownPrefix,
}

impl ParsePhoneNumberError {
    /// The stable snake_case API error code: `phone_number_empty`,
    /// `phone_number_country_unsupported`, or `phone_number_invalid` for the other variants.
    pub const fn code(&self) -> &'static str {
        match self {
            ParsePhoneNumberError::Empty => "phone_number_empty",
            ParsePhoneNumberError::UnsupportedCountryCode => "phone_number_country_unsupported",
            ParsePhoneNumberError::InvalidCharacter { .. }
            | ParsePhoneNumberError::WrongLength { .. }
            | ParsePhoneNumberError::UnknownPrefix => "phone_number_invalid",
        }
    }
}

impl PhoneNumber {
    /// Checks `input` as a Colombian phone number (see the module documentation for what is
    /// accepted) and keeps it as E.164.
    pub fn parse(input: &str) -> Result<PhoneNumber, ParsePhoneNumberError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ParsePhoneNumberError::Empty);
        }
        let leading = input.chars().take_while(|c| c.is_whitespace()).count();
        let (has_plus, rest, offset) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest, leading + 1),
            None => (false, trimmed, leading),
        };
        let digits = digits_of(rest, offset)?;
        let national = if has_plus {
            match digits.strip_prefix(COUNTRY_CODE) {
                Some(national) => national,
                // "+" or "+5": too short to tell the country.
                None if COUNTRY_CODE.starts_with(digits.as_str()) => "",
                None => return Err(ParsePhoneNumberError::UnsupportedCountryCode),
            }
        } else {
            match digits.strip_prefix(COUNTRY_CODE) {
                Some(national) if digits.len() == COUNTRY_CODE.len() + NATIONAL_NUMBER_DIGITS => {
                    national
                }
                _ => digits.as_str(),
            }
        };
        if national.len() != NATIONAL_NUMBER_DIGITS {
            return Err(ParsePhoneNumberError::WrongLength {
                got: national.len(),
            });
        }
        if !is_mobile(national) && !is_fixed_line(national) {
            return Err(ParsePhoneNumberError::UnknownPrefix);
        }
        Ok(PhoneNumber(format!("+{COUNTRY_CODE}{national}")))
    }

    /// The number in E.164 form: `+57` and the 10-digit national number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 10-digit national number, without `+57`.
    pub fn national_number(&self) -> &str {
        // Built by `parse` as "+57" and 10 ASCII digits.
        &self.0[1 + COUNTRY_CODE.len()..]
    }

    /// Whether this is a mobile number (one that can receive SMS).
    pub fn is_mobile(&self) -> bool {
        is_mobile(self.national_number())
    }
}

/// The digits of `part`, skipping separators. `offset` is the number of characters of the
/// original input before `part`, for error positions.
fn digits_of(part: &str, offset: usize) -> Result<String, ParsePhoneNumberError> {
    let mut digits = String::with_capacity(part.len());
    for (index, character) in part.chars().enumerate() {
        if character.is_ascii_digit() {
            digits.push(character);
        } else if !(character.is_whitespace() || matches!(character, '-' | '.' | '(' | ')')) {
            return Err(ParsePhoneNumberError::InvalidCharacter {
                position: offset + index + 1,
                character,
            });
        }
    }
    Ok(digits)
}

fn is_mobile(national: &str) -> bool {
    national.starts_with('3')
}

fn is_fixed_line(national: &str) -> bool {
    match national.as_bytes() {
        [b'6', b'0', region, ..] => FIXED_LINE_REGIONS.contains(region),
        _ => false,
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ParsePhoneNumberError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&input)
    }
}

impl From<PhoneNumber> for String {
    fn from(phone: PhoneNumber) -> String {
        phone.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use ParsePhoneNumberError::{
        Empty, InvalidCharacter, UnknownPrefix, UnsupportedCountryCode, WrongLength,
    };
    use proptest::prelude::*;

    #[test]
    fn valid_numbers_are_stored_as_e164() {
        let cases = [
            ("+573001234567", "+573001234567"),
            ("573001234567", "+573001234567"),
            ("3001234567", "+573001234567"),
            (" 300 123 4567 ", "+573001234567"),
            ("+57 (300) 123-4567", "+573001234567"),
            ("300.123.45.67", "+573001234567"),
            ("+57 601 234 5678", "+576012345678"),
            ("(604) 444-5555", "+576044445555"),
            ("6081234567", "+576081234567"),
            ("3501234567", "+573501234567"),
        ];
        for (input, e164) in cases {
            let phone =
                PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
            assert_eq!(phone.as_str(), e164, "{input:?}");
        }
    }

    #[test]
    fn invalid_numbers_are_rejected_with_the_precise_reason() {
        let cases = [
            ("", Empty),
            ("  ", Empty),
            ("+1 212 555 0100", UnsupportedCountryCode),
            ("+52 55 1234 5678", UnsupportedCountryCode),
            ("+", WrongLength { got: 0 }),
            ("+5", WrongLength { got: 0 }),
            ("+57", WrongLength { got: 0 }),
            ("300123456", WrongLength { got: 9 }),
            ("30012345678", WrongLength { got: 11 }),
            ("03001234567", WrongLength { got: 11 }),
            ("+57 03001234567", WrongLength { got: 11 }),
            ("+57573001234567", WrongLength { got: 12 }),
            ("2345678", WrongLength { got: 7 }),
            ("1234567890", UnknownPrefix),
            ("6031234567", UnknownPrefix),
            ("6091234567", UnknownPrefix),
            ("6101234567", UnknownPrefix),
            (
                "300123456A",
                InvalidCharacter {
                    position: 10,
                    character: 'A',
                },
            ),
            (
                " 300+1234567",
                InvalidCharacter {
                    position: 5,
                    character: '+',
                },
            ),
            (
                "++573001234567",
                InvalidCharacter {
                    position: 2,
                    character: '+',
                },
            ),
            (
                "300/123/4567",
                InvalidCharacter {
                    position: 4,
                    character: '/',
                },
            ),
            (
                "tel: 3001234567",
                InvalidCharacter {
                    position: 1,
                    character: 't',
                },
            ),
        ];
        for (input, error) in cases {
            assert_eq!(PhoneNumber::parse(input), Err(error), "{input:?}");
        }
    }

    #[test]
    fn every_error_has_a_stable_code() {
        let cases = [
            (Empty, "phone_number_empty"),
            (UnsupportedCountryCode, "phone_number_country_unsupported"),
            (
                InvalidCharacter {
                    position: 1,
                    character: 'x',
                },
                "phone_number_invalid",
            ),
            (WrongLength { got: 9 }, "phone_number_invalid"),
            (UnknownPrefix, "phone_number_invalid"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code, "{error:?}");
        }
        assert_eq!(
            WrongLength { got: 9 }.to_string(),
            "a Colombian phone number has 10 digits after +57, got 9"
        );
    }

    #[test]
    fn mobile_and_fixed_lines_are_told_apart() {
        let mobile = PhoneNumber::parse("300 123 4567").unwrap();
        let fixed = PhoneNumber::parse("601 234 5678").unwrap();

        assert!(mobile.is_mobile());
        assert!(!fixed.is_mobile());
        assert_eq!(fixed.national_number(), "6012345678");
    }

    #[test]
    fn phone_numbers_serialize_as_e164_strings_and_deserialize_through_parse() {
        let phone: PhoneNumber = serde_json::from_str(r#""300 123 4567""#).unwrap();

        assert_eq!(serde_json::to_string(&phone).unwrap(), r#""+573001234567""#);
        for bad in [r#""+12125550100""#, r#""12345""#, "3001234567", "null"] {
            assert!(serde_json::from_str::<PhoneNumber>(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in prop_oneof![any::<String>(), "[+0-9 ()\\-.a]{0,20}"]) {
            let _ = PhoneNumber::parse(&input);
        }

        #[test]
        fn every_way_of_writing_a_number_gives_the_same_e164(
            national in "(3[0-9]{2}|60[1245678])[0-9]{7}",
        ) {
            let e164 = format!("+57{national}");
            let spaced = format!("{} {} {}", &national[..3], &national[3..6], &national[6..]);
            let written = [
                national.clone(),
                format!("57{national}"),
                e164.clone(),
                format!("+57 ({}) {}-{}", &national[..3], &national[3..6], &national[6..]),
                spaced,
            ];
            for input in written {
                let phone = PhoneNumber::parse(&input).unwrap();
                prop_assert_eq!(phone.as_str(), e164.as_str());
                prop_assert_eq!(PhoneNumber::parse(phone.as_str()), Ok(phone.clone()));
            }
        }
    }
}
