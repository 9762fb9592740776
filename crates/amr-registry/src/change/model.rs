//! A change application as the enterprise typed it and as validated against the entity.
//! No IO: the name's collisions and the domicile's address check are in [`super::store`].

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::raw::parse_capital;
use crate::model::{Entity, EntityType, FieldError, is_valid_resident_id};
use crate::store::EntityChange;

/// Text or a number, as text (JSON clients send capital either way).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// The form (or JSON body). Every item is optional: empty leaves it as registered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct ChangeInput {
    pub name: String,
    pub legal_rep: String,
    pub legal_rep_id: String,
    /// Registered capital, in yuan or 万元 (`200万`).
    #[serde(deserialize_with = "text")]
    pub capital: String,
    /// The new domicile.
    pub address: String,
    /// The new domicile's county (6 digits), optional: helps read a short address.
    pub division: String,
    pub scope: String,
    /// GB/T 4754 class (4 digits).
    pub industry: String,
    /// Why the entity changes (1–500 characters).
    pub reason: String,
    /// The applicant commits that the new domicile is true (承诺制), for an address not in the
    /// standard library.
    pub address_commitment: bool,
}

/// The items an application changes (only those that differ from the record).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Requested {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_rep: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_rep_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capital_yuan: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The new domicile's division (town or county), read by the address check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
}

impl Requested {
    pub fn is_empty(&self) -> bool {
        *self == Requested::default()
    }

    /// The change [`crate::store::change_from`] applies.
    pub fn to_change(&self) -> EntityChange {
        EntityChange {
            name: self.name.clone(),
            address: self.address.clone(),
            division: self.division.clone(),
            scope: self.scope.clone(),
            legal_rep: self.legal_rep.clone(),
            legal_rep_id: self.legal_rep_id.clone(),
            capital_yuan: self.capital_yuan,
            status: None,
            industry: self.industry.clone(),
        }
    }

    /// The same without the ID number, for the audit log and events.
    pub fn without_id(&self) -> Requested {
        Requested {
            legal_rep_id: None,
            ..self.clone()
        }
    }
}

fn check_len(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    label: &str,
    v: &str,
    (min, max): (usize, usize),
) {
    let n = v.chars().count();
    if n < min || n > max {
        errors.push(FieldError::new(
            field,
            format!(
                "{label}应为 {min}–{max} 个字符，现为 {n} 个 ({min}–{max} characters, got {n})"
            ),
        ));
    } else if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        errors.push(FieldError::new(
            field,
            format!("{label}含有控制字符 (contains control characters)"),
        ));
    }
}

/// Validates the form against the entity `e`: every item given is checked as at
/// registration, items equal to the record are dropped. The name's parts and collisions and
/// the domicile are checked by the store. Returns the requested items and the reason.
pub fn validate(e: &Entity, input: &ChangeInput) -> Result<(Requested, String), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut r = Requested::default();
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        errors.push(FieldError::new(
            "reason",
            "请写明变更原因 (give the reason for the change)",
        ));
    } else {
        check_len(&mut errors, "reason", "变更原因", &reason, (1, 500));
    }

    let name = crate::registration::name::normalize(&input.name);
    if !name.is_empty() && name != e.name {
        r.name = Some(name);
    }

    let rep = input.legal_rep.trim();
    let rep_id = input.legal_rep_id.trim().to_ascii_uppercase();
    if !rep.is_empty() || !rep_id.is_empty() {
        if rep.is_empty() {
            errors.push(FieldError::new(
                "legal_rep",
                "变更法定代表人（经营者、负责人）须同时填写姓名和身份证号码 \
                 (a new legal representative needs both the name and the ID number)",
            ));
        } else {
            check_len(&mut errors, "legal_rep", "法定代表人姓名", rep, (1, 50));
        }
        if !is_valid_resident_id(&rep_id) {
            errors.push(FieldError::new(
                "legal_rep_id",
                "法定代表人身份证号码应为 18 位且校验码正确 \
                 (the ID number must have 18 characters and a valid check digit)",
            ));
        }
        if rep != e.legal_rep {
            r.legal_rep = Some(rep.to_string());
        }
        if e.legal_rep_id.as_deref() != Some(rep_id.as_str()) {
            r.legal_rep_id = Some(rep_id);
        }
    }

    if !input.capital.trim().is_empty() {
        let needs_capital = matches!(
            e.entity_type,
            EntityType::Enterprise | EntityType::FarmerCooperative
        );
        match parse_capital(&input.capital) {
            Err(m) => errors.push(FieldError::new("capital", m)),
            Ok(_) if !needs_capital => errors.push(FieldError::new(
                "capital",
                "个体工商户和分支机构不登记注册资本 \
                 (individual businesses and branches register no capital)",
            )),
            Ok(Some(c)) if c > 0 => {
                if e.capital_yuan != Some(c) {
                    r.capital_yuan = Some(c);
                }
            }
            Ok(_) => errors.push(FieldError::new(
                "capital",
                "注册资本应大于零 (the capital must be more than zero)",
            )),
        }
    }

    let address = input.address.trim();
    if !address.is_empty() {
        check_len(&mut errors, "address", "住所", address, (1, 200));
        if address != e.address {
            r.address = Some(address.to_string());
        }
    }

    let scope = input.scope.trim();
    if !scope.is_empty() {
        check_len(&mut errors, "scope", "经营范围", scope, (2, 2000));
        if scope != e.scope {
            r.scope = Some(scope.to_string());
        }
    }

    let industry = input.industry.trim();
    if !industry.is_empty() {
        if !crate::industry::is_class(industry) {
            errors.push(FieldError::new(
                "industry",
                format!(
                    "行业代码“{industry}”不是 GB/T 4754-2017 的小类（4 位） \
                     (not a 4-digit class of GB/T 4754-2017)"
                ),
            ));
        } else if industry != e.industry {
            r.industry = Some(industry.to_string());
        }
    }

    if errors.is_empty() && r.is_empty() {
        errors.push(FieldError::new(
            "body",
            "没有变更：所填事项与登记内容相同或未填写 \
             (nothing to change: every item is empty or equals the record)",
        ));
    }
    if errors.is_empty() {
        Ok((r, reason))
    } else {
        Err(errors)
    }
}
