//! How entity registrations reach the address service: the registry and the address service
//! do not know each other, so the server wires them.
//!
//! [`AddressRiskFollower`] follows the event log (`registry.entities.imported` and every
//! kind in `amr_registry::lifecycle::ENTITY_EVENTS`: registered, changed, suspended,
//! resumed, deregistered, premises added or closed), reads the touched entities through
//! `amr_registry::store::get_many` (499 a query) and records each with
//! `amr_address::risk::record_registration`, in the batch's transaction (so the counts and
//! the cursor commit together). `amr address risk rebuild` does the same for every entity at
//! once ([`rebuild`]).
//!
//! The abnormal-operations list feeds the per-address abnormal count: the follower also
//! handles `registry.entity.abnormal_listed`, `registry.entity.abnormal_removed` and
//! `registry.entity.serious_listed` (a transfer ends the abnormal listing), re-recording the
//! entity with whether it has a listing in force now ([`ABNORMAL_EVENTS`];
//! `amr_registry::abnormal::store::listed_among`), and the rebuild reads the same.
//!
//! Extra premises (一照多址) count at their own addresses like domiciles: each is recorded
//! under the key `USCC/P{id}` ([`premises_registration`]), with the entity's status while
//! open and `deregistered` once closed (a closed place stays in the address's history, as a
//! deregistered entity does).

use std::collections::{BTreeSet, HashMap};

use amr_address::risk::{self, Registration};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::Event;
use amr_kernel::events::runner::Consumer;
use amr_registry::abnormal::store as abnormal;
use amr_registry::lifecycle;
use amr_registry::model::Entity;
use amr_registry::premises::{self, Premises};
use amr_registry::store::{self, EntityFilter};

/// The registry's events that change whether an entity is on the abnormal list.
pub const ABNORMAL_EVENTS: [&str; 3] = [
    "registry.entity.abnormal_listed",
    "registry.entity.abnormal_removed",
    "registry.entity.serious_listed",
];

/// What the address service is told about an entity (`abnormal`: it has a listing in force on
/// the abnormal-operations list).
pub fn registration(e: &Entity, abnormal: bool) -> Registration {
    Registration {
        uscc: e.uscc.clone(),
        address: e.address.clone(),
        division: e.division.clone(),
        registered_on: e.established,
        status: e.status.as_str().to_string(),
        abnormal,
    }
}

/// What the address service is told about extra premises of `e`.
pub fn premises_registration(e: &Entity, p: &Premises) -> Registration {
    let status = if p.closed_on.is_some() {
        "deregistered".to_string()
    } else {
        e.status.as_str().to_string()
    };
    Registration {
        uscc: format!("{}/P{}", p.uscc, p.id),
        address: p.address.clone(),
        division: p.division.clone(),
        registered_on: p.opened_on,
        status,
        // The listing is about the entity at its registered domicile.
        abnormal: false,
    }
}

/// The event-log consumer that keeps the address risk counts current.
pub struct AddressRiskFollower {
    pub db: Db,
}

/// The USCCs the events of `batch` touched.
fn touched(batch: &[Event]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in batch {
        match e.kind.as_str() {
            "registry.entities.imported" => {
                if let Some(list) = e.payload_json().get("usccs").and_then(|v| v.as_array()) {
                    out.extend(list.iter().filter_map(|u| u.as_str().map(str::to_string)));
                }
            }
            k if lifecycle::ENTITY_EVENTS.contains(&k) || ABNORMAL_EVENTS.contains(&k) => {
                let payload = e.payload_json();
                if let Some(u) = payload
                    .get("uscc")
                    .and_then(|v| v.as_str())
                    .or(e.uscc.as_deref())
                {
                    out.insert(u.to_string());
                }
            }
            _ => {}
        }
    }
    out
}

impl Consumer for AddressRiskFollower {
    fn name(&self) -> &str {
        risk::CONSUMER
    }

    fn wants(&self, e: &Event) -> bool {
        let k = e.kind.as_str();
        k == "registry.entities.imported"
            || lifecycle::ENTITY_EVENTS.contains(&k)
            || ABNORMAL_EVENTS.contains(&k)
            || k.starts_with("registry.entity.")
    }

    async fn handle(&self, tx: &mut Tx, batch: &[Event]) -> Result<(), AppError> {
        let usccs = touched(batch);
        let usccs: Vec<&str> = usccs.iter().map(String::as_str).collect();
        // One query per 499 entities, not one per entity (an import event names up to
        // 10,000). An entity not committed yet by its writer, or gone, is not among them:
        // nothing to count.
        let entities = store::get_many(&self.db, &Scope::all(), &usccs).await?;
        let listed = abnormal::listed_among(&self.db, &usccs).await?;
        for e in &entities {
            risk::record_registration(tx, &registration(e, listed.contains(&e.uscc))).await?;
        }
        // Premises only for the entities a lifecycle event named (an import has none).
        let named: Vec<&str> = batch
            .iter()
            .filter(|e| e.kind.starts_with("registry.entity."))
            .filter_map(|e| e.uscc.as_deref())
            .collect();
        let owners: HashMap<&str, &Entity> =
            entities.iter().map(|e| (e.uscc.as_str(), e)).collect();
        for p in premises::list_for(&self.db, &named).await? {
            if let Some(e) = owners.get(p.uscc.as_str()) {
                risk::record_registration(tx, &premises_registration(e, &p)).await?;
            }
        }
        Ok(())
    }
}

/// Rebuilds the risk counts from every entity in the registry; `progress` is told how many
/// entities were recorded so far. Returns the count.
pub async fn rebuild(db: &Db, mut progress: impl FnMut(u64)) -> Result<u64, AppError> {
    let mut rb = risk::Rebuild::begin(db).await?;
    let filter = EntityFilter::default();
    let mut after: Option<String> = None;
    loop {
        let page = store::list_scoped(db, &Scope::all(), &filter, after.as_deref(), 5000).await?;
        let usccs: Vec<&str> = page.iter().map(|e| e.uscc.as_str()).collect();
        let listed = abnormal::listed_among(db, &usccs).await?;
        let batch: Vec<Registration> = page
            .iter()
            .map(|e| registration(e, listed.contains(&e.uscc)))
            .collect();
        rb.add(db, &batch).await?;
        progress(rb.added);
        match page.last() {
            Some(last) if page.len() == 5000 => after = Some(last.uscc.clone()),
            _ => break,
        }
    }
    // Then every recorded premises, with its entity's status.
    let mut after_id = 0;
    loop {
        let page = premises::page_all(db, after_id, 5000).await?;
        let Some(last) = page.last() else { break };
        after_id = last.id;
        let usccs: Vec<&str> = page.iter().map(|p| p.uscc.as_str()).collect();
        let owners = store::get_many(db, &Scope::all(), &usccs).await?;
        let owners: HashMap<&str, &Entity> = owners.iter().map(|e| (e.uscc.as_str(), e)).collect();
        let batch: Vec<Registration> = page
            .iter()
            .filter_map(|p| {
                owners
                    .get(p.uscc.as_str())
                    .map(|e| premises_registration(e, p))
            })
            .collect();
        rb.add(db, &batch).await?;
        progress(rb.added);
    }
    rb.finish(db).await
}

/// Total entities, for a progress bar.
pub async fn entity_count(db: &Db) -> Result<i64, AppError> {
    store::count_scoped(db, &Scope::all(), &EntityFilter::default()).await
}
