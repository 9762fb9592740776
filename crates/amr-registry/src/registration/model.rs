//! A registration application: the form as text ([`ApplicationInput`]), the validated
//! application ([`Application`]), its canonical JSON and hash ([`filing_hash`]), and the
//! filing's states ([`FilingStatus`]). No IO.

use serde::{Deserialize, Deserializer, Serialize};
use sha2::Digest;

use amr_kernel::codes::uscc::Uscc;

use crate::model::raw::parse_capital;
use crate::model::{EntityType, FieldError, is_valid_resident_id};

/// Where a filing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilingStatus {
    /// Filed (or refiled), waiting for examination.
    Filed,
    /// Returned to the applicant with reasons; the applicant corrects and refiles.
    Returned,
    /// Approved: the entity is registered and its licence issued.
    Approved,
}

impl FilingStatus {
    pub const ALL: [FilingStatus; 3] = [
        FilingStatus::Filed,
        FilingStatus::Returned,
        FilingStatus::Approved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FilingStatus::Filed => "filed",
            FilingStatus::Returned => "returned",
            FilingStatus::Approved => "approved",
        }
    }

    pub fn parse(s: &str) -> Option<FilingStatus> {
        FilingStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s.trim())
    }
}

/// Text or a number, as text (JSON clients send capital either way).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    })
}

/// One shareholder as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct ShareholderInput {
    pub name: String,
    /// `natural` (自然人) or `legal` (法人).
    pub kind: String,
    /// Resident ID number of a natural person, USCC of a legal person.
    pub id_number: String,
    /// Subscribed capital, in yuan or 万元 (`50万`).
    #[serde(deserialize_with = "text")]
    pub subscribed: String,
}

impl ShareholderInput {
    /// An empty row of the form (its kind is a select, always set).
    fn is_blank(&self) -> bool {
        [&self.name, &self.id_number, &self.subscribed]
            .iter()
            .all(|s| s.trim().is_empty())
    }
}

/// The application as the applicant typed it (form or JSON). Missing fields are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct ApplicationInput {
    pub name: String,
    /// `enterprise`, `individual_business`, `farmer_cooperative`, `branch` (or the Chinese
    /// name).
    pub entity_type: String,
    /// Domicile (住所 / 经营场所).
    pub address: String,
    /// The domicile's county (6 digits), optional: helps read a short address.
    pub division: String,
    #[serde(deserialize_with = "text")]
    pub capital: String,
    pub scope: String,
    /// GB/T 4754 class (4 digits).
    pub industry: String,
    pub legal_rep: String,
    pub legal_rep_id: String,
    pub phone: String,
    /// Who files (the representative); empty means the legal representative.
    pub applicant_name: String,
    pub applicant_id: String,
    pub shareholders: Vec<ShareholderInput>,
    /// The applicant commits that the domicile is true (承诺制), for an address not in the
    /// standard library.
    pub address_commitment: bool,
}

/// A natural or legal person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareholderKind {
    Natural,
    Legal,
}

impl ShareholderKind {
    pub fn parse(s: &str) -> Option<ShareholderKind> {
        match s.trim() {
            "natural" | "自然人" => Some(ShareholderKind::Natural),
            "legal" | "法人" | "企业" => Some(ShareholderKind::Legal),
            _ => None,
        }
    }
}

/// A person identified by a document: the legal representative, the applicant (who files;
/// the one whose signature a filing may later carry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    /// `resident_id` (居民身份证) for now.
    pub id_type: String,
    pub id_number: String,
}

/// One shareholder, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shareholder {
    pub name: String,
    pub kind: ShareholderKind,
    /// Resident ID number (natural person) or USCC (legal person).
    pub id_number: String,
    pub subscribed_yuan: i64,
    /// Share of the registered capital in basis points (1/100 of a percent), from the
    /// subscribed capital.
    pub share_bp: i64,
}

/// A validated application. Its canonical JSON is what [`filing_hash`] hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub name: String,
    pub entity_type: EntityType,
    pub address: String,
    pub capital_yuan: Option<i64>,
    pub scope: String,
    pub industry: String,
    pub legal_rep: Person,
    pub phone: Option<String>,
    pub applicant: Person,
    pub shareholders: Vec<Shareholder>,
    pub address_commitment: bool,
}

/// The canonical JSON of an application: UTF-8, object keys sorted by code point, no
/// whitespace, integers as integers, absent values as `null`.
pub fn canonical_json(app: &Application) -> String {
    // serde_json's maps are ordered by key (no `preserve_order`), so the value's text is
    // canonical.
    let v = serde_json::to_value(app).expect("an application serializes");
    serde_json::to_string(&v).expect("a JSON value serializes")
}

/// SHA-256 of [`canonical_json`], lower-case hex: what a signature over the filing covers.
pub fn filing_hash(app: &Application) -> String {
    hex::encode(sha2::Sha256::digest(canonical_json(app).as_bytes()))
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
        let msg = if n == 0 {
            format!("请填写{label} (required)")
        } else {
            format!("{label}应为 {min}–{max} 个字符，现为 {n} 个 ({min}–{max} characters, got {n})")
        };
        errors.push(FieldError::new(field, msg));
    } else if v.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            format!("{label}含有控制字符 (contains control characters)"),
        ));
    }
}

fn person(
    errors: &mut Vec<FieldError>,
    (name_field, id_field): (&'static str, &'static str),
    label: &str,
    name: &str,
    id: &str,
) -> Person {
    check_len(errors, name_field, &format!("{label}姓名"), name, (1, 50));
    let id = id.trim().to_ascii_uppercase();
    if !is_valid_resident_id(&id) {
        errors.push(FieldError::new(
            id_field,
            format!(
                "{label}身份证号码应为 18 位且校验码正确 \
                 (the ID number must have 18 characters and a valid check digit)"
            ),
        ));
    }
    Person {
        name: name.to_string(),
        id_type: "resident_id".into(),
        id_number: id,
    }
}

/// Most shareholders an application lists.
pub const MAX_SHAREHOLDERS: usize = 50;

impl ApplicationInput {
    /// Validates every field; returns every failing field at once. The name's parts and the
    /// domicile are checked elsewhere (they need the division table and the database).
    pub fn validate(&self) -> Result<Application, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = super::name::normalize(&self.name);
        let entity_type = EntityType::parse(&self.entity_type);
        if entity_type.is_none() {
            errors.push(FieldError::new(
                "entity_type",
                "请选择主体类型：企业、个体工商户、农民专业合作社或分支机构 \
                 (choose the type: enterprise, individual_business, farmer_cooperative, branch)",
            ));
        }
        let t = entity_type.unwrap_or(EntityType::Enterprise);
        let address = self.address.trim().to_string();
        check_len(&mut errors, "address", "住所", &address, (1, 200));
        let capital = match parse_capital(&self.capital) {
            Ok(c) => c,
            Err(e) => {
                errors.push(FieldError::new("capital", e));
                None
            }
        };
        let needs_capital = matches!(t, EntityType::Enterprise | EntityType::FarmerCooperative);
        match capital {
            None if needs_capital && self.capital.trim().is_empty() => {
                errors.push(FieldError::new(
                    "capital",
                    "请填写注册资本（出资总额） (give the registered capital)",
                ))
            }
            Some(c) if needs_capital && c <= 0 => errors.push(FieldError::new(
                "capital",
                "注册资本应大于零 (the capital must be more than zero)",
            )),
            Some(_) if !needs_capital => errors.push(FieldError::new(
                "capital",
                "个体工商户和分支机构不登记注册资本 \
                 (individual businesses and branches register no capital)",
            )),
            _ => {}
        }
        let scope = self.scope.trim().to_string();
        check_len(&mut errors, "scope", "经营范围", &scope, (2, 2000));
        let industry = self.industry.trim().to_string();
        if !crate::industry::is_class(&industry) {
            errors.push(FieldError::new(
                "industry",
                format!(
                    "行业代码“{industry}”不是 GB/T 4754-2017 的小类（4 位） \
                     (not a 4-digit class of GB/T 4754-2017)"
                ),
            ));
        }
        let legal_rep = person(
            &mut errors,
            ("legal_rep", "legal_rep_id"),
            "法定代表人（经营者）",
            self.legal_rep.trim(),
            &self.legal_rep_id,
        );
        let phone = Some(self.phone.trim().to_string()).filter(|p| !p.is_empty());
        if let Some(p) = &phone
            && !((7..=20).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_digit() || b == b'-')
                && p.starts_with(|c: char| c.is_ascii_digit())
                && p.ends_with(|c: char| c.is_ascii_digit()))
        {
            errors.push(FieldError::new(
                "phone",
                "联系电话应为 7–20 位数字（可含连字符） (the phone must be 7–20 digits, dashes allowed)",
            ));
        }
        let applicant =
            if self.applicant_name.trim().is_empty() && self.applicant_id.trim().is_empty() {
                legal_rep.clone()
            } else {
                person(
                    &mut errors,
                    ("applicant_name", "applicant_id"),
                    "申请人",
                    self.applicant_name.trim(),
                    &self.applicant_id,
                )
            };
        let shareholders = self.shareholders(t, capital, &mut errors);
        if errors.is_empty() {
            Ok(Application {
                name,
                entity_type: t,
                address,
                capital_yuan: capital,
                scope,
                industry,
                legal_rep,
                phone,
                applicant,
                shareholders,
                address_commitment: self.address_commitment,
            })
        } else {
            Err(errors)
        }
    }

    fn shareholders(
        &self,
        t: EntityType,
        capital: Option<i64>,
        errors: &mut Vec<FieldError>,
    ) -> Vec<Shareholder> {
        let rows: Vec<&ShareholderInput> =
            self.shareholders.iter().filter(|s| !s.is_blank()).collect();
        match t {
            EntityType::IndividualBusiness | EntityType::Branch => {
                if !rows.is_empty() {
                    errors.push(FieldError::new(
                        "shareholders",
                        "个体工商户和分支机构没有股东或出资人 \
                         (individual businesses and branches have no shareholders)",
                    ));
                }
                return Vec::new();
            }
            EntityType::Enterprise if rows.is_empty() => errors.push(FieldError::new(
                "shareholders",
                "请至少填写一位股东（出资人） (list at least one shareholder)",
            )),
            EntityType::FarmerCooperative if rows.len() < 5 => errors.push(FieldError::new(
                "shareholders",
                format!(
                    "农民专业合作社应有五名以上成员，现有 {} 名 \
                     (a farmer cooperative has at least five members, got {})",
                    rows.len(),
                    rows.len()
                ),
            )),
            _ => {}
        }
        if rows.len() > MAX_SHAREHOLDERS {
            errors.push(FieldError::new(
                "shareholders",
                format!("股东最多 {MAX_SHAREHOLDERS} 位 (at most {MAX_SHAREHOLDERS} shareholders)"),
            ));
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut total: i64 = 0;
        for (i, s) in rows.iter().enumerate() {
            let row = i + 1;
            let before = errors.len();
            let name = s.name.trim().to_string();
            if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    "shareholders",
                    format!("第 {row} 位股东：请填写姓名或名称（不超过 100 字） (shareholder {row}: give the name, at most 100 characters)"),
                ));
            }
            let kind = ShareholderKind::parse(&s.kind);
            let id = s.id_number.trim().to_ascii_uppercase();
            match kind {
                None => errors.push(FieldError::new(
                    "shareholders",
                    format!("第 {row} 位股东：类型应为自然人或法人 (shareholder {row}: kind is natural or legal)"),
                )),
                Some(ShareholderKind::Natural) if !is_valid_resident_id(&id) => {
                    errors.push(FieldError::new(
                        "shareholders",
                        format!("第 {row} 位股东：身份证号码无效 (shareholder {row}: invalid resident ID number)"),
                    ))
                }
                Some(ShareholderKind::Legal) => {
                    if let Err(e) = Uscc::parse(&id) {
                        errors.push(FieldError::new(
                            "shareholders",
                            format!("第 {row} 位股东：统一社会信用代码无效：{e} (shareholder {row}: invalid USCC)"),
                        ));
                    }
                }
                _ => {}
            }
            let subscribed = match parse_capital(&s.subscribed) {
                Ok(Some(v)) if v > 0 => v,
                _ => {
                    errors.push(FieldError::new(
                        "shareholders",
                        format!("第 {row} 位股东：认缴出资额应为大于零的金额（元，或带“万”的万元数） (shareholder {row}: the subscribed capital must be an amount above zero)"),
                    ));
                    0
                }
            };
            total = total.saturating_add(subscribed);
            if errors.len() == before
                && let Some(kind) = kind
            {
                out.push(Shareholder {
                    name,
                    kind,
                    id_number: id,
                    subscribed_yuan: subscribed,
                    share_bp: 0,
                });
            }
        }
        if let Some(c) = capital
            && c > 0
            && out.len() == rows.len()
        {
            if total != c {
                errors.push(FieldError::new(
                    "shareholders",
                    format!(
                        "股东认缴出资额合计 {total} 元，与注册资本 {c} 元不符 \
                         (the shareholders subscribe {total} yuan in all, the capital is {c} yuan)"
                    ),
                ));
            }
            for s in &mut out {
                s.share_bp = ((i128::from(s.subscribed_yuan) * 10_000 + i128::from(c) / 2)
                    / i128::from(c)) as i64;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn input() -> ApplicationInput {
        ApplicationInput {
            name: "济南明月商贸有限公司".into(),
            entity_type: "enterprise".into(),
            address: "山东省济南市历下区泉城路180号".into(),
            capital: "100万".into(),
            scope: "日用百货销售".into(),
            industry: "5211".into(),
            legal_rep: "张三".into(),
            legal_rep_id: "11010519491231002X".into(),
            shareholders: vec![
                ShareholderInput {
                    name: "张三".into(),
                    kind: "natural".into(),
                    id_number: "11010519491231002X".into(),
                    subscribed: "600000".into(),
                },
                ShareholderInput {
                    name: "泉城控股".into(),
                    kind: "法人".into(),
                    id_number: "91350100M000100Y43".into(),
                    subscribed: "40万".into(),
                },
            ],
            ..ApplicationInput::default()
        }
    }

    #[test]
    fn a_good_application_validates_and_hashes_canonically() {
        let app = input().validate().unwrap();
        assert_eq!(app.capital_yuan, Some(1_000_000));
        assert_eq!(app.shareholders[0].share_bp, 6_000);
        assert_eq!(app.applicant, app.legal_rep);
        let json = canonical_json(&app);
        assert!(json.starts_with(r#"{"address":"#), "{json}");
        assert!(!json.contains(' ') || json.contains("泉城路"));
        let h = filing_hash(&app);
        assert_eq!(h.len(), 64);
        let mut other = app.clone();
        other.scope.push('。');
        assert_ne!(filing_hash(&other), h);
        assert_eq!(filing_hash(&app.clone()), h);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut i = input();
        i.entity_type = "公司".into();
        i.capital = "abc".into();
        i.industry = "52".into();
        i.legal_rep_id = "110105194912310021".into();
        i.shareholders[1].kind = "x".into();
        let fields: Vec<&str> = i.validate().unwrap_err().iter().map(|e| e.field).collect();
        for f in [
            "entity_type",
            "capital",
            "industry",
            "legal_rep_id",
            "shareholders",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        let mut i = input();
        i.shareholders[1].subscribed = "30万".into();
        let e = i.validate().unwrap_err();
        assert!(e[0].message.contains("不符"), "{e:?}");
        let mut i = input();
        i.entity_type = "individual_business".into();
        let e = i.validate().unwrap_err();
        assert!(e.iter().any(|e| e.field == "capital"));
        assert!(e.iter().any(|e| e.field == "shareholders"));
    }
}
