//! The coordinated draw: plan validation, populations, permanent random numbers, the samples,
//! the visits, the report and the inspector assignment. Pure: the same inputs give the same
//! bundle on every machine (the algorithm is written out in `docs/INSPECTION.md`).

use std::collections::{HashMap, HashSet};
use std::fmt;

use amr_kernel::error::AppError;
use serde::{Deserialize, Serialize};

use super::assign;
use super::expr::{self, Atom, Expr};
use super::hash::{Prn, Seed};
use super::model::{
    ItemRef, Overlap, PLAN_FORMAT, PerClass, Plan, Report, RiskClass, TaskSample, Visit,
};
use super::report;
use super::targetset::{Bits, TargetSet};

/// One problem of a plan: the field (`tasks[2].ratios.A`) and a Chinese-first message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

/// Every problem found, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawError {
    pub problems: Vec<Problem>,
}

impl DrawError {
    pub fn one(field: impl Into<String>, message: impl Into<String>) -> DrawError {
        DrawError {
            problems: vec![Problem {
                field: field.into(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for DrawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, p) in self.problems.iter().enumerate() {
            if k > 0 {
                f.write_str("；")?;
            }
            write!(f, "{}: {}", p.field, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for DrawError {}

impl From<DrawError> for AppError {
    fn from(e: DrawError) -> AppError {
        let field = e
            .problems
            .first()
            .map(|p| p.field.clone())
            .unwrap_or_else(|| "plan".into());
        let message = e
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("；");
        AppError::bad_request(field, message)
    }
}

/// Where the draw is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// `populations`, `numbers`, `order`, `samples`, `visits`, `inspectors`, `report`.
    pub stage: &'static str,
    pub done: u64,
    pub total: u64,
}

/// What a draw produces (the bundle is built from it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub samples: Vec<TaskSample>,
    pub visits: Vec<Visit>,
    pub report: Report,
}

/// A suggested joint task: two tasks of different lead departments whose populations
/// intersect, with the size of the intersection per class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JointProposal {
    pub tasks: Vec<String>,
    pub departments: Vec<String>,
    pub intersection: PerClass<u64>,
    pub total: u64,
}

/// Ratios are used in millionths: `q = ceil(round(ratio × 10^6) × N / 10^6)`, in integers.
pub fn ratio_ppm(r: f64) -> u64 {
    (r * 1_000_000.0).round().clamp(0.0, 1_000_000.0) as u64
}

/// The sample size of a stratum of `n` targets.
pub fn quota(ratio: Option<f64>, count: Option<u64>, n: u64) -> u64 {
    match (count, ratio) {
        (Some(c), _) => c.min(n),
        (None, Some(r)) => {
            let ppm = ratio_ppm(r) as u128;
            (ppm * n as u128).div_ceil(1_000_000).min(n as u128) as u64
        }
        (None, None) => 0,
    }
}

fn plan_problem(out: &mut Vec<Problem>, field: String, message: String) {
    out.push(Problem { field, message });
}

fn check_ratios(out: &mut Vec<Problem>, field: &str, r: &PerClass<f64>) {
    for c in RiskClass::ALL {
        let v = r.get(c);
        if !v.is_finite() || !(0.0..=1.0).contains(&v) {
            plan_problem(
                out,
                format!("{field}.{}", c.as_str()),
                format!("抽查比例应在 0 到 1 之间 (a ratio is between 0 and 1), 而不是 {v}"),
            );
        }
    }
}

fn check_items(
    out: &mut Vec<Problem>,
    by_code: &HashMap<&str, &ItemRef>,
    field: String,
    department: &str,
    codes: &[String],
) {
    if codes.is_empty() {
        plan_problem(
            out,
            field.clone(),
            "至少选择一个检查事项 (choose at least one inspection item)".into(),
        );
    }
    for (j, code) in codes.iter().enumerate() {
        match by_code.get(code.as_str()) {
            None => plan_problem(
                out,
                format!("{field}[{j}]"),
                format!("检查事项 {code} 不存在 (no inspection item {code})"),
            ),
            Some(item) if item.department != department => plan_problem(
                out,
                format!("{field}[{j}]"),
                format!(
                    "检查事项 {code} 属于部门 {}，不属于 {department} (item {code} belongs to department {}, not {department})",
                    item.department, item.department
                ),
            ),
            Some(_) => {}
        }
    }
}

/// Checks a plan against the item list; lists every problem.
pub fn validate_plan(plan: &Plan, items: &[ItemRef]) -> Result<(), DrawError> {
    let mut out = Vec::new();
    if plan.format != PLAN_FORMAT {
        plan_problem(
            &mut out,
            "format".into(),
            format!("格式标记应为 {PLAN_FORMAT} (the format tag must be {PLAN_FORMAT})"),
        );
    }
    if plan.name.trim().is_empty() {
        plan_problem(
            &mut out,
            "name".into(),
            "计划名称不能为空 (the plan needs a name)".into(),
        );
    }
    if plan.scope.len() > 9 || !plan.scope.bytes().all(|b| b.is_ascii_digit()) {
        plan_problem(
            &mut out,
            "scope".into(),
            "范围应为至多 9 位数字的区划代码前缀 (the scope is a division prefix of at most 9 digits)"
                .into(),
        );
    }
    if plan.inspection_start > plan.inspection_end {
        plan_problem(
            &mut out,
            "inspection_end".into(),
            "检查结束日期早于开始日期 (the inspection ends before it starts)".into(),
        );
    }
    if plan.inspectors_per_department < 2 {
        plan_problem(
            &mut out,
            "inspectors_per_department".into(),
            "每个部门至少选派 2 名执法人员 (at least 2 inspectors per department)".into(),
        );
    }
    if plan.workload_cap < 1 {
        plan_problem(
            &mut out,
            "workload_cap".into(),
            "每人检查次数上限至少为 1 (the workload cap is at least 1)".into(),
        );
    }
    check_ratios(&mut out, "ratios", &plan.ratios);
    if plan.tasks.is_empty() {
        plan_problem(
            &mut out,
            "tasks".into(),
            "计划至少包含一项任务 (a plan has at least one task)".into(),
        );
    }
    let by_code: HashMap<&str, &ItemRef> = items.iter().map(|i| (i.code.as_str(), i)).collect();
    let mut ids = HashSet::new();
    for (k, t) in plan.tasks.iter().enumerate() {
        let f = |s: &str| format!("tasks[{k}].{s}");
        if t.id.trim().is_empty() || t.id.len() > 64 || t.id.contains(['\t', '\n', ',']) {
            plan_problem(
                &mut out,
                f("id"),
                "任务编号不能为空，不超过 64 字符，且不含制表符、换行或逗号 (a task id is 1–64 characters without tab, line break or comma)".into(),
            );
        } else if !ids.insert(t.id.as_str()) {
            plan_problem(
                &mut out,
                f("id"),
                format!("任务编号 {} 重复 (task id {} is used twice)", t.id, t.id),
            );
        }
        if t.department.trim().is_empty() {
            out.push(Problem {
                field: f("department"),
                message: "牵头部门不能为空 (the lead department is missing)".into(),
            });
        }
        check_items(&mut out, &by_code, f("items"), &t.department, &t.items);
        let mut depts = HashSet::new();
        depts.insert(t.department.as_str());
        for (j, p) in t.joined.iter().enumerate() {
            if !depts.insert(p.department.as_str()) {
                out.push(Problem {
                    field: f(&format!("joined[{j}].department")),
                    message: format!(
                        "部门 {} 在该任务中出现两次 (department {} appears twice in the task)",
                        p.department, p.department
                    ),
                });
            }
            check_items(
                &mut out,
                &by_code,
                f(&format!("joined[{j}].items")),
                &p.department,
                &p.items,
            );
        }
        if let Some(r) = &t.ratios {
            check_ratios(&mut out, &f("ratios"), r);
        }
        if t.ratios.is_some() && t.counts.is_some() {
            out.push(Problem {
                field: f("counts"),
                message: "比例和数量只能设置一种 (give ratios or counts, not both)".into(),
            });
        }
        if let Err(e) = expr::parse(&t.population) {
            out.push(Problem {
                field: f("population"),
                message: e.to_string(),
            });
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(DrawError { problems: out })
    }
}

/// How many threads to use.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

/// Each task's population as bits (the plan's scope applied), atoms evaluated once each, in
/// parallel.
pub(crate) fn populations(plan: &Plan, targets: &TargetSet) -> Result<Vec<Bits>, DrawError> {
    let mut exprs = Vec::with_capacity(plan.tasks.len());
    for (k, t) in plan.tasks.iter().enumerate() {
        let mut e = expr::parse(&t.population)
            .map_err(|e| DrawError::one(format!("tasks[{k}].population"), e.to_string()))?;
        if !plan.scope.is_empty() {
            e = Expr::And(
                Box::new(e),
                Box::new(Expr::Atom(Atom::Region(plan.scope.clone()))),
            );
        }
        exprs.push(e);
    }
    let mut atoms = Vec::new();
    for e in &exprs {
        e.atoms(&mut atoms);
    }
    let evaluated = par_map(&atoms, |a| targets.atom_bits(a));
    let cache: HashMap<&Atom, &Bits> = atoms.iter().zip(evaluated.iter()).collect();
    fn eval(e: &Expr, cache: &HashMap<&Atom, &Bits>) -> Bits {
        match e {
            Expr::Atom(a) => cache[a].clone(),
            Expr::Not(x) => eval(x, cache).not(),
            Expr::And(a, b) => eval(a, cache).and(&eval(b, cache)),
            Expr::Or(a, b) => eval(a, cache).or(&eval(b, cache)),
        }
    }
    Ok(exprs.iter().map(|e| eval(e, &cache)).collect())
}

/// Maps `f` over `items` on several threads, keeping the order.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = threads().min(items.len().max(1));
    if n <= 1 {
        return items.iter().map(&f).collect();
    }
    let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let f = &f;
        let mut handles = Vec::new();
        for k in 0..n {
            handles.push(s.spawn(move || {
                items
                    .iter()
                    .enumerate()
                    .skip(k)
                    .step_by(n)
                    .map(|(i, x)| (i, f(x)))
                    .collect::<Vec<_>>()
            }));
        }
        for h in handles {
            for (i, r) in h.join().expect("worker thread") {
                slots[i] = Some(r);
            }
        }
    });
    slots.into_iter().map(|r| r.expect("every slot")).collect()
}

/// The draw's intermediate state, shared by `draw` and the statistics in tests.
pub struct Drawn {
    /// Per task, the population bits.
    pub populations: Vec<Bits>,
    /// Permanent random number per target (0 for targets in no population).
    pub prn: Vec<u64>,
    /// Per task, per class: population size and quota.
    pub population: Vec<PerClass<u64>>,
    pub quota: Vec<PerClass<u64>>,
    /// Per task, the sampled target indices in (number, USCC) order.
    pub sampled: Vec<Vec<u32>>,
}

/// Compares two targets by (number, USCC).
#[inline]
fn before(prn: &[u64], targets: &TargetSet, a: u32, b: u32) -> std::cmp::Ordering {
    prn[a as usize].cmp(&prn[b as usize]).then_with(|| {
        targets
            .uscc_bytes(a as usize)
            .cmp(targets.uscc_bytes(b as usize))
    })
}

/// Populations, numbers and samples (no visits, no inspectors).
pub fn sample(
    plan: &Plan,
    targets: &TargetSet,
    seed: &Seed,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Drawn, DrawError> {
    let n = targets.len();
    let tasks = plan.tasks.len() as u64;
    progress(Progress {
        stage: "populations",
        done: 0,
        total: tasks,
    });
    let pops = populations(plan, targets)?;
    let mut need = Bits::new(n);
    for p in &pops {
        for (w, x) in need.words.iter_mut().zip(&p.words) {
            *w |= x;
        }
    }
    progress(Progress {
        stage: "numbers",
        done: 0,
        total: n as u64,
    });
    // Permanent random numbers for every target some task could draw.
    let mut prn = vec![0u64; n];
    let parts = threads();
    let chunk = n.div_ceil(parts).div_ceil(64).max(1) * 64;
    let numbers = Prn::new(seed);
    std::thread::scope(|s| {
        for (k, part) in prn.chunks_mut(chunk).enumerate() {
            let need = &need;
            let numbers = numbers.clone();
            s.spawn(move || {
                let base = k * chunk;
                for (j, v) in part.iter_mut().enumerate() {
                    let i = base + j;
                    if need.get(i) {
                        *v = numbers.of(targets.uscc_bytes(i));
                    }
                }
            });
        }
    });
    // Each stratum in (number, USCC) order.
    progress(Progress {
        stage: "order",
        done: 0,
        total: 4,
    });
    let class_bits: Vec<Bits> = RiskClass::ALL
        .iter()
        .map(|c| targets.atom_bits(&Atom::Risk(*c)))
        .collect();
    let mut strata: Vec<Vec<u32>> = Vec::with_capacity(4);
    for (h, cb) in class_bits.iter().enumerate() {
        let members: Vec<(u64, u32)> = need.and(cb).ones().map(|i| (prn[i], i as u32)).collect();
        let sorted = sort_pairs(members);
        let mut order: Vec<u32> = sorted.into_iter().map(|(_, i)| i).collect();
        fix_ties(&mut order, &prn, targets);
        strata.push(order);
        progress(Progress {
            stage: "order",
            done: h as u64 + 1,
            total: 4,
        });
    }
    // Samples, task by task on several threads.
    let task_ix: Vec<usize> = (0..plan.tasks.len()).collect();
    let done = std::sync::atomic::AtomicU64::new(0);
    let per_task = par_map(&task_ix, |&t| {
        let task = &plan.tasks[t];
        let ratios = if task.counts.is_some() {
            None
        } else {
            Some(task.ratios.unwrap_or(plan.ratios))
        };
        let pop = &pops[t];
        let mut population = PerClass::default();
        let mut quotas = PerClass::default();
        let mut picked: Vec<u32> = Vec::new();
        for (h, class) in RiskClass::ALL.iter().enumerate() {
            let size = pop.and_count(&class_bits[h]);
            let q = quota(
                ratios.map(|r| r.get(*class)),
                task.counts.map(|c| c.get(*class)),
                size,
            );
            population.set(*class, size);
            quotas.set(*class, q);
            if q == 0 {
                continue;
            }
            let stratum = &strata[h];
            // Walking the stratum's order costs about q/size of it; listing the population
            // directly costs its size (and a sort).
            let walk = (q as u128 * stratum.len() as u128 / size.max(1) as u128) as u64;
            if size < walk / 4 {
                let mut members: Vec<u32> =
                    pop.and(&class_bits[h]).ones().map(|i| i as u32).collect();
                members.sort_unstable_by(|a, b| before(&prn, targets, *a, *b));
                picked.extend_from_slice(&members[..q as usize]);
            } else {
                let mut got = 0;
                for &i in stratum {
                    if pop.get(i as usize) {
                        picked.push(i);
                        got += 1;
                        if got == q {
                            break;
                        }
                    }
                }
            }
        }
        picked.sort_unstable_by(|a, b| before(&prn, targets, *a, *b));
        let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(Progress {
            stage: "samples",
            done: d,
            total: tasks,
        });
        (population, quotas, picked)
    });
    let mut population = Vec::new();
    let mut quotas = Vec::new();
    let mut sampled = Vec::new();
    for (p, q, s) in per_task {
        population.push(p);
        quotas.push(q);
        sampled.push(s);
    }
    Ok(Drawn {
        populations: pops,
        prn,
        population,
        quota: quotas,
        sampled,
    })
}

/// Sorts (number, index) pairs on two threads.
fn sort_pairs(v: Vec<(u64, u32)>) -> Vec<(u64, u32)> {
    sort_by_number(v, |p| p.0)
}

/// Sorts values whose order starts with a uniform 64-bit number (`number`).
fn sort_by_number<T: Copy + Ord + Send + Default>(
    mut v: Vec<T>,
    number: impl Fn(&T) -> u64,
) -> Vec<T> {
    if v.len() < 100_000 {
        v.sort_unstable();
        return v;
    }
    // The numbers are uniform (they are SHA-256 output), so one counting pass on the top 16
    // bits leaves buckets of a few dozen pairs each, which are then sorted on every core.
    const BITS: u32 = 16;
    let buckets = 1usize << BITS;
    let mut start = vec![0usize; buckets + 1];
    for p in &v {
        start[(number(p) >> (64 - BITS)) as usize + 1] += 1;
    }
    for b in 0..buckets {
        start[b + 1] += start[b];
    }
    let mut out = vec![T::default(); v.len()];
    let mut next = start.clone();
    for p in v {
        let b = (number(&p) >> (64 - BITS)) as usize;
        out[next[b]] = p;
        next[b] += 1;
    }
    // Bucket ranges of about equal size, one per thread.
    let parts = threads();
    let mut cuts = vec![0usize];
    for k in 1..parts {
        let want = out.len() * k / parts;
        let b = start.partition_point(|&s| s < want);
        cuts.push(start[b.min(buckets)]);
    }
    cuts.push(out.len());
    cuts.dedup();
    std::thread::scope(|s| {
        let mut rest: &mut [T] = &mut out;
        let mut at = 0usize;
        for w in cuts.windows(2) {
            let (part, tail) = rest.split_at_mut(w[1] - at);
            rest = tail;
            let lo = at;
            at = w[1];
            let start = &start;
            s.spawn(move || {
                let first = start.partition_point(|&x| x <= lo).saturating_sub(1);
                let mut b = first;
                while b < buckets && start[b] < lo + part.len() {
                    let (x, y) = (start[b] - lo, start[b + 1] - lo);
                    if y - x > 1 {
                        part[x..y].sort_unstable();
                    }
                    b += 1;
                }
            });
        }
    });
    out
}

/// Within runs of equal numbers (vanishingly rare), order by USCC.
fn fix_ties(order: &mut [u32], prn: &[u64], targets: &TargetSet) {
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && prn[order[j] as usize] == prn[order[i] as usize] {
            j += 1;
        }
        if j - i > 1 {
            order[i..j].sort_by(|a, b| {
                targets
                    .uscc_bytes(*a as usize)
                    .cmp(targets.uscc_bytes(*b as usize))
            });
        }
        i = j;
    }
}

/// The whole draw: validates the plan, samples every task, merges the samples into visits,
/// staffs the visits and reports the overlap against independent draws and the maximum.
pub fn draw(
    plan: &Plan,
    items: &[ItemRef],
    targets: &TargetSet,
    inspectors: &[super::model::Inspector],
    seed: &Seed,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Outcome, DrawError> {
    validate_plan(plan, items)?;
    let drawn = sample(plan, targets, seed, progress)?;
    let samples: Vec<TaskSample> = plan
        .tasks
        .iter()
        .enumerate()
        .map(|(t, task)| TaskSample {
            task: task.id.clone(),
            population: drawn.population[t],
            quota: drawn.quota[t],
            sampled: drawn.sampled[t]
                .iter()
                .map(|i| targets.uscc(*i as usize).to_string())
                .collect(),
        })
        .collect();
    // Visits: one per distinct sampled target, in (number, USCC) order.
    progress(Progress {
        stage: "visits",
        done: 0,
        total: 1,
    });
    // (number, target << 32 | task), sorted; equal numbers (vanishingly rare) then by USCC.
    let mut keyed: Vec<(u64, u64)> = Vec::new();
    for (t, s) in drawn.sampled.iter().enumerate() {
        keyed.extend(
            s.iter()
                .map(|i| (drawn.prn[*i as usize], (*i as u64) << 32 | t as u64)),
        );
    }
    let mut keyed = sort_by_number(keyed, |p| p.0);
    let mut a = 0;
    while a < keyed.len() {
        let mut b = a + 1;
        while b < keyed.len() && keyed[b].0 == keyed[a].0 {
            b += 1;
        }
        if b - a > 1 {
            keyed[a..b].sort_by(|x, y| {
                before(&drawn.prn, targets, (x.1 >> 32) as u32, (y.1 >> 32) as u32)
                    .then((x.1 as u32).cmp(&(y.1 as u32)))
            });
        }
        a = b;
    }
    let pairs = keyed.into_iter().map(|(_, x)| ((x >> 32) as u32, x as u32));
    let mut groups: Vec<(u32, Vec<u32>)> = Vec::new();
    for (i, t) in pairs {
        match groups.last_mut() {
            Some((j, ts)) if *j == i => ts.push(t),
            _ => {
                if let Some((j, _)) = groups.last()
                    && targets.uscc_bytes(*j as usize) == targets.uscc_bytes(i as usize)
                {
                    return Err(DrawError::one(
                        "targets",
                        format!(
                            "检查对象 {} 在名录中出现两次 (target listed twice)",
                            targets.uscc(i as usize)
                        ),
                    ));
                }
                groups.push((i, vec![t]));
            }
        }
    }
    let visits = assign::staff(plan, items, targets, inspectors, seed, &groups, progress)?;
    progress(Progress {
        stage: "report",
        done: 0,
        total: 1,
    });
    let mut rep = report::report(&drawn, targets);
    let draws: u64 = drawn.sampled.iter().map(|s| s.len() as u64).sum();
    let joint = groups.iter().filter(|(_, ts)| ts.len() >= 2).count() as u64;
    rep.coordinated = overlap(draws as f64, groups.len() as f64, joint as f64);
    rep.unstaffed_visits = visits.iter().filter(|v| !v.unstaffed.is_empty()).count() as u64;
    progress(Progress {
        stage: "report",
        done: 1,
        total: 1,
    });
    Ok(Outcome {
        samples,
        visits,
        report: rep,
    })
}

pub(crate) fn overlap(draws: f64, visits: f64, joint: f64) -> Overlap {
    Overlap {
        draws,
        visits,
        joint_visits: joint,
        joint_ratio: if visits > 0.0 {
            (joint / visits).min(1.0)
        } else {
            0.0
        },
    }
}

/// Pairs of tasks of different lead departments whose populations intersect, biggest
/// intersection first (ties by task ids).
pub fn propose_joint(plan: &Plan, targets: &TargetSet) -> Result<Vec<JointProposal>, DrawError> {
    let pops = populations(plan, targets)?;
    let class_bits: Vec<Bits> = RiskClass::ALL
        .iter()
        .map(|c| targets.atom_bits(&Atom::Risk(*c)))
        .collect();
    let mut out = Vec::new();
    for i in 0..plan.tasks.len() {
        for j in i + 1..plan.tasks.len() {
            let (a, b) = (&plan.tasks[i], &plan.tasks[j]);
            if a.department == b.department {
                continue;
            }
            let both = pops[i].and(&pops[j]);
            let mut per = PerClass::default();
            let mut total = 0;
            for (h, c) in RiskClass::ALL.iter().enumerate() {
                let k = both.and_count(&class_bits[h]);
                per.set(*c, k);
                total += k;
            }
            if total > 0 {
                out.push(JointProposal {
                    tasks: vec![a.id.clone(), b.id.clone()],
                    departments: vec![a.department.clone(), b.department.clone()],
                    intersection: per,
                    total,
                });
            }
        }
    }
    out.sort_by(|x, y| y.total.cmp(&x.total).then_with(|| x.tasks.cmp(&y.tasks)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_sort_equals_a_plain_sort() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in [0usize, 5, 150_000, 400_001] {
            let mut v: Vec<(u64, u32)> = (0..n as u32).map(|i| (next(), i)).collect();
            // Equal numbers and crowded buckets too.
            for i in (0..n).step_by(97) {
                v[i].0 = v[i / 2].0;
            }
            for i in (0..n).step_by(13) {
                v[i].0 &= 0x0000_0fff_ffff_ffff;
            }
            let mut want = v.clone();
            want.sort_unstable();
            assert_eq!(sort_pairs(v), want);
        }
    }

    #[test]
    fn quotas_in_integers() {
        assert_eq!(quota(Some(0.1), None, 30), 3);
        assert_eq!(quota(Some(0.03), None, 100), 3);
        assert_eq!(quota(Some(0.03), None, 101), 4);
        assert_eq!(quota(Some(1.0), None, 7), 7);
        assert_eq!(quota(Some(0.0), None, 7), 0);
        assert_eq!(quota(None, Some(10), 7), 7);
        assert_eq!(quota(Some(0.5), Some(2), 7), 2);
    }
}
