//! The complaint figures of docs/PERFORMANCE.md (`amr bench complaints`) and the demo's year
//! of complaints (`amr demo --complaints N`).
//!
//! The bench works on a scratch database (see `bench.rs`): a demo province, then
//! 1. intake: `--intake` complaints `POST`ed to `/api/v1/complaints` by `--concurrency`
//!    clients over keep-alive HTTP/1.1 in this process, each answered 201 only after its
//!    transaction committed; p50/p99 of the request latency; beside it, the same clients
//!    on `GET /healthz` (the server's floor);
//! 2. `--matters` demo matters generated (batched, through the intake's recording code);
//! 3. reads with those matters in the database: the officers' queue, the publicity page and
//!    API of the business with the most complaints, the dashboard; `--reads` requests each,
//!    one at a time; beside them `GET /healthz`.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use amr_kernel::db::Db;
use amr_kernel::error::AppError;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{e}"))
}

/// `amr demo --complaints N`: a year of complaints, reports and requests for help.
pub async fn demo_step(
    db: &Db,
    count: u64,
    year: i32,
    seed: u64,
    mode: amr_consumer::complaint::demo::Mode,
) -> Result<(), AppError> {
    let directory = amr_server::consumer_wiring::RegistryDirectory { db: db.clone() };
    amr_consumer::complaint::load_calendar(db).await?;
    let pb = ProgressBar::new(count);
    pb.set_style(
        ProgressStyle::with_template("{msg:>20} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message("投诉举报 (matters)");
    let spec = amr_consumer::complaint::demo::DemoSpec {
        count,
        year,
        seed,
        batch: 2000,
        mode,
    };
    let report =
        amr_consumer::complaint::demo::generate(db, &directory, &spec, &|n| pb.set_position(n))
            .await?;
    pb.finish_and_clear();
    println!(
        "示范投诉举报 (demo matters) {}: {} 件 (matters) about {} businesses, {:.1} s, {:.0} 件/秒 (matters/s)",
        year,
        report.generated,
        report.businesses,
        report.elapsed.as_secs_f64(),
        report.generated as f64 / report.elapsed.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Builds request `i` on a client.
type MakeRequest =
    std::sync::Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

/// What a load run measured: the rate over the whole run and, for each request, when it
/// started (from the start of the run) and how long it took.
struct Loaded {
    rate: f64,
    /// Sorted.
    lat: Vec<Duration>,
    /// (start offset, latency) of each request, in start order.
    timed: Vec<(Duration, Duration)>,
}

/// `n` requests from `clients` concurrent clients; `make(i)` builds request `i`. Any answer
/// other than `want` is an error.
async fn load(clients: usize, n: usize, want: u16, make: MakeRequest) -> Result<Loaded, AppError> {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let next = next.clone();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().build().map_err(internal)?;
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                let resp = make(&client, i).send().await.map_err(internal)?;
                let status = resp.status().as_u16();
                let body = resp.bytes().await.map_err(internal)?;
                lat.push((t - started, t.elapsed()));
                if status != want {
                    return Err(internal(format!(
                        "request {i}: {status} {}",
                        String::from_utf8_lossy(&body)
                    )));
                }
            }
            Ok::<_, AppError>(lat)
        }));
    }
    let mut timed = Vec::with_capacity(n);
    for t in tasks {
        timed.extend(t.await.map_err(internal)??);
    }
    let secs = started.elapsed().as_secs_f64();
    timed.sort();
    let mut lat: Vec<Duration> = timed.iter().map(|&(_, l)| l).collect();
    lat.sort();
    Ok(Loaded {
        rate: n as f64 / secs,
        lat,
        timed,
    })
}

/// The latency over time: for each `step` of the run (by when the request started), how
/// many requests started, their p50, p99 and max.
fn timeline(timed: &[(Duration, Duration)], step: Duration) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut k = 0u32;
    while i < timed.len() {
        let end = step * (k + 1);
        let mut lat: Vec<Duration> = Vec::new();
        while i < timed.len() && timed[i].0 < end {
            lat.push(timed[i].1);
            i += 1;
        }
        lat.sort();
        if !lat.is_empty() {
            out.push(format!(
                "  {:>6.2}–{:>6.2} s: {:>5} requests, p50 {:>7.1} ms, p99 {:>7.1} ms, max {:>7.1} ms",
                (step * k).as_secs_f64(),
                end.as_secs_f64(),
                lat.len(),
                pct(&lat, 0.5),
                pct(&lat, 0.99),
                pct(&lat, 1.0)
            ));
        }
        k += 1;
    }
    out
}

/// Options of `amr bench complaints`.
#[derive(Debug, Clone)]
pub struct Options {
    pub entities: u64,
    pub intake: usize,
    pub concurrency: usize,
    pub matters: u64,
    pub reads: usize,
    /// Print the intake's latency over time, a line per this many milliseconds.
    pub timeline_ms: Option<u64>,
    /// Start the intake as soon as the server listens, while its start-up work (the event
    /// followers catching up, the sweeps) still runs, rather than once it is done.
    pub no_settle: bool,
}

/// What the database's writers have done so far, as far as the bench can see: the event
/// log's head, and how many the event followers' cursors have followed in all.
async fn activity(db: &Db) -> Result<(i64, i64, i64), AppError> {
    let head = amr_kernel::events::head(db).await?;
    let (cursors, followed): (i64, Option<i64>) = amr_kernel::on_conn!(db, c => sqlx::query_as(
        "SELECT COUNT(*), CAST(SUM(timepoint) AS BIGINT) FROM event_cursors"
    )
    .fetch_one(c)
    .await?);
    Ok((head, cursors, followed.unwrap_or(0)))
}

/// Waits until the server's start-up work is done: for a second (and at least a second
/// after the start), nothing new in the event log, no follower moving, and a write
/// transaction opened and rolled back at once (a
/// long one — a follower re-scoring the demo's imported entities, a sweep — holds the
/// write lock and shows in none of the rows until it commits); at most 120 s.
async fn settle(db: &Db) -> Result<Duration, AppError> {
    let t = Instant::now();
    let mut last = activity(db).await?;
    let mut still = 0;
    while still < 4 && t.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let probe = Instant::now();
        db.begin().await?.rollback().await?;
        let free = probe.elapsed() < Duration::from_millis(100);
        let now = activity(db).await?;
        if now == last && free {
            still += 1;
        } else {
            still = 0;
            last = now;
        }
    }
    Ok(t.elapsed())
}

async fn one_value(db: &Db, sql: &str) -> Result<String, AppError> {
    Ok(
        amr_kernel::on_conn!(db, c => sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(c)
        .await?),
    )
}

pub async fn run(db: &Db, o: &Options) -> Result<(), AppError> {
    let backend = db.backend().name();
    let t = Instant::now();
    let spec = amr_registry::demo::DemoSpec {
        seed: 37,
        entities: o.entities,
        province: "37".to_string(),
    };
    crate::demo::run_demo(db, spec, 10_000, false).await?;
    crate::demo::odr_step(db).await?;
    println!(
        "demo province: {} entities, {:.1} s",
        o.entities,
        t.elapsed().as_secs_f64()
    );
    use amr_consumer::complaint::BusinessDirectory;
    let directory = amr_server::consumer_wiring::RegistryDirectory { db: db.clone() };
    let usccs: Vec<String> = directory
        .enterprises(None, 5000)
        .await?
        .into_iter()
        .filter(|b| b.active)
        .map(|b| b.uscc)
        .collect();
    if usccs.is_empty() {
        return Err(internal("no entities"));
    }

    let state = amr_server::app_state(db.clone(), amr_server::ServerConfig::default());
    let running = amr_server::start(state, "127.0.0.1:0").await?;
    let base = format!("http://{}", running.addr);

    // 1. intake, once the server's start-up work is done (unless `no_settle`)
    if !o.no_settle {
        let waited = settle(db).await?;
        println!(
            "server start-up work done after {:.1} s (event log head {}); intake starts",
            waited.as_secs_f64(),
            amr_kernel::events::head(db).await?
        );
    }
    let (batches0, filings0, _) = amr_consumer::complaint::flow::group::batch_stats();
    let usccs = std::sync::Arc::new(usccs);
    let b2 = base.clone();
    let intake = load(
        o.concurrency,
        o.intake,
        201,
        std::sync::Arc::new(move |c: &reqwest::Client, i: usize| {
            c.post(format!("{b2}/api/v1/complaints")).json(&json!({
                "name": "赵敏", "phone": format!("13{:09}", 500_000_000 + i),
                "uscc": usccs[i % usccs.len()],
                "purchase": "电热水壶一台", "purchase_date": "2026-09-01", "amount": "199.00",
                "facts": format!("压测第 {i} 件：购买后第三天即无法加热，商家拒绝退换。"),
                "claim": "退货退款", "category": "goods.appliance",
            }))
        }),
    )
    .await?;
    let stored: i64 = amr_kernel::on_conn!(db, c => sqlx::query_scalar("SELECT COUNT(*) FROM complaints WHERE source = 'api'")
        .fetch_one(c).await?);
    let (batches1, filings1, largest) = amr_consumer::complaint::flow::group::batch_stats();
    let (batches, filings) = (batches1 - batches0, filings1 - filings0);
    let b3 = base.clone();
    let healthz = load(
        o.concurrency,
        o.intake,
        200,
        std::sync::Arc::new(move |c: &reqwest::Client, _| c.get(format!("{b3}/healthz"))),
    )
    .await?;
    let (rate, lat, brate, blat) = (intake.rate, &intake.lat, healthz.rate, &healthz.lat);
    println!(
        "backend={backend} intake POST /api/v1/complaints: {} accepted ({stored} rows stored), {rate:.0}/s, \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} clients; {filings} filings in {batches} transactions, {:.1} a transaction, at most {largest}); \
         baseline GET /healthz: {brate:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
        lat.len(),
        pct(lat, 0.5),
        pct(lat, 0.99),
        pct(lat, 1.0),
        o.concurrency,
        filings as f64 / batches.max(1) as f64,
        pct(blat, 0.5),
        pct(blat, 0.99),
    );
    if let Some(ms) = o.timeline_ms {
        println!("intake latency over time (by when the request started):");
        for line in timeline(&intake.timed, Duration::from_millis(ms.max(1))) {
            println!("{line}");
        }
    }
    running.stop().await.map_err(internal)?;

    // 2. a year of matters
    if o.matters > 0 {
        demo_step(
            db,
            o.matters,
            2025,
            37,
            amr_consumer::complaint::demo::Mode::Course,
        )
        .await?;
    }
    let total: i64 = amr_kernel::on_conn!(db, c => sqlx::query_scalar("SELECT COUNT(*) FROM complaints")
        .fetch_one(c).await?);

    // 3. reads
    let mut tx = db.begin().await?;
    let account = amr_kernel::auth::store::create_account(
        &mut tx,
        &amr_kernel::audit::Actor::cli(),
        &amr_kernel::auth::Scope::all(),
        amr_kernel::auth::store::NewAccount {
            username: "bench_officer".into(),
            display_name: "bench".into(),
            role: amr_kernel::auth::Role::Officer,
            department: None,
            jurisdiction: "37".into(),
            uscc: None,
            password_hash: amr_kernel::auth::password::hash("Bench-Password-9")?,
        },
    )
    .await?;
    tx.commit().await?;
    let (token, _) =
        amr_kernel::auth::store::create_session(db, &account, chrono::Duration::hours(1), None)
            .await?;
    let cookie = format!("amr_session={token}");
    let busiest = one_value(
        db,
        "SELECT uscc FROM complaints WHERE uscc IS NOT NULL GROUP BY uscc ORDER BY COUNT(*) DESC, uscc LIMIT 1",
    )
    .await?;
    let state = amr_server::app_state(db.clone(), amr_server::ServerConfig::default());
    let running = amr_server::start(state, "127.0.0.1:0").await?;
    let base = format!("http://{}", running.addr);
    // Let the start-up sweeps (ODR deadlines, escalation of the overdue demo matters) finish
    // first: wait until the escalations stop growing.
    let mut last = -1i64;
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let n: i64 = amr_kernel::on_conn!(db, c => sqlx::query_scalar("SELECT COUNT(*) FROM matter_escalations")
            .fetch_one(c).await?);
        if n == last {
            break;
        }
        last = n;
    }
    let client = reqwest::Client::new();
    let paths = [
        "/healthz".to_string(),
        "/api/v1/office/complaints?limit=100".to_string(),
        "/api/v1/office/complaints?overdue=true&limit=100".to_string(),
        "/office/complaints".to_string(),
        format!("/api/v1/enterprises/{busiest}/complaint-stats?period=month"),
        format!("/enterprises/{busiest}/complaints?period=month"),
        "/api/v1/office/complaints/dashboard".to_string(),
        "/office/complaints/dashboard?from=2025-01&to=2025-12".to_string(),
    ];
    println!(
        "backend={backend} reads with {total} complaint rows ({last} escalations), {} requests each, one at a time:",
        o.reads
    );
    for p in &paths {
        let mut lat = Vec::new();
        for _ in 0..o.reads {
            let t = Instant::now();
            let r = client
                .get(format!("{base}{p}"))
                .header("cookie", &cookie)
                .send()
                .await
                .map_err(internal)?;
            let status = r.status();
            let _ = r.bytes().await.map_err(internal)?;
            lat.push(t.elapsed());
            if !status.is_success() {
                return Err(internal(format!("{p}: {status}")));
            }
        }
        lat.sort();
        println!(
            "  GET {p}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            pct(&lat, 1.0)
        );
    }
    running.stop().await.map_err(internal)?;
    Ok(())
}
