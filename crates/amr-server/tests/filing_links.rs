//! The registration filing tied to the other parts, through the real server on each backend:
//! the officer's filing page and API show the filing's signatures checked against its current
//! hash (a refiled filing shows the mismatch); a signature over another hash than the filing's
//! current one, or for an unknown filing number, is refused and writes nothing; the applicant's
//! pages offer the signature link; the service-guide boxes appear on the registration form,
//! the filing page and the portal's lifecycle forms once the catalogue is imported, and not
//! before.

mod support;

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Role, Scope, store as auth};
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::guide::{store as guide_store, table};
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_server::config::IdentityVerifierConfig;
use chrono::NaiveDate;
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::{Value, json};
use support::{TestApp, account, backends, client};

/// Not in the standard library (the commitment path).
const ADDRESS: &str = "山东省济南市历下区泉城路180号齐鲁国际大厦10楼";
const REP_ID: &str = "370102199003071238";
/// A well-formed hash that is no filing's.
const OTHER_HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn application(name: &str, scope: &str) -> Value {
    json!({
        "name": name,
        "entity_type": "enterprise",
        "address": ADDRESS,
        "capital": "100万",
        "scope": scope,
        "industry": "5211",
        "legal_rep": "王五",
        "legal_rep_id": REP_ID,
        "phone": "0531-88880000",
        "shareholders": [
            {"name": "王五", "kind": "natural", "id_number": REP_ID, "subscribed": 1000000}
        ],
        "address_commitment": true,
    })
}

async fn demo_app(backend: support::Backend) -> TestApp {
    let config = amr_server::ServerConfig {
        identity_verifier: IdentityVerifierConfig::Demo,
        ..amr_server::ServerConfig::default()
    };
    TestApp::spawn_with(backend, config).await
}

async fn api_key(app: &TestApp) -> String {
    let mut tx = app.db.begin().await.unwrap();
    let (_, secret) = auth::create_api_key(
        &mut tx,
        &Actor::system(),
        &Scope::all(),
        "济南市行政审批服务局",
        "3701",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    secret
}

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, String) {
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

async fn signatures_count(app: &TestApp) -> i64 {
    amr_kernel::on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM filing_signatures")
        .fetch_one(c)
        .await
        .unwrap())
}

fn signing(no: &str, hash: &str) -> Value {
    json!({
        "filing_ref": no,
        "filing_hash": hash,
        "signer": {"name": "陈大文", "hkid": "A123456(3)", "permit": "H12345678"},
        "pin": "246810",
    })
}

async fn import_guide(app: &TestApp) {
    let rows = table::read(
        "catalogue.csv",
        amr_registry::guide::DEFAULT_CATALOGUE.as_bytes(),
    )
    .unwrap();
    guide_store::import(
        &app.db,
        &Actor::system(),
        &Scope::all(),
        "37",
        "test:catalogue.csv",
        &rows,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn officers_see_signatures_against_the_current_hash_and_stale_hashes_are_refused() {
    for backend in backends() {
        let app = demo_app(backend).await;
        let http = reqwest::Client::new();
        let (s, body) = send(
            http.post(app.url("/api/v1/registrations"))
                .json(&application("济南明辉商贸有限公司", "日用百货销售")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let v = json_of(&body);
        let no = v["filing_no"].as_str().unwrap().to_string();
        let token = v["token"].as_str().unwrap().to_string();
        let hash = v["filing"]["filing_hash"].as_str().unwrap().to_string();
        let key = api_key(&app).await;

        // Another hash than the filing's: 422, Chinese first; an unknown filing number: 404.
        let (s, body) = send(
            http.post(app.url("/api/v1/signatures"))
                .bearer_auth(&key)
                .json(&signing(&no, OTHER_HASH)),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            json_of(&body)["message"]
                .as_str()
                .unwrap()
                .starts_with("申报材料哈希与登记申请"),
            "{body}"
        );
        let (s, body) = send(
            http.post(app.url("/api/v1/signatures"))
                .bearer_auth(&key)
                .json(&signing("DJ20260101999999", &hash)),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(signatures_count(&app).await, 0);

        // The current hash (upper case is the same hash): signed, with the filing's division
        // whatever the caller said.
        let mut ok = signing(&no, &hash.to_ascii_uppercase());
        ok["division"] = json!("370602");
        let (s, body) = send(
            http.post(app.url("/api/v1/signatures"))
                .bearer_auth(&key)
                .json(&ok),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        assert_eq!(signatures_count(&app).await, 1);

        // The officer of the domicile's city sees it on the filing page and in the API.
        let officer = account(&app, "lx", Role::Officer, "3701", None).await;
        let page = format!("/office/registrations/{no}");
        let (s, html) = send(http.get(app.url(&page)).header(COOKIE, &officer.cookie)).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"signatures\""), "{html}");
        assert!(html.contains("陈大文"), "{html}");
        assert!(html.contains("A12****(*)"), "{html}");
        assert!(!html.contains("A123456"), "the HKID is masked: {html}");
        assert!(html.contains("<strong>有效</strong>"), "{html}");
        assert!(!html.contains("不匹配"), "{html}");
        let api = format!("/api/v1/office/registrations/{no}");
        let (s, body) = send(http.get(app.url(&api)).header(COOKIE, &officer.cookie)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let v = json_of(&body);
        let sig = &v["signatures"][0];
        assert_eq!(sig["signer_name"], "陈大文", "{v}");
        assert_eq!(sig["hash_matches"], true, "{v}");
        assert_eq!(sig["verifies"], true, "{v}");
        assert!(sig["verifier"].as_str().is_some_and(|s| !s.is_empty()));

        // Returned and refiled with another scope: the signature no longer matches.
        let (s, body) = send(
            http.post(app.url(&format!("/api/v1/registrations/{no}/return")))
                .header(COOKIE, &officer.cookie)
                .header("x-csrf-token", &officer.csrf)
                .json(&json!({"reasons": "经营范围请补充"})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let (s, body) = send(
            http.put(app.url(&format!("/api/v1/registrations/{no}?token={token}")))
                .json(&application(
                    "济南明辉商贸有限公司",
                    "日用百货销售；文具用品零售",
                )),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let new_hash = json_of(&body)["filing"]["filing_hash"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(new_hash, hash);
        let (_, html) = send(http.get(app.url(&page)).header(COOKIE, &officer.cookie)).await;
        assert!(html.contains("陈大文"), "{html}");
        assert!(html.contains("不匹配"), "{html}");
        let (_, body) = send(http.get(app.url(&api)).header(COOKIE, &officer.cookie)).await;
        let v = json_of(&body);
        assert_eq!(v["signatures"][0]["hash_matches"], false, "{v}");
        assert_eq!(v["signatures"][0]["verifies"], false, "{v}");

        // The old hash is now refused; the new one signs.
        let (s, body) = send(
            http.post(app.url("/api/v1/signatures"))
                .bearer_auth(&key)
                .json(&signing(&no, &hash)),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(signatures_count(&app).await, 1);
        let (s, body) = send(
            http.post(app.url("/api/v1/signatures"))
                .bearer_auth(&key)
                .json(&signing(&no, &new_hash)),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let (_, body) = send(http.get(app.url(&api)).header(COOKIE, &officer.cookie)).await;
        let v = json_of(&body);
        assert_eq!(v["signatures"][1]["verifies"], true, "{v}");

        // An officer of another city does not see the filing at all.
        let other = account(&app, "yt", Role::Officer, "3706", None).await;
        let (s, _) = send(http.get(app.url(&page)).header(COOKIE, &other.cookie)).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // The /sign form refuses the stale hash too, and writes nothing.
        let signer = account(&app, "agent", Role::Officer, "370102", None).await;
        let (s, html) = send(
            client()
                .post(app.url("/sign"))
                .header(COOKIE, &signer.cookie)
                .form(&[
                    ("csrf", signer.csrf.as_str()),
                    ("filing_ref", no.as_str()),
                    ("filing_hash", hash.as_str()),
                    ("name", "陈大文"),
                    ("hkid", "A123456(3)"),
                    ("permit", "H12345678"),
                    ("pin", "246810"),
                ]),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("申报材料哈希与登记申请"), "{html}");
        assert_eq!(signatures_count(&app).await, 2);
        app.stop().await;
    }
}

#[tokio::test]
async fn applicants_see_the_sign_link_and_the_guide_once_imported() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let http = reqwest::Client::new();

        // Before any import: the form and the filing page show no guide box, no error.
        let (s, html) = send(http.get(app.url("/registrations/new?entity_type=enterprise"))).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(!html.contains("guide-box"), "{html}");
        let (s, body) = send(
            http.post(app.url("/api/v1/registrations"))
                .json(&application("济南清风商贸有限公司", "日用百货销售")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let v = json_of(&body);
        let no = v["filing_no"].as_str().unwrap().to_string();
        let token = v["token"].as_str().unwrap().to_string();
        let hash = v["filing"]["filing_hash"].as_str().unwrap().to_string();
        let filing_page = format!("/registrations/{no}?token={token}");
        let (s, html) = send(http.get(app.url(&filing_page))).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(!html.contains("guide-box"), "{html}");
        // The sign link carries the number and the current hash.
        assert!(
            html.contains(&format!("/sign?filing_ref={no}&amp;filing_hash={hash}")),
            "{html}"
        );

        import_guide(&app).await;
        let (_, html) = send(http.get(app.url("/registrations/new?entity_type=enterprise"))).await;
        assert!(html.contains("id=\"guide-entry.establishment\""), "{html}");
        assert!(html.contains("企业设立登记"), "{html}");
        assert!(
            html.contains("href=\"/guide/entry.establishment\""),
            "{html}"
        );
        // Another type, another item.
        let (_, html) =
            send(http.get(app.url("/registrations/new?entity_type=individual_business"))).await;
        assert!(
            html.contains("id=\"guide-entry.individual_business\""),
            "{html}"
        );
        assert!(!html.contains("id=\"guide-entry.establishment\""), "{html}");
        let (_, html) = send(http.get(app.url(&filing_page))).await;
        assert!(html.contains("id=\"guide-entry.establishment\""), "{html}");
        // The link leads to the item.
        let (s, html) = send(http.get(app.url("/guide/entry.establishment"))).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("企业设立登记"));
        app.stop().await;
    }
}

#[tokio::test]
async fn the_portal_forms_show_their_guide_items_once_imported() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let e = NewEntity {
            uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
                .unwrap()
                .to_string(),
            name: "济南泉城示例商贸有限公司".into(),
            entity_type: EntityType::Enterprise,
            legal_rep: "王建国".into(),
            legal_rep_id: Some("11010519491231002X".into()),
            phone: Some("13912345678".into()),
            capital_yuan: Some(1_000_000),
            established: NaiveDate::from_ymd_opt(2020, 5, 1).unwrap(),
            address: "山东省济南市历下区泉城路1号".into(),
            division: "370102001".into(),
            scope: "日用百货销售".into(),
            industry: "5299".into(),
            status: Status::Active,
        };
        let mut tx = app.db.begin().await.unwrap();
        amr_registry::store::create(&mut tx, &Actor::system(), &e)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let firm = account(&app, "firm", Role::Enterprise, "", Some(&e.uscc)).await;
        let portal = format!("/portal/entities/{}", e.uscc);
        let http = reqwest::Client::new();

        let (s, html) = send(http.get(app.url(&portal)).header(COOKIE, &firm.cookie)).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(!html.contains("guide-box"), "{html}");

        import_guide(&app).await;
        let (s, html) = send(http.get(app.url(&portal)).header(COOKIE, &firm.cookie)).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        for key in [
            "operation.suspension",
            "operation.extra_premises",
            "exit.deregistration",
            "exit.simplified_deregistration",
        ] {
            assert!(
                html.contains(&format!("id=\"guide-{key}\"")),
                "{key}: {html}"
            );
            assert!(html.contains(&format!("href=\"/guide/{key}\"")), "{key}");
        }
        // Active: the extension form (and its item) is not offered.
        assert!(!html.contains("guide-operation.suspension_extension"));
        assert!(html.contains("歇业备案"), "{html}");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_applicant_signs_from_the_private_link_without_an_account() {
    for backend in backends() {
        let app = demo_app(backend).await;
        let http = client();
        let (s, body) = send(
            http.post(app.url("/api/v1/registrations"))
                .json(&application("济南明泉商贸有限公司", "日用百货销售")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let v = json_of(&body);
        let no = v["filing_no"].as_str().unwrap().to_string();
        let token = v["token"].as_str().unwrap().to_string();
        let hash = v["filing"]["filing_hash"].as_str().unwrap().to_string();

        // The filing page's link carries the private token.
        let (_, html) =
            send(http.get(app.url(&format!("/registrations/{no}?token={token}")))).await;
        assert!(html.contains(&format!("&amp;token={token}")), "{html}");

        // No token: the login page; a wrong token: not found; nothing written.
        let resp = http
            .get(app.url(&format!("/sign?filing_ref={no}&filing_hash={hash}")))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_redirection(), "{}", resp.status());
        assert!(
            resp.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login"),
            "{:?}",
            resp.headers()
        );
        let (s, _) = send(http.get(app.url(&format!(
            "/sign?filing_ref={no}&filing_hash={hash}&token=wrong"
        ))))
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // The form, with the token and a pre-login CSRF cookie.
        let resp = http
            .get(app.url(&format!(
                "/sign?filing_ref={no}&filing_hash={hash}&token={token}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let cookie = resp
            .headers()
            .get("set-cookie")
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
            .expect("a CSRF cookie for a visitor");
        assert!(!cookie.is_empty());
        let html = resp.text().await.unwrap();
        assert!(html.contains("name=\"token\""), "{html}");
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_string();
        let form = [
            ("csrf", csrf.as_str()),
            ("filing_ref", no.as_str()),
            ("filing_hash", hash.as_str()),
            ("name", "陈大文"),
            ("hkid", "A123456(3)"),
            ("permit", "H12345678"),
            ("pin", "246810"),
            ("token", token.as_str()),
        ];
        // Without the cookie the CSRF check refuses it.
        let stranger = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let (s, _) = send(stranger.post(app.url("/sign")).form(&form)).await;
        assert!(s.is_client_error(), "{s}");
        assert_eq!(signatures_count(&app).await, 0);
        let resp = http
            .post(app.url("/sign"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_redirection(), "{}", resp.status());
        let receipt = resp.headers()["location"].to_str().unwrap().to_string();
        assert!(receipt.starts_with("/sign/"), "{receipt}");
        assert_eq!(signatures_count(&app).await, 1);
        // The receipt with the token; without it, the login page.
        let (s, html) = send(http.get(app.url(&receipt))).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains(&no), "{html}");
        let bare = receipt.split('?').next().unwrap();
        let resp = http.get(app.url(bare)).send().await.unwrap();
        assert!(resp.status().is_redirection(), "{}", resp.status());
        app.stop().await;
    }
}
