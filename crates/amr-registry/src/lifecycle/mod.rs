//! The life of an entity after registration: suspension (歇业), resumption, deregistration
//! (ordinary and simplified, with the public notice and its objections), and the per-entity
//! flags that bar a simplified deregistration.
//!
//! - [`rules`]: the rules without IO (limits, windows, refusals naming the rule).
//! - [`suspension`]: file ([`suspension::suspend`]), extend, resume (declared), and the sweep
//!   that resumes every entity whose period has ended ([`suspension::resume_expired`],
//!   idempotent, run by the server's housekeeping worker).
//! - [`deregistration`]: file, apply after the notice, objections and their resolution, the
//!   officer's decision, the flags.
//! - [`view`]: what the public and the officers see of it.
//!
//! Every act runs in the caller's [`Tx`]: its rows, its `entity_changes` row when the status
//! changes (with the act's event timepoint and the actor), its event and its audit entry.
//!
//! Who does what: the enterprise (an account of role `enterprise` bound to the entity's
//! USCC) files suspensions, extensions, resumptions, premises and deregistration
//! applications; officers within the jurisdiction decide deregistrations, resolve
//! objections and set the flags; anyone may object to a simplified deregistration during its
//! notice. Callers pass the scope they act in: the officer's jurisdiction, or
//! [`Scope::all`] for the enterprise once the web layer has checked the account's USCC.

pub mod deregistration;
pub mod rules;
pub mod suspension;
pub mod view;

use chrono::{DateTime, Utc};

use amr_kernel::audit::Actor;
use amr_kernel::db::Tx;
use amr_kernel::error::AppError;
use amr_kernel::on_tx;

use crate::model::{Entity, Status};

/// The event kinds after which an entity's stored record (status, premises) may differ: the
/// search index and the address risk counts read the entity again after each.
pub const ENTITY_EVENTS: &[&str] = &[
    "registry.entity.registered",
    "registry.entity.changed",
    "registry.entity.suspended",
    "registry.entity.suspension_extended",
    "registry.entity.resumed",
    "registry.entity.deregistered",
    "registry.entity.premises_added",
    "registry.entity.premises_closed",
];

/// Sets the entity's status and writes the history row for it, as part of the act whose
/// event has `timepoint`.
pub(crate) async fn set_status(
    tx: &mut Tx,
    actor: &Actor,
    e: &Entity,
    to: Status,
    timepoint: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE entities SET status = $2, updated_at = $3 WHERE uscc = $1",
    )
    .bind(&e.uscc)
    .bind(to.as_str())
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected());
    crate::store::entities::write_change_row(
        tx,
        actor,
        &e.uscc,
        timepoint,
        now,
        "status",
        Some(e.status.as_str()),
        Some(to.as_str()),
    )
    .await
}
