//! The intake's group commit: concurrent filings share one write transaction.
//!
//! Every filing is parsed, looked up in the registry and routed before it gets here (none of
//! that needs the write lock). What needs the lock — the duplicate check, the matter and its
//! number, the complaint row, the counters, the notice, the evidence, the events and the
//! audit entries ([`record`]) — is queued to an [`IntakeWriter`]. One writer at a time takes
//! up to [`IntakeWriter::max_batch`] queued filings, opens one transaction, records each
//! inside a savepoint (so a filing that fails there — a duplicate, a constraint — is undone
//! alone and answered with its own error while the others go on), commits once, and only
//! then answers every waiter. So:
//!
//! - a filing is answered as filed only after the commit that holds it; a crash before the
//!   commit loses only filings nobody was told about;
//! - matter numbers and event timepoints stay gapless: an undone filing's savepoint gives its
//!   number and timepoints back, and the next filing in the batch takes them;
//! - the second of two duplicates in one batch sees the first inside the transaction and is
//!   refused as today;
//! - nobody waits for a timer: the first filing starts a batch at once, and the filings that
//!   arrive while it runs make up the next one. Under no load a batch is one filing.
//!
//! There is no writer task to start or stop: the filing that finds the writer idle spawns it
//! on the current runtime, and it ends when the queue is empty.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tokio::sync::oneshot;

use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::matter::{Acting, Matter, NewAttachment};

use super::intake::{FileError, Routed, record};
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
            // A task of its own, so a client that goes away cannot cancel a batch that holds
            // other filings.
            tokio::spawn(drain(self.inner.clone()));
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

async fn run_batch(db: &Db, batch: Vec<Job>) {
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            for job in batch {
                let _ = job.reply.send(Err(batch_error(&e)));
            }
            return;
        }
    };
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
        BATCHES.fetch_add(1, Ordering::Relaxed);
        FILINGS.fetch_add(filed, Ordering::Relaxed);
        LARGEST.fetch_max(filed, Ordering::Relaxed);
    }
}

/// One filing inside its savepoint: `Ok` with its own answer (filed, or refused and undone);
/// `Err` when the transaction itself failed (the savepoint could not be opened, released or
/// rolled back to), which ends the batch.
async fn one(tx: &mut Tx, job: &Job) -> Result<Result<(Matter, bool), FileError>, AppError> {
    let sp = tx.savepoint().await?;
    match record(
        tx,
        &job.acting,
        &job.routed.as_routed(),
        &job.files,
        job.today,
    )
    .await
    {
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
