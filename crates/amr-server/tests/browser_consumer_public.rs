//! The consumers' public pages of no-reason returns and demonstration units in headless
//! Chromium: a visitor searches the pledged shops by name and category and opens a pledge;
//! finds a unit on public notice in the list, opens it and files an objection with the page's
//! form.
//!
//! Without `/usr/bin/chromedriver` the test prints a NOTICE and passes, unless
//! `AMR_BROWSER_REQUIRED=1` (then it fails).

mod browser_support;
mod confidence_support;
#[allow(unused_imports)] // the shared harness re-exports more than this test uses
mod support;

use std::time::{Duration, Instant};

use amr_kernel::auth::Role;
use browser_support::{open_browser, start_driver};
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::json;

use confidence_support::*;
use support::{TestApp, account};

async fn wait_for_path(b: &Client, prefix: &str) -> Result<(), fantoccini::error::CmdError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = b.current_url().await?;
        if url.path().starts_with(prefix) {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "expected {prefix}, the browser shows {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_text(b: &Client, text: &str) -> Result<String, fantoccini::error::CmdError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let html = b.source().await?;
        if html.contains(text) {
            return Ok(html);
        }
        assert!(Instant::now() < deadline, "{text:?} never showed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_visitor_finds_a_pledged_shop_and_objects_to_a_unit_on_notice() {
    if !browser_support::available() {
        return;
    }
    let app = app(support::Backend::Sqlite).await;
    let shop = register(&app, "济南泉城服饰有限公司", "370102001").await;
    let other = register(&app, "济南历城数码商行有限公司", "370112001").await;
    let mall = register(&app, "济南泉城百货商场有限公司", "370102001").await;
    let firm = account(&app, "shop", Role::Enterprise, "", Some(&shop)).await;
    let firm2 = account(&app, "digital", Role::Enterprise, "", Some(&other)).await;
    let mall_firm = account(&app, "mall", Role::Enterprise, "", Some(&mall)).await;
    let officer = account(&app, "lixia", Role::Officer, "370102", None).await;
    for (who, cats) in [(&firm, json!(["clothing"])), (&firm2, json!(["digital"]))] {
        let (s, v) = post(
            &app,
            Some(who),
            "/api/v1/portal/pledges",
            json!({"categories": cats, "days": "15", "exclusions": "贴身衣物"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, u) = post(&app, Some(&mall_firm), "/api/v1/portal/showcase", json!({"category": "mall", "address": "济南市历下区泉城路1号", "statement": "本商场承诺明码标价、七日无理由退货、投诉当日响应，并设立消费者投诉站。"})).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let unit = u["id"].as_i64().unwrap();
    let (s, v) = post(
        &app,
        Some(&officer),
        &format!("/api/v1/office/showcase/{unit}/decide"),
        json!({"action": "approve"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let result = walk(&app, &browser, unit).await;
    let _ = browser.close().await;
    drop(driver);
    let objections = count(&app, "showcase_objections").await;
    app.stop().await;
    result.expect("public consumer pages");
    assert_eq!(objections, 1, "the objection from the page was stored");
}

async fn walk(app: &TestApp, b: &Client, unit: i64) -> Result<(), fantoccini::error::CmdError> {
    // The pledge search: name and category, then the pledge's page.
    b.goto(&app.url("/pledges")).await?;
    b.find(Locator::Id("q-name"))
        .await?
        .send_keys("泉城")
        .await?;
    b.find(Locator::Css("#q-category option[value='clothing']"))
        .await?
        .click()
        .await?;
    b.find(Locator::Css("#pledge-search button[type='submit']"))
        .await?
        .click()
        .await?;
    // The search is a GET: wait for its answer, not the page it was typed on (which lists
    // every pledge under the same id).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b
        .current_url()
        .await?
        .query()
        .is_some_and(|q| q.contains("category=clothing"))
    {
        assert!(Instant::now() < deadline, "the search never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let html = wait_for_text(b, "pledge-results").await?;
    assert!(
        html.contains("济南泉城服饰有限公司") && !html.contains("历城数码"),
        "{html}"
    );
    b.find(Locator::LinkText("济南泉城服饰有限公司"))
        .await?
        .click()
        .await?;
    wait_for_path(b, "/pledges/").await?;
    assert_eq!(
        b.find(Locator::Id("pledge-days")).await?.text().await?,
        "15"
    );
    assert_eq!(
        b.find(Locator::Id("pledge-breaches")).await?.text().await?,
        "0"
    );

    // The units on notice, one opened, an objection filed with its form.
    b.goto(&app.url("/showcase")).await?;
    b.find(Locator::Id("showcase-notice-link"))
        .await?
        .click()
        .await?;
    wait_for_text(b, "showcase-results").await?;
    b.find(Locator::Css(&format!("a[href='/showcase/{unit}']")))
        .await?
        .click()
        .await?;
    wait_for_path(b, &format!("/showcase/{unit}")).await?;
    b.find(Locator::Id("o-reason"))
        .await?
        .send_keys("该商场停车收费标准未公示，与示范单位的要求不符。")
        .await?;
    b.find(Locator::Css("#objection-form button[type='submit']"))
        .await?
        .click()
        .await?;
    wait_for_text(b, "objection-filed").await?;
    Ok(())
}
