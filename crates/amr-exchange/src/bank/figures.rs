//! Figures per bank and region: enterprises on each bank's list now, loans reported (count
//! and amount in fen), by city (the division's first 4 digits) or county (6 digits), within
//! a jurisdiction. Two grouped queries (`bank_pushed` on `(agency_id, listed, uscc)`,
//! `bank_loans` on `(agency_id, division)`), merged here.

use std::collections::BTreeMap;

use serde::Serialize;

use amr_kernel::auth::Scope;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::on_conn;

use crate::agency;

/// How deep the regions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    City,
    County,
}

impl Level {
    pub fn parse(s: &str) -> Result<Level, AppError> {
        match s.trim() {
            "" | "city" => Ok(Level::City),
            "county" => Ok(Level::County),
            _ => Err(AppError::bad_request(
                "level",
                "level 应为 city 或 county (level is city or county)",
            )),
        }
    }

    fn digits(self) -> usize {
        match self {
            Level::City => 4,
            Level::County => 6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::County => "county",
        }
    }
}

/// One bank in one region.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Row {
    pub bank: String,
    pub bank_name: String,
    pub region: String,
    pub listed: i64,
    pub loans: i64,
    pub amount_fen: i64,
    /// The amount in yuan, two decimals (for pages).
    pub amount_yuan: String,
}

/// Fen as yuan with two decimals.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.unsigned_abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

/// One bank's totals (within the scope).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Total {
    pub bank: String,
    pub bank_name: String,
    pub listed: i64,
    pub loans: i64,
    pub amount_fen: i64,
    pub amount_yuan: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    pub level: &'static str,
    pub rows: Vec<Row>,
    pub totals: Vec<Total>,
}

/// The figures within `scope`, further narrowed to the division prefix `within` (digits).
pub async fn figures(
    db: &Db,
    scope: &Scope,
    level: Level,
    within: &str,
) -> Result<Figures, AppError> {
    if within.len() > 9 || !within.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad_request(
            "region",
            "region 应为不超过 9 位的区划代码前缀 (region is a division-code prefix of at most 9 digits)",
        ));
    }
    let n = level.digits();
    let within_pattern = format!("{within}%");
    let listed_sql = format!(
        "SELECT agency_id, SUBSTR(division, 1, {n}), COUNT(*) FROM bank_pushed \
         WHERE listed = $2 AND {} AND division LIKE $3 GROUP BY agency_id, SUBSTR(division, 1, {n})",
        scope.division_filter("division", 1)
    );
    let listed: Vec<(i64, String, i64)> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(listed_sql))
        .bind(scope.like_pattern())
        .bind(true)
        .bind(&within_pattern)
        .fetch_all(c)
        .await?);
    let loans_sql = format!(
        "SELECT agency_id, SUBSTR(division, 1, {n}), COUNT(*), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) \
         FROM bank_loans WHERE {} AND division LIKE $2 GROUP BY agency_id, SUBSTR(division, 1, {n})",
        scope.division_filter("division", 1)
    );
    let loans: Vec<(i64, String, i64, i64)> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(loans_sql))
        .bind(scope.like_pattern())
        .bind(&within_pattern)
        .fetch_all(c)
        .await?);
    let banks: BTreeMap<i64, (String, String)> = agency::list(db)
        .await?
        .into_iter()
        .filter(|a| a.kind == "bank")
        .map(|a| (a.id, (a.name, a.display_name)))
        .collect();
    let mut by: BTreeMap<(String, String), Row> = BTreeMap::new();
    fn entry<'a>(
        by: &'a mut BTreeMap<(String, String), Row>,
        banks: &BTreeMap<i64, (String, String)>,
        id: i64,
        region: String,
    ) -> Option<&'a mut Row> {
        let (name, display) = banks.get(&id)?.clone();
        Some(by.entry((name.clone(), region.clone())).or_insert(Row {
            bank: name,
            bank_name: display,
            region,
            ..Row::default()
        }))
    }
    for (id, region, count) in listed {
        if let Some(r) = entry(&mut by, &banks, id, region) {
            r.listed += count;
        }
    }
    for (id, region, count, amount) in loans {
        if let Some(r) = entry(&mut by, &banks, id, region) {
            r.loans += count;
            r.amount_fen += amount;
        }
    }
    let mut rows: Vec<Row> = by.into_values().collect();
    for r in &mut rows {
        r.amount_yuan = yuan(r.amount_fen);
    }
    let mut totals: BTreeMap<String, Total> = BTreeMap::new();
    for r in &rows {
        let t = totals.entry(r.bank.clone()).or_insert_with(|| Total {
            bank: r.bank.clone(),
            bank_name: r.bank_name.clone(),
            ..Total::default()
        });
        t.listed += r.listed;
        t.loans += r.loans;
        t.amount_fen += r.amount_fen;
    }
    let mut totals: Vec<Total> = totals.into_values().collect();
    for t in &mut totals {
        t.amount_yuan = yuan(t.amount_fen);
    }
    Ok(Figures {
        level: level.as_str(),
        rows,
        totals,
    })
}
