//! False-address risk (虚假住所风险): for each address, how many entities are registered
//! there, since when, and how many of them are suspended, revoked or deregistered.
//!
//! The address service never reads the registry's tables. The registry's entities reach it
//! through this API: [`record_registration`] for one entity (the server's event-log consumer
//! calls it for every registration or change), and [`Rebuild`] / [`rebuild_from`] for all of
//! them (`amr address risk rebuild`, the demo). The key of an address is the library's
//! matching key (`city|road|number|building`) when the address has a road and number, else its
//! county and normalized form, so an address counts the same whether or not it is in the
//! library.
//!
//! An address with more entities than the threshold ([`threshold`], default
//! [`DEFAULT_THRESHOLD`], stored in `address_settings`) goes to the officers' review queue
//! unless it is a declared cluster-registration address (集群注册). An officer marks it
//! reviewed or cleared, with a note; it comes back when more entities register there.
//!
//! The abnormal-operations list (经营异常名录) feeds `abnormal`: the registry tells, with each
//! registration, whether the entity has a listing in force (the server's follower re-records
//! an entity on every listing, removal and transfer), and each address counts its entities on
//! the list (`abnormal_count`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use amr_kernel::audit::{self, Actor, Change};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::{on_conn, on_tx};

use crate::library::key_of;
use crate::parse::{ParsedAddress, parse};

/// The durable name of the server's event-log consumer that feeds this module.
pub const CONSUMER: &str = "address.risk";

/// Entities at one address above which it goes to review.
pub const DEFAULT_THRESHOLD: i64 = 10;

/// Whether the abnormal-operations list (经营异常名录) feeds `abnormal`. It does: the server's
/// follower records each entity's listing state ([`Registration::abnormal`]); the pages show
/// the counts (and said "not connected" while it did not).
pub const ABNORMAL_LIST_CONNECTED: bool = true;

/// Statuses counted as inactive (the registry's keys).
pub const INACTIVE: &[&str] = &["suspended", "revoked", "deregistered"];

/// One registered entity as the registry tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub uscc: String,
    pub address: String,
    /// The entity's county or town code.
    pub division: String,
    pub registered_on: NaiveDate,
    /// The registry's status key (`active`, `suspended`, `revoked`, `deregistered`, ...).
    pub status: String,
    /// Whether the entity has a listing in force on the abnormal-operations list.
    pub abnormal: bool,
}

/// The risk key of an address, the city it is in and the label shown for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskKey {
    pub key: String,
    pub city: String,
    pub label: String,
}

/// The risk key of a parsed address (see the module docs).
pub fn risk_key(p: &ParsedAddress, division: Option<&str>) -> RiskKey {
    let city = p
        .city_code
        .as_deref()
        .map(str::to_string)
        .or_else(|| {
            division
                .filter(|d| d.len() >= 4)
                .map(|d| d[..4].to_string())
        })
        .unwrap_or_default();
    if let Some(k) = key_of(p) {
        let label = match (p.county.as_deref(), k.building.as_deref()) {
            (Some(c), b) => format!("{c}{}{}{}", k.road, k.road_no, b.unwrap_or("")),
            (None, b) => format!("{}{}{}", k.road, k.road_no, b.unwrap_or("")),
        };
        return RiskKey {
            key: k.key,
            city,
            label,
        };
    }
    let county = p
        .county_code
        .as_deref()
        .or(division)
        .unwrap_or("")
        .to_string();
    let label = p
        .normalized
        .clone()
        .unwrap_or_else(|| p.input.trim().to_string());
    RiskKey {
        key: format!("{county}|{label}"),
        city,
        label,
    }
}

fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// The review threshold in force.
pub async fn threshold(db: &Db) -> Result<i64, AppError> {
    let v: Option<String> = on_conn!(db, c => sqlx::query_scalar(
        "SELECT value FROM address_settings WHERE name = 'risk_threshold'"
    )
    .fetch_optional(c)
    .await?);
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_THRESHOLD))
}

async fn threshold_in(tx: &mut Tx) -> Result<i64, AppError> {
    let v: Option<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT value FROM address_settings WHERE name = 'risk_threshold'"
    )
    .fetch_optional(&mut *c)
    .await?);
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_THRESHOLD))
}

/// Sets the review threshold (1–100000), audited; addresses are re-queued by the new value.
pub async fn set_threshold(tx: &mut Tx, actor: &Actor, value: i64) -> Result<(), AppError> {
    if !(1..=100_000).contains(&value) {
        return Err(AppError::bad_request(
            "threshold",
            "阈值应为 1 到 100000 之间的整数 (the threshold is an integer from 1 to 100000)",
        ));
    }
    let before = threshold_in(tx).await?;
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO address_settings (name, value, updated_at) VALUES ('risk_threshold', $1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(value.to_string())
    .bind(now())
    .execute(&mut *c)
    .await?.rows_affected());
    requeue(tx, None).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "address.risk.threshold",
            target_kind: "address_settings",
            target_id: "risk_threshold".into(),
            division: None,
            before: Some(serde_json::json!({ "threshold": before })),
            after: Some(serde_json::json!({ "threshold": value })),
        },
    )
    .await?;
    Ok(())
}

/// Records (or updates) one entity at its address and refreshes the counts of the address it
/// left and the one it is at now. Idempotent: recording the same facts twice changes nothing.
pub async fn record_registration(tx: &mut Tx, r: &Registration) -> Result<RiskKey, AppError> {
    let p = parse(&r.address, Some(&r.division));
    let k = risk_key(&p, Some(&r.division));
    let old: Option<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT risk_key FROM address_risk_entities WHERE uscc = $1"
    )
    .bind(&r.uscc)
    .fetch_optional(&mut *c)
    .await?);
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO address_risk_entities (uscc, risk_key, city, address, division, registered_on, status, updated_at, abnormal) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (uscc) DO UPDATE SET risk_key = excluded.risk_key, city = excluded.city, \
         address = excluded.address, division = excluded.division, registered_on = excluded.registered_on, \
         status = excluded.status, updated_at = excluded.updated_at, abnormal = excluded.abnormal",
    )
    .bind(&r.uscc)
    .bind(&k.key)
    .bind(&k.city)
    .bind(&k.label)
    .bind(&r.division)
    .bind(r.registered_on)
    .bind(&r.status)
    .bind(now())
    .bind(r.abnormal)
    .execute(&mut *c)
    .await?.rows_affected());
    if let Some(old) = old.filter(|o| *o != k.key) {
        refresh(tx, Some(&old)).await?;
    }
    refresh(tx, Some(&k.key)).await?;
    Ok(k)
}

/// Recounts the addresses (one key, or all) from the entity rows, then re-queues them.
async fn refresh(tx: &mut Tx, key: Option<&str>) -> Result<(), AppError> {
    let filter = if key.is_some() {
        "risk_key = $1"
    } else {
        "$1 = ''"
    };
    let zero = format!(
        "UPDATE address_risk SET entity_count = 0, inactive_count = 0, abnormal_count = 0, \
         first_registered = NULL, last_registered = NULL WHERE {filter}"
    );
    let upsert = format!(
        "INSERT INTO address_risk (risk_key, city, division, address, entity_count, first_registered, \
         last_registered, inactive_count, abnormal_count) \
         SELECT risk_key, min(city), min(division), min(address), count(*), min(registered_on), max(registered_on), \
         count(CASE WHEN status IN ('suspended', 'revoked', 'deregistered') THEN 1 END), \
         count(CASE WHEN abnormal THEN 1 END) \
         FROM address_risk_entities WHERE {filter} GROUP BY risk_key \
         ON CONFLICT (risk_key) DO UPDATE SET entity_count = excluded.entity_count, \
         first_registered = excluded.first_registered, last_registered = excluded.last_registered, \
         inactive_count = excluded.inactive_count, abnormal_count = excluded.abnormal_count"
    );
    let k = key.unwrap_or("");
    on_tx!(tx, c => {
        sqlx::query(sqlx::AssertSqlSafe(zero)).bind(k).execute(&mut *c).await?;
        sqlx::query(sqlx::AssertSqlSafe(upsert)).bind(k).execute(&mut *c).await?;
    });
    requeue(tx, key).await
}

/// Puts addresses over the threshold (not clusters, not reviewed at this count or more) into
/// the review queue, and takes those back under it out of the queue.
async fn requeue(tx: &mut Tx, key: Option<&str>) -> Result<(), AppError> {
    let t = threshold_in(tx).await?;
    let filter = if key.is_some() {
        "risk_key = $2"
    } else {
        "$2 = ''"
    };
    let up = format!(
        "UPDATE address_risk SET review_state = 'pending' WHERE {filter} AND entity_count > $1 \
         AND NOT cluster AND (review_state = 'none' OR (review_state IN ('reviewed', 'cleared') \
         AND entity_count > reviewed_count))"
    );
    let down = format!(
        "UPDATE address_risk SET review_state = 'none' WHERE {filter} AND review_state = 'pending' \
         AND (entity_count <= $1 OR cluster)"
    );
    let k = key.unwrap_or("");
    on_tx!(tx, c => {
        sqlx::query(sqlx::AssertSqlSafe(up)).bind(t).bind(k).execute(&mut *c).await?;
        sqlx::query(sqlx::AssertSqlSafe(down)).bind(t).bind(k).execute(&mut *c).await?;
    });
    Ok(())
}

/// A full rebuild in steps: [`Rebuild::begin`] forgets every entity row (declarations and
/// reviews stay), [`Rebuild::add`] records a batch, [`Rebuild::finish`] recounts every
/// address and sets the consumer's cursor to the event-log head read at the start.
#[derive(Debug)]
pub struct Rebuild {
    head: i64,
    pub added: u64,
}

/// Rows per multi-row INSERT.
const INSERT_ROWS: usize = 40;

impl Rebuild {
    pub async fn begin(db: &Db) -> Result<Rebuild, AppError> {
        let head = amr_kernel::events::head(db).await?;
        let mut tx = db.begin().await?;
        on_tx!(tx, c => sqlx::query("DELETE FROM address_risk_entities")
            .execute(&mut *c)
            .await?
            .rows_affected());
        tx.commit().await?;
        Ok(Rebuild { head, added: 0 })
    }

    /// Records a batch (in one transaction).
    pub async fn add(&mut self, db: &Db, batch: &[Registration]) -> Result<(), AppError> {
        let rows: Vec<(RiskKey, &Registration)> = batch
            .iter()
            .map(|r| {
                (
                    risk_key(&parse(&r.address, Some(&r.division)), Some(&r.division)),
                    r,
                )
            })
            .collect();
        let at = now();
        let mut tx = db.begin().await?;
        for chunk in rows.chunks(INSERT_ROWS) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 9;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7,
                        b + 8,
                        b + 9
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO address_risk_entities (uscc, risk_key, city, address, division, registered_on, status, updated_at, abnormal) \
                 VALUES {} ON CONFLICT (uscc) DO UPDATE SET risk_key = excluded.risk_key, city = excluded.city, \
                 address = excluded.address, division = excluded.division, registered_on = excluded.registered_on, \
                 status = excluded.status, updated_at = excluded.updated_at, abnormal = excluded.abnormal",
                values.join(", ")
            );
            on_tx!(tx, c => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, r) in chunk {
                    q = q
                        .bind(&r.uscc)
                        .bind(&k.key)
                        .bind(&k.city)
                        .bind(&k.label)
                        .bind(&r.division)
                        .bind(r.registered_on)
                        .bind(&r.status)
                        .bind(at)
                        .bind(r.abnormal);
                }
                q.execute(&mut *c).await?;
            });
        }
        tx.commit().await?;
        self.added += batch.len() as u64;
        Ok(())
    }

    /// Recounts every address and moves the consumer's cursor past what was rebuilt.
    pub async fn finish(self, db: &Db) -> Result<u64, AppError> {
        let mut tx = db.begin().await?;
        refresh(&mut tx, None).await?;
        amr_kernel::events::runner::set_cursor(&mut tx, CONSUMER, self.head).await?;
        tx.commit().await?;
        Ok(self.added)
    }
}

/// Rebuilds from every registration `all` yields (in batches of 5,000).
pub async fn rebuild_from(
    db: &Db,
    all: impl IntoIterator<Item = Registration>,
) -> Result<u64, AppError> {
    let mut rb = Rebuild::begin(db).await?;
    let mut batch = Vec::with_capacity(5000);
    for r in all {
        batch.push(r);
        if batch.len() == 5000 {
            rb.add(db, &batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        rb.add(db, &batch).await?;
    }
    rb.finish(db).await
}

/// The counts of one address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, sqlx::FromRow)]
pub struct AddressRisk {
    pub risk_key: String,
    pub city: String,
    pub division: String,
    pub address: String,
    pub entity_count: i64,
    pub first_registered: Option<NaiveDate>,
    pub last_registered: Option<NaiveDate>,
    pub inactive_count: i64,
    pub abnormal_count: i64,
    pub cluster: bool,
    pub cluster_note: Option<String>,
    /// `none`, `pending` (in the review queue), `reviewed` or `cleared`.
    pub review_state: String,
    pub reviewed_count: i64,
    pub review_note: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "risk_key, city, division, address, entity_count, first_registered, \
     last_registered, inactive_count, abnormal_count, cluster, cluster_note, review_state, \
     reviewed_count, review_note, reviewed_by, reviewed_at";

/// The counts of the address with `key`, if any entity is or was registered there.
pub async fn get(db: &Db, key: &str) -> Result<Option<AddressRisk>, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM address_risk WHERE risk_key = $1");
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(c)
        .await?))
}

/// The riskiest addresses of a city within the scope: most entities first.
pub async fn riskiest(
    db: &Db,
    scope: &Scope,
    city: &str,
    limit: i64,
) -> Result<Vec<AddressRisk>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM address_risk WHERE city = $1 AND entity_count > 0 AND {} \
         ORDER BY entity_count DESC, inactive_count DESC, risk_key LIMIT $3",
        scope.division_filter("division", 2)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(city)
        .bind(scope.like_pattern())
        .bind(limit)
        .fetch_all(c)
        .await?))
}

/// The review queue within the scope (and city, when given).
pub async fn queue(
    db: &Db,
    scope: &Scope,
    city: Option<&str>,
    limit: i64,
) -> Result<Vec<AddressRisk>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM address_risk WHERE review_state = 'pending' AND ($1 = '' OR city = $1) \
         AND {} ORDER BY entity_count DESC, risk_key LIMIT $3",
        scope.division_filter("division", 2)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(city.unwrap_or(""))
        .bind(scope.like_pattern())
        .bind(limit)
        .fetch_all(c)
        .await?))
}

/// How many entities are recorded in a city (for the page's header).
pub async fn city_totals(db: &Db, city: &str) -> Result<(i64, i64), AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT count(*), count(DISTINCT risk_key) FROM address_risk_entities WHERE city = $1"
    )
    .bind(city)
    .fetch_one(c)
    .await?))
}

async fn get_in(tx: &mut Tx, key: &str) -> Result<AddressRisk, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM address_risk WHERE risk_key = $1");
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_one(&mut *c)
        .await?))
}

fn json(r: &AddressRisk) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(r).map_err(|e| AppError::Internal(e.into()))
}

fn note_of(note: &str, required: bool) -> Result<String, AppError> {
    let note = note.trim();
    if (required && note.is_empty()) || note.chars().count() > 500 {
        return Err(AppError::bad_request(
            "note",
            "请填写说明（不超过 500 字）(give a note, at most 500 characters)",
        ));
    }
    Ok(note.to_string())
}

/// An officer's decision on an address in the queue: `reviewed` (looked at, stays watched)
/// or `cleared` (explained), with a note; audited. 404 outside the scope; 409 when it is not
/// in the queue.
pub async fn review(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    key: &str,
    decision: &str,
    note: &str,
) -> Result<AddressRisk, AppError> {
    let decision = match decision.trim() {
        d @ ("reviewed" | "cleared") => d,
        _ => {
            return Err(AppError::bad_request(
                "decision",
                "处理结果应为 reviewed（已核查）或 cleared（已排除）(the decision is reviewed or cleared)",
            ));
        }
    };
    let note = note_of(note, true)?;
    let before = get_in(tx, key).await?;
    if !scope.contains(Some(&before.division)) {
        return Err(AppError::NotFound);
    }
    if before.review_state != "pending" {
        return Err(AppError::Conflict(
            "该地址不在待核查队列中 (this address is not in the review queue)".into(),
        ));
    }
    on_tx!(tx, c => sqlx::query(
        "UPDATE address_risk SET review_state = $1, reviewed_count = entity_count, review_note = $2, \
         reviewed_by = $3, reviewed_at = $4 WHERE risk_key = $5",
    )
    .bind(decision)
    .bind(&note)
    .bind(&actor.name)
    .bind(now())
    .bind(key)
    .execute(&mut *c)
    .await?.rows_affected());
    let after = get_in(tx, key).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "address.risk.review",
            target_kind: "address_risk",
            target_id: key.to_string(),
            division: Some(after.division.clone()),
            before: Some(json(&before)?),
            after: Some(json(&after)?),
        },
    )
    .await?;
    Ok(after)
}

/// Declares (or withdraws) an address as a cluster-registration address (集群注册): exempt
/// from the review queue. Audited; 404 outside the scope.
pub async fn declare_cluster(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    key: &str,
    cluster: bool,
    note: &str,
) -> Result<AddressRisk, AppError> {
    let note = note_of(note, cluster)?;
    let before = get_in(tx, key).await?;
    if !scope.contains(Some(&before.division)) {
        return Err(AppError::NotFound);
    }
    on_tx!(tx, c => sqlx::query(
        "UPDATE address_risk SET cluster = $1, cluster_note = $2 WHERE risk_key = $3",
    )
    .bind(cluster)
    .bind((!note.is_empty()).then_some(note.as_str()))
    .bind(key)
    .execute(&mut *c)
    .await?.rows_affected());
    requeue(tx, Some(key)).await?;
    let after = get_in(tx, key).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: if cluster {
                "address.risk.cluster"
            } else {
                "address.risk.uncluster"
            },
            target_kind: "address_risk",
            target_id: key.to_string(),
            division: Some(after.division.clone()),
            before: Some(json(&before)?),
            after: Some(json(&after)?),
        },
    )
    .await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_library_key_or_the_normalized_address() {
        let k = risk_key(&parse("历下区泉城路180号齐鲁国际大厦10楼", None), None);
        assert_eq!(k.key, "3701|泉城路|180号|齐鲁国际大厦");
        assert_eq!(k.city, "3701");
        let k = risk_key(&parse("历下区某某村", Some("370102")), Some("370102"));
        assert!(k.key.starts_with("370102|"), "{k:?}");
    }
}
