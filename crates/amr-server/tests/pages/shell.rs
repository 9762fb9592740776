//! The shell around every page: languages, static assets, security headers, 404s.

use super::*;

#[tokio::test]
async fn the_english_switch_shows_english() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let c = client();
        let (_, zh) = get(&app, &c, "/login").await;
        assert!(zh.contains("<html lang=\"zh-CN\">") && zh.contains("用户名"));
        let resp = c
            .get(app.url("/lang/en?back=%2Flogin"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&resp), "/login");
        let cookie = set_cookie(&resp, "amr_lang").unwrap();
        assert!(
            cookie.contains("Max-Age=31536000") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        let (_, en) = get(&app, &c, "/login").await;
        assert!(en.contains("<html lang=\"en\">"));
        assert!(en.contains("Username") && en.contains("Log in"), "{en}");
        assert!(!en.contains("用户名"));
        let (_, missing) = get(&app, &c, "/no/such/page").await;
        assert!(
            missing.contains("Not found"),
            "error pages follow the language"
        );
        for evil in ["//evil.example", "https://evil.example", "/\\evil.example"] {
            let url = app.url(&format!("/lang/zh?back={}", evil.replace('\\', "%5C")));
            let resp = c.get(url).send().await.unwrap();
            assert_eq!(location(&resp), "/", "{evil}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn every_locale_key_exists_in_both_catalogs() {
    let mut sets = vec![("shell", amr_web::i18n::ZH_JSON, amr_web::i18n::EN_JSON)];
    sets.extend(
        amr_server::web_modules()
            .iter()
            .map(|m| (m.name, m.zh, m.en)),
    );
    for (name, zh, en) in sets {
        let zh: serde_json::Map<String, serde_json::Value> = serde_json::from_str(zh).unwrap();
        let en: serde_json::Map<String, serde_json::Value> = serde_json::from_str(en).unwrap();
        let only_zh: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let only_en: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        assert!(only_zh.is_empty(), "{name}: missing in en: {only_zh:?}");
        assert!(only_en.is_empty(), "{name}: missing in zh: {only_en:?}");
        for (k, v) in zh.iter().chain(en.iter()) {
            assert!(
                v.as_str().is_some_and(|s| !s.is_empty()),
                "{name}: {k} is empty or not text"
            );
        }
    }
}

#[test]
fn every_key_the_server_templates_use_is_in_the_catalogs() {
    amr_web::templates::assert_keys_in_catalog(
        amr_server::web::TEMPLATES,
        &amr_server::web_modules(),
    );
}

#[tokio::test]
async fn static_css_is_served_with_its_type_and_cache_header() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let resp = client()
            .get(app.url("/static/amr.css"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
        assert!(
            resp.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age=")
        );
        assert!(resp.text().await.unwrap().contains("body"));
        let resp = client()
            .get(app.url("/static/nope.css"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        app.stop().await;
    }
}

#[tokio::test]
async fn pages_carry_security_headers_and_unknown_paths_get_404_pages() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let c = client();
        let resp = c.get(app.url("/")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers();
        assert_eq!(
            h["content-security-policy"],
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        let home = resp.text().await.unwrap();
        assert!(home.contains("/api/v1/stream?timepoint=0"));
        assert!(home.contains("href=\"/login\""));
        assert!(!home.contains("<script"));
        let (status, body) = get(&app, &c, "/no/such/page").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("页面不存在"));
        let resp = c
            .get(app.url("/api/v1/no-such-thing"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(
            resp.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        app.stop().await;
    }
}
