//! The JSON API under `/api/v1`, plus `/healthz`.

mod events;
pub mod log;
mod stream;

use axum::Router;
use axum::routing::get;

use amr_web::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/stream", get(stream::get_stream))
        .route("/api/v1/events", get(events::list_events))
        .route("/api/v1/events/{timepoint}", get(events::get_event))
        .route("/api/v1/me", get(events::get_me))
        .route("/api/v1/keys", get(keys))
        .merge(log::routes())
}

/// `GET /api/v1/keys`: the deployment's public signing keys, current and retired
/// (`{"keys": [{"id", "algorithm", "public_key", "public_key_hex", "created_at", "retired_at",
/// "status"}]}`), oldest first. What any of them signed verifies offline with it.
async fn keys(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<axum::Json<serde_json::Value>, amr_web::error::ApiError> {
    let keys = amr_kernel::signing::published(&state.db).await?;
    let list: Vec<serde_json::Value> = keys.iter().map(|k| k.to_json()).collect();
    Ok(axum::Json(serde_json::json!({ "keys": list })))
}

/// 200 once the server is ready: the database answers.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, amr_web::error::ApiError> {
    amr_kernel::events::head(&state.db).await?;
    Ok("ok")
}
