//! Server-rendered pages (minijinja, auto-escaped), Chinese by default, English by a switch.
//!
//! Every page works without JavaScript. Forms are `application/x-www-form-urlencoded`, use
//! post/redirect/get and carry a CSRF token ([`csrf`]). Pages are rendered in one layout
//! (`templates/base.html`) whose navigation shows only what the viewer can use; errors are
//! pages in that layout, in the viewer's language ([`page`]).

mod pages;

use axum::Router;
use axum::http::Uri;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use amr_kernel::error::AppError;
use amr_web::error::ApiError;
use amr_web::page::{self, PageError, Viewer};
use amr_web::state::AppState;
use amr_web::{WebModule, i18n, static_files};
use pages::{admin, home, login, office};

/// The server's own pages: home, login, back office, administration.
pub fn module() -> WebModule {
    WebModule {
        name: "server",
        templates: TEMPLATES,
        zh: "{}",
        en: "{}",
    }
}

/// The server's own templates (the layout, macros and error page are the shell's).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("home.html", include_str!("../../templates/home.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("office.html", include_str!("../../templates/office.html")),
    (
        "admin/accounts.html",
        include_str!("../../templates/admin/accounts.html"),
    ),
    (
        "admin/account.html",
        include_str!("../../templates/admin/account.html"),
    ),
    (
        "admin/audit.html",
        include_str!("../../templates/admin/audit.html"),
    ),
    (
        "admin/keys.html",
        include_str!("../../templates/admin/keys.html"),
    ),
];

/// The page routes, the static assets and the fallback (404 page; JSON under `/api/`).
pub fn routes(
    index: std::sync::Arc<amr_registry::search::EntityIndex>,
    keys: std::sync::Arc<amr_kernel::signing::Keyring>,
    verifier: amr_registry::identity::web::SharedVerifier,
    supervision: amr_supervision::web::Deps,
    consumer: amr_consumer::complaint::Deps,
    tax: std::sync::Arc<dyn amr_kernel::tax::TaxDataSource>,
) -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(home::get_home))
        .route("/lang/{lang}", get(i18n::set_lang))
        .route("/login", get(login::get_login).post(login::post_login))
        .route("/logout", post(login::post_logout))
        .route("/office", get(office::get_office))
        .merge(admin::routes())
        .merge(amr_registry::web::page_routes())
        .merge(amr_registry::web::search_page_routes(index.clone()))
        .merge(amr_registry::web::registration_page_routes(index))
        .merge(amr_registry::web::licence_page_routes(keys))
        .merge(amr_registry::web::identity_page_routes(verifier))
        .merge(amr_address::office::routes())
        .merge(amr_supervision::web::page_routes(supervision))
        .merge(amr_consumer::page_routes(consumer))
        .merge(amr_registry::web::annual_page_routes(tax))
        .fallback(not_found)
        .layer(middleware::from_fn(page::page_frame));
    Router::new()
        .route("/static/{file}", get(static_files::get_static))
        .merge(pages)
}

/// Unknown paths: the 404 page, or a JSON 404 under the API prefix.
async fn not_found(uri: Uri, viewer: Result<Viewer, PageError>) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError(AppError::NotFound).into_response();
    }
    match viewer {
        Ok(_) => PageError::not_found().into_response(),
        Err(e) => e.into_response(),
    }
}
