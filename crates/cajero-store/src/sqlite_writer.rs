//! The SQLite writer: one thread owns the only write connection and commits queued units of
//! work in batches (group commit).
//!
//! SQLite allows one writer at a time, and a durable commit waits for an fsync. Committing each
//! request on its own would cap throughput at the disk's fsync rate. Instead the writer takes
//! everything queued (up to `batch_max`), opens one `BEGIN IMMEDIATE` transaction, runs each
//! unit of work under its own savepoint — an error rolls back that unit only — and commits
//! once. If the commit fails, every unit in the batch gets the error and nothing of it is kept.
//!
//! The thread runs each unit of work to completion itself: a unit's statements are plain
//! calls into SQLite on this thread ([`crate::sqlite`]), so a unit's future never waits on
//! anything and is driven by a trivial executor. The only thread hops are the request handing
//! its unit over and the answer coming back.
//!
//! **The fsync is off the writer's thread** (a file database). The writer's connection commits
//! with `synchronous=NORMAL`, which writes the WAL frames but does not sync them, and hands
//! the batch's answers to a syncing thread ([`Durability`]). That thread syncs the WAL file
//! once for every batch committed since its last sync, and only then answers their callers:
//! an acknowledged write is on disk, as before, while the writer is already running the next
//! batch instead of waiting for the disk (at 1,000 payouts a second the fsyncs were about half
//! of the writer's time). A committed batch is visible to readers before it is durable, so a
//! read waits, before it answers, until everything committed when it finished is synced
//! ([`Durability::settled`]): nothing the process says, to a caller or to another system, rests
//! on a write a power cut could still take back. A failed sync is not retried (the kernel may
//! have dropped the pages it could not write): the batches waiting for it fail, and from then
//! on every write and read fails until the process is restarted and SQLite recovers the WAL.

use std::panic::AssertUnwindSafe;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt;
use futures::future::BoxFuture;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot, watch};

use crate::sqlite::{WriterCheckpoints, database, profile};
use crate::{Conn, StoreError, Work};

/// Tells a unit of work's caller how its batch ended: `None` committed, `Some` failed.
type Answer = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// What a unit of work reports to the writer: whether to keep its savepoint, and how to
/// answer its caller once the batch's fate is known.
struct Ran {
    ok: bool,
    answer: Answer,
}

type Job = Box<dyn for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Ran> + Send>;

enum Message {
    Work(Job),
    /// From the syncing thread: it has synced everything handed to it so far.
    Synced,
    Close(oneshot::Sender<()>),
}

/// The handle requests use to reach the writer.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    queue: mpsc::Sender<Message>,
    /// `None` in memory, where nothing is synced.
    durability: Option<Durability>,
}

/// Committed batches waiting for the syncing thread, at most: past it the writer waits for
/// the disk instead of committing ever further ahead of it.
const SYNC_QUEUE_MAX: usize = 256;

/// How the syncing thread makes the WAL durable: in production [`WalSync::file`]; tests hold
/// it back or make it fail.
pub(crate) struct WalSync(Box<dyn FnMut() -> std::io::Result<()> + Send>);

impl WalSync {
    /// Syncs the data of the WAL file at `wal` (opened at the first sync: SQLite creates it).
    pub(crate) fn file(wal: PathBuf) -> WalSync {
        let mut file: Option<std::fs::File> = None;
        WalSync(Box::new(move || {
            if file.is_none() {
                file = Some(std::fs::File::open(&wal)?);
            }
            file.as_ref().map_or(Ok(()), std::fs::File::sync_data)
        }))
    }

    #[cfg(test)]
    pub(crate) fn with(sync: impl FnMut() -> std::io::Result<()> + Send + 'static) -> WalSync {
        WalSync(Box::new(sync))
    }
}

/// Where the WAL's durability stands, shared by the writer, its syncing thread and the
/// readers.
#[derive(Clone)]
pub(crate) struct Durability {
    /// The number of the last batch whose `COMMIT` has begun: readers may see its changes.
    committing: Arc<AtomicU64>,
    synced: watch::Receiver<Synced>,
}

#[derive(Debug, Clone, Default)]
struct Synced {
    /// Every batch up to this number is durable.
    through: u64,
    /// Why the WAL could not be synced: the store is failed until restarted.
    failed: Option<Arc<str>>,
}

impl Durability {
    /// Waits until everything committed so far is durable. A read calls it after it ran, so
    /// that it answers only with what a power cut cannot take back (at most one fsync's wait,
    /// and none when no write is in flight).
    pub(crate) async fn settled(&self) -> Result<(), StoreError> {
        let need = self.committing.load(Ordering::SeqCst);
        {
            let synced = self.synced.borrow();
            if synced.through >= need && synced.failed.is_none() {
                return Ok(());
            }
        }
        let mut synced = self.synced.clone();
        let done = synced
            .wait_for(|s| s.through >= need || s.failed.is_some())
            .await
            .map_err(|_| StoreError::WriterGone)?;
        match &done.failed {
            Some(why) => Err(not_durable(why)),
            None => Ok(()),
        }
    }

    /// Why the store refuses work, once a sync has failed.
    fn failed(&self) -> Option<StoreError> {
        self.synced.borrow().failed.as_deref().map(not_durable)
    }
}

/// The error every write and read gets once the WAL could not be synced (the store reports
/// itself unavailable: a retry after a restart is the remedy).
fn not_durable(why: &str) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!(
        "{why}; the database refuses reads and writes until the process is restarted"
    ))))
}

/// Starts the writer thread on `conn`.
/// `checkpoints` is the writer's part of keeping the WAL short (a file database's; `None` in
/// memory): see [`crate::sqlite::Checkpointer`]. With `sync` (a file database), the writer
/// commits without syncing and a syncing thread syncs the WAL and answers the callers (see
/// the module's documentation); without it (in memory), the writer answers at commit.
pub(crate) fn spawn(
    conn: Connection,
    batch_max: usize,
    queue_max: usize,
    checkpoints: Option<WriterCheckpoints>,
    sync: Option<WalSync>,
) -> Result<WriterHandle, StoreError> {
    let (queue, inbox) = mpsc::channel(queue_max.max(1));
    let syncing = match sync {
        Some(sync) => {
            // The syncing thread makes commits durable; SQLite still syncs the WAL before each
            // checkpoint and the database file after it, so `NORMAL` is as safe as `FULL` here.
            conn.execute_batch("PRAGMA synchronous = NORMAL;")
                .map_err(|e| StoreError::Database(crate::sqlite::database(e)))?;
            Some(Syncing::start(sync, queue.downgrade())?)
        }
        None => None,
    };
    let durability = syncing.as_ref().map(|s| s.durability.clone());
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("cajero-sqlite-writer".to_string())
        .spawn(move || {
            // Units of work may use tokio (a timer, say) even though nothing they do waits.
            let _entered = runtime.enter();
            run(conn, inbox, batch_max.max(1), checkpoints, syncing);
        })
        .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    Ok(WriterHandle { queue, durability })
}

/// A batch committed and not yet known durable.
struct Group {
    /// Its number ([`Durability::committing`]).
    batch: u64,
    /// Its callers' answers (none when its commit failed: they were answered then).
    answers: Vec<Answer>,
}

/// The writer's side of the syncing thread.
struct Syncing {
    durability: Durability,
    committing: Arc<AtomicU64>,
    groups: Option<std::sync::mpsc::SyncSender<Group>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Syncing {
    fn start(sync: WalSync, wake: mpsc::WeakSender<Message>) -> Result<Syncing, StoreError> {
        let (groups, inbox) = std::sync::mpsc::sync_channel(SYNC_QUEUE_MAX);
        let (report, synced) = watch::channel(Synced::default());
        let thread = std::thread::Builder::new()
            .name("cajero-sqlite-sync".to_string())
            .spawn(move || sync_wal(sync, inbox, report, wake))
            .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        let committing = Arc::new(AtomicU64::new(0));
        Ok(Syncing {
            durability: Durability {
                committing: committing.clone(),
                synced,
            },
            committing,
            groups: Some(groups),
            thread: Some(thread),
        })
    }

    /// Numbers the batch about to commit; readers from now on wait for its sync.
    fn committing(&self) -> u64 {
        self.committing.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Whether every batch committed so far is synced (or syncing has failed): a commit now
    /// would be synced at once.
    fn idle(&self) -> bool {
        let synced = self.durability.synced.borrow();
        synced.failed.is_some() || synced.through >= self.committing.load(Ordering::SeqCst)
    }

    /// Hands a committed batch to the syncing thread (waiting while it is far behind).
    fn hand_over(&self, group: Group) {
        let Some(groups) = &self.groups else { return };
        if let Err(std::sync::mpsc::SendError(group)) = groups.send(group) {
            // The syncing thread is gone (it panicked): nothing can be made durable.
            let error = not_durable("the thread that syncs the SQLite WAL stopped");
            group
                .answers
                .into_iter()
                .for_each(|answer| answer(Some(&error)));
        }
    }

    /// Lets the syncing thread sync what it has, answer, and end.
    fn finish(&mut self) {
        self.groups = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The syncing thread: one sync of the WAL for every batch committed since the last, then the
/// answers. On a failed sync it fails those batches and every one after, and tells the
/// readers and the writer.
fn sync_wal(
    mut sync: WalSync,
    inbox: std::sync::mpsc::Receiver<Group>,
    report: watch::Sender<Synced>,
    wake: mpsc::WeakSender<Message>,
) {
    let mut groups: Vec<Group> = Vec::new();
    let mut reported = std::time::Instant::now();
    while let Ok(first) = inbox.recv() {
        groups.push(first);
        groups.extend(inbox.try_iter());
        let through = groups.last().map_or(0, |group| group.batch);
        let failed = report.borrow().failed.clone();
        let outcome = match failed {
            Some(why) => Err(why),
            None => profile::timed("[WAL sync]", || (sync.0)()).map_err(|error| {
                tracing::error!(
                    %error,
                    "syncing the SQLite WAL failed: the writes waiting for it fail, and the                      database refuses reads and writes until the process is restarted"
                );
                Arc::from(format!("syncing the SQLite WAL failed ({error})"))
            }),
        };
        match outcome {
            Ok(()) => {
                report.send_modify(|synced| synced.through = through);
                for group in groups.drain(..) {
                    group.answers.into_iter().for_each(|answer| answer(None));
                }
            }
            Err(why) => {
                report.send_modify(|synced| synced.failed = Some(why.clone()));
                let error = not_durable(&why);
                for group in groups.drain(..) {
                    group
                        .answers
                        .into_iter()
                        .for_each(|answer| answer(Some(&error)));
                }
            }
        }
        // The writer may be holding units for the next batch until this sync is done.
        if let Some(writer) = wake.upgrade() {
            let _ = writer.try_send(Message::Synced);
        }
        if profile::on() && reported.elapsed() >= profile::REPORT_EVERY {
            profile::report("WAL sync");
            reported = std::time::Instant::now();
        }
    }
}

impl WriterHandle {
    pub(crate) async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(Conn<'c>) -> Work<'c, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        if let Some(error) = self.durability.as_ref().and_then(Durability::failed) {
            return Err(E::from(error));
        }
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn: Conn<'_>| {
            Box::pin(async move {
                let result = match AssertUnwindSafe(work(conn)).catch_unwind().await {
                    Ok(result) => result,
                    Err(_) => {
                        tracing::error!("a unit of work panicked; rolled back");
                        Err(E::from(StoreError::Panicked))
                    }
                };
                Ran {
                    ok: result.is_ok(),
                    answer: Box::new(move |commit_error: Option<&StoreError>| {
                        let result = match (result, commit_error) {
                            (Ok(_), Some(error)) => Err(E::from(copy_error(error))),
                            (result, _) => result,
                        };
                        // The caller may have gone away (request canceled): nothing to do.
                        let _ = reply.send(result);
                    }),
                }
            })
        });
        self.queue
            .send(Message::Work(job))
            .await
            .map_err(|_| E::from(StoreError::WriterGone))?;
        answer.await.map_err(|_| E::from(StoreError::WriterGone))?
    }

    /// Units of work queued and not yet taken by the writer thread (the batch being committed
    /// is not counted). Read from the channel's free capacity: no counter to keep.
    pub(crate) fn queued(&self) -> usize {
        self.queue
            .max_capacity()
            .saturating_sub(self.queue.capacity())
    }

    /// What readers wait on (`None` in memory).
    pub(crate) fn durability(&self) -> Option<Durability> {
        self.durability.clone()
    }

    pub(crate) async fn close(&self) {
        let (reply, answer) = oneshot::channel();
        if self.queue.send(Message::Close(reply)).await.is_ok() {
            let _ = answer.await;
        }
    }
}

/// `StoreError` is not `Clone` (sqlx errors are not); every caller in a failed batch gets a
/// description of the same failure. An I/O failure (a failed WAL sync among them) stays one,
/// so that callers see the store unavailable rather than their write refused.
fn copy_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::Database(sqlx::Error::Io(io)) => StoreError::Database(sqlx::Error::Io(
            std::io::Error::new(io.kind(), io.to_string()),
        )),
        _ => StoreError::Database(sqlx::Error::Protocol(format!(
            "the batch this write belonged to failed to commit: {error}"
        ))),
    }
}

fn run(
    mut conn: Connection,
    mut inbox: mpsc::Receiver<Message>,
    batch_max: usize,
    mut checkpoints: Option<WriterCheckpoints>,
    mut syncing: Option<Syncing>,
) {
    let mut open: Option<Open> = None;
    let mut reported = std::time::Instant::now();
    loop {
        let Some(first) = inbox.blocking_recv() else {
            // Every handle is gone: what ran still commits, and is synced, before the end.
            commit(&mut conn, &mut open, syncing.as_ref());
            if let Some(syncing) = syncing.as_mut() {
                syncing.finish();
            }
            return;
        };
        if profile::on() && reported.elapsed() >= profile::REPORT_EVERY {
            profile::report("writer");
            reported = std::time::Instant::now();
        }
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Work(job) => run_unit(&mut conn, &mut open, job, syncing.as_ref()),
                Message::Synced => {}
                Message::Close(reply) => {
                    commit(&mut conn, &mut open, syncing.as_ref());
                    inbox.close();
                    if let Some(syncing) = syncing.as_mut() {
                        syncing.finish();
                    }
                    if let Err((_, error)) = conn.close() {
                        tracing::warn!(%error, "closing the SQLite writer's connection failed");
                    }
                    let _ = reply.send(());
                    return;
                }
            }
            if open.as_ref().is_some_and(|open| open.units >= batch_max) {
                commit(&mut conn, &mut open, syncing.as_ref());
                if let Some(checkpoints) = checkpoints.as_mut() {
                    checkpoints.between_batches(&conn);
                }
            }
            next = inbox.try_recv().ok();
        }
        // Nothing more queued. While the syncing thread is still syncing an earlier batch, a
        // commit now would only wait for it: the units stay in the open transaction, more join
        // them, and the batch commits when that thread says it is done (`Message::Synced`).
        if open.is_some() && syncing.as_ref().is_none_or(Syncing::idle) {
            commit(&mut conn, &mut open, syncing.as_ref());
            if let Some(checkpoints) = checkpoints.as_mut() {
                checkpoints.between_batches(&conn);
            }
        }
    }
}

/// The writer's open transaction: the units of work run in it so far, and their answers.
struct Open {
    units: usize,
    answers: Vec<Answer>,
}

/// Runs one unit of work under its own savepoint in the open transaction (beginning one if
/// none is open). An error rolls back that unit only; a failure of the writer's own statements
/// fails the whole transaction, and every unit in it.
fn run_unit(conn: &mut Connection, open: &mut Option<Open>, job: Job, syncing: Option<&Syncing>) {
    if syncing.is_some_and(|s| s.durability.failed().is_some()) {
        // Nothing more is committed once a sync failed; the caller sees `WriterGone` (its
        // reply channel closes), and new callers the failure itself.
        drop(job);
        return;
    }
    if open.is_none() {
        if let Err(error) = statement(conn, "BEGIN IMMEDIATE") {
            // The caller's reply channel closes with the job: it sees `WriterGone`.
            tracing::error!(%error, "could not begin a write transaction; the write failed");
            drop(job);
            return;
        }
        *open = Some(Open {
            units: 0,
            answers: Vec::new(),
        });
    }
    let mut answer = None;
    let ran = unit(conn, job, &mut answer);
    let Some(batch) = open.as_mut() else { return };
    batch.units += 1;
    batch.answers.extend(answer);
    if let Err(error) = ran {
        tracing::error!(%error, "a write batch failed; every write in it failed");
        if !conn.is_autocommit() {
            let _ = statement(conn, "ROLLBACK");
        }
        if let Some(batch) = open.take() {
            batch
                .answers
                .into_iter()
                .for_each(|answer| answer(Some(&error)));
        }
    }
}

/// One unit under its savepoint; its answer, once it has one, goes to `answer`.
fn unit(conn: &mut Connection, job: Job, answer: &mut Option<Answer>) -> Result<(), StoreError> {
    statement(conn, "SAVEPOINT unit")?;
    let unit_start = profile::start();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(job(Conn::Sqlite(&mut *conn)))
    }));
    profile::record("[unit]", unit_start);
    match outcome {
        Ok(ran) => {
            let ok = ran.ok;
            *answer = Some(ran.answer);
            if !ok {
                statement(conn, "ROLLBACK TO unit")?;
            }
            statement(conn, "RELEASE unit")
        }
        Err(_) => {
            // The caller's reply channel went down with the job: it hears `WriterGone`.
            tracing::error!("a unit of work panicked; rolled back");
            statement(conn, "ROLLBACK TO unit")?;
            statement(conn, "RELEASE unit")
        }
    }
}

/// Commits the open transaction, then answers its callers: at once in memory, through the
/// syncing thread for a file. If the commit fails, every unit in it gets the error.
fn commit(conn: &mut Connection, open: &mut Option<Open>, syncing: Option<&Syncing>) {
    let Some(batch) = open.take() else { return };
    // Numbered before its `COMMIT`: from then on readers may see it, and wait for its sync.
    let number = syncing.map(Syncing::committing);
    let answers = match statement(conn, "COMMIT") {
        Ok(()) => batch.answers,
        Err(error) => {
            tracing::error!(%error, "a write batch failed to commit; every write in it failed");
            if !conn.is_autocommit() {
                let _ = statement(conn, "ROLLBACK");
            }
            batch
                .answers
                .into_iter()
                .for_each(|answer| answer(Some(&error)));
            Vec::new()
        }
    };
    match (syncing, number) {
        // Even a failed batch goes through, so that readers waiting for its number are let go.
        (Some(syncing), Some(number)) => syncing.hand_over(Group {
            batch: number,
            answers,
        }),
        _ => answers.into_iter().for_each(|answer| answer(None)),
    }
}

/// One of the writer's own statements (`BEGIN`, `COMMIT`, the savepoints), timed as `[sql]`.
fn statement(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    let start = profile::start();
    let done = statement_timed(conn, sql);
    if start.is_some() {
        profile::record(&format!("[{sql}]"), start);
    }
    done
}

fn statement_timed(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    let mut statement = conn
        .prepare_cached(sql)
        .map_err(|e| StoreError::Database(database(e)))?;
    statement
        .raw_execute()
        .map_err(|e| StoreError::Database(database(e)))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::sqlite::{Readers, Target, execute, fetch_one, open, wal_path};

    /// The real WAL sync, held back until the test lets each call through (or fails it).
    fn gated(wal: PathBuf) -> (WalSync, std::sync::mpsc::Sender<std::io::Result<()>>) {
        let (gate, calls) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let mut real = WalSync::file(wal);
        let sync = WalSync::with(move || {
            // A closed gate (the test is over) lets every sync through.
            calls.recv().unwrap_or(Ok(()))?;
            (real.0)()
        });
        (sync, gate)
    }

    struct Db {
        path: PathBuf,
        writer: WriterHandle,
        readers: Readers,
        gate: std::sync::mpsc::Sender<std::io::Result<()>>,
    }

    fn db(dir: &Path) -> Db {
        let path = dir.join("sync.db");
        let target = Target::File(path.clone());
        let conn = open(&target, false, 5_000).unwrap();
        conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY);")
            .unwrap();
        let (sync, gate) = gated(wal_path(&path));
        let writer = spawn(conn, 64, 64, None, Some(sync)).unwrap();
        let readers = Readers::new(
            target,
            2,
            Duration::from_secs(5),
            5_000,
            writer.durability(),
        );
        Db {
            path,
            writer,
            readers,
            gate,
        }
    }

    fn insert(
        writer: &WriterHandle,
        id: &'static str,
    ) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let writer = writer.clone();
        tokio::spawn(async move {
            writer
                .write(move |conn: Conn<'_>| -> crate::Work<'_, (), StoreError> {
                    Box::pin(async move {
                        let Conn::Sqlite(c) = conn else {
                            unreachable!("a SQLite writer")
                        };
                        execute(c, "INSERT INTO t (id) VALUES ($1)", &[&id])
                            .map_err(StoreError::Database)?;
                        Ok(())
                    })
                })
                .await
        })
    }

    fn count(readers: &Readers) -> BoxFuture<'static, Result<i64, StoreError>> {
        let readers = readers.clone();
        Box::pin(async move {
            readers
                .read(|conn: Conn<'_>| -> crate::Work<'_, i64, StoreError> {
                    Box::pin(async move {
                        let Conn::Sqlite(c) = conn else {
                            unreachable!("a SQLite reader")
                        };
                        let (n,): (i64,) = fetch_one(c, "SELECT count(*) FROM t", &[])
                            .map_err(StoreError::Database)?;
                        Ok(n)
                    })
                })
                .await
        })
    }

    /// What is committed, looked at past the store (no wait for any sync).
    fn committed_ids(path: &Path) -> Vec<String> {
        let conn = open(&Target::File(path.to_path_buf()), true, 5_000).unwrap();
        let mut statement = conn.prepare("SELECT id FROM t ORDER BY id").unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// The writer commits without syncing; the caller hears back only after the syncing
    /// thread has synced the WAL, and a read that may have seen the commit answers only then
    /// too. A read with no write in flight does not wait.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_and_a_read_of_it_answer_only_once_the_wal_is_synced() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        assert_eq!(count(&db.readers).await.unwrap(), 0, "nothing to wait for");

        let write = insert(&db.writer, "a");
        let (path, readers) = (db.path.clone(), db.readers.clone());
        let read = tokio::spawn(async move {
            // Until the row is committed, a read has nothing of it to wait for.
            while committed_ids(&path).is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            count(&readers).await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(committed_ids(&db.path), ["a"], "committed without its sync");
        assert!(!write.is_finished(), "answered before the WAL was synced");
        assert!(!read.is_finished(), "a read showed a write not yet synced");

        db.gate.send(Ok(())).unwrap();
        write.await.unwrap().unwrap();
        assert_eq!(read.await.unwrap().unwrap(), 1);
        drop(db.gate);
        db.writer.close().await;
    }

    /// While a batch is being synced, the writes that come in run but wait in the open
    /// transaction, and commit together once that sync is done: the writer commits no faster
    /// than the disk syncs, so batches grow with the load instead of shrinking to a unit each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_arriving_during_a_sync_commit_together_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let first = insert(&db.writer, "a");
        while committed_ids(&db.path).is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (second, third) = (insert(&db.writer, "b"), insert(&db.writer, "c"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            committed_ids(&db.path),
            ["a"],
            "committed while the last batch was still being synced"
        );
        db.gate.send(Ok(())).unwrap();
        first.await.unwrap().unwrap();
        // One batch: a second one would wait for a sync the gate holds back.
        tokio::time::timeout(Duration::from_secs(10), async {
            while committed_ids(&db.path).len() < 3 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("b and c committed together after the first sync");
        assert!(!second.is_finished() && !third.is_finished());
        db.gate.send(Ok(())).unwrap();
        second.await.unwrap().unwrap();
        third.await.unwrap().unwrap();
        drop(db.gate);
        db.writer.close().await;
    }

    /// A failed sync is not retried: the writes waiting for it fail, and so does every read
    /// and write after it, without anything more being committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_sync_fails_its_writes_and_everything_after() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let write = insert(&db.writer, "a");
        db.gate
            .send(Err(std::io::Error::other("injected failure")))
            .unwrap();
        let error = write.await.unwrap().unwrap_err();
        assert!(error.is_unavailable(), "{error}");
        assert!(error.to_string().contains("injected failure"), "{error}");

        let error = count(&db.readers).await.unwrap_err();
        assert!(error.to_string().contains("restarted"), "{error}");
        let error = insert(&db.writer, "b").await.unwrap().unwrap_err();
        assert!(error.to_string().contains("injected failure"), "{error}");
        // "a" was committed (a restart recovers it, or not, from the WAL); "b" never ran.
        assert_eq!(committed_ids(&db.path), ["a"]);
        db.writer.close().await;
    }
}
