//! The exchange context (数据交换): partner agencies (tax, social security, medical
//! insurance, housing fund, banks), the signed delivery of the events they subscribe to with
//! retries and signed acknowledgements, the evidence of every message and answer (exported and
//! verified offline), the status of suspension in one go (歇业一件事) per agency, tax figures
//! for annual reports, and the agency simulator. Guide: `docs/EXCHANGE.md`.
//!
//! - [`proto`]: the wire format, tags and signature checks;
//! - [`agency`]: the registered agencies;
//! - [`delivery`]: the follower that makes deliveries, the sender, answers, escalation;
//! - [`evidence`]: kept texts, export, offline verification;
//! - [`bank`]: bank push (政银合作): consent, criteria, push runs, loans reported back,
//!   figures;
//! - [`tax`]: `amr_kernel::tax::TaxDataSource` over the tax agency;
//! - [`sim`]: the agency simulator (`amr agency-sim`);
//! - [`web`]: JSON routes and pages.
#![forbid(unsafe_code)]

pub mod agency;
pub mod bank;
pub mod delivery;
pub mod evidence;
pub mod proto;
pub mod sim;
pub mod tax;
pub mod web;

/// The exchange context's tables (migration versions 5000–5099).
pub fn migrations() -> amr_kernel::db::MigrationSet {
    amr_kernel::db::MigrationSet {
        name: "exchange",
        sqlite: || sqlx::migrate!("./migrations/sqlite"),
        postgres: || sqlx::migrate!("./migrations/postgres"),
    }
}
