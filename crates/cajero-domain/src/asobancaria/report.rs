//! What the parser says about a file: the problems that reject it and the warnings that do
//! not. A rejected file lists every problem found (up to [`PROBLEMS_MAX`]), each with where it
//! is (line, record type, field), so whoever sent the file can fix it in one round.

use std::fmt;

use super::{Cents, RECORD_CHARS, RecordType};

/// At most this many problems are listed. A file past it is not worth reading on (it is
/// probably not an Asobancaria 2001 file at all) and the list stays short enough to read;
/// [`Rejected::more`] says that more were left out.
pub const PROBLEMS_MAX: usize = 100;

/// At most this many warnings are kept; the rest are only counted. A 1,000,000-detail file
/// whose every payment carries a sender-specific origin code would otherwise hold a million.
pub const WARNINGS_MAX: usize = 1_000;

/// Something tolerated but worth reporting. `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseWarning {
    /// The record's data is intact but its blank filler is short or long.
    FillerLength {
        line: usize,
        record_type: RecordType,
        chars: usize,
    },
    /// A reserved field holds something other than blanks.
    ReservedNotBlank { line: usize },
    /// A batch control counts the batch header and control too (details + 2), a known
    /// misreading of the spec.
    BatchCountIncludesHeaderAndControl {
        line: usize,
        batch: u16,
        declared: u64,
    },
    /// Batch numbers do not run 0001, 0002, …
    BatchNumberNotConsecutive {
        line: usize,
        expected: u16,
        got: u16,
    },
    /// Payment origin outside the §5.1 table.
    UnknownOrigin { line: usize, code: String },
    /// Payment method outside the §5.2 table.
    UnknownMethod { line: usize, code: String },
    /// The detail sequences follow none of the three readings of §6.3 rule 9.
    SequenceMatchesNoReading,
}

/// Why a field is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// A numeric field holds something other than digits (or is cut short).
    #[error("{value:?} is not all digits")]
    NotDigits { value: String },
    /// Not a valid `AAAAMMDD` date.
    #[error("{value:?} is not a date AAAAMMDD")]
    InvalidDate { value: String },
    /// Not a valid `HHMM` time.
    #[error("{value:?} is not a time HHMM from 0000 to 2400")]
    InvalidTime { value: String },
    /// The file modifier is not `A`–`Z` or `0`–`9`.
    #[error("{value:?} is not A-Z or 0-9")]
    InvalidModifier { value: String },
    /// The account type is not `01`, `02` or `03`.
    #[error("{value:?} is not 01, 02 or 03")]
    InvalidAccountType { value: String },
}

/// What is wrong; where it is wrong is in the [`Problem`] that carries it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No records at all.
    #[error("the file is empty")]
    Empty,
    /// The record holds a character outside ASCII.
    #[error("non-ASCII character")]
    NonAscii,
    /// Strict mode (or non-blank characters past the end): a record is not exactly
    /// [`RECORD_CHARS`] characters.
    #[error("{chars} characters, not {RECORD_CHARS}")]
    RecordLength { chars: usize },
    /// A record is cut inside its data fields.
    #[error("truncated: {chars} characters, its data needs {data_chars}")]
    Truncated { chars: usize, data_chars: usize },
    /// The first two characters are not 01, 05, 06, 08 or 09. The line is skipped.
    #[error("unknown record type {code:?}")]
    UnknownRecordType { code: String },
    /// A record out of the grammar `01 (05 06* 08)+ 09`.
    #[error("{expected} was expected here")]
    UnexpectedRecord { expected: &'static str },
    /// A batch header, the file control or the end of the file came while a batch was still
    /// open. `batch` is its number (its position in the file when the number is unreadable).
    #[error("batch {batch} is not closed by an 08 record")]
    BatchNotClosed { batch: u16 },
    /// The file ends before its 09 record.
    #[error("the file ends without its 09 file control record")]
    MissingFileControl,
    /// Something follows the 09 record; nothing after it is read.
    #[error("record after the 09 file control")]
    RecordAfterFileControl,
    /// A field does not fit its type.
    #[error(transparent)]
    Field(FieldProblem),
    /// The 08 record names another batch than the 05 it closes.
    #[error("the batch control says batch {control}, the batch header said {header}")]
    BatchNumberMismatch { header: u16, control: u16 },
    /// Two batches with one number.
    #[error("batch number {batch} is used twice")]
    DuplicateBatchNumber { batch: u16 },
    /// 08 count ≠ details in the batch (and ≠ details + 2).
    #[error("batch {batch} declares {declared} details, it has {actual}")]
    BatchCountMismatch {
        batch: u16,
        declared: u64,
        actual: u64,
    },
    /// 08 total ≠ sum of the batch's details.
    #[error("batch {batch} declares {}, its details sum {}", declared.grouped(), actual.grouped())]
    BatchTotalMismatch {
        batch: u16,
        declared: Cents,
        actual: Cents,
    },
    /// 09 count ≠ details in the file.
    #[error("the file declares {declared} details, it has {actual}")]
    FileCountMismatch { declared: u64, actual: u64 },
    /// 09 total ≠ sum of all details.
    #[error("the file declares {}, its details sum {}", declared.grouped(), actual.grouped())]
    FileTotalMismatch { declared: Cents, actual: Cents },
    /// The details add up past 64 bits (no 18-digit total field can hold that either).
    #[error("the amounts add up past 64 bits")]
    AmountOverflow,
}

/// One problem and where it is. Prints as
/// `line 6, record 08, field total: batch 1 declares 62,000.49, its details sum 62,000.50`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when the problem is on one (not for an empty file or a missing 09).
    pub line: Option<usize>,
    /// The record's type, when it is known.
    pub record_type: Option<RecordType>,
    /// The field, when the problem is about one: its name in the spec's tables
    /// (`"total"`, `"amount"`, `"batch number"`, …), unique within its record type.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub error: ParseError,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        if let Some(line) = self.line {
            write!(f, "line {line}")?;
            separator = ", ";
        }
        if let Some(record_type) = self.record_type {
            write!(f, "{separator}record {record_type}")?;
            separator = ", ";
        }
        if let Some(field) = self.field {
            write!(f, "{separator}field {field}")?;
            separator = ", ";
        }
        if !separator.is_empty() {
            f.write_str(": ")?;
        }
        write!(f, "{}", self.error)
    }
}

/// A file refused as a whole: nothing of it is returned. Prints one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The problems in file order (end-of-file ones last), at most [`PROBLEMS_MAX`].
    pub problems: Vec<Problem>,
    /// More problems were found than listed; the parser stopped reading there.
    pub more: bool,
}

impl Rejected {
    /// Only the errors, for matching.
    pub fn errors(&self) -> impl Iterator<Item = &ParseError> {
        self.problems.iter().map(|p| &p.error)
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for problem in &self.problems {
            write!(f, "{separator}{problem}")?;
            separator = "\n";
        }
        if self.more {
            write!(
                f,
                "{separator}more problems left out: only the first {PROBLEMS_MAX} are listed"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}
