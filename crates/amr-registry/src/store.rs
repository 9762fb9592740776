//! The registry's SQL: one function per use case, on both backends.
//!
//! - [`entities`]: register one entity ([`create`]), read it ([`get_public`], [`get_scoped`]),
//!   change it ([`change`]) and read its history ([`history`]). Every write runs in the
//!   caller's [`Tx`](amr_kernel::db::Tx) with its event and its audit entry.
//! - [`query`]: the officer list of a jurisdiction with filters and keyset paging
//!   ([`list_scoped`], [`count_scoped`]) and the streaming read for exports
//!   ([`stream_scoped`]).
//! - [`batch`]: bulk insertion for the importer and the demo ([`insert_batch`],
//!   [`insert_batch_in`]): multi-row INSERTs on SQLite, COPY on PostgreSQL; rows already
//!   registered are skipped, so re-running an interrupted import is safe.
//! - [`jobs`]: bookkeeping of resumable imports ([`job_start`], [`job_progress`], ...).
//!
//! Jurisdiction: every officer read goes through [`Scope::division_filter`] on the entity's
//! `division`; an entity outside the scope is [`AppError::NotFound`], as if it did not exist.

pub mod batch;
pub mod entities;
pub mod facts;
pub mod jobs;
pub mod query;

use chrono::{DateTime, NaiveDate, Utc};

use amr_kernel::auth::Scope;
use amr_kernel::error::AppError;

use crate::model::{Entity, EntityType, Status};

pub use batch::{
    BatchOutcome, PreparedBatch, bulk_load_begin, ensure_indexes, insert_batch, insert_batch_in,
    insert_prepared, insert_prepared_in,
};
pub use entities::{
    EntityChange, EntityChangeRow, RecordParts, change, change_from, create, get_many, get_public,
    get_public_with_parts, get_scoped, history, lock_scoped,
};
pub use jobs::{ImportJob, job_finish, job_get, job_progress, job_start};
pub use query::{EntityFilter, PAGE, count_scoped, list_scoped, stream_scoped};

/// The columns of `entities`, in the order [`EntityRow`] reads them.
pub(crate) const COLUMNS: &str = "uscc, name, entity_type, legal_rep, legal_rep_id, phone, \
     capital_yuan, established, address, division, scope, industry, status, created_at, updated_at";

/// A row of `entities` as the database returns it.
#[derive(sqlx::FromRow)]
pub(crate) struct EntityRow {
    uscc: String,
    name: String,
    entity_type: String,
    legal_rep: String,
    legal_rep_id: Option<String>,
    phone: Option<String>,
    capital_yuan: Option<i64>,
    established: NaiveDate,
    address: String,
    division: String,
    scope: String,
    industry: String,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<EntityRow> for Entity {
    type Error = AppError;

    fn try_from(r: EntityRow) -> Result<Entity, AppError> {
        let bad = |what: &str, v: &str| {
            AppError::Internal(anyhow::anyhow!(
                "entities row {}: unknown {what} {v:?}",
                r.uscc
            ))
        };
        let entity_type =
            EntityType::parse(&r.entity_type).ok_or_else(|| bad("entity_type", &r.entity_type))?;
        let status = Status::parse(&r.status).ok_or_else(|| bad("status", &r.status))?;
        Ok(Entity {
            uscc: r.uscc,
            name: r.name,
            entity_type,
            legal_rep: r.legal_rep,
            legal_rep_id: r.legal_rep_id,
            phone: r.phone,
            capital_yuan: r.capital_yuan,
            established: r.established,
            address: r.address,
            division: r.division,
            scope: r.scope,
            industry: r.industry,
            status,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl EntityRow {
    /// The row as `rusqlite` returns it, its first columns in [`COLUMNS`] order (for reads on
    /// the calling thread, `amr_kernel::db::here`). The dates decode as sqlx decodes them:
    /// `YYYY-MM-DD`, and RFC 3339 with `T` or a space.
    pub(crate) fn from_rusqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntityRow> {
        Ok(EntityRow {
            uscc: r.get(0)?,
            name: r.get(1)?,
            entity_type: r.get(2)?,
            legal_rep: r.get(3)?,
            legal_rep_id: r.get(4)?,
            phone: r.get(5)?,
            capital_yuan: r.get(6)?,
            established: r.get(7)?,
            address: r.get(8)?,
            division: r.get(9)?,
            scope: r.get(10)?,
            industry: r.get(11)?,
            status: r.get(12)?,
            created_at: r.get(13)?,
            updated_at: r.get(14)?,
        })
    }
}

pub(crate) fn rows_to_entities(rows: Vec<EntityRow>) -> Result<Vec<Entity>, AppError> {
    rows.into_iter().map(Entity::try_from).collect()
}

/// The current time at the precision both backends keep (microseconds), so that a record
/// returned by a write equals the record read back.
pub(crate) fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// The half-open range `[prefix, prefix~)` that holds every division code starting with
/// `prefix` (codes are digits, which sort before `~` in byte order). It repeats the scope's
/// LIKE filter in a form both backends can answer from the `(division, uscc)` index.
pub(crate) fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_string(), format!("{prefix}~"))
}

/// The narrowest non-empty prefix of the scope, if it has one.
pub(crate) fn scope_prefix(scope: &Scope) -> Option<&str> {
    scope.as_prefix().filter(|p| !p.is_empty())
}
