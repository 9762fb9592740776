//! Individual businesses by type (名特优新): individual businesses (个体工商户) classified as
//! famous (名), distinctive (特), quality (优) or new (新), and the support measures
//! (扶持措施) they receive.
//!
//! - [`model`]: [`FeaturedType`], the [`Criteria`] per type (TOML: the defaults in
//!   `data/featured_criteria.toml`, or the administrator's text), and [`model::check`], which
//!   judges a business and a proposal against them (no IO).
//! - [`store`]: propose, confirm or reject (by another officer: no self-confirmation), revoke,
//!   record support; lists, statistics by type and city, the public types of a business.
//!   Every change is audited and evented in one transaction; confirmations and revocations
//!   are public events.
//! - [`web`]: the officer pages under `/office/featured`, the public `/featured` statistics
//!   and `/api/v1/featured`.
//! - [`demo`]: the deterministic classification of a small share of the demo province.

pub mod demo;
pub mod model;
pub mod store;
pub mod web;

pub use model::{Criteria, FeaturedType};

/// The criteria shipped with the platform.
pub const DEFAULT_CRITERIA: &str = include_str!("../../data/featured_criteria.toml");
