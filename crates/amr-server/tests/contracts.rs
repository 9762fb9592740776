//! Unfair standard-form clauses through the real server on each backend: the public check
//! page and API find a known clause, a "你提我点" report becomes a matter, an officer of the
//! county reviews and confirms it (and the confirmed clause comes out as a JSONL test line),
//! officers elsewhere do not see it, model contracts are kept by officers and listed to the
//! public, and bad input is refused with nothing stored.

mod confidence_support;
mod support;

use amr_kernel::auth::Role;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use support::{TestApp, backends, client};

fn field_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
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

#[tokio::test]
async fn check_page_and_api_find_a_known_clause() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let c = client();
        let r = c.get(app.url("/contracts/check")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let text = "第一条 会员服务。\n第二条 本活动最终解释权归本店所有。";
        let r = c
            .post(app.url("/contracts/check"))
            .form(&[("text", text)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(html.contains("data-rule=\"HT-INTERPRET\""), "{html}");
        assert!(html.contains("<mark>最终解释权</mark>"));
        assert!(html.contains("法释〔2022〕8号"));
        assert!(html.contains("民法典 第四百九十八条"));
        // Hostile text is escaped.
        let r = c
            .post(app.url("/contracts/check"))
            .form(&[("text", "<script>x</script>最终解释权归本店")])
            .send()
            .await
            .unwrap();
        let html = r.text().await.unwrap();
        assert!(!html.contains("<script>x"));
        // Empty text: 400.
        let r = c
            .post(app.url("/contracts/check"))
            .form(&[("text", "  ")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // The API.
        let r = c
            .post(app.url("/api/v1/contracts/check"))
            .json(&serde_json::json!({"text": "包间最低消费800元"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["findings"][0]["rule"], "HT-MIN-SPEND");
        let r = c
            .post(app.url("/api/v1/contracts/check"))
            .json(&serde_json::json!({"text": ""}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_report_becomes_a_matter_that_an_officer_confirms() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let public = client();
        let form = public
            .get(app.url("/contracts/reports/new"))
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let csrf = field_value(&form.text().await.unwrap(), "csrf");

        // Refused: a bad division, a missing CSRF token — nothing stored.
        let bad = public
            .post(app.url("/contracts/reports"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("business_name", "某健身会所"),
                ("division", "99"),
                ("clause", "会员卡一经售出概不退款"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let html = bad.text().await.unwrap();
        assert!(html.contains("行政区划代码") && html.contains("某健身会所"));
        let forged = public
            .post(app.url("/contracts/reports"))
            .form(&[
                ("business_name", "某健身会所"),
                ("division", "370102"),
                ("clause", "会员卡一经售出概不退款"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(count(&app, "contract_reports").await, 0);
        assert_eq!(count(&app, "matters").await, 0);

        let r = public
            .post(app.url("/contracts/reports"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("business_name", "济南某健身会所"),
                ("division", "370102"),
                ("clause", "会员因个人原因退卡，已缴纳费用概不退还。"),
                (
                    "contract_text",
                    "第八条 会员因个人原因退卡，已缴纳费用概不退还。第九条 本会所保留最终解释权。",
                ),
                ("contact", "13800000000"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(location.starts_with("/contracts/reports/HT-"), "{location}");
        let number = location.rsplit('/').next().unwrap().to_string();
        let status = public
            .get(app.url(&location))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(status.contains("已接收") && status.contains(&number));
        assert!(!status.contains("13800000000"), "the contact is not public");

        // An officer elsewhere does not see it.
        let other = support::account(&app, "jinan_not", Role::Officer, "3702", None).await;
        let r = client()
            .get(app.url(&format!("/office/contracts/{number}")))
            .header(COOKIE, &other.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // The county's officer: the queue, review, confirm.
        let s = support::account(&app, "lixia", Role::Officer, "370102", None).await;
        let c = client();
        let queue = c
            .get(app.url("/office/contracts"))
            .header(COOKIE, &s.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(queue.status(), StatusCode::OK);
        let queue = queue.text().await.unwrap();
        assert!(queue.contains(&number) && queue.contains("HT-NO-REFUND"));
        let page = c
            .get(app.url(&format!("/office/contracts/{number}")))
            .header(COOKIE, &s.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("13800000000"));
        let act = |form: Vec<(&'static str, String)>| {
            let c = c.clone();
            let cookie = s.cookie.clone();
            let url = app.url(&format!("/office/contracts/{number}/act"));
            async move {
                c.post(url)
                    .header(COOKIE, cookie)
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let version = field_value(&page, "version");
        let r = act(vec![
            ("csrf", s.csrf.clone()),
            ("version", version),
            ("transition", "review".into()),
        ])
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let page = c
            .get(app.url(&format!("/office/contracts/{number}")))
            .header(COOKIE, &s.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("核查中"));
        let version = field_value(&page, "version");
        // An unknown rule is refused and changes nothing.
        let r = act(vec![
            ("csrf", s.csrf.clone()),
            ("version", version.clone()),
            ("transition", "confirm".into()),
            ("rule", "HT-NOPE".into()),
            ("clause", "已缴纳费用概不退还".into()),
        ])
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = act(vec![
            ("csrf", s.csrf.clone()),
            ("version", version),
            ("transition", "confirm".into()),
            ("rule", "HT-NO-REFUND".into()),
            ("clause", "会员因个人原因退卡，已缴纳费用概不退还。".into()),
        ])
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let status = public
            .get(app.url(&location))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(status.contains("确认为不公平格式条款"));
        let jsonl = c
            .get(app.url("/office/contracts/confirmed.jsonl"))
            .header(COOKIE, &s.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(jsonl.status(), StatusCode::OK);
        let jsonl = jsonl.text().await.unwrap();
        let line: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
        assert_eq!(line["label"], "violation");
        assert_eq!(line["rule"], "HT-NO-REFUND");
        assert_eq!(line["text"], "会员因个人原因退卡，已缴纳费用概不退还。");
        assert!(line["source"].as_str().unwrap().contains(&number));
        app.stop().await;
    }
}

#[tokio::test]
async fn officers_keep_model_contracts_the_public_reads_them() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let s = support::account(&app, "lixia", Role::Officer, "370102", None).await;
        let c = client();
        let body = "第一条 服务内容与期限……第八条 消费者自交费之日起7日内未消费的，有权无条件解除合同并要求全额退费。";
        let bad = c
            .post(app.url("/office/contracts/models"))
            .header(COOKIE, &s.cookie)
            .form(&[
                ("csrf", s.csrf.as_str()),
                ("industry", "体育健身"),
                ("title", "健身服务合同"),
                ("source", "示范"),
                ("body", "太短"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(count(&app, "contract_models").await, 0);
        let outside = c
            .post(app.url("/office/contracts/models"))
            .header(COOKIE, &s.cookie)
            .form(&[
                ("csrf", s.csrf.as_str()),
                ("industry", "体育健身"),
                ("title", "健身服务合同"),
                ("source", "示范"),
                ("body", body),
                ("division", "3702"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(outside.status(), StatusCode::BAD_REQUEST);
        let r = c
            .post(app.url("/office/contracts/models"))
            .header(COOKIE, &s.cookie)
            .form(&[
                ("csrf", s.csrf.as_str()),
                ("industry", "体育健身"),
                ("title", "健身服务预付费合同（示范文本）"),
                ("source", "济南市历下区市场监管局"),
                ("body", body),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let list = client()
            .get(app.url("/contracts/models"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(list.contains("体育健身") && list.contains("健身服务预付费合同（示范文本）"));
        let anonymous = client()
            .get(app.url("/office/contracts/models"))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
        app.stop().await;
    }
}

/// The escalation sweep reads every running clock: one engine must know every consumer kind.
/// A clause report (its clock started first) and a complaint are both overdue on 2026-11-30;
/// the sweep of a server on that day escalates both up the jurisdiction.
#[tokio::test]
async fn an_overdue_clause_report_is_escalated_beside_the_complaints() {
    for backend in backends() {
        let app = confidence_support::app(backend).await;
        let mut tx = app.db.begin().await.unwrap();
        let report = amr_consumer::contract::store::file_report(
            &mut tx,
            &amr_kernel::matter::Acting::system(),
            &amr_consumer::contract::store::ReportInput {
                business_name: "济南某健身会所".into(),
                division: "370102".into(),
                clause: "会员卡一经售出概不退款，本店保留最终解释权。".into(),
                ..Default::default()
            },
            confidence_support::day("2026-09-28"),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let shop = confidence_support::register(&app, "济南泉城服饰有限公司", "370102001").await;
        let complaint =
            confidence_support::complaint_about(&app, &shop, "大衣开线，门店拒绝维修和退货。")
                .await;
        let later = confidence_support::Later::start(&app, "2026-11-30").await;
        let sql =
            "SELECT COUNT(*) FROM matters WHERE number IN ($1, $2) AND escalated_to IS NOT NULL";
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let n: i64 = match &app.db {
                amr_kernel::db::Db::Sqlite(p, _) => sqlx::query_scalar(sql)
                    .bind(&report.number)
                    .bind(&complaint)
                    .fetch_one(p)
                    .await
                    .unwrap(),
                amr_kernel::db::Db::Postgres(p) => sqlx::query_scalar(sql)
                    .bind(&report.number)
                    .bind(&complaint)
                    .fetch_one(p)
                    .await
                    .unwrap(),
            };
            if n == 2 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "escalated {n} of the 2 overdue matters"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        later.stop().await;
        app.stop().await;
    }
}
