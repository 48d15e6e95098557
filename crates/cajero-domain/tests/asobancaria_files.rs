//! The Asobancaria 2001 parser against real bank-generated files, made conformant and
//! defective files (copies of `shared/reference/asobancaria-samples`, in `fixtures/`), and
//! the writer against the parser.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use cajero_domain::asobancaria::{
    AccountType, Batch, Cents, CollectionFile, Detail, FieldProblem, FileHeader, FileTime,
    LineEnding, PROBLEMS_MAX, ParseError, ParseWarning, Problem, RECORD_CHARS, RecordType,
    Strictness, parse, parse_with, write,
};
use jiff::civil::date;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/asobancaria")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_24_july_bank_file_parses_with_its_totals() {
    let parsed = parse(&fixture("micros-24JULIO.TXT"), Strictness::Strict).unwrap();
    let file = &parsed.file;
    assert_eq!(file.header.nit, "9006491199");
    assert_eq!(file.header.collection_date, date(2024, 7, 24));
    assert_eq!(file.header.file_date, date(2024, 7, 25));
    assert_eq!(file.header.file_time, FileTime::new(10, 0).unwrap());
    assert_eq!(file.header.modifier, 'A');
    assert_eq!(file.header.account_type, AccountType::Checking);
    assert_eq!(file.batches.len(), 1);
    assert_eq!(file.batches[0].service_code, "7709998888487");
    assert_eq!(file.detail_count(), 77);
    assert_eq!(file.total(), Some(Cents::new(13_393_100_000)));
    let first = &file.batches[0].details[0];
    assert_eq!(
        first.reference,
        "000000000000000000106096800000000009004345062402"
    );
    assert_eq!(first.amount, Cents::new(8_400_000));
    assert_eq!(first.branch_code, "0008");
    assert_eq!(first.sequence, 2);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert!(parsed.sequences.per_batch_from_2);
}

#[test]
fn the_26_august_bank_file_parses_with_its_totals() {
    let parsed = parse(&fixture("micros-26AGOSTO.TXT"), Strictness::Strict).unwrap();
    assert_eq!(parsed.file.detail_count(), 22);
    assert_eq!(parsed.file.total(), Some(Cents::new(64_000_000)));
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

#[test]
fn the_11_july_bank_file_parses_leniently_and_reports_its_short_control_record() {
    let text = fixture("micros-11JULIO.TXT");
    let strict = parse(&text, Strictness::Strict).unwrap_err();
    assert_eq!(
        strict.problems,
        vec![problem(
            Some(21),
            Some(RecordType::FileControl),
            None,
            ParseError::RecordLength { chars: 29 }
        )]
    );
    let parsed = parse(&text, Strictness::Lenient).unwrap();
    assert_eq!(parsed.file.detail_count(), 17);
    assert_eq!(parsed.file.total(), Some(Cents::new(30_000_000)));
    assert_eq!(
        parsed.warnings,
        vec![ParseWarning::FillerLength {
            line: 21,
            record_type: RecordType::FileControl,
            chars: 29
        }]
    );
}

#[test]
fn the_synthetic_two_batch_file_parses_with_fractional_cents() {
    let parsed = parse(
        &fixture("synthetic-conformant-2batches.txt"),
        Strictness::Strict,
    )
    .unwrap();
    let file = &parsed.file;
    assert_eq!(file.batches.len(), 2);
    assert_eq!(file.batches[1].service_code, "0000900123456");
    assert_eq!(file.detail_count(), 5);
    assert_eq!(file.total(), Some(Cents::new(18_235_049)));
    assert!(parsed.sequences.per_batch_from_2);
    assert!(!parsed.sequences.continuous_from_2);
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Valid,
    ValidWithWarnings,
    ValidOnlyLeniently,
    Rejected,
}

fn verdict(text: &str) -> Verdict {
    match (
        parse(text, Strictness::Strict),
        parse(text, Strictness::Lenient),
    ) {
        (Ok(parsed), _) if parsed.warnings.is_empty() => Verdict::Valid,
        (Ok(_), _) => Verdict::ValidWithWarnings,
        (Err(_), Ok(_)) => Verdict::ValidOnlyLeniently,
        (Err(_), Err(_)) => Verdict::Rejected,
    }
}

#[test]
fn every_sample_gets_the_verdict_of_the_reference() {
    // asobancaria-2001.md §8.
    let samples = [
        ("micros-24JULIO.TXT", Verdict::Valid),
        ("micros-26AGOSTO.TXT", Verdict::Valid),
        ("micros-11JULIO.TXT", Verdict::ValidOnlyLeniently),
        ("synthetic-conformant-2batches.txt", Verdict::Valid),
        ("negative/neg-amount-mismatch.txt", Verdict::Rejected),
        ("negative/neg-count-plus2.txt", Verdict::ValidWithWarnings),
        ("negative/neg-truncated-detail.txt", Verdict::Rejected),
        ("negative/neg-batch-not-closed.txt", Verdict::Rejected),
    ];
    for (name, expected) in samples {
        assert_eq!(verdict(&fixture(name)), expected, "{name}");
    }
}

fn problem(
    line: Option<usize>,
    record_type: Option<RecordType>,
    field: Option<&'static str>,
    error: ParseError,
) -> Problem {
    Problem {
        line,
        record_type,
        field,
        error,
    }
}

#[test]
fn a_detail_amount_that_disagrees_with_its_batch_and_file_controls_is_refused_with_both_totals() {
    let rejected = parse(
        &fixture("negative/neg-amount-mismatch.txt"),
        Strictness::Lenient,
    )
    .unwrap_err();
    assert_eq!(
        rejected.problems,
        vec![
            problem(
                Some(6),
                Some(RecordType::BatchControl),
                Some("total"),
                ParseError::BatchTotalMismatch {
                    batch: 1,
                    declared: Cents::new(6_200_049),
                    actual: Cents::new(6_200_050),
                }
            ),
            problem(
                Some(11),
                Some(RecordType::FileControl),
                Some("total"),
                ParseError::FileTotalMismatch {
                    declared: Cents::new(18_235_049),
                    actual: Cents::new(18_235_050),
                }
            ),
        ]
    );
    assert!(!rejected.more);
    assert_eq!(
        rejected.to_string(),
        "line 6, record 08, field total: batch 1 declares 62,000.49, its details sum 62,000.50\n\
         line 11, record 09, field total: the file declares 182,350.49, its details sum 182,350.50"
    );
}

#[test]
fn a_batch_count_including_header_and_control_is_only_warned() {
    let parsed = parse(&fixture("negative/neg-count-plus2.txt"), Strictness::Strict).unwrap();
    assert_eq!(
        parsed.warnings,
        vec![ParseWarning::BatchCountIncludesHeaderAndControl {
            line: 6,
            batch: 1,
            declared: 5
        }]
    );
}

#[test]
fn a_truncated_detail_is_refused_even_leniently_and_only_once() {
    let rejected = parse(
        &fixture("negative/neg-truncated-detail.txt"),
        Strictness::Lenient,
    )
    .unwrap_err();
    assert_eq!(
        rejected.problems,
        vec![problem(
            Some(3),
            Some(RecordType::Detail),
            None,
            ParseError::Truncated {
                chars: 80,
                data_chars: 97
            }
        )]
    );
}

#[test]
fn a_batch_not_closed_before_the_next_is_refused_and_the_next_batch_is_still_checked() {
    let text = fixture("negative/neg-batch-not-closed.txt");
    let rejected = parse(&text, Strictness::Strict).unwrap_err();
    assert_eq!(
        rejected.problems,
        vec![problem(
            Some(6),
            Some(RecordType::BatchHeader),
            None,
            ParseError::BatchNotClosed { batch: 1 }
        )]
    );

    let batch_2_total = "080000000020000000000120350000002";
    let text = text.replace(batch_2_total, "080000000020000000000120350010002");
    let rejected = parse(&text, Strictness::Strict).unwrap_err();
    let errors: Vec<_> = rejected.errors().cloned().collect();
    assert_eq!(
        errors,
        vec![
            ParseError::BatchNotClosed { batch: 1 },
            ParseError::BatchTotalMismatch {
                batch: 2,
                declared: Cents::new(12_035_001),
                actual: Cents::new(12_035_000),
            },
        ]
    );
}

/// Replaces `with.len()` characters of line `line` (1-based) from 0-based `at`.
fn edit(lines: &mut [String], line: usize, at: usize, with: &str) {
    lines[line - 1].replace_range(at..at + with.len(), with);
}

#[test]
fn every_defect_of_a_file_is_listed_with_its_line_record_and_field() {
    let text = fixture("synthetic-conformant-2batches.txt");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    edit(&mut lines, 1, 44, "13"); // file date 2024-13-11
    edit(&mut lines, 3, 58, "O"); // a letter in batch 1's first amount
    edit(&mut lines, 5, 64, "0X"); // a letter in an origin
    edit(&mut lines, 6, 29, "0003"); // batch 1 closed as batch 3
    edit(&mut lines, 10, 2, "000000003"); // batch 2 has 2 details, not 3
    edit(&mut lines, 11, 2, "000000006"); // the file has 5 details, not 6
    let rejected = parse(&lines.join("\n"), Strictness::Strict).unwrap_err();

    let not_digits = |value: &str| {
        ParseError::Field(FieldProblem::NotDigits {
            value: value.to_owned(),
        })
    };
    assert_eq!(
        rejected.problems,
        vec![
            problem(
                Some(1),
                Some(RecordType::FileHeader),
                Some("file date"),
                ParseError::Field(FieldProblem::InvalidDate {
                    value: "20241311".into()
                })
            ),
            problem(
                Some(3),
                Some(RecordType::Detail),
                Some("amount"),
                not_digits("00000001O50000")
            ),
            problem(
                Some(5),
                Some(RecordType::Detail),
                Some("origin"),
                not_digits("0X")
            ),
            problem(
                Some(6),
                Some(RecordType::BatchControl),
                Some("batch number"),
                ParseError::BatchNumberMismatch {
                    header: 1,
                    control: 3
                }
            ),
            problem(
                Some(10),
                Some(RecordType::BatchControl),
                Some("record count"),
                ParseError::BatchCountMismatch {
                    batch: 2,
                    declared: 3,
                    actual: 2
                }
            ),
            problem(
                Some(11),
                Some(RecordType::FileControl),
                Some("record count"),
                ParseError::FileCountMismatch {
                    declared: 6,
                    actual: 5
                }
            ),
        ],
        "{rejected}"
    );
}

#[test]
fn an_unreadable_line_is_reported_once_and_skipped() {
    let text = fixture("synthetic-conformant-2batches.txt");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.insert(6, "X".repeat(RECORD_CHARS)); // between the batches
    edit(&mut lines, 3, 0, "07"); // a detail of batch 1 with an unknown type
    let rejected = parse(&lines.join("\r\n"), Strictness::Strict).unwrap_err();
    assert_eq!(
        rejected.problems,
        vec![
            problem(
                Some(3),
                None,
                None,
                ParseError::UnknownRecordType { code: "07".into() }
            ),
            problem(
                Some(7),
                None,
                None,
                ParseError::UnknownRecordType { code: "XX".into() }
            ),
        ]
    );
}

#[test]
fn past_the_maximum_problems_are_left_out_and_said_to_be() {
    let details = (0..PROBLEMS_MAX + 50).map(|_| ("1", 100)).collect();
    let text = write(&sample_file(details), LineEnding::Lf).unwrap();
    // Every detail's origin (positions 65-66) becomes "XX".
    let text: Vec<String> = text
        .lines()
        .map(|l| {
            let mut l = l.to_owned();
            if l.starts_with("06") {
                l.replace_range(64..66, "XX");
            }
            l
        })
        .collect();
    let rejected = parse(&text.join("\n"), Strictness::Strict).unwrap_err();
    assert_eq!(rejected.problems.len(), PROBLEMS_MAX);
    assert!(rejected.more);
    assert_eq!(rejected.problems[0].line, Some(3));
    assert!(
        rejected
            .to_string()
            .ends_with("more problems left out: only the first 100 are listed")
    );
}

#[test]
fn streaming_hands_over_every_detail_as_slices_of_the_text() {
    let text = fixture("micros-24JULIO.TXT");
    let mut seen = Vec::new();
    let summary = parse_with(&text, Strictness::Strict, |d| seen.push(d)).unwrap();
    assert_eq!(seen.len(), 77);
    assert_eq!(summary.detail_count(), 77);
    assert_eq!(summary.total(), Cents::new(13_393_100_000));
    assert_eq!(
        seen.iter()
            .fold(Cents::ZERO, |sum, d| sum.checked_add(d.amount).unwrap()),
        summary.total()
    );
    assert_eq!(summary.batches[0].service_code, "7709998888487");
    assert_eq!(summary.batches[0].number, 1);
    let first = seen[0];
    assert_eq!((first.line, first.batch, first.sequence), (3, 1, 2));
    assert_eq!(
        first.reference_significant(),
        "106096800000000009004345062402"
    );
    let owned = parse(&text, Strictness::Strict).unwrap();
    let owned: Vec<Detail> = owned.file.details().cloned().collect();
    let streamed: Vec<Detail> = seen.iter().map(|d| d.to_detail()).collect();
    assert_eq!(streamed, owned);
}

#[test]
fn streaming_a_rejected_file_ends_in_the_rejection() {
    let mut seen = 0;
    let result = parse_with(
        &fixture("negative/neg-amount-mismatch.txt"),
        Strictness::Strict,
        |_| seen += 1,
    );
    // The three details of batch 1 were handed over before its control refused them.
    assert_eq!(seen, 3);
    assert_eq!(result.unwrap_err().problems.len(), 2);
}

#[test]
fn grammar_errors_are_precise() {
    let text = fixture("synthetic-conformant-2batches.txt");
    let lines: Vec<&str> = text.lines().collect();
    let only = |text: &str| {
        let rejected = parse(text, Strictness::Strict).unwrap_err();
        assert_eq!(rejected.problems.len(), 1, "{rejected}");
        rejected.problems[0].clone()
    };
    let without_control = lines[..lines.len() - 1].join("\n");
    assert_eq!(
        only(&without_control),
        problem(None, None, None, ParseError::MissingFileControl)
    );
    let without_header = lines[1..].join("\n");
    assert_eq!(
        only(&without_header),
        problem(
            Some(1),
            Some(RecordType::BatchHeader),
            None,
            ParseError::UnexpectedRecord {
                expected: "01 (file header)"
            }
        )
    );
    let mut trailing = lines.join("\n");
    trailing.push('\n');
    trailing.push_str(lines[0]);
    trailing.push('\n');
    trailing.push_str(lines[1]);
    assert_eq!(
        only(&trailing),
        problem(
            Some(12),
            Some(RecordType::FileHeader),
            None,
            ParseError::RecordAfterFileControl
        )
    );
    assert_eq!(only("\r\n"), problem(None, None, None, ParseError::Empty));
    let without_batch_2_control = [&lines[..9], &lines[10..]].concat().join("\n");
    assert_eq!(
        parse(&without_batch_2_control, Strictness::Strict)
            .unwrap_err()
            .problems,
        vec![problem(
            Some(10),
            Some(RecordType::FileControl),
            None,
            ParseError::BatchNotClosed { batch: 2 }
        )]
    );
    let cut_in_batch_2 = lines[..9].join("\n");
    assert_eq!(
        parse(&cut_in_batch_2, Strictness::Strict)
            .unwrap_err()
            .problems,
        vec![
            problem(None, None, None, ParseError::BatchNotClosed { batch: 2 }),
            problem(None, None, None, ParseError::MissingFileControl),
        ]
    );
}

fn sample_file(details: Vec<(&str, u64)>) -> CollectionFile {
    let details = details
        .into_iter()
        .enumerate()
        .map(|(i, (reference, cents))| Detail {
            reference: reference.to_owned(),
            amount: Cents::new(cents),
            origin: "01".into(),
            method: "01".into(),
            operation_number: "000000".into(),
            authorization_number: "000000".into(),
            debited_bank_code: "000".into(),
            branch_code: "0042".into(),
            sequence: u32::try_from(i).unwrap() + 2,
            return_reason: String::new(),
        })
        .collect();
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
        batches: vec![Batch {
            service_code: "7709998000016".into(),
            number: 1,
            details,
        }],
    }
}

#[test]
fn a_written_file_parses_back_to_the_same_file_with_balanced_controls() {
    let file = sample_file(vec![("42807357", 15_000_000), ("12345678", 7_777_700)]);
    for ending in [LineEnding::CrLf, LineEnding::Lf] {
        let text = write(&file, ending).unwrap();
        assert!(
            text.lines()
                .all(|l| l.trim_end_matches('\r').len() == RECORD_CHARS)
        );
        let parsed = parse(&text, Strictness::Strict).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let mut expected = file.clone();
        for d in &mut expected.batches[0].details {
            d.reference = format!("{:0>48}", d.reference);
            d.return_reason = "   ".into();
        }
        assert_eq!(parsed.file, expected);
        assert_eq!(
            parsed.file.batches[0].details[0].reference_significant(),
            "42807357"
        );
        assert_eq!(parsed.file.total(), Some(Cents::new(22_777_700)));
    }
}

#[test]
fn a_day_without_payments_is_a_valid_file_with_an_empty_batch() {
    let text = write(&sample_file(vec![]), LineEnding::CrLf).unwrap();
    let parsed = parse(&text, Strictness::Strict).unwrap();
    assert_eq!(parsed.file.detail_count(), 0);
    assert_eq!(parsed.file.total(), Some(Cents::ZERO));
    assert!(text.contains("\r\n09000000000000000000000000000"));
}

#[test]
fn the_writer_refuses_values_that_do_not_fit_their_fields() {
    let mut file = sample_file(vec![("12AB", 100)]);
    assert!(matches!(
        write(&file, LineEnding::Lf),
        Err(cajero_domain::asobancaria::WriteError::NotDigits {
            field: "06-2 reference",
            ..
        })
    ));
    file.batches[0].details[0].reference = "1".into();
    file.batches[0].details[0].amount = Cents::new(100_000_000_000_000);
    assert!(matches!(
        write(&file, LineEnding::Lf),
        Err(cajero_domain::asobancaria::WriteError::AmountTooLarge { .. })
    ));
    file.batches.clear();
    assert_eq!(
        write(&file, LineEnding::Lf),
        Err(cajero_domain::asobancaria::WriteError::NoBatches)
    );
}
