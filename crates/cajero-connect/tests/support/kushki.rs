//! A simulator speaking Kushki on loopback, the production [`KushkiConnector`] pointed at it,
//! a control connector for the simulator's counters and clock, and a webhook receiver.

use cajero_connect::kushki::{KushkiConfig, KushkiConnector};
use cajero_connect::sim::SimConnector;
use cajero_connect::{Evidence, OrderKind};
use cajero_sim::config::{Faults, NetworkProfile, Span, WeeklyHours};
use cajero_sim::dialect::kushki::Credentials;
use cajero_sim::{MerchantConfig, SimConfig, SimHandle};
use jiff::Timestamp;
use jiff::civil::Time;

use super::support::{
    Received, assert_no_secret_in, control, count_orders, frozen_sim, spawn_receiver,
};

pub const MERCHANT: &str = "kushki-merchant";
pub const SIM_SECRET: &str = "kushki-sim-secret-3b9e";
pub const PUBLIC_ID: &str = "pub-4f1c9a7e2d";
pub const PRIVATE_ID: &str = "priv-8c2b6d0e91";
pub const WEBHOOK_KEY: &str = "whk-5a7d3e1f60";
/// Every secret the test configures: none may appear in evidence or errors.
pub const SECRETS: [&str; 4] = [SIM_SECRET, PUBLIC_ID, PRIVATE_ID, WEBHOOK_KEY];
/// A counter in Bogotá (open all day in this test's profile).
pub const COUNTER: &str = "EF-BOG-001";

pub struct KushkiFixture {
    pub sim: SimHandle,
    pub connector: KushkiConnector,
    pub control: SimConnector,
    pub received: Received,
    /// The simulated clock's start (the host's time at spawn, whole seconds): Kushki's
    /// `expirationDate` is absolute, so the simulated time starts at the host's.
    pub start: Timestamp,
}

fn all_day() -> WeeklyHours {
    let span = Span {
        open: Time::midnight(),
        close: Time::constant(23, 59, 59, 999_999_999),
    };
    WeeklyHours {
        weekdays: Some(span),
        saturday: Some(span),
        sunday_and_holidays: Some(span),
    }
}

/// A simulator frozen at the host's now, Efecty counters open all day, our merchant with
/// Kushki credentials; the connector with `lookup_by_reference` as asked.
pub async fn start(faults: Faults, request_timeout_ms: u64, lookup: bool) -> KushkiFixture {
    let received = Received::default();
    let receiver = spawn_receiver(received.clone()).await;
    let start = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let efecty = NetworkProfile {
        regular_hours: all_day(),
        extended_hours: all_day(),
        ..NetworkProfile::efecty()
    };
    let merchant = MerchantConfig {
        id: MERCHANT.into(),
        secret: SIM_SECRET.into(),
        callback_url: None,
        kushki: Some(Credentials {
            public_merchant_id: PUBLIC_ID.into(),
            private_merchant_id: PRIVATE_ID.into(),
            webhook_secret: WEBHOOK_KEY.into(),
        }),
        ..MerchantConfig::demo()
    };
    let sim = cajero_sim::spawn(SimConfig {
        networks: vec![efecty, NetworkProfile::sured()],
        ..frozen_sim(merchant, start, faults)
    })
    .await
    .unwrap();
    let config = KushkiConfig {
        payout_contact_email: Some("operaciones@cajero.example".into()),
        payout_contact_phone: Some("+573001234567".into()),
        request_timeout_ms,
        notification_url: Some(receiver),
        lookup_by_reference: lookup,
        ..KushkiConfig::new(
            format!("{}/kushki", sim.base_url()),
            PUBLIC_ID,
            PRIVATE_ID,
            WEBHOOK_KEY,
        )
    };
    let connector = KushkiConnector::new(config).unwrap();
    let control = control(&sim, MERCHANT, SIM_SECRET);
    KushkiFixture {
        sim,
        connector,
        control,
        received,
        start,
    }
}

impl KushkiFixture {
    /// How many orders of `kind` the simulator holds under `reference`.
    pub async fn orders_with_reference(&self, kind: OrderKind, reference: &str) -> usize {
        let kind = match kind {
            OrderKind::Collection => cajero_sim::model::OrderKind::Collection,
            OrderKind::Payout => cajero_sim::model::OrderKind::Payout,
        };
        count_orders(&self.sim, |o| o.kind == kind && o.reference == reference).await
    }

    /// Delivers every pending callback and answers (and forgets) what the receiver got.
    pub async fn delivered(&self) -> Vec<(Vec<(String, String)>, Vec<u8>)> {
        self.control.flush_callbacks(true).await.unwrap();
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

/// Panics if any configured secret is in `evidence` (request, response or operation).
pub fn assert_no_secret(evidence: &[Evidence]) {
    assert_no_secret_in(evidence, &SECRETS);
}

/// Every log line written by this test binary, at every level: the global subscriber, so
/// that every thread is seen (a thread-scoped one saw nothing when another test reached the
/// same log call sites first).
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static CAPTURED: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();

impl Logs {
    /// The capture, installed as the global subscriber the first time.
    pub fn capture() -> (Logs, ()) {
        let logs = CAPTURED.get_or_init(|| {
            let logs = Logs::default();
            let writer = logs.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .init();
            logs
        });
        (logs.clone(), ())
    }

    /// What was written.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
