//! The Colombian collection ("recaudo") barcode: GS1-128 with the application identifiers
//! (415) GLN of the collector, (8020) payment reference, (3900) amount in whole pesos and
//! (96) due date `YYYYMMDD`, in that order (see `shared/reference/cash-networks.md`).
//!
//! GS1-128 is Code 128 with FNC1 as its first data character. A variable-length element string
//! that is followed by another one ends with FNC1 as a separator: here after (8020) and (3900);
//! (415) has a predefined length and (96) comes last, so neither needs one.
//!
//! The `barcoders` crate draws the Code 128 symbol (patterns, mod-103 check character, stop)
//! but does not choose code sets: its input names them. All our data are digits, so we encode
//! in code set C (two digits per symbol character) and, where a run of digits between FNC1s has
//! odd length, switch to code set B for its last digit (`code128_input`).

use std::fmt;
use std::str::FromStr;

use barcoders::sym::code128::Code128;
use jiff::civil::Date;

use crate::svg;

/// A GLN (Global Location Number) has 13 digits, the last a GS1 mod-10 check digit.
pub const GLN_DIGITS: usize = 13;
/// AI (8020) "payment slip reference number" allows up to 25 characters (GS1 General
/// Specifications, AI table). We accept digits only: Colombian recaudo references are numeric.
pub const REFERENCE_DIGITS_MAX: usize = 25;
/// AI (3900) "amount payable, single monetary area" allows up to 15 digits.
pub const AMOUNT_DIGITS_MAX: usize = 15;
/// AI (96) carries the date as `YYYYMMDD`, so the year must have four digits.
pub const DUE_DATE_YEAR_MIN: i16 = 1000;
/// GS1-128 allows at most 48 data characters (FNC1s and code set switches included) between
/// the start and the check character (GS1 General Specifications, GS1-128 symbol size).
pub const SYMBOL_DATA_CHARACTERS_MAX: usize = 48;
/// Quiet zone on each side of the symbol: at least 10 modules (ISO/IEC 15417, GS1-128).
pub const QUIET_ZONE_MODULES: u32 = 10;
/// Bar height in modules: 60 modules at a 0.33 mm X-dimension is about 20 mm, over the
/// 15 % of symbol width ISO/IEC 15417 recommends and tall enough for a hand scanner.
pub const BAR_HEIGHT_MODULES: u32 = 60;

/// The GS1 "group separator" that scanners transmit for an FNC1 separator.
pub const GROUP_SEPARATOR: char = '\u{1d}';

// barcoders' in-band markers: start or switch to code set B / C, and FNC1.
const CODE_B: char = 'Ɓ';
const CODE_C: char = 'Ć';
const FNC1: char = 'Ź';

/// Why the parts of a recaudo barcode were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gs1Error {
    /// The GLN does not have 13 characters.
    #[error("the GLN must have {GLN_DIGITS} digits, got {got} characters")]
    GlnLength {
        /// Characters received.
        got: usize,
    },
    /// The GLN contains something other than ASCII digits.
    #[error("the GLN must contain digits only")]
    GlnNotDigits,
    /// The GLN's last digit is not its GS1 mod-10 check digit.
    #[error("the GLN check digit is {expected}, not {got}")]
    GlnCheckDigit {
        /// The check digit computed from the first 12 digits.
        expected: u8,
        /// The last digit received.
        got: u8,
    },
    /// The payment reference is empty.
    #[error("the payment reference is empty")]
    ReferenceEmpty,
    /// The payment reference is longer than AI (8020) allows.
    #[error("the payment reference has {got} digits, at most {REFERENCE_DIGITS_MAX} are allowed")]
    ReferenceTooLong {
        /// Digits received.
        got: usize,
    },
    /// The payment reference contains something other than ASCII digits.
    #[error("the payment reference must contain digits only")]
    ReferenceNotDigits,
    /// The amount is zero or negative.
    #[error("the amount must be positive, got {got}")]
    AmountNotPositive {
        /// The amount received, in whole pesos.
        got: i64,
    },
    /// The amount needs more digits than AI (3900) allows.
    #[error("the amount {got} has more than {AMOUNT_DIGITS_MAX} digits")]
    AmountTooLarge {
        /// The amount received, in whole pesos.
        got: i64,
    },
    /// The due date's year does not have four digits.
    #[error("the due date's year {year} does not have four digits")]
    DueDateYearOutOfRange {
        /// The year received.
        year: i16,
    },
    /// The human-readable text does not follow `(415)…(8020)…(3900)…(96)YYYYMMDD`.
    #[error("expected ({expected}) at byte {at} of the barcode text")]
    UnexpectedText {
        /// The application identifier expected there.
        expected: &'static str,
        /// Byte offset in the text.
        at: usize,
    },
    /// A number in the human-readable text is not a number.
    #[error("the value of ({ai}) is not a valid number: {value:?}")]
    BadNumber {
        /// The application identifier.
        ai: &'static str,
        /// The text found.
        value: String,
    },
    /// The (96) value is not a calendar date `YYYYMMDD`.
    #[error("the due date {value:?} is not a date YYYYMMDD")]
    BadDueDate {
        /// The text found.
        value: String,
    },
    /// The Code 128 encoder refused our input: a bug in `code128_input`.
    #[error("the Code 128 encoder refused the symbol: {0}")]
    Encoder(String),
}

/// A validated recaudo barcode payload. The only way to build one is [`recaudo_payload`] (or
/// parsing the human-readable form), so every value can be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecaudoPayload {
    gln: String,
    reference: String,
    amount: i64,
    due_date: Date,
}

/// Builds the recaudo payload from its parts: the collector's 13-digit GLN (with its check
/// digit), the numeric payment reference, the amount in whole pesos and the due date (in
/// Bogotá, as the network counts it).
pub fn recaudo_payload(
    gln: &str,
    reference: &str,
    amount: i64,
    due_date: Date,
) -> Result<RecaudoPayload, Gs1Error> {
    check_gln(gln)?;
    if reference.is_empty() {
        return Err(Gs1Error::ReferenceEmpty);
    }
    if !reference.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Gs1Error::ReferenceNotDigits);
    }
    if reference.len() > REFERENCE_DIGITS_MAX {
        return Err(Gs1Error::ReferenceTooLong {
            got: reference.len(),
        });
    }
    if amount <= 0 {
        return Err(Gs1Error::AmountNotPositive { got: amount });
    }
    if amount.to_string().len() > AMOUNT_DIGITS_MAX {
        return Err(Gs1Error::AmountTooLarge { got: amount });
    }
    if due_date.year() < DUE_DATE_YEAR_MIN {
        return Err(Gs1Error::DueDateYearOutOfRange {
            year: due_date.year(),
        });
    }
    Ok(RecaudoPayload {
        gln: gln.to_owned(),
        reference: reference.to_owned(),
        amount,
        due_date,
    })
}

fn check_gln(gln: &str) -> Result<(), Gs1Error> {
    if !gln.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Gs1Error::GlnNotDigits);
    }
    if gln.len() != GLN_DIGITS {
        return Err(Gs1Error::GlnLength { got: gln.len() });
    }
    let digits: Vec<u8> = gln.bytes().map(|b| b - b'0').collect();
    let (body, check) = digits.split_at(GLN_DIGITS - 1);
    let expected = gs1_check_digit(body);
    let got = check.first().copied().unwrap_or_default();
    if expected != got {
        return Err(Gs1Error::GlnCheckDigit { expected, got });
    }
    Ok(())
}

/// GS1 mod-10 check digit: weights 3 and 1 alternate from the rightmost digit.
fn gs1_check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    // `sum % 10` is below 10, so the result always fits a digit.
    ((10 - sum % 10) % 10) as u8
}

impl RecaudoPayload {
    /// The collector's GLN, AI (415).
    pub fn gln(&self) -> &str {
        &self.gln
    }

    /// The payment reference, AI (8020).
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The amount in whole pesos, AI (3900).
    pub fn amount(&self) -> i64 {
        self.amount
    }

    /// The due date, AI (96).
    pub fn due_date(&self) -> Date {
        self.due_date
    }

    fn due_date_digits(&self) -> String {
        format!(
            "{:04}{:02}{:02}",
            self.due_date.year(),
            self.due_date.month(),
            self.due_date.day()
        )
    }

    /// The element strings in order, as (AI, value, needs FNC1 after it when followed).
    fn elements(&self) -> [(&'static str, String, bool); 4] {
        [
            (AI_GLN, self.gln.clone(), false),
            (AI_REFERENCE, self.reference.clone(), true),
            (AI_AMOUNT, self.amount.to_string(), true),
            (AI_DUE_DATE, self.due_date_digits(), true),
        ]
    }

    /// The human-readable interpretation printed under the bars:
    /// `(415)7709998000018(8020)42807357(3900)150000(96)20261128`.
    pub fn human_readable(&self) -> String {
        self.elements()
            .iter()
            .map(|(ai, value, _)| format!("({ai}){value}"))
            .collect()
    }

    /// What a scanner transmits after the `]C1` symbology identifier: the element strings
    /// with [`GROUP_SEPARATOR`] where the symbol carries a separating FNC1.
    pub fn element_string(&self) -> String {
        fnc1_runs(&self.elements()).join(&GROUP_SEPARATOR.to_string())
    }

    /// The barcode's modules from the left edge of the start character to the end of the stop
    /// pattern (no quiet zones): `true` is a bar.
    pub fn modules(&self) -> Result<Vec<bool>, Gs1Error> {
        let input = code128_input(&fnc1_runs(&self.elements()));
        let symbol = Code128::new(&input).map_err(|e| Gs1Error::Encoder(e.to_string()))?;
        Ok(symbol.encode().into_iter().map(|m| m == 1).collect())
    }
}

const AI_GLN: &str = "415";
const AI_REFERENCE: &str = "8020";
const AI_AMOUNT: &str = "3900";
const AI_DUE_DATE: &str = "96";

/// Splits element strings into the digit runs that FNC1 separators delimit: a variable-length
/// element string ends its run unless it is the last one.
fn fnc1_runs(elements: &[(&'static str, String, bool)]) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run = String::new();
    for (i, (ai, value, variable_length)) in elements.iter().enumerate() {
        run.push_str(ai);
        run.push_str(value);
        let is_last = i + 1 == elements.len();
        if *variable_length && !is_last {
            runs.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// barcoders input for digit runs separated by FNC1: start in code set C with the leading
/// FNC1, digits in pairs, an odd last digit in code set B, and back to C for the next run.
fn code128_input(runs: &[String]) -> String {
    let mut input = String::from(CODE_C);
    input.push(FNC1);
    let mut in_set_c = true;
    for (i, run) in runs.iter().enumerate() {
        if i > 0 {
            // FNC1 has the same value (102) in code sets A, B and C.
            input.push(FNC1);
        }
        let pairs_len = run.len() - run.len() % 2;
        let (pairs, odd) = run.split_at(pairs_len);
        if !pairs.is_empty() && !in_set_c {
            input.push(CODE_C);
            in_set_c = true;
        }
        input.push_str(pairs);
        if !odd.is_empty() {
            if in_set_c {
                input.push(CODE_B);
                in_set_c = false;
            }
            input.push_str(odd);
        }
    }
    input
}

impl fmt::Display for RecaudoPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.human_readable())
    }
}

impl FromStr for RecaudoPayload {
    type Err = Gs1Error;

    /// Parses the human-readable form `(415)…(8020)…(3900)…(96)YYYYMMDD`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut values = Vec::with_capacity(4);
        let mut rest = text;
        for ai in [AI_GLN, AI_REFERENCE, AI_AMOUNT, AI_DUE_DATE] {
            let at = text.len() - rest.len();
            let prefix = format!("({ai})");
            let Some(after) = rest.strip_prefix(prefix.as_str()) else {
                return Err(Gs1Error::UnexpectedText { expected: ai, at });
            };
            let end = after.find('(').unwrap_or(after.len());
            values.push(&after[..end]);
            rest = &after[end..];
        }
        if !rest.is_empty() {
            return Err(Gs1Error::UnexpectedText {
                expected: "end",
                at: text.len() - rest.len(),
            });
        }
        let [gln, reference, amount, due] = values[..] else {
            return Err(Gs1Error::UnexpectedText {
                expected: "415",
                at: 0,
            });
        };
        let amount_value = parse_digits(AI_AMOUNT, amount)?;
        let due_date = parse_due_date(due)?;
        recaudo_payload(gln, reference, amount_value, due_date)
    }
}

fn parse_digits(ai: &'static str, value: &str) -> Result<i64, Gs1Error> {
    let bad = || Gs1Error::BadNumber {
        ai,
        value: value.to_owned(),
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value.parse().map_err(|_| bad())
}

fn parse_due_date(value: &str) -> Result<Date, Gs1Error> {
    let bad = || Gs1Error::BadDueDate {
        value: value.to_owned(),
    };
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let year: i16 = value[0..4].parse().map_err(|_| bad())?;
    let month: i8 = value[4..6].parse().map_err(|_| bad())?;
    let day: i8 = value[6..8].parse().map_err(|_| bad())?;
    Date::new(year, month, day).map_err(|_| bad())
}

/// The barcode as a standalone SVG (inline-able in HTML): bars as rectangles in module units,
/// white quiet zones, `role="img"` and the human-readable text as its accessible name. Size it
/// with CSS; it keeps its aspect ratio.
pub fn barcode_svg(payload: &RecaudoPayload) -> Result<String, Gs1Error> {
    let modules = payload.modules()?;
    Ok(svg::bars(
        &modules,
        BAR_HEIGHT_MODULES,
        QUIET_ZONE_MODULES,
        &payload.human_readable(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "gs1_tests.rs"]
mod tests;
