//! Inspection plans (抽查计划): drafts and tasks, publication with frozen lists and a seed
//! commitment, the draw through the engine, visits, the officers' and the public's pages, the
//! JSON API and the bundle anyone can verify with `amr inspect verify`.
//!
//! - [`model`]: form and JSON input → `draw::model::Plan` / `Task` (no IO).
//! - [`freeze`]: the frozen target, inspector and item lists (streaming).
//! - [`chunks`]: gzip JSON-lines chunks in `insp_plan_chunks`.
//! - [`engine`]: every call into the draw engine.
//! - [`store`]: the SQL (drafts, publish, draw, visits, reads).
//! - [`bundle`]: the bundle written piece by piece.
//! - [`api`], [`pages`]: routes.

pub mod api;
pub mod bundle;
pub mod chunks;
pub mod engine;
pub mod freeze;
pub mod model;
pub mod pages;
pub mod store;
