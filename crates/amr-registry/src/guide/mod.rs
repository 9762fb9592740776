//! The lifecycle service guide (全生命周期服务指南): the catalogue of service items across the
//! life of a business — entry (准入), permits (许可), operation (经营) and exit (退出) — with
//! each item's department, conditions, materials, time limit in working days, legal basis
//! and online link.
//!
//! - [`model`]: [`Stage`], [`ItemInput`] (raw text from forms and files) and its validation
//!   into a [`NewItem`], naming every bad field (no IO).
//! - [`table`]: reading an import file (CSV or the first sheet of an XLSX workbook) into rows
//!   by header name, Chinese or English.
//! - [`store`]: add, change, retire (each audited and evented in one transaction), the import
//!   with a per-row error report, the public search, and [`store::applicable`], the items
//!   that apply at a step, for other pages.
//! - [`web`]: the public guide (`/guide`, `/api/v1/guide`) and the officer pages
//!   (`/office/guide`).
//!
//! Search is SQL, not a tantivy index: a province's catalogue is a few thousand items, so a
//! query cut into words by jieba and matched with `LIKE` over the active items is fast enough
//! on both backends, stays consistent with every change at once (no index to follow the
//! event log), and needs no index folder. `docs/ARCHITECTURE.md` has the figures.

pub mod model;
pub mod store;
pub mod table;
pub mod web;

pub use model::{GuideItem, ItemInput, NewItem, Stage};

/// The default catalogue shipped with the platform (the demo imports it).
pub const DEFAULT_CATALOGUE: &str = include_str!("../../data/guide/catalogue.csv");
