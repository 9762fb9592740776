//! The JSON API under `/api/v1`, plus `/healthz`.

mod events;
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
}

/// 200 once the server is ready: the database answers.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, amr_web::error::ApiError> {
    amr_kernel::events::head(&state.db).await?;
    Ok("ok")
}
