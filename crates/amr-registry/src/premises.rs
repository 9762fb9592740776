//! One licence, several premises (一照多址): an entity records extra business premises by
//! filing (备案), without a branch licence, anywhere in the prefecture city of its domicile.
//! An address in another city is refused and pointed to branch registration (分支机构登记).
//!
//! The address is parsed with [`amr_address::parse`] (the entity's city as the hint, so a
//! county or road named without its city is read in that city); it must name its county. The
//! premises' own county or town code is kept in `division`.
//!
//! Events (public): `registry.entity.premises_added` `{uscc, id, address, division, city}` and
//! `registry.entity.premises_closed` `{uscc, id, on}`. The server's address-risk follower
//! counts open premises at their addresses like domiciles (`crates/amr-server/src/address_wiring.rs`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use crate::lifecycle::rules;
use crate::lifecycle::suspension::store_now;
use crate::model::{Entity, Status};
use crate::store;

/// Recorded premises.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Premises {
    pub id: i64,
    pub uscc: String,
    /// The premises' county (6 digits) or town (9 digits) code.
    pub division: String,
    /// Its prefecture city (4 digits), the same as the domicile's.
    pub city: String,
    pub address: String,
    /// The address in today's division names, as the parser rebuilt it.
    pub normalized: String,
    pub opened_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    pub filed_at: DateTime<Utc>,
    pub filed_by: String,
}

const COLUMNS: &str =
    "id, uscc, division, city, address, normalized, opened_on, closed_on, filed_at, filed_by";

/// The filing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PremisesInput {
    pub address: String,
}

/// The premises of an entity, open ones first, then by id.
pub async fn list(db: &Db, uscc: &str) -> Result<Vec<Premises>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM entity_premises WHERE uscc = $1 \
         ORDER BY CASE WHEN closed_on IS NULL THEN 0 ELSE 1 END, id"
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(c)
        .await?))
}

/// Every premises (open and closed) of the entities `usccs`, 500 codes a query, for the
/// address follower.
pub async fn list_for(db: &Db, usccs: &[&str]) -> Result<Vec<Premises>, AppError> {
    let mut out = Vec::new();
    for chunk in usccs.chunks(500) {
        let list = (1..=chunk.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql =
            format!("SELECT {COLUMNS} FROM entity_premises WHERE uscc IN ({list}) ORDER BY id");
        let rows: Vec<Premises> = on_conn!(db, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(*u);
            }
            q.fetch_all(c).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// Every premises with an id above `after`, `limit` at a time, for rebuilding counts.
pub async fn page_all(db: &Db, after: i64, limit: i64) -> Result<Vec<Premises>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM entity_premises WHERE id > $1 ORDER BY id LIMIT $2");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(limit)
        .fetch_all(c)
        .await?))
}

async fn open_in(tx: &mut Tx, uscc: &str) -> Result<Vec<Premises>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM entity_premises WHERE uscc = $1 AND closed_on IS NULL ORDER BY id"
    );
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .fetch_all(&mut *c)
        .await?))
}

/// At most this many open premises per entity (a guard against runaway filings).
pub const MAX_OPEN: usize = 200;

/// Records extra premises for an entity within `scope`.
pub async fn add(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    input: &PremisesInput,
    today: NaiveDate,
) -> Result<Premises, AppError> {
    let address = rules::text_field("address", &input.address, 200, true, true)?;
    let e = store::lock_scoped(tx, scope, uscc).await?;
    check_status(&e)?;
    let home_city = e.division.get(..4).unwrap_or("").to_string();
    let p = amr_address::parse(&address, Some(&home_city));
    let (Some(county), Some(city)) = (p.county_code.as_deref(), p.city_code.as_deref()) else {
        return Err(AppError::bad_request(
            "address",
            "无法识别经营场所所在的区县，请写明区县 \
             (the county of the premises could not be read; name it in the address)",
        ));
    };
    if city != home_city {
        let name = p.city.as_deref().unwrap_or(city);
        return Err(AppError::rejected(format!(
            "经营场所位于{name}，与住所不在同一设区的市，不适用一照多址，请办理分支机构登记 \
             (the premises are in another prefecture city than the domicile; one licence \
             covers premises in the same city only: register a branch, 分支机构登记)"
        )));
    }
    let division = p.town_code.as_deref().unwrap_or(county).to_string();
    let normalized = p.normalized.clone().unwrap_or_else(|| address.clone());
    let open = open_in(tx, &e.uscc).await?;
    let home = amr_address::parse(&e.address, Some(&e.division));
    if home.normalized.as_deref() == Some(normalized.as_str())
        || open.iter().any(|o| o.normalized == normalized)
    {
        return Err(AppError::rejected(
            "该地址已是本主体的住所或已备案的经营场所 \
             (this address is already the domicile or recorded premises of the entity)",
        ));
    }
    if open.len() >= MAX_OPEN {
        return Err(AppError::rejected(format!(
            "经营场所已达 {MAX_OPEN} 处上限 (at most {MAX_OPEN} premises per entity)"
        )));
    }
    let now = store_now();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO entity_premises (uscc, division, city, address, normalized, opened_on, filed_at, filed_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&e.uscc)
    .bind(&division)
    .bind(&home_city)
    .bind(&address)
    .bind(&normalized)
    .bind(today)
    .bind(now)
    .bind(actor.label())
    .fetch_one(&mut *c)
    .await?);
    events::append(
        tx,
        NewEvent::public(
            "registry.entity.premises_added",
            json!({"uscc": e.uscc, "id": id, "address": address, "division": division,
                   "city": home_city}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    let out = Premises {
        id,
        uscc: e.uscc.clone(),
        division,
        city: home_city,
        address,
        normalized,
        opened_on: today,
        closed_on: None,
        filed_at: now,
        filed_by: actor.label(),
    };
    audit_entry(tx, actor, &e, "entity.premises_add", None, Some(json!(out))).await?;
    Ok(out)
}

fn check_status(e: &Entity) -> Result<(), AppError> {
    match e.status {
        Status::Active | Status::Suspended => Ok(()),
        s => Err(AppError::rejected(format!(
            "主体状态为「{}」，不能备案经营场所 (the entity is {}; it cannot record premises)",
            s.name_zh(),
            s.name_en()
        ))),
    }
}

/// Closes recorded premises (the entity no longer operates there).
pub async fn close(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    id: i64,
    today: NaiveDate,
) -> Result<Premises, AppError> {
    let e = store::lock_scoped(tx, scope, uscc).await?;
    let p = open_in(tx, &e.uscc)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(AppError::NotFound)?;
    on_tx!(tx, c => sqlx::query("UPDATE entity_premises SET closed_on = $2 WHERE id = $1")
        .bind(id)
        .bind(today)
        .execute(&mut *c)
        .await?
        .rows_affected());
    events::append(
        tx,
        NewEvent::public(
            "registry.entity.premises_closed",
            json!({"uscc": e.uscc, "id": id, "on": today}),
        )
        .uscc(&e.uscc)
        .division(&e.division)
        .actor(actor.label()),
    )
    .await?;
    audit_entry(
        tx,
        actor,
        &e,
        "entity.premises_close",
        Some(json!({"id": id, "address": p.address})),
        Some(json!({"id": id, "closed_on": today})),
    )
    .await?;
    Ok(Premises {
        closed_on: Some(today),
        ..p
    })
}

/// Closes every open premises of a deregistered entity (the deregistration's event says it).
pub(crate) async fn close_all(tx: &mut Tx, uscc: &str, on: NaiveDate) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE entity_premises SET closed_on = $2 WHERE uscc = $1 AND closed_on IS NULL",
    )
    .bind(uscc)
    .bind(on)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

async fn audit_entry(
    tx: &mut Tx,
    actor: &Actor,
    e: &Entity,
    action: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    audit::record(
        tx,
        actor,
        audit::Change {
            action,
            target_kind: "entity",
            target_id: e.uscc.clone(),
            division: Some(e.division.clone()),
            before,
            after,
        },
    )
    .await?;
    Ok(())
}
