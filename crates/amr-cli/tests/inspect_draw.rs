//! `amr inspect draw` as a user runs it: against a demo province with a small library, the
//! bundle it writes verifies with the engine and the same seed gives the same bundle; bad
//! plans and seeds exit 2 with the reason Chinese first.

use std::path::Path;
use std::process::Command;

use amr_kernel::db::Db;
use amr_kernel::on_conn;
use serde_json::json;

fn amr(url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amr"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AMR_") {
            c.env_remove(k);
        }
    }
    c.env("AMR_LOG", "warn").args(["--database-url", url]);
    c
}

/// Two departments with an item each and three inspectors each across Shandong.
async fn library(url: &str) {
    let db = Db::connect(url).await.unwrap();
    let now = chrono::Utc::now();
    let expiry = chrono::NaiveDate::from_ymd_opt(2030, 12, 31).unwrap();
    for (dept, domain, item) in [("D01", "DM01", "I001"), ("D02", "DM02", "I002")] {
        on_conn!(&db, c => {
            sqlx::query("INSERT INTO insp_departments (code, name, name_en, created_at, updated_at) VALUES ($1, $1, $1, $2, $2)")
                .bind(dept).bind(now).execute(c).await.unwrap();
            sqlx::query("INSERT INTO insp_domains (code, department, name) VALUES ($1, $2, $1)")
                .bind(domain).bind(dept).execute(c).await.unwrap();
            sqlx::query("INSERT INTO insp_items (code, department, domain, name, legal_basis, target_type, method, list, population, frequency, updated_at) \
                         VALUES ($1, $2, $3, $1, '-', 'enterprise', '-', 'general', '', '-', $4)")
                .bind(item).bind(dept).bind(domain).bind(now).execute(c).await.unwrap();
            for n in 1..=3 {
                sqlx::query("INSERT INTO insp_inspectors (id, department, name, jurisdiction, qualifications, certificate_no, certificate_expiry, updated_at) \
                             VALUES ($1, $2, $1, '37', $3, $1, $4, $5)")
                    .bind(format!("{dept}-{n}")).bind(dept).bind(json!([domain]).to_string())
                    .bind(expiry).bind(now).execute(c).await.unwrap();
            }
        });
    }
    db.close().await;
}

fn write_plan(path: &Path, scope: &str) {
    let plan = json!({
        "format": "amr-inspection-plan/1",
        "name": "CLI 测试计划",
        "period": "2026",
        "scope": scope,
        "inspection_start": "2026-03-01",
        "inspection_end": "2026-11-30",
        "ratios": {"A": 0.05, "B": 0.05, "C": 0.1, "D": 0.2},
        "inspectors_per_department": 2,
        "workload_cap": 1000,
        "public_value_source": null,
        "tasks": [
            {"id": "T01", "name": "一", "department": "D01", "items": ["I001"], "population": "*"},
            {"id": "T02", "name": "二", "department": "D02", "items": ["I002"], "population": "type:enterprise"}
        ]
    });
    std::fs::write(path, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
}

#[tokio::test]
async fn draw_writes_a_bundle_that_verifies_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("amr.db").display());
    let demo = amr(&url)
        .args([
            "demo",
            "--entities",
            "3000",
            "--seed",
            "1",
            "--no-addresses",
        ])
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    library(&url).await;
    let plan = dir.path().join("plan.json");
    write_plan(&plan, "37");
    let seed = "ab".repeat(32);
    let out1 = dir.path().join("b1.json");
    let o = amr(&url)
        .args(["inspect", "draw", "--plan"])
        .arg(&plan)
        .args(["--seed", &seed, "--out"])
        .arg(&out1)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("联合比例 (joint ratio)"), "{stdout}");
    let bundle = amr_supervision::draw::read_bundle(std::fs::File::open(&out1).unwrap()).unwrap();
    assert!(bundle.targets.len() > 1000, "the demo's active entities");
    assert_eq!(bundle.seed.seed, seed);
    // The demo's own library (its inspectors) plus the test's six.
    assert!(
        bundle
            .inspectors
            .iter()
            .filter(|i| i.id.starts_with("D0"))
            .count()
            >= 6
    );
    assert!(!bundle.visits.is_empty());
    let report = amr_supervision::draw::verify(&bundle, &|_| {});
    assert!(report.ok, "{report:?}");

    // The same seed gives the same bundle, byte for byte.
    let out2 = dir.path().join("b2.json");
    let o = amr(&url)
        .args(["inspect", "draw", "--plan"])
        .arg(&plan)
        .args(["--seed", &seed, "--out"])
        .arg(&out2)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(std::fs::read(&out1).unwrap(), std::fs::read(&out2).unwrap());

    // Bad input: exit 2, Chinese first.
    let o = amr(&url)
        .args(["inspect", "draw", "--plan"])
        .arg(&plan)
        .args(["--seed", "xyz", "--out"])
        .arg(dir.path().join("b3.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("种子应为 64 位十六进制数"));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, b"{\"format\": \"something\"}").unwrap();
    let o = amr(&url)
        .args(["inspect", "draw", "--plan"])
        .arg(&bad)
        .args(["--seed", &seed, "--out"])
        .arg(dir.path().join("b4.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("计划文件格式有误"));
    assert!(!dir.path().join("b4.json").exists());
}

/// The plan the repository ships draws against the demo it names (`amr demo --entities 20000
/// --seed 1`, the library and risk classes included), with joint visits, every visit staffed,
/// and the bundle verifies with `amr inspect verify` (exit 0), while a changed sample fails it.
#[test]
fn the_shipped_example_plan_draws_against_the_demo_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("amr.db").display());
    let demo = amr(&url)
        .args([
            "demo",
            "--entities",
            "20000",
            "--seed",
            "1",
            "--no-addresses",
        ])
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inspection-plan.json");
    let out = dir.path().join("bundle.json");
    let o = amr(&url)
        .args(["inspect", "draw", "--plan"])
        .arg(&plan)
        .args(["--seed", &"5a".repeat(32), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let report = &bundle["report"];
    assert!(report["coordinated"]["joint_visits"].as_f64().unwrap() > 0.0);
    assert!(
        report["coordinated"]["joint_ratio"].as_f64().unwrap()
            > report["independent"]["joint_ratio"].as_f64().unwrap()
    );
    assert_eq!(report["unstaffed_visits"], 0);
    let v = amr(&url)
        .args(["inspect", "verify", "--quiet"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    // One sampled entity swapped for another target: verification fails.
    let mut bad = bundle.clone();
    let sampled: Vec<String> = bad["samples"][0]["sampled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    let other = bad["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["uscc"].as_str().unwrap().to_string())
        .find(|u| !sampled.contains(u))
        .unwrap();
    bad["samples"][0]["sampled"][0] = serde_json::Value::String(other);
    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, serde_json::to_vec(&bad).unwrap()).unwrap();
    let v = amr(&url)
        .args(["inspect", "verify", "--quiet"])
        .arg(&bad_path)
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(1));
}
