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
    vec![
        crate::library::web::module(),
        crate::risk::web::module(),
        crate::plan::pages::module(),
        crate::results::module(),
    ]
}

/// The sections this crate adds to the public entity page.
pub fn entity_panels() -> Vec<Arc<dyn amr_web::panels::EntityPanel>> {
    vec![Arc::new(crate::results::public::ResultsPanel)]
}

/// The JSON API routes (outside the page frame).
pub fn api_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .merge(crate::library::web::api_routes(deps.clone()))
        .merge(crate::risk::web::api_routes(deps.registry.clone()))
        .merge(crate::plan::api::routes(deps.clone()))
        .merge(crate::results::public::api_routes())
}

/// The page routes (the server merges them inside the page frame).
pub fn page_routes(deps: Deps) -> Router<AppState> {
    Router::new()
        .merge(crate::library::web::page_routes(deps.clone()))
        .merge(crate::risk::web::page_routes(deps.registry.clone()))
        .merge(crate::plan::pages::routes(deps.clone()))
        .merge(crate::results::public::page_routes())
        .merge(crate::results::pages::routes(deps.clone()))
}
