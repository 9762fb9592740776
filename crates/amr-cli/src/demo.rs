//! `amr demo`: generates the demo province (a synthetic Shandong) into the database.
//!
//! Generation runs on a blocking thread and hands batches over a bounded channel to the
//! inserting task, so generating the next batch overlaps inserting the last one; memory
//! stays bounded by the channel (a few batches) and the generator's largest county. Each
//! batch is one transaction of `store::insert_batch`, which skips USCCs already present:
//! the same command after an interruption (even `kill -9`) inserts only what is missing.

use std::fmt;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use amr_kernel::audit::Actor;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_registry::demo::{DemoSpec, GENERATOR_VERSION, Generator};
use amr_registry::model::field_errors_to_app;
use amr_registry::store::{self, PreparedBatch};

/// Batches generated ahead of the inserts.
const CHANNEL_BATCHES: usize = 3;

/// `amr demo`: a deterministic synthetic Shandong over the real divisions.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// How many entities to generate.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub entities: u64,
    /// Seed: the same seed and count give the same province.
    #[arg(long, default_value_t = 37, value_name = "S")]
    pub seed: u64,
    /// Entities per insert transaction.
    #[arg(long, default_value_t = 10_000, value_name = "B",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch: u64,
    /// Leave out the demo's standard address library and address-risk counts (they take
    /// longer than the entities themselves; `amr address risk rebuild` counts them later).
    #[arg(long)]
    pub no_addresses: bool,
    /// Also generate this many complaints, reports and requests for help about the demo's
    /// enterprises (a year of the article's volume: 1650000).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub complaints: u64,
    /// The year they are filed in (the next year's calendar must be loaded too).
    #[arg(long, default_value_t = 2025, value_name = "YEAR")]
    pub complaints_year: i32,
    /// Write the complaints call by call, through the public intake's recording code and
    /// then each officer's and business's transition (the reference the default writing, a
    /// whole course a call, is tested against; several times slower: for comparison).
    #[arg(long)]
    pub complaints_stepwise: bool,
}

impl DemoArgs {
    /// The generator spec (province 37, Shandong).
    pub fn spec(&self) -> DemoSpec {
        DemoSpec {
            seed: self.seed,
            entities: self.entities,
            province: "37".to_string(),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoReport {
    pub spec: DemoSpec,
    pub generator_version: u32,
    /// Entities generated (the whole spec).
    pub generated: u64,
    /// Entities newly inserted.
    pub inserted: u64,
    /// Entities already present (an earlier run of the same spec, or the same USCC).
    pub skipped_existing: u64,
    /// Generation and insertion of the entities, their indexes included.
    pub elapsed: Duration,
    /// The address library and risk counts built after, when they were.
    pub addresses_elapsed: Option<Duration>,
}

impl DemoReport {
    /// Generated entities per second, inserts included.
    pub fn per_second(&self) -> f64 {
        self.generated as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "示范省份 (demo province) seed {} v{}: 生成 {} 个 (generated), 新增 {} (inserted), \
             已存在 {} (already present), {:.1} s, {:.0} 个/秒 (entities/s)",
            self.spec.seed,
            self.generator_version,
            self.generated,
            self.inserted,
            self.skipped_existing,
            self.elapsed.as_secs_f64(),
            self.per_second()
        )?;
        if let Some(a) = self.addresses_elapsed {
            write!(
                f,
                "; 示范标准地址库与住所风险统计 (address library and risk counts) {:.1} s",
                a.as_secs_f64()
            )?;
        }
        Ok(())
    }
}

/// The `amr demo` command on an open, migrated database: runs and prints the report.
pub async fn run(db: &Db, args: DemoArgs) -> Result<ExitCode, AppError> {
    let spec = args.spec();
    let province = spec.province.clone();
    let report = run_demo(db, spec, args.batch as usize, !args.no_addresses).await?;
    println!("{report}");
    // A separate step: the service guide's catalogue and the demo share of 名特优新.
    crate::guide::demo_step(db, &province).await?;
    crate::inspect_library::demo_step(db, args.seed, &province).await?;
    crate::inspect_risk::demo_step(db, args.seed, &province).await?;
    odr_step(db).await?;
    annual_step(db, args.seed, amr_registry::model::today_in_china()).await?;
    if args.complaints > 0 {
        let mode = if args.complaints_stepwise {
            amr_consumer::complaint::demo::Mode::Stepwise
        } else {
            amr_consumer::complaint::demo::Mode::Course
        };
        crate::complaints_bench::demo_step(
            db,
            args.complaints,
            args.complaints_year,
            args.seed,
            mode,
        )
        .await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The annual reports of last year: nine in ten entities that had to report filed in the
/// season (dates spread over it, up to today), the rest did not, so the abnormal list's sweep
/// lists them from its decision day (`amr_registry::annual::demo`). `today` is the day the
/// reports are filed up to (a server's fixed day with `amr serve --demo --today`).
pub async fn annual_step(db: &Db, seed: u64, today: chrono::NaiveDate) -> Result<(), AppError> {
    let year = amr_registry::annual::demo::demo_year(today);
    let n = amr_registry::annual::demo::generate(db, seed, year, today).await?;
    println!("{year} 年度报告 (annual reports for {year}): {n}");
    Ok(())
}

/// One enterprise in 50 takes part in online dispute resolution (the article's 61,000 ODR
/// enterprises among Shandong's ~3 million enterprises is about 1 in 50), chosen by a hash of
/// the USCC so every run picks the same ones.
pub async fn odr_step(db: &Db) -> Result<(), AppError> {
    let directory = amr_server::consumer_wiring::RegistryDirectory { db: db.clone() };
    let n = amr_consumer::complaint::flow::demo_mark_odr(
        db,
        &directory,
        50,
        amr_kernel::matter::today(),
    )
    .await?;
    println!("在线纠纷解决企业 (ODR enterprises): {n}");
    Ok(())
}

/// Generates `spec` and inserts it in batches of `batch`, with a progress bar on stderr
/// (shown only on a terminal); recorded as done at the command line.
pub async fn run_demo(
    db: &Db,
    spec: DemoSpec,
    batch: usize,
    addresses: bool,
) -> Result<DemoReport, AppError> {
    run_demo_with(db, &Actor::cli(), spec, batch, true, addresses).await
}

/// [`run_demo`] with the actor to record (e.g. `Actor::system()` for `amr serve --demo`)
/// and the progress bar optional.
pub async fn run_demo_with(
    db: &Db,
    actor: &Actor,
    spec: DemoSpec,
    batch: usize,
    progress: bool,
    addresses: bool,
) -> Result<DemoReport, AppError> {
    let start = Instant::now();
    let batch = batch.max(1);
    let mut generator = Generator::new(spec.clone())?;
    let bulk = store::bulk_load_begin(db).await?;
    let bar = progress_bar(spec.entities, progress);
    let (tx, mut rx) = mpsc::channel::<PreparedBatch>(CHANNEL_BATCHES);
    let backend = db.backend();
    let producer = tokio::task::spawn_blocking(move || -> Result<(), AppError> {
        loop {
            let entities = generator.next_batch(batch);
            if entities.is_empty() {
                return Ok(());
            }
            for e in &entities {
                e.validate()
                    .map_err(|errors| field_errors_to_app(&errors))?;
            }
            if tx
                .blocking_send(PreparedBatch::new(backend, entities)?)
                .is_err()
            {
                return Ok(()); // The consumer stopped (an insert failed): it reports why.
            }
        }
    });
    let (mut generated, mut inserted, mut skipped_existing) = (0u64, 0u64, 0u64);
    while let Some(entities) = rx.recv().await {
        let n = entities.len() as u64;
        let out = store::insert_prepared(db, actor, entities).await?;
        generated += n;
        inserted += out.inserted;
        skipped_existing += out.skipped_existing;
        bar.inc(n);
    }
    producer
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("demo generator thread: {e}")))??;
    bar.finish_and_clear();
    if bulk {
        build_indexes(db, progress).await?;
    }
    let elapsed = start.elapsed();
    let addresses_elapsed = if addresses {
        let started = Instant::now();
        crate::address_db::demo_addresses(db, &spec, progress).await?;
        Some(started.elapsed())
    } else {
        None
    };
    Ok(DemoReport {
        spec,
        generator_version: GENERATOR_VERSION,
        generated,
        inserted,
        skipped_existing,
        elapsed,
        addresses_elapsed,
    })
}

/// Creates the registry's secondary indexes after a bulk load, with a spinner on a terminal.
pub async fn build_indexes(db: &Db, progress: bool) -> Result<(), AppError> {
    let spinner = if progress {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    spinner.set_message("建立索引 (building the registry's indexes)");
    spinner.enable_steady_tick(Duration::from_millis(200));
    let out = store::ensure_indexes(db).await;
    spinner.finish_and_clear();
    out.map(|_| ())
}

fn progress_bar(len: u64, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {human_pos}/{human_len} {per_sec} 剩余 (ETA) {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message("示范省份 (demo)");
    bar
}
