//! A matter created and taken through a known course of transitions in one call
//! ([`Engine::create_with_course`]): what a ledger brought over from another system, or the
//! demo's year of complaints, needs — matters whose whole history is known when they are
//! written.
//!
//! The course is checked and played in memory first (the same checks, in the same order, as
//! [`Engine::create`] and then [`Engine::act_on`] for each step; the clocks started, paused,
//! resumed and stopped by the same arithmetic), and only then written: the matter's row in
//! its final state, its timeline entries, its clock rows as they end, and the events and
//! audit entries of the creation and of every transition, in that order. The rows are those
//! the calls one by one would leave (`crates/amr-kernel/tests/course.rs` compares them); the
//! writes go through `Tx::append`, so a deferring transaction holds them back and writes a
//! course in a handful of multi-row statements, with one statement of its own (the matter's
//! `INSERT ... RETURNING`, for its id).
//!
//! A course that fails a check anywhere writes nothing, and the error is the one the first
//! failing call would have given.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use super::clock;
use super::kind::{Acting, ClockEffect, Kind, TransitionSpec, not_allowed};
use super::number::MatterNumber;
use super::store::{self, CLOCKS, Created, Matter, MatterRow, NewMatter, RETURNING};
use super::{Engine, now};
use crate::audit::Actor;
use crate::calendar::Calendar;
use crate::db::{Cell, Tx};
use crate::error::AppError;
use crate::on_tx;

/// One transition of a course: who takes it, which, with what fields, on which day (the
/// day its clocks count from).
#[derive(Debug, Clone)]
pub struct CourseStep<'a> {
    pub acting: &'a Acting,
    pub transition: &'a str,
    pub fields: BTreeMap<String, String>,
    pub day: NaiveDate,
}

/// A clock as the course leaves it.
struct SimClock {
    name: &'static str,
    working_days: u32,
    started_on: NaiveDate,
    due_on: NaiveDate,
    state: &'static str,
    paused_on: Option<NaiveDate>,
    paused_days: i64,
    stopped_on: Option<NaiveDate>,
}

/// A timeline entry to write.
struct Entry<'a> {
    entry: &'static str,
    actor: &'a Actor,
    transition: Option<&'static str>,
    from: Option<&'static str>,
    to: Option<&'static str>,
    body: Value,
}

/// The clocks and the timeline of a course, played in memory as the store's clock functions
/// (`start_clock`, `stop_clock`, `apply_clocks`, `stop_all_clocks`) would write them.
#[derive(Default)]
struct Sim<'a> {
    clocks: Vec<SimClock>,
    entries: Vec<Entry<'a>>,
    late: bool,
}

impl<'a> Sim<'a> {
    /// The newest clock of this name that is not stopped.
    fn active(&self, name: &str) -> Option<usize> {
        self.clocks
            .iter()
            .rposition(|c| c.name == name && c.state != "stopped")
    }

    fn clock_entry(&mut self, entry: &'static str, actor: &'a Actor, body: Value) {
        self.entries.push(Entry {
            entry,
            actor,
            transition: None,
            from: None,
            to: None,
            body,
        });
    }

    fn start(
        &mut self,
        actor: &'a Actor,
        name: &'static str,
        working_days: u32,
        today: NaiveDate,
        due: NaiveDate,
    ) {
        self.clocks.push(SimClock {
            name,
            working_days,
            started_on: today,
            due_on: due,
            state: "running",
            paused_on: None,
            paused_days: 0,
            stopped_on: None,
        });
        self.clock_entry(
            "clock_started",
            actor,
            json!({"clock": name, "on": today, "working_days": working_days, "due_on": due}),
        );
    }

    fn stop(
        &mut self,
        cal: &Calendar,
        actor: &'a Actor,
        i: usize,
        today: NaiveDate,
    ) -> Result<(), AppError> {
        let c = &mut self.clocks[i];
        let paused_on = c.paused_on.filter(|_| c.state == "paused");
        let (due, paused_days, late) =
            clock::stopped(cal, c.due_on, c.paused_days, paused_on, today)?;
        c.state = "stopped";
        c.due_on = due;
        c.paused_on = None;
        c.paused_days = paused_days;
        c.stopped_on = Some(today);
        let name = c.name;
        self.late |= late;
        self.clock_entry(
            "clock_stopped",
            actor,
            json!({"clock": name, "on": today, "due_on": due, "late": late, "paused_days": paused_days}),
        );
        Ok(())
    }

    fn apply(
        &mut self,
        cal: &Calendar,
        kind: &Kind,
        actor: &'a Actor,
        effects: &[ClockEffect],
        today: NaiveDate,
    ) -> Result<(), AppError> {
        for effect in effects {
            let name = effect.clock();
            let spec = kind.clock(name).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("kind {}: clock {name}", kind.name()))
            })?;
            let active = self.active(name);
            match (effect, active) {
                (ClockEffect::Start(_), active) => {
                    if let Some(i) = active {
                        self.stop(cal, actor, i, today)?;
                    }
                    let due = clock::due_on(cal, today, spec.working_days)?;
                    self.start(actor, spec.name, spec.working_days, today, due);
                }
                (ClockEffect::Pause(_), Some(i)) if self.clocks[i].state == "running" => {
                    let c = &mut self.clocks[i];
                    c.state = "paused";
                    c.paused_on = Some(today);
                    let due = c.due_on;
                    self.clock_entry(
                        "clock_paused",
                        actor,
                        json!({"clock": name, "on": today, "due_on": due}),
                    );
                }
                (ClockEffect::Resume(_), Some(i)) if self.clocks[i].state == "paused" => {
                    let c = &mut self.clocks[i];
                    let paused_on = c.paused_on.unwrap_or(today);
                    let (days, due) = clock::resumed(cal, c.due_on, paused_on, today)?;
                    c.state = "running";
                    c.paused_on = None;
                    c.paused_days += i64::from(days);
                    c.due_on = due;
                    self.clock_entry(
                        "clock_resumed",
                        actor,
                        json!({"clock": name, "on": today, "paused_working_days": days, "due_on": due}),
                    );
                }
                (ClockEffect::Stop(_), Some(i)) => self.stop(cal, actor, i, today)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Stops every active clock, in the order they were started (on close-out).
    fn stop_all(
        &mut self,
        cal: &Calendar,
        actor: &'a Actor,
        today: NaiveDate,
    ) -> Result<(), AppError> {
        let names: Vec<&'static str> = self
            .clocks
            .iter()
            .filter(|c| c.state != "stopped")
            .map(|c| c.name)
            .collect();
        for name in names {
            if let Some(i) = self.active(name) {
                self.stop(cal, actor, i, today)?;
            }
        }
        Ok(())
    }

    /// The earliest due date of the running clocks.
    fn due(&self) -> Option<NaiveDate> {
        self.clocks
            .iter()
            .filter(|c| c.state == "running")
            .map(|c| c.due_on)
            .min()
    }
}

/// The matter as it is after each call of the course.
struct Snapshot {
    state: &'static str,
    outcome: Option<String>,
    due_on: Option<NaiveDate>,
    late: bool,
    closed: bool,
}

/// A transition checked and played: its spec, its outcome, its parsed fields.
type Played = (
    &'static TransitionSpec,
    Option<String>,
    BTreeMap<String, Value>,
);

impl Engine {
    /// [`Engine::create`] on `created_on` and then [`Engine::act_on`] for each of `steps` in
    /// order (each on the matter the one before returned, by the step's actor, on the step's
    /// day), with the same checks and the same rows, events and audit entries — but every
    /// check comes before anything is written, and the matter's row is inserted once, in its
    /// final state. Returns the matter after the creation and after each step (the last is
    /// what is stored). A refused step writes nothing at all, with the error its call would
    /// have given. The course's events and audit entries are written together: the
    /// creation's, then each transition's.
    pub async fn create_with_course(
        &self,
        tx: &mut Tx,
        acting: &Acting,
        new: &NewMatter,
        created_on: NaiveDate,
        steps: &[CourseStep<'_>],
    ) -> Result<Vec<Matter>, AppError> {
        let p = self.prepare_new(tx, acting, new, created_on).await?;
        let kind: &Kind = p.kind;
        let spec = kind.spec();
        let cal = self.calendar();
        let facts = p.facts(acting);
        let mut sim = Sim::default();
        sim.entries.push(Entry {
            entry: "created",
            actor: &acting.actor,
            transition: None,
            from: None,
            to: Some(spec.initial),
            body: json!({"title": p.title, "division": p.division, "assignee_account": p.assignee_account, "assignee_unit": p.unit}),
        });
        sim.apply(&cal, kind, &acting.actor, spec.on_create, created_on)?;
        let mut snaps = vec![Snapshot {
            state: spec.initial,
            outcome: None,
            due_on: sim.due(),
            late: sim.late,
            closed: false,
        }];
        let mut played: Vec<Played> = Vec::with_capacity(steps.len());
        for step in steps {
            let state = snaps.last().map_or(spec.initial, |s| s.state);
            if !step.acting.sees(&facts) {
                return Err(AppError::NotFound);
            }
            let t: &'static TransitionSpec = kind
                .transition(step.transition.trim())
                .ok_or_else(|| store::no_such_transition(kind, step.transition))?;
            if !t.who.allows(step.acting, &facts) {
                return Err(not_allowed(t.label, &t.who));
            }
            if !t.from.contains(&state) {
                return Err(store::not_possible(kind, state, t));
            }
            let fields = kind.check_fields(t, &step.fields)?;
            let to = kind.state(t.to).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("kind {}: state {}", kind.name(), t.to))
            })?;
            let from_terminal = kind.state(state).is_some_and(|s| s.terminal);
            let outcome: Option<String> = if to.terminal {
                fields
                    .get("outcome")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            } else {
                None
            };
            sim.entries.push(Entry {
                entry: if from_terminal {
                    "reopened"
                } else {
                    "transition"
                },
                actor: &step.acting.actor,
                transition: Some(t.name),
                from: Some(state),
                to: Some(t.to),
                body: json!({"fields": fields}),
            });
            sim.apply(&cal, kind, &step.acting.actor, t.clocks, step.day)?;
            if to.terminal {
                sim.stop_all(&cal, &step.acting.actor, step.day)?;
            }
            snaps.push(Snapshot {
                state: t.to,
                outcome: outcome.clone(),
                due_on: sim.due(),
                late: sim.late,
                closed: to.terminal,
            });
            played.push((t, outcome, fields));
        }

        // Everything is checked: write.
        let last = snaps.last().expect("the creation's snapshot");
        let at = now();
        let year = created_on.year();
        let seq = store::next_seq(tx, kind.prefix(), year).await?;
        let number = MatterNumber::new(kind.prefix(), year, seq as u64)?.to_string();
        let sql = format!(
            "INSERT INTO matters (number, kind, title, division, uscc, assignee_account, \
             assignee_unit, state, version, payload, outcome, due_on, late, escalated_to, \
             created_by, created_by_account, created_at, updated_at, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, $14, $15, \
             $16, $16, $17) RETURNING {RETURNING}"
        );
        let row: MatterRow = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&number)
            .bind(kind.name())
            .bind(&p.title)
            .bind(&p.division)
            .bind(&p.uscc)
            .bind(p.assignee_account)
            .bind(&p.unit)
            .bind(last.state)
            .bind(snaps.len() as i64)
            .bind(&p.payload_text)
            .bind(&last.outcome)
            .bind(last.due_on)
            .bind(last.late)
            .bind(acting.actor.label())
            .bind(acting.account)
            .bind(at)
            .bind(if last.closed { Some(at) } else { None })
            .fetch_one(&mut *c)
            .await?);
        let stored: Matter = row.try_into()?;
        let id = stored.id;
        for e in &sim.entries {
            store::timeline_entry(
                tx,
                id,
                e.entry,
                e.actor,
                e.transition,
                e.from,
                e.to,
                &e.body,
                false,
            )
            .await?;
        }
        for c in &sim.clocks {
            tx.append(
                &CLOCKS,
                vec![
                    Cell::from(id),
                    Cell::from(c.name),
                    Cell::from(c.state),
                    Cell::from(i64::from(c.working_days)),
                    Cell::from(c.started_on),
                    Cell::from(c.due_on),
                    Cell::Date(c.paused_on),
                    Cell::from(c.paused_days),
                    Cell::Date(c.stopped_on),
                ],
            )
            .await?;
        }
        store::created_records(
            tx,
            acting,
            Created {
                id,
                number: &number,
                kind,
                title: &p.title,
                division: &p.division,
                uscc: p.uscc.as_deref(),
                payload: &p.payload,
                assignee_account: p.assignee_account,
                unit: p.unit.as_deref(),
            },
        )
        .await?;
        let matters: Vec<Matter> = snaps
            .iter()
            .enumerate()
            .map(|(i, s)| Matter {
                state: s.state.to_string(),
                version: i as i64 + 1,
                outcome: s.outcome.clone(),
                due_on: s.due_on,
                late: s.late,
                closed_at: if s.closed { Some(at) } else { None },
                ..stored.clone()
            })
            .collect();
        for (i, (t, outcome, fields)) in played.iter().enumerate() {
            store::acted_records(tx, steps[i].acting, &matters[i], t, outcome, fields).await?;
        }
        if steps.is_empty() && spec.on_create.is_empty() {
            tx.fresh_matters.push(id);
        }
        Ok(matters)
    }
}
