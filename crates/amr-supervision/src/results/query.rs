//! Lists of results: the officers' unpublished results with their deadlines (within the
//! jurisdiction), and the public list of published results (no findings, no names of
//! people). Both page by keyset.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use amr_kernel::auth::Scope;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::on_conn;

use super::store::{RESULT_COLUMNS, ResultRow};

/// A bound value of a built query.
enum Bind {
    Text(String),
    Int(i64),
    Date(NaiveDate),
}

/// Conditions with `$n` placeholders numbered as they are added.
#[derive(Default)]
struct Conds {
    sql: Vec<String>,
    binds: Vec<Bind>,
}

impl Conds {
    /// Adds `sql` with each `?` replaced by the placeholder of `value`.
    fn add(&mut self, sql: &str, value: Bind) {
        self.binds.push(value);
        let n = format!("${}", self.binds.len());
        self.sql.push(sql.replace('?', &n));
    }
    fn scope(&mut self, scope: &Scope, column: &str) {
        self.binds.push(Bind::Text(scope.like_pattern()));
        self.sql
            .push(scope.division_filter(column, self.binds.len()));
    }
    fn sql(&self) -> String {
        self.sql.join(" AND ")
    }
}

macro_rules! fetch_all_with {
    ($db:expr, $sql:expr, $binds:expr) => {
        on_conn!($db, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe($sql));
            for b in $binds {
                q = match b {
                    Bind::Text(s) => q.bind(s.clone()),
                    Bind::Int(i) => q.bind(*i),
                    Bind::Date(d) => q.bind(*d),
                };
            }
            q.fetch_all(c).await?
        })
    };
}

// ----- officers ----------------------------------------------------------------------------

/// Filters of the officers' list of unpublished results.
#[derive(Debug, Clone, Default)]
pub struct PendingFilter {
    pub plan_id: Option<i64>,
    /// Only results past their deadline.
    pub overdue_only: bool,
    /// A division-code prefix within the jurisdiction.
    pub area: Option<String>,
    /// Keyset: after this `(publish_due, id)`.
    pub after: Option<(NaiveDate, i64)>,
}

/// Rows of a page of the officers' list.
pub const PENDING_PAGE: usize = 100;

/// An unpublished result with its deadline state.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    #[serde(flatten)]
    pub result: ResultRow,
    /// `publish_due` is before today.
    pub overdue: bool,
    /// Calendar days from today to `publish_due` (negative when overdue); the deadline itself
    /// was counted in working days when the result was recorded.
    pub days_left: i64,
}

/// Unpublished results within the jurisdiction, earliest deadline first, a page of at most
/// [`PENDING_PAGE`] (and whether another page follows).
pub async fn pending(
    db: &Db,
    scope: &Scope,
    f: &PendingFilter,
    today: NaiveDate,
) -> Result<(Vec<Pending>, bool), AppError> {
    let mut c = Conds::default();
    c.sql.push("r.published_at IS NULL".into());
    c.scope(scope, "r.division");
    if let Some(p) = f.plan_id {
        c.add("r.plan_id = ?", Bind::Int(p));
    }
    if f.overdue_only {
        c.add("r.publish_due < ?", Bind::Date(today));
    }
    if let Some(a) = &f.area {
        c.add("r.division LIKE ?", Bind::Text(format!("{a}%")));
    }
    if let Some((due, id)) = f.after {
        c.binds.push(Bind::Date(due));
        let n = c.binds.len();
        c.binds.push(Bind::Int(id));
        c.sql.push(format!(
            "(r.publish_due > ${n} OR (r.publish_due = ${n} AND r.id > ${}))",
            n + 1
        ));
    }
    let sql = format!(
        "SELECT {RESULT_COLUMNS} FROM insp_results r WHERE {} \
         ORDER BY r.publish_due, r.id LIMIT {}",
        c.sql(),
        PENDING_PAGE + 1
    );
    let mut rows: Vec<ResultRow> = fetch_all_with!(db, sql, &c.binds);
    let more = rows.len() > PENDING_PAGE;
    rows.truncate(PENDING_PAGE);
    Ok((
        rows.into_iter()
            .map(|r| Pending {
                overdue: r.publish_due < today,
                days_left: (r.publish_due - today).num_days(),
                result: r,
            })
            .collect(),
        more,
    ))
}

// ----- public ------------------------------------------------------------------------------

/// One published result as the public sees it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PublicResult {
    pub id: i64,
    pub plan_id: i64,
    pub plan_name: String,
    pub uscc: String,
    pub division: String,
    pub item_code: String,
    pub item_name: String,
    pub department: String,
    pub department_name: String,
    pub outcome: String,
    pub inspected_on: NaiveDate,
    pub published_at: DateTime<Utc>,
}

/// Filters of the public list.
#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    pub uscc: Option<String>,
    pub plan_id: Option<i64>,
    pub department: Option<String>,
    pub outcome: Option<String>,
    /// A division-code prefix (a county, a city, a province).
    pub area: Option<String>,
    /// Keyset: ids below this one (newest first).
    pub before: Option<i64>,
}

/// The largest public page.
pub const PUBLIC_PAGE_MAX: usize = 100;

/// Published results, newest publication first (by id), at most `limit` (capped at
/// [`PUBLIC_PAGE_MAX`]), and the keyset of the next page if there is one.
pub async fn public(
    db: &Db,
    f: &PublicFilter,
    limit: usize,
) -> Result<(Vec<PublicResult>, Option<i64>), AppError> {
    let limit = limit.clamp(1, PUBLIC_PAGE_MAX);
    let mut c = Conds::default();
    c.sql.push("r.published_at IS NOT NULL".into());
    if let Some(u) = &f.uscc {
        c.add("r.uscc = ?", Bind::Text(u.clone()));
    }
    if let Some(p) = f.plan_id {
        c.add("r.plan_id = ?", Bind::Int(p));
    }
    if let Some(d) = &f.department {
        c.add("r.department = ?", Bind::Text(d.clone()));
    }
    if let Some(o) = &f.outcome {
        c.add("r.outcome = ?", Bind::Text(o.clone()));
    }
    if let Some(a) = &f.area {
        c.add("r.division LIKE ?", Bind::Text(format!("{a}%")));
    }
    if let Some(b) = f.before {
        c.add("r.id < ?", Bind::Int(b));
    }
    let sql = format!(
        "SELECT r.id, r.plan_id, p.name AS plan_name, r.uscc, r.division, r.item_code, \
         COALESCE(i.name, r.item_code) AS item_name, r.department, \
         COALESCE(d.name, r.department) AS department_name, r.outcome, r.inspected_on, \
         r.published_at \
         FROM insp_results r JOIN insp_plans p ON p.id = r.plan_id \
         LEFT JOIN insp_items i ON i.code = r.item_code \
         LEFT JOIN insp_departments d ON d.code = r.department \
         WHERE {} ORDER BY r.id DESC LIMIT {}",
        c.sql(),
        limit + 1
    );
    let mut rows: Vec<PublicResult> = fetch_all_with!(db, sql, &c.binds);
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, next))
}

/// The plans and departments that have published results (for the public filters).
pub async fn public_choices(
    db: &Db,
) -> Result<(Vec<(i64, String)>, Vec<(String, String)>), AppError> {
    let plans: Vec<(i64, String)> = on_conn!(db, c => sqlx::query_as(
        "SELECT p.id, p.name FROM insp_plans p WHERE EXISTS \
         (SELECT 1 FROM insp_results r WHERE r.plan_id = p.id AND r.published_at IS NOT NULL) \
         ORDER BY p.id DESC LIMIT 200",
    )
    .fetch_all(c)
    .await?);
    let departments: Vec<(String, String)> = on_conn!(db, c => sqlx::query_as(
        "SELECT code, name FROM insp_departments ORDER BY code",
    )
    .fetch_all(c)
    .await?);
    Ok((plans, departments))
}
