//! The supervision context's routes and pages. Each part keeps its own route file and its
//! own web module (templates and texts).

use std::sync::Arc;

use axum::Router;

use amr_web::{AppState, WebModule};

use crate::targets::RegistrySource;

/// What the routes need besides the state.
#[derive(Debug, Clone)]
pub struct Deps {
    pub registry: Arc<dyn RegistrySource>,
}

/// The templates and texts of every part.
pub fn modules() -> Vec<WebModule> {
    vec![crate::plan::pages::module()]
}

/// The JSON API routes (outside the page frame).
pub fn api_routes(deps: Deps) -> Router<AppState> {
    Router::new().merge(crate::plan::api::routes(deps.clone()))
}

/// The page routes (the server merges them inside the page frame).
pub fn page_routes(deps: Deps) -> Router<AppState> {
    Router::new().merge(crate::plan::pages::routes(deps.clone()))
}
