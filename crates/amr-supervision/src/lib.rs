//! The supervision context (监管): random inspections under 双随机、一公开 and the credit-risk
//! classes that steer them.
//!
//! - [`draw`]: the plan, the frozen lists, the coordinated draw, inspector assignment, the
//!   bundle and its verification (pure, no IO).
//! - [`library`]: 一单两库: departments, domains, items, inspectors, conflicts, target tags, the demo.
//! - [`risk`]: credit-risk classes A/B/C/D: the model, recomputation, the follower, pages.
//! - [`results`]: inspection results, follow-ups, publication and the public results.
//! - [`targets`]: what the supervision context needs from the registry, as a trait the server
//!   wires.
#![forbid(unsafe_code)]

pub mod draw;
pub mod library;
pub mod plan;
pub mod results;
pub mod risk;
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
