//! The demo's year of complaints written with whole courses (`demo::Mode::Course`: one
//! engine call a matter, rows held back and written as multi-row statements) against the
//! same draws written call by call through the public intake's recording code and the
//! officers' and businesses' transitions (`demo::Mode::Stepwise`), on every backend (SQLite
//! always; PostgreSQL when AMR_TEST_PG is set): the same matters, complaint rows, timelines,
//! clocks, notices, monthly counters, audit entries and events (a matter's audit entries and
//! events in another order: the course writes the matter's before the filing's), and a
//! second run of the same seed gives the same again.

use std::collections::BTreeMap;

use amr_consumer::complaint::demo::{self, DemoSpec, Mode};
use amr_consumer::complaint::{Business, BusinessDirectory, LookupFuture, store};
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::db::{Db, MigrationSet, kernel_migrations};
use amr_kernel::on_conn;
use amr_kernel::testing::{TestDb, backends};
use chrono::NaiveDate;

#[derive(Debug)]
struct Directory(Vec<Business>);

impl BusinessDirectory for Directory {
    fn lookup<'a>(&'a self, uscc: &'a str) -> LookupFuture<'a, Option<Business>> {
        Box::pin(async move { Ok(self.0.iter().find(|b| b.uscc == uscc).cloned()) })
    }

    fn enterprises<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> LookupFuture<'a, Vec<Business>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .filter(|b| after.is_none_or(|a| b.uscc.as_str() > a))
                .take(limit)
                .cloned()
                .collect())
        })
    }
}

fn businesses() -> Vec<Business> {
    let mut rng = rand::rng();
    let counties = ["370102", "370203", "371002", "370705", "371502"];
    let mut out: Vec<Business> = (0..40)
        .map(|i| {
            let county = counties[i % counties.len()];
            Business {
                uscc: Uscc::generate(RegistrationType::Enterprise, county, &mut rng)
                    .unwrap()
                    .to_string(),
                name: format!("示范商贸有限公司{i}"),
                address: format!("山东省济南市历下区泉城路{i}号"),
                division: county.to_string(),
                active: true,
            }
        })
        .collect();
    out.sort_by(|a, b| a.uscc.cmp(&b.uscc));
    out
}

fn sets() -> Vec<MigrationSet> {
    vec![kernel_migrations(), amr_consumer::migrations()]
}

async fn texts(db: &Db, sql: &str) -> Vec<String> {
    on_conn!(db, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(c)
        .await
        .unwrap())
}

/// Everything the demo wrote, by matter number, without ids and times.
async fn snapshot(db: &Db) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |rows: Vec<String>| {
        for r in rows {
            let (number, rest) = r.split_once('#').unwrap();
            out.entry(number.to_string())
                .or_default()
                .push(rest.to_string());
        }
    };
    add(texts(
        db,
        "SELECT number || '#matter|' || kind || '|' || title || '|' || division || '|' || \
         COALESCE(uscc, '') || '|' || state || '|' || version || '|' || payload || '|' || \
         COALESCE(outcome, '') || '|' || COALESCE(CAST(due_on AS TEXT), '') || '|' || \
         CAST(late AS TEXT) || '|' || created_by || '|' || \
         CASE WHEN closed_at IS NULL THEN 'open' ELSE 'closed' END FROM matters",
    )
    .await);
    add(texts(
        db,
        "SELECT m.number || '#timeline|' || t.entry || '|' || t.actor || '|' || \
         COALESCE(t.transition, '') || '|' || COALESCE(t.from_state, '') || '|' || \
         COALESCE(t.to_state, '') || '|' || t.body FROM matter_timeline t \
         JOIN matters m ON m.id = t.matter_id ORDER BY t.id",
    )
    .await);
    add(texts(
        db,
        "SELECT m.number || '#clock|' || k.name || '|' || k.state || '|' || \
         CAST(k.started_on AS TEXT) || '|' || CAST(k.due_on AS TEXT) || '|' || \
         k.paused_days || '|' || COALESCE(CAST(k.stopped_on AS TEXT), '') \
         FROM matter_clocks k JOIN matters m ON m.id = k.matter_id ORDER BY k.id",
    )
    .await);
    add(texts(
        db,
        "SELECT matter_number || '#complaint|' || kind || '|' || source || '|' || division || '|' || \
         COALESCE(uscc, '') || '|' || business_name || '|' || COALESCE(business_address, '') || '|' || \
         complainant_name || '|' || phone || '|' || purchase || '|' || \
         COALESCE(CAST(purchase_date AS TEXT), '') || '|' || COALESCE(CAST(amount_fen AS TEXT), '') || '|' || \
         facts || '|' || claim || '|' || dup_key || '|' || COALESCE(open_dup_key, '-') || '|' || state || '|' || \
         COALESCE(CAST(due_on AS TEXT), '') || '|' || CAST(odr AS TEXT) || '|' || \
         COALESCE(CAST(odr_due_on AS TEXT), '') || '|' || COALESCE(odr_result, '') || '|' || \
         COALESCE(CAST(odr_answered_on AS TEXT), '') || '|' || COALESCE(settlement, '') || '|' || \
         COALESCE(CAST(settlement_fen AS TEXT), '') || '|' || CAST(consumer_refused AS TEXT) || '|' || \
         COALESCE(outcome, '') || '|' || COALESCE(CAST(recovered_fen AS TEXT), '') || '|' || year || '|' || \
         CASE WHEN closed_at IS NULL THEN 'open' ELSE 'closed' END || '|' || COALESCE(category, '') || '|' || \
         COALESCE(CAST(filed_on AS TEXT), '') || '|' || COALESCE(CAST(month AS TEXT), '') || '|' || \
         COALESCE(CAST(accepted_on AS TEXT), '') || '|' || COALESCE(CAST(accept_wd AS TEXT), '') || '|' || \
         COALESCE(CAST(close_wd AS TEXT), '') || '|' || COALESCE(CAST(closed_month AS TEXT), '') || '|' || \
         COALESCE(CAST(counted_fen AS TEXT), '') FROM complaints",
    )
    .await);
    add(texts(
        db,
        "SELECT matter_number || '#notice|' || what || '|' || zh || '|' || en \
         FROM complaint_notices ORDER BY id",
    )
    .await);
    add(texts(
        db,
        "SELECT target_id || '#audit|' || action || '|' || actor_kind || '|' || actor_name || '|' || \
         COALESCE(CAST(before_state AS TEXT), '') || '|' || COALESCE(CAST(after_state AS TEXT), '') \
         FROM audit_log WHERE target_kind IN ('matter', 'complaint') ORDER BY id",
    )
    .await);
    // Events by the matter number in their payload; the matter's id left out.
    let events = texts(
        db,
        "SELECT kind || '|' || CAST(public AS TEXT) || '|' || COALESCE(division, '') || '|' || \
         COALESCE(uscc, '') || '|' || payload FROM events ORDER BY timepoint",
    )
    .await;
    for e in events {
        let v: serde_json::Value = serde_json::from_str(e.splitn(5, '|').nth(4).unwrap()).unwrap();
        let Some(number) = v["number"].as_str() else {
            continue;
        };
        let stripped = e.replace(&format!("\"id\":{}", v["id"]), "\"id\":I");
        out.entry(number.to_string())
            .or_default()
            .push(format!("event|{stripped}"));
    }
    // A matter's audit entries and events are compared as sets: the course writes the
    // matter's before the filing's.
    for rows in out.values_mut() {
        let (mut logged, other): (Vec<String>, Vec<String>) = rows
            .drain(..)
            .partition(|r| r.starts_with("event|") || r.starts_with("audit|"));
        logged.sort();
        *rows = other.into_iter().chain(logged).collect();
    }
    out
}

async fn counters(db: &Db) -> Vec<String> {
    texts(
        db,
        "SELECT division || '|' || month || '|' || received || '|' || accepted || '|' || \
         accept_wd_sum || '|' || closed || '|' || close_wd_sum || '|' || close_wd_n || '|' || \
         recovered_fen FROM complaint_monthly ORDER BY division, month",
    )
    .await
}

async fn run(db: &Db, dir: &Directory, mode: Mode, count: u64) -> u64 {
    demo::generate(
        db,
        dir,
        &DemoSpec {
            count,
            year: 2025,
            seed: 7,
            batch: 40,
            mode,
        },
        &|_| {},
    )
    .await
    .unwrap()
    .generated
}

#[tokio::test]
async fn the_course_writes_what_the_calls_one_by_one_write() {
    let list = businesses();
    let dir = Directory(list.clone());
    for b in backends() {
        let mut dbs = Vec::new();
        for _ in 0..2 {
            let t = TestDb::with_sets(b, &sets()).await;
            let mut tx = t.db.begin().await.unwrap();
            // A third of the businesses take part in ODR.
            for x in list.iter().step_by(3) {
                store::set_odr(
                    &mut tx,
                    &x.uscc,
                    &x.name,
                    &x.division,
                    true,
                    NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
                    "test",
                )
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
            dbs.push(t);
        }
        let (reference, course) = (&dbs[0].db, &dbs[1].db);
        amr_consumer::complaint::load_calendar(reference)
            .await
            .unwrap();
        assert_eq!(run(reference, &dir, Mode::Stepwise, 300).await, 300);
        assert_eq!(run(course, &dir, Mode::Course, 300).await, 300);
        let (want, got) = (snapshot(reference).await, snapshot(course).await);
        assert_eq!(got.len(), want.len(), "{b:?}");
        assert!(want.len() > 250, "{b:?}: {} matters", want.len());
        for (number, rows) in &want {
            assert_eq!(got.get(number), Some(rows), "{b:?} {number}");
        }
        assert_eq!(counters(course).await, counters(reference).await, "{b:?}");
        // The draws cover the shapes: ODR settled and refused, accepted and closed, left
        // open, declined, reports and requests for help.
        let all: Vec<&String> = want.values().flatten().collect();
        for shape in [
            "timeline|transition|demo-business|odr_settle|",
            "timeline|transition|demo-business|odr_refuse|",
            "timeline|transition|demo-officer|close|",
            "timeline|transition|demo-officer|answer|",
            "timeline|transition|demo-officer|check|",
        ] {
            assert!(
                all.iter().any(|r| r.starts_with(shape)),
                "{b:?}: no {shape}"
            );
        }
        // The same seed again: every filing is a duplicate of an open one or a new number,
        // as in the reference.
        let before = snapshot(course).await.len();
        run(course, &dir, Mode::Course, 300).await;
        run(reference, &dir, Mode::Stepwise, 300).await;
        let (want, got) = (snapshot(reference).await, snapshot(course).await);
        assert_eq!(got.len(), want.len(), "{b:?}: the rerun");
        assert!(got.len() >= before, "{b:?}");
    }
}
