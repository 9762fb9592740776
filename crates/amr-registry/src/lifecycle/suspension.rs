//! Suspension (歇业): filing, extension, resumption (declared or automatic at the end).
//!
//! Events (public): `registry.entity.suspended` `{uscc, start, end, reason, service_address}`,
//! `registry.entity.suspension_extended` `{uscc, start, end, previous_end}`,
//! `registry.entity.resumed` `{uscc, on, automatic}`. Audit actions `entity.suspend`,
//! `entity.suspension_extend`, `entity.resume`.
//!
//! Suspension in one go (歇业一件事): the filing also carries the fields the tax, social
//! security, medical insurance and housing fund agencies need ([`AgencyFields`]); with each
//! suspension and each resumption an internal event (`registry.suspension.filed`
//! `{uscc, suspension_id, start, end, agency_fields}`, `registry.suspension.ended`
//! `{uscc, suspension_id, on, automatic, agency_fields}`) is written in the same transaction,
//! and the exchange context fans it out to the agencies that subscribe (`docs/EXCHANGE.md`).
//! The figures stay out of the public event.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::rules::{self, period_days};
use crate::model::{Entity, Status};
use crate::store;

/// A suspension as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Suspension {
    pub id: i64,
    pub uscc: String,
    pub division: String,
    pub reason: String,
    /// 送达地址: where legal documents are served during the suspension (public).
    pub service_address: String,
    pub start_date: NaiveDate,
    /// The current end (after extensions).
    pub end_date: NaiveDate,
    pub original_end_date: NaiveDate,
    pub extensions: i64,
    /// The first day of business again; `None` while suspended.
    pub ended_on: Option<NaiveDate>,
    /// `declared`, `expired` or `deregistered`.
    pub end_kind: Option<String>,
    pub filed_at: DateTime<Utc>,
    pub filed_by: String,
}

impl Suspension {
    /// Days of suspension this one uses: up to the day before it ended, or its whole period.
    pub fn days_used(&self) -> i64 {
        match self.ended_on {
            Some(on) => (on - self.start_date).num_days().clamp(0, i64::MAX),
            None => period_days(self.start_date, self.end_date),
        }
    }
}

const COLUMNS: &str = "id, uscc, division, reason, service_address, start_date, end_date, \
    original_end_date, extensions, ended_on, end_kind, filed_at, filed_by";

/// The suspension filing, as the enterprise fills it in.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SuspendInput {
    pub reason: String,
    /// `YYYY-MM-DD`; empty means today (the filing day).
    pub start: String,
    pub end: String,
    pub service_address: String,
    /// The agencies' fields (all optional here; an agency rejects a filing that lacks what it
    /// needs, with its reason).
    #[serde(flatten)]
    pub agencies: AgencyFields,
}

/// What the partner agencies need on a suspension (歇业一件事), as the form gives it (text).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct AgencyFields {
    /// 税务: the last tax period declared before the suspension, `YYYY-MM` (最后申报所属期).
    pub tax_last_period: String,
    /// 税务: invoices settled (发票已缴销或验旧): `yes` / `no`.
    pub invoices_settled: String,
    /// 社保: insured employees (参保人数).
    pub insured_count: String,
    /// 医保: insured employees (参保人数).
    pub medical_insured_count: String,
    /// 社保、医保: the first month without contributions, `YYYY-MM` (暂停缴费起始月).
    pub contributions_suspend_from: String,
    /// 公积金: depositing employees (缴存人数).
    pub depositor_count: String,
    /// 公积金: seal the employees' accounts (封存): `yes` / `no`.
    pub seal_accounts: String,
}

fn month_field(field: &str, value: &str) -> Result<Option<String>, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    match NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d") {
        Ok(d) if v.len() == 7 => Ok(Some(d.format("%Y-%m").to_string())),
        _ => Err(AppError::bad_request(
            field,
            format!("{v:?} 不是年月，应为 YYYY-MM (not a month; use YYYY-MM)"),
        )),
    }
}

fn count_field(field: &str, value: &str) -> Result<Option<i64>, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    match v.parse::<i64>() {
        Ok(n) if (0..=10_000_000).contains(&n) => Ok(Some(n)),
        _ => Err(AppError::bad_request(
            field,
            format!("{v:?} 不是人数，应为 0 或正整数 (not a head count; use a whole number)"),
        )),
    }
}

fn yes_no_field(field: &str, value: &str) -> Result<Option<bool>, AppError> {
    match value.trim() {
        "" => Ok(None),
        "yes" | "是" | "true" => Ok(Some(true)),
        "no" | "否" | "false" => Ok(Some(false)),
        v => Err(AppError::bad_request(
            field,
            format!("{v:?} 应为 yes 或 no (use yes or no)"),
        )),
    }
}

impl AgencyFields {
    /// The fields checked and grouped by agency kind (`tax`, `social_security`,
    /// `medical_insurance`, `housing_fund`); an empty field is `null`.
    pub fn to_json(&self) -> Result<serde_json::Value, AppError> {
        let suspend_from = month_field(
            "contributions_suspend_from",
            &self.contributions_suspend_from,
        )?;
        Ok(json!({
            "tax": {
                "tax_last_period": month_field("tax_last_period", &self.tax_last_period)?,
                "invoices_settled": yes_no_field("invoices_settled", &self.invoices_settled)?,
            },
            "social_security": {
                "insured_count": count_field("insured_count", &self.insured_count)?,
                "suspend_from": suspend_from,
            },
            "medical_insurance": {
                "insured_count": count_field("medical_insured_count", &self.medical_insured_count)?,
                "suspend_from": suspend_from,
            },
            "housing_fund": {
                "depositor_count": count_field("depositor_count", &self.depositor_count)?,
                "seal_accounts": yes_no_field("seal_accounts", &self.seal_accounts)?,
            },
        }))
    }
}

/// Every suspension of an entity, oldest first.
pub async fn list(db: &Db, uscc: &str) -> Result<Vec<Suspension>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM entity_suspensions WHERE uscc = $1 ORDER BY id");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(c)
        .await?))
}

async fn list_in(tx: &mut Tx, uscc: &str) -> Result<Vec<Suspension>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM entity_suspensions WHERE uscc = $1 ORDER BY id");
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(&mut *c)
        .await?))
}

/// Files a suspension for an entity within `scope`: refused unless the entity is active, no
/// deregistration is under way, the period starts today and the 3-year total holds. The
/// entity becomes `suspended` at once.
pub async fn suspend(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    input: &SuspendInput,
    today: NaiveDate,
) -> Result<Suspension, AppError> {
    let reason = rules::text_field("reason", &input.reason, 200, true, true)?;
    let service_address =
        rules::text_field("service_address", &input.service_address, 200, true, true)?;
    let start = rules::date_field("start", &input.start)?.unwrap_or(today);
    let end = rules::date_field("end", &input.end)?.ok_or_else(|| {
        AppError::bad_request("end", "请填写歇业结束日期 (the end date is required)")
    })?;
    let agency_fields = input.agencies.to_json()?;
    let e = store::lock_scoped(tx, scope, uscc).await?;
    let past = list_in(tx, &e.uscc).await?;
    let used: i64 = past.iter().map(Suspension::days_used).sum();
    let deregistering = super::deregistration::current_in(tx, &e.uscc, today)
        .await?
        .is_some();
    rules::check_suspend(e.status, deregistering, used, start, end, today)?;

    let now = store_now();
    let timepoint = events::append(
        tx,
        NewEvent::public(
            "registry.entity.suspended",
            json!({"uscc": e.uscc, "start": start, "end": end, "reason": reason,
                   "service_address": service_address}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO entity_suspensions (uscc, division, reason, service_address, start_date, end_date, \
         original_end_date, extensions, filed_at, filed_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, 0, $7, $8) RETURNING id",
    )
    .bind(&e.uscc)
    .bind(&e.division)
    .bind(&reason)
    .bind(&service_address)
    .bind(start)
    .bind(end)
    .bind(now)
    .bind(actor.label())
    .fetch_one(&mut *c)
    .await?);
    super::set_status(tx, actor, &e, Status::Suspended, timepoint, now).await?;
    events::append(
        tx,
        NewEvent::internal(
            "registry.suspension.filed",
            json!({"uscc": e.uscc, "suspension_id": id, "start": start, "end": end,
                   "agency_fields": agency_fields}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    let s = Suspension {
        id,
        uscc: e.uscc.clone(),
        division: e.division.clone(),
        reason,
        service_address,
        start_date: start,
        end_date: end,
        original_end_date: end,
        extensions: 0,
        ended_on: None,
        end_kind: None,
        filed_at: now,
        filed_by: actor.label(),
    };
    audit_entry(tx, actor, &e, "entity.suspend", None, Some(json!(s))).await?;
    Ok(s)
}

/// The open suspension of an entity, if any.
async fn open_in(tx: &mut Tx, uscc: &str) -> Result<Option<Suspension>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM entity_suspensions WHERE uscc = $1 AND ended_on IS NULL \
         ORDER BY id DESC LIMIT 1"
    );
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_optional(&mut *c)
        .await?))
}

fn not_suspended(e: &Entity) -> AppError {
    AppError::rejected(format!(
        "主体状态为「{}」，没有进行中的歇业 (the entity is {}; it has no suspension under way)",
        e.status.name_zh(),
        e.status.name_en()
    ))
}

/// Extends the open suspension to `new_end` (`YYYY-MM-DD`): only within the last 30 days of
/// the period and within the 3-year total.
pub async fn extend(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    new_end: &str,
    today: NaiveDate,
) -> Result<Suspension, AppError> {
    let new_end = rules::date_field("end", new_end)?.ok_or_else(|| {
        AppError::bad_request(
            "end",
            "请填写延期后的结束日期 (the new end date is required)",
        )
    })?;
    let e = store::lock_scoped(tx, scope, uscc).await?;
    let current = match open_in(tx, &e.uscc).await? {
        Some(s) if e.status == Status::Suspended => s,
        _ => return Err(not_suspended(&e)),
    };
    let used_before: i64 = list_in(tx, &e.uscc)
        .await?
        .iter()
        .filter(|s| s.id != current.id)
        .map(Suspension::days_used)
        .sum();
    rules::check_extend(
        current.start_date,
        current.end_date,
        new_end,
        used_before,
        today,
    )?;
    events::append(
        tx,
        NewEvent::public(
            "registry.entity.suspension_extended",
            json!({"uscc": e.uscc, "start": current.start_date, "end": new_end,
                   "previous_end": current.end_date}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE entity_suspensions SET end_date = $2, extensions = extensions + 1 WHERE id = $1",
    )
    .bind(current.id)
    .bind(new_end)
    .execute(&mut *c)
    .await?
    .rows_affected());
    let after = Suspension {
        end_date: new_end,
        extensions: current.extensions + 1,
        ..current.clone()
    };
    audit_entry(
        tx,
        actor,
        &e,
        "entity.suspension_extend",
        Some(json!({"end_date": current.end_date})),
        Some(json!({"end_date": new_end})),
    )
    .await?;
    Ok(after)
}

/// The entity declares it has resumed business today: the suspension ends, the entity is
/// active again.
pub async fn resume(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    today: NaiveDate,
) -> Result<Suspension, AppError> {
    let e = store::lock_scoped(tx, scope, uscc).await?;
    rules::check_resume(e.status)?;
    let current = open_in(tx, &e.uscc)
        .await?
        .ok_or_else(|| not_suspended(&e))?;
    end_one(tx, actor, &e, &current, today, "declared").await
}

/// Ends `s` (the first day of business is `on`), makes the entity active, writes the event,
/// the history row and the audit entry.
async fn end_one(
    tx: &mut Tx,
    actor: &Actor,
    e: &Entity,
    s: &Suspension,
    on: NaiveDate,
    kind: &str,
) -> Result<Suspension, AppError> {
    let now = store_now();
    let timepoint = events::append(
        tx,
        NewEvent::public(
            "registry.entity.resumed",
            json!({"uscc": e.uscc, "on": on, "automatic": kind == "expired"}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    close_row(tx, s.id, on, kind).await?;
    super::set_status(tx, actor, e, Status::Active, timepoint, now).await?;
    let month = on.format("%Y-%m").to_string();
    events::append(
        tx,
        NewEvent::internal(
            "registry.suspension.ended",
            json!({"uscc": e.uscc, "suspension_id": s.id, "on": on, "automatic": kind == "expired",
            "agency_fields": {
                "tax": {},
                "social_security": {"resume_from": month},
                "medical_insurance": {"resume_from": month},
                "housing_fund": {"unseal_accounts": true},
            }}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    audit_entry(
        tx,
        actor,
        e,
        "entity.resume",
        Some(json!({"status": e.status, "suspension": s.id})),
        Some(json!({"status": Status::Active, "on": on, "end_kind": kind})),
    )
    .await?;
    Ok(Suspension {
        ended_on: Some(on),
        end_kind: Some(kind.to_string()),
        ..s.clone()
    })
}

async fn close_row(tx: &mut Tx, id: i64, on: NaiveDate, kind: &str) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE entity_suspensions SET ended_on = $2, end_kind = $3 WHERE id = $1 AND ended_on IS NULL",
    )
    .bind(id)
    .bind(on)
    .bind(kind)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// Ends the open suspension of an entity being deregistered (no event of its own: the
/// deregistration's event says it).
pub(crate) async fn close_for_deregistration(
    tx: &mut Tx,
    uscc: &str,
    on: NaiveDate,
) -> Result<(), AppError> {
    if let Some(s) = open_in(tx, uscc).await? {
        close_row(tx, s.id, on, "deregistered").await?;
    }
    Ok(())
}

/// Resumes every entity whose suspension period ended before `today` (deemed resumed on the
/// day after its end: 条例 art. 30), each in its own transaction, as `system`. Idempotent: an
/// ended suspension is not touched again; after downtime it catches up on every period that
/// ended meanwhile. Returns how many were resumed.
pub async fn resume_expired(db: &Db, today: NaiveDate) -> Result<u64, AppError> {
    let mut done = 0;
    loop {
        let sql = format!(
            "SELECT {COLUMNS} FROM entity_suspensions WHERE ended_on IS NULL AND end_date < $1 \
             ORDER BY end_date, id LIMIT 100"
        );
        let due: Vec<Suspension> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(today)
            .fetch_all(c)
            .await?);
        if due.is_empty() {
            return Ok(done);
        }
        for s in due {
            let mut tx = db.begin().await?;
            // Read again under the lock: another process may have ended it meanwhile.
            let sql = format!(
                "SELECT {COLUMNS} FROM entity_suspensions WHERE id = $1 AND ended_on IS NULL"
            );
            let still_open: Option<Suspension> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(s.id)
                .fetch_optional(&mut *c)
                .await?);
            let Some(s) = still_open else {
                continue;
            };
            let e = store::lock_scoped(&mut tx, &Scope::all(), &s.uscc).await?;
            let on = s.end_date + Duration::days(1);
            if e.status == Status::Suspended {
                end_one(&mut tx, &Actor::system(), &e, &s, on, "expired").await?;
            } else {
                // The status moved on by other means (e.g. revoked): only close the period.
                close_row(&mut tx, s.id, on, "expired").await?;
            }
            tx.commit().await?;
            done += 1;
        }
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

pub(crate) fn store_now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}
