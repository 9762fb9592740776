//! `amr inspect draw --plan PLAN.json --seed HEX --out BUNDLE.json`: freezes the target,
//! inspector and item lists from the database with the server's own freeze code, draws with
//! the seed given (no commitment: the seed is given directly), writes the bundle piece by
//! piece and prints the report. Progress goes to stderr on a terminal.
//!
//! Exit codes: 0 drawn, 2 bad input (plan file, seed, library) or failure.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_supervision::draw::model::{PLAN_FORMAT, Plan, SeedSource};
use amr_supervision::plan::bundle::{BundleWriter, Head};
use amr_supervision::plan::{chunks, engine, freeze, store};

#[derive(Debug, Args)]
pub struct DrawArgs {
    /// The plan (`amr-inspection-plan/1` JSON; see docs/INSPECTION-PLANS.md).
    #[arg(long, value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// The 32-byte seed as 64 hex digits.
    #[arg(long, value_name = "HEX")]
    pub seed: String,
    /// Where to write the bundle.
    #[arg(long, value_name = "BUNDLE.json")]
    pub out: PathBuf,
}

fn bad(field: &str, msg: impl std::fmt::Display) -> AppError {
    AppError::bad_request(field, msg)
}

/// Reads and checks the plan file.
pub fn read_plan(path: &PathBuf) -> Result<Plan, AppError> {
    let bytes = std::fs::read(path).map_err(|e| {
        bad(
            "plan",
            format!(
                "无法读取 {} (cannot read the plan file): {e}",
                path.display()
            ),
        )
    })?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| {
        bad(
            "plan",
            format!("计划文件格式有误 (the plan file is not a valid plan): {e}"),
        )
    })?;
    if plan.format != PLAN_FORMAT {
        return Err(bad(
            "plan",
            format!(
                "计划文件的 format 应为 {PLAN_FORMAT} (the plan's format must be {PLAN_FORMAT}), not {:?}",
                plan.format
            ),
        ));
    }
    if plan.tasks.is_empty() {
        return Err(bad("plan", "计划没有任务 (the plan has no task)"));
    }
    Ok(plan)
}

/// Checks the seed: 64 hex digits, lower-cased.
pub fn parse_seed(s: &str) -> Result<String, AppError> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(
            "seed",
            "种子应为 64 位十六进制数 (the seed is 64 hex digits, 32 bytes)",
        ));
    }
    Ok(s)
}

fn spinner(show: bool, msg: &str) -> ProgressBar {
    let bar = if show {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {human_pos} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("writing the bundle: {e}"))
}

pub async fn run(settings: &crate::config::Settings, a: DrawArgs) -> Result<ExitCode, AppError> {
    let plan = read_plan(&a.plan)?;
    let seed = parse_seed(&a.seed)?;
    let db = crate::commands::open(settings, true).await?;
    let code = draw(&db, a, plan, seed).await;
    db.close().await;
    code
}

async fn draw(db: &Db, a: DrawArgs, plan: Plan, seed: String) -> Result<ExitCode, AppError> {
    let show = std::io::stderr().is_terminal();
    let registry = amr_server::supervision_wiring::RegistryFacts { db: db.clone() };

    let items = store::check_plan(db, &plan).await?;
    let started = Instant::now();
    let bar = spinner(show, "冻结检查对象名录 (freezing the targets)");
    let mut sink = freeze::Sink::Memory(Vec::new());
    let set = freeze::targets(db, &registry, &plan.scope, &mut sink, &mut |n| {
        bar.set_position(n)
    })
    .await?;
    bar.finish_and_clear();
    let freeze_time = started.elapsed();
    let target_chunks = match sink {
        freeze::Sink::Memory(v) => v,
        _ => Vec::new(),
    };
    let target_count = set.len();
    let inspectors = amr_supervision::library::inspectors_for_draw(db, &plan.scope).await?;
    let targets_hash = engine::targets_hash(&set)?;
    let inspectors_hash = engine::inspectors_hash(&inspectors)?;

    let bar = if show {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("抽取 (drawing) {msg} [{bar:30}] {human_pos}/{human_len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let draw_started = Instant::now();
    let (plan, items, inspectors, outcome) = {
        let bar = bar.clone();
        let seed = seed.clone();
        tokio::task::spawn_blocking(move || {
            let out = engine::draw(&plan, &items, &set, &inspectors, &seed, &|p| {
                bar.set_message(p.stage);
                bar.set_length(p.total);
                bar.set_position(p.done);
            });
            out.map(|o| (plan, items, inspectors, o))
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("draw thread: {e}")))??
    };
    bar.finish_and_clear();
    let draw_time = draw_started.elapsed();

    let file = std::fs::File::create(&a.out).map_err(|e| {
        bad(
            "out",
            format!(
                "无法写入 {} (cannot write the bundle): {e}",
                a.out.display()
            ),
        )
    })?;
    let seed_source = SeedSource {
        commitment: None,
        secret: None,
        public_value: None,
        seed,
    };
    let mut w = BundleWriter::new(BufWriter::with_capacity(1 << 20, file));
    w.head(&Head {
        plan: &plan,
        items: &items,
        targets_hash: &targets_hash,
        inspectors_hash: &inspectors_hash,
        seed: &seed_source,
    })?;
    w.open("targets")?;
    for bytes in &target_chunks {
        for t in chunks::decode::<amr_supervision::draw::model::Target>(bytes)? {
            w.element(&t)?;
        }
    }
    w.close()?;
    w.open("inspectors")?;
    for i in &inspectors {
        w.element(i)?;
    }
    w.close()?;
    w.open("samples")?;
    for s in &outcome.samples {
        w.element(s)?;
    }
    w.close()?;
    w.open("visits")?;
    for v in &outcome.visits {
        w.element(v)?;
    }
    w.close()?;
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("source".to_string(), "amr inspect draw".to_string());
    w.finish(&outcome.report, &meta)?.flush().map_err(io)?;

    let r = &outcome.report;
    println!(
        "检查对象 (targets) {}  检查人员 (inspectors) {}  任务 (tasks) {}",
        target_count,
        inspectors.len(),
        plan.tasks.len()
    );
    println!("targets_hash {targets_hash}");
    println!("inspectors_hash {inspectors_hash}");
    for (label, o) in [
        ("协同 (coordinated)", &r.coordinated),
        ("独立 (independent)", &r.independent),
        ("最大 (maximum)", &r.maximum),
    ] {
        println!(
            "{label}: 抽取 (draws) {:.1}  检查 (visits) {:.1}  联合 (joint) {:.1}  联合比例 (joint ratio) {:.2}%",
            o.draws,
            o.visits,
            o.joint_visits,
            o.joint_ratio * 100.0
        );
    }
    println!("人员不足 (unstaffed visits) {}", r.unstaffed_visits);
    println!(
        "冻结 (freeze) {:.2} s  抽取 (draw) {:.2} s  → {}",
        freeze_time.as_secs_f64(),
        draw_time.as_secs_f64(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
