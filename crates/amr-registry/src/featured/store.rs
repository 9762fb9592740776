//! The SQL of 名特优新, on both backends.
//!
//! Jurisdiction: every officer read and write is filtered by the business's `division`
//! ([`Scope::division_filter`]); a classification or business outside it is
//! [`AppError::NotFound`], as if it did not exist.
//!
//! Events: `registry.featured.proposed` and `.rejected` are internal; `.confirmed` and
//! `.revoked` are public (they change what the public entity page shows), as is
//! `registry.featured.support_recorded` without its note. Each write has its audit entry.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::model::{
    BusinessFacts, CheckResult, Criteria, Evidence, FeaturedType, Proposal, check, refusal,
};
use crate::model::Entity;
use crate::store::{COLUMNS as ENTITY_COLUMNS, EntityRow};

// ----- criteria ---------------------------------------------------------------------------

/// The criteria text in force and who set it (`None`: the shipped defaults).
#[derive(Debug, Clone, Serialize)]
pub struct CriteriaText {
    pub toml: String,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

/// The criteria text in force.
pub async fn criteria_text(db: &Db) -> Result<CriteriaText, AppError> {
    let row: Option<(String, DateTime<Utc>, String)> = on_conn!(db, c => sqlx::query_as(
        "SELECT toml, updated_at, updated_by FROM featured_criteria WHERE id = 1",
    )
    .fetch_optional(c)
    .await?);
    Ok(match row {
        Some((toml, at, by)) => CriteriaText {
            toml,
            updated_at: Some(at),
            updated_by: Some(by),
        },
        None => CriteriaText {
            toml: super::DEFAULT_CRITERIA.to_string(),
            updated_at: None,
            updated_by: None,
        },
    })
}

/// The criteria in force.
pub async fn criteria(db: &Db) -> Result<Criteria, AppError> {
    Criteria::parse(&criteria_text(db).await?.toml)
}

/// Replaces the criteria (administrators; the caller checks the role). The text is parsed
/// first: a bad one changes nothing. Audited (`featured.criteria.set`, before and after).
pub async fn set_criteria(tx: &mut Tx, actor: &Actor, text: &str) -> Result<(), AppError> {
    if text.len() > 64 * 1024 {
        return Err(AppError::bad_request(
            "criteria",
            "认定条件不超过 64 KB (at most 64 KB)",
        ));
    }
    Criteria::parse(text)?;
    let before: Option<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT toml FROM featured_criteria WHERE id = 1",
    )
    .fetch_optional(&mut *c)
    .await?);
    let now = crate::store::now();
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO featured_criteria (id, toml, updated_at, updated_by) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET toml = excluded.toml, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by",
    )
    .bind(text)
    .bind(now)
    .bind(&actor.name)
    .execute(&mut *c)
    .await?
    .rows_affected());
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "featured.criteria.set",
            target_kind: "featured_criteria",
            target_id: "1".into(),
            division: None,
            before: Some(json!(
                before.unwrap_or_else(|| super::DEFAULT_CRITERIA.into())
            )),
            after: Some(json!(text)),
        },
    )
    .await?;
    events::append(
        tx,
        NewEvent::internal("registry.featured.criteria_set", json!({})).actor(actor.label()),
    )
    .await?;
    Ok(())
}

// ----- classifications --------------------------------------------------------------------

/// A classification as officers see it (with the business's name).
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub id: i64,
    pub uscc: String,
    pub name: String,
    pub division: String,
    pub featured_type: FeaturedType,
    pub type_name: &'static str,
    /// `proposed`, `confirmed`, `rejected` or `revoked`.
    pub status: String,
    pub reasons: String,
    pub evidence: Vec<Evidence>,
    pub complaints_12m: Option<i64>,
    pub checks: Vec<CheckResult>,
    /// The proposer's actor label (`account:12`).
    pub proposed_by: String,
    pub proposed_by_name: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    pub revoked_by_name: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoke_reason: Option<String>,
}

const CLASS_COLUMNS: &str = "c.id, c.uscc, e.name, c.division, c.featured_type, c.status, \
     c.reasons, c.evidence, c.complaints_12m, c.checks, c.proposed_by, c.proposed_by_name, \
     c.proposed_at, c.decided_by_name, c.decided_at, c.decision_note, c.revoked_by_name, \
     c.revoked_at, c.revoke_reason";

#[derive(sqlx::FromRow)]
struct ClassRow {
    id: i64,
    uscc: String,
    name: String,
    division: String,
    featured_type: String,
    status: String,
    reasons: String,
    evidence: String,
    complaints_12m: Option<i64>,
    checks: String,
    proposed_by: String,
    proposed_by_name: String,
    proposed_at: DateTime<Utc>,
    decided_by_name: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    decision_note: Option<String>,
    revoked_by_name: Option<String>,
    revoked_at: Option<DateTime<Utc>>,
    revoke_reason: Option<String>,
}

impl TryFrom<ClassRow> for Classification {
    type Error = AppError;
    fn try_from(r: ClassRow) -> Result<Classification, AppError> {
        let internal = |m: String| AppError::Internal(anyhow::anyhow!(m));
        let t = FeaturedType::parse(&r.featured_type)
            .ok_or_else(|| internal(format!("featured {}: type {:?}", r.id, r.featured_type)))?;
        Ok(Classification {
            id: r.id,
            evidence: serde_json::from_str(&r.evidence)
                .map_err(|e| internal(format!("featured {}: evidence: {e}", r.id)))?,
            checks: serde_json::from_str(&r.checks)
                .map_err(|e| internal(format!("featured {}: checks: {e}", r.id)))?,
            uscc: r.uscc,
            name: r.name,
            division: r.division,
            featured_type: t,
            type_name: t.name_zh(),
            status: r.status,
            reasons: r.reasons,
            complaints_12m: r.complaints_12m,
            proposed_by: r.proposed_by,
            proposed_by_name: r.proposed_by_name,
            proposed_at: r.proposed_at,
            decided_by_name: r.decided_by_name,
            decided_at: r.decided_at,
            decision_note: r.decision_note,
            revoked_by_name: r.revoked_by_name,
            revoked_at: r.revoked_at,
            revoke_reason: r.revoke_reason,
        })
    }
}

fn lock(tx: &Tx) -> &'static str {
    match tx.inner {
        TxInner::Postgres(_) => " FOR UPDATE",
        TxInner::Sqlite(_) => "",
    }
}

/// The business within the jurisdiction, read in the transaction.
async fn entity_in_tx(tx: &mut Tx, scope: &Scope, uscc: &str) -> Result<Entity, AppError> {
    let sql = format!(
        "SELECT {ENTITY_COLUMNS} FROM entities WHERE uscc = $1 AND {}",
        scope.division_filter("division", 2)
    );
    let row: Option<EntityRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc.trim().to_ascii_uppercase())
        .bind(scope.like_pattern())
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

async fn class_in_tx(tx: &mut Tx, scope: &Scope, id: i64) -> Result<Classification, AppError> {
    let sql = format!(
        "SELECT {CLASS_COLUMNS} FROM featured_classifications c JOIN entities e ON e.uscc = c.uscc \
         WHERE c.id = $1 AND {}{}",
        scope.division_filter("c.division", 2),
        lock(tx)
    );
    let row: Option<ClassRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

fn facts(e: &Entity) -> BusinessFacts {
    BusinessFacts {
        entity_type: e.entity_type,
        status: e.status,
        established: e.established,
        industry: e.industry.clone(),
    }
}

/// What a proposal form or request holds, as text.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ProposalInput {
    pub uscc: String,
    pub featured_type: String,
    pub reasons: String,
    pub evidence: Vec<Evidence>,
    pub complaints_12m: String,
}

impl ProposalInput {
    /// Parses the input against the evidence kinds of `criteria`.
    pub fn parse(&self, criteria: &Criteria) -> Result<Proposal, AppError> {
        let featured_type = FeaturedType::parse(&self.featured_type).ok_or_else(|| {
            AppError::bad_request(
                "featured_type",
                "类型应为 名(famous)、特(distinctive)、优(quality) 或 新(new)",
            )
        })?;
        let reasons = self.reasons.trim().to_string();
        let n = reasons.chars().count();
        if !(4..=2000).contains(&n)
            || reasons
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r')
        {
            return Err(AppError::bad_request(
                "reasons",
                "请写明认定理由（4–2000 字）(give the reasons, 4 to 2,000 characters)",
            ));
        }
        let mut evidence = Vec::new();
        for e in &self.evidence {
            let text = e.text.trim();
            let kind = e.kind.trim();
            if kind.is_empty() && text.is_empty() {
                continue;
            }
            if !criteria.evidence.contains_key(kind) {
                return Err(AppError::bad_request(
                    "evidence",
                    format!("未知的证明材料种类 {kind:?} (unknown evidence kind)"),
                ));
            }
            if text.is_empty() || text.chars().count() > 500 {
                return Err(AppError::bad_request(
                    "evidence",
                    "每项证明材料须写明内容（不超过 500 字）(describe each piece of evidence, at most 500 characters)",
                ));
            }
            evidence.push(Evidence {
                kind: kind.to_string(),
                text: text.to_string(),
            });
        }
        if evidence.len() > 20 {
            return Err(AppError::bad_request(
                "evidence",
                "证明材料不超过 20 项 (at most 20 pieces of evidence)",
            ));
        }
        let complaints_12m = match self.complaints_12m.trim() {
            "" => None,
            s => Some(
                s.parse::<i64>()
                    .ok()
                    .filter(|n| (0..=100_000).contains(n))
                    .ok_or_else(|| {
                        AppError::bad_request(
                            "complaints_12m",
                            "投诉举报件数应为非负整数 (the complaint count is a whole number, 0 or more)",
                        )
                    })?,
            ),
        };
        Ok(Proposal {
            featured_type,
            reasons,
            evidence,
            complaints_12m,
        })
    }
}

/// Proposes a classification of a business within the jurisdiction. The business must meet
/// the criteria of the type on `today` (every failed criterion is named); a business that
/// already holds, or has a proposal for, the type is [`AppError::Conflict`]. Writes the row
/// (`proposed`, with the check's results), the internal event `registry.featured.proposed`
/// and the audit entry `featured.propose`.
pub async fn propose(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    criteria: &Criteria,
    input: &ProposalInput,
    today: NaiveDate,
) -> Result<Classification, AppError> {
    let p = input.parse(criteria)?;
    let entity = entity_in_tx(tx, scope, &input.uscc).await?;
    let results = check(criteria, &facts(&entity), &p, today);
    refusal(&results)?;
    let open: Option<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT status FROM featured_classifications WHERE uscc = $1 AND featured_type = $2 \
         AND status IN ('proposed', 'confirmed')",
    )
    .bind(&entity.uscc)
    .bind(p.featured_type.as_str())
    .fetch_optional(&mut *c)
    .await?);
    if let Some(s) = open {
        return Err(AppError::Conflict(format!(
            "该个体工商户已有“{}”类{} (the business already has this type {s})",
            p.featured_type.name_zh(),
            if s == "confirmed" {
                "认定"
            } else {
                "待审核的申报"
            }
        )));
    }
    let now = crate::store::now();
    let evidence = serde_json::to_string(&p.evidence).map_err(|e| AppError::Internal(e.into()))?;
    let checks = serde_json::to_string(&results).map_err(|e| AppError::Internal(e.into()))?;
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO featured_classifications (uscc, division, featured_type, status, reasons, \
         evidence, complaints_12m, checks, proposed_by, proposed_by_name, proposed_at) \
         VALUES ($1, $2, $3, 'proposed', $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&entity.uscc)
    .bind(&entity.division)
    .bind(p.featured_type.as_str())
    .bind(&p.reasons)
    .bind(&evidence)
    .bind(p.complaints_12m)
    .bind(&checks)
    .bind(actor.label())
    .bind(&actor.name)
    .bind(now)
    .fetch_one(&mut *c)
    .await?);
    events::append(
        tx,
        NewEvent::internal(
            "registry.featured.proposed",
            json!({"id": id, "uscc": entity.uscc, "featured_type": p.featured_type}),
        )
        .uscc(&entity.uscc)
        .division(&entity.division)
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "featured.propose",
            target_kind: "featured_classification",
            target_id: id.to_string(),
            division: Some(entity.division.clone()),
            before: None,
            after: Some(json!({
                "uscc": entity.uscc,
                "featured_type": p.featured_type,
                "reasons": p.reasons,
                "evidence": p.evidence,
                "complaints_12m": p.complaints_12m,
            })),
        },
    )
    .await?;
    class_in_tx(tx, scope, id).await
}

/// Confirms (`confirm`) or rejects a proposal. Only another officer may decide: the proposer
/// is refused ([`AppError::Forbidden`]). A confirmation checks the business again (still an
/// active individual business that meets the criteria on `today`); a rejection needs a note.
/// Writes the event (`registry.featured.confirmed`, public; `registry.featured.rejected`,
/// internal) and the audit entry.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    criteria: &Criteria,
    id: i64,
    confirm: bool,
    note: &str,
    today: NaiveDate,
) -> Result<Classification, AppError> {
    let c = class_in_tx(tx, scope, id).await?;
    if c.proposed_by == actor.label() {
        return Err(AppError::Forbidden(
            "不能审核本人提出的认定，须由其他人员或上级审核 \
             (you cannot decide on your own proposal; another officer or a higher level does)"
                .into(),
        ));
    }
    if c.status != "proposed" {
        return Err(AppError::rejected(format!(
            "该认定当前状态为 {}，不能再审核 (the classification is {}, not awaiting a decision)",
            c.status, c.status
        )));
    }
    let note = note.trim();
    if note.chars().count() > 1000 {
        return Err(AppError::bad_request(
            "note",
            "审核意见不超过 1000 字 (at most 1,000 characters)",
        ));
    }
    if !confirm && note.is_empty() {
        return Err(AppError::bad_request(
            "note",
            "不予认定须写明理由 (a rejection needs its reason)",
        ));
    }
    let mut checks = c.checks.clone();
    if confirm {
        let entity = entity_in_tx(tx, scope, &c.uscc).await?;
        let p = Proposal {
            featured_type: c.featured_type,
            reasons: c.reasons.clone(),
            evidence: c.evidence.clone(),
            complaints_12m: c.complaints_12m,
        };
        checks = check(criteria, &facts(&entity), &p, today);
        refusal(&checks)?;
    }
    let status = if confirm { "confirmed" } else { "rejected" };
    let now = crate::store::now();
    let checks_text = serde_json::to_string(&checks).map_err(|e| AppError::Internal(e.into()))?;
    on_tx!(tx, x => sqlx::query(
        "UPDATE featured_classifications SET status = $2, decided_by = $3, decided_by_name = $4, \
         decided_at = $5, decision_note = $6, checks = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(actor.label())
    .bind(&actor.name)
    .bind(now)
    .bind(note)
    .bind(&checks_text)
    .execute(&mut *x)
    .await?
    .rows_affected());
    let payload = json!({"uscc": c.uscc, "featured_type": c.featured_type, "id": id});
    let event = if confirm {
        NewEvent::public("registry.featured.confirmed", payload)
    } else {
        NewEvent::internal("registry.featured.rejected", payload)
    };
    events::append(
        tx,
        event
            .uscc(&c.uscc)
            .division(&c.division)
            .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: if confirm {
                "featured.confirm"
            } else {
                "featured.reject"
            },
            target_kind: "featured_classification",
            target_id: id.to_string(),
            division: Some(c.division.clone()),
            before: Some(json!({"status": "proposed"})),
            after: Some(json!({"status": status, "note": note})),
        },
    )
    .await?;
    class_in_tx(tx, scope, id).await
}

/// Revokes a confirmed classification with a reason; public event
/// `registry.featured.revoked`, audit entry `featured.revoke`.
pub async fn revoke(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    reason: &str,
) -> Result<Classification, AppError> {
    let c = class_in_tx(tx, scope, id).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(AppError::bad_request(
            "reason",
            "请写明撤销理由（不超过 1000 字）(give the reason for revoking, at most 1,000 characters)",
        ));
    }
    if c.status != "confirmed" {
        return Err(AppError::rejected(format!(
            "只能撤销已认定的类型（当前 {}）(only a confirmed classification can be revoked; it is {})",
            c.status, c.status
        )));
    }
    let now = crate::store::now();
    on_tx!(tx, x => sqlx::query(
        "UPDATE featured_classifications SET status = 'revoked', revoked_by_name = $2, \
         revoked_at = $3, revoke_reason = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(&actor.name)
    .bind(now)
    .bind(reason)
    .execute(&mut *x)
    .await?
    .rows_affected());
    events::append(
        tx,
        NewEvent::public(
            "registry.featured.revoked",
            json!({"uscc": c.uscc, "featured_type": c.featured_type, "id": id}),
        )
        .uscc(&c.uscc)
        .division(&c.division)
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "featured.revoke",
            target_kind: "featured_classification",
            target_id: id.to_string(),
            division: Some(c.division.clone()),
            before: Some(json!({"status": "confirmed"})),
            after: Some(json!({"status": "revoked", "reason": reason})),
        },
    )
    .await?;
    class_in_tx(tx, scope, id).await
}

/// A classification within the jurisdiction.
pub async fn get(db: &Db, scope: &Scope, id: i64) -> Result<Classification, AppError> {
    let sql = format!(
        "SELECT {CLASS_COLUMNS} FROM featured_classifications c JOIN entities e ON e.uscc = c.uscc \
         WHERE c.id = $1 AND {}",
        scope.division_filter("c.division", 2)
    );
    let row: Option<ClassRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

/// Filters of the officer list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub featured_type: Option<FeaturedType>,
    pub status: Option<String>,
    /// A division-code prefix (e.g. a city).
    pub division_prefix: Option<String>,
    pub uscc: Option<String>,
}

/// Rows of the officer list.
pub const LIST_LIMIT: i64 = 500;

/// The classifications within the jurisdiction, newest first (at most [`LIST_LIMIT`]).
pub async fn list(db: &Db, scope: &Scope, f: &ListFilter) -> Result<Vec<Classification>, AppError> {
    let mut conds = vec![scope.division_filter("c.division", 1)];
    let mut binds = vec![scope.like_pattern()];
    let add = |conds: &mut Vec<String>, binds: &mut Vec<String>, sql: &str, v: String| {
        binds.push(v);
        conds.push(sql.replace('?', &format!("${}", binds.len())));
    };
    if let Some(t) = f.featured_type {
        add(
            &mut conds,
            &mut binds,
            "c.featured_type = ?",
            t.as_str().into(),
        );
    }
    if let Some(s) = &f.status {
        add(&mut conds, &mut binds, "c.status = ?", s.clone());
    }
    if let Some(p) = &f.division_prefix {
        add(&mut conds, &mut binds, "c.division LIKE ?", format!("{p}%"));
    }
    if let Some(u) = &f.uscc {
        add(&mut conds, &mut binds, "c.uscc = ?", u.clone());
    }
    let sql = format!(
        "SELECT {CLASS_COLUMNS} FROM featured_classifications c JOIN entities e ON e.uscc = c.uscc \
         WHERE {} ORDER BY c.id DESC LIMIT {LIST_LIMIT}",
        conds.join(" AND ")
    );
    let rows: Vec<ClassRow> = on_conn!(db, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b.as_str());
        }
        q.fetch_all(c).await?
    });
    rows.into_iter().map(Classification::try_from).collect()
}

/// The confirmed types of a business, for the public record.
pub async fn public_types(db: &Db, uscc: &str) -> Result<Vec<FeaturedType>, AppError> {
    let rows: Vec<String> = on_conn!(db, c => sqlx::query_scalar(
        "SELECT featured_type FROM featured_classifications WHERE uscc = $1 AND status = 'confirmed'",
    )
    .bind(uscc.trim().to_ascii_uppercase())
    .fetch_all(c)
    .await?);
    let mut out: Vec<FeaturedType> = rows.iter().filter_map(|t| FeaturedType::parse(t)).collect();
    out.sort();
    Ok(out)
}

/// One business of the public list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PublicFeatured {
    pub uscc: String,
    pub name: String,
    pub division: String,
    pub featured_type: String,
    pub confirmed_at: DateTime<Utc>,
}

/// Confirmed businesses of a type and area (a division prefix; empty: everywhere), newest
/// first, at most `limit`.
pub async fn public_list(
    db: &Db,
    featured_type: Option<FeaturedType>,
    area: &str,
    limit: i64,
) -> Result<Vec<PublicFeatured>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT c.uscc, e.name, c.division, c.featured_type, c.decided_at AS confirmed_at \
         FROM featured_classifications c JOIN entities e ON e.uscc = c.uscc \
         WHERE c.status = 'confirmed' AND ($1 = '' OR c.featured_type = $1) AND c.division LIKE $2 \
         ORDER BY c.decided_at DESC, c.id DESC LIMIT $3",
    )
    .bind(featured_type.map(|t| t.as_str()).unwrap_or(""))
    .bind(format!("{area}%"))
    .bind(limit)
    .fetch_all(c)
    .await?))
}

/// Confirmed classifications by city and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StatRow {
    pub city: String,
    pub featured_type: String,
    pub count: i64,
}

/// Counts of confirmed classifications by city (4-digit prefix) and type, within `scope`.
pub async fn stats(db: &Db, scope: &Scope) -> Result<Vec<StatRow>, AppError> {
    let sql = format!(
        "SELECT substr(division, 1, 4) AS city, featured_type, COUNT(*) AS count \
         FROM featured_classifications WHERE status = 'confirmed' AND {} \
         GROUP BY substr(division, 1, 4), featured_type ORDER BY city, featured_type",
        scope.division_filter("division", 1)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .fetch_all(c)
        .await?))
}

// ----- support measures -------------------------------------------------------------------

/// The kinds of support measure.
pub const SUPPORT_KINDS: &[(&str, &str)] = &[
    ("finance", "融资信贷支持"),
    ("subsidy", "资金补贴或者奖励"),
    ("tax_fee", "税费减免"),
    ("rent", "场地租金减免"),
    ("training", "培训指导"),
    ("brand", "品牌培育和宣传推介"),
    ("ip", "商标、专利等知识产权服务"),
    ("digital", "数字化转型支持"),
    ("other", "其他"),
];

/// A support measure as a form gives it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SupportInput {
    pub kind: String,
    pub date: String,
    /// Yuan, up to two decimals; empty when the measure has no amount.
    pub amount: String,
    pub note: String,
}

/// A recorded support measure.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Support {
    pub id: i64,
    pub uscc: String,
    pub kind: String,
    pub support_date: NaiveDate,
    pub amount_fen: Option<i64>,
    pub note: String,
    pub recorded_by_name: String,
    pub recorded_at: DateTime<Utc>,
}

/// Yuan text (`12345`, `12,345.6`, `0.05`) → fen.
pub fn parse_yuan(s: &str) -> Option<i64> {
    let s: String = s
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .collect();
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if int.is_empty() || int.len() > 12 || frac.len() > 2 {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_fen = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    Some(int.parse::<i64>().ok()? * 100 + frac_fen)
}

/// Records a support measure for a business within the jurisdiction that holds at least one
/// confirmed type. The date may not be in the future (`today`). Audited
/// (`featured.support.record`); the public event `registry.featured.support_recorded`
/// carries the kind, date and amount, not the note.
pub async fn add_support(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    input: &SupportInput,
    today: NaiveDate,
) -> Result<Support, AppError> {
    let kind = input.kind.trim();
    if !SUPPORT_KINDS.iter().any(|(k, _)| *k == kind) {
        return Err(AppError::bad_request(
            "kind",
            "未知的扶持措施种类 (unknown kind of support measure)",
        ));
    }
    let date = NaiveDate::parse_from_str(input.date.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| *d <= today && d.year() >= 2000)
        .ok_or_else(|| {
            AppError::bad_request(
                "date",
                "日期应为 YYYY-MM-DD，且不晚于今天 (the date is YYYY-MM-DD, not in the future)",
            )
        })?;
    let amount_fen = match input.amount.trim() {
        "" => None,
        a => Some(parse_yuan(a).ok_or_else(|| {
            AppError::bad_request(
                "amount",
                "金额应为元，最多两位小数 (the amount is in yuan, at most two decimals)",
            )
        })?),
    };
    let note = input.note.trim();
    if note.chars().count() > 1000 {
        return Err(AppError::bad_request(
            "note",
            "说明不超过 1000 字 (at most 1,000 characters)",
        ));
    }
    let entity = entity_in_tx(tx, scope, uscc).await?;
    let confirmed: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM featured_classifications WHERE uscc = $1 AND status = 'confirmed'",
    )
    .bind(&entity.uscc)
    .fetch_one(&mut *c)
    .await?);
    if confirmed == 0 {
        return Err(AppError::rejected(
            "该个体工商户没有已认定的名特优新类型，不能登记扶持措施 \
             (the business holds no confirmed type; support is recorded for classified businesses)",
        ));
    }
    let now = crate::store::now();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO featured_support (uscc, division, kind, support_date, amount_fen, note, \
         recorded_by_name, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&entity.uscc)
    .bind(&entity.division)
    .bind(kind)
    .bind(date)
    .bind(amount_fen)
    .bind(note)
    .bind(&actor.name)
    .bind(now)
    .fetch_one(&mut *c)
    .await?);
    let summary =
        json!({"uscc": entity.uscc, "kind": kind, "date": date, "amount_fen": amount_fen});
    events::append(
        tx,
        NewEvent::public("registry.featured.support_recorded", summary.clone())
            .uscc(&entity.uscc)
            .division(&entity.division)
            .actor(actor.label()),
    )
    .await?;
    let mut after: Value = summary;
    after["note"] = json!(note);
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "featured.support.record",
            target_kind: "featured_support",
            target_id: id.to_string(),
            division: Some(entity.division.clone()),
            before: None,
            after: Some(after),
        },
    )
    .await?;
    Ok(Support {
        id,
        uscc: entity.uscc,
        kind: kind.to_string(),
        support_date: date,
        amount_fen,
        note: note.to_string(),
        recorded_by_name: actor.name.clone(),
        recorded_at: now,
    })
}

/// The support measures of a business within the jurisdiction, newest first.
pub async fn support_of(db: &Db, scope: &Scope, uscc: &str) -> Result<Vec<Support>, AppError> {
    let sql = format!(
        "SELECT id, uscc, kind, support_date, amount_fen, note, recorded_by_name, recorded_at \
         FROM featured_support WHERE uscc = $1 AND {} ORDER BY support_date DESC, id DESC",
        scope.division_filter("division", 2)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc.trim().to_ascii_uppercase())
        .bind(scope.like_pattern())
        .fetch_all(c)
        .await?))
}

#[cfg(test)]
mod tests {
    use super::parse_yuan;

    #[test]
    fn yuan() {
        assert_eq!(parse_yuan("12345"), Some(1_234_500));
        assert_eq!(parse_yuan("12,345.6"), Some(1_234_560));
        assert_eq!(parse_yuan("0.05"), Some(5));
        assert_eq!(parse_yuan("-1"), None);
        assert_eq!(parse_yuan("1.234"), None);
        assert_eq!(parse_yuan("abc"), None);
    }
}
