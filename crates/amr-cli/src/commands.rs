//! The subcommands.

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use amr_kernel::audit::Actor;
use amr_kernel::auth::{Role, Scope, password, store};
use amr_kernel::calendar::Calendar;
use amr_kernel::codes::division::{Jurisdiction, divisions};
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::db::{self, Backend, Db};
use amr_kernel::error::AppError;

use crate::config::{self, Given, Settings};
use crate::{Cli, Command};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "AMR_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// The public address people open, e.g. https://amr.example.gov.cn (links, secure cookies).
    #[arg(long, env = "AMR_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Cookie Secure attribute: auto (by the request's scheme), always or never.
    #[arg(long, env = "AMR_COOKIE_SECURE", value_name = "auto|always|never")]
    pub cookie_secure: Option<String>,
    /// Start with demo data when the database is empty: demo accounts and a demo province.
    #[arg(long)]
    pub demo: bool,
    /// How many entities the demo province has.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub demo_entities: u64,
    /// With --demo: start four simulated agencies (tax, social security, medical insurance,
    /// housing fund) in this process on free ports and register them (docs/EXCHANGE.md).
    #[arg(long)]
    pub demo_agencies: bool,
    /// Fix the server's day (training and demo servers only): deadlines, windows and sweeps
    /// count from it instead of today in China. A warning is printed at start.
    #[arg(long, env = "AMR_TODAY", value_name = "YYYY-MM-DD")]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Only list applied and pending migrations.
    #[arg(long)]
    pub status: bool,
}

#[derive(Debug, Subcommand)]
pub enum CodeCommand {
    /// Validate codes (USCC or organization code); reads one per line from stdin when none are
    /// given. Prints one JSON line per code; exits 1 if any is invalid.
    Check {
        /// Codes to check.
        codes: Vec<String>,
    },
    /// Generate valid new USCCs for a registration (type 91/92/93 at a 6-digit division).
    Generate {
        /// 91 enterprise, 92 individual business, 93 farmer cooperative.
        #[arg(long, default_value = "91")]
        r#type: String,
        /// The registering division (6 digits).
        #[arg(long)]
        division: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum DivisionCommand {
    /// Show a division by code: name, level, full path and children.
    Show { code: String },
    /// Find divisions by name (短名 such as 历下 or 济南 work too).
    Find { name: String },
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Import a schedule file (CSV: date,kind,name_zh,name_en; see docs/DATA.md). Each year in
    /// the file replaces that year wholly.
    Import { file: PathBuf },
    /// List the years the calendar in force covers and where each comes from.
    Years,
    /// Is DATE a working day?
    Check { date: String },
    /// The date N working days after DATE.
    Add { date: String, n: u32 },
    /// Working days after FROM up to and including TO.
    Between { from: String, to: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. Without --password-stdin a password is generated and printed once.
    Add(UserAddArgs),
    /// List accounts (optionally within a jurisdiction).
    List {
        #[arg(long, default_value = "")]
        jurisdiction: String,
    },
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Login name: 3–64 letters, digits, '.', '_' or '-'.
    #[arg(long)]
    pub username: String,
    /// admin, officer or enterprise.
    #[arg(long)]
    pub role: String,
    /// Division-code prefix the account works in ("" or * = whole country for admins).
    #[arg(long, default_value = "")]
    pub jurisdiction: String,
    /// The person's name as shown on pages.
    #[arg(long)]
    pub name: Option<String>,
    /// Department (for officers), e.g. 登记注册科.
    #[arg(long)]
    pub department: Option<String>,
    /// The entity an enterprise user acts for.
    #[arg(long)]
    pub uscc: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum SearchCommand {
    /// Rebuild the entity search index from the database (run it with the server stopped, or
    /// restart the server afterwards). The running server keeps the index current by itself.
    Reindex {
        /// Index folder (default: the configured search_dir, data/search/entities).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Issue an API key for a partner agency; the key is printed once.
    Add {
        #[arg(long)]
        agency: String,
        #[arg(long, default_value = "")]
        jurisdiction: String,
    },
    /// List API keys (never their secrets).
    List,
}

#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Print the published public keys (as GET /api/v1/keys does) and the key file's key id;
    /// creates the key on first use, as `serve` would.
    Show,
    /// Make a new signing key, write it over the key file and retire the others (they stay
    /// published, so what they signed still verifies). Restart the servers afterwards.
    Rotate,
}

/// Runs a command that reads no settings, opens no database and awaits nothing (`code`,
/// `division`, `address parse`) on the calling thread, before any setting is read or runtime
/// built: a runtime's worker threads take a millisecond or two to start and stop, a share of
/// a run of `address parse` over a file. Any other command is given back, for [`run`].
pub fn offline(cli: Cli) -> Result<Result<ExitCode, AppError>, Box<Cli>> {
    match cli.command {
        Command::Code(c) => Ok(code(c)),
        Command::Division(c) => Ok(division(c)),
        Command::Address(c @ crate::address::AddressCommand::Parse { .. }) => {
            Ok(crate::address::run(c))
        }
        command => Err(Box::new(Cli {
            global: cli.global,
            command,
        })),
    }
}

/// Runs a command: its settings resolved, logging set up, on the runtime. (`main` runs the
/// commands [`offline`] takes without these; they are dispatched here as well, so that this
/// runs any command.)
pub async fn run(cli: Cli) -> Result<ExitCode, AppError> {
    let mut given = Given {
        config: cli.global.config.clone(),
        database_url: cli.global.database_url.clone(),
        log: cli.global.log.clone(),
        signing_key_file: cli.global.signing_key_file.clone(),
        ..Given::default()
    };
    if let Command::Serve(a) = &cli.command {
        given.listen = a.listen.clone();
        given.public_url = a.public_url.clone();
        given.cookie_secure = a.cookie_secure.clone();
    }
    let mut settings = config::resolve(&given)?;
    if let Command::Serve(a) = &cli.command
        && let Some(t) = a.today.as_deref().filter(|t| !t.trim().is_empty())
    {
        let day = chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").map_err(|_| {
            AppError::config(
                "today",
                format!("{t:?} 不是日期 YYYY-MM-DD (is not a date YYYY-MM-DD)"),
            )
        })?;
        settings.server.fixed_today = Some(day);
    }
    init_logging(&settings.log)?;
    match cli.command {
        Command::Serve(a) => {
            serve(
                settings,
                a.demo.then_some(a.demo_entities),
                a.demo && a.demo_agencies,
            )
            .await
        }
        Command::Migrate(a) => migrate(&settings, a.status).await,
        Command::Code(c) => code(c),
        Command::Division(c) => division(c),
        Command::Calendar(c) => calendar(&settings, c).await,
        Command::User(c) => user(&settings, c).await,
        Command::Key(c) => key(&settings, c).await,
        Command::Search(SearchCommand::Reindex { dir }) => {
            let db = open(&settings, true).await?;
            let dir = dir.unwrap_or_else(|| settings.server.search_dir.clone());
            amr_registry::search::reindex_command(&db, &dir)
                .await
                .map_err(AppError::Internal)?;
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(c) => {
            let db = open(&settings, true).await?;
            let code = crate::import::run(&db, c).await?;
            db.close().await;
            Ok(code)
        }
        Command::Demo(a) => {
            let db = open(&settings, true).await?;
            let code = crate::demo::run(&db, a).await?;
            db.close().await;
            Ok(code)
        }
        Command::Bench(a) => crate::bench::run(&settings, a).await,
        Command::Address(crate::address::AddressCommand::Db(c)) => {
            let db = open(&settings, true).await?;
            let code = crate::address_db::run(&db, c).await?;
            db.close().await;
            Ok(code)
        }
        Command::Address(c) => crate::address::run(c),
        Command::Guide(c) => {
            let db = open(&settings, true).await?;
            let code = crate::guide::run(&db, c).await?;
            db.close().await;
            Ok(code)
        }
        Command::Inspect(crate::InspectCommand::Library(c)) => {
            let db = open(&settings, true).await?;
            let code = crate::inspect_library::run(&db, c).await?;
            db.close().await;
            Ok(code)
        }
        Command::SigningKey(c) => signing_key(&settings, c).await,
        Command::Verify(c) => crate::verify::run(c).await,
        Command::Sign(c) => crate::sign::run(c),
        Command::Inspect(crate::InspectCommand::Risk(c)) => {
            let db = open(&settings, true).await?;
            let code = crate::inspect_risk::run(&db, c).await?;
            db.close().await;
            Ok(code)
        }
        Command::Inspect(crate::InspectCommand::Engine(c)) => {
            crate::inspect_verify::run(&settings, c).await
        }
        Command::Review(c) => Ok(crate::review::review_command(c)),
        Command::Exchange(c) => {
            let db = open(&settings, true).await?;
            let code = crate::exchange::run(&db, &settings.server, c).await?;
            db.close().await;
            Ok(code)
        }
        Command::AgencySim(a) => crate::agency_sim::run(a).await,
        Command::Abnormal(c) => {
            let db = open(&settings, true).await?;
            let code = crate::abnormal::run(&db, c).await?;
            db.close().await;
            Ok(code)
        }
    }
}

async fn signing_key(settings: &Settings, c: SigningKeyCommand) -> Result<ExitCode, AppError> {
    use amr_kernel::signing::{self, Keyring};
    let db = open(settings, false).await?;
    let path = &settings.server.signing_key_file;
    match c {
        SigningKeyCommand::Show => {
            let current = Keyring::open(&db, path).await?;
            let keys: Vec<serde_json::Value> = signing::published(&db)
                .await?
                .iter()
                .map(|k| k.to_json())
                .collect();
            let out = serde_json::json!({"key_file": path, "key_file_id": current.key_id(), "keys": keys});
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        SigningKeyCommand::Rotate => {
            let id = signing::rotate(&db, path, &Actor::cli()).await?;
            println!(
                "新签名密钥 {id} 已写入 {} 并发布；旧密钥已停用但仍公布，请重启服务 \
                 (new key {id} written and published; old keys retired but still published; restart the servers)",
                path.display()
            );
        }
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

fn init_logging(filter: &str) -> Result<(), AppError> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| AppError::config("log", e.to_string()))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .ok();
    Ok(())
}

/// Opens the configured database; on the embedded SQLite default it also migrates, elsewhere
/// it refuses to run against a schema with pending migrations.
pub(crate) async fn open(settings: &Settings, auto_migrate: bool) -> Result<Db, AppError> {
    let db = Db::connect(&settings.database_url).await?;
    let sets = amr_server::migration_sets();
    let status = db::migration_status_of(&db, &sets).await?;
    if !status.pending.is_empty() {
        if auto_migrate || db.backend() == Backend::Sqlite {
            let applied = db::run_migration_sets(&db, &sets).await?;
            for (v, d) in applied {
                tracing::info!(version = v, description = d, "migration applied");
            }
        } else {
            return Err(AppError::config(
                "database_url",
                format!(
                    "数据库有 {} 个待执行的迁移，请先运行 amr migrate \
                     ({} pending migrations; run `amr migrate` first)",
                    status.pending.len(),
                    status.pending.len()
                ),
            ));
        }
    }
    Ok(db)
}

async fn serve(
    settings: Settings,
    demo: Option<u64>,
    demo_agencies: bool,
) -> Result<ExitCode, AppError> {
    if let Some(day) = settings.server.fixed_today {
        println!(
            "警告：服务器日期固定为 {day}，期限、年报窗口和核查均按此日计算，仅用于培训或演示 \
             (warning: the server's day is fixed at {day}; deadlines, windows and sweeps count \
             from it; training and demo use only)"
        );
        tracing::warn!(%day, "the server's day is fixed (--today / AMR_TODAY)");
    }
    let db = open(&settings, false).await?;
    if let Some((user, pw)) = store::ensure_first_admin(&db).await? {
        print_first_admin(&user, &pw);
    }
    let mut settings = settings;
    if demo.is_some()
        && settings.server.identity_verifier == amr_server::config::IdentityVerifierConfig::None
    {
        // The demo signs with the synthetic Hong Kong identities (data/hk_identities.csv).
        settings.server.identity_verifier = amr_server::config::IdentityVerifierConfig::Demo;
    }
    if let Some(entities) = demo {
        crate::commands::demo_accounts(&db).await?;
        if demo_province(&db, entities, settings.server.today()).await? {
            amr_registry::search::reindex_command(&db, &settings.server.search_dir)
                .await
                .map_err(AppError::Internal)?;
        }
    }
    let state = amr_server::app_state(db.clone(), settings.server.clone());
    let running = amr_server::start(state, &settings.listen).await?;
    let url = settings
        .server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", running.addr));
    println!("AMR 已启动 (AMR is running): {url}/");
    let _agencies = if demo_agencies {
        crate::exchange::demo_agencies(&db, &format!("http://{}", running.addr)).await?
    } else {
        Vec::new()
    };
    if demo.is_some() {
        println!("演示账号 (demo logins; demo use only):");
        for (u, role, j, pw) in DEMO_ACCOUNTS {
            println!("  {u:<16} {role:<8} {j:<8} 密码 (password): {pw}");
        }
    }
    let switch = running.shutdown_switch();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        let _ = switch.send(true);
    });
    running
        .wait()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

fn print_first_admin(user: &str, pw: &str) {
    println!("已创建首个管理员账号 (first administrator created):");
    println!("  用户名 (username): {user}");
    println!("  密码 (password):   {pw}");
    println!("  此密码只显示这一次，请妥善保存 (this password is shown only once; keep it safe).");
}

/// Demo logins: (username, role, jurisdiction, password). Created only with `--demo`, only
/// when absent; the passwords are public, so a demo database is never a production one.
const DEMO_ACCOUNTS: [(&str, &str, &str, &str); 4] = [
    ("demo-admin", "admin", "37", "Demo-admin-2026"),
    ("demo-jinan", "admin", "3701", "Demo-jinan-2026"),
    ("demo-lixia", "officer", "370102", "Demo-lixia-2026"),
    ("demo-shizhong", "officer", "370103", "Demo-shizhong-2026"),
];

pub(crate) async fn demo_accounts(db: &Db) -> Result<(), AppError> {
    for (username, role, jurisdiction, pw) in DEMO_ACCOUNTS {
        if store::find_for_login(db, username).await?.is_some() {
            continue;
        }
        let j = Jurisdiction::parse(jurisdiction).map_err(|e| AppError::Internal(e.into()))?;
        let hash = hash_blocking(pw).await?;
        let mut tx = db.begin().await?;
        store::create_account(
            &mut tx,
            &Actor::system(),
            &Scope::all(),
            store::NewAccount {
                username: username.into(),
                display_name: format!("演示 {}", j.display_name()),
                role: Role::parse(role)?,
                department: (role == "officer").then(|| "综合执法科".to_string()),
                jurisdiction: j.prefix().into(),
                uscc: None,
                password_hash: hash,
            },
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Fills an empty registry with the demo province (seed 37); says whether it did.
async fn demo_province(db: &Db, entities: u64, today: chrono::NaiveDate) -> Result<bool, AppError> {
    use amr_registry::store::{EntityFilter, list_scoped};
    // One row tells whether the registry is empty; counting would scan every entity.
    if !list_scoped(db, &Scope::all(), &EntityFilter::default(), None, 1)
        .await?
        .is_empty()
    {
        return Ok(false);
    }
    println!("正在生成演示省份 (generating the demo province): {entities} entities");
    let args = crate::demo::DemoArgs {
        entities,
        seed: 37,
        batch: 10_000,
        no_addresses: false,
        complaints: 0,
        complaints_year: 2025,
        complaints_stepwise: false,
    };
    let report = crate::demo::run_demo(db, args.spec(), args.batch as usize, true).await?;
    println!("{report}");
    crate::guide::demo_step(db, "37").await?;
    crate::demo::odr_step(db).await?;
    crate::demo::annual_step(db, args.seed, today).await?;
    Ok(true)
}

async fn hash_blocking(pw: &str) -> Result<String, AppError> {
    let pw = pw.to_string();
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
}

async fn migrate(settings: &Settings, status_only: bool) -> Result<ExitCode, AppError> {
    let db = Db::connect(&settings.database_url).await?;
    if status_only {
        let s = db::migration_status_of(&db, &amr_server::migration_sets()).await?;
        println!("backend: {}", db.backend().name());
        println!("applied: {:?}", s.applied);
        for (v, d) in &s.pending {
            println!("pending: {v} {d}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let applied = db::run_migration_sets(&db, &amr_server::migration_sets()).await?;
    if applied.is_empty() {
        println!(
            "数据库已是最新 (the database is up to date) [{}]",
            db.backend().name()
        );
    }
    for (v, d) in applied {
        println!("已执行迁移 (applied) {v} {d}");
    }
    if let Some((user, pw)) = store::ensure_first_admin(&db).await? {
        print_first_admin(&user, &pw);
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

fn code(cmd: CodeCommand) -> Result<ExitCode, AppError> {
    match cmd {
        CodeCommand::Check { codes } => {
            let mut all_valid = true;
            let mut out = std::io::stdout().lock();
            let mut check = |c: &str| -> Result<(), AppError> {
                let report = amr_kernel::codes::check(c);
                all_valid &= report.valid;
                serde_json::to_writer(&mut out, &report)
                    .map_err(|e| AppError::Internal(e.into()))?;
                std::io::Write::write_all(&mut out, b"\n").map_err(|e| AppError::Internal(e.into()))
            };
            if codes.is_empty() {
                for line in std::io::stdin().lock().lines() {
                    let line = line.map_err(|e| AppError::bad_request("stdin", e))?;
                    if !line.trim().is_empty() {
                        check(line.trim())?;
                    }
                }
            } else {
                for c in &codes {
                    check(c)?;
                }
            }
            Ok(if all_valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        CodeCommand::Generate {
            r#type,
            division,
            count,
        } => {
            use amr_kernel::codes::uscc::RegistrationType;
            let t = match r#type.as_str() {
                "91" => RegistrationType::Enterprise,
                "92" => RegistrationType::IndividualBusiness,
                "93" => RegistrationType::FarmerCooperative,
                other => {
                    return Err(AppError::bad_request(
                        "type",
                        format!("{other:?} 应为 91、92 或 93 (must be 91, 92 or 93)"),
                    ));
                }
            };
            let mut rng = rand::rng();
            for _ in 0..count {
                let u = Uscc::generate(t, &division, &mut rng)
                    .map_err(|e| AppError::bad_request("division", e))?;
                println!("{}", u.as_str());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn division(cmd: DivisionCommand) -> Result<ExitCode, AppError> {
    let table = divisions();
    match cmd {
        DivisionCommand::Show { code } => {
            let d = table.get(code.trim()).ok_or_else(|| {
                AppError::bad_request(
                    "code",
                    format!("行政区划代码“{code}”不存在 (unknown division code)"),
                )
            })?;
            let children: Vec<_> = table
                .children(d.code)
                .map(|c| serde_json::json!({"code": c.code, "name": c.name}))
                .collect();
            let v = serde_json::json!({
                "code": d.code,
                "name": d.name,
                "level": d.level,
                "full_name": table.full_name(d.code),
                "parent": d.parent,
                "children": children,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        DivisionCommand::Find { name } => {
            let found = table.find_by_name(name.trim());
            for d in &found {
                println!(
                    "{}",
                    serde_json::json!({"code": d.code, "name": d.name, "level": d.level, "full_name": table.full_name(d.code)})
                );
            }
            Ok(if found.is_empty() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn parse_date(field: &str, s: &str) -> Result<chrono::NaiveDate, AppError> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::bad_request(
            field,
            format!("“{s}”不是 YYYY-MM-DD 日期 (not a YYYY-MM-DD date)"),
        )
    })
}

async fn calendar(settings: &Settings, cmd: CalendarCommand) -> Result<ExitCode, AppError> {
    let db = open(settings, true).await?;
    let cal_err = |e: amr_kernel::calendar::CalendarError| AppError::rejected(e);
    match cmd {
        CalendarCommand::Import { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                AppError::bad_request(
                    "file",
                    format!("无法读取 {} (cannot read): {e}", file.display()),
                )
            })?;
            let cal = Calendar::from_csv(&text).map_err(|e| AppError::bad_request("file", e))?;
            let mut tx = db.begin().await?;
            let years = amr_kernel::calendar_store::import(
                &mut tx,
                &Actor::cli(),
                &cal,
                &file.display().to_string(),
            )
            .await?;
            tx.commit().await?;
            println!(
                "已导入 (imported) {} 天 (days) for {:?}",
                cal.rows().count(),
                years
            );
        }
        CalendarCommand::Years => {
            let cal = amr_kernel::calendar_store::load(&db).await?;
            println!("{:?}", cal.years());
        }
        CalendarCommand::Check { date } => {
            let cal = amr_kernel::calendar_store::load(&db).await?;
            let d = parse_date("date", &date)?;
            let w = cal.is_working_day(d).map_err(cal_err)?;
            println!("{}", serde_json::json!({"date": d, "working_day": w}));
        }
        CalendarCommand::Add { date, n } => {
            let cal = amr_kernel::calendar_store::load(&db).await?;
            let d = parse_date("date", &date)?;
            let r = cal.add_working_days(d, n).map_err(cal_err)?;
            println!(
                "{}",
                serde_json::json!({"date": d, "working_days": n, "result": r})
            );
        }
        CalendarCommand::Between { from, to } => {
            let cal = amr_kernel::calendar_store::load(&db).await?;
            let (a, b) = (parse_date("from", &from)?, parse_date("to", &to)?);
            let n = cal.working_days_between(a, b).map_err(cal_err)?;
            println!(
                "{}",
                serde_json::json!({"from": a, "to": b, "working_days": n})
            );
        }
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn user(settings: &Settings, cmd: UserCommand) -> Result<ExitCode, AppError> {
    let db = open(settings, true).await?;
    match cmd {
        UserCommand::Add(a) => {
            let username = store::check_username(&a.username)?;
            let role = Role::parse(&a.role)?;
            let j = Jurisdiction::parse(&a.jurisdiction)
                .map_err(|e| AppError::bad_request("jurisdiction", e))?;
            if role == Role::Officer && j.is_all() {
                return Err(AppError::bad_request(
                    "jurisdiction",
                    "执法人员须指定辖区 (an officer needs a jurisdiction, e.g. 370102)",
                ));
            }
            let uscc = match (&a.uscc, role) {
                (Some(u), Role::Enterprise) => Some(
                    Uscc::parse(u)
                        .map_err(|e| AppError::bad_request("uscc", e))?
                        .as_str()
                        .to_string(),
                ),
                (None, Role::Enterprise) => {
                    return Err(AppError::bad_request(
                        "uscc",
                        "企业用户须指定统一社会信用代码 (an enterprise user needs --uscc)",
                    ));
                }
                (Some(_), _) => {
                    return Err(AppError::bad_request(
                        "uscc",
                        "只有企业用户绑定统一社会信用代码 (only enterprise users have a USCC)",
                    ));
                }
                (None, _) => None,
            };
            let (pw, generated) = if a.password_stdin {
                let mut line = String::new();
                if std::io::stdin().is_terminal() {
                    eprintln!("请输入密码 (enter the password):");
                }
                std::io::stdin()
                    .lock()
                    .take(1024)
                    .read_line(&mut line)
                    .map_err(|e| AppError::bad_request("password", e))?;
                let pw = line.trim_end_matches(['\r', '\n']).to_string();
                password::check_policy(&pw)?;
                (pw, false)
            } else {
                (password::generate(), true)
            };
            let hash = hash_blocking(&pw).await?;
            let mut tx = db.begin().await?;
            let account = store::create_account(
                &mut tx,
                &Actor::cli(),
                &Scope::all(),
                store::NewAccount {
                    username: username.clone(),
                    display_name: a.name.clone().unwrap_or_else(|| username.clone()),
                    role,
                    department: a.department.clone(),
                    jurisdiction: j.prefix().to_string(),
                    uscc,
                    password_hash: hash,
                },
            )
            .await?;
            tx.commit().await?;
            println!(
                "已创建账号 (account created): id={} username={} role={} jurisdiction={} ({})",
                account.id,
                account.username,
                account.role,
                account.jurisdiction,
                j.display_name()
            );
            if generated {
                println!("密码 (password, shown once): {pw}");
            }
        }
        UserCommand::List { jurisdiction } => {
            let j = Jurisdiction::parse(&jurisdiction)
                .map_err(|e| AppError::bad_request("jurisdiction", e))?;
            for a in store::list_accounts(&db, &Scope::prefix(j.prefix())).await? {
                println!(
                    "{}",
                    serde_json::json!({"id": a.id, "username": a.username, "role": a.role, "jurisdiction": a.jurisdiction, "active": a.active})
                );
            }
        }
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn key(settings: &Settings, cmd: KeyCommand) -> Result<ExitCode, AppError> {
    let db = open(settings, true).await?;
    match cmd {
        KeyCommand::Add {
            agency,
            jurisdiction,
        } => {
            let j = Jurisdiction::parse(&jurisdiction)
                .map_err(|e| AppError::bad_request("jurisdiction", e))?;
            let mut tx = db.begin().await?;
            let (k, secret) =
                store::create_api_key(&mut tx, &Actor::cli(), &Scope::all(), &agency, j.prefix())
                    .await?;
            tx.commit().await?;
            println!(
                "已发放密钥 (key issued): id={} agency={} jurisdiction={}",
                k.id, k.agency, k.jurisdiction
            );
            println!("密钥 (key, shown once): {secret}");
        }
        KeyCommand::List => {
            for k in store::list_api_keys(&db, &Scope::all()).await? {
                println!("{}", serde_json::to_string(&k).unwrap_or_default());
            }
        }
    }
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
