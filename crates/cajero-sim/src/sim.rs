//! The running simulator: the state behind one lock, its store, and its background work
//! (the clock tick and callback delivery).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{Mutex, Notify, watch};

use crate::config::SimConfig;
use crate::engine::{DeliveryResult, DueCallback, State};
use crate::signing::{HEADER_CALLBACK_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign_callback};
use crate::store::{Store, StoreError};

/// Callbacks handed out per delivery pass.
const DELIVERY_BATCH_MAX: usize = 256;
/// Longest idle sleep of the delivery worker between passes.
const DELIVERY_IDLE_MS: u64 = 250;

/// A running network.
#[derive(Debug)]
pub struct Sim {
    state: Arc<Mutex<State>>,
    store: Option<Store>,
    config: SimConfig,
    wake_delivery: Notify,
    http: reqwest::Client,
}

impl Sim {
    /// Builds the state from the configuration and, with a database, what it holds.
    pub async fn open(config: SimConfig) -> anyhow::Result<Arc<Sim>> {
        if let Some(unknown) = config
            .faults
            .down
            .iter()
            .find(|n| config.network(n).is_none())
        {
            anyhow::bail!("faults.down: {unknown:?} is not one of the simulator's networks");
        }
        let mut state = State::new(&config);
        let store = match &config.database_url {
            Some(url) => {
                let store = Store::open(url).await?;
                let loaded = store.load().await?;
                state.restore(
                    loaded.meta,
                    loaded.merchants,
                    loaded.orders,
                    loaded.attempts,
                    loaded.callbacks,
                    loaded.drawers,
                );
                Some(store)
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.callbacks.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let sim = Arc::new(Sim {
            state: Arc::new(Mutex::new(state)),
            store,
            config,
            wake_delivery: Notify::new(),
            http,
        });
        sim.run(|state, _| state.dirty.meta = true).await?;
        Ok(sim)
    }

    /// Closes its database, if it has one (at the end of serving).
    pub async fn close(&self) {
        if let Some(store) = &self.store {
            store.close().await;
        }
    }

    /// The configuration it started with.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Runs `f` on the state brought up to the simulated now, then persists what changed.
    pub async fn run<T>(
        &self,
        f: impl FnOnce(&mut State, Timestamp) -> T,
    ) -> Result<T, StoreError> {
        let mut state = self.state.clone().lock_owned().await;
        let now = state.now();
        state.sweep(now);
        let out = f(&mut state, now);
        let dirty = state.take_dirty();
        let callbacks_ready = dirty.callbacks_ready;
        if let Some(store) = self.store.clone() {
            // Saved in a task of its own, holding the state's lock until it ends: a caller
            // that goes away mid-save (an HTTP client that hung up, a server killed while it
            // waited for us) must not leave a change in memory that never reaches the disk.
            tokio::spawn(async move { store.save(&state, &dirty).await })
                .await
                .map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))??;
        }
        if callbacks_ready {
            self.wake_delivery.notify_one();
        }
        Ok(out)
    }

    /// One delivery pass: sends every due callback (all pending ones with `force`), each
    /// merchant's in order, merchants in parallel. Returns how many attempts were made.
    pub async fn deliver_due(&self, force: bool) -> Result<usize, StoreError> {
        let due = self
            .run(|state, _| state.due_callbacks(force, DELIVERY_BATCH_MAX))
            .await?;
        let count = due.len();
        let mut by_merchant: BTreeMap<String, Vec<DueCallback>> = BTreeMap::new();
        for d in due {
            by_merchant
                .entry(d.merchant_id.clone())
                .or_default()
                .push(d);
        }
        let passes = by_merchant.into_values().map(|list| async move {
            let mut results = Vec::with_capacity(list.len());
            for d in list {
                let result = self.deliver_one(&d).await;
                results.push((d.id, result));
            }
            results
        });
        let results: Vec<(String, DeliveryResult)> = futures::future::join_all(passes)
            .await
            .into_iter()
            .flatten()
            .collect();
        self.run(|state, _| {
            for (id, result) in &results {
                state.record_delivery(id, result);
            }
        })
        .await?;
        Ok(count)
    }

    async fn deliver_one(&self, d: &DueCallback) -> DeliveryResult {
        let mut request = self
            .http
            .post(&d.url)
            .header("content-type", crate::dialect::content_type(d.dialect));
        if d.dialect == crate::dialect::Dialect::Cajero {
            let timestamp = Timestamp::now().as_second();
            let signature = sign_callback(&d.secret, timestamp, d.body.as_bytes());
            request = request
                .header(HEADER_CALLBACK_ID, &d.id)
                .header(HEADER_TIMESTAMP, timestamp.to_string())
                .header(HEADER_SIGNATURE, signature);
        } else {
            let headers = crate::dialect::callback_headers(
                d.dialect,
                &d.merchant,
                &d.id,
                &d.body,
                Timestamp::now(),
            );
            for (name, value) in headers {
                request = request.header(name, value);
            }
        }
        let response = request.body(d.body.clone()).send().await;
        match response {
            Ok(r) => DeliveryResult {
                status: Some(r.status().as_u16()),
                error: None,
            },
            Err(e) => DeliveryResult {
                status: None,
                error: Some(e.to_string()),
            },
        }
    }

    /// Delivers callbacks until `shutdown` turns true.
    pub async fn delivery_worker(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            match self.deliver_due(false).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "callback delivery pass failed"),
            }
            tokio::select! {
                _ = self.wake_delivery.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(DELIVERY_IDLE_MS)) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Brings the state up to the clock every `tick_ms` (expiries, autopilot) until shutdown.
    pub async fn ticker(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let period = Duration::from_millis(self.config.tick_ms.max(10));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.run(|_, _| ()).await {
                tracing::error!(error = %e, "simulator tick failed");
            }
        }
    }
}
