//! Sanctions lists as loaded (migration 0027): the publishers' files, kept so that every
//! instance parses the same version. Rows only; parsing and screening are
//! `cajero_domain::sanctions` and the server's `sanctions` module.

use crate::{Conn, StoreError, execute, fetch};

/// A loaded list's files and what is known of it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct ListRow {
    /// `sal_…`.
    pub id: String,
    /// `ofac` or `un`.
    pub source: String,
    /// Source, publication date and each file's SHA-256.
    pub version: String,
    /// `sdn.csv`, or the UN's XML.
    pub main_file: Vec<u8>,
    /// `alt.csv` (OFAC).
    pub alias_file: Option<Vec<u8>>,
    /// When the publisher published it (µs), if known.
    pub published_at: Option<i64>,
    /// Entries parsed from it.
    pub entries: i64,
    /// Who loaded it.
    pub loaded_by: String,
    /// µs.
    pub loaded_at: i64,
}

/// A loaded list without its files.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct ListSummary {
    /// `sal_…`.
    pub id: String,
    /// `ofac` or `un`.
    pub source: String,
    /// Source, publication date and each file's SHA-256.
    pub version: String,
    /// Entries.
    pub entries: i64,
    /// Who loaded it.
    pub loaded_by: String,
    /// µs.
    pub loaded_at: i64,
}

/// Stores a loaded list.
pub async fn insert(conn: &mut Conn<'_>, row: &ListRow) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO sanctions_lists (id, source, version, main_file, alias_file, published_at, \
         entries, loaded_by, loaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &row.id,
        &row.source,
        &row.version,
        &row.main_file,
        &row.alias_file,
        row.published_at,
        row.entries,
        &row.loaded_by,
        row.loaded_at,
    )?;
    Ok(())
}

/// The newest list of each source, without its files (what is in force), by source.
pub async fn newest(conn: &mut Conn<'_>) -> Result<Vec<ListSummary>, StoreError> {
    let mut found = Vec::new();
    for source in ["ofac", "un"] {
        if let Some(row) = fetch!(
            optional,
            conn,
            ListSummary,
            "SELECT id, source, version, entries, loaded_by, loaded_at FROM sanctions_lists \
             WHERE source = $1 ORDER BY id DESC LIMIT 1",
            source,
        )? {
            found.push(row);
        }
    }
    Ok(found)
}

/// One list with its files.
pub async fn get(conn: &mut Conn<'_>, id: &str) -> Result<Option<ListRow>, StoreError> {
    Ok(fetch!(
        optional,
        conn,
        ListRow,
        "SELECT id, source, version, main_file, alias_file, published_at, entries, loaded_by, \
         loaded_at FROM sanctions_lists WHERE id = $1",
        id,
    )?)
}
