//! The abnormal list from the command line: `amr abnormal sweep --year Y --decide-late` lists a
//! year's missed reports after a window the server missed (each listing saying it was decided
//! late and why; refused within the window and once done), and `amr serve --today` runs a
//! server on a fixed day (a warning printed; its sweep lists on that day).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use amr_kernel::audit::Actor;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::db::Db;
use amr_registry::model::{EntityType, NewEntity, Status};
use chrono::NaiveDate;

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

fn entity(name: &str, established: &str, status: Status) -> NewEntity {
    NewEntity {
        uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
            .unwrap()
            .to_string(),
        name: name.into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "王建国".into(),
        legal_rep_id: None,
        phone: None,
        capital_yuan: Some(1_000_000),
        established: NaiveDate::parse_from_str(established, "%Y-%m-%d").unwrap(),
        address: "山东省济南市历下区泉城路1号".into(),
        division: "370102001".into(),
        scope: "日用百货销售".into(),
        industry: "5299".into(),
        status,
    }
}

/// A migrated SQLite database with two entities that had to report for 2025 (none filed) and
/// one established in 2026; answers the URL and the codes of the first two.
async fn world(dir: &std::path::Path) -> (String, Vec<String>) {
    let url = format!("sqlite://{}/amr.db", dir.display());
    let out = amr(&url).args(["migrate"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = Db::connect(&url).await.unwrap();
    let a = entity("济南停机示例有限公司", "2020-05-01", Status::Active);
    let b = entity("济南停机歇业示例有限公司", "2021-05-01", Status::Suspended);
    let young = entity("济南新设停机示例有限公司", "2026-02-01", Status::Active);
    let mut tx = db.begin().await.unwrap();
    for e in [&a, &b, &young] {
        amr_registry::store::create(&mut tx, &Actor::system(), e)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    db.close().await;
    let mut usccs = vec![a.uscc, b.uscc];
    usccs.sort();
    (url, usccs)
}

#[tokio::test]
async fn a_missed_window_is_decided_late_by_command() {
    let dir = tempfile::tempdir().unwrap();
    let (url, usccs) = world(dir.path()).await;
    let reason = "2026年6月28日至7月16日系统停机维护，列入决定期限内未能作出";

    // Within the window (1–14 July 2026 for 2025) the daily sweep decides: refused.
    let out = amr(&url)
        .args(["abnormal", "sweep", "--year", "2025", "--decide-late"])
        .args(["--reason", reason, "--today", "2026-07-10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2026-07-14"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without a reason: refused by the command line itself.
    let out = amr(&url)
        .args(["abnormal", "sweep", "--year", "2025", "--decide-late"])
        .args(["--today", "2026-07-20"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // An empty reason: refused, nothing written.
    let out = amr(&url)
        .args(["abnormal", "sweep", "--year", "2025", "--decide-late"])
        .args(["--reason", "  ", "--today", "2026-07-20"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // The daily sweep after the window lists nobody (the date rule).
    let out = amr(&url)
        .args(["abnormal", "sweep", "--today", "2026-07-20"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["listed"], 0, "{v}");

    // The late decision lists the two that had to report, each saying why it is late.
    let out = amr(&url)
        .args(["abnormal", "sweep", "--year", "2025", "--decide-late"])
        .args(["--reason", reason, "--today", "2026-07-20"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["listed"], 2, "{v}");
    assert_eq!(v["decided_late"], true);

    let db = Db::connect(&url).await.unwrap();
    for u in &usccs {
        let l = amr_registry::abnormal::store::for_entity(&db, u)
            .await
            .unwrap();
        assert_eq!(l.len(), 1, "{u}");
        assert_eq!(l[0].ground, "no_annual_report");
        assert_eq!(l[0].year, Some(2025));
        assert_eq!(l[0].listed_on.to_string(), "2026-07-20");
        let late = l[0].late_reason.as_deref().unwrap();
        assert!(
            late.contains(reason) && late.contains("2026-07-14"),
            "{late}"
        );
        assert!(l[0].listed_by.starts_with("cli:"), "{}", l[0].listed_by);
        assert_eq!(l[0].public()["decided_late"], true);
    }
    db.close().await;

    // Done once: a second late decision is refused.
    let out = amr(&url)
        .args(["abnormal", "sweep", "--year", "2025", "--decide-late"])
        .args(["--reason", reason, "--today", "2026-07-21"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("完成"));
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    Some(buf)
}

#[tokio::test]
async fn serve_with_a_fixed_day_warns_and_sweeps_on_that_day() {
    let dir = tempfile::tempdir().unwrap();
    let (url, usccs) = world(dir.path()).await;
    // A malformed day stops the start with the setting named.
    let out = amr(&url)
        .args(["serve", "--today", "2026-13-01", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("today"));

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // The day through the environment (AMR_TODAY), as a training server is set up.
    let mut child = amr(&url)
        .env("AMR_TODAY", "2026-07-01")
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut listed = String::new();
    while std::time::Instant::now() < deadline {
        if let Some(r) = http_get(port, "/api/v1/abnormal")
            && r.starts_with("HTTP/1.1 200")
            && usccs.iter().all(|u| r.contains(u.as_str()))
        {
            listed = r;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2026-07-01"), "{text}");
    assert!(text.contains("warning"), "{text}");
    assert!(!listed.is_empty(), "the server on 1 July listed nobody");
    assert!(listed.contains("\"listed_on\":\"2026-07-01\""), "{listed}");
}
