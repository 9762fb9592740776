//! A matter created with its whole course (`Engine::create_with_course`) against the same
//! course taken call by call (`create`, then `act_on` for each step), on every backend
//! (SQLite always; PostgreSQL when AMR_TEST_PG is set), in a plain and in a deferring
//! transaction: the same matter after every step, the same stored row, timeline, clocks
//! (started, paused, resumed, stopped late, restarted by a reopening), events and audit
//! entries; no update of the matter's row; a course refused at any step writes nothing and
//! gives the error of the call that would have failed.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::json;

use amr_kernel::audit::Actor;
use amr_kernel::auth::store::{self, Account, NewAccount};
use amr_kernel::auth::{Role, Scope};
use amr_kernel::db::{Backend, Db};
use amr_kernel::error::AppError;
use amr_kernel::matter::{ActInput, Acting, CourseStep, Engine, Matter, NewMatter, example};
use amr_kernel::on_conn;
use amr_kernel::testing::{TestDb, backends};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn texts(db: &Db, sql: &str) -> Vec<String> {
    on_conn!(db, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(c)
        .await
        .unwrap())
}

async fn count(db: &Db, sql: &str) -> i64 {
    on_conn!(db, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(c)
        .await
        .unwrap())
}

async fn officer(db: &Db) -> Acting {
    let mut tx = db.begin().await.unwrap();
    let a: Account = store::create_account(
        &mut tx,
        &Actor::system(),
        &Scope::all(),
        NewAccount {
            username: "course_officer".into(),
            display_name: "办案人员".into(),
            role: Role::Officer,
            department: None,
            jurisdiction: "3701".into(),
            uscc: None,
            password_hash: "unused".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Acting::account(&a, None)
}

/// What a matter's rows say, without ids, numbers and times.
async fn rows(db: &Db, m: &Matter) -> Vec<String> {
    let id = m.id;
    let mut out = texts(
        db,
        &format!(
            "SELECT state || '|' || version || '|' || COALESCE(outcome, '') || '|' || \
             COALESCE(CAST(due_on AS TEXT), '') || '|' || CAST(late AS TEXT) || '|' || \
             CASE WHEN closed_at IS NULL THEN 'open' ELSE 'closed' END || '|' || title || '|' || \
             COALESCE(CAST(assignee_account AS TEXT), '') || '|' || payload \
             FROM matters WHERE id = {id}"
        ),
    )
    .await;
    out.extend(
        texts(
            db,
            &format!(
                "SELECT 'timeline|' || entry || '|' || actor || '|' || COALESCE(transition, '') || '|' || \
                 COALESCE(from_state, '') || '|' || COALESCE(to_state, '') || '|' || body || '|' || \
                 CAST(internal AS TEXT) FROM matter_timeline WHERE matter_id = {id} ORDER BY id"
            ),
        )
        .await,
    );
    out.extend(
        texts(
            db,
            &format!(
                "SELECT 'clock|' || name || '|' || state || '|' || working_days || '|' || \
                 CAST(started_on AS TEXT) || '|' || CAST(due_on AS TEXT) || '|' || \
                 COALESCE(CAST(paused_on AS TEXT), '') || '|' || paused_days || '|' || \
                 COALESCE(CAST(stopped_on AS TEXT), '') FROM matter_clocks \
                 WHERE matter_id = {id} ORDER BY id"
            ),
        )
        .await,
    );
    out.extend(
        texts(
            db,
            &format!(
                "SELECT 'audit|' || action || '|' || actor_kind || '|' || actor_name || '|' || \
                 COALESCE(CAST(before_state AS TEXT), '') || '|' || \
                 COALESCE(CAST(after_state AS TEXT), '') FROM audit_log WHERE target_id = '{}' ORDER BY id",
                m.number
            ),
        )
        .await,
    );
    out.extend(
        texts(
            db,
            &format!(
                "SELECT 'event|' || kind || '|' || CAST(public AS TEXT) || '|' || payload \
                 FROM events WHERE payload LIKE '%{}%' ORDER BY timepoint",
                m.number
            ),
        )
        .await,
    );
    out.into_iter()
        .map(|s| {
            s.replace(&m.number, "N")
                .replace(&format!("\"id\":{id}"), "\"id\":I")
        })
        .collect()
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What the stepwise calls and the course are compared on, for each returned matter.
fn shape(m: &Matter) -> String {
    format!(
        "{}|{}|{:?}|{:?}|{}|{}",
        m.state,
        m.version,
        m.outcome,
        m.due_on,
        m.late,
        m.closed_at.is_some()
    )
}

async fn stepwise(
    e: &Engine,
    db: &Db,
    who: &Acting,
    new: &NewMatter,
    on: NaiveDate,
    steps: &[CourseStep<'_>],
    defer: bool,
) -> Result<Vec<Matter>, AppError> {
    let mut tx = db.begin().await.unwrap();
    if defer {
        tx.defer_appends();
    }
    let mut out = vec![e.create(&mut tx, who, new, on).await?];
    for s in steps {
        let m = out.last().unwrap().clone();
        let version = m.version;
        out.push(
            e.act_on(
                &mut tx,
                s.acting,
                m,
                &ActInput {
                    transition: s.transition.into(),
                    version,
                    fields: s.fields.clone(),
                },
                s.day,
            )
            .await?,
        );
    }
    tx.commit().await.unwrap();
    Ok(out)
}

async fn course(
    e: &Engine,
    db: &Db,
    who: &Acting,
    new: &NewMatter,
    on: NaiveDate,
    steps: &[CourseStep<'_>],
    defer: bool,
) -> Result<Vec<Matter>, AppError> {
    let mut tx = db.begin().await.unwrap();
    if defer {
        tx.defer_appends();
    }
    let out = e.create_with_course(&mut tx, who, new, on, steps).await?;
    tx.commit().await.unwrap();
    Ok(out)
}

#[tokio::test]
async fn a_course_writes_what_the_calls_one_by_one_write() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = Engine::new(&[&example::TICKET]).unwrap();
        let off = officer(db).await;
        if b == Backend::Sqlite {
            on_conn!(db, c => sqlx::raw_sql(
                "CREATE TABLE matter_updates (n INTEGER); \
                 CREATE TRIGGER matters_updated AFTER UPDATE ON matters \
                 BEGIN INSERT INTO matter_updates VALUES (1); END;",
            )
            .execute(c)
            .await
            .unwrap()
            .rows_affected());
        }
        let new = NewMatter {
            kind: "ticket".into(),
            title: "预付卡退款".into(),
            division: "370102".into(),
            payload: json!({"channel": "window"}),
            assignee_account: off.account,
            ..Default::default()
        };
        let step = |transition: &'static str, pairs: &[(&str, &str)], day: &str| CourseStep {
            acting: &off,
            transition,
            fields: fields(pairs),
            day: d(day),
        };
        let close = [("outcome", "resolved"), ("summary", "已调解")];
        let courses: Vec<(&str, Vec<CourseStep<'_>>)> = vec![
            ("none", vec![]),
            (
                // Accepted across the National Day holidays, on hold (the handling clock
                // paused), resumed, closed, reopened (the clock started anew) and closed
                // again after its due date (late).
                "long",
                vec![
                    step("accept", &[], "2026-09-30"),
                    step("hold", &[("reason", "等待检测结果")], "2026-10-09"),
                    step("resume", &[], "2026-10-20"),
                    step("close", &close, "2026-11-20"),
                    step("reopen", &[("reason", "消费者申请复查")], "2026-11-23"),
                    step("close", &close, "2026-12-28"),
                ],
            ),
            (
                // Declined at once: the running acceptance clock stopped by the close-out.
                "declined",
                vec![step(
                    "decline",
                    &[("outcome", "declined"), ("reason", "不属于本局管辖")],
                    "2026-09-29",
                )],
            ),
            (
                // Closed while on hold: the paused clock counts its pause when stopped.
                "held",
                vec![
                    step("accept", &[], "2026-09-30"),
                    step("hold", &[("reason", "等待鉴定")], "2026-10-12"),
                    step("close", &close, "2026-12-01"),
                ],
            ),
        ];
        for (name, steps) in &courses {
            for defer in [false, true] {
                let want = stepwise(&e, db, &off, &new, d("2026-09-28"), steps, defer)
                    .await
                    .unwrap();
                let updates = if b == Backend::Sqlite {
                    count(db, "SELECT COUNT(*) FROM matter_updates").await
                } else {
                    0
                };
                let got = course(&e, db, &off, &new, d("2026-09-28"), steps, defer)
                    .await
                    .unwrap();
                if b == Backend::Sqlite {
                    assert_eq!(
                        count(db, "SELECT COUNT(*) FROM matter_updates").await,
                        updates,
                        "{name} {defer}: one row, no update"
                    );
                }
                assert_eq!(got.len(), steps.len() + 1, "{b:?} {name}");
                let (w, g): (Vec<String>, Vec<String>) = (
                    want.iter().map(shape).collect(),
                    got.iter().map(shape).collect(),
                );
                assert_eq!(g, w, "{b:?} {name} {defer}");
                let (last_w, last_g) = (want.last().unwrap(), got.last().unwrap());
                let stored = e.get(db, &off, &last_g.number).await.unwrap();
                assert_eq!(shape(&stored), shape(last_g), "{b:?} {name} {defer}");
                let (rw, rg) = (rows(db, last_w).await, rows(db, last_g).await);
                assert_eq!(rg, rw, "{b:?} {name} {defer}");
                if *name == "long" {
                    assert!(last_g.late, "{b:?}: closed after its due date");
                    assert!(
                        rg.iter().any(|r| r.starts_with("timeline|reopened|")),
                        "{rg:?}"
                    );
                    assert!(
                        rg.iter().any(|r| r.starts_with("timeline|clock_resumed|")),
                        "{rg:?}"
                    );
                }
            }
        }

        // Refused at some step: nothing written, the error of the call that fails.
        let stranger = {
            let mut a = Acting::system();
            a.role = Some(Role::Officer);
            a.scope = Scope::none();
            a
        };
        let refused: Vec<(&str, Vec<CourseStep<'_>>)> = vec![
            (
                "not possible now",
                vec![
                    step("accept", &[], "2026-09-30"),
                    step(
                        "decline",
                        &[("outcome", "declined"), ("reason", "x")],
                        "2026-10-09",
                    ),
                ],
            ),
            (
                "a field missing",
                vec![
                    step("accept", &[], "2026-09-30"),
                    step("close", &[("outcome", "resolved")], "2026-10-09"),
                ],
            ),
            ("no such action", vec![step("fly", &[], "2026-09-30")]),
            (
                "outside the jurisdiction",
                vec![
                    step("accept", &[], "2026-09-30"),
                    CourseStep {
                        acting: &stranger,
                        transition: "hold",
                        fields: fields(&[("reason", "x")]),
                        day: d("2026-10-09"),
                    },
                ],
            ),
            (
                "a year without a calendar",
                vec![step("accept", &[], "2030-01-02")],
            ),
        ];
        let before = (
            count(db, "SELECT COUNT(*) FROM matters").await,
            count(db, "SELECT COUNT(*) FROM events").await,
            count(db, "SELECT COUNT(*) FROM audit_log").await,
            count(db, "SELECT COUNT(*) FROM matter_timeline").await,
            count(db, "SELECT COUNT(*) FROM matter_clocks").await,
            texts(
                db,
                "SELECT CAST(last_value AS TEXT) FROM matter_sequences ORDER BY prefix, year",
            )
            .await,
        );
        for (why, steps) in &refused {
            let got = course(&e, db, &off, &new, d("2026-09-28"), steps, true).await;
            let after = (
                count(db, "SELECT COUNT(*) FROM matters").await,
                count(db, "SELECT COUNT(*) FROM events").await,
                count(db, "SELECT COUNT(*) FROM audit_log").await,
                count(db, "SELECT COUNT(*) FROM matter_timeline").await,
                count(db, "SELECT COUNT(*) FROM matter_clocks").await,
                texts(
                    db,
                    "SELECT CAST(last_value AS TEXT) FROM matter_sequences ORDER BY prefix, year",
                )
                .await,
            );
            assert_eq!(after, before, "{b:?} {why}: nothing written");
            let Err(got) = got else {
                panic!("{b:?} {why}: accepted");
            };
            // The stepwise calls fail at the same step with the same error (their
            // transaction is dropped before its commit: nothing stays).
            let mut tx = db.begin().await.unwrap();
            let mut m = e
                .create(&mut tx, &off, &new, d("2026-09-28"))
                .await
                .unwrap();
            let mut want = None;
            for s in steps {
                let version = m.version;
                match e
                    .act_on(
                        &mut tx,
                        s.acting,
                        m.clone(),
                        &ActInput {
                            transition: s.transition.into(),
                            version,
                            fields: s.fields.clone(),
                        },
                        s.day,
                    )
                    .await
                {
                    Ok(next) => m = next,
                    Err(err) => {
                        want = Some(err);
                        break;
                    }
                }
            }
            drop(tx);
            let want = want.unwrap_or_else(|| panic!("{b:?} {why}: the calls took it"));
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{b:?} {why}");
        }
    }
}
