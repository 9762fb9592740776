//! The matter engine on every backend (SQLite always; PostgreSQL when AMR_TEST_PG is set):
//! numbers, transitions allowed and refused, required inputs, concurrent actions, clocks
//! across the National Day week, escalation, jurisdiction, attachments and the ledger export.

use std::collections::BTreeMap;
use std::io::Cursor;

use chrono::NaiveDate;

use amr_kernel::audit::Actor;
use amr_kernel::auth::store::{self, Account, NewAccount};
use amr_kernel::auth::{Role, Scope};
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::events;
use amr_kernel::matter::number::{check_char, is_consistent};
use amr_kernel::matter::{
    ATTACHMENT_MAX_BYTES, ActInput, Acting, AssignInput, Engine, ExportFilter, Format, ListFilter,
    Matter, MatterNumber, NewAttachment, NewMatter, example,
};
use amr_kernel::testing::{TestDb, backends};
use amr_kernel::{calendar::Calendar, on_conn};

const PARTY: &str = "914403001922038216";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn engine() -> Engine {
    Engine::new(&[&example::TICKET]).unwrap()
}

async fn account(
    db: &Db,
    username: &str,
    role: Role,
    jurisdiction: &str,
    unit: Option<&str>,
    uscc: Option<&str>,
) -> Acting {
    let mut tx = db.begin().await.unwrap();
    let a: Account = store::create_account(
        &mut tx,
        &Actor::system(),
        &Scope::all(),
        NewAccount {
            username: username.into(),
            display_name: format!("{username} 名"),
            role,
            department: unit.map(String::from),
            jurisdiction: jurisdiction.into(),
            uscc: uscc.map(String::from),
            password_hash: "unused".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Acting::account(&a, Some("127.0.0.1".into()))
}

async fn officer(db: &Db, username: &str, jurisdiction: &str) -> Acting {
    account(db, username, Role::Officer, jurisdiction, None, None).await
}

async fn create(
    e: &Engine,
    db: &Db,
    who: &Acting,
    division: &str,
    assignee: Option<i64>,
    day: &str,
) -> Result<Matter, AppError> {
    let mut tx = db.begin().await?;
    let m = e
        .create(
            &mut tx,
            who,
            &NewMatter {
                kind: "ticket".into(),
                title: "店铺拒不退还预付款".into(),
                division: division.into(),
                uscc: Some(PARTY.into()),
                payload: serde_json::json!({"channel": "window"}),
                assignee_account: assignee,
                assignee_unit: None,
            },
            d(day),
        )
        .await?;
    tx.commit().await?;
    Ok(m)
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn act(
    e: &Engine,
    db: &Db,
    who: &Acting,
    number: &str,
    transition: &str,
    version: i64,
    f: &[(&str, &str)],
    day: &str,
) -> Result<Matter, AppError> {
    let mut tx = db.begin().await?;
    let input = ActInput {
        transition: transition.into(),
        version,
        fields: fields(f),
    };
    match e.act(&mut tx, who, number, &input, d(day)).await {
        Ok(m) => {
            tx.commit().await?;
            Ok(m)
        }
        Err(err) => {
            tx.rollback().await?;
            Err(err)
        }
    }
}

async fn assign(
    e: &Engine,
    db: &Db,
    who: &Acting,
    number: &str,
    input: AssignInput,
) -> Result<Matter, AppError> {
    let mut tx = db.begin().await?;
    let m = e.assign(&mut tx, who, number, &input).await?;
    tx.commit().await?;
    Ok(m)
}

/// Event head and audit-log size: what a refused request must leave as it was.
async fn marks(db: &Db) -> (i64, i64, i64) {
    let audit: i64 = on_conn!(db, c => sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(c)
        .await
        .unwrap());
    let timeline: i64 = on_conn!(db, c => sqlx::query_scalar("SELECT count(*) FROM matter_timeline")
        .fetch_one(c)
        .await
        .unwrap());
    (events::head(db).await.unwrap(), audit, timeline)
}

// ----- numbers -----------------------------------------------------------------------------

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*";

#[test]
fn the_check_character_catches_every_substitution_and_adjacent_transposition() {
    // A deterministic sample of numbers: prefixes of 2-4 letters, years, sequences.
    let prefixes = ["TS", "JB", "GD", "ZXQ", "ABCD", "QQQ", "ZZ"];
    let mut state: u64 = 0x2026_1001;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    let (mut substitutions, mut transpositions) = (0u64, 0u64);
    for i in 0..3000 {
        let prefix = prefixes[i % prefixes.len()];
        let year = 2000 + (next() % 60) as i32;
        let seq = 1 + next() % 9_999_999;
        let n = MatterNumber::new(prefix, year, seq).unwrap();
        let compact: String = n.to_string().replace('-', "");
        assert!(is_consistent(&compact), "{compact}");
        let bytes = compact.as_bytes();
        for pos in 0..bytes.len() {
            for &c in ALPHABET {
                if c == bytes[pos] {
                    continue;
                }
                let mut v = bytes.to_vec();
                v[pos] = c;
                let s = String::from_utf8(v).unwrap();
                assert!(
                    !is_consistent(&s),
                    "substitution not caught: {compact} -> {s}"
                );
                substitutions += 1;
            }
        }
        for pos in 0..bytes.len() - 1 {
            if bytes[pos] == bytes[pos + 1] {
                continue;
            }
            let mut v = bytes.to_vec();
            v.swap(pos, pos + 1);
            let s = String::from_utf8(v).unwrap();
            assert!(
                !is_consistent(&s),
                "transposition not caught: {compact} -> {s}"
            );
            transpositions += 1;
        }
    }
    assert!(substitutions > 1_000_000 && transpositions > 30_000);
}

#[test]
fn numbers_parse_tolerantly_and_refuse_with_reasons() {
    let n = MatterNumber::new("TS", 2026, 123).unwrap();
    let text = n.to_string();
    assert_eq!(
        text,
        format!("TS-2026-000123-{}", check_char("TS2026000123").unwrap())
    );
    let check = text.chars().last().unwrap();
    let full_width: String = text
        .chars()
        .map(|c| match c {
            '-' => '－',
            c if c.is_ascii_alphanumeric() => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            c => c,
        })
        .collect();
    for typed in [
        text.to_lowercase(),
        format!("  TS 2026 000123 {check} "),
        format!("TS2026000123{check}"),
        format!("TS—2026—000123—{check}"),
        full_width,
    ] {
        assert_eq!(MatterNumber::parse(&typed).unwrap(), n, "{typed:?}");
    }
    // A wrong check character, a mistyped digit, two digits swapped: the check says so.
    let wrong = if check == '0' { '1' } else { '0' };
    for bad in [
        format!("TS-2026-000123-{wrong}"),
        format!("TS-2026-000133-{check}"),
        format!("TS-2026-001023-{check}"),
    ] {
        let e = MatterNumber::parse(&bad).unwrap_err();
        assert!(e.to_string().contains("校验位不符"), "{bad}: {e}");
        assert_eq!(e.status(), 400);
    }
    for (bad, says) in [
        ("", "前缀"),
        ("T-2026-000123-1", "前缀"),
        ("TS-2026-123-1", "长度"),
        ("TS-2026-00O123-1", "数字"),
        ("TS-2026-000123-1/", "字符"),
    ] {
        let e = MatterNumber::parse(bad).unwrap_err();
        assert!(e.to_string().contains(says), "{bad}: {e}");
    }
}

// ----- transitions -------------------------------------------------------------------------

#[tokio::test]
async fn transitions_are_allowed_refused_and_require_their_inputs() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let a = officer(db, "officer.a", "370102").await;
        let b2 = officer(db, "officer.b", "370102").await;
        let far = officer(db, "officer.qd", "370202").await;
        let city = officer(db, "officer.city", "3701").await;
        let party = account(db, "shop", Role::Enterprise, "", None, Some(PARTY)).await;
        let other = account(
            db,
            "other.shop",
            Role::Enterprise,
            "",
            None,
            Some("91440300708461136T"),
        )
        .await;

        let m = create(&e, db, &a, "370102", a.account, "2026-11-02")
            .await
            .unwrap();
        assert!(
            m.number.starts_with("GD-2026-000001-"),
            "{b:?} {}",
            m.number
        );
        assert_eq!((m.state.as_str(), m.version), ("registered", 1));
        assert_eq!(
            m.due_on,
            Some(d("2026-11-11")),
            "7 working days after 11-02"
        );
        let no = m.number.clone();

        // Outside the jurisdiction: not found, for reading and for acting alike.
        assert!(matches!(
            e.get(db, &far, &no).await,
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            act(&e, db, &far, &no, "accept", 1, &[], "2026-11-03").await,
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            e.get(db, &other, &no).await,
            Err(AppError::NotFound)
        ));
        // The city above sees it; the business concerned sees it; the number may be typed
        // in lower case.
        assert_eq!(e.get(db, &city, &no.to_lowercase()).await.unwrap().id, m.id);
        assert_eq!(e.get(db, &party, &no).await.unwrap().id, m.id);

        let before = marks(db).await;
        // Unknown action; an action the state does not allow; one the actor may not take.
        let err = act(&e, db, &b2, &no, "fly", 1, &[], "2026-11-03")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 400, "{err}");
        let err = act(&e, db, &a, &no, "resume", 1, &[], "2026-11-03")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 422, "{err}");
        assert!(
            err.to_string().contains("受理"),
            "names what is possible: {err}"
        );
        let err = act(&e, db, &party, &no, "accept", 1, &[], "2026-11-03")
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403, "{err}");
        assert!(err.to_string().contains("执法人员"), "{err}");
        assert_eq!(marks(db).await, before, "{b:?}: refusals change nothing");

        let m = act(&e, db, &b2, &no, "accept", 1, &[], "2026-11-03")
            .await
            .unwrap();
        assert_eq!((m.state.as_str(), m.version), ("accepted", 2));
        assert_eq!(
            m.due_on,
            Some(d("2026-11-24")),
            "15 working days after 11-03"
        );

        // The business concerned answers (a self-transition); it needs its text.
        let err = act(&e, db, &party, &no, "answer", 2, &[], "2026-11-04")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("答复"), "{err}");
        let m = act(
            &e,
            db,
            &party,
            &no,
            "answer",
            2,
            &[("answer", "已联系消费者")],
            "2026-11-04",
        )
        .await
        .unwrap();
        assert_eq!((m.state.as_str(), m.version), ("accepted", 3));

        let before = marks(db).await;
        // Only the assignee closes.
        let err = act(
            &e,
            db,
            &b2,
            &no,
            "close",
            3,
            &[("outcome", "resolved"), ("summary", "x")],
            "2026-11-05",
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(err.to_string().contains("承办人"), "{err}");
        // Every missing field is named.
        let err = act(&e, db, &a, &no, "close", 3, &[], "2026-11-05")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("办理结果") && text.contains("办理情况"),
            "{text}"
        );
        assert!(matches!(err, AppError::BadRequest { ref field, .. } if field == "outcome"));
        // A bad choice; a field the action does not take.
        let err = act(
            &e,
            db,
            &a,
            &no,
            "close",
            3,
            &[("outcome", "won"), ("summary", "退款")],
            "2026-11-05",
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("已解决"),
            "lists the choices: {err}"
        );
        let err = act(
            &e,
            db,
            &a,
            &no,
            "close",
            3,
            &[
                ("outcome", "resolved"),
                ("summary", "退款"),
                ("colour", "red"),
            ],
            "2026-11-05",
        )
        .await
        .unwrap_err();
        assert!(matches!(err, AppError::BadRequest { ref field, .. } if field == "colour"));
        assert_eq!(marks(db).await, before, "{b:?}: refusals change nothing");

        let m = act(
            &e,
            db,
            &a,
            &no,
            "close",
            3,
            &[("outcome", "resolved"), ("summary", "已退款 300 元")],
            "2026-11-05",
        )
        .await
        .unwrap();
        assert_eq!(m.state, "closed");
        assert_eq!(m.outcome.as_deref(), Some("resolved"));
        assert!(m.closed_at.is_some());
        assert_eq!(m.due_on, None, "closing stops every clock");

        // Reopening needs a reason; it clears the close-out and starts the handling clock.
        let err = act(&e, db, &city, &no, "reopen", 4, &[], "2026-11-09")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("理由"), "{err}");
        let m = act(
            &e,
            db,
            &city,
            &no,
            "reopen",
            4,
            &[("reason", "消费者反映未收到退款")],
            "2026-11-09",
        )
        .await
        .unwrap();
        assert_eq!(
            (m.state.as_str(), m.outcome.as_deref(), m.closed_at),
            ("accepted", None, None)
        );
        assert_eq!(
            m.due_on,
            Some(d("2026-11-30")),
            "15 working days after 11-09"
        );

        // The timeline holds every step in order; internal notes are hidden from the business.
        let mut tx = db.begin().await.unwrap();
        e.add_message(&mut tx, &a, &no, "内部：约谈店主", true)
            .await
            .unwrap();
        e.add_message(&mut tx, &party, &no, "我们已退款", true)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let entries: Vec<String> = e
            .timeline(db, &a, &no)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.entry)
            .collect();
        assert_eq!(
            entries,
            [
                "created",
                "clock_started",
                "transition",
                "clock_stopped",
                "clock_started",
                "transition",
                "transition",
                "clock_stopped",
                "reopened",
                "clock_started",
                "message",
                "message",
            ],
            "{b:?}"
        );
        let seen_by_party = e.timeline(db, &party, &no).await.unwrap();
        assert_eq!(
            seen_by_party.len(),
            entries.len() - 1,
            "the internal note is hidden"
        );
        assert!(seen_by_party.iter().all(|t| !t.internal));

        // The public events carry no people and no free text.
        let public = events::public_after(db, 0, 100).await.unwrap();
        let kinds: Vec<String> = public
            .iter()
            .map(|ev| {
                ev.payload_json()["transition"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        assert_eq!(kinds, ["accept", "close"], "{b:?}");
        assert!(public.iter().all(|ev| !ev.payload.contains("退款")));
    }
}

#[tokio::test]
async fn two_officers_cannot_both_act_on_the_same_state() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let a = officer(db, "officer.a", "370102").await;
        let b2 = officer(db, "officer.b", "370102").await;
        let m = create(&e, db, &a, "370102", a.account, "2026-11-02")
            .await
            .unwrap();
        let (r1, r2) = tokio::join!(
            act(&e, db, &a, &m.number, "accept", 1, &[], "2026-11-03"),
            act(&e, db, &b2, &m.number, "accept", 1, &[], "2026-11-03"),
        );
        let oks = [&r1, &r2].iter().filter(|r| r.is_ok()).count();
        assert_eq!(oks, 1, "{b:?}: {r1:?} {r2:?}");
        let err = if let Err(e) = r1 { e } else { r2.unwrap_err() };
        assert_eq!(err.status(), 409, "{err}");
        let now = e.get(db, &a, &m.number).await.unwrap();
        assert_eq!((now.state.as_str(), now.version), ("accepted", 2));
        let accepted = e
            .timeline(db, &a, &m.number)
            .await
            .unwrap()
            .iter()
            .filter(|t| t.transition.as_deref() == Some("accept"))
            .count();
        assert_eq!(accepted, 1);
        // A stale version is refused even when the state would allow the action.
        let err = act(
            &e,
            db,
            &a,
            &m.number,
            "hold",
            1,
            &[("reason", "送检")],
            "2026-11-04",
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), 409);
    }
}

#[tokio::test]
async fn numbers_are_gapless_per_kind_and_year() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let a = officer(db, "officer.a", "370102").await;
        // A creation rolled back returns its number.
        {
            let mut tx = db.begin().await.unwrap();
            let m = e
                .create(
                    &mut tx,
                    &a,
                    &NewMatter {
                        kind: "ticket".into(),
                        title: "撤销".into(),
                        division: "370102".into(),
                        ..Default::default()
                    },
                    d("2026-11-02"),
                )
                .await
                .unwrap();
            assert!(m.number.starts_with("GD-2026-000001-"));
            tx.rollback().await.unwrap();
        }
        let mut tasks = Vec::new();
        for _ in 0..8 {
            tasks.push(create(&e, db, &a, "370102", None, "2026-11-02"));
        }
        let made = futures_util::future::join_all(tasks).await;
        let mut seqs: Vec<u64> = made
            .into_iter()
            .map(|m| MatterNumber::parse(&m.unwrap().number).unwrap().seq())
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=8).collect::<Vec<u64>>(), "{b:?}");
        // Another year starts again at 1.
        let m = create(&e, db, &a, "370102", None, "2025-12-31")
            .await
            .unwrap();
        assert!(m.number.starts_with("GD-2025-000001-"), "{}", m.number);
        // Bad input is refused with the field named, nothing written.
        let before = marks(db).await;
        for (new, field) in [
            (
                NewMatter {
                    kind: "nope".into(),
                    title: "x".into(),
                    division: "370102".into(),
                    ..Default::default()
                },
                "kind",
            ),
            (
                NewMatter {
                    kind: "ticket".into(),
                    title: " ".into(),
                    division: "370102".into(),
                    ..Default::default()
                },
                "title",
            ),
            (
                NewMatter {
                    kind: "ticket".into(),
                    title: "x".into(),
                    division: "379999".into(),
                    ..Default::default()
                },
                "division",
            ),
            (
                NewMatter {
                    kind: "ticket".into(),
                    title: "x".into(),
                    division: "370202".into(),
                    ..Default::default()
                },
                "division",
            ),
            (
                NewMatter {
                    kind: "ticket".into(),
                    title: "x".into(),
                    division: "370102".into(),
                    uscc: Some("91440300708461136X".into()),
                    ..Default::default()
                },
                "uscc",
            ),
            (
                NewMatter {
                    kind: "ticket".into(),
                    title: "x".into(),
                    division: "370102".into(),
                    payload: serde_json::json!([1]),
                    ..Default::default()
                },
                "payload",
            ),
        ] {
            let mut tx = db.begin().await.unwrap();
            let err = e
                .create(&mut tx, &a, &new, d("2026-11-02"))
                .await
                .unwrap_err();
            assert!(
                matches!(err, AppError::BadRequest { field: ref f, .. } if f == field),
                "{field}: {err}"
            );
            tx.rollback().await.unwrap();
        }
        assert_eq!(marks(db).await, before);
    }
}

// ----- clocks and escalation ----------------------------------------------------------------

#[tokio::test]
async fn clocks_pause_and_resume_across_the_national_day_week() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let cal = Calendar::embedded();
        let a = officer(db, "officer.a", "370102").await;
        // Registered Monday 2026-09-28. Working days after it: 09-29, 09-30, then the holiday
        // week 10-01..07, then 10-08, 10-09, 10-10 (a Saturday make-up day), 10-12, 10-13.
        let m = create(&e, db, &a, "370102", a.account, "2026-09-28")
            .await
            .unwrap();
        assert_eq!(m.due_on, Some(d("2026-10-13")));
        assert_eq!(
            m.due_on,
            Some(cal.add_working_days(d("2026-09-28"), 7).unwrap())
        );
        // Accepted 09-29: 15 working days to handle, due 10-26.
        let m = act(&e, db, &a, &m.number, "accept", 1, &[], "2026-09-29")
            .await
            .unwrap();
        assert_eq!(m.due_on, Some(d("2026-10-26")));
        // On hold from 09-30 (goods sent for testing): a paused clock is not due, and the
        // matter is not overdue however long it waits.
        let m = act(
            &e,
            db,
            &a,
            &m.number,
            "hold",
            2,
            &[("reason", "样品送检")],
            "2026-09-30",
        )
        .await
        .unwrap();
        assert_eq!(m.due_on, None);
        let overdue = e
            .list(
                db,
                &a,
                &ListFilter {
                    overdue: Some(true),
                    ..Default::default()
                },
                d("2026-12-01"),
            )
            .await
            .unwrap();
        assert!(overdue.items.is_empty());
        // Resumed 10-09: paused for the working days after 09-30 up to 10-09 (10-08, 10-09):
        // the due date moves two working days, to 10-28; the holidays cost nothing.
        let m = act(&e, db, &a, &m.number, "resume", 3, &[], "2026-10-09")
            .await
            .unwrap();
        assert_eq!(m.due_on, Some(d("2026-10-28")), "{b:?}");
        let tl = e.timeline(db, &a, &m.number).await.unwrap();
        let resumed = tl.iter().find(|t| t.entry == "clock_resumed").unwrap();
        assert_eq!(resumed.body["paused_working_days"], 2);
        let order: Vec<&str> = tl
            .iter()
            .filter(|t| t.entry.starts_with("clock_"))
            .map(|t| t.entry.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "clock_started",
                "clock_stopped",
                "clock_started",
                "clock_paused",
                "clock_resumed"
            ]
        );
        // Closed after its due date: the clock stops late and the ledger remembers it.
        let m = act(
            &e,
            db,
            &a,
            &m.number,
            "close",
            4,
            &[("outcome", "resolved"), ("summary", "检测合格")],
            "2026-10-29",
        )
        .await
        .unwrap();
        assert!(m.late);
        // A clock whose limit runs past the last loaded year is refused, nothing written.
        let before = marks(db).await;
        let err = create(&e, db, &a, "370102", None, "2026-12-29")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("2027"), "{err}");
        assert_eq!(marks(db).await, before);
    }
}

#[tokio::test]
async fn overdue_matters_escalate_up_the_jurisdiction_once_per_level() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let a = officer(db, "officer.a", "370102").await;
        let city = officer(db, "officer.city", "3701").await;
        let m = create(&e, db, &a, "370102", None, "2026-09-28")
            .await
            .unwrap();
        assert_eq!(m.due_on, Some(d("2026-10-13")));
        let city_matter = create(&e, db, &city, "3701", None, "2026-09-28")
            .await
            .unwrap();

        // Due on 10-13: nothing that day.
        let r = e.escalate_overdue(db, d("2026-10-13")).await.unwrap();
        assert_eq!(r.escalated, 0);
        // 10-14: a working day late: both go one level up (370102 → 3701, 3701 → 37).
        let r = e.escalate_overdue(db, d("2026-10-14")).await.unwrap();
        assert_eq!((r.examined, r.escalated), (2, 2), "{b:?}");
        let head = events::head(db).await.unwrap();
        let r = e.escalate_overdue(db, d("2026-10-14")).await.unwrap();
        assert_eq!(r.escalated, 0, "idempotent");
        assert_eq!(events::head(db).await.unwrap(), head);
        let now = e.get(db, &a, &m.number).await.unwrap();
        assert_eq!(now.escalated_to.as_deref(), Some("3701"));
        assert!(now.late);
        // Six working days late (10-14, 15, 16, 19, 20, 21): the province.
        let r = e.escalate_overdue(db, d("2026-10-21")).await.unwrap();
        assert_eq!(
            r.escalated, 1,
            "the county matter goes on; the city one has no higher level but 37"
        );
        let r = e.escalate_overdue(db, d("2026-10-30")).await.unwrap();
        assert_eq!(r.escalated, 0, "nothing above the province");
        let now = e.get(db, &a, &m.number).await.unwrap();
        assert_eq!(now.escalated_to.as_deref(), Some("37"));
        let escalations: Vec<(i64, String)> = e
            .timeline(db, &a, &m.number)
            .await
            .unwrap()
            .into_iter()
            .filter(|t| t.entry == "escalated")
            .map(|t| {
                (
                    t.body["level"].as_i64().unwrap(),
                    t.body["division"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            escalations,
            [(1, "3701".to_string()), (2, "37".to_string())]
        );
        let n: i64 = on_conn!(db, c => sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE kind = 'kernel.matter.escalated'"
        )
        .fetch_one(c)
        .await
        .unwrap());
        assert_eq!(n, 3);
        let city_now = e.get(db, &city, &city_matter.number).await.unwrap();
        assert_eq!(city_now.escalated_to.as_deref(), Some("37"));

        // The city's queue of escalated, overdue matters.
        let page = e
            .list(
                db,
                &city,
                &ListFilter {
                    escalated: Some(true),
                    overdue: Some(true),
                    ..Default::default()
                },
                d("2026-10-21"),
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        // Accepting stops the overdue clock; the new one is not due, nothing escalates.
        act(&e, db, &a, &m.number, "accept", 1, &[], "2026-10-22")
            .await
            .unwrap();
        let r = e.escalate_overdue(db, d("2026-10-23")).await.unwrap();
        assert_eq!(
            (r.examined, r.escalated),
            (1, 0),
            "only the city matter's clock is still past due"
        );
    }
}

// ----- jurisdiction, assignment, attachments -------------------------------------------------

#[tokio::test]
async fn lists_are_scoped_filtered_and_paged() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let sys = Acting::system();
        for (div, day) in [
            ("370102", "2026-11-02"),
            ("370103", "2026-11-03"),
            ("370102", "2026-11-04"),
            ("370202", "2026-11-05"),
        ] {
            create(&e, db, &sys, div, None, day).await.unwrap();
        }
        let city = officer(db, "officer.city", "3701").await;
        let county = officer(db, "officer.lx", "370102").await;
        let all = |f: ListFilter, who: Acting| {
            let e = &e;
            async move { e.list(db, &who, &f, d("2026-11-06")).await }
        };
        assert_eq!(
            all(ListFilter::default(), city.clone())
                .await
                .unwrap()
                .items
                .len(),
            3
        );
        assert_eq!(
            all(ListFilter::default(), county.clone())
                .await
                .unwrap()
                .items
                .len(),
            2
        );
        let only = all(
            ListFilter {
                jurisdiction: Some("370103".into()),
                ..Default::default()
            },
            city.clone(),
        )
        .await
        .unwrap();
        assert_eq!(only.items.len(), 1);
        assert_eq!(only.items[0].division, "370103");
        // A filter outside the scope finds nothing rather than widening it.
        let outside = all(
            ListFilter {
                jurisdiction: Some("3702".into()),
                ..Default::default()
            },
            city.clone(),
        )
        .await
        .unwrap();
        assert!(outside.items.is_empty());
        // Period (China dates, inclusive) and state.
        // The period is judged on the stored creation time (now), not on the business day
        // passed to `create`.
        let period = all(
            ListFilter {
                created_from: Some(d("2020-01-01")),
                created_to: Some(d("2020-12-31")),
                ..Default::default()
            },
            Acting::system(),
        )
        .await;
        assert!(period.unwrap().items.is_empty());
        let today = amr_kernel::matter::today();
        let period = all(
            ListFilter {
                created_from: Some(today.pred_opt().unwrap()),
                created_to: Some(today),
                state: Some("registered".into()),
                ..Default::default()
            },
            Acting::system(),
        )
        .await
        .unwrap();
        assert_eq!(period.items.len(), 4);
        // Keyset paging, newest first, each matter once.
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = all(
                ListFilter {
                    limit: Some(1),
                    before,
                    ..Default::default()
                },
                city.clone(),
            )
            .await
            .unwrap();
            seen.extend(page.items.iter().map(|m| m.id));
            match page.next {
                Some(n) => before = Some(n),
                None => break,
            }
        }
        assert_eq!(seen.len(), 3);
        assert!(seen.windows(2).all(|w| w[0] > w[1]));
        // Bad filters are named.
        for (f, field) in [
            (
                ListFilter {
                    kind: Some("nope".into()),
                    ..Default::default()
                },
                "kind",
            ),
            (
                ListFilter {
                    kind: Some("ticket".into()),
                    state: Some("flying".into()),
                    ..Default::default()
                },
                "state",
            ),
            (
                ListFilter {
                    jurisdiction: Some("37x".into()),
                    ..Default::default()
                },
                "jurisdiction",
            ),
            (
                ListFilter {
                    limit: Some(0),
                    ..Default::default()
                },
                "limit",
            ),
            (
                ListFilter {
                    created_from: Some(d("2026-11-05")),
                    created_to: Some(d("2026-11-01")),
                    ..Default::default()
                },
                "created_from",
            ),
        ] {
            let err = all(f, city.clone()).await.unwrap_err();
            assert!(
                matches!(err, AppError::BadRequest { field: ref x, .. } if x == field),
                "{field}: {err}"
            );
        }
    }
}

#[tokio::test]
async fn assignment_and_transfer_need_reasons_and_move_the_matter() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let a = officer(db, "officer.a", "370102").await;
        let b2 = officer(db, "officer.b", "370102").await;
        let qd = officer(db, "officer.qd", "370202").await;
        let m = create(&e, db, &a, "370102", None, "2026-11-02")
            .await
            .unwrap();
        let no = m.number.clone();
        // First assignment: no reason needed.
        let m = assign(
            &e,
            db,
            &a,
            &no,
            AssignInput {
                version: 1,
                account: a.account,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!((m.assignee_account, m.version), (a.account, 2));
        let before = marks(db).await;
        // Replacing the assignee needs a reason; an officer outside the division cannot be
        // the assignee; a stale version conflicts.
        let err = assign(
            &e,
            db,
            &a,
            &no,
            AssignInput {
                version: 2,
                account: b2.account,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, AppError::BadRequest { ref field, .. } if field == "reason"),
            "{err}"
        );
        let err = assign(
            &e,
            db,
            &a,
            &no,
            AssignInput {
                version: 2,
                account: qd.account,
                reason: Some("调整".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, AppError::BadRequest { ref field, .. } if field == "assignee_account"),
            "{err}"
        );
        let err = assign(
            &e,
            db,
            &a,
            &no,
            AssignInput {
                version: 1,
                account: b2.account,
                reason: Some("调整".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), 409);
        assert_eq!(marks(db).await, before);
        // Transfer to the competent bureau in Qingdao, with a reason.
        let m = assign(
            &e,
            db,
            &a,
            &no,
            AssignInput {
                version: 2,
                division: Some("370202".into()),
                account: qd.account,
                reason: Some("经营场所在市南区".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            (m.division.as_str(), m.assignee_account),
            ("370202", qd.account)
        );
        assert!(matches!(e.get(db, &a, &no).await, Err(AppError::NotFound)));
        let tl = e.timeline(db, &qd, &no).await.unwrap();
        let last = tl.last().unwrap();
        assert_eq!(last.entry, "transferred");
        assert_eq!(last.body["reason"], "经营场所在市南区");
        assert_eq!(last.body["from"]["division"], "370102");
    }
}

#[tokio::test]
async fn attachments_keep_their_bytes_and_digest_within_a_limit() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let a = officer(db, "officer.a", "370102").await;
        let far = officer(db, "officer.qd", "370202").await;
        let m = create(&e, db, &a, "370102", None, "2026-11-02")
            .await
            .unwrap();
        let bytes: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut tx = db.begin().await.unwrap();
        let att = e
            .attach(
                &mut tx,
                &a,
                &m.number,
                &NewAttachment {
                    name: "发票.pdf".into(),
                    content_type: "application/pdf".into(),
                    bytes: bytes.clone(),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        use sha2::Digest;
        assert_eq!(att.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
        let (meta, back) = e.attachment(db, &a, &m.number, att.id).await.unwrap();
        assert_eq!((meta.size, back), (70_000, bytes));
        assert!(matches!(
            e.attachment(db, &far, &m.number, att.id).await,
            Err(AppError::NotFound)
        ));
        let before = marks(db).await;
        for (file, field) in [
            (
                NewAttachment {
                    name: "big.bin".into(),
                    content_type: "application/octet-stream".into(),
                    bytes: vec![0; ATTACHMENT_MAX_BYTES + 1],
                },
                "file",
            ),
            (
                NewAttachment {
                    name: "../etc/passwd".into(),
                    content_type: "text/plain".into(),
                    bytes: vec![1],
                },
                "name",
            ),
            (
                NewAttachment {
                    name: "a.txt".into(),
                    content_type: "text".into(),
                    bytes: vec![1],
                },
                "content_type",
            ),
            (
                NewAttachment {
                    name: "a.txt".into(),
                    content_type: "text/plain".into(),
                    bytes: vec![],
                },
                "file",
            ),
        ] {
            let mut tx = db.begin().await.unwrap();
            let err = e.attach(&mut tx, &a, &m.number, &file).await.unwrap_err();
            assert!(
                matches!(err, AppError::BadRequest { field: ref f, .. } if f == field),
                "{field}: {err}"
            );
            tx.rollback().await.unwrap();
        }
        assert_eq!(marks(db).await, before);
        assert_eq!(e.attachments(db, &a, &m.number).await.unwrap().len(), 1);
    }
}

// ----- export ----------------------------------------------------------------------------------

#[tokio::test]
async fn the_ledger_exports_to_csv_and_xlsx() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let db = &t.db;
        let e = engine();
        let a = officer(db, "officer.a", "370102").await;
        let sys = Acting::system();
        let m1 = create(&e, db, &a, "370102", a.account, "2026-09-28")
            .await
            .unwrap();
        act(&e, db, &a, &m1.number, "accept", 1, &[], "2026-09-29")
            .await
            .unwrap();
        act(
            &e,
            db,
            &a,
            &m1.number,
            "close",
            2,
            &[("outcome", "resolved"), ("summary", "已退款")],
            "2026-09-30",
        )
        .await
        .unwrap();
        let m2 = create(&e, db, &sys, "370103", None, "2026-09-28")
            .await
            .unwrap();
        create(&e, db, &sys, "370202", None, "2026-09-28")
            .await
            .unwrap();

        let filter = ExportFilter {
            kind: Some("ticket".into()),
            from: None,
            to: None,
            jurisdiction: None,
            as_of: d("2026-10-20"),
        };
        let mut csv_bytes = Vec::new();
        let n = e
            .export(
                db,
                &Scope::prefix("3701"),
                &filter,
                Format::Csv,
                &mut csv_bytes,
            )
            .await
            .unwrap();
        assert_eq!(n, 2);
        let mut r = csv::Reader::from_reader(csv_bytes.as_slice());
        let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            headers[0], "事项编号 (number)",
            "the BOM is not part of the header"
        );
        assert_eq!(headers.len(), 11);
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|x| x.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][0], m1.number);
        assert_eq!(rows[0][1], "工单");
        assert_eq!(rows[0][3], "370102 山东省济南市历下区");
        assert_eq!(rows[0][4], "已办结");
        assert_eq!(rows[0][5], "officer.a 名");
        assert!(!rows[0][7].is_empty(), "closed time");
        assert_eq!(rows[0][8], "已解决");
        assert_eq!(rows[0][9], "2026-10-26", "the last clock's due date");
        assert_eq!(rows[0][10], "否");
        assert_eq!(rows[1][0], m2.number);
        assert_eq!(rows[1][4], "已登记");
        assert_eq!(rows[1][9], "2026-10-13");
        assert_eq!(rows[1][10], "是", "open and past due on 10-20");

        let mut xlsx = Vec::new();
        let filter = ExportFilter {
            jurisdiction: Some("370103".into()),
            ..filter
        };
        let n = e
            .export(db, &Scope::all(), &filter, Format::Xlsx, &mut xlsx)
            .await
            .unwrap();
        assert_eq!(n, 1);
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(xlsx)).unwrap();
        let range = book.worksheet_range("台账").unwrap();
        let cells: Vec<Vec<String>> = range
            .rows()
            .map(|row| row.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[0][10], "是否超期 (overdue)");
        assert_eq!(cells[1][0], m2.number);
        assert_eq!(cells[1][3], "370103 山东省济南市市中区");

        // A bad filter is refused before anything is written.
        let mut out = Vec::new();
        let bad = ExportFilter {
            kind: Some("nope".into()),
            from: None,
            to: None,
            jurisdiction: None,
            as_of: d("2026-10-20"),
        };
        assert!(
            e.export(db, &Scope::all(), &bad, Format::Csv, &mut out)
                .await
                .is_err()
        );
        assert!(out.is_empty());
    }
}
