//! Escalation (督办) of overdue matters up the jurisdiction.
//!
//! [`Engine::escalate_overdue`] is a sweep: it pages through the running clocks due before
//! `today` and, for each, works out the level reached ([`clock::level_reached`]: the first
//! working day past due is level 1, then one more level every `escalate_every` working days)
//! and the chain of divisions above the matter's (a county's city, then its province;
//! statistical groupings such as `1101 市辖区` are skipped). Each level not yet recorded for
//! that clock is recorded once (`matter_escalations` is unique on clock and level, so a
//! sweep run twice, or by two processes at once, escalates nothing twice), with a timeline
//! entry, the internal event `kernel.matter.escalated` and an audit entry by `system`, in one
//! transaction per clock. The matter's `escalated_to` is the highest division reached and its
//! `late` flag is set.
//!
//! The server runs it for the consumer context's kinds (complaints, reports, help requests):
//! `amr_server::consumer_wiring::odr_sweeper` calls it on the complaint engine at start and
//! every 10 minutes. Contract-review matters are not escalated yet: there is no server-wide
//! engine that holds every kind. Running it more often is harmless but not free: each sweep
//! reads every running clock past due again, 500 a query (`docs/MATTERS.md`).

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use super::clock;
use super::kind::Acting;
use super::store::{refresh_due, timeline_entry};
use super::{Engine, now};
use crate::audit::{self, Change};
use crate::codes::division::divisions;
use crate::db::{Db, Tx, TxInner};
use crate::error::AppError;
use crate::events::{self, NewEvent};
use crate::{on_conn, on_tx};

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EscalationReport {
    /// Running clocks past due that were looked at.
    pub examined: u64,
    /// Escalations recorded (one per clock and level).
    pub escalated: u64,
}

/// The divisions above `code`, nearest first, without statistical groupings.
pub fn escalation_chain(code: &str) -> Vec<&'static str> {
    let mut path = divisions().path(code);
    path.pop(); // the division itself
    path.into_iter()
        .rev()
        .filter(|d| !d.is_grouping())
        .map(|d| d.code)
        .collect()
}

#[derive(sqlx::FromRow)]
struct Candidate {
    clock_id: i64,
    matter_id: i64,
    name: String,
    due_on: NaiveDate,
    kind: String,
    division: String,
    /// The highest level already recorded for this clock.
    done: Option<i64>,
}

impl Engine {
    /// Escalates every matter whose running clock is past due on `today` (see the module
    /// notes). Idempotent.
    pub async fn escalate_overdue(
        &self,
        db: &Db,
        today: NaiveDate,
    ) -> Result<EscalationReport, AppError> {
        let cal = self.calendar();
        let mut report = EscalationReport::default();
        let mut after = 0i64;
        loop {
            let page: Vec<Candidate> = on_conn!(db, c => sqlx::query_as(
                "SELECT k.id AS clock_id, k.matter_id, k.name, k.due_on, m.kind, m.division, \
                 (SELECT MAX(x.level) FROM matter_escalations x WHERE x.clock_id = k.id) AS done \
                 FROM matter_clocks k JOIN matters m ON m.id = k.matter_id \
                 WHERE k.state = 'running' AND k.due_on < $1 AND k.id > $2 ORDER BY k.id LIMIT 500",
            )
            .bind(today)
            .bind(after)
            .fetch_all(c)
            .await?);
            let Some(last) = page.last() else { break };
            after = last.clock_id;
            for cand in page {
                report.examined += 1;
                let kind = self.stored_kind(&cand.kind)?;
                let Some(spec) = kind.clock(&cand.name) else {
                    tracing::warn!(
                        kind = kind.name(),
                        clock = cand.name,
                        "a stored clock is no longer declared; not escalated"
                    );
                    continue;
                };
                let level = clock::level_reached(&cal, cand.due_on, today, spec.escalate_every)?;
                // Nothing new: not late enough, or every level reached is recorded (a sweep
                // with nothing to do opens no transaction).
                let top = (level as usize).min(escalation_chain(&cand.division).len()) as i64;
                if top <= cand.done.unwrap_or(0) {
                    continue;
                }
                let mut tx = db.begin().await?;
                let n = escalate_one(&mut tx, &cand, level, today).await?;
                tx.commit().await?;
                report.escalated += n;
            }
        }
        Ok(report)
    }
}

/// Records the levels up to `level` of one clock not recorded yet; returns how many.
async fn escalate_one(
    tx: &mut Tx,
    cand: &Candidate,
    level: u32,
    today: NaiveDate,
) -> Result<u64, AppError> {
    // Read again in the transaction: the clock may have stopped since the page was read.
    tx.flush_appends().await?;
    let lock = match tx.inner {
        TxInner::Postgres(_) => " FOR UPDATE",
        TxInner::Sqlite(_) => "",
    };
    let sql = format!(
        "SELECT m.number, m.division, m.escalated_to, k.state, k.due_on \
         FROM matters m JOIN matter_clocks k ON k.matter_id = m.id \
         WHERE k.id = $1{lock}"
    );
    let (number, division, escalated_to, state, due_on): (
        String,
        String,
        Option<String>,
        String,
        NaiveDate,
    ) = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(cand.clock_id)
        .fetch_one(&mut *c)
        .await?);
    if state != "running" || due_on != cand.due_on {
        return Ok(0);
    }
    let chain = escalation_chain(&division);
    let top = (level as usize).min(chain.len());
    let system = Acting::system();
    let mut done = 0;
    let mut reached: Option<&str> = None;
    for l in 1..=top {
        let to = chain[l - 1];
        let inserted = on_tx!(tx, c => sqlx::query(
            "INSERT INTO matter_escalations (matter_id, clock_id, level, division, escalated_on, at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (clock_id, level) DO NOTHING",
        )
        .bind(cand.matter_id)
        .bind(cand.clock_id)
        .bind(l as i64)
        .bind(to)
        .bind(today)
        .bind(now())
        .execute(&mut *c)
        .await?
        .rows_affected());
        if inserted == 0 {
            continue;
        }
        done += 1;
        reached = Some(to);
        let name = divisions().full_name(to).unwrap_or_default();
        let body = json!({
            "clock": cand.name, "level": l, "division": to, "division_name": name,
            "due_on": cand.due_on, "on": today,
        });
        timeline_entry(
            tx,
            cand.matter_id,
            "escalated",
            &system.actor,
            None,
            None,
            None,
            &body,
            false,
        )
        .await?;
        events::append(
            tx,
            NewEvent::internal(
                "kernel.matter.escalated",
                json!({
                    "id": cand.matter_id, "number": number, "kind": cand.kind,
                    "clock": cand.name, "level": l, "to": to, "due_on": cand.due_on,
                }),
            )
            .division(&division)
            .actor(system.actor.label()),
        )
        .await?;
        audit::append(
            tx,
            &system.actor,
            Change {
                action: "matter.escalate",
                target_kind: "matter",
                target_id: number.clone(),
                division: Some(division.clone()),
                before: None,
                after: Some(body),
            },
        )
        .await?;
    }
    if let Some(to) = reached {
        // The highest division reached: a shorter code is a higher level.
        let higher = escalated_to.as_deref().is_none_or(|e| to.len() < e.len());
        let new_to = if higher {
            Some(to.to_string())
        } else {
            escalated_to
        };
        on_tx!(tx, c => sqlx::query(
            "UPDATE matters SET escalated_to = $2, late = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(cand.matter_id)
        .bind(&new_to)
        .bind(true)
        .bind(now())
        .execute(&mut *c)
        .await?
        .rows_affected());
        refresh_due(tx, cand.matter_id).await?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_go_up_to_the_province() {
        assert_eq!(escalation_chain("370102"), vec!["3701", "37"]);
        assert_eq!(escalation_chain("370102001"), vec!["370102", "3701", "37"]);
        assert_eq!(escalation_chain("3701"), vec!["37"]);
        assert!(escalation_chain("37").is_empty());
        // A district of a municipality goes straight to the municipality.
        assert_eq!(escalation_chain("110101"), vec!["11"]);
    }
}
