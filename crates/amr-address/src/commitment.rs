//! The declaration-commitment path (承诺制): an address that is not in the standard library
//! can still be registered when the applicant commits that it is true. The commitment is
//! recorded (who, when, which address, by whom it was taken), audited, and waits in the
//! officers' verification queue until an officer marks it verified or false.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use amr_kernel::audit::{self, Actor, Change};
use amr_kernel::auth::Scope;
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::db::{Db, Tx};
use amr_kernel::error::AppError;
use amr_kernel::{on_conn, on_tx};

use crate::check::{Outcome, Verdict};

/// A stored commitment.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Commitment {
    pub id: i64,
    pub address: String,
    pub normalized: Option<String>,
    pub match_key: String,
    /// The county (or deeper) code of the address: whose officers verify it.
    pub division: String,
    /// Who commits: the applicant's name (a person or the entity being registered).
    pub applicant: String,
    pub uscc: Option<String>,
    pub committed_at: DateTime<Utc>,
    /// Who took the commitment (account, API key).
    pub recorded_by: String,
    /// `pending`, `verified` or `false`.
    pub status: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub verified_by: Option<String>,
    pub note: Option<String>,
}

const COLUMNS: &str = "id, address, normalized, match_key, division, applicant, uscc, \
     committed_at, recorded_by, status, verified_at, verified_by, note";

/// A commitment as submitted (form or JSON).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CommitmentInput {
    pub address: String,
    pub hint: String,
    pub applicant: String,
    pub uscc: String,
}

fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// Records the commitment for the address of `verdict` (the check just made for it). Refused
/// when the address hits the negative list (422, the rule named) or matches the library (no
/// commitment is needed); a bad applicant or code is a 400.
pub async fn record(
    tx: &mut Tx,
    actor: &Actor,
    input: &CommitmentInput,
    verdict: &Verdict,
) -> Result<Commitment, AppError> {
    let applicant = input.applicant.trim();
    if applicant.is_empty() || applicant.chars().count() > 100 {
        return Err(AppError::bad_request(
            "applicant",
            "请填写承诺人（申请人或拟登记主体名称，不超过 100 字）\
             (give who commits: the applicant or the entity, at most 100 characters)",
        ));
    }
    let uscc = match input.uscc.trim() {
        "" => None,
        u => Some(
            Uscc::parse(u)
                .map_err(|e| AppError::bad_request("uscc", e))?
                .as_str()
                .to_string(),
        ),
    };
    match verdict.outcome {
        Outcome::Refused => {
            let rule = verdict.negative_hits.first();
            return Err(AppError::rejected(format!(
                "该地址命中负面清单，不能以承诺制登记：{} (the address is on the negative list: {})",
                rule.map(|r| format!("{}（{}）", r.reason, r.legal_basis))
                    .unwrap_or_default(),
                rule.map(|r| r.value.as_str()).unwrap_or_default(),
            )));
        }
        Outcome::AcceptedStandard => {
            return Err(AppError::rejected(
                "该地址已匹配标准地址库，无需承诺 \
                 (the address matches the standard library; no commitment is needed)",
            ));
        }
        Outcome::NeedsCommitment => {}
    }
    let p = &verdict.parsed;
    let division = p
        .town_code
        .as_deref()
        .or(p.county_code.as_deref())
        .ok_or_else(|| {
            AppError::bad_request(
                "address",
                "地址中未能识别出区县，请补全省市区县后再承诺 \
                 (no county could be read from the address; complete it before committing)",
            )
        })?
        .to_string();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO address_commitments (address, normalized, match_key, division, applicant, uscc, \
         committed_at, recorded_by, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending') RETURNING id",
    )
    .bind(p.input.trim())
    .bind(p.normalized.as_deref())
    .bind(&verdict.risk.key)
    .bind(&division)
    .bind(applicant)
    .bind(&uscc)
    .bind(now())
    .bind(actor.label())
    .fetch_one(&mut *c)
    .await?);
    let c = get_in(tx, id).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "address.commitment.record",
            target_kind: "address_commitment",
            target_id: id.to_string(),
            division: Some(division),
            before: None,
            after: Some(serde_json::to_value(&c).map_err(|e| AppError::Internal(e.into()))?),
        },
    )
    .await?;
    Ok(c)
}

async fn get_in(tx: &mut Tx, id: i64) -> Result<Commitment, AppError> {
    let sql = format!("SELECT {COLUMNS} FROM address_commitments WHERE id = $1");
    Ok(on_tx!(tx, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *c)
        .await?))
}

/// Commitments within the scope with `status` (`pending`, `verified`, `false`), newest first.
pub async fn list(
    db: &Db,
    scope: &Scope,
    status: &str,
    limit: i64,
) -> Result<Vec<Commitment>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM address_commitments WHERE status = $1 AND {} ORDER BY id DESC LIMIT $3",
        scope.division_filter("division", 2)
    );
    Ok(on_conn!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(status)
        .bind(scope.like_pattern())
        .bind(limit)
        .fetch_all(c)
        .await?))
}

/// Marks a pending commitment `verified` or `false` with a note, audited; 404 outside the
/// scope, 409 when it is no longer pending.
pub async fn verify(
    tx: &mut Tx,
    actor: &Actor,
    scope: &Scope,
    id: i64,
    result: &str,
    note: &str,
) -> Result<Commitment, AppError> {
    let result = match result.trim() {
        r @ ("verified" | "false") => r,
        _ => {
            return Err(AppError::bad_request(
                "result",
                "核查结果应为 verified（属实）或 false（虚假）(the result is verified or false)",
            ));
        }
    };
    let note = note.trim();
    if note.chars().count() > 500 || (result == "false" && note.is_empty()) {
        return Err(AppError::bad_request(
            "note",
            "核查为虚假时须填写说明（不超过 500 字）(a false result needs a note, at most 500 characters)",
        ));
    }
    let before = get_in(tx, id).await?;
    if !scope.contains(Some(&before.division)) {
        return Err(AppError::NotFound);
    }
    if before.status != "pending" {
        return Err(AppError::Conflict(
            "该承诺已核查 (this commitment has already been verified)".into(),
        ));
    }
    on_tx!(tx, c => sqlx::query(
        "UPDATE address_commitments SET status = $1, verified_at = $2, verified_by = $3, note = $4 WHERE id = $5",
    )
    .bind(result)
    .bind(now())
    .bind(&actor.name)
    .bind((!note.is_empty()).then_some(note))
    .bind(id)
    .execute(&mut *c)
    .await?.rows_affected());
    let after = get_in(tx, id).await?;
    let json = |c: &Commitment| serde_json::to_value(c).map_err(|e| AppError::Internal(e.into()));
    audit::record(
        tx,
        actor,
        Change {
            action: "address.commitment.verify",
            target_kind: "address_commitment",
            target_id: id.to_string(),
            division: Some(after.division.clone()),
            before: Some(json(&before)?),
            after: Some(json(&after)?),
        },
    )
    .await?;
    Ok(after)
}
