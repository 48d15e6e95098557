//! The simulator's configuration: network profiles, merchants, clock, faults and autopilot.
//!
//! Everything has a default, so `SimConfig::default()` is a working Efecty + SuRed + legacy
//! Baloto network with one demo merchant. A TOML file (see `sim.example.toml` in the README)
//! overrides any part; adding a network is a new `[[networks]]` entry, not code.

use std::path::Path;

use cajero_domain::network;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};

/// Basis points in one whole: fault shares are given in basis points (10 000 = always).
pub const BPS_WHOLE: u16 = 10_000;

/// Everything the simulator needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// `sqlite://path` to persist across restarts; `None` keeps everything in memory.
    pub database_url: Option<String>,
    /// Seed of every random choice (codes, faults, autopilot), so runs can be replayed.
    /// `None` (the default): drawn from the operating system at the first start (and kept in
    /// the database when there is one), and ids embed the host time of the start, so a
    /// restarted simulator never issues an id or a code sequence again. Only an explicit seed
    /// replays, ids included (two runs with the same seed and requests issue the same ids).
    pub seed: Option<u64>,
    /// The network used when a request names none.
    pub default_network: String,
    /// The networks this simulator plays.
    pub networks: Vec<NetworkProfile>,
    /// Merchants known at start (more can be registered over HTTP).
    pub merchants: Vec<MerchantConfig>,
    /// The simulated clock.
    pub clock: ClockConfig,
    /// Fault knobs at start (changeable over HTTP).
    pub faults: Faults,
    /// Settlement-file faults aimed at orders and files, at start (changeable over HTTP).
    /// Not checked against orders here: an id no order has changes nothing.
    pub settlement_faults: crate::settlement::SettlementFaults,
    /// Simulated customers and beneficiaries.
    pub autopilot: AutopilotConfig,
    /// Callback delivery.
    pub callbacks: CallbackConfig,
    /// Whether the magic values of API.md's test-mode table act.
    pub magic_values: bool,
    /// A request whose timestamp is further than this from the host's clock is refused.
    pub signature_tolerance_seconds: u64,
    /// Request bodies above this are refused with 413.
    pub request_body_bytes_max: usize,
    /// How often the background tick expires orders and runs the autopilot.
    pub tick_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            database_url: None,
            seed: None,
            default_network: "efecty".into(),
            networks: vec![
                NetworkProfile::efecty(),
                NetworkProfile::sured(),
                NetworkProfile::baloto(),
            ],
            merchants: vec![MerchantConfig::demo()],
            clock: ClockConfig::default(),
            faults: Faults::default(),
            settlement_faults: crate::settlement::SettlementFaults::default(),
            autopilot: AutopilotConfig::default(),
            callbacks: CallbackConfig::default(),
            magic_values: true,
            signature_tolerance_seconds: 300,
            request_body_bytes_max: 64 * 1024,
            tick_ms: 500,
        }
    }
}

impl SimConfig {
    /// The defaults overridden by a TOML file.
    pub fn from_toml_file(path: &Path) -> anyhow::Result<SimConfig> {
        let config: SimConfig = Figment::from(Serialized::defaults(SimConfig::default()))
            .merge(Toml::file_exact(path))
            .extract()?;
        Ok(config)
    }

    /// The profile called `name`.
    pub fn network(&self, name: &str) -> Option<&NetworkProfile> {
        self.networks.iter().find(|n| n.name == name)
    }
}

/// A cash network: its codes, limits, counters and files. All of it is data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkProfile {
    /// Short lower-case name used in requests (`efecty`).
    pub name: String,
    /// Name shown to people (`Efecty`).
    pub display_name: String,
    /// Prefix of counter ids (`EF` → `EF-BOG-001`).
    pub counter_prefix: String,
    /// Digits of a pay-in payment code (Efecty prints 8, the others 10).
    pub payment_code_digits: u8,
    /// Digits of a payout pick-up code.
    pub pickup_code_digits: u8,
    /// The agreement ("convenio") number printed on vouchers.
    pub agreement_code: String,
    /// The network's 13-digit GLN, GS1-128 application identifier (415).
    pub gln: String,
    /// NIT (10 digits with check digit) in the header of a whole-network settlement file.
    pub nit: String,
    /// Collecting entity code in settlement files (3 digits).
    pub collector_code: String,
    /// Smallest pay-in, COP.
    pub collection_amount_min: i64,
    /// Largest pay-in, COP.
    pub collection_amount_max: i64,
    /// Smallest payout, COP.
    pub payout_amount_min: i64,
    /// Largest payout, COP.
    pub payout_amount_max: i64,
    /// Voucher validity when the request gives none.
    pub collection_validity_seconds_default: i64,
    /// Shortest voucher validity accepted.
    pub collection_validity_seconds_min: i64,
    /// Longest voucher validity accepted.
    pub collection_validity_seconds_max: i64,
    /// Pick-up code validity when the request gives none.
    pub payout_validity_seconds_default: i64,
    /// Shortest pick-up validity accepted.
    pub payout_validity_seconds_min: i64,
    /// Longest pick-up validity accepted.
    pub payout_validity_seconds_max: i64,
    /// Wrong codes in a row (per beneficiary document) that lock a pick-up code.
    pub wrong_code_attempts_max: u32,
    /// Local (Bogotá) times at which new codes become payable; empty: immediately.
    pub activation_windows: Vec<Time>,
    /// From this Bogotá date on the network takes no new orders and counters do nothing.
    pub discontinued_on: Option<Date>,
    /// Regular counters' hours.
    pub regular_hours: WeeklyHours,
    /// Extended-hours counters' hours.
    pub extended_hours: WeeklyHours,
    /// Cities with counters and how many counters each has.
    pub cities: Vec<CityCounters>,
    /// One counter in this many has extended hours.
    pub extended_every: u32,
    /// Cash in each counter's drawer at start, COP.
    pub counter_cash_initial: i64,
}

/// Opening hours of a kind of counter, in Bogotá time; `None` is closed all day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHours {
    /// Monday to Friday, when not a holiday.
    pub weekdays: Option<Span>,
    /// Saturday, when not a holiday.
    pub saturday: Option<Span>,
    /// Sundays and public holidays.
    pub sunday_and_holidays: Option<Span>,
}

/// Open from `open` (inclusive) to `close` (exclusive), local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// Opening time.
    pub open: Time,
    /// Closing time.
    pub close: Time,
}

impl Span {
    const fn new(open_hour: i8, close_hour: i8) -> Span {
        Span {
            open: Time::constant(open_hour, 0, 0, 0),
            close: Time::constant(close_hour, 0, 0, 0),
        }
    }
}

/// A city, its department, and its number of counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityCounters {
    /// City name as written locally (`Bogotá`).
    pub city: String,
    /// Department (`Bogotá D.C.`, `Antioquia`).
    pub department: String,
    /// Three-letter code used in counter ids (`BOG`).
    pub code: String,
    /// Counters in the city.
    pub counters: u32,
}

const HOUR_SECONDS: i64 = 3_600;
const DAY_SECONDS: i64 = 24 * HOUR_SECONDS;

/// Colombian cities with a realistic spread of counters (more where more people live).
fn colombian_cities(scale_percent: u32) -> Vec<CityCounters> {
    const CITIES: [(&str, &str, &str, u32); 20] = [
        ("Bogotá", "Bogotá D.C.", "BOG", 8),
        ("Medellín", "Antioquia", "MED", 5),
        ("Cali", "Valle del Cauca", "CLO", 5),
        ("Barranquilla", "Atlántico", "BAQ", 4),
        ("Cartagena", "Bolívar", "CTG", 3),
        ("Bucaramanga", "Santander", "BGA", 3),
        ("Cúcuta", "Norte de Santander", "CUC", 3),
        ("Pereira", "Risaralda", "PEI", 2),
        ("Manizales", "Caldas", "MZL", 2),
        ("Ibagué", "Tolima", "IBE", 2),
        ("Santa Marta", "Magdalena", "SMR", 2),
        ("Villavicencio", "Meta", "VVC", 2),
        ("Pasto", "Nariño", "PSO", 2),
        ("Montería", "Córdoba", "MTR", 2),
        ("Neiva", "Huila", "NVA", 1),
        ("Armenia", "Quindío", "AXM", 1),
        ("Popayán", "Cauca", "PPN", 1),
        ("Valledupar", "Cesar", "VUP", 1),
        ("Tunja", "Boyacá", "TUN", 1),
        ("Quibdó", "Chocó", "UIB", 1),
    ];
    CITIES
        .iter()
        .map(|&(city, department, code, counters)| CityCounters {
            city: city.into(),
            department: department.into(),
            code: code.into(),
            counters: (counters * scale_percent / 100).max(1),
        })
        .collect()
}

impl NetworkProfile {
    /// Efecty: 8-digit codes, convenio 111571, COP 1,000–6,000,000; counters Mon–Fri
    /// 08–18, Sat 08–13, extended points 08–22 every day (cash-networks.md).
    pub fn efecty() -> NetworkProfile {
        NetworkProfile {
            name: "efecty".into(),
            display_name: "Efecty".into(),
            counter_prefix: "EF".into(),
            payment_code_digits: 8,
            pickup_code_digits: 10,
            agreement_code: "111571".into(),
            gln: "7709998000018".into(),
            nit: "8301319931".into(),
            collector_code: "000".into(),
            collection_amount_min: network::EFECTY.collection.min,
            collection_amount_max: network::EFECTY.collection.max,
            payout_amount_min: network::EFECTY.payout.min,
            payout_amount_max: network::EFECTY.payout.max,
            collection_validity_seconds_default: 3 * DAY_SECONDS,
            collection_validity_seconds_min: HOUR_SECONDS,
            collection_validity_seconds_max: 7 * DAY_SECONDS,
            payout_validity_seconds_default: 7 * DAY_SECONDS,
            payout_validity_seconds_min: HOUR_SECONDS,
            payout_validity_seconds_max: 30 * DAY_SECONDS,
            wrong_code_attempts_max: 3,
            activation_windows: Vec::new(),
            discontinued_on: None,
            regular_hours: WeeklyHours {
                weekdays: Some(Span::new(8, 18)),
                saturday: Some(Span::new(8, 13)),
                sunday_and_holidays: None,
            },
            extended_hours: WeeklyHours {
                weekdays: Some(Span::new(8, 22)),
                saturday: Some(Span::new(8, 22)),
                sunday_and_holidays: Some(Span::new(8, 22)),
            },
            cities: colombian_cities(100),
            extended_every: 3,
            counter_cash_initial: 20_000_000,
        }
    }

    /// SuRed: 10-digit codes, online confirmation, COP 1,000–4,000,000.
    pub fn sured() -> NetworkProfile {
        NetworkProfile {
            name: "sured".into(),
            display_name: "SuRed".into(),
            counter_prefix: "SR".into(),
            payment_code_digits: 10,
            agreement_code: "230117".into(),
            gln: "7709998111110".into(),
            nit: "8110108421".into(),
            collection_amount_min: network::SURED.collection.min,
            collection_amount_max: network::SURED.collection.max,
            payout_amount_min: network::SURED.payout.min,
            payout_amount_max: network::SURED.payout.max,
            cities: colombian_cities(50),
            ..NetworkProfile::efecty()
        }
    }

    /// Vía Baloto as it worked until it stopped on 24 May 2022: codes payable only from the
    /// next of four daily activation windows, about 5 days' validity, exact amount.
    pub fn baloto() -> NetworkProfile {
        NetworkProfile {
            name: "baloto".into(),
            display_name: "Vía Baloto (descontinuado)".into(),
            counter_prefix: "VB".into(),
            payment_code_digits: 10,
            agreement_code: "950110".into(),
            gln: "7709998222229".into(),
            nit: "8300373307".into(),
            collection_validity_seconds_default: 5 * DAY_SECONDS,
            collection_validity_seconds_max: 5 * DAY_SECONDS,
            activation_windows: vec![
                Time::constant(6, 0, 0, 0),
                Time::constant(10, 0, 0, 0),
                Time::constant(14, 0, 0, 0),
                Time::constant(18, 0, 0, 0),
            ],
            discontinued_on: Some(Date::constant(2022, 5, 24)),
            cities: colombian_cities(30),
            ..NetworkProfile::efecty()
        }
    }
}

impl Default for NetworkProfile {
    fn default() -> Self {
        NetworkProfile::efecty()
    }
}

/// A merchant enrolled with the network.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantConfig {
    /// The merchant's id at the network (sent as `Sim-Merchant`).
    pub id: String,
    /// Shared secret for request and callback signatures.
    pub secret: String,
    /// Where callbacks go; `None`: none are sent (they are still recorded).
    #[serde(default)]
    pub callback_url: Option<String>,
    /// The merchant's NIT with check digit (10 digits), for its settlement files.
    #[serde(default = "default_merchant_nit")]
    pub nit: String,
    /// The account the network credits, for its settlement files.
    #[serde(default = "default_account")]
    pub account_number: String,
    /// Its dLocal credentials, to be reached in dLocal's dialect (`/dlocal`).
    #[serde(default)]
    pub dlocal: Option<crate::dialect::dlocal::Credentials>,
    /// Its PayU Latam credentials, to be reached in PayU's dialect (`/payu`).
    #[serde(default)]
    pub payu: Option<crate::dialect::payu::Credentials>,
    /// Its Kushki credentials, to be reached in Kushki's dialect (`/kushki`).
    #[serde(default)]
    pub kushki: Option<crate::dialect::kushki::Credentials>,
}

impl std::fmt::Debug for MerchantConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantConfig")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .field("callback_url", &self.callback_url)
            .finish_non_exhaustive()
    }
}

fn default_merchant_nit() -> String {
    "9001234568".into()
}

fn default_account() -> String {
    "00000000012345678".into()
}

impl MerchantConfig {
    /// The merchant every default configuration has, for demos: `demo` / `demo-secret`.
    pub fn demo() -> MerchantConfig {
        MerchantConfig {
            id: "demo".into(),
            secret: "demo-secret".into(),
            callback_url: None,
            nit: default_merchant_nit(),
            account_number: default_account(),
            dlocal: None,
            payu: None,
            kushki: None,
        }
    }
}

/// The simulated clock: real time plus an offset, or frozen at a start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockConfig {
    /// Simulated time at start; `None`: the host's time.
    pub start: Option<Timestamp>,
    /// Frozen clocks move only when advanced over the API (deterministic tests).
    pub frozen: bool,
    /// On a restart from a database, the advances made before (`POST /sim/v1/clock/advance`)
    /// are applied again on top of `start`. An embedding process that passes its own clock as
    /// `start` turns this off: its clock already says where time is.
    pub resume_advances: bool,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            start: None,
            frozen: false,
            resume_advances: true,
        }
    }
}

/// Fault knobs. Shares are basis points (0 = never, 10 000 = always).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every network API response.
    pub latency_ms: u64,
    /// Share of creates refused with 503 before anything is created.
    pub create_unavailable_bps: u16,
    /// Share of creates that create the order, then hang `timeout_ms` and answer 504.
    pub create_timeout_bps: u16,
    /// How long a timed-out create hangs.
    pub timeout_ms: u64,
    /// Share of callbacks never sent.
    pub callback_drop_bps: u16,
    /// Share of callbacks delivered twice (same id).
    pub callback_duplicate_bps: u16,
    /// Share of callbacks held back `callback_delay_ms`.
    pub callback_delay_bps: u16,
    /// How long delayed callbacks wait.
    pub callback_delay_ms: u64,
    /// Share of callbacks held until the merchant's next callback has gone out.
    pub callback_reorder_bps: u16,
    /// Share of settlement-file lines left out.
    pub settlement_missing_line_bps: u16,
    /// Share of settlement-file lines whose amount is changed by `settlement_amount_delta`.
    pub settlement_changed_amount_bps: u16,
    /// Pesos added to a changed settlement line.
    pub settlement_amount_delta: i64,
    /// Share of settlement-file lines written twice.
    pub settlement_duplicate_line_bps: u16,
    /// Networks taken down (codes of [`SimConfig::networks`]): while one is listed, every
    /// network API request about it answers 503 at once and does nothing, its counters refuse
    /// with `system_unavailable`, and its callbacks wait until it is back.
    pub down: Vec<String>,
}

impl Faults {
    /// Whether `network` is taken down.
    pub fn is_down(&self, network: &str) -> bool {
        self.down.iter().any(|n| n == network)
    }
}

/// Simulated customers and beneficiaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutopilotConfig {
    /// Off by default: tests decide who pays.
    pub enabled: bool,
    /// Share of vouchers paid, basis points.
    pub collection_pay_bps: u16,
    /// Share of payouts collected, basis points.
    pub payout_collect_bps: u16,
    /// Shortest delay between creation and the counter visit.
    pub delay_seconds_min: i64,
    /// Longest delay.
    pub delay_seconds_max: i64,
}

impl Default for AutopilotConfig {
    fn default() -> Self {
        AutopilotConfig {
            enabled: false,
            collection_pay_bps: 7_000,
            payout_collect_bps: 9_000,
            delay_seconds_min: 60,
            delay_seconds_max: 36 * HOUR_SECONDS,
        }
    }
}

/// Callback delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallbackConfig {
    /// Deliver in the background; off, callbacks go out only on `POST /sim/v1/callbacks/flush`.
    pub worker: bool,
    /// Attempts before a callback is given up as `failed`: by default the whole retry
    /// schedule (`engine::retry_delay`: quick retries, then dLocal's hourly and 12-hourly
    /// ones, about four days in all). Beyond the schedule, attempts are 12 hours apart.
    pub attempts_max: u32,
    /// Divides every retry delay: `3600` plays an hour of the schedule in a second (tests,
    /// demos). Advancing the simulated clock also brings retries forward.
    pub retry_speedup: u32,
    /// Timeout of one delivery.
    pub timeout_ms: u64,
}

impl Default for CallbackConfig {
    fn default() -> Self {
        CallbackConfig {
            worker: true,
            attempts_max: crate::engine::CALLBACK_ATTEMPTS_MAX,
            retry_speedup: 1,
            timeout_ms: 10_000,
        }
    }
}
