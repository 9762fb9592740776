//! The intake's group commit: concurrent filings share one write transaction.
//!
//! Every filing is parsed, looked up in the registry and routed before it gets here (none of
//! that needs the write lock). What needs the lock — the duplicate check, the matter and its
//! number, the complaint row, the counters, the notice, the evidence, the events and the
//! audit entries ([`record`]) — is queued to an [`IntakeWriter`]. One writer at a time takes
//! up to [`IntakeWriter::max_batch`] queued filings, opens one transaction, reads the batch's
//! open duplicates and ODR participants once ([`Known`]), records the filings one after the
//! other, commits once, and only then answers every waiter. A duplicate is refused before it
//! writes anything; should any other filing fail inside the transaction, the transaction is
//! rolled back whole and the batch runs again with each filing inside a savepoint (so the
//! failing one — a constraint, a failed statement — is undone alone and answered with its own
//! error while the others go on). So:
//!
//! - a filing is answered as filed only after the commit that holds it; a crash before the
//!   commit loses only filings nobody was told about;
//! - matter numbers and event timepoints stay gapless: a rolled-back transaction, or an
//!   undone filing's savepoint, gives its numbers and timepoints back, and the next filing
//!   takes them;
//! - the second of two duplicates in one batch sees the first (in [`Known`], which each
//!   filing recorded joins, or inside the transaction when the batch runs again) and is
//!   refused as today;
//! - nobody waits for a timer: the first filing starts a batch at once, and the filings that
//!   arrive while it runs make up the next one. Under no load a batch is one filing.
//!
//! The batch's transaction holds back the rows nothing in it reads back (`Tx::defer_appends`:
//! the events, audit entries, timeline entries and clocks of the matters, the complaint rows,
//! the notices, the monthly counters summed per county and month) and writes them as
//! multi-row statements before it commits; the matter numbers count on in memory after the
//! batch's first (`Tx`), like the event timepoints. A filing of the batch then sends two
//! statements of its own (its matter's insert and its first transition's update, each
//! reading the row back). When the batch runs again with savepoints, each filing's held rows
//! are written inside its savepoint, so a row that fails is that filing's alone.
//!
//! There is no writer to start or stop: the filing that finds the writer idle starts it (a
//! thread of its own on the current runtime, see `start_drain`), and it ends when the queue
//! is empty.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tokio::sync::oneshot;

use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::matter::{Acting, Matter, NewAttachment};

use super::intake::{FileError, Known, Routed, record, record_known};
use crate::complaint::model;

/// The most filings one transaction takes.
pub const MAX_BATCH: usize = 128;

/// An intake parsed and routed, owned (for the queue).
#[derive(Debug, Clone)]
pub struct RoutedIntake {
    pub intake: model::Intake,
    pub uscc: Option<String>,
    pub business_name: String,
    pub business_address: Option<String>,
    /// The county bureau (6 digits).
    pub county: String,
    /// form | api | open311
    pub source: &'static str,
    /// Open311's `media_url` (checked: an `http`/`https` address), kept as a link.
    pub media_url: Option<String>,
}

impl RoutedIntake {
    pub fn as_routed(&self) -> Routed<'_> {
        Routed {
            intake: &self.intake,
            uscc: self.uscc.as_deref(),
            business_name: &self.business_name,
            business_address: self.business_address.as_deref(),
            county: &self.county,
            source: self.source,
            media_url: self.media_url.as_deref(),
        }
    }
}

type Reply = oneshot::Sender<Result<(Matter, bool), FileError>>;

struct Job {
    acting: Acting,
    routed: RoutedIntake,
    files: Vec<NewAttachment>,
    today: NaiveDate,
    reply: Reply,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    running: bool,
}

struct Inner {
    db: Db,
    max_batch: usize,
    queue: Mutex<Queue>,
}

/// The group-commit writer of one database's intake (one per router; cheap to clone).
#[derive(Clone)]
pub struct IntakeWriter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for IntakeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeWriter")
            .field("backend", &self.inner.db.backend())
            .field("max_batch", &self.inner.max_batch)
            .finish()
    }
}

static BATCHES: AtomicU64 = AtomicU64::new(0);
static FILINGS: AtomicU64 = AtomicU64::new(0);
static LARGEST: AtomicU64 = AtomicU64::new(0);

/// The transactions the intake writers of this process have committed, the filings they
/// held and the most one held (for the benchmark's batch sizes and the tests).
pub fn batch_stats() -> (u64, u64, u64) {
    (
        BATCHES.load(Ordering::Relaxed),
        FILINGS.load(Ordering::Relaxed),
        LARGEST.load(Ordering::Relaxed),
    )
}

fn lock(q: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    q.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl IntakeWriter {
    pub fn new(db: Db) -> IntakeWriter {
        IntakeWriter::with_max_batch(db, MAX_BATCH)
    }

    /// A writer taking at most `max_batch` filings a transaction (at least 1).
    pub fn with_max_batch(db: Db, max_batch: usize) -> IntakeWriter {
        IntakeWriter {
            inner: Arc::new(Inner {
                db,
                max_batch: max_batch.max(1),
                queue: Mutex::new(Queue::default()),
            }),
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn max_batch(&self) -> usize {
        self.inner.max_batch
    }

    /// Records a routed filing in the next batch and waits for its commit: the matter and
    /// whether it went to ODR, or this filing's own refusal (nothing of it stored).
    pub async fn record(
        &self,
        acting: Acting,
        routed: RoutedIntake,
        files: Vec<NewAttachment>,
        today: NaiveDate,
    ) -> Result<(Matter, bool), FileError> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut q = lock(&self.inner.queue);
            q.jobs.push_back(Job {
                acting,
                routed,
                files,
                today,
                reply,
            });
            !std::mem::replace(&mut q.running, true)
        };
        if start {
            start_drain(self.inner.clone());
        }
        answer.await.unwrap_or_else(|_| {
            Err(FileError::App(AppError::Internal(anyhow::anyhow!(
                "the intake writer stopped before answering"
            ))))
        })
    }
}

/// Marks the writer idle if the drain ends abnormally (a panic, or the runtime dropping the
/// task): the filings still queued are then answered with an error (their senders dropped)
/// rather than left waiting. A normal end marks the writer idle itself, under the same lock
/// hold that finds the queue empty, so a filing queued just after starts a new drain.
struct Running {
    inner: Arc<Inner>,
    armed: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.armed {
            let mut q = lock(&self.inner.queue);
            q.jobs.clear();
            q.running = false;
        }
    }
}

/// Starts the writer: a thread of its own that runs the drain on this runtime
/// ([`tokio::runtime::Handle::block_on`]), so a client that goes away cannot cancel a batch
/// that holds other filings, and the writer, which waits for the database once for every
/// statement of every filing, is woken straight away rather than queued behind the
/// runtime's other tasks (the requests, the clients). Should the thread not start, a task on
/// the runtime does the same work.
fn start_drain(inner: Arc<Inner>) {
    let handle = tokio::runtime::Handle::current();
    let slot = Arc::new(Mutex::new(Some(inner)));
    let taken = slot.clone();
    let h = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("amr-intake-writer".into())
        .spawn(move || {
            if let Some(inner) = take(&taken) {
                h.block_on(drain(inner));
            }
        });
    if spawned.is_err()
        && let Some(inner) = take(&slot)
    {
        handle.spawn(drain(inner));
    }
}

fn take(slot: &Mutex<Option<Arc<Inner>>>) -> Option<Arc<Inner>> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

async fn drain(inner: Arc<Inner>) {
    let mut running = Running {
        inner: inner.clone(),
        armed: true,
    };
    loop {
        let batch: Vec<Job> = {
            let mut q = lock(&inner.queue);
            let n = q.jobs.len().min(inner.max_batch);
            if n == 0 {
                q.running = false;
                running.armed = false;
                return;
            }
            q.jobs.drain(..n).collect()
        };
        run_batch(&inner.db, batch).await;
    }
}

/// What a batch-wide failure (the transaction could not begin, a savepoint or the commit
/// failed) tells each filing it held: busy stays busy (503), anything else is logged by the
/// answer's 500 with this cause.
fn batch_error(e: &AppError) -> FileError {
    FileError::App(match e {
        AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
        other => AppError::Internal(anyhow::anyhow!("complaint intake batch failed: {other:#}")),
    })
}

/// What the first try at a batch, without savepoints, came to.
enum Quick {
    /// Committed: every filing's answer (filed, or refused as a duplicate).
    Committed(Vec<Result<(Matter, bool), FileError>>),
    /// A filing failed after it had written something: the transaction was rolled back as a
    /// whole, and the batch is run again with a savepoint a filing.
    Again,
    /// The transaction could not begin or commit: every filing gets this error.
    Failed(AppError),
}

/// A batch: first in one transaction without savepoints, which is all a batch needs when no
/// filing fails inside it (two statements a filing fewer); should one fail, that
/// transaction is rolled back whole and the batch runs again with a savepoint a filing
/// ([`careful`]), so the failing filing is undone alone.
async fn run_batch(db: &Db, batch: Vec<Job>) {
    match quick(db, &batch).await {
        Quick::Committed(answers) => {
            let mut filed = 0u64;
            for (job, answer) in batch.into_iter().zip(answers) {
                filed += u64::from(answer.is_ok());
                let _ = job.reply.send(answer);
            }
            count(filed);
        }
        Quick::Failed(e) => {
            for job in batch {
                let _ = job.reply.send(Err(batch_error(&e)));
            }
        }
        Quick::Again => careful(db, batch).await,
    }
}

fn count(filed: u64) {
    BATCHES.fetch_add(1, Ordering::Relaxed);
    FILINGS.fetch_add(filed, Ordering::Relaxed);
    LARGEST.fetch_max(filed, Ordering::Relaxed);
}

async fn quick(db: &Db, batch: &[Job]) -> Quick {
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(e) => return Quick::Failed(e),
    };
    tx.defer_appends();
    let mut known = match known(&mut tx, batch).await {
        Ok(k) => k,
        Err(e) => return Quick::Failed(e),
    };
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        match record_known(
            &mut tx,
            &job.acting,
            &job.routed.as_routed(),
            &job.files,
            job.today,
            Some(&mut known),
        )
        .await
        {
            // `record` refuses a duplicate before it writes anything: nothing to undo.
            Err(FileError::Duplicate { number }) => {
                answers.push(Err(FileError::Duplicate { number }))
            }
            Err(_) => {
                return match tx.rollback().await {
                    Ok(()) => Quick::Again,
                    Err(e) => Quick::Failed(e),
                };
            }
            Ok(v) => answers.push(Ok(v)),
        }
    }
    // The rows held back (events, audit entries, timelines, clocks, complaint rows,
    // notices, counters) are written now rather than inside the commit, so that a row that
    // fails (a constraint, a trigger) reruns the batch with savepoints, like a failure
    // above, instead of failing every filing.
    if tx.flush_appends().await.is_err() {
        return match tx.rollback().await {
            Ok(()) => Quick::Again,
            Err(e) => Quick::Failed(e),
        };
    }
    match tx.commit().await {
        Ok(()) => Quick::Committed(answers),
        Err(e) => Quick::Failed(e),
    }
}

/// The open duplicates and the ODR participants of a batch's filings, read in two
/// statements rather than two a filing.
async fn known(tx: &mut Tx, batch: &[Job]) -> Result<Known, AppError> {
    let keys: Vec<String> = batch
        .iter()
        .map(|j| j.routed.as_routed().dup_key())
        .collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut usccs: Vec<&str> = batch
        .iter()
        .filter_map(|j| j.routed.uscc.as_deref())
        .collect();
    usccs.sort_unstable();
    usccs.dedup();
    Ok(Known {
        open: crate::complaint::store::open_duplicates(tx, &keys).await?,
        odr: crate::complaint::store::odr_among(tx, &usccs).await?,
    })
}

/// A batch with a savepoint a filing: a filing that fails inside is undone alone and
/// answered with its own error while the others go on.
async fn careful(db: &Db, batch: Vec<Job>) {
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            for job in batch {
                let _ = job.reply.send(Err(batch_error(&e)));
            }
            return;
        }
    };
    tx.defer_appends();
    let mut answers: Vec<Option<Result<(Matter, bool), FileError>>> =
        Vec::with_capacity(batch.len());
    let mut broken: Option<AppError> = None;
    for job in &batch {
        if broken.is_some() {
            answers.push(None);
            continue;
        }
        match one(&mut tx, job).await {
            Ok(answer) => answers.push(Some(answer)),
            Err(e) => {
                broken = Some(e);
                answers.push(None);
            }
        }
    }
    let failure = match broken {
        Some(e) => {
            drop(tx);
            Some(e)
        }
        None => tx.commit().await.err(),
    };
    let mut filed = 0u64;
    for (job, answer) in batch.into_iter().zip(answers) {
        let answer = match (answer, &failure) {
            // A duplicate's open matter may have been one of this batch, which is gone.
            (Some(Err(FileError::Duplicate { .. })), Some(e)) => Err(batch_error(e)),
            // Refused on its own: nothing of it was in the transaction anyway.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), None) => {
                filed += 1;
                Ok(v)
            }
            (_, Some(e)) => Err(batch_error(e)),
            (None, None) => Err(FileError::App(AppError::Internal(anyhow::anyhow!(
                "complaint intake: a filing without an answer"
            )))),
        };
        let _ = job.reply.send(answer);
    }
    if failure.is_none() {
        count(filed);
    }
}

/// One filing inside its savepoint: `Ok` with its own answer (filed, or refused and undone);
/// `Err` when the transaction itself failed (the savepoint could not be opened, released or
/// rolled back to), which ends the batch. The filing's held-back rows are written inside its
/// savepoint, so a row that fails undoes this filing alone.
async fn one(tx: &mut Tx, job: &Job) -> Result<Result<(Matter, bool), FileError>, AppError> {
    let sp = tx.savepoint().await?;
    let recorded = match record(
        tx,
        &job.acting,
        &job.routed.as_routed(),
        &job.files,
        job.today,
    )
    .await
    {
        Ok(v) => match tx.flush_appends().await {
            Ok(()) => Ok(v),
            Err(e) => Err(FileError::App(e)),
        },
        Err(e) => Err(e),
    };
    match recorded {
        Ok(v) => {
            tx.release(sp).await?;
            Ok(Ok(v))
        }
        Err(e) => {
            tx.rollback_to(sp).await?;
            Ok(Err(e))
        }
    }
}
