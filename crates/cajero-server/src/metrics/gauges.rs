//! Gauges read from the state of the store rather than counted as things happen: the SQLite
//! writer's queue, the webhook outbox's backlog and the open payment exceptions. Refreshed by
//! the metrics upkeep task every few seconds on every instance; each is a counter in memory or
//! one indexed `COUNT` over the rows still open, so the cost does not grow with history.

use cajero_domain::merchant::Mode;
use cajero_store::{StoreError, exceptions, webhook_deliveries};

/// What one refresh read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Backlogs {
    /// Pending deliveries already due.
    webhooks_due: i64,
    /// Pending deliveries, due or waiting for their retry.
    webhooks_pending: i64,
    /// Open exceptions in test mode.
    exceptions_test: i64,
    /// Open exceptions in live mode.
    exceptions_live: i64,
}

/// Reads the backlogs and sets their gauges:
/// `cajero_store_writer_queue_depth` (SQLite only), `cajero_webhook_outbox_due`,
/// `cajero_webhook_deliveries_pending` and `cajero_reconciliation_open_exceptions{mode}`.
pub async fn refresh(state: &crate::AppState) -> Result<(), StoreError> {
    if let Some(depth) = state.store.writer_queue_depth() {
        #[allow(clippy::cast_precision_loss)] // a queue of at most a few thousand units
        metrics::gauge!("cajero_store_writer_queue_depth").set(depth as f64);
    }
    let now = state.clock.now();
    let read = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                Ok::<_, StoreError>(Backlogs {
                    webhooks_due: webhook_deliveries::count_due(&mut c, now).await?,
                    webhooks_pending: webhook_deliveries::count_pending(&mut c).await?,
                    exceptions_test: exceptions::count_open(&mut c, Mode::Test).await?,
                    exceptions_live: exceptions::count_open(&mut c, Mode::Live).await?,
                })
            })
        })
        .await?;
    set("cajero_webhook_outbox_due", None, read.webhooks_due);
    set(
        "cajero_webhook_deliveries_pending",
        None,
        read.webhooks_pending,
    );
    for (mode, count) in [
        (Mode::Test, read.exceptions_test),
        (Mode::Live, read.exceptions_live),
    ] {
        set("cajero_reconciliation_open_exceptions", Some(mode), count);
    }
    Ok(())
}

fn set(name: &'static str, mode: Option<Mode>, count: i64) {
    #[allow(clippy::cast_precision_loss)] // row counts far below 2^53
    let value = count as f64;
    match mode {
        Some(mode) => metrics::gauge!(name, "mode" => mode.as_str()).set(value),
        None => metrics::gauge!(name).set(value),
    }
}
