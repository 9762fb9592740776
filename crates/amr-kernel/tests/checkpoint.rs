//! The SQLite WAL checkpointer (`db::checkpoint`): while writers commit, a task of its own
//! copies the log into the database file — before SQLite's automatic checkpoint (the bound,
//! 8192 pages) would — and nothing committed is lost, whether it was copied yet or not.

use std::time::{Duration, Instant};

use amr_kernel::db::Db;
use amr_kernel::on_conn;

async fn count(db: &Db, sql: &str) -> i64 {
    on_conn!(db, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(c)
        .await
        .unwrap())
}

async fn write(db: &Db, from: i64, n: i64) {
    for i in from..from + n {
        let mut tx = db.begin().await.unwrap();
        amr_kernel::on_tx!(tx, c => sqlx::query("INSERT INTO cp_rows (id, body) VALUES ($1, $2)")
            .bind(i)
            .bind(format!("{i:08}").repeat(500))
            .execute(&mut *c)
            .await
            .unwrap()
            .rows_affected());
        tx.commit().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_copied_off_the_writers_path_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cp.db", dir.path().display());
    let db = Db::connect(&url).await.unwrap();
    on_conn!(&db, c => sqlx::query("CREATE TABLE cp_rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(c)
        .await
        .unwrap()
        .rows_affected());
    let before = db.checkpoint_stats().unwrap();
    // 600 commits of a 4 KB row: some 600-1,200 pages of log, far below SQLite's automatic
    // checkpoint (8192 pages), which therefore copies none of it.
    write(&db, 0, 600).await;
    // The checkpointer copies the log within a few of its periods after the last commit.
    let deadline = Instant::now() + Duration::from_secs(10);
    let copied = loop {
        let s = db.checkpoint_stats().unwrap();
        if s.pages - before.pages >= 300 {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the log was not copied: {s:?} (before {before:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(copied.runs > before.runs, "{copied:?}");
    assert_eq!(copied.failed, before.failed, "{copied:?}");
    assert!(
        copied.longest < 8192,
        "the log stayed below the automatic checkpoint's bound: {copied:?}"
    );
    // Writers go on while it copies; readers see every row.
    let reader = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut last = 0;
            for _ in 0..40 {
                let n = count(&db, "SELECT COUNT(*) FROM cp_rows").await;
                assert!(n >= last, "a reader saw rows disappear: {n} after {last}");
                last = n;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    write(&db, 600, 600).await;
    reader.await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM cp_rows").await, 1200);
    db.close().await;
    // Reopened, from the database file and what is left of the log: every row, intact.
    let db = Db::connect(&url).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM cp_rows").await, 1200);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM cp_rows WHERE length(body) <> 4000 OR substr(body, 1, 8) <> printf('%08d', id)"
        )
        .await,
        0
    );
    let ok: String = on_conn!(&db, c => sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(c)
        .await
        .unwrap());
    assert_eq!(ok, "ok");
    db.close().await;
}
