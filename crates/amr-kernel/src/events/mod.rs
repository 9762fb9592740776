//! The event log: a transactional outbox with a gapless public sequence.
//!
//! Every state change writes its event row with [`append`] inside the same [`Tx`] as the
//! change itself. The event's `timepoint` comes from a one-row counter updated in that
//! transaction, so timepoints are gapless (a rollback returns its number) and become visible
//! in order (the counter's row lock serialises writers until commit).
//!
//! Downstream work (search index, deliveries, the public change stream) follows the log with
//! [`runner`]: each consumer keeps a durable cursor, advanced in the same transaction as the
//! consumer's own writes.

mod guard;
pub mod runner;

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;

use crate::auth::Scope;
use crate::db::{AppendTable, Cell, Db, Tx};
use crate::error::AppError;

pub use guard::{find_personal_data, find_personal_data_in};

/// An event to be written.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Dotted kind, `context.thing.verb`, e.g. `kernel.account.created`.
    pub kind: String,
    /// The entity the event concerns, when there is one.
    pub uscc: Option<String>,
    /// The division code the event belongs to (used for jurisdiction filtering).
    pub division: Option<String>,
    /// Public events appear in the public change stream; their payload must hold no
    /// personal data (checked by [`append`]).
    pub public: bool,
    pub payload: serde_json::Value,
    /// Who caused it (`account:12`, `key:3`, `system`).
    pub actor: Option<String>,
}

impl NewEvent {
    pub fn internal(kind: &str, payload: serde_json::Value) -> NewEvent {
        NewEvent {
            kind: kind.to_string(),
            uscc: None,
            division: None,
            public: false,
            payload,
            actor: None,
        }
    }

    pub fn public(kind: &str, payload: serde_json::Value) -> NewEvent {
        NewEvent {
            public: true,
            ..NewEvent::internal(kind, payload)
        }
    }

    pub fn division(mut self, division: impl Into<String>) -> NewEvent {
        self.division = Some(division.into());
        self
    }

    pub fn uscc(mut self, uscc: impl Into<String>) -> NewEvent {
        self.uscc = Some(uscc.into());
        self
    }

    pub fn actor(mut self, actor: impl Into<String>) -> NewEvent {
        self.actor = Some(actor.into());
        self
    }
}

/// A stored event.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Event {
    pub timepoint: i64,
    pub kind: String,
    pub uscc: Option<String>,
    pub division: Option<String>,
    pub public: bool,
    #[serde(skip)]
    pub payload: String,
    pub actor: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl Event {
    pub fn payload_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null)
    }

    /// The form published on the public change stream: no actor, payload as JSON.
    pub fn public_view(&self) -> serde_json::Value {
        serde_json::json!({
            "timepoint": self.timepoint,
            "kind": self.kind,
            "uscc": self.uscc,
            "division": self.division,
            "recorded_at": self.recorded_at,
            "payload": self.payload_json(),
        })
    }

    /// The form officers see: everything.
    pub fn full_view(&self) -> serde_json::Value {
        serde_json::json!({
            "timepoint": self.timepoint,
            "kind": self.kind,
            "uscc": self.uscc,
            "division": self.division,
            "public": self.public,
            "actor": self.actor,
            "recorded_at": self.recorded_at,
            "payload": self.payload_json(),
        })
    }
}

static LAST_COMMITTED: LazyLock<watch::Sender<i64>> = LazyLock::new(|| watch::channel(0).0);

/// Called by [`Tx::commit`]: wakes the followers in this process.
pub(crate) fn announce(timepoint: i64) {
    LAST_COMMITTED.send_if_modified(|v| {
        if timepoint > *v {
            *v = timepoint;
            true
        } else {
            false
        }
    });
}

/// A receiver that changes whenever a transaction of this process commits events. Followers
/// also poll, so events written by other processes (the CLI, another server) are seen too.
pub fn subscribe() -> watch::Receiver<i64> {
    LAST_COMMITTED.subscribe()
}

/// The event rows, as [`append`] writes them.
pub static EVENTS: AppendTable = AppendTable {
    name: "events",
    columns: &[
        "timepoint",
        "kind",
        "uscc",
        "division",
        "public",
        "payload",
        "actor",
        "recorded_at",
    ],
};

/// Appends an event inside the caller's transaction and returns its timepoint. The row is
/// written at once, or with the transaction's other held-back rows when it defers them
/// ([`Tx::defer_appends`]); either way the timepoint is taken now, gapless, and announced
/// after the commit.
pub async fn append(tx: &mut Tx, event: NewEvent) -> Result<i64, AppError> {
    if event.kind.is_empty() || event.kind.len() > 100 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "event kind must be 1..=100 bytes"
        )));
    }
    let payload = event.payload.to_string();
    if event.public
        && let Some(what) = find_personal_data_in(&event.payload)
    {
        return Err(AppError::Internal(anyhow::anyhow!(
            "refused to publish {} event: its payload contains {what}",
            event.kind
        )));
    }
    let now = Utc::now();
    // The first event of a transaction takes the counter's row (on PostgreSQL its lock, held
    // to the end, orders the writers of events) and the next timepoint; the later ones count
    // on from there, and the commit stores the last (Tx::commit).
    let counter = match tx.event_counter {
        Some(c) => crate::db::EventCounter {
            handed: c.handed + 1,
            stored: c.stored,
        },
        None => {
            let tp: i64 = crate::on_tx!(tx, c => sqlx::query_scalar(
                "UPDATE event_seq SET last_timepoint = last_timepoint + 1 WHERE id = 1 RETURNING last_timepoint",
            )
            .fetch_one(&mut *c)
            .await?);
            crate::db::EventCounter {
                handed: tp,
                stored: tp,
            }
        }
    };
    let tp = counter.handed;
    // Held back with the transaction's other rows when it defers them (`Tx::defer_appends`):
    // the timepoint is already taken, and nothing reads the row back before the commit.
    tx.append(
        &EVENTS,
        vec![
            Cell::from(tp),
            Cell::from(event.kind),
            Cell::from(event.uscc),
            Cell::from(event.division),
            Cell::from(event.public),
            Cell::from(payload),
            Cell::from(event.actor),
            Cell::from(now),
        ],
    )
    .await?;
    let timepoint = tp;
    tx.event_counter = Some(counter);
    tx.last_event = Some(timepoint);
    Ok(timepoint)
}

/// Stores the last timepoint a transaction handed out in the counter (before its commit).
pub(crate) async fn store_counter(tx: &mut Tx, last: i64) -> Result<(), AppError> {
    crate::on_tx!(tx, c => sqlx::query("UPDATE event_seq SET last_timepoint = $1 WHERE id = 1")
        .bind(last)
        .execute(&mut *c)
        .await?
        .rows_affected());
    Ok(())
}

const COLUMNS: &str = "timepoint, kind, uscc, division, public, payload, actor, recorded_at";

/// Public events after `after`, oldest first.
pub async fn public_after(db: &Db, after: i64, limit: i64) -> Result<Vec<Event>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE public = $1 AND timepoint > $2 ORDER BY timepoint LIMIT $3"
    );
    Ok(
        crate::on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(true)
        .bind(after)
        .bind(limit)
        .fetch_all(c)
        .await?),
    )
}

/// All events after `after`, oldest first (for workers; no scope).
pub async fn all_after(db: &Db, after: i64, limit: i64) -> Result<Vec<Event>, AppError> {
    let sql =
        format!("SELECT {COLUMNS} FROM events WHERE timepoint > $1 ORDER BY timepoint LIMIT $2");
    Ok(
        crate::on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(limit)
        .fetch_all(c)
        .await?),
    )
}

/// Events within the caller's jurisdiction, newest first, before `before` (exclusive; `None`
/// for the newest). The jurisdiction filter is applied here, in the store.
pub async fn scoped_recent(
    db: &Db,
    scope: &Scope,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Event>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE timepoint < $1 AND {} ORDER BY timepoint DESC LIMIT $3",
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

/// One event, if it is within the caller's jurisdiction; otherwise [`AppError::NotFound`].
pub async fn scoped_get(db: &Db, scope: &Scope, timepoint: i64) -> Result<Event, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE timepoint = $1 AND {}",
        scope.division_filter("division", 2)
    );
    let found: Option<Event> = crate::on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(timepoint)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    found.ok_or(AppError::NotFound)
}

/// The last committed timepoint.
pub async fn head(db: &Db) -> Result<i64, AppError> {
    Ok(crate::on_conn!(db, c => sqlx::query_scalar::<_, i64>(
        "SELECT last_timepoint FROM event_seq WHERE id = 1"
    )
    .fetch_one(c)
    .await?))
}
