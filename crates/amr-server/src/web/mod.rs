//! Server-rendered pages (minijinja, auto-escaped), Chinese by default, English by a switch.

pub mod csrf;
pub mod templates;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
