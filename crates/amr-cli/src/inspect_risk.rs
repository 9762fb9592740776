//! `amr inspect risk`: the credit-risk classes on the database.
//!
//! - `recompute [--scope 37]`: scores every entity of the jurisdiction (all by default) under
//!   the model in force, with a progress bar; a run row records the counts per class.
//! - `show USCC`: the stored class, score, model version and reasons of one entity.

use std::process::ExitCode;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use amr_kernel::audit::Actor;
use amr_kernel::auth::Scope;
use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_registry::store::{self as registry, EntityFilter};
use amr_server::supervision_wiring::RegistryFacts;
use amr_supervision::risk::{batch, store};
use amr_supervision::targets::RegistrySource;

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// Recompute the classes of every entity (or of one jurisdiction) now.
    Recompute {
        /// A division-code prefix: 37 (province), 3701 (city), 370102 (county).
        #[arg(long, value_name = "CODE")]
        scope: Option<String>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Print one entity's class and the reasons behind it.
    Show {
        /// The entity's unified social credit code.
        uscc: String,
    },
}

pub async fn run(db: &Db, c: RiskCommand) -> Result<ExitCode, AppError> {
    match c {
        RiskCommand::Recompute { scope, quiet } => recompute(db, scope.as_deref(), quiet).await,
        RiskCommand::Show { uscc } => show(db, &uscc).await,
    }
}

async fn recompute(db: &Db, scope: Option<&str>, quiet: bool) -> Result<ExitCode, AppError> {
    let prefix = match scope.map(str::trim).filter(|s| !s.is_empty()) {
        None => String::new(),
        Some(s) => Jurisdiction::parse(s)
            .map_err(|e| AppError::bad_request("scope", e))?
            .prefix()
            .to_string(),
    };
    let _guard = batch::RunGuard::acquire()?;
    let total = registry::count_scoped(db, &Scope::prefix(&prefix), &EntityFilter::default())
        .await?
        .max(0) as u64;
    let pb = if quiet {
        ProgressBar::hidden()
    } else {
        let pb = ProgressBar::new(total);
        pb.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {human_pos}/{human_len} {per_sec} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_message("信用风险分类 (credit-risk classes)");
        pb
    };
    let trigger = if prefix.is_empty() {
        "cli".to_string()
    } else {
        format!("cli scope={prefix}")
    };
    let run = batch::begin_run(db, &trigger).await?;
    let source = RegistryFacts { db: db.clone() };
    let started = std::time::Instant::now();
    let today = batch::today_in_china();
    let s = batch::recompute_all(db, &source, &prefix, run, &Actor::cli(), today, |n| {
        pb.set_position(n)
    })
    .await?;
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "运行 {} (run): {} 个主体 (entities) in {:.1} s ({:.0}/s); A {} B {} C {} D {}; 注销移除 (removed) {}; 模型 (model) {}",
        s.run_id,
        s.entities,
        secs,
        s.entities as f64 / secs.max(1e-9),
        s.by_class.a,
        s.by_class.b,
        s.by_class.c,
        s.by_class.d,
        s.removed,
        s.model_version
    );
    Ok(ExitCode::SUCCESS)
}

async fn show(db: &Db, uscc: &str) -> Result<ExitCode, AppError> {
    let uscc = Uscc::parse(uscc.trim()).map_err(|e| AppError::bad_request("uscc", e))?;
    let source = RegistryFacts { db: db.clone() };
    let Some(facts) = source.get(uscc.as_str()).await? else {
        eprintln!("未找到该主体 (no such entity): {}", uscc.as_str());
        return Ok(ExitCode::from(1));
    };
    let model = store::model(db).await?;
    println!("{} {} ({})", facts.uscc, facts.name, facts.division);
    match store::get(db, &Scope::all(), uscc.as_str()).await? {
        None => println!("类别 (class): B — 尚未计算，按 B 类对待 (not scored yet: counts as B)"),
        Some(s) => {
            println!(
                "类别 (class): {}  分数 (score): {}  模型 (model): {}  计算于 (computed): {}",
                s.class.as_str(),
                s.score,
                s.model_version,
                s.computed_at.format("%Y-%m-%d %H:%M:%S UTC")
            );
            if s.reasons.is_empty() {
                println!("  各项指标均未加分 (no indicator added points)");
            }
            for r in &s.reasons {
                println!("  +{:<5} {} ({})", r.points, r.text_zh, r.text_en);
            }
        }
    }
    for r in model.unsourced() {
        println!("  ·      {} ({})", r.text_zh, r.text_en);
    }
    Ok(ExitCode::SUCCESS)
}

/// The demo's share of listed entities: about 1 in 40 on the abnormal-operation list and 1 in
/// 250 also on the serious-violation list, chosen by a hash of the demo seed and the USCC (so
/// the same demo gets the same listings), set through the registry's own flag path (audited,
/// evented) in transactions of 500. They stand in for the lists of a later issue.
const ABNORMAL_PER_MILLE: u32 = 25;
const SERIOUS_PER_MILLE: u32 = 4;

fn listed(seed: u64, uscc: &str) -> (bool, bool) {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"amr-demo-flags-v1");
    h.update(seed.to_be_bytes());
    h.update(uscc.as_bytes());
    let d = h.finalize();
    let v = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 1000;
    (v < ABNORMAL_PER_MILLE, v < SERIOUS_PER_MILLE)
}

/// `amr demo`'s credit-risk step: list flags on the demo's share of entities, then a full
/// recompute of the classes, each with a progress bar.
pub async fn demo_step(db: &Db, seed: u64, province: &str) -> Result<(), AppError> {
    use amr_registry::lifecycle::deregistration::set_flags;
    use amr_registry::lifecycle::rules::Bars;

    let scope = Scope::prefix(province);
    let total = registry::count_scoped(db, &scope, &EntityFilter::default())
        .await?
        .max(0) as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {human_pos}/{human_len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("经营异常/严重违法标记 (demo list flags)");
    let mut chosen: Vec<(String, Bars)> = Vec::new();
    registry::stream_scoped(db, &scope, &EntityFilter::default(), |e| {
        bar.inc(1);
        let (abnormal, serious) = listed(seed, &e.uscc);
        if abnormal && e.status.as_str() == "active" {
            chosen.push((
                e.uscc.clone(),
                Bars {
                    abnormal_list: true,
                    serious_list: serious,
                    ..Bars::default()
                },
            ));
        }
        Ok(())
    })
    .await?;
    let actor = Actor::cli();
    let mut set = 0u64;
    for part in chosen.chunks(500) {
        let mut tx = db.begin().await?;
        for (uscc, bars) in part {
            match set_flags(&mut tx, &actor, &scope, uscc, *bars, "示范数据 (demo data)").await
            {
                Ok(_) => set += 1,
                // Already so (a demo run twice): nothing to change.
                Err(AppError::Rejected { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
    }
    bar.finish_and_clear();
    println!("示范名录标记 (demo list flags): {set} 个主体 (entities)");
    recompute(db, Some(province), false).await?;
    Ok(())
}
