//! Inspection results through the real server on each backend: recording per item with its
//! event, follow-ups for problems and for entities not found at their address, corrections
//! before publication, attachments (officers only, at most 2 MB, type from the bytes),
//! publication of a visit and of a plan (within the jurisdiction), the public page, the API
//! and the entity page's panel, the overdue flag on the working-day calendar, and refusals
//! that change nothing. Plans and visits are SQL fixtures (the draw is another part).

mod support;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::{Role, Scope};
use amr_kernel::calendar::Calendar;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::events;
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store;
use amr_web::ServerConfig;
use chrono::{Duration, NaiveDate, Utc};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::{Value, json};
use support::{Session, TestApp, backends, client};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// The first inspection day of every fixture plan, and a date long before today on which
/// inspections took place (its deadline passed long ago).
const PLAN_START: &str = "2026-01-05";
const LONG_AGO: &str = "2026-03-02";
/// The audit entries of inspection results (the background credit-risk runs write their own,
/// at any moment, so counts around a refused request leave them out).
const AUDIT_INSPECTION: &str = "SELECT COUNT(*) FROM audit_log WHERE target_kind LIKE 'insp_%'";

fn entity(name: &str, division: &str) -> NewEntity {
    NewEntity {
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
        legal_rep_id: None,
        phone: None,
        capital_yuan: Some(1_000_000),
        established: d("2015-04-01"),
        address: "山东省济南市历下区泉城路1号".into(),
        division: division.into(),
        scope: "食品销售".into(),
        industry: "5221".into(),
        status: Status::Active,
    }
}

struct Fixture {
    plan_id: i64,
    /// Visit 1 (370102, tasks T01 + T02), visit 2 (370103, T01), visit 3 (370102, T02).
    a: NewEntity,
    b: NewEntity,
    c: NewEntity,
}

/// A drawn plan with three visits, its departments, items and inspectors, inserted directly.
async fn fixture(app: &TestApp) -> Fixture {
    let a = entity("济南泉城抽查示例食品有限公司", "370102001");
    let b = entity("济南市中抽查示例商贸有限公司", "370103002");
    let c = entity("济南历下抽查示例超市有限公司", "370102002");
    for e in [&a, &b, &c] {
        let mut tx = app.db.begin().await.unwrap();
        store::create(&mut tx, &Actor::system(), e).await.unwrap();
        tx.commit().await.unwrap();
    }
    let now = Utc::now();
    let plan = json!({
        "format": "amr-inspection-plan/1",
        "name": "2026 年食品经营抽查",
        "period": "2026",
        "scope": "3701",
        "inspection_start": PLAN_START,
        "inspection_end": "2026-12-31",
        "ratios": {"A": 0.03, "B": 0.1, "C": 0.3, "D": 0.65},
        "inspectors_per_department": 2,
        "workload_cap": 50,
        "tasks": [
            {"id": "T01", "name": "食品经营许可检查", "department": "SC",
             "items": ["SC-001", "SC-002"],
             "joined": [{"department": "YJ", "items": ["YJ-001"]}],
             "population": "region:3701"},
            {"id": "T02", "name": "广告发布检查", "department": "SC",
             "items": ["SC-003"], "population": "region:3701"}
        ]
    });
    let mut tx = app.db.begin().await.unwrap();
    let plan_id: i64 = amr_kernel::on_tx!(tx, conn => {
        for (code, name) in [("SC", "市场监管局"), ("YJ", "药品监管局")] {
            sqlx::query("INSERT INTO insp_departments (code, name, name_en, created_at, updated_at) VALUES ($1, $2, $1, $3, $3)")
                .bind(code).bind(name).bind(now).execute(&mut *conn).await.unwrap();
            sqlx::query("INSERT INTO insp_domains (code, department, name) VALUES ($1, $2, $3)")
                .bind(format!("{code}-D")).bind(code).bind("食品").execute(&mut *conn).await.unwrap();
        }
        for (code, dept, name) in [
            ("SC-001", "SC", "食品经营者资质检查"),
            ("SC-002", "SC", "食品贮存条件检查"),
            ("SC-003", "SC", "广告发布行为检查"),
            ("YJ-001", "YJ", "保健食品标签检查"),
        ] {
            sqlx::query("INSERT INTO insp_items (code, department, domain, name, legal_basis, target_type, method, list, population, frequency, updated_at) VALUES ($1, $2, $3, $4, '食品安全法', 'enterprise', '现场检查', 'general', '', '1', $5)")
                .bind(code).bind(dept).bind(format!("{dept}-D")).bind(name).bind(now)
                .execute(&mut *conn).await.unwrap();
        }
        for (id, dept, name) in [("I-SC-1", "SC", "张检查"), ("I-SC-2", "SC", "刘检查"), ("I-YJ-1", "YJ", "陈检查"), ("I-YJ-2", "YJ", "赵检查")] {
            sqlx::query("INSERT INTO insp_inspectors (id, department, name, jurisdiction, qualifications, certificate_no, certificate_expiry, updated_at) VALUES ($1, $2, $3, '3701', '[]', 'Z-0001', $4, $5)")
                .bind(id).bind(dept).bind(name).bind(d("2027-12-31")).bind(now)
                .execute(&mut *conn).await.unwrap();
        }
        let plan_id: i64 = sqlx::query_scalar("INSERT INTO insp_plans (name, period, scope, state, plan_json, created_by, created_at, updated_at) VALUES ('2026 年食品经营抽查', '2026', '3701', 'drawn', $1, 'system', $2, $2) RETURNING id")
            .bind(plan.to_string()).bind(now).fetch_one(&mut *conn).await.unwrap();
        let crews = json!([
            {"department": "SC", "inspectors": ["I-SC-1", "I-SC-2"]},
            {"department": "YJ", "inspectors": ["I-YJ-1", "I-YJ-2"]}
        ]).to_string();
        for (no, e, tasks) in [(1i64, &a, json!(["T01", "T02"])), (2, &b, json!(["T01"])), (3, &c, json!(["T02"]))] {
            sqlx::query("INSERT INTO insp_visits (plan_id, visit_no, uscc, division, tasks, departments, crews, unstaffed, joint) VALUES ($1, $2, $3, $4, $5, '[\"SC\",\"YJ\"]', $6, '[]', $7)")
                .bind(plan_id).bind(no).bind(&e.uscc).bind(&e.division).bind(tasks.to_string()).bind(&crews).bind(no == 1)
                .execute(&mut *conn).await.unwrap();
        }
        plan_id
    });
    tx.commit().await.unwrap();
    Fixture { plan_id, a, b, c }
}

async fn officer(app: &TestApp, name: &str, jurisdiction: &str) -> Session {
    support::account(app, name, Role::Officer, jurisdiction, None).await
}

async fn get(app: &TestApp, s: Option<&Session>, path: &str) -> (StatusCode, String) {
    let mut r = client().get(app.url(path));
    if let Some(s) = s {
        r = r.header(COOKIE, &s.cookie);
    }
    let resp = r.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn post(
    app: &TestApp,
    s: &Session,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut f: Vec<(&str, &str)> = vec![("csrf", s.csrf.as_str())];
    f.extend_from_slice(form);
    let resp = client()
        .post(app.url(path))
        .header(COOKIE, &s.cookie)
        .form(&f)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let loc = resp
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_string());
    (status, loc.unwrap_or(resp.text().await.unwrap()))
}

#[allow(clippy::too_many_arguments)]
async fn record(
    app: &TestApp,
    s: &Session,
    plan: i64,
    visit: i64,
    item: &str,
    outcome: &str,
    findings: &str,
    date: &str,
) -> (StatusCode, String) {
    post(
        app,
        s,
        &format!("/office/inspections/visits/{plan}/{visit}/results"),
        &[
            ("item", item),
            ("outcome", outcome),
            ("findings", findings),
            ("inspected_on", date),
        ],
    )
    .await
}

/// A multipart body with the CSRF field and one file.
fn multipart(csrf: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "amr-test-boundary-5f3c9a";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    app: &TestApp,
    s: &Session,
    result_id: i64,
    filename: &str,
    bytes: &[u8],
) -> (StatusCode, String) {
    let (ct, body) = multipart(&s.csrf, filename, bytes);
    let resp = client()
        .post(app.url(&format!(
            "/office/inspections/results/{result_id}/attachments"
        )))
        .header(COOKIE, &s.cookie)
        .header(CONTENT_TYPE, ct)
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(c)
        .await
        .unwrap())
}

async fn result_id(app: &TestApp, plan: i64, visit: i64, item: &str) -> i64 {
    scalar(
        app,
        &format!(
            "SELECT id FROM insp_results WHERE plan_id = {plan} AND visit_no = {visit} AND item_code = '{item}'"
        ),
    )
    .await
}

async fn events_of(app: &TestApp, kind: &str) -> Vec<events::Event> {
    events::all_after(&app.db, 0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

async fn api(app: &TestApp, query: &str) -> Value {
    reqwest::get(app.url(&format!("/api/v1/inspections/results?{query}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00";

#[tokio::test]
async fn results_are_recorded_followed_up_corrected_and_published() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let f = fixture(&app).await;
        let lixia = officer(&app, "lixia", "370102").await;
        let shizhong = officer(&app, "shizhong", "370103").await;
        let p = f.plan_id;

        // The visit page: entity, tasks, items of the lead and the joined department, crews.
        let (s, html) = get(
            &app,
            Some(&lixia),
            &format!("/office/inspections/visits/{p}/1"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        for text in [
            f.a.name.as_str(),
            "食品经营许可检查",
            "食品经营者资质检查",
            "保健食品标签检查",
            "广告发布行为检查",
            "张检查",
            "陈检查",
        ] {
            assert!(html.contains(text), "{text} missing: {html}");
        }

        // Problems: a row, the internal event with the contract's payload, a follow-up.
        let (s, loc) = record(
            &app,
            &lixia,
            p,
            1,
            "SC-001",
            "problems",
            "冷藏柜温度超标",
            LONG_AGO,
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
        assert!(loc.starts_with(&format!("/office/inspections/visits/{p}/1")));
        let rec = events_of(&app, "supervision.inspection.result_recorded").await;
        assert_eq!(rec.len(), 1);
        assert!(!rec[0].public);
        assert_eq!(
            rec[0].payload_json(),
            json!({"plan_id": p, "visit_no": 1, "item": "SC-001", "outcome": "problems",
                   "uscc": f.a.uscc, "division": "370102001", "inspected_on": LONG_AGO})
        );
        let sc1 = result_id(&app, p, 1, "SC-001").await;
        assert_eq!(
            scalar(&app, &format!("SELECT COUNT(*) FROM insp_followups WHERE result_id = {sc1} AND kind = 'problem' AND state = 'open'")).await,
            1
        );
        // The deadline is 20 working days on the calendar.
        let due: String = amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, String>(
            "SELECT CAST(publish_due AS TEXT) FROM insp_results WHERE id = $1")
            .bind(sc1).fetch_one(c).await.unwrap());
        assert_eq!(
            d(&due),
            Calendar::embedded()
                .add_working_days(d(LONG_AGO), 20)
                .unwrap()
        );

        // Not found at the address: its own event (the abnormal-list process's input).
        let (s, _) = record(&app, &lixia, p, 1, "SC-002", "not_found", "", LONG_AGO).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let nf = events_of(&app, "supervision.inspection.not_found_at_address").await;
        assert_eq!(nf.len(), 1);
        assert_eq!(
            nf[0].payload_json(),
            json!({"uscc": f.a.uscc, "division": "370102001", "plan_id": p, "visit_no": 1,
                   "inspected_on": LONG_AGO})
        );
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM insp_followups WHERE kind = 'not_found' AND state = 'open'"
            )
            .await,
            1
        );
        let (s, _) = record(&app, &lixia, p, 1, "YJ-001", "normal", "", LONG_AGO).await;
        assert_eq!(s, StatusCode::SEE_OTHER);

        // Nothing is public before publication.
        let (_, page) = get(
            &app,
            None,
            &format!("/inspections/results?uscc={}", f.a.uscc),
        )
        .await;
        assert!(!page.contains("食品经营者资质检查"), "{page}");
        assert_eq!(
            api(&app, &format!("uscc={}", f.a.uscc)).await["items"],
            json!([])
        );
        let (s, ent) = get(&app, None, &format!("/entities/{}", f.a.uscc)).await;
        assert_eq!(s, StatusCode::OK);
        assert!(ent.contains("id=\"panel-inspection_results\""), "{ent}");
        assert!(ent.contains("暂无公示的抽查检查结果"), "{ent}");
        assert!(!ent.contains("食品经营者资质检查"));

        // A correction before publication replaces the row (audited before/after) and closes
        // the follow-up the old outcome opened.
        let (s, _) = record(
            &app,
            &lixia,
            p,
            1,
            "SC-001",
            "problems_corrected",
            "冷藏柜温度超标，已当场整改",
            LONG_AGO,
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(result_id(&app, p, 1, "SC-001").await, sc1);
        assert_eq!(
            scalar(&app, &format!("SELECT COUNT(*) FROM insp_followups WHERE result_id = {sc1} AND state = 'closed'")).await,
            1
        );
        let corrections: Vec<_> = audit::list(&app.db, &Scope::all(), None, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.action == "inspection.result.correct")
            .collect();
        assert_eq!(corrections.len(), 1);
        let was: Value =
            serde_json::from_str(corrections[0].before_state.as_deref().unwrap()).unwrap();
        let now: Value =
            serde_json::from_str(corrections[0].after_state.as_deref().unwrap()).unwrap();
        assert_eq!(was["outcome"], "problems");
        assert_eq!(now["outcome"], "problems_corrected");
        assert_eq!(
            events_of(&app, "supervision.inspection.result_recorded")
                .await
                .len(),
            4
        );

        // Attachments: type from the bytes, served to officers of the jurisdiction only.
        let (s, body) = upload(&app, &lixia, sc1, "现场照片.png", PNG).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        let att = scalar(&app, "SELECT MAX(id) FROM insp_attachments").await;
        let (_, html) = get(
            &app,
            Some(&lixia),
            &format!("/office/inspections/visits/{p}/1"),
        )
        .await;
        assert!(
            html.contains("现场照片.png") && html.contains("image&#x2f;png"),
            "{html}"
        );
        let resp = client()
            .get(app.url(&format!("/office/inspections/attachments/{att}")))
            .header(COOKIE, &lixia.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[CONTENT_TYPE], "image/png");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), PNG);
        let (s, _) = get(
            &app,
            None,
            &format!("/office/inspections/attachments/{att}"),
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "the public is sent to log in");
        let (s, _) = get(
            &app,
            Some(&shizhong),
            &format!("/office/inspections/attachments/{att}"),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // Publication of the visit: public event per result, without findings or names.
        let (s, _) = post(
            &app,
            &lixia,
            &format!("/office/inspections/visits/{p}/1/publish"),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let published = events_of(&app, "supervision.inspection.result_published").await;
        assert_eq!(published.len(), 3);
        for e in &published {
            assert!(e.public);
            let payload = e.payload.clone();
            assert!(
                !payload.contains("冷藏柜") && !payload.contains("lixia"),
                "{payload}"
            );
        }
        let sc1_event = published
            .iter()
            .find(|e| e.payload_json()["item"] == "SC-001")
            .unwrap();
        assert_eq!(sc1_event.payload_json()["item_name"], "食品经营者资质检查");
        assert_eq!(sc1_event.payload_json()["outcome"], "problems_corrected");

        let (s, page) = get(
            &app,
            None,
            &format!("/inspections/results?uscc={}", f.a.uscc),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains("食品经营者资质检查") && page.contains("发现问题已责令改正"),
            "{page}"
        );
        assert!(page.contains("通过登记的住所（经营场所）无法联系"));
        assert!(!page.contains("冷藏柜"), "findings stay internal");
        let listed = api(&app, &format!("uscc={}", f.a.uscc)).await;
        let items = listed["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert!(items.iter().all(|i| i["uscc"] == f.a.uscc.as_str()));
        assert!(items.iter().all(|i| i.get("findings").is_none()));
        let filtered = api(&app, "outcome=not_found&area=370102").await;
        assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
        assert_eq!(api(&app, "area=370103").await["items"], json!([]));
        let (_, ent) = get(&app, None, &format!("/entities/{}", f.a.uscc)).await;
        assert!(
            ent.contains("食品经营者资质检查") && ent.contains("发现问题已责令改正"),
            "{ent}"
        );
        // Keyset paging: two pages of two and one.
        let first = api(&app, "limit=2").await;
        assert_eq!(first["items"].as_array().unwrap().len(), 2);
        let next = first["next_before"].as_i64().unwrap();
        let second = api(&app, &format!("limit=2&before={next}")).await;
        assert_eq!(second["items"].as_array().unwrap().len(), 1);
        assert!(second["next_before"].is_null());

        // A published result cannot be corrected; nothing changes.
        let before = scalar(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind LIKE 'supervision.inspection.%'",
        )
        .await;
        let (s, body) = record(&app, &lixia, p, 1, "SC-001", "normal", "", LONG_AGO).await;
        assert_eq!(s, StatusCode::CONFLICT, "{body}");
        assert!(body.contains("已公示"), "{body}");
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM events WHERE kind LIKE 'supervision.inspection.%'"
            )
            .await,
            before
        );
        let (s, _) = upload(&app, &lixia, sc1, "more.png", PNG).await;
        assert_eq!(s, StatusCode::CONFLICT);

        // Follow-ups: listed, closed with a note.
        let fu = scalar(
            &app,
            "SELECT id FROM insp_followups WHERE kind = 'not_found'",
        )
        .await;
        let (s, list) = get(&app, Some(&lixia), "/office/inspections/followups").await;
        assert_eq!(s, StatusCode::OK);
        assert!(list.contains("食品贮存条件检查"), "{list}");
        let (s, _) = post(
            &app,
            &lixia,
            &format!("/office/inspections/followups/{fu}/close"),
            &[("note", "")],
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = post(
            &app,
            &shizhong,
            &format!("/office/inspections/followups/{fu}/close"),
            &[("note", "已移交经营异常名录程序")],
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = post(
            &app,
            &lixia,
            &format!("/office/inspections/followups/{fu}/close"),
            &[("note", "已移交经营异常名录程序")],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(
            scalar(
                &app,
                &format!(
                    "SELECT COUNT(*) FROM insp_followups WHERE id = {fu} AND state = 'closed'"
                )
            )
            .await,
            1
        );
        assert_eq!(
            events_of(&app, "supervision.inspection.followup_closed")
                .await
                .len(),
            2
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn deadlines_follow_the_calendar_and_plans_publish_within_the_jurisdiction() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let f = fixture(&app).await;
        let p = f.plan_id;
        let jinan = officer(&app, "jinan", "3701").await;
        let lixia = officer(&app, "lixia", "370102").await;
        let today = today();
        // Today's deadline may fall in a year the embedded calendar lacks (late December):
        // the calendar of that year is imported first, as an office would.
        if Calendar::embedded().add_working_days(today, 20).is_err() {
            let next = chrono::Datelike::year(&today) + 1;
            let cal = Calendar::from_csv(&format!(
                "date,kind,name_zh,name_en\n{next}-01-01,holiday,元旦,New Year's Day\n"
            ))
            .unwrap();
            let mut tx = app.db.begin().await.unwrap();
            amr_kernel::calendar_store::import(&mut tx, &Actor::system(), &cal, "test")
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let today_s = today.to_string();
        let (s, body) = record(&app, &jinan, p, 3, "SC-003", "normal", "", LONG_AGO).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        let (s, body) = record(&app, &jinan, p, 1, "SC-003", "normal", "", &today_s).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        let (s, _) = record(&app, &jinan, p, 2, "SC-001", "normal", "", &today_s).await;
        assert_eq!(s, StatusCode::SEE_OTHER);

        let (s, all) = get(&app, Some(&jinan), "/office/inspections/results").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            all.contains(&f.a.uscc) && all.contains(&f.b.uscc) && all.contains(&f.c.uscc),
            "{all}"
        );
        assert_eq!(all.matches("<tr class=\"overdue\">").count(), 1, "{all}");
        let (_, overdue) = get(&app, Some(&jinan), "/office/inspections/results?overdue=1").await;
        assert!(overdue.contains(&f.c.uscc), "{overdue}");
        assert!(
            !overdue.contains(&f.a.uscc) && !overdue.contains(&f.b.uscc),
            "{overdue}"
        );
        // Another jurisdiction sees only its own.
        let (_, own) = get(&app, Some(&lixia), "/office/inspections/results").await;
        assert!(own.contains(&f.a.uscc) && !own.contains(&f.b.uscc), "{own}");

        // Publishing the plan from Lixia publishes Lixia's results only.
        let (s, _) = post(
            &app,
            &lixia,
            "/office/inspections/results/publish",
            &[("plan_id", &p.to_string())],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(
            scalar(
                &app,
                "SELECT COUNT(*) FROM insp_results WHERE published_at IS NOT NULL"
            )
            .await,
            2
        );
        assert_eq!(
            api(&app, &format!("uscc={}", f.b.uscc)).await["items"],
            json!([])
        );
        assert_eq!(
            api(&app, &format!("plan={p}")).await["items"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let (s, _) = post(
            &app,
            &lixia,
            "/office/inspections/results/publish",
            &[("plan_id", &p.to_string())],
        )
        .await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing left to publish"
        );
        let (s, _) = post(
            &app,
            &jinan,
            "/office/inspections/results/publish",
            &[("plan_id", &p.to_string())],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(
            api(&app, &format!("uscc={}", f.b.uscc)).await["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let (_, none) = get(&app, Some(&jinan), "/office/inspections/results").await;
        assert!(none.contains("没有待公示的检查结果"), "{none}");
        app.stop().await;
    }
}

#[tokio::test]
async fn refused_requests_change_nothing() {
    for backend in backends() {
        // A body limit above 2 MB, so the attachment rule itself is what refuses.
        let config = ServerConfig {
            max_body_bytes: 8 * 1024 * 1024,
            ..ServerConfig::default()
        };
        let app = TestApp::spawn_with(backend, config).await;
        let f = fixture(&app).await;
        let p = f.plan_id;
        let lixia = officer(&app, "lixia", "370102").await;
        let (s, _) = record(&app, &lixia, p, 1, "SC-001", "normal", "", LONG_AGO).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let sc1 = result_id(&app, p, 1, "SC-001").await;
        let admin = support::account(&app, "admin", Role::Admin, "37", None).await;
        let counts = || async {
            (
                scalar(&app, "SELECT COUNT(*) FROM insp_results").await,
                scalar(&app, "SELECT COUNT(*) FROM insp_attachments").await,
                scalar(
                    &app,
                    "SELECT COUNT(*) FROM events WHERE kind LIKE 'supervision.inspection.%'",
                )
                .await,
                scalar(&app, AUDIT_INSPECTION).await,
            )
        };
        let before = counts().await;

        let (s, body) = record(
            &app,
            &lixia,
            p,
            1,
            "SC-002",
            "excellent",
            "现场记录甲",
            LONG_AGO,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(
            body.contains("检查结果应为") && body.contains("(the outcome is one of"),
            "{body}"
        );
        // The visit page comes back with the values entered at the item's form.
        assert!(
            body.contains("id=\"refusal\"") && body.contains(">现场记录甲</textarea>"),
            "{body}"
        );
        let tomorrow = (today() + Duration::days(1)).to_string();
        let (s, body) = record(&app, &lixia, p, 1, "SC-002", "normal", "", &tomorrow).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(body.contains("检查日期不能晚于今天"), "{body}");
        let (s, body) = record(&app, &lixia, p, 1, "SC-002", "normal", "", "2025-12-31").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(body.contains("不能早于计划的检查开始日期"), "{body}");
        let (s, body) = record(&app, &lixia, p, 3, "SC-001", "normal", "", LONG_AGO).await;
        assert_eq!(
            s,
            StatusCode::BAD_REQUEST,
            "SC-001 is not checked on visit 3"
        );
        assert!(body.contains("不属于本次检查"), "{body}");
        let (s, body) = record(&app, &lixia, p, 1, "SC-002", "problems", "", LONG_AGO).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(body.contains("须写明"), "{body}");
        // Another jurisdiction's visit does not exist for this officer.
        let (s, _) = record(&app, &lixia, p, 2, "SC-001", "normal", "", LONG_AGO).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = get(
            &app,
            Some(&lixia),
            &format!("/office/inspections/visits/{p}/2"),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = get(
            &app,
            Some(&lixia),
            &format!("/office/inspections/visits/{p}/99"),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // Attachments over 2 MB, or of a type not accepted, are refused.
        let big = vec![b'a'; 2 * 1024 * 1024 + 1];
        let (s, body) = upload(&app, &lixia, sc1, "big.txt", &big).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(body.contains("附件不能超过 2 MB"), "{body}");
        let (s, body) = upload(
            &app,
            &lixia,
            sc1,
            "report.pdf",
            b"MZ\x90\x00\x03\x00\x00\x00",
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(body.contains("不支持的附件类型"), "{body}");
        // A bad CSRF token.
        let (ct, body) = multipart("forged", "a.png", PNG);
        let resp = client()
            .post(app.url(&format!("/office/inspections/results/{sc1}/attachments")))
            .header(COOKIE, &lixia.cookie)
            .header(CONTENT_TYPE, ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        // Publishing someone else's visit, and bad public filters.
        let (s, _) = post(
            &app,
            &lixia,
            &format!("/office/inspections/visits/{p}/2/publish"),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let resp = reqwest::get(app.url("/api/v1/inspections/results?outcome=great"))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let resp = reqwest::get(app.url("/api/v1/inspections/results?uscc=123"))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let (s, _) = get(&app, None, "/inspections/results?area=abc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        // An administrator reads but does not record.
        let (s, _) = get(
            &app,
            Some(&admin),
            &format!("/office/inspections/visits/{p}/1"),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = record(&app, &admin, p, 1, "SC-002", "normal", "", LONG_AGO).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        assert_eq!(counts().await, before);
        app.stop().await;
    }
}

#[tokio::test]
async fn officers_record_and_publish_through_the_json_api() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let f = fixture(&app).await;
        let p = f.plan_id;
        let lixia = officer(&app, "lixia", "370102").await;
        let call = |method: reqwest::Method, path: String, body: Option<Value>, csrf: bool| {
            let mut r = client()
                .request(method, app.url(&path))
                .header(COOKIE, &lixia.cookie);
            if csrf {
                r = r.header("x-csrf-token", &lixia.csrf);
            }
            if let Some(b) = body {
                r = r.json(&b);
            }
            r.send()
        };
        let url = format!("/api/v1/office/inspections/visits/{p}/1/results");
        let ok = json!({"item": "SC-003", "outcome": "no_activity", "findings": "", "inspected_on": LONG_AGO});

        // Writes on a session need the CSRF header; bad outcomes are refused; nothing changes.
        let r = call(reqwest::Method::POST, url.clone(), Some(ok.clone()), false)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let bad = json!({"item": "SC-003", "outcome": "fine", "inspected_on": LONG_AGO});
        let r = call(reqwest::Method::POST, url.clone(), Some(bad), true)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let text = r.text().await.unwrap();
        assert!(text.contains("检查结果应为"), "{text}");
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM insp_results").await, 0);

        let r = call(reqwest::Method::POST, url.clone(), Some(ok), true)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["result"]["outcome"], "no_activity");
        assert_eq!(body["result"]["uscc"], f.a.uscc.as_str());

        let r = call(
            reqwest::Method::GET,
            format!("/api/v1/office/inspections/results?plan={p}&overdue=1"),
            None,
            false,
        )
        .await
        .unwrap();
        let pending: Value = r.json().await.unwrap();
        assert_eq!(pending["items"].as_array().unwrap().len(), 1, "{pending}");
        assert_eq!(pending["items"][0]["overdue"], true);

        let r = call(
            reqwest::Method::GET,
            format!("/api/v1/office/inspections/visits/{p}/2"),
            None,
            false,
        )
        .await
        .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "another jurisdiction's visit"
        );
        let r = call(
            reqwest::Method::GET,
            format!("/api/v1/office/inspections/visits/{p}/1"),
            None,
            false,
        )
        .await
        .unwrap();
        let visit: Value = r.json().await.unwrap();
        assert_eq!(visit["visit"]["items"].as_array().unwrap().len(), 4);
        assert_eq!(visit["results"].as_array().unwrap().len(), 1);

        let r = call(
            reqwest::Method::POST,
            format!("/api/v1/office/inspections/visits/{p}/1/publish"),
            None,
            true,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap()["published"], 1);
        let listed = api(&app, &format!("uscc={}", f.a.uscc)).await;
        assert_eq!(listed["items"][0]["outcome"], "no_activity");
        assert_eq!(listed["items"][0]["item_name"], "广告发布行为检查");
        app.stop().await;
    }
}
