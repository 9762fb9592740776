//! 一单两库 (one list, two libraries): the inspection item list (departments, domains, items),
//! the inspector library (jurisdiction, qualifications, enforcement certificates, declared
//! conflicts) and the tags of the target library (the entities themselves are the registry's).
//!
//! - [`model`]: the records and their inputs, parsed with every bad field named.
//! - [`store`]: the SQL, jurisdiction-scoped, audited and evented; the reads the draw freezes
//!   ([`store::items_for_draw`], [`store::inspectors_for_draw`], [`store::tags_in`]).
//! - [`rules`]: licence tags derived from the industry (a stand-in for a licence register).
//! - [`table`]: CSV/XLSX import files; [`demo`]: the demo province's library.
//! - [`web`]: the officers' pages, the public item list and the JSON API.
//!
//! `docs/INSPECTION-LIBRARY.md` describes it.

pub mod demo;
pub mod model;
pub mod rules;
pub mod store;
pub mod table;
pub mod web;

pub use rules::derived_tags;
pub use store::{inspectors_for_draw, items_for_draw, tags_in};

/// The store's department list (for pages).
pub use store::{departments, domains, items};
