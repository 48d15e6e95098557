//! A network's file, read into reconciliation's lines whatever its format: Asobancaria 2001
//! (pay-ins; `cajero_domain::asobancaria`), the simulator's CSV (pay-ins and payouts), and the
//! gateways' reports (`cajero_connect::{dlocal,payu,kushki}::parse_report`).
//!
//! A file is read whole or refused whole: every problem found (at most [`PROBLEMS_MAX`]) is
//! returned, each with its line, record type and field, and nothing of a refused file is used.

use cajero_connect::NetworkStatus;
use cajero_connect::report::{ReportLine, ReportProblem};
use cajero_domain::asobancaria::{self, Strictness};
use cajero_domain::reconcile::{Kind, Line, LineStatus};
use jiff::civil::Date;
use serde::Serialize;

use super::Format;

/// Problems listed per refused file at most.
pub const PROBLEMS_MAX: usize = 100;

/// One problem in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based line, when it is about one.
    pub line: Option<u32>,
    /// The record type (Asobancaria `01`…`09`) or the CSV's kind of row.
    pub record: Option<String>,
    /// The field or column.
    pub field: Option<String>,
    /// What is wrong, with the expected and actual values where there are two.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(line) = self.line {
            parts.push(format!("line {line}"));
        }
        if let Some(record) = &self.record {
            parts.push(format!("record {record}"));
        }
        if let Some(field) = &self.field {
            parts.push(format!("field {field}"));
        }
        if parts.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", parts.join(", "), self.message)
        }
    }
}

/// A file read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFile {
    /// Its lines of the requested network (other networks' lines are left out).
    pub lines: Vec<Line>,
    /// The day it reports, when it says.
    pub date: Option<Date>,
    /// What was tolerated (lenient reading), for the record.
    pub warnings: Vec<String>,
    /// Lines whose amount has cents (valid Asobancaria, but cajero counts whole pesos): the
    /// file's verdict stands, and an import refuses it with these problems.
    pub fractional: Vec<Problem>,
}

/// Every problem of a refused file, and whether more were left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The problems, in file order.
    pub problems: Vec<Problem>,
    /// More problems than [`PROBLEMS_MAX`] were found.
    pub more: bool,
}

impl Refused {
    fn one(message: impl Into<String>) -> Refused {
        Refused {
            problems: vec![Problem {
                line: None,
                record: None,
                field: None,
                message: message.into(),
            }],
            more: false,
        }
    }
}

/// Reads `bytes` as a file of `format` for the cash network `network`.
pub fn read(
    bytes: &[u8],
    format: Format,
    network: &str,
    lenient: bool,
) -> Result<ReadFile, Refused> {
    match format {
        Format::Asobancaria => read_asobancaria(bytes, lenient),
        Format::Csv => read_csv(bytes, network),
        Format::Dlocal => from_report(cajero_connect::dlocal::parse_report(bytes), network),
        Format::Payu => from_report(cajero_connect::payu::parse_report(bytes), network),
        Format::Kushki => from_report(cajero_connect::kushki::parse_report(bytes), network),
    }
}

/// A payment code as both sides compare it: numeric codes without their zero padding.
pub fn code_key(code: &str) -> &str {
    if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = code.trim_start_matches('0');
        if trimmed.is_empty() { "0" } else { trimmed }
    } else {
        code
    }
}

fn read_asobancaria(bytes: &[u8], lenient: bool) -> Result<ReadFile, Refused> {
    let text = std::str::from_utf8(bytes).map_err(|e| Refused {
        problems: vec![Problem {
            line: Some(line_of_offset(bytes, e.valid_up_to())),
            record: None,
            field: None,
            message: "not ASCII text".into(),
        }],
        more: false,
    })?;
    let strictness = if lenient {
        Strictness::Lenient
    } else {
        Strictness::Strict
    };
    // Details stream as slices of the text; on a refusal everything collected is dropped.
    let mut lines = Vec::new();
    let mut fractional = Vec::new();
    let summary = asobancaria::parse_with(text, strictness, |detail| {
        let line_no = u32::try_from(detail.line).unwrap_or(u32::MAX);
        match detail.amount.to_whole_units() {
            Ok(amount) => lines.push(Line {
                line: line_no,
                kind: Kind::Collection,
                our_id: None,
                network_order_id: None,
                code: Some(code_key(detail.reference_significant()).into()),
                amount: amount.minor(),
                status: LineStatus::Paid,
                counter: non_empty(detail.branch_code),
            }),
            Err(e) => push_problem(
                &mut fractional,
                Problem {
                    line: Some(line_no),
                    record: Some("06".into()),
                    field: Some("amount".into()),
                    message: format!("{} is not whole pesos: {e}", detail.amount.grouped()),
                },
            ),
        }
    })
    .map_err(|rejected| Refused {
        problems: rejected
            .problems
            .iter()
            .map(|p| Problem {
                line: p.line.and_then(|l| u32::try_from(l).ok()),
                record: p.record_type.map(|r| r.code().to_owned()),
                field: p.field.map(Into::into),
                message: p.error.to_string(),
            })
            .collect(),
        more: rejected.more,
    })?;
    fractional.truncate(PROBLEMS_MAX);
    lines.shrink_to_fit();
    let mut warnings: Vec<String> = summary.warnings.iter().map(|w| format!("{w:?}")).collect();
    if summary.warnings_omitted > 0 {
        warnings.push(format!("{} more warnings", summary.warnings_omitted));
    }
    Ok(ReadFile {
        lines,
        date: Some(summary.header.collection_date),
        warnings,
        fractional,
    })
}

/// The simulator's CSV: `date, network, merchant_id, type, order_id, reference, code, amount,
/// currency, counter_id, branch_code, attempt_id, occurred_at`.
fn read_csv(bytes: &[u8], network: &str) -> Result<ReadFile, Refused> {
    const COLUMNS: [&str; 8] = [
        "date",
        "network",
        "type",
        "order_id",
        "reference",
        "code",
        "amount",
        "currency",
    ];
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| Refused::one(format!("the header row cannot be read: {e}")))?
        .clone();
    let position = |name: &str| headers.iter().position(|h| h == name);
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| position(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Refused {
            problems: missing
                .into_iter()
                .map(|c| Problem {
                    line: Some(1),
                    record: Some("header".into()),
                    field: Some(c.into()),
                    message: "column missing".into(),
                })
                .collect(),
            more: false,
        });
    }
    let col = |name: &str| position(name).unwrap_or(0);
    let (c_date, c_network, c_type, c_order, c_ref, c_code, c_amount, c_currency) = (
        col("date"),
        col("network"),
        col("type"),
        col("order_id"),
        col("reference"),
        col("code"),
        col("amount"),
        col("currency"),
    );
    let c_counter = position("counter_id");
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let mut date: Option<Date> = None;
    for (index, record) in reader.records().enumerate() {
        let line_no = u32::try_from(index + 2).unwrap_or(u32::MAX);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                push_problem(&mut problems, at(line_no, None, e.to_string()));
                continue;
            }
        };
        let field = |i: usize| record.get(i).unwrap_or("");
        let row_date = match field(c_date).parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                push_problem(
                    &mut problems,
                    at(
                        line_no,
                        Some("date"),
                        format!("{:?} is not YYYY-MM-DD", field(c_date)),
                    ),
                );
                None
            }
        };
        if let (Some(d), Some(first)) = (row_date, date)
            && d != first
        {
            push_problem(
                &mut problems,
                at(line_no, Some("date"), format!("{d} in a file of {first}")),
            );
        }
        date = date.or(row_date);
        let kind = match field(c_type) {
            "collection" => Some(Kind::Collection),
            "payout" => Some(Kind::Payout),
            other => {
                push_problem(
                    &mut problems,
                    at(
                        line_no,
                        Some("type"),
                        format!("{other:?} is not collection or payout"),
                    ),
                );
                None
            }
        };
        if field(c_currency) != "COP" {
            push_problem(
                &mut problems,
                at(
                    line_no,
                    Some("currency"),
                    format!("{:?} is not COP", field(c_currency)),
                ),
            );
        }
        let amount = match field(c_amount).parse::<i64>() {
            Ok(a) if a > 0 => Some(a),
            _ => {
                push_problem(
                    &mut problems,
                    at(
                        line_no,
                        Some("amount"),
                        format!(
                            "{:?} is not a positive whole number of pesos",
                            field(c_amount)
                        ),
                    ),
                );
                None
            }
        };
        if field(c_network) != network {
            continue;
        }
        if let (Some(kind), Some(amount)) = (kind, amount) {
            lines.push(Line {
                line: line_no,
                kind,
                our_id: non_empty(field(c_ref)),
                network_order_id: non_empty(field(c_order)),
                code: non_empty(code_key(field(c_code))),
                amount,
                status: LineStatus::Paid,
                counter: c_counter.and_then(|c| non_empty(field(c))),
            });
        }
    }
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    Ok(ReadFile {
        lines,
        date,
        warnings: Vec::new(),
        fractional: Vec::new(),
    })
}

fn from_report(
    report: Result<Vec<ReportLine>, Vec<ReportProblem>>,
    network: &str,
) -> Result<ReadFile, Refused> {
    let lines = report.map_err(|problems| {
        refused(
            problems
                .into_iter()
                .map(|p| Problem {
                    line: Some(p.line),
                    record: None,
                    field: Some(p.field),
                    message: p.message,
                })
                .collect(),
        )
    })?;
    Ok(ReadFile {
        lines: lines
            .into_iter()
            .filter(|l| l.network == network)
            .map(|l| Line {
                line: l.line,
                kind: match l.kind {
                    cajero_connect::OrderKind::Collection => Kind::Collection,
                    cajero_connect::OrderKind::Payout => Kind::Payout,
                },
                our_id: l.reference.map(Into::into),
                network_order_id: non_empty(&l.network_order_id),
                code: l.code.as_deref().map(|c| code_key(c).into()),
                amount: l.amount.minor(),
                status: match l.status {
                    NetworkStatus::Paid => LineStatus::Paid,
                    NetworkStatus::Pending | NetworkStatus::Available | NetworkStatus::Locked => {
                        LineStatus::Open
                    }
                    NetworkStatus::Expired
                    | NetworkStatus::Canceled
                    | NetworkStatus::Unrecognized => LineStatus::Closed,
                },
                counter: None,
            })
            .collect(),
        date: None,
        warnings: Vec::new(),
        fractional: Vec::new(),
    })
}

fn at(line: u32, field: Option<&str>, message: String) -> Problem {
    Problem {
        line: Some(line),
        record: None,
        field: field.map(Into::into),
        message,
    }
}

fn push_problem(problems: &mut Vec<Problem>, p: Problem) {
    // One past the limit, so that `refused` can tell there were more.
    if problems.len() <= PROBLEMS_MAX {
        problems.push(p);
    }
}

fn refused(mut problems: Vec<Problem>) -> Refused {
    let more = problems.len() > PROBLEMS_MAX;
    problems.truncate(PROBLEMS_MAX);
    Refused { problems, more }
}

fn non_empty(s: &str) -> Option<Box<str>> {
    (!s.is_empty()).then(|| s.into())
}

fn line_of_offset(bytes: &[u8], offset: usize) -> u32 {
    let newlines = bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CSV_HEADER: &str = "date,network,merchant_id,type,order_id,reference,code,amount,currency,counter_id,branch_code,attempt_id,occurred_at\n";

    #[test]
    fn a_csv_file_reads_its_network_s_lines() {
        let text = format!(
            "{CSV_HEADER}2026-12-04,efecty,m,collection,ord_1,pi_1,00123,5000,COP,ctr_1,0001,a,t\n\
             2026-12-04,sured,m,collection,ord_2,pi_2,9,6000,COP,ctr_1,0001,a,t\n\
             2026-12-04,efecty,m,payout,ord_3,po_3,,7000,COP,ctr_2,0002,a,t\n"
        );
        let file = read(text.as_bytes(), Format::Csv, "efecty", false).unwrap();
        assert_eq!(file.date, Some(jiff::civil::date(2026, 12, 4)));
        assert_eq!(file.lines.len(), 2);
        assert_eq!(file.lines[0].code.as_deref(), Some("123"));
        assert_eq!(file.lines[0].line, 2);
        assert_eq!(file.lines[1].kind, Kind::Payout);
        assert_eq!(file.lines[1].code, None);
    }

    #[test]
    fn a_csv_file_lists_every_problem_with_its_line_and_column() {
        let text = format!(
            "{CSV_HEADER}2026-12-04,efecty,m,collection,ord_1,pi_1,1,-5,COP,c,b,a,t\n\
             2026-13-04,efecty,m,refund,ord_2,pi_2,2,6000,USD,c,b,a,t\n"
        );
        let refused = read(text.as_bytes(), Format::Csv, "efecty", false).unwrap_err();
        let fields: Vec<(Option<u32>, Option<&str>)> = refused
            .problems
            .iter()
            .map(|p| (p.line, p.field.as_deref()))
            .collect();
        assert_eq!(
            fields,
            vec![
                (Some(2), Some("amount")),
                (Some(3), Some("date")),
                (Some(3), Some("type")),
                (Some(3), Some("currency")),
            ]
        );
        assert!(!refused.more);
    }

    #[test]
    fn problems_beyond_the_limit_are_counted_not_listed() {
        let mut text = CSV_HEADER.to_string();
        for _ in 0..150 {
            text.push_str("2026-12-04,efecty,m,collection,o,p,1,x,COP,c,b,a,t\n");
        }
        let refused = read(text.as_bytes(), Format::Csv, "efecty", false).unwrap_err();
        assert_eq!(refused.problems.len(), PROBLEMS_MAX);
        assert!(refused.more);
    }

    #[test]
    fn a_csv_file_without_its_columns_names_them() {
        let refused = read(b"date,amount\n", Format::Csv, "efecty", false).unwrap_err();
        assert!(
            refused
                .problems
                .iter()
                .any(|p| p.field.as_deref() == Some("order_id"))
        );
    }

    #[test]
    fn codes_compare_without_zero_padding() {
        assert_eq!(code_key("000123"), "123");
        assert_eq!(code_key("0000"), "0");
        assert_eq!(code_key("AB01"), "AB01");
    }
}
