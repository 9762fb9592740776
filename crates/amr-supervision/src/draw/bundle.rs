//! The bundle: everything a third party needs to recompute a draw, written and read as a
//! stream, and its verification.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Read, Write};

use serde::Serialize;

use super::engine::{self, DrawError, Progress};
use super::hash::{self, Seed};
use super::model::{
    ALGORITHM, BUNDLE_FORMAT, Bundle, Inspector, ItemRef, Plan, SeedSource, TaskSample, Visit,
};
use super::targetset::TargetSet;

/// The seed a seed source stands for, after checking it: the secret against the commitment,
/// and the seed against the secret and the public value.
pub fn resolve_seed(plan: &Plan, source: &SeedSource) -> Result<Seed, Vec<String>> {
    let mut problems = Vec::new();
    let seed = hash::parse_seed(&source.seed);
    if seed.is_none() {
        problems.push("种子应为 64 位十六进制数字 (the seed is 64 hex digits)".to_string());
    }
    let secret = match &source.secret {
        Some(s) => match hex::decode(s.trim()) {
            Ok(b) if !b.is_empty() => Some(b),
            _ => {
                problems.push("秘密值应为十六进制 (the secret is hex)".to_string());
                None
            }
        },
        None => None,
    };
    if let Some(c) = &source.commitment {
        match &secret {
            None => problems.push(
                "公布了承诺值却没有公开秘密值 (a commitment was published but the secret is not revealed)"
                    .to_string(),
            ),
            Some(s) => {
                if &hash::commitment(s) != c {
                    problems.push(
                        "秘密值与事先公布的承诺值不符 (the secret does not match the published commitment)"
                            .to_string(),
                    );
                }
            }
        }
    }
    // A seed given directly (no commitment: `amr inspect draw --seed`) is reproducible but its
    // origin cannot be checked; the verifier says so. With a commitment, the named public
    // value must be there.
    if plan.public_value_source.is_some()
        && source.commitment.is_some()
        && source.public_value.is_none()
    {
        problems.push(
            "计划指定了公开值来源，但未给出公开值 (the plan names a public value but none is given)"
                .to_string(),
        );
    }
    if let (Some(s), Some(seed)) = (&secret, seed) {
        let want = hash::seed_from(s, source.public_value.as_deref().unwrap_or(""));
        if want != seed {
            problems.push(
                "种子不等于 SHA-256(\"amr-seed-v1\\n\" || 秘密值 || \"\\n\" || 公开值) (the seed does not follow from the secret and the public value)"
                    .to_string(),
            );
        }
    }
    match (seed, problems.is_empty()) {
        (Some(s), true) => Ok(s),
        _ => Err(problems),
    }
}

/// Draws and assembles the bundle (hashes computed here).
pub fn make_bundle(
    plan: Plan,
    items: Vec<ItemRef>,
    targets: TargetSet,
    inspectors: Vec<Inspector>,
    seed: SeedSource,
    meta: BTreeMap<String, String>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Bundle, DrawError> {
    let s = resolve_seed(&plan, &seed).map_err(|p| DrawError {
        problems: p
            .into_iter()
            .map(|m| engine::Problem {
                field: "seed".into(),
                message: m,
            })
            .collect(),
    })?;
    let targets_hash =
        hash::targets_hash(&targets).map_err(|e| DrawError::one("targets", e.to_string()))?;
    let inspectors_hash =
        hash::inspectors_hash(&inspectors).map_err(|e| DrawError::one("inspectors", e))?;
    let out = engine::draw(&plan, &items, &targets, &inspectors, &s, progress)?;
    Ok(Bundle {
        format: BUNDLE_FORMAT.into(),
        algorithm: ALGORITHM.into(),
        plan,
        items,
        targets_hash,
        inspectors_hash,
        seed,
        targets,
        inspectors,
        samples: out.samples,
        visits: out.visits,
        report: out.report,
        meta,
    })
}

/// Writes a bundle as JSON, streaming (the target list is never one string in memory).
pub fn write_bundle(w: impl Write, bundle: &Bundle) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, w);
    serde_json::to_writer(&mut w, bundle).map_err(std::io::Error::other)?;
    w.write_all(b"\n")?;
    w.flush()
}

/// Reads a bundle, streaming.
pub fn read_bundle(r: impl Read) -> Result<Bundle, String> {
    serde_json::from_reader(BufReader::with_capacity(1 << 20, r))
        .map_err(|e| format!("无法读取抽查结果包 (cannot read the bundle): {e}"))
}

/// One check of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `format`, `targets_hash`, `inspectors_hash`, `seed`, `plan`, `samples`, `visits`,
    /// `crews`, `shortfalls`, `report`.
    pub name: String,
    pub ok: bool,
    /// The first differences (at most 10), Chinese first.
    pub differences: Vec<String>,
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub checks: Vec<Check>,
    pub targets: u64,
    pub inspectors: u64,
    pub visits: u64,
}

const SHOWN: usize = 10;

fn check(name: &str, diffs: Vec<String>) -> Check {
    Check {
        name: name.into(),
        ok: diffs.is_empty(),
        differences: diffs.into_iter().take(SHOWN).collect(),
    }
}

fn compare_samples(published: &[TaskSample], ours: &[TaskSample]) -> Vec<String> {
    let mut d = Vec::new();
    if published.len() != ours.len() {
        d.push(format!(
            "任务样本数量不同：公布 {}，重算 {} (number of task samples differs)",
            published.len(),
            ours.len()
        ));
    }
    for (p, o) in published.iter().zip(ours) {
        if p.task != o.task {
            d.push(format!(
                "任务顺序不同：{} / {} (task order differs)",
                p.task, o.task
            ));
            continue;
        }
        if p.population != o.population || p.quota != o.quota {
            d.push(format!(
                "任务 {} 的总体或样本量不同 (task {}: population or quota differs)",
                p.task, p.task
            ));
        }
        for (k, (a, b)) in p.sampled.iter().zip(&o.sampled).enumerate() {
            if a != b {
                d.push(format!(
                    "任务 {} 第 {} 个样本：公布 {a}，重算 {b} (task {}: sample {} is {a} published, {b} recomputed)",
                    p.task,
                    k + 1,
                    p.task,
                    k + 1
                ));
                break;
            }
        }
        if p.sampled.len() != o.sampled.len() {
            d.push(format!(
                "任务 {} 样本数：公布 {}，重算 {} (task {}: sample size differs)",
                p.task,
                p.sampled.len(),
                o.sampled.len(),
                p.task
            ));
        }
    }
    d
}

fn compare_visits(published: &[Visit], ours: &[Visit]) -> [Vec<String>; 3] {
    let (mut v, mut c, mut s) = (Vec::new(), Vec::new(), Vec::new());
    if published.len() != ours.len() {
        v.push(format!(
            "检查户次不同：公布 {}，重算 {} (number of visits: {} published, {} recomputed)",
            published.len(),
            ours.len(),
            published.len(),
            ours.len()
        ));
    }
    for (p, o) in published.iter().zip(ours) {
        if p.no != o.no
            || p.uscc != o.uscc
            || p.division != o.division
            || p.tasks != o.tasks
            || p.departments != o.departments
        {
            v.push(format!(
                "第 {} 户次：公布 {} {:?}，重算 {} {:?} (visit {} differs)",
                p.no, p.uscc, p.tasks, o.uscc, o.tasks, p.no
            ));
        }
        if p.crews != o.crews {
            c.push(format!(
                "第 {} 户次 {} 的执法人员不同：公布 {}，重算 {} (visit {}: inspectors differ)",
                p.no,
                p.uscc,
                crew_text(&p.crews),
                crew_text(&o.crews),
                p.no
            ));
        }
        if p.unstaffed != o.unstaffed {
            s.push(format!(
                "第 {} 户次 {} 的人员不足记录不同 (visit {}: shortfalls differ)",
                p.no, p.uscc, p.no
            ));
        }
    }
    [v, c, s]
}

fn crew_text(crews: &[super::model::Crew]) -> String {
    crews
        .iter()
        .map(|c| format!("{}:{}", c.department, c.inspectors.join("+")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Recomputes everything a bundle claims: the list hashes, the seed, the samples, the visits,
/// the crews, the shortfalls and the report.
pub fn verify(bundle: &Bundle, progress: &(dyn Fn(Progress) + Sync)) -> VerifyReport {
    let mut checks = Vec::new();
    let mut fmt = Vec::new();
    if bundle.format != BUNDLE_FORMAT {
        fmt.push(format!(
            "格式标记 {} 不是 {BUNDLE_FORMAT} (unknown bundle format)",
            bundle.format
        ));
    }
    if bundle.algorithm != ALGORITHM {
        fmt.push(format!(
            "算法版本 {} 不是 {ALGORITHM} (unknown algorithm version)",
            bundle.algorithm
        ));
    }
    checks.push(check("format", fmt));
    let th = match hash::targets_hash(&bundle.targets) {
        Ok(h) if h == bundle.targets_hash => vec![],
        Ok(h) => vec![format!(
            "检查对象名录的哈希不符：公布 {}，重算 {h} (the target list's hash differs)",
            bundle.targets_hash
        )],
        Err(e) => vec![e.to_string()],
    };
    checks.push(check("targets_hash", th));
    let ih = match hash::inspectors_hash(&bundle.inspectors) {
        Ok(h) if h == bundle.inspectors_hash => vec![],
        Ok(h) => vec![format!(
            "执法人员名录的哈希不符：公布 {}，重算 {h} (the inspector list's hash differs)",
            bundle.inspectors_hash
        )],
        Err(e) => vec![e],
    };
    checks.push(check("inspectors_hash", ih));
    let seed = resolve_seed(&bundle.plan, &bundle.seed);
    checks.push(check(
        "seed",
        seed.as_ref().err().cloned().unwrap_or_default(),
    ));
    let plan_ok = engine::validate_plan(&bundle.plan, &bundle.items);
    checks.push(check(
        "plan",
        plan_ok
            .as_ref()
            .err()
            .map(|e| {
                e.problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect()
            })
            .unwrap_or_default(),
    ));
    let redo = match (&seed, plan_ok) {
        (Ok(s), Ok(())) => Some(engine::draw(
            &bundle.plan,
            &bundle.items,
            &bundle.targets,
            &bundle.inspectors,
            s,
            progress,
        )),
        _ => None,
    };
    match redo {
        Some(Ok(out)) => {
            checks.push(check(
                "samples",
                compare_samples(&bundle.samples, &out.samples),
            ));
            let [v, c, s] = compare_visits(&bundle.visits, &out.visits);
            checks.push(check("visits", v));
            checks.push(check("crews", c));
            checks.push(check("shortfalls", s));
            let r = if bundle.report == out.report {
                vec![]
            } else {
                vec![format!(
                    "报告数字不同 (the report's figures differ): 公布 {}，重算 {}",
                    serde_json::to_string(&bundle.report).unwrap_or_default(),
                    serde_json::to_string(&out.report).unwrap_or_default()
                )]
            };
            checks.push(check("report", r));
        }
        Some(Err(e)) => checks.push(check("samples", vec![e.to_string()])),
        None => checks.push(check(
            "samples",
            vec![
                "种子或计划无效，无法重新抽取 (cannot redraw: the seed or the plan is invalid)"
                    .into(),
            ],
        )),
    }
    VerifyReport {
        ok: checks.iter().all(|c| c.ok),
        checks,
        targets: bundle.targets.len() as u64,
        inspectors: bundle.inspectors.len() as u64,
        visits: bundle.visits.len() as u64,
    }
}
