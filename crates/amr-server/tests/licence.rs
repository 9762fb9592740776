//! The enterprise code through the whole server, on every backend: the published keys, the
//! code of the licence in force, the QR images, the licence and print pages, and what the
//! verify page says of a current, changed, suspended, deregistered or forged code.

mod support;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Scope;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::signing::{self, Keyring};
use amr_registry::licence::code::EnterpriseCode;
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store::{self, EntityChange};
use chrono::NaiveDate;
use serde_json::Value;
use support::{TestApp, backends};

fn new_entity(t: EntityType, name: &str) -> NewEntity {
    let reg = match t {
        EntityType::IndividualBusiness => RegistrationType::IndividualBusiness,
        _ => RegistrationType::Enterprise,
    };
    NewEntity {
        uscc: Uscc::generate(reg, "370102", &mut rand::rng())
            .unwrap()
            .to_string(),
        name: name.into(),
        entity_type: t,
        legal_rep: "李大山".into(),
        legal_rep_id: Some("11010519491231002X".into()),
        phone: Some("13912345678".into()),
        capital_yuan: (t != EntityType::IndividualBusiness).then_some(5_000_000),
        established: NaiveDate::from_ymd_opt(2021, 3, 9).unwrap(),
        address: "山东省济南市历下区泉城路1号".into(),
        division: "370102001".into(),
        scope: "日用百货销售".into(),
        industry: "5299".into(),
        status: Status::Active,
    }
}

async fn register(app: &TestApp, e: &NewEntity) {
    let mut tx = app.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), e).await.unwrap();
    tx.commit().await.unwrap();
}

async fn change(app: &TestApp, uscc: &str, ch: EntityChange) {
    let mut tx = app.db.begin().await.unwrap();
    store::change(&mut tx, &Actor::system(), &Scope::all(), uscc, &ch)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let r = reqwest::get(app.url(path)).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

async fn get_text(app: &TestApp, path: &str) -> (u16, String) {
    let r = reqwest::get(app.url(path)).await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn code_of(app: &TestApp, uscc: &str) -> Value {
    let (s, v) = get_json(app, &format!("/api/v1/entities/{uscc}/code")).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// The verdict of the verify API and the verify page for a payload.
async fn verdict(app: &TestApp, payload: &str) -> (Value, String) {
    let (s, v) = get_json(app, &format!("/api/v1/codes/{payload}")).await;
    assert_eq!(s, 200, "{v}");
    let (s, html) = get_text(app, &format!("/v/{payload}")).await;
    assert_eq!(s, 200);
    assert!(
        html.contains(&format!(
            "data-verdict=\"{}\"",
            v["verdict"].as_str().unwrap()
        )),
        "the page says what the API says: {v}"
    );
    (v, html)
}

#[tokio::test]
async fn the_code_verifies_and_the_verify_page_follows_the_record() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let firm = new_entity(EntityType::Enterprise, "济南泉城示例科技有限公司");
        register(&app, &firm).await;

        // The published key is the one in the key file, made at start-up.
        let (s, keys) = get_json(&app, "/api/v1/keys").await;
        assert_eq!(s, 200);
        let list = keys["keys"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{b:?}: {keys}");
        assert_eq!(list[0]["algorithm"], "ed25519");
        assert_eq!(list[0]["status"], "active");
        let key_file = app.test_db.dir().join("keys").join("signing.key");
        let ring = Keyring::open(&app.db, &key_file).await.unwrap();
        assert_eq!(list[0]["id"], ring.key_id().to_string());
        let set = signing::parse_key_set(&keys.to_string()).unwrap();

        // The code of the licence in force: version 1, signed, verifiable offline.
        let v1 = code_of(&app, &firm.uscc).await;
        assert_eq!(v1["licence"]["version"], 1);
        assert_eq!(v1["status"], "active");
        let payload1 = v1["payload"].as_str().unwrap().to_string();
        assert!(
            v1["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/v/{payload1}"))
        );
        let code = EnterpriseCode::decode(&payload1).unwrap();
        assert_eq!(code.claims.uscc, firm.uscc);
        assert_eq!(code.claims.name, firm.name);
        assert_eq!(code.claims.licence_version, 1);
        assert!(code.verify_with(&set[&code.key_id]));
        assert!(v1["svg"].as_str().unwrap().starts_with("<svg"));
        // The same licence gives the same code (deterministic signatures).
        assert_eq!(code_of(&app, &firm.uscc).await["payload"], v1["payload"]);

        let (v, html) = verdict(&app, &payload1).await;
        assert_eq!(v["verdict"], "current", "{b:?}: {v}");
        assert_eq!(v["authentic"], true);
        assert_eq!(v["current"], true);
        assert!(html.contains("真实有效") && html.contains(&firm.name));

        // A change of a licence item starts version 2: the old code says "changed".
        change(
            &app,
            &firm.uscc,
            EntityChange {
                name: Some("济南泉城新示例科技有限公司".into()),
                ..EntityChange::default()
            },
        )
        .await;
        let v2 = code_of(&app, &firm.uscc).await;
        assert_eq!(v2["licence"]["version"], 2);
        let payload2 = v2["payload"].as_str().unwrap().to_string();
        assert_ne!(payload2, payload1);
        let (v, html) = verdict(&app, &payload1).await;
        assert_eq!(v["verdict"], "changed", "{b:?}: {v}");
        assert_eq!(v["authentic"], true);
        assert_eq!(v["current"], false);
        assert_eq!(v["changed_fields"], serde_json::json!(["name"]));
        assert!(html.contains("此码对应的营业执照已变更"), "{html}");
        assert_eq!(verdict(&app, &payload2).await.0["verdict"], "current");

        // Status is not a licence item: suspension leaves the version, the check sees it live.
        change(
            &app,
            &firm.uscc,
            EntityChange {
                status: Some(Status::Suspended),
                ..EntityChange::default()
            },
        )
        .await;
        let v3 = code_of(&app, &firm.uscc).await;
        assert_eq!(v3["licence"]["version"], 2, "{b:?}");
        assert_eq!(v3["payload"], v2["payload"]);
        let (v, html) = verdict(&app, &payload2).await;
        assert_eq!(v["verdict"], "suspended");
        assert!(html.contains("已歇业"));
        change(
            &app,
            &firm.uscc,
            EntityChange {
                status: Some(Status::Deregistered),
                ..EntityChange::default()
            },
        )
        .await;
        let (v, html) = verdict(&app, &payload2).await;
        assert_eq!(v["verdict"], "deregistered");
        assert!(html.contains("此码对应的营业执照已注销"));
        assert_eq!(verdict(&app, &payload1).await.0["verdict"], "deregistered");

        // A code signed with another key, or altered, is not authentic; its claims are not shown.
        let stranger = Keyring::from_secret([42u8; 32]);
        let mut forged_claims = code.claims.clone();
        forged_claims.name = "伪造示例有限公司".into();
        let forged = EnterpriseCode::sign(forged_claims, &stranger)
            .unwrap()
            .encode();
        let (v, html) = verdict(&app, &forged).await;
        assert_eq!(v["verdict"], "not_authentic", "{b:?}: {v}");
        assert_eq!(v["authentic"], false);
        assert!(v["claims"].is_null() && v["entity"].is_null());
        assert!(html.contains("不是本平台签发的真实营业执照码"));
        assert!(
            !html.contains("伪造示例有限公司"),
            "forged claims are not shown"
        );
        let mut altered = code.clone();
        altered.claims.licence_version = 9;
        let (v, _) = verdict(&app, &altered.encode()).await;
        assert_eq!(v["verdict"], "not_authentic");

        // Text that is not a code at all: 400, with the reason, on the API and the page.
        let (s, v) = get_json(&app, "/api/v1/codes/not-a-code!").await;
        assert_eq!(s, 400, "{v}");
        assert!(
            v["message"].as_str().unwrap_or_default().contains("码"),
            "{v}"
        );
        let (s, html) = get_text(&app, "/verify?code=%E2%9C%93%E2%9C%93").await;
        assert_eq!(s, 400);
        assert!(html.contains("data-verdict=\"malformed\""));
        // The form checks a pasted address like a scan.
        let (s, html) = get_text(
            &app,
            &format!("/verify?code=https%3A%2F%2Fx.example%2Fv%2F{payload2}"),
        )
        .await;
        assert_eq!(s, 200);
        assert!(html.contains("data-verdict=\"deregistered\""));
        let (s, html) = get_text(&app, "/verify").await;
        assert_eq!(s, 200);
        assert!(html.contains("<textarea"));
        app.stop().await;
    }
}

#[tokio::test]
async fn the_licence_page_print_page_and_images_carry_the_code() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let shop = new_entity(EntityType::IndividualBusiness, "历下区老李家小吃店");
        register(&app, &shop).await;
        let code = code_of(&app, &shop.uscc).await;

        let (s, html) = get_text(&app, &format!("/entities/{}/licence", shop.uscc)).await;
        assert_eq!(s, 200, "{b:?}");
        assert!(html.contains("<svg") && html.contains("class=\"qr\""));
        assert!(html.contains(&shop.name) && html.contains("李**") && html.contains("经营者"));
        assert!(!html.contains("李大山") && !html.contains("13912345678"));
        assert!(html.contains(&format!("/entities/{}/licence/print", shop.uscc)));
        assert!(
            html.contains(code["payload"].as_str().unwrap()),
            "the verify link"
        );

        let (s, print) = get_text(&app, &format!("/entities/{}/licence/print", shop.uscc)).await;
        assert_eq!(s, 200);
        assert!(print.contains("营业执照") && print.contains(&shop.uscc));
        assert!(print.contains("<svg") && print.contains("licence.css"));
        assert!(!print.contains("李大山"));
        assert!(
            print.contains("山东省济南市历下区市场监督管理局"),
            "the authority"
        );

        let r = reqwest::get(app.url(&format!("/entities/{}/code.png", shop.uscc)))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
        let png = r.bytes().await.unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let r = reqwest::get(app.url(&format!("/entities/{}/code.svg", shop.uscc)))
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        assert_eq!(r.text().await.unwrap(), code["svg"].as_str().unwrap());
        let (s, css) = get_text(&app, "/assets/registry/licence.css").await;
        assert_eq!(s, 200);
        assert!(css.contains("@page"));

        // Unknown and malformed codes are 404 everywhere.
        let unknown =
            Uscc::generate(RegistrationType::Enterprise, "370103", &mut rand::rng()).unwrap();
        for path in [
            format!("/api/v1/entities/{unknown}/code"),
            "/api/v1/entities/abc/code".to_string(),
            format!("/entities/{unknown}/licence"),
            format!("/entities/{unknown}/licence/print"),
            format!("/entities/{unknown}/code.png"),
        ] {
            let r = reqwest::get(app.url(&path)).await.unwrap();
            assert_eq!(r.status(), 404, "{path}");
        }
        app.stop().await;
    }
}
