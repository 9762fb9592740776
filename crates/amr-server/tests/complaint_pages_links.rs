//! The complaint follow-up's pages, through the real server on each backend:
//!
//! 1. the enterprise portal (`/portal/entities/{uscc}`, the registry's page) links to the
//!    consumer context's pages of the business — its complaints, its complaint statistics,
//!    its no-reason-return pledge, its demonstration-unit application, its advance
//!    compensation pledge — and each link opens for the business's account;
//! 2. on a complaint's officer page, the officer records a breach of the business's pledge
//!    naming this complaint, the market's advance payment and a recovery, each by the page's
//!    form, and comes back to the complaint's page, which then shows what was recorded;
//!    a form posted with a bad amount changes nothing.

mod confidence_support;
mod support;

use amr_kernel::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use confidence_support::*;
use support::{account, backends};

#[tokio::test]
async fn the_portal_links_to_the_consumer_pages() {
    for b in backends() {
        let app = app(b).await;
        let shop = register(&app, "济南泉城路百货有限公司", "370102001").await;
        let firm = account(&app, "shop", Role::Enterprise, "", Some(&shop)).await;
        let (s, html) = page(&app, Some(&firm), &format!("/portal/entities/{shop}")).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        // The template engine escapes `/` in attribute values.
        let html = html.replace("&#x2f;", "/");
        assert!(html.contains("id=\"portal-links\""), "{b:?}");
        for (id, href) in [
            ("complaints", "/portal/complaints"),
            ("complaint-stats", "/portal/complaints/stats"),
            ("pledge", "/portal/pledge"),
            ("showcase", "/portal/showcase"),
            ("compensation", "/portal/compensation"),
        ] {
            assert!(
                html.contains(&format!("id=\"portal-link-{id}\" href=\"{href}\"")),
                "{b:?}: {id} missing"
            );
            let (s, body) = page(&app, Some(&firm), href).await;
            assert_eq!(s, StatusCode::OK, "{b:?}: {href}: {body}");
        }
        // The link texts come from the consumer's catalog.
        assert!(html.contains("线下无理由退货承诺"), "{b:?}");
        assert!(html.contains("先行赔付承诺"), "{b:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_officer_records_a_breach_and_an_advance_payment_from_the_complaint() {
    for b in backends() {
        let app = app(b).await;
        let shop = register(&app, "济南泉城路服装店", "370102001").await;
        let market = register(&app, "济南泉城路商品交易市场有限公司", "370102001").await;
        let firm = account(&app, "shop", Role::Enterprise, "", Some(&shop)).await;
        let market_firm = account(&app, "market", Role::Enterprise, "", Some(&market)).await;
        let officer = account(&app, "lixia", Role::Officer, "370102", None).await;
        let (s, p) = post(
            &app,
            Some(&firm),
            "/api/v1/portal/pledges",
            json!({"categories": ["clothing"], "days": "15"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let pledge = p["id"].as_i64().unwrap();
        let (s, v) = post(
            &app,
            Some(&market_firm),
            "/api/v1/portal/compensation",
            json!({"kind": "market", "scope": "场内经营者销售的服装", "limit": "2000"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let number = complaint_about(
            &app,
            &shop,
            "购买大衣三天后要求无理由退货，店家以已过季为由拒绝。",
        )
        .await;
        let item = format!("/office/complaints/{number}");

        // The page offers both: the pledge's breach form and the payment form with the
        // market to choose.
        let (s, html) = page(&app, Some(&officer), &item).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"confidence\""), "{b:?}");
        assert!(
            html.contains(&format!("action=\"/office/pledges/{pledge}/breaches\"")),
            "{b:?}"
        );
        assert!(html.contains("id=\"payment-form\""), "{b:?}");
        assert!(
            html.contains(&format!("<option value=\"{market}\">")),
            "{b:?}"
        );

        // The breach, back to the complaint.
        let (s, to) = form(
            &app,
            &officer,
            &format!("/office/pledges/{pledge}/breaches"),
            &[
                ("back", "complaint"),
                ("complaint_number", &number),
                ("occurred_on", "2026-09-28"),
                ("summary", "店家拒绝在承诺期内退货"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
        assert_eq!(to, item);
        let (_, v) = get(&app, None, &format!("/api/v1/pledges/{pledge}")).await;
        assert_eq!(v["breaches"], 1, "{v}");

        // A payment with a bad amount: refused, nothing written.
        let (s, _) = form(
            &app,
            &officer,
            "/office/compensation/payments",
            &[
                ("back", "complaint"),
                ("complaint_number", &number),
                ("payer_uscc", &market),
                ("seller_name", "济南泉城路服装店"),
                ("seller_uscc", &shop),
                ("amount", "-5"),
                ("paid_on", "2026-09-28"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(count(&app, "compensation_payments").await, 0);
        // The payment, back to the complaint.
        let (s, to) = form(
            &app,
            &officer,
            "/office/compensation/payments",
            &[
                ("back", "complaint"),
                ("complaint_number", &number),
                ("payer_uscc", &market),
                ("seller_name", "济南泉城路服装店"),
                ("seller_uscc", &shop),
                ("amount", "899.00"),
                ("paid_on", "2026-09-28"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
        assert_eq!(to, item);
        // A recovery, back to the complaint.
        let (s, to) = form(
            &app,
            &officer,
            "/office/compensation/recoveries",
            &[
                ("back", "complaint"),
                ("complaint_number", &number),
                ("amount", "300.00"),
                ("recovered_on", "2026-09-28"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
        assert_eq!(to, item);

        // The page now shows what was recorded, and offers neither again.
        let (_, html) = page(&app, Some(&officer), &item).await;
        assert!(html.contains("class=\"breach-recorded\""), "{b:?}");
        assert!(!html.contains("class=\"stack breach-form\""), "{b:?}");
        assert!(html.contains("id=\"advance-payment\""), "{b:?}");
        assert!(!html.contains("id=\"payment-form\""), "{b:?}");
        assert!(html.contains("899.00"), "{b:?}");
        assert!(
            html.contains("<dd id=\"advance-recovered\">300.00</dd>"),
            "{b:?}"
        );
        assert!(html.contains("id=\"recovery-form\""), "{b:?}");
        let (_, v) = get(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/advance-payment"),
        )
        .await;
        assert_eq!(v["recovered"], "300.00", "{v}");

        // Without `back` the forms still go where they went.
        let (s, to) = form(
            &app,
            &officer,
            "/office/compensation/recoveries",
            &[
                ("complaint_number", &number),
                ("amount", "100.00"),
                ("recovered_on", "2026-09-28"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
        assert_eq!(to, "/office/compensation");
        app.stop().await;
    }
}
