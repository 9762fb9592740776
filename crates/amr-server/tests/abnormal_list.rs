//! The abnormal-operation list through the whole server, on every backend: the sweep on a
//! fixed day lists exactly the entities without last year's report (not those established
//! this year, not deregistered ones) from the decision day and is idempotent; a back report
//! removes the listing; officers list on the other grounds and remove; the 3-year warning and
//! the transfer to the serious-violation list; the public list and entity page.

mod support;

use support::post_json as send;

use std::time::Duration;

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Role, Scope};
use amr_kernel::calendar::Calendar;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::testing::TestDb;
use amr_registry::abnormal::store as abnormal;
use amr_registry::annual::model::{Form, ReportInput, validate};
use amr_registry::lifecycle::deregistration;
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store;
use amr_server::{Ports, ServerConfig};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, account, backends, client};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn entity(name: &str, t: EntityType, established: &str, status: Status) -> NewEntity {
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
        address: "山东省济南市历下区泉城路1号".into(),
        division: "370102001".into(),
        scope: "日用百货销售".into(),
        industry: "5299".into(),
        status,
    }
}

fn input() -> ReportInput {
    ReportInput {
        address: "山东省济南市历下区泉城路1号".into(),
        phone: "0531-86001234".into(),
        operating_status: "operating".into(),
        headcount: "5".into(),
        total_assets: "1".into(),
        total_liabilities: "1".into(),
        owners_equity: "0".into(),
        total_revenue: "1".into(),
        main_business_revenue: "1".into(),
        total_profit: "0".into(),
        net_profit: "0".into(),
        total_tax: "0".into(),
        ..Default::default()
    }
}

/// Files a report for `year` directly in the store, on `on`.
async fn file_report(db: &amr_kernel::db::Db, uscc: &str, year: i32, on: &str) {
    let mut tx = db.begin().await.unwrap();
    let e = store::lock_scoped(&mut tx, &Scope::all(), uscc)
        .await
        .unwrap();
    let r = validate(Form::of(e.entity_type), &input(), &Ok(None)).unwrap();
    amr_registry::annual::store::file(
        &mut tx,
        &Actor::system(),
        &e,
        year,
        r,
        vec![],
        "online",
        day(on),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

struct World {
    filed: NewEntity,
    unreported: NewEntity,
    young: NewEntity,
    gone: NewEntity,
    shop: NewEntity,
    suspended: NewEntity,
}

/// The entities of the sweep's world, written before the server starts.
async fn world(db: &amr_kernel::db::Db) -> World {
    let w = World {
        filed: entity(
            "济南已报示例有限公司",
            EntityType::Enterprise,
            "2020-05-01",
            Status::Active,
        ),
        unreported: entity(
            "济南未报示例有限公司",
            EntityType::Enterprise,
            "2020-05-01",
            Status::Active,
        ),
        young: entity(
            "济南新设示例有限公司",
            EntityType::Enterprise,
            "2026-02-01",
            Status::Active,
        ),
        gone: entity(
            "济南注销示例有限公司",
            EntityType::Enterprise,
            "2019-05-01",
            Status::Deregistered,
        ),
        shop: entity(
            "历下区未报示例小吃店",
            EntityType::IndividualBusiness,
            "2025-12-31",
            Status::Active,
        ),
        suspended: entity(
            "济南歇业示例有限公司",
            EntityType::Enterprise,
            "2021-03-01",
            Status::Suspended,
        ),
    };
    let mut tx = db.begin().await.unwrap();
    for e in [
        &w.filed,
        &w.unreported,
        &w.young,
        &w.gone,
        &w.shop,
        &w.suspended,
    ] {
        store::create(&mut tx, &Actor::system(), e).await.unwrap();
    }
    tx.commit().await.unwrap();
    file_report(db, &w.filed.uscc, 2025, "2026-04-01").await;
    w
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

async fn get(app: &TestApp, path: &str) -> Value {
    reqwest::get(app.url(path))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn listed_usccs(app: &TestApp) -> Vec<String> {
    let v = get(app, "/api/v1/abnormal").await;
    let mut u: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uscc"].as_str().unwrap().to_string())
        .collect();
    u.sort();
    u
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

#[tokio::test]
async fn the_sweep_lists_exactly_the_unreported_on_the_decision_day() {
    let cal = Calendar::embedded();
    for b in backends() {
        // On 30 June the season is still open: nothing is listed.
        let test_db = TestDb::with_sets(b, &amr_server::migration_sets()).await;
        let w = world(&test_db.db).await;
        let none = abnormal::sweep(&test_db.db, cal, day("2026-06-30"))
            .await
            .unwrap();
        assert_eq!(none.listed, 0);

        // The server on 1 July 2026 (the first working day after 30 June) lists by itself.
        let app = start(test_db, "2026-07-01").await;
        let mut expected = vec![
            w.unreported.uscc.clone(),
            w.shop.uscc.clone(),
            w.suspended.uscc.clone(),
        ];
        expected.sort();
        let mut got = Vec::new();
        for _ in 0..100 {
            got = listed_usccs(&app).await;
            if got.len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(got, expected, "{b:?}");
        // Idempotent: another run lists nobody again.
        let again = abnormal::sweep(&app.db, cal, day("2026-07-01"))
            .await
            .unwrap();
        assert_eq!(again.listed, 0);
        let again = abnormal::sweep(&app.db, cal, day("2026-07-02"))
            .await
            .unwrap();
        assert_eq!(again.listed, 0);
        assert_eq!(listed_usccs(&app).await, expected);

        // The listing: reason, basis, decision number, date; the flag; public events.
        let acts = get(
            &app,
            &format!("/api/v1/entities/{}/abnormal", w.unreported.uscc),
        )
        .await;
        let l = &acts["listings"][0];
        assert_eq!(l["ground"], "no_annual_report");
        assert_eq!(l["year"], 2025);
        assert_eq!(l["listed_on"], "2026-07-01");
        assert!(l["basis"].as_str().unwrap().contains("第十七条"));
        assert!(
            l["decision_no"]
                .as_str()
                .unwrap()
                .starts_with("异列〔2026〕")
        );
        assert!(
            deregistration::flags(&app.db, &w.unreported.uscc)
                .await
                .unwrap()
                .abnormal_list
        );
        assert!(
            !deregistration::flags(&app.db, &w.filed.uscc)
                .await
                .unwrap()
                .abnormal_list
        );
        let events = stream(&app).await;
        assert_eq!(
            events
                .iter()
                .filter(|e| e["kind"] == "registry.entity.abnormal_listed")
                .count(),
            3
        );
        // Search by name and by code, and the public pages.
        let v = get(&app, &format!("/api/v1/abnormal?q={}", "未报示例有限")).await;
        assert_eq!(v["items"].as_array().unwrap().len(), 1);
        let v = get(&app, &format!("/api/v1/abnormal?q={}", &w.shop.uscc[..12])).await;
        assert_eq!(v["items"][0]["uscc"], w.shop.uscc.as_str());
        let html = reqwest::get(app.url("/abnormal?q=%E6%9C%AA%E6%8A%A5"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("济南未报示例有限公司"), "{html}");
        assert!(!html.contains("济南已报示例有限公司"));
        let (st, _) = (
            reqwest::get(app.url("/api/v1/abnormal?page=0"))
                .await
                .unwrap()
                .status(),
            (),
        );
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let page = reqwest::get(app.url(&format!("/entities/{}", w.unreported.uscc)))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("列入经营异常名录"), "{page}");

        // A back report removes the listing automatically, in the same transaction.
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&w.unreported.uscc)).await;
        let mut body = json!({
            "address": "山东省济南市历下区泉城路1号", "phone": "0531-86001234",
            "operating_status": "operating", "headcount": "5",
            "total_assets": "1", "total_liabilities": "1", "owners_equity": "0",
            "total_revenue": "1", "main_business_revenue": "1", "total_profit": "0",
            "net_profit": "0", "total_tax": "0",
        });
        body["publish"] = json!([]);
        let (st, r) = send(
            &app,
            &firm,
            &format!("/api/v1/entities/{}/annual-reports/2025", w.unreported.uscc),
            body,
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        assert_eq!(r["late"], true);
        let acts = get(
            &app,
            &format!("/api/v1/entities/{}/abnormal", w.unreported.uscc),
        )
        .await;
        assert_eq!(acts["listings"][0]["state"], "removed");
        assert_eq!(acts["listings"][0]["removal_ground"], "back_report");
        assert!(
            !deregistration::flags(&app.db, &w.unreported.uscc)
                .await
                .unwrap()
                .abnormal_list
        );
        assert!(
            stream(&app)
                .await
                .iter()
                .any(|e| e["kind"] == "registry.entity.abnormal_removed")
        );
        assert_eq!(listed_usccs(&app).await.len(), 2);
        let _ = (&w.young, &w.gone);
        app.stop().await;
    }
}

#[tokio::test]
async fn officers_list_on_other_grounds_and_remove() {
    for b in backends() {
        let test_db = TestDb::with_sets(b, &amr_server::migration_sets()).await;
        let w = world(&test_db.db).await;
        // Outside the decision window: the sweep lists nobody.
        let app = start(test_db, "2026-09-01").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(listed_usccs(&app).await.is_empty());
        let officer = account(&app, "officer", Role::Officer, "3701", None).await;
        let far = account(&app, "far", Role::Officer, "3702", None).await;
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&w.filed.uscc)).await;
        let path = format!("/api/v1/office/entities/{}/abnormal", w.filed.uscc);
        let body = json!({"ground": "unreachable", "reason": "2026年8月实地核查，登记住所无该企业，电话无法接通"});

        let (st, _) = send(&app, &firm, &path, body.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = send(&app, &far, &path, body.clone()).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, v) = send(
            &app,
            &officer,
            &path,
            json!({"ground": "no_annual_report", "reason": "x"}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        let (st, v) = send(
            &app,
            &officer,
            &path,
            json!({"ground": "unreachable", "reason": ""}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "reason");
        assert!(listed_usccs(&app).await.is_empty(), "nothing written");

        let (st, l) = send(&app, &officer, &path, body.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{l}");
        assert_eq!(l["listed_on"], "2026-09-01");
        let (st, v) = send(&app, &officer, &path, body.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            deregistration::flags(&app.db, &w.filed.uscc)
                .await
                .unwrap()
                .abnormal_list
        );

        let id = l["id"].as_i64().unwrap();
        let rpath = format!("/api/v1/office/abnormal/{id}/removal");
        let (st, v) = send(
            &app,
            &officer,
            &rpath,
            json!({"ground": "back_report", "note": "已补报"}),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        let (st, _) = send(
            &app,
            &far,
            &rpath,
            json!({"ground": "address_confirmed", "note": "复核"}),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, v) = send(
            &app,
            &officer,
            &rpath,
            json!({"ground": "address_confirmed", "note": "2026年9月复核，企业已在登记住所经营"}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["state"], "removed");
        assert!(
            v["removal_decision_no"]
                .as_str()
                .unwrap()
                .starts_with("异移〔2026〕")
        );
        let (st, _) = send(
            &app,
            &officer,
            &rpath,
            json!({"ground": "address_confirmed", "note": "再次"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            !deregistration::flags(&app.db, &w.filed.uscc)
                .await
                .unwrap()
                .abnormal_list
        );

        // The officer's page shows both acts and the forms.
        let html = client()
            .get(app.url(&format!("/office/entities/{}/abnormal", w.filed.uscc)))
            .header("cookie", &officer.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("abnormal-decide"), "{html}");
        assert!(html.contains("异移〔2026〕"));
        app.stop().await;
    }
}

#[tokio::test]
async fn three_years_on_the_list_warns_then_transfers() {
    let cal = Calendar::embedded();
    for b in backends() {
        let test_db = TestDb::with_sets(b, &amr_server::migration_sets()).await;
        let db = test_db.db.clone();
        let e = entity(
            "济南失联示例有限公司",
            EntityType::Enterprise,
            "2018-05-01",
            Status::Active,
        );
        let mut tx = db.begin().await.unwrap();
        store::create(&mut tx, &Actor::system(), &e).await.unwrap();
        tx.commit().await.unwrap();
        // Listed on 20 July 2023 for being unreachable; reports filed since, so only the
        // 3-year clock acts.
        let mut tx = db.begin().await.unwrap();
        abnormal::decide_listing(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            &e.uscc,
            "unreachable",
            "实地核查无法联系",
            day("2023-07-20"),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        file_report(&db, &e.uscc, 2025, "2026-04-01").await;

        // The warning comes 60 days before the mark (20 July 2026): from 21 May.
        assert_eq!(
            abnormal::sweep(&db, cal, day("2026-05-20"))
                .await
                .unwrap()
                .warned,
            0
        );
        let o = abnormal::sweep(&db, cal, day("2026-05-21")).await.unwrap();
        assert_eq!(o.warned, 1);
        assert_eq!(
            abnormal::sweep(&db, cal, day("2026-05-22"))
                .await
                .unwrap()
                .warned,
            0
        );
        // Not before the mark.
        assert_eq!(
            abnormal::sweep(&db, cal, day("2026-07-19"))
                .await
                .unwrap()
                .transferred,
            0
        );
        let o = abnormal::sweep(&db, cal, day("2026-07-20")).await.unwrap();
        assert_eq!(o.transferred, 1);
        assert_eq!(
            abnormal::sweep(&db, cal, day("2026-07-21"))
                .await
                .unwrap()
                .transferred,
            0
        );
        let flags = deregistration::flags(&db, &e.uscc).await.unwrap();
        assert!(flags.serious_list);
        assert!(!flags.abnormal_list);

        let app = start(test_db, "2026-07-21").await;
        let acts = get(&app, &format!("/api/v1/entities/{}/abnormal", e.uscc)).await;
        assert_eq!(acts["listings"][0]["state"], "transferred");
        assert_eq!(acts["listings"][0]["warned_on"], "2026-05-21");
        assert_eq!(acts["serious"][0]["listed_on"], "2026-07-20");
        assert!(
            acts["serious"][0]["decision_no"]
                .as_str()
                .unwrap()
                .starts_with("严列〔2026〕")
        );
        let kinds: Vec<String> = stream(&app)
            .await
            .iter()
            .map(|v| v["kind"].as_str().unwrap().to_string())
            .collect();
        assert!(kinds.contains(&"registry.entity.abnormal_warned".to_string()));
        assert!(kinds.contains(&"registry.entity.serious_listed".to_string()));
        let page = reqwest::get(app.url(&format!("/entities/{}", e.uscc)))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("严重违法失信名单"), "{page}");
        assert!(page.contains("公告提醒"));
        // No longer on the abnormal list's public page.
        assert!(listed_usccs(&app).await.is_empty());
        app.stop().await;
    }
}
