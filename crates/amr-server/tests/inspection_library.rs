//! 一单两库 through the real server on each backend: the demo library at the article's
//! proportions (40/130/222, inspectors in every county) and the example plan against it; item
//! and inspector imports (CSV and XLSX, all or nothing, row and column named); the officers'
//! pages and JSON; the public item list; target tags and conflicts within the jurisdiction.

mod support;

use std::collections::{HashMap, HashSet};

use amr_kernel::audit::Actor;
use amr_kernel::auth::Role;
use amr_kernel::codes::division::divisions;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::events;
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_server::supervision_wiring::RegistryFacts;
use amr_supervision::draw::model::Plan;
use amr_supervision::library::{demo, store};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::Value;
use support::{TestApp, backends, client};

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
    Officer {
        csrf: csrf_of(&office),
        c,
    }
}

impl Officer {
    async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, String) {
        let r = self.c.get(app.url(path)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn json(&self, app: &TestApp, path: &str) -> (StatusCode, Value) {
        let r = self.c.get(app.url(path)).send().await.unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let mut f: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        f.extend_from_slice(form);
        let r = self.c.post(app.url(path)).form(&f).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// A multipart upload of one file with the csrf field.
    async fn upload(
        &self,
        app: &TestApp,
        path: &str,
        name: &str,
        bytes: &[u8],
    ) -> (StatusCode, String) {
        let boundary = "----amrlibraryboundary3";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n",
                self.csrf
            )
            .as_bytes(),
        );
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let r = self
            .c
            .post(app.url(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

fn entity(t: EntityType, division: &str, industry: &str) -> NewEntity {
    let reg = match t {
        EntityType::IndividualBusiness => RegistrationType::IndividualBusiness,
        _ => RegistrationType::Enterprise,
    };
    NewEntity {
        uscc: Uscc::generate(reg, &division[..6], &mut rand::rng())
            .unwrap()
            .to_string(),
        name: match t {
            EntityType::IndividualBusiness => "历下区泉城小吃店".into(),
            _ => "济南泉城餐饮有限公司".into(),
        },
        entity_type: t,
        legal_rep: "李大山".into(),
        legal_rep_id: None,
        phone: None,
        capital_yuan: (t != EntityType::IndividualBusiness).then_some(1_000_000),
        established: NaiveDate::from_ymd_opt(2015, 5, 1).unwrap(),
        address: "山东省济南市历下区泉城路1号".into(),
        division: division.into(),
        scope: "餐饮服务".into(),
        industry: industry.into(),
        status: Status::Active,
    }
}

async fn register(app: &TestApp, e: &NewEntity) {
    let mut tx = app.db.begin().await.unwrap();
    amr_registry::store::create(&mut tx, &Actor::system(), e)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn seed_demo(app: &TestApp) -> demo::DemoSummary {
    let registry = RegistryFacts { db: app.db.clone() };
    demo::seed(&app.db, &Actor::system(), &registry, 1, "37", &|_, _| {})
        .await
        .unwrap()
}

async fn kinds(app: &TestApp) -> Vec<String> {
    events::all_after(&app.db, 0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[tokio::test]
async fn the_demo_library_has_the_articles_proportions_and_the_example_plan_fits() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        // Entities in Jinan so that conflicts can name real ones.
        for d in [
            "370102001",
            "370102002",
            "370103002",
            "370104001",
            "370105001",
            "370112001",
        ] {
            register(&app, &entity(EntityType::Enterprise, d, "6210")).await;
        }
        let s = seed_demo(&app).await;
        assert!(s.seeded);
        assert_eq!((s.departments, s.domains, s.items), (40, 130, 222));
        assert_eq!(store::departments(&app.db).await.unwrap().len(), 40);
        assert_eq!(store::domains(&app.db).await.unwrap().len(), 130);
        let items = store::items_for_draw(&app.db).await.unwrap();
        assert_eq!(items.len(), 222);
        // Inspectors in every county for every county-level department, at least 4.
        let inspectors = store::inspectors_for_draw(&app.db, "37").await.unwrap();
        assert_eq!(inspectors.len(), s.inspectors);
        let mut per: HashMap<(String, String), usize> = HashMap::new();
        for i in &inspectors {
            *per.entry((i.department.clone(), i.jurisdiction.clone()))
                .or_default() += 1;
        }
        let list = demo::demo_list().unwrap();
        let county_level: Vec<&str> = list
            .departments
            .iter()
            .filter(|(_, l)| *l == demo::Level::County)
            .map(|(d, _)| d.code.as_str())
            .collect();
        let mut counties = 0;
        for city in divisions().children("37") {
            for county in divisions().children(city.code) {
                counties += 1;
                for d in &county_level {
                    let n = per
                        .get(&(d.to_string(), county.code.to_string()))
                        .copied()
                        .unwrap_or(0);
                    assert!(n >= 4, "{d} in {}: {n}", county.code);
                }
            }
        }
        assert_eq!(counties, s.counties);
        // Sorted by id, conflicts of real entities.
        let ids: Vec<&str> = inspectors.iter().map(|i| i.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        let conflicted: Vec<_> = inspectors
            .iter()
            .filter(|i| !i.conflicts.is_empty())
            .collect();
        assert_eq!(conflicted.len(), s.conflicts);
        for i in &conflicted {
            for u in &i.conflicts {
                let e = amr_registry::store::facts::facts_of(&app.db, u)
                    .await
                    .unwrap()
                    .unwrap();
                assert!(e.division.starts_with(&i.jurisdiction));
            }
        }
        // A city plan sees the city's and the province's inspectors, not another city's.
        let jinan = store::inspectors_for_draw(&app.db, "3701").await.unwrap();
        assert!(!jinan.is_empty());
        assert!(
            jinan
                .iter()
                .all(|i| i.jurisdiction == "37" || i.jurisdiction.starts_with("3701"))
        );
        assert!(jinan.iter().any(|i| i.jurisdiction == "37"));
        // The example plan names demo departments and items of their departments.
        let plan: Plan =
            serde_json::from_str(include_str!("../../../examples/inspection-plan.json")).unwrap();
        let by_code: HashMap<&str, &str> = items
            .iter()
            .map(|i| (i.code.as_str(), i.department.as_str()))
            .collect();
        let departments: HashSet<String> = store::departments(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.code)
            .collect();
        let mut used = HashSet::new();
        for t in &plan.tasks {
            let mut parts = vec![(&t.department, &t.items)];
            parts.extend(t.joined.iter().map(|p| (&p.department, &p.items)));
            for (dept, its) in parts {
                assert!(departments.contains(dept), "{dept}");
                used.insert(dept.clone());
                for i in its {
                    assert_eq!(by_code.get(i.as_str()), Some(&dept.as_str()), "{i}");
                }
            }
        }
        assert!(used.len() >= 5);
        // Once seeded, the step leaves the library alone; one event and one audit entry.
        assert!(!seed_demo(&app).await.seeded);
        let k = kinds(&app).await;
        assert_eq!(
            k.iter()
                .filter(|k| *k == "supervision.library.demo_seeded")
                .count(),
            1
        );

        // The public list and its JSON.
        let html = client()
            .get(app.url("/inspections/items"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("<span id=\"public-total\">222</span>"),
            "public page"
        );
        assert!(html.contains("餐饮服务提供者持证及从业人员健康管理的检查"));
        let v: Value = client()
            .get(app.url("/api/v1/inspections/items?list=key"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["total"], 56);
        let v: Value = client()
            .get(app.url("/api/v1/inspections/items?department=AMR&domain=AMR04"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["total"], 5);
        let r = client()
            .get(app.url("/api/v1/inspections/items?list=maybe"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("清单类别"));

        // Officers' pages.
        app.add_account("officer.sd", Role::Officer, "37", PASSWORD)
            .await;
        app.add_account("officer.lixia", Role::Officer, "370102", PASSWORD)
            .await;
        let r = client()
            .get(app.url("/office/inspections/library"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "login first");
        let sd = logged_in(&app, "officer.sd").await;
        let (st, html) = sd.get(&app, "/office/inspections/library").await;
        assert_eq!(st, StatusCode::OK);
        for needle in [
            ">40<",
            ">130<",
            ">222<",
            "山东省市场监督管理局",
            "Shandong Administration for Market Regulation",
        ] {
            assert!(html.contains(needle), "{needle}");
        }
        let (st, html) = sd
            .get(
                &app,
                "/office/inspections/library/items?department=AMR&list=key",
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("AMR04-01") && !html.contains("AMR04-03"));
        let (st, _) = sd
            .get(&app, "/office/inspections/library/items?list=x")
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let lixia = logged_in(&app, "officer.lixia").await;
        let (st, v) = lixia
            .json(&app, "/api/v1/office/inspections/inspectors?department=AMR")
            .await;
        assert_eq!(st, StatusCode::OK);
        let js: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["jurisdiction"].as_str().unwrap())
            .collect();
        assert!(js.contains(&"370102") && js.contains(&"3701") && js.contains(&"37"));
        assert!(
            js.iter().all(|j| ["370102", "3701", "37"].contains(j)),
            "{js:?}"
        );
        let (st, html) = lixia
            .get(
                &app,
                "/office/inspections/library/inspectors?department=AMR&jurisdiction=370102",
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let rows = html.matches("<tr id=\"inspector-").count();
        assert!((4..=6).contains(&rows), "{rows}");
        let (st, _) = lixia
            .get(
                &app,
                "/office/inspections/library/inspectors?jurisdiction=99",
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        app.stop().await;
    }
}

const GOOD_ITEMS: &str = "抽查事项编码,抽查事项,部门,领域,依据,抽查对象,抽查方式,清单类别(一般/重点),抽查频次,默认抽查范围,部门名称,领域名称\n\
    SPX01-01,眼镜制配场所的检查,SPX,SPX01,《中华人民共和国计量法》,眼镜制配者,现场检查,一般,每年1次,industry:5249,山东省示范局,眼镜计量\n\
    SPX01-02,眼镜质量的抽查检验,SPX,SPX01,《中华人民共和国产品质量法》,眼镜销售者,抽样检验,重点,每年1次,,山东省示范局,眼镜计量\n";

#[tokio::test]
async fn imports_are_all_or_nothing_and_name_row_and_column() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("officer.sd", Role::Officer, "37", PASSWORD)
            .await;
        app.add_account("officer.jinan", Role::Officer, "3701", PASSWORD)
            .await;
        app.add_account("admin.sd", Role::Admin, "37", PASSWORD)
            .await;
        let sd = logged_in(&app, "officer.sd").await;
        let path = "/office/inspections/library/items/import";

        // Good: the department and domain are created from their names.
        let (st, html) = sd
            .upload(&app, path, "items.csv", GOOD_ITEMS.as_bytes())
            .await;
        assert_eq!(st, StatusCode::OK, "{html}");
        assert!(
            html.contains("新增 2") && html.contains("新建部门 1") && html.contains("新建领域 1"),
            "{html}"
        );
        let (_, v) = sd.json(&app, "/api/v1/office/inspections/items").await;
        assert_eq!(v["total"], 2);
        let before = kinds(&app).await.len();

        // Bad rows: each named by row and column; nothing written, the good row neither.
        let bad = "抽查事项编码,抽查事项,部门,领域,依据,抽查对象,抽查方式,清单类别(一般/重点),抽查频次,默认抽查范围\n\
                   SPX01-03,新事项,SPX,SPX01,《计量法》,眼镜制配者,现场检查,一般,每年1次,\n\
                   SPX01-04,类别错误,SPX,SPX01,《计量法》,眼镜制配者,现场检查,随便,每年1次,\n\
                   SPX02-01,领域不存在,SPX,SPX02,《计量法》,眼镜制配者,现场检查,一般,每年1次,\n\
                   SPX01-05,范围错误,SPX,SPX01,《计量法》,眼镜制配者,现场检查,一般,每年1次,industry:62 &\n\
                   SPX01-03,重复,SPX,SPX01,《计量法》,眼镜制配者,现场检查,一般,每年1次,\n\
                   SPX01-06,,SPX,SPX01,,眼镜制配者,现场检查,一般,每年1次,\n";
        let (st, html) = sd.upload(&app, path, "bad.csv", bad.as_bytes()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        for needle in [
            "<td class=\"num\">3</td><td>清单类别(一般&#x2f;重点)</td>",
            "<td class=\"num\">4</td><td>领域</td>",
            "<td class=\"num\">5</td><td>默认抽查范围</td>",
            "<td class=\"num\">6</td><td>抽查事项编码</td>",
            "<td class=\"num\">7</td><td>抽查事项</td>",
            "<td class=\"num\">7</td><td>依据</td>",
            "未导入任何内容",
        ] {
            assert!(html.contains(needle), "{needle}\n{html}");
        }
        assert!(!html.contains("<td class=\"num\">2</td>"), "row 2 is good");
        let (_, v) = sd.json(&app, "/api/v1/office/inspections/items").await;
        assert_eq!(v["total"], 2, "nothing imported");
        assert_eq!(kinds(&app).await.len(), before, "no event written");
        // A header without required columns, an empty upload, a broken workbook.
        let (st, html) = sd
            .upload(&app, path, "x.csv", "抽查事项,部门\n".as_bytes())
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(html.contains("抽查事项编码"));
        let (st, _) = sd.upload(&app, path, "x.csv", b"").await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let (st, _) = sd.upload(&app, path, "x.xlsx", b"PK not really").await;
        assert_eq!(st, StatusCode::BAD_REQUEST);

        // XLSX, English headers, a spreadsheet date for inspectors below.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let header = [
            "code",
            "name",
            "department",
            "domain",
            "legal_basis",
            "target_type",
            "method",
            "list",
            "frequency",
            "population",
        ];
        let row = [
            "SPX01-03",
            "验光设备的检查",
            "SPX",
            "SPX01",
            "《中华人民共和国计量法》",
            "眼镜制配者",
            "现场检查",
            "key",
            "每年1次",
            "industry:5249 & type:individual",
        ];
        for (c, h) in header.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
            sheet.write_string(1, c as u16, row[c]).unwrap();
        }
        let bytes = book.save_to_buffer().unwrap();
        let (st, html) = sd.upload(&app, path, "items.xlsx", &bytes).await;
        assert_eq!(st, StatusCode::OK, "{html}");
        assert!(html.contains("新增 1"), "{html}");
        let (_, v) = sd.json(&app, "/api/v1/inspections/items?list=key").await;
        let codes: Vec<&str> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, vec!["SPX01-02", "SPX01-03"]);

        // The item list is provincial: a city officer may not import it; an administrator
        // reads but does not keep the library.
        let jinan = logged_in(&app, "officer.jinan").await;
        let (st, _) = jinan
            .upload(&app, path, "items.csv", GOOD_ITEMS.as_bytes())
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let admin = logged_in(&app, "admin.sd").await;
        let (st, _) = admin
            .upload(&app, path, "items.csv", GOOD_ITEMS.as_bytes())
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // A wrong CSRF token.
        let forged = Officer {
            c: sd.c.clone(),
            csrf: "forged".into(),
        };
        let (st, _) = forged
            .upload(&app, path, "items.csv", GOOD_ITEMS.as_bytes())
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // Inspectors: within the importer's jurisdiction, qualifications of the department.
        let ipath = "/office/inspections/library/inspectors/import";
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in [
            "人员编号",
            "姓名",
            "部门",
            "管辖区域",
            "检查资格",
            "执法证号",
            "执法证有效期至",
        ]
        .iter()
        .enumerate()
        {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let rows = [
            [
                "SPX-370102-01",
                "王小明",
                "SPX",
                "370102",
                "SPX01",
                "鲁990001",
            ],
            ["SPX-3701-01", "李红", "SPX", "3701", "SPX01", "鲁990002"],
        ];
        for (r, vals) in rows.iter().enumerate() {
            for (c, v) in vals.iter().enumerate() {
                sheet.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
            let d = rust_xlsxwriter::ExcelDateTime::from_ymd(2028, 6, 30).unwrap();
            sheet
                .write_datetime_with_format(r as u32 + 1, 6, &d, &fmt)
                .unwrap();
        }
        let good = book.save_to_buffer().unwrap();
        let (st, html) = jinan.upload(&app, ipath, "inspectors.xlsx", &good).await;
        assert_eq!(st, StatusCode::OK, "{html}");
        assert!(html.contains("新增 2"), "{html}");
        let ins = store::inspectors_for_draw(&app.db, "370102").await.unwrap();
        assert_eq!(ins.len(), 2);
        assert_eq!(
            ins[1].certificate_expiry,
            NaiveDate::from_ymd_opt(2028, 6, 30).unwrap()
        );
        let bad = "人员编号,姓名,部门,管辖区域,检查资格,执法证号,执法证有效期至\n\
                   SPX-370103-01,张三,SPX,370103,SPX01,鲁990003,2029-01-01\n\
                   SPX-3702-01,赵四,SPX,3702,SPX01,鲁990004,2029-01-01\n\
                   SPX-370104-01,孙五,SPX,370104,AMR04,鲁990005,2029-13-01\n";
        let (st, html) = jinan.upload(&app, ipath, "bad.csv", bad.as_bytes()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        for needle in [
            "<td class=\"num\">3</td><td>管辖区域</td>",
            "<td class=\"num\">4</td><td>执法证有效期至</td>",
        ] {
            assert!(html.contains(needle), "{needle}\n{html}");
        }
        assert_eq!(
            store::inspectors_for_draw(&app.db, "37")
                .await
                .unwrap()
                .len(),
            2,
            "nothing imported"
        );
        let bad = "人员编号,姓名,部门,管辖区域,检查资格,执法证号,执法证有效期至\n\
                   SPX-370104-01,孙五,SPX,370104,AMR04,鲁990005,2029-01-01\n";
        let (st, html) = jinan.upload(&app, ipath, "bad.csv", bad.as_bytes()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("<td class=\"num\">2</td><td>检查资格</td>"),
            "{html}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn tags_and_conflicts_follow_the_jurisdiction() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let lixia = entity(EntityType::IndividualBusiness, "370102001", "6210");
        let qingdao = entity(EntityType::Enterprise, "370202001", "6110");
        register(&app, &lixia).await;
        register(&app, &qingdao).await;
        seed_demo(&app).await;
        app.add_account("officer.jinan", Role::Officer, "3701", PASSWORD)
            .await;
        app.add_account("officer.sd", Role::Officer, "37", PASSWORD)
            .await;
        let jinan = logged_in(&app, "officer.jinan").await;
        let sd = logged_in(&app, "officer.sd").await;
        let l = lixia.uscc.as_str();
        let q = qingdao.uscc.as_str();

        // The entity's page: derived licences by rule, no tags yet.
        let (st, html) = jinan
            .get(&app, &format!("/office/inspections/targets/{l}"))
            .await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("licence:食品经营许可证"));
        let (st, _) = jinan
            .get(&app, &format!("/office/inspections/targets/{q}"))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "Qingdao is outside Jinan");
        let (st, _) = jinan
            .get(&app, "/office/inspections/targets/not-a-code")
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // Attach within the jurisdiction; outside it, nothing is written.
        let (st, _) = jinan
            .post(
                &app,
                &format!("/office/inspections/targets/{l}/tags"),
                &[("tag", "tag:重点监管")],
            )
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (st, _) = jinan
            .post(
                &app,
                &format!("/office/inspections/targets/{l}/tags"),
                &[("tag", "tag:重点监管")],
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT);
        let (st, body) = jinan
            .post(
                &app,
                &format!("/office/inspections/targets/{l}/tags"),
                &[("tag", "risk:A")],
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert!(body.contains("标签应为"));
        let (st, _) = jinan
            .post(
                &app,
                &format!("/office/inspections/targets/{q}/tags"),
                &[("tag", "tag:重点监管")],
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = sd
            .post(
                &app,
                &format!("/office/inspections/targets/{q}/tags"),
                &[("tag", "licence:特种设备使用登记证")],
            )
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER);

        // tags_in filters by division prefix.
        let all = store::tags_in(&app.db, "37").await.unwrap();
        assert_eq!(all.len(), 2);
        let j = store::tags_in(&app.db, "3701").await.unwrap();
        assert_eq!(j.len(), 1);
        assert_eq!(j[l], vec!["tag:重点监管".to_string()]);
        assert!(
            store::tags_in(&app.db, "3702")
                .await
                .unwrap()
                .contains_key(q)
        );
        let (st, v) = jinan
            .json(&app, &format!("/api/v1/office/inspections/targets/{l}"))
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["tags"][0]["tag"], "tag:重点监管");
        let (st, _) = jinan
            .json(&app, &format!("/api/v1/office/inspections/targets/{q}"))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let st = client()
            .get(app.url(&format!("/api/v1/office/inspections/targets/{l}")))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(st, StatusCode::UNAUTHORIZED);

        // Remove.
        let (st, _) = jinan
            .post(
                &app,
                &format!("/office/inspections/targets/{l}/tags/remove"),
                &[("tag", "tag:重点监管")],
            )
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        assert!(store::tags_in(&app.db, "3701").await.unwrap().is_empty());
        let (st, _) = jinan
            .post(
                &app,
                &format!("/office/inspections/targets/{l}/tags/remove"),
                &[("tag", "tag:重点监管")],
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        // Conflicts: a Jinan officer keeps Jinan inspectors, not Qingdao's.
        let path = "/office/inspections/library/inspectors/AMR-370102-02/conflicts";
        let (st, _) = jinan
            .post(&app, path, &[("uscc", l), ("reason", "近亲属在该主体任职")])
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let ins = store::inspectors_for_draw(&app.db, "370102").await.unwrap();
        let a = ins.iter().find(|i| i.id == "AMR-370102-02").unwrap();
        assert!(a.conflicts.contains(&lixia.uscc));
        let (st, _) = jinan
            .post(&app, path, &[("uscc", l), ("reason", "again")])
            .await;
        assert_eq!(st, StatusCode::CONFLICT);
        let (st, _) = jinan
            .post(
                &app,
                "/office/inspections/library/inspectors/AMR-370102-03/conflicts",
                &[("uscc", l), ("reason", "")],
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let (st, _) = jinan
            .post(
                &app,
                "/office/inspections/library/inspectors/AMR-370202-01/conflicts",
                &[("uscc", q), ("reason", "利害关系")],
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = jinan
            .post(
                &app,
                path,
                &[("uscc", "91370102MA3C7XYZ0Q"), ("reason", "x")],
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let (st, html) = jinan
            .get(
                &app,
                "/office/inspections/library/inspectors?department=AMR&jurisdiction=370102",
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains(&lixia.uscc));
        let (st, _) = jinan
            .post(&app, &format!("{path}/withdraw"), &[("uscc", l)])
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let ins = store::inspectors_for_draw(&app.db, "370102").await.unwrap();
        // The demo declares conflicts only for inspectors numbered 01.
        assert!(
            ins.iter()
                .find(|i| i.id == "AMR-370102-02")
                .unwrap()
                .conflicts
                .is_empty()
        );
        let k = kinds(&app).await;
        for kind in [
            "supervision.library.tag_attached",
            "supervision.library.tag_removed",
            "supervision.library.conflict_declared",
            "supervision.library.conflict_withdrawn",
        ] {
            assert!(k.iter().any(|x| x == kind), "{kind}");
        }
        app.stop().await;
    }
}
