//! The SQL and the steps of demonstration units, on both backends.
//!
//! Jurisdiction: officers act on units whose `division` is within their scope, in the SQL;
//! outside it is [`AppError::NotFound`]. An enterprise sees only its own USCC's units; the
//! public sees units on notice, awarded or removed (never an application under review, never
//! an objector's contact).
//! Events: `consumer.showcase.applied`, `.rejected`, `.objection_filed` and
//! `.objection_resolved` are internal; `.notice_started`, `.awarded`, `.rechecked` and
//! `.removed` are public (unit, business, dates, numbers; nothing personal).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use amr_kernel::audit::{self, Actor, Change};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::Matter;
use amr_kernel::{on_conn, on_tx};

use super::{award_no, next_recheck, notice_until, parse_category};
use crate::complaint::Business;
use crate::pledge::input::{self, Caller, now};
use crate::pledge::store::{Page, page_of};

/// A unit (officers' view: everything; the public view leaves out the statement's
/// reviewer-only parts — there are none — and the objections' contacts).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Unit {
    pub id: i64,
    pub uscc: String,
    pub name: String,
    pub division: String,
    pub category: String,
    pub address: String,
    pub statement: String,
    pub state: String,
    pub notice_from: Option<NaiveDate>,
    pub notice_until: Option<NaiveDate>,
    pub award_no: Option<String>,
    pub awarded_on: Option<NaiveDate>,
    pub recheck_due: Option<NaiveDate>,
    pub last_recheck: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub removal_complaints: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "u.id, u.uscc, u.name, u.division, u.category, u.address, u.statement, u.state, \
     u.notice_from, u.notice_until, u.award_no, u.awarded_on, u.recheck_due, u.last_recheck, \
     u.ended_on, u.end_reason, u.removal_complaints, u.created_at";

/// An objection (the contact is for officers only).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Objection {
    pub id: i64,
    pub reason: String,
    pub contact: Option<String>,
    pub status: String,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A step of a unit's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Step {
    pub action: String,
    pub actor: String,
    pub detail: String,
    pub on_day: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// The states the public may see.
pub const PUBLIC_STATES: &[&str] = &["notice", "awarded", "removed"];

fn lock(tx: &Tx) -> &'static str {
    match tx.inner {
        TxInner::Postgres(_) => " FOR UPDATE",
        TxInner::Sqlite(_) => "",
    }
}

async fn get_in(tx: &mut Tx, id: i64) -> Result<Unit, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM showcase_units u WHERE u.id = $1");
    let row: Option<Unit> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// The unit `id` within an officer's scope, locked on PostgreSQL; else 404.
async fn for_officer(tx: &mut Tx, caller: &Caller, id: i64) -> Result<Unit, AppError> {
    if !caller.is_officer() {
        return Err(AppError::forbidden());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM showcase_units u WHERE u.id = $1 AND {}{}",
        caller.scope().division_filter("u.division", 2),
        lock(tx)
    );
    let row: Option<Unit> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(caller.scope().like_pattern())
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)
}

#[allow(clippy::too_many_arguments)]
async fn step(
    tx: &mut Tx,
    actor: &Actor,
    unit: &Unit,
    action: &str,
    detail: Value,
    today: NaiveDate,
    event: Option<(bool, Value)>,
) -> Result<(), AppError> {
    let at = now();
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO showcase_history (unit_id, action, actor, detail, on_day, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(unit.id)
    .bind(action)
    .bind(actor.label())
    .bind(detail.to_string())
    .bind(today)
    .bind(at)
    .execute(&mut *c)
    .await?
    .rows_affected());
    on_tx!(tx, c => sqlx::query("UPDATE showcase_units SET version = version + 1, updated_at = $1 WHERE id = $2")
        .bind(at)
        .bind(unit.id)
        .execute(&mut *c)
        .await?
        .rows_affected());
    if let Some((public, payload)) = event {
        let kind = format!("consumer.showcase.{action}");
        let e = if public {
            NewEvent::public(&kind, payload)
        } else {
            NewEvent::internal(&kind, payload)
        };
        events::append(
            tx,
            e.division(&unit.division)
                .uscc(&unit.uscc)
                .actor(actor.label()),
        )
        .await?;
    }
    audit::record(
        tx,
        actor,
        Change {
            action: "showcase.step",
            target_kind: "showcase_unit",
            target_id: unit.id.to_string(),
            division: Some(unit.division.clone()),
            before: Some(json!({"state": unit.state})),
            after: Some(json!({"action": action, "detail": detail})),
        },
    )
    .await?;
    Ok(())
}

fn wrong_state(unit: &Unit, what: &str) -> AppError {
    AppError::rejected(format!(
        "该单位当前状态为“{}”，不能{what} (the unit is {}; this step is not possible now)",
        state_zh(&unit.state),
        unit.state
    ))
}

/// The Chinese name of a state.
pub fn state_zh(state: &str) -> &'static str {
    match state {
        "applied" => "待审核",
        "notice" => "公示中",
        "rejected" => "不予命名",
        "awarded" => "已命名",
        "removed" => "已撤销",
        _ => "未知",
    }
}

/// An application as the business files it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApplyInput {
    pub category: String,
    pub address: String,
    pub statement: String,
}

/// A business applies (its enterprise account, for its own USCC). Refused while it has an
/// application in progress or a title in force (409).
pub async fn apply(
    tx: &mut Tx,
    caller: &Caller,
    business: &Business,
    input: &ApplyInput,
    today: NaiveDate,
) -> Result<Unit, AppError> {
    if caller.uscc() != Some(business.uscc.as_str()) {
        return Err(AppError::forbidden());
    }
    if !business.active {
        return Err(AppError::rejected(
            "该经营者已注销或被吊销，不能申请 (the business is deregistered or revoked)",
        ));
    }
    let category = parse_category(&input.category)?;
    let address = input::text("address", &input.address, 5, 200, "经营场所地址")?;
    let statement = input::text(
        "statement",
        &input.statement,
        20,
        3000,
        "申报材料（放心消费承诺与做法）",
    )?;
    let sql = format!(
        "SELECT u.id FROM showcase_units u WHERE u.uscc = $1 AND u.state IN ('applied', 'notice', 'awarded'){}",
        lock(tx)
    );
    let open: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&business.uscc)
        .fetch_optional(&mut *c)
        .await?);
    if let Some(id) = open {
        return Err(AppError::Conflict(format!(
            "该经营者已有在办的申请或有效的命名（{id} 号） (the business already has application or title {id})"
        )));
    }
    let at = now();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO showcase_units (uscc, name, division, category, address, statement, state, \
         version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'applied', 0, $7, $7) RETURNING id",
    )
    .bind(&business.uscc)
    .bind(&business.name)
    .bind(&business.division)
    .bind(category)
    .bind(&address)
    .bind(&statement)
    .bind(at)
    .fetch_one(&mut *c)
    .await?);
    let unit = get_in(tx, id).await?;
    step(
        tx,
        &caller.acting.actor,
        &unit,
        "applied",
        json!({"category": category}),
        today,
        Some((false, json!({"id": id, "uscc": business.uscc}))),
    )
    .await?;
    Ok(unit)
}

/// An officer's decision on a unit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DecideInput {
    /// `approve` (to notice) | `reject` (applied or on notice) | `award` (after the notice) |
    /// `recheck` (awarded; with `result` pass/fail) | `remove` (awarded; with complaints).
    pub action: String,
    pub reason: String,
    pub result: String,
    /// Complaint matter numbers, separated by commas, spaces or line breaks (removal).
    pub complaints: String,
}

/// The complaint numbers of a removal, each as typed (checked by the caller against the
/// matter engine).
pub fn complaint_numbers(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Takes an officer's step on unit `id`. `complaints` are the matters a removal names
/// (already read within the officer's scope by the caller; each must be about this unit's
/// business when it names one).
pub async fn decide(
    tx: &mut Tx,
    caller: &Caller,
    id: i64,
    input: &DecideInput,
    complaints: &[Matter],
    today: NaiveDate,
) -> Result<Unit, AppError> {
    let unit = for_officer(tx, caller, id).await?;
    let actor = &caller.acting.actor;
    match input.action.trim() {
        "approve" => {
            if unit.state != "applied" {
                return Err(wrong_state(&unit, "审核"));
            }
            let until = notice_until(today);
            on_tx!(tx, c => sqlx::query(
                "UPDATE showcase_units SET state = 'notice', notice_from = $1, notice_until = $2 WHERE id = $3",
            )
            .bind(today)
            .bind(until)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected());
            let payload = json!({"id": id, "uscc": unit.uscc, "name": unit.name, "notice_from": today, "notice_until": until});
            step(
                tx,
                actor,
                &unit,
                "notice_started",
                json!({"notice_until": until}),
                today,
                Some((true, payload)),
            )
            .await?;
        }
        "reject" => {
            if unit.state != "applied" && unit.state != "notice" {
                return Err(wrong_state(&unit, "不予命名"));
            }
            let reason = input::text("reason", &input.reason, 2, 1000, "不予命名的理由")?;
            on_tx!(tx, c => sqlx::query(
                "UPDATE showcase_units SET state = 'rejected', ended_on = $1, end_reason = $2 WHERE id = $3",
            )
            .bind(today)
            .bind(&reason)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected());
            let public = unit.state == "notice";
            step(
                tx,
                actor,
                &unit,
                "rejected",
                json!({"reason": reason}),
                today,
                Some((public, json!({"id": id, "uscc": unit.uscc}))),
            )
            .await?;
        }
        "award" => {
            if unit.state != "notice" {
                return Err(wrong_state(&unit, "命名"));
            }
            let until = unit.notice_until.unwrap_or(today);
            if today <= until {
                return Err(AppError::rejected(format!(
                    "公示期至 {until} 结束，期满后方可命名 (the notice runs until {until}; award after it)"
                )));
            }
            let (open, upheld) = objection_counts(tx, id).await?;
            if open > 0 {
                return Err(AppError::rejected(format!(
                    "还有 {open} 件异议未处理 ({open} objections are still open)"
                )));
            }
            if upheld > 0 {
                return Err(AppError::rejected(
                    "有异议经核实成立，应不予命名 (an objection was upheld; reject the application)",
                ));
            }
            let year = today.year();
            let seq: i64 = on_tx!(tx, c => sqlx::query_scalar(
                "SELECT COALESCE(MAX(award_seq), 0) + 1 FROM showcase_units WHERE award_year = $1",
            )
            .bind(i64::from(year))
            .fetch_one(&mut *c)
            .await?);
            let no = award_no(year, seq);
            let recheck = next_recheck(today);
            on_tx!(tx, c => sqlx::query(
                "UPDATE showcase_units SET state = 'awarded', award_year = $1, award_seq = $2, award_no = $3, \
                 awarded_on = $4, recheck_due = $5 WHERE id = $6",
            )
            .bind(i64::from(year))
            .bind(seq)
            .bind(&no)
            .bind(today)
            .bind(recheck)
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected());
            let payload = json!({"id": id, "uscc": unit.uscc, "name": unit.name, "award_no": no, "awarded_on": today});
            step(
                tx,
                actor,
                &unit,
                "awarded",
                json!({"award_no": no, "recheck_due": recheck}),
                today,
                Some((true, payload)),
            )
            .await?;
        }
        "recheck" => {
            if unit.state != "awarded" {
                return Err(wrong_state(&unit, "复核"));
            }
            let note = input::text("reason", &input.reason, 2, 1000, "复核情况")?;
            match input.result.trim() {
                "pass" => {
                    let from = unit.recheck_due.unwrap_or(today).max(today);
                    let next = next_recheck(from);
                    on_tx!(tx, c => sqlx::query(
                        "UPDATE showcase_units SET last_recheck = $1, recheck_due = $2 WHERE id = $3",
                    )
                    .bind(today)
                    .bind(next)
                    .bind(id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected());
                    let payload =
                        json!({"id": id, "uscc": unit.uscc, "result": "pass", "next": next});
                    step(
                        tx,
                        actor,
                        &unit,
                        "rechecked",
                        json!({"result": "pass", "note": note, "next": next}),
                        today,
                        Some((true, payload)),
                    )
                    .await?;
                }
                "fail" => {
                    remove(tx, actor, &unit, &note, "", today).await?;
                    let payload = json!({"id": id, "uscc": unit.uscc, "result": "fail"});
                    step(
                        tx,
                        actor,
                        &unit,
                        "rechecked",
                        json!({"result": "fail", "note": note}),
                        today,
                        Some((true, payload)),
                    )
                    .await?;
                }
                _ => {
                    return Err(AppError::bad_request(
                        "result",
                        "复核结果应为 pass（通过）或 fail（不通过） (the result is pass or fail)",
                    ));
                }
            }
        }
        "remove" => {
            if unit.state != "awarded" {
                return Err(wrong_state(&unit, "撤销"));
            }
            let reason = input::text("reason", &input.reason, 2, 1000, "撤销理由")?;
            if complaints.is_empty() {
                return Err(AppError::bad_request(
                    "complaints",
                    "撤销须列明所依据的投诉事项编号 (name the complaint numbers the removal rests on)",
                ));
            }
            for m in complaints {
                if m.uscc.as_deref().is_some_and(|u| u != unit.uscc) {
                    return Err(AppError::bad_request(
                        "complaints",
                        format!(
                            "投诉 {} 针对的不是该单位 (complaint {} is about another business)",
                            m.number, m.number
                        ),
                    ));
                }
            }
            let numbers: Vec<&str> = complaints.iter().map(|m| m.number.as_str()).collect();
            remove(tx, actor, &unit, &reason, &numbers.join(","), today).await?;
        }
        other => {
            return Err(AppError::bad_request(
                "action",
                format!(
                    "未知的操作“{}”，应为 approve、reject、award、recheck 或 remove (unknown action)",
                    other.chars().take(20).collect::<String>()
                ),
            ));
        }
    }
    get_in(tx, id).await
}

async fn remove(
    tx: &mut Tx,
    actor: &Actor,
    unit: &Unit,
    reason: &str,
    complaints: &str,
    today: NaiveDate,
) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE showcase_units SET state = 'removed', ended_on = $1, end_reason = $2, \
         removal_complaints = $3 WHERE id = $4",
    )
    .bind(today)
    .bind(reason)
    .bind(Some(complaints).filter(|c| !c.is_empty()))
    .bind(unit.id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    let payload = json!({"id": unit.id, "uscc": unit.uscc, "award_no": unit.award_no, "removed_on": today, "complaints": complaints});
    step(
        tx,
        actor,
        unit,
        "removed",
        json!({"reason": reason, "complaints": complaints}),
        today,
        Some((true, payload)),
    )
    .await
}

async fn objection_counts(tx: &mut Tx, id: i64) -> Result<(i64, i64), AppError> {
    let rows: Vec<(String, i64)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT status, COUNT(*) FROM showcase_objections WHERE unit_id = $1 GROUP BY status",
    )
    .bind(id)
    .fetch_all(&mut *c)
    .await?);
    let count = |s: &str| rows.iter().find(|r| r.0 == s).map(|r| r.1).unwrap_or(0);
    Ok((count("open"), count("upheld")))
}

/// An objection as anyone files it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ObjectInput {
    pub reason: String,
    pub contact: String,
}

/// Anyone objects to a unit on notice, with a reason, until the notice's last day.
pub async fn object(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    input: &ObjectInput,
    today: NaiveDate,
) -> Result<i64, AppError> {
    let reason = input::text("reason", &input.reason, 10, 2000, "异议理由")?;
    let contact = input::text("contact", &input.contact, 0, 100, "联系方式")?;
    let sql = format!(
        "SELECT {COLUMNS} FROM showcase_units u WHERE u.id = $1{}",
        lock(tx)
    );
    let unit: Option<Unit> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?);
    let unit = unit
        .filter(|u| PUBLIC_STATES.contains(&u.state.as_str()))
        .ok_or(AppError::NotFound)?;
    let open = unit.state == "notice" && unit.notice_until.is_some_and(|u| today <= u);
    if !open {
        return Err(AppError::rejected(
            "该单位不在公示期内，不能提出异议 (the unit is not on public notice)",
        ));
    }
    let oid: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO showcase_objections (unit_id, reason, contact, status, created_at) \
         VALUES ($1, $2, $3, 'open', $4) RETURNING id",
    )
    .bind(id)
    .bind(&reason)
    .bind(Some(&contact).filter(|c| !c.is_empty()))
    .bind(now())
    .fetch_one(&mut *c)
    .await?);
    step(
        tx,
        actor,
        &unit,
        "objection_filed",
        json!({"objection": oid}),
        today,
        Some((false, json!({"id": id, "objection": oid}))),
    )
    .await?;
    Ok(oid)
}

/// An officer's resolution of an objection.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResolveInput {
    /// `upheld` | `dismissed`
    pub decision: String,
    pub resolution: String,
}

/// Resolves an open objection of a unit in the officer's jurisdiction.
pub async fn resolve(
    tx: &mut Tx,
    caller: &Caller,
    id: i64,
    objection: i64,
    input: &ResolveInput,
    today: NaiveDate,
) -> Result<Unit, AppError> {
    let unit = for_officer(tx, caller, id).await?;
    let decision = match input.decision.trim() {
        d @ ("upheld" | "dismissed") => d,
        _ => {
            return Err(AppError::bad_request(
                "decision",
                "处理结果应为 upheld（异议成立）或 dismissed（异议不成立） (the decision is upheld or dismissed)",
            ));
        }
    };
    let resolution = input::text("resolution", &input.resolution, 2, 1000, "核实情况")?;
    let status: Option<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT status FROM showcase_objections WHERE id = $1 AND unit_id = $2",
    )
    .bind(objection)
    .bind(id)
    .fetch_optional(&mut *c)
    .await?);
    match status.as_deref() {
        None => return Err(AppError::NotFound),
        Some("open") => {}
        Some(_) => {
            return Err(AppError::rejected(
                "该异议已处理 (the objection is already resolved)",
            ));
        }
    }
    on_tx!(tx, c => sqlx::query(
        "UPDATE showcase_objections SET status = $1, resolution = $2, resolved_by = $3, resolved_at = $4 WHERE id = $5",
    )
    .bind(decision)
    .bind(&resolution)
    .bind(caller.acting.actor.label())
    .bind(now())
    .bind(objection)
    .execute(&mut *c)
    .await?
    .rows_affected());
    step(
        tx,
        &caller.acting.actor,
        &unit,
        "objection_resolved",
        json!({"objection": objection, "decision": decision, "resolution": resolution}),
        today,
        Some((
            false,
            json!({"id": id, "objection": objection, "decision": decision}),
        )),
    )
    .await?;
    get_in(tx, id).await
}

// ----- reads ------------------------------------------------------------------------------

/// A unit the public may see (on notice, awarded or removed); else 404.
pub async fn public(db: &Db, id: i64) -> Result<Unit, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM showcase_units u WHERE u.id = $1 AND u.state IN ('notice', 'awarded', 'removed')"
    );
    let row: Option<Unit> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// A unit within an officer's scope; else 404.
pub async fn for_scope(db: &Db, scope: &Scope, id: i64) -> Result<Unit, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM showcase_units u WHERE u.id = $1 AND {}",
        scope.division_filter("u.division", 2)
    );
    let row: Option<Unit> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// A list query: state, words of the name, an area; keyset pages newest first.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub state: Option<String>,
    pub name: String,
    pub area: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// Units within `scope` matching `q` (the public: [`Scope::all`] and a public state).
pub async fn list(db: &Db, scope: &Scope, q: &ListQuery) -> Result<Page<Unit>, AppError> {
    let limit = q.limit.clamp(1, 100);
    let sql = format!(
        "SELECT {COLUMNS} FROM showcase_units u WHERE {} AND ($2 = '' OR u.state = $2) \
         AND ($3 = '' OR u.name LIKE $3 ESCAPE '\\') AND ($4 = '' OR u.division LIKE $4) \
         AND ($5 = 0 OR u.id < $5) ORDER BY u.id DESC LIMIT $6",
        scope.division_filter("u.division", 1)
    );
    let name = q.name.trim();
    let name = if name.is_empty() {
        String::new()
    } else {
        let mut s = String::from("%");
        for ch in name.chars() {
            if matches!(ch, '%' | '_' | '\\') {
                s.push('\\');
            }
            s.push(ch);
        }
        s.push('%');
        s
    };
    let rows: Vec<Unit> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .bind(q.state.as_deref().unwrap_or(""))
        .bind(&name)
        .bind(q.area.as_ref().map(|a| format!("{a}%")).unwrap_or_default())
        .bind(q.before.unwrap_or(0))
        .bind(limit + 1)
        .fetch_all(c)
        .await?);
    Ok(page_of(rows, limit, |u| u.id))
}

/// The units of one business, newest first.
pub async fn of_uscc(db: &Db, uscc: &str) -> Result<Vec<Unit>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM showcase_units u WHERE u.uscc = $1 ORDER BY u.id DESC LIMIT 20"
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(uscc).fetch_all(c).await?))
}

/// The objections of a unit, oldest first.
pub async fn objections(db: &Db, id: i64) -> Result<Vec<Objection>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT id, reason, contact, status, resolution, resolved_by, created_at FROM showcase_objections \
         WHERE unit_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(c)
    .await?))
}

/// The history of a unit, oldest first.
pub async fn history(db: &Db, id: i64) -> Result<Vec<Step>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT action, actor, detail, on_day, created_at FROM showcase_history WHERE unit_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(c)
    .await?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn complaint_numbers_split_on_any_separator() {
        assert_eq!(
            super::complaint_numbers(" TS-2026-000001-A，TS-2026-000002-B\nTS-2026-000003-C "),
            vec!["TS-2026-000001-A", "TS-2026-000002-B", "TS-2026-000003-C"]
        );
        assert!(super::complaint_numbers(" , ").is_empty());
    }
}
