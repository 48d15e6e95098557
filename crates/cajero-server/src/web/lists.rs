//! The lists beside pay-ins and payouts: refunds, events, balance transactions and
//! settlements (with each settlement's statement as CSV). Each reads the same store lists and
//! renders the same views as its `/v1` list, a page of [`super::PAGE_ROWS`] at a time, newest
//! first, under the session's merchant and mode.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use cajero_domain::id::{Event, Refund, Settlement, SettlementId, Transfer};

use cajero_store::{ledger, refunds, settlements};
use serde_json::Value;

use super::i18n::Texts;
use super::{ListQuery, Nav, Paging, SignedIn, internal, message, mode, render, when};
use crate::AppState;

/// A cell of a list: its text, and where it leads.
#[derive(Debug)]
pub struct Cell {
    /// What is shown.
    pub text: String,
    /// A dashboard page or download, when the cell links somewhere.
    pub href: Option<String>,
    /// Right-aligned (amounts).
    pub num: bool,
}

impl Cell {
    fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            href: None,
            num: false,
        }
    }

    fn num(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            href: None,
            num: true,
        }
    }

    fn link(text: impl Into<String>, href: String) -> Cell {
        Cell {
            text: text.into(),
            href: Some(href),
            num: false,
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/list.html")]
struct ListPage {
    t: &'static Texts,
    nav: Nav,
    title: &'static str,
    hint: &'static str,
    columns: Vec<(&'static str, bool)>,
    rows: Vec<Vec<Cell>>,
    newer: Option<String>,
    older: Option<String>,
}

/// The dashboard page of an object the API names by id (`pi_…`, `po_…`), if it has one.
pub(super) fn page_of(id: &str) -> Option<String> {
    if id.starts_with("pi_") {
        Some(format!("/dashboard/payins/{id}"))
    } else if id.starts_with("po_") {
        Some(format!("/dashboard/payouts/{id}"))
    } else {
        None
    }
}

fn text_of(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// `GET /dashboard/refunds`.
pub(super) async fn refunds_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let (page, paging) = Paging::of::<Refund>(&query);
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                refunds::list(&mut c, merchant, mode, Default::default(), &page).await
            })
        })
        .await;
    let mut found = match found {
        Ok(f) => f,
        Err(e) => return internal(locale, e),
    };
    let (newer, older) = paging.links(&mut found, |r| r.id, "/dashboard/refunds", None);
    let rows = found
        .data
        .iter()
        .map(|r| {
            vec![
                Cell::text(r.id.to_string()),
                Cell::text(when(&session, r.created_at)),
                Cell::link(
                    r.payin_id.to_string(),
                    format!("/dashboard/payins/{}", r.payin_id),
                ),
                Cell::num(locale.money(r.amount.minor(), r.currency.code())),
                Cell::text(r.method.clone()),
                Cell::text(r.status.as_str()),
                match r.payout_id {
                    Some(p) => Cell::link(p.to_string(), format!("/dashboard/payouts/{p}")),
                    None => Cell::text(""),
                },
            ]
        })
        .collect();
    render(
        StatusCode::OK,
        &ListPage {
            t: locale.texts(),
            nav: Nav::of(&session),
            title: "refund.list",
            hint: "lists.refunds_hint",
            columns: vec![
                ("payins.id", false),
                ("payins.created", false),
                ("nav.payins", false),
                ("payins.amount", true),
                ("refund.method", false),
                ("payins.status", false),
                ("nav.payouts", false),
            ],
            rows,
            newer,
            older,
        },
    )
}

/// `GET /dashboard/events`.
pub(super) async fn events_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let (page, paging) = Paging::of::<Event>(&query);
    let (merchant, livemode) = (session.merchant_id, session.row.livemode);
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                cajero_store::events::list_events(
                    &mut c,
                    merchant,
                    livemode,
                    &Default::default(),
                    &page,
                )
                .await
            })
        })
        .await;
    let mut found = match found {
        Ok(f) => f,
        Err(e) => return internal(locale, e),
    };
    let (newer, older) = paging.links(&mut found, |e| e.id, "/dashboard/events", None);
    let rows = found
        .data
        .iter()
        .map(|e| {
            let object: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
            let id = text_of(&object, "id");
            // A refund's page is its pay-in's.
            let target = page_of(&id).or_else(|| page_of(&text_of(&object, "payin")));
            vec![
                Cell::text(e.id.to_string()),
                Cell::text(when(&session, e.created_at)),
                Cell::text(e.event_type.as_str()),
                match target {
                    Some(href) => Cell::link(id, href),
                    None => Cell::text(id),
                },
            ]
        })
        .collect();
    render(
        StatusCode::OK,
        &ListPage {
            t: locale.texts(),
            nav: Nav::of(&session),
            title: "lists.events",
            hint: "lists.events_hint",
            columns: vec![
                ("payins.id", false),
                ("payins.created", false),
                ("lists.type", false),
                ("lists.object", false),
            ],
            rows,
            newer,
            older,
        },
    )
}

/// `GET /dashboard/balance_transactions`.
pub(super) async fn balance_transactions_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let (page, paging) = Paging::of::<Transfer>(&query);
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move { ledger::list_batches(&mut c, merchant, mode, None, &page).await })
        })
        .await;
    let mut found = match found {
        Ok(f) => f,
        Err(e) => return internal(locale, e),
    };
    let (newer, older) = paging.links(
        &mut found,
        |b| b.id.clone(),
        "/dashboard/balance_transactions",
        None,
    );
    let today = cajero_domain::calendar::bogota_date(state.clock.now());
    let rows = found
        .data
        .iter()
        .map(|b| {
            let view = crate::openapi::to_json(&crate::funds::balance_transaction(
                b, merchant, mode, today,
            ));
            let currency = text_of(&view, "currency");
            let money =
                |k: &str| locale.money(view.get(k).and_then(Value::as_i64).unwrap_or(0), &currency);
            let source = text_of(&view, "source");
            vec![
                Cell::text(text_of(&view, "id")),
                Cell::text(when(&session, b.created_at)),
                Cell::text(text_of(&view, "type")),
                Cell::num(money("amount")),
                Cell::num(money("fee")),
                Cell::num(money("net")),
                Cell::text(text_of(&view, "status")),
                Cell::text(text_of(&view, "available_on")),
                match page_of(&source) {
                    Some(href) => Cell::link(source, href),
                    None => Cell::text(source),
                },
            ]
        })
        .collect();
    render(
        StatusCode::OK,
        &ListPage {
            t: locale.texts(),
            nav: Nav::of(&session),
            title: "lists.balance_transactions",
            hint: "lists.balance_transactions_hint",
            columns: vec![
                ("payins.id", false),
                ("payins.created", false),
                ("lists.type", false),
                ("payins.amount", true),
                ("payins.fee", true),
                ("lists.net", true),
                ("payins.status", false),
                ("lists.available_on", false),
                ("lists.source", false),
            ],
            rows,
            newer,
            older,
        },
    )
}

/// `GET /dashboard/settlements`.
pub(super) async fn settlements_page(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Query(query): Query<ListQuery>,
) -> Response {
    let (page, paging) = Paging::of::<Settlement>(&query);
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move { settlements::list(&mut c, merchant, mode, &page).await })
        })
        .await;
    let mut found = match found {
        Ok(f) => f,
        Err(e) => return internal(locale, e),
    };
    let (newer, older) = paging.links(&mut found, |s| s.id, "/dashboard/settlements", None);
    let rows = found
        .data
        .iter()
        .map(|s| {
            let view = crate::settlement::view::settlement_json(s, None);
            let currency = s.currency.code();
            let collected = text_of(&view, "collected_currency");
            vec![
                Cell::text(s.id.to_string()),
                Cell::text(s.settlement_date.to_string()),
                Cell::text(text_of(&view, "status")),
                Cell::num(locale.money(s.gross.minor(), &collected)),
                Cell::num(locale.money(s.fees.minor(), &collected)),
                Cell::num(locale.money(s.amount.minor(), currency)),
                Cell::num(text_of(&view, "line_count")),
                Cell::link("CSV", format!("/dashboard/settlements/{}.csv", s.id)),
            ]
        })
        .collect();
    render(
        StatusCode::OK,
        &ListPage {
            t: locale.texts(),
            nav: Nav::of(&session),
            title: "lists.settlements",
            hint: "lists.settlements_hint",
            columns: vec![
                ("payins.id", false),
                ("lists.settlement_date", false),
                ("payins.status", false),
                ("lists.gross", true),
                ("payins.fee", true),
                ("lists.settled", true),
                ("lists.lines", true),
                ("lists.statement", false),
            ],
            rows,
            newer,
            older,
        },
    )
}

/// `GET /dashboard/settlements/{id}.csv`: the statement the API gives at
/// `GET /v1/settlements/{id}.csv`, line by line.
pub(super) async fn settlement_csv(
    State(state): State<AppState>,
    SignedIn {
        session, locale, ..
    }: SignedIn,
    Path(file): Path<String>,
) -> Response {
    let Some(id) = file
        .strip_suffix(".csv")
        .and_then(|raw| raw.parse::<SettlementId>().ok())
    else {
        return message(StatusCode::NOT_FOUND, locale, "error.not_found");
    };
    let (merchant, mode) = (session.merchant_id, mode(&session));
    let found = state
        .store
        .read(move |mut c| {
            Box::pin(async move {
                let Some(s) = settlements::get(&mut c, merchant, mode, id).await? else {
                    return Ok(None);
                };
                let lines = settlements::lines(&mut c, &s).await?;
                Ok::<_, cajero_store::StoreError>(Some((s, lines)))
            })
        })
        .await;
    match found {
        Ok(Some((s, lines))) => super::harden(
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{}.csv\"", s.id),
                    ),
                ],
                crate::settlement::view::settlement_csv(&s, &lines),
            )
                .into_response(),
        ),
        Ok(None) => message(StatusCode::NOT_FOUND, locale, "error.not_found"),
        Err(e) => internal(locale, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::Locale;

    /// The keys the lists name in code (their titles, hints and columns).
    #[test]
    fn every_key_the_lists_name_exists_in_every_language() {
        let source = include_str!("lists.rs");
        let keys: Vec<&str> = source
            .split('"')
            .filter(|s| {
                ["payins.", "refund.", "lists.", "nav."]
                    .iter()
                    .any(|p| s.starts_with(p))
                    && !s.contains(' ')
                    && !s.ends_with(".rs")
                    && !s.ends_with('.')
            })
            .collect();
        assert!(keys.len() > 20, "{keys:?}");
        for locale in Locale::ALL {
            for key in &keys {
                assert!(locale.texts().has(key), "{} lacks {key}", locale.tag());
            }
        }
    }

    #[test]
    fn only_pay_ins_and_payouts_have_pages() {
        assert_eq!(
            page_of("pi_01ABC").as_deref(),
            Some("/dashboard/payins/pi_01ABC")
        );
        assert_eq!(
            page_of("po_01ABC").as_deref(),
            Some("/dashboard/payouts/po_01ABC")
        );
        assert_eq!(page_of("re_01ABC"), None);
        assert_eq!(page_of(""), None);
    }
}
