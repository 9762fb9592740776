//! What the administrator's changes leave behind: one audit row per change and none for
//! refusals, escaped pages, secrets (passwords, API keys) shown once.

use super::*;

#[tokio::test]
async fn each_change_writes_one_audit_row_and_refusals_none() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("admin.lixia", Role::Admin, "370102", PASSWORD)
            .await;
        let other = app
            .add_account("officer.shizhong", Role::Officer, "370103", PASSWORD)
            .await;
        let c = logged_in(&app, "admin.lixia").await;
        let csrf = session_csrf(&app, &c).await;
        let start = audit_count(&app).await;

        let resp = post(
            &app,
            &c,
            "/admin/accounts",
            &[
                ("csrf", &csrf),
                ("username", "zhang.officer"),
                ("display_name", "张三"),
                ("role", "officer"),
                ("department", "登记注册科"),
                ("jurisdiction", "370102001"),
                ("password", "Another-Horse-7"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let id: i64 = location(&resp).rsplit('/').next().unwrap().parse().unwrap();
        post(
            &app,
            &c,
            &format!("/admin/accounts/{id}/active"),
            &[("csrf", &csrf), ("active", "0")],
        )
        .await;
        post(
            &app,
            &c,
            &format!("/admin/accounts/{id}/password"),
            &[("csrf", &csrf)],
        )
        .await;
        let entries = audit::list(&app.db, &Scope::all(), None, 100)
            .await
            .unwrap();
        assert_eq!(entries.len(), start + 3);
        let actions: Vec<_> = entries[..3].iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["account.password", "account.deactivate", "account.create"]
        );
        for e in &entries[..3] {
            assert_eq!(e.actor_name, "admin.lixia");
            assert_eq!(e.target_id, id.to_string());
            assert!(e.after_state.is_some());
        }
        assert!(
            entries[1]
                .before_state
                .as_deref()
                .unwrap()
                .contains("\"active\":true")
        );
        assert!(
            entries[1]
                .after_state
                .as_deref()
                .unwrap()
                .contains("\"active\":false")
        );

        // Refusals: wrong token, another county's account, a duplicate, bad input.
        post(
            &app,
            &c,
            &format!("/admin/accounts/{id}/active"),
            &[("csrf", "x"), ("active", "1")],
        )
        .await;
        post(
            &app,
            &c,
            &format!("/admin/accounts/{other}/active"),
            &[("csrf", &csrf), ("active", "0")],
        )
        .await;
        let dup = post(
            &app,
            &c,
            "/admin/accounts",
            &[
                ("csrf", &csrf),
                ("username", "zhang.officer"),
                ("display_name", "张三"),
                ("role", "officer"),
                ("department", "登记注册科"),
                ("jurisdiction", "370102"),
            ],
        )
        .await;
        assert_eq!(dup.status(), StatusCode::BAD_REQUEST);
        assert_eq!(audit_count(&app).await, start + 3);

        let (status, page) = get(&app, &c, "/admin/audit").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("account.deactivate"));
        assert!(
            page.contains("&quot;active&quot;: false"),
            "before/after shown as escaped JSON"
        );
        assert!(
            !page.contains("officer.shizhong"),
            "other counties' entries are not shown"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn templates_escape_hostile_input() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("admin.lixia", Role::Admin, "370102", PASSWORD)
            .await;
        let c = logged_in(&app, "admin.lixia").await;
        let csrf = session_csrf(&app, &c).await;
        let hostile = "<script>alert(1)</script>";
        let resp = post(
            &app,
            &c,
            "/admin/accounts",
            &[
                ("csrf", &csrf),
                ("username", "hostile.name"),
                ("display_name", hostile),
                ("role", "officer"),
                ("department", "\"><img src=x onerror=alert(2)>"),
                ("jurisdiction", "370102"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let detail = location(&resp);
        for path in [detail.as_str(), "/admin/accounts", "/admin/audit"] {
            let (status, body) = get(&app, &c, path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(
                body.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
                "{path}: {body}"
            );
            assert!(!body.contains("<script"), "{path}");
            assert!(!body.contains("<img"), "{path}");
        }
        // Re-rendered form values are escaped too.
        let resp = post(
            &app,
            &c,
            "/admin/accounts",
            &[
                ("csrf", &csrf),
                ("username", hostile),
                ("display_name", hostile),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(!resp.text().await.unwrap().contains("<script"));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_generated_password_is_shown_once_and_works() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("admin.lixia", Role::Admin, "370102", PASSWORD)
            .await;
        let c = logged_in(&app, "admin.lixia").await;
        let csrf = session_csrf(&app, &c).await;
        let resp = post(
            &app,
            &c,
            "/admin/accounts",
            &[
                ("csrf", &csrf),
                ("username", "new.officer"),
                ("display_name", "新同事"),
                ("role", "officer"),
                ("department", "登记注册科"),
                ("jurisdiction", "370102"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let detail = location(&resp);
        assert!(!detail.contains('?'), "nothing secret in the URL");
        let flash = set_cookie(&resp, "amr_flash").expect("flash cookie");
        assert!(
            flash.contains("HttpOnly") && flash.contains("Path=/admin"),
            "{flash}"
        );
        let body = get(&app, &c, &detail).await.1;
        let marker = "class=\"secret-value\">";
        let start = body.find(marker).expect("password shown") + marker.len();
        let password = body[start..].split('<').next().unwrap().to_string();
        assert_eq!(password.len(), 16);
        assert!(
            !get(&app, &c, &detail).await.1.contains(marker),
            "shown once only"
        );
        assert_eq!(
            login(&app, &client(), "new.officer", &password)
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn api_keys_are_issued_once_and_revoked() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("admin.lixia", Role::Admin, "370102", PASSWORD)
            .await;
        let c = logged_in(&app, "admin.lixia").await;
        let csrf = session_csrf(&app, &c).await;
        let resp = post(
            &app,
            &c,
            "/admin/keys",
            &[
                ("csrf", &csrf),
                ("agency", "历下区税务局"),
                ("jurisdiction", "370103"),
            ],
        )
        .await;
        assert_eq!(
            resp.status(),
            StatusCode::BAD_REQUEST,
            "outside the jurisdiction"
        );
        let resp = post(
            &app,
            &c,
            "/admin/keys",
            &[
                ("csrf", &csrf),
                ("agency", "历下区税务局"),
                ("jurisdiction", "370102"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        let body = get(&app, &c, "/admin/keys").await.1;
        let start = body.find("amr_").expect("secret shown");
        let secret: String = body[start..].chars().take(68).collect();
        assert!(
            !get(&app, &c, "/admin/keys").await.1.contains(&secret),
            "shown once only"
        );
        let me = |s: String| {
            let url = app.url("/api/v1/me");
            async move {
                reqwest::Client::new()
                    .get(url)
                    .bearer_auth(s)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        assert_eq!(me(secret.clone()).await, StatusCode::OK);
        let keys = store::list_api_keys(&app.db, &Scope::all()).await.unwrap();
        let resp = post(
            &app,
            &c,
            &format!("/admin/keys/{}/revoke", keys[0].id),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(me(secret).await, StatusCode::UNAUTHORIZED);
        app.stop().await;
    }
}
