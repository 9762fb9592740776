//! Reads on the calling thread (`db::here`): they see what the pool's writers committed, they
//! cannot write, a failed read leaves nothing behind, and where they are not available
//! (PostgreSQL, an in-memory SQLite database) the caller is told so.

use amr_kernel::db::Db;
use amr_kernel::db::here::rusqlite;
use amr_kernel::error::AppError;
use amr_kernel::testing::{TestDb, backends};
use amr_kernel::{on_conn, on_tx};

async fn count(db: &Db) -> i64 {
    on_conn!(db, c => sqlx::query_scalar("SELECT count(*) FROM here_rows")
        .fetch_one(c)
        .await
        .unwrap())
}

#[tokio::test]
async fn reads_here_see_committed_writes_and_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}/here.db", dir.path().display()))
        .await
        .unwrap();
    on_conn!(&db, c => sqlx::query("CREATE TABLE here_rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(c)
        .await
        .unwrap()
        .rows_affected());
    let read = |id: i64| {
        db.read_here(move |c| {
            use rusqlite::OptionalExtension;
            c.prepare_cached("SELECT body FROM here_rows WHERE id = $1")?
                .query_row([id], |r| r.get::<_, String>(0))
                .optional()
        })
        .expect("a SQLite file has reads here")
        .unwrap()
    };
    assert_eq!(read(1), None);

    for i in 1..=3_i64 {
        let mut tx = db.begin().await.unwrap();
        on_tx!(tx, c => sqlx::query("INSERT INTO here_rows (id, body) VALUES ($1, $2)")
            .bind(i)
            .bind(format!("第{i}行"))
            .execute(&mut *c)
            .await
            .unwrap()
            .rows_affected());
        // Not yet committed: not seen.
        assert_eq!(read(i), None);
        tx.commit().await.unwrap();
        // Committed: seen by the very next read, on whichever connection it gets.
        assert_eq!(read(i).as_deref(), Some(format!("第{i}行").as_str()));
    }

    // A write through a read connection is refused and changes nothing, and the next read
    // works.
    let err = db
        .read_here(|c| c.execute("INSERT INTO here_rows (id, body) VALUES (9, 'x')", []))
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, AppError::Internal(_)), "{err:?}");
    let err = db
        .read_here(|c| c.execute("DELETE FROM here_rows", []))
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, AppError::Internal(_)), "{err:?}");
    assert_eq!(count(&db).await, 3);
    assert_eq!(read(2).as_deref(), Some("第2行"));

    // Reads from many threads at once, each on a connection of its own.
    let db2 = db.clone();
    let seen: Vec<Option<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|i| {
                let db = db2.clone();
                s.spawn(move || {
                    db.read_here(move |c| {
                        c.query_row(
                            "SELECT body FROM here_rows WHERE id = $1",
                            [i % 3 + 1],
                            |r| r.get::<_, String>(0),
                        )
                    })
                    .unwrap()
                    .ok()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(seen.iter().all(Option::is_some), "{seen:?}");
}

#[tokio::test]
async fn without_reads_here_the_caller_is_told() {
    let memory = Db::connect("sqlite://:memory:").await.unwrap();
    assert!(
        memory
            .read_here(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
            .is_none()
    );
    for b in backends() {
        let t = TestDb::new(b).await;
        let here =
            t.db.read_here(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)));
        match b {
            amr_kernel::db::Backend::Sqlite => assert_eq!(here.unwrap().unwrap(), 1),
            amr_kernel::db::Backend::Postgres => assert!(here.is_none()),
        }
    }
}
