//! The main path through the real pages in headless Chromium, driven over WebDriver by
//! Debian's `chromedriver`: home → login → back office → logout.
//!
//! Without `/usr/bin/chromedriver` the test prints a NOTICE and passes, unless
//! `AMR_BROWSER_REQUIRED=1` (then it fails).

mod browser_support;
#[allow(unused_imports)] // the shared harness re-exports more than this test uses
mod support;

use std::time::{Duration, Instant};

use amr_kernel::auth::Role;
use browser_support::{open_browser, start_driver};
use fantoccini::{Client, Locator};
use support::{Backend, TestApp};

const PASSWORD: &str = "Correct-Horse-9";

/// Waits until the browser shows `path` (path and query), or fails with what it shows.
async fn wait_for_path(browser: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = browser.current_url().await.expect("current url");
        let here = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        if here == path {
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
async fn an_officer_logs_in_sees_the_office_and_logs_out() {
    if !browser_support::available() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.add_account("browser.officer", Role::Officer, "370102", PASSWORD)
        .await;
    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let result = walk_the_main_path(&app, &browser).await;
    let _ = browser.close().await;
    drop(driver);
    app.stop().await;
    result.expect("main path");
}

async fn walk_the_main_path(app: &TestApp, b: &Client) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&app.url("/")).await?;
    assert!(b.source().await?.contains("/api/v1/stream?timepoint=0"));
    b.find(Locator::Css("main a[href='/login']"))
        .await?
        .click()
        .await?;
    wait_for_path(b, "/login").await;

    b.find(Locator::Id("f-username"))
        .await?
        .send_keys("browser.officer")
        .await?;
    b.find(Locator::Id("f-password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    b.find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await?
        .click()
        .await?;
    wait_for_path(b, "/office").await;
    let office = b.source().await?;
    assert!(office.contains("历下区"), "{office}");
    assert!(office.contains("browser.officer"));

    b.find(Locator::Css("form[action='/logout'] button"))
        .await?
        .click()
        .await?;
    wait_for_path(b, "/").await;
    let home = b.source().await?;
    assert!(
        home.contains("href=\"/login\""),
        "the home page, logged out"
    );
    assert!(!home.contains("browser.officer"));

    b.goto(&app.url("/office")).await?;
    wait_for_path(b, "/login?next=/office").await;
    assert!(b.find(Locator::Id("f-password")).await.is_ok());
    Ok(())
}

#[tokio::test]
async fn a_visitor_finds_a_demo_entity_by_a_few_characters_and_opens_its_page() {
    if !browser_support::available() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    let spec = amr_registry::demo::DemoSpec {
        seed: 37,
        entities: 500,
        province: "37".into(),
    };
    let entities: Vec<_> = amr_registry::demo::Generator::new(spec).unwrap().collect();
    amr_registry::store::insert_batch(&app.db, &amr_kernel::audit::Actor::system(), &entities)
        .await
        .unwrap();
    // A few characters from the middle of a demo name, as a visitor would type them.
    let target = &entities[123];
    let chars: Vec<char> = target.name.chars().collect();
    let fragment: String = chars[2..5.min(chars.len())].iter().collect();
    // The running server indexes the batch from the event log; wait until it is searchable.
    let probe = app.url(&format!("/api/v1/entities?q={}", target.uscc));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(&probe)
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains(&target.uscc)
    {
        assert!(
            Instant::now() < deadline,
            "the batch was not indexed in time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let result = find_and_open(&app, &browser, &fragment, target).await;
    let _ = browser.close().await;
    drop(driver);
    app.stop().await;
    result.expect("search path");
}

async fn find_and_open(
    app: &TestApp,
    b: &Client,
    fragment: &str,
    target: &amr_registry::model::NewEntity,
) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&app.url("/")).await?;
    b.find(Locator::Id("f-q"))
        .await?
        .send_keys(fragment)
        .await?;
    b.find(Locator::Css("form[action='/search'] button[type='submit']"))
        .await?
        .click()
        .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b.current_url().await?.path().starts_with("/search") {
        assert!(Instant::now() < deadline, "no results page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Follow result pages until the target shows (a fragment may match several names).
    let link = format!("a[href='/entities/{}']", target.uscc);
    let mut pages = 0;
    loop {
        if let Ok(a) = b.find(Locator::Css(&link)).await {
            a.click().await?;
            break;
        }
        pages += 1;
        assert!(pages < 10, "{} not found for {fragment:?}", target.name);
        b.find(Locator::Css("a[rel='next']")).await?.click().await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for_path(b, &format!("/entities/{}", target.uscc)).await;
    let page = b.source().await?;
    assert!(
        page.contains(&target.name),
        "the entity page shows its name"
    );
    assert!(
        !page.contains(target.phone.as_deref().unwrap_or("-")),
        "no phone on the public page"
    );
    Ok(())
}

#[tokio::test]
async fn an_officer_checks_an_address_and_records_a_commitment() {
    if !browser_support::available() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.add_account("address.officer", Role::Officer, "370102", PASSWORD)
        .await;
    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let result = check_and_commit(&app, &browser).await;
    let _ = browser.close().await;
    drop(driver);
    app.stop().await;
    result.expect("address check path");
}

async fn check_and_commit(app: &TestApp, b: &Client) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&app.url("/login")).await?;
    b.find(Locator::Id("f-username"))
        .await?
        .send_keys("address.officer")
        .await?;
    b.find(Locator::Id("f-password"))
        .await?
        .send_keys(PASSWORD)
        .await?;
    b.find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await?
        .click()
        .await?;
    wait_for_path(b, "/office").await;
    b.find(Locator::Css("a[href='/office/addresses/check']"))
        .await?
        .click()
        .await?;
    wait_for_path(b, "/office/addresses/check").await;
    b.find(Locator::Id("f-address"))
        .await?
        .send_keys("历下区泉城路180号齐鲁国际大厦10楼")
        .await?;
    b.find(Locator::Css(
        "form[action='/office/addresses/check'] button[type='submit']",
    ))
    .await?
    .click()
    .await?;
    let text = |id: &'static str| async move { b.find(Locator::Id(id)).await?.text().await };
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.find(Locator::Id("verdict")).await.is_err() {
        assert!(Instant::now() < deadline, "no verdict shown");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text("p-province").await?, "山东省");
    assert_eq!(text("p-city").await?, "济南市");
    assert_eq!(text("p-county").await?, "历下区 370102");
    assert_eq!(text("p-road").await?, "泉城路");
    assert_eq!(text("p-road_no").await?, "180号");
    assert_eq!(text("p-poi").await?, "齐鲁国际大厦");
    assert_eq!(text("p-floor").await?, "10");
    assert!(text("negative-hits").await?.contains("未命中负面清单"));
    let outcome = b.find(Locator::Id("outcome")).await?;
    assert_eq!(
        outcome.attr("data-outcome").await?.as_deref(),
        Some("needs_commitment")
    );

    // Not in the library: the applicant commits, and it waits for verification.
    b.find(Locator::Id("f-applicant"))
        .await?
        .send_keys("济南泉城科技有限公司")
        .await?;
    b.find(Locator::Css("#commit-form button[type='submit']"))
        .await?
        .click()
        .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.find(Locator::Id("recorded")).await.is_err() {
        assert!(Instant::now() < deadline, "the commitment was not recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let queue = b.find(Locator::Id("commitments")).await?.text().await?;
    assert!(
        queue.contains("历下区泉城路180号齐鲁国际大厦10楼"),
        "{queue}"
    );
    assert!(queue.contains("济南泉城科技有限公司"));
    assert!(queue.contains("待核查"));
    Ok(())
}

#[tokio::test]
async fn an_applicant_registers_a_company_and_an_officer_approves_it() {
    if !browser_support::available() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.add_account("browser.examiner", Role::Officer, "370102", PASSWORD)
        .await;
    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let result = register_and_approve(&app, &browser).await;
    let _ = browser.close().await;
    drop(driver);
    app.stop().await;
    result.expect("registration path");
}

async fn fill(b: &Client, id: &str, text: &str) -> Result<(), fantoccini::error::CmdError> {
    let e = b.find(Locator::Id(id)).await?;
    e.clear().await?;
    e.send_keys(text).await
}

async fn register_and_approve(
    app: &TestApp,
    b: &Client,
) -> Result<(), fantoccini::error::CmdError> {
    const REP_ID: &str = "370102199003071238";
    // The name check step, from the home page.
    b.goto(&app.url("/")).await?;
    b.find(Locator::Css("a[href='/registrations/name-check']"))
        .await?
        .click()
        .await?;
    wait_for_path(b, "/registrations/name-check").await;
    fill(b, "f-name", "济南明月商贸有限公司").await?;
    fill(b, "f-division", "370102").await?;
    b.find(Locator::Css(
        "form[action='/registrations/name-check'] button",
    ))
    .await?
    .click()
    .await?;
    b.wait().for_element(Locator::Id("name-ok")).await?;
    b.find(Locator::Css("a.button[href^='/registrations/new']"))
        .await?
        .click()
        .await?;
    b.wait()
        .for_element(Locator::Id("registration-form"))
        .await?;
    assert_eq!(
        b.find(Locator::Id("f-name"))
            .await?
            .prop("value")
            .await?
            .as_deref(),
        Some("济南明月商贸有限公司")
    );
    // The form.
    fill(
        b,
        "f-address",
        "山东省济南市历下区泉城路180号齐鲁国际大厦10楼",
    )
    .await?;
    b.find(Locator::Id("f-address_commitment"))
        .await?
        .click()
        .await?;
    fill(b, "f-capital", "100万").await?;
    fill(b, "f-scope", "日用百货销售；五金产品零售").await?;
    fill(b, "f-industry", "5211").await?;
    fill(b, "f-legal_rep", "王五").await?;
    fill(b, "f-legal_rep_id", REP_ID).await?;
    let names = b.find_all(Locator::Css("input[name='sh_name']")).await?;
    let ids = b.find_all(Locator::Css("input[name='sh_id']")).await?;
    let capitals = b.find_all(Locator::Css("input[name='sh_capital']")).await?;
    names[0].send_keys("王五").await?;
    ids[0].send_keys(REP_ID).await?;
    capitals[0].send_keys("100万").await?;
    b.find(Locator::Css("#registration-form button[type='submit']"))
        .await?
        .click()
        .await?;
    b.wait().for_element(Locator::Id("filing-no")).await?;
    let filing_no = b.find(Locator::Id("filing-no")).await?.text().await?;
    let applicant_link = b.current_url().await?.to_string();
    assert!(filing_no.starts_with("DJ"), "{filing_no}");
    assert!(applicant_link.contains("token="));

    // The officer logs in and approves.
    b.goto(&app.url("/login?next=/office/registrations"))
        .await?;
    fill(b, "f-username", "browser.examiner").await?;
    fill(b, "f-password", PASSWORD).await?;
    b.find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await?
        .click()
        .await?;
    wait_for_path(b, "/office/registrations").await;
    b.find(Locator::LinkText(&filing_no)).await?.click().await?;
    b.wait().for_element(Locator::Id("approve")).await?;
    assert!(
        b.source().await?.contains(REP_ID),
        "the officer sees the ID number"
    );
    b.find(Locator::Id("approve")).await?.click().await?;
    b.wait().for_element(Locator::Id("approved-uscc")).await?;
    let uscc = b.find(Locator::Id("approved-uscc")).await?.text().await?;
    assert!(uscc.trim().starts_with("91370102"), "{uscc}");

    // The applicant's link shows the licence; the public page shows the entity.
    b.goto(&applicant_link).await?;
    b.wait().for_element(Locator::Id("licence-uscc")).await?;
    b.goto(&app.url(&format!("/entities/{}", uscc.trim())))
        .await?;
    let page = b.source().await?;
    assert!(page.contains("济南明月商贸有限公司"), "{page}");
    assert!(!page.contains(REP_ID), "no ID number on the public page");
    Ok(())
}

#[tokio::test]
async fn a_visitor_opens_the_licence_sees_its_qr_code_and_follows_it_to_the_verify_page() {
    if !browser_support::available() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    let spec = amr_registry::demo::DemoSpec {
        seed: 11,
        entities: 5,
        province: "37".into(),
    };
    let entities: Vec<_> = amr_registry::demo::Generator::new(spec).unwrap().collect();
    let target = entities[0].clone();
    let mut tx = app.db.begin().await.unwrap();
    amr_registry::store::create(&mut tx, &amr_kernel::audit::Actor::system(), &target)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let driver = start_driver().await;
    let browser = open_browser(&driver).await;
    let result = open_licence_and_verify(&app, &browser, &target).await;
    let _ = browser.close().await;
    drop(driver);
    app.stop().await;
    result.expect("licence path");
}

async fn open_licence_and_verify(
    app: &TestApp,
    b: &Client,
    target: &amr_registry::model::NewEntity,
) -> Result<(), fantoccini::error::CmdError> {
    b.goto(&app.url(&format!("/entities/{}", target.uscc)))
        .await?;
    b.find(Locator::Id("licence-link")).await?.click().await?;
    wait_for_path(b, &format!("/entities/{}/licence", target.uscc)).await;
    // The QR code is drawn, at its stylesheet's size (the CSP lets the page's own CSS in).
    let qr = b.find(Locator::Css("#enterprise-code svg.qr")).await?;
    let (_, _, w, h) = qr.rectangle().await?;
    assert!(w > 150.0 && (w - h).abs() < 1.0, "QR code {w}x{h}");
    assert!(b.source().await?.contains(&target.name));
    // Following the code's address (what a phone does after scanning) shows the verdict.
    let href = b
        .find(Locator::Css("p.actions a[href*='/v/']"))
        .await?
        .attr("href")
        .await?
        .expect("the verify link");
    b.goto(&href).await?;
    let verdict = b.find(Locator::Id("verdict")).await?;
    assert_eq!(
        verdict.attr("data-verdict").await?.as_deref(),
        Some("current")
    );
    assert!(verdict.text().await?.contains("真实有效"));
    Ok(())
}
