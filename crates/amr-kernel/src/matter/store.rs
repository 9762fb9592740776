//! The matter operations on both backends.
//!
//! Writes take the caller's [`Tx`] (so a context can write its own rows in the same
//! transaction) and write rows + timeline + event + audit entry; every check comes before the
//! first write, so a refused request changes nothing (and the caller's transaction, dropped,
//! rolls back anything else). Concurrency is optimistic: `act` and `assign` carry the
//! `version` the caller saw, and the row is updated only if it is still that version
//! (PostgreSQL also locks the row with `FOR UPDATE`; SQLite serialises writers with
//! `BEGIN IMMEDIATE`), so two officers cannot both act on the same state: the second gets
//! [`AppError::Conflict`].
//!
//! Reads and writes go through the visibility filter in SQL: the actor's jurisdiction
//! ([`Scope::division_filter`](crate::auth::Scope::division_filter)) or, for an enterprise
//! account, the matters about its own business. Anything else is [`AppError::NotFound`].

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::clock;
use super::kind::{Acting, ClockEffect, Kind, MatterFacts, TransitionSpec, not_allowed};
use super::number::MatterNumber;
use super::{ATTACHMENT_MAX_BYTES, Engine, now, start_of};
use crate::audit::{self, Change};
use crate::auth::Permission;
use crate::calendar::Calendar;
use crate::codes::division::Jurisdiction;
use crate::db::{AppendTable, Cell, Db, SeqCounter, Tx, TxInner};
use crate::error::AppError;
use crate::events::{self, NewEvent};
use crate::{on_conn, on_tx};

/// A matter as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Matter {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub title: String,
    /// The jurisdiction: a division code.
    pub division: String,
    /// The business concerned, if any.
    pub uscc: Option<String>,
    pub assignee_account: Option<i64>,
    pub assignee_unit: Option<String>,
    pub state: String,
    /// Increases with every change of state, assignee or jurisdiction; `act` and `assign`
    /// must name the version they saw.
    pub version: i64,
    pub payload: Value,
    /// The outcome of the close-out (销号), while closed.
    pub outcome: Option<String>,
    /// The earliest due date among the running clocks.
    pub due_on: Option<NaiveDate>,
    /// Whether a clock ever ran past its due date (stopped late, or escalated).
    pub late: bool,
    /// The highest division the matter was escalated to.
    pub escalated_to: Option<String>,
    pub created_by: String,
    pub created_by_account: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Matter {
    pub fn facts(&self) -> MatterFacts<'_> {
        MatterFacts {
            division: &self.division,
            uscc: self.uscc.as_deref(),
            assignee_account: self.assignee_account,
            assignee_unit: self.assignee_unit.as_deref(),
            created_by_account: self.created_by_account,
        }
    }

    /// Whether it is open and its earliest running clock is past due on `today`.
    pub fn overdue_on(&self, today: NaiveDate) -> bool {
        self.closed_at.is_none() && self.due_on.is_some_and(|d| d < today)
    }
}

pub(crate) const COLUMNS: &str = "m.id, m.number, m.kind, m.title, m.division, m.uscc, \
     m.assignee_account, m.assignee_unit, m.state, m.version, m.payload, m.outcome, m.due_on, \
     m.late, m.escalated_to, m.created_by, m.created_by_account, m.created_at, m.updated_at, \
     m.closed_at";

#[derive(sqlx::FromRow)]
pub(crate) struct MatterRow {
    id: i64,
    number: String,
    kind: String,
    title: String,
    division: String,
    uscc: Option<String>,
    assignee_account: Option<i64>,
    assignee_unit: Option<String>,
    state: String,
    version: i64,
    payload: String,
    outcome: Option<String>,
    due_on: Option<NaiveDate>,
    late: bool,
    escalated_to: Option<String>,
    created_by: String,
    created_by_account: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

impl TryFrom<MatterRow> for Matter {
    type Error = AppError;
    fn try_from(r: MatterRow) -> Result<Matter, AppError> {
        let payload = serde_json::from_str(&r.payload).map_err(|e| {
            AppError::Internal(anyhow::anyhow!("matter {}: payload: {e}", r.number))
        })?;
        Ok(Matter {
            id: r.id,
            number: r.number,
            kind: r.kind,
            title: r.title,
            division: r.division,
            uscc: r.uscc,
            assignee_account: r.assignee_account,
            assignee_unit: r.assignee_unit,
            state: r.state,
            version: r.version,
            payload,
            outcome: r.outcome,
            due_on: r.due_on,
            late: r.late,
            escalated_to: r.escalated_to,
            created_by: r.created_by,
            created_by_account: r.created_by_account,
            created_at: r.created_at,
            updated_at: r.updated_at,
            closed_at: r.closed_at,
        })
    }
}

/// The visibility condition on `m`, with the scope pattern as `$n` and the actor's USCC as
/// `$n+1`.
fn visible(acting: &Acting, n: usize) -> String {
    format!(
        "({} OR (m.uscc IS NOT NULL AND m.uscc = ${}))",
        acting.scope.division_filter("m.division", n),
        n + 1
    )
}

fn lock(tx: &Tx) -> &'static str {
    match tx.inner {
        TxInner::Postgres(_) => " FOR UPDATE",
        TxInner::Sqlite(_) => "",
    }
}

/// The matter `number` as `acting` may see it, read (and on PostgreSQL locked) in `tx`.
async fn matter_in_tx(tx: &mut Tx, acting: &Acting, number: &str) -> Result<Matter, AppError> {
    let number = MatterNumber::parse(number)?.to_string();
    let sql = format!(
        "SELECT {COLUMNS} FROM matters m WHERE m.number = $1 AND {}{}",
        visible(acting, 2),
        lock(tx)
    );
    let row: Option<MatterRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&number)
        .bind(acting.scope.like_pattern())
        .bind(&acting.uscc)
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

async fn matter_by_id(tx: &mut Tx, id: i64) -> Result<Matter, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM matters m WHERE m.id = $1");
    let row: MatterRow = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *c)
        .await?);
    row.try_into()
}

/// What a new matter holds, from a form or a context.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewMatter {
    pub kind: String,
    pub title: String,
    /// The jurisdiction: a division code in the table (2, 4, 6 or 9 digits).
    pub division: String,
    /// The business concerned (a USCC), if any.
    pub uscc: Option<String>,
    /// The kind's own data: a JSON object of at most 64 KiB.
    pub payload: Value,
    pub assignee_account: Option<i64>,
    pub assignee_unit: Option<String>,
}

/// Checks a title: 1–200 characters, no control characters.
fn check_title(title: &str) -> Result<String, AppError> {
    let t = title.trim();
    if t.is_empty() || t.chars().count() > 200 || t.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "title",
            "请填写标题（1–200 字，不含控制字符）(the title is 1 to 200 characters, without control characters)",
        ));
    }
    Ok(t.to_string())
}

/// A division code in the table, normalized (`370100` → `3701`).
fn check_division(field: &str, code: &str) -> Result<String, AppError> {
    let j = Jurisdiction::parse(code).map_err(|e| AppError::bad_request(field, e))?;
    if j.is_all() {
        return Err(AppError::bad_request(
            field,
            "请填写行政区划代码 (a division code is required)",
        ));
    }
    Ok(j.prefix().to_string())
}

fn check_unit(unit: Option<&str>) -> Result<Option<String>, AppError> {
    match unit.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(u) if u.chars().count() <= 100 && !u.chars().any(char::is_control) => {
            Ok(Some(u.to_string()))
        }
        Some(_) => Err(AppError::bad_request(
            "assignee_unit",
            "承办单位不超过 100 字 (the unit is at most 100 characters)",
        )),
    }
}

fn check_reason(reason: Option<&str>) -> Result<Option<String>, AppError> {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r)
            if (2..=500).contains(&r.chars().count())
                && !r.chars().any(|c| c.is_control() && c != '\n' && c != '\r') =>
        {
            Ok(Some(r.to_string()))
        }
        Some(_) => Err(AppError::bad_request(
            "reason",
            "理由为 2–500 字 (a reason is 2 to 500 characters)",
        )),
    }
}

/// The account an assignment names: it must exist, be an active officer, and its
/// jurisdiction must hold the matter's division.
async fn check_assignee(tx: &mut Tx, account: i64, division: &str) -> Result<(), AppError> {
    let row: Option<(String, String, bool)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT role, jurisdiction, active FROM accounts WHERE id = $1",
    )
    .bind(account)
    .fetch_optional(&mut *c)
    .await?);
    match row {
        Some((role, jurisdiction, true))
            if role == "officer" && division.starts_with(jurisdiction.as_str()) =>
        {
            Ok(())
        }
        Some((_, _, true)) => Err(AppError::bad_request(
            "assignee_account",
            "承办人须为辖区覆盖该事项的执法人员 \
             (the assignee is an officer whose jurisdiction holds the matter)",
        )),
        _ => Err(AppError::bad_request(
            "assignee_account",
            "承办人账号不存在或已停用 (no such active account)",
        )),
    }
}

/// The timeline rows, as [`timeline_entry`] writes them.
pub static TIMELINE: AppendTable = AppendTable {
    name: "matter_timeline",
    columns: &[
        "matter_id",
        "at",
        "entry",
        "actor",
        "actor_name",
        "transition",
        "from_state",
        "to_state",
        "body",
        "internal",
    ],
};

/// The clock rows a started clock writes.
pub static CLOCKS: AppendTable = AppendTable {
    name: "matter_clocks",
    columns: &[
        "matter_id",
        "name",
        "state",
        "working_days",
        "started_on",
        "due_on",
        "paused_on",
        "paused_days",
        "stopped_on",
    ],
};

/// Appends a timeline entry: at once, or held back with the transaction's other rows when it
/// defers them (nothing needs its id; a caller that does writes [`timeline_row`] with
/// [`Tx::insert_returning_id`]).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn timeline_entry(
    tx: &mut Tx,
    matter_id: i64,
    entry: &str,
    actor: &crate::audit::Actor,
    transition: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    body: &Value,
    internal: bool,
) -> Result<(), AppError> {
    let row = timeline_row(
        matter_id, entry, actor, transition, from, to, body, internal,
    );
    tx.append(&TIMELINE, row).await
}

/// The values of a timeline entry, in the order of [`TIMELINE`]'s columns.
#[allow(clippy::too_many_arguments)]
fn timeline_row(
    matter_id: i64,
    entry: &str,
    actor: &crate::audit::Actor,
    transition: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    body: &Value,
    internal: bool,
) -> Vec<Cell> {
    vec![
        Cell::from(matter_id),
        Cell::from(now()),
        Cell::from(entry),
        Cell::from(actor.label()),
        Cell::from(actor.name.clone()),
        Cell::from(transition),
        Cell::from(from),
        Cell::from(to),
        Cell::from(body.to_string()),
        Cell::from(internal),
    ]
}

/// Takes the next sequence of `prefix` in `year`, inside the creating transaction: the row's
/// lock serialises creators of the same prefix and year, and a rollback returns the number.
/// The first number a transaction takes of a prefix and year comes from the row; the later
/// ones count on in memory (`Tx`, restored with a savepoint), and the commit stores the last
/// ([`store_sequences`]): gapless as before, one statement for a batch's numbers.
pub(super) async fn next_seq(tx: &mut Tx, prefix: &str, year: i32) -> Result<i64, AppError> {
    if let Some(s) = tx
        .sequences
        .iter_mut()
        .find(|s| s.year == year && s.prefix == prefix)
    {
        s.handed += 1;
        return Ok(s.handed);
    }
    let first: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO matter_sequences (prefix, year, last_value) VALUES ($1, $2, 1) \
         ON CONFLICT (prefix, year) DO UPDATE SET last_value = matter_sequences.last_value + 1 \
         RETURNING last_value",
    )
    .bind(prefix)
    .bind(i64::from(year))
    .fetch_one(&mut *c)
    .await?);
    tx.sequences.push(SeqCounter {
        prefix: prefix.to_string(),
        year,
        handed: first,
        stored: first,
    });
    Ok(first)
}

/// Stores the last number a transaction handed out of each sequence that counted on in
/// memory ([`next_seq`]); called by `Tx::commit`.
pub(crate) async fn store_sequences(tx: &mut Tx) -> Result<(), AppError> {
    let due: Vec<(String, i32, i64)> = tx
        .sequences
        .iter()
        .filter(|s| s.handed > s.stored)
        .map(|s| (s.prefix.clone(), s.year, s.handed))
        .collect();
    for (prefix, year, last) in due {
        on_tx!(tx, c => sqlx::query(
            "UPDATE matter_sequences SET last_value = $3 WHERE prefix = $1 AND year = $2",
        )
        .bind(&prefix)
        .bind(i64::from(year))
        .bind(last)
        .execute(&mut *c)
        .await?
        .rows_affected());
        if let Some(s) = tx
            .sequences
            .iter_mut()
            .find(|s| s.year == year && s.prefix == prefix)
        {
            s.stored = last;
        }
    }
    Ok(())
}

// ----- clocks -----------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct ClockRow {
    id: i64,
    state: String,
    due_on: NaiveDate,
    paused_on: Option<NaiveDate>,
    paused_days: i64,
}

async fn active_clock(
    tx: &mut Tx,
    matter_id: i64,
    name: &str,
) -> Result<Option<ClockRow>, AppError> {
    tx.flush_appends().await?;
    Ok(on_tx!(tx, c => sqlx::query_as(
        "SELECT id, state, due_on, paused_on, paused_days FROM matter_clocks \
         WHERE matter_id = $1 AND name = $2 AND state <> 'stopped' ORDER BY id DESC LIMIT 1",
    )
    .bind(matter_id)
    .bind(name)
    .fetch_optional(&mut *c)
    .await?))
}

/// Starts a clock (its row and timeline entry; held back with the transaction's other rows
/// when it defers them, and written before anything reads the clocks).
async fn start_clock(
    tx: &mut Tx,
    acting: &Acting,
    matter_id: i64,
    name: &str,
    working_days: u32,
    today: NaiveDate,
    due: NaiveDate,
) -> Result<(), AppError> {
    tx.append(
        &CLOCKS,
        vec![
            Cell::from(matter_id),
            Cell::from(name),
            Cell::from("running"),
            Cell::from(i64::from(working_days)),
            Cell::from(today),
            Cell::from(due),
            Cell::Date(None),
            Cell::from(0i64),
            Cell::Date(None),
        ],
    )
    .await?;
    timeline_entry(
        tx,
        matter_id,
        "clock_started",
        &acting.actor,
        None,
        None,
        None,
        &json!({"clock": name, "on": today, "working_days": working_days, "due_on": due}),
        false,
    )
    .await
}

/// Clocks to start: name, working days, due date.
type Starts = Vec<(&'static str, u32, NaiveDate)>;

/// The due dates of clocks started on `today` by `effects`, when every effect starts a clock
/// of its own name (what a matter with no clock yet does with them is then known without
/// reading its clocks); `None` for any other list.
fn fresh_starts(
    cal: &Calendar,
    kind: &Kind,
    effects: &[ClockEffect],
    today: NaiveDate,
) -> Result<Option<Starts>, AppError> {
    let mut out: Starts = Vec::with_capacity(effects.len());
    for e in effects {
        let ClockEffect::Start(name) = *e else {
            return Ok(None);
        };
        if out.iter().any(|&(n, _, _)| n == name) {
            return Ok(None);
        }
        let spec = kind.clock(name).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("kind {}: clock {name}", kind.name()))
        })?;
        out.push((
            name,
            spec.working_days,
            clock::due_on(cal, today, spec.working_days)?,
        ));
    }
    Ok(Some(out))
}

/// Stops an active clock on `today` (a paused one first counts its pause), recording it.
async fn stop_clock(
    tx: &mut Tx,
    cal: &Calendar,
    acting: &Acting,
    matter_id: i64,
    name: &str,
    row: ClockRow,
    today: NaiveDate,
) -> Result<(), AppError> {
    let paused_on = row.paused_on.filter(|_| row.state == "paused");
    let (due, paused_days, late) =
        clock::stopped(cal, row.due_on, row.paused_days, paused_on, today)?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE matter_clocks SET state = 'stopped', due_on = $2, paused_on = NULL, \
         paused_days = $3, stopped_on = $4 WHERE id = $1",
    )
    .bind(row.id)
    .bind(due)
    .bind(paused_days)
    .bind(today)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if late {
        on_tx!(tx, c => sqlx::query("UPDATE matters SET late = $2 WHERE id = $1")
            .bind(matter_id)
            .bind(true)
            .execute(&mut *c)
            .await?
            .rows_affected());
    }
    timeline_entry(
        tx,
        matter_id,
        "clock_stopped",
        &acting.actor,
        None,
        None,
        None,
        &json!({"clock": name, "on": today, "due_on": due, "late": late, "paused_days": paused_days}),
        false,
    )
    .await?;
    Ok(())
}

/// Applies the clock effects of a creation or transition on `today`.
async fn apply_clocks(
    tx: &mut Tx,
    cal: &Calendar,
    kind: &Kind,
    acting: &Acting,
    matter_id: i64,
    effects: &[ClockEffect],
    today: NaiveDate,
) -> Result<(), AppError> {
    for effect in effects {
        let name = effect.clock();
        let spec = kind.clock(name).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("kind {}: clock {name}", kind.name()))
        })?;
        let active = active_clock(tx, matter_id, name).await?;
        match (effect, active) {
            (ClockEffect::Start(_), active) => {
                if let Some(row) = active {
                    stop_clock(tx, cal, acting, matter_id, name, row, today).await?;
                }
                let due = clock::due_on(cal, today, spec.working_days)?;
                start_clock(tx, acting, matter_id, name, spec.working_days, today, due).await?;
            }
            (ClockEffect::Pause(_), Some(row)) if row.state == "running" => {
                on_tx!(tx, c => sqlx::query(
                    "UPDATE matter_clocks SET state = 'paused', paused_on = $2 WHERE id = $1",
                )
                .bind(row.id)
                .bind(today)
                .execute(&mut *c)
                .await?
                .rows_affected());
                timeline_entry(
                    tx,
                    matter_id,
                    "clock_paused",
                    &acting.actor,
                    None,
                    None,
                    None,
                    &json!({"clock": name, "on": today, "due_on": row.due_on}),
                    false,
                )
                .await?;
            }
            (ClockEffect::Resume(_), Some(row)) if row.state == "paused" => {
                let paused_on = row.paused_on.unwrap_or(today);
                let (days, due) = clock::resumed(cal, row.due_on, paused_on, today)?;
                on_tx!(tx, c => sqlx::query(
                    "UPDATE matter_clocks SET state = 'running', paused_on = NULL, \
                     paused_days = paused_days + $2, due_on = $3 WHERE id = $1",
                )
                .bind(row.id)
                .bind(i64::from(days))
                .bind(due)
                .execute(&mut *c)
                .await?
                .rows_affected());
                timeline_entry(
                    tx,
                    matter_id,
                    "clock_resumed",
                    &acting.actor,
                    None,
                    None,
                    None,
                    &json!({"clock": name, "on": today, "paused_working_days": days, "due_on": due}),
                    false,
                )
                .await?;
            }
            (ClockEffect::Stop(_), Some(row)) => {
                stop_clock(tx, cal, acting, matter_id, name, row, today).await?;
            }
            // Pausing a clock that is not running, resuming one that is not paused, stopping
            // one that is not active: nothing to do.
            _ => {}
        }
    }
    Ok(())
}

/// Stops every active clock (on close-out).
async fn stop_all_clocks(
    tx: &mut Tx,
    cal: &Calendar,
    acting: &Acting,
    matter_id: i64,
    today: NaiveDate,
) -> Result<(), AppError> {
    tx.flush_appends().await?;
    let names: Vec<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT name FROM matter_clocks WHERE matter_id = $1 AND state <> 'stopped' ORDER BY id",
    )
    .bind(matter_id)
    .fetch_all(&mut *c)
    .await?);
    for name in names {
        if let Some(row) = active_clock(tx, matter_id, &name).await? {
            stop_clock(tx, cal, acting, matter_id, &name, row, today).await?;
        }
    }
    Ok(())
}

/// The matter's columns as `RETURNING` names them (no table alias).
pub(super) const RETURNING: &str = "id, number, kind, title, division, uscc, assignee_account, \
     assignee_unit, state, version, payload, outcome, due_on, late, escalated_to, created_by, \
     created_by_account, created_at, updated_at, closed_at";

/// [`refresh_due`] and the matter as it then is, in one statement (`UPDATE ... RETURNING`,
/// both backends): a creation or a transition ends with it rather than an update and a read.
async fn refresh_due_and_read(tx: &mut Tx, matter_id: i64) -> Result<Matter, AppError> {
    tx.flush_appends().await?;
    let sql = format!(
        "UPDATE matters SET due_on = (SELECT MIN(k.due_on) FROM matter_clocks k \
         WHERE k.matter_id = $1 AND k.state = 'running') WHERE id = $1 RETURNING {RETURNING}"
    );
    let row: MatterRow = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(matter_id)
        .fetch_one(&mut *c)
        .await?);
    row.try_into()
}

/// Sets the matter's `due_on` to the earliest due date of its running clocks.
pub(crate) async fn refresh_due(tx: &mut Tx, matter_id: i64) -> Result<(), AppError> {
    tx.flush_appends().await?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE matters SET due_on = (SELECT MIN(k.due_on) FROM matter_clocks k \
         WHERE k.matter_id = $1 AND k.state = 'running') WHERE id = $1",
    )
    .bind(matter_id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// A creation checked and not yet written (`Engine::prepare_new`).
pub(super) struct Prepared<'k> {
    pub(super) kind: &'k Kind,
    pub(super) title: String,
    pub(super) division: String,
    pub(super) uscc: Option<String>,
    pub(super) payload: Value,
    pub(super) payload_text: String,
    pub(super) unit: Option<String>,
    pub(super) assignee_account: Option<i64>,
    /// The clocks the creation starts, when they are all starts (see [`fresh_starts`]).
    pub(super) starts: Option<Starts>,
}

impl Prepared<'_> {
    pub(super) fn facts<'a>(&'a self, acting: &Acting) -> MatterFacts<'a> {
        MatterFacts {
            division: &self.division,
            uscc: self.uscc.as_deref(),
            assignee_account: self.assignee_account,
            assignee_unit: self.unit.as_deref(),
            created_by_account: acting.account,
        }
    }
}

/// The transition a new matter is created already past (`Engine::create_and_act`): checked,
/// its fields parsed and the clocks it starts counted.
struct Then {
    t: &'static TransitionSpec,
    fields: BTreeMap<String, Value>,
    starts: Starts,
}

/// What the creation's event and audit entry name.
pub(super) struct Created<'a> {
    pub(super) id: i64,
    pub(super) number: &'a str,
    pub(super) kind: &'a Kind,
    pub(super) title: &'a str,
    pub(super) division: &'a str,
    pub(super) uscc: Option<&'a str>,
    pub(super) payload: &'a Value,
    pub(super) assignee_account: Option<i64>,
    pub(super) unit: Option<&'a str>,
}

/// The event (`kernel.matter.created`, internal) and the audit entry of a creation.
pub(super) async fn created_records(
    tx: &mut Tx,
    acting: &Acting,
    c: Created<'_>,
) -> Result<(), AppError> {
    let mut event = NewEvent::internal(
        "kernel.matter.created",
        json!({"id": c.id, "number": c.number, "kind": c.kind.name(), "state": c.kind.spec().initial}),
    )
    .division(c.division)
    .actor(acting.actor.label());
    if let Some(u) = c.uscc {
        // The business concerned, for consumers that follow a business.
        event = event.uscc(u);
    }
    events::append(tx, event).await?;
    audit::append(
        tx,
        &acting.actor,
        Change {
            action: "matter.create",
            target_kind: "matter",
            target_id: c.number.to_string(),
            division: Some(c.division.to_string()),
            before: None,
            after: Some(json!({
                "kind": c.kind.name(), "title": c.title, "uscc": c.uscc, "payload": c.payload,
                "assignee_account": c.assignee_account, "assignee_unit": c.unit,
            })),
        },
    )
    .await
}

/// The event and the audit entry of a transition `t` taken on `m` (the matter before it).
pub(super) async fn acted_records(
    tx: &mut Tx,
    acting: &Acting,
    m: &Matter,
    t: &TransitionSpec,
    outcome: &Option<String>,
    fields: &BTreeMap<String, Value>,
) -> Result<(), AppError> {
    let mut payload = json!({
        "number": m.number, "kind": m.kind, "transition": t.name,
        "from": m.state, "to": t.to, "division": m.division,
    });
    if let Some(o) = outcome {
        payload["outcome"] = json!(o);
    }
    let event = if t.public {
        NewEvent::public("kernel.matter.acted", payload)
    } else {
        payload["id"] = json!(m.id);
        payload["version"] = json!(m.version + 1);
        NewEvent::internal("kernel.matter.acted", payload)
    };
    events::append(tx, event.division(&m.division).actor(acting.actor.label())).await?;
    audit::append(
        tx,
        &acting.actor,
        Change {
            action: "matter.act",
            target_kind: "matter",
            target_id: m.number.clone(),
            division: Some(m.division.clone()),
            before: Some(json!({"state": m.state, "version": m.version, "outcome": m.outcome})),
            after: Some(json!({"state": t.to, "version": m.version + 1, "transition": t.name, "fields": fields})),
        },
    )
    .await?;
    Ok(())
}

// ----- writes ------------------------------------------------------------------------------

impl Engine {
    /// Creates a matter of a declared kind on `today` (its number's year, the day its first
    /// clocks start). The number's sequence is taken in this transaction (gapless per prefix
    /// and year). Event `kernel.matter.created` (internal), audit `matter.create`.
    pub async fn create(
        &self,
        tx: &mut Tx,
        acting: &Acting,
        new: &NewMatter,
        today: NaiveDate,
    ) -> Result<Matter, AppError> {
        let p = self.prepare_new(tx, acting, new, today).await?;
        self.insert_new(tx, acting, p, None, today).await
    }

    /// [`Engine::create`] and then [`Engine::act_on`] with `input` on the matter it returned,
    /// with the same rules, refusals, rows, events and audit entries as those two calls, in
    /// the same order — but when the transition can be decided before anything is written
    /// (the creation and the transition only start clocks, of different names; the
    /// transition leaves the initial state for a state that is not terminal; `acting` may
    /// take it; its fields are good; `input.version` is 1), the matter's row is inserted
    /// already in the transition's state at version 2, one statement instead of two. Any
    /// other case takes the two calls. The creation and the transition then share one time.
    pub async fn create_and_act(
        &self,
        tx: &mut Tx,
        acting: &Acting,
        new: &NewMatter,
        input: &ActInput,
        today: NaiveDate,
    ) -> Result<Matter, AppError> {
        let p = self.prepare_new(tx, acting, new, today).await?;
        let then = match (&p.starts, p.kind.transition(input.transition.trim())) {
            (Some(first), Some(t)) => {
                let facts = p.facts(acting);
                let initial = p.kind.spec().initial;
                let to = p.kind.state(t.to);
                let from_terminal = p.kind.state(initial).is_some_and(|s| s.terminal);
                let fields = p.kind.check_fields(t, &input.fields).ok();
                let starts = fresh_starts(&self.calendar(), p.kind, t.clocks, today)?;
                match (to, fields, starts) {
                    (Some(to), Some(fields), Some(starts))
                        if input.version == 1
                            && t.who.allows(acting, &facts)
                            && t.from.contains(&initial)
                            && !to.terminal
                            && !from_terminal
                            && !starts
                                .iter()
                                .any(|&(n, _, _)| first.iter().any(|&(f, _, _)| f == n)) =>
                    {
                        Some(Then { t, fields, starts })
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if then.is_some() {
            return self.insert_new(tx, acting, p, then, today).await;
        }
        let m = self.insert_new(tx, acting, p, None, today).await?;
        self.act_on(tx, acting, m, input, today).await
    }

    /// The checks of a creation, before anything is written.
    pub(super) async fn prepare_new<'e>(
        &'e self,
        tx: &mut Tx,
        acting: &Acting,
        new: &NewMatter,
        today: NaiveDate,
    ) -> Result<Prepared<'e>, AppError> {
        let kind = self.input_kind(&new.kind)?;
        let title = check_title(&new.title)?;
        let division = check_division("division", &new.division)?;
        let uscc = match new.uscc.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(u) => Some(
                crate::codes::uscc::Uscc::parse(u)
                    .map_err(|e| AppError::bad_request("uscc", e))?
                    .to_string(),
            ),
        };
        let payload = match &new.payload {
            Value::Null => json!({}),
            v @ Value::Object(_) => v.clone(),
            _ => {
                return Err(AppError::bad_request(
                    "payload",
                    "附加数据应为 JSON 对象 (the payload is a JSON object)",
                ));
            }
        };
        let payload_text = payload.to_string();
        if payload_text.len() > 64 * 1024 {
            return Err(AppError::bad_request(
                "payload",
                "附加数据不超过 64 KB (the payload is at most 64 KB)",
            ));
        }
        let unit = check_unit(new.assignee_unit.as_deref())?;
        let p = Prepared {
            kind,
            title,
            division,
            uscc,
            payload,
            payload_text,
            unit,
            assignee_account: new.assignee_account,
            starts: None,
        };
        let facts = p.facts(acting);
        if !acting.sees(&facts) {
            return Err(AppError::bad_request(
                "division",
                "该行政区划不在您的辖区内 (the division is outside your jurisdiction)",
            ));
        }
        if !kind.spec().create.allows(acting, &facts) {
            return Err(not_allowed(
                super::label("登记事项", "registering a matter"),
                &kind.spec().create,
            ));
        }
        if let Some(a) = new.assignee_account {
            check_assignee(tx, a, &p.division).await?;
        }
        let cal = self.calendar();
        // Check the clocks can be counted before anything is written.
        for e in kind.spec().on_create {
            if let (ClockEffect::Start(c), Some(spec)) = (e, kind.clock(e.clock())) {
                clock::due_on(&cal, today, spec.working_days).map_err(|err| {
                    AppError::rejected(format!("{}: {}", c, err.public_message()))
                })?;
            }
        }
        // The clocks a new matter starts, when they are all starts (the usual case): their
        // due dates are known now, the earliest goes into the row, and nothing needs reading
        // back. Any other list of effects is applied after the insert and the row read again.
        let starts = fresh_starts(&cal, kind, kind.spec().on_create, today)?;
        Ok(Prepared { starts, ..p })
    }

    /// Writes a checked creation: its row (already past `then`'s transition when given,
    /// whose clocks and records follow the creation's), timeline, clocks, events and audit.
    async fn insert_new(
        &self,
        tx: &mut Tx,
        acting: &Acting,
        p: Prepared<'_>,
        then: Option<Then>,
        today: NaiveDate,
    ) -> Result<Matter, AppError> {
        let Prepared {
            kind,
            title,
            division,
            uscc,
            payload,
            payload_text,
            unit,
            assignee_account,
            starts,
        } = p;
        let due_on = starts
            .iter()
            .flatten()
            .chain(then.iter().flat_map(|t| t.starts.iter()))
            .map(|&(_, _, due)| due)
            .min();
        let (state, version) = match &then {
            Some(t) => (t.t.to, 2),
            None => (kind.spec().initial, 1),
        };
        let year = chrono::Datelike::year(&today);
        let seq = next_seq(tx, kind.prefix(), year).await?;
        let number = MatterNumber::new(kind.prefix(), year, seq as u64)?.to_string();
        let at = now();
        let sql = format!(
            "INSERT INTO matters (number, kind, title, division, uscc, assignee_account, \
             assignee_unit, state, version, payload, outcome, due_on, late, escalated_to, \
             created_by, created_by_account, created_at, updated_at, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $15, $9, NULL, $14, $10, NULL, $11, $12, \
             $13, $13, NULL) RETURNING {RETURNING}"
        );
        let inserted: MatterRow = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&number)
        .bind(kind.name())
        .bind(&title)
        .bind(&division)
        .bind(&uscc)
        .bind(assignee_account)
        .bind(&unit)
        .bind(state)
        .bind(&payload_text)
        .bind(false)
        .bind(acting.actor.label())
        .bind(acting.account)
        .bind(at)
        .bind(due_on)
        .bind(version)
        .fetch_one(&mut *c)
        .await?);
        let id = inserted.id;
        timeline_entry(
            tx,
            id,
            "created",
            &acting.actor,
            None,
            None,
            Some(kind.spec().initial),
            &json!({"title": title, "division": division, "assignee_account": assignee_account, "assignee_unit": unit}),
            false,
        )
        .await?;
        let created: Matter = match starts {
            Some(starts) => {
                for (name, working_days, due) in starts {
                    start_clock(tx, acting, id, name, working_days, today, due).await?;
                }
                if kind.spec().on_create.is_empty() && then.is_none() {
                    tx.fresh_matters.push(id);
                }
                inserted.try_into()?
            }
            None => {
                // Only a creation with no transition after it comes here (see
                // `create_and_act`).
                let cal = self.calendar();
                apply_clocks(tx, &cal, kind, acting, id, kind.spec().on_create, today).await?;
                refresh_due_and_read(tx, id).await?
            }
        };
        created_records(
            tx,
            acting,
            Created {
                id,
                number: &number,
                kind,
                title: &title,
                division: &division,
                uscc: uscc.as_deref(),
                payload: &payload,
                assignee_account,
                unit: unit.as_deref(),
            },
        )
        .await?;
        let Some(then) = then else {
            return Ok(created);
        };
        // The transition, as `act_on` records it, from the matter as it was created.
        let before = Matter {
            state: kind.spec().initial.to_string(),
            version: 1,
            outcome: None,
            ..created.clone()
        };
        let fields = then.fields;
        timeline_entry(
            tx,
            id,
            "transition",
            &acting.actor,
            Some(then.t.name),
            Some(&before.state),
            Some(then.t.to),
            &json!({"fields": fields}),
            false,
        )
        .await?;
        for (name, working_days, due) in then.starts {
            start_clock(tx, acting, id, name, working_days, today, due).await?;
        }
        acted_records(tx, acting, &before, then.t, &None, &fields).await?;
        Ok(created)
    }

    /// Takes a transition. Refused, changing nothing: an unknown action (400), one the state
    /// does not allow (422, naming the actions it does), one the actor may not take (403,
    /// naming who may), a stale `version` (409), a missing or bad field (400, naming each
    /// missing one). Entering a terminal state records the outcome and stops every clock;
    /// leaving one (reopening) clears the outcome. Event `kernel.matter.acted` (public when
    /// the transition is), audit `matter.act`.
    pub async fn act(
        &self,
        tx: &mut Tx,
        acting: &Acting,
        number: &str,
        input: &ActInput,
        today: NaiveDate,
    ) -> Result<Matter, AppError> {
        let m = matter_in_tx(tx, acting, number).await?;
        self.act_on(tx, acting, m, input, today).await
    }

    /// [`Engine::act`] on a matter the caller already holds as this transaction last wrote
    /// it (e.g. the one [`Engine::create`] just returned), without reading it again. The
    /// same rules and the same refusals; `acting` must see it (else NotFound), and the
    /// update still requires the stored version to be `m.version` (else Conflict), so a
    /// stale `m` changes nothing.
    pub async fn act_on(
        &self,
        tx: &mut Tx,
        acting: &Acting,
        m: Matter,
        input: &ActInput,
        today: NaiveDate,
    ) -> Result<Matter, AppError> {
        if !acting.sees(&m.facts()) {
            return Err(AppError::NotFound);
        }
        let kind = self.stored_kind(&m.kind)?;
        let t: &TransitionSpec = kind
            .transition(input.transition.trim())
            .ok_or_else(|| no_such_transition(kind, &input.transition))?;
        if !t.who.allows(acting, &m.facts()) {
            return Err(not_allowed(t.label, &t.who));
        }
        if input.version != m.version {
            return Err(stale(&m));
        }
        if !t.from.contains(&m.state.as_str()) {
            return Err(not_possible(kind, &m.state, t));
        }
        let fields = kind.check_fields(t, &input.fields)?;
        let to = kind.state(t.to).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("kind {}: state {}", kind.name(), t.to))
        })?;
        let from_terminal = kind.state(&m.state).is_some_and(|s| s.terminal);
        let cal = self.calendar();
        let at = now();
        let outcome: Option<String> = if to.terminal {
            fields
                .get("outcome")
                .and_then(Value::as_str)
                .map(str::to_string)
        } else {
            None
        };
        let closed_at = if to.terminal { Some(at) } else { None };
        // A matter this transaction created with no clock, still as created, taking a
        // transition that only starts clocks: it has no clock to stop or read, so the due
        // date is known now and goes into the same update, which reads the row back.
        let fresh = if m.version == 1
            && !to.terminal
            && !from_terminal
            && tx.fresh_matters.iter().rev().any(|&id| id == m.id)
        {
            fresh_starts(&cal, kind, t.clocks, today)?
        } else {
            None
        };
        let after = if let Some(starts) = fresh {
            let due_on = starts.iter().map(|&(_, _, due)| due).min();
            let sql = format!(
                "UPDATE matters SET state = $3, version = version + 1, updated_at = $4, \
                 outcome = $5, closed_at = $6, due_on = $7 WHERE id = $1 AND version = $2 \
                 RETURNING {RETURNING}"
            );
            let row: Option<MatterRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(m.id)
                .bind(m.version)
                .bind(t.to)
                .bind(at)
                .bind(&outcome)
                .bind(closed_at)
                .bind(due_on)
                .fetch_optional(&mut *c)
                .await?);
            let Some(row) = row else {
                return Err(stale(&m));
            };
            timeline_entry(
                tx,
                m.id,
                "transition",
                &acting.actor,
                Some(t.name),
                Some(&m.state),
                Some(t.to),
                &json!({"fields": fields}),
                false,
            )
            .await?;
            for (name, working_days, due) in starts {
                start_clock(tx, acting, m.id, name, working_days, today, due).await?;
            }
            row.try_into()?
        } else {
            let n = on_tx!(tx, c => sqlx::query(
                "UPDATE matters SET state = $3, version = version + 1, updated_at = $4, outcome = $5, \
                 closed_at = $6 WHERE id = $1 AND version = $2",
            )
            .bind(m.id)
            .bind(m.version)
            .bind(t.to)
            .bind(at)
            .bind(&outcome)
            .bind(closed_at)
            .execute(&mut *c)
            .await?
            .rows_affected());
            if n != 1 {
                return Err(stale(&m));
            }
            timeline_entry(
                tx,
                m.id,
                if from_terminal {
                    "reopened"
                } else {
                    "transition"
                },
                &acting.actor,
                Some(t.name),
                Some(&m.state),
                Some(t.to),
                &json!({"fields": fields}),
                false,
            )
            .await?;
            apply_clocks(tx, &cal, kind, acting, m.id, t.clocks, today).await?;
            if to.terminal {
                stop_all_clocks(tx, &cal, acting, m.id, today).await?;
            }
            refresh_due_and_read(tx, m.id).await?
        };
        acted_records(tx, acting, &m, t, &outcome, &fields).await?;
        Ok(after)
    }

    /// Assigns or transfers a matter: a new assignee account and/or unit, and (when the kind
    /// allows it) a new jurisdiction. Replacing an assignee or changing the jurisdiction needs
    /// a reason. The assignee must be an active officer whose jurisdiction holds the matter's
    /// (new) division. Event `kernel.matter.assigned` or `kernel.matter.transferred`
    /// (internal), audit `matter.assign`.
    pub async fn assign(
        &self,
        tx: &mut Tx,
        acting: &Acting,
        number: &str,
        input: &AssignInput,
    ) -> Result<Matter, AppError> {
        let m = matter_in_tx(tx, acting, number).await?;
        let kind = self.stored_kind(&m.kind)?;
        let rule = kind.spec().transfer;
        if !rule.who.allows(acting, &m.facts()) {
            return Err(not_allowed(
                super::label("分派或转办", "assigning or transferring"),
                &rule.who,
            ));
        }
        if input.version != m.version {
            return Err(stale(&m));
        }
        if kind.state(&m.state).is_some_and(|s| s.terminal) {
            return Err(AppError::rejected(
                "已办结的事项不能分派或转办，请先重新办理 (a closed matter is not reassigned; reopen it first)",
            ));
        }
        let division = match input
            .division
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            None => m.division.clone(),
            Some(d) => check_division("division", d)?,
        };
        let moved = division != m.division;
        if moved && !rule.across_jurisdiction {
            return Err(AppError::rejected(format!(
                "“{}”类事项不能转出本辖区 (a {} cannot move to another jurisdiction)",
                kind.spec().label.zh,
                kind.spec().label.en
            )));
        }
        let unit = check_unit(input.unit.as_deref())?;
        let account = input.account;
        let reason = check_reason(input.reason.as_deref())?;
        let (new_account, new_unit) = if moved {
            // A matter moved to another bureau is that bureau's to assign.
            (account, unit.clone())
        } else {
            (
                account.or(m.assignee_account),
                unit.clone().or(m.assignee_unit.clone()),
            )
        };
        if !moved && new_account == m.assignee_account && new_unit == m.assignee_unit {
            return Err(AppError::bad_request(
                "assignee_account",
                "没有任何改变：请指定新的承办人、承办单位或辖区 \
                 (nothing changes: name a new assignee, unit or jurisdiction)",
            ));
        }
        let replaces = (m.assignee_account.is_some() && new_account != m.assignee_account)
            || (m.assignee_unit.is_some() && new_unit != m.assignee_unit);
        if (moved || replaces) && reason.is_none() {
            return Err(AppError::bad_request(
                "reason",
                "转办或更换承办人须写明理由 (a transfer or a change of assignee needs a reason)",
            ));
        }
        if let Some(a) = new_account {
            check_assignee(tx, a, &division).await?;
        }
        let at = now();
        let n = on_tx!(tx, c => sqlx::query(
            "UPDATE matters SET division = $3, assignee_account = $4, assignee_unit = $5, \
             version = version + 1, updated_at = $6 WHERE id = $1 AND version = $2",
        )
        .bind(m.id)
        .bind(m.version)
        .bind(&division)
        .bind(new_account)
        .bind(&new_unit)
        .bind(at)
        .execute(&mut *c)
        .await?
        .rows_affected());
        if n != 1 {
            return Err(stale(&m));
        }
        let before = json!({"division": m.division, "assignee_account": m.assignee_account, "assignee_unit": m.assignee_unit});
        let after = json!({"division": division, "assignee_account": new_account, "assignee_unit": new_unit});
        let entry = if moved { "transferred" } else { "assigned" };
        timeline_entry(
            tx,
            m.id,
            entry,
            &acting.actor,
            None,
            None,
            None,
            &json!({"from": before, "to": after, "reason": reason}),
            false,
        )
        .await?;
        events::append(
            tx,
            NewEvent::internal(
                &format!("kernel.matter.{entry}"),
                json!({"id": m.id, "number": m.number, "kind": m.kind, "from_division": m.division, "division": division, "version": m.version + 1}),
            )
            .division(&division)
            .actor(acting.actor.label()),
        )
        .await?;
        audit::append(
            tx,
            &acting.actor,
            Change {
                action: "matter.assign",
                target_kind: "matter",
                target_id: m.number.clone(),
                division: Some(division.clone()),
                before: Some(before),
                after: Some(json!({"to": after, "reason": reason})),
            },
        )
        .await?;
        matter_by_id(tx, m.id).await
    }

    /// Adds a message or note to the timeline. `internal` notes are not shown to the business
    /// concerned. Event `kernel.matter.message_added` (internal), audit `matter.message`.
    pub async fn add_message(
        &self,
        tx: &mut Tx,
        acting: &Acting,
        number: &str,
        text: &str,
        internal: bool,
    ) -> Result<TimelineEntry, AppError> {
        let m = matter_in_tx(tx, acting, number).await?;
        let kind = self.stored_kind(&m.kind)?;
        let rule = kind.spec().write;
        if !rule.allows(acting, &m.facts()) {
            return Err(not_allowed(
                super::label("留言", "writing to a matter"),
                &rule,
            ));
        }
        let text = text.trim();
        if text.is_empty()
            || text.chars().count() > 5000
            || text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r')
        {
            return Err(AppError::bad_request(
                "text",
                "留言为 1–5000 字 (a message is 1 to 5,000 characters)",
            ));
        }
        // A business writing about itself cannot hide its words from itself.
        let internal = internal && !is_party_only(acting, &m);
        let row = timeline_row(
            m.id,
            "message",
            &acting.actor,
            None,
            None,
            None,
            &json!({"text": text}),
            internal,
        );
        let id = tx.insert_returning_id(&TIMELINE, row).await?;
        touch(tx, m.id).await?;
        events::append(
            tx,
            NewEvent::internal(
                "kernel.matter.message_added",
                json!({"id": m.id, "number": m.number, "kind": m.kind, "entry": id, "internal": internal}),
            )
            .division(&m.division)
            .actor(acting.actor.label()),
        )
        .await?;
        audit::append(
            tx,
            &acting.actor,
            Change {
                action: "matter.message",
                target_kind: "matter",
                target_id: m.number.clone(),
                division: Some(m.division.clone()),
                before: None,
                after: Some(json!({"entry": id, "text": text, "internal": internal})),
            },
        )
        .await?;
        timeline_by_id(tx, id).await
    }

    /// Attaches a file (at most [`ATTACHMENT_MAX_BYTES`]); its SHA-256 is recorded. Event
    /// `kernel.matter.attachment_added` (internal), audit `matter.attach` (the digest, not the
    /// bytes).
    pub async fn attach(
        &self,
        tx: &mut Tx,
        acting: &Acting,
        number: &str,
        file: &NewAttachment,
    ) -> Result<Attachment, AppError> {
        let m = matter_in_tx(tx, acting, number).await?;
        let kind = self.stored_kind(&m.kind)?;
        let rule = kind.spec().write;
        if !rule.allows(acting, &m.facts()) {
            return Err(not_allowed(
                super::label("上传附件", "attaching files"),
                &rule,
            ));
        }
        let name = file.name.trim();
        if name.is_empty()
            || name.chars().count() > 200
            || name
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(AppError::bad_request(
                "name",
                "文件名为 1–200 字，不含路径分隔符和控制字符 \
                 (a file name is 1 to 200 characters, without slashes or control characters)",
            ));
        }
        let ct = file.content_type.trim().to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        let valid_ct = ct.len() <= 100
            && ct
                .split_once('/')
                .is_some_and(|(a, b)| token(a) && token(b));
        if !valid_ct {
            return Err(AppError::bad_request(
                "content_type",
                "文件类型应形如 application/pdf (the content type looks like application/pdf)",
            ));
        }
        if file.bytes.is_empty() {
            return Err(AppError::bad_request(
                "file",
                "文件为空 (the file is empty)",
            ));
        }
        if file.bytes.len() > ATTACHMENT_MAX_BYTES {
            return Err(AppError::bad_request(
                "file",
                format!(
                    "附件不超过 {} MB (an attachment is at most {} MB)",
                    ATTACHMENT_MAX_BYTES / (1024 * 1024),
                    ATTACHMENT_MAX_BYTES / (1024 * 1024)
                ),
            ));
        }
        let sha256 = hex::encode(Sha256::digest(&file.bytes));
        let at = now();
        let size = file.bytes.len() as i64;
        let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
            "INSERT INTO matter_attachments (matter_id, name, content_type, size, sha256, bytes, \
             added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(m.id)
        .bind(name)
        .bind(&ct)
        .bind(size)
        .bind(&sha256)
        .bind(&file.bytes)
        .bind(acting.actor.label())
        .bind(at)
        .fetch_one(&mut *c)
        .await?);
        let meta = json!({"attachment": id, "name": name, "content_type": ct, "size": size, "sha256": sha256});
        timeline_entry(
            tx,
            m.id,
            "attachment",
            &acting.actor,
            None,
            None,
            None,
            &meta,
            false,
        )
        .await?;
        touch(tx, m.id).await?;
        events::append(
            tx,
            NewEvent::internal(
                "kernel.matter.attachment_added",
                json!({"id": m.id, "number": m.number, "kind": m.kind, "attachment": id, "sha256": sha256, "size": size}),
            )
            .division(&m.division)
            .actor(acting.actor.label()),
        )
        .await?;
        audit::append(
            tx,
            &acting.actor,
            Change {
                action: "matter.attach",
                target_kind: "matter",
                target_id: m.number.clone(),
                division: Some(m.division.clone()),
                before: None,
                after: Some(meta),
            },
        )
        .await?;
        Ok(Attachment {
            id,
            matter_id: m.id,
            name: name.to_string(),
            content_type: ct,
            size,
            sha256,
            added_by: acting.actor.label(),
            added_at: at,
        })
    }
}

/// The refusal of an action the kind does not have.
pub(super) fn no_such_transition(kind: &Kind, name: &str) -> AppError {
    AppError::bad_request(
        "transition",
        format!(
            "该类事项没有“{}”操作 (a {} has no action {:?})",
            super::short(name),
            kind.spec().label.en,
            super::short(name)
        ),
    )
}

/// The refusal of a transition the state `state` does not allow, naming what it allows.
pub(super) fn not_possible(kind: &Kind, state: &str, t: &TransitionSpec) -> AppError {
    let label = kind
        .state(state)
        .map(|s| s.label)
        .unwrap_or(super::label("", ""));
    let can: Vec<&str> = kind.transitions_from(state).map(|t| t.label.zh).collect();
    let can_en: Vec<&str> = kind.transitions_from(state).map(|t| t.name).collect();
    AppError::rejected(format!(
        "事项当前为“{}”，不能“{}”；可办理：{} (the matter is {}; {} is not possible now; possible: {})",
        label.zh,
        t.label.zh,
        if can.is_empty() {
            "无".to_string()
        } else {
            can.join("、")
        },
        label.en,
        t.name,
        if can_en.is_empty() {
            "none".to_string()
        } else {
            can_en.join(", ")
        },
    ))
}

pub(super) fn stale(m: &Matter) -> AppError {
    AppError::Conflict(format!(
        "事项 {} 已被他人更新，请刷新后重试 (the matter changed since you read it; reload and try again)",
        m.number
    ))
}

/// Whether the actor sees the matter only as the business concerned.
fn is_party_only(acting: &Acting, m: &Matter) -> bool {
    !acting.scope.contains(Some(&m.division)) && acting.uscc.is_some() && acting.uscc == m.uscc
}

async fn touch(tx: &mut Tx, id: i64) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query("UPDATE matters SET updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now())
        .execute(&mut *c)
        .await?
        .rows_affected());
    Ok(())
}

/// An action's input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ActInput {
    pub transition: String,
    /// The version of the matter the actor saw.
    pub version: i64,
    /// The transition's fields, as text (forms and JSON alike).
    pub fields: BTreeMap<String, String>,
}

/// An assignment or transfer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AssignInput {
    pub version: i64,
    pub account: Option<i64>,
    pub unit: Option<String>,
    /// A new jurisdiction (a division code), if the kind allows transfers across.
    pub division: Option<String>,
    pub reason: Option<String>,
}

/// A file to attach.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A stored attachment's description.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Attachment {
    pub id: i64,
    pub matter_id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

/// One entry of a matter's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `created`, `transition`, `reopened`, `assigned`, `transferred`, `message`,
    /// `attachment`, `clock_started`, `clock_paused`, `clock_resumed`, `clock_stopped`,
    /// `escalated`.
    pub entry: String,
    pub actor: String,
    pub actor_name: String,
    pub transition: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub body: Value,
    pub internal: bool,
}

#[derive(sqlx::FromRow)]
struct TimelineRow {
    id: i64,
    at: DateTime<Utc>,
    entry: String,
    actor: String,
    actor_name: String,
    transition: Option<String>,
    from_state: Option<String>,
    to_state: Option<String>,
    body: String,
    internal: bool,
}

impl From<TimelineRow> for TimelineEntry {
    fn from(r: TimelineRow) -> TimelineEntry {
        TimelineEntry {
            id: r.id,
            at: r.at,
            entry: r.entry,
            actor: r.actor,
            actor_name: r.actor_name,
            transition: r.transition,
            from_state: r.from_state,
            to_state: r.to_state,
            body: serde_json::from_str(&r.body).unwrap_or(Value::Null),
            internal: r.internal,
        }
    }
}

const TIMELINE_COLUMNS: &str =
    "id, at, entry, actor, actor_name, transition, from_state, to_state, body, internal";

async fn timeline_by_id(tx: &mut Tx, id: i64) -> Result<TimelineEntry, AppError> {
    tx.flush_appends().await?;
    let sql = format!("SELECT {TIMELINE_COLUMNS} FROM matter_timeline WHERE id = $1");
    let row: TimelineRow = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *c)
        .await?);
    Ok(row.into())
}

// ----- reads -------------------------------------------------------------------------------

/// Filters of [`Engine::list`]; every one optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListFilter {
    pub kind: Option<String>,
    pub state: Option<String>,
    /// A division-code prefix within the actor's scope.
    pub jurisdiction: Option<String>,
    /// Only open matters past due (`true`) or not (`false`) on the `as_of` day.
    pub overdue: Option<bool>,
    /// Only escalated matters.
    pub escalated: Option<bool>,
    pub assignee_account: Option<i64>,
    /// Created on or after this day (China time).
    pub created_from: Option<NaiveDate>,
    /// Created on or before this day (China time).
    pub created_to: Option<NaiveDate>,
    /// Keyset: matters with ids below this (the `next` of the previous page).
    pub before: Option<i64>,
    /// 1–500; 50 if unset.
    pub limit: Option<i64>,
}

/// A page of matters, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub items: Vec<Matter>,
    /// The `before` of the next page, if there is one.
    pub next: Option<i64>,
}

/// The SQL conditions and their values for a filter (from `$first` on).
pub(crate) struct Conditions {
    pub sql: String,
    pub texts: Vec<(usize, String)>,
    pub dates: Vec<(usize, NaiveDate)>,
    pub times: Vec<(usize, DateTime<Utc>)>,
    pub ints: Vec<(usize, i64)>,
    pub next: usize,
}

/// The half-open range `[prefix, prefix~)` of division codes starting with `prefix`.
fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_string(), format!("{prefix}~"))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn conditions(
    engine: &Engine,
    kind: Option<&str>,
    state: Option<&str>,
    jurisdiction: Option<&str>,
    created_from: Option<NaiveDate>,
    created_to: Option<NaiveDate>,
    first: usize,
) -> Result<Conditions, AppError> {
    let mut c = Conditions {
        sql: String::new(),
        texts: vec![],
        dates: vec![],
        times: vec![],
        ints: vec![],
        next: first,
    };
    let mut n = first;
    if let Some(k) = kind.map(str::trim).filter(|k| !k.is_empty()) {
        let kind = engine.input_kind(k)?;
        c.sql.push_str(&format!(" AND m.kind = ${n}"));
        c.texts.push((n, kind.name().to_string()));
        n += 1;
        if let Some(s) = state.map(str::trim).filter(|s| !s.is_empty())
            && kind.state(s).is_none()
        {
            return Err(AppError::bad_request(
                "state",
                format!(
                    "“{}”没有状态 {s} (a {} has no state {s})",
                    kind.spec().label.zh,
                    kind.name()
                ),
            ));
        }
    }
    if let Some(s) = state.map(str::trim).filter(|s| !s.is_empty()) {
        if s.len() > 64 {
            return Err(AppError::bad_request(
                "state",
                "状态名过长 (the state name is too long)",
            ));
        }
        c.sql.push_str(&format!(" AND m.state = ${n}"));
        c.texts.push((n, s.to_string()));
        n += 1;
    }
    if let Some(j) = jurisdiction.map(str::trim).filter(|j| !j.is_empty()) {
        let j = Jurisdiction::parse(j).map_err(|e| AppError::bad_request("jurisdiction", e))?;
        if !j.is_all() {
            let (lo, hi) = prefix_range(j.prefix());
            c.sql.push_str(&format!(
                " AND m.division >= ${n} AND m.division < ${}",
                n + 1
            ));
            c.texts.push((n, lo));
            c.texts.push((n + 1, hi));
            n += 2;
        }
    }
    if let (Some(f), Some(t)) = (created_from, created_to)
        && f > t
    {
        return Err(AppError::bad_request(
            "created_from",
            "起始日期晚于截止日期 (the period starts after it ends)",
        ));
    }
    if let Some(f) = created_from {
        c.sql.push_str(&format!(" AND m.created_at >= ${n}"));
        c.times.push((n, start_of(f)));
        n += 1;
    }
    if let Some(t) = created_to {
        let end = t.succ_opt().ok_or_else(|| {
            AppError::bad_request("created_to", "截止日期无效 (the end date is invalid)")
        })?;
        c.sql.push_str(&format!(" AND m.created_at < ${n}"));
        c.times.push((n, start_of(end)));
        n += 1;
    }
    c.next = n;
    Ok(c)
}

macro_rules! bind_conditions {
    ($q:expr, $c:expr) => {{
        let mut q = $q;
        let mut all: Vec<(usize, u8, usize)> = Vec::new();
        for (i, (n, _)) in $c.texts.iter().enumerate() {
            all.push((*n, 0, i));
        }
        for (i, (n, _)) in $c.dates.iter().enumerate() {
            all.push((*n, 1, i));
        }
        for (i, (n, _)) in $c.times.iter().enumerate() {
            all.push((*n, 2, i));
        }
        for (i, (n, _)) in $c.ints.iter().enumerate() {
            all.push((*n, 3, i));
        }
        all.sort_unstable();
        for (_, t, i) in all {
            q = match t {
                0 => q.bind($c.texts[i].1.clone()),
                1 => q.bind($c.dates[i].1),
                2 => q.bind($c.times[i].1),
                _ => q.bind($c.ints[i].1),
            };
        }
        q
    }};
}
pub(crate) use bind_conditions;

impl Engine {
    /// The matter `number` (parsed tolerantly), if `acting` may see it; else NotFound.
    pub async fn get(&self, db: &Db, acting: &Acting, number: &str) -> Result<Matter, AppError> {
        let number = MatterNumber::parse(number)?.to_string();
        let sql = format!(
            "SELECT {COLUMNS} FROM matters m WHERE m.number = $1 AND {}",
            visible(acting, 2)
        );
        let row: Option<MatterRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&number)
            .bind(acting.scope.like_pattern())
            .bind(&acting.uscc)
            .fetch_optional(c)
            .await?);
        row.ok_or(AppError::NotFound)?.try_into()
    }

    /// Every entry of a matter's timeline in order. Internal notes are left out for an actor
    /// without the `read_records` permission (the business concerned).
    pub async fn timeline(
        &self,
        db: &Db,
        acting: &Acting,
        number: &str,
    ) -> Result<Vec<TimelineEntry>, AppError> {
        let m = self.get(db, acting, number).await?;
        let all = acting.is_system() || acting.role.is_some_and(|r| r.can(Permission::ReadRecords));
        let sql = format!(
            "SELECT {TIMELINE_COLUMNS} FROM matter_timeline WHERE matter_id = $1 \
             AND (internal = $2 OR $3) ORDER BY id"
        );
        let rows: Vec<TimelineRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(m.id)
            .bind(false)
            .bind(all)
            .fetch_all(c)
            .await?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The attachments of a matter (descriptions only).
    pub async fn attachments(
        &self,
        db: &Db,
        acting: &Acting,
        number: &str,
    ) -> Result<Vec<Attachment>, AppError> {
        let m = self.get(db, acting, number).await?;
        Ok(on_conn!(db, c => sqlx::query_as(
            "SELECT id, matter_id, name, content_type, size, sha256, added_by, added_at \
             FROM matter_attachments WHERE matter_id = $1 ORDER BY id",
        )
        .bind(m.id)
        .fetch_all(c)
        .await?))
    }

    /// One attachment with its bytes, if `acting` may see the matter.
    pub async fn attachment(
        &self,
        db: &Db,
        acting: &Acting,
        number: &str,
        id: i64,
    ) -> Result<(Attachment, Vec<u8>), AppError> {
        let m = self.get(db, acting, number).await?;
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            matter_id: i64,
            name: String,
            content_type: String,
            size: i64,
            sha256: String,
            added_by: String,
            added_at: DateTime<Utc>,
            bytes: Vec<u8>,
        }
        let row: Option<Row> = on_conn!(db, c => sqlx::query_as(
            "SELECT id, matter_id, name, content_type, size, sha256, added_by, added_at, bytes \
             FROM matter_attachments WHERE matter_id = $1 AND id = $2",
        )
        .bind(m.id)
        .bind(id)
        .fetch_optional(c)
        .await?);
        let r = row.ok_or(AppError::NotFound)?;
        Ok((
            Attachment {
                id: r.id,
                matter_id: r.matter_id,
                name: r.name,
                content_type: r.content_type,
                size: r.size,
                sha256: r.sha256,
                added_by: r.added_by,
                added_at: r.added_at,
            },
            r.bytes,
        ))
    }

    /// Matters `acting` may see, newest first, filtered, one keyset page at a time; `as_of`
    /// is the day the `overdue` filter is judged on.
    pub async fn list(
        &self,
        db: &Db,
        acting: &Acting,
        filter: &ListFilter,
        as_of: NaiveDate,
    ) -> Result<Page, AppError> {
        let limit = match filter.limit {
            None => 50,
            Some(l) if (1..=500).contains(&l) => l,
            Some(_) => {
                return Err(AppError::bad_request(
                    "limit",
                    "每页 1 到 500 条 (a page holds 1 to 500 matters)",
                ));
            }
        };
        let mut c = conditions(
            self,
            filter.kind.as_deref(),
            filter.state.as_deref(),
            filter.jurisdiction.as_deref(),
            filter.created_from,
            filter.created_to,
            5,
        )?;
        let mut n = c.next;
        match filter.overdue {
            Some(true) => {
                c.sql.push_str(&format!(
                    " AND m.closed_at IS NULL AND m.due_on IS NOT NULL AND m.due_on < ${n}"
                ));
                c.dates.push((n, as_of));
                n += 1;
            }
            Some(false) => {
                c.sql.push_str(&format!(
                    " AND NOT (m.closed_at IS NULL AND m.due_on IS NOT NULL AND m.due_on < ${n})"
                ));
                c.dates.push((n, as_of));
                n += 1;
            }
            None => {}
        }
        match filter.escalated {
            Some(true) => c.sql.push_str(" AND m.escalated_to IS NOT NULL"),
            Some(false) => c.sql.push_str(" AND m.escalated_to IS NULL"),
            None => {}
        }
        if let Some(a) = filter.assignee_account {
            c.sql.push_str(&format!(" AND m.assignee_account = ${n}"));
            c.ints.push((n, a));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM matters m WHERE m.id < $1 AND {}{} ORDER BY m.id DESC LIMIT $4",
            visible(acting, 2),
            c.sql
        );
        let rows: Vec<MatterRow> = on_conn!(db, x => {
            let q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(filter.before.unwrap_or(i64::MAX))
                .bind(acting.scope.like_pattern())
                .bind(acting.uscc.clone())
                .bind(limit + 1);
            let q = bind_conditions!(q, c);
            q.fetch_all(x).await?
        });
        let mut items = rows
            .into_iter()
            .map(Matter::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|m| m.id)
        } else {
            None
        };
        Ok(Page { items, next })
    }
}
