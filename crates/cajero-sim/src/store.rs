//! Persistence: the simulator's state written through to its own SQLite file.
//!
//! The state lives in memory (`engine::State`); after each operation the objects it changed
//! are written in one transaction, before the answer goes out. At start the file is read
//! back. In-memory mode simply has no store.

use std::str::FromStr;

use cajero_domain::Amount;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::engine::{Dirty, Meta, State};
use crate::model::{Attempt, Callback, Merchant, Order};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored document does not read back.
    #[error("stored document: {0}")]
    Json(#[from] serde_json::Error),
    /// Only SQLite is supported.
    #[error("unsupported database URL {0:?}: use sqlite://path")]
    UnsupportedUrl(String),
}

/// The simulator's SQLite file.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// Everything read back at start.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Sequences, seed, clock offset, knobs; `None` in a new database.
    pub meta: Option<Meta>,
    /// Merchants.
    pub merchants: Vec<Merchant>,
    /// Orders.
    pub orders: Vec<Order>,
    /// Attempts.
    pub attempts: Vec<Attempt>,
    /// Callbacks.
    pub callbacks: Vec<Callback>,
    /// Drawer cash by counter.
    pub drawers: Vec<(String, Amount)>,
}

impl Store {
    /// Opens (creating if needed) and migrates `sqlite://path`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl(url.chars().take(80).collect()));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        // One connection: the simulator writes under its state lock anyway.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// Closes the file (a checkpoint and no connection left), so it can be opened again at
    /// once, by this process or another.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Reads the whole state back.
    pub async fn load(&self) -> Result<Loaded, StoreError> {
        let meta = sqlx::query("SELECT value FROM sim_meta WHERE key = 'meta'")
            .fetch_optional(&self.pool)
            .await?
            .map(|row| serde_json::from_str::<Meta>(row.get::<&str, _>(0)))
            .transpose()?;
        let drawers = sqlx::query("SELECT counter_id, cash FROM sim_drawers")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .filter_map(|row| {
                let cash = Amount::new(row.get::<i64, _>(1)).ok()?;
                Some((row.get::<String, _>(0), cash))
            })
            .collect();
        Ok(Loaded {
            meta,
            merchants: self.docs("SELECT doc FROM sim_merchants").await?,
            orders: self.docs("SELECT doc FROM sim_orders").await?,
            attempts: self.docs("SELECT doc FROM sim_attempts").await?,
            callbacks: self.docs("SELECT doc FROM sim_callbacks").await?,
            drawers,
        })
    }

    async fn docs<T: DeserializeOwned>(&self, sql: &'static str) -> Result<Vec<T>, StoreError> {
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| Ok(serde_json::from_str(row.get::<&str, _>(0))?))
            .collect()
    }

    /// Writes what `dirty` names, from `state`, in one transaction.
    pub async fn save(&self, state: &State, dirty: &Dirty) -> Result<(), StoreError> {
        if dirty.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        if dirty.meta {
            sqlx::query("INSERT INTO sim_meta (key, value) VALUES ('meta', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(json(&state.meta)?)
                .execute(&mut *tx)
                .await?;
        }
        for id in &dirty.merchants {
            if let Some(m) = state.merchants.get(id) {
                sqlx::query("INSERT INTO sim_merchants (id, doc) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc")
                    .bind(id)
                    .bind(json(m)?)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for id in &dirty.orders {
            if let Some(o) = state.orders.get(id) {
                sqlx::query(
                    "INSERT INTO sim_orders (id, merchant_id, network, kind, reference, status, paid_at_us, doc) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (id) DO UPDATE SET status = excluded.status, paid_at_us = excluded.paid_at_us, doc = excluded.doc",
                )
                .bind(id)
                .bind(&o.merchant_id)
                .bind(&o.network)
                .bind(o.kind.as_str())
                .bind(&o.reference)
                .bind(o.status.as_str())
                .bind(o.paid_at.map(|t| t.as_microsecond()))
                .bind(json(o)?)
                .execute(&mut *tx)
                .await?;
            }
        }
        for id in &dirty.attempts {
            if let Some(a) = state.attempts.get(id) {
                sqlx::query("INSERT INTO sim_attempts (id, order_id, at_us, doc) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc")
                    .bind(id)
                    .bind(&a.order_id)
                    .bind(a.at.as_microsecond())
                    .bind(json(a)?)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for id in &dirty.callbacks {
            if let Some(c) = state.callbacks.get(id) {
                sqlx::query("INSERT INTO sim_callbacks (id, status, doc) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc")
                    .bind(id)
                    .bind(json(&c.status)?)
                    .bind(json(c)?)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for id in &dirty.counters {
            if let Some(c) = state.counters.get(id) {
                sqlx::query("INSERT INTO sim_drawers (counter_id, cash) VALUES ($1, $2) ON CONFLICT (counter_id) DO UPDATE SET cash = excluded.cash")
                    .bind(id)
                    .bind(c.cash.minor())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    Ok(serde_json::to_string(value)?)
}
