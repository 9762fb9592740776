//! The "done means" in headless Chromium, on a fixed day (Monday 2026-09-28, the week
//! before National Day): a consumer files a complaint with a receipt attached against a
//! business that joined ODR; the business settles in its portal; the consumer refuses the
//! settlement on the tracking page; the matter is with the county bureau, its 7 working days
//! counted across the holiday (due 10-13); the officer accepts, mediates and closes it with
//! money recovered; the business's public statistics change once September is published
//! (a second server on the same database, its day 2026-10-20); an Open311 client's request
//! (HTTP) lands in the same queue.
//!
//! Without `/usr/bin/chromedriver` the test prints a NOTICE and passes, unless
//! `AMR_BROWSER_REQUIRED=1` (then it fails).

mod browser_support;
#[allow(unused_imports)] // the shared harness re-exports more than this test uses
mod support;

use std::time::{Duration, Instant};

use amr_kernel::audit::Actor;
use amr_kernel::auth::Role;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::model::{EntityType, NewEntity, Status};
use browser_support::{open_browser, start_driver};
use chrono::NaiveDate;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use support::{Backend, TestApp};

const PASSWORD: &str = "Correct-Horse-9";
const PHONE: &str = "13912345678";

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn wait_for_prefix(browser: &Client, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = browser.current_url().await.expect("current url");
        if url.path().starts_with(prefix) {
            return url.path().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "expected {prefix}…, the browser shows {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks `css` and waits for the page the form leads to (see `browser_inspections.rs`).
async fn submit(b: &Client, css: &str) -> Result<(), fantoccini::error::CmdError> {
    b.execute("window.__amrOldPage = true;", vec![]).await?;
    b.find(Locator::Css(css)).await?.click().await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let loaded = b
            .execute(
                "return window.__amrOldPage !== true && document.readyState === 'complete';",
                vec![],
            )
            .await?;
        if loaded == Value::Bool(true) {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "submitting {css} led to no new page"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fill(b: &Client, id: &str, value: &str) -> Result<(), fantoccini::error::CmdError> {
    let e = b.find(Locator::Id(id)).await?;
    e.clear().await?;
    e.send_keys(value).await
}

async fn text_of(b: &Client, id: &str) -> Result<String, fantoccini::error::CmdError> {
    b.find(Locator::Id(id)).await?.text().await
}

async fn login(
    b: &Client,
    app: &TestApp,
    user: &str,
    next: &str,
) -> Result<(), fantoccini::error::CmdError> {
    b.delete_all_cookies().await?;
    b.goto(&app.url(&format!("/login?next={next}"))).await?;
    fill(b, "f-username", user).await?;
    fill(b, "f-password", PASSWORD).await?;
    submit(b, "form[action='/login'] button[type='submit']").await?;
    wait_for_prefix(b, next).await;
    Ok(())
}

#[tokio::test]
async fn a_complaint_walks_the_whole_path_in_the_browser() {
    if !browser_support::available() {
        return;
    }
    let config = amr_server::ServerConfig {
        fixed_today: Some(day("2026-09-28")),
        ..amr_server::ServerConfig::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, config).await;
    let shop = NewEntity {
        uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
            .unwrap()
            .to_string(),
        name: "济南泉城家电销售有限公司".into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "王建国".into(),
        legal_rep_id: Some("11010519491231002X".into()),
        phone: Some("13800000000".into()),
        capital_yuan: Some(1_000_000),
        established: day("2020-05-01"),
        address: "山东省济南市历下区泉城路1号".into(),
        division: "370102001".into(),
        scope: "家用电器销售".into(),
        industry: "5137".into(),
        status: Status::Active,
    };
    let mut tx = app.db.begin().await.unwrap();
    amr_registry::store::create(&mut tx, &Actor::system(), &shop)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let officer = support::account(&app, "lixia.officer", Role::Officer, "370102", None).await;
    support::account(
        &app,
        "quancheng.shop",
        Role::Enterprise,
        "",
        Some(&shop.uscc),
    )
    .await;
    // The county marks the shop as an ODR participant (API).
    let r = support::client()
        .post(app.url("/api/v1/office/odr/enterprises"))
        .header("cookie", &officer.cookie)
        .header("x-csrf-token", &officer.csrf)
        .json(&json!({"uscc": shop.uscc, "active": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);

    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let result = walk(&app, &browser, &shop.uscc, &officer).await;
    let _ = browser.close().await;
    drop(driver);
    app.stop().await;
    result.expect("the complaint's path");
}

async fn walk(
    app: &TestApp,
    b: &Client,
    uscc: &str,
    officer: &support::Session,
) -> Result<(), fantoccini::error::CmdError> {
    // 1. The consumer files, with a receipt (PDF) attached.
    let receipt = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(receipt.path(), b"%PDF-1.4\n% receipt\n%%EOF\n").unwrap();
    b.goto(&app.url(&format!("/complaints/new?uscc={uscc}")))
        .await?;
    fill(b, "c-name", "林晓梅").await?;
    fill(b, "c-phone", PHONE).await?;
    fill(b, "c-purchase", "滚筒洗衣机一台").await?;
    fill(b, "c-amount", "2599.00").await?;
    fill(
        b,
        "c-facts",
        "洗衣机使用第五天出现漏水，售后上门两次仍未修好，门店拒绝更换。",
    )
    .await?;
    fill(b, "c-claim", "更换新机或退货退款").await?;
    b.find(Locator::Css("#c-category option[value='goods.appliance']"))
        .await?
        .click()
        .await?;
    b.find(Locator::Id("c-files"))
        .await?
        .send_keys(&receipt.path().display().to_string())
        .await?;
    submit(b, "form[action='/complaints'] button[type='submit']").await?;
    wait_for_prefix(b, "/complaints/filed").await;
    let number = text_of(b, "matter-number").await?;
    assert!(number.starts_with("TS-2026-"), "{number}");

    // 2. The business settles in its portal.
    login(b, app, "quancheng.shop", "/portal/complaints").await?;
    let html = b.source().await?;
    assert!(html.contains(&number) && html.contains("林晓梅"), "{html}");
    fill(b, &format!("s-{number}"), "上门更换门封圈并补偿 200 元").await?;
    fill(b, &format!("a-{number}"), "200").await?;
    submit(b, &format!("#c-{number} button[value='settle']")).await?;
    wait_for_prefix(b, "/portal/complaints").await;
    assert!(b.source().await?.contains("经营者和解"));

    // 3. The consumer sees the settlement and the evidence, and refuses.
    b.delete_all_cookies().await?;
    b.goto(&app.url(&format!("/complaints/track?number={number}")))
        .await?;
    fill(b, "t-phone", PHONE).await?;
    submit(b, "form[action='/complaints/track'] button[type='submit']").await?;
    let html = b.source().await?;
    assert!(
        html.contains("上门更换门封圈") && html.contains(".pdf"),
        "{html}"
    );
    fill(b, "r-reason", "只补偿现金不足以弥补损失，要求更换新机").await?;
    submit(
        b,
        "form[action='/complaints/track/refuse'] button[type='submit']",
    )
    .await?;
    assert_eq!(text_of(b, "matter-state").await?, "待受理");
    let html = b.source().await?;
    // The bureau's 7 working days from 09-28 across National Day end on 10-13.
    assert!(html.contains("2026-10-13"), "{html}");
    assert!(text_of(b, "notices").await?.contains("消费者不接受和解"));

    // 4. The county's officer accepts, mediates and closes with money recovered.
    login(b, app, "lixia.officer", "/office/complaints").await?;
    assert!(b.source().await?.contains(&number));
    b.goto(&app.url(&format!("/office/complaints/{number}")))
        .await?;
    assert!(
        b.source().await?.contains(".pdf"),
        "the officer sees the receipt"
    );
    submit(b, "button[name='transition'][value='accept']").await?;
    assert_eq!(text_of(b, "matter-state").await?, "调解中");
    fill(b, "a-note", "电话联系双方，经营者同意更换新机。").await?;
    submit(b, "button[name='transition'][value='mediate']").await?;
    b.find(Locator::Css("#a-outcome option[value='mediated']"))
        .await?
        .click()
        .await?;
    fill(b, "a-summary", "经调解，经营者为消费者更换新机并补偿运费。").await?;
    fill(b, "a-amount", "2649.50").await?;
    submit(b, "button[name='transition'][value='close']").await?;
    assert!(text_of(b, "matter-state").await?.contains("已办结"));

    // 5. The public statistics: nothing of September before it is published; on 10-20 the
    // month shows the complaint, handled and settled.
    b.delete_all_cookies().await?;
    b.goto(&app.url(&format!("/enterprises/{uscc}/complaints?period=month")))
        .await?;
    assert!(!b.source().await?.contains("id=\"period-2026-09\""));
    let later = amr_server::ServerConfig {
        fixed_today: Some(day("2026-10-20")),
        search_dir: app.test_db.dir().join("search-later"),
        signing_key_file: app.test_db.dir().join("keys").join("signing.key"),
        ..amr_server::ServerConfig::default()
    };
    let running = amr_server::start(amr_server::app_state(app.db.clone(), later), "127.0.0.1:0")
        .await
        .unwrap();
    b.goto(&format!(
        "http://{}/enterprises/{uscc}/complaints?period=month",
        running.addr
    ))
    .await?;
    let row = text_of(b, "period-2026-09").await?;
    assert!(
        row.contains("100.0%") && row.contains("家用电子电器类"),
        "{row}"
    );
    assert!(!b.source().await?.contains("林晓梅"));
    running.stop().await.unwrap();

    // 6. An Open311 client files a request (HTTP); it is in the same queue.
    let r = support::client()
        .post(app.url("/open311/v2/requests.json"))
        .form(&[
            ("service_code", "complaint"),
            ("description", "羽绒服穿了一周就大量跑绒，商家拒绝退货。"),
            ("first_name", "晓梅"),
            ("last_name", "林"),
            ("phone", "13912340000"),
            ("address_string", "济南市历下区泉城路188号"),
            ("attribute[business_name]", "泉城路某服装店"),
            ("attribute[purchase]", "羽绒服一件"),
            ("attribute[claim]", "退货退款"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let open311 = v[0]["service_request_id"].as_str().unwrap().to_string();
    let q: Value = support::client()
        .get(app.url("/api/v1/office/complaints"))
        .header("cookie", &officer.cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(q.to_string().contains(&open311), "{q}");
    login(b, app, "lixia.officer", "/office/complaints").await?;
    assert!(b.source().await?.contains(&open311));
    Ok(())
}
