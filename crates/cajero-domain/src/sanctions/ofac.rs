//! OFAC's SDN list in its CSV release: `sdn.csv` (one row per listed entry) and `alt.csv`
//! (its alternate names), as specified in OFAC's "SDN list data formats" (`dat_spec.txt`).
//!
//! Both files have no header. Fields are separated by commas and text is in double quotes;
//! an empty field is written `-0-` (followed by a space in OFAC's files); records end with a
//! carriage return (CR LF in practice) and the file with a DOS control-Z.
//!
//! | file | fields |
//! |---|---|
//! | `sdn.csv` | `ent_num`, `SDN_Name`, `SDN_Type`, `Program`, `Title`, `Call_Sign`, `Vess_type`, `Tonnage`, `GRT`, `Vess_flag`, `Vess_owner`, `Remarks` |
//! | `alt.csv` | `ent_num`, `alt_num`, `alt_type` (`aka`, `fka`, `nka`), `alt_name`, `alt_remarks` |
//!
//! `SDN_Type` is `individual`, `vessel`, `aircraft`, or empty for an entity. Individuals'
//! names are written `LAST, First Middle` (`RODRIGUEZ OREJUELA, Gilberto Jose`) and are kept
//! as `First Middle LAST`; `Program` lists several programmes as `SDGT] [SDT`. Only names,
//! type, programmes and remarks are kept: vessel details, `add.csv` (addresses) and
//! `sdn_comments.csv` are not needed to screen names.
//!
//! A file is accepted whole or refused with the first problem and its line.

use std::collections::HashMap;

use jiff::Timestamp;

use super::text::{decode_lenient, sha256};
use super::{
    ENTRY_NAMES_MAX, Entry, EntryKind, FileDigest, LIST_ENTRIES_MAX, LIST_FILE_BYTES_MAX,
    LISTED_NAME_CHARS_MAX, ListVersion, Source, SourceList,
};

/// Fields in a row of `sdn.csv`.
pub const SDN_FIELDS: usize = 12;

/// Fields in a row of `alt.csv`.
pub const ALT_FIELDS: usize = 5;

/// OFAC's empty field.
const NULL: &str = "-0-";

/// Which of the two files a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfacFile {
    /// `sdn.csv`.
    Sdn,
    /// `alt.csv`.
    Alt,
}

impl OfacFile {
    /// The file's name as OFAC publishes it.
    pub const fn name(self) -> &'static str {
        match self {
            OfacFile::Sdn => "sdn.csv",
            OfacFile::Alt => "alt.csv",
        }
    }
}

/// Why OFAC's files were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfacError {
    /// A file is larger than [`LIST_FILE_BYTES_MAX`].
    #[error("{} has {got} bytes; at most {max} are read", .file.name())]
    TooLarge {
        file: OfacFile,
        max: usize,
        got: usize,
    },
    /// `sdn.csv` has no rows.
    #[error("sdn.csv has no entries")]
    Empty,
    /// `sdn.csv` has more than [`LIST_ENTRIES_MAX`] rows.
    #[error("sdn.csv has more than {max} entries")]
    TooManyEntries { max: usize },
    /// A row is wrong. `line` is 1-based (a quoted field may span lines: the row's first);
    /// `row` is the 1-based row number.
    #[error("{} line {line} (row {row}): {problem}", .file.name())]
    Row {
        file: OfacFile,
        line: u64,
        row: u64,
        problem: RowProblem,
    },
}

/// What is wrong with a row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    /// The CSV reader could not read the row.
    #[error("not CSV: {message}")]
    Csv { message: String },
    /// Not the documented number of fields.
    #[error("{got} fields, expected {expected}")]
    FieldCount { expected: usize, got: usize },
    /// `ent_num` is not a number.
    #[error("ent_num {value:?} is not a number")]
    BadEntNum { value: String },
    /// A second row with the same `ent_num` in `sdn.csv`.
    #[error("ent_num {ent_num} is listed twice (first on line {first_line})")]
    DuplicateEntNum { ent_num: u64, first_line: u64 },
    /// An alternate name for an `ent_num` that `sdn.csv` does not have.
    #[error("ent_num {ent_num} is not in sdn.csv")]
    UnknownEntNum { ent_num: u64 },
    /// The name field is empty.
    #[error("the name is empty")]
    NoName,
    /// A name longer than [`LISTED_NAME_CHARS_MAX`].
    #[error("the name has {got} characters, at most {max}")]
    NameTooLong { max: usize, got: usize },
    /// An entry with more than [`ENTRY_NAMES_MAX`] names.
    #[error("ent_num {ent_num} has more than {max} names")]
    TooManyNames { ent_num: u64, max: usize },
    /// `SDN_Type` is none of the documented ones.
    #[error("SDN_Type {value:?} is not individual, vessel, aircraft or -0-")]
    UnknownType { value: String },
}

/// Reads `sdn.csv` and `alt.csv` into a list. `published` is when OFAC published them, if
/// the caller knows (the CSV files carry no date); the version records the SHA-256 of both.
pub fn parse(
    sdn_csv: &[u8],
    alt_csv: &[u8],
    published: Option<Timestamp>,
) -> Result<SourceList, OfacError> {
    for (file, bytes) in [(OfacFile::Sdn, sdn_csv), (OfacFile::Alt, alt_csv)] {
        if bytes.len() > LIST_FILE_BYTES_MAX {
            return Err(OfacError::TooLarge {
                file,
                max: LIST_FILE_BYTES_MAX,
                got: bytes.len(),
            });
        }
    }
    let mut entries = Vec::new();
    let mut by_ent_num: HashMap<u64, (usize, u64)> = HashMap::new();
    for_each_row(OfacFile::Sdn, sdn_csv, SDN_FIELDS, |fields, line| {
        let ent_num = ent_num(fields[0])?;
        if let Some((_, first_line)) = by_ent_num.get(&ent_num) {
            return Err(RowProblem::DuplicateEntNum {
                ent_num,
                first_line: *first_line,
            });
        }
        by_ent_num.insert(ent_num, (entries.len(), line));
        entries.push(sdn_entry(ent_num, fields)?);
        Ok(())
    })?;
    if entries.is_empty() {
        return Err(OfacError::Empty);
    }
    for_each_row(OfacFile::Alt, alt_csv, ALT_FIELDS, |fields, _| {
        let ent_num = ent_num(fields[0])?;
        let Some((index, _)) = by_ent_num.get(&ent_num) else {
            return Err(RowProblem::UnknownEntNum { ent_num });
        };
        let entry = &mut entries[*index];
        let Some(name) = value(fields[3]) else {
            return Err(RowProblem::NoName);
        };
        if entry.names.len() >= ENTRY_NAMES_MAX {
            return Err(RowProblem::TooManyNames {
                ent_num,
                max: ENTRY_NAMES_MAX,
            });
        }
        entry.names.push(listed_name(name, entry.kind)?);
        Ok(())
    })?;
    Ok(SourceList {
        version: ListVersion {
            source: Source::Ofac,
            published,
            files: vec![
                FileDigest {
                    file: OfacFile::Sdn.name(),
                    sha256: sha256(sdn_csv),
                },
                FileDigest {
                    file: OfacFile::Alt.name(),
                    sha256: sha256(alt_csv),
                },
            ],
        },
        entries,
    })
}

/// Calls `row` with the trimmed fields and the line of every row of `bytes`, stopping at the
/// first problem. `sdn.csv` may have at most [`LIST_ENTRIES_MAX`] rows.
fn for_each_row(
    file: OfacFile,
    bytes: &[u8],
    fields: usize,
    mut row: impl FnMut(&[&str], u64) -> Result<(), RowProblem>,
) -> Result<(), OfacError> {
    let text = decode_lenient(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut lines = LineCounter::new(text.as_bytes());
    for number in 1_u64.. {
        let at = |line: u64, problem| OfacError::Row {
            file,
            line,
            row: number,
            problem,
        };
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(0, |p| lines.line_at(p.byte()));
                let message = error.to_string();
                return Err(at(line, RowProblem::Csv { message }));
            }
        }
        if file == OfacFile::Sdn && number > LIST_ENTRIES_MAX as u64 {
            return Err(OfacError::TooManyEntries {
                max: LIST_ENTRIES_MAX,
            });
        }
        // csv counts a CR LF's line feed in the next record, so its lines run one short.
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        let values: Vec<&str> = record.iter().map(str::trim).collect();
        if values.len() != fields {
            let got = values.len();
            return Err(at(
                line,
                RowProblem::FieldCount {
                    expected: fields,
                    got,
                },
            ));
        }
        row(&values, line).map_err(|problem| at(line, problem))?;
    }
    Ok(())
}

/// The line of a record starting at a byte offset, counted forward as records are read.
struct LineCounter<'t> {
    text: &'t [u8],
    offset: usize,
    line: u64,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t [u8]) -> Self {
        LineCounter {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// The 1-based line of the first character at or after `offset` that is not a line end.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut target = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while self
            .text
            .get(target)
            .is_some_and(|b| *b == b'\r' || *b == b'\n')
        {
            target += 1;
        }
        if target >= self.offset {
            self.line += self.text[self.offset..target]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.offset = target;
        }
        self.line
    }
}

fn sdn_entry(ent_num: u64, fields: &[&str]) -> Result<Entry, RowProblem> {
    let kind = match value(fields[2]).map(str::to_ascii_lowercase).as_deref() {
        None => EntryKind::Entity,
        Some("individual") => EntryKind::Individual,
        Some("vessel") => EntryKind::Vessel,
        Some("aircraft") => EntryKind::Aircraft,
        Some(_) => {
            return Err(RowProblem::UnknownType {
                value: fields[2].to_owned(),
            });
        }
    };
    let name = value(fields[1]).ok_or(RowProblem::NoName)?;
    let programs = value(fields[3])
        .map(|programs| {
            programs
                .split("] [")
                .map(|program| program.trim_matches(['[', ']', ' ']).to_owned())
                .filter(|program| !program.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(Entry {
        uid: ent_num.to_string(),
        source: Source::Ofac,
        kind,
        names: vec![listed_name(name, kind)?],
        programs,
        reference: None,
        remarks: value(fields[11]).map(str::to_owned),
    })
}

fn ent_num(field: &str) -> Result<u64, RowProblem> {
    field.parse().map_err(|_| RowProblem::BadEntNum {
        value: field.to_owned(),
    })
}

/// The field, or `None` for OFAC's `-0-` and for an empty field.
fn value(field: &str) -> Option<&str> {
    (field != NULL && !field.is_empty()).then_some(field)
}

/// An individual's `LAST, First Middle` as `First Middle LAST`; other names as listed.
fn listed_name(name: &str, kind: EntryKind) -> Result<String, RowProblem> {
    let chars = name.chars().count();
    if chars > LISTED_NAME_CHARS_MAX {
        return Err(RowProblem::NameTooLong {
            max: LISTED_NAME_CHARS_MAX,
            got: chars,
        });
    }
    if kind == EntryKind::Individual
        && let Some((last, first)) = name.split_once(',')
        && !first.trim().is_empty()
        && !last.trim().is_empty()
    {
        return Ok(format!("{} {}", first.trim(), last.trim()));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SDN: &str = concat!(
        "306,\"BANCO NACIONAL DE CUBA\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"a.k.a. 'BNC'.\"\r\n",
        "4107,\"RODRIGUEZ OREJUELA, Gilberto Jose\",\"individual\",\"SDNT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 31 Jan 1939.\"\r\n",
        "2676,\"AL ZAWAHIRI, Dr. Ayman\",\"individual\",\"SDGT] [SDT\",\"Operational and Military Leader of JIHAD GROUP\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n",
        "4234,\"HERMANN\",\"vessel\",\"CUBA\",-0- ,\"CL2685\",\"General Cargo\",\"2597\",\"1098\",\"Cuba\",\"Compania Navegacion Golfo S.A.\",-0- \r\n",
        "\u{1a}",
    );
    const ALT: &str = concat!(
        "306,220,\"aka\",\"NATIONAL BANK OF CUBA\",-0- \r\n",
        "2676,4760,\"aka\",\"AL-ZAWAHIRI, Ayman\",-0- \r\n",
        "\u{1a}",
    );

    fn row_problem(error: OfacError) -> (OfacFile, u64, RowProblem) {
        match error {
            OfacError::Row {
                file,
                line,
                problem,
                ..
            } => (file, line, problem),
            other => panic!("expected a row problem, got {other:?}"),
        }
    }

    #[test]
    fn entries_aliases_types_and_programmes_are_read() {
        let list = parse(SDN.as_bytes(), ALT.as_bytes(), None).unwrap();
        assert_eq!(list.entries.len(), 4);
        let bank = &list.entries[0];
        assert_eq!(bank.uid, "306");
        assert_eq!(bank.source, Source::Ofac);
        assert_eq!(bank.kind, EntryKind::Entity);
        assert_eq!(
            bank.names,
            ["BANCO NACIONAL DE CUBA", "NATIONAL BANK OF CUBA"]
        );
        assert_eq!(bank.programs, ["CUBA"]);
        assert_eq!(bank.remarks.as_deref(), Some("a.k.a. 'BNC'."));
        let gilberto = &list.entries[1];
        assert_eq!(gilberto.kind, EntryKind::Individual);
        assert_eq!(gilberto.names, ["Gilberto Jose RODRIGUEZ OREJUELA"]);
        let ayman = &list.entries[2];
        assert_eq!(ayman.names, ["Dr. Ayman AL ZAWAHIRI", "Ayman AL-ZAWAHIRI"]);
        assert_eq!(ayman.programs, ["SDGT", "SDT"]);
        assert_eq!(ayman.remarks, None);
        assert_eq!(list.entries[3].kind, EntryKind::Vessel);
    }

    #[test]
    fn the_version_has_the_digest_of_both_files() {
        let published: Timestamp = "2024-05-01T12:00:00Z".parse().unwrap();
        let list = parse(SDN.as_bytes(), ALT.as_bytes(), Some(published)).unwrap();
        assert_eq!(list.version.source, Source::Ofac);
        assert_eq!(list.version.published, Some(published));
        assert_eq!(list.version.files[0].file, "sdn.csv");
        assert_eq!(list.version.files[0].sha256, sha256(SDN.as_bytes()));
        assert_eq!(list.version.files[1].file, "alt.csv");
        let shown = list.version.to_string();
        assert!(
            shown.starts_with("ofac published=2024-05-01T12:00:00Z sdn.csv=sha256:"),
            "{shown}"
        );
    }

    #[test]
    fn lf_line_ends_and_a_missing_alt_file_are_accepted() {
        let sdn = SDN.replace("\r\n", "\n");
        let list = parse(sdn.as_bytes(), b"", None).unwrap();
        assert_eq!(list.entries.len(), 4);
        assert_eq!(list.entries[0].names.len(), 1);
    }

    #[test]
    fn malformed_rows_are_refused_with_their_line() {
        let good = "1,\"A\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n";
        let cases = [
            (
                format!("{good}2,\"B\",-0- \r\n"),
                2,
                RowProblem::FieldCount {
                    expected: 12,
                    got: 3,
                },
            ),
            (
                format!("{good}{}", good.replacen('1', "x1", 1)),
                2,
                RowProblem::BadEntNum {
                    value: "x1".to_owned(),
                },
            ),
            (
                format!("{good}\r\n{good}"),
                3,
                RowProblem::DuplicateEntNum {
                    ent_num: 1,
                    first_line: 1,
                },
            ),
            (good.replace("\"A\"", "-0- "), 1, RowProblem::NoName),
            (
                good.replacen("-0- ", "\"person\"", 1),
                1,
                RowProblem::UnknownType {
                    value: "person".to_owned(),
                },
            ),
            (
                good.replace("\"A\"", &format!("\"{}\"", "A".repeat(1_001))),
                1,
                RowProblem::NameTooLong {
                    max: 1_000,
                    got: 1_001,
                },
            ),
        ];
        for (sdn, line, problem) in cases {
            let error = parse(sdn.as_bytes(), b"", None).unwrap_err();
            assert_eq!(
                row_problem(error),
                (OfacFile::Sdn, line, problem.clone()),
                "{sdn:?}"
            );
        }
    }

    #[test]
    fn an_alias_of_an_unknown_entry_is_refused() {
        let alt = "306,220,\"aka\",\"X\",-0- \r\n999,221,\"aka\",\"Y\",-0- \r\n";
        let error = parse(SDN.as_bytes(), alt.as_bytes(), None).unwrap_err();
        assert_eq!(
            row_problem(error.clone()),
            (OfacFile::Alt, 2, RowProblem::UnknownEntNum { ent_num: 999 })
        );
        assert_eq!(
            error.to_string(),
            "alt.csv line 2 (row 2): ent_num 999 is not in sdn.csv"
        );
    }

    #[test]
    fn an_empty_or_oversized_file_is_refused() {
        assert_eq!(parse(b"", b"", None), Err(OfacError::Empty));
        assert_eq!(parse(b"\x1a", b"", None), Err(OfacError::Empty));
        let huge = vec![b' '; LIST_FILE_BYTES_MAX + 1];
        assert_eq!(
            parse(SDN.as_bytes(), &huge, None),
            Err(OfacError::TooLarge {
                file: OfacFile::Alt,
                max: LIST_FILE_BYTES_MAX,
                got: LIST_FILE_BYTES_MAX + 1
            })
        );
    }

    #[test]
    fn latin1_files_are_read() {
        let sdn = b"1,\"PE\xd1A, Jos\xe9\",\"individual\",\"SDNT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n";
        let list = parse(sdn, b"", None).unwrap();
        assert_eq!(list.entries[0].names, ["José PEÑA"]);
    }
}
