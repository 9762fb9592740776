//! An officer builds a random-inspection plan in headless Chromium: logs in, creates the plan,
//! adds two tasks of two departments over the same population, publishes it (the hashes
//! appear), draws it with the observed public value and sees the joint visits with their
//! inspectors. Same chromedriver set-up as `browser.rs`.
//!
//! Without `/usr/bin/chromedriver` the test prints a NOTICE and passes, unless
//! `AMR_BROWSER_REQUIRED=1` (then it fails).

mod browser_support;
mod inspection_fixtures;
#[allow(unused_imports)] // the shared harness re-exports more than this test uses
mod support;

use std::time::{Duration, Instant};

use amr_kernel::auth::Role;
use browser_support::{open_browser, start_driver};
use fantoccini::{Client, Locator};
use support::{Backend, TestApp};

const PASSWORD: &str = "Correct-Horse-9";

/// Waits until the browser's path starts with `prefix`; the path.
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

/// Clicks the submit button `css` and waits until the browser has loaded the page the form
/// leads to (a marker set on the old page is gone and the new one is complete): a form that
/// redirects back to the same address still counts as a new page.
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
        if loaded == serde_json::Value::Bool(true) {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "submitting {css} led to no new page"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_officer_builds_publishes_and_draws_a_plan_and_sees_joint_visits() {
    if !browser_support::available() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    let codes = inspection_fixtures::entities(&app.db, 30).await;
    inspection_fixtures::library(&app.db, &codes[0]).await;
    app.add_account("plan.officer", Role::Officer, "3701", PASSWORD)
        .await;
    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let result = walk(&app, &browser).await;
    let _ = browser.close().await;
    drop(driver);
    app.stop().await;
    result.expect("the plan's path");
}

async fn fill(b: &Client, id: &str, value: &str) -> Result<(), fantoccini::error::CmdError> {
    let e = b.find(Locator::Id(id)).await?;
    e.clear().await?;
    e.send_keys(value).await
}

async fn walk(app: &TestApp, b: &Client) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&app.url("/login?next=/office/inspections/plans"))
        .await?;
    fill(b, "f-username", "plan.officer").await?;
    fill(b, "f-password", PASSWORD).await?;
    submit(b, "form[action='/login'] button[type='submit']").await?;
    wait_for_prefix(b, "/office/inspections/plans").await;
    submit(b, "#plans-new").await?;
    wait_for_prefix(b, "/office/inspections/plans/new").await;
    fill(b, "f-name", "历下区联合抽查").await?;
    fill(b, "f-scope", "370102").await?;
    for (k, v) in [("a", "0.3"), ("b", "0.3"), ("c", "0.3"), ("d", "0.3")] {
        fill(b, &format!("f-ratio-{k}"), v).await?;
    }
    fill(b, "f-source", "上海证券交易所 2026-05-06 上证指数收盘点位").await?;
    submit(b, "#plan-form button[type='submit']").await?;
    let path = wait_for_prefix(b, "/office/inspections/plans/").await;
    assert!(!path.ends_with("/new"), "the new plan's page: {path}");

    for (name, dept, item) in [("食品经营", "D01", "I001"), ("特种设备", "D02", "I002")] {
        fill(b, "t-name", name).await?;
        b.find(Locator::Css(&format!(
            "#t-department option[value='{dept}']"
        )))
        .await?
        .click()
        .await?;
        fill(b, "t-items", item).await?;
        submit(b, "#task-form button[type='submit']").await?;
        wait_for_prefix(b, &path).await;
        let html = b.source().await?;
        assert!(html.contains(name), "the task is listed: {name}");
    }
    submit(b, "#publish-form button").await?;
    wait_for_prefix(b, &path).await;
    let html = b.source().await?;
    assert!(html.contains("id=\"targets-hash\""), "{html}");
    fill(b, "f-public-value", "3210.98").await?;
    submit(b, "#draw-form button").await?;
    wait_for_prefix(b, &path).await;
    let html = b.source().await?;
    assert!(html.contains("id=\"plan-report\""), "{html}");
    b.goto(&app.url(&format!("{path}?filter=joint"))).await?;
    let html = b.source().await?;
    assert!(html.contains("class=\"joint\""), "joint visits are listed");
    assert!(html.contains("检查员D01"), "with the inspectors' names");
    assert!(html.contains("检查员D02"));
    Ok(())
}
