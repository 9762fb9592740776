//! Credit-risk classes A/B/C/D (信用风险分类): the model ([`model`], no IO), the store
//! ([`store`]), recomputation ([`batch`]), keeping classes current ([`follower`]) and the
//! officers' pages and API ([`web`]). Classes are for supervision use only: no public page
//! shows them. See `docs/CREDIT-RISK.md`.

pub mod batch;
pub mod follower;
pub mod model;
pub mod store;
pub mod web;

pub use batch::recompute_all;
pub use follower::RiskFollower;
pub use store::{class_of, classes_page};
