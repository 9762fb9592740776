//! `GET /`: what this platform is, what this instance offers so far, and where to start.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::state::AppState;
use crate::web::page::{PageError, Viewer, render};

/// The home page.
pub async fn get_home(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    render(&state, &viewer, StatusCode::OK, "home.html", ())
}
