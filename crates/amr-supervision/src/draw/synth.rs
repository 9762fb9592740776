//! Synthetic lists for the full-scale benchmark and for tests: a province of 16 cities × 8
//! counties, a realistic mix of entity types, industries and risk classes, 40 departments with
//! 130 domains and 222 items, inspectors in every county, and a plan of tasks over them.
//! Deterministic from a number (SplitMix64), so the same set can be loaded into PostgreSQL for
//! the database baseline (`write_targets_csv`).

use std::io::Write;

use chrono::NaiveDate;

use super::model::{
    Inspector, ItemRef, PLAN_FORMAT, Participant, PerClass, Plan, RiskClass, Target, Task,
};
use super::targetset::TargetSet;

/// SplitMix64: small, fast, reproducible.
#[derive(Debug, Clone)]
pub struct Mix(u64);

impl Mix {
    pub fn new(seed: u64) -> Mix {
        Mix(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Picks an index by weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| *w as u64).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w as u64 {
                return i;
            }
            x -= *w as u64;
        }
        weights.len() - 1
    }
}

/// The synthetic province's county codes (16 cities × 8 counties).
pub fn counties() -> Vec<String> {
    let mut out = Vec::new();
    for city in 1..=16 {
        for county in 1..=8 {
            out.push(format!("37{city:02}{county:02}"));
        }
    }
    out
}

/// Industry divisions with weights (many retail shops and restaurants, fewer factories).
const DIVISIONS: [(u16, u32); 20] = [
    (1, 4),
    (13, 3),
    (14, 2),
    (27, 1),
    (30, 2),
    (36, 2),
    (47, 4),
    (51, 14),
    (52, 22),
    (54, 3),
    (61, 3),
    (62, 10),
    (65, 3),
    (70, 2),
    (72, 4),
    (75, 2),
    (80, 7),
    (83, 1),
    (84, 1),
    (86, 3),
];

/// One synthetic target.
pub fn target(i: u64, rng: &mut Mix, counties: &[String]) -> Target {
    let kind = rng.weighted(&[26, 68, 2, 4]);
    let ty = ["enterprise", "individual", "cooperative", "branch"][kind];
    let division = &counties[rng.below(counties.len() as u64) as usize];
    let ws: Vec<u32> = DIVISIONS.iter().map(|d| d.1).collect();
    let div = DIVISIONS[rng.weighted(&ws)].0;
    let class = div * 100 + 10 * (1 + rng.below(4) as u16) + rng.below(4) as u16 + 1;
    let risk = RiskClass::ALL[rng.weighted(&[55, 33, 9, 3])];
    let mut tags = Vec::new();
    if matches!(div, 52 | 62) && rng.below(100) < 60 {
        tags.push("licence:食品经营许可证".to_string());
    }
    if matches!(div, 13 | 14) && rng.below(100) < 70 {
        tags.push("licence:食品生产许可证".to_string());
    }
    if matches!(div, 27 | 52) && rng.below(100) < 8 {
        tags.push("licence:药品经营许可证".to_string());
    }
    if matches!(div, 36 | 30) && rng.below(100) < 30 {
        tags.push("licence:工业产品生产许可证".to_string());
    }
    if rng.below(100) < 3 {
        tags.push("tag:重点监管".to_string());
    }
    if rng.below(1000) < 15 {
        tags.push("tag:投诉较多".to_string());
    }
    tags.sort();
    let prefix = match kind {
        0 | 3 => "91",
        1 => "92",
        _ => "93",
    };
    Target {
        uscc: format!("{prefix}{division}{i:09}X"),
        division: division.clone(),
        entity_type: ty.to_string(),
        industry: format!("{class:04}"),
        risk,
        tags,
    }
}

/// `n` synthetic targets.
pub fn targets(n: u64, seed: u64) -> TargetSet {
    let cs = counties();
    let mut rng = Mix::new(seed);
    let mut set = TargetSet::with_capacity(n as usize);
    for i in 0..n {
        set.push(&target(i, &mut rng, &cs))
            .expect("synthetic targets are valid");
    }
    set
}

/// The same targets as CSV for PostgreSQL's COPY: `uscc,division,entity_type,industry,risk,tags`
/// (tags as a PostgreSQL array literal).
pub fn write_targets_csv(n: u64, seed: u64, mut w: impl Write) -> std::io::Result<()> {
    let cs = counties();
    let mut rng = Mix::new(seed);
    for i in 0..n {
        let t = target(i, &mut rng, &cs);
        writeln!(
            w,
            "{},{},{},{},{},\"{{{}}}\"",
            t.uscc,
            t.division,
            t.entity_type,
            t.industry,
            t.risk.as_str(),
            t.tags.join(",")
        )?;
    }
    Ok(())
}

/// 40 departments (`D01`…), 130 domains (`D01-F1`…) and 222 items (`D01-F1-01`…), as the
/// article counts them.
pub fn items() -> Vec<ItemRef> {
    let mut out = Vec::new();
    let mut domain_no = 0;
    let mut item_no = 0;
    for d in 1..=40 {
        let domains = if d <= 10 { 4 } else { 3 };
        for f in 1..=domains {
            domain_no += 1;
            let per = if domain_no <= 92 { 2 } else { 1 };
            for k in 1..=per {
                item_no += 1;
                out.push(ItemRef {
                    code: format!("D{d:02}-F{f}-{k:02}"),
                    department: format!("D{d:02}"),
                    domain: format!("D{d:02}-F{f}"),
                });
            }
        }
    }
    debug_assert_eq!(domain_no, 130);
    debug_assert_eq!(item_no, 222);
    out
}

/// Inspectors: per department and county `per_county`, plus one per department and city with
/// the city's jurisdiction; about one in twenty lacks a qualification, one in fifty has an
/// expired certificate.
pub fn inspectors(items: &[ItemRef], per_county: u32, seed: u64) -> Vec<Inspector> {
    let mut rng = Mix::new(seed ^ 0x5eed);
    let mut depts: Vec<&str> = items.iter().map(|i| i.department.as_str()).collect();
    depts.dedup();
    let mut out = Vec::new();
    let mut places: Vec<String> = counties();
    for city in 1..=16 {
        places.push(format!("37{city:02}"));
    }
    for d in depts {
        let mut domains: Vec<String> = items
            .iter()
            .filter(|i| i.department == d)
            .map(|i| i.domain.clone())
            .collect();
        domains.dedup();
        for place in &places {
            let k = if place.len() == 4 { 1 } else { per_county };
            for j in 0..k {
                let mut q = domains.clone();
                if rng.below(20) == 0 && q.len() > 1 {
                    q.remove(rng.below(q.len() as u64) as usize);
                }
                let expired = rng.below(50) == 0;
                out.push(Inspector {
                    id: format!("{d}-{place}-{j:02}"),
                    name: format!("执法人员{d}{place}{j}"),
                    department: d.to_string(),
                    jurisdiction: place.clone(),
                    qualifications: q,
                    certificate_no: format!("C{d}{place}{j:02}"),
                    certificate_expiry: if expired {
                        NaiveDate::from_ymd_opt(2026, 6, 30).expect("date")
                    } else {
                        NaiveDate::from_ymd_opt(2029, 12, 31).expect("date")
                    },
                    conflicts: vec![],
                });
            }
        }
    }
    out
}

/// A plan of `tasks` tasks over the synthetic province: each a department's items over an
/// industry, a licence or a tag, some limited to a city, one in five joined by another
/// department.
pub fn plan(items: &[ItemRef], tasks: usize, seed: u64) -> Plan {
    let mut rng = Mix::new(seed ^ 0x91a0);
    let mut depts: Vec<&str> = items.iter().map(|i| i.department.as_str()).collect();
    depts.dedup();
    let populations = [
        "industry:F",
        "industry:52",
        "industry:H",
        "industry:62",
        "licence:食品经营许可证",
        "licence:食品生产许可证",
        "licence:药品经营许可证",
        "licence:工业产品生产许可证",
        "industry:C",
        "type:enterprise & industry:C",
        "tag:重点监管",
        "industry:L | industry:M",
        "type:enterprise & !industry:F",
        "industry:E",
        "industry:Q | industry:P",
    ];
    let mut out = Vec::new();
    for t in 0..tasks {
        let d = depts[t % depts.len()];
        let own: Vec<String> = items
            .iter()
            .filter(|i| i.department == d)
            .map(|i| i.code.clone())
            .collect();
        let take = 1 + rng.below(2.min(own.len() as u64)) as usize;
        let mut population = populations[rng.below(populations.len() as u64) as usize].to_string();
        if rng.below(3) == 0 {
            population = format!("({population}) & region:37{:02}", 1 + rng.below(16));
        }
        let mut joined = Vec::new();
        if rng.below(5) == 0 {
            let other = depts[(t + 1 + rng.below(depts.len() as u64 - 1) as usize) % depts.len()];
            if other != d {
                let items_other: Vec<String> = items
                    .iter()
                    .filter(|i| i.department == other)
                    .map(|i| i.code.clone())
                    .take(1)
                    .collect();
                joined.push(Participant {
                    department: other.to_string(),
                    items: items_other,
                });
            }
        }
        out.push(Task {
            id: format!("T{:03}", t + 1),
            name: format!("任务 {}", t + 1),
            department: d.to_string(),
            items: own.into_iter().take(take).collect(),
            joined,
            population,
            ratios: None,
            counts: None,
        });
    }
    Plan {
        format: PLAN_FORMAT.into(),
        name: "合成省份年度抽查计划 (synthetic province plan)".into(),
        period: "2026".into(),
        scope: "37".into(),
        inspection_start: NaiveDate::from_ymd_opt(2026, 7, 1).expect("date"),
        inspection_end: NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
        ratios: PerClass {
            a: 0.01,
            b: 0.03,
            c: 0.10,
            d: 0.30,
        },
        inspectors_per_department: 2,
        workload_cap: 400,
        public_value_source: None,
        tasks: out,
    }
}
