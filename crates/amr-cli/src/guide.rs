//! `amr guide import FILE [--division 37]`: imports service items of the lifecycle guide
//! from a CSV or XLSX file, printing each refused row with its reason (exit code 2 when any
//! row was refused).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Scope;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_registry::guide::{store, table};

#[derive(Debug, Subcommand)]
pub enum GuideCommand {
    /// Import service items from a CSV or XLSX file (headers in Chinese or English); items
    /// with a known key are updated.
    Import {
        file: PathBuf,
        /// The area of rows that name none: a 2-, 4- or 6-digit division code.
        #[arg(long, default_value = "37")]
        division: String,
    },
}

pub async fn run(db: &Db, cmd: GuideCommand) -> Result<ExitCode, AppError> {
    match cmd {
        GuideCommand::Import { file, division } => {
            let bytes = std::fs::read(&file).map_err(|e| {
                AppError::bad_request(
                    "file",
                    format!("无法读取 {} (cannot read the file): {e}", file.display()),
                )
            })?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let rows = table::read(&name, &bytes)?;
            let report = store::import(
                db,
                &Actor::cli(),
                &Scope::all(),
                &division,
                &format!("import:{name}"),
                &rows,
            )
            .await?;
            for e in &report.errors {
                eprintln!("第 {} 行 (row {}) {}: {}", e.row, e.row, e.field, e.message);
            }
            println!(
                "{} 行：新增 {}，更新 {}，未变 {}，有误 {} (rows {}: added {}, updated {}, unchanged {}, refused {})",
                report.rows,
                report.added,
                report.updated,
                report.unchanged,
                report.errors.len(),
                report.rows,
                report.added,
                report.updated,
                report.unchanged,
                report.errors.len()
            );
            Ok(if report.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
    }
}

/// The demo's service guide and 名特优新 (after the demo province): imports the default
/// catalogue (known items stay as they are) and classifies the demo share of individual
/// businesses. Prints one line.
pub async fn demo_step(db: &Db, province: &str) -> Result<(), AppError> {
    let rows = table::read(
        "catalogue.csv",
        amr_registry::guide::DEFAULT_CATALOGUE.as_bytes(),
    )?;
    let guide = store::import(
        db,
        &Actor::cli(),
        &Scope::all(),
        "37",
        "demo:catalogue.csv",
        &rows,
    )
    .await?;
    // Reading every individual business and classifying one in 200 takes minutes in a
    // province of millions: a spinner while reading, then a bar.
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(
        "名特优新示范认定：读取个体工商户 (featured demo: reading individual businesses)",
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let progress = |done: u64, total: u64| {
        if done == 0 {
            bar.set_length(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {human_pos}/{human_len} {per_sec} {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message("名特优新示范认定 (featured demo)");
        }
        bar.set_position(done);
    };
    let featured = amr_registry::featured::demo::classify_with_progress(
        db,
        province,
        amr_registry::model::today_in_china(),
        &progress,
    )
    .await;
    bar.finish_and_clear();
    let featured = featured?;
    println!(
        "服务指南事项 {} 项（新增 {}）；名特优新认定 {} 户，扶持措施 {} 条 \
         (guide items: {} added of {}; featured businesses confirmed: {}, support measures: {})",
        guide.rows,
        guide.added,
        featured.confirmed,
        featured.support,
        guide.added,
        guide.rows,
        featured.confirmed,
        featured.support
    );
    Ok(())
}
