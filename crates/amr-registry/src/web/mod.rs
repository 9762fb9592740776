//! The registry's routes: the public record of an entity, as JSON and as a page.

mod api;
mod office;
mod pages;
pub mod search;

use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Router};

use amr_kernel::signing::Keyring;
use amr_web::{AppState, WebModule};

use crate::licence;

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

/// The licence's pages and texts (a module of their own), for the shell.
pub fn licence_module() -> WebModule {
    WebModule {
        name: "licence",
        templates: LICENCE_TEMPLATES,
        zh: include_str!("../../locales/licence.zh.json"),
        en: include_str!("../../locales/licence.en.json"),
    }
}

/// The licence's templates.
pub const LICENCE_TEMPLATES: &[(&str, &str)] = &[
    (
        "registry/licence.html",
        include_str!("../../templates/registry/licence.html"),
    ),
    (
        "registry/licence_print.html",
        include_str!("../../templates/registry/licence_print.html"),
    ),
    (
        "registry/verify.html",
        include_str!("../../templates/registry/verify.html"),
    ),
];

/// The enterprise code's JSON and images, signed with `keys` (merged outside the page frame):
/// `/api/v1/entities/{uscc}/code`, `/api/v1/codes/{payload}`, `/entities/{uscc}/code.svg`,
/// `/entities/{uscc}/code.png`, `/assets/registry/licence.css`.
pub fn licence_api_routes(keys: Arc<Keyring>) -> Router<AppState> {
    Router::new()
        .route("/api/v1/entities/{uscc}/code", get(licence::web::get_code))
        .route("/api/v1/codes/{payload}", get(licence::web::api_verify))
        .route("/entities/{uscc}/code.svg", get(licence::web::get_code_svg))
        .route("/entities/{uscc}/code.png", get(licence::web::get_code_png))
        .route(
            "/assets/registry/licence.css",
            get(licence::web::get_licence_css),
        )
        .layer(Extension(keys))
}

/// The licence and verify pages (merged inside the page frame): `/entities/{uscc}/licence`,
/// `/entities/{uscc}/licence/print`, `/v/{payload}` (what a scan opens), `/verify?code=`.
pub fn licence_page_routes(keys: Arc<Keyring>) -> Router<AppState> {
    Router::new()
        .route(
            "/entities/{uscc}/licence",
            get(licence::web::get_licence_page),
        )
        .route(
            "/entities/{uscc}/licence/print",
            get(licence::web::get_licence_print),
        )
        .route("/v/{payload}", get(licence::web::get_verify_scanned))
        .route("/verify", get(licence::web::get_verify_form))
        .layer(Extension(keys))
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
