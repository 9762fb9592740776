//! Deregistration (注销): ordinary (after liquidation) or simplified (20-day public notice,
//! objections, then the application), the officer's decision, and the flags that bar the
//! simplified way.
//!
//! States: `notice` (simplified, filed: the notice runs 20 days) → `applied` (ordinary at
//! filing; simplified once the notice has ended without open objections) → `approved` (the
//! entity is deregistered) or `refused`; a simplified one is `terminated` when an officer
//! upholds an objection.
//!
//! Events: `registry.entity.deregistration_notice` (public: `{uscc, notice_start,
//! notice_end}`), `registry.deregistration.applied`, `registry.deregistration.objection_filed`,
//! `registry.deregistration.objection_resolved`, `registry.deregistration.refused`,
//! `registry.entity.flags_set` (internal), `registry.entity.deregistered` (public: `{uscc,
//! kind, on}`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::rules::{self, Bars, DeregKind};
use super::suspension::store_now;
use crate::model::{Entity, Status};
use crate::store;

/// A deregistration as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Deregistration {
    pub id: i64,
    pub uscc: String,
    pub division: String,
    pub kind: String,
    pub state: String,
    pub reason: String,
    pub liquidation_group_on: Option<NaiveDate>,
    pub creditor_notice_on: Option<NaiveDate>,
    pub liquidation_report_on: Option<NaiveDate>,
    pub notice_start: Option<NaiveDate>,
    pub notice_end: Option<NaiveDate>,
    pub filed_at: DateTime<Utc>,
    pub filed_by: String,
    pub applied_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
}

const COLUMNS: &str = "id, uscc, division, kind, state, reason, liquidation_group_on, \
    creditor_notice_on, liquidation_report_on, notice_start, notice_end, filed_at, filed_by, \
    applied_at, decided_at, decided_by, decision_note";

/// States in which a deregistration is under way.
const OPEN: &str = "state IN ('notice', 'applied')";

/// An objection as stored (objector and contact: officers only).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Objection {
    pub id: i64,
    pub deregistration_id: i64,
    pub uscc: String,
    pub division: String,
    pub objector: String,
    pub contact: String,
    pub reason: String,
    pub state: String,
    pub filed_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
}

const OBJ_COLUMNS: &str = "id, deregistration_id, uscc, division, objector, contact, reason, \
    state, filed_at, resolved_at, resolved_by, resolution_note";

/// The filing, as the enterprise fills it in (dates `YYYY-MM-DD`; the liquidation dates only
/// for the ordinary kind).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DeregInput {
    pub kind: String,
    pub reason: String,
    pub liquidation_group_on: String,
    pub creditor_notice_on: String,
    pub liquidation_report_on: String,
}

/// An objection, as anyone files it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ObjectionInput {
    pub objector: String,
    pub contact: String,
    pub reason: String,
}

fn lock_clause(tx: &Tx) -> &'static str {
    match tx.inner {
        TxInner::Postgres(_) => " FOR UPDATE",
        TxInner::Sqlite(_) => "",
    }
}

/// The deregistration of an entity under way, if any.
pub(crate) async fn open_in(tx: &mut Tx, uscc: &str) -> Result<Option<Deregistration>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM entity_deregistrations WHERE uscc = $1 AND {OPEN} \
         ORDER BY id DESC LIMIT 1{}",
        lock_clause(tx)
    );
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_optional(&mut *c)
        .await?))
}

/// The deregistration of an entity under way on `today`: a simplified notice whose
/// application window has passed without an application is marked `lapsed` first (so it no
/// longer blocks a new filing or a suspension).
pub(crate) async fn current_in(
    tx: &mut Tx,
    uscc: &str,
    today: NaiveDate,
) -> Result<Option<Deregistration>, AppError> {
    let Some(d) = open_in(tx, uscc).await? else {
        return Ok(None);
    };
    if is_lapsed(&d, today) {
        on_tx!(tx, c => sqlx::query(
            "UPDATE entity_deregistrations SET state = 'lapsed' WHERE id = $1 AND state = 'notice'",
        )
        .bind(d.id)
        .execute(&mut *c)
        .await?
        .rows_affected());
        return Ok(None);
    }
    Ok(Some(d))
}

/// Whether a simplified notice was not followed by an application in time.
pub fn is_lapsed(d: &Deregistration, today: NaiveDate) -> bool {
    d.state == "notice"
        && d.notice_end
            .is_some_and(|e| today > e + chrono::Duration::days(rules::SIMPLIFIED_APPLY_DAYS))
}

/// Every deregistration of an entity, newest first.
pub async fn list(db: &Db, uscc: &str) -> Result<Vec<Deregistration>, AppError> {
    let sql =
        format!("SELECT {COLUMNS} FROM entity_deregistrations WHERE uscc = $1 ORDER BY id DESC");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(c)
        .await?))
}

/// The objections to the deregistrations of an entity, newest first.
pub async fn objections(db: &Db, uscc: &str) -> Result<Vec<Objection>, AppError> {
    let sql = format!(
        "SELECT {OBJ_COLUMNS} FROM deregistration_objections WHERE uscc = $1 ORDER BY id DESC"
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(c)
        .await?))
}

/// The deregistrations awaiting an officer within the scope (applied, or in notice with open
/// objections), oldest first, at most 200.
pub async fn queue(db: &Db, scope: &Scope) -> Result<Vec<Deregistration>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM entity_deregistrations d WHERE (state = 'applied' OR (state = 'notice' \
         AND EXISTS (SELECT 1 FROM deregistration_objections o WHERE o.deregistration_id = d.id \
         AND o.state = 'open'))) AND {} ORDER BY id LIMIT 200",
        scope.division_filter("division", 1)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .fetch_all(c)
        .await?))
}

/// The flags of an entity (all false when none were ever set).
pub async fn flags(db: &Db, uscc: &str) -> Result<Bars, AppError> {
    let row: Option<(bool, bool, bool, bool)> = on_conn!(db, c => sqlx::query_as(
        "SELECT abnormal_list, serious_list, equity_frozen, equity_pledged FROM entity_flags WHERE uscc = $1",
    )
    .bind(uscc)
    .fetch_optional(c)
    .await?);
    Ok(bars(row))
}

fn bars(row: Option<(bool, bool, bool, bool)>) -> Bars {
    row.map(|(a, s, f, p)| Bars {
        abnormal_list: a,
        serious_list: s,
        equity_frozen: f,
        equity_pledged: p,
    })
    .unwrap_or_default()
}

async fn flags_in(tx: &mut Tx, uscc: &str) -> Result<Bars, AppError> {
    let row: Option<(bool, bool, bool, bool)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT abnormal_list, serious_list, equity_frozen, equity_pledged FROM entity_flags WHERE uscc = $1",
    )
    .bind(uscc)
    .fetch_optional(&mut *c)
    .await?);
    Ok(bars(row))
}

/// Sets the flags of an entity within the officer's scope (the future abnormal-list and
/// equity registers will call this too), audited, with an internal event.
pub async fn set_flags(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    to: Bars,
    note: &str,
) -> Result<Bars, AppError> {
    let note = rules::text_field("note", note, 500, true, false)?;
    let e = store::lock_scoped(tx, scope, uscc).await?;
    let before = flags_in(tx, &e.uscc).await?;
    if before == to {
        return Err(AppError::rejected(
            "没有变更：标记与现状相同 (nothing to change: the flags are already so)",
        ));
    }
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO entity_flags (uscc, abnormal_list, serious_list, equity_frozen, equity_pledged, note, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (uscc) DO UPDATE SET \
         abnormal_list = excluded.abnormal_list, serious_list = excluded.serious_list, \
         equity_frozen = excluded.equity_frozen, equity_pledged = excluded.equity_pledged, \
         note = excluded.note, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(&e.uscc)
    .bind(to.abnormal_list)
    .bind(to.serious_list)
    .bind(to.equity_frozen)
    .bind(to.equity_pledged)
    .bind(&note)
    .bind(store_now())
    .bind(actor.label())
    .execute(&mut *c)
    .await?
    .rows_affected());
    events::append(
        tx,
        NewEvent::internal(
            "registry.entity.flags_set",
            json!({"uscc": e.uscc, "flags": to}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    audit_entry(
        tx,
        actor,
        &e,
        "entity.flags",
        Some(json!(before)),
        Some(json!({"flags": to, "note": note})),
    )
    .await?;
    Ok(to)
}

/// Files a deregistration for an entity within `scope`. Ordinary: the liquidation facts are
/// checked and the filing goes to the officers (`applied`). Simplified: refused when the
/// flags bar it; the 20-day public notice starts today (`notice`).
pub async fn file(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    input: &DeregInput,
    today: NaiveDate,
) -> Result<Deregistration, AppError> {
    let kind = DeregKind::parse(&input.kind)?;
    let reason = rules::text_field("reason", &input.reason, 500, true, true)?;
    let group = rules::date_field("liquidation_group_on", &input.liquidation_group_on)?;
    let notice = rules::date_field("creditor_notice_on", &input.creditor_notice_on)?;
    let report = rules::date_field("liquidation_report_on", &input.liquidation_report_on)?;
    let e = store::lock_scoped(tx, scope, uscc).await?;
    let open = current_in(tx, &e.uscc, today).await?.is_some();
    rules::check_deregister(e.status, kind, open)?;
    let now = store_now();
    let (state, notice_start, notice_end) = match kind {
        DeregKind::Ordinary => {
            rules::check_liquidation(group, notice, report, today)?;
            ("applied", None, None)
        }
        DeregKind::Simplified => {
            rules::check_simplified_bars(&flags_in(tx, &e.uscc).await?)?;
            ("notice", Some(today), Some(rules::notice_end(today)))
        }
    };
    let (group, notice, report) = match kind {
        DeregKind::Ordinary => (group, notice, report),
        DeregKind::Simplified => (None, None, None),
    };
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO entity_deregistrations (uscc, division, kind, state, reason, liquidation_group_on, \
         creditor_notice_on, liquidation_report_on, notice_start, notice_end, filed_at, filed_by, applied_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(&e.uscc)
    .bind(&e.division)
    .bind(kind.as_str())
    .bind(state)
    .bind(&reason)
    .bind(group)
    .bind(notice)
    .bind(report)
    .bind(notice_start)
    .bind(notice_end)
    .bind(now)
    .bind(actor.label())
    .bind((state == "applied").then_some(now))
    .fetch_one(&mut *c)
    .await?);
    let event = match kind {
        DeregKind::Simplified => NewEvent::public(
            "registry.entity.deregistration_notice",
            json!({"uscc": e.uscc, "notice_start": notice_start, "notice_end": notice_end,
                   "reason": reason}),
        ),
        DeregKind::Ordinary => NewEvent::internal(
            "registry.deregistration.applied",
            json!({"uscc": e.uscc, "id": id, "kind": kind.as_str()}),
        ),
    };
    events::append(
        tx,
        event
            .uscc(&e.uscc)
            .division(&e.division)
            .actor(actor.label()),
    )
    .await?;
    let d = get_in(tx, id).await?;
    audit_entry(
        tx,
        actor,
        &e,
        "entity.deregistration_file",
        None,
        Some(json!(d)),
    )
    .await?;
    Ok(d)
}

async fn get_in(tx: &mut Tx, id: i64) -> Result<Deregistration, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM entity_deregistrations WHERE id = $1{}",
        lock_clause(tx)
    );
    let row: Option<Deregistration> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)
}

async fn open_objections(tx: &mut Tx, dereg: i64) -> Result<i64, AppError> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "SELECT count(*) FROM deregistration_objections WHERE deregistration_id = $1 AND state = 'open'",
    )
    .bind(dereg)
    .fetch_one(&mut *c)
    .await?))
}

fn no_notice() -> AppError {
    AppError::rejected(
        "该主体没有进行中的简易注销公示 (this entity has no simplified-deregistration notice under way)",
    )
}

/// The application after a simplified notice: within 20 days after the notice ended, with no
/// open objection and no flag that bars it.
pub async fn apply(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    today: NaiveDate,
) -> Result<Deregistration, AppError> {
    let e = store::lock_scoped(tx, scope, uscc).await?;
    let d = match open_in(tx, &e.uscc).await? {
        Some(d) if d.state == "notice" => d,
        _ => return Err(no_notice()),
    };
    let end = d.notice_end.ok_or_else(no_notice)?;
    let open = open_objections(tx, d.id).await?;
    rules::check_simplified_apply(end, open, today)?;
    rules::check_simplified_bars(&flags_in(tx, &e.uscc).await?)?;
    let now = store_now();
    on_tx!(tx, c => sqlx::query(
        "UPDATE entity_deregistrations SET state = 'applied', applied_at = $2 WHERE id = $1",
    )
    .bind(d.id)
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected());
    events::append(
        tx,
        NewEvent::internal(
            "registry.deregistration.applied",
            json!({"uscc": e.uscc, "id": d.id, "kind": d.kind}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    audit_entry(
        tx,
        actor,
        &e,
        "entity.deregistration_apply",
        Some(json!({"state": d.state})),
        Some(json!({"state": "applied"})),
    )
    .await?;
    get_in(tx, d.id).await
}

/// Anyone files an objection to the simplified deregistration of `uscc` while its notice
/// runs (the objector's name and contact are kept for officers only).
pub async fn object(
    tx: &mut Tx,
    actor: &Actor,
    uscc: &str,
    input: &ObjectionInput,
    today: NaiveDate,
) -> Result<Objection, AppError> {
    let objector = rules::text_field("objector", &input.objector, 100, true, false)?;
    let contact = rules::text_field("contact", &input.contact, 100, true, false)?;
    let reason = rules::text_field("reason", &input.reason, 1000, true, false)?;
    let e = store::lock_scoped(tx, &Scope::all(), uscc).await?;
    let d = match open_in(tx, &e.uscc).await? {
        Some(d) if d.state == "notice" => d,
        _ => return Err(no_notice()),
    };
    let (start, end) = (
        d.notice_start.ok_or_else(no_notice)?,
        d.notice_end.ok_or_else(no_notice)?,
    );
    if today < start || today > end {
        return Err(AppError::rejected(format!(
            "异议应在公示期（{start} 至 {end}）内提出 \
             (objections are filed during the notice, {start} to {end})"
        )));
    }
    let now = store_now();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO deregistration_objections (deregistration_id, uscc, division, objector, contact, reason, state, filed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) RETURNING id",
    )
    .bind(d.id)
    .bind(&e.uscc)
    .bind(&e.division)
    .bind(&objector)
    .bind(&contact)
    .bind(&reason)
    .bind(now)
    .fetch_one(&mut *c)
    .await?);
    events::append(
        tx,
        NewEvent::internal(
            "registry.deregistration.objection_filed",
            json!({"uscc": e.uscc, "deregistration": d.id, "objection": id}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    let o = Objection {
        id,
        deregistration_id: d.id,
        uscc: e.uscc.clone(),
        division: e.division.clone(),
        objector,
        contact,
        reason,
        state: "open".into(),
        filed_at: now,
        resolved_at: None,
        resolved_by: None,
        resolution_note: None,
    };
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "entity.deregistration_objection",
            target_kind: "deregistration",
            target_id: d.id.to_string(),
            division: Some(e.division.clone()),
            before: None,
            after: Some(json!({"objection": id, "reason": o.reason})),
        },
    )
    .await?;
    Ok(o)
}

/// An officer resolves an open objection within the scope: `upheld` ends the simplified
/// deregistration (`terminated`: the entity must use the ordinary way), `dismissed` lifts its
/// block. A note is required.
pub async fn resolve_objection(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    decision: &str,
    note: &str,
) -> Result<Objection, AppError> {
    let decision = match decision.trim() {
        "upheld" | "dismissed" => decision.trim(),
        _ => {
            return Err(AppError::bad_request(
                "decision",
                "处理结果应为 upheld（异议成立）或 dismissed（异议不成立） \
                 (the decision is upheld or dismissed)",
            ));
        }
    };
    let note = rules::text_field("note", note, 500, true, false)?;
    let sql = format!(
        "SELECT {OBJ_COLUMNS} FROM deregistration_objections WHERE id = $1 AND {}{}",
        scope.division_filter("division", 2),
        lock_clause(tx)
    );
    let o: Objection = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(&mut *c)
        .await?)
    .ok_or(AppError::NotFound)?;
    if o.state != "open" {
        return Err(AppError::rejected(
            "该异议已处理 (this objection has already been resolved)",
        ));
    }
    let e = store::lock_scoped(tx, scope, &o.uscc).await?;
    let now = store_now();
    on_tx!(tx, c => sqlx::query(
        "UPDATE deregistration_objections SET state = $2, resolved_at = $3, resolved_by = $4, resolution_note = $5 WHERE id = $1",
    )
    .bind(o.id)
    .bind(decision)
    .bind(now)
    .bind(actor.label())
    .bind(&note)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if decision == "upheld" {
        on_tx!(tx, c => sqlx::query(
            "UPDATE entity_deregistrations SET state = 'terminated', decided_at = $2, decided_by = $3, \
             decision_note = $4 WHERE id = $1 AND state = 'notice'",
        )
        .bind(o.deregistration_id)
        .bind(now)
        .bind(actor.label())
        .bind(&note)
        .execute(&mut *c)
        .await?
        .rows_affected());
    }
    events::append(
        tx,
        NewEvent::internal(
            "registry.deregistration.objection_resolved",
            json!({"uscc": e.uscc, "deregistration": o.deregistration_id, "objection": o.id,
                   "decision": decision}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "entity.deregistration_objection_resolve",
            target_kind: "deregistration",
            target_id: o.deregistration_id.to_string(),
            division: Some(e.division.clone()),
            before: Some(json!({"objection": o.id, "state": "open"})),
            after: Some(json!({"objection": o.id, "state": decision, "note": note})),
        },
    )
    .await?;
    Ok(Objection {
        state: decision.to_string(),
        resolved_at: Some(now),
        resolved_by: Some(actor.label()),
        resolution_note: Some(note),
        ..o
    })
}

/// An officer decides an applied deregistration within the scope: `approve` deregisters the
/// entity (its open suspension ends, its premises close), `refuse` ends the filing with the
/// reason in `note`. A simplified one is checked again: no open objection, no barring flag.
pub async fn decide(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    decision: &str,
    note: &str,
    today: NaiveDate,
) -> Result<Deregistration, AppError> {
    let approve = match decision.trim() {
        "approve" => true,
        "refuse" => false,
        _ => {
            return Err(AppError::bad_request(
                "decision",
                "决定应为 approve（准予注销）或 refuse（不予注销） (the decision is approve or refuse)",
            ));
        }
    };
    let note = rules::text_field("note", note, 500, !approve, false)?;
    let d = get_in(tx, id).await?;
    if !scope.contains(Some(&d.division)) {
        return Err(AppError::NotFound);
    }
    let e = store::lock_scoped(tx, scope, &d.uscc).await?;
    if d.state != "applied" {
        return Err(AppError::rejected(format!(
            "注销申请处于「{}」状态，只有已提出申请的可以决定 \
             (the deregistration is {}; only an applied one can be decided)",
            state_zh(&d.state),
            d.state
        )));
    }
    if approve && d.kind == "simplified" {
        let open = open_objections(tx, d.id).await?;
        if open > 0 {
            return Err(AppError::rejected(format!(
                "有 {open} 件异议尚未处理 ({open} objection(s) are open)"
            )));
        }
        rules::check_simplified_bars(&flags_in(tx, &e.uscc).await?)?;
    }
    let now = store_now();
    let state = if approve { "approved" } else { "refused" };
    on_tx!(tx, c => sqlx::query(
        "UPDATE entity_deregistrations SET state = $2, decided_at = $3, decided_by = $4, decision_note = $5 WHERE id = $1",
    )
    .bind(d.id)
    .bind(state)
    .bind(now)
    .bind(actor.label())
    .bind((!note.is_empty()).then_some(note.as_str()))
    .execute(&mut *c)
    .await?
    .rows_affected());
    if approve {
        let timepoint = events::append(
            tx,
            NewEvent::public(
                "registry.entity.deregistered",
                json!({"uscc": e.uscc, "kind": d.kind, "on": today}),
            )
            .uscc(&e.uscc)
            .division(&e.division)
            .actor(actor.label()),
        )
        .await?;
        super::suspension::close_for_deregistration(tx, &e.uscc, today).await?;
        crate::premises::close_all(tx, &e.uscc, today).await?;
        super::set_status(tx, actor, &e, Status::Deregistered, timepoint, now).await?;
    } else {
        events::append(
            tx,
            NewEvent::internal(
                "registry.deregistration.refused",
                json!({"uscc": e.uscc, "id": d.id}),
            )
            .uscc(&e.uscc)
            .division(&e.division)
            .actor(actor.label()),
        )
        .await?;
    }
    audit_entry(
        tx,
        actor,
        &e,
        "entity.deregistration_decide",
        Some(json!({"id": d.id, "state": d.state, "status": e.status})),
        Some(json!({"id": d.id, "state": state, "note": note})),
    )
    .await?;
    get_in(tx, d.id).await
}

/// The Chinese name of a deregistration state.
pub fn state_zh(state: &str) -> &'static str {
    match state {
        "notice" => "公示中",
        "applied" => "已申请",
        "approved" => "准予注销",
        "refused" => "不予注销",
        "terminated" => "因异议终止",
        "lapsed" => "逾期未申请，已失效",
        _ => "未知",
    }
}

async fn audit_entry(
    tx: &mut Tx,
    actor: &Actor,
    e: &Entity,
    action: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    audit::record(
        tx,
        actor,
        audit::Change {
            action,
            target_kind: "entity",
            target_id: e.uscc.clone(),
            division: Some(e.division.clone()),
            before,
            after,
        },
    )
    .await?;
    Ok(())
}
