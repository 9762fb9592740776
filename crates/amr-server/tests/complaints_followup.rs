//! The complaint path finished, through the real server on each backend, from Monday
//! 2026-09-28 (the week before National Day) and, with a second server on the same database,
//! from later days:
//!
//! 1. evidence and messages: the complainant attaches photos and PDFs (type by content, size
//!    and count limits, nothing written on a refusal), downloads them with number + phone;
//!    officers of the jurisdiction only; messages between the complainant, the bureau (notes
//!    stay internal) and the business in ODR; a notice per decision on the tracking page;
//! 2. the category set at intake and corrected by the officer; the dashboard's counters:
//!    working days filed → accepted across the holiday, money recovered, a reopening taking
//!    the close back; the SVG page with its tables;
//! 3. publicity by period and category: the business sees its figures and answers during
//!    the review window; the public sees them, with the statement, only after.

mod support;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Role;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::model::{EntityType, NewEntity, Status};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Session, TestApp, account, backends, client};

const PHONE: &str = "13912345678";
const NAME: &str = "林晓梅";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn app(b: support::Backend) -> TestApp {
    let config = amr_server::ServerConfig {
        fixed_today: Some(day("2026-09-28")),
        ..amr_server::ServerConfig::default()
    };
    TestApp::spawn_with(b, config).await
}

/// A second server on the same database whose day is `on`.
struct Later {
    running: amr_server::Running,
    base: String,
}

async fn later(app: &TestApp, on: &str) -> Later {
    let config = amr_server::ServerConfig {
        fixed_today: Some(day(on)),
        search_dir: app.test_db.dir().join(format!("search-{on}")),
        signing_key_file: app.test_db.dir().join("keys").join("signing.key"),
        ..amr_server::ServerConfig::default()
    };
    let running = amr_server::start(amr_server::app_state(app.db.clone(), config), "127.0.0.1:0")
        .await
        .unwrap();
    let base = format!("http://{}", running.addr);
    Later { running, base }
}

async fn register(app: &TestApp, name: &str, division: &str) -> String {
    let e = NewEntity {
        uscc: Uscc::generate(
            RegistrationType::Enterprise,
            &division[..6],
            &mut rand::rng(),
        )
        .unwrap()
        .to_string(),
        name: name.into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "王建国".into(),
        legal_rep_id: Some("11010519491231002X".into()),
        phone: Some("13800000000".into()),
        capital_yuan: Some(1_000_000),
        established: day("2020-05-01"),
        address: "山东省济南市历下区泉城路1号".into(),
        division: division.into(),
        scope: "家用电器销售".into(),
        industry: "5137".into(),
        status: Status::Active,
    };
    let mut tx = app.db.begin().await.unwrap();
    amr_registry::store::create(&mut tx, &Actor::system(), &e)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    e.uscc
}

async fn send(
    base: &str,
    s: Option<&Session>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = client().request(method, format!("{base}{path}"));
    if let Some(b) = body {
        r = r.json(&b);
    }
    if let Some(s) = s {
        r = r
            .header("cookie", &s.cookie)
            .header("x-csrf-token", &s.csrf);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn post(base: &str, s: Option<&Session>, path: &str, body: Value) -> (StatusCode, Value) {
    send(base, s, reqwest::Method::POST, path, Some(body)).await
}

async fn get(base: &str, s: Option<&Session>, path: &str) -> (StatusCode, Value) {
    send(base, s, reqwest::Method::GET, path, None).await
}

/// A multipart body by hand: text fields, then files (name, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----amr-test-boundary-7f3a";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    base: &str,
    number: &str,
    phone: &str,
    files: &[(&str, &[u8])],
) -> (StatusCode, Value) {
    let (ct, body) = multipart(&[("phone", phone)], files);
    let resp = client()
        .post(format!("{base}/api/v1/complaints/{number}/attachments"))
        .header("content-type", ct)
        .body(body)
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

async fn count(app: &TestApp, sql: &str) -> i64 {
    let sql = sql.to_string();
    match &app.db {
        amr_kernel::db::Db::Sqlite(p, _) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(p)
            .await
            .unwrap(),
        amr_kernel::db::Db::Postgres(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

fn complaint(uscc: &str, facts: &str, category: &str) -> Value {
    json!({
        "name": NAME, "phone": PHONE, "uscc": uscc,
        "purchase": "滚筒洗衣机一台", "purchase_date": "2026-09-01", "amount": "2599.00",
        "facts": facts, "claim": "更换新机或退货退款", "category": category,
    })
}

async fn track(base: &str, number: &str) -> Value {
    let (s, t) = post(
        base,
        None,
        "/api/v1/complaints/track",
        json!({"number": number, "phone": PHONE}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t
}

#[tokio::test]
async fn evidence_messages_notices_category_and_the_dashboard() {
    for b in backends() {
        let app = app(b).await;
        let base = app.base.clone();
        let uscc = register(&app, "济南泉城家电销售有限公司", "370102001").await;
        let officer = account(&app, "lixia_officer", Role::Officer, "370102", None).await;
        let city = account(&app, "jinan_officer", Role::Officer, "3701", None).await;
        let elsewhere = account(&app, "qingdao_officer", Role::Officer, "3702", None).await;

        // A category outside the list is refused, nothing written.
        let facts = "洗衣机使用第五天出现漏水，售后上门两次仍未修好，门店拒绝更换。";
        let before = count(&app, "SELECT COUNT(*) FROM complaints").await;
        let (s, e) = post(
            &base,
            None,
            "/api/v1/complaints",
            complaint(&uscc, facts, "goods.weapons"),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["field"], "category", "{e}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM complaints").await, before);
        let (s, filed) = post(
            &base,
            None,
            "/api/v1/complaints",
            complaint(&uscc, facts, "goods.appliance"),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{filed}");
        let number = filed["number"].as_str().unwrap().to_string();

        // The complainant was told where it went; the category is on the matter.
        let t = track(&base, &number).await;
        assert_eq!(t["category"]["code"], "goods.appliance", "{t}");
        assert_eq!(t["notices"].as_array().unwrap().len(), 1, "{t}");
        let n0 = t["notices"][0]["zh"].as_str().unwrap();
        assert!(
            n0.contains("分送管辖市场监管部门") && n0.contains("2026-10-13"),
            "{n0}"
        );

        // Evidence: a PDF and a PNG are taken; an HTML file named .pdf, a wrong phone and
        // too many files are refused with nothing stored.
        let (s, v) = upload(
            &base,
            &number,
            PHONE,
            &[("收据.pdf", PDF), ("photo.png", PNG)],
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["attachments"][0]["content_type"], "application/pdf");
        assert_eq!(v["attachments"][1]["content_type"], "image/png");
        let pdf_id = v["attachments"][0]["id"].as_i64().unwrap();
        let (s, v) = upload(
            &base,
            &number,
            PHONE,
            &[("fake.pdf", b"<html><script>alert(1)</script>")],
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(v["message"].as_str().unwrap().contains("PDF"), "{v}");
        let (s, _) = upload(&base, &number, "13900000000", &[("a.pdf", PDF)]).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let five: Vec<(&str, &[u8])> = (0..5).map(|_| ("x.pdf", PDF)).collect();
        let (s, v) = upload(&base, &number, PHONE, &five).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM matter_attachments").await,
            2
        );

        // The complainant downloads with number + phone; the officer of the county and of
        // the city can; another city's cannot.
        let r = client()
            .post(format!(
                "{base}/api/v1/complaints/{number}/attachments/{pdf_id}"
            ))
            .json(&json!({"phone": PHONE}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
        let (s, _) = post(
            &base,
            None,
            &format!("/api/v1/complaints/{number}/attachments/{pdf_id}"),
            json!({"phone": "13900000000"}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        for (who, want) in [
            (&officer, StatusCode::OK),
            (&city, StatusCode::OK),
            (&elsewhere, StatusCode::NOT_FOUND),
        ] {
            let r = client()
                .get(format!(
                    "{base}/api/v1/office/complaints/{number}/attachments/{pdf_id}"
                ))
                .header("cookie", &who.cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), want);
        }
        let (s, _) = get(
            &base,
            None,
            &format!("/api/v1/office/complaints/{number}/attachments/{pdf_id}"),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // Messages: the complainant writes; the officer answers and keeps a note.
        let (s, v) = post(
            &base,
            None,
            &format!("/api/v1/complaints/{number}/messages"),
            json!({"phone": PHONE, "text": "补充：门店经理当时承认是质量问题。"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, _) = post(
            &base,
            None,
            &format!("/api/v1/complaints/{number}/messages"),
            json!({"phone": PHONE, "text": ""}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = post(
            &base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/messages"),
            json!({"text": "已收到，将联系经营者核实。"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = post(
            &base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/messages"),
            json!({"text": "内部：该店本月第三次被投诉。", "internal": true}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = post(
            &base,
            Some(&elsewhere),
            &format!("/api/v1/office/complaints/{number}/messages"),
            json!({"text": "越权留言"}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let t = track(&base, &number).await;
        let msgs = t["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 2, "{t}");
        assert_eq!(msgs[0]["by"]["code"], "consumer");
        assert_eq!(msgs[1]["by"]["code"], "bureau");
        assert!(!t.to_string().contains("第三次"), "{t}");
        assert!(t["notices"].to_string().contains("给您留言"), "{t}");
        assert_eq!(t["attachments"].as_array().unwrap().len(), 2);
        let (_, item) = get(
            &base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}"),
        )
        .await;
        assert_eq!(item["messages"].as_array().unwrap().len(), 3, "{item}");
        assert_eq!(item["messages"][2]["internal"], true);

        // The officer corrects the category; a bad one is refused.
        let (s, v) = post(
            &base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/category"),
            json!({"category": "service.sales"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _) = post(
            &base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/category"),
            json!({"category": "nonsense"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (_, item) = get(
            &base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}"),
        )
        .await;
        assert_eq!(item["category"]["code"], "service.sales");

        // Accepted on 10-20 (a second server on that day): 12 working days after 09-28
        // (09-29, 09-30, 10-08, 10-09, 10-10 make-up, 10-12 … 10-16, 10-19, 10-20); closed
        // with ¥300 recovered.
        let l = later(&app, "2026-10-20").await;
        let (_, item) = get(
            &l.base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}"),
        )
        .await;
        let (s, item) = post(
            &l.base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/act"),
            json!({"transition": "accept", "version": item["version"].to_string()}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{item}");
        assert_eq!(item["accept_working_days"], 12, "{item}");
        let (s, item) = post(
            &l.base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/act"),
            json!({"transition": "close", "version": item["version"].to_string(),
                   "outcome": "mediated", "summary": "经调解，经营者退还部分货款。", "amount": "300.00"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{item}");
        let t = track(&l.base, &number).await;
        let notices = t["notices"].to_string();
        assert!(
            notices.contains("受理") && notices.contains("办结"),
            "{notices}"
        );

        // The dashboard: September received one; October accepted and closed it.
        let (s, d) = get(
            &l.base,
            Some(&city),
            "/api/v1/office/complaints/dashboard?from=2026-09&to=2026-10",
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{d}");
        assert_eq!(d["months"][0]["month"], "2026-09");
        assert_eq!(d["months"][0]["received"], 1, "{d}");
        assert_eq!(d["months"][1]["accepted"], 1);
        assert_eq!(d["months"][1]["avg_accept_days"], 12.0);
        assert_eq!(d["months"][1]["closed"], 1);
        assert_eq!(d["months"][1]["avg_close_days"], 12.0);
        assert_eq!(d["months"][1]["recovered"], "300.00");
        assert_eq!(d["regions"][0]["code"], "370102", "{d}");
        assert_eq!(d["total"]["recovered_fen"], 30000);
        assert!(d.get("charts").is_none());
        let (s, d) = get(
            &l.base,
            Some(&elsewhere),
            "/api/v1/office/complaints/dashboard?from=2026-09&to=2026-10",
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(d["total"]["received"], 0, "{d}");
        let (s, _) = get(
            &l.base,
            Some(&city),
            "/api/v1/office/complaints/dashboard?from=2026-13",
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = get(&l.base, None, "/api/v1/office/complaints/dashboard").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // The page: SVG charts with their titles, the tables beside them.
        let r = client()
            .get(format!(
                "{}/office/complaints/dashboard?from=2026-09&to=2026-10",
                l.base
            ))
            .header("cookie", &city.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        for needle in [
            "<svg",
            "role=\"img\"",
            "id=\"chart-volume-t\"",
            "id=\"dash-months\"",
            "id=\"dash-regions\"",
            "300.00",
            "历下区",
        ] {
            assert!(html.contains(needle), "{needle}: {html}");
        }

        // Reopened: the close is taken back from October's counters.
        let (_, item) = get(
            &l.base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}"),
        )
        .await;
        let (s, v) = post(
            &l.base,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/act"),
            json!({"transition": "reopen", "version": item["version"].to_string(), "reason": "经营者未履行调解协议"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, d) = get(
            &l.base,
            Some(&city),
            "/api/v1/office/complaints/dashboard?from=2026-09&to=2026-10",
        )
        .await;
        assert_eq!(d["months"][1]["closed"], 0, "{d}");
        assert_eq!(d["months"][1]["recovered"], "0.00");
        assert_eq!(d["months"][1]["accepted"], 1);
        l.running.stop().await.unwrap();
        app.stop().await;
    }
}

#[tokio::test]
async fn the_business_reviews_its_figures_before_they_are_published() {
    for b in backends() {
        let app = app(b).await;
        let base = app.base.clone();
        let uscc = register(&app, "济南泉城家电销售有限公司", "370102001").await;
        let officer = account(&app, "lixia_officer", Role::Officer, "370102", None).await;
        let firm = account(&app, "shop_account", Role::Enterprise, "", Some(&uscc)).await;
        let other_uscc = register(&app, "济南另一家电器有限公司", "370102001").await;
        let other = account(
            &app,
            "other_account",
            Role::Enterprise,
            "",
            Some(&other_uscc),
        )
        .await;
        let (s, _) = post(
            &base,
            Some(&officer),
            "/api/v1/office/odr/enterprises",
            json!({"uscc": uscc}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (s, filed) = post(
            &base,
            None,
            "/api/v1/complaints",
            complaint(
                &uscc,
                "洗衣机脱水时剧烈震动并漏水，门店拒绝退换。",
                "goods.appliance",
            ),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{filed}");
        let number = filed["number"].as_str().unwrap().to_string();
        let (s, _) = post(
            &base,
            None,
            "/api/v1/complaints",
            complaint(&uscc, "购买的烘干机不能正常工作，要求退货。", ""),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);

        // The business writes to the consumer while it handles the complaint; another
        // business cannot.
        let (s, v) = post(
            &base,
            Some(&firm),
            &format!("/api/v1/portal/complaints/{number}/messages"),
            json!({"text": "您好，我们将安排上门检测，请保持电话畅通。"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, _) = post(
            &base,
            Some(&other),
            &format!("/api/v1/portal/complaints/{number}/messages"),
            json!({"text": "冒充留言"}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let t = track(&base, &number).await;
        assert_eq!(t["messages"][0]["by"]["code"], "business", "{t}");

        // 09-28: September runs; the public sees nothing, the business its figures.
        let (_, pubs) = get(
            &base,
            None,
            &format!("/api/v1/enterprises/{uscc}/complaint-stats?period=month"),
        )
        .await;
        assert_eq!(pubs["periods"], json!([]), "{pubs}");
        let (s, mine) = get(
            &base,
            Some(&firm),
            "/api/v1/portal/complaint-stats?period=month",
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        assert_eq!(mine["periods"][0]["stage"], "running");
        assert_eq!(mine["periods"][0]["received"], 2);
        assert_eq!(mine["periods"][0]["review_until"], "2026-10-13");
        let (s, _) = get(&base, Some(&officer), "/api/v1/portal/complaint-stats").await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // 10-09: under review; the business answers (a bad period or an empty statement is
        // refused).
        let l = later(&app, "2026-10-09").await;
        let (_, mine) = get(
            &l.base,
            Some(&firm),
            "/api/v1/portal/complaint-stats?period=quarter",
        )
        .await;
        assert_eq!(mine["periods"][0]["period"], "2026-Q3", "{mine}");
        assert_eq!(mine["periods"][0]["stage"], "review");
        let statement = "两起投诉均已安排上门检测，其中一起已与消费者达成和解。";
        let (s, v) = post(
            &l.base,
            Some(&firm),
            "/api/v1/portal/complaint-stats/2026-09/statement",
            json!({"statement": statement}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["stage"], "review");
        let (s, _) = post(
            &l.base,
            Some(&firm),
            "/api/v1/portal/complaint-stats/2026-13/statement",
            json!({"statement": statement}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = post(
            &l.base,
            Some(&firm),
            "/api/v1/portal/complaint-stats/2026-09/statement",
            json!({"statement": " "}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (_, pubs) = get(
            &l.base,
            None,
            &format!("/api/v1/enterprises/{uscc}/complaint-stats?period=month"),
        )
        .await;
        assert_eq!(pubs["periods"], json!([]), "{pubs}");
        l.running.stop().await.unwrap();

        // 10-14: published with the statement and the categories; no longer changeable.
        let l = later(&app, "2026-10-14").await;
        let (_, pubs) = get(
            &l.base,
            None,
            &format!("/api/v1/enterprises/{uscc}/complaint-stats?period=month"),
        )
        .await;
        let p = &pubs["periods"][0];
        assert_eq!(p["period"], "2026-09", "{pubs}");
        assert_eq!(p["received"], 2);
        assert_eq!(p["statement"], statement);
        let cats = p["categories"].as_array().unwrap();
        assert_eq!(cats.len(), 2, "{pubs}");
        assert!(
            cats.iter()
                .any(|c| c["code"] == "goods.appliance" && c["received"] == 1)
        );
        assert!(
            cats.iter()
                .any(|c| c["code"].is_null() && c["received"] == 1)
        );
        let (s, v) = post(
            &l.base,
            Some(&firm),
            "/api/v1/portal/complaint-stats/2026-09/statement",
            json!({"statement": "改口"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        // The year 2026 is not published before its own window in 2027.
        let (_, years) = get(
            &l.base,
            None,
            &format!("/api/v1/enterprises/{uscc}/complaint-stats?period=year"),
        )
        .await;
        assert_eq!(years["periods"], json!([]), "{years}");
        assert_eq!(years["total"]["received"], 2);
        let r = client()
            .get(format!(
                "{}/enterprises/{uscc}/complaints?period=month",
                l.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(
            html.contains(statement) && html.contains("家用电子电器类"),
            "{html}"
        );
        let (s, _) = get(
            &l.base,
            None,
            &format!("/api/v1/enterprises/{uscc}/complaint-stats?period=week"),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        for public in [html, pubs.to_string()] {
            assert!(
                !public.contains(PHONE) && !public.contains(NAME),
                "{public}"
            );
        }
        l.running.stop().await.unwrap();
        app.stop().await;
    }
}
