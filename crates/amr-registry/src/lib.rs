//! The registry context (登记): business entities — enterprises, individual businesses
//! (个体工商户), farmer cooperatives and branches — their public record and change history.
//!
//! - [`model`]: the entity types and rules (no IO).
//! - [`industry`]: the GB/T 4754-2017 industry classification, embedded.
//! - [`store`]: one function per use case over both backends; every change writes its event
//!   and audit entry in the same transaction.
//! - [`lifecycle`]: suspension, resumption, deregistration (ordinary and simplified), flags.
//! - [`premises`]: extra business premises in the domicile's city (一照多址).
//! - [`demo`]: the deterministic synthetic province.
//! - [`registration`]: online registration: the name check, filing, examination, approval.
//! - [`change`]: change registration (变更登记): filing, examination, the change applied.
//! - [`licence`]: the licence version, the signed enterprise code (QR as SVG/PNG), the
//!   licence and print pages, the public verify page.
//! - [`identity`]: Hong Kong investors: HKID and travel permit, identity verification,
//!   signing keys bound to verified identities, electronic signatures on filings.
//! - [`web`]: the public record as JSON and as a page.
//! - [`featured`]: individual businesses by type (名特优新) and their support measures.
//! - [`guide`]: the lifecycle service guide (全生命周期服务指南).
//! - [`annual`]: annual reports (年度报告, 多报合一), prefilled from the tax agency.
//! - [`abnormal`]: the abnormal-operation list (经营异常名录) and the serious-violation list.
#![forbid(unsafe_code)]

pub mod abnormal;
pub mod annual;
pub mod change;
pub mod demo;
pub mod featured;
pub mod guide;
pub mod identity;
pub mod industry;
pub mod licence;
pub mod lifecycle;
pub mod model;
pub mod premises;
pub mod registration;
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
