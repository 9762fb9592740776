//! The officer list of a jurisdiction: filters, keyset paging, counting, streaming.
//!
//! Rows come in the order of the `(division, uscc)` index: by division, then by USCC. A page
//! starts after the row whose USCC the caller passes (the last row of the previous page), so
//! page 1,000 costs what page 1 costs, and a full export reads the index once.

use amr_kernel::auth::Scope;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::on_conn;

use super::{COLUMNS, EntityRow, prefix_range, rows_to_entities, scope_prefix};
use crate::model::{Entity, EntityType, Status};

/// Page size of [`stream_scoped`].
pub const PAGE: i64 = 5_000;

/// Filters of the officer list; each `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityFilter {
    /// A division-code prefix within the officer's jurisdiction (e.g. one county of the
    /// officer's city): digits only, at most 9.
    pub division_prefix: Option<String>,
    pub entity_type: Option<EntityType>,
    pub status: Option<Status>,
    /// Part of the name (matched literally: `%` and `_` are not wildcards).
    pub name_contains: Option<String>,
}

/// A WHERE clause and its bound text values, `$1..$n` in order.
struct Where {
    sql: String,
    binds: Vec<String>,
}

impl Where {
    fn push(&mut self, cond: impl FnOnce(usize) -> String, value: String) {
        self.binds.push(value);
        let c = cond(self.binds.len());
        self.sql.push_str(" AND ");
        self.sql.push_str(&c);
    }
}

/// Escapes `\`, `%` and `_` for `LIKE ... ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The conditions of `scope` and `filter`; `after` = the `(division, uscc)` to start after.
fn where_clause(
    scope: &Scope,
    filter: &EntityFilter,
    after: Option<(String, String)>,
) -> Result<Where, AppError> {
    let mut w = Where {
        sql: scope.division_filter("division", 1),
        binds: vec![scope.like_pattern()],
    };
    let narrow = match filter.division_prefix.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => {
            if p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(AppError::bad_request(
                    "division",
                    "区划代码应为不超过 9 位的数字 (a division code is at most 9 digits)",
                ));
            }
            w.push(|n| format!("division LIKE ${n}"), format!("{p}%"));
            Some(p)
        }
        _ => None,
    };
    // The LIKE conditions decide; the range lets the (division, uscc) index find the rows.
    let range = narrow.or(scope_prefix(scope)).map(prefix_range);
    match (after, range) {
        (Some((d, u)), range) => {
            w.binds.push(d);
            w.push(|n| format!("(division, uscc) > (${}, ${n})", n - 1), u);
            if let Some((_, hi)) = range {
                w.push(|n| format!("division < ${n}"), hi);
            }
        }
        (None, Some((lo, hi))) => {
            w.push(|n| format!("division >= ${n}"), lo);
            w.push(|n| format!("division < ${n}"), hi);
        }
        (None, None) => {}
    }
    if let Some(t) = filter.entity_type {
        w.push(|n| format!("entity_type = ${n}"), t.as_str().into());
    }
    if let Some(s) = filter.status {
        w.push(|n| format!("status = ${n}"), s.as_str().into());
    }
    if let Some(name) = filter.name_contains.as_deref().map(str::trim)
        && !name.is_empty()
    {
        w.push(
            |n| format!("name LIKE ${n} ESCAPE '\\'"),
            format!("%{}%", like_escape(name)),
        );
    }
    Ok(w)
}

/// One page of the entities within `scope` that match `filter`, in `(division, uscc)` order,
/// starting after the entity `after` (the USCC of the last row of the previous page; `None`
/// for the first page). An `after` outside the scope is a bad request.
pub async fn list_scoped(
    db: &Db,
    scope: &Scope,
    filter: &EntityFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Entity>, AppError> {
    let anchor = match after.map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => {
            let sql = format!(
                "SELECT division FROM entities WHERE uscc = $1 AND {}",
                scope.division_filter("division", 2)
            );
            let division: Option<String> = on_conn!(db, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(a)
                    .bind(scope.like_pattern())
                    .fetch_optional(c)
                    .await?);
            let division = division.ok_or_else(|| {
                AppError::bad_request(
                    "after",
                    format!("翻页位置 {a} 不存在 (unknown page position)"),
                )
            })?;
            Some((division, a.to_string()))
        }
    };
    let w = where_clause(scope, filter, anchor)?;
    let sql = format!(
        "SELECT {COLUMNS} FROM entities WHERE {} ORDER BY division, uscc LIMIT ${}",
        w.sql,
        w.binds.len() + 1
    );
    let limit = limit.clamp(1, 10 * PAGE);
    let rows: Vec<EntityRow> = on_conn!(db, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for b in &w.binds {
            q = q.bind(b);
        }
        q.bind(limit).fetch_all(c).await?
    });
    rows_to_entities(rows)
}

/// How many entities within `scope` match `filter`.
pub async fn count_scoped(db: &Db, scope: &Scope, filter: &EntityFilter) -> Result<i64, AppError> {
    let w = where_clause(scope, filter, None)?;
    let sql = format!("SELECT count(*) FROM entities WHERE {}", w.sql);
    Ok(on_conn!(db, c => {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for b in &w.binds {
            q = q.bind(b);
        }
        q.fetch_one(c).await?
    }))
}

/// Calls `on_row` for every entity within `scope` that matches `filter`, in list order,
/// reading [`PAGE`] rows at a time (memory stays flat however many rows there are). Stops at
/// the first error of `on_row`. Returns the number of rows passed.
pub async fn stream_scoped(
    db: &Db,
    scope: &Scope,
    filter: &EntityFilter,
    mut on_row: impl FnMut(&Entity) -> Result<(), AppError>,
) -> Result<u64, AppError> {
    let mut after: Option<String> = None;
    let mut n = 0u64;
    loop {
        let page = list_scoped(db, scope, filter, after.as_deref(), PAGE).await?;
        for e in &page {
            on_row(e)?;
        }
        n += page.len() as u64;
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some(last.uscc.clone()),
            _ => return Ok(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
    }

    #[test]
    fn conditions_are_numbered_in_bind_order() {
        let f = EntityFilter {
            division_prefix: Some("370102".into()),
            entity_type: Some(EntityType::Branch),
            status: None,
            name_contains: Some("100%".into()),
        };
        let w = where_clause(
            &Scope::prefix("3701"),
            &f,
            Some(("370102001".into(), "X".into())),
        )
        .unwrap();
        assert_eq!(
            w.sql,
            "($1 = '%' OR division LIKE $1) AND division LIKE $2 AND (division, uscc) > ($3, $4) \
             AND division < $5 AND entity_type = $6 AND name LIKE $7 ESCAPE '\\'"
        );
        assert_eq!(
            w.binds,
            [
                "3701%",
                "370102%",
                "370102001",
                "X",
                "370102~",
                "branch",
                "%100\\%%"
            ]
        );
        let bad = EntityFilter {
            division_prefix: Some("37%".into()),
            ..EntityFilter::default()
        };
        assert!(where_clause(&Scope::all(), &bad, None).is_err());
        let w = where_clause(&Scope::all(), &EntityFilter::default(), None).unwrap();
        assert_eq!(w.binds, ["%"]);
    }
}
