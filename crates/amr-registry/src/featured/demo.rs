//! The demo province's 名特优新: a deterministic small share of its active individual
//! businesses, classified through the real propose → confirm path by two demo officers, with
//! support measures for some. Which businesses and which type follow from a hash of each
//! USCC, so the same province gives the same classifications (a business whose type's
//! year limits it crosses on another day may change). Re-running adds nothing twice.

use chrono::{Days, NaiveDate};

use amr_kernel::audit::Actor;
use amr_kernel::auth::Scope;
use amr_kernel::db::Db;
use amr_kernel::error::AppError;

use super::model::{Criteria, Evidence, FeaturedType};
use super::store::{self, ProposalInput, SupportInput};
use crate::model::{Entity, EntityType, Status};
use crate::store::EntityFilter;

/// One business in this many is classified.
pub const ONE_IN: u64 = 200;

/// What the demo step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoFeatured {
    pub businesses: u64,
    pub confirmed: u64,
    pub support: u64,
}

/// FNV-1a over the USCC, salted with the step's version.
fn hash(uscc: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "featured-v1:".bytes().chain(uscc.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The type order to try for a business: first by the national proportions of the four
/// types (famous 2,254 : distinctive 825 : quality 1,431 : new 374), then the others.
fn types_for(h: u64) -> [FeaturedType; 4] {
    use FeaturedType::*;
    let r = (h >> 16) % 4884;
    let first = if r < 2254 {
        Famous
    } else if r < 2254 + 825 {
        Distinctive
    } else if r < 2254 + 825 + 1431 {
        Quality
    } else {
        New
    };
    let mut out = [first, Famous, Distinctive, Quality];
    let mut i = 1;
    for t in FeaturedType::ALL {
        if t != first && i < 4 {
            out[i] = t;
            i += 1;
        }
    }
    out
}

fn evidence_for(criteria: &Criteria, t: FeaturedType) -> Vec<Evidence> {
    let tc = criteria.of(t);
    tc.evidence_any
        .iter()
        .take(tc.evidence_min.max(1) as usize)
        .map(|k| Evidence {
            kind: k.clone(),
            text: format!(
                "演示材料：{}",
                criteria.evidence.get(k).map(String::as_str).unwrap_or(k)
            ),
        })
        .collect()
}

/// Classifies the demo share of the active individual businesses within `province` as of
/// `today`.
pub async fn classify(db: &Db, province: &str, today: NaiveDate) -> Result<DemoFeatured, AppError> {
    classify_with_progress(db, province, today, &|_, _| {}).await
}

/// [`classify`], telling `progress(done, total)` after the businesses are chosen (`done` 0)
/// and after each one (a large demo province has tens of thousands).
pub async fn classify_with_progress(
    db: &Db,
    province: &str,
    today: NaiveDate,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<DemoFeatured, AppError> {
    let criteria = store::criteria(db).await?;
    let scope = Scope::prefix(province);
    let filter = EntityFilter {
        entity_type: Some(EntityType::IndividualBusiness),
        status: Some(Status::Active),
        ..EntityFilter::default()
    };
    let mut chosen: Vec<Entity> = Vec::new();
    crate::store::stream_scoped(db, &scope, &filter, |e| {
        if hash(&e.uscc).is_multiple_of(ONE_IN) {
            chosen.push(e.clone());
        }
        Ok(())
    })
    .await?;
    let proposer = Actor {
        kind: "system",
        id: None,
        name: "demo:市场监管所".into(),
        ip: None,
    };
    let reviewer = Actor {
        kind: "system",
        id: None,
        name: "demo:县级市场监管局".into(),
        ip: None,
    };
    let mut out = DemoFeatured::default();
    let total = chosen.len() as u64;
    progress(0, total);
    for e in &chosen {
        out.businesses += 1;
        progress(out.businesses, total);
        let h = hash(&e.uscc);
        let held = store::list(
            db,
            &Scope::all(),
            &store::ListFilter {
                uscc: Some(e.uscc.clone()),
                ..store::ListFilter::default()
            },
        )
        .await?;
        if !held.is_empty() {
            continue; // Classified by an earlier run.
        }
        for t in types_for(h) {
            let input = ProposalInput {
                uscc: e.uscc.clone(),
                featured_type: t.as_str().into(),
                reasons: format!(
                    "演示数据：{}，经营稳定、群众认可",
                    criteria.of(t).description
                ),
                evidence: evidence_for(&criteria, t),
                complaints_12m: "0".into(),
            };
            let mut tx = db.begin().await?;
            let c =
                match store::propose(&mut tx, &proposer, &Scope::all(), &criteria, &input, today)
                    .await
                {
                    Ok(c) => c,
                    Err(AppError::Rejected { .. }) | Err(AppError::Conflict(_)) => continue,
                    Err(e) => return Err(e),
                };
            store::decide(
                &mut tx,
                &reviewer,
                &Scope::all(),
                &criteria,
                c.id,
                true,
                "演示数据：经核实符合认定条件",
                today,
            )
            .await?;
            out.confirmed += 1;
            if h.is_multiple_of(3) {
                let date = NaiveDate::from_ymd_opt(2025, 1, 1)
                    .expect("a valid date")
                    .checked_add_days(Days::new(h % 365))
                    .unwrap_or(today)
                    .min(today);
                let support = SupportInput {
                    kind: if h.is_multiple_of(2) {
                        "finance"
                    } else {
                        "training"
                    }
                    .into(),
                    date: date.to_string(),
                    amount: if h.is_multiple_of(2) {
                        ((h % 20 + 1) * 10_000).to_string()
                    } else {
                        String::new()
                    },
                    note: "演示数据".into(),
                };
                store::add_support(&mut tx, &reviewer, &Scope::all(), &e.uscc, &support, today)
                    .await?;
                out.support += 1;
            }
            tx.commit().await?;
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_business_gets_every_type_once_in_its_order() {
        for h in [0u64, 1 << 16, 3000 << 16, 4883 << 16, u64::MAX] {
            let mut t = types_for(h).to_vec();
            t.sort();
            assert_eq!(t, FeaturedType::ALL.to_vec());
        }
        assert_eq!(types_for(0)[0], FeaturedType::Famous);
        assert_eq!(types_for(4883 << 16)[0], FeaturedType::New);
    }
}
