//! The consumer context (消费): unfair standard-form clauses (格式条款) for now — the
//! contract check, the public "你提我点" reports that become matters, model contracts by
//! industry. Complaints (12315), ODR and publicity will join it.
//!
//! - [`contract`]: the clause rules (`data/contract_rules.toml`, run by the kernel's
//!   text-rule engine), the reports, the model contracts, their pages.
#![forbid(unsafe_code)]

pub mod contract;

use amr_web::{AppState, WebModule};
use axum::Router;

/// The consumer context's tables (migration versions 4000–4999).
pub fn migrations() -> amr_kernel::db::MigrationSet {
    amr_kernel::db::MigrationSet {
        name: "consumer",
        sqlite: || sqlx::migrate!("./migrations/sqlite"),
        postgres: || sqlx::migrate!("./migrations/postgres"),
    }
}

/// The templates and texts of every part.
pub fn modules() -> Vec<WebModule> {
    vec![contract::web::module()]
}

/// The JSON API routes (outside the page frame).
pub fn api_routes() -> Router<AppState> {
    contract::web::api_routes()
}

/// The page routes (the server merges them inside the page frame).
pub fn page_routes() -> Router<AppState> {
    contract::web::page_routes()
}

/// The matter kinds this context declares (the server builds its engine over them).
pub fn matter_kinds() -> Vec<&'static amr_kernel::matter::KindSpec> {
    vec![&contract::report::CONTRACT_REPORT]
}
