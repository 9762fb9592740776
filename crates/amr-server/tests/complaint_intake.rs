//! The complaint intake's group commit, through the real server on each backend: filings that
//! arrive together share a transaction (one savepoint each), and
//!
//! 1. many concurrent filings are all stored, with distinct gapless numbers, one event and
//!    one audit entry each;
//! 2. a filing that fails inside the transaction (after its matter, events and audit entry
//!    were written) gets its own error and leaves nothing, while the others in its batch
//!    commit and the next one takes its number;
//! 3. two duplicates in one batch: the second sees the first inside the transaction and is
//!    refused with its number.
//!
//! To make a batch certain, the test holds the write lock while the filings arrive (SQLite:
//! a transaction of its own on the same file, which takes this process's write gate;
//! PostgreSQL: the event counter's row lock), so they queue behind it.

mod support;

use amr_kernel::audit::Actor;
use amr_kernel::codes::uscc::{RegistrationType, Uscc};
use amr_kernel::db::Db;
use amr_registry::model::{EntityType, NewEntity, Status};
use chrono::NaiveDate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, backends, client};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn app(b: support::Backend) -> TestApp {
    let config = amr_server::ServerConfig {
        fixed_today: Some(day("2026-09-28")),
        ..amr_server::ServerConfig::default()
    };
    TestApp::spawn_with(b, config).await
}

async fn register(app: &TestApp, name: &str, division: &str) -> String {
    let e = NewEntity {
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
        scope: "家用电器销售".into(),
        industry: "5137".into(),
        status: Status::Active,
    };
    let mut tx = app.db.begin().await.unwrap();
    amr_registry::store::create(&mut tx, &Actor::system(), &e)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    e.uscc
}

async fn exec(db: &Db, sql: &str) {
    amr_kernel::on_conn!(db, c => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(c)
        .await
        .unwrap()
        .rows_affected());
}

async fn scalar(db: &Db, sql: &str) -> i64 {
    amr_kernel::on_conn!(db, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(c)
        .await
        .unwrap())
}

async fn numbers(db: &Db) -> Vec<String> {
    amr_kernel::on_conn!(db, c => sqlx::query_scalar(
        "SELECT matter_number FROM complaints ORDER BY matter_number"
    )
    .fetch_all(c)
    .await
    .unwrap())
}

/// A filing of the bench's shape; `i` makes the phone and the facts its own.
fn filing(uscc: &str, i: usize, facts: &str) -> Value {
    json!({
        "name": "赵敏", "phone": format!("139{:08}", 10_000_000 + i), "uscc": uscc,
        "purchase": "电热水壶一台", "purchase_date": "2026-09-01", "amount": "199.00",
        "facts": facts, "claim": "退货退款", "category": "goods.appliance",
    })
}

async fn post_all(app: &TestApp, bodies: Vec<Value>) -> Vec<(StatusCode, Value)> {
    let c = client();
    let url = app.url("/api/v1/complaints");
    let sends = bodies.into_iter().map(|b| {
        let c = c.clone();
        let url = url.clone();
        async move {
            let r = c.post(url).json(&b).send().await.unwrap();
            let s = r.status();
            let text = r.text().await.unwrap();
            (
                s,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
    });
    futures_util::future::join_all(sends).await
}

/// The write lock, held by the test: the intake's batches queue behind it.
async fn hold_the_lock(db: &Db) -> amr_kernel::db::Tx {
    let mut tx = db.begin().await.unwrap();
    amr_kernel::on_tx!(tx, c => sqlx::query("UPDATE event_seq SET last_timepoint = last_timepoint WHERE id = 1")
        .execute(&mut *c)
        .await
        .unwrap()
        .rows_affected());
    tx
}

/// Makes the insert of a complaint row whose facts hold `POISON` fail, after the filing has
/// written its matter, timeline, clock, events and audit entries.
async fn poison(db: &Db) {
    match db.backend() {
        support::Backend::Sqlite => {
            exec(
                db,
                "CREATE TRIGGER test_poison BEFORE INSERT ON complaints \
                 WHEN NEW.facts LIKE '%POISON%' BEGIN SELECT RAISE(ABORT, 'poisoned filing'); END",
            )
            .await
        }
        support::Backend::Postgres => {
            exec(
                db,
                "CREATE FUNCTION test_poison() RETURNS trigger AS $$ BEGIN \
                 IF NEW.facts LIKE '%POISON%' THEN RAISE EXCEPTION 'poisoned filing'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER test_poison BEFORE INSERT ON complaints \
                 FOR EACH ROW EXECUTE FUNCTION test_poison()",
            )
            .await
        }
    }
}

/// What `n` filed complaints (none about an ODR participant) leave, each row once: the
/// transaction holds most of them back and writes them at its end, so a row lost or
/// written twice shows here.
async fn rows_of_filed(db: &Db, n: i64, what: &str) {
    for (sql, per) in [
        ("SELECT COUNT(*) FROM matters", 1),
        ("SELECT COUNT(*) FROM complaints", 1),
        // created, the transition to the bureau, the acceptance clock started
        ("SELECT COUNT(*) FROM matter_timeline", 3),
        ("SELECT COUNT(*) FROM matter_clocks", 1),
        (
            "SELECT COUNT(*) FROM events WHERE kind = 'kernel.matter.created'",
            1,
        ),
        (
            "SELECT COUNT(*) FROM events WHERE kind = 'kernel.matter.acted'",
            1,
        ),
        (
            "SELECT COUNT(*) FROM events WHERE kind = 'consumer.complaint.filed'",
            1,
        ),
        (
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('matter.create', 'matter.act', 'complaint.file')",
            3,
        ),
        ("SELECT COUNT(*) FROM complaint_notices", 1),
        (
            "SELECT COUNT(DISTINCT matter_number) FROM complaint_notices",
            1,
        ),
        (
            "SELECT CAST(COALESCE(SUM(received), 0) AS BIGINT) FROM complaint_monthly",
            1,
        ),
        (
            "SELECT COALESCE(MAX(last_value), 0) FROM matter_sequences WHERE prefix = 'TS'",
            1,
        ),
    ] {
        assert_eq!(scalar(db, sql).await, n * per, "{what}: {sql}");
    }
    // Every matter has its clock and its three entries, and the matters' due dates are the
    // clocks'.
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) FROM matters m WHERE m.due_on = \
             (SELECT k.due_on FROM matter_clocks k WHERE k.matter_id = m.id AND k.state = 'running') \
             AND (SELECT COUNT(*) FROM matter_timeline t WHERE t.matter_id = m.id) = 3"
        )
        .await,
        n,
        "{what}"
    );
    // The event log has no gap: timepoints 1..=head.
    let head = scalar(db, "SELECT last_timepoint FROM event_seq WHERE id = 1").await;
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM events").await,
        head,
        "{what}"
    );
    assert_eq!(
        scalar(db, "SELECT MAX(timepoint) FROM events").await,
        head,
        "{what}"
    );
}

fn seq(number: &str) -> u64 {
    // TS-2026-000123-K
    number.split('-').nth(2).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_filings_share_transactions_and_fail_alone() {
    for b in backends() {
        let app = app(b).await;
        let uscc = register(&app, "济南泉城家电销售有限公司", "370102001").await;
        poison(&app.db).await;

        // 1. A batch behind the lock: 24 good filings, 3 that fail inside the transaction,
        // and a pair of duplicates (same phone, business and facts).
        let mut bodies = Vec::new();
        for i in 0..24 {
            bodies.push(filing(
                &uscc,
                i,
                &format!("第 {i} 件：电热水壶使用三天后无法加热，商家拒绝退换。"),
            ));
        }
        for i in 100..103 {
            bodies.push(filing(
                &uscc,
                i,
                &format!("POISON 第 {i} 件：这件在写入投诉行时失败。"),
            ));
        }
        let dup = filing(&uscc, 200, "同一件事投诉两次：电热水壶漏电，商家不予处理。");
        bodies.push(dup.clone());
        bodies.push(dup);
        let (_, _, largest_before) = amr_consumer::complaint::flow::group::batch_stats();
        let lock = hold_the_lock(&app.db).await;
        let post = tokio::spawn({
            let c = client();
            let url = app.url("/api/v1/complaints");
            async move {
                let sends = bodies.into_iter().map(|b| {
                    let c = c.clone();
                    let url = url.clone();
                    async move {
                        let r = c.post(url).json(&b).send().await.unwrap();
                        let s = r.status();
                        let text = r.text().await.unwrap();
                        (
                            s,
                            b,
                            serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
                        )
                    }
                });
                futures_util::future::join_all(sends).await
            }
        });
        // Let the filings arrive and queue, then let go.
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        assert!(
            !post.is_finished(),
            "{b:?}: nothing is answered before its commit"
        );
        lock.rollback().await.unwrap();
        let answers = post.await.unwrap();
        let (_, _, largest) = amr_consumer::complaint::flow::group::batch_stats();
        assert!(
            largest >= 2 && largest >= largest_before,
            "{b:?}: the filings were grouped (largest batch {largest})"
        );

        let mut filed = Vec::new();
        let mut dup_answers = Vec::new();
        for (s, body, v) in &answers {
            let facts = body["facts"].as_str().unwrap();
            if facts.contains("POISON") {
                assert_eq!(s, &StatusCode::INTERNAL_SERVER_ERROR, "{b:?}: {v}");
            } else if facts.starts_with("同一件事") {
                dup_answers.push((*s, v.clone()));
            } else {
                assert_eq!(s, &StatusCode::CREATED, "{b:?}: {v}");
                filed.push(v["number"].as_str().unwrap().to_string());
            }
        }
        // The duplicates: one filed, the other refused naming it.
        dup_answers.sort_by_key(|(s, _)| *s);
        assert_eq!(
            dup_answers[0].0,
            StatusCode::CREATED,
            "{b:?}: {dup_answers:?}"
        );
        assert_eq!(
            dup_answers[1].0,
            StatusCode::CONFLICT,
            "{b:?}: {dup_answers:?}"
        );
        let first = dup_answers[0].1["number"].as_str().unwrap().to_string();
        assert_eq!(dup_answers[1].1["existing"], first.as_str(), "{b:?}");
        filed.push(first);

        // 25 filed with distinct, gapless numbers 1..=25 (the failed filings gave theirs
        // back), and nothing of the failed or refused ones left behind.
        let mut seqs: Vec<u64> = filed.iter().map(|n| seq(n)).collect();
        seqs.sort();
        assert_eq!(seqs, (1..=25).collect::<Vec<u64>>(), "{b:?}: {filed:?}");
        let stored = numbers(&app.db).await;
        let mut expect = filed.clone();
        expect.sort();
        assert_eq!(stored, expect, "{b:?}");
        assert_eq!(scalar(&app.db, "SELECT COUNT(*) FROM matters").await, 25);
        assert_eq!(
            scalar(
                &app.db,
                "SELECT COUNT(*) FROM events WHERE kind = 'consumer.complaint.filed'"
            )
            .await,
            25
        );
        assert_eq!(
            scalar(
                &app.db,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'complaint.file'"
            )
            .await,
            25
        );
        assert_eq!(
            scalar(
                &app.db,
                "SELECT COUNT(*) FROM audit_log WHERE action = 'matter.create'"
            )
            .await,
            25
        );
        assert_eq!(
            scalar(&app.db, "SELECT COUNT(*) FROM complaint_notices").await,
            25
        );
        assert_eq!(
            scalar(
                &app.db,
                "SELECT CAST(COALESCE(SUM(received), 0) AS BIGINT) FROM complaint_monthly"
            )
            .await,
            25
        );
        // The event log has no gap: timepoints 1..=head.
        let head = scalar(&app.db, "SELECT last_timepoint FROM event_seq WHERE id = 1").await;
        assert_eq!(scalar(&app.db, "SELECT COUNT(*) FROM events").await, head);
        assert_eq!(
            scalar(&app.db, "SELECT MAX(timepoint) FROM events").await,
            head
        );

        rows_of_filed(&app.db, 25, &format!("{b:?} first batch")).await;

        // 2. Without the lock: 64 concurrent filings, all stored, numbers 26..=89.
        let bodies: Vec<Value> = (0..64)
            .map(|i| {
                filing(
                    &uscc,
                    1000 + i,
                    &format!("第二批第 {i} 件：电热水壶底座发烫，商家拒绝更换。"),
                )
            })
            .collect();
        let answers = post_all(&app, bodies).await;
        let mut seqs = Vec::new();
        for (s, v) in &answers {
            assert_eq!(s, &StatusCode::CREATED, "{b:?}: {v}");
            seqs.push(seq(v["number"].as_str().unwrap()));
        }
        seqs.sort();
        assert_eq!(seqs, (26..=89).collect::<Vec<u64>>(), "{b:?}");
        assert_eq!(numbers(&app.db).await.len(), 89);
        rows_of_filed(&app.db, 89, &format!("{b:?} second round")).await;
        app.stop().await;
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A file the server takes for a PNG (its signature, then anything).
fn png(len: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.resize(len.max(8), 7);
    v
}

async fn officer_item(app: &TestApp, officer: &support::Session, number: &str) -> Value {
    let r = client()
        .get(app.url(&format!("/api/v1/office/complaints/{number}")))
        .header("cookie", &officer.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

#[tokio::test]
async fn json_filings_carry_attachments_and_open311_keeps_media_links() {
    for b in backends() {
        let app = app(b).await;
        let uscc = register(&app, "济南泉城家电销售有限公司", "370102001").await;
        let officer = support::account(
            &app,
            "lixia_officer",
            amr_kernel::auth::Role::Officer,
            "370102",
            None,
        )
        .await;
        let with = |i: usize, attachments: Value| {
            let mut v = filing(
                &uscc,
                i,
                &format!("第 {i} 件：电热水壶使用三天后无法加热，商家拒绝退换。"),
            );
            v["attachments"] = attachments;
            v
        };

        // Refusals, each naming the attachment, nothing stored.
        let pdf_as_png = json!([{"name": "票据.png", "content_type": "image/png", "data": b64(b"%PDF-1.7 receipt")}]);
        let html = json!([{"name": "x.pdf", "content_type": "application/pdf", "data": b64(b"<html>hi</html>")}]);
        let bad64 = json!([{"name": "a.png", "content_type": "image/png", "data": "不是base64!!"}]);
        let empty = json!([{"name": "a.png", "content_type": "image/png", "data": ""}]);
        let seven: Vec<Value> = (0..7)
            .map(|i| json!({"name": format!("{i}.png"), "data": b64(&png(20))}))
            .collect();
        for (i, (list, field)) in [
            (pdf_as_png, "attachments[0]"),
            (html, "attachments[0]"),
            (bad64, "attachments[0]"),
            (empty, "attachments[0]"),
            (json!(seven), "attachments"),
        ]
        .into_iter()
        .enumerate()
        {
            let answers = post_all(&app, vec![with(i, list)]).await;
            let (s, v) = &answers[0];
            assert_eq!(s, &StatusCode::BAD_REQUEST, "{b:?} case {i}: {v}");
            assert_eq!(v["field"], field, "{b:?} case {i}: {v}");
            assert!(
                v["message"].as_str().unwrap().contains('('),
                "{b:?}: Chinese first, English in brackets: {v}"
            );
        }
        // A body over the server's 2 MiB limit is refused before it is read.
        let big = json!([{"name": "big.png", "data": b64(&png(1_700_000))}]);
        let answers = post_all(&app, vec![with(50, big)]).await;
        assert_eq!(answers[0].0, StatusCode::PAYLOAD_TOO_LARGE, "{b:?}");
        assert_eq!(scalar(&app.db, "SELECT COUNT(*) FROM complaints").await, 0);
        assert_eq!(
            scalar(&app.db, "SELECT COUNT(*) FROM matter_attachments").await,
            0
        );

        // Two files, stored as the form's are: the type read from the bytes, the path
        // dropped from the name, the SHA-256 kept.
        let photo = png(3000);
        let receipt = b"%PDF-1.4 the receipt".to_vec();
        let answers = post_all(
            &app,
            vec![with(
                60,
                json!([
                    {"name": "../../照片.png", "content_type": "image/png", "data": b64(&photo)},
                    {"name": "小票.pdf", "content_type": "", "data": b64(&receipt)},
                ]),
            )],
        )
        .await;
        let (s, v) = &answers[0];
        assert_eq!(s, &StatusCode::CREATED, "{b:?}: {v}");
        assert_eq!(v["attachments"], 2);
        let number = v["number"].as_str().unwrap().to_string();
        let item = officer_item(&app, &officer, &number).await;
        let files = item["attachments"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{item}");
        assert_eq!(files[0]["name"], "照片.png");
        assert_eq!(files[0]["content_type"], "image/png");
        assert_eq!(files[1]["content_type"], "application/pdf");
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&photo))
        };
        assert_eq!(files[0]["sha256"], sha.as_str(), "{item}");
        // The officer downloads the bytes as they were sent.
        let id = files[0]["id"].as_i64().unwrap();
        let got = client()
            .get(app.url(&format!(
                "/api/v1/office/complaints/{number}/attachments/{id}"
            )))
            .header("cookie", &officer.cookie)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(got.as_ref(), photo.as_slice());

        // Open311: media_url kept as a link in the complainant's message, never fetched;
        // a link that is not http(s) is refused with nothing stored.
        let open311 = |media: &str, i: usize| {
            let facts = format!("第 {i} 件：Open311 提交，电饭煲内胆涂层脱落，商家拒绝更换。");
            format!(
                "service_code=complaint&last_name=%E8%B5%B5&first_name=%E6%95%8F&phone=1391234{i:04}\
                 &description={}&attribute%5Buscc%5D={uscc}&attribute%5Bpurchase%5D=%E7%94%B5%E9%A5%AD%E7%85%B2\
                 &attribute%5Bclaim%5D=%E6%9B%B4%E6%8D%A2&media_url={}",
                urlencode(&facts),
                urlencode(media)
            )
        };
        let before = scalar(&app.db, "SELECT COUNT(*) FROM complaints").await;
        for bad in ["javascript:alert(1)", "ftp://example.com/a.png", "http://"] {
            let r = client()
                .post(app.url("/open311/v2/requests.json"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(open311(bad, 1))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{b:?}: {bad}");
            let v: Value = r.json().await.unwrap();
            assert!(
                v[0]["description"].as_str().unwrap().contains("media_url"),
                "{v}"
            );
        }
        assert_eq!(
            scalar(&app.db, "SELECT COUNT(*) FROM complaints").await,
            before
        );
        let link = "https://photos.example.com/a/电饭煲.jpg?size=large";
        let r = client()
            .post(app.url("/open311/v2/requests.json"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(open311(link, 2))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{b:?}");
        let v: Value = r.json().await.unwrap();
        let number = v[0]["service_request_id"].as_str().unwrap().to_string();
        let item = officer_item(&app, &officer, &number).await;
        let messages = item["messages"].to_string();
        assert!(messages.contains(link), "{b:?}: {messages}");
        // The public read of the request gives no link.
        let r = client()
            .get(app.url(&format!("/open311/v2/requests/{number}.json")))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v[0]["media_url"], Value::Null, "{v}");
        app.stop().await;
    }
}

fn urlencode(s: &str) -> String {
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
