//! Credit-risk classes through the real server on each backend: a registered entity gets
//! scored by the follower; a list flag changes its class with the reason shown; an
//! inspection-result event raises the class (recorded once); the jurisdiction filter on the
//! entity page and API; the model editor refuses a bad TOML and changes nothing; a new model
//! takes effect on a recompute an administrator asks for.

mod support;

use std::time::Duration;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Role;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::events::{self, NewEvent};
use amr_registry::model::{EntityType, NewEntity, Status, today_in_china};
use amr_registry::store;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Session, TestApp, account, backends, client};

fn entity(division: &str, industry: &str, established: NaiveDate) -> NewEntity {
    NewEntity {
        uscc: Uscc::generate(
            RegistrationType::Enterprise,
            &division[..6],
            &mut rand::rng(),
        )
        .unwrap()
        .to_string(),
        name: "济南风险测试有限公司".into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "李大山".into(),
        legal_rep_id: None,
        phone: None,
        capital_yuan: Some(1_000_000),
        established,
        address: "山东省济南市历下区泉城路1号".into(),
        division: division.into(),
        scope: "日用品批发".into(),
        industry: industry.into(),
        status: Status::Active,
    }
}

async fn register(app: &TestApp, e: &NewEntity) {
    let mut tx = app.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), e).await.unwrap();
    tx.commit().await.unwrap();
}

async fn get(app: &TestApp, s: &Session, path: &str) -> (StatusCode, String) {
    let r = client()
        .get(app.url(path))
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn get_json(app: &TestApp, s: &Session, path: &str) -> (StatusCode, Value) {
    let (st, text) = get(app, s, path).await;
    (
        st,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn post_json(app: &TestApp, s: &Session, path: &str, body: Value) -> (StatusCode, Value) {
    let r = client()
        .post(app.url(path))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let st = r.status();
    let text = r.text().await.unwrap();
    (
        st,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn post_form(
    app: &TestApp,
    s: &Session,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut f: Vec<(&str, &str)> = vec![("csrf", s.csrf.as_str())];
    f.extend_from_slice(form);
    let r = client()
        .post(app.url(path))
        .header("cookie", &s.cookie)
        .form(&f)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Polls the entity's class until `done` holds (the follower works in the background).
async fn wait_for(app: &TestApp, s: &Session, uscc: &str, done: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/api/v1/office/risk/entities/{uscc}");
    let mut last = Value::Null;
    for _ in 0..100 {
        let (st, v) = get_json(app, s, &path).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        if done(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the class did not reach the expected state: {last}");
}

fn indicators(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["indicator"].as_str().unwrap().to_string())
        .collect()
}

async fn result_event(app: &TestApp, uscc: &str, division: &str, outcome: &str) {
    let mut tx = app.db.begin().await.unwrap();
    events::append(
        &mut tx,
        NewEvent::internal(
            "supervision.inspection.result_recorded",
            json!({"plan_id": 1, "visit_no": 1, "item": "SD-001", "outcome": outcome,
                   "uscc": uscc, "division": division,
                   "inspected_on": today_in_china().to_string()}),
        )
        .uscc(uscc)
        .division(division),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn observation_count(app: &TestApp, uscc: &str) -> i64 {
    amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM credit_risk_observations WHERE uscc = $1",
    )
    .bind(uscc)
    .fetch_one(c)
    .await
    .unwrap())
}

#[tokio::test]
async fn classes_follow_flags_results_and_stay_in_jurisdiction() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let jinan = account(&app, "risk-jinan", Role::Officer, "3701", None).await;
        let qingdao = account(&app, "risk-qingdao", Role::Officer, "3702", None).await;
        let quiet = entity(
            "370102",
            "5191",
            NaiveDate::from_ymd_opt(2010, 5, 1).unwrap(),
        );
        let inspected = entity(
            "370103",
            "5191",
            NaiveDate::from_ymd_opt(2012, 3, 1).unwrap(),
        );
        register(&app, &quiet).await;
        register(&app, &inspected).await;

        // Registered → scored by the follower: an old entity of a low-risk industry is A.
        let v = wait_for(&app, &jinan, &quiet.uscc, |v| v["scored"] == true).await;
        assert_eq!(v["class"], "A", "{v}");
        assert_eq!(v["score"], 0.0);
        // The kinds without a data source say so.
        let notes = v["not_counted"].as_array().unwrap();
        assert!(
            notes
                .iter()
                .any(|n| n["text_zh"].as_str().unwrap().contains("暂无数据来源"))
        );

        // The abnormal-operation flag → class C, with the reason on the page.
        let (st, body) = post_json(
            &app,
            &jinan,
            &format!("/api/v1/office/entities/{}/flags", quiet.uscc),
            json!({"abnormal_list": true, "note": "未按期公示年报"}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let v = wait_for(&app, &jinan, &quiet.uscc, |v| v["class"] == "C").await;
        assert_eq!(indicators(&v), ["abnormal_list"]);
        let (st, page) = get(
            &app,
            &jinan,
            &format!("/office/risk/entities/{}", quiet.uscc),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert!(page.contains("列入经营异常名录"), "{page}");
        assert!(page.contains("id=\"risk-score\">30"), "{page}");

        // An inspection that found problems raises A → B; a normal result changes nothing.
        wait_for(&app, &jinan, &inspected.uscc, |v| v["class"] == "A").await;
        result_event(&app, &inspected.uscc, "370103", "normal").await;
        result_event(&app, &inspected.uscc, "370103", "problems").await;
        let v = wait_for(&app, &jinan, &inspected.uscc, |v| v["class"] == "B").await;
        assert_eq!(indicators(&v), ["inspection_finding"]);
        assert_eq!(v["score"], 15.0);
        assert_eq!(observation_count(&app, &inspected.uscc).await, 1);
        // Not found at the address → C.
        result_event(&app, &inspected.uscc, "370103", "not_found").await;
        let v = wait_for(&app, &jinan, &inspected.uscc, |v| v["class"] == "C").await;
        assert_eq!(v["score"], 45.0);
        assert_eq!(observation_count(&app, &inspected.uscc).await, 2);
        let (_, page) = get(
            &app,
            &jinan,
            &format!("/office/risk/entities/{}", inspected.uscc),
        )
        .await;
        assert!(page.contains("抽查检查发现问题"), "{page}");

        // Jurisdiction: Qingdao sees neither the page nor the API nor the counts of Jinan.
        let (st, _) = get(
            &app,
            &qingdao,
            &format!("/office/risk/entities/{}", quiet.uscc),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = get(
            &app,
            &qingdao,
            &format!("/api/v1/office/risk/entities/{}", quiet.uscc),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, s) = get_json(&app, &qingdao, "/api/v1/office/risk/summary").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(s["summary"]["total"], 0, "{s}");
        let (_, s) = get_json(&app, &jinan, "/api/v1/office/risk/summary").await;
        assert_eq!(s["summary"]["total"], 2, "{s}");
        assert_eq!(s["summary"]["by_class"]["C"], 2, "{s}");
        let (st, page) = get(&app, &jinan, "/office/risk").await;
        assert_eq!(st, StatusCode::OK);
        assert!(page.contains("id=\"risk-chart\""), "{page}");
        assert!(page.contains("济南市"), "{page}");
        // The draw's reader: (division, uscc) order, a range on the scope, keyset paging.
        let page = amr_supervision::risk::classes_page(&app.db, "3701", None, 10)
            .await
            .unwrap();
        let keys: Vec<(&str, &str)> = page
            .iter()
            .map(|(d, u, _)| (d.as_str(), u.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("370102", quiet.uscc.as_str()),
                ("370103", inspected.uscc.as_str())
            ]
        );
        assert!(
            page.iter()
                .all(|(_, _, c)| *c == amr_supervision::draw::model::RiskClass::C)
        );
        let next = amr_supervision::risk::classes_page(&app.db, "3701", Some(keys[0]), 10)
            .await
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].1, inspected.uscc);
        assert!(
            amr_supervision::risk::classes_page(&app.db, "3702", None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            amr_supervision::risk::classes_page(&app.db, "37'", None, 10)
                .await
                .is_err()
        );
        let unscored = amr_supervision::risk::class_of(&app.db, "91370102MA3C4QXX1X")
            .await
            .unwrap();
        assert_eq!(unscored, amr_supervision::draw::model::RiskClass::B);

        // Not a public page: anonymous visitors are sent to log in, the API refuses them.
        let r = client().get(app.url("/office/risk")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = client()
            .get(app.url("/api/v1/office/risk/summary"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        app.stop().await;
    }
}

#[tokio::test]
async fn a_bad_model_is_refused_and_a_good_one_applies_on_recompute() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = account(&app, "risk-admin", Role::Admin, "37", None).await;
        let officer = account(&app, "risk-officer", Role::Officer, "3701", None).await;
        let e = entity(
            "370102",
            "5191",
            NaiveDate::from_ymd_opt(2011, 1, 1).unwrap(),
        );
        register(&app, &e).await;
        wait_for(&app, &admin, &e.uscc, |v| v["class"] == "A").await;

        let (st, page) = get(&app, &admin, "/office/risk/model").await;
        assert_eq!(st, StatusCode::OK);
        let version = |p: &str| {
            let m = "id=\"risk-model-version\">";
            let s = p.find(m).unwrap() + m.len();
            p[s..].split('<').next().unwrap().to_string()
        };
        let v0 = version(&page);
        let default_text = amr_supervision::risk::model::DEFAULT_MODEL;

        // A TOML that does not parse: 400 with its line, nothing stored.
        let bad = default_text.replace("b_max = 29.0", "b_max = = 29");
        let (st, body) = post_form(&app, &admin, "/office/risk/model", &[("toml", &bad)]).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(body.contains("第 11 行"), "{body}");
        // Thresholds out of order: refused too.
        let bad = default_text.replace("c_max = 59.0", "c_max = 1.0");
        let (st, body) = post_form(&app, &admin, "/office/risk/model", &[("toml", &bad)]).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(
            body.contains("a_max &lt; b_max &lt; c_max") || body.contains("a_max < b_max"),
            "{body}"
        );
        // An officer may read but not edit.
        let good = default_text.replace("a_max = 5.0", "a_max = 0.0").replace(
            "[[industry.rules]]\nprefix = \"13\"",
            "[[industry.rules]]\nprefix = \"519\"\npoints = 1.0\nlabel = \"其他批发\"\n\n[[industry.rules]]\nprefix = \"13\"",
        );
        let (st, _) = post_form(&app, &officer, "/office/risk/model", &[("toml", &good)]).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (_, page) = get(&app, &admin, "/office/risk/model").await;
        assert_eq!(version(&page), v0);
        let stored: i64 = amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM credit_risk_model",
        )
        .fetch_one(c)
        .await
        .unwrap());
        assert_eq!(stored, 0);

        // A good model is saved; it applies on the next run.
        let (st, _) = post_form(&app, &admin, "/office/risk/model", &[("toml", &good)]).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, page) = get(&app, &admin, "/office/risk/model").await;
        assert_ne!(version(&page), v0);
        let (_, v) = get_json(
            &app,
            &admin,
            &format!("/api/v1/office/risk/entities/{}", e.uscc),
        )
        .await;
        assert_eq!(v["class"], "A");

        // Recompute: the officer may not; an administrator outside the scope is refused; then
        // the run (retried while another server's start-up run holds this process's slot).
        let (st, _) = post_json(&app, &officer, "/api/v1/office/risk/recompute", json!({})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, body) = post_json(
            &app,
            &admin,
            "/api/v1/office/risk/recompute",
            json!({"scope": "44"}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
        let mut run = Value::Null;
        for _ in 0..100 {
            let (st, body) = post_json(
                &app,
                &admin,
                "/api/v1/office/risk/recompute",
                json!({"scope": "3701"}),
            )
            .await;
            if st == StatusCode::ACCEPTED {
                run = body;
                break;
            }
            assert_eq!(st, StatusCode::CONFLICT, "{body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(run["scope"], "3701", "{run}");
        let v = wait_for(&app, &admin, &e.uscc, |v| v["class"] == "B").await;
        assert_eq!(indicators(&v), ["industry"]);
        assert_eq!(v["score"], 1.0);
        assert_eq!(v["model_version"], v["current_model_version"]);
        let (_, s) = get_json(&app, &admin, "/api/v1/office/risk/summary").await;
        let runs = s["runs"].as_array().unwrap();
        assert!(
            runs.iter()
                .any(|r| r["id"] == run["run_id"] && r["entities"] == 1),
            "{s}"
        );
        app.stop().await;
    }
}
