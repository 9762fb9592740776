//! `amr verify log` and `amr verify consistency` as a user runs them: files fetched from a real
//! server on port 0, then checked offline with the published key; one changed byte of the
//! entry, the proof or a checkpoint makes them fail.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Scope;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::signing::Keyring;
use amr_kernel::testing::{TestDb, backends};
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

/// Runs `amr verify ARGS...`; returns (exit code, stdout+stderr).
fn verify(args: &[&str]) -> (i32, String) {
    let out = amr().arg("verify").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

async fn get(url: &str) -> reqwest::Response {
    let r = reqwest::get(url).await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_verifies_offline_and_one_changed_byte_fails() {
    for b in backends() {
        let t = TestDb::with_sets(b, &amr_server::migration_sets()).await;
        let config = amr_server::ServerConfig {
            search_dir: t.dir().join("search"),
            signing_key_file: t.dir().join("keys").join("signing.key"),
            ..amr_server::ServerConfig::default()
        };
        let running = amr_server::start(amr_server::app_state(t.db.clone(), config), "127.0.0.1:0")
            .await
            .unwrap();
        let base = format!("http://{}", running.addr);

        let e = NewEntity {
            uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
                .unwrap()
                .to_string(),
            name: "济南泉城示例日志科技有限公司".into(),
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
        // The first act gets a checkpoint of its own (size 1) before the second is made, so
        // the consistency proof below has an older tree to start from.
        for _ in 0..200 {
            let size = amr_kernel::translog::store::latest_checkpoint(&t.db)
                .await
                .unwrap()
                .map(|c| c.size)
                .unwrap_or(0);
            if size >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut tx = t.db.begin().await.unwrap();
        store::change(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            &e.uscc,
            &EntityChange {
                scope: Some("软件开发；信息技术咨询服务".into()),
                ..EntityChange::default()
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // Wait for the follower to log both acts.
        let mut size = 0;
        for _ in 0..200 {
            size = amr_kernel::translog::store::latest_checkpoint(&t.db)
                .await
                .unwrap()
                .map(|c| c.size)
                .unwrap_or(0);
            if size >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(size, 2, "{b:?}");

        let dir = t.dir();
        let keys = get(&format!("{base}/api/v1/keys"))
            .await
            .text()
            .await
            .unwrap();
        let key_file = dir.join("keys.json");
        std::fs::write(&key_file, &keys).unwrap();
        let key_arg = format!("@{}", key_file.display());
        let checkpoint = get(&format!("{base}/api/v1/log/checkpoint"))
            .await
            .text()
            .await
            .unwrap();
        let old_checkpoint = get(&format!("{base}/api/v1/log/checkpoint?size=1"))
            .await
            .text()
            .await
            .unwrap();
        let page: serde_json::Value = get(&format!("{base}/api/v1/log/entries?start=0&end=2"))
            .await
            .json()
            .await
            .unwrap();
        let entry = page["entries"][0]["entry"].as_str().unwrap().to_string();
        let proof = get(&format!("{base}/api/v1/log/proof/inclusion?index=0"))
            .await
            .text()
            .await
            .unwrap();
        let consistency = get(&format!("{base}/api/v1/log/proof/consistency?from=1&to=2"))
            .await
            .text()
            .await
            .unwrap();
        running.stop().await.unwrap();

        let (cp_f, entry_f, proof_f) = (
            dir.join("cp.txt"),
            dir.join("entry.json"),
            dir.join("proof.json"),
        );
        let (old_f, cons_f) = (dir.join("old.txt"), dir.join("consistency.json"));
        std::fs::write(&cp_f, &checkpoint).unwrap();
        // As `jq -r .entries[0].entry > entry.json` saves it: with a final newline.
        std::fs::write(&entry_f, format!("{entry}\n")).unwrap();
        std::fs::write(&proof_f, &proof).unwrap();
        std::fs::write(&old_f, &old_checkpoint).unwrap();
        std::fs::write(&cons_f, &consistency).unwrap();
        let log_args = |cp: &Path, en: &Path, pr: &Path, key: &str| -> (i32, String) {
            verify(&[
                "log",
                "--checkpoint",
                p(cp),
                "--entry",
                p(en),
                "--proof",
                p(pr),
                "--key",
                key,
            ])
        };

        let (rc, out) = log_args(&cp_f, &entry_f, &proof_f, &key_arg);
        assert_eq!(rc, 0, "{b:?}: {out}");
        assert!(out.contains("验证通过 (VERIFIED)"), "{out}");
        let (rc, out) = verify(&[
            "consistency",
            p(&old_f),
            p(&cp_f),
            p(&cons_f),
            "--key",
            &key_arg,
        ]);
        assert_eq!(rc, 0, "{out}");

        let bad = dir.join("bad");
        // Bytes of the entry changed (every fifth and the last; the in-process tests of the
        // kernel change every byte): fails.
        for i in (0..entry.len()).step_by(5).chain([entry.len() - 1]) {
            let mut bytes = entry.clone().into_bytes();
            bytes[i] ^= 0x01;
            std::fs::write(&bad, &bytes).unwrap();
            let (rc, out) = log_args(&cp_f, &bad, &proof_f, &key_arg);
            assert_ne!(rc, 0, "entry byte {i} changed still verifies: {out}");
        }
        // Every byte of the checkpoint's body and every fourth of its signature line, changed:
        // fails (log and consistency).
        let body_len = checkpoint.find("\n\n").unwrap() + 2;
        for i in (0..checkpoint.len()).filter(|i| *i < body_len || i.is_multiple_of(4)) {
            let mut bytes = checkpoint.clone().into_bytes();
            bytes[i] ^= 0x01;
            std::fs::write(&bad, &bytes).unwrap();
            let (rc, out) = log_args(&bad, &entry_f, &proof_f, &key_arg);
            assert_ne!(rc, 0, "checkpoint byte {i} changed still verifies: {out}");
            let (rc, _) = verify(&[
                "consistency",
                p(&old_f),
                p(&bad),
                p(&cons_f),
                "--key",
                &key_arg,
            ]);
            assert_ne!(rc, 0, "checkpoint byte {i}");
        }
        // Every third character of the proofs' hashes, changed: exit 1.
        for (json, is_log) in [(&proof, true), (&consistency, false)] {
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            let hs = v["hashes"].as_array().unwrap();
            assert!(!hs.is_empty());
            for (hi, h) in hs.iter().enumerate() {
                let h = h.as_str().unwrap();
                for ci in (0..h.len() - 1).step_by(3) {
                    let mut chars: Vec<char> = h.chars().collect();
                    chars[ci] = if chars[ci] == 'A' { 'B' } else { 'A' };
                    let mut w = v.clone();
                    w["hashes"][hi] = serde_json::json!(chars.iter().collect::<String>());
                    std::fs::write(&bad, w.to_string()).unwrap();
                    let (rc, out) = if is_log {
                        log_args(&cp_f, &entry_f, &bad, &key_arg)
                    } else {
                        verify(&[
                            "consistency",
                            p(&old_f),
                            p(&cp_f),
                            p(&bad),
                            "--key",
                            &key_arg,
                        ])
                    };
                    assert_eq!(rc, 1, "hash {hi} char {ci}: {out}");
                    assert!(out.contains("验证失败"), "{out}");
                }
            }
        }
        // Another leaf's index, another tree size: exit 1.
        let mut v: serde_json::Value = serde_json::from_str(&proof).unwrap();
        v["index"] = serde_json::json!(1);
        std::fs::write(&bad, v.to_string()).unwrap();
        assert_eq!(log_args(&cp_f, &entry_f, &bad, &key_arg).0, 1);
        let (rc, out) = log_args(&old_f, &entry_f, &proof_f, &key_arg);
        assert_eq!(
            rc, 1,
            "a proof for size 2 against the checkpoint of size 1: {out}"
        );
        // The old and new checkpoints swapped: exit 1.
        let (rc, _) = verify(&[
            "consistency",
            p(&cp_f),
            p(&old_f),
            p(&cons_f),
            "--key",
            &key_arg,
        ]);
        assert_eq!(rc, 1);
        // Another key: exit 1.
        let stranger = Keyring::from_secret([77u8; 32]);
        let other = amr_kernel::signing::encode_public_key(&stranger.verifying_key());
        let (rc, out) = log_args(&cp_f, &entry_f, &proof_f, &other);
        assert_eq!(rc, 1, "{out}");
        assert!(out.contains("没有所给公钥的签名"), "{out}");
        // Bad input: exit 2.
        let (rc, out) = log_args(&cp_f, &dir.join("missing"), &proof_f, &key_arg);
        assert_eq!(rc, 2, "{out}");
        std::fs::write(&bad, "not json").unwrap();
        assert_eq!(log_args(&cp_f, &entry_f, &bad, &key_arg).0, 2);
    }
}
