//! Bank push (政银合作): enterprises consent to share their registration data with banks for
//! credit offers ([`consent`]); an administrator sets each bank's criteria ([`Criteria`],
//! [`criteria`]); a push run selects the consenting enterprises that match and sends the
//! bank the change of its list as signed deliveries ([`push`]); the bank reports the loans it
//! granted ([`loans`]); officers see the figures per bank and region ([`figures`]). Routes in
//! [`web`]. Guide: `docs/EXCHANGE.md`, section "Bank push".
//!
//! The facts of the enterprises (registry, credit risk) come through the kernel's port
//! `amr_kernel::sharing::EntityFactsSource`, which the server wires.

pub mod consent;
pub mod criteria;
pub mod figures;
pub mod loans;
pub mod push;
pub mod web;

pub use criteria::Criteria;

use amr_kernel::error::AppError;

use crate::agency::{self, Agency};

/// The active agency of kind `bank` named `name` (404 when there is none; 422 when the agency
/// is not a bank or is disabled).
pub async fn bank_named(db: &amr_kernel::db::Db, name: &str) -> Result<Agency, AppError> {
    let a = agency::by_name(db, name).await?.ok_or(AppError::NotFound)?;
    if a.kind != "bank" {
        return Err(AppError::rejected(format!(
            "机构 {name} 不是银行 (agency {name} is not a bank)"
        )));
    }
    if !a.active {
        return Err(AppError::rejected(format!(
            "银行 {name} 已停用 (bank {name} is disabled)"
        )));
    }
    Ok(a)
}
