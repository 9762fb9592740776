//! Every call the plans make into the draw engine ([`crate::draw`]), in one place, with the
//! engine's errors turned into [`AppError`]s: the server, `amr inspect draw` and the pages run
//! the very same engine code, and nothing here draws, hashes or derives a seed by itself.

use amr_kernel::error::AppError;

pub use crate::draw::{JointProposal, Outcome, Progress, TargetSet};

use crate::draw::expr::Atom;
use crate::draw::model::{Bundle, Inspector, ItemRef, PerClass, Plan, RiskClass, Target, Task};

fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("draw engine: {what}: {e}"))
}

fn secret_bytes(secret_hex: &str) -> Result<Vec<u8>, AppError> {
    hex::decode(secret_hex.trim()).map_err(|e| internal("secret", e))
}

/// Adds a frozen target to the engine's set (a target the engine refuses is an internal
/// error naming it: the registry holds only valid codes).
pub fn push(set: &mut TargetSet, t: &Target) -> Result<(), AppError> {
    set.push(t).map_err(|e| internal("target", e))
}

/// Whether the engine accepts a tag (`licence:…` / `tag:…`, no separators).
pub fn valid_tag(tag: &str) -> bool {
    crate::draw::targetset::valid_tag(tag)
}

/// The canonical hash of the frozen target list.
pub fn targets_hash(set: &TargetSet) -> Result<String, AppError> {
    crate::draw::targets_hash(set).map_err(|e| internal("targets hash", e))
}

/// The canonical hash of the frozen inspector list.
pub fn inspectors_hash(inspectors: &[Inspector]) -> Result<String, AppError> {
    crate::draw::inspectors_hash(inspectors).map_err(|e| internal("inspectors hash", e))
}

/// The commitment (published before the draw) to a secret given in hex.
pub fn commitment(secret_hex: &str) -> Result<String, AppError> {
    Ok(crate::draw::commitment(&secret_bytes(secret_hex)?))
}

/// The seed (hex) from the committed secret and the observed public value.
pub fn derive_seed(secret_hex: &str, public_value: &str) -> Result<String, AppError> {
    Ok(hex::encode(crate::draw::seed_from(
        &secret_bytes(secret_hex)?,
        public_value,
    )))
}

/// The engine's checks of a plan against the items (a refused plan is a 400 listing why).
pub fn validate(plan: &Plan, items: &[ItemRef]) -> Result<(), AppError> {
    Ok(crate::draw::validate_plan(plan, items)?)
}

/// The size per risk class of a population expression over the targets, within the plan's
/// scope (as the draw counts it).
pub fn population(plan: &Plan, expr: &str, set: &TargetSet) -> Result<PerClass<u64>, AppError> {
    let probe = Plan {
        tasks: vec![Task {
            id: "P".into(),
            name: "preview".into(),
            department: "P".into(),
            items: vec!["P".into()],
            joined: vec![],
            population: expr.to_string(),
            ratios: None,
            counts: None,
        }],
        ..plan.clone()
    };
    let pops = crate::draw::engine::populations(&probe, set).map_err(|e| {
        AppError::bad_request(
            "population",
            e.problems
                .first()
                .map(|p| p.message.clone())
                .unwrap_or_default(),
        )
    })?;
    let mut out = PerClass::default();
    if let Some(bits) = pops.first() {
        for c in RiskClass::ALL {
            out.set(c, bits.and_count(&set.atom_bits(&Atom::Risk(c))));
        }
    }
    Ok(out)
}

/// The engine's joint-task proposals for a plan over the targets.
pub fn propose_joint(plan: &Plan, set: &TargetSet) -> Result<Vec<JointProposal>, AppError> {
    Ok(crate::draw::propose_joint(plan, set)?)
}

/// The draw with a hex seed; `progress` gets the engine's stages.
pub fn draw(
    plan: &Plan,
    items: &[ItemRef],
    set: &TargetSet,
    inspectors: &[Inspector],
    seed_hex: &str,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Outcome, AppError> {
    let seed = crate::draw::hash::parse_seed(seed_hex).ok_or_else(|| {
        AppError::bad_request(
            "seed",
            "种子应为 64 位十六进制数 (the seed is 64 hex digits, 32 bytes)",
        )
    })?;
    Ok(crate::draw::draw(
        plan, items, set, inspectors, &seed, progress,
    )?)
}

/// The engine's verification of a bundle (what `amr inspect verify` runs): `Err` lists the
/// checks that failed with their first differences.
pub fn verify(bundle: &Bundle) -> Result<(), AppError> {
    let report = crate::draw::verify(bundle, &|_| {});
    if report.ok {
        return Ok(());
    }
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.differences.join("；")))
        .collect();
    Err(AppError::rejected(format!(
        "抽取结果包未通过复核 (the bundle does not verify): {}",
        failed.join(" | ")
    )))
}
