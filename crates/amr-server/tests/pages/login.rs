//! Logging in and out: the generic failure, throttling, sessions, CSRF, `next`.

use super::*;

#[tokio::test]
async fn login_with_a_wrong_password_fails_with_the_generic_message() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("wang.officer", Role::Officer, "370102", PASSWORD)
            .await;
        let c = client();
        for (user, pass) in [("wang.officer", "Wrong-Horse-9"), ("nobody.here", PASSWORD)] {
            let resp = login(&app, &c, user, pass).await;
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
            assert!(set_cookie(&resp, "amr_session").is_none());
            let body = resp.text().await.unwrap();
            assert!(body.contains("用户名或密码错误"), "{body}");
        }
        let (status, _) = get(&app, &c, "/office").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_inactive_account_fails_like_a_wrong_password() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let id = app
            .add_account("zhao.officer", Role::Officer, "370102", PASSWORD)
            .await;
        let mut tx = app.db.begin().await.unwrap();
        store::set_active(&mut tx, &audit::Actor::system(), &Scope::all(), id, false)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let resp = login(&app, &client(), "zhao.officer", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.text().await.unwrap().contains("用户名或密码错误"));
        app.stop().await;
    }
}

#[tokio::test]
async fn login_opens_the_office_with_the_username_and_jurisdiction() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("li.officer", Role::Officer, "370102", PASSWORD)
            .await;
        let c = client();
        let resp = login(&app, &c, "li.officer", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&resp), "/office");
        let cookie = set_cookie(&resp, "amr_session").expect("session cookie");
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=28800"] {
            assert!(cookie.contains(attr), "{cookie}");
        }
        assert!(
            set_cookie(&resp, "amr_csrf").is_some(),
            "the pre-login CSRF cookie is rotated"
        );
        let (status, body) = get(&app, &c, "/office").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("li.officer"));
        assert!(body.contains("山东省济南市历下区"), "{body}");
        assert!(body.contains("370102"));
        assert!(
            body.contains("查看本辖区的变更事件"),
            "the role's permissions in words"
        );
        assert!(
            body.contains("kernel.account.created"),
            "the jurisdiction's events are listed"
        );
        assert!(
            !body.contains("/admin/accounts"),
            "no admin links for an officer"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn login_goes_to_a_local_next_only() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("li.officer", Role::Officer, "370102", PASSWORD)
            .await;
        for (next, expected) in [
            ("/office?before=5", "/office?before=5"),
            ("//evil.example/x", "/office"),
        ] {
            let c = client();
            let page = get(&app, &c, "/login").await.1;
            let resp = post(
                &app,
                &c,
                "/login",
                &[
                    ("csrf", &csrf_of(&page)),
                    ("username", "li.officer"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
            assert_eq!(location(&resp), expected);
        }
        let resp = client().get(app.url("/office")).send().await.unwrap();
        assert_eq!(location(&resp), "/login?next=/office");
        app.stop().await;
    }
}

#[tokio::test]
async fn logout_ends_the_session() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("li.officer", Role::Officer, "370102", PASSWORD)
            .await;
        let c = client();
        let resp = login(&app, &c, "li.officer", PASSWORD).await;
        let cookie = set_cookie(&resp, "amr_session").unwrap();
        let token = cookie.split(';').next().unwrap().to_string();
        let csrf = session_csrf(&app, &c).await;
        let resp = post(&app, &c, "/logout", &[("csrf", &csrf)]).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&resp), "/");
        assert!(
            set_cookie(&resp, "amr_session")
                .unwrap()
                .contains("Max-Age=0")
        );
        // The old cookie, replayed by hand, no longer opens the office.
        let replay = client()
            .get(app.url("/office"))
            .header("cookie", token)
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), StatusCode::SEE_OTHER);
        assert!(location(&replay).starts_with("/login"));
        app.stop().await;
    }
}

#[tokio::test]
async fn posts_without_or_with_a_wrong_csrf_token_are_refused() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("admin.lixia", Role::Admin, "370102", PASSWORD)
            .await;
        // The login form: no token, a wrong token, a token without its cookie.
        let c = client();
        let page = get(&app, &c, "/login").await.1;
        let good = csrf_of(&page);
        for token in ["", "0000"] {
            let resp = post(
                &app,
                &c,
                "/login",
                &[
                    ("csrf", token),
                    ("username", "admin.lixia"),
                    ("password", PASSWORD),
                ],
            )
            .await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN);
            assert!(set_cookie(&resp, "amr_session").is_none());
            assert!(resp.text().await.unwrap().contains("CSRF"));
        }
        let stranger = client();
        let resp = post(
            &app,
            &stranger,
            "/login",
            &[
                ("csrf", &good),
                ("username", "admin.lixia"),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        // Logged-in forms.
        let c = logged_in(&app, "admin.lixia").await;
        let accounts = store::list_accounts(&app.db, &Scope::all())
            .await
            .unwrap()
            .len();
        let audits = audit_count(&app).await;
        let form = |csrf: &'static str| {
            vec![
                ("csrf", csrf),
                ("username", "new.officer"),
                ("display_name", "新同事"),
                ("role", "officer"),
                ("department", "登记注册科"),
                ("jurisdiction", "370102"),
            ]
        };
        for token in ["", "not-the-session-token"] {
            let resp = post(&app, &c, "/admin/accounts", &form(token)).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        }
        let resp = c
            .post(app.url("/admin/accounts"))
            .form(&form("x")[1..])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "no csrf field at all");
        let resp = post(&app, &c, "/logout", &[("csrf", "wrong")]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            store::list_accounts(&app.db, &Scope::all())
                .await
                .unwrap()
                .len(),
            accounts
        );
        assert_eq!(audit_count(&app).await, audits);
        assert_eq!(
            get(&app, &c, "/office").await.0,
            StatusCode::OK,
            "still logged in"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn five_wrong_passwords_make_the_sixth_attempt_429() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.add_account("li.officer", Role::Officer, "370102", PASSWORD)
            .await;
        let c = client();
        for _ in 0..5 {
            let resp = login(&app, &c, "li.officer", "Wrong-Horse-9").await;
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        }
        let resp = login(&app, &c, "li.officer", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(set_cookie(&resp, "amr_session").is_none());
        let body = resp.text().await.unwrap();
        assert!(body.contains("登录失败次数过多"), "{body}");
        assert!(body.contains("too many failed logins"), "{body}");
        app.stop().await;
    }
}
