//! The event log for officers and administrators, within their jurisdiction.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use amr_kernel::auth::Permission;
use amr_kernel::error::AppError;
use amr_kernel::events;

use amr_web::auth::ApiCaller;
use amr_web::error::ApiError;
use amr_web::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/v1/events?before=N&limit=M`: newest first, within the caller's jurisdiction.
pub async fn list_events(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadEvents)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request(
            "limit",
            "limit 须在 1 到 500 之间 (limit must be 1..=500)",
        )
        .into());
    }
    let items = events::scoped_recent(&state.db, &caller.scope, q.before, limit).await?;
    let next = if items.len() as i64 == limit {
        items.last().map(|e| e.timepoint)
    } else {
        None
    };
    Ok(Json(serde_json::json!({
        "items": items.iter().map(|e| e.full_view()).collect::<Vec<_>>(),
        "next_before": next,
    })))
}

/// `GET /api/v1/events/{timepoint}`: one event; 404 when it is outside the jurisdiction.
pub async fn get_event(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(timepoint): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::ReadEvents)?;
    let tp: i64 = timepoint
        .parse()
        .map_err(|_| ApiError(AppError::NotFound))?;
    let e = events::scoped_get(&state.db, &caller.scope, tp).await?;
    Ok(Json(e.full_view()))
}

/// `GET /api/v1/me`: who the caller is and what it may do.
pub async fn get_me(caller: ApiCaller) -> Json<serde_json::Value> {
    let permissions: Vec<&str> = caller
        .role
        .map(|r| r.permissions().iter().map(|p| p.key()).collect())
        .unwrap_or_default();
    Json(serde_json::json!({
        "actor": caller.actor,
        "role": caller.role,
        "jurisdiction": caller.scope.as_prefix(),
        "permissions": permissions,
        "agency": caller.api_key.as_ref().map(|k| &k.agency),
    }))
}
