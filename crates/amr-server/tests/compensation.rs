//! Advance compensation (先行赔付) through the real server on each backend: a market pledges in
//! its portal, an officer records a platform's pledge; on a complaint about a seller in the
//! market the officer records that the market paid the consumer first (a row and a message on
//! the complaint's timeline), then the recoveries from the seller; the figures per market
//! follow. Refusals write nothing; an officer outside the jurisdiction cannot act.

mod confidence_support;
mod support;

use amr_kernel::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use confidence_support::*;
use support::{account, backends};

#[tokio::test]
async fn a_market_pays_first_and_recovers_from_the_seller() {
    for b in backends() {
        let app = app(b).await;
        let market = register(&app, "济南泉城路商品交易市场有限公司", "370102001").await;
        let platform = register(&app, "济南优选网络科技有限公司", "370112001").await;
        let seller = register(&app, "济南泉城路市场某服装摊位", "370102001").await;
        let firm = account(&app, "market", Role::Enterprise, "", Some(&market)).await;
        let officer = account(&app, "lixia", Role::Officer, "370102", None).await;
        let city = account(&app, "jinan", Role::Officer, "3701", None).await;
        let elsewhere = account(&app, "qingdao", Role::Officer, "3702", None).await;

        // Pledges: refusals first, nothing written.
        for (body, field) in [
            (
                json!({"kind": "bank", "scope": "场内经营者销售的商品", "limit": "2000"}),
                "kind",
            ),
            (
                json!({"kind": "market", "scope": "场内经营者销售的商品", "limit": "-1"}),
                "limit",
            ),
            (
                json!({"kind": "market", "scope": "场内经营者销售的商品", "limit": "0"}),
                "limit",
            ),
            (
                json!({"kind": "market", "scope": "", "limit": "2000"}),
                "scope",
            ),
        ] {
            let (s, v) = post(&app, Some(&firm), "/api/v1/portal/compensation", body).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
            assert_eq!(v["field"], field, "{v}");
        }
        assert_eq!(count(&app, "compensation_pledges").await, 0);
        let (s, p) = post(
            &app,
            Some(&firm),
            "/api/v1/portal/compensation",
            json!({"kind": "market", "scope": "场内经营者销售的服装、鞋帽、箱包", "limit": "2000"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        assert_eq!(p["limit"], "2000.00");
        let (s, _) = post(
            &app,
            Some(&firm),
            "/api/v1/portal/compensation",
            json!({"kind": "market", "scope": "全部商品", "limit": "100"}),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT);
        // The platform's pledge recorded by the city's officer; a Qingdao officer cannot.
        let (s, _) = post(
            &app,
            Some(&elsewhere),
            "/api/v1/office/compensation/pledges",
            json!({"uscc": platform, "kind": "platform", "scope": "平台内经营者", "limit": "500"}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, p2) = post(&app, Some(&city), "/api/v1/office/compensation/pledges", json!({"uscc": platform, "kind": "platform", "scope": "平台内经营者销售的商品", "limit": "500"})).await;
        assert_eq!(s, StatusCode::CREATED, "{p2}");
        let (_, pub_list) = get(
            &app,
            None,
            &format!("/api/v1/compensation/pledges/{market}"),
        )
        .await;
        assert_eq!(pub_list["pledges"][0]["kind"], "market", "{pub_list}");

        // A consumer complains about the seller (the county bureau's matter).
        let number = complaint_about(
            &app,
            &seller,
            "在市场内购买的羽绒服充绒量严重不足，摊主拒绝退货。",
        )
        .await;
        let paid = json!({"payer_uscc": market, "seller_name": "某服装摊位", "amount": "680.50", "paid_on": "2026-09-28"});
        // Refusals: another city's officer; a payer without a pledge; over the limit; a
        // future date; the seller paying itself; nothing written.
        let (s, v) = post(
            &app,
            Some(&elsewhere),
            &format!("/api/v1/office/complaints/{number}/advance-payment"),
            paid.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "complaint_number");
        let nobody = register(&app, "济南无承诺市场有限公司", "370102001").await;
        let (s, v) = post(&app, Some(&officer), &format!("/api/v1/office/complaints/{number}/advance-payment"), json!({"payer_uscc": nobody, "seller_name": "某服装摊位", "amount": "680.50", "paid_on": "2026-09-28"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("没有有效的先行赔付承诺"),
            "{v}"
        );
        let (s, v) = post(&app, Some(&officer), &format!("/api/v1/office/complaints/{number}/advance-payment"), json!({"payer_uscc": market, "seller_name": "某服装摊位", "amount": "2000.01", "paid_on": "2026-09-28"})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("amount: 超过承诺的单笔赔付上限 2000.00 元"),
            "{v}"
        );
        let (s, v) = post(&app, Some(&officer), &format!("/api/v1/office/complaints/{number}/advance-payment"), json!({"payer_uscc": market, "seller_name": "某服装摊位", "amount": "680.50", "paid_on": "2026-09-29"})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "paid_on");
        let (s, v) = post(&app, Some(&officer), &format!("/api/v1/office/complaints/{number}/advance-payment"), json!({"payer_uscc": seller, "seller_name": "某服装摊位", "amount": "680.50", "paid_on": "2026-09-28"})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "payer_uscc");
        let (s, _) = post(
            &app,
            Some(&firm),
            &format!("/api/v1/office/complaints/{number}/advance-payment"),
            paid.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(count(&app, "compensation_payments").await, 0);

        // The payment: a row and a message on the complaint's timeline.
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/advance-payment"),
            paid.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["amount"], "680.50");
        assert_eq!(v["seller_uscc"], seller.as_str());
        let (s, _) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/advance-payment"),
            paid.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT);
        let (_, item) = get(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}"),
        )
        .await;
        let timeline = item["timeline"].to_string();
        assert!(
            timeline.contains("先行赔付") && timeline.contains("680.50"),
            "{timeline}"
        );

        // Recoveries: not more than was paid, not before the payment; then two parts.
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/advance-recovery"),
            json!({"amount": "700", "recovered_on": "2026-09-28"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("amount: 追偿合计不能超过先行赔付的 680.50 元"),
            "{v}"
        );
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/advance-recovery"),
            json!({"amount": "100", "recovered_on": "2026-09-27"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(count(&app, "compensation_recoveries").await, 0);
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/complaints/{number}/advance-recovery"),
            json!({"amount": "400", "recovered_on": "2026-09-28"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["recovered"], "400.00");
        assert_eq!(v["outstanding"], "280.50");

        // Figures per market, in the officer's jurisdiction; nothing for Qingdao.
        let (s, f) = get(&app, Some(&officer), "/api/v1/office/compensation/figures").await;
        assert_eq!(s, StatusCode::OK, "{f}");
        assert_eq!(f["markets"][0]["payer_uscc"], market.as_str(), "{f}");
        assert_eq!(f["markets"][0]["payments"], 1);
        assert_eq!(f["markets"][0]["paid"], "680.50");
        assert_eq!(f["markets"][0]["recovered"], "400.00");
        assert_eq!(f["total"]["outstanding"], "280.50");
        let (_, f) = get(
            &app,
            Some(&elsewhere),
            "/api/v1/office/compensation/figures",
        )
        .await;
        assert_eq!(f["total"]["payments"], 0, "{f}");
        let (s, _) = get(&app, None, "/api/v1/office/compensation/figures").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // The officers' page (the form records the rest of the recovery) and the market's
        // portal.
        let (s, to) = form(
            &app,
            &officer,
            "/office/compensation/recoveries",
            &[
                ("complaint_number", &number),
                ("amount", "280.50"),
                ("recovered_on", "2026-09-28"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
        let (s, html) = page(&app, Some(&officer), "/office/compensation").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("济南泉城路商品交易市场有限公司") && html.contains("680.50"),
            "{html}"
        );
        let (_, f) = get(
            &app,
            Some(&officer),
            &format!("/api/v1/office/compensation/figures?payer={market}"),
        )
        .await;
        assert_eq!(f["total"]["recovered"], "680.50", "{f}");
        let (s, html) = page(&app, Some(&firm), "/portal/compensation").await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("680.50"), "{html}");

        // Withdrawing the platform's pledge: then it cannot be named as a payer for later.
        let pid = p2["id"].as_i64().unwrap();
        let (s, _) = post(
            &app,
            Some(&elsewhere),
            &format!("/api/v1/office/compensation/pledges/{pid}/withdraw"),
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = post(
            &app,
            Some(&city),
            &format!("/api/v1/office/compensation/pledges/{pid}/withdraw"),
            json!({}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"], "withdrawn");
        let number2 = complaint_about(&app, &seller, "平台购买的运动鞋开胶，卖家不予处理。").await;
        let (s, v) = post(&app, Some(&officer), &format!("/api/v1/office/complaints/{number2}/advance-payment"), json!({"payer_uscc": platform, "seller_name": "某服装摊位", "amount": "100", "paid_on": "2026-09-28"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

        let stream = public_stream(&app).await;
        assert!(
            stream.contains("consumer.compensation.pledged")
                && stream.contains("consumer.compensation.withdrawn")
        );
        assert!(
            !stream.contains("consumer.compensation.paid"),
            "payments are internal"
        );
        app.stop().await;
    }
}
