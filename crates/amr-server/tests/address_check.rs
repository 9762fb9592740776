//! The address service through the real server on each backend: the check and commitment
//! API (who may call it, refusals), the officer pages (check, library, rules, risk,
//! commitments) and the event-log wiring that counts the registry's entities per address.

mod support;

use std::time::{Duration, Instant};

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::{Role, Scope, store};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use support::{TestApp, backends, client};

const PASSWORD: &str = "Correct-Horse-9";
const ADDRESS: &str = "历下区泉城路180号齐鲁国际大厦10楼";

async fn api_key(app: &TestApp, jurisdiction: &str) -> String {
    let mut tx = app.db.begin().await.unwrap();
    let (_, secret) = store::create_api_key(
        &mut tx,
        &Actor::system(),
        &Scope::all(),
        "济南市行政审批服务局",
        jurisdiction,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    secret
}

async fn post_json(
    app: &TestApp,
    key: Option<&str>,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().post(app.url(path)).json(&body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn audit_count(app: &TestApp) -> usize {
    audit::list(&app.db, &Scope::all(), None, 10_000)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn the_check_api_gives_a_verdict_and_takes_commitments_for_key_holders() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let key = api_key(&app, "3701").await;

        // Not public.
        let (s, v) = post_json(
            &app,
            None,
            "/api/v1/addresses/check",
            json!({"address": ADDRESS}),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        let (s, _) = post_json(
            &app,
            Some("amr_wrong"),
            "/api/v1/addresses/check",
            json!({"address": ADDRESS}),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        let (s, v) = post_json(
            &app,
            Some(&key),
            "/api/v1/addresses/check",
            json!({"address": ADDRESS, "hint": "3701"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["outcome"], "needs_commitment");
        assert_eq!(v["parsed"]["county_code"], "370102");
        assert_eq!(v["parsed"]["road"], "泉城路");
        assert_eq!(v["parsed"]["road_no"], "180号");
        assert_eq!(v["parsed"]["floor"], "10");
        assert_eq!(v["risk"]["key"], "3701|泉城路|180号|齐鲁国际大厦");
        assert!(v["standard"].is_null());

        // Bad input: Chinese first, nothing written.
        let before = audit_count(&app).await;
        for (body, field) in [
            (json!({"address": ""}), "address"),
            (json!({"address": ADDRESS, "hint": "37x"}), "hint"),
            (json!({"address": "泉".repeat(201)}), "address"),
        ] {
            let (s, v) = post_json(&app, Some(&key), "/api/v1/addresses/check", body).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
            assert_eq!(v["field"], field);
            assert!(!v["message"].as_str().unwrap().is_ascii());
        }
        let resp = reqwest::Client::new()
            .post(app.url("/api/v1/addresses/check"))
            .bearer_auth(&key)
            .body("not json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(resp.text().await.unwrap().contains("请求体应为 JSON"));
        let (s, v) = post_json(
            &app,
            Some(&key),
            "/api/v1/addresses/commitments",
            json!({"address": ADDRESS, "applicant": ""}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "applicant");
        assert_eq!(audit_count(&app).await, before);

        // A commitment.
        let (s, v) = post_json(
            &app,
            Some(&key),
            "/api/v1/addresses/commitments",
            json!({"address": ADDRESS, "hint": "3701", "applicant": "济南泉城科技有限公司"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["status"], "pending");
        assert_eq!(v["division"], "370102");
        assert_eq!(audit_count(&app).await, before + 1);

        // A negative-list rule refuses the check and the commitment, naming the rule.
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
        let (_, v) = post_json(
            &app,
            Some(&key),
            "/api/v1/addresses/check",
            json!({"address": ADDRESS}),
        )
        .await;
        assert_eq!(v["outcome"], "refused");
        assert_eq!(v["negative_hits"][0]["value"], "齐鲁国际大厦");
        assert_eq!(
            v["negative_hits"][0]["legal_basis"],
            "《市场主体登记管理条例》第十一条"
        );
        let (s, v) = post_json(
            &app,
            Some(&key),
            "/api/v1/addresses/commitments",
            json!({"address": ADDRESS, "applicant": "甲"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["message"].as_str().unwrap().contains("负面清单"));
        app.stop().await;
    }
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn logged_in(app: &TestApp, username: &str) -> reqwest::Client {
    let c = client();
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resp = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("username", username),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    c
}

async fn get(app: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let resp = c.get(app.url(path)).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn post(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    c.post(app.url(path)).form(form).send().await.unwrap()
}

#[tokio::test]
async fn officers_keep_the_library_and_the_negative_list_and_verify_commitments() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("officer.lixia", Role::Officer, "370102", PASSWORD)
            .await;
        app.add_account("officer.shizhong", Role::Officer, "370103", PASSWORD)
            .await;
        app.add_account("ent.user", Role::Enterprise, "", PASSWORD)
            .await;

        // Not logged in: the login page; an enterprise user: 403.
        let resp = client()
            .get(app.url("/office/addresses/check"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let ent = logged_in(&app, "ent.user").await;
        assert_eq!(
            get(&app, &ent, "/office/addresses/library").await.0,
            StatusCode::FORBIDDEN
        );

        let c = logged_in(&app, "officer.lixia").await;
        let (s, office) = get(&app, &c, "/office").await;
        assert_eq!(s, StatusCode::OK);
        assert!(office.contains("href=\"/office/addresses/check\""));
        let csrf = csrf_of(&office);

        // The check page parses and shows the verdict.
        let (s, page) = get(
            &app,
            &c,
            &format!("/office/addresses/check?address={}", urlencode(ADDRESS)),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        for part in [
            "山东省",
            "济南市",
            "历下区",
            "370102",
            "泉城路",
            "180号",
            "齐鲁国际大厦",
            "needs_commitment",
            "未命中负面清单",
        ] {
            assert!(page.contains(part), "{part} missing");
        }

        // The library: add (PRG), refuse a bad one, then the check matches.
        let start = audit_count(&app).await;
        let resp = post(
            &app,
            &c,
            "/office/addresses/library",
            &[
                ("csrf", &csrf),
                ("city", "3701"),
                ("address", "历下区泉城路180号齐鲁国际大厦"),
                ("address_type", "商业"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert!(
            resp.headers()[LOCATION]
                .to_str()
                .unwrap()
                .starts_with("/office/addresses/library?city=3701")
        );
        let (_, lib) = get(&app, &c, "/office/addresses/library?city=3701").await;
        assert!(lib.contains("齐鲁国际大厦") && lib.contains("商业"));
        for (form, status) in [
            (
                vec![
                    ("csrf", "wrong"),
                    ("city", "3701"),
                    ("address", "历下区经十路1号"),
                ],
                StatusCode::FORBIDDEN,
            ),
            (
                vec![
                    ("csrf", csrf.as_str()),
                    ("city", "37"),
                    ("address", "历下区经十路1号"),
                ],
                StatusCode::BAD_REQUEST,
            ),
            (
                vec![
                    ("csrf", csrf.as_str()),
                    ("city", "3701"),
                    ("address", "历下区经十路"),
                ],
                StatusCode::BAD_REQUEST,
            ),
            (
                vec![
                    ("csrf", csrf.as_str()),
                    ("city", "3701"),
                    ("address", "市中区经七路1号"),
                ],
                StatusCode::BAD_REQUEST,
            ),
            (
                vec![
                    ("csrf", csrf.as_str()),
                    ("city", "3701"),
                    ("address", "历下区泉城路180号齐鲁国际大厦"),
                ],
                StatusCode::CONFLICT,
            ),
        ] {
            let resp = post(&app, &c, "/office/addresses/library", &form).await;
            assert_eq!(resp.status(), status, "{form:?}");
            if status == StatusCode::BAD_REQUEST {
                let body = resp.text().await.unwrap();
                assert!(
                    body.contains("请") || body.contains("地址"),
                    "Chinese first"
                );
            }
        }
        assert_eq!(audit_count(&app).await, start + 1);
        let (_, page) = get(
            &app,
            &c,
            &format!("/office/addresses/check?address={}", urlencode(ADDRESS)),
        )
        .await;
        assert!(page.contains("data-outcome=\"accepted_standard\""));

        // Import pasted CSV: one in, one refused with its row.
        let resp = post(
            &app,
            &c,
            "/office/addresses/library/import",
            &[
                ("csrf", &csrf),
                ("city", "3701"),
                ("csv", "地址\n历下区经十路9777号\n历下区经十路\n"),
            ],
        )
        .await;
        let status = resp.status();
        let report = resp.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{report}");
        assert!(report.contains("id=\"import-errors\"") && report.contains("门牌号"));

        // A rule; Shizhong's officer cannot end it; Lixia's ends it.
        let resp = post(
            &app,
            &c,
            "/office/addresses/rules",
            &[
                ("csrf", &csrf),
                ("kind", "road"),
                ("value", "经十路"),
                ("division", "370102"),
                ("reason", "道路拓宽拆迁"),
                ("legal_basis", "《市场主体登记管理条例》第十一条"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let resp = post(
            &app,
            &c,
            "/office/addresses/rules",
            &[
                ("csrf", &csrf),
                ("kind", "road"),
                ("value", "经十路"),
                ("division", ""),
                ("reason", "x"),
                ("legal_basis", "y"),
            ],
        )
        .await;
        assert_eq!(
            resp.status(),
            StatusCode::BAD_REQUEST,
            "a county officer adds no national rule"
        );
        let (_, rules_page) = get(&app, &c, "/office/addresses/rules").await;
        assert!(rules_page.contains("道路拓宽拆迁"));
        let (_, page) = get(
            &app,
            &c,
            &format!(
                "/office/addresses/check?address={}",
                urlencode("历下区经十路9777号")
            ),
        )
        .await;
        assert!(page.contains("data-outcome=\"refused\"") && page.contains("道路拓宽拆迁"));
        let rules = amr_address::rules::list(&app.db, &Scope::prefix("370102"))
            .await
            .unwrap();
        let id = rules[0].id;
        let other = logged_in(&app, "officer.shizhong").await;
        let other_csrf = csrf_of(&get(&app, &other, "/office").await.1);
        let resp = post(
            &app,
            &other,
            &format!("/office/addresses/rules/{id}/end"),
            &[("csrf", &other_csrf)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let resp = post(
            &app,
            &c,
            &format!("/office/addresses/rules/{id}/end"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);

        // A commitment from the check page, then the queue; another county cannot verify it.
        let resp = post(
            &app,
            &c,
            "/office/addresses/commitments",
            &[
                ("csrf", &csrf),
                ("address", "历下区泉城路186号"),
                ("hint", ""),
                ("applicant", "济南泉城科技有限公司"),
                ("uscc", ""),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let (_, queue) = get(&app, &c, "/office/addresses/commitments").await;
        assert!(queue.contains("济南泉城科技有限公司"));
        let list = amr_address::commitment::list(&app.db, &Scope::all(), "pending", 10)
            .await
            .unwrap();
        let cid = list[0].id;
        let (_, other_queue) = get(&app, &other, "/office/addresses/commitments").await;
        assert!(!other_queue.contains("济南泉城科技有限公司"));
        let resp = post(
            &app,
            &other,
            &format!("/office/addresses/commitments/{cid}/verify"),
            &[("csrf", &other_csrf), ("result", "verified"), ("note", "")],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let resp = post(
            &app,
            &c,
            &format!("/office/addresses/commitments/{cid}/verify"),
            &[
                ("csrf", &csrf),
                ("result", "verified"),
                ("note", "实地核查属实"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let (_, done) = get(&app, &c, "/office/addresses/commitments?status=verified").await;
        assert!(done.contains("实地核查属实"));
        assert_eq!(
            get(&app, &c, "/office/addresses/commitments?status=x")
                .await
                .0,
            StatusCode::BAD_REQUEST
        );
        let actions: Vec<String> = audit::list(&app.db, &Scope::all(), None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for a in [
            "address.library.add",
            "address.library.import",
            "address.rule.add",
            "address.rule.end",
            "address.commitment.record",
            "address.commitment.verify",
        ] {
            assert!(actions.iter().any(|x| x == a), "{a} audited");
        }
        app.stop().await;
    }
}

fn urlencode(s: &str) -> String {
    amr_web::extract::percent_encode(s)
}

#[tokio::test]
async fn registered_entities_are_counted_per_address_and_reviewed_on_the_risk_page() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("officer.jinan", Role::Officer, "3701", PASSWORD)
            .await;
        let spec = amr_registry::demo::DemoSpec {
            seed: 7,
            entities: 300,
            province: "37".into(),
        };
        let mut entities: Vec<_> = amr_registry::demo::Generator::new(spec).unwrap().collect();
        // Twelve of them at one address in Jinan.
        let mut n = 0;
        for e in entities
            .iter_mut()
            .filter(|e| e.division.starts_with("3701"))
            .take(12)
        {
            e.address = "山东省济南市历下区泉城路180号齐鲁国际大厦".into();
            n += 1;
        }
        assert_eq!(n, 12);
        amr_registry::store::insert_batch(&app.db, &Actor::system(), &entities)
            .await
            .unwrap();

        // The server's follower counts them from the event log.
        let key = "3701|泉城路|180号|齐鲁国际大厦";
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(a) = amr_address::risk::get(&app.db, key).await.unwrap()
                && a.entity_count == 12
            {
                assert_eq!(a.review_state, "pending");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the follower did not count the batch"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut counted = 0;
        for city in 3701..=3717 {
            counted += amr_address::risk::city_totals(&app.db, &city.to_string())
                .await
                .unwrap()
                .0;
        }
        assert_eq!(counted, 300);

        let c = logged_in(&app, "officer.jinan").await;
        let (s, page) = get(&app, &c, "/office/addresses/risk?city=3701").await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("id=\"queue\"") && page.contains("泉城路180号齐鲁国际大厦"));
        assert!(
            !page.contains("/office/addresses/risk/threshold"),
            "officers do not set the threshold"
        );
        assert_eq!(
            get(&app, &c, "/office/addresses/risk?city=37").await.0,
            StatusCode::BAD_REQUEST
        );
        let csrf = csrf_of(&page);
        let resp = post(
            &app,
            &c,
            "/office/addresses/risk/review",
            &[
                ("csrf", &csrf),
                ("key", key),
                ("decision", "cleared"),
                ("note", ""),
                ("city", "3701"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "a note is required");
        let resp = post(
            &app,
            &c,
            "/office/addresses/risk/review",
            &[
                ("csrf", &csrf),
                ("key", key),
                ("decision", "cleared"),
                ("note", "孵化器集中办公，已核实"),
                ("city", "3701"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let a = amr_address::risk::get(&app.db, key).await.unwrap().unwrap();
        assert_eq!(a.review_state, "cleared");
        let resp = post(
            &app,
            &c,
            "/office/addresses/risk/threshold",
            &[("csrf", &csrf), ("threshold", "5"), ("city", "3701")],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        app.stop().await;
    }
}
