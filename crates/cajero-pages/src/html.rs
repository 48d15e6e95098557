//! The HTML pages (askama templates in `templates/`, checked at compile time). Values reach
//! the templates already formatted; askama escapes them, except the SVGs we drew ourselves.

use askama::Template;

use crate::i18n::{self, Facts, Notice, Texts};
use crate::{
    COUNTERS_SHOWN_MAX, CounterView, Lang, PagesError, PickupStatus, PickupView, VoucherStatus,
    VoucherView, format, gs1, model, qr,
};

#[derive(Template)]
#[template(path = "voucher.html")]
struct VoucherPage<'a> {
    lang: &'static str,
    t: &'static Texts,
    title: String,
    network: &'a str,
    merchant_name: &'a str,
    description: Option<&'a str>,
    reference: &'a str,
    amount: String,
    currency: &'a str,
    code: String,
    code_spoken: String,
    agreement: String,
    expiry: String,
    /// The barcode SVG and its human-readable text, when the network prints one.
    barcode: Option<(String, String)>,
    qr_svg: String,
    steps: Vec<String>,
    counters: &'a [CounterView],
    pdf_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "pickup.html")]
struct PickupPage<'a> {
    lang: &'static str,
    t: &'static Texts,
    title: String,
    network: &'a str,
    greeting: String,
    amount: String,
    currency: &'a str,
    code: String,
    code_spoken: String,
    expiry: String,
    bring: Vec<String>,
    steps: Vec<String>,
    counters: &'a [CounterView],
    pdf_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage<'a> {
    lang: &'static str,
    t: &'static Texts,
    title: String,
    network: &'a str,
    heading: String,
    message: String,
    tone: &'static str,
}

fn nearest(counters: &[CounterView]) -> &[CounterView] {
    &counters[..counters.len().min(COUNTERS_SHOWN_MAX)]
}

/// The voucher page `/v/<token>`. A voucher that is no longer payable (paid, expired,
/// canceled) gets a notice without the barcode, so nobody pays it by mistake.
pub fn render_voucher_html(view: &VoucherView, lang: Lang) -> Result<String, PagesError> {
    let merchant = view.merchant_name.as_str();
    let notice = match view.status {
        VoucherStatus::Pending => None,
        VoucherStatus::Paid => Some(Notice::VoucherPaid),
        VoucherStatus::Expired => Some(Notice::VoucherExpired { merchant }),
        VoucherStatus::Canceled => Some(Notice::VoucherCanceled { merchant }),
    };
    if let Some(notice) = notice {
        return render_notice(lang, &view.network_name, notice);
    }
    let t = i18n::texts(lang);
    let m = model::voucher(view, lang)?;
    let page = VoucherPage {
        lang: lang.tag(),
        t,
        title: format!("{} · {} {}", t.voucher_heading, view.network_name, m.code),
        network: &view.network_name,
        merchant_name: merchant,
        description: view.description.as_deref(),
        reference: &view.reference,
        currency: &view.currency,
        code_spoken: m.code_spoken,
        agreement: m.agreement,
        expiry: m.expiry,
        barcode: match &m.payload {
            Some(p) => Some((gs1::barcode_svg(p)?, p.human_readable())),
            None => None,
        },
        qr_svg: qr::qr_svg(&view.page_url, t.qr_name)?,
        amount: m.amount,
        code: m.code,
        steps: m.steps,
        counters: nearest(&view.counters),
        pdf_url: view.pdf_url.as_deref(),
    };
    Ok(page.render()?)
}

/// The pick-up page `/p/<token>` for the beneficiary: what to bring, the code, where, and
/// until when. It greets by first name only and shows at most the last digits of the document.
pub fn render_pickup_html(view: &PickupView, lang: Lang) -> Result<String, PagesError> {
    let merchant = view.merchant_name.as_str();
    let notice = match view.status {
        PickupStatus::Available => None,
        PickupStatus::Pending => Some(Notice::PickupPending),
        PickupStatus::Paid => Some(Notice::PickupPaid),
        PickupStatus::Expired => Some(Notice::PickupExpired { merchant }),
        PickupStatus::Canceled => Some(Notice::PickupCanceled { merchant }),
        PickupStatus::Failed => Some(Notice::PickupFailed { merchant }),
        PickupStatus::OnHold => Some(Notice::PickupOnHold { merchant }),
    };
    if let Some(notice) = notice {
        return render_notice(lang, &view.network_name, notice);
    }
    let t = i18n::texts(lang);
    let amount = format::money(view.amount, &view.currency)?;
    let code = format::group_code(&view.pickup_code);
    let local = format::bogota(view.expires_at, lang)?;
    let document = i18n::document_name(lang, &view.document_type);
    let hint = view.document_hint.as_ref().map(|h| h.last_chars());
    let facts = Facts {
        network: &view.network_name,
        agreement: "",
        code: &format::unbreakable(&code),
        amount: &format::unbreakable(&amount),
        merchant,
    };
    let page = PickupPage {
        lang: lang.tag(),
        t,
        title: format!("{} · {}", t.pickup_heading, view.network_name),
        network: &view.network_name,
        greeting: i18n::pickup_greeting(lang, &view.beneficiary_first_name, merchant),
        currency: &view.currency,
        code_spoken: format::spoken_code(&view.pickup_code),
        expiry: i18n::pickup_expiry(lang, &local.date, &local.time),
        bring: i18n::pickup_bring(lang, &document, hint),
        steps: i18n::pickup_steps(lang, &facts, &document),
        counters: nearest(&view.counters),
        pdf_url: view.pdf_url.as_deref(),
        amount,
        code,
    };
    Ok(page.render()?)
}

/// The page for an unknown or malformed token (served with 404). It says nothing about
/// whether such a token ever existed.
pub fn render_not_found_html(lang: Lang) -> Result<String, PagesError> {
    render_notice(lang, "", Notice::NotFound)
}

fn render_notice(lang: Lang, network: &str, notice: Notice<'_>) -> Result<String, PagesError> {
    let (heading, message, tone) = i18n::notice(lang, notice);
    let page = NoticePage {
        lang: lang.tag(),
        t: i18n::texts(lang),
        title: heading.clone(),
        network,
        heading,
        message,
        tone: tone.class(),
    };
    Ok(page.render()?)
}
