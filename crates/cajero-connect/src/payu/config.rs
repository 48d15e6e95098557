//! How a PayU Latam connector is configured (`[[networks]]` with `kind = "payu"`).

use std::fmt;

use serde::Deserialize;

use super::codes;
use super::signing::SignatureAlgorithm;
use super::{CONNECT_TIMEOUT_MS_DEFAULT, REDACTED, REQUEST_TIMEOUT_MS_DEFAULT};
use crate::http;

/// The merchant's contact data PayU requires on every payment (buyer and payer e-mail, phone
/// and address, the client's IP) that cajero does not have per customer: the merchant's own.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayuContact {
    /// E-mail PayU sends the voucher to.
    pub email: String,
    /// Contact phone.
    pub phone: String,
    /// Address line.
    pub street1: String,
    /// City.
    pub city: String,
    /// Department.
    pub state: String,
    /// Postal code.
    #[serde(default)]
    pub postal_code: String,
    /// `ipAddress` of the payment (required by PayU): the server's public address.
    #[serde(default = "default_ip")]
    pub ip_address: String,
}

fn default_ip() -> String {
    "127.0.0.1".into()
}

/// How to reach PayU Latam and who we are there (`[[networks]]` with `kind = "payu"`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayuConfig {
    /// `https://api.payulatam.com` (production), `https://sandbox.api.payulatam.com`, or a
    /// simulator's `http://127.0.0.1:7070/payu`; the APIs' paths are appended.
    pub base_url: String,
    /// The merchant id (in the account creation e-mail): signs requests and confirmations.
    pub merchant_id: String,
    /// The Colombian account's id (`accountId`).
    pub account_id: String,
    /// API login.
    pub api_login: String,
    /// API key (secret: never printed, never in evidence).
    pub api_key: String,
    /// How the account's confirmations are signed.
    #[serde(default)]
    pub confirmation_signature: SignatureAlgorithm,
    /// The secret key of HMAC-SHA256 confirmations (secret).
    #[serde(default)]
    pub confirmation_hmac_key: Option<String>,
    /// Cash networks to collect at: `efecty`, `sured` (both by default).
    #[serde(default = "default_networks")]
    pub networks: Vec<String>,
    /// `test` flag of every request (`true` against the sandbox).
    #[serde(default)]
    pub test: bool,
    /// Language of requests and PayU's e-mails.
    #[serde(default = "default_language")]
    pub language: String,
    /// The order description: this, a space and our reference.
    #[serde(default = "default_description")]
    pub description_prefix: String,
    /// The merchant's contact data, sent as buyer's and payer's.
    pub contact: PayuContact,
    /// Total time of one exchange.
    #[serde(default = "http::request_timeout_ms_default")]
    pub request_timeout_ms: u64,
    /// Time to connect.
    #[serde(default = "http::connect_timeout_ms_default")]
    pub connect_timeout_ms: u64,
    /// Sent as every order's `notifyUrl`: `{public_url}/callbacks/{name}`. `None`: the
    /// confirmation URL configured in the PayU module.
    #[serde(default)]
    pub notification_url: Option<String>,
    /// Where the day's Sales Report can be fetched (PayU offers it in its module only);
    /// `None`: `settlement_file` answers `report_not_available`.
    #[serde(default)]
    pub sales_report_url: Option<String>,
}

fn default_networks() -> Vec<String> {
    codes::CASH_METHODS
        .iter()
        .map(|m| m.network.to_owned())
        .collect()
}
fn default_language() -> String {
    "es".into()
}
fn default_description() -> String {
    "Pago".into()
}

impl PayuConfig {
    /// A configuration with the defaults for everything but the credentials and contact.
    pub fn new(
        base_url: impl Into<String>,
        merchant_id: impl Into<String>,
        account_id: impl Into<String>,
        api_login: impl Into<String>,
        api_key: impl Into<String>,
        contact: PayuContact,
    ) -> PayuConfig {
        PayuConfig {
            base_url: base_url.into(),
            merchant_id: merchant_id.into(),
            account_id: account_id.into(),
            api_login: api_login.into(),
            api_key: api_key.into(),
            confirmation_signature: SignatureAlgorithm::Md5,
            confirmation_hmac_key: None,
            networks: default_networks(),
            test: false,
            language: default_language(),
            description_prefix: default_description(),
            contact,
            request_timeout_ms: REQUEST_TIMEOUT_MS_DEFAULT,
            connect_timeout_ms: CONNECT_TIMEOUT_MS_DEFAULT,
            notification_url: None,
            sales_report_url: None,
        }
    }

    /// The secrets, to scrub from any text that leaves the connector.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        let mut secrets = vec![self.api_key.as_str()];
        if let Some(key) = &self.confirmation_hmac_key {
            secrets.push(key);
        }
        secrets.retain(|s| !s.is_empty());
        secrets
    }
}

impl fmt::Debug for PayuConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayuConfig")
            .field("base_url", &self.base_url)
            .field("merchant_id", &self.merchant_id)
            .field("account_id", &self.account_id)
            .field("api_login", &self.api_login)
            .field("api_key", &REDACTED)
            .field("confirmation_signature", &self.confirmation_signature)
            .field(
                "confirmation_hmac_key",
                &self.confirmation_hmac_key.as_ref().map(|_| REDACTED),
            )
            .field("networks", &self.networks)
            .field("test", &self.test)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("notification_url", &self.notification_url)
            .field("sales_report_url", &self.sales_report_url)
            .finish_non_exhaustive()
    }
}
