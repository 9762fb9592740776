//! The registry context (登记): business entities — enterprises, individual businesses
//! (个体工商户), farmer cooperatives and branches — their public record and change history.
//!
//! - [`model`]: the entity types and rules (no IO).
//! - [`industry`]: the GB/T 4754-2017 industry classification, embedded.
//! - [`store`]: one function per use case over both backends; every change writes its event
//!   and audit entry in the same transaction.
//! - [`demo`]: the deterministic synthetic province.
//! - [`licence`]: the licence version, the signed enterprise code (QR as SVG/PNG), the
//!   licence and print pages, the public verify page.
//! - [`web`]: the public record as JSON and as a page.
#![forbid(unsafe_code)]

pub mod demo;
pub mod industry;
pub mod licence;
pub mod model;
pub mod search;
pub mod store;
pub mod web;

/// The registry's tables (migration versions 1000–1999).
pub fn migrations() -> amr_kernel::db::MigrationSet {
    amr_kernel::db::MigrationSet {
        name: "registry",
        sqlite: || sqlx::migrate!("./migrations/sqlite"),
        postgres: || sqlx::migrate!("./migrations/postgres"),
    }
}
