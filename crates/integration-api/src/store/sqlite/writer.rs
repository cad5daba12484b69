//! The thread that owns a [`SqliteStore`](super::SqliteStore)'s connection.
//!
//! Every read and write is a job sent to this one thread, so no lock is taken and no blocking
//! pool is crossed. The writes queued while a commit runs are applied together in one
//! `BEGIN IMMEDIATE` transaction, each in its own savepoint, and committed once (a group
//! commit): under load one commit and one WAL write serve several deliveries.
//!
//! - A job's answer is sent only after the commit that holds its writes, so no caller hears
//!   "applied" for a write that a failed commit then lost.
//! - A job that fails (or panics) is rolled back to its savepoint and answered with its own
//!   error; the others of its batch go on and commit.
//! - If the transaction itself is lost (a failed commit, or an I/O error that made SQLite roll
//!   it back), every job of it not yet answered gets the error: nothing of them was applied,
//!   and the caller (a provider's retry) sends them again.
//! - Reads run between batches, outside any transaction, so they see committed data only: a
//!   delivery id of a batch that then failed is never reported as seen.
//!
//! A file database also gets a checkpoint thread with a connection of its own: copying the WAL
//! into the database (and its two fsyncs) then runs beside the writes instead of inside the
//! commit that crossed SQLite's threshold, which held every queued delivery back.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::super::{BackendError, StoreError};

/// Writes committed together at most: more would hold the answers of the first ones back.
const MAX_BATCH: usize = 64;

/// The checkpoint thread's rest between checkpoints, so that a busy store checkpoints about
/// as often as SQLite's default (every 1,000 pages) and an idle one not at all.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(50);

/// WAL pages after which the writer checkpoints itself, when the checkpoint thread could not
/// keep up. A passive checkpoint copies only what precedes the writes running meanwhile, so
/// under steady load only the writer's own (between its commits) lets the WAL start over.
pub(super) const BACKSTOP_CHECKPOINT_PAGES: u32 = 8_192;

/// The sending side of the connection's thread; clones share the thread, which ends (closing
/// the connection) when the last clone is dropped.
#[derive(Clone)]
pub(super) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Moves `conn` onto a thread of its own, and `checkpoints` (a second connection to the
    /// same file, if it is one) onto the checkpoint thread.
    pub(super) fn spawn(
        conn: Connection,
        checkpoints: Option<Connection>,
    ) -> std::io::Result<Writer> {
        let commits = match checkpoints {
            Some(checkpoints) => {
                // One pending signal is enough: a checkpoint copies every commit before it.
                let (commits, signals) = mpsc::sync_channel(1);
                std::thread::Builder::new()
                    .name("sqlite-checkpoint".into())
                    .spawn(move || checkpoint(checkpoints, signals))?;
                Some(commits)
            }
            None => None,
        };
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-store".into())
            .spawn(move || serve(conn, queue, commits))?;
        Ok(Writer { jobs })
    }

    /// Runs `work` outside any transaction.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.send(Kind::Read, work).await
    }

    /// Runs `work` inside a transaction (possibly shared with other writes, each in its own
    /// savepoint) and answers once that transaction is committed.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.send(Kind::Write, work).await
    }

    async fn send<T: Send + 'static>(
        &self,
        kind: Kind,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (job, answer) = Job::new(kind, work);
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Task("the database thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Task("the database thread dropped a request".into()))?
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

struct Job {
    kind: Kind,
    call: Box<dyn Task>,
}

impl Job {
    fn new<T: Send + 'static>(
        kind: Kind,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> (Job, oneshot::Receiver<Result<T, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let call = Call {
            work: Some(work),
            result: None,
            reply,
        };
        let job = Job {
            kind,
            call: Box::new(call),
        };
        (job, answer)
    }
}

/// A job with its result type erased, so that one queue carries them all.
trait Task: Send {
    /// Runs the work and keeps its result; whether it succeeded.
    fn run(&mut self, conn: &mut Connection) -> bool;
    /// Sends the kept result, or `lost` when the transaction that held a successful write (or
    /// one that never ran) was rolled back.
    fn answer(self: Box<Self>, lost: Option<&Lost>);
}

struct Call<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Task for Call<T, F>
where
    T: Send,
    F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &mut Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(StoreError::Task("a database job panicked".into())));
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, lost: Option<&Lost>) {
        let result = match (self.result, lost) {
            (Some(Ok(_)) | None, Some(lost)) => Err(lost.error()),
            (Some(result), _) => result,
            (None, None) => Err(StoreError::Task("a database job never ran".into())),
        };
        // The caller may have gone away (a dropped request); its write stands regardless.
        let _ = self.reply.send(result);
    }
}

/// Why a transaction was lost, shared by the writes it held.
struct Lost {
    operation: &'static str,
    cause: Arc<BackendError>,
}

impl Lost {
    fn new(operation: &'static str, cause: impl Into<BackendError>) -> Lost {
        Lost {
            operation,
            cause: Arc::new(cause.into()),
        }
    }

    /// The error of one of the writes.
    fn error(&self) -> StoreError {
        StoreError::Backend {
            operation: self.operation,
            source: Box::new(SharedCause(Arc::clone(&self.cause))),
        }
    }
}

/// One cause behind several errors; it shows as the cause itself.
#[derive(Debug)]
struct SharedCause(Arc<BackendError>);

impl std::fmt::Display for SharedCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

fn serve(mut conn: Connection, queue: mpsc::Receiver<Job>, commits: Option<mpsc::SyncSender<()>>) {
    while let Ok(first) = queue.recv() {
        let mut writes = VecDeque::new();
        for job in std::iter::once(first).chain(std::iter::from_fn(|| queue.try_recv().ok())) {
            match job.kind {
                Kind::Read => {
                    let mut call = job.call;
                    call.run(&mut conn);
                    call.answer(None);
                }
                Kind::Write => {
                    writes.push_back(job.call);
                    if writes.len() == MAX_BATCH {
                        break;
                    }
                }
            }
        }
        let wrote = !writes.is_empty();
        while !writes.is_empty() {
            commit_batch(&mut conn, &mut writes);
        }
        if wrote && let Some(commits) = &commits {
            // Full means a checkpoint is already due; it will copy this commit too.
            let _ = commits.try_send(());
        }
    }
}

/// Checkpoints after commits, at most once per [`CHECKPOINT_PAUSE`], until the writer thread
/// ends.
fn checkpoint(conn: Connection, commits: mpsc::Receiver<()>) {
    while commits.recv().is_ok() {
        // PASSIVE never waits for the writer; what it cannot copy yet is copied next time, or
        // by the writer's own checkpoint.
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(%error, "background checkpoint skipped");
        }
        std::thread::sleep(CHECKPOINT_PAUSE);
    }
}

/// Applies writes from the front of `writes` in one transaction and commits them, answering
/// each. Returns early, leaving the rest queued, when the transaction was lost part-way.
fn commit_batch(conn: &mut Connection, writes: &mut VecDeque<Box<dyn Task>>) {
    if let Err(source) = conn.execute_batch("BEGIN IMMEDIATE") {
        let lost = Lost::new("begin delivery", source);
        for call in writes.drain(..) {
            call.answer(Some(&lost));
        }
        return;
    }
    let mut applied: Vec<Box<dyn Task>> = Vec::new();
    while let Some(mut call) = writes.pop_front() {
        if let Err(source) = conn.execute_batch("SAVEPOINT job") {
            applied.push(call);
            return abandon(conn, applied, "begin delivery", source.into());
        }
        if call.run(conn) {
            match conn.execute_batch("RELEASE job") {
                Ok(()) => applied.push(call),
                Err(source) => {
                    applied.push(call);
                    return abandon(conn, applied, "commit delivery", source.into());
                }
            }
            continue;
        }
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (a full disk, an I/O error): the writes
            // before this one are gone too.
            call.answer(None);
            return abandon(
                conn,
                applied,
                "apply delivery",
                "the transaction was rolled back by an earlier error".into(),
            );
        }
        let undone = conn.execute_batch("ROLLBACK TO job; RELEASE job");
        call.answer(None);
        if let Err(source) = undone {
            return abandon(conn, applied, "roll back a failed delivery", source.into());
        }
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for call in applied {
                call.answer(None);
            }
        }
        Err(source) => abandon(conn, applied, "commit delivery", source.into()),
    }
}

/// Rolls the open transaction back and answers its writes with the cause.
fn abandon(
    conn: &mut Connection,
    applied: Vec<Box<dyn Task>>,
    operation: &'static str,
    source: BackendError,
) {
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let lost = Lost::new(operation, source);
    for call in applied {
        call.answer(Some(&lost));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(n: i64) -> impl FnOnce(&mut Connection) -> Result<(), StoreError> + Send {
        move |conn| {
            conn.execute("INSERT INTO t (n) VALUES (?1)", [n])
                .map(drop)
                .map_err(|source| StoreError::Backend {
                    operation: "test insert",
                    source: source.into(),
                })
        }
    }

    type Work = Box<dyn FnOnce(&mut Connection) -> Result<(), StoreError> + Send>;

    fn rows(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn.prepare("SELECT n FROM t ORDER BY n").unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Queues `works` as writes, then serves them as one batch on this thread, as the writer
    /// thread does with the writes queued during a commit; returns the answers and the rows.
    fn one_batch(works: Vec<Work>) -> (Vec<Result<(), StoreError>>, Vec<i64>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batch.sqlite3");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER NOT NULL);")
            .unwrap();
        let (jobs, queue) = mpsc::channel();
        let answers: Vec<_> = works
            .into_iter()
            .map(|work| {
                let (job, answer) = Job::new(Kind::Write, work);
                jobs.send(job).unwrap();
                answer
            })
            .collect();
        drop(jobs);
        serve(conn, queue, None);
        let answers = answers
            .into_iter()
            .map(|answer| answer.blocking_recv().unwrap())
            .collect();
        (answers, rows(&Connection::open(&path).unwrap()))
    }

    #[test]
    fn a_failed_write_is_undone_alone_and_the_rest_of_its_batch_commits() {
        let (answers, rows) = one_batch(vec![
            Box::new(insert(1)),
            Box::new(|conn: &mut Connection| {
                insert(2)(conn)?;
                Err(StoreError::Task("refused after writing".into()))
            }),
            Box::new(|conn: &mut Connection| {
                insert(3)(conn)?;
                panic!("a job panics after writing");
            }),
            Box::new(insert(4)),
        ]);
        let failed: Vec<bool> = answers.iter().map(Result::is_err).collect();
        assert_eq!(failed, [false, true, true, false]);
        assert_eq!(rows, [1, 4]);
    }

    #[test]
    fn a_lost_transaction_fails_every_write_it_held_and_the_next_ones_start_again() {
        let (answers, rows) = one_batch(vec![
            Box::new(insert(1)),
            // What SQLite does itself on some I/O errors: the whole transaction is gone.
            Box::new(|conn: &mut Connection| {
                conn.execute_batch("ROLLBACK").unwrap();
                Err(StoreError::Task("the transaction was rolled back".into()))
            }),
            Box::new(insert(3)),
        ]);
        let failed: Vec<bool> = answers.iter().map(Result::is_err).collect();
        // The first write was applied in the lost transaction, so it is answered with the
        // failure, never with success; the third ran in a new transaction.
        assert_eq!(failed, [true, true, false]);
        assert_eq!(rows, [3]);
    }
}
