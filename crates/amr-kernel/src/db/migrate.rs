//! Migrations, one folder per backend (`migrations/sqlite`, `migrations/postgres`).
//!
//! Migrations are only ever added, never edited. Context crates that own tables add their
//! own migration folders in later versions, numbered in their own range, and the runner in
//! the server applies each set in turn (`ignore_missing` lets the sets share sqlx's table).

use sqlx::migrate::Migrator;

use super::Db;
use crate::error::AppError;

fn migrator(backend: super::Backend) -> Migrator {
    let mut m = match backend {
        super::Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        super::Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    m.set_ignore_missing(true);
    m
}

/// How far a database's schema is from the code's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub applied: Vec<i64>,
    pub pending: Vec<(i64, String)>,
}

/// Applies every pending kernel migration. Each migration runs in its own transaction.
pub async fn run_migrations(db: &Db) -> Result<Vec<(i64, String)>, AppError> {
    let before = migration_status(db).await?;
    match db {
        Db::Sqlite(p) => migrator(db.backend()).run(p).await?,
        Db::Postgres(p) => migrator(db.backend()).run(p).await?,
    }
    Ok(before.pending)
}

/// Lists applied and pending migrations without changing anything.
pub async fn migration_status(db: &Db) -> Result<MigrationStatus, AppError> {
    let migrator = migrator(db.backend());
    let table_exists: bool = match db {
        Db::Sqlite(p) => sqlx::query_scalar::<_, i64>(
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
    let pending = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| (m.version, m.description.to_string()))
        .collect();
    Ok(MigrationStatus { applied, pending })
}
