//! A simulator with a merchant enrolled for PayU Latam's dialect, the production
//! `PayuConnector` pointed at it, and a receiver for its confirmations.

use std::sync::Arc;

use cajero_connect::payu::{PayuConfig, PayuConnector, PayuContact, SignatureAlgorithm};
use cajero_connect::sim::SimConnector;
use cajero_connect::{CreateVoucher, Evidence};
use cajero_sim::SimHandle;
use cajero_sim::config::Faults;
use cajero_sim::dialect::payu::{Credentials, SignatureAlgorithm as SimSignature};
use jiff::Timestamp;

use super::support::{
    MERCHANT, Received, START, assert_no_secret_in, count_orders, start_with, voucher,
};

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

/// The simulator connector's fixture (a frozen simulator at [`START`](super::support::START),
/// callbacks on flush, a receiver) with its merchant enrolled for PayU (confirmations signed with
/// `signature`), and the PayU connector (reading the simulator's clock, its orders confirmed at
/// the receiver through `notifyUrl`) with `request_timeout_ms`.
pub async fn start_payu(
    faults: Faults,
    request_timeout_ms: u64,
    signature: SignatureAlgorithm,
) -> Payu {
    let fixture = start_with(faults, request_timeout_ms).await;
    let credentials = Credentials {
        merchant_id: PAYU_MERCHANT_ID.into(),
        account_id: PAYU_ACCOUNT_ID.into(),
        api_login: PAYU_API_LOGIN.into(),
        api_key: PAYU_API_KEY.into(),
        confirmation_signature: match signature {
            SignatureAlgorithm::Md5 => SimSignature::Md5,
            SignatureAlgorithm::Sha256 => SimSignature::Sha256,
            SignatureAlgorithm::HmacSha256 => SimSignature::HmacSha256,
        },
        confirmation_hmac_key: Some(PAYU_HMAC_KEY.into()),
    };
    // Enrolled for PayU; its callbacks go only where each order says (`notifyUrl`).
    let receiver = fixture
        .sim
        .sim()
        .run(move |state, _| {
            let mut merchant = state.merchant(MERCHANT).unwrap().config.clone();
            let receiver = merchant.callback_url.take();
            merchant.payu = Some(credentials);
            state.upsert_merchant(merchant);
            receiver
        })
        .await
        .unwrap();
    let base_url = fixture.sim.base_url();
    let mut config = PayuConfig::new(
        format!("{base_url}/payu"),
        PAYU_MERCHANT_ID,
        PAYU_ACCOUNT_ID,
        PAYU_API_LOGIN,
        PAYU_API_KEY,
        contact(),
    );
    config.test = true;
    config.request_timeout_ms = request_timeout_ms;
    config.notification_url = receiver;
    config.sales_report_url = Some(format!("{base_url}/payu/reports/sales"));
    config.confirmation_signature = signature;
    config.confirmation_hmac_key = Some(PAYU_HMAC_KEY.into());
    let start: Timestamp = START.parse().unwrap();
    let connector = PayuConnector::new(config)
        .unwrap()
        .with_clock(Arc::new(move || start));
    Payu {
        sim: fixture.sim,
        connector,
        helpers: fixture.connector,
        received: fixture.received,
    }
}

/// The simulator connector tests' voucher, at `network`.
pub fn cash_voucher(network: &str, reference: &str, amount: i64) -> CreateVoucher {
    CreateVoucher {
        network: network.into(),
        ..voucher(reference, amount)
    }
}

/// No configured secret anywhere in `evidence`.
pub fn assert_no_secrets(evidence: &[Evidence]) {
    assert_no_secret_in(evidence, &[PAYU_API_KEY, PAYU_HMAC_KEY]);
}

impl Payu {
    /// Delivers every due confirmation now and answers what the receiver holds.
    pub async fn flushed(&self) -> Vec<(Vec<(String, String)>, Vec<u8>)> {
        self.helpers.flush_callbacks(true).await.unwrap();
        self.received.lock().unwrap().clone()
    }

    /// How many orders the simulator holds under `reference` (in-process count).
    pub async fn orders_under(&self, reference: &str) -> usize {
        count_orders(&self.sim, |o| o.reference == reference).await
    }
}
