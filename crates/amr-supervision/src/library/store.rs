//! The SQL of 一单两库, on both backends.
//!
//! Every change runs in the caller's [`Tx`] with its audit entry and an internal event
//! (`supervision.library.*`). Jurisdiction:
//! - the item list (departments, domains, items) is the province's: only an officer whose
//!   jurisdiction is a whole province (or the country) changes it;
//! - inspectors and their conflicts are kept by officers whose jurisdiction covers the
//!   inspector's; officers read the inspectors whose jurisdiction overlaps their own (those
//!   within it and those above it who may be sent into it);
//! - target tags go by the entity's division: outside the officer's jurisdiction the entity
//!   is [`AppError::NotFound`].

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::model::{
    Conflict, Department, DepartmentInput, Domain, FieldError, InspectorRecord, Item, NewInspector,
    NewItem, TargetTag, parse_tag, to_app,
};
use crate::draw::model::{Inspector, ItemRef};
use crate::targets::EntityFacts;

/// Now, at the precision both backends keep.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

type DepartmentTuple = (String, String, String, DateTime<Utc>, DateTime<Utc>);
type TagTuple = (String, String, String, String, String, DateTime<Utc>);
type ConflictTuple = (String, String, String, DateTime<Utc>);

/// The half-open range of division codes starting with `prefix`.
fn range_of(prefix: &str) -> (String, String) {
    (prefix.to_string(), format!("{prefix}~"))
}

#[allow(clippy::too_many_arguments)]
async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    kind: &str,
    target_kind: &str,
    target_id: &str,
    division: Option<&str>,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), AppError> {
    let mut ev = NewEvent::internal(
        kind,
        json!({"id": target_id, "before": before, "after": after}),
    )
    .actor(actor.label());
    if let Some(d) = division {
        ev = ev.division(d);
    }
    events::append(tx, ev).await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action,
            target_kind,
            target_id: target_id.to_string(),
            division: division.map(str::to_string),
            before,
            after,
        },
    )
    .await?;
    Ok(())
}

/// The item list is the province's: refuses an officer below province level.
pub fn require_provincial(scope: &Scope) -> Result<(), AppError> {
    match scope.as_prefix() {
        Some(p) if p.len() <= 2 => Ok(()),
        _ => Err(AppError::Forbidden(
            "抽查事项清单由省级部门维护 (the item list is kept at province level)".into(),
        )),
    }
}

fn outside(j: &str) -> AppError {
    AppError::Forbidden(format!(
        "管辖区域 {j} 不在您的辖区内 (the jurisdiction {j} is outside yours)"
    ))
}

// ----- reads ------------------------------------------------------------------------------

/// Every department, by code.
pub async fn departments(db: &Db) -> Result<Vec<Department>, AppError> {
    let rows: Vec<DepartmentTuple> = on_conn!(db, c => sqlx::query_as(
        "SELECT code, name, name_en, created_at, updated_at FROM insp_departments ORDER BY code",
    )
    .fetch_all(c)
    .await?);
    Ok(rows
        .into_iter()
        .map(|(code, name, name_en, created_at, updated_at)| Department {
            code,
            name,
            name_en,
            created_at,
            updated_at,
        })
        .collect())
}

/// Every domain, by code.
pub async fn domains(db: &Db) -> Result<Vec<Domain>, AppError> {
    let rows: Vec<(String, String, String)> = on_conn!(db, c => sqlx::query_as(
        "SELECT code, department, name FROM insp_domains ORDER BY code",
    )
    .fetch_all(c)
    .await?);
    Ok(rows
        .into_iter()
        .map(|(code, department, name)| Domain {
            code,
            department,
            name,
        })
        .collect())
}

/// What an item list is filtered by (empty = any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    pub department: Option<String>,
    pub domain: Option<String>,
    /// `general` or `key`.
    pub list: Option<String>,
    /// Retired items too.
    pub include_retired: bool,
}

const ITEM_COLUMNS: &str = "code, department, domain, name, legal_basis, target_type, method, \
     list, population, frequency, active, updated_at";

#[derive(sqlx::FromRow)]
struct ItemRow {
    code: String,
    department: String,
    domain: String,
    name: String,
    legal_basis: String,
    target_type: String,
    method: String,
    list: String,
    population: String,
    frequency: String,
    active: bool,
    updated_at: DateTime<Utc>,
}

impl From<ItemRow> for Item {
    fn from(r: ItemRow) -> Item {
        Item {
            code: r.code,
            department: r.department,
            domain: r.domain,
            name: r.name,
            legal_basis: r.legal_basis,
            target_type: r.target_type,
            method: r.method,
            list: r.list,
            population: r.population,
            frequency: r.frequency,
            active: r.active,
            updated_at: r.updated_at,
        }
    }
}

/// Items by code, filtered.
pub async fn items(db: &Db, filter: &ItemFilter) -> Result<Vec<Item>, AppError> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM insp_items WHERE ($1 = '' OR department = $1) \
         AND ($2 = '' OR domain = $2) AND ($3 = '' OR list = $3) AND ($4 OR active = $5) \
         ORDER BY code"
    );
    let rows: Vec<ItemRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(filter.department.clone().unwrap_or_default())
        .bind(filter.domain.clone().unwrap_or_default())
        .bind(filter.list.clone().unwrap_or_default())
        .bind(filter.include_retired)
        .bind(true)
        .fetch_all(c)
        .await?);
    Ok(rows.into_iter().map(Item::from).collect())
}

/// One item, active or retired.
pub async fn item(db: &Db, code: &str) -> Result<Item, AppError> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM insp_items WHERE code = $1");
    let row: Option<ItemRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(code.trim().to_ascii_uppercase())
        .fetch_optional(c)
        .await?);
    Ok(row.ok_or(AppError::NotFound)?.into())
}

/// The active items as the draw needs them (code, department, domain), by code.
pub async fn items_for_draw(db: &Db) -> Result<Vec<ItemRef>, AppError> {
    let rows: Vec<(String, String, String)> = on_conn!(db, c => sqlx::query_as(
        "SELECT code, department, domain FROM insp_items WHERE active = $1 ORDER BY code",
    )
    .bind(true)
    .fetch_all(c)
    .await?);
    Ok(rows
        .into_iter()
        .map(|(code, department, domain)| ItemRef {
            code,
            department,
            domain,
        })
        .collect())
}

/// Counts of the library for the overview.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub departments: i64,
    pub domains: i64,
    pub items: i64,
    pub key_items: i64,
    pub retired_items: i64,
    pub inspectors: i64,
    pub inspector_jurisdictions: i64,
    pub expired_certificates: i64,
    pub conflicts: i64,
    pub tagged_entities: i64,
}

/// Counts of the library: the whole item list; inspectors, conflicts and tags within `scope`.
pub async fn counts(db: &Db, scope: &Scope, today: NaiveDate) -> Result<Counts, AppError> {
    let p = scope.as_prefix().unwrap_or("-").to_string();
    let (lo, hi) = range_of(&p);
    let row: (i64, i64, i64, i64, i64) = on_conn!(db, c => sqlx::query_as(
        "SELECT (SELECT count(*) FROM insp_departments), (SELECT count(*) FROM insp_domains), \
         (SELECT count(*) FROM insp_items WHERE active = $1), \
         (SELECT count(*) FROM insp_items WHERE active = $1 AND list = 'key'), \
         (SELECT count(*) FROM insp_items WHERE active <> $1)",
    )
    .bind(true)
    .fetch_one(c)
    .await?);
    let ins: (i64, i64, i64) = on_conn!(db, c => sqlx::query_as(
        "SELECT count(*), count(DISTINCT jurisdiction), \
         coalesce(sum(CASE WHEN certificate_expiry < $3 THEN 1 ELSE 0 END), 0) \
         FROM insp_inspectors WHERE active = $4 AND jurisdiction >= $1 AND jurisdiction < $2",
    )
    .bind(&lo)
    .bind(&hi)
    .bind(today)
    .bind(true)
    .fetch_one(c)
    .await?);
    let conflicts: i64 = on_conn!(db, c => sqlx::query_scalar(
        "SELECT count(*) FROM insp_conflicts k JOIN insp_inspectors i ON i.id = k.inspector_id \
         WHERE i.jurisdiction >= $1 AND i.jurisdiction < $2",
    )
    .bind(&lo)
    .bind(&hi)
    .fetch_one(c)
    .await?);
    let tagged: i64 = on_conn!(db, c => sqlx::query_scalar(
        "SELECT count(DISTINCT uscc) FROM target_tags WHERE division >= $1 AND division < $2",
    )
    .bind(&lo)
    .bind(&hi)
    .fetch_one(c)
    .await?);
    Ok(Counts {
        departments: row.0,
        domains: row.1,
        items: row.2,
        key_items: row.3,
        retired_items: row.4,
        inspectors: ins.0,
        inspector_jurisdictions: ins.1,
        expired_certificates: ins.2,
        conflicts,
        tagged_entities: tagged,
    })
}

/// Per department: its domains, active items, key items and active inspectors (in scope).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DepartmentSummary {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub domains: i64,
    pub items: i64,
    pub key_items: i64,
    pub inspectors: i64,
}

/// The departments with their counts.
pub async fn department_summaries(
    db: &Db,
    scope: &Scope,
) -> Result<Vec<DepartmentSummary>, AppError> {
    let (lo, hi) = range_of(scope.as_prefix().unwrap_or("-"));
    let rows: Vec<DepartmentSummary> = on_conn!(db, c => sqlx::query_as(
        "SELECT d.code, d.name, d.name_en, \
         (SELECT count(*) FROM insp_domains f WHERE f.department = d.code) AS domains, \
         (SELECT count(*) FROM insp_items i WHERE i.department = d.code AND i.active = $3) AS items, \
         (SELECT count(*) FROM insp_items i WHERE i.department = d.code AND i.active = $3 \
            AND i.list = 'key') AS key_items, \
         (SELECT count(*) FROM insp_inspectors p WHERE p.department = d.code AND p.active = $3 \
            AND p.jurisdiction >= $1 AND p.jurisdiction < $2) AS inspectors \
         FROM insp_departments d ORDER BY d.code",
    )
    .bind(&lo)
    .bind(&hi)
    .bind(true)
    .fetch_all(c)
    .await?);
    Ok(rows)
}

/// What an inspector list is filtered by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InspectorFilter {
    pub department: Option<String>,
    /// A division prefix the inspector's jurisdiction must start with.
    pub jurisdiction: Option<String>,
    pub include_retired: bool,
    /// At most this many (0 = no limit).
    pub limit: i64,
}

/// An inspector as officers see it: with conflicts and whether the certificate has expired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectorView {
    #[serde(flatten)]
    pub inspector: InspectorRecord,
    pub expired: bool,
    pub conflicts: Vec<Conflict>,
}

#[derive(sqlx::FromRow)]
struct InspectorRow {
    id: String,
    department: String,
    name: String,
    jurisdiction: String,
    qualifications: String,
    certificate_no: String,
    certificate_expiry: NaiveDate,
    active: bool,
    updated_at: DateTime<Utc>,
}

impl TryFrom<InspectorRow> for InspectorRecord {
    type Error = AppError;
    fn try_from(r: InspectorRow) -> Result<InspectorRecord, AppError> {
        let qualifications: Vec<String> = serde_json::from_str(&r.qualifications).map_err(|e| {
            AppError::Internal(anyhow::anyhow!("inspector {}: qualifications: {e}", r.id))
        })?;
        Ok(InspectorRecord {
            id: r.id,
            department: r.department,
            name: r.name,
            jurisdiction: r.jurisdiction,
            qualifications,
            certificate_no: r.certificate_no,
            certificate_expiry: r.certificate_expiry,
            active: r.active,
            updated_at: r.updated_at,
        })
    }
}

const INSPECTOR_COLUMNS: &str = "id, department, name, jurisdiction, qualifications, \
     certificate_no, certificate_expiry, active, updated_at";

/// The SQL condition "the jurisdiction overlaps `scope`" (one is a prefix of the other) on
/// `col`, with `$n` = `scope%`, `$n+1` = scope.
fn overlap(col: &str, n: usize) -> String {
    format!("({col} LIKE ${n} OR ${} LIKE ({col} || '%'))", n + 1)
}

/// Inspectors whose jurisdiction overlaps the officer's, by id, with their conflicts.
pub async fn inspectors(
    db: &Db,
    scope: &Scope,
    filter: &InspectorFilter,
    today: NaiveDate,
) -> Result<Vec<InspectorView>, AppError> {
    let Some(p) = scope.as_prefix() else {
        return Ok(Vec::new());
    };
    let limit = if filter.limit <= 0 {
        i64::MAX
    } else {
        filter.limit
    };
    let sql = format!(
        "SELECT {INSPECTOR_COLUMNS} FROM insp_inspectors WHERE {} \
         AND ($3 = '' OR department = $3) AND jurisdiction LIKE $4 AND ($5 OR active = $6) \
         ORDER BY id LIMIT $7",
        overlap("jurisdiction", 1)
    );
    let rows: Vec<InspectorRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(format!("{p}%"))
        .bind(p)
        .bind(filter.department.clone().unwrap_or_default())
        .bind(format!("{}%", filter.jurisdiction.clone().unwrap_or_default()))
        .bind(filter.include_retired)
        .bind(true)
        .bind(limit)
        .fetch_all(c)
        .await?);
    let ids: HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut conflicts: HashMap<String, Vec<Conflict>> = HashMap::new();
    if !ids.is_empty() {
        let sql = format!(
            "SELECT k.inspector_id, k.uscc, k.reason, k.declared_at FROM insp_conflicts k \
             JOIN insp_inspectors i ON i.id = k.inspector_id WHERE {} \
             ORDER BY k.inspector_id, k.uscc",
            overlap("i.jurisdiction", 1)
        );
        let rows: Vec<ConflictTuple> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(format!("{p}%"))
            .bind(p)
            .fetch_all(c)
            .await?);
        for (inspector_id, uscc, reason, declared_at) in rows {
            if ids.contains(&inspector_id) {
                conflicts
                    .entry(inspector_id.clone())
                    .or_default()
                    .push(Conflict {
                        inspector_id,
                        uscc,
                        reason,
                        declared_at,
                    });
            }
        }
    }
    rows.into_iter()
        .map(|r| {
            let rec = InspectorRecord::try_from(r)?;
            Ok(InspectorView {
                expired: rec.certificate_expiry < today,
                conflicts: conflicts.remove(&rec.id).unwrap_or_default(),
                inspector: rec,
            })
        })
        .collect()
}

/// The active inspectors whose jurisdiction overlaps the plan's scope (one is a prefix of the
/// other), with their declared conflicts (sorted), by id: the inspector list a draw freezes.
pub async fn inspectors_for_draw(db: &Db, scope: &str) -> Result<Vec<Inspector>, AppError> {
    let sql = format!(
        "SELECT {INSPECTOR_COLUMNS} FROM insp_inspectors WHERE active = $3 AND {} ORDER BY id",
        overlap("jurisdiction", 1)
    );
    let rows: Vec<InspectorRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(format!("{scope}%"))
        .bind(scope)
        .bind(true)
        .fetch_all(c)
        .await?);
    let sql = format!(
        "SELECT k.inspector_id, k.uscc FROM insp_conflicts k JOIN insp_inspectors i \
         ON i.id = k.inspector_id WHERE i.active = $3 AND {} ORDER BY k.inspector_id, k.uscc",
        overlap("i.jurisdiction", 1)
    );
    let pairs: Vec<(String, String)> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(format!("{scope}%"))
        .bind(scope)
        .bind(true)
        .fetch_all(c)
        .await?);
    let mut conflicts: HashMap<String, Vec<String>> = HashMap::new();
    for (id, uscc) in pairs {
        conflicts.entry(id).or_default().push(uscc);
    }
    rows.into_iter()
        .map(|r| {
            let mut rec = InspectorRecord::try_from(r)?;
            rec.qualifications.sort();
            rec.qualifications.dedup();
            let mut c = conflicts.remove(&rec.id).unwrap_or_default();
            c.sort();
            Ok(Inspector {
                id: rec.id,
                name: rec.name,
                department: rec.department,
                jurisdiction: rec.jurisdiction,
                qualifications: rec.qualifications,
                certificate_no: rec.certificate_no,
                certificate_expiry: rec.certificate_expiry,
                conflicts: c,
            })
        })
        .collect()
}

/// The stored tags of every entity whose division starts with `scope`: USCC → tags, sorted.
/// Tags are sparse (most entities have none); licence tags derived by rule
/// ([`super::rules::derived_tags`]) are not stored and are added by whoever builds targets.
pub async fn tags_in(db: &Db, scope: &str) -> Result<HashMap<String, Vec<String>>, AppError> {
    let (lo, hi) = range_of(scope);
    let rows: Vec<(String, String)> = on_conn!(db, c => sqlx::query_as(
        "SELECT uscc, tag FROM target_tags WHERE division >= $1 AND division < $2 \
         ORDER BY uscc, tag",
    )
    .bind(&lo)
    .bind(&hi)
    .fetch_all(c)
    .await?);
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (uscc, tag) in rows {
        out.entry(uscc).or_default().push(tag);
    }
    for tags in out.values_mut() {
        tags.sort();
        tags.dedup();
    }
    Ok(out)
}

/// The stored tags of one entity within the officer's jurisdiction (empty outside it).
pub async fn tags_of(db: &Db, scope: &Scope, uscc: &str) -> Result<Vec<TargetTag>, AppError> {
    let sql = format!(
        "SELECT uscc, tag, division, source, set_by, set_at FROM target_tags \
         WHERE uscc = $1 AND {} ORDER BY tag",
        scope.division_filter("division", 2)
    );
    let rows: Vec<TagTuple> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(uscc)
        .bind(scope.like_pattern())
        .fetch_all(c)
        .await?);
    Ok(rows
        .into_iter()
        .map(|(uscc, tag, division, source, set_by, set_at)| TargetTag {
            uscc,
            tag,
            division,
            source,
            set_by,
            set_at,
        })
        .collect())
}

// ----- writes: the item list ----------------------------------------------------------------

async fn department_in_tx(tx: &mut Tx, code: &str) -> Result<Option<(String, String)>, AppError> {
    Ok(on_tx!(tx, c => sqlx::query_as(
        "SELECT name, name_en FROM insp_departments WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(&mut *c)
    .await?))
}

async fn domain_in_tx(tx: &mut Tx, code: &str) -> Result<Option<(String, String)>, AppError> {
    Ok(on_tx!(tx, c => sqlx::query_as(
        "SELECT department, name FROM insp_domains WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(&mut *c)
    .await?))
}

/// Adds a department or changes its names. Returns whether anything changed.
pub async fn save_department(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    input: &DepartmentInput,
) -> Result<bool, AppError> {
    require_provincial(scope)?;
    let d = input.validate().map_err(|e| to_app(&e))?;
    let old = department_in_tx(tx, &d.code).await?;
    let now = now();
    match &old {
        Some((name, name_en)) if *name == d.name && *name_en == d.name_en => return Ok(false),
        Some(_) => {
            on_tx!(tx, c => sqlx::query(
                "UPDATE insp_departments SET name = $2, name_en = $3, updated_at = $4 WHERE code = $1",
            )
            .bind(&d.code)
            .bind(&d.name)
            .bind(&d.name_en)
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected());
        }
        None => {
            on_tx!(tx, c => sqlx::query(
                "INSERT INTO insp_departments (code, name, name_en, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(&d.code)
            .bind(&d.name)
            .bind(&d.name_en)
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected());
        }
    }
    record(
        tx,
        actor,
        "inspection.department.save",
        "supervision.library.department_saved",
        "insp_department",
        &d.code,
        None,
        old.map(|(n, e)| json!({"name": n, "name_en": e})),
        Some(json!({"name": d.name, "name_en": d.name_en})),
    )
    .await?;
    Ok(true)
}

/// Adds a domain or renames it (a domain never moves to another department). Returns whether
/// anything changed.
pub async fn save_domain(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    d: &Domain,
) -> Result<bool, AppError> {
    require_provincial(scope)?;
    if department_in_tx(tx, &d.department).await?.is_none() {
        return Err(AppError::bad_request(
            "department",
            format!("部门 {} 不存在 (unknown department)", d.department),
        ));
    }
    let old = domain_in_tx(tx, &d.code).await?;
    match &old {
        Some((dept, _)) if *dept != d.department => {
            return Err(AppError::bad_request(
                "department",
                format!(
                    "领域 {} 属于部门 {dept}，不能改属其他部门 (the domain belongs to {dept})",
                    d.code
                ),
            ));
        }
        Some((_, name)) if *name == d.name => return Ok(false),
        Some(_) => {
            on_tx!(tx, c => sqlx::query("UPDATE insp_domains SET name = $2 WHERE code = $1")
                .bind(&d.code)
                .bind(&d.name)
                .execute(&mut *c)
                .await?
            .rows_affected());
        }
        None => {
            on_tx!(tx, c => sqlx::query(
                "INSERT INTO insp_domains (code, department, name) VALUES ($1, $2, $3)",
            )
            .bind(&d.code)
            .bind(&d.department)
            .bind(&d.name)
            .execute(&mut *c)
            .await?
            .rows_affected());
        }
    }
    record(
        tx,
        actor,
        "inspection.domain.save",
        "supervision.library.domain_saved",
        "insp_domain",
        &d.code,
        None,
        old.map(|(dept, n)| json!({"department": dept, "name": n})),
        Some(json!({"department": d.department, "name": d.name})),
    )
    .await?;
    Ok(true)
}

/// Whether a save added, changed or left a record as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Saved {
    Added,
    Updated,
    Unchanged,
}

async fn item_in_tx(tx: &mut Tx, code: &str) -> Result<Option<Item>, AppError> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM insp_items WHERE code = $1");
    let row: Option<ItemRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(code)
        .fetch_optional(&mut *c)
        .await?);
    Ok(row.map(Item::from))
}

fn new_of(i: &Item) -> NewItem {
    NewItem {
        code: i.code.clone(),
        department: i.department.clone(),
        domain: i.domain.clone(),
        name: i.name.clone(),
        legal_basis: i.legal_basis.clone(),
        target_type: i.target_type.clone(),
        method: i.method.clone(),
        list: i.list.clone(),
        population: i.population.clone(),
        frequency: i.frequency.clone(),
    }
}

async fn write_item(tx: &mut Tx, actor: &Actor, i: &NewItem) -> Result<Saved, AppError> {
    let old = item_in_tx(tx, &i.code).await?;
    let now = now();
    let saved = match &old {
        Some(o) if new_of(o) == *i && o.active => return Ok(Saved::Unchanged),
        Some(_) => {
            on_tx!(tx, c => sqlx::query(
                "UPDATE insp_items SET department = $2, domain = $3, name = $4, legal_basis = $5, \
                 target_type = $6, method = $7, list = $8, population = $9, frequency = $10, \
                 active = $11, updated_at = $12 WHERE code = $1",
            )
            .bind(&i.code)
            .bind(&i.department)
            .bind(&i.domain)
            .bind(&i.name)
            .bind(&i.legal_basis)
            .bind(&i.target_type)
            .bind(&i.method)
            .bind(&i.list)
            .bind(&i.population)
            .bind(&i.frequency)
            .bind(true)
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected());
            Saved::Updated
        }
        None => {
            on_tx!(tx, c => sqlx::query(
                "INSERT INTO insp_items (code, department, domain, name, legal_basis, target_type, \
                 method, list, population, frequency, active, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&i.code)
            .bind(&i.department)
            .bind(&i.domain)
            .bind(&i.name)
            .bind(&i.legal_basis)
            .bind(&i.target_type)
            .bind(&i.method)
            .bind(&i.list)
            .bind(&i.population)
            .bind(&i.frequency)
            .bind(true)
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected());
            Saved::Added
        }
    };
    record(
        tx,
        actor,
        "inspection.item.save",
        "supervision.library.item_saved",
        "insp_item",
        &i.code,
        None,
        old.map(|o| json!({"item": new_of(&o), "active": o.active})),
        Some(json!({"item": i, "active": true})),
    )
    .await?;
    Ok(saved)
}

/// Retires an item: it leaves the published list and new plans; its record stays.
pub async fn retire_item(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    code: &str,
) -> Result<(), AppError> {
    require_provincial(scope)?;
    let code = code.trim().to_ascii_uppercase();
    let old = item_in_tx(tx, &code).await?.ok_or(AppError::NotFound)?;
    if !old.active {
        return Err(AppError::rejected(
            "该事项已停用 (the item is already retired)",
        ));
    }
    on_tx!(tx, c => sqlx::query("UPDATE insp_items SET active = $2, updated_at = $3 WHERE code = $1")
        .bind(&code)
        .bind(false)
        .bind(now())
        .execute(&mut *c)
        .await?
            .rows_affected());
    record(
        tx,
        actor,
        "inspection.item.retire",
        "supervision.library.item_retired",
        "insp_item",
        &code,
        None,
        Some(json!({"active": true})),
        Some(json!({"active": false})),
    )
    .await
}

// ----- writes: inspectors -------------------------------------------------------------------

async fn inspector_in_tx(tx: &mut Tx, id: &str) -> Result<Option<InspectorRecord>, AppError> {
    let sql = format!("SELECT {INSPECTOR_COLUMNS} FROM insp_inspectors WHERE id = $1");
    let row: Option<InspectorRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?);
    row.map(InspectorRecord::try_from).transpose()
}

/// The domains of a department.
async fn domains_of(tx: &mut Tx, department: &str) -> Result<HashSet<String>, AppError> {
    let rows: Vec<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT code FROM insp_domains WHERE department = $1",
    )
    .bind(department)
    .fetch_all(&mut *c)
    .await?);
    Ok(rows.into_iter().collect())
}

async fn check_inspector_refs(tx: &mut Tx, i: &NewInspector) -> Result<(), Vec<FieldError>> {
    let mut errs = Vec::new();
    match department_in_tx(tx, &i.department).await {
        Ok(Some(_)) => match domains_of(tx, &i.department).await {
            Ok(domains) => {
                let unknown: Vec<&str> = i
                    .qualifications
                    .iter()
                    .filter(|q| !domains.contains(*q))
                    .map(String::as_str)
                    .collect();
                if !unknown.is_empty() {
                    errs.push(FieldError::new(
                        "qualifications",
                        format!(
                            "{} 不是部门 {} 的抽查领域 (not a domain of the department)",
                            unknown.join("、"),
                            i.department
                        ),
                    ));
                }
            }
            Err(e) => errs.push(FieldError::new("qualifications", e.to_string())),
        },
        Ok(None) => errs.push(FieldError::new(
            "department",
            format!("部门 {} 不存在 (unknown department)", i.department),
        )),
        Err(e) => errs.push(FieldError::new("department", e.to_string())),
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

async fn write_inspector(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    i: &NewInspector,
) -> Result<Saved, AppError> {
    let old = inspector_in_tx(tx, &i.id).await?;
    if let Some(o) = &old {
        if !scope.covers(&o.jurisdiction) {
            return Err(outside(&o.jurisdiction));
        }
        let same = o.department == i.department
            && o.name == i.name
            && o.jurisdiction == i.jurisdiction
            && o.qualifications == i.qualifications
            && o.certificate_no == i.certificate_no
            && o.certificate_expiry == i.certificate_expiry
            && o.active;
        if same {
            return Ok(Saved::Unchanged);
        }
    }
    let q = serde_json::to_string(&i.qualifications).map_err(|e| AppError::Internal(e.into()))?;
    let now = now();
    let saved = if old.is_some() {
        on_tx!(tx, c => sqlx::query(
            "UPDATE insp_inspectors SET department = $2, name = $3, jurisdiction = $4, \
             qualifications = $5, certificate_no = $6, certificate_expiry = $7, active = $8, \
             updated_at = $9 WHERE id = $1",
        )
        .bind(&i.id)
        .bind(&i.department)
        .bind(&i.name)
        .bind(&i.jurisdiction)
        .bind(&q)
        .bind(&i.certificate_no)
        .bind(i.certificate_expiry)
        .bind(true)
        .bind(now)
        .execute(&mut *c)
        .await?
            .rows_affected());
        Saved::Updated
    } else {
        insert_inspector(tx, i, &q, now).await?;
        Saved::Added
    };
    record(
        tx,
        actor,
        "inspection.inspector.save",
        "supervision.library.inspector_saved",
        "insp_inspector",
        &i.id,
        Some(&i.jurisdiction),
        old.map(|o| serde_json::to_value(&o).unwrap_or(Value::Null)),
        Some(serde_json::to_value(i).unwrap_or(Value::Null)),
    )
    .await?;
    Ok(saved)
}

async fn insert_inspector(
    tx: &mut Tx,
    i: &NewInspector,
    qualifications: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO insp_inspectors (id, department, name, jurisdiction, qualifications, \
         certificate_no, certificate_expiry, active, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&i.id)
    .bind(&i.department)
    .bind(&i.name)
    .bind(&i.jurisdiction)
    .bind(qualifications)
    .bind(&i.certificate_no)
    .bind(i.certificate_expiry)
    .bind(true)
    .bind(now)
    .execute(&mut *c)
    .await?
            .rows_affected());
    Ok(())
}

/// Declares an inspector's conflict of interest with an entity (回避). The inspector's
/// jurisdiction must be within the officer's; the entity must exist (its facts are passed in
/// by the caller, from the registry).
pub async fn declare_conflict(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    inspector_id: &str,
    entity: &EntityFacts,
    reason: &str,
) -> Result<(), AppError> {
    let id = inspector_id.trim().to_ascii_uppercase();
    let ins = inspector_in_tx(tx, &id).await?.ok_or(AppError::NotFound)?;
    if !scope.covers(&ins.jurisdiction) {
        return Err(AppError::NotFound);
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "reason",
            "请写明回避理由（不超过 200 字）(give the reason, at most 200 characters)",
        ));
    }
    let n = on_tx!(tx, c => sqlx::query(
        "INSERT INTO insp_conflicts (inspector_id, uscc, reason, declared_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (inspector_id, uscc) DO NOTHING",
    )
    .bind(&id)
    .bind(&entity.uscc)
    .bind(reason)
    .bind(now())
    .execute(&mut *c)
    .await?
    .rows_affected());
    if n == 0 {
        return Err(AppError::Conflict(
            "已申报该回避事项 (the conflict is already declared)".into(),
        ));
    }
    record(
        tx,
        actor,
        "inspection.conflict.declare",
        "supervision.library.conflict_declared",
        "insp_conflict",
        &format!("{id}/{}", entity.uscc),
        Some(&ins.jurisdiction),
        None,
        Some(json!({"inspector_id": id, "uscc": entity.uscc, "reason": reason})),
    )
    .await
}

/// Withdraws a declared conflict.
pub async fn withdraw_conflict(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    inspector_id: &str,
    uscc: &str,
) -> Result<(), AppError> {
    let id = inspector_id.trim().to_ascii_uppercase();
    let ins = inspector_in_tx(tx, &id).await?.ok_or(AppError::NotFound)?;
    if !scope.covers(&ins.jurisdiction) {
        return Err(AppError::NotFound);
    }
    let old: Option<String> = on_tx!(tx, c => sqlx::query_scalar(
        "DELETE FROM insp_conflicts WHERE inspector_id = $1 AND uscc = $2 RETURNING reason",
    )
    .bind(&id)
    .bind(uscc)
    .fetch_optional(&mut *c)
    .await?);
    let reason = old.ok_or(AppError::NotFound)?;
    record(
        tx,
        actor,
        "inspection.conflict.withdraw",
        "supervision.library.conflict_withdrawn",
        "insp_conflict",
        &format!("{id}/{uscc}"),
        Some(&ins.jurisdiction),
        Some(json!({"inspector_id": id, "uscc": uscc, "reason": reason})),
        None,
    )
    .await
}

// ----- writes: target tags ------------------------------------------------------------------

/// Attaches a tag to an entity within the officer's jurisdiction (the entity's facts come from
/// the registry; outside the jurisdiction it is not found). `source` says where the tag came
/// from (`officer`, `rule:…`, `import:…`).
pub async fn attach_tag(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    entity: &EntityFacts,
    tag: &str,
    source: &str,
) -> Result<(), AppError> {
    if !scope.contains(Some(&entity.division)) {
        return Err(AppError::NotFound);
    }
    let tag = parse_tag(tag).map_err(|e| to_app(&[e]))?;
    let n = on_tx!(tx, c => sqlx::query(
        "INSERT INTO target_tags (uscc, tag, division, source, set_by, set_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (uscc, tag) DO NOTHING",
    )
    .bind(&entity.uscc)
    .bind(&tag)
    .bind(&entity.division)
    .bind(source)
    .bind(&actor.name)
    .bind(now())
    .execute(&mut *c)
    .await?
    .rows_affected());
    if n == 0 {
        return Err(AppError::Conflict(format!(
            "该主体已有标签 {tag} (the entity already has this tag)"
        )));
    }
    let ev = NewEvent::internal(
        "supervision.library.tag_attached",
        json!({"uscc": entity.uscc, "tag": tag, "source": source}),
    )
    .uscc(&entity.uscc)
    .division(&entity.division)
    .actor(actor.label());
    events::append(tx, ev).await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "inspection.tag.attach",
            target_kind: "target_tag",
            target_id: format!("{}/{tag}", entity.uscc),
            division: Some(entity.division.clone()),
            before: None,
            after: Some(json!({"tag": tag, "source": source})),
        },
    )
    .await?;
    Ok(())
}

/// Removes a tag from an entity within the officer's jurisdiction.
pub async fn remove_tag(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    entity: &EntityFacts,
    tag: &str,
) -> Result<(), AppError> {
    if !scope.contains(Some(&entity.division)) {
        return Err(AppError::NotFound);
    }
    let old: Option<String> = on_tx!(tx, c => sqlx::query_scalar(
        "DELETE FROM target_tags WHERE uscc = $1 AND tag = $2 RETURNING source",
    )
    .bind(&entity.uscc)
    .bind(tag.trim())
    .fetch_optional(&mut *c)
    .await?);
    let source = old.ok_or(AppError::NotFound)?;
    let ev = NewEvent::internal(
        "supervision.library.tag_removed",
        json!({"uscc": entity.uscc, "tag": tag.trim()}),
    )
    .uscc(&entity.uscc)
    .division(&entity.division)
    .actor(actor.label());
    events::append(tx, ev).await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "inspection.tag.remove",
            target_kind: "target_tag",
            target_id: format!("{}/{}", entity.uscc, tag.trim()),
            division: Some(entity.division.clone()),
            before: Some(json!({"tag": tag.trim(), "source": source})),
            after: None,
        },
    )
    .await?;
    Ok(())
}

// ----- imports ------------------------------------------------------------------------------

/// One refused row of an import: its line, the column (as the file's header names it) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: u64,
    pub column: String,
    pub message: String,
}

/// What an import did. With any error, nothing was written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub rows: u64,
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub departments_added: u64,
    pub domains_added: u64,
    pub errors: Vec<RowError>,
}

impl ImportReport {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

fn push_errors(
    report: &mut ImportReport,
    table: &super::table::Table,
    columns: &[super::table::Column],
    line: u64,
    errs: Vec<FieldError>,
) {
    for e in errs {
        report.errors.push(RowError {
            row: line,
            column: table.header_of(e.field, columns),
            message: e.message,
        });
    }
}

fn field(row: &HashMap<&'static str, String>, k: &str) -> String {
    row.get(k).cloned().unwrap_or_default()
}

/// Imports items read by [`super::table::read`] with [`super::table::ITEM_COLUMNS`], all or
/// nothing: every bad row is reported (line, column, reason) and, if there is one, nothing is
/// written. A department or domain the list does not know is created when the row names it
/// (部门名称 / 领域名称), else the row is refused. A code twice in the file is an error on its
/// second line. One transaction, with the audit entries and events of each saved record and
/// one `supervision.library.items_imported` event.
pub async fn import_items(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    source: &str,
    table: &super::table::Table,
) -> Result<ImportReport, AppError> {
    use super::model::ItemInput;
    use super::table::ITEM_COLUMNS as COLS;
    require_provincial(scope)?;
    let mut report = ImportReport::default();
    let mut tx = db.begin().await?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut new_departments: BTreeMap<String, DepartmentInput> = BTreeMap::new();
    let mut new_domains: BTreeMap<String, Domain> = BTreeMap::new();
    let mut good: Vec<NewItem> = Vec::new();
    for (line, row) in &table.rows {
        report.rows += 1;
        let input = ItemInput {
            code: field(row, "code"),
            department: field(row, "department"),
            domain: field(row, "domain"),
            name: field(row, "name"),
            legal_basis: field(row, "legal_basis"),
            target_type: field(row, "target_type"),
            method: field(row, "method"),
            list: field(row, "list"),
            population: field(row, "population"),
            frequency: field(row, "frequency"),
            department_name: field(row, "department_name"),
            department_name_en: field(row, "department_name_en"),
            domain_name: field(row, "domain_name"),
        };
        let item = match input.validate() {
            Ok(i) => i,
            Err(errs) => {
                push_errors(&mut report, table, COLS, *line, errs);
                continue;
            }
        };
        if let Some(e) = first_seen(&mut seen, &item.code, *line, "code", "抽查事项编码", "code")
        {
            push_errors(&mut report, table, COLS, *line, vec![e]);
            continue;
        }
        let mut errs = Vec::new();
        // The department: known, created earlier in this file, or created from its name.
        if department_in_tx(&mut tx, &item.department).await?.is_none()
            && !new_departments.contains_key(&item.department)
        {
            let name = input.department_name.trim();
            if name.is_empty() {
                errs.push(FieldError::new(
                    "department",
                    format!(
                        "部门 {} 不存在；如需新建，请填写“部门名称” (unknown department; give 部门名称 to create it)",
                        item.department
                    ),
                ));
            } else {
                let d = DepartmentInput {
                    code: item.department.clone(),
                    name: name.to_string(),
                    name_en: match input.department_name_en.trim() {
                        "" => name.to_string(),
                        en => en.to_string(),
                    },
                };
                match d.validate() {
                    Ok(d) => {
                        new_departments.insert(d.code.clone(), d);
                    }
                    Err(e) => errs.extend(e.into_iter().map(|mut e| {
                        e.field = if e.field == "name_en" {
                            "department_name_en"
                        } else {
                            "department_name"
                        };
                        e
                    })),
                }
            }
        }
        // The domain: known (and of this department), new in this file, or created.
        match domain_in_tx(&mut tx, &item.domain).await? {
            Some((dept, _)) if dept != item.department => errs.push(FieldError::new(
                "domain",
                format!(
                    "领域 {} 属于部门 {dept}，不属于 {} (the domain belongs to another department)",
                    item.domain, item.department
                ),
            )),
            Some(_) => {}
            None => match new_domains.get(&item.domain) {
                Some(d) if d.department != item.department => errs.push(FieldError::new(
                    "domain",
                    format!(
                        "领域 {} 在本文件中已属于部门 {} (the domain belongs to another department in this file)",
                        item.domain, d.department
                    ),
                )),
                Some(_) => {}
                None => {
                    let name = input.domain_name.trim();
                    if name.is_empty() {
                        errs.push(FieldError::new(
                            "domain",
                            format!(
                                "领域 {} 不存在；如需新建，请填写“领域名称” (unknown domain; give 领域名称 to create it)",
                                item.domain
                            ),
                        ));
                    } else if name.chars().count() > 60 {
                        errs.push(FieldError::new(
                            "domain_name",
                            "不超过 60 字 (at most 60 characters)",
                        ));
                    } else {
                        new_domains.insert(
                            item.domain.clone(),
                            Domain {
                                code: item.domain.clone(),
                                department: item.department.clone(),
                                name: name.to_string(),
                            },
                        );
                    }
                }
            },
        }
        if errs.is_empty() {
            good.push(item);
        } else {
            push_errors(&mut report, table, COLS, *line, errs);
        }
    }
    if !report.errors.is_empty() {
        tx.rollback().await?;
        return Ok(report);
    }
    for d in new_departments.values() {
        save_department(&mut tx, actor, scope, d).await?;
        report.departments_added += 1;
    }
    for d in new_domains.values() {
        save_domain(&mut tx, actor, scope, d).await?;
        report.domains_added += 1;
    }
    let mut codes = Vec::new();
    for i in &good {
        match write_item(&mut tx, actor, i).await? {
            Saved::Added => report.added += 1,
            Saved::Updated => report.updated += 1,
            Saved::Unchanged => report.unchanged += 1,
        }
        codes.push(i.code.clone());
    }
    events::append(
        &mut tx,
        NewEvent::internal(
            "supervision.library.items_imported",
            json!({"source": source, "rows": report.rows, "added": report.added,
                   "updated": report.updated, "codes": codes}),
        )
        .actor(actor.label()),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// Imports inspectors read with [`super::table::INSPECTOR_COLUMNS`], all or nothing like
/// [`import_items`]. Departments and qualifications (domain codes of the department) must
/// exist; every inspector's jurisdiction must be within `scope`.
pub async fn import_inspectors(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    source: &str,
    table: &super::table::Table,
) -> Result<ImportReport, AppError> {
    use super::model::InspectorInput;
    use super::table::INSPECTOR_COLUMNS as COLS;
    let mut report = ImportReport::default();
    let mut tx = db.begin().await?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut good = Vec::new();
    for (line, row) in &table.rows {
        report.rows += 1;
        let input = InspectorInput {
            id: field(row, "id"),
            department: field(row, "department"),
            name: field(row, "name"),
            jurisdiction: field(row, "jurisdiction"),
            qualifications: field(row, "qualifications"),
            certificate_no: field(row, "certificate_no"),
            certificate_expiry: field(row, "certificate_expiry"),
        };
        let ins = match input.validate() {
            Ok(i) => i,
            Err(errs) => {
                push_errors(&mut report, table, COLS, *line, errs);
                continue;
            }
        };
        if let Some(e) = first_seen(&mut seen, &ins.id, *line, "id", "人员编号", "id") {
            push_errors(&mut report, table, COLS, *line, vec![e]);
            continue;
        }
        let mut errs = match check_inspector_refs(&mut tx, &ins).await {
            Ok(()) => Vec::new(),
            Err(e) => e,
        };
        if !scope.covers(&ins.jurisdiction) {
            errs.push(FieldError::new(
                "jurisdiction",
                format!(
                    "管辖区域 {} 不在您的辖区内 (outside your jurisdiction)",
                    ins.jurisdiction
                ),
            ));
        } else if let Some(old) = inspector_in_tx(&mut tx, &ins.id).await?
            && !scope.covers(&old.jurisdiction)
        {
            errs.push(FieldError::new(
                "id",
                format!(
                    "人员编号 {} 已属于您辖区以外的 {} (the id belongs to an inspector outside your jurisdiction)",
                    ins.id, old.jurisdiction
                ),
            ));
        }
        if errs.is_empty() {
            good.push(ins);
        } else {
            push_errors(&mut report, table, COLS, *line, errs);
        }
    }
    if !report.errors.is_empty() {
        tx.rollback().await?;
        return Ok(report);
    }
    for i in &good {
        match write_inspector(&mut tx, actor, scope, i).await? {
            Saved::Added => report.added += 1,
            Saved::Updated => report.updated += 1,
            Saved::Unchanged => report.unchanged += 1,
        }
    }
    events::append(
        &mut tx,
        NewEvent::internal(
            "supervision.library.inspectors_imported",
            json!({"source": source, "rows": report.rows, "added": report.added,
                   "updated": report.updated}),
        )
        .actor(actor.label()),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

// ----- bulk (the demo) ----------------------------------------------------------------------

/// Inserts the demo library in one transaction without per-row audit entries (the caller
/// records one for the whole step). Used only on an empty library.
pub(crate) async fn insert_bulk(
    tx: &mut Tx,
    departments: &[DepartmentInput],
    domains: &[Domain],
    items: &[NewItem],
    inspectors: &[NewInspector],
    conflicts: &[(String, String, String)],
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(), AppError> {
    let now = now();
    let total = (departments.len() + domains.len() + items.len() + inspectors.len()) as u64;
    let mut done = 0u64;
    for d in departments {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO insp_departments (code, name, name_en, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(&d.code)
        .bind(&d.name)
        .bind(&d.name_en)
        .bind(now)
        .execute(&mut *c)
        .await?
            .rows_affected());
        done += 1;
    }
    for d in domains {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO insp_domains (code, department, name) VALUES ($1, $2, $3)",
        )
        .bind(&d.code)
        .bind(&d.department)
        .bind(&d.name)
        .execute(&mut *c)
        .await?
            .rows_affected());
        done += 1;
    }
    for i in items {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO insp_items (code, department, domain, name, legal_basis, target_type, \
             method, list, population, frequency, active, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&i.code)
        .bind(&i.department)
        .bind(&i.domain)
        .bind(&i.name)
        .bind(&i.legal_basis)
        .bind(&i.target_type)
        .bind(&i.method)
        .bind(&i.list)
        .bind(&i.population)
        .bind(&i.frequency)
        .bind(true)
        .bind(now)
        .execute(&mut *c)
        .await?
            .rows_affected());
        done += 1;
    }
    progress(done, total);
    for (n, i) in inspectors.iter().enumerate() {
        let q =
            serde_json::to_string(&i.qualifications).map_err(|e| AppError::Internal(e.into()))?;
        insert_inspector(tx, i, &q, now).await?;
        done += 1;
        if n % 500 == 0 {
            progress(done, total);
        }
    }
    for (id, uscc, reason) in conflicts {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO insp_conflicts (inspector_id, uscc, reason, declared_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (inspector_id, uscc) DO NOTHING",
        )
        .bind(id)
        .bind(uscc)
        .bind(reason)
        .bind(now)
        .execute(&mut *c)
        .await?
            .rows_affected());
    }
    progress(total, total);
    Ok(())
}

/// Whether the library holds any department.
pub async fn is_empty(db: &Db) -> Result<bool, AppError> {
    let n: i64 = on_conn!(db, c => sqlx::query_scalar("SELECT count(*) FROM insp_departments")
        .fetch_one(c)
        .await?);
    Ok(n == 0)
}

/// The refusal of a key an imported file already had on an earlier line (`None` the first
/// time, which records the line).
fn first_seen(
    seen: &mut HashMap<String, u64>,
    key: &str,
    line: u64,
    field: &'static str,
    what_zh: &str,
    what_en: &str,
) -> Option<FieldError> {
    match seen.get(key) {
        Some(first) => Some(FieldError::new(
            field,
            format!(
                "{what_zh} {key} 在第 {first} 行已出现 (the {what_en} is already on line {first})"
            ),
        )),
        None => {
            seen.insert(key.to_string(), line);
            None
        }
    }
}
