//! The JSON API on a real port, on every backend: health, the public change stream, and the
//! jurisdiction matrix for the event log.

mod support;

use std::time::Duration;

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Role, Scope, store};
use amr_kernel::db::Db;
use amr_kernel::events::{self, NewEvent};
use support::{TestApp, backends};

async fn append(db: &Db, e: NewEvent) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let tp = events::append(&mut tx, e).await.unwrap();
    tx.commit().await.unwrap();
    tp
}

/// A session cookie for an account, made directly in the store.
async fn session_cookie(app: &TestApp, username: &str) -> String {
    let (account, _) = store::find_for_login(&app.db, username)
        .await
        .unwrap()
        .unwrap();
    let (token, _) = store::create_session(&app.db, &account, chrono::Duration::hours(1), None)
        .await
        .unwrap();
    format!("amr_session={token}")
}

#[tokio::test]
async fn healthz_answers_when_ready() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let r = reqwest::get(app.url("/healthz")).await.unwrap();
        assert_eq!(r.status(), 200, "{b:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn stream_sends_public_events_only_and_resumes_from_any_timepoint() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let t1 = append(
            &app.db,
            NewEvent::public("test.opened", serde_json::json!({"name": "历下区某商店"}))
                .division("370102")
                .actor("account:1"),
        )
        .await;
        append(
            &app.db,
            NewEvent::internal("test.secret", serde_json::json!({"phone": "13912345678"}))
                .division("370102"),
        )
        .await;
        let t3 = append(
            &app.db,
            NewEvent::public("test.closed", serde_json::json!({"n": 2})).division("370103"),
        )
        .await;
        let body = reqwest::get(app.url("/api/v1/stream?timepoint=0&follow=false"))
            .await
            .unwrap();
        assert_eq!(body.status(), 200);
        assert!(
            body.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/x-ndjson")
        );
        let text = body.text().await.unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{b:?}: {text}");
        assert_eq!(lines[0]["timepoint"], t1);
        assert_eq!(lines[0]["kind"], "test.opened");
        assert_eq!(lines[0]["payload"]["name"], "历下区某商店");
        assert_eq!(lines[1]["timepoint"], t3);
        assert!(!text.contains("13912345678"));
        assert!(!text.contains("actor"), "the public view has no actor");
        // Resume after t1.
        let text = reqwest::get(app.url(&format!("/api/v1/stream?timepoint={t1}&follow=false")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.contains("test.closed"));
        // Bad input is a clear 400 naming the field.
        for bad in ["-1", "abc", "1.5"] {
            let r = reqwest::get(app.url(&format!("/api/v1/stream?timepoint={bad}")))
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{bad}");
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["field"], "timepoint");
            assert!(v["message"].as_str().unwrap().contains("timepoint"));
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn stream_stays_open_and_delivers_new_events() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let t1 = append(
            &app.db,
            NewEvent::public("test.first", serde_json::json!({})).division("370102"),
        )
        .await;
        let mut resp = reqwest::get(app.url("/api/v1/stream?timepoint=0"))
            .await
            .unwrap();
        let mut seen = String::new();
        let read_until = async |resp: &mut reqwest::Response, seen: &mut String, needle: &str| {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            while !seen.contains(needle) {
                let chunk = tokio::time::timeout_at(deadline, resp.chunk())
                    .await
                    .expect("stream delivered in time")
                    .unwrap()
                    .expect("stream still open");
                seen.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        };
        read_until(&mut resp, &mut seen, "test.first").await;
        let t2 = append(
            &app.db,
            NewEvent::public("test.later", serde_json::json!({"k": "v"})).division("370102"),
        )
        .await;
        read_until(&mut resp, &mut seen, "test.later").await;
        let tps: Vec<i64> = seen
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["timepoint"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(tps, vec![t1, t2], "{b:?}");
        drop(resp);
        app.stop().await;
    }
}

#[tokio::test]
async fn officers_see_only_their_jurisdiction_and_others_are_not_found() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        app.add_account("lixia", Role::Officer, "370102", "Lixia-pass-1")
            .await;
        app.add_account("shizhong", Role::Officer, "370103", "Shizhong-pass-1")
            .await;
        app.add_account("jinan-admin", Role::Admin, "3701", "Jinan-admin-1")
            .await;
        let in_lixia = append(
            &app.db,
            NewEvent::internal("test.case", serde_json::json!({"n": 1})).division("370102001"),
        )
        .await;
        let in_shizhong = append(
            &app.db,
            NewEvent::internal("test.case", serde_json::json!({"n": 2})).division("370103"),
        )
        .await;
        let c = reqwest::Client::new();
        let get = async |cookie: &str, path: &str| {
            c.get(app.url(path))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        };
        let lixia = session_cookie(&app, "lixia").await;
        let shizhong = session_cookie(&app, "shizhong").await;
        let city = session_cookie(&app, "jinan-admin").await;

        let kinds_in = async |cookie: &str| -> Vec<i64> {
            let v: serde_json::Value = get(cookie, "/api/v1/events").await.json().await.unwrap();
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["timepoint"].as_i64().unwrap())
                .filter(|tp| *tp == in_lixia || *tp == in_shizhong)
                .collect()
        };
        assert_eq!(kinds_in(&lixia).await, vec![in_lixia], "{b:?}");
        assert_eq!(kinds_in(&shizhong).await, vec![in_shizhong], "{b:?}");
        assert_eq!(kinds_in(&city).await, vec![in_shizhong, in_lixia], "{b:?}");

        assert_eq!(
            get(&lixia, &format!("/api/v1/events/{in_lixia}"))
                .await
                .status(),
            200
        );
        // Another county's record: 404, exactly as for one that does not exist.
        let other = get(&lixia, &format!("/api/v1/events/{in_shizhong}")).await;
        assert_eq!(other.status(), 404, "{b:?}");
        let missing = get(&lixia, "/api/v1/events/999999").await;
        assert_eq!(missing.status(), 404);
        assert_eq!(other.text().await.unwrap(), missing.text().await.unwrap());
        assert_eq!(
            get(&city, &format!("/api/v1/events/{in_shizhong}"))
                .await
                .status(),
            200
        );

        // No session: 401. A forged cookie: 401.
        assert_eq!(
            reqwest::get(app.url("/api/v1/events"))
                .await
                .unwrap()
                .status(),
            401
        );
        assert_eq!(
            get("amr_session=00ff", "/api/v1/events").await.status(),
            401
        );

        let me: serde_json::Value = get(&lixia, "/api/v1/me").await.json().await.unwrap();
        assert_eq!(me["jurisdiction"], "370102");
        assert_eq!(me["role"], "officer");
        app.stop().await;
    }
}

#[tokio::test]
async fn api_keys_identify_agencies_and_roles_limit_what_they_do() {
    for b in backends() {
        let app = TestApp::spawn(b).await;
        let mut tx = app.db.begin().await.unwrap();
        let (_, secret) = store::create_api_key(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            "山东省税务局",
            "37",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let c = reqwest::Client::new();
        let me: serde_json::Value = c
            .get(app.url("/api/v1/me"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["agency"], "山东省税务局");
        assert_eq!(me["jurisdiction"], "37");
        // Keys hold no officer permissions: the internal event log is refused.
        let r = c
            .get(app.url("/api/v1/events"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let r = c
            .get(app.url("/api/v1/me"))
            .bearer_auth("amr_wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        // Enterprise users may not read the internal event log either.
        app.add_account("shop-owner", Role::Enterprise, "", "Shop-owner-1")
            .await;
        let cookie = session_cookie(&app, "shop-owner").await;
        let r = c
            .get(app.url("/api/v1/events"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"], "forbidden");
        app.stop().await;
    }
}
