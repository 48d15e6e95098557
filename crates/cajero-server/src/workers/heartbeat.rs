//! Registers this instance's incarnation at start and renews its heartbeat every
//! [`HEARTBEAT_EVERY_MS`], so that the other instances (and this one's next incarnation) know
//! whether what it holds is still held (see [`crate::instance`]).

use std::time::Duration;

use cajero_store::instances::HEARTBEAT_EVERY_MS;

use crate::AppState;

/// Pacing: one heartbeat every [`HEARTBEAT_EVERY_MS`]; a failed one is tried again sooner.
pub const PACING: super::LoopPacing = super::LoopPacing {
    idle_sleep: Duration::from_millis(HEARTBEAT_EVERY_MS),
    error_backoff: Duration::from_millis(HEARTBEAT_EVERY_MS / 4),
};

/// Registers this incarnation in place of the previous one of the same instance, whose
/// webhook leases and `Idempotency-Key` claims are released at once.
pub async fn register(state: &AppState) -> anyhow::Result<()> {
    let instance = &state.instance;
    let registration = instance
        .register(&state.store, state.clock.as_ref())
        .await?;
    match registration.previous {
        Some(previous) => tracing::info!(
            instance = instance.id(),
            incarnation = instance.incarnation(),
            previous,
            deliveries_released = registration.deliveries_released,
            "instance restarted: took over what its previous incarnation held"
        ),
        None => tracing::info!(
            instance = instance.id(),
            incarnation = instance.incarnation(),
            "instance registered"
        ),
    }
    Ok(())
}

/// The heartbeat.
#[derive(Debug)]
pub struct HeartbeatWorker {
    /// Shared state.
    pub state: AppState,
}

impl super::Worker for HeartbeatWorker {
    fn name(&self) -> &'static str {
        "heartbeat"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        let instance = &self.state.instance;
        if !instance
            .beat(&self.state.store, self.state.clock.as_ref())
            .await?
        {
            // Its work stops by itself: deliveries in flight are abandoned before others may
            // take them, and no new ones are claimed. Said at every heartbeat, not faster.
            tracing::error!(
                instance = instance.id(),
                incarnation = instance.incarnation(),
                "another process registered this instance id after this one: two processes \
                 share an instance id (set instance_id to tell them apart); this one's work \
                 counts as dead"
            );
        }
        Ok(0)
    }
}
