//! The database handle: one schema over two backends.
//!
//! AMR runs on an embedded SQLite file by default and on PostgreSQL when a province outgrows
//! one machine. Both backends are driven by the same Rust code: a store function is written
//! once, inside [`on_conn!`](crate::on_conn) (or [`on_tx!`](crate::on_tx)), and the macro
//! compiles its body once per backend, so the SQL and the bindings are checked for both.
//! SQL that cannot be portable lives in [`Dialect`] and nowhere else.
//!
//! Portable SQL rules used throughout: `$1, $2, ...` placeholders (SQLite accepts them),
//! integer keys, `TEXT` for codes, UTC timestamps bound from Rust (`chrono::DateTime<Utc>`),
//! JSON stored as `TEXT`, booleans bound as `bool`.

pub mod checkpoint;
pub mod deferred;
pub mod here;
mod migrate;
mod tx;

pub use deferred::{AppendTable, Cell, CounterTable};
pub use migrate::{
    MigrationSet, MigrationStatus, kernel_migrations, migration_status, migration_status_of,
    run_migration_sets, run_migrations,
};
pub(crate) use tx::{EventCounter, SeqCounter};
pub use tx::{Savepoint, Tx, TxInner};

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::AppError;

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A pool of connections to one of the two backends, chosen once at start-up from the URL.
/// A SQLite database also has its connections for reads on the calling thread
/// ([`here`]).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, std::sync::Arc<here::Readers>),
    Postgres(PgPool),
}

/// How long a SQLite writer waits for the lock before it gives up.
const SQLITE_BUSY: Duration = Duration::from_secs(30);

/// The write gate of a SQLite database file in this process (see [`Db::begin`]).
fn write_gate(p: &SqlitePool) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    type Gates = std::sync::Mutex<
        std::collections::HashMap<std::path::PathBuf, std::sync::Arc<tokio::sync::Mutex<()>>>,
    >;
    static GATES: std::sync::LazyLock<Gates> = std::sync::LazyLock::new(Default::default);
    let file = p.connect_options().get_filename().to_path_buf();
    GATES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(file)
        .or_default()
        .clone()
}

/// The backend-specific pieces of SQL, kept in one place.
#[derive(Debug, Clone, Copy)]
pub struct Dialect(pub Backend);

impl Dialect {
    /// The statement that opens a write transaction. SQLite must take the write lock at the
    /// start (`BEGIN IMMEDIATE`), or two deferred transactions that both upgrade to writing
    /// deadlock and one fails with "database is locked".
    pub fn begin_write(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }
}

impl Db {
    /// Connects to `url`: `sqlite://path/to/file.db` (created with its folder on first use,
    /// WAL mode) or `postgres://user@host:port/db`.
    pub async fn connect(url: &str) -> Result<Db, AppError> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            if path.is_empty() {
                return Err(AppError::config(
                    "database-url",
                    "SQLite 地址缺少文件路径 (the SQLite URL has no file path)",
                ));
            }
            if path != ":memory:"
                && let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| {
                    AppError::config(
                        "database-url",
                        format!(
                            "无法创建数据库目录 {} (cannot create the database folder): {e}",
                            parent.display()
                        ),
                    )
                })?;
            }
            let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                .map_err(|e| AppError::config("database-url", e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                // 32 MiB of page cache per connection (SQLite's default is 2 MiB): a
                // 15-million-entity registry's key index is 450 MB, and a bulk load touches it
                // county by county, so a county's part must stay in memory.
                // 16 KiB pages for new databases (an existing one keeps its own): an entity row
                // is about 500 bytes, and bigger pages mean fewer splits and a shallower tree;
                // a bulk load runs 1.4x faster than with 4 KiB (docs/PERFORMANCE.md).
                .page_size(16_384)
                .pragma("cache_size", "-32768")
                // A checkpoint (and its fsync) every 32 MiB of log rather than every 4 MiB:
                // 15 % more rows per second in a bulk load (docs/PERFORMANCE.md). Most of
                // the copying is done before by the checkpointer's task ([`checkpoint`]); this
                // is the bound on the log's length.
                .pragma("wal_autocheckpoint", "8192")
                .busy_timeout(SQLITE_BUSY);
            let file = (path != ":memory:").then(|| opts.get_filename().to_path_buf());
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                // No ping before a connection is handed out: a connection to a file in this
                // process cannot have been dropped by a server, and on SQLite the ping is a
                // round trip to the connection's worker thread — one of three for every
                // query (ping, query, the pool's own ping on release). Without it the public
                // lookup serves 1.36x the requests (docs/PERFORMANCE.md). A connection that
                // did fail is still found and closed by the ping on release.
                .test_before_acquire(false)
                .connect_with(opts)
                .await
                .map_err(|e| {
                    AppError::unavailable(format!("无法打开 SQLite 数据库 {path}: {e}"))
                })?;
            if path != ":memory:" && checkpoint::enabled() {
                checkpoint::spawn(pool.clone());
            }
            Ok(Db::Sqlite(pool, here::Readers::new(file)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| AppError::config("database-url", e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(|e| {
                    AppError::unavailable(format!("无法连接 PostgreSQL (cannot connect): {e}"))
                })?;
            Ok(Db::Postgres(pool))
        } else {
            Err(AppError::config(
                "database-url",
                format!(
                    "不支持的数据库地址 {url:?}，应以 sqlite:// 或 postgres:// 开头 \
                     (unsupported database URL; use sqlite://FILE or postgres://...)"
                ),
            ))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn dialect(&self) -> Dialect {
        Dialect(self.backend())
    }

    /// What the WAL checkpointer of this SQLite database file has done in this process
    /// ([`checkpoint`]); `None` on PostgreSQL.
    pub fn checkpoint_stats(&self) -> Option<checkpoint::CheckpointStats> {
        match self {
            Db::Sqlite(p, _) => Some(checkpoint::stats_of(p).get()),
            Db::Postgres(_) => None,
        }
    }

    /// Opens a write transaction. Everything a state change writes (its rows, its event,
    /// its audit entry) goes through one of these and commits together.
    ///
    /// On SQLite, which has one writer at a time, the writers of this process first queue on
    /// a gate per database file and only then take a connection from the pool: a writer that
    /// waits for the lock never holds a connection, so the one that holds the lock can always
    /// get the connections it reads with, however many writers queue (without the gate, eight
    /// writers waiting in `BEGIN IMMEDIATE` emptied the pool and stalled the lock holder for
    /// the 30 s busy timeout). Other processes still meet at SQLite's own lock.
    pub async fn begin(&self) -> Result<Tx, AppError> {
        let stmt = self.dialect().begin_write();
        Ok(match self {
            Db::Sqlite(p, _) => {
                // The same 30 s as SQLite's busy timeout, and the same answer when it runs out.
                let gate = tokio::time::timeout(SQLITE_BUSY, write_gate(p).lock_owned())
                    .await
                    .map_err(|_| {
                        AppError::unavailable("数据库忙，请稍后重试 (database is busy)")
                    })?;
                Tx::new(TxInner::Sqlite(p.begin_with(stmt).await?), Some(gate))
            }
            Db::Postgres(p) => Tx::new(TxInner::Postgres(p.begin_with(stmt).await?), None),
        })
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match self {
            Db::Sqlite(p, _) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// Runs `$body` with `$c` bound to a pool of whichever backend `$db` is; the body is compiled
/// once per backend.
///
/// ```ignore
/// let n: i64 = on_conn!(db, c => sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(c).await?);
/// ```
#[macro_export]
macro_rules! on_conn {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(pool, _) => {
                let $c = pool;
                $body
            }
            $crate::db::Db::Postgres(pool) => {
                let $c = pool;
                $body
            }
        }
    };
}

/// Runs `$body` with `$c` bound to the connection of the open transaction `$tx` (a
/// `&mut Tx`); the body is compiled once per backend.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match &mut $tx.inner {
            $crate::db::TxInner::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::TxInner::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}
