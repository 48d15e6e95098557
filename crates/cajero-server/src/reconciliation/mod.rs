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

use std::collections::BTreeMap;

use cajero_domain::id::MerchantId;
use cajero_domain::merchant::Mode;
use cajero_domain::reconcile::Kind;
use cajero_store::reconciliation::{self as records, FileRecord, TieOutRow};
use cajero_store::{Store, StoreError};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

pub mod config;
mod findings;
mod import;
pub mod job;
mod resolution;
pub mod source;
pub mod view;

pub use config::ReconciliationConfig;
pub use findings::exception_id;
pub use import::{day_bounds, import};
pub(crate) use resolution::resolve_overdue_alert;
pub use resolution::{
    NOTE_CHARS_MAX, Resolution, Resolve, ResolveError, alert_overdue, exception_object, resolve,
};
pub use source::{Problem, Refused};

/// Lines written per unit of work.
pub const LINES_PER_UNIT: usize = 50_000;
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
    pub read: std::time::Duration,
    /// Loading the orders (the day's paid ones, then those lines name) and matching.
    pub matching: std::time::Duration,
    /// Writing lines, exceptions, tie-outs and the file's completion.
    pub write: std::time::Duration,
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
