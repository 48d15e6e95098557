//! The network's state and every rule that changes it. Synchronous and clock-free: each
//! operation takes `now` (the simulated clock) and records what it changed in [`Dirty`], so
//! the caller can persist exactly that.

mod callbacks;
mod counter_ops;
mod orders;
mod sweep;
mod test_clocks;

pub use callbacks::{CALLBACK_ATTEMPTS_MAX, DeliveryResult, DueCallback, retry_delay};
pub use counter_ops::CounterResult;
pub use orders::{CreateCollection, CreatePayout, Created, ListFilter, PartyInput};
pub use test_clocks::{TEST_CLOCK_ID_BYTES_MAX, TestClock, TestClockRef};

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::{SignedDuration, Timestamp};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::config::{AutopilotConfig, Faults, MerchantConfig, NetworkProfile, SimConfig};
use crate::model::{Attempt, Callback, CallbackStatus, Counter, Merchant, Order, OrderKind};
use crate::settlement::{SettlementFaultError, SettlementFaults};

/// Why a network or counter request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// No merchant with this id.
    #[error("unknown merchant")]
    UnknownMerchant,
    /// No network profile with this name.
    #[error("unknown network {0:?}")]
    UnknownNetwork(String),
    /// A field is missing or malformed.
    #[error("{param}: {message}")]
    InvalidRequest {
        param: &'static str,
        message: String,
    },
    /// Outside the profile's limits.
    #[error("amount {got} is outside {min}–{max} COP for this network")]
    AmountOutOfRange { min: i64, max: i64, got: i64 },
    /// Validity outside the profile's limits.
    #[error("validity of {got} s is outside {min}–{max} s for this network")]
    ValidityOutOfRange { min: i64, max: i64, got: i64 },
    /// The network refuses this beneficiary (magic document 1111111111).
    #[error("the network rejects this beneficiary")]
    BeneficiaryRejected,
    /// The network stopped operating.
    #[error("the network stopped operating on {since}")]
    NetworkDiscontinued { since: jiff::civil::Date },
    /// The network is down (magic amount 66666, fault knob).
    #[error("the network is unavailable; try again later")]
    NetworkUnavailable,
    /// The network is taken down (`faults.down`): nothing about it is done until it is back.
    #[error("the {network} network is down; nothing was done, try again later")]
    NetworkDown { network: String },
    /// The reference is taken by a different order.
    #[error("reference already used by {existing_id} with other values")]
    ReferenceConflict { existing_id: String },
    /// No such order for this merchant.
    #[error("no such order")]
    NotFound,
    /// Only open orders can be canceled.
    #[error("the order is {status} and cannot be canceled")]
    NotCancelable { status: &'static str },
    /// No such counter.
    #[error("no such counter")]
    UnknownCounter,
    /// No free code after many draws (the code space is nearly full).
    #[error("no free code")]
    CodeSpaceExhausted,
}

/// What changed since the last persist.
#[derive(Debug, Default)]
pub struct Dirty {
    /// Orders to write.
    pub orders: BTreeSet<String>,
    /// Attempts to write.
    pub attempts: BTreeSet<String>,
    /// Callbacks to write.
    pub callbacks: BTreeSet<String>,
    /// Counters whose drawer changed.
    pub counters: BTreeSet<String>,
    /// Merchants to write.
    pub merchants: BTreeSet<String>,
    /// Sequences, clock, faults or autopilot settings changed.
    pub meta: bool,
    /// A callback became deliverable: wake the delivery worker.
    pub callbacks_ready: bool,
}

impl Dirty {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        !self.meta
            && self.orders.is_empty()
            && self.attempts.is_empty()
            && self.callbacks.is_empty()
            && self.counters.is_empty()
            && self.merchants.is_empty()
    }
}

/// Persisted scalars: sequences, the seed, the clock offset, runtime knobs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    /// The seed in force (drawn at the first start when none was configured): settlement
    /// file faults are decided from it, so a file reads the same after a restart.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Last order number.
    pub order_seq: u64,
    /// Last attempt number.
    pub attempt_seq: u64,
    /// Last callback number.
    pub callback_seq: u64,
    /// How far the clock was advanced over the API.
    pub clock_offset_seconds: i64,
    /// Fault knobs in force.
    pub faults: Option<Faults>,
    /// Autopilot settings in force.
    pub autopilot: Option<AutopilotConfig>,
    /// Targeted settlement-file faults in force.
    #[serde(default)]
    pub settlement_faults: Option<SettlementFaults>,
    /// Merchants' test clocks, by id.
    #[serde(default)]
    pub test_clocks: BTreeMap<String, TestClock>,
}

/// The simulated clock: a start plus host time elapsed (unless frozen) plus advances.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start_sim: Timestamp,
    start_host: Timestamp,
    frozen: bool,
    offset: SignedDuration,
}

impl Clock {
    /// Starts at `start` (or the host's now), frozen or running.
    pub fn new(start: Option<Timestamp>, frozen: bool, offset_seconds: i64) -> Clock {
        let host = Timestamp::now();
        Clock {
            start_sim: start.unwrap_or(host),
            start_host: host,
            frozen,
            offset: SignedDuration::from_secs(offset_seconds),
        }
    }

    /// Simulated now.
    pub fn now(&self) -> Timestamp {
        let elapsed = if self.frozen {
            SignedDuration::ZERO
        } else {
            Timestamp::now().duration_since(self.start_host)
        };
        self.start_sim
            .saturating_add(elapsed)
            .and_then(|t| t.saturating_add(self.offset))
            .unwrap_or(self.start_sim)
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, seconds: i64) {
        self.offset = self
            .offset
            .saturating_add(SignedDuration::from_secs(seconds));
    }

    /// Seconds advanced so far.
    pub fn offset_seconds(&self) -> i64 {
        self.offset.as_secs()
    }
}

/// Everything the network knows.
#[derive(Debug)]
pub struct State {
    pub(crate) profiles: BTreeMap<String, NetworkProfile>,
    pub(crate) default_network: String,
    pub(crate) magic_values: bool,
    pub(crate) attempts_max: u32,
    pub(crate) retry_speedup: u32,
    pub(crate) merchants: BTreeMap<String, Merchant>,
    pub(crate) orders: HashMap<String, Order>,
    pub(crate) by_reference: HashMap<(String, OrderKind, String), String>,
    pub(crate) by_code: HashMap<(String, OrderKind, String), String>,
    pub(crate) payouts_by_document: HashMap<(String, String), Vec<String>>,
    /// Open orders by expiry, per timeline (the network's clock, each test clock).
    pub(crate) expiries: test_clocks::Timelines,
    /// Autopilot visits, per timeline.
    pub(crate) visits: test_clocks::Timelines,
    pub(crate) attempts: BTreeMap<String, Attempt>,
    pub(crate) callbacks: BTreeMap<String, Callback>,
    /// Pending, not held callbacks in delivery order.
    pub(crate) callback_queue: BTreeSet<(u64, String)>,
    /// Callbacks held back by the reorder fault.
    pub(crate) held_callbacks: BTreeSet<String>,
    /// Callbacks handed to a deliverer and not yet reported back.
    pub(crate) in_flight: BTreeSet<String>,
    pub(crate) counters: BTreeMap<String, Counter>,
    pub(crate) meta: Meta,
    pub(crate) clock: Clock,
    pub(crate) rng: Xoshiro256PlusPlus,
    pub(crate) seed: u64,
    /// The seed was configured: every draw replays, ids included.
    pub(crate) explicit_seed: bool,
    /// Apply the clock advances stored in the database on restore.
    pub(crate) resume_advances: bool,
    pub(crate) dirty: Dirty,
}

impl State {
    /// A fresh network from the configuration.
    ///
    /// Without a configured seed, the seed comes from the operating system and the id
    /// sequences start at the host time in microseconds, so a simulator that restarts without
    /// its database never issues an id again (order, attempt and callback ids stay
    /// increasing across restarts too). With a seed, sequences start at zero: a replay.
    pub fn new(config: &SimConfig) -> State {
        let explicit_seed = config.seed.is_some();
        let seed = config.seed.unwrap_or_else(|| rand::rng().random());
        let id_base = if explicit_seed { 0 } else { id_base_now() };
        let mut state = State {
            profiles: config
                .networks
                .iter()
                .map(|p| (p.name.clone(), p.clone()))
                .collect(),
            default_network: config.default_network.clone(),
            magic_values: config.magic_values,
            attempts_max: config.callbacks.attempts_max.max(1),
            retry_speedup: config.callbacks.retry_speedup.max(1),
            merchants: BTreeMap::new(),
            orders: HashMap::new(),
            by_reference: HashMap::new(),
            by_code: HashMap::new(),
            payouts_by_document: HashMap::new(),
            expiries: test_clocks::Timelines::default(),
            visits: test_clocks::Timelines::default(),
            attempts: BTreeMap::new(),
            callbacks: BTreeMap::new(),
            callback_queue: BTreeSet::new(),
            held_callbacks: BTreeSet::new(),
            in_flight: BTreeSet::new(),
            counters: BTreeMap::new(),
            meta: Meta {
                seed: Some(seed),
                order_seq: id_base,
                attempt_seq: id_base,
                callback_seq: id_base,
                faults: Some(config.faults.clone()),
                settlement_faults: Some(config.settlement_faults.clone()),
                autopilot: Some(config.autopilot.clone()),
                ..Meta::default()
            },
            clock: Clock::new(config.clock.start, config.clock.frozen, 0),
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            seed,
            explicit_seed,
            resume_advances: config.clock.resume_advances,
            dirty: Dirty::default(),
        };
        for profile in &config.networks {
            for counter in crate::counters::directory(profile) {
                state.counters.insert(counter.id.clone(), counter);
            }
        }
        for merchant in &config.merchants {
            state.upsert_merchant(merchant.clone());
        }
        state
    }

    /// Restores what was persisted on top of a fresh state (merchants from the
    /// configuration keep their configured secret and URL). `meta` is `None` when the
    /// database is new: the fresh state's sequences and seed stand.
    pub fn restore(
        &mut self,
        meta: Option<Meta>,
        merchants: Vec<Merchant>,
        orders: Vec<Order>,
        attempts: Vec<Attempt>,
        callbacks: Vec<Callback>,
        drawers: Vec<(String, cajero_domain::Amount)>,
    ) {
        let configured: BTreeMap<String, Merchant> = std::mem::take(&mut self.merchants);
        for m in merchants {
            self.merchants.insert(m.config.id.clone(), m);
        }
        for (id, m) in configured {
            match self.merchants.get_mut(&id) {
                Some(existing) => existing.config = m.config,
                None => {
                    self.merchants.insert(id.clone(), m);
                    self.dirty.merchants.insert(id);
                }
            }
        }
        if let Some(mut meta) = meta {
            if self.resume_advances {
                self.clock.advance(meta.clock_offset_seconds);
            } else {
                meta.clock_offset_seconds = 0;
            }
            if self.explicit_seed {
                // Reseed so a restarted simulator does not replay the codes it already
                // issued, yet replays the same way from the same database.
                self.rng =
                    Xoshiro256PlusPlus::seed_from_u64(self.seed ^ meta.order_seq.rotate_left(17));
            } else if let Some(stored) = meta.seed {
                // The draws stay fresh (State::new drew a new seed for them); settlement
                // decisions keep the seed the orders were made under.
                self.seed = stored;
            }
            self.meta = Meta {
                seed: Some(self.seed),
                faults: meta.faults.or_else(|| self.meta.faults.take()),
                settlement_faults: meta
                    .settlement_faults
                    .or_else(|| self.meta.settlement_faults.take()),
                autopilot: meta.autopilot.or_else(|| self.meta.autopilot.take()),
                ..meta
            };
        }
        for order in orders {
            self.index_order(&order);
            self.orders.insert(order.id.clone(), order);
        }
        for attempt in attempts {
            self.attempts.insert(attempt.id.clone(), attempt);
        }
        for callback in callbacks {
            if callback.status == CallbackStatus::Pending {
                if callback.held {
                    self.held_callbacks.insert(callback.id.clone());
                } else {
                    self.callback_queue
                        .insert((callback.seq, callback.id.clone()));
                }
            }
            self.callbacks.insert(callback.id.clone(), callback);
        }
        for (id, cash) in drawers {
            if let Some(counter) = self.counters.get_mut(&id) {
                counter.cash = cash;
            }
        }
    }

    pub(crate) fn index_order(&mut self, order: &Order) {
        self.by_reference.insert(
            (
                order.merchant_id.clone(),
                order.kind,
                order.reference.clone(),
            ),
            order.id.clone(),
        );
        self.by_code.insert(
            (order.network.clone(), order.kind, order.code.clone()),
            order.id.clone(),
        );
        if order.kind == OrderKind::Payout
            && let Some(doc) = &order.party.document
        {
            self.payouts_by_document
                .entry((
                    order.network.clone(),
                    crate::codes::normalize_document_number(doc.number()),
                ))
                .or_default()
                .push(order.id.clone());
        }
        if order.status.is_open() {
            let clock = order.test_clock.as_deref();
            self.expiries.insert(clock, order.expires_at, &order.id);
            if let Some(at) = order.autopilot_at {
                self.visits.insert(clock, at, &order.id);
            }
        }
    }

    /// Adds or updates a merchant.
    pub fn upsert_merchant(&mut self, config: MerchantConfig) -> Merchant {
        let number = match self.merchants.get(&config.id) {
            Some(existing) => existing.number,
            None => self.merchants.values().map(|m| m.number).max().unwrap_or(0) + 1,
        };
        let merchant = Merchant { config, number };
        self.merchants
            .insert(merchant.config.id.clone(), merchant.clone());
        self.dirty.merchants.insert(merchant.config.id.clone());
        merchant
    }

    /// The merchant with this id.
    pub fn merchant(&self, id: &str) -> Option<&Merchant> {
        self.merchants.get(id)
    }

    /// Simulated now.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Moves the clock forward by `seconds` and returns the new now.
    pub fn advance_clock(&mut self, seconds: i64) -> Timestamp {
        self.clock.advance(seconds.max(0));
        self.meta.clock_offset_seconds = self.clock.offset_seconds();
        self.dirty.meta = true;
        self.bring_callbacks_forward(seconds);
        self.clock.now()
    }

    /// Fault knobs in force.
    pub fn faults(&self) -> Faults {
        self.meta.faults.clone().unwrap_or_default()
    }

    /// Replaces the fault knobs, once every network taken down is one this simulator plays
    /// (otherwise [`SimError::UnknownNetwork`] and nothing changes). A network that comes back
    /// wakes the delivery of the callbacks it held.
    pub fn set_faults(&mut self, faults: Faults) -> Result<Faults, SimError> {
        if let Some(unknown) = faults.down.iter().find(|n| !self.profiles.contains_key(*n)) {
            return Err(SimError::UnknownNetwork(unknown.clone()));
        }
        if self
            .meta
            .faults
            .as_ref()
            .is_some_and(|f| !f.down.is_empty())
        {
            self.dirty.callbacks_ready = true;
        }
        self.meta.faults = Some(faults);
        self.dirty.meta = true;
        Ok(self.faults())
    }

    /// Whether `network` is taken down (`faults.down`).
    pub fn is_down(&self, network: &str) -> bool {
        self.meta
            .faults
            .as_ref()
            .is_some_and(|f| f.is_down(network))
    }

    /// [`SimError::NetworkDown`] while `network` is taken down.
    pub fn ensure_up(&self, network: &str) -> Result<(), SimError> {
        if self.is_down(network) {
            return Err(SimError::NetworkDown {
                network: network.to_owned(),
            });
        }
        Ok(())
    }

    /// Targeted settlement-file faults in force.
    pub fn settlement_faults(&self) -> SettlementFaults {
        self.meta.settlement_faults.clone().unwrap_or_default()
    }

    /// Replaces the targeted settlement-file faults, once they are checked against the state.
    pub fn set_settlement_faults(
        &mut self,
        faults: SettlementFaults,
    ) -> Result<SettlementFaults, SettlementFaultError> {
        faults.check(self)?;
        self.meta.settlement_faults = Some(faults);
        self.dirty.meta = true;
        Ok(self.settlement_faults())
    }

    /// Autopilot settings in force.
    pub fn autopilot(&self) -> AutopilotConfig {
        self.meta.autopilot.clone().unwrap_or_default()
    }

    /// Replaces the autopilot settings (applies to orders created from now on).
    pub fn set_autopilot(&mut self, autopilot: AutopilotConfig) {
        self.meta.autopilot = Some(autopilot);
        self.dirty.meta = true;
    }

    /// A network profile.
    pub fn profile(&self, name: &str) -> Result<&NetworkProfile, SimError> {
        self.profiles
            .get(name)
            .ok_or_else(|| SimError::UnknownNetwork(name.chars().take(40).collect()))
    }

    /// All profiles.
    pub fn profiles(&self) -> impl Iterator<Item = &NetworkProfile> {
        self.profiles.values()
    }

    /// A counter.
    pub fn counter(&self, id: &str) -> Option<&Counter> {
        self.counters.get(id)
    }

    /// Counters, optionally of one network and city (accent- and case-insensitive).
    pub fn counters(&self, network: Option<&str>, city: Option<&str>) -> Vec<&Counter> {
        let city = city.map(fold);
        self.counters
            .values()
            .filter(|c| network.is_none_or(|n| c.network == n))
            .filter(|c| city.as_ref().is_none_or(|q| fold(&c.city) == *q))
            .collect()
    }

    /// Sets the cash in a counter's drawer.
    pub fn set_counter_cash(
        &mut self,
        id: &str,
        cash: cajero_domain::Amount,
    ) -> Result<Counter, SimError> {
        let counter = self.counters.get_mut(id).ok_or(SimError::UnknownCounter)?;
        counter.cash = cash;
        self.dirty.counters.insert(id.to_owned());
        Ok(counter.clone())
    }

    /// An attempt by id.
    pub fn attempt(&self, id: &str) -> Option<&Attempt> {
        self.attempts.get(id)
    }

    /// Attempts, newest first, optionally for one order or counter.
    pub fn attempts(&self, order_id: Option<&str>, counter_id: Option<&str>) -> Vec<&Attempt> {
        self.attempts
            .values()
            .rev()
            .filter(|a| order_id.is_none_or(|o| a.order_id.as_deref() == Some(o)))
            .filter(|a| counter_id.is_none_or(|c| a.counter_id == c))
            .collect()
    }

    /// Callbacks, oldest first, optionally for one merchant or order.
    pub fn callbacks(&self, merchant_id: Option<&str>, order_id: Option<&str>) -> Vec<&Callback> {
        let mut list: Vec<&Callback> = self
            .callbacks
            .values()
            .filter(|c| merchant_id.is_none_or(|m| c.merchant_id == m))
            .filter(|c| order_id.is_none_or(|o| c.order_id == o))
            .collect();
        list.sort_by_key(|c| c.seq);
        list
    }

    /// Every order (for settlement files and the CLI).
    pub fn all_orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    /// Takes what changed since the last call.
    pub fn take_dirty(&mut self) -> Dirty {
        std::mem::take(&mut self.dirty)
    }

    /// Draws a number below `10_000` and says whether it falls under `bps`.
    pub(crate) fn chance(&mut self, bps: u16) -> bool {
        bps > 0 && self.rng.random_range(0..crate::config::BPS_WHOLE) < bps
    }
}

/// The first id number of a start without a configured seed: the host time in microseconds
/// (16 digits until 2286). A simulator issues far fewer than one id per microsecond, so the
/// numbers of a new start are past every number of the starts before it.
fn id_base_now() -> u64 {
    u64::try_from(Timestamp::now().as_microsecond()).unwrap_or(0)
}

/// Lower case without Spanish accents, for city look-ups (`bogota` finds `Bogotá`).
fn fold(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            'á' | 'Á' => 'a',
            'é' | 'É' => 'e',
            'í' | 'Í' => 'i',
            'ó' | 'Ó' => 'o',
            'ú' | 'Ú' | 'ü' | 'Ü' => 'u',
            'ñ' | 'Ñ' => 'n',
            other => other.to_ascii_lowercase(),
        })
        .collect()
}
