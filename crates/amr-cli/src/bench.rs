//! `amr bench`: figures for docs/PERFORMANCE.md, each beside its baseline in the same run.
//!
//! The benchmarks never touch the configured database's data: on SQLite they use a new
//! temporary file, on PostgreSQL a scratch database created on the configured server and
//! dropped afterwards.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use amr_kernel::db::{self, Db};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};

use crate::config::Settings;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum What {
    /// Event appends per second (one transaction each) vs a plain insert of the same row.
    Events,
    /// Public stream delivery rate to an HTTP client vs reading the same rows directly.
    Stream,
    /// Complaint intake over HTTP (rate, p50/p99) vs `GET /healthz`, then the officers'
    /// queue, publicity and dashboard latency with `--matters` demo matters.
    Complaints,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    what: What,
    /// How many events per run.
    #[arg(long, default_value_t = 5000)]
    count: u32,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// complaints: demo entities registered first.
    #[arg(long, default_value_t = 20_000)]
    entities: u64,
    /// complaints: how many to post.
    #[arg(long, default_value_t = 20_000)]
    intake: usize,
    /// complaints: concurrent clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// complaints: demo matters generated before the reads (a year: 1650000).
    #[arg(long, default_value_t = 100_000)]
    matters: u64,
    /// complaints: requests per read figure.
    #[arg(long, default_value_t = 50)]
    reads: usize,
    /// complaints: also print the intake's latency over time, a line per this many
    /// milliseconds of the run (by when each request started).
    #[arg(long)]
    timeline_ms: Option<u64>,
    /// complaints: start the intake as soon as the server listens, while its start-up
    /// work (event followers catching up, sweeps) still runs.
    #[arg(long)]
    no_settle: bool,
}

pub async fn run(settings: &Settings, args: BenchArgs) -> Result<ExitCode, AppError> {
    let scratch = Scratch::create(&settings.database_url).await?;
    let result = match args.what {
        What::Events => bench_events(&scratch.db, args.count, args.runs).await,
        What::Stream => bench_stream(&scratch.db, args.count, args.runs).await,
        What::Complaints => {
            crate::complaints_bench::run(
                &scratch.db,
                &crate::complaints_bench::Options {
                    entities: args.entities,
                    intake: args.intake,
                    concurrency: args.concurrency,
                    matters: args.matters,
                    reads: args.reads,
                    timeline_ms: args.timeline_ms,
                    no_settle: args.no_settle,
                },
            )
            .await
        }
    };
    scratch.drop_it().await;
    result.map(|_| ExitCode::SUCCESS)
}

struct Scratch {
    db: Db,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Scratch {
    async fn create(url: &str) -> Result<Scratch, AppError> {
        let tag = format!("amr_bench_{}", std::process::id());
        if url.starts_with("sqlite:") {
            let dir = tempfile::Builder::new()
                .prefix(&tag)
                .tempdir()
                .map_err(|e| AppError::Internal(e.into()))?;
            let db = Db::connect(&format!("sqlite://{}/bench.db", dir.path().display())).await?;
            db::run_migration_sets(&db, &amr_server::migration_sets()).await?;
            Ok(Scratch {
                db,
                _dir: Some(dir),
                pg: None,
            })
        } else {
            let admin = Db::connect(url).await?;
            amr_kernel::on_conn!(&admin, c => sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {tag}")))
                .execute(c).await?.rows_affected());
            admin.close().await;
            let (base, _) = url.rsplit_once('/').unwrap_or((url, ""));
            let db = Db::connect(&format!("{base}/{tag}")).await?;
            db::run_migration_sets(&db, &amr_server::migration_sets()).await?;
            Ok(Scratch {
                db,
                _dir: None,
                pg: Some((url.to_string(), tag)),
            })
        }
    }

    async fn drop_it(self) {
        self.db.close().await;
        if let Some((url, name)) = self.pg
            && let Ok(admin) = Db::connect(&url).await
        {
            let _ = amr_kernel::on_conn!(&admin, c => sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                    .execute(c).await.map(|r| r.rows_affected()));
        }
    }
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(what.to_string());
    pb
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn sample_event(i: u32) -> NewEvent {
    NewEvent::public(
        "bench.thing.changed",
        serde_json::json!({"n": i, "name": "济南历下某某商贸有限公司", "status": "存续"}),
    )
    .division("370102")
    .uscc("91370102MA3C4XXX0Q")
}

async fn bench_events(db: &Db, count: u32, runs: u32) -> Result<(), AppError> {
    amr_kernel::on_conn!(db, c => sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_plain (id BIGINT, kind TEXT, uscc TEXT, division TEXT, public BOOLEAN, payload TEXT)"
    ).execute(c).await?.rows_affected());
    let mut ours = Vec::new();
    let mut base = Vec::new();
    for run in 0..runs {
        let pb = bar(u64::from(count), &format!("append run {}", run + 1));
        let t = Instant::now();
        for i in 0..count {
            let mut tx = db.begin().await?;
            events::append(&mut tx, sample_event(i)).await?;
            tx.commit().await?;
            pb.inc(1);
        }
        ours.push(f64::from(count) / t.elapsed().as_secs_f64());
        pb.finish_and_clear();
        let pb = bar(u64::from(count), &format!("baseline run {}", run + 1));
        let t = Instant::now();
        for i in 0..count {
            let e = sample_event(i);
            let mut tx = db.begin().await?;
            amr_kernel::on_tx!(tx, c => sqlx::query(
                "INSERT INTO bench_plain (id, kind, uscc, division, public, payload) VALUES ($1, $2, $3, $4, $5, $6)"
            )
            .bind(i64::from(i)).bind(&e.kind).bind(&e.uscc).bind(&e.division).bind(e.public).bind(e.payload.to_string())
            .execute(&mut *c).await?.rows_affected());
            tx.commit().await?;
            pb.inc(1);
        }
        base.push(f64::from(count) / t.elapsed().as_secs_f64());
        pb.finish_and_clear();
    }
    let (o, b) = (median(ours), median(base));
    println!(
        "backend={} events.append: {o:.0}/s (median of {runs}); baseline plain insert: {b:.0}/s; ratio {:.2}",
        db.backend().name(),
        o / b
    );
    Ok(())
}

async fn bench_stream(db: &Db, count: u32, runs: u32) -> Result<(), AppError> {
    let pb = bar(u64::from(count), "writing events");
    let mut written = 0;
    while written < count {
        let mut tx = db.begin().await?;
        for _ in 0..500.min(count - written) {
            events::append(&mut tx, sample_event(written)).await?;
            written += 1;
        }
        tx.commit().await?;
        pb.set_position(u64::from(written));
    }
    pb.finish_and_clear();
    let state = amr_server::app_state(db.clone(), amr_server::ServerConfig::default());
    let running = amr_server::start(state, "127.0.0.1:0").await?;
    let addr = running.addr;
    let mut ours = Vec::new();
    let mut base = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let lines = read_stream(addr).await?;
        ours.push(f64::from(lines) / t.elapsed().as_secs_f64());
        if lines != count {
            return Err(AppError::Internal(anyhow::anyhow!(
                "stream delivered {lines} of {count} events"
            )));
        }
        let t = Instant::now();
        let mut after = 0;
        let mut n = 0usize;
        loop {
            let page = events::public_after(db, after, 500).await?;
            let Some(last) = page.last() else { break };
            after = last.timepoint;
            for e in &page {
                n += serde_json::to_vec(&e.public_view())
                    .map(|v| v.len())
                    .unwrap_or(0)
                    .min(1);
            }
        }
        base.push(n as f64 / t.elapsed().as_secs_f64());
    }
    running
        .stop()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let (o, b) = (median(ours), median(base));
    println!(
        "backend={} stream delivery: {o:.0} events/s over HTTP (median of {runs}, {count} events); baseline direct read+serialize: {b:.0}/s; ratio {:.2}",
        db.backend().name(),
        o / b
    );
    Ok(())
}

/// Reads `/api/v1/stream?timepoint=0&follow=false` over a raw HTTP/1.1 connection and counts
/// the event lines.
async fn read_stream(addr: std::net::SocketAddr) -> Result<u32, AppError> {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    s.write_all(b"GET /api/v1/stream?timepoint=0&follow=false HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(600), s.read_to_end(&mut buf))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?;
    let text = String::from_utf8_lossy(&buf);
    Ok(text.matches("\"kind\":\"bench.thing.changed\"").count() as u32)
}
