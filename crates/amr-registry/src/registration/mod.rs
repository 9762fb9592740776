//! Online registration (设立登记): an applicant files one form, an officer of the domicile's
//! jurisdiction examines it, and on approval the entity is registered with a generated USCC
//! and its licence issued (version 1).
//!
//! - [`name`]: the parts of an enterprise name (行政区划 + 字号 + 行业 + 组织形式), no IO.
//! - [`model`]: the application (form text → validated [`model::Application`]), its
//!   canonical JSON and [`model::filing_hash`], the filing states.
//! - [`store`]: the name check against the register, filing, refiling, return, approval.
//! - [`api`], [`pages`], [`office`]: the JSON API, the applicant's pages, the officer's pages.
//!
//! # Applicants have no account
//!
//! Anyone may file. Filing answers with a filing number and a private link carrying a random
//! 256-bit token (only its SHA-256 is stored): the link is the applicant's key to the filing's
//! status, the examiner's reasons and the correction form. An account would add a password to
//! lose and nothing the token does not give; the identity that matters is the applicant's and
//! the legal representative's ID document in the filing, which the examiner checks and which
//! an electronic signature over [`model::filing_hash`] can bind later. A logged-in person who
//! files is recorded as the actor; an anonymous one as `applicant:<name>` with the address.
//!
//! # States
//!
//! `filed` → `approved` (the entity exists) or `returned` (with reasons) → `filed` again when
//! the applicant refiles (the round counts up). Approving twice, approving a returned filing,
//! returning an approved one, refiling one under examination are refused with the rule.

pub mod api;
pub mod model;
pub mod name;
pub mod office;
pub mod pages;
pub mod store;

pub use model::{Application, ApplicationInput, FilingStatus, canonical_json, filing_hash};
pub use store::{Filing, NameCheck, approve, check_name, file, refile, return_filing};
