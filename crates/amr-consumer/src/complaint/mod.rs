//! Complaints (投诉), reports (举报) and requests for help (咨询求助): 12315 intake, routing to
//! the competent county bureau, online dispute resolution (ODR) with the business first, the
//! officers' queue and actions, the complainant's tracking and per-enterprise public
//! statistics. Guide: `docs/COMPLAINTS.md`; rules: `DOMAIN.md` §6 (SAMR Order 20).
//!
//! - [`kinds`]: the three matter kinds (states, transitions, clocks in working days);
//! - [`model`]: the intake parsed at the edge (bounded fields, phone, strict yuan, the
//!   duplicate key), no IO;
//! - [`store`]: the SQL of the context's own rows (`complaints`, `odr_enterprises`);
//! - [`flow`]: the use cases — file (route, ODR or bureau, duplicate refusal), the business's
//!   answer, the consumer's refusal, officers' actions and transfers, the ODR sweep — each in
//!   one transaction with the matter engine;
//! - [`views`]: what each audience sees of a matter (the complainant, officers, the public);
//! - [`api`], [`open311`], [`pages`], [`office_pages`]: JSON, Open311 GeoReport v2 and HTML
//!   routes;
//!   [`panel`]: the section of the public entity page.
//!
//! The registry is reached only through [`BusinessDirectory`], which the server wires.

pub mod api;
pub mod category;
pub mod dashboard;
pub mod demo;
pub mod evidence;
pub mod flow;
pub mod followup;
pub mod followup_web;
pub mod kinds;
pub mod model;
pub mod office_pages;
pub mod open311;
pub mod pages;
pub mod panel;
pub mod publicity;
pub mod store;
pub mod svg;
pub mod views;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use chrono::NaiveDate;

use amr_kernel::db::Db;
use amr_kernel::error::AppError;
use amr_kernel::matter::Engine;
use amr_web::AppState;

/// The matter engine over the three kinds. It starts on the embedded calendar; the server
/// loads the database's calendar (imported years) into it at start ([`load_calendar`]).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(
        || match Engine::new(&[&kinds::COMPLAINT, &kinds::REPORT, &kinds::HELP]) {
            Ok(e) => e,
            Err(p) => panic!("complaint kinds: {}", p.join("; ")),
        },
    )
}

/// Loads the working-day calendar of `db` (embedded years merged with imported ones) into
/// the engine.
pub async fn load_calendar(db: &Db) -> Result<(), AppError> {
    engine().set_calendar(amr_kernel::calendar_store::load(db).await?);
    Ok(())
}

/// The day deadlines count from: the server's fixed day if it has one (tests, training
/// deployments), else today in China.
pub fn today(state: &AppState) -> NaiveDate {
    state.config.today()
}

/// A business as the registry knows it.
#[derive(Debug, Clone)]
pub struct Business {
    pub uscc: String,
    pub name: String,
    pub address: String,
    /// Its registered domicile's division (6 or 9 digits).
    pub division: String,
    /// Whether it is active (not deregistered or revoked).
    pub active: bool,
}

pub type LookupFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AppError>> + Send + 'a>>;

/// Read access to the registry, wired by the server.
pub trait BusinessDirectory: Send + Sync + std::fmt::Debug {
    /// The entity with this USCC, or `None`.
    fn lookup<'a>(&'a self, uscc: &'a str) -> LookupFuture<'a, Option<Business>>;

    /// One page of registered enterprises (not individual businesses), in the registry's
    /// paging order, after the USCC `after` (the last of the previous page), at most `limit`
    /// (for the demo's ODR marking).
    fn enterprises<'a>(
        &'a self,
        after: Option<&'a str>,
        limit: usize,
    ) -> LookupFuture<'a, Vec<Business>>;
}

/// What the routes need besides the state.
#[derive(Debug, Clone)]
pub struct Deps {
    pub registry: Arc<dyn BusinessDirectory>,
    /// The intake's group commit over the state's database (`flow::group`).
    pub intake: flow::IntakeWriter,
}

/// The templates and texts.
pub fn module() -> amr_web::WebModule {
    pages::module()
}
