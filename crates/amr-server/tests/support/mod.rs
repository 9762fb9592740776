//! Shared test harness: the real server on port 0 over a fresh database per test (see
//! `amr_kernel::testing` for the databases and the PostgreSQL switch).
#![allow(dead_code)]

use amr_kernel::db::Db;
use amr_server::{Running, ServerConfig};

pub use amr_kernel::db::Backend;
pub use amr_kernel::testing::{TestDb, backends};

/// A server running on a fresh database, on 127.0.0.1 and a free port.
pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub test_db: TestDb,
    running: Option<Running>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, ServerConfig::default()).await
    }

    pub async fn spawn_with(backend: Backend, mut config: ServerConfig) -> TestApp {
        let test_db = TestDb::with_sets(backend, &amr_server::migration_sets()).await;
        config.search_dir = test_db.dir().join("search");
        config.signing_key_file = test_db.dir().join("keys").join("signing.key");
        let state = amr_server::app_state(test_db.db.clone(), config);
        let running = amr_server::start(state, "127.0.0.1:0")
            .await
            .expect("start server");
        TestApp {
            base: format!("http://{}", running.addr),
            db: test_db.db.clone(),
            test_db,
            running: Some(running),
        }
    }

    /// A server with the given ports (e.g. a test tax agency) over a fresh database.
    pub async fn spawn_with_ports(
        backend: Backend,
        config: ServerConfig,
        ports: amr_server::Ports,
    ) -> TestApp {
        let test_db = TestDb::with_sets(backend, &amr_server::migration_sets()).await;
        TestApp::start_on(test_db, config, ports).await
    }

    /// A server over a database already prepared (rows written before the workers start).
    pub async fn start_on(
        test_db: TestDb,
        mut config: ServerConfig,
        ports: amr_server::Ports,
    ) -> TestApp {
        config.search_dir = test_db.dir().join("search");
        config.signing_key_file = test_db.dir().join("keys").join("signing.key");
        let state = amr_server::app_state(test_db.db.clone(), config);
        let running = amr_server::start_with(state, "127.0.0.1:0", ports)
            .await
            .expect("start server");
        TestApp {
            base: format!("http://{}", running.addr),
            db: test_db.db.clone(),
            test_db,
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("server stopped cleanly");
        }
    }

    /// Creates an account directly in the store (as the CLI would) and returns its id.
    pub async fn add_account(
        &self,
        username: &str,
        role: amr_kernel::auth::Role,
        jurisdiction: &str,
        password: &str,
    ) -> i64 {
        use amr_kernel::auth::{Scope, password, store};
        let mut tx = self.db.begin().await.unwrap();
        let a = store::create_account(
            &mut tx,
            &amr_kernel::audit::Actor::system(),
            &Scope::all(),
            store::NewAccount {
                username: username.into(),
                display_name: format!("{username} 测试"),
                role,
                department: Some("登记注册科".into()),
                jurisdiction: jurisdiction.into(),
                uscc: None,
                password_hash: password::hash(password).unwrap(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        a.id
    }
}

/// A logged-in session's cookie and CSRF token.
#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// Creates an account (password `Correct-Horse-9`) and a one-hour session for it, directly in
/// the store; `uscc` binds an enterprise account to its entity.
pub async fn account(
    app: &TestApp,
    username: &str,
    role: amr_kernel::auth::Role,
    jurisdiction: &str,
    uscc: Option<&str>,
) -> Session {
    use amr_kernel::audit::Actor;
    use amr_kernel::auth::{Scope, password, store as auth};
    let mut tx = app.db.begin().await.unwrap();
    let a = auth::create_account(
        &mut tx,
        &Actor::system(),
        &Scope::all(),
        auth::NewAccount {
            username: username.into(),
            display_name: username.into(),
            role,
            department: None,
            jurisdiction: jurisdiction.into(),
            uscc: uscc.map(str::to_string),
            password_hash: password::hash("Correct-Horse-9").unwrap(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (token, s) = auth::create_session(&app.db, &a, chrono::Duration::hours(1), None)
        .await
        .unwrap();
    Session {
        cookie: format!("amr_session={token}"),
        csrf: s.csrf_token,
    }
}

/// An HTTP client that keeps cookies and does not follow redirects (tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// A client logged in through the real login form (GET the form, POST it with its token);
/// the login must answer with a redirect.
pub async fn form_login(app: &TestApp, username: &str, password: &str) -> reqwest::Client {
    let c = client();
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resp = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::SEE_OTHER);
    c
}

/// A request with an optional session (its cookie and CSRF header) and an optional JSON body;
/// the answer's status and body as JSON (a body that is not JSON comes back as a string).
pub async fn request(
    app: &TestApp,
    s: Option<&Session>,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut r = client().request(method, app.url(path));
    if let Some(b) = body {
        r = r.json(&b);
    }
    if let Some(s) = s {
        r = r
            .header("cookie", &s.cookie)
            .header("x-csrf-token", &s.csrf);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// [`request`] as a session: `GET` sends no body, `PUT` and anything else (`POST`) send `body`.
pub async fn call(
    app: &TestApp,
    s: &Session,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> (reqwest::StatusCode, serde_json::Value) {
    match method {
        "GET" => request(app, Some(s), reqwest::Method::GET, path, None).await,
        "PUT" => request(app, Some(s), reqwest::Method::PUT, path, Some(body)).await,
        _ => request(app, Some(s), reqwest::Method::POST, path, Some(body)).await,
    }
}

/// [`request`]: a JSON `POST` as a session.
pub async fn post_json(
    app: &TestApp,
    s: &Session,
    path: &str,
    body: serde_json::Value,
) -> (reqwest::StatusCode, serde_json::Value) {
    request(app, Some(s), reqwest::Method::POST, path, Some(body)).await
}
