//! The negative list (负面清单): places where an entity may not have its domicile or premises.
//!
//! A rule has a kind ([`RuleKind`]): a division (a code prefix), a road, a building, an
//! address pattern (a substring of the address) or an address type (拆迁区域, 军事管理区, or
//! 住宅 for some industries), the division it applies in (`""` = everywhere), optionally the
//! industries it is limited to, its reason, its legal basis and its validity. A check that
//! hits an active rule is refused with the rule shown ([`hits`]).
//!
//! Officers add rules within their jurisdiction and end them (a rule is never deleted); every
//! change is audited in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use amr_kernel::audit::{self, Actor, Change};
use amr_kernel::auth::Scope;
use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::{on_conn, on_tx};

use crate::parse::ParsedAddress;

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Every address in a division (its code prefix).
    Division,
    /// A road (exact name) in the rule's division.
    Road,
    /// A building or named place (exact, or contained in the address's place + building).
    Building,
    /// A substring of the address (as written, spaces removed, or normalized).
    Pattern,
    /// An address type: the library entry's, or the one declared with the check.
    Type,
}

impl RuleKind {
    pub const ALL: [RuleKind; 5] = [
        RuleKind::Division,
        RuleKind::Road,
        RuleKind::Building,
        RuleKind::Pattern,
        RuleKind::Type,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Division => "division",
            RuleKind::Road => "road",
            RuleKind::Building => "building",
            RuleKind::Pattern => "pattern",
            RuleKind::Type => "type",
        }
    }

    pub fn parse(s: &str) -> Result<RuleKind, AppError> {
        RuleKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                AppError::bad_request(
                    "kind",
                    "规则类型应为 division、road、building、pattern 或 type \
                     (the kind is division, road, building, pattern or type)",
                )
            })
    }
}

/// Address types the forms suggest (any other short text is accepted too).
pub const ADDRESS_TYPES: &[&str] = &["拆迁区域", "住宅", "军事管理区", "违法建筑", "农用地"];

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Rule {
    pub id: i64,
    pub kind: String,
    pub value: String,
    pub division: String,
    pub industries: Option<String>,
    pub reason: String,
    pub legal_basis: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<String>,
}

impl Rule {
    /// Whether the rule is in force on `day`.
    pub fn active_on(&self, day: NaiveDate) -> bool {
        self.ended_at.is_none()
            && self.valid_from <= day
            && self.valid_until.is_none_or(|u| u >= day)
    }
}

const COLUMNS: &str = "id, kind, value, division, industries, reason, legal_basis, valid_from, \
     valid_until, created_at, created_by, ended_at, ended_by";

/// A rule as an officer enters it (form or JSON).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RuleInput {
    pub kind: String,
    pub value: String,
    pub division: String,
    pub industries: String,
    pub reason: String,
    pub legal_basis: String,
    /// `YYYY-MM-DD`; today when empty.
    pub valid_from: String,
    /// `YYYY-MM-DD` or empty (open-ended).
    pub valid_until: String,
}

/// A rule checked and ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRule {
    pub kind: RuleKind,
    pub value: String,
    pub division: String,
    pub industries: Option<String>,
    pub reason: String,
    pub legal_basis: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

fn text(field: &str, v: &str, max: usize, what: &str) -> Result<String, AppError> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(AppError::bad_request(
            field,
            format!("请填写{what}（不超过 {max} 字）(required, at most {max} characters)"),
        ));
    }
    Ok(v.to_string())
}

fn date(field: &str, v: &str) -> Result<Option<NaiveDate>, AppError> {
    match v.trim() {
        "" => Ok(None),
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                AppError::bad_request(
                    field,
                    "日期格式应为 YYYY-MM-DD (the date must be YYYY-MM-DD)",
                )
            }),
    }
}

impl RuleInput {
    /// Checks every field; the first bad one is the error.
    pub fn validate(&self, today: NaiveDate) -> Result<NewRule, AppError> {
        let kind = RuleKind::parse(&self.kind)?;
        let value = text("value", &self.value, 100, "规则内容")?;
        let division = match kind {
            RuleKind::Division => {
                let j =
                    Jurisdiction::parse(&value).map_err(|e| AppError::bad_request("value", e))?;
                if j.prefix().is_empty() {
                    return Err(AppError::bad_request(
                        "value",
                        "区划规则须填写区划代码 (a division rule needs a division code)",
                    ));
                }
                j.prefix().to_string()
            }
            _ => match self.division.trim() {
                "" => String::new(),
                d => Jurisdiction::parse(d)
                    .map_err(|e| AppError::bad_request("division", e))?
                    .prefix()
                    .to_string(),
            },
        };
        let industries = match self.industries.trim() {
            "" => None,
            list => {
                let items: Vec<&str> = list
                    .split([',', '，', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                let ok = items.iter().all(|i| {
                    i.len() <= 4
                        && i.chars().enumerate().all(|(n, c)| {
                            if n == 0 {
                                c.is_ascii_uppercase() || c.is_ascii_digit()
                            } else {
                                c.is_ascii_digit()
                            }
                        })
                });
                if !ok {
                    return Err(AppError::bad_request(
                        "industries",
                        "行业应为国民经济行业分类代码（如 H、62、5211），以逗号分隔 \
                         (industries are GB/T 4754 codes such as H, 62, 5211, comma-separated)",
                    ));
                }
                Some(items.join(","))
            }
        };
        let reason = text("reason", &self.reason, 500, "理由")?;
        let legal_basis = text("legal_basis", &self.legal_basis, 500, "法律依据")?;
        let valid_from = date("valid_from", &self.valid_from)?.unwrap_or(today);
        let valid_until = date("valid_until", &self.valid_until)?;
        if valid_until.is_some_and(|u| u < valid_from) {
            return Err(AppError::bad_request(
                "valid_until",
                "失效日期不能早于生效日期 (valid_until is before valid_from)",
            ));
        }
        Ok(NewRule {
            kind,
            value,
            division,
            industries,
            reason,
            legal_basis,
            valid_from,
            valid_until,
        })
    }
}

fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

fn json(r: &Rule) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(r).map_err(|e| AppError::Internal(e.into()))
}

async fn get_in(tx: &mut Tx, id: i64) -> Result<Rule, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM address_rules WHERE id = $1");
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *c)
        .await?))
}

/// Adds a rule within the officer's jurisdiction, audited.
pub async fn add(tx: &mut Tx, actor: &Actor, scope: &Scope, r: &NewRule) -> Result<Rule, AppError> {
    if !scope.covers(&r.division) {
        return Err(AppError::bad_request(
            "division",
            "规则的适用区划须在您的辖区内（全国性规则须由全国辖区的人员添加）\
             (the rule's division must be within your jurisdiction)",
        ));
    }
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO address_rules (kind, value, division, industries, reason, legal_basis, \
         valid_from, valid_until, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(r.kind.as_str())
    .bind(&r.value)
    .bind(&r.division)
    .bind(&r.industries)
    .bind(&r.reason)
    .bind(&r.legal_basis)
    .bind(r.valid_from)
    .bind(r.valid_until)
    .bind(now())
    .bind(&actor.name)
    .fetch_one(&mut *c)
    .await?);
    let rule = get_in(tx, id).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "address.rule.add",
            target_kind: "address_rule",
            target_id: id.to_string(),
            division: Some(rule.division.clone()),
            before: None,
            after: Some(json(&rule)?),
        },
    )
    .await?;
    Ok(rule)
}

/// Ends a rule now (it stays listed, ended), audited; 404 outside the scope, 409 when it has
/// already ended.
pub async fn end(tx: &mut Tx, actor: &Actor, scope: &Scope, id: i64) -> Result<Rule, AppError> {
    let before = get_in(tx, id).await?;
    if !scope.covers(&before.division) {
        return Err(AppError::NotFound);
    }
    if before.ended_at.is_some() {
        return Err(AppError::Conflict(
            "该规则已终止 (this rule has already ended)".into(),
        ));
    }
    on_tx!(tx, c => sqlx::query("UPDATE address_rules SET ended_at = $1, ended_by = $2 WHERE id = $3")
        .bind(now())
        .bind(&actor.name)
        .bind(id)
        .execute(&mut *c)
        .await?.rows_affected());
    let after = get_in(tx, id).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "address.rule.end",
            target_kind: "address_rule",
            target_id: id.to_string(),
            division: Some(after.division.clone()),
            before: Some(json(&before)?),
            after: Some(json(&after)?),
        },
    )
    .await?;
    Ok(after)
}

/// The rules an officer sees: those applying within the jurisdiction or above it (a national
/// rule applies everywhere), newest first.
pub async fn list(db: &Db, scope: &Scope) -> Result<Vec<Rule>, AppError> {
    let all = all_rules(db).await?;
    Ok(all
        .into_iter()
        .filter(|r| {
            scope.covers(&r.division)
                || scope
                    .as_prefix()
                    .is_some_and(|p| p.starts_with(&r.division))
        })
        .collect())
}

async fn all_rules(db: &Db) -> Result<Vec<Rule>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM address_rules ORDER BY id DESC");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(c)
        .await?))
}

/// The rules in force on `day`.
pub async fn active(db: &Db, day: NaiveDate) -> Result<Vec<Rule>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM address_rules WHERE ended_at IS NULL AND valid_from <= $1 \
         AND (valid_until IS NULL OR valid_until >= $1) ORDER BY id"
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(day)
        .fetch_all(c)
        .await?))
}

/// What the check knows beside the parsed address.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// The address type: the library entry's, else the one declared with the check.
    pub address_type: Option<&'a str>,
    /// The applicant's industry (GB/T 4754 code), for industry-limited rules.
    pub industry: Option<&'a str>,
}

/// The rules of `rules` the address hits.
pub fn hits(rules: &[Rule], p: &ParsedAddress, ctx: &Context<'_>) -> Vec<Rule> {
    let codes: Vec<&str> = [
        p.town_code.as_deref(),
        p.county_code.as_deref(),
        p.city_code.as_deref(),
        p.province_code.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let deepest = codes.first().copied();
    let compact: String = p.input.chars().filter(|c| !c.is_whitespace()).collect();
    let place = crate::library::building_of(p);
    rules
        .iter()
        .filter(|r| {
            let in_division = r.division.is_empty()
                || deepest.is_some_and(|d| d.starts_with(r.division.as_str()));
            let industry_ok = match r.industries.as_deref() {
                None => true,
                Some(list) => ctx
                    .industry
                    .is_some_and(|i| list.split(',').any(|x| i.starts_with(x))),
            };
            let v = r.value.as_str();
            let matches = match r.kind.as_str() {
                "division" => true,
                "road" => p.road.as_deref() == Some(v),
                "building" => {
                    p.poi.as_deref() == Some(v)
                        || p.building.as_deref() == Some(v)
                        || place.as_deref().is_some_and(|b| b.contains(v))
                }
                "pattern" => {
                    compact.contains(v) || p.normalized.as_deref().is_some_and(|n| n.contains(v))
                }
                "type" => ctx.address_type == Some(v),
                _ => false,
            };
            in_division && industry_ok && matches
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn rule(kind: &str, value: &str, division: &str) -> Rule {
        Rule {
            id: 1,
            kind: kind.into(),
            value: value.into(),
            division: division.into(),
            industries: None,
            reason: "r".into(),
            legal_basis: "b".into(),
            valid_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            valid_until: None,
            created_at: Utc::now(),
            created_by: "x".into(),
            ended_at: None,
            ended_by: None,
        }
    }

    #[test]
    fn each_kind_hits_what_it_names() {
        let p = parse("历下区泉城路180号齐鲁国际大厦10楼", None);
        let ctx = Context::default();
        for (r, hit) in [
            (rule("division", "370102", "370102"), true),
            (rule("division", "370103", "370103"), false),
            (rule("road", "泉城路", "3701"), true),
            (rule("road", "泉城路", "3702"), false),
            (rule("building", "齐鲁国际大厦", ""), true),
            (rule("pattern", "泉城路180", ""), true),
            (rule("pattern", "经十路", ""), false),
            (rule("type", "军事管理区", ""), false),
        ] {
            assert_eq!(
                !hits(std::slice::from_ref(&r), &p, &ctx).is_empty(),
                hit,
                "{r:?}"
            );
        }
        let typed = Context {
            address_type: Some("住宅"),
            industry: Some("H6210"),
        };
        let mut r = rule("type", "住宅", "");
        r.industries = Some("H,I".into());
        assert_eq!(hits(std::slice::from_ref(&r), &p, &typed).len(), 1);
        r.industries = Some("C".into());
        assert!(hits(&[r], &p, &typed).is_empty());
    }

    #[test]
    fn input_is_checked_field_by_field() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let ok = RuleInput {
            kind: "road".into(),
            value: "泉城路".into(),
            division: "3701".into(),
            reason: "拆迁".into(),
            legal_basis: "《市场主体登记管理条例》第十一条".into(),
            ..RuleInput::default()
        };
        let r = ok.validate(today).unwrap();
        assert_eq!(r.valid_from, today);
        for (bad, field) in [
            (
                RuleInput {
                    kind: "x".into(),
                    ..ok.clone()
                },
                "kind",
            ),
            (
                RuleInput {
                    value: " ".into(),
                    ..ok.clone()
                },
                "value",
            ),
            (
                RuleInput {
                    division: "99x".into(),
                    ..ok.clone()
                },
                "division",
            ),
            (
                RuleInput {
                    reason: "".into(),
                    ..ok.clone()
                },
                "reason",
            ),
            (
                RuleInput {
                    legal_basis: "".into(),
                    ..ok.clone()
                },
                "legal_basis",
            ),
            (
                RuleInput {
                    valid_from: "2026-13-01".into(),
                    ..ok.clone()
                },
                "valid_from",
            ),
            (
                RuleInput {
                    valid_from: "2026-02-01".into(),
                    valid_until: "2026-01-01".into(),
                    ..ok.clone()
                },
                "valid_until",
            ),
            (
                RuleInput {
                    industries: "餐饮".into(),
                    ..ok.clone()
                },
                "industries",
            ),
        ] {
            match bad.validate(today) {
                Err(AppError::BadRequest { field: f, message }) => {
                    assert_eq!(f, field);
                    assert!(!message.is_ascii(), "Chinese first: {message}");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
