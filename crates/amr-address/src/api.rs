//! The address check API:
//!
//! - `POST /api/v1/addresses/check` `{"address": "...", "hint": "3701", "address_type": "",
//!   "industry": ""}` → the [`Verdict`](crate::check::Verdict).
//! - `POST /api/v1/addresses/commitments` `{"address", "hint", "applicant", "uscc"}` → 201 and
//!   the recorded commitment (422 when the address is refused or already standard).
//!
//! Authentication: an API key (the registration systems and partner agencies that will call
//! it) or a logged-in session of any role (with the `X-CSRF-Token` header for the POST that
//! writes). Not public: the verdict tells how many entities are registered at an address and
//! a commitment is a record with a name in it.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};

use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;

use crate::check::{self, CheckRequest, Verdict};
use crate::commitment::{self, Commitment, CommitmentInput};

/// The check and commitment routes (the server merges them outside the page frame).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/addresses/check", post(post_check))
        .route("/api/v1/addresses/commitments", post(post_commitment))
}

fn body<T>(b: Result<Json<T>, JsonRejection>, shape: &str) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|e| {
        AppError::bad_request(
            "body",
            format!(
                "请求体应为 JSON：{shape} (the body must be JSON {shape}): {}",
                e.body_text()
            ),
        )
        .into()
    })
}

async fn post_check(
    _caller: ApiCaller,
    State(state): State<AppState>,
    req: Result<Json<CheckRequest>, JsonRejection>,
) -> Result<Json<Verdict>, ApiError> {
    let req = body(req, r#"{"address": "...", "hint": "3701"}"#)?;
    Ok(Json(
        check::check(&state.db, &req, state.config.today()).await?,
    ))
}

async fn post_commitment(
    caller: ApiCaller,
    State(state): State<AppState>,
    req: Result<Json<CommitmentInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Commitment>), ApiError> {
    let input = body(
        req,
        r#"{"address": "...", "hint": "3701", "applicant": "...", "uscc": ""}"#,
    )?;
    let c = record_commitment(&state, &caller.actor, &input).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Checks the address and records the commitment in one transaction (shared with the page).
pub async fn record_commitment(
    state: &AppState,
    actor: &amr_kernel::audit::Actor,
    input: &CommitmentInput,
) -> Result<Commitment, AppError> {
    let req = CheckRequest {
        address: input.address.clone(),
        hint: input.hint.clone(),
        ..CheckRequest::default()
    };
    let verdict = check::check(&state.db, &req, state.config.today()).await?;
    let mut tx = state.db.begin().await?;
    let c = commitment::record(&mut tx, actor, input, &verdict).await?;
    tx.commit().await?;
    Ok(c)
}
