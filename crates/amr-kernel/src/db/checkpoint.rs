//! WAL checkpoints of a SQLite database file, off the writers' path.
//!
//! In WAL mode a commit appends the pages it changed to the `-wal` file and does not sync it
//! (`synchronous=NORMAL`); a checkpoint syncs the log, copies its pages into the database file
//! and syncs that. SQLite's automatic checkpoint runs inside the commit that takes the log
//! past `wal_autocheckpoint` pages (8192 of 16 KiB here, 128 MiB), so that one commit — and,
//! in this process, every writer queued at the write gate behind it — waits for the whole
//! log to be synced and copied.
//!
//! So a task of its own, with a connection of its own, checkpoints every
//! [`PERIOD`] whenever the log holds pages not yet copied (`PRAGMA wal_checkpoint(PASSIVE)`:
//! it never waits for a writer or a reader, and a writer goes on appending while it copies).
//! The automatic checkpoint stays on as the bound — the log cannot grow past
//! `wal_autocheckpoint` pages whatever this task does, or if it does not run — but when it
//! comes the pages are already copied and the log synced, and it has little left to do.
//! The database is never checkpointed twice over: a checkpoint copies only what the
//! previous one did not, and it never copies a page a reader may still need from the log.
//!
//! The task starts with the pool ([`super::Db::connect`]) and ends when the pool is closed.
//! `AMR_WAL_CHECKPOINTER=off` leaves the checkpoints to SQLite alone (for comparisons).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

/// How often the task looks at the log.
pub const PERIOD: Duration = Duration::from_millis(100);

/// What the checkpointer of one database file has done (see [`Checkpoints::get`]).
#[derive(Debug, Default)]
pub struct Checkpoints {
    runs: AtomicU64,
    pages: AtomicU64,
    busy: AtomicU64,
    failed: AtomicU64,
    longest: AtomicU64,
}

/// A snapshot of [`Checkpoints`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Checkpoints that copied pages.
    pub runs: u64,
    /// Pages copied in all (a page copied twice counts twice).
    pub pages: u64,
    /// Checkpoints that met another checkpointer (another process's, or SQLite's automatic
    /// one) and left the log to it.
    pub busy: u64,
    /// Checkpoints that failed (logged; the next period tries again).
    pub failed: u64,
    /// The longest log seen, in pages.
    pub longest: u64,
}

impl Checkpoints {
    pub fn get(&self) -> CheckpointStats {
        CheckpointStats {
            runs: self.runs.load(Ordering::Relaxed),
            pages: self.pages.load(Ordering::Relaxed),
            busy: self.busy.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            longest: self.longest.load(Ordering::Relaxed),
        }
    }
}

/// Whether [`super::Db::connect`] starts the task: unless `AMR_WAL_CHECKPOINTER` is `off`.
pub(crate) fn enabled() -> bool {
    !matches!(
        std::env::var("AMR_WAL_CHECKPOINTER")
            .as_deref()
            .map(str::trim),
        Ok("off")
    )
}

/// The counters of the checkpointer of the database file of `pool` in this process.
pub(crate) fn stats_of(pool: &SqlitePool) -> Arc<Checkpoints> {
    type All = std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, Arc<Checkpoints>>>;
    static ALL: std::sync::LazyLock<All> = std::sync::LazyLock::new(Default::default);
    let file = pool.connect_options().get_filename().to_path_buf();
    ALL.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(file)
        .or_default()
        .clone()
}

/// Starts the checkpointer of `pool`'s database file (a file in WAL mode; not `:memory:`).
pub(crate) fn spawn(pool: SqlitePool) {
    let stats = stats_of(&pool);
    tokio::spawn(async move {
        let mut conn: Option<SqliteConnection> = None;
        // The log's length and the pages of it copied, at the last checkpoint.
        let mut last = (0u64, 0u64);
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match pool.connect_options().connect().await {
                    Ok(c) => conn.insert(c),
                    Err(e) => {
                        stats.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "the WAL checkpointer cannot connect");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                },
            };
            match checkpoint(c).await {
                Ok((busy, log, done)) => {
                    if busy {
                        stats.busy.fetch_add(1, Ordering::Relaxed);
                    }
                    stats.longest.fetch_max(log, Ordering::Relaxed);
                    // `done` counts the log's pages copied so far, by this checkpoint or an
                    // earlier one of the same log; a shorter log than last time has been
                    // restarted since.
                    let before = if log >= last.0 { last.1 } else { 0 };
                    let copied = done.saturating_sub(before);
                    if copied > 0 {
                        stats.runs.fetch_add(1, Ordering::Relaxed);
                        stats.pages.fetch_add(copied, Ordering::Relaxed);
                    }
                    last = (log, done);
                }
                Err(e) => {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                    // A fresh connection next time.
                    conn = None;
                }
            }
        }
    });
}

/// One passive checkpoint on `c`: whether it met another checkpointer, the log's length in
/// pages, and how many of them are now in the database file.
async fn checkpoint(c: &mut SqliteConnection) -> Result<(bool, u64, u64), sqlx::Error> {
    let (busy, log, done): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *c)
        .await?;
    Ok((busy != 0, log.max(0) as u64, done.max(0) as u64))
}
