//! A simulator with a merchant enrolled for PayU Latam's dialect, the production
//! `PayuConnector` pointed at it, and a receiver for its confirmations.

use std::sync::Arc;

use cajero_connect::payu::{PayuConfig, PayuConnector, PayuContact};
use cajero_connect::sim::{SimConnector, SimConnectorConfig};
use cajero_connect::{CreateVoucher, DocumentRef, Evidence};
use cajero_sim::config::{CallbackConfig, ClockConfig, Faults};
use cajero_sim::dialect::payu::Credentials;
use cajero_sim::{MerchantConfig, SimConfig, SimHandle};
use jiff::Timestamp;

use super::support::{MERCHANT, Received, SECRET, START, cop, spawn_receiver};

pub const PAYU_MERCHANT_ID: &str = "508029";
pub const PAYU_ACCOUNT_ID: &str = "512321";
pub const PAYU_API_LOGIN: &str = "pRRXKOl8ikMmt9u";
/// Secrets chosen so that a leak is unmistakable in any text.
pub const PAYU_API_KEY: &str = "payu-api-key-5e1c7b2d9f";
pub const PAYU_HMAC_KEY: &str = "payu-hmac-key-0a8d3f6e";

pub struct Payu {
    pub sim: SimHandle,
    pub connector: PayuConnector,
    /// The simulator's own connector, for its counter, clock and callback helpers.
    pub helpers: SimConnector,
    pub received: Received,
}

pub fn contact() -> PayuContact {
    PayuContact {
        email: "pagos@tienda.example".into(),
        phone: "6015550101".into(),
        street1: "Cra 7 # 71-21".into(),
        city: "Bogotá".into(),
        state: "Bogotá D.C.".into(),
        postal_code: "110231".into(),
        ip_address: "127.0.0.1".into(),
    }
}

/// A frozen simulator at [`START`] whose merchant has PayU credentials (confirmations signed
/// with `signature`), with `faults`, and the connector (reading the simulator's clock) with
/// `request_timeout_ms`.
pub async fn start_payu(
    faults: Faults,
    request_timeout_ms: u64,
    signature: cajero_connect::payu::SignatureAlgorithm,
) -> Payu {
    let received = Received::default();
    let callback_url = spawn_receiver(received.clone()).await;
    let sim_signature = match signature {
        cajero_connect::payu::SignatureAlgorithm::Md5 => {
            cajero_sim::dialect::payu::SignatureAlgorithm::Md5
        }
        cajero_connect::payu::SignatureAlgorithm::Sha256 => {
            cajero_sim::dialect::payu::SignatureAlgorithm::Sha256
        }
        cajero_connect::payu::SignatureAlgorithm::HmacSha256 => {
            cajero_sim::dialect::payu::SignatureAlgorithm::HmacSha256
        }
    };
    let sim = cajero_sim::spawn(SimConfig {
        merchants: vec![MerchantConfig {
            id: MERCHANT.into(),
            secret: SECRET.into(),
            callback_url: None,
            payu: Some(Credentials {
                merchant_id: PAYU_MERCHANT_ID.into(),
                account_id: PAYU_ACCOUNT_ID.into(),
                api_login: PAYU_API_LOGIN.into(),
                api_key: PAYU_API_KEY.into(),
                confirmation_signature: sim_signature,
                confirmation_hmac_key: Some(PAYU_HMAC_KEY.into()),
            }),
            ..MerchantConfig::demo()
        }],
        clock: ClockConfig {
            start: Some(START.parse().unwrap()),
            frozen: true,
            ..ClockConfig::default()
        },
        callbacks: CallbackConfig {
            worker: false,
            ..CallbackConfig::default()
        },
        faults,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut config = PayuConfig::new(
        format!("{}/payu", sim.base_url()),
        PAYU_MERCHANT_ID,
        PAYU_ACCOUNT_ID,
        PAYU_API_LOGIN,
        PAYU_API_KEY,
        contact(),
    );
    config.test = true;
    config.request_timeout_ms = request_timeout_ms;
    config.notification_url = Some(callback_url);
    config.sales_report_url = Some(format!("{}/payu/reports/sales", sim.base_url()));
    config.confirmation_signature = signature;
    config.confirmation_hmac_key = Some(PAYU_HMAC_KEY.into());
    let start: Timestamp = START.parse().unwrap();
    let connector = PayuConnector::new(config)
        .unwrap()
        .with_clock(Arc::new(move || start));
    let helpers =
        SimConnector::new(SimConnectorConfig::new(sim.base_url(), MERCHANT, SECRET)).unwrap();
    Payu {
        sim,
        connector,
        helpers,
        received,
    }
}

pub fn cash_voucher(network: &str, reference: &str, amount: i64) -> CreateVoucher {
    CreateVoucher {
        network: network.into(),
        reference: reference.into(),
        amount: cop(amount),
        customer_name: Some("Ana Gómez".into()),
        customer_document: Some(DocumentRef {
            kind: "CC".into(),
            number: "1020304050".into(),
        }),
        expires_in_seconds: 72 * 3_600,
        test_clock: None,
    }
}

/// No configured secret anywhere in `evidence`.
pub fn assert_no_secrets(evidence: &[Evidence]) {
    for e in evidence {
        for secret in [PAYU_API_KEY, PAYU_HMAC_KEY] {
            assert!(
                !e.request.contains(secret),
                "{}: {}",
                e.operation,
                e.request
            );
            assert!(
                !e.response.contains(secret),
                "{}: {}",
                e.operation,
                e.response
            );
        }
    }
}

impl Payu {
    /// Delivers every due confirmation now and answers what the receiver holds.
    pub async fn flushed(&self) -> Vec<(Vec<(String, String)>, Vec<u8>)> {
        self.helpers.flush_callbacks(true).await.unwrap();
        self.received.lock().unwrap().clone()
    }

    /// How many orders the simulator holds under `reference` (in-process count).
    pub async fn orders_under(&self, reference: &str) -> usize {
        let reference = reference.to_owned();
        self.sim
            .sim()
            .run(move |state, _| {
                state
                    .all_orders()
                    .filter(|o| o.reference == reference)
                    .count()
            })
            .await
            .unwrap()
    }
}
