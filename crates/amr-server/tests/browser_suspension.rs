//! Suspension in one go (歇业一件事) in headless Chromium: the enterprise logs in, files its
//! suspension on the portal's one form with the fields the agencies need, four simulated
//! agencies (tax, social security, medical insurance, housing fund) answer over real HTTP —
//! social security fails twice first — and the status page the portal links to turns to
//! 同步办结.
//!
//! Without `/usr/bin/chromedriver` the test prints a NOTICE and passes, unless
//! `AMR_BROWSER_REQUIRED=1` (then it fails).

mod browser_support;
#[allow(unused_imports)] // the shared harness re-exports more than this test uses
mod support;

use std::time::{Duration, Instant};

use amr_exchange::delivery::SenderOptions;
use amr_exchange::sim::{self, AmrKeys, SimConfig};
use amr_kernel::audit::Actor;
use amr_kernel::auth::Role;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::model::{EntityType, NewEntity, Status, today_in_china};
use browser_support::{open_browser, start_driver};
use chrono::NaiveDate;
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, TestApp};

const PASSWORD: &str = "Correct-Horse-9";
const FOUR: [&str; 4] = [
    "tax",
    "social_security",
    "medical_insurance",
    "housing_fund",
];

fn seed(name: &str) -> [u8; 32] {
    let mut s = [3u8; 32];
    for (i, b) in name.bytes().enumerate() {
        s[i % 32] ^= b;
    }
    s
}

#[tokio::test]
async fn an_enterprise_suspends_in_the_browser_and_four_agencies_finish_it() {
    if !browser_support::available() {
        return;
    }
    amr_server::exchange_wiring::set_sender_options(SenderOptions {
        base_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(300),
        timeout: Duration::from_secs(3),
        poll: Duration::from_millis(50),
        ..SenderOptions::default()
    });
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = support::account(&app, "admin.browser", Role::Admin, "", None).await;
    let mut sims = Vec::new();
    for name in FOUR {
        let s = sim::start(
            SimConfig {
                name: name.into(),
                kind: name.into(),
                fail_rate: 0.0,
                fail_first: if name == "social_security" { 2 } else { 0 },
                delay: Duration::ZERO,
                keys: AmrKeys::Url(app.base.clone()),
                seed: seed(name),
                callback: None,
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let resp = support::client()
            .post(app.url("/api/v1/exchange/agencies"))
            .header("cookie", &admin.cookie)
            .header("x-csrf-token", &admin.csrf)
            .json(&json!({"name": name, "kind": name, "endpoint": s.url(),
                "subscriptions": ["registry.suspension."], "public_key": s.public_key}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        sims.push(s);
    }
    let e = NewEntity {
        uscc: Uscc::generate(RegistrationType::Enterprise, "370102", &mut rand::rng())
            .unwrap()
            .to_string(),
        name: "济南泉城歇业示例商贸有限公司".into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "王建国".into(),
        legal_rep_id: None,
        phone: None,
        capital_yuan: Some(1_000_000),
        established: NaiveDate::from_ymd_opt(2020, 5, 1).unwrap(),
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
    support::account(&app, "firm.suspends", Role::Enterprise, "", Some(&e.uscc)).await;

    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let result = suspend(&app, &browser, &e.uscc).await;
    let _ = browser.close().await;
    drop(driver);
    let stats: Vec<_> = sims.iter().map(|s| s.stats.to_json()).collect();
    for s in sims {
        s.stop().await;
    }
    app.stop().await;
    result.expect("suspension path");
    for (name, st) in FOUR.iter().zip(&stats) {
        assert_eq!(st["applied"], 1, "{name}: {st}");
        assert_eq!(st["bad_signature"], 0, "{name}: {st}");
    }
    assert_eq!(stats[1]["failed_on_purpose"], 2, "{}", stats[1]);
}

async fn wait_for_path(b: &Client, path: &str) -> Result<(), fantoccini::error::CmdError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = b.current_url().await?;
        if url.path() == path {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "expected {path}, the browser shows {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn set_value(b: &Client, id: &str, value: &str) -> Result<(), fantoccini::error::CmdError> {
    b.execute(
        "document.getElementById(arguments[0]).value = arguments[1];",
        vec![json!(id), json!(value)],
    )
    .await?;
    Ok(())
}

async fn suspend(app: &TestApp, b: &Client, uscc: &str) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&app.url("/login")).await?;
    b.find(Locator::Id("f-username"))
        .await?
        .send_keys("firm.suspends")
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
    let portal = format!("/portal/entities/{uscc}");
    wait_for_path(b, &portal).await?;

    // The one form: the suspension and what each agency needs.
    let end = (today_in_china() + chrono::Duration::days(90)).to_string();
    b.find(Locator::Id("s-reason"))
        .await?
        .send_keys("经营困难，暂停营业")
        .await?;
    set_value(b, "s-end", &end).await?;
    b.find(Locator::Id("s-addr"))
        .await?
        .send_keys("山东省济南市历下区泉城路1号")
        .await?;
    set_value(b, "s-tax-period", "2026-10").await?;
    b.find(Locator::Id("s-invoices"))
        .await?
        .select_by_value("yes")
        .await?;
    b.find(Locator::Id("s-insured"))
        .await?
        .send_keys("12")
        .await?;
    b.find(Locator::Id("s-med-insured"))
        .await?
        .send_keys("12")
        .await?;
    set_value(b, "s-suspend-from", "2026-12").await?;
    b.find(Locator::Id("s-depositors"))
        .await?
        .send_keys("10")
        .await?;
    b.find(Locator::Id("s-seal"))
        .await?
        .select_by_value("yes")
        .await?;
    let before = b.find(Locator::Id("s-reason")).await?;
    b.find(Locator::Css("#s-agencies ~ button[type='submit']"))
        .await?
        .click()
        .await?;
    // The form posts and comes back to the portal: wait for the new page.
    let deadline = Instant::now() + Duration::from_secs(10);
    while before.is_displayed().await.unwrap_or(false) {
        assert!(
            Instant::now() < deadline,
            "the suspension form did not submit"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The status page the portal links to, until every agency is done.
    b.goto(&app.url(&portal)).await?;
    b.find(Locator::Id("agency-status")).await?.click().await?;
    let status_path = format!("/exchange/entities/{uscc}");
    wait_for_path(b, &status_path).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(done) = b.find(Locator::Css("[data-status='all-done']")).await {
            assert_eq!(done.text().await?, "同步办结");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not 同步办结 in time: {}",
            b.source().await?
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.refresh().await?;
    }
    for name in FOUR {
        let row = b
            .find(Locator::Css(&format!(
                "tr[data-agency='{name}'] td:nth-child(3)"
            )))
            .await?;
        assert_eq!(
            row.attr("class").await?.as_deref(),
            Some("status-done"),
            "{name}"
        );
    }
    let attempts = b
        .find(Locator::Css(
            "tr[data-agency='social_security'] td:nth-child(4)",
        ))
        .await?
        .text()
        .await?;
    assert!(
        attempts.trim().parse::<u32>().unwrap_or(0) >= 3,
        "two failures first, then the answer: {attempts}"
    );
    Ok(())
}
