//! Sanctions lists in service: loading the publishers' files (`cajero sanctions load`), keeping
//! the newest of each source parsed in memory on every instance, and screening the people an
//! onboarding application names ([`SanctionsScreening`], the KYC service's
//! [`crate::kyc::Screening`]).
//!
//! The files are stored in the database (migration 0027) so that every instance screens with
//! the same version; an instance reparses when a newer list was loaded ([`Sanctions::refresh`],
//! at most every [`REFRESH_EVERY`]). The matching itself is `cajero_domain::sanctions`.

use std::path::PathBuf;
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

/// Screens a person named by a pay-in or payout (the payer, the beneficiary) against the lists
/// in force (reread when a newer one was loaded, at most every [`REFRESH_EVERY`]), before the
/// operation's unit of work: the hits above the threshold, for the risk decision (a hit holds
/// the operation for review), and the lists screened with. No list loaded, or a name the
/// matcher cannot screen (refused earlier by validation in practice), finds nothing.
pub async fn screen_person(state: &crate::AppState, name: &str) -> crate::risk::Screened {
    if let Err(e) = state.sanctions.refresh(&state.store, false).await {
        tracing::error!(error = %e, "reading the sanctions lists failed; screening with the copy in memory");
    }
    let Some(in_force) = state.sanctions.current() else {
        return crate::risk::Screened::default();
    };
    let lists = Some(in_force.ids.join(" "));
    let hits = in_force
        .list
        .screen(name, state.config.sanctions.threshold())
        .unwrap_or_default();
    if hits.is_empty() {
        return crate::risk::Screened { hits: None, lists };
    }
    let found: Vec<String> = hits
        .iter()
        .map(|h| {
            format!(
                "{} {} {}% ({})",
                h.entry.source.code(),
                h.entry.uid,
                h.score.basis_points() / 100,
                h.matched_name
            )
        })
        .collect();
    crate::risk::Screened {
        hits: Some(format!(
            "sanctions screening: {} against {}",
            found.join(", "),
            in_force.ids.join(" ")
        )),
        lists,
    }
}

/// The default threshold (the matcher's).
pub const THRESHOLD: Score = sanctions::DEFAULT_THRESHOLD;

/// Hours between reloads of the configured files at most (a week).
pub const RELOAD_HOURS_MAX: u32 = 168;

/// `[sanctions]`: the hit threshold, and the files an operator's download job keeps current,
/// reloaded every `reload_hours` (a file unchanged since the last load changes nothing).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SanctionsConfig {
    /// The score from which a name is a hit, in basis points (1–10,000; default 8,000).
    pub threshold_bps: u16,
    /// OFAC's `sdn.csv` (with `ofac_alt_file`).
    pub ofac_sdn_file: Option<PathBuf>,
    /// OFAC's `alt.csv` (with `ofac_sdn_file`).
    pub ofac_alt_file: Option<PathBuf>,
    /// The UN's consolidated list (XML).
    pub un_file: Option<PathBuf>,
    /// Hours between reloads (1–168; default 24).
    pub reload_hours: u32,
}

impl Default for SanctionsConfig {
    fn default() -> Self {
        SanctionsConfig {
            threshold_bps: THRESHOLD.basis_points(),
            ofac_sdn_file: None,
            ofac_alt_file: None,
            un_file: None,
            reload_hours: 24,
        }
    }
}

impl SanctionsConfig {
    /// The hit threshold.
    pub fn threshold(&self) -> Score {
        Score::from_basis_points(self.threshold_bps).unwrap_or(THRESHOLD)
    }

    fn paths_mut(&mut self) -> [&mut Option<PathBuf>; 3] {
        [
            &mut self.ofac_sdn_file,
            &mut self.ofac_alt_file,
            &mut self.un_file,
        ]
    }

    /// Whether a file is named by a relative path.
    pub fn has_relative_paths(&self) -> bool {
        [&self.ofac_sdn_file, &self.ofac_alt_file, &self.un_file]
            .into_iter()
            .flatten()
            .any(|p| p.is_relative())
    }

    /// Makes relative paths relative to `base` (the configuration file's folder).
    pub fn resolve(&mut self, base: &std::path::Path) {
        for path in self.paths_mut().into_iter().flatten() {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }

    /// The key at fault and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.threshold_bps == 0 || Score::from_basis_points(self.threshold_bps).is_err() {
            return Err((
                "sanctions.threshold_bps",
                format!("must be 1 to 10000, not {}", self.threshold_bps),
            ));
        }
        if self.ofac_sdn_file.is_some() != self.ofac_alt_file.is_some() {
            return Err((
                "sanctions.ofac_alt_file",
                "OFAC's list is sdn.csv and alt.csv together: give both files or neither".into(),
            ));
        }
        if !(1..=RELOAD_HOURS_MAX).contains(&self.reload_hours) {
            return Err((
                "sanctions.reload_hours",
                format!("must be 1 to {RELOAD_HOURS_MAX}, not {}", self.reload_hours),
            ));
        }
        Ok(())
    }

    /// Whether any file is configured.
    pub fn reloads(&self) -> bool {
        self.ofac_sdn_file.is_some() || self.un_file.is_some()
    }
}

/// Loads the configured files (each publisher's, when configured); what is in force for each.
/// A file that cannot be read or parsed is an error for its publisher only (logged by the
/// caller); the list in force stays.
pub async fn reload(
    store: &Store,
    clock: &dyn Clock,
    config: &SanctionsConfig,
) -> Vec<Result<ListSummary, String>> {
    let acting = Acting::cli(
        crate::operators::Reason::parse("the daily reload of the configured sanctions files")
            .unwrap_or_else(|_| unreachable!("a non-empty literal")),
    );
    let mut outcomes = Vec::new();
    if let (Some(sdn), Some(alt)) = (&config.ofac_sdn_file, &config.ofac_alt_file) {
        let files =
            read_file(sdn).and_then(|sdn| read_file(alt).map(|alt| Files::Ofac { sdn, alt }));
        outcomes.push(match files {
            Ok(files) => load(store, clock, files, None, &acting)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        });
    }
    if let Some(xml) = &config.un_file {
        outcomes.push(match read_file(xml) {
            Ok(xml) => load(store, clock, Files::Un { xml }, None, &acting)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        });
    }
    outcomes
}

fn read_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if size > u64::try_from(sanctions::LIST_FILE_BYTES_MAX).unwrap_or(u64::MAX) {
        return Err(format!(
            "{} is {size} bytes: a list file is at most {} bytes",
            path.display(),
            sanctions::LIST_FILE_BYTES_MAX
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reloads the configured files every `reload_hours`, on every instance (a file unchanged
/// since the last load changes nothing), and rereads the lists in force.
#[derive(Debug)]
pub struct ReloadWorker {
    /// Shared state.
    pub state: crate::AppState,
}

impl crate::workers::Worker for ReloadWorker {
    fn name(&self) -> &'static str {
        "sanctions_reload"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        let state = &self.state;
        let mut loaded = 0;
        for outcome in reload(&state.store, state.clock.as_ref(), &state.config.sanctions).await {
            match outcome {
                Ok(list) => {
                    tracing::info!(list = %list.id, source = %list.source, entries = list.entries, "sanctions list in force");
                    loaded += 1;
                }
                Err(error) => {
                    tracing::error!(%error, "reloading a sanctions list failed; the list in force stays");
                }
            }
        }
        state.sanctions.refresh(&state.store, true).await?;
        tracing::debug!(loaded, "sanctions lists reloaded");
        // A periodic job: the loop sleeps `reload_hours` whatever it did.
        Ok(0)
    }
}

/// The reload worker's pacing: `reload_hours` between reloads.
pub fn pacing(config: &SanctionsConfig) -> crate::workers::LoopPacing {
    let every = Duration::from_secs(u64::from(config.reload_hours) * 3_600);
    crate::workers::LoopPacing {
        idle_sleep: every,
        error_backoff: Duration::from_secs(600),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_names_the_key_at_fault() {
        assert!(SanctionsConfig::default().validate().is_ok());
        assert!(!SanctionsConfig::default().reloads());
        let zero = SanctionsConfig {
            threshold_bps: 0,
            ..SanctionsConfig::default()
        };
        assert_eq!(zero.validate().unwrap_err().0, "sanctions.threshold_bps");
        let over = SanctionsConfig {
            threshold_bps: 10_001,
            ..SanctionsConfig::default()
        };
        assert_eq!(over.validate().unwrap_err().0, "sanctions.threshold_bps");
        let half = SanctionsConfig {
            ofac_sdn_file: Some("sdn.csv".into()),
            ..SanctionsConfig::default()
        };
        assert_eq!(half.validate().unwrap_err().0, "sanctions.ofac_alt_file");
        let never = SanctionsConfig {
            reload_hours: 0,
            ..SanctionsConfig::default()
        };
        assert_eq!(never.validate().unwrap_err().0, "sanctions.reload_hours");
        let mut relative = SanctionsConfig {
            un_file: Some("lists/un.xml".into()),
            ..SanctionsConfig::default()
        };
        assert!(relative.has_relative_paths() && relative.reloads());
        relative.resolve(std::path::Path::new("/etc/cajero"));
        assert_eq!(
            relative.un_file.as_deref(),
            Some(std::path::Path::new("/etc/cajero/lists/un.xml"))
        );
    }
}
