//! The append-only audit log: every write by a person or a key, with before and after.
//!
//! Entries are written with [`record`] inside the same transaction as the change they
//! describe. The table refuses UPDATE and DELETE (database triggers on both backends).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::Scope;
use crate::db::{AppendTable, Cell, Db, Tx};
use crate::error::AppError;

/// Who made a change.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    /// `account`, `api_key`, `cli` or `system`.
    pub kind: &'static str,
    pub id: Option<i64>,
    pub name: String,
    pub ip: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            kind: "system",
            id: None,
            name: "system".into(),
            ip: None,
        }
    }

    /// A person at the command line of the server machine (the OS user is recorded).
    pub fn cli() -> Actor {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor {
            kind: "cli",
            id: None,
            name: format!("cli:{user}"),
            ip: None,
        }
    }

    /// The label stored as an event's actor.
    pub fn label(&self) -> String {
        match self.id {
            Some(id) => format!("{}:{id}", self.kind),
            None => self.name.clone(),
        }
    }
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: String,
    /// The division the target belongs to, for jurisdiction-scoped reading of the log.
    pub division: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// A stored audit entry.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub division: Option<String>,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub ip: Option<String>,
}

/// The audit rows, as [`append`] writes them.
pub static AUDIT_LOG: AppendTable = AppendTable {
    name: "audit_log",
    columns: &[
        "at",
        "actor_kind",
        "actor_id",
        "actor_name",
        "action",
        "target_kind",
        "target_id",
        "division",
        "before_state",
        "after_state",
        "ip",
    ],
};

/// Records a change inside the caller's transaction, at once, and returns the entry's id.
/// In a transaction that holds rows back ([`Tx::defer_appends`]) those are written first, so
/// ids keep the order the entries were made in.
pub async fn record(tx: &mut Tx, actor: &Actor, change: Change<'_>) -> Result<i64, AppError> {
    tx.insert_returning_id(&AUDIT_LOG, row(actor, change)).await
}

/// Records a change inside the caller's transaction, as [`record`] does, for a caller that
/// needs no id: the entry is written at once, or held back with the transaction's other rows
/// when it defers them ([`Tx::defer_appends`]) and written before the commit. The matter
/// engine and the complaint intake record this way.
pub async fn append(tx: &mut Tx, actor: &Actor, change: Change<'_>) -> Result<(), AppError> {
    tx.append(&AUDIT_LOG, row(actor, change)).await
}

/// The values of an audit row, in the order of [`AUDIT_LOG`]'s columns.
fn row(actor: &Actor, change: Change<'_>) -> Vec<Cell> {
    vec![
        Cell::from(Utc::now()),
        Cell::from(actor.kind),
        Cell::from(actor.id),
        Cell::from(actor.name.clone()),
        Cell::from(change.action),
        Cell::from(change.target_kind),
        Cell::from(change.target_id),
        Cell::from(change.division),
        Cell::from(change.before.map(|v| v.to_string())),
        Cell::from(change.after.map(|v| v.to_string())),
        Cell::from(actor.ip.clone()),
    ]
}

/// Audit entries within `scope`, newest first, with ids below `before`.
pub async fn list(
    db: &Db,
    scope: &Scope,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, AppError> {
    let sql = format!(
        "SELECT id, at, actor_kind, actor_id, actor_name, action, target_kind, target_id, division, before_state, after_state, ip \
         FROM audit_log WHERE id < $1 AND {} ORDER BY id DESC LIMIT $3",
        scope.division_filter("division", 2)
    );
    Ok(
        crate::on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(before.unwrap_or(i64::MAX))
        .bind(scope.like_pattern())
        .bind(limit)
        .fetch_all(c)
        .await?),
    )
}
