//! Demonstration units (放心消费示范单位) through the real server on each backend: a business
//! applies in its portal, the county's officer approves it for a 7-day public notice
//! (2026-09-28 to 10-04), the public objects (API and the page's form), officers resolve the
//! objections, the unit is awarded after the notice (a second server on 10-05) with a dated
//! number, re-checked a year on, and removed on serious complaints; an upheld objection ends
//! in a rejection. Refusals write nothing; an officer outside the jurisdiction cannot act.

mod confidence_support;
mod support;

use amr_kernel::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use confidence_support::*;
use support::{account, backends, client};

const STATEMENT: &str = "本店承诺：明码标价、商品质量有保证、七日无理由退货、投诉当日响应，设立消费者投诉站并公示联系方式。";

#[tokio::test]
async fn a_unit_is_noticed_objected_to_awarded_rechecked_and_removed() {
    for b in backends() {
        let app = app(b).await;
        let shop = register(&app, "济南泉城百货商场有限公司", "370102001").await;
        let second = register(&app, "济南大明湖餐饮有限公司", "370102001").await;
        let firm = account(&app, "mall", Role::Enterprise, "", Some(&shop)).await;
        let firm2 = account(&app, "diner", Role::Enterprise, "", Some(&second)).await;
        let officer = account(&app, "lixia", Role::Officer, "370102", None).await;
        let elsewhere = account(&app, "qingdao", Role::Officer, "3702", None).await;

        // Refusals: short statement, unknown category; nothing written.
        let (s, v) = post(
            &app,
            Some(&firm),
            "/api/v1/portal/showcase",
            json!({"category": "mall", "address": "济南市历下区泉城路1号", "statement": "很好"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "statement");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("statement: 申报材料"),
            "{v}"
        );
        let (s, v) = post(
            &app,
            Some(&firm),
            "/api/v1/portal/showcase",
            json!({"category": "bank", "address": "济南市历下区泉城路1号", "statement": STATEMENT}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], "category");
        assert_eq!(count(&app, "showcase_units").await, 0);

        // The application; a second one while it is in progress is refused.
        let (s, u) = post(
            &app,
            Some(&firm),
            "/api/v1/portal/showcase",
            json!({"category": "mall", "address": "济南市历下区泉城路1号", "statement": STATEMENT}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        let id = u["id"].as_i64().unwrap();
        assert_eq!(u["state"], "applied");
        let (s, _) = post(
            &app,
            Some(&firm),
            "/api/v1/portal/showcase",
            json!({"category": "mall", "address": "济南市历下区泉城路1号", "statement": STATEMENT}),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT);
        // Under review it is not public.
        let (s, _) = get(&app, None, &format!("/api/v1/showcase/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = page(&app, None, &format!("/showcase/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // Another city's officer cannot see or decide it; an award before the notice is
        // refused.
        let (s, _) = post(
            &app,
            Some(&elsewhere),
            &format!("/api/v1/office/showcase/{id}/decide"),
            json!({"action": "approve"}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = get(
            &app,
            Some(&elsewhere),
            &format!("/api/v1/office/showcase/{id}"),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}/decide"),
            json!({"action": "award"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("该单位当前状态为“待审核”"),
            "{v}"
        );
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}/decide"),
            json!({"action": "promote"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

        // Approved: on notice for 7 days, public, with the objection form.
        let (s, u) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}/decide"),
            json!({"action": "approve"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        assert_eq!(u["state"], "notice");
        assert_eq!(u["notice_from"], "2026-09-28");
        assert_eq!(u["notice_until"], "2026-10-04");
        let (_, l) = get(&app, None, "/api/v1/showcase?state=notice").await;
        assert_eq!(l["items"][0]["id"], id, "{l}");
        let (_, l) = get(&app, None, "/api/v1/showcase").await;
        assert_eq!(
            l["items"].as_array().unwrap().len(),
            0,
            "only awarded units by default: {l}"
        );
        let (s, v) = post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}/decide"),
            json!({"action": "award"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("公示期至 2026-10-04 结束"),
            "{v}"
        );

        // Objections: anyone, with a reason; a short one is refused.
        let (s, v) = post(
            &app,
            None,
            &format!("/api/v1/showcase/{id}/objections"),
            json!({"reason": "不好"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(count(&app, "showcase_objections").await, 0);
        let (s, v) = post(&app, None, &format!("/api/v1/showcase/{id}/objections"), json!({"reason": "该商场八月曾拒绝为我退换有质量问题的皮鞋，投诉后才处理。", "contact": "13912345678"})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let first = v["objection"].as_i64().unwrap();
        // The page's form, with the visitor's CSRF cookie.
        let visitor = client();
        let html = visitor
            .get(app.url(&format!("/showcase/{id}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("objection-form"), "{html}");
        let token = support::csrf_of(&html);
        let resp = visitor
            .post(app.url(&format!("/showcase/{id}/objections")))
            .form(&[
                ("csrf", token.as_str()),
                ("reason", "商场停车场收费未公示，与示范单位要求不符。"),
                ("contact", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.text().await.unwrap().contains("objection-filed"));
        let resp = client()
            .post(app.url(&format!("/showcase/{id}/objections")))
            .form(&[
                ("csrf", "forged"),
                ("reason", "没有令牌的异议，不应被接受。"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(count(&app, "showcase_objections").await, 2);
        // The public sees counts, never the objector's contact.
        let (_, pu) = get(&app, None, &format!("/api/v1/showcase/{id}")).await;
        assert_eq!(pu["objections"]["open"], 2, "{pu}");
        assert!(!pu.to_string().contains("13912345678"));
        // Officers see the contact.
        let (_, d) = get(
            &app,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}"),
        )
        .await;
        assert_eq!(d["objections"][0]["contact"], "13912345678", "{d}");
        let second_objection = d["objections"][1]["id"].as_i64().unwrap();

        // After the notice (a server on 10-05): no award while objections are open; no
        // objection after the notice; resolve both; award with a number.
        let later = Later::start(&app, "2026-10-05").await;
        let (s, v) = post(
            &later,
            None,
            &format!("/api/v1/showcase/{id}/objections"),
            json!({"reason": "公示期过后才提出的异议，应被拒绝。"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, v) = post(
            &later,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}/decide"),
            json!({"action": "award"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("还有 2 件异议未处理"),
            "{v}"
        );
        let (s, _) = post(
            &later,
            Some(&elsewhere),
            &format!("/api/v1/office/showcase/{id}/objections/{first}"),
            json!({"decision": "dismissed", "resolution": "已核实"}),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = post(
            &later,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}/objections/{first}"),
            json!({"decision": "maybe", "resolution": "已核实"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        for oid in [first, second_objection] {
            let (s, v) = post(
                &later,
                Some(&officer),
                &format!("/api/v1/office/showcase/{id}/objections/{oid}"),
                json!({"decision": "dismissed", "resolution": "经核实已妥善处理，不影响命名"}),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let (s, _) = post(
            &later,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}/objections/{first}"),
            json!({"decision": "upheld", "resolution": "再次处理"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, u) = post(
            &later,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}/decide"),
            json!({"action": "award"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        assert_eq!(u["state"], "awarded");
        assert_eq!(u["award_no"], "FXXF-2026-0001");
        assert_eq!(u["awarded_on"], "2026-10-05");
        assert_eq!(u["recheck_due"], "2027-10-05");
        let (_, l) = get(
            &later,
            None,
            "/api/v1/showcase?name=%E6%B3%89%E5%9F%8E&area=3701",
        )
        .await;
        assert_eq!(l["items"][0]["award_no"], "FXXF-2026-0001", "{l}");
        let (s, html) = page(&later, None, "/showcase").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("济南泉城百货商场有限公司") && html.contains("FXXF-2026-0001"),
            "{html}"
        );

        // The second business: approved, an objection upheld, so no award: rejected.
        let (s, u2) = post(&app, Some(&firm2), "/api/v1/portal/showcase", json!({"category": "catering", "address": "济南市历下区明湖路2号", "statement": STATEMENT})).await;
        assert_eq!(s, StatusCode::CREATED, "{u2}");
        let id2 = u2["id"].as_i64().unwrap();
        post(
            &app,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id2}/decide"),
            json!({"action": "approve"}),
        )
        .await;
        let (_, v) = post(
            &app,
            None,
            &format!("/api/v1/showcase/{id2}/objections"),
            json!({"reason": "后厨卫生状况差，曾被责令整改，不宜命名。"}),
        )
        .await;
        let oid = v["objection"].as_i64().unwrap();
        let (s, _) = post(
            &later,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id2}/objections/{oid}"),
            json!({"decision": "upheld", "resolution": "经查属实"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = post(
            &later,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id2}/decide"),
            json!({"action": "award"}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (s, v) = post(
            &later,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id2}/decide"),
            json!({"action": "reject", "reason": "异议成立"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["state"], "rejected");
        later.stop().await;

        // A year on: the re-check passes and moves the next one a year further.
        let year_on = Later::start(&app, "2027-10-08").await;
        let (_, l) = get(
            &year_on,
            Some(&officer),
            "/api/v1/office/showcase?state=awarded",
        )
        .await;
        assert_eq!(l["items"][0]["recheck_overdue"], true, "{l}");
        let (s, v) = post(
            &year_on,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}/decide"),
            json!({"action": "recheck", "result": "sometimes", "reason": "复核"}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        let (s, u) = post(
            &year_on,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}/decide"),
            json!({"action": "recheck", "result": "pass", "reason": "年度复核合格"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        assert_eq!(u["recheck_due"], "2028-10-08");
        assert_eq!(u["last_recheck"], "2027-10-08");

        // Removal on serious complaints: it must name complaint matters the officer sees,
        // about this business.
        let number = complaint_about(
            &app,
            &shop,
            "商场内专柜销售假冒品牌皮包，拒绝退货并辱骂消费者，情节严重。",
        )
        .await;
        let other_number = complaint_about(
            &app,
            &second,
            "餐厅菜品中发现异物，经营者拒绝赔偿，情节严重。",
        )
        .await;
        for (body, field) in [
            (
                json!({"action": "remove", "reason": "严重投诉", "complaints": ""}),
                "complaints",
            ),
            (
                json!({"action": "remove", "reason": "严重投诉", "complaints": "TS-2026-999999-A"}),
                "complaints",
            ),
            (
                json!({"action": "remove", "reason": "严重投诉", "complaints": other_number}),
                "complaints",
            ),
        ] {
            let (s, v) = post(
                &year_on,
                Some(&officer),
                &format!("/api/v1/office/showcase/{id}/decide"),
                body,
            )
            .await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
            assert_eq!(v["field"], field, "{v}");
        }
        let (_, d) = get(
            &year_on,
            Some(&officer),
            &format!("/api/v1/office/showcase/{id}"),
        )
        .await;
        assert_eq!(d["u"]["state"], "awarded");
        let (s, u) = post(&year_on, Some(&officer), &format!("/api/v1/office/showcase/{id}/decide"), json!({"action": "remove", "reason": "销售假冒商品并辱骂消费者，严重投诉", "complaints": number})).await;
        assert_eq!(s, StatusCode::OK, "{u}");
        assert_eq!(u["state"], "removed");
        assert_eq!(u["removal_complaints"], number.as_str());
        assert_eq!(u["ended_on"], "2027-10-08");
        let (_, pu) = get(&year_on, None, &format!("/api/v1/showcase/{id}")).await;
        assert_eq!(pu["state"], "removed");
        let (_, l) = get(&year_on, None, "/api/v1/showcase").await;
        assert_eq!(l["items"].as_array().unwrap().len(), 0, "{l}");
        let (s, html) = page(&year_on, Some(&officer), &format!("/office/showcase/{id}")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains(&number), "{html}");
        let history: Vec<String> = d["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["action"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            history,
            [
                "applied",
                "notice_started",
                "objection_filed",
                "objection_filed",
                "objection_resolved",
                "objection_resolved",
                "awarded",
                "rechecked"
            ]
        );
        year_on.stop().await;

        // Public events: the notice, the award, the re-check, the removal; nothing personal.
        let stream: String = public_stream(&app).await;
        for kind in [
            "consumer.showcase.notice_started",
            "consumer.showcase.awarded",
            "consumer.showcase.rechecked",
            "consumer.showcase.removed",
        ] {
            assert!(stream.contains(kind), "{kind} missing");
        }
        assert!(!stream.contains("consumer.showcase.objection_filed"));
        assert!(!stream.contains("13912345678"));
        app.stop().await;
    }
}
