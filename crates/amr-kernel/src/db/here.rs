//! Point reads on the caller's own thread, for SQLite.
//!
//! sqlx runs every SQLite connection on a worker thread of its own. A query is a hand-off to
//! that thread and back, and the pool pings the connection when it is returned (another
//! hand-off, which sqlx does not let us turn off). For a statement of some tens of
//! microseconds — the public lookup of an entity by its code, one seek in each of six indexes
//! — the hand-offs (waking a sleeping thread, twice) cost more than the read itself: under
//! load about 40 % of the server's time went to the kernel waking threads.
//!
//! [`Db::read_here`] instead runs a read on the calling thread, on a read-only connection of
//! its own to the same file (`rusqlite`, over the same bundled SQLite that sqlx links). It is
//! meant for short reads whose work is bounded by an index: the calling thread — a request's
//! worker thread — is busy for the read's duration, as it is when it renders the response.
//! Scans, reports and anything that may wait on a disk for long stay on sqlx.
//!
//! The connections:
//! - are opened on first use and kept for reuse, at most [`IDLE_MAX`] of them idle;
//! - are read-write at the file level but `query_only` (SQLite refuses any write through
//!   them), so a WAL database never needs its `-shm` file created by a reader;
//! - see every transaction committed before the read begins (WAL snapshot per statement), so
//!   a write that has returned is visible to the next lookup;
//! - are not available for an in-memory database (another connection would see another
//!   database): `read_here` then returns `None` and the caller reads through sqlx. On
//!   PostgreSQL the same.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

pub use rusqlite;
use rusqlite::{Connection, OpenFlags};

use super::{Db, SQLITE_BUSY};
use crate::error::AppError;

/// At most this many read connections are kept idle per database file; more may be open at
/// once when more threads read at once, and those are closed after use.
pub const IDLE_MAX: usize = 8;

/// Statements kept prepared per connection.
const STATEMENT_CACHE: usize = 32;

/// The read connections of one SQLite database file.
pub struct Readers {
    /// `None` for an in-memory database.
    path: Option<PathBuf>,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Readers {
    /// The readers of the database file `path`; `None` for an in-memory database.
    pub(crate) fn new(path: Option<PathBuf>) -> Arc<Readers> {
        Arc::new(Readers {
            path,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
        let c = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(SQLITE_BUSY)?;
        c.pragma_update(None, "query_only", true)?;
        // The same page cache as the pool's connections (see `Db::connect`).
        c.pragma_update(None, "cache_size", -32768)?;
        c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(c)
    }

    /// Runs `read` on an idle connection (or a new one), on this thread; `None` for an
    /// in-memory database.
    fn run<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Option<Result<T, AppError>> {
        let path = self.path.as_ref()?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(c) => c,
            None => match Self::open(path) {
                Ok(c) => c,
                Err(e) => return Some(Err(error(e, "open"))),
            },
        };
        let out = read(&conn);
        // A connection whose read failed is closed rather than reused: the failure may be the
        // connection's own (a corrupt handle, an I/O error), and a new one costs little.
        if out.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < IDLE_MAX {
                idle.push(conn);
            }
        }
        Some(out.map_err(|e| error(e, "read")))
    }
}

/// The error of a read: a busy database is unavailable (503), anything else internal.
fn error(e: rusqlite::Error, what: &str) -> AppError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        )
    {
        return AppError::Unavailable(format!("数据库忙，请稍后重试 (database is busy): {e}"));
    }
    AppError::Internal(
        anyhow::Error::new(e).context(format!("SQLite {what} on the calling thread")),
    )
}

impl Db {
    /// Runs `read` on a read-only SQLite connection on the calling thread (see the module's
    /// documentation for when that is right). `None` on PostgreSQL and for an in-memory
    /// database: the caller then reads through the pool as usual.
    pub fn read_here<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Option<Result<T, AppError>> {
        match self {
            Db::Sqlite(_, readers) => readers.run(read),
            Db::Postgres(_) => None,
        }
    }
}
