//! The port through which the exchange context reads the facts of the enterprises it shares
//! with banks (政银合作): the registry's facts (type, industry, division, establishment date,
//! status, the abnormal-operation list flag) and the supervision context's credit-risk class.
//!
//! The exchange asks an [`EntityFactsSource`] for the facts of a page of USCCs (the
//! enterprises that consented to sharing); the server implements it over the registry's store
//! and the supervision context's risk store, so the exchange imports neither. Only the facts a
//! bank's criteria and its list need cross this port: never identity numbers or phones.

use std::future::Future;
use std::pin::Pin;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the exchange knows of one enterprise it may share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedFacts {
    pub uscc: String,
    pub name: String,
    /// The registry's entity type code (`enterprise`, `individual_business`, ...).
    pub entity_type: String,
    /// The GB/T 4754 class code as registered (e.g. `5299`).
    pub industry: String,
    /// The GB/T 4754 section letter (门类, `A`–`T`) of the industry, when known.
    pub industry_section: Option<char>,
    /// The 9-digit (or shorter) division code.
    pub division: String,
    pub established: NaiveDate,
    /// The registry's status code (`active`, `suspended`, ...).
    pub status: String,
    /// On the abnormal-operation list (经营异常名录) now.
    pub abnormal_list: bool,
    /// The credit-risk class (`A`–`D`; an enterprise not yet scored is `B`).
    pub risk_class: String,
}

pub type FactsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<SharedFacts>, AppError>> + Send + 'a>>;

/// Where the facts come from. `facts_of` answers for the USCCs that exist (in any order; an
/// unknown code is simply absent); callers pass at most a few hundred codes at a time.
pub trait EntityFactsSource: Send + Sync + std::fmt::Debug {
    fn facts_of<'a>(&'a self, usccs: &'a [String]) -> FactsFuture<'a>;
}

/// The registry's entity type codes, with their names (Chinese, English), for the criteria
/// forms of the contexts that filter on them.
pub const ENTITY_TYPES: &[(&str, &str, &str)] = &[
    ("enterprise", "企业", "Enterprise"),
    ("individual_business", "个体工商户", "Individual business"),
    ("farmer_cooperative", "农民专业合作社", "Farmer cooperative"),
    ("branch", "分支机构", "Branch"),
];

/// No source wired: every request is "not available".
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFacts;

impl EntityFactsSource for NoFacts {
    fn facts_of<'a>(&'a self, _usccs: &'a [String]) -> FactsFuture<'a> {
        Box::pin(async {
            Err(AppError::unavailable(
                "企业信息暂不可用：未配置登记数据来源 (entity facts not available: no source is configured)",
            ))
        })
    }
}
