//! `amr verify enterprise-code` as a user runs it: offline with the published key, and with
//! `--status-url` against a real server on port 0.

use std::process::Command;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Scope;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::db::Backend;
use amr_kernel::signing::Keyring;
use amr_kernel::testing::TestDb;
use amr_registry::licence::code::EnterpriseCode;
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store::{self, EntityChange};

fn amr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amr"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AMR_") {
            c.env_remove(k);
        }
    }
    c.env("AMR_LOG", "warn");
    c
}

/// Runs `amr verify enterprise-code` off the async runtime; returns (exit code, stdout+stderr).
async fn verify(args: Vec<String>) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let out = amr()
            .args(["verify", "enterprise-code"])
            .args(&args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    })
    .await
    .unwrap()
}

async fn change(db: &amr_kernel::db::Db, uscc: &str, ch: EntityChange) {
    let mut tx = db.begin().await.unwrap();
    store::change(&mut tx, &Actor::system(), &Scope::all(), uscc, &ch)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_exits_0_only_for_an_authentic_and_current_code() {
    let t = TestDb::with_sets(Backend::Sqlite, &amr_server::migration_sets()).await;
    let config = amr_server::ServerConfig {
        search_dir: t.dir().join("search"),
        signing_key_file: t.dir().join("keys").join("signing.key"),
        ..amr_server::ServerConfig::default()
    };
    let state = amr_server::app_state(t.db.clone(), config);
    let running = amr_server::start(state, "127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", running.addr);

    let e = NewEntity {
        uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
            .unwrap()
            .to_string(),
        name: "济南泉城示例科技有限公司".into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "王建国".into(),
        legal_rep_id: None,
        phone: None,
        capital_yuan: Some(1_000_000),
        established: chrono::NaiveDate::from_ymd_opt(2020, 1, 2).unwrap(),
        address: "山东省济南市历下区泉城路1号".into(),
        division: "370102001".into(),
        scope: "软件开发".into(),
        industry: "6513".into(),
        status: Status::Active,
    };
    let mut tx = t.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), &e).await.unwrap();
    tx.commit().await.unwrap();

    let http = reqwest::Client::new();
    let keys: serde_json::Value = http
        .get(format!("{base}/api/v1/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key_b64 = keys["keys"][0]["public_key"].as_str().unwrap().to_string();
    let key_hex = keys["keys"][0]["public_key_hex"]
        .as_str()
        .unwrap()
        .to_string();
    let code: serde_json::Value = http
        .get(format!("{base}/api/v1/entities/{}/code", e.uscc))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payload = code["payload"].as_str().unwrap().to_string();
    let url = code["url"].as_str().unwrap().to_string();
    let keys_file = t.dir().join("keys.json");
    std::fs::write(&keys_file, keys.to_string()).unwrap();

    // Offline: the payload or the scanned address, with the key in every published form.
    for (what, key) in [
        ("base64", key_b64.clone()),
        ("hex", key_hex.clone()),
        ("keys JSON", keys.to_string()),
        ("@file", format!("@{}", keys_file.display())),
    ] {
        let (rc, out) = verify(vec![payload.clone(), "--key".into(), key]).await;
        assert_eq!(rc, 0, "{what}: {out}");
        assert!(
            out.contains("真实 (AUTHENTIC)") && out.contains(&e.name),
            "{out}"
        );
    }
    let (rc, _) = verify(vec![url.clone(), "--key".into(), key_b64.clone()]).await;
    assert_eq!(rc, 0);

    // Another key, a forged code, a tampered code: exit 1.
    let stranger = Keyring::from_secret([77u8; 32]);
    let stranger_key = amr_kernel::signing::encode_public_key(&stranger.verifying_key());
    let (rc, out) = verify(vec![payload.clone(), "--key".into(), stranger_key]).await;
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("不真实 (NOT AUTHENTIC)"), "{out}");
    let decoded = EnterpriseCode::decode(&payload).unwrap();
    let forged = EnterpriseCode::sign(decoded.claims.clone(), &stranger)
        .unwrap()
        .encode();
    let (rc, _) = verify(vec![forged, "--key".into(), key_b64.clone()]).await;
    assert_eq!(rc, 1);
    let mut tampered = decoded.clone();
    tampered.claims.name = "济南泉城示例科技有限公司分公司".into();
    let (rc, _) = verify(vec![tampered.encode(), "--key".into(), key_b64.clone()]).await;
    assert_eq!(rc, 1);

    // Bad input: exit 2 with the reason, Chinese first.
    let (rc, out) = verify(vec!["!!!".into(), "--key".into(), key_b64.clone()]).await;
    assert_eq!(rc, 2, "{out}");
    assert!(out.contains("码含有非 base64url 字符"), "{out}");
    let (rc, out) = verify(vec![payload.clone(), "--key".into(), "nope".into()]).await;
    assert_eq!(rc, 2);
    assert!(out.contains("公钥格式不对"), "{out}");

    // With --status-url: current → 0.
    let with_status = |p: &str| {
        vec![
            p.to_string(),
            "--key".into(),
            key_b64.clone(),
            "--status-url".into(),
            base.clone(),
        ]
    };
    let (rc, out) = verify(with_status(&payload)).await;
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("现行有效 (CURRENT)"), "{out}");
    // A {uscc} template works too.
    let (rc, _) = verify(vec![
        payload.clone(),
        "--key".into(),
        key_b64.clone(),
        "--status-url".into(),
        format!("{base}/api/v1/entities/{{uscc}}/code"),
    ])
    .await;
    assert_eq!(rc, 0);

    // Changed: the old code is authentic but no longer current → 1.
    change(
        &t.db,
        &e.uscc,
        EntityChange {
            scope: Some("软件开发；信息技术咨询服务".into()),
            ..EntityChange::default()
        },
    )
    .await;
    let (rc, out) = verify(with_status(&payload)).await;
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("已变更") && out.contains("真实 (AUTHENTIC)"),
        "{out}"
    );
    // Offline it is still authentic.
    let (rc, _) = verify(vec![payload.clone(), "--key".into(), key_b64.clone()]).await;
    assert_eq!(rc, 0);
    let new_payload: serde_json::Value = http
        .get(format!("{base}/api/v1/entities/{}/code", e.uscc))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_payload = new_payload["payload"].as_str().unwrap().to_string();
    let (rc, _) = verify(with_status(&new_payload)).await;
    assert_eq!(rc, 0);

    // Deregistered → 1.
    change(
        &t.db,
        &e.uscc,
        EntityChange {
            status: Some(Status::Deregistered),
            ..EntityChange::default()
        },
    )
    .await;
    let (rc, out) = verify(with_status(&new_payload)).await;
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("已注销"), "{out}");

    running.stop().await.unwrap();
    // An unreachable status address is an error (2), not a verdict.
    let (rc, out) = verify(with_status(&new_payload)).await;
    assert_eq!(rc, 2, "{out}");
    assert!(out.contains("无法读取登记记录"), "{out}");
}

#[test]
fn signing_key_show_creates_a_private_key_file_and_rotate_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/amr.db", dir.path().display());
    let show = || {
        amr()
            .args(["--database-url", &db, "signing-key", "show"])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = show();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = v["key_file_id"].as_str().unwrap().to_string();
    assert_eq!(v["keys"].as_array().unwrap().len(), 1);
    let key_file = dir.path().join("data/keys/signing.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = amr()
        .args(["--database-url", &db, "signing-key", "rotate"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&show().stdout).unwrap();
    assert_ne!(v["key_file_id"], first.as_str());
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let old = keys.iter().find(|k| k["id"] == first.as_str()).unwrap();
    assert_eq!(old["status"], "retired");
}
