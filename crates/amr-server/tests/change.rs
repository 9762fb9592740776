//! Change registration (变更登记) through the whole server, on every backend: file → approve
//! → the public record, its history and the licence version; the name collision; the negative
//! list and the commitment; return → refile; one open application; a deregistered entity;
//! another entity's account; the portal form and the officer's pages.

mod support;

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Role, Scope};
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Session, TestApp, account, backends, client};

const NAME: &str = "济南泉城示例商贸有限公司";
/// A valid resident ID number (check digit right).
const NEW_REP_ID: &str = "370102199003071238";

fn new_entity(name: &str, status: Status) -> NewEntity {
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
        status,
    }
}

async fn register(app: &TestApp, e: &NewEntity) {
    let mut tx = app.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), e).await.unwrap();
    tx.commit().await.unwrap();
}

/// The app, a registered entity, its enterprise account and an officer of its county.
struct World {
    app: TestApp,
    uscc: String,
    firm: Session,
    officer: Session,
}

async fn world(b: support::Backend) -> World {
    let app = TestApp::spawn(b).await;
    let e = new_entity(NAME, Status::Active);
    register(&app, &e).await;
    let firm = account(&app, "firm", Role::Enterprise, "", Some(&e.uscc)).await;
    let officer = account(&app, "examiner", Role::Officer, "370102", None).await;
    World {
        app,
        uscc: e.uscc,
        firm,
        officer,
    }
}

async fn post(app: &TestApp, s: &Session, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = client()
        .post(app.url(path))
        .json(&body)
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(app: &TestApp, s: Option<&Session>, path: &str) -> (StatusCode, Value) {
    let mut r = client().get(app.url(path));
    if let Some(s) = s {
        r = r.header("cookie", &s.cookie);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
        .fetch_one(c)
        .await
        .unwrap())
}

async fn event_count(app: &TestApp, kind: &str) -> i64 {
    amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM events WHERE kind = $1")
        .bind(kind)
        .fetch_one(c)
        .await
        .unwrap())
}

fn changes(uscc: &str) -> String {
    format!("/api/v1/entities/{uscc}/changes")
}

fn message(v: &Value) -> String {
    v["message"].as_str().unwrap_or_default().to_string()
}

async fn add_standard_address(app: &TestApp, address: &str) {
    let entry = amr_address::library::prepare("3701", address, None).unwrap();
    let mut tx = app.db.begin().await.unwrap();
    amr_address::library::add(&mut tx, &Actor::system(), &Scope::all(), &entry)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_approved_change_is_public_with_its_history_and_licence_version_two() {
    for b in backends() {
        let w = world(b).await;
        let app = &w.app;
        let (_, code) = get(app, None, &format!("/api/v1/entities/{}/code", w.uscc)).await;
        assert_eq!(code["licence"]["version"], 1, "{code}");
        let standard = "山东省济南市历下区泉城路188号";
        add_standard_address(app, standard).await;

        // Same trade name and industry as itself: the entity does not collide with itself.
        let new_name = "济南泉城示例商贸股份有限公司";
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({
                "name": new_name,
                "legal_rep": "李明",
                "legal_rep_id": NEW_REP_ID,
                "capital": "200万",
                "address": standard,
                "scope": "日用百货销售；五金产品零售",
                "industry": "5211",
                "reason": "股东会决议变更登记事项",
            }),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?} {v}");
        let a = &v["application"];
        assert_eq!(a["status"], "filed");
        assert_eq!(a["round"], 1);
        assert_eq!(a["address_outcome"], "accepted_standard");
        assert_eq!(a["requested"]["capital_yuan"], 2_000_000);
        let id = a["id"].as_i64().unwrap();
        // Nothing is applied before approval.
        let (_, rec) = get(app, None, &format!("/api/v1/entities/{}", w.uscc)).await;
        assert_eq!(rec["name"], NAME);
        assert_eq!(event_count(app, "registry.change.filed").await, 1);

        // The officer's queue and view; the enterprise cannot approve.
        let (st, q) = get(app, Some(&w.officer), "/api/v1/office/changes").await;
        assert_eq!(st, StatusCode::OK, "{q}");
        assert_eq!(q["items"][0]["id"], id);
        let (st, d) = get(
            app,
            Some(&w.officer),
            &format!("/api/v1/office/changes/{id}"),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert!(
            d["comparison"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["field"] == "name"
                    && r["current"] == NAME
                    && r["requested"] == new_name),
            "{d}"
        );
        let (st, _) = post(
            app,
            &w.firm,
            &format!("/api/v1/office/changes/{id}/approve"),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // An officer of another county does not see it.
        let far = account(app, "far.examiner", Role::Officer, "370202", None).await;
        let (st, _) = post(
            app,
            &far,
            &format!("/api/v1/office/changes/{id}/approve"),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        let (st, v) = post(
            app,
            &w.officer,
            &format!("/api/v1/office/changes/{id}/approve"),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["application"]["status"], "approved");
        assert!(v["application"]["timepoint"].is_i64());
        // Approving twice is refused with the rule.
        let (st, v) = post(
            app,
            &w.officer,
            &format!("/api/v1/office/changes/{id}/approve"),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(message(&v).contains("已核准"), "{v}");

        let (_, rec) = get(app, None, &format!("/api/v1/entities/{}", w.uscc)).await;
        assert_eq!(rec["name"], new_name, "{rec}");
        assert_eq!(rec["capital_yuan"], 2_000_000, "{rec}");
        assert_eq!(rec["address"], standard);
        assert_eq!(rec["scope"], "日用百货销售；五金产品零售");
        assert_eq!(rec["industry"], "5211");
        let history = rec["history"].as_array().unwrap();
        let row = |f: &str| history.iter().find(|h| h["field"] == f).cloned();
        let name_row = row("name").expect("a history row for the name");
        assert_eq!(name_row["before"], NAME);
        assert_eq!(name_row["after"], new_name);
        assert_eq!(row("capital_yuan").unwrap()["after"], "2000000");
        assert_eq!(row("legal_rep").unwrap()["after"], "李明");
        // The ID number changed, but neither number is published.
        let id_row = row("legal_rep_id").expect("a history row for the ID number");
        assert!(id_row["before"].is_null() && id_row["after"].is_null());
        assert!(!rec.to_string().contains(NEW_REP_ID));

        // Who and which application, for officers.
        let rows = store::history(&app.db, &Scope::all(), &w.uscc)
            .await
            .unwrap();
        let named = rows.iter().find(|r| r.field == "name").unwrap();
        assert_eq!(named.actor_name.as_deref(), Some("examiner"));
        assert_eq!(named.application_id, Some(id));
        let e = store::get_public(&app.db, &w.uscc).await.unwrap();
        assert_eq!(e.legal_rep_id.as_deref(), Some(NEW_REP_ID));

        let (_, code) = get(app, None, &format!("/api/v1/entities/{}/code", w.uscc)).await;
        assert_eq!(code["licence"]["version"], 2, "{code}");
        assert_eq!(event_count(app, "registry.change.approved").await, 1);
        assert_eq!(event_count(app, "registry.entity.changed").await, 1);
        app_stop(w).await;
    }
}

async fn app_stop(w: World) {
    w.app.stop().await;
}

#[tokio::test]
async fn a_name_of_another_entity_and_a_negative_list_domicile_are_refused() {
    for b in backends() {
        let w = world(b).await;
        let app = &w.app;
        let other = new_entity("济南明湖商贸有限公司", Status::Active);
        register(app, &other).await;
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({"name": "济南明湖商贸有限公司", "reason": "更名"}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b:?} {v}");
        assert_eq!(v["field"], "name");
        assert!(
            message(&v).contains("字号和行业相同") && message(&v).contains(&other.uscc),
            "{v}"
        );
        // A name without its parts.
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({"name": "明湖", "reason": "更名"}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");

        let rule = amr_address::rules::RuleInput {
            kind: "building".into(),
            value: "齐鲁国际大厦".into(),
            division: "3701".into(),
            reason: "列入征收范围".into(),
            legal_basis: "《市场主体登记管理条例》第十一条".into(),
            ..Default::default()
        }
        .validate(amr_address::check::today())
        .unwrap();
        let mut tx = app.db.begin().await.unwrap();
        amr_address::rules::add(&mut tx, &Actor::system(), &Scope::all(), &rule)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({"address": "山东省济南市历下区泉城路180号齐鲁国际大厦10楼",
                   "address_commitment": true, "reason": "迁址"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            message(&v).contains("负面清单") && message(&v).contains("列入征收范围"),
            "{v}"
        );
        // Not in the library: the commitment is required.
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({"address": "山东省济南市历下区经十路9999号", "reason": "迁址"}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "address_commitment");
        // Out of the province: a migration, not a change.
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({"address": "北京市海淀区中关村大街1号", "address_commitment": true,
                   "reason": "迁址"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(message(&v).contains("迁移登记"), "{v}");
        // Nothing changed; a capital that is not an amount; no reason.
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({"scope": "日用百货销售", "reason": "无"}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert!(message(&v).contains("没有变更"), "{v}");
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({"capital": "很多", "reason": "增资"}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "capital");
        let (st, v) = post(app, &w.firm, &changes(&w.uscc), json!({"capital": "300万"})).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "reason");

        assert_eq!(count(app, "change_applications").await, 0);
        assert_eq!(count(app, "address_commitments").await, 0);
        app_stop(w).await;
    }
}

#[tokio::test]
async fn a_returned_application_is_refiled_and_only_one_is_open() {
    for b in backends() {
        let w = world(b).await;
        let app = &w.app;
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({"capital": "50万", "reason": "减资"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?} {v}");
        let id = v["application"]["id"].as_i64().unwrap();
        // A second one while the first is under examination.
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({"scope": "日用百货销售；文具用品零售", "reason": "增项"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(message(&v).contains("正在审查"), "{v}");

        // Returned without reasons: refused; with reasons: returned.
        let ret = format!("/api/v1/office/changes/{id}/return");
        let (st, v) = post(app, &w.officer, &ret, json!({"reasons": " "})).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        let (st, v) = post(
            app,
            &w.officer,
            &ret,
            json!({"reasons": "减资须附债权人公告材料"}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["application"]["status"], "returned");
        let (st, _) = post(
            app,
            &w.officer,
            &format!("/api/v1/office/changes/{id}/approve"),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let (st, list) = get(app, Some(&w.firm), &changes(&w.uscc)).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(list["items"][0]["reasons"], "减资须附债权人公告材料");

        // Filing again is the corrected refiling of the returned one.
        let (st, v) = post(
            app,
            &w.firm,
            &changes(&w.uscc),
            json!({"capital": "80万", "reason": "减资，已公告"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(v["application"]["id"], id);
        assert_eq!(v["application"]["round"], 2);
        assert_eq!(v["application"]["status"], "filed");
        assert!(v["application"]["reasons"].is_null());
        let (st, v) = post(
            app,
            &w.officer,
            &format!("/api/v1/office/changes/{id}/approve"),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (_, rec) = get(app, None, &format!("/api/v1/entities/{}", w.uscc)).await;
        assert_eq!(rec["capital_yuan"], 800_000);
        assert_eq!(count(app, "change_applications").await, 1);
        assert_eq!(event_count(app, "registry.change.returned").await, 1);
        assert_eq!(event_count(app, "registry.change.filed").await, 2);
        app_stop(w).await;
    }
}

#[tokio::test]
async fn a_deregistered_entity_and_another_entitys_account_are_refused() {
    for b in backends() {
        let w = world(b).await;
        let app = &w.app;
        let gone = new_entity("济南旧日商贸有限公司", Status::Deregistered);
        register(app, &gone).await;
        let gone_firm = account(app, "gone", Role::Enterprise, "", Some(&gone.uscc)).await;
        let (st, v) = post(
            app,
            &gone_firm,
            &changes(&gone.uscc),
            json!({"capital": "300万", "reason": "增资"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b:?} {v}");
        assert!(message(&v).contains("注销"), "{v}");

        // The other entity's account: not found, for filing and for reading.
        let (st, _) = post(
            app,
            &gone_firm,
            &changes(&w.uscc),
            json!({"capital": "300万", "reason": "增资"}),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = get(app, Some(&gone_firm), &changes(&w.uscc)).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        // Without a session: no.
        let resp = client()
            .post(app.url(&changes(&w.uscc)))
            .json(&json!({"capital": "300万", "reason": "增资"}))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error());
        assert_eq!(count(app, "change_applications").await, 0);
        app_stop(w).await;
    }
}

#[tokio::test]
async fn the_portal_form_and_the_officer_pages_carry_a_change_through() {
    for b in backends() {
        let w = world(b).await;
        let app = &w.app;
        let c = client();
        let html = c
            .get(app.url(&format!("/portal/entities/{}", w.uscc)))
            .header("cookie", &w.firm.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // (The shell escapes `/` in attributes.)
        assert!(
            html.contains(&format!("{}/changes\"", w.uscc)) && html.contains("提交变更申请"),
            "{html}"
        );
        let r = c
            .post(app.url(&format!("/manage/entities/{}/changes", w.uscc)))
            .header("cookie", &w.firm.cookie)
            .form(&[
                ("csrf", w.firm.csrf.as_str()),
                ("scope", "日用百货销售；文具用品零售"),
                ("reason", "增加经营项目"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{b:?}");
        let html = c
            .get(app.url(&format!("/portal/entities/{}", w.uscc)))
            .header("cookie", &w.firm.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("审查中"), "{html}");

        let queue = c
            .get(app.url("/office/changes"))
            .header("cookie", &w.officer.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(queue.status(), StatusCode::OK);
        let html = queue.text().await.unwrap();
        assert!(html.contains(&w.uscc), "{html}");
        let (_, list) = get(app, Some(&w.officer), "/api/v1/office/changes").await;
        let id = list["items"][0]["id"].as_i64().unwrap();
        let html = c
            .get(app.url(&format!("/office/changes/{id}")))
            .header("cookie", &w.officer.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("文具用品零售") && html.contains("增加经营项目"),
            "{html}"
        );
        let r = c
            .post(app.url(&format!("/office/changes/{id}/approve")))
            .header("cookie", &w.officer.cookie)
            .form(&[("csrf", w.officer.csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, rec) = get(app, None, &format!("/api/v1/entities/{}", w.uscc)).await;
        assert_eq!(rec["scope"], "日用百货销售；文具用品零售");
        // The officer's record links each history row to its application.
        let html = c
            .get(app.url(&format!("/office/entities/{}", w.uscc)))
            .header("cookie", &w.officer.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(&format!("/office/changes/{id}\"")), "{html}");
        // The enterprise's account cannot open the officers' queue.
        let r = c
            .get(app.url("/office/changes"))
            .header("cookie", &w.firm.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        app_stop(w).await;
    }
}
