//! The entity search index on every backend: rebuild, name fragments, USCC prefixes,
//! filters, and following the event log (new entities found, renamed ones re-indexed).
//!
//! `cargo test --release -p amr-registry --test search -- --ignored --nocapture` measures the
//! build rate over 200,000 demo entities and the latency of 1,000 short queries.

use std::sync::Arc;
use std::time::Instant;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Scope;
use amr_kernel::db::Backend;
use amr_kernel::events::runner::run_once;
use amr_kernel::testing::{TestDb, backends};
use amr_registry::demo::{DemoSpec, Generator};
use amr_registry::model::NewEntity;
use amr_registry::search::{
    EntityIndex, SearchFollower, SearchQuery, built_by_another_version, open_current, reindex,
};
use amr_registry::store::{self, EntityChange};

async fn test_db(b: Backend) -> TestDb {
    TestDb::with_sets(
        b,
        &[
            amr_kernel::db::kernel_migrations(),
            amr_registry::migrations(),
        ],
    )
    .await
}

fn actor() -> Actor {
    Actor {
        kind: "account",
        id: Some(1),
        name: "officer1".into(),
        ip: None,
    }
}

fn demo(seed: u64, entities: u64) -> Vec<NewEntity> {
    let spec = DemoSpec {
        seed,
        entities,
        province: "37".to_string(),
    };
    Generator::new(spec).expect("plan").collect()
}

fn query(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.to_string(),
        limit: 20,
        ..SearchQuery::default()
    }
}

/// Two or three characters from the middle of a name (past the division part).
fn fragment(name: &str, len: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    let start = (chars.len() / 3).min(chars.len().saturating_sub(len));
    chars[start..start + len].iter().collect()
}

/// The two or three consecutive characters of `name` that the fewest names of `all` contain
/// (what a person types: the distinctive part), and how many contain it.
fn distinctive(name: &str, all: &[NewEntity]) -> (String, usize) {
    let chars: Vec<char> = name.chars().collect();
    let mut best = (String::new(), usize::MAX);
    for len in [2, 3] {
        for w in chars.windows(len) {
            let frag: String = w.iter().collect();
            let n = all.iter().filter(|e| e.name.contains(&frag)).count();
            if n < best.1 {
                best = (frag, n);
            }
        }
    }
    best
}

async fn load(db: &amr_kernel::db::Db, entities: &[NewEntity]) {
    for chunk in entities.chunks(1_000) {
        store::insert_batch(db, &actor(), chunk)
            .await
            .expect("insert");
    }
}

/// An index folder left by an earlier version (another schema: here the one before the
/// frequencies and field lengths of the key fields were dropped) is refused by a plain open
/// and rebuilt by the server's open, which then finds entities; a current index is opened
/// as it is.
#[tokio::test]
async fn an_index_built_by_another_version_is_rebuilt_on_open() {
    use tantivy::schema::{FAST, STORED, STRING, Schema, TEXT};
    let province = demo(5, 300);
    for b in backends() {
        let t = test_db(b).await;
        load(&t.db, &province).await;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("entities");
        {
            let mut old = Schema::builder();
            old.add_text_field("uscc", STRING | STORED);
            old.add_text_field("name", TEXT | STORED);
            old.add_text_field("city", STRING | FAST);
            std::fs::create_dir_all(&path).expect("mkdir");
            let index = tantivy::Index::create_in_dir(&path, old.build()).expect("old index");
            let mut w: tantivy::IndexWriter = index.writer(15_000_000).expect("writer");
            w.commit().expect("commit");
        }
        assert!(built_by_another_version(&path), "{b:?}");
        let refused = EntityIndex::open(&path).expect_err("another schema is refused");
        assert!(refused.to_string().contains("reindex"), "{b:?}: {refused}");
        let index = open_current(&t.db, &path).await.expect("rebuilt");
        assert_eq!(index.len(), 300, "{b:?}");
        assert!(!built_by_another_version(&path), "{b:?}");
        let e = &province[17];
        let r = index.search(&query(&e.name)).expect("search");
        assert_eq!(r.items[0].uscc, e.uscc, "{b:?}");
        drop(index);
        // Current: opened as it is (no rebuild: an entity added since is not in it yet).
        let extra = demo(6, 1);
        load(&t.db, &extra).await;
        let again = open_current(&t.db, &path).await.expect("open");
        assert_eq!(again.len(), 300, "{b:?}");
    }
}

#[tokio::test]
async fn search_by_name_code_and_filters_and_follow_the_log() {
    let province = demo(37, 2_000);
    for b in backends() {
        let t = test_db(b).await;
        load(&t.db, &province).await;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("entities");
        let n = reindex(&t.db, &path, |_| {}).await.expect("reindex");
        assert_eq!(n, 2_000, "{b:?}");
        // A second rebuild replaces the first.
        assert_eq!(reindex(&t.db, &path, |_| {}).await.expect("again"), 2_000);
        let index = Arc::new(EntityIndex::open(&path).expect("open"));
        assert_eq!(index.len(), 2_000);

        // A few characters of a name find it on the first page.
        for e in province.iter().step_by(97) {
            let (frag, containing) = distinctive(&e.name, &province);
            let r = index.search(&query(&frag)).expect("search");
            assert!(
                r.items.iter().any(|h| h.uscc == e.uscc),
                "{b:?}: {frag:?} (in {containing} names) does not find {} on page 1 ({} hits)",
                e.name,
                r.total
            );
        }
        // The whole name ranks it first.
        let e = &province[1234];
        let r = index.search(&query(&e.name)).expect("search");
        assert_eq!(r.items[0].uscc, e.uscc, "{b:?}");
        // A USCC prefix (any case) finds it.
        let r = index
            .search(&query(&e.uscc[..10].to_lowercase()))
            .expect("search");
        assert!(r.items.iter().any(|h| h.uscc == e.uscc), "{b:?}");
        assert!(r.items.iter().all(|h| h.uscc.starts_with(&e.uscc[..10])));
        // Words of the business scope.
        let word = e.scope.chars().take(2).collect::<String>();
        let r = index.search(&query(&word)).expect("search");
        assert!(r.total > 0, "{b:?}: scope word {word:?}");

        // Filters narrow: every hit is in the county, type and status asked for.
        let county = e.division[..6].to_string();
        let mut q = query("有限公司");
        let all = index.search(&q).expect("search").total;
        q.county = Some(county.clone());
        let r = index.search(&q).expect("search");
        assert!(r.total > 0 && r.total < all, "{b:?}: {} of {all}", r.total);
        assert!(r.items.iter().all(|h| h.division.starts_with(&county)));
        q.county = None;
        q.city = Some(county[..4].to_string());
        q.entity_type = Some(e.entity_type);
        q.status = Some(e.status);
        let r = index.search(&q).expect("search");
        assert!(r.items.iter().all(|h| h.division.starts_with(&county[..4])
            && h.entity_type == e.entity_type
            && h.status == e.status));
        // Paging: the second page continues the first.
        let mut q = query("有限公司");
        let p1 = index.search(&q).expect("p1");
        q.offset = 20;
        let p2 = index.search(&q).expect("p2");
        assert!(
            p1.items
                .iter()
                .all(|a| p2.items.iter().all(|b| a.uscc != b.uscc))
        );
        // Bad queries name the field.
        for bad in ["", "   ", &"名".repeat(101)] {
            let err = index.search(&query(bad)).unwrap_err();
            assert!(format!("{err:?}").contains("\"q\""), "{err:?}");
        }

        // The follower: a new entity is found after one run, a renamed one by its new name only.
        let follower = SearchFollower {
            db: t.db.clone(),
            index: Arc::clone(&index),
        };
        let mut fresh = demo(38, 1).remove(0);
        fresh.name = "泉城老李烧烤店".into();
        let mut tx = t.db.begin().await.expect("begin");
        store::create(&mut tx, &actor(), &fresh)
            .await
            .expect("create");
        tx.commit().await.expect("commit");
        while run_once(&t.db, &follower, 256).await.expect("run") > 0 {}
        let r = index.search(&query("老李")).expect("search");
        assert!(r.items.iter().any(|h| h.uscc == fresh.uscc), "{b:?}");
        assert_eq!(index.len(), 2_001);

        let mut tx = t.db.begin().await.expect("begin");
        let change = EntityChange {
            name: Some("历山新雨文化传媒有限公司".into()),
            ..EntityChange::default()
        };
        store::change(&mut tx, &actor(), &Scope::all(), &fresh.uscc, &change)
            .await
            .expect("change");
        tx.commit().await.expect("commit");
        while run_once(&t.db, &follower, 256).await.expect("run") > 0 {}
        let r = index.search(&query("老李烧烤")).expect("search");
        assert!(
            r.items.iter().all(|h| h.uscc != fresh.uscc),
            "{b:?}: old name still matches"
        );
        let r = index.search(&query("新雨文化")).expect("search");
        assert!(r.items.iter().any(|h| h.uscc == fresh.uscc), "{b:?}");
        assert_eq!(index.len(), 2_001, "upserts replace, never duplicate");
    }
}

async fn get(app: &axum::Router, uri: &str) -> (u16, String) {
    use tower::ServiceExt;
    let req = axum::http::Request::get(uri)
        .body(axum::body::Body::empty())
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn encode(s: &str) -> String {
    amr_web::extract::percent_encode(s)
}

#[tokio::test]
async fn api_and_page_answer_with_results_filters_and_errors() {
    use amr_registry::web::{module, more_modules, search_api_routes, search_page_routes};
    // The registry's pages use the texts of its parts (名特优新 on the entity page).
    let modules: Vec<_> = std::iter::once(module()).chain(more_modules()).collect();
    amr_web::templates::assert_keys_in_catalog(amr_registry::web::TEMPLATES, &modules);
    let province = demo(37, 300);
    let t = test_db(Backend::Sqlite).await;
    load(&t.db, &province).await;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("entities");
    reindex(&t.db, &path, |_| {}).await.expect("reindex");
    let index = Arc::new(EntityIndex::open(&path).expect("open"));
    let state = amr_web::AppState::new(t.db.clone(), Default::default(), &modules);
    let pages = search_page_routes(Arc::clone(&index))
        .layer(axum::middleware::from_fn(amr_web::page::page_frame));
    let app = search_api_routes(index).merge(pages).with_state(state);

    let e = &province[42];
    let (frag, _) = distinctive(&e.name, &province);
    let county = &e.division[..6];
    let (status, body) = get(
        &app,
        &format!("/api/v1/entities?q={}&county={county}", encode(&frag)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(v["total"].as_u64().unwrap() >= 1 && v["page"] == 1, "{v}");
    let items = v["items"].as_array().expect("items");
    assert!(items.iter().any(|h| h["uscc"] == e.uscc.as_str()), "{v}");
    let hit = items.iter().find(|h| h["uscc"] == e.uscc.as_str()).unwrap();
    assert_eq!(hit["name"], e.name.as_str());
    assert_eq!(hit["status"], e.status.as_str());
    assert_eq!(hit["entity_type"], e.entity_type.as_str());
    assert!(
        hit["division_name"].as_str().unwrap().starts_with("山东省"),
        "{hit}"
    );
    for bad in ["", "?q=", &format!("?q={}", encode(&"名".repeat(101)))] {
        let (status, body) = get(&app, &format!("/api/v1/entities{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("\"q\""), "{bad}: {body}");
    }
    let (status, body) = get(&app, "/api/v1/entities?q=%E5%85%AC%E5%8F%B8&page=99").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("page"), "{body}");
    let (status, body) = get(&app, "/api/v1/entities?q=%E5%85%AC%E5%8F%B8&type=bogus").await;
    assert_eq!(status, 400, "{body}");

    let (status, body) = get(
        &app,
        &format!("/search?q={}&city={}", encode(&frag), &county[..4]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("href=\"/entities/{}\"", e.uscc)),
        "{body}"
    );
    assert!(body.contains("<select id=\"f-county\""), "{body}");
    let (status, body) = get(&app, "/search?q=%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8").await;
    assert_eq!(status, 200);
    assert!(body.contains("rel=\"next\""), "paging link: {body}");
    let (status, body) = get(&app, "/search").await;
    assert_eq!(status, 200);
    assert!(body.contains("name=\"q\""));
}

/// User + system CPU time of this process so far (Linux), to tell work from waiting on a
/// shared machine.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Figures: build rate over 200,000 demo entities (SQLite), and p50/p99 of 1,000 queries of
/// two or three characters taken from the names.
#[tokio::test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
async fn figures_build_rate_and_query_latency() {
    let n = 200_000;
    let province = demo(37, n);
    let t = test_db(Backend::Sqlite).await;
    load(&t.db, &province).await;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("entities");
    let started = Instant::now();
    let streamed = store::stream_scoped(&t.db, &Scope::all(), &Default::default(), |_| Ok(()))
        .await
        .expect("stream");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "read alone: {streamed} entities in {secs:.2} s = {:.0}/s",
        streamed as f64 / secs
    );
    let started = Instant::now();
    let (mut name_words, mut scope_words) = (0, 0);
    for e in &province {
        name_words += amr_kernel::search::words(&e.name).len();
        scope_words += amr_kernel::search::words(&e.scope).len();
    }
    let secs = started.elapsed().as_secs_f64();
    let bytes: usize = province.iter().map(|e| e.name.len() + e.scope.len()).sum();
    println!(
        "jieba alone (one thread): {secs:.2} s for {} MB, {name_words} name and {scope_words} scope words",
        bytes / 1_000_000
    );
    let jieba = amr_kernel::search::jieba();
    for (label, search, hmm) in [
        ("search+hmm", true, true),
        ("default, no hmm", false, false),
    ] {
        let started = Instant::now();
        let mut words = 0;
        for e in &province {
            let mode = if search {
                jieba_rs::TokenizeMode::Search
            } else {
                jieba_rs::TokenizeMode::Default
            };
            words += jieba.tokenize(&e.scope, mode, hmm).len();
        }
        let secs = started.elapsed().as_secs_f64();
        println!("scopes, jieba {label}: {secs:.2} s, {words} words");
    }
    let started = Instant::now();
    let cpu0 = cpu_seconds();
    let indexed = reindex(&t.db, &path, |_| {}).await.expect("reindex");
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "index build CPU: {cpu:.2} s = {:.0} entities per CPU-second",
        indexed as f64 / cpu
    );
    println!(
        "index build: {indexed} entities in {secs:.2} s = {:.0}/s",
        indexed as f64 / secs
    );
    let index = EntityIndex::open(&path).expect("open");
    let mut times = Vec::with_capacity(1_000);
    let mut found = 0;
    for i in 0..1_000 {
        let e = &province[(i * 7919) % province.len()];
        let q = query(&fragment(&e.name, 2 + i % 2));
        let t0 = Instant::now();
        let r = index.search(&q).expect("search");
        times.push(t0.elapsed());
        found += usize::from(r.items.iter().any(|h| h.uscc == e.uscc));
    }
    times.sort();
    println!(
        "queries: p50 {:?}, p99 {:?}, max {:?}; target on page 1 in {found}/1000",
        times[500], times[990], times[999]
    );
}
