//! What the consumer-confidence tests (pledges, showcase, compensation) share: the server on
//! a fixed day (Monday 2026-09-28), registered businesses, JSON and form requests, counts,
//! the public stream, a complaint filed through the public API.
#![allow(dead_code)]

use amr_kernel::audit::Actor;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_registry::model::{EntityType, NewEntity, Status};
use amr_registry::store;
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{self, Session, TestApp, client};

pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The server on a fixed day, Monday 2026-09-28.
pub async fn app(b: support::Backend) -> TestApp {
    let config = amr_server::ServerConfig {
        fixed_today: Some(day("2026-09-28")),
        ..amr_server::ServerConfig::default()
    };
    TestApp::spawn_with(b, config).await
}

pub fn entity(name: &str, division: &str) -> NewEntity {
    NewEntity {
        uscc: Uscc::generate(
            RegistrationType::Enterprise,
            &division[..6],
            &mut rand::rng(),
        )
        .unwrap()
        .to_string(),
        name: name.into(),
        entity_type: EntityType::Enterprise,
        legal_rep: "王建国".into(),
        legal_rep_id: Some("11010519491231002X".into()),
        phone: Some("13800000000".into()),
        capital_yuan: Some(1_000_000),
        established: day("2020-05-01"),
        address: "山东省济南市历下区泉城路1号".into(),
        division: division.into(),
        scope: "日用百货销售".into(),
        industry: "5211".into(),
        status: Status::Active,
    }
}

pub async fn register(app: &TestApp, name: &str, division: &str) -> String {
    let e = entity(name, division);
    let mut tx = app.db.begin().await.unwrap();
    store::create(&mut tx, &Actor::system(), &e).await.unwrap();
    tx.commit().await.unwrap();
    e.uscc
}

pub async fn send(
    app: &impl At,
    s: Option<&Session>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
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
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub async fn post(
    app: &impl At,
    s: Option<&Session>,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    send(app, s, reqwest::Method::POST, path, Some(body)).await
}

pub async fn get(app: &impl At, s: Option<&Session>, path: &str) -> (StatusCode, Value) {
    send(app, s, reqwest::Method::GET, path, None).await
}

pub async fn page(app: &impl At, s: Option<&Session>, path: &str) -> (StatusCode, String) {
    let mut r = client().get(app.url(path));
    if let Some(s) = s {
        r = r.header("cookie", &s.cookie);
    }
    let resp = r.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// A form posted with the session's cookie; the status and the `Location` or body.
pub async fn form(
    app: &impl At,
    s: &Session,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut fields: Vec<(&str, &str)> = fields.to_vec();
    fields.push(("csrf", &s.csrf));
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", k, urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let resp = client()
        .post(app.url(path))
        .header("cookie", &s.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    (status, location.unwrap_or(text))
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match &app.db {
        amr_kernel::db::Db::Sqlite(p, _) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(p)
            .await
            .unwrap(),
        amr_kernel::db::Db::Postgres(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

pub async fn public_stream(app: &impl At) -> String {
    reqwest::get(app.url("/api/v1/stream?timepoint=0&follow=false"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Files a complaint about `uscc` through the public API; its number.
pub async fn complaint_about(app: &impl At, uscc: &str, facts: &str) -> String {
    let (s, filed) = post(
        app,
        None,
        "/api/v1/complaints",
        json!({
            "name": "林晓梅", "phone": "139-1234-5678", "uscc": uscc,
            "purchase": "羊毛大衣一件", "purchase_date": "2026-09-20", "amount": "899.00",
            "facts": facts, "claim": "按承诺无理由退货退款",
        }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{filed}");
    filed["number"].as_str().unwrap().to_string()
}

/// Where requests go: the test's server, or a second one on the same database.
pub trait At {
    fn url(&self, path: &str) -> String;
}

impl At for TestApp {
    fn url(&self, path: &str) -> String {
        TestApp::url(self, path)
    }
}

/// A second server on the test's database whose day is `today` (deadlines seen from later).
pub struct Later {
    pub base: String,
    running: Option<amr_server::Running>,
}

impl At for Later {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Later {
    pub async fn start(app: &TestApp, today: &str) -> Later {
        let config = amr_server::ServerConfig {
            fixed_today: Some(day(today)),
            search_dir: app.test_db.dir().join(format!("search-{today}")),
            signing_key_file: app.test_db.dir().join("keys").join("signing.key"),
            ..amr_server::ServerConfig::default()
        };
        let running =
            amr_server::start(amr_server::app_state(app.db.clone(), config), "127.0.0.1:0")
                .await
                .unwrap();
        Later {
            base: format!("http://{}", running.addr),
            running: Some(running),
        }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
    }
}
