//! The worker runner: consumers follow the event log with durable cursors.
//!
//! A consumer handles a batch of events inside a write transaction that also advances its
//! cursor, so its database effects and its cursor commit together: a consumer killed mid-batch
//! leaves neither, and the next run handles the same batch again from the same cursor.
//! Effects outside the database (a search index, a delivery to an agency) must be idempotent
//! by timepoint, because a batch whose transaction failed is handed over again.

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
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            batch_size: 256,
            poll_interval: Duration::from_millis(500),
            retry_delay: Duration::from_secs(2),
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

/// Handles at most one batch; returns how many events it handled (0 when caught up).
pub async fn run_once<C: Consumer>(
    db: &Db,
    consumer: &C,
    batch_size: i64,
) -> Result<usize, AppError> {
    let mut tx = db.begin().await?;
    // Read the cursor inside the transaction: on SQLite the write lock is already held, on
    // PostgreSQL the row lock below keeps two runners of the same consumer from overlapping.
    let from: i64 = crate::on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO event_cursors (consumer, timepoint, updated_at) VALUES ($1, 0, $2) \
             ON CONFLICT (consumer) DO NOTHING",
        )
        .bind(consumer.name())
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
        .bind(consumer.name())
        .fetch_one(&mut *c)
        .await?
    });
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

/// Follows the log until `shutdown` turns true: handles batches while there are events, then
/// waits for a commit in this process or the poll interval, whichever comes first.
pub async fn run<C: Consumer>(
    db: Db,
    consumer: C,
    options: RunnerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut commits = subscribe();
    loop {
        if *shutdown.borrow() {
            return;
        }
        match run_once(&db, &consumer, options.batch_size).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {
                tokio::select! {
                    _ = commits.changed() => {}
                    _ = tokio::time::sleep(options.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::error!(consumer = consumer.name(), error = %e, "event consumer batch failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(options.retry_delay) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}
