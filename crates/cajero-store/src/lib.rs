//! cajero's storage: one store API over two engines.
//!
//! * **SQLite** is the embedded default: one file in WAL mode with `synchronous=FULL`, so a
//!   payment acknowledged is a payment on disk. All writes go through one writer thread that
//!   runs many units of work inside one transaction, each under its own savepoint, and commits
//!   them together: one fsync for a whole batch of requests (group commit). Statements are
//!   synchronous calls on that thread (rusqlite, cached prepared statements; see [`sqlite`]).
//!   Reads use a small pool of read-only connections that WAL lets run beside the writer.
//! * **PostgreSQL** is the scale-out engine: a pool with explicit acquire and statement
//!   timeouts; each unit of work is its own transaction, and the server batches the commits.
//!
//! Queries are written once, in the dialect both engines share (`$1…$N` placeholders; only
//! BIGINT, TEXT and BOOLEAN columns; ids and times made by the application), and run on either
//! engine through [`Conn`] and the [`on_conn!`] macro. A unit of work is an async closure over a
//! [`Conn`]; [`Store::write`] runs it atomically, [`Store::read`] on a read connection.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};

pub mod alerts;
pub mod analytics;
pub mod audit_chain;
pub mod cache_version;
pub mod dashboard;
pub mod events;
pub mod evidence_codec;
pub mod exceptions;
pub mod fx;
pub mod idempotency;
pub mod instances;
pub mod kyc;
pub mod ledger;
pub mod merchant_settings;
pub mod merchants;
pub mod network;
pub mod network_health;
pub mod operators;
pub mod page;
pub mod payins;
pub mod payouts;
pub mod privacy;
pub mod reconciliation;
pub mod refunds;
pub mod retention;
pub mod risk;
pub mod sanctions;
pub mod secret_box;
pub mod settlements;
pub mod sqlite;
mod sqlite_writer;
pub mod stored_secrets;
pub mod test_clocks;
pub mod testing;
pub mod time;
pub mod topups;
pub mod uiaf;
pub mod verify;
pub mod webhook_deliveries;
pub mod webhooks;

/// Re-exported for the query macros, so callers need no `sqlx` dependency of their own.
pub use sqlx;
pub use time::Micros;

/// Executes a statement on either engine and returns the number of rows it changed:
/// `execute!(conn, "UPDATE t SET a = $1 WHERE id = $2", a, id)`.
///
/// The same query text runs on both engines: on SQLite synchronously through [`sqlite`] (the
/// binds as `rusqlite::ToSql`), on PostgreSQL through sqlx (the binds as `sqlx::Encode`), so
/// every bind is type-checked against both.
#[macro_export]
macro_rules! execute {
    ($conn:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        match $conn {
            $crate::Conn::Sqlite(c) => $crate::sqlite::execute(
                c,
                $crate::sqlite::sql_text($sql).as_str(),
                &[$(&$bind as &dyn $crate::sqlite::ToSql),*],
            ),
            $crate::Conn::Postgres(c) => $crate::sqlx::query($sql)
                $(.bind($bind))*
                .execute(&mut **c)
                .await
                .map(|done| done.rows_affected()),
        }
    };
}

/// Fetches rows of type `$row` on either engine:
/// `fetch!(one | optional | all, conn, Row, "SELECT …", binds…)`.
///
/// `$row` is a struct of plain columns deriving both `serde::Deserialize` (read by column name
/// on SQLite) and `sqlx::FromRow` (PostgreSQL), or a tuple.
#[macro_export]
macro_rules! fetch {
    (one, $conn:expr, $row:ty, $sql:expr $(, $bind:expr)* $(,)?) => {
        match $conn {
            $crate::Conn::Sqlite(c) => $crate::sqlite::fetch_one::<$row>(
                c,
                $crate::sqlite::sql_text($sql).as_str(),
                &[$(&$bind as &dyn $crate::sqlite::ToSql),*],
            ),
            $crate::Conn::Postgres(c) => $crate::sqlx::query_as::<_, $row>($sql)
                $(.bind($bind))*
                .fetch_one(&mut **c)
                .await,
        }
    };
    (optional, $conn:expr, $row:ty, $sql:expr $(, $bind:expr)* $(,)?) => {
        match $conn {
            $crate::Conn::Sqlite(c) => $crate::sqlite::fetch_optional::<$row>(
                c,
                $crate::sqlite::sql_text($sql).as_str(),
                &[$(&$bind as &dyn $crate::sqlite::ToSql),*],
            ),
            $crate::Conn::Postgres(c) => $crate::sqlx::query_as::<_, $row>($sql)
                $(.bind($bind))*
                .fetch_optional(&mut **c)
                .await,
        }
    };
    (all, $conn:expr, $row:ty, $sql:expr $(, $bind:expr)* $(,)?) => {
        match $conn {
            $crate::Conn::Sqlite(c) => $crate::sqlite::fetch_all::<$row>(
                c,
                $crate::sqlite::sql_text($sql).as_str(),
                &[$(&$bind as &dyn $crate::sqlite::ToSql),*],
            ),
            $crate::Conn::Postgres(c) => $crate::sqlx::query_as::<_, $row>($sql)
                $(.bind($bind))*
                .fetch_all(&mut **c)
                .await,
        }
    };
}

/// A connection inside a unit of work: in a write, inside its transaction (SQLite: its
/// savepoint); in a read, a plain read connection.
pub enum Conn<'c> {
    /// The embedded engine (statements run synchronously on this thread).
    Sqlite(&'c mut rusqlite::Connection),
    /// The scale-out engine.
    Postgres(&'c mut PgConnection),
}

impl fmt::Debug for Conn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conn::Sqlite(_) => "Conn::Sqlite",
            Conn::Postgres(_) => "Conn::Postgres",
        })
    }
}

/// Serialises the units of work that name the same scopes (a risk rule's tally, a network's
/// counter) until the end of their transaction, across instances: on PostgreSQL,
/// transaction-level advisory locks taken in sorted order, so that two units never wait on
/// each other in a cycle; a statement run after the lock sees what the unit that held it
/// committed. SQLite has one writer: nothing to do.
pub async fn lock_scopes(conn: &mut Conn<'_>, scopes: &[&str]) -> Result<(), StoreError> {
    take_scopes(
        conn,
        scopes,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 18))",
    )
    .await
}

/// [`lock_scopes`], shared: units that share a scope run at once, and each waits for (and is
/// waited for by) the units that lock it with [`lock_scopes`]. For readers of a scope whose
/// outcome only matters against the exclusive holders' (a counter's approvals, which only
/// ever resolve what an empty-drawer report raised).
pub async fn share_scopes(conn: &mut Conn<'_>, scopes: &[&str]) -> Result<(), StoreError> {
    take_scopes(
        conn,
        scopes,
        "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 18))",
    )
    .await
}

async fn take_scopes(
    conn: &mut Conn<'_>,
    scopes: &[&str],
    statement: &'static str,
) -> Result<(), StoreError> {
    if let Conn::Postgres(c) = conn {
        let mut sorted: Vec<&str> = scopes.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for scope in sorted {
            sqlx::query(statement).bind(scope).execute(&mut **c).await?;
        }
    }
    Ok(())
}

/// What can go wrong below the domain.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one cajero understands.
    #[error("database URL must start with sqlite: or postgres:// (got {0:?})")]
    UnsupportedUrl(String),
    /// The engine refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The SQLite writer task stopped (the server is shutting down, or it crashed).
    #[error("the database writer is not running")]
    WriterGone,
    /// A unit of work panicked; it was rolled back.
    #[error("a unit of work panicked and was rolled back")]
    Panicked,
    /// A row held a value the code cannot read back (a bug or a corrupted row).
    #[error("corrupt row in {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
}

impl StoreError {
    /// Whether the database is unreachable or saturated right now (worth a retry later),
    /// rather than refusing this particular request.
    ///
    /// On PostgreSQL that includes a transaction the server ended through no fault of the
    /// request ([`TRANSIENT_SQLSTATES`]): chosen as a deadlock's victim, a serialization
    /// failure, a connection refused or cut, the server shutting down. Such an error before
    /// `COMMIT` rolled the unit back; at `COMMIT` (as with a connection lost there) the unit
    /// may have committed. Either way a retry with the same Idempotency-Key is safe, because
    /// the key's record commits with the change; a retry under a new key is not.
    ///
    /// On SQLite, a lock another connection held past the busy timeout (`SQLITE_BUSY`): a
    /// reader during a recovery, or a batch whose `COMMIT` met another process's lock; and any
    /// batch that could not begin (none of its units ran). Every unit of such a batch is told
    /// so.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::WriterGone
            | StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_),
            ) => true,
            StoreError::Database(sqlx::Error::Database(e)) => {
                sqlite::is_busy(e.as_ref())
                    || e.code().is_some_and(|code| is_transient_sqlstate(&code))
            }
            _ => false,
        }
    }

    /// Whether this is a unique-constraint violation (a duplicate id or key).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// PostgreSQL error codes (SQLSTATE) of a transaction the server ended through no fault of
/// the request: `40001` serialization failure, `40P01` deadlock detected, `55P03` a lock not
/// available within `lock_timeout` ([`StoreOptions::lock_timeout_ms`]), `57P01`–`57P03` and
/// `57P05` the server shutting down, restarting, not accepting yet or closing an idle session,
/// `53300` too many connections, and the connection exceptions `08000`, `08001`, `08003`,
/// `08004`, `08006`. Not `08P01` (a protocol violation is a bug that fails the same way again)
/// nor `57014`: a statement over `statement_timeout` may be one that is always that slow, and
/// telling clients to come back in a second would only repeat it.
pub const TRANSIENT_SQLSTATES: [&str; 13] = [
    "40001", "40P01", "55P03", "57P01", "57P02", "57P03", "57P05", "53300", "08000", "08001",
    "08003", "08004", "08006",
];

fn is_transient_sqlstate(code: &str) -> bool {
    TRANSIENT_SQLSTATES.contains(&code)
}

/// Limits and timeouts of the store; the defaults suit one small server.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections in the read pool (SQLite) or in the whole pool (PostgreSQL).
    pub pool_connections_max: u32,
    /// How long a request waits for a free connection before it fails.
    pub acquire_timeout_ms: u64,
    /// PostgreSQL `statement_timeout`; SQLite's busy timeout.
    pub statement_timeout_ms: u64,
    /// Units of work committed together at most, on SQLite.
    pub write_batch_max: usize,
    /// Units of work waiting for the SQLite writer at most; more wait to enqueue.
    pub write_queue_max: usize,
}

impl StoreOptions {
    /// PostgreSQL `lock_timeout`: half the statement timeout. A unit queued that long behind
    /// another's row or scope lock is ended by the server with `55P03` (unavailable: retry with
    /// the same Idempotency-Key) before the statement timeout would end it as an error of its
    /// own; a statement slow for its own work keeps the whole statement timeout.
    pub fn lock_timeout_ms(&self) -> u64 {
        (self.statement_timeout_ms / 2).max(1)
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            pool_connections_max: 8,
            acquire_timeout_ms: 5_000,
            statement_timeout_ms: 10_000,
            write_batch_max: 256,
            write_queue_max: 4_096,
        }
    }
}

/// The engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The embedded engine.
    Sqlite,
    /// The scale-out engine.
    Postgres,
}

#[derive(Clone)]
enum Backend {
    Sqlite {
        /// `None` for an in-memory database, whose reads go through the writer.
        readers: Option<sqlite::Readers>,
        /// Copies the WAL into the database file (`None` in memory); stopped with the store.
        checkpointer: Option<Arc<Mutex<sqlite::Checkpointer>>>,
        writer: sqlite_writer::WriterHandle,
    },
    Postgres(PgPool),
}

/// The store: cheap to clone, shared by every request and worker.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine())
            .finish()
    }
}

/// How long a PostgreSQL connection may sit in the pool before it is pinged again before use.
pub const POOL_PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The boxed future a unit of work returns.
pub type Work<'c, T, E> = BoxFuture<'c, Result<T, E>>;

impl Store {
    /// Opens (creating when missing) the database at `url` and brings its schema up to date.
    ///
    /// `sqlite://path.db`, `sqlite:path.db`, `sqlite::memory:`, or `postgres://…`.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let store = if url.starts_with("sqlite:") {
            Store::open_sqlite(url, options).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Store::open_postgres(url, options).await?
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        Ok(store)
    }

    async fn open_sqlite(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let target = sqlite::Target::from_url(url)?;
        let mut writer_conn = sqlite::open(&target, false, options.statement_timeout_ms)?;
        sqlite::migrate(&mut writer_conn, &sqlx::migrate!("./migrations/sqlite"))?;
        let last_pass = Arc::new(sqlite::LastPass::new());
        let checkpoints = target
            .path()
            .map(|_| sqlite::WriterCheckpoints::new(&writer_conn, last_pass.clone()));
        let writer = sqlite_writer::spawn(
            writer_conn,
            options.write_batch_max,
            options.write_queue_max,
            checkpoints,
        )?;
        let checkpointer = match target.path() {
            Some(_) => Some(Arc::new(Mutex::new(sqlite::Checkpointer::start(
                &target,
                options.statement_timeout_ms,
                last_pass,
            )?))),
            None => None,
        };
        let readers = target.path().is_some().then(|| {
            sqlite::Readers::new(
                target.clone(),
                options.pool_connections_max,
                Duration::from_millis(options.acquire_timeout_ms),
                options.statement_timeout_ms,
            )
        });
        Ok(Store {
            backend: Backend::Sqlite {
                readers,
                writer,
                checkpointer,
            },
        })
    }

    async fn open_postgres(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let connect = PgConnectOptions::from_str(url)?;
        // cajero's own settings come after the URL's and would win without a word.
        if let Some(name) = connect.get_options().and_then(timeout_set_in_options) {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                format!(
                    "the database connection's options (the URL's `options`, or the \
                     PGOPTIONS environment variable) set {name}, which cajero sets itself: \
                     statement_timeout from database.statement_timeout_ms, lock_timeout to \
                     half of it; remove it there and set that key instead"
                )
                .into(),
            )));
        }
        let connect = connect.options([
            (
                "statement_timeout",
                options.statement_timeout_ms.to_string(),
            ),
            ("lock_timeout", options.lock_timeout_ms().to_string()),
        ]);
        Store::open_postgres_with(connect, options).await
    }

    /// Opens PostgreSQL with explicit connect options (tests use this to pick a schema).
    pub async fn open_postgres_with(
        connect: PgConnectOptions,
        options: &StoreOptions,
    ) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.pool_connections_max.max(1))
            .acquire_timeout(Duration::from_millis(options.acquire_timeout_ms))
            // sqlx pings every connection it hands out, a round trip before the unit's first
            // statement (one of about 35 per payout). A connection back in the pool for less
            // than a second was working a moment ago; only one idle for longer is pinged, so a
            // connection the server dropped while the pool was quiet is replaced before use.
            // One dropped under load fails its unit as unavailable (503), as it would anyway
            // mid-unit.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= POOL_PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(connect)
            .await?;
        let store = Store {
            backend: Backend::Postgres(pool),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Units of work waiting for the SQLite writer (a gauge for `/metrics`); `None` on
    /// PostgreSQL, where every connection writes.
    pub fn writer_queue_depth(&self) -> Option<usize> {
        match &self.backend {
            Backend::Sqlite { writer, .. } => Some(writer.queued()),
            Backend::Postgres(_) => None,
        }
    }

    /// The engine behind this store.
    pub fn engine(&self) -> Engine {
        match self.backend {
            Backend::Sqlite { .. } => Engine::Sqlite,
            Backend::Postgres(_) => Engine::Postgres,
        }
    }

    /// Brings the PostgreSQL schema up to date (under the migrator's advisory lock, so
    /// instances starting together do not race). SQLite migrates in [`Store::open`].
    async fn migrate(&self) -> Result<(), StoreError> {
        if let Backend::Postgres(pool) = &self.backend {
            // On a connection of its own without the requests' timeouts: a migration may
            // rewrite a large table, and an instance starting beside another waits for the
            // other's migrations (sqlx's advisory lock) however long they take. The connection
            // is closed afterwards, never handed to a request with its timeouts off.
            let mut conn = pool.acquire().await?.detach();
            sqlx::raw_sql("SET statement_timeout = 0; SET lock_timeout = 0")
                .execute(&mut conn)
                .await?;
            sqlx::migrate!("./migrations/postgres")
                .run(&mut conn)
                .await?;
            sqlx::Connection::close(conn).await?;
            // Without autovacuum nothing analyzes cajero's tables or clears their dead rows
            // (every payout leaves three), so plans go stale and scans grow with the history.
            let autovacuum: String = sqlx::query_scalar("SHOW autovacuum")
                .fetch_one(pool)
                .await?;
            if autovacuum != "on" {
                tracing::warn!(
                    autovacuum,
                    "PostgreSQL's autovacuum is off: cajero's tables are never analyzed nor \
                     vacuumed unless an operator does it, and its writes slow down as they grow"
                );
            }
        }
        Ok(())
    }

    /// Runs `work` atomically: all of it commits, durably, or none of it does.
    ///
    /// On SQLite the work shares its transaction (under its own savepoint) with other units of
    /// work queued at the same time, so it must only talk to the database: no network calls,
    /// no sleeps. An `Err` from `work` rolls back its own changes only.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(Conn<'c>) -> Work<'c, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &self.backend {
            Backend::Sqlite { writer, .. } => writer.write(work).await,
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(StoreError::from)?;
                let value = work(Conn::Postgres(&mut tx)).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(value)
            }
        }
    }

    /// Runs `work` on a read connection. It sees a consistent snapshot per statement; use
    /// [`Store::write`] for read-modify-write.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(Conn<'c>) -> Work<'c, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &self.backend {
            Backend::Sqlite {
                readers: Some(readers),
                ..
            } => readers.read(work).await,
            Backend::Sqlite {
                readers: None,
                writer,
                ..
            } => writer.write(work).await,
            Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await.map_err(StoreError::from)?;
                work(Conn::Postgres(&mut conn)).await
            }
        }
    }

    /// Checks that the database answers a query (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|mut conn| {
            Box::pin(async move {
                execute!(&mut conn, "SELECT 1")?;
                Ok::<_, StoreError>(())
            })
        })
        .await
    }

    /// Stops the writer after the queued work and closes the pools.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite {
                readers,
                writer,
                checkpointer,
            } => {
                writer.close().await;
                if let Some(readers) = readers {
                    readers.close();
                }
                if let Some(checkpointer) = checkpointer
                    && let Ok(mut checkpointer) = checkpointer.lock()
                {
                    checkpointer.stop();
                }
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// A URL with any password replaced, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    // scheme://user:password@host → scheme://user:***@host
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _password)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

/// The first of the timeouts cajero sets on each PostgreSQL connection that a connection's
/// `options` (the URL's, after `PGOPTIONS`'s) also set, read as PostgreSQL reads them: words
/// split at whitespace a backslash does not escape; in a word of switches (`-ec`), the first
/// switch taking a value takes the rest of the word or the next word; a setting by
/// `-c name=value` or `--name=value`, its name in any case, dashes read as underscores.
fn timeout_set_in_options(options: &str) -> Option<&'static str> {
    /// The server's switches that take a value (`postgres.c`'s getopt string).
    const TAKE_A_VALUE: &str = "BCcDdfhkNprStvW-";
    let words = split_options(options);
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let Some(mut switches) = word.strip_prefix('-') else {
            continue;
        };
        while let Some(switch) = switches.chars().next() {
            switches = &switches[switch.len_utf8()..];
            if !TAKE_A_VALUE.contains(switch) {
                continue;
            }
            let value = if switches.is_empty() {
                words.next().map(String::as_str).unwrap_or_default()
            } else {
                switches
            };
            if switch == 'c' || switch == '-' {
                let name = value
                    .split('=')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
                    .replace('-', "_");
                if let Some(ours) = ["statement_timeout", "lock_timeout"]
                    .into_iter()
                    .find(|ours| *ours == name)
                {
                    return Some(ours);
                }
            }
            break;
        }
    }
    None
}

/// Splits connection `options` into words as PostgreSQL does (`pg_split_opts`): at
/// whitespace, a backslash taking the next character as it is.
fn split_options(options: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            word.extend(chars.next());
        } else if c.is_ascii_whitespace() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_set_in_the_urls_options_is_found_however_it_is_written() {
        for (options, found) in [
            ("-c statement_timeout=0", Some("statement_timeout")),
            ("-cstatement_timeout=0", Some("statement_timeout")),
            ("--statement-timeout=5s", Some("statement_timeout")),
            (
                "-c search_path=cajero -c Lock_Timeout=1000",
                Some("lock_timeout"),
            ),
            ("-c statement\\_timeout=0", Some("statement_timeout")),
            ("-ec statement_timeout=0", Some("statement_timeout")),
            ("-eclock_timeout=0", Some("lock_timeout")),
            ("-c application_name=x\\ --lock-timeout=1", None),
            ("-B 100 -c search_path=cajero", None),
            ("-c search_path=cajero -c deadlock_timeout=2s", None),
            ("-c idle_in_transaction_session_timeout=60000", None),
            ("", None),
        ] {
            assert_eq!(timeout_set_in_options(options), found, "{options}");
        }
    }

    #[tokio::test]
    async fn a_database_url_setting_a_timeout_cajero_sets_is_refused_before_connecting() {
        // Nothing listens on port 1: the refusal comes before any connection.
        let url = "postgres://cajero@127.0.0.1:1/cajero?options=-c%20lock_timeout%3D0";
        let error = Store::open(url, &StoreOptions::default())
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("set lock_timeout") && error.contains("database.statement_timeout_ms"),
            "{error}"
        );
    }

    #[test]
    fn transient_sqlstates_are_the_servers_not_the_requests() {
        for code in [
            "40001", "40P01", "08006", "08001", "57P01", "57P05", "53300",
        ] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        // A broken constraint, a syntax error, a missing table: the request's own doing; a
        // protocol violation, a statement timeout: would fail the same way again.
        for code in [
            "23505", "23503", "42601", "42P01", "22003", "40002", "08P01", "57014",
        ] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://cajero:s3cret@db:5432/cajero"),
            "postgres://cajero:***@db:5432/cajero"
        );
        assert_eq!(redact_url("sqlite://cajero.db"), "sqlite://cajero.db");
        let message = StoreError::UnsupportedUrl(redact_url("mysql://u:p@h/db")).to_string();
        assert!(!message.contains(":p@"), "{message}");
    }
}
