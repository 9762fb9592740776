//! Change registration (变更登记): the enterprise files a change of its registered items
//! (name, legal representative with ID number, registered capital, domicile, business scope,
//! industry class) with a reason; an officer of the entity's jurisdiction approves it or
//! returns it with reasons; the enterprise corrects a returned application and files it again.
//! On approval [`crate::store::change_from`] applies every field in one transaction: one
//! history row per field (the officer and the application's id on each), the public
//! `registry.entity.changed` event, the audit entry; the licence moves to its next version by
//! itself (it is derived from the history).
//!
//! - [`model`]: the form as text ([`model::ChangeInput`]) and its validation against the
//!   entity (no IO).
//! - [`store`]: the checks that read the database (name, domicile), filing, return, approval.
//!
//! # Rules
//!
//! - Only an entity that is active or suspended files; a revoked, deregistered or moved-out
//!   one is refused.
//! - One open application (filed or returned) per entity: while one is under examination a
//!   new one is refused; while one is returned, filing again is its corrected refiling.
//! - A field left empty, or equal to the record, is not changed; nothing changed is refused.
//! - A new name has every part (行政区划 + 字号 + 行业 + 组织形式) and does not collide with
//!   another entity or pending registration of the jurisdiction (the entity itself excluded).
//! - A new domicile is checked as at registration (negative list refused; not in the standard
//!   address library → the applicant's commitment); it must stay within the province of the
//!   current domicile. A move to another county of the province is examined and approved by
//!   the current registry (the one moving out); a move out of the province is a migration
//!   (迁移登记), not a change.
//! - Capital and scope are validated as at registration; individual businesses and branches
//!   register no capital.

pub mod model;
pub mod store;

pub use model::{ChangeInput, Requested};
pub use store::{Application, approve, file, return_application};
