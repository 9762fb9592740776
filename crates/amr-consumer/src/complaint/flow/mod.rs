//! The use cases, each one transaction: the matter (engine: rows, timeline, event, audit)
//! and this context's row, event and audit entry commit together; a refusal writes nothing.
//!
//! - [`intake`]: filing, routing, duplicates;
//! - [`odr`]: the business's answer, the consumer's refusal, the ODR sweep, participants;
//! - [`office`]: officers' actions and transfers.

pub mod group;
pub mod intake;
pub mod odr;
pub mod office;

pub use group::{IntakeWriter, RoutedIntake};
pub use intake::{
    Candidate, FileError, Filed, duplicate_message, file, file_with, route, route_address,
};
pub use odr::{AnswerInput, answer, demo_mark_odr, mark_odr, refuse_settlement, sweep_odr};
pub use office::{OfficerAct, officer_act, transfer};

use amr_kernel::db::Db;
use amr_kernel::error::AppError;

use super::{model, store};

pub(crate) fn parse_version(v: &str) -> Result<i64, AppError> {
    v.trim().parse().map_err(|_| {
        AppError::bad_request("version", "版本号应为整数 (the version is a whole number)")
    })
}

/// A matter number in its canonical form (tolerant parse; a wrong check character refused).
pub fn canonical(number: &str) -> Result<String, AppError> {
    Ok(amr_kernel::matter::MatterNumber::parse(number)?.to_string())
}

/// The complainant's own matter: number and phone must both match, else NotFound (which of
/// the two was wrong is not told).
pub async fn own(db: &Db, number: &str, phone: &str) -> Result<store::Complaint, AppError> {
    let number = canonical(number).map_err(|_| AppError::NotFound)?;
    let phone = model::parse_phone(phone).map_err(|_| AppError::NotFound)?;
    match store::get(db, &number).await? {
        Some(r) if r.phone == phone => Ok(r),
        _ => Err(AppError::NotFound),
    }
}
