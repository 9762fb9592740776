//! The public and the officer views of an entity (the rule is in the parent module's docs).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use amr_kernel::codes::division::divisions;

use super::{Entity, EntityType, Status};

/// A private person's name as the public may see it: the first character, then one `*` per
/// further character (`张三丰` → `张**`). A one-character name is fully masked (`*`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match (chars.next(), chars.clone().count()) {
        (None, _) => String::new(),
        (Some(_), 0) => "*".to_string(),
        (Some(first), rest) => {
            let mut out = String::with_capacity(name.len());
            out.push(first);
            out.extend(std::iter::repeat_n('*', rest));
            out
        }
    }
}

fn division_name(code: &str) -> String {
    divisions().full_name(code).unwrap_or_default()
}

fn industry_name(code: &str) -> String {
    crate::industry::name(code).unwrap_or_default().to_string()
}

/// What the public may see of an entity: no ID number, no phone, and the operator of an
/// individual business masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicEntity {
    pub uscc: String,
    pub name: String,
    pub entity_type: EntityType,
    pub entity_type_name: &'static str,
    pub status: Status,
    pub status_name: &'static str,
    /// In full for enterprises, branches and cooperatives; masked for individual businesses.
    pub legal_rep: String,
    pub capital_yuan: Option<i64>,
    pub established: NaiveDate,
    pub address: String,
    pub division: String,
    /// Full name of the division, e.g. `山东省济南市历下区`.
    pub division_name: String,
    pub scope: String,
    pub industry: String,
    pub industry_name: String,
}

impl PublicEntity {
    /// The legal representative as the public may see it, for an entity of type `t`.
    pub fn public_legal_rep(t: EntityType, legal_rep: &str) -> String {
        if t.legal_rep_is_public() {
            legal_rep.to_string()
        } else {
            mask_name(legal_rep)
        }
    }
}

impl From<&Entity> for PublicEntity {
    fn from(e: &Entity) -> PublicEntity {
        PublicEntity {
            uscc: e.uscc.clone(),
            name: e.name.clone(),
            entity_type: e.entity_type,
            entity_type_name: e.entity_type.name_zh(),
            status: e.status,
            status_name: e.status.name_zh(),
            legal_rep: PublicEntity::public_legal_rep(e.entity_type, &e.legal_rep),
            capital_yuan: e.capital_yuan,
            established: e.established,
            address: e.address.clone(),
            division: e.division.clone(),
            division_name: division_name(&e.division),
            scope: e.scope.clone(),
            industry: e.industry.clone(),
            industry_name: industry_name(&e.industry),
        }
    }
}

/// Everything about an entity, for officers within their jurisdiction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfficerEntity {
    pub uscc: String,
    pub name: String,
    pub entity_type: EntityType,
    pub entity_type_name: &'static str,
    pub status: Status,
    pub status_name: &'static str,
    pub legal_rep: String,
    pub legal_rep_id: Option<String>,
    pub phone: Option<String>,
    pub capital_yuan: Option<i64>,
    pub established: NaiveDate,
    pub address: String,
    pub division: String,
    pub division_name: String,
    pub scope: String,
    pub industry: String,
    pub industry_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Entity> for OfficerEntity {
    fn from(e: &Entity) -> OfficerEntity {
        OfficerEntity {
            uscc: e.uscc.clone(),
            name: e.name.clone(),
            entity_type: e.entity_type,
            entity_type_name: e.entity_type.name_zh(),
            status: e.status,
            status_name: e.status.name_zh(),
            legal_rep: e.legal_rep.clone(),
            legal_rep_id: e.legal_rep_id.clone(),
            phone: e.phone.clone(),
            capital_yuan: e.capital_yuan,
            established: e.established,
            address: e.address.clone(),
            division: e.division.clone(),
            division_name: division_name(&e.division),
            scope: e.scope.clone(),
            industry: e.industry.clone(),
            industry_name: industry_name(&e.industry),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}
