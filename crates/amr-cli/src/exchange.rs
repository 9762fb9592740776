//! `amr exchange ...`: partner agencies, the delivery counts and the evidence export; and
//! `amr verify exchange FILE --keys KEYS` (offline).

use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use amr_exchange::agency::{self, AgencyInput};
use amr_exchange::{delivery, evidence};
use amr_kernel::audit::Actor;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;

#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Partner agencies: `add`, `list`, `change`, `disable`.
    #[command(subcommand)]
    Agency(AgencyCommand),
    /// Deliveries by status (JSON).
    Status,
    /// The evidence of one agency as JSON lines on stdout (the agency's key first, then every
    /// signed message and answer), for `amr verify exchange`.
    Export(ExportArgs),
    /// Bank push (政银合作): `criteria`, `push`, `runs`, `figures`.
    #[command(subcommand)]
    Bank(BankCommand),
    /// Append N internal events of one kind (for the delivery figures, `scripts/exchange-bench.sh`);
    /// the kind must start with `bench.`.
    Emit {
        #[arg(long)]
        count: u64,
        #[arg(long, default_value = "bench.exchange.tick")]
        kind: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AgencyCommand {
    /// Register an agency; prints its callback API key once.
    Add(AgencyArgs),
    /// Every agency (JSON lines).
    List,
    /// Change an agency's endpoint, subscriptions, key or display name.
    Change(AgencyArgs),
    /// Disable an agency (no more deliveries; its API key is revoked).
    Disable {
        /// The agency's code name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BankCommand {
    /// Set a bank's criteria (every list empty = no restriction on that fact).
    Criteria(CriteriaArgs),
    /// Run a push for a bank now (the full list the first time, then the change); progress on
    /// stderr, the run's counts as JSON on stdout.
    Push {
        /// The bank's code name.
        #[arg(long)]
        bank: String,
    },
    /// A bank's runs, newest first (JSON lines).
    Runs {
        #[arg(long)]
        bank: String,
    },
    /// Enterprises listed and loans per bank and region (JSON).
    Figures {
        /// city | county
        #[arg(long, default_value = "city")]
        level: String,
        /// Only divisions starting with this prefix.
        #[arg(long, default_value = "")]
        region: String,
    },
}

#[derive(Debug, Args)]
pub struct CriteriaArgs {
    /// The bank's code name.
    #[arg(long)]
    pub bank: String,
    /// Entity types, comma separated (enterprise, individual_business, farmer_cooperative, branch).
    #[arg(long, default_value = "")]
    pub types: String,
    /// Industries: GB/T 4754 section letters or 2–4 digit code prefixes, comma separated.
    #[arg(long, default_value = "")]
    pub industries: String,
    /// Division-code prefixes, comma separated.
    #[arg(long, default_value = "")]
    pub regions: String,
    /// Credit-risk classes (A–D), comma separated.
    #[arg(long, default_value = "")]
    pub risk_classes: String,
    /// At least this many whole years since establishment.
    #[arg(long)]
    pub min_age: Option<String>,
    /// At most this many whole years since establishment.
    #[arg(long)]
    pub max_age: Option<String>,
    /// Include enterprises on the abnormal-operation list (left out by default).
    #[arg(long)]
    pub include_abnormal: bool,
    /// Include enterprises not in business (only active ones by default).
    #[arg(long)]
    pub any_status: bool,
}

#[derive(Debug, Args)]
pub struct AgencyArgs {
    /// Code name (lower-case letters, digits, - or _), e.g. tax.
    #[arg(long)]
    pub name: String,
    /// Display name, e.g. 国家税务总局山东省税务局.
    #[arg(long, default_value = "")]
    pub display_name: String,
    /// tax | social_security | medical_insurance | housing_fund | bank | other.
    #[arg(long)]
    pub kind: String,
    /// Where deliveries are POSTed.
    #[arg(long)]
    pub endpoint: String,
    /// Event-kind prefixes, comma separated, e.g. registry.suspension.
    #[arg(long)]
    pub subscribe: String,
    /// The agency's Ed25519 public key (base64 or hex), or @FILE.
    #[arg(long)]
    pub public_key: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The agency's code name.
    #[arg(long)]
    pub agency: String,
    /// Only evidence recorded on or after this time (RFC 3339, or a date YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Only evidence recorded before this time (RFC 3339, or a date YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyExchangeArgs {
    /// The export (JSON lines), or - for stdin.
    pub file: PathBuf,
    /// The deployment's published keys: the JSON of GET /api/v1/keys (a file).
    #[arg(long)]
    pub keys: PathBuf,
}

fn key_arg(text: &str) -> Result<String, AppError> {
    match text.strip_prefix('@') {
        Some(p) => std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .map_err(|e| {
                AppError::bad_request(
                    "public_key",
                    format!("无法读取公钥文件 {p} (cannot read the key file): {e}"),
                )
            }),
        None => Ok(text.to_string()),
    }
}

fn input(a: &AgencyArgs) -> Result<AgencyInput, AppError> {
    Ok(AgencyInput {
        name: a.name.clone(),
        display_name: a.display_name.clone(),
        kind: a.kind.clone(),
        endpoint: a.endpoint.clone(),
        subscriptions: a.subscribe.clone(),
        subscription_list: None,
        public_key: key_arg(&a.public_key)?,
    })
}

fn time_arg(
    field: &str,
    text: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
    let Some(t) = text.map(str::trim) else {
        return Ok(None);
    };
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(Some(d.with_timezone(&chrono::Utc)));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).map(|x| x.and_utc()));
    }
    Err(AppError::bad_request(
        field,
        format!(
            "{t:?} 不是时间，应为 RFC 3339 或 YYYY-MM-DD (not a time; use RFC 3339 or YYYY-MM-DD)"
        ),
    ))
}

async fn bank(
    db: &Db,
    server: &amr_server::ServerConfig,
    cmd: BankCommand,
) -> Result<(), AppError> {
    use amr_exchange::bank::{self, Criteria, criteria, figures, push};
    match cmd {
        BankCommand::Criteria(a) => {
            let v = serde_json::json!({"entity_types": a.types, "industries": a.industries,
                "regions": a.regions, "risk_classes": a.risk_classes, "min_age_years": a.min_age,
                "max_age_years": a.max_age, "exclude_abnormal": !a.include_abnormal,
                "active_only": !a.any_status});
            let c = Criteria::from_value(&v)?;
            let agency = bank::bank_named(db, &a.bank).await?;
            let mut tx = db.begin().await?;
            criteria::set(&mut tx, &Actor::cli(), &agency, &c).await?;
            tx.commit().await?;
            println!(
                "{}",
                serde_json::json!({"bank": agency.name, "criteria": c.to_json()})
            );
        }
        BankCommand::Push { bank: name } => {
            let keys = amr_kernel::signing::Keyring::open(db, &server.signing_key_file).await?;
            let source = amr_server::exchange_wiring::facts_source(db.clone());
            let env = push::Env {
                db,
                keys: &keys,
                source: source.as_ref(),
            };
            let progress = |c: &push::Counts| {
                eprintln!(
                    "已审查 {} 个授权，符合 {}，新增 {}，移出 {}，消息 {} (consents read {}, matched {}, added {}, removed {}, messages {})",
                    c.consents_seen,
                    c.matched,
                    c.added,
                    c.removed,
                    c.messages,
                    c.consents_seen,
                    c.matched,
                    c.added,
                    c.removed,
                    c.messages
                );
            };
            let (run, c) =
                push::run_now(env, &name, "cli", &Actor::cli(), server.today(), &progress).await?;
            println!(
                "{}",
                serde_json::json!({"bank": name, "run": run, "counts": c})
            );
            eprintln!(
                "推送已写入发送队列；运行中的服务会发送并记录回执 (the messages are queued; a running server sends them and records the acknowledgements)"
            );
        }
        BankCommand::Runs { bank: name } => {
            let a = agency::by_name(db, &name)
                .await?
                .ok_or(AppError::NotFound)?;
            for r in push::runs(db, a.id, 100).await? {
                println!("{}", serde_json::to_value(&r).unwrap_or_default());
            }
        }
        BankCommand::Figures { level, region } => {
            let f = figures::figures(
                db,
                &amr_kernel::auth::Scope::all(),
                figures::Level::parse(&level)?,
                region.trim(),
            )
            .await?;
            println!("{}", serde_json::to_value(&f).unwrap_or_default());
        }
    }
    Ok(())
}

pub async fn run(
    db: &Db,
    server: &amr_server::ServerConfig,
    cmd: ExchangeCommand,
) -> Result<ExitCode, AppError> {
    match cmd {
        ExchangeCommand::Bank(c) => bank(db, server, c).await?,
        ExchangeCommand::Agency(AgencyCommand::Add(a)) => {
            let mut tx = db.begin().await?;
            let (agency, secret) = agency::add(&mut tx, &Actor::cli(), &input(&a)?).await?;
            tx.commit().await?;
            println!("{}", agency.to_json());
            eprintln!("回调 API 密钥 (callback API key, shown once): {secret}");
        }
        ExchangeCommand::Agency(AgencyCommand::List) => {
            for a in agency::list(db).await? {
                println!("{}", a.to_json());
            }
        }
        ExchangeCommand::Agency(AgencyCommand::Change(a)) => {
            let mut tx = db.begin().await?;
            let agency = agency::change(&mut tx, &Actor::cli(), &a.name, &input(&a)?).await?;
            tx.commit().await?;
            println!("{}", agency.to_json());
        }
        ExchangeCommand::Agency(AgencyCommand::Disable { name }) => {
            let mut tx = db.begin().await?;
            let agency = agency::disable(&mut tx, &Actor::cli(), &name).await?;
            tx.commit().await?;
            println!("{}", agency.to_json());
        }
        ExchangeCommand::Status => {
            let counts: serde_json::Map<String, serde_json::Value> = delivery::counts(db)
                .await?
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect();
            println!("{}", serde_json::Value::Object(counts));
        }
        ExchangeCommand::Emit { count, kind } => {
            if !kind.starts_with("bench.") || kind.len() > 100 {
                return Err(AppError::bad_request(
                    "kind",
                    "事件类型须以 bench. 开头 (the kind must start with bench.)",
                ));
            }
            let mut left = count;
            let mut seq = 0u64;
            while left > 0 {
                let n = left.min(1000);
                let mut tx = db.begin().await?;
                for _ in 0..n {
                    seq += 1;
                    amr_kernel::events::append(
                        &mut tx,
                        amr_kernel::events::NewEvent::internal(
                            &kind,
                            serde_json::json!({"seq": seq}),
                        )
                        .actor("cli"),
                    )
                    .await?;
                }
                tx.commit().await?;
                left -= n;
            }
            eprintln!("已写入 {count} 个事件 (appended {count} events of kind {kind})");
        }
        ExchangeCommand::Export(a) => {
            let agency = agency::by_name(db, &a.agency).await?.ok_or_else(|| {
                AppError::bad_request(
                    "agency",
                    format!("没有名为 {:?} 的机构 (no such agency)", a.agency),
                )
            })?;
            let from = time_arg("from", a.from.as_deref())?;
            let to = time_arg("to", a.to.as_deref())?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let n = evidence::export(db, &agency, from, to, &mut out).await?;
            eprintln!("已导出 {n} 条凭证 (exported {n} evidence lines)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `amr verify exchange FILE --keys KEYS`: exit 0 when every signature verifies, 1 when any
/// line fails (each named on stderr), 2 when the input cannot be read.
pub fn verify(a: VerifyExchangeArgs) -> Result<ExitCode, AppError> {
    let keys_text = std::fs::read_to_string(&a.keys).map_err(|e| {
        AppError::bad_request(
            "keys",
            format!(
                "无法读取公钥文件 {} (cannot read the keys file): {e}",
                a.keys.display()
            ),
        )
    })?;
    let keys = amr_kernel::signing::parse_key_set(&keys_text)
        .map_err(|e| AppError::bad_request("keys", e))?;
    let report = if a.file.as_os_str() == "-" {
        evidence::verify(std::io::stdin().lock(), &keys)
    } else {
        let f = std::fs::File::open(&a.file).map_err(|e| {
            AppError::bad_request(
                "file",
                format!("无法读取 {} (cannot read the file): {e}", a.file.display()),
            )
        })?;
        evidence::verify(BufReader::new(f), &keys)
    };
    if report.problems.is_empty() && report.checked > 0 {
        println!(
            "全部签名有效 (every signature verifies): {} 条凭证, {} 个机构 ({} evidence lines, {} agencies)",
            report.checked, report.agencies, report.checked, report.agencies
        );
        return Ok(ExitCode::SUCCESS);
    }
    for p in &report.problems {
        eprintln!("{p}");
    }
    if report.checked == 0 && report.problems.is_empty() {
        eprintln!("文件中没有凭证 (the file holds no evidence)");
    }
    println!(
        "验证失败 (VERIFICATION FAILED): {} 处问题, {} 条通过 ({} problems, {} lines verified)",
        report.problems.len(),
        report.checked,
        report.problems.len(),
        report.checked
    );
    Ok(ExitCode::from(1))
}

/// The four agencies of suspension in one go, simulated in this process for the demo: each
/// on a free port, registered (or its endpoint updated) under its code name with the demo key
/// derived from the name; social security fails its first two calls. Then the demo bank of
/// the bank push (政银合作, [`demo_bank`]).
pub async fn demo_agencies(
    db: &Db,
    amr_url: &str,
) -> Result<Vec<amr_exchange::sim::Running>, AppError> {
    use amr_exchange::sim::{AmrKeys, SimConfig};
    let mut running = Vec::new();
    for (name, display) in [
        ("tax", "国家税务总局山东省税务局（模拟）"),
        ("social_security", "山东省人力资源和社会保障厅（模拟）"),
        ("medical_insurance", "山东省医疗保障局（模拟）"),
        ("housing_fund", "济南住房公积金中心（模拟）"),
    ] {
        let seed = crate::agency_sim::demo_seed(name);
        let sim = amr_exchange::sim::start(
            SimConfig {
                name: name.into(),
                kind: name.into(),
                fail_rate: 0.0,
                fail_first: if name == "social_security" { 2 } else { 0 },
                delay: std::time::Duration::from_millis(200),
                keys: AmrKeys::Url(amr_url.to_string()),
                seed,
                callback: None,
            },
            "127.0.0.1:0",
        )
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
        let input = AgencyInput {
            name: name.into(),
            display_name: display.into(),
            kind: name.into(),
            endpoint: sim.url(),
            subscriptions: "registry.suspension.".into(),
            subscription_list: None,
            public_key: sim.public_key.clone(),
        };
        let mut tx = db.begin().await?;
        match agency::by_name(db, name).await? {
            Some(a) if a.active => {
                agency::change(&mut tx, &Actor::system(), name, &input).await?;
            }
            Some(_) => {}
            None => {
                agency::add(&mut tx, &Actor::system(), &input).await?;
            }
        }
        tx.commit().await?;
        println!("模拟机构 (simulated agency) {name}: {}", sim.url());
        running.push(sim);
    }
    running.push(demo_bank(db, amr_url).await?);
    Ok(running)
}

/// The demo bank's code name.
pub const DEMO_BANK: &str = "jnbank";

/// How many demo enterprises consent to the bank push on a fresh demo.
pub const DEMO_CONSENTS: i64 = 500;

/// The demo bank of the bank push (政银合作), simulated in this process: registered as agency
/// [`DEMO_BANK`] of kind `bank` with criteria when it has none (active enterprises of Jinan
/// (3701) at least a year old, none on the abnormal list), and — when no enterprise has
/// consented yet — consent from the first [`DEMO_CONSENTS`] active enterprises of Jinan, so
/// a push (`amr exchange bank push --bank jnbank`, or the admin page) has a list to send.
/// On first registration the bank gets its API key and reports loans back for a quarter of
/// what it receives (the officers' bank figures); on a later start the key is not known any
/// more (only its hash is stored), so the bank acknowledges but reports no loans.
async fn demo_bank(db: &Db, amr_url: &str) -> Result<amr_exchange::sim::Running, AppError> {
    use amr_exchange::bank::{Criteria, consent, criteria};
    use amr_exchange::sim::{AmrKeys, SimConfig};
    let config = |callback: Option<(String, String)>| SimConfig {
        name: DEMO_BANK.into(),
        kind: "bank".into(),
        fail_rate: 0.0,
        fail_first: 0,
        delay: std::time::Duration::from_millis(200),
        keys: AmrKeys::Url(amr_url.to_string()),
        seed: crate::agency_sim::demo_seed(DEMO_BANK),
        callback,
    };
    let start = |callback: Option<(String, String)>| async move {
        amr_exchange::sim::start(config(callback), "127.0.0.1:0")
            .await
            .map_err(|e| AppError::Internal(e.into()))
    };
    let input = |endpoint: String, public_key: String| AgencyInput {
        name: DEMO_BANK.into(),
        display_name: "齐鲁示范银行济南分行（模拟）".into(),
        kind: "bank".into(),
        endpoint,
        subscriptions: String::new(),
        subscription_list: None,
        public_key,
    };
    // The bank's endpoint is where its simulator listens now.
    let point_to = |sim: &amr_exchange::sim::Running| {
        let input = input(sim.url(), sim.public_key.clone());
        async move {
            let mut tx = db.begin().await?;
            agency::change(&mut tx, &Actor::system(), DEMO_BANK, &input).await?;
            tx.commit().await
        }
    };
    let sim = match agency::by_name(db, DEMO_BANK).await? {
        None => {
            // Registered first to learn its API key, then started again to report loans
            // with it.
            let first = start(None).await?;
            let mut tx = db.begin().await?;
            let (_, key) = agency::add(
                &mut tx,
                &Actor::system(),
                &input(first.url(), first.public_key.clone()),
            )
            .await?;
            tx.commit().await?;
            first.stop().await;
            let sim = start(Some((amr_url.to_string(), key))).await?;
            point_to(&sim).await?;
            sim
        }
        Some(a) => {
            let sim = start(None).await?;
            if a.active {
                point_to(&sim).await?;
            }
            sim
        }
    };
    let bank = amr_exchange::bank::bank_named(db, DEMO_BANK).await?;
    if criteria::get(db, bank.id).await?.is_none() {
        let c = Criteria::from_value(&serde_json::json!({
            "entity_types": ["enterprise"], "regions": ["3701"], "min_age_years": 1,
            "exclude_abnormal": true, "active_only": true}))?;
        let mut tx = db.begin().await?;
        criteria::set(&mut tx, &Actor::system(), &bank, &c).await?;
        tx.commit().await?;
    }
    if consent::count_granted(db).await? == 0 {
        let filter = amr_registry::store::EntityFilter {
            entity_type: Some(amr_registry::model::EntityType::Enterprise),
            status: Some(amr_registry::model::Status::Active),
            ..Default::default()
        };
        let some = amr_registry::store::list_scoped(
            db,
            &amr_kernel::auth::Scope::prefix("3701"),
            &filter,
            None,
            DEMO_CONSENTS,
        )
        .await?;
        let mut tx = db.begin().await?;
        for e in &some {
            consent::set(&mut tx, &Actor::system(), &e.uscc, &e.division, true).await?;
        }
        tx.commit().await?;
        println!(
            "演示授权 (demo consents to the bank push): {} 家企业 (enterprises)",
            some.len()
        );
    }
    println!("模拟银行 (simulated bank) {DEMO_BANK}: {}", sim.url());
    Ok(sim)
}
