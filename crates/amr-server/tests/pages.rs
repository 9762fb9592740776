//! The server-rendered pages, driven over HTTP against the real router on each backend:
//! login and its throttling, sessions and logout, CSRF, the jurisdiction rules of the
//! administrator's pages, the audit trail, escaping, languages and static assets.

mod support;

use amr_kernel::audit;
use amr_kernel::auth::{Role, Scope, store};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use support::{TestApp, backends, client};

const PASSWORD: &str = "Correct-Horse-9";

/// The value of the first hidden `csrf` field of a page.
use support::csrf_of;

/// The value a response sets for a cookie, if it sets it.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Opens the login form and posts it; returns the POST's response.
async fn login(
    app: &TestApp,
    c: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    c.post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// A client logged in as `username`.
async fn logged_in(app: &TestApp, username: &str) -> reqwest::Client {
    let c = client();
    let resp = login(app, &c, username, PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login of {username}");
    c
}

async fn get(app: &TestApp, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let resp = c.get(app.url(path)).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// The session CSRF token, read from a page that has the logout form.
async fn session_csrf(app: &TestApp, c: &reqwest::Client) -> String {
    csrf_of(&get(app, c, "/office").await.1)
}

async fn post(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    c.post(app.url(path)).form(form).send().await.unwrap()
}

async fn audit_count(app: &TestApp) -> usize {
    audit::list(&app.db, &Scope::all(), None, 10_000)
        .await
        .unwrap()
        .len()
}

async fn is_active(app: &TestApp, id: i64) -> bool {
    store::get_account(&app.db, &Scope::all(), id)
        .await
        .unwrap()
        .active
}

#[path = "pages/admin.rs"]
mod admin;
#[path = "pages/login.rs"]
mod login;
#[path = "pages/records.rs"]
mod records;
#[path = "pages/shell.rs"]
mod shell;
