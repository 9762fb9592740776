//! What the public and the officers see of an entity's lifecycle.
//!
//! Public (`GET /api/v1/entities/{uscc}`, the entity page): the record ([`PublicEntity`]),
//! the current suspension (period, reason, service address), the open premises, the change
//! history (when, which field, before and after; an individual business's operator masked;
//! not who: the actor is for officers), and a simplified-deregistration notice while it runs.
//! Officers additionally see every suspension, closed premises, every deregistration with its
//! objections (objector and contact), the flags, and who made each change.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use amr_kernel::db::Db;
use amr_kernel::error::AppError;

use super::deregistration::{self, Deregistration, Objection};
use super::rules::Bars;
use super::suspension::{self, Suspension};
use crate::model::{Entity, EntityType, PublicEntity};
use crate::premises::{self, Premises};
use crate::store::{self, EntityChangeRow, RecordParts};

/// The current suspension as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicSuspension {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub reason: String,
    pub service_address: String,
    pub extensions: i64,
}

/// Premises as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicPremises {
    pub id: i64,
    pub address: String,
    pub division: String,
    pub division_name: String,
    pub opened_on: NaiveDate,
}

/// One changed field as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicChange {
    pub changed_at: DateTime<Utc>,
    pub timepoint: i64,
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A simplified-deregistration notice as published (objections may be filed until `end`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicNotice {
    pub kind: String,
    pub state: String,
    pub notice_start: Option<NaiveDate>,
    pub notice_end: Option<NaiveDate>,
    pub reason: String,
}

/// The public record with its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicRecord {
    #[serde(flatten)]
    pub entity: PublicEntity,
    pub suspension: Option<PublicSuspension>,
    pub premises: Vec<PublicPremises>,
    pub history: Vec<PublicChange>,
    pub deregistration: Option<PublicNotice>,
    /// Confirmed 名特优新 types (individual businesses; empty for most).
    pub featured_types: Vec<crate::featured::FeaturedType>,
}

fn division_name(code: &str) -> String {
    amr_kernel::codes::division::divisions()
        .full_name(code)
        .unwrap_or_default()
}

/// A history row as the public may see it (the operator of an individual business masked).
pub fn public_change(t: EntityType, r: &EntityChangeRow) -> PublicChange {
    let mask = |v: &Option<String>| match v {
        Some(s) if r.field == "legal_rep" => Some(PublicEntity::public_legal_rep(t, s)),
        other => other.clone(),
    };
    PublicChange {
        changed_at: r.changed_at,
        timepoint: r.timepoint,
        field: r.field.clone(),
        before: mask(&r.before_value),
        after: mask(&r.after_value),
    }
}

/// The public record of `e` with its lifecycle (every part read).
pub async fn public_record(
    db: &Db,
    e: &Entity,
    today: chrono::NaiveDate,
) -> Result<PublicRecord, AppError> {
    let every = RecordParts {
        suspension: true,
        premises: true,
        history: true,
        deregistration: true,
        featured: true,
    };
    record_of(db, e, every, today).await
}

/// The public record of the entity `uscc` ([`AppError::NotFound`] if unknown): the entity
/// and which parts of its record have rows come in one
/// statement ([`store::get_public_with_parts`]), then a query for each part that has rows
/// and none for the others. The lookup API and the public entity page use this.
pub async fn public_lookup(
    db: &Db,
    uscc: &str,
    today: chrono::NaiveDate,
) -> Result<PublicRecord, AppError> {
    let (e, parts) = store::get_public_with_parts(db, uscc).await?;
    record_of(db, &e, parts, today).await
}

/// The rows `read` gives when `wanted`, none otherwise (the read is not run).
async fn rows<T>(
    wanted: bool,
    read: impl std::future::Future<Output = Result<Vec<T>, AppError>>,
) -> Result<Vec<T>, AppError> {
    if wanted { read.await } else { Ok(Vec::new()) }
}

/// The record of `e`, reading only the `parts` marked (the others are empty).
async fn record_of(
    db: &Db,
    e: &Entity,
    parts: RecordParts,
    today: chrono::NaiveDate,
) -> Result<PublicRecord, AppError> {
    let suspension = rows(parts.suspension, suspension::list(db, &e.uscc))
        .await?
        .into_iter()
        .rev()
        .find(|s| s.ended_on.is_none())
        .map(|s| PublicSuspension {
            start: s.start_date,
            end: s.end_date,
            reason: s.reason,
            service_address: s.service_address,
            extensions: s.extensions,
        });
    let premises = rows(parts.premises, premises::list(db, &e.uscc))
        .await?
        .into_iter()
        .filter(|p| p.closed_on.is_none())
        .map(|p| PublicPremises {
            division_name: division_name(&p.division),
            id: p.id,
            address: p.address,
            division: p.division,
            opened_on: p.opened_on,
        })
        .collect();
    let history = rows(
        parts.history,
        store::entities::history_of_known(db, &e.uscc),
    )
    .await?
    .iter()
    .map(|r| public_change(e.entity_type, r))
    .collect();
    let deregistration = rows(parts.deregistration, deregistration::list(db, &e.uscc))
        .await?
        .into_iter()
        .next()
        .filter(|d| d.kind == "simplified" && matches!(d.state.as_str(), "notice" | "applied"))
        .filter(|d| !deregistration::is_lapsed(d, today))
        .map(|d| PublicNotice {
            kind: d.kind,
            state: d.state,
            notice_start: d.notice_start,
            notice_end: d.notice_end,
            reason: d.reason,
        });
    let featured_types = rows(
        parts.featured,
        crate::featured::store::public_types(db, &e.uscc),
    )
    .await?;
    Ok(PublicRecord {
        entity: PublicEntity::from(e),
        suspension,
        premises,
        history,
        deregistration,
        featured_types,
    })
}

/// Everything about an entity's lifecycle, for officers (and the entity itself).
#[derive(Debug, Clone, Serialize)]
pub struct LifecycleDetail {
    pub suspensions: Vec<Suspension>,
    pub premises: Vec<Premises>,
    pub deregistrations: Vec<Deregistration>,
    pub objections: Vec<Objection>,
    pub flags: Bars,
    /// Days of suspension used so far, of [`super::rules::MAX_SUSPENSION_DAYS`].
    pub suspension_days_used: i64,
    pub suspension_days_max: i64,
}

/// The lifecycle detail of an entity already read within the caller's scope.
pub async fn detail(db: &Db, e: &Entity) -> Result<LifecycleDetail, AppError> {
    let suspensions = suspension::list(db, &e.uscc).await?;
    let used = suspensions.iter().map(Suspension::days_used).sum();
    Ok(LifecycleDetail {
        suspension_days_used: used,
        suspension_days_max: super::rules::MAX_SUSPENSION_DAYS,
        suspensions,
        premises: premises::list(db, &e.uscc).await?,
        deregistrations: deregistration::list(db, &e.uscc).await?,
        objections: deregistration::objections(db, &e.uscc).await?,
        flags: deregistration::flags(db, &e.uscc).await?,
    })
}
