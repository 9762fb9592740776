//! The address service through the real server on each backend: the check and commitment
//! API (who may call it, refusals), the officer pages (check, library, rules, risk,
//! commitments) and the event-log wiring that counts the registry's entities per address.

mod support;

use std::time::{Duration, Instant};

use amr_address::library;
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
use support::csrf_of;

async fn logged_in(app: &TestApp, username: &str) -> reqwest::Client {
    support::form_login(app, username, PASSWORD).await
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
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let to = resp.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(to.starts_with("/office/addresses/library/imports/"), "{to}");
        let (status, report) = get(&app, &c, &to).await;
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
        assert!(queue.contains("济南泉城科技有限公司"), "{queue}");
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
        // Asked for in the address's row, with the decision kept.
        let page = resp.text().await.unwrap();
        assert!(
            page.contains("class=\"alert error review-error\">请填写说明"),
            "{page}"
        );
        assert!(page.contains("value=\"cleared\" selected"));
        let resp = post(
            &app,
            &c,
            "/office/addresses/risk/cluster",
            &[
                ("csrf", &csrf),
                ("key", key),
                ("cluster", "1"),
                ("note", ""),
                ("city", "3701"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let page = resp.text().await.unwrap();
        assert!(
            page.contains("class=\"alert error cluster-error\">请填写说明"),
            "{page}"
        );
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

/// Whether the text of the element with `id` contains `needle`.
fn has_field_error(page: &str, id: &str, needle: &str) -> bool {
    let marker = format!("id=\"{id}\">");
    page.find(&marker)
        .map(|i| {
            let rest = &page[i + marker.len()..];
            rest[..rest.find('<').unwrap_or(rest.len())].contains(needle)
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn refused_forms_come_back_with_the_reason_next_to_the_field_and_the_input_kept() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("officer.lixia", Role::Officer, "370102", PASSWORD)
            .await;
        let c = logged_in(&app, "officer.lixia").await;
        let csrf = csrf_of(&get(&app, &c, "/office").await.1);
        let start = audit_count(&app).await;

        // The library's add form: each bad field named next to it, what was typed kept.
        for (form, status, id, reason, kept) in [
            (
                [
                    ("city", "3701"),
                    ("address", "历下区经十路"),
                    ("address_type", "商业"),
                ],
                StatusCode::BAD_REQUEST,
                "e-address",
                "门牌号",
                "value=\"历下区经十路\"",
            ),
            (
                [
                    ("city", "37"),
                    ("address", "历下区经十路1号"),
                    ("address_type", ""),
                ],
                StatusCode::BAD_REQUEST,
                "e-city",
                "4 位地级市代码",
                "value=\"历下区经十路1号\"",
            ),
            (
                [
                    ("city", "3701"),
                    ("address", "市中区经七路1号"),
                    ("address_type", ""),
                ],
                StatusCode::BAD_REQUEST,
                "e-address",
                "辖区",
                "value=\"市中区经七路1号\"",
            ),
            (
                [
                    ("city", "3701"),
                    ("address", "历下区经十路1号"),
                    ("address_type", &"类".repeat(21)),
                ],
                StatusCode::BAD_REQUEST,
                "e-address_type",
                "20 字",
                "value=\"历下区经十路1号\"",
            ),
        ] {
            let mut body = vec![("csrf", csrf.as_str())];
            body.extend(form.iter().map(|(k, v)| (*k, *v)));
            let resp = post(&app, &c, "/office/addresses/library", &body).await;
            assert_eq!(resp.status(), status, "{form:?}");
            let page = resp.text().await.unwrap();
            assert!(has_field_error(&page, id, reason), "{id} {reason}: {page}");
            assert!(page.contains(kept), "{kept} kept");
            assert!(page.contains("id=\"library-add\"") && page.contains("name=\"csrf\""));
            assert!(page.contains("aria-invalid=\"true\""));
        }
        // A duplicate: 409, next to the address.
        let entry = [
            ("csrf", csrf.as_str()),
            ("city", "3701"),
            ("address", "历下区泉城路180号齐鲁国际大厦"),
            ("address_type", ""),
        ];
        assert_eq!(
            post(&app, &c, "/office/addresses/library", &entry)
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
        let resp = post(&app, &c, "/office/addresses/library", &entry).await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        let page = resp.text().await.unwrap();
        assert!(has_field_error(&page, "e-address", "已有该地址"), "{page}");
        let after_add = audit_count(&app).await;
        assert_eq!(after_add, start + 1, "only the good entry was written");

        // The library search: a bad city is named next to it; the page still lists.
        let (s, page) = get(&app, &c, "/office/addresses/library?city=99x").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(has_field_error(&page, "e-city", "4 位地级市代码"));
        assert!(page.contains("value=\"99x\""));

        // Retiring without a reason: the reason is asked for in that entry's row.
        let id = library::search(&app.db, &Scope::all(), "3701", "", 0)
            .await
            .unwrap()[0]
            .id;
        let resp = post(
            &app,
            &c,
            &format!("/office/addresses/library/{id}/retire"),
            &[
                ("csrf", &csrf),
                ("reason", " "),
                ("city", "3701"),
                ("q", ""),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let page = resp.text().await.unwrap();
        assert!(has_field_error(
            &page,
            &format!("e-reason-{id}"),
            "注销原因"
        ));

        // The pasted import: an empty text is named next to the text box.
        let resp = post(
            &app,
            &c,
            "/office/addresses/library/import",
            &[("csrf", &csrf), ("city", "3701"), ("csv", "  ")],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(has_field_error(
            &resp.text().await.unwrap(),
            "e-csv",
            "请粘贴 CSV"
        ));
        let resp = post(
            &app,
            &c,
            "/office/addresses/library/import",
            &[("csrf", &csrf), ("city", "3701"), ("csv", "名称\n某某\n")],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let page = resp.text().await.unwrap();
        assert!(has_field_error(&page, "e-csv", "表头"), "{page}");
        assert!(page.contains("名称\n某某"), "the pasted text is kept");

        // The check: a bad hint next to the hint, the address kept.
        let (s, page) = get(
            &app,
            &c,
            &format!(
                "/office/addresses/check?address={}&hint=37x",
                urlencode(ADDRESS)
            ),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(page.contains("id=\"e-hint\""), "{page}");
        assert!(page.contains(&format!("value=\"{ADDRESS}\"")));

        // The commitment: no applicant, a bad code; the check page again with the verdict.
        let resp = post(
            &app,
            &c,
            "/office/addresses/commitments",
            &[
                ("csrf", &csrf),
                ("address", "历下区泉城路186号"),
                ("hint", ""),
                ("applicant", ""),
                ("uscc", ""),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let page = resp.text().await.unwrap();
        assert!(has_field_error(&page, "e-applicant", "承诺人"), "{page}");
        assert!(page.contains("data-outcome=\"needs_commitment\""));
        let resp = post(
            &app,
            &c,
            "/office/addresses/commitments",
            &[
                ("csrf", &csrf),
                ("address", "历下区泉城路186号"),
                ("hint", ""),
                ("applicant", "济南泉城科技有限公司"),
                ("uscc", "91370102XXXXXXXX"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let page = resp.text().await.unwrap();
        assert!(page.contains("id=\"e-uscc\""), "{page}");
        assert!(page.contains("value=\"济南泉城科技有限公司\""));
        assert!(page.contains("value=\"91370102XXXXXXXX\""));
        // An address already standard needs no commitment: said above the form, 422.
        let resp = post(
            &app,
            &c,
            "/office/addresses/commitments",
            &[
                ("csrf", &csrf),
                ("address", ADDRESS),
                ("hint", ""),
                ("applicant", "甲"),
                ("uscc", ""),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(has_field_error(
            &resp.text().await.unwrap(),
            "form-alert",
            "无需承诺"
        ));

        // A rule: a missing reason and an end before the start, each at its field.
        let rule = |reason: &'static str, until: &'static str| {
            vec![
                ("kind", "road"),
                ("value", "经十路"),
                ("division", "370102"),
                ("industries", ""),
                ("reason", reason),
                ("legal_basis", "《市场主体登记管理条例》第十一条"),
                ("valid_from", "2026-01-01"),
                ("valid_until", until),
            ]
        };
        for (fields, id, reason) in [
            (rule("", ""), "e-reason", "理由"),
            (rule("道路拓宽", "2025-01-01"), "e-valid_until", "早于"),
        ] {
            let mut body = vec![("csrf", csrf.as_str())];
            body.extend(fields);
            let resp = post(&app, &c, "/office/addresses/rules", &body).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
            let page = resp.text().await.unwrap();
            assert!(has_field_error(&page, id, reason), "{id}: {page}");
            assert!(page.contains("value=\"经十路\""));
            assert!(page.contains("value=\"《市场主体登记管理条例》第十一条\""));
        }

        // Verifying a commitment as false without a note: asked in its row.
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
        let cid = amr_address::commitment::list(&app.db, &Scope::all(), "pending", 10)
            .await
            .unwrap()[0]
            .id;
        let before = audit_count(&app).await;
        let resp = post(
            &app,
            &c,
            &format!("/office/addresses/commitments/{cid}/verify"),
            &[("csrf", &csrf), ("result", "false"), ("note", "")],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let page = resp.text().await.unwrap();
        assert!(
            has_field_error(&page, &format!("e-note-{cid}"), "说明"),
            "{page}"
        );
        assert!(page.contains("value=\"false\" selected"));

        // The risk page: a bad city next to the city box.
        let (s, page) = get(&app, &c, "/office/addresses/risk?city=37").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(has_field_error(&page, "e-city", "4 位地级市代码"));
        // The abnormal list feeds the counts: no "not connected" note.
        assert!(!page.contains("id=\"abnormal-note\"") && !page.contains("经营异常名录尚未接入"));

        assert_eq!(audit_count(&app).await, before, "refusals write nothing");
        // A bad token is still refused outright.
        let resp = post(
            &app,
            &c,
            "/office/addresses/rules",
            &[("csrf", "wrong"), ("kind", "road")],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        app.stop().await;
    }
}

/// A multipart body with the given text fields and one file part.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----amr-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
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
    app: &TestApp,
    c: &reqwest::Client,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> reqwest::Response {
    let (content_type, body) = multipart(fields, file);
    c.post(app.url("/office/addresses/library/upload"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn officers_upload_csv_and_xlsx_files_and_see_each_row_taken_or_refused() {
    for backend in backends() {
        // A small body limit, so the too-large file is cheap to send.
        let config = amr_server::ServerConfig {
            max_body_bytes: 64 * 1024,
            ..amr_server::ServerConfig::default()
        };
        let app = TestApp::spawn_with(backend, config).await;
        app.add_account("officer.lixia", Role::Officer, "370102", PASSWORD)
            .await;
        app.add_account("officer.shizhong", Role::Officer, "370103", PASSWORD)
            .await;
        app.add_account("officer.jinan", Role::Officer, "3701", PASSWORD)
            .await;
        let c = logged_in(&app, "officer.lixia").await;
        let (_, page) = get(&app, &c, "/office/addresses/library?city=3701").await;
        assert!(page.contains("enctype=\"multipart/form-data\""));
        let csrf = csrf_of(&page);

        // CSV: two rows in, one without a number refused, one of another county refused.
        let csv = "地址,地址类型\n历下区泉城路180号齐鲁国际大厦,商业\n历下区经十路\n历下区经十路9777号,\n市中区经七路1号,\n";
        let resp = upload(
            &app,
            &c,
            &[("csrf", &csrf), ("city", "3701")],
            Some(("济南标准地址.csv", csv.as_bytes())),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let to = resp.headers()[LOCATION].to_str().unwrap().to_string();
        let (s, report) = get(&app, &c, &to).await;
        assert_eq!(s, StatusCode::OK, "{report}");
        assert!(has_field_error(&report, "n-rows", "4"));
        assert!(has_field_error(&report, "n-inserted", "2"));
        assert!(has_field_error(&report, "n-refused", "2"));
        assert!(has_field_error(
            &report,
            "import-source",
            "import:济南标准地址.csv"
        ));
        let refused = &report[report.find("id=\"import-errors\"").unwrap()..];
        assert!(refused.contains("<td class=\"num\">2</td>") && refused.contains("门牌号"));
        assert!(refused.contains("<td class=\"num\">4</td>") && refused.contains("辖区"));
        let taken = &report[report.find("id=\"import-accepted\"").unwrap()..];
        assert!(taken.contains("齐鲁国际大厦") && taken.contains("9777号"));
        assert_eq!(
            library::count_city(&app.db, "3701").await.unwrap(),
            2,
            "the refused rows wrote nothing"
        );
        // The report is the importer's and the city's: another county's officer gets 404,
        // the city's officer sees it.
        let other = logged_in(&app, "officer.shizhong").await;
        assert_eq!(get(&app, &other, &to).await.0, StatusCode::NOT_FOUND);
        let city = logged_in(&app, "officer.jinan").await;
        assert_eq!(get(&app, &city, &to).await.0, StatusCode::OK);

        // XLSX: the same columns; the address already there is counted, not refused.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (r, row) in [
            ["区县代码", "道路", "门牌号", "楼宇"],
            ["370102", "泉城路", "180号", "齐鲁国际大厦"],
            ["370102", "泉城路", "188号", ""],
        ]
        .iter()
        .enumerate()
        {
            for (col, v) in row.iter().enumerate() {
                sheet.write_string(r as u32, col as u16, *v).unwrap();
            }
        }
        let xlsx = book.save_to_buffer().unwrap();
        let resp = upload(
            &app,
            &c,
            &[("csrf", &csrf), ("city", "3701")],
            Some(("lixia.XLSX", &xlsx)),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let to = resp.headers()[LOCATION].to_str().unwrap().to_string();
        let (_, report) = get(&app, &c, &to).await;
        assert!(has_field_error(&report, "n-inserted", "1"), "{report}");
        assert!(has_field_error(&report, "n-duplicates", "1"));
        assert!(has_field_error(&report, "n-refused", "0"));
        assert_eq!(library::count_city(&app.db, "3701").await.unwrap(), 3);

        // Refused uploads: the library page again, the reason next to the field.
        let before = audit_count(&app).await;
        let big = format!("地址\n{}", "历下区泉城路1号\n".repeat(2300));
        for (fields, file, id, reason) in [
            (
                vec![("csrf", csrf.as_str()), ("city", "3701")],
                Some(("notes.txt", "地址\n历下区泉城路1号\n".as_bytes())),
                "e-file",
                "只能上传 .csv 或 .xlsx",
            ),
            (
                vec![("csrf", csrf.as_str()), ("city", "3701")],
                None,
                "e-file",
                "请选择",
            ),
            (
                vec![("csrf", csrf.as_str()), ("city", "37")],
                Some(("a.csv", "地址\n历下区泉城路1号\n".as_bytes())),
                "e-upload-city",
                "4 位地级市代码",
            ),
            (
                vec![("csrf", csrf.as_str()), ("city", "3701")],
                Some(("a.xlsx", b"not a workbook".as_slice())),
                "e-file",
                "XLSX",
            ),
            (
                vec![("csrf", csrf.as_str()), ("city", "3701")],
                Some(("a.csv", "地址\n".as_bytes())),
                "e-file",
                "没有数据行",
            ),
            (
                vec![("csrf", csrf.as_str()), ("city", "3701")],
                Some(("big.csv", big.as_bytes())),
                "e-file",
                "文件过大",
            ),
        ] {
            let resp = upload(&app, &c, &fields, file).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{id} {reason}");
            let page = resp.text().await.unwrap();
            assert!(has_field_error(&page, id, reason), "{id} {reason}: {page}");
            assert!(page.contains("id=\"library-upload\""));
        }
        // The page states the limit: the body limit less the form's envelope.
        let (_, page) = get(&app, &c, "/office/addresses/library?city=3701").await;
        assert!(page.contains("48 KB"), "{page}");
        // A bad token: refused outright, nothing imported.
        let resp = upload(
            &app,
            &c,
            &[("csrf", "wrong"), ("city", "3701")],
            Some(("a.csv", "地址\n历下区泉城路2号\n".as_bytes())),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            audit_count(&app).await,
            before,
            "refused uploads write nothing"
        );
        assert_eq!(library::count_city(&app.db, "3701").await.unwrap(), 3);
        app.stop().await;
    }
}
