//! The abnormal list's second part through the whole server, on every backend: the
//! enterprise's online removal request and the officers' queue and decision (API and pages);
//! paper annual reports entered by officers; the address service's abnormal count following
//! the list.

mod support;

use support::post_json as send;

use std::time::Duration;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::{Role, Scope};
use amr_kernel::calendar::Calendar;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::testing::TestDb;
use amr_registry::abnormal::store as abnormal;
use amr_registry::lifecycle::deregistration;
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store;
use amr_server::{Ports, ServerConfig};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Session, TestApp, account, backends, client};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const ADDRESS: &str = "山东省济南市历下区泉城路188号";

fn entity(name: &str, t: EntityType, established: &str) -> NewEntity {
    let rt = match t {
        EntityType::IndividualBusiness => RegistrationType::IndividualBusiness,
        _ => RegistrationType::Enterprise,
    };
    NewEntity {
        uscc: Uscc::generate(rt, "370102", &mut rand::rng())
            .unwrap()
            .to_string(),
        name: name.into(),
        entity_type: t,
        legal_rep: "王建国".into(),
        legal_rep_id: None,
        phone: None,
        capital_yuan: (t != EntityType::IndividualBusiness).then_some(1_000_000),
        established: day(established),
        address: ADDRESS.into(),
        division: "370102001".into(),
        scope: "日用百货销售".into(),
        industry: "5299".into(),
        status: Status::Active,
    }
}

async fn create(db: &amr_kernel::db::Db, es: &[&NewEntity]) {
    let mut tx = db.begin().await.unwrap();
    for e in es {
        store::create(&mut tx, &Actor::system(), e).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn start(test_db: TestDb, today: &str) -> TestApp {
    TestApp::start_on(
        test_db,
        ServerConfig {
            fixed_today: Some(day(today)),
            ..ServerConfig::default()
        },
        Ports::default(),
    )
    .await
}

async fn get_as(app: &TestApp, s: &Session, path: &str) -> (StatusCode, String) {
    let resp = client()
        .get(app.url(path))
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn form(
    app: &TestApp,
    s: &Session,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut f: Vec<(&str, &str)> = vec![("csrf", s.csrf.as_str())];
    f.extend_from_slice(fields);
    let resp = client()
        .post(app.url(path))
        .form(&f)
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap();
    let st = resp.status();
    let loc = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    (st, loc.unwrap_or(text))
}

async fn stream(app: &TestApp) -> Vec<Value> {
    let text = reqwest::get(app.url("/api/v1/stream?timepoint=0&follow=false"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

async fn actions(app: &TestApp) -> Vec<String> {
    audit::list(&app.db, &Scope::all(), None, 10_000)
        .await
        .unwrap()
        .iter()
        .map(|a| a.action.clone())
        .collect()
}

async fn open_requests(app: &TestApp) -> i64 {
    amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM abnormal_removal_requests WHERE state = 'open'",
    )
    .fetch_one(c)
    .await
    .unwrap())
}

#[tokio::test]
async fn enterprises_request_removal_and_officers_decide() {
    let cal = Calendar::embedded();
    for b in backends() {
        let test_db = TestDb::with_sets(b, &amr_server::migration_sets()).await;
        let lost = entity(
            "济南失联申请示例有限公司",
            EntityType::Enterprise,
            "2020-05-01",
        );
        let other = entity("济南他人示例有限公司", EntityType::Enterprise, "2020-05-01");
        create(&test_db.db, &[&lost, &other]).await;
        // Both miss their 2025 report: listed on 1 July 2026.
        assert_eq!(
            abnormal::sweep(&test_db.db, cal, day("2026-07-01"))
                .await
                .unwrap()
                .listed,
            2
        );
        let app = start(test_db, "2026-09-01").await;
        let officer = account(&app, "officer", Role::Officer, "3701", None).await;
        let far = account(&app, "far", Role::Officer, "3702", None).await;
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&lost.uscc)).await;
        let rival = account(&app, "rival", Role::Enterprise, "", Some(&other.uscc)).await;
        // The officer lists it for being unreachable.
        let (st, l) = send(
            &app,
            &officer,
            &format!("/api/v1/office/entities/{}/abnormal", lost.uscc),
            json!({"ground": "unreachable", "reason": "2026年8月实地核查，登记住所无该企业"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{l}");
        let id = l["id"].as_i64().unwrap();
        let mine = get_as(
            &app,
            &firm,
            &format!("/api/v1/entities/{}/abnormal/removal-requests", lost.uscc),
        )
        .await;
        let v: Value = serde_json::from_str(&mine.1).unwrap();
        let missed = v["listings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["ground"] == "no_annual_report")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let grounds: Vec<&str> = v["listings"][0]["grounds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["key"].as_str().unwrap())
            .collect();
        assert_eq!(grounds, ["address_changed", "address_confirmed"]);

        // The portal page: the request form for the unreachable listing, the link to the
        // report form for the missed one.
        let (st, html) = get_as(
            &app,
            &firm,
            &format!("/portal/entities/{}/abnormal", lost.uscc),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("removal-request-form"), "{html}");
        assert!(html.contains(&format!(
            "/portal/entities/{}/annual-reports/2025",
            lost.uscc
        )));
        let (_, portal) = get_as(&app, &firm, &format!("/portal/entities/{}", lost.uscc)).await;
        assert!(portal.contains("abnormal-portal-link"), "{portal}");

        // Refusals, nothing written.
        let rpath = format!(
            "/api/v1/entities/{}/abnormal/{id}/removal-requests",
            lost.uscc
        );
        let ok = json!({"ground": "address_confirmed", "statement": "企业已于2026年8月20日回到登记住所经营，可实地核查", "new_phone": "0531-86001234"});
        for (who, body, want) in [
            (&officer, ok.clone(), StatusCode::FORBIDDEN),
            (&rival, ok.clone(), StatusCode::NOT_FOUND),
            (
                &firm,
                json!({"ground": "back_report", "statement": "x"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                &firm,
                json!({"ground": "info_published", "statement": "x"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                &firm,
                json!({"ground": "address_changed", "statement": "已迁址"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                &firm,
                json!({"ground": "address_confirmed", "statement": "  "}),
                StatusCode::BAD_REQUEST,
            ),
            (
                &firm,
                json!({"ground": "address_confirmed", "statement": "可联系", "new_phone": "电话"}),
                StatusCode::BAD_REQUEST,
            ),
            (&firm, json!("not an object"), StatusCode::BAD_REQUEST),
        ] {
            let (st, v) = send(&app, who, &rpath, body).await;
            assert_eq!(st, want, "{b:?} {v}");
        }
        // A missed report is not asked for: the back report removes it.
        let (st, v) = send(
            &app,
            &firm,
            &format!(
                "/api/v1/entities/{}/abnormal/{missed}/removal-requests",
                lost.uscc
            ),
            ok.clone(),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["message"].as_str().unwrap().contains("补报"), "{v}");
        // Another entity's listing through one's own code: not found.
        let other_listing = abnormal::for_entity(&app.db, &other.uscc).await.unwrap()[0].id;
        let (st, _) = send(
            &app,
            &firm,
            &format!(
                "/api/v1/entities/{}/abnormal/{other_listing}/removal-requests",
                lost.uscc
            ),
            ok.clone(),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_eq!(open_requests(&app).await, 0);

        // The request; one open at a time.
        let (st, r) = send(&app, &firm, &rpath, ok.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        assert_eq!(r["state"], "open");
        assert_eq!(r["new_phone"], "0531-86001234");
        let (st, v) = send(&app, &firm, &rpath, ok.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let rid = r["id"].as_i64().unwrap();

        // The queue: the officer in the jurisdiction sees it, the far one does not.
        let (_, q) = get_as(&app, &officer, "/api/v1/office/abnormal/requests").await;
        let q: Value = serde_json::from_str(&q).unwrap();
        assert_eq!(q["items"].as_array().unwrap().len(), 1, "{q}");
        assert_eq!(q["items"][0]["name"], "济南失联申请示例有限公司");
        assert_eq!(q["items"][0]["listing_ground"], "unreachable");
        let (_, q) = get_as(&app, &far, "/api/v1/office/abnormal/requests").await;
        let q: Value = serde_json::from_str(&q).unwrap();
        assert!(q["items"].as_array().unwrap().is_empty());
        let (st, _) = get_as(&app, &firm, "/api/v1/office/abnormal/requests").await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = get_as(&app, &officer, "/api/v1/office/abnormal/requests?state=x").await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let (st, html) = get_as(&app, &officer, "/office/abnormal/requests").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("decide-request"), "{html}");
        assert!(html.contains("济南失联申请示例有限公司"));

        // Refused with a reason: the listing stays, the enterprise sees why.
        let dpath = format!("/api/v1/office/abnormal/requests/{rid}/decision");
        let (st, _) = send(
            &app,
            &far,
            &dpath,
            json!({"decision": "refuse", "note": "x"}),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = send(
            &app,
            &firm,
            &dpath,
            json!({"decision": "refuse", "note": "x"}),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = send(
            &app,
            &officer,
            &dpath,
            json!({"decision": "maybe", "note": "x"}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let (st, _) = send(
            &app,
            &officer,
            &dpath,
            json!({"decision": "refuse", "note": ""}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let refusal = "2026年9月1日实地核查，登记住所仍无人办公";
        let (st, v) = send(
            &app,
            &officer,
            &dpath,
            json!({"decision": "refuse", "note": refusal}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["request"]["state"], "refused");
        assert_eq!(v["listing"]["state"], "listed");
        let (st, _) = send(
            &app,
            &officer,
            &dpath,
            json!({"decision": "approve", "note": "再次"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, html) = get_as(
            &app,
            &firm,
            &format!("/portal/entities/{}/abnormal", lost.uscc),
        )
        .await;
        assert!(html.contains(refusal), "{html}");
        assert!(html.contains("refusal-reason"));

        // A new request through the portal form, approved through the queue's form.
        let (st, loc) = form(
            &app,
            &firm,
            &format!(
                "/portal/entities/{}/abnormal/{id}/removal-request",
                lost.uscc
            ),
            &[
                ("ground", "address_changed"),
                ("statement", "已于2026年9月办理住所变更登记"),
                ("new_address", "山东省济南市历下区经十路9777号"),
                ("new_phone", ""),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{loc}");
        // A bad form shows the page again with the reason.
        let (st, html) = form(
            &app,
            &firm,
            &format!(
                "/portal/entities/{}/abnormal/{id}/removal-request",
                lost.uscc
            ),
            &[("ground", "address_confirmed"), ("statement", "再次申请")],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("form-error"), "{html}");
        let (_, q) = get_as(&app, &officer, "/api/v1/office/abnormal/requests").await;
        let q: Value = serde_json::from_str(&q).unwrap();
        let rid2 = q["items"][0]["id"].as_i64().unwrap();
        assert_eq!(
            q["items"][0]["new_address"],
            "山东省济南市历下区经十路9777号"
        );
        let (st, loc) = form(
            &app,
            &officer,
            &format!("/office/abnormal/requests/{rid2}/decision"),
            &[("decision", "approve"), ("note", "已核对住所变更登记")],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{loc}");
        let l = abnormal::for_entity(&app.db, &lost.uscc)
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.id == id)
            .unwrap();
        assert_eq!(l.state, "removed");
        assert_eq!(l.removal_ground.as_deref(), Some("address_changed"));
        assert!(
            l.removal_decision_no
                .as_deref()
                .unwrap()
                .starts_with("异移〔2026〕")
        );
        let mine = get_as(
            &app,
            &firm,
            &format!("/api/v1/entities/{}/abnormal/removal-requests", lost.uscc),
        )
        .await;
        let v: Value = serde_json::from_str(&mine.1).unwrap();
        assert_eq!(v["requests"][0]["state"], "approved");
        assert_eq!(
            v["requests"][0]["removal_decision_no"],
            json!(l.removal_decision_no)
        );
        // The missed report's listing is still in force: the flag stays.
        assert!(
            deregistration::flags(&app.db, &lost.uscc)
                .await
                .unwrap()
                .abnormal_list
        );
        // The removal is public; the request's steps are internal; all audited.
        let events = stream(&app).await;
        assert!(
            events
                .iter()
                .any(|e| e["kind"] == "registry.entity.abnormal_removed")
        );
        assert!(!events.iter().any(|e| {
            e["kind"]
                .as_str()
                .unwrap()
                .starts_with("registry.abnormal.")
        }));
        let acts = actions(&app).await;
        for a in [
            "abnormal.request",
            "abnormal.request_refuse",
            "abnormal.request_approve",
            "abnormal.remove",
        ] {
            assert!(acts.iter().any(|x| x == a), "{a} not audited");
        }
        let internal: i64 = amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM events WHERE kind LIKE 'registry.abnormal.removal_%'",
        )
        .fetch_one(c)
        .await
        .unwrap());
        assert_eq!(internal, 4);
        app.stop().await;
    }
}

fn shop_report(publish: &[&str]) -> Value {
    json!({
        "address": ADDRESS, "phone": "0531-86001234", "operating_status": "operating",
        "headcount": "3", "total_revenue": "125000.50", "total_tax": "1200",
        "publish": publish,
    })
}

#[tokio::test]
async fn officers_enter_paper_reports_for_the_entity() {
    for b in backends() {
        let test_db = TestDb::with_sets(b, &amr_server::migration_sets()).await;
        let shop = entity(
            "历下区纸质年报示例小吃店",
            EntityType::IndividualBusiness,
            "2024-03-01",
        );
        create(&test_db.db, &[&shop]).await;
        let app = start(test_db, "2026-05-10").await;
        let officer = account(&app, "officer", Role::Officer, "3701", None).await;
        let far = account(&app, "far", Role::Officer, "3702", None).await;
        let owner = account(&app, "owner", Role::Enterprise, "", Some(&shop.uscc)).await;
        let path = format!("/api/v1/office/entities/{}/annual-reports/2025", shop.uscc);

        let (st, _) = send(&app, &owner, &path, shop_report(&[])).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = send(&app, &far, &path, shop_report(&[])).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        // The same validation as online: an individual business has no guarantees.
        let mut bad = shop_report(&[]);
        bad["guarantees"] = json!("甲|乙|100");
        let (st, v) = send(&app, &officer, &path, bad).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        let (st, _) = send(
            &app,
            &officer,
            &format!("/api/v1/office/entities/{}/annual-reports/2026", shop.uscc),
            shop_report(&[]),
        )
        .await;
        assert_eq!(
            st,
            StatusCode::UNPROCESSABLE_ENTITY,
            "the year has not ended"
        );
        assert!(
            amr_registry::annual::store::get(&app.db, &shop.uscc, 2025)
                .await
                .unwrap()
                .is_none()
        );

        // Filed from paper: the channel and the officer recorded; the publication choice kept.
        let (st, r) = send(&app, &officer, &path, shop_report(&["headcount"])).await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        assert_eq!(r["channel"], "paper");
        assert!(
            r["filed_by"].as_str().unwrap().starts_with("account:"),
            "{r}"
        );
        assert_eq!(r["late"], false);
        let public: Value =
            reqwest::get(app.url(&format!("/api/v1/entities/{}/annual-reports", shop.uscc)))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let items = &public["items"][0]["items"];
        assert_eq!(items["headcount"], 3);
        assert!(
            items["financials"].as_array().unwrap().is_empty(),
            "{items}"
        );
        assert!(!public.to_string().contains("0531-86001234"));
        let acts = actions(&app).await;
        assert!(acts.contains(&"annual_report.file".to_string()));

        // The officer page shows it as a paper filing, with the form link.
        let (st, html) = get_as(
            &app,
            &officer,
            &format!("/office/entities/{}/abnormal", shop.uscc),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("channel-paper"), "{html}");
        assert!(html.contains("paper-link"));

        // The page form corrects it (the season is open), publishing revenue too.
        let fpath = format!("/office/entities/{}/annual-reports/2025", shop.uscc);
        let (st, html) = get_as(&app, &officer, &fpath).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("paper-note"), "{html}");
        assert!(html.contains(&format!("action=\"{fpath}\"")));
        let (st, _) = get_as(&app, &owner, &fpath).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, loc) = form(
            &app,
            &officer,
            &fpath,
            &[
                ("address", ADDRESS),
                ("phone", "0531-86001234"),
                ("operating_status", "operating"),
                ("headcount", "4"),
                ("total_revenue", "130000"),
                ("total_tax", "1300"),
                ("publish_headcount", "on"),
                ("publish_total_revenue", "on"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{loc}");
        let stored = amr_registry::annual::store::get(&app.db, &shop.uscc, 2025)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, 2);
        assert_eq!(stored.channel, "paper");
        assert_eq!(stored.published, vec!["headcount", "total_revenue"]);
        // A bad form: shown again with the reason, nothing written.
        let (st, html) = form(
            &app,
            &officer,
            &fpath,
            &[
                ("address", ADDRESS),
                ("phone", "0531-86001234"),
                ("headcount", "多"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(html.contains("form-error"), "{html}");
        assert_eq!(
            amr_registry::annual::store::get(&app.db, &shop.uscc, 2025)
                .await
                .unwrap()
                .unwrap()
                .version,
            2
        );
        app.stop().await;
    }
}

async fn address_abnormal(app: &TestApp, uscc: &str) -> (bool, i64) {
    amr_kernel::on_conn!(&app.db, c => sqlx::query_as::<_, (bool, i64)>(
        "SELECT e.abnormal, r.abnormal_count FROM address_risk_entities e \
         JOIN address_risk r ON r.risk_key = e.risk_key WHERE e.uscc = $1",
    )
    .bind(uscc)
    .fetch_optional(c)
    .await
    .unwrap())
    .unwrap_or((false, -1))
}

async fn wait_for(app: &TestApp, uscc: &str, want: (bool, i64)) {
    let mut got = (false, -1);
    for _ in 0..100 {
        got = address_abnormal(app, uscc).await;
        if got == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{uscc}: address abnormal {got:?}, wanted {want:?}");
}

#[tokio::test]
async fn the_address_abnormal_count_follows_the_list() {
    const { assert!(amr_address::risk::ABNORMAL_LIST_CONNECTED) };
    for b in backends() {
        let test_db = TestDb::with_sets(b, &amr_server::migration_sets()).await;
        let a = entity(
            "济南同址甲示例有限公司",
            EntityType::Enterprise,
            "2020-05-01",
        );
        let c = entity(
            "济南同址乙示例有限公司",
            EntityType::Enterprise,
            "2020-05-01",
        );
        create(&test_db.db, &[&a, &c]).await;
        let app = start(test_db, "2026-09-01").await;
        wait_for(&app, &a.uscc, (false, 0)).await;
        let officer = account(&app, "officer", Role::Officer, "3701", None).await;
        let mut ids = Vec::new();
        for (e, ground) in [(&a, "unreachable"), (&c, "false_info"), (&c, "unreachable")] {
            let (st, l) = send(
                &app,
                &officer,
                &format!("/api/v1/office/entities/{}/abnormal", e.uscc),
                json!({"ground": ground, "reason": "2026年8月核查"}),
            )
            .await;
            assert_eq!(st, StatusCode::CREATED, "{l}");
            ids.push(l["id"].as_i64().unwrap());
        }
        // Two entities on the list at the address (one of them twice): 2.
        wait_for(&app, &a.uscc, (true, 2)).await;
        let remove = |id: i64, ground: &'static str| {
            let app = &app;
            let officer = &officer;
            async move {
                let (st, v) = send(
                    app,
                    officer,
                    &format!("/api/v1/office/abnormal/{id}/removal"),
                    json!({"ground": ground, "note": "复核"}),
                )
                .await;
                assert_eq!(st, StatusCode::OK, "{v}");
            }
        };
        remove(ids[0], "address_confirmed").await;
        wait_for(&app, &a.uscc, (false, 1)).await;
        // One of c's two listings removed: still on the list.
        remove(ids[1], "info_published").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        wait_for(&app, &c.uscc, (true, 1)).await;
        remove(ids[2], "address_confirmed").await;
        wait_for(&app, &c.uscc, (false, 0)).await;

        // The rebuild reads the same state from the list.
        let (st, l) = send(
            &app,
            &officer,
            &format!("/api/v1/office/entities/{}/abnormal", a.uscc),
            json!({"ground": "unreachable", "reason": "2026年9月再次核查"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{l}");
        wait_for(&app, &a.uscc, (true, 1)).await;
        amr_server::address_wiring::rebuild(&app.db, |_| {})
            .await
            .unwrap();
        assert_eq!(address_abnormal(&app, &a.uscc).await, (true, 1));
        assert_eq!(address_abnormal(&app, &c.uscc).await, (false, 1));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_direct_removal_closes_the_open_request() {
    for b in backends() {
        let test_db = TestDb::with_sets(b, &amr_server::migration_sets()).await;
        let lost = entity(
            "济南直接移出示例有限公司",
            EntityType::Enterprise,
            "2020-05-01",
        );
        create(&test_db.db, &[&lost]).await;
        let app = start(test_db, "2026-09-01").await;
        let officer = account(&app, "officer", Role::Officer, "3701", None).await;
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&lost.uscc)).await;
        let (st, l) = send(
            &app,
            &officer,
            &format!("/api/v1/office/entities/{}/abnormal", lost.uscc),
            json!({"ground": "unreachable", "reason": "2026年8月实地核查，登记住所无该企业"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{l}");
        let id = l["id"].as_i64().unwrap();
        let (st, r) = send(
            &app,
            &firm,
            &format!(
                "/api/v1/entities/{}/abnormal/{id}/removal-requests",
                lost.uscc
            ),
            json!({"ground": "address_confirmed", "statement": "企业已回到登记住所经营"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        let rid = r["id"].as_i64().unwrap();
        assert_eq!(open_requests(&app).await, 1);

        // The officer checks on the spot and removes the listing directly, not through the
        // queue: the request does not stay open on a listing no longer in force.
        let (st, v) = send(
            &app,
            &officer,
            &format!("/api/v1/office/abnormal/{id}/removal"),
            json!({"ground": "address_confirmed", "note": "2026年9月实地核查，企业在登记住所经营"}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let removal_no = v["removal_decision_no"].as_str().unwrap().to_string();
        assert_eq!(open_requests(&app).await, 0);
        let (_, mine) = get_as(
            &app,
            &firm,
            &format!("/api/v1/entities/{}/abnormal/removal-requests", lost.uscc),
        )
        .await;
        let mine: Value = serde_json::from_str(&mine).unwrap();
        let req = &mine["requests"][0];
        assert_eq!(req["id"], rid);
        assert_eq!(req["state"], "closed");
        assert_eq!(req["removal_decision_no"], removal_no.as_str());
        assert_eq!(req["decided_on"], "2026-09-01");
        assert!(
            req["decision_note"].as_str().unwrap().contains(&removal_no),
            "{req}"
        );
        // It can no longer be decided, and the officers find it under "closed".
        let (st, v) = send(
            &app,
            &officer,
            &format!("/api/v1/office/abnormal/requests/{rid}/decision"),
            json!({"decision": "refuse", "note": "迟到的决定"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (st, q) = get_as(
            &app,
            &officer,
            "/api/v1/office/abnormal/requests?state=closed",
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{q}");
        let q: Value = serde_json::from_str(&q).unwrap();
        assert_eq!(q["items"][0]["id"], rid);
        let (st, html) = get_as(&app, &officer, "/office/abnormal/requests?state=closed").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("已办结"), "{html}");
        let (_, html) = get_as(
            &app,
            &firm,
            &format!("/portal/entities/{}/abnormal", lost.uscc),
        )
        .await;
        assert!(html.contains("closed-note"), "{html}");
        assert!(html.contains(&removal_no), "{html}");
        assert!(
            actions(&app)
                .await
                .iter()
                .any(|a| a == "abnormal.request_close")
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_province_officer_decides_a_missed_year_late_in_the_browser_pages() {
    for b in backends() {
        let test_db = TestDb::with_sets(b, &amr_server::migration_sets()).await;
        let silent = entity("济南漏报示例有限公司", EntityType::Enterprise, "2020-05-01");
        create(&test_db.db, &[&silent]).await;
        // The server comes up after the 2025 window (1 July to the 10th working day after
        // 30 June 2026) without having run in it: nothing was listed.
        let app = start(test_db, "2026-08-03").await;
        let province = account(&app, "prov", Role::Officer, "37", None).await;
        let city = account(&app, "city", Role::Officer, "3701", None).await;
        let (st, v) = get_as(&app, &province, "/api/v1/office/abnormal/sweeps").await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let v: Value = serde_json::from_str(&v).unwrap();
        assert_eq!(v["years"][0]["year"], 2025);
        assert_eq!(v["years"][0]["state"], "missed", "{v}");
        assert_eq!(v["years"][0]["listed"], 0);
        // Older years than any sweep this register ran are not offered.
        assert_eq!(v["years"][1]["year"], 2024);
        assert_eq!(v["years"][1]["state"], "before_system", "{v}");
        let (_, html) = get_as(&app, &province, "/office/abnormal/sweeps").await;
        assert!(html.contains("late-decision"), "{html}");
        let (_, html) = get_as(&app, &city, "/office/abnormal/sweeps").await;
        assert!(
            !html.contains("late-decision"),
            "a city officer has no form: {html}"
        );

        // Refusals change nothing: a city officer; no reason; a year not shown.
        let late = "/api/v1/office/abnormal/sweeps/2025/late-decision";
        let why = json!({"reason": "2026年7月机房搬迁，系统停机至7月20日"});
        let (st, _) = send(&app, &city, late, why.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = send(&app, &province, late, json!({"reason": " "})).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "reason");
        let (st, v) = send(
            &app,
            &province,
            "/api/v1/office/abnormal/sweeps/2019/late-decision",
            why.clone(),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        let (st, v) = send(
            &app,
            &province,
            "/api/v1/office/abnormal/sweeps/2024/late-decision",
            why.clone(),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (st, html) = form(
            &app,
            &province,
            "/office/abnormal/sweeps/2025/late-decision",
            &[("reason", "")],
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(html.contains("form-error"), "{html}");
        assert!(
            abnormal::for_entity(&app.db, &silent.uscc)
                .await
                .unwrap()
                .is_empty()
        );

        // The form starts it; the page follows it to the end.
        let (st, loc) = form(
            &app,
            &province,
            "/office/abnormal/sweeps/2025/late-decision",
            &[("reason", "2026年7月机房搬迁，系统停机至7月20日")],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{loc}");
        let mut done = Value::Null;
        for _ in 0..200 {
            let (_, v) = get_as(&app, &province, "/api/v1/office/abnormal/sweeps").await;
            let v: Value = serde_json::from_str(&v).unwrap();
            if v["years"][0]["state"] == "completed" && v["running"] == false {
                done = v;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(done["years"][0]["listed"], 1, "{done}");
        assert_eq!(done["years"][0]["completed_on"], "2026-08-03");
        let l = abnormal::for_entity(&app.db, &silent.uscc).await.unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].ground, "no_annual_report");
        assert!(
            l[0].late_reason.as_deref().unwrap().contains("机房搬迁"),
            "{l:?}"
        );
        // Once is enough.
        let (st, v) = send(&app, &province, late, why).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (_, html) = get_as(&app, &province, "/office/abnormal/sweeps").await;
        assert!(html.contains("data-state=\"completed\""), "{html}");
        assert!(!html.contains("late-decision\""), "{html}");
        app.stop().await;
    }
}
