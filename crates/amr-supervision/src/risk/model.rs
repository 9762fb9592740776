//! The credit-risk model (信用风险分类模型): indicators, weights, windows and class thresholds
//! as configuration (TOML), and [`score`], which turns an entity's facts and its dated
//! observations into a class with the reasons behind it. No IO here.
//!
//! Indicators:
//! - `abnormal_list`, `serious_list`: the registry's list flags (经营异常名录, 严重违法失信名单);
//! - `age`: years since establishment, by bands (young entities carry more risk);
//! - `industry`: GB/T 4754 code prefix (section letter or class-code digits), longest wins;
//! - dated observations in `credit_risk_observations`, counted within a window and capped:
//!   `inspection_finding` and `not_found_at_address` (from inspection results), `complaint`,
//!   `penalty` and `annual_report_late` (whose sources do not exist yet: see
//!   [`OBSERVATION_KINDS`]; until they do, the reasons say so instead of counting a silent 0).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use amr_kernel::error::AppError;

use crate::draw::model::RiskClass;
use crate::targets::EntityFacts;

/// The shipped default model.
pub const DEFAULT_MODEL: &str = include_str!("../../data/risk_model.toml");

/// An observation kind: its key, its names, and whether the platform feeds it yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ObservationKind {
    pub key: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// Whether a source writes these observations today. A kind without a source still
    /// scores the rows that exist; when it has none, the reason says "no data source yet".
    pub connected: bool,
}

/// Every observation kind the model knows.
pub const OBSERVATION_KINDS: &[ObservationKind] = &[
    ObservationKind {
        key: "inspection_finding",
        name_zh: "抽查检查发现问题",
        name_en: "inspection found problems",
        connected: true,
    },
    ObservationKind {
        key: "not_found_at_address",
        name_zh: "通过登记的住所无法联系",
        name_en: "not found at the registered address",
        connected: true,
    },
    ObservationKind {
        key: "complaint",
        name_zh: "投诉举报",
        name_en: "complaints and reports",
        connected: false,
    },
    ObservationKind {
        key: "penalty",
        name_zh: "行政处罚",
        name_en: "administrative penalties",
        connected: false,
    },
    ObservationKind {
        key: "annual_report_late",
        name_zh: "年报未按时报送",
        name_en: "annual report late or missing",
        connected: false,
    },
];

/// The kind named `key`, if the model knows it.
pub fn observation_kind(key: &str) -> Option<&'static ObservationKind> {
    OBSERVATION_KINDS.iter().find(|k| k.key == key)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub a_max: f64,
    pub b_max: f64,
    pub c_max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lists {
    pub abnormal_list: f64,
    pub serious_list: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeBand {
    pub under_years: u32,
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndustryRule {
    pub prefix: String,
    pub points: f64,
    #[serde(default)]
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Industry {
    #[serde(default)]
    pub default_points: f64,
    #[serde(default)]
    pub rules: Vec<IndustryRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservationRule {
    pub points_each: f64,
    pub cap: f64,
    pub window_years: u32,
}

/// The model: weights, caps, windows and thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub classes: Thresholds,
    pub lists: Lists,
    #[serde(default)]
    pub age: Vec<AgeBand>,
    pub industry: Industry,
    #[serde(default)]
    pub observations: BTreeMap<String, ObservationRule>,
    /// The short hash of the text this model was parsed from.
    #[serde(skip_deserializing)]
    pub version: String,
}

/// The version of a model text: the first 12 hex digits of its SHA-256.
pub fn version_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(&digest[..6])
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn weight(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && (0.0..=1000.0).contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "{name} 应在 0 到 1000 之间 ({name} is between 0 and 1000)"
        ))
    }
}

impl Model {
    /// Parses and checks a model text; a refusal names the line when the TOML itself is bad.
    pub fn parse(text: &str) -> Result<Model, AppError> {
        let bad = |m: String| AppError::bad_request("model", m);
        let mut model: Model = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let msg = e.message().trim().to_string();
            match line {
                Some(n) => bad(format!(
                    "模型第 {n} 行有误：{msg} (the model does not parse at line {n}: {msg})"
                )),
                None => bad(format!("模型有误：{msg} (the model does not parse: {msg})")),
            }
        })?;
        model.check().map_err(bad)?;
        model.version = version_of(text);
        Ok(model)
    }

    /// The shipped default.
    pub fn default_model() -> Model {
        Model::parse(DEFAULT_MODEL).expect("the shipped risk model parses")
    }

    fn check(&self) -> Result<(), String> {
        let t = &self.classes;
        for (n, v) in [
            ("classes.a_max", t.a_max),
            ("classes.b_max", t.b_max),
            ("classes.c_max", t.c_max),
        ] {
            weight(n, v)?;
        }
        if !(t.a_max < t.b_max && t.b_max < t.c_max) {
            return Err(
                "分类阈值应满足 a_max < b_max < c_max (thresholds must rise: a_max < b_max < c_max)"
                    .into(),
            );
        }
        weight("lists.abnormal_list", self.lists.abnormal_list)?;
        weight("lists.serious_list", self.lists.serious_list)?;
        let mut last = 0;
        for b in &self.age {
            weight("age.points", b.points)?;
            if b.under_years <= last || b.under_years > 200 {
                return Err(
                    "成立年限分段应按 under_years 递增且在 1 到 200 之间 (age bands rise by under_years, 1..=200)"
                        .into(),
                );
            }
            last = b.under_years;
        }
        weight("industry.default_points", self.industry.default_points)?;
        let mut seen = std::collections::BTreeSet::new();
        for r in &self.industry.rules {
            weight("industry.rules.points", r.points)?;
            let p = r.prefix.trim();
            let letter = p.len() == 1 && p.bytes().all(|b| b.is_ascii_uppercase() && b <= b'T');
            let digits = (1..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
            if !(letter || digits) || p != r.prefix {
                return Err(format!(
                    "行业前缀 {:?} 应为门类字母 A–T 或 1 到 4 位数字 (an industry prefix is a section letter A–T or 1 to 4 digits)",
                    r.prefix
                ));
            }
            if !seen.insert(p.to_string()) {
                return Err(format!(
                    "行业前缀 {p} 重复 (industry prefix {p} appears twice)"
                ));
            }
        }
        for (k, r) in &self.observations {
            if observation_kind(k).is_none() {
                let known: Vec<&str> = OBSERVATION_KINDS.iter().map(|k| k.key).collect();
                return Err(format!(
                    "未知的观测类型 {k:?}，应为 {} 之一 (unknown observation kind; use one of them)",
                    known.join("、")
                ));
            }
            weight(&format!("observations.{k}.points_each"), r.points_each)?;
            weight(&format!("observations.{k}.cap"), r.cap)?;
            if !(1..=20).contains(&r.window_years) {
                return Err(format!(
                    "observations.{k}.window_years 应在 1 到 20 之间 (a window is 1 to 20 years)"
                ));
            }
        }
        Ok(())
    }

    /// The class of a score.
    pub fn class_of(&self, score: f64) -> RiskClass {
        let t = &self.classes;
        if score <= t.a_max {
            RiskClass::A
        } else if score <= t.b_max {
            RiskClass::B
        } else if score <= t.c_max {
            RiskClass::C
        } else {
            RiskClass::D
        }
    }

    /// The notes for the observation kinds that have no data source yet (points 0): shown
    /// with every entity's reasons, never stored per entity.
    pub fn unsourced(&self) -> Vec<Reason> {
        OBSERVATION_KINDS
            .iter()
            .filter(|k| !k.connected)
            .map(|k| Reason {
                indicator: k.key.to_string(),
                value: String::new(),
                points: 0.0,
                text_zh: format!("{}：暂无数据来源", k.name_zh),
                text_en: format!("{}: no data source yet", k.name_en),
            })
            .collect()
    }
}

/// A dated observation about an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub indicator: String,
    pub observed_on: NaiveDate,
}

/// One indicator's contribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub indicator: String,
    pub value: String,
    pub points: f64,
    pub text_zh: String,
    pub text_en: String,
}

/// An entity's class, score and reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    pub class: RiskClass,
    pub score: f64,
    /// The indicators that added points (the ones that explain the class).
    pub reasons: Vec<Reason>,
}

/// Whole years from `from` to `to` (0 when `to` is before `from`).
pub fn whole_years(from: NaiveDate, to: NaiveDate) -> u32 {
    if to < from {
        return 0;
    }
    let mut y = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        y -= 1;
    }
    u32::try_from(y.max(0)).unwrap_or(0)
}

/// The GB/T 4754-2017 section (门类) of a class code, from its first two digits.
pub fn section_of(industry: &str) -> Option<char> {
    let d: u32 = industry.get(..2)?.parse().ok()?;
    let s = match d {
        1..=5 => 'A',
        6..=12 => 'B',
        13..=43 => 'C',
        44..=46 => 'D',
        47..=50 => 'E',
        51..=52 => 'F',
        53..=60 => 'G',
        61..=62 => 'H',
        63..=65 => 'I',
        66..=69 => 'J',
        70 => 'K',
        71..=72 => 'L',
        73..=75 => 'M',
        76..=79 => 'N',
        80..=82 => 'O',
        83 => 'P',
        84..=85 => 'Q',
        86..=90 => 'R',
        91..=96 => 'S',
        97 => 'T',
        _ => return None,
    };
    Some(s)
}

/// The first day inside a window of `years` ending `today` (the same date `years` earlier,
/// 28 February for 29 February).
fn window_start(today: NaiveDate, years: u32) -> NaiveDate {
    let y = today.year() - i32::try_from(years).unwrap_or(0);
    NaiveDate::from_ymd_opt(y, today.month(), today.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, today.month(), 28))
        .unwrap_or(today)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Scores one entity on `today` under `model`.
pub fn score(
    facts: &EntityFacts,
    observations: &[Observation],
    today: NaiveDate,
    model: &Model,
) -> Scored {
    let mut reasons = Vec::new();
    if facts.serious_list && model.lists.serious_list > 0.0 {
        reasons.push(Reason {
            indicator: "serious_list".into(),
            value: "true".into(),
            points: model.lists.serious_list,
            text_zh: "列入严重违法失信名单".into(),
            text_en: "on the serious-violation list".into(),
        });
    }
    if facts.abnormal_list && model.lists.abnormal_list > 0.0 {
        reasons.push(Reason {
            indicator: "abnormal_list".into(),
            value: "true".into(),
            points: model.lists.abnormal_list,
            text_zh: "列入经营异常名录".into(),
            text_en: "on the abnormal-operation list".into(),
        });
    }
    let age = whole_years(facts.established, today);
    if let Some(band) = model.age.iter().find(|b| age < b.under_years)
        && band.points > 0.0
    {
        reasons.push(Reason {
            indicator: "age".into(),
            value: age.to_string(),
            points: band.points,
            text_zh: format!("成立不满 {} 年（{} 年）", band.under_years, age),
            text_en: format!(
                "established less than {} years ago ({age} years)",
                band.under_years
            ),
        });
    }
    let section = section_of(&facts.industry).map(String::from);
    let rule = model
        .industry
        .rules
        .iter()
        .filter(|r| {
            facts.industry.starts_with(&r.prefix) || section.as_deref() == Some(r.prefix.as_str())
        })
        // A digit prefix is more specific than a section letter; longer digits more so.
        .max_by_key(|r| {
            if r.prefix.bytes().all(|b| b.is_ascii_digit()) {
                r.prefix.len() + 1
            } else {
                1
            }
        });
    match rule {
        Some(r) if r.points > 0.0 => reasons.push(Reason {
            indicator: "industry".into(),
            value: facts.industry.clone(),
            points: r.points,
            text_zh: format!("行业风险：{}（{}）", r.label, facts.industry),
            text_en: format!("industry risk: {} ({})", r.label, facts.industry),
        }),
        None if model.industry.default_points > 0.0 => reasons.push(Reason {
            indicator: "industry".into(),
            value: facts.industry.clone(),
            points: model.industry.default_points,
            text_zh: format!("行业风险（{}）", facts.industry),
            text_en: format!("industry risk ({})", facts.industry),
        }),
        _ => {}
    }
    for kind in OBSERVATION_KINDS {
        let Some(rule) = model.observations.get(kind.key) else {
            continue;
        };
        let from = window_start(today, rule.window_years);
        let n = observations
            .iter()
            .filter(|o| o.indicator == kind.key && o.observed_on > from && o.observed_on <= today)
            .count();
        if n == 0 {
            continue;
        }
        let points = (rule.points_each * n as f64).min(rule.cap);
        if points <= 0.0 {
            continue;
        }
        reasons.push(Reason {
            indicator: kind.key.into(),
            value: n.to_string(),
            points,
            text_zh: format!("近 {} 年{} {} 次", rule.window_years, kind.name_zh, n),
            text_en: format!(
                "{}: {n} in the last {} years",
                kind.name_en, rule.window_years
            ),
        });
    }
    let score = round2(reasons.iter().map(|r| r.points).sum());
    Scored {
        class: model.class_of(score),
        score,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn facts() -> EntityFacts {
        EntityFacts {
            uscc: "91370102MA3C0000X0".into(),
            name: "测试".into(),
            division: "370102".into(),
            entity_type: "enterprise".into(),
            industry: "5191".into(),
            status: "active".into(),
            established: d("2010-05-01"),
            abnormal_list: false,
            serious_list: false,
        }
    }

    const TODAY: &str = "2026-06-01";

    fn run(f: &EntityFacts, obs: &[Observation]) -> Scored {
        score(f, obs, d(TODAY), &Model::default_model())
    }

    fn points_of(s: &Scored, indicator: &str) -> f64 {
        s.reasons
            .iter()
            .filter(|r| r.indicator == indicator)
            .map(|r| r.points)
            .sum()
    }

    #[test]
    fn an_old_quiet_entity_is_a() {
        let s = run(&facts(), &[]);
        assert_eq!(s.class, RiskClass::A);
        assert_eq!(s.score, 0.0);
        assert!(s.reasons.is_empty());
    }

    #[test]
    fn abnormal_list_makes_c_and_says_why() {
        let mut f = facts();
        f.abnormal_list = true;
        let s = run(&f, &[]);
        assert_eq!(s.class, RiskClass::C);
        assert_eq!(points_of(&s, "abnormal_list"), 30.0);
        assert!(s.reasons[0].text_zh.contains("经营异常名录"));
    }

    #[test]
    fn serious_list_makes_d() {
        let mut f = facts();
        f.serious_list = true;
        assert_eq!(run(&f, &[]).class, RiskClass::D);
    }

    #[test]
    fn age_bands() {
        let mut f = facts();
        f.established = d("2026-01-10");
        let s = run(&f, &[]);
        assert_eq!(points_of(&s, "age"), 10.0);
        assert_eq!(s.class, RiskClass::B);
        f.established = d("2024-06-02"); // one year and 364 days
        assert_eq!(points_of(&run(&f, &[]), "age"), 5.0);
        f.established = d("2023-06-01"); // exactly three years
        assert_eq!(points_of(&run(&f, &[]), "age"), 0.0);
        assert_eq!(whole_years(d("2024-02-29"), d("2025-02-28")), 0);
        assert_eq!(whole_years(d("2024-02-29"), d("2025-03-01")), 1);
        assert_eq!(whole_years(d("2027-01-01"), d("2026-01-01")), 0);
    }

    #[test]
    fn industry_longest_prefix_and_sections() {
        let mut f = facts();
        f.industry = "2710".into(); // pharmaceuticals
        assert_eq!(points_of(&run(&f, &[]), "industry"), 10.0);
        f.industry = "6210".into(); // catering
        assert_eq!(points_of(&run(&f, &[]), "industry"), 5.0);
        f.industry = "3411".into(); // boilers
        assert_eq!(points_of(&run(&f, &[]), "industry"), 10.0);
        f.industry = "3420".into(); // metalworking machinery: not special equipment
        assert_eq!(points_of(&run(&f, &[]), "industry"), 0.0);
        let text = DEFAULT_MODEL.replace(
            "[industry]\ndefault_points = 0.0\n",
            "[industry]\ndefault_points = 1.0\n\n[[industry.rules]]\nprefix = \"H\"\npoints = 2.0\nlabel = \"住宿和餐饮业\"\n",
        );
        let m = Model::parse(&text).unwrap();
        f.industry = "6110".into(); // hotels: section H only
        let s = score(&f, &[], d(TODAY), &m);
        assert_eq!(points_of(&s, "industry"), 2.0);
        f.industry = "6210".into(); // catering: "62" beats "H"
        assert_eq!(points_of(&score(&f, &[], d(TODAY), &m), "industry"), 5.0);
        f.industry = "5191".into(); // no rule: the default
        assert_eq!(points_of(&score(&f, &[], d(TODAY), &m), "industry"), 1.0);
        assert_eq!(section_of("0111"), Some('A'));
        assert_eq!(section_of("9700"), Some('T'));
        assert_eq!(section_of("99"), None);
    }

    fn obs(kind: &str, on: &str) -> Observation {
        Observation {
            indicator: kind.into(),
            observed_on: d(on),
        }
    }

    #[test]
    fn findings_count_within_the_window_and_cap() {
        let f = facts();
        let one = run(&f, &[obs("inspection_finding", "2025-01-01")]);
        assert_eq!(one.class, RiskClass::B);
        assert_eq!(points_of(&one, "inspection_finding"), 15.0);
        // Outside the 3-year window (on its first day excluded), in the future: not counted.
        let old = run(
            &f,
            &[
                obs("inspection_finding", "2023-06-01"),
                obs("inspection_finding", "2026-06-02"),
            ],
        );
        assert_eq!(old.score, 0.0);
        let inside = run(&f, &[obs("inspection_finding", "2023-06-02")]);
        assert_eq!(inside.score, 15.0);
        // Capped at 45.
        let many: Vec<Observation> = (1..=5)
            .map(|m| obs("inspection_finding", &format!("2026-0{m}-01")))
            .collect();
        let s = run(&f, &many);
        assert_eq!(points_of(&s, "inspection_finding"), 45.0);
        assert_eq!(s.class, RiskClass::C);
        let nf = run(&f, &[obs("not_found_at_address", "2026-05-01")]);
        assert_eq!(nf.class, RiskClass::C);
    }

    #[test]
    fn unsourced_kinds_score_rows_when_they_arrive_and_say_so_until_then() {
        let f = facts();
        let s = run(
            &f,
            &[obs("complaint", "2026-03-01"), obs("penalty", "2025-03-01")],
        );
        assert_eq!(points_of(&s, "complaint"), 3.0);
        assert_eq!(points_of(&s, "penalty"), 20.0);
        // Complaints count one year only.
        assert_eq!(run(&f, &[obs("complaint", "2025-03-01")]).score, 0.0);
        let notes = Model::default_model().unsourced();
        let keys: Vec<&str> = notes.iter().map(|r| r.indicator.as_str()).collect();
        assert_eq!(keys, ["complaint", "penalty", "annual_report_late"]);
        assert!(notes.iter().all(|n| n.text_zh.contains("暂无数据来源")));
    }

    #[test]
    fn thresholds_are_inclusive_upper_bounds() {
        let m = Model::default_model();
        assert_eq!(m.class_of(0.0), RiskClass::A);
        assert_eq!(m.class_of(5.0), RiskClass::A);
        assert_eq!(m.class_of(5.01), RiskClass::B);
        assert_eq!(m.class_of(29.0), RiskClass::B);
        assert_eq!(m.class_of(30.0), RiskClass::C);
        assert_eq!(m.class_of(59.0), RiskClass::C);
        assert_eq!(m.class_of(60.0), RiskClass::D);
        let text = DEFAULT_MODEL.replace("c_max = 59.0", "c_max = 100.0");
        let m2 = Model::parse(&text).unwrap();
        assert_eq!(m2.class_of(60.0), RiskClass::C);
        assert_ne!(m2.version, m.version);
        assert_eq!(m.version.len(), 12);
    }

    #[test]
    fn bad_models_are_refused_with_the_line() {
        let e = Model::parse("[classes]\na_max = 5.0\nb_max = = 3\n").unwrap_err();
        assert!(e.to_string().contains("第 3 行"), "{e}");
        let e = Model::parse(&DEFAULT_MODEL.replace("b_max = 29.0", "b_max = 2.0")).unwrap_err();
        assert!(e.to_string().contains("a_max < b_max"), "{e}");
        let e =
            Model::parse(&DEFAULT_MODEL.replace("[observations.penalty]", "[observations.fines]"))
                .unwrap_err();
        assert!(e.to_string().contains("fines"), "{e}");
        let e =
            Model::parse(&DEFAULT_MODEL.replace("prefix = \"62\"", "prefix = \"6x\"")).unwrap_err();
        assert!(e.to_string().contains("6x"), "{e}");
        let e = Model::parse(&DEFAULT_MODEL.replace("serious_list = 60.0", "serious_list = -1.0"))
            .unwrap_err();
        assert!(e.to_string().contains("serious_list"), "{e}");
        let e = Model::parse(&format!("{DEFAULT_MODEL}\n[extra]\nx = 1\n")).unwrap_err();
        assert!(e.to_string().contains("extra"), "{e}");
    }
}
