//! Change registration (变更登记) on the web: the API, the enterprise's form on its portal
//! page and the officers' queue and examination pages.
//!
//! - `POST /api/v1/entities/{uscc}/changes` (the enterprise bound to the entity, or an
//!   officer recording lifecycle acts within the jurisdiction on its behalf): files a change,
//!   or files the returned one again corrected; `GET` lists the entity's applications.
//! - `GET /api/v1/office/changes?status=filed|returned|approved`, `GET /api/v1/office/changes/{id}`,
//!   `POST /api/v1/office/changes/{id}/approve`, `POST /api/v1/office/changes/{id}/return`
//!   `{reasons}`: officers who examine registrations, within the jurisdiction.
//! - Pages: `POST /manage/entities/{uscc}/changes` (the portal form),
//!   `GET /office/changes`, `GET /office/changes/{id}`, `POST /office/changes/{id}/approve`,
//!   `POST /office/changes/{id}/return`.

use super::body;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::{Permission, Role, Scope};
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;
use amr_web::extract::{PageForm, PageQuery};
use amr_web::page::{PageError, Viewer, render};

use super::lifecycle::{entity_scope, path_uscc};
use crate::change::store as changes;
use crate::change::{ChangeInput, Requested};
use crate::model::OfficerEntity;
use crate::store;

/// Applications a queue page lists.
const PAGE: i64 = 100;

const STATUSES: [&str; 3] = ["filed", "returned", "approved"];

fn status_of(s: &str) -> Result<&'static str, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok("filed");
    }
    STATUSES.into_iter().find(|x| *x == s).ok_or_else(|| {
        AppError::bad_request(
            "status",
            "状态应为 filed、returned 或 approved (status is filed, returned or approved)",
        )
    })
}

fn app_id(id: &str) -> Result<i64, AppError> {
    id.parse::<i64>().map_err(|_| AppError::NotFound)
}

async fn caller_scope(state: &AppState, c: &ApiCaller, uscc: &str) -> Result<Scope, AppError> {
    let role = c.role.ok_or_else(AppError::forbidden)?;
    entity_scope(state, role, c.actor.id, &c.scope, uscc).await
}

/// `POST /api/v1/entities/{uscc}/changes`: 201 with the application.
pub async fn post_change(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let uscc = path_uscc(&uscc)?;
    let scope = caller_scope(&state, &caller, &uscc).await?;
    let input: ChangeInput = body(b)?;
    let a = changes::file(&state.db, &caller.actor, &scope, &uscc, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({ "application": a }))))
}

/// `GET /api/v1/entities/{uscc}/changes`: the entity's applications, newest first.
pub async fn get_changes(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(uscc): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let uscc = path_uscc(&uscc)?;
    let scope = match caller.role {
        Some(r) if r.can(Permission::ReadRecords) => caller.scope.clone(),
        _ => caller_scope(&state, &caller, &uscc).await?,
    };
    let e = store::get_scoped(&state.db, &scope, &uscc).await?;
    let items = changes::list_for_entity(&state.db, &e.uscc).await?;
    Ok(Json(json!({ "items": items })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    status: String,
}

/// `GET /api/v1/office/changes?status=`.
pub async fn api_queue(
    State(state): State<AppState>,
    caller: ApiCaller,
    PageQuery(q): PageQuery<QueueQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ExamineRegistrations)?;
    let status = status_of(&q.status)?;
    let items = changes::list_scoped(&state.db, &caller.scope, status, PAGE).await?;
    Ok(Json(json!({ "items": items })))
}

/// The application with the entity as registered now (officer view).
async fn detail_json(state: &AppState, scope: &Scope, id: i64) -> Result<Value, AppError> {
    let a = changes::get_scoped(&state.db, scope, id).await?;
    let e = store::get_scoped(&state.db, &Scope::all(), &a.uscc).await?;
    let rows = compare(&e, &a.requested);
    Ok(json!({
        "application": a,
        "entity": OfficerEntity::from(&e),
        "comparison": rows,
    }))
}

/// Each requested item beside its registered value: `{field, current, requested}`.
fn compare(e: &crate::model::Entity, r: &Requested) -> Vec<Value> {
    let mut out = Vec::new();
    let mut row = |f: &str, cur: Value, new: &Option<Value>| {
        if let Some(n) = new {
            out.push(json!({"field": f, "current": cur, "requested": n}));
        }
    };
    row("name", json!(e.name), &r.name.as_ref().map(|v| json!(v)));
    row(
        "legal_rep",
        json!(e.legal_rep),
        &r.legal_rep.as_ref().map(|v| json!(v)),
    );
    row(
        "legal_rep_id",
        json!(e.legal_rep_id),
        &r.legal_rep_id.as_ref().map(|v| json!(v)),
    );
    row(
        "capital_yuan",
        json!(e.capital_yuan),
        &r.capital_yuan.map(|v| json!(v)),
    );
    row(
        "address",
        json!(e.address),
        &r.address.as_ref().map(|v| json!(v)),
    );
    row(
        "division",
        json!(e.division),
        &r.division.as_ref().map(|v| json!(v)),
    );
    row("scope", json!(e.scope), &r.scope.as_ref().map(|v| json!(v)));
    row(
        "industry",
        json!(e.industry),
        &r.industry.as_ref().map(|v| json!(v)),
    );
    out
}

/// `GET /api/v1/office/changes/{id}`.
pub async fn api_detail(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ExamineRegistrations)?;
    Ok(Json(
        detail_json(&state, &caller.scope, app_id(&id)?).await?,
    ))
}

/// `POST /api/v1/office/changes/{id}/approve`.
pub async fn api_approve(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ExamineRegistrations)?;
    let a = changes::approve(&state.db, &caller.actor, &caller.scope, app_id(&id)?).await?;
    Ok(Json(json!({ "application": a })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReturnBody {
    reasons: String,
}

/// `POST /api/v1/office/changes/{id}/return` `{reasons}`.
pub async fn api_return(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    b: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ExamineRegistrations)?;
    let id = app_id(&id)?;
    let b: ReturnBody = body(b)?;
    let a = changes::return_application(&state.db, &caller.actor, &caller.scope, id, &b.reasons)
        .await?;
    Ok(Json(json!({ "application": a })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChangeForm {
    csrf: String,
    name: String,
    legal_rep: String,
    legal_rep_id: String,
    capital: String,
    address: String,
    division: String,
    scope: String,
    industry: String,
    reason: String,
    address_commitment: Option<String>,
}

/// `POST /manage/entities/{uscc}/changes`: the portal's change form (the enterprise, or an
/// officer on its behalf).
pub async fn post_change_form(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(uscc): Path<String>,
    PageForm(f): PageForm<ChangeForm>,
) -> Result<Response, PageError> {
    let uscc = path_uscc(&uscc)?;
    let s = viewer.require_login()?;
    viewer.check_csrf(&f.csrf)?;
    let role = s.account.role();
    let scope = entity_scope(&state, role, Some(s.account.id), &s.account.scope(), &uscc).await?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let input = ChangeInput {
        name: f.name,
        legal_rep: f.legal_rep,
        legal_rep_id: f.legal_rep_id,
        capital: f.capital,
        address: f.address,
        division: f.division,
        scope: f.scope,
        industry: f.industry,
        reason: f.reason,
        address_commitment: f.address_commitment.is_some(),
    };
    changes::file(&state.db, &actor, &scope, &uscc, &input).await?;
    let back = match role {
        Role::Enterprise => format!("/portal/entities/{uscc}?done=change"),
        _ => format!("/office/entities/{uscc}?done=change"),
    };
    Ok(Redirect::to(&back).into_response())
}

fn examiner(viewer: &Viewer) -> Result<Scope, PageError> {
    let s = viewer.require_login()?;
    if !s.account.role().can(Permission::ExamineRegistrations) {
        return Err(AppError::forbidden().into());
    }
    Ok(s.account.scope())
}

/// `GET /office/changes?status=`: the jurisdiction's applications.
pub async fn queue_page(
    viewer: Viewer,
    State(state): State<AppState>,
    PageQuery(q): PageQuery<QueueQuery>,
) -> Result<Response, PageError> {
    let scope = examiner(&viewer)?;
    let status = status_of(&q.status)?;
    let items = changes::list_scoped(&state.db, &scope, status, PAGE).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/office_changes.html",
        json!({"items": items, "status": status, "statuses": STATUSES}),
    )
}

/// `GET /office/changes/{id}`: the application beside the record; approve or return.
pub async fn detail_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let scope = examiner(&viewer)?;
    let page = detail_json(&state, &scope, app_id(&id)?).await?;
    render(
        &state,
        &viewer,
        StatusCode::OK,
        "registry/office_change.html",
        page,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    csrf: String,
    reasons: String,
}

/// `POST /office/changes/{id}/approve`.
pub async fn approve_form(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<DecisionForm>,
) -> Result<Response, PageError> {
    let scope = examiner(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let a = changes::approve(&state.db, &actor, &scope, app_id(&id)?).await?;
    Ok(Redirect::to(&format!("/office/changes/{}", a.id)).into_response())
}

/// `POST /office/changes/{id}/return`.
pub async fn return_form(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    PageForm(f): PageForm<DecisionForm>,
) -> Result<Response, PageError> {
    let scope = examiner(&viewer)?;
    viewer.check_csrf(&f.csrf)?;
    let actor = viewer.actor().ok_or(AppError::Unauthenticated)?;
    let a =
        changes::return_application(&state.db, &actor, &scope, app_id(&id)?, &f.reasons).await?;
    Ok(Redirect::to(&format!("/office/changes/{}", a.id)).into_response())
}
