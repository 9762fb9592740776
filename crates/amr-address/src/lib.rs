//! The shared address service (住所): every crate that takes an address — registration,
//! complaint routing, inspections — turns it into the same structured, comparable form here.
//!
//! - [`parse`]: free-text Chinese address → province, prefecture, county and town (with codes
//!   from the national division table in `amr-kernel`), village, road, number, POI, building,
//!   unit, floor, room, a normalized form and a confidence. Pure, no IO, never panics.
//! - [`web`]: `POST /api/v1/addresses/parse` (public, batches of at most
//!   [`web::MAX_BATCH`]).
//! - [`library`] (standard address library), [`rules`] (negative list), [`check`] (the verdict
//!   registration uses), [`commitment`] (declaration-commitment), [`risk`] (false-address
//!   risk), [`api`] and [`office`] (their routes and pages), [`schema`] (tables, pages).
//!
//! This is a shared service, not a context: it depends on the kernel (and the web shell for
//! its route) and on no context crate; contexts may depend on it.
#![forbid(unsafe_code)]

pub mod api;
pub mod check;
pub mod commitment;
pub mod library;
pub mod office;
pub mod parse;
pub mod risk;
pub mod rules;
pub mod schema;
pub mod web;

pub use parse::{ParsedAddress, parse};
