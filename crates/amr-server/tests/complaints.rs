//! Complaints through the real server on each backend, on a fixed day (Monday 2026-09-28,
//! the week before National Day) so the deadlines cross the holiday:
//!
//! 1. the main path: a consumer files against an ODR enterprise, the enterprise
//!    answers in its portal, the consumer refuses, the matter moves to the county bureau
//!    with its 7-working-day deadline counted across National Day, the officer accepts,
//!    mediates and closes with money recovered, the public statistics and the ODR response
//!    rate change — and no public page or public event carries the complainant;
//! 2. an Open311 client files into the same queue; duplicates are refused with the open
//!    number; hostile input is refused with nothing written; an ambiguous address makes the
//!    complainant pick the county; an enterprise's silence moves the matter by the sweep; a
//!    transfer moves it to another county with its reason.

mod support;

use support::request as send;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Role;
use amr_kernel::calendar::Calendar;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Session, TestApp, account, backends, client};

const PHONE: &str = "13912345678";
const NAME: &str = "林晓梅";

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
        legal_rep_id: Some("11010519491231002X".into()),
        phone: Some("13800000000".into()),
        capital_yuan: Some(1_000_000),
        established: day("2020-05-01"),
        address: "山东省济南市历下区泉城路1号".into(),
        division: division.into(),
        scope: "家用电器销售".into(),
        industry: "5137".into(),
        status: Status::Active,
    }
}

async fn register(app: &TestApp, e: &NewEntity) {
    let mut tx = app.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), e).await.unwrap();
    tx.commit().await.unwrap();
}

async fn post(app: &TestApp, s: Option<&Session>, path: &str, body: Value) -> (StatusCode, Value) {
    send(app, s, reqwest::Method::POST, path, Some(body)).await
}

async fn get(app: &TestApp, s: Option<&Session>, path: &str) -> (StatusCode, Value) {
    send(app, s, reqwest::Method::GET, path, None).await
}

async fn page(app: &TestApp, s: Option<&Session>, path: &str) -> (StatusCode, String) {
    let mut r = client().get(app.url(path));
    if let Some(s) = s {
        r = r.header("cookie", &s.cookie);
    }
    let resp = r.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
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

async fn public_stream(app: &TestApp) -> String {
    reqwest::get(app.url("/api/v1/stream?timepoint=0&follow=false"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn complaint(uscc: &str, facts: &str) -> Value {
    json!({
        "name": NAME, "phone": "139-1234-5678", "uscc": uscc,
        "purchase": "滚筒洗衣机一台", "purchase_date": "2026-09-01", "amount": "2599.00",
        "facts": facts, "claim": "更换新机或退货退款",
    })
}

#[tokio::test]
async fn an_odr_complaint_goes_to_the_bureau_is_mediated_and_counted() {
    for b in backends() {
        let app = app(b).await;
        let shop = entity("济南泉城家电销售有限公司", "370102001");
        register(&app, &shop).await;
        let uscc = shop.uscc.clone();
        let officer = account(&app, "lixia_officer", Role::Officer, "370102", None).await;
        let elsewhere = account(&app, "qingdao_officer", Role::Officer, "3702", None).await;
        let firm = account(&app, "shop_account", Role::Enterprise, "", Some(&uscc)).await;

        // Before anything: no complaints counted.
        let (s, stats) = get(
            &app,
            None,
            &format!("/api/v1/enterprises/{uscc}/complaint-stats"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{stats}");
        assert_eq!(stats["total"]["received"], 0);

        // The county's officer marks the shop as an ODR participant.
        let (s, v) = post(
            &app,
            Some(&officer),
            "/api/v1/office/odr/enterprises",
            json!({"uscc": uscc, "active": true}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // An officer of another city cannot.
        let (s, _) = post(
            &app,
            Some(&elsewhere),
            "/api/v1/office/odr/enterprises",
            json!({"uscc": uscc}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // The consumer files: it goes to the business first, 10 working days across
        // National Day (09-29, 09-30, 10-08, 10-09, 10-10 make-up, 10-12 … 10-16).
        let facts = "洗衣机使用第五天出现漏水，售后上门两次仍未修好，门店拒绝更换。";
        let (s, filed) = post(&app, None, "/api/v1/complaints", complaint(&uscc, facts)).await;
        assert_eq!(s, StatusCode::CREATED, "{filed}");
        let number = filed["number"].as_str().unwrap().to_string();
        assert!(number.starts_with("TS-2026-"), "{number}");
        assert_eq!(filed["odr"], true);
        assert_eq!(filed["state"]["code"], "odr");
        assert_eq!(filed["due_on"], "2026-10-16");
        assert_eq!(filed["division"]["code"], "370102");

        // While with the business it is not in the bureau's queue.
        let (_, q) = get(&app, Some(&officer), "/api/v1/office/complaints").await;
        assert!(!q.to_string().contains(&number), "{q}");

        // The business sees it in its portal (with the phone, to negotiate) and settles.
        let (s, html) = page(&app, Some(&firm), "/portal/complaints").await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains(&number) && html.contains(PHONE), "{html}");
        let (s, list) = get(&app, Some(&firm), "/api/v1/portal/complaints").await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let version = list["items"][0]["version"].as_i64().unwrap();
        // A bad amount is refused and changes nothing.
        let (s, v) = post(&app, Some(&firm), &format!("/api/v1/portal/complaints/{number}/answer"),
            json!({"answer": "settle", "version": version.to_string(), "settlement": "免费维修一次", "amount": "-5"})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "amount");
        let (s, v) = post(&app, Some(&firm), &format!("/api/v1/portal/complaints/{number}/answer"),
            json!({"answer": "settle", "version": version.to_string(), "settlement": "免费更换门封并补偿现金", "amount": "150"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["state"]["code"], "odr_settled");

        // Another business's account cannot answer it.
        let other = entity("济南另一家电有限公司", "370102001");
        register(&app, &other).await;
        let other_firm = account(
            &app,
            "other_account",
            Role::Enterprise,
            "",
            Some(&other.uscc),
        )
        .await;
        let (s, _) = post(
            &app,
            Some(&other_firm),
            &format!("/api/v1/portal/complaints/{number}/answer"),
            json!({"answer": "refuse", "version": "3", "reason": "不是我们"}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // The consumer follows it: both the number and the phone are needed.
        let (s, _) = post(
            &app,
            None,
            "/api/v1/complaints/track",
            json!({"number": number, "phone": "13900000000"}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, t) = post(
            &app,
            None,
            "/api/v1/complaints/track",
            json!({"number": number.to_lowercase(), "phone": PHONE}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{t}");
        assert_eq!(t["state"]["code"], "odr_settled");
        assert_eq!(t["settlement_amount"], "150.00");
        assert_eq!(t["can_refuse_settlement"], true);

        // … and refuses the settlement: the matter goes to the county bureau, whose 7
        // working days skip National Day and count the make-up Saturday 10-10.
        let (s, t) = post(
            &app,
            None,
            &format!("/api/v1/complaints/{number}/refuse-settlement"),
            json!({"phone": PHONE, "reason": "只补偿现金不足以弥补损失，要求更换新机"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{t}");
        assert_eq!(t["state"]["code"], "received");
        assert_eq!(t["due_on"], "2026-10-13");
        assert_eq!(t["division"]["code"], "370102");
        let (_, stats) = get(
            &app,
            None,
            &format!("/api/v1/enterprises/{uscc}/complaint-stats"),
        )
        .await;
        // September is still running: nothing is public yet; the business sees its figures.
        assert_eq!(stats["periods"], json!([]), "{stats}");
        let (_, mine) = get(
            &app,
            Some(&firm),
            "/api/v1/portal/complaint-stats?period=month",
        )
        .await;
        assert_eq!(mine["periods"][0]["period"], "2026-09", "{mine}");
        assert_eq!(mine["periods"][0]["stage"], "running");
        assert_eq!(mine["periods"][0]["received"], 1);
        assert_eq!(mine["periods"][0]["handled"], 0);

        // The bureau's queue, sorted by deadline; invisible to another city's officer.
        let (s, q) = get(&app, Some(&officer), "/api/v1/office/complaints").await;
        assert_eq!(s, StatusCode::OK, "{q}");
        assert_eq!(q["items"][0]["number"], number.as_str());
        assert_eq!(q["items"][0]["due_on"], "2026-10-13");
        assert_eq!(q["items"][0]["overdue"], false);
        let (s, html) = page(&app, Some(&officer), "/office/complaints").await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains(&number));
        let (s, _) = get(
            &app,
            Some(&elsewhere),
            &format!("/api/v1/office/complaints/{number}"),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // Accept (the 45-working-day mediation clock starts), mediate, close.
        let (_, item) = get(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}"),
        )
        .await;
        assert_eq!(item["complainant"]["phone"], PHONE);
        let act = |body: Value| {
            let app = &app;
            let officer = &officer;
            let number = number.clone();
            async move {
                post(
                    app,
                    Some(officer),
                    &format!("/api/v1/office/complaints/{number}/act"),
                    body,
                )
                .await
            }
        };
        let (s, item) =
            act(json!({"transition": "accept", "version": item["version"].to_string()})).await;
        assert_eq!(s, StatusCode::OK, "{item}");
        assert_eq!(item["state"]["code"], "mediating");
        let mediation_due = Calendar::embedded()
            .add_working_days(day("2026-09-28"), 45)
            .unwrap();
        assert_eq!(item["due_on"], mediation_due.to_string());
        let (s, item) = act(
            json!({"transition": "mediate", "version": item["version"].to_string(),
            "note": "双方电话调解，经营者同意更换新机"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{item}");
        // Money is parsed strictly: refused, nothing changes.
        let version = item["version"].to_string();
        let (s, v) = act(
            json!({"transition": "close", "version": version, "outcome": "mediated",
            "summary": "调解成功", "amount": "2,599"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        let (s, item) = act(
            json!({"transition": "close", "version": version, "outcome": "mediated",
            "summary": "调解成功，经营者更换新机并补偿运费", "amount": "2649.5"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{item}");
        assert_eq!(item["state"]["code"], "closed");
        assert_eq!(item["recovered_amount"], "2649.50");
        let kinds: Vec<&str> = item["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["transition"].as_str())
            .collect();
        assert_eq!(
            kinds,
            [
                "to_odr",
                "odr_settle",
                "consumer_refuse",
                "accept",
                "mediate",
                "close"
            ]
        );

        // The ledger (台账) of the jurisdiction.
        let (s, csv) = page(
            &app,
            Some(&officer),
            "/office/complaints/ledger.csv?kind=complaint&from=2026-09-01",
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(csv.contains(&number) && csv.contains("已办结"), "{csv}");
        let (s, other_csv) = page(&app, Some(&elsewhere), "/office/complaints/ledger.csv").await;
        assert_eq!(s, StatusCode::OK);
        assert!(!other_csv.contains(&number));
        let (s, _) = page(
            &app,
            Some(&officer),
            "/office/complaints/ledger.csv?from=2026-13-01",
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        // The consumer sees every decision.
        let (_, t) = post(
            &app,
            None,
            "/api/v1/complaints/track",
            json!({"number": number, "phone": PHONE}),
        )
        .await;
        assert_eq!(t["state"]["code"], "closed");
        assert_eq!(t["recovered_amount"], "2649.50");
        let decisions: Vec<&str> = t["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["transition"].as_str())
            .collect();
        assert_eq!(
            decisions,
            [
                "to_odr",
                "odr_settle",
                "consumer_refuse",
                "accept",
                "mediate",
                "close"
            ]
        );
        let by: Vec<&str> = t["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["by"]["en"].as_str())
            .collect();
        assert_eq!(
            by,
            [
                "the system",
                "the business",
                "the consumer",
                "the bureau",
                "the bureau",
                "the bureau"
            ]
        );
        // The page's form needs the pre-login CSRF token.
        let r = client()
            .post(app.url("/complaints/track"))
            .form(&[("number", number.as_str()), ("phone", PHONE)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // The officer's page and the complainant's tracking page (with its CSRF token).
        let (s, html) = page(
            &app,
            Some(&officer),
            &format!("/office/complaints/{number}"),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains(PHONE) && html.contains("2649.50"), "{html}");
        let c = client();
        let form = c
            .get(app.url(&format!("/complaints/track?number={number}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = form.find(marker).unwrap() + marker.len();
        let csrf = form[start..].split('"').next().unwrap().to_string();
        let r = c
            .post(app.url("/complaints/track"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("number", number.as_str()),
                ("phone", PHONE),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("已办结")
                && html.contains("2649.50")
                && html.contains("消费者不接受和解"),
            "{html}"
        );

        // The public statistics change once September is published, after the business's
        // review window (5 working days after 09-30, across National Day: public from 10-14;
        // a second server on the same database, its day 2026-10-20); the ODR response rate
        // is there for officers.
        let later = amr_server::ServerConfig {
            fixed_today: Some(day("2026-10-20")),
            search_dir: app.test_db.dir().join("search-later"),
            signing_key_file: app.test_db.dir().join("keys").join("signing.key"),
            ..amr_server::ServerConfig::default()
        };
        let running =
            amr_server::start(amr_server::app_state(app.db.clone(), later), "127.0.0.1:0")
                .await
                .unwrap();
        let base = format!("http://{}", running.addr);
        let stats: Value = client()
            .get(format!(
                "{base}/api/v1/enterprises/{uscc}/complaint-stats?period=month"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(stats["periods"][0]["period"], "2026-09", "{stats}");
        assert_eq!(stats["periods"][0]["received"], 1);
        assert_eq!(stats["periods"][0]["handled"], 1);
        assert_eq!(stats["periods"][0]["settled"], 1);
        assert_eq!(stats["periods"][0]["settlement_rate"], 100.0);
        assert_eq!(stats["total"]["received"], 1);
        let (_, odr) = get(&app, Some(&officer), "/api/v1/office/odr/enterprises").await;
        let row = odr["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["uscc"] == uscc.as_str())
            .unwrap()
            .clone();
        assert_eq!(row["received"], 1);
        assert_eq!(row["answered_in_time"], 1);
        assert_eq!(row["response_rate"], 100.0);

        // No public page or public event names the complainant.
        let r = client()
            .get(format!("{base}/enterprises/{uscc}/complaints?period=month"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("济南泉城家电销售有限公司") && html.contains("100.0%"),
            "{html}"
        );
        running.stop().await.unwrap();
        let (s, entity_page) = page(&app, None, &format!("/entities/{uscc}")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            entity_page.contains("id=\"complaint-panel\""),
            "{entity_page}"
        );
        assert!(!entity_page.contains(PHONE) && !entity_page.contains(NAME));
        let (_, requests) = page(&app, None, &format!("/open311/v2/requests/{number}.json")).await;
        assert!(requests.contains("closed"), "{requests}");
        let stream = public_stream(&app).await;
        assert!(stream.contains("consumer.complaint.filed"), "{stream}");
        for public in [html, requests, stream, stats.to_string()] {
            assert!(
                !public.contains(PHONE) && !public.contains(NAME),
                "{public}"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn open311_duplicates_hostile_input_county_picker_silence_and_transfer() {
    for b in backends() {
        let app = app(b).await;
        let officer = account(&app, "lixia_officer", Role::Officer, "370102", None).await;
        let shizhong = account(&app, "shizhong_officer", Role::Officer, "370103", None).await;

        // Open311: the services, then a form-encoded request about a free-text business
        // whose address settles the county (历下区).
        let (s, services) = get(&app, None, "/open311/v2/services.json").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(services[0]["service_code"], "complaint");
        let form = [
            ("service_code", "complaint"),
            (
                "description",
                "在该店购买的羽绒服第一次洗涤后严重跑绒，店家不予退货。",
            ),
            ("first_name", "晓梅"),
            ("last_name", "林"),
            ("phone", PHONE),
            ("address_string", "济南市历下区泉城路188号"),
            ("attribute[business_name]", "泉城路某服装店"),
            ("attribute[purchase]", "羽绒服一件"),
            ("attribute[claim]", "退货退款"),
            ("attribute[amount]", "899"),
        ];
        let r = client()
            .post(app.url("/open311/v2/requests.json"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        let number = v[0]["service_request_id"].as_str().unwrap().to_string();
        assert!(number.starts_with("TS-2026-"), "{v}");
        // It lands in the same queue as the form and the API.
        let (_, q) = get(&app, Some(&officer), "/api/v1/office/complaints").await;
        assert_eq!(q["items"][0]["number"], number.as_str(), "{q}");
        assert_eq!(q["items"][0]["due_on"], "2026-10-13");
        let (_, item) = get(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}"),
        )
        .await;
        assert_eq!(item["source"], "open311");
        assert_eq!(item["complainant"]["name"], NAME);
        // The public view of the request: status and agency, never the requester.
        let (s, list) = get(
            &app,
            None,
            &format!("/open311/v2/requests.json?service_request_id={number}"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(list[0]["status"], "open");
        assert!(
            list[0]["agency_responsible"]
                .as_str()
                .unwrap()
                .contains("历下区")
        );
        assert!(!list.to_string().contains(PHONE) && !list.to_string().contains("跑绒"));

        // The same facts again (other spacing and punctuation), by Open311 or by the API:
        // refused with the open matter's number; nothing written.
        let matters = count(&app, "matters").await;
        let r = client()
            .post(app.url("/open311/v2/requests.json"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert!(r.text().await.unwrap().contains(&number));
        let (s, v) = post(
            &app,
            None,
            "/api/v1/complaints",
            json!({
                "name": NAME, "phone": "+86 139 1234 5678", "business_name": "泉城路某服装店",
                "business_address": "济南市历下区泉城路188号", "purchase": "羽绒服一件",
                "facts": "在该店购买的羽绒服 第一次洗涤后严重跑绒, 店家不予退货", "claim": "退货",
            }),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!(v["existing"], number.as_str());
        assert_eq!(count(&app, "matters").await, matters);

        // Hostile input: each bad field refused by name, Chinese first; nothing written.
        let complaints = count(&app, "complaints").await;
        let events = count(&app, "events").await;
        let good = json!({
            "name": "张三", "phone": "13800001111", "business_name": "某店",
            "business_address": "济南市历下区经十路1号", "purchase": "手机", "facts": "手机买回即无法开机，店家拒绝退换。",
            "claim": "退款",
        });
        for (field, value) in [
            ("phone", json!("1380000111x")),
            ("name", json!("<script>alert(1)</script>".repeat(5))),
            ("name", json!("张\u{0007}三")),
            ("amount", json!("1e9")),
            ("amount", json!("-1")),
            ("uscc", json!("91350100M000100Y4Z")),
            ("purchase_date", json!("2027-01-01")),
            ("facts", json!("短")),
            ("facts", json!("长".repeat(5001))),
            ("kind", json!("lawsuit")),
        ] {
            let mut body = good.clone();
            body[field] = value;
            let (s, v) = post(&app, None, "/api/v1/complaints", body).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{field}: {v}");
            assert_eq!(v["field"], field, "{v}");
            // "field: 中文 (English)"
            let m = v["message"].as_str().unwrap();
            let text = m.strip_prefix(&format!("{field}: ")).unwrap_or(m);
            assert!(
                text.contains(" (") && !text.starts_with(|c: char| c.is_ascii()),
                "{m}"
            );
        }
        let (s, _) = post(&app, None, "/api/v1/complaints", json!([1, 2])).await;
        assert!(s.is_client_error());
        // The form: re-shown with the values escaped and the reason, nothing written.
        let c = client();
        let form_page = c
            .get(app.url("/complaints/new"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = form_page
            .find(marker)
            .unwrap_or_else(|| panic!("{form_page}"))
            + marker.len();
        let csrf = form_page[start..].split('"').next().unwrap().to_string();
        let r = c
            .post(app.url("/complaints"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", "<b>x</b>"),
                ("phone", "12"),
                ("business_name", "某店"),
                ("business_address", "济南市历下区经十路1号"),
                ("purchase", "手机"),
                ("facts", "手机买回即无法开机，店家拒绝退换。"),
                ("claim", "退款"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("手机号")
                && html.contains("value=\"&lt;b&gt;x")
                && !html.contains("<b>x</b>")
        );
        assert_eq!(count(&app, "complaints").await, complaints);
        assert_eq!(count(&app, "matters").await, matters);
        assert_eq!(count(&app, "events").await, events);

        // An address whose county is ambiguous (朝阳区: Beijing or Changchun): the API lists
        // the candidates, the form shows the picker; with the county picked it is filed.
        let mut body = good.clone();
        body["business_address"] = json!("朝阳区建国路1号");
        let (s, v) = post(&app, None, "/api/v1/complaints", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"], "county_required");
        let codes: Vec<&str> = v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["code"].as_str())
            .collect();
        assert!(
            codes.contains(&"110105") && codes.contains(&"220104"),
            "{v}"
        );
        let r = c
            .post(app.url("/complaints"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", "张三"),
                ("phone", "13800001111"),
                ("business_name", "某店"),
                ("business_address", "朝阳区建国路1号"),
                ("purchase", "手机"),
                ("facts", "手机买回即无法开机，店家拒绝退换。"),
                ("claim", "退款"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("<option value=\"110105\""));
        // The picker's choice files it (post/redirect/get to the receipt); the same again by
        // the API is a duplicate.
        let r = c
            .post(app.url("/complaints"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", "张三"),
                ("phone", "13800001111"),
                ("business_name", "某店"),
                ("business_address", "朝阳区建国路1号"),
                ("county", "110105"),
                ("purchase", "手机"),
                ("facts", "手机买回即无法开机，店家拒绝退换。"),
                ("claim", "退款"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let picked = location.rsplit('=').next().unwrap().to_string();
        let (s, html) = page(&app, None, &location).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains(&picked));
        let (_, t) = post(
            &app,
            None,
            "/api/v1/complaints/track",
            json!({"number": picked, "phone": "13800001111"}),
        )
        .await;
        assert_eq!(t["division"]["code"], "110105", "{t}");
        body["county"] = json!("110105");
        let (s, v) = post(&app, None, "/api/v1/complaints", body).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert_eq!(v["existing"], picked.as_str());

        // A report (举报): 15 working days to check (to 10-23 across National Day), then
        // the decision to open a case, which the reporter sees; a request for help answered.
        let (s, svc) = get(&app, None, "/open311/v2/services/report.json").await;
        assert_eq!(s, StatusCode::OK);
        assert!(svc["attributes"].to_string().contains("uscc"));
        let (s, v) = post(&app, None, "/api/v1/complaints", json!({
            "kind": "report", "name": "王五", "phone": "13700001111", "business_name": "某超市",
            "business_address": "济南市历下区文化东路8号", "facts": "该超市销售过期食品，标签被覆盖重新打印。",
        })).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let report = v["number"].as_str().unwrap().to_string();
        assert!(report.starts_with("JB-2026-"));
        assert_eq!(v["due_on"], "2026-10-23");
        let (_, item) = get(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{report}"),
        )
        .await;
        let (s, item) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{report}/act"),
            json!({"transition": "check", "version": item["version"].to_string()}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{item}");
        let (s, item) = post(&app, Some(&officer), &format!("/api/v1/office/complaints/{report}/act"),
            json!({"transition": "open_case", "version": item["version"].to_string(), "summary": "经核查属实，予以立案"})).await;
        assert_eq!(s, StatusCode::OK, "{item}");
        let (_, t) = post(
            &app,
            None,
            "/api/v1/complaints/track",
            json!({"number": report, "phone": "13700001111"}),
        )
        .await;
        assert_eq!(t["state"]["code"], "case_opened", "{t}");
        let (s, v) = post(&app, None, "/api/v1/complaints", json!({
            "kind": "help", "name": "赵六", "phone": "13700002222", "business_name": "某健身房",
            "business_address": "济南市历下区解放路20号", "facts": "健身房闭店，预付卡余额如何申请退还？",
        })).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let help = v["number"].as_str().unwrap().to_string();
        let (s, item) = post(&app, Some(&officer), &format!("/api/v1/office/complaints/{help}/act"),
            json!({"transition": "answer", "version": "1", "summary": "请携带预付卡和付款凭证向属地市场监管所登记"})).await;
        assert_eq!(s, StatusCode::OK, "{item}");
        assert_eq!(item["state"]["code"], "answered");

        // Silence: a complaint about an ODR enterprise that does not answer goes to the
        // bureau when the sweep runs after its 10 working days (due 10-16).
        let shop = entity("济南沉默电器有限公司", "370102001");
        register(&app, &shop).await;
        let (s, _) = post(
            &app,
            Some(&officer),
            "/api/v1/office/odr/enterprises",
            json!({"uscc": shop.uscc}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = post(
            &app,
            None,
            "/api/v1/complaints",
            complaint(&shop.uscc, "电视机屏幕出现亮线，商家不予处理。"),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let silent = v["number"].as_str().unwrap().to_string();
        assert_eq!(v["due_on"], "2026-10-16");
        let sweep = amr_consumer::complaint::flow::sweep_odr;
        assert_eq!(sweep(&app.db, day("2026-10-16")).await.unwrap(), 0);
        assert_eq!(sweep(&app.db, day("2026-10-19")).await.unwrap(), 1);
        assert_eq!(sweep(&app.db, day("2026-10-19")).await.unwrap(), 0);
        let (_, item) = get(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{silent}"),
        )
        .await;
        assert_eq!(item["state"]["code"], "received");
        assert_eq!(item["odr_result"], "timeout");
        let (_, odr) = get(&app, Some(&officer), "/api/v1/office/odr/enterprises").await;
        let row = odr["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["uscc"] == shop.uscc.as_str())
            .unwrap()
            .clone();
        assert_eq!(row["timed_out"], 1);
        assert_eq!(row["response_rate"], 0.0);
        let (s, html) = page(&app, Some(&officer), "/office/complaints/odr").await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("济南沉默电器有限公司"));

        // The queue a page at a time, by deadline: the Open311 complaint (due 10-13), then
        // the one back from ODR (10-28); `next` leads on, a bad cursor is refused.
        let (_, p1) = get(&app, Some(&officer), "/api/v1/office/complaints?limit=1").await;
        assert_eq!(p1["items"].as_array().unwrap().len(), 1, "{p1}");
        let mut seen = vec![p1["items"][0]["number"].as_str().unwrap().to_string()];
        let mut next = p1["next"].as_str().map(str::to_string);
        while let Some(after) = next {
            let (_, p) = get(
                &app,
                Some(&officer),
                &format!("/api/v1/office/complaints?limit=1&after={after}"),
            )
            .await;
            seen.extend(
                p["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["number"].as_str().unwrap().to_string()),
            );
            next = p["next"].as_str().map(str::to_string);
        }
        let (_, all) = get(&app, Some(&officer), "/api/v1/office/complaints").await;
        let all: Vec<String> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["number"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(seen, all);
        assert_eq!(all, [number.clone(), silent.clone()]);
        let (s, _) = get(
            &app,
            Some(&officer),
            "/api/v1/office/complaints?after=yesterday",
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        // Three weeks later (a second server on the same database, its day 2026-10-20): the
        // Open311 matter (due 10-13) is overdue and marked; the one back from ODR (its 7 days
        // started 10-19) is not; a bad filter is refused.
        let later = amr_server::ServerConfig {
            fixed_today: Some(day("2026-10-20")),
            search_dir: app.test_db.dir().join("search-later"),
            signing_key_file: app.test_db.dir().join("keys").join("signing.key"),
            ..amr_server::ServerConfig::default()
        };
        let running =
            amr_server::start(amr_server::app_state(app.db.clone(), later), "127.0.0.1:0")
                .await
                .unwrap();
        let base = format!("http://{}", running.addr);
        let overdue: Value = client()
            .get(format!(
                "{base}/api/v1/office/complaints?overdue=true&kind=complaint"
            ))
            .header("cookie", &officer.cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let numbers: Vec<&str> = overdue["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["number"].as_str())
            .collect();
        assert_eq!(numbers, [number.as_str()], "{overdue}");
        assert_eq!(overdue["items"][0]["overdue"], true);
        // The later server's sweep escalates it (督办) above its county; the matter back from
        // ODR is not late and stays where it is.
        let mut escalated = Value::Null;
        for _ in 0..100 {
            let item: Value = client()
                .get(format!("{base}/api/v1/office/complaints/{number}"))
                .header("cookie", &officer.cookie)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            escalated = item["escalated_to"].clone();
            if !escalated.is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let to = escalated
            .as_str()
            .unwrap_or_else(|| panic!("not escalated: {escalated}"));
        assert!(["3701", "37"].contains(&to), "escalated to {to}");
        let silent_item: Value = client()
            .get(format!("{base}/api/v1/office/complaints/{silent}"))
            .header("cookie", &officer.cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(silent_item["escalated_to"].is_null(), "{silent_item}");
        let html = client()
            .get(format!("{base}/office/complaints"))
            .header("cookie", &officer.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("class=\"overdue\"") && html.contains(&silent),
            "{html}"
        );
        let r = client()
            .get(format!("{base}/api/v1/office/complaints?overdue=maybe"))
            .header("cookie", &officer.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        running.stop().await.unwrap();
        // Back on 09-28 nothing is overdue.
        let (_, q) = get(
            &app,
            Some(&officer),
            "/api/v1/office/complaints?overdue=true",
        )
        .await;
        assert_eq!(q["items"], json!([]));

        // Transfer with a reason to the neighbouring county: it leaves this queue.
        let (_, item) = get(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}"),
        )
        .await;
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/transfer"),
            json!({"version": item["version"].to_string(), "division": "370103", "reason": ""}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "a transfer needs a reason: {v}");
        let (s, v) = post(&app, Some(&officer), &format!("/api/v1/office/complaints/{number}/transfer"),
            json!({"version": item["version"].to_string(), "division": "370103", "reason": "经营场所实际位于市中区"})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _) = get(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}"),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, q) = get(&app, Some(&shizhong), "/api/v1/office/complaints").await;
        assert_eq!(q["items"][0]["number"], number.as_str(), "{q}");
        let (_, t) = post(
            &app,
            None,
            "/api/v1/complaints/track",
            json!({"number": number, "phone": PHONE}),
        )
        .await;
        let last = t["decisions"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["transition"], "transfer");
        assert_eq!(last["fields"]["reason"], "经营场所实际位于市中区");
        app.stop().await;
    }
}
