//! `amr inspect risk recompute` and `amr inspect risk show` as a user runs them, on an SQLite
//! file holding a small demo province.

use std::process::{Command, Output};

use amr_kernel::db::Db;

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

fn run(mut cmd: Command) -> Output {
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn scalar(db: &str, sql: &'static str) -> (i64, String) {
    let db = Db::connect(db).await.unwrap();
    let out: (i64, String) = amr_kernel::on_conn!(&db, c => sqlx::query_as(sql)
        .fetch_one(c)
        .await
        .unwrap());
    db.close().await;
    out
}

#[tokio::test]
async fn recompute_by_scope_then_everything_then_show() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/amr.db", dir.path().display());
    let mut cmd = amr(&db);
    cmd.args(["demo", "--entities", "400", "--seed", "5", "--no-addresses"]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The demo classifies every live entity; start the command's checks from no rows.
    let (demo_rows, _) = scalar(&db, "SELECT COUNT(*), '' FROM credit_risk").await;
    assert!(demo_rows > 0, "the demo classifies");
    // … and marks about one enterprise in 50 as taking part in ODR.
    let (odr, _) = scalar(&db, "SELECT COUNT(*), '' FROM odr_enterprises").await;
    let (enterprises, _) = scalar(
        &db,
        "SELECT COUNT(*), '' FROM entities WHERE entity_type = 'enterprise'",
    )
    .await;
    assert!(odr > 0 && odr * 10 < enterprises, "{odr} of {enterprises}");
    assert!(text(&out.stdout).contains("ODR enterprises"));
    {
        let conn = amr_kernel::db::Db::connect(&db).await.unwrap();
        amr_kernel::on_conn!(&conn, c => {
            sqlx::query("DELETE FROM credit_risk").execute(c).await.unwrap();
            sqlx::query("DELETE FROM credit_risk_runs").execute(c).await.unwrap();
        });
        conn.close().await;
    }

    // A bad scope is refused before anything is written.
    let mut cmd = amr(&db);
    cmd.args(["inspect", "risk", "recompute", "--scope", "37x"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("scope"), "{}", text(&out.stderr));
    let (runs, _) = scalar(&db, "SELECT COUNT(*), '' FROM credit_risk_runs").await;
    assert_eq!(runs, 0);

    // One city: only its live entities get rows.
    let (jinan, _) = scalar(
        &db,
        "SELECT COUNT(*), '' FROM entities WHERE division LIKE '3701%' AND status <> 'deregistered'",
    )
    .await;
    assert!(jinan > 0);
    let mut cmd = amr(&db);
    cmd.args(["inspect", "risk", "recompute", "--scope", "3701", "--quiet"]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("{jinan} 个主体")),
        "{}",
        text(&out.stdout)
    );
    let (rows, _) = scalar(&db, "SELECT COUNT(*), '' FROM credit_risk").await;
    assert_eq!(rows, jinan);
    let (outside, _) = scalar(
        &db,
        "SELECT COUNT(*), '' FROM credit_risk WHERE division NOT LIKE '3701%'",
    )
    .await;
    assert_eq!(outside, 0);

    // Everything.
    let (live, _) = scalar(
        &db,
        "SELECT COUNT(*), '' FROM entities WHERE status <> 'deregistered'",
    )
    .await;
    let mut cmd = amr(&db);
    cmd.args(["inspect", "risk", "recompute"]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (rows, _) = scalar(&db, "SELECT COUNT(*), '' FROM credit_risk").await;
    assert_eq!(rows, live);
    let (finished, by_class) = scalar(
        &db,
        "SELECT entities, by_class FROM credit_risk_runs WHERE trigger = 'cli' AND finished_at IS NOT NULL",
    )
    .await;
    assert_eq!(finished, live);
    let by: serde_json::Value = serde_json::from_str(&by_class).unwrap();
    let sum: i64 = ["A", "B", "C", "D"]
        .iter()
        .map(|c| by[c].as_i64().unwrap())
        .sum();
    assert_eq!(sum, live);

    // Show an entity on the abnormal list, if the demo has one, else any.
    let (_, uscc) = scalar(
        &db,
        "SELECT 0, r.uscc FROM credit_risk r ORDER BY r.score DESC, r.uscc LIMIT 1",
    )
    .await;
    let mut cmd = amr(&db);
    cmd.args(["inspect", "risk", "show", &uscc]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&uscc) && stdout.contains("类别 (class)"),
        "{stdout}"
    );
    assert!(stdout.contains("暂无数据来源"), "{stdout}");

    // An unknown entity: exit 1; a malformed code: exit 2.
    let unknown = amr_kernel::codes::uscc::Uscc::generate(
        amr_kernel::codes::uscc::RegistrationType::Enterprise,
        "370102",
        &mut rand::rng(),
    )
    .unwrap()
    .to_string();
    let mut cmd = amr(&db);
    cmd.args(["inspect", "risk", "show", &unknown]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let mut cmd = amr(&db);
    cmd.args(["inspect", "risk", "show", "91370102MA3C4QXX1"]);
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
}
