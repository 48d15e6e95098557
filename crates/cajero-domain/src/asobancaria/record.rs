//! One record of a file and the readers of its fixed-width fields. Readers only slice the
//! text (no allocation unless a field is wrong), so streaming a file copies nothing.
//!
//! Offsets are 0-based and end-exclusive, as Rust slices: the spec's 1-based positions
//! `from-to` are `from - 1..to` here.

use jiff::civil::Date;

use super::report::FieldProblem;
use super::{AccountType, FileTime, RECORD_CHARS, RecordType};

/// Lines ended by CRLF, LF or CR; the last one may have no end.
pub(super) fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let is_end = |b: u8| b == b'\r' || b == b'\n';
        // Almost every record is RECORD_CHARS long: look there first, then scan.
        let bytes = rest.as_bytes();
        let end = match bytes.get(RECORD_CHARS) {
            Some(&b) if is_end(b) && no_control_bytes(&bytes[..RECORD_CHARS]) => Some(RECORD_CHARS),
            _ => bytes.iter().position(|&b| is_end(b)),
        };
        match end {
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

/// No byte below a blank (so no line end). Folded rather than searched: without an early
/// exit the compiler vectorises it, and on a good record it reads every byte anyway.
fn no_control_bytes(bytes: &[u8]) -> bool {
    bytes.iter().fold(b' ', |low, &b| low.min(b)) >= b' '
}

/// A field that does not read, and its name.
pub(super) struct FieldError {
    pub field: &'static str,
    pub problem: FieldProblem,
}

/// One record of a known type.
pub(super) struct Record<'a> {
    /// 1-based.
    pub line: usize,
    pub record_type: RecordType,
    pub text: &'a str,
    /// Truncated or not ASCII: already reported, so its unreadable fields are not reported
    /// again one by one.
    pub damaged: bool,
}

impl<'a> Record<'a> {
    /// The characters `from..to`, shorter when the record's filler is missing.
    pub fn text(&self, from: usize, to: usize) -> &'a str {
        let to = to.min(self.text.len());
        self.text.get(from.min(to)..to).unwrap_or("")
    }

    /// Whether everything from `from` on is blank (folded without an early exit, as
    /// [`no_control_bytes`]: good records are blank to the end).
    pub fn blank_from(&self, from: usize) -> bool {
        self.text
            .as_bytes()
            .get(from..)
            .is_none_or(|rest| rest.iter().fold(0, |other, &b| other | (b ^ b' ')) == 0)
    }

    fn error(field: &'static str, problem: FieldProblem) -> FieldError {
        FieldError { field, problem }
    }

    pub fn digits(
        &self,
        from: usize,
        to: usize,
        field: &'static str,
    ) -> Result<&'a str, FieldError> {
        let value = self.text(from, to);
        if value.len() == to - from && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(value)
        } else {
            Err(Self::error(
                field,
                FieldProblem::NotDigits {
                    value: value.to_owned(),
                },
            ))
        }
    }

    /// A NUM field as a number. At most 18 digits, so it always fits a `u64`.
    pub fn number(&self, from: usize, to: usize, field: &'static str) -> Result<u64, FieldError> {
        debug_assert!(to - from <= 19, "u64 holds any 19-digit number");
        let digits = self.digits(from, to, field)?;
        Ok(digits
            .bytes()
            .fold(0u64, |n, b| n * 10 + u64::from(b - b'0')))
    }

    /// A 4-digit NUM field (batch numbers): always fits a `u16`.
    pub fn number_u16(
        &self,
        from: usize,
        to: usize,
        field: &'static str,
    ) -> Result<u16, FieldError> {
        debug_assert!(to - from <= 4, "u16 holds any 4-digit number");
        let n = self.number(from, to, field)?;
        Ok(u16::try_from(n).unwrap_or(u16::MAX))
    }

    pub fn date(&self, from: usize, to: usize, field: &'static str) -> Result<Date, FieldError> {
        let digits = self.digits(from, to, field)?;
        let invalid = || {
            Self::error(
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

    pub fn time(
        &self,
        from: usize,
        to: usize,
        field: &'static str,
    ) -> Result<FileTime, FieldError> {
        let digits = self.digits(from, to, field)?;
        let invalid = || {
            Self::error(
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

    pub fn modifier(&self, at: usize, field: &'static str) -> Result<char, FieldError> {
        let value = self.text(at, at + 1);
        value
            .chars()
            .next()
            .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            .ok_or_else(|| {
                Self::error(
                    field,
                    FieldProblem::InvalidModifier {
                        value: value.to_owned(),
                    },
                )
            })
    }

    pub fn account_type(
        &self,
        from: usize,
        to: usize,
        field: &'static str,
    ) -> Result<AccountType, FieldError> {
        let value = self.text(from, to);
        AccountType::from_code(value).ok_or_else(|| {
            Self::error(
                field,
                FieldProblem::InvalidAccountType {
                    value: value.to_owned(),
                },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_in_crlf_lf_or_cr_and_the_last_may_not_end() {
        let record = "9".repeat(RECORD_CHARS);
        let cut = format!("{}\r{}", &record[..100], &record[101..]);
        let text = format!("{record}\r\n{record}\n{record}\r{cut}\r\nshort\n\nlast");
        let lines: Vec<&str> = physical_lines(&text).collect();
        assert_eq!(
            lines,
            vec![
                record.as_str(),
                record.as_str(),
                record.as_str(),
                &record[..100],
                &record[101..],
                "short",
                "",
                "last"
            ]
        );
    }
}
