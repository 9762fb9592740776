//! The registry's routes: the public record of an entity, as JSON and as a page; the
//! lifecycle filings (enterprise portal and API), the officers' decisions and the public
//! objection form.

mod api;
mod changes;
mod lifecycle;
mod lifecycle_pages;
mod office;
mod pages;
pub mod search;

use std::sync::Arc;

use axum::routing::{get, post};
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
        "registry/portal.html",
        include_str!("../../templates/registry/portal.html"),
    ),
    (
        "registry/lifecycle_forms.html",
        include_str!("../../templates/registry/lifecycle_forms.html"),
    ),
    (
        "registry/lifecycle_record.html",
        include_str!("../../templates/registry/lifecycle_record.html"),
    ),
    (
        "registry/office_deregistrations.html",
        include_str!("../../templates/registry/office_deregistrations.html"),
    ),
    (
        "registry/change_form.html",
        include_str!("../../templates/registry/change_form.html"),
    ),
    (
        "registry/office_changes.html",
        include_str!("../../templates/registry/office_changes.html"),
    ),
    (
        "registry/office_change.html",
        include_str!("../../templates/registry/office_change.html"),
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
    use lifecycle as l;
    Router::new()
        .route("/api/v1/entities/{uscc}", get(api::get_entity))
        .route("/api/v1/entities/{uscc}/lifecycle", get(l::get_lifecycle))
        .route(
            "/api/v1/entities/{uscc}/suspension",
            post(l::post_suspension),
        )
        .route(
            "/api/v1/entities/{uscc}/suspension/extension",
            post(l::post_extension),
        )
        .route(
            "/api/v1/entities/{uscc}/suspension/resumption",
            post(l::post_resumption),
        )
        .route("/api/v1/entities/{uscc}/premises", post(l::post_premises))
        .route(
            "/api/v1/entities/{uscc}/premises/{id}/closure",
            post(l::post_premises_closure),
        )
        .route(
            "/api/v1/entities/{uscc}/deregistration",
            post(l::post_deregistration),
        )
        .route(
            "/api/v1/entities/{uscc}/deregistration/application",
            post(l::post_application),
        )
        .route(
            "/api/v1/entities/{uscc}/objections",
            post(l::post_objection),
        )
        .route(
            "/api/v1/office/deregistrations/{id}/decision",
            post(l::post_decision),
        )
        .route(
            "/api/v1/office/objections/{id}/resolution",
            post(l::post_resolution),
        )
        .route("/api/v1/office/entities/{uscc}/flags", post(l::post_flags))
        .route(
            "/api/v1/entities/{uscc}/changes",
            get(changes::get_changes).post(changes::post_change),
        )
        .route("/api/v1/office/changes", get(changes::api_queue))
        .route("/api/v1/office/changes/{id}", get(changes::api_detail))
        .route(
            "/api/v1/office/changes/{id}/approve",
            post(changes::api_approve),
        )
        .route(
            "/api/v1/office/changes/{id}/return",
            post(changes::api_return),
        )
        .merge(crate::featured::web::api_routes())
        .merge(crate::guide::web::api_routes())
        .merge(crate::abnormal::web::api_routes())
}

/// The web modules of the registry's parts that keep their own templates and texts
/// (名特优新, the service guide), for the shell beside [`module`].
pub fn more_modules() -> Vec<WebModule> {
    vec![
        crate::featured::web::module(),
        crate::guide::web::module(),
        crate::annual::module(),
    ]
}

/// The page routes (the server merges them inside the page frame).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/entities", get(pages::lookup_entity))
        .route("/entities/{uscc}", get(pages::get_entity_page))
        .route(
            "/entities/{uscc}/objections",
            post(lifecycle_pages::post_objection),
        )
        .route("/portal", get(lifecycle_pages::portal))
        .route(
            "/portal/entities/{uscc}",
            get(lifecycle_pages::portal_entity),
        )
        .route(
            "/manage/entities/{uscc}/{act}",
            post(lifecycle_pages::post_manage),
        )
        .route(
            "/manage/entities/{uscc}/premises/{id}/closure",
            post(lifecycle_pages::post_close_premises),
        )
        .route(
            "/office/entities/{uscc}/flags",
            post(lifecycle_pages::post_flags),
        )
        .route("/office/deregistrations", get(lifecycle_pages::get_queue))
        .route(
            "/office/deregistrations/{id}/decision",
            post(lifecycle_pages::post_decision),
        )
        .route(
            "/office/objections/{id}/resolution",
            post(lifecycle_pages::post_resolution),
        )
        .route(
            "/manage/entities/{uscc}/changes",
            post(changes::post_change_form),
        )
        .route("/office/changes", get(changes::queue_page))
        .route("/office/changes/{id}", get(changes::detail_page))
        .route("/office/changes/{id}/approve", post(changes::approve_form))
        .route("/office/changes/{id}/return", post(changes::return_form))
        .route("/office/entities", get(office::list_entities))
        .route("/office/entities.xlsx", get(office::export_entities))
        .route("/office/entities/{uscc}", get(office::get_entity))
        .merge(crate::featured::web::page_routes())
        .merge(crate::guide::web::page_routes())
        .merge(crate::abnormal::web::page_routes())
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

/// The annual-report API over the tax agency `tax` (merged outside the page frame); see
/// [`crate::annual::web`].
pub fn annual_api_routes(tax: Arc<dyn amr_kernel::tax::TaxDataSource>) -> Router<AppState> {
    crate::annual::web::api_routes(crate::annual::web::Tax(tax))
}

/// The enterprise's annual-report pages over the tax agency `tax` (merged inside the page
/// frame).
pub fn annual_page_routes(tax: Arc<dyn amr_kernel::tax::TaxDataSource>) -> Router<AppState> {
    crate::annual::web::page_routes(crate::annual::web::Tax(tax))
}

/// A JSON body; a malformed one is a 400 naming `body` (the registry's JSON routes share it).
pub(crate) fn body<T: serde::de::DeserializeOwned>(
    b: Result<axum::Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Result<T, amr_kernel::error::AppError> {
    use amr_kernel::error::AppError;
    let axum::Json(v) = b.map_err(|e| {
        AppError::bad_request(
            "body",
            format!(
                "请求体应为 JSON 对象 (the body must be a JSON object): {}",
                e.body_text()
            ),
        )
    })?;
    serde_json::from_value(v).map_err(|e| {
        AppError::bad_request(
            "body",
            format!("请求内容无法识别 (the body could not be read): {e}"),
        )
    })
}
