//! Asobancaria 2001 collection ("recaudo") files: the fixed-width daily file a collecting
//! network delivers to the company it collected for.
//!
//! The layout is in `shared/reference/asobancaria-2001.md`: records of
//! [`RECORD_CHARS`] characters, `01` file header, then one or more batches (`05` header,
//! `06` details, `08` control) and a `09` file control. Amounts carry **two implied
//! decimals** ([`Cents`]); COP is converted to and from whole pesos only through checked
//! functions.
//!
//! [`parse_with`] streams a file's details as slices of its text and checks every control
//! record against the details it closes; [`parse()`] collects them into a [`CollectionFile`].
//! A file is accepted whole or [`Rejected`] whole, with every [`Problem`] listed.
//! [`write()`] renders a [`CollectionFile`] and computes the control records itself, so a
//! written file always balances. The simulator writes with it and reconciliation reads with
//! it.

mod parse;
mod parser;
mod record;
mod report;
mod write;

pub use parse::{BatchSummary, Parsed, SequenceReadings, Strictness, Summary, parse, parse_with};
pub use report::{
    FieldProblem, PROBLEMS_MAX, ParseError, ParseWarning, Problem, Rejected, WARNINGS_MAX,
};
pub use write::{LineEnding, WriteError, write};

use std::fmt;

use jiff::civil::Date;

use crate::money::{Amount, MoneyError};

/// Every record is this many characters long (all five layouts sum to 162).
pub const RECORD_CHARS: usize = 162;

/// Width of the primary reference of a detail record (06-2), in digits.
pub const REFERENCE_DIGITS: usize = 48;

/// Width of a detail amount (06-3): 12 integer digits and 2 decimals.
pub const DETAIL_AMOUNT_DIGITS: usize = 14;

/// Width of a batch or file total (08-3, 09-3): 16 integer digits and 2 decimals.
pub const TOTAL_AMOUNT_DIGITS: usize = 18;

/// Hundredths in one unit: the file's two implied decimals.
const CENTS_PER_UNIT: i64 = 100;

/// An amount as the file carries it: hundredths of the currency unit (two implied decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(u64);

impl Cents {
    /// Zero.
    pub const ZERO: Cents = Cents(0);

    /// Hundredths, as written in the file.
    pub const fn new(hundredths: u64) -> Cents {
        Cents(hundredths)
    }

    /// The raw number of hundredths.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// A whole-peso COP amount with two implied decimals (`150000` → `15000000`).
    pub fn from_whole_units(amount: Amount) -> Cents {
        // Amount is at most 10^15, so × 100 stays far below u64::MAX.
        Cents(
            amount
                .minor()
                .unsigned_abs()
                .saturating_mul(CENTS_PER_UNIT.unsigned_abs()),
        )
    }

    /// Back to whole units (COP pesos); refused when the file carries a fraction.
    pub fn to_whole_units(self) -> Result<Amount, CentsError> {
        let per_unit = CENTS_PER_UNIT.unsigned_abs();
        if !self.0.is_multiple_of(per_unit) {
            return Err(CentsError::Fractional { cents: self });
        }
        let units = i64::try_from(self.0 / per_unit).map_err(|_| CentsError::TooLarge)?;
        Amount::new(units).map_err(CentsError::Money)
    }

    /// Checked sum.
    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }

    /// For people: thousands grouped with commas (`100000049` → `1,000,000.49`).
    pub fn grouped(self) -> impl fmt::Display {
        Grouped(self)
    }
}

/// [`Cents::grouped`].
#[derive(Debug)]
struct Grouped(Cents);

impl fmt::Display for Grouped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = (self.0.0 / 100).to_string();
        for (index, digit) in units.chars().enumerate() {
            if index > 0 && (units.len() - index).is_multiple_of(3) {
                f.write_str(",")?;
            }
            write!(f, "{digit}")?;
        }
        write!(f, ".{:02}", self.0.0 % 100)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// An amount in the file does not convert to whole units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CentsError {
    /// The amount has a non-zero decimal part and the currency is counted in whole units.
    #[error("{cents} has a fractional part; whole units were expected")]
    Fractional { cents: Cents },
    /// Out of range for an [`Amount`].
    #[error("amount too large")]
    TooLarge,
    /// Refused by [`Amount::new`].
    #[error(transparent)]
    Money(MoneyError),
}

/// A time of day as `HHMM` in 24-hour form; the spec counts from `0001` to `2400`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileTime {
    hour: u8,
    minute: u8,
}

impl FileTime {
    /// Checks the hour (0–24, 24 only with minute 0) and the minute (0–59).
    pub fn new(hour: u8, minute: u8) -> Option<FileTime> {
        let valid = minute <= 59 && (hour < 24 || (hour == 24 && minute == 0));
        valid.then_some(FileTime { hour, minute })
    }

    /// The hour, 0–24.
    pub const fn hour(self) -> u8 {
        self.hour
    }

    /// The minute, 0–59.
    pub const fn minute(self) -> u8 {
        self.minute
    }
}

/// Account type of the header (01-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountType {
    /// `01` ahorros.
    Savings,
    /// `02` corriente.
    Checking,
    /// `03` tarjeta de crédito.
    CreditCard,
    /// Not given (the field is optional): written as `00`.
    Unspecified,
}

impl AccountType {
    /// The two-digit code.
    pub const fn code(self) -> &'static str {
        match self {
            AccountType::Savings => "01",
            AccountType::Checking => "02",
            AccountType::CreditCard => "03",
            AccountType::Unspecified => "00",
        }
    }

    fn from_code(code: &str) -> Option<AccountType> {
        match code {
            "01" => Some(AccountType::Savings),
            "02" => Some(AccountType::Checking),
            "03" => Some(AccountType::CreditCard),
            "00" | "  " => Some(AccountType::Unspecified),
            _ => None,
        }
    }
}

/// Record 01: who the money was collected for, where it was credited, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHeader {
    /// NIT of the billing company, 10 digits (9-digit NIT and its check digit).
    pub nit: String,
    /// The day the payments were collected.
    pub collection_date: Date,
    /// Compensation code of the collecting entity, 3 digits.
    pub collector_code: String,
    /// Account credited, up to 17 characters (kept as written, without trailing blanks).
    pub account_number: String,
    /// When the file was made.
    pub file_date: Date,
    /// When the file was made, `HHMM`.
    pub file_time: FileTime,
    /// `A`–`Z` then `0`–`9`: distinguishes several files of one day.
    pub modifier: char,
    /// Type of the credited account.
    pub account_type: AccountType,
}

/// Record 06: one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// Primary payer reference, digits only, as written (48 digits, zero-filled).
    pub reference: String,
    /// Amount collected.
    pub amount: Cents,
    /// Payment origin (procedencia, §5.1), 2 digits.
    pub origin: String,
    /// Payment method (medio de pago, §5.2), 2 digits.
    pub method: String,
    /// Operation number, 6 digits (zeros when not applicable).
    pub operation_number: String,
    /// Authorization number, 6 digits (zeros when not applicable).
    pub authorization_number: String,
    /// Debited bank code, 3 digits (zeros when not applicable).
    pub debited_bank_code: String,
    /// Branch, city or terminal where the payment was made, 4 digits.
    pub branch_code: String,
    /// Recording sequence (starts at 2).
    pub sequence: u32,
    /// Return reason, 3 characters, usually blank.
    pub return_reason: String,
}

impl Detail {
    /// The reference without its zero fill, for matching (`"000…0042807357"` → `"42807357"`).
    pub fn reference_significant(&self) -> &str {
        significant(&self.reference)
    }
}

/// Record 06 as slices of the file's text: what [`parse_with`] hands over, copying nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetailRef<'a> {
    /// 1-based line of the record.
    pub line: usize,
    /// Number of the batch the detail is in.
    pub batch: u16,
    /// Primary payer reference, 48 digits, zero-filled.
    pub reference: &'a str,
    /// Amount collected.
    pub amount: Cents,
    /// Payment origin (procedencia, §5.1), 2 digits.
    pub origin: &'a str,
    /// Payment method (medio de pago, §5.2), 2 digits.
    pub method: &'a str,
    /// Operation number, 6 digits.
    pub operation_number: &'a str,
    /// Authorization number, 6 digits.
    pub authorization_number: &'a str,
    /// Debited bank code, 3 digits.
    pub debited_bank_code: &'a str,
    /// Branch, city or terminal code, 4 digits.
    pub branch_code: &'a str,
    /// Recording sequence (starts at 2).
    pub sequence: u32,
    /// Return reason, up to 3 characters, usually blank.
    pub return_reason: &'a str,
}

impl<'a> DetailRef<'a> {
    /// The reference without its zero fill, for matching (`"000…0042807357"` → `"42807357"`).
    pub fn reference_significant(&self) -> &'a str {
        significant(self.reference)
    }

    /// An owned copy.
    pub fn to_detail(&self) -> Detail {
        Detail {
            reference: self.reference.to_owned(),
            amount: self.amount,
            origin: self.origin.to_owned(),
            method: self.method.to_owned(),
            operation_number: self.operation_number.to_owned(),
            authorization_number: self.authorization_number.to_owned(),
            debited_bank_code: self.debited_bank_code.to_owned(),
            branch_code: self.branch_code.to_owned(),
            sequence: self.sequence,
            return_reason: self.return_reason.to_owned(),
        }
    }
}

fn significant(reference: &str) -> &str {
    let trimmed = reference.trim_start_matches('0');
    if trimmed.is_empty() { "0" } else { trimmed }
}

/// A batch: the payments of one collected service (records 05, 06…, 08).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// EAN-13 service code, or the company NIT zero-filled, 13 digits.
    pub service_code: String,
    /// Number of the batch within the file, from 1.
    pub number: u16,
    /// The payments.
    pub details: Vec<Detail>,
}

impl Batch {
    /// Sum of the detail amounts, `None` on overflow.
    pub fn total(&self) -> Option<Cents> {
        self.details
            .iter()
            .try_fold(Cents::ZERO, |sum, d| sum.checked_add(d.amount))
    }
}

/// A whole collection file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionFile {
    /// Record 01.
    pub header: FileHeader,
    /// The batches, in file order.
    pub batches: Vec<Batch>,
}

impl CollectionFile {
    /// Every detail of every batch, in file order.
    pub fn details(&self) -> impl Iterator<Item = &Detail> {
        self.batches.iter().flat_map(|b| b.details.iter())
    }

    /// Number of detail records.
    pub fn detail_count(&self) -> usize {
        self.batches.iter().map(|b| b.details.len()).sum()
    }

    /// Sum of all detail amounts, `None` on overflow.
    pub fn total(&self) -> Option<Cents> {
        self.details()
            .try_fold(Cents::ZERO, |sum, d| sum.checked_add(d.amount))
    }
}

/// The five record types of the 2001 collection layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// `01` file header.
    FileHeader,
    /// `05` batch header.
    BatchHeader,
    /// `06` detail.
    Detail,
    /// `08` batch control.
    BatchControl,
    /// `09` file control.
    FileControl,
}

impl RecordType {
    /// The two-digit code.
    pub const fn code(self) -> &'static str {
        match self {
            RecordType::FileHeader => "01",
            RecordType::BatchHeader => "05",
            RecordType::Detail => "06",
            RecordType::BatchControl => "08",
            RecordType::FileControl => "09",
        }
    }

    /// Characters before the reserved filler: a record shorter than this lost data.
    pub const fn data_chars(self) -> usize {
        match self {
            RecordType::FileHeader => 55,
            RecordType::BatchHeader => 19,
            RecordType::Detail => 97,
            RecordType::BatchControl => 33,
            RecordType::FileControl => 29,
        }
    }

    fn from_code(code: &str) -> Option<RecordType> {
        [
            RecordType::FileHeader,
            RecordType::BatchHeader,
            RecordType::Detail,
            RecordType::BatchControl,
            RecordType::FileControl,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Payment origins of §5.1 (`01`–`08`); others are sender-specific and only warned about.
pub(crate) fn is_known_origin(code: &str) -> bool {
    matches!(code, "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08")
}

/// Payment methods of §5.2; others are only warned about.
pub(crate) fn is_known_method(code: &str) -> bool {
    matches!(
        code,
        "01" | "02" | "03" | "11" | "12" | "13" | "14" | "15" | "21" | "22" | "23" | "24" | "25"
    )
}

/// Payment origin the simulator writes for cash-network counters: the table predates them
/// and has no code of their own, so `01` (paid at a bank) is the closest.
pub const ORIGIN_BANK: &str = "01";

/// Payment method "por ventanilla en efectivo": cash at a teller.
pub const METHOD_CASH_AT_TELLER: &str = "01";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_convert_from_and_to_whole_pesos() {
        let amount = Amount::new(150_000).unwrap_or(Amount::ZERO);
        let cents = Cents::from_whole_units(amount);
        assert_eq!(cents.get(), 15_000_000);
        assert_eq!(cents.to_whole_units(), Ok(amount));
        assert_eq!(cents.to_string(), "150000.00");
    }

    #[test]
    fn grouped_cents_put_a_comma_between_thousands() {
        let cases = [
            (0, "0.00"),
            (99_999, "999.99"),
            (100_000, "1,000.00"),
            (100_000_049, "1,000,000.49"),
            (13_393_100_000, "133,931,000.00"),
        ];
        for (hundredths, text) in cases {
            assert_eq!(Cents::new(hundredths).grouped().to_string(), text);
        }
    }

    #[test]
    fn fractional_cents_do_not_convert_to_whole_pesos() {
        assert_eq!(
            Cents::new(18_235_049).to_whole_units(),
            Err(CentsError::Fractional {
                cents: Cents::new(18_235_049)
            })
        );
    }

    #[test]
    fn file_time_accepts_2400_but_not_2401() {
        assert!(FileTime::new(24, 0).is_some());
        assert!(FileTime::new(24, 1).is_none());
        assert!(FileTime::new(10, 60).is_none());
    }
}
