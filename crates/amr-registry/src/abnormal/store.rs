//! The abnormal-operation list as stored: listing (by the sweep for a missed report, by an
//! officer on the other grounds), removal, the 3-year warning and the transfer to the
//! serious-violation list. Each act writes its rows, a public event, its audit entry and the
//! entity's flags (through [`deregistration::set_flags`]) in one transaction.

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::calendar::Calendar;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::requests;
use super::rules;
use crate::lifecycle::deregistration;
use crate::lifecycle::rules::{Bars, text_field};
use crate::model::Entity;
use crate::store;

/// A listing as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Listing {
    pub id: i64,
    pub uscc: String,
    pub division: String,
    pub name: String,
    pub ground: String,
    pub year: Option<i32>,
    pub reason: String,
    pub basis: String,
    pub decision_no: String,
    pub listed_on: NaiveDate,
    pub listed_by: String,
    pub state: String,
    pub warned_on: Option<NaiveDate>,
    pub removal_ground: Option<String>,
    pub removal_note: Option<String>,
    pub removal_decision_no: Option<String>,
    pub removed_on: Option<NaiveDate>,
    pub removed_by: Option<String>,
    pub transferred_on: Option<NaiveDate>,
    /// Why a no-report listing was decided after its window (`None`: decided in time).
    pub late_reason: Option<String>,
}

const COLUMNS: &str = "id, uscc, division, name, ground, year, reason, basis, decision_no, \
    listed_on, listed_by, state, warned_on, removal_ground, removal_note, removal_decision_no, \
    removed_on, removed_by, transferred_on, late_reason";

impl Listing {
    /// What the public sees (no officer names, no internal note).
    pub fn public(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "uscc": self.uscc,
            "name": self.name,
            "ground": self.ground,
            "year": self.year,
            "reason": self.reason,
            "basis": self.basis,
            "decision_no": self.decision_no,
            "listed_on": self.listed_on,
            "state": self.state,
            "warned_on": self.warned_on,
            "transfer_due": rules::three_years(self.listed_on),
            "removal_ground": self.removal_ground,
            "removal_decision_no": self.removal_decision_no,
            "removed_on": self.removed_on,
            "transferred_on": self.transferred_on,
            "decided_late": self.late_reason.is_some(),
            "late_reason": self.late_reason,
        })
    }
}

/// An entry of the serious-violation list.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Serious {
    pub id: i64,
    pub uscc: String,
    pub division: String,
    pub listing_id: i64,
    pub reason: String,
    pub basis: String,
    pub decision_no: String,
    pub listed_on: NaiveDate,
    pub state: String,
}

/// The next number of a kind of decision in a year (gapless; the row is locked by the update).
async fn next_no(tx: &mut Tx, kind: &str, year: i32) -> Result<i64, AppError> {
    let n: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO abnormal_numbers (kind, year, last) VALUES ($1, $2, 1) \
         ON CONFLICT (kind, year) DO UPDATE SET last = abnormal_numbers.last + 1 RETURNING last",
    )
    .bind(kind)
    .bind(year)
    .fetch_one(&mut *c)
    .await?);
    Ok(n)
}

async fn decision_no(tx: &mut Tx, kind: &str, today: NaiveDate) -> Result<String, AppError> {
    let y = today.year();
    let n = next_no(tx, kind, y).await?;
    let word = match kind {
        "listing" => "异列",
        "removal" => "异移",
        "warning" => "异告",
        _ => "严列",
    };
    Ok(format!("{word}〔{y}〕{n:06}号"))
}

/// Brings the entity's flags in line with its listings (abnormal: any listing in force;
/// serious: any serious-list entry in force), through the lifecycle's `set_flags`.
async fn refresh_flags(tx: &mut Tx, actor: &Actor, uscc: &str, note: &str) -> Result<(), AppError> {
    let abnormal: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM abnormal_listings WHERE uscc = $1 AND state = 'listed'",
    )
    .bind(uscc)
    .fetch_one(&mut *c)
    .await?);
    let serious: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM serious_violations WHERE uscc = $1 AND state = 'listed'",
    )
    .bind(uscc)
    .fetch_one(&mut *c)
    .await?);
    let row: Option<(bool, bool, bool, bool)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT abnormal_list, serious_list, equity_frozen, equity_pledged FROM entity_flags WHERE uscc = $1",
    )
    .bind(uscc)
    .fetch_optional(&mut *c)
    .await?);
    let now = row
        .map(|(a, s, f, p)| Bars {
            abnormal_list: a,
            serious_list: s,
            equity_frozen: f,
            equity_pledged: p,
        })
        .unwrap_or_default();
    let to = Bars {
        abnormal_list: abnormal > 0,
        serious_list: serious > 0,
        ..now
    };
    if to != now {
        deregistration::set_flags(tx, actor, &Scope::all(), uscc, to, note).await?;
    }
    Ok(())
}

pub(crate) async fn get_in(tx: &mut Tx, id: i64) -> Result<Listing, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM abnormal_listings WHERE id = $1");
    let l: Option<Listing> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?);
    l.ok_or(AppError::NotFound)
}

async fn audit_entry(
    tx: &mut Tx,
    actor: &Actor,
    l: &Listing,
    action: &str,
    before: Option<serde_json::Value>,
) -> Result<(), AppError> {
    audit::record(
        tx,
        actor,
        audit::Change {
            action,
            target_kind: "entity",
            target_id: l.uscc.clone(),
            division: Some(l.division.clone()),
            before,
            after: Some(json!(l)),
        },
    )
    .await?;
    Ok(())
}

/// Lists `e` on `ground` (with the report `year` for a missed report) on `today`.
#[allow(clippy::too_many_arguments)]
async fn insert_listing(
    tx: &mut Tx,
    actor: &Actor,
    e: &Entity,
    ground: &str,
    year: Option<i32>,
    reason: &str,
    basis: &str,
    late_reason: Option<&str>,
    today: NaiveDate,
) -> Result<Listing, AppError> {
    let no = decision_no(tx, "listing", today).await?;
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO abnormal_listings (uscc, division, name, ground, year, reason, basis, decision_no, \
         listed_on, listed_by, state, late_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'listed', $11) RETURNING id",
    )
    .bind(&e.uscc)
    .bind(&e.division)
    .bind(&e.name)
    .bind(ground)
    .bind(year)
    .bind(reason)
    .bind(basis)
    .bind(&no)
    .bind(today)
    .bind(actor.label())
    .bind(late_reason)
    .fetch_one(&mut *c)
    .await?);
    let l = get_in(tx, id).await?;
    events::append(
        tx,
        NewEvent::public(
            "registry.entity.abnormal_listed",
            json!({"uscc": l.uscc, "ground": l.ground, "year": l.year, "reason": l.reason,
                   "basis": l.basis, "decision_no": l.decision_no, "listed_on": l.listed_on,
                   "decided_late": l.late_reason.is_some(), "late_reason": l.late_reason}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    audit_entry(tx, actor, &l, "abnormal.list", None).await?;
    refresh_flags(tx, actor, &e.uscc, &format!("列入经营异常名录 {no}")).await?;
    Ok(l)
}

/// An officer lists an entity within `scope` on one of the grounds other than a missed report
/// (that one is the sweep's), with the facts as the reason.
pub async fn decide_listing(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    ground: &str,
    reason: &str,
    today: NaiveDate,
) -> Result<Listing, AppError> {
    let (key, _, basis) = rules::ground(ground)?;
    if key == "no_annual_report" {
        return Err(AppError::bad_request(
            "ground",
            "未报送年报的列入由年报期结束后的核查自动作出 (listing for a missed report is made by the sweep after the season)",
        ));
    }
    let reason = text_field("reason", reason, 500, true, true)?;
    let e = store::lock_scoped(tx, scope, uscc).await?;
    let open: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM abnormal_listings WHERE uscc = $1 AND ground = $2 AND state = 'listed'",
    )
    .bind(&e.uscc)
    .bind(key)
    .fetch_one(&mut *c)
    .await?);
    if open > 0 {
        return Err(AppError::rejected(
            "该主体已因同一事由列入经营异常名录 (the entity is already listed on this ground)",
        ));
    }
    insert_listing(tx, actor, &e, key, None, &reason, basis, None, today).await
}

/// Removes listing `l` on `ground`. An open removal request on it other than `by_request`
/// (the request whose approval this is) is closed with the removal.
pub(crate) async fn remove_listing(
    tx: &mut Tx,
    actor: &Actor,
    l: &Listing,
    ground: &str,
    note: &str,
    by_request: Option<i64>,
    today: NaiveDate,
) -> Result<Listing, AppError> {
    let no = decision_no(tx, "removal", today).await?;
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE abnormal_listings SET state = 'removed', removal_ground = $2, removal_note = $3, \
         removal_decision_no = $4, removed_on = $5, removed_by = $6 WHERE id = $1 AND state = 'listed'",
    )
    .bind(l.id)
    .bind(ground)
    .bind(note)
    .bind(&no)
    .bind(today)
    .bind(actor.label())
    .execute(&mut *c)
    .await?
    .rows_affected());
    if n == 0 {
        return Err(AppError::rejected(
            "该列入已不在名录中 (the listing is no longer in force)",
        ));
    }
    let after = get_in(tx, l.id).await?;
    events::append(
        tx,
        NewEvent::public(
            "registry.entity.abnormal_removed",
            json!({"uscc": l.uscc, "listing_decision_no": l.decision_no, "ground": ground,
                   "decision_no": no, "removed_on": today}),
        )
        .uscc(&l.uscc)
        .division(&l.division)
        .actor(actor.label()),
    )
    .await?;
    audit_entry(tx, actor, &after, "abnormal.remove", Some(json!(l))).await?;
    requests::close_open(
        tx,
        actor,
        l.id,
        by_request,
        &format!("该列入已于 {today} 另行移出（{no}），本申请随之办结"),
        Some(&no),
        today,
    )
    .await?;
    refresh_flags(tx, actor, &l.uscc, &format!("移出经营异常名录 {no}")).await?;
    Ok(after)
}

/// An officer removes listing `id` (within `scope`) on `ground`, which must answer the
/// listing's ground (back report, information published, address changed or confirmed).
pub async fn remove(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    ground: &str,
    note: &str,
    today: NaiveDate,
) -> Result<Listing, AppError> {
    let l = get_in(tx, id).await?;
    if !scope.contains(Some(&l.division)) {
        return Err(AppError::NotFound);
    }
    let ground = rules::removal_ground(ground, &l.ground)?;
    let note = text_field("note", note, 500, true, false)?;
    store::lock_scoped(tx, scope, &l.uscc).await?;
    if ground == "back_report" {
        let year = l.year.unwrap_or_default();
        let filed: i64 = on_tx!(tx, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM annual_reports WHERE uscc = $1 AND year = $2",
        )
        .bind(&l.uscc)
        .bind(year)
        .fetch_one(&mut *c)
        .await?);
        if filed == 0 {
            return Err(AppError::rejected(format!(
                "尚未补报 {year} 年度报告 (no report for {year} has been filed)"
            )));
        }
    }
    remove_listing(tx, actor, &l, ground, &note, None, today).await
}

/// The automatic removal when the back report for `year` is filed (in the filing's
/// transaction): the listing for that year, if in force, is removed on `back_report`.
pub async fn remove_for_back_report(
    tx: &mut Tx,
    actor: &Actor,
    e: &Entity,
    year: i32,
    today: NaiveDate,
) -> Result<Option<Listing>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM abnormal_listings WHERE uscc = $1 AND ground = 'no_annual_report' \
         AND year = $2 AND state = 'listed'"
    );
    let l: Option<Listing> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&e.uscc)
        .bind(year)
        .fetch_optional(&mut *c)
        .await?);
    match l {
        Some(l) => Ok(Some(
            remove_listing(
                tx,
                actor,
                &l,
                "back_report",
                &format!("已补报 {year} 年度报告，自动移出"),
                None,
                today,
            )
            .await?,
        )),
        None => Ok(None),
    }
}

/// Every listing of an entity, newest first.
pub async fn for_entity(db: &Db, uscc: &str) -> Result<Vec<Listing>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM abnormal_listings WHERE uscc = $1 ORDER BY id DESC");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(c)
        .await?))
}

/// The serious-violation entries of an entity, newest first.
pub async fn serious_for_entity(db: &Db, uscc: &str) -> Result<Vec<Serious>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT id, uscc, division, listing_id, reason, basis, decision_no, listed_on, state \
         FROM serious_violations WHERE uscc = $1 ORDER BY id DESC",
    )
    .bind(uscc)
    .fetch_all(c)
    .await?))
}

/// Of `usccs`, those with a listing in force on the abnormal list (one query per 499 codes).
/// The address service's risk counts follow it (through the server's wiring).
pub async fn listed_among(
    db: &Db,
    usccs: &[&str],
) -> Result<std::collections::HashSet<String>, AppError> {
    let mut out = std::collections::HashSet::new();
    for chunk in usccs.chunks(499) {
        let list = (1..=chunk.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT DISTINCT uscc FROM abnormal_listings WHERE state = 'listed' AND uscc IN ({list})"
        );
        let rows: Vec<String> = on_conn!(db, c => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(*u);
            }
            q.fetch_all(c).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// Page size of the public list.
pub const PAGE: i64 = 50;

/// The entities on the list now, newest listing first, matching `q` (part of the name, or the
/// start of the code), page `page` (from 1); and whether another page follows.
pub async fn search(db: &Db, q: &str, page: i64) -> Result<(Vec<Listing>, bool), AppError> {
    let q = q.trim();
    if q.chars().count() > 50 {
        return Err(AppError::bad_request(
            "q",
            "查询词不超过 50 字 (at most 50 characters)",
        ));
    }
    if !(1..=10_000).contains(&page) {
        return Err(AppError::bad_request(
            "page",
            "页码应为 1–10000 (page must be 1–10000)",
        ));
    }
    let esc: String = q
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM abnormal_listings WHERE state = 'listed' AND ($1 = '' OR name LIKE $2 ESCAPE '\\' \
         OR uscc LIKE $3 ESCAPE '\\') ORDER BY listed_on DESC, id DESC LIMIT $4 OFFSET $5"
    );
    let mut rows: Vec<Listing> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(q)
        .bind(format!("%{esc}%"))
        .bind(format!("{}%", esc.to_ascii_uppercase()))
        .bind(PAGE + 1)
        .bind((page - 1) * PAGE)
        .fetch_all(c)
        .await?);
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    Ok((rows, more))
}

/// What one run of the sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepOutcome {
    pub listed: u64,
    pub warned: u64,
    pub transferred: u64,
}

/// Entities read per page of the no-report sweep (one transaction per page).
pub const SWEEP_BATCH: i64 = 500;

/// The daily work of the list on `today` (idempotent: a second run the same day does
/// nothing):
/// 1. on the working days from the decision day of the report year `today.year() - 1`
///    ([`rules::decision_day`]) to the 10th working day after 30 June
///    ([`rules::decision_deadline`]), every entity that had to report (established in or
///    before that year, active or suspended) and has no report for it is listed, page by page
///    in code order with the place kept in `abnormal_sweeps` (a restart resumes; a finished
///    year is not read again). Outside that window nothing is listed for a missed report;
/// 2. listings within 60 days of their 3-year mark get their public warning;
/// 3. listings past the mark whose warning was published before today move to the
///    serious-violation list.
pub async fn sweep(db: &Db, cal: &Calendar, today: NaiveDate) -> Result<SweepOutcome, AppError> {
    let mut out = SweepOutcome::default();
    let year = crate::annual::rules::due_year(today);
    // A calendar without the year's data stops the listing (an error to log), not the rest.
    let window = rules::decision_day(cal, year)
        .and_then(|from| Ok((from, rules::decision_deadline(cal, year)?)));
    out.warned = warn_due(db, today).await?;
    out.transferred = transfer_due(db, today).await?;
    let (from, to) = window?;
    if from <= today && today <= to {
        out.listed = sweep_year(db, year, today, &Actor::system(), None).await?;
    }
    Ok(out)
}

/// A report year's no-report listing as the sweep left it, with its decision window.
#[derive(Debug, Clone, Serialize)]
pub struct YearSweep {
    pub year: i32,
    /// The last day of the listing's decision window (10 working days after 30 June).
    pub deadline: NaiveDate,
    /// `waiting` (the window has not opened), `in_window` (the daily sweep decides),
    /// `completed`, `missed` (the window passed and the sweep did not complete: a late
    /// decision is due, [`decide_late`]), or `before_system` (a year older than any sweep
    /// this register has run and than the latest closed window: decided before AMR kept the
    /// register, not offered for a late decision).
    pub state: &'static str,
    pub started_on: Option<NaiveDate>,
    pub completed_on: Option<NaiveDate>,
    /// Listed so far by the sweep of this year.
    pub listed: i64,
}

/// The sweeps of the report years `from..=to` on `today`, newest first.
pub async fn year_sweeps(
    db: &Db,
    cal: &Calendar,
    from: i32,
    to: i32,
    today: NaiveDate,
) -> Result<Vec<YearSweep>, AppError> {
    let rows: Vec<(i32, i64, NaiveDate, Option<NaiveDate>)> = on_conn!(db, c => sqlx::query_as(
        "SELECT year, listed, started_on, completed_on FROM abnormal_sweeps WHERE year >= $1 AND year <= $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await?);
    let first: Option<i32> = on_conn!(db, c => sqlx::query_scalar(
        "SELECT MIN(year) FROM abnormal_sweeps",
    )
    .fetch_one(c)
    .await?);
    // The latest report year whose window has closed.
    let mut latest_closed = to;
    while rules::decision_deadline(cal, latest_closed)? >= today && latest_closed > from - 1 {
        latest_closed -= 1;
    }
    let oldest_missable = first.map_or(latest_closed, |f| f.min(latest_closed));
    let mut out = Vec::new();
    for year in (from..=to).rev() {
        let deadline = rules::decision_deadline(cal, year)?;
        let row = rows.iter().find(|r| r.0 == year);
        let opens = crate::annual::rules::season_end(year)
            .succ_opt()
            .expect("1 July exists");
        let completed_on = row.and_then(|r| r.3);
        let state = if completed_on.is_some() {
            "completed"
        } else if today < opens {
            "waiting"
        } else if today <= deadline {
            "in_window"
        } else if year >= oldest_missable {
            "missed"
        } else {
            "before_system"
        };
        out.push(YearSweep {
            year,
            deadline,
            state,
            started_on: row.map(|r| r.2),
            completed_on,
            listed: row.map_or(0, |r| r.1),
        });
    }
    Ok(out)
}

/// The late decision for report year `year` (an administrator's, through `amr abnormal sweep
/// --year Y --decide-late --reason TEXT`): when the server was down for the whole decision
/// window, the year's missed reports are listed afterwards, each listing recording that it was
/// decided late and `reason`. Refused before the window has ended (the daily sweep decides
/// then) and when the year's sweep has finished (nothing is left to decide). Resumable like
/// the sweep: a second run continues where the first stopped, and lists nobody twice.
pub async fn decide_late(
    db: &Db,
    cal: &Calendar,
    actor: &Actor,
    year: i32,
    reason: &str,
    today: NaiveDate,
) -> Result<u64, AppError> {
    let reason = text_field("reason", reason, 500, true, true)?;
    let deadline = rules::decision_deadline(cal, year)?;
    if today <= deadline {
        return Err(AppError::rejected(format!(
            "{year} 年度未报年报的列入决定期限至 {deadline}，期限内由每日核查作出，无需补作决定 \
             (the decision window for {year} runs until {deadline}; the daily sweep decides within it)"
        )));
    }
    let done: Option<Option<NaiveDate>> = on_conn!(db, c => sqlx::query_scalar(
        "SELECT completed_on FROM abnormal_sweeps WHERE year = $1",
    )
    .bind(year)
    .fetch_optional(c)
    .await?);
    if let Some(Some(on)) = done {
        return Err(AppError::rejected(format!(
            "{year} 年度的列入核查已于 {on} 完成，无需补作决定 (the listing for {year} was completed on {on})"
        )));
    }
    let late = format!("列入决定期限（至 {deadline}）内系统未运行，于 {today} 补作决定：{reason}");
    sweep_year(db, year, today, actor, Some(&late)).await
}

/// Lists the year's missed reports page by page (see [`sweep`]); `late`: the reason recorded
/// on each listing when it is decided after the window.
async fn sweep_year(
    db: &Db,
    year: i32,
    today: NaiveDate,
    actor: &Actor,
    late: Option<&str>,
) -> Result<u64, AppError> {
    let last_day = NaiveDate::from_ymd_opt(year, 12, 31).expect("31 December exists");
    let mut listed = 0u64;
    loop {
        let mut tx = db.begin().await?;
        let state: Option<(String, Option<NaiveDate>)> = on_tx!(tx, c => sqlx::query_as(
            "SELECT cursor, completed_on FROM abnormal_sweeps WHERE year = $1",
        )
        .bind(year)
        .fetch_optional(&mut *c)
        .await?);
        let cursor = match state {
            Some((_, Some(_))) => {
                tx.rollback().await?;
                return Ok(listed);
            }
            Some((cursor, None)) => cursor,
            None => {
                on_tx!(tx, c => sqlx::query(
                    "INSERT INTO abnormal_sweeps (year, cursor, listed, started_on) VALUES ($1, '', 0, $2)",
                )
                .bind(year)
                .bind(today)
                .execute(&mut *c)
                .await?
                .rows_affected());
                String::new()
            }
        };
        let page: Vec<String> = on_tx!(tx, c => sqlx::query_scalar(
            "SELECT e.uscc FROM entities e WHERE e.uscc > $1 AND e.status IN ('active', 'suspended') \
             AND e.established <= $2 \
             AND NOT EXISTS (SELECT 1 FROM annual_reports r WHERE r.uscc = e.uscc AND r.year = $3) \
             AND NOT EXISTS (SELECT 1 FROM abnormal_listings l WHERE l.uscc = e.uscc \
                 AND l.ground = 'no_annual_report' AND l.year = $3) \
             ORDER BY e.uscc LIMIT $4",
        )
        .bind(&cursor)
        .bind(last_day)
        .bind(year)
        .bind(SWEEP_BATCH)
        .fetch_all(&mut *c)
        .await?);
        let (ground, _, basis) = rules::GROUNDS[0];
        let reason = format!(
            "未按规定于 {} 前报送 {year} 年度报告",
            crate::annual::rules::season_end(year)
        );
        for uscc in &page {
            let e = store::lock_scoped(&mut tx, &Scope::all(), uscc).await?;
            insert_listing(
                &mut tx,
                actor,
                &e,
                ground,
                Some(year),
                &reason,
                basis,
                late,
                today,
            )
            .await?;
        }
        listed += page.len() as u64;
        let done = (page.len() as i64) < SWEEP_BATCH;
        let next = page.last().cloned().unwrap_or(cursor);
        on_tx!(tx, c => sqlx::query(
            "UPDATE abnormal_sweeps SET cursor = $2, listed = listed + $3, completed_on = $4 WHERE year = $1",
        )
        .bind(year)
        .bind(&next)
        .bind(page.len() as i64)
        .bind(if done { Some(today) } else { None })
        .execute(&mut *c)
        .await?
        .rows_affected());
        tx.commit().await?;
        if done {
            return Ok(listed);
        }
    }
}

async fn warn_due(db: &Db, today: NaiveDate) -> Result<u64, AppError> {
    let actor = Actor::system();
    // Warned from 60 days before the 3-year mark.
    let bound = (today + chrono::Duration::days(rules::WARNING_DAYS))
        .checked_sub_months(Months::new(36))
        .expect("a date 3 years back exists");
    let mut warned = 0u64;
    loop {
        let mut tx = db.begin().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM abnormal_listings WHERE state = 'listed' AND warned_on IS NULL \
             AND listed_on <= $1 ORDER BY id LIMIT $2"
        );
        let page: Vec<Listing> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(bound)
            .bind(SWEEP_BATCH)
            .fetch_all(&mut *c)
            .await?);
        for l in &page {
            let no = decision_no(&mut tx, "warning", today).await?;
            on_tx!(tx, c => sqlx::query(
                "UPDATE abnormal_listings SET warned_on = $2 WHERE id = $1",
            )
            .bind(l.id)
            .bind(today)
            .execute(&mut *c)
            .await?
            .rows_affected());
            let after = get_in(&mut tx, l.id).await?;
            events::append(
                &mut tx,
                NewEvent::public(
                    "registry.entity.abnormal_warned",
                    json!({"uscc": l.uscc, "listing_decision_no": l.decision_no, "notice_no": no,
                           "warned_on": today, "transfer_due": rules::three_years(l.listed_on),
                           "basis": rules::SERIOUS_BASIS}),
                )
                .uscc(&l.uscc)
                .division(&l.division)
                .actor(actor.label()),
            )
            .await?;
            audit_entry(&mut tx, &actor, &after, "abnormal.warn", Some(json!(l))).await?;
        }
        tx.commit().await?;
        warned += page.len() as u64;
        if (page.len() as i64) < SWEEP_BATCH {
            return Ok(warned);
        }
    }
}

async fn transfer_due(db: &Db, today: NaiveDate) -> Result<u64, AppError> {
    let actor = Actor::system();
    let bound = today
        .checked_sub_months(Months::new(36))
        .expect("a date 3 years back exists");
    let mut moved = 0u64;
    loop {
        let mut tx = db.begin().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM abnormal_listings WHERE state = 'listed' AND listed_on <= $1 \
             AND warned_on IS NOT NULL AND warned_on < $2 ORDER BY id LIMIT $3"
        );
        let page: Vec<Listing> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(bound)
            .bind(today)
            .bind(SWEEP_BATCH)
            .fetch_all(&mut *c)
            .await?);
        for l in &page {
            store::lock_scoped(&mut tx, &Scope::all(), &l.uscc).await?;
            let no = decision_no(&mut tx, "serious", today).await?;
            let reason = format!(
                "列入经营异常名录（{}）满三年仍未履行相关义务",
                l.decision_no
            );
            on_tx!(tx, c => sqlx::query(
                "INSERT INTO serious_violations (uscc, division, listing_id, reason, basis, decision_no, listed_on, state) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'listed')",
            )
            .bind(&l.uscc)
            .bind(&l.division)
            .bind(l.id)
            .bind(&reason)
            .bind(rules::SERIOUS_BASIS)
            .bind(&no)
            .bind(today)
            .execute(&mut *c)
            .await?
            .rows_affected());
            on_tx!(tx, c => sqlx::query(
                "UPDATE abnormal_listings SET state = 'transferred', transferred_on = $2 WHERE id = $1",
            )
            .bind(l.id)
            .bind(today)
            .execute(&mut *c)
            .await?
            .rows_affected());
            let after = get_in(&mut tx, l.id).await?;
            events::append(
                &mut tx,
                NewEvent::public(
                    "registry.entity.serious_listed",
                    json!({"uscc": l.uscc, "listing_decision_no": l.decision_no, "decision_no": no,
                           "reason": reason, "basis": rules::SERIOUS_BASIS, "listed_on": today}),
                )
                .uscc(&l.uscc)
                .division(&l.division)
                .actor(actor.label()),
            )
            .await?;
            audit_entry(&mut tx, &actor, &after, "abnormal.transfer", Some(json!(l))).await?;
            requests::close_open(
                &mut tx,
                &actor,
                l.id,
                None,
                &format!("该列入已于 {today} 列入严重违法失信名单（{no}），本申请随之办结"),
                None,
                today,
            )
            .await?;
            refresh_flags(
                &mut tx,
                &actor,
                &l.uscc,
                &format!("列入严重违法失信名单 {no}"),
            )
            .await?;
        }
        tx.commit().await?;
        moved += page.len() as u64;
        if (page.len() as i64) < SWEEP_BATCH {
            return Ok(moved);
        }
    }
}
