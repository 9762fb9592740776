//! `amr abnormal sweep`: the abnormal-operation list's sweep from the command line
//! (docs/ANNUAL-REPORTS.md).
//!
//! - `amr abnormal sweep [--today YYYY-MM-DD]` runs the daily sweep on the day given (default
//!   today in China): the no-report listing within its window, warnings, transfers.
//! - `amr abnormal sweep --year Y --decide-late --reason TEXT` lists the year's missed reports
//!   after the 10-working-day window when the server was down for the whole of it; each
//!   listing records that it was decided late and why. Refused within or before the window
//!   and once the year's listing has been completed.
//!
//! Prints one JSON line with what was done.

use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;

use amr_kernel::audit::Actor;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_registry::abnormal::store;

#[derive(Debug, Subcommand)]
pub enum AbnormalCommand {
    /// Run the sweep on a day, or (`--year Y --decide-late --reason TEXT`) decide a year's
    /// missed reports after the window.
    Sweep {
        /// The day to run on (default today in China).
        #[arg(long, value_name = "YYYY-MM-DD")]
        today: Option<String>,
        /// The report year whose missed reports are decided late (with --decide-late).
        #[arg(long)]
        year: Option<i32>,
        /// Decide the year's listing after its window (the server was down for all of it).
        #[arg(long, requires = "year", requires = "reason")]
        decide_late: bool,
        /// Why the listing is decided late (recorded on each listing, published with it).
        #[arg(long)]
        reason: Option<String>,
    },
}

fn parse_day(s: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::bad_request(
            "today",
            format!("{s:?} 不是日期 YYYY-MM-DD (is not a date YYYY-MM-DD)"),
        )
    })
}

pub async fn run(db: &Db, cmd: AbnormalCommand) -> Result<ExitCode, AppError> {
    match cmd {
        AbnormalCommand::Sweep {
            today,
            year,
            decide_late,
            reason,
        } => {
            let today = match today {
                Some(s) => parse_day(&s)?,
                None => amr_kernel::matter::today(),
            };
            let cal = amr_kernel::calendar_store::load(db).await?;
            if decide_late {
                let year = year.unwrap_or_default();
                let listed = store::decide_late(
                    db,
                    &cal,
                    &Actor::cli(),
                    year,
                    reason.as_deref().unwrap_or(""),
                    today,
                )
                .await?;
                println!(
                    "{}",
                    serde_json::json!({"year": year, "decided_late": true, "listed": listed, "today": today})
                );
            } else {
                if year.is_some() {
                    return Err(AppError::bad_request(
                        "year",
                        "--year 只与 --decide-late 一起使用；每日核查的年度由日期决定 (--year goes with --decide-late; the daily sweep's year follows the day)",
                    ));
                }
                let o = store::sweep(db, &cal, today).await?;
                println!(
                    "{}",
                    serde_json::json!({"today": today, "listed": o.listed, "warned": o.warned, "transferred": o.transferred})
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
