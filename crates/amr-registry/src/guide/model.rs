//! Service items and their rules (no IO).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use amr_kernel::codes::division::Jurisdiction;

use crate::model::FieldError;

/// The stage of a business's life an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// 准入: setting up (establishment registration, name, seal, bank account ...).
    Entry,
    /// 许可: permits needed to trade in a regulated line (food, industrial products ...).
    Permit,
    /// 经营: while trading (changes, annual reports, suspension, extra premises ...).
    Operation,
    /// 退出: leaving the market (deregistration, simplified deregistration ...).
    Exit,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Entry, Stage::Permit, Stage::Operation, Stage::Exit];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Entry => "entry",
            Stage::Permit => "permit",
            Stage::Operation => "operation",
            Stage::Exit => "exit",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Stage::Entry => "准入",
            Stage::Permit => "许可",
            Stage::Operation => "经营",
            Stage::Exit => "退出",
        }
    }

    /// The key or a Chinese name (准入/开办/设立, 许可/准营, 经营/运营, 退出/注销).
    pub fn parse(s: &str) -> Option<Stage> {
        match s.trim().to_ascii_lowercase().as_str() {
            "entry" | "准入" | "开办" | "设立" | "准入阶段" => Some(Stage::Entry),
            "permit" | "许可" | "准营" | "许可阶段" => Some(Stage::Permit),
            "operation" | "经营" | "运营" | "经营阶段" => Some(Stage::Operation),
            "exit" | "退出" | "注销" | "退出阶段" => Some(Stage::Exit),
            _ => None,
        }
    }

    /// Sort position (entry first).
    pub fn order(self) -> i64 {
        self as i64
    }
}

/// Longest texts, in characters.
const MAX_NAME: usize = 100;
const MAX_DEPARTMENT: usize = 60;
const MAX_LONG: usize = 4000;
const MAX_BASIS: usize = 2000;
const MAX_URL: usize = 500;
const MAX_KEYWORDS: usize = 500;
/// Longest time limit accepted, in working days.
pub const MAX_DAYS: i64 = 365;

/// An item as typed into a form or read from a file: text only, parsed by [`ItemInput::validate`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemInput {
    pub item_key: String,
    pub name: String,
    pub stage: String,
    pub department: String,
    pub division: String,
    pub conditions: String,
    pub materials: String,
    pub time_limit_days: String,
    pub legal_basis: String,
    pub online_url: String,
    pub keywords: String,
}

/// A valid item, ready to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewItem {
    pub item_key: String,
    pub name: String,
    pub stage: Stage,
    pub department: String,
    pub division: String,
    pub conditions: String,
    pub materials: String,
    pub time_limit_days: Option<i64>,
    pub legal_basis: String,
    pub online_url: Option<String>,
    pub keywords: String,
}

/// A stored item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuideItem {
    pub id: i64,
    pub item_key: String,
    pub name: String,
    pub stage: Stage,
    pub stage_name: &'static str,
    pub department: String,
    pub division: String,
    pub conditions: String,
    pub materials: String,
    /// Working days; `None`: no fixed limit; `0`: done on the spot.
    pub time_limit_days: Option<i64>,
    pub legal_basis: String,
    pub online_url: Option<String>,
    pub keywords: String,
    /// `active` or `retired`.
    pub status: String,
    pub retired_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl GuideItem {
    /// The editable fields, as [`NewItem`] (to compare with a change).
    pub fn to_new(&self) -> NewItem {
        NewItem {
            item_key: self.item_key.clone(),
            name: self.name.clone(),
            stage: self.stage,
            department: self.department.clone(),
            division: self.division.clone(),
            conditions: self.conditions.clone(),
            materials: self.materials.clone(),
            time_limit_days: self.time_limit_days,
            legal_basis: self.legal_basis.clone(),
            online_url: self.online_url.clone(),
            keywords: self.keywords.clone(),
        }
    }

    /// The form values that show this item.
    pub fn to_input(&self) -> ItemInput {
        ItemInput {
            item_key: self.item_key.clone(),
            name: self.name.clone(),
            stage: self.stage.as_str().into(),
            department: self.department.clone(),
            division: self.division.clone(),
            conditions: self.conditions.clone(),
            materials: self.materials.clone(),
            time_limit_days: self
                .time_limit_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            legal_basis: self.legal_basis.clone(),
            online_url: self.online_url.clone().unwrap_or_default(),
            keywords: self.keywords.clone(),
        }
    }
}

/// Normalizes line ends and trims; text with control characters other than line breaks and
/// tabs is refused by the caller.
fn clean(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_string()
}

fn bad_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
}

/// Whether `key` is a valid item key: a lower-case ASCII letter, then letters, digits, `.`,
/// `_` or `-`, at most 64 characters.
pub fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
        })
}

/// A time limit: empty or 无 (no fixed limit), 即办/当场办结 (0), or a whole number of
/// working days with an optional unit (`20`, `20个工作日`, `20 工作日`).
pub fn parse_days(s: &str) -> Result<Option<i64>, String> {
    let t = s.trim();
    match t {
        "" | "无" | "不适用" | "-" => return Ok(None),
        "即办" | "即办件" | "当场办结" | "当场" | "当日" => return Ok(Some(0)),
        _ => {}
    }
    let digits = ["个工作日", "工作日", "日", "天"]
        .iter()
        .find_map(|u| t.strip_suffix(u))
        .unwrap_or(t)
        .trim();
    // A whole number from a spreadsheet cell may come as "20.0".
    let digits = digits.strip_suffix(".0").unwrap_or(digits);
    match digits.parse::<i64>() {
        Ok(n) if (0..=MAX_DAYS).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "办理时限应为 0–{MAX_DAYS} 的工作日数，或“即办”“无” \
             (the time limit is a number of working days from 0 to {MAX_DAYS}, 即办 or 无): {t:?}"
        )),
    }
}

impl ItemInput {
    /// Parses the input, naming every bad field; an empty `division` takes `default_division`.
    pub fn validate(&self, default_division: &str) -> Result<NewItem, Vec<FieldError>> {
        let mut errs = Vec::new();
        let text = |errs: &mut Vec<FieldError>,
                    field: &'static str,
                    label: &str,
                    v: &str,
                    min: usize,
                    max: usize|
         -> String {
            let v = clean(v);
            let n = v.chars().count();
            if n == 0 && min > 0 {
                errs.push(FieldError::new(
                    field,
                    format!("{label}不能为空 ({field} is required)"),
                ));
            } else if n < min || n > max {
                errs.push(FieldError::new(
                    field,
                    format!("{label}应为 {min}–{max} 个字符 ({field}: {min} to {max} characters)"),
                ));
            } else if bad_control(&v) {
                errs.push(FieldError::new(
                    field,
                    format!("{label}含有控制字符 ({field} has control characters)"),
                ));
            }
            v
        };
        let item_key = self.item_key.trim().to_string();
        if !valid_key(&item_key) {
            errs.push(FieldError::new(
                "item_key",
                "事项编码须以小写字母开头，只含小写字母、数字、点、下划线或连字符，不超过 64 个字符 \
                 (the item key starts with a lower-case letter and has only a-z, 0-9, '.', '_', '-'; at most 64)",
            ));
        }
        let name = text(&mut errs, "name", "事项名称", &self.name, 2, MAX_NAME);
        let stage = Stage::parse(&self.stage);
        if stage.is_none() {
            errs.push(FieldError::new(
                "stage",
                "阶段应为 准入、许可、经营 或 退出 (the stage is entry, permit, operation or exit)",
            ));
        }
        let department = text(
            &mut errs,
            "department",
            "实施部门",
            &self.department,
            2,
            MAX_DEPARTMENT,
        );
        let division_text = match self.division.trim() {
            "" => default_division.trim(),
            d => d,
        };
        let division = match Jurisdiction::parse(division_text) {
            Ok(j) if !j.is_all() => j.prefix().to_string(),
            _ => {
                errs.push(FieldError::new(
                    "division",
                    format!(
                        "适用区域应为 2、4 或 6 位行政区划代码 \
                         (the area is a 2-, 4- or 6-digit division code): {division_text:?}"
                    ),
                ));
                String::new()
            }
        };
        let conditions = text(
            &mut errs,
            "conditions",
            "办理条件",
            &self.conditions,
            1,
            MAX_LONG,
        );
        let materials = text(
            &mut errs,
            "materials",
            "申请材料",
            &self.materials,
            1,
            MAX_LONG,
        );
        let time_limit_days = match parse_days(&self.time_limit_days) {
            Ok(d) => d,
            Err(m) => {
                errs.push(FieldError::new("time_limit_days", m));
                None
            }
        };
        let legal_basis = text(
            &mut errs,
            "legal_basis",
            "设定依据",
            &self.legal_basis,
            1,
            MAX_BASIS,
        );
        let url = self.online_url.trim();
        let online_url = if url.is_empty() {
            None
        } else if (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= MAX_URL
            && url.len() > "https://".len()
            && !url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<')
        {
            Some(url.to_string())
        } else {
            errs.push(FieldError::new(
                "online_url",
                "网上办理地址应为 http:// 或 https:// 开头的网址 \
                 (the online link is an http:// or https:// address)",
            ));
            None
        };
        let keywords = text(
            &mut errs,
            "keywords",
            "关键词",
            &self.keywords,
            0,
            MAX_KEYWORDS,
        );
        match (errs.is_empty(), stage) {
            (true, Some(stage)) => Ok(NewItem {
                item_key,
                name,
                stage,
                department,
                division,
                conditions,
                materials,
                time_limit_days,
                legal_basis,
                online_url,
                keywords,
            }),
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ItemInput {
        ItemInput {
            item_key: "exit.simplified_deregistration".into(),
            name: "企业简易注销登记".into(),
            stage: "退出".into(),
            department: "市场监督管理部门".into(),
            division: String::new(),
            conditions: "未发生债权债务或已将债权债务清偿完结".into(),
            materials: "简易注销登记申请书；全体投资人承诺书".into(),
            time_limit_days: "3个工作日".into(),
            legal_basis: "《市场主体登记管理条例》第三十三条".into(),
            online_url: "https://example.gov.cn/zx".into(),
            keywords: "简易注销".into(),
        }
    }

    #[test]
    fn a_good_item_parses_with_the_default_area() {
        let i = input().validate("37").unwrap();
        assert_eq!(i.stage, Stage::Exit);
        assert_eq!(i.division, "37");
        assert_eq!(i.time_limit_days, Some(3));
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut i = input();
        i.item_key = "Exit simple".into();
        i.stage = "later".into();
        i.time_limit_days = "三天".into();
        i.online_url = "javascript:alert(1)".into();
        i.division = "3".into();
        let errs = i.validate("37").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "item_key",
                "stage",
                "division",
                "time_limit_days",
                "online_url"
            ]
        );
        assert!(errs.iter().all(|e| !e.message.is_ascii()));
    }

    #[test]
    fn time_limits() {
        assert_eq!(parse_days(""), Ok(None));
        assert_eq!(parse_days("即办"), Ok(Some(0)));
        assert_eq!(parse_days("20.0"), Ok(Some(20)));
        assert_eq!(parse_days("20 工作日"), Ok(Some(20)));
        assert!(parse_days("-1").is_err());
        assert!(parse_days("366").is_err());
    }
}
