//! Daily reconciliation: a network's file for a day, line by line, against our orders and the
//! ledger. One service for every face: the daily job ([`job`]), the CLI
//! (`cajero reconcile …`), the operator's upload and the merchant API's reports.
//!
//! An import ([`import`]):
//! 1. knows a file by the SHA-256 of its bytes: the same bytes again change nothing;
//! 2. reads it whole ([`source::read`]) or refuses it whole, with every problem listed;
//! 3. loads the orders of the file's route and network paid that Bogotá day, and those its
//!    lines name, and lets `cajero_domain::reconcile` decide each line and each order;
//! 4. writes the lines in chunks (each a unit of work; an interrupted import is finished by
//!    importing the same bytes again), an exception per line or order that is not a match
//!    (once per kind and order, evented `reconciliation.exception.created` to its merchant),
//!    and the file's tie-out per kind; a tie-out the exceptions do not explain is itself an
//!    exception and an alert.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cajero_domain::calendar;
use cajero_domain::id::{EventId, MerchantId, ReconciliationId, TransferId};
use cajero_domain::ledger::{AccountKey, AccountKind, Transfer, TransferCode, TransferMode};
use cajero_domain::merchant::Mode;
use cajero_domain::money::{Amount, Currency};
use cajero_domain::reconcile::{self, BookStatus, Kind, Line, LineStatus, Outcome, TieOut};
use cajero_domain::webhook::EventType;
use cajero_store::exceptions::{self, ExceptionRecord, NewException};
use cajero_store::reconciliation::{
    self as records, BookRow, Books, FileRecord, LineRow, OrderKey, TieOutRow,
};
use cajero_store::{Conn, Micros, Store, StoreError, events};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::clock::{Clock, new_id};

pub mod config;
pub mod job;
pub mod source;
pub mod view;

pub use config::ReconciliationConfig;
pub use source::{Problem, Refused};

/// Lines written per unit of work.
pub const LINES_PER_UNIT: usize = 20_000;
/// Orders looked up one by one per read, for lines the day's paid orders do not explain.
pub const LOOKUPS_PER_READ: usize = 1_000;
/// Largest file accepted (bytes): a 1,000,000-line Asobancaria file is about 164 MB.
pub const FILE_BYTES_MAX: usize = 256 * 1024 * 1024;

/// The formats a network's file comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Asobancaria 2001 collection file (pay-ins).
    Asobancaria,
    /// The simulator's CSV (pay-ins and payouts).
    Csv,
    /// dLocal's settlement report.
    Dlocal,
    /// PayU Latam's sales report.
    Payu,
    /// Kushki's transactions report.
    Kushki,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 5] = [
        Format::Asobancaria,
        Format::Csv,
        Format::Dlocal,
        Format::Payu,
        Format::Kushki,
    ];

    /// Its name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Asobancaria => "asobancaria",
            Format::Csv => "csv",
            Format::Dlocal => "dlocal",
            Format::Payu => "payu",
            Format::Kushki => "kushki",
        }
    }

    /// Reads a name.
    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The kinds of order its files report: a file that reports no payouts does not lack them.
    pub const fn covers(self) -> &'static [Kind] {
        match self {
            Format::Asobancaria | Format::Dlocal | Format::Payu => &[Kind::Collection],
            Format::Csv | Format::Kushki => &[Kind::Collection, Kind::Payout],
        }
    }

    /// The format a route's files come in unless configured: its gateway's.
    pub fn of_route(config: &crate::config::Config, route: &str) -> Format {
        use crate::network_config::NetworkKind as Gateway;
        if let Some(files) = config.reconciliation.routes.get(route)
            && let Some(format) = files.format
        {
            return format;
        }
        match config
            .networks
            .iter()
            .find(|n| n.name() == route)
            .map(|n| n.kind)
        {
            Some(Gateway::Dlocal) => Format::Dlocal,
            Some(Gateway::Payu) => Format::Payu,
            Some(Gateway::Kushki) => Format::Kushki,
            _ => Format::Csv,
        }
    }
}

/// Who brought the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The daily job, through the route's connector.
    Job,
    /// `cajero reconcile import`.
    Cli,
    /// `POST /operator/reconciliation/files`.
    Upload,
}

impl Source {
    const fn as_str(self) -> &'static str {
        match self {
            Source::Job => "job",
            Source::Cli => "cli",
            Source::Upload => "upload",
        }
    }
}

/// What to import.
#[derive(Debug, Clone)]
pub struct Import {
    /// Test or live orders.
    pub mode: Mode,
    /// The route the file comes from (`simulator`, or a `[[networks]]` name).
    pub route: String,
    /// The cash network (`efecty`).
    pub network: String,
    /// Its format.
    pub format: Format,
    /// The day it reports; required when the file does not say (gateway reports), checked
    /// against it when it does.
    pub date: Option<Date>,
    /// Read leniently (see [`config::RouteFiles::lenient`]).
    pub lenient: bool,
    /// Who brought it.
    pub source: Source,
    /// Who, for the record.
    pub by: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// Read, matched and recorded.
    Done(Summary),
    /// These bytes were imported before: nothing changed.
    AlreadyImported(FileRecord),
    /// Refused whole: nothing of it was imported.
    Rejected {
        /// The refused file's record.
        file: FileRecord,
        /// Why.
        refused: Refused,
    },
}

/// A finished import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The file's record.
    pub file: FileRecord,
    /// Lines and absent orders per outcome.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Per kind.
    pub tie_outs: Vec<TieOutRow>,
    /// Exceptions recorded by this import (an exception recorded before is not counted).
    pub new_exceptions: u64,
    /// Where its time went (`cajero bench reconcile` reports it).
    pub timings: ImportTimings,
}

/// Wall-clock time of an import's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportTimings {
    /// Reading the file into lines.
    pub read: Duration,
    /// Loading the orders (the day's paid ones, then those lines name) and matching.
    pub matching: Duration,
    /// Writing lines, exceptions, tie-outs and the file's completion.
    pub write: Duration,
}

/// Why an import could not run.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The request does not fit the file (date, size).
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads `bytes` without importing anything: the file's verdict.
pub fn check(
    bytes: &[u8],
    format: Format,
    network: &str,
    lenient: bool,
) -> Result<source::ReadFile, Refused> {
    source::read(bytes, format, network, lenient)
}

/// The SHA-256 of a file, hex.
pub fn file_hash(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Imports one file: see the module's documentation.
pub async fn import(
    store: &Store,
    clock: &Arc<dyn Clock>,
    request: Import,
    bytes: Vec<u8>,
) -> Result<Imported, ImportError> {
    if bytes.len() > FILE_BYTES_MAX {
        return Err(ImportError::Invalid(format!(
            "the file has {} bytes; at most {FILE_BYTES_MAX} are accepted",
            bytes.len()
        )));
    }
    let sha = file_hash(&bytes);
    let mut seen = match request.date {
        Some(date) => seen_file(store, &sha, &request, date).await?,
        None => None,
    };
    if let Some(file) = &seen
        && file.status == "imported"
    {
        return Ok(Imported::AlreadyImported(file.clone()));
    }
    let byte_count = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let (format, network, lenient) = (request.format, request.network.clone(), request.lenient);
    let read_started = Instant::now();
    let read = tokio::task::spawn_blocking(move || source::read(&bytes, format, &network, lenient))
        .await
        .map_err(|e| ImportError::Invalid(format!("reading the file failed: {e}")))?;
    let read_time = read_started.elapsed();
    let now = clock.now();
    let mut record = FileRecord {
        id: match &seen {
            Some(f) if f.status == "importing" => f.id.clone(),
            _ => {
                let id: ReconciliationId = new_id(&**clock);
                id.to_string()
            }
        },
        sha256: sha,
        livemode: request.mode.is_live(),
        route: request.route.clone(),
        network: request.network.clone(),
        business_date: request.date.map(|d| d.to_string()).unwrap_or_default(),
        format: request.format.as_str().into(),
        source: request.source.as_str().into(),
        imported_by: Some(request.by.clone()),
        status: "importing".into(),
        byte_count,
        line_count: 0,
        total: 0,
        matched: 0,
        exceptions: 0,
        problems: "[]".into(),
        created_at: Micros::from(now).0,
        completed_at: None,
    };
    let file = match read {
        Ok(file) => file,
        Err(refused) => {
            record.status = "rejected".into();
            record.problems = serde_json::to_string(&view::ProblemsView::of(&refused))
                .unwrap_or_else(|_| "[]".into());
            record.completed_at = Some(record.created_at);
            let stored = record.clone();
            store
                .write(move |mut c| {
                    Box::pin(async move { records::insert_file(&mut c, &stored).await })
                })
                .await?;
            tracing::warn!(file = %record.id, network = %record.network, problems = refused.problems.len(),
                           "reconciliation file rejected");
            return Ok(Imported::Rejected {
                file: record,
                refused,
            });
        }
    };
    let date = match (file.date, request.date) {
        (Some(stated), Some(asked)) if stated != asked => {
            return Err(ImportError::Invalid(format!(
                "the file reports {stated}, not {asked}"
            )));
        }
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) => {
            return Err(ImportError::Invalid(
                "this file does not say which day it reports: give the date".into(),
            ));
        }
    };
    if request.date.is_none() {
        seen = seen_file(store, &record.sha256, &request, date).await?;
        match &seen {
            Some(file) if file.status == "imported" => {
                return Ok(Imported::AlreadyImported(file.clone()));
            }
            Some(file) if file.status == "importing" => record.id = file.id.clone(),
            _ => {}
        }
    }
    record.business_date = date.to_string();
    record.line_count = i64::try_from(file.lines.len()).unwrap_or(i64::MAX);
    record.total = file
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::Paid)
        .map(|l| l.amount)
        .fold(0i64, i64::saturating_add);
    record.problems = serde_json::to_string(&file.warnings).unwrap_or_else(|_| "[]".into());
    if seen.is_none() || seen.as_ref().is_some_and(|f| f.status == "rejected") {
        let stored = record.clone();
        store
            .write(move |mut c| {
                Box::pin(async move { records::insert_file(&mut c, &stored).await })
            })
            .await?;
    }
    reconcile_file(store, clock, &request, record, file.lines, date, read_time).await
}

/// The file with these bytes for the request's mode, route and network and `date`, if seen.
async fn seen_file(
    store: &Store,
    sha: &str,
    request: &Import,
    date: Date,
) -> Result<Option<FileRecord>, StoreError> {
    let (sha, mode, route, network) = (
        sha.to_owned(),
        request.mode,
        request.route.clone(),
        request.network.clone(),
    );
    store
        .read(move |mut c| {
            Box::pin(async move {
                records::file_by_hash(&mut c, &sha, mode, &route, &network, &date.to_string()).await
            })
        })
        .await
}

/// The ledger ids of a network's accounts in `mode`.
fn network_accounts(network: &str, mode: Mode) -> (String, String) {
    (
        AccountKey::network(AccountKind::NetworkReceivable, network, mode, Currency::Cop)
            .to_string(),
        AccountKey::network(AccountKind::NetworkPayable, network, mode, Currency::Cop).to_string(),
    )
}

async fn reconcile_file(
    store: &Store,
    clock: &Arc<dyn Clock>,
    request: &Import,
    record: FileRecord,
    lines: Vec<Line>,
    date: Date,
    read: Duration,
) -> Result<Imported, ImportError> {
    let matching_started = Instant::now();
    let covers = request.format.covers();
    let books = BooksOwned {
        mode: request.mode,
        route: request.route.clone(),
        network: request.network.clone(),
        file_id: record.id.clone(),
    };
    let (from, to) = day_bounds(date);
    let payouts = covers.contains(&Kind::Payout);
    let mut rows = {
        let books = books.clone();
        store
            .read(move |mut c| {
                Box::pin(async move {
                    let (receivable, payable) = network_accounts(&books.network, books.mode);
                    records::paid_between(
                        &mut c,
                        books.as_ref(&receivable, &payable),
                        from,
                        to,
                        payouts,
                    )
                    .await
                })
            })
            .await?
    };
    let mut orders: Vec<reconcile::Order> = rows.iter().map(book_order).collect();
    let mut decided = reconcile::reconcile(&lines, &orders, date, covers);
    // Lines the day's paid orders do not explain: look their orders up one by one.
    let unknown: Vec<usize> = decided
        .lines
        .iter()
        .enumerate()
        .filter(|(_, r)| r.order.is_none())
        .map(|(i, _)| i)
        .collect();
    if !unknown.is_empty() {
        let mut known: HashMap<String, ()> = rows.iter().map(|r| (r.id.clone(), ())).collect();
        for chunk in unknown.chunks(LOOKUPS_PER_READ) {
            let keys: Vec<(bool, Vec<(u8, String)>)> =
                chunk.iter().map(|i| line_keys(&lines[*i])).collect();
            let books = books.clone();
            let found = store
                .read(move |mut c| {
                    Box::pin(async move {
                        let (receivable, payable) = network_accounts(&books.network, books.mode);
                        let b = books.as_ref(&receivable, &payable);
                        let mut found = Vec::new();
                        for (payout, keys) in &keys {
                            for (which, value) in keys {
                                let key = match which {
                                    0 => OrderKey::Id(value),
                                    1 => OrderKey::NetworkOrder(value),
                                    _ => OrderKey::Code(value),
                                };
                                if let Some(row) =
                                    records::find_order(&mut c, b, *payout, key).await?
                                {
                                    found.push(row);
                                    break;
                                }
                            }
                        }
                        Ok::<_, StoreError>(found)
                    })
                })
                .await?;
            for row in found {
                if known.insert(row.id.clone(), ()).is_none() {
                    rows.push(row);
                }
            }
        }
        if rows.len() > orders.len() {
            orders = rows.iter().map(book_order).collect();
            decided = reconcile::reconcile(&lines, &orders, date, covers);
        }
    }
    drop(orders);
    let timings = ImportTimings {
        read,
        matching: matching_started.elapsed(),
        write: Duration::ZERO,
    };
    write_results(
        store, clock, request, record, &lines, &rows, decided, date, timings,
    )
    .await
}

/// The keys a line names its order by, best first: 0 our id, 1 the network's id, 2 the code.
fn line_keys(line: &Line) -> (bool, Vec<(u8, String)>) {
    let mut keys = Vec::new();
    if let Some(id) = &line.our_id {
        keys.push((0, id.to_string()));
    }
    if let Some(id) = &line.network_order_id {
        keys.push((1, id.to_string()));
    }
    if let Some(code) = &line.code {
        keys.push((2, code.to_string()));
    }
    (line.kind == Kind::Payout, keys)
}

#[derive(Debug, Clone)]
struct BooksOwned {
    mode: Mode,
    route: String,
    network: String,
    file_id: String,
}

impl BooksOwned {
    fn as_ref<'a>(&'a self, receivable: &'a str, payable: &'a str) -> Books<'a> {
        Books {
            mode: self.mode,
            route: &self.route,
            network: &self.network,
            receivable,
            payable,
            file_id: &self.file_id,
        }
    }
}

/// Bogotá midnight to midnight.
pub fn day_bounds(date: Date) -> (Timestamp, Timestamp) {
    let start = |d: Date| {
        d.at(0, 0, 0, 0)
            .to_zoned_datetime(calendar::bogota())
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::UNIX_EPOCH)
    };
    (start(date), start(date.tomorrow().unwrap_or(date)))
}

fn book_order(row: &BookRow) -> reconcile::Order {
    let status = match row.status.as_str() {
        "paid" => BookStatus::Paid,
        "expired" => BookStatus::Expired,
        "canceled" | "failed" => BookStatus::Canceled,
        _ => BookStatus::Open,
    };
    reconcile::Order {
        id: row.id.as_str().into(),
        kind: if row.kind == "payout" {
            Kind::Payout
        } else {
            Kind::Collection
        },
        network_order_id: row.network_order_id.as_deref().map(Into::into),
        code: row
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|c| source::code_key(c).into()),
        amount: row.amount,
        status,
        paid_on: row
            .paid_at
            .map(|t| calendar::bogota_date(Micros(t).to_timestamp())),
        ledger_amount: row.ledger_amount,
        reconciled_in: match (&row.reconciled_file, row.reconciled_line) {
            (Some(f), line) => Some((
                f.as_str().into(),
                line.and_then(|l| u32::try_from(l).ok()).unwrap_or(0),
            )),
            _ => None,
        },
    }
}

/// An exception to record for a line or an absent order.
struct Found {
    kind: &'static str,
    object_id: String,
    merchant: Option<MerchantId>,
    amount: i64,
    network_order_id: Option<String>,
    detail: String,
    line: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
async fn write_results(
    store: &Store,
    clock: &Arc<dyn Clock>,
    request: &Import,
    mut record: FileRecord,
    lines: &[Line],
    rows: &[BookRow],
    decided: reconcile::Reconciled,
    date: Date,
    mut timings: ImportTimings,
) -> Result<Imported, ImportError> {
    let write_started = Instant::now();
    let mut outcomes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut line_rows: Vec<(LineRow, Option<Found>)> = Vec::with_capacity(lines.len());
    for (line, result) in lines.iter().zip(&decided.lines) {
        *outcomes.entry(result.outcome.as_str()).or_default() += 1;
        let order = result.order.map(|i| &rows[i]);
        let found = result
            .outcome
            .is_exception()
            .then(|| line_exception(&record, line, order, result.outcome, result.first_line));
        line_rows.push((
            LineRow {
                file_id: record.id.clone(),
                seq: i64::from(line.line),
                line: Some(i64::from(line.line)),
                kind: line.kind.as_str().into(),
                merchant_id: order.map(|o| o.merchant_id.clone()),
                order_id: order.map(|o| o.id.clone()),
                code: line.code.as_deref().map(Into::into),
                network_order_id: line
                    .network_order_id
                    .as_deref()
                    .map(Into::into)
                    .or_else(|| order.and_then(|o| o.network_order_id.clone())),
                amount: line.amount,
                network_status: match line.status {
                    LineStatus::Paid => "paid",
                    LineStatus::Open => "open",
                    LineStatus::Closed => "closed",
                }
                .into(),
                counter: line.counter.as_deref().map(Into::into),
                outcome: result.outcome.as_str().into(),
                exception_id: found.as_ref().map(|f| exception_id(f.kind, &f.object_id)),
            },
            found,
        ));
    }
    let last_line = lines.iter().map(|l| i64::from(l.line)).max().unwrap_or(0);
    let mut absent: Vec<(LineRow, Option<Found>)> = Vec::new();
    for (n, i) in decided.missing_in_network.iter().enumerate() {
        let order = &rows[*i];
        *outcomes
            .entry(Outcome::MissingInNetwork.as_str())
            .or_default() += 1;
        let found = Found {
            kind: exceptions::MISSING_IN_NETWORK,
            object_id: order.id.clone(),
            merchant: order.merchant_id.parse().ok(),
            amount: order.amount,
            network_order_id: order.network_order_id.clone(),
            detail: format!(
                "{} is paid in cajero's books on {}; the network's file {} does not have it",
                order.id, record.business_date, record.id
            ),
            line: None,
        };
        absent.push((
            LineRow {
                file_id: record.id.clone(),
                seq: last_line + 1 + i64::try_from(n).unwrap_or(0),
                line: None,
                kind: if order.kind == "payout" {
                    "payout"
                } else {
                    "collection"
                }
                .into(),
                merchant_id: Some(order.merchant_id.clone()),
                order_id: Some(order.id.clone()),
                code: order.code.clone(),
                network_order_id: order.network_order_id.clone(),
                amount: order.amount,
                network_status: "absent".into(),
                counter: None,
                outcome: Outcome::MissingInNetwork.as_str().into(),
                exception_id: Some(exception_id(found.kind, &found.object_id)),
            },
            Some(found),
        ));
    }
    line_rows.extend(absent);
    let mut new_exceptions = 0u64;
    let (mode, network) = (request.mode, request.network.clone());
    for chunk in line_rows.chunks(LINES_PER_UNIT) {
        let chunk: Vec<(LineRow, Option<Found>)> = chunk
            .iter()
            .map(|(row, found)| (row.clone(), found.as_ref().map(Found::clone_found)))
            .collect();
        let file_id = record.id.clone();
        let network = network.clone();
        let clock = clock.clone();
        new_exceptions += store
            .write(move |mut c| {
                Box::pin(async move {
                    let rows: Vec<LineRow> = chunk.iter().map(|(r, _)| r.clone()).collect();
                    records::insert_lines(&mut c, &rows).await?;
                    let mut new = 0u64;
                    for (_, found) in &chunk {
                        if let Some(found) = found
                            && raise(&mut c, &*clock, mode, &network, &file_id, found).await?
                        {
                            new += 1;
                        }
                    }
                    Ok::<_, StoreError>(new)
                })
            })
            .await?;
    }
    // The tie-out, and the file's completion.
    let now = clock.now();
    let tie_outs: Vec<TieOutRow> = decided
        .tie_outs
        .iter()
        .map(|(kind, t)| tie_out_row(&record, *kind, t, now))
        .collect();
    let matched = i64::try_from(outcomes.get("matched").copied().unwrap_or(0)).unwrap_or(i64::MAX);
    let exception_count = i64::try_from(
        outcomes
            .iter()
            .filter(|(k, _)| **k != "matched")
            .map(|(_, n)| *n)
            .sum::<u64>(),
    )
    .unwrap_or(i64::MAX);
    record.matched = matched;
    record.exceptions = exception_count;
    record.status = "imported".into();
    record.completed_at = Some(Micros::from(now).0);
    {
        let tie_outs = tie_outs.clone();
        let file = record.clone();
        let clock = clock.clone();
        new_exceptions += store
            .write(move |mut c| {
                Box::pin(async move {
                    let mut new = 0;
                    for t in &tie_outs {
                        records::insert_tie_out(&mut c, t).await?;
                        if t.unexplained != 0 {
                            let found = Found {
                                kind: exceptions::TIE_OUT_DIFFERENCE,
                                object_id: format!("{}:{}", file.id, t.kind),
                                merchant: None,
                                amount: t.unexplained,
                                network_order_id: None,
                                detail: format!(
                                    "{} {} on {}: file {}, matched orders {}, ledger {}; {} not explained by the exceptions",
                                    t.network, t.kind, t.business_date, t.file_total, t.matched_total, t.ledger_total, t.unexplained
                                ),
                                line: None,
                            };
                            if raise(&mut c, &*clock, mode, &file.network, &file.id, &found).await? {
                                new += 1;
                                tracing::error!(file = %file.id, network = %file.network, kind = %t.kind,
                                                date = %t.business_date, unexplained = t.unexplained,
                                                "ALERT tie_out_difference: the file, the orders and the ledger do not tie out");
                            }
                        }
                    }
                    records::complete_file(&mut c, &file.id, file.matched, file.exceptions, file_completed(&file)).await?;
                    Ok::<_, StoreError>(new)
                })
            })
            .await?;
    }
    tracing::info!(file = %record.id, route = %record.route, network = %record.network, date = %date,
                   lines = record.line_count, matched = record.matched, exceptions = record.exceptions,
                   "reconciliation file imported");
    timings.write = write_started.elapsed();
    Ok(Imported::Done(Summary {
        file: record,
        outcomes,
        tie_outs,
        new_exceptions,
        timings,
    }))
}

fn file_completed(file: &FileRecord) -> Timestamp {
    Micros(file.completed_at.unwrap_or(file.created_at)).to_timestamp()
}

impl Found {
    fn clone_found(&self) -> Found {
        Found {
            kind: self.kind,
            object_id: self.object_id.clone(),
            merchant: self.merchant,
            amount: self.amount,
            network_order_id: self.network_order_id.clone(),
            detail: self.detail.clone(),
            line: self.line,
        }
    }
}

fn tie_out_row(file: &FileRecord, kind: Kind, t: &TieOut, now: Timestamp) -> TieOutRow {
    TieOutRow {
        file_id: file.id.clone(),
        kind: kind.as_str().into(),
        livemode: file.livemode,
        route: file.route.clone(),
        network: file.network.clone(),
        business_date: file.business_date.clone(),
        file_total: t.file_total,
        matched_total: t.matched_total,
        ledger_total: t.ledger_total,
        file_difference: t.file_difference,
        ledger_difference: t.ledger_difference,
        explained: t.explained,
        unexplained: t.unexplained,
        created_at: Micros::from(now).0,
    }
}

/// The exception id of `kind` about `object_id`: the same every time, so it is recorded once.
pub fn exception_id(kind: &str, object_id: &str) -> String {
    let object: String = object_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("exc_{kind}_{object}")
}

fn line_exception(
    file: &FileRecord,
    line: &Line,
    order: Option<&BookRow>,
    outcome: Outcome,
    first_line: Option<u32>,
) -> Found {
    let n = line.line;
    let names = line
        .our_id
        .as_deref()
        .or(line.network_order_id.as_deref())
        .or(line.code.as_deref())
        .unwrap_or("?");
    let (kind, object_id, detail) = match (outcome, order) {
        (Outcome::Duplicate, _) => (
            exceptions::DUPLICATE,
            format!("{}:{n}", file.id),
            match first_line {
                Some(first) => format!(
                    "line {n} reports {names} again ({} pesos); it was matched at line {first}",
                    line.amount
                ),
                None => format!("line {n} reports {names} again ({} pesos)", line.amount),
            },
        ),
        (Outcome::AmountMismatch, Some(o)) => (
            exceptions::AMOUNT_MISMATCH,
            o.id.clone(),
            format!(
                "line {n}: the network reports {} pesos for {}; cajero holds {}",
                line.amount, o.id, o.amount
            ),
        ),
        (Outcome::PaidAfterExpiry, Some(o)) => (
            "paid_after_expiry",
            o.id.clone(),
            format!(
                "line {n}: the network reports {} paid; cajero expired it",
                o.id
            ),
        ),
        (Outcome::StatusMismatch, Some(o))
            if o.status == "canceled" && line.status == LineStatus::Paid =>
        {
            (
                "paid_after_cancel",
                o.id.clone(),
                format!(
                    "line {n}: the network reports {} paid; cajero canceled it",
                    o.id
                ),
            )
        }
        (Outcome::StatusMismatch, Some(o)) => (
            exceptions::STATUS_MISMATCH,
            o.id.clone(),
            format!(
                "line {n}: the network reports {} {}; cajero holds it {}",
                o.id,
                match line.status {
                    LineStatus::Paid => "paid",
                    LineStatus::Open => "open",
                    LineStatus::Closed => "closed",
                },
                o.status
            ),
        ),
        _ => (
            exceptions::MISSING_IN_CAJERO,
            format!(
                "{}:{}",
                file.network,
                line.network_order_id
                    .as_deref()
                    .or(line.code.as_deref())
                    .or(line.our_id.as_deref())
                    .unwrap_or("?")
            ),
            format!(
                "line {n}: the network reports {} pesos for {names}, an order cajero does not have",
                line.amount
            ),
        ),
    };
    Found {
        kind,
        object_id,
        merchant: order.and_then(|o| o.merchant_id.parse().ok()),
        amount: line.amount,
        network_order_id: line
            .network_order_id
            .as_deref()
            .map(Into::into)
            .or_else(|| order.and_then(|o| o.network_order_id.clone())),
        detail,
        line: Some(i64::from(n)),
    }
}

/// Records the exception once; when new, links it to its file line and events it to the
/// merchant. True when new.
async fn raise(
    c: &mut Conn<'_>,
    clock: &dyn Clock,
    mode: Mode,
    network: &str,
    file_id: &str,
    found: &Found,
) -> Result<bool, StoreError> {
    let id = exception_id(found.kind, &found.object_id);
    let amount = Amount::new(found.amount.saturating_abs()).unwrap_or(Amount::ZERO);
    let now = clock.now();
    let new = exceptions::record(
        c,
        &NewException {
            id: &id,
            merchant_id: found.merchant,
            mode,
            kind: found.kind,
            object_id: &found.object_id,
            amount,
            currency: Currency::Cop,
            network: Some(network),
            network_order_id: found.network_order_id.as_deref(),
            detail: Some(&found.detail),
        },
        now,
    )
    .await?;
    // Linked even when an earlier path (a callback) recorded it: the file is the evidence.
    exceptions::attach_line(c, &id, file_id, found.line).await?;
    if new
        && let Some(merchant) = found.merchant
        && let Some(record) = exceptions::get(c, &id).await?
    {
        events::emit(
            c,
            merchant,
            mode.is_live(),
            EventType::ReconciliationExceptionCreated,
            &view::exception_json(&record),
            new_id(clock),
            now,
        )
        .await?;
    }
    Ok(new)
}

/// How an operator closes an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The difference is understood and accepted as it is.
    Accepted,
    /// The money goes back to whoever paid it (outside cajero, or by a refund).
    Refund,
    /// A balanced ledger correction was posted (`amount`).
    Adjusted,
    /// The difference is written off.
    WrittenOff,
}

impl Resolution {
    /// Every resolution.
    pub const ALL: [Resolution; 4] = [
        Resolution::Accepted,
        Resolution::Refund,
        Resolution::Adjusted,
        Resolution::WrittenOff,
    ];

    /// Its name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Resolution::Accepted => "accepted",
            Resolution::Refund => "refund",
            Resolution::Adjusted => "adjusted",
            Resolution::WrittenOff => "written_off",
        }
    }

    /// Reads a name.
    pub fn parse(name: &str) -> Option<Resolution> {
        Resolution::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Longest resolution note, in characters.
pub const NOTE_CHARS_MAX: usize = 1_000;

/// An operator's decision on an exception.
#[derive(Debug, Clone)]
pub struct Resolve {
    /// The exception.
    pub id: String,
    /// How.
    pub resolution: Resolution,
    /// Why (required).
    pub note: String,
    /// Who (required).
    pub by: String,
    /// `adjusted`: the correction in whole pesos, credited to the merchant's available balance
    /// from the network's account when positive, debited from it when negative.
    pub amount: Option<i64>,
    /// `adjusted`: the merchant, when the exception has none (money nobody's order explains).
    pub merchant: Option<MerchantId>,
}

/// Why a resolution was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No such exception.
    #[error("no exception {0}")]
    NotFound(String),
    /// Already resolved.
    #[error("exception {id} is {status}, not open")]
    NotOpen {
        /// The exception.
        id: String,
        /// Its status.
        status: String,
    },
    /// The request is incomplete or out of bounds.
    #[error("{0}")]
    Invalid(String),
    /// The ledger refused the correction (the merchant's available balance does not hold it).
    #[error("the ledger refused the correction: {0}")]
    Ledger(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves an open exception; an `adjusted` one posts its balanced correction in the same
/// unit of work. Evented `reconciliation.exception.resolved` to its merchant.
pub async fn resolve(
    store: &Store,
    clock: &Arc<dyn Clock>,
    r: Resolve,
) -> Result<ExceptionRecord, ResolveError> {
    let note = r.note.trim().to_owned();
    if note.is_empty() || note.chars().count() > NOTE_CHARS_MAX {
        return Err(ResolveError::Invalid(format!(
            "a note of 1 to {NOTE_CHARS_MAX} characters is required"
        )));
    }
    if r.by.trim().is_empty() {
        return Err(ResolveError::Invalid("who resolves it is required".into()));
    }
    match (r.resolution, r.amount) {
        (Resolution::Adjusted, None | Some(0)) => {
            return Err(ResolveError::Invalid(
                "an adjusted resolution needs a non-zero amount (whole pesos, + credits the merchant)".into(),
            ));
        }
        (Resolution::Adjusted, _) | (_, None) => {}
        (_, Some(_)) => {
            return Err(ResolveError::Invalid(
                "an amount is only for an adjusted resolution".into(),
            ));
        }
    }
    let clock = clock.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                let now = clock.now();
                let Some(e) = exceptions::get(&mut c, &r.id).await? else {
                    return Err(ResolveError::NotFound(r.id.clone()));
                };
                if e.status != "open" {
                    return Err(ResolveError::NotOpen {
                        id: e.id,
                        status: e.status,
                    });
                }
                let mode = if e.livemode { Mode::Live } else { Mode::Test };
                let merchant: Option<MerchantId> = match (&e.merchant_id, r.merchant) {
                    (Some(m), _) => m.parse().ok(),
                    (None, m) => m,
                };
                let mut adjustment_id = None;
                if let Some(amount) = r.amount {
                    let Some(merchant) = merchant else {
                        return Err(ResolveError::Invalid(
                            "this exception has no merchant: name the merchant the correction credits or debits".into(),
                        ));
                    };
                    let network = e.network.clone().unwrap_or_default();
                    if network.is_empty() {
                        return Err(ResolveError::Invalid("this exception names no network".into()));
                    }
                    let magnitude = Amount::new(amount.saturating_abs())
                        .map_err(|err| ResolveError::Invalid(err.to_string()))?;
                    let network_account = AccountKey::network(
                        AccountKind::NetworkReceivable,
                        &network,
                        mode,
                        Currency::Cop,
                    );
                    let available = AccountKey::merchant(
                        AccountKind::MerchantAvailable,
                        merchant,
                        mode,
                        Currency::Cop,
                    );
                    let (debit, credit) = if amount > 0 {
                        (network_account, available)
                    } else {
                        (available, network_account)
                    };
                    let batch_id: TransferId = new_id(&*clock);
                    let batch = cajero_store::ledger::NewBatch {
                        id: batch_id.to_string(),
                        merchant_id: Some(merchant),
                        mode,
                        currency: Currency::Cop,
                        code: TransferCode::Adjustment,
                        source_id: Some(e.id.clone()),
                        available_on: None,
                        transfers: vec![Transfer {
                            id: format!("{batch_id}.0"),
                            debit,
                            credit,
                            amount: magnitude,
                            mode: TransferMode::Single,
                            code: TransferCode::Adjustment,
                        }],
                    };
                    cajero_store::ledger::post_batch(&mut c, &batch, now)
                        .await
                        .map_err(|err| match err {
                            cajero_store::ledger::LedgerError::Store(s) => ResolveError::Store(s),
                            other => ResolveError::Ledger(other.to_string()),
                        })?;
                    adjustment_id = Some(batch_id.to_string());
                }
                let done = exceptions::resolve_with(
                    &mut c,
                    &e.id,
                    &exceptions::Resolution {
                        resolution: r.resolution.as_str(),
                        note: &note,
                        by: r.by.trim(),
                        adjustment_id: adjustment_id.as_deref(),
                    },
                    now,
                )
                .await?;
                if !done {
                    return Err(ResolveError::NotOpen {
                        id: e.id,
                        status: "resolved".into(),
                    });
                }
                let Some(resolved) = exceptions::get(&mut c, &e.id).await? else {
                    return Err(ResolveError::NotFound(e.id));
                };
                if let Some(merchant) = resolved.merchant_id.as_deref().and_then(|m| m.parse().ok()) {
                    events::emit(
                        &mut c,
                        merchant,
                        resolved.livemode,
                        EventType::ReconciliationExceptionResolved,
                        &view::exception_json(&resolved),
                        new_id(&*clock),
                        now,
                    )
                    .await?;
                }
                tracing::info!(exception = %resolved.id, resolution = r.resolution.as_str(), by = %r.by, "exception resolved");
                Ok(resolved)
            })
        })
        .await
}

/// Raises an alert for every exception open longer than `after`: `alert.raised` to its
/// merchant (once per exception) and an error line in the log for the operator.
pub async fn alert_overdue(
    store: &Store,
    clock: &Arc<dyn Clock>,
    after: jiff::SignedDuration,
) -> Result<usize, StoreError> {
    let clock = clock.clone();
    store
        .write(move |mut c| {
            Box::pin(async move {
                let now = clock.now();
                let before = now.checked_sub(after).unwrap_or(now);
                let overdue = exceptions::take_overdue(&mut c, before, now, 500).await?;
                for e in &overdue {
                    tracing::error!(exception = %e.id, kind = %e.kind, merchant = ?e.merchant_id,
                                    "ALERT exception_overdue: a reconciliation exception is still open");
                    if let Some(merchant) = e.merchant_id.as_deref().and_then(|m| m.parse().ok()) {
                        let mode = if e.livemode { Mode::Live } else { Mode::Test };
                        let id = EventId::derived(
                            EventId::min_at(u64::try_from(now.as_millisecond()).unwrap_or(0)),
                            &format!("alert:exception_overdue:{}", e.id),
                        );
                        crate::settlement::raise_alert(
                            &mut c,
                            merchant,
                            mode,
                            id,
                            "exception_overdue",
                            &format!(
                                "Reconciliation exception {} ({}) has been open since {}.",
                                e.id,
                                e.kind,
                                crate::time::rfc3339(Micros(e.created_at).to_timestamp())
                            ),
                            now,
                        )
                        .await?;
                    }
                }
                Ok(overdue.len())
            })
        })
        .await
}

/// A merchant's reconciliation of one day: every line of the day's files that is one of its
/// orders (or one of its orders a file lacks).
#[derive(Debug, Clone)]
pub struct Report {
    /// The day.
    pub date: Date,
    /// The day's imported files (of the merchant's mode).
    pub files: Vec<FileRecord>,
    /// The lines.
    pub rows: Vec<records::ReportRow>,
}

/// The report of `date` for `merchant` in `mode`.
pub async fn report(
    store: &Store,
    merchant: MerchantId,
    mode: Mode,
    date: Date,
) -> Result<Report, StoreError> {
    store
        .read(move |mut c| {
            Box::pin(async move {
                let files: Vec<FileRecord> = records::files_of_day(&mut c, mode, &date.to_string())
                    .await?
                    .into_iter()
                    .filter(|f| f.status == "imported")
                    .collect();
                let mut rows = Vec::new();
                for f in &files {
                    rows.extend(records::report_rows(&mut c, &f.id, &merchant.to_string()).await?);
                }
                Ok(Report { date, files, rows })
            })
        })
        .await
}
