//! Reading an Asobancaria 2001 collection file, with every control rule of §6.3 enforced.
//!
//! There is one parser, [`parse_with`], which streams each detail to the caller as slices of
//! the text ([`DetailRef`]) and keeps only the header and the per-batch sums: a
//! 1,000,000-detail file (≈164 MB) is read without copying it. [`parse`] is a thin layer on
//! it that collects owned [`Detail`](super::Detail)s into a [`CollectionFile`].
//!
//! A file is accepted whole or rejected whole. Rejection lists every problem (up to
//! [`PROBLEMS_MAX`]): after a structural problem the parser resynchronises and goes on (see
//! `parser.rs`), so one round trip with the sender fixes everything.

use super::parser::Parser;
use super::record::physical_lines;
use super::report::{ParseError, ParseWarning, Problem, Rejected};
use super::{Batch, Cents, CollectionFile, DetailRef, FileHeader};

#[cfg(doc)]
use super::{
    RECORD_CHARS,
    report::{PROBLEMS_MAX, WARNINGS_MAX},
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
    /// Defects tolerated by the rules of §6.3, at most [`WARNINGS_MAX`].
    pub warnings: Vec<ParseWarning>,
    /// Warnings past [`WARNINGS_MAX`], counted but not listed.
    pub warnings_omitted: usize,
    /// Which readings of the detail sequence field (§6.3 rule 9) the file satisfies.
    pub sequences: SequenceReadings,
}

/// A file that parsed, without its details (they went to the caller one by one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Record 01.
    pub header: FileHeader,
    /// The batches in file order, with their (checked) count and total.
    pub batches: Vec<BatchSummary>,
    /// Defects tolerated by the rules of §6.3, at most [`WARNINGS_MAX`].
    pub warnings: Vec<ParseWarning>,
    /// Warnings past [`WARNINGS_MAX`], counted but not listed.
    pub warnings_omitted: usize,
    /// Which readings of the detail sequence field (§6.3 rule 9) the file satisfies.
    pub sequences: SequenceReadings,
}

impl Summary {
    /// Number of detail records in the file.
    pub fn detail_count(&self) -> u64 {
        self.batches.iter().map(|b| b.detail_count).sum()
    }

    /// Sum of all detail amounts; it equals the 09 total, which fits 18 digits.
    pub fn total(&self) -> Cents {
        self.batches.iter().fold(Cents::ZERO, |sum, b| {
            sum.checked_add(b.total).unwrap_or(sum)
        })
    }
}

/// One batch of a parsed file: records 05 and 08, with what they were checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSummary {
    /// EAN-13 service code, or the company NIT zero-filled, 13 digits.
    pub service_code: String,
    /// Number of the batch within the file.
    pub number: u16,
    /// Detail records in the batch (the 08 count, or the 08 count − 2, warned).
    pub detail_count: u64,
    /// Sum of the batch's details, equal to its 08 total.
    pub total: Cents,
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

/// Parses a whole file into owned records. Accepts CRLF, LF or CR line ends, with or without
/// a final one. For large files prefer [`parse_with`], which copies nothing.
pub fn parse(text: &str, strictness: Strictness) -> Result<Parsed, Rejected> {
    let mut details = Vec::new();
    let summary = parse_with(text, strictness, |d| details.push(d.to_detail()))?;
    let mut details = details.into_iter();
    let batches = summary
        .batches
        .into_iter()
        .map(|b| Batch {
            details: details
                .by_ref()
                .take(usize::try_from(b.detail_count).unwrap_or(usize::MAX))
                .collect(),
            service_code: b.service_code,
            number: b.number,
        })
        .collect();
    debug_assert!(details.next().is_none(), "every detail is in a batch");
    Ok(Parsed {
        file: CollectionFile {
            header: summary.header,
            batches,
        },
        warnings: summary.warnings,
        warnings_omitted: summary.warnings_omitted,
        sequences: summary.sequences,
    })
}

/// Parses a whole file, handing each detail to `on_detail` in file order as slices of
/// `text`, and returns the header, the batches' sums and the warnings.
///
/// **The verdict comes last.** `on_detail` sees details before the parser has read the
/// control records that may reject the file; on `Err` the caller must discard everything it
/// collected. (Once a problem is found no more details are handed over.) A caller that
/// wants to act only on accepted files can run it twice: `parse_with(text, s, |_| {})` to
/// validate, then again to collect.
pub fn parse_with<'a>(
    text: &'a str,
    strictness: Strictness,
    on_detail: impl FnMut(DetailRef<'a>),
) -> Result<Summary, Rejected> {
    // Blank lines at the end are line ends, not records.
    let body = text.trim_end_matches(['\r', '\n']);
    if body.is_empty() {
        return Err(Rejected {
            problems: vec![Problem {
                line: None,
                record_type: None,
                field: None,
                error: ParseError::Empty,
            }],
            more: false,
        });
    }
    let mut parser = Parser::new(strictness, on_detail);
    for (index, line) in physical_lines(body).enumerate() {
        parser.record(index + 1, line);
        if parser.stopped {
            break;
        }
    }
    parser.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jiff::civil::date;

    use super::super::{
        AccountType, Batch, CollectionFile, Detail, FileHeader, FileTime, LineEnding, WARNINGS_MAX,
        write,
    };
    use super::*;

    const DETAILS: usize = 10_000;

    /// `DETAILS` payments in two batches, every amount and reference different.
    fn large_file() -> CollectionFile {
        let detail = |i: usize| Detail {
            reference: format!("{:048}", 1_000_000 + i),
            amount: Cents::new(100 + i as u64),
            origin: "01".into(),
            method: "01".into(),
            operation_number: "000000".into(),
            authorization_number: "000000".into(),
            debited_bank_code: "000".into(),
            branch_code: "0042".into(),
            sequence: u32::try_from(i).unwrap() + 2,
            return_reason: "   ".into(),
        };
        let split = DETAILS * 3 / 5;
        let batch = |number: u16, range: std::ops::Range<usize>| Batch {
            service_code: "7709998000016".into(),
            number,
            details: range
                .enumerate()
                .map(|(index, i)| Detail {
                    sequence: u32::try_from(index).unwrap() + 2,
                    ..detail(i)
                })
                .collect(),
        };
        CollectionFile {
            header: FileHeader {
                nit: "9001234568".into(),
                collection_date: date(2026, 11, 25),
                collector_code: "000".into(),
                account_number: "12345678".into(),
                file_date: date(2026, 11, 26),
                file_time: FileTime::new(6, 30).unwrap(),
                modifier: 'A',
                account_type: AccountType::Checking,
            },
            batches: vec![batch(1, 0..split), batch(2, split..DETAILS)],
        }
    }

    #[test]
    fn a_ten_thousand_detail_file_streams_every_detail_in_order_and_parses_back_whole() {
        let file = large_file();
        let text = write(&file, LineEnding::CrLf).unwrap();

        let mut streamed = 0usize;
        let mut sum = Cents::ZERO;
        let summary = parse_with(&text, Strictness::Strict, |d| {
            // Line 1 is the 01, line 2 the first 05; batch 2 adds its 08 and 05.
            let line = if streamed < DETAILS * 3 / 5 { 3 } else { 5 } + streamed;
            assert_eq!(d.line, line);
            assert_eq!(d.amount, Cents::new(100 + streamed as u64));
            assert_eq!(
                d.reference_significant(),
                (1_000_000 + streamed).to_string()
            );
            streamed += 1;
            sum = sum.checked_add(d.amount).unwrap();
        })
        .unwrap();

        assert_eq!(streamed, DETAILS);
        assert_eq!(summary.detail_count(), DETAILS as u64);
        assert_eq!(summary.total(), sum);
        assert_eq!(summary.total(), file.total().unwrap());
        let counts: Vec<u64> = summary.batches.iter().map(|b| b.detail_count).collect();
        assert_eq!(counts, vec![6_000, 4_000]);
        assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);
        assert!(summary.sequences.per_batch_from_2);
        assert_eq!(parse(&text, Strictness::Strict).unwrap().file, file);
    }

    #[test]
    fn warnings_past_the_maximum_are_counted_not_kept() {
        let mut file = large_file();
        for detail in file.batches.iter_mut().flat_map(|b| b.details.iter_mut()) {
            detail.origin = "99".into();
        }
        let text = write(&file, LineEnding::Lf).unwrap();
        let summary = parse_with(&text, Strictness::Strict, |_| {}).unwrap();
        assert_eq!(summary.warnings.len(), WARNINGS_MAX);
        assert_eq!(summary.warnings_omitted, DETAILS - WARNINGS_MAX);
    }
}
