//! `amr`: the one binary that runs the AMR platform and its chores.
#![forbid(unsafe_code)]

mod abnormal;
mod address;

/// mimalloc rather than the system allocator: bulk loads allocate row values on one thread
/// and free them on SQLite's, and glibc's malloc spends much of that time consolidating
/// (see docs/PERFORMANCE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod address_db;
mod agency_sim;
mod bench;
mod commands;
mod complaints_bench;
mod config;
mod demo;
mod exchange;
mod guide;
mod import;
mod inspect_bench;
mod inspect_draw;
mod inspect_library;
mod inspect_risk;
mod inspect_verify;
mod review;
mod sign;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// AMR — 市场监督管理综合服务平台 (market regulation platform).
#[derive(Debug, Parser)]
#[command(name = "amr", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings shared by every command. Precedence: flag, then environment, then the TOML file.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// TOML configuration file (keys: database_url, listen, public_url, cookie_secure,
    /// session_ttl_minutes, trust_proxy, log, max_failures_per_user, max_failures_per_ip,
    /// search_dir, signing_key_file, identity_verifier, identity_verifier_file,
    /// identity_verifier_url, identity_verifier_api_key, identity_verifier_timeout_seconds,
    /// identity_verifier_ca_file).
    #[arg(long, global = true, env = "AMR_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database: sqlite://FILE (default sqlite://data/amr.db) or postgres://USER@HOST:PORT/DB.
    #[arg(long, global = true, env = "AMR_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// The deployment's secret signing key (default data/keys/signing.key; created on first
    /// start with mode 0600).
    #[arg(long, global = true, env = "AMR_SIGNING_KEY_FILE", value_name = "FILE")]
    pub signing_key_file: Option<PathBuf>,
    /// Log filter, e.g. info, debug, amr_server=debug.
    #[arg(long, global = true, env = "AMR_LOG", value_name = "FILTER")]
    pub log: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (migrates the embedded SQLite database automatically).
    Serve(commands::ServeArgs),
    /// Apply pending database migrations (or list them with --status).
    Migrate(commands::MigrateArgs),
    /// Unified social credit codes and organization codes.
    #[command(subcommand)]
    Code(commands::CodeCommand),
    /// Administrative divisions (GB/T 2260 and town codes).
    #[command(subcommand)]
    Division(commands::DivisionCommand),
    /// The working-day calendar: query it, import next year's schedule.
    #[command(subcommand)]
    Calendar(commands::CalendarCommand),
    /// Accounts: create officers, administrators and enterprise users.
    #[command(subcommand)]
    User(commands::UserCommand),
    /// API keys for partner agencies.
    #[command(subcommand)]
    Key(commands::KeyCommand),
    /// Bulk import: `amr import entities FILE.csv|FILE.xlsx` (streaming, resumable, error report).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// The deployment's signing key: `show` the published keys, `rotate` to a new key.
    #[command(subcommand)]
    SigningKey(commands::SigningKeyCommand),
    /// Check signed things offline: `amr verify enterprise-code PAYLOAD --key KEY
    /// [--status-url URL]` (exit 0 authentic and current, 1 not, 2 bad input).
    #[command(subcommand)]
    Verify(verify::VerifyCommand),
    /// The entity search index.
    #[command(subcommand)]
    Search(commands::SearchCommand),
    /// Generate the demo province (a synthetic Shandong) into the database.
    Demo(demo::DemoArgs),
    /// Measure the event log on the configured database (figures for docs/PERFORMANCE.md).
    Bench(bench::BenchArgs),
    /// Addresses: `amr address parse` (stdin → JSON lines; no database); `check`,
    /// `library import`, `risk rebuild` (on the database).
    #[command(subcommand)]
    Address(address::AddressCommand),
    /// The lifecycle service guide: `amr guide import FILE.csv|FILE.xlsx`.
    #[command(subcommand)]
    Guide(guide::GuideCommand),
    /// A Hong Kong investor's own signing key, offline: `keygen`, `binding`, `filing-hash`.
    #[command(subcommand)]
    Sign(sign::SignCommand),
    /// Random inspections (双随机、一公开): `verify BUNDLE.json` recomputes a published draw
    /// (exit 0 everything matches, 1 a difference, 2 unreadable); `draw` draws a plan file
    /// against the database; `bench` times the draw; `import-items|import-inspectors FILE` (the
    /// item list and the inspectors); `risk recompute|show` (credit-risk classes).
    #[command(subcommand)]
    Inspect(InspectCommand),
    /// Review a text against a rule file: `amr review contract [FILE]` (unfair standard-form
    /// clauses; one JSON line per finding, character offsets; exit 0 found or not, 2 on
    /// unreadable input; no database).
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// Data exchange with partner agencies: `agency add|list|change|disable`, `status`,
    /// `export --agency NAME [--from --to]` (evidence as JSON lines).
    #[command(subcommand)]
    Exchange(exchange::ExchangeCommand),
    /// The abnormal-operation list: `sweep [--today D]` runs the daily sweep; `sweep --year Y
    /// --decide-late --reason TEXT` lists a year's missed reports after the window.
    #[command(subcommand)]
    Abnormal(abnormal::AbnormalCommand),
    /// Play a partner agency over HTTP (demo, tests, figures): verifies AMR's signatures,
    /// applies each idempotency key once, answers with signed acknowledgements.
    AgencySim(agency_sim::AgencySimArgs),
}

/// `amr inspect ...`.
#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    #[command(flatten)]
    Engine(inspect_verify::InspectCommand),
    #[command(flatten)]
    Library(inspect_library::LibraryCommand),
    /// Credit-risk classes A/B/C/D: `recompute [--scope 37]`, `show USCC`.
    #[command(subcommand)]
    Risk(inspect_risk::RiskCommand),
}

fn main() -> ExitCode {
    let cli = match commands::offline(Cli::parse()) {
        Ok(result) => return finish(result),
        Err(cli) => *cli,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("错误 (error): cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    finish(runtime.block_on(commands::run(cli)))
}

/// The exit status of a command; an error printed (with its causes) and status 2.
fn finish(result: Result<ExitCode, amr_kernel::error::AppError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误 (error): {e}");
            if let amr_kernel::error::AppError::Internal(inner) = &e {
                for cause in inner.chain().skip(1) {
                    eprintln!("  caused by: {cause}");
                }
            }
            ExitCode::from(2)
        }
    }
}
