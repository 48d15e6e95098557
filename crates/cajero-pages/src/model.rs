//! What the voucher says, computed once for both the HTML page and the PDF.

use crate::gs1::RecaudoPayload;
use crate::i18n::{self, Facts};
use crate::{Lang, PagesError, VoucherView, format};

/// The voucher's texts in one language, and its checked barcode.
#[derive(Debug)]
pub(crate) struct VoucherModel {
    pub amount: String,
    pub code: String,
    pub code_spoken: String,
    pub agreement: String,
    pub expiry: String,
    pub steps: Vec<String>,
    /// `None` for a network whose vouchers have no barcode.
    pub payload: Option<RecaudoPayload>,
}

/// Builds the voucher's texts and refuses a barcode that would collect another amount or pay
/// another reference than the page shows: a customer pays what the cashier scans.
pub(crate) fn voucher(view: &VoucherView, lang: Lang) -> Result<VoucherModel, PagesError> {
    let payload = match view.barcode_data.trim() {
        "" => None,
        text => Some(checked_payload(view, text)?),
    };
    let amount = format::money(view.amount, &view.currency)?;
    let code = format::group_code(&view.payment_code);
    let local = format::bogota(view.expires_at, lang)?;
    let steps = i18n::voucher_steps(
        lang,
        payload.is_some(),
        &Facts {
            network: &view.network_name,
            agreement: &view.agreement_code,
            code: &format::unbreakable(&code),
            amount: &format::unbreakable(&amount),
            merchant: &view.merchant_name,
        },
    );
    Ok(VoucherModel {
        code_spoken: format::spoken_code(&view.payment_code),
        agreement: i18n::agreement(lang, &view.agreement_code),
        expiry: i18n::voucher_expiry(lang, &local.date, &local.time),
        amount,
        code,
        steps,
        payload,
    })
}

fn checked_payload(view: &VoucherView, text: &str) -> Result<RecaudoPayload, PagesError> {
    let payload: RecaudoPayload = text.parse()?;
    if view.currency == "COP" && payload.amount() != view.amount {
        return Err(PagesError::BarcodeAmountMismatch {
            barcode: payload.amount(),
            voucher: view.amount,
        });
    }
    let code_digits = format::code_digits(&view.payment_code);
    if payload.reference() != code_digits {
        return Err(PagesError::BarcodeReferenceMismatch {
            barcode: payload.reference().to_owned(),
            voucher: code_digits,
        });
    }
    Ok(payload)
}
