//! The draw (抽取): coordinated sampling with permanent random numbers and the random
//! assignment of inspectors, pure functions over the frozen lists and a seed, so the server,
//! `amr inspect draw` and `amr inspect verify` run the very same code.
//!
//! - [`expr`]: the population expression language.
//! - [`targetset`]: the frozen target list in columnar form.
//! - [`hash`]: canonical hashes, the seed, permanent random numbers, inspectors' order.
//! - [`engine`]: plan validation, the draw, joint-task proposals.
//! - [`bundle`]: building, writing, reading and verifying a bundle.
//! - [`synth`]: synthetic target and inspector lists for benchmarks and tests.

mod assign;
pub mod bundle;
pub mod engine;
pub mod expr;
pub mod hash;
pub mod model;
mod report;
pub mod synth;
pub mod targetset;

pub use bundle::{VerifyReport, make_bundle, read_bundle, verify, write_bundle};
pub use engine::{
    DrawError, JointProposal, Outcome, Problem, Progress, draw, propose_joint, validate_plan,
};
pub use hash::{Seed, commitment, inspectors_hash, seed_from, targets_hash};
pub use targetset::TargetSet;
