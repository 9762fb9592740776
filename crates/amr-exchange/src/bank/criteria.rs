//! A bank's criteria: which consenting enterprises it receives.
//!
//! Every list empty = no restriction on that fact. Stored as JSON in `bank_criteria`; set by
//! an administrator (page, API, CLI), each change audited (`exchange_bank.criteria`) and
//! evented (`exchange.bank.criteria.set`, internal).

use chrono::{DateTime, Datelike, NaiveDate, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use amr_kernel::audit::{self, Actor};
use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::sharing::{ENTITY_TYPES, SharedFacts};
use amr_kernel::{on_conn, on_tx};

use crate::agency::Agency;

/// What a bank receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criteria {
    /// Registry entity type codes (`enterprise`, `individual_business`, ...).
    pub entity_types: Vec<String>,
    /// GB/T 4754 section letters (`C`) or class-code prefixes of 2–4 digits (`52`, `5299`).
    pub industries: Vec<String>,
    /// Division-code prefixes (2, 4, 6 or 9 digits).
    pub regions: Vec<String>,
    /// Credit-risk classes `A`–`D`.
    pub risk_classes: Vec<String>,
    /// Whole years since establishment, inclusive.
    pub min_age_years: Option<u32>,
    pub max_age_years: Option<u32>,
    /// Leave out enterprises on the abnormal-operation list (default on).
    pub exclude_abnormal: bool,
    /// Only enterprises in business (status `active`; default on).
    pub active_only: bool,
}

impl Default for Criteria {
    fn default() -> Criteria {
        Criteria {
            entity_types: Vec::new(),
            industries: Vec::new(),
            regions: Vec::new(),
            risk_classes: Vec::new(),
            min_age_years: None,
            max_age_years: None,
            exclude_abnormal: true,
            active_only: true,
        }
    }
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

/// A list field: a JSON array of strings, or one string separated by commas, spaces or
/// new lines (forms, CLI).
fn list_of(v: Option<&Value>, field: &str, errors: &mut Vec<(String, String)>) -> Vec<String> {
    let items: Vec<String> = match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s
            .split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for i in a {
                match i.as_str() {
                    Some(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
                    _ => {
                        errors.push((
                            field.to_string(),
                            format!("{field}：每一项应为非空文本 ({field}: every item is a non-empty string)"),
                        ));
                        return Vec::new();
                    }
                }
            }
            out
        }
        Some(_) => {
            errors.push((
                field.to_string(),
                format!("{field}：应为文本列表 ({field}: a list of strings)"),
            ));
            return Vec::new();
        }
    };
    if items.len() > 50 {
        errors.push((
            field.to_string(),
            format!("{field}：最多 50 项 ({field}: at most 50 items)"),
        ));
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn age_of(v: Option<&Value>, field: &str, errors: &mut Vec<(String, String)>) -> Option<u32> {
    let n = match v {
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) if s.trim().is_empty() => return None,
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        Some(_) => None,
    };
    match n {
        Some(n) if (0..=200).contains(&n) => u32::try_from(n).ok(),
        _ => {
            errors.push((
                field.to_string(),
                format!("{field}：成立年限应为 0–200 的整数 ({field}: years since establishment, a whole number 0–200)"),
            ));
            None
        }
    }
}

fn flag_of(
    v: Option<&Value>,
    field: &str,
    default: bool,
    errors: &mut Vec<(String, String)>,
) -> bool {
    match v {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => match s.trim() {
            "" => default,
            "true" | "yes" | "on" | "1" => true,
            "false" | "no" | "off" | "0" => false,
            _ => {
                errors.push((
                    field.to_string(),
                    format!("{field}：应为 yes 或 no ({field}: yes or no)"),
                ));
                default
            }
        },
        Some(_) => {
            errors.push((
                field.to_string(),
                format!("{field}：应为 true 或 false ({field}: true or false)"),
            ));
            default
        }
    }
}

/// The known fields of a criteria object.
const FIELDS: &[&str] = &[
    "entity_types",
    "industries",
    "regions",
    "risk_classes",
    "min_age_years",
    "max_age_years",
    "exclude_abnormal",
    "active_only",
];

impl Criteria {
    /// Checks criteria given as JSON (the API; forms and the CLI build the same object).
    /// Every bad field is named in one error (fields comma-separated, messages joined).
    pub fn from_value(v: &Value) -> Result<Criteria, AppError> {
        let Some(o) = v.as_object() else {
            return Err(AppError::bad_request(
                "criteria",
                "条件应为 JSON 对象 (the criteria are a JSON object)",
            ));
        };
        let mut errors: Vec<(String, String)> = Vec::new();
        for k in o.keys() {
            if !FIELDS.contains(&k.as_str()) {
                errors.push((k.clone(), format!("未知字段 {k} (unknown field {k})")));
            }
        }
        let entity_types = list_of(o.get("entity_types"), "entity_types", &mut errors);
        for t in &entity_types {
            if !ENTITY_TYPES.iter().any(|(c, _, _)| c == t) {
                errors.push((
                    "entity_types".into(),
                    format!(
                        "entity_types：未知主体类型 {t:?}，应为 enterprise、individual_business、farmer_cooperative 或 branch \
                         (entity_types: unknown type {t:?})"
                    ),
                ));
            }
        }
        let industries: Vec<String> = list_of(o.get("industries"), "industries", &mut errors)
            .into_iter()
            .map(|s| s.to_ascii_uppercase())
            .collect();
        for i in &industries {
            let letter = i.len() == 1 && matches!(i.as_bytes()[0], b'A'..=b'T');
            let digits = (2..=4).contains(&i.len()) && i.bytes().all(|b| b.is_ascii_digit());
            if !letter && !digits {
                errors.push((
                    "industries".into(),
                    format!(
                        "industries：{i:?} 应为国民经济行业门类字母 A–T 或 2–4 位行业代码前缀 \
                         (industries: {i:?} must be a GB/T 4754 section letter A–T or a 2–4 digit code prefix)"
                    ),
                ));
            }
        }
        let regions = list_of(o.get("regions"), "regions", &mut errors);
        let mut region_codes = Vec::new();
        for r in &regions {
            match Jurisdiction::parse(r) {
                Ok(j) if !j.is_all() => region_codes.push(j.prefix().to_string()),
                _ => errors.push((
                    "regions".into(),
                    format!(
                        "regions：{r:?} 不是已知的行政区划代码 (regions: {r:?} is not a known division code)"
                    ),
                )),
            }
        }
        let risk_classes: Vec<String> = list_of(o.get("risk_classes"), "risk_classes", &mut errors)
            .into_iter()
            .map(|s| s.to_ascii_uppercase())
            .collect();
        for c in &risk_classes {
            if !matches!(c.as_str(), "A" | "B" | "C" | "D") {
                errors.push((
                    "risk_classes".into(),
                    format!("risk_classes：{c:?} 应为 A、B、C 或 D (risk_classes: {c:?} must be A, B, C or D)"),
                ));
            }
        }
        let min_age_years = age_of(o.get("min_age_years"), "min_age_years", &mut errors);
        let max_age_years = age_of(o.get("max_age_years"), "max_age_years", &mut errors);
        if let (Some(lo), Some(hi)) = (min_age_years, max_age_years)
            && lo > hi
        {
            errors.push((
                "max_age_years".into(),
                "max_age_years：最长成立年限不能小于最短年限 (max_age_years: must not be below min_age_years)".into(),
            ));
        }
        let exclude_abnormal = flag_of(
            o.get("exclude_abnormal"),
            "exclude_abnormal",
            true,
            &mut errors,
        );
        let active_only = flag_of(o.get("active_only"), "active_only", true, &mut errors);
        if !errors.is_empty() {
            let mut fields: Vec<String> = Vec::new();
            for (f, _) in &errors {
                if !fields.contains(f) {
                    fields.push(f.clone());
                }
            }
            let message = errors
                .into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("；");
            return Err(AppError::bad_request(fields.join(","), message));
        }
        Ok(Criteria {
            entity_types,
            industries,
            regions: region_codes,
            risk_classes,
            min_age_years,
            max_age_years,
            exclude_abnormal,
            active_only,
        })
    }

    /// Whether the enterprise of `f` matches on `today`.
    pub fn matches(&self, f: &SharedFacts, today: NaiveDate) -> bool {
        if !self.entity_types.is_empty() && !self.entity_types.contains(&f.entity_type) {
            return false;
        }
        if !self.industries.is_empty()
            && !self.industries.iter().any(|i| {
                if i.len() == 1 {
                    f.industry_section
                        .is_some_and(|s| i.starts_with(s.to_ascii_uppercase()))
                } else {
                    f.industry.starts_with(i.as_str())
                }
            })
        {
            return false;
        }
        if !self.regions.is_empty()
            && !self
                .regions
                .iter()
                .any(|r| f.division.starts_with(r.as_str()))
        {
            return false;
        }
        if !self.risk_classes.is_empty() && !self.risk_classes.contains(&f.risk_class) {
            return false;
        }
        let age = whole_years(f.established, today);
        if self.min_age_years.is_some_and(|m| age < m)
            || self.max_age_years.is_some_and(|m| age > m)
        {
            return false;
        }
        if self.exclude_abnormal && f.abnormal_list {
            return false;
        }
        if self.active_only && f.status != "active" {
            return false;
        }
        true
    }

    /// Whether the bank is told the risk class (only when its criteria use it).
    pub fn uses_risk(&self) -> bool {
        !self.risk_classes.is_empty()
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The criteria of a bank, if set.
pub async fn get(db: &Db, agency_id: i64) -> Result<Option<Criteria>, AppError> {
    let text: Option<String> = on_conn!(db, c => sqlx::query_scalar(
        "SELECT criteria FROM bank_criteria WHERE agency_id = $1",
    )
    .bind(agency_id)
    .fetch_optional(c)
    .await?);
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("bank criteria of {agency_id}: {e}")))
    })
    .transpose()
}

/// Sets the criteria of bank `a`, with the event and audit entry, in `tx`.
pub async fn set(tx: &mut Tx, actor: &Actor, a: &Agency, c: &Criteria) -> Result<(), AppError> {
    let before: Option<String> = on_tx!(tx, x => sqlx::query_scalar(
        "SELECT criteria FROM bank_criteria WHERE agency_id = $1",
    )
    .bind(a.id)
    .fetch_optional(&mut *x)
    .await?);
    let text = c.to_json().to_string();
    on_tx!(tx, x => sqlx::query(
        "INSERT INTO bank_criteria (agency_id, criteria, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (agency_id) DO UPDATE SET criteria = $2, updated_at = $3, updated_by = $4",
    )
    .bind(a.id)
    .bind(&text)
    .bind(now())
    .bind(actor.label())
    .execute(&mut *x)
    .await?
    .rows_affected());
    let before: Option<Value> = before.and_then(|b| serde_json::from_str(&b).ok());
    events::append(
        tx,
        NewEvent::internal(
            "exchange.bank.criteria.set",
            json!({"agency": a.name, "criteria": c.to_json()}),
        )
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "exchange_bank.criteria",
            target_kind: "exchange_agency",
            target_id: a.name.clone(),
            division: None,
            before,
            after: Some(c.to_json()),
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> SharedFacts {
        SharedFacts {
            uscc: "91370102MA3C00000X".into(),
            name: "示例".into(),
            entity_type: "enterprise".into(),
            industry: "5299".into(),
            industry_section: Some('F'),
            division: "370102001".into(),
            established: NaiveDate::from_ymd_opt(2020, 5, 1).unwrap(),
            status: "active".into(),
            abnormal_list: false,
            risk_class: "B".into(),
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let e = Criteria::from_value(&json!({"entity_types": ["shop"], "industries": ["Z", "5"],
            "regions": ["99"], "risk_classes": ["E"], "min_age_years": 5, "max_age_years": 2,
            "exclude_abnormal": "maybe", "colour": 1}))
        .unwrap_err();
        let AppError::BadRequest { field, message } = e else {
            panic!("{e:?}")
        };
        for f in [
            "colour",
            "entity_types",
            "industries",
            "regions",
            "risk_classes",
            "max_age_years",
            "exclude_abnormal",
        ] {
            assert!(field.contains(f), "{field}");
        }
        assert!(message.contains("（") || message.contains("("), "{message}");
    }

    #[test]
    fn matching_follows_each_fact() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let c = Criteria::from_value(
            &json!({"industries": ["F"], "regions": ["3701"], "min_age_years": 3}),
        )
        .unwrap();
        assert!(c.exclude_abnormal && c.active_only);
        let f = facts();
        assert!(c.matches(&f, today));
        assert!(!c.matches(
            &SharedFacts {
                abnormal_list: true,
                ..f.clone()
            },
            today
        ));
        assert!(!c.matches(
            &SharedFacts {
                status: "suspended".into(),
                ..f.clone()
            },
            today
        ));
        assert!(!c.matches(
            &SharedFacts {
                division: "370202001".into(),
                ..f.clone()
            },
            today
        ));
        assert!(!c.matches(
            &SharedFacts {
                established: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
                ..f.clone()
            },
            today
        ));
        assert!(!c.matches(
            &SharedFacts {
                industry_section: Some('C'),
                industry: "1310".into(),
                ..f.clone()
            },
            today
        ));
        let r = Criteria::from_value(&json!({"risk_classes": ["a"], "industries": "52"})).unwrap();
        assert!(!r.matches(&f, today));
        assert!(r.matches(
            &SharedFacts {
                risk_class: "A".into(),
                ..f
            },
            today
        ));
    }
}
