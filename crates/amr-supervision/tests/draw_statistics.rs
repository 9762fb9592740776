//! The draw's statistics, deterministic (fixed seeds): every target of a stratum is drawn with
//! the same probability (chi-square goodness of fit against uniform), samples of tasks with the
//! same population nest, the report's bounds hold, and crews are always eligible.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use amr_supervision::draw::engine::{self, Progress};
use amr_supervision::draw::model::{
    Inspector, PLAN_FORMAT, PerClass, Plan, RiskClass, Target, Task,
};
use amr_supervision::draw::{TargetSet, draw, synth};

fn quiet(_: Progress) {}

fn seed(k: u64) -> [u8; 32] {
    Sha256::digest(format!("statistics seed {k}").as_bytes()).into()
}

fn task(id: &str, dept: &str, item: &str, population: &str, counts: Option<PerClass<u64>>) -> Task {
    Task {
        id: id.into(),
        name: id.into(),
        department: dept.into(),
        items: vec![item.into()],
        joined: vec![],
        population: population.into(),
        ratios: None,
        counts,
    }
}

fn plan(tasks: Vec<Task>, ratios: PerClass<f64>) -> Plan {
    Plan {
        format: PLAN_FORMAT.into(),
        name: "统计检验".into(),
        period: "2026".into(),
        scope: "37".into(),
        inspection_start: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
        inspection_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        ratios,
        inspectors_per_department: 2,
        workload_cap: 1000,
        public_value_source: None,
        tasks,
    }
}

/// 300 targets: 200 of class B (stratum under test), 100 of class C.
fn small_set() -> TargetSet {
    let mut s = TargetSet::new();
    for i in 0..300u32 {
        s.push(&Target {
            uscc: format!("91370102{i:09}X"),
            division: "370102".into(),
            entity_type: "enterprise".into(),
            industry: if i % 2 == 0 { "5211" } else { "6210" }.into(),
            risk: if i < 200 { RiskClass::B } else { RiskClass::C },
            tags: vec![],
        })
        .unwrap();
    }
    s
}

/// Chi-square statistic of observed counts against a uniform expectation.
fn chi_square(counts: &[u64], expected: f64) -> f64 {
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// Upper critical value of chi-square with `df` degrees of freedom at significance 0.001
/// (Wilson–Hilferty, z = 3.0902).
fn critical_0001(df: f64) -> f64 {
    let a = 2.0 / (9.0 * df);
    df * (1.0 - a + 3.0902 * a.sqrt()).powi(3)
}

#[test]
fn every_target_of_a_stratum_is_equally_likely() {
    let set = small_set();
    // B: 20 of 200 by count; C: 25% of 100 by ratio (through the plan's ratios).
    let p = plan(
        vec![
            task(
                "T1",
                "D1",
                "I1",
                "*",
                Some(PerClass {
                    a: 0,
                    b: 20,
                    c: 0,
                    d: 0,
                }),
            ),
            task("T2", "D2", "I2", "*", None),
        ],
        PerClass {
            a: 0.0,
            b: 0.0,
            c: 0.25,
            d: 0.0,
        },
    );
    let runs = 3000u64;
    let mut hits_b = vec![0u64; 200];
    let mut hits_c = vec![0u64; 100];
    for k in 0..runs {
        let d = engine::sample(&p, &set, &seed(k), &quiet).unwrap();
        assert_eq!(d.sampled[0].len(), 20);
        assert_eq!(d.sampled[1].len(), 25);
        for &i in &d.sampled[0] {
            assert!(i < 200, "task 1 draws only from class B");
            hits_b[i as usize] += 1;
        }
        for &i in &d.sampled[1] {
            assert!(i >= 200, "task 2 draws only from class C");
            hits_c[i as usize - 200] += 1;
        }
    }
    // Expected 3000 × 20/200 = 300 per target of B, 3000 × 25/100 = 750 per target of C.
    let chi_b = chi_square(&hits_b, runs as f64 * 20.0 / 200.0);
    let chi_c = chi_square(&hits_c, runs as f64 * 25.0 / 100.0);
    let (crit_b, crit_c) = (critical_0001(199.0), critical_0001(99.0));
    assert!(
        chi_b < crit_b,
        "class B: chi-square {chi_b:.1} ≥ {crit_b:.1} (α = 0.001)"
    );
    assert!(
        chi_c < crit_c,
        "class C: chi-square {chi_c:.1} ≥ {crit_c:.1} (α = 0.001)"
    );
    // The test can fail: a draw that always favours low numbers is caught.
    let mut skewed = hits_b.clone();
    for (i, h) in skewed.iter_mut().enumerate() {
        *h = if i < 100 { 400 } else { 200 };
    }
    assert!(chi_square(&skewed, 300.0) > crit_b);
}

#[test]
fn samples_of_equal_populations_nest() {
    let set = small_set();
    let ratios = |r: f64| PerClass {
        a: r,
        b: r,
        c: r,
        d: r,
    };
    let mut small = task("S", "D1", "I1", "industry:F | industry:H", None);
    small.ratios = Some(ratios(0.1));
    let mut large = task("L", "D2", "I2", "industry:52 | industry:62", None);
    large.ratios = Some(ratios(0.4));
    let p = plan(vec![small, large], ratios(0.0));
    for k in 0..200 {
        let d = engine::sample(&p, &set, &seed(k), &quiet).unwrap();
        assert_eq!(d.population[0], d.population[1]);
        assert!(d.sampled[0].len() < d.sampled[1].len());
        for i in &d.sampled[0] {
            assert!(
                d.sampled[1].contains(i),
                "seed {k}: the smaller sample is nested"
            );
        }
    }
}

#[test]
fn report_bounds_hold_and_crews_are_eligible() {
    let targets = synth::targets(30_000, 7);
    let items = synth::items();
    let mut inspectors: Vec<Inspector> = synth::inspectors(&items, 2, 7);
    // Make shortfalls happen: a whole department's certificates expired.
    for i in inspectors.iter_mut() {
        if i.department == "D03" {
            i.certificate_expiry = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        }
    }
    let p = synth::plan(&items, 40, 7);
    let out = draw(&p, &items, &targets, &inspectors, &seed(1), &quiet).unwrap();
    let r = &out.report;
    assert!(r.coordinated.visits >= r.maximum.visits);
    assert!(r.coordinated.joint_visits <= r.maximum.joint_visits);
    assert!(
        r.coordinated.joint_visits > r.independent.joint_visits,
        "coordination gives more joint visits than independent draws: {r:?}"
    );
    assert!(r.coordinated.visits < r.independent.visits);
    assert_eq!(r.coordinated.draws, r.independent.draws);
    let by_id: std::collections::HashMap<&str, &Inspector> =
        inspectors.iter().map(|i| (i.id.as_str(), i)).collect();
    let domain: std::collections::HashMap<&str, &str> = items
        .iter()
        .map(|i| (i.code.as_str(), i.domain.as_str()))
        .collect();
    let mut load: std::collections::HashMap<&str, u32> = Default::default();
    let mut unstaffed = 0;
    for v in &out.visits {
        if !v.unstaffed.is_empty() {
            unstaffed += 1;
        }
        assert_eq!(v.crews.len() + v.unstaffed.len(), v.departments.len());
        for c in &v.crews {
            assert_eq!(c.inspectors.len(), 2);
            // The items this department checks on this visit.
            let mut needed = Vec::new();
            for t in &v.tasks {
                let task = p.tasks.iter().find(|x| &x.id == t).unwrap();
                if task.department == c.department {
                    needed.extend(task.items.iter());
                }
                for j in &task.joined {
                    if j.department == c.department {
                        needed.extend(j.items.iter());
                    }
                }
            }
            for id in &c.inspectors {
                let ins = by_id[id.as_str()];
                assert_eq!(ins.department, c.department);
                assert!(v.division.starts_with(&ins.jurisdiction));
                assert!(ins.certificate_expiry >= p.inspection_end);
                for it in &needed {
                    assert!(ins.qualifications.iter().any(|q| q == domain[it.as_str()]));
                }
                *load.entry(id.as_str()).or_default() += 1;
            }
        }
        for s in &v.unstaffed {
            assert!(s.eligible < s.needed);
            if s.department == "D03" {
                assert!(s.certificate_expired > 0 && s.eligible == 0);
            }
        }
    }
    assert!(load.values().all(|&n| n <= p.workload_cap));
    assert!(
        unstaffed > 0,
        "the expired certificates leave visits unstaffed"
    );
    assert_eq!(r.unstaffed_visits, unstaffed);
}
