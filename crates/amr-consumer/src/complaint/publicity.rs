//! Complaint publicity (消费投诉信息公示) by period and category, with the enterprise's
//! review before publication.
//!
//! - Periods: a month (`2026-09`), a quarter (`2026-Q3`) or a year (`2026`); a complaint
//!   counts in the period of the day it was filed, in its category (`category.rs`; "未分类"
//!   when none was given or set).
//! - Review: once a period has ended the enterprise has [`REVIEW_WORKING_DAYS`] working days
//!   to see its figures in its portal and answer with a statement (it may answer while the
//!   period runs too); the statement is shown beside the figures once published and cannot
//!   be changed after.
//! - Publication happens on read: a period is public from the day after its review window
//!   ends (no worker, nothing to miss after a restart). A window running into a year whose
//!   calendar is not loaded keeps the period unpublished until that year is imported.
//! - Figures are counted when read: `handled` and `settled` of a published period still grow
//!   as its complaints close (the figures say how the complaints filed in the period stand
//!   now).
//! - Never anything about the complainant: counts only.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use amr_kernel::audit::{self, Change};
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::Acting;
use amr_kernel::on_conn;
use amr_kernel::on_tx;

use super::{category, engine, model, store};

/// The enterprise's review window after a period ends, in working days.
pub const REVIEW_WORKING_DAYS: u32 = 5;

/// How finely the statistics are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Month,
    Quarter,
    Year,
}

impl Granularity {
    pub fn parse(s: &str) -> Result<Granularity, AppError> {
        match s.trim() {
            "" | "year" => Ok(Granularity::Year),
            "quarter" => Ok(Granularity::Quarter),
            "month" => Ok(Granularity::Month),
            _ => Err(AppError::bad_request(
                "period",
                "统计周期应为 month、quarter 或 year (the period is month, quarter or year)",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Month => "month",
            Granularity::Quarter => "quarter",
            Granularity::Year => "year",
        }
    }
}

/// A statistics period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    Month(i32, u32),
    Quarter(i32, u32),
    Year(i32),
}

impl Period {
    /// `2026-09`, `2026-Q3` or `2026`.
    pub fn parse(s: &str) -> Result<Period, AppError> {
        let bad = || {
            AppError::bad_request(
                "period",
                "统计期应写作 2026-09（月）、2026-Q3（季度）或 2026（年） (a period is 2026-09, 2026-Q3 or 2026)",
            )
        };
        let s = s.trim();
        let year = |y: &str| -> Result<i32, AppError> {
            if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            y.parse()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .ok_or_else(bad)
        };
        match s.split_once('-') {
            None => Ok(Period::Year(year(s)?)),
            Some((y, q)) if q.len() == 2 && (q.starts_with('Q') || q.starts_with('q')) => {
                let n: u32 = q[1..].parse().map_err(|_| bad())?;
                if !(1..=4).contains(&n) {
                    return Err(bad());
                }
                Ok(Period::Quarter(year(y)?, n))
            }
            Some((y, m)) if m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit()) => {
                let n: u32 = m.parse().map_err(|_| bad())?;
                if !(1..=12).contains(&n) {
                    return Err(bad());
                }
                Ok(Period::Month(year(y)?, n))
            }
            _ => Err(bad()),
        }
    }

    /// The period of granularity `g` holding the month `YYYYMM`.
    pub fn of_month(g: Granularity, month: i32) -> Period {
        let (y, m) = (month / 100, (month % 100) as u32);
        match g {
            Granularity::Month => Period::Month(y, m),
            Granularity::Quarter => Period::Quarter(y, (m - 1) / 3 + 1),
            Granularity::Year => Period::Year(y),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Period::Month(y, m) => format!("{y}-{m:02}"),
            Period::Quarter(y, q) => format!("{y}-Q{q}"),
            Period::Year(y) => format!("{y}"),
        }
    }

    /// The period's last day.
    pub fn end(&self) -> NaiveDate {
        let (y, last_month) = match *self {
            Period::Month(y, m) => (y, m),
            Period::Quarter(y, q) => (y, q * 3),
            Period::Year(y) => (y, 12),
        };
        let (ny, nm) = if last_month == 12 {
            (y + 1, 1)
        } else {
            (y, last_month + 1)
        };
        NaiveDate::from_ymd_opt(ny, nm, 1)
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }

    /// The last day of the enterprise's review window; `None` when the calendar of that
    /// time is not loaded.
    pub fn review_until(&self) -> Option<NaiveDate> {
        engine()
            .calendar()
            .add_working_days(self.end(), REVIEW_WORKING_DAYS)
            .ok()
    }

    /// Where the period stands on `today`.
    pub fn stage(&self, today: NaiveDate) -> Stage {
        if today <= self.end() {
            return Stage::Running;
        }
        match self.review_until() {
            Some(u) if today > u => Stage::Published,
            Some(_) => Stage::Review,
            None => Stage::Review,
        }
    }
}

/// Where a period stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The period has not ended.
    Running,
    /// Ended; the enterprise may answer before publication.
    Review,
    /// Public.
    Published,
}

/// One category's count within a period.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryCount {
    pub code: Option<&'static str>,
    pub zh: &'static str,
    pub en: &'static str,
    pub received: i64,
}

/// A period's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodStats {
    pub period: String,
    pub stage: Stage,
    /// The last day of the review window (`None`: the calendar is not loaded that far).
    pub review_until: Option<NaiveDate>,
    /// The first day it is public.
    pub published_on: Option<NaiveDate>,
    pub received: i64,
    pub handled: i64,
    pub settled: i64,
    pub settlement_rate: Option<f64>,
    pub categories: Vec<CategoryCount>,
    pub statement: Option<String>,
    pub statement_at: Option<DateTime<Utc>>,
}

fn rate(settled: i64, handled: i64) -> Option<f64> {
    (handled > 0).then(|| (settled as f64 * 1000.0 / handled as f64).round() / 10.0)
}

/// `(month, category, received, handled, settled)` of a business's complaints.
async fn month_rows(
    db: &Db,
    uscc: &str,
) -> Result<Vec<(i32, Option<String>, i64, i64, i64)>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT month, category, COUNT(*), \
         SUM(CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END), \
         SUM(CASE WHEN closed_at IS NOT NULL AND outcome IN ('odr_settled', 'mediated') \
             THEN 1 ELSE 0 END) \
         FROM complaints WHERE uscc = $1 AND kind = 'complaint' AND month IS NOT NULL \
         GROUP BY month, category",
    )
    .bind(uscc)
    .fetch_all(c)
    .await?))
}

async fn statements(
    db: &Db,
    uscc: &str,
) -> Result<HashMap<String, (String, DateTime<Utc>)>, AppError> {
    let rows: Vec<(String, String, DateTime<Utc>)> = on_conn!(db, c => sqlx::query_as(
        "SELECT period, statement, updated_at FROM complaint_statements WHERE uscc = $1",
    )
    .bind(uscc)
    .fetch_all(c)
    .await?);
    Ok(rows.into_iter().map(|(p, s, at)| (p, (s, at))).collect())
}

/// A business's figures in periods of `g`, newest first, each with its stage on `today`
/// and its statement. `published_only` keeps the public ones.
pub async fn periods(
    db: &Db,
    uscc: &str,
    g: Granularity,
    today: NaiveDate,
    published_only: bool,
) -> Result<Vec<PeriodStats>, AppError> {
    let rows = month_rows(db, uscc).await?;
    let said = statements(db, uscc).await?;
    #[derive(Default)]
    struct Acc {
        received: i64,
        handled: i64,
        settled: i64,
        cats: BTreeMap<Option<String>, i64>,
    }
    let mut by: BTreeMap<Period, Acc> = BTreeMap::new();
    for (month, cat, n, h, s) in rows {
        let a = by.entry(Period::of_month(g, month)).or_default();
        a.received += n;
        a.handled += h;
        a.settled += s;
        *a.cats.entry(cat).or_default() += n;
    }
    let mut out = Vec::new();
    for (p, a) in by.into_iter().rev() {
        let stage = p.stage(today);
        if published_only && stage != Stage::Published {
            continue;
        }
        let until = p.review_until();
        let mut categories: Vec<CategoryCount> = a
            .cats
            .into_iter()
            .map(|(code, n)| match code.as_deref().and_then(category::get) {
                Some(c) => CategoryCount {
                    code: Some(c.code),
                    zh: c.zh,
                    en: c.en,
                    received: n,
                },
                None => CategoryCount {
                    code: None,
                    zh: "未分类",
                    en: "not classified",
                    received: n,
                },
            })
            .collect();
        categories.sort_by(|a, b| b.received.cmp(&a.received).then(a.code.cmp(&b.code)));
        let st = said.get(&p.text());
        out.push(PeriodStats {
            period: p.text(),
            stage,
            review_until: until,
            published_on: until.and_then(|u| u.succ_opt()),
            received: a.received,
            handled: a.handled,
            settled: a.settled,
            settlement_rate: rate(a.settled, a.handled),
            categories,
            statement: st.map(|s| s.0.clone()),
            statement_at: st.map(|s| s.1),
        });
    }
    Ok(out)
}

/// The totals of the published months (what the entity page shows).
pub async fn published_totals(db: &Db, uscc: &str, today: NaiveDate) -> Result<Value, AppError> {
    let months = periods(db, uscc, Granularity::Month, today, true).await?;
    let (r, h, s) = months.iter().fold((0, 0, 0), |a, p| {
        (a.0 + p.received, a.1 + p.handled, a.2 + p.settled)
    });
    Ok(json!({"received": r, "handled": h, "settled": s, "settlement_rate": rate(s, h)}))
}

/// The enterprise answers its figures of a period (before publication). 2–1,000 characters;
/// a published period is refused; audit `complaint.stats.statement`, internal event.
pub async fn save_statement(
    db: &Db,
    acting: &Acting,
    period: &str,
    statement: &str,
    today: NaiveDate,
) -> Result<Period, AppError> {
    let uscc = acting.uscc.clone().ok_or_else(AppError::forbidden)?;
    let p = Period::parse(period)?;
    let text = model::text("statement", statement, 2, 1000, "说明", false)?;
    if p.stage(today) == Stage::Published {
        return Err(AppError::rejected(
            "该统计期已公示，不能再修改说明 (this period is published: its statement can no longer change)",
        ));
    }
    if p.end().year() > today.year() + 1 {
        return Err(AppError::bad_request(
            "period",
            "统计期不能晚于明年 (the period cannot be later than next year)",
        ));
    }
    let mut tx = db.begin().await?;
    let before: Option<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT statement FROM complaint_statements WHERE uscc = $1 AND period = $2",
    )
    .bind(&uscc)
    .bind(p.text())
    .fetch_optional(&mut *c)
    .await?);
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO complaint_statements (uscc, period, statement, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (uscc, period) DO UPDATE SET \
         statement = $3, updated_by = $4, updated_at = $5",
    )
    .bind(&uscc)
    .bind(p.text())
    .bind(&text)
    .bind(acting.actor.label())
    .bind(store::now())
    .execute(&mut *c)
    .await?
    .rows_affected());
    events::append(
        &mut tx,
        NewEvent::internal(
            "consumer.complaint.statement_saved",
            json!({"uscc": uscc, "period": p.text()}),
        )
        .uscc(&uscc)
        .actor(acting.actor.label()),
    )
    .await?;
    audit::record(
        &mut tx,
        &acting.actor,
        Change {
            action: "complaint.stats.statement",
            target_kind: "entity",
            target_id: uscc.clone(),
            division: None,
            before: before.map(|s| json!({"period": p.text(), "statement": s})),
            after: Some(json!({"period": p.text(), "statement": text})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_parse_and_print() {
        for s in ["2026-09", "2026-Q3", "2026"] {
            assert_eq!(Period::parse(s).unwrap().text(), s);
        }
        assert_eq!(Period::parse("2026-q4").unwrap(), Period::Quarter(2026, 4));
        for bad in [
            "2026-13",
            "2026-Q5",
            "26",
            "2026-9",
            "2026-Q",
            "abcd",
            "2026-09-01",
            "",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Period::of_month(Granularity::Quarter, 202609),
            Period::Quarter(2026, 3)
        );
        assert_eq!(Period::Month(2026, 2).end(), d("2026-02-28"));
        assert_eq!(Period::Quarter(2026, 4).end(), d("2026-12-31"));
    }

    #[test]
    fn september_is_reviewed_across_national_day_then_published() {
        // Ends 09-30; 5 working days: 10-08, 10-09, 10-10 (make-up Saturday), 10-12, 10-13.
        let p = Period::Month(2026, 9);
        assert_eq!(p.review_until(), Some(d("2026-10-13")));
        assert_eq!(p.stage(d("2026-09-28")), Stage::Running);
        assert_eq!(p.stage(d("2026-10-13")), Stage::Review);
        assert_eq!(p.stage(d("2026-10-14")), Stage::Published);
        // December 2026's window runs into 2027, whose calendar is not embedded.
        assert_eq!(
            Period::Month(2026, 12).stage(d("2026-12-31")),
            Stage::Running
        );
    }
}
