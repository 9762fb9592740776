//! The facts other contexts need about entities, read in bulk: code, name, division, type,
//! industry, status, establishment date and the two list flags, in `(division, uscc)` order
//! with keyset paging (a range on the `entities_division` index, so a page costs the same
//! wherever it starts). The server hands them to the supervision context's target library.

use chrono::NaiveDate;

use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::on_conn;

use super::prefix_range;

/// One entity's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub uscc: String,
    pub name: String,
    pub division: String,
    pub entity_type: String,
    pub industry: String,
    pub status: String,
    pub established: NaiveDate,
    pub abnormal_list: bool,
    pub serious_list: bool,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    NaiveDate,
    Option<bool>,
    Option<bool>,
);

const SELECT: &str = "SELECT e.uscc, e.name, e.division, e.entity_type, e.industry, e.status, \
     e.established, f.abnormal_list, f.serious_list \
     FROM entities e LEFT JOIN entity_flags f ON f.uscc = e.uscc";

fn facts(r: Row) -> Facts {
    Facts {
        uscc: r.0,
        name: r.1,
        division: r.2,
        entity_type: r.3,
        industry: r.4,
        status: r.5,
        established: r.6,
        abnormal_list: r.7.unwrap_or(false),
        serious_list: r.8.unwrap_or(false),
    }
}

/// One page of the entities whose division starts with `prefix` (digits; empty = all), after
/// the `(division, uscc)` key `after`, at most `limit` (1..=50,000).
pub async fn facts_page(
    db: &Db,
    prefix: &str,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<Facts>, AppError> {
    if prefix.len() > 9 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad_request(
            "scope",
            "区划代码应为不超过 9 位的数字 (a division code is at most 9 digits)",
        ));
    }
    let (lo, hi) = prefix_range(prefix);
    let limit = limit.clamp(1, 50_000);
    let rows: Vec<Row> = match after {
        Some((d, u)) => {
            let sql = format!(
                "{SELECT} WHERE (e.division, e.uscc) > ($1, $2) AND e.division < $3 \
                 ORDER BY e.division, e.uscc LIMIT $4"
            );
            on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(d)
                .bind(u)
                .bind(&hi)
                .bind(limit)
                .fetch_all(c)
                .await?)
        }
        None => {
            let sql = format!(
                "{SELECT} WHERE e.division >= $1 AND e.division < $2 \
                 ORDER BY e.division, e.uscc LIMIT $3"
            );
            on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&lo)
                .bind(&hi)
                .bind(limit)
                .fetch_all(c)
                .await?)
        }
    };
    Ok(rows.into_iter().map(facts).collect())
}

/// One entity's facts, or `None`.
pub async fn facts_of(db: &Db, uscc: &str) -> Result<Option<Facts>, AppError> {
    Ok(facts_of_many(db, &[uscc]).await?.pop())
}

/// The facts of the entities of `usccs` that exist, `MANY_CHUNK` (499) codes a query, as
/// `get_many` reads entities.
pub async fn facts_of_many(db: &Db, usccs: &[&str]) -> Result<Vec<Facts>, AppError> {
    let mut out = Vec::with_capacity(usccs.len());
    for chunk in usccs.chunks(super::entities::MANY_CHUNK) {
        let list = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("{SELECT} WHERE e.uscc IN ({list})");
        let rows: Vec<Row> = on_conn!(db, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(*u);
            }
            q.fetch_all(c).await?
        });
        out.extend(rows.into_iter().map(facts));
    }
    Ok(out)
}
