//! The lifecycle service guide through the real server on each backend: the officer upload
//! (CSV and XLSX, bad rows reported and left out), maintenance (change, retire, jurisdiction),
//! the public search in Chinese and the stage filter.

mod support;

use amr_kernel::auth::{Role, Scope};
use amr_kernel::{audit, events};
use reqwest::StatusCode;
use serde_json::Value;
use support::{TestApp, backends, client};

const PASSWORD: &str = "Correct-Horse-9";

use support::csrf_of;

async fn logged_in(app: &TestApp, username: &str) -> (reqwest::Client, String) {
    let c = support::form_login(app, username, PASSWORD).await;
    let office = c
        .get(app.url("/office/guide"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&office);
    (c, csrf)
}

/// A multipart body by hand: the csrf and division fields and one file.
async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    csrf: &str,
    division: &str,
    name: &str,
    bytes: &[u8],
) -> (StatusCode, String) {
    let boundary = "----amrtestboundary7";
    let mut body = Vec::new();
    for (k, v) in [("csrf", csrf), ("division", division)] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = c
        .post(app.url("/office/guide/import"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn api(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let r = reqwest::get(app.url(path)).await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn keys(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_key"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn officers_import_and_keep_the_guide_and_the_public_searches_it() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("officer.sd", Role::Officer, "37", PASSWORD)
            .await;
        app.add_account("officer.jinan", Role::Officer, "3701", PASSWORD)
            .await;

        // Not logged in: the upload goes to the login page and writes nothing.
        let (s, _) = upload(&app, &client(), "x", "37", "a.csv", b"x").await;
        assert_eq!(s, StatusCode::SEE_OTHER);

        let (sd, csrf) = logged_in(&app, "officer.sd").await;
        let catalogue = amr_registry::guide::DEFAULT_CATALOGUE.as_bytes();
        let n = catalogue.iter().filter(|b| **b == b'\n').count() - 1;
        // A wrong CSRF token is refused.
        let (s, _) = upload(&app, &sd, "wrong", "37", "catalogue.csv", catalogue).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, html) = upload(&app, &sd, &csrf, "37", "catalogue.csv", catalogue).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains(&format!("新增 {n}")), "{html}");
        // Again: nothing changes.
        let (_, html) = upload(&app, &sd, &csrf, "37", "catalogue.csv", catalogue).await;
        assert!(html.contains(&format!("未变 {n}")), "{html}");

        // Bad rows are reported by line and left out; the good ones go in.
        let bad = "事项编码,事项名称,阶段,实施部门,适用区域,办理条件,申请材料,办理时限（工作日）,设定依据\n\
                   operation.seal_filing,印章备案,经营,公安机关,3701,已刻制印章,印章印模,即办,《印铸刻字业暂行管理规则》\n\
                   operation.bad_stage,错误阶段,以后,市场监督管理部门,37,条件,材料,3,依据\n\
                   operation.bad_days,错误时限,经营,市场监督管理部门,37,条件,材料,三天,依据\n\
                   operation.seal_filing,重复编码,经营,公安机关,3701,条件,材料,1,依据\n\
                   Bad Key,,经营,市场监督管理部门,37,条件,材料,1,\n";
        let (jinan, jcsrf) = logged_in(&app, "officer.jinan").await;
        let (s, html) = upload(&app, &jinan, &jcsrf, "", "bad.csv", bad.as_bytes()).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("新增 1"), "{html}");
        for needle in [
            "<td class=\"num\">3</td><td>stage</td>",
            "<td class=\"num\">4</td><td>time_limit_days</td>",
            "<td class=\"num\">5</td><td>item_key</td>",
            "<td class=\"num\">6</td><td>item_key</td>",
            "<td class=\"num\">6</td><td>name</td>",
            "<td class=\"num\">6</td><td>legal_basis</td>",
            "在第 2 行已出现",
        ] {
            assert!(html.contains(needle), "{needle}: {html}");
        }
        let (s, _) = api(&app, "/api/v1/guide/operation.bad_stage").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = api(&app, "/api/v1/guide/operation.seal_filing").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["division"], "3701");
        assert_eq!(v["time_limit_days"], 0);
        // A city officer cannot overwrite the province's items: the row is refused.
        let (_, html) = upload(&app, &jinan, &jcsrf, "37", "catalogue.csv", catalogue).await;
        assert!(
            html.contains("新增 0") && html.contains("不在您的辖区内"),
            "{html}"
        );
        // A header without the required columns is one clear error.
        let (s, html) = upload(&app, &sd, &csrf, "37", "x.csv", "名称\n开办\n".as_bytes()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(html.contains("表头缺少必需的列"), "{html}");

        // XLSX.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let rows = [
            [
                "item_key",
                "name",
                "stage",
                "department",
                "conditions",
                "materials",
                "time_limit_days",
                "legal_basis",
            ],
            [
                "permit.measuring_instruments",
                "计量器具型式批准",
                "permit",
                "市场监督管理部门",
                "制造计量器具",
                "申请书",
                "20",
                "《中华人民共和国计量法》",
            ],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if r == 1 && c == 6 {
                    sheet.write_number(r as u32, c as u16, 20.0).unwrap();
                } else {
                    sheet.write_string(r as u32, c as u16, *v).unwrap();
                }
            }
        }
        let bytes = book.save_to_buffer().unwrap();
        let (s, html) = upload(&app, &sd, &csrf, "37", "items.xlsx", &bytes).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("新增 1"), "{html}");
        let (_, v) = api(&app, "/api/v1/guide/permit.measuring_instruments").await;
        assert_eq!(v["time_limit_days"], 20);

        // Search in Chinese: the question's words, not its stop words.
        let (s, v) = api(&app, "/api/v1/guide?q=怎么办理简易注销").await;
        assert_eq!(s, StatusCode::OK);
        let mut k = keys(&v);
        k.sort();
        assert_eq!(
            k,
            [
                "exit.individual_simplified_deregistration",
                "exit.simplified_deregistration"
            ],
            "{v}"
        );
        let (_, v) = api(&app, "/api/v1/guide?q=食品经营许可").await;
        assert_eq!(keys(&v)[0], "permit.food_business", "{v}");
        let (_, v) = api(&app, "/api/v1/guide?q=开饭店").await;
        assert_eq!(v["words"], serde_json::json!(["饭店"]));
        assert_eq!(keys(&v), ["permit.food_business"], "{v}");
        // Stage filter, alone and with words.
        let (_, v) = api(&app, "/api/v1/guide?stage=exit").await;
        assert!(v["total"].as_u64().unwrap() >= 5);
        assert!(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["stage"] == "exit")
        );
        let (_, v) = api(&app, "/api/v1/guide?q=食品&stage=exit").await;
        assert_eq!(keys(&v), ["exit.food_license_cancel"]);
        let (_, v) = api(
            &app,
            "/api/v1/guide?stage=entry&key=entry.establishment,exit.deregistration",
        )
        .await;
        assert_eq!(keys(&v), ["entry.establishment"]);
        let (s, v) = api(&app, "/api/v1/guide?stage=later").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(v["field"], "stage");
        // The public page, with filters.
        let html =
            reqwest::get(app.url("/guide?q=%E7%AE%80%E6%98%93%E6%B3%A8%E9%94%80&stage=exit"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
        assert!(
            html.contains("/guide/exit.simplified_deregistration")
                && !html.contains("食品经营许可注销"),
            "{html}"
        );
        let html = reqwest::get(app.url("/guide/exit.simplified_deregistration"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("第三十三条") && html.contains("全体投资人承诺书"));

        // Maintenance: change, then retire; a city officer cannot touch a provincial item.
        let audit_before = audit::list(&app.db, &Scope::all(), None, 10_000)
            .await
            .unwrap()
            .len();
        let (_, item) = api(&app, "/api/v1/guide/exit.deregistration").await;
        let form = |days: &str| {
            vec![
                ("csrf".to_string(), csrf.clone()),
                ("item_key".into(), "exit.deregistration".into()),
                ("name".into(), item["name"].as_str().unwrap().into()),
                ("stage".into(), "exit".into()),
                (
                    "department".into(),
                    item["department"].as_str().unwrap().into(),
                ),
                ("division".into(), "37".into()),
                (
                    "conditions".into(),
                    item["conditions"].as_str().unwrap().into(),
                ),
                (
                    "materials".into(),
                    item["materials"].as_str().unwrap().into(),
                ),
                ("time_limit_days".into(), days.into()),
                (
                    "legal_basis".into(),
                    item["legal_basis"].as_str().unwrap().into(),
                ),
                (
                    "online_url".into(),
                    item["online_url"].as_str().unwrap_or("").into(),
                ),
                ("keywords".into(), item["keywords"].as_str().unwrap().into()),
            ]
        };
        let r = sd
            .post(app.url("/office/guide/exit.deregistration"))
            .form(&form("3"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing changed"
        );
        let r = sd
            .post(app.url("/office/guide/exit.deregistration"))
            .form(&form("2"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, v) = api(&app, "/api/v1/guide/exit.deregistration").await;
        assert_eq!(v["time_limit_days"], 2);
        let r = sd
            .post(app.url("/office/guide/exit.deregistration"))
            .form(&form("九"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = jinan
            .post(app.url("/office/guide/exit.deregistration/retire"))
            .form(&[("csrf", jcsrf.as_str()), ("reason", "合并")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = sd
            .post(app.url("/office/guide/exit.deregistration/retire"))
            .form(&[("csrf", csrf.as_str()), ("reason", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = sd
            .post(app.url("/office/guide/exit.deregistration/retire"))
            .form(&[("csrf", csrf.as_str()), ("reason", "并入一件事办理")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, v) = api(&app, "/api/v1/guide/exit.deregistration").await;
        assert_eq!(v["status"], "retired");
        let (_, v) = api(&app, "/api/v1/guide?stage=exit").await;
        assert!(!keys(&v).contains(&"exit.deregistration".to_string()));
        let audit_after = audit::list(&app.db, &Scope::all(), None, 10_000)
            .await
            .unwrap();
        assert_eq!(
            audit_after.len(),
            audit_before + 2,
            "one change, one retirement"
        );
        assert!(audit_after.iter().any(|a| a.action == "guide.item.retire"));
        let kinds: Vec<String> = events::public_after(&app.db, 0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        for k in [
            "registry.guide.imported",
            "registry.guide.item.changed",
            "registry.guide.item.retired",
        ] {
            assert!(kinds.iter().any(|x| x == k), "{k}: {kinds:?}");
        }
        app.stop().await;
    }
}

#[test]
fn every_key_the_guide_and_featured_templates_use_is_in_the_catalogs() {
    for m in amr_registry::web::more_modules() {
        amr_web::templates::assert_keys_in_catalog(m.templates, &amr_server::web_modules());
    }
}
