//! The voucher (`/v/<token>.pdf`) and the pick-up (`/p/<token>.pdf`) as one-page PDFs, in
//! Spanish for the counter. Built-in
//! Helvetica with WinAnsi text (no embedded font), the barcode bars and QR modules as filled
//! rectangles, uncompressed so the text stays searchable and the file stays small.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::i18n::{self, Notice};
use crate::svg::dark_runs;
use crate::{
    COUNTERS_SHOWN_MAX, CounterView, Lang, PagesError, PickupStatus, PickupView, VoucherStatus,
    VoucherView, format, model, qr, winansi,
};

/// US Letter ("carta", the usual office paper in Colombia), in points.
const PAGE_WIDTH_PT: f32 = 612.0;
const PAGE_HEIGHT_PT: f32 = 792.0;
/// Margins keep the content inside A4's narrower width (595 pt) too.
const MARGIN_PT: f32 = 54.0;
const CONTENT_WIDTH_PT: f32 = PAGE_WIDTH_PT - 2.0 * MARGIN_PT;
/// Narrowest bar: 0.9 pt is about 0.32 mm, a comfortable X-dimension for counter scanners.
const BARCODE_MODULE_PT_MAX: f32 = 0.9;
const BARCODE_HEIGHT_PT: f32 = 56.0;
const QR_SIDE_PT: f32 = 104.0;
/// Counters in the PDF: two rows of two fit below the instructions.
const PDF_COUNTERS_MAX: usize = 4;

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// The voucher as a one-page PDF, in Spanish (what the cashier reads). A voucher that is no
/// longer payable gets a page with its notice and no barcode.
pub fn render_voucher_pdf(view: &VoucherView) -> Result<Vec<u8>, PagesError> {
    let lang = Lang::Es;
    let mut page = Page::new();
    let merchant = view.merchant_name.as_str();
    let notice = match view.status {
        VoucherStatus::Pending => None,
        VoucherStatus::Paid => Some(Notice::VoucherPaid),
        VoucherStatus::Expired => Some(Notice::VoucherExpired { merchant }),
        VoucherStatus::Canceled => Some(Notice::VoucherCanceled { merchant }),
    };
    let title = if let Some(notice) = notice {
        page.notice(&view.network_name, lang, notice)
    } else {
        draw_voucher(&mut page, view, lang)?;
        format!("Recibo {} {}", view.network_name, view.payment_code)
    };
    Ok(page.finish(&title))
}

/// The pick-up as a one-page PDF, in Spanish, for a beneficiary to print or show at the
/// counter: amount, code, expiry, what to bring and the steps. A pick-up that cannot be
/// collected any more gets a page with its notice and no code.
pub fn render_pickup_pdf(view: &PickupView) -> Result<Vec<u8>, PagesError> {
    let lang = Lang::Es;
    let mut page = Page::new();
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
    let title = if let Some(notice) = notice {
        page.notice(&view.network_name, lang, notice)
    } else {
        draw_pickup(&mut page, view, lang)?;
        format!(
            "Giro {} {}",
            view.network_name,
            format::group_code(&view.pickup_code)
        )
    };
    Ok(page.finish(&title))
}

fn draw_pickup(page: &mut Page, view: &PickupView, lang: Lang) -> Result<(), PagesError> {
    let t = i18n::texts(lang);
    let left = MARGIN_PT;
    let merchant = view.merchant_name.as_str();
    let amount = format::money(view.amount, &view.currency)?;
    let code = format::group_code(&view.pickup_code);
    let local = format::bogota(view.expires_at, lang)?;
    let document = i18n::document_name(lang, &view.document_type);
    let hint = view.document_hint.as_ref().map(|h| h.last_chars());
    let facts = i18n::Facts {
        network: &view.network_name,
        agreement: "",
        code: &code,
        amount: &amount,
        merchant,
    };

    page.text(BOLD, 14.0, left, 738.0, &view.network_name);
    page.text(BOLD, 18.0, left, 712.0, t.pickup_heading);
    let greeting = i18n::pickup_greeting(lang, &view.beneficiary_first_name, merchant);
    let mut y = page.paragraph(11.0, 694.0, &greeting);

    let box_height = 112.0;
    let box_top = y - 4.0;
    page.frame(left, box_top - box_height, CONTENT_WIDTH_PT, box_height);
    let inner = left + 14.0;
    page.label(inner, box_top - 18.0, t.pickup_amount_label);
    page.text(
        BOLD,
        24.0,
        inner,
        box_top - 42.0,
        &format!("{amount} {}", view.currency),
    );
    page.label(inner, box_top - 64.0, t.pickup_code_label);
    page.text(BOLD, 24.0, inner, box_top - 90.0, &code);
    y = box_top - box_height - 24.0;

    let expiry = i18n::pickup_expiry(lang, &local.date, &local.time);
    y = page.paragraph_at(12.0, left, y, CONTENT_WIDTH_PT, &expiry) - 10.0;

    page.text(BOLD, 12.0, left, y, t.bring_heading);
    y -= 16.0;
    for item in i18n::pickup_bring(lang, &document, hint) {
        page.text(REGULAR, 10.0, left, y, "•");
        y = page.paragraph_at(10.0, left + 14.0, y, CONTENT_WIDTH_PT - 14.0, &item) - 3.0;
    }

    y -= 8.0;
    page.text(BOLD, 12.0, left, y, t.pickup_steps_heading);
    y -= 16.0;
    for (i, step) in i18n::pickup_steps(lang, &facts, &document)
        .iter()
        .enumerate()
    {
        page.text(REGULAR, 10.0, left, y, &format!("{}.", i + 1));
        y = page.paragraph_at(10.0, left + 14.0, y, CONTENT_WIDTH_PT - 14.0, step) - 3.0;
    }
    y -= 6.0;
    y = page.paragraph_at(10.0, left, y, CONTENT_WIDTH_PT, t.code_secret) - 6.0;
    draw_counters(page, &view.counters, y, lang);
    Ok(())
}

/// The nearest counters in two columns from baseline `y` down.
fn draw_counters(page: &mut Page, counters: &[CounterView], mut y: f32, lang: Lang) {
    let t = i18n::texts(lang);
    let left = MARGIN_PT;
    let counters = &counters[..counters.len().min(PDF_COUNTERS_MAX.min(COUNTERS_SHOWN_MAX))];
    if counters.is_empty() || y < MARGIN_PT + 60.0 {
        return;
    }
    y -= 8.0;
    page.text(BOLD, 12.0, left, y, t.counters_heading);
    y -= 15.0;
    let column_width = CONTENT_WIDTH_PT / 2.0;
    for row in counters.chunks(2) {
        if y < MARGIN_PT + 24.0 {
            break;
        }
        for (col, c) in row.iter().enumerate() {
            let x = left + col as f32 * column_width;
            let name = if c.extended_hours {
                format!("{} ({})", c.name, t.extended_hours)
            } else {
                c.name.clone()
            };
            page.text(BOLD, 9.5, x, y, &name);
            page.text(
                REGULAR,
                9.0,
                x,
                y - 12.0,
                &format!("{}, {}", c.address, c.city),
            );
            page.text(REGULAR, 9.0, x, y - 24.0, &c.hours);
        }
        y -= 40.0;
    }
}

fn draw_voucher(page: &mut Page, view: &VoucherView, lang: Lang) -> Result<(), PagesError> {
    let t = i18n::texts(lang);
    let m = model::voucher(view, lang)?;
    let left = MARGIN_PT;

    page.text(BOLD, 14.0, left, 738.0, &view.network_name);
    page.text(BOLD, 18.0, left, 712.0, t.voucher_heading);
    let sub = match &view.description {
        Some(d) => format!("{} · {d}", view.merchant_name),
        None => view.merchant_name.clone(),
    };
    page.text(REGULAR, 11.0, left, 694.0, &sub);

    // The box with what the cashier asks for, and the QR code at its right.
    let (box_top, box_height) = (680.0, 128.0);
    page.frame(left, box_top - box_height, CONTENT_WIDTH_PT, box_height);
    let inner = left + 14.0;
    page.label(inner, 662.0, t.amount_label);
    page.text(
        BOLD,
        24.0,
        inner,
        638.0,
        &format!("{} {}", m.amount, view.currency),
    );
    page.label(inner, 616.0, t.code_label);
    page.text(BOLD, 24.0, inner, 592.0, &m.code);
    page.text(BOLD, 13.0, inner, 566.0, &m.agreement);
    let qr = qr::modules(&view.page_url)?;
    let qr_x = left + CONTENT_WIDTH_PT - QR_SIDE_PT - 12.0;
    page.qr(&qr, qr_x, box_top - box_height + 12.0, QR_SIDE_PT);

    page.text(BOLD, 12.0, left, 530.0, &m.expiry);

    if let Some(payload) = &m.payload {
        let modules = payload.modules()?;
        let quiet = crate::gs1::QUIET_ZONE_MODULES as usize;
        let module_pt =
            (CONTENT_WIDTH_PT / (modules.len() + 2 * quiet) as f32).min(BARCODE_MODULE_PT_MAX);
        let bars_width = modules.len() as f32 * module_pt;
        let bars_x = left + (CONTENT_WIDTH_PT - bars_width) / 2.0;
        page.bars(&modules, bars_x, 456.0, module_pt, BARCODE_HEIGHT_PT);
        page.centered(REGULAR, 9.0, 442.0, &payload.human_readable());
    }

    let mut y = 414.0;
    page.text(BOLD, 12.0, left, y, t.steps_heading);
    y -= 16.0;
    for (i, step) in m.steps.iter().enumerate() {
        page.text(REGULAR, 10.0, left, y, &format!("{}.", i + 1));
        y = page.paragraph_at(10.0, left + 14.0, y, CONTENT_WIDTH_PT - 14.0, step) - 3.0;
    }

    y -= 8.0;
    page.text(BOLD, 12.0, left, y, t.details_heading);
    y -= 15.0;
    for (label, value) in [
        (t.merchant_label, &view.merchant_name),
        (t.reference_label, &view.reference),
    ] {
        page.text(REGULAR, 10.0, left, y, &format!("{label}: {value}"));
        y -= 13.0;
    }

    draw_counters(page, &view.counters, y, lang);
    page.text(
        REGULAR,
        8.0,
        left,
        MARGIN_PT - 20.0,
        &i18n::pdf_footer(lang, &view.merchant_name),
    );
    Ok(())
}

/// One page's content stream and the drawing helpers it needs.
struct Page {
    content: Content,
}

impl Page {
    fn new() -> Page {
        Page {
            content: Content::new(),
        }
    }

    fn text(&mut self, font: Name<'_>, size: f32, x: f32, y: f32, text: &str) {
        let bytes = winansi::encode(text);
        self.content
            .set_fill_gray(0.0)
            .begin_text()
            .set_font(font, size)
            .next_line(x, y)
            .show(Str(&bytes))
            .end_text();
    }

    /// A page that only says why there is nothing to pay or collect; its heading.
    fn notice(&mut self, network: &str, lang: Lang, notice: Notice<'_>) -> String {
        let (heading, message, _) = i18n::notice(lang, notice);
        self.text(BOLD, 14.0, MARGIN_PT, 738.0, network);
        self.text(BOLD, 18.0, MARGIN_PT, 700.0, &heading);
        self.paragraph(11.0, 676.0, &message);
        heading
    }

    fn label(&mut self, x: f32, y: f32, text: &str) {
        let bytes = winansi::encode(&text.to_uppercase());
        self.content
            .set_fill_gray(0.35)
            .begin_text()
            .set_font(REGULAR, 8.0)
            .next_line(x, y)
            .show(Str(&bytes))
            .end_text();
    }

    fn centered(&mut self, font: Name<'_>, size: f32, y: f32, text: &str) {
        let x = MARGIN_PT + (CONTENT_WIDTH_PT - winansi::width_pt(text, size)) / 2.0;
        self.text(font, size, x.max(MARGIN_PT), y, text);
    }

    fn paragraph(&mut self, size: f32, y: f32, text: &str) -> f32 {
        self.paragraph_at(size, MARGIN_PT, y, CONTENT_WIDTH_PT, text)
    }

    /// Wrapped text from baseline `y` down; returns the baseline after the last line.
    fn paragraph_at(&mut self, size: f32, x: f32, mut y: f32, width: f32, text: &str) -> f32 {
        let leading = size * 1.3;
        for line in winansi::wrap(text, size, width) {
            self.text(REGULAR, size, x, y, &line);
            y -= leading;
        }
        y
    }

    fn frame(&mut self, x: f32, y: f32, width: f32, height: f32) {
        self.content
            .set_stroke_gray(0.0)
            .set_line_width(1.5)
            .rect(x, y, width, height)
            .stroke();
    }

    /// Bars of a 1D symbol, bottom-left at (`x`, `y`).
    fn bars(&mut self, modules: &[bool], x: f32, y: f32, module_pt: f32, height: f32) {
        self.content.set_fill_gray(0.0);
        for (start, len) in dark_runs(modules) {
            self.content.rect(
                x + start as f32 * module_pt,
                y,
                len as f32 * module_pt,
                height,
            );
        }
        self.content.fill_nonzero();
    }

    /// A QR symbol `side` points wide, bottom-left at (`x`, `y`), inside its own quiet zone.
    fn qr(&mut self, qr: &qr::QrModules, x: f32, y: f32, side: f32) {
        let quiet = qr::QR_QUIET_ZONE_MODULES as usize;
        let module_pt = side / (qr.side + 2 * quiet) as f32;
        let origin_x = x + quiet as f32 * module_pt;
        let top = y + side - quiet as f32 * module_pt;
        self.content.set_fill_gray(0.0);
        for (row_index, row) in qr.dark.chunks(qr.side.max(1)).enumerate() {
            let row_y = top - (row_index + 1) as f32 * module_pt;
            for (start, len) in dark_runs(row) {
                self.content.rect(
                    origin_x + start as f32 * module_pt,
                    row_y,
                    len as f32 * module_pt,
                    module_pt,
                );
            }
        }
        self.content.fill_nonzero();
    }

    fn finish(self, title: &str) -> Vec<u8> {
        let catalog_id = Ref::new(1);
        let page_tree_id = Ref::new(2);
        let page_id = Ref::new(3);
        let regular_id = Ref::new(4);
        let bold_id = Ref::new(5);
        let content_id = Ref::new(6);
        let info_id = Ref::new(7);

        let mut pdf = Pdf::new();
        pdf.catalog(catalog_id).pages(page_tree_id);
        pdf.pages(page_tree_id).kids([page_id]).count(1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH_PT, PAGE_HEIGHT_PT))
            .parent(page_tree_id)
            .contents(content_id);
        let mut resources = page.resources();
        resources
            .fonts()
            .pair(REGULAR, regular_id)
            .pair(BOLD, bold_id);
        resources.finish();
        page.finish();
        for (id, base) in [
            (regular_id, &b"Helvetica"[..]),
            (bold_id, b"Helvetica-Bold"),
        ] {
            pdf.type1_font(id)
                .base_font(Name(base))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.stream(content_id, &self.content.finish());
        pdf.document_info(info_id)
            .title(TextStr(title))
            .producer(TextStr("cajero"));
        pdf.finish()
    }
}
