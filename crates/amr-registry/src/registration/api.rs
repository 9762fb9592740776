//! The registration API:
//!
//! - `POST /api/v1/registrations/name-check` `{"name", "entity_type", "division"}` → the
//!   [`NameCheck`] (public).
//! - `POST /api/v1/registrations` (the [`ApplicationInput`] as JSON) → 201
//!   `{"filing_no", "token", "status_url", "filing"}` (public: applicants have no account).
//! - `GET /api/v1/registrations/{no}?token=...` (or the `X-Registration-Token` header) → the
//!   filing and its steps, for its applicant.
//! - `PUT /api/v1/registrations/{no}?token=...` (the corrected application) → the refiled
//!   filing.
//! - Officers (a session with the examine-registrations permission; `X-CSRF-Token` for
//!   writes): `GET /api/v1/office/registrations?status=filed&after=N`,
//!   `GET /api/v1/office/registrations/{no}` (with the name check, similar names and the
//!   filing's electronic signatures, each checked against its current hash),
//!   `POST /api/v1/registrations/{no}/approve`, `POST /api/v1/registrations/{no}/return`
//!   `{"reasons": "..."}`.
//!
//! Bad input is a 400 naming the field (`name`, `capital`, `shareholders`, ...), Chinese
//! first; a domicile on the negative list and an illegal step are 422 with the rule.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::Permission;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::auth::{ApiCaller, MaybeSession};
use amr_web::error::ApiError;

use super::model::{ApplicationInput, FilingStatus};
use super::office::{close_names, parse_after};
use super::store::{self, NameCheck};
use crate::model::EntityType;
use crate::search::EntityIndex;

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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NameCheckInput {
    pub name: String,
    pub entity_type: String,
    /// The domicile's division code (county or town), optional.
    pub division: String,
}

/// Parses the optional type and division of a name check.
pub fn name_check_args(input: &NameCheckInput) -> Result<(EntityType, Option<String>), AppError> {
    let t = match input.entity_type.trim() {
        "" => EntityType::Enterprise,
        s => EntityType::parse(s).ok_or_else(|| {
            AppError::bad_request("entity_type", "未知的主体类型 (unknown entity type)")
        })?,
    };
    let division = match input.division.trim() {
        "" => None,
        d => Some(
            amr_kernel::codes::division::Jurisdiction::parse(d)
                .map_err(|e| AppError::bad_request("division", e))?
                .prefix()
                .to_string(),
        )
        .filter(|p| p.len() >= 6),
    };
    Ok((t, division))
}

async fn post_name_check(
    State(state): State<AppState>,
    req: Result<Json<NameCheckInput>, JsonRejection>,
) -> Result<Json<NameCheck>, ApiError> {
    let input = body(
        req,
        r#"{"name": "...", "entity_type": "enterprise", "division": "370102"}"#,
    )?;
    let (t, division) = name_check_args(&input)?;
    let mut check = store::check_name(&state.db, &input.name, t, division.as_deref(), None).await?;
    // Similar names are for the officer.
    check.similar.clear();
    Ok(Json(check))
}

async fn post_registration(
    State(state): State<AppState>,
    session: MaybeSession,
    req: Result<Json<ApplicationInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input = body(
        req,
        "{\"name\": \"...\", \"entity_type\": \"enterprise\", ...}",
    )?;
    let actor = session.actor();
    let (filing, token) = store::file(&state.db, actor.as_ref(), &session.1, &input).await?;
    let status_url = format!("/registrations/{}?token={token}", filing.filing_no);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "filing_no": filing.filing_no,
            "token": token,
            "status_url": status_url,
            "filing": filing,
        })),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    pub token: String,
}

fn token_of(q: &TokenQuery, headers: &HeaderMap) -> String {
    match q.token.trim() {
        "" => headers
            .get("x-registration-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        t => t.to_string(),
    }
}

async fn get_registration(
    State(state): State<AppState>,
    Path(no): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let f = store::get_for_applicant(&state.db, &no, &token_of(&q, &headers)).await?;
    let steps = store::steps(&state.db, f.id).await?;
    Ok(Json(json!({"filing": f, "steps": steps})))
}

async fn put_registration(
    State(state): State<AppState>,
    session: MaybeSession,
    Path(no): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    req: Result<Json<ApplicationInput>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let input = body(
        req,
        "{\"name\": \"...\", \"entity_type\": \"enterprise\", ...}",
    )?;
    let actor = session.actor();
    let f = store::refile(
        &state.db,
        actor.as_ref(),
        &session.1,
        &no,
        &token_of(&q, &headers),
        &input,
    )
    .await?;
    Ok(Json(json!({"filing": f})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub status: String,
    pub after: String,
}

/// Parses a filing status filter (empty = filed).
pub fn status_of(s: &str) -> Result<FilingStatus, AppError> {
    match s.trim() {
        "" => Ok(FilingStatus::Filed),
        s => FilingStatus::parse(s).ok_or_else(|| {
            AppError::bad_request(
                "status",
                "状态应为 filed、returned 或 approved (status is filed, returned or approved)",
            )
        }),
    }
}

async fn list_registrations(
    caller: ApiCaller,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ExamineRegistrations)?;
    let status = status_of(&q.status)?;
    let after = parse_after(&q.after)?;
    let items = store::list_scoped(&state.db, &caller.scope, status, after, 100).await?;
    Ok(Json(json!({ "items": items })))
}

async fn get_office_registration(
    caller: ApiCaller,
    State(state): State<AppState>,
    Extension(index): Extension<Arc<EntityIndex>>,
    Path(no): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ExamineRegistrations)?;
    let f = store::get_scoped(&state.db, &caller.scope, &no).await?;
    let steps = store::steps(&state.db, f.id).await?;
    let mut names = store::check_name(
        &state.db,
        &f.name,
        f.entity_type,
        Some(&f.division),
        Some(f.id),
    )
    .await?;
    close_names(&index, &mut names, &f.division);
    let signatures = crate::identity::signatures_for(
        &state.db,
        &caller.scope,
        &f.filing_no,
        Some(&f.filing_hash),
    )
    .await?;
    Ok(Json(
        json!({"filing": f, "steps": steps, "name_check": names, "signatures": signatures}),
    ))
}

async fn approve(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path(no): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ExamineRegistrations)?;
    let f = store::approve(
        &state.db,
        &caller.actor,
        &caller.scope,
        &no,
        state.config.today(),
    )
    .await?;
    Ok(Json(json!({"filing": f})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReturnInput {
    pub reasons: String,
}

async fn return_filing(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path(no): Path<String>,
    req: Result<Json<ReturnInput>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ExamineRegistrations)?;
    let input = body(req, r#"{"reasons": "..."}"#)?;
    let f =
        store::return_filing(&state.db, &caller.actor, &caller.scope, &no, &input.reasons).await?;
    Ok(Json(json!({"filing": f})))
}

/// The routes (merged outside the page frame).
pub fn routes(index: Arc<EntityIndex>) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/registrations/name-check", post(post_name_check))
        .route("/api/v1/registrations", post(post_registration))
        .route(
            "/api/v1/registrations/{no}",
            get(get_registration).put(put_registration),
        )
        .route("/api/v1/registrations/{no}/approve", post(approve))
        .route("/api/v1/registrations/{no}/return", post(return_filing))
        .route("/api/v1/office/registrations", get(list_registrations))
        .route(
            "/api/v1/office/registrations/{no}",
            get(get_office_registration),
        )
        .layer(Extension(index))
}
