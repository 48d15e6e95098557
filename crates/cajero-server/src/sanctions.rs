//! Sanctions lists in service: loading the publishers' files (`cajero sanctions load`), keeping
//! the newest of each source parsed in memory on every instance, and screening the people an
//! onboarding application names ([`SanctionsScreening`], the KYC service's
//! [`crate::kyc::Screening`]).
//!
//! The files are stored in the database (migration 0027) so that every instance screens with
//! the same version; an instance reparses when a newer list was loaded ([`Sanctions::refresh`],
//! at most every [`REFRESH_EVERY`]). The matching itself is `cajero_domain::sanctions`.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use cajero_domain::kyc::Application;
use cajero_domain::sanctions::{self, List, Score, SourceList, ofac, un};
use cajero_store::sanctions::{self as rows, ListRow, ListSummary};
use cajero_store::{Micros, Store, StoreError};
use jiff::Timestamp;

use crate::clock::{Clock, new_id};
use crate::operators::{Acting, audit_row};

/// How often an instance looks for a newer list before screening.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// A publisher's files to load.
#[derive(Debug, Clone)]
pub enum Files {
    /// OFAC's SDN list: `sdn.csv` and `alt.csv`.
    Ofac {
        /// `sdn.csv`.
        sdn: Vec<u8>,
        /// `alt.csv`.
        alt: Vec<u8>,
    },
    /// The UN Security Council consolidated list (XML).
    Un {
        /// The XML.
        xml: Vec<u8>,
    },
}

/// Why a list was not loaded or cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SanctionsError {
    /// OFAC's files do not parse.
    #[error("the OFAC files do not parse: {0}")]
    Ofac(#[from] ofac::OfacError),
    /// The UN's file does not parse.
    #[error("the UN list does not parse: {0}")]
    Un(#[from] un::UnError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn parse(files: &Files, published: Option<Timestamp>) -> Result<SourceList, SanctionsError> {
    Ok(match files {
        Files::Ofac { sdn, alt } => ofac::parse(sdn, alt, published)?,
        Files::Un { xml } => un::parse(xml)?,
    })
}

/// Parses `files` (refusing a broken list whole) and stores them as their source's list in
/// force, audited; a list identical to the one in force is not stored again. What is in force
/// afterwards.
pub async fn load(
    store: &Store,
    clock: &dyn Clock,
    files: Files,
    published: Option<Timestamp>,
    acting: &Acting,
) -> Result<ListSummary, SanctionsError> {
    let parsed = parse(&files, published)?;
    let source = parsed.version.source.code();
    let version = parsed.version.to_string();
    let (main_file, alias_file) = match files {
        Files::Ofac { sdn, alt } => (sdn, Some(alt)),
        Files::Un { xml } => (xml, None),
    };
    let row = ListRow {
        id: new_id::<cajero_domain::id::SanctionsList>(clock).to_string(),
        source: source.to_owned(),
        version: version.clone(),
        main_file,
        alias_file,
        published_at: published.map(|p| Micros::from(p).0),
        entries: i64::try_from(parsed.entries.len()).unwrap_or(i64::MAX),
        loaded_by: acting.name.clone(),
        loaded_at: Micros::from(clock.now()).0,
    };
    let audit = audit_row(
        clock,
        acting,
        "sanctions.list_loaded",
        None,
        Some(format!("{} {} entries", row.id, row.entries)),
    );
    let reason = acting.reason.clone();
    Ok(store
        .write(move |mut c| {
            Box::pin(async move {
                let in_force = rows::newest(&mut c).await?;
                if let Some(same) = in_force
                    .into_iter()
                    .find(|l| l.source == row.source && l.version == row.version)
                {
                    return Ok::<_, StoreError>(same);
                }
                rows::insert(&mut c, &row).await?;
                cajero_store::operators::insert_audit(&mut c, &audit, Some(reason.as_str()))
                    .await?;
                Ok(ListSummary {
                    id: row.id,
                    source: row.source,
                    version: row.version,
                    entries: row.entries,
                    loaded_by: row.loaded_by,
                    loaded_at: row.loaded_at,
                })
            })
        })
        .await?)
}

/// The lists in force, parsed.
#[derive(Debug, Clone)]
pub struct InForce {
    /// The rows they came from (`sal_…`), by source: what a decision records.
    pub ids: Vec<String>,
    /// The merged list.
    pub list: Arc<List>,
}

/// This instance's copy of the lists in force.
#[derive(Debug, Default)]
pub struct Sanctions {
    current: RwLock<Option<InForce>>,
    checked: Mutex<Option<Instant>>,
}

impl Sanctions {
    /// Nothing loaded yet.
    pub fn new() -> Sanctions {
        Sanctions::default()
    }

    /// The lists in force as last read (`None`: none is loaded).
    pub fn current(&self) -> Option<InForce> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// Rereads the lists in force when [`REFRESH_EVERY`] has passed since the last look (or
    /// `force`), reparsing only when a newer one was loaded.
    pub async fn refresh(&self, store: &Store, force: bool) -> Result<(), SanctionsError> {
        {
            let mut checked = self.checked.lock().unwrap_or_else(|p| p.into_inner());
            if !force && checked.is_some_and(|at| at.elapsed() < REFRESH_EVERY) {
                return Ok(());
            }
            *checked = Some(Instant::now());
        }
        let newest = store
            .read(|mut c| Box::pin(async move { rows::newest(&mut c).await }))
            .await?;
        let ids: Vec<String> = newest.iter().map(|l| l.id.clone()).collect();
        if self.current().is_some_and(|c| c.ids == ids) {
            return Ok(());
        }
        let mut sources = Vec::new();
        for id in &ids {
            let id = id.clone();
            let Some(row) = store
                .read(move |mut c| Box::pin(async move { rows::get(&mut c, &id).await }))
                .await?
            else {
                continue;
            };
            let files = match row.alias_file {
                Some(alt) => Files::Ofac {
                    sdn: row.main_file,
                    alt,
                },
                None => Files::Un { xml: row.main_file },
            };
            let published = row.published_at.map(|p| Micros(p).to_timestamp());
            sources.push(parse(&files, published)?);
        }
        let loaded = (!ids.is_empty()).then(|| InForce {
            ids,
            list: Arc::new(List::new(sources)),
        });
        if let Ok(mut current) = self.current.write() {
            *current = loaded;
        }
        Ok(())
    }
}

/// Screens an onboarding application's company, legal representative and owners against the
/// lists in force (refreshed by the caller before the submission's unit of work).
#[derive(Debug)]
pub struct SanctionsScreening {
    /// The instance's lists.
    pub sanctions: Arc<Sanctions>,
    /// The score from which a name is a hit.
    pub threshold: Score,
}

impl crate::kyc::Screening for SanctionsScreening {
    fn screen(&self, application: &Application) -> String {
        let Some(in_force) = self.sanctions.current() else {
            return format!("{}: no sanctions list loaded", crate::kyc::NOT_SCREENED);
        };
        let names = std::iter::once(application.legal_name.as_str())
            .chain(std::iter::once(application.representative.name.as_str()))
            .chain(application.owners.iter().map(|o| o.name.as_str()))
            .filter(|n| !n.trim().is_empty());
        let mut hits = Vec::new();
        for name in names {
            // A name too long or without words is not screenable: nothing to find.
            if let Ok(found) = in_force.list.screen(name, self.threshold) {
                hits.extend(found.iter().map(|h| {
                    format!(
                        "{} {} {}%",
                        h.entry.source.code(),
                        h.entry.uid,
                        h.score.basis_points() / 100
                    )
                }));
            }
        }
        let against = in_force.ids.join(" ");
        if hits.is_empty() {
            format!("clear against {against}")
        } else {
            hits.dedup();
            format!(
                "review: {} hit(s) against {against}: {}",
                hits.len(),
                hits.join(", ")
            )
        }
    }
}

/// The default threshold (the matcher's).
pub const THRESHOLD: Score = sanctions::DEFAULT_THRESHOLD;
