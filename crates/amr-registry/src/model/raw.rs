//! [`RawEntity`]: an entity as text, the shape of an import row or an API body.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{EARLIEST_ESTABLISHED, EntityType, FieldError, NewEntity, Status};

/// Every field as text, as it arrives in a CSV/XLSX row or a JSON body. Missing fields
/// deserialize as empty. [`RawEntity::parse`] turns it into a [`NewEntity`]:
///
/// - surrounding whitespace is ignored everywhere; the USCC and the ID number are upper-cased;
/// - `entity_type` and `status` take the key (`individual_business`, `suspended`) or the
///   Chinese name (`个体工商户`, `歇业`; `存续`/`在营`/`开业`/`在业` are active). An empty
///   `entity_type` is read from the USCC's type digits (91 enterprise, 92 individual business,
///   93 cooperative); an empty `status` is active;
/// - `capital` is in yuan (`500000`, `500000元`, `500,000`) or in 万元 with a `万` suffix
///   (`50万`, `12.5万元`); empty means none;
/// - `established` is `YYYY-MM-DD`;
/// - empty `legal_rep_id` and `phone` mean none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawEntity {
    pub uscc: String,
    pub name: String,
    pub entity_type: String,
    pub legal_rep: String,
    pub legal_rep_id: String,
    pub phone: String,
    pub capital: String,
    pub established: String,
    pub address: String,
    pub division: String,
    pub scope: String,
    pub industry: String,
    pub status: String,
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Parses an amount in yuan, or in 万元 with a `万`/`万元` suffix, into whole yuan.
pub(crate) fn parse_capital(input: &str) -> Result<Option<i64>, String> {
    let s: String = input
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .collect();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || {
        format!(
            "注册资本“{}”不是有效金额，应为元或带“万”的万元数 \
             (not an amount: give yuan, or 万元 with a 万 suffix)",
            input.trim()
        )
    };
    let (number, scale) = if let Some(n) = s.strip_suffix("万元").or_else(|| s.strip_suffix('万'))
    {
        (n.trim(), 4)
    } else {
        (s.strip_suffix('元').unwrap_or(&s).trim(), 0)
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale {
        return Err(format!(
            "注册资本“{}”精确到元以下 (capital below one yuan is not registered)",
            input.trim()
        ));
    }
    let too_big = || format!("注册资本“{}”过大 (capital too large)", input.trim());
    let int: i64 = int.parse().map_err(|_| too_big())?;
    let frac_value: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<scale$}").parse().map_err(|_| bad())?
    };
    int.checked_mul(10i64.pow(scale as u32))
        .and_then(|v| v.checked_add(frac_value))
        .map(Some)
        .ok_or_else(too_big)
}

impl RawEntity {
    /// Parses and validates; returns every failing field (named as in [`RawEntity`]).
    pub fn parse(self) -> Result<NewEntity, Vec<FieldError>> {
        let mut errors: Vec<FieldError> = Vec::new();
        let uscc = self.uscc.trim().to_ascii_uppercase();
        let entity_type = match self.entity_type.trim() {
            "" => match uscc.get(..2) {
                Some("91") => Some(EntityType::Enterprise),
                Some("92") => Some(EntityType::IndividualBusiness),
                Some("93") => Some(EntityType::FarmerCooperative),
                _ => {
                    errors.push(FieldError::new(
                        "entity_type",
                        "请填写主体类型 (the entity type is required)",
                    ));
                    None
                }
            },
            t => EntityType::parse(t).or_else(|| {
                errors.push(FieldError::new(
                    "entity_type",
                    format!(
                        "未知主体类型“{t}”，应为企业、个体工商户、农民专业合作社或分支机构 \
                         (unknown entity type; use enterprise, individual_business, \
                         farmer_cooperative or branch)"
                    ),
                ));
                None
            }),
        };
        let capital = parse_capital(&self.capital).unwrap_or_else(|m| {
            errors.push(FieldError::new("capital", m));
            None
        });
        let established = match self.established.trim() {
            "" => {
                errors.push(FieldError::new(
                    "established",
                    "请填写成立日期 (the establishment date is required)",
                ));
                None
            }
            d => NaiveDate::parse_from_str(d, "%Y-%m-%d").ok().or_else(|| {
                errors.push(FieldError::new(
                    "established",
                    format!("成立日期“{d}”应为 YYYY-MM-DD (the date must be YYYY-MM-DD)"),
                ));
                None
            }),
        };
        let status = match self.status.trim() {
            "" => Some(Status::Active),
            s => Status::parse(s).or_else(|| {
                errors.push(FieldError::new(
                    "status",
                    format!(
                        "未知登记状态“{s}”，应为存续、歇业、吊销、注销或迁出 \
                         (unknown status; use active, suspended, revoked, deregistered or moved_out)"
                    ),
                ));
                None
            }),
        };
        let entity = NewEntity {
            uscc,
            name: self.name.trim().to_string(),
            entity_type: entity_type.unwrap_or(EntityType::Enterprise),
            legal_rep: self.legal_rep.trim().to_string(),
            legal_rep_id: opt(&self.legal_rep_id).map(|s| s.to_ascii_uppercase()),
            phone: opt(&self.phone),
            capital_yuan: capital,
            established: established.unwrap_or(EARLIEST_ESTABLISHED),
            address: self.address.trim().to_string(),
            division: self.division.trim().to_string(),
            scope: self.scope.trim().to_string(),
            industry: self.industry.trim().to_string(),
            status: status.unwrap_or(Status::Active),
        };
        if let Err(more) = entity.validate() {
            for mut e in more {
                if e.field == "capital_yuan" {
                    e.field = "capital";
                }
                // A field that did not parse has its error already; its placeholder value
                // must not produce a second, misleading one.
                if !errors.iter().any(|p| p.field == e.field) {
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            Ok(entity)
        } else {
            const ORDER: [&str; 13] = [
                "uscc",
                "name",
                "entity_type",
                "legal_rep",
                "legal_rep_id",
                "phone",
                "capital",
                "established",
                "address",
                "division",
                "scope",
                "industry",
                "status",
            ];
            errors.sort_by_key(|e| ORDER.iter().position(|f| *f == e.field));
            Err(errors)
        }
    }
}
