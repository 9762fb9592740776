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
        "registration/name_check.html",
        include_str!("../../templates/registration/name_check.html"),
    ),
    (
        "registration/form.html",
        include_str!("../../templates/registration/form.html"),
    ),
    (
        "registration/filing.html",
        include_str!("../../templates/registration/filing.html"),
    ),
    (
        "registration/office_queue.html",
        include_str!("../../templates/registration/office_queue.html"),
    ),
    (
        "registration/office_filing.html",
        include_str!("../../templates/registration/office_filing.html"),
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

/// The search API, `GET /api/v1/entities?q=...`, over `index` (merged outside the page frame).
pub fn search_api_routes(index: Arc<crate::search::EntityIndex>) -> Router<AppState> {
    Router::new()
        .route("/api/v1/entities", get(search::api_search))
        .layer(Extension(index))
}

/// The registration API (`/api/v1/registrations...`; the officer's view lists similar names
/// from `index`), merged outside the page frame.
pub fn registration_api_routes(index: Arc<crate::search::EntityIndex>) -> Router<AppState> {
    crate::registration::api::routes(index)
}

/// The registration pages: the applicant's (`/registrations...`) and the officer's
/// (`/office/registrations...`), merged inside the page frame.
pub fn registration_page_routes(index: Arc<crate::search::EntityIndex>) -> Router<AppState> {
    use crate::registration::{office, pages};
    use axum::routing::post;
    Router::new()
        .route("/registrations/name-check", get(pages::name_check_page))
        .route("/registrations/new", get(pages::new_form))
        .route("/registrations", post(pages::post_filing))
        .route("/registrations/{no}", get(pages::filing_page))
        .route("/registrations/{no}/edit", get(pages::edit_form))
        .route("/registrations/{no}/refile", post(pages::post_refile))
        .route("/office/registrations", get(office::queue))
        .route("/office/registrations/{no}", get(office::detail))
        .route(
            "/office/registrations/{no}/approve",
            post(office::post_approve),
        )
        .route(
            "/office/registrations/{no}/return",
            post(office::post_return),
        )
        .layer(Extension(index))
}

/// The search page, `GET /search?q=...`, over `index` (merged inside the page frame).
pub fn search_page_routes(index: Arc<crate::search::EntityIndex>) -> Router<AppState> {
    Router::new()
        .route("/search", get(search::search_page))
        .layer(Extension(index))
}
