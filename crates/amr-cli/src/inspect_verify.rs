//! `amr inspect …`: random inspections from the command line. `verify BUNDLE.json` recomputes
//! a published draw from the bundle alone (no database): the hashes of the frozen lists, the
//! seed against its commitment, the samples, the visits, the crews and the shortfalls.
//!
//! Exit status of `verify`: 0 everything matches; 1 a difference (the first ones are printed);
//! 2 the bundle cannot be read.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use amr_kernel::error::AppError;
use amr_supervision::draw::{self, Progress};

use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// Recompute a published draw from its bundle: exit 0 if everything matches, 1 if not.
    Verify(VerifyArgs),
    /// Time the draw on a synthetic province (figures for docs/PERFORMANCE.md).
    Bench(crate::inspect_bench::BenchArgs),
    /// Draw a plan file against the database with a given seed and write the bundle.
    Draw(crate::inspect_draw::DrawArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle (`-` for standard input).
    pub bundle: PathBuf,
    /// Print the result as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// No progress on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

pub async fn run(settings: &Settings, c: InspectCommand) -> Result<ExitCode, AppError> {
    match c {
        InspectCommand::Draw(a) => crate::inspect_draw::run(settings, a).await,
        InspectCommand::Verify(a) => tokio::task::spawn_blocking(move || verify(a))
            .await
            .map_err(|e| AppError::Internal(e.into()))?,
        InspectCommand::Bench(a) => {
            tokio::task::spawn_blocking(move || crate::inspect_bench::run(a))
                .await
                .map_err(|e| AppError::Internal(e.into()))?
        }
    }
}

fn check_name(name: &str) -> &'static str {
    match name {
        "format" => "格式与算法版本 (format and algorithm)",
        "targets_hash" => "检查对象名录哈希 (target list hash)",
        "inspectors_hash" => "执法人员名录哈希 (inspector list hash)",
        "seed" => "随机种子 (seed: commitment, secret, public value)",
        "plan" => "抽查计划 (plan)",
        "samples" => "各任务样本 (task samples)",
        "visits" => "检查户次 (visits)",
        "crews" => "执法人员选派 (inspector crews)",
        "shortfalls" => "人员不足记录 (shortfalls)",
        "report" => "统计报告 (report)",
        _ => "其他 (other)",
    }
}

fn verify(a: VerifyArgs) -> Result<ExitCode, AppError> {
    let reader: Box<dyn std::io::Read> = if a.bundle.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        match std::fs::File::open(&a.bundle) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!(
                    "错误 (error): 无法打开 {} (cannot open the bundle): {e}",
                    a.bundle.display()
                );
                return Ok(ExitCode::from(2));
            }
        }
    };
    if !a.quiet {
        eprintln!("读取抽查结果包… (reading the bundle)");
    }
    let bundle = match draw::read_bundle(reader) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("错误 (error): {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let quiet = a.quiet;
    let last = std::sync::Mutex::new("");
    let progress = move |p: Progress| {
        if quiet {
            return;
        }
        let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
        if *l != p.stage {
            *l = p.stage;
            eprintln!("  重新抽取：{} (redrawing: {})", p.stage, p.stage);
        }
    };
    let report = draw::verify(&bundle, &progress);
    let mut out = std::io::stdout().lock();
    if a.json {
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| AppError::Internal(e.into()))?;
        let _ = writeln!(out, "{text}");
    } else {
        let _ = writeln!(
            out,
            "抽查结果包核验 (bundle verification): {} [{}]",
            bundle.plan.name, bundle.plan.period
        );
        let _ = writeln!(
            out,
            "  检查对象 {} 户，执法人员 {} 名，检查户次 {} (targets, inspectors, visits)",
            report.targets, report.inspectors, report.visits
        );
        for c in &report.checks {
            let mark = if c.ok {
                "一致 (ok)      "
            } else {
                "不一致 (DIFFERS)"
            };
            let _ = writeln!(out, "  {mark} {}", check_name(&c.name));
            for d in &c.differences {
                let _ = writeln!(out, "      - {d}");
            }
        }
        let r = &bundle.report;
        let _ = writeln!(
            out,
            "  联合检查 (joint visits): {} / {} = {:.1}%；独立抽取期望 (independent, expected) {:.1}%；上限 (maximum) {:.1}%",
            r.coordinated.joint_visits,
            r.coordinated.visits,
            r.coordinated.joint_ratio * 100.0,
            r.independent.joint_ratio * 100.0,
            r.maximum.joint_ratio * 100.0
        );
        if bundle.seed.commitment.is_none() {
            let _ = writeln!(
                out,
                "  注意：种子为直接给定，没有事先公布的承诺值，无法核验种子未被挑选 (note: the seed was given directly, with no commitment published in advance; nobody can check it was not chosen)"
            );
        }
        if report.ok {
            let _ = writeln!(
                out,
                "结论：全部一致，抽取结果可由公开数据重现 (result: everything matches; the draw is reproduced from the published data)"
            );
        } else {
            let _ = writeln!(
                out,
                "结论：不一致，抽取结果无法由公开数据重现 (result: MISMATCH; the published result is not what the published data give)"
            );
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
