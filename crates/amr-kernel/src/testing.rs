//! Test support: a fresh, migrated database per test on each backend.
//!
//! PostgreSQL tests run when `AMR_TEST_PG` holds a server URL (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`): each test gets its own new database,
//! dropped at the end. Without it they are skipped with a visible notice, unless
//! `AMR_TEST_PG_REQUIRED=1` (as `.ci/run` sets), which turns the skip into a failure.
//! This module is compiled into the kernel so every crate's tests share one harness.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::db::{Backend, Db, MigrationSet, kernel_migrations};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, migrated database on one backend; dropped when the value goes away (PostgreSQL)
/// or with its temporary folder (SQLite).
pub struct TestDb {
    pub db: Db,
    pub url: String,
    dir: tempfile::TempDir,
    pg_drop: Option<(String, String)>,
}

impl TestDb {
    /// A temporary folder that lives as long as the database (for files a test needs beside
    /// it, such as a search index).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A database with the kernel's tables.
    pub async fn new(backend: Backend) -> TestDb {
        TestDb::with_sets(backend, &[kernel_migrations()]).await
    }

    /// A database with the tables of `sets` (in order; the kernel's first).
    pub async fn with_sets(backend: Backend, sets: &[MigrationSet]) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/amr.db", dir.path().display());
                let db = Db::connect(&url).await.expect("open sqlite");
                crate::db::run_migration_sets(&db, sets)
                    .await
                    .expect("migrate sqlite");
                TestDb {
                    db,
                    url,
                    dir,
                    pg_drop: None,
                }
            }
            Backend::Postgres => {
                let admin_url = pg_url().expect("AMR_TEST_PG is set");
                let name = format!(
                    "amr_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    chrono::Utc::now().timestamp_micros()
                );
                let admin = Db::connect(&admin_url)
                    .await
                    .expect("connect to AMR_TEST_PG");
                crate::on_conn!(&admin, c => sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(c)
                    .await
                    .expect("create test database")
                    .rows_affected());
                admin.close().await;
                let url = replace_db_name(&admin_url, &name);
                let db = Db::connect(&url).await.expect("connect to test database");
                crate::db::run_migration_sets(&db, sets)
                    .await
                    .expect("migrate postgres");
                TestDb {
                    db,
                    url,
                    dir: tempfile::tempdir().expect("temp dir"),
                    pg_drop: Some((admin_url, name)),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_drop.take() {
            // Drop is synchronous and may run inside the test's runtime, whose reactor owns
            // the pool's sockets: don't touch the pool here. A separate thread with its own
            // runtime drops the database with FORCE, which ends those connections server-side.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    if let Ok(admin) = Db::connect(&admin_url).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = crate::on_conn!(&admin, c => sqlx::query(sqlx::AssertSqlSafe(sql))
                            .execute(c)
                            .await
                            .map(|r| r.rows_affected()));
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host = match path_start {
        Some(i) => &base[..i],
        None => base,
    };
    match query {
        Some(q) => format!("{host}/{name}?{q}"),
        None => format!("{host}/{name}"),
    }
}

/// The PostgreSQL server URL for tests, if configured.
pub fn pg_url() -> Option<String> {
    std::env::var("AMR_TEST_PG").ok().filter(|s| !s.is_empty())
}

/// The backends to run a test on: SQLite always, PostgreSQL when configured. Prints a
/// visible notice when PostgreSQL is skipped; panics if it is required but not configured.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if pg_url().is_some() {
        v.push(Backend::Postgres);
    } else if std::env::var("AMR_TEST_PG_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("AMR_TEST_PG_REQUIRED=1 but AMR_TEST_PG is not set");
    } else {
        eprintln!(
            "NOTICE: PostgreSQL tests skipped. Set AMR_TEST_PG=postgres://postgres@127.0.0.1:5432/postgres to run them."
        );
    }
    v
}
