//! The types, their criteria and the check of a proposal (no IO).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use amr_kernel::error::AppError;

use crate::model::{EntityType, Status};

/// A type of individual business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeaturedType {
    /// 名: well known.
    Famous,
    /// 特: distinctive.
    Distinctive,
    /// 优: high quality.
    Quality,
    /// 新: new formats.
    New,
}

impl FeaturedType {
    pub const ALL: [FeaturedType; 4] = [
        FeaturedType::Famous,
        FeaturedType::Distinctive,
        FeaturedType::Quality,
        FeaturedType::New,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeaturedType::Famous => "famous",
            FeaturedType::Distinctive => "distinctive",
            FeaturedType::Quality => "quality",
            FeaturedType::New => "new",
        }
    }

    /// The one-character name (名, 特, 优, 新).
    pub fn name_zh(self) -> &'static str {
        match self {
            FeaturedType::Famous => "名",
            FeaturedType::Distinctive => "特",
            FeaturedType::Quality => "优",
            FeaturedType::New => "新",
        }
    }

    /// The key or the Chinese name.
    pub fn parse(s: &str) -> Option<FeaturedType> {
        match s.trim() {
            "famous" | "名" => Some(FeaturedType::Famous),
            "distinctive" | "特" => Some(FeaturedType::Distinctive),
            "quality" | "优" => Some(FeaturedType::Quality),
            "new" | "新" => Some(FeaturedType::New),
            _ => None,
        }
    }
}

/// The criteria of one type (see `data/featured_criteria.toml` for the meaning of each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeCriteria {
    pub description: String,
    #[serde(default)]
    pub min_years: u32,
    #[serde(default)]
    pub max_years: Option<u32>,
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub max_complaints_12m: Option<u32>,
    #[serde(default)]
    pub evidence_any: Vec<String>,
    #[serde(default)]
    pub evidence_min: u32,
}

/// The criteria of every type and the kinds of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criteria {
    /// Evidence kind → its name.
    pub evidence: BTreeMap<String, String>,
    pub famous: TypeCriteria,
    pub distinctive: TypeCriteria,
    pub quality: TypeCriteria,
    pub new: TypeCriteria,
}

impl Criteria {
    /// Parses and checks a criteria text; the error names what is wrong.
    pub fn parse(text: &str) -> Result<Criteria, AppError> {
        let bad = |m: String| AppError::bad_request("criteria", m);
        let c: Criteria = toml::from_str(text)
            .map_err(|e| bad(format!("认定条件格式错误 (the criteria do not parse): {e}")))?;
        if c.evidence.is_empty() {
            return Err(bad("[evidence] 不能为空 (no evidence kinds)".into()));
        }
        for t in FeaturedType::ALL {
            let tc = c.of(t);
            let name = t.as_str();
            if tc.description.trim().is_empty() {
                return Err(bad(format!("[{name}] 缺少说明 (description is empty)")));
            }
            if let Some(max) = tc.max_years
                && max < tc.min_years
            {
                return Err(bad(format!(
                    "[{name}] max_years 小于 min_years (max_years is below min_years)"
                )));
            }
            for code in &tc.industries {
                if !(2..=4).contains(&code.len())
                    || !code.bytes().all(|b| b.is_ascii_digit())
                    || crate::industry::get(code).is_none()
                {
                    return Err(bad(format!(
                        "[{name}] 行业代码 {code:?} 不是 GB/T 4754-2017 的门类以下代码 \
                         (not a GB/T 4754-2017 division, group or class)"
                    )));
                }
            }
            for k in &tc.evidence_any {
                if !c.evidence.contains_key(k) {
                    return Err(bad(format!(
                        "[{name}] 证明材料种类 {k:?} 未在 [evidence] 中定义 (unknown evidence kind)"
                    )));
                }
            }
            if tc.evidence_min as usize > 10 {
                return Err(bad(format!("[{name}] evidence_min 不超过 10 (at most 10)")));
            }
        }
        Ok(c)
    }

    /// The shipped defaults.
    pub fn defaults() -> Criteria {
        Criteria::parse(super::DEFAULT_CRITERIA).expect("the shipped criteria parse")
    }

    pub fn of(&self, t: FeaturedType) -> &TypeCriteria {
        match t {
            FeaturedType::Famous => &self.famous,
            FeaturedType::Distinctive => &self.distinctive,
            FeaturedType::Quality => &self.quality,
            FeaturedType::New => &self.new,
        }
    }
}

/// One piece of evidence of a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: String,
    pub text: String,
}

/// What an officer proposes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub featured_type: FeaturedType,
    pub reasons: String,
    pub evidence: Vec<Evidence>,
    pub complaints_12m: Option<i64>,
}

/// The facts of the business that the criteria look at.
#[derive(Debug, Clone)]
pub struct BusinessFacts {
    pub entity_type: EntityType,
    pub status: Status,
    pub established: NaiveDate,
    pub industry: String,
}

/// The result of one criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub criterion: String,
    pub ok: bool,
    pub message: String,
}

/// Whole years from `from` to `to`.
pub fn years_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let mut y = i64::from(to.year() - from.year());
    if (to.month(), to.day()) < (from.month(), from.day()) {
        y -= 1;
    }
    y
}

/// Judges a business and a proposal against the criteria of the proposed type on `today`:
/// one result per criterion, each with its reason in Chinese first.
pub fn check(
    criteria: &Criteria,
    facts: &BusinessFacts,
    p: &Proposal,
    today: NaiveDate,
) -> Vec<CheckResult> {
    let tc = criteria.of(p.featured_type);
    let mut out = Vec::new();
    let mut push = |criterion: &str, ok: bool, message: String| {
        out.push(CheckResult {
            criterion: criterion.to_string(),
            ok,
            message,
        })
    };
    push(
        "entity_type",
        facts.entity_type == EntityType::IndividualBusiness,
        "须为个体工商户 (must be an individual business)".into(),
    );
    push(
        "status",
        facts.status == Status::Active,
        "须为存续状态 (must be active)".into(),
    );
    let years = years_between(facts.established, today);
    if tc.min_years > 0 {
        push(
            "min_years",
            years >= i64::from(tc.min_years),
            format!(
                "成立满 {} 年（现 {years} 年）(at least {} years in business; now {years})",
                tc.min_years, tc.min_years
            ),
        );
    }
    if let Some(max) = tc.max_years {
        push(
            "max_years",
            years < i64::from(max),
            format!(
                "成立不满 {max} 年（现 {years} 年）(less than {max} years in business; now {years})"
            ),
        );
    }
    if !tc.industries.is_empty() {
        let ok = tc.industries.iter().any(|c| facts.industry.starts_with(c));
        push(
            "industries",
            ok,
            format!(
                "行业 {} 须属于 {} (the industry must be one of these)",
                facts.industry,
                tc.industries.join("、")
            ),
        );
    }
    if let Some(max) = tc.max_complaints_12m {
        let (ok, m) = match p.complaints_12m {
            None => (
                false,
                "须填写近 12 个月投诉举报件数 (the complaint count of the last 12 months is required)"
                    .to_string(),
            ),
            Some(n) => (
                n <= i64::from(max),
                format!(
                    "近 12 个月投诉举报不超过 {max} 件（填报 {n} 件）(at most {max} complaints in 12 months; {n} given)"
                ),
            ),
        };
        push("max_complaints_12m", ok, m);
    }
    if tc.evidence_min > 0 {
        let n = p
            .evidence
            .iter()
            .filter(|e| tc.evidence_any.contains(&e.kind))
            .count();
        let names: Vec<&str> = tc
            .evidence_any
            .iter()
            .map(|k| criteria.evidence.get(k).map(String::as_str).unwrap_or(k))
            .collect();
        push(
            "evidence",
            n >= tc.evidence_min as usize,
            format!(
                "须有 {} 项以下证明材料：{}（已提供 {n} 项）(needs {} pieces of evidence of these kinds; {n} given)",
                tc.evidence_min,
                names.join("、"),
                tc.evidence_min
            ),
        );
    }
    out
}

/// The failed criteria as one refusal, or `Ok` when all pass.
pub fn refusal(results: &[CheckResult]) -> Result<(), AppError> {
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.message.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(AppError::rejected(format!(
            "不符合认定条件 (the criteria are not met)：{}",
            failed.join("；")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(years_ago: i32, industry: &str) -> BusinessFacts {
        BusinessFacts {
            entity_type: EntityType::IndividualBusiness,
            status: Status::Active,
            established: NaiveDate::from_ymd_opt(2026 - years_ago, 3, 1).unwrap(),
            industry: industry.into(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    #[test]
    fn the_defaults_parse() {
        let c = Criteria::defaults();
        assert_eq!(c.famous.min_years, 5);
        assert_eq!(c.new.max_years, Some(3));
    }

    #[test]
    fn a_distinctive_restaurant_passes_and_a_young_famous_one_does_not() {
        let c = Criteria::defaults();
        let p = Proposal {
            featured_type: FeaturedType::Distinctive,
            reasons: "传统技艺".into(),
            evidence: vec![Evidence {
                kind: "local_specialty".into(),
                text: "济南把子肉传统技艺".into(),
            }],
            complaints_12m: Some(0),
        };
        let r = check(&c, &facts(4, "6210"), &p, today());
        assert!(refusal(&r).is_ok(), "{r:?}");
        let young = Proposal {
            featured_type: FeaturedType::Famous,
            ..p.clone()
        };
        let r = check(&c, &facts(2, "6210"), &young, today());
        let failed: Vec<_> = r
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.criterion.as_str())
            .collect();
        assert_eq!(failed, ["min_years", "evidence"]);
        // Outside the industries.
        let r = check(&c, &facts(4, "7211"), &p, today());
        assert!(r.iter().any(|r| r.criterion == "industries" && !r.ok));
    }

    #[test]
    fn bad_criteria_are_refused() {
        let text = super::super::DEFAULT_CRITERIA.replace("\"62\"", "\"6X\"");
        assert!(Criteria::parse(&text).is_err());
        let text = super::super::DEFAULT_CRITERIA.replace("\"patent\"]", "\"patents\"]");
        assert!(Criteria::parse(&text).is_err());
        assert!(Criteria::parse("nonsense = ").is_err());
    }

    #[test]
    fn years() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(years_between(d(2020, 6, 2), d(2025, 6, 1)), 4);
        assert_eq!(years_between(d(2020, 6, 1), d(2025, 6, 1)), 5);
    }
}
