//! Recording, correcting and publishing inspection results, and their attachments, on both
//! backends. Each write is one transaction with its rows, its events and its audit entry.
//!
//! Jurisdiction: every officer read and write is filtered by the visit's (the result's)
//! `division`; anything outside it is [`AppError::NotFound`].
//!
//! Events:
//! - `supervision.inspection.result_recorded` (internal), payload
//!   `{plan_id, visit_no, item, outcome, uscc, division, inspected_on}`, on every recording
//!   and correction (the credit-risk follower consumes it);
//! - `supervision.inspection.not_found_at_address` (internal), payload
//!   `{uscc, division, plan_id, visit_no, inspected_on}`, when a result becomes `not_found`
//!   (the input of the abnormal-operations list process);
//! - `supervision.inspection.followup_opened` / `followup_closed` (internal);
//! - `supervision.inspection.attachment_added` (internal);
//! - `supervision.inspection.result_published` (public), payload
//!   `{plan_id, visit_no, item, item_name, department, outcome, uscc, division, inspected_on}`:
//!   no findings, no names of people.

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::calendar::Calendar;
use amr_kernel::db::{Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::model::{
    MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS_PER_RESULT, Outcome, RecordInput, clean_filename,
    publish_due, sniff_content_type,
};
use super::visit::{self, Names};

/// The current time at the precision both backends keep (microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub(crate) fn lock(tx: &Tx) -> &'static str {
    match tx.inner {
        TxInner::Postgres(_) => " FOR UPDATE",
        TxInner::Sqlite(_) => "",
    }
}

/// One recorded result, as officers see it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ResultRow {
    pub id: i64,
    pub plan_id: i64,
    pub visit_no: i64,
    pub uscc: String,
    pub division: String,
    pub item_code: String,
    pub department: String,
    pub outcome: String,
    pub findings: String,
    pub inspected_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_by_name: String,
    pub recorded_at: DateTime<Utc>,
    pub publish_due: NaiveDate,
    pub published_at: Option<DateTime<Utc>>,
}

pub(crate) const RESULT_COLUMNS: &str = "r.id, r.plan_id, r.visit_no, r.uscc, r.division, \
     r.item_code, r.department, r.outcome, r.findings, r.inspected_on, r.recorded_by, \
     r.recorded_by_name, r.recorded_at, r.publish_due, r.published_at";

async fn result_by_key(
    tx: &mut Tx,
    plan_id: i64,
    visit_no: i64,
    item: &str,
) -> Result<Option<ResultRow>, AppError> {
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM insp_results r \
         WHERE r.plan_id = $1 AND r.visit_no = $2 AND r.item_code = $3{}",
        lock(tx)
    );
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(visit_no)
        .bind(item)
        .fetch_optional(&mut *c)
        .await?))
}

/// A result within the jurisdiction, read (and on PostgreSQL locked) in the transaction.
pub(crate) async fn result_in_tx(
    tx: &mut Tx,
    scope: &Scope,
    id: i64,
) -> Result<ResultRow, AppError> {
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM insp_results r WHERE r.id = $1 AND {}{}",
        scope.division_filter("r.division", 2),
        lock(tx)
    );
    let row: Option<ResultRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)
}

fn snapshot(r: &ResultRow) -> serde_json::Value {
    json!({
        "item": r.item_code,
        "outcome": r.outcome,
        "findings": r.findings,
        "inspected_on": r.inspected_on,
        "publish_due": r.publish_due,
        "recorded_by": r.recorded_by,
    })
}

/// Records the outcome of one item of a visit within the jurisdiction, or corrects it while
/// it is unpublished (the row is replaced; the audit entry keeps before and after). The plan
/// must be drawn; the item must be one of the visit's tasks'; the inspection date is not in
/// the future nor before the plan's `inspection_start`; the publication deadline is 20
/// working days on `calendar` (a year without calendar data is refused, naming it). A
/// published result is [`AppError::Conflict`].
///
/// Who: the officer is recorded (`recorded_by` = the actor label, `recorded_by_name` = the
/// name). Accounts are not bound to inspector ids yet, so the crew is not checked.
///
/// Follow-ups: `problems` opens one of kind `problem`, `not_found` one of kind `not_found`
/// (and the event `supervision.inspection.not_found_at_address`); a correction to an outcome
/// that no longer calls for the open follow-up closes it with a note.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    plan_id: i64,
    visit_no: i64,
    input: &RecordInput,
    calendar: &Calendar,
    today: NaiveDate,
) -> Result<ResultRow, AppError> {
    let v = visit::get_in_tx(tx, scope, plan_id, visit_no).await?;
    if v.plan_state != "drawn" {
        return Err(AppError::rejected(
            "该计划尚未抽取，不能录入检查结果 (the plan has not been drawn; no result can be recorded)",
        ));
    }
    let rec = input.parse(v.inspection_start, today)?;
    let item = v.item(&rec.item).ok_or_else(|| {
        AppError::bad_request(
            "item",
            "该检查事项不属于本次检查 (the item is not part of this visit)",
        )
    })?;
    let due = publish_due(calendar, rec.inspected_on)?;
    let before = result_by_key(tx, plan_id, visit_no, &item.code).await?;
    if let Some(b) = &before
        && b.published_at.is_some()
    {
        return Err(AppError::Conflict(
            "该检查结果已公示，不能再修改 (the result is published and cannot be changed)".into(),
        ));
    }
    let now = now();
    let id: i64 = match &before {
        Some(b) => {
            on_tx!(tx, c => sqlx::query(
                "UPDATE insp_results SET outcome = $2, findings = $3, inspected_on = $4, \
                 recorded_by = $5, recorded_by_name = $6, recorded_at = $7, publish_due = $8 \
                 WHERE id = $1 AND published_at IS NULL",
            )
            .bind(b.id)
            .bind(rec.outcome.as_str())
            .bind(&rec.findings)
            .bind(rec.inspected_on)
            .bind(actor.label())
            .bind(&actor.name)
            .bind(now)
            .bind(due)
            .execute(&mut *c)
            .await?
            .rows_affected());
            b.id
        }
        None => on_tx!(tx, c => sqlx::query_scalar(
            "INSERT INTO insp_results (plan_id, visit_no, uscc, division, item_code, department, \
             outcome, findings, inspected_on, recorded_by, recorded_by_name, recorded_at, \
             publish_due) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             RETURNING id",
        )
        .bind(plan_id)
        .bind(visit_no)
        .bind(&v.uscc)
        .bind(&v.division)
        .bind(&item.code)
        .bind(&item.department)
        .bind(rec.outcome.as_str())
        .bind(&rec.findings)
        .bind(rec.inspected_on)
        .bind(actor.label())
        .bind(&actor.name)
        .bind(now)
        .bind(due)
        .fetch_one(&mut *c)
        .await?),
    };
    let after = ResultRow {
        id,
        plan_id,
        visit_no,
        uscc: v.uscc.clone(),
        division: v.division.clone(),
        item_code: item.code.clone(),
        department: item.department.clone(),
        outcome: rec.outcome.as_str().to_string(),
        findings: rec.findings.clone(),
        inspected_on: rec.inspected_on,
        recorded_by: actor.label(),
        recorded_by_name: actor.name.clone(),
        recorded_at: now,
        publish_due: due,
        published_at: None,
    };
    events::append(
        tx,
        NewEvent::internal(
            "supervision.inspection.result_recorded",
            json!({
                "plan_id": plan_id,
                "visit_no": visit_no,
                "item": item.code,
                "outcome": rec.outcome,
                "uscc": v.uscc,
                "division": v.division,
                "inspected_on": rec.inspected_on,
            }),
        )
        .uscc(&v.uscc)
        .division(&v.division)
        .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: if before.is_some() {
                "inspection.result.correct"
            } else {
                "inspection.result.record"
            },
            target_kind: "insp_result",
            target_id: id.to_string(),
            division: Some(v.division.clone()),
            before: before.as_ref().map(snapshot),
            after: Some(snapshot(&after)),
        },
    )
    .await?;
    let old = before.as_ref().and_then(|b| Outcome::parse(&b.outcome));
    let old_kind = old.and_then(Outcome::followup_kind);
    let new_kind = rec.outcome.followup_kind();
    if let Some(kind) = old_kind
        && old_kind != new_kind
    {
        close_open_followups(tx, actor, &after, kind).await?;
    }
    if let Some(kind) = new_kind
        && old_kind != new_kind
    {
        open_followup(tx, actor, &after, kind).await?;
    }
    Ok(after)
}

async fn open_followup(
    tx: &mut Tx,
    actor: &Actor,
    r: &ResultRow,
    kind: &str,
) -> Result<i64, AppError> {
    let now = now();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO insp_followups (result_id, uscc, division, kind, state, note, opened_at) \
         VALUES ($1, $2, $3, $4, 'open', '', $5) RETURNING id",
    )
    .bind(r.id)
    .bind(&r.uscc)
    .bind(&r.division)
    .bind(kind)
    .bind(now)
    .fetch_one(&mut *c)
    .await?);
    events::append(
        tx,
        NewEvent::internal(
            "supervision.inspection.followup_opened",
            json!({
                "followup_id": id,
                "result_id": r.id,
                "kind": kind,
                "plan_id": r.plan_id,
                "visit_no": r.visit_no,
                "item": r.item_code,
                "uscc": r.uscc,
                "division": r.division,
            }),
        )
        .uscc(&r.uscc)
        .division(&r.division)
        .actor(actor.label()),
    )
    .await?;
    if kind == "not_found" {
        events::append(
            tx,
            NewEvent::internal(
                "supervision.inspection.not_found_at_address",
                json!({
                    "uscc": r.uscc,
                    "division": r.division,
                    "plan_id": r.plan_id,
                    "visit_no": r.visit_no,
                    "inspected_on": r.inspected_on,
                }),
            )
            .uscc(&r.uscc)
            .division(&r.division)
            .actor(actor.label()),
        )
        .await?;
    }
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "inspection.followup.open",
            target_kind: "insp_followup",
            target_id: id.to_string(),
            division: Some(r.division.clone()),
            before: None,
            after: Some(json!({"result_id": r.id, "kind": kind, "state": "open"})),
        },
    )
    .await?;
    Ok(id)
}

/// The note of a follow-up closed because its result was corrected.
const CORRECTED_NOTE: &str =
    "检查结果已更正，无需此项后续处置 (the result was corrected; this follow-up is not needed)";

async fn close_open_followups(
    tx: &mut Tx,
    actor: &Actor,
    r: &ResultRow,
    kind: &str,
) -> Result<(), AppError> {
    let ids: Vec<i64> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM insp_followups WHERE result_id = $1 AND kind = $2 AND state = 'open'",
    )
    .bind(r.id)
    .bind(kind)
    .fetch_all(&mut *c)
    .await?);
    for id in ids {
        super::followups::close_in_tx(tx, actor, id, r, kind, CORRECTED_NOTE).await?;
    }
    Ok(())
}

/// The results of a visit within the jurisdiction, by item.
pub async fn of_visit(
    db: &Db,
    scope: &Scope,
    plan_id: i64,
    visit_no: i64,
) -> Result<Vec<ResultRow>, AppError> {
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM insp_results r \
         WHERE r.plan_id = $1 AND r.visit_no = $2 AND {} ORDER BY r.item_code",
        scope.division_filter("r.division", 3)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(visit_no)
        .bind(scope.like_pattern())
        .fetch_all(c)
        .await?))
}

// ----- publication -------------------------------------------------------------------------

async fn publish_rows(
    tx: &mut Tx,
    actor: &Actor,
    rows: &[ResultRow],
    names: &Names,
) -> Result<usize, AppError> {
    let now = now();
    let mut done = 0;
    // One audit entry per visit: rows come ordered by visit.
    let mut start = 0;
    while start < rows.len() {
        let (plan_id, visit_no) = (rows[start].plan_id, rows[start].visit_no);
        let end = rows[start..]
            .iter()
            .position(|r| (r.plan_id, r.visit_no) != (plan_id, visit_no))
            .map_or(rows.len(), |n| start + n);
        let mut ids = Vec::new();
        for r in &rows[start..end] {
            let n = on_tx!(tx, c => sqlx::query(
                "UPDATE insp_results SET published_at = $2 WHERE id = $1 AND published_at IS NULL",
            )
            .bind(r.id)
            .bind(now)
            .execute(&mut *c)
            .await?
            .rows_affected());
            if n == 0 {
                continue;
            }
            ids.push(r.id);
            events::append(
                tx,
                NewEvent::public(
                    "supervision.inspection.result_published",
                    json!({
                        "plan_id": r.plan_id,
                        "visit_no": r.visit_no,
                        "item": r.item_code,
                        "item_name": names.item(&r.item_code),
                        "department": r.department,
                        "outcome": r.outcome,
                        "uscc": r.uscc,
                        "division": r.division,
                        "inspected_on": r.inspected_on,
                    }),
                )
                .uscc(&r.uscc)
                .division(&r.division)
                .actor(actor.label()),
            )
            .await?;
        }
        if !ids.is_empty() {
            done += ids.len();
            audit::record(
                tx,
                actor,
                audit::Change {
                    action: "inspection.results.publish",
                    target_kind: "insp_visit",
                    target_id: format!("{plan_id}/{visit_no}"),
                    division: Some(rows[start].division.clone()),
                    before: None,
                    after: Some(json!({"result_ids": ids, "published_at": now})),
                },
            )
            .await?;
        }
        start = end;
    }
    Ok(done)
}

fn nothing_to_publish() -> AppError {
    AppError::rejected("没有待公示的检查结果 (no recorded result awaits publication)")
}

/// Publishes every recorded, unpublished result of a visit within the jurisdiction. Returns
/// how many were published; none waiting is refused (422).
pub async fn publish_visit(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    plan_id: i64,
    visit_no: i64,
) -> Result<usize, AppError> {
    visit::get_in_tx(tx, scope, plan_id, visit_no).await?;
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM insp_results r \
         WHERE r.plan_id = $1 AND r.visit_no = $2 AND r.published_at IS NULL ORDER BY r.id{}",
        lock(tx)
    );
    let rows: Vec<ResultRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(visit_no)
        .fetch_all(&mut *c)
        .await?);
    if rows.is_empty() {
        return Err(nothing_to_publish());
    }
    let names = visit::names_in_tx(tx).await?;
    publish_rows(tx, actor, &rows, &names).await
}

/// Publishes every recorded, unpublished result of a plan's visits within the jurisdiction
/// (visits outside it are left alone). Returns how many were published; none waiting is
/// refused (422), an unknown plan is 404.
pub async fn publish_plan(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    plan_id: i64,
) -> Result<usize, AppError> {
    let plan: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM insp_plans WHERE id = $1",
    )
    .bind(plan_id)
    .fetch_optional(&mut *c)
    .await?);
    plan.ok_or(AppError::NotFound)?;
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM insp_results r \
         WHERE r.plan_id = $1 AND r.published_at IS NULL AND {} \
         ORDER BY r.visit_no, r.id{}",
        scope.division_filter("r.division", 2),
        lock(tx)
    );
    let rows: Vec<ResultRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(scope.like_pattern())
        .fetch_all(&mut *c)
        .await?);
    if rows.is_empty() {
        return Err(nothing_to_publish());
    }
    let names = visit::names_in_tx(tx).await?;
    publish_rows(tx, actor, &rows, &names).await
}

// ----- attachments -------------------------------------------------------------------------

/// An attachment without its bytes.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AttachmentMeta {
    pub id: i64,
    pub result_id: i64,
    pub filename: String,
    pub content_type: String,
    pub sha256: String,
    pub size: i64,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

const ATTACHMENT_COLUMNS: &str = "a.id, a.result_id, a.filename, a.content_type, a.sha256, \
     a.size, a.uploaded_by, a.uploaded_at";

/// A file too large for an attachment (the message both the page and the API show).
pub fn too_large() -> AppError {
    AppError::bad_request("file", "附件不能超过 2 MB (an attachment is at most 2 MB)")
}

/// Attaches a file to an unpublished result within the jurisdiction. The content type is
/// read from the bytes (PDF, PNG, JPEG, GIF, WebP, Word/Excel, plain text; anything else is
/// refused); the SHA-256 is stored. Audited; internal event
/// `supervision.inspection.attachment_added`.
pub async fn add_attachment(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    result_id: i64,
    filename: &str,
    bytes: &[u8],
) -> Result<AttachmentMeta, AppError> {
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(too_large());
    }
    if bytes.is_empty() {
        return Err(AppError::bad_request(
            "file",
            "请选择要上传的文件 (choose a file to upload)",
        ));
    }
    let filename = clean_filename(filename);
    let content_type = sniff_content_type(&filename, bytes).ok_or_else(|| {
        AppError::bad_request(
            "file",
            "不支持的附件类型，可上传 PDF、图片（PNG/JPEG/GIF/WebP）、Word/Excel 或文本文件 \
             (unsupported attachment type: PDF, images, Word/Excel or text)",
        )
    })?;
    let r = result_in_tx(tx, scope, result_id).await?;
    if r.published_at.is_some() {
        return Err(AppError::Conflict(
            "该检查结果已公示，不能再添加附件 (the result is published; no attachment can be added)"
                .into(),
        ));
    }
    let count: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM insp_attachments WHERE result_id = $1",
    )
    .bind(result_id)
    .fetch_one(&mut *c)
    .await?);
    if count >= MAX_ATTACHMENTS_PER_RESULT {
        return Err(AppError::rejected(format!(
            "每项检查结果最多 {MAX_ATTACHMENTS_PER_RESULT} 个附件 \
             (at most {MAX_ATTACHMENTS_PER_RESULT} attachments a result)"
        )));
    }
    let sha256 = hex::encode(Sha256::digest(bytes));
    let size = i64::try_from(bytes.len()).map_err(|e| AppError::Internal(e.into()))?;
    let now = now();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO insp_attachments (result_id, filename, content_type, sha256, size, data, \
         uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(result_id)
    .bind(&filename)
    .bind(content_type)
    .bind(&sha256)
    .bind(size)
    .bind(bytes)
    .bind(&actor.name)
    .bind(now)
    .fetch_one(&mut *c)
    .await?);
    let summary = json!({
        "attachment_id": id,
        "result_id": result_id,
        "plan_id": r.plan_id,
        "visit_no": r.visit_no,
        "item": r.item_code,
        "content_type": content_type,
        "sha256": sha256,
        "size": size,
    });
    events::append(
        tx,
        NewEvent::internal("supervision.inspection.attachment_added", summary.clone())
            .uscc(&r.uscc)
            .division(&r.division)
            .actor(actor.label()),
    )
    .await?;
    let mut after = summary;
    after["filename"] = json!(filename);
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "inspection.attachment.add",
            target_kind: "insp_attachment",
            target_id: id.to_string(),
            division: Some(r.division.clone()),
            before: None,
            after: Some(after),
        },
    )
    .await?;
    Ok(AttachmentMeta {
        id,
        result_id,
        filename,
        content_type: content_type.to_string(),
        sha256,
        size,
        uploaded_by: actor.name.clone(),
        uploaded_at: now,
    })
}

/// The attachments of a visit's results within the jurisdiction.
pub async fn attachments_of_visit(
    db: &Db,
    scope: &Scope,
    plan_id: i64,
    visit_no: i64,
) -> Result<Vec<AttachmentMeta>, AppError> {
    let sql = format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM insp_attachments a \
         JOIN insp_results r ON r.id = a.result_id \
         WHERE r.plan_id = $1 AND r.visit_no = $2 AND {} ORDER BY a.id",
        scope.division_filter("r.division", 3)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(visit_no)
        .bind(scope.like_pattern())
        .fetch_all(c)
        .await?))
}

/// An attachment and its bytes, within the jurisdiction (officers only).
pub async fn attachment(
    db: &Db,
    scope: &Scope,
    id: i64,
) -> Result<(AttachmentMeta, Vec<u8>), AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        meta: AttachmentMeta,
        data: Vec<u8>,
    }
    let sql = format!(
        "SELECT {ATTACHMENT_COLUMNS}, a.data FROM insp_attachments a \
         JOIN insp_results r ON r.id = a.result_id WHERE a.id = $1 AND {}",
        scope.division_filter("r.division", 2)
    );
    let row: Option<Row> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    let row = row.ok_or(AppError::NotFound)?;
    Ok((row.meta, row.data))
}
