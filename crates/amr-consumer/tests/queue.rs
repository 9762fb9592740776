//! The officers' queue (`store::queue`) against a plain sort of the same rows, on every
//! backend (SQLite always; PostgreSQL when AMR_TEST_PG is set): open complaints of the scope
//! with the bureau (not closed, not with the business in ODR), earliest deadline first, those
//! without a deadline last, ties by id; a page at a time through the cursor with any page
//! size gives the same sequence; the overdue filter and the kind filter as well.

use amr_consumer::complaint::store::{self, QueueCursor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, MigrationSet, kernel_migrations};
use amr_kernel::on_conn;
use amr_kernel::testing::{TestDb, backends};
use chrono::NaiveDate;

fn sets() -> Vec<MigrationSet> {
    vec![kernel_migrations(), amr_consumer::migrations()]
}

/// A row of the test: (id, kind, division, state, due_on, closed).
type Row = (
    i64,
    &'static str,
    &'static str,
    &'static str,
    Option<NaiveDate>,
    bool,
);

fn rows() -> Vec<Row> {
    let divisions = ["370102", "370203", "371002", "370105"];
    (1..=90)
        .map(|i: i64| {
            let due = (i % 5 != 0).then(|| {
                NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() + chrono::Duration::days((i * 7) % 12)
            });
            (
                i,
                if i % 4 == 0 { "report" } else { "complaint" },
                divisions[(i % 4) as usize],
                if i % 11 == 0 { "odr" } else { "received" },
                due,
                i % 7 == 0,
            )
        })
        .collect()
}

/// Inserts the rows in order and gives each its stored id.
async fn load(db: &Db, rows: &mut [Row]) {
    for (i, kind, division, state, due, closed) in rows.iter_mut() {
        *i = on_conn!(db, c => sqlx::query_scalar(
            "INSERT INTO complaints (matter_number, kind, source, division, business_name, \
             complainant_name, phone, purchase, facts, claim, dup_key, state, due_on, odr, \
             consumer_refused, year, created_at, updated_at, closed_at) \
             VALUES ($1, $2, 'api', $3, '商店', '王某', '13800000000', '手机', '事实', '退款', \
             $1, $4, $5, $6, $7, 2026, $8, $8, $9) RETURNING id",
        )
        .bind(format!("TS-2026-{i:06}"))
        .bind(*kind)
        .bind(*division)
        .bind(*state)
        .bind(*due)
        .bind(*state == "odr")
        .bind(false)
        .bind(chrono::Utc::now())
        .bind(closed.then(chrono::Utc::now))
        .fetch_one(c)
        .await
        .unwrap());
    }
}

fn expected(
    rows: &[Row],
    prefix: &str,
    kind: Option<&str>,
    overdue_on: Option<NaiveDate>,
) -> Vec<i64> {
    let mut open: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.5 && r.3 != "odr" && r.2.starts_with(prefix))
        .filter(|r| kind.is_none_or(|k| r.1 == k))
        .filter(|r| overdue_on.is_none_or(|d| r.4.is_some_and(|due| due < d)))
        .collect();
    open.sort_by_key(|r| (r.4.is_none(), r.4, r.0));
    open.iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn the_queue_pages_in_deadline_order_with_none_last() {
    for b in backends() {
        let mut all = rows();
        let t = TestDb::with_sets(b, &sets()).await;
        load(&t.db, &mut all).await;
        let day = NaiveDate::from_ymd_opt(2026, 10, 6).unwrap();
        for (scope, prefix) in [
            (Scope::all(), ""),
            (Scope::prefix("3701"), "3701"),
            (Scope::prefix("370203"), "370203"),
        ] {
            for kind in [None, Some("complaint")] {
                for overdue in [None, Some(day)] {
                    let want = expected(&all, prefix, kind, overdue);
                    assert!(!want.is_empty(), "{b:?} {prefix} {kind:?} {overdue:?}");
                    for limit in [1, 4, 7, 200] {
                        let mut got = Vec::new();
                        let mut after: Option<QueueCursor> = None;
                        loop {
                            let (page, next) =
                                store::queue(&t.db, &scope, kind, overdue, after, limit)
                                    .await
                                    .unwrap();
                            assert!(page.len() as i64 <= limit);
                            got.extend(page.iter().map(|r| r.id));
                            match next {
                                Some(c) => after = Some(c),
                                None => break,
                            }
                        }
                        assert_eq!(
                            got, want,
                            "{b:?} scope {prefix} kind {kind:?} overdue {overdue:?} limit {limit}"
                        );
                    }
                }
            }
        }
    }
}
