//! The UN Security Council consolidated sanctions list in its XML release
//! (`consolidated.xml`, schema `sc-sanctions.xsd`):
//!
//! ```xml
//! <CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:09.554Z">
//!   <INDIVIDUALS>
//!     <INDIVIDUAL>
//!       <DATAID>6908555</DATAID>
//!       <FIRST_NAME>ERIC</FIRST_NAME> <SECOND_NAME>BADEGE</SECOND_NAME>
//!       <THIRD_NAME/> <FOURTH_NAME/> <NAME_ORIGINAL_SCRIPT/>
//!       <UN_LIST_TYPE>DRC</UN_LIST_TYPE> <REFERENCE_NUMBER>CDi.001</REFERENCE_NUMBER>
//!       <COMMENTS1>…</COMMENTS1>
//!       <INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>…</ALIAS_NAME></INDIVIDUAL_ALIAS>
//!     </INDIVIDUAL>
//!   </INDIVIDUALS>
//!   <ENTITIES>
//!     <ENTITY> <DATAID/> <FIRST_NAME/> … <ENTITY_ALIAS>…</ENTITY_ALIAS> </ENTITY>
//!   </ENTITIES>
//! </CONSOLIDATED_LIST>
//! ```
//!
//! An individual's name is its four name parts joined in order; the name in its original
//! script and every alias (of either quality, `Good` or `Low`) are further names. An entity's
//! name is its `FIRST_NAME`. Addresses, dates of birth and documents are not read.
//!
//! The XML is read by `roxmltree`, which refuses document type declarations, so entity
//! expansion attacks cannot happen. A file is accepted whole or refused with the first
//! problem and its line.

use std::collections::HashSet;

use jiff::Timestamp;
use roxmltree::{Document, Node};

use super::text::{line_of, sha256};
use super::{
    ENTRY_NAMES_MAX, Entry, EntryKind, FileDigest, LIST_ENTRIES_MAX, LIST_FILE_BYTES_MAX,
    LISTED_NAME_CHARS_MAX, ListVersion, Source, SourceList,
};

/// The name a [`FileDigest`] gives the UN's file.
pub const FILE_NAME: &str = "consolidated.xml";

/// Why the UN's file was refused. Lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnError {
    /// Larger than [`LIST_FILE_BYTES_MAX`].
    #[error("the UN list has {got} bytes; at most {max} are read")]
    TooLarge { max: usize, got: usize },
    /// Not UTF-8 (the encoding the UN publishes in, and XML's default).
    #[error("the UN list is not UTF-8 (line {line})")]
    NotUtf8 { line: u64 },
    /// Not well-formed XML, or it declares a DTD.
    #[error("the UN list is not well-formed XML: {message}")]
    Xml {
        line: u64,
        column: u64,
        message: String,
    },
    /// The root element is not `CONSOLIDATED_LIST`.
    #[error("the UN list's root element is {root}, not CONSOLIDATED_LIST")]
    NotConsolidatedList { root: String },
    /// `dateGenerated` is not a timestamp.
    #[error("dateGenerated {value:?} is not a timestamp like 2026-02-27T00:00:09.554Z")]
    BadDateGenerated { value: String },
    /// More than [`LIST_ENTRIES_MAX`] individuals and entities.
    #[error("the UN list has more than {max} entries")]
    TooManyEntries { max: usize },
    /// An individual or entity is wrong; `line` is where it starts.
    #[error("the UN list's {element} on line {line}: {problem}")]
    Entry {
        element: &'static str,
        line: u64,
        problem: EntryProblem,
    },
}

/// What is wrong with an individual or entity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryProblem {
    /// No `DATAID`.
    #[error("no DATAID")]
    NoDataId,
    /// A second entry with the same `DATAID`.
    #[error("DATAID {data_id} is listed twice")]
    DuplicateDataId { data_id: String },
    /// No name at all.
    #[error("DATAID {data_id} has no name")]
    NoName { data_id: String },
    /// A name longer than [`LISTED_NAME_CHARS_MAX`].
    #[error("DATAID {data_id} has a name of {got} characters, at most {max}")]
    NameTooLong {
        data_id: String,
        max: usize,
        got: usize,
    },
    /// More than [`ENTRY_NAMES_MAX`] names.
    #[error("DATAID {data_id} has more than {max} names")]
    TooManyNames { data_id: String, max: usize },
}

/// Reads the consolidated list's XML. The version's publication time is `dateGenerated`.
pub fn parse(xml: &[u8]) -> Result<SourceList, UnError> {
    if xml.len() > LIST_FILE_BYTES_MAX {
        return Err(UnError::TooLarge {
            max: LIST_FILE_BYTES_MAX,
            got: xml.len(),
        });
    }
    let text = std::str::from_utf8(xml).map_err(|error| UnError::NotUtf8 {
        line: line_of(xml, error.valid_up_to()),
    })?;
    let document = Document::parse(text).map_err(|error| UnError::Xml {
        line: u64::from(error.pos().row),
        column: u64::from(error.pos().col),
        message: error.to_string(),
    })?;
    let root = document.root_element();
    if root.tag_name().name() != "CONSOLIDATED_LIST" {
        return Err(UnError::NotConsolidatedList {
            root: root.tag_name().name().to_owned(),
        });
    }
    let published = match root.attribute("dateGenerated") {
        None => None,
        Some(value) => {
            Some(
                value
                    .trim()
                    .parse::<Timestamp>()
                    .map_err(|_| UnError::BadDateGenerated {
                        value: value.to_owned(),
                    })?,
            )
        }
    };
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen = HashSet::new();
    let groups = [
        ("INDIVIDUALS", "INDIVIDUAL", EntryKind::Individual),
        ("ENTITIES", "ENTITY", EntryKind::Entity),
    ];
    for (group, element, kind) in groups {
        for node in children(root, group).flat_map(|g| children(g, element)) {
            if entries.len() >= LIST_ENTRIES_MAX {
                return Err(UnError::TooManyEntries {
                    max: LIST_ENTRIES_MAX,
                });
            }
            let entry = entry(node, kind).map_err(|problem| UnError::Entry {
                element,
                line: u64::from(document.text_pos_at(node.range().start).row),
                problem,
            })?;
            if !seen.insert(entry.uid.clone()) {
                return Err(UnError::Entry {
                    element,
                    line: u64::from(document.text_pos_at(node.range().start).row),
                    problem: EntryProblem::DuplicateDataId { data_id: entry.uid },
                });
            }
            entries.push(entry);
        }
    }
    Ok(SourceList {
        version: ListVersion {
            source: Source::Un,
            published,
            files: vec![FileDigest {
                file: FILE_NAME,
                sha256: sha256(xml),
            }],
        },
        entries,
    })
}

fn entry(node: Node<'_, '_>, kind: EntryKind) -> Result<Entry, EntryProblem> {
    let data_id = text(node, "DATAID")
        .ok_or(EntryProblem::NoDataId)?
        .to_owned();
    let full_name: Vec<&str> = ["FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"]
        .iter()
        .filter_map(|part| text(node, part))
        .collect();
    let alias_element = match kind {
        EntryKind::Individual => "INDIVIDUAL_ALIAS",
        _ => "ENTITY_ALIAS",
    };
    let mut names: Vec<String> = Vec::new();
    let candidates = std::iter::once(full_name.join(" "))
        .chain(text(node, "NAME_ORIGINAL_SCRIPT").map(str::to_owned))
        .chain(
            children(node, alias_element)
                .filter_map(|alias| text(alias, "ALIAS_NAME").map(str::to_owned)),
        );
    for name in candidates {
        if name.is_empty() || names.contains(&name) {
            continue;
        }
        let chars = name.chars().count();
        if chars > LISTED_NAME_CHARS_MAX {
            return Err(EntryProblem::NameTooLong {
                data_id,
                max: LISTED_NAME_CHARS_MAX,
                got: chars,
            });
        }
        if names.len() >= ENTRY_NAMES_MAX {
            return Err(EntryProblem::TooManyNames {
                data_id,
                max: ENTRY_NAMES_MAX,
            });
        }
        names.push(name);
    }
    if names.is_empty() {
        return Err(EntryProblem::NoName { data_id });
    }
    Ok(Entry {
        uid: data_id,
        source: Source::Un,
        kind,
        names,
        programs: text(node, "UN_LIST_TYPE")
            .map(|list| vec![list.to_owned()])
            .unwrap_or_default(),
        reference: text(node, "REFERENCE_NUMBER").map(str::to_owned),
        remarks: text(node, "COMMENTS1").map(str::to_owned),
    })
}

/// The child elements of `node` named `name`.
fn children<'a, 'input>(
    node: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children()
        .filter(move |child| child.is_element() && child.tag_name().name() == name)
}

/// The trimmed text of the first child element named `name`, unless empty.
fn text<'a>(node: Node<'a, '_>, name: &'static str) -> Option<&'a str> {
    children(node, name)
        .next()
        .and_then(|child| child.text())
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<CONSOLIDATED_LIST xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://www.un.org/sc/resources/sc-sanctions.xsd" dateGenerated="2026-02-27T00:00:09.554Z">
  <INDIVIDUALS>
    <INDIVIDUAL>
      <DATAID>6907997</DATAID>
      <VERSIONNUM>1</VERSIONNUM>
      <FIRST_NAME>JÉRÔME</FIRST_NAME>
      <SECOND_NAME>KAKWAVU BUKANDE</SECOND_NAME>
      <THIRD_NAME/>
      <UN_LIST_TYPE>DRC</UN_LIST_TYPE>
      <REFERENCE_NUMBER>CDi.005</REFERENCE_NUMBER>
      <COMMENTS1>Given the rank of General in the FARDC in December 2004.</COMMENTS1>
      <INDIVIDUAL_ALIAS>
        <QUALITY>Good</QUALITY>
        <ALIAS_NAME>Jérôme Kakwavu</ALIAS_NAME>
      </INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ALIAS>
        <QUALITY/>
        <ALIAS_NAME/>
      </INDIVIDUAL_ALIAS>
    </INDIVIDUAL>
  </INDIVIDUALS>
  <ENTITIES>
    <ENTITY>
      <DATAID>6908691</DATAID>
      <FIRST_NAME>CHANG AN SHIPPING &amp; TECHNOLOGY</FIRST_NAME>
      <UN_LIST_TYPE>DPRK</UN_LIST_TYPE>
      <REFERENCE_NUMBER>KPe.055 </REFERENCE_NUMBER>
      <ENTITY_ALIAS>
        <QUALITY>a.k.a.</QUALITY>
        <ALIAS_NAME>長安海連技術有限公司</ALIAS_NAME>
      </ENTITY_ALIAS>
    </ENTITY>
  </ENTITIES>
</CONSOLIDATED_LIST>
"#;

    #[test]
    fn individuals_and_entities_are_read_with_their_aliases() {
        let list = parse(XML.as_bytes()).unwrap();
        assert_eq!(list.entries.len(), 2);
        let jerome = &list.entries[0];
        assert_eq!(jerome.uid, "6907997");
        assert_eq!(jerome.source, Source::Un);
        assert_eq!(jerome.kind, EntryKind::Individual);
        assert_eq!(jerome.names, ["JÉRÔME KAKWAVU BUKANDE", "Jérôme Kakwavu"]);
        assert_eq!(jerome.programs, ["DRC"]);
        assert_eq!(jerome.reference.as_deref(), Some("CDi.005"));
        assert!(
            jerome
                .remarks
                .as_deref()
                .unwrap()
                .starts_with("Given the rank")
        );
        let chang_an = &list.entries[1];
        assert_eq!(chang_an.kind, EntryKind::Entity);
        assert_eq!(
            chang_an.names,
            ["CHANG AN SHIPPING & TECHNOLOGY", "長安海連技術有限公司"]
        );
        assert_eq!(chang_an.reference.as_deref(), Some("KPe.055"));
    }

    #[test]
    fn the_version_is_date_generated_and_the_digest() {
        let list = parse(XML.as_bytes()).unwrap();
        assert_eq!(
            list.version.published,
            Some("2026-02-27T00:00:09.554Z".parse().unwrap())
        );
        assert_eq!(list.version.files[0].file, "consolidated.xml");
        assert_eq!(list.version.files[0].sha256, sha256(XML.as_bytes()));
    }

    #[test]
    fn malformed_files_are_refused_with_where() {
        let broken = XML.replace(
            "</FIRST_NAME>\n      <SECOND_NAME>",
            "\n      <SECOND_NAME>",
        );
        let error = parse(broken.as_bytes()).unwrap_err();
        assert!(
            matches!(
                error,
                UnError::Xml {
                    line: 21,
                    column: 5,
                    ..
                }
            ),
            "{error:?}"
        );
        let no_id = XML.replace("<DATAID>6907997</DATAID>", "");
        assert_eq!(
            parse(no_id.as_bytes()),
            Err(UnError::Entry {
                element: "INDIVIDUAL",
                line: 4,
                problem: EntryProblem::NoDataId
            })
        );
        let no_name = XML.replace(
            "<FIRST_NAME>CHANG AN SHIPPING &amp; TECHNOLOGY</FIRST_NAME>",
            "",
        );
        let no_name = no_name.replace("<ALIAS_NAME>長安海連技術有限公司</ALIAS_NAME>", "");
        assert!(matches!(
            parse(no_name.as_bytes()),
            Err(UnError::Entry {
                element: "ENTITY",
                problem: EntryProblem::NoName { .. },
                ..
            })
        ));
        let bad_date = XML.replace("2026-02-27T00:00:09.554Z", "27/02/2026");
        assert_eq!(
            parse(bad_date.as_bytes()),
            Err(UnError::BadDateGenerated {
                value: "27/02/2026".to_owned()
            })
        );
        let other_root = "<?xml version=\"1.0\"?><export/>";
        assert_eq!(
            parse(other_root.as_bytes()),
            Err(UnError::NotConsolidatedList {
                root: "export".to_owned()
            })
        );
        assert_eq!(
            parse(b"<CONSOLIDATED_LIST>\n\xff</CONSOLIDATED_LIST>"),
            Err(UnError::NotUtf8 { line: 2 })
        );
    }

    #[test]
    fn a_document_type_declaration_is_refused() {
        let laughs = concat!(
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">",
            "<!ENTITY lol2 \"&lol;&lol;&lol;\">]><CONSOLIDATED_LIST>&lol2;</CONSOLIDATED_LIST>"
        );
        assert!(matches!(parse(laughs.as_bytes()), Err(UnError::Xml { .. })));
    }
}
