//! Keyset pagination over time-sortable ids, newest first (API.md, "Lists").
//!
//! Ids sort by creation time as text, so a page is `id < cursor ORDER BY id DESC` (after) or
//! `id > cursor ORDER BY id ASC` then reversed (before). One row more than asked tells whether
//! there is more.

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The newest objects.
    Newest,
    /// Objects older than this id (`starting_after`).
    After(String),
    /// Objects newer than this id (`ending_before`).
    Before(String),
}

/// A page request, already validated by the API layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows wanted (1–100).
    pub limit: u32,
    /// Where to start.
    pub cursor: Cursor,
}

/// A page of rows, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows.
    pub data: Vec<T>,
    /// Whether more rows lie beyond the page in the direction of travel.
    pub has_more: bool,
}

impl PageRequest {
    /// The SQL condition on `id` (with `$n` as the cursor placeholder, when there is one), the
    /// ORDER BY direction, and the LIMIT to use (one more than asked).
    pub fn sql(&self, placeholder: usize) -> (String, &'static str, i64) {
        let fetch = i64::from(self.limit) + 1;
        match &self.cursor {
            Cursor::Newest => ("TRUE".to_string(), "DESC", fetch),
            Cursor::After(_) => (format!("id < ${placeholder}"), "DESC", fetch),
            Cursor::Before(_) => (format!("id > ${placeholder}"), "ASC", fetch),
        }
    }

    /// The cursor id to bind, if any.
    pub fn cursor_id(&self) -> Option<&str> {
        match &self.cursor {
            Cursor::Newest => None,
            Cursor::After(id) | Cursor::Before(id) => Some(id),
        }
    }

    /// Turns the fetched rows (`limit + 1` at most, in SQL order) into a newest-first page.
    pub fn finish<T>(&self, mut rows: Vec<T>) -> Page<T> {
        let limit = self.limit as usize;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        if matches!(self.cursor, Cursor::Before(_)) {
            rows.reverse();
        }
        Page {
            data: rows,
            has_more,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_newest_first_in_both_directions() {
        let before = PageRequest {
            limit: 2,
            cursor: Cursor::Before("b".into()),
        };
        // SQL gave ascending ids after the cursor: c, d, e.
        let page = before.finish(vec!["c", "d", "e"]);
        assert_eq!(page.data, vec!["d", "c"]);
        assert!(page.has_more);
        let after = PageRequest {
            limit: 5,
            cursor: Cursor::After("z".into()),
        };
        let page = after.finish(vec!["y", "x"]);
        assert_eq!(page.data, vec!["y", "x"]);
        assert!(!page.has_more);
        assert_eq!(after.sql(3).0, "id < $3");
    }
}
