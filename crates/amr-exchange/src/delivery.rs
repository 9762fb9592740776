//! Deliveries: the follower that turns subscribed events into signed messages, the sender
//! that POSTs them with retries, the answers (acknowledgements) and the escalation of stuck
//! deliveries.
//!
//! State lives in the database only: a delivery is `pending` until the agency's signed
//! acknowledgement says `accepted`, `rejected` (final, with its reason) or `done` (final).
//! A send that fails (refused connection, timeout, 5xx, an answer without a valid signed
//! acknowledgement) only moves `next_attempt_at` forward (exponential backoff with jitter), so
//! an agency outage or an AMR restart delays a delivery and never loses it, and nothing is
//! marked delivered without the agency's signed word. The same message is sent again with the
//! same idempotency key (agency name + `:` + event timepoint), so the agency applies it once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use futures_util::StreamExt;
use rand::RngExt;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use amr_kernel::audit::{self, Actor};
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::runner::Consumer;
use amr_kernel::events::{self, Event, NewEvent};
use amr_kernel::outbound::Outbound;
use amr_kernel::signing::Keyring;
use amr_kernel::{on_conn, on_tx};

use crate::agency::{self, Agency};
use crate::evidence;
use crate::proto::{self, Ack, AckStatus};

/// The durable name of the delivery follower's cursor.
pub const CONSUMER: &str = "exchange.deliveries";

/// The key under which an event's payload may carry fields for each agency kind
/// (`{"agency_fields": {"tax": {..}, "social_security": {..}}}`): each agency gets its own
/// part as the message's `extra`, and none of them is in the message's `payload`.
pub const AGENCY_FIELDS: &str = "agency_fields";

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// The idempotency key of an event's delivery to an agency.
pub fn idempotency_key(agency: &str, timepoint: i64) -> String {
    format!("{agency}:{timepoint}")
}

/// Turns each event an active agency subscribes to into a delivery, in the batch's
/// transaction (so the deliveries and the cursor commit together).
#[derive(Debug, Clone)]
pub struct DeliveryFollower {
    pub keys: Arc<Keyring>,
}

impl Consumer for DeliveryFollower {
    fn name(&self) -> &str {
        CONSUMER
    }

    async fn handle(&self, tx: &mut Tx, batch: &[Event]) -> Result<(), AppError> {
        let agencies = agency::active_in(tx).await?;
        if agencies.is_empty() {
            return Ok(());
        }
        for e in batch {
            for a in agencies.iter().filter(|a| a.subscribes(&e.kind)) {
                create(tx, &self.keys, a, e).await?;
            }
        }
        Ok(())
    }
}

/// The message an agency receives for an event (before signing).
pub fn message_for(a: &Agency, e: &Event) -> Value {
    let mut payload = e.payload_json();
    let extra = match payload
        .as_object_mut()
        .and_then(|o| o.remove(AGENCY_FIELDS))
    {
        Some(Value::Object(mut by_kind)) => by_kind.remove(&a.kind).unwrap_or_else(|| json!({})),
        _ => json!({}),
    };
    json!({
        "version": 1,
        "id": idempotency_key(&a.name, e.timepoint),
        "agency": a.name,
        "event": {
            "timepoint": e.timepoint,
            "kind": e.kind,
            "uscc": e.uscc,
            "division": e.division,
            "recorded_at": e.recorded_at,
            "payload": payload,
        },
        "extra": extra,
    })
}

/// Creates the delivery of `e` to `a` (nothing if it exists).
async fn create(tx: &mut Tx, keys: &Keyring, a: &Agency, e: &Event) -> Result<(), AppError> {
    let key = idempotency_key(&a.name, e.timepoint);
    let at = now();
    let id: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO exchange_deliveries (idempotency_key, agency_id, timepoint, kind, uscc, division, status, \
         attempts, next_attempt_at, message_evidence_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, 0, $7, $7) \
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(&key)
    .bind(a.id)
    .bind(e.timepoint)
    .bind(&e.kind)
    .bind(&e.uscc)
    .bind(&e.division)
    .bind(at)
    .fetch_optional(&mut *c)
    .await?);
    let Some(id) = id else { return Ok(()) };
    let body = message_for(a, e).to_string();
    let signed = keys.sign(&proto::signed_bytes(proto::TAG_MESSAGE, &body));
    let ev = evidence::insert(
        tx,
        &evidence::NewEvidence {
            agency_id: a.id,
            delivery_id: Some(id),
            direction: "out",
            kind: "message",
            body: &body,
            key_id: &signed.key_id.to_string(),
            signature: &proto::encode_signature(&signed.signature),
        },
    )
    .await?;
    on_tx!(tx, c => sqlx::query("UPDATE exchange_deliveries SET message_evidence_id = $2 WHERE id = $1")
        .bind(id)
        .bind(ev)
        .execute(&mut *c)
        .await?
        .rows_affected());
    Ok(())
}

/// Creates the delivery of a message that does not come from an event (a bank push): the
/// row (timepoint 0, no USCC or division, `push_run_id` set) and the signed message kept as
/// evidence, in `tx`. `key` is the message's `id` and idempotency key. Returns the delivery id.
pub async fn create_message(
    tx: &mut Tx,
    keys: &Keyring,
    a: &Agency,
    key: &str,
    kind: &str,
    body: &str,
    push_run_id: i64,
) -> Result<i64, AppError> {
    let at = now();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO exchange_deliveries (idempotency_key, agency_id, timepoint, kind, status, \
         attempts, next_attempt_at, message_evidence_id, created_at, updated_at, push_run_id) \
         VALUES ($1, $2, 0, $3, 'pending', 0, $4, 0, $4, $4, $5) RETURNING id",
    )
    .bind(key)
    .bind(a.id)
    .bind(kind)
    .bind(at)
    .bind(push_run_id)
    .fetch_one(&mut *c)
    .await?);
    let signed = keys.sign(&proto::signed_bytes(proto::TAG_MESSAGE, body));
    let ev = evidence::insert(
        tx,
        &evidence::NewEvidence {
            agency_id: a.id,
            delivery_id: Some(id),
            direction: "out",
            kind: "message",
            body,
            key_id: &signed.key_id.to_string(),
            signature: &proto::encode_signature(&signed.signature),
        },
    )
    .await?;
    on_tx!(tx, c => sqlx::query("UPDATE exchange_deliveries SET message_evidence_id = $2 WHERE id = $1")
        .bind(id)
        .bind(ev)
        .execute(&mut *c)
        .await?
        .rows_affected());
    Ok(id)
}

/// A delivery as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub idempotency_key: String,
    pub agency_id: i64,
    pub timepoint: i64,
    pub kind: String,
    pub uscc: Option<String>,
    pub division: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub message_evidence_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
}

pub const COLUMNS: &str = "d.id, d.idempotency_key, d.agency_id, d.timepoint, d.kind, d.uscc, d.division, d.status, \
    d.reason, d.attempts, d.next_attempt_at, d.last_error, d.message_evidence_id, d.created_at, d.updated_at, \
    d.answered_at, d.escalated_at";

/// The deliveries of the events of one entity, newest event first (at most `limit`).
pub async fn for_entity(db: &Db, uscc: &str, limit: i64) -> Result<Vec<Delivery>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM exchange_deliveries d WHERE d.uscc = $1 ORDER BY d.timepoint DESC, d.agency_id LIMIT $2"
    );
    Ok(
        on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(uscc).bind(limit).fetch_all(c).await?),
    )
}

/// The deliveries of one event.
pub async fn for_timepoint(db: &Db, timepoint: i64) -> Result<Vec<Delivery>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM exchange_deliveries d WHERE d.timepoint = $1 ORDER BY d.agency_id"
    );
    Ok(
        on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(timepoint).fetch_all(c).await?),
    )
}

/// Escalated deliveries still without a final answer, oldest first.
pub async fn stuck(db: &Db, limit: i64) -> Result<Vec<Delivery>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM exchange_deliveries d WHERE d.escalated_at IS NOT NULL \
         AND d.status IN ('pending', 'accepted') ORDER BY d.created_at, d.id LIMIT $1"
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(c).await?))
}

/// Counts by status (for `amr exchange status` and the figures).
pub async fn counts(db: &Db) -> Result<Vec<(String, i64)>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as::<_, (String, i64)>(
        "SELECT status, COUNT(*) FROM exchange_deliveries GROUP BY status ORDER BY status"
    )
    .fetch_all(c)
    .await?))
}

// ----- the sender -----------------------------------------------------------------------

/// How the sender paces itself.
#[derive(Debug, Clone)]
pub struct SenderOptions {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// A request's whole time (connect + answer).
    pub timeout: Duration,
    /// The first retry waits about this long, doubling each time ...
    pub base_backoff: Duration,
    /// ... up to this.
    pub max_backoff: Duration,
    /// Deliveries read per round.
    pub batch: i64,
    /// How often to look for due deliveries when idle.
    pub poll: Duration,
    /// A delivery without a final answer this long after it was made is escalated.
    pub stuck_after: Duration,
    /// Extra trusted root certificates (PEM) for https endpoints, besides the system's
    /// (`AMR_EXCHANGE_CA_FILE`): agencies on a government network often use their own CA.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for SenderOptions {
    fn default() -> Self {
        SenderOptions {
            concurrency: 16,
            timeout: Duration::from_secs(10),
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            batch: 256,
            poll: Duration::from_millis(500),
            stuck_after: Duration::from_secs(24 * 3600),
            ca_file: None,
        }
    }
}

/// The wait before attempt `attempts + 1`: `base · 2^attempts`, at most `max`, a random
/// part of it (between a half and the whole) so retries of many deliveries spread out.
pub fn backoff(opts: &SenderOptions, attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let full = opts
        .base_backoff
        .saturating_mul(2u32.saturating_pow(exp))
        .min(opts.max_backoff);
    let ms = u64::try_from(full.as_millis()).unwrap_or(u64::MAX).max(2);
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
}

#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    idempotency_key: String,
    attempts: i64,
    agency_id: i64,
    endpoint: String,
    body: String,
    key_id: String,
    signature: String,
}

async fn due(db: &Db, limit: i64) -> Result<Vec<Due>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as::<_, Due>(
        "SELECT d.id, d.idempotency_key, d.attempts, d.agency_id, a.endpoint, e.body, e.key_id, e.signature \
         FROM exchange_deliveries d JOIN exchange_agencies a ON a.id = d.agency_id \
         JOIN exchange_evidence e ON e.id = d.message_evidence_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND a.active = $2 \
         ORDER BY d.next_attempt_at, d.id LIMIT $3",
    )
    .bind(now())
    .bind(true)
    .bind(limit)
    .fetch_all(c)
    .await?))
}

/// The most of an agency's answer that is read (acknowledgements and tax answers are small).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// The HTTP(S) client the sender and the tax source use: the kernel's outbound client (rustls
/// on ring; the system's roots plus `ca_file`; no proxy from the environment; no redirects),
/// `timeout` for a whole exchange, answers capped at [`MAX_ANSWER_BYTES`].
pub fn http_client(
    timeout: Duration,
    ca_file: Option<&std::path::Path>,
) -> Result<Outbound, AppError> {
    Outbound::new(timeout, MAX_ANSWER_BYTES, ca_file, "AMR_EXCHANGE_CA_FILE")
}

/// Sends due deliveries until `shutdown`; escalates stuck ones once a minute.
pub async fn run_sender(db: Db, opts: SenderOptions, shutdown: watch::Receiver<bool>) {
    match http_client(opts.timeout, opts.ca_file.as_deref()) {
        Ok(client) => run_sender_with(db, opts, client, shutdown).await,
        Err(e) => {
            tracing::error!(error = %e, "the exchange's HTTP client cannot be built; nothing is sent");
        }
    }
}

/// [`run_sender`] with a client already built (the server builds one for the sender and the
/// tax source, checking `ca_file` once before it starts).
pub async fn run_sender_with(
    db: Db,
    opts: SenderOptions,
    client: Outbound,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut commits = events::subscribe();
    let mut last_sweep: Option<std::time::Instant> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if last_sweep.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            if let Err(e) = escalate_stuck(&db, &opts, Utc::now()).await {
                tracing::warn!(error = %e, "escalating stuck deliveries failed");
            }
            last_sweep = Some(std::time::Instant::now());
        }
        let batch = match due(&db, opts.batch).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "reading due deliveries failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = commits.changed() => {}
                _ = tokio::time::sleep(opts.poll) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let stop = shutdown.clone();
        futures_util::stream::iter(batch)
            .for_each_concurrent(opts.concurrency, |d| {
                let (db, client, opts, stop) = (&db, &client, &opts, stop.clone());
                async move {
                    if *stop.borrow() {
                        return;
                    }
                    if let Err(e) = send_one(db, client, opts, d).await {
                        tracing::warn!(error = %e, "recording a delivery attempt failed");
                    }
                }
            })
            .await;
    }
}

/// One attempt: POST, then either apply the signed answer or schedule the next attempt.
async fn send_one(
    db: &Db,
    client: &Outbound,
    opts: &SenderOptions,
    d: Due,
) -> Result<(), AppError> {
    let sent = client
        .post(
            &d.endpoint,
            &[
                ("content-type", "application/json"),
                (proto::HEADER_KEY_ID, &d.key_id),
                (proto::HEADER_SIGNATURE, &d.signature),
                (proto::HEADER_IDEMPOTENCY, &d.idempotency_key),
            ],
            d.body.clone().into_bytes(),
        )
        .await;
    let problem = match sent {
        Err(e) => format!("发送失败 (send failed): {}", short(&e)),
        Ok(resp) => {
            let status = resp.status;
            let sig = resp.header(proto::HEADER_SIGNATURE).map(str::to_string);
            let body = match String::from_utf8(resp.body.to_vec()) {
                Ok(b) => b,
                Err(_) => {
                    return retry(
                        db,
                        opts,
                        &d,
                        "应答不是 UTF-8 文本 (the answer is not UTF-8 text)",
                    )
                    .await;
                }
            };
            match sig {
                Some(sig) if !body.is_empty() => {
                    let a = agency::by_id(db, d.agency_id)
                        .await?
                        .ok_or(AppError::NotFound)?;
                    match apply_answer(
                        db,
                        &a,
                        &body,
                        &sig,
                        &Actor::system(),
                        Some(&d.idempotency_key),
                    )
                    .await
                    {
                        Ok(_) => return Ok(()),
                        Err(AppError::BadRequest { message, .. })
                        | Err(AppError::Rejected { message }) => {
                            format!("HTTP {status}: {message}")
                        }
                        Err(AppError::NotFound) => format!(
                            "HTTP {status}: 回执不对应本消息 (the answer is for another message)"
                        ),
                        Err(e) => return Err(e),
                    }
                }
                _ => format!(
                    "HTTP {status}: 应答没有签名回执 (the answer carries no signed acknowledgement)"
                ),
            }
        }
    };
    retry(db, opts, &d, &problem).await
}

fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

async fn retry(db: &Db, opts: &SenderOptions, d: &Due, problem: &str) -> Result<(), AppError> {
    let next = now()
        + chrono::Duration::from_std(backoff(opts, d.attempts))
            .unwrap_or(chrono::Duration::seconds(60));
    // A write like any other: through a transaction, so on SQLite it queues on the write gate.
    let mut tx = db.begin().await?;
    on_tx!(tx, c => sqlx::query(
        "UPDATE exchange_deliveries SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, updated_at = $4 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(d.id)
    .bind(next)
    .bind(short(problem))
    .bind(now())
    .execute(&mut *c)
    .await?
    .rows_affected());
    tx.commit().await?;
    Ok(())
}

// ----- answers ------------------------------------------------------------------------------

/// What applying an answer did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub message_id: String,
    pub status: String,
    /// False when the delivery already had this or a final answer (kept as evidence only).
    pub changed: bool,
}

/// Applies a signed acknowledgement from agency `a`: checks the signature against the
/// agency's registered key and that the acknowledgement names this agency (and, on a POST's
/// response, the message sent), keeps it as evidence and moves the delivery on, with its event
/// and audit entry, in one transaction. A bad signature or text changes nothing.
pub async fn apply_answer(
    db: &Db,
    a: &Agency,
    body: &str,
    signature: &str,
    actor: &Actor,
    expected: Option<&str>,
) -> Result<Applied, AppError> {
    let key = a.verifying_key()?;
    if !proto::check(&key, proto::TAG_ACK, body, signature) {
        return Err(AppError::bad_request(
            "signature",
            "回执签名无效：与该机构登记的公钥不符 (the acknowledgement's signature does not match the agency's registered key)",
        ));
    }
    let ack = Ack::parse(body).map_err(|m| AppError::bad_request("ack", m))?;
    if ack.agency != a.name {
        return Err(AppError::bad_request(
            "agency",
            "回执中的机构与调用者不符 (the acknowledgement names another agency)",
        ));
    }
    if expected.is_some_and(|m| m != ack.message_id) {
        return Err(AppError::NotFound);
    }
    let mut tx = db.begin().await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM exchange_deliveries d WHERE d.idempotency_key = $1 AND d.agency_id = $2"
    );
    let d: Delivery = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&ack.message_id)
        .bind(a.id)
        .fetch_optional(&mut *c)
        .await?)
    .ok_or(AppError::NotFound)?;
    evidence::insert(
        &mut tx,
        &evidence::NewEvidence {
            agency_id: a.id,
            delivery_id: Some(d.id),
            direction: "in",
            kind: "ack",
            body,
            key_id: &proto::key_id_of(&key).to_string(),
            signature,
        },
    )
    .await?;
    let moves = matches!(
        (d.status.as_str(), ack.status),
        ("pending", _) | ("accepted", AckStatus::Done | AckStatus::Rejected)
    );
    if moves {
        let at = now();
        on_tx!(tx, c => sqlx::query(
            "UPDATE exchange_deliveries SET status = $2, reason = $3, answered_at = $4, updated_at = $4, \
             attempts = attempts + 1 WHERE id = $1",
        )
        .bind(d.id)
        .bind(ack.status.as_str())
        .bind(&ack.reason)
        .bind(at)
        .execute(&mut *c)
        .await?
        .rows_affected());
        if ack.status == AckStatus::Rejected && d.kind == crate::bank::push::KIND {
            // The bank refused its list change: undo it so the next run sends it again.
            let message: String = on_tx!(tx, c => sqlx::query_scalar(
                "SELECT body FROM exchange_evidence WHERE id = $1",
            )
            .bind(d.message_evidence_id)
            .fetch_one(&mut *c)
            .await?);
            crate::bank::push::undo_rejected(&mut tx, a.id, &message).await?;
        }
        let body = json!({"agency": a.name, "message_id": d.idempotency_key, "timepoint": d.timepoint,
                          "event_kind": d.kind, "status": ack.status.as_str(), "reason": ack.reason});
        let mut ev =
            NewEvent::internal("exchange.delivery.answered", body.clone()).actor(actor.label());
        if let Some(u) = &d.uscc {
            ev = ev.uscc(u);
        }
        if let Some(div) = &d.division {
            ev = ev.division(div);
        }
        events::append(&mut tx, ev).await?;
        audit::record(
            &mut tx,
            actor,
            audit::Change {
                action: "exchange_delivery.answer",
                target_kind: "exchange_delivery",
                target_id: d.idempotency_key.clone(),
                division: d.division.clone(),
                before: Some(json!({"status": d.status})),
                after: Some(body),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Applied {
        message_id: d.idempotency_key,
        status: if moves {
            ack.status.as_str().to_string()
        } else {
            d.status
        },
        changed: moves,
    })
}

/// Escalates deliveries without a final answer made more than `stuck_after` before `now`:
/// each once, with its event (`exchange.delivery.escalated`) and audit entry. Returns how many.
pub async fn escalate_stuck(
    db: &Db,
    opts: &SenderOptions,
    at: DateTime<Utc>,
) -> Result<u64, AppError> {
    let cutoff =
        at - chrono::Duration::from_std(opts.stuck_after).unwrap_or(chrono::Duration::days(1));
    let mut done = 0;
    loop {
        let mut tx = db.begin().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM exchange_deliveries d WHERE d.status IN ('pending', 'accepted') \
             AND d.escalated_at IS NULL AND d.created_at < $1 ORDER BY d.id LIMIT 100"
        );
        let rows: Vec<Delivery> = on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(cutoff)
            .fetch_all(&mut *c)
            .await?);
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(done);
        }
        for d in &rows {
            on_tx!(tx, c => sqlx::query("UPDATE exchange_deliveries SET escalated_at = $2 WHERE id = $1")
                .bind(d.id)
                .bind(now())
                .execute(&mut *c)
                .await?
                .rows_affected());
            let body = json!({"message_id": d.idempotency_key, "timepoint": d.timepoint, "event_kind": d.kind,
                              "status": d.status, "attempts": d.attempts, "since": d.created_at});
            let mut ev =
                NewEvent::internal("exchange.delivery.escalated", body.clone()).actor("system");
            if let Some(u) = &d.uscc {
                ev = ev.uscc(u);
            }
            if let Some(div) = &d.division {
                ev = ev.division(div);
            }
            events::append(&mut tx, ev).await?;
            audit::record(
                &mut tx,
                &Actor::system(),
                audit::Change {
                    action: "exchange_delivery.escalate",
                    target_kind: "exchange_delivery",
                    target_id: d.idempotency_key.clone(),
                    division: d.division.clone(),
                    before: None,
                    after: Some(body),
                },
            )
            .await?;
            done += 1;
        }
        tx.commit().await?;
    }
}
