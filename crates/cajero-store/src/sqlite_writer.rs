//! The SQLite writer: one thread owns the only write connection and commits queued units of
//! work in batches (group commit).
//!
//! SQLite allows one writer at a time, and with `synchronous=FULL` every commit waits for an
//! fsync. Committing each request on its own would cap throughput at the disk's fsync rate.
//! Instead the writer takes everything queued (up to `batch_max`), opens one
//! `BEGIN IMMEDIATE` transaction, runs each unit of work under its own savepoint — an error
//! rolls back that unit only — and commits once. Each caller hears back only after the commit
//! is durable, so an acknowledged write is on disk; if the commit fails, every unit in the
//! batch gets the error and nothing of it is kept.
//!
//! The thread runs each unit of work to completion itself: a unit's statements are plain
//! calls into SQLite on this thread ([`crate::sqlite`]), so a unit's future never waits on
//! anything and is driven by a trivial executor. The only thread hops are the request handing
//! its unit over and the writer answering it.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use futures::future::BoxFuture;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::sqlite::{WriterCheckpoints, batch_error, database, not_begun_error, profile};
use crate::{Conn, StoreError, Work};

/// Tells a unit of work's caller how its batch ended: `None` committed, `Some` failed.
type Answer = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// What a unit of work reports to the writer: whether to keep its savepoint, and how to
/// answer its caller once the batch's fate is known.
struct Ran {
    ok: bool,
    answer: Answer,
}

/// What the writer gives a unit of work: the connection to run on, or the error that kept its
/// batch from starting (the unit is then answered with it and never runs).
enum Turn<'c> {
    Run(Conn<'c>),
    Refused(&'c StoreError),
}

type Job = Box<dyn for<'c> FnOnce(Turn<'c>) -> BoxFuture<'c, Ran> + Send>;

enum Message {
    Work(Job),
    Close(oneshot::Sender<()>),
}

/// The handle requests use to reach the writer.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    queue: mpsc::Sender<Message>,
}

/// Starts the writer thread on `conn`.
/// `checkpoints` is the writer's part of keeping the WAL short (a file database's; `None` in
/// memory): see [`crate::sqlite::Checkpointer`].
pub(crate) fn spawn(
    conn: Connection,
    batch_max: usize,
    queue_max: usize,
    checkpoints: Option<WriterCheckpoints>,
) -> Result<WriterHandle, StoreError> {
    let (queue, inbox) = mpsc::channel(queue_max.max(1));
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("cajero-sqlite-writer".to_string())
        .spawn(move || {
            // Units of work may use tokio (a timer, say) even though nothing they do waits.
            let _entered = runtime.enter();
            run(conn, inbox, batch_max.max(1), checkpoints);
        })
        .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    Ok(WriterHandle { queue })
}

impl WriterHandle {
    pub(crate) async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(Conn<'c>) -> Work<'c, T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |turn: Turn<'_>| {
            Box::pin(async move {
                let conn = match turn {
                    Turn::Run(conn) => conn,
                    Turn::Refused(error) => {
                        let _ = reply.send(Err(E::from(not_begun_error(error))));
                        return Ran {
                            ok: false,
                            answer: Box::new(|_| {}),
                        };
                    }
                };
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
                            (Ok(_), Some(error)) => Err(E::from(batch_error(error))),
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

    pub(crate) async fn close(&self) {
        let (reply, answer) = oneshot::channel();
        if self.queue.send(Message::Close(reply)).await.is_ok() {
            let _ = answer.await;
        }
    }
}

fn run(
    mut conn: Connection,
    mut inbox: mpsc::Receiver<Message>,
    batch_max: usize,
    mut checkpoints: Option<WriterCheckpoints>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(batch_max);
    let mut reported = std::time::Instant::now();
    while let Some(first) = inbox.blocking_recv() {
        if profile::on() && reported.elapsed() >= profile::REPORT_EVERY {
            profile::report("writer");
            reported = std::time::Instant::now();
        }
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Work(job) => batch.push(job),
                Message::Close(reply) => {
                    commit_batch(&mut conn, &mut batch);
                    inbox.close();
                    if let Err((_, error)) = conn.close() {
                        tracing::warn!(%error, "closing the SQLite writer's connection failed");
                    }
                    let _ = reply.send(());
                    return;
                }
            }
            if batch.len() < batch_max {
                next = inbox.try_recv().ok();
            }
        }
        commit_batch(&mut conn, &mut batch);
        if let Some(checkpoints) = checkpoints.as_mut() {
            checkpoints.between_batches(&conn);
        }
    }
}

/// Runs and commits the queued units of work, then answers their callers.
fn commit_batch(conn: &mut Connection, batch: &mut Vec<Job>) {
    if batch.is_empty() {
        return;
    }
    let jobs: Vec<Job> = std::mem::take(batch);
    let mut answers = Vec::with_capacity(jobs.len());
    match run_batch(conn, jobs, &mut answers) {
        Ok(()) => answers.into_iter().for_each(|answer| answer(None)),
        Err(error) => {
            tracing::error!(%error, "a write batch failed to commit; every write in it failed");
            if !conn.is_autocommit() {
                let _ = statement(conn, "ROLLBACK");
            }
            answers.into_iter().for_each(|answer| answer(Some(&error)));
        }
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

fn run_batch(
    conn: &mut Connection,
    jobs: Vec<Job>,
    answers: &mut Vec<Answer>,
) -> Result<(), StoreError> {
    if let Err(error) = statement(conn, "BEGIN IMMEDIATE") {
        // Nothing ran: each caller is told why, as unavailable (any of them may be retried;
        // the usual cause is another process holding the file's write lock past the busy
        // timeout). The cause is logged by the caller of this function.
        for job in jobs {
            futures::executor::block_on(job(Turn::Refused(&error)));
        }
        return Err(error);
    }
    for job in jobs {
        statement(conn, "SAVEPOINT unit")?;
        let unit_start = profile::start();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            futures::executor::block_on(job(Turn::Run(Conn::Sqlite(&mut *conn))))
        }));
        profile::record("[unit]", unit_start);
        match outcome {
            Ok(ran) => {
                // Answered whatever follows: a unit whose error ended the whole transaction
                // (SQLite rolls it back itself on some errors, and its savepoint with it) is
                // told its own error, not that the writer is gone.
                let ok = ran.ok;
                answers.push(ran.answer);
                if !ok {
                    statement(conn, "ROLLBACK TO unit")?;
                }
                statement(conn, "RELEASE unit")?;
            }
            Err(_) => {
                // The caller's reply channel went down with the job: it hears `WriterGone`.
                tracing::error!("a unit of work panicked; rolled back");
                statement(conn, "ROLLBACK TO unit")?;
                statement(conn, "RELEASE unit")?;
            }
        }
    }
    statement(conn, "COMMIT")
}
