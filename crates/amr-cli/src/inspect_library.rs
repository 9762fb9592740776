//! `amr inspect import-items FILE` and `amr inspect import-inspectors FILE`: import the
//! random-inspection item list or inspectors from a CSV or XLSX file, all or nothing; each
//! refused row is printed with its line, column and reason (exit code 2 when any was refused,
//! and then nothing was imported). Also the demo step of the inspection library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use amr_kernel::audit::Actor;
use amr_kernel::auth::Scope;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_supervision::library::{demo, store, table};

/// The library's subcommands of `amr inspect` (flattened into the `inspect` group).
#[derive(Debug, Subcommand)]
pub enum LibraryCommand {
    /// Import inspection items (抽查事项) from a CSV or XLSX file; known codes are updated.
    ImportItems { file: PathBuf },
    /// Import inspectors (执法检查人员) from a CSV or XLSX file; known ids are updated.
    ImportInspectors { file: PathBuf },
}

fn read_file(file: &Path) -> Result<(String, Vec<u8>), AppError> {
    let bytes = std::fs::read(file).map_err(|e| {
        AppError::bad_request(
            "file",
            format!("无法读取 {} (cannot read the file): {e}", file.display()),
        )
    })?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok((name, bytes))
}

fn print(report: &store::ImportReport) -> ExitCode {
    for e in &report.errors {
        eprintln!(
            "第 {} 行 (row {}) 【{}】: {}",
            e.row, e.row, e.column, e.message
        );
    }
    if report.ok() {
        println!(
            "{} 行：新增 {}，更新 {}，未变 {}；新建部门 {}，新建领域 {} (rows {}: added {}, updated {}, unchanged {}; departments created {}, domains created {})",
            report.rows,
            report.added,
            report.updated,
            report.unchanged,
            report.departments_added,
            report.domains_added,
            report.rows,
            report.added,
            report.updated,
            report.unchanged,
            report.departments_added,
            report.domains_added
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "{} 行中 {} 处有误，未导入任何内容 ({} rows, {} errors: nothing imported)",
            report.rows,
            report.errors.len(),
            report.rows,
            report.errors.len()
        );
        ExitCode::from(2)
    }
}

/// Runs a library subcommand at the command line (national scope, recorded as the CLI user).
pub async fn run(db: &Db, cmd: LibraryCommand) -> Result<ExitCode, AppError> {
    match cmd {
        LibraryCommand::ImportItems { file } => {
            let (name, bytes) = read_file(&file)?;
            let t = table::read(
                &name,
                &bytes,
                table::ITEM_COLUMNS,
                table::ITEM_REQUIRED,
                1_000_000,
            )?;
            let report = store::import_items(
                db,
                &Actor::cli(),
                &Scope::all(),
                &format!("import:{name}"),
                &t,
            )
            .await?;
            Ok(print(&report))
        }
        LibraryCommand::ImportInspectors { file } => {
            let (name, bytes) = read_file(&file)?;
            let t = table::read(
                &name,
                &bytes,
                table::INSPECTOR_COLUMNS,
                table::INSPECTOR_REQUIRED,
                1_000_000,
            )?;
            let report = store::import_inspectors(
                db,
                &Actor::cli(),
                &Scope::all(),
                &format!("import:{name}"),
                &t,
            )
            .await?;
            Ok(print(&report))
        }
    }
}

/// The demo's inspection library (after the demo province): departments, domains, items and
/// inspectors from the demo seed, conflicts with real demo entities. A progress bar on a
/// terminal; one line printed.
pub async fn demo_step(db: &Db, seed: u64, province: &str) -> Result<(), AppError> {
    let registry = amr_server::supervision_wiring::RegistryFacts { db: db.clone() };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {human_pos}/{human_len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("一单两库 (inspection library)");
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let summary = demo::seed(db, &Actor::cli(), &registry, seed, province, &progress).await;
    bar.finish_and_clear();
    println!("{}", summary?);
    Ok(())
}
