//! `POST /api/v1/addresses/parse` through the whole server.

mod support;

use support::{TestApp, backends, client};

#[tokio::test]
async fn parses_a_batch_without_login_and_limits_its_size() {
    // The route touches no database; one backend is enough.
    let b = backends()[0];
    let app = TestApp::spawn(b).await;
    let http = client();
    let url = app.url("/api/v1/addresses/parse");

    let r = http
        .post(&url)
        .json(&serde_json::json!({
            "addresses": ["历下区泉城路180号齐鲁国际大厦10楼", "", "朝阳区建国路88号"],
            "hint": "22",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["county_code"], "370102");
    assert_eq!(items[0]["road"], "泉城路");
    assert_eq!(items[0]["floor"], "10");
    assert!(items[1]["county"].is_null());
    assert_eq!(items[2]["county_code"], "220104", "chosen by the hint");
    assert_eq!(items[2]["ambiguities"][0]["basis"], "hint");

    let too_many = vec!["济南市"; amr_address::web::MAX_BATCH + 1];
    let r = http
        .post(&url)
        .json(&serde_json::json!({ "addresses": too_many }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "bad_request");
    assert_eq!(v["field"], "addresses");
    assert!(v["message"].as_str().unwrap().contains("一次最多解析"));

    let r = http
        .post(&url)
        .json(&serde_json::json!({ "addresses": ["济南"], "hint": "abc" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["field"], "hint");

    let r = http
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"addresses\": 5}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.stop().await;
}
