//! Rows a transaction holds back (`Tx::defer_appends`) and the counters it keeps in memory,
//! on every backend (SQLite always; PostgreSQL when AMR_TEST_PG is set): each held row is
//! written exactly once, a savepoint rolled back to takes back the rows held since it, a
//! reader in the transaction sees the held rows in their order, a held row that fails is
//! undone with its savepoint (and refuses a commit outside one), matter numbers count on in
//! memory and stay gapless, and a fresh matter's first transition writes what the general
//! path writes.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::json;

use amr_kernel::audit::{self, Actor, Change};
use amr_kernel::auth::store::{self, Account, NewAccount};
use amr_kernel::auth::{Role, Scope};
use amr_kernel::db::{Backend, Db, Tx};
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::{
    ActInput, Acting, ClockEffect, ClockSpec, Engine, Field, KindSpec, Matter, MatterNumber,
    NewMatter, StateSpec, TransferSpec, TransitionSpec, Who, choice, example, label,
};
use amr_kernel::on_conn;
use amr_kernel::testing::{TestDb, backends};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A kind shaped like the complaint intake's: no clock on creation, a first transition (by
/// the system) that starts one.
static INTAKE: KindSpec = KindSpec {
    name: "intake",
    prefix: "IN",
    label: label("受理单", "intake"),
    states: &[
        StateSpec::open("filed", label("已提交", "filed")),
        StateSpec::open("received", label("待受理", "received")),
        StateSpec::terminal("closed", label("已办结", "closed")),
    ],
    initial: "filed",
    clocks: &[ClockSpec {
        name: "accept",
        label: label("受理期限", "time to accept"),
        working_days: 7,
        escalate_every: 5,
    }],
    on_create: &[],
    transitions: &[
        TransitionSpec {
            name: "route",
            label: label("分送", "route"),
            from: &["filed"],
            to: "received",
            who: Who::System,
            clocks: &[ClockEffect::Start("accept")],
            public: true,
            ..TransitionSpec::DEFAULT
        },
        TransitionSpec {
            name: "close",
            label: label("办结", "close"),
            from: &["received"],
            to: "closed",
            who: Who::System,
            requires: &[Field::Choice {
                name: "outcome",
                label: label("办理结果", "outcome"),
                choices: &[choice("done", label("已办结", "done"))],
            }],
            ..TransitionSpec::DEFAULT
        },
    ],
    create: Who::System,
    write: Who::System,
    transfer: TransferSpec {
        who: Who::System,
        across_jurisdiction: false,
    },
};

fn engine() -> Engine {
    Engine::new(&[&example::TICKET, &INTAKE]).unwrap()
}

async fn count(db: &Db, sql: &str) -> i64 {
    on_conn!(db, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(c)
        .await
        .unwrap())
}

async fn texts(db: &Db, sql: &str) -> Vec<String> {
    on_conn!(db, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(c)
        .await
        .unwrap())
}

async fn exec(db: &Db, sql: &str) {
    on_conn!(db, c => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(c)
        .await
        .unwrap()
        .rows_affected());
}

async fn event(tx: &mut Tx, kind: &str) -> i64 {
    events::append(tx, NewEvent::internal(kind, json!({"k": kind})))
        .await
        .unwrap()
}

async fn note(tx: &mut Tx, action: &str) -> Result<(), amr_kernel::error::AppError> {
    audit::append(
        tx,
        &Actor::system(),
        Change {
            action,
            target_kind: "test",
            target_id: action.to_string(),
            division: Some("370102".into()),
            before: None,
            after: Some(json!({"a": action})),
        },
    )
    .await
}

async fn kinds(db: &Db) -> Vec<String> {
    events::all_after(db, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{}:{}", e.timepoint, e.kind))
        .collect()
}

async fn actions(db: &Db) -> Vec<String> {
    texts(
        db,
        "SELECT action FROM audit_log WHERE target_kind = 'test' ORDER BY id",
    )
    .await
}

#[tokio::test]
async fn held_rows_are_written_once_and_a_savepoint_takes_back_its_own() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        tx.defer_appends();
        assert!(tx.defers_appends());
        assert_eq!(event(&mut tx, "test.a").await, 1);
        note(&mut tx, "test.a").await.unwrap();
        // Opening the savepoint writes what was held; what is held after it is its own.
        let sp = tx.savepoint().await.unwrap();
        assert_eq!(event(&mut tx, "test.b").await, 2);
        note(&mut tx, "test.b").await.unwrap();
        tx.rollback_to(sp).await.unwrap();
        assert_eq!(
            event(&mut tx, "test.c").await,
            2,
            "{b:?}: the timepoint comes back"
        );
        note(&mut tx, "test.c").await.unwrap();
        // Nested: the inner part undone, the outer kept (released with its held rows).
        let outer = tx.savepoint().await.unwrap();
        assert_eq!(event(&mut tx, "test.d").await, 3);
        note(&mut tx, "test.d").await.unwrap();
        let inner = tx.savepoint().await.unwrap();
        assert_eq!(event(&mut tx, "test.e").await, 4);
        note(&mut tx, "test.e").await.unwrap();
        tx.rollback_to(inner).await.unwrap();
        tx.release(outer).await.unwrap();
        assert_eq!(event(&mut tx, "test.f").await, 4);
        note(&mut tx, "test.f").await.unwrap();
        // Released with rows held since it: they are kept.
        let sp = tx.savepoint().await.unwrap();
        assert_eq!(event(&mut tx, "test.g").await, 5);
        note(&mut tx, "test.g").await.unwrap();
        tx.release(sp).await.unwrap();
        // Held until the commit.
        assert_eq!(event(&mut tx, "test.h").await, 6);
        note(&mut tx, "test.h").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            kinds(db).await,
            vec![
                "1:test.a", "2:test.c", "3:test.d", "4:test.f", "5:test.g", "6:test.h"
            ],
            "{b:?}"
        );
        assert_eq!(events::head(db).await.unwrap(), 6, "{b:?}");
        assert_eq!(
            actions(db).await,
            vec!["test.a", "test.c", "test.d", "test.f", "test.g", "test.h"],
            "{b:?}"
        );
        // A transaction dropped with held rows leaves nothing.
        {
            let mut tx = db.begin().await.unwrap();
            tx.defer_appends();
            event(&mut tx, "test.dropped").await;
            note(&mut tx, "test.dropped").await.unwrap();
        }
        assert_eq!(events::head(db).await.unwrap(), 6, "{b:?}");
        assert_eq!(actions(db).await.len(), 6, "{b:?}");
        // Without deferral the same calls write at once, as before.
        let mut tx = db.begin().await.unwrap();
        assert!(!tx.defers_appends());
        assert_eq!(event(&mut tx, "test.i").await, 7);
        note(&mut tx, "test.i").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(kinds(db).await.len(), 7, "{b:?}");
        assert_eq!(actions(db).await.len(), 7, "{b:?}");
    }
}

async fn officer(db: &Db, username: &str, jurisdiction: &str) -> Acting {
    let mut tx = db.begin().await.unwrap();
    let a: Account = store::create_account(
        &mut tx,
        &Actor::system(),
        &Scope::all(),
        NewAccount {
            username: username.into(),
            display_name: format!("{username} 名"),
            role: Role::Officer,
            department: None,
            jurisdiction: jurisdiction.into(),
            uscc: None,
            password_hash: "unused".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Acting::account(&a, None)
}

fn ticket() -> NewMatter {
    NewMatter {
        kind: "ticket".into(),
        title: "店铺拒不退还预付款".into(),
        division: "370102".into(),
        payload: json!({"channel": "window"}),
        ..Default::default()
    }
}

/// What a matter's rows say, without ids and times: the timeline, the clocks, the audit
/// actions in id order.
async fn trail(db: &Db, id: i64, number: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let timeline = texts(
        db,
        &format!(
            "SELECT entry || '|' || COALESCE(transition, '') || '|' || COALESCE(from_state, '') \
             || '|' || COALESCE(to_state, '') || '|' || body FROM matter_timeline \
             WHERE matter_id = {id} ORDER BY id"
        ),
    )
    .await;
    let clocks = texts(
        db,
        &format!(
            "SELECT name || '|' || state || '|' || CAST(due_on AS TEXT) || '|' || \
             COALESCE(CAST(stopped_on AS TEXT), '') FROM matter_clocks WHERE matter_id = {id} \
             ORDER BY id"
        ),
    )
    .await;
    let audit = texts(
        db,
        &format!("SELECT action FROM audit_log WHERE target_id = '{number}' ORDER BY id"),
    )
    .await;
    (timeline, clocks, audit)
}

/// Create, accept (which reads the clocks the creation started), a message (which takes
/// its timeline entry's id) and an audit entry with its id, in one transaction.
async fn story(e: &Engine, db: &Db, who: &Acting, defer: bool) -> (Matter, i64) {
    let mut tx = db.begin().await.unwrap();
    if defer {
        tx.defer_appends();
    }
    let m = e
        .create(&mut tx, who, &ticket(), d("2026-11-02"))
        .await
        .unwrap();
    let m = e
        .act(
            &mut tx,
            who,
            &m.number,
            &ActInput {
                transition: "accept".into(),
                version: m.version,
                fields: BTreeMap::new(),
            },
            d("2026-11-03"),
        )
        .await
        .unwrap();
    let entry = e
        .add_message(&mut tx, who, &m.number, "已电话联系店铺", false)
        .await
        .unwrap();
    assert_eq!(entry.entry, "message");
    let id = audit::record(
        &mut tx,
        &who.actor,
        Change {
            action: "test.after",
            target_kind: "matter",
            target_id: m.number.clone(),
            division: Some(m.division.clone()),
            before: None,
            after: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (m, id)
}

#[tokio::test]
async fn a_reader_in_the_transaction_sees_the_held_rows_in_their_order() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let who = officer(db, "officer.a", "370102").await;
        let (plain, plain_id) = story(&e, db, &who, false).await;
        let (held, held_id) = story(&e, db, &who, true).await;
        assert_eq!(
            (held.state.as_str(), held.version, held.due_on),
            (plain.state.as_str(), plain.version, plain.due_on),
            "{b:?}"
        );
        let (pt, pc, pa) = trail(db, plain.id, &plain.number).await;
        let (ht, hc, ha) = trail(db, held.id, &held.number).await;
        assert_eq!(ht, pt, "{b:?}: the same timeline in the same order");
        assert_eq!(hc, pc, "{b:?}: the same clocks");
        assert_eq!(ha, pa, "{b:?}: the same audit entries in the same order");
        assert_eq!(
            ha,
            vec![
                "matter.create",
                "matter.act",
                "matter.message",
                "test.after"
            ],
            "{b:?}"
        );
        assert_eq!(pc.len(), 2, "{b:?}: {pc:?}");
        assert!(pc[0].starts_with("accept|stopped|"), "{b:?}: {pc:?}");
        assert!(pc[1].starts_with("handle|running|"), "{b:?}: {pc:?}");
        // The id returned is the last of the matter's entries: the held ones were written
        // before it.
        let max: i64 = count(
            db,
            &format!(
                "SELECT MAX(id) FROM audit_log WHERE target_id = '{}'",
                held.number
            ),
        )
        .await;
        assert_eq!(max, held_id, "{b:?}");
        assert!(held_id > plain_id);
        // Through the engine's own read, the same timeline.
        let system = Acting::system();
        let a: Vec<String> = e
            .timeline(db, &system, &plain.number)
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.entry)
            .collect();
        let h: Vec<String> = e
            .timeline(db, &system, &held.number)
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.entry)
            .collect();
        assert_eq!(h, a, "{b:?}");
        assert_eq!(
            h,
            vec![
                "created",
                "clock_started",
                "transition",
                "clock_stopped",
                "clock_started",
                "message"
            ],
            "{b:?}"
        );
    }
}

/// Makes an audit entry with the action `test.poison` fail when it is written.
async fn poison(db: &Db) {
    match db.backend() {
        Backend::Sqlite => {
            exec(
                db,
                "CREATE TRIGGER test_poison BEFORE INSERT ON audit_log \
                 WHEN NEW.action = 'test.poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
            )
            .await
        }
        Backend::Postgres => {
            exec(
                db,
                "CREATE FUNCTION test_poison() RETURNS trigger AS $$ BEGIN \
                 IF NEW.action = 'test.poison' THEN RAISE EXCEPTION 'poisoned'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER test_poison BEFORE INSERT ON audit_log \
                 FOR EACH ROW EXECUTE FUNCTION test_poison()",
            )
            .await
        }
    }
}

#[tokio::test]
async fn a_held_row_that_fails_is_undone_with_its_savepoint_and_refuses_a_commit_outside_one() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        poison(db).await;
        // 1. Inside a savepoint: the part is undone and the transaction goes on.
        let mut tx = db.begin().await.unwrap();
        tx.defer_appends();
        assert_eq!(event(&mut tx, "test.a").await, 1);
        note(&mut tx, "test.a").await.unwrap();
        let sp = tx.savepoint().await.unwrap();
        assert_eq!(event(&mut tx, "test.b").await, 2);
        note(&mut tx, "test.poison").await.unwrap();
        assert!(tx.flush_appends().await.is_err(), "{b:?}");
        // Until the rollback, nothing more is written.
        assert!(tx.flush_appends().await.is_err(), "{b:?}");
        tx.rollback_to(sp).await.unwrap();
        assert_eq!(event(&mut tx, "test.c").await, 2, "{b:?}");
        note(&mut tx, "test.c").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(kinds(db).await, vec!["1:test.a", "2:test.c"], "{b:?}");
        assert_eq!(actions(db).await, vec!["test.a", "test.c"], "{b:?}");

        // 2. Outside any savepoint: the commit is refused and nothing of it is stored.
        let mut tx = db.begin().await.unwrap();
        tx.defer_appends();
        assert_eq!(event(&mut tx, "test.d").await, 3);
        note(&mut tx, "test.poison").await.unwrap();
        assert!(tx.commit().await.is_err(), "{b:?}");
        // 3. When a savepoint is released: refused, and only the rollback of the whole
        // transaction can follow.
        let mut tx = db.begin().await.unwrap();
        tx.defer_appends();
        let sp = tx.savepoint().await.unwrap();
        assert_eq!(event(&mut tx, "test.e").await, 3);
        note(&mut tx, "test.poison").await.unwrap();
        assert!(tx.release(sp).await.is_err(), "{b:?}");
        assert!(tx.commit().await.is_err(), "{b:?}");
        assert_eq!(kinds(db).await, vec!["1:test.a", "2:test.c"], "{b:?}");
        assert_eq!(events::head(db).await.unwrap(), 2, "{b:?}");
        assert_eq!(actions(db).await, vec!["test.a", "test.c"], "{b:?}");
        // The next transaction takes the next timepoint: no gap.
        let mut tx = db.begin().await.unwrap();
        tx.defer_appends();
        assert_eq!(event(&mut tx, "test.f").await, 3, "{b:?}");
        tx.commit().await.unwrap();
    }
}

fn intake(title: &str) -> NewMatter {
    NewMatter {
        kind: "intake".into(),
        title: title.into(),
        division: "370102".into(),
        ..Default::default()
    }
}

fn seq(m: &Matter) -> u64 {
    MatterNumber::parse(&m.number).unwrap().seq()
}

#[tokio::test]
async fn matter_numbers_count_on_in_memory_and_come_back_with_a_savepoint() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let system = Acting::system();
        for (defer, year) in [(false, "2025-06-02"), (true, "2026-06-01")] {
            let day = d(year);
            let mut tx = db.begin().await.unwrap();
            if defer {
                tx.defer_appends();
            }
            let mut made = Vec::new();
            for i in 0..3 {
                made.push(
                    e.create(&mut tx, &system, &intake(&format!("第 {i} 件")), day)
                        .await
                        .unwrap(),
                );
            }
            let sp = tx.savepoint().await.unwrap();
            for i in 3..5 {
                let m = e
                    .create(&mut tx, &system, &intake(&format!("撤销 {i}")), day)
                    .await
                    .unwrap();
                assert_eq!(seq(&m), i + 1);
            }
            tx.rollback_to(sp).await.unwrap();
            let sp = tx.savepoint().await.unwrap();
            made.push(
                e.create(&mut tx, &system, &intake("第 3 件"), day)
                    .await
                    .unwrap(),
            );
            tx.release(sp).await.unwrap();
            made.push(
                e.create(&mut tx, &system, &intake("第 4 件"), day)
                    .await
                    .unwrap(),
            );
            tx.commit().await.unwrap();
            let seqs: Vec<u64> = made.iter().map(seq).collect();
            assert_eq!(seqs, vec![1, 2, 3, 4, 5], "{b:?} {defer}");
            let y = &year[..4];
            assert_eq!(
                count(
                    db,
                    &format!(
                        "SELECT last_value FROM matter_sequences WHERE prefix = 'IN' AND year = {y}"
                    )
                )
                .await,
                5,
                "{b:?} {defer}"
            );
            assert_eq!(
                count(
                    db,
                    &format!("SELECT COUNT(*) FROM matters WHERE number LIKE 'IN-{y}-%'")
                )
                .await,
                5,
                "{b:?} {defer}"
            );
            // The next transaction counts on from the stored value; a rolled-back one gives
            // its numbers back.
            {
                let mut tx = db.begin().await.unwrap();
                tx.defer_appends();
                let m = e
                    .create(&mut tx, &system, &intake("撤销"), day)
                    .await
                    .unwrap();
                assert_eq!(seq(&m), 6);
                e.create(&mut tx, &system, &intake("撤销"), day)
                    .await
                    .unwrap();
            }
            let mut tx = db.begin().await.unwrap();
            let m = e
                .create(&mut tx, &system, &intake("第 5 件"), day)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(seq(&m), 6, "{b:?} {defer}");
        }
    }
}

fn route() -> ActInput {
    ActInput {
        transition: "route".into(),
        version: 1,
        fields: BTreeMap::new(),
    }
}

#[tokio::test]
async fn a_fresh_matters_first_transition_writes_what_the_general_path_writes() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let system = Acting::system();
        let day = d("2026-09-28");
        // The general path: created in one transaction, routed in another (its clocks read).
        let mut tx = db.begin().await.unwrap();
        let general = e
            .create(&mut tx, &system, &intake("一般"), day)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        let general = e
            .act(&mut tx, &system, &general.number, &route(), day)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // Fresh: created and routed in one deferring transaction; the first routing undone
        // with its savepoint and taken again, so the clock must be there once.
        let mut tx = db.begin().await.unwrap();
        tx.defer_appends();
        let m = e
            .create(&mut tx, &system, &intake("新建"), day)
            .await
            .unwrap();
        let sp = tx.savepoint().await.unwrap();
        e.act_on(&mut tx, &system, m.clone(), &route(), day)
            .await
            .unwrap();
        tx.rollback_to(sp).await.unwrap();
        let fresh = e
            .act_on(&mut tx, &system, m.clone(), &route(), day)
            .await
            .unwrap();
        // A second routing of the same (now stale) matter is refused, changing nothing.
        let stale = e.act_on(&mut tx, &system, m, &route(), day).await;
        assert!(
            matches!(stale, Err(amr_kernel::error::AppError::Conflict(_))),
            "{b:?}: {stale:?}"
        );
        tx.commit().await.unwrap();
        assert!(general.due_on.is_some(), "{b:?}");
        assert_eq!(
            (
                fresh.state.as_str(),
                fresh.version,
                fresh.due_on,
                fresh.late,
                fresh.closed_at
            ),
            (
                general.state.as_str(),
                general.version,
                general.due_on,
                general.late,
                general.closed_at
            ),
            "{b:?}"
        );
        let (gt, gc, ga) = trail(db, general.id, &general.number).await;
        let (ft, fc, fa) = trail(db, fresh.id, &fresh.number).await;
        assert_eq!(fc, gc, "{b:?}");
        assert_eq!(fc.len(), 1, "{b:?}: {fc:?}");
        assert_eq!(fa, ga, "{b:?}");
        let strip = |v: Vec<String>| -> Vec<String> {
            // The creation's body names the title, which differs.
            v.into_iter()
                .map(|s| s.split('|').take(4).collect::<Vec<_>>().join("|"))
                .collect()
        };
        assert_eq!(strip(ft.clone()), strip(gt.clone()), "{b:?}");
        assert_eq!(ft[1..], gt[1..], "{b:?}");
        // What the database holds is what act_on returned.
        let stored = e.get(db, &system, &fresh.number).await.unwrap();
        assert_eq!(
            (stored.version, stored.due_on, stored.state.as_str()),
            (fresh.version, fresh.due_on, fresh.state.as_str()),
            "{b:?}"
        );
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM events WHERE kind = 'kernel.matter.acted'"
            )
            .await,
            2,
            "{b:?}"
        );
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM events").await,
            events::head(db).await.unwrap(),
            "{b:?}: no gap"
        );
    }
}

/// A kind that starts a clock on creation and another on its first transition.
static TWO_CLOCKS: KindSpec = KindSpec {
    name: "twoclocks",
    prefix: "TC",
    label: label("双时限", "two clocks"),
    states: &[
        StateSpec::open("filed", label("已提交", "filed")),
        StateSpec::open("received", label("待受理", "received")),
        StateSpec::terminal("closed", label("已办结", "closed")),
    ],
    initial: "filed",
    clocks: &[
        ClockSpec {
            name: "reply",
            label: label("答复期限", "time to reply"),
            working_days: 3,
            escalate_every: 5,
        },
        ClockSpec {
            name: "accept",
            label: label("受理期限", "time to accept"),
            working_days: 7,
            escalate_every: 5,
        },
    ],
    on_create: &[ClockEffect::Start("reply")],
    transitions: &[TransitionSpec {
        name: "route",
        label: label("分送", "route"),
        from: &["filed"],
        to: "received",
        who: Who::System,
        clocks: &[ClockEffect::Start("accept")],
        public: false,
        ..TransitionSpec::DEFAULT
    }],
    create: Who::System,
    write: Who::System,
    transfer: TransferSpec {
        who: Who::System,
        across_jurisdiction: false,
    },
};

/// The `kernel.matter.acted` and `kernel.matter.created` payloads of a matter, its number,
/// id and title left out (they differ between two matters).
async fn matter_events(db: &Db, m: &Matter) -> Vec<String> {
    texts(
        db,
        &format!(
            "SELECT kind || '|' || public || '|' || payload FROM events \
             WHERE payload LIKE '%{}%' ORDER BY timepoint",
            m.number
        ),
    )
    .await
    .into_iter()
    .map(|s| {
        s.replace(&m.number, "N")
            .replace(&format!("\"id\":{}", m.id), "\"id\":I")
    })
    .collect()
}

#[tokio::test]
async fn a_matter_created_past_its_first_transition_writes_what_create_and_act_write() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = Engine::new(&[&example::TICKET, &INTAKE, &TWO_CLOCKS]).unwrap();
        let system = Acting::system();
        let day = d("2026-09-28");
        if b == Backend::Sqlite {
            // Every update of a matter's row is counted: the one-row path makes none.
            exec(
                db,
                "CREATE TABLE matter_updates (n INTEGER); \
                 CREATE TRIGGER matters_updated AFTER UPDATE ON matters \
                 BEGIN INSERT INTO matter_updates VALUES (1); END;",
            )
            .await;
        }
        for (kind, defer) in [
            ("intake", false),
            ("intake", true),
            ("twoclocks", false),
            ("twoclocks", true),
        ] {
            let new = |title: &str| NewMatter {
                kind: kind.into(),
                title: title.into(),
                division: "370102".into(),
                ..Default::default()
            };
            let mut tx = db.begin().await.unwrap();
            if defer {
                tx.defer_appends();
            }
            let m = e.create(&mut tx, &system, &new("两步"), day).await.unwrap();
            let two = e.act_on(&mut tx, &system, m, &route(), day).await.unwrap();
            let updates_before = if b == Backend::Sqlite {
                tx.flush_appends().await.unwrap();
                amr_kernel::on_tx!(tx, c => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM matter_updates")
                    .fetch_one(&mut *c).await.unwrap())
            } else {
                0
            };
            let one = e
                .create_and_act(&mut tx, &system, &new("两步"), &route(), day)
                .await
                .unwrap();
            if b == Backend::Sqlite {
                let after: i64 = amr_kernel::on_tx!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM matter_updates")
                    .fetch_one(&mut *c).await.unwrap());
                assert_eq!(after, updates_before, "{kind} {defer}: one row, no update");
            }
            tx.commit().await.unwrap();
            assert_eq!(seq(&one), seq(&two) + 1, "{b:?} {kind} {defer}");
            assert!(one.due_on.is_some(), "{b:?} {kind} {defer}");
            assert_eq!(
                (
                    one.state.as_str(),
                    one.version,
                    one.due_on,
                    one.late,
                    one.outcome.clone(),
                    one.closed_at
                ),
                (
                    two.state.as_str(),
                    two.version,
                    two.due_on,
                    two.late,
                    two.outcome.clone(),
                    two.closed_at
                ),
                "{b:?} {kind} {defer}"
            );
            let stored = e.get(db, &system, &one.number).await.unwrap();
            assert_eq!(
                (stored.state.as_str(), stored.version, stored.due_on),
                (one.state.as_str(), one.version, one.due_on),
                "{b:?} {kind} {defer}"
            );
            assert_eq!(
                trail(db, one.id, &one.number).await,
                trail(db, two.id, &two.number).await,
                "{b:?} {kind} {defer}"
            );
            let (ev1, ev2) = (matter_events(db, &one).await, matter_events(db, &two).await);
            assert_eq!(ev1.len(), 2, "{b:?} {kind} {defer}: {ev1:?}");
            assert_eq!(ev1, ev2, "{b:?} {kind} {defer}");
        }
        // Cases the one row cannot take go through create and act_on, refused the same way.
        let officer = officer(db, "cp_officer", "3701").await;
        let mut tx = db.begin().await.unwrap();
        // A transition that stops the clock the creation started: taken in two steps.
        let accept = ActInput {
            transition: "accept".into(),
            version: 1,
            fields: BTreeMap::new(),
        };
        let m = e
            .create_and_act(&mut tx, &officer, &ticket(), &accept, day)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (timeline, clocks, audit) = trail(db, m.id, &m.number).await;
        assert_eq!((m.state.as_str(), m.version), ("accepted", 2), "{b:?}");
        assert_eq!(clocks.len(), 2, "{b:?}: {clocks:?}");
        assert!(
            clocks[0].starts_with("accept|stopped|"),
            "{b:?}: {clocks:?}"
        );
        assert!(
            clocks[1].starts_with("handle|running|"),
            "{b:?}: {clocks:?}"
        );
        assert_eq!(audit, ["matter.create", "matter.act"], "{b:?}");
        assert!(timeline.len() >= 4, "{b:?}: {timeline:?}");
        // A stale version, a transition the state does not allow, one the actor may not take.
        for (input, who) in [
            (
                ActInput {
                    version: 2,
                    ..route()
                },
                &system,
            ),
            (
                ActInput {
                    transition: "close".into(),
                    version: 1,
                    fields: BTreeMap::from([("outcome".to_string(), "done".to_string())]),
                },
                &system,
            ),
            (route(), &officer),
        ] {
            let mut tx = db.begin().await.unwrap();
            let got = e
                .create_and_act(&mut tx, who, &intake("拒绝"), &input, day)
                .await
                .map(|m| m.state);
            drop(tx);
            let mut tx = db.begin().await.unwrap();
            let want = match e.create(&mut tx, who, &intake("拒绝"), day).await {
                Ok(m) => e
                    .act_on(&mut tx, who, m, &input, day)
                    .await
                    .map(|m| m.state),
                Err(err) => Err(err),
            };
            drop(tx);
            assert!(got.is_err(), "{b:?} {input:?}: {got:?}");
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{b:?} {input:?}");
        }
    }
}
