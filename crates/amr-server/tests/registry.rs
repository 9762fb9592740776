//! The registry's public record through the whole server, on every backend.

mod support;

use amr_kernel::audit::Actor;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store;
use chrono::NaiveDate;
use support::{TestApp, backends, client};

fn new_entity(t: EntityType, name: &str, legal_rep: &str) -> NewEntity {
    let reg = match t {
        EntityType::IndividualBusiness => RegistrationType::IndividualBusiness,
        EntityType::FarmerCooperative => RegistrationType::FarmerCooperative,
        _ => RegistrationType::Enterprise,
    };
    NewEntity {
        uscc: Uscc::generate(reg, "370102", &mut rand::rng())
            .unwrap()
            .to_string(),
        name: name.into(),
        entity_type: t,
        legal_rep: legal_rep.into(),
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

#[tokio::test]
async fn the_public_record_masks_personal_data() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let firm = new_entity(EntityType::Enterprise, "济南泉城示例科技有限公司", "王建国");
        let shop = new_entity(
            EntityType::IndividualBusiness,
            "历下区老李家小吃店",
            "李大山",
        );
        register(&app, &firm).await;
        register(&app, &shop).await;

        let r = reqwest::get(app.url(&format!("/api/v1/entities/{}", firm.uscc)))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{b:?}");
        let text = r.text().await.unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["name"], "济南泉城示例科技有限公司");
        assert_eq!(
            v["legal_rep"], "王建国",
            "an enterprise's legal representative is public"
        );
        assert_eq!(v["division_name"], "山东省济南市历下区解放路街道");
        assert!(
            !text.contains("13912345678") && !text.contains("11010519491231002X"),
            "{text}"
        );

        let v: serde_json::Value =
            reqwest::get(app.url(&format!("/api/v1/entities/{}", shop.uscc.to_lowercase())))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(
            v["legal_rep"], "李**",
            "an individual business's operator is masked"
        );

        // Unknown and malformed codes are both 404.
        let unknown =
            Uscc::generate(RegistrationType::Enterprise, "370103", &mut rand::rng()).unwrap();
        for code in [
            unknown.to_string(),
            "91350100M000100Y4Z".into(),
            "abc".into(),
        ] {
            let r = reqwest::get(app.url(&format!("/api/v1/entities/{code}")))
                .await
                .unwrap();
            assert_eq!(r.status(), 404, "{code}");
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["error"], "not_found");
        }

        // The page: the record, masked, in the layout.
        let page = reqwest::get(app.url(&format!("/entities/{}", shop.uscc)))
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("历下区老李家小吃店") && html.contains("李**") && html.contains("经营者")
        );
        assert!(!html.contains("李大山") && !html.contains("13912345678"));
        let missing = reqwest::get(app.url(&format!("/entities/{unknown}")))
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        assert!(
            missing.text().await.unwrap().contains("<html"),
            "a 404 page, not JSON"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn lookup_by_code_goes_to_the_page_and_explains_bad_codes() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let firm = new_entity(
            EntityType::Enterprise,
            "<script>alert(1)</script>商贸有限公司",
            "赵六",
        );
        register(&app, &firm).await;
        let c = client();
        let r = c
            .get(app.url(&format!(
                "/entities?uscc=%20{}%20",
                firm.uscc.to_lowercase()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{b:?}");
        assert_eq!(
            r.headers()["location"],
            format!("/entities/{}", firm.uscc).as_str()
        );
        let html = c
            .get(app.url(&format!("/entities/{}", firm.uscc)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("&lt;script&gt;") && !html.contains("<script>alert"),
            "escaped"
        );
        let bad = c
            .get(app.url("/entities?uscc=91350100M000100Y4Z"))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        let html = bad.text().await.unwrap();
        assert!(html.contains("校验码"), "the reason is shown: {html}");
        // The home page offers the lookup.
        let home = c
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(home.contains("action=\"/entities\""));
        app.stop().await;
    }
}

#[tokio::test]
async fn the_running_server_indexes_new_entities_from_the_event_log() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let spec = amr_registry::demo::DemoSpec {
            seed: 7,
            entities: 300,
            province: "37".into(),
        };
        let batch: Vec<NewEntity> = amr_registry::demo::Generator::new(spec).unwrap().collect();
        store::insert_batch(&app.db, &Actor::system(), &batch)
            .await
            .unwrap();
        let target = &batch[150];
        let q = format!("/api/v1/entities?q={}", target.uscc);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let v: serde_json::Value = reqwest::get(app.url(&q))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["items"]
                .as_array()
                .is_some_and(|a| a.iter().any(|i| i["uscc"] == target.uscc.as_str()))
            {
                assert_eq!(v["items"][0]["name"], target.name.as_str());
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{b:?}: not indexed in time: {v}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        // The results page links to the entity.
        let html = reqwest::get(app.url(&format!("/search?q={}", target.uscc)))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!("/entities/{}", target.uscc)),
            "{b:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn officers_list_and_read_only_their_jurisdictions_entities() {
    use amr_kernel::auth::Role;
    for b in backends() {
        let app = TestApp::spawn(b).await;
        app.add_account("lixia-officer", Role::Officer, "370102", "Lixia-pass-1")
            .await;
        app.add_account("shop-owner", Role::Enterprise, "", "Shop-owner-1")
            .await;
        let mut in_lixia = new_entity(EntityType::Enterprise, "历下示例商贸有限公司", "孙七");
        in_lixia.division = "370102001".into();
        let mut in_shizhong = new_entity(EntityType::Enterprise, "市中示例商贸有限公司", "周八");
        in_shizhong.uscc = Uscc::generate(RegistrationType::Enterprise, "370103", &mut rand::rng())
            .unwrap()
            .to_string();
        in_shizhong.division = "370103002".into();
        register(&app, &in_lixia).await;
        register(&app, &in_shizhong).await;
        let session = |user: &str| {
            let db = app.db.clone();
            let user = user.to_string();
            async move {
                let (a, _) = amr_kernel::auth::store::find_for_login(&db, &user)
                    .await
                    .unwrap()
                    .unwrap();
                let (token, _) = amr_kernel::auth::store::create_session(
                    &db,
                    &a,
                    chrono::Duration::hours(1),
                    None,
                )
                .await
                .unwrap();
                format!("amr_session={token}")
            }
        };
        let officer = session("lixia-officer").await;
        let c = client();
        let get = async |cookie: &str, path: &str| {
            let r = c
                .get(app.url(path))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        };
        let (status, html) = get(&officer, "/office/entities").await;
        assert_eq!(status, 200, "{b:?}");
        assert!(
            html.contains("历下示例商贸有限公司") && !html.contains("市中示例商贸有限公司"),
            "{b:?}"
        );
        let (_, html) = get(&officer, "/office/entities?name=%E5%B8%82%E4%B8%AD").await;
        assert!(!html.contains("市中示例商贸有限公司"));
        let (status, html) = get(&officer, &format!("/office/entities/{}", in_lixia.uscc)).await;
        assert_eq!(status, 200);
        assert!(html.contains("13912345678"), "officers see the full record");
        let (status, _) = get(&officer, &format!("/office/entities/{}", in_shizhong.uscc)).await;
        assert_eq!(status, 404, "{b:?}: another county's entity is not found");
        let (status, _) = get(&officer, "/office/entities?status=nonsense").await;
        assert_eq!(status, 400);
        // The XLSX export holds exactly the jurisdiction's rows, without personal data.
        let r = c
            .get(app.url("/office/entities.xlsx"))
            .header("cookie", &officer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{b:?}");
        assert_eq!(
            r.headers()["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let bytes = r.bytes().await.unwrap().to_vec();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = calamine::Reader::worksheet_range_at(&mut book, 0)
            .unwrap()
            .unwrap();
        let rows: Vec<Vec<String>> = sheet
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0][0], "统一社会信用代码");
        assert_eq!(rows[1][0], in_lixia.uscc);
        assert_eq!(rows[1][1], "历下示例商贸有限公司");
        assert!(!rows.iter().flatten().any(|c| c.contains("13912345678")));
        let owner = session("shop-owner").await;
        let (status, _) = get(&owner, "/office/entities").await;
        assert_eq!(status, 403);
        let r = c.get(app.url("/office/entities")).send().await.unwrap();
        assert_eq!(r.status(), 303, "anonymous visitors are sent to log in");
        app.stop().await;
    }
}
