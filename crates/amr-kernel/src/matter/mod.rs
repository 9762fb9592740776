//! The matter (事项/台账) engine: the closed-loop ledger that complaints, reports, requests
//! for help, quality problems, hazards and cases all are.
//!
//! A matter has a kind, a number ([`MatterNumber`], e.g. `GD-2026-000123-K`), a jurisdiction
//! (a division code), an assignee (an account, a unit or both), a state, timestamps, a title
//! and a JSON payload its kind owns. Kinds are declared in code as const tables
//! ([`KindSpec`]; `docs/MATTERS.md` is the guide): states, transitions with who may take them
//! ([`Who`]) and what they require ([`Field`]), terminal states (close-out 销号, with an
//! outcome), reopenings (with a reason), and clocks in working days that start, pause,
//! resume and stop on transitions ([`ClockSpec`], [`ClockEffect`]).
//!
//! The [`Engine`] holds the kinds and the working-day calendar. Each write (`create`, `act`,
//! `assign`, `add_message`, `attach`) runs inside the caller's [`Tx`](crate::db::Tx) and
//! writes its rows, a timeline entry, an event (`kernel.matter.*`, internal unless the
//! transition is marked public) and an audit entry; a refused write changes nothing. Reads go
//! through the jurisdiction filter ([`Scope`](crate::auth::Scope)) in SQL: a matter outside it
//! is [`AppError::NotFound`](crate::error::AppError::NotFound) (an enterprise account sees the
//! matters about its own business).
//!
//! - [`number`]: numbers with an ISO/IEC 7064 MOD 37-2 check character.
//! - [`kind`]: the declaration types and their checks.
//! - [`clock`]: deadline arithmetic in working days.
//! - [`course`]: a matter created and taken through a known course of transitions in one call.
//! - [`store`]: the operations on both backends.
//! - [`escalate`]: the sweep that escalates overdue matters up the jurisdiction.
//! - [`export`]: the ledger as CSV or XLSX, streamed.
//! - [`example`]: a small kind (工单, work order) used by the tests and the guide.

pub mod clock;
pub mod course;
pub mod escalate;
pub mod example;
pub mod export;
pub mod kind;
pub mod number;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

pub use course::CourseStep;
pub use escalate::EscalationReport;
pub use export::{ExportFilter, Format};
pub use kind::{
    Acting, ClockEffect, ClockSpec, Field, Kind, KindSpec, Label, MatterFacts,
    OFFICER_IN_JURISDICTION, Relation, StateSpec, TransferSpec, TransitionSpec, Who, choice, label,
};
pub use number::MatterNumber;
pub use store::{
    ActInput, AssignInput, Attachment, ListFilter, Matter, NewAttachment, NewMatter, Page,
    TimelineEntry,
};

use crate::calendar::Calendar;
use crate::error::AppError;

/// The largest attachment the engine stores (10 MiB).
pub const ATTACHMENT_MAX_BYTES: usize = 10 * 1024 * 1024;

/// The declared kinds and the calendar their clocks count in.
#[derive(Debug)]
pub struct Engine {
    kinds: Vec<Kind>,
    by_name: HashMap<&'static str, usize>,
    calendar: RwLock<Arc<Calendar>>,
}

impl Engine {
    /// An engine over `specs`, counting in the embedded calendar. Every problem of every
    /// declaration is returned (a kind is checked once, here, not on each use); two kinds may
    /// not share a name or a number prefix.
    pub fn new(specs: &[&'static KindSpec]) -> Result<Engine, Vec<String>> {
        let mut problems = Vec::new();
        let mut kinds = Vec::new();
        let mut by_name = HashMap::new();
        let mut prefixes = HashMap::new();
        for spec in specs {
            match Kind::new(spec) {
                Ok(k) => {
                    if by_name.insert(k.name(), kinds.len()).is_some() {
                        problems.push(format!("kind {} declared twice", k.name()));
                    }
                    if let Some(other) = prefixes.insert(k.prefix(), k.name()) {
                        problems.push(format!(
                            "kinds {other} and {} share the prefix {}",
                            k.name(),
                            k.prefix()
                        ));
                    }
                    kinds.push(k);
                }
                Err(p) => problems.extend(p),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Engine {
            kinds,
            by_name,
            calendar: RwLock::new(Arc::new(Calendar::embedded().clone())),
        })
    }

    /// The same engine counting in `calendar` (e.g. `calendar_store::load(db)`).
    pub fn with_calendar(self, calendar: Calendar) -> Engine {
        self.set_calendar(calendar);
        self
    }

    /// Replaces the calendar (after `amr calendar import`, on `kernel.calendar.imported`).
    pub fn set_calendar(&self, calendar: Calendar) {
        *self.calendar.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(calendar);
    }

    /// The calendar in use.
    pub fn calendar(&self) -> Arc<Calendar> {
        self.calendar
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn kinds(&self) -> &[Kind] {
        &self.kinds
    }

    /// The kind named `name`, if declared.
    pub fn kind(&self, name: &str) -> Option<&Kind> {
        self.by_name.get(name).map(|&i| &self.kinds[i])
    }

    /// The kind of a stored matter (a stored kind no longer declared is an internal error).
    pub(crate) fn stored_kind(&self, name: &str) -> Result<&Kind, AppError> {
        self.kind(name).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "a stored matter has kind {name:?}, which this engine does not declare"
            ))
        })
    }

    /// The kind named in an input, or a 400 naming the known kinds.
    pub(crate) fn input_kind(&self, name: &str) -> Result<&Kind, AppError> {
        self.kind(name.trim()).ok_or_else(|| {
            let known: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
            AppError::bad_request(
                "kind",
                format!(
                    "未知的事项类别“{}”，应为 {} 之一 (unknown kind; one of {})",
                    short(name),
                    known.join("、"),
                    known.join(", ")
                ),
            )
        })
    }
}

/// Input echoed in an error message, cut to 40 characters.
pub(crate) fn short(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(40).collect();
        out.push('…');
        out
    }
}

/// China Standard Time (UTC+8), the zone of the dates deadlines count in.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Today's date in China.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&china()).date_naive()
}

/// The first instant of a date in China, in UTC.
pub(crate) fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_local_timezone(china())
        .single()
        .expect("a fixed offset is unambiguous")
        .with_timezone(&Utc)
}

/// The current time at the precision both backends keep (microseconds).
pub(crate) fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}
