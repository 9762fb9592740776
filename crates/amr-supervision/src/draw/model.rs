//! The data of a draw: the plan (what officers decide), the frozen target and inspector lists
//! (what the draw reads), the seed (where its randomness comes from) and the bundle (everything
//! a third party needs to recompute it). No IO here; the formats are documented in
//! `docs/INSPECTION.md`.
//!
//! Every list that is hashed is hashed in a canonical form (see `engine`), so the hash
//! published before the draw and the one recomputed from the bundle match byte for byte.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The format tag of a plan file.
pub const PLAN_FORMAT: &str = "amr-inspection-plan/1";
/// The format tag of a bundle file.
pub const BUNDLE_FORMAT: &str = "amr-inspection-bundle/1";
/// The version of the draw algorithm (permanent random numbers, stratified by risk class,
/// smallest numbers first; inspectors by their own numbers under the workload cap).
pub const ALGORITHM: &str = "amr-prn-draw/1";

/// A credit-risk class (A low … D high).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RiskClass {
    A,
    B,
    C,
    D,
}

impl RiskClass {
    pub const ALL: [RiskClass; 4] = [RiskClass::A, RiskClass::B, RiskClass::C, RiskClass::D];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskClass::A => "A",
            RiskClass::B => "B",
            RiskClass::C => "C",
            RiskClass::D => "D",
        }
    }

    pub fn parse(s: &str) -> Option<RiskClass> {
        match s.trim() {
            "A" | "a" => Some(RiskClass::A),
            "B" | "b" => Some(RiskClass::B),
            "C" | "c" => Some(RiskClass::C),
            "D" | "d" => Some(RiskClass::D),
            _ => None,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A number per risk class (ratios in `0..=1`, or counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PerClass<T> {
    #[serde(rename = "A")]
    pub a: T,
    #[serde(rename = "B")]
    pub b: T,
    #[serde(rename = "C")]
    pub c: T,
    #[serde(rename = "D")]
    pub d: T,
}

impl<T: Copy> PerClass<T> {
    pub fn get(&self, class: RiskClass) -> T {
        match class {
            RiskClass::A => self.a,
            RiskClass::B => self.b,
            RiskClass::C => self.c,
            RiskClass::D => self.d,
        }
    }

    pub fn set(&mut self, class: RiskClass, value: T) {
        match class {
            RiskClass::A => self.a = value,
            RiskClass::B => self.b = value,
            RiskClass::C => self.c = value,
            RiskClass::D => self.d = value,
        }
    }
}

/// A department that takes part in a task besides its lead department, with its own items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// Department code.
    pub department: String,
    /// The codes of the inspection items this department checks on each visit of the task.
    pub items: Vec<String>,
}

/// One task of a plan: a lead department and its items, perhaps joined by other departments,
/// over a population (a tag expression over the target library), sampled per risk class by
/// ratio or by count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Unique within the plan (e.g. `T01`).
    pub id: String,
    pub name: String,
    /// The lead department's code.
    pub department: String,
    /// The lead department's item codes.
    pub items: Vec<String>,
    /// Other departments that join every visit of this task (联合抽查).
    #[serde(default)]
    pub joined: Vec<Participant>,
    /// The population as a tag expression (syntax in `expr`), e.g.
    /// `type:enterprise & industry:H & region:3701`.
    pub population: String,
    /// Sampling ratio per class; when absent, the plan's `ratios`.
    #[serde(default)]
    pub ratios: Option<PerClass<f64>>,
    /// Sample size per class instead of ratios (capped at the stratum's size).
    #[serde(default)]
    pub counts: Option<PerClass<u64>>,
}

/// A plan (year or quarter) of tasks, as an officer builds it or as a file for `amr inspect
/// draw --plan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`PLAN_FORMAT`].
    pub format: String,
    pub name: String,
    /// `2026`, `2026-Q4`.
    pub period: String,
    /// The division-code prefix the plan covers (`37` the province, `3701` Jinan).
    pub scope: String,
    /// Inspections take place within these dates; an inspector's certificate must be valid
    /// through `inspection_end`.
    pub inspection_start: NaiveDate,
    pub inspection_end: NaiveDate,
    /// The default sampling ratio per credit-risk class.
    pub ratios: PerClass<f64>,
    /// Inspectors drawn from each participating department per visit (at least 2).
    pub inspectors_per_department: u32,
    /// At most this many visits per inspector in the plan.
    pub workload_cap: u32,
    /// The public value the seed is combined with, named before the draw (e.g. "上海证券交易所
    /// 2026-12-01 上证指数收盘点位"); `None` when the seed is given directly.
    #[serde(default)]
    pub public_value_source: Option<String>,
    pub tasks: Vec<Task>,
}

/// One entity of the frozen target list, with what population expressions can test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub uscc: String,
    /// The domicile's 6-digit county code (or 9-digit town code).
    pub division: String,
    /// `enterprise`, `individual`, `cooperative`, `branch`.
    pub entity_type: String,
    /// The GB/T 4754 class code (4 digits), its section letter derived by the engine.
    pub industry: String,
    pub risk: RiskClass,
    /// Licences held and special tags, each `licence:…` or `tag:…`, sorted, no duplicates.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// One inspector of the frozen inspector list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspector {
    pub id: String,
    pub name: String,
    pub department: String,
    /// A division-code prefix; the inspector may inspect entities whose division starts with it.
    pub jurisdiction: String,
    /// The inspection domains (领域) the inspector is qualified for.
    pub qualifications: Vec<String>,
    pub certificate_no: String,
    pub certificate_expiry: NaiveDate,
    /// Entities the inspector declared a conflict of interest with (回避).
    #[serde(default)]
    pub conflicts: Vec<String>,
}

/// An inspection item as the draw needs it: its department and domain (inspectors must be
/// qualified for the domain of every item they check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRef {
    pub code: String,
    pub department: String,
    pub domain: String,
}

/// Where the seed comes from: a secret committed to before the draw (its SHA-256 published)
/// and a public value named in advance, or a seed given directly (`commitment` etc. absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedSource {
    /// SHA-256 of the secret, hex, published with the plan.
    #[serde(default)]
    pub commitment: Option<String>,
    /// The secret, hex, revealed after the draw.
    #[serde(default)]
    pub secret: Option<String>,
    /// The public value as observed.
    #[serde(default)]
    pub public_value: Option<String>,
    /// The 32-byte seed, hex.
    pub seed: String,
}

/// What one task drew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSample {
    pub task: String,
    /// Population size per class.
    pub population: PerClass<u64>,
    /// Sample size per class.
    pub quota: PerClass<u64>,
    /// The sampled USCCs, in ascending order of their permanent random number.
    pub sampled: Vec<String>,
}

/// The inspectors one department sends to one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crew {
    pub department: String,
    /// Inspector ids, in the order drawn.
    pub inspectors: Vec<String>,
}

/// Why a department could not staff a visit: how many of its inspectors were excluded for each
/// reason, and how many were eligible.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Shortfall {
    pub department: String,
    pub needed: u32,
    pub eligible: u32,
    pub not_qualified: u32,
    pub out_of_jurisdiction: u32,
    pub certificate_expired: u32,
    pub conflict: u32,
    pub at_workload_cap: u32,
}

/// One visit: an entity, the tasks that drew it, the departments that go, their inspectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// 1-based, in the order visits were staffed.
    pub no: u64,
    pub uscc: String,
    pub division: String,
    pub tasks: Vec<String>,
    pub departments: Vec<String>,
    pub crews: Vec<Crew>,
    /// Departments that could not send enough eligible inspectors (empty: fully staffed).
    pub unstaffed: Vec<Shortfall>,
}

/// Visits and joint visits of one way of drawing.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Overlap {
    /// Task draws in total (the sum of the sample sizes).
    pub draws: f64,
    /// Distinct entities visited.
    pub visits: f64,
    /// Visits serving two or more tasks.
    pub joint_visits: f64,
    /// `joint_visits / visits`.
    pub joint_ratio: f64,
}

/// The plan's report: the coordinated draw against independent draws of the same sizes
/// (expected values) and against the most overlap the populations and sizes allow.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Report {
    pub coordinated: Overlap,
    pub independent: Overlap,
    pub maximum: Overlap,
    pub unstaffed_visits: u64,
}

/// Everything published after the draw. `targets_hash` and `inspectors_hash` were published
/// before it, with `seed.commitment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// Always [`ALGORITHM`] for bundles this version writes.
    pub algorithm: String,
    pub plan: Plan,
    pub items: Vec<ItemRef>,
    pub targets_hash: String,
    pub inspectors_hash: String,
    pub seed: SeedSource,
    /// The frozen target list (columnar in memory; a JSON array of [`Target`] in the file,
    /// written and read without holding the text in memory).
    pub targets: super::targetset::TargetSet,
    pub inspectors: Vec<Inspector>,
    pub samples: Vec<TaskSample>,
    pub visits: Vec<Visit>,
    pub report: Report,
    /// Free-form facts about where the bundle came from (plan number, publication time).
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
}

/// The sampling ratios a new plan starts with, within the ranges of the published example of
/// DOMAIN.md §3 (A ≤5%, B 5–20%, C 21–60%, D 61–100%); every plan sets its own.
pub const DEFAULT_RATIOS: PerClass<f64> = PerClass {
    a: 0.03,
    b: 0.10,
    c: 0.30,
    d: 0.65,
};
