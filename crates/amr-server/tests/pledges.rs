//! Offline no-reason returns (线下无理由退货) through the real server on each backend, on a
//! fixed day (2026-09-28): a shop pledges in its portal (form and API), consumers find it by
//! name, area and category a page at a time, an officer records another shop's pledge at the
//! window, a breach is recorded from a complaint about the shop and counted on the public
//! page, the shop withdraws; refusals (Chinese first) write nothing, and an officer outside
//! the jurisdiction cannot act.

mod confidence_support;
mod support;

use amr_kernel::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use confidence_support::*;
use support::{account, backends};

#[tokio::test]
async fn shops_pledge_consumers_find_them_and_breaches_are_counted() {
    for b in backends() {
        let app = app(b).await;
        let shop = register(&app, "济南泉城服饰有限公司", "370102001").await;
        let other = register(&app, "济南历城数码商行有限公司", "370112001").await;
        let qingdao = register(&app, "青岛海岸服饰有限公司", "370202001").await;
        let firm = account(&app, "shop", Role::Enterprise, "", Some(&shop)).await;
        let qd_firm = account(&app, "qd_shop", Role::Enterprise, "", Some(&qingdao)).await;
        let officer = account(&app, "jinan_officer", Role::Officer, "3701", None).await;
        let elsewhere = account(&app, "qingdao_officer", Role::Officer, "3702", None).await;

        // Refusals first: each names its field in Chinese first, and nothing is written.
        for (body, field, words) in [
            (
                json!({"categories": ["clothing"], "days": "6"}),
                "days",
                "无理由退货期限应为 7–365 天",
            ),
            (
                json!({"categories": [], "days": "7"}),
                "categories",
                "请至少选择一个商品类别",
            ),
            (
                json!({"categories": ["cars"], "days": "7"}),
                "categories",
                "未知的商品类别",
            ),
            (
                json!({"categories": ["clothing"], "days": "7", "valid_from": "2026/10/01"}),
                "valid_from",
                "承诺生效日期应为日期",
            ),
        ] {
            let (s, v) = post(&app, Some(&firm), "/api/v1/portal/pledges", body).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
            assert_eq!(v["field"], field, "{v}");
            assert!(
                v["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{field}: {words}")),
                "{v}"
            );
        }
        // Not logged in, or an officer on the portal route: refused.
        let (s, _) = post(
            &app,
            None,
            "/api/v1/portal/pledges",
            json!({"categories": ["clothing"], "days": "7"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = post(
            &app,
            Some(&officer),
            "/api/v1/portal/pledges",
            json!({"categories": ["clothing"], "days": "7"}),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(count(&app, "return_pledges").await, 0);

        // The shop pledges 15 days for clothing and daily goods.
        let (s, p) = post(
            &app,
            Some(&firm),
            "/api/v1/portal/pledges",
            json!({"categories": ["daily", "clothing", "daily"], "days": "15", "exclusions": "贴身衣物、已剪标商品"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let pledge = p["id"].as_i64().unwrap();
        assert_eq!(p["categories"], "服装鞋帽、日用百货");
        assert_eq!(p["days"], 15);
        assert_eq!(p["valid_from"], "2026-09-28");
        assert_eq!(p["in_force"], true);
        assert_eq!(p["division"]["code"], "370102001");
        assert_eq!(p["recorded_via"], "enterprise");
        // A second one while the first is in force: 409, nothing written.
        let (s, v) = post(
            &app,
            Some(&firm),
            "/api/v1/portal/pledges",
            json!({"categories": ["clothing"], "days": "7"}),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("该经营者已有有效的无理由退货承诺"),
            "{v}"
        );
        assert_eq!(count(&app, "return_pledges").await, 1);

        // The Qingdao shop pledges through the portal form (checkboxes).
        let (s, to) = form(
            &app,
            &qd_firm,
            "/portal/pledge",
            &[
                ("categories", "clothing"),
                ("categories", "jewellery"),
                ("days", "30"),
                ("exclusions", ""),
                ("valid_from", "2026-10-01"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
        assert!(to.starts_with("/pledges/"), "{to}");

        // An officer of Jinan records the Licheng shop's pledge at the window; Qingdao's
        // officer cannot (404), and cannot record one for a Jinan shop either.
        let (s, v) = post(
            &app,
            Some(&elsewhere),
            "/api/v1/office/pledges",
            json!({"uscc": other, "categories": ["digital"], "days": "7"}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        let (s, v) = post(
            &app,
            Some(&officer),
            "/api/v1/office/pledges",
            json!({"uscc": "91370000MA3XXXXX0X", "categories": ["digital"], "days": "7"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "uscc");
        let (s, v) = post(
            &app,
            Some(&officer),
            "/api/v1/office/pledges",
            json!({"uscc": other, "categories": ["digital"], "days": "7"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["recorded_via"], "officer");
        assert_eq!(count(&app, "return_pledges").await, 3);

        // Consumers search: by name, by area, by category, a page at a time.
        let (_, r) = get(&app, None, "/api/v1/pledges?name=%E6%B3%89%E5%9F%8E").await; // 泉城
        assert_eq!(r["items"].as_array().unwrap().len(), 1, "{r}");
        assert_eq!(r["items"][0]["uscc"], shop.as_str());
        let (_, r) = get(&app, None, "/api/v1/pledges?area=3702").await;
        assert_eq!(r["items"].as_array().unwrap().len(), 1, "{r}");
        assert_eq!(r["items"][0]["uscc"], qingdao.as_str());
        assert_eq!(r["items"][0]["in_force"], false, "it takes effect on 10-01");
        let (_, r) = get(&app, None, "/api/v1/pledges?category=clothing").await;
        assert_eq!(r["items"].as_array().unwrap().len(), 2, "{r}");
        let (_, r) = get(&app, None, "/api/v1/pledges?category=clothing&area=3701").await;
        assert_eq!(r["items"].as_array().unwrap().len(), 1, "{r}");
        let (_, r) = get(&app, None, "/api/v1/pledges").await;
        let ids: Vec<i64> = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
        let (_, r) = get(&app, None, &format!("/api/v1/pledges?before={}", ids[0])).await;
        assert_eq!(r["items"].as_array().unwrap().len(), 2);
        assert_eq!(r["items"][0]["id"], ids[1]);
        for bad in [
            "/api/v1/pledges?category=cars",
            "/api/v1/pledges?area=99",
            "/api/v1/pledges?before=x",
        ] {
            let (s, v) = get(&app, None, bad).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        }
        let (s, html) = page(&app, None, "/pledges?category=clothing&area=3701").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("济南泉城服饰有限公司") && !html.contains("青岛海岸服饰"),
            "{html}"
        );

        // A consumer complains about the shop; the county's officer records the breach.
        let number = complaint_about(
            &app,
            &shop,
            "购买的大衣次日要求退货，门店以打折商品为由拒绝，违反其无理由退货承诺。",
        )
        .await;
        let breach = json!({"complaint_number": number, "summary": "拒绝在承诺期限内无理由退货", "occurred_on": "2026-09-28"});
        // Refusals: a mistyped number, a number of another kind, a future date, an
        // officer of another city; nothing written.
        let mut typo = number.clone();
        let last = typo.pop().unwrap();
        typo.push(if last == 'A' { 'B' } else { 'A' });
        for (who, body, status, field) in [
            (
                &officer,
                json!({"complaint_number": typo, "summary": "拒绝无理由退货", "occurred_on": "2026-09-28"}),
                StatusCode::BAD_REQUEST,
                "complaint_number",
            ),
            (
                &officer,
                json!({"complaint_number": "JB-2026-000001-X", "summary": "拒绝无理由退货", "occurred_on": "2026-09-28"}),
                StatusCode::BAD_REQUEST,
                "complaint_number",
            ),
            (
                &officer,
                json!({"complaint_number": number, "summary": "拒绝无理由退货", "occurred_on": "2026-10-28"}),
                StatusCode::BAD_REQUEST,
                "occurred_on",
            ),
            (
                &elsewhere,
                breach.clone(),
                StatusCode::BAD_REQUEST,
                "complaint_number",
            ),
        ] {
            let (s, v) = post(
                &app,
                Some(who),
                &format!("/api/v1/office/pledges/{pledge}/breaches"),
                body,
            )
            .await;
            assert_eq!(s, status, "{v}");
            assert_eq!(v["field"], field, "{v}");
        }
        // The complaint is about the shop, not about the Licheng one.
        let other_pledge = ids[0];
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/pledges/{other_pledge}/breaches"),
            breach.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("针对的不是该承诺店铺"),
            "{v}"
        );
        // The shop cannot record breaches of itself.
        let (s, _) = post(
            &app,
            Some(&firm),
            &format!("/api/v1/office/pledges/{pledge}/breaches"),
            breach.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(count(&app, "return_pledge_breaches").await, 0);
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/pledges/{pledge}/breaches"),
            breach.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["breaches"], 1);
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/pledges/{pledge}/breaches"),
            breach.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        let (_, p) = get(&app, None, &format!("/api/v1/pledges/{pledge}")).await;
        assert_eq!(p["breaches"], 1);
        assert_eq!(p["breach_list"][0]["complaint_number"], number.as_str());
        let (s, html) = page(&app, None, &format!("/pledges/{pledge}")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains(&number) && html.contains("拒绝在承诺期限内无理由退货"),
            "{html}"
        );
        assert!(
            !html.contains("林晓梅") && !html.contains("13912345678"),
            "no complainant on the page"
        );

        // The officers' pages: the jurisdiction's list; another city's officer sees nothing
        // of it.
        let (s, html) = page(&app, Some(&officer), "/office/pledges").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("济南泉城服饰有限公司") && !html.contains("青岛海岸服饰"),
            "{html}"
        );
        let (s, _) = page(&app, Some(&elsewhere), &format!("/office/pledges/{pledge}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (_, l) = get(&app, Some(&elsewhere), "/api/v1/office/pledges").await;
        assert_eq!(l["items"].as_array().unwrap().len(), 1, "{l}");

        // Withdrawal: dated, not in the past; then the public search leaves it out, the
        // page says so, and a new pledge may follow.
        let (s, v) = post(
            &app,
            Some(&firm),
            &format!("/api/v1/portal/pledges/{pledge}/withdraw"),
            json!({"on": "2026-09-01", "reason": "停业装修"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        let (s, _) = post(
            &app,
            Some(&qd_firm),
            &format!("/api/v1/portal/pledges/{pledge}/withdraw"),
            json!({"reason": "停业装修"}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "another shop cannot withdraw it");
        let (s, v) = post(
            &app,
            Some(&firm),
            &format!("/api/v1/portal/pledges/{pledge}/withdraw"),
            json!({"reason": "停业装修"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"], "withdrawn");
        assert_eq!(v["withdrawn_on"], "2026-09-28");
        let (s, _) = post(
            &app,
            Some(&firm),
            &format!("/api/v1/portal/pledges/{pledge}/withdraw"),
            json!({"reason": "停业装修"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, r) = get(&app, None, "/api/v1/pledges?name=%E6%B3%89%E5%9F%8E").await;
        assert_eq!(r["items"].as_array().unwrap().len(), 0, "{r}");
        let (_, r) = get(
            &app,
            None,
            "/api/v1/pledges?name=%E6%B3%89%E5%9F%8E&withdrawn=1",
        )
        .await;
        assert_eq!(r["items"][0]["status"], "withdrawn", "{r}");
        let (s, v) = post(
            &app,
            Some(&firm),
            "/api/v1/portal/pledges",
            json!({"categories": ["clothing"], "days": "7"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");

        // The public stream carries the pledges, the breach and the withdrawal, and nothing
        // of the complainant.
        let stream = public_stream(&app).await;
        for kind in [
            "consumer.pledge.made",
            "consumer.pledge.breach_recorded",
            "consumer.pledge.withdrawn",
        ] {
            assert!(stream.contains(kind), "{kind} missing");
        }
        assert!(!stream.contains("林晓梅") && !stream.contains("13912345678"));
        app.stop().await;
    }
}
