//! Importing one file: read it, load the orders it is about, decide every line
//! (`cajero_domain::reconcile`), write the lines, exceptions and tie-out.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cajero_domain::calendar;
use cajero_domain::id::ReconciliationId;
use cajero_domain::ledger::{AccountKey, AccountKind};
use cajero_domain::merchant::Mode;
use cajero_domain::money::Currency;
use cajero_domain::reconcile::{self, BookStatus, Kind, Line, LineStatus, Outcome};
use cajero_store::reconciliation::{
    self as records, BookRef, Books, FileRecord, LineRow, OrderKey, TieOutRow,
};
use cajero_store::{Micros, Store, StoreError};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::clock::{Clock, new_id};

use super::findings::{self, Found};
use super::{
    FILE_BYTES_MAX, Import, ImportError, ImportTimings, Imported, LINES_PER_UNIT, LOOKUPS_PER_READ,
    Refused, Summary, file_hash, source, view,
};

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
    let read = tokio::task::spawn_blocking(move || {
        source::read(&bytes, format, &network, lenient).and_then(|file| {
            if file.fractional.is_empty() {
                Ok(file)
            } else {
                // Valid Asobancaria, but no order of cajero's has cents.
                Err(Refused {
                    problems: file.fractional,
                    more: false,
                })
            }
        })
    })
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
            let (mode, problems) = (request.mode, refused.problems.len());
            store
                .write(move |mut c| {
                    Box::pin(async move {
                        records::insert_file(&mut c, &stored).await?;
                        raise_rejected(&mut c, mode, &stored, problems, now).await
                    })
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
    // The day in two halves, read at once on two connections: a million orders' reads are
    // most of an import's time, and the machine has more than one core.
    let middle = from + (to.duration_since(from) / 2);
    let (mut orders, later) = tokio::try_join!(
        paid_orders(store, &books, from, middle, payouts),
        paid_orders(store, &books, middle, to, payouts),
    )?;
    orders.extend(later);
    let mut decided = reconcile::reconcile(&lines, &orders.list, date, covers);
    // Lines the day's paid orders do not explain: look their orders up one by one.
    let unknown: Vec<usize> = decided
        .lines
        .iter()
        .enumerate()
        .filter(|(_, r)| r.order.is_none())
        .map(|(i, _)| i)
        .collect();
    if !unknown.is_empty() {
        let mut known: HashSet<Box<str>> = orders.list.iter().map(|o| o.id.clone()).collect();
        let before = orders.list.len();
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
                if known.insert(row.id.as_str().into()) {
                    orders.push(&BookRef::of(&row));
                }
            }
        }
        if orders.list.len() > before {
            decided = reconcile::reconcile(&lines, &orders.list, date, covers);
        }
    }
    let timings = ImportTimings {
        read,
        matching: matching_started.elapsed(),
        write: Duration::ZERO,
    };
    write_results(
        store, clock, request, record, &lines, &orders, decided, date, timings,
    )
    .await
}

/// The orders of `books` paid in `[from, to)`.
async fn paid_orders(
    store: &Store,
    books: &BooksOwned,
    from: Timestamp,
    to: Timestamp,
    payouts: bool,
) -> Result<Orders, StoreError> {
    let books = books.clone();
    store
        .read(move |mut c| {
            Box::pin(async move {
                let (receivable, payable) = network_accounts(&books.network, books.mode);
                let mut orders = Orders::default();
                let b = books.as_ref(&receivable, &payable);
                records::paid_between(&mut c, b, from, to, payouts, &mut |row| {
                    orders.push(row);
                })
                .await?;
                Ok::<_, StoreError>(orders)
            })
        })
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

/// The orders an import matches against, compact (a million of them must fit the memory
/// target): the domain's view of each, and its merchant.
#[derive(Debug, Default)]
pub(super) struct Orders {
    /// As `cajero_domain::reconcile` sees them.
    pub(super) list: Vec<reconcile::Order>,
    merchant_of: Vec<u32>,
    merchants: Vec<String>,
    merchant_index: std::collections::HashMap<Box<str>, u32>,
}

impl Orders {
    fn push(&mut self, row: &BookRef<'_>) {
        let merchant = self.intern(row.merchant_id);
        self.merchant_of.push(merchant);
        self.list.push(book_order(row));
    }

    /// Appends `other`'s orders.
    fn extend(&mut self, other: Orders) {
        let Orders {
            list,
            merchant_of,
            merchants,
            ..
        } = other;
        let remap: Vec<u32> = merchants.iter().map(|m| self.intern(m)).collect();
        self.merchant_of.extend(merchant_of.into_iter().map(|m| {
            remap
                .get(usize::try_from(m).unwrap_or(usize::MAX))
                .copied()
                .unwrap_or(u32::MAX)
        }));
        self.list.extend(list);
    }

    fn intern(&mut self, merchant: &str) -> u32 {
        match self.merchant_index.get(merchant) {
            Some(i) => *i,
            None => {
                let i = u32::try_from(self.merchants.len()).unwrap_or(u32::MAX);
                self.merchants.push(merchant.to_owned());
                self.merchant_index.insert(merchant.into(), i);
                i
            }
        }
    }

    /// The merchant of order `i`.
    pub(super) fn merchant(&self, i: usize) -> &str {
        self.merchant_of
            .get(i)
            .and_then(|m| self.merchants.get(usize::try_from(*m).ok()?))
            .map_or("", String::as_str)
    }
}

fn book_order(row: &BookRef<'_>) -> reconcile::Order {
    let status = match row.status {
        "paid" => BookStatus::Paid,
        "expired" => BookStatus::Expired,
        "canceled" | "failed" => BookStatus::Canceled,
        _ => BookStatus::Open,
    };
    reconcile::Order {
        id: row.id.into(),
        kind: if row.kind == "payout" {
            Kind::Payout
        } else {
            Kind::Collection
        },
        network_order_id: row.network_order_id.map(Into::into),
        code: row
            .code
            .filter(|c| !c.is_empty())
            .map(|c| source::code_key(c).into()),
        amount: row.amount,
        status,
        paid_on: row
            .paid_at
            .map(|t| calendar::bogota_date(Micros(t).to_timestamp())),
        ledger_amount: row.ledger_amount,
        reconciled_in: match (row.reconciled_file, row.reconciled_line) {
            (Some(f), line) => Some((
                f.into(),
                line.and_then(|l| u32::try_from(l).ok()).unwrap_or(0),
            )),
            _ => None,
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn write_results(
    store: &Store,
    clock: &Arc<dyn Clock>,
    request: &Import,
    mut record: FileRecord,
    lines: &[Line],
    orders: &Orders,
    decided: reconcile::Reconciled,
    date: Date,
    mut timings: ImportTimings,
) -> Result<Imported, ImportError> {
    let write_started = Instant::now();
    let mut outcomes: BTreeMap<&'static str, u64> = BTreeMap::new();
    for result in &decided.lines {
        *outcomes.entry(result.outcome.as_str()).or_default() += 1;
    }
    if !decided.missing_in_network.is_empty() {
        outcomes.insert(
            Outcome::MissingInNetwork.as_str(),
            u64::try_from(decided.missing_in_network.len()).unwrap_or(u64::MAX),
        );
    }
    // A chunk of rows at a time: a million rows at once would not fit the memory target.
    let mut new_exceptions = 0u64;
    for (chunk, results) in lines
        .chunks(LINES_PER_UNIT)
        .zip(decided.lines.chunks(LINES_PER_UNIT))
    {
        let batch = chunk
            .iter()
            .zip(results)
            .map(|(line, result)| findings::line_row(&record, line, result, orders))
            .collect();
        new_exceptions += write_chunk(store, clock, request, &record.id, batch).await?;
    }
    let last_line = lines.iter().map(|l| i64::from(l.line)).max().unwrap_or(0);
    let absent: Vec<(LineRow, Option<Found>)> = decided
        .missing_in_network
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let seq = last_line + 1 + i64::try_from(n).unwrap_or(0);
            findings::absent_row(&record, orders, *i, seq)
        })
        .collect();
    for chunk in absent.chunks(LINES_PER_UNIT) {
        new_exceptions += write_chunk(store, clock, request, &record.id, chunk.to_vec()).await?;
    }
    let now = clock.now();
    let tie_outs: Vec<TieOutRow> = decided
        .tie_outs
        .iter()
        .map(|(kind, t)| findings::tie_out_row(&record, *kind, t, now))
        .collect();
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let matched = outcomes.get("matched").copied().unwrap_or(0);
    record.matched = count(matched);
    record.exceptions = count(outcomes.values().sum::<u64>() - matched);
    record.status = "imported".into();
    record.completed_at = Some(Micros::from(now).0);
    new_exceptions += finish(store, clock, request.mode, &record, &tie_outs).await?;
    for t in &tie_outs {
        crate::metrics::reconciliation_difference(
            request.mode.as_str(),
            &t.network,
            &t.kind,
            t.unexplained,
        );
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

/// Writes one chunk of rows with their exceptions in one unit of work; returns how many
/// exceptions were new.
async fn write_chunk(
    store: &Store,
    clock: &Arc<dyn Clock>,
    request: &Import,
    file_id: &str,
    chunk: Vec<(LineRow, Option<Found>)>,
) -> Result<u64, StoreError> {
    let (mode, network, file_id, clock) = (
        request.mode,
        request.network.clone(),
        file_id.to_owned(),
        clock.clone(),
    );
    store
        .write(move |mut c| {
            Box::pin(async move {
                let mut rows = Vec::with_capacity(chunk.len());
                let mut new = 0u64;
                for (mut row, found) in chunk {
                    if let Some(found) = &found {
                        let (id, fresh) =
                            findings::raise(&mut c, &*clock, mode, &network, &file_id, found)
                                .await?;
                        row.exception_id = Some(id);
                        new += u64::from(fresh);
                    }
                    rows.push(row);
                }
                records::insert_lines(&mut c, &rows).await?;
                Ok::<_, StoreError>(new)
            })
        })
        .await
}

/// Records the tie-outs (a difference nothing explains is an exception and an alert) and
/// marks the file imported, in one unit of work.
async fn finish(
    store: &Store,
    clock: &Arc<dyn Clock>,
    mode: Mode,
    file: &FileRecord,
    tie_outs: &[TieOutRow],
) -> Result<u64, StoreError> {
    let (tie_outs, file, clock) = (tie_outs.to_vec(), file.clone(), clock.clone());
    store
        .write(move |mut c| {
            Box::pin(async move {
                let mut new = 0;
                for t in &tie_outs {
                    records::insert_tie_out(&mut c, t).await?;
                    if t.unexplained == 0 {
                        continue;
                    }
                    let found = findings::tie_out_difference(&file, t);
                    if findings::raise(&mut c, &*clock, mode, &file.network, &file.id, &found)
                        .await?
                        .1
                    {
                        new += 1;
                        tracing::error!(file = %file.id, network = %file.network, kind = %t.kind,
                                        date = %t.business_date, unexplained = t.unexplained,
                                        "ALERT tie_out_difference: the file, the orders and the ledger do not tie out");
                        let spec = crate::alerts::AlertSpec {
                            mode,
                            code: crate::alerts::codes::RECONCILIATION_DIFFERENCE,
                            subject: tie_out_subject(&found.object_id),
                            merchant: None,
                            severity: crate::alerts::Severity::Critical,
                            message: found.detail.clone(),
                            details: serde_json::json!({
                                "file": file.id, "network": file.network, "kind": t.kind,
                                "date": t.business_date, "unexplained": t.unexplained,
                            }),
                        };
                        crate::alerts::raise(&mut c, clock.now(), spec).await?;
                    }
                }
                let done = Micros(file.completed_at.unwrap_or(file.created_at)).to_timestamp();
                records::complete_file(&mut c, &file.id, file.matched, file.exceptions, done)
                    .await?;
                crate::alerts::resolve(
                    &mut c,
                    done,
                    mode,
                    crate::alerts::codes::RECONCILIATION_FILE_REJECTED,
                    &file_subject(&file),
                    None,
                    &format!("file {} was imported", file.id),
                )
                .await?;
                Ok::<_, StoreError>(new)
            })
        })
        .await
}

/// The subject of a tie-out difference's alert (operator only: the merchants hear of their own
/// orders' exceptions): `tie_out:` and the exception's object (`rcf_…:collection`).
pub(crate) fn tie_out_subject(exception_object: &str) -> String {
    format!("tie_out:{exception_object}")
}

/// The subject of a rejected file's alert: the route, network and day the file was for
/// (a later good file for them resolves it), or the file when it named no day.
fn file_subject(file: &FileRecord) -> String {
    if file.business_date.is_empty() {
        return format!("file:{}", file.id);
    }
    format!(
        "file:{}:{}:{}",
        file.route, file.network, file.business_date
    )
}

/// Raises `reconciliation_file_rejected` for the operator.
async fn raise_rejected(
    c: &mut cajero_store::Conn<'_>,
    mode: cajero_domain::merchant::Mode,
    file: &FileRecord,
    problems: usize,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let spec = crate::alerts::AlertSpec {
        mode,
        code: crate::alerts::codes::RECONCILIATION_FILE_REJECTED,
        subject: file_subject(file),
        merchant: None,
        severity: crate::alerts::Severity::Warning,
        message: format!(
            "The {} file of route {} for {} does not add up ({problems} problem(s)); nothing of it was imported.",
            file.network, file.route, file.business_date
        ),
        details: serde_json::json!({
            "file": file.id, "route": file.route, "network": file.network,
            "date": file.business_date, "problems": problems,
        }),
    };
    crate::alerts::raise(c, now, spec).await.map(|_| ())
}
