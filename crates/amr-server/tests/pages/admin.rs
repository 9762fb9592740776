//! The administrator's pages and jurisdictions: an administrator sees and changes only the
//! accounts of its own jurisdiction; other roles are refused.

use super::*;

#[tokio::test]
async fn an_admin_manages_only_its_own_jurisdiction() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("admin.lixia", Role::Admin, "370102", PASSWORD)
            .await;
        app.add_account("admin.shizhong", Role::Admin, "370103", PASSWORD)
            .await;
        let own = app
            .add_account("officer.lixia", Role::Officer, "370102", PASSWORD)
            .await;
        let other = app
            .add_account("officer.shizhong", Role::Officer, "370103", PASSWORD)
            .await;
        let c = logged_in(&app, "admin.lixia").await;
        let csrf = session_csrf(&app, &c).await;

        let (status, list) = get(&app, &c, "/admin/accounts").await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains("officer.lixia"));
        assert!(!list.contains("officer.shizhong"));

        let (status, body) = get(&app, &c, &format!("/admin/accounts/{own}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("officer.lixia"));
        let (status, body) = get(&app, &c, &format!("/admin/accounts/{other}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!body.contains("officer.shizhong"));

        let resp = post(
            &app,
            &c,
            &format!("/admin/accounts/{other}/active"),
            &[("csrf", &csrf), ("active", "0")],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let resp = post(
            &app,
            &c,
            &format!("/admin/accounts/{other}/password"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert!(
            is_active(&app, other).await,
            "the other county's officer stays active"
        );
        assert_eq!(
            login(&app, &client(), "officer.shizhong", PASSWORD)
                .await
                .status(),
            StatusCode::SEE_OTHER,
            "and keeps its password"
        );

        let resp = post(
            &app,
            &c,
            &format!("/admin/accounts/{own}/active"),
            &[("csrf", &csrf), ("active", "0")],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert!(!is_active(&app, own).await);
        let resp = post(
            &app,
            &c,
            &format!("/admin/accounts/{own}/active"),
            &[("csrf", &csrf), ("active", "1")],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert!(is_active(&app, own).await);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_admin_cannot_create_an_account_outside_its_jurisdiction() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("admin.lixia", Role::Admin, "370102", PASSWORD)
            .await;
        let c = logged_in(&app, "admin.lixia").await;
        let csrf = session_csrf(&app, &c).await;
        let before = store::list_accounts(&app.db, &Scope::all())
            .await
            .unwrap()
            .len();
        let audits = audit_count(&app).await;
        for jurisdiction in ["370103", "3701", "*", "999999"] {
            let resp = post(
                &app,
                &c,
                "/admin/accounts",
                &[
                    ("csrf", &csrf),
                    ("username", "outsider"),
                    ("display_name", "外区人员"),
                    ("role", "officer"),
                    ("department", "登记注册科"),
                    ("jurisdiction", jurisdiction),
                ],
            )
            .await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{jurisdiction}");
            let body = resp.text().await.unwrap();
            assert!(body.contains("外区人员"), "the entered values are kept");
            assert!(body.contains("class=\"error\""), "the field error is shown");
        }
        assert_eq!(
            store::list_accounts(&app.db, &Scope::all())
                .await
                .unwrap()
                .len(),
            before
        );
        assert_eq!(audit_count(&app).await, audits);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_officer_gets_403_on_the_admin_pages() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("li.officer", Role::Officer, "370102", PASSWORD)
            .await;
        let c = logged_in(&app, "li.officer").await;
        let csrf = session_csrf(&app, &c).await;
        for path in [
            "/admin/accounts",
            "/admin/audit",
            "/admin/keys",
            "/admin/accounts/1",
        ] {
            let (status, body) = get(&app, &c, path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert!(body.contains("无权访问"), "{path}");
        }
        let before = store::list_accounts(&app.db, &Scope::all())
            .await
            .unwrap()
            .len();
        let resp = post(
            &app,
            &c,
            "/admin/accounts",
            &[
                ("csrf", &csrf),
                ("username", "sneaky"),
                ("display_name", "x"),
                ("role", "admin"),
                ("jurisdiction", "370102"),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            store::list_accounts(&app.db, &Scope::all())
                .await
                .unwrap()
                .len(),
            before
        );
        // A visitor is sent to log in instead.
        let resp = client()
            .get(app.url("/admin/accounts"))
            .send()
            .await
            .unwrap();
        assert_eq!(location(&resp), "/login?next=/admin/accounts");
        app.stop().await;
    }
}
