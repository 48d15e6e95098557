//! What the end state is, gathered once everything has settled: cajero's objects and events as
//! its API lists them, the network orders behind them as cajero's store records them, the
//! simulator's own orders read from its database, and what the webhook receiver saw.

use std::collections::BTreeMap;

use anyhow::Context as _;
use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use cajero_store::page::{Cursor, PageRequest};
use cajero_store::{Store, StoreOptions, payins, payouts};
use serde_json::Value;

use super::journal::Entry;
use super::load::Load;
use super::procs::SIM_MERCHANT_ID;

/// Pages read from one list at most (100 objects each).
const LIST_PAGES_MAX: usize = 100_000;
/// Rows per page, the API's and the store's maximum.
const PAGE_ROWS: u32 = 100;

/// The end state.
#[derive(Debug)]
pub struct Facts {
    /// Every keyed request and its answers.
    pub entries: Vec<Entry>,
    /// `GET /v1/payins`, every page.
    pub payins: Vec<Value>,
    /// `GET /v1/payouts`, every page.
    pub payouts: Vec<Value>,
    /// `GET /v1/topups`, every page.
    pub topups: Vec<Value>,
    /// `GET /v1/events`, every page.
    pub events: Vec<Value>,
    /// `GET /v1/balance`.
    pub balance: Value,
    /// cajero's objects by network order id (`col_…`, `giro_…`): every owner's id.
    pub owners: BTreeMap<String, Vec<String>>,
    /// The simulator's orders for cajero.
    pub sim_orders: Vec<cajero_sim::model::Order>,
    /// Network order ids cajero holds an `orphan_network_order` exception for.
    pub orphan_exceptions: Vec<String>,
    /// Deliveries per event id at the receiver.
    pub received: BTreeMap<String, u32>,
}

/// Every object of an API list, following `starting_after`.
pub async fn list_all(load: &Load, path: &str) -> anyhow::Result<Vec<Value>> {
    let mut all: Vec<Value> = Vec::new();
    for _ in 0..LIST_PAGES_MAX {
        let base = load.cluster.any().context("no instance is up")?;
        let mut url = format!("{base}{path}?limit={PAGE_ROWS}");
        if let Some(last) = all.last().and_then(|o| o["id"].as_str()) {
            url.push_str(&format!("&starting_after={last}"));
        }
        let page: Value = get_json(load, &url).await?;
        let data = page["data"]
            .as_array()
            .with_context(|| format!("{path}: not a list"))?;
        all.extend(data.iter().cloned());
        if page["has_more"] != true || data.is_empty() {
            return Ok(all);
        }
    }
    anyhow::bail!("{path}: more than {LIST_PAGES_MAX} pages")
}

/// `GET url` with the merchant's key, as JSON (2xx only).
pub async fn get_json(load: &Load, url: &str) -> anyhow::Result<Value> {
    let response = load
        .http
        .get(url)
        .bearer_auth(&load.api_key)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "GET {url}: {status} {body}");
    Ok(body)
}

/// Every network order id of the merchant's test pay-ins and payouts, with their owners.
async fn owners(
    database_url: &str,
    merchant: MerchantId,
) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let store = Store::open(database_url, &StoreOptions::default()).await?;
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cursor = Cursor::Newest;
    for _ in 0..LIST_PAGES_MAX {
        let page = PageRequest {
            limit: PAGE_ROWS,
            cursor: cursor.clone(),
        };
        let rows = store
            .read(move |mut c| {
                Box::pin(async move {
                    payins::list(
                        &mut c,
                        merchant,
                        Mode::Test,
                        &payins::Filter::default(),
                        &page,
                    )
                    .await
                })
            })
            .await?;
        for p in &rows.data {
            owners
                .entry(p.network_order_id.clone())
                .or_default()
                .push(p.id.to_string());
        }
        match rows.data.last() {
            Some(last) if rows.has_more => cursor = Cursor::After(last.id.to_string()),
            _ => break,
        }
    }
    let mut cursor = Cursor::Newest;
    for _ in 0..LIST_PAGES_MAX {
        let page = PageRequest {
            limit: PAGE_ROWS,
            cursor: cursor.clone(),
        };
        let rows = store
            .read(move |mut c| {
                Box::pin(
                    async move { payouts::list(&mut c, merchant, Mode::Test, None, &page).await },
                )
            })
            .await?;
        for p in &rows.data {
            if let Some(order) = &p.network_order_id {
                owners
                    .entry(order.clone())
                    .or_default()
                    .push(p.id.to_string());
            }
        }
        match rows.data.last() {
            Some(last) if rows.has_more => cursor = Cursor::After(last.id.to_string()),
            _ => break,
        }
    }
    store.close().await;
    Ok(owners)
}

/// Exceptions recorded for orphan network orders at most.
const ORPHANS_MAX: i64 = 1_000_000;

/// Network order ids cajero holds an `orphan_network_order` exception for.
async fn orphan_exceptions(database_url: &str) -> anyhow::Result<Vec<String>> {
    use cajero_store::exceptions;
    let store = Store::open(database_url, &StoreOptions::default()).await?;
    let rows = store
        .read(|mut c| {
            Box::pin(async move {
                exceptions::of_kind(&mut c, exceptions::ORPHAN_NETWORK_ORDER, false, ORPHANS_MAX)
                    .await
            })
        })
        .await?;
    store.close().await;
    Ok(rows
        .into_iter()
        .filter_map(|e| e.network_order_id)
        .collect())
}

/// The simulator's orders for cajero, from its own database.
async fn sim_orders(sim_database_url: &str) -> anyhow::Result<Vec<cajero_sim::model::Order>> {
    let store = cajero_sim::store::Store::open(sim_database_url).await?;
    let loaded = store.load().await?;
    Ok(loaded
        .orders
        .into_iter()
        .filter(|o| o.merchant_id == SIM_MERCHANT_ID)
        .collect())
}

/// Gathers the end state.
pub async fn gather(
    load: &Load,
    database_url: &str,
    merchant: MerchantId,
    sim_database_url: &str,
    received: BTreeMap<String, u32>,
) -> anyhow::Result<Facts> {
    let base = load.cluster.any().context("no instance is up")?;
    Ok(Facts {
        entries: load.journal.snapshot(),
        payins: list_all(load, "/v1/payins").await?,
        payouts: list_all(load, "/v1/payouts").await?,
        topups: list_all(load, "/v1/topups").await?,
        events: list_all(load, "/v1/events").await?,
        balance: get_json(load, &format!("{base}/v1/balance")).await?,
        owners: owners(database_url, merchant).await?,
        sim_orders: sim_orders(sim_database_url).await?,
        orphan_exceptions: orphan_exceptions(database_url).await?,
        received,
    })
}
