//! The worker runner: consumers follow the event log with durable cursors.
//!
//! A consumer handles a batch of events inside a write transaction that also advances its
//! cursor, so its database effects and its cursor commit together: a consumer killed mid-batch
//! leaves neither, and the next run handles the same batch again from the same cursor.
//! Effects outside the database (a search index, a delivery to an agency) must be idempotent
//! by timepoint, because a batch whose transaction failed is handed over again.
//!
//! The write lock is taken only for work: [`run`] reads a batch before it opens the
//! transaction (a window of at least 1,024 events, whatever the consumer's batch size), and
//! a window with no event the consumer [wants](Consumer::wants) is passed over without one
//! (the events before the first wanted one likewise) — the runner remembers how far it
//! read, and the cursor is stored with the next batch it handles, on its own once the runner
//! is [`LAG_WRITE`] events ahead of it, and when it is caught up (at most once a
//! [`STORE_IDLE_EVERY`]); a restart reads the passed-over events again and passes them over
//! again. Woken
//! by a commit when caught up, the runner waits [`RunnerOptions::settle`] first, so the
//! commits of a busy writer (the complaint intake's batches, say) come to a follower as one
//! batch rather than one each: each follower's transaction queues at the same write lock.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

use super::{Event, all_after, subscribe};
use crate::db::{Db, Tx};
use crate::error::AppError;

/// Something that follows the event log.
pub trait Consumer: Send + Sync {
    /// The durable name of the cursor (stable across releases).
    fn name(&self) -> &str;

    /// Whether [`Consumer::handle`] does anything with `e`. A batch of events none of which
    /// it wants is not handed over: [`run`] passes it over without taking the write lock.
    /// It must not depend on the database (the events passed over are not read again until
    /// a restart). By default every event.
    fn wants(&self, _e: &Event) -> bool {
        true
    }

    /// Handles a batch in order. Writes go through `tx`, which also advances the cursor.
    fn handle(
        &self,
        tx: &mut Tx,
        batch: &[Event],
    ) -> impl Future<Output = Result<(), AppError>> + Send;
}

/// How a runner paces itself.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    pub batch_size: i64,
    /// How often to look for events written by other processes.
    pub poll_interval: Duration,
    /// Wait after a failed batch before retrying it.
    pub retry_delay: Duration,
    /// When caught up and woken by a commit, wait this long before reading: the commits in
    /// between come as one batch.
    pub settle: Duration,
}

/// How far a runner may pass over events it does not want before it stores its cursor on
/// its own (the events a restart reads again).
pub const LAG_WRITE: i64 = 4096;

/// How often at most a caught-up runner stores the cursor of the events it passed over.
pub const STORE_IDLE_EVERY: Duration = Duration::from_secs(1);

/// The fewest events [`run`] reads at a time (a consumer's batch may be smaller: the
/// events it wants are handed over `batch_size` at a time).
const PASS_WINDOW: i64 = 1024;

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            batch_size: 256,
            poll_interval: Duration::from_millis(500),
            retry_delay: Duration::from_secs(2),
            settle: Duration::from_millis(50),
        }
    }
}

/// The cursor of `consumer` (0 when it has never run).
pub async fn cursor(db: &Db, consumer: &str) -> Result<i64, AppError> {
    let found: Option<i64> = crate::on_conn!(db, c => sqlx::query_scalar(
        "SELECT timepoint FROM event_cursors WHERE consumer = $1"
    )
    .bind(consumer)
    .fetch_optional(c)
    .await?);
    Ok(found.unwrap_or(0))
}

/// Sets a consumer's cursor inside `tx` (e.g. after rebuilding its output from scratch up to
/// a known timepoint).
pub async fn set_cursor(tx: &mut Tx, consumer: &str, timepoint: i64) -> Result<(), AppError> {
    crate::on_tx!(tx, c => sqlx::query(
        "INSERT INTO event_cursors (consumer, timepoint, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (consumer) DO UPDATE SET timepoint = excluded.timepoint, updated_at = excluded.updated_at",
    )
    .bind(consumer)
    .bind(timepoint)
    .bind(Utc::now())
    .execute(&mut *c)
    .await?.rows_affected());
    Ok(())
}

/// The stored cursor of `consumer` read inside `tx`, its row made first if it has none: on
/// SQLite the write lock is already held, on PostgreSQL the row is locked (`FOR UPDATE`), so
/// two runners of the same consumer cannot overlap.
async fn locked_cursor(db: &Db, tx: &mut Tx, consumer: &str) -> Result<i64, AppError> {
    Ok(crate::on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO event_cursors (consumer, timepoint, updated_at) VALUES ($1, 0, $2) \
             ON CONFLICT (consumer) DO NOTHING",
        )
        .bind(consumer)
        .bind(Utc::now())
        .execute(&mut *c)
        .await?;
        sqlx::query_scalar::<_, i64>(
            if matches!(db, Db::Postgres(_)) {
                "SELECT timepoint FROM event_cursors WHERE consumer = $1 FOR UPDATE"
            } else {
                "SELECT timepoint FROM event_cursors WHERE consumer = $1"
            },
        )
        .bind(consumer)
        .fetch_one(&mut *c)
        .await?
    }))
}

/// Handles at most one batch; returns how many events it handled (0 when caught up).
pub async fn run_once<C: Consumer>(
    db: &Db,
    consumer: &C,
    batch_size: i64,
) -> Result<usize, AppError> {
    let mut tx = db.begin().await?;
    let from = locked_cursor(db, &mut tx, consumer.name()).await?;
    let batch = all_after(db, from, batch_size).await?;
    let Some(last) = batch.last().map(|e| e.timepoint) else {
        tx.rollback().await?;
        return Ok(0);
    };
    consumer.handle(&mut tx, &batch).await?;
    set_cursor(&mut tx, consumer.name(), last).await?;
    tx.commit().await?;
    Ok(batch.len())
}

/// Where a runner is: the cursor as stored, and how far it has read (passing over the
/// events in between, which it does not want).
#[derive(Debug, Clone, Copy)]
struct Position {
    stored: i64,
    read: i64,
}

/// Moves the stored cursor of `consumer` forward to `to` (never back: another runner of
/// the same consumer may be further).
async fn store_cursor(db: &Db, consumer: &str, to: i64) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    crate::on_tx!(tx, c => sqlx::query(
        "INSERT INTO event_cursors (consumer, timepoint, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (consumer) DO UPDATE SET timepoint = excluded.timepoint, \
         updated_at = excluded.updated_at WHERE event_cursors.timepoint < excluded.timepoint",
    )
    .bind(consumer)
    .bind(to)
    .bind(Utc::now())
    .execute(&mut *c)
    .await?
    .rows_affected());
    tx.commit().await
}

/// One step of [`run`]: reads the next batch after `at` (the stored cursor the first time),
/// passes it over if the consumer wants none of it, else handles it in a write transaction
/// with the cursor. Returns how many events it read and where the runner now is.
async fn step<C: Consumer>(
    db: &Db,
    consumer: &C,
    batch_size: i64,
    at: Option<Position>,
) -> Result<(usize, Position), AppError> {
    let at = match at {
        Some(p) => p,
        None => {
            let c = cursor(db, consumer.name()).await?;
            Position { stored: c, read: c }
        }
    };
    // A window of at least PASS_WINDOW events is read, so that a consumer with small batches
    // passes over long runs of events it does not want in few reads.
    let window = all_after(db, at.read, batch_size.max(PASS_WINDOW)).await?;
    let Some(last) = window.last().map(|e| e.timepoint) else {
        return Ok((0, at));
    };
    let Some(first) = window.iter().position(|e| consumer.wants(e)) else {
        let mut now = Position { read: last, ..at };
        if last - at.stored >= LAG_WRITE {
            store_cursor(db, consumer.name(), last).await?;
            now.stored = last;
        }
        return Ok((window.len(), now));
    };
    // The batch: from the first wanted event, at most `batch_size` (those before it are
    // passed over with it).
    let end = (first + batch_size.max(1) as usize).min(window.len());
    let batch = &window[first..end];
    let last = batch[batch.len() - 1].timepoint;
    let mut tx = db.begin().await?;
    // The cursor read again under the lock.
    let stored = locked_cursor(db, &mut tx, consumer.name()).await?;
    if stored > at.read {
        // Another runner of this consumer went further: go on from there.
        tx.rollback().await?;
        return Ok((
            1,
            Position {
                stored,
                read: stored,
            },
        ));
    }
    consumer.handle(&mut tx, batch).await?;
    set_cursor(&mut tx, consumer.name(), last).await?;
    tx.commit().await?;
    Ok((
        end,
        Position {
            stored: last,
            read: last,
        },
    ))
}

/// Follows the log until `shutdown` turns true: handles batches while there are events
/// (passing over, without the write lock, those with no event the consumer wants), then
/// waits for a commit in this process (and [`RunnerOptions::settle`] after it) or the poll
/// interval, whichever comes first.
pub async fn run<C: Consumer>(
    db: Db,
    consumer: C,
    options: RunnerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut commits = subscribe();
    let mut at: Option<Position> = None;
    let mut stored_idle: Option<std::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        match step(&db, &consumer, options.batch_size, at).await {
            Ok((n, now)) => {
                at = Some(now);
                if n > 0 {
                    continue;
                }
                // Caught up, having passed events over: store the cursor, at most once a
                // STORE_IDLE_EVERY (whoever watches the cursors sees the follower at the
                // head soon; a busy log does not cost a transaction a wake).
                if now.read > now.stored
                    && stored_idle.is_none_or(|t| t.elapsed() >= STORE_IDLE_EVERY)
                {
                    stored_idle = Some(std::time::Instant::now());
                    match store_cursor(&db, consumer.name(), now.read).await {
                        Ok(()) => {
                            at = Some(Position {
                                stored: now.read,
                                ..now
                            })
                        }
                        Err(e) => {
                            tracing::warn!(consumer = consumer.name(), error = %e, "storing the cursor failed; it is stored later");
                        }
                    }
                }
                tokio::select! {
                    _ = commits.changed() => {
                        tokio::select! {
                            _ = tokio::time::sleep(options.settle) => {}
                            _ = shutdown.changed() => {}
                        }
                    }
                    _ = tokio::time::sleep(options.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                // Start again from the stored cursor.
                at = None;
                tracing::error!(consumer = consumer.name(), error = %e, "event consumer batch failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(options.retry_delay) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}
