//! Writing an Asobancaria 2001 collection file. The control records (08, 09) are computed
//! here from the details, never taken from the caller, so a written file always balances.

use std::fmt::Write as _;

use jiff::civil::Date;

use super::{
    Batch, Cents, CollectionFile, DETAIL_AMOUNT_DIGITS, Detail, FileHeader, RECORD_CHARS,
    REFERENCE_DIGITS, TOTAL_AMOUNT_DIGITS,
};

/// The line terminator between records (bank files use CRLF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    /// `\r\n`, as the bank-generated files.
    CrLf,
    /// `\n`.
    Lf,
}

impl LineEnding {
    const fn as_str(self) -> &'static str {
        match self {
            LineEnding::CrLf => "\r\n",
            LineEnding::Lf => "\n",
        }
    }
}

/// A value that cannot be written in its fixed-width field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The grammar needs at least one batch (a day without payments has an empty one).
    #[error("a file needs at least one batch")]
    NoBatches,
    /// A numeric field holds something other than digits or is wider than its field.
    #[error("field {field}: {value:?} is not at most {width} digits")]
    NotDigits {
        field: &'static str,
        value: String,
        width: usize,
    },
    /// An alphanumeric field is wider than its field or not ASCII.
    #[error("field {field}: {value:?} is not at most {width} ASCII characters")]
    TooLong {
        field: &'static str,
        value: String,
        width: usize,
    },
    /// An amount or a total does not fit its digits.
    #[error("field {field}: {value} does not fit {width} digits")]
    AmountTooLarge {
        field: &'static str,
        value: Cents,
        width: usize,
    },
    /// More batches or details than the count fields hold.
    #[error("too many records")]
    TooManyRecords,
    /// The modifier is not `A`–`Z` or `0`–`9`.
    #[error("file modifier {0:?} is not A-Z or 0-9")]
    InvalidModifier(char),
    /// A year outside 0000–9999.
    #[error("date {0} does not fit AAAAMMDD")]
    InvalidDate(Date),
}

/// Renders the file: one record per line, each exactly [`RECORD_CHARS`] characters, with a
/// line end after every record (the last included).
pub fn write(file: &CollectionFile, line_ending: LineEnding) -> Result<String, WriteError> {
    if file.batches.is_empty() {
        return Err(WriteError::NoBatches);
    }
    let mut out = Vec::with_capacity(file.detail_count() + 2 * file.batches.len() + 2);
    out.push(file_header(&file.header)?);
    let mut file_total = Cents::ZERO;
    let mut file_count = 0u64;
    for batch in &file.batches {
        let (records, total) = batch_records(batch)?;
        out.extend(records);
        file_total = file_total
            .checked_add(total)
            .ok_or(WriteError::TooManyRecords)?;
        file_count += batch.details.len() as u64;
    }
    let mut control = String::from("09");
    control.push_str(&num("09-2 record count", &file_count.to_string(), 9)?);
    control.push_str(&amount("09-3 total", file_total, TOTAL_AMOUNT_DIGITS)?);
    out.push(control);

    let ending = line_ending.as_str();
    let mut text = String::with_capacity(out.len() * (RECORD_CHARS + ending.len()));
    for record in out {
        text.push_str(&format!("{record:<RECORD_CHARS$}"));
        text.push_str(ending);
    }
    Ok(text)
}

fn file_header(h: &FileHeader) -> Result<String, WriteError> {
    if !(h.modifier.is_ascii_uppercase() || h.modifier.is_ascii_digit()) {
        return Err(WriteError::InvalidModifier(h.modifier));
    }
    let mut r = String::from("01");
    r.push_str(&num("01-2 NIT", &h.nit, 10)?);
    r.push_str(&date(h.collection_date)?);
    r.push_str(&num("01-4 collector code", &h.collector_code, 3)?);
    r.push_str(&alf("01-5 account number", &h.account_number, 17)?);
    r.push_str(&date(h.file_date)?);
    let _ = write!(r, "{:02}{:02}", h.file_time.hour(), h.file_time.minute());
    r.push(h.modifier);
    r.push_str(h.account_type.code());
    Ok(r)
}

fn batch_records(batch: &Batch) -> Result<(Vec<String>, Cents), WriteError> {
    let mut records = Vec::with_capacity(batch.details.len() + 2);
    let number = num("05-3 batch number", &batch.number.to_string(), 4)?;
    records.push(format!(
        "05{}{number}",
        num("05-2 service code", &batch.service_code, 13)?
    ));
    let mut total = Cents::ZERO;
    for d in &batch.details {
        records.push(detail(d)?);
        total = total
            .checked_add(d.amount)
            .ok_or(WriteError::TooManyRecords)?;
    }
    let mut control = String::from("08");
    control.push_str(&num(
        "08-2 record count",
        &batch.details.len().to_string(),
        9,
    )?);
    control.push_str(&amount("08-3 total", total, TOTAL_AMOUNT_DIGITS)?);
    control.push_str(&number);
    records.push(control);
    Ok((records, total))
}

fn detail(d: &Detail) -> Result<String, WriteError> {
    let mut r = String::from("06");
    r.push_str(&num("06-2 reference", &d.reference, REFERENCE_DIGITS)?);
    r.push_str(&amount("06-3 amount", d.amount, DETAIL_AMOUNT_DIGITS)?);
    r.push_str(&num("06-4 origin", &d.origin, 2)?);
    r.push_str(&num("06-5 method", &d.method, 2)?);
    r.push_str(&num("06-6 operation number", &d.operation_number, 6)?);
    r.push_str(&num(
        "06-7 authorization number",
        &d.authorization_number,
        6,
    )?);
    r.push_str(&num("06-8 debited bank code", &d.debited_bank_code, 3)?);
    r.push_str(&num("06-9 branch code", &d.branch_code, 4)?);
    r.push_str(&num("06-10 sequence", &d.sequence.to_string(), 7)?);
    r.push_str(&alf("06-11 return reason", &d.return_reason, 3)?);
    Ok(r)
}

/// A NUM field: digits, right-aligned, zero-filled.
fn num(field: &'static str, value: &str, width: usize) -> Result<String, WriteError> {
    if value.len() > width || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WriteError::NotDigits {
            field,
            value: value.to_owned(),
            width,
        });
    }
    Ok(format!("{value:0>width$}"))
}

/// An ALF field: ASCII, left-aligned, blank-filled.
fn alf(field: &'static str, value: &str, width: usize) -> Result<String, WriteError> {
    if value.len() > width || !value.is_ascii() || value.contains(['\r', '\n']) {
        return Err(WriteError::TooLong {
            field,
            value: value.to_owned(),
            width,
        });
    }
    Ok(format!("{value:<width$}"))
}

fn amount(field: &'static str, value: Cents, width: usize) -> Result<String, WriteError> {
    let digits = value.get().to_string();
    if digits.len() > width {
        return Err(WriteError::AmountTooLarge {
            field,
            value,
            width,
        });
    }
    Ok(format!("{digits:0>width$}"))
}

fn date(d: Date) -> Result<String, WriteError> {
    if !(0..=9999).contains(&d.year()) {
        return Err(WriteError::InvalidDate(d));
    }
    Ok(format!("{:04}{:02}{:02}", d.year(), d.month(), d.day()))
}
