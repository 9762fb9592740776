//! The SQL of online registration: the name check against the register, filing, refiling,
//! examination (approve / return), and the reads of applicants and officers.
//!
//! Every write runs in one transaction with its step row, audit entry and event
//! (`registry.registration.filed`, `.returned`, `.approved`; internal events: an application
//! is not public). Approval registers the entity through [`crate::store::create`] in the same
//! transaction, so its public `registry.entity.registered` event follows.
//!
//! State changes are conditional updates (`... WHERE status = 'filed'`): two officers acting
//! at once cannot both succeed.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use amr_address::check::{self as address_check, CheckRequest, Outcome, Verdict};
use amr_address::commitment::{self, CommitmentInput};
use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::auth::password::{random_token, token_hash};
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::model::{Application, ApplicationInput, FilingStatus, canonical_json, filing_hash};
use super::name::{self, NameParts};
use crate::model::{EntityType, FieldError, NewEntity, Status, field_errors_to_app};

/// Why a name is listed against another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Likeness {
    /// The same name.
    SameName,
    /// The same trade name and industry in the same jurisdiction: a collision.
    SameTradeNameAndIndustry,
    /// The same trade name, another industry.
    SameTradeName,
    /// A name within two edits.
    Close,
}

/// A registered entity or a pending filing whose name is like the one checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameHit {
    pub uscc: Option<String>,
    pub filing_no: Option<String>,
    pub name: String,
    pub division: String,
    pub likeness: Likeness,
}

/// The answer of a name check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NameCheck {
    pub name: String,
    pub parts: Option<NameParts>,
    /// The parts that are missing or wrong (Chinese first).
    pub errors: Vec<FieldError>,
    /// The division-code prefix the name must be unique in.
    pub scope: Option<String>,
    /// Names it collides with: it cannot be used while one of these stands.
    pub collisions: Vec<NameHit>,
    /// Names like it, for the officer.
    pub similar: Vec<NameHit>,
}

impl NameCheck {
    pub fn ok(&self) -> bool {
        self.errors.is_empty() && self.collisions.is_empty()
    }

    /// The refusal of an unusable name: every missing part, or the first collision named.
    pub fn refusal(&self) -> Option<AppError> {
        if !self.errors.is_empty() {
            return Some(field_errors_to_app(&self.errors));
        }
        let hit = self.collisions.first()?;
        let what = match (&hit.uscc, &hit.filing_no) {
            (Some(u), _) => format!("已登记的“{}”（{u}）", hit.name),
            (None, Some(n)) => format!("申请中的“{}”（申请号 {n}）", hit.name),
            _ => format!("“{}”", hit.name),
        };
        let id = hit
            .uscc
            .as_deref()
            .or(hit.filing_no.as_deref())
            .unwrap_or("");
        Some(AppError::bad_request(
            "name",
            format!(
                "名称与{what}字号和行业相同，同一辖区内不得使用 \
                 (the name has the trade name and industry of {} {id} in the same jurisdiction)",
                hit.name
            ),
        ))
    }
}

/// Ranges per query (two parameters each).
const RANGES_PER_QUERY: usize = 50;
/// Most candidate rows read per query.
const CANDIDATES: i64 = 500;

#[derive(sqlx::FromRow)]
struct NameRow {
    src: String,
    key: String,
    name: String,
    division: String,
    entity_type: String,
}

/// Checks a name: its parts (with `domicile`, the division code of the domicile, when
/// known) and, when they are all there, the register and the pending filings of its
/// jurisdiction for the same trade name and industry. `exclude` is a filing's own id (a
/// refiling does not collide with itself).
///
/// The register is read by ranges on the `name` index: every entity of the jurisdiction
/// whose name begins with one of the jurisdiction's division names (or the trade name
/// itself, for a bracketed division) followed by the trade name — a few dozen index seeks
/// whatever the size of the register.
pub async fn check_name(
    db: &Db,
    raw_name: &str,
    entity_type: EntityType,
    domicile: Option<&str>,
    exclude: Option<i64>,
) -> Result<NameCheck, AppError> {
    check_name_of(db, raw_name, entity_type, domicile, exclude, None).await
}

/// [`check_name`] for a registered entity that changes its name: the entity `own_uscc` does
/// not collide with itself.
pub async fn check_name_of(
    db: &Db,
    raw_name: &str,
    entity_type: EntityType,
    domicile: Option<&str>,
    exclude: Option<i64>,
    own_uscc: Option<&str>,
) -> Result<NameCheck, AppError> {
    let name = name::normalize(raw_name);
    let mut out = NameCheck {
        name: name.clone(),
        parts: None,
        errors: Vec::new(),
        scope: None,
        collisions: Vec::new(),
        similar: Vec::new(),
    };
    let parts = match name::check(&name, entity_type, domicile) {
        Ok(p) => p,
        Err(errors) => {
            out.errors = errors;
            return Ok(out);
        }
    };
    let region = parts
        .region
        .as_ref()
        .map(|r| r.code.clone())
        .unwrap_or_default();
    let scope = match (entity_type, domicile) {
        (EntityType::Branch, Some(d)) if d.len() >= 6 => d[..6].to_string(),
        _ => region,
    };
    let trade_name = parts.trade_name.clone().unwrap_or_default();
    let mut prefixes: Vec<String> = name::region_variants(&scope)
        .into_iter()
        .map(|v| format!("{v}{trade_name}"))
        .collect();
    prefixes.push(trade_name.clone());
    let pattern = format!("{scope}%");
    let mut rows = Vec::new();
    for chunk in prefixes.chunks(RANGES_PER_QUERY) {
        rows.extend(name_candidates(db, "entities", chunk, &pattern, 0).await?);
        rows.extend(
            name_candidates(db, "registrations", chunk, &pattern, exclude.unwrap_or(0)).await?,
        );
    }
    let mut seen = std::collections::HashSet::new();
    for r in rows {
        if !seen.insert(r.key.clone()) {
            continue;
        }
        let Some(t) = EntityType::parse(&r.entity_type) else {
            continue;
        };
        let is_entity = r.src == "entity";
        if is_entity && own_uscc == Some(r.key.as_str()) {
            continue;
        }
        let theirs = name::parse(&r.name, t, Some(&r.division));
        let likeness = if r.name == name {
            Likeness::SameName
        } else if entity_type != EntityType::Branch
            && theirs.collision_key().is_some()
            && theirs.collision_key() == parts.collision_key()
        {
            Likeness::SameTradeNameAndIndustry
        } else if theirs.trade_name == parts.trade_name {
            Likeness::SameTradeName
        } else {
            continue;
        };
        let hit = NameHit {
            uscc: is_entity.then(|| r.key.clone()),
            filing_no: (!is_entity).then(|| r.key.clone()),
            name: r.name,
            division: r.division,
            likeness,
        };
        if likeness == Likeness::SameTradeName {
            out.similar.push(hit);
        } else {
            out.collisions.push(hit);
        }
    }
    out.parts = Some(parts);
    out.scope = Some(scope);
    Ok(out)
}

/// Rows of `table` in the jurisdiction whose name begins with one of `prefixes`: an
/// entity's USCC, or a pending filing's filing number, as the key. Deregistered entities,
/// filings not pending and the filing `exclude` (an id; 0 for none) are left out.
async fn name_candidates(
    db: &Db,
    table: &str,
    prefixes: &[String],
    pattern: &str,
    exclude: i64,
) -> Result<Vec<NameRow>, AppError> {
    let ranges = (0..prefixes.len())
        .map(|i| format!("(name >= ${} AND name < ${})", 2 * i + 1, 2 * i + 2))
        .collect::<Vec<_>>()
        .join(" OR ");
    let p = 2 * prefixes.len() + 1;
    let sql = if table == "entities" {
        format!(
            "SELECT 'entity' AS src, uscc AS key, name, division, entity_type FROM entities \
             WHERE ({ranges}) AND division LIKE ${p} AND status <> 'deregistered' AND ${} = ${} \
             LIMIT {CANDIDATES}",
            p + 1,
            p + 1
        )
    } else {
        format!(
            "SELECT 'filing' AS src, filing_no AS key, name, division, entity_type FROM registrations \
             WHERE ({ranges}) AND division LIKE ${p} AND status = 'filed' AND id <> ${} \
             LIMIT {CANDIDATES}",
            p + 1
        )
    };
    let rows: Vec<NameRow> = on_conn!(db, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for prefix in prefixes {
            q = q.bind(prefix.clone()).bind(format!("{prefix}\u{10FFFF}"));
        }
        q.bind(pattern.to_string()).bind(exclude).fetch_all(c).await?
    });
    Ok(rows)
}

/// Names within two edits of the checked one among search hits (`candidates`: name, USCC,
/// division), added to the similar list when not listed yet.
pub fn add_close_names(check: &mut NameCheck, candidates: &[(String, String, String)]) {
    for (n, uscc, division) in candidates {
        let listed = check
            .collisions
            .iter()
            .chain(&check.similar)
            .any(|h| h.uscc.as_deref() == Some(uscc.as_str()));
        if !listed && *n != check.name && name::edit_distance(n, &check.name) <= 2 {
            check.similar.push(NameHit {
                uscc: Some(uscc.clone()),
                filing_no: None,
                name: n.clone(),
                division: division.clone(),
                likeness: Likeness::Close,
            });
        }
    }
}

/// A filing as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filing {
    #[serde(skip)]
    pub id: i64,
    pub filing_no: String,
    pub status: FilingStatus,
    pub name: String,
    pub entity_type: EntityType,
    /// The domicile's county or town code.
    pub division: String,
    pub application: Application,
    pub filing_hash: String,
    /// `accepted_standard` or `committed` (a declaration-commitment was recorded).
    pub address_outcome: String,
    pub commitment_id: Option<i64>,
    /// How many times it has been filed (1 = first filing).
    pub round: i32,
    /// The reasons of the last return.
    pub reasons: Option<String>,
    pub uscc: Option<String>,
    pub licence_version: Option<i32>,
    pub filed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FilingRow {
    id: i64,
    filing_no: String,
    token_hash: String,
    status: String,
    name: String,
    entity_type: String,
    division: String,
    application: String,
    filing_hash: String,
    address_outcome: String,
    commitment_id: Option<i64>,
    round: i32,
    reasons: Option<String>,
    uscc: Option<String>,
    licence_version: Option<i32>,
    filed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    decided_by: Option<String>,
}

const COLUMNS: &str = "id, filing_no, token_hash, status, name, entity_type, division, \
     application, filing_hash, address_outcome, commitment_id, round, reasons, uscc, \
     licence_version, filed_at, updated_at, decided_at, decided_by";

impl FilingRow {
    fn into_filing(self) -> Result<(Filing, String), AppError> {
        let bad = |what: &str| {
            AppError::Internal(anyhow::anyhow!(
                "registrations row {}: bad {what}",
                self.filing_no
            ))
        };
        let status = FilingStatus::parse(&self.status).ok_or_else(|| bad("status"))?;
        let entity_type = EntityType::parse(&self.entity_type).ok_or_else(|| bad("type"))?;
        let application: Application =
            serde_json::from_str(&self.application).map_err(|_| bad("application"))?;
        Ok((
            Filing {
                id: self.id,
                filing_no: self.filing_no,
                status,
                name: self.name,
                entity_type,
                division: self.division,
                application,
                filing_hash: self.filing_hash,
                address_outcome: self.address_outcome,
                commitment_id: self.commitment_id,
                round: self.round,
                reasons: self.reasons,
                uscc: self.uscc,
                licence_version: self.licence_version,
                filed_at: self.filed_at,
                updated_at: self.updated_at,
                decided_at: self.decided_at,
                decided_by: self.decided_by,
            },
            self.token_hash,
        ))
    }
}

/// One step of a filing.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Step {
    pub at: DateTime<Utc>,
    /// `filed`, `refiled`, `returned`, `approved`.
    pub action: String,
    pub actor: String,
    pub round: i32,
    pub note: Option<String>,
}

/// A validated application with what the checks found.
pub struct Prepared {
    pub app: Application,
    /// The domicile's town (or county) code.
    pub division: String,
    pub verdict: Verdict,
    pub names: NameCheck,
}

/// Validates an application: every field, the domicile (parsed, matched to the standard
/// address library, the negative list; an address not in the library needs the applicant's
/// commitment) and the name (parts and collisions). Nothing is written.
pub async fn prepare(
    db: &Db,
    input: &ApplicationInput,
    exclude: Option<i64>,
) -> Result<Prepared, AppError> {
    let app = input
        .validate()
        .map_err(|errors| field_errors_to_app(&errors))?;
    let (verdict, division) = check_domicile(
        db,
        &app.address,
        input.division.trim(),
        &app.industry,
        app.address_commitment,
    )
    .await?;
    let names = check_name(db, &app.name, app.entity_type, Some(&division), exclude).await?;
    if let Some(e) = names.refusal() {
        return Err(e);
    }
    Ok(Prepared {
        app,
        division,
        verdict,
        names,
    })
}

/// The domicile check a registration and a change both run: the address service's verdict
/// (a bad `hint` reported as the form's `division`) and the town or county the domicile is
/// in; refused with the negative-list rules that hit, or, without the applicant's
/// commitment, when the address is not in the standard library.
pub(crate) async fn check_domicile(
    db: &Db,
    address: &str,
    hint: &str,
    industry: &str,
    committed: bool,
) -> Result<(Verdict, String), AppError> {
    let req = CheckRequest {
        address: address.to_string(),
        hint: hint.to_string(),
        industry: industry.to_string(),
        ..CheckRequest::default()
    };
    let verdict = address_check::check(db, &req, address_check::today())
        .await
        .map_err(|e| match e {
            AppError::BadRequest { field, message } if field == "hint" => {
                AppError::bad_request("division", message)
            }
            other => other,
        })?;
    let p = &verdict.parsed;
    let division = p
        .town_code
        .as_deref()
        .or(p.county_code.as_deref())
        .ok_or_else(|| {
            AppError::bad_request(
                "address",
                "住所中未能识别出区县，请写明省、市、区（县） \
                 (no county could be read from the domicile; give province, city and county)",
            )
        })?
        .to_string();
    match verdict.outcome {
        Outcome::Refused => {
            let rules = verdict
                .negative_hits
                .iter()
                .map(|r| format!("{}：{}（{}）", r.value, r.reason, r.legal_basis))
                .collect::<Vec<_>>()
                .join("；");
            Err(AppError::rejected(format!(
                "住所命中负面清单，不能登记：{rules} (the domicile is on the negative list)"
            )))
        }
        Outcome::NeedsCommitment if !committed => Err(AppError::bad_request(
            "address_commitment",
            "住所不在标准地址库中，须由申请人承诺住所真实有效后方可提交 \
             (the domicile is not in the standard address library: commit that it is true \
             before filing)",
        )),
        _ => Ok((verdict, division)),
    }
}

/// The actor of an applicant who is not logged in.
pub fn applicant_actor(app: &Application, ip: &str) -> Actor {
    Actor {
        kind: "applicant",
        id: None,
        name: format!("applicant:{}", app.applicant.name),
        ip: Some(ip.to_string()),
    }
}

fn now() -> DateTime<Utc> {
    crate::store::now()
}

fn internal(e: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(e.into())
}

/// The audit view of a filing: no ID numbers.
fn audit_view(
    no: &str,
    app: &Application,
    division: &str,
    status: FilingStatus,
) -> serde_json::Value {
    json!({
        "filing_no": no,
        "status": status.as_str(),
        "name": app.name,
        "entity_type": app.entity_type.as_str(),
        "division": division,
        "address": app.address,
        "capital_yuan": app.capital_yuan,
        "industry": app.industry,
        "shareholders": app.shareholders.len(),
        "filing_hash": filing_hash(app),
    })
}

async fn add_step(
    tx: &mut Tx,
    id: i64,
    action: &str,
    actor: &Actor,
    round: i32,
    note: Option<&str>,
) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO registration_steps (registration_id, at, action, actor, round, note) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(now())
    .bind(action)
    .bind(actor.name.clone())
    .bind(round)
    .bind(note)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// Records the declaration-commitment the filing needs, if it needs one.
async fn commit_address(
    tx: &mut Tx,
    actor: &Actor,
    p: &Prepared,
    hint: &str,
) -> Result<(String, Option<i64>), AppError> {
    if p.verdict.outcome == Outcome::AcceptedStandard {
        return Ok(("accepted_standard".into(), None));
    }
    let c = commitment::record(
        tx,
        actor,
        &CommitmentInput {
            address: p.app.address.clone(),
            hint: hint.to_string(),
            applicant: p.app.name.clone(),
            uscc: String::new(),
        },
        &p.verdict,
    )
    .await?;
    Ok(("committed".into(), Some(c.id)))
}

/// Files a new application: validates it ([`prepare`]), records the address commitment when
/// one is needed, and stores the filing with its step, audit entry and event. Returns the
/// filing and the private token of the applicant's link (only its hash is kept).
pub async fn file(
    db: &Db,
    actor: Option<&Actor>,
    ip: &str,
    input: &ApplicationInput,
) -> Result<(Filing, String), AppError> {
    let p = prepare(db, input, None).await?;
    let actor = actor
        .cloned()
        .unwrap_or_else(|| applicant_actor(&p.app, ip));
    let token = random_token();
    let mut tx = db.begin().await?;
    let (outcome, commitment_id) = commit_address(&mut tx, &actor, &p, &input.division).await?;
    let at = now();
    let hash = filing_hash(&p.app);
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO registrations (filing_no, token_hash, status, name, entity_type, division, \
         application, filing_hash, address_outcome, commitment_id, round, filed_at, updated_at) \
         VALUES ($1, $2, 'filed', $3, $4, $5, $6, $7, $8, $9, 1, $10, $10) RETURNING id",
    )
    .bind(format!("pending-{token}"))
    .bind(token_hash(&token))
    .bind(&p.app.name)
    .bind(p.app.entity_type.as_str())
    .bind(&p.division)
    .bind(canonical_json(&p.app))
    .bind(&hash)
    .bind(&outcome)
    .bind(commitment_id)
    .bind(at)
    .fetch_one(&mut *c)
    .await?);
    let china = at + chrono::Duration::hours(8);
    let no = format!("DJ{}{id:06}", china.format("%Y%m%d"));
    on_tx!(tx, c => sqlx::query("UPDATE registrations SET filing_no = $1 WHERE id = $2")
        .bind(&no)
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected());
    add_step(&mut tx, id, "filed", &actor, 1, None).await?;
    audit::record(
        &mut tx,
        &actor,
        audit::Change {
            action: "registration.file",
            target_kind: "registration",
            target_id: no.clone(),
            division: Some(p.division.clone()),
            before: None,
            after: Some(audit_view(&no, &p.app, &p.division, FilingStatus::Filed)),
        },
    )
    .await?;
    events::append(
        &mut tx,
        NewEvent::internal(
            "registry.registration.filed",
            json!({"filing_no": no, "name": p.app.name, "entity_type": p.app.entity_type.as_str(),
                   "division": p.division, "round": 1, "filing_hash": hash}),
        )
        .division(&p.division)
        .actor(actor.label()),
    )
    .await?;
    let filing = get_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok((filing, token))
}

async fn get_in(tx: &mut Tx, id: i64) -> Result<Filing, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM registrations WHERE id = $1");
    let row: FilingRow = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *c)
        .await?);
    Ok(row.into_filing()?.0)
}

async fn get_row(db: &Db, filing_no: &str) -> Result<Option<FilingRow>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM registrations WHERE filing_no = $1");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(filing_no.trim().to_string())
        .fetch_optional(c)
        .await?))
}

/// Whether a reference has the form of a registration filing number: `DJ`, the filing's day
/// (8 digits) and its serial (6 digits or more), as [`file`] makes them.
pub fn is_filing_no(reference: &str) -> bool {
    reference
        .strip_prefix("DJ")
        .is_some_and(|d| d.len() >= 14 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// A filing's current `filing_hash` and its domicile's division (for signatures), if the
/// number exists. No scope: the caller only learns whether a hash it already holds is current.
pub async fn current_hash(db: &Db, filing_no: &str) -> Result<Option<(String, String)>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT filing_hash, division FROM registrations WHERE filing_no = $1",
    )
    .bind(filing_no.trim().to_string())
    .fetch_optional(c)
    .await?))
}

/// The filing for its applicant: the filing number and the private token must match;
/// [`AppError::NotFound`] otherwise (a wrong token says no more than an unknown number).
pub async fn get_for_applicant(db: &Db, filing_no: &str, token: &str) -> Result<Filing, AppError> {
    let row = get_row(db, filing_no).await?.ok_or(AppError::NotFound)?;
    let (filing, hash) = row.into_filing()?;
    // Hashes compared: timing says nothing about the token.
    if token.trim().is_empty() || token_hash(token.trim()) != hash {
        return Err(AppError::NotFound);
    }
    Ok(filing)
}

/// The filing within the officer's jurisdiction; [`AppError::NotFound`] outside it.
pub async fn get_scoped(db: &Db, scope: &Scope, filing_no: &str) -> Result<Filing, AppError> {
    let row = get_row(db, filing_no).await?.ok_or(AppError::NotFound)?;
    let (filing, _) = row.into_filing()?;
    if !scope.contains(Some(&filing.division)) {
        return Err(AppError::NotFound);
    }
    Ok(filing)
}

/// The steps of a filing, oldest first.
pub async fn steps(db: &Db, id: i64) -> Result<Vec<Step>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT at, action, actor, round, note FROM registration_steps \
         WHERE registration_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(c)
    .await?))
}

/// Filings of the jurisdiction with `status`, oldest first, after the filing `after` (its
/// id), at most `limit`.
pub async fn list_scoped(
    db: &Db,
    scope: &Scope,
    status: FilingStatus,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Filing>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM registrations WHERE status = $1 AND {} AND id > $3 \
         ORDER BY id LIMIT $4",
        scope.division_filter("division", 2)
    );
    let rows: Vec<FilingRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(status.as_str())
        .bind(scope.like_pattern())
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(c)
        .await?);
    rows.into_iter()
        .map(|r| r.into_filing().map(|(f, _)| f))
        .collect()
}

/// The refusal of a step the filing's state does not allow.
fn state_refusal(f: &Filing, step: &str) -> AppError {
    let no = &f.filing_no;
    AppError::rejected(match (f.status, step) {
        (FilingStatus::Approved, "approve") => format!(
            "申请 {no} 已核准，不能重复核准 (filing {no} is already approved; it cannot be approved twice)"
        ),
        (FilingStatus::Returned, "approve") => format!(
            "申请 {no} 已退回申请人，须申请人更正并重新提交后才能核准 \
             (filing {no} was returned; it can be approved only after the applicant refiles it)"
        ),
        (FilingStatus::Approved, _) => format!(
            "申请 {no} 已核准，不能再退回或更改 (filing {no} is approved; it cannot be returned or changed)"
        ),
        (FilingStatus::Returned, "return") => format!(
            "申请 {no} 已退回，等待申请人更正 (filing {no} is already returned, waiting for the applicant)"
        ),
        (FilingStatus::Filed, "refile") => format!(
            "申请 {no} 正在审查中，只有被退回的申请才能更正重新提交 \
             (filing {no} is under examination; only a returned filing can be corrected and refiled)"
        ),
        _ => format!("申请 {no} 的状态不允许此操作 (the state of filing {no} does not allow this)"),
    })
}

/// Returns a filed application to its applicant with reasons (1–2,000 characters).
pub async fn return_filing(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    filing_no: &str,
    reasons: &str,
) -> Result<Filing, AppError> {
    let f = get_scoped(db, scope, filing_no).await?;
    let reasons = reasons.trim();
    let n = reasons.chars().count();
    if n == 0
        || n > 2000
        || reasons
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(AppError::bad_request(
            "reasons",
            "请写明退回理由（不超过 2000 字） (give the reasons for returning, at most 2,000 characters)",
        ));
    }
    if f.status != FilingStatus::Filed {
        return Err(state_refusal(&f, "return"));
    }
    let mut tx = db.begin().await?;
    let at = now();
    let changed = on_tx!(tx, c => sqlx::query(
        "UPDATE registrations SET status = 'returned', reasons = $1, updated_at = $2, \
         decided_at = $2, decided_by = $3 WHERE id = $4 AND status = 'filed'",
    )
    .bind(reasons)
    .bind(at)
    .bind(actor.name.clone())
    .bind(f.id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if changed == 0 {
        return Err(state_refusal(&get_in(&mut tx, f.id).await?, "return"));
    }
    add_step(&mut tx, f.id, "returned", actor, f.round, Some(reasons)).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action: "registration.return",
            target_kind: "registration",
            target_id: f.filing_no.clone(),
            division: Some(f.division.clone()),
            before: Some(json!({"status": "filed"})),
            after: Some(json!({"status": "returned", "reasons": reasons})),
        },
    )
    .await?;
    events::append(
        &mut tx,
        NewEvent::internal(
            "registry.registration.returned",
            json!({"filing_no": f.filing_no, "round": f.round, "reasons": reasons}),
        )
        .division(&f.division)
        .actor(actor.label()),
    )
    .await?;
    let out = get_in(&mut tx, f.id).await?;
    tx.commit().await?;
    Ok(out)
}

/// The applicant corrects a returned filing and files it again (all checks run again).
pub async fn refile(
    db: &Db,
    actor: Option<&Actor>,
    ip: &str,
    filing_no: &str,
    token: &str,
    input: &ApplicationInput,
) -> Result<Filing, AppError> {
    let f = get_for_applicant(db, filing_no, token).await?;
    if f.status != FilingStatus::Returned {
        return Err(state_refusal(&f, "refile"));
    }
    let p = prepare(db, input, Some(f.id)).await?;
    let actor = actor
        .cloned()
        .unwrap_or_else(|| applicant_actor(&p.app, ip));
    let mut tx = db.begin().await?;
    let (outcome, commitment_id) = commit_address(&mut tx, &actor, &p, &input.division).await?;
    let hash = filing_hash(&p.app);
    let round = f.round + 1;
    let changed = on_tx!(tx, c => sqlx::query(
        "UPDATE registrations SET status = 'filed', name = $1, entity_type = $2, division = $3, \
         application = $4, filing_hash = $5, address_outcome = $6, commitment_id = $7, \
         round = $8, reasons = NULL, updated_at = $9, decided_at = NULL, decided_by = NULL \
         WHERE id = $10 AND status = 'returned'",
    )
    .bind(&p.app.name)
    .bind(p.app.entity_type.as_str())
    .bind(&p.division)
    .bind(canonical_json(&p.app))
    .bind(&hash)
    .bind(&outcome)
    .bind(commitment_id)
    .bind(round)
    .bind(now())
    .bind(f.id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if changed == 0 {
        return Err(state_refusal(&get_in(&mut tx, f.id).await?, "refile"));
    }
    add_step(&mut tx, f.id, "refiled", &actor, round, None).await?;
    audit::record(
        &mut tx,
        &actor,
        audit::Change {
            action: "registration.refile",
            target_kind: "registration",
            target_id: f.filing_no.clone(),
            division: Some(p.division.clone()),
            before: Some(audit_view(
                &f.filing_no,
                &f.application,
                &f.division,
                f.status,
            )),
            after: Some(audit_view(
                &f.filing_no,
                &p.app,
                &p.division,
                FilingStatus::Filed,
            )),
        },
    )
    .await?;
    events::append(
        &mut tx,
        NewEvent::internal(
            "registry.registration.filed",
            json!({"filing_no": f.filing_no, "name": p.app.name,
                   "entity_type": p.app.entity_type.as_str(), "division": p.division,
                   "round": round, "filing_hash": hash}),
        )
        .division(&p.division)
        .actor(actor.label()),
    )
    .await?;
    let out = get_in(&mut tx, f.id).await?;
    tx.commit().await?;
    Ok(out)
}

/// Tries at generating a USCC that is not issued yet.
const USCC_TRIES: usize = 8;

/// Approves a filed application: the name is checked against the register again, the entity
/// is registered ([`crate::store::create`]) with a USCC generated for the county of its
/// domicile, established on `today` (the server's day), and its licence issued (version 1),
/// all in one transaction.
pub async fn approve(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    filing_no: &str,
    today: chrono::NaiveDate,
) -> Result<Filing, AppError> {
    let f = get_scoped(db, scope, filing_no).await?;
    if f.status != FilingStatus::Filed {
        return Err(state_refusal(&f, "approve"));
    }
    let app = &f.application;
    let names = check_name(
        db,
        &app.name,
        app.entity_type,
        Some(&f.division),
        Some(f.id),
    )
    .await?;
    if let Some(e) = names.refusal() {
        let msg = match e {
            AppError::BadRequest { message, .. } => message,
            other => other.to_string(),
        };
        return Err(AppError::rejected(msg));
    }
    let mut tx = db.begin().await?;
    let at = now();
    let changed = on_tx!(tx, c => sqlx::query(
        "UPDATE registrations SET status = 'approved', updated_at = $1, decided_at = $1, \
         decided_by = $2 WHERE id = $3 AND status = 'filed'",
    )
    .bind(at)
    .bind(actor.name.clone())
    .bind(f.id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if changed == 0 {
        return Err(state_refusal(&get_in(&mut tx, f.id).await?, "approve"));
    }
    let county = &f.division[..6];
    let mut entity = None;
    for _ in 0..USCC_TRIES {
        let uscc = Uscc::generate(
            app.entity_type.registration_type(),
            county,
            &mut rand::rng(),
        )
        .map_err(internal)?;
        let new = NewEntity {
            uscc: uscc.as_str().to_string(),
            name: app.name.clone(),
            entity_type: app.entity_type,
            legal_rep: app.legal_rep.name.clone(),
            legal_rep_id: Some(app.legal_rep.id_number.clone()),
            phone: app.phone.clone(),
            capital_yuan: app.capital_yuan,
            established: today,
            address: app.address.clone(),
            division: f.division.clone(),
            scope: app.scope.clone(),
            industry: app.industry.clone(),
            status: Status::Active,
        };
        match crate::store::create(&mut tx, actor, &new).await {
            Ok(e) => {
                entity = Some(e);
                break;
            }
            Err(AppError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    let entity = entity.ok_or_else(|| {
        internal(anyhow::anyhow!(
            "no free USCC for {county} after {USCC_TRIES} tries"
        ))
    })?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE registrations SET uscc = $1, licence_version = 1 WHERE id = $2",
    )
    .bind(&entity.uscc)
    .bind(f.id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    add_step(
        &mut tx,
        f.id,
        "approved",
        actor,
        f.round,
        Some(&entity.uscc),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action: "registration.approve",
            target_kind: "registration",
            target_id: f.filing_no.clone(),
            division: Some(f.division.clone()),
            before: Some(json!({"status": "filed"})),
            after: Some(json!({"status": "approved", "uscc": entity.uscc, "licence_version": 1})),
        },
    )
    .await?;
    events::append(
        &mut tx,
        NewEvent::internal(
            "registry.registration.approved",
            json!({"filing_no": f.filing_no, "uscc": entity.uscc, "name": entity.name,
                   "licence_version": 1, "round": f.round}),
        )
        .uscc(&entity.uscc)
        .division(&f.division)
        .actor(actor.label()),
    )
    .await?;
    let out = get_in(&mut tx, f.id).await?;
    tx.commit().await?;
    Ok(out)
}
