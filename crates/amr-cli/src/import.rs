//! `amr import entities FILE`: bulk registration from a CSV or XLSX file, streaming, resumable.
//!
//! The file is read row by row (never whole). Rows are parsed with `RawEntity::parse`; valid
//! rows go into the registry in batches, each batch in one transaction together with the job's
//! progress (`import_jobs.rows_done`), so a kill at any point followed by the same command
//! resumes after the last committed batch: no row twice, none lost (rows whose code is already
//! registered are skipped). Invalid rows go to the error report (`FILE.errors.csv` by
//! default): `row,field,reason`, row numbers counting data rows from 1. On a resume the
//! report keeps the lines of the rows already committed and goes on from there.
//!
//! The job is identified by the SHA-256 of the file's content, so the same file is the same
//! job whatever its name; a finished job is not run again.
//!
//! Columns (a header row is required; order free; unknown or repeated columns are an error):
//! `uscc, name, entity_type, legal_rep, legal_rep_id, phone, capital, established, address,
//! division, scope, industry, status`, or their Chinese names (统一社会信用代码, 名称, 类型,
//! 法定代表人, 证件号码, 联系电话, 注册资本, 成立日期, 住所, 行政区划代码, 经营范围, 行业代码,
//! 登记状态; see `source::ALIASES`) — see `RawEntity` for the accepted forms.
//!
//! A file whose name ends in `.xlsx` is read as a workbook: its first sheet, the first row
//! with cells as the header, streamed cell by cell (`source`); date cells become `YYYY-MM-DD`,
//! whole numbers lose their `.0`, and an 18-digit code stored as a number (which Excel has
//! already rounded) is refused for that row. Anything else is read as CSV (UTF-8).

mod source;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};

use source::{SourceRow, Unit, canonical_headers, open_source};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use amr_kernel::audit::Actor;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_registry::model::{NewEntity, RawEntity};
use amr_registry::store;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Register business entities from a CSV (UTF-8) or XLSX file with a header row, resumable.
    Entities(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV or XLSX file.
    pub file: PathBuf,
    /// Rows per transaction.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch: u64,
    /// Where to write the error report (default: FILE.errors.csv).
    #[arg(long)]
    pub errors: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub rows: i64,
    pub failed: i64,
    pub inserted: u64,
    pub skipped_existing: u64,
    pub resumed_from: i64,
}

fn io_err(file: &Path, e: impl std::fmt::Display) -> AppError {
    AppError::bad_request(
        "file",
        format!("无法读取 {} (cannot read the file): {e}", file.display()),
    )
}

fn file_key(file: &Path) -> Result<String, AppError> {
    let mut f = File::open(file).map_err(|e| io_err(file, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| io_err(file, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("entities:{}", hex::encode(h.finalize())))
}

/// Keeps the report lines of rows up to `rows_done` (those committed), drops the rest.
fn trim_report(report: &Path, rows_done: i64) -> Result<Vec<String>, AppError> {
    let Ok(f) = File::open(report) else {
        return Ok(Vec::new());
    };
    let mut kept = Vec::new();
    for line in BufReader::new(f).lines().map_while(Result::ok).skip(1) {
        let row: i64 = line
            .split(',')
            .next()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        if row <= rows_done {
            kept.push(line);
        }
    }
    Ok(kept)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub async fn run(db: &Db, cmd: ImportCommand) -> Result<ExitCode, AppError> {
    let ImportCommand::Entities(args) = cmd;
    let report = import_entities(db, &Actor::cli(), &args).await?;
    println!(
        "导入完成 (import finished): {} 行 (rows), 新增 {} (inserted), 已存在 {} (already registered), 错误 {} (refused){}",
        report.rows,
        report.inserted,
        report.skipped_existing,
        report.failed,
        if report.resumed_from > 0 {
            format!(
                ", 自第 {} 行续传 (resumed after row {})",
                report.resumed_from, report.resumed_from
            )
        } else {
            String::new()
        }
    );
    Ok(if report.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Imports `args.file`; see the module docs.
pub async fn import_entities(
    db: &Db,
    actor: &Actor,
    args: &ImportArgs,
) -> Result<ImportReport, AppError> {
    let file = &args.file;
    let key = file_key(file)?;
    let job = store::job_start(db, &key, &file.display().to_string()).await?;
    let report_path = args
        .errors
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.errors.csv", file.display())));
    if job.finished_at.is_some() {
        return Ok(ImportReport {
            rows: job.rows_done,
            failed: job.rows_failed,
            resumed_from: job.rows_done,
            ..ImportReport::default()
        });
    }
    let kept = trim_report(&report_path, job.rows_done)?;
    let bulk = store::bulk_load_begin(db).await?;
    let mut errors = File::create(&report_path).map_err(|e| {
        AppError::bad_request(
            "errors",
            format!(
                "无法写入错误报告 {} (cannot write the error report): {e}",
                report_path.display()
            ),
        )
    })?;
    let write_err = |e: std::io::Error| AppError::Internal(e.into());
    writeln!(errors, "row,field,reason").map_err(write_err)?;
    for line in &kept {
        writeln!(errors, "{line}").map_err(write_err)?;
    }

    let source = open_source(file)?;
    let total = source.total;
    let mut rows = source.rows;
    let headers = match rows.recv().await {
        Some(SourceRow { fields: Ok(h), .. }) => h,
        Some(SourceRow { fields: Err(e), .. }) => return Err(io_err(file, e)),
        None => return Err(io_err(file, "文件为空 (the file is empty)")),
    };
    let headers = canonical_headers(&headers)?;
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(match source.unit {
            Unit::Bytes => "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            Unit::Rows => "{msg} [{bar:30}] {pos}/{len} 行 (rows) {per_sec} ETA {eta}",
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message("导入 (importing)");

    let mut out = ImportReport {
        resumed_from: job.rows_done,
        ..ImportReport::default()
    };
    let (mut done, mut failed) = (job.rows_done, job.rows_failed);
    let mut good: Vec<NewEntity> = Vec::with_capacity(args.batch as usize);
    let mut bad: Vec<String> = Vec::new();
    let mut pending: i64 = 0;
    let mut last_row = done;
    loop {
        let next = rows.recv().await;
        let mut position = None;
        if let Some(SourceRow { row, pos, fields }) = next.as_ref()
            && *row > done
        {
            position = Some(*pos);
            last_row = *row;
            pending += 1;
            let parsed = fields.as_ref().map_err(Clone::clone).and_then(|rec| {
                if rec.iter().skip(headers.len()).any(|f| !f.is_empty()) {
                    return Err(format!(
                        "该行有 {} 列，多于表头的 {} 列 (more values than header columns)",
                        rec.len(),
                        headers.len()
                    ));
                }
                rec.deserialize::<RawEntity>(Some(&headers))
                    .map_err(|e| format!("无法解析该行 (malformed row): {e}"))
            });
            match parsed {
                Ok(raw) => match raw.parse() {
                    Ok(e) => good.push(e),
                    Err(errs) => {
                        for fe in errs {
                            bad.push(format!("{row},{},{}", fe.field, csv_field(&fe.message)));
                        }
                        failed += 1;
                    }
                },
                Err(e) => {
                    bad.push(format!("{row},row,{}", csv_field(&e)));
                    failed += 1;
                }
            }
        }
        let full = pending >= args.batch as i64;
        if (full || next.is_none()) && pending > 0 {
            for line in bad.drain(..) {
                writeln!(errors, "{line}").map_err(write_err)?;
            }
            errors.flush().map_err(write_err)?;
            let mut tx = db.begin().await?;
            let o = store::insert_batch_in(&mut tx, actor, &good).await?;
            done = last_row;
            store::job_progress(&mut tx, &key, done, failed).await?;
            tx.commit().await?;
            out.inserted += o.inserted;
            out.skipped_existing += o.skipped_existing;
            good.clear();
            pending = 0;
        }
        if let Some(p) = position {
            pb.set_position(p);
        }
        if next.is_none() {
            break;
        }
    }
    if let Some(e) = source
        .reader
        .await
        .map_err(|e| AppError::Internal(e.into()))?
    {
        // The reader stopped on an unreadable file; what was read before is committed.
        pb.finish_and_clear();
        return Err(io_err(file, e));
    }
    pb.finish_and_clear();
    if bulk {
        crate::demo::build_indexes(db, true).await?;
    }
    store::job_finish(db, &key).await?;
    out.rows = done;
    out.failed = failed;
    Ok(out)
}
