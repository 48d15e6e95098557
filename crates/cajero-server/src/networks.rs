//! The cash networks this instance reaches, per mode, and routing between them.
//!
//! Test mode always talks to a simulator: the one configured, or one started embedded on a
//! loopback port when none is configured, so that test keys work out of the box. Live mode
//! talks only to networks configured for it (none yet: real gateway connectors come later).
//!
//! Every create tells the network where to call back about that order:
//! `{public_url}/callbacks/sim` ([`callback_url`]), as real gateways take a `notification_url`
//! per payment. With several instances, `public_url` is the shared address in front of all of
//! them and they share one simulator (`[simulator]`): whichever instance the callback reaches
//! verifies and applies it.
//!
//! The embedded simulator keeps its state next to a SQLite database
//! ([`embedded_state_url`]: `sqlite://cajero.db` → `sqlite://cajero.db.sim.db`), so a restart
//! neither forgets the vouchers and codes it issued nor issues their ids again. Over an
//! in-memory SQLite or PostgreSQL it keeps its state in memory, and its ids and codes still
//! never repeat across restarts (a seed from the operating system, ids from the start time).

use std::sync::Arc;

use cajero_connect::sim::{SimConnector, SimConnectorConfig};
use cajero_connect::{Connector, Evidence};
use cajero_domain::id::{MerchantId, MessageId};
use cajero_domain::merchant::Mode;
use cajero_store::network::{self, MessageRecord};
use cajero_store::{Conn, StoreError};
use tokio::sync::Mutex;

use crate::clock::{Clock, new_id};
use crate::error::{ApiError, ErrorType};

/// The simulator's merchant id for this instance at the network.
pub const SIM_MERCHANT_ID: &str = "cajero";
/// The networks test mode routes to, in order of preference.
pub const TEST_NETWORKS: &[&str] = &["efecty", "sured"];
/// The callback receiver of the simulator: `POST /callbacks/sim`.
pub const SIM_CALLBACK_RECEIVER: &str = "sim";
/// What the embedded simulator's state file adds to the name of cajero's SQLite file.
pub const EMBEDDED_STATE_SUFFIX: &str = ".sim.db";

/// Where the simulator calls back an instance reachable at `public_url`.
pub fn callback_url(public_url: &str) -> String {
    format!(
        "{}/callbacks/{SIM_CALLBACK_RECEIVER}",
        public_url.trim_end_matches('/')
    )
}

/// Where the embedded simulator keeps its state when cajero's database is `database_url`:
/// next to a SQLite file (`sqlite://cajero.db` → `sqlite://cajero.db.sim.db`, query
/// parameters dropped); `None` for an in-memory SQLite or PostgreSQL (the simulator speaks
/// SQLite only).
pub fn embedded_state_url(database_url: &str) -> Option<String> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory =
        path.is_empty() || path == ":memory:" || query.split('&').any(|pair| pair == "mode=memory");
    (!in_memory).then(|| format!("sqlite://{path}{EMBEDDED_STATE_SUFFIX}"))
}

/// How to start the embedded simulator.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedOptions {
    /// `sqlite://FILE` to keep its state in ([`embedded_state_url`]); `None`: in memory.
    pub state_url: Option<String>,
    /// Simulated customers and beneficiaries turn up at counters by themselves (`cajero demo`).
    pub autopilot: bool,
}

/// One reachable network.
#[derive(Debug, Clone)]
pub struct Network {
    /// Its code (`efecty`).
    pub code: String,
    /// Test or live.
    pub mode: Mode,
    /// How to reach it.
    pub connector: Arc<dyn Connector>,
}

/// Every network of the instance, plus the simulator's controls for test helpers.
#[derive(Debug, Clone, Default)]
pub struct Networks {
    networks: Vec<Network>,
    simulator: Option<Arc<SimConnector>>,
    embedded: Option<Arc<Mutex<Option<cajero_sim::SimHandle>>>>,
}

impl Networks {
    /// Test mode on an embedded simulator started now, calling back `public_url` (this
    /// instance's) at `/callbacks/sim`.
    /// The simulator's clock starts at `clock`'s now and, when `clock` only moves by request
    /// (tests), is frozen too, so both move together; advances stored by an earlier run are not
    /// applied again (`clock` says where time is).
    pub async fn embedded_simulator(
        public_url: &str,
        clock: &dyn Clock,
        options: EmbeddedOptions,
    ) -> anyhow::Result<Networks> {
        let secret = crate::auth::NewSecret::generate(Mode::Test)
            .expose()
            .to_string();
        let config = cajero_sim::SimConfig {
            database_url: options.state_url,
            merchants: vec![cajero_sim::MerchantConfig {
                id: SIM_MERCHANT_ID.to_string(),
                secret: secret.clone(),
                callback_url: Some(callback_url(public_url)),
                ..cajero_sim::MerchantConfig::demo()
            }],
            autopilot: cajero_sim::config::AutopilotConfig {
                enabled: options.autopilot,
                // A demo shows movement within minutes, not days.
                delay_seconds_min: 20,
                delay_seconds_max: 180,
                ..cajero_sim::config::AutopilotConfig::default()
            },
            clock: cajero_sim::config::ClockConfig {
                start: Some(clock.now()),
                frozen: clock.is_frozen(),
                resume_advances: false,
            },
            ..cajero_sim::SimConfig::default()
        };
        let handle = cajero_sim::spawn(config).await?;
        let mut networks =
            Networks::simulator(&handle.base_url(), SIM_MERCHANT_ID, &secret, public_url)?;
        networks.embedded = Some(Arc::new(Mutex::new(Some(handle))));
        Ok(networks)
    }

    /// Test mode on a simulator reachable at `base_url`; every create asks it to call back
    /// `public_url` at `/callbacks/sim`.
    pub fn simulator(
        base_url: &str,
        merchant_id: &str,
        secret: &str,
        public_url: &str,
    ) -> anyhow::Result<Networks> {
        let mut config = SimConnectorConfig::new(base_url, merchant_id, secret);
        config.networks = TEST_NETWORKS.iter().map(|n| n.to_string()).collect();
        config.callback_url = Some(callback_url(public_url));
        let sim = Arc::new(SimConnector::new(config)?);
        let connector: Arc<dyn Connector> = sim.clone();
        Ok(Networks {
            networks: TEST_NETWORKS
                .iter()
                .map(|code| Network {
                    code: code.to_string(),
                    mode: Mode::Test,
                    connector: connector.clone(),
                })
                .collect(),
            simulator: Some(sim),
            embedded: None,
        })
    }

    /// The candidates for a new order, in order: the requested network only, or every
    /// network of the mode (routing falls over to the next when one is unavailable).
    pub fn route(&self, mode: Mode, requested: Option<&str>) -> Result<Vec<Network>, ApiError> {
        let of_mode = self.networks.iter().filter(|n| n.mode == mode);
        let candidates: Vec<Network> = match requested {
            Some(code) => of_mode.filter(|n| n.code == code).cloned().collect(),
            None => of_mode.cloned().collect(),
        };
        if candidates.is_empty() {
            return Err(match requested {
                Some(code) => ApiError::invalid(
                    "network_unknown",
                    format!(
                        "network {} is not available in {mode} mode",
                        crate::error::quoted(code)
                    ),
                )
                .with_param("network"),
                None => {
                    network_unavailable(format!("no cash network is configured for {mode} mode"))
                }
            });
        }
        Ok(candidates)
    }

    /// The candidates for a new order of `amount`: those of [`Networks::route`] whose limits
    /// take it (a network cajero has no limits for decides itself). None take it: 400
    /// `amount_outside_network_limits` naming each candidate's limits, before anything is
    /// created or reserved.
    pub fn route_amount(
        &self,
        mode: Mode,
        requested: Option<&str>,
        kind: cajero_connect::OrderKind,
        amount: cajero_domain::Amount,
    ) -> Result<Vec<Network>, ApiError> {
        let candidates = self.route(mode, requested)?;
        let range = |n: &Network| {
            cajero_domain::network::spec(&n.code).map(|spec| match kind {
                cajero_connect::OrderKind::Collection => (spec.display_name, spec.collection),
                cajero_connect::OrderKind::Payout => (spec.display_name, spec.payout),
            })
        };
        let (fit, refused): (Vec<Network>, Vec<Network>) = candidates
            .into_iter()
            .partition(|n| range(n).is_none_or(|(_, r)| r.contains(amount)));
        if !fit.is_empty() {
            return Ok(fit);
        }
        let limits: Vec<String> = refused
            .iter()
            .filter_map(range)
            .map(|(name, r)| format!("{name} {r}"))
            .collect();
        let what = match kind {
            cajero_connect::OrderKind::Collection => "collects",
            cajero_connect::OrderKind::Payout => "pays out",
        };
        Err(ApiError::invalid(
            "amount_outside_network_limits",
            format!(
                "amount {} COP is outside what the network {what}: {}",
                cajero_domain::network::thousands(amount.minor()),
                limits.join("; ")
            ),
        )
        .with_param("amount"))
    }

    /// The connector of one network.
    pub fn get(&self, mode: Mode, code: &str) -> Option<Arc<dyn Connector>> {
        self.networks
            .iter()
            .find(|n| n.mode == mode && n.code == code)
            .map(|n| n.connector.clone())
    }

    /// The connector that verifies callbacks arriving at `/callbacks/{name}`.
    pub fn callback_receiver(&self, name: &str) -> Option<(Mode, Arc<dyn Connector>)> {
        match name {
            SIM_CALLBACK_RECEIVER => self
                .simulator
                .clone()
                .map(|s| (Mode::Test, s as Arc<dyn Connector>)),
            _ => None,
        }
    }

    /// The simulator's base URL (its cashier page is at `/ventanilla`).
    pub fn simulator_url(&self) -> Option<String> {
        self.simulator.as_ref().map(|s| s.config().base_url.clone())
    }

    /// The simulator, for test-mode helpers.
    pub fn sim(&self) -> Option<&SimConnector> {
        self.simulator.as_deref()
    }

    /// Stops an embedded simulator.
    pub async fn shutdown(&self) {
        if let Some(embedded) = &self.embedded
            && let Some(handle) = embedded.lock().await.take()
        {
            let _ = handle.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_state_sits_next_to_a_sqlite_file() {
        let cases = [
            ("sqlite://cajero.db", Some("sqlite://cajero.db.sim.db")),
            ("sqlite:cajero.db", Some("sqlite://cajero.db.sim.db")),
            (
                "sqlite:///var/lib/cajero/c.db",
                Some("sqlite:///var/lib/cajero/c.db.sim.db"),
            ),
            ("sqlite://c.db?mode=rwc", Some("sqlite://c.db.sim.db")),
            ("sqlite::memory:", None),
            ("sqlite://:memory:", None),
            ("sqlite://shared?mode=memory&cache=shared", None),
            ("postgres://u:p@db/cajero", None),
            ("postgresql://db/cajero", None),
        ];
        for (database, state) in cases {
            assert_eq!(embedded_state_url(database).as_deref(), state, "{database}");
        }
    }

    #[test]
    fn callbacks_go_to_the_public_url() {
        assert_eq!(
            callback_url("https://pagos.example.co/"),
            "https://pagos.example.co/callbacks/sim"
        );
    }
}

/// The simulator behind test mode, or 424 when there is none.
pub fn simulator(state: &crate::AppState) -> Result<&SimConnector, ApiError> {
    state
        .networks
        .sim()
        .ok_or_else(|| network_unavailable("no simulator is configured for test mode"))
}

/// A failed call to the simulator, as a 424.
pub fn sim_error(e: cajero_connect::ConnectError) -> ApiError {
    network_unavailable(format!("simulator: {e}"))
}

/// 424 `network_unavailable`.
pub fn network_unavailable(detail: impl Into<String>) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FAILED_DEPENDENCY,
        ErrorType::NetworkError,
        "network_unavailable",
        "The cash network is unavailable right now. Nothing was created; retry later.",
    )
    .with_log_detail(detail)
}

/// What an exchange is about: whose, which network, which object, which way.
#[derive(Debug, Clone, Copy)]
pub struct EvidenceLink<'a> {
    /// The merchant, when known.
    pub merchant: Option<MerchantId>,
    /// Test or live.
    pub mode: Mode,
    /// The network's code.
    pub network: &'a str,
    /// The order (`pi_…`, `po_…`), when known.
    pub object_id: Option<&'a str>,
    /// `outbound` (we called) or `inbound` (a callback).
    pub direction: &'static str,
}

/// Stores the raw exchanges of one call, linked to the object.
pub async fn store_evidence(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    link: EvidenceLink<'_>,
    evidence: &[Evidence],
) -> Result<(), StoreError> {
    for e in evidence {
        let id: MessageId = new_id(clock);
        network::insert_message(
            conn,
            &MessageRecord {
                id,
                merchant_id: link.merchant,
                mode: link.mode,
                network: link.network.to_string(),
                object_id: link.object_id.map(str::to_string),
                direction: link.direction,
                operation: e.operation.clone(),
                request: e.request.clone(),
                response_status: e.response_status,
                response: e.response.clone(),
                at: e.at,
                duration_ms: e.duration_ms,
            },
        )
        .await?;
    }
    Ok(())
}
