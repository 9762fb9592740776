//! Filing and reading annual reports. A filing (or a correction) writes its row (the earlier
//! version kept), the public event with only the published items, and the audit entry in the
//! caller's transaction; a late report for a year the entity is listed for also removes that
//! listing ([`crate::abnormal::store::remove_for_back_report`]) in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::model::{Form, Report, public_items};
use super::rules;
use crate::model::Entity;

/// A report as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredReport {
    pub id: i64,
    pub uscc: String,
    pub division: String,
    pub year: i32,
    pub form: String,
    pub report: Report,
    pub published: Vec<String>,
    pub late: bool,
    pub version: i32,
    pub filed_on: NaiveDate,
    pub filed_at: DateTime<Utc>,
    pub corrected_at: Option<DateTime<Utc>>,
    /// `online` (the enterprise's account) or `paper` (entered by an officer from a paper form).
    pub channel: String,
    /// Who filed it (the enterprise's account, or the officer who entered a paper report).
    pub filed_by: String,
}

/// How a report reaches the register.
pub const CHANNELS: [&str; 2] = ["online", "paper"];

type Row = (
    i64,
    String,
    String,
    i32,
    String,
    String,
    String,
    bool,
    i32,
    NaiveDate,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    String,
    String,
);

const COLUMNS: &str = "id, uscc, division, year, form, content, published, late, version, \
    filed_on, filed_at, corrected_at, channel, filed_by";

fn from_row(r: Row) -> Result<StoredReport, AppError> {
    let report: Report = serde_json::from_str(&r.5).map_err(|e| AppError::Internal(e.into()))?;
    let published: Vec<String> =
        serde_json::from_str(&r.6).map_err(|e| AppError::Internal(e.into()))?;
    Ok(StoredReport {
        id: r.0,
        uscc: r.1,
        division: r.2,
        year: r.3,
        form: r.4,
        report,
        published,
        late: r.7,
        version: r.8,
        filed_on: r.9,
        filed_at: r.10,
        corrected_at: r.11,
        channel: r.12,
        filed_by: r.13,
    })
}

impl StoredReport {
    /// The public form: the items the entity chose, nothing personal.
    pub fn public(&self) -> serde_json::Value {
        json!({
            "year": self.year,
            "late": self.late,
            "version": self.version,
            "filed_on": self.filed_on,
            "items": public_items(&self.report, &self.published),
        })
    }
}

/// Every report of an entity, newest year first.
pub async fn list_for_entity(db: &Db, uscc: &str) -> Result<Vec<StoredReport>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM annual_reports WHERE uscc = $1 ORDER BY year DESC LIMIT 100"
    );
    let rows: Vec<Row> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(c)
        .await?);
    rows.into_iter().map(from_row).collect()
}

/// The report of an entity for a year, if filed.
pub async fn get(db: &Db, uscc: &str, year: i32) -> Result<Option<StoredReport>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM annual_reports WHERE uscc = $1 AND year = $2");
    let row: Option<Row> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .bind(year)
        .fetch_optional(c)
        .await?);
    row.map(from_row).transpose()
}

async fn get_in(tx: &mut Tx, uscc: &str, year: i32) -> Result<Option<StoredReport>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM annual_reports WHERE uscc = $1 AND year = $2");
    let row: Option<Row> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .bind(year)
        .fetch_optional(&mut *c)
        .await?);
    row.map(from_row).transpose()
}

/// Files (or corrects) the report of `e` (locked by the caller) for `year` on `today`, through
/// `channel` (`online` or `paper`): the window is checked ([`rules::check_filing`]); a first
/// filing after 30 June is accepted and marked late, and removes the entity's no-report
/// listing for that year.
#[allow(clippy::too_many_arguments)]
pub async fn file(
    tx: &mut Tx,
    actor: &Actor,
    e: &Entity,
    year: i32,
    report: Report,
    published: Vec<String>,
    channel: &str,
    today: NaiveDate,
) -> Result<StoredReport, AppError> {
    if !CHANNELS.contains(&channel) {
        return Err(AppError::bad_request(
            "channel",
            "报送渠道应为 online 或 paper (channel must be online or paper)",
        ));
    }
    if report.form != Form::of(e.entity_type) {
        return Err(AppError::bad_request(
            "form",
            "年报表式与主体类型不符 (the form does not match the entity type)",
        ));
    }
    let existing = get_in(tx, &e.uscc, year).await?;
    let late = rules::check_filing(e, year, today, existing.is_some())?;
    let now = crate::lifecycle::suspension::store_now();
    let content = serde_json::to_string(&report).map_err(|e| AppError::Internal(e.into()))?;
    let pubs = serde_json::to_string(&published).map_err(|e| AppError::Internal(e.into()))?;
    let label = actor.label();
    let stored = match &existing {
        Some(old) => {
            let old_content =
                serde_json::to_string(&old.report).map_err(|e| AppError::Internal(e.into()))?;
            let old_pubs =
                serde_json::to_string(&old.published).map_err(|e| AppError::Internal(e.into()))?;
            on_tx!(tx, c => sqlx::query(
                "INSERT INTO annual_report_versions (report_id, version, content, published, filed_at, filed_by) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(old.id)
            .bind(old.version)
            .bind(&old_content)
            .bind(&old_pubs)
            .bind(old.corrected_at.unwrap_or(old.filed_at))
            .bind(&label)
            .execute(&mut *c)
            .await?
            .rows_affected());
            on_tx!(tx, c => sqlx::query(
                "UPDATE annual_reports SET content = $2, published = $3, version = version + 1, \
                 corrected_at = $4, channel = $5, filed_by = $6 WHERE id = $1",
            )
            .bind(old.id)
            .bind(&content)
            .bind(&pubs)
            .bind(now)
            .bind(channel)
            .bind(&label)
            .execute(&mut *c)
            .await?
            .rows_affected());
            get_in(tx, &e.uscc, year).await?.ok_or(AppError::NotFound)?
        }
        None => {
            on_tx!(tx, c => sqlx::query(
                "INSERT INTO annual_reports (uscc, division, year, form, content, published, late, \
                 version, filed_on, filed_at, filed_by, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11)",
            )
            .bind(&e.uscc)
            .bind(&e.division)
            .bind(year)
            .bind(report.form.as_str())
            .bind(&content)
            .bind(&pubs)
            .bind(late)
            .bind(today)
            .bind(now)
            .bind(&label)
            .bind(channel)
            .execute(&mut *c)
            .await?
            .rows_affected());
            get_in(tx, &e.uscc, year).await?.ok_or(AppError::NotFound)?
        }
    };
    let mut payload = stored.public();
    payload["uscc"] = json!(e.uscc);
    payload["correction"] = json!(existing.is_some());
    events::append(
        tx,
        NewEvent::public("registry.entity.annual_report_published", payload)
            .uscc(&e.uscc)
            .division(&e.division)
            .actor(&label),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: if existing.is_some() {
                "annual_report.correct"
            } else {
                "annual_report.file"
            },
            target_kind: "entity",
            target_id: e.uscc.clone(),
            division: Some(e.division.clone()),
            before: existing
                .as_ref()
                .map(|o| json!({"year": o.year, "version": o.version, "report": o.report, "published": o.published})),
            after: Some(json!({"year": year, "version": stored.version, "late": stored.late, "channel": channel, "report": stored.report, "published": stored.published})),
        },
    )
    .await?;
    if existing.is_none() && late {
        crate::abnormal::store::remove_for_back_report(tx, actor, e, year, today).await?;
    }
    Ok(stored)
}
