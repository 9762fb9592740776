//! Online registration through the real server on each backend: the name check (each
//! missing part, collisions), the domicile (negative list, commitment, standard address),
//! filing → approval → the public record, return → refile → approval, illegal steps and the
//! jurisdiction, and the applicant's and officer's pages.

mod support;

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Role, Scope, store};
use amr_kernel::codes::uscc::Uscc;
use amr_registry::model::{EntityType, NewEntity, Status};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::{Value, json};
use support::{TestApp, backends, client};

const PASSWORD: &str = "Correct-Horse-9";
/// Not in the standard library (the commitment path).
const ADDRESS: &str = "山东省济南市历下区泉城路180号齐鲁国际大厦10楼";
const REP_ID: &str = "370102199003071238";

fn application(name: &str, address: &str, commit: bool) -> Value {
    json!({
        "name": name,
        "entity_type": "enterprise",
        "address": address,
        "capital": "100万",
        "scope": "日用百货销售；五金产品零售",
        "industry": "5211",
        "legal_rep": "王五",
        "legal_rep_id": REP_ID,
        "phone": "0531-88880000",
        "shareholders": [
            {"name": "王五", "kind": "natural", "id_number": REP_ID, "subscribed": 600000},
            {"name": "泉城控股有限公司", "kind": "legal", "id_number": "91350100M000100Y43", "subscribed": "40万"}
        ],
        "address_commitment": commit,
    })
}

async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = resp.status();
    (s, resp.json().await.unwrap_or(Value::Null))
}

/// A logged-in officer for the API: the session cookie and its CSRF token.
struct Officer {
    cookie: String,
    csrf: String,
}

async fn officer(app: &TestApp, username: &str, jurisdiction: &str) -> Officer {
    app.add_account(username, Role::Officer, jurisdiction, PASSWORD)
        .await;
    let (account, _) = store::find_for_login(&app.db, username)
        .await
        .unwrap()
        .unwrap();
    let (token, session) =
        store::create_session(&app.db, &account, chrono::Duration::hours(1), None)
            .await
            .unwrap();
    Officer {
        cookie: format!("amr_session={token}"),
        csrf: session.csrf_token,
    }
}

async fn officer_post(app: &TestApp, o: &Officer, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(app.url(path))
        .header(COOKIE, &o.cookie)
        .header("x-csrf-token", &o.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = resp.status();
    (s, resp.json().await.unwrap_or(Value::Null))
}

async fn officer_get(app: &TestApp, o: &Officer, path: &str) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .get(app.url(path))
        .header(COOKIE, &o.cookie)
        .send()
        .await
        .unwrap();
    let s = resp.status();
    (s, resp.json().await.unwrap_or(Value::Null))
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
        .fetch_one(c)
        .await
        .unwrap())
}

async fn event_count(app: &TestApp, kind: &str) -> i64 {
    amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM events WHERE kind = $1")
        .bind(kind)
        .fetch_one(c)
        .await
        .unwrap())
}

async fn register_existing(app: &TestApp, uscc: &str, name: &str, division: &str) {
    let e = NewEntity {
        uscc: uscc.into(),
        name: name.into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "赵六".into(),
        legal_rep_id: None,
        phone: None,
        capital_yuan: Some(500_000),
        established: chrono::NaiveDate::from_ymd_opt(2015, 6, 1).unwrap(),
        address: "济南市历下区经十路1号".into(),
        division: division.into(),
        scope: "日用百货销售".into(),
        industry: "5211".into(),
        status: Status::Active,
    };
    let mut tx = app.db.begin().await.unwrap();
    amr_registry::store::create(&mut tx, &Actor::system(), &e)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_name_check_names_each_missing_part_and_refuses_collisions() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        for (name, missing) in [
            ("明月商贸有限公司", "缺少行政区划"),
            ("济南商贸有限公司", "缺少字号"),
            ("济南泉润有限公司", "缺少行业"),
            ("济南明月商贸", "缺少组织形式"),
        ] {
            let (s, v) = post(
                &app,
                "/api/v1/registrations/name-check",
                json!({"name": name, "division": "370102"}),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let errors = v["errors"].to_string();
            assert!(errors.contains(missing), "{name}: {errors}");
            assert_eq!(v["errors"].as_array().unwrap().len(), 1, "{name}: {errors}");
            // The filing is refused the same way, naming the field, and writes nothing.
            let (s, v) = post(
                &app,
                "/api/v1/registrations",
                application(name, ADDRESS, true),
            )
            .await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
            assert_eq!(v["field"], "name");
            assert!(v["message"].as_str().unwrap().contains(missing), "{v}");
        }
        assert_eq!(count(&app, "registrations").await, 0);
        assert_eq!(count(&app, "address_commitments").await, 0);

        // A registered entity with the same trade name and industry in the jurisdiction.
        register_existing(
            &app,
            "91370102MA3C8N5X1M",
            "历下明月商贸有限公司",
            "370102001",
        )
        .await;
        let (s, v) = post(
            &app,
            "/api/v1/registrations/name-check",
            json!({"name": "济南明月商贸有限公司", "division": "370102"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["parts"]["trade_name"], "明月");
        assert_eq!(v["collisions"][0]["uscc"], "91370102MA3C8N5X1M", "{v}");
        let (s, v) = post(
            &app,
            "/api/v1/registrations",
            application("济南明月商贸有限公司", ADDRESS, true),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "name");
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.contains("历下明月商贸有限公司") && msg.contains("91370102MA3C8N5X1M"),
            "{msg}"
        );
        // Another industry, or another city, is free.
        for (name, division) in [
            ("济南明月科技有限公司", "370102"),
            ("青岛明月商贸有限公司", "370202"),
        ] {
            let (_, v) = post(
                &app,
                "/api/v1/registrations/name-check",
                json!({"name": name, "division": division}),
            )
            .await;
            assert_eq!(v["collisions"], json!([]), "{name}: {v}");
            assert_eq!(v["errors"], json!([]), "{name}: {v}");
        }
        assert_eq!(count(&app, "registrations").await, 0);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_domicile_is_refused_by_the_negative_list_and_needs_a_commitment_otherwise() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
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
        let (s, v) = post(
            &app,
            "/api/v1/registrations",
            application("济南明月商贸有限公司", ADDRESS, true),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.contains("负面清单") && msg.contains("列入征收范围"),
            "{msg}"
        );
        assert_eq!(count(&app, "registrations").await, 0);

        // Not in the library: refused without the commitment, filed with it.
        let other = "山东省济南市历下区经十路9999号";
        let (s, v) = post(
            &app,
            "/api/v1/registrations",
            application("济南明月商贸有限公司", other, false),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "address_commitment");
        assert_eq!(count(&app, "registrations").await, 0);
        let (s, v) = post(
            &app,
            "/api/v1/registrations",
            application("济南明月商贸有限公司", other, true),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["filing"]["address_outcome"], "committed");
        assert_eq!(v["filing"]["division"], "370102");
        assert!(v["filing"]["commitment_id"].is_i64());
        assert_eq!(count(&app, "address_commitments").await, 1);
        assert_eq!(event_count(&app, "registry.registration.filed").await, 1);
        // A second filing of the same name while the first is pending collides with it.
        let (s, v) = post(
            &app,
            "/api/v1/registrations",
            application("历下明月商贸有限公司", other, true),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(v["message"].as_str().unwrap().contains("申请中"), "{v}");
        app.stop().await;
    }
}

#[tokio::test]
async fn approval_registers_the_entity_and_illegal_steps_are_refused() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        // A standard address: no commitment needed.
        let standard = "山东省济南市历下区泉城路188号";
        let entry = amr_address::library::prepare("3701", standard, None).unwrap();
        let mut tx = app.db.begin().await.unwrap();
        amr_address::library::add(&mut tx, &Actor::system(), &Scope::all(), &entry)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (s, v) = post(
            &app,
            "/api/v1/registrations",
            application("济南泉润商贸有限公司", standard, false),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["filing"]["address_outcome"], "accepted_standard");
        let no = v["filing_no"].as_str().unwrap().to_string();
        let token = v["token"].as_str().unwrap().to_string();
        assert_eq!(v["filing"]["filing_hash"].as_str().unwrap().len(), 64);

        // The applicant's link; a wrong token is not found.
        let r = reqwest::get(app.url(&format!("/api/v1/registrations/{no}?token={token}")))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["filing"]["status"], "filed");
        let r = reqwest::get(app.url(&format!("/api/v1/registrations/{no}?token=x{token}")))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // Outside the jurisdiction: not found, nothing changes; the queue does not list it.
        let qingdao = officer(&app, "qd", "3702").await;
        let (s, _) = officer_post(
            &app,
            &qingdao,
            &format!("/api/v1/registrations/{no}/approve"),
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, v) = officer_get(&app, &qingdao, "/api/v1/office/registrations").await;
        assert_eq!(v["items"], json!([]));
        // Without a session, or an agency key: no.
        let (s, _) = post(
            &app,
            &format!("/api/v1/registrations/{no}/approve"),
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        let lixia = officer(&app, "lx", "370102").await;
        let (_, v) = officer_get(&app, &lixia, "/api/v1/office/registrations").await;
        assert_eq!(v["items"][0]["filing_no"], no.as_str(), "{v}");
        let (s, v) = officer_post(
            &app,
            &lixia,
            &format!("/api/v1/registrations/{no}/approve"),
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["filing"]["status"], "approved");
        assert_eq!(v["filing"]["licence_version"], 1);
        let uscc = v["filing"]["uscc"].as_str().unwrap().to_string();
        let code = Uscc::parse(&uscc).unwrap();
        assert!(uscc.starts_with("91370102"), "{uscc}");
        assert_eq!(code.as_str(), uscc);

        let r = reqwest::get(app.url(&format!("/api/v1/entities/{uscc}")))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["name"], "济南泉润商贸有限公司");
        assert_eq!(e["status"], "active");
        assert_eq!(e["capital_yuan"], 1_000_000);
        assert!(
            !e.to_string().contains(REP_ID),
            "no ID number in public: {e}"
        );
        for kind in [
            "registry.registration.filed",
            "registry.registration.approved",
            "registry.entity.registered",
        ] {
            assert_eq!(event_count(&app, kind).await, 1, "{kind}");
        }

        // Approving twice, returning an approved filing: refused with the rule.
        let (s, v) = officer_post(
            &app,
            &lixia,
            &format!("/api/v1/registrations/{no}/approve"),
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["message"].as_str().unwrap().contains("不能重复核准"),
            "{v}"
        );
        let (s, v) = officer_post(
            &app,
            &lixia,
            &format!("/api/v1/registrations/{no}/return"),
            json!({"reasons": "补充材料"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(count(&app, "entities").await, 1);
        assert_eq!(event_count(&app, "registry.registration.approved").await, 1);

        // The name is now taken in the jurisdiction.
        let (_, v) = post(
            &app,
            "/api/v1/registrations/name-check",
            json!({"name": "历下泉润商贸有限公司", "division": "370102"}),
        )
        .await;
        assert_eq!(v["collisions"][0]["uscc"], uscc.as_str(), "{v}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_returned_filing_is_corrected_refiled_and_approved() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let (s, v) = post(
            &app,
            "/api/v1/registrations",
            application("济南鑫达商贸有限公司", ADDRESS, true),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let no = v["filing_no"].as_str().unwrap().to_string();
        let token = v["token"].as_str().unwrap().to_string();
        let first_hash = v["filing"]["filing_hash"].as_str().unwrap().to_string();
        let lixia = officer(&app, "lx", "3701").await;

        // Reasons are required; then returned.
        let path = format!("/api/v1/registrations/{no}/return");
        let (s, v) = officer_post(&app, &lixia, &path, json!({"reasons": "  "})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "reasons");
        let (s, v) = officer_post(
            &app,
            &lixia,
            &path,
            json!({"reasons": "经营范围表述不规范，请按规范表述填写"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["filing"]["status"], "returned");
        let (s, v) = officer_post(&app, &lixia, &path, json!({"reasons": "再退"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

        // A returned filing cannot be approved.
        let approve = format!("/api/v1/registrations/{no}/approve");
        let (s, v) = officer_post(&app, &lixia, &approve, json!({})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["message"].as_str().unwrap().contains("已退回"), "{v}");

        // The applicant sees the reasons and refiles (its own pending name does not collide).
        let r = reqwest::get(app.url(&format!("/api/v1/registrations/{no}?token={token}")))
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["filing"]["reasons"],
            "经营范围表述不规范，请按规范表述填写"
        );
        assert_eq!(body["steps"].as_array().unwrap().len(), 2);
        let mut corrected = application("济南鑫达商贸有限公司", ADDRESS, true);
        corrected["scope"] = json!("日用百货销售；五金产品零售；文具用品零售");
        let client = reqwest::Client::new();
        let r = client
            .put(app.url(&format!("/api/v1/registrations/{no}?token=wrong")))
            .json(&corrected)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = client
            .put(app.url(&format!("/api/v1/registrations/{no}")))
            .header("x-registration-token", &token)
            .json(&corrected)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["filing"]["status"], "filed");
        assert_eq!(v["filing"]["round"], 2);
        assert_ne!(v["filing"]["filing_hash"], first_hash.as_str());
        // Refiling again while under examination is refused.
        let r = client
            .put(app.url(&format!("/api/v1/registrations/{no}?token={token}")))
            .json(&corrected)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let (s, v) = officer_post(&app, &lixia, &approve, json!({})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let uscc = v["filing"]["uscc"].as_str().unwrap();
        let r = reqwest::get(app.url(&format!("/api/v1/entities/{uscc}")))
            .await
            .unwrap();
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["scope"], "日用百货销售；五金产品零售；文具用品零售");
        assert_eq!(event_count(&app, "registry.registration.filed").await, 2);
        assert_eq!(event_count(&app, "registry.registration.returned").await, 1);
        let audits = amr_kernel::audit::list(&app.db, &Scope::all(), None, 100)
            .await
            .unwrap();
        let actions: Vec<&str> = audits.iter().map(|a| a.action.as_str()).collect();
        for a in [
            "registration.file",
            "registration.return",
            "registration.refile",
            "registration.approve",
            "entity.register",
            "address.commitment.record",
        ] {
            assert!(actions.contains(&a), "{a} in {actions:?}");
        }
        app.stop().await;
    }
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", amr_web::extract::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn input_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{name} in page"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn the_pages_take_an_application_and_the_officer_approves_it() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let c = client();
        let r = c
            .get(app.url("/registrations/name-check?name=济南明月商贸&division=370102"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("缺少组织形式"));
        let r = c
            .get(app.url("/registrations/new?name=济南明月商贸有限公司"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        let csrf = input_value(&html, "csrf");
        let fields = [
            ("csrf", csrf.as_str()),
            ("token", ""),
            ("name", "济南明月商贸有限公司"),
            ("entity_type", "enterprise"),
            ("address", ADDRESS),
            ("division", ""),
            ("capital", "50万"),
            ("scope", "日用百货销售"),
            ("industry", "5211"),
            ("legal_rep", "王五"),
            ("legal_rep_id", REP_ID),
            ("sh_name", "王五"),
            ("sh_kind", "natural"),
            ("sh_id", REP_ID),
            ("sh_capital", "50万"),
            ("sh_name", ""),
            ("sh_kind", "natural"),
            ("sh_id", ""),
            ("sh_capital", ""),
        ];
        // Without the commitment: the form comes back with the error at its field.
        let r = c
            .post(app.url("/registrations"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&fields))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let html = r.text().await.unwrap();
        assert!(html.contains("须由申请人承诺住所真实有效"), "{html}");
        assert!(
            html.contains("济南明月商贸有限公司"),
            "the form keeps what was typed"
        );
        // A wrong CSRF token is refused.
        let mut bad = fields.to_vec();
        bad[0] = ("csrf", "nope");
        let r = c
            .post(app.url("/registrations"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&bad))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let mut good = fields.to_vec();
        good.push(("address_commitment", "on"));
        let r = c
            .post(app.url("/registrations"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&good))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let link = r.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(
            link.starts_with("/registrations/DJ") && link.contains("?token="),
            "{link}"
        );
        let html = c
            .get(app.url(&link))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("待审查") && html.contains("济南明月商贸有限公司"));
        let no = link
            .trim_start_matches("/registrations/")
            .split('?')
            .next()
            .unwrap()
            .to_string();

        // The officer's pages.
        app.add_account("lx", Role::Officer, "370102", PASSWORD)
            .await;
        let oc = client();
        let login = oc
            .get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let lc = input_value(&login, "csrf");
        let r = oc
            .post(app.url("/login"))
            .form(&[
                ("csrf", lc.as_str()),
                ("username", "lx"),
                ("password", PASSWORD),
                ("next", "/office/registrations"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let queue = oc
            .get(app.url("/office/registrations"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(queue.contains(&no), "{queue}");
        let detail = oc
            .get(app.url(&format!("/office/registrations/{no}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(detail.contains(REP_ID), "the officer sees the ID number");
        let csrf = input_value(&detail, "csrf");
        let r = oc
            .post(app.url(&format!("/office/registrations/{no}/approve")))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let detail = oc
            .get(app.url(&format!("/office/registrations/{no}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(detail.contains("approved-uscc"), "{detail}");
        let html = c
            .get(app.url(&link))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("licence-uscc"));
        // The applicant's page is not the officer's: no one else reads it without the token.
        let r = c
            .get(app.url(&format!("/registrations/{no}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        // An enterprise user may not examine.
        app.add_account("ent", Role::Enterprise, "", PASSWORD).await;
        let ec = client();
        let login = ec
            .get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let lc = input_value(&login, "csrf");
        ec.post(app.url("/login"))
            .form(&[
                ("csrf", lc.as_str()),
                ("username", "ent"),
                ("password", PASSWORD),
                ("next", "/office"),
            ])
            .send()
            .await
            .unwrap();
        let r = ec
            .get(app.url("/office/registrations"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        app.stop().await;
    }
}
