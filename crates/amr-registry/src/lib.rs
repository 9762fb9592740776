//! The registry context (登记): business entities — enterprises, individual businesses
//! (个体工商户), farmer cooperatives and branches — their public record and change history.
//!
//! - [`model`]: the entity types and rules (no IO).
//! - [`industry`]: the GB/T 4754-2017 industry classification, embedded.
//! - [`store`]: one function per use case over both backends; every change writes its event
//!   and audit entry in the same transaction.
//! - [`demo`]: the deterministic synthetic province.
//! - [`identity`]: Hong Kong investors: HKID and travel permit, identity verification,
//!   signing keys bound to verified identities, electronic signatures on filings.
//! - [`web`]: the public record as JSON and as a page.
#![forbid(unsafe_code)]

pub mod demo;
pub mod identity;
pub mod industry;
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
