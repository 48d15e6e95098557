//! The Asobancaria 2001 parser against real bank-generated files, made conformant and
//! defective files (copies of `shared/reference/asobancaria-samples`, in `fixtures/`), and
//! the writer against the parser.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use cajero_domain::asobancaria::{
    AccountType, Batch, Cents, CollectionFile, Detail, FileHeader, FileTime, LineEnding,
    ParseError, ParseWarning, RECORD_CHARS, RecordType, Strictness, parse, write,
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
        strict,
        ParseError::RecordLength {
            line: 21,
            record_type: RecordType::FileControl,
            chars: 29
        }
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

#[test]
fn a_detail_amount_that_disagrees_with_its_batch_control_is_refused() {
    let err = parse(
        &fixture("negative/neg-amount-mismatch.txt"),
        Strictness::Lenient,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ParseError::BatchTotalMismatch {
            line: 6,
            batch: 1,
            declared: Cents::new(6_200_049),
            actual: Cents::new(6_200_050),
        }
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
fn a_truncated_detail_is_refused_even_leniently() {
    let err = parse(
        &fixture("negative/neg-truncated-detail.txt"),
        Strictness::Lenient,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ParseError::Truncated {
            line: 3,
            record_type: RecordType::Detail,
            chars: 80,
            data_chars: 97
        }
    );
}

#[test]
fn a_batch_not_closed_before_the_next_is_refused() {
    let err = parse(
        &fixture("negative/neg-batch-not-closed.txt"),
        Strictness::Strict,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ParseError::BatchNotClosed {
            line: 6,
            batch: 1,
            found: RecordType::BatchHeader
        }
    );
}

#[test]
fn grammar_errors_are_precise() {
    let text = fixture("synthetic-conformant-2batches.txt");
    let lines: Vec<&str> = text.lines().collect();
    let without_control = lines[..lines.len() - 1].join("\n");
    assert_eq!(
        parse(&without_control, Strictness::Strict).unwrap_err(),
        ParseError::MissingFileControl
    );
    let without_header = lines[1..].join("\n");
    assert!(matches!(
        parse(&without_header, Strictness::Strict).unwrap_err(),
        ParseError::UnexpectedRecord {
            line: 1,
            found: RecordType::BatchHeader,
            ..
        }
    ));
    let mut trailing = lines.join("\n");
    trailing.push('\n');
    trailing.push_str(lines[0]);
    assert_eq!(
        parse(&trailing, Strictness::Strict).unwrap_err(),
        ParseError::RecordAfterFileControl { line: 12 }
    );
    assert_eq!(
        parse("", Strictness::Strict).unwrap_err(),
        ParseError::Empty
    );
    let mut bad_type = lines.clone();
    let replaced = format!("07{}", &lines[2][2..]);
    bad_type[2] = &replaced;
    assert!(matches!(
        parse(&bad_type.join("\n"), Strictness::Strict).unwrap_err(),
        ParseError::UnknownRecordType { line: 3, .. }
    ));
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
