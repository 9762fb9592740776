//! `GET /`: what this platform is, what this instance offers so far, and where to start.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use amr_web::page::{PageError, Viewer, render};
use amr_web::state::AppState;

/// The home page.
pub async fn get_home(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    render(&state, &viewer, StatusCode::OK, "home.html", ())
}
