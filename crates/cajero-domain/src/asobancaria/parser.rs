//! The state machine behind [`parse_with`](super::parse_with): the grammar
//! `01 (05 06* 08)+ 09`, the running sums each control record is checked against, and the
//! list of problems.
//!
//! Recovery rules, so that one defect is reported once: a record missing before another is
//! read as if it were there (a detail without its 05 opens a batch, a 05 or 09 closes an
//! unclosed batch); a stray record is skipped; a line of unknown type or a damaged record
//! makes the sums it would have entered unknown, and unknown sums are not compared.

use std::collections::BTreeSet;

use super::parse::{BatchSummary, SequenceReadings, Strictness, Summary};
use super::record::{FieldError, Record};
use super::report::{PROBLEMS_MAX, ParseError, ParseWarning, Problem, Rejected, WARNINGS_MAX};
use super::{
    Cents, DetailRef, FileHeader, RECORD_CHARS, RecordType, is_known_method, is_known_origin,
};

/// Where the parser is in the grammar `01 (05 06* 08)+ 09`.
enum State<'a> {
    Start,
    AfterHeader,
    InBatch(OpenBatch<'a>),
    BetweenBatches,
    Done,
}

/// A batch between its 05 and its 08. Fields are `None` when unreadable (already reported).
struct OpenBatch<'a> {
    number: Option<u16>,
    /// 1-based position among the file's batches, to name a batch whose number is unknown.
    position: u16,
    service_code: Option<&'a str>,
    details: u64,
    sums: Sums,
}

impl OpenBatch<'_> {
    fn label(&self) -> u16 {
        self.number.unwrap_or(self.position)
    }
}

/// A running count and total; `None` once a record that would enter it was unreadable, so
/// the control record is not compared against a sum known to be wrong.
#[derive(Clone, Copy)]
struct Sums {
    count: Option<u64>,
    total: Option<Cents>,
}

impl Sums {
    const ZERO: Sums = Sums {
        count: Some(0),
        total: Some(Cents::ZERO),
    };

    /// Adds one detail; `false` when the total overflowed just now.
    fn add(&mut self, amount: Option<Cents>) -> bool {
        self.count = self.count.map(|c| c + 1);
        let before = self.total;
        self.total = before.zip(amount).and_then(|(t, a)| t.checked_add(a));
        !(before.is_some() && amount.is_some() && self.total.is_none())
    }

    fn lose(&mut self) {
        *self = Sums {
            count: None,
            total: None,
        };
    }
}

/// The fields of one detail, `None` where unreadable.
struct DetailFields<'a> {
    reference: Option<&'a str>,
    amount: Option<Cents>,
    origin: Option<&'a str>,
    method: Option<&'a str>,
    operation_number: Option<&'a str>,
    authorization_number: Option<&'a str>,
    debited_bank_code: Option<&'a str>,
    branch_code: Option<&'a str>,
    sequence: Option<u32>,
    return_reason: &'a str,
}

impl<'a> DetailFields<'a> {
    fn complete(&self, line: usize, batch: Option<u16>) -> Option<DetailRef<'a>> {
        Some(DetailRef {
            line,
            batch: batch?,
            reference: self.reference?,
            amount: self.amount?,
            origin: self.origin?,
            method: self.method?,
            operation_number: self.operation_number?,
            authorization_number: self.authorization_number?,
            debited_bank_code: self.debited_bank_code?,
            branch_code: self.branch_code?,
            sequence: self.sequence?,
            return_reason: self.return_reason,
        })
    }
}

pub(super) struct Parser<'a, F> {
    strictness: Strictness,
    on_detail: F,
    problems: Vec<Problem>,
    more: bool,
    /// Nothing more is read: the problem list is full, or a record followed the 09.
    pub stopped: bool,
    warnings: Vec<ParseWarning>,
    warnings_omitted: usize,
    header: Option<FileHeader>,
    batches: Vec<BatchSummary>,
    batch_numbers: BTreeSet<u16>,
    batches_opened: u16,
    state: State<'a>,
    file_sums: Sums,
    details: u64,
    sequences: SequenceReadings,
}

impl<'a, F: FnMut(DetailRef<'a>)> Parser<'a, F> {
    pub fn new(strictness: Strictness, on_detail: F) -> Self {
        Parser {
            strictness,
            on_detail,
            problems: Vec::new(),
            more: false,
            stopped: false,
            warnings: Vec::new(),
            warnings_omitted: 0,
            header: None,
            batches: Vec::new(),
            batch_numbers: BTreeSet::new(),
            batches_opened: 0,
            state: State::Start,
            file_sums: Sums::ZERO,
            details: 0,
            sequences: SequenceReadings {
                position_in_file: true,
                per_batch_from_2: true,
                continuous_from_2: true,
            },
        }
    }

    fn problem(
        &mut self,
        line: Option<usize>,
        record_type: Option<RecordType>,
        field: Option<&'static str>,
        error: ParseError,
    ) {
        if self.problems.len() < PROBLEMS_MAX {
            self.problems.push(Problem {
                line,
                record_type,
                field,
                error,
            });
        } else {
            self.more = true;
            self.stopped = true;
        }
    }

    fn problem_at(&mut self, r: &Record<'_>, field: Option<&'static str>, error: ParseError) {
        self.problem(Some(r.line), Some(r.record_type), field, error);
    }

    fn warning(&mut self, warning: ParseWarning) {
        if self.warnings.len() < WARNINGS_MAX {
            self.warnings.push(warning);
        } else {
            self.warnings_omitted += 1;
        }
    }

    /// The value of a field that read, or `None` after reporting why it did not.
    fn field<T>(&mut self, r: &Record<'_>, read: Result<T, FieldError>) -> Option<T> {
        match read {
            Ok(value) => Some(value),
            Err(FieldError { field, problem }) => {
                if !r.damaged {
                    self.problem_at(r, Some(field), ParseError::Field(problem));
                }
                None
            }
        }
    }

    fn reserved(&mut self, r: &Record<'_>, from: usize) {
        if !r.blank_from(from) {
            self.warning(ParseWarning::ReservedNotBlank { line: r.line });
        }
    }

    pub fn record(&mut self, line: usize, text: &'a str) {
        if let Some(record) = self.classify(line, text) {
            let state = std::mem::replace(&mut self.state, State::Done);
            self.state = self.next_state(state, &record);
        }
    }

    /// The record's type and whether its data is whole; `None` when the type is unknown
    /// (the line is skipped, and what it might have counted is lost).
    fn classify(&mut self, line: usize, text: &'a str) -> Option<Record<'a>> {
        let record_type = text.get(..2).and_then(RecordType::from_code);
        let ascii = text.is_ascii();
        if !ascii {
            self.problem(Some(line), record_type, None, ParseError::NonAscii);
        }
        let Some(record_type) = record_type else {
            if ascii {
                let code = text.chars().take(2).collect();
                self.problem(
                    Some(line),
                    None,
                    None,
                    ParseError::UnknownRecordType { code },
                );
            }
            self.lose_record();
            return None;
        };
        let mut record = Record {
            line,
            record_type,
            text,
            damaged: !ascii,
        };
        self.check_length(&mut record);
        Some(record)
    }

    /// An unreadable line might have been a detail: the sums it would have entered are
    /// unknown from here on.
    fn lose_record(&mut self) {
        if let State::InBatch(batch) = &mut self.state {
            batch.sums.lose();
        }
        self.file_sums.lose();
    }

    fn check_length(&mut self, r: &mut Record<'a>) {
        let chars = r.text.len();
        let data_chars = r.record_type.data_chars();
        if chars == RECORD_CHARS {
            return;
        }
        if chars < data_chars {
            self.problem_at(r, None, ParseError::Truncated { chars, data_chars });
            r.damaged = true;
        } else if self.strictness == Strictness::Lenient && r.blank_from(RECORD_CHARS) {
            self.warning(ParseWarning::FillerLength {
                line: r.line,
                record_type: r.record_type,
                chars,
            });
        } else {
            self.problem_at(r, None, ParseError::RecordLength { chars });
        }
    }

    /// One step of the grammar. Out of place records are reported and either skipped or, when
    /// a record is missing before them, read as if it were there.
    fn next_state(&mut self, state: State<'a>, r: &Record<'a>) -> State<'a> {
        use RecordType as T;
        match (state, r.record_type) {
            (State::Start, T::FileHeader) => {
                self.header = self.file_header(r);
                State::AfterHeader
            }
            (State::Start, _) => {
                self.unexpected(r, "01 (file header)");
                self.next_state(State::AfterHeader, r)
            }
            (State::AfterHeader | State::BetweenBatches, T::BatchHeader) => {
                State::InBatch(self.batch_header(r))
            }
            (state @ (State::AfterHeader | State::BetweenBatches), T::Detail) => {
                self.unexpected(r, expected_between_batches(&state));
                let batch = self.open_batch(None, None);
                self.next_state(State::InBatch(batch), r)
            }
            (State::AfterHeader, T::FileControl) => {
                self.unexpected(r, "05 (batch header)");
                self.next_state(State::BetweenBatches, r)
            }
            (State::BetweenBatches, T::FileControl) => {
                self.file_control(r);
                State::Done
            }
            (state @ (State::AfterHeader | State::BetweenBatches), _) => {
                self.unexpected(r, expected_between_batches(&state));
                state
            }
            (State::InBatch(mut batch), T::Detail) => {
                self.detail(r, &mut batch);
                State::InBatch(batch)
            }
            (State::InBatch(batch), T::BatchControl) => {
                self.batch_control(r, &batch);
                State::BetweenBatches
            }
            (State::InBatch(batch), T::BatchHeader | T::FileControl) => {
                let error = ParseError::BatchNotClosed {
                    batch: batch.label(),
                };
                self.problem_at(r, None, error);
                self.next_state(State::BetweenBatches, r)
            }
            (State::InBatch(batch), T::FileHeader) => {
                self.unexpected(r, "06 (detail) or 08 (batch control)");
                State::InBatch(batch)
            }
            (State::Done, _) => {
                self.problem_at(r, None, ParseError::RecordAfterFileControl);
                self.stopped = true;
                State::Done
            }
        }
    }

    fn unexpected(&mut self, r: &Record<'_>, expected: &'static str) {
        self.problem_at(r, None, ParseError::UnexpectedRecord { expected });
    }

    fn file_header(&mut self, r: &Record<'_>) -> Option<FileHeader> {
        let nit = self.field(r, r.digits(2, 12, "NIT"));
        let collection_date = self.field(r, r.date(12, 20, "collection date"));
        let collector_code = self.field(r, r.digits(20, 23, "collector code"));
        let account_number = r.text(23, 40).trim_end();
        let file_date = self.field(r, r.date(40, 48, "file date"));
        let file_time = self.field(r, r.time(48, 52, "file time"));
        let modifier = self.field(r, r.modifier(52, "file modifier"));
        let account_type = self.field(r, r.account_type(53, 55, "account type"));
        self.reserved(r, 55);
        Some(FileHeader {
            nit: nit?.to_owned(),
            collection_date: collection_date?,
            collector_code: collector_code?.to_owned(),
            account_number: account_number.to_owned(),
            file_date: file_date?,
            file_time: file_time?,
            modifier: modifier?,
            account_type: account_type?,
        })
    }

    fn open_batch(&mut self, number: Option<u16>, service_code: Option<&'a str>) -> OpenBatch<'a> {
        self.batches_opened = self.batches_opened.saturating_add(1);
        OpenBatch {
            number,
            position: self.batches_opened,
            service_code,
            details: 0,
            sums: Sums::ZERO,
        }
    }

    fn batch_header(&mut self, r: &Record<'a>) -> OpenBatch<'a> {
        let service_code = self.field(r, r.digits(2, 15, "service code"));
        let number = self.field(r, r.number_u16(15, 19, "batch number"));
        self.reserved(r, 19);
        let batch = self.open_batch(number, service_code);
        if let Some(number) = number {
            if !self.batch_numbers.insert(number) {
                let error = ParseError::DuplicateBatchNumber { batch: number };
                self.problem_at(r, Some("batch number"), error);
            } else if number != batch.position {
                self.warning(ParseWarning::BatchNumberNotConsecutive {
                    line: r.line,
                    expected: batch.position,
                    got: number,
                });
            }
        }
        batch
    }

    fn detail(&mut self, r: &Record<'a>, batch: &mut OpenBatch<'a>) {
        let fields = self.detail_fields(r);
        if let Some(origin) = fields.origin.filter(|o| !is_known_origin(o)) {
            self.warning(ParseWarning::UnknownOrigin {
                line: r.line,
                code: origin.to_owned(),
            });
        }
        if let Some(method) = fields.method.filter(|m| !is_known_method(m)) {
            self.warning(ParseWarning::UnknownMethod {
                line: r.line,
                code: method.to_owned(),
            });
        }
        self.count_detail(r, batch, &fields);
        if self.problems.is_empty()
            && let Some(detail) = fields.complete(r.line, batch.number)
        {
            (self.on_detail)(detail);
        }
    }

    fn detail_fields(&mut self, r: &Record<'a>) -> DetailFields<'a> {
        let fields = DetailFields {
            reference: self.field(r, r.digits(2, 50, "reference")),
            amount: self.field(r, r.number(50, 64, "amount")).map(Cents::new),
            origin: self.field(r, r.digits(64, 66, "origin")),
            method: self.field(r, r.digits(66, 68, "method")),
            operation_number: self.field(r, r.digits(68, 74, "operation number")),
            authorization_number: self.field(r, r.digits(74, 80, "authorization number")),
            debited_bank_code: self.field(r, r.digits(80, 83, "debited bank code")),
            branch_code: self.field(r, r.digits(83, 87, "branch code")),
            // 7 digits always fit a u32.
            sequence: self
                .field(r, r.number(87, 94, "sequence"))
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            return_reason: r.text(94, 97),
        };
        self.reserved(r, 97);
        fields
    }

    /// Adds the detail to its batch's and the file's sums, and checks its sequence number
    /// against the three readings of §6.3 rule 9.
    fn count_detail(&mut self, r: &Record<'_>, batch: &mut OpenBatch<'_>, d: &DetailFields<'_>) {
        batch.sums.add(d.amount);
        if !self.file_sums.add(d.amount) {
            self.problem_at(r, Some("amount"), ParseError::AmountOverflow);
        }
        if let Some(sequence) = d.sequence.map(u64::from) {
            let s = &mut self.sequences;
            s.position_in_file &= sequence == r.line as u64 - 1;
            s.per_batch_from_2 &= sequence == batch.details + 2;
            s.continuous_from_2 &= sequence == self.details + 2;
        }
        batch.details += 1;
        self.details += 1;
    }

    fn batch_control(&mut self, r: &Record<'_>, batch: &OpenBatch<'a>) {
        let declared_count = self.field(r, r.number(2, 11, "record count"));
        let declared_total = self.field(r, r.number(11, 29, "total")).map(Cents::new);
        let control = self.field(r, r.number_u16(29, 33, "batch number"));
        self.reserved(r, 33);
        if let (Some(header), Some(control)) = (batch.number, control)
            && header != control
        {
            let error = ParseError::BatchNumberMismatch { header, control };
            self.problem_at(r, Some("batch number"), error);
        }
        let label = batch.number.or(control).unwrap_or(batch.position);
        if let (Some(declared), Some(actual)) = (declared_count, batch.sums.count) {
            if declared == actual + 2 {
                self.warning(ParseWarning::BatchCountIncludesHeaderAndControl {
                    line: r.line,
                    batch: label,
                    declared,
                });
            } else if declared != actual {
                let error = ParseError::BatchCountMismatch {
                    batch: label,
                    declared,
                    actual,
                };
                self.problem_at(r, Some("record count"), error);
            }
        }
        if let (Some(declared), Some(actual)) = (declared_total, batch.sums.total)
            && declared != actual
        {
            let error = ParseError::BatchTotalMismatch {
                batch: label,
                declared,
                actual,
            };
            self.problem_at(r, Some("total"), error);
        }
        if let (Some(number), Some(service_code), Some(total)) =
            (batch.number, batch.service_code, batch.sums.total)
        {
            self.batches.push(BatchSummary {
                service_code: service_code.to_owned(),
                number,
                detail_count: batch.details,
                total,
            });
        }
    }

    fn file_control(&mut self, r: &Record<'_>) {
        let declared_count = self.field(r, r.number(2, 11, "record count"));
        let declared_total = self.field(r, r.number(11, 29, "total")).map(Cents::new);
        self.reserved(r, 29);
        if let (Some(declared), Some(actual)) = (declared_count, self.file_sums.count)
            && declared != actual
        {
            let error = ParseError::FileCountMismatch { declared, actual };
            self.problem_at(r, Some("record count"), error);
        }
        if let (Some(declared), Some(actual)) = (declared_total, self.file_sums.total)
            && declared != actual
        {
            let error = ParseError::FileTotalMismatch { declared, actual };
            self.problem_at(r, Some("total"), error);
        }
    }

    pub fn finish(mut self) -> Result<Summary, Rejected> {
        if !self.more {
            match &self.state {
                State::Done => {}
                State::InBatch(batch) => {
                    let error = ParseError::BatchNotClosed {
                        batch: batch.label(),
                    };
                    self.problem(None, None, None, error);
                    self.problem(None, None, None, ParseError::MissingFileControl);
                }
                _ => self.problem(None, None, None, ParseError::MissingFileControl),
            }
        }
        let s = self.sequences;
        if !(s.position_in_file || s.per_batch_from_2 || s.continuous_from_2) {
            self.warning(ParseWarning::SequenceMatchesNoReading);
        }
        match (self.header, self.problems.is_empty()) {
            (Some(header), true) => Ok(Summary {
                header,
                batches: self.batches,
                warnings: self.warnings,
                warnings_omitted: self.warnings_omitted,
                sequences: s,
            }),
            (_, problems_empty) => {
                assert!(!problems_empty, "a file without a header has a problem");
                Err(Rejected {
                    problems: self.problems,
                    more: self.more,
                })
            }
        }
    }
}

fn expected_between_batches(state: &State<'_>) -> &'static str {
    match state {
        State::AfterHeader => "05 (batch header)",
        _ => "05 (batch header) or 09 (file control)",
    }
}
