//! A simulator with a merchant that has dLocal credentials, the production `DlocalConnector`
//! pointed at its `/dlocal` dialect, the simulator's own connector for the control and counter
//! endpoints, and a callback receiver.

use cajero_connect::dlocal::{DlocalConfig, DlocalConnector};
use cajero_connect::sim::SimConnector;
use cajero_connect::{Callback, Connector, Evidence, NetworkOrder};
use cajero_sim::config::Faults;
use cajero_sim::dialect::dlocal::Credentials;
use cajero_sim::{MerchantConfig, SimHandle};
use jiff::Timestamp;

pub use crate::support::voucher;
use crate::support::{
    Received, START, assert_no_secret_in, control, count_orders, frozen_sim, spawn_receiver,
};

pub const MERCHANT: &str = "cajero-dlocal";
/// The merchant's secret for the simulator's own API (control endpoints only).
pub const SIM_SECRET: &str = "sim-secret-for-dlocal-tests-4b1e";
pub const LOGIN: &str = "dlocal-login-9f3a7c";
pub const TRANS_KEY: &str = "dlocal-trans-key-2d8e51";
pub const SECRET_KEY: &str = "dlocal-secret-key-6c0b93f7";

pub struct Fixture {
    pub sim: SimHandle,
    pub connector: DlocalConnector,
    pub control: SimConnector,
    pub received: Received,
}

/// A simulator frozen at [`START`] (callbacks only on flush) with our merchant's dLocal
/// credentials and `faults`; the connector sends notifications to a receiver in this process.
pub async fn start_with(faults: Faults, request_timeout_ms: u64) -> Fixture {
    let received = Received::default();
    let callback_url = spawn_receiver(received.clone()).await;
    let merchant = MerchantConfig {
        id: MERCHANT.into(),
        secret: SIM_SECRET.into(),
        callback_url: None,
        dlocal: Some(Credentials {
            login: LOGIN.into(),
            trans_key: TRANS_KEY.into(),
            secret_key: SECRET_KEY.into(),
        }),
        ..MerchantConfig::demo()
    };
    let sim = cajero_sim::spawn(frozen_sim(merchant, START.parse().unwrap(), faults))
        .await
        .unwrap();
    let config = DlocalConfig {
        request_timeout_ms,
        notification_url: Some(callback_url),
        ..DlocalConfig::new(
            format!("{}/dlocal", sim.base_url()),
            LOGIN,
            TRANS_KEY,
            SECRET_KEY,
        )
    };
    let connector = DlocalConnector::new(config).unwrap();
    let control = control(&sim, MERCHANT, SIM_SECRET);
    Fixture {
        sim,
        connector,
        control,
        received,
    }
}

pub async fn start() -> Fixture {
    start_with(
        Faults::default(),
        cajero_connect::dlocal::REQUEST_TIMEOUT_MS_DEFAULT,
    )
    .await
}

impl Fixture {
    /// Delivers every due callback now and answers what the receiver holds.
    pub async fn flushed_callbacks(&self) -> Vec<(Vec<(String, String)>, Vec<u8>)> {
        self.control.flush_callbacks(true).await.unwrap();
        self.received.lock().unwrap().clone()
    }

    /// A voucher created through dLocal (which must succeed).
    pub async fn created(&self, reference: &str, amount: i64) -> NetworkOrder {
        let created = self
            .connector
            .create_voucher(&voucher(reference, amount))
            .await;
        assert_no_secret(&created.evidence);
        created.result.unwrap()
    }

    /// Flushes the network's callbacks, expects exactly one, and verifies it through dLocal.
    pub async fn the_one_callback(&self) -> Callback {
        let received = self.flushed_callbacks().await;
        assert_eq!(received.len(), 1, "one notification expected");
        let (headers, body) = &received[0];
        self.connector
            .verify_callback(headers, body, Timestamp::now())
            .unwrap()
    }

    /// How many orders the network holds under `reference` (in-process inspection).
    pub async fn orders_with_reference(&self, reference: &str) -> usize {
        count_orders(&self.sim, |o| {
            o.merchant_id == MERCHANT && o.reference == reference
        })
        .await
    }
}

/// Panics if any configured credential shows in `evidence`.
pub fn assert_no_secret(evidence: &[Evidence]) {
    assert_no_secret_in(evidence, &[LOGIN, TRANS_KEY, SECRET_KEY, SIM_SECRET]);
}
