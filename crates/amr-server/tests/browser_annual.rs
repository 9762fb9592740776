//! The enterprise files its annual report in headless Chromium: login → portal → the form
//! with the tax figures prefilled (each labelled with its source) → one figure changed, the
//! optional items chosen → filed → the public page shows only what was chosen.
//!
//! Without `/usr/bin/chromedriver` the test prints a NOTICE and passes, unless
//! `AMR_BROWSER_REQUIRED=1` (then it fails).

mod browser_support;
#[allow(unused_imports)] // the shared harness re-exports more than this test uses
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use amr_kernel::audit::Actor;
use amr_kernel::auth::Role;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::tax::{TaxAnswer, TaxDataSource, TaxFigures, TaxFuture};
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_server::{Ports, ServerConfig};
use browser_support::{open_browser, start_driver};
use chrono::NaiveDate;
use fantoccini::{Client, Locator};
use support::{Backend, TestApp};

const PASSWORD: &str = "Correct-Horse-9";

#[derive(Debug)]
struct FixedTax;

impl TaxDataSource for FixedTax {
    fn figures<'a>(&'a self, uscc: &'a str, year: i32) -> TaxFuture<'a> {
        Box::pin(async move {
            Ok(Some(TaxAnswer {
                uscc: uscc.to_string(),
                year,
                figures: TaxFigures {
                    total_assets: Some(52_345_678),
                    total_liabilities: Some(12_300_000),
                    owners_equity: Some(40_045_678),
                    total_revenue: Some(98_765_432),
                    main_business_revenue: Some(90_000_000),
                    total_profit: Some(4_567_890),
                    net_profit: Some(3_425_918),
                    total_tax: Some(1_234_567),
                },
                source: "tax".into(),
                evidence: "msg-browser-0001".into(),
                answered_at: "2026-03-15T02:00:00Z".into(),
            }))
        })
    }
}

async fn wait_for_path(browser: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = browser.current_url().await.expect("current url");
        if url.path() == path {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {path}, the browser shows {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_enterprise_files_its_annual_report_with_prefilled_tax_figures() {
    if !browser_support::available() {
        return;
    }
    let app = TestApp::spawn_with_ports(
        Backend::Sqlite,
        ServerConfig {
            fixed_today: Some(NaiveDate::from_ymd_opt(2026, 3, 15).unwrap()),
            ..ServerConfig::default()
        },
        Ports {
            tax: Arc::new(FixedTax),
        },
    )
    .await;
    let e = NewEntity {
        uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
            .unwrap()
            .to_string(),
        name: "济南泉城年报示例有限公司".into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "王建国".into(),
        legal_rep_id: None,
        phone: None,
        capital_yuan: Some(1_000_000),
        established: NaiveDate::from_ymd_opt(2019, 6, 1).unwrap(),
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
    support::account(&app, "firm.browser", Role::Enterprise, "", Some(&e.uscc)).await;
    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let result = file_report(&app, &browser, &e.uscc).await;
    let _ = browser.close().await;
    drop(driver);
    app.stop().await;
    result.expect("annual report path");
}

async fn file_report(
    app: &TestApp,
    b: &Client,
    uscc: &str,
) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&app.url("/login")).await?;
    b.find(Locator::Id("f-username"))
        .await?
        .send_keys("firm.browser")
        .await?;
    b.find(Locator::Id("f-password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    b.find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await?
        .click()
        .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.current_url().await?.path() == "/login" {
        assert!(Instant::now() < deadline, "the login did not go through");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.goto(&app.url("/portal")).await?;
    wait_for_path(b, &format!("/portal/entities/{uscc}")).await;
    b.find(Locator::Id("annual-file-link"))
        .await?
        .click()
        .await?;
    wait_for_path(b, &format!("/portal/entities/{uscc}/annual-reports/2025")).await;

    // Prefilled from the tax agency, each value with its source and evidence.
    let assets = b.find(Locator::Id("f-total_assets")).await?;
    assert_eq!(assets.prop("value").await?.as_deref(), Some("523456.78"));
    let src = b
        .find(Locator::Id("src-total_assets"))
        .await?
        .text()
        .await?;
    assert!(src.contains("msg-browser-0001"), "{src}");
    assert!(
        b.find(Locator::Id("tax-note"))
            .await?
            .text()
            .await?
            .contains("tax")
    );

    // The enterprise changes one figure, types its phone and headcount, chooses what to publish.
    let net = b.find(Locator::Id("f-net_profit")).await?;
    net.clear().await?;
    net.send_keys("340000").await?;
    b.find(Locator::Id("a-phone"))
        .await?
        .send_keys("0531-86001234")
        .await?;
    b.find(Locator::Id("a-head")).await?.send_keys("12").await?;
    b.find(Locator::Id("p-headcount")).await?.click().await?;
    b.find(Locator::Id("p-total_revenue"))
        .await?
        .click()
        .await?;
    b.find(Locator::Id("annual-submit")).await?.click().await?;
    wait_for_path(
        b,
        &format!("/portal/entities/{uscc}/annual-reports/2025/filed"),
    )
    .await;
    let filed = b.find(Locator::Id("filed-figures")).await?.text().await?;
    assert!(filed.contains("已修改税务数据"), "{filed}");

    // The public page: the chosen items only, no phone.
    b.goto(&app.url(&format!("/entities/{uscc}"))).await?;
    let section = b.find(Locator::Id("annual-reports")).await?;
    section.find(Locator::Css("summary")).await?.click().await?;
    let text = section.text().await?;
    assert!(text.contains("987654.32"), "{text}");
    assert!(text.contains("12"), "{text}");
    let html = b.source().await?;
    assert!(!html.contains("523456.78"));
    assert!(!html.contains("0531-86001234"));
    Ok(())
}
