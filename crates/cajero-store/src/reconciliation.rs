//! Reconciliation's records: imported files (known by their hash), every line's outcome, each
//! file's tie-out, and the orders a file is matched against. The decisions are
//! `cajero_domain::reconcile`'s; this module only reads and writes.

use cajero_domain::merchant::Mode;
use jiff::Timestamp;

use sqlx::AssertSqlSafe;

use crate::{Conn, Micros, StoreError, execute, fetch};

/// Lines written per statement batch on PostgreSQL (each column one array bind).
pub const LINES_PER_INSERT: usize = 5_000;

/// An imported (or refused) file.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct FileRecord {
    /// `rcf_…`.
    pub id: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Live or test.
    pub livemode: bool,
    /// The route it came through.
    pub route: String,
    /// The cash network.
    pub network: String,
    /// The Bogotá day it reports (YYYY-MM-DD).
    pub business_date: String,
    /// Its format.
    pub format: String,
    /// job, cli, upload.
    pub source: String,
    /// Who imported it (an operator, or the job).
    pub imported_by: Option<String>,
    /// importing, imported, rejected.
    pub status: String,
    /// Size.
    pub byte_count: i64,
    /// Lines (payments) in it.
    pub line_count: i64,
    /// Whole pesos of its paid lines.
    pub total: i64,
    /// Lines matched.
    pub matched: i64,
    /// Lines and orders that are exceptions.
    pub exceptions: i64,
    /// JSON array: a rejected file's problems, an imported one's warnings.
    pub problems: String,
    /// When the import began.
    pub created_at: i64,
    /// When it finished.
    pub completed_at: Option<i64>,
}

const FILE_COLUMNS: &str = "id, sha256, livemode, route, network, business_date, format, source, \
     imported_by, status, byte_count, line_count, total, matched, exceptions, problems, \
     created_at, completed_at";

/// The file with these bytes from `route` and `network` for `date` (YYYY-MM-DD), if seen.
pub async fn file_by_hash(
    conn: &mut Conn<'_>,
    sha256: &str,
    mode: Mode,
    route: &str,
    network: &str,
    date: &str,
) -> Result<Option<FileRecord>, StoreError> {
    Ok(fetch!(
        optional,
        conn,
        FileRecord,
        AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM reconciliation_files WHERE sha256 = $1 AND livemode = $2 \
             AND route = $3 AND network = $4 AND business_date = $5"
        )),
        sha256,
        mode.is_live(),
        route,
        network,
        date,
    )?)
}

/// One file by id.
pub async fn file(conn: &mut Conn<'_>, id: &str) -> Result<Option<FileRecord>, StoreError> {
    Ok(fetch!(
        optional,
        conn,
        FileRecord,
        AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM reconciliation_files WHERE id = $1"
        )),
        id,
    )?)
}

/// Files reporting `date` (YYYY-MM-DD) in `mode`, oldest first.
pub async fn files_of_day(
    conn: &mut Conn<'_>,
    mode: Mode,
    date: &str,
) -> Result<Vec<FileRecord>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        FileRecord,
        AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM reconciliation_files \
             WHERE livemode = $1 AND business_date = $2 ORDER BY created_at, id"
        )),
        mode.is_live(),
        date,
    )?)
}

/// Whether a file of `route` and `network` for `date` has been imported (not refused).
pub async fn day_imported(
    conn: &mut Conn<'_>,
    mode: Mode,
    route: &str,
    network: &str,
    date: &str,
) -> Result<bool, StoreError> {
    let (n,) = fetch!(
        one,
        conn,
        (i64,),
        "SELECT COUNT(*) FROM reconciliation_files WHERE livemode = $1 AND route = $2 \
         AND network = $3 AND business_date = $4 AND status = 'imported'",
        mode.is_live(),
        route,
        network,
        date,
    )?;
    Ok(n > 0)
}

/// Records a file as it begins to import, or as refused (`status` `rejected`). A refused
/// file with the same hash is replaced.
pub async fn insert_file(conn: &mut Conn<'_>, f: &FileRecord) -> Result<(), StoreError> {
    execute!(
        conn,
        "DELETE FROM reconciliation_files WHERE sha256 = $1 AND livemode = $2 AND route = $3 \
         AND network = $4 AND status = 'rejected'",
        &f.sha256,
        f.livemode,
        &f.route,
        &f.network,
    )?;
    execute!(
        conn,
        AssertSqlSafe(format!(
            "INSERT INTO reconciliation_files ({FILE_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        )),
        &f.id,
        &f.sha256,
        f.livemode,
        &f.route,
        &f.network,
        &f.business_date,
        &f.format,
        &f.source,
        &f.imported_by,
        &f.status,
        f.byte_count,
        f.line_count,
        f.total,
        f.matched,
        f.exceptions,
        &f.problems,
        f.created_at,
        f.completed_at,
    )?;
    Ok(())
}

/// Marks an import finished with its counts.
pub async fn complete_file(
    conn: &mut Conn<'_>,
    id: &str,
    matched: i64,
    exceptions: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    execute!(
        conn,
        "UPDATE reconciliation_files SET status = 'imported', matched = $1, exceptions = $2, \
         completed_at = $3 WHERE id = $4",
        matched,
        exceptions,
        Micros::from(now).0,
        id,
    )?;
    Ok(())
}

/// One line's (or one absent order's) outcome.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct LineRow {
    /// The file.
    pub file_id: String,
    /// Position: the line number, or after the last line for an order the file lacks.
    pub seq: i64,
    /// The file's line number (`None`: an order the file lacks).
    pub line: Option<i64>,
    /// collection, payout.
    pub kind: String,
    /// The order's merchant, when found.
    pub merchant_id: Option<String>,
    /// Our order, when found.
    pub order_id: Option<String>,
    /// The code the line states.
    pub code: Option<String>,
    /// The network's order id the line states.
    pub network_order_id: Option<String>,
    /// Whole pesos as the file states them (an absent order: ours).
    pub amount: i64,
    /// paid, open, closed, absent.
    pub network_status: String,
    /// Counter or branch.
    pub counter: Option<String>,
    /// The outcome's code.
    pub outcome: String,
    /// The exception it raised.
    pub exception_id: Option<String>,
}

/// Writes lines; a line already written (same file and position) is left as it was, so an
/// interrupted import can be run again.
pub async fn insert_lines(conn: &mut Conn<'_>, rows: &[LineRow]) -> Result<(), StoreError> {
    match conn {
        Conn::Sqlite(c) => {
            let mut statement = c
                .prepare_cached(
                    "INSERT INTO reconciliation_lines (file_id, seq, line, kind, merchant_id, \
                     order_id, code, network_order_id, amount, network_status, counter, outcome, \
                     exception_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
                     ON CONFLICT (file_id, seq) DO NOTHING",
                )
                .map_err(crate::sqlite::database)?;
            for r in rows {
                statement
                    .execute(rusqlite::params![
                        r.file_id,
                        r.seq,
                        r.line,
                        r.kind,
                        r.merchant_id,
                        r.order_id,
                        r.code,
                        r.network_order_id,
                        r.amount,
                        r.network_status,
                        r.counter,
                        r.outcome,
                        r.exception_id,
                    ])
                    .map_err(crate::sqlite::database)?;
            }
        }
        Conn::Postgres(c) => {
            for chunk in rows.chunks(LINES_PER_INSERT) {
                let col = |f: &dyn Fn(&LineRow) -> Option<String>| -> Vec<Option<String>> {
                    chunk.iter().map(f).collect()
                };
                sqlx::query(
                    "INSERT INTO reconciliation_lines (file_id, seq, line, kind, merchant_id, \
                     order_id, code, network_order_id, amount, network_status, counter, outcome, \
                     exception_id) SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], \
                     $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], \
                     $10::text[], $11::text[], $12::text[], $13::text[]) \
                     ON CONFLICT (file_id, seq) DO NOTHING",
                )
                .bind(col(&|r| Some(r.file_id.clone())))
                .bind(chunk.iter().map(|r| r.seq).collect::<Vec<i64>>())
                .bind(chunk.iter().map(|r| r.line).collect::<Vec<Option<i64>>>())
                .bind(col(&|r| Some(r.kind.clone())))
                .bind(col(&|r| r.merchant_id.clone()))
                .bind(col(&|r| r.order_id.clone()))
                .bind(col(&|r| r.code.clone()))
                .bind(col(&|r| r.network_order_id.clone()))
                .bind(chunk.iter().map(|r| r.amount).collect::<Vec<i64>>())
                .bind(col(&|r| Some(r.network_status.clone())))
                .bind(col(&|r| r.counter.clone()))
                .bind(col(&|r| Some(r.outcome.clone())))
                .bind(col(&|r| r.exception_id.clone()))
                .execute(&mut **c)
                .await?;
            }
        }
    }
    Ok(())
}

/// The lines of `file_id` of one merchant (`None`: every line), in file order.
pub async fn lines_of_file(
    conn: &mut Conn<'_>,
    file_id: &str,
    merchant: Option<&str>,
) -> Result<Vec<LineRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        LineRow,
        "SELECT file_id, seq, line, kind, merchant_id, order_id, code, network_order_id, amount, \
         network_status, counter, outcome, exception_id FROM reconciliation_lines \
         WHERE file_id = $1 AND ($2 IS NULL OR merchant_id = $2) ORDER BY seq",
        file_id,
        merchant,
    )?)
}

/// A file's tie-out for one kind.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct TieOutRow {
    /// The file.
    pub file_id: String,
    /// collection, payout.
    pub kind: String,
    /// Live or test.
    pub livemode: bool,
    /// The route.
    pub route: String,
    /// The cash network.
    pub network: String,
    /// The day.
    pub business_date: String,
    /// Σ paid lines.
    pub file_total: i64,
    /// Σ matched orders.
    pub matched_total: i64,
    /// Σ ledger postings of the orders paid that day.
    pub ledger_total: i64,
    /// file − matched.
    pub file_difference: i64,
    /// ledger − matched.
    pub ledger_difference: i64,
    /// What the exceptions explain.
    pub explained: i64,
    /// What nothing explains.
    pub unexplained: i64,
    /// When computed.
    pub created_at: i64,
}

/// Records a tie-out (once per file and kind).
pub async fn insert_tie_out(conn: &mut Conn<'_>, t: &TieOutRow) -> Result<(), StoreError> {
    execute!(
        conn,
        "INSERT INTO reconciliation_tie_outs (file_id, kind, livemode, route, network, \
         business_date, file_total, matched_total, ledger_total, file_difference, \
         ledger_difference, explained, unexplained, created_at) VALUES ($1, $2, $3, $4, $5, $6, \
         $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (file_id, kind) DO NOTHING",
        &t.file_id,
        &t.kind,
        t.livemode,
        &t.route,
        &t.network,
        &t.business_date,
        t.file_total,
        t.matched_total,
        t.ledger_total,
        t.file_difference,
        t.ledger_difference,
        t.explained,
        t.unexplained,
        t.created_at,
    )?;
    Ok(())
}

/// The tie-outs of a day in `mode`.
pub async fn tie_outs_of_day(
    conn: &mut Conn<'_>,
    mode: Mode,
    date: &str,
) -> Result<Vec<TieOutRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        TieOutRow,
        "SELECT file_id, kind, livemode, route, network, business_date, file_total, \
         matched_total, ledger_total, file_difference, ledger_difference, explained, \
         unexplained, created_at FROM reconciliation_tie_outs \
         WHERE livemode = $1 AND business_date = $2 ORDER BY network, route, file_id, kind",
        mode.is_live(),
        date,
    )?)
}

/// One of our orders as reconciliation sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct BookRow {
    /// `pi_…` or `po_…`.
    pub id: String,
    /// collection, payout.
    pub kind: String,
    /// Its merchant.
    pub merchant_id: String,
    /// The network's id.
    pub network_order_id: Option<String>,
    /// The payment code (vouchers).
    pub code: Option<String>,
    /// Whole pesos.
    pub amount: i64,
    /// Fees charged on it.
    pub fee: i64,
    /// Its status.
    pub status: String,
    /// When paid (µs).
    pub paid_at: Option<i64>,
    /// What the ledger posted for it on the network's account.
    pub ledger_amount: i64,
    /// The file that matched it, if one did.
    pub reconciled_file: Option<String>,
    /// That file's line.
    pub reconciled_line: Option<i64>,
}

/// The columns of a pay-in as a [`BookRow`]; `$1` is the network's receivable account, `$2`
/// the file being imported (its own lines do not count as an earlier match).
const PAYIN_BOOK: &str = "SELECT p.id, 'collection' AS kind, p.merchant_id, \
     p.network_order_id, p.payment_code AS code, p.amount, p.fee, p.status, p.paid_at, \
     CAST(COALESCE((SELECT SUM(t.amount) FROM ledger_batches b JOIN ledger_transfers t \
       ON t.batch_id = b.id WHERE b.source_id = p.id AND t.debit_account_id = $1 \
       AND t.code = 'payin' AND t.mode IN ('single', 'post_pending')), 0) AS BIGINT) AS ledger_amount, \
     (SELECT l.file_id FROM reconciliation_lines l WHERE l.order_id = p.id \
       AND l.outcome = 'matched' AND l.file_id <> $2 LIMIT 1) AS reconciled_file, \
     (SELECT l.line FROM reconciliation_lines l WHERE l.order_id = p.id \
       AND l.outcome = 'matched' AND l.file_id <> $2 LIMIT 1) AS reconciled_line \
     FROM payins p";

/// The columns of a payout as a [`BookRow`]; `$1` is the network's payable account, `$2` the
/// file being imported.
const PAYOUT_BOOK: &str = "SELECT p.id, 'payout' AS kind, p.merchant_id, \
     p.network_order_id, CAST(NULL AS TEXT) AS code, p.amount, p.fee, p.status, p.paid_at, \
     CAST(COALESCE((SELECT SUM(t.amount) FROM ledger_batches b JOIN ledger_transfers t \
       ON t.batch_id = b.id WHERE b.source_id = p.id AND t.credit_account_id = $1 \
       AND t.code = 'payout' AND t.mode IN ('single', 'post_pending')), 0) AS BIGINT) AS ledger_amount, \
     (SELECT l.file_id FROM reconciliation_lines l WHERE l.order_id = p.id \
       AND l.outcome = 'matched' AND l.file_id <> $2 LIMIT 1) AS reconciled_file, \
     (SELECT l.line FROM reconciliation_lines l WHERE l.order_id = p.id \
       AND l.outcome = 'matched' AND l.file_id <> $2 LIMIT 1) AS reconciled_line \
     FROM payouts p";

/// Where the books of one route's network are, for [`paid_between`] and [`find_order`].
#[derive(Debug, Clone, Copy)]
pub struct Books<'a> {
    /// Live or test.
    pub mode: Mode,
    /// The route.
    pub route: &'a str,
    /// The cash network.
    pub network: &'a str,
    /// The ledger id of the network's receivable account.
    pub receivable: &'a str,
    /// The ledger id of the network's payable account.
    pub payable: &'a str,
    /// The file being imported.
    pub file_id: &'a str,
}

/// Hands `each` the pay-ins (and, with `payouts`, the payouts) of `books` paid in
/// `[from, to)`, one row at a time: a day is up to a million of them, and the caller keeps
/// only what it needs of each.
pub async fn paid_between(
    conn: &mut Conn<'_>,
    books: Books<'_>,
    from: Timestamp,
    to: Timestamp,
    payouts: bool,
    each: &mut (dyn FnMut(&BookRef<'_>) + Send),
) -> Result<(), StoreError> {
    let (from, to) = (Micros::from(from).0, Micros::from(to).0);
    const DAY: &str = "WHERE p.network = $3 AND p.paid_at >= $4 AND p.paid_at < $5 \
                       AND p.livemode = $6 AND p.route = $7 AND p.status = 'paid'";
    let mut queries = vec![(format!("{PAYIN_BOOK} {DAY}"), books.receivable)];
    if payouts {
        queries.push((format!("{PAYOUT_BOOK} {DAY}"), books.payable));
    }
    for (sql, account) in queries {
        match conn {
            // A day is up to a million rows: read them by position, not through the generic
            // row deserializer, which looks every column's name up again on every row (it
            // took 3 of the 5 s a 1,000,000-order day spent here; `cajero bench reconcile`).
            Conn::Sqlite(c) => {
                let mut statement = c.prepare_cached(&sql).map_err(crate::sqlite::database)?;
                let mut found = statement
                    .query(rusqlite::named_params! {
                        "$1": account, "$2": books.file_id, "$3": books.network, "$4": from,
                        "$5": to, "$6": books.mode.is_live(), "$7": books.route,
                    })
                    .map_err(crate::sqlite::database)?;
                while let Some(row) = found.next().map_err(crate::sqlite::database)? {
                    each(&book_ref(row).map_err(crate::sqlite::database)?);
                }
            }
            Conn::Postgres(_) => fetch!(
                all,
                conn,
                BookRow,
                AssertSqlSafe(sql),
                account,
                books.file_id,
                books.network,
                from,
                to,
                books.mode.is_live(),
                books.route,
            )?
            .iter()
            .for_each(|row| each(&BookRef::of(row))),
        }
    }
    Ok(())
}

/// A [`BookRow`] borrowed from the database's row: a day's million orders are read without
/// copying each text column into a `String` first.
#[derive(Debug, Clone, Copy)]
pub struct BookRef<'a> {
    /// `pi_…` or `po_…`.
    pub id: &'a str,
    /// collection, payout.
    pub kind: &'a str,
    /// Its merchant.
    pub merchant_id: &'a str,
    /// The network's id.
    pub network_order_id: Option<&'a str>,
    /// The payment code (vouchers).
    pub code: Option<&'a str>,
    /// Whole pesos.
    pub amount: i64,
    /// Its status.
    pub status: &'a str,
    /// When paid (µs).
    pub paid_at: Option<i64>,
    /// What the ledger posted for it on the network's account.
    pub ledger_amount: i64,
    /// The file that matched it, if one did.
    pub reconciled_file: Option<&'a str>,
    /// That file's line.
    pub reconciled_line: Option<i64>,
}

impl<'a> BookRef<'a> {
    /// A view of an owned row.
    pub fn of(row: &'a BookRow) -> BookRef<'a> {
        BookRef {
            id: &row.id,
            kind: &row.kind,
            merchant_id: &row.merchant_id,
            network_order_id: row.network_order_id.as_deref(),
            code: row.code.as_deref(),
            amount: row.amount,
            status: &row.status,
            paid_at: row.paid_at,
            ledger_amount: row.ledger_amount,
            reconciled_file: row.reconciled_file.as_deref(),
            reconciled_line: row.reconciled_line,
        }
    }
}

/// A [`BookRef`] from the columns of `PAYIN_BOOK` / `PAYOUT_BOOK`, in their order.
fn book_ref<'a>(row: &'a rusqlite::Row<'_>) -> rusqlite::Result<BookRef<'a>> {
    let text = |i: usize| -> rusqlite::Result<&'a str> {
        row.get_ref(i)?.as_str().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let text_opt = |i: usize| -> rusqlite::Result<Option<&'a str>> {
        row.get_ref(i)?.as_str_or_null().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    Ok(BookRef {
        id: text(0)?,
        kind: text(1)?,
        merchant_id: text(2)?,
        network_order_id: text_opt(3)?,
        code: text_opt(4)?,
        amount: row.get(5)?,
        status: text(7)?,
        paid_at: row.get(8)?,
        ledger_amount: row.get(9)?,
        reconciled_file: text_opt(10)?,
        reconciled_line: row.get(11)?,
    })
}

/// How a line names its order.
#[derive(Debug, Clone, Copy)]
pub enum OrderKey<'a> {
    /// Our id.
    Id(&'a str),
    /// The network's order id.
    NetworkOrder(&'a str),
    /// The payment code (vouchers).
    Code(&'a str),
}

/// The order of `books` that `key` names (a pay-in, or with `payout` a payout).
pub async fn find_order(
    conn: &mut Conn<'_>,
    books: Books<'_>,
    payout: bool,
    key: OrderKey<'_>,
) -> Result<Option<BookRow>, StoreError> {
    let (column, value) = match key {
        OrderKey::Id(v) => ("p.id", v),
        OrderKey::NetworkOrder(v) => ("p.network_order_id", v),
        OrderKey::Code(v) if !payout => ("p.payment_code", v),
        OrderKey::Code(_) => return Ok(None),
    };
    let (base, account) = if payout {
        (PAYOUT_BOOK, books.payable)
    } else {
        (PAYIN_BOOK, books.receivable)
    };
    Ok(fetch!(
        optional,
        conn,
        BookRow,
        AssertSqlSafe(format!(
            "{base} WHERE {column} = $3 AND p.network = $4 AND p.livemode = $5 LIMIT 1"
        )),
        account,
        books.file_id,
        value,
        books.network,
        books.mode.is_live(),
    )?)
}

/// A line of a merchant's report: the file's line with its order's figures.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct ReportRow {
    /// The file.
    pub file_id: String,
    /// The file's line (`None`: an order the file lacks).
    pub line: Option<i64>,
    /// collection, payout.
    pub kind: String,
    /// Our order.
    pub order_id: Option<String>,
    /// The merchant's own reference for it.
    pub reference: Option<String>,
    /// The payment code (the line's, else the order's).
    pub code: Option<String>,
    /// The network's order id.
    pub network_order_id: Option<String>,
    /// The counter or branch.
    pub counter: Option<String>,
    /// What the file states (an order it lacks: ours).
    pub network_amount: i64,
    /// Ours, when found.
    pub amount: Option<i64>,
    /// Fees on it.
    pub fee: Option<i64>,
    /// Our status.
    pub status: Option<String>,
    /// The network's status.
    pub network_status: String,
    /// The outcome.
    pub outcome: String,
    /// Its exception.
    pub exception_id: Option<String>,
}

/// One merchant's lines of `file_id`, with their orders' figures, in file order.
pub async fn report_rows(
    conn: &mut Conn<'_>,
    file_id: &str,
    merchant: &str,
) -> Result<Vec<ReportRow>, StoreError> {
    Ok(fetch!(
        all,
        conn,
        ReportRow,
        "SELECT l.file_id, l.line, l.kind, l.order_id, COALESCE(p.reference, q.reference) AS reference, \
         COALESCE(l.code, p.payment_code) AS code, \
         COALESCE(l.network_order_id, p.network_order_id, q.network_order_id) AS network_order_id, \
         l.counter, \
         l.amount AS network_amount, COALESCE(p.amount, q.amount) AS amount, \
         COALESCE(p.fee, q.fee) AS fee, COALESCE(p.status, q.status) AS status, \
         l.network_status, l.outcome, l.exception_id FROM reconciliation_lines l \
         LEFT JOIN payins p ON p.id = l.order_id LEFT JOIN payouts q ON q.id = l.order_id \
         WHERE l.file_id = $1 AND l.merchant_id = $2 ORDER BY l.seq",
        file_id,
        merchant,
    )?)
}
