//! Bookkeeping of resumable bulk imports.
//!
//! A job is keyed by something that identifies the input (e.g. the SHA-256 of the file). The
//! importer calls [`job_start`] (which returns the existing job when the same input is
//! imported again), skips the `rows_done` rows already committed, and for every batch calls
//! [`insert_batch_in`](super::insert_batch_in) and [`job_progress`] in one transaction: after
//! a crash at any point, `rows_done` counts exactly the rows that were committed.

use chrono::{DateTime, Utc};
use serde::Serialize;

use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::{on_conn, on_tx};

/// An import job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ImportJob {
    pub job_key: String,
    pub file_name: String,
    /// Input rows handled (inserted, skipped as already registered, or refused).
    pub rows_done: i64,
    /// Of those, rows refused as invalid.
    pub rows_failed: i64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "job_key, file_name, rows_done, rows_failed, started_at, updated_at, finished_at";

/// The job, if it exists.
pub async fn job_get(db: &Db, key: &str) -> Result<Option<ImportJob>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM import_jobs WHERE job_key = $1");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(c)
        .await?))
}

/// Starts a job, or returns the existing one with that key (to resume it, or to see that it
/// has finished).
pub async fn job_start(db: &Db, key: &str, file_name: &str) -> Result<ImportJob, AppError> {
    if key.is_empty() || key.len() > 200 {
        return Err(AppError::bad_request(
            "job_key",
            "任务标识应为 1–200 个字符 (the job key must have 1–200 characters)",
        ));
    }
    let now = Utc::now();
    on_conn!(db, c => sqlx::query(
        "INSERT INTO import_jobs (job_key, file_name, rows_done, rows_failed, started_at, updated_at) \
         VALUES ($1, $2, 0, 0, $3, $3) ON CONFLICT (job_key) DO NOTHING",
    )
    .bind(key)
    .bind(file_name)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected());
    job_get(db, key).await?.ok_or(AppError::NotFound)
}

/// Records how far the job has come, inside the transaction that commits those rows.
/// Values are absolute (not increments), so writing them twice is harmless.
pub async fn job_progress(
    tx: &mut Tx,
    key: &str,
    rows_done: i64,
    rows_failed: i64,
) -> Result<(), AppError> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE import_jobs SET rows_done = $2, rows_failed = $3, updated_at = $4 WHERE job_key = $1",
    )
    .bind(key)
    .bind(rows_done)
    .bind(rows_failed)
    .bind(Utc::now())
    .execute(&mut *c)
    .await?
    .rows_affected());
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Marks the job finished (once; finishing again keeps the first time).
pub async fn job_finish(db: &Db, key: &str) -> Result<ImportJob, AppError> {
    let now = Utc::now();
    on_conn!(db, c => sqlx::query(
        "UPDATE import_jobs SET finished_at = $2, updated_at = $2 \
         WHERE job_key = $1 AND finished_at IS NULL",
    )
    .bind(key)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected());
    job_get(db, key).await?.ok_or(AppError::NotFound)
}
