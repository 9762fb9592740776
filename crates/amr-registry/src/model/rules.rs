//! The rules of a registration: [`NewEntity::validate`] and its field errors.

use chrono::NaiveDate;
use serde::Serialize;

use amr_kernel::codes::division::{Level as DivisionLevel, divisions};
use amr_kernel::codes::uscc::Uscc;
use amr_kernel::error::AppError;

use super::{EntityType, NewEntity};

/// One field that breaks a rule. `field` is the field's name in [`NewEntity`] (or in
/// [`RawEntity`] for errors of [`RawEntity::parse`]); `message` is Chinese first, English in
/// parentheses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Field errors as one [`AppError::BadRequest`] naming the first field and listing them all.
pub fn field_errors_to_app(errors: &[FieldError]) -> AppError {
    let Some(first) = errors.first() else {
        return AppError::bad_request("entity", "无效数据 (invalid data)");
    };
    let mut message = first.message.clone();
    for e in &errors[1..] {
        message.push('；');
        message.push_str(&e.to_string());
    }
    AppError::bad_request(first.field, message)
}

/// The earliest establishment date accepted: the founding of the People's Republic.
pub const EARLIEST_ESTABLISHED: NaiveDate = NaiveDate::from_ymd_opt(1949, 10, 1).unwrap();

/// Today in China (UTC+8), the reference for "not in the future" (the kernel's one clock).
pub use amr_kernel::matter::today as today_in_china;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Checks a text field: `min..=max` characters and no control characters.
fn check_text(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    label: &str,
    value: &str,
    (min, max): (usize, usize),
) {
    let n = value.chars().count();
    if n < min || n > max {
        let what = if min == 0 {
            format!("{label}最多 {max} 个字符 (at most {max} characters)")
        } else {
            format!("{label}应为 {min}–{max} 个字符 ({min}–{max} characters required)")
        };
        errors.push(FieldError::new(
            field,
            format!("{what}，现为 {n} 个 (got {n})"),
        ));
    } else if has_control(value) {
        errors.push(FieldError::new(
            field,
            format!("{label}含有控制字符 (contains control characters)"),
        ));
    }
}

/// Whether `id` is an 18-character resident ID number with a valid GB 11643 check digit.
pub fn is_valid_resident_id(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] == b[17]
}

impl NewEntity {
    /// Checks every rule; returns all failing fields, in field order.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        match Uscc::parse(&self.uscc) {
            Err(e) => errors.push(FieldError::new("uscc", e.to_string())),
            Ok(code) if code.as_str() != self.uscc => errors.push(FieldError::new(
                "uscc",
                "统一社会信用代码应为大写且无空格 (the code must be upper-case without spaces)",
            )),
            Ok(code) => match code.registration_type() {
                None => errors.push(FieldError::new(
                    "uscc",
                    format!(
                        "{} 不是市场监管部门登记主体的代码（应以 91、92 或 93 开头） \
                         (not a code issued by market regulation: it must start with 91, 92 or 93)",
                        self.uscc
                    ),
                )),
                Some(rt) if rt != self.entity_type.registration_type() => {
                    errors.push(FieldError::new(
                        "entity_type",
                        format!(
                            "主体类型“{}”与统一社会信用代码的类型位 {} 不符 \
                             (entity type {} does not match the code's type digits {})",
                            self.entity_type.name_zh(),
                            rt.prefix(),
                            self.entity_type.as_str(),
                            rt.prefix()
                        ),
                    ))
                }
                Some(_) => {}
            },
        }
        check_text(&mut errors, "name", "名称", &self.name, (2, 100));
        check_text(
            &mut errors,
            "legal_rep",
            "法定代表人（经营者）姓名",
            &self.legal_rep,
            (1, 50),
        );
        if let Some(id) = &self.legal_rep_id
            && !is_valid_resident_id(id)
        {
            errors.push(FieldError::new(
                "legal_rep_id",
                "身份证号码应为 18 位且校验码正确 \
                 (the ID number must have 18 characters and a valid GB 11643 check digit)",
            ));
        }
        if let Some(phone) = &self.phone {
            let ok = (7..=20).contains(&phone.len())
                && phone.bytes().all(|b| b.is_ascii_digit() || b == b'-')
                && phone.starts_with(|c: char| c.is_ascii_digit())
                && phone.ends_with(|c: char| c.is_ascii_digit());
            if !ok {
                errors.push(FieldError::new(
                    "phone",
                    "联系电话应为 7–20 位数字（可含连字符） \
                     (the phone must be 7–20 digits, dashes allowed)",
                ));
            }
        }
        match (self.entity_type, self.capital_yuan) {
            (EntityType::IndividualBusiness, Some(_)) => errors.push(FieldError::new(
                "capital_yuan",
                "个体工商户不登记注册资本 (individual businesses register no capital)",
            )),
            (_, Some(c)) if c < 0 => errors.push(FieldError::new(
                "capital_yuan",
                "注册资本不能为负数 (capital cannot be negative)",
            )),
            _ => {}
        }
        if self.established > today_in_china() {
            errors.push(FieldError::new(
                "established",
                format!(
                    "成立日期 {} 晚于今天 (the establishment date is in the future)",
                    self.established
                ),
            ));
        } else if self.established < EARLIEST_ESTABLISHED {
            errors.push(FieldError::new(
                "established",
                format!(
                    "成立日期 {} 早于 1949-10-01 (the establishment date is before 1949-10-01)",
                    self.established
                ),
            ));
        }
        check_text(&mut errors, "address", "住所", &self.address, (1, 200));
        let division_ok = divisions().get(&self.division).is_some_and(|d| {
            d.code == self.division
                && matches!(d.level, DivisionLevel::County | DivisionLevel::Town)
        });
        if !division_ok {
            errors.push(FieldError::new(
                "division",
                format!(
                    "行政区划代码“{}”不是已知的县级（6 位）或乡级（9 位）代码 \
                     (not a known 6-digit county or 9-digit town code)",
                    self.division
                ),
            ));
        }
        check_text(&mut errors, "scope", "经营范围", &self.scope, (0, 2000));
        if !crate::industry::is_class(&self.industry) {
            errors.push(FieldError::new(
                "industry",
                format!(
                    "行业代码“{}”不是 GB/T 4754-2017 的小类（4 位） \
                     (not a 4-digit class of GB/T 4754-2017)",
                    self.industry
                ),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
