//! Hong Kong investors' identities and filing signatures through the real server on each
//! backend: the held-key path (API and the browser page), the brought-key path, PIN
//! throttling, the officer's view (a filing changed after signing shows as not matching),
//! and every refusal leaving nothing written.

mod support;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::{Role, Scope, store};
use amr_kernel::on_conn;
use amr_registry::identity::signature::KeyFile;
use amr_registry::identity::{HkId, TravelPermit};
use amr_server::config::IdentityVerifierConfig;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use support::{TestApp, backends, client};

const PASSWORD: &str = "Correct-Horse-9";
const H1: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const H2: &str = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

async fn demo_app(backend: support::Backend) -> TestApp {
    let config = amr_server::ServerConfig {
        identity_verifier: IdentityVerifierConfig::Demo,
        ..amr_server::ServerConfig::default()
    };
    TestApp::spawn_with(backend, config).await
}

async fn api_key(app: &TestApp) -> String {
    let mut tx = app.db.begin().await.unwrap();
    let (_, secret) = store::create_api_key(
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

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    on_conn!(&app.db, c => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await.unwrap())
}

async fn audit_count(app: &TestApp) -> usize {
    audit::list(&app.db, &Scope::all(), None, 10_000)
        .await
        .unwrap()
        .len()
}

fn chan(pin: &str) -> Value {
    json!({
        "filing_ref": "SD-2026-000001",
        "filing_hash": H1,
        "division": "370102",
        "signer": {"name": "陈大文", "hkid": "A123456(3)", "permit": "H12345678"},
        "pin": pin,
    })
}

use support::csrf_of;

async fn logged_in(app: &TestApp, username: &str) -> reqwest::Client {
    support::form_login(app, username, PASSWORD).await
}

async fn get(app: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let resp = c.get(app.url(path)).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

#[tokio::test]
async fn held_key_signatures_through_the_api() {
    for backend in backends() {
        let app = demo_app(backend).await;
        let key = api_key(&app).await;
        let audit_before = audit_count(&app).await;

        // No caller: 401.
        let (s, _) = post_json(&app, None, "/api/v1/signatures", chan("246810")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // Each bad field is a 400 naming it; nothing is written.
        let mut bad_hash = chan("246810");
        bad_hash["filing_hash"] = json!("abc");
        let mut bad_hkid = chan("246810");
        bad_hkid["signer"]["hkid"] = json!("A123456(4)");
        let mut macao = chan("246810");
        macao["signer"]["permit"] = json!("M12345678");
        let mut both = chan("246810");
        both["public_key"] = json!("00");
        let mut bad_division = chan("246810");
        bad_division["division"] = json!("379999");
        let mut bad_ref = chan("246810");
        bad_ref["filing_ref"] = json!("<script>");
        for (body, field) in [
            (bad_hash, "filing_hash"),
            (bad_hkid, "hkid"),
            (macao, "permit"),
            (both, "body"),
            (bad_division, "division"),
            (bad_ref, "filing_ref"),
            (chan("12"), "pin"),
            (json!({"filing_ref": 1}), "body"),
        ] {
            let (s, v) = post_json(&app, Some(&key), "/api/v1/signatures", body).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
            assert_eq!(v["field"], field, "{v}");
            assert!(
                !v["message"].as_str().unwrap().is_ascii(),
                "Chinese first: {v}"
            );
        }
        // Identities the registry does not confirm: 422.
        let mut unknown = chan("246810");
        unknown["signer"]["hkid"] = json!("B123456(6)");
        let (s, v) = post_json(&app, Some(&key), "/api/v1/signatures", unknown).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let mut wrong_name = chan("246810");
        wrong_name["signer"]["name"] = json!("陈小文");
        let (s, v) = post_json(&app, Some(&key), "/api/v1/signatures", wrong_name).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(v["message"].as_str().unwrap().contains("姓名"), "{v}");
        assert_eq!(
            count(&app, "SELECT count(*) FROM filing_signatures").await,
            0
        );
        assert_eq!(count(&app, "SELECT count(*) FROM signer_keys").await, 0);
        assert_eq!(audit_count(&app).await, audit_before);

        // The first signature makes the held key under the PIN.
        let (s, v) = post_json(&app, Some(&key), "/api/v1/signatures", chan("246810")).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["signer_name"], "陈大文");
        assert_eq!(v["hkid"], "A12****(*)");
        assert_eq!(v["permit"], "H1234****");
        assert_eq!(v["key_kind"], "held");
        assert_eq!(v["registry_ref"], "HKDEMO-0001");
        assert_eq!(v["verifier"], "local:demo");
        assert_eq!(v["verifies"], true);
        let first_id = v["id"].clone();
        // Again: the same signature, stored once.
        let (s, v) = post_json(&app, Some(&key), "/api/v1/signatures", chan("246810")).await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(v["id"], first_id);
        assert_eq!(
            count(&app, "SELECT count(*) FROM filing_signatures").await,
            1
        );
        // The secret is stored wrapped, never as is.
        let secret: String = on_conn!(&app.db, c => sqlx::query_scalar("SELECT held_secret FROM signer_keys")
            .fetch_one(c).await.unwrap());
        assert_eq!(secret.len(), 64);
        // The new version of the filing, signed with the same key (English name, older permit).
        let mut second = chan("246810");
        second["filing_hash"] = json!(H2);
        second["signer"]["name"] = json!("Chan Tai Man");
        second["signer"]["permit"] = json!("H1234567802");
        let (s, v) = post_json(&app, Some(&key), "/api/v1/signatures", second).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(count(&app, "SELECT count(*) FROM signer_keys").await, 1);
        assert_eq!(
            count(
                &app,
                "SELECT count(*) FROM events WHERE kind = 'registry.filing.signed'"
            )
            .await,
            2
        );
        assert_eq!(
            count(
                &app,
                "SELECT count(*) FROM events WHERE kind = 'registry.signer.key_bound'"
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &app,
                "SELECT count(*) FROM audit_log WHERE action = 'filing.sign'"
            )
            .await,
            2
        );

        // Wrong PINs: counted, the fifth locks the key, and then even the right PIN waits.
        for left in (1..=4).rev() {
            let (s, v) = post_json(&app, Some(&key), "/api/v1/signatures", chan("999999")).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            assert!(
                v["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("还可尝试 {left} 次")),
                "{v}"
            );
        }
        let (s, _) = post_json(&app, Some(&key), "/api/v1/signatures", chan("999999")).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        let mut third = chan("246810");
        third["filing_hash"] = json!("a".repeat(64));
        let (s, _) = post_json(&app, Some(&key), "/api/v1/signatures", third).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            count(&app, "SELECT count(*) FROM filing_signatures").await,
            2
        );
        assert_eq!(
            count(
                &app,
                "SELECT count(*) FROM audit_log WHERE action = 'signer.key.wrong_pin'"
            )
            .await,
            5
        );

        // The officer's view: an API key reads no records; an officer of the county does.
        let resp = reqwest::Client::new()
            .get(app.url(&format!(
                "/api/v1/signatures?filing_ref=SD-2026-000001&hash={H2}"
            )))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        app.add_account("officer.lixia", Role::Officer, "370102", PASSWORD)
            .await;
        app.add_account("officer.shizhong", Role::Officer, "370103", PASSWORD)
            .await;
        let lixia = logged_in(&app, "officer.lixia").await;
        let (s, body) = get(
            &app,
            &lixia,
            &format!("/api/v1/signatures?filing_ref=SD-2026-000001&hash={H2}"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        // Signed over H1, the filing now hashes to H2: the first no longer stands.
        assert_eq!(items[0]["signature_valid"], true);
        assert_eq!(items[0]["hash_matches"], false);
        assert_eq!(items[0]["verifies"], false);
        assert_eq!(items[1]["verifies"], true);
        let (s, _) = get(
            &app,
            &lixia,
            "/api/v1/signatures?filing_ref=SD-2026-000001&hash=xyz",
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        // Another county's officer sees none of them.
        let shizhong = logged_in(&app, "officer.shizhong").await;
        let (_, body) = get(
            &app,
            &shizhong,
            "/api/v1/signatures?filing_ref=SD-2026-000001",
        )
        .await;
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 0);

        // The officer's page shows who signed and whether each signature stands.
        let (s, page) = get(
            &app,
            &lixia,
            &format!("/office/signatures?filing_ref=SD-2026-000001&hash={H2}"),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        for text in [
            "签名人",
            "身份核验",
            "签名是否有效",
            "陈大文",
            "A12****(*)",
            "签名后申报材料已变更",
            "有效",
        ] {
            assert!(page.contains(text), "{text} missing");
        }
        assert!(!page.contains("A123456"), "the full HKID never shows");
        // Tampering with a stored signature shows as such.
        on_conn!(&app.db, c => sqlx::query("UPDATE filing_signatures SET signature = $1 WHERE filing_hash = $2")
            .bind("00".repeat(64))
            .bind(H2)
            .execute(c)
            .await
            .unwrap()
            .rows_affected());
        let (_, page) = get(
            &app,
            &lixia,
            &format!("/office/signatures?filing_ref=SD-2026-000001&hash={H2}"),
        )
        .await;
        assert!(page.contains("签名与密钥不符"));
        app.stop().await;
    }
}

#[tokio::test]
async fn brought_keys_are_bound_with_a_proof_and_sign_offline() {
    for backend in backends() {
        let app = demo_app(backend).await;
        let key = api_key(&app).await;
        let mine = KeyFile::generate();
        let other = KeyFile::generate();
        let hkid = HkId::parse("K204680(6)").unwrap();
        let permit = TravelPermit::parse("H20468013").unwrap();
        let signer = json!({"name": "李小明", "hkid": "K204680(6)", "permit": "H20468013"});

        // A proof made with another key: refused, nothing bound.
        let (s, v) = post_json(
            &app,
            Some(&key),
            "/api/v1/signers/keys",
            json!({"signer": signer, "public_key": mine.public_key_hex(), "proof": other.binding_proof(&hkid, &permit)}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, v) = post_json(
            &app,
            Some(&key),
            "/api/v1/signers/keys",
            json!({"signer": signer, "public_key": "zz", "proof": "00"}),
        )
        .await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("public_key"))
        );
        assert_eq!(count(&app, "SELECT count(*) FROM signer_keys").await, 0);

        let bind = json!({"signer": signer, "public_key": mine.public_key_hex(), "proof": mine.binding_proof(&hkid, &permit)});
        let (s, v) = post_json(&app, Some(&key), "/api/v1/signers/keys", bind.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["kind"], "brought");
        assert_eq!(v["registry_ref"], "HKDEMO-0002");
        let (s, _) = post_json(&app, Some(&key), "/api/v1/signers/keys", bind).await;
        assert_eq!(s, StatusCode::CONFLICT);

        // The verify call lists the bound key and writes nothing.
        let (s, v) = post_json(&app, Some(&key), "/api/v1/signers/verify", signer.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["keys"][0]["public_key"], mine.public_key_hex());

        // Signed offline (as `amr sign filing-hash` does) and submitted.
        let sig = mine.sign_filing_hash(H1).unwrap();
        let body = json!({"filing_ref": "SD-2026-000002", "filing_hash": H1, "public_key": mine.public_key_hex(), "signature": sig});
        let (s, v) = post_json(&app, Some(&key), "/api/v1/signatures", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["key_kind"], "brought");
        assert_eq!(v["verifies"], true);
        // A signature over another hash, or by an unbound key: refused, nothing stored.
        let body = json!({"filing_ref": "SD-2026-000002", "filing_hash": H2, "public_key": mine.public_key_hex(), "signature": sig});
        let (s, _) = post_json(&app, Some(&key), "/api/v1/signatures", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let body = json!({"filing_ref": "SD-2026-000002", "filing_hash": H1, "public_key": other.public_key_hex(), "signature": other.sign_filing_hash(H1).unwrap()});
        let (s, _) = post_json(&app, Some(&key), "/api/v1/signatures", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            count(&app, "SELECT count(*) FROM filing_signatures").await,
            1
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn without_a_configured_verifier_verification_is_unavailable() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let key = api_key(&app).await;
        let (s, v) = post_json(
            &app,
            Some(&key),
            "/api/v1/signers/verify",
            json!({"name": "陈大文", "hkid": "A123456(3)", "permit": "H12345678"}),
        )
        .await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("身份核验服务暂不可用")
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_signer_signs_in_the_browser_and_gets_a_receipt() {
    for backend in backends() {
        let app = demo_app(backend).await;
        app.add_account("agent", Role::Officer, "370102", PASSWORD)
            .await;
        app.add_account("officer.shizhong", Role::Officer, "370103", PASSWORD)
            .await;
        let c = logged_in(&app, "agent").await;
        // Not logged in: to the login page.
        let resp = client().get(app.url("/sign")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);

        let (s, page) = get(
            &app,
            &c,
            &format!("/sign?filing_ref=SD-2026-000003&filing_hash={H1}"),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains(H1) && page.contains("SD-2026-000003"));
        let csrf = csrf_of(&page);
        let form = |csrf: &str, pin: &str| {
            vec![
                ("csrf", csrf.to_string()),
                ("filing_ref", "SD-2026-000003".to_string()),
                ("filing_hash", H1.to_string()),
                ("name", "黄美玲".to_string()),
                ("hkid", "Ｙ５５６６７７（９）".to_string()),
                ("permit", "h55667788".to_string()),
                ("pin", pin.to_string()),
            ]
        };
        // A forged form (wrong CSRF token) writes nothing.
        let resp = c
            .post(app.url("/sign"))
            .form(&form("forged", "135790"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            count(&app, "SELECT count(*) FROM filing_signatures").await,
            0
        );
        // A bad PIN format: the error page, nothing written.
        let resp = c
            .post(app.url("/sign"))
            .form(&form(&csrf, "12ab"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(
            resp.text()
                .await
                .unwrap()
                .contains("签名密码应为 6–12 位数字")
        );
        assert_eq!(count(&app, "SELECT count(*) FROM signer_keys").await, 0);

        let resp = c
            .post(app.url("/sign"))
            .form(&form(&csrf, "135790"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let receipt = resp.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(receipt.starts_with("/sign/"), "{receipt}");
        let (s, page) = get(&app, &c, &receipt).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            page.contains("黄美玲") && page.contains("Y55****(*)") && page.contains("平台托管密钥")
        );
        assert!(page.contains("SD-2026-000003"));
        // Someone else's receipt is not found.
        let other = logged_in(&app, "officer.shizhong").await;
        let (s, _) = get(&app, &other, &receipt).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = get(&app, &c, "/sign/999999").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        app.stop().await;
    }
}
