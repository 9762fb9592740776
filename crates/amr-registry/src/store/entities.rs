//! One entity: register, read, change, history.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx, TxInner};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::{COLUMNS, EntityRow};
use crate::model::{Entity, NewEntity, OfficerEntity, PublicEntity, Status, field_errors_to_app};

/// Registers one entity: validates it, inserts it, and writes the public event
/// `registry.entity.registered` (payload: the [`PublicEntity`]) and the audit entry
/// `entity.register` (after: the officer view without ID number and phone), all in `tx`.
/// A USCC already registered is [`AppError::Conflict`].
pub async fn create(tx: &mut Tx, actor: &Actor, e: &NewEntity) -> Result<Entity, AppError> {
    e.validate().map_err(|errs| field_errors_to_app(&errs))?;
    let now = super::now();
    let inserted = on_tx!(tx, c => sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO entities ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
         ON CONFLICT (uscc) DO NOTHING"
    )))
    .bind(&e.uscc)
    .bind(&e.name)
    .bind(e.entity_type.as_str())
    .bind(&e.legal_rep)
    .bind(&e.legal_rep_id)
    .bind(&e.phone)
    .bind(e.capital_yuan)
    .bind(e.established)
    .bind(&e.address)
    .bind(&e.division)
    .bind(&e.scope)
    .bind(&e.industry)
    .bind(e.status.as_str())
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if inserted == 0 {
        return Err(AppError::Conflict(format!(
            "统一社会信用代码 {} 已登记 (an entity with the code {} is already registered)",
            e.uscc, e.uscc
        )));
    }
    let entity = Entity::from_new(e.clone(), now, now);
    let public = serde_json::to_value(PublicEntity::from(&entity))
        .map_err(|e| AppError::Internal(e.into()))?;
    events::append(
        tx,
        NewEvent::public("registry.entity.registered", public)
            .uscc(&entity.uscc)
            .division(&entity.division)
            .actor(actor.label()),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "entity.register",
            target_kind: "entity",
            target_id: entity.uscc.clone(),
            division: Some(entity.division.clone()),
            before: None,
            after: Some(audit_view(&entity)),
        },
    )
    .await?;
    Ok(entity)
}

/// The officer view without the personal fields (ID number, phone), as the audit log keeps it.
fn audit_view(e: &Entity) -> Value {
    let mut v = serde_json::to_value(OfficerEntity::from(e)).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("legal_rep_id");
        o.remove("phone");
    }
    v
}

/// An entity by its USCC, for the public record ([`AppError::NotFound`] if unknown). The
/// caller shows it only as a [`PublicEntity`].
pub async fn get_public(db: &Db, uscc: &str) -> Result<Entity, AppError> {
    // The public lookup is the hottest query: its text is built once.
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {COLUMNS} FROM entities WHERE uscc = $1"));
    let row: Option<EntityRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(uscc.trim().to_ascii_uppercase())
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

/// An entity within the officer's jurisdiction; [`AppError::NotFound`] if unknown or outside.
pub async fn get_scoped(db: &Db, scope: &Scope, uscc: &str) -> Result<Entity, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM entities WHERE uscc = $1 AND {}",
        scope.division_filter("division", 2)
    );
    let row: Option<EntityRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc.trim().to_ascii_uppercase())
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

/// USCCs per query in [`get_many`]: with the scope's pattern, at most 500 parameters.
pub(crate) const MANY_CHUNK: usize = 499;

/// The entities within the officer's jurisdiction among `usccs`, by USCC; unknown ones and
/// those outside the jurisdiction are left out (no [`AppError::NotFound`]), repeats are read
/// once. Reads in chunks of [`MANY_CHUNK`] USCCs, one query each.
pub async fn get_many(db: &Db, scope: &Scope, usccs: &[&str]) -> Result<Vec<Entity>, AppError> {
    let mut keys: Vec<String> = usccs
        .iter()
        .map(|u| u.trim().to_ascii_uppercase())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(MANY_CHUNK) {
        let list = (1..=chunk.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {COLUMNS} FROM entities WHERE uscc IN ({list}) AND {} ORDER BY uscc",
            scope.division_filter("division", chunk.len() + 1)
        );
        let rows: Vec<EntityRow> = on_conn!(db, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(u.as_str());
            }
            q.bind(scope.like_pattern()).fetch_all(c).await?
        });
        for row in rows {
            out.push(row.try_into()?);
        }
    }
    Ok(out)
}

/// A change to the registered fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityChange {
    pub name: Option<String>,
    pub address: Option<String>,
    pub division: Option<String>,
    pub scope: Option<String>,
    pub legal_rep: Option<String>,
    /// The legal representative's ID number: kept, never published; its history row says
    /// that it changed without either value.
    pub legal_rep_id: Option<String>,
    pub capital_yuan: Option<i64>,
    pub status: Option<Status>,
    pub industry: Option<String>,
}

/// One changed field of one change, as `entity_changes` keeps it (values as text: capital in
/// yuan, status as its key).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct EntityChangeRow {
    pub id: i64,
    pub uscc: String,
    /// The timepoint of the change's `registry.entity.changed` event.
    pub timepoint: i64,
    pub changed_at: DateTime<Utc>,
    pub field: String,
    pub before_value: Option<String>,
    pub after_value: Option<String>,
    /// Who made the change: the actor's label (`account:12`, `system`); `None` for changes
    /// recorded before the actor was kept.
    pub actor: Option<String>,
    /// The actor's name (the account's user name).
    pub actor_name: Option<String>,
    /// The change application the change came from (see [`crate::change`]), if any.
    pub application_id: Option<i64>,
}

/// A changed field: name, stored text before/after, JSON before/after.
struct Diff {
    field: &'static str,
    before: Option<String>,
    after: Option<String>,
    before_json: Value,
    after_json: Value,
}

fn diffs(old: &Entity, new: &NewEntity) -> Vec<Diff> {
    let mut out = Vec::new();
    let mut text = |field: &'static str, a: &str, b: &str| {
        if a != b {
            out.push(Diff {
                field,
                before: Some(a.to_string()),
                after: Some(b.to_string()),
                before_json: json!(a),
                after_json: json!(b),
            });
        }
    };
    text("name", &old.name, &new.name);
    text("legal_rep", &old.legal_rep, &new.legal_rep);
    text("address", &old.address, &new.address);
    text("division", &old.division, &new.division);
    text("scope", &old.scope, &new.scope);
    text("industry", &old.industry, &new.industry);
    text("status", old.status.as_str(), new.status.as_str());
    if old.capital_yuan != new.capital_yuan {
        out.push(Diff {
            field: "capital_yuan",
            before: old.capital_yuan.map(|c| c.to_string()),
            after: new.capital_yuan.map(|c| c.to_string()),
            before_json: json!(old.capital_yuan),
            after_json: json!(new.capital_yuan),
        });
    }
    out
}

/// An entity within the scope, read in `tx` and locked until commit (on PostgreSQL the row is
/// locked `FOR UPDATE`; on SQLite the write transaction, `BEGIN IMMEDIATE`, already excludes
/// other writers); [`AppError::NotFound`] if unknown or outside the scope.
pub async fn lock_scoped(tx: &mut Tx, scope: &Scope, uscc: &str) -> Result<Entity, AppError> {
    let lock = match tx.inner {
        TxInner::Postgres(_) => " FOR UPDATE",
        TxInner::Sqlite(_) => "",
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM entities WHERE uscc = $1 AND {}{lock}",
        scope.division_filter("division", 2)
    );
    let row: Option<EntityRow> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc.trim().to_ascii_uppercase())
        .bind(scope.like_pattern())
        .fetch_optional(&mut *c)
        .await?);
    row.ok_or(AppError::NotFound)?.try_into()
}

/// Writes one history row: `field` of `uscc` went from `before` to `after` in the change
/// whose event has `timepoint`, by `actor`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_change_row(
    tx: &mut Tx,
    actor: &Actor,
    uscc: &str,
    timepoint: i64,
    at: DateTime<Utc>,
    field: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO entity_changes (uscc, timepoint, changed_at, field, before_value, after_value, actor, actor_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uscc)
    .bind(timepoint)
    .bind(at)
    .bind(field)
    .bind(before)
    .bind(after)
    .bind(actor.label())
    .bind(&actor.name)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// Changes an entity within the officer's jurisdiction ([`AppError::NotFound`] outside it).
/// The new values are validated; a new division must stay within the jurisdiction. Writes one
/// `entity_changes` row per changed field, the public event `registry.entity.changed`
/// (`{uscc, fields: [{field, before, after}]}`, an individual business's operator masked) and
/// the audit entry `entity.change` with before and after. A change that changes nothing is
/// rejected ("没有变更") and writes nothing.
pub async fn change(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    ch: &EntityChange,
) -> Result<Entity, AppError> {
    Ok(change_from(tx, actor, scope, uscc, ch, None).await?.0)
}

/// [`change`], as the outcome of the change application `application` when given (its id is
/// kept on every history row). Returns the entity as changed and the timepoint of its
/// `registry.entity.changed` event.
pub async fn change_from(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    uscc: &str,
    ch: &EntityChange,
    application: Option<i64>,
) -> Result<(Entity, i64), AppError> {
    let old = lock_scoped(tx, scope, uscc).await?;

    let mut new = old.to_new();
    let set = |slot: &mut String, v: &Option<String>| {
        if let Some(v) = v {
            *slot = v.trim().to_string();
        }
    };
    set(&mut new.name, &ch.name);
    set(&mut new.address, &ch.address);
    set(&mut new.division, &ch.division);
    set(&mut new.scope, &ch.scope);
    set(&mut new.legal_rep, &ch.legal_rep);
    set(&mut new.industry, &ch.industry);
    if let Some(c) = ch.capital_yuan {
        new.capital_yuan = Some(c);
    }
    if let Some(s) = ch.status {
        new.status = s;
    }
    let mut diffs = diffs(&old, &new);
    if let Some(id) = &ch.legal_rep_id {
        let id = id.trim().to_ascii_uppercase();
        if old.legal_rep_id.as_deref() != Some(id.as_str()) {
            new.legal_rep_id = Some(id);
            // The number itself stays out of the history and the public event.
            diffs.push(Diff {
                field: "legal_rep_id",
                before: None,
                after: None,
                before_json: Value::Null,
                after_json: Value::Null,
            });
        }
    }
    if diffs.is_empty() {
        return Err(AppError::rejected(
            "没有变更：新值与登记内容相同 (nothing to change: the new values equal the record)",
        ));
    }
    // Only the changed fields are judged: a rule added after an entity was registered does not
    // block changes to its other fields.
    if let Err(errs) = new.validate() {
        let errs: Vec<_> = errs
            .into_iter()
            .filter(|e| diffs.iter().any(|d| d.field == e.field))
            .collect();
        if !errs.is_empty() {
            return Err(field_errors_to_app(&errs));
        }
    }
    if !scope.contains(Some(&new.division)) {
        return Err(AppError::rejected(format!(
            "新住所区划 {} 不在您的辖区内，应由迁入地办理迁移 \
             (the new division is outside your jurisdiction; a move is handled by the receiving registry)",
            new.division
        )));
    }

    let now = super::now();
    let public_rep = |v: &Value| match v.as_str() {
        Some(s) => json!(PublicEntity::public_legal_rep(old.entity_type, s)),
        None => v.clone(),
    };
    let fields: Vec<Value> = diffs
        .iter()
        .map(|d| {
            let (b, a) = if d.field == "legal_rep" {
                (public_rep(&d.before_json), public_rep(&d.after_json))
            } else {
                (d.before_json.clone(), d.after_json.clone())
            };
            json!({"field": d.field, "before": b, "after": a})
        })
        .collect();
    let timepoint = events::append(
        tx,
        NewEvent::public(
            "registry.entity.changed",
            json!({"uscc": old.uscc, "fields": fields}),
        )
        .uscc(&old.uscc)
        .division(&new.division)
        .actor(actor.label()),
    )
    .await?;
    for d in &diffs {
        write_change_row(
            tx,
            actor,
            &old.uscc,
            timepoint,
            now,
            d.field,
            d.before.as_deref(),
            d.after.as_deref(),
        )
        .await?;
    }
    on_tx!(tx, c => sqlx::query(
        "UPDATE entities SET name = $2, legal_rep = $3, capital_yuan = $4, address = $5, \
         division = $6, scope = $7, industry = $8, status = $9, updated_at = $10, \
         legal_rep_id = $11 WHERE uscc = $1",
    )
    .bind(&old.uscc)
    .bind(&new.name)
    .bind(&new.legal_rep)
    .bind(new.capital_yuan)
    .bind(&new.address)
    .bind(&new.division)
    .bind(&new.scope)
    .bind(&new.industry)
    .bind(new.status.as_str())
    .bind(now)
    .bind(&new.legal_rep_id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    if let Some(app) = application {
        on_tx!(tx, c => sqlx::query(
            "UPDATE entity_changes SET application_id = $1 WHERE uscc = $2 AND timepoint = $3",
        )
        .bind(app)
        .bind(&old.uscc)
        .bind(timepoint)
        .execute(&mut *c)
        .await?
        .rows_affected());
    }
    let before: serde_json::Map<String, Value> = diffs
        .iter()
        .map(|d| (d.field.to_string(), d.before_json.clone()))
        .collect();
    let after: serde_json::Map<String, Value> = diffs
        .iter()
        .map(|d| (d.field.to_string(), d.after_json.clone()))
        .collect();
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "entity.change",
            target_kind: "entity",
            target_id: old.uscc.clone(),
            division: Some(new.division.clone()),
            before: Some(Value::Object(before)),
            after: Some(Value::Object(after)),
        },
    )
    .await?;
    Ok((Entity::from_new(new, old.created_at, now), timepoint))
}

/// The change history of an entity within the officer's jurisdiction, newest first
/// ([`AppError::NotFound`] outside it).
pub async fn history(db: &Db, scope: &Scope, uscc: &str) -> Result<Vec<EntityChangeRow>, AppError> {
    let entity = super::get_scoped(db, scope, uscc).await?;
    history_of_known(db, &entity.uscc).await
}

/// The change history of an entity the caller has already read (no jurisdiction check),
/// newest first.
pub(crate) async fn history_of_known(
    db: &Db,
    uscc: &str,
) -> Result<Vec<EntityChangeRow>, AppError> {
    const SQL: &str = "SELECT id, uscc, timepoint, changed_at, field, before_value, after_value, \
         actor, actor_name, application_id FROM entity_changes WHERE uscc = $1 ORDER BY id DESC";
    // The public lookup reads this for every entity with a history: on SQLite on this thread,
    // like the lookup's own statement ([`get_public_with_parts`]).
    let here = db.read_here(|c| {
        c.prepare_cached(SQL)?
            .query_map([uscc], |r| {
                Ok(EntityChangeRow {
                    id: r.get(0)?,
                    uscc: r.get(1)?,
                    timepoint: r.get(2)?,
                    changed_at: r.get(3)?,
                    field: r.get(4)?,
                    before_value: r.get(5)?,
                    after_value: r.get(6)?,
                    actor: r.get(7)?,
                    actor_name: r.get(8)?,
                    application_id: r.get(9)?,
                })
            })?
            .collect()
    });
    match here {
        Some(rows) => rows,
        None => Ok(on_conn!(db, c => sqlx::query_as(SQL).bind(uscc).fetch_all(c).await?)),
    }
}

/// Which parts of an entity's public record have rows, read with the entity itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordParts {
    /// A suspension not yet ended.
    pub suspension: bool,
    /// Premises not closed.
    pub premises: bool,
    /// Any change history.
    pub history: bool,
    /// A simplified deregistration in notice or applied (the only kind the public sees).
    pub deregistration: bool,
    /// A confirmed 名特优新 type.
    pub featured: bool,
}

#[derive(sqlx::FromRow)]
struct PartsRow {
    #[sqlx(flatten)]
    entity: EntityRow,
    has_suspension: bool,
    has_premises: bool,
    has_history: bool,
    has_deregistration: bool,
    has_featured: bool,
}

/// An entity by its USCC with the parts of its public record that have rows, in one
/// statement ([`AppError::NotFound`] if unknown). The public lookup is the registry's
/// hottest request: most entities have no suspension, premises, deregistration or 名特优新
/// type, and a part without rows then costs no query of its own (each probe is a seek in
/// the part's `(uscc, …)` index).
pub async fn get_public_with_parts(db: &Db, uscc: &str) -> Result<(Entity, RecordParts), AppError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {COLUMNS}, \
             EXISTS (SELECT 1 FROM entity_suspensions s \
                     WHERE s.uscc = e.uscc AND s.ended_on IS NULL) AS has_suspension, \
             EXISTS (SELECT 1 FROM entity_premises p \
                     WHERE p.uscc = e.uscc AND p.closed_on IS NULL) AS has_premises, \
             EXISTS (SELECT 1 FROM entity_changes h WHERE h.uscc = e.uscc) AS has_history, \
             EXISTS (SELECT 1 FROM entity_deregistrations d \
                     WHERE d.uscc = e.uscc AND d.kind = 'simplified' \
                       AND d.state IN ('notice', 'applied')) AS has_deregistration, \
             EXISTS (SELECT 1 FROM featured_classifications f \
                     WHERE f.uscc = e.uscc AND f.status = 'confirmed') AS has_featured \
             FROM entities e WHERE e.uscc = $1"
        )
    });
    let key = uscc.trim().to_ascii_uppercase();
    // One indexed statement: on SQLite it runs on this thread (`amr_kernel::db::here`),
    // without the two hand-offs to a pool connection's worker thread that cost more than it.
    let here = db.read_here(|c| {
        use rusqlite::OptionalExtension;
        c.prepare_cached(&SQL)?
            .query_row([&key], |r| {
                Ok(PartsRow {
                    entity: EntityRow::from_rusqlite(r)?,
                    has_suspension: r.get(15)?,
                    has_premises: r.get(16)?,
                    has_history: r.get(17)?,
                    has_deregistration: r.get(18)?,
                    has_featured: r.get(19)?,
                })
            })
            .optional()
    });
    let row: Option<PartsRow> = match here {
        Some(row) => row?,
        None => on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(SQL.as_str()))
            .bind(&key)
            .fetch_optional(c)
            .await?),
    };
    let row = row.ok_or(AppError::NotFound)?;
    let parts = RecordParts {
        suspension: row.has_suspension,
        premises: row.has_premises,
        history: row.has_history,
        deregistration: row.has_deregistration,
        featured: row.has_featured,
    };
    Ok((row.entity.try_into()?, parts))
}
