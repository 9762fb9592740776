//! `amr demo` writes last year's annual reports (most entities that had to report filed, the
//! rest not; the same ones on every run), and the abnormal list's sweep on the decision day
//! lists exactly the ones without a report.

use std::process::Command;

use amr_kernel::calendar::Calendar;
use amr_kernel::db::Db;
use chrono::Datelike;

fn amr(db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amr"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AMR_") {
            c.env_remove(k);
        }
    }
    c.env("AMR_LOG", "warn").args(["--database-url", db]);
    c
}

async fn count(db: &Db, sql: &'static str, year: i32) -> i64 {
    amr_kernel::on_conn!(db, c => sqlx::query_scalar::<_, i64>(sql)
        .bind(year)
        .fetch_one(c)
        .await
        .unwrap())
}

#[tokio::test]
async fn the_demo_files_most_reports_and_the_sweep_lists_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/amr.db", dir.path().display());
    let out = amr(&url)
        .args(["demo", "--entities", "400", "--seed", "5", "--no-addresses"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let year = amr_registry::model::today_in_china().year() - 1;
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("annual reports for {year}")));

    let db = Db::connect(&url).await.unwrap();
    let due_sql = "SELECT COUNT(*) FROM entities WHERE status IN ('active', 'suspended') \
                   AND established <= $1 || '-12-31'";
    let due = count(&db, due_sql, year).await;
    let filed = count(
        &db,
        "SELECT COUNT(*) FROM annual_reports WHERE year = $1",
        year,
    )
    .await;
    assert!(due > 100, "{due}");
    assert!(
        filed * 10 >= due * 8 && filed < due,
        "{filed} of {due} filed"
    );
    // No report outside the season, none for an entity that did not have to report.
    let odd = count(
        &db,
        "SELECT COUNT(*) FROM annual_reports r JOIN entities e ON e.uscc = r.uscc WHERE r.year = $1 \
         AND (e.established > r.year || '-12-31' OR r.filed_on > (r.year + 1) || '-06-30')",
        year,
    )
    .await;
    assert_eq!(odd, 0);
    db.close().await;

    // A second run keeps the reports as they are.
    let out = amr(&url)
        .args(["demo", "--entities", "400", "--seed", "5", "--no-addresses"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = Db::connect(&url).await.unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM annual_reports WHERE year = $1",
            year
        )
        .await,
        filed
    );

    // The sweep on the decision day lists the others.
    let cal = Calendar::embedded();
    let day = amr_registry::abnormal::rules::decision_day(cal, year).unwrap();
    let o = amr_registry::abnormal::store::sweep(&db, cal, day)
        .await
        .unwrap();
    assert_eq!(o.listed as i64, due - filed);
    db.close().await;
}
