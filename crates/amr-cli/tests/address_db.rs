//! `amr address check`, `amr address library import` and `amr address risk rebuild` as a user
//! runs them, on an SQLite file; and the demo province's standard address library.

use std::io::Write;
use std::process::{Command, Output, Stdio};

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

fn run(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn import_a_library_then_check_addresses_against_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/amr.db", dir.path().display());
    let csv = dir.path().join("jinan.csv");
    std::fs::write(
        &csv,
        "地址,地址类型\n历下区泉城路180号齐鲁国际大厦,商业\n历下区泉城路\n历下区泉城路188号,\n",
    )
    .unwrap();
    let mut cmd = amr(&db);
    cmd.args(["address", "library", "import"])
        .arg(&csv)
        .args(["--city", "3701"]);
    let out = run(cmd, "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a refused row: exit 2; {stderr}"
    );
    assert!(
        stderr.contains("第 2 行") && stderr.contains("门牌号"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("新增 2"));

    let mut cmd = amr(&db);
    cmd.args(["address", "check", "--hint", "3701"]);
    let out = run(cmd, "历下区泉城路180号齐鲁国际大厦10楼\n泉城路186号\n\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["outcome"], "accepted_standard");
    assert_eq!(lines[0]["parsed"]["county_code"], "370102");
    assert_eq!(lines[0]["standard"]["address_type"], "商业");
    assert_eq!(lines[1]["outcome"], "needs_commitment");
    assert_eq!(lines[1]["nearest"][0]["entry"]["road_no"], "188号");
    assert_eq!(lines[2]["error"]["field"], "address");

    // A bad hint or city is refused before anything is read or written.
    let mut cmd = amr(&db);
    cmd.args(["address", "check", "--hint", "37x"]);
    let out = run(cmd, "泉城路1号\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint"));
    let mut cmd = amr(&db);
    cmd.args(["address", "library", "import"])
        .arg(&csv)
        .args(["--city", "37"]);
    let out = run(cmd, "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 位地级市代码"));
}

#[test]
fn the_demo_has_a_library_and_risk_counts_and_rebuild_recounts() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/amr.db", dir.path().display());
    let mut cmd = amr(&db);
    cmd.args(["demo", "--entities", "400"]);
    let out = run(cmd, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut cmd = amr(&db);
    cmd.args(["address", "risk", "rebuild"]);
    let out = run(cmd, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("已统计 400 户"));

    // Most demo domiciles are standard addresses; about one in ten is left for commitment.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addresses: Vec<(String, String)> = rt.block_on(async {
        let d = amr_kernel::db::Db::connect(&db).await.unwrap();
        let list = amr_registry::store::list_scoped(
            &d,
            &amr_kernel::auth::Scope::all(),
            &amr_registry::store::EntityFilter::default(),
            None,
            400,
        )
        .await
        .unwrap();
        d.close().await;
        list.into_iter().map(|e| (e.address, e.division)).collect()
    });
    let input: String = addresses.iter().map(|(a, _)| format!("{a}\n")).collect();
    let mut cmd = amr(&db);
    cmd.args(["address", "check"]);
    let out = run(cmd, &input);
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 400);
    let standard = lines
        .iter()
        .filter(|l| l["outcome"] == "accepted_standard")
        .count();
    let commit = lines
        .iter()
        .filter(|l| l["outcome"] == "needs_commitment")
        .count();
    assert!(standard >= 300, "{standard} of 400 matched");
    assert!(commit >= 10, "{commit} of 400 left for the commitment path");
    assert!(
        lines
            .iter()
            .all(|l| l["risk"]["entity_count"].as_i64().unwrap() >= 1)
    );
}

#[test]
fn the_demo_declares_some_cluster_addresses_and_queues_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/amr.db", dir.path().display());
    let mut cmd = amr(&db);
    cmd.args(["demo", "--entities", "20000", "--seed", "37"]);
    let out = run(cmd, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spec = amr_registry::demo::DemoSpec {
        seed: 37,
        entities: 20_000,
        province: "37".into(),
    };
    let generator = amr_registry::demo::Generator::new(spec).unwrap();
    let sites = generator.cluster_sites().to_vec();
    let entities: Vec<_> = generator.collect();
    let at = |s: &amr_registry::demo::ClusterSite| {
        entities
            .iter()
            .filter(|e| e.address.starts_with(&s.address))
            .count() as i64
    };
    let key_of = |s: &amr_registry::demo::ClusterSite| {
        let p = amr_address::parse(&s.address, Some(s.division));
        amr_address::risk::risk_key(&p, Some(s.division)).key
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use amr_address::risk;
        use amr_kernel::audit::Actor;
        use amr_kernel::auth::Scope;
        let d = amr_kernel::db::Db::connect(&db).await.unwrap();
        // Every site is counted at one address, whatever room its entities are in (at
        // this size a small county's site may still be empty).
        let mut declared = 0;
        for s in sites.iter().filter(|s| at(s) > 0) {
            let a = risk::get(&d, &key_of(s))
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{} not counted", s.address));
            assert_eq!(a.entity_count, at(s), "{}", s.address);
            assert_eq!(a.cluster, s.declared, "{}", s.address);
            declared += usize::from(a.cluster);
        }
        assert!(declared >= 2, "{declared} declared");
        // At 20,000 entities the sites hold a few each (at 100,000, dozens: the generator's
        // tests); with the threshold at 2 the undeclared ones queue, the declared never.
        let mut tx = d.begin().await.unwrap();
        risk::set_threshold(&mut tx, &Actor::system(), 2)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let queue = risk::queue(&d, &Scope::all(), None, 10_000).await.unwrap();
        let queued: std::collections::HashSet<String> =
            queue.iter().map(|a| a.risk_key.clone()).collect();
        let mut undeclared_queued = 0;
        for s in sites.iter().filter(|s| at(s) > 0) {
            let a = risk::get(&d, &key_of(s)).await.unwrap().unwrap();
            if s.declared {
                assert!(!queued.contains(&a.risk_key), "{} queued", s.address);
            } else if a.entity_count > 2 {
                assert!(queued.contains(&a.risk_key), "{} not queued", s.address);
                undeclared_queued += 1;
            }
        }
        assert!(undeclared_queued >= 5, "{undeclared_queued} sites queued");
        // The riskiest addresses of 济南 rank its cluster sites near the top.
        let top = risk::riskiest(&d, &Scope::all(), "3701", 5).await.unwrap();
        let jinan: Vec<String> = sites
            .iter()
            .filter(|s| s.city == "3701")
            .map(key_of)
            .collect();
        assert!(top.iter().any(|a| jinan.contains(&a.risk_key)), "{top:?}");
        d.close().await;
    });
}
