//! The exchange through the whole server, on every backend, with simulated agencies over real
//! HTTP: agencies registered by an administrator, a suspension fanned out to four agencies
//! (one failing twice first) until 同步办结, resumption fanned out the same way, rejections
//! with their reasons, acknowledgements by callback, refusals of bad signatures and foreign
//! keys, and a restart that resumes the deliveries left pending.

mod support;

use support::call as send;

use std::time::Duration;

use amr_exchange::delivery::SenderOptions;
use amr_exchange::sim::{self, AmrKeys, SimConfig};
use amr_kernel::audit::Actor;
use amr_kernel::auth::Role;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::model::{EntityType, NewEntity, Status, today_in_china};
use amr_registry::store;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Session, TestApp, account, backends, client};

fn fast() {
    amr_server::exchange_wiring::set_sender_options(SenderOptions {
        base_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(300),
        timeout: Duration::from_secs(3),
        poll: Duration::from_millis(50),
        ..SenderOptions::default()
    });
}

fn seed(name: &str) -> [u8; 32] {
    let mut s = [0u8; 32];
    for (i, b) in name.bytes().enumerate() {
        s[i % 32] ^= b;
    }
    s[31] = 7;
    s
}

async fn start_sim(
    app: &TestApp,
    name: &str,
    fail_first: u64,
    callback: Option<String>,
) -> sim::Running {
    sim::start(
        SimConfig {
            name: name.into(),
            kind: name.into(),
            fail_rate: 0.0,
            fail_first,
            delay: Duration::ZERO,
            keys: AmrKeys::Url(app.base.clone()),
            seed: seed(name),
            callback: callback.map(|k| (app.base.clone(), k)),
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap()
}

/// Registers an agency through the JSON API; returns its callback API key.
async fn register(
    app: &TestApp,
    admin: &Session,
    name: &str,
    endpoint: &str,
    public_key: &str,
) -> String {
    let (st, v) = send(
        app,
        admin,
        "POST",
        "/api/v1/exchange/agencies",
        json!({"name": name, "display_name": format!("{name} 测试机构"), "kind": name, "endpoint": endpoint,
               "subscriptions": ["registry.suspension."], "public_key": public_key}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["api_key"].as_str().unwrap().to_string()
}

async fn new_firm(app: &TestApp, username: &str) -> (String, Session) {
    let e = NewEntity {
        uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
            .unwrap()
            .to_string(),
        name: format!("济南{username}示例商贸有限公司"),
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
    };
    let mut tx = app.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), &e).await.unwrap();
    tx.commit().await.unwrap();
    let firm = account(app, username, Role::Enterprise, "", Some(&e.uscc)).await;
    (e.uscc, firm)
}

fn full_fields() -> Value {
    let end = (today_in_china() + chrono::Duration::days(90)).to_string();
    json!({"reason": "经营困难", "end": end, "service_address": "山东省济南市历下区泉城路1号",
           "tax_last_period": "2026-10", "invoices_settled": "yes", "insured_count": "12",
           "medical_insured_count": "12", "contributions_suspend_from": "2026-12",
           "depositor_count": "10", "seal_accounts": "yes"})
}

/// Polls the entity's fan-outs until `done` says so (at most 30 s).
async fn wait_for(
    app: &TestApp,
    who: &Session,
    uscc: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let (st, v) = send(
            app,
            who,
            "GET",
            &format!("/api/v1/exchange/entities/{uscc}"),
            Value::Null,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        if done(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not reached in time: {last}");
}

fn statuses(fanout: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = fanout["agencies"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|a| {
            (
                a["agency"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

const FOUR: [&str; 4] = [
    "tax",
    "social_security",
    "medical_insurance",
    "housing_fund",
];

#[tokio::test]
async fn a_suspension_reaches_four_agencies_and_is_done_everywhere() {
    fast();
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let admin = account(&app, "admin1", Role::Admin, "", None).await;
        let officer = account(&app, "lixia", Role::Officer, "370102", None).await;
        let other_officer = account(&app, "qingdao", Role::Officer, "3702", None).await;
        let mut sims = Vec::new();
        for name in FOUR {
            // Social security fails its first two calls.
            let s = start_sim(
                &app,
                name,
                if name == "social_security" { 2 } else { 0 },
                None,
            )
            .await;
            register(&app, &admin, name, &s.url(), &s.public_key).await;
            sims.push(s);
        }
        let (uscc, firm) = new_firm(&app, "firm").await;
        let (st, v) = send(
            &app,
            &firm,
            "POST",
            &format!("/api/v1/entities/{uscc}/suspension"),
            full_fields(),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?}: {v}");

        let v = wait_for(&app, &firm, &uscc, |v| v["fanouts"][0]["all_done"] == true).await;
        let f = &v["fanouts"][0];
        assert_eq!(f["kind"], "registry.suspension.filed");
        assert_eq!(statuses(f).len(), 4, "{v}");
        assert!(statuses(f).iter().all(|(_, s)| s == "done"), "{v}");
        let ss = f["agencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agency"] == "social_security")
            .unwrap();
        assert!(
            ss["attempts"].as_i64().unwrap() >= 3,
            "two failures, then the answer: {ss}"
        );
        for s in &sims {
            let st = s.stats.to_json();
            assert_eq!(st["applied"], 1, "{st}");
            assert_eq!(st["bad_signature"], 0, "{st}");
        }
        assert_eq!(sims[1].stats.to_json()["failed_on_purpose"], 2);

        // The officer of the district sees it; an officer elsewhere does not; the page says 同步办结.
        let (st, _) = send(
            &app,
            &officer,
            "GET",
            &format!("/api/v1/exchange/entities/{uscc}"),
            Value::Null,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        let (st, _) = send(
            &app,
            &other_officer,
            "GET",
            &format!("/api/v1/exchange/entities/{uscc}"),
            Value::Null,
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let page = client()
            .get(app.url(&format!("/exchange/entities/{uscc}")))
            .header("cookie", &firm.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("同步办结"), "{page}");

        // Resumption fans out the same way.
        let (st, v) = send(
            &app,
            &firm,
            "POST",
            &format!("/api/v1/entities/{uscc}/suspension/resumption"),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let v = wait_for(&app, &firm, &uscc, |v| {
            v["fanouts"].as_array().is_some_and(|f| f.len() == 2)
                && v["fanouts"][0]["all_done"] == true
        })
        .await;
        assert_eq!(v["fanouts"][0]["kind"], "registry.suspension.ended");

        // Every answer is kept as evidence and audited.
        let (n,): (i64,) = amr_kernel::on_conn!(&app.db, c => sqlx::query_as(
            "SELECT COUNT(*) FROM exchange_evidence WHERE direction = 'in'").fetch_one(c).await.unwrap());
        assert_eq!(n, 8);
        let (n,): (i64,) = amr_kernel::on_conn!(&app.db, c => sqlx::query_as(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'exchange_delivery.answer'").fetch_one(c).await.unwrap());
        assert_eq!(n, 8);
        for s in sims {
            s.stop().await;
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn missing_fields_are_rejected_with_reasons_and_acks_come_by_callback() {
    fast();
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let admin = account(&app, "admin1", Role::Admin, "", None).await;
        // Tax answers "accepted" at once and "done" later by callback with its API key.
        let tax = start_sim(&app, "tax", 0, None).await;
        let key = register(&app, &admin, "tax", &tax.url(), &tax.public_key).await;
        tax.stop().await;
        let tax = start_sim(&app, "tax", 0, Some(key)).await;
        let (st, v) = send(&app, &admin, "PUT", "/api/v1/exchange/agencies/tax",
            json!({"kind": "tax", "endpoint": tax.url(), "subscriptions": ["registry.suspension."], "public_key": tax.public_key})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let ss = start_sim(&app, "social_security", 0, None).await;
        register(&app, &admin, "social_security", &ss.url(), &ss.public_key).await;

        let (uscc, firm) = new_firm(&app, "firm").await;
        let mut body = full_fields();
        body["insured_count"] = json!("");
        let (st, v) = send(
            &app,
            &firm,
            "POST",
            &format!("/api/v1/entities/{uscc}/suspension"),
            body,
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let v = wait_for(&app, &firm, &uscc, |v| {
            let s = statuses(&v["fanouts"][0]);
            s.len() == 2 && s.iter().all(|(_, st)| st == "done" || st == "rejected")
        })
        .await;
        let f = &v["fanouts"][0];
        assert_eq!(
            statuses(f),
            vec![
                ("social_security".into(), "rejected".into()),
                ("tax".into(), "done".into())
            ]
        );
        assert_eq!(f["all_done"], false);
        let rejected = f["agencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["status"] == "rejected")
            .unwrap();
        assert!(
            rejected["reason"].as_str().unwrap().contains("参保人数"),
            "{rejected}"
        );
        // A bad field value is refused before anything is filed.
        let (uscc2, firm2) = new_firm(&app, "firm2").await;
        let mut body = full_fields();
        body["insured_count"] = json!("十二");
        let (st, v) = send(
            &app,
            &firm2,
            "POST",
            &format!("/api/v1/entities/{uscc2}/suspension"),
            body,
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        tax.stop().await;
        ss.stop().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_signatures_foreign_keys_and_bad_input_are_refused() {
    fast();
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let admin = account(&app, "admin1", Role::Admin, "", None).await;
        let firm_officer = account(&app, "lixia", Role::Officer, "370102", None).await;
        // An agency whose endpoint never answers: its delivery stays pending.
        let dead = "http://127.0.0.1:9/";
        let tax_key = register(&app, &admin, "tax", dead, &sim::public_key_of(&seed("tax"))).await;
        let other_key = register(
            &app,
            &admin,
            "social_security",
            dead,
            &sim::public_key_of(&seed("social_security")),
        )
        .await;
        // Bad input names its field; only administrators manage agencies.
        let (st, v) = send(&app, &admin, "POST", "/api/v1/exchange/agencies",
            json!({"name": "Bad Name", "kind": "tax", "endpoint": dead, "subscriptions": ["registry."], "public_key": "x"})).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["field"], "name", "{v}");
        let (st, v) = send(&app, &admin, "POST", "/api/v1/exchange/agencies",
            json!({"name": "bank1", "kind": "bank", "endpoint": dead, "subscriptions": ["exchange."], "public_key": sim::public_key_of(&seed("b"))})).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["field"], "subscriptions", "{v}");
        let (st, _) = send(
            &app,
            &firm_officer,
            "GET",
            "/api/v1/exchange/agencies",
            Value::Null,
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        let (uscc, firm) = new_firm(&app, "firm").await;
        let (st, _) = send(
            &app,
            &firm,
            "POST",
            &format!("/api/v1/entities/{uscc}/suspension"),
            full_fields(),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        let v = wait_for(&app, &firm, &uscc, |v| {
            v["fanouts"][0]["agencies"]
                .as_array()
                .is_some_and(|a| a.len() == 2 && a.iter().all(|x| x["attempts"].as_i64() > Some(0)))
        })
        .await;
        let message_id = v["fanouts"][0]["agencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agency"] == "tax")
            .unwrap()["message_id"]
            .as_str()
            .unwrap()
            .to_string();

        let ack = |agency: &str, id: &str| {
            json!({"message_id": id, "agency": agency, "status": "done", "at": "2026-11-27T00:00:00Z"}).to_string()
        };
        let sign = |seed_of: &str, body: &str| {
            use ed25519_dalek::Signer;
            let k = ed25519_dalek::SigningKey::from_bytes(&seed(seed_of));
            amr_exchange::proto::encode_signature(
                &k.sign(&amr_exchange::proto::signed_bytes(
                    amr_exchange::proto::TAG_ACK,
                    body,
                ))
                .to_bytes(),
            )
        };
        let post_ack = |key: Option<String>, body: String, sig: String| {
            let url = app.url("/api/v1/exchange/acks");
            async move {
                let mut r = client().post(url).header("x-amr-signature", sig).body(body);
                if let Some(k) = key {
                    r = r.bearer_auth(k);
                }
                let resp = r.send().await.unwrap();
                let st = resp.status();
                (st, resp.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let body = ack("tax", &message_id);
        // No key; a signature by another key; another agency's API key; an unknown message.
        assert_eq!(
            post_ack(None, body.clone(), sign("tax", &body)).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (st, v) = post_ack(
            Some(tax_key.clone()),
            body.clone(),
            sign("social_security", &body),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "signature");
        let (st, _) = post_ack(Some(other_key.clone()), body.clone(), sign("tax", &body)).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let unknown = ack("tax", "tax:999999");
        let (st, _) = post_ack(
            Some(tax_key.clone()),
            unknown.clone(),
            sign("tax", &unknown),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        // A changed body under a good signature.
        let changed = body.replace("done", "rejected");
        let (st, _) = post_ack(Some(tax_key.clone()), changed, sign("tax", &body)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let (st, v) = send(
            &app,
            &firm,
            "GET",
            &format!("/api/v1/exchange/entities/{uscc}"),
            Value::Null,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            statuses(&v["fanouts"][0])
                .iter()
                .all(|(_, s)| s == "pending"),
            "nothing changed: {v}"
        );
        // The right key and signature: done.
        let (st, v) = post_ack(Some(tax_key.clone()), body.clone(), sign("tax", &body)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["applied"]["status"], "done");
        // A disabled agency's key no longer works.
        let (st, _) = send(
            &app,
            &admin,
            "POST",
            "/api/v1/exchange/agencies/social_security/disable",
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        let other_body = ack(
            "social_security",
            &message_id.replace("tax", "social_security"),
        );
        let (st, _) = post_ack(
            Some(other_key),
            other_body.clone(),
            sign("social_security", &other_body),
        )
        .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        app.stop().await;
    }
}

async fn attempts(db: &amr_kernel::db::Db) -> Vec<i64> {
    amr_kernel::on_conn!(db, c => sqlx::query_scalar::<_, i64>("SELECT attempts FROM exchange_deliveries ORDER BY id")
        .fetch_all(c)
        .await
        .unwrap())
}

#[tokio::test]
async fn a_restart_resumes_pending_deliveries_and_nothing_is_lost() {
    use amr_registry::lifecycle::suspension;
    fast();
    for b in backends() {
        let test_db = support::TestDb::with_sets(b, &amr_server::migration_sets()).await;
        let db = test_db.db.clone();
        let dir = test_db.dir().to_path_buf();
        let config = |n: u32| amr_server::ServerConfig {
            search_dir: dir.join(format!("search-{n}")),
            signing_key_file: dir.join("keys").join("signing.key"),
            ..Default::default()
        };
        // The agency is down at first (its port reserved, nothing listening).
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut tx = db.begin().await.unwrap();
        amr_exchange::agency::add(
            &mut tx,
            &Actor::system(),
            &amr_exchange::agency::AgencyInput {
                name: "tax".into(),
                kind: "tax".into(),
                endpoint: format!("http://127.0.0.1:{port}/"),
                subscriptions: "registry.suspension.".into(),
                public_key: sim::public_key_of(&seed("tax")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let first = amr_server::start(amr_server::app_state(db.clone(), config(1)), "127.0.0.1:0")
            .await
            .unwrap();
        let today = today_in_china();
        for i in 0..3 {
            let e = NewEntity {
                uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
                    .unwrap()
                    .to_string(),
                name: format!("济南重启{i}示例商贸有限公司"),
                entity_type: EntityType::Enterprise,
                legal_rep: "王建国".into(),
                legal_rep_id: None,
                phone: None,
                capital_yuan: Some(1_000_000),
                established: NaiveDate::from_ymd_opt(2020, 5, 1).unwrap(),
                address: "山东省济南市历下区泉城路1号".into(),
                division: "370102001".into(),
                scope: "日用百货销售".into(),
                industry: "5299".into(),
                status: Status::Active,
            };
            let mut tx = db.begin().await.unwrap();
            store::create(&mut tx, &Actor::system(), &e).await.unwrap();
            let input: suspension::SuspendInput = serde_json::from_value(full_fields()).unwrap();
            suspension::suspend(
                &mut tx,
                &Actor::system(),
                &amr_kernel::auth::Scope::all(),
                &e.uscc,
                &input,
                today,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        let mut tried = false;
        for _ in 0..300 {
            let a = attempts(&db).await;
            if a.len() == 3 && a.iter().all(|n| *n >= 2) {
                tried = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            tried,
            "{b:?}: every delivery tried and failed: {:?}",
            attempts(&db).await
        );
        // AMR stops while the agency is down; nothing is marked delivered.
        first.stop().await.unwrap();
        let counts = amr_exchange::delivery::counts(&db).await.unwrap();
        assert_eq!(counts, vec![("pending".to_string(), 3)], "{counts:?}");
        // A new server on the same database; the agency is up now and fails 30% at random.
        let second = amr_server::start(amr_server::app_state(db.clone(), config(2)), "127.0.0.1:0")
            .await
            .unwrap();
        let tax = sim::start(
            SimConfig {
                name: "tax".into(),
                kind: "tax".into(),
                fail_rate: 0.3,
                fail_first: 0,
                delay: Duration::ZERO,
                keys: AmrKeys::Url(format!("http://{}", second.addr)),
                seed: seed("tax"),
                callback: None,
            },
            &format!("127.0.0.1:{port}"),
        )
        .await
        .unwrap();
        let mut done = false;
        for _ in 0..300 {
            if amr_exchange::delivery::counts(&db).await.unwrap() == vec![("done".to_string(), 3)] {
                done = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            done,
            "{b:?}: {:?}",
            amr_exchange::delivery::counts(&db).await.unwrap()
        );
        let st = tax.stats.to_json();
        assert_eq!(st["applied"], 3, "each applied once: {st}");
        tax.stop().await;
        second.stop().await.unwrap();
        drop(test_db);
    }
}

#[tokio::test]
async fn tax_figures_come_signed_from_the_tax_agency_and_stuck_deliveries_are_escalated() {
    fast();
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let admin = account(&app, "admin1", Role::Admin, "", None).await;
        let officer = account(&app, "lixia", Role::Officer, "370102", None).await;
        let keys = std::sync::Arc::new(
            amr_kernel::signing::Keyring::open(
                &app.db,
                &app.test_db.dir().join("keys").join("signing.key"),
            )
            .await
            .unwrap(),
        );
        let source = amr_server::exchange_wiring::tax_source(
            app.db.clone(),
            keys,
            amr_server::exchange_wiring::http_client().unwrap(),
        );
        let (uscc, firm) = new_firm(&app, "firm").await;
        // No tax agency yet: unavailable.
        assert!(matches!(
            source.figures(&uscc, 2025).await,
            Err(amr_kernel::error::AppError::Unavailable(_))
        ));
        let tax = start_sim(&app, "tax", 0, None).await;
        register(&app, &admin, "tax", &tax.url(), &tax.public_key).await;
        let answer = source.figures(&uscc, 2025).await.unwrap();
        if let Some(a) = &answer {
            assert_eq!(a.source, "tax");
            assert!(a.evidence.starts_with("exchange-evidence:"));
            assert!(a.figures.total_assets.is_some());
        }
        let again = source.figures(&uscc, 2025).await.unwrap();
        assert_eq!(
            answer.map(|a| a.figures),
            again.map(|a| a.figures),
            "the same figures each time"
        );
        let (n,): (i64,) = amr_kernel::on_conn!(&app.db, c => sqlx::query_as(
            "SELECT COUNT(*) FROM exchange_evidence WHERE kind IN ('tax_request', 'tax_answer')").fetch_one(c).await.unwrap());
        assert_eq!(n, 4);
        assert!(source.figures("not-a-code", 2025).await.is_err());

        // A suspension whose deliveries get no final answer is escalated after the set time.
        tax.stop().await;
        let (st, _) = send(
            &app,
            &firm,
            "POST",
            &format!("/api/v1/entities/{uscc}/suspension"),
            full_fields(),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        wait_for(&app, &firm, &uscc, |v| {
            v["fanouts"][0]["agencies"][0]["attempts"].as_i64() >= Some(1)
        })
        .await;
        let later = chrono::Utc::now() + chrono::Duration::days(2);
        let n = amr_exchange::delivery::escalate_stuck(&app.db, &SenderOptions::default(), later)
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            amr_exchange::delivery::escalate_stuck(&app.db, &SenderOptions::default(), later)
                .await
                .unwrap(),
            0,
            "once"
        );
        let (st, v) = send(&app, &officer, "GET", "/api/v1/exchange/stuck", Value::Null).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["stuck"].as_array().unwrap().len(), 1, "{v}");
        let page = client()
            .get(app.url("/office/exchange/stuck"))
            .header("cookie", &officer.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains(&uscc));
        let page = client()
            .get(app.url("/admin/exchange/agencies"))
            .header("cookie", &admin.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("住房公积金") && html.contains("<code>tax</code>"),
            "{html}"
        );
        app.stop().await;
    }
}
