//! The customer's pages: the voucher (`/v/<token>`, `/v/<token>.pdf`) and the pick-up
//! instructions (`/p/<token>`, `/p/<token>.pdf`). Public by design: the unguessable token is the capability, and
//! the pages show only what the customer needs — never the merchant's internals, never a full
//! document number.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cajero_domain::lifecycle::{PayinStatus, PayoutStatus};
use cajero_pages::{
    CounterView, DocumentHint, Lang, PickupStatus, PickupView, VoucherStatus, VoucherView,
};
use cajero_store::{merchants, payins, payouts};
use serde::Deserialize;

use crate::AppState;

/// `?lang=en`.
#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// `GET /v/{token}` and `GET /v/{token}.pdf`.
pub async fn voucher(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = Lang::from_query(q.lang.as_deref());
    let (token, pdf) = match token.strip_suffix(".pdf") {
        Some(t) => (t.to_string(), true),
        None => (token, false),
    };
    let lookup = token.clone();
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(p) = payins::get_by_token(&mut c, &lookup).await? else {
                    return Ok(None);
                };
                let m = merchants::get_merchant(&mut c, p.merchant_id).await?;
                Ok::<_, cajero_store::StoreError>(Some((p, m.map(|m| m.name).unwrap_or_default())))
            })
        })
        .await;
    let (payin, merchant_name) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(lang),
        Err(e) => return failed(&format!("loading a voucher: {e}")),
    };
    let public_url = state.config.public_url();
    let view = VoucherView {
        amount: payin.amount.minor(),
        currency: payin.currency.code().to_string(),
        payment_code: payin.payment_code.clone(),
        agreement_code: payin.agreement_code.clone().unwrap_or_default(),
        network_name: network_name(&payin.network),
        barcode_data: payin.barcode_data.clone().unwrap_or_default(),
        expires_at: payin.expires_at,
        merchant_name,
        reference: payin
            .reference
            .clone()
            .unwrap_or_else(|| payin.id.to_string()),
        description: payin.description.clone(),
        page_url: format!("{public_url}/v/{token}"),
        pdf_url: Some(format!("{public_url}/v/{token}.pdf")),
        counters: counters(&state, &payin.network).await,
        status: match payin.status {
            // A held pay-in has no voucher row, hence no page; listed for completeness.
            PayinStatus::Pending | PayinStatus::OnHold => VoucherStatus::Pending,
            PayinStatus::Paid => VoucherStatus::Paid,
            PayinStatus::Expired => VoucherStatus::Expired,
            PayinStatus::Canceled => VoucherStatus::Canceled,
        },
    };
    if pdf {
        return match cajero_pages::render_voucher_pdf(&view) {
            Ok(bytes) => page(StatusCode::OK, "application/pdf", bytes),
            Err(e) => failed(&format!("rendering a voucher PDF: {e}")),
        };
    }
    match cajero_pages::render_voucher_html(&view, lang) {
        Ok(html) => page(
            StatusCode::OK,
            "text/html; charset=utf-8",
            html.into_bytes(),
        ),
        Err(e) => failed(&format!("rendering a voucher: {e}")),
    }
}

/// `GET /p/{token}`.
pub async fn pickup(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = Lang::from_query(q.lang.as_deref());
    let (token, pdf) = match token.strip_suffix(".pdf") {
        Some(t) => (t.to_string(), true),
        None => (token, false),
    };
    let public_url = state.config.public_url();
    let pdf_url = format!("{public_url}/p/{token}.pdf");
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(p) = payouts::get_by_token(&mut c, &token).await? else {
                    return Ok(None);
                };
                let m = merchants::get_merchant(&mut c, p.merchant_id).await?;
                Ok::<_, cajero_store::StoreError>(Some((p, m.map(|m| m.name).unwrap_or_default())))
            })
        })
        .await;
    let (payout, merchant_name) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(lang),
        Err(e) => return failed(&format!("loading a pick-up: {e}")),
    };
    let name = payout.beneficiary["name"].as_str().unwrap_or_default();
    let number = payout.beneficiary["document"]["number"]
        .as_str()
        .unwrap_or_default();
    let view = PickupView {
        amount: payout.amount.minor(),
        currency: payout.currency.code().to_string(),
        pickup_code: payout.pickup_code.clone().unwrap_or_default(),
        beneficiary_first_name: name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
        document_type: payout.beneficiary["document"]["type"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        document_hint: DocumentHint::from_full_number(number),
        merchant_name,
        expires_at: payout.expires_at.unwrap_or(payout.created_at),
        network_name: network_name(&payout.network),
        counters: counters(&state, &payout.network).await,
        status: match payout.status {
            PayoutStatus::Pending => PickupStatus::Pending,
            PayoutStatus::OnHold => PickupStatus::OnHold,
            PayoutStatus::Available => PickupStatus::Available,
            PayoutStatus::Paid => PickupStatus::Paid,
            PayoutStatus::Expired => PickupStatus::Expired,
            PayoutStatus::Canceled => PickupStatus::Canceled,
            PayoutStatus::Failed => PickupStatus::Failed,
        },
        pdf_url: Some(pdf_url),
    };
    if pdf {
        return match cajero_pages::render_pickup_pdf(&view) {
            Ok(bytes) => page(StatusCode::OK, "application/pdf", bytes),
            Err(e) => failed(&format!("rendering a pick-up PDF: {e}")),
        };
    }
    match cajero_pages::render_pickup_html(&view, lang) {
        Ok(html) => page(
            StatusCode::OK,
            "text/html; charset=utf-8",
            html.into_bytes(),
        ),
        Err(e) => failed(&format!("rendering a pick-up page: {e}")),
    }
}

fn network_name(code: &str) -> String {
    match code {
        "efecty" => "Efecty".into(),
        "sured" => "SuRed".into(),
        "baloto" => "Vía Baloto".into(),
        other => other.to_string(),
    }
}

/// Counters of the network from its directory (the simulator's, in test mode); none when the
/// directory cannot be reached — the page still shows everything else.
async fn counters(state: &AppState, network: &str) -> Vec<CounterView> {
    let Some(sim) = state.networks.sim() else {
        return Vec::new();
    };
    match sim.counters(Some(network), Some("Bogotá"), None).await {
        Ok(list) => list
            .into_iter()
            .take(cajero_pages::COUNTERS_SHOWN_MAX)
            .map(|c| CounterView {
                name: c.id,
                address: c.address,
                city: c.city,
                hours: format!("Lun–Vie {}; Sáb {}", c.hours_weekdays, c.hours_saturday),
                extended_hours: c.extended_hours,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "counter directory unavailable for a page");
            Vec::new()
        }
    }
}

/// A page response: never cached, never indexed, and never sending its (secret) URL onwards.
fn page(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn not_found(lang: Lang) -> Response {
    match cajero_pages::render_not_found_html(lang) {
        Ok(html) => page(
            StatusCode::NOT_FOUND,
            "text/html; charset=utf-8",
            html.into_bytes(),
        ),
        Err(e) => failed(&format!("rendering the not-found page: {e}")),
    }
}

fn failed(detail: &str) -> Response {
    tracing::error!(detail, "a customer page failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/html; charset=utf-8",
        b"<!doctype html><title>Error</title><p>Lo sentimos, intenta de nuevo en unos minutos.</p>"
            .to_vec(),
    )
}
