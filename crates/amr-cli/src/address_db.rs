//! The address commands that use the database: `amr address check` (stdin lines → JSON
//! verdicts), `amr address library import FILE --city 3701` (CSV or XLSX, with a report of
//! each refused row), `amr address risk rebuild` (every entity of the registry → the risk
//! counts, with a progress bar), and the standard library of the demo province.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use amr_address::check::{self, CheckRequest};
use amr_address::library::{self, NewEntry};
use amr_address::risk;
use amr_kernel::audit::Actor;
use amr_kernel::auth::Scope;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_registry::demo::{ClusterSite, DemoSpec, Generator};
use amr_registry::store::{self, EntityFilter};
use amr_server::address_wiring;

#[derive(Debug, Subcommand)]
pub enum AddressDbCommand {
    /// Check addresses (one per line on stdin) against the standard library, the negative
    /// list and the risk counts: one JSON verdict per line (outcome accepted_standard,
    /// needs_commitment or refused).
    Check {
        /// The jurisdiction the addresses are expected in (division code, 2–9 digits).
        #[arg(long, value_name = "DIVISION_CODE")]
        hint: Option<String>,
        /// The address type the applicants declare (住宅, 商业, ...), for type rules.
        #[arg(long)]
        address_type: Option<String>,
        /// The applicants' industry (GB/T 4754 code), for industry-limited rules.
        #[arg(long)]
        industry: Option<String>,
    },
    /// The standard address library.
    #[command(subcommand)]
    Library(LibraryCommand),
    /// False-address risk counts.
    #[command(subcommand)]
    Risk(RiskCommand),
}

#[derive(Debug, Subcommand)]
pub enum LibraryCommand {
    /// Import a CSV (UTF-8) or XLSX file into a city's library. Columns: 地址/address, or
    /// 道路/road + 门牌号/road_no [+ 楼宇/building]; optional 区县代码/county_code,
    /// 地址类型/address_type. Refused rows are listed with their reason; the rest go in.
    Import {
        file: PathBuf,
        /// The 4-digit city code (e.g. 3701).
        #[arg(long)]
        city: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// Recount every address from every entity in the registry.
    Rebuild,
}

pub async fn run(db: &Db, cmd: AddressDbCommand) -> Result<ExitCode, AppError> {
    match cmd {
        AddressDbCommand::Check {
            hint,
            address_type,
            industry,
        } => {
            let base = CheckRequest {
                hint: hint.unwrap_or_default(),
                address_type: address_type.unwrap_or_default(),
                industry: industry.unwrap_or_default(),
                ..CheckRequest::default()
            };
            // The hint is checked once, before any line is read.
            CheckRequest {
                address: "-".into(),
                ..base.clone()
            }
            .validate()?;
            let stdin = std::io::stdin().lock();
            let stdout = std::io::stdout().lock();
            check_lines(db, &base, stdin, stdout).await?;
            Ok(ExitCode::SUCCESS)
        }
        AddressDbCommand::Library(LibraryCommand::Import { file, city }) => {
            let city = library::parse_city(&city)?;
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
            let rows = library::read_table(&name, &bytes)?;
            let bar = bar(rows.len() as u64, "标准地址导入 (library import)");
            let report = library::import_rows(
                db,
                &Actor::cli(),
                &Scope::all(),
                &city,
                &format!("import:{name}"),
                &rows,
                |n| bar.set_position(n),
            )
            .await?;
            bar.finish_and_clear();
            for e in &report.errors {
                eprintln!("第 {} 行 (row {}) {}: {}", e.row, e.row, e.field, e.message);
            }
            println!(
                "{} 行：新增 {}，已存在 {}，有误 {} (rows {}: inserted {}, already there {}, refused {})",
                report.rows,
                report.inserted,
                report.duplicates,
                report.errors.len(),
                report.rows,
                report.inserted,
                report.duplicates,
                report.errors.len()
            );
            Ok(if report.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        AddressDbCommand::Risk(RiskCommand::Rebuild) => {
            let total = address_wiring::entity_count(db).await?;
            let bar = bar(total as u64, "住所风险重建 (risk rebuild)");
            let n = address_wiring::rebuild(db, |n| bar.set_position(n)).await?;
            bar.finish_and_clear();
            println!("已统计 {n} 户市场主体 (counted {n} entities)");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn bar(len: u64, msg: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {human_pos}/{human_len} {per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(msg);
    bar
}

/// Checks every line of `input`, one JSON verdict per line on `output` (an empty line or a
/// line the check refuses as input gives `{"input": ..., "error": ...}`).
pub async fn check_lines(
    db: &Db,
    base: &CheckRequest,
    input: impl BufRead,
    output: impl Write,
) -> Result<(), AppError> {
    let mut out = BufWriter::new(output);
    let io = |e: std::io::Error| AppError::Internal(e.into());
    let today = check::today();
    for line in input.lines() {
        let line = line.map_err(io)?;
        let req = CheckRequest {
            address: line.trim_end_matches('\r').to_string(),
            ..base.clone()
        };
        let value = match check::check(db, &req, today).await {
            Ok(v) => serde_json::to_value(&v).map_err(|e| AppError::Internal(e.into()))?,
            Err(AppError::BadRequest { field, message }) => serde_json::json!({
                "input": req.address, "error": { "field": field, "message": message },
            }),
            Err(e) => return Err(e),
        };
        let written = serde_json::to_writer(&mut out, &value)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        match written {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r.map_err(io)?,
        }
    }
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(io),
    }
}

/// Whether the demo leaves this address out of the library (about one in ten, decided by the
/// key alone so the same province always gets the same library).
fn left_out(key: &str) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.is_multiple_of(10)
}

/// The demo province's standard library and risk counts: every generated domicile's road and
/// number goes into the library of its city, except about one in ten (so the commitment path
/// shows), then the risk counts are rebuilt from the registry and the cluster addresses the
/// generator declares are declared cluster-registration addresses (集群注册), so the review
/// queue holds only the undeclared ones.
pub async fn demo_addresses(db: &Db, spec: &DemoSpec, progress: bool) -> Result<(), AppError> {
    let province = spec.province.as_str();
    let scope = Scope::prefix(province);
    let filter = EntityFilter::default();
    let total = store::count_scoped(db, &scope, &filter).await?;
    let pb = if progress {
        bar(total as u64, "示范标准地址库 (demo address library)")
    } else {
        ProgressBar::hidden()
    };
    let actor = Actor::system();
    let mut after: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    let mut done = 0u64;
    loop {
        let page = store::list_scoped(db, &scope, &filter, after.as_deref(), 5000).await?;
        let mut entries: Vec<NewEntry> = Vec::new();
        for e in &page {
            let Some(city) = e.division.get(..4) else {
                continue;
            };
            let Ok(entry) = library::prepare(city, &e.address, None) else {
                continue;
            };
            if left_out(&entry.key.key) || !seen.insert(entry.key.key.clone()) {
                continue;
            }
            entries.push(entry);
        }
        let mut tx = db.begin().await?;
        library::add_batch(&mut tx, &actor, "demo", &entries).await?;
        tx.commit().await?;
        done += page.len() as u64;
        pb.set_position(done);
        match page.last() {
            Some(last) if page.len() == 5000 => after = Some(last.uscc.clone()),
            _ => break,
        }
    }
    pb.finish_and_clear();
    let pb = if progress {
        bar(total as u64, "住所风险统计 (address risk)")
    } else {
        ProgressBar::hidden()
    };
    address_wiring::rebuild(db, |n| pb.set_position(n)).await?;
    pb.finish_and_clear();
    let sites = Generator::new(spec.clone())?;
    declare_clusters(db, &actor, sites.cluster_sites()).await?;
    Ok(())
}

/// Declares the demo's declared cluster sites that have entities (and are not declared
/// yet), in one transaction with their audit entries.
pub async fn declare_clusters(
    db: &Db,
    actor: &Actor,
    sites: &[ClusterSite],
) -> Result<u64, AppError> {
    let mut keys = Vec::new();
    for site in sites.iter().filter(|s| s.declared) {
        let parsed = amr_address::parse(&site.address, Some(site.division));
        let key = risk::risk_key(&parsed, Some(site.division)).key;
        if risk::get(db, &key).await?.is_some_and(|a| !a.cluster) {
            keys.push((key, &site.address));
        }
    }
    let mut tx = db.begin().await?;
    let mut declared = 0;
    for (key, address) in keys {
        let note = format!(
            "示范数据：已备案的集群注册住所（{address}）(demo: a declared cluster-registration address)"
        );
        risk::declare_cluster(&mut tx, actor, &Scope::all(), &key, true, &note).await?;
        declared += 1;
    }
    tx.commit().await?;
    Ok(declared)
}
