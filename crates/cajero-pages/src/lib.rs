//! The pages a customer or a beneficiary sees: the pay-in voucher (HTML and a one-page PDF),
//! the cash pick-up instructions, and the "not found" page.
//!
//! Pure rendering: the server fills the plain view structs below from its records and serves
//! what these functions return. No I/O, no clock reads, no async. Every page is self-contained
//! (inline CSS and SVG, no JavaScript, no fonts or images fetched from elsewhere) and shows only
//! what the customer needs: no merchant internals, never a full document number.

#![forbid(unsafe_code)]

mod format;
pub mod gs1;
mod html;
mod i18n;
mod model;
mod pdf;
mod qr;
mod svg;
mod winansi;

pub use html::{render_not_found_html, render_pickup_html, render_voucher_html};
pub use pdf::{render_pickup_pdf, render_voucher_pdf};
pub use qr::qr_svg;
pub use svg::escape as escape_html;

use jiff::Timestamp;

/// The most counters a page lists: the nearest few are what a customer uses, and the voucher
/// must still print on one page.
pub const COUNTERS_SHOWN_MAX: usize = 5;

/// The language of a page. Spanish unless the customer asks for English.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lang {
    /// Spanish (Colombia), the default.
    #[default]
    Es,
    /// English.
    En,
}

impl Lang {
    /// The language for a `?lang=` query value: `en` (any case) is English, anything else,
    /// or nothing, Spanish.
    pub fn from_query(value: Option<&str>) -> Lang {
        match value {
            Some(v) if v.eq_ignore_ascii_case("en") => Lang::En,
            _ => Lang::Es,
        }
    }

    /// The BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Es => "es-CO",
            Lang::En => "en",
        }
    }
}

/// Where a pay-in voucher stands, as far as the customer is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoucherStatus {
    /// Waiting to be paid: the full voucher is shown.
    Pending,
    /// Paid: no barcode, so nobody pays twice.
    Paid,
    /// Expired: no barcode; the customer asks the merchant for a new one.
    Expired,
    /// Canceled by the merchant: no barcode.
    Canceled,
}

/// Where a cash pick-up stands, as far as the beneficiary is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickupStatus {
    /// Accepted, code not issued yet.
    Pending,
    /// Code issued: the full instructions are shown.
    Available,
    /// Collected.
    Paid,
    /// Not collected in time.
    Expired,
    /// Canceled by the sender.
    Canceled,
    /// The network refused it.
    Failed,
    /// Under compliance review.
    OnHold,
}

/// A counter (point of service) of the network, from its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterView {
    /// Counter name, e.g. "Efecty Calle 72".
    pub name: String,
    /// Street address.
    pub address: String,
    /// City or municipality.
    pub city: String,
    /// Opening hours as the network publishes them, e.g. "Lun–Vie 08:00–18:00, Sáb 08:00–13:00".
    pub hours: String,
    /// Open until late, Sundays and holidays included.
    pub extended_hours: bool,
}

/// Everything the voucher page and PDF show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherView {
    /// Amount in the currency's unit as cash networks count it (COP: whole pesos).
    pub amount: i64,
    /// ISO currency code in upper case: `COP` (or `USD`, in cents).
    pub currency: String,
    /// The payment code the customer says at the counter, e.g. `42807357` or `4280 7357`.
    pub payment_code: String,
    /// The network's agreement ("convenio") number, e.g. `111571`.
    pub agreement_code: String,
    /// The network's display name, e.g. `Efecty`.
    pub network_name: String,
    /// GS1-128 human-readable text:
    /// `(415)7709998000018(8020)42807357(3900)150000(96)20261128`; empty for a network whose
    /// vouchers carry no barcode (the page then shows the code alone).
    pub barcode_data: String,
    /// When the voucher stops being payable.
    pub expires_at: Timestamp,
    /// The merchant's public display name.
    pub merchant_name: String,
    /// The merchant's order reference, e.g. `order-1042`.
    pub reference: String,
    /// What is being paid, e.g. `Pedido 1042`.
    pub description: Option<String>,
    /// This page's own address (`https://host/v/<token>`): the QR code opens it on a phone.
    pub page_url: String,
    /// The PDF's address (`https://host/v/<token>.pdf`), linked from the page when given.
    pub pdf_url: Option<String>,
    /// Nearest counters first; at most [`COUNTERS_SHOWN_MAX`] are shown.
    pub counters: Vec<CounterView>,
    /// Where the voucher stands.
    pub status: VoucherStatus,
}

/// Everything the pick-up page shows to the beneficiary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupView {
    /// Amount to collect (COP: whole pesos).
    pub amount: i64,
    /// ISO currency code in upper case.
    pub currency: String,
    /// The pick-up code, e.g. `5821093744` or `5821 0937 44`.
    pub pickup_code: String,
    /// Only the first name: the page greets the beneficiary, nothing more.
    pub beneficiary_first_name: String,
    /// Document type code as in the API: `CC`, `CE`, `TI`, `NIT`, `PA`, `PPT`, `PEP`.
    pub document_type: String,
    /// The last digits of the document, so the beneficiary knows which one to bring.
    pub document_hint: Option<DocumentHint>,
    /// The sender's public display name.
    pub merchant_name: String,
    /// When the code stops being payable.
    pub expires_at: Timestamp,
    /// The network's display name.
    pub network_name: String,
    /// Nearest counters first; at most [`COUNTERS_SHOWN_MAX`] are shown.
    pub counters: Vec<CounterView>,
    /// Where the pick-up stands.
    pub status: PickupStatus,
    /// The PDF's address (`https://host/p/<token>.pdf`), linked from the page when given.
    pub pdf_url: Option<String>,
}

/// How many trailing characters of a document number a page may show.
pub const DOCUMENT_CHARS_SHOWN: usize = 3;

/// The only part of a document number a page may show: its last [`DOCUMENT_CHARS_SHOWN`]
/// characters. Built from the full number, which it does not keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentHint(String);

impl DocumentHint {
    /// Keeps the last [`DOCUMENT_CHARS_SHOWN`] letters or digits of `full_number`; `None` when
    /// the number is too short to hide anything.
    pub fn from_full_number(full_number: &str) -> Option<DocumentHint> {
        let kept: Vec<char> = full_number
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        if kept.len() <= DOCUMENT_CHARS_SHOWN * 2 {
            return None;
        }
        let tail: String = kept[kept.len() - DOCUMENT_CHARS_SHOWN..].iter().collect();
        Some(DocumentHint(tail))
    }

    /// The trailing characters.
    pub fn last_chars(&self) -> &str {
        &self.0
    }
}

/// Why a page could not be rendered. All of these are bugs or bad data upstream: the server
/// logs them and answers 500 without details.
#[derive(Debug, thiserror::Error)]
pub enum PagesError {
    /// The template engine failed.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    /// The barcode text is not a valid recaudo GS1-128 payload.
    #[error("barcode: {0}")]
    Barcode(#[from] gs1::Gs1Error),
    /// The barcode would collect a different amount than the voucher shows.
    #[error("the barcode amount {barcode} differs from the voucher amount {voucher}")]
    BarcodeAmountMismatch {
        /// Amount in (3900).
        barcode: i64,
        /// Amount in the view.
        voucher: i64,
    },
    /// The barcode would pay a different reference than the payment code shown.
    #[error("the barcode reference {barcode} differs from the payment code {voucher}")]
    BarcodeReferenceMismatch {
        /// Reference in (8020).
        barcode: String,
        /// Payment code digits in the view.
        voucher: String,
    },
    /// The QR code could not be built (data too long).
    #[error("QR code: {0}")]
    Qr(#[from] qrcode::types::QrError),
    /// A currency the pages cannot format.
    #[error("unsupported currency {currency:?}")]
    UnsupportedCurrency {
        /// The code received.
        currency: String,
    },
    /// The Bogotá time zone is missing from the bundled database.
    #[error("time zone: {0}")]
    TimeZone(String),
}
