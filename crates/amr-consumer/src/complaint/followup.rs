//! What follows each act on a matter, in the act's transaction: the notice to the
//! complainant of the decision (a `complaint_notices` row, shown on the tracking page), and
//! the dashboard's monthly counters per county (`complaint_monthly`): received at filing,
//! accepted with its working days, closed with its working days and the money recovered —
//! taken back when the matter is reopened.
//!
//! Delivery by SMS is a port left for deployment: no SMS gateway exists here; a notice row
//! carries `sms_sent_at` for the sender a deployment wires.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use amr_kernel::db::{AppendTable, Cell, CounterTable, Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::matter::Matter;
use amr_kernel::{on_conn, on_tx};

use super::{engine, kinds, store};

/// `YYYYMM` of a day.
pub fn month_of(d: NaiveDate) -> i32 {
    d.year() * 100 + d.month() as i32
}

/// Working days from `a` to `b` in the engine's calendar; `None` for a year not loaded.
fn working_days(a: NaiveDate, b: NaiveDate) -> Option<i32> {
    engine()
        .calendar()
        .working_days_between(a, b)
        .ok()
        .map(|n| n.max(0) as i32)
}

/// A notice of a decision, as the complainant sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notice {
    pub id: i64,
    pub what: String,
    pub zh: String,
    pub en: String,
    pub created_at: DateTime<Utc>,
}

/// The notice rows, as [`notify`] writes them.
pub static NOTICES: AppendTable = AppendTable {
    name: "complaint_notices",
    columns: &["matter_number", "what", "zh", "en", "created_at"],
};

/// Records a notice for the complainant: at once, or held back with the transaction's other
/// rows when it defers them (the intake's batch; `Tx::defer_appends`).
pub async fn notify(
    tx: &mut Tx,
    number: &str,
    what: &str,
    zh: &str,
    en: &str,
) -> Result<(), AppError> {
    tx.append(
        &NOTICES,
        vec![
            Cell::from(number),
            Cell::from(what),
            Cell::from(zh),
            Cell::from(en),
            Cell::from(store::now()),
        ],
    )
    .await
}

/// The notices of a matter, oldest first.
pub async fn notices(db: &Db, number: &str) -> Result<Vec<Notice>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT id, what, zh, en, created_at FROM complaint_notices WHERE matter_number = $1 \
         ORDER BY id",
    )
    .bind(number)
    .fetch_all(c)
    .await?))
}

/// The notice of a transition: what was decided, the state now, the deadline running.
fn transition_notice(m: &Matter, transition: &str) -> (String, String) {
    let (tz, te) = kinds::transition_label(&m.kind, transition);
    let (sz, se) = kinds::state_label(&m.kind, &m.state);
    let (dz, de) = match m.due_on {
        Some(d) => (format!("，办理期限 {d}"), format!("; due {d}")),
        None => (String::new(), String::new()),
    };
    (
        format!(
            "您的{}{}：{}，当前状态：{}{}",
            kind_zh(&m.kind),
            m.number,
            tz,
            sz,
            dz
        ),
        format!(
            "Your {} {}: {}; now {}{}",
            kind_en(&m.kind),
            m.number,
            te,
            se,
            de
        ),
    )
}

fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "report" => "举报",
        "help" => "咨询求助",
        _ => "投诉",
    }
}

fn kind_en(kind: &str) -> &'static str {
    match kind {
        "report" => "report",
        "help" => "request for help",
        _ => "complaint",
    }
}

struct Delta {
    received: i64,
    accepted: i64,
    accept_wd: i64,
    closed: i64,
    close_wd: i64,
    close_wd_n: i64,
    fen: i64,
}

const ZERO: Delta = Delta {
    received: 0,
    accepted: 0,
    accept_wd: 0,
    closed: 0,
    close_wd: 0,
    close_wd_n: 0,
    fen: 0,
};

/// The monthly counters, as [`bump`] adds to them.
pub static MONTHLY: CounterTable = CounterTable {
    name: "complaint_monthly",
    keys: &["division", "month"],
    counts: &[
        "received",
        "accepted",
        "accept_wd_sum",
        "closed",
        "close_wd_sum",
        "close_wd_n",
        "recovered_fen",
    ],
};

/// Adds to a county's counters of a month: at once, or summed per county and month with the
/// transaction's other held-back rows when it defers them (the intake's batch).
async fn bump(tx: &mut Tx, division: &str, month: i32, d: Delta) -> Result<(), AppError> {
    tx.add_counts(
        &MONTHLY,
        vec![Cell::from(division), Cell::from(month)],
        &[
            d.received,
            d.accepted,
            d.accept_wd,
            d.closed,
            d.close_wd,
            d.close_wd_n,
            d.fen,
        ],
    )
    .await
}

/// After a filing: the month's received counter and the notice of where the matter went.
pub async fn after_filing(
    tx: &mut Tx,
    m: &Matter,
    transition: Option<&str>,
    today: NaiveDate,
) -> Result<(), AppError> {
    bump(
        tx,
        &m.division,
        month_of(today),
        Delta {
            received: 1,
            ..ZERO
        },
    )
    .await?;
    let (zh, en) = match transition {
        Some(t) => transition_notice(m, t),
        None => (
            format!(
                "您的{}{}已登记，由{}办理",
                kind_zh(&m.kind),
                m.number,
                super::views::division_name(&m.division)
            ),
            format!(
                "Your {} {} is registered with {}",
                kind_en(&m.kind),
                m.number,
                m.division
            ),
        ),
    };
    notify(tx, &m.number, transition.unwrap_or("filed"), &zh, &en).await
}

/// The columns of a complaint's row the dashboard's counters were taken from: the month
/// and working days its close-out was counted with, and its money.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counted {
    closed_month: Option<i32>,
    close_wd: Option<i32>,
    counted_fen: Option<i64>,
}

/// What a transition does to the counters and to the row's counted columns (pure: shared
/// by [`after_act`], which reads and updates the row, and [`after_course`], which fills the
/// row before it is written).
struct Followed {
    /// An acceptance: its day and working days since filing.
    accepted: Option<(NaiveDate, Option<i32>)>,
    /// The counted columns after the transition.
    counted: Counted,
    /// The additions to the counters, by month.
    deltas: Vec<(i32, Delta)>,
}

/// `m` as the transition `transition` on `today` left it; `filed` the day filed; `before`
/// the row's counted columns; `settlement_fen` and `recovered_fen` the row's money.
fn follow(
    m: &Matter,
    transition: &str,
    today: NaiveDate,
    filed: NaiveDate,
    before: Counted,
    settlement_fen: Option<i64>,
    recovered_fen: Option<i64>,
) -> Followed {
    let mut out = Followed {
        accepted: None,
        counted: before,
        deltas: Vec::new(),
    };
    if transition == "accept" {
        let wd = working_days(filed, today);
        out.accepted = Some((today, wd));
        out.deltas.push((
            month_of(today),
            Delta {
                accepted: i64::from(wd.is_some()),
                accept_wd: i64::from(wd.unwrap_or(0)),
                ..ZERO
            },
        ));
    }
    if m.closed_at.is_none()
        && let Some(month) = before.closed_month
    {
        // Reopened: the earlier close no longer counts.
        out.deltas.push((
            month,
            Delta {
                closed: -1,
                close_wd: -i64::from(before.close_wd.unwrap_or(0)),
                close_wd_n: -i64::from(before.close_wd.is_some()),
                fen: -before.counted_fen.unwrap_or(0),
                ..ZERO
            },
        ));
        out.counted = Counted::default();
    }
    if m.closed_at.is_some() && before.closed_month.is_none() {
        let wd = working_days(filed, today);
        let fen = if m.outcome.as_deref() == Some("odr_settled") {
            settlement_fen.unwrap_or(0)
        } else {
            recovered_fen.unwrap_or(0)
        };
        let month = month_of(today);
        out.counted = Counted {
            closed_month: Some(month),
            close_wd: wd,
            counted_fen: Some(fen),
        };
        out.deltas.push((
            month,
            Delta {
                closed: 1,
                close_wd: i64::from(wd.unwrap_or(0)),
                close_wd_n: i64::from(wd.is_some()),
                fen,
                ..ZERO
            },
        ));
    }
    out
}

/// After a transition taken on the matter (`m` as it is now; the complaint row already in
/// step with it): the notice and the counters. An acceptance records its working days; a
/// close-out (any terminal state) its working days and the money (the recovered amount of a
/// close, the settlement of an ODR settlement); leaving a terminal state takes the close
/// back from the month it was counted in.
pub async fn after_act(
    tx: &mut Tx,
    m: &Matter,
    transition: &str,
    today: NaiveDate,
) -> Result<(), AppError> {
    let row = store::get_tx(tx, &m.number).await?;
    let filed = row.filed_on.unwrap_or_else(|| row.created_at.date_naive());
    let before = Counted {
        closed_month: row.closed_month,
        close_wd: row.close_wd,
        counted_fen: row.counted_fen,
    };
    let f = follow(
        m,
        transition,
        today,
        filed,
        before,
        row.settlement_fen,
        row.recovered_fen,
    );
    if let Some((on, wd)) = f.accepted {
        on_tx!(tx, c => sqlx::query(
            "UPDATE complaints SET accepted_on = $2, accept_wd = $3 WHERE matter_number = $1",
        )
        .bind(&m.number)
        .bind(on)
        .bind(wd)
        .execute(&mut *c)
        .await?
        .rows_affected());
    }
    if f.counted != before {
        on_tx!(tx, c => sqlx::query(
            "UPDATE complaints SET closed_month = $2, close_wd = $3, counted_fen = $4 \
             WHERE matter_number = $1",
        )
        .bind(&m.number)
        .bind(f.counted.closed_month)
        .bind(f.counted.close_wd)
        .bind(f.counted.counted_fen)
        .execute(&mut *c)
        .await?
        .rows_affected());
    }
    for (month, d) in f.deltas {
        bump(tx, &m.division, month, d).await?;
    }
    let (zh, en) = transition_notice(m, transition);
    notify(tx, &m.number, transition, &zh, &en).await
}

/// [`after_act`] for the transitions of a course (`intake::record_course`), before the
/// complaint's row is written: each step is the matter after it, the transition and its
/// day; `filed` is the day filed. The counters are added and the notices recorded as
/// `after_act` would one by one ([`follow`], the same arithmetic); the acceptance and
/// close-out columns it would set in the row go into `later` (its ODR answer and money
/// recovered already as the course leaves them), which the row is then written with.
pub async fn after_course(
    tx: &mut Tx,
    steps: &[(&Matter, &str, NaiveDate)],
    filed: NaiveDate,
    later: &mut store::Later,
) -> Result<(), AppError> {
    for &(m, transition, today) in steps {
        let before = Counted {
            closed_month: later.closed_month,
            close_wd: later.close_wd,
            counted_fen: later.counted_fen,
        };
        let f = follow(
            m,
            transition,
            today,
            filed,
            before,
            later.settlement_fen,
            later.recovered_fen,
        );
        if let Some((on, wd)) = f.accepted {
            later.accepted_on = Some(on);
            later.accept_wd = wd;
        }
        later.closed_month = f.counted.closed_month;
        later.close_wd = f.counted.close_wd;
        later.counted_fen = f.counted.counted_fen;
        for (month, d) in f.deltas {
            bump(tx, &m.division, month, d).await?;
        }
        let (zh, en) = transition_notice(m, transition);
        notify(tx, &m.number, transition, &zh, &en).await?;
    }
    Ok(())
}

/// After a transfer: the notice of the new bureau.
pub async fn after_transfer(tx: &mut Tx, m: &Matter) -> Result<(), AppError> {
    let name = super::views::division_name(&m.division);
    notify(
        tx,
        &m.number,
        "transfer",
        &format!("您的{}{}已转至{}办理", kind_zh(&m.kind), m.number, name),
        &format!(
            "Your {} {} was transferred to {} ({})",
            kind_en(&m.kind),
            m.number,
            name,
            m.division
        ),
    )
    .await
}
