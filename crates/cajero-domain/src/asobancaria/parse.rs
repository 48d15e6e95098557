//! Reading an Asobancaria 2001 collection file, with every control rule of §6.3 enforced.

use std::collections::BTreeSet;

use jiff::civil::Date;

use super::{
    AccountType, Batch, Cents, CollectionFile, Detail, FileHeader, FileTime, RECORD_CHARS,
    RecordType, is_known_method, is_known_origin,
};

/// How strictly record lengths are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Every record is exactly [`RECORD_CHARS`] characters.
    Strict,
    /// A record whose only defect is missing or extra blank filler is accepted with a
    /// [`ParseWarning::FillerLength`] (seen in real bank files); lost data is still an error.
    Lenient,
}

/// A file that parsed, with what deserves a look but does not make it wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The file.
    pub file: CollectionFile,
    /// Defects tolerated by the rules of §6.3.
    pub warnings: Vec<ParseWarning>,
    /// Which readings of the detail sequence field (§6.3 rule 9) the file satisfies.
    pub sequences: SequenceReadings,
}

/// The three readings of "secuencia … inicia en 2"; single-batch files satisfy all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceReadings {
    /// The 0-based position of the record in the file (01 = 0, 05 = 1, first 06 = 2).
    pub position_in_file: bool,
    /// A counter restarting at 2 in every batch.
    pub per_batch_from_2: bool,
    /// One counter over all details of the file, from 2.
    pub continuous_from_2: bool,
}

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    /// A numeric field holds something other than digits.
    NotDigits { value: String },
    /// Not a valid `AAAAMMDD` date.
    InvalidDate { value: String },
    /// Not a valid `HHMM` time.
    InvalidTime { value: String },
    /// The file modifier is not `A`–`Z` or `0`–`9`.
    InvalidModifier { value: String },
    /// The account type is not `01`, `02` or `03`.
    InvalidAccountType { value: String },
}

/// Why a file is refused. `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No records at all.
    #[error("the file is empty")]
    Empty,
    /// The file holds a character outside ASCII.
    #[error("line {line}: non-ASCII character")]
    NonAscii { line: usize },
    /// Strict mode: a record is not exactly 162 characters.
    #[error("line {line}: record {record_type} has {chars} characters, not {RECORD_CHARS}")]
    RecordLength {
        line: usize,
        record_type: RecordType,
        chars: usize,
    },
    /// A record is cut inside its data fields.
    #[error(
        "line {line}: record {record_type} is truncated: {chars} characters, its data needs {data_chars}"
    )]
    Truncated {
        line: usize,
        record_type: RecordType,
        chars: usize,
        data_chars: usize,
    },
    /// The first two characters are not 01, 05, 06, 08 or 09.
    #[error("line {line}: unknown record type {code:?}")]
    UnknownRecordType { line: usize, code: String },
    /// A record out of the grammar `01 (05 06* 08)+ 09`.
    #[error("line {line}: record {found} where {expected} was expected")]
    UnexpectedRecord {
        line: usize,
        found: RecordType,
        expected: &'static str,
    },
    /// A batch header or the file control arrived while a batch was still open.
    #[error("line {line}: batch {batch} is not closed by an 08 record before this {found}")]
    BatchNotClosed {
        line: usize,
        batch: u16,
        found: RecordType,
    },
    /// The file ends before its 09 record.
    #[error("the file ends without its 09 file control record")]
    MissingFileControl,
    /// Something follows the 09 record.
    #[error("line {line}: record after the 09 file control")]
    RecordAfterFileControl { line: usize },
    /// A field does not fit its type.
    #[error("line {line}: field {field}: {problem:?}")]
    Field {
        line: usize,
        field: &'static str,
        problem: FieldProblem,
    },
    /// The 08 record names another batch than the 05 it closes.
    #[error("line {line}: batch control says batch {control}, the batch header said {header}")]
    BatchNumberMismatch {
        line: usize,
        header: u16,
        control: u16,
    },
    /// Two batches with one number.
    #[error("line {line}: batch number {batch} is used twice")]
    DuplicateBatchNumber { line: usize, batch: u16 },
    /// 08 count ≠ details in the batch (and ≠ details + 2).
    #[error("line {line}: batch {batch} declares {declared} records, it has {actual} details")]
    BatchCountMismatch {
        line: usize,
        batch: u16,
        declared: u64,
        actual: u64,
    },
    /// 08 total ≠ sum of the batch's details.
    #[error("line {line}: batch {batch} declares a total of {declared}, its details sum {actual}")]
    BatchTotalMismatch {
        line: usize,
        batch: u16,
        declared: Cents,
        actual: Cents,
    },
    /// 09 count ≠ details in the file.
    #[error("line {line}: the file declares {declared} records, it has {actual} details")]
    FileCountMismatch {
        line: usize,
        declared: u64,
        actual: u64,
    },
    /// 09 total ≠ sum of all details.
    #[error("line {line}: the file declares a total of {declared}, its details sum {actual}")]
    FileTotalMismatch {
        line: usize,
        declared: Cents,
        actual: Cents,
    },
    /// A sum does not fit 64 bits (it cannot fit the 18-digit field either).
    #[error("line {line}: amounts overflow")]
    AmountOverflow { line: usize },
}

/// Where the parser is in the grammar `01 (05 06* 08)+ 09`.
enum State {
    Start,
    AfterHeader,
    InBatch(Batch),
    BetweenBatches,
    Done,
}

/// Parses a whole file. Accepts CRLF, LF or CR line ends, with or without a final one.
pub fn parse(text: &str, strictness: Strictness) -> Result<Parsed, ParseError> {
    let mut parser = Parser {
        strictness,
        warnings: Vec::new(),
        header: None,
        batches: Vec::new(),
        batch_numbers: BTreeSet::new(),
        state: State::Start,
    };
    let mut lines: Vec<&str> = physical_lines(text).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if lines.is_empty() {
        return Err(ParseError::Empty);
    }
    for (index, record) in lines.into_iter().enumerate() {
        parser.record(index + 1, record)?;
    }
    parser.finish()
}

/// Lines ended by CRLF, LF or CR; the last one may have no end.
fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\r', '\n']) {
            None => Some(std::mem::take(&mut rest)),
            Some(end) => {
                let line = &rest[..end];
                let separator_len = if rest[end..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = &rest[end + separator_len..];
                Some(line)
            }
        }
    })
}

struct Parser {
    strictness: Strictness,
    warnings: Vec<ParseWarning>,
    header: Option<FileHeader>,
    batches: Vec<Batch>,
    batch_numbers: BTreeSet<u16>,
    state: State,
}

impl Parser {
    fn record(&mut self, line: usize, record: &str) -> Result<(), ParseError> {
        if !record.is_ascii() {
            return Err(ParseError::NonAscii { line });
        }
        let code = record.get(0..2).unwrap_or(record);
        let record_type =
            RecordType::from_code(code).ok_or_else(|| ParseError::UnknownRecordType {
                line,
                code: code.to_owned(),
            })?;
        self.check_length(line, record_type, record)?;
        let fields = Fields { line, record };
        let state = std::mem::replace(&mut self.state, State::Done);
        self.state = match (state, record_type) {
            (State::Start, RecordType::FileHeader) => {
                self.header = Some(file_header(&fields)?);
                State::AfterHeader
            }
            (State::Start, found) => {
                return Err(unexpected(line, found, "01 (file header)"));
            }
            (State::AfterHeader | State::BetweenBatches, RecordType::BatchHeader) => {
                State::InBatch(self.batch_header(&fields)?)
            }
            (State::AfterHeader, found) => {
                return Err(unexpected(line, found, "05 (batch header)"));
            }
            (State::InBatch(mut batch), RecordType::Detail) => {
                batch.details.push(self.detail(&fields)?);
                State::InBatch(batch)
            }
            (State::InBatch(batch), RecordType::BatchControl) => {
                self.batch_control(&fields, batch)?;
                State::BetweenBatches
            }
            (
                State::InBatch(batch),
                found @ (RecordType::BatchHeader | RecordType::FileControl),
            ) => {
                return Err(ParseError::BatchNotClosed {
                    line,
                    batch: batch.number,
                    found,
                });
            }
            (State::InBatch(_), found) => {
                return Err(unexpected(line, found, "06 (detail) or 08 (batch control)"));
            }
            (State::BetweenBatches, RecordType::FileControl) => {
                self.file_control(&fields)?;
                State::Done
            }
            (State::BetweenBatches, found) => {
                return Err(unexpected(
                    line,
                    found,
                    "05 (batch header) or 09 (file control)",
                ));
            }
            (State::Done, _) => return Err(ParseError::RecordAfterFileControl { line }),
        };
        Ok(())
    }

    fn check_length(
        &mut self,
        line: usize,
        record_type: RecordType,
        record: &str,
    ) -> Result<(), ParseError> {
        let chars = record.len();
        if chars == RECORD_CHARS {
            return Ok(());
        }
        if chars < record_type.data_chars() {
            return Err(ParseError::Truncated {
                line,
                record_type,
                chars,
                data_chars: record_type.data_chars(),
            });
        }
        let extra_is_blank = record
            .get(RECORD_CHARS..)
            .is_none_or(|e| e.trim().is_empty());
        match self.strictness {
            Strictness::Lenient if extra_is_blank => {
                self.warnings.push(ParseWarning::FillerLength {
                    line,
                    record_type,
                    chars,
                });
                Ok(())
            }
            _ => Err(ParseError::RecordLength {
                line,
                record_type,
                chars,
            }),
        }
    }

    fn batch_header(&mut self, f: &Fields<'_>) -> Result<Batch, ParseError> {
        let service_code = f.digits(2, 15, "05-2 service code")?.to_owned();
        let number = f.number_u16(15, 19, "05-3 batch number")?;
        self.reserved(f, 19);
        if !self.batch_numbers.insert(number) {
            return Err(ParseError::DuplicateBatchNumber {
                line: f.line,
                batch: number,
            });
        }
        let expected = u16::try_from(self.batches.len() + 1).unwrap_or(u16::MAX);
        if number != expected {
            self.warnings.push(ParseWarning::BatchNumberNotConsecutive {
                line: f.line,
                expected,
                got: number,
            });
        }
        Ok(Batch {
            service_code,
            number,
            details: Vec::new(),
        })
    }

    fn detail(&mut self, f: &Fields<'_>) -> Result<Detail, ParseError> {
        let detail = Detail {
            reference: f.digits(2, 50, "06-2 reference")?.to_owned(),
            amount: Cents::new(f.number(50, 64, "06-3 amount")?),
            origin: f.digits(64, 66, "06-4 origin")?.to_owned(),
            method: f.digits(66, 68, "06-5 method")?.to_owned(),
            operation_number: f.digits(68, 74, "06-6 operation number")?.to_owned(),
            authorization_number: f.digits(74, 80, "06-7 authorization number")?.to_owned(),
            debited_bank_code: f.digits(80, 83, "06-8 debited bank code")?.to_owned(),
            branch_code: f.digits(83, 87, "06-9 branch code")?.to_owned(),
            sequence: u32::try_from(f.number(87, 94, "06-10 sequence")?).unwrap_or(u32::MAX),
            return_reason: f.text(94, 97).to_owned(),
        };
        self.reserved(f, 97);
        if !is_known_origin(&detail.origin) {
            self.warnings.push(ParseWarning::UnknownOrigin {
                line: f.line,
                code: detail.origin.clone(),
            });
        }
        if !is_known_method(&detail.method) {
            self.warnings.push(ParseWarning::UnknownMethod {
                line: f.line,
                code: detail.method.clone(),
            });
        }
        Ok(detail)
    }

    fn batch_control(&mut self, f: &Fields<'_>, batch: Batch) -> Result<(), ParseError> {
        let declared_count = f.number(2, 11, "08-2 record count")?;
        let declared_total = Cents::new(f.number(11, 29, "08-3 total")?);
        let control = f.number_u16(29, 33, "08-4 batch number")?;
        self.reserved(f, 33);
        if control != batch.number {
            return Err(ParseError::BatchNumberMismatch {
                line: f.line,
                header: batch.number,
                control,
            });
        }
        let actual = batch.details.len() as u64;
        if declared_count == actual + 2 {
            self.warnings
                .push(ParseWarning::BatchCountIncludesHeaderAndControl {
                    line: f.line,
                    batch: batch.number,
                    declared: declared_count,
                });
        } else if declared_count != actual {
            return Err(ParseError::BatchCountMismatch {
                line: f.line,
                batch: batch.number,
                declared: declared_count,
                actual,
            });
        }
        let total = batch
            .total()
            .ok_or(ParseError::AmountOverflow { line: f.line })?;
        if total != declared_total {
            return Err(ParseError::BatchTotalMismatch {
                line: f.line,
                batch: batch.number,
                declared: declared_total,
                actual: total,
            });
        }
        self.batches.push(batch);
        Ok(())
    }

    fn file_control(&mut self, f: &Fields<'_>) -> Result<(), ParseError> {
        let declared_count = f.number(2, 11, "09-2 record count")?;
        let declared_total = Cents::new(f.number(11, 29, "09-3 total")?);
        self.reserved(f, 29);
        let actual: u64 = self.batches.iter().map(|b| b.details.len() as u64).sum();
        if declared_count != actual {
            return Err(ParseError::FileCountMismatch {
                line: f.line,
                declared: declared_count,
                actual,
            });
        }
        let total = self
            .batches
            .iter()
            .try_fold(Cents::ZERO, |sum, b| {
                b.total().and_then(|t| sum.checked_add(t))
            })
            .ok_or(ParseError::AmountOverflow { line: f.line })?;
        if total != declared_total {
            return Err(ParseError::FileTotalMismatch {
                line: f.line,
                declared: declared_total,
                actual: total,
            });
        }
        Ok(())
    }

    fn reserved(&mut self, f: &Fields<'_>, from: usize) {
        if !f.record.get(from..).unwrap_or("").trim().is_empty() {
            self.warnings
                .push(ParseWarning::ReservedNotBlank { line: f.line });
        }
    }

    fn finish(mut self) -> Result<Parsed, ParseError> {
        match (self.state, self.header) {
            (State::Done, Some(header)) => {
                let sequences = sequence_readings(&self.batches);
                if !(sequences.position_in_file
                    || sequences.per_batch_from_2
                    || sequences.continuous_from_2)
                {
                    self.warnings.push(ParseWarning::SequenceMatchesNoReading);
                }
                Ok(Parsed {
                    file: CollectionFile {
                        header,
                        batches: self.batches,
                    },
                    warnings: self.warnings,
                    sequences,
                })
            }
            _ => Err(ParseError::MissingFileControl),
        }
    }
}

fn unexpected(line: usize, found: RecordType, expected: &'static str) -> ParseError {
    ParseError::UnexpectedRecord {
        line,
        found,
        expected,
    }
}

fn file_header(f: &Fields<'_>) -> Result<FileHeader, ParseError> {
    let modifier_text = f.text(52, 53);
    let modifier = modifier_text
        .chars()
        .next()
        .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        .ok_or_else(|| {
            f.problem(
                "01-8 file modifier",
                FieldProblem::InvalidModifier {
                    value: modifier_text.to_owned(),
                },
            )
        })?;
    let account_type_text = f.text(53, 55);
    let account_type = AccountType::from_code(account_type_text).ok_or_else(|| {
        f.problem(
            "01-9 account type",
            FieldProblem::InvalidAccountType {
                value: account_type_text.to_owned(),
            },
        )
    })?;
    Ok(FileHeader {
        nit: f.digits(2, 12, "01-2 NIT")?.to_owned(),
        collection_date: f.date(12, 20, "01-3 collection date")?,
        collector_code: f.digits(20, 23, "01-4 collector code")?.to_owned(),
        account_number: f.text(23, 40).trim_end().to_owned(),
        file_date: f.date(40, 48, "01-6 file date")?,
        file_time: f.time(48, 52, "01-7 file time")?,
        modifier,
        account_type,
    })
}

/// Which readings of the sequence field hold (§6.3 rule 9).
fn sequence_readings(batches: &[Batch]) -> SequenceReadings {
    let mut position = 1u64; // the 01 record is position 0
    let mut continuous = 2u64;
    let mut readings = SequenceReadings {
        position_in_file: true,
        per_batch_from_2: true,
        continuous_from_2: true,
    };
    for batch in batches {
        position += 1; // the 05 record
        for (index, detail) in batch.details.iter().enumerate() {
            let sequence = u64::from(detail.sequence);
            readings.position_in_file &= sequence == position;
            readings.per_batch_from_2 &= sequence == index as u64 + 2;
            readings.continuous_from_2 &= sequence == continuous;
            position += 1;
            continuous += 1;
        }
        position += 1; // the 08 record
    }
    readings
}

/// One record being read; offsets are 0-based and end-exclusive, as in Rust slices.
struct Fields<'a> {
    line: usize,
    record: &'a str,
}

impl<'a> Fields<'a> {
    /// The characters `from..to`, shorter when the record's filler is missing.
    fn text(&self, from: usize, to: usize) -> &'a str {
        let to = to.min(self.record.len());
        self.record.get(from.min(to)..to).unwrap_or("")
    }

    fn problem(&self, field: &'static str, problem: FieldProblem) -> ParseError {
        ParseError::Field {
            line: self.line,
            field,
            problem,
        }
    }

    fn digits(&self, from: usize, to: usize, field: &'static str) -> Result<&'a str, ParseError> {
        let value = self.text(from, to);
        if value.len() == to - from && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(value)
        } else {
            Err(self.problem(
                field,
                FieldProblem::NotDigits {
                    value: value.to_owned(),
                },
            ))
        }
    }

    fn number(&self, from: usize, to: usize, field: &'static str) -> Result<u64, ParseError> {
        let digits = self.digits(from, to, field)?;
        // At most 18 digits: always fits u64.
        digits.parse::<u64>().map_err(|_| {
            self.problem(
                field,
                FieldProblem::NotDigits {
                    value: digits.to_owned(),
                },
            )
        })
    }

    fn number_u16(&self, from: usize, to: usize, field: &'static str) -> Result<u16, ParseError> {
        let n = self.number(from, to, field)?;
        u16::try_from(n).map_err(|_| {
            self.problem(
                field,
                FieldProblem::NotDigits {
                    value: n.to_string(),
                },
            )
        })
    }

    fn date(&self, from: usize, to: usize, field: &'static str) -> Result<Date, ParseError> {
        let digits = self.digits(from, to, field)?;
        let invalid = || {
            self.problem(
                field,
                FieldProblem::InvalidDate {
                    value: digits.to_owned(),
                },
            )
        };
        let year = digits[0..4].parse::<i16>().map_err(|_| invalid())?;
        let month = digits[4..6].parse::<i8>().map_err(|_| invalid())?;
        let day = digits[6..8].parse::<i8>().map_err(|_| invalid())?;
        Date::new(year, month, day).map_err(|_| invalid())
    }

    fn time(&self, from: usize, to: usize, field: &'static str) -> Result<FileTime, ParseError> {
        let digits = self.digits(from, to, field)?;
        let invalid = || {
            self.problem(
                field,
                FieldProblem::InvalidTime {
                    value: digits.to_owned(),
                },
            )
        };
        let hour = digits[0..2].parse::<u8>().map_err(|_| invalid())?;
        let minute = digits[2..4].parse::<u8>().map_err(|_| invalid())?;
        FileTime::new(hour, minute).ok_or_else(invalid)
    }
}
