//! The cash networks this instance reaches, per mode, and routing between them.
//!
//! Test mode always talks to a simulator: the one configured, or one started embedded on a
//! loopback port when none is configured, so that test keys work out of the box; a gateway's
//! sandbox configured for test mode comes before it. Live mode talks only to the gateways
//! configured for it (`[[networks]]`, [`crate::network_config`]): without one, a live create
//! is refused with `no_network_available`.
//!
//! A *route* is one configured connection (the simulator, or a `[[networks]]` entry) reaching
//! one cash network. Several routes may reach one network (dLocal, PayU and Kushki all collect
//! at Efecty); each order records the route that made it ([`Network::route`]), which is whom
//! we ask about it, cancel it with, and whose callback receiver speaks for it.
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
use cajero_connect::{Connector, Evidence, OrderKind};
use cajero_domain::id::{MerchantId, MessageId};
use cajero_domain::merchant::Mode;
use cajero_domain::network::AmountRange;
use cajero_store::network::{self, MessageRecord};
use cajero_store::{Conn, StoreError};
use tokio::sync::Mutex;

use crate::clock::{Clock, new_id};
use crate::error::{ApiError, ErrorType};
use crate::network_config::NetworkEntry;

/// The route of the simulator's orders (and of every order made before routes existed).
pub const SIMULATOR_ROUTE: &str = "simulator";
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

/// One reachable cash network through one route.
#[derive(Debug, Clone)]
pub struct Network {
    /// The cash network's code (`efecty`).
    pub code: String,
    /// Test or live.
    pub mode: Mode,
    /// The route: [`SIMULATOR_ROUTE`] or a `[[networks]]` entry's name.
    pub route: String,
    /// Lower is tried first.
    pub priority: u32,
    /// Takes vouchers here (the connector can and the configuration allows).
    pub collections: bool,
    /// Takes pick-ups here.
    pub payouts: bool,
    /// Configured limits for vouchers, narrower than the network's.
    pub collection_limits: Option<AmountRange>,
    /// Configured limits for pick-ups.
    pub payout_limits: Option<AmountRange>,
    /// How to reach it.
    pub connector: Arc<dyn Connector>,
}

impl Network {
    /// Whether it takes orders of `kind`.
    pub fn takes(&self, kind: OrderKind) -> bool {
        match kind {
            OrderKind::Collection => self.collections,
            OrderKind::Payout => self.payouts,
        }
    }

    /// The amounts it takes for `kind`: the cash network's range, narrowed by the gateway's
    /// documented limits and by the configuration. `None` when none is known.
    pub fn range(&self, kind: OrderKind) -> Option<AmountRange> {
        let spec = cajero_domain::network::spec(&self.code).map(|spec| match kind {
            OrderKind::Collection => spec.collection,
            OrderKind::Payout => spec.payout,
        });
        let configured = match kind {
            OrderKind::Collection => self.collection_limits,
            OrderKind::Payout => self.payout_limits,
        };
        [
            spec,
            self.connector.amount_limits(kind, &self.code),
            configured,
        ]
        .into_iter()
        .flatten()
        .reduce(|a, b| AmountRange {
            min: a.min.max(b.min),
            max: a.max.min(b.max),
        })
    }

    /// A simulator route to `code` in test mode, for every kind.
    fn simulator(code: &str, connector: Arc<dyn Connector>) -> Network {
        Network {
            code: code.to_string(),
            mode: Mode::Test,
            route: SIMULATOR_ROUTE.to_string(),
            priority: SIMULATOR_PRIORITY,
            collections: true,
            payouts: true,
            collection_limits: None,
            payout_limits: None,
            connector,
        }
    }
}

/// One route's answer to [`Networks::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The route.
    pub route: String,
    /// Its mode.
    pub mode: Mode,
    /// The cash networks it reaches.
    pub networks: Vec<String>,
    /// `Ok`, or why not (never a secret: connectors' errors carry none).
    pub result: Result<(), String>,
    /// How long the call took.
    pub latency_ms: u64,
}

/// The built-in simulator comes after every configured route (a sandbox configured for test
/// mode is preferred to it).
pub const SIMULATOR_PRIORITY: u32 = u32::MAX;

/// Every network of the instance, plus the simulator's controls for test helpers.
#[derive(Debug, Clone, Default)]
pub struct Networks {
    networks: Vec<Network>,
    /// How each route is doing, and its circuit breaker ([`crate::health`]).
    health: Arc<crate::health::Health>,
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
                .map(|code| Network::simulator(code, connector.clone()))
                .collect(),
            simulator: Some(sim),
            embedded: None,
            health: Arc::default(),
        })
    }

    /// The routes configured in `[[networks]]`, added to these (the simulator's), each
    /// calling back `{public_url}/callbacks/{name}`. Secrets are read through `env`.
    pub fn with_configured(
        mut self,
        entries: &[NetworkEntry],
        public_url: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Networks> {
        for entry in entries {
            let connector = crate::network_config::connect(entry, public_url, env)?;
            for code in connector.networks() {
                let collections = entry.allows(OrderKind::Collection, &code)
                    && connector.serves(OrderKind::Collection, &code);
                let payouts = entry.allows(OrderKind::Payout, &code)
                    && connector.serves(OrderKind::Payout, &code);
                if !collections && !payouts {
                    continue;
                }
                self.networks.push(Network {
                    code,
                    mode: entry.mode.into(),
                    route: entry.name().to_string(),
                    priority: entry.priority,
                    collections,
                    payouts,
                    collection_limits: entry.limits(OrderKind::Collection),
                    payout_limits: entry.limits(OrderKind::Payout),
                    connector: connector.clone(),
                });
            }
        }
        Ok(self)
    }

    /// Calls each route once with a harmless authenticated request (`cajero networks
    /// check`): reachable, credentials taken, how long it took.
    pub async fn check(&self) -> Vec<CheckReport> {
        let mut reports: Vec<CheckReport> = Vec::new();
        for network in self.all() {
            if let Some(report) = reports
                .iter_mut()
                .find(|r| r.route == network.route && r.mode == network.mode)
            {
                report.networks.push(network.code.clone());
                continue;
            }
            let started = std::time::Instant::now();
            let checked = network.connector.check().await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            reports.push(CheckReport {
                route: network.route.clone(),
                mode: network.mode,
                networks: vec![network.code.clone()],
                result: checked.result.map_err(|e| e.to_string()),
                latency_ms,
            });
        }
        reports
    }

    /// Judges the routes' health by `config` (`[health]`), starting afresh.
    pub fn with_health(mut self, config: crate::health::HealthConfig) -> Networks {
        self.health = Arc::new(crate::health::Health::new(config));
        self
    }

    /// How each route is doing.
    pub fn health(&self) -> &crate::health::Health {
        &self.health
    }

    /// Every route, in routing order per mode (test first).
    pub fn all(&self) -> Vec<Network> {
        let mut all = self.networks.clone();
        all.sort_by_key(|n| (n.mode.is_live(), n.priority));
        all
    }

    /// The candidates for a new order of `kind`, best first (by priority; equal priorities in
    /// the order configured): the routes to the requested network only, or to every network
    /// of the mode (routing falls over to the next when one is unavailable).
    pub fn route(
        &self,
        mode: Mode,
        kind: OrderKind,
        requested: Option<&str>,
    ) -> Result<Vec<Network>, ApiError> {
        let mut candidates: Vec<Network> = self
            .networks
            .iter()
            .filter(|n| n.mode == mode && n.takes(kind))
            .filter(|n| requested.is_none_or(|code| n.code == code))
            .cloned()
            .collect();
        candidates.sort_by_key(|n| n.priority);
        if !candidates.is_empty() {
            return Ok(candidates);
        }
        let what = match kind {
            OrderKind::Collection => "collects cash (pay-ins)",
            OrderKind::Payout => "pays out cash (payouts)",
        };
        if let Some(code) = requested {
            let known_here = self
                .networks
                .iter()
                .any(|n| n.mode == mode && n.code == code);
            if cajero_domain::network::spec(code).is_none() || (!known_here && mode == Mode::Test) {
                return Err(ApiError::invalid(
                    "network_unknown",
                    format!(
                        "network {} is not available in {mode} mode",
                        crate::error::quoted(code)
                    ),
                )
                .with_param("network"));
            }
            return Err(no_network_available(format!(
                "no {mode} network of this instance {what} at {}{}",
                crate::error::quoted(code),
                configure_hint(mode, kind)
            ))
            .with_param("network"));
        }
        Err(no_network_available(format!(
            "no {mode} network of this instance {what}{}",
            configure_hint(mode, kind)
        )))
    }

    /// The candidates for a new order of `amount`: those of [`Networks::route`] whose limits
    /// (narrowed by `routing_limits` per cash network, `[routing.networks]`) take it (a network
    /// cajero has no limits for decides itself). None take it: 400
    /// `amount_outside_network_limits` naming each candidate's limits, before anything is
    /// created or reserved.
    pub fn route_amount(
        &self,
        mode: Mode,
        requested: Option<&str>,
        kind: OrderKind,
        amount: cajero_domain::Amount,
        routing_limits: impl Fn(&str) -> Option<AmountRange>,
    ) -> Result<Vec<Network>, ApiError> {
        let candidates = self.route(mode, kind, requested)?;
        let range = |n: &Network| {
            [n.range(kind), routing_limits(&n.code)]
                .into_iter()
                .flatten()
                .reduce(|a, b| AmountRange {
                    min: a.min.max(b.min),
                    max: a.max.min(b.max),
                })
        };
        let (fit, refused): (Vec<Network>, Vec<Network>) = candidates
            .into_iter()
            .partition(|n| range(n).is_none_or(|r| r.contains(amount)));
        if !fit.is_empty() {
            return Ok(fit);
        }
        let mut limits: Vec<String> = Vec::new();
        for n in &refused {
            let Some(range) = range(n) else { continue };
            let name =
                cajero_domain::network::spec(&n.code).map_or(n.code.as_str(), |s| s.display_name);
            let line = if n.route == SIMULATOR_ROUTE {
                format!("{name} {range}")
            } else {
                format!("{name} through {} {range}", n.route)
            };
            if !limits.contains(&line) {
                limits.push(line);
            }
        }
        let what = match kind {
            OrderKind::Collection => "collects",
            OrderKind::Payout => "pays out",
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

    /// The connector of an order made through `route` at `code`. `None` when that route is
    /// no longer configured (the order is then left alone, and logged, until it is again).
    pub fn connector(&self, mode: Mode, route: &str, code: &str) -> Option<Arc<dyn Connector>> {
        self.networks
            .iter()
            .find(|n| n.mode == mode && n.route == route && n.code == code)
            .map(|n| n.connector.clone())
    }

    /// The connector of the one route that reaches `code` in `mode`; `None` when none or
    /// several do (an order whose route was not recorded cannot be told apart then).
    pub fn only_route(&self, mode: Mode, code: &str) -> Option<Arc<dyn Connector>> {
        let mut routes = self
            .networks
            .iter()
            .filter(|n| n.mode == mode && n.code == code);
        match (routes.next(), routes.next()) {
            (Some(n), None) => Some(n.connector.clone()),
            _ => None,
        }
    }

    /// The connector that verifies callbacks arriving at `/callbacks/{name}`, and its route.
    pub fn callback_receiver(&self, name: &str) -> Option<(Mode, Arc<dyn Connector>)> {
        if name == SIM_CALLBACK_RECEIVER {
            return self
                .simulator
                .clone()
                .map(|s| (Mode::Test, s as Arc<dyn Connector>));
        }
        self.networks
            .iter()
            .find(|n| n.route == name && n.route != SIMULATOR_ROUTE)
            .map(|n| (n.mode, n.connector.clone()))
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

/// " — configure a [[networks]] entry …" for live mode, where the fix is configuration.
fn configure_hint(mode: Mode, kind: OrderKind) -> &'static str {
    match (mode, kind) {
        (Mode::Test, _) => "",
        (Mode::Live, OrderKind::Collection) => {
            ": the operator must configure a live [[networks]] entry (kind dlocal, payu or kushki) that collects there"
        }
        (Mode::Live, OrderKind::Payout) => {
            ": the operator must configure a live [[networks]] entry (kind kushki) that pays out there"
        }
    }
}

/// 400 `no_network_available`: no configured network serves the request; naming what is
/// missing. Retrying does not help until the operator configures one.
pub fn no_network_available(detail: impl Into<String>) -> ApiError {
    ApiError::invalid("no_network_available", detail)
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

/// 503 `network_unavailable`: every route that could take the request is down (its circuit
/// breaker open), so none was asked; `detail` (which, since when) is the message.
pub fn networks_down(detail: impl Into<String>) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        ErrorType::NetworkError,
        "network_unavailable",
        detail,
    )
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

/// Stores the raw exchanges of one call, linked to the object (packing them in the unit: for
/// the paths where that is rare; a hot path packs first, [`PackedEvidence`]).
pub async fn store_evidence(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    link: EvidenceLink<'_>,
    evidence: &[Evidence],
) -> Result<(), StoreError> {
    for e in evidence {
        store_packed(conn, clock, link, &PackedEvidence::pack(e)?).await?;
    }
    Ok(())
}

/// An exchange with its request and response already packed ([`network::Packed`]), so that the
/// unit of work that stores it does not compress on the writer's thread.
#[derive(Debug, Clone)]
pub struct PackedEvidence {
    operation: String,
    response_status: Option<u16>,
    at: jiff::Timestamp,
    duration_ms: u64,
    request: String,
    exchange: network::Packed,
}

impl PackedEvidence {
    /// Packs an exchange.
    pub fn pack(e: &Evidence) -> Result<PackedEvidence, StoreError> {
        Ok(PackedEvidence {
            operation: e.operation.clone(),
            response_status: e.response_status,
            at: e.at,
            duration_ms: e.duration_ms,
            request: e.request.clone(),
            exchange: network::Packed::new(&e.request, &e.response)?,
        })
    }

    /// Records another answer than the one packed (a callback answered otherwise after a look
    /// at the books), packing again.
    pub fn answer(&mut self, status: u16, response: &str) -> Result<(), StoreError> {
        self.exchange = network::Packed::new(&self.request, response)?;
        self.response_status = Some(status);
        Ok(())
    }
}

/// Stores packed exchanges, linked to the object.
pub async fn store_packed_evidence(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    link: EvidenceLink<'_>,
    evidence: &[PackedEvidence],
) -> Result<(), StoreError> {
    for e in evidence {
        store_packed(conn, clock, link, e).await?;
    }
    Ok(())
}

/// Stores a callback's evidence and marks the callback `callback_id` as seen: whether it is
/// the first time (one statement on PostgreSQL; see [`network::insert_callback_message`]).
pub async fn store_callback_evidence(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    link: EvidenceLink<'_>,
    evidence: &PackedEvidence,
    callback_id: &str,
    now: jiff::Timestamp,
) -> Result<bool, StoreError> {
    network::insert_callback_message(
        conn,
        &packed_record(clock, link, evidence),
        callback_id,
        now,
    )
    .await
}

async fn store_packed(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    link: EvidenceLink<'_>,
    e: &PackedEvidence,
) -> Result<(), StoreError> {
    network::insert_message(conn, &packed_record(clock, link, e)).await
}

fn packed_record(clock: &dyn Clock, link: EvidenceLink<'_>, e: &PackedEvidence) -> MessageRecord {
    let id: MessageId = new_id(clock);
    MessageRecord {
        id,
        merchant_id: link.merchant,
        mode: link.mode,
        network: link.network.to_string(),
        object_id: link.object_id.map(str::to_string),
        direction: link.direction,
        operation: e.operation.clone(),
        exchange: e.exchange.clone(),
        response_status: e.response_status,
        at: e.at,
        duration_ms: e.duration_ms,
    }
}

/// An order the network reported in a state its documentation does not list: never guessed.
/// The order stays as it was (held: nothing moves on it until an operator decides), an
/// `unrecognized_network_state` exception is recorded once and evented to the merchant
/// (`reconciliation.exception.created`), and the operator is alerted in the log. The raw message is
/// already in the order's evidence.
pub async fn hold_unrecognized(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    merchant: MerchantId,
    mode: Mode,
    object_id: &str,
    order: &cajero_connect::NetworkOrder,
) -> Result<(), StoreError> {
    let detail = format!(
        "{} reported order {} (our {object_id}) in a state its documentation does not list; \
         the order is held as it was: see its evidence for the raw message",
        order.network, order.network_order_id
    );
    hold_for_review(
        conn,
        clock,
        Held {
            merchant,
            mode,
            kind: cajero_store::exceptions::UNRECOGNIZED_NETWORK_STATE,
            object_id,
            amount: order.amount,
            network: &order.network,
            network_order_id: &order.network_order_id,
            detail: &detail,
        },
    )
    .await
}

/// Something a network said that cajero will not guess about.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    /// Whose.
    pub merchant: MerchantId,
    /// Test or live.
    pub mode: Mode,
    /// The exception's kind (`unrecognized_network_state`, `refund_amount_mismatch`).
    pub kind: &'static str,
    /// Our object (`pi_…`, `po_…`, `re_…`).
    pub object_id: &'a str,
    /// The money concerned.
    pub amount: cajero_domain::Amount,
    /// The cash network.
    pub network: &'a str,
    /// The network's id for the order or refund.
    pub network_order_id: &'a str,
    /// What happened, for the operator.
    pub detail: &'a str,
}

/// Holds an object for review: an exception of `held.kind` recorded once for the object,
/// evented to the merchant (`reconciliation.exception.created`), and an alert in the log. The object
/// itself is left as it was.
pub async fn hold_for_review(
    conn: &mut Conn<'_>,
    clock: &dyn Clock,
    held: Held<'_>,
) -> Result<(), StoreError> {
    use cajero_store::exceptions::{NewException, record};
    let now = clock.now();
    let exception_id = format!("exc_{}_{}", held.kind, held.object_id);
    let exception = NewException {
        id: &exception_id,
        merchant_id: Some(held.merchant),
        mode: held.mode,
        kind: held.kind,
        object_id: held.object_id,
        amount: held.amount,
        currency: cajero_domain::money::Currency::Cop,
        network: Some(held.network),
        network_order_id: Some(held.network_order_id),
        detail: Some(held.detail),
    };
    if !record(conn, &exception, now).await? {
        return Ok(());
    }
    tracing::error!(
        object = held.object_id,
        network = held.network,
        order = held.network_order_id,
        kind = held.kind,
        "ALERT {}: held for review",
        held.kind
    );
    let object = crate::reconciliation::exception_object(conn, &exception_id).await?;
    cajero_store::events::emit(
        conn,
        held.merchant,
        held.mode.is_live(),
        cajero_domain::webhook::EventType::ReconciliationExceptionCreated,
        &object,
        new_id(clock),
        now,
    )
    .await?;
    Ok(())
}
