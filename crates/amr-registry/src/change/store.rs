//! The SQL of change registration: the checks that read the database, filing (and refiling a
//! returned application), return, approval, and the reads of the enterprise and officers.
//!
//! Every write runs in one transaction with its audit entry and event
//! (`registry.change.filed`, `.returned`, `.approved`; internal: an application is not
//! public). Approval applies the change through [`crate::store::change_from`] in the same
//! transaction, so the public `registry.entity.changed` event follows. State changes are
//! conditional updates (`... WHERE status = 'filed'`): two officers acting at once cannot both
//! succeed; the unique index on open applications keeps one per entity.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use amr_address::check::{self as address_check, Outcome};
use amr_address::commitment::{self, CommitmentInput};
use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::model::{self, ChangeInput, Requested};
use crate::model::{Entity, Status, field_errors_to_app};
use crate::registration::store::{check_domicile, check_name_of};

/// A change application as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Application {
    pub id: i64,
    pub uscc: String,
    /// The entity's division when filed: the examining jurisdiction.
    pub division: String,
    /// `filed`, `returned`, `approved`.
    pub status: String,
    pub requested: Requested,
    pub reason: String,
    /// `accepted_standard` or `committed` when the domicile changes.
    pub address_outcome: Option<String>,
    pub commitment_id: Option<i64>,
    /// How many times it has been filed (1 = first filing).
    pub round: i32,
    /// The reasons of the last return.
    pub reasons: Option<String>,
    pub filed_at: DateTime<Utc>,
    pub filed_by: String,
    pub updated_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    /// The timepoint of the approved change's `registry.entity.changed` event.
    pub timepoint: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    uscc: String,
    division: String,
    status: String,
    requested: String,
    reason: String,
    address_outcome: Option<String>,
    commitment_id: Option<i64>,
    round: i32,
    reasons: Option<String>,
    filed_at: DateTime<Utc>,
    filed_by: String,
    updated_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    decided_by: Option<String>,
    timepoint: Option<i64>,
}

const COLUMNS: &str = "id, uscc, division, status, requested, reason, address_outcome, \
     commitment_id, round, reasons, filed_at, filed_by, updated_at, decided_at, decided_by, \
     timepoint";

impl TryFrom<Row> for Application {
    type Error = AppError;
    fn try_from(r: Row) -> Result<Application, AppError> {
        let requested = serde_json::from_str(&r.requested)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("change application {}: {e}", r.id)))?;
        Ok(Application {
            id: r.id,
            uscc: r.uscc,
            division: r.division,
            status: r.status,
            requested,
            reason: r.reason,
            address_outcome: r.address_outcome,
            commitment_id: r.commitment_id,
            round: r.round,
            reasons: r.reasons,
            filed_at: r.filed_at,
            filed_by: r.filed_by,
            updated_at: r.updated_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
            timepoint: r.timepoint,
        })
    }
}

fn now() -> DateTime<Utc> {
    crate::store::now()
}

/// The refusal of an entity that can no longer change.
fn status_refusal(e: &Entity) -> Option<AppError> {
    match e.status {
        Status::Active | Status::Suspended => None,
        s => Some(AppError::rejected(format!(
            "主体状态为“{}”，不能办理变更登记（仅存续或歇业的主体可以变更） \
             (the entity is {}; only an active or suspended entity may file a change)",
            match s {
                Status::Revoked => "吊销",
                Status::Deregistered => "注销",
                _ => "迁出",
            },
            s.as_str()
        ))),
    }
}

/// What the checks that read the database found.
struct Checked {
    requested: Requested,
    reason: String,
    verdict: Option<address_check::Verdict>,
}

/// Validates the form against `e` and checks a new name (parts and collisions in the
/// jurisdiction, the entity excluded) and a new domicile (negative list, commitment, within
/// the province). Nothing is written.
async fn check(db: &Db, e: &Entity, input: &ChangeInput) -> Result<Checked, AppError> {
    let (mut requested, reason) =
        model::validate(e, input).map_err(|errs| field_errors_to_app(&errs))?;
    let mut verdict = None;
    if let Some(address) = &requested.address {
        let industry = requested.industry.as_deref().unwrap_or(&e.industry);
        let (v, division) = check_domicile(
            db,
            address,
            input.division.trim(),
            industry,
            input.address_commitment,
        )
        .await?;
        if division.get(..2) != e.division.get(..2) {
            return Err(AppError::rejected(format!(
                "新住所（区划 {division}）不在本省，应办理迁移登记而非变更登记 \
                 (the new domicile is outside the province: that is a migration, not a change)"
            )));
        }
        if division != e.division {
            requested.division = Some(division);
        }
        verdict = Some(v);
    }
    if let Some(name) = &requested.name {
        check_new_name(db, e, name, requested.division.as_deref()).await?;
    }
    Ok(Checked {
        requested,
        reason,
        verdict,
    })
}

/// A new name: its parts and collisions in the jurisdiction of the domicile (the new one when
/// it moves), the entity itself excluded.
async fn check_new_name(
    db: &Db,
    e: &Entity,
    name: &str,
    new_division: Option<&str>,
) -> Result<(), AppError> {
    let domicile = new_division.unwrap_or(&e.division);
    let names = check_name_of(db, name, e.entity_type, Some(domicile), None, Some(&e.uscc)).await?;
    match names.refusal() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

async fn get_in(tx: &mut Tx, id: i64) -> Result<Application, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM change_applications WHERE id = $1");
    let row: Row = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *c)
        .await?);
    row.try_into()
}

async fn open_in(tx: &mut Tx, uscc: &str) -> Result<Option<Application>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM change_applications \
         WHERE uscc = $1 AND status IN ('filed', 'returned')"
    );
    let row: Option<Row> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_optional(&mut *c)
        .await?);
    row.map(Application::try_from).transpose()
}

/// Files a change application for the entity `uscc` within `scope` (the enterprise's own, or
/// an officer's jurisdiction), or, when its open application was returned, files that one
/// again corrected (round + 1). Refused while one is under examination.
pub async fn file(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    input: &ChangeInput,
) -> Result<Application, AppError> {
    let e = crate::store::get_scoped(db, scope, uscc).await?;
    if let Some(err) = status_refusal(&e) {
        return Err(err);
    }
    let checked = check(db, &e, input).await?;
    let mut tx = db.begin().await?;
    let e = crate::store::lock_scoped(&mut tx, scope, uscc).await?;
    if let Some(err) = status_refusal(&e) {
        return Err(err);
    }
    let open = open_in(&mut tx, &e.uscc).await?;
    if let Some(a) = &open
        && a.status == "filed"
    {
        return Err(AppError::rejected(format!(
            "已有变更申请（编号 {}）正在审查中，同一主体同时只能有一件变更申请 \
             (change application {} is under examination; one open application per entity)",
            a.id, a.id
        )));
    }
    let (outcome, commitment_id) = match &checked.verdict {
        None => (None, None),
        Some(v) if v.outcome == Outcome::AcceptedStandard => {
            (Some("accepted_standard".to_string()), None)
        }
        Some(v) => {
            let c = commitment::record(
                &mut tx,
                actor,
                &CommitmentInput {
                    address: checked.requested.address.clone().unwrap_or_default(),
                    hint: input.division.trim().to_string(),
                    applicant: e.name.clone(),
                    uscc: e.uscc.clone(),
                },
                v,
            )
            .await?;
            (Some("committed".to_string()), Some(c.id))
        }
    };
    let requested =
        serde_json::to_string(&checked.requested).map_err(|e| AppError::Internal(e.into()))?;
    let at = now();
    let (id, round, action) = match open {
        Some(a) => {
            let round = a.round + 1;
            on_tx!(tx, c => sqlx::query(
                "UPDATE change_applications SET status = 'filed', requested = $1, reason = $2, \
                 address_outcome = $3, commitment_id = $4, round = $5, reasons = NULL, \
                 updated_at = $6, decided_at = NULL, decided_by = NULL, filed_by = $7 \
                 WHERE id = $8 AND status = 'returned'",
            )
            .bind(&requested)
            .bind(&checked.reason)
            .bind(&outcome)
            .bind(commitment_id)
            .bind(round)
            .bind(at)
            .bind(&actor.name)
            .bind(a.id)
            .execute(&mut *c)
            .await?
            .rows_affected());
            (a.id, round, "change.refile")
        }
        None => {
            let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
                "INSERT INTO change_applications (uscc, division, status, requested, reason, \
                 address_outcome, commitment_id, round, filed_at, filed_by, updated_at) \
                 VALUES ($1, $2, 'filed', $3, $4, $5, $6, 1, $7, $8, $7) RETURNING id",
            )
            .bind(&e.uscc)
            .bind(&e.division)
            .bind(&requested)
            .bind(&checked.reason)
            .bind(&outcome)
            .bind(commitment_id)
            .bind(at)
            .bind(&actor.name)
            .fetch_one(&mut *c)
            .await?);
            (id, 1, "change.file")
        }
    };
    let public_view = checked.requested.without_id();
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action,
            target_kind: "change_application",
            target_id: id.to_string(),
            division: Some(e.division.clone()),
            before: None,
            after: Some(json!({"uscc": e.uscc, "status": "filed", "round": round,
                               "requested": public_view, "reason": checked.reason,
                               "legal_rep_id_changed": checked.requested.legal_rep_id.is_some()})),
        },
    )
    .await?;
    events::append(
        &mut tx,
        NewEvent::internal(
            "registry.change.filed",
            json!({"id": id, "uscc": e.uscc, "round": round,
                   "fields": field_names(&checked.requested)}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    let out = get_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(out)
}

/// The names of the items an application changes, as the history names them.
pub fn field_names(r: &Requested) -> Vec<&'static str> {
    let mut out = Vec::new();
    let items: [(&'static str, bool); 8] = [
        ("name", r.name.is_some()),
        ("legal_rep", r.legal_rep.is_some()),
        ("legal_rep_id", r.legal_rep_id.is_some()),
        ("capital_yuan", r.capital_yuan.is_some()),
        ("address", r.address.is_some()),
        ("division", r.division.is_some()),
        ("scope", r.scope.is_some()),
        ("industry", r.industry.is_some()),
    ];
    for (f, set) in items {
        if set {
            out.push(f);
        }
    }
    out
}

/// An application within the officer's jurisdiction; [`AppError::NotFound`] outside it.
pub async fn get_scoped(db: &Db, scope: &Scope, id: i64) -> Result<Application, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM change_applications WHERE id = $1 AND {}",
        scope.division_filter("division", 2)
    );
    let row: Option<Row> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

/// The applications of one entity, newest first.
pub async fn list_for_entity(db: &Db, uscc: &str) -> Result<Vec<Application>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM change_applications WHERE uscc = $1 ORDER BY id DESC");
    let rows: Vec<Row> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(c)
        .await?);
    rows.into_iter().map(Application::try_from).collect()
}

/// The applications of the jurisdiction with `status`, oldest first, at most `limit`.
pub async fn list_scoped(
    db: &Db,
    scope: &Scope,
    status: &str,
    limit: i64,
) -> Result<Vec<Application>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM change_applications WHERE status = $1 AND {} \
         ORDER BY id LIMIT $3",
        scope.division_filter("division", 2)
    );
    let rows: Vec<Row> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(status)
        .bind(scope.like_pattern())
        .bind(limit)
        .fetch_all(c)
        .await?);
    rows.into_iter().map(Application::try_from).collect()
}

/// The refusal of a decision on an application that is not under examination.
fn state_refusal(a: &Application) -> AppError {
    let id = a.id;
    AppError::rejected(match a.status.as_str() {
        "approved" => format!(
            "变更申请 {id} 已核准，不能再核准或退回 (change application {id} is already approved)"
        ),
        "returned" => format!(
            "变更申请 {id} 已退回，须申请人更正并重新提交后才能审查 \
             (change application {id} was returned; it is examined again only after refiling)"
        ),
        _ => format!(
            "变更申请 {id} 的状态不允许此操作 (the state of change application {id} does not allow this)"
        ),
    })
}

/// Returns a filed application to the enterprise with reasons (1–2,000 characters).
pub async fn return_application(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    reasons: &str,
) -> Result<Application, AppError> {
    let a = get_scoped(db, scope, id).await?;
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
    if a.status != "filed" {
        return Err(state_refusal(&a));
    }
    let mut tx = db.begin().await?;
    let at = now();
    let changed = on_tx!(tx, c => sqlx::query(
        "UPDATE change_applications SET status = 'returned', reasons = $1, updated_at = $2, \
         decided_at = $2, decided_by = $3 WHERE id = $4 AND status = 'filed'",
    )
    .bind(reasons)
    .bind(at)
    .bind(&actor.name)
    .bind(a.id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if changed == 0 {
        return Err(state_refusal(&get_in(&mut tx, a.id).await?));
    }
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action: "change.return",
            target_kind: "change_application",
            target_id: a.id.to_string(),
            division: Some(a.division.clone()),
            before: Some(json!({"status": "filed"})),
            after: Some(json!({"status": "returned", "reasons": reasons})),
        },
    )
    .await?;
    events::append(
        &mut tx,
        NewEvent::internal(
            "registry.change.returned",
            json!({"id": a.id, "uscc": a.uscc, "round": a.round, "reasons": reasons}),
        )
        .uscc(&a.uscc)
        .division(&a.division)
        .actor(actor.label()),
    )
    .await?;
    let out = get_in(&mut tx, a.id).await?;
    tx.commit().await?;
    Ok(out)
}

/// Approves a filed application: the entity's state and a new name are checked again, then
/// the change is applied ([`crate::store::change_from`], within the province of the current
/// domicile) with the application's id on every history row, all in one transaction.
pub async fn approve(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    id: i64,
) -> Result<Application, AppError> {
    let a = get_scoped(db, scope, id).await?;
    if a.status != "filed" {
        return Err(state_refusal(&a));
    }
    let e = crate::store::get_scoped(db, &Scope::all(), &a.uscc).await?;
    if let Some(err) = status_refusal(&e) {
        return Err(err);
    }
    if let Some(name) = &a.requested.name {
        check_new_name(db, &e, name, a.requested.division.as_deref())
            .await
            .map_err(|err| match err {
                AppError::BadRequest { message, .. } => AppError::rejected(message),
                other => other,
            })?;
    }
    let mut tx = db.begin().await?;
    let at = now();
    let changed = on_tx!(tx, c => sqlx::query(
        "UPDATE change_applications SET status = 'approved', updated_at = $1, decided_at = $1, \
         decided_by = $2 WHERE id = $3 AND status = 'filed'",
    )
    .bind(at)
    .bind(&actor.name)
    .bind(a.id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if changed == 0 {
        return Err(state_refusal(&get_in(&mut tx, a.id).await?));
    }
    let e = crate::store::lock_scoped(&mut tx, &Scope::all(), &a.uscc).await?;
    if let Some(err) = status_refusal(&e) {
        return Err(err);
    }
    let province = Scope::prefix(e.division.get(..2).unwrap_or_default());
    let (_, timepoint) = crate::store::change_from(
        &mut tx,
        actor,
        &province,
        &a.uscc,
        &a.requested.to_change(),
        Some(a.id),
    )
    .await?;
    on_tx!(tx, c => sqlx::query("UPDATE change_applications SET timepoint = $1 WHERE id = $2")
        .bind(timepoint)
        .bind(a.id)
        .execute(&mut *c)
        .await?
        .rows_affected());
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action: "change.approve",
            target_kind: "change_application",
            target_id: a.id.to_string(),
            division: Some(a.division.clone()),
            before: Some(json!({"status": "filed"})),
            after: Some(json!({"status": "approved", "uscc": a.uscc, "timepoint": timepoint})),
        },
    )
    .await?;
    events::append(
        &mut tx,
        NewEvent::internal(
            "registry.change.approved",
            json!({"id": a.id, "uscc": a.uscc, "round": a.round, "timepoint": timepoint,
                   "fields": field_names(&a.requested)}),
        )
        .uscc(&a.uscc)
        .division(&a.division)
        .actor(actor.label()),
    )
    .await?;
    let out = get_in(&mut tx, a.id).await?;
    tx.commit().await?;
    Ok(out)
}
