//! Bank push (政银合作) through the whole server, on every backend: the enterprise's consent
//! (its own only), a bank's criteria (every bad field named), a push run that selects exactly
//! the consenting enterprises that match (checked against a filter of the test's own over the
//! fixture, abnormal-list flag and risk class included), its signed deliveries acknowledged by
//! a simulated bank over real HTTP, a second run that sends only the change, loans reported
//! back (and refused for unpushed enterprises, bad signatures, another bank's key), and the
//! figures per region within a jurisdiction.

mod support;

use support::call as send;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use amr_exchange::delivery::SenderOptions;
use amr_exchange::proto;
use amr_exchange::sim::{self, AmrKeys, SimConfig};
use amr_kernel::audit::Actor;
use amr_kernel::auth::{Role, Scope};
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::signing::{self, Keyring};
use amr_registry::model::{EntityType, NewEntity, Status, today_in_china};
use amr_registry::store;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Session, TestApp, account, backends, client};

fn setup() {
    amr_server::exchange_wiring::set_sender_options(SenderOptions {
        base_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(300),
        timeout: Duration::from_secs(3),
        poll: Duration::from_millis(50),
        ..SenderOptions::default()
    });
    // Runs on demand only: a scheduled run would race the test's own.
    amr_server::exchange_wiring::set_bank_push_every(None);
}

fn seed(name: &str) -> [u8; 32] {
    let mut s = [0u8; 32];
    for (i, b) in name.bytes().enumerate() {
        s[i % 32] ^= b;
    }
    s[31] = 11;
    s
}

/// Registers a bank (no event subscriptions) through the JSON API; returns its API key.
async fn register_bank(
    app: &TestApp,
    admin: &Session,
    name: &str,
    endpoint: &str,
    key: &str,
) -> String {
    let (st, v) = send(
        app,
        admin,
        "POST",
        "/api/v1/exchange/agencies",
        json!({"name": name, "display_name": format!("{name} 测试银行"), "kind": "bank",
               "endpoint": endpoint, "subscriptions": [], "public_key": key}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["api_key"].as_str().unwrap().to_string()
}

/// One fixture enterprise.
#[derive(Debug, Clone)]
struct Spec {
    uscc: String,
    entity_type: EntityType,
    industry: &'static str,
    division: &'static str,
    established: NaiveDate,
    status: Status,
    abnormal: bool,
    consent: bool,
}

const DIVISIONS: [&str; 4] = ["370102001", "370112001", "370103002", "370202001"];
const INDUSTRIES: [&str; 4] = ["5299", "1311", "7010", "5211"];

/// A deterministic mix: types, industries, divisions, ages, statuses, the abnormal list and
/// consent vary independently.
fn fixture(n: usize) -> Vec<Spec> {
    let mut rng = rand::rng();
    (0..n)
        .map(|i| {
            let entity_type = match i % 5 {
                3 => EntityType::IndividualBusiness,
                4 => EntityType::FarmerCooperative,
                _ => EntityType::Enterprise,
            };
            let rt = match entity_type {
                EntityType::IndividualBusiness => RegistrationType::IndividualBusiness,
                EntityType::FarmerCooperative => RegistrationType::FarmerCooperative,
                _ => RegistrationType::Enterprise,
            };
            let division = DIVISIONS[(i / 2) % 4];
            Spec {
                uscc: Uscc::generate(rt, &division[..6], &mut rng)
                    .unwrap()
                    .to_string(),
                entity_type,
                industry: INDUSTRIES[(i / 3) % 4],
                division,
                established: NaiveDate::from_ymd_opt(2012 + i32::try_from(i % 13).unwrap(), 3, 1)
                    .unwrap(),
                status: if i % 11 == 7 {
                    Status::Suspended
                } else {
                    Status::Active
                },
                abnormal: i % 7 == 2,
                consent: i % 4 != 1,
            }
        })
        .collect()
}

async fn create(app: &TestApp, s: &Spec, i: usize) {
    let e = NewEntity {
        uscc: s.uscc.clone(),
        name: format!("山东示例{i}号商贸有限公司"),
        entity_type: s.entity_type,
        legal_rep: "王建国".into(),
        legal_rep_id: Some("11010519491231002X".into()),
        phone: Some("13912345678".into()),
        capital_yuan: if s.entity_type == EntityType::IndividualBusiness {
            None
        } else {
            Some(1_000_000)
        },
        established: s.established,
        address: "山东省济南市历下区泉城路1号".into(),
        division: s.division.into(),
        scope: "日用百货销售".into(),
        industry: s.industry.into(),
        status: s.status,
    };
    let mut tx = app.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), &e).await.unwrap();
    tx.commit().await.unwrap();
}

async fn set_abnormal(app: &TestApp, uscc: &str, on: bool) {
    let mut tx = app.db.begin().await.unwrap();
    amr_registry::lifecycle::deregistration::set_flags(
        &mut tx,
        &Actor::system(),
        &Scope::all(),
        uscc,
        amr_registry::lifecycle::rules::Bars {
            abnormal_list: on,
            ..Default::default()
        },
        "测试：列入经营异常名录",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn consent_directly(app: &TestApp, uscc: &str, division: &str, granted: bool) {
    let mut tx = app.db.begin().await.unwrap();
    amr_exchange::bank::consent::set(&mut tx, &Actor::system(), uscc, division, granted)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(c).await.unwrap())
}

/// Waits until the credit-risk follower has read the whole event log (it scores every new
/// or changed entity), so classes the test writes afterwards stay.
async fn risk_caught_up(app: &TestApp) {
    for _ in 0..600 {
        let last = scalar(app, "SELECT COALESCE(MAX(timepoint), 0) FROM events").await;
        let at = scalar(app, "SELECT COALESCE(MAX(timepoint), 0) FROM event_cursors WHERE consumer = 'supervision.risk'").await;
        if at >= last {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the credit-risk follower did not catch up");
}

/// The class of each entity as stored (B when not scored).
async fn classes(app: &TestApp) -> BTreeMap<String, String> {
    let rows: Vec<(String, String)> = amr_kernel::on_conn!(&app.db, c => sqlx::query_as(
        "SELECT uscc, class FROM credit_risk").fetch_all(c).await.unwrap());
    rows.into_iter().collect()
}

async fn set_class(app: &TestApp, uscc: &str, division: &str, class: &str) {
    use amr_supervision::draw::model::RiskClass;
    use amr_supervision::risk::model::Scored;
    let row = amr_supervision::risk::store::ClassRow {
        uscc: uscc.into(),
        division: division.into(),
        scored: Scored {
            class: RiskClass::parse(class).unwrap(),
            score: 1.0,
            reasons: vec![],
        },
        model_version: "test".into(),
    };
    let mut tx = app.db.begin().await.unwrap();
    amr_supervision::risk::store::write_rows(&mut tx, &[row])
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn whole_years(from: NaiveDate, to: NaiveDate) -> u32 {
    use chrono::Datelike;
    let mut y = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        y -= 1;
    }
    u32::try_from(y.max(0)).unwrap_or(0)
}

/// The test's own reading of the criteria used below: sections F (wholesale and retail:
/// industries 51–52) or C (manufacturing: 13–43), divisions in Jinan (3701) or Qingdao's
/// Shinan (370202), classes A or B, at least 3 years old, not on the abnormal list, active,
/// enterprises or individual businesses, and consenting.
fn expected(
    specs: &[Spec],
    classes: &BTreeMap<String, String>,
    today: NaiveDate,
) -> BTreeSet<String> {
    specs
        .iter()
        .filter(|s| s.consent)
        .filter(|s| {
            matches!(
                s.entity_type,
                EntityType::Enterprise | EntityType::IndividualBusiness
            )
        })
        .filter(|s| {
            let d: u32 = s.industry[..2].parse().unwrap();
            (51..=52).contains(&d) || (13..=43).contains(&d)
        })
        .filter(|s| s.division.starts_with("3701") || s.division.starts_with("370202"))
        .filter(|s| {
            matches!(
                classes.get(&s.uscc).map(String::as_str).unwrap_or("B"),
                "A" | "B"
            )
        })
        .filter(|s| whole_years(s.established, today) >= 3)
        .filter(|s| !s.abnormal)
        .filter(|s| s.status == Status::Active)
        .map(|s| s.uscc.clone())
        .collect()
}

const CRITERIA: &str = r#"{"entity_types": ["enterprise", "individual_business"], "industries": ["F", "C"],
    "regions": ["3701", "370202"], "risk_classes": ["A", "B"], "min_age_years": 3}"#;

async fn listed(app: &TestApp, bank: &str) -> BTreeSet<String> {
    let rows: Vec<String> = amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar(
        "SELECT p.uscc FROM bank_pushed p JOIN exchange_agencies a ON a.id = p.agency_id \
         WHERE a.name = $1 AND p.listed = $2")
        .bind(bank).bind(true).fetch_all(c).await.unwrap());
    rows.into_iter().collect()
}

/// Starts a run through the API and waits for it to finish and for every message of it to be
/// acknowledged `done`; returns the run.
async fn push_and_wait(app: &TestApp, admin: &Session, bank: &str) -> Value {
    let r = push_now(app, admin, bank).await;
    let run = r["id"].as_i64().unwrap();
    for _ in 0..600 {
        let open = scalar(app, &format!(
            "SELECT COUNT(*) FROM exchange_deliveries WHERE push_run_id = {run} AND status <> 'done'")).await;
        if open == 0 {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deliveries of run {run} were not all done");
}

/// The entities added and removed by the messages of a run, from the evidence kept.
async fn run_changes(app: &TestApp, run: i64) -> (BTreeSet<String>, BTreeSet<String>, Vec<Value>) {
    let bodies: Vec<String> = amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar(
        "SELECT e.body FROM exchange_evidence e JOIN exchange_deliveries d ON d.message_evidence_id = e.id \
         WHERE d.push_run_id = $1 ORDER BY d.id").bind(run).fetch_all(c).await.unwrap());
    let mut added = BTreeSet::new();
    let mut removed = BTreeSet::new();
    let mut messages = Vec::new();
    for b in bodies {
        let v: Value = serde_json::from_str(&b).unwrap();
        for a in v["added"].as_array().unwrap() {
            added.insert(a["uscc"].as_str().unwrap().to_string());
        }
        for r in v["removed"].as_array().unwrap() {
            removed.insert(r["uscc"].as_str().unwrap().to_string());
        }
        messages.push(v);
    }
    (added, removed, messages)
}

/// A loan report signed with `ring`, posted with `api_key`.
async fn post_report(
    app: &TestApp,
    ring: &Keyring,
    api_key: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let text = body.to_string();
    let sig = proto::encode_signature(
        &ring
            .sign(&proto::signed_bytes(proto::TAG_LOAN_REPORT, &text))
            .signature,
    );
    let mut r = client()
        .post(app.url("/api/v1/exchange/banks/loans"))
        .header("content-type", "application/json")
        .header(proto::HEADER_SIGNATURE, sig)
        .body(text);
    if let Some(k) = api_key {
        r = r.bearer_auth(k);
    }
    let resp = r.send().await.unwrap();
    let st = resp.status();
    let t = resp.text().await.unwrap();
    (st, serde_json::from_str(&t).unwrap_or(Value::String(t)))
}

#[tokio::test]
async fn consent_is_the_enterprises_own_with_its_history() {
    setup();
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let specs = fixture(2);
        for (i, s) in specs.iter().enumerate() {
            create(&app, s, i).await;
        }
        let (a, other) = (&specs[0].uscc, &specs[1].uscc);
        let firm = account(&app, "firm_a", Role::Enterprise, "", Some(a)).await;
        let firm_b = account(&app, "firm_b", Role::Enterprise, "", Some(other)).await;
        let officer = account(&app, "lixia", Role::Officer, "37", None).await;
        let admin = account(&app, "admin1", Role::Admin, "", None).await;
        let path = format!("/api/v1/exchange/consents/{a}");

        // Nothing to withdraw yet; a bad body changes nothing.
        let (st, v) = send(&app, &firm, "POST", &path, json!({"granted": false})).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (st, v) = send(&app, &firm, "POST", &path, json!({"granted": "yes"})).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "granted", "{v}");
        // Another enterprise, an officer and an administrator may not act for it.
        for who in [&firm_b, &officer, &admin] {
            let (st, _) = send(&app, who, "POST", &path, json!({"granted": true})).await;
            assert_eq!(st, StatusCode::FORBIDDEN);
            let (st, _) = send(&app, who, "GET", &path, Value::Null).await;
            assert_eq!(st, StatusCode::FORBIDDEN);
        }
        let (_, v) = send(&app, &firm, "GET", &path, Value::Null).await;
        assert_eq!(v["granted"], false, "{v}");
        assert_eq!(v["history"].as_array().unwrap().len(), 0, "{v}");

        let (st, v) = send(&app, &firm, "POST", &path, json!({"granted": true})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["changed"], true);
        let (_, v) = send(&app, &firm, "POST", &path, json!({"granted": true})).await;
        assert_eq!(v["changed"], false, "the same answer again writes nothing");

        // The portal page: the enterprise withdraws with the form.
        let page = client()
            .get(app.url(&format!("/exchange/consent/{a}")))
            .header("cookie", &firm.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("data-granted=\"yes\"") && html.contains("撤回授权"),
            "{html}"
        );
        let resp = client()
            .post(app.url(&format!("/exchange/consent/{a}")))
            .header("cookie", &firm.cookie)
            .form(&[("csrf", firm.csrf.as_str()), ("action", "withdraw")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let page = client()
            .get(app.url(&format!("/exchange/consent/{a}")))
            .header("cookie", &firm_b.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::FORBIDDEN);

        let (_, v) = send(&app, &firm, "GET", &path, Value::Null).await;
        assert_eq!(v["granted"], false, "{v}");
        let actions: Vec<&str> = v["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, vec!["withdrawn", "granted"]);
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'exchange_bank.consent'"
            )
            .await,
            2
        );
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM events WHERE kind LIKE 'exchange.bank.consent.%'"
            )
            .await,
            2
        );
        // The portal links to it.
        let portal = client()
            .get(app.url(&format!("/portal/entities/{a}")))
            .header("cookie", &firm.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            portal.contains(&format!("/exchange/consent/{a}")),
            "{portal}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn criteria_are_checked_field_by_field_and_only_for_banks() {
    setup();
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let admin = account(&app, "admin1", Role::Admin, "", None).await;
        let officer = account(&app, "lixia", Role::Officer, "37", None).await;
        let dead = "http://127.0.0.1:9/";
        register_bank(
            &app,
            &admin,
            "jnbank",
            dead,
            &sim::public_key_of(&seed("jnbank")),
        )
        .await;
        let (st, v) = send(
            &app,
            &admin,
            "POST",
            "/api/v1/exchange/agencies",
            json!({"name": "tax", "kind": "tax", "endpoint": dead, "subscriptions": [],
                   "public_key": sim::public_key_of(&seed("tax"))}),
        )
        .await;
        assert_eq!(
            st,
            StatusCode::BAD_REQUEST,
            "only a bank may subscribe to nothing: {v}"
        );
        let (st, v) = send(&app, &admin, "POST", "/api/v1/exchange/agencies",
            json!({"name": "tax", "kind": "tax", "endpoint": dead, "subscriptions": ["registry.suspension."],
                   "public_key": sim::public_key_of(&seed("tax"))})).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");

        let bad = json!({"entity_types": ["shop"], "industries": ["Z9"], "regions": ["9999"],
            "risk_classes": ["E"], "min_age_years": 10, "max_age_years": 2, "exclude_abnormal": "maybe"});
        let (st, v) = send(
            &app,
            &admin,
            "PUT",
            "/api/v1/exchange/banks/jnbank/criteria",
            bad,
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        let field = v["field"].as_str().unwrap();
        for f in [
            "entity_types",
            "industries",
            "regions",
            "risk_classes",
            "max_age_years",
            "exclude_abnormal",
        ] {
            assert!(field.contains(f), "{f} not named: {v}");
        }
        let (_, v) = send(&app, &admin, "GET", "/api/v1/exchange/banks", Value::Null).await;
        assert_eq!(
            v["banks"][0]["criteria"],
            Value::Null,
            "nothing stored: {v}"
        );

        let good: Value = serde_json::from_str(CRITERIA).unwrap();
        let (st, _) = send(
            &app,
            &officer,
            "PUT",
            "/api/v1/exchange/banks/jnbank/criteria",
            good.clone(),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = send(
            &app,
            &admin,
            "PUT",
            "/api/v1/exchange/banks/tax/criteria",
            good.clone(),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (st, _) = send(
            &app,
            &admin,
            "PUT",
            "/api/v1/exchange/banks/nobank/criteria",
            good.clone(),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, v) = send(
            &app,
            &admin,
            "PUT",
            "/api/v1/exchange/banks/jnbank/criteria",
            good,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(
            v["criteria"]["exclude_abnormal"], true,
            "on by default: {v}"
        );
        assert_eq!(v["criteria"]["active_only"], true, "{v}");
        let (_, v) = send(&app, &admin, "GET", "/api/v1/exchange/banks", Value::Null).await;
        assert_eq!(
            v["banks"][0]["criteria"]["industries"],
            json!(["F", "C"]),
            "{v}"
        );
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'exchange_bank.criteria'"
            )
            .await,
            1
        );

        // The administrator's page: a bad form names the field and keeps the old criteria.
        let resp = client()
            .post(app.url("/admin/exchange/banks"))
            .header("cookie", &admin.cookie)
            .form(&[
                ("csrf", admin.csrf.as_str()),
                ("action", "criteria"),
                ("bank", "jnbank"),
                ("industries", "Z9"),
                ("exclude_abnormal", "yes"),
                ("active_only", "yes"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = resp.text().await.unwrap();
        assert!(
            html.contains("industries") && html.contains("jnbank"),
            "{html}"
        );
        let (_, v) = send(&app, &admin, "GET", "/api/v1/exchange/banks", Value::Null).await;
        assert_eq!(
            v["banks"][0]["criteria"]["industries"],
            json!(["F", "C"]),
            "{v}"
        );
        // A push of a bank without criteria is refused.
        register_bank(
            &app,
            &admin,
            "qdbank",
            dead,
            &sim::public_key_of(&seed("qdbank")),
        )
        .await;
        let (st, v) = send(
            &app,
            &admin,
            "POST",
            "/api/v1/exchange/banks/qdbank/push",
            Value::Null,
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_push_sends_exactly_the_matches_then_the_delta_and_loans_come_back() {
    setup();
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let today = today_in_china();
        let admin = account(&app, "admin1", Role::Admin, "", None).await;
        let province = account(&app, "province", Role::Officer, "37", None).await;
        let qingdao = account(&app, "qingdao", Role::Officer, "3702", None).await;

        // The fixture: 48 enterprises, their flags, consents, and some classes.
        let mut specs = fixture(48);
        for (i, s) in specs.iter().enumerate() {
            create(&app, s, i).await;
        }
        for s in specs.iter().filter(|s| s.abnormal) {
            set_abnormal(&app, &s.uscc, true).await;
        }
        for s in specs.iter().filter(|s| s.consent) {
            consent_directly(&app, &s.uscc, s.division, true).await;
        }
        risk_caught_up(&app).await;
        for (i, s) in specs.iter().enumerate() {
            match i % 6 {
                1 => set_class(&app, &s.uscc, s.division, "A").await,
                2 => set_class(&app, &s.uscc, s.division, "C").await,
                5 => set_class(&app, &s.uscc, s.division, "D").await,
                _ => {}
            }
        }

        // The simulated bank reports loans back with its API key.
        let start = |key: Option<String>| {
            sim::start(
                SimConfig {
                    name: "jnbank".into(),
                    kind: "bank".into(),
                    fail_rate: 0.0,
                    fail_first: 1,
                    delay: Duration::ZERO,
                    keys: AmrKeys::Url(app.base.clone()),
                    seed: seed("jnbank"),
                    callback: key.map(|k| (app.base.clone(), k)),
                },
                "127.0.0.1:0",
            )
        };
        let bank = start(None).await.unwrap();
        let key = register_bank(&app, &admin, "jnbank", &bank.url(), &bank.public_key).await;
        bank.stop().await;
        let bank = start(Some(key.clone())).await.unwrap();
        let (st, v) = send(&app, &admin, "PUT", "/api/v1/exchange/agencies/jnbank",
            json!({"kind": "bank", "endpoint": bank.url(), "subscriptions": [], "public_key": bank.public_key})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let criteria: Value = serde_json::from_str(CRITERIA).unwrap();
        let (st, v) = send(
            &app,
            &admin,
            "PUT",
            "/api/v1/exchange/banks/jnbank/criteria",
            criteria,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");

        // First run: the full list, exactly the test's own selection.
        let want = expected(&specs, &classes(&app).await, today);
        assert!(want.len() >= 5, "the fixture selects a few: {want:?}");
        let run = push_and_wait(&app, &admin, "jnbank").await;
        assert_eq!(run["full_list"], true, "{run}");
        assert_eq!(run["added"].as_u64().unwrap() as usize, want.len(), "{run}");
        assert_eq!(run["removed"], 0);
        assert_eq!(
            run["consents_seen"].as_u64().unwrap() as usize,
            specs.iter().filter(|s| s.consent).count()
        );
        assert_eq!(listed(&app, "jnbank").await, want);
        let (added, removed, messages) = run_changes(&app, run["id"].as_i64().unwrap()).await;
        assert_eq!(added, want);
        assert!(removed.is_empty());
        let last = messages.last().unwrap();
        assert_eq!(last["last"], true);
        // Only what a bank needs: no ID numbers, no phones; the risk class, since the criteria use it.
        for m in &messages {
            let t = m.to_string();
            assert!(
                !t.contains("11010519491231002X") && !t.contains("13912345678"),
                "{t}"
            );
            assert!(m["added"][0]["risk_class"].is_string(), "{m}");
            assert!(m["added"][0].get("legal_rep").is_none(), "{m}");
        }
        let st = bank.stats.to_json();
        assert_eq!(
            st["entities_added"].as_u64().unwrap() as usize,
            want.len(),
            "{st}"
        );
        assert_eq!(st["bad_signature"], 0, "{st}");
        assert_eq!(st["failed_on_purpose"], 1, "{st}");

        // Loans come back for the simulated bank's share of the enterprises.
        let loans: BTreeMap<String, Value> = want
            .iter()
            .filter_map(|u| {
                sim::simulated_loan(u, chrono::Utc::now().date_naive()).map(|l| (u.clone(), l))
            })
            .collect();
        for _ in 0..200 {
            if scalar(&app, "SELECT COUNT(*) FROM bank_loans").await as usize == loans.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            scalar(&app, "SELECT COUNT(*) FROM bank_loans").await as usize,
            loans.len()
        );

        // Figures per city, for the whole province and for Qingdao's officer.
        let mut per_city: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        for s in specs.iter().filter(|s| want.contains(&s.uscc)) {
            let e = per_city.entry(s.division[..4].to_string()).or_default();
            e.0 += 1;
            if let Some(l) = loans.get(&s.uscc) {
                e.1 += 1;
                e.2 += l["amount_fen"].as_i64().unwrap();
            }
        }
        let (st, v) = send(
            &app,
            &province,
            "GET",
            "/api/v1/exchange/banks/figures?level=city",
            Value::Null,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let got: BTreeMap<String, (i64, i64, i64)> = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["region"].as_str().unwrap().to_string(),
                    (
                        r["listed"].as_i64().unwrap(),
                        r["loans"].as_i64().unwrap(),
                        r["amount_fen"].as_i64().unwrap(),
                    ),
                )
            })
            .collect();
        assert_eq!(got, per_city, "{v}");
        let (_, v) = send(
            &app,
            &qingdao,
            "GET",
            "/api/v1/exchange/banks/figures?level=county",
            Value::Null,
        )
        .await;
        for r in v["rows"].as_array().unwrap() {
            assert!(r["region"].as_str().unwrap().starts_with("3702"), "{v}");
        }
        let qd: i64 = specs
            .iter()
            .filter(|s| want.contains(&s.uscc) && s.division.starts_with("3702"))
            .count() as i64;
        assert_eq!(v["totals"][0]["listed"].as_i64().unwrap_or(0), qd, "{v}");
        let page = client()
            .get(app.url("/office/exchange/banks?level=county&region=3701"))
            .header("cookie", &province.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("data-bank=\"jnbank\"") && html.contains("data-region=\"370102\""),
            "{html}"
        );

        // Second run: only the change. One enterprise withdraws (by its own account), one is
        // listed as abnormal, one more consents.
        let listed_now: Vec<&Spec> = specs.iter().filter(|s| want.contains(&s.uscc)).collect();
        let withdrawn = listed_now[0].clone();
        let flagged = listed_now[1].clone();
        let firm = account(&app, "firm_w", Role::Enterprise, "", Some(&withdrawn.uscc)).await;
        let (st, v) = send(
            &app,
            &firm,
            "POST",
            &format!("/api/v1/exchange/consents/{}", withdrawn.uscc),
            json!({"granted": false}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        set_abnormal(&app, &flagged.uscc, true).await;
        let cls = classes(&app).await;
        let newcomer_at = specs
            .iter()
            .position(|s| {
                !s.consent
                    && s.uscc != flagged.uscc
                    && expected(
                        &[Spec {
                            consent: true,
                            ..s.clone()
                        }],
                        &cls,
                        today,
                    )
                    .len()
                        == 1
            })
            .expect("a non-consenting enterprise that would match");
        consent_directly(
            &app,
            &specs[newcomer_at].uscc,
            specs[newcomer_at].division,
            true,
        )
        .await;
        specs[newcomer_at].consent = true;
        let newcomer = specs[newcomer_at].uscc.clone();
        for s in specs.iter_mut() {
            if s.uscc == withdrawn.uscc {
                s.consent = false;
            }
            if s.uscc == flagged.uscc {
                s.abnormal = true;
            }
        }
        risk_caught_up(&app).await;
        let want2 = expected(&specs, &classes(&app).await, today);
        let run2 = push_and_wait(&app, &admin, "jnbank").await;
        assert_eq!(run2["full_list"], false, "{run2}");
        let (added, removed, messages) = run_changes(&app, run2["id"].as_i64().unwrap()).await;
        assert_eq!(
            added,
            want2.difference(&want).cloned().collect::<BTreeSet<_>>(),
            "{messages:?}"
        );
        assert!(added.contains(&newcomer), "{messages:?}");
        assert_eq!(
            removed,
            want.difference(&want2).cloned().collect::<BTreeSet<_>>(),
            "{messages:?}"
        );
        assert!(removed.contains(&withdrawn.uscc) && removed.contains(&flagged.uscc));
        let reasons: BTreeMap<String, String> = messages
            .iter()
            .flat_map(|m| m["removed"].as_array().unwrap().clone())
            .map(|r| {
                (
                    r["uscc"].as_str().unwrap().to_string(),
                    r["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(reasons[&withdrawn.uscc], "consent_withdrawn");
        assert_eq!(reasons[&flagged.uscc], "no_longer_matches");
        assert_eq!(listed(&app, "jnbank").await, want2);
        // Third run: nothing changed, nothing sent.
        let run3 = push_and_wait(&app, &admin, "jnbank").await;
        assert_eq!(
            (
                run3["added"].as_i64(),
                run3["removed"].as_i64(),
                run3["messages"].as_i64()
            ),
            (Some(0), Some(0), Some(0)),
            "{run3}"
        );
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'exchange_bank.push'"
            )
            .await,
            3
        );

        // Loan reports: the bank's own, signed with its key.
        let ring = Keyring::from_secret(seed("jnbank"));
        assert_eq!(
            signing::encode_public_key(&ring.verifying_key()),
            bank.public_key
        );
        let loan = |u: &str| {
            json!({"uscc": u, "amount_fen": 5_000_000, "granted_on": today.to_string(),
                                    "product": "科创贷", "term_months": 12})
        };
        let never = specs
            .iter()
            .find(|s| !want.contains(&s.uscc) && !want2.contains(&s.uscc))
            .unwrap()
            .uscc
            .clone();
        let before = scalar(&app, "SELECT COUNT(*) FROM bank_loans").await;
        let report = json!({"report_id": "t-1", "agency": "jnbank", "at": "2026-11-27T10:00:00+08:00",
                            "loans": [loan(&withdrawn.uscc), loan(&never)]});
        let (st, v) = post_report(&app, &ring, Some(&key), &report).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        let msg = v["message"].as_str().unwrap_or_default().to_string() + &v.to_string();
        assert!(msg.contains(&never) && msg.contains("第 2 笔"), "{v}");
        assert!(
            !msg.contains(&format!("企业 {} 未推送", withdrawn.uscc)),
            "once pushed is enough: {v}"
        );
        let bad = json!({"report_id": "t-2", "agency": "jnbank", "at": "x",
                         "loans": [{"uscc": "123", "amount_fen": -1, "granted_on": "2099-01-01", "product": "", "term_months": 0}]});
        let (st, v) = post_report(&app, &ring, Some(&key), &bad).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        for f in ["uscc", "amount_fen", "granted_on", "product", "term_months"] {
            assert!(v.to_string().contains(&format!("loan 1 {f}")), "{f}: {v}");
        }
        let good = json!({"report_id": "t-3", "agency": "jnbank", "at": "x", "loans": [loan(&withdrawn.uscc)]});
        let (st, v) = post_report(&app, &Keyring::from_secret([9; 32]), Some(&key), &good).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "a wrong signature: {v}");
        assert_eq!(v["field"], "signature", "{v}");
        let (st, _) = post_report(&app, &ring, None, &good).await;
        assert!(
            st == StatusCode::UNAUTHORIZED || st == StatusCode::FORBIDDEN,
            "{st}"
        );
        let other_key = register_bank(
            &app,
            &admin,
            "qdbank",
            "http://127.0.0.1:9/",
            &sim::public_key_of(&seed("qdbank")),
        )
        .await;
        let (st, v) = post_report(&app, &ring, Some(&other_key), &good).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "another bank's key: {v}");
        assert_eq!(
            scalar(&app, "SELECT COUNT(*) FROM bank_loans").await,
            before,
            "refusals change nothing"
        );
        let (st, v) = post_report(&app, &ring, Some(&key), &good).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let (st, v) = post_report(&app, &ring, Some(&key), &good).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["report"]["repeat"], true, "{v}");
        let mut changed = good.clone();
        changed["loans"][0]["amount_fen"] = json!(7);
        let (st, _) = post_report(&app, &ring, Some(&key), &changed).await;
        assert_eq!(st, StatusCode::CONFLICT);
        assert_eq!(
            scalar(&app, "SELECT COUNT(*) FROM bank_loans").await,
            before + 1
        );
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM exchange_evidence WHERE kind = 'loan_report'"
            )
            .await,
            i64::try_from(bank.stats.to_json()["loan_reports"].as_u64().unwrap()).unwrap() + 1
        );
        let (_, v) = send(&app, &admin, "GET", "/api/v1/exchange/banks", Value::Null).await;
        let total = v["totals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["bank"] == "jnbank")
            .unwrap();
        assert_eq!(total["loans"].as_i64().unwrap(), before + 1, "{v}");
        assert_eq!(
            total["listed"].as_u64().unwrap() as usize,
            want2.len(),
            "{v}"
        );
        bank.stop().await;
        app.stop().await;
    }
}

/// Starts a push run to `bank` and waits until it has finished queuing (its deliveries may
/// still be pending).
async fn push_now(app: &TestApp, admin: &Session, bank: &str) -> Value {
    let (st, v) = send(
        app,
        admin,
        "POST",
        &format!("/api/v1/exchange/banks/{bank}/push"),
        Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let run = v["run"].as_i64().unwrap();
    for _ in 0..600 {
        let (st, v) = send(
            app,
            admin,
            "GET",
            &format!("/api/v1/exchange/banks/{bank}/runs"),
            Value::Null,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let r = v["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == run)
            .cloned()
            .unwrap();
        assert_ne!(r["status"], "failed", "{r}");
        if r["status"] == "finished" {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {run} did not finish");
}

#[tokio::test]
async fn a_rejected_push_message_is_undone_and_sent_again() {
    setup();
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let admin = account(&app, "admin1", Role::Admin, "", None).await;
        let specs = fixture(8);
        for (i, s) in specs.iter().enumerate() {
            create(&app, s, i).await;
            consent_directly(&app, &s.uscc, s.division, true).await;
        }
        // A bank that never answers over HTTP (nothing listens on port 9): its answers come
        // by callback, signed with its key, so the test decides them.
        let bank_seed = seed("rejbank");
        let bank_key = ed25519_dalek::SigningKey::from_bytes(&bank_seed);
        let api_key = register_bank(
            &app,
            &admin,
            "rejbank",
            "http://127.0.0.1:9/",
            &signing::encode_public_key(&bank_key.verifying_key()),
        )
        .await;
        let (st, v) = send(
            &app,
            &admin,
            "PUT",
            "/api/v1/exchange/banks/rejbank/criteria",
            json!({"regions": ["37"], "exclude_abnormal": false, "active_only": false}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let answer = |id: String, status: &'static str| {
            let app = &app;
            let api_key = api_key.clone();
            let bank_key = bank_key.clone();
            async move {
                use ed25519_dalek::Signer;
                let body = json!({"message_id": id, "agency": "rejbank", "status": status,
                    "reason": (status == "rejected").then_some("字段不全：缺少行业名称"),
                    "at": "2026-11-27T08:00:00Z"})
                .to_string();
                let sig = proto::encode_signature(
                    &bank_key
                        .sign(&proto::signed_bytes(proto::TAG_ACK, &body))
                        .to_bytes(),
                );
                let resp = client()
                    .post(app.url("/api/v1/exchange/acks"))
                    .bearer_auth(api_key)
                    .header("x-amr-signature", sig)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
            }
        };
        let all: BTreeSet<String> = specs.iter().map(|s| s.uscc.clone()).collect();

        // First run: the full list, one message; the bank rejects it.
        let r1 = push_now(&app, &admin, "rejbank").await;
        let (added, _, messages) = run_changes(&app, r1["id"].as_i64().unwrap()).await;
        assert_eq!(added, all);
        assert_eq!(listed(&app, "rejbank").await, all);
        answer(messages[0]["id"].as_str().unwrap().into(), "rejected").await;
        // Undone: nothing is on its list and no row says it was ever sent.
        assert!(listed(&app, "rejbank").await.is_empty());
        assert_eq!(
            scalar(&app, "SELECT COUNT(*) FROM bank_pushed").await,
            0,
            "rows created by the rejected message are gone"
        );

        // The next run sends the same again; this time the bank takes it.
        let r2 = push_now(&app, &admin, "rejbank").await;
        let (added, removed, messages) = run_changes(&app, r2["id"].as_i64().unwrap()).await;
        assert_eq!(added, all, "{r2}");
        assert!(removed.is_empty());
        answer(messages[0]["id"].as_str().unwrap().into(), "done").await;
        assert_eq!(listed(&app, "rejbank").await, all);

        // One enterprise withdraws; the removal is rejected, so it is back on the list and
        // the next run removes it again.
        let gone = &specs[0];
        consent_directly(&app, &gone.uscc, gone.division, false).await;
        let r3 = push_now(&app, &admin, "rejbank").await;
        let (added, removed, messages) = run_changes(&app, r3["id"].as_i64().unwrap()).await;
        assert!(added.is_empty(), "{r3}");
        assert_eq!(removed, BTreeSet::from([gone.uscc.clone()]));
        assert!(!listed(&app, "rejbank").await.contains(&gone.uscc));
        answer(messages[0]["id"].as_str().unwrap().into(), "rejected").await;
        assert_eq!(listed(&app, "rejbank").await, all);
        let r4 = push_now(&app, &admin, "rejbank").await;
        let (_, removed, _) = run_changes(&app, r4["id"].as_i64().unwrap()).await;
        assert_eq!(removed, BTreeSet::from([gone.uscc.clone()]), "{r4}");
        // The rejections stay as evidence with the bank's reason.
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM exchange_deliveries WHERE status = 'rejected' \
                 AND reason = '字段不全：缺少行业名称'"
            )
            .await,
            2
        );
        app.stop().await;
    }
}
