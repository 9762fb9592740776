//! `amr inspect bench`: the full-scale draw on a synthetic province (15 million targets, 40
//! departments, 222 items, ~100 tasks by default), timed in this process: the median of
//! `--runs` draws, the hash of the target list, the peak resident memory. `--pg-out DIR`
//! writes the same targets as CSV and the database baseline's queries (`ORDER BY random()
//! LIMIT n` per task and class) for `scripts/bench-draw-pg.sh`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use amr_kernel::error::AppError;
use amr_supervision::draw::expr::{self, Atom, Expr};
use amr_supervision::draw::model::{RiskClass, SeedSource};
use amr_supervision::draw::{self, synth};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Targets in the synthetic province.
    #[arg(long, default_value_t = 15_000_000)]
    pub targets: u64,
    /// Tasks in the plan.
    #[arg(long, default_value_t = 100)]
    pub tasks: usize,
    /// Inspectors per department and county.
    #[arg(long, default_value_t = 6)]
    pub inspectors_per_county: u32,
    /// Draws timed (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Write targets.csv, plan.json and queries.sql here for scripts/bench-draw-pg.sh.
    #[arg(long, value_name = "DIR")]
    pub pg_out: Option<PathBuf>,
    /// Also write the bundle here and time writing, reading and verifying it.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The population expression as a PostgreSQL condition over
/// `bench_targets(uscc, division, entity_type, industry, risk, tags text[])`.
pub fn to_sql(e: &Expr) -> String {
    match e {
        Expr::Atom(a) => match a {
            Atom::All => "TRUE".into(),
            Atom::Type(t) => format!("entity_type = '{}'", expr::ENTITY_TYPES[*t as usize]),
            Atom::Section(_) | Atom::Industry(_) => {
                let (lo, hi) = a.industry_range().unwrap_or((1, 0));
                format!("industry BETWEEN '{lo:04}' AND '{hi:04}'")
            }
            Atom::Region(p) => format!("division LIKE '{p}%'"),
            Atom::Risk(r) => format!("risk = '{}'", r.as_str()),
            Atom::Licence(_) | Atom::Tag(_) => format!(
                "tags @> ARRAY[{}]::text[]",
                sql_text(&a.tag_text().unwrap_or_default())
            ),
        },
        Expr::Not(x) => format!("NOT ({})", to_sql(x)),
        Expr::And(a, b) => format!("({}) AND ({})", to_sql(a), to_sql(b)),
        Expr::Or(a, b) => format!("({}) OR ({})", to_sql(a), to_sql(b)),
    }
}

pub fn run(a: BenchArgs) -> Result<ExitCode, AppError> {
    let internal = |e: std::io::Error| AppError::Internal(e.into());
    println!(
        "合成省份 (synthetic province): {} 户检查对象，{} 项任务 (targets, tasks)",
        a.targets, a.tasks
    );
    let t0 = Instant::now();
    let targets = synth::targets(a.targets, 1);
    let items = synth::items();
    let inspectors = synth::inspectors(&items, a.inspectors_per_county, 1);
    let plan = synth::plan(&items, a.tasks, 1);
    println!(
        "  生成 (generated) {} targets, {} items, {} inspectors in {}; RSS peak so far {:.0} MB",
        targets.len(),
        items.len(),
        inspectors.len(),
        secs(t0.elapsed()),
        peak_rss_mb()
    );
    let seed = draw::seed_from(b"amr-bench-secret", "bench");
    let t = Instant::now();
    let th = draw::targets_hash(&targets).map_err(|e| AppError::Internal(e.into()))?;
    println!(
        "  名录哈希 (target list hash) {th} in {}",
        secs(t.elapsed())
    );
    let mut times = Vec::new();
    let mut outcome = None;
    for run in 0..a.runs.max(1) {
        // Where a run's time goes: the time from each stage's first progress report to the
        // next stage's (the first run only).
        let stages: std::sync::Mutex<Vec<(&'static str, Instant)>> =
            std::sync::Mutex::new(Vec::new());
        let t = Instant::now();
        let out = draw::draw(&plan, &items, &targets, &inspectors, &seed, &|p| {
            if run == 0 {
                let mut s = stages.lock().unwrap_or_else(|e| e.into_inner());
                if s.last().is_none_or(|(name, _)| *name != p.stage) {
                    s.push((p.stage, Instant::now()));
                }
            }
        })
        .map_err(AppError::from)?;
        let d = t.elapsed();
        let stages = stages.into_inner().unwrap_or_else(|e| e.into_inner());
        if !stages.is_empty() {
            let ends = stages.iter().skip(1).map(|(_, at)| *at).chain([t + d]);
            let parts: Vec<String> = stages
                .iter()
                .zip(ends)
                .map(|((name, at), end)| format!("{name} {}", secs(end - *at)))
                .collect();
            println!("  各阶段 (stages): {}", parts.join(", "));
        }
        println!(
            "  抽取第 {} 次 (draw run {}): {}",
            run + 1,
            run + 1,
            secs(d)
        );
        times.push(d);
        outcome = Some(out);
    }
    times.sort();
    let median = times[times.len() / 2];
    let out = outcome.expect("at least one run");
    // A digest of what was drawn (samples and visits with their crews): the same inputs give
    // the same digest, so a change to the engine that must not change results is checked by
    // running the bench before and after it.
    {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let json = serde_json::to_vec(&(&out.samples, &out.visits))
            .map_err(|e| AppError::Internal(e.into()))?;
        h.update(&json);
        let digest: [u8; 32] = h.finalize().into();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        println!("  结果摘要 (outcome digest) {hex}");
    }
    let r = &out.report;
    println!(
        "抽取中位数 (draw, median of {}): {}；峰值内存 (peak RSS): {:.0} MB",
        times.len(),
        secs(median),
        peak_rss_mb()
    );
    println!(
        "  抽取次数 (task draws) {}；检查户次 (visits) {}；联合检查 (joint) {} = {:.1}%",
        r.coordinated.draws,
        r.coordinated.visits,
        r.coordinated.joint_visits,
        r.coordinated.joint_ratio * 100.0
    );
    println!(
        "  独立抽取期望 (independent, expected): visits {:.0}, joint {:.0} = {:.1}%",
        r.independent.visits,
        r.independent.joint_visits,
        r.independent.joint_ratio * 100.0
    );
    println!(
        "  上限 (maximum): visits ≥ {:.0}, joint ≤ {:.0}, ratio ≤ {:.1}%；人员不足户次 (unstaffed visits) {}",
        r.maximum.visits,
        r.maximum.joint_visits,
        r.maximum.joint_ratio * 100.0,
        r.unstaffed_visits
    );
    if let Some(dir) = &a.pg_out {
        std::fs::create_dir_all(dir).map_err(internal)?;
        let t = Instant::now();
        let f = std::fs::File::create(dir.join("targets.csv")).map_err(internal)?;
        synth::write_targets_csv(a.targets, 1, std::io::BufWriter::new(f)).map_err(internal)?;
        std::fs::write(
            dir.join("plan.json"),
            serde_json::to_vec_pretty(&plan).map_err(|e| AppError::Internal(e.into()))?,
        )
        .map_err(internal)?;
        let mut q = std::io::BufWriter::new(
            std::fs::File::create(dir.join("queries.sql")).map_err(internal)?,
        );
        let mut n = 0;
        for (task, s) in plan.tasks.iter().zip(&out.samples) {
            let e = expr::parse(&task.population).map_err(|e| AppError::Internal(e.into()))?;
            let cond = format!("({}) AND division LIKE '{}%'", to_sql(&e), plan.scope);
            for c in RiskClass::ALL {
                let limit = s.quota.get(c);
                if limit == 0 {
                    continue;
                }
                writeln!(
                    q,
                    "SELECT count(*) FROM (SELECT uscc FROM bench_targets WHERE {cond} AND risk = '{}' ORDER BY random() LIMIT {limit}) s; -- {} {}",
                    c.as_str(),
                    task.id,
                    c.as_str()
                )
                .map_err(internal)?;
                n += 1;
            }
        }
        q.flush().map_err(internal)?;
        println!(
            "  数据库基线文件 (baseline files) in {}: targets.csv, plan.json, queries.sql ({n} queries), {}",
            dir.display(),
            secs(t.elapsed())
        );
    }
    if let Some(path) = &a.bundle {
        let t = Instant::now();
        let bundle = draw::make_bundle(
            plan,
            items,
            targets,
            inspectors,
            SeedSource {
                commitment: Some(draw::commitment(b"amr-bench-secret")),
                secret: Some(hex::encode(b"amr-bench-secret")),
                public_value: Some("bench".into()),
                seed: hex::encode(seed),
            },
            BTreeMap::new(),
            &|_| {},
        )
        .map_err(AppError::from)?;
        let f = std::fs::File::create(path).map_err(internal)?;
        draw::write_bundle(f, &bundle).map_err(internal)?;
        drop(bundle);
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!(
            "  结果包 (bundle) {} ({:.0} MB) made and written in {}",
            path.display(),
            size as f64 / 1e6,
            secs(t.elapsed())
        );
        let t = Instant::now();
        let f = std::fs::File::open(path).map_err(internal)?;
        let b = draw::read_bundle(f).map_err(AppError::rejected)?;
        println!("  读取 (read) in {}", secs(t.elapsed()));
        let t = Instant::now();
        let v = draw::verify(&b, &|_| {});
        println!(
            "  核验 (verify) {} in {}；峰值内存 (peak RSS) {:.0} MB",
            if v.ok {
                "一致 (ok)"
            } else {
                "不一致 (DIFFERS)"
            },
            secs(t.elapsed()),
            peak_rss_mb()
        );
    }
    Ok(ExitCode::SUCCESS)
}
