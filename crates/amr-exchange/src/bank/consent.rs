//! An enterprise's consent to share its registration data with banks for credit offers
//! (opt-in). One current row per enterprise (`bank_consents`) and every grant and withdrawal
//! in `bank_consent_history`; each change is evented (`exchange.bank.consent.granted` /
//! `.withdrawn`, internal, with the USCC and division) and audited
//! (`exchange_bank.consent`), in one transaction. A withdrawal takes effect at the next push
//! run of each bank, which sends the bank the removal.

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::json;

use amr_kernel::audit::{self, Actor};
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::events::{self, NewEvent};
use amr_kernel::{on_conn, on_tx};

/// The consent of one enterprise now.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Consent {
    pub uscc: String,
    pub granted: bool,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// One grant or withdrawal.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HistoryRow {
    pub action: String,
    pub at: DateTime<Utc>,
    pub actor: String,
}

/// What a change did.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    pub consent: Consent,
    /// False when the enterprise already was in that state (nothing written).
    pub changed: bool,
}

pub async fn get(db: &Db, uscc: &str) -> Result<Option<Consent>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT uscc, granted, updated_at, updated_by FROM bank_consents WHERE uscc = $1",
    )
    .bind(uscc)
    .fetch_optional(c)
    .await?))
}

/// The history of one enterprise, newest first (at most 200).
pub async fn history(db: &Db, uscc: &str) -> Result<Vec<HistoryRow>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_as(
        "SELECT action, at, actor FROM bank_consent_history WHERE uscc = $1 ORDER BY id DESC LIMIT 200",
    )
    .bind(uscc)
    .fetch_all(c)
    .await?))
}

/// Grants (`granted = true`) or withdraws consent for `uscc` (division: the entity's, for the
/// event and the audit entry).
pub async fn set(
    tx: &mut Tx,
    actor: &Actor,
    uscc: &str,
    division: &str,
    granted: bool,
) -> Result<Changed, AppError> {
    let before: Option<Consent> = on_tx!(tx, c => sqlx::query_as(
        "SELECT uscc, granted, updated_at, updated_by FROM bank_consents WHERE uscc = $1",
    )
    .bind(uscc)
    .fetch_optional(&mut *c)
    .await?);
    if let Some(b) = &before
        && b.granted == granted
    {
        return Ok(Changed {
            consent: b.clone(),
            changed: false,
        });
    }
    if before.is_none() && !granted {
        return Err(AppError::rejected(
            "尚未同意共享，无需撤回 (consent was never given; there is nothing to withdraw)",
        ));
    }
    let at = Utc::now().trunc_subsecs(6);
    let by = actor.label();
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO bank_consents (uscc, granted, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (uscc) DO UPDATE SET granted = $2, updated_at = $3, updated_by = $4",
    )
    .bind(uscc)
    .bind(granted)
    .bind(at)
    .bind(&by)
    .execute(&mut *c)
    .await?
    .rows_affected());
    let action = if granted { "granted" } else { "withdrawn" };
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO bank_consent_history (uscc, action, at, actor) VALUES ($1, $2, $3, $4)",
    )
    .bind(uscc)
    .bind(action)
    .bind(at)
    .bind(&by)
    .execute(&mut *c)
    .await?
    .rows_affected());
    let body = json!({"uscc": uscc, "granted": granted});
    events::append(
        tx,
        NewEvent::internal(&format!("exchange.bank.consent.{action}"), body.clone())
            .uscc(uscc)
            .division(division)
            .actor(&by),
    )
    .await?;
    audit::record(
        tx,
        actor,
        audit::Change {
            action: "exchange_bank.consent",
            target_kind: "entity",
            target_id: uscc.to_string(),
            division: Some(division.to_string()),
            before: before.as_ref().map(|b| json!({"granted": b.granted})),
            after: Some(body),
        },
    )
    .await?;
    Ok(Changed {
        consent: Consent {
            uscc: uscc.to_string(),
            granted,
            updated_at: at,
            updated_by: by,
        },
        changed: true,
    })
}

/// One page of the consenting enterprises, in USCC order after `after` (exclusive).
pub async fn granted_page(db: &Db, after: &str, limit: i64) -> Result<Vec<String>, AppError> {
    Ok(on_conn!(db, c => sqlx::query_scalar(
        "SELECT uscc FROM bank_consents WHERE granted = $1 AND uscc > $2 ORDER BY uscc LIMIT $3",
    )
    .bind(true)
    .bind(after)
    .bind(limit.clamp(1, 5_000))
    .fetch_all(c)
    .await?))
}

/// How many enterprises consent now.
pub async fn count_granted(db: &Db) -> Result<i64, AppError> {
    Ok(on_conn!(db, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM bank_consents WHERE granted = $1",
    )
    .bind(true)
    .fetch_one(c)
    .await?))
}
