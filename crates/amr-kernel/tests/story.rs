//! The store story: the same operations, asserted the same way, on every backend
//! (SQLite always; PostgreSQL when AMR_TEST_PG is set — see `amr_kernel::testing`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::{Role, Scope, password, store};
use amr_kernel::calendar::Calendar;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::runner::{self, Consumer, RunnerOptions};
use amr_kernel::events::{self, Event, NewEvent};
use amr_kernel::testing::{TestDb, backends};

async fn append_one(db: &Db, kind: &str, division: &str, public: bool) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let e = if public {
        NewEvent::public(kind, serde_json::json!({"division": division}))
    } else {
        NewEvent::internal(kind, serde_json::json!({"note": "内部"}))
    };
    let tp = events::append(&mut tx, e.division(division)).await.unwrap();
    tx.commit().await.unwrap();
    tp
}

#[tokio::test]
async fn migrations_are_idempotent_and_complete() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let status = amr_kernel::db::migration_status(&t.db).await.unwrap();
        assert!(status.pending.is_empty(), "{b:?}: {status:?}");
        assert!(!status.applied.is_empty());
        assert!(
            amr_kernel::db::run_migrations(&t.db)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(events::head(&t.db).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn timepoints_are_gapless_even_with_rollbacks() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        assert_eq!(append_one(db, "test.a", "370102", true).await, 1);
        // A change that fails after writing its event leaves no trace and no gap.
        {
            let mut tx = db.begin().await.unwrap();
            let tp = events::append(&mut tx, NewEvent::public("test.b", serde_json::json!({})))
                .await
                .unwrap();
            assert_eq!(tp, 2);
            tx.rollback().await.unwrap();
        }
        {
            // Dropped without commit (an early `?` return) rolls back too.
            let mut tx = db.begin().await.unwrap();
            events::append(&mut tx, NewEvent::public("test.c", serde_json::json!({})))
                .await
                .unwrap();
        }
        assert_eq!(append_one(db, "test.d", "370103", false).await, 2);
        let all = events::all_after(db, 0, 100).await.unwrap();
        let tps: Vec<i64> = all.iter().map(|e| e.timepoint).collect();
        assert_eq!(tps, vec![1, 2], "{b:?}");
        assert_eq!(all[0].kind, "test.a");
        assert_eq!(all[1].kind, "test.d");
    }
}

#[tokio::test]
async fn concurrent_writers_produce_a_gapless_ordered_log() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let mut tasks = Vec::new();
        for w in 0..8 {
            let db = t.db.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    let mut tx = db.begin().await.unwrap();
                    events::append(
                        &mut tx,
                        NewEvent::internal("test.concurrent", serde_json::json!({"w": w, "i": i})),
                    )
                    .await
                    .unwrap();
                    tx.commit().await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let all = events::all_after(&t.db, 0, 1000).await.unwrap();
        let tps: Vec<i64> = all.iter().map(|e| e.timepoint).collect();
        assert_eq!(tps, (1..=200).collect::<Vec<i64>>(), "{b:?}");
        assert_eq!(events::head(&t.db).await.unwrap(), 200);
    }
}

#[tokio::test]
async fn savepoints_undo_a_part_and_keep_the_rest() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        amr_kernel::on_conn!(db, c => sqlx::query("CREATE TABLE sp_test (k TEXT PRIMARY KEY)")
            .execute(c)
            .await
            .unwrap()
            .rows_affected());
        async fn put(tx: &mut Tx, k: &str) -> Result<(), AppError> {
            amr_kernel::on_tx!(tx, c => sqlx::query("INSERT INTO sp_test (k) VALUES ($1)")
                .bind(k)
                .execute(&mut *c)
                .await?
                .rows_affected());
            Ok(())
        }
        let mut tx = db.begin().await.unwrap();
        // Kept: a row and an event.
        let sp = tx.savepoint().await.unwrap();
        put(&mut tx, "a").await.unwrap();
        let tp = events::append(
            &mut tx,
            NewEvent::internal("test.sp.a", serde_json::json!({})),
        )
        .await
        .unwrap();
        assert_eq!(tp, 1);
        tx.release(sp).await.unwrap();
        // Undone: a row, an event, then a statement that fails (a duplicate key). On
        // PostgreSQL the failure spoils the transaction until the rollback to the savepoint.
        let sp = tx.savepoint().await.unwrap();
        put(&mut tx, "b").await.unwrap();
        let tp = events::append(
            &mut tx,
            NewEvent::internal("test.sp.b", serde_json::json!({})),
        )
        .await
        .unwrap();
        assert_eq!(tp, 2);
        assert!(put(&mut tx, "a").await.is_err(), "{b:?}: duplicate key");
        tx.rollback_to(sp).await.unwrap();
        // Nested: the inner part undone, the outer kept; the event counter is back, so the
        // next event takes the timepoint the undone one had.
        let outer = tx.savepoint().await.unwrap();
        put(&mut tx, "c").await.unwrap();
        let inner = tx.savepoint().await.unwrap();
        put(&mut tx, "d").await.unwrap();
        // Only the innermost savepoint can end.
        let inner = match tx.release(outer).await {
            Err(AppError::Internal(_)) => inner,
            other => panic!("{b:?}: {other:?}"),
        };
        tx.rollback_to(inner).await.unwrap();
        let tp = events::append(
            &mut tx,
            NewEvent::internal("test.sp.c", serde_json::json!({})),
        )
        .await
        .unwrap();
        assert_eq!(tp, 2, "{b:?}: the undone timepoint is taken again");
        tx.commit().await.unwrap();
        let keys: Vec<String> = amr_kernel::on_conn!(db, c => sqlx::query_scalar("SELECT k FROM sp_test ORDER BY k")
            .fetch_all(c)
            .await
            .unwrap());
        assert_eq!(keys, vec!["a", "c"], "{b:?}");
        let kinds: Vec<String> = events::all_after(db, 0, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, vec!["test.sp.a", "test.sp.c"], "{b:?}");
        assert_eq!(events::head(db).await.unwrap(), 2);
        // A savepoint rolled back to in a transaction that is then dropped leaves nothing.
        {
            let mut tx = db.begin().await.unwrap();
            let sp = tx.savepoint().await.unwrap();
            put(&mut tx, "e").await.unwrap();
            tx.release(sp).await.unwrap();
        }
        let n: i64 = amr_kernel::on_conn!(db, c => sqlx::query_scalar("SELECT COUNT(*) FROM sp_test")
            .fetch_one(c)
            .await
            .unwrap());
        assert_eq!(n, 2, "{b:?}");
    }
}

#[tokio::test]
async fn public_events_refuse_personal_data() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let mut tx = t.db.begin().await.unwrap();
        let err = events::append(
            &mut tx,
            NewEvent::public("test.leak", serde_json::json!({"phone": "13912345678"})),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("mobile phone"), "{err}");
        drop(tx);
        // Internal events may carry it (officers see them within their jurisdiction).
        let mut tx = t.db.begin().await.unwrap();
        events::append(
            &mut tx,
            NewEvent::internal("test.ok", serde_json::json!({"phone": "13912345678"})),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(events::public_after(&t.db, 0, 10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn event_reads_are_filtered_by_jurisdiction() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let lixia = append_one(&t.db, "test.x", "370102", false).await;
        let shizhong = append_one(&t.db, "test.x", "370103", false).await;
        let qingdao = append_one(&t.db, "test.x", "370202", true).await;
        let county = Scope::prefix("370102");
        let city = Scope::prefix("3701");
        let seen = |v: Vec<Event>| v.iter().map(|e| e.timepoint).collect::<Vec<_>>();
        assert_eq!(
            seen(
                events::scoped_recent(&t.db, &county, None, 50)
                    .await
                    .unwrap()
            ),
            vec![lixia]
        );
        assert_eq!(
            seen(events::scoped_recent(&t.db, &city, None, 50).await.unwrap()),
            vec![shizhong, lixia]
        );
        assert_eq!(
            seen(
                events::scoped_recent(&t.db, &Scope::all(), None, 50)
                    .await
                    .unwrap()
            ),
            vec![qingdao, shizhong, lixia]
        );
        assert!(
            seen(
                events::scoped_recent(&t.db, &Scope::none(), None, 50)
                    .await
                    .unwrap()
            )
            .is_empty()
        );
        assert!(events::scoped_get(&t.db, &county, lixia).await.is_ok());
        assert!(matches!(
            events::scoped_get(&t.db, &county, shizhong).await,
            Err(AppError::NotFound)
        ));
        assert_eq!(
            seen(events::public_after(&t.db, 0, 10).await.unwrap()),
            vec![qingdao]
        );
    }
}

/// A consumer that copies events into a table, one statement per event; it can be told to
/// hang forever at a given timepoint (to be killed there).
struct Copier {
    hang_at: Option<i64>,
    handled: Arc<AtomicUsize>,
}

impl Consumer for Copier {
    fn name(&self) -> &str {
        "test-copier"
    }

    async fn handle(&self, tx: &mut Tx, batch: &[Event]) -> Result<(), AppError> {
        for e in batch {
            if Some(e.timepoint) == self.hang_at {
                std::future::pending::<()>().await;
            }
            amr_kernel::on_tx!(tx, c => sqlx::query("INSERT INTO copied (timepoint) VALUES ($1)")
                .bind(e.timepoint)
                .execute(&mut *c)
                .await?
                .rows_affected());
            self.handled.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// The batches handed to a consumer: (timepoint, kind) of each event.
type Batches = Arc<std::sync::Mutex<Vec<Vec<(i64, String)>>>>;

/// A consumer that wants only `test.wanted` and records the batches handed to it.
struct Picky {
    batches: Batches,
}

impl Consumer for Picky {
    fn name(&self) -> &str {
        "test-picky"
    }

    fn wants(&self, e: &Event) -> bool {
        e.kind == "test.wanted"
    }

    async fn handle(&self, _tx: &mut Tx, batch: &[Event]) -> Result<(), AppError> {
        self.batches.lock().unwrap().push(
            batch
                .iter()
                .map(|e| (e.timepoint, e.kind.clone()))
                .collect(),
        );
        Ok(())
    }
}

async fn append_many(db: &Db, kind: &str, n: usize) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let mut tp = 0;
    for _ in 0..n {
        tp = events::append(&mut tx, NewEvent::internal(kind, serde_json::json!({})))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    tp
}

async fn cursor_reaches(db: &Db, name: &str, tp: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while runner::cursor(db, name).await.unwrap() < tp {
        assert!(
            std::time::Instant::now() < deadline,
            "cursor {name} never reached {tp}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_consumer_passes_over_what_it_does_not_want_and_stores_its_cursor_when_far_behind() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let batches = Arc::new(std::sync::Mutex::new(Vec::new()));
        let options = RunnerOptions {
            batch_size: 1000,
            poll_interval: Duration::from_millis(20),
            retry_delay: Duration::from_millis(20),
            settle: Duration::ZERO,
        };
        let start = |stop| {
            tokio::spawn(runner::run(
                t.db.clone(),
                Picky {
                    batches: batches.clone(),
                },
                options.clone(),
                stop,
            ))
        };
        // More events than LAG_WRITE, none wanted: nothing is handed over, and the cursor is
        // stored on its own once the runner is that far ahead of it.
        let head = append_many(&t.db, "test.other", 5000).await;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let task = start(stop_rx);
        cursor_reaches(&t.db, "test-picky", runner::LAG_WRITE).await;
        assert!(batches.lock().unwrap().is_empty(), "{b:?}");
        // A wanted event among unwanted ones: handed over once, in a batch that starts
        // with it, and the cursor stored with it.
        append_many(&t.db, "test.other", 3).await;
        let wanted = append_many(&t.db, "test.wanted", 1).await;
        let tail = append_many(&t.db, "test.other", 2).await;
        cursor_reaches(&t.db, "test-picky", wanted).await;
        // The unwanted events after it are passed over (and stored later, with the next
        // batch or the lag).
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        {
            let got = batches.lock().unwrap();
            assert_eq!(got.len(), 1, "{b:?}: {got:?}");
            assert!(
                got[0]
                    .iter()
                    .any(|(tp, k)| *tp == wanted && k == "test.wanted")
            );
            assert!(got[0].iter().all(|(tp, _)| *tp > head), "{b:?}: {got:?}");
        }
        // A restart from the stored cursor hands no wanted event over twice.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let task = start(stop_rx);
        let again = append_many(&t.db, "test.wanted", 1).await;
        cursor_reaches(&t.db, "test-picky", again).await;
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        let got = batches.lock().unwrap();
        let handled: Vec<i64> = got
            .iter()
            .flatten()
            .filter(|(_, k)| k == "test.wanted")
            .map(|(tp, _)| *tp)
            .collect();
        assert_eq!(handled, vec![wanted, again], "{b:?}: {got:?}");
        assert!(again > tail);
        assert!(
            got.iter()
                .all(|batch| batch.iter().any(|(_, k)| k == "test.wanted")),
            "{b:?}: a batch with nothing wanted was handed over: {got:?}"
        );
    }
}

#[tokio::test]
async fn a_consumer_killed_mid_batch_resumes_without_loss_or_duplicates() {
    for b in backends() {
        let t = TestDb::new(b).await;
        amr_kernel::on_conn!(&t.db, c => sqlx::query("CREATE TABLE copied (timepoint BIGINT PRIMARY KEY)")
            .execute(c)
            .await
            .unwrap()
            .rows_affected());
        for i in 0..30 {
            append_one(
                &t.db,
                "test.work",
                if i % 2 == 0 { "370102" } else { "370103" },
                false,
            )
            .await;
        }
        let handled = Arc::new(AtomicUsize::new(0));
        let options = RunnerOptions {
            batch_size: 10,
            poll_interval: Duration::from_millis(20),
            retry_delay: Duration::from_millis(20),
            settle: Duration::ZERO,
        };
        // First run: hangs in the middle of the second batch (timepoint 15), then is killed.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(runner::run(
            t.db.clone(),
            Copier {
                hang_at: Some(15),
                handled: handled.clone(),
            },
            options.clone(),
            stop_rx,
        ));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while handled.load(Ordering::SeqCst) < 14 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{b:?}: consumer made no progress"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task.abort();
        let _ = task.await;
        drop(stop_tx);
        // The first batch committed with its cursor; the killed batch left nothing.
        assert_eq!(
            runner::cursor(&t.db, "test-copier").await.unwrap(),
            10,
            "{b:?}"
        );
        let copied: i64 = amr_kernel::on_conn!(&t.db, c => sqlx::query_scalar("SELECT count(*) FROM copied")
            .fetch_one(c).await.unwrap());
        assert_eq!(copied, 10, "{b:?}");
        // Restart: it finishes the job from its cursor.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(runner::run(
            t.db.clone(),
            Copier {
                hang_at: None,
                handled: handled.clone(),
            },
            options.clone(),
            stop_rx,
        ));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while runner::cursor(&t.db, "test-copier").await.unwrap() < 30 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{b:?}: consumer did not catch up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // New events are followed too.
        let tp = append_one(&t.db, "test.work", "370102", false).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while runner::cursor(&t.db, "test-copier").await.unwrap() < tp {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{b:?}: consumer did not follow"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        let rows: Vec<i64> = amr_kernel::on_conn!(&t.db, c => sqlx::query_scalar("SELECT timepoint FROM copied ORDER BY timepoint")
            .fetch_all(c).await.unwrap());
        assert_eq!(rows, (1..=31).collect::<Vec<i64>>(), "{b:?}");
    }
}

fn new_account(username: &str, role: Role, jurisdiction: &str) -> store::NewAccount {
    store::NewAccount {
        username: username.into(),
        display_name: format!("{username} 名字"),
        role,
        department: Some("登记注册科".into()),
        jurisdiction: jurisdiction.into(),
        uscc: None,
        // A cheap stand-in hash keeps this test fast; password::hash is tested separately.
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA".into(),
    }
}

#[tokio::test]
async fn accounts_are_scoped_audited_and_evented() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let actor = Actor::system();
        let mut tx = db.begin().await.unwrap();
        let a = store::create_account(
            &mut tx,
            &actor,
            &Scope::all(),
            new_account("lixia-1", Role::Officer, "370102"),
        )
        .await
        .unwrap();
        let c = store::create_account(
            &mut tx,
            &actor,
            &Scope::all(),
            new_account("shizhong-1", Role::Officer, "370103"),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // Duplicate usernames are a conflict and change nothing.
        let mut tx = db.begin().await.unwrap();
        let dup = store::create_account(
            &mut tx,
            &actor,
            &Scope::all(),
            new_account("lixia-1", Role::Officer, "370102"),
        )
        .await;
        assert!(matches!(dup, Err(AppError::Conflict(_))), "{b:?}: {dup:?}");
        drop(tx);
        // A county admin cannot create outside the county.
        let county = Scope::prefix("370102");
        let mut tx = db.begin().await.unwrap();
        let outside = store::create_account(
            &mut tx,
            &actor,
            &county,
            new_account("x-1", Role::Officer, "370103"),
        )
        .await;
        assert!(matches!(outside, Err(AppError::BadRequest { .. })));
        drop(tx);
        // Reads and changes are filtered by jurisdiction: outside is "not found".
        assert_eq!(
            store::get_account(db, &county, a.id)
                .await
                .unwrap()
                .username,
            "lixia-1"
        );
        assert!(matches!(
            store::get_account(db, &county, c.id).await,
            Err(AppError::NotFound)
        ));
        let listed: Vec<String> = store::list_accounts(db, &county)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.username)
            .collect();
        assert_eq!(listed, vec!["lixia-1"]);
        let mut tx = db.begin().await.unwrap();
        assert!(matches!(
            store::set_active(&mut tx, &actor, &county, c.id, false).await,
            Err(AppError::NotFound)
        ));
        drop(tx);
        assert!(
            store::get_account(db, &Scope::all(), c.id)
                .await
                .unwrap()
                .active
        );
        let mut tx = db.begin().await.unwrap();
        let after = store::set_active(&mut tx, &actor, &county, a.id, false)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!after.active);
        // Each successful change left an audit entry with before/after and an event.
        let entries = audit::list(db, &Scope::all(), None, 50).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            vec!["account.deactivate", "account.create", "account.create"],
            "{b:?}"
        );
        assert!(
            entries[0]
                .before_state
                .as_deref()
                .unwrap()
                .contains("\"active\":true")
        );
        assert!(
            entries[0]
                .after_state
                .as_deref()
                .unwrap()
                .contains("\"active\":false")
        );
        assert_eq!(audit::list(db, &county, None, 50).await.unwrap().len(), 2);
        let kinds: Vec<String> = events::all_after(db, 0, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                "kernel.account.created",
                "kernel.account.created",
                "kernel.account.changed"
            ]
        );
        // The audit log refuses changes.
        let upd = amr_kernel::on_conn!(db, c => sqlx::query("UPDATE audit_log SET action = 'x'").execute(c).await.map(|r| r.rows_affected()));
        assert!(upd.is_err(), "{b:?}: audit_log accepted an UPDATE");
        let del = amr_kernel::on_conn!(db, c => sqlx::query("DELETE FROM audit_log").execute(c).await.map(|r| r.rows_affected()));
        assert!(del.is_err(), "{b:?}: audit_log accepted a DELETE");
    }
}

#[tokio::test]
async fn sessions_keys_and_throttling() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let hash = password::hash("Good-password-1").unwrap();
        let mut tx = db.begin().await.unwrap();
        let mut na = new_account("officer-1", Role::Officer, "370102");
        na.password_hash = hash;
        let a = store::create_account(&mut tx, &Actor::system(), &Scope::all(), na)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (acc, stored) = store::find_for_login(db, " Officer-1 ")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(acc.id, a.id);
        assert!(password::verify("Good-password-1", &stored));
        let (token, s) =
            store::create_session(db, &acc, chrono::Duration::hours(1), Some("127.0.0.1"))
                .await
                .unwrap();
        let found = store::find_session(db, &token).await.unwrap().unwrap();
        assert_eq!(found.account.id, a.id);
        assert_eq!(found.csrf_token, s.csrf_token);
        assert!(
            store::find_session(db, "not-a-token")
                .await
                .unwrap()
                .is_none()
        );
        // Deactivation ends sessions.
        let mut tx = db.begin().await.unwrap();
        store::set_active(&mut tx, &Actor::system(), &Scope::all(), a.id, false)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(store::find_session(db, &token).await.unwrap().is_none());
        // Expired sessions are not found.
        let (t2, _) = store::create_session(db, &acc, chrono::Duration::seconds(-1), None)
            .await
            .unwrap();
        assert!(store::find_session(db, &t2).await.unwrap().is_none());
        // Throttling counts.
        for _ in 0..3 {
            store::record_login_failure(db, "officer-1", "10.0.0.1")
                .await
                .unwrap();
        }
        let since = chrono::Utc::now() - chrono::Duration::minutes(15);
        assert_eq!(
            store::recent_login_failures(db, "OFFICER-1", "10.0.0.1", since)
                .await
                .unwrap(),
            (3, 3)
        );
        store::clear_login_failures(db, "officer-1").await.unwrap();
        assert_eq!(
            store::recent_login_failures(db, "officer-1", "10.0.0.2", since)
                .await
                .unwrap(),
            (0, 0)
        );
        // API keys: only the hash is stored, revocation works, scope applies.
        let mut tx = db.begin().await.unwrap();
        let (k, secret) = store::create_api_key(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            "国家税务总局山东省税务局",
            "37",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store::find_api_key(db, &secret).await.unwrap().unwrap().id,
            k.id
        );
        let stored_hash: String = amr_kernel::on_conn!(db, c => sqlx::query_scalar("SELECT key_hash FROM api_keys").fetch_one(c).await.unwrap());
        assert!(!stored_hash.contains(&secret[4..]));
        let mut tx = db.begin().await.unwrap();
        assert!(matches!(
            store::revoke_api_key(&mut tx, &Actor::system(), &Scope::prefix("3702"), k.id).await,
            Err(AppError::NotFound)
        ));
        drop(tx);
        let mut tx = db.begin().await.unwrap();
        store::revoke_api_key(&mut tx, &Actor::system(), &Scope::prefix("37"), k.id)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(store::find_api_key(db, &secret).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn first_admin_is_created_once() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let (user, pw) = store::ensure_first_admin(&t.db).await.unwrap().unwrap();
        assert_eq!(user, "admin");
        let (_, hash) = store::find_for_login(&t.db, "admin")
            .await
            .unwrap()
            .unwrap();
        assert!(password::verify(&pw, &hash));
        assert!(store::ensure_first_admin(&t.db).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn calendar_import_replaces_whole_years_and_is_loaded() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let before = amr_kernel::calendar_store::load(&t.db).await.unwrap();
        assert!(before.is_working_day(d("2027-01-04")).is_err());
        let file = "date,kind,name_zh,name_en\n2027-01-01,holiday,元旦,New Year's Day\n2027-02-06,holiday,春节,Spring Festival\n";
        let cal = Calendar::from_csv(file).unwrap();
        let mut tx = t.db.begin().await.unwrap();
        let years = amr_kernel::calendar_store::import(&mut tx, &Actor::cli(), &cal, "test.csv")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(years, vec![2027]);
        let now = amr_kernel::calendar_store::load(&t.db).await.unwrap();
        assert!(!now.is_working_day(d("2027-01-01")).unwrap());
        assert!(now.is_working_day(d("2027-01-04")).unwrap());
        assert!(
            now.is_working_day(d("2026-02-14")).unwrap(),
            "embedded years stay"
        );
        // Re-importing 2027 with a different list replaces it wholly.
        let cal = Calendar::from_csv(
            "date,kind,name_zh,name_en\n2027-01-02,holiday,元旦,New Year's Day\n",
        )
        .unwrap();
        let mut tx = t.db.begin().await.unwrap();
        amr_kernel::calendar_store::import(&mut tx, &Actor::cli(), &cal, "fix.csv")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let now = amr_kernel::calendar_store::load(&t.db).await.unwrap();
        assert!(now.is_working_day(d("2027-01-01")).unwrap());
        let evs = events::public_after(&t.db, 0, 10).await.unwrap();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].kind, "kernel.calendar.imported");
    }
}

/// The child half of the kill test: runs the copier against `AMR_KILL_TEST_DB` until it hangs
/// at timepoint 15, where the parent kills the process with SIGKILL. Does nothing otherwise.
#[tokio::test]
#[ignore = "run by a_consumer_process_killed_with_sigkill_mid_batch"]
async fn kill_test_child() {
    let Ok(url) = std::env::var("AMR_KILL_TEST_DB") else {
        return;
    };
    let db = Db::connect(&url).await.unwrap();
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    runner::run(
        db,
        Copier {
            hang_at: Some(15),
            handled: Arc::new(AtomicUsize::new(0)),
        },
        RunnerOptions {
            batch_size: 10,
            poll_interval: Duration::from_millis(20),
            retry_delay: Duration::from_millis(20),
            settle: Duration::ZERO,
        },
        stop_rx,
    )
    .await;
}

#[tokio::test]
async fn a_consumer_process_killed_with_sigkill_mid_batch() {
    for b in backends() {
        let t = TestDb::new(b).await;
        amr_kernel::on_conn!(&t.db, c => sqlx::query("CREATE TABLE copied (timepoint BIGINT PRIMARY KEY)")
            .execute(c)
            .await
            .unwrap()
            .rows_affected());
        for _ in 0..30 {
            append_one(&t.db, "test.work", "370102", false).await;
        }
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "kill_test_child", "--nocapture"])
            .env("AMR_KILL_TEST_DB", &t.url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the child has committed its first batch and is inside the second.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while runner::cursor(&t.db, "test-copier").await.unwrap() < 10 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{b:?}: child made no progress"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_eq!(
            runner::cursor(&t.db, "test-copier").await.unwrap(),
            10,
            "{b:?}"
        );
        // Run to completion in this process: nothing lost, nothing twice.
        let handled = Arc::new(AtomicUsize::new(0));
        let copier = Copier {
            hang_at: None,
            handled,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match runner::run_once(&t.db, &copier, 10).await {
                Ok(0) => break,
                Ok(_) => {}
                // The killed session may still hold its lock for a moment.
                Err(e) => {
                    assert!(tokio::time::Instant::now() < deadline, "{b:?}: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let rows: Vec<i64> = amr_kernel::on_conn!(&t.db, c => sqlx::query_scalar("SELECT timepoint FROM copied ORDER BY timepoint")
            .fetch_all(c).await.unwrap());
        assert_eq!(rows, (1..=30).collect::<Vec<i64>>(), "{b:?}");
        assert_eq!(runner::cursor(&t.db, "test-copier").await.unwrap(), 30);
    }
}
