//! The consumer context (消费): complaints, reports and requests for help (12315) with
//! online dispute resolution and complaint publicity; unfair standard-form clauses (格式条款).
//!
//! - [`complaint`]: intake (form, JSON, Open311), routing to the county bureau, ODR, the
//!   officers' queue and actions, tracking, per-enterprise statistics (`docs/COMPLAINTS.md`).
//! - [`contract`]: the clause rules (`data/contract_rules.toml`, run by the kernel's
//!   text-rule engine), the reports, the model contracts, their pages.
//! - [`pledge`]: offline no-reason-return pledges (线下无理由退货), searchable by the public.
//! - [`showcase`]: demonstration units (放心消费示范单位): application, notice, objections,
//!   award, re-check, removal.
//! - [`compensation`]: advance compensation (先行赔付) by markets and platforms on complaints.
#![forbid(unsafe_code)]

pub mod compensation;
pub mod complaint;
pub mod contract;
pub mod pledge;
pub mod showcase;

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
    vec![
        contract::web::module(),
        complaint::module(),
        pledge::web::module(),
    ]
}

/// The JSON API routes (outside the page frame), Open311 included.
pub fn api_routes(deps: complaint::Deps) -> Router<AppState> {
    contract::web::api_routes()
        .merge(complaint::api::routes(deps.clone()))
        .merge(pledge::web::api_routes(deps.clone()))
        .merge(showcase::web::api_routes(deps.clone()))
        .merge(compensation::web::api_routes(deps.clone()))
        .merge(complaint::open311::routes(deps))
}

/// The page routes (the server merges them inside the page frame).
pub fn page_routes(deps: complaint::Deps) -> Router<AppState> {
    contract::web::page_routes()
        .merge(pledge::web::page_routes(deps.clone()))
        .merge(showcase::web::page_routes(deps.clone()))
        .merge(compensation::web::page_routes(deps.clone()))
        .merge(complaint::pages::routes(deps))
}

/// The sections this crate adds to the public entity page.
pub fn entity_panels() -> Vec<std::sync::Arc<dyn amr_web::panels::EntityPanel>> {
    vec![std::sync::Arc::new(complaint::panel::ComplaintPanel)]
}

/// The pages of this crate the enterprise portal links to, in the order shown: the complaints
/// against the business (ODR), its complaint statistics and statement, its no-reason-return
/// pledge, its application as a demonstration unit, its advance-compensation pledge (a
/// market or platform).
pub fn portal_links() -> Vec<amr_web::panels::PortalLink> {
    use amr_web::panels::PortalLink;
    vec![
        PortalLink {
            id: "complaints",
            href: "/portal/complaints",
            label: "complaint.portal.title",
        },
        PortalLink {
            id: "complaint-stats",
            href: "/portal/complaints/stats",
            label: "complaint.portal.stats",
        },
        PortalLink {
            id: "pledge",
            href: "/portal/pledge",
            label: "pledge.portal.title",
        },
        PortalLink {
            id: "showcase",
            href: "/portal/showcase",
            label: "showcase.portal.title",
        },
        PortalLink {
            id: "compensation",
            href: "/portal/compensation",
            label: "comp.portal.title",
        },
    ]
}

/// The matter kinds this context declares (the server builds its engine over them).
pub fn matter_kinds() -> Vec<&'static amr_kernel::matter::KindSpec> {
    vec![
        &contract::report::CONTRACT_REPORT,
        &complaint::kinds::COMPLAINT,
        &complaint::kinds::REPORT,
        &complaint::kinds::HELP,
    ]
}
