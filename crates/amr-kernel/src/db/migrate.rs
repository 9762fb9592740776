//! Migrations: one set per crate that owns tables, one folder per backend in each
//! (`migrations/sqlite`, `migrations/postgres`).
//!
//! Migrations are only ever added, never edited. Each set numbers its migrations in its own
//! range (kernel 1–999, registry 1000–1999, ...) and all sets share sqlx's
//! `_sqlx_migrations` table (`ignore_missing` lets a set ignore the others' rows). The server
//! lists the sets in order (`amr_server::migration_sets`); the kernel's comes first.

use sqlx::migrate::Migrator;

use super::{Backend, Db};
use crate::error::AppError;

/// The migrations of one crate, for both backends. Build the migrators with
/// `sqlx::migrate!("./migrations/sqlite")` and `..."postgres"` inside the owning crate.
#[derive(Debug, Clone, Copy)]
pub struct MigrationSet {
    pub name: &'static str,
    pub sqlite: fn() -> Migrator,
    pub postgres: fn() -> Migrator,
}

impl MigrationSet {
    fn migrator(&self, backend: Backend) -> Migrator {
        let mut m = match backend {
            Backend::Sqlite => (self.sqlite)(),
            Backend::Postgres => (self.postgres)(),
        };
        m.set_ignore_missing(true);
        m
    }
}

/// The kernel's own tables (events, audit, accounts, calendar, settings).
pub fn kernel_migrations() -> MigrationSet {
    MigrationSet {
        name: "kernel",
        sqlite: || sqlx::migrate!("./migrations/sqlite"),
        postgres: || sqlx::migrate!("./migrations/postgres"),
    }
}

/// How far a database's schema is from the code's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub applied: Vec<i64>,
    pub pending: Vec<(i64, String)>,
}

/// Applies every pending migration of the kernel only (see [`run_migration_sets`]).
pub async fn run_migrations(db: &Db) -> Result<Vec<(i64, String)>, AppError> {
    run_migration_sets(db, &[kernel_migrations()]).await
}

/// Applies every pending migration of `sets`, set by set, in order. Each migration runs in
/// its own transaction. Returns what was applied.
pub async fn run_migration_sets(
    db: &Db,
    sets: &[MigrationSet],
) -> Result<Vec<(i64, String)>, AppError> {
    let before = migration_status_of(db, sets).await?;
    for set in sets {
        let m = set.migrator(db.backend());
        match db {
            Db::Sqlite(p, _) => m.run(p).await?,
            Db::Postgres(p) => m.run(p).await?,
        }
    }
    Ok(before.pending)
}

/// Lists applied and pending kernel migrations without changing anything.
pub async fn migration_status(db: &Db) -> Result<MigrationStatus, AppError> {
    migration_status_of(db, &[kernel_migrations()]).await
}

/// Lists applied and pending migrations of `sets` without changing anything.
pub async fn migration_status_of(
    db: &Db,
    sets: &[MigrationSet],
) -> Result<MigrationStatus, AppError> {
    let table_exists: bool = match db {
        Db::Sqlite(p, _) => sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(p)
        .await?
            > 0,
        Db::Postgres(p) => {
            sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations')",
            )
            .fetch_one(p)
            .await?
        }
    };
    let applied: Vec<i64> = if table_exists {
        crate::on_conn!(db, c => sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version"
        )
        .fetch_all(c)
        .await?)
    } else {
        Vec::new()
    };
    let mut pending = Vec::new();
    for set in sets {
        let m = set.migrator(db.backend());
        pending.extend(
            m.iter()
                .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
                .map(|m| (m.version, format!("{}: {}", set.name, m.description))),
        );
    }
    Ok(MigrationStatus { applied, pending })
}
