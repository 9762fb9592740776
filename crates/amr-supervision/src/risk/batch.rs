//! Recomputing classes: every entity of a jurisdiction ([`recompute_all`], streamed page by
//! page, flat in memory), or the entities an event batch names ([`rescore_in`]).
//!
//! A re-score by the follower writes no audit entry of its own: it is the consequence of an act
//! that has one (a registration, a flag, a recorded result), and its internal event records the
//! change (class before and after, model version), as the search index and the address-risk
//! counts record none.
//!
//! A full run reads the registry through [`RegistrySource::page`] 10,000 entities at a time in
//! `(division, uscc)` order, scores those not deregistered, and writes each page in one
//! transaction: the upserted rows, the deleted rows of deregistered entities, the run's counts,
//! one internal event `supervision.risk.classified` (`{run, entities, by_class}`) and one audit
//! entry `risk.recompute.batch`. Memory stays one page whatever the entity count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};

use super::model::{Model, score};
use super::store::{self, ClassRow};
use crate::draw::model::PerClass;
use crate::targets::{EntityFacts, RegistrySource};

/// Entities a page.
pub const PAGE: usize = 10_000;

/// Today in China (UTC+8): the day windows and ages count to (the kernel's one clock).
pub use amr_kernel::matter::today as today_in_china;

/// Whether an entity is scored (deregistered ones are not; their rows are removed).
pub fn scored_status(status: &str) -> bool {
    status != "deregistered"
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: i64,
    pub entities: i64,
    pub removed: u64,
    pub by_class: PerClass<i64>,
    pub model_version: String,
}

/// One full run at a time per process (the schedule, the button and the API share it).
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Held while a full run is going on.
#[derive(Debug)]
pub struct RunGuard(());

impl RunGuard {
    /// The guard, or 409 when a run is already going on in this process.
    pub fn acquire() -> Result<RunGuard, AppError> {
        if RUNNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            Ok(RunGuard(()))
        } else {
            Err(AppError::Conflict(
                "信用风险分类正在重新计算 (a recompute is already running)".into(),
            ))
        }
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Release);
    }
}

fn check_scope(scope: &str) -> Result<(), AppError> {
    if scope.len() > 9 || !scope.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad_request(
            "scope",
            "区划代码应为不超过 9 位的数字 (a division code is at most 9 digits)",
        ));
    }
    Ok(())
}

/// Starts a run row (its own transaction, so the run is visible while it goes on).
pub async fn begin_run(db: &Db, trigger: &str) -> Result<i64, AppError> {
    let mut tx = db.begin().await?;
    let id = store::start_run(&mut tx, trigger).await?;
    tx.commit().await?;
    Ok(id)
}

/// Recomputes every entity whose division starts with `scope` under the model in force, in a
/// run row started with [`begin_run`], on `today` (the server's day); `progress` is told how
/// many entities were read so far.
#[allow(clippy::too_many_arguments)]
pub async fn recompute_all(
    db: &Db,
    registry: &dyn RegistrySource,
    scope: &str,
    run_id: i64,
    actor: &Actor,
    today: NaiveDate,
    mut progress: impl FnMut(u64) + Send,
) -> Result<RunSummary, AppError> {
    check_scope(scope)?;
    let model = store::model(db).await?;
    let mut by_class = PerClass::<i64>::default();
    let mut entities = 0i64;
    let mut removed = 0u64;
    let mut read = 0u64;
    let mut after: Option<(String, String)> = None;
    loop {
        let page = registry
            .page(
                scope,
                after.as_ref().map(|(d, u)| (d.as_str(), u.as_str())),
                PAGE,
            )
            .await?;
        let Some(last) = page.last() else { break };
        let next = (last.division.clone(), last.uscc.clone());
        let full = page.len() == PAGE;
        let live: Vec<&EntityFacts> = page.iter().filter(|f| scored_status(&f.status)).collect();
        let gone: Vec<&str> = page
            .iter()
            .filter(|f| !scored_status(&f.status))
            .map(|f| f.uscc.as_str())
            .collect();
        let usccs: Vec<&str> = live.iter().map(|f| f.uscc.as_str()).collect();
        let mut obs = store::observations(db, &usccs).await?;
        let mut page_by = PerClass::<i64>::default();
        let rows: Vec<ClassRow> = live
            .iter()
            .map(|f| {
                let o = obs.remove(&f.uscc).unwrap_or_default();
                let scored = score(f, &o, today, &model);
                page_by.set(scored.class, page_by.get(scored.class) + 1);
                ClassRow {
                    uscc: f.uscc.clone(),
                    division: f.division.clone(),
                    scored,
                    model_version: model.version.clone(),
                }
            })
            .collect();
        let n = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        entities += n;
        for c in crate::draw::model::RiskClass::ALL {
            by_class.set(c, by_class.get(c) + page_by.get(c));
        }
        let mut tx = db.begin().await?;
        store::write_rows(&mut tx, &rows).await?;
        let r = store::delete_rows(&mut tx, &gone).await?;
        removed += r;
        store::update_run(&mut tx, run_id, entities, &by_class, false).await?;
        events::append(
            &mut tx,
            NewEvent::internal(
                "supervision.risk.classified",
                json!({"run": run_id, "entities": n, "removed": r, "by_class": page_by,
                       "model_version": model.version}),
            )
            .actor(actor.label()),
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            audit::Change {
                action: "risk.recompute.batch",
                target_kind: "credit_risk_run",
                target_id: run_id.to_string(),
                division: (!scope.is_empty()).then(|| scope.to_string()),
                before: None,
                after: Some(json!({"entities": n, "removed": r, "by_class": page_by})),
            },
        )
        .await?;
        tx.commit().await?;
        drop(rows);
        read += page.len() as u64;
        progress(read);
        if !full {
            break;
        }
        after = Some(next);
    }
    let mut tx = db.begin().await?;
    store::update_run(&mut tx, run_id, entities, &by_class, true).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Change {
            action: "risk.recompute",
            target_kind: "credit_risk_run",
            target_id: run_id.to_string(),
            division: (!scope.is_empty()).then(|| scope.to_string()),
            before: None,
            after: Some(
                json!({"entities": entities, "removed": removed, "by_class": by_class,
                               "model_version": model.version}),
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(RunSummary {
        run_id,
        entities,
        removed,
        by_class,
        model_version: model.version,
    })
}

/// Re-scores the entities of `usccs` inside `tx`: their facts, stored rows and observations
/// read in a few queries (observations inside `tx`, so ones recorded there count), the changed
/// rows written in one statement. Each entity whose row changes gets an internal event
/// `supervision.risk.classified` (`{uscc, class, previous, score, model_version}`), the record
/// of the change; the others get nothing. Unknown codes are skipped. Returns how many rows
/// changed (written or removed).
pub async fn rescore_in(
    tx: &mut Tx,
    registry: &dyn RegistrySource,
    model: &Model,
    actor: &Actor,
    usccs: &[&str],
    today: NaiveDate,
) -> Result<u64, AppError> {
    let mut facts: HashMap<String, EntityFacts> = registry
        .get_many(usccs)
        .await?
        .into_iter()
        .map(|f| (f.uscc.clone(), f))
        .collect();
    let mut before = store::get_in(tx, usccs).await?;
    let mut obs = store::observations_in(tx, usccs).await?;
    let mut rows = Vec::new();
    let mut gone = Vec::new();
    // (facts, before, index into rows or None for a removal)
    let mut changes: Vec<(EntityFacts, Option<store::Stored>, Option<usize>)> = Vec::new();
    for uscc in usccs {
        let Some(f) = facts.remove(*uscc) else {
            continue;
        };
        let b = before.remove(*uscc);
        if !scored_status(&f.status) {
            if b.is_some() {
                gone.push(*uscc);
                changes.push((f, b, None));
            }
            continue;
        }
        let scored = score(&f, &obs.remove(*uscc).unwrap_or_default(), today, model);
        let same = b.as_ref().is_some_and(|b| {
            b.class == scored.class
                && b.score == scored.score
                && b.reasons == scored.reasons
                && b.model_version == model.version
                && b.division == f.division
        });
        if !same {
            rows.push(ClassRow {
                uscc: f.uscc.clone(),
                division: f.division.clone(),
                scored,
                model_version: model.version.clone(),
            });
            changes.push((f, b, Some(rows.len() - 1)));
        }
    }
    store::write_rows(tx, &rows).await?;
    store::delete_rows(tx, &gone).await?;
    for (f, b, row) in &changes {
        record_change(tx, actor, f, b.as_ref(), row.map(|i| &rows[i]), model).await?;
    }
    Ok(changes.len() as u64)
}

async fn record_change(
    tx: &mut Tx,
    actor: &Actor,
    facts: &EntityFacts,
    before: Option<&store::Stored>,
    after: Option<&ClassRow>,
    model: &Model,
) -> Result<(), AppError> {
    let payload = json!({
        "uscc": facts.uscc,
        "class": after.map(|r| r.scored.class.as_str()),
        "previous": before.map(|b| b.class.as_str()),
        "score": after.map(|r| r.scored.score),
        "model_version": model.version,
    });
    events::append(
        tx,
        NewEvent::internal("supervision.risk.classified", payload)
            .uscc(&facts.uscc)
            .division(&facts.division)
            .actor(actor.label()),
    )
    .await?;
    Ok(())
}
