//! Inspection plans through the real server on each backend: a plan built over the API and
//! the pages, bad input refused (Chinese first) with nothing changed, publication (hashes,
//! frozen lists, edits refused), the draw (visits stored, the report consistent, the public
//! page showing the seed), the bundle verified by the engine, and jurisdiction (another
//! region's plan is 404, drafts are not public).

mod inspection_fixtures;
mod support;

use amr_kernel::auth::Role;
use amr_kernel::db::Db;
use amr_kernel::on_conn;
use inspection_fixtures::{entities, library};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use support::{Session, TestApp, backends, client};

struct Api<'a> {
    app: &'a TestApp,
    s: Session,
    c: reqwest::Client,
}

impl Api<'_> {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .c
            .request(method, self.app.url(path))
            .header("cookie", &self.s.cookie)
            .header("x-csrf-token", &self.s.csrf);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    /// A form post of a page (session cookie, CSRF field); the response.
    async fn form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut f: Vec<(&str, &str)> = vec![("csrf", self.s.csrf.as_str())];
        f.extend_from_slice(form);
        self.c
            .post(self.app.url(path))
            .header("cookie", &self.s.cookie)
            .form(&f)
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .c
            .get(self.app.url(path))
            .header("cookie", &self.s.cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

async fn officer<'a>(app: &'a TestApp, name: &str, jurisdiction: &str) -> Api<'a> {
    let s = support::account(app, name, Role::Officer, jurisdiction, None).await;
    Api {
        app,
        s,
        c: client(),
    }
}

fn plan_body() -> Value {
    json!({
        "name": "2026 年度历下区双随机抽查",
        "period": "2026",
        "scope": "370102",
        "inspection_start": "2026-03-01",
        "inspection_end": "2026-11-30",
        "ratio_a": 0.2, "ratio_b": 0.3, "ratio_c": 0.5, "ratio_d": 1,
        "inspectors_per_department": 2,
        "workload_cap": 100,
        "public_value_source": "上海证券交易所 2026-03-02 上证指数收盘点位"
    })
}

fn assert_chinese_first(v: &Value) {
    let msg = v.to_string();
    let first = msg
        .chars()
        .find(|c| !c.is_ascii())
        .expect("a Chinese message");
    let paren = msg.find('(').expect("English in parentheses");
    assert!(msg.find(first).unwrap() < paren, "Chinese first: {msg}");
}

async fn count(db: &Db, sql: &str, id: i64) -> i64 {
    on_conn!(db, c => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(id)
        .fetch_one(c)
        .await
        .unwrap())
}

#[tokio::test]
async fn a_plan_is_built_published_drawn_and_its_bundle_verifies() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let codes = entities(&app.db, 40).await;
        library(&app.db, &codes[0]).await;
        let api = officer(&app, "planner", "3701").await;

        // Create, then bad input refused with nothing changed.
        let (st, created) = api
            .post("/api/v1/office/inspections/plans", plan_body())
            .await;
        assert_eq!(st, StatusCode::CREATED, "{created}");
        let id = created["id"].as_i64().unwrap();
        let base = format!("/api/v1/office/inspections/plans/{id}");
        let mut bad = plan_body();
        bad["ratio_b"] = json!(1.5);
        let (st, err) = api.put(&base, bad).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_chinese_first(&err);
        assert!(
            err.to_string().contains("抽查比例应在 0 到 1 之间"),
            "{err}"
        );
        let (_, same) = api.get(&base).await;
        assert_eq!(same["plan"], created["plan"]);
        let mut outside = plan_body();
        outside["scope"] = json!("3702");
        let (st, _) = api.post("/api/v1/office/inspections/plans", outside).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);

        // Tasks: an item of another department is refused.
        let (st, err) = api
            .post(
                &format!("{base}/tasks"),
                json!({"name": "错配", "department": "D01", "items": "I002"}),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{err}");
        assert_chinese_first(&err);
        let (st, t1) = api
            .post(
                &format!("{base}/tasks"),
                json!({"name": "食品经营抽查", "department": "D01", "items": "I001", "population": ""}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{t1}");
        assert_eq!(t1["task"], "T01");
        let (st, t2) = api
            .post(
                &format!("{base}/tasks"),
                json!({"name": "特种设备抽查", "department": "D02", "items": "I002", "population": "",
                       "mode": "counts", "a": 1, "b": 5, "c": 1, "d": 2}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{t2}");
        assert_eq!(t2["plan"]["plan"]["tasks"].as_array().unwrap().len(), 2);

        let (st, prop) = api.get(&format!("{base}/proposals")).await;
        assert_eq!(st, StatusCode::OK, "{prop}");
        let (st, preview) = api.get(&format!("{base}/preview?population=")).await;
        assert_eq!(st, StatusCode::OK, "{preview}");
        assert_eq!(preview["total"], 40);

        // A draft is not public.
        let r = client()
            .get(app.url(&format!("/inspections/plans/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // Publish: hashes, counts, commitment; the lists are frozen as chunks.
        let (st, published) = api.post(&format!("{base}/publish"), json!({})).await;
        assert_eq!(st, StatusCode::OK, "{published}");
        assert_eq!(published["state"], "published");
        assert_eq!(
            published["targets_count"], 40,
            "the deregistered one is left out"
        );
        assert_eq!(published["inspectors_count"], 6);
        assert_eq!(published["targets_hash"].as_str().unwrap().len(), 64);
        assert_eq!(published["seed_commitment"].as_str().unwrap().len(), 64);
        assert!(
            published["seed_secret"].is_null(),
            "the secret stays hidden"
        );
        assert_eq!(
            count(
                &app.db,
                "SELECT COUNT(*) FROM insp_plan_chunks WHERE plan_id = $1 AND kind = 'targets'",
                id
            )
            .await,
            1
        );
        // After publication nothing changes.
        let (st, _) = api.put(&base, plan_body()).await;
        assert_eq!(st, StatusCode::CONFLICT);
        let (st, _) = api
            .post(
                &format!("{base}/tasks"),
                json!({"name": "x", "department": "D01", "items": "I001"}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT);
        let (_, still) = api.get(&base).await;
        assert_eq!(still["plan"], published["plan"]);
        let public = client()
            .get(app.url(&format!("/api/v1/inspections/plans/{id}")))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(public["targets_hash"], published["targets_hash"]);
        assert!(public["seed_secret"].is_null());

        // The draw: a missing public value is refused, then the draw.
        let (st, err) = api
            .post(&format!("{base}/draw"), json!({"public_value": " "}))
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_chinese_first(&err);
        let (st, drawn) = api
            .post(&format!("{base}/draw"), json!({"public_value": "3345.67"}))
            .await;
        assert_eq!(st, StatusCode::OK, "{drawn}");
        assert_eq!(drawn["state"], "drawn");
        let seed = drawn["seed"].as_str().unwrap().to_string();
        assert_eq!(seed.len(), 64);
        assert_eq!(drawn["seed_secret"].as_str().unwrap().len(), 64);
        let report = &drawn["report"];
        let visits = count(
            &app.db,
            "SELECT COUNT(*) FROM insp_visits WHERE plan_id = $1",
            id,
        )
        .await;
        assert!(visits > 0);
        assert_eq!(
            report["coordinated"]["visits"].as_f64().unwrap() as i64,
            visits
        );
        let (st, again) = api
            .post(&format!("{base}/draw"), json!({"public_value": "1"}))
            .await;
        assert_eq!(st, StatusCode::CONFLICT, "{again}");

        // Visits over the API, the joint filter, keyset paging.
        let (_, all) = api.get(&format!("{base}/visits?limit=5")).await;
        assert_eq!(
            all["items"].as_array().unwrap().len().min(5) as i64,
            visits.min(5)
        );
        let (_, joint) = api
            .get(&format!("{base}/visits?filter=joint&limit=1000"))
            .await;
        for v in joint["items"].as_array().unwrap() {
            assert!(v["tasks"].as_array().unwrap().len() >= 2);
        }
        assert_eq!(
            joint["items"].as_array().unwrap().len() as f64,
            report["coordinated"]["joint_visits"].as_f64().unwrap()
        );
        let (st, _) = api.get(&format!("{base}/visits?filter=nope")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);

        // The public page shows the seed; the bundle verifies, and a changed one does not.
        let html = client()
            .get(app.url(&format!("/inspections/plans/{id}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(&seed));
        assert!(html.contains("3345.67"));
        let bytes = client()
            .get(app.url(&format!("/inspections/plans/{id}/bundle.json")))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let bundle: amr_supervision::draw::model::Bundle = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(bundle.targets.len(), 40);
        assert_eq!(bundle.seed.seed, seed);
        assert_eq!(bundle.visits.len() as i64, visits);
        amr_supervision::plan::engine::verify(&bundle).expect("the published bundle verifies");
        let mut tampered = bundle.clone();
        tampered.seed.public_value = Some("3345.68".into());
        assert!(amr_supervision::plan::engine::verify(&tampered).is_err());
        let mut fewer = bundle.clone();
        let kept: Vec<_> = (1..bundle.targets.len())
            .map(|i| bundle.targets.get(i))
            .collect();
        fewer.targets = amr_supervision::draw::TargetSet::from_targets(&kept).unwrap();
        assert!(amr_supervision::plan::engine::verify(&fewer).is_err());

        // Audit entries and events of each step.
        let audits = count(&app.db, "SELECT COUNT(*) FROM audit_log WHERE target_kind = 'inspection_plan' AND target_id = CAST($1 AS TEXT)", id).await;
        assert_eq!(audits, 5, "create, two tasks, publish, draw");
        let public_events = count(&app.db, "SELECT COUNT(*) FROM events WHERE kind IN ('supervision.plan.published', 'supervision.plan.drawn') AND public = TRUE AND $1 > 0", id).await;
        assert_eq!(public_events, 2);
        app.stop().await;
    }
}

#[tokio::test]
async fn plans_outside_the_jurisdiction_are_not_found_and_roles_are_checked() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let codes = entities(&app.db, 3).await;
        library(&app.db, &codes[0]).await;
        let jinan = officer(&app, "jinan", "3701").await;
        let qingdao = officer(&app, "qingdao", "3702").await;
        let (st, created) = jinan
            .post("/api/v1/office/inspections/plans", plan_body())
            .await;
        assert_eq!(st, StatusCode::CREATED);
        let id = created["id"].as_i64().unwrap();
        let base = format!("/api/v1/office/inspections/plans/{id}");
        let (st, _) = qingdao.get(&base).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = qingdao
            .post(
                &format!("{base}/tasks"),
                json!({"name": "x", "department": "D01", "items": "I001"}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = qingdao
            .page(&format!("/office/inspections/plans/{id}"))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (_, list) = qingdao.get("/api/v1/office/inspections/plans").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0);
        let (_, list) = jinan.get("/api/v1/office/inspections/plans").await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        // Enterprise users may not plan.
        let s = support::account(&app, "firm", Role::Enterprise, "", Some(&codes[0])).await;
        let firm = Api {
            app: &app,
            s,
            c: client(),
        };
        let (st, _) = firm
            .post("/api/v1/office/inspections/plans", plan_body())
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // Without the CSRF header a session write is refused.
        let r = client()
            .post(app.url("/api/v1/office/inspections/plans"))
            .header("cookie", &jinan.s.cookie)
            .json(&plan_body())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Joining: T02's department joins T01, T02 goes.
        for (name, dept, item) in [("一", "D01", "I001"), ("二", "D02", "I002")] {
            let (st, _) = jinan
                .post(
                    &format!("{base}/tasks"),
                    json!({"name": name, "department": dept, "items": item, "population": "type:enterprise"}),
                )
                .await;
            assert_eq!(st, StatusCode::OK);
        }
        let (_, props) = jinan.get(&format!("{base}/proposals")).await;
        assert_eq!(props["items"][0]["tasks"], json!(["T01", "T02"]));
        assert_eq!(props["items"][0]["total"], 3);
        let (st, joined) = jinan
            .post(
                &format!("{base}/join"),
                json!({"from": "T02", "into": "T01"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{joined}");
        let tasks = joined["plan"]["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 1);
        assert_eq!(
            tasks[0]["joined"],
            json!([{"department": "D02", "items": ["I002"]}])
        );
        let (st, _) = jinan
            .post(
                &format!("{base}/join"),
                json!({"from": "T01", "into": "T01"}),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        for t in ["T01"] {
            let (st, _) = jinan
                .send(reqwest::Method::DELETE, &format!("{base}/tasks/{t}"), None)
                .await;
            assert_eq!(st, StatusCode::OK);
        }
        // Publishing without a task is refused and changes nothing.
        let (st, err) = jinan.post(&format!("{base}/publish"), json!({})).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        let (_, after) = jinan.get(&base).await;
        assert_eq!(after["state"], "draft");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_officer_builds_publishes_and_draws_a_plan_on_the_pages() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let codes = entities(&app.db, 30).await;
        library(&app.db, &codes[0]).await;
        let o = officer(&app, "pages", "3701").await;
        let (st, html) = o.page("/office/inspections/plans/new").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("name=\"ratio_a\""));
        let r = o
            .form(
                "/office/inspections/plans",
                &[
                    ("name", "历下区食品与特种设备联合抽查"),
                    ("period", "2026-Q2"),
                    ("scope", "370102"),
                    ("inspection_start", "2026-04-01"),
                    ("inspection_end", "2026-06-30"),
                    ("ratio_a", "0.2"),
                    ("ratio_b", "0.4"),
                    ("ratio_c", "0.6"),
                    ("ratio_d", "1"),
                    ("inspectors_per_department", "2"),
                    ("workload_cap", "100"),
                    (
                        "public_value_source",
                        "深圳证券交易所 2026-04-01 深证成指收盘点位",
                    ),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let path = r.headers()[LOCATION].to_str().unwrap().to_string();
        // A bad form is refused in Chinese first, and nothing is stored.
        let r = o
            .form(
                &format!("{path}/tasks"),
                &[("name", "x"), ("department", "D01"), ("items", " ")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("请至少填写一个抽查事项"));
        for (name, dept, item) in [("食品经营", "D01", "I001"), ("特种设备", "D02", "I002")]
        {
            let r = o
                .form(
                    &format!("{path}/tasks"),
                    &[
                        ("name", name),
                        ("department", dept),
                        ("items", item),
                        ("mode", "default"),
                    ],
                )
                .await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
        let (_, html) = o.page(&format!("{path}?proposals=1")).await;
        assert!(html.contains("id=\"plan-proposals\""), "{html}");
        assert!(html.contains("action=\"/office/inspections/plans/"));
        let (_, html) = o.page(&format!("{path}?preview=licence:food")).await;
        assert!(html.contains("id=\"plan-tasks\""));
        assert!(html.contains("id=\"preview-result\""));
        let r = o.form(&format!("{path}/publish"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, html) = o.page(&path).await;
        assert!(html.contains("id=\"targets-hash\""));
        assert!(html.contains("id=\"draw-form\""));
        let r = o
            .form(&format!("{path}/draw"), &[("public_value", "10234.56")])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, html) = o.page(&path).await;
        assert!(html.contains("id=\"plan-report\""));
        assert!(html.contains("id=\"plan-chart\""));
        assert!(html.contains("id=\"plan-visits\""));
        let (st, joint) = o.page(&format!("{path}?filter=joint")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(joint.contains("<strong>"));
        let (st, _) = o.page(&format!("{path}?filter=bogus")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let id = path.rsplit('/').next().unwrap();
        let public = client()
            .get(app.url("/inspections/plans"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(public.contains(&format!("/inspections/plans/{id}")));
        app.stop().await;
    }
}
