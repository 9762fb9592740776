//! Business entities: types, statuses, the record, and what the public may see of it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

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
