//! Keeping classes current: the event-log consumer [`RiskFollower`] and the daily schedule
//! ([`schedule`]).
//!
//! The follower (cursor `supervision.risk`):
//! - records an observation for each `supervision.inspection.result_recorded` event whose
//!   outcome is a finding (`problems` → `inspection_finding`, `not_found` →
//!   `not_found_at_address`), keyed `event:<timepoint>:<item>` so a replayed batch records
//!   nothing twice, and re-scores that entity;
//! - re-scores the entities named by registry events (`registry.entity.registered`,
//!   `.changed`, `.flags_set`, `.suspended`, `.suspension_extended`, `.resumed`,
//!   `.deregistered`) and by `registry.entities.imported` (`{count, usccs}`).
//!
//! Everything happens in the batch's transaction, so classes and the cursor commit together.
//!
//! The schedule runs a full recompute every day at 02:00 China time, and at start when a
//! nightly run was missed (the last full run ended more than a day ago). A database that was
//! never classified gets no run at start: the follower reads the event log from its beginning
//! and classifies every registered or imported entity, so a full run then would do the same
//! work twice (`amr inspect risk recompute` and `amr demo` run one explicitly).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde_json::Value;
use tokio::sync::watch;

use amr_kernel::audit::Actor;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::Event;
use amr_kernel::events::runner::Consumer;

use super::batch::{self, RunGuard};
use super::store::{self, NewObservation};
use crate::targets::RegistrySource;

/// The follower's cursor name.
pub const CONSUMER: &str = "supervision.risk";

/// Registry event kinds that re-score the entity they name.
pub const REGISTRY_KINDS: &[&str] = &[
    "registry.entity.registered",
    "registry.entity.changed",
    "registry.entity.flags_set",
    "registry.entity.suspended",
    "registry.entity.suspension_extended",
    "registry.entity.resumed",
    "registry.entity.deregistered",
];

/// The event of a recorded inspection result.
pub const RESULT_RECORDED: &str = "supervision.inspection.result_recorded";

/// The observation kind of an inspection outcome (`None`: not a finding).
pub fn finding_kind(outcome: &str) -> Option<&'static str> {
    match outcome {
        "problems" => Some("inspection_finding"),
        "not_found" => Some("not_found_at_address"),
        _ => None,
    }
}

/// The event-log consumer that keeps classes current.
#[derive(Debug, Clone)]
pub struct RiskFollower {
    pub db: Db,
    pub registry: Arc<dyn RegistrySource>,
    /// The server's fixed day, if it has one (else today in China).
    pub fixed_today: Option<NaiveDate>,
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl RiskFollower {
    /// Records the finding of a result event inside `tx`; the USCC to re-score.
    async fn record_result(&self, tx: &mut Tx, e: &Event) -> Result<Option<String>, AppError> {
        let p = e.payload_json();
        let (Some(uscc), Some(outcome)) = (
            str_of(&p, "uscc").or(e.uscc.as_deref()),
            str_of(&p, "outcome"),
        ) else {
            tracing::warn!(
                timepoint = e.timepoint,
                "result event without uscc or outcome: skipped"
            );
            return Ok(None);
        };
        let Some(kind) = finding_kind(outcome) else {
            return Ok(None);
        };
        let Some(on) = str_of(&p, "inspected_on").and_then(|d| d.parse().ok()) else {
            tracing::warn!(
                timepoint = e.timepoint,
                "result event without a valid inspected_on: skipped"
            );
            return Ok(None);
        };
        let item = match p.get("item") {
            Some(Value::String(s)) => s.clone(),
            Some(v) if !v.is_null() => v.to_string(),
            _ => String::new(),
        };
        let source_ref = format!("event:{}:{item}", e.timepoint);
        let detail = serde_json::json!({
            "plan_id": p.get("plan_id"),
            "visit_no": p.get("visit_no"),
            "item": item,
            "outcome": outcome,
        })
        .to_string();
        store::record_observation(
            tx,
            &NewObservation {
                source_ref: &source_ref,
                uscc,
                indicator: kind,
                observed_on: on,
                detail: &detail,
            },
        )
        .await?;
        Ok(Some(uscc.to_string()))
    }
}

impl Consumer for RiskFollower {
    fn name(&self) -> &str {
        CONSUMER
    }

    fn wants(&self, e: &Event) -> bool {
        let k = e.kind.as_str();
        k == RESULT_RECORDED || k == "registry.entities.imported" || REGISTRY_KINDS.contains(&k)
    }

    async fn handle(&self, tx: &mut Tx, batch: &[Event]) -> Result<(), AppError> {
        let mut touched = BTreeSet::new();
        for e in batch {
            match e.kind.as_str() {
                RESULT_RECORDED => {
                    if let Some(u) = self.record_result(tx, e).await? {
                        touched.insert(u);
                    }
                }
                "registry.entities.imported" => {
                    if let Some(list) = e.payload_json().get("usccs").and_then(Value::as_array) {
                        touched.extend(list.iter().filter_map(|u| u.as_str().map(str::to_string)));
                    }
                }
                k if REGISTRY_KINDS.contains(&k) => {
                    let p = e.payload_json();
                    if let Some(u) = e.uscc.as_deref().or(str_of(&p, "uscc")) {
                        touched.insert(u.to_string());
                    }
                }
                _ => {}
            }
        }
        if touched.is_empty() {
            return Ok(());
        }
        let model = store::model(&self.db).await?;
        let today = self.fixed_today.unwrap_or_else(batch::today_in_china);
        let actor = Actor::system();
        let touched: Vec<&str> = touched.iter().map(String::as_str).collect();
        // A page at a time, as a full run reads them: memory stays flat however many entities
        // an import event names.
        for page in touched.chunks(batch::PAGE) {
            batch::rescore_in(tx, self.registry.as_ref(), &model, &actor, page, today).await?;
        }
        Ok(())
    }
}

/// The next 02:00 China time strictly after `now`.
pub fn next_run_after(now: DateTime<Utc>) -> DateTime<Utc> {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    let local = now.with_timezone(&cst);
    let two = NaiveTime::from_hms_opt(2, 0, 0).expect("02:00 is a time");
    let mut day = local.date_naive();
    if local.time() >= two {
        day = day.succ_opt().unwrap_or(day);
    }
    cst.from_local_datetime(&day.and_time(two))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now + Duration::days(1))
}

/// Whether a full run is due at start: a nightly run was missed (the last full run ended over
/// a day ago). Never classified: not due (the follower classifies from the event log).
pub fn due_at_start(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last.is_some_and(|t| now - t > Duration::days(1))
}

/// Runs a full recompute of the whole country (trigger `schedule`), unless one is going on.
pub async fn scheduled_run(
    db: &Db,
    registry: &dyn RegistrySource,
    fixed_today: Option<NaiveDate>,
) -> Result<(), AppError> {
    let Ok(_guard) = RunGuard::acquire() else {
        tracing::info!("credit-risk recompute already running; the scheduled run is skipped");
        return Ok(());
    };
    let run = batch::begin_run(db, "schedule").await?;
    let today = fixed_today.unwrap_or_else(batch::today_in_china);
    let s = batch::recompute_all(db, registry, "", run, &Actor::system(), today, |_| {}).await?;
    tracing::info!(
        run = s.run_id,
        entities = s.entities,
        "credit-risk classes recomputed"
    );
    Ok(())
}

/// The daily schedule: at start when due, then every day at 02:00 China time, until
/// `shutdown` turns true.
pub async fn schedule(
    db: Db,
    registry: Arc<dyn RegistrySource>,
    fixed_today: Option<NaiveDate>,
    mut shutdown: watch::Receiver<bool>,
) {
    match store::last_full_run(&db).await {
        Ok(last) if due_at_start(last, Utc::now()) => {
            if let Err(e) = scheduled_run(&db, registry.as_ref(), fixed_today).await {
                tracing::warn!(error = %e, "credit-risk recompute at start failed");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "reading the last credit-risk run failed"),
    }
    loop {
        let wait = (next_run_after(Utc::now()) - Utc::now())
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(60));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|v| *v) => return,
        }
        if let Err(e) = scheduled_run(&db, registry.as_ref(), fixed_today).await {
            tracing::warn!(error = %e, "scheduled credit-risk recompute failed");
        }
    }
}

/// Starts the follower and the schedule beside the server (the server calls this once from
/// its workers); `fixed_today` is the server's fixed day, if it has one.
pub fn spawn(
    db: Db,
    registry: Arc<dyn RegistrySource>,
    fixed_today: Option<NaiveDate>,
    shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(amr_kernel::events::runner::run(
        db.clone(),
        RiskFollower {
            db: db.clone(),
            registry: registry.clone(),
            fixed_today,
        },
        // An import event names up to 10,000 entities: 16 events a batch keep one transaction
        // to at most 160,000 re-scores.
        amr_kernel::events::runner::RunnerOptions {
            batch_size: 16,
            ..Default::default()
        },
        shutdown.clone(),
    ));
    tokio::spawn(schedule(db, registry, fixed_today, shutdown));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn next_run_is_two_in_the_morning_china_time() {
        // 2026-06-01 01:00 CST = 2026-05-31 17:00 UTC → 02:00 CST the same day (18:00 UTC).
        assert_eq!(
            next_run_after(at("2026-05-31T17:00:00Z")),
            at("2026-05-31T18:00:00Z")
        );
        // Exactly 02:00 CST → the next day.
        assert_eq!(
            next_run_after(at("2026-05-31T18:00:00Z")),
            at("2026-06-01T18:00:00Z")
        );
        // Noon CST → 02:00 the next day.
        assert_eq!(
            next_run_after(at("2026-06-01T04:00:00Z")),
            at("2026-06-01T18:00:00Z")
        );
    }

    #[test]
    fn due_at_start_when_a_nightly_run_was_missed_only() {
        let now = at("2026-06-01T04:00:00Z");
        assert!(!due_at_start(None, now));
        assert!(due_at_start(Some(at("2026-05-31T03:00:00Z")), now));
        assert!(!due_at_start(Some(at("2026-05-31T05:00:00Z")), now));
    }

    #[test]
    fn findings_are_problems_and_not_found() {
        assert_eq!(finding_kind("problems"), Some("inspection_finding"));
        assert_eq!(finding_kind("not_found"), Some("not_found_at_address"));
        assert_eq!(finding_kind("normal"), None);
    }
}
