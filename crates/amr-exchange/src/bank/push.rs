//! Push runs: the consenting enterprises that match a bank's criteria, sent to the bank as
//! the change of its list.
//!
//! A run pages through the consents (the small, opt-in side; [`PAGE`] codes a page, never
//! everything at once), asks the facts port for each page, and compares the matches with
//! what the bank holds (`bank_pushed.listed`): an enterprise that matches and is not listed is
//! **added**; a listed one that no longer matches (or left the registry) is **removed**
//! (`no_longer_matches`); a second pass over the listed enterprises without consent removes
//! them (`consent_withdrawn`). The first run of a bank therefore sends the full list, every
//! later run only the delta. Changes go out in messages of at most [`CHUNK`] entities, each a
//! signed delivery with its idempotency key (`BANK:push:RUN:SEQ`), retried and acknowledged
//! like any delivery; each message and the list rows it changes commit together, so a run
//! that stops half-way leaves a list that is true to what was sent, and the next run sends
//! the rest. The last message of a run says `"last": true`; a run with no change sends none.
//!
//! A message carries only what a bank needs: USCC, name, entity type, industry, division,
//! establishment date, and the risk class only when the bank's criteria use it.
//!
//! A message the bank **rejects** (a final `rejected` acknowledgement) is undone on AMR's
//! side in the transaction that records the rejection ([`undo_rejected`]): the entities it
//! added leave the bank's list again (a row the message created is deleted, so a loan for it
//! is refused as for any entity never pushed), the ones it removed return to the list, unless
//! a later run has changed them since. The next run finds the same difference and sends it
//! again; the rejected delivery stays as evidence with the bank's reason.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use amr_kernel::audit::{self, Actor};
use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::sharing::{EntityFactsSource, SharedFacts};
use amr_kernel::signing::Keyring;
use amr_kernel::{on_conn, on_tx};

use super::{Criteria, consent, criteria};
use crate::agency::{self, Agency};
use crate::delivery;

/// Consents read (and facts asked for) a page.
pub const PAGE: i64 = 500;
/// Entities (added + removed) in one message at most.
pub const CHUNK: usize = 500;
/// The delivery kind of push messages.
pub const KIND: &str = "bank.push";

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Undoes, in `tx`, the list changes of push message `message` (its signed JSON as sent) that
/// bank `agency_id` rejected; the rows a later run has changed since are left alone. Returns
/// how many rows changed back.
pub(crate) async fn undo_rejected(
    tx: &mut amr_kernel::db::Tx,
    agency_id: i64,
    message: &str,
) -> Result<u64, AppError> {
    let bad = || {
        AppError::Internal(anyhow::anyhow!(
            "bank push message {message:.80} is not readable"
        ))
    };
    let v: Value = serde_json::from_str(message).map_err(|_| bad())?;
    let run = v["run"].as_i64().ok_or_else(bad)?;
    let codes = |field: &str| -> Vec<String> {
        v[field]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["uscc"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let at = now();
    let mut changed = 0u64;
    for u in codes("added") {
        // Created by this message: as if never sent. Listed again by it: off the list.
        changed += on_tx!(tx, c => sqlx::query(
            "DELETE FROM bank_pushed WHERE agency_id = $1 AND uscc = $2 AND first_run_id = $3 \
             AND last_run_id = $3 AND listed = $4",
        )
        .bind(agency_id)
        .bind(&u)
        .bind(run)
        .bind(true)
        .execute(&mut *c)
        .await?
        .rows_affected());
        changed += relist(tx, agency_id, &u, run, false, at).await?;
    }
    for u in codes("removed") {
        changed += relist(tx, agency_id, &u, run, true, at).await?;
    }
    Ok(changed)
}

/// Sets `uscc`'s place on bank `agency_id`'s list to `listed`, if run `run` was the last to
/// change it and it is not there already.
async fn relist(
    tx: &mut amr_kernel::db::Tx,
    agency_id: i64,
    uscc: &str,
    run: i64,
    listed: bool,
    at: DateTime<Utc>,
) -> Result<u64, AppError> {
    Ok(on_tx!(tx, c => sqlx::query(
        "UPDATE bank_pushed SET listed = $4, updated_at = $5 WHERE agency_id = $1 AND uscc = $2 \
         AND last_run_id = $3 AND listed = $6",
    )
    .bind(agency_id)
    .bind(uscc)
    .bind(run)
    .bind(listed)
    .bind(at)
    .bind(!listed)
    .execute(&mut *c)
    .await?
    .rows_affected()))
}

/// A run as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Run {
    pub id: i64,
    pub agency_id: i64,
    pub origin: String,
    pub status: String,
    pub full_list: bool,
    pub consents_seen: i64,
    pub matched: i64,
    pub added: i64,
    pub removed: i64,
    pub messages: i64,
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const RUN_COLUMNS: &str = "id, agency_id, origin, status, full_list, consents_seen, matched, added, removed, messages, \
    error, started_at, finished_at";

/// The runs of a bank, newest first.
pub async fn runs(db: &Db, agency_id: i64, limit: i64) -> Result<Vec<Run>, AppError> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM bank_push_runs WHERE agency_id = $1 ORDER BY id DESC LIMIT $2"
    );
    Ok(
        on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(agency_id).bind(limit).fetch_all(c).await?),
    )
}

pub async fn run_by_id(db: &Db, id: i64) -> Result<Option<Run>, AppError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM bank_push_runs WHERE id = $1");
    Ok(
        on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await?),
    )
}

/// A run that has been started (its row is `running`).
#[derive(Debug, Clone)]
pub struct Started {
    pub run_id: i64,
    pub agency: Agency,
    pub criteria: Criteria,
    pub full: bool,
    pub actor: Actor,
}

/// A run left `running` this long (a process that stopped mid-run) no longer blocks a new one.
const STALE_AFTER_HOURS: i64 = 6;

/// Starts a run of bank `name`: refused when the bank has no criteria or a run is under way.
pub async fn start(db: &Db, name: &str, origin: &str, actor: &Actor) -> Result<Started, AppError> {
    let a = super::bank_named(db, name).await?;
    let criteria = criteria::get(db, a.id).await?.ok_or_else(|| {
        AppError::rejected(format!(
            "银行 {name} 尚未设置推送条件 (bank {name} has no criteria yet)"
        ))
    })?;
    let mut tx = db.begin().await?;
    let at = now();
    on_tx!(tx, c => sqlx::query(
        "UPDATE bank_push_runs SET status = 'failed', error = $3, finished_at = $4 \
         WHERE agency_id = $1 AND status = 'running' AND started_at < $2",
    )
    .bind(a.id)
    .bind(at - chrono::Duration::hours(STALE_AFTER_HOURS))
    .bind("中断：进程在推送中停止 (interrupted: the process stopped during the run)")
    .bind(at)
    .execute(&mut *c)
    .await?
    .rows_affected());
    let busy: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM bank_push_runs WHERE agency_id = $1 AND status = 'running'",
    )
    .bind(a.id)
    .fetch_optional(&mut *c)
    .await?);
    if let Some(id) = busy {
        return Err(AppError::Conflict(format!(
            "银行 {name} 的推送 {id} 正在进行 (push run {id} of bank {name} is in progress)"
        )));
    }
    let sent_before: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(
        "SELECT agency_id FROM bank_pushed WHERE agency_id = $1 LIMIT 1",
    )
    .bind(a.id)
    .fetch_optional(&mut *c)
    .await?);
    let full = sent_before.is_none();
    let run_id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO bank_push_runs (agency_id, origin, status, full_list, criteria, consents_seen, matched, added, \
         removed, messages, started_at) VALUES ($1, $2, 'running', $3, $4, 0, 0, 0, 0, 0, $5) RETURNING id",
    )
    .bind(a.id)
    .bind(origin)
    .bind(full)
    .bind(criteria.to_json().to_string())
    .bind(at)
    .fetch_one(&mut *c)
    .await?);
    tx.commit().await?;
    Ok(Started {
        run_id,
        agency: a,
        criteria,
        full,
        actor: actor.clone(),
    })
}

/// The counts of a run so far.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub consents_seen: i64,
    pub matched: i64,
    pub added: i64,
    pub removed: i64,
    pub messages: i64,
}

enum Change {
    Add(Box<SharedFacts>),
    Remove(String, &'static str),
}

struct Runner<'a> {
    db: &'a Db,
    keys: &'a Keyring,
    s: &'a Started,
    counts: Counts,
    buf: Vec<Change>,
}

impl Runner<'_> {
    fn entity(&self, f: &SharedFacts) -> Value {
        let mut v = json!({"uscc": f.uscc, "name": f.name, "entity_type": f.entity_type,
            "industry": f.industry, "division": f.division, "established": f.established});
        if self.s.criteria.uses_risk() {
            v["risk_class"] = json!(f.risk_class);
        }
        v
    }

    /// Sends the first `n` changes of the buffer as one message.
    async fn flush(&mut self, n: usize, last: bool) -> Result<(), AppError> {
        let part: Vec<Change> = self.buf.drain(..n.min(self.buf.len())).collect();
        if part.is_empty() {
            return Ok(());
        }
        let seq = self.counts.messages + 1;
        let a = &self.s.agency;
        let id = format!("{}:push:{}:{}", a.name, self.s.run_id, seq);
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for c in &part {
            match c {
                Change::Add(f) => added.push(self.entity(f)),
                Change::Remove(u, why) => removed.push(json!({"uscc": u, "reason": why})),
            }
        }
        let body = json!({
            "version": 1, "type": "bank_push", "id": id, "agency": a.name,
            "run": self.s.run_id, "seq": seq, "full": self.s.full, "last": last,
            "added": added, "removed": removed, "at": now(),
        })
        .to_string();
        let at = now();
        let mut tx = self.db.begin().await?;
        delivery::create_message(&mut tx, self.keys, a, &id, KIND, &body, self.s.run_id).await?;
        let (mut n_add, mut n_rm) = (0i64, 0i64);
        for c in &part {
            match c {
                Change::Add(f) => {
                    on_tx!(tx, x => sqlx::query(
                        "INSERT INTO bank_pushed (agency_id, uscc, division, listed, first_run_id, last_run_id, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (agency_id, uscc) DO UPDATE \
                         SET division = $3, listed = $4, last_run_id = $5, updated_at = $6",
                    )
                    .bind(a.id)
                    .bind(&f.uscc)
                    .bind(&f.division)
                    .bind(true)
                    .bind(self.s.run_id)
                    .bind(at)
                    .execute(&mut *x)
                    .await?
                    .rows_affected());
                    n_add += 1;
                }
                Change::Remove(u, _) => {
                    on_tx!(tx, x => sqlx::query(
                        "UPDATE bank_pushed SET listed = $3, last_run_id = $4, updated_at = $5 \
                         WHERE agency_id = $1 AND uscc = $2",
                    )
                    .bind(a.id)
                    .bind(u)
                    .bind(false)
                    .bind(self.s.run_id)
                    .bind(at)
                    .execute(&mut *x)
                    .await?
                    .rows_affected());
                    n_rm += 1;
                }
            }
        }
        self.counts.added += n_add;
        self.counts.removed += n_rm;
        self.counts.messages = seq;
        write_counts(&mut tx, self.s.run_id, &self.counts).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn push(&mut self, c: Change) -> Result<(), AppError> {
        self.buf.push(c);
        // One full message is held back, so the run's last message can say so.
        while self.buf.len() > CHUNK {
            self.flush(CHUNK, false).await?;
        }
        Ok(())
    }
}

async fn write_counts(
    tx: &mut amr_kernel::db::Tx,
    run_id: i64,
    c: &Counts,
) -> Result<(), AppError> {
    on_tx!(tx, x => sqlx::query(
        "UPDATE bank_push_runs SET consents_seen = $2, matched = $3, added = $4, removed = $5, messages = $6 \
         WHERE id = $1",
    )
    .bind(run_id)
    .bind(c.consents_seen)
    .bind(c.matched)
    .bind(c.added)
    .bind(c.removed)
    .bind(c.messages)
    .execute(&mut *x)
    .await?
    .rows_affected());
    Ok(())
}

/// The listed entities of a bank among `usccs`.
async fn listed_among(
    db: &Db,
    agency_id: i64,
    usccs: &[String],
) -> Result<HashSet<String>, AppError> {
    let mut out = HashSet::new();
    for chunk in usccs.chunks(PAGE as usize) {
        let list = (0..chunk.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT uscc FROM bank_pushed WHERE agency_id = $1 AND listed = $2 AND uscc IN ({list})"
        );
        let rows: Vec<String> = on_conn!(db, c => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(agency_id).bind(true);
            for u in chunk {
                q = q.bind(u);
            }
            q.fetch_all(c).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// A page of the listed entities of a bank that have no consent now, after `after`.
async fn listed_without_consent(
    db: &Db,
    agency_id: i64,
    after: &str,
) -> Result<Vec<String>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_scalar(
        "SELECT p.uscc FROM bank_pushed p LEFT JOIN bank_consents k ON k.uscc = p.uscc AND k.granted = $2 \
         WHERE p.agency_id = $1 AND p.listed = $2 AND k.uscc IS NULL AND p.uscc > $3 ORDER BY p.uscc LIMIT $4",
    )
    .bind(agency_id)
    .bind(true)
    .bind(after)
    .bind(PAGE)
    .fetch_all(c)
    .await?))
}

/// Runs a started run to its end (`today`: the day ages are counted on). `progress` is called
/// after each page. On failure the run is marked `failed` with the error, and what was sent
/// stays sent.
pub async fn execute(
    db: &Db,
    keys: &Keyring,
    source: &dyn EntityFactsSource,
    s: &Started,
    today: NaiveDate,
    progress: &(dyn Fn(&Counts) + Send + Sync),
) -> Result<Counts, AppError> {
    let mut r = Runner {
        db,
        keys,
        s,
        counts: Counts::default(),
        buf: Vec::new(),
    };
    match walk(&mut r, source, today, progress).await {
        Ok(()) => {
            finish(db, s, &r.counts, None).await?;
            Ok(r.counts)
        }
        Err(e) => {
            let message: String = e.to_string().chars().take(500).collect();
            if let Err(e2) = finish(db, s, &r.counts, Some(&message)).await {
                tracing::warn!(error = %e2, run = s.run_id, "marking a failed push run failed");
            }
            Err(e)
        }
    }
}

async fn walk(
    r: &mut Runner<'_>,
    source: &dyn EntityFactsSource,
    today: NaiveDate,
    progress: &(dyn Fn(&Counts) + Send + Sync),
) -> Result<(), AppError> {
    // Pass 1: the consenting enterprises, a page at a time.
    let mut after = String::new();
    loop {
        let page = consent::granted_page(r.db, &after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.clone();
        let facts: HashMap<String, SharedFacts> = source
            .facts_of(&page)
            .await?
            .into_iter()
            .map(|f| (f.uscc.clone(), f))
            .collect();
        let listed = listed_among(r.db, r.s.agency.id, &page).await?;
        for u in &page {
            let is_listed = listed.contains(u);
            match facts.get(u) {
                Some(f) if r.s.criteria.matches(f, today) => {
                    r.counts.matched += 1;
                    if !is_listed {
                        r.push(Change::Add(Box::new(f.clone()))).await?;
                    }
                }
                _ if is_listed => {
                    r.push(Change::Remove(u.clone(), "no_longer_matches"))
                        .await?
                }
                _ => {}
            }
        }
        r.counts.consents_seen += i64::try_from(page.len()).unwrap_or(0);
        progress(&r.counts);
    }
    // Pass 2: listed enterprises whose consent was withdrawn.
    let mut after = String::new();
    loop {
        let page = listed_without_consent(r.db, r.s.agency.id, &after).await?;
        let Some(last) = page.last() else { break };
        after = last.clone();
        for u in page {
            r.push(Change::Remove(u, "consent_withdrawn")).await?;
        }
        progress(&r.counts);
    }
    let n = r.buf.len();
    r.flush(n, true).await?;
    progress(&r.counts);
    Ok(())
}

async fn finish(db: &Db, s: &Started, c: &Counts, error: Option<&str>) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    write_counts(&mut tx, s.run_id, c).await?;
    let status = if error.is_some() {
        "failed"
    } else {
        "finished"
    };
    on_tx!(tx, x => sqlx::query(
        "UPDATE bank_push_runs SET status = $2, error = $3, finished_at = $4 WHERE id = $1",
    )
    .bind(s.run_id)
    .bind(status)
    .bind(error)
    .bind(now())
    .execute(&mut *x)
    .await?
    .rows_affected());
    let body = json!({"agency": s.agency.name, "run": s.run_id, "full": s.full, "status": status,
                      "error": error, "counts": c});
    events::append(
        &mut tx,
        NewEvent::internal(&format!("exchange.bank.push.{status}"), body.clone())
            .actor(s.actor.label()),
    )
    .await?;
    audit::record(
        &mut tx,
        &s.actor,
        audit::Change {
            action: "exchange_bank.push",
            target_kind: "exchange_agency",
            target_id: s.agency.name.clone(),
            division: None,
            before: None,
            after: Some(body),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a run needs besides its bank: the database, the deployment key and the facts port.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub db: &'a Db,
    pub keys: &'a Keyring,
    pub source: &'a dyn EntityFactsSource,
}

/// Starts and runs a push of bank `name` to its end.
pub async fn run_now(
    env: Env<'_>,
    name: &str,
    origin: &str,
    actor: &Actor,
    today: NaiveDate,
    progress: &(dyn Fn(&Counts) + Send + Sync),
) -> Result<(i64, Counts), AppError> {
    let s = start(env.db, name, origin, actor).await?;
    let c = execute(env.db, env.keys, env.source, &s, today, progress).await?;
    Ok((s.run_id, c))
}

/// The scheduled pushes: every `every`, each active bank with criteria whose last run started
/// `every` ago or more (or that never ran) gets a run (origin `schedule`). Checked at start
/// and then every ten minutes (or `every`, when shorter). Ages count on `fixed_today` when
/// set, else today in China (the server's day).
pub async fn run_schedule(
    db: Db,
    keys: Arc<Keyring>,
    source: Arc<dyn EntityFactsSource>,
    every: Duration,
    fixed_today: Option<NaiveDate>,
    mut shutdown: watch::Receiver<bool>,
) {
    let tick = every.min(Duration::from_secs(600));
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = scheduled_round(
            &db,
            &keys,
            source.as_ref(),
            every,
            fixed_today.unwrap_or_else(amr_kernel::matter::today),
        )
        .await
        {
            tracing::warn!(error = %e, "scheduled bank push failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn scheduled_round(
    db: &Db,
    keys: &Keyring,
    source: &dyn EntityFactsSource,
    every: Duration,
    today: NaiveDate,
) -> Result<(), AppError> {
    let cutoff = now() - chrono::Duration::from_std(every).unwrap_or(chrono::Duration::days(1));
    for a in agency::list(db).await? {
        if a.kind != "bank" || !a.active || criteria::get(db, a.id).await?.is_none() {
            continue;
        }
        let last = runs(db, a.id, 1).await?.into_iter().next();
        if last.is_some_and(|r| r.started_at > cutoff) {
            continue;
        }
        let env = Env { db, keys, source };
        match run_now(env, &a.name, "schedule", &Actor::system(), today, &|_| {}).await {
            Ok((run, c)) => tracing::info!(
                bank = a.name,
                run,
                added = c.added,
                removed = c.removed,
                "bank push"
            ),
            Err(AppError::Conflict(_)) => {}
            Err(e) => tracing::warn!(bank = a.name, error = %e, "bank push failed"),
        }
    }
    Ok(())
}
