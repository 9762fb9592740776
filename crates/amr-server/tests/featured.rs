//! 名特优新 through the real server on each backend: propose, confirm by another officer or a
//! higher level, self-confirmation refused, jurisdiction, criteria refusals, rejection,
//! revocation, support measures, statistics, the public record and the criteria editor.

mod support;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::{Role, Scope};
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::events;
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store;
use chrono::NaiveDate;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::Value;
use support::{TestApp, backends};

const PASSWORD: &str = "Correct-Horse-9";

use support::csrf_of;

struct Officer {
    c: reqwest::Client,
    csrf: String,
}

async fn logged_in(app: &TestApp, username: &str) -> Officer {
    let c = support::form_login(app, username, PASSWORD).await;
    let office = c
        .get(app.url("/office"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(office.contains("href=\"/office/featured\""));
    Officer {
        csrf: csrf_of(&office),
        c,
    }
}

impl Officer {
    async fn post(&self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut f: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        f.extend_from_slice(form);
        self.c.post(app.url(path)).form(&f).send().await.unwrap()
    }

    async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, String) {
        let r = self.c.get(app.url(path)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Proposes; the response.
    async fn propose(
        &self,
        app: &TestApp,
        uscc: &str,
        t: &str,
        complaints: &str,
        kind: &str,
    ) -> reqwest::Response {
        self.post(
            app,
            "/office/featured",
            &[
                ("uscc", uscc),
                ("featured_type", t),
                ("reasons", "经营三十年的老店，群众口碑好"),
                ("complaints_12m", complaints),
                ("evidence_kind_1", kind),
                ("evidence_text_1", "第 12345678 号注册商标"),
                ("evidence_kind_2", "credit"),
                ("evidence_text_2", "近三年无行政处罚"),
            ],
        )
        .await
    }
}

fn entity(t: EntityType, name: &str, division: &str, established: NaiveDate) -> NewEntity {
    let reg = match t {
        EntityType::IndividualBusiness => RegistrationType::IndividualBusiness,
        _ => RegistrationType::Enterprise,
    };
    NewEntity {
        uscc: Uscc::generate(reg, &division[..6], &mut rand::rng())
            .unwrap()
            .to_string(),
        name: name.into(),
        entity_type: t,
        legal_rep: "李大山".into(),
        legal_rep_id: None,
        phone: None,
        capital_yuan: (t != EntityType::IndividualBusiness).then_some(1_000_000),
        established,
        address: "山东省济南市历下区泉城路1号".into(),
        division: division.into(),
        scope: "餐饮服务".into(),
        industry: "6210".into(),
        status: Status::Active,
    }
}

async fn register(app: &TestApp, e: &NewEntity) {
    let mut tx = app.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), e).await.unwrap();
    tx.commit().await.unwrap();
}

fn id_of(r: &reqwest::Response) -> String {
    let loc = r.headers()[LOCATION].to_str().unwrap();
    loc.rsplit('/').next().unwrap().to_string()
}

async fn public(app: &TestApp, uscc: &str) -> Value {
    reqwest::get(app.url(&format!("/api/v1/entities/{uscc}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn actions(app: &TestApp) -> Vec<String> {
    audit::list(&app.db, &Scope::all(), None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect()
}

#[tokio::test]
async fn classifications_are_proposed_confirmed_by_another_and_shown_to_the_public() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        for (u, r, j) in [
            ("lixia.a", Role::Officer, "370102"),
            ("lixia.b", Role::Officer, "370102"),
            ("jinan", Role::Officer, "3701"),
            ("shizhong", Role::Officer, "370103"),
            ("admin.sd", Role::Admin, "37"),
        ] {
            app.add_account(u, r, j, PASSWORD).await;
        }
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let shop = entity(
            EntityType::IndividualBusiness,
            "历下区老李家把子肉店",
            "370102001",
            d(2012, 5, 1),
        );
        let firm = entity(
            EntityType::Enterprise,
            "济南泉城示例餐饮有限公司",
            "370102001",
            d(2012, 5, 1),
        );
        register(&app, &shop).await;
        register(&app, &firm).await;
        let a = logged_in(&app, "lixia.a").await;
        let b = logged_in(&app, "lixia.b").await;
        let jinan = logged_in(&app, "jinan").await;
        let shizhong = logged_in(&app, "shizhong").await;

        // The form shows the business and the criteria.
        let (s, html) = a
            .get(&app, &format!("/office/featured/new?uscc={}", shop.uscc))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("历下区老李家把子肉店") && html.contains("老字号"),
            "{html}"
        );

        // Refusals that write nothing.
        let before = actions(&app).await.len();
        let r = a
            .propose(&app, &firm.uscc, "famous", "0", "trademark")
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("须为个体工商户"));
        let r = a.propose(&app, &shop.uscc, "new", "0", "new_format").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("成立不满 3 年"));
        let r = a.propose(&app, &shop.uscc, "famous", "", "trademark").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("投诉举报件数"));
        let r = a.propose(&app, &shop.uscc, "famous", "0", "patent").await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "patent does not count for famous"
        );
        let r = a
            .propose(&app, &shop.uscc, "legendary", "0", "trademark")
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = shizhong
            .propose(&app, &shop.uscc, "famous", "0", "trademark")
            .await;
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "outside the jurisdiction"
        );
        assert_eq!(actions(&app).await.len(), before);

        // Proposed by A.
        let r = a
            .propose(&app, &shop.uscc, "famous", "0", "trademark")
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let id = id_of(&r);
        let (_, html) = a.get(&app, &format!("/office/featured/{id}")).await;
        assert!(
            html.contains("待审核") && html.contains("本条认定由您提出"),
            "{html}"
        );
        let r = a
            .propose(&app, &shop.uscc, "famous", "0", "trademark")
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CONFLICT,
            "one open proposal per type"
        );

        // A cannot confirm it; an officer elsewhere cannot see it.
        let r = a
            .post(
                &app,
                &format!("/office/featured/{id}/decide"),
                &[("decision", "confirm")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("不能审核本人提出的认定"));
        assert_eq!(
            shizhong
                .get(&app, &format!("/office/featured/{id}"))
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        let r = shizhong
            .post(
                &app,
                &format!("/office/featured/{id}/decide"),
                &[("decision", "confirm")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(
            public(&app, &shop.uscc).await["featured_types"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        // The city (a higher level) confirms.
        let r = jinan
            .post(
                &app,
                &format!("/office/featured/{id}/decide"),
                &[("decision", "confirm"), ("note", "材料齐全")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = b
            .post(
                &app,
                &format!("/office/featured/{id}/decide"),
                &[("decision", "reject"), ("note", "x")],
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "already decided"
        );
        let v = public(&app, &shop.uscc).await;
        assert_eq!(v["featured_types"], serde_json::json!(["famous"]));
        assert_eq!(
            v["name"], "历下区老李家把子肉店",
            "the record is still there"
        );
        let html = reqwest::get(app.url(&format!("/entities/{}", shop.uscc)))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("id=\"featured-types\"") && html.contains("名（知名）"),
            "{html}"
        );

        // B proposes quality; A rejects (a note is required).
        let r = b
            .propose(&app, &shop.uscc, "quality", "0", "quality_cert")
            .await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "{}",
            r.text().await.unwrap_or_default()
        );
        let qid = id_of(&r);
        let r = a
            .post(
                &app,
                &format!("/office/featured/{qid}/decide"),
                &[("decision", "reject"), ("note", "")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = a
            .post(
                &app,
                &format!("/office/featured/{qid}/decide"),
                &[("decision", "reject"), ("note", "证明材料不足")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            public(&app, &shop.uscc).await["featured_types"],
            serde_json::json!(["famous"])
        );

        // Support measures.
        let path = format!("/office/featured/entities/{}/support", shop.uscc);
        let r = a
            .post(
                &app,
                &path,
                &[
                    ("kind", "finance"),
                    ("date", "2025-03-02"),
                    ("amount", "50,000.5"),
                    ("note", "创业担保贷款贴息"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        for bad in [
            [("kind", "gift"), ("date", "2025-03-02"), ("amount", "1")],
            [("kind", "finance"), ("date", "2999-01-01"), ("amount", "1")],
            [
                ("kind", "finance"),
                ("date", "2025-03-02"),
                ("amount", "1.234"),
            ],
        ] {
            let r = a.post(&app, &path, &bad).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
        let r = a
            .post(
                &app,
                &format!("/office/featured/entities/{}/support", firm.uscc),
                &[("kind", "finance"), ("date", "2025-03-02")],
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not classified"
        );
        let (_, html) = a
            .get(&app, &format!("/office/featured/entities/{}", shop.uscc))
            .await;
        assert!(
            html.contains("50000.50") && html.contains("创业担保贷款贴息"),
            "{html}"
        );

        // Statistics: public and the officer's.
        let v: Value = reqwest::get(app.url("/api/v1/featured/stats"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            v["items"],
            serde_json::json!([{"city": "3701", "featured_type": "famous", "count": 1}])
        );
        let v: Value = reqwest::get(app.url("/api/v1/featured?type=famous&area=3701"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["items"][0]["uscc"], shop.uscc.as_str());
        let v: Value = reqwest::get(app.url("/api/v1/featured?area=3702"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(v["items"].as_array().unwrap().is_empty());
        let r = reqwest::get(app.url("/api/v1/featured?type=best"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let html = reqwest::get(app.url("/featured"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("<svg")
                && html.contains("id=\"featured-chart\"")
                && html.contains("济南市"),
            "{html}"
        );
        let (s, html) = shizhong.get(&app, "/office/featured/stats").await;
        assert_eq!(s, StatusCode::OK);
        assert!(!html.contains("<svg"), "nothing in Shizhong: {html}");

        // Revocation.
        let r = b
            .post(
                &app,
                &format!("/office/featured/{id}/revoke"),
                &[("reason", "")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = b
            .post(
                &app,
                &format!("/office/featured/{id}/revoke"),
                &[("reason", "发生食品安全事故")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(
            public(&app, &shop.uscc).await["featured_types"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let r = b
            .post(
                &app,
                &format!("/office/featured/{id}/revoke"),
                &[("reason", "再次")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Every step audited and evented.
        let acts = actions(&app).await;
        for (action, n) in [
            ("featured.propose", 2),
            ("featured.confirm", 1),
            ("featured.reject", 1),
            ("featured.revoke", 1),
            ("featured.support.record", 1),
        ] {
            assert_eq!(acts.iter().filter(|a| *a == action).count(), n, "{action}");
        }
        let public_kinds: Vec<String> = events::public_after(&app.db, 0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        for k in [
            "registry.featured.confirmed",
            "registry.featured.revoked",
            "registry.featured.support_recorded",
        ] {
            assert!(public_kinds.iter().any(|x| x == k), "{k}");
        }
        assert!(
            !public_kinds
                .iter()
                .any(|x| x == "registry.featured.proposed")
        );

        // The criteria: officers read, administrators edit; a bad text changes nothing.
        let (s, html) = a.get(&app, "/office/featured/criteria").await;
        assert_eq!(s, StatusCode::OK);
        assert!(!html.contains("name=\"toml\""));
        let r = a
            .post(&app, "/office/featured/criteria", &[("toml", "x")])
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let admin = logged_in(&app, "admin.sd").await;
        let r = admin
            .post(
                &app,
                "/office/featured/criteria",
                &[("toml", "[famous]\nmin_years = -1")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let stricter =
            amr_registry::featured::DEFAULT_CRITERIA.replace("min_years = 5", "min_years = 30");
        let r = admin
            .post(&app, "/office/featured/criteria", &[("toml", &stricter)])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = a
            .propose(&app, &shop.uscc, "famous", "0", "trademark")
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("成立满 30 年"));
        app.stop().await;
    }
}

#[tokio::test]
async fn the_demo_step_classifies_a_deterministic_share() {
    let app = TestApp::spawn(backends()[0]).await;
    let spec = amr_registry::demo::DemoSpec {
        entities: 3000,
        ..amr_registry::demo::DemoSpec::default()
    };
    let mut g = amr_registry::demo::Generator::new(spec).unwrap();
    let batch = g.next_batch(3000);
    let mut tx = app.db.begin().await.unwrap();
    for e in &batch {
        store::create(&mut tx, &Actor::system(), e).await.unwrap();
    }
    tx.commit().await.unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let first = amr_registry::featured::demo::classify(&app.db, "37", today)
        .await
        .unwrap();
    assert!(first.confirmed > 0, "{first:?}");
    assert!(first.confirmed <= first.businesses);
    let again = amr_registry::featured::demo::classify(&app.db, "37", today)
        .await
        .unwrap();
    assert_eq!(again.confirmed, 0, "nothing twice");
    let v: Value = reqwest::get(app.url("/api/v1/featured/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total: i64 = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total as u64, first.confirmed);
    app.stop().await;
}
