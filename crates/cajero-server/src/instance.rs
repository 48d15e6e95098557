//! This server instance: its stable id, its incarnation, and its heartbeat.
//!
//! The **instance id** names an installation: the configured `instance_id`
//! (`CAJERO_INSTANCE_ID`), or by default the host name and the listen address
//! (`host/127.0.0.1:8080`), which stay the same when the same installation restarts. Two
//! processes must never share an id (one would take over the other's work); the default
//! cannot collide on one host, since two processes cannot listen on the same address. A
//! container whose host name changes at every start gets a new id each time: its previous
//! incarnation's work is then taken over when its heartbeat lapses, seconds later, instead of at
//! once.
//!
//! The **incarnation** is random and new at every start. Webhook leases and `Idempotency-Key`
//! claims record the incarnation that holds them, so that what a dead one held can be taken
//! over (see [`cajero_store::instances`]). [`Instance::register`] runs before the server
//! serves or works; the heartbeat worker ([`crate::workers::heartbeat`]) keeps it alive.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cajero_store::instances::{self, DEAD_AFTER_MS, Registration};
use cajero_store::{Store, StoreError};
use rand::RngExt;

use crate::clock::Clock;

/// This instance.
pub struct Instance {
    id: String,
    incarnation: String,
    /// When the last heartbeat (or the registration) that the database accepted started.
    last_beat: Mutex<Option<Instant>>,
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("id", &self.id)
            .field("incarnation", &self.incarnation)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// A new incarnation of the instance `id` (not yet registered).
    pub fn new(id: impl Into<String>) -> Instance {
        let incarnation: u128 = rand::rng().random();
        Instance {
            id: id.into(),
            incarnation: format!("{incarnation:032x}"),
            last_beat: Mutex::new(None),
        }
    }

    /// The instance id the configuration names, or the default for `listen`.
    pub fn for_config(configured: Option<&str>, listen: SocketAddr) -> Instance {
        Instance::new(configured.map_or_else(|| default_id(listen), str::to_string))
    }

    /// The stable id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// This start's incarnation.
    pub fn incarnation(&self) -> &str {
        &self.incarnation
    }

    /// Registers this incarnation in place of the instance's previous one, whose webhook leases
    /// and `Idempotency-Key` claims are released at once; counts as the first heartbeat.
    pub async fn register(
        &self,
        store: &Store,
        clock: &dyn Clock,
    ) -> Result<Registration, StoreError> {
        let started = Instant::now();
        let now = clock.now();
        let (id, incarnation) = (self.id.clone(), self.incarnation.clone());
        let forget_before = now
            .checked_sub(jiff::SignedDuration::from_hours(FORGET_AFTER_H))
            .unwrap_or(now);
        let registration = store
            .write(move |mut c| {
                Box::pin(async move {
                    instances::forget_silent(&mut c, forget_before).await?;
                    instances::register(&mut c, &id, &incarnation, now).await
                })
            })
            .await?;
        self.note_beat(started);
        Ok(registration)
    }

    /// Renews the heartbeat; `false` when another process registered the same instance id
    /// since (this one's work counts as dead: it must stop).
    pub async fn beat(&self, store: &Store, clock: &dyn Clock) -> Result<bool, StoreError> {
        let started = Instant::now();
        let now = clock.now();
        let (id, incarnation) = (self.id.clone(), self.incarnation.clone());
        let alive = store
            .write(move |mut c| {
                Box::pin(async move { instances::heartbeat(&mut c, &id, &incarnation, now).await })
            })
            .await?;
        if alive {
            self.note_beat(started);
        }
        Ok(alive)
    }

    fn note_beat(&self, started: Instant) {
        let mut last = self.last_beat.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|l| l < started) {
            *last = Some(started);
        }
    }

    /// Whether this incarnation was registered.
    pub fn is_registered(&self) -> bool {
        self.last_beat
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Until when every instance still counts this incarnation alive, for sure: its last
    /// accepted heartbeat's start plus three quarters of [`DEAD_AFTER_MS`] (the rest is a
    /// margin for clock skew). `None` before it is registered.
    pub fn surely_alive_until(&self) -> Option<Instant> {
        let last = *self.last_beat.lock().unwrap_or_else(|p| p.into_inner());
        let dead_after = Duration::from_millis(u64::try_from(DEAD_AFTER_MS).unwrap_or(0));
        last.map(|l| l + dead_after - dead_after / 4)
    }
}

/// Instances silent this long are forgotten at the next start of any instance.
const FORGET_AFTER_H: i64 = 7 * 24;

/// The default instance id: this host's name and the listen address.
pub fn default_id(listen: SocketAddr) -> String {
    format!("{}/{listen}", hostname())
}

/// This host's name, as the kernel has it; `localhost` when it cannot be read.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .chain(std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_string())
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_id_is_stable_and_names_the_listen_address() {
        let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let id = default_id(listen);
        assert!(id.ends_with("/127.0.0.1:8080"), "{id}");
        assert_eq!(id, default_id(listen));
        assert_ne!(id, default_id(SocketAddr::from(([127, 0, 0, 1], 8081))));
    }

    #[test]
    fn every_start_is_a_new_incarnation_of_the_same_instance() {
        let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let (a, b) = (
            Instance::for_config(None, listen),
            Instance::for_config(None, listen),
        );
        assert_eq!(a.id(), b.id());
        assert_ne!(a.incarnation(), b.incarnation());
        assert_eq!(a.incarnation().len(), 32);
        assert_eq!(Instance::for_config(Some("eu-1"), listen).id(), "eu-1");
        assert!(!a.is_registered());
        assert!(a.surely_alive_until().is_none());
    }
}
