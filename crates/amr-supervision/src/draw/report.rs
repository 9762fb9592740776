//! The plan's report: the independent baseline as exact expected values and the bound on the
//! most overlap the populations and sample sizes allow, both computed over the atoms of the
//! task-membership partition (per class, the targets that belong to exactly the same tasks).

use std::collections::HashMap;

use super::engine::{Drawn, overlap, threads};
use super::model::Report;
use super::targetset::TargetSet;

/// Per class, each distinct set of tasks (as bits) and how many targets belong to exactly it.
pub(crate) type Atoms = [HashMap<Box<[u64]>, u64>; 4];

/// The atoms of the partition, on several threads.
pub(crate) fn atoms(drawn: &Drawn, targets: &TargetSet) -> Atoms {
    let tasks = drawn.populations.len();
    let w = tasks.div_ceil(64).max(1);
    let blocks = targets.len().div_ceil(64);
    let parts = threads();
    let per = blocks.div_ceil(parts).max(1);
    let partial: Vec<Atoms> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..parts)
            .map(|k| {
                s.spawn(move || {
                    let mut out: Atoms = Default::default();
                    let mut sig = vec![0u64; 64 * w];
                    for b in (k * per)..((k + 1) * per).min(blocks) {
                        sig.iter_mut().for_each(|x| *x = 0);
                        let mut any = 0u64;
                        for (t, pop) in drawn.populations.iter().enumerate() {
                            let mut word = pop.words[b];
                            any |= word;
                            while word != 0 {
                                let bit = word.trailing_zeros() as usize;
                                word &= word - 1;
                                sig[bit * w + t / 64] |= 1 << (t % 64);
                            }
                        }
                        while any != 0 {
                            let bit = any.trailing_zeros() as usize;
                            any &= any - 1;
                            let i = b * 64 + bit;
                            let key = &sig[bit * w..(bit + 1) * w];
                            let map = &mut out[targets.risk_index(i)];
                            match map.get_mut(key) {
                                Some(c) => *c += 1,
                                None => {
                                    map.insert(key.into(), 1);
                                }
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("worker")).collect()
    });
    let mut all: Atoms = Default::default();
    for p in partial {
        for (h, m) in p.into_iter().enumerate() {
            for (k, c) in m {
                *all[h].entry(k).or_default() += c;
            }
        }
    }
    all
}

fn members(sig: &[u64]) -> impl Iterator<Item = usize> + '_ {
    sig.iter().enumerate().flat_map(|(wi, &w)| {
        let mut w = w;
        std::iter::from_fn(move || {
            if w == 0 {
                None
            } else {
                let b = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(wi * 64 + b)
            }
        })
    })
}

/// The independent baseline and the maximum (`coordinated` is filled by the caller).
pub(crate) fn report(drawn: &Drawn, targets: &TargetSet) -> Report {
    let atoms = atoms(drawn, targets);
    let tasks = drawn.populations.len();
    let draws: u64 = drawn.quota.iter().map(|q| q.a + q.b + q.c + q.d).sum();
    let (mut e_visits, mut e_joint) = (0.0f64, 0.0f64);
    let (mut min_visits, mut max_joint) = (0u64, 0u64);
    for (h, map) in atoms.iter().enumerate() {
        let class = super::model::RiskClass::ALL[h];
        let n: Vec<u64> = (0..tasks).map(|t| drawn.population[t].get(class)).collect();
        let q: Vec<u64> = (0..tasks).map(|t| drawn.quota[t].get(class)).collect();
        // Independent draws: target e is drawn by task t with probability q/N, independently.
        // Summed in the order of the task sets, so the floating-point result is the same on
        // every run (a hash map's order is not).
        let mut ordered: Vec<(&[u64], u64)> = map.iter().map(|(k, v)| (&k[..], *v)).collect();
        ordered.sort_unstable();
        for &(sig, m) in &ordered {
            let (mut p0, mut p1) = (1.0f64, 0.0f64);
            for t in members(sig) {
                if n[t] == 0 {
                    continue;
                }
                let p = q[t] as f64 / n[t] as f64;
                p1 = p1 * (1.0 - p) + p0 * p;
                p0 *= 1.0 - p;
            }
            e_visits += m as f64 * (1.0 - p0);
            e_joint += m as f64 * (1.0 - p0 - p1).max(0.0);
        }
        // The maximum: tasks with a positive quota, joined when an atom holds both; per
        // component C: visits ≥ max q, joint ≤ min(targets in ≥2 of its tasks, ⌊D/2⌋, D − max q).
        let mut parent: Vec<usize> = (0..tasks).collect();
        fn find(p: &mut [usize], x: usize) -> usize {
            let mut r = x;
            while p[r] != r {
                r = p[r];
            }
            let mut y = x;
            while p[y] != r {
                let nx = p[y];
                p[y] = r;
                y = nx;
            }
            r
        }
        let mut multi: Vec<(usize, u64)> = Vec::new();
        for (sig, &m) in map {
            let live: Vec<usize> = members(sig).filter(|&t| q[t] > 0).collect();
            if let Some(&first) = live.first() {
                for &t in &live[1..] {
                    let (a, b) = (find(&mut parent, first), find(&mut parent, t));
                    if a != b {
                        parent[a] = b;
                    }
                }
                if live.len() >= 2 {
                    multi.push((first, m));
                }
            }
        }
        let mut comp: HashMap<usize, (u64, u64, u64)> = HashMap::new(); // max q, D, multi
        for t in 0..tasks {
            if q[t] == 0 {
                continue;
            }
            let r = find(&mut parent, t);
            let e = comp.entry(r).or_default();
            e.0 = e.0.max(q[t]);
            e.1 += q[t];
        }
        for (first, m) in multi {
            let r = find(&mut parent, first);
            comp.entry(r).or_default().2 += m;
        }
        for (maxq, d, m2) in comp.values() {
            min_visits += maxq;
            max_joint += (*m2).min(d / 2).min(d - maxq);
        }
    }
    Report {
        coordinated: Default::default(),
        independent: overlap(draws as f64, e_visits, e_joint),
        maximum: overlap(draws as f64, min_visits as f64, max_joint as f64),
        unstaffed_visits: 0,
    }
}
