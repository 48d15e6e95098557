//! The version of what servers cache in memory about merchants: API keys, merchants' statuses,
//! fee plans and settlement terms.
//!
//! Every store function that changes one of those calls [`bump`] inside the caller's unit of
//! work, so the change and the new version commit together, whoever makes it (an API request,
//! the CLI in another process, another instance). A server reads [`current`] before it trusts
//! an entry it cached: an entry cached under an older version is read again. That is one point
//! read of one row, shared by the requests that arrive together, instead of the key, merchant
//! and settings reads it replaces; and it needs no timing assumption, unlike a notification
//! that arrives some milliseconds after the commit.

use crate::{Conn, StoreError, execute, fetch};

/// The current version (it only grows).
pub async fn current(conn: &mut Conn<'_>) -> Result<i64, StoreError> {
    let (version,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT version FROM cache_version WHERE id = 1"
    )?;
    Ok(version)
}

/// Moves the version on: what any server cached before this unit of work commits is read again
/// on its next use.
pub(crate) async fn bump(conn: &mut Conn<'_>) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE cache_version SET version = version + 1 WHERE id = 1"
    )?;
    Ok(())
}
