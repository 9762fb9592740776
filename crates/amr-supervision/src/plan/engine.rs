//! Every call the plans make into the draw engine ([`crate::draw`]), in one place, so the
//! server, `amr inspect draw` and the pages run the very same engine code and nothing here
//! draws, hashes or derives a seed by itself.
//!
//! UNFINISHED until the engine is merged: the engine (`draw::{TargetSet, targets_hash,
//! inspectors_hash, commitment, derive_seed, validate_plan, draw, propose_joint, population}`)
//! is written in parallel. Until it is merged, every function below that needs it answers
//! 503 "抽取引擎尚未接入 (the draw engine is not wired in yet)" and nothing is stored.

use serde::Serialize;

use amr_kernel::error::AppError;

use crate::draw::model::{Inspector, ItemRef, PerClass, Plan, Report, Target, TaskSample, Visit};

/// The frozen targets as the engine holds them.
#[derive(Debug, Default)]
pub struct TargetSet {
    targets: Vec<Target>,
}

impl TargetSet {
    pub fn new() -> TargetSet {
        TargetSet::default()
    }

    pub fn push(&mut self, t: &Target) {
        self.targets.push(t.clone());
    }

    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// What a draw produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub samples: Vec<TaskSample>,
    pub visits: Vec<Visit>,
    pub report: Report,
}

/// A joint task the engine proposes: two tasks whose populations intersect.
#[derive(Debug, Clone, Serialize)]
pub struct JointProposal {
    pub task: String,
    pub other: String,
    pub task_population: u64,
    pub other_population: u64,
    pub intersection: u64,
}

fn pending() -> AppError {
    AppError::unavailable("抽取引擎尚未接入 (the draw engine is not wired in yet)")
}

/// The canonical hash of the frozen target list.
pub fn targets_hash(_set: &TargetSet) -> Result<String, AppError> {
    Err(pending())
}

/// The canonical hash of the frozen inspector list.
pub fn inspectors_hash(_inspectors: &[Inspector]) -> Result<String, AppError> {
    Err(pending())
}

/// The commitment (published before the draw) to a secret given in hex.
pub fn commitment(_secret_hex: &str) -> Result<String, AppError> {
    Err(pending())
}

/// The seed from the committed secret and the observed public value.
pub fn derive_seed(_secret_hex: &str, _public_value: &str) -> Result<String, AppError> {
    Err(pending())
}

/// The engine's checks of a plan against the items (a refused plan is a 400 naming why).
pub fn validate(_plan: &Plan, _items: &[ItemRef]) -> Result<(), AppError> {
    Err(pending())
}

/// The size per risk class of a population expression over the targets.
pub fn population(_expr: &str, _set: &TargetSet) -> Result<PerClass<u64>, AppError> {
    Err(pending())
}

/// The engine's joint-task proposals for a plan over the targets.
pub fn propose_joint(_plan: &Plan, _set: &TargetSet) -> Result<Vec<JointProposal>, AppError> {
    Err(pending())
}

/// The draw. `progress` is called with the engine's progress (done, total).
pub fn draw(
    _plan: &Plan,
    _items: &[ItemRef],
    _set: &TargetSet,
    _inspectors: &[Inspector],
    _seed_hex: &str,
    _progress: &mut dyn FnMut(u64, u64),
) -> Result<Outcome, AppError> {
    Err(pending())
}

/// The engine's verification of a bundle (what `amr inspect verify` runs).
pub fn verify(_bundle: &crate::draw::model::Bundle) -> Result<(), AppError> {
    Err(pending())
}
