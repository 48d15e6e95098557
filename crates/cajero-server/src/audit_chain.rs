//! The tamper-evident audit log: every entry — operators' actions with their reasons, KYC
//! steps, sign-ins, key changes — is sealed into a SHA-256 chain, and [`verify`] recomputes it
//! and names the first entry that was changed, removed or slipped in.
//!
//! Entries are written as before, in the unit of work of what they record, so sealing costs
//! the writer nothing; the `audit_chain` worker (one instance at a time, under its lease)
//! seals what is unsealed every [`SEAL_INTERVAL`], in id order: entry `seq` gets
//! `prev_hash` = the hash of entry `seq - 1` ([`GENESIS`] for the first) and
//! `hash` = SHA-256(`prev_hash` ‖ `\n` ‖ [`canonical`] text).
//!
//! What it proves and what it does not: a sealed entry edited in place, deleted, or a sealed
//! entry inserted is found by [`verify`]. Someone who can write to the database can rewrite
//! the whole chain after a point and recompute every hash; against that, keep the head
//! (`cajero audit verify` prints it) somewhere the database's writers cannot change (a log
//! shipped elsewhere, a ticket) and compare. An entry is unprotected between its insert and
//! its sealing (seconds).

use std::time::Duration;

use cajero_store::audit_chain::{self as rows, Link};
use cajero_store::{Store, StoreError, instances};
use jiff::SignedDuration;
use sha2::{Digest as _, Sha256};

use crate::AppState;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Entries sealed per unit of work.
pub const SEAL_BATCH_MAX: i64 = 500;
/// Entries read per query while verifying (memory stays bounded whatever the log's length).
pub const VERIFY_BATCH: i64 = 1_000;
/// How often the worker seals.
pub const SEAL_INTERVAL: Duration = Duration::from_secs(2);
/// The worker lease's name.
pub const LEASE_NAME: &str = "audit_chain";
/// How long the lease holds (renewed at every step).
pub const LEASE_MS: i64 = 60_000;

/// The text an entry's hash covers: its fields, in a fixed order, as a JSON array (so that no
/// field's content can be mistaken for a separator). Adding a column to the log does not change
/// it: a new field is covered only once this function names it.
pub fn canonical(link: &Link) -> String {
    serde_json::json!([
        link.id,
        link.merchant_id,
        link.user_id,
        link.actor,
        link.action,
        link.object_id,
        link.ip,
        link.at,
        link.reason,
    ])
    .to_string()
}

/// The hash of an entry whose predecessor's hash is `prev`.
pub fn link_hash(prev: &str, link: &Link) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical(link).as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Seal attempts when another sealer (the worker of another instance, `cajero audit seal`)
/// took the same places first.
const SEAL_ATTEMPTS: usize = 5;

/// Seals up to [`SEAL_BATCH_MAX`] unsealed entries after the head, in one unit of work; how many.
/// Two sealers at once cannot fork the chain: `seq` is unique, so the second one's unit fails,
/// and it starts again from the new head.
pub async fn seal_pending(store: &Store) -> Result<usize, StoreError> {
    let mut attempt = 1;
    loop {
        match seal_batch(store).await {
            Err(e) if e.is_unique_violation() && attempt < SEAL_ATTEMPTS => attempt += 1,
            done => return done,
        }
    }
}

async fn seal_batch(store: &Store) -> Result<usize, StoreError> {
    store
        .write(|mut c| {
            Box::pin(async move {
                let (mut seq, mut prev) =
                    rows::head(&mut c).await?.unwrap_or((0, GENESIS.to_owned()));
                let pending = rows::unsealed(&mut c, SEAL_BATCH_MAX).await?;
                let mut sealed = 0;
                for link in pending {
                    let hash = link_hash(&prev, &link);
                    if rows::seal(&mut c, &link.id, seq + 1, &prev, &hash).await? {
                        seq += 1;
                        prev = hash;
                        sealed += 1;
                    }
                }
                Ok(sealed)
            })
        })
        .await
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The place where it breaks.
    pub seq: i64,
    /// The entry found there (`None`: no entry has that place — one was removed).
    pub id: Option<String>,
    /// What is wrong.
    pub why: String,
}

/// What verifying found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Entries checked, from the first.
    pub sealed: i64,
    /// Entries not sealed yet.
    pub unsealed: i64,
    /// The last entry's place and hash (`None`: nothing sealed).
    pub head: Option<(i64, String)>,
    /// The first break, if any (checking stops there).
    pub broken: Option<Break>,
}

/// Recomputes the chain from its first entry; stops at the first break.
pub async fn verify(store: &Store) -> Result<ChainReport, StoreError> {
    let mut report = ChainReport {
        sealed: 0,
        unsealed: 0,
        head: None,
        broken: None,
    };
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    loop {
        let after = expected_seq - 1;
        let batch = store
            .read(move |mut c| {
                Box::pin(async move { rows::after(&mut c, after, VERIFY_BATCH).await })
            })
            .await?;
        if batch.is_empty() {
            break;
        }
        for link in batch {
            let seq = link.seq.unwrap_or(0);
            let broken = |why: String, id: Option<String>, seq: i64| Break { seq, id, why };
            if seq != expected_seq {
                report.broken = Some(broken(
                    format!("entry {expected_seq} is missing (the next one is {seq}): removed"),
                    None,
                    expected_seq,
                ));
                break;
            }
            if link.prev_hash.as_deref() != Some(prev.as_str()) {
                report.broken = Some(broken(
                    "its previous hash is not the hash of the entry before it".into(),
                    Some(link.id.clone()),
                    seq,
                ));
                break;
            }
            let hash = link_hash(&prev, &link);
            if link.hash.as_deref() != Some(hash.as_str()) {
                report.broken = Some(broken(
                    "its content does not match its hash: changed after it was sealed".into(),
                    Some(link.id.clone()),
                    seq,
                ));
                break;
            }
            report.sealed = seq;
            report.head = Some((seq, hash.clone()));
            prev = hash;
            expected_seq += 1;
        }
        if report.broken.is_some() {
            break;
        }
    }
    report.unsealed = store
        .read(|mut c| Box::pin(async move { rows::count_unsealed(&mut c).await }))
        .await?;
    Ok(report)
}

/// Seals what is pending if this instance holds (or takes) the `audit_chain` lease.
pub async fn run_once(state: &AppState) -> anyhow::Result<usize> {
    let instance = state.instance.clone();
    if !instance.is_registered() {
        return Ok(0);
    }
    let now = state.clock.now();
    let holder = instance.incarnation().to_string();
    let until = now
        .checked_add(SignedDuration::from_millis(LEASE_MS))
        .unwrap_or(now);
    let leased = state
        .store
        .write(move |mut c| {
            Box::pin(async move {
                instances::take_worker_lease(&mut c, LEASE_NAME, &holder, now, until).await
            })
        })
        .await?;
    if !leased {
        return Ok(0);
    }
    Ok(seal_pending(&state.store).await?)
}

/// The sealing worker.
#[derive(Debug)]
pub struct AuditChainWorker {
    /// Shared state.
    pub state: AppState,
}

impl crate::workers::Worker for AuditChainWorker {
    fn name(&self) -> &'static str {
        "audit_chain"
    }

    async fn step(&self) -> anyhow::Result<usize> {
        run_once(&self.state).await
    }
}

/// How the worker paces itself.
pub const PACING: crate::workers::LoopPacing = crate::workers::LoopPacing {
    idle_sleep: SEAL_INTERVAL,
    error_backoff: SEAL_INTERVAL,
};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn link(id: &str, reason: Option<&str>) -> Link {
        Link {
            id: id.into(),
            merchant_id: Some("mer_1".into()),
            user_id: None,
            actor: "luis@cajero.example".into(),
            action: "merchant.status.suspended".into(),
            object_id: Some("mer_1".into()),
            ip: None,
            at: 1,
            reason: reason.map(str::to_owned),
            seq: None,
            prev_hash: None,
            hash: None,
        }
    }

    #[test]
    fn every_field_counts_and_no_separator_can_be_faked() {
        let a = link_hash(GENESIS, &link("aud_1", Some("x")));
        assert_eq!(a.len(), 64);
        assert_ne!(a, link_hash(GENESIS, &link("aud_1", Some("y"))));
        assert_ne!(a, link_hash(GENESIS, &link("aud_1", None)));
        assert_ne!(a, link_hash(&a, &link("aud_1", Some("x"))));
        // Moving text between fields changes the canonical text.
        let mut moved = link("aud_1", Some("x"));
        moved.actor = "luis@cajero.example\",\"merchant.status.suspended".into();
        moved.action = String::new();
        assert_ne!(canonical(&moved), canonical(&link("aud_1", Some("x"))));
        // The place in the chain is not part of the text (it is in the hash through prev).
        let mut sealed = link("aud_1", Some("x"));
        sealed.seq = Some(7);
        assert_eq!(canonical(&sealed), canonical(&link("aud_1", Some("x"))));
    }
}
