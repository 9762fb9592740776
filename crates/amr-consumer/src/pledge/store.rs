//! The SQL of no-reason-return pledges, on both backends.
//!
//! Jurisdiction: officers act on pledges whose `division` (the shop's registered domicile)
//! is within their scope, in the SQL ([`Scope::division_filter`]); outside it is
//! [`AppError::NotFound`]. An enterprise account acts only on its own USCC's pledges.
//! Events (public, nothing personal): `consumer.pledge.made`, `consumer.pledge.withdrawn`,
//! `consumer.pledge.breach_recorded`; each write has its audit entry in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use amr_kernel::audit::{self, Change};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::matter::Matter;
use amr_kernel::{on_conn, on_tx};

use super::input::{self, Caller, now};
use super::{category_zh, parse_categories, parse_days};
use crate::complaint::Business;

/// A pledge as filed (JSON body or form); `uscc` only when an officer records one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PledgeInput {
    pub uscc: String,
    pub categories: Vec<String>,
    pub days: String,
    pub exclusions: String,
    pub valid_from: String,
}

/// A pledge (everything in it is public).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Pledge {
    pub id: i64,
    pub uscc: String,
    pub shop_name: String,
    pub division: String,
    pub categories: String,
    pub days: i64,
    pub exclusions: String,
    pub valid_from: NaiveDate,
    pub status: String,
    pub withdrawn_on: Option<NaiveDate>,
    pub withdraw_reason: Option<String>,
    pub recorded_via: String,
    pub breaches: i64,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "p.id, p.uscc, p.shop_name, p.division, p.categories, p.days, p.exclusions, \
     p.valid_from, p.status, p.withdrawn_on, p.withdraw_reason, p.recorded_via, p.breaches, p.created_at";

/// A recorded breach (public: the complaint number, the date and the officer's summary).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Breach {
    pub id: i64,
    pub complaint_number: String,
    pub summary: String,
    pub occurred_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

fn lock(tx: &Tx) -> &'static str {
    match tx.inner {
        TxInner::Postgres(_) => " FOR UPDATE",
        TxInner::Sqlite(_) => "",
    }
}

/// Makes a pledge for `business` (looked up in the registry by the caller): an enterprise
/// for its own USCC (`via` = `enterprise`), or an officer whose jurisdiction holds the
/// business's division (`officer`). Refused while the shop has a pledge in force (409).
pub async fn make(
    tx: &mut Tx,
    caller: &Caller,
    business: &Business,
    input: &PledgeInput,
    today: NaiveDate,
) -> Result<Pledge, AppError> {
    let via = if caller.is_officer() {
        if !caller.scope().contains(Some(business.division.as_str())) {
            return Err(AppError::NotFound);
        }
        "officer"
    } else if caller.uscc() == Some(business.uscc.as_str()) {
        "enterprise"
    } else {
        return Err(AppError::forbidden());
    };
    if !business.active {
        return Err(AppError::rejected(
            "该经营者已注销或被吊销，不能作出承诺 (the business is deregistered or revoked)",
        ));
    }
    let cats = parse_categories(&input.categories)?;
    let days = parse_days(&input.days)?;
    let exclusions = input::text(
        "exclusions",
        &input.exclusions,
        0,
        1000,
        "不适用无理由退货的商品",
    )?;
    let valid_from = input::date("valid_from", &input.valid_from, "承诺生效日期", Some(today))?;
    if valid_from < today - chrono::Days::new(30) || valid_from > today + chrono::Days::new(365) {
        return Err(AppError::bad_request(
            "valid_from",
            "承诺生效日期应在 30 天前至一年后之间 (the pledge takes effect from 30 days ago to a year ahead)",
        ));
    }
    let sql = format!(
        "SELECT p.id FROM return_pledges p WHERE p.uscc = $1 AND p.status = 'active'{}",
        lock(tx)
    );
    let open: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&business.uscc)
        .fetch_optional(&mut *c)
        .await?);
    if let Some(id) = open {
        return Err(AppError::Conflict(format!(
            "该经营者已有有效的无理由退货承诺（{id} 号），请先撤回 (the shop has pledge {id} in force; withdraw it first)"
        )));
    }
    let names: Vec<&str> = cats.iter().filter_map(|c| category_zh(c)).collect();
    let at = now();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO return_pledges (uscc, shop_name, division, categories, days, exclusions, \
         valid_from, status, recorded_via, breaches, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, 0, $9, $9) RETURNING id",
    )
    .bind(&business.uscc)
    .bind(&business.name)
    .bind(&business.division)
    .bind(names.join("、"))
    .bind(days)
    .bind(&exclusions)
    .bind(valid_from)
    .bind(via)
    .bind(at)
    .fetch_one(&mut *c)
    .await?);
    for cat in &cats {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO return_pledge_categories (pledge_id, category, division) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(*cat)
        .bind(&business.division)
        .execute(&mut *c)
        .await?
        .rows_affected());
    }
    let payload = json!({
        "id": id, "uscc": business.uscc, "shop_name": business.name,
        "categories": cats, "days": days, "valid_from": valid_from,
    });
    events::append(
        tx,
        NewEvent::public("consumer.pledge.made", payload.clone())
            .division(&business.division)
            .uscc(&business.uscc)
            .actor(caller.acting.actor.label()),
    )
    .await?;
    audit::record(
        tx,
        &caller.acting.actor,
        Change {
            action: "pledge.make",
            target_kind: "return_pledge",
            target_id: id.to_string(),
            division: Some(business.division.clone()),
            before: None,
            after: Some(json!({"categories": cats, "days": days, "exclusions": exclusions, "valid_from": valid_from, "via": via})),
        },
    )
    .await?;
    get_in(tx, id).await
}

async fn get_in(tx: &mut Tx, id: i64) -> Result<Pledge, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM return_pledges p WHERE p.id = $1");
    let row: Option<Pledge> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// The pledge `id` as `caller` may act on it (locked on PostgreSQL): an officer's scope or
/// the enterprise's own USCC; anything else is 404.
async fn for_caller(tx: &mut Tx, caller: &Caller, id: i64) -> Result<Pledge, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM return_pledges p WHERE p.id = $1 AND ({} OR p.uscc = $3){}",
        caller.scope().division_filter("p.division", 2),
        lock(tx)
    );
    let uscc = if caller.is_officer() {
        None
    } else {
        caller.uscc().map(str::to_string)
    };
    let row: Option<Pledge> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(caller.scope().like_pattern())
        .bind(&uscc)
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// What a withdrawal gives: the date it ends (today if empty, not in the past) and why.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WithdrawInput {
    pub on: String,
    pub reason: String,
}

/// Withdraws a pledge in force (the shop itself, or an officer of its jurisdiction), dated.
pub async fn withdraw(
    tx: &mut Tx,
    caller: &Caller,
    id: i64,
    input: &WithdrawInput,
    today: NaiveDate,
) -> Result<Pledge, AppError> {
    let reason = input::text("reason", &input.reason, 2, 500, "撤回理由")?;
    let on = input::date("on", &input.on, "撤回日期", Some(today))?;
    if on < today {
        return Err(AppError::bad_request(
            "on",
            "撤回日期不能早于今天 (the withdrawal cannot be dated in the past)",
        ));
    }
    let p = for_caller(tx, caller, id).await?;
    if p.status != "active" {
        return Err(AppError::rejected(
            "该承诺已撤回 (the pledge is already withdrawn)",
        ));
    }
    on_tx!(tx, c => sqlx::query(
        "UPDATE return_pledges SET status = 'withdrawn', withdrawn_on = $1, withdraw_reason = $2, \
         updated_at = $3 WHERE id = $4",
    )
    .bind(on)
    .bind(&reason)
    .bind(now())
    .bind(id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    events::append(
        tx,
        NewEvent::public(
            "consumer.pledge.withdrawn",
            json!({"id": id, "uscc": p.uscc, "withdrawn_on": on}),
        )
        .division(&p.division)
        .uscc(&p.uscc)
        .actor(caller.acting.actor.label()),
    )
    .await?;
    audit::record(
        tx,
        &caller.acting.actor,
        Change {
            action: "pledge.withdraw",
            target_kind: "return_pledge",
            target_id: id.to_string(),
            division: Some(p.division.clone()),
            before: Some(json!({"status": p.status})),
            after: Some(json!({"status": "withdrawn", "withdrawn_on": on, "reason": reason})),
        },
    )
    .await?;
    get_in(tx, id).await
}

/// A breach as an officer records it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BreachInput {
    pub complaint_number: String,
    pub summary: String,
    pub occurred_on: String,
}

/// Records a breach of pledge `id` from `complaint` (a complaint matter the officer sees,
/// read by the caller through [`input::complaint_matter`]). The complaint must be about the
/// pledged shop when it names a USCC, and the pledge must have been in force on the day.
/// The same complaint counts once per pledge (409).
pub async fn record_breach(
    tx: &mut Tx,
    caller: &Caller,
    id: i64,
    complaint: &Matter,
    input: &BreachInput,
    today: NaiveDate,
) -> Result<Pledge, AppError> {
    if !caller.is_officer() {
        return Err(AppError::forbidden());
    }
    let summary = input::text("summary", &input.summary, 5, 500, "违反承诺的情况")?;
    let occurred_on = input::date("occurred_on", &input.occurred_on, "发生日期", None)?;
    if occurred_on > today {
        return Err(AppError::bad_request(
            "occurred_on",
            "发生日期不能晚于今天 (the date cannot be in the future)",
        ));
    }
    let p = for_caller(tx, caller, id).await?;
    if let Some(u) = &complaint.uscc
        && *u != p.uscc
    {
        return Err(AppError::bad_request(
            "complaint_number",
            format!(
                "投诉 {} 针对的不是该承诺店铺 (complaint {} is about another business)",
                complaint.number, complaint.number
            ),
        ));
    }
    let ended = p.withdrawn_on.is_some_and(|w| occurred_on >= w);
    if occurred_on < p.valid_from || ended {
        return Err(AppError::bad_request(
            "occurred_on",
            "发生之日该承诺不在有效期内 (the pledge was not in force on that day)",
        ));
    }
    let seen: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM return_pledge_breaches WHERE pledge_id = $1 AND complaint_number = $2",
    )
    .bind(id)
    .bind(&complaint.number)
    .fetch_optional(&mut *c)
    .await?);
    if seen.is_some() {
        return Err(AppError::Conflict(format!(
            "投诉 {} 已记为该承诺的违诺 (complaint {} is already recorded as a breach of this pledge)",
            complaint.number, complaint.number
        )));
    }
    let at = now();
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO return_pledge_breaches (pledge_id, complaint_number, summary, occurred_on, \
         division, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(&complaint.number)
    .bind(&summary)
    .bind(occurred_on)
    .bind(&p.division)
    .bind(caller.acting.actor.label())
    .bind(at)
    .execute(&mut *c)
    .await?
    .rows_affected());
    on_tx!(tx, c => sqlx::query(
        "UPDATE return_pledges SET breaches = breaches + 1, updated_at = $1 WHERE id = $2",
    )
    .bind(at)
    .bind(id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    events::append(
        tx,
        NewEvent::public(
            "consumer.pledge.breach_recorded",
            json!({"id": id, "uscc": p.uscc, "complaint": complaint.number, "occurred_on": occurred_on, "breaches": p.breaches + 1}),
        )
        .division(&p.division)
        .uscc(&p.uscc)
        .actor(caller.acting.actor.label()),
    )
    .await?;
    audit::record(
        tx,
        &caller.acting.actor,
        Change {
            action: "pledge.breach",
            target_kind: "return_pledge",
            target_id: id.to_string(),
            division: Some(p.division.clone()),
            before: Some(json!({"breaches": p.breaches})),
            after: Some(json!({"breaches": p.breaches + 1, "complaint": complaint.number, "summary": summary, "occurred_on": occurred_on})),
        },
    )
    .await?;
    get_in(tx, id).await
}

/// One pledge (public).
pub async fn get(db: &Db, id: i64) -> Result<Pledge, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM return_pledges p WHERE p.id = $1");
    let row: Option<Pledge> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)
}

/// The breaches of a pledge, oldest first (public).
pub async fn breaches(db: &Db, id: i64) -> Result<Vec<Breach>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT id, complaint_number, summary, occurred_on, created_at FROM return_pledge_breaches \
         WHERE pledge_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(c)
    .await?))
}

/// A search of pledges: words of the shop's name, an area (division prefix), a category
/// code, whether withdrawn ones are included; a page of `limit` newest first, after the
/// keyset `before` (the previous page's last id).
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub name: String,
    pub area: Option<String>,
    pub category: Option<&'static str>,
    pub include_withdrawn: bool,
    pub before: Option<i64>,
    pub limit: i64,
}

/// A page of results and the keyset of the next page.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// Pledges matching `q` within `scope` (the public uses [`Scope::all`]).
pub async fn search(db: &Db, scope: &Scope, q: &Search) -> Result<Page<Pledge>, AppError> {
    let limit = q.limit.clamp(1, 100);
    let sql = format!(
        "SELECT {COLUMNS} FROM return_pledges p WHERE {} \
         AND ($2 = '' OR p.shop_name LIKE $2 ESCAPE '\\') \
         AND ($3 = '' OR p.division LIKE $3) \
         AND ($4 = '' OR EXISTS (SELECT 1 FROM return_pledge_categories k WHERE k.pledge_id = p.id AND k.category = $4)) \
         AND ($5 = 1 OR p.status = 'active') \
         AND ($6 = 0 OR p.id < $6) ORDER BY p.id DESC LIMIT $7",
        scope.division_filter("p.division", 1)
    );
    let name = q.name.trim();
    let name = if name.is_empty() {
        String::new()
    } else {
        like_escape(name)
    };
    let area = q.area.as_ref().map(|a| format!("{a}%")).unwrap_or_default();
    let rows: Vec<Pledge> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(scope.like_pattern())
        .bind(&name)
        .bind(&area)
        .bind(q.category.unwrap_or(""))
        .bind(i64::from(q.include_withdrawn))
        .bind(q.before.unwrap_or(0))
        .bind(limit + 1)
        .fetch_all(c)
        .await?);
    Ok(page_of(rows, limit, |p| p.id))
}

/// Cuts a fetched `limit + 1` rows to a page and its next keyset.
pub fn page_of<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(id) } else { None };
    Page { items: rows, next }
}

/// The pledges of one shop, newest first (its portal).
pub async fn of_uscc(db: &Db, uscc: &str) -> Result<Vec<Pledge>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM return_pledges p WHERE p.uscc = $1 ORDER BY p.id DESC LIMIT 50"
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(c)
        .await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_escape("百货"), "%百货%");
        assert_eq!(like_escape("a%b_c"), "%a\\%b\\_c%");
    }

    #[test]
    fn pages_cut_and_point_to_the_next() {
        let p = page_of(vec![5, 4, 3], 2, |x| *x);
        assert_eq!((p.items, p.next), (vec![5, 4], Some(4)));
        let p = page_of(vec![5, 4], 2, |x| *x);
        assert_eq!(p.next, None);
    }
}
