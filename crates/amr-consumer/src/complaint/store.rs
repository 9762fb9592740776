//! The SQL of the complaint part, on both backends: the `complaints` rows (what the
//! complainant gave, mirrors of the matter's state and deadline, the ODR answer, the money),
//! the ODR participants, the queue, the statistics.
//!
//! Jurisdiction: officers' reads are filtered by the row's `division` in SQL
//! ([`Scope::division_filter`]); outside it is [`AppError::NotFound`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use amr_kernel::auth::Scope;
use amr_kernel::db::{AppendTable, Cell, Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::matter::Matter;
use amr_kernel::{on_conn, on_tx};

pub(crate) fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// A complaint, report or request for help as stored (personal data included: officers and
/// the complainant only).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Complaint {
    pub id: i64,
    pub matter_number: String,
    pub kind: String,
    pub source: String,
    pub division: String,
    pub uscc: Option<String>,
    pub business_name: String,
    pub business_address: Option<String>,
    pub complainant_name: String,
    pub phone: String,
    pub purchase: String,
    pub purchase_date: Option<NaiveDate>,
    pub amount_fen: Option<i64>,
    pub facts: String,
    pub claim: String,
    pub state: String,
    pub due_on: Option<NaiveDate>,
    pub odr: bool,
    pub odr_due_on: Option<NaiveDate>,
    pub odr_result: Option<String>,
    pub odr_answered_on: Option<NaiveDate>,
    pub settlement: Option<String>,
    pub settlement_fen: Option<i64>,
    pub consumer_refused: bool,
    pub outcome: Option<String>,
    pub recovered_fen: Option<i64>,
    pub year: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The category code (`category.rs`), if given.
    pub category: Option<String>,
    /// The day filed (the day deadlines counted from) and its month `YYYYMM`.
    pub filed_on: Option<NaiveDate>,
    pub month: Option<i32>,
    pub accepted_on: Option<NaiveDate>,
    /// Working days from filing to acceptance, and to the close.
    pub accept_wd: Option<i32>,
    pub close_wd: Option<i32>,
    /// The month `YYYYMM` and the money (fen) the close was counted with on the dashboard.
    pub closed_month: Option<i32>,
    pub counted_fen: Option<i64>,
}

const COLUMNS: &str = "id, matter_number, kind, source, division, uscc, business_name, \
     business_address, complainant_name, phone, purchase, purchase_date, amount_fen, facts, \
     claim, state, due_on, odr, odr_due_on, odr_result, odr_answered_on, settlement, \
     settlement_fen, consumer_refused, outcome, recovered_fen, year, created_at, updated_at, \
     closed_at, category, filed_on, month, accepted_on, accept_wd, close_wd, closed_month, \
     counted_fen";

/// A new row.
#[derive(Debug, Clone)]
pub struct NewRow<'a> {
    pub kind: &'a str,
    pub source: &'a str,
    pub uscc: Option<&'a str>,
    pub business_name: &'a str,
    pub business_address: Option<&'a str>,
    pub complainant_name: &'a str,
    pub phone: &'a str,
    pub purchase: &'a str,
    pub purchase_date: Option<NaiveDate>,
    pub amount_fen: Option<i64>,
    pub facts: &'a str,
    pub claim: &'a str,
    pub dup_key: &'a str,
    pub odr: bool,
    pub year: i32,
    pub category: Option<&'a str>,
    /// The day deadlines count from (the month is taken from it).
    pub filed_on: NaiveDate,
}

/// The columns [`insert`] writes, in the order of [`cells`] (shared by [`COMPLAINTS`] and
/// [`COMPLAINTS_COURSE`]).
macro_rules! insert_columns {
    ($($more:literal),*) => {
        &[
            "matter_number", "kind", "source", "division", "uscc", "business_name",
            "business_address", "complainant_name", "phone", "purchase", "purchase_date",
            "amount_fen", "facts", "claim", "dup_key", "open_dup_key", "state", "due_on", "odr",
            "odr_due_on", "consumer_refused", "year", "created_at", "updated_at", "category",
            "filed_on", "month", $($more),*
        ]
    };
}

/// The complaint rows, as [`insert`] writes them (the columns it leaves out start NULL).
pub static COMPLAINTS: AppendTable = AppendTable {
    name: "complaints",
    columns: insert_columns!(),
};

/// Inserts the row of a matter just created (state, deadline and division from `m`): at
/// once, or held back with the transaction's other rows when it defers them (the intake's
/// batch, whose duplicates are checked in memory; `Tx::defer_appends`). Every function here
/// that reads or changes `complaints` in a transaction writes the held rows first.
pub async fn insert(tx: &mut Tx, m: &Matter, r: &NewRow<'_>) -> Result<(), AppError> {
    let at = now();
    let odr_due = if r.odr { m.due_on } else { None };
    tx.append(&COMPLAINTS, cells(m, r, odr_due, Some(r.dup_key), at))
        .await
}

/// The values of [`COMPLAINTS`]' columns for the matter `m` as it now is.
fn cells(
    m: &Matter,
    r: &NewRow<'_>,
    odr_due: Option<NaiveDate>,
    open_dup_key: Option<&str>,
    at: DateTime<Utc>,
) -> Vec<Cell> {
    vec![
        Cell::from(m.number.clone()),
        Cell::from(r.kind),
        Cell::from(r.source),
        Cell::from(m.division.clone()),
        Cell::from(r.uscc),
        Cell::from(r.business_name),
        Cell::from(r.business_address),
        Cell::from(r.complainant_name),
        Cell::from(r.phone),
        Cell::from(r.purchase),
        Cell::from(r.purchase_date),
        Cell::from(r.amount_fen),
        Cell::from(r.facts),
        Cell::from(r.claim),
        Cell::from(r.dup_key),
        Cell::from(open_dup_key),
        Cell::from(m.state.clone()),
        Cell::from(m.due_on),
        Cell::from(r.odr),
        Cell::from(odr_due),
        Cell::from(false),
        Cell::from(r.year),
        Cell::from(at),
        Cell::from(at),
        Cell::from(r.category),
        Cell::from(r.filed_on),
        Cell::from(crate::complaint::followup::month_of(r.filed_on)),
    ]
}

/// What the transitions of a course (`Engine::create_with_course`) leave in a complaint's
/// row after its insert: the columns [`set_odr_result`], [`set_recovered`] and the
/// follow-up of an acceptance and a close-out set.
#[derive(Debug, Clone, Default)]
pub struct Later {
    pub odr_result: Option<&'static str>,
    pub odr_answered_on: Option<NaiveDate>,
    pub settlement: Option<String>,
    pub settlement_fen: Option<i64>,
    pub recovered_fen: Option<i64>,
    pub accepted_on: Option<NaiveDate>,
    pub accept_wd: Option<i32>,
    pub closed_month: Option<i32>,
    pub close_wd: Option<i32>,
    pub counted_fen: Option<i64>,
}

/// The complaint rows of a course, as [`insert_course`] writes them: [`COMPLAINTS`]' columns
/// and those of [`Later`], with the matter's outcome and close.
pub static COMPLAINTS_COURSE: AppendTable = AppendTable {
    name: "complaints",
    columns: insert_columns!(
        "outcome",
        "closed_at",
        "odr_result",
        "odr_answered_on",
        "settlement",
        "settlement_fen",
        "recovered_fen",
        "accepted_on",
        "accept_wd",
        "closed_month",
        "close_wd",
        "counted_fen"
    ),
};

/// Inserts the row of a matter created with its whole course: as [`insert`] would for
/// `first` (the matter after its creation and first transition, whose deadline is the ODR
/// deadline) followed by [`sync`] with `last` (the matter as the course leaves it) and the
/// columns `later` sets. Held back with the transaction's other rows when it defers them.
pub async fn insert_course(
    tx: &mut Tx,
    first: &Matter,
    last: &Matter,
    r: &NewRow<'_>,
    later: &Later,
) -> Result<(), AppError> {
    let at = now();
    let odr_due = if r.odr { first.due_on } else { None };
    let open_dup_key = if last.closed_at.is_some() {
        None
    } else {
        Some(r.dup_key)
    };
    let mut row = cells(last, r, odr_due, open_dup_key, at);
    row.extend([
        Cell::from(last.outcome.clone()),
        Cell::from(last.closed_at),
        Cell::from(later.odr_result),
        Cell::from(later.odr_answered_on),
        Cell::from(later.settlement.clone()),
        Cell::from(later.settlement_fen),
        Cell::from(later.recovered_fen),
        Cell::from(later.accepted_on),
        Cell::from(later.accept_wd),
        Cell::from(later.closed_month),
        Cell::from(later.close_wd),
        Cell::from(later.counted_fen),
    ]);
    tx.append(&COMPLAINTS_COURSE, row).await
}

/// The number of an open matter with this duplicate key, if any.
pub async fn open_duplicate(tx: &mut Tx, dup_key: &str) -> Result<Option<String>, AppError> {
    tx.flush_appends().await?;
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "SELECT matter_number FROM complaints WHERE open_dup_key = $1",
    )
    .bind(dup_key)
    .fetch_optional(&mut *c)
    .await?))
}

/// `$1, $2, ... $n`.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The open matters holding any of `dup_keys` (duplicate key → matter number), read in `tx`:
/// [`open_duplicate`] for many keys in one statement a 500.
pub async fn open_duplicates(
    tx: &mut Tx,
    dup_keys: &[&str],
) -> Result<std::collections::HashMap<String, String>, AppError> {
    tx.flush_appends().await?;
    keyed_in(
        tx,
        "SELECT open_dup_key, matter_number FROM complaints WHERE open_dup_key IN",
        dup_keys,
    )
    .await
}

/// Which of `usccs` take part in ODR (those listed, active or not; [`is_odr`] for many in
/// one statement a 500), read in `tx`.
pub async fn odr_among(
    tx: &mut Tx,
    usccs: &[&str],
) -> Result<std::collections::HashMap<String, bool>, AppError> {
    keyed_in(
        tx,
        "SELECT uscc, active FROM odr_enterprises WHERE uscc IN",
        usccs,
    )
    .await
}

/// The `(key, value)` rows of `select` (a query ending in `... IN`, completed here with the
/// list) for `keys`, 500 keys a statement.
async fn keyed_in<V>(
    tx: &mut Tx,
    select: &str,
    keys: &[&str],
) -> Result<std::collections::HashMap<String, V>, AppError>
where
    V: Send
        + Unpin
        + sqlx::Type<sqlx::Sqlite>
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>,
{
    let mut out = std::collections::HashMap::new();
    for chunk in keys.chunks(500) {
        let sql = format!("{select} ({})", placeholders(chunk.len()));
        let rows: Vec<(String, V)> = on_tx!(tx, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for k in chunk {
                q = q.bind(*k);
            }
            q.fetch_all(&mut *c).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// Brings the mirrors (state, deadline, jurisdiction, outcome, close) in step with the
/// matter after an engine call; a closed matter frees its duplicate key.
pub async fn sync(tx: &mut Tx, m: &Matter) -> Result<(), AppError> {
    tx.flush_appends().await?;
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE complaints SET state = $2, due_on = $3, division = $4, outcome = $5, \
         closed_at = $6, updated_at = $7, \
         open_dup_key = CASE WHEN $8 THEN NULL ELSE open_dup_key END \
         WHERE matter_number = $1",
    )
    .bind(&m.number)
    .bind(&m.state)
    .bind(m.due_on)
    .bind(&m.division)
    .bind(&m.outcome)
    .bind(m.closed_at)
    .bind(now())
    .bind(m.closed_at.is_some())
    .execute(&mut *c)
    .await?
    .rows_affected());
    if n != 1 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "matter {} has no complaint row",
            m.number
        )));
    }
    Ok(())
}

/// A reopened matter takes its duplicate key back, unless another open one holds it.
pub async fn reclaim_dup_key(tx: &mut Tx, number: &str) -> Result<(), AppError> {
    tx.flush_appends().await?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE complaints SET open_dup_key = dup_key WHERE matter_number = $1 \
         AND NOT EXISTS (SELECT 1 FROM complaints o WHERE o.open_dup_key = complaints.dup_key)",
    )
    .bind(number)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// Records the business's ODR answer (`settled`, `refused`, `timeout`).
pub async fn set_odr_result(
    tx: &mut Tx,
    number: &str,
    result: &str,
    on: NaiveDate,
    settlement: Option<&str>,
    settlement_fen: Option<i64>,
) -> Result<(), AppError> {
    tx.flush_appends().await?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE complaints SET odr_result = $2, odr_answered_on = $3, settlement = $4, \
         settlement_fen = $5 WHERE matter_number = $1",
    )
    .bind(number)
    .bind(result)
    .bind(on)
    .bind(settlement)
    .bind(settlement_fen)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// The consumer refused the business's settlement.
pub async fn set_consumer_refused(tx: &mut Tx, number: &str) -> Result<(), AppError> {
    tx.flush_appends().await?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE complaints SET consumer_refused = $2 WHERE matter_number = $1",
    )
    .bind(number)
    .bind(true)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// The money recovered for the consumer at the close.
pub async fn set_recovered(tx: &mut Tx, number: &str, fen: Option<i64>) -> Result<(), AppError> {
    tx.flush_appends().await?;
    on_tx!(tx, c => sqlx::query("UPDATE complaints SET recovered_fen = $2 WHERE matter_number = $1")
        .bind(number)
        .bind(fen)
        .execute(&mut *c)
        .await?
        .rows_affected());
    Ok(())
}

/// A row by its (canonical) matter number, unscoped: callers check who may see it.
pub async fn get(db: &Db, number: &str) -> Result<Option<Complaint>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM complaints WHERE matter_number = $1");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(number)
        .fetch_optional(c)
        .await?))
}

/// A row by its canonical number, read inside a transaction.
pub async fn get_tx(tx: &mut Tx, number: &str) -> Result<Complaint, AppError> {
    tx.flush_appends().await?;
    let sql = format!("SELECT {COLUMNS} FROM complaints WHERE matter_number = $1");
    let row: Option<Complaint> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(number)
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or_else(|| AppError::Internal(anyhow::anyhow!("matter {number} has no complaint row")))
}

/// Sets (or corrects) the category.
pub async fn set_category(
    tx: &mut Tx,
    number: &str,
    category: Option<&str>,
) -> Result<(), AppError> {
    tx.flush_appends().await?;
    on_tx!(tx, c => sqlx::query("UPDATE complaints SET category = $2, updated_at = $3 WHERE matter_number = $1")
        .bind(number)
        .bind(category)
        .bind(now())
        .execute(&mut *c)
        .await?
        .rows_affected());
    Ok(())
}

/// A row within an officer's scope.
pub async fn get_scoped(db: &Db, scope: &Scope, number: &str) -> Result<Complaint, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM complaints WHERE matter_number = $1 AND {}",
        scope.division_filter("division", 2)
    );
    let row: Option<Complaint> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(number)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// Where a page of the queue starts: after this deadline (`None`: no deadline) and id.
pub type QueueCursor = (Option<NaiveDate>, i64);

/// The cursor as text: `2026-10-13~42`, or `none~42`.
pub fn cursor_text(c: &QueueCursor) -> String {
    match c.0 {
        Some(d) => format!("{d}~{}", c.1),
        None => format!("none~{}", c.1),
    }
}

/// Parses [`cursor_text`].
pub fn parse_cursor(s: &str) -> Option<QueueCursor> {
    let (d, id) = s.trim().split_once('~')?;
    let id: i64 = id.parse().ok().filter(|n| *n > 0)?;
    match d {
        "none" => Some((None, id)),
        d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .ok()
            .map(|d| (Some(d), id)),
    }
}

/// The officers' queue: open matters of the scope with the bureau, earliest deadline first
/// (none last), a keyset page after `after`; the cursor of the next page if there is one.
pub async fn queue(
    db: &Db,
    scope: &Scope,
    kind: Option<&str>,
    overdue_on: Option<NaiveDate>,
    after: Option<QueueCursor>,
    limit: i64,
) -> Result<(Vec<Complaint>, Option<QueueCursor>), AppError> {
    // Two walks of the open complaints' index in its own order, so that a page reads its
    // rows and no more however many are open: those with a deadline by (due_on, id), then
    // (unless the page is full, or only overdue ones are asked for) those without by id.
    let mut rows = Vec::new();
    if !matches!(after, Some((None, _))) {
        let from = match after {
            Some((Some(d), id)) => Some((d, id)),
            _ => None,
        };
        rows = queue_walk(db, scope, kind, Walk::Due { overdue_on, from }, limit + 1).await?;
    }
    if (rows.len() as i64) <= limit && overdue_on.is_none() {
        let from = match after {
            Some((None, id)) => Some(id),
            _ => None,
        };
        let more = limit + 1 - rows.len() as i64;
        rows.extend(queue_walk(db, scope, kind, Walk::NoDue { from }, more).await?);
    }
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| (r.due_on, r.id))
    } else {
        None
    };
    Ok((rows, next))
}

/// One of the queue's two walks.
#[derive(Debug, Clone, Copy)]
enum Walk {
    /// Open complaints with a deadline, by (due_on, id), after `from`; only those due before
    /// `overdue_on` when given.
    Due {
        overdue_on: Option<NaiveDate>,
        from: Option<(NaiveDate, i64)>,
    },
    /// Open complaints without a deadline, by id, after `from`.
    NoDue { from: Option<i64> },
}

async fn queue_walk(
    db: &Db,
    scope: &Scope,
    kind: Option<&str>,
    walk: Walk,
    limit: i64,
) -> Result<Vec<Complaint>, AppError> {
    let mut cond = String::new();
    let mut n = 3;
    if kind.is_some() {
        cond.push_str(&format!(" AND kind = ${n}"));
        n += 1;
    }
    let order = match walk {
        Walk::Due { overdue_on, from } => {
            cond.push_str(" AND due_on IS NOT NULL");
            if overdue_on.is_some() {
                cond.push_str(&format!(" AND due_on < ${n}"));
                n += 1;
            }
            if from.is_some() {
                cond.push_str(&format!(
                    " AND (due_on > ${n} OR (due_on = ${n} AND id > ${}))",
                    n + 1
                ));
            }
            "due_on, id"
        }
        Walk::NoDue { from } => {
            cond.push_str(" AND due_on IS NULL");
            if from.is_some() {
                cond.push_str(&format!(" AND id > ${n}"));
            }
            "id"
        }
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM complaints WHERE closed_at IS NULL AND state <> 'odr' AND {}{cond} \
         ORDER BY {order} LIMIT $2",
        scope.division_filter("division", 1)
    );
    Ok(on_conn!(db, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(scope.like_pattern())
            .bind(limit);
        if let Some(k) = kind {
            q = q.bind(k);
        }
        match walk {
            Walk::Due { overdue_on, from } => {
                if let Some(d) = overdue_on {
                    q = q.bind(d);
                }
                if let Some((d, id)) = from {
                    q = q.bind(d).bind(id);
                }
            }
            Walk::NoDue { from } => {
                if let Some(id) = from {
                    q = q.bind(id);
                }
            }
        }
        q.fetch_all(c).await?
    }))
}

/// The complaints about a business (its portal), newest first.
pub async fn for_business(db: &Db, uscc: &str, limit: i64) -> Result<Vec<Complaint>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM complaints WHERE uscc = $1 AND kind = 'complaint' \
         ORDER BY id DESC LIMIT $2"
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .bind(limit)
        .fetch_all(c)
        .await?))
}

/// ODR matters whose business let the deadline pass (due before `today`).
pub async fn odr_overdue(db: &Db, today: NaiveDate) -> Result<Vec<String>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_scalar(
        "SELECT matter_number FROM complaints WHERE state = 'odr' AND odr_due_on < $1 \
         ORDER BY odr_due_on, id LIMIT 1000",
    )
    .bind(today)
    .fetch_all(c)
    .await?))
}

/// An enterprise in ODR with its response figures.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OdrEnterprise {
    pub uscc: String,
    pub name: String,
    pub division: String,
    pub active: bool,
    pub joined_on: NaiveDate,
    pub left_on: Option<NaiveDate>,
    /// Complaints that went to it first.
    pub received: i64,
    /// Answered (settled or refused) by the deadline.
    pub answered_in_time: i64,
    /// Let the deadline pass.
    pub timed_out: i64,
    /// Still with it.
    pub pending: i64,
}

impl OdrEnterprise {
    /// Answered in time / (answered in time + timed out), percent with one decimal.
    pub fn response_rate(&self) -> Option<f64> {
        let decided = self.answered_in_time + self.timed_out;
        (decided > 0)
            .then(|| (self.answered_in_time as f64 * 1000.0 / decided as f64).round() / 10.0)
    }
}

/// The ODR participants within `scope`, lowest response first, with their figures.
pub async fn odr_enterprises(
    db: &Db,
    scope: &Scope,
    limit: i64,
) -> Result<Vec<OdrEnterprise>, AppError> {
    let sql = format!(
        "SELECT e.uscc, e.name, e.division, e.active, e.joined_on, e.left_on, \
         COUNT(c.id) AS received, \
         SUM(CASE WHEN c.odr_result IN ('settled', 'refused') AND c.odr_answered_on <= c.odr_due_on \
             THEN 1 ELSE 0 END) AS answered_in_time, \
         SUM(CASE WHEN c.odr_result = 'timeout' THEN 1 ELSE 0 END) AS timed_out, \
         SUM(CASE WHEN c.state = 'odr' THEN 1 ELSE 0 END) AS pending \
         FROM odr_enterprises e LEFT JOIN complaints c ON c.uscc = e.uscc AND c.odr = $2 \
         WHERE {} GROUP BY e.uscc, e.name, e.division, e.active, e.joined_on, e.left_on \
         ORDER BY timed_out DESC, e.uscc LIMIT $3",
        scope.division_filter("e.division", 1)
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        uscc: String,
        name: String,
        division: String,
        active: bool,
        joined_on: NaiveDate,
        left_on: Option<NaiveDate>,
        received: i64,
        answered_in_time: Option<i64>,
        timed_out: Option<i64>,
        pending: Option<i64>,
    }
    let rows: Vec<Row> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .bind(true)
        .bind(limit)
        .fetch_all(c)
        .await?);
    Ok(rows
        .into_iter()
        .map(|r| OdrEnterprise {
            uscc: r.uscc,
            name: r.name,
            division: r.division,
            active: r.active,
            joined_on: r.joined_on,
            left_on: r.left_on,
            received: r.received,
            answered_in_time: r.answered_in_time.unwrap_or(0),
            timed_out: r.timed_out.unwrap_or(0),
            pending: r.pending.unwrap_or(0),
        })
        .collect())
}

/// Whether the business takes part in ODR now.
pub async fn is_odr(tx: &mut Tx, uscc: &str) -> Result<bool, AppError> {
    let row: Option<bool> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT active FROM odr_enterprises WHERE uscc = $1",
    )
    .bind(uscc)
    .fetch_optional(&mut *c)
    .await?);
    Ok(row.unwrap_or(false))
}

/// Marks a business as an ODR participant (or not). Returns whether it was one before.
pub async fn set_odr(
    tx: &mut Tx,
    uscc: &str,
    name: &str,
    division: &str,
    active: bool,
    today: NaiveDate,
    by: &str,
) -> Result<bool, AppError> {
    let before: Option<bool> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT active FROM odr_enterprises WHERE uscc = $1",
    )
    .bind(uscc)
    .fetch_optional(&mut *c)
    .await?);
    let left_on = if active { None } else { Some(today) };
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO odr_enterprises (uscc, name, division, active, joined_on, left_on, \
         updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (uscc) DO UPDATE SET name = $2, division = $3, active = $4, \
         joined_on = CASE WHEN $4 AND NOT odr_enterprises.active THEN $5 \
                     ELSE odr_enterprises.joined_on END, \
         left_on = $6, updated_by = $7, updated_at = $8",
    )
    .bind(uscc)
    .bind(name)
    .bind(division)
    .bind(active)
    .bind(today)
    .bind(left_on)
    .bind(by)
    .bind(now())
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(before.unwrap_or(false))
}
