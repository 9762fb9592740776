//! The transparency log through the whole server, on every backend: a registration and a
//! change reach the log by the follower, the signed checkpoint, inclusion and consistency
//! proofs and entries are served publicly and verify offline with the published key; bad
//! parameters are refused with Chinese-first 400s.

mod support;

use std::time::Duration;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Scope;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::events;
use amr_kernel::signing::parse_key_set;
use amr_kernel::translog::{decode_hash, merkle, note};
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store::{self, EntityChange};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::Value;
use support::{TestApp, backends, client};

fn new_entity(name: &str) -> NewEntity {
    NewEntity {
        uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
            .unwrap()
            .to_string(),
        name: name.into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "王建国".into(),
        legal_rep_id: Some("11010519491231002X".into()),
        phone: Some("13912345678".into()),
        capital_yuan: Some(1_000_000),
        established: NaiveDate::from_ymd_opt(2020, 5, 1).unwrap(),
        address: "山东省济南市历下区泉城路1号".into(),
        division: "370102001".into(),
        scope: "日用百货销售".into(),
        industry: "5299".into(),
        status: Status::Active,
    }
}

/// The signed checkpoint once the log holds at least `size` entries.
async fn checkpoint_of_size(app: &TestApp, size: u64) -> String {
    let http = client();
    for _ in 0..200 {
        let r = http
            .get(app.url("/api/v1/log/checkpoint"))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/plain")
            );
            let text = r.text().await.unwrap();
            if note::parse_body(&note::parse_note(&text).unwrap().body)
                .unwrap()
                .size
                >= size
            {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the log did not reach {size} entries");
}

async fn get_json(url: String) -> (StatusCode, Value) {
    let r = client().get(url).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn hashes(v: &Value) -> Vec<merkle::Hash> {
    v["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| decode_hash(h.as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_acts_are_logged_and_every_proof_verifies_with_the_published_key() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        // Before any act: no checkpoint yet.
        let (s, _) = get_json(app.url("/api/v1/log/checkpoint")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{b:?}");

        let e = new_entity("济南泉城示例透明科技有限公司");
        let mut tx = app.db.begin().await.unwrap();
        store::create(&mut tx, &Actor::system(), &e).await.unwrap();
        tx.commit().await.unwrap();
        let old_note = checkpoint_of_size(&app, 1).await;

        let (_, keys) = get_json(app.url("/api/v1/keys")).await;
        let keys = parse_key_set(&keys.to_string()).unwrap();
        let old = note::verify_note(&old_note, &keys).unwrap().checkpoint;
        assert_eq!(
            old.size, 1,
            "{b:?}: only the registration is a public act so far"
        );

        let mut tx = app.db.begin().await.unwrap();
        store::change(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            &e.uscc,
            &EntityChange {
                scope: Some("日用百货销售；文具用品零售".into()),
                ..EntityChange::default()
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let new_note = checkpoint_of_size(&app, 2).await;
        let new = note::verify_note(&new_note, &keys).unwrap().checkpoint;
        assert_eq!(new.size, 2);

        // The registration's leaf, found by its event's timepoint.
        let registered = events::public_after(&app.db, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|ev| ev.kind == "registry.entity.registered")
            .unwrap();
        let (s, leaf) = get_json(app.url(&format!(
            "/api/v1/log/entries/by-timepoint/{}",
            registered.timepoint
        )))
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(leaf["index"], 0);
        let entry = leaf["entry"].as_str().unwrap();
        let ev: Value = serde_json::from_str(entry).unwrap();
        assert_eq!(ev["uscc"], Value::String(e.uscc.clone()));
        assert_eq!(ev["kind"], "registry.entity.registered");
        assert!(!entry.contains("13912345678") && !entry.contains("11010519491231002X"));
        assert_eq!(
            leaf["inclusion_proof"],
            "/api/v1/log/proof/inclusion?index=0"
        );

        // Its inclusion proof against the newest checkpoint, verified offline.
        let (s, proof) = get_json(app.url("/api/v1/log/proof/inclusion?index=0")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(proof["tree_size"], 2);
        let lh = merkle::leaf_hash(entry.as_bytes());
        assert_eq!(decode_hash(proof["leaf_hash"].as_str().unwrap()), Some(lh));
        assert!(merkle::verify_inclusion(
            0,
            2,
            &lh,
            &hashes(&proof),
            &new.root
        ));
        let mut forged = entry.to_string().into_bytes();
        forged[10] ^= 1;
        assert!(!merkle::verify_inclusion(
            0,
            2,
            &merkle::leaf_hash(&forged),
            &hashes(&proof),
            &new.root
        ));
        // Against the older checkpoint, with size=1.
        let (_, p1) = get_json(app.url("/api/v1/log/proof/inclusion?index=0&size=1")).await;
        assert!(merkle::verify_inclusion(0, 1, &lh, &hashes(&p1), &old.root));
        // The kept older checkpoint is served by size.
        let r = client()
            .get(app.url("/api/v1/log/checkpoint?size=1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), old_note);

        // The new tree extends the old one.
        let (s, c) = get_json(app.url("/api/v1/log/proof/consistency?from=1&to=2")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(merkle::verify_consistency(
            1,
            2,
            &old.root,
            &new.root,
            &hashes(&c)
        ));
        let (_, c_default) = get_json(app.url("/api/v1/log/proof/consistency?from=1")).await;
        assert_eq!(c_default["to"], 2);

        // Entries: a page, in order, the same bytes.
        let (s, page) = get_json(app.url("/api/v1/log/entries?start=0&end=10")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(page["tree_size"], 2);
        let items = page["entries"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["entry"].as_str().unwrap(), entry);
        assert!(
            items[1]["entry"]
                .as_str()
                .unwrap()
                .contains("registry.entity.changed")
        );

        // Bad parameters: 400, Chinese first; unknown: 404.
        for (path, needle) in [
            ("/api/v1/log/proof/inclusion", "缺少参数 index"),
            ("/api/v1/log/proof/inclusion?index=abc", "应为非负整数"),
            ("/api/v1/log/proof/inclusion?index=-1", "应为非负整数"),
            ("/api/v1/log/proof/inclusion?index=2", "应小于树大小"),
            (
                "/api/v1/log/proof/inclusion?index=0&size=9",
                "超出日志当前大小",
            ),
            (
                "/api/v1/log/proof/consistency?from=0&to=2",
                "from 应在 1 到 to",
            ),
            (
                "/api/v1/log/proof/consistency?from=3&to=2",
                "from 应在 1 到 to",
            ),
            (
                "/api/v1/log/proof/consistency?from=1&to=5",
                "超出日志当前大小",
            ),
            ("/api/v1/log/entries?start=5&end=1", "end 不能小于 start"),
            ("/api/v1/log/entries", "缺少参数 start"),
            ("/api/v1/log/entries/by-timepoint/x1", "时间点应为整数"),
        ] {
            let (s, body) = get_json(app.url(path)).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{b:?} {path}: {body}");
            assert!(body.to_string().contains(needle), "{path}: {body}");
        }
        let (s, _) = get_json(app.url("/api/v1/log/entries/by-timepoint/999999")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = get_json(app.url("/api/v1/log/checkpoint?size=7")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        app.stop().await;
    }
}
