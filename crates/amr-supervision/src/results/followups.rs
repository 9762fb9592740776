//! Follow-ups (后续处置) that results open: kind `problem` (problems found, awaiting handling)
//! and `not_found` (not reachable at the registered address; the abnormal-operations list
//! process, a later part, consumes the event `supervision.inspection.not_found_at_address`).
//! Officers close them with a note, within their jurisdiction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::store::{ResultRow, lock, now, result_in_tx};

/// A follow-up with its result's facts.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Followup {
    pub id: i64,
    pub result_id: i64,
    pub uscc: String,
    pub division: String,
    /// `problem` or `not_found`.
    pub kind: String,
    /// `open` or `closed`.
    pub state: String,
    /// The closing note ('' while open).
    pub note: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub plan_id: i64,
    pub visit_no: i64,
    pub item_code: String,
    pub outcome: String,
    pub findings: String,
    pub inspected_on: NaiveDate,
}

const COLUMNS: &str = "f.id, f.result_id, f.uscc, f.division, f.kind, f.state, f.note, \
     f.opened_at, f.closed_at, f.closed_by, r.plan_id, r.visit_no, r.item_code, r.outcome, \
     r.findings, r.inspected_on";

/// Filters of the follow-up list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `open`, `closed` or `None` for both.
    pub state: Option<String>,
    /// `problem`, `not_found` or `None` for both.
    pub kind: Option<String>,
    /// A division-code prefix within the jurisdiction.
    pub area: Option<String>,
    /// Keyset: only ids below this one (newest first).
    pub before: Option<i64>,
}

/// Rows of a page of the follow-up list.
pub const PAGE: i64 = 100;

/// Follow-ups within the jurisdiction, newest first, a page of at most [`PAGE`].
pub async fn list(db: &Db, scope: &Scope, f: &Filter) -> Result<Vec<Followup>, AppError> {
    let mut conds = vec![scope.division_filter("f.division", 1)];
    let mut binds: Vec<String> = vec![scope.like_pattern()];
    let mut add = |sql: &str, v: String| {
        binds.push(v);
        conds.push(sql.replace('?', &format!("${}", binds.len())));
    };
    if let Some(s) = &f.state {
        add("f.state = ?", s.clone());
    }
    if let Some(k) = &f.kind {
        add("f.kind = ?", k.clone());
    }
    if let Some(a) = &f.area {
        add("f.division LIKE ?", format!("{a}%"));
    }
    let before = f.before.unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT {COLUMNS} FROM insp_followups f JOIN insp_results r ON r.id = f.result_id \
         WHERE {} AND f.id < ${} ORDER BY f.id DESC LIMIT {PAGE}",
        conds.join(" AND "),
        binds.len() + 1
    );
    Ok(on_conn!(db, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b.as_str());
        }
        q.bind(before).fetch_all(c).await?
    }))
}

/// The follow-ups of a visit's results within the jurisdiction.
pub async fn of_visit(
    db: &Db,
    scope: &Scope,
    plan_id: i64,
    visit_no: i64,
) -> Result<Vec<Followup>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM insp_followups f JOIN insp_results r ON r.id = f.result_id \
         WHERE r.plan_id = $1 AND r.visit_no = $2 AND {} ORDER BY f.id",
        scope.division_filter("f.division", 3)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(visit_no)
        .bind(scope.like_pattern())
        .fetch_all(c)
        .await?))
}

/// Closes an open follow-up within the jurisdiction with a note (2–1,000 characters). A
/// closed one is refused (422). Audited; internal event
/// `supervision.inspection.followup_closed`.
pub async fn close(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    note: &str,
) -> Result<(), AppError> {
    let note = note.trim();
    let n = note.chars().count();
    if !(2..=1000).contains(&n)
        || note
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(AppError::bad_request(
            "note",
            "请写明处置情况（2–1000 字）(describe how it was handled, 2 to 1,000 characters)",
        ));
    }
    let sql = format!(
        "SELECT result_id, kind, state FROM insp_followups WHERE id = $1 AND {}{}",
        scope.division_filter("division", 2),
        lock(tx)
    );
    let row: Option<(i64, String, String)> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(&mut *c)
        .await?);
    let (result_id, kind, state) = row.ok_or(AppError::NotFound)?;
    if state != "open" {
        return Err(AppError::rejected(
            "该后续处置已办结 (the follow-up is already closed)",
        ));
    }
    let r = result_in_tx(tx, scope, result_id).await?;
    close_in_tx(tx, actor, id, &r, &kind, note).await
}

/// Closes follow-up `id` of result `r` (the caller checked scope and state).
pub(crate) async fn close_in_tx(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    r: &ResultRow,
    kind: &str,
    note: &str,
) -> Result<(), AppError> {
    let now = now();
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE insp_followups SET state = 'closed', note = $2, closed_at = $3, closed_by = $4 \
         WHERE id = $1 AND state = 'open'",
    )
    .bind(id)
    .bind(note)
    .bind(now)
    .bind(&actor.name)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if n == 0 {
        return Err(AppError::Conflict(
            "该后续处置已被他人办结 (the follow-up was closed meanwhile)".into(),
        ));
    }
    events::append(
        tx,
        NewEvent::internal(
            "supervision.inspection.followup_closed",
            json!({
                "followup_id": id,
                "result_id": r.id,
                "kind": kind,
                "plan_id": r.plan_id,
                "visit_no": r.visit_no,
                "uscc": r.uscc,
                "division": r.division,
            }),
        )
        .uscc(&r.uscc)
        .division(&r.division)
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "inspection.followup.close",
            target_kind: "insp_followup",
            target_id: id.to_string(),
            division: Some(r.division.clone()),
            before: Some(json!({"state": "open"})),
            after: Some(json!({"state": "closed", "note": note})),
        },
    )
    .await?;
    Ok(())
}
