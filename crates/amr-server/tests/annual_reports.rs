//! Annual reports through the whole server, on every backend: filing within the season with
//! the tax figures prefilled (and with the tax agency failing), publication choices on the
//! public API and page, corrections, late filing, the individual business's form, and each
//! refusal (nothing written).

mod support;

use support::request as send;

use std::sync::Arc;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::{Role, Scope};
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::error::AppError;
use amr_kernel::tax::{TaxAnswer, TaxDataSource, TaxFigures, TaxFuture};
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store;
use amr_server::{Ports, ServerConfig};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, account, backends, client};

/// A tax agency that answers fixed figures for every enterprise.
#[derive(Debug)]
struct FixedTax;

impl TaxDataSource for FixedTax {
    fn figures<'a>(&'a self, uscc: &'a str, year: i32) -> TaxFuture<'a> {
        Box::pin(async move {
            Ok(Some(TaxAnswer {
                uscc: uscc.to_string(),
                year,
                figures: TaxFigures {
                    total_assets: Some(52_345_678),
                    total_liabilities: Some(12_300_000),
                    owners_equity: Some(40_045_678),
                    total_revenue: Some(98_765_432),
                    main_business_revenue: Some(90_000_000),
                    total_profit: Some(4_567_890),
                    net_profit: Some(3_425_918),
                    total_tax: Some(1_234_567),
                },
                source: "tax".into(),
                evidence: "msg-20260315-0001".into(),
                answered_at: "2026-03-15T02:00:00Z".into(),
            }))
        })
    }
}

/// A tax agency that cannot be reached.
#[derive(Debug)]
struct FailingTax;

impl TaxDataSource for FailingTax {
    fn figures<'a>(&'a self, _uscc: &'a str, _year: i32) -> TaxFuture<'a> {
        Box::pin(async {
            Err(AppError::unavailable(
                "税务部门暂时无法访问 (the tax agency cannot be reached)",
            ))
        })
    }
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn new_entity(name: &str, t: EntityType, established: &str) -> NewEntity {
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
        legal_rep_id: Some("11010519491231002X".into()),
        phone: Some("13912345678".into()),
        capital_yuan: (t != EntityType::IndividualBusiness).then_some(1_000_000),
        established: day(established),
        address: "山东省济南市历下区泉城路1号".into(),
        division: "370102001".into(),
        scope: "日用百货销售".into(),
        industry: "5299".into(),
        status: Status::Active,
    }
}

async fn add(app: &TestApp, e: &NewEntity) {
    let mut tx = app.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), e).await.unwrap();
    tx.commit().await.unwrap();
}

async fn spawn(b: support::Backend, today: &str, tax: Arc<dyn TaxDataSource>) -> TestApp {
    TestApp::spawn_with_ports(
        b,
        ServerConfig {
            fixed_today: Some(day(today)),
            ..ServerConfig::default()
        },
        Ports { tax },
    )
    .await
}

fn report_body() -> Value {
    json!({
        "address": "山东省济南市历下区泉城路1号",
        "postcode": "250011",
        "phone": "0531-86001234",
        "email": "office@quancheng.example",
        "operating_status": "operating",
        "shareholders": "王建国|1000000|600000\n李明|500000|500000",
        "websites": "泉城商贸|www.quancheng.example",
        "headcount": "37",
        "guarantees": "",
        "total_assets": "523456.78",
        "total_liabilities": "123000.00",
        "owners_equity": "400456.78",
        "total_revenue": "987654.32",
        "main_business_revenue": "900000",
        "total_profit": "45678.90",
        // Changed from the agency's 342591.18.
        "net_profit": "340000.00",
        "total_tax": "12345.67",
        "publish": ["headcount", "total_revenue"],
    })
}

async fn kinds(app: &TestApp) -> Vec<Value> {
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

async fn report_rows(app: &TestApp) -> i64 {
    let n: i64 = match &app.db {
        amr_kernel::db::Db::Sqlite(p, _) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM annual_reports")
                .fetch_one(p)
                .await
                .unwrap()
        }
        amr_kernel::db::Db::Postgres(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM annual_reports")
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    n
}

async fn audit_count(app: &TestApp) -> usize {
    audit::list(&app.db, &Scope::all(), None, 10_000)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn filing_with_tax_figures_prefilled_publishes_only_the_chosen_items() {
    for b in backends() {
        let app = spawn(b, "2026-03-15", Arc::new(FixedTax)).await;
        let e = new_entity(
            "济南泉城示例商贸有限公司",
            EntityType::Enterprise,
            "2020-05-01",
        );
        add(&app, &e).await;
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&e.uscc)).await;
        let base = format!("/api/v1/entities/{}/annual-reports/2025", e.uscc);

        // The draft carries the agency's figures, each with its source and evidence.
        let (st, d) = send(
            &app,
            Some(&firm),
            reqwest::Method::GET,
            &format!("{base}/draft"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{b:?} {d}");
        assert_eq!(d["tax_available"], true);
        assert_eq!(d["figures"].as_array().unwrap().len(), 8);
        let assets = &d["figures"][0];
        assert_eq!(assets["key"], "total_assets");
        assert_eq!(assets["value"], "523456.78");
        assert_eq!(assets["source"], "tax");
        assert_eq!(assets["evidence"], "msg-20260315-0001");

        let audits = audit_count(&app).await;
        let (st, r) = send(
            &app,
            Some(&firm),
            reqwest::Method::POST,
            &base,
            Some(report_body()),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?} {r}");
        assert_eq!(r["late"], false);
        assert_eq!(r["version"], 1);
        let figs = r["report"]["financials"].as_array().unwrap();
        let net = figs.iter().find(|f| f["key"] == "net_profit").unwrap();
        assert_eq!(net["source"], "enterprise");
        assert_eq!(net["changed"], true);
        assert_eq!(net["value_fen"], 34_000_000);
        assert_eq!(net["tax_value_fen"], 3_425_918);
        let rev = figs.iter().find(|f| f["key"] == "total_revenue").unwrap();
        assert_eq!(rev["source"], "tax");
        assert_eq!(rev["changed"], false);
        assert_eq!(r["report"]["tax"]["evidence"], "msg-20260315-0001");
        assert_eq!(audit_count(&app).await, audits + 1);

        // The public sees items (1)–(6) without the phone, and only the chosen optional items.
        let (st, p) = send(
            &app,
            None,
            reqwest::Method::GET,
            &format!("/api/v1/entities/{}/annual-reports", e.uscc),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        let items = &p["items"][0]["items"];
        assert_eq!(items["headcount"], 37);
        assert_eq!(items["financials"].as_array().unwrap().len(), 1);
        assert_eq!(items["financials"][0]["key"], "total_revenue");
        assert_eq!(items["shareholders"][0]["name"], "王建国");
        assert!(items.get("guarantees").is_none());
        let text = p.to_string();
        assert!(!text.contains("0531-86001234"), "no phone in public");
        assert!(!text.contains("523456"), "unpublished assets stay hidden");
        // The public page.
        let page = reqwest::get(app.url(&format!("/entities/{}", e.uscc)))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("annual-2025"), "{page}");
        assert!(page.contains("987654.32"));
        assert!(!page.contains("523456.78"));
        assert!(!page.contains("0531-86001234"));
        // The event carries only what is published.
        let events = kinds(&app).await;
        let ev = events
            .iter()
            .find(|v| v["kind"] == "registry.entity.annual_report_published")
            .expect("event");
        assert!(!ev.to_string().contains("0531-86001234"));
        assert!(!ev.to_string().contains("52345678"));
        // Officers see everything.
        let officer = account(&app, "officer", Role::Officer, "3701", None).await;
        let (st, full) = send(
            &app,
            Some(&officer),
            reqwest::Method::GET,
            &format!("/api/v1/office/entities/{}/annual-reports", e.uscc),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{full}");
        assert_eq!(
            full["items"][0]["report"]["contact"]["phone"],
            "0531-86001234"
        );

        // A correction before 30 June: version 2, the earlier one kept.
        let mut body = report_body();
        body["headcount"] = json!("40");
        body["publish"] = json!(["headcount", "total_revenue", "total_assets"]);
        let (st, r2) = send(&app, Some(&firm), reqwest::Method::POST, &base, Some(body)).await;
        assert_eq!(st, StatusCode::CREATED, "{r2}");
        assert_eq!(r2["version"], 2);
        let (_, p) = send(
            &app,
            None,
            reqwest::Method::GET,
            &format!("/api/v1/entities/{}/annual-reports", e.uscc),
            None,
        )
        .await;
        assert_eq!(p["items"][0]["items"]["headcount"], 40);
        assert_eq!(
            p["items"][0]["items"]["financials"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(report_rows(&app).await, 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_failing_tax_agency_leaves_the_form_open_for_typed_figures() {
    for b in backends() {
        let app = spawn(b, "2026-04-01", Arc::new(FailingTax)).await;
        let e = new_entity(
            "济南历山示例科技有限公司",
            EntityType::Enterprise,
            "2024-02-01",
        );
        add(&app, &e).await;
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&e.uscc)).await;
        // The page opens and says so.
        let page = client()
            .get(app.url(&format!("/portal/entities/{}/annual-reports/2025", e.uscc)))
            .header("cookie", &firm.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("未能取得税务数据"), "{html}");
        assert!(html.contains("税务部门暂时无法访问"));
        // The enterprise types the figures.
        let (st, r) = send(
            &app,
            Some(&firm),
            reqwest::Method::POST,
            &format!("/api/v1/entities/{}/annual-reports/2025", e.uscc),
            Some(report_body()),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b:?} {r}");
        let figs = r["report"]["financials"].as_array().unwrap();
        assert!(
            figs.iter()
                .all(|f| f["source"] == "enterprise" && f["tax_value_fen"].is_null())
        );
        assert!(
            r["report"]["tax"]["note"]
                .as_str()
                .unwrap()
                .contains("税务部门暂时无法访问")
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn refusals_name_the_rule_and_write_nothing() {
    for b in backends() {
        let app = spawn(b, "2026-03-15", Arc::new(FixedTax)).await;
        let e = new_entity(
            "济南天桥示例贸易有限公司",
            EntityType::Enterprise,
            "2020-05-01",
        );
        let young = new_entity(
            "济南新设示例贸易有限公司",
            EntityType::Enterprise,
            "2026-01-10",
        );
        let other = new_entity(
            "济南槐荫示例贸易有限公司",
            EntityType::Enterprise,
            "2020-05-01",
        );
        for x in [&e, &young, &other] {
            add(&app, x).await;
        }
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&e.uscc)).await;
        let young_firm = account(&app, "young", Role::Enterprise, "", Some(&young.uscc)).await;
        let officer = account(&app, "officer", Role::Officer, "3701", None).await;
        let path = |u: &str, y: i32| format!("/api/v1/entities/{u}/annual-reports/{y}");
        let audits = audit_count(&app).await;

        // The year has not ended.
        let (st, v) = send(
            &app,
            Some(&firm),
            reqwest::Method::POST,
            &path(&e.uscc, 2026),
            Some(report_body()),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("2026 年度尚未结束"),
            "{v}"
        );
        // Established this year: no report for last year.
        let (st, v) = send(
            &app,
            Some(&young_firm),
            reqwest::Method::POST,
            &path(&young.uscc, 2025),
            Some(report_body()),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["message"].as_str().unwrap().starts_with("该主体成立于"),
            "{v}"
        );
        // Another entity's account; an officer; nobody.
        let (st, _) = send(
            &app,
            Some(&firm),
            reqwest::Method::POST,
            &path(&other.uscc, 2025),
            Some(report_body()),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = send(
            &app,
            Some(&officer),
            reqwest::Method::POST,
            &path(&e.uscc, 2025),
            Some(report_body()),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = send(
            &app,
            None,
            reqwest::Method::POST,
            &path(&e.uscc, 2025),
            Some(report_body()),
        )
        .await;
        assert!(
            st == StatusCode::FORBIDDEN || st == StatusCode::UNAUTHORIZED,
            "{st}"
        );
        // Bad values, each named.
        for (field, value) in [
            ("headcount", json!("-1")),
            ("total_assets", json!("abc")),
            ("total_assets", json!("-5")),
            ("total_revenue", json!("1.234")),
            ("postcode", json!("2500")),
            ("operating_status", json!("bankrupt")),
            ("shareholders", json!("王建国|100|200")),
            ("publish", json!(["phone"])),
        ] {
            let mut body = report_body();
            body[field] = value;
            let (st, v) = send(
                &app,
                Some(&firm),
                reqwest::Method::POST,
                &path(&e.uscc, 2025),
                Some(body),
            )
            .await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{field}: {v}");
            assert_eq!(v["field"], field, "{v}");
            // `field: 中文 (English)`: Chinese before the English in brackets.
            let m = v["message"].as_str().unwrap();
            let text = m.strip_prefix(&format!("{field}: ")).unwrap_or(m);
            let first = text.chars().next().unwrap();
            assert!(!first.is_ascii_alphabetic(), "Chinese first: {m}");
            assert!(text.contains(" ("), "English in brackets: {m}");
        }
        assert_eq!(report_rows(&app).await, 0);
        assert_eq!(audit_count(&app).await, audits);
        assert!(
            !kinds(&app)
                .await
                .iter()
                .any(|v| v["kind"] == "registry.entity.annual_report_published")
        );
        app.stop().await;

        // After 30 June: a first filing is accepted and marked late; no correction any more.
        let app = spawn(b, "2026-07-20", Arc::new(FixedTax)).await;
        add(&app, &e).await;
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&e.uscc)).await;
        let (st, v) = send(
            &app,
            Some(&firm),
            reqwest::Method::POST,
            &path(&e.uscc, 2025),
            Some(report_body()),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(v["late"], true);
        let (st, v) = send(
            &app,
            Some(&firm),
            reqwest::Method::POST,
            &path(&e.uscc, 2025),
            Some(report_body()),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("只能在 2026-06-30 前更正"),
            "{v}"
        );
        let (_, p) = send(
            &app,
            None,
            reqwest::Method::GET,
            &format!("/api/v1/entities/{}/annual-reports", e.uscc),
            None,
        )
        .await;
        assert_eq!(p["items"][0]["late"], true);
        app.stop().await;
    }
}

#[tokio::test]
async fn individual_businesses_file_their_simpler_form() {
    for b in backends() {
        let app = spawn(b, "2026-05-01", Arc::new(FixedTax)).await;
        let e = new_entity(
            "历下区示例小吃店",
            EntityType::IndividualBusiness,
            "2023-08-01",
        );
        add(&app, &e).await;
        let firm = account(&app, "shop", Role::Enterprise, "", Some(&e.uscc)).await;
        let path = format!("/api/v1/entities/{}/annual-reports/2025", e.uscc);
        let (st, d) = send(
            &app,
            Some(&firm),
            reqwest::Method::GET,
            &format!("{path}/draft"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["form"], "individual");
        let keys: Vec<&str> = d["figures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["total_revenue", "total_tax"]);
        // Company items are refused.
        let (st, v) = send(
            &app,
            Some(&firm),
            reqwest::Method::POST,
            &path,
            Some(report_body()),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "shareholders");
        let body = json!({
            "address": "山东省济南市历下区泉城路2号", "phone": "0531-86005678",
            "operating_status": "operating", "headcount": "3",
            "total_revenue": "987654.32", "total_tax": "100",
            "publish": ["total_revenue"],
        });
        let (st, r) = send(&app, Some(&firm), reqwest::Method::POST, &path, Some(body)).await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        assert_eq!(r["form"], "individual");
        let (_, p) = send(
            &app,
            None,
            reqwest::Method::GET,
            &format!("/api/v1/entities/{}/annual-reports", e.uscc),
            None,
        )
        .await;
        let items = &p["items"][0]["items"];
        assert!(items.get("shareholders").is_none());
        assert!(items.get("headcount").is_none());
        assert_eq!(items["financials"][0]["value"], "987654.32");
        app.stop().await;
    }
}
