//! The SQLite execution path: statements run synchronously on a `rusqlite` connection.
//!
//! sqlx's SQLite driver runs each connection on a worker thread and sends every statement
//! there and back over a channel, so a unit of work of ten statements costs ten cross-thread
//! round trips (futex wake-ups and task switches were ~43 % of a payout's CPU). Here a
//! statement is a call: the writer thread owns its connection and runs each unit of work to
//! completion on it ([`crate::sqlite_writer`]), and a read runs on a pooled read-only
//! connection in one blocking task ([`Readers`]). Prepared statements are cached per
//! connection, so each distinct query is compiled once.
//!
//! The store's query text is shared with PostgreSQL: `$1…$N` placeholders, bound here by name
//! so that a query may use `$2` before `$1` or `$1` twice. Rows come back through
//! `serde::Deserialize` ([`RowDeserializer`]); PostgreSQL rows through `sqlx::FromRow`. Errors
//! are reported as `sqlx::Error`s, so the rest of the store (unique violations, "no row")
//! reads them the same way on both engines.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use sqlx::SqlSafeStr;
use sqlx::error::{DatabaseError, ErrorKind};
use tokio::sync::Semaphore;

use crate::{Conn, StoreError, Work};

pub use rusqlite::ToSql;

/// Distinct statements kept compiled per connection. The store has a few hundred queries;
/// dynamic ones (`IN (…)` lists of varying length) take the rest.
pub const PREPARED_STATEMENTS_MAX: usize = 512;

/// The text of a query, whichever way the caller spelled it (`&'static str` or
/// `AssertSqlSafe(String)`).
pub fn sql_text(sql: impl SqlSafeStr) -> sqlx::SqlStr {
    sql.into_sql_str()
}

/// Where a thread's time in SQLite goes, statement by statement: a diagnostic, off unless
/// `CAJERO_SQLITE_PROFILE` is set when the process starts (then each statement costs two clock
/// reads and a map lookup more). The writer thread logs its table every
/// [`profile::REPORT_EVERY`] at `info` (target `cajero_store::sqlite::profile`): per statement
/// its count, total, mean and longest time, with the writer's own steps (`[unit]`: a whole unit
/// of work, its statements included; `[COMMIT]`, `[BEGIN IMMEDIATE]`, the savepoints) in
/// brackets. The README's performance section reads it.
pub mod profile {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    /// How often the writer logs its table (and starts a new one).
    pub const REPORT_EVERY: Duration = Duration::from_secs(5);

    /// Statements a report lists, the costliest first.
    const REPORT_ROWS_MAX: usize = 40;

    /// Whether statements are timed in this process.
    pub fn on() -> bool {
        static ON: OnceLock<bool> = OnceLock::new();
        *ON.get_or_init(|| std::env::var_os("CAJERO_SQLITE_PROFILE").is_some())
    }

    /// One statement's (or step's) times on a thread.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Line {
        /// The statement's text, or the writer's step in brackets.
        pub what: String,
        /// How many times it ran.
        pub count: u64,
        /// Its time in all.
        pub total: Duration,
        /// Its longest run.
        pub max: Duration,
    }

    thread_local! {
        static TIMES: RefCell<HashMap<String, Line>> = RefCell::new(HashMap::new());
    }

    /// When a timed step starts (`None` when profiling is off).
    pub fn start() -> Option<Instant> {
        on().then(Instant::now)
    }

    /// Adds the time since `start` to `what`'s line on this thread.
    pub fn record(what: &str, start: Option<Instant>) {
        let Some(start) = start else { return };
        let took = start.elapsed();
        TIMES.with(|times| {
            let mut times = times.borrow_mut();
            match times.get_mut(what) {
                Some(line) => {
                    line.count += 1;
                    line.total += took;
                    line.max = line.max.max(took);
                }
                None => {
                    let line = Line {
                        what: what.to_string(),
                        count: 1,
                        total: took,
                        max: took,
                    };
                    times.insert(line.what.clone(), line);
                }
            }
        });
    }

    /// Runs `step`, adding its time to `what`'s line when profiling is on.
    pub fn timed<T>(what: &str, step: impl FnOnce() -> T) -> T {
        let start = start();
        let done = step();
        record(what, start);
        done
    }

    /// This thread's lines since the last take, the costliest in all first.
    pub fn take() -> Vec<Line> {
        let mut lines: Vec<Line> =
            TIMES.with(|times| times.borrow_mut().drain().map(|(_, line)| line).collect());
        lines.sort_by_key(|line| std::cmp::Reverse(line.total));
        lines
    }

    /// Logs this thread's lines since the last report and starts anew.
    pub fn report(thread: &str) {
        let lines = take();
        let statements: Duration = lines
            .iter()
            .filter(|line| !line.what.starts_with('['))
            .map(|line| line.total)
            .sum();
        tracing::info!(
            thread,
            statements_ms = statements.as_secs_f64() * 1e3,
            "SQLite time by statement since the last report"
        );
        for line in lines.into_iter().take(REPORT_ROWS_MAX) {
            let text = line.what.split_whitespace().collect::<Vec<_>>().join(" ");
            tracing::info!(
                thread,
                total_ms = line.total.as_secs_f64() * 1e3,
                count = line.count,
                mean_us = line.total.as_secs_f64() * 1e6 / line.count as f64,
                max_us = line.max.as_secs_f64() * 1e6,
                "{text}"
            );
        }
    }
}

/// Runs one statement and returns the number of rows it changed.
pub fn execute(conn: &Connection, sql: &str, binds: &[&dyn ToSql]) -> Result<u64, sqlx::Error> {
    profile::timed(sql, || {
        let mut statement = conn.prepare_cached(sql).map_err(database)?;
        bind(&mut statement, binds)?;
        let mut rows = statement.raw_query();
        // Step to the end: an `INSERT … RETURNING` read through `execute!` must still run whole.
        while rows.next().map_err(database)?.is_some() {}
        drop(rows);
        Ok(conn.changes())
    })
}

/// Runs a query and returns its first row, or `RowNotFound`.
pub fn fetch_one<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    binds: &[&dyn ToSql],
) -> Result<T, sqlx::Error> {
    fetch_optional(conn, sql, binds)?.ok_or(sqlx::Error::RowNotFound)
}

/// Runs a query and returns its first row, if any.
pub fn fetch_optional<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    binds: &[&dyn ToSql],
) -> Result<Option<T>, sqlx::Error> {
    profile::timed(sql, || {
        let mut statement = conn.prepare_cached(sql).map_err(database)?;
        bind(&mut statement, binds)?;
        let mut rows = statement.raw_query();
        let first = match rows.next().map_err(database)? {
            Some(row) => Some(from_row(row)?),
            None => None,
        };
        // Run the statement to its end (an `UPDATE … RETURNING` changes every row it returns).
        while rows.next().map_err(database)?.is_some() {}
        Ok(first)
    })
}

/// Runs a query and returns every row.
pub fn fetch_all<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    binds: &[&dyn ToSql],
) -> Result<Vec<T>, sqlx::Error> {
    profile::timed(sql, || {
        let mut statement = conn.prepare_cached(sql).map_err(database)?;
        bind(&mut statement, binds)?;
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(database)? {
            out.push(from_row(row)?);
        }
        Ok(out)
    })
}

/// Binds `binds[k - 1]` to every parameter named `$k`.
fn bind(statement: &mut rusqlite::Statement<'_>, binds: &[&dyn ToSql]) -> Result<(), sqlx::Error> {
    for index in 1..=statement.parameter_count() {
        let position = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=binds.len()).contains(n))
            .ok_or_else(|| {
                sqlx::Error::Protocol(format!(
                    "parameter {index} of a query is not one of $1…${}",
                    binds.len()
                ))
            })?;
        statement
            .raw_bind_parameter(index, binds[position - 1])
            .map_err(database)?;
    }
    Ok(())
}

fn from_row<T: DeserializeOwned>(row: &rusqlite::Row<'_>) -> Result<T, sqlx::Error> {
    T::deserialize(RowDeserializer { row }).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A value bound to a query built at run time ([`Query`]).
#[derive(Debug, Clone)]
pub enum Param {
    /// BIGINT (or NULL).
    Int(Option<i64>),
    /// TEXT (or NULL).
    Text(Option<String>),
    /// BOOLEAN (or NULL).
    Bool(Option<bool>),
}

macro_rules! param_from {
    ($variant:ident: $($t:ty => $conv:expr),* $(,)?) => {$(
        impl From<$t> for Param {
            fn from(value: $t) -> Param {
                #[allow(clippy::redundant_closure_call)]
                Param::$variant(($conv)(value))
            }
        }
    )*};
}

param_from!(Int: i64 => Some, Option<i64> => |v| v);
param_from!(Bool: bool => Some, Option<bool> => |v| v);
param_from!(Text:
    String => Some,
    &str => |v: &str| Some(v.to_string()),
    &String => |v: &String| Some(v.clone()),
    Option<String> => |v| v,
    &Option<String> => |v: &Option<String>| v.clone(),
    Option<&str> => |v: Option<&str>| v.map(str::to_string),
);

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Int(v) => v.to_sql(),
            Param::Text(v) => v.to_sql(),
            Param::Bool(v) => v.to_sql(),
        }
    }
}

/// A query whose text and number of parameters are known only at run time (`IN (…)` lists,
/// optional filters), for either engine.
#[derive(Debug)]
pub struct Query {
    sql: String,
    params: Vec<Param>,
}

impl Query {
    /// A query with this text (`$1…$N` placeholders).
    pub fn new(sql: String) -> Query {
        Query {
            sql,
            params: Vec::new(),
        }
    }

    /// Binds the next parameter.
    pub fn bind(mut self, value: impl Into<Param>) -> Query {
        self.params.push(value.into());
        self
    }

    fn refs(&self) -> Vec<&dyn ToSql> {
        self.params.iter().map(|p| p as &dyn ToSql).collect()
    }

    fn postgres(&self) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql.as_str()));
        for p in &self.params {
            query = match p {
                Param::Int(v) => query.bind(*v),
                Param::Text(v) => query.bind(v.as_deref()),
                Param::Bool(v) => query.bind(*v),
            };
        }
        query
    }

    fn postgres_as<T>(
        &self,
    ) -> sqlx::query::QueryAs<'_, sqlx::Postgres, T, sqlx::postgres::PgArguments>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let mut query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(self.sql.as_str()));
        for p in &self.params {
            query = match p {
                Param::Int(v) => query.bind(*v),
                Param::Text(v) => query.bind(v.as_deref()),
                Param::Bool(v) => query.bind(*v),
            };
        }
        query
    }

    /// Runs it; the number of rows changed.
    pub async fn execute(self, conn: &mut Conn<'_>) -> Result<u64, sqlx::Error> {
        match conn {
            Conn::Sqlite(c) => execute(c, &self.sql, &self.refs()),
            Conn::Postgres(c) => self
                .postgres()
                .execute(&mut **c)
                .await
                .map(|done| done.rows_affected()),
        }
    }

    /// Runs `sql` instead of the query's own text, with the query's parameters (`$k` the k-th):
    /// statements that share one list of parameters, each using its own part of it, bound
    /// without copying the list for each.
    pub(crate) fn execute_text(
        &self,
        conn: &rusqlite::Connection,
        sql: &str,
    ) -> Result<u64, sqlx::Error> {
        execute(conn, sql, &self.refs())
    }

    /// Runs it; its first row, if any.
    pub async fn fetch_optional<T>(self, conn: &mut Conn<'_>) -> Result<Option<T>, sqlx::Error>
    where
        T: DeserializeOwned + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        match conn {
            Conn::Sqlite(c) => fetch_optional(c, &self.sql, &self.refs()),
            Conn::Postgres(c) => self.postgres_as::<T>().fetch_optional(&mut **c).await,
        }
    }

    /// Runs it; every row.
    pub async fn fetch_all<T>(self, conn: &mut Conn<'_>) -> Result<Vec<T>, sqlx::Error>
    where
        T: DeserializeOwned + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        match conn {
            Conn::Sqlite(c) => fetch_all(c, &self.sql, &self.refs()),
            Conn::Postgres(c) => self.postgres_as::<T>().fetch_all(&mut **c).await,
        }
    }
}

/// A SQLite error, carried inside `sqlx::Error::Database` so that callers test for unique
/// violations the same way on both engines.
#[derive(Debug)]
struct SqliteError {
    message: String,
    code: Option<i32>,
}

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqliteError {}

impl DatabaseError for SqliteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.map(|c| Cow::Owned(c.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                ErrorKind::UniqueViolation
            }
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => ErrorKind::ForeignKeyViolation,
            Some(ffi::SQLITE_CONSTRAINT_NOTNULL) => ErrorKind::NotNullViolation,
            Some(ffi::SQLITE_CONSTRAINT_CHECK) => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// Whether SQLite refused because another connection held a lock past the busy timeout
/// (`SQLITE_BUSY` and its extended codes): another process writing the file, a checkpoint, a
/// recovery. Nothing the request did; it is worth a retry. Not `SQLITE_LOCKED`: without a
/// shared cache that is a connection in conflict with itself, a bug a retry would repeat.
pub(crate) fn is_busy(error: &(dyn DatabaseError + 'static)) -> bool {
    error
        .try_downcast_ref::<SqliteError>()
        .and_then(|e| e.code)
        .is_some_and(|code| code & 0xff == rusqlite::ffi::SQLITE_BUSY)
}

/// `error`, which failed a whole batch after its units ran (at its `COMMIT`, or at one of the
/// writer's savepoint statements), told to each unit of that batch (`StoreError` is not
/// `Clone`): the same description, and still busy where it was, so that every caller of a
/// batch whose `COMMIT` met a lock hears "unavailable, retry".
pub(crate) fn batch_error(error: &StoreError) -> StoreError {
    let message = format!("the batch this write belonged to failed: {error}");
    let busy = match error {
        StoreError::Database(sqlx::Error::Database(e)) if is_busy(e.as_ref()) => {
            e.try_downcast_ref::<SqliteError>().and_then(|e| e.code)
        }
        _ => None,
    };
    match busy {
        Some(code) => StoreError::Database(sqlx::Error::Database(Box::new(SqliteError {
            message,
            code: Some(code),
        }))),
        None => StoreError::Database(sqlx::Error::Protocol(message)),
    }
}

/// `error`, which kept a batch from beginning, told to each unit of that batch: none of them
/// ran, so each may be retried whatever the cause (another process's write lock past the busy
/// timeout, a disk that failed): unavailable, with the cause's description.
pub(crate) fn not_begun_error(error: &StoreError) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!(
        "the batch this write belonged to could not begin: {error}"
    ))))
}

/// A `rusqlite` error as the `sqlx::Error` the rest of the store expects.
pub(crate) fn database(error: rusqlite::Error) -> sqlx::Error {
    let code = match &error {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.extended_code),
        _ => None,
    };
    sqlx::Error::Database(Box::new(SqliteError {
        message: error.to_string(),
        code,
    }))
}

/// Deserializes one row: a struct by column names, a tuple by position.
struct RowDeserializer<'a, 'stmt> {
    row: &'a rusqlite::Row<'stmt>,
}

/// Why a row could not be read into its type.
#[derive(Debug)]
pub struct RowError(String);

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RowError {}

impl de::Error for RowError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        RowError(msg.to_string())
    }
}

fn row_error(error: rusqlite::Error) -> RowError {
    RowError(error.to_string())
}

impl<'de> de::Deserializer<'de> for RowDeserializer<'_, '_> {
    type Error = RowError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        visitor.visit_map(Columns {
            row: self.row,
            index: 0,
            count: self.row.as_ref().column_count(),
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RowError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, RowError> {
        visitor.visit_seq(Columns {
            row: self.row,
            index: 0,
            count: self.row.as_ref().column_count(),
        })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        self.deserialize_tuple(0, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct tuple_struct enum identifier
        ignored_any
    }
}

/// The columns of a row, as a map (name → value) or a sequence.
struct Columns<'a, 'stmt> {
    row: &'a rusqlite::Row<'stmt>,
    index: usize,
    count: usize,
}

impl<'a> Columns<'a, '_> {
    fn value(&self, index: usize) -> Result<Value<'a>, RowError> {
        Ok(Value {
            value: self.row.get_ref(index).map_err(row_error)?,
            statement: self.row.as_ref(),
            index,
        })
    }
}

impl<'de> de::MapAccess<'de> for Columns<'_, '_> {
    type Error = RowError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, RowError> {
        if self.index >= self.count {
            return Ok(None);
        }
        let name = self
            .row
            .as_ref()
            .column_name(self.index)
            .map_err(row_error)?;
        seed.deserialize(name.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, RowError> {
        let value = self.value(self.index)?;
        self.index += 1;
        seed.deserialize(value)
    }
}

impl<'de> de::SeqAccess<'de> for Columns<'_, '_> {
    type Error = RowError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, RowError> {
        if self.index >= self.count {
            return Ok(None);
        }
        let value = self.value(self.index)?;
        self.index += 1;
        seed.deserialize(value).map(Some)
    }
}

/// One column's value.
struct Value<'a> {
    value: ValueRef<'a>,
    statement: &'a rusqlite::Statement<'a>,
    index: usize,
}

impl Value<'_> {
    /// Whether the column is declared BOOLEAN (SQLite stores booleans as integers; a value
    /// read without a type to guide it, as `#[serde(flatten)]` does, is told apart this way).
    fn declared_boolean(&self) -> bool {
        self.statement
            .columns()
            .get(self.index)
            .and_then(|c| c.decl_type())
            .is_some_and(|t| t.eq_ignore_ascii_case("BOOLEAN"))
    }
}

/// A column read into an integer type is read as one, without asking whether it is declared
/// BOOLEAN ([`Value::declared_boolean`] is for values read without a type, and asking costs a
/// look at every column of the statement).
macro_rules! integers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
            match self.value {
                ValueRef::Integer(i) => visitor.visit_i64(i),
                _ => self.deserialize_any(visitor),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Value<'_> {
    type Error = RowError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.value {
            ValueRef::Null => visitor.visit_none(),
            ValueRef::Integer(i) if self.declared_boolean() => visitor.visit_bool(i != 0),
            ValueRef::Integer(i) => visitor.visit_i64(i),
            ValueRef::Real(f) => visitor.visit_f64(f),
            ValueRef::Text(t) => visitor.visit_str(
                std::str::from_utf8(t).map_err(|e| RowError(format!("text column: {e}")))?,
            ),
            ValueRef::Blob(b) => visitor.visit_bytes(b),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.value {
            ValueRef::Integer(i) => visitor.visit_bool(i != 0),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.value {
            ValueRef::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RowError> {
        match self.value {
            ValueRef::Blob(b) => {
                visitor.visit_seq(de::value::SeqDeserializer::new(b.iter().copied()))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, RowError> {
        visitor.visit_newtype_struct(self)
    }

    integers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_u8
        deserialize_u16 deserialize_u32 deserialize_u64
    }

    serde::forward_to_deserialize_any! {
        i128 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// The page size of a database cajero creates: 2 KiB, not SQLite's 4 KiB. A unit of work
/// changes a row or an index entry here and there in many tables, and SQLite writes each page
/// it changed whole, to the WAL at every commit and to the unit's statement journal (which
/// moves to a temporary file past 128 KiB, see `.cargo/config.toml`). Half the page, about half
/// those bytes for the same rows: measured about a quarter more payouts per second, and more
/// pay-ins (README, "Half the page"); single runs at 1 KiB and 8 KiB were below. A database
/// made with another page size keeps it.
pub const PAGE_SIZE: i64 = 2_048;

/// Opens a connection with the store's settings: foreign keys on, a busy timeout, a new
/// database's [`PAGE_SIZE`], and for a file, WAL with `synchronous=FULL` (an acknowledged
/// write is on disk).
pub(crate) fn open(
    target: &Target,
    read_only: bool,
    busy_timeout_ms: u64,
) -> Result<Connection, StoreError> {
    let conn = match target {
        Target::Memory => Connection::open_in_memory(),
        Target::File(path) => {
            let flags = if read_only {
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
            } else {
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
            };
            Connection::open_with_flags(path, flags)
        }
    }
    .map_err(open_error)?;
    conn.busy_timeout(Duration::from_millis(busy_timeout_ms))
        .map_err(open_error)?;
    conn.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS_MAX);
    let pragmas = match (target, read_only) {
        (Target::Memory, _) => "PRAGMA foreign_keys = ON;",
        // The writer never checkpoints: the checkpointer thread does ([`Checkpointer`]).
        (Target::File(_), false) => {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0;"
        }
        (Target::File(_), true) => "PRAGMA foreign_keys = ON; PRAGMA query_only = ON;",
    };
    if !read_only {
        // Before anything else: it only applies to a database not yet written, and not once
        // in WAL mode. An existing database keeps the page size it was made with.
        conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE};"))
            .map_err(open_error)?;
    }
    conn.execute_batch(pragmas).map_err(open_error)?;
    Ok(conn)
}

fn open_error(error: rusqlite::Error) -> StoreError {
    StoreError::Database(database(error))
}

/// How often the checkpointer copies the WAL's committed pages back into the database file.
pub const CHECKPOINT_INTERVAL_MS: u64 = 200;
/// WAL bytes beyond which the writer finishes a checkpoint itself just after one of the
/// checkpointer's passes, so that the WAL starts again from its beginning (64 MiB; counted in
/// the database's pages).
pub const WAL_BYTES_RESET: i64 = 64 * 1024 * 1024;
/// WAL bytes beyond which the writer finishes a checkpoint itself whenever it can (256 MiB):
/// the WAL stays bounded even if it never finds the checkpointer's pass fresh.
pub const WAL_BYTES_RESET_ANYWAY: i64 = 256 * 1024 * 1024;
/// How recent the checkpointer's pass must be for the writer's checkpoint to follow it: then
/// the writer has only this long's frames left to copy, and the database file few pages to
/// sync.
pub const CHECKPOINTER_PASS_FRESH: Duration = Duration::from_millis(20);
/// The least time between two of the writer's checkpoints, so that a WAL a reader keeps from
/// being reset (its snapshot still needs the frames) does not make the writer try after every
/// batch.
pub const WRITER_CHECKPOINT_SPACING: Duration = Duration::from_millis(50);
/// WAL bytes beyond which the checkpointer warns that the WAL cannot be reset (512 MiB): a
/// reader has held its snapshot for that long.
pub const WAL_BYTES_WARN: i64 = 512 * 1024 * 1024;

/// The page size of the database `conn` is open on.
fn page_size(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA page_size", [], |row| row.get::<_, i64>(0))
        .unwrap_or(PAGE_SIZE)
        .max(512)
}

/// When the checkpointer's last pass ended: it tells the writer, which follows a fresh pass.
#[derive(Debug)]
pub(crate) struct LastPass {
    epoch: std::time::Instant,
    /// Nanoseconds from `epoch` to the end of the last pass; 0 before the first.
    ended: std::sync::atomic::AtomicU64,
}

impl LastPass {
    pub(crate) fn new() -> LastPass {
        LastPass {
            epoch: std::time::Instant::now(),
            ended: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn mark(&self) {
        let nanos = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.ended
            .store(nanos.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    fn within(&self, age: Duration) -> bool {
        let ended = self.ended.load(std::sync::atomic::Ordering::Relaxed);
        ended != 0
            && self
                .epoch
                .elapsed()
                .saturating_sub(Duration::from_nanos(ended))
                < age
    }
}

/// Copies the WAL back into the database file, mostly on a thread of its own.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
/// committing connection: on the writer thread, which every write waits for, it cost about half
/// of that thread's time (each page written a second time, and the database file's fsync). Here
/// the writer never checkpoints automatically; this thread runs a `PASSIVE` checkpoint every
/// [`CHECKPOINT_INTERVAL_MS`] on its own connection, which copies what no reader still needs
/// without blocking the writer. Durability is unchanged: a commit is durable once its WAL
/// frames are synced, whoever copies them later.
///
/// A passive checkpoint alone never lets the WAL start again: SQLite rewinds the WAL only when
/// a write transaction begins with every frame already copied, and under a steady load frames
/// keep arriving while the checkpointer copies (at 1,000 payouts/s the WAL grew by 200 MB/s to
/// over a gigabyte). A `RESTART` checkpoint from this thread would hold the write lock while it
/// waits for readers, which stalled the writer for up to 118 ms. So the writer finishes the
/// job itself ([`WriterCheckpoints`]): past [`WAL_BYTES_RESET`], between two batches
/// that follow one of this thread's passes by less than [`CHECKPOINTER_PASS_FRESH`], it runs a
/// passive checkpoint, which has only the frames since that pass to copy; its next transaction
/// then starts the WAL again from its beginning. Past [`WAL_BYTES_RESET_ANYWAY`] it does not
/// wait for a fresh pass.
pub(crate) struct Checkpointer {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(
        target: &Target,
        busy_timeout_ms: u64,
        last_pass: Arc<LastPass>,
    ) -> Result<Checkpointer, StoreError> {
        let conn = open(target, false, busy_timeout_ms)?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("cajero-sqlite-checkpoint".to_string())
            .spawn(move || {
                let interval = Duration::from_millis(CHECKPOINT_INTERVAL_MS);
                let warn_pages = WAL_BYTES_WARN / page_size(&conn);
                let mut warned = false;
                while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::park_timeout(interval);
                    match checkpoint(&conn) {
                        Ok((pages, _)) => {
                            last_pass.mark();
                            if pages >= warn_pages && !warned {
                                tracing::warn!(
                                    pages,
                                    "the WAL cannot start again: a reader has kept its snapshot \
                                     while the WAL grew past its warning size"
                                );
                            }
                            warned = pages >= warn_pages;
                        }
                        Err(error) => tracing::warn!(%error, "WAL checkpoint failed; trying again"),
                    }
                }
                // A last copy, so that a closed database is whole in its main file.
                if let Err(error) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
                    tracing::warn!(%error, "final WAL checkpoint failed");
                }
            })
            .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread after a last checkpoint (call once the writer has closed).
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A passive checkpoint: the WAL's length in pages, and whether every page of it is now in the
/// database file (the next write transaction then starts the WAL again from its beginning).
fn checkpoint(conn: &Connection) -> rusqlite::Result<(i64, bool)> {
    // (busy, pages in the WAL, pages copied); -1s when the WAL could not be opened.
    let (busy, wal_pages, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    Ok((wal_pages.max(0), busy == 0 && copied >= wal_pages))
}

thread_local! {
    /// The WAL's length in pages after this thread's last commit (SQLite's WAL hook).
    static WAL_PAGES: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

fn wal_committed(_: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|wal| wal.set(i64::from(pages)));
    Ok(())
}

/// The writer's part of checkpointing (see [`Checkpointer`]). It knows the WAL's length from
/// SQLite's WAL hook, called after each of its commits, so it needs no look at the file.
pub(crate) struct WriterCheckpoints {
    last_pass: Arc<LastPass>,
    last: Option<std::time::Instant>,
    /// [`WAL_BYTES_RESET`] and [`WAL_BYTES_RESET_ANYWAY`] in the database's pages (smaller in
    /// tests).
    reset_pages: i64,
    reset_anyway_pages: i64,
}

impl WriterCheckpoints {
    /// Watches the WAL of `conn`, the writer's connection (used on the writer's thread only),
    /// and the checkpointer's passes.
    pub(crate) fn new(conn: &Connection, last_pass: Arc<LastPass>) -> WriterCheckpoints {
        conn.wal_hook(Some(wal_committed));
        let page = page_size(conn);
        WriterCheckpoints {
            last_pass,
            last: None,
            reset_pages: WAL_BYTES_RESET / page,
            reset_anyway_pages: WAL_BYTES_RESET_ANYWAY / page,
        }
    }

    /// Called by the writer between batches: runs a passive checkpoint when the WAL is due to
    /// start again.
    pub(crate) fn between_batches(&mut self, conn: &Connection) {
        let pages = WAL_PAGES.with(std::cell::Cell::get);
        let due = pages >= self.reset_anyway_pages
            || (pages >= self.reset_pages && self.last_pass.within(CHECKPOINTER_PASS_FRESH));
        if !due
            || self
                .last
                .is_some_and(|last| last.elapsed() < WRITER_CHECKPOINT_SPACING)
        {
            return;
        }
        self.last = Some(std::time::Instant::now());
        match profile::timed("[writer checkpoint]", || checkpoint(conn)) {
            // Every frame copied: the next transaction starts the WAL again.
            Ok((_, true)) => WAL_PAGES.with(|wal| wal.set(0)),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "the writer's WAL checkpoint failed"),
        }
    }
}

/// Where a SQLite database lives.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// Private to one connection (the writer, which then also serves reads).
    Memory,
    /// A file.
    File(PathBuf),
}

impl Target {
    /// Reads `sqlite://path.db`, `sqlite:path.db` or `sqlite::memory:` (with sqlx's parser, so
    /// the URLs accepted are the ones they always were).
    pub(crate) fn from_url(url: &str) -> Result<Target, StoreError> {
        use std::str::FromStr;
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Ok(Target::Memory);
        }
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
        Ok(Target::File(options.get_filename().to_path_buf()))
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Target::Memory => None,
            Target::File(path) => Some(path),
        }
    }
}

/// Applies the migrations sqlx's `migrate!` embedded, recording them in sqlx's own
/// `_sqlx_migrations` table exactly as sqlx does, so a database made by either stays readable
/// by both. A migration already applied with a different checksum is refused, as sqlx does.
pub(crate) fn migrate(
    conn: &mut Connection,
    migrator: &sqlx::migrate::Migrator,
) -> Result<(), StoreError> {
    let failed = |version: i64, e: rusqlite::Error| {
        StoreError::Migrate(sqlx::migrate::MigrateError::ExecuteMigration(
            database(e),
            version,
        ))
    };
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            success BOOLEAN NOT NULL,
            checksum BLOB NOT NULL,
            execution_time BIGINT NOT NULL
        );",
    )
    .map_err(open_error)?;
    let dirty: Option<i64> = conn
        .query_row(
            "SELECT version FROM _sqlx_migrations WHERE success = false ORDER BY version LIMIT 1",
            [],
            |row| row.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(open_error)?;
    if let Some(version) = dirty {
        return Err(StoreError::Migrate(sqlx::migrate::MigrateError::Dirty(
            version,
        )));
    }
    let applied: Vec<(i64, Vec<u8>)> = {
        let mut statement = conn
            .prepare("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
            .map_err(open_error)?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(open_error)?;
        rows.collect::<Result<_, _>>().map_err(open_error)?
    };
    for migration in migrator.iter() {
        if migration.migration_type.is_down_migration() {
            continue;
        }
        if let Some((_, checksum)) = applied.iter().find(|(v, _)| *v == migration.version) {
            if checksum.as_slice() != &*migration.checksum {
                return Err(StoreError::Migrate(
                    sqlx::migrate::MigrateError::VersionMismatch(migration.version),
                ));
            }
            continue;
        }
        let tx = conn
            .transaction()
            .map_err(|e| failed(migration.version, e))?;
        tx.execute_batch(migration.sql.as_str())
            .map_err(|e| failed(migration.version, e))?;
        tx.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (?1, ?2, TRUE, ?3, -1)",
            rusqlite::params![
                migration.version,
                &*migration.description,
                &*migration.checksum
            ],
        )
        .map_err(|e| failed(migration.version, e))?;
        tx.commit().map_err(|e| failed(migration.version, e))?;
    }
    Ok(())
}

/// The read-only connections of a file database. A read takes one, runs its whole unit of
/// work on it in one blocking task (one thread hop per read, not per statement), and gives it
/// back.
#[derive(Clone)]
pub(crate) struct Readers {
    target: Target,
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
    busy_timeout_ms: u64,
}

impl Readers {
    pub(crate) fn new(
        target: Target,
        connections_max: u32,
        acquire_timeout: Duration,
        busy_timeout_ms: u64,
    ) -> Readers {
        Readers {
            target,
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(Semaphore::new(connections_max.max(1) as usize)),
            acquire_timeout,
            busy_timeout_ms,
        }
    }

    pub(crate) async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(Conn<'c>) -> Work<'c, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let permit =
            tokio::time::timeout(self.acquire_timeout, self.permits.clone().acquire_owned())
                .await
                .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))?
                .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?;
        let idle = self.idle.clone();
        let target = self.target.clone();
        let busy_timeout_ms = self.busy_timeout_ms;
        let runtime = tokio::runtime::Handle::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let pooled = idle.lock().map(|mut v| v.pop()).unwrap_or(None);
            let mut conn = match pooled {
                Some(conn) => conn,
                None => open(&target, true, busy_timeout_ms).map_err(E::from)?,
            };
            let _entered = runtime.enter();
            let result = futures::executor::block_on(work(Conn::Sqlite(&mut conn)));
            // A connection left inside a transaction (a unit that began one and failed) is
            // not reused.
            if conn.is_autocommit()
                && let Ok(mut v) = idle.lock()
            {
                v.push(conn);
            }
            result
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(_) => Err(E::from(StoreError::Panicked)),
        }
    }

    pub(crate) fn close(&self) {
        self.permits.close();
        if let Ok(mut v) = self.idle.lock() {
            v.clear();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `.cargo/config.toml` builds SQLite without the process-wide page cache and memory
    /// statistics (both behind process-wide mutexes; README, issue 14). A build that lost the
    /// flags would still pass every other test, only slower.
    #[test]
    fn sqlite_is_built_without_process_wide_cache_and_memory_statistics() {
        let conn = Connection::open_in_memory().unwrap();
        let mut statement = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "STMTJRNL_SPILL=131071"),
            "{options:?}"
        );
    }

    /// Held by the tests that open or count SQLite's temporary files: the count is the whole
    /// process's, and a spilling test running beside it would change it.
    static TEMPORARY_FILES: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// SQLite's temporary files, open in this process (they are unlinked when opened).
    #[cfg(target_os = "linux")]
    fn temporary_files_open() -> usize {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().contains("etilqs_"))
            .count()
    }

    /// A file database (in a folder removed with the returned guard) whose table `big` has
    /// `rows` rows of 1,500 bytes: a page each ([`PAGE_SIZE`]).
    fn table_of_pages(rows: u32) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&Target::File(dir.path().join("units.db")), false, 1_000).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE big (id INTEGER PRIMARY KEY, body BLOB NOT NULL); \
             WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows}) \
             INSERT INTO big SELECT i, zeroblob(1500) FROM s;"
        ))
        .unwrap();
        (dir, conn)
    }

    /// The writer runs each unit of work under a savepoint, and SQLite keeps the original of
    /// every page the unit changes in a statement journal. With SQLite's default spill size
    /// (64 KiB, 16 pages of 4 KiB) a payout's unit moved that journal to a temporary file, and every
    /// page it changed was written there once more: seven such writes for each page the WAL
    /// got. A unit changing 50 pages (100 KiB) keeps it in memory, under the 131071 bytes set
    /// in `.cargo/config.toml`.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_units_statement_journal_stays_in_memory() {
        let _alone = TEMPORARY_FILES.lock().unwrap_or_else(|e| e.into_inner());
        let (_dir, conn) = table_of_pages(50);
        let before = temporary_files_open();
        // As the writer runs a unit: its batch's transaction, the unit's savepoint.
        conn.execute_batch(
            "BEGIN IMMEDIATE; SAVEPOINT unit; UPDATE big SET body = zeroblob(1501);",
        )
        .unwrap();
        let during = temporary_files_open();
        conn.execute_batch("RELEASE unit; COMMIT;").unwrap();
        assert_eq!(
            during, before,
            "a unit changing 50 pages opened a temporary file for its statement journal"
        );
        let changed: (i64,) = fetch_one(
            &conn,
            "SELECT COUNT(*) FROM big WHERE length(body) = 1501",
            &[],
        )
        .unwrap();
        assert_eq!(changed.0, 50);
    }

    /// A unit larger than the spill size (an import, a purge) moves its statement journal to a
    /// temporary file and still commits, and one rolled back after that is undone alone. With a
    /// spill size over 0x1ffff bytes SQLite wrote the journal to that file short and failed the
    /// unit as "database or disk is full" (every unit past 1 MiB, from 2026-12-06 to 12-07).
    #[test]
    fn a_unit_past_the_statement_journal_spill_commits() {
        let _alone = TEMPORARY_FILES.lock().unwrap_or_else(|e| e.into_inner());
        let (_dir, conn) = table_of_pages(1000);
        conn.execute_batch(
            "BEGIN IMMEDIATE; SAVEPOINT unit; UPDATE big SET body = zeroblob(1501); \
             RELEASE unit; SAVEPOINT unit; UPDATE big SET body = zeroblob(1502); \
             UPDATE big SET body = zeroblob(1503); RELEASE unit; \
             SAVEPOINT unit; UPDATE big SET body = zeroblob(1504); ROLLBACK TO unit; RELEASE unit; \
             COMMIT;",
        )
        .unwrap();
        let changed: (i64,) = fetch_one(
            &conn,
            "SELECT COUNT(*) FROM big WHERE length(body) = 1503",
            &[],
        )
        .unwrap();
        assert_eq!(changed.0, 1000);
    }

    /// Under a steady stream of writes the checkpointer's passive checkpoints never find the
    /// WAL wholly copied, so SQLite never starts it again; the writer's own checkpoint, just
    /// after a pass, lets it start again. Before it, the WAL grew by everything written (over a
    /// gigabyte in ten seconds of the payout bench) until a `RESTART` checkpoint stalled the
    /// writer. Here, with the thresholds scaled down to 4 and 16 MiB, 8 tasks write 200 MiB
    /// through the writer, and the WAL file (which keeps the largest size it ever had) must
    /// stay under 64 MiB: the larger threshold, plus what arrives while the writer's checkpoint
    /// waits for the checkpointer's pass to end (one try every 50 ms; a run in CI reached 31 MB
    /// with 100 MiB written).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_steady_stream_of_writes_keeps_the_wal_short() {
        const TASKS: usize = 8;
        const UNITS_PER_TASK: usize = 400;
        const ROWS_PER_UNIT: usize = 32; // 2,000-byte rows: a page each, so 64 KiB per unit
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steady.db");
        let target = Target::File(path.clone());
        let conn = open(&target, false, 5_000).unwrap();
        conn.execute_batch("CREATE TABLE big (body BLOB NOT NULL);")
            .unwrap();
        let last_pass = Arc::new(LastPass::new());
        let mut checkpoints = WriterCheckpoints::new(&conn, last_pass.clone());
        checkpoints.reset_pages = 4 * 1024 * 1024 / PAGE_SIZE;
        checkpoints.reset_anyway_pages = 16 * 1024 * 1024 / PAGE_SIZE;
        let writer = crate::sqlite_writer::spawn(conn, 256, 4_096, Some(checkpoints)).unwrap();
        let mut checkpointer = Checkpointer::start(&target, 5_000, last_pass).unwrap();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    for _ in 0..UNITS_PER_TASK {
                        writer
                            .write(|conn: Conn<'_>| -> Work<'_, (), StoreError> {
                                Box::pin(async move {
                                    let Conn::Sqlite(c) = conn else {
                                        unreachable!("a SQLite writer")
                                    };
                                    for _ in 0..ROWS_PER_UNIT {
                                        execute(c, "INSERT INTO big VALUES (zeroblob(2000))", &[])
                                            .map_err(StoreError::Database)?;
                                    }
                                    Ok(())
                                })
                            })
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let wal_bytes = std::fs::metadata(dir.path().join("steady.db-wal"))
            .unwrap()
            .len();
        writer.close().await;
        checkpointer.stop();
        let written = (TASKS * UNITS_PER_TASK * ROWS_PER_UNIT) as u64 * PAGE_SIZE as u64;
        let bound = 64 * 1024 * 1024;
        assert!(
            wal_bytes < bound,
            "the WAL reached {wal_bytes} bytes for {written} written (bound {bound})"
        );
    }

    /// A database the store creates has [`PAGE_SIZE`] pages; one made before with SQLite's
    /// 4 KiB keeps them, and works. The writer's WAL thresholds are the same bytes either way.
    #[tokio::test]
    async fn a_new_database_has_half_pages_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let (new, old) = (dir.path().join("new.db"), dir.path().join("old.db"));
        let made = Connection::open(&old).unwrap();
        made.execute_batch(
            "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x);",
        )
        .unwrap();
        drop(made);
        for (path, pages) in [(&new, PAGE_SIZE), (&old, 4_096)] {
            let url = format!("sqlite://{}", path.display());
            let store = crate::Store::open(&url, &crate::StoreOptions::default())
                .await
                .unwrap();
            store
                .write(|mut c| -> Work<'_, (), StoreError> {
                    Box::pin(async move {
                        crate::execute!(&mut c, "CREATE TABLE probe (body TEXT)")?;
                        crate::execute!(&mut c, "INSERT INTO probe VALUES ('x')")?;
                        Ok(())
                    })
                })
                .await
                .unwrap();
            store.close().await;
            let conn = Connection::open(path).unwrap();
            assert_eq!(page_size(&conn), pages, "{}", path.display());
            let checkpoints = WriterCheckpoints::new(&conn, Arc::new(LastPass::new()));
            assert_eq!(checkpoints.reset_pages * pages, WAL_BYTES_RESET);
            assert_eq!(
                checkpoints.reset_anyway_pages * pages,
                WAL_BYTES_RESET_ANYWAY
            );
        }
    }

    /// Another process holding the file's write lock past the busy timeout: every unit of the
    /// writer's batch is told the database is locked, as "unavailable, retry" (503), not that
    /// the writer is gone; once the lock is let go, writes go on. The description of a batch's
    /// failure told to its units keeps "busy", and only that.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_lock_held_elsewhere_makes_writes_unavailable_until_it_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("busy.db").display());
        let options = crate::StoreOptions {
            statement_timeout_ms: 200,
            ..crate::StoreOptions::default()
        };
        let store = crate::Store::open(&url, &options).await.unwrap();
        let write = |n: i64| {
            let store = store.clone();
            async move {
                store
                    .write(move |mut c| -> Work<'_, (), StoreError> {
                        Box::pin(async move {
                            crate::execute!(&mut c, "CREATE TABLE IF NOT EXISTS probe (n BIGINT)")?;
                            crate::execute!(&mut c, "INSERT INTO probe VALUES ($1)", n)?;
                            Ok(())
                        })
                    })
                    .await
            }
        };
        write(1).await.unwrap();
        let other = Connection::open(dir.path().join("busy.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let (a, b) = tokio::join!(write(2), write(3));
        for refused in [a.unwrap_err(), b.unwrap_err()] {
            assert!(refused.is_unavailable(), "{refused}");
            assert!(refused.to_string().contains("locked"), "{refused}");
        }
        other.execute_batch("ROLLBACK").unwrap();
        write(4).await.unwrap();

        let busy = StoreError::Database(database(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY_SNAPSHOT),
            None,
        )));
        assert!(busy.is_unavailable());
        assert!(batch_error(&busy).is_unavailable());
        let locked = StoreError::Database(database(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_LOCKED),
            None,
        )));
        assert!(
            !locked.is_unavailable(),
            "a connection in conflict with itself"
        );
        let unique = StoreError::Database(database(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE),
            None,
        )));
        assert!(unique.is_unique_violation() && !unique.is_unavailable());
        let copied = batch_error(&unique);
        assert!(
            !copied.is_unique_violation() && !copied.is_unavailable(),
            "{copied}"
        );
    }

    fn conn() -> Connection {
        let conn = open(&Target::Memory, false, 1_000).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL, on_ BOOLEAN NOT NULL, \
             note TEXT);",
        )
        .unwrap();
        conn
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Row {
        id: String,
        n: i64,
        on_: bool,
        note: Option<String>,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Wrapped {
        #[serde(flatten)]
        row: Row,
        extra: i64,
    }

    #[test]
    fn placeholders_bind_by_number_whatever_their_order_and_repeats() {
        let c = conn();
        // $2 comes before $1 in the text, and $1 appears twice.
        let changed = execute(
            &c,
            "INSERT INTO t (n, id, on_, note) VALUES ($2, $1, $3, $1)",
            &[&"a", &7_i64, &true],
        )
        .unwrap();
        assert_eq!(changed, 1);
        let row: Row =
            fetch_one(&c, "SELECT id, n, on_, note FROM t WHERE id = $1", &[&"a"]).unwrap();
        assert_eq!(
            row,
            Row {
                id: "a".into(),
                n: 7,
                on_: true,
                note: Some("a".into())
            }
        );
    }

    #[test]
    fn a_query_naming_a_parameter_it_was_not_given_is_an_error() {
        let c = conn();
        let error = execute(
            &c,
            "INSERT INTO t (id, n, on_) VALUES ($1, $2, $3)",
            &[&"a", &1_i64],
        )
        .unwrap_err();
        assert!(error.to_string().contains("$1…$2"), "{error}");
    }

    #[test]
    fn rows_read_into_structs_tuples_options_and_flattened_booleans() {
        let c = conn();
        execute(
            &c,
            "INSERT INTO t (id, n, on_, note) VALUES ($1, $2, $3, $4)",
            &[&"b", &2_i64, &false, &None::<String>],
        )
        .unwrap();
        let tuple: (String, i64) = fetch_one(&c, "SELECT id, n FROM t", &[]).unwrap();
        assert_eq!(tuple, ("b".to_string(), 2));
        // flatten reads values without their types: a BOOLEAN column is told apart by its
        // declared type.
        let wrapped: Wrapped =
            fetch_one(&c, "SELECT id, n, on_, note, 5 AS extra FROM t", &[]).unwrap();
        assert_eq!(
            wrapped.row,
            Row {
                id: "b".into(),
                n: 2,
                on_: false,
                note: None
            }
        );
        assert_eq!(wrapped.extra, 5);
        let none: Option<Row> =
            fetch_optional(&c, "SELECT id, n, on_, note FROM t WHERE id = $1", &[&"zz"]).unwrap();
        assert_eq!(none, None);
        assert!(matches!(
            fetch_one::<Row>(&c, "SELECT id, n, on_, note FROM t WHERE id = $1", &[&"zz"]),
            Err(sqlx::Error::RowNotFound)
        ));
    }

    #[test]
    fn integers_read_into_integer_types_whatever_their_declared_type() {
        let c = conn();
        execute(
            &c,
            "INSERT INTO t (id, n, on_) VALUES ($1, $2, $3)",
            &[&"b", &300_i64, &true],
        )
        .unwrap();
        // A typed field is read as its type asks, without looking at the declared type (which
        // costs a look at every column of the statement): a BOOLEAN read as a number is 1.
        let read: (i64, u16, i32) = fetch_one(&c, "SELECT on_, n, n FROM t", &[]).unwrap();
        assert_eq!(read, (1, 300, 300));
        // Out of the type's range is an error, not a wrapped value.
        assert!(fetch_one::<(u8,)>(&c, "SELECT n FROM t", &[]).is_err());
        assert!(fetch_one::<(u64,)>(&c, "SELECT -1", &[]).is_err());
        // Text is not a number.
        assert!(fetch_one::<(i64,)>(&c, "SELECT id FROM t", &[]).is_err());
    }

    #[test]
    fn the_profile_counts_and_totals_each_statement_of_its_thread() {
        let start = std::time::Instant::now();
        profile::record("SELECT 1", Some(start));
        profile::record("SELECT 1", Some(start));
        profile::record("[COMMIT]", Some(start));
        profile::record("SELECT 2", None); // profiling off: nothing
        let lines = profile::take();
        let select = lines.iter().find(|line| line.what == "SELECT 1").unwrap();
        assert_eq!(select.count, 2);
        assert!(select.max <= select.total && select.max * 2 >= select.total);
        assert!(
            lines
                .iter()
                .any(|line| line.what == "[COMMIT]" && line.count == 1)
        );
        assert!(!lines.iter().any(|line| line.what == "SELECT 2"));
        assert!(
            lines.windows(2).all(|w| w[0].total >= w[1].total),
            "costliest first"
        );
        assert!(profile::take().is_empty(), "a take starts anew");
        // Another thread keeps its own.
        profile::record("SELECT 3", Some(start));
        let other = std::thread::spawn(profile::take).join().unwrap();
        assert!(other.is_empty());
        assert_eq!(profile::take().len(), 1);
    }

    #[test]
    fn a_duplicate_key_is_a_unique_violation_as_on_postgresql() {
        let c = conn();
        let insert = "INSERT INTO t (id, n, on_) VALUES ($1, 1, TRUE)";
        execute(&c, insert, &[&"x"]).unwrap();
        let error = StoreError::Database(execute(&c, insert, &[&"x"]).unwrap_err());
        assert!(error.is_unique_violation(), "{error}");
    }

    #[test]
    fn update_returning_through_execute_changes_every_row() {
        let c = conn();
        for id in ["p", "q", "r"] {
            execute(
                &c,
                "INSERT INTO t (id, n, on_) VALUES ($1, 0, TRUE)",
                &[&id],
            )
            .unwrap();
        }
        let changed = execute(&c, "UPDATE t SET n = n + 1 RETURNING id", &[]).unwrap();
        assert_eq!(changed, 3);
        let first: Option<(String,)> =
            fetch_optional(&c, "UPDATE t SET n = n + 1 RETURNING id", &[]).unwrap();
        assert!(first.is_some());
        let total: (i64,) = fetch_one(&c, "SELECT SUM(n) FROM t", &[]).unwrap();
        assert_eq!(
            total.0, 6,
            "every row returned was updated, not only the first"
        );
    }
}
