//! The lifecycle of an entity through the whole server, on every backend: suspension,
//! extension, resumption (declared and automatic), premises, deregistration (ordinary and
//! simplified with objections), the flags, and a test for each refusal.

mod support;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::{Role, Scope};
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::lifecycle::{deregistration, suspension};
use amr_registry::model::{EntityType, NewEntity, Status, today_in_china};
use amr_registry::store;
use chrono::{Duration, NaiveDate};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Session, TestApp, account, backends, client};

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

/// The app, a registered entity, and an API session (cookie, CSRF token) of the enterprise
/// account bound to it.
struct World {
    app: TestApp,
    uscc: String,
    firm: Session,
}

async fn world(b: support::Backend) -> World {
    let app = TestApp::spawn(b).await;
    let e = new_entity("济南泉城示例商贸有限公司");
    let mut tx = app.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), &e).await.unwrap();
    tx.commit().await.unwrap();
    let firm = account(&app, "firm", Role::Enterprise, "", Some(&e.uscc)).await;
    World {
        app,
        uscc: e.uscc,
        firm,
    }
}

async fn post(app: &TestApp, s: Option<&Session>, path: &str, body: Value) -> (StatusCode, Value) {
    support::request(app, s, reqwest::Method::POST, path, Some(body)).await
}

async fn public(app: &TestApp, uscc: &str) -> Value {
    reqwest::get(app.url(&format!("/api/v1/entities/{uscc}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn day(offset: i64) -> String {
    (today_in_china() + Duration::days(offset)).to_string()
}

async fn stream_kinds(app: &TestApp) -> Vec<String> {
    let text = reqwest::get(app.url("/api/v1/stream?timepoint=0&follow=false"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["kind"].as_str().map(str::to_string))
        .collect()
}

async fn audit_count(app: &TestApp) -> usize {
    audit::list(&app.db, &Scope::all(), None, 10_000)
        .await
        .unwrap()
        .len()
}

fn message(v: &Value) -> String {
    v["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn suspension_and_resumption_are_public_and_streamed() {
    for b in backends() {
        let w = world(b).await;
        let path = format!("/api/v1/entities/{}/suspension", w.uscc);
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &path,
            json!({"reason": "受自然灾害影响", "end": day(180), "service_address": "山东省济南市历下区泉城路1号101室"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?} {v}");

        let rec = public(&w.app, &w.uscc).await;
        assert_eq!(rec["status"], "suspended");
        assert_eq!(
            rec["suspension"]["service_address"],
            "山东省济南市历下区泉城路1号101室"
        );
        assert_eq!(rec["suspension"]["end"], day(180));
        assert_eq!(rec["history"][0]["field"], "status");
        assert_eq!(rec["history"][0]["before"], "active");
        assert_eq!(rec["history"][0]["after"], "suspended");
        assert!(
            rec["history"][0].get("actor").is_none(),
            "who is for officers"
        );
        let page = reqwest::get(w.app.url(&format!("/entities/{}", w.uscc)))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("歇业") && page.contains("泉城路1号101室"),
            "{page}"
        );

        // Without the CSRF header a session cannot write; another entity's account cannot.
        let (st, _) = post(
            &w.app,
            Some(&Session {
                csrf: String::new(),
                ..w.firm.clone()
            }),
            &format!("/api/v1/entities/{}/suspension/resumption", w.uscc),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let other = account(
            &w.app,
            "other.firm",
            Role::Enterprise,
            "",
            Some("91110108551385082Q"),
        )
        .await;
        let (st, _) = post(
            &w.app,
            Some(&other),
            &format!("/api/v1/entities/{}/suspension/resumption", w.uscc),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // The enterprise resumes through its portal page.
        let c = client();
        let portal = c
            .get(w.app.url(&format!("/portal/entities/{}", w.uscc)))
            .header("cookie", &w.firm.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(portal.status(), StatusCode::OK);
        let html = portal.text().await.unwrap();
        assert!(html.contains("/resumption"), "{html}");
        let r = c
            .post(
                w.app
                    .url(&format!("/manage/entities/{}/resumption", w.uscc)),
            )
            .header("cookie", &w.firm.cookie)
            .form(&[("csrf", w.firm.csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let rec = public(&w.app, &w.uscc).await;
        assert_eq!(rec["status"], "active");
        assert!(rec["suspension"].is_null());

        let kinds = stream_kinds(&w.app).await;
        assert!(
            kinds.contains(&"registry.entity.suspended".to_string()),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&"registry.entity.resumed".to_string()),
            "{kinds:?}"
        );
        let actions: Vec<String> = audit::list(&w.app.db, &Scope::all(), None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(actions.contains(&"entity.suspend".to_string()));
        assert!(actions.contains(&"entity.resume".to_string()));
        w.app.stop().await;
    }
}

#[tokio::test]
async fn suspending_a_deregistered_entity_is_refused() {
    for b in backends() {
        let w = world(b).await;
        let officer = account(&w.app, "officer.lixia", Role::Officer, "370102", None).await;
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/entities/{}/deregistration", w.uscc),
            json!({"kind": "ordinary", "reason": "股东会决议解散",
                   "liquidation_group_on": day(-120), "creditor_notice_on": day(-100),
                   "liquidation_report_on": day(-30)}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?} {v}");
        let id = v["id"].as_i64().unwrap();
        // Only officers decide.
        let (st, _) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/office/deregistrations/{id}/decision"),
            json!({"decision": "approve"}),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = post(
            &w.app,
            Some(&officer),
            &format!("/api/v1/office/deregistrations/{id}/decision"),
            json!({"decision": "approve", "note": ""}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(public(&w.app, &w.uscc).await["status"], "deregistered");
        assert!(
            stream_kinds(&w.app)
                .await
                .contains(&"registry.entity.deregistered".to_string())
        );

        let before = audit_count(&w.app).await;
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/entities/{}/suspension", w.uscc),
            json!({"reason": "疫情", "end": day(30), "service_address": "济南市历下区泉城路1号"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&v).starts_with("主体状态为「注销」"), "{v}");
        assert_eq!(
            audit_count(&w.app).await,
            before,
            "a refusal writes nothing"
        );
        w.app.stop().await;
    }
}

#[tokio::test]
async fn ordinary_deregistration_needs_its_liquidation_facts() {
    for b in backends() {
        let w = world(b).await;
        let path = format!("/api/v1/entities/{}/deregistration", w.uscc);
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &path,
            json!({"kind": "ordinary", "reason": "解散"}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["field"], "liquidation_group_on");
        // The creditors' 45 days have not run.
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &path,
            json!({"kind": "ordinary", "reason": "解散", "liquidation_group_on": day(-20),
                   "creditor_notice_on": day(-10), "liquidation_report_on": day(-1)}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&v).contains("45 日"), "{v}");
        w.app.stop().await;
    }
}

#[tokio::test]
async fn an_extension_outside_the_last_30_days_is_refused() {
    for b in backends() {
        let w = world(b).await;
        let (st, _) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/entities/{}/suspension", w.uscc),
            json!({"reason": "事故", "end": day(100), "service_address": "济南市历下区泉城路1号"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/entities/{}/suspension/extension", w.uscc),
            json!({"end": day(200)}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?} {v}");
        assert!(message(&v).starts_with("延期须在歇业期满前 30 日内"), "{v}");
        assert_eq!(public(&w.app, &w.uscc).await["suspension"]["end"], day(100));
        w.app.stop().await;
    }
}

#[tokio::test]
async fn more_than_three_years_of_suspension_is_refused() {
    for b in backends() {
        let w = world(b).await;
        let path = format!("/api/v1/entities/{}/suspension", w.uscc);
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &path,
            json!({"reason": "事故", "end": day(1096), "service_address": "济南市历下区泉城路1号"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?} {v}");
        assert!(message(&v).starts_with("歇业累计不得超过 3 年"), "{v}");
        assert_eq!(public(&w.app, &w.uscc).await["status"], "active");

        // Extending inside the window but past the total is refused too: a period filed
        // earlier (ending in 20 days, so the window is open) with 1,090 days used.
        let today = today_in_china();
        let mut tx = w.app.db.begin().await.unwrap();
        suspension::suspend(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            &w.uscc,
            &suspension::SuspendInput {
                reason: "事故".into(),
                start: String::new(),
                end: (today + Duration::days(20)).to_string(),
                service_address: "济南市历下区泉城路1号".into(),
                ..Default::default()
            },
            today - Duration::days(1069),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/entities/{}/suspension/extension", w.uscc),
            json!({"end": day(30)}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(message(&v).starts_with("歇业累计不得超过 3 年"), "{v}");
        // Within the total it is accepted.
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/entities/{}/suspension/extension", w.uscc),
            json!({"end": day(25)}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert!(
            stream_kinds(&w.app)
                .await
                .contains(&"registry.entity.suspension_extended".to_string())
        );
        w.app.stop().await;
    }
}

#[tokio::test]
async fn suspensions_end_by_themselves_when_the_period_is_over() {
    for b in backends() {
        let w = world(b).await;
        // Filed 40 days ago for 30 days, as if the period had ended while the server was
        // down: a second server started on the same database catches up at start (the first
        // one's worker may get there too; either way it is resumed once).
        let today = today_in_china();
        let mut tx = w.app.db.begin().await.unwrap();
        suspension::suspend(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            &w.uscc,
            &suspension::SuspendInput {
                reason: "公共卫生事件".into(),
                start: String::new(),
                end: (today - Duration::days(11)).to_string(),
                service_address: "济南市历下区泉城路1号".into(),
                ..Default::default()
            },
            today - Duration::days(40),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let config = amr_server::ServerConfig {
            search_dir: w.app.test_db.dir().join("search-2"),
            signing_key_file: w.app.test_db.dir().join("keys").join("signing.key"),
            ..Default::default()
        };
        let second = amr_server::start(
            amr_server::app_state(w.app.db.clone(), config),
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let mut status = Value::Null;
        for _ in 0..50 {
            status = public(&w.app, &w.uscc).await["status"].clone();
            if status == "active" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(status, "active", "{b:?}: resumed automatically");
        let text = reqwest::get(w.app.url("/api/v1/stream?timepoint=0&follow=false"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let resumed: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["kind"] == "registry.entity.resumed")
            .collect();
        assert_eq!(resumed.len(), 1, "{text}");
        assert_eq!(resumed[0]["payload"]["automatic"], true);
        assert_eq!(
            resumed[0]["payload"]["on"],
            (today - Duration::days(10)).to_string()
        );
        // Idempotent: nothing left to resume.
        assert_eq!(
            suspension::resume_expired(&w.app.db, today).await.unwrap(),
            0
        );
        let list = suspension::list(&w.app.db, &w.uscc).await.unwrap();
        assert_eq!(list[0].end_kind.as_deref(), Some("expired"));
        assert_eq!(list[0].days_used(), 30);
        second.stop().await.unwrap();
        w.app.stop().await;
    }
}

#[tokio::test]
async fn simplified_deregistration_is_refused_for_flagged_entities() {
    for b in backends() {
        let w = world(b).await;
        let officer = account(&w.app, "officer.lixia", Role::Officer, "370102", None).await;
        let far = account(&w.app, "officer.qingdao", Role::Officer, "3702", None).await;
        // An officer of another city cannot see it; the enterprise cannot set flags.
        let flags = format!("/api/v1/office/entities/{}/flags", w.uscc);
        let (st, _) = post(
            &w.app,
            Some(&far),
            &flags,
            json!({"abnormal_list": true, "note": "x"}),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = post(
            &w.app,
            Some(&w.firm),
            &flags,
            json!({"abnormal_list": true, "note": "x"}),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // The officer sets the flag through the back-office form (audited).
        let before = audit_count(&w.app).await;
        let r = client()
            .post(w.app.url(&format!("/office/entities/{}/flags", w.uscc)))
            .header("cookie", &officer.cookie)
            .form(&[
                ("csrf", officer.csrf.as_str()),
                ("abnormal_list", "1"),
                ("note", "未按期年报"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(audit_count(&w.app).await, before + 1);

        let path = format!("/api/v1/entities/{}/deregistration", w.uscc);
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &path,
            json!({"kind": "simplified", "reason": "不再经营"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?} {v}");
        assert!(
            message(&v).starts_with("不适用简易注销：被列入经营异常名录"),
            "{v}"
        );

        // Pledged equity bars it too.
        let (st, _) = post(
            &w.app,
            Some(&officer),
            &flags,
            json!({"abnormal_list": false, "equity_pledged": true, "note": "股权出质登记"}),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &path,
            json!({"kind": "simplified", "reason": "不再经营"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&v).contains("股权出质"), "{v}");
        w.app.stop().await;
    }
}

#[tokio::test]
async fn objections_block_simplified_deregistration_until_resolved() {
    for b in backends() {
        let w = world(b).await;
        let officer = account(&w.app, "officer.lixia", Role::Officer, "370102", None).await;
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/entities/{}/deregistration", w.uscc),
            json!({"kind": "simplified", "reason": "不再经营"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?} {v}");
        let rec = public(&w.app, &w.uscc).await;
        assert_eq!(rec["deregistration"]["notice_end"], day(19));
        assert!(
            stream_kinds(&w.app)
                .await
                .contains(&"registry.entity.deregistration_notice".to_string())
        );

        // Applying during the notice is refused.
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/entities/{}/deregistration/application", w.uscc),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&v).starts_with("公示期至"), "{v}");

        // Anyone objects through the public page form (pre-login CSRF cookie).
        let c = client();
        let page = c
            .get(w.app.url(&format!("/entities/{}", w.uscc)))
            .send()
            .await
            .unwrap();
        let cookie = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("amr_csrf="))
            .expect("csrf cookie")
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let html = page.text().await.unwrap();
        assert!(html.contains("/objections"), "{html}");
        let token = cookie.trim_start_matches("amr_csrf=").to_string();
        let r = c
            .post(w.app.url(&format!("/entities/{}/objections", w.uscc)))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", token.as_str()),
                ("objector", "济南某供应链有限公司"),
                ("contact", "0531-8888888"),
                ("reason", "尚欠货款 12 万元未结清"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        // A forged form is refused.
        let r = c
            .post(w.app.url(&format!("/entities/{}/objections", w.uscc)))
            .form(&[
                ("csrf", "forged"),
                ("objector", "x"),
                ("contact", "y"),
                ("reason", "z"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // The API takes objections too.
        let (st, v) = post(
            &w.app,
            None,
            &format!("/api/v1/entities/{}/objections", w.uscc),
            json!({"objector": "张三", "contact": "zhang@example.com", "reason": "工资未付"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let api_objection = v["id"].as_i64().unwrap();
        // Objector data stays private.
        let public_text = reqwest::get(w.app.url(&format!("/api/v1/entities/{}", w.uscc)))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!public_text.contains("0531-8888888") && !public_text.contains("张三"));

        // After the notice, the open objections still block the application.
        let after_notice = today_in_china() + Duration::days(21);
        let mut tx = w.app.db.begin().await.unwrap();
        let err = deregistration::apply(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            &w.uscc,
            after_notice,
        )
        .await
        .unwrap_err();
        drop(tx);
        assert!(err.to_string().contains("件异议尚未处理"), "{err}");

        // The officer dismisses both (one via the page, one via the API).
        let objections = deregistration::objections(&w.app.db, &w.uscc)
            .await
            .unwrap();
        assert_eq!(objections.len(), 2);
        let page_objection = objections
            .iter()
            .find(|o| o.id != api_objection)
            .unwrap()
            .id;
        let office = client()
            .get(w.app.url(&format!("/office/entities/{}", w.uscc)))
            .header("cookie", &officer.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            office.contains("0531-8888888"),
            "officers see the objector's contact"
        );
        let r = client()
            .post(
                w.app
                    .url(&format!("/office/objections/{page_objection}/resolution")),
            )
            .header("cookie", &officer.cookie)
            .form(&[
                ("csrf", officer.csrf.as_str()),
                ("decision", "dismissed"),
                ("note", "货款已结清，有收据"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (st, v) = post(
            &w.app,
            Some(&officer),
            &format!("/api/v1/office/objections/{api_objection}/resolution"),
            json!({"decision": "dismissed", "note": "工资已支付"}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let mut tx = w.app.db.begin().await.unwrap();
        let d = deregistration::apply(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            &w.uscc,
            after_notice,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(d.state, "applied");
        let (st, v) = post(
            &w.app,
            Some(&officer),
            &format!("/api/v1/office/deregistrations/{}/decision", d.id),
            json!({"decision": "approve"}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(public(&w.app, &w.uscc).await["status"], "deregistered");
        w.app.stop().await;
    }
}

#[tokio::test]
async fn premises_in_the_city_are_recorded_and_elsewhere_refused() {
    for b in backends() {
        let w = world(b).await;
        let path = format!("/api/v1/entities/{}/premises", w.uscc);
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &path,
            json!({"address": "山东省青岛市市南区香港中路10号"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?} {v}");
        assert!(message(&v).contains("分支机构登记"), "{v}");

        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &path,
            json!({"address": "济南市槐荫区经十路100号"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert!(v["division"].as_str().unwrap().starts_with("370104"), "{v}");
        let rec = public(&w.app, &w.uscc).await;
        assert_eq!(rec["premises"][0]["address"], "济南市槐荫区经十路100号");
        let page = reqwest::get(w.app.url(&format!("/entities/{}", w.uscc)))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("经十路100号"));
        assert!(
            stream_kinds(&w.app)
                .await
                .contains(&"registry.entity.premises_added".to_string())
        );

        // The address risk follower counts the premises at its address.
        let key = amr_address::risk::risk_key(
            &amr_address::parse("济南市槐荫区经十路100号", Some("370104")),
            Some("370104"),
        )
        .key;
        let mut count = 0;
        for _ in 0..50 {
            count = amr_address::risk::get(&w.app.db, &key)
                .await
                .unwrap()
                .map(|r| r.entity_count)
                .unwrap_or(0);
            if count == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(count, 1, "{b:?}: premises counted at {key}");
        w.app.stop().await;
    }
}

#[tokio::test]
async fn the_officer_page_shows_who_changed_what() {
    for b in backends() {
        let w = world(b).await;
        let officer = account(&w.app, "officer.lixia", Role::Officer, "370102", None).await;
        let actor = Actor {
            kind: "account",
            id: Some(99),
            name: "zhang.registrar".into(),
            ip: None,
        };
        let mut tx = w.app.db.begin().await.unwrap();
        store::change(
            &mut tx,
            &actor,
            &Scope::prefix("370102"),
            &w.uscc,
            &store::EntityChange {
                scope: Some("日用百货销售；文具用品零售".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let html = client()
            .get(w.app.url(&format!("/office/entities/{}", w.uscc)))
            .header("cookie", &officer.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("zhang.registrar") && html.contains("文具用品零售"),
            "{html}"
        );
        let rec = public(&w.app, &w.uscc).await;
        assert_eq!(rec["history"][0]["field"], "scope");
        assert_eq!(rec["history"][0]["after"], "日用百货销售；文具用品零售");
        assert!(!rec.to_string().contains("zhang.registrar"));
        let rows = store::history(&w.app.db, &Scope::all(), &w.uscc)
            .await
            .unwrap();
        assert_eq!(rows[0].actor.as_deref(), Some("account:99"));
        w.app.stop().await;
    }
}

#[tokio::test]
async fn a_notice_not_followed_by_an_application_lapses() {
    for b in backends() {
        let w = world(b).await;
        // A simplified notice filed 45 days ago: its 20 days and the 20 days to apply are over.
        let today = today_in_china();
        let mut tx = w.app.db.begin().await.unwrap();
        deregistration::file(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            &w.uscc,
            &deregistration::DeregInput {
                kind: "simplified".into(),
                reason: "不再经营".into(),
                ..Default::default()
            },
            today - Duration::days(45),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(public(&w.app, &w.uscc).await["deregistration"].is_null());
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/entities/{}/deregistration/application", w.uscc),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?} {v}");
        assert!(message(&v).starts_with("公示期满后 20 日内"), "{v}");
        // It no longer blocks a suspension.
        let (st, v) = post(
            &w.app,
            Some(&w.firm),
            &format!("/api/v1/entities/{}/suspension", w.uscc),
            json!({"reason": "事故", "end": day(30), "service_address": "济南市历下区泉城路1号"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let list = deregistration::list(&w.app.db, &w.uscc).await.unwrap();
        assert_eq!(list[0].state, "lapsed");
        w.app.stop().await;
    }
}

/// A server with a fixed day (`amr serve --today`, `ServerConfig::fixed_today`) decides by it:
/// a suspension filed through the API starts on that day, not on today in China, and its end
/// is checked against it.
#[tokio::test]
async fn a_server_with_a_fixed_day_files_a_suspension_starting_that_day() {
    let fixed = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    for b in backends() {
        let app = TestApp::spawn_with(
            b,
            amr_server::ServerConfig {
                fixed_today: Some(fixed),
                ..amr_server::ServerConfig::default()
            },
        )
        .await;
        let e = new_entity("济南定日示例商贸有限公司");
        let mut tx = app.db.begin().await.unwrap();
        store::create(&mut tx, &Actor::system(), &e).await.unwrap();
        tx.commit().await.unwrap();
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&e.uscc)).await;
        let path = format!("/api/v1/entities/{}/suspension", e.uscc);
        // An end before the fixed day is refused (it is in the past for this server).
        let (st, v) = post(
            &app,
            Some(&firm),
            &path,
            json!({"reason": "受自然灾害影响", "end": "2026-06-30", "service_address": "山东省济南市历下区泉城路1号101室"}),
        )
        .await;
        assert!(st.is_client_error(), "{b:?} {st} {v}");
        let end = (fixed + Duration::days(90)).to_string();
        let (st, v) = post(
            &app,
            Some(&firm),
            &path,
            json!({"reason": "受自然灾害影响", "end": end, "service_address": "山东省济南市历下区泉城路1号101室"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?} {v}");
        let rec = public(&app, &e.uscc).await;
        assert_eq!(rec["status"], "suspended");
        assert_eq!(rec["suspension"]["start"], "2026-07-01", "{rec}");
        assert_eq!(rec["suspension"]["end"], end);
        app.stop().await;
    }
}
