//! Business entities: types, statuses, the record, its rules, and what the public may see of it.
//!
//! - [`EntityType`], [`Status`]: stored as their snake_case keys ([`EntityType::as_str`]);
//!   parsed from the key or the Chinese name.
//! - [`NewEntity`]: an entity to register; [`NewEntity::validate`] checks every rule and
//!   returns every failing field at once ([`FieldError`], Chinese first, English in
//!   parentheses). [`RawEntity`] is the all-text shape of an import row or an API body;
//!   [`RawEntity::parse`] turns it into a validated [`NewEntity`].
//! - [`Entity`]: the stored record.
//!
//! # What the public sees
//!
//! [`PublicEntity`] is the only form of an entity that leaves the back office (public pages,
//! the public API, public events). It follows the national enterprise-credit publicity system
//! (国家企业信用信息公示系统):
//!
//! - shown: USCC, name, type, status, registered capital, establishment date, domicile
//!   address, its division (code and full name), business scope, industry (code and name);
//! - the legal representative of an enterprise, a branch or a farmer cooperative is shown in
//!   full: it is public in the publicity system;
//! - the operator (经营者) of an individual business (个体工商户) is a private person: the
//!   name is masked to its first character followed by one `*` per further character
//!   (`张三丰` → `张**`; a one-character name becomes `*`);
//! - never shown: the legal representative's ID number and the contact phone.
//!
//! [`OfficerEntity`] is everything, for officers within their jurisdiction.

mod public;
pub(crate) mod raw;
mod rules;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use amr_kernel::codes::uscc::RegistrationType;

pub use public::{OfficerEntity, PublicEntity, mask_name};
pub use raw::RawEntity;
pub use rules::{
    EARLIEST_ESTABLISHED, FieldError, field_errors_to_app, is_valid_resident_id, today_in_china,
};

/// The kind of a registered entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    /// 企业 (USCC type 91).
    Enterprise,
    /// 个体工商户 (USCC type 92).
    IndividualBusiness,
    /// 农民专业合作社 (USCC type 93).
    FarmerCooperative,
    /// 分支机构 (USCC type 91; registered where it operates).
    Branch,
}

impl EntityType {
    pub const ALL: [EntityType; 4] = [
        EntityType::Enterprise,
        EntityType::IndividualBusiness,
        EntityType::FarmerCooperative,
        EntityType::Branch,
    ];

    /// The key stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Enterprise => "enterprise",
            EntityType::IndividualBusiness => "individual_business",
            EntityType::FarmerCooperative => "farmer_cooperative",
            EntityType::Branch => "branch",
        }
    }

    /// The key or the Chinese name (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Option<EntityType> {
        let s = s.trim();
        EntityType::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.name_zh() == s)
            .or(match s {
                "个体户" => Some(EntityType::IndividualBusiness),
                "合作社" => Some(EntityType::FarmerCooperative),
                _ => None,
            })
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            EntityType::Enterprise => "企业",
            EntityType::IndividualBusiness => "个体工商户",
            EntityType::FarmerCooperative => "农民专业合作社",
            EntityType::Branch => "分支机构",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            EntityType::Enterprise => "Enterprise",
            EntityType::IndividualBusiness => "Individual business",
            EntityType::FarmerCooperative => "Farmer cooperative",
            EntityType::Branch => "Branch",
        }
    }

    /// The USCC registration type (characters 1–2) entities of this type carry.
    pub fn registration_type(self) -> RegistrationType {
        match self {
            EntityType::Enterprise | EntityType::Branch => RegistrationType::Enterprise,
            EntityType::IndividualBusiness => RegistrationType::IndividualBusiness,
            EntityType::FarmerCooperative => RegistrationType::FarmerCooperative,
        }
    }

    /// Whether the legal representative's name is public (all but individual businesses).
    pub fn legal_rep_is_public(self) -> bool {
        self != EntityType::IndividualBusiness
    }
}

/// The registration status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 存续（在营、开业、在册）.
    Active,
    /// 歇业 (suspended under 条例 art. 30).
    Suspended,
    /// 吊销 (licence revoked).
    Revoked,
    /// 注销 (deregistered).
    Deregistered,
    /// 迁出 (moved to another registry).
    MovedOut,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Active,
        Status::Suspended,
        Status::Revoked,
        Status::Deregistered,
        Status::MovedOut,
    ];

    /// The key stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Revoked => "revoked",
            Status::Deregistered => "deregistered",
            Status::MovedOut => "moved_out",
        }
    }

    /// The key or a Chinese name: 存续, 在营, 开业, 在业, 在册 (active), 歇业, 吊销, 注销, 迁出.
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim();
        Status::ALL
            .into_iter()
            .find(|t| t.as_str() == s || t.name_zh() == s)
            .or(match s {
                "在营" | "开业" | "在业" | "在册" | "存续（在营、开业、在册）" => {
                    Some(Status::Active)
                }
                _ => None,
            })
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Status::Active => "存续",
            Status::Suspended => "歇业",
            Status::Revoked => "吊销",
            Status::Deregistered => "注销",
            Status::MovedOut => "迁出",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::Suspended => "Suspended",
            Status::Revoked => "Revoked",
            Status::Deregistered => "Deregistered",
            Status::MovedOut => "Moved out",
        }
    }
}

/// An entity to be registered (validated: every field has been parsed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEntity {
    pub uscc: String,
    pub name: String,
    pub entity_type: EntityType,
    /// Legal representative (法定代表人) or, for an individual business, the operator (经营者).
    pub legal_rep: String,
    /// The legal representative's resident ID number (personal data: officers only).
    pub legal_rep_id: Option<String>,
    /// Contact phone (personal data: officers only).
    pub phone: Option<String>,
    /// Registered capital in yuan (分 precision is not used in registration); `None` for
    /// individual businesses, which register no capital.
    pub capital_yuan: Option<i64>,
    pub established: NaiveDate,
    /// Domicile (住所 / 经营场所), as registered.
    pub address: String,
    /// The division of the domicile: a 9-digit town code, or a 6-digit county code when the
    /// town is not known. Jurisdiction filtering goes by its prefix.
    pub division: String,
    pub scope: String,
    /// GB/T 4754 class code (4 digits), e.g. `5191`.
    pub industry: String,
    pub status: Status,
}

/// A stored entity: the registered fields and when the record was written and last changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub uscc: String,
    pub name: String,
    pub entity_type: EntityType,
    pub legal_rep: String,
    pub legal_rep_id: Option<String>,
    pub phone: Option<String>,
    pub capital_yuan: Option<i64>,
    pub established: NaiveDate,
    pub address: String,
    pub division: String,
    pub scope: String,
    pub industry: String,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity {
    /// The stored record from a registration and its timestamps.
    pub fn from_new(e: NewEntity, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Entity {
        Entity {
            uscc: e.uscc,
            name: e.name,
            entity_type: e.entity_type,
            legal_rep: e.legal_rep,
            legal_rep_id: e.legal_rep_id,
            phone: e.phone,
            capital_yuan: e.capital_yuan,
            established: e.established,
            address: e.address,
            division: e.division,
            scope: e.scope,
            industry: e.industry,
            status: e.status,
            created_at,
            updated_at,
        }
    }

    /// The registered fields (for re-validating after a change).
    pub fn to_new(&self) -> NewEntity {
        NewEntity {
            uscc: self.uscc.clone(),
            name: self.name.clone(),
            entity_type: self.entity_type,
            legal_rep: self.legal_rep.clone(),
            legal_rep_id: self.legal_rep_id.clone(),
            phone: self.phone.clone(),
            capital_yuan: self.capital_yuan,
            established: self.established,
            address: self.address.clone(),
            division: self.division.clone(),
            scope: self.scope.clone(),
            industry: self.industry.clone(),
            status: self.status,
        }
    }
}

#[cfg(test)]
mod tests;
