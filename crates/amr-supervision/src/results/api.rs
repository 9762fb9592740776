//! The officers' JSON API of results (a session with its `X-CSRF-Token` header for writes),
//! within the caller's jurisdiction, the same rules as the pages:
//!
//! - `GET /api/v1/office/inspections/visits/{plan_id}/{visit_no}`: the visit, its results,
//!   attachments (without bytes) and follow-ups;
//! - `POST /api/v1/office/inspections/visits/{plan_id}/{visit_no}/results`
//!   (`{"item", "outcome", "findings", "inspected_on"}`): record or correct, 201 with the row;
//! - `POST /api/v1/office/inspections/visits/{plan_id}/{visit_no}/publish`: `{"published": n}`;
//! - `GET /api/v1/office/inspections/results?plan=&overdue=1&area=&after=`: unpublished
//!   results with their deadlines.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use amr_kernel::auth::Permission;
use amr_kernel::calendar_store;
use amr_kernel::error::AppError;
use amr_web::AppState;
use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;

use super::followups;
use super::model::RecordInput;
use super::public::{parse_area, parse_id};
use super::query::{self, PendingFilter};
use super::store;
use super::visit;

/// The officers' API routes (outside the page frame).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/office/inspections/visits/{plan_id}/{visit_no}",
            get(get_visit),
        )
        .route(
            "/api/v1/office/inspections/visits/{plan_id}/{visit_no}/results",
            post(post_result),
        )
        .route(
            "/api/v1/office/inspections/visits/{plan_id}/{visit_no}/publish",
            post(post_publish),
        )
        .route("/api/v1/office/inspections/results", get(get_pending))
}

fn key(plan_id: &str, visit_no: &str) -> Result<(i64, i64), AppError> {
    Ok((parse_id(plan_id)?, parse_id(visit_no)?))
}

/// `GET /api/v1/office/inspections/visits/{plan_id}/{visit_no}`.
pub async fn get_visit(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path((plan_id, visit_no)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadRecords)?;
    let (plan_id, visit_no) = key(&plan_id, &visit_no)?;
    let scope = &caller.scope;
    let v = visit::get(&state.db, scope, plan_id, visit_no).await?;
    let results = store::of_visit(&state.db, scope, plan_id, visit_no).await?;
    let attachments = store::attachments_of_visit(&state.db, scope, plan_id, visit_no).await?;
    let followups = followups::of_visit(&state.db, scope, plan_id, visit_no).await?;
    Ok(Json(json!({
        "visit": v,
        "results": results,
        "attachments": attachments,
        "followups": followups,
    })))
}

/// `POST /api/v1/office/inspections/visits/{plan_id}/{visit_no}/results`.
pub async fn post_result(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path((plan_id, visit_no)): Path<(String, String)>,
    body: Result<Json<RecordInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Permission::RecordLifecycle)?;
    let (plan_id, visit_no) = key(&plan_id, &visit_no)?;
    let Json(input) = body.map_err(|e| {
        AppError::bad_request(
            "body",
            format!(
                "请求内容不是有效的 JSON (the body is not valid JSON): {}",
                e.body_text()
            ),
        )
    })?;
    let calendar = calendar_store::load(&state.db).await?;
    let mut tx = state.db.begin().await?;
    let r = store::record(
        &mut tx,
        &caller.actor,
        &caller.scope,
        plan_id,
        visit_no,
        &input,
        &calendar,
        state.config.today(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({ "result": r }))))
}

/// `POST /api/v1/office/inspections/visits/{plan_id}/{visit_no}/publish`.
pub async fn post_publish(
    caller: ApiCaller,
    State(state): State<AppState>,
    Path((plan_id, visit_no)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::RecordLifecycle)?;
    let (plan_id, visit_no) = key(&plan_id, &visit_no)?;
    let mut tx = state.db.begin().await?;
    let n = store::publish_visit(&mut tx, &caller.actor, &caller.scope, plan_id, visit_no).await?;
    tx.commit().await?;
    Ok(Json(json!({ "published": n })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PendingQuery {
    plan: String,
    overdue: String,
    area: String,
    after: String,
}

/// `GET /api/v1/office/inspections/results?plan=&overdue=1&area=&after=`: unpublished results
/// of the jurisdiction, earliest deadline first; `next_after` continues the list.
pub async fn get_pending(
    caller: ApiCaller,
    State(state): State<AppState>,
    q: Result<Query<PendingQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadRecords)?;
    let Query(q) = q.map_err(|e| {
        AppError::bad_request(
            "query",
            format!(
                "查询参数无法识别 (the query could not be read): {}",
                e.body_text()
            ),
        )
    })?;
    let plan_id = match q.plan.trim() {
        "" => None,
        p => Some(super::pages::parse_plan(p)?),
    };
    let overdue_only = super::pages::parse_overdue(&q.overdue)?;
    let area = parse_area(&q.area)?;
    let filter = PendingFilter {
        plan_id,
        overdue_only,
        area: Some(area).filter(|a| !a.is_empty()),
        after: super::pages::parse_after(&q.after)?,
    };
    let (items, more) =
        query::pending(&state.db, &caller.scope, &filter, state.config.today()).await?;
    let next = if more {
        items
            .last()
            .map(|p| format!("{}:{}", p.result.publish_due, p.result.id))
    } else {
        None
    };
    Ok(Json(json!({ "items": items, "next_after": next })))
}
