//! Calendar years imported after the build, stored in the database.
//!
//! The binary embeds the State Council schedules it was built with; `amr calendar import FILE`
//! stores further (or corrected) years in `calendar_days`, each imported year replacing that
//! year wholly. [`load`] gives the calendar in force: the embedded one merged with the stored
//! years. Importing writes the public event `kernel.calendar.imported`; running servers
//! reload on it (see the server's calendar follower).

use chrono::{NaiveDate, Utc};

use crate::audit::{self, Actor, Change};
use crate::calendar::{Calendar, DayEntry, DayKind};
use crate::db::{Db, Tx};
use crate::error::AppError;
use crate::events::{self, NewEvent};

/// The calendar in force: embedded years, overridden by imported ones.
pub async fn load(db: &Db) -> Result<Calendar, AppError> {
    let rows: Vec<(String, String, String, String)> = crate::on_conn!(db, c => sqlx::query_as(
        "SELECT day, kind, name_zh, name_en FROM calendar_days ORDER BY day"
    )
    .fetch_all(c)
    .await?);
    if rows.is_empty() {
        return Ok(Calendar::embedded().clone());
    }
    let mut entries = Vec::with_capacity(rows.len());
    for (day, kind, name_zh, name_en) in rows {
        let date = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored calendar day {day:?}: {e}")))?;
        let kind = match kind.as_str() {
            "holiday" => DayKind::Holiday,
            _ => DayKind::Workday,
        };
        entries.push(DayEntry {
            date,
            kind,
            name_zh,
            name_en,
        });
    }
    let stored = Calendar::from_entries(entries)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored calendar is invalid: {e}")))?;
    Ok(Calendar::embedded().merge(&stored))
}

/// Stores every year of `cal` (replacing those years), with its audit entry and event.
/// Returns the years imported.
pub async fn import(
    tx: &mut Tx,
    actor: &Actor,
    cal: &Calendar,
    source: &str,
) -> Result<Vec<i32>, AppError> {
    let years = cal.years();
    if years.is_empty() {
        return Err(AppError::bad_request(
            "file",
            "文件中没有任何日期 (the file lists no days)",
        ));
    }
    let now = Utc::now();
    for &year in &years {
        crate::on_tx!(tx, c => {
            sqlx::query("DELETE FROM calendar_days WHERE year = $1")
                .bind(year)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO calendar_years (year, imported_at, source) VALUES ($1, $2, $3) \
                 ON CONFLICT (year) DO UPDATE SET imported_at = excluded.imported_at, source = excluded.source",
            )
            .bind(year)
            .bind(now)
            .bind(source)
            .execute(&mut *c)
            .await?;
        });
    }
    for e in cal.rows() {
        crate::on_tx!(tx, c => sqlx::query(
            "INSERT INTO calendar_days (day, year, kind, name_zh, name_en) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(e.date.format("%Y-%m-%d").to_string())
        .bind(chrono::Datelike::year(&e.date))
        .bind(e.kind.as_str())
        .bind(&e.name_zh)
        .bind(&e.name_en)
        .execute(&mut *c)
        .await?
        .rows_affected());
    }
    audit::record(
        tx,
        actor,
        Change {
            action: "calendar.import",
            target_kind: "calendar",
            target_id: years
                .iter()
                .map(|y| y.to_string())
                .collect::<Vec<_>>()
                .join(","),
            division: None,
            before: None,
            after: Some(
                serde_json::json!({"years": years, "days": cal.rows().count(), "source": source}),
            ),
        },
    )
    .await?;
    events::append(
        tx,
        NewEvent::public(
            "kernel.calendar.imported",
            serde_json::json!({"years": years}),
        )
        .actor(actor.label()),
    )
    .await?;
    Ok(years)
}
