//! The check registration uses: parse the address, match it to the standard library, look it
//! up in the negative list and in the risk counts, and give one [`Verdict`]:
//!
//! - `refused`: an active negative-list rule hits (the rules are in `negative_hits`);
//! - `accepted_standard`: the address is a library entry (`standard`);
//! - `needs_commitment`: neither; the applicant may commit the address is true
//!   ([`crate::commitment`]) and it is flagged for verification. The nearest library entries
//!   and their differences are in `nearest`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use amr_kernel::codes::division::Jurisdiction;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;

use crate::library::{self, Entry, Nearest};
use crate::parse::{ParsedAddress, parse};
use crate::risk::{self, AddressRisk};
use crate::rules::{self, Context, Rule};

/// What the check decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    AcceptedStandard,
    NeedsCommitment,
    Refused,
}

/// How risky the address is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    /// The address's risk key (also the commitment's key).
    pub key: String,
    pub entity_count: i64,
    pub first_registered: Option<NaiveDate>,
    pub inactive_count: i64,
    /// Entities at the address with a listing in force on the abnormal-operations list.
    pub abnormal_count: i64,
    pub cluster: bool,
    pub threshold: i64,
    pub over_threshold: bool,
    pub review_state: String,
}

/// The answer of a check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub parsed: ParsedAddress,
    pub standard: Option<Entry>,
    pub nearest: Vec<Nearest>,
    pub negative_hits: Vec<Rule>,
    pub risk: Risk,
    pub outcome: Outcome,
}

/// A check request (JSON or form).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct CheckRequest {
    pub address: String,
    /// Division code (2–9 digits) the address is expected in.
    pub hint: String,
    /// The address type the applicant declares (住宅, 商业, ...), for type rules.
    pub address_type: String,
    /// The applicant's industry (GB/T 4754 code), for industry-limited rules.
    pub industry: String,
}

/// Longest address accepted.
pub const MAX_ADDRESS: usize = 200;

impl CheckRequest {
    /// The address and hint, checked: a clear 400 for an empty or overlong address or a bad
    /// hint.
    pub fn validate(&self) -> Result<(String, Option<String>), AppError> {
        let address = self.address.trim();
        if address.is_empty() {
            return Err(AppError::bad_request(
                "address",
                "请填写地址 (give the address)",
            ));
        }
        if address.chars().count() > MAX_ADDRESS {
            return Err(AppError::bad_request(
                "address",
                format!("地址不超过 {MAX_ADDRESS} 字 (at most {MAX_ADDRESS} characters)"),
            ));
        }
        let hint = match self.hint.trim() {
            "" => None,
            h => Some(
                Jurisdiction::parse(h)
                    .map_err(|e| AppError::bad_request("hint", e))?
                    .prefix()
                    .to_string(),
            )
            .filter(|p| !p.is_empty()),
        };
        if self.address_type.chars().count() > 20 || self.industry.chars().count() > 5 {
            return Err(AppError::bad_request(
                "address_type",
                "地址类型不超过 20 字，行业代码不超过 5 位 \
                 (address type at most 20 characters, industry code at most 5)",
            ));
        }
        Ok((address.to_string(), hint))
    }
}

/// Checks one address (see the module docs). `today` decides which rules are in force.
pub async fn check(db: &Db, req: &CheckRequest, today: NaiveDate) -> Result<Verdict, AppError> {
    let (address, hint) = req.validate()?;
    let parsed = parse(&address, hint.as_deref());
    let (standard, nearest) = library::find_match(db, &parsed).await?;
    let declared = Some(req.address_type.trim()).filter(|t| !t.is_empty());
    let ctx = Context {
        address_type: standard
            .as_ref()
            .and_then(|e| e.address_type.as_deref())
            .or(declared),
        industry: Some(req.industry.trim()).filter(|t| !t.is_empty()),
    };
    let active = rules::active(db, today).await?;
    let mut negative_hits = rules::hits(&active, &parsed, &ctx);
    // A declared type and the library's may differ: both are checked.
    if let (Some(d), Some(s)) = (declared, ctx.address_type)
        && d != s
    {
        let again = Context {
            address_type: Some(d),
            ..ctx.clone()
        };
        for r in rules::hits(&active, &parsed, &again) {
            if !negative_hits.iter().any(|h| h.id == r.id) {
                negative_hits.push(r);
            }
        }
    }
    let key = risk::risk_key(&parsed, hint.as_deref());
    let threshold = risk::threshold(db).await?;
    let counts = risk::get(db, &key.key).await?.unwrap_or(AddressRisk {
        review_state: "none".into(),
        ..AddressRisk::default()
    });
    let risk = Risk {
        key: key.key,
        entity_count: counts.entity_count,
        first_registered: counts.first_registered,
        inactive_count: counts.inactive_count,
        abnormal_count: counts.abnormal_count,
        cluster: counts.cluster,
        threshold,
        over_threshold: counts.entity_count > threshold && !counts.cluster,
        review_state: counts.review_state,
    };
    let outcome = if !negative_hits.is_empty() {
        Outcome::Refused
    } else if standard.is_some() {
        Outcome::AcceptedStandard
    } else {
        Outcome::NeedsCommitment
    };
    Ok(Verdict {
        parsed,
        standard,
        nearest,
        negative_hits,
        risk,
        outcome,
    })
}

/// Today in China (rules' dates are Beijing dates; the kernel's one clock). Requests use the
/// server's day (`ServerConfig::today`) instead.
pub use amr_kernel::matter::today;
