//! Helpers for test suites that run against both engines (used by this crate's and the
//! server's tests; harmless in production builds).

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::{Store, StoreError, StoreOptions};

/// The variable that points the PostgreSQL suites at a server; `.ci/run` sets it.
pub const POSTGRES_URL_VAR: &str = "CAJERO_TEST_POSTGRES_URL";

/// A store in a fresh schema of the PostgreSQL server named by [`POSTGRES_URL_VAR`], or
/// `None` when the variable is not set. Each call gets its own schema, so tests can run in
/// parallel and never see each other's rows; the schema is left behind for inspection and
/// removed by [`drop_test_schemas`].
pub async fn fresh_postgres() -> Result<Option<(Store, String)>, StoreError> {
    let Some(url) = fresh_postgres_url().await? else {
        return Ok(None);
    };
    let store = Store::open(&url, &StoreOptions::default()).await?;
    Ok(Some((store, url)))
}

/// Creates a fresh schema on the server named by [`POSTGRES_URL_VAR`] and returns a URL whose
/// connections use it (`?options=-c search_path=…`), or `None` when the variable is not set.
pub async fn fresh_postgres_url() -> Result<Option<String>, StoreError> {
    let Ok(url) = std::env::var(POSTGRES_URL_VAR) else {
        return Ok(None);
    };
    let schema = format!("cajero_test_{:016x}", rand_u64());
    let mut admin = PgConnection::connect_with(&PgConnectOptions::from_str(&url)?).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(Some(format!(
        "{url}{separator}options=-c%20search_path%3D{schema}"
    )))
}

/// Drops every schema that [`fresh_postgres`] made on the server at `url`.
pub async fn drop_test_schemas(url: &str) -> Result<usize, StoreError> {
    let mut admin = PgConnection::connect_with(&PgConnectOptions::from_str(url)?).await?;
    let schemas: Vec<(String,)> =
        sqlx::query_as("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'cajero\\_test\\_%'")
            .fetch_all(&mut admin)
            .await?;
    for (schema,) in &schemas {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&mut admin)
            .await?;
    }
    Ok(schemas.len())
}

/// A random-enough number for naming schemas, without a dependency on `rand`.
fn rand_u64() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}

/// Runs each named `async fn(Store)` once per engine: a fresh SQLite file, SQLite in memory,
/// and (when configured) a fresh PostgreSQL schema. Use from a test crate's top level.
#[macro_export]
macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("sqlite://{}", dir.path().join("t.db").display());
                    let store = cajero_store::Store::open(&url, &cajero_store::StoreOptions::default())
                        .await
                        .unwrap();
                    super::$name(store.clone()).await;
                    store.close().await;
                }
            )*
        }
        mod sqlite_memory {
            $(
                #[tokio::test]
                async fn $name() {
                    let store = cajero_store::Store::open("sqlite::memory:", &cajero_store::StoreOptions::default())
                        .await
                        .unwrap();
                    super::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    match cajero_store::testing::fresh_postgres().await.unwrap() {
                        Some((store, _schema)) => {
                            super::$name(store.clone()).await;
                            store.close().await;
                        }
                        None => eprintln!(
                            "skipped: set {} to run the PostgreSQL suite",
                            cajero_store::testing::POSTGRES_URL_VAR
                        ),
                    }
                }
            )*
        }
    };
}
