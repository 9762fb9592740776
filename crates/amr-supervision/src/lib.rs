//! The supervision context (监管): random inspections under 双随机、一公开 and the credit-risk
//! classes that steer them.
//!
//! - [`draw`]: the plan, the frozen lists, the coordinated draw, inspector assignment, the
//!   bundle and its verification (pure, no IO).
//! - [`targets`]: what the supervision context needs from the registry, as a trait the server
//!   wires.
#![forbid(unsafe_code)]

pub mod draw;
pub mod plan;
pub mod targets;
pub mod web;

/// The supervision context's tables (migration versions 3000–3999).
pub fn migrations() -> amr_kernel::db::MigrationSet {
    amr_kernel::db::MigrationSet {
        name: "supervision",
        sqlite: || sqlx::migrate!("./migrations/sqlite"),
        postgres: || sqlx::migrate!("./migrations/postgres"),
    }
}
