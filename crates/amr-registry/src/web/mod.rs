//! The registry's routes: the public record of an entity, as JSON and as a page.

mod api;
mod office;
mod pages;
pub mod search;

use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Router};

use amr_web::{AppState, WebModule};

/// The registry's templates and texts, for the shell.
pub fn module() -> WebModule {
    WebModule {
        name: "registry",
        templates: TEMPLATES,
        zh: include_str!("../../locales/zh.json"),
        en: include_str!("../../locales/en.json"),
    }
}

/// The registry's templates.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "registry/office_entities.html",
        include_str!("../../templates/registry/office_entities.html"),
    ),
    (
        "registry/office_entity.html",
        include_str!("../../templates/registry/office_entity.html"),
    ),
    (
        "registry/entity.html",
        include_str!("../../templates/registry/entity.html"),
    ),
    (
        "registry/search.html",
        include_str!("../../templates/registry/search.html"),
    ),
    (
        "registry/signatures.html",
        include_str!("../../templates/registry/signatures.html"),
    ),
    (
        "registry/office_signatures.html",
        include_str!("../../templates/registry/office_signatures.html"),
    ),
    (
        "registry/sign.html",
        include_str!("../../templates/registry/sign.html"),
    ),
    (
        "registry/sign_receipt.html",
        include_str!("../../templates/registry/sign_receipt.html"),
    ),
];

/// The JSON API routes (the server merges them outside the page frame).
pub fn api_routes() -> Router<AppState> {
    Router::new().route("/api/v1/entities/{uscc}", get(api::get_entity))
}

/// The page routes (the server merges them inside the page frame).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/entities", get(pages::lookup_entity))
        .route("/entities/{uscc}", get(pages::get_entity_page))
        .route("/office/entities", get(office::list_entities))
        .route("/office/entities.xlsx", get(office::export_entities))
        .route("/office/entities/{uscc}", get(office::get_entity))
}

/// The identity and signature API (`POST /api/v1/signatures`, ...) over `verifier` (merged
/// outside the page frame); see [`crate::identity::web`].
pub fn identity_api_routes(verifier: crate::identity::web::SharedVerifier) -> Router<AppState> {
    crate::identity::web::api_routes(verifier)
}

/// The signer's and the officer's signature pages over `verifier` (merged inside the page
/// frame).
pub fn identity_page_routes(verifier: crate::identity::web::SharedVerifier) -> Router<AppState> {
    crate::identity::web::page_routes(verifier)
}

/// The search API, `GET /api/v1/entities?q=...`, over `index` (merged outside the page frame).
pub fn search_api_routes(index: Arc<crate::search::EntityIndex>) -> Router<AppState> {
    Router::new()
        .route("/api/v1/entities", get(search::api_search))
        .layer(Extension(index))
}

/// The search page, `GET /search?q=...`, over `index` (merged inside the page frame).
pub fn search_page_routes(index: Arc<crate::search::EntityIndex>) -> Router<AppState> {
    Router::new()
        .route("/search", get(search::search_page))
        .layer(Extension(index))
}
