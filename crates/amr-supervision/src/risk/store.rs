//! The SQL of the credit-risk classes, on both backends.
//!
//! Tables (migration 3010): `credit_risk` (one row per scored entity, keyed by USCC, with its
//! division for range scans in `(division, uscc)` order), `credit_risk_model` (the model text
//! an administrator set; absent = the shipped default), `credit_risk_observations` (dated facts
//! the score counts; `source_ref` makes recording idempotent) and `credit_risk_runs`.
//!
//! An entity without a row is class B (一般) until it is scored ([`class_of`]).
//!
//! Jurisdiction: officers' reads go through a [`Scope`] (a division-code prefix) here; an
//! entity outside it is [`AppError::NotFound`].

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::auth::Scope;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

use super::model::{DEFAULT_MODEL, Model, Observation, Reason, Scored};
use crate::draw::model::{PerClass, RiskClass};

/// Rows per multi-row statement (7 parameters each: 3,500 per statement).
const CHUNK: usize = 500;
/// USCCs per `IN (...)` list.
const IN_CHUNK: usize = 900;

pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn internal(m: String) -> AppError {
    AppError::Internal(anyhow::anyhow!(m))
}

/// `[prefix, prefix~)`: every division code starting with `prefix`.
fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_string(), format!("{prefix}~"))
}

fn check_prefix(prefix: &str) -> Result<(), AppError> {
    if prefix.len() > 9 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad_request(
            "scope",
            "区划代码应为不超过 9 位的数字 (a division code is at most 9 digits)",
        ));
    }
    Ok(())
}

// ----- the model --------------------------------------------------------------------------

/// The model text in force and who set it (`None`: the shipped default).
#[derive(Debug, Clone, Serialize)]
pub struct ModelText {
    pub toml: String,
    pub version: String,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

/// The model text in force.
pub async fn model_text(db: &Db) -> Result<ModelText, AppError> {
    let row: Option<(String, DateTime<Utc>, String)> = on_conn!(db, c => sqlx::query_as(
        "SELECT toml, updated_at, updated_by FROM credit_risk_model WHERE id = 1",
    )
    .fetch_optional(c)
    .await?);
    Ok(match row {
        Some((toml, at, by)) => ModelText {
            version: super::model::version_of(&toml),
            toml,
            updated_at: Some(at),
            updated_by: Some(by),
        },
        None => ModelText {
            toml: DEFAULT_MODEL.to_string(),
            version: super::model::version_of(DEFAULT_MODEL),
            updated_at: None,
            updated_by: None,
        },
    })
}

/// The model in force.
pub async fn model(db: &Db) -> Result<Model, AppError> {
    Model::parse(&model_text(db).await?.toml)
}

/// Replaces the model (administrators; the caller checks the role). The text is parsed
/// first: a bad one changes nothing. Audited (`risk.model.set`, before and after); event
/// `supervision.risk.model_set` (internal). Classes are not recomputed here: the next run
/// (scheduled or asked for) uses the new model, and each row names the version it used.
pub async fn set_model(tx: &mut Tx, actor: &Actor, text: &str) -> Result<Model, AppError> {
    if text.len() > 64 * 1024 {
        return Err(AppError::bad_request(
            "model",
            "模型不超过 64 KB (the model is at most 64 KB)",
        ));
    }
    let model = Model::parse(text)?;
    let before: Option<String> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT toml FROM credit_risk_model WHERE id = 1",
    )
    .fetch_optional(&mut *c)
    .await?);
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO credit_risk_model (id, toml, updated_at, updated_by) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET toml = excluded.toml, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by",
    )
    .bind(text)
    .bind(now())
    .bind(&actor.name)
    .execute(&mut *c)
    .await?
    .rows_affected());
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "risk.model.set",
            target_kind: "credit_risk_model",
            target_id: "1".into(),
            division: None,
            before: Some(json!(before.unwrap_or_else(|| DEFAULT_MODEL.into()))),
            after: Some(json!(text)),
        },
    )
    .await?;
    events::append(
        tx,
        NewEvent::internal(
            "supervision.risk.model_set",
            json!({"version": model.version}),
        )
        .actor(actor.label()),
    )
    .await?;
    Ok(model)
}

// ----- observations -----------------------------------------------------------------------

/// A dated observation to record.
#[derive(Debug, Clone)]
pub struct NewObservation<'a> {
    pub source_ref: &'a str,
    pub uscc: &'a str,
    pub indicator: &'a str,
    pub observed_on: NaiveDate,
    pub detail: &'a str,
}

/// Records an observation once: a second call with the same `source_ref` changes nothing
/// and returns `false`.
pub async fn record_observation(tx: &mut Tx, o: &NewObservation<'_>) -> Result<bool, AppError> {
    let n = on_tx!(tx, c => sqlx::query(
        "INSERT INTO credit_risk_observations (source_ref, uscc, indicator, observed_on, detail) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source_ref) DO NOTHING",
    )
    .bind(o.source_ref)
    .bind(o.uscc)
    .bind(o.indicator)
    .bind(o.observed_on)
    .bind(o.detail)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(n > 0)
}

fn in_list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

type ObsRow = (String, String, NaiveDate);

fn group(rows: Vec<ObsRow>, out: &mut HashMap<String, Vec<Observation>>) {
    for (uscc, indicator, observed_on) in rows {
        out.entry(uscc).or_default().push(Observation {
            indicator,
            observed_on,
        });
    }
}

/// The observations of `usccs`, by USCC.
pub async fn observations(
    db: &Db,
    usccs: &[&str],
) -> Result<HashMap<String, Vec<Observation>>, AppError> {
    let mut out = HashMap::new();
    for chunk in usccs.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT uscc, indicator, observed_on FROM credit_risk_observations WHERE uscc IN ({})",
            in_list(1, chunk.len())
        );
        let rows: Vec<ObsRow> = on_conn!(db, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(*u);
            }
            q.fetch_all(c).await?
        });
        group(rows, &mut out);
    }
    Ok(out)
}

/// The observations of `usccs`, by USCC, read inside `tx` (so rows it recorded count).
pub async fn observations_in(
    tx: &mut Tx,
    usccs: &[&str],
) -> Result<HashMap<String, Vec<Observation>>, AppError> {
    let mut out = HashMap::new();
    for chunk in usccs.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT uscc, indicator, observed_on FROM credit_risk_observations WHERE uscc IN ({}) \
             ORDER BY observed_on",
            in_list(1, chunk.len())
        );
        let rows: Vec<ObsRow> = on_tx!(tx, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(*u);
            }
            q.fetch_all(&mut *c).await?
        });
        group(rows, &mut out);
    }
    Ok(out)
}

/// An observation as officers see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ObservationRow {
    pub source_ref: String,
    pub indicator: String,
    pub observed_on: NaiveDate,
    pub detail: String,
}

/// The observations of one entity, newest first (at most 200).
pub async fn observation_rows(db: &Db, uscc: &str) -> Result<Vec<ObservationRow>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT source_ref, indicator, observed_on, detail FROM credit_risk_observations \
         WHERE uscc = $1 ORDER BY observed_on DESC, source_ref LIMIT 200",
    )
    .bind(uscc)
    .fetch_all(c)
    .await?))
}

// ----- classes ----------------------------------------------------------------------------

/// A scored entity to write.
#[derive(Debug, Clone)]
pub struct ClassRow {
    pub uscc: String,
    pub division: String,
    pub scored: Scored,
    pub model_version: String,
}

fn reasons_json(reasons: &[Reason]) -> Result<String, AppError> {
    serde_json::to_string(reasons).map_err(|e| internal(format!("risk reasons: {e}")))
}

/// Upserts `rows` in multi-row statements.
pub async fn write_rows(tx: &mut Tx, rows: &[ClassRow]) -> Result<(), AppError> {
    let at = now();
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 7;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO credit_risk (uscc, division, class, score, reasons, model_version, computed_at) \
             VALUES {} ON CONFLICT (uscc) DO UPDATE SET division = excluded.division, \
             class = excluded.class, score = excluded.score, reasons = excluded.reasons, \
             model_version = excluded.model_version, computed_at = excluded.computed_at",
            values.join(", ")
        );
        let mut reasons = Vec::with_capacity(chunk.len());
        for r in chunk {
            reasons.push(reasons_json(&r.scored.reasons)?);
        }
        on_tx!(tx, c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (r, why) in chunk.iter().zip(&reasons) {
                q = q
                    .bind(&r.uscc)
                    .bind(&r.division)
                    .bind(r.scored.class.as_str())
                    .bind(r.scored.score)
                    .bind(why)
                    .bind(&r.model_version)
                    .bind(at);
            }
            q.execute(&mut *c).await?.rows_affected()
        });
    }
    Ok(())
}

/// Deletes the rows of `usccs` (deregistered entities); returns how many there were.
pub async fn delete_rows(tx: &mut Tx, usccs: &[&str]) -> Result<u64, AppError> {
    let mut n = 0;
    for chunk in usccs.chunks(IN_CHUNK) {
        let sql = format!(
            "DELETE FROM credit_risk WHERE uscc IN ({})",
            in_list(1, chunk.len())
        );
        n += on_tx!(tx, c => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(*u);
            }
            q.execute(&mut *c).await?.rows_affected()
        });
    }
    Ok(n)
}

/// A stored class.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    pub uscc: String,
    pub division: String,
    pub class: RiskClass,
    pub score: f64,
    pub reasons: Vec<Reason>,
    pub model_version: String,
    pub computed_at: DateTime<Utc>,
}

type StoredRow = (String, String, String, f64, String, String, DateTime<Utc>);

fn stored(r: StoredRow) -> Result<Stored, AppError> {
    let class =
        RiskClass::parse(&r.2).ok_or_else(|| internal(format!("risk {}: class {:?}", r.0, r.2)))?;
    let reasons =
        serde_json::from_str(&r.4).map_err(|e| internal(format!("risk {}: reasons: {e}", r.0)))?;
    Ok(Stored {
        uscc: r.0,
        division: r.1,
        class,
        score: r.3,
        reasons,
        model_version: r.5,
        computed_at: r.6,
    })
}

const STORED: &str =
    "SELECT uscc, division, class, score, reasons, model_version, computed_at FROM credit_risk";

/// The stored class of `uscc` within `scope` (`None`: not scored, or outside the scope).
pub async fn get(db: &Db, scope: &Scope, uscc: &str) -> Result<Option<Stored>, AppError> {
    let sql = format!(
        "{STORED} WHERE uscc = $1 AND {}",
        scope.division_filter("division", 2)
    );
    let row: Option<StoredRow> = on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(uscc)
        .bind(scope.like_pattern())
        .fetch_optional(c)
        .await?);
    row.map(stored).transpose()
}

/// The stored rows of `usccs`, by USCC, read inside `tx`.
pub async fn get_in(tx: &mut Tx, usccs: &[&str]) -> Result<HashMap<String, Stored>, AppError> {
    let mut out = HashMap::new();
    for chunk in usccs.chunks(IN_CHUNK) {
        let sql = format!("{STORED} WHERE uscc IN ({})", in_list(1, chunk.len()));
        let rows: Vec<StoredRow> = on_tx!(tx, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(*u);
            }
            q.fetch_all(&mut *c).await?
        });
        for r in rows {
            let s = stored(r)?;
            out.insert(s.uscc.clone(), s);
        }
    }
    Ok(out)
}

/// The stored classes of `usccs` (those scored), by USCC, read outside a transaction (the
/// exchange's bank push reads them through the server's facts port). Unscored codes are
/// absent: their class is B.
pub async fn classes_of_many(
    db: &Db,
    usccs: &[&str],
) -> Result<HashMap<String, RiskClass>, AppError> {
    let mut out = HashMap::new();
    for chunk in usccs.chunks(IN_CHUNK) {
        let sql = format!(
            "SELECT uscc, class FROM credit_risk WHERE uscc IN ({})",
            in_list(1, chunk.len())
        );
        let rows: Vec<(String, String)> = on_conn!(db, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(*u);
            }
            q.fetch_all(c).await?
        });
        for (u, c) in rows {
            let class =
                RiskClass::parse(&c).ok_or_else(|| internal(format!("risk {u}: class {c:?}")))?;
            out.insert(u, class);
        }
    }
    Ok(out)
}

/// The class of `uscc`: its stored class, or B (一般) when it has not been scored.
pub async fn class_of(db: &Db, uscc: &str) -> Result<RiskClass, AppError> {
    let c: Option<String> = on_conn!(db, c => sqlx::query_scalar(
        "SELECT class FROM credit_risk WHERE uscc = $1",
    )
    .bind(uscc)
    .fetch_optional(c)
    .await?);
    match c {
        None => Ok(RiskClass::B),
        Some(s) => {
            RiskClass::parse(&s).ok_or_else(|| internal(format!("risk {uscc}: class {s:?}")))
        }
    }
}

/// One page of scored entities whose division starts with `scope` (digits; empty = all), in
/// `(division, uscc)` order after the key `after` (exclusive), at most `limit` (1..=50,000):
/// a range on the `credit_risk_division` index. Entities missing here are class B.
pub async fn classes_page(
    db: &Db,
    scope: &str,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<(String, String, RiskClass)>, AppError> {
    check_prefix(scope)?;
    let (lo, hi) = prefix_range(scope);
    let limit = limit.clamp(1, 50_000);
    let rows: Vec<(String, String, String)> = match after {
        Some((d, u)) => on_conn!(db, c => sqlx::query_as(
            "SELECT division, uscc, class FROM credit_risk \
             WHERE (division, uscc) > ($1, $2) AND division < $3 \
             ORDER BY division, uscc LIMIT $4",
        )
        .bind(d)
        .bind(u)
        .bind(&hi)
        .bind(limit)
        .fetch_all(c)
        .await?),
        None => on_conn!(db, c => sqlx::query_as(
            "SELECT division, uscc, class FROM credit_risk \
             WHERE division >= $1 AND division < $2 \
             ORDER BY division, uscc LIMIT $3",
        )
        .bind(&lo)
        .bind(&hi)
        .bind(limit)
        .fetch_all(c)
        .await?),
    };
    rows.into_iter()
        .map(|(d, u, c)| {
            let class =
                RiskClass::parse(&c).ok_or_else(|| internal(format!("risk {u}: class {c:?}")))?;
            Ok((d, u, class))
        })
        .collect()
}

/// Counts by city (the first 4 digits of the division) and class within `scope`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub by_class: PerClass<i64>,
    pub total: i64,
    pub by_city: Vec<CityCounts>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CityCounts {
    pub city: String,
    pub by_class: PerClass<i64>,
    pub total: i64,
}

/// The distribution of stored classes within `scope`.
pub async fn summary(db: &Db, scope: &Scope) -> Result<Summary, AppError> {
    let mut out = Summary {
        by_class: PerClass::default(),
        total: 0,
        by_city: Vec::new(),
    };
    let Some(prefix) = scope.as_prefix() else {
        return Ok(out);
    };
    let (lo, hi) = prefix_range(prefix);
    let rows: Vec<(String, String, i64)> = on_conn!(db, c => sqlx::query_as(
        "SELECT substr(division, 1, 4) AS city, class, COUNT(*) FROM credit_risk \
         WHERE division >= $1 AND division < $2 GROUP BY substr(division, 1, 4), class \
         ORDER BY 1, 2",
    )
    .bind(&lo)
    .bind(&hi)
    .fetch_all(c)
    .await?);
    for (city, class, n) in rows {
        let Some(class) = RiskClass::parse(&class) else {
            continue;
        };
        if out.by_city.last().map(|c| c.city.as_str()) != Some(city.as_str()) {
            out.by_city.push(CityCounts {
                city: city.clone(),
                by_class: PerClass::default(),
                total: 0,
            });
        }
        if let Some(c) = out.by_city.last_mut() {
            c.by_class.set(class, c.by_class.get(class) + n);
            c.total += n;
        }
        out.by_class.set(class, out.by_class.get(class) + n);
        out.total += n;
    }
    Ok(out)
}

// ----- runs -------------------------------------------------------------------------------

/// A recompute run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: i64,
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub entities: i64,
    pub by_class: PerClass<i64>,
}

type RunRow = (
    i64,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    i64,
    String,
);

fn run_of(r: RunRow) -> Run {
    Run {
        id: r.0,
        trigger: r.1,
        started_at: r.2,
        finished_at: r.3,
        entities: r.4,
        by_class: serde_json::from_str(&r.5).unwrap_or_default(),
    }
}

/// Starts a run; its id.
pub async fn start_run(tx: &mut Tx, trigger: &str) -> Result<i64, AppError> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO credit_risk_runs (trigger, started_at, entities, by_class) \
         VALUES ($1, $2, 0, '{}') RETURNING id",
    )
    .bind(trigger)
    .bind(now())
    .fetch_one(&mut *c)
    .await?))
}

/// Records a run's progress (and its end when `finished`).
pub async fn update_run(
    tx: &mut Tx,
    id: i64,
    entities: i64,
    by_class: &PerClass<i64>,
    finished: bool,
) -> Result<(), AppError> {
    let by = serde_json::to_string(by_class).map_err(|e| internal(format!("run: {e}")))?;
    let at = finished.then(now);
    on_tx!(tx, c => sqlx::query(
        "UPDATE credit_risk_runs SET entities = $1, by_class = $2, \
         finished_at = COALESCE($3, finished_at) WHERE id = $4",
    )
    .bind(entities)
    .bind(by)
    .bind(at)
    .bind(id)
    .execute(&mut *c)
    .await?
    .rows_affected());
    Ok(())
}

/// The latest runs, newest first.
pub async fn runs(db: &Db, limit: i64) -> Result<Vec<Run>, AppError> {
    let rows: Vec<RunRow> = on_conn!(db, c => sqlx::query_as(
        "SELECT id, trigger, started_at, finished_at, entities, by_class FROM credit_risk_runs \
         ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(c)
    .await?);
    Ok(rows.into_iter().map(run_of).collect())
}

/// When the last finished run of the whole country (trigger without a scope) ended.
pub async fn last_full_run(db: &Db) -> Result<Option<DateTime<Utc>>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_scalar(
        "SELECT finished_at FROM credit_risk_runs WHERE finished_at IS NOT NULL \
         AND trigger NOT LIKE '%scope=%' ORDER BY finished_at DESC LIMIT 1",
    )
    .fetch_optional(c)
    .await?)
    .flatten())
}
