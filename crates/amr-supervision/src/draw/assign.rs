//! Inspector assignment (随机选派): visits in ascending order of their entity's number; for
//! each department of a visit, the eligible inspectors in the order of their own numbers for
//! that entity, the first `inspectors_per_department` of them. A department without enough is
//! a [`Shortfall`] with the count of its inspectors excluded for each reason.

use std::collections::HashMap;

use super::engine::{DrawError, Progress};
use super::hash::{AssignKey, Seed};
use super::model::{Crew, Inspector, ItemRef, Plan, Shortfall, Visit};
use super::targetset::TargetSet;

/// What the draw needs of the inspectors, computed once per draw: departments as indices, the
/// inspectors in place for every (division of a visit, department), qualifications as bits.
struct Pool<'a> {
    inspectors: &'a [Inspector],
    /// Department names by index (the departments of the plan's tasks).
    departments: Vec<&'a str>,
    /// Inspectors per department index (the pool's whole size, in and out of place).
    per_department: Vec<u32>,
    /// Per task: its departments in visit order (lead, then the joined ones as listed) with
    /// the domains of their items as bits.
    task_departments: Vec<Vec<(u16, Vec<u64>)>>,
    /// Qualified domains per inspector as bits over the plan's domains.
    qualified: Vec<Vec<u64>>,
    certificate_ok: Vec<bool>,
    /// `places[p][d]`: the inspectors of department `d` whose jurisdiction contains division
    /// `p` (a prefix of it), shortest jurisdiction first, each in pool order.
    places: Vec<Vec<Vec<u32>>>,
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

    // Departments as indices, and each task's departments with their requirements.
    let mut dept_index: HashMap<&str, u16> = HashMap::new();
    let mut departments: Vec<&str> = Vec::new();
    let mut task_departments = Vec::with_capacity(plan.tasks.len());
    for task in &plan.tasks {
        let mut list: Vec<(u16, Vec<u64>)> = Vec::new();
        let parts = std::iter::once((task.department.as_str(), &task.items)).chain(
            task.joined
                .iter()
                .map(|p| (p.department.as_str(), &p.items)),
        );
        for (d, its) in parts {
            let idx = match dept_index.get(d) {
                Some(&i) => i,
                None => {
                    let i = departments.len() as u16;
                    departments.push(d);
                    dept_index.insert(d, i);
                    i
                }
            };
            let bits = bits_of(
                its.iter()
                    .filter_map(|c| item_domain.get(c.as_str()).copied()),
                words,
            );
            match list.iter_mut().find(|(x, _)| *x == idx) {
                Some((_, b)) => b.iter_mut().zip(&bits).for_each(|(a, b)| *a |= b),
                None => list.push((idx, bits)),
            }
        }
        task_departments.push(list);
    }

    let mut by_place: HashMap<(u16, &str), Vec<u32>> = HashMap::new();
    let mut per_department = vec![0u32; departments.len()];
    let mut qualified = Vec::with_capacity(inspectors.len());
    let mut certificate_ok = Vec::with_capacity(inspectors.len());
    for (k, i) in inspectors.iter().enumerate() {
        if let Some(&d) = dept_index.get(i.department.as_str()) {
            by_place
                .entry((d, i.jurisdiction.as_str()))
                .or_default()
                .push(k as u32);
            per_department[d as usize] += 1;
        }
        qualified.push(bits_of(
            i.qualifications
                .iter()
                .filter_map(|q| domains.get(q.as_str()).copied()),
            words,
        ));
        certificate_ok.push(i.certificate_expiry >= plan.inspection_end);
    }

    // The distinct divisions of the visits, each with its inspectors in place per department.
    let mut place_of: HashMap<(u32, u8), u32> = HashMap::new();
    let mut places: Vec<Vec<Vec<u32>>> = Vec::new();
    let mut visit_place: Vec<u32> = Vec::with_capacity(groups.len());
    for (target, _) in groups {
        let key = targets.division_key(*target as usize);
        let p = match place_of.get(&key) {
            Some(&p) => p,
            None => {
                let division = targets.division(*target as usize);
                let lists = (0..departments.len() as u16)
                    .map(|d| {
                        let mut v = Vec::new();
                        for len in 0..=division.len() {
                            if let Some(list) = by_place.get(&(d, &division[..len])) {
                                v.extend_from_slice(list);
                            }
                        }
                        v
                    })
                    .collect();
                places.push(lists);
                let p = (places.len() - 1) as u32;
                place_of.insert(key, p);
                p
            }
        };
        visit_place.push(p);
    }
    drop(by_place);
    let pool = Pool {
        inspectors,
        departments,
        per_department,
        task_departments,
        qualified,
        certificate_ok,
        places,
    };

    let need = plan.inspectors_per_department as usize;
    let mut load = vec![0u32; inspectors.len()];
    let mut visits = Vec::with_capacity(groups.len());
    let total = groups.len() as u64;
    // Everything but the workloads depends on the visit alone, and that is where the time
    // goes (a SHA-256 compression per inspector in place): it is prepared a block of visits at
    // a time on every core, then the block is walked in visit order, where each crew is the
    // first `need` of its ordered candidates under the workload cap, and then the block's
    // visits are written out on every core. The result is the same as filtering on everything
    // at once: the order of the candidates does not depend on loads.
    progress(Progress {
        stage: "inspectors",
        done: 0,
        total,
    });
    for (b, block) in groups.chunks(BLOCK).enumerate() {
        let places = &visit_place[b * BLOCK..b * BLOCK + block.len()];
        let work: Vec<(&(u32, Vec<u32>), u32)> = block.iter().zip(places.iter().copied()).collect();
        let prepared = super::engine::par_map(&work, |((target, tasks), place)| {
            prepare(targets, seed, &pool, *target, tasks, *place)
        });
        // The walk: crews under the workload cap, in visit order.
        let mut walked: Vec<Vec<Walked>> = Vec::with_capacity(block.len());
        for p in &prepared {
            let mut out = Vec::with_capacity(p.len());
            for crew in p {
                let mut chosen = Vec::with_capacity(need);
                let mut eligible = 0u32;
                let mut at_cap = 0u32;
                for &k in &crew.candidates {
                    if load[k as usize] >= plan.workload_cap {
                        at_cap += 1;
                    } else {
                        eligible += 1;
                        if chosen.len() < need {
                            chosen.push(k);
                        }
                    }
                }
                if (eligible as usize) < need {
                    out.push(Walked::Short { eligible, at_cap });
                } else {
                    for &k in &chosen {
                        load[k as usize] += 1;
                    }
                    out.push(Walked::Staffed(chosen));
                }
            }
            walked.push(out);
        }
        let written = super::engine::par_map(&(0..block.len()).collect::<Vec<_>>(), |&j| {
            let (target, tasks) = &block[j];
            write_visit(
                plan,
                targets,
                &pool,
                (b * BLOCK + j) as u64 + 1,
                *target,
                tasks,
                &prepared[j],
                &walked[j],
            )
        });
        visits.extend(written);
        progress(Progress {
            stage: "inspectors",
            done: visits.len() as u64,
            total,
        });
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
    department: u16,
    candidates: Vec<u32>,
    not_qualified: u32,
    out_of_jurisdiction: u32,
    certificate_expired: u32,
    conflict: u32,
}

/// A crew after the walk.
enum Walked {
    Staffed(Vec<u32>),
    Short { eligible: u32, at_cap: u32 },
}

fn prepare(
    targets: &TargetSet,
    seed: &Seed,
    pool: &Pool<'_>,
    target: u32,
    tasks: &[u32],
    place: u32,
) -> Vec<PreparedCrew> {
    let uscc = targets.uscc(target as usize);
    let mut key = AssignKey::new(seed, uscc.as_bytes());
    // The visit's departments in order of first appearance, their requirements merged.
    let mut departments: Vec<(u16, Vec<u64>)> = Vec::new();
    for &t in tasks {
        for (d, bits) in &pool.task_departments[t as usize] {
            match departments.iter_mut().find(|(x, _)| x == d) {
                Some((_, b)) => b.iter_mut().zip(bits).for_each(|(a, b)| *a |= b),
                None => departments.push((*d, bits.clone())),
            }
        }
    }
    let in_place = &pool.places[place as usize];
    let mut crews = Vec::with_capacity(departments.len());
    let mut eligible: Vec<([u8; 32], u32)> = Vec::new();
    for (dept, required) in departments {
        let list = &in_place[dept as usize];
        let mut crew = PreparedCrew {
            department: dept,
            candidates: Vec::new(),
            not_qualified: 0,
            out_of_jurisdiction: pool.per_department[dept as usize] - list.len() as u32,
            certificate_expired: 0,
            conflict: 0,
        };
        eligible.clear();
        for &k in list {
            let ins = &pool.inspectors[k as usize];
            let q = &pool.qualified[k as usize];
            if !required.iter().zip(q).all(|(r, h)| r & !h == 0) {
                crew.not_qualified += 1;
            } else if !pool.certificate_ok[k as usize] {
                crew.certificate_expired += 1;
            } else if ins.conflicts.iter().any(|c| c == uscc) {
                crew.conflict += 1;
            } else {
                eligible.push((key.of(&ins.id), k));
            }
        }
        eligible.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                pool.inspectors[a.1 as usize]
                    .id
                    .cmp(&pool.inspectors[b.1 as usize].id)
            })
        });
        crew.candidates = eligible.iter().map(|(_, k)| *k).collect();
        crews.push(crew);
    }
    crews
}

#[allow(clippy::too_many_arguments)]
fn write_visit(
    plan: &Plan,
    targets: &TargetSet,
    pool: &Pool<'_>,
    no: u64,
    target: u32,
    tasks: &[u32],
    prepared: &[PreparedCrew],
    walked: &[Walked],
) -> Visit {
    let mut crews = Vec::new();
    let mut unstaffed = Vec::new();
    for (p, w) in prepared.iter().zip(walked) {
        let department = pool.departments[p.department as usize].to_string();
        match w {
            Walked::Staffed(chosen) => crews.push(Crew {
                department,
                inspectors: chosen
                    .iter()
                    .map(|&k| pool.inspectors[k as usize].id.clone())
                    .collect(),
            }),
            Walked::Short { eligible, at_cap } => unstaffed.push(Shortfall {
                department,
                needed: plan.inspectors_per_department,
                eligible: *eligible,
                not_qualified: p.not_qualified,
                out_of_jurisdiction: p.out_of_jurisdiction,
                certificate_expired: p.certificate_expired,
                conflict: p.conflict,
                at_workload_cap: *at_cap,
            }),
        }
    }
    Visit {
        no,
        uscc: targets.uscc(target as usize).to_string(),
        division: targets.division(target as usize),
        tasks: tasks
            .iter()
            .map(|t| plan.tasks[*t as usize].id.clone())
            .collect(),
        departments: prepared
            .iter()
            .map(|p| pool.departments[p.department as usize].to_string())
            .collect(),
        crews,
        unstaffed,
    }
}
