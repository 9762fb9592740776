//! The exchange from the command line, as an operator and an auditor run it: `amr agency-sim`
//! as its own process (checks AMR's signature, applies each idempotency key once, counts
//! duplicates), `amr exchange agency add`, deliveries made and sent, `amr exchange export`,
//! and `amr verify exchange` offline: it accepts the export and rejects it after one byte of a
//! signed text or of a signature is changed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use amr_exchange::delivery::{self, DeliveryFollower, SenderOptions};
use amr_kernel::db::Db;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::signing::Keyring;

fn amr(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amr"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AMR_") {
            c.env_remove(k);
        }
    }
    c.env("AMR_LOG", "warn")
        .env(
            "AMR_DATABASE_URL",
            format!("sqlite://{}/amr.db", dir.display()),
        )
        .env("AMR_SIGNING_KEY_FILE", dir.join("keys").join("signing.key"));
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_simulator_the_export_and_the_offline_check() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The deployment's key, published; its JSON is what `GET /api/v1/keys` serves.
    let (code, out, err) = run(amr(dir).args(["signing-key", "show"]));
    assert_eq!(code, 0, "{err}");
    let keys_file = dir.join("keys.json");
    std::fs::write(&keys_file, &out).unwrap();

    // The simulator, its own process.
    let port = free_port();
    let mut child = amr(dir)
        .args([
            "agency-sim",
            "--port",
            &port.to_string(),
            "--name",
            "tax",
            "--key-file",
        ])
        .arg(&keys_file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _sim = Sim(child);
    let mut public_key = String::new();
    for _ in 0..3 {
        let l = lines.next().unwrap().unwrap();
        if let Some(k) = l.strip_prefix("公钥 (public key): ") {
            public_key = k.trim().to_string();
        }
    }
    assert_eq!(public_key.len(), 44, "the simulator prints its key");
    let endpoint = format!("http://127.0.0.1:{port}/");

    // Registered from the command line; a bad one is refused with its field.
    let (code, _, err) = run(amr(dir).args([
        "exchange",
        "agency",
        "add",
        "--name",
        "tax",
        "--kind",
        "tax",
        "--endpoint",
        &endpoint,
        "--subscribe",
        "registry.suspension.",
        "--public-key",
        &public_key,
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(amr(dir).args([
        "exchange",
        "agency",
        "add",
        "--name",
        "tax2",
        "--kind",
        "tax",
        "--endpoint",
        "ftp://x",
        "--subscribe",
        "registry.",
        "--public-key",
        &public_key,
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("接收地址"), "{err}");

    // Two events for the agency, made into deliveries and sent by the library's workers.
    let db = Db::connect(&format!("sqlite://{}/amr.db", dir.display()))
        .await
        .unwrap();
    let keys = Arc::new(
        Keyring::open(&db, &dir.join("keys").join("signing.key"))
            .await
            .unwrap(),
    );
    let mut tx = db.begin().await.unwrap();
    for _ in 0..2 {
        events::append(
            &mut tx,
            NewEvent::internal(
                "registry.suspension.filed",
                json!({"uscc": "91370102MA3C4XYZ1A", "agency_fields": {"tax": {"tax_last_period": "2026-10", "invoices_settled": true}}}),
            )
            .division("370102"),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let n =
        amr_kernel::events::runner::run_once(&db, &DeliveryFollower { keys: keys.clone() }, 100)
            .await
            .unwrap();
    assert!(n >= 2);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(delivery::run_sender(
        db.clone(),
        SenderOptions {
            base_backoff: Duration::from_millis(30),
            poll: Duration::from_millis(30),
            ..SenderOptions::default()
        },
        rx,
    ));
    let mut done = false;
    for _ in 0..200 {
        if delivery::counts(&db).await.unwrap() == vec![("done".to_string(), 2)] {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    sender.await.unwrap();
    assert!(done, "{:?}", delivery::counts(&db).await.unwrap());

    // The same message again is applied once and counted as a duplicate; a bad signature is
    // refused.
    let (body, key_id, sig): (String, String, String) = amr_kernel::on_conn!(&db, c => sqlx::query_as(
        "SELECT body, key_id, signature FROM exchange_evidence WHERE kind = 'message' ORDER BY id LIMIT 1")
        .fetch_one(c).await.unwrap());
    let http = reqwest::Client::new();
    let resp = http
        .post(&endpoint)
        .header("x-amr-key-id", &key_id)
        .header("x-amr-signature", &sig)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = http
        .post(&endpoint)
        .header("x-amr-key-id", &key_id)
        .header("x-amr-signature", &sig)
        .body(body.replace("registry", "Registry"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let stats: Value = http
        .get(format!("{endpoint}stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["applied"], 2, "{stats}");
    assert_eq!(stats["duplicates"], 1, "{stats}");
    assert_eq!(stats["bad_signature"], 1, "{stats}");
    db.close().await;

    // Export and verify offline.
    let (code, export, err) = run(amr(dir).args(["exchange", "export", "--agency", "tax"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        export.lines().count(),
        1 + 2 + 2,
        "bundle line, 2 messages, 2 answers: {export}"
    );
    let file = dir.join("evidence.jsonl");
    std::fs::write(&file, &export).unwrap();
    let verify = |f: &Path| {
        run(amr(dir)
            .args(["verify", "exchange"])
            .arg(f)
            .arg("--keys")
            .arg(&keys_file))
    };
    let (code, out, err) = verify(&file);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("全部签名有效"), "{out}");

    // One byte of a signed message changed.
    let tampered = dir.join("tampered.jsonl");
    let mut lines: Vec<String> = export.lines().map(str::to_string).collect();
    lines[1] = lines[1].replacen("suspension", "suspensiom", 1);
    std::fs::write(&tampered, lines.join("\n")).unwrap();
    let (code, out, err) = verify(&tampered);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("第 2 行"), "{err}");
    // One byte of an answer's signature changed.
    let mut lines: Vec<String> = export.lines().map(str::to_string).collect();
    let v: Value = serde_json::from_str(&lines[4]).unwrap();
    let sig = v["signature"].as_str().unwrap();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('A') { "B" } else { "A" },
        &sig[1..]
    );
    lines[4] = lines[4].replace(sig, &flipped);
    std::fs::write(&tampered, lines.join("\n")).unwrap();
    let (code, _, err) = verify(&tampered);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("第 5 行"), "{err}");
    // Against another deployment's keys nothing of ours verifies.
    let other = dir.join("other-keys.json");
    std::fs::write(
        &other,
        amr_kernel::signing::encode_public_key(&Keyring::from_secret([9; 32]).verifying_key()),
    )
    .unwrap();
    let (code, _, _) = run(amr(dir)
        .args(["verify", "exchange"])
        .arg(&file)
        .arg("--keys")
        .arg(&other));
    assert_eq!(code, 1);
}
