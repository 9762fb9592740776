//! Inspector assignment (随机选派): visits in ascending order of their entity's number; for
//! each department of a visit, the eligible inspectors in the order of their own numbers for
//! that entity, the first `inspectors_per_department` of them. A department without enough is
//! a [`Shortfall`] with the count of its inspectors excluded for each reason.

use std::collections::HashMap;

use super::engine::{DrawError, Progress, departments_of};
use super::hash::{AssignKey, Seed};
use super::model::{Crew, Inspector, ItemRef, Plan, Shortfall, Visit};
use super::targetset::TargetSet;

struct Pool<'a> {
    inspectors: &'a [Inspector],
    /// (department, jurisdiction) → inspector indices.
    by_place: HashMap<(&'a str, &'a str), Vec<u32>>,
    /// Inspectors per department.
    per_department: HashMap<&'a str, u32>,
    /// Qualified domains per inspector as bits over `domains`.
    qualified: Vec<Vec<u64>>,
    certificate_ok: Vec<bool>,
    domains: HashMap<&'a str, usize>,
}

fn bits_of(ids: impl Iterator<Item = usize>, words: usize) -> Vec<u64> {
    let mut b = vec![0u64; words];
    for i in ids {
        b[i / 64] |= 1 << (i % 64);
    }
    b
}

/// Staffs the visits (`groups`: target index and the task indices that drew it, in visit
/// order).
pub(crate) fn staff(
    plan: &Plan,
    items: &[ItemRef],
    targets: &TargetSet,
    inspectors: &[Inspector],
    seed: &Seed,
    groups: &[(u32, Vec<u32>)],
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Vec<Visit>, DrawError> {
    let mut domains: HashMap<&str, usize> = HashMap::new();
    for it in items {
        let n = domains.len();
        domains.entry(it.domain.as_str()).or_insert(n);
    }
    let words = domains.len().div_ceil(64).max(1);
    let item_domain: HashMap<&str, usize> = items
        .iter()
        .map(|i| (i.code.as_str(), domains[i.domain.as_str()]))
        .collect();
    let mut pool = Pool {
        inspectors,
        by_place: HashMap::new(),
        per_department: HashMap::new(),
        qualified: Vec::with_capacity(inspectors.len()),
        certificate_ok: Vec::with_capacity(inspectors.len()),
        domains,
    };
    for (k, i) in inspectors.iter().enumerate() {
        pool.by_place
            .entry((i.department.as_str(), i.jurisdiction.as_str()))
            .or_default()
            .push(k as u32);
        *pool
            .per_department
            .entry(i.department.as_str())
            .or_default() += 1;
        pool.qualified.push(bits_of(
            i.qualifications
                .iter()
                .filter_map(|q| pool.domains.get(q.as_str()).copied()),
            words,
        ));
        pool.certificate_ok
            .push(i.certificate_expiry >= plan.inspection_end);
    }
    let need = plan.inspectors_per_department as usize;
    let mut load = vec![0u32; inspectors.len()];
    let mut visits = Vec::with_capacity(groups.len());
    let total = groups.len() as u64;
    // Everything but the workloads depends on the visit alone, and that is where the time
    // goes (a SHA-256 per inspector in place): it is prepared a block of visits at a time on
    // every core, then the block is walked in visit order, where each crew is the first
    // `need` of its ordered candidates under the workload cap. The result is the same as
    // filtering on everything at once: the order of the candidates does not depend on loads.
    progress(Progress {
        stage: "inspectors",
        done: 0,
        total,
    });
    for (b, block) in groups.chunks(BLOCK).enumerate() {
        let prepared = super::engine::par_map(block, |(target, tasks)| {
            prepare(
                plan,
                targets,
                seed,
                &pool,
                &item_domain,
                words,
                *target,
                tasks,
            )
        });
        for (j, ((target, tasks), p)) in block.iter().zip(prepared).enumerate() {
            let no = b * BLOCK + j;
            let mut crews = Vec::new();
            let mut unstaffed = Vec::new();
            for PreparedCrew {
                department,
                candidates,
                mut short,
            } in p.crews
            {
                let mut chosen = Vec::with_capacity(need);
                let mut eligible = 0u32;
                for &k in &candidates {
                    if load[k as usize] >= plan.workload_cap {
                        short.at_workload_cap += 1;
                    } else {
                        eligible += 1;
                        if chosen.len() < need {
                            chosen.push(k);
                        }
                    }
                }
                short.eligible = eligible;
                if (eligible as usize) < need {
                    unstaffed.push(short);
                    continue;
                }
                crews.push(Crew {
                    department,
                    inspectors: chosen
                        .iter()
                        .map(|&k| {
                            load[k as usize] += 1;
                            inspectors[k as usize].id.clone()
                        })
                        .collect(),
                });
            }
            visits.push(Visit {
                no: no as u64 + 1,
                uscc: targets.uscc(*target as usize).to_string(),
                division: p.division,
                tasks: tasks
                    .iter()
                    .map(|t| plan.tasks[*t as usize].id.clone())
                    .collect(),
                departments: p.departments,
                crews,
                unstaffed,
            });
            if no.is_multiple_of(10_000) {
                progress(Progress {
                    stage: "inspectors",
                    done: no as u64,
                    total,
                });
            }
        }
    }
    Ok(visits)
}

/// Visits prepared together (in parallel) before they are walked in order.
const BLOCK: usize = 16_384;

/// One department's part of a visit before the walk: the inspectors in place (the
/// department's, with a jurisdiction that contains the entity's division) who are qualified
/// for its items, hold a certificate valid to the end of the inspections and declared no
/// conflict with the entity, in the order of their numbers for the entity (ties by id); and
/// the shortfall counts that do not depend on workloads.
struct PreparedCrew {
    department: String,
    candidates: Vec<u32>,
    short: Shortfall,
}

struct PreparedVisit {
    division: String,
    departments: Vec<String>,
    crews: Vec<PreparedCrew>,
}

#[allow(clippy::too_many_arguments)]
fn prepare(
    plan: &Plan,
    targets: &TargetSet,
    seed: &Seed,
    pool: &Pool<'_>,
    item_domain: &HashMap<&str, usize>,
    words: usize,
    target: u32,
    tasks: &[u32],
) -> PreparedVisit {
    let i = target as usize;
    let uscc = targets.uscc(i);
    let division = targets.division(i);
    let key = AssignKey::new(seed, uscc.as_bytes());
    let departments = departments_of(plan, tasks);
    let mut crews = Vec::with_capacity(departments.len());
    for (dept, dept_items) in departments.values() {
        let required = bits_of(
            dept_items
                .iter()
                .filter_map(|c| item_domain.get(c.as_str()).copied()),
            words,
        );
        let mut short = Shortfall {
            department: dept.clone(),
            needed: plan.inspectors_per_department,
            ..Default::default()
        };
        let mut eligible: Vec<([u8; 32], u32)> = Vec::new();
        let mut in_place = 0u32;
        for len in 0..=division.len() {
            let Some(list) = pool.by_place.get(&(dept.as_str(), &division[..len])) else {
                continue;
            };
            for &k in list {
                in_place += 1;
                let ins = &pool.inspectors[k as usize];
                let q = &pool.qualified[k as usize];
                if !required.iter().zip(q).all(|(r, h)| r & !h == 0) {
                    short.not_qualified += 1;
                } else if !pool.certificate_ok[k as usize] {
                    short.certificate_expired += 1;
                } else if ins.conflicts.iter().any(|c| c == uscc) {
                    short.conflict += 1;
                } else {
                    eligible.push((key.of(&ins.id), k));
                }
            }
        }
        short.out_of_jurisdiction =
            pool.per_department.get(dept.as_str()).copied().unwrap_or(0) - in_place;
        eligible.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                pool.inspectors[a.1 as usize]
                    .id
                    .cmp(&pool.inspectors[b.1 as usize].id)
            })
        });
        crews.push(PreparedCrew {
            department: dept.clone(),
            candidates: eligible.into_iter().map(|(_, k)| k).collect(),
            short,
        });
    }
    PreparedVisit {
        division,
        departments: departments.into_values().map(|(d, _)| d).collect(),
        crews,
    }
}
